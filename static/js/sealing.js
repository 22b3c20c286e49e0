// The browser side of the sealing protocol: shared/design/CRYPTO.md is the contract, and
// shared/vectors/crypto-v1.json holds the bytes both sides must agree on.
//
// Conventions: bytes are Uint8Array, keys are CryptoKey, envelopes are plain objects, ids are
// strings. Every failure throws a SealingError (an Error) and nothing partial is ever returned.
// Unwrapped keys are non-extractable unless a caller (a test) asks otherwise. Nothing here
// touches web storage, and keys are never exported as JWK.

import { argon2id } from "../vendor/hash-wasm/index.esm.min.js";
import { Aes256Gcm, CipherSuite, DhkemP256HkdfSha256, HkdfSha256 } from "../vendor/hpke-core/hpke.esm.js";

export class SealingError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = "SealingError";
  }
}

const fail = (message, cause) => {
  throw new SealingError(message, cause === undefined ? undefined : { cause });
};

const VERSION = 1;
const IV_LEN = 12;
const TAG_LEN = 16;
const KEY_LEN = 32;
const RECORD_BLOCK = 256;
const ATTACHMENT_BLOCK = 4096;
const PUBLIC_RAW_LEN = 65;
const WRAPPED_LEN = PUBLIC_RAW_LEN + KEY_LEN + TAG_LEN; // HPKE enc ‖ AES-GCM(32-byte key)
const EXPORT_MAGIC = "COLLATERAL-EXPORT-1\n";
const EXPORT_CHUNK = 65536;
const EXPORT_MAX_HEADER = 4096;
const ECDH = { name: "ECDH", namedCurve: "P-256" };

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder("utf-8", { fatal: true });

function subtle() {
  // crypto.subtle is undefined outside a secure context (https or 127.0.0.1).
  const s = globalThis.crypto?.subtle;
  if (!s) fail("WebCrypto is not available here (a secure context is needed)");
  return s;
}

function bytes(value, what) {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  return fail(`${what} must be a Uint8Array`);
}

function exactBytes(value, length, what) {
  const b = bytes(value, what);
  if (b.length !== length) fail(`${what} must be ${length} bytes`);
  return b;
}

function text(value, what) {
  if (typeof value !== "string" || value === "") fail(`${what} must be a non-empty string`);
  return value;
}

function keyVersion(kv) {
  if (!Number.isSafeInteger(kv) || kv < 1) fail("key version must be a positive integer");
  return kv;
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

function randomBytes(n) {
  return globalThis.crypto.getRandomValues(new Uint8Array(n));
}

async function sha256(data) {
  return new Uint8Array(await subtle().digest("SHA-256", data));
}

// ---------------------------------------------------------------------------------------------
// Encodings

const B64U = /^[A-Za-z0-9_-]*$/;

export function b64uEncode(data) {
  const b = bytes(data, "data");
  let binary = "";
  // In slices: String.fromCharCode(...bigArray) would overflow the call stack.
  for (let i = 0; i < b.length; i += 0x8000) {
    binary += String.fromCharCode(...b.subarray(i, i + 0x8000));
  }
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function b64uDecode(value) {
  if (typeof value !== "string" || !B64U.test(value) || value.length % 4 === 1) {
    fail("not base64url without padding");
  }
  const binary = atob(value.replace(/-/g, "+").replace(/_/g, "/"));
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  // Only the one canonical spelling is accepted (no stray bits in the last character).
  if (b64uEncode(out) !== value) fail("not canonical base64url");
  return out;
}

// Python sorts keys by code point; JavaScript's default sort compares UTF-16 units, which
// differs once characters outside the Basic Multilingual Plane are involved.
function byCodePoint(a, b) {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i].codePointAt(0) - y[i].codePointAt(0);
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

const LONE_SURROGATE = /\p{Cs}/u;

function canonicalText(value) {
  // Python cannot encode a lone surrogate as UTF-8, so neither side may produce one.
  if (LONE_SURROGATE.test(value)) fail("strings must be valid Unicode");
  return JSON.stringify(value);
}

function canonical(value) {
  if (value === null) return "null";
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false";
    case "string":
      return canonicalText(value);
    case "number":
      // Floats would serialise differently in Python and JavaScript: amounts go in as strings.
      if (!Number.isSafeInteger(value)) fail("only integers are allowed in sealed JSON");
      return String(value);
    case "object": {
      if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) fail("only plain objects are allowed");
      const keys = Object.keys(value).sort(byCodePoint);
      return `{${keys.map((k) => `${canonicalText(k)}:${canonical(value[k])}`).join(",")}}`;
    }
    default:
      return fail(`type ${typeof value} is not allowed in sealed JSON`);
  }
}

