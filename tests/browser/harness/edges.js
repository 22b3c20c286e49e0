// Edge cases of static/js/sealing.js that the vectors file does not spell out: strict decoding,
// envelope shape, padding, export tampering, defaults that keep keys non-extractable.
// A function expression for Playwright's page.evaluate; returns the names of failed checks.
async ({ sealingUrl, exportVector }) => {
  const s = await import(sealingUrl);
  const d = s.b64uDecode;
  const e = s.b64uEncode;
  const subtle = crypto.subtle;
  const text = new TextDecoder();
  const failures = [];
  let checks = 0;

  async function throws(name, fn) {
    checks++;
    try {
      const result = await fn();
      failures.push(`${name}: accepted, returned ${String(result).slice(0, 60)}`);
    } catch (err) {
      if (err?.name !== "SealingError") failures.push(`${name}: threw ${err?.name}: ${err?.message}`);
    }
  }

  async function holds(name, fn) {
    checks++;
    try {
      if (!(await fn())) failures.push(`${name}: does not hold`);
    } catch (err) {
      failures.push(`${name}: threw ${err?.name}: ${err?.message}`);
    }
  }

  // base64url: strict alphabet, no padding, one canonical spelling.
  await holds("b64u round trip, lengths 0..40", () => {
    for (let n = 0; n <= 40; n++) {
      const b = crypto.getRandomValues(new Uint8Array(n));
      if (e(d(e(b))) !== e(b) || d(e(b)).length !== n) return false;
    }
    return true;
  });
  for (const bad of ["AA==", "A", "A+B/", "AB", " AA", "AA\n", "ÄA"]) {
    await throws(`b64uDecode(${JSON.stringify(bad)})`, () => d(bad));
  }
  await throws("b64uDecode(non-string)", () => d(123));

  // Canonical JSON: only what Python writes the same way.
  const canon = (v) => text.decode(s.canonicalJson(v));
  for (const [name, value] of [["float", { a: 1.5 }], ["NaN", { a: NaN }], ["Infinity", [Infinity]],
    ["unsafe integer", { a: 2 ** 53 }], ["undefined", { a: undefined }], ["Date", { a: new Date(0) }],
    ["BigInt", { a: 1n }], ["lone surrogate", { a: "\uD800" }], ["lone surrogate key", { "\uDC00": 1 }],
    ["function", { a() {} }], ["Map", new Map()]]) {
    await throws(`canonicalJson(${name})`, () => s.canonicalJson(value));
  }
  await holds("canonicalJson sorts keys by code point", () =>
    canon({ "\u{1F600}": 1, "\uFFFD": 2, a: [3, { z: null, y: false }], "é": "ü" })
      === '{"a":[3,{"y":false,"z":null}],"é":"ü","\uFFFD":2,"\u{1F600}":1}');
  await holds("canonicalJson escapes like Python", () =>
    canon({ s: "\u0001\b\t\n\f\r\"\\/\u007f\u2028" }) === '{"s":"\\u0001\\b\\t\\n\\f\\r\\"\\\\/\u007f\u2028"}');

  // Envelopes: exactly the v1 shape.
  const ORG = "7f1c2a9e-4b1d-4c55-9a3e-2f0d8c6b1a01";
  const REC = "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c04";
  const orgKey = await s.importOrgKey(s.generateOrgKey());
  const good = await s.sealRecord(orgKey, ORG, REC, 2, { a: "b" });
  await holds("record round trip", async () => (await s.openRecord(orgKey, ORG, REC, good)).a === "b");
  const variants = {
    "v as string": { ...good, v: "1" },
    "v 2": { ...good, v: 2 },
    "kv 0": { ...good, kv: 0 },
    "kv 1.5": { ...good, kv: 1.5 },
    "kv as string": { ...good, kv: "2" },
    "kv true": { ...good, kv: true },
    "kv missing": { v: 1, iv: good.iv, ct: good.ct },
    "extra key": { ...good, alg: "A256GCM" },
    "iv 11 bytes": { ...good, iv: e(new Uint8Array(11)) },
    "iv padded": { ...good, iv: `${good.iv}==` },
    "ct too short": { ...good, ct: e(new Uint8Array(15)) },
    "ct standard base64": { ...good, ct: good.ct.replace(/-/g, "+").replace(/_/g, "/") + (good.ct.match(/[-_]/) ? "" : "+") },
    "null": null,
    "array": [good],
  };
  for (const [name, envelope] of Object.entries(variants)) {
    await throws(`openRecord(${name})`, () => s.openRecord(orgKey, ORG, REC, envelope));
  }
  await throws("openRecord with another org key", async () =>
    s.openRecord(await s.importOrgKey(s.generateOrgKey()), ORG, REC, good));
  await throws("openRecord as an attachment", () => s.openAttachment(orgKey, ORG, REC, REC, good));
  await throws("sealRecord(array fields)", () => s.sealRecord(orgKey, ORG, REC, 1, [1]));
  await throws("sealRecord(kv 0)", () => s.sealRecord(orgKey, ORG, REC, 0, {}));
  await throws("sealRecord(8-byte IV)", () => s.sealRecord(orgKey, ORG, REC, 1, {}, new Uint8Array(8)));
  await throws("sealRecord(float field)", () => s.sealRecord(orgKey, ORG, REC, 1, { amount: 1.5 }));
  await throws("sealRecord(raw bytes as key)", () => s.sealRecord(s.generateOrgKey(), ORG, REC, 1, {}));

  // Authenticated ciphertexts whose plaintext is wrong: padding and JSON are checked after GCM.
  const raw = s.generateOrgKey();
  const key = await s.importOrgKey(raw);
  const aad = s.canonicalJson({ kv: 1, org: ORG, purpose: "incident", record: REC, v: 1 });
  async function sealed(plaintext) {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const ct = new Uint8Array(await subtle.encrypt({ name: "AES-GCM", iv, additionalData: aad }, key, plaintext));
    return { v: 1, kv: 1, iv: e(iv), ct: e(ct) };
  }
  function padded(body, block = 256, length = body.length) {
    const out = new Uint8Array(Math.ceil((4 + body.length) / block) * block);
    new DataView(out.buffer).setUint32(0, length);
    out.set(body, 4);
    return out;
  }
  const enc = (str) => new TextEncoder().encode(str);
  await holds("hand-padded record opens", async () =>
    (await s.openRecord(key, ORG, REC, await sealed(padded(enc('{"a":1}'))))).a === 1);
  const badPlaintexts = {
    "empty plaintext": new Uint8Array(0),
    "not a multiple of 256": padded(enc('{"a":1}')).subarray(0, 200),
    "length beyond the data": padded(enc('{"a":1}'), 256, 253),
    "non-zero padding": (() => { const p = padded(enc('{"a":1}')); p[255] = 1; return p; })(),
    "array, not object": padded(enc("[1]")),
    "not canonical": padded(enc('{"b":1,"a":2}')),
    "whitespace": padded(enc('{"a": 1}')),
    "float inside": padded(enc('{"a":1.5}')),
    "duplicate key": padded(enc('{"a":1,"a":2}')),
    "invalid UTF-8": padded(Uint8Array.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])),
  };
  for (const [name, plaintext] of Object.entries(badPlaintexts)) {
    await throws(`openRecord(${name})`, async () => s.openRecord(key, ORG, REC, await sealed(plaintext)));
  }

  // Org key wraps.
  const pair = await s.generateMemberKeyPair();
  const wrapped = await s.wrapOrgKey(raw, pair.publicKey, ORG, 1, "u");
  await throws("unwrapOrgKey(truncated)", () => s.unwrapOrgKey(wrapped.slice(0, -4), pair.privateKey, ORG, 1, "u"));
  await throws("unwrapOrgKey(unknown purpose)", () => s.unwrapOrgKey(wrapped, pair.privateKey, ORG, 1, "u", "admin"));
  await throws("wrapOrgKey(31-byte key)", () => s.wrapOrgKey(raw.subarray(1), pair.publicKey, ORG, 1, "u"));
  await throws("wrapOrgKey(private key as recipient)", () => s.wrapOrgKey(raw, pair.privateKey, ORG, 1, "u"));
  // A non-extractable key this module did not make cannot tell its public key; a pair can.
  const foreign = await subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, false, ["deriveBits"]);
  const wrappedForeign = await s.wrapOrgKey(raw, foreign.publicKey, ORG, 1, "u");
  await throws("unwrapOrgKey(non-extractable key of unknown origin)", () =>
    s.unwrapOrgKey(wrappedForeign, foreign.privateKey, ORG, 1, "u"));
  await holds("unwrapOrgKey with a {privateKey, publicKey} pair", async () =>
    (await s.unwrapOrgKey(wrappedForeign, foreign, ORG, 1, "u")) instanceof CryptoKey);

  // Keys stay non-extractable unless asked.
  const master = crypto.getRandomValues(new Uint8Array(32));
  for (const [name, made] of [
    ["deriveKek", () => s.deriveKek(master)],
    ["importOrgKey", () => s.importOrgKey(raw)],
    ["unwrapOrgKey", () => s.unwrapOrgKey(wrapped, pair.privateKey, ORG, 1, "u")],
    ["recoveryPrivateKey", () => s.recoveryPrivateKey(s.generateRecoveryScalar())],
    ["importPrivatePkcs8", async () => s.importPrivatePkcs8(new Uint8Array(await subtle.exportKey("pkcs8", pair.privateKey)))],
  ]) {
    await holds(`${name} gives a non-extractable key`, async () => (await made()).extractable === false);
  }

  // Recovery codes.
  const scalar = s.generateRecoveryScalar();
  const code = await s.recoveryCode(scalar);
  await holds("recovery code shape", () => /^([A-Z2-7]{4}-){13}[A-Z2-7]{4}$/.test(code));
  await throws("recoveryScalar(one group short)", () => s.recoveryScalar(code.slice(5)));
  await throws("recoveryScalar(with 0 and 1)", () => s.recoveryScalar(`01${code.slice(2)}`));
  await throws("recoveryScalar(two groups swapped)", () =>
    s.recoveryScalar(`${code.slice(5, 9)}-${code.slice(0, 4)}${code.slice(9)}`));
  const n = d("_____wAAAAD__________7zm-q2nF56E87nKwvxjJVE"); // the group order of P-256
  await throws("recoveryPrivateKey(0)", () => s.recoveryPrivateKey(new Uint8Array(32)));
  await throws("recoveryPrivateKey(n)", () => s.recoveryPrivateKey(n));
  await throws("recoveryPublicRaw(31 bytes)", () => s.recoveryPublicRaw(new Uint8Array(31).fill(1)));
  await holds("recoveryPublicRaw(n - 1) is -G", async () => {
    const nMinus1 = n.slice();
    nMinus1[31] -= 1;
    return e(await s.recoveryPublicRaw(nMinus1)) ===
      "BGsX0fLhLEJH-Lzm5WOkQPJ3A32BLeszoPShOUXYmMKWsBy9HAHlgGVxGBS1g_Bh6dQxzKmUzqExNEm_l8hArgo";
  });

  // Sealed exports: every kind of damage fails, nothing partial comes out.
  const blob = d(exportVector.blob);
  const recipientKey = await s.importPrivatePkcs8(d(exportVector.recipient_private_pkcs8));
  const headerEnd = blob.indexOf(0x0a, 20) + 1;
  const head = blob.subarray(0, headerEnd);
  const body = blob.subarray(headerEnd);
  const FULL = 65536 + 16;
  const chunks = [];
  for (let at = 0; at < body.length; at += FULL) chunks.push(body.subarray(at, at + FULL));
  const join = (...parts) => {
    const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
  };
  const open = (data, k = recipientKey, who = exportVector.recipient) => s.openExport(data, k, who);
  await holds("export opens", async () => (await open(blob)).length === exportVector.plaintext_len);
  await holds("export opens with a key pair", async () =>
    (await open(blob, { privateKey: recipientKey, publicKey: await s.publicKeyFor(recipientKey) })).length
      === exportVector.plaintext_len);
  if (chunks.length < 3) failures.push("the export vector needs at least 3 chunks");
  const exportDamage = {
    "first two chunks swapped": join(head, chunks[1], chunks[0], ...chunks.slice(2)),
    "middle chunk dropped": join(head, chunks[0], ...chunks.slice(2)),
    "last chunk dropped": join(head, ...chunks.slice(0, -1)),
    "last chunk duplicated": join(head, ...chunks, chunks.at(-1)),
    "one byte cut off": blob.subarray(0, blob.length - 1),
    "one byte appended": join(blob, new Uint8Array(1)),
    "body cut inside the tag": join(head, chunks[0].subarray(0, 10)),
    "header only": head,
    "no newline after the header": blob.subarray(0, headerEnd - 1),
    "wrong magic": join(new TextEncoder().encode("COLLATERAL-EXPORT-2\n"), blob.subarray(20)),
    "header not canonical": join(new TextEncoder().encode(
      text.decode(head).replace('{"chunk":', '{ "chunk":')), body),
    "chunk size changed": join(new TextEncoder().encode(
      text.decode(head).replace('"chunk":65536', '"chunk":1024')), body),
    "export id changed": join(new TextEncoder().encode(
      text.decode(head).replace(/"export":"[^"]*"/, '"export":"00000000-0000-4000-8000-000000000000"')), body),
    "bit flipped in the first chunk": (() => { const b = blob.slice(); b[headerEnd + 5] ^= 1; return b; })(),
  };
  for (const [name, data] of Object.entries(exportDamage)) {
    await throws(`openExport(${name})`, () => open(data));
  }
  await throws("openExport(another recipient)", () => open(blob, recipientKey, "someone-else"));
  await throws("openExport(another private key)", () => open(blob, pair.privateKey));

  return { failures, checks };
}
