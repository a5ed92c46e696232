// Generates tests/vectors/webcrypto.json: known answers from WebCrypto (Node's implementation of
// the same Web Crypto API workerd offers), which the host platform's crypto must reproduce
// (src/host/crypto.rs, tests in tests/host_crypto.rs). Keys are generated once and committed, so
// the file does not change between runs unless this script is run again:
//
//   node tests/vectors/webcrypto.mjs > tests/vectors/webcrypto.json
const { subtle } = globalThis.crypto;
const b64u = (buf) => Buffer.from(buf).toString("base64url");
const enc = new TextEncoder();
const message = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ3ZWJjcnlwdG8ta2F0In0";

async function signed(alg, genParams, signParams) {
  const pair = await subtle.generateKey(genParams, true, ["sign", "verify"]);
  const jwk = await subtle.exportKey("jwk", pair.privateKey);
  delete jwk.key_ops;
  delete jwk.ext;
  const sig = await subtle.sign(signParams, pair.privateKey, enc.encode(message));
  return { alg, jwk, message, signature: b64u(sig) };
}

const rsa = { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" };
const signatures = [
  await signed("ES256", { name: "ECDSA", namedCurve: "P-256" }, { name: "ECDSA", hash: "SHA-256" }),
  await signed("ES512", { name: "ECDSA", namedCurve: "P-521" }, { name: "ECDSA", hash: "SHA-512" }),
  await signed("RS256", rsa, { name: "RSASSA-PKCS1-v1_5" }),
  await signed("PS256", { ...rsa, name: "RSA-PSS" }, { name: "RSA-PSS", saltLength: 32 }),
];

const pbkdf2 = [];
for (const [password, salt, iterations] of [["some-secret", "000102030405060708090a0b0c0d0e0f", 25000], ["", "00", 1], ["pässwörd", "73616c74", 1000]]) {
  const base = await subtle.importKey("raw", enc.encode(password), { name: "PBKDF2" }, false, ["deriveBits"]);
  const bits = await subtle.deriveBits({ name: "PBKDF2", salt: Buffer.from(salt, "hex"), iterations, hash: "SHA-256" }, base, 256);
  pbkdf2.push({ password, salt_hex: salt, iterations, key_hex: Buffer.from(bits).toString("hex") });
}

const hmac = [];
for (const [key, data] of [["6b6579", "The quick brown fox jumps over the lazy dog"], ["00", ""]]) {
  const k = await subtle.importKey("raw", Buffer.from(key, "hex"), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  hmac.push({ key_hex: key, data, mac_hex: Buffer.from(await subtle.sign("HMAC", k, enc.encode(data))).toString("hex") });
}

console.log(JSON.stringify({ source: `WebCrypto of Node ${process.version}`, signatures, pbkdf2, hmac }, null, 2));