export function canonicalJson(obj) {
  return utf8.encode(canonical(obj));
}

// Parse JSON and insist it is exactly the canonical form of what it parses to, so nothing is
// lost in parsing (duplicate keys, floats, integers beyond 2^53) without an error.
function parseCanonical(data, what) {
  let value;
  try {
    value = JSON.parse(utf8Strict.decode(data));
  } catch (err) {
    fail(`${what} is not JSON`, err);
  }
  let again;
  try {
    again = canonicalJson(value);
  } catch (err) {
    fail(`${what} is not canonical JSON`, err);
  }
  if (!equalBytes(again, data)) fail(`${what} is not canonical JSON`);
  return value;
}

function isPlainObject(value) {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    && Object.getPrototypeOf(value) === Object.prototype;
}

// ---------------------------------------------------------------------------------------------
// Padding: 4-byte big-endian length ‖ data, then zeros to the next multiple of the block.

function pad(data, block) {
  if (data.length > 0xffffffff - 4) fail("data is too large to seal");
  const out = new Uint8Array(Math.ceil((4 + data.length) / block) * block);
  new DataView(out.buffer).setUint32(0, data.length);
  out.set(data, 4);
  return out;
}

function unpad(padded, block) {
  if (padded.length < 4 || padded.length % block !== 0) fail("bad padding");
  const length = new DataView(padded.buffer, padded.byteOffset, 4).getUint32(0);
  if (length > padded.length - 4) fail("bad padding");
  for (let i = 4 + length; i < padded.length; i++) {
    if (padded[i] !== 0) fail("bad padding");
  }
  return padded.slice(4, 4 + length);
}

// ---------------------------------------------------------------------------------------------
// Keys from the passphrase

export async function deriveMasterKey(passphrase, salt, m, t, p) {
  if (typeof passphrase !== "string") fail("passphrase must be a string");
  exactBytes(salt, 16, "salt");
  // The same floor as the server: parameters below it are refused outright.
  for (const [name, value, least] of [["m", m, 1024], ["t", t, 1], ["p", p, 1]]) {
    if (!Number.isSafeInteger(value) || value < least) fail(`Argon2 parameter ${name} is too weak`);
  }
  try {
    return await argon2id({
      password: utf8.encode(passphrase.normalize("NFKC")),
      salt: bytes(salt),
      memorySize: m,
      iterations: t,
      parallelism: p,
      hashLength: KEY_LEN,
      outputType: "binary",
    });
  } catch (err) {
    return fail("Argon2id failed (is WebAssembly allowed on this page?)", err);
  }
}

async function hkdf(master, info, derived) {
  const ikm = await subtle().importKey("raw", exactBytes(master, KEY_LEN, "master key"), "HKDF",
    false, ["deriveBits", "deriveKey"]);
  const params = { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: utf8.encode(info) };
  return derived(params, ikm);
}

export async function deriveAuthKey(master) {
  return hkdf(master, "collateral/v1/auth",
    async (params, ikm) => new Uint8Array(await subtle().deriveBits(params, ikm, 256)));
}

export async function deriveKek(master, { extractable = false } = {}) {
  return hkdf(master, "collateral/v1/kek", (params, ikm) =>
    subtle().deriveKey(params, ikm, { name: "AES-GCM", length: 256 }, extractable,
      ["encrypt", "decrypt"]));
}

