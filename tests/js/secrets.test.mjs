// Arca secrets conformance, driven by the official @azure/keyvault-secrets SecretClient
// and DefaultAzureCredential (node:test, no other framework).
//
// Run through tests/js/run.sh: it starts Arca, exports `arca env` (Node reads
// NODE_EXTRA_CA_CERTS only at start-up, so the server must exist before node does) and
// runs node in a private mount namespace whose /etc/hosts resolves the vault names.
// TLS verification and challenge-resource verification stay on.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import https from "node:https";
import { randomUUID } from "node:crypto";
import {
  ClientSecretCredential,
  DefaultAzureCredential,
  ManagedIdentityCredential,
} from "@azure/identity";
import { SecretClient } from "@azure/keyvault-secrets";

const REQUIRED = [
  "AZURE_KEYVAULT_URL",
  "AZURE_AUTHORITY_HOST",
  "AZURE_TENANT_ID",
  "ARCA_TENANT_ID",
  "AZURE_CLIENT_ID",
  "AZURE_CLIENT_SECRET",
  "IDENTITY_ENDPOINT",
  "IDENTITY_HEADER",
  "NODE_EXTRA_CA_CERTS",
];
const missing = REQUIRED.filter((k) => !process.env[k]);
if (missing.length) {
  throw new Error(`missing ${missing.join(", ")}: run via tests/js/run.sh (it exports \`arca env\`)`);
}

const VAULT_URL = process.env.AZURE_KEYVAULT_URL.replace(/\/+$/, "");
const AUTHORITY = process.env.AZURE_AUTHORITY_HOST.replace(/\/+$/, "");
const TENANT = process.env.ARCA_TENANT_ID;
const VAULT = new URL(VAULT_URL);
const HEX32 = /^[0-9a-f]{32}$/;
const POLL = { intervalInMs: 100 }; // the SDK's own LRO poll interval
const DAY_MS = 24 * 3600 * 1000;

const uniq = (prefix) => `${prefix}-${randomUUID().replace(/-/g, "").slice(0, 10)}`;

/** Plain HTTPS request (default agent, so NODE_EXTRA_CA_CERTS applies). */
function raw(method, url, { headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method, headers }, (res) => {
      let data = "";
      res.setEncoding("utf8");
      res.on("data", (c) => (data += c));
      res.on("end", () => {
        let json;
        try {
          json = data ? JSON.parse(data) : undefined;
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode, headers: res.headers, text: data, json });
      });
    });
    req.on("error", reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

function parseChallenge(header) {
  assert.ok(header && header.startsWith("Bearer "), `challenge: ${header}`);
  const out = {};
  for (const part of header.slice("Bearer ".length).split(", ")) {
    const i = part.indexOf("=");
    const v = part.slice(i + 1);
    assert.ok(v.startsWith('"') && v.endsWith('"'), `unquoted value in ${header}`);
    out[part.slice(0, i)] = v.slice(1, -1);
  }
  return out;
}

async function expectRestError(promise, status, ...fragments) {
  let err;
  try {
    await promise;
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected HTTP ${status}, but the call succeeded`);
  assert.equal(err.statusCode, status, `expected HTTP ${status}, got ${err.statusCode}: ${err.message}`);
  for (const f of fragments) {
    assert.match(err.message, f instanceof RegExp ? f : new RegExp(f.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "i"));
  }
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

let credential;
let client;

before(() => {
  credential = new DefaultAzureCredential();
  client = new SecretClient(VAULT_URL, credential);
});

const del = async (name) => (await client.beginDeleteSecret(name, POLL)).pollUntilDone();
const recover = async (name) => (await client.beginRecoverDeletedSecret(name, POLL)).pollUntilDone();
const purgeAll = async (...names) => {
  for (const n of names) {
    await del(n);
    await client.purgeDeletedSecret(n);
  }
};

describe("authentication and the challenge", () => {
  it("answers an unauthenticated GET with 401 and a verifiable challenge", async () => {
    const r = await raw("GET", `${VAULT_URL}/secrets?api-version=7.6`);
    assert.equal(r.status, 401, r.text);
    const header = r.headers["www-authenticate"];
    const ch = parseChallenge(header);
    const parent = VAULT.hostname.split(".").slice(1).join(".");
    const resource = `https://${parent}${VAULT.port ? ":" + VAULT.port : ""}`;
    assert.equal(ch.resource, resource, header);
    assert.equal(ch.authorization, `${AUTHORITY}/${TENANT}`, header);
    assert.equal(r.json?.error?.code, "Unauthorized", r.text);
  });

  it("answers an unauthenticated body-less PUT with 401, not 400", async () => {
    const r = await raw("PUT", `${VAULT_URL}/secrets/probe?api-version=7.6`, { headers: { "content-length": "0" } });
    assert.equal(r.status, 401, r.text);
    assert.ok(r.headers["www-authenticate"]);
  });

  it("rejects a bad bearer token with 401", async () => {
    const r = await raw("GET", `${VAULT_URL}/secrets?api-version=7.6`, {
      headers: { authorization: "Bearer not-a-real-token" },
    });
    assert.equal(r.status, 401, r.text);
  });

  it("the SDK with a bogus token credential gets 401", async () => {
    const bogus = { getToken: async () => ({ token: `bogus.${randomUUID()}`, expiresOnTimestamp: Date.now() + 3600e3 }) };
    const c = new SecretClient(VAULT_URL, bogus);
    await expectRestError(c.getSecret("anything"), 401);
  });

  it("works with ClientSecretCredential and the adfs tenant", async () => {
    const cred = new ClientSecretCredential("adfs", process.env.AZURE_CLIENT_ID, process.env.AZURE_CLIENT_SECRET, {
      authorityHost: AUTHORITY,
    });
    const c = new SecretClient(VAULT_URL, cred);
    const name = uniq("csc");
    assert.equal((await c.setSecret(name, "v1")).value, "v1");
    assert.equal((await c.getSecret(name)).value, "v1");
  });

  it("works with ManagedIdentityCredential (App Service protocol)", async () => {
    const c = new SecretClient(VAULT_URL, new ManagedIdentityCredential());
    const name = uniq("mi");
    assert.equal((await c.setSecret(name, "v-mi")).value, "v-mi");
    assert.equal((await c.getSecret(name)).value, "v-mi");
  });
});

