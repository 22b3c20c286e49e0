// Seals with fresh random keys in the browser and hands everything back for Python to open.
// A function expression for Playwright's page.evaluate; all bytes go out as base64url.
async (input) => {
  const s = await import(input.sealingUrl);
  const e = s.b64uEncode;
  const d = s.b64uDecode;
  const raw = async (key) => new Uint8Array(await crypto.subtle.exportKey("raw", key));
  const { org, kv, record, user, pyUser } = input;

  // Passphrase → keys, with test-sized Argon2 parameters and a random salt.
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const master = await s.deriveMasterKey(input.passphrase, salt, 1024, 1, 1);
  const kek = await s.deriveKek(master, { extractable: true });

  // A member key pair made here, sealed under the KEK for Python to unwrap.
  const member = await s.generateMemberKeyPair();
  const memberPublic = await s.exportPublicRaw(member.publicKey);
  const memberEnvelope = await s.wrapMemberKey(kek, user, member.privateKey);

  // A fresh org data key, wrapped to a Python-made member, to the member made here and to a
  // recovery key whose scalar only travels as its recovery code.
  const orgKeyBytes = s.generateOrgKey();
  const scalar = s.generateRecoveryScalar();
  const recoveryPublic = await s.recoveryPublicRaw(scalar);
  const wraps = {
    python_member: await s.wrapOrgKey(orgKeyBytes, d(input.pyMemberPublic), org, kv, pyUser),
    browser_member: await s.wrapOrgKey(orgKeyBytes, member.publicKey, org, kv, user),
    recovery: await s.wrapOrgKey(orgKeyBytes, recoveryPublic, org, kv, "recovery", "org-key-recovery"),
  };

  const orgKey = await s.importOrgKey(orgKeyBytes);
  const records = [];
  for (const fields of input.records) {
    records.push({
      canonical: e(s.canonicalJson(fields)),
      envelope: await s.sealRecord(orgKey, org, record, kv, fields),
    });
  }
  const attachments = [];
  for (const { id, size } of input.attachments) {
    const data = new Uint8Array(size);
    for (let at = 0; at < size; at += 65536) crypto.getRandomValues(data.subarray(at, at + 65536));
    attachments.push({ id, data: e(data), envelope: await s.sealAttachment(orgKey, org, record, id, kv, data) });
  }

  return {
    salt: e(salt),
    master: e(master),
    auth: e(await s.deriveAuthKey(master)),
    kek: e(await raw(kek)),
    memberPublic: e(memberPublic),
    memberFingerprint: await s.fingerprint(memberPublic),
    memberEnvelope,
    orgKey: e(orgKeyBytes),
    wraps,
    recoveryCode: await s.recoveryCode(scalar),
    recoveryScalar: e(scalar),
    recoveryPublic: e(recoveryPublic),
    records,
    attachments,
  };
}