// ---------------------------------------------------------------------------------------------
// P-256 arithmetic with BigInt, only to find the public point of a private scalar. WebCrypto
// cannot: ECDH yields only the x coordinate, and a non-extractable private key cannot be
// exported. The public point is needed for HPKE decapsulation (it is part of the KEM context)
// and to show a recovery key. Not constant-time; it runs once per key, on the user's own device.

const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn;
const G = [
  0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n,
  0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n,
  1n,
];

const mod = (a) => ((a % P) + P) % P;

function modPow(base, exp) {
  let result = 1n;
  base = mod(base);
  while (exp > 0n) {
    if (exp & 1n) result = (result * base) % P;
    base = (base * base) % P;
    exp >>= 1n;
  }
  return result;
}

// Jacobian coordinates (X, Y, Z) stand for (X/Z², Y/Z³); null is the point at infinity.
function pointDouble(pt) {
  if (pt === null) return null;
  const [x, y, z] = pt;
  if (y === 0n) return null;
  const delta = mod(z * z);
  const gamma = mod(y * y);
  const beta = mod(x * gamma);
  const alpha = mod(3n * (x - delta) * (x + delta)); // a = -3 on P-256
  const x3 = mod(alpha * alpha - 8n * beta);
  const z3 = mod((y + z) * (y + z) - gamma - delta);
  const y3 = mod(alpha * (4n * beta - x3) - 8n * gamma * gamma);
  return [x3, y3, z3];
}

function pointAdd(p1, p2) {
  if (p1 === null) return p2;
  if (p2 === null) return p1;
  const [x1, y1, z1] = p1;
  const [x2, y2, z2] = p2;
  const z1z1 = mod(z1 * z1);
  const z2z2 = mod(z2 * z2);
  const u1 = mod(x1 * z2z2);
  const u2 = mod(x2 * z1z1);
  const s1 = mod(y1 * z2 * z2z2);
  const s2 = mod(y2 * z1 * z1z1);
  const h = mod(u2 - u1);
  const r = mod(2n * (s2 - s1));
  if (h === 0n) return r === 0n ? pointDouble(p1) : null;
  const i = mod(4n * h * h);
  const j = mod(h * i);
  const v = mod(u1 * i);
  const x3 = mod(r * r - j - 2n * v);
  const y3 = mod(r * (v - x3) - 2n * s1 * j);
  const z3 = mod(((z1 + z2) * (z1 + z2) - z1z1 - z2z2) * h);
  return [x3, y3, z3];
}

function bigFromBytes(b) {
  let n = 0n;
  for (const byte of b) n = (n << 8n) | BigInt(byte);
  return n;
}

function bytesFromBig(n, length) {
  const out = new Uint8Array(length);
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
}

function checkScalar(scalar) {
  const d = bigFromBytes(exactBytes(scalar, KEY_LEN, "private scalar"));
  if (d < 1n || d >= N) fail("scalar is not a valid P-256 private key");
  return d;
}

function publicRawFromScalar(scalar) {
  const d = checkScalar(scalar);
  let acc = null;
  for (let bit = 255n; bit >= 0n; bit--) {
    acc = pointDouble(acc);
    if ((d >> bit) & 1n) acc = pointAdd(acc, G);
  }
  const [x, y, z] = acc;
  const zInv = modPow(z, P - 2n);
  const ax = mod(x * zInv * zInv);
  const ay = mod(y * zInv * zInv * zInv);
  // A last sanity check that the result lies on y² = x³ - 3x + b.
  if (mod(ay * ay) !== mod(ax * ax * ax - 3n * ax + B)) fail("P-256 arithmetic failed");
  return concat(new Uint8Array([4]), bytesFromBig(ax, 32), bytesFromBig(ay, 32));
}

// ---------------------------------------------------------------------------------------------
// PKCS#8 for P-256 keys: just enough DER to read and write the one structure used here,
// SEQ { INT 0, SEQ { OID ecPublicKey, OID prime256v1 }, OCTET STRING { ECPrivateKey } }.