describe("set, get and versions", () => {
  it("sets and gets the latest version", async () => {
    const name = uniq("setget");
    const s = await client.setSecret(name, "arca-canary-hunter2", { contentType: "text/plain", tags: { env: "test" } });
    assert.equal(s.name, name);
    assert.equal(s.value, "arca-canary-hunter2");
    assert.equal(s.properties.vaultUrl, VAULT_URL);
    assert.match(s.properties.version, HEX32);
    assert.equal(s.properties.id, `${VAULT_URL}/secrets/${name}/${s.properties.version}`);
    assert.equal(s.properties.enabled, true);
    assert.equal(s.properties.contentType, "text/plain");
    assert.deepEqual(s.properties.tags, { env: "test" });
    assert.equal(s.properties.recoveryLevel, "Recoverable+Purgeable");
    assert.equal(s.properties.recoverableDays, 90);
    assert.ok(s.properties.createdOn instanceof Date);
    assert.equal(s.properties.createdOn.getTime(), s.properties.updatedOn.getTime());
    assert.ok(Math.abs(s.properties.createdOn.getTime() - Date.now()) < 5 * 60e3);

    const g = await client.getSecret(name);
    assert.equal(g.value, "arca-canary-hunter2");
    assert.equal(g.properties.id, s.properties.id);
    assert.equal(g.properties.createdOn.getTime(), s.properties.createdOn.getTime());
    assert.deepEqual(g.properties.tags, { env: "test" });
  });

  it("sets not-before and expiry", async () => {
    const name = uniq("attrs");
    const nbf = new Date(Date.UTC(2020, 0, 2, 3, 4, 5));
    // @azure/keyvault-secrets 4.12 serialises dates as 32-bit seconds (2099 turns
    // negative on the wire), so stay before 2038 here; the Python suite covers 2099.
    const exp = new Date(Date.UTC(2037, 11, 31, 23, 59, 59));
    const s = await client.setSecret(name, "v", { notBefore: nbf, expiresOn: exp, enabled: true });
    assert.equal(s.properties.notBefore.getTime(), nbf.getTime());
    assert.equal(s.properties.expiresOn.getTime(), exp.getTime());
    const g = await client.getSecret(name);
    assert.equal(g.properties.notBefore.getTime(), nbf.getTime());
    assert.equal(g.properties.expiresOn.getTime(), exp.getTime());
  });

  it("stores an empty value", async () => {
    const name = uniq("empty");
    await client.setSecret(name, "");
    assert.equal((await client.getSecret(name)).value, "");
  });

  it("gets specific versions", async () => {
    const name = uniq("ver");
    const v1 = await client.setSecret(name, "one");
    const v2 = await client.setSecret(name, "two");
    assert.notEqual(v1.properties.version, v2.properties.version);
    assert.equal((await client.getSecret(name, { version: v1.properties.version })).value, "one");
    assert.equal((await client.getSecret(name, { version: v2.properties.version })).value, "two");
    assert.equal((await client.getSecret(name)).properties.version, v2.properties.version);
  });

  it("answers 404 SecretNotFound for a missing secret or version", async () => {
    const e = await expectRestError(client.getSecret(uniq("missing")), 404);
    assert.equal(e.code, "SecretNotFound");
    const name = uniq("missingver");
    await client.setSecret(name, "v");
    await expectRestError(client.getSecret(name, { version: "0".repeat(32) }), 404);
  });

  it("lists versions, paging with maxPageSize", async () => {
    const name = uniq("verpage");
    const ids = new Set();
    for (let i = 0; i < 27; i++) ids.add((await client.setSecret(name, `v${i}`)).properties.version);
    const ps = await pages(client.listPropertiesOfSecretVersions(name), { maxPageSize: 10 });
    assert.ok(ps.every((p) => p.length <= 10), ps.map((p) => p.length).join(","));
    assert.ok(ps.length >= 3);
    const got = ps.flat();
    assert.equal(got.length, 27);
    assert.deepEqual(new Set(got.map((p) => p.version)), ids);
    for (const p of got) {
      assert.equal(p.name, name);
      assert.ok(p.id.startsWith(`${VAULT_URL}/secrets/${name}/`), p.id);
    }
    const all = await collect(client.listPropertiesOfSecretVersions(name));
    assert.equal(all.length, 27);
  });
});

