// Arca keys conformance, driven by the official @azure/keyvault-keys KeyClient and
// CryptographyClient with DefaultAzureCredential (node:test, no other framework).
//
// Run through tests/js/run.sh: it creates a standard-SKU vault (ARCA_STD_VAULT) next to the
// premium default vault, starts Arca, exports `arca env` and runs node in a private mount
// namespace whose /etc/hosts resolves the vault names. TLS verification and
// challenge-resource verification stay on. Signatures are also verified with node:crypto.
import { describe, it, before } from "node:test";
import assert from "node:assert/strict";
import crypto, { randomUUID, randomBytes } from "node:crypto";
import https from "node:https";
import { DefaultAzureCredential } from "@azure/identity";
import { CryptographyClient, KeyClient } from "@azure/keyvault-keys";

for (const k of ["AZURE_KEYVAULT_URL", "AZURE_AUTHORITY_HOST", "NODE_EXTRA_CA_CERTS"]) {
  if (!process.env[k]) throw new Error(`missing ${k}: run via tests/js/run.sh (it exports \`arca env\`)`);
}

const VAULT_URL = process.env.AZURE_KEYVAULT_URL.replace(/\/+$/, "");
const STD_VAULT = process.env.ARCA_STD_VAULT; // a standard-SKU vault created by run.sh
const HEX32 = /^[0-9a-f]{32}$/;
const POLL = { intervalInMs: 100 };
const ALL_OPS = ["decrypt", "encrypt", "sign", "unwrapKey", "verify", "wrapKey"];
const CURVE_SIZE = { "P-256": 32, "P-256K": 32, "P-384": 48, "P-521": 66 };
const NODE_CRV = { "P-256": "P-256", "P-256K": "secp256k1", "P-384": "P-384", "P-521": "P-521" };
// algorithm -> [node hash, curve]
const SIGN = {
  RS256: ["sha256"], RS384: ["sha384"], RS512: ["sha512"],
  PS256: ["sha256"], PS384: ["sha384"], PS512: ["sha512"],
  ES256: ["sha256", "P-256"], ES256K: ["sha256", "P-256K"], ES384: ["sha384", "P-384"], ES512: ["sha512", "P-521"],
};

const uniq = (prefix) => `${prefix}-${randomUUID().replace(/-/g, "").slice(0, 10)}`;
const b64u = (b) => Buffer.from(b).toString("base64url");
const sha = (alg, data) => crypto.createHash(alg).update(data).digest();
const urlOf = (vault) => {
  const u = new URL(VAULT_URL);
  return `https://${vault}.${u.host.split(".").slice(1).join(".")}`;
};