const PKCS8_PREFIX = Uint8Array.from([
  0x30, 0x81, 0x87, 0x02, 0x01, 0x00, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02,
  0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x04, 0x6d, 0x30, 0x6b, 0x02,
  0x01, 0x01, 0x04, 0x20,
]);
const EC_ALGORITHM = PKCS8_PREFIX.subarray(6, 27); // SEQ { OID ecPublicKey, OID prime256v1 }

function der(buf, at, tag) {
  if (at + 2 > buf.length || buf[at] !== tag) fail("not a P-256 PKCS#8 key");
  let length = buf[at + 1];
  let start = at + 2;
  if (length & 0x80) {
    const n = length & 0x7f;
    if (n < 1 || n > 2 || start + n > buf.length) fail("not a P-256 PKCS#8 key");
    length = 0;
    for (let i = 0; i < n; i++) length = (length << 8) | buf[start + i];
    start += n;
  }
  const end = start + length;
  if (end > buf.length) fail("not a P-256 PKCS#8 key");
  return { start, end, body: buf.subarray(start, end) };
}

function parsePkcs8(pkcs8) {
  const outer = der(pkcs8, 0, 0x30);
  if (outer.end !== pkcs8.length) fail("not a P-256 PKCS#8 key");
  const version = der(pkcs8, outer.start, 0x02);
  const algorithm = der(pkcs8, version.end, 0x30);
  if (!equalBytes(pkcs8.subarray(version.end, algorithm.end), EC_ALGORITHM)) {
    fail("not a P-256 key");
  }
  const inner = der(pkcs8, algorithm.end, 0x04).body;
  const ecKey = der(inner, 0, 0x30);
  const ecVersion = der(inner, ecKey.start, 0x02);
  const d = der(inner, ecVersion.end, 0x04);
  // Optional [0] parameters, then optional [1] { BIT STRING public point }.
  let at = d.end;
  if (at < ecKey.end && inner[at] === 0xa0) at = der(inner, at, 0xa0).end;
  let embeddedPublic = null;
  if (at < ecKey.end && inner[at] === 0xa1) {
    const bits = der(inner, der(inner, at, 0xa1).start, 0x03).body;
    if (bits[0] !== 0) fail("not a P-256 PKCS#8 key");
    embeddedPublic = bits.subarray(1);
  }
  // A copy, so that wiping it afterwards never touches the caller's buffer.
  return { scalar: exactBytes(d.body, KEY_LEN, "private scalar").slice(), embeddedPublic };
}

// The public key of every private key made or imported here, so HPKE can open with it later.
const publicKeys = new WeakMap();

async function importPrivate(scalar, embeddedPublic, extractable) {
  const publicRaw = publicRawFromScalar(scalar);
  if (embeddedPublic !== null && !equalBytes(embeddedPublic, publicRaw)) {
    fail("private key and its embedded public key do not match");
  }
  const pkcs8 = concat(PKCS8_PREFIX, scalar, Uint8Array.from([0xa1, 0x44, 0x03, 0x42, 0x00]),
    publicRaw);
  const privateKey = await subtle().importKey("pkcs8", pkcs8, ECDH, extractable, ["deriveBits"]);
  pkcs8.fill(0); // best effort: the scalar should not linger in memory
  publicKeys.set(privateKey, await importPublicRaw(publicRaw));
  return privateKey;
}

/** An ECDH P-256 private key from PKCS#8 DER (as the Python side and WebCrypto write it). */
export async function importPrivatePkcs8(pkcs8, { extractable = false } = {}) {
  const { scalar, embeddedPublic } = parsePkcs8(bytes(pkcs8, "PKCS#8 key"));
  try {
    return await importPrivate(scalar, embeddedPublic, extractable);
  } finally {
    scalar.fill(0);
  }
}

/**
 * The public key belonging to a private key made or imported by this module (for example, to
 * check the one the server returns for the logged-in member). Also accepts a key pair.
 */
