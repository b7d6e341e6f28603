// Arca certificates conformance, driven by the official @azure/keyvault-certificates
// CertificateClient (with @azure/keyvault-secrets and @azure/keyvault-keys for the linked secret
// and key) and DefaultAzureCredential (node:test, no other framework).
//
// Run through tests/js/run.sh: it starts Arca, exports `arca env` and runs node in a private
// mount namespace whose /etc/hosts resolves the vault name. TLS verification and
// challenge-resource verification stay on. Test material that node:crypto cannot make (X.509
// certificates, PKCS#12 files, signing a CSR) is made with the `openssl` command line.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import crypto, { randomUUID, X509Certificate } from "node:crypto";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import tls from "node:tls";
import { DefaultAzureCredential } from "@azure/identity";
import { CertificateClient, DefaultCertificatePolicy } from "@azure/keyvault-certificates";
import { SecretClient } from "@azure/keyvault-secrets";
import { CryptographyClient, KeyClient } from "@azure/keyvault-keys";

for (const k of ["AZURE_KEYVAULT_URL", "AZURE_AUTHORITY_HOST", "NODE_EXTRA_CA_CERTS"]) {
  if (!process.env[k]) throw new Error(`missing ${k}: run via tests/js/run.sh (it exports \`arca env\`)`);
}

const VAULT_URL = process.env.AZURE_KEYVAULT_URL.replace(/\/+$/, "");
const CA_FILE = process.env.NODE_EXTRA_CA_CERTS; // the deployment CA (same file as REQUESTS_CA_BUNDLE)
const HEX32 = /^[0-9a-f]{32}$/;
const POLL = { intervalInMs: 100 };
const PKCS12 = "application/x-pkcs12";
const PEM = "application/x-pem-file";

const uniq = (prefix) => `${prefix}-${randomUUID().replace(/-/g, "").slice(0, 10)}`;

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

let tmp;
const file = (name, data) => {
  const p = path.join(tmp, name);
  if (data !== undefined) fs.writeFileSync(p, data);
  return p;
};
const openssl = (...args) => execFileSync("openssl", args, { cwd: tmp, stdio: ["ignore", "pipe", "pipe"] });

/** A self-signed certificate and its key (PKCS#8 PEM) made with openssl. */
function opensslSelfSigned(tag, keyAlg = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"], extra = []) {
  const key = file(`${tag}.key`), crt = file(`${tag}.crt`);
  openssl("req", "-x509", ...keyAlg, "-nodes", "-keyout", key, "-out", crt, "-days", "30",
    "-subj", `/CN=${tag}.example.test`, ...extra);
  return { key: fs.readFileSync(key, "utf8"), cert: fs.readFileSync(crt, "utf8"), keyFile: key, certFile: crt };
}

const pemBlocks = (text, label) =>
  text.match(new RegExp(`-----BEGIN ${label}-----[\\s\\S]+?-----END ${label}-----`, "g")) || [];

/** key and certificates from a PEM secret value. */
function splitPem(value) {
  const keys = pemBlocks(value, "(?:RSA |EC )?PRIVATE KEY");
  return { key: keys[0], certs: pemBlocks(value, "CERTIFICATE") };
}

/** Verifies with node:crypto that the certificate's key signed in Arca (via CryptographyClient). */
async function signWithLinkedKey(cert) {
  const x = new X509Certificate(Buffer.from(cert.cer));
  const pub = x.publicKey;
  const ec = pub.asymmetricKeyType === "ec";
  const alg = ec ? { "prime256v1": "ES256", "secp384r1": "ES384" }[pub.asymmetricKeyDetails.namedCurve] : "RS256";
  const hash = alg.endsWith("384") ? "sha384" : "sha256";
  const data = Buffer.from("signed by the certificate's key");
  const c = new CryptographyClient(cert.keyId, credential);
  const { result } = await c.signData(alg, data);
  const opts = ec ? { key: pub, dsaEncoding: "ieee-p1363" } : { key: pub, padding: crypto.constants.RSA_PKCS1_PADDING };
  assert.ok(crypto.verify(hash, data, opts, Buffer.from(result)), `${alg} signature verifies with the certificate`);
  assert.ok(!crypto.verify(hash, Buffer.from("other"), opts, Buffer.from(result)));
}