async function expectRestError(promise, status, ...fragments) {
  let err;
  try {
    await promise;
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected HTTP ${status}, but the call succeeded`);
  const ok = Array.isArray(status) ? status.includes(err.statusCode) : err.statusCode === status;
  assert.ok(ok, `expected HTTP ${status}, got ${err.statusCode}: ${err.message}`);
  for (const f of fragments) assert.match(err.message, new RegExp(f, "i"));
  return err;
}

async function collect(iter) {
  const out = [];
  for await (const x of iter) out.push(x);
  return out;
}

async function pages(iter, settings) {
  const out = [];
  for await (const page of iter.byPage(settings)) out.push(page);
  return out;
}

/** node:crypto public key from the JWK the service returned. */
function publicKeyOf(key) {
  const j = key.key;
  if (j.kty.startsWith("RSA")) {
    return crypto.createPublicKey({ key: { kty: "RSA", n: b64u(j.n), e: b64u(j.e) }, format: "jwk" });
  }
  return crypto.createPublicKey({ key: { kty: "EC", crv: NODE_CRV[j.crv], x: b64u(j.x), y: b64u(j.y) }, format: "jwk" });
}

/** Verifies with node:crypto over the original data (Key Vault signed its digest). */
function verifyLocally(key, alg, data, signature) {
  const [hash, curve] = SIGN[alg];
  const opts = { key: publicKeyOf(key) };
  if (alg.startsWith("PS")) {
    opts.padding = crypto.constants.RSA_PKCS1_PSS_PADDING;
    opts.saltLength = sha(hash, "").length; // salt as long as the digest
  } else if (alg.startsWith("RS")) {
    opts.padding = crypto.constants.RSA_PKCS1_PADDING;
  } else {
    assert.equal(signature.length, 2 * CURVE_SIZE[curve], `${alg}: raw r||s signature length`);
    opts.dsaEncoding = "ieee-p1363"; // Key Vault's ES* signatures are raw r||s
  }
  return crypto.verify(hash, data, opts, Buffer.from(signature));
}

/**
 * A CryptographyClient that never gets the key material: its key download is answered, as
 * for a principal without keys/get, with 403, so the SDK performs every operation in Arca
 * (the SDK's documented fallback). `sent` records what reached the pipeline.
 */
function remoteCrypto(keyId) {
  const sent = [];
  const policy = {
    name: "arcaTestNoKeysGet",
    async sendRequest(req, next) {
      const path = new URL(req.url).pathname;
      sent.push(`${req.method} ${path}`);
      if (req.method === "GET" && /\/keys\/[^/]+(\/[^/]*)?$/.test(path)) {
        const e = new Error("keys/get withheld by the test (simulated 403)");
        e.name = "RestError";
        e.statusCode = 403;
        throw e;
      }
      return next(req);
    },
  };
  const c = new CryptographyClient(keyId, credential, { additionalPolicies: [{ policy, position: "perCall" }] });
  return { c, sent };
}

function rawRequest(method, url, token, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = https.request(url, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode, text }));
    });
    req.on("error", reject);
    if (data !== undefined) req.write(data);
    req.end();
  });
}

let credential;
let client;
let stdClient;

before(() => {
  credential = new DefaultAzureCredential();
  client = new KeyClient(VAULT_URL, credential);
  if (STD_VAULT) stdClient = new KeyClient(urlOf(STD_VAULT), credential);
});

const del = async (c, name) => (await c.beginDeleteKey(name, POLL)).pollUntilDone();

describe("create", () => {
  for (const size of [2048, 3072, 4096]) {
    it(`creates RSA ${size}`, async () => {
      const name = uniq(`rsa${size}`);
      const k = await client.createRsaKey(name, { keySize: size });
      assert.equal(k.keyType, "RSA");
      assert.equal(k.key.n.length, size / 8);
      assert.equal(Buffer.from(k.key.e).readUIntBE(0, k.key.e.length), 65537);
      assert.equal(k.key.d, undefined);
      assert.match(k.properties.version, HEX32);
      assert.equal(k.id, `${VAULT_URL}/keys/${name}/${k.properties.version}`);
      assert.deepEqual([...k.keyOperations].sort(), ALL_OPS);
      assert.equal(k.properties.enabled, true);
    });
  }

  // publicExponent: @azure/keyvault-keys 4.10 does not forward it (createKey sends kty, curve,
  // keyAttributes, keyOps, keySize, releasePolicy, tags only); test_keys.py covers it.

  for (const curve of Object.keys(CURVE_SIZE)) {
    it(`creates EC ${curve} with fixed-size coordinates`, async () => {
      const name = uniq("ec");
      for (let i = 0; i < 16; i++) {
        const k = await client.createEcKey(name, { curve });
        assert.equal(k.keyType, "EC");
        assert.equal(k.key.crv, curve);
        assert.equal(k.key.x.length, CURVE_SIZE[curve], `x of version ${i}`);
        assert.equal(k.key.y.length, CURVE_SIZE[curve], `y of version ${i}`);
        publicKeyOf(k); // on the curve
      }
    });
  }

  it("creates RSA-HSM and EC-HSM in the premium vault", async () => {
    assert.equal((await client.createRsaKey(uniq("rsahsm"), { hsm: true })).keyType, "RSA-HSM");
    assert.equal((await client.createKey(uniq("rsahsm2"), "RSA-HSM")).keyType, "RSA-HSM");
    const e = await client.createEcKey(uniq("echsm"), { curve: "P-384", hsm: true });
    assert.equal(e.keyType, "EC-HSM");
    assert.equal(e.key.crv, "P-384");
  });

  it("refuses oct keys with 400", async () => {
    await expectRestError(client.createOctKey(uniq("oct"), { keySize: 256 }), 400);
    await expectRestError(client.createOctKey(uniq("octhsm"), { keySize: 256, hsm: true }), 400);
  });

  it("refuses HSM key types in a standard vault with 400", async (t) => {
    if (!stdClient) return t.skip("ARCA_STD_VAULT not set");
    await expectRestError(stdClient.createRsaKey(uniq("stdhsm"), { hsm: true }), 400);
    await expectRestError(stdClient.createEcKey(uniq("stdechsm"), { curve: "P-256", hsm: true }), 400);
    assert.equal((await stdClient.createRsaKey(uniq("stdrsa"))).keyType, "RSA");
  });

  it("refuses an unsupported RSA size with 400", async () => {
    await expectRestError(client.createRsaKey(uniq("rsa1024"), { keySize: 1024 }), 400);
  });
});

describe("import", () => {
  it("imports an RSA JWK (and as RSA-HSM), signs with it", async () => {
    const { privateKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
    const jwk = privateKey.export({ format: "jwk" });
    const key = Object.fromEntries(Object.entries(jwk).map(([k, v]) => [k, k === "kty" ? v : Buffer.from(v, "base64url")]));
    const k = await client.importKey(uniq("imprsa"), key, { tags: { src: "node" } });
    assert.equal(k.keyType, "RSA");
    assert.equal(b64u(k.key.n), jwk.n);
    assert.equal(k.key.d, undefined);
    const h = await client.importKey(uniq("imprsahsm"), key, { hardwareProtected: true });
    assert.equal(h.keyType, "RSA-HSM");
    const data = Buffer.from("imported");
    const s = await new CryptographyClient(k, credential).sign("RS256", sha("sha256", data));
    assert.ok(crypto.verify("sha256", data, privateKey, Buffer.from(s.result)));
    if (stdClient) await expectRestError(stdClient.importKey(uniq("stdimphsm"), key, { hardwareProtected: true }), 400);
  });

  it("imports an EC JWK", async () => {
    const { privateKey } = crypto.generateKeyPairSync("ec", { namedCurve: "P-384" });
    const jwk = privateKey.export({ format: "jwk" });
    const key = { kty: "EC", crv: "P-384", x: Buffer.from(jwk.x, "base64url"), y: Buffer.from(jwk.y, "base64url"),
      d: Buffer.from(jwk.d, "base64url") };
    const k = await client.importKey(uniq("impec"), key);
    assert.equal(k.keyType, "EC");
    assert.equal(b64u(k.key.x), jwk.x);
    const data = Buffer.from("imported ec");
    const s = await new CryptographyClient(k, credential).sign("ES384", sha("sha384", data));
    assert.ok(crypto.verify("sha384", data, { key: privateKey, dsaEncoding: "ieee-p1363" }, Buffer.from(s.result)));
    // and a signature made by node:crypto verifies in Arca
    const local = crypto.sign("sha384", data, { key: privateKey, dsaEncoding: "ieee-p1363" });
    const { c: remote, sent } = remoteCrypto(k.id);
    assert.equal((await remote.verify("ES384", sha("sha384", data), local)).result, true);
    assert.ok(sent.some((x) => x.endsWith("/verify")), `verify did not reach Arca: ${sent}`);
  });
});

describe("get, list, update", () => {
  it("gets the latest and a specific version", async () => {
    const name = uniq("getv");
    const v1 = await client.createEcKey(name, { curve: "P-256" });
    const v2 = await client.createEcKey(name, { curve: "P-384" });
    assert.equal((await client.getKey(name)).properties.version, v2.properties.version);
    const old = await client.getKey(name, { version: v1.properties.version });
    assert.equal(old.id, v1.id);
    assert.equal(old.key.crv, "P-256");
    await expectRestError(client.getKey(uniq("missing")), 404);
  });

  it("lists keys over more than 25 (default page size) and versions", async () => {
    const prefix = uniq("page");
    const names = [];
    for (let i = 0; i < 28; i++) names.push(`${prefix}-${String(i).padStart(2, "0")}`);
    for (const n of names) await client.createEcKey(n, { curve: "P-256", tags: { batch: prefix } });
    const ps = await pages(client.listPropertiesOfKeys());
    assert.ok(ps.length >= 2, `expected several pages, got ${ps.length}`);
    const seen = ps.flat().map((p) => p.name);
    assert.equal(new Set(seen).size, seen.length, "an item was listed twice");
    for (const n of names) assert.ok(seen.includes(n), n);
    const mine = ps.flat().filter((p) => names.includes(p.name));
    for (const p of mine) assert.deepEqual(p.tags, { batch: prefix });
    const small = await pages(client.listPropertiesOfKeys(), { maxPageSize: 5 });
    assert.ok(small.slice(0, 3).every((p) => p.length <= 5));

    const vname = names[0];
    const made = [];
    for (let i = 0; i < 3; i++) made.push((await client.createEcKey(vname, { curve: "P-256" })).properties.version);
    const versions = (await collect(client.listPropertiesOfKeyVersions(vname))).map((p) => p.version);
    assert.equal(versions.length, 4);
    for (const v of made) assert.ok(versions.includes(v));
  });

  it("updates enabled, expiresOn, tags and key operations", async () => {
    const name = uniq("upd");
    const k = await client.createRsaKey(name);
    const exp = new Date(Date.UTC(2033, 2, 3));
    const u = await client.updateKeyProperties(name, k.properties.version, {
      enabled: false, expiresOn: exp, tags: { k: "v" }, keyOps: ["sign", "verify"],
    });
    assert.equal(u.properties.enabled, false);
    assert.equal(u.properties.expiresOn.getTime(), exp.getTime());
    assert.deepEqual(u.properties.tags, { k: "v" });
    assert.deepEqual([...u.keyOperations].sort(), ["sign", "verify"]);
    const g = await client.getKey(name);
    assert.equal(g.properties.enabled, false);
    assert.deepEqual([...g.keyOperations].sort(), ["sign", "verify"]);
    const u2 = await client.updateKeyProperties(name, { enabled: true });
    assert.equal(u2.properties.enabled, true);
    assert.deepEqual(u2.properties.tags, { k: "v" });
  });
});

describe("delete, recover, purge", () => {
  it("deletes, gets and lists the deleted key, recovers it, purges it", async () => {
    const name = uniq("del");
    const k = await client.createRsaKey(name, { tags: { t: "1" } });
    const d = await del(client, name);
    assert.equal(d.name, name);
    assert.equal(d.properties.recoveryId, `${VAULT_URL}/deletedkeys/${name}`);
    assert.ok(d.properties.deletedOn instanceof Date && d.properties.scheduledPurgeDate instanceof Date);
    await expectRestError(client.getKey(name), 404);
    const gd = await client.getDeletedKey(name);
    assert.equal(gd.id, k.id);
    assert.ok((await collect(client.listDeletedKeys())).some((x) => x.name === name));
    await expectRestError(client.createRsaKey(name), 409);
    const r = await (await client.beginRecoverDeletedKey(name, POLL)).pollUntilDone();
    assert.equal(r.id, k.id);
    assert.deepEqual((await client.getKey(name)).properties.tags, { t: "1" });
    await del(client, name);
    await client.purgeDeletedKey(name);
    await expectRestError(client.getDeletedKey(name), 404);
    await client.createEcKey(name);
  });
});

describe("backup and restore", () => {
  it("backs up, refuses restore onto an existing name with 409, restores after purge", async () => {
    const name = uniq("bak");
    const k = await client.createRsaKey(name);
    const blob = await client.backupKey(name);
    assert.ok(blob instanceof Uint8Array && blob.length > 100);
    await expectRestError(client.restoreKeyBackup(blob), 409);
    await del(client, name);
    await client.purgeDeletedKey(name);
    const r = await client.restoreKeyBackup(blob);
    assert.equal(r.id, k.id);
    assert.deepEqual(r.key.n, k.key.n);
    await expectRestError(client.restoreKeyBackup(new Uint8Array([1, 2, 3])), 400);
  });
});

describe("rotation", () => {
  it("rotates, gets the default policy and updates it", async () => {
    const name = uniq("rot");
    const v1 = await client.createEcKey(name, { curve: "P-521", hsm: true });
    const p0 = await client.getKeyRotationPolicy(name);
    assert.deepEqual(p0.lifetimeActions.map((a) => [a.action.toLowerCase(), a.timeAfterCreate, a.timeBeforeExpiry]),
      [["notify", undefined, "P30D"]]);
    const p = await client.updateKeyRotationPolicy(name, {
      lifetimeActions: [{ action: "Rotate", timeAfterCreate: "P30D" }], expiresIn: "P90D",
    });
    assert.equal(p.expiresIn, "P90D");
    const g = await client.getKeyRotationPolicy(name);
    assert.equal(g.expiresIn, "P90D");
    assert.deepEqual(g.lifetimeActions.map((a) => [a.action.toLowerCase(), a.timeAfterCreate]), [["rotate", "P30D"]]);
    assert.equal(g.id, `${VAULT_URL}/keys/${name}/rotationpolicy`);
    const v2 = await client.rotateKey(name);
    assert.notEqual(v2.properties.version, v1.properties.version);
    assert.equal(v2.keyType, "EC-HSM");
    assert.equal(v2.key.crv, "P-521");
    const days = (v2.properties.expiresOn.getTime() - Date.now()) / 86400e3;
    assert.ok(days > 89 && days <= 90.01, `rotated version expires in ${days} days`);
    await expectRestError(client.updateKeyRotationPolicy(name, {
      lifetimeActions: [{ action: "Rotate", timeAfterCreate: "P1D" }], expiresIn: "P90D",
    }), 400);
    await expectRestError(client.updateKeyRotationPolicy(name, {
      lifetimeActions: [{ action: "Rotate", timeAfterCreate: "P30D", timeBeforeExpiry: "P30D" }], expiresIn: "P90D",
    }), 400);
  });
});

describe("random bytes", () => {
  it("returns 1..128 bytes and refuses 0 and 129 with 400", async () => {
    for (const n of [1, 32, 128]) {
      const b = await client.getRandomBytes(n);
      assert.equal(b.length, n);
    }
    await expectRestError(client.getRandomBytes(0), 400);
    await expectRestError(client.getRandomBytes(129), 400);
  });
});

describe("release", () => {
  it("refuses release without a trusted attestation authority", async () => {
    const name = uniq("rel");
    await client.createRsaKey(name, { hsm: true });
    await expectRestError(client.releaseKey(name, "header.payload.sig"), [400, 403]);
  });
});

describe("CryptographyClient", () => {
  let rsa;
  let ec;
  before(async () => {
    rsa = await client.createRsaKey(uniq("crsa"), { keySize: 2048 });
    ec = {};
    for (const c of ["P-256", "P-256K", "P-384"]) ec[c] = await client.createEcKey(uniq("cec"), { curve: c });
  });

  for (const alg of ["RS256", "PS256", "ES256", "ES256K", "ES384"]) {
    it(`signs ${alg} in Arca; verifies in the SDK, in Arca and with node:crypto`, async () => {
      const [hash, curve] = SIGN[alg];
      const key = curve ? ec[curve] : rsa;
      const cc = new CryptographyClient(key, credential);
      const { c: remote, sent } = remoteCrypto(key.id);
      for (let i = 0; i < 4; i++) {
        const data = Buffer.from(`data ${alg} ${i}`);
        const digest = sha(hash, data);
        const s = await cc.sign(alg, digest);
        assert.equal(s.keyID, key.id);
        assert.ok(verifyLocally(key, alg, data, s.result), "node:crypto rejects the signature");
        assert.equal((await cc.verify(alg, digest, s.result)).result, true);
        assert.equal((await remote.verify(alg, digest, s.result)).result, true);
        const bad = Buffer.from(s.result);
        bad[5] ^= 1;
        assert.equal((await remote.verify(alg, digest, bad)).result, false);
      }
      assert.ok(sent.some((x) => x.endsWith("/verify")), `verify did not reach Arca: ${sent}`);
    });
  }

  it("signData/verifyData (the SDK hashes)", async () => {
    const data = Buffer.from("sign data");
    const cc = new CryptographyClient(ec["P-256"], credential);
    const s = await cc.signData("ES256", data);
    assert.ok(verifyLocally(ec["P-256"], "ES256", data, s.result));
    assert.equal((await cc.verifyData("ES256", data, s.result)).result, true);
  });

  it("refuses a wrong digest length with 400", async () => {
    const cc = new CryptographyClient(rsa, credential);
    await expectRestError(cc.sign("RS256", randomBytes(20)), 400);
    await expectRestError(new CryptographyClient(ec["P-384"], credential).sign("ES384", randomBytes(32)), 400);
  });

  for (const alg of ["RSA-OAEP-256", "RSA-OAEP", "RSA1_5"]) {
    it(`encrypts ${alg} (locally and in Arca), decrypts in Arca`, async () => {
      const pt = randomBytes(32);
      const cc = new CryptographyClient(rsa, credential);
      const e = await cc.encrypt({ algorithm: alg, plaintext: pt });
      assert.equal(e.result.length, 256);
      assert.deepEqual(Buffer.from((await cc.decrypt({ algorithm: alg, ciphertext: e.result })).result), pt);
      const { c: remote, sent } = remoteCrypto(rsa.id);
      const e2 = await remote.encrypt({ algorithm: alg, plaintext: pt });
      assert.ok(sent.some((x) => x.endsWith("/encrypt")), `encrypt did not reach Arca: ${sent}`);
      assert.deepEqual(Buffer.from((await remote.decrypt({ algorithm: alg, ciphertext: e2.result })).result), pt);
      // a ciphertext made with node:crypto decrypts in Arca
      const padding = alg === "RSA1_5" ? crypto.constants.RSA_PKCS1_PADDING : crypto.constants.RSA_PKCS1_OAEP_PADDING;
      const oaepHash = alg === "RSA-OAEP-256" ? "sha256" : "sha1";
      if (alg !== "RSA1_5") {
        const ct = crypto.publicEncrypt({ key: publicKeyOf(rsa), padding, oaepHash }, pt);
        assert.deepEqual(Buffer.from((await cc.decrypt({ algorithm: alg, ciphertext: ct })).result), pt);
      }
    });
  }

  for (const alg of ["RSA-OAEP-256", "RSA-OAEP", "RSA1_5"]) {
    it(`wraps and unwraps ${alg}`, async () => {
      const cek = randomBytes(32);
      const cc = new CryptographyClient(rsa, credential);
      const w = await cc.wrapKey(alg, cek);
      assert.deepEqual(Buffer.from((await cc.unwrapKey(alg, w.result)).result), cek);
      const { c: remote, sent } = remoteCrypto(rsa.id);
      const w2 = await remote.wrapKey(alg, cek);
      assert.ok(sent.some((x) => x.toLowerCase().endsWith("/wrapkey")), `wrapKey did not reach Arca: ${sent}`);
      assert.deepEqual(Buffer.from((await remote.unwrapKey(alg, w2.result)).result), cek);
    });
  }

  it("enforces key_ops: a sign/verify key refuses decrypt with 403", async () => {
    const k = await client.createRsaKey(uniq("signonly"), { keyOps: ["sign", "verify"] });
    const ct = crypto.publicEncrypt({ key: publicKeyOf(k), padding: crypto.constants.RSA_PKCS1_OAEP_PADDING,
      oaepHash: "sha256" }, Buffer.from("s"));
    const { c: remote } = remoteCrypto(k.id);
    await expectRestError(remote.decrypt({ algorithm: "RSA-OAEP-256", ciphertext: ct }), 403);
    await expectRestError(remote.unwrapKey("RSA-OAEP-256", ct), 403);
  });

  it("a disabled key refuses sign with 403", async () => {
    const name = uniq("dis");
    const k = await client.createEcKey(name, { curve: "P-256" });
    await client.updateKeyProperties(name, { enabled: false });
    const { c: remote } = remoteCrypto(k.id);
    await expectRestError(remote.sign("ES256", randomBytes(32)), 403);
  });
});

describe("wire", () => {
  it("answers rng count 0 with 400 (raw)", async () => {
    const token = (await credential.getToken(`${new URL(VAULT_URL).origin.replace(/\/\/[^.]+\./, "//")}/.default`)).token;
    const r = await rawRequest("POST", `${VAULT_URL}/rng?api-version=7.6`, token, { count: 0 });
    assert.equal(r.status, 400, r.text);
  });
});