export async function publicKeyFor(privateKey) {
  if (privateKey?.publicKey instanceof CryptoKey) return privateKey.publicKey;
  if (!(privateKey instanceof CryptoKey)) fail("expected a private CryptoKey or a key pair");
  const known = publicKeys.get(privateKey);
  if (known) return known;
  if (privateKey.extractable) {
    const pkcs8 = new Uint8Array(await subtle().exportKey("pkcs8", privateKey));
    const { scalar } = parsePkcs8(pkcs8);
    pkcs8.fill(0);
    const publicRaw = publicRawFromScalar(scalar);
    scalar.fill(0);
    return importPublicRaw(publicRaw);
  }
  return fail("the public key of this private key is unknown: pass {privateKey, publicKey}");
}

function privateOf(key) {
  const privateKey = key instanceof CryptoKey ? key : key?.privateKey;
  if (!(privateKey instanceof CryptoKey) || privateKey.type !== "private") {
    fail("expected a private CryptoKey or a key pair");
  }
  return privateKey;
}

// ---------------------------------------------------------------------------------------------
// Member key pair, public keys, fingerprints

/** A fresh member key pair. The private key is extractable once, so that it can be wrapped. */
export async function generateMemberKeyPair() {
  const pair = await subtle().generateKey(ECDH, true, ["deriveBits"]);
  publicKeys.set(pair.privateKey, pair.publicKey);
  return pair;
}

export async function exportPublicRaw(publicKey) {
  if (!(publicKey instanceof CryptoKey) || publicKey.type !== "public") fail("expected a public key");
  return new Uint8Array(await subtle().exportKey("raw", publicKey));
}

export async function importPublicRaw(raw) {
  const b = exactBytes(raw, PUBLIC_RAW_LEN, "public key");
  if (b[0] !== 4) fail("public key must be an uncompressed P-256 point");
  try {
    return await subtle().importKey("raw", b, ECDH, true, []);
  } catch (err) {
    return fail("public key is not a point on P-256", err);
  }
}

export async function fingerprint(publicRaw) {
  const raw = exactBytes(publicRaw, PUBLIC_RAW_LEN, "public key");
  const h = await sha256(concat(utf8.encode("collateral/v1/fingerprint"), raw));
  const groups = [];
  for (let i = 0; i < 6; i++) {
    let n = 0; // 40 bits fit a double exactly
    for (const byte of h.subarray(5 * i, 5 * i + 5)) n = n * 256 + byte;
    groups.push(String(n % 100000).padStart(5, "0"));
  }
  return groups.join(" ");
}

// ---------------------------------------------------------------------------------------------
// AES-256-GCM envelopes

function checkIv(iv) {
  return iv === undefined ? randomBytes(IV_LEN) : exactBytes(iv, IV_LEN, "IV");
}

function aesKey(key, what) {
  if (!(key instanceof CryptoKey) || key.algorithm.name !== "AES-GCM") fail(`${what} must be an AES-GCM key`);
  return key;
}

async function gcmSeal(key, iv, plaintext, aad) {
  return new Uint8Array(await subtle().encrypt({ name: "AES-GCM", iv, additionalData: aad },
    key, plaintext));
}

async function gcmOpen(key, iv, ciphertext, aad) {
  try {
    return new Uint8Array(await subtle().decrypt({ name: "AES-GCM", iv, additionalData: aad },
      key, ciphertext));
  } catch (err) {
    return fail("cannot open: wrong key, wrong context or tampered data", err);
  }
}

// Exactly the v1 shape, nothing more: {v, iv, ct} or {v, kv, iv, ct}.
function checkEnvelope(envelope, withKv) {
  if (!isPlainObject(envelope)) fail("envelope must be an object");
  const expected = withKv ? ["ct", "iv", "kv", "v"] : ["ct", "iv", "v"];
  const keys = Object.keys(envelope).sort();
  if (keys.length !== expected.length || keys.some((k, i) => k !== expected[i])) {
    fail(`envelope must have exactly the keys ${expected.join(", ")}`);
  }
  if (envelope.v !== VERSION) fail("unknown envelope version");
  if (withKv) keyVersion(envelope.kv);
  const iv = b64uDecode(envelope.iv);
  if (iv.length !== IV_LEN) fail("IV must be 12 bytes");
  const ct = b64uDecode(envelope.ct);
  if (ct.length < TAG_LEN) fail("ciphertext is too short");
  return { iv, ct };
}

