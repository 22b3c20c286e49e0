// Stands in for Node's "crypto" module in the browser bundle. @hpke/common only imports it
// when globalThis.crypto is missing; in a browser that means no WebCrypto, and this makes it
// fail with NotSupportedError instead of leaving a bare import specifier in the bundle.
export const webcrypto = undefined;
