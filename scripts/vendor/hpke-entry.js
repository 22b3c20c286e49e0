// Entry point for the @hpke/core browser bundle (scripts/vendor.sh runs esbuild on it).
// Only the suite CRYPTO.md uses: DHKEM(P-256, HKDF-SHA256) / HKDF-SHA256 / AES-256-GCM.
export { Aes256Gcm, CipherSuite, DhkemP256HkdfSha256, HkdfSha256 } from "@hpke/core";