const memberAad = (userId) =>
  canonicalJson({ purpose: "member-key", user: text(userId, "user id"), v: VERSION });

export async function wrapMemberKey(kek, userId, privateKey, iv = undefined) {
  aesKey(kek, "KEK");
  const nonce = checkIv(iv);
  const key = privateOf(privateKey);
  if (!key.extractable) fail("only a freshly generated (extractable) private key can be wrapped");
  const pkcs8 = new Uint8Array(await subtle().exportKey("pkcs8", key));
  try {
    const ct = await gcmSeal(kek, nonce, pkcs8, memberAad(userId));
    return { v: VERSION, iv: b64uEncode(nonce), ct: b64uEncode(ct) };
  } finally {
    pkcs8.fill(0);
  }
}

export async function unwrapMemberKey(kek, userId, envelope, { extractable = false } = {}) {
  aesKey(kek, "KEK");
  const { iv, ct } = checkEnvelope(envelope, false);
  const pkcs8 = await gcmOpen(kek, iv, ct, memberAad(userId));
  try {
    return await importPrivatePkcs8(pkcs8, { extractable });
  } finally {
    pkcs8.fill(0);
  }
}

// ---------------------------------------------------------------------------------------------
// Org data keys, wrapped by HPKE (RFC 9180 base mode, single-shot)

let suite = null;
function hpke() {
  suite ??= new CipherSuite({
    kem: new DhkemP256HkdfSha256(),
    kdf: new HkdfSha256(),
    aead: new Aes256Gcm(),
  });
  return suite;
}

function wrapInfo(orgId, kv, recipient, purpose) {
  if (purpose !== "org-key" && purpose !== "org-key-recovery") fail("unknown wrap purpose");
  if ((purpose === "org-key-recovery") !== (recipient === "recovery")) {
    fail("recovery wraps are addressed to 'recovery' and only to it");
  }
  return canonicalJson({ kv: keyVersion(kv), org: text(orgId, "org id"), purpose,
    recipient: text(recipient, "recipient"), v: VERSION });
}

async function hpkeSeal(plaintext, recipientPublicKey, info) {
  const publicKey = recipientPublicKey instanceof Uint8Array
    ? await importPublicRaw(recipientPublicKey) : recipientPublicKey;
  if (!(publicKey instanceof CryptoKey) || publicKey.type !== "public") {
    fail("recipient must be a public key");
  }
  try {
    const { ct, enc } = await hpke().seal({ recipientPublicKey: publicKey, info }, plaintext);
    return concat(new Uint8Array(enc), new Uint8Array(ct));
  } catch (err) {
    return fail("cannot wrap to this public key", err);
  }
}

async function hpkeOpen(blob, key, info) {
  const privateKey = privateOf(key);
  // The recipient's public key is part of the KEM context. Always pass it: left to itself
  // @hpke/core guesses it for a non-extractable key and picks the wrong sign half the time.
  const publicKey = await publicKeyFor(key);
  try {
    const opened = await hpke().open({
      recipientKey: { privateKey, publicKey },
      enc: blob.slice(0, PUBLIC_RAW_LEN),
      info,
    }, blob.slice(PUBLIC_RAW_LEN));
    return new Uint8Array(opened);
  } catch (err) {
    return fail("cannot unwrap: not addressed to this key and context", err);
  }
}

export async function importOrgKey(orgKeyBytes, { extractable = false } = {}) {
  return subtle().importKey("raw", exactBytes(orgKeyBytes, KEY_LEN, "org key"), "AES-GCM",
    extractable, ["encrypt", "decrypt"]);
}

/** 32 random bytes for a new org data key version (to be wrapped, then imported). */
export function generateOrgKey() {
  return randomBytes(KEY_LEN);
}

/** recipientPublicKey: a public CryptoKey or its 65-byte raw point. */
export async function wrapOrgKey(orgKeyBytes, recipientPublicKey, orgId, kv, recipient,
  purpose = "org-key") {
  const key = exactBytes(orgKeyBytes, KEY_LEN, "org key");
  const info = wrapInfo(orgId, kv, recipient, purpose);
  return b64uEncode(await hpkeSeal(key, recipientPublicKey, info));
}

