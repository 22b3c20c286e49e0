// Runs a vectors file (schema of shared/vectors/crypto-v1.json) through static/js/sealing.js.
// A function expression for Playwright's page.evaluate; returns names of failed checks.
async ({ vectors, sealingUrl }) => {
  const s = await import(sealingUrl);
  const d = s.b64uDecode;
  const e = s.b64uEncode;
  const subtle = crypto.subtle;
  const text = new TextDecoder();
  const hex = (b) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  const json = (value) => text.decode(s.canonicalJson(value));
  const raw = async (key, format = "raw") => new Uint8Array(await subtle.exportKey(format, key));
  const importKek = (b) => subtle.importKey("raw", d(b), "AES-GCM", false, ["encrypt", "decrypt"]);

  function expectEqual(what, got, want) {
    if (got !== want) throw new Error(`${what}: got ${String(got).slice(0, 80)}, want ${String(want).slice(0, 80)}`);
  }

  async function openRecordVector(v) {
    const orgKey = await s.importOrgKey(d(v.org_key));
    expectEqual("aad", json({ kv: v.kv, org: v.org, purpose: "incident", record: v.record, v: 1 }), v.aad_utf8);
    const sealed = await s.sealRecord(orgKey, v.org, v.record, v.kv, v.fields, d(v.envelope.iv));
    expectEqual("envelope", json(sealed), json(v.envelope));
    expectEqual("padded length", d(v.envelope.ct).length - 16, v.padded_plaintext_len);
    expectEqual("fields", json(await s.openRecord(orgKey, v.org, v.record, v.envelope)), json(v.fields));
  }

  // One function per section of positive vectors. prelogin_fake_salt is server-only (it needs
  // the server secret), so the browser has nothing to check there.
  const positive = {
    async canonical_json(v) {
      expectEqual("bytes", text.decode(s.canonicalJson(v.input)), v.expected_utf8);
    },
    async kdf(v) {
      const { m, t, p } = v.params;
      expectEqual("params", `${v.params.alg}/${v.params.v}`, "argon2id/19");
      const master = await s.deriveMasterKey(v.passphrase, d(v.salt), m, t, p);
      expectEqual("master_key", e(master), v.master_key);
      expectEqual("auth_key", e(await s.deriveAuthKey(master)), v.auth_key);
      expectEqual("kek", e(await raw(await s.deriveKek(master, { extractable: true }))), v.kek);
    },
    async member_key(v) {
      const kek = await importKek(v.kek);
      const key = await s.unwrapMemberKey(kek, v.user, v.envelope, { extractable: true });
      expectEqual("pkcs8", e(await raw(key, "pkcs8")), v.private_pkcs8);
      const publicRaw = await s.exportPublicRaw(await s.publicKeyFor(key));
      expectEqual("public_raw", e(publicRaw), v.public_raw);
      expectEqual("fingerprint", await s.fingerprint(publicRaw), v.fingerprint);
      const again = await s.wrapMemberKey(kek, v.user, key, d(v.envelope.iv));
      expectEqual("re-wrapped envelope", json(again), json(v.envelope));
      // The default is a non-extractable key that still knows its public key.
      const locked = await s.unwrapMemberKey(kek, v.user, v.envelope);
      expectEqual("extractable", locked.extractable, false);
      expectEqual("locked public_raw", e(await s.exportPublicRaw(await s.publicKeyFor(locked))), v.public_raw);
    },
    async fingerprint(v) {
      expectEqual("fingerprint", await s.fingerprint(d(v.public_raw)), v.fingerprint);
    },
    async org_key_unwrap(v) {
      expectEqual("info", json({ kv: v.kv, org: v.org, purpose: v.purpose, recipient: v.recipient, v: 1 }), v.info_utf8);
      // Non-extractable, as the app holds it: the public key must come from the PKCS#8.
      const privateKey = await s.importPrivatePkcs8(d(v.recipient_private_pkcs8));
      const orgKey = await s.unwrapOrgKey(v.wrapped, privateKey, v.org, v.kv, v.recipient, v.purpose,
        { extractable: true });
      expectEqual("org_key", e(await raw(orgKey)), v.org_key);
    },
    record: openRecordVector,
    async attachment(v) {
      const orgKey = await s.importOrgKey(d(v.org_key));
      const data = d(v.data);
      const sealed = await s.sealAttachment(orgKey, v.org, v.record, v.attachment, v.kv, data, d(v.envelope.iv));
      expectEqual("envelope", json(sealed), json(v.envelope));
      const opened = await s.openAttachment(orgKey, v.org, v.record, v.attachment, v.envelope);
      expectEqual("data", e(opened), v.data);
    },
    async recovery_code(v) {
      const scalar = d(v.scalar);
      expectEqual("code", await s.recoveryCode(scalar), v.code);
      expectEqual("scalar", e(await s.recoveryScalar(v.code)), v.scalar);
      const sloppy = ` ${v.code.replace(/-/g, "").toLowerCase().replace(/(.{7})/g, "$1 ")} `;
      expectEqual("scalar from sloppy typing", e(await s.recoveryScalar(sloppy)), v.scalar);
      expectEqual("public_raw", e(await s.recoveryPublicRaw(scalar)), v.public_raw);
      // The private key made from the scalar opens what is wrapped to public_raw.
      const orgKeyBytes = s.generateOrgKey();
      const wrapped = await s.wrapOrgKey(orgKeyBytes, d(v.public_raw), "o", 1, "recovery", "org-key-recovery");
      const privateKey = await s.recoveryPrivateKey(scalar);
      const orgKey = await s.unwrapOrgKey(wrapped, privateKey, "o", 1, "recovery", "org-key-recovery",
        { extractable: true });
      expectEqual("recovery round trip", e(await raw(orgKey)), e(orgKeyBytes));
    },
    async export(v) {
      const privateKey = await s.importPrivatePkcs8(d(v.recipient_private_pkcs8));
      const plain = await s.openExport(d(v.blob), privateKey, v.recipient);
      expectEqual("plaintext_len", plain.length, v.plaintext_len);
      expectEqual("plaintext_sha256", hex(new Uint8Array(await subtle.digest("SHA-256", plain))), v.plaintext_sha256_hex);
    },
  };

  // For each must_fail section: build what is needed (errors there are harness failures),
  // then the attempt, which must throw.
  const mustFail = {
    async record(v) {
      const orgKey = await s.importOrgKey(d(v.org_key));
      return () => s.openRecord(orgKey, v.org, v.record, v.envelope);
    },
    async attachment(v) {
      const orgKey = await s.importOrgKey(d(v.org_key));
      return () => s.openAttachment(orgKey, v.org, v.record, v.attachment, v.envelope);
    },
    async org_key_unwrap(v) {
      const privateKey = await s.importPrivatePkcs8(d(v.recipient_private_pkcs8));
      return () => s.unwrapOrgKey(v.wrapped, privateKey, v.org, v.kv, v.recipient, v.purpose);
    },
    async member_key(v) {
      const kek = await importKek(v.kek);
      return () => s.unwrapMemberKey(kek, v.user, v.envelope);
    },
    async export(v) {
      const privateKey = await s.importPrivatePkcs8(d(v.recipient_private_pkcs8));
      return () => s.openExport(d(v.blob), privateKey, v.recipient);
    },
    async recovery_code(v) {
      return () => s.recoveryScalar(v.code);
    },
  };

  const failures = [];
  const checked = {};
  const skipped = [];
  const META = new Set(["version", "spec", "notes", "must_fail"]);
  const SERVER_ONLY = new Set(["prelogin_fake_salt"]);

  for (const [section, list] of Object.entries(vectors)) {
    if (META.has(section)) continue;
    if (SERVER_ONLY.has(section)) {
      skipped.push(section);
      continue;
    }
    const check = positive[section];
    if (!check) {
      failures.push(`${section}: no browser check for this section`);
      continue;
    }
    for (const [i, v] of list.entries()) {
      checked[section] = (checked[section] || 0) + 1;
      try {
        await check(v);
      } catch (err) {
        failures.push(`${section}[${i}]: ${err?.message || err}`);
      }
    }
  }

  const rejected = {};
  const reasons = [];
  for (const [section, list] of Object.entries(vectors.must_fail || {})) {
    const prepare = mustFail[section];
    if (!prepare) {
      failures.push(`must_fail.${section}: no browser check for this section`);
      continue;
    }
    for (const [i, v] of list.entries()) {
      const name = `must_fail.${section}[${i}] (${v.why})`;
      let attempt;
      try {
        attempt = await prepare(v);
      } catch (err) {
        failures.push(`${name}: setup failed: ${err?.message || err}`);
        continue;
      }
      let result;
      try {
        result = await attempt();
      } catch (err) {
        // Refused by sealing.js itself, not by some accident along the way.
        if (err?.name !== "SealingError") failures.push(`${name}: threw ${err?.name}: ${err?.message || err}`);
        rejected[section] = (rejected[section] || 0) + 1;
        reasons.push(`${name}: ${err?.message}`);
        continue;
      }
      failures.push(`${name}: accepted, returned ${JSON.stringify(result)?.slice(0, 80)}`);
    }
  }
  return { failures, checked, rejected, reasons, skipped };
}