/** The certificate's backing secret, checked as a TLS identity. */
async function checkSecretAsTls(cert) {
  const s = await secrets.getSecret(cert.name, { version: cert.properties.version });
  assert.equal(s.properties.id, cert.secretId);
  const leaf = new X509Certificate(Buffer.from(cert.cer));
  if (s.properties.contentType === PEM) {
    const { key, certs } = splitPem(s.value);
    assert.ok(key, "the PEM secret holds the private key");
    assert.ok(certs.length >= 1 && new X509Certificate(certs[0]).fingerprint256 === leaf.fingerprint256);
    tls.createSecureContext({ key, cert: certs.join("\n") }); // throws on a key/cert mismatch
    assert.ok(leaf.checkPrivateKey(crypto.createPrivateKey(key)));
    return { secret: s, key, certs };
  }
  assert.equal(s.properties.contentType, PKCS12);
  // The PFX comes without a password (Azure docs: the downloaded PFX has no password).
  tls.createSecureContext({ pfx: Buffer.from(s.value, "base64") });
  return { secret: s };
}

const create = async (name, policy, options = {}) =>
  (await client.beginCreateCertificate(name, policy, { ...POLL, ...options })).pollUntilDone();

const purge = async (name) => {
  await (await client.beginDeleteCertificate(name, POLL)).pollUntilDone();
  await client.purgeDeletedCertificate(name);
};

let credential, client, secrets, keys;

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "arca-certs-js-"));
  credential = new DefaultAzureCredential();
  client = new CertificateClient(VAULT_URL, credential);
  secrets = new SecretClient(VAULT_URL, credential);
  keys = new KeyClient(VAULT_URL, credential);
});