/** privateKey: a private key made or imported here, or a {privateKey, publicKey} pair. */
export async function unwrapOrgKey(wrapped, privateKey, orgId, kv, recipient, purpose = "org-key",
  { extractable = false } = {}) {
  const info = wrapInfo(orgId, kv, recipient, purpose);
  const blob = b64uDecode(wrapped);
  if (blob.length !== WRAPPED_LEN) fail("wrapped key has the wrong length");
  const orgKey = await hpkeOpen(blob, privateKey, info);
  try {
    return await importOrgKey(orgKey, { extractable });
  } finally {
    orgKey.fill(0);
  }
}

// ---------------------------------------------------------------------------------------------
// Sealed records and attachments

const recordAad = (orgId, recordId, kv) => canonicalJson({ kv: keyVersion(kv),
  org: text(orgId, "org id"), purpose: "incident", record: text(recordId, "record id"),
  v: VERSION });

const attachmentAad = (orgId, recordId, attachmentId, kv) => canonicalJson({
  attachment: text(attachmentId, "attachment id"), kv: keyVersion(kv), org: text(orgId, "org id"),
  purpose: "attachment", record: text(recordId, "record id"), v: VERSION });

export async function sealRecord(orgKey, orgId, recordId, kv, fields, iv = undefined) {
  aesKey(orgKey, "org key");
  if (!isPlainObject(fields)) fail("sealed fields must be an object");
  const nonce = checkIv(iv);
  const aad = recordAad(orgId, recordId, kv);
  const ct = await gcmSeal(orgKey, nonce, pad(canonicalJson(fields), RECORD_BLOCK), aad);
  return { v: VERSION, kv, iv: b64uEncode(nonce), ct: b64uEncode(ct) };
}

export async function openRecord(orgKey, orgId, recordId, envelope) {
  aesKey(orgKey, "org key");
  const { iv, ct } = checkEnvelope(envelope, true);
  const padded = await gcmOpen(orgKey, iv, ct, recordAad(orgId, recordId, envelope.kv));
  const fields = parseCanonical(unpad(padded, RECORD_BLOCK), "sealed tier");
  if (!isPlainObject(fields)) fail("sealed tier is not a JSON object");
  return fields;
}

export async function sealAttachment(orgKey, orgId, recordId, attachmentId, kv, data,
  iv = undefined) {
  aesKey(orgKey, "org key");
  const plaintext = pad(bytes(data, "attachment"), ATTACHMENT_BLOCK);
  const nonce = checkIv(iv);
  const ct = await gcmSeal(orgKey, nonce, plaintext, attachmentAad(orgId, recordId, attachmentId, kv));
  return { v: VERSION, kv, iv: b64uEncode(nonce), ct: b64uEncode(ct) };
}

export async function openAttachment(orgKey, orgId, recordId, attachmentId, envelope) {
  aesKey(orgKey, "org key");
  const { iv, ct } = checkEnvelope(envelope, true);
  const aad = attachmentAad(orgId, recordId, attachmentId, envelope.kv);
  return unpad(await gcmOpen(orgKey, iv, ct, aad), ATTACHMENT_BLOCK);
}

// ---------------------------------------------------------------------------------------------
// Recovery code: scalar ‖ 3-byte checksum, RFC 4648 base32, groups of four joined by '-'

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

async function recoveryChecksum(scalar) {
  return (await sha256(concat(utf8.encode("collateral/v1/recovery"), scalar))).subarray(0, 3);
}

/** A fresh random scalar for an org recovery key (uniform in [1, n-1]). */
export function generateRecoveryScalar() {
  for (;;) {
    const scalar = randomBytes(KEY_LEN);
    const d = bigFromBytes(scalar);
    if (d >= 1n && d < N) return scalar;
  }
}

export async function recoveryCode(scalar) {
  const s = exactBytes(scalar, KEY_LEN, "recovery scalar");
  const raw = concat(s, await recoveryChecksum(s)); // 35 bytes = 280 bits = 56 characters
  let bits = 0;
  let value = 0;
  let out = "";
  for (const byte of raw) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  return out.match(/.{1,4}/g).join("-");
}