describe("listing and paging", () => {
  const prefix = uniq("page");
  const names = Array.from({ length: 30 }, (_, i) => `${prefix}-${String(i).padStart(2, "0")}`);
  before(async () => {
    for (const n of names) await client.setSecret(n, "x", { tags: { batch: prefix } });
  });

  it("pages over more than 25 secrets with the default page size", async () => {
    const ps = await pages(client.listPropertiesOfSecrets());
    assert.ok(ps.every((p) => p.length <= 25), ps.map((p) => p.length).join(","));
    assert.ok(ps.length >= 2, "more than 25 secrets must take more than one page");
    const listed = new Set(ps.flat().map((p) => p.name));
    for (const n of names) assert.ok(listed.has(n), n);
  });

  it("honours maxPageSize (maxresults) and never repeats an item", async () => {
    const ps = await pages(client.listPropertiesOfSecrets(), { maxPageSize: 7 });
    assert.ok(ps.every((p) => p.length <= 7), ps.map((p) => p.length).join(","));
    assert.ok(ps.length >= 5);
    const all = ps.flat().map((p) => p.name);
    assert.equal(all.length, new Set(all).size);
    for (const n of names) assert.ok(all.includes(n), n);
  });

  it("list items carry properties and no value", async () => {
    const items = await collect(client.listPropertiesOfSecrets());
    const it0 = items.find((p) => p.name === names[0]);
    assert.ok(it0);
    assert.equal(it0.id, `${VAULT_URL}/secrets/${names[0]}`);
    assert.equal(it0.enabled, true);
    assert.deepEqual(it0.tags, { batch: prefix });
    assert.equal(it0.value, undefined);
  });
});