after(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe("create (Self)", () => {
  it("creates with DefaultCertificatePolicy (PKCS#12 secret, managed key)", async () => {
    const name = uniq("default");
    const cert = await create(name, DefaultCertificatePolicy);
    const v = cert.properties.version;
    assert.equal(cert.name, name);
    assert.match(v, HEX32);
    // the JS SDK exposes the id as properties.id (its KeyVaultCertificate.id stays unset)
    assert.equal(cert.properties.id, `${VAULT_URL}/certificates/${name}/${v}`);
    assert.equal(cert.keyId, `${VAULT_URL}/keys/${name}/${v}`);
    assert.equal(cert.secretId, `${VAULT_URL}/secrets/${name}/${v}`);
    assert.equal(cert.properties.enabled, true);
    assert.deepEqual(Buffer.from(cert.properties.x509Thumbprint),
      crypto.createHash("sha1").update(cert.cer).digest());
    const x = new X509Certificate(Buffer.from(cert.cer));
    assert.match(x.subject, /^CN=MyCert$/i); // the JS SDK's DefaultCertificatePolicy subject is "cn=MyCert"
    assert.ok(x.verify(x.publicKey), "self-signed");
    assert.equal(x.publicKey.asymmetricKeyType, "rsa");
    assert.equal(x.publicKey.asymmetricKeyDetails.modulusLength, 2048);
    assert.equal(cert.policy.issuerName, "Self");
    assert.equal(cert.policy.contentType, PKCS12);
    const k = await keys.getKey(name);
    assert.equal(k.properties.managed, true);
    assert.equal(k.id, cert.keyId);
    const { secret } = await checkSecretAsTls(cert);
    assert.equal(secret.properties.managed, true);
    await signWithLinkedKey(cert);
  });

  for (const [kty, opts] of [["RSA", { keySize: 3072 }], ["EC", { keyCurveName: "P-256" }], ["EC", { keyCurveName: "P-384" }]]) {
    it(`creates ${kty} ${opts.keySize || opts.keyCurveName} with a PEM secret, SANs, EKUs and key usage`, async () => {
      const name = uniq(`pem-${kty.toLowerCase()}`);
      const host = `${name}.example.test`;
      const cert = await create(name, {
        issuerName: "Self", subject: `CN=${host}`, keyType: kty, ...opts, exportable: true, contentType: PEM,
        subjectAlternativeNames: { dnsNames: [host], emails: ["admin@example.test"], userPrincipalNames: ["user@example.test"] },
        enhancedKeyUsage: ["1.3.6.1.5.5.7.3.1"], keyUsage: ["digitalSignature", "keyEncipherment"], validityInMonths: 6,
      }, { tags: { kind: "pem" } });
      assert.deepEqual(cert.properties.tags, { kind: "pem" });
      const x = new X509Certificate(Buffer.from(cert.cer));
      assert.equal(x.subject, `CN=${host}`);
      assert.match(x.subjectAltName, new RegExp(`DNS:${host}`));
      assert.match(x.subjectAltName, /email:admin@example\.test/);
      assert.ok(x.checkHost(host));
      assert.deepEqual(x.keyUsage, ["1.3.6.1.5.5.7.3.1"]); // node's keyUsage is the EKU list
      const days = (new Date(x.validTo) - new Date(x.validFrom)) / 86400e3;
      assert.ok(days >= 178 && days <= 186, `6 months, got ${days} days`);
      if (kty === "EC") {
        assert.equal(x.publicKey.asymmetricKeyDetails.namedCurve, { "P-256": "prime256v1", "P-384": "secp384r1" }[opts.keyCurveName]);
      } else {
        assert.equal(x.publicKey.asymmetricKeyDetails.modulusLength, opts.keySize);
      }
      const p = await client.getCertificatePolicy(name);
      assert.equal(p.contentType, PEM);
      assert.deepEqual(p.subjectAlternativeNames.dnsNames, [host]);
      assert.deepEqual(p.subjectAlternativeNames.userPrincipalNames, ["user@example.test"]);
      assert.deepEqual(p.enhancedKeyUsage, ["1.3.6.1.5.5.7.3.1"]);
      assert.deepEqual([...p.keyUsage].sort(), ["digitalSignature", "keyEncipherment"]);
      assert.equal(p.validityInMonths, 6);
      const { secret } = await checkSecretAsTls(cert);
      assert.equal(secret.properties.contentType, PEM);
      await signWithLinkedKey(cert);
    });
  }
});

describe("get, list, update, policy", () => {
  it("gets the latest and a given version, lists versions", async () => {
    const name = uniq("versions");
    const c1 = await create(name, { issuerName: "Self", subject: "CN=v1" });
    const c2 = await create(name, { issuerName: "Self", subject: "CN=v2" });
    const latest = await client.getCertificate(name);
    assert.equal(latest.properties.version, c2.properties.version);
    assert.equal(new X509Certificate(Buffer.from(latest.cer)).subject, "CN=v2");
    assert.equal(latest.policy.subject, "CN=v2");
    const old = await client.getCertificateVersion(name, c1.properties.version);
    assert.equal(old.properties.id, c1.properties.id);
    assert.deepEqual(Buffer.from(old.cer), Buffer.from(c1.cer));
    const vs = await collect(client.listPropertiesOfCertificateVersions(name));
    assert.deepEqual(vs.map((v) => v.version).sort(), [c1.properties.version, c2.properties.version].sort());
    await expectRestError(client.getCertificate(uniq("missing")), 404);
    await expectRestError(client.getCertificateVersion(name, "0".repeat(32)), 404);
  });

  it("lists certificates page by page", async () => {
    const prefix = uniq("page");
    const { keyFile, certFile } = opensslSelfSigned(prefix);
    openssl("pkcs12", "-export", "-inkey", keyFile, "-in", certFile, "-passout", "pass:", "-out", file(`${prefix}.pfx`));
    const pfx = fs.readFileSync(file(`${prefix}.pfx`));
    const names = Array.from({ length: 27 }, (_, i) => `${prefix}-${String(i).padStart(2, "0")}`);
    for (const n of names) await client.importCertificate(n, pfx);
    // @azure/keyvault-certificates 4.10 does not send byPage's maxPageSize (no maxresults), so
    // this pages with the service default of 25 (test_certificates.py checks maxresults)
    const pages = [];
    for await (const page of client.listPropertiesOfCertificates().byPage()) pages.push(page);
    assert.ok(pages.length >= 2, `${pages.length} pages`);
    const seen = pages.flat().map((p) => p.name);
    assert.ok(pages.every((p) => p.length <= 25));
    assert.equal(new Set(seen).size, seen.length);
    for (const n of names) assert.ok(seen.includes(n), `${n} listed`);
    const all = (await collect(client.listPropertiesOfCertificates())).map((p) => p.name);
    for (const n of names) assert.ok(all.includes(n));
  });

  it("updates enabled and tags", async () => {
    const name = uniq("update");
    const c = await create(name, DefaultCertificatePolicy, { tags: { a: "1" } });
    let u = await client.updateCertificateProperties(name, "", { enabled: false, tags: { b: "2" } });
    assert.equal(u.properties.enabled, false);
    assert.deepEqual(u.properties.tags, { b: "2" });
    assert.equal((await client.getCertificate(name)).properties.enabled, false);
    u = await client.updateCertificateProperties(name, c.properties.version, { enabled: true });
    assert.equal(u.properties.enabled, true);
    assert.deepEqual(u.properties.tags, { b: "2" });
  });

  it("gets and updates the policy; the next version follows it", async () => {
    const name = uniq("policy");
    await create(name, { issuerName: "Self", subject: "CN=before", validityInMonths: 12 });
    assert.equal((await client.getCertificatePolicy(name)).subject, "CN=before");
    // @azure/keyvault-certificates 4.10's updateCertificatePolicy returns toPublicPolicy(undefined)
    // (its parsedBody is never assigned), so the updated policy is read back with get
    await client.updateCertificatePolicy(name, {
      issuerName: "Self", subject: "CN=after", validityInMonths: 3, keyType: "EC", keyCurveName: "P-256",
      lifetimeActions: [{ action: "EmailContacts", daysBeforeExpiry: 10 }],
    });
    const up = await client.getCertificatePolicy(name);
    assert.equal(up.subject, "CN=after");
    assert.equal(up.validityInMonths, 3);
    assert.equal(up.keyType, "EC");
    assert.equal(up.lifetimeActions[0].action, "EmailContacts");
    assert.equal(up.lifetimeActions[0].daysBeforeExpiry, 10);
    const next = await create(name, await client.getCertificatePolicy(name));
    const x = new X509Certificate(Buffer.from(next.cer));
    assert.equal(x.subject, "CN=after");
    assert.equal(x.publicKey.asymmetricKeyType, "ec");
  });
});

// getCertificateOperation first GETs /certificates/NAME/ (the SDK's CertificateOperationPoller),
// which Key Vault answers while the first version is still pending.

describe("Unknown issuer, CSR and merge", () => {
  it("signs the CSR with a test CA (openssl) and merges it", async () => {
    const ca = opensslSelfSigned(uniq("merge-ca"), ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
      ["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
    const name = uniq("merge");
    const host = `${name}.example.test`;
    const poller = await client.beginCreateCertificate(name, {
      issuerName: "Unknown", subject: `CN=${host}`, subjectAlternativeNames: { dnsNames: [host] },
      keyType: "RSA", keySize: 2048, contentType: PEM,
    }, POLL);
    assert.notEqual(poller.getOperationState().isCompleted, true);
    const opPoller = await client.getCertificateOperation(name, POLL);
    const op = opPoller.getOperationState().certificateOperation;
    assert.equal(op.status, "inProgress");
    assert.equal(op.issuerName, "Unknown");
    assert.ok(op.csr && op.csr.length > 100, "the operation has a CSR");

    const csrPem = `-----BEGIN CERTIFICATE REQUEST-----\n${Buffer.from(op.csr).toString("base64").replace(/.{64}/g, "$&\n")}\n-----END CERTIFICATE REQUEST-----\n`;
    const csrFile = file(`${name}.csr`, csrPem);
    openssl("req", "-in", csrFile, "-verify", "-noout");
    const subj = openssl("req", "-in", csrFile, "-noout", "-subject").toString();
    assert.match(subj, new RegExp(`CN ?= ?${host.replace(/\./g, "\\.")}`));
    openssl("x509", "-req", "-in", csrFile, "-CA", ca.certFile, "-CAkey", ca.keyFile, "-CAcreateserial",
      "-days", "10", "-copy_extensions", "copyall", "-out", file(`${name}.crt`));
    const leaf = new X509Certificate(fs.readFileSync(file(`${name}.crt`)));
    const caX = new X509Certificate(ca.cert);
    assert.ok(leaf.verify(caX.publicKey));

    const merged = await client.mergeCertificate(name, [leaf.raw, caX.raw]);
    assert.deepEqual(Buffer.from(merged.cer), leaf.raw);
    const op2 = (await client.getCertificateOperation(name)).getOperationState().certificateOperation;
    assert.equal(op2.status, "completed");
    const { certs } = await checkSecretAsTls(merged);
    assert.ok(certs.some((c) => new X509Certificate(c).fingerprint256 === caX.fingerprint256), "chain kept");
    assert.equal((await keys.getKey(name)).properties.managed, true);
    await signWithLinkedKey(merged);
  });

  it("cancels (create poller) and deletes a pending operation", async () => {
    const name = uniq("cancel");
    const poller = await client.beginCreateCertificate(name, { issuerName: "Unknown", subject: "CN=cancel" }, POLL);
    await poller.cancelOperation(); // PATCH .../pending {cancellation_requested: true}
    assert.equal(poller.getOperationState().isCancelled, true);
    const deleted = await client.deleteCertificateOperation(name);
    assert.equal(deleted.id, `${VAULT_URL}/certificates/${name}/pending`);
    assert.equal(deleted.cancellationRequested, true);
    assert.ok(["inProgress", "cancelled"].includes(deleted.status), deleted.status);
    assert.ok(deleted.csr && deleted.csr.length > 100);
    await expectRestError(client.deleteCertificateOperation(name), 404);
  });

  it("cancels through getCertificateOperation's poller", async () => {
    const name = uniq("cancel-op");
    await client.beginCreateCertificate(name, { issuerName: "Unknown", subject: "CN=cancel" }, POLL);
    const opPoller = await client.getCertificateOperation(name, POLL);
    assert.equal(opPoller.getOperationState().certificateOperation.status, "inProgress");
    await opPoller.cancelOperation();
    const again = (await client.getCertificateOperation(name)).getOperationState().certificateOperation;
    assert.equal(again.cancellationRequested, true);
    await client.deleteCertificateOperation(name);
    await expectRestError(client.getCertificateOperation(name), 404);
  });

  it("getCertificateOperation of a completed certificate", async () => {
    const name = uniq("op-done");
    await create(name, DefaultCertificatePolicy);
    const op = (await client.getCertificateOperation(name)).getOperationState().certificateOperation;
    assert.equal(op.status, "completed");
    assert.equal(op.issuerName, "Self");
  });
});

describe("Arca CA issuer", () => {
  it("issues a certificate that verifies against the deployment CA and serves TLS", async () => {
    const issuer = uniq("arcaca");
    const is = await client.createIssuer(issuer, "Arca");
    assert.equal(is.provider, "Arca");
    const name = uniq("caissued");
    const host = `${name}.example.test`;
    const cert = await create(name, {
      issuerName: issuer, subject: `CN=${host}`, subjectAlternativeNames: { dnsNames: [host] }, contentType: PEM,
    });
    const x = new X509Certificate(Buffer.from(cert.cer));
    const cas = pemBlocks(fs.readFileSync(CA_FILE, "utf8"), "CERTIFICATE").map((p) => new X509Certificate(p));
    const ca = cas.find((c) => x.checkIssued(c));
    assert.ok(ca, `issuer ${x.issuer} is in ${CA_FILE}`);
    assert.ok(x.verify(ca.publicKey));
    const leafFile = file(`${name}.pem`, x.toString());
    assert.match(openssl("verify", "-CAfile", CA_FILE, leafFile).toString(), /: OK/);

    // a real TLS handshake: the server uses the downloaded secret, the client trusts only the CA file
    const { key, certs } = await checkSecretAsTls(cert);
    const server = tls.createServer({ key, cert: certs.join("\n") }, (s) => s.end("hello"));
    await new Promise((r) => server.listen(0, "127.0.0.1", r));
    try {
      const got = await new Promise((resolve, reject) => {
        const s = tls.connect({ port: server.address().port, host: "127.0.0.1", servername: host,
          ca: fs.readFileSync(CA_FILE), checkServerIdentity: (h, c) => tls.checkServerIdentity(host, c) });
        let text = "";
        s.on("data", (d) => (text += d));
        s.on("end", () => resolve({ text, authorized: s.authorized }));
        s.on("error", reject);
      });
      assert.equal(got.text, "hello");
      assert.equal(got.authorized, true);
    } finally {
      server.close();
    }
    await signWithLinkedKey(cert);
  });
});

describe("import", () => {
  for (const pass of ["arca-canary-pfx-pw", ""]) {
    it(`imports a PFX ${pass ? "with" : "without"} a password; the secret has none`, async () => {
      const tag = uniq("pfx");
      const { keyFile, certFile, cert: certPem } = opensslSelfSigned(tag, ["-newkey", "rsa:2048"]);
      openssl("pkcs12", "-export", "-inkey", keyFile, "-in", certFile, "-passout", `pass:${pass}`, "-out", file(`${tag}.pfx`));
      const pfx = fs.readFileSync(file(`${tag}.pfx`));
      const name = uniq("imp-pfx");
      const cert = await client.importCertificate(name, pfx, pass ? { password: pass, tags: { src: "pfx" } } : { tags: { src: "pfx" } });
      assert.deepEqual(Buffer.from(cert.cer), new X509Certificate(certPem).raw);
      assert.deepEqual(cert.properties.tags, { src: "pfx" });
      const s = await secrets.getSecret(name);
      assert.equal(s.properties.contentType, PKCS12);
      tls.createSecureContext({ pfx: Buffer.from(s.value, "base64") }); // no passphrase needed
      // and the key inside is the imported one: openssl reads it with an empty password
      const out = file(`${tag}-out.pem`);
      fs.writeFileSync(file(`${tag}-out.pfx`), Buffer.from(s.value, "base64"));
      openssl("pkcs12", "-in", file(`${tag}-out.pfx`), "-passin", "pass:", "-nodes", "-out", out);
      const { key } = splitPem(fs.readFileSync(out, "utf8"));
      assert.ok(new X509Certificate(certPem).checkPrivateKey(crypto.createPrivateKey(key)));
      const k = await keys.getKey(name);
      assert.equal(k.properties.managed, true);
      assert.equal(k.id, cert.keyId);
      await signWithLinkedKey(cert);
    });
  }

  it("imports PEM (PKCS#8 key and chain)", async () => {
    const ca = opensslSelfSigned(uniq("pem-ca"), undefined,
      ["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"]);
    const tag = uniq("pem-leaf");
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384", "-nodes",
      "-keyout", file(`${tag}.key`), "-subj", `/CN=${tag}.example.test`, "-out", file(`${tag}.csr`));
    openssl("x509", "-req", "-in", file(`${tag}.csr`), "-CA", ca.certFile, "-CAkey", ca.keyFile, "-CAcreateserial",
      "-days", "10", "-out", file(`${tag}.crt`));
    const leafPem = fs.readFileSync(file(`${tag}.crt`), "utf8");
    const pem = fs.readFileSync(file(`${tag}.key`), "utf8") + leafPem + ca.cert;
    assert.match(pem, /BEGIN PRIVATE KEY/); // PKCS#8
    const name = uniq("imp-pem");
    const cert = await client.importCertificate(name, Buffer.from(pem), { policy: { issuerName: "Unknown", contentType: PEM } });
    assert.deepEqual(Buffer.from(cert.cer), new X509Certificate(leafPem).raw);
    const { certs } = await checkSecretAsTls(cert);
    assert.equal(certs.length, 2, "leaf and CA kept");
    assert.equal((await keys.getKey(name)).properties.managed, true);
    await signWithLinkedKey(cert);
  });

  it("refuses a PFX with the wrong password", async () => {
    const tag = uniq("badpw");
    const { keyFile, certFile } = opensslSelfSigned(tag);
    openssl("pkcs12", "-export", "-inkey", keyFile, "-in", certFile, "-passout", "pass:right", "-out", file(`${tag}.pfx`));
    await expectRestError(client.importCertificate(uniq("imp-badpw"), fs.readFileSync(file(`${tag}.pfx`)), { password: "arca-canary-wrong-pw" }), 400);
  });
});

describe("delete, recover, purge", () => {
  it("soft-deletes with the key and secret, recovers, purges", async () => {
    const name = uniq("del");
    const cert = await create(name, DefaultCertificatePolicy);
    const deleted = await (await client.beginDeleteCertificate(name, POLL)).pollUntilDone();
    assert.equal(deleted.recoveryId, `${VAULT_URL}/deletedcertificates/${name}`);
    assert.ok(deleted.deletedOn instanceof Date && deleted.scheduledPurgeDate > deleted.deletedOn);
    await expectRestError(client.getCertificate(name), 404);
    assert.equal((await client.getDeletedCertificate(name)).recoveryId, deleted.recoveryId);
    assert.ok((await collect(client.listDeletedCertificates())).some((d) => d.name === name));
    assert.equal((await keys.getDeletedKey(name)).name, name);
    assert.equal((await secrets.getDeletedSecret(name)).name, name);

    const rec = await (await client.beginRecoverDeletedCertificate(name, POLL)).pollUntilDone();
    assert.equal(rec.properties.id, cert.properties.id);
    assert.equal((await keys.getKey(name)).properties.managed, true);
    assert.ok((await secrets.getSecret(name)).value);

    await purge(name);
    await expectRestError(client.getDeletedCertificate(name), 404);
    await expectRestError(keys.getDeletedKey(name), 404);
    await expectRestError(secrets.getDeletedSecret(name), 404);
  });
});

describe("backup and restore", () => {
  it("restores a purged certificate; restoring onto an existing name is 409", async () => {
    const name = uniq("backup");
    const cert = await create(name, DefaultCertificatePolicy);
    const blob = await client.backupCertificate(name);
    assert.ok(blob instanceof Uint8Array && blob.length > 100);
    await expectRestError(client.restoreCertificateBackup(blob), 409);
    await purge(name);
    const restored = await client.restoreCertificateBackup(blob);
    assert.equal(restored.properties.id, cert.properties.id);
    assert.deepEqual(Buffer.from(restored.cer), Buffer.from(cert.cer));
    assert.equal((await keys.getKey(name)).properties.managed, true);
    await checkSecretAsTls(restored);
    await signWithLinkedKey(restored);
  });
});

describe("issuers and contacts", () => {
  it("creates, gets, updates, lists and deletes an issuer", async () => {
    const name = uniq("issuer");
    const created = await client.createIssuer(name, "Test", {
      accountId: "acct-1", password: "arca-canary-issuer-pw", organizationId: "org-1", enabled: false,
      administratorContacts: [{ firstName: "Ada", lastName: "Lovelace", email: "ada@example.test", phone: "+1 555 0100" }],
    });
    // toPublicIssuer parses the name from .../certificates/issuers/NAME as "issuers" (SDK 4.10, the same
    // with Azure's ids), so the tests check the id
    assert.equal(created.id, `${VAULT_URL}/certificates/issuers/${name}`);
    assert.equal(created.provider, "Test");
    assert.equal(created.accountId, "acct-1");
    assert.equal(created.organizationId, "org-1");
    assert.equal(created.administratorContacts[0].email, "ada@example.test");
    const got = await client.getIssuer(name);
    assert.equal(got.provider, "Test");
    assert.equal(created.enabled, false);
    assert.equal(created.password, undefined, "the issuer password is never returned");
    // updateIssuer (SDK 4.10) sends attributes only when enabled is truthy, so enable here
    const up = await client.updateIssuer(name, { enabled: true, provider: "Test2" });
    assert.equal(up.enabled, true);
    assert.equal(up.provider, "Test2");
    assert.equal(up.organizationId, "org-1");
    const listed = await collect(client.listPropertiesOfIssuers());
    assert.ok(listed.some((i) => i.id === created.id && i.provider === "Test2"));
    const deleted = await client.deleteIssuer(name);
    assert.equal(deleted.id, created.id);
    assert.equal(deleted.provider, "Test2");
    await expectRestError(client.getIssuer(name), 404);
  });

  it("sets, gets and deletes contacts", async () => {
    const contacts = [{ email: "ops@example.test", name: "Ops", phone: "+1 555 0101" }, { email: "sec@example.test", name: "Security" }];
    const set = await client.setContacts(contacts);
    assert.deepEqual(set.map((c) => c.email), ["ops@example.test", "sec@example.test"]);
    assert.equal(set[0].phone, "+1 555 0101");
    assert.deepEqual((await client.getContacts()).map((c) => c.name), ["Ops", "Security"]);
    // deleteContacts maps the raw body with coreContactsToCertificateContacts, which reads
    // .contactList (the wire name is "contacts"): SDK 4.10 always returns [] here
    assert.ok(Array.isArray(await client.deleteContacts()));
    await expectRestError(client.getContacts(), 404);
  });
});