export async function recoveryScalar(code) {
  if (typeof code !== "string") fail("a recovery code is text");
  const clean = code.replace(/[\s-]/g, "").toUpperCase();
  if (clean.length !== 56) fail("a recovery code has 56 letters and digits");
  const raw = new Uint8Array(35);
  let bits = 0;
  let value = 0;
  let at = 0;
  for (const ch of clean) {
    const digit = BASE32.indexOf(ch);
    if (digit < 0) fail("a recovery code uses only A–Z and 2–7");
    value = ((value << 5) | digit) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      raw[at++] = (value >>> (bits - 8)) & 0xff;
      bits -= 8;
    }
  }
  const scalar = raw.slice(0, 32);
  if (!equalBytes(await recoveryChecksum(scalar), raw.subarray(32))) {
    fail("the recovery code is mistyped: its checksum does not match");
  }
  return scalar;
}

export async function recoveryPrivateKey(scalar, { extractable = false } = {}) {
  return importPrivate(exactBytes(scalar, KEY_LEN, "recovery scalar"), null, extractable);
}

export async function recoveryPublicRaw(scalar) {
  return publicRawFromScalar(scalar);
}

// ---------------------------------------------------------------------------------------------
// Sealed exports (server → researcher)

const exportChunkAad = (exportId, i, last) =>
  canonicalJson({ export: exportId, i, last, purpose: "export-chunk", v: VERSION });

function exportNonce(i) {
  const nonce = new Uint8Array(IV_LEN); // 4 zero bytes ‖ i as 8-byte big-endian
  new DataView(nonce.buffer).setBigUint64(4, BigInt(i));
  return nonce;
}

/** privateKey: a private key made or imported here, or a {privateKey, publicKey} pair. */
export async function openExport(data, privateKey, recipient) {
  const file = bytes(data, "export file");
  const magic = utf8.encode(EXPORT_MAGIC);
  if (!equalBytes(file.subarray(0, magic.length), magic)) fail("not a Collateral export file");
  const end = file.subarray(magic.length, magic.length + EXPORT_MAX_HEADER).indexOf(0x0a);
  if (end < 0) fail("export header is missing or too long");
  const headerEnd = magic.length + end;
  const header = parseCanonical(file.subarray(magic.length, headerEnd), "export header");
  const keys = isPlainObject(header) ? Object.keys(header).sort().join(",") : "";
  if (keys !== "chunk,export,recipient,v,wrapped_key" || header.v !== VERSION
      || header.chunk !== EXPORT_CHUNK || typeof header.export !== "string"
      || typeof header.wrapped_key !== "string") {
    fail("unknown export header");
  }
  if (header.recipient !== text(recipient, "recipient")) fail("this export is sealed to someone else");
  const exportId = text(header.export, "export id");

  const wrapped = b64uDecode(header.wrapped_key);
  if (wrapped.length !== WRAPPED_LEN) fail("wrapped key has the wrong length");
  const info = canonicalJson({ export: exportId, purpose: "export", recipient, v: VERSION });
  const fileKeyBytes = await hpkeOpen(wrapped, privateKey, info);
  let fileKey;
  try {
    fileKey = await importOrgKey(fileKeyBytes);
  } finally {
    fileKeyBytes.fill(0);
  }

  // The chunk that ends the file is the last one; each other chunk is exactly full size, so a
  // dropped, added or reordered chunk changes some chunk's index or "last" and fails its tag.
  const body = file.subarray(headerEnd + 1);
  const full = EXPORT_CHUNK + TAG_LEN;
  if (body.length < TAG_LEN) fail("export is truncated");
  const parts = [];
  for (let offset = 0, i = 0; offset < body.length; i++) {
    const piece = body.subarray(offset, offset + full);
    offset += piece.length;
    const last = offset >= body.length;
    parts.push(await gcmOpen(fileKey, exportNonce(i), piece, exportChunkAad(exportId, i, last)));
  }
  return concat(...parts);
}