describe("update properties and disabled secrets", () => {
  it("updates enabled, contentType, tags, notBefore and expiresOn", async () => {
    const name = uniq("upd");
    const s = await client.setSecret(name, "v", { contentType: "a", tags: { k: "v" } });
    const nbf = new Date(Date.UTC(2021, 5, 1));
    const exp = new Date(Date.UTC(2037, 5, 1, 12, 30)); // < 2038, see "sets not-before and expiry"
    const p = await client.updateSecretProperties(name, s.properties.version, {
      contentType: "b",
      tags: { x: "y" },
      notBefore: nbf,
      expiresOn: exp,
      enabled: true,
    });
    assert.equal(p.version, s.properties.version);
    assert.equal(p.contentType, "b");
    assert.deepEqual(p.tags, { x: "y" });
    assert.equal(p.notBefore.getTime(), nbf.getTime());
    assert.equal(p.expiresOn.getTime(), exp.getTime());
    assert.equal(p.createdOn.getTime(), s.properties.createdOn.getTime());
    const g = await client.getSecret(name);
    assert.equal(g.value, "v");
    assert.equal(g.properties.contentType, "b");
    assert.deepEqual(g.properties.tags, { x: "y" });
  });

  it("updates the latest version when the version is empty", async () => {
    const name = uniq("updlatest");
    await client.setSecret(name, "v1", { tags: { n: "1" } });
    const v2 = await client.setSecret(name, "v2", { tags: { n: "2" } });
    const p = await client.updateSecretProperties(name, "", { tags: { n: "latest" } });
    assert.equal(p.version, v2.properties.version);
    assert.deepEqual((await client.getSecret(name)).properties.tags, { n: "latest" });
  });

  it("refuses to get a disabled secret with 403", async () => {
    const name = uniq("disabled");
    const s = await client.setSecret(name, "v");
    const p = await client.updateSecretProperties(name, s.properties.version, { enabled: false });
    assert.equal(p.enabled, false);
    await expectRestError(client.getSecret(name), 403, /not allowed on a disabled secret/);
    await expectRestError(client.getSecret(name, { version: s.properties.version }), 403, /not allowed on a disabled secret/);
    const [item] = await collect(client.listPropertiesOfSecretVersions(name));
    assert.equal(item.enabled, false);
    await client.updateSecretProperties(name, s.properties.version, { enabled: true });
    assert.equal((await client.getSecret(name)).value, "v");
  });

  it("answers 404 when updating a missing secret", async () => {
    await expectRestError(client.updateSecretProperties(uniq("updmissing"), "", { enabled: false }), 404);
  });
});

describe("soft delete, recover and purge", () => {
  it("deletes, gets and lists the deleted secret, then recovers it", async () => {
    const name = uniq("del");
    const s = await client.setSecret(name, "v", { contentType: "ct", tags: { a: "b" } });
    const d = await del(name);
    assert.equal(d.name, name);
    assert.equal(d.properties.id, s.properties.id);
    assert.equal(d.recoveryId, `${VAULT_URL}/deletedsecrets/${name}`);
    assert.ok(d.deletedOn instanceof Date && d.scheduledPurgeDate instanceof Date);
    assert.equal(d.scheduledPurgeDate.getTime() - d.deletedOn.getTime(), 90 * DAY_MS);

    await expectRestError(client.getSecret(name), 404);

    const gd = await client.getDeletedSecret(name);
    assert.equal(gd.properties.id, s.properties.id);
    assert.equal(gd.recoveryId, d.recoveryId);
    assert.equal(gd.properties.contentType, "ct");
    assert.deepEqual(gd.properties.tags, { a: "b" });
    assert.equal(gd.properties.createdOn.getTime(), s.properties.createdOn.getTime());

    const deleted = await collect(client.listDeletedSecrets());
    assert.ok(deleted.some((x) => x.name === name));
    const live = await collect(client.listPropertiesOfSecrets());
    assert.ok(!live.some((x) => x.name === name));

    const r = await recover(name);
    assert.equal(r.name, name);
    const g = await client.getSecret(name);
    assert.equal(g.value, "v");
    assert.equal(g.properties.id, s.properties.id);
    assert.equal(g.properties.createdOn.getTime(), s.properties.createdOn.getTime());
    assert.equal(g.properties.updatedOn.getTime(), s.properties.updatedOn.getTime());
    await expectRestError(client.getDeletedSecret(name), 404);
  });

  it("refuses to set a soft-deleted name with 409 Conflict", async () => {
    const name = uniq("conflict");
    await client.setSecret(name, "v");
    await del(name);
    const e = await expectRestError(
      client.setSecret(name, "again"),
      409,
      `Secret ${name} is currently in a deleted but recoverable state`,
    );
    assert.equal(e.code, "Conflict");
  });

  it("purges a deleted secret and frees its name", async () => {
    const name = uniq("purge");
    await client.setSecret(name, "old");
    await del(name);
    await client.purgeDeletedSecret(name);
    await expectRestError(client.getDeletedSecret(name), 404);
    const s = await client.setSecret(name, "new");
    assert.equal((await client.getSecret(name)).value, "new");
    const vs = await collect(client.listPropertiesOfSecretVersions(name));
    assert.deepEqual(vs.map((v) => v.version), [s.properties.version]);
  });

  it("answers 404 for delete, purge, recover and get-deleted of missing names", async () => {
    await expectRestError(client.beginDeleteSecret(uniq("delmissing"), POLL), 404);
    await expectRestError(client.purgeDeletedSecret(uniq("purgemissing")), 404);
    await expectRestError(client.beginRecoverDeletedSecret(uniq("recmissing"), POLL), 404);
    await expectRestError(client.getDeletedSecret(uniq("gdmissing")), 404);
  });

  it("pages deleted secrets with maxPageSize", async () => {
    const prefix = uniq("ldel");
    const names = Array.from({ length: 5 }, (_, i) => `${prefix}-${i}`);
    for (const n of names) {
      await client.setSecret(n, "v");
      await del(n);
    }
    const ps = await pages(client.listDeletedSecrets(), { maxPageSize: 2 });
    assert.ok(ps.every((p) => p.length <= 2), ps.map((p) => p.length).join(","));
    const got = ps.flat();
    for (const n of names) assert.ok(got.some((d) => d.name === n), n);
    for (const d of got.filter((d) => names.includes(d.name))) {
      assert.ok(d.recoveryId.endsWith(`/deletedsecrets/${d.name}`));
      assert.ok(d.deletedOn instanceof Date && d.scheduledPurgeDate instanceof Date);
    }
    for (const n of names) await client.purgeDeletedSecret(n);
  });
});

describe("backup and restore", () => {
  it("backs up, refuses restore onto an existing name, restores after purge", async () => {
    const name = uniq("bak");
    const v1 = await client.setSecret(name, "one", { contentType: "ct1" });
    const v2 = await client.setSecret(name, "two");
    const blob = await client.backupSecret(name);
    assert.ok(blob instanceof Uint8Array && blob.length > 0);

    await expectRestError(client.restoreSecretBackup(blob), 409);

    await purgeAll(name);
    await expectRestError(client.getSecret(name), 404);

    const p = await client.restoreSecretBackup(blob);
    assert.equal(p.name, name);
    assert.equal(p.id, v2.properties.id);
    assert.equal((await client.getSecret(name)).value, "two");
    const g1 = await client.getSecret(name, { version: v1.properties.version });
    assert.equal(g1.value, "one");
    assert.equal(g1.properties.contentType, "ct1");
    const vs = await collect(client.listPropertiesOfSecretVersions(name));
    assert.deepEqual(new Set(vs.map((v) => v.version)), new Set([v1.properties.version, v2.properties.version]));
  });

  it("answers 404 when backing up a missing secret", async () => {
    await expectRestError(client.backupSecret(uniq("bakmissing")), 404);
  });

  it("answers 400 for a corrupt backup", async () => {
    await expectRestError(client.restoreSecretBackup(new TextEncoder().encode("not a backup")), 400);
  });
});

describe("api-versions the SDK can select", () => {
  for (const serviceVersion of ["7.0", "7.1", "7.2", "7.3", "7.4", "7.5", "7.6", "2025-07-01", "2026-04-01"]) {
    it(`works with serviceVersion ${serviceVersion}`, async () => {
      const c = new SecretClient(VAULT_URL, credential, { serviceVersion });
      const name = uniq("api");
      const s = await c.setSecret(name, `value-${serviceVersion}`);
      assert.equal((await c.getSecret(name)).value, `value-${serviceVersion}`);
      assert.equal((await c.getSecret(name, { version: s.properties.version })).properties.id, s.properties.id);
    });
  }
});

after(() => {
  // nothing to close: the runner owns the server
});
