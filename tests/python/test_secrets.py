"""Arca secrets conformance, driven by the official azure-keyvault-secrets SecretClient.

Every secrets data-plane operation is exercised through the unmodified SDK with
DefaultAzureCredential configured only by `arca env` (see conftest.py); a few
wire details the SDK hides (challenge header, nextLink) are checked with plain
HTTP requests. TLS verification and challenge-resource verification stay on.
"""
from __future__ import annotations

import datetime as dt
import re
import urllib.parse
import uuid

import pytest
import requests
from azure.core.credentials import AccessToken
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
)
from azure.identity import ClientSecretCredential, DefaultAzureCredential, ManagedIdentityCredential
from azure.keyvault.secrets import ApiVersion, SecretClient

HEX32 = re.compile(r"^[0-9a-f]{32}$")
NINETY_DAYS = dt.timedelta(days=90)


def uniq(prefix: str) -> str:
    """A fresh, valid secret name (names are [0-9a-zA-Z-]+)."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="session")
def credential(arca):
    cred = DefaultAzureCredential()
    yield cred
    cred.close()


@pytest.fixture(scope="session")
def client(arca, credential) -> SecretClient:
    c = SecretClient(vault_url=arca.vault_url, credential=credential)
    yield c
    c.close()


@pytest.fixture(scope="session")
def token(arca, credential) -> str:
    """A bearer token for raw HTTP checks, for the scope the challenge names."""
    r = requests.get(f"{arca.vault_url}/secrets?api-version=7.6", verify=arca.ca, timeout=10)
    assert r.status_code == 401, r.text
    resource = parse_challenge(r.headers["WWW-Authenticate"])["resource"]
    return credential.get_token(resource + "/.default").token


def parse_challenge(header: str) -> dict[str, str]:
    assert header.startswith("Bearer "), header
    out = {}
    for part in header[len("Bearer "):].split(", "):
        k, _, v = part.partition("=")
        assert v.startswith('"') and v.endswith('"'), f"unquoted value in {header!r}"
        out[k] = v[1:-1]
    return out


def expect_http_error(excinfo, status: int, *fragments: str) -> None:
    err = excinfo.value
    assert err.status_code == status, f"expected HTTP {status}, got {err.status_code}: {err}"
    text = str(err)
    for f in fragments:
        assert f.lower() in text.lower(), f"{f!r} not in error: {text}"


def delete_and_wait(client: SecretClient, name: str):
    return client.begin_delete_secret(name).result()


def purge_all(client: SecretClient, *names: str) -> None:
    for n in names:
        delete_and_wait(client, n)
        client.purge_deleted_secret(n)


# --------------------------------------------------------------------------------------
# authentication and the challenge
# --------------------------------------------------------------------------------------


class TestAuthentication:
    def test_unauthenticated_get_gets_401_challenge(self, arca):
        r = requests.get(f"{arca.vault_url}/secrets?api-version=7.6", verify=arca.ca, timeout=10)
        assert r.status_code == 401, r.text
        header = r.headers.get("WWW-Authenticate", "")
        ch = parse_challenge(header)
        port = urllib.parse.urlsplit(arca.vault_url).port
        parent = arca.vault_host.split(".", 1)[1]
        expected_resource = f"https://{parent}" + (f":{port}" if port else "")
        assert expected_resource == arca.resource
        assert ch.get("resource") == expected_resource, header
        assert ch.get("authorization") == f"{arca.authority}/{arca.env['ARCA_TENANT_ID']}", header
        assert header == (f'Bearer authorization="{arca.authority}/{arca.env["ARCA_TENANT_ID"]}", '
                          f'resource="{expected_resource}"')
        assert r.json()["error"]["code"] == "Unauthorized", r.text

    def test_unauthenticated_put_without_body_is_401_not_400(self, arca):
        # the SDKs' first (probe) request carries no body
        r = requests.put(f"{arca.vault_url}/secrets/probe?api-version=7.6", data=b"",
                         headers={"Content-Length": "0"}, verify=arca.ca, timeout=10)
        assert r.status_code == 401, r.text
        assert "WWW-Authenticate" in r.headers

    def test_bad_bearer_token_is_401(self, arca):
        r = requests.get(f"{arca.vault_url}/secrets?api-version=7.6", verify=arca.ca, timeout=10,
                         headers={"Authorization": "Bearer not-a-real-token"})
        assert r.status_code == 401, r.text

    def test_valid_token_is_accepted_raw(self, arca, token):
        r = requests.get(f"{arca.vault_url}/secrets?api-version=7.6", verify=arca.ca, timeout=10,
                         headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.text
        assert "value" in r.json()

    def test_sdk_with_bogus_token_gets_client_authentication_error(self, arca):
        class BogusCredential:
            def get_token(self, *scopes, **kwargs):
                return AccessToken("bogus." + uuid.uuid4().hex, int(dt.datetime.now().timestamp()) + 3600)

        with SecretClient(arca.vault_url, BogusCredential()) as c:
            with pytest.raises(ClientAuthenticationError) as ei:
                c.get_secret("anything")
        assert ei.value.status_code == 401

    def test_client_secret_credential_with_adfs_tenant(self, arca):
        cred = ClientSecretCredential("adfs", arca.env["AZURE_CLIENT_ID"], arca.env["AZURE_CLIENT_SECRET"],
                                      authority=arca.authority)
        with SecretClient(arca.vault_url, cred) as c:
            name = uniq("csc")
            assert c.set_secret(name, "v1").value == "v1"
            assert c.get_secret(name).value == "v1"
        cred.close()

    def test_managed_identity_credential(self, arca):
        cred = ManagedIdentityCredential()  # App Service protocol: IDENTITY_ENDPOINT + IDENTITY_HEADER
        with SecretClient(arca.vault_url, cred) as c:
            name = uniq("mi")
            assert c.set_secret(name, "v-mi").value == "v-mi"
            assert c.get_secret(name).value == "v-mi"
        cred.close()


# --------------------------------------------------------------------------------------
# set / get / versions
# --------------------------------------------------------------------------------------


def test_set_and_get_latest(arca, client):
    name = uniq("setget")
    s = client.set_secret(name, "arca-canary-hunter2", content_type="text/plain", tags={"env": "test", "team": "arca"})
    assert s.name == name
    assert s.value == "arca-canary-hunter2"
    assert s.properties.vault_url == arca.vault_url
    assert s.id == f"{arca.vault_url}/secrets/{name}/{s.properties.version}"
    assert HEX32.match(s.properties.version), s.properties.version
    assert s.properties.enabled is True
    assert s.properties.content_type == "text/plain"
    assert s.properties.tags == {"env": "test", "team": "arca"}
    assert s.properties.recovery_level == "Recoverable+Purgeable"
    assert s.properties.recoverable_days == 90
    assert isinstance(s.properties.created_on, dt.datetime)
    assert s.properties.created_on == s.properties.updated_on
    assert abs(s.properties.created_on - dt.datetime.now(dt.timezone.utc)) < dt.timedelta(minutes=5)

    g = client.get_secret(name)
    assert g.value == "arca-canary-hunter2"
    assert g.id == s.id
    assert g.properties.created_on == s.properties.created_on
    assert g.properties.updated_on == s.properties.updated_on
    assert g.properties.tags == s.properties.tags
    assert g.properties.content_type == "text/plain"


def test_set_with_attributes(client):
    name = uniq("attrs")
    nbf, exp = utc(2020, 1, 2, 3, 4, 5), utc(2099, 12, 31, 23, 59, 59)
    s = client.set_secret(name, "v", not_before=nbf, expires_on=exp, enabled=True)
    assert s.properties.not_before == nbf
    assert s.properties.expires_on == exp
    g = client.get_secret(name)
    assert g.properties.not_before == nbf
    assert g.properties.expires_on == exp


def test_empty_and_unicode_values(client):
    name = uniq("vals")
    assert client.set_secret(name, "").value == ""
    assert client.get_secret(name).value == ""
    weird = 'päss wörd ✓ "quotes" \\ \n newline {json: true}'
    client.set_secret(name, weird)
    assert client.get_secret(name).value == weird


def test_get_specific_versions(client):
    name = uniq("ver")
    v1 = client.set_secret(name, "one")
    v2 = client.set_secret(name, "two")
    v3 = client.set_secret(name, "three")
    assert len({v1.properties.version, v2.properties.version, v3.properties.version}) == 3
    assert client.get_secret(name, v1.properties.version).value == "one"
    assert client.get_secret(name, v2.properties.version).value == "two"
    assert client.get_secret(name, v3.properties.version).value == "three"
    assert client.get_secret(name).value == "three"
    assert client.get_secret(name).properties.version == v3.properties.version
    got = client.get_secret(name, v1.properties.version)
    assert got.id == v1.id
    assert got.properties.created_on == v1.properties.created_on


def test_get_missing_secret_and_version_is_404(client):
    with pytest.raises(ResourceNotFoundError) as ei:
        client.get_secret(uniq("missing"))
    expect_http_error(ei, 404)
    assert ei.value.error is not None and ei.value.error.code == "SecretNotFound", str(ei.value)
    name = uniq("missingver")
    client.set_secret(name, "v")
    with pytest.raises(ResourceNotFoundError) as ei:
        client.get_secret(name, "0" * 32)
    expect_http_error(ei, 404)


def test_list_versions(arca, client):
    name = uniq("listver")
    created = [client.set_secret(name, f"v{i}") for i in range(4)]
    versions = list(client.list_properties_of_secret_versions(name))
    assert sorted(v.version for v in versions) == sorted(c.properties.version for c in created)
    for v in versions:
        assert v.name == name
        assert v.id.startswith(f"{arca.vault_url}/secrets/{name}/")
        assert v.enabled is True


def test_list_versions_paging(client):
    name = uniq("verpage")
    ids = {client.set_secret(name, f"v{i}").properties.version for i in range(27)}
    pages = [list(p) for p in client.list_properties_of_secret_versions(name, max_page_size=10).by_page()]
    assert sum(len(p) for p in pages) == 27
    assert all(len(p) <= 10 for p in pages), [len(p) for p in pages]
    assert len(pages) >= 3
    assert {v.version for p in pages for v in p} == ids
    # default page size (25) still yields everything over >= 2 pages
    pages = [list(p) for p in client.list_properties_of_secret_versions(name).by_page()]
    assert all(len(p) <= 25 for p in pages)
    assert len([v for p in pages for v in p]) == 27


# --------------------------------------------------------------------------------------
# listing and paging
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def thirty_secrets(client):
    prefix = uniq("page")
    names = [f"{prefix}-{i:02d}" for i in range(30)]
    for n in names:
        client.set_secret(n, "x", tags={"batch": prefix})
    return names


def test_list_secrets_default_paging(client, thirty_secrets):
    pages = [list(p) for p in client.list_properties_of_secrets().by_page()]
    assert all(len(p) <= 25 for p in pages), [len(p) for p in pages]
    listed = {s.name for p in pages for s in p}
    assert set(thirty_secrets) <= listed
    assert len(pages) >= 2, "more than 25 secrets must take more than one page"


def test_list_secrets_maxresults(client, thirty_secrets):
    pager = client.list_properties_of_secrets(max_page_size=7).by_page()
    pages = [list(p) for p in pager]
    assert all(len(p) <= 7 for p in pages), [len(p) for p in pages]
    names = [s.name for p in pages for s in p]
    assert len(names) == len(set(names)), "an item was listed twice across pages"
    assert set(thirty_secrets) <= set(names)
    assert len(pages) >= 5


def test_list_items_have_properties_not_values(arca, client, thirty_secrets):
    items = {s.name: s for s in client.list_properties_of_secrets()}
    s = items[thirty_secrets[0]]
    assert s.id == f"{arca.vault_url}/secrets/{thirty_secrets[0]}"
    assert s.enabled is True
    assert s.tags == {"batch": thirty_secrets[0].rsplit("-", 1)[0]}
    assert s.created_on is not None and s.updated_on is not None


def test_raw_list_page_shape_and_next_link(arca, token, thirty_secrets):
    h = {"Authorization": f"Bearer {token}"}
    r = requests.get(f"{arca.vault_url}/secrets?api-version=7.6&maxresults=5", headers=h,
                     verify=arca.ca, timeout=10)
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["value"]) <= 5
    nl = body.get("nextLink")
    assert nl, body
    assert urllib.parse.urlsplit(nl).scheme == "https", nl
    assert urllib.parse.urlsplit(nl).hostname == arca.vault_host, nl
    for item in body["value"]:
        assert "value" not in item, item
        assert item["id"].startswith(f"{arca.vault_url}/secrets/"), item
    seen, pages, url = [], 0, f"{arca.vault_url}/secrets?api-version=7.6&maxresults=5"
    while url and pages < 100:
        r = requests.get(url, headers=h, verify=arca.ca, timeout=10)
        assert r.status_code == 200, (url, r.text)
        seen += [i["id"] for i in r.json()["value"]]
        url = r.json().get("nextLink")
        pages += 1
    assert len(seen) == len(set(seen))
    assert {f"{arca.vault_url}/secrets/{n}" for n in thirty_secrets} <= set(seen)


@pytest.mark.parametrize("bad", ["0", "26", "abc"])
def test_raw_list_rejects_out_of_range_maxresults(arca, token, bad):
    r = requests.get(f"{arca.vault_url}/secrets?api-version=7.6&maxresults={bad}",
                     headers={"Authorization": f"Bearer {token}"}, verify=arca.ca, timeout=10)
    assert r.status_code == 400, r.text
    assert "error" in r.json()


# --------------------------------------------------------------------------------------
# update properties, disabled secrets
# --------------------------------------------------------------------------------------


def test_update_properties(client):
    name = uniq("upd")
    s = client.set_secret(name, "v", content_type="a", tags={"k": "v"})
    nbf, exp = utc(2021, 6, 1, 0, 0, 0), utc(2098, 6, 1, 12, 30, 0)
    p = client.update_secret_properties(name, content_type="b", tags={"x": "y", "z": "w"},
                                        not_before=nbf, expires_on=exp)
    assert p.version == s.properties.version
    assert p.content_type == "b"
    assert p.tags == {"x": "y", "z": "w"}
    assert p.not_before == nbf and p.expires_on == exp
    assert p.created_on == s.properties.created_on
    assert p.updated_on >= s.properties.updated_on
    g = client.get_secret(name)
    assert g.value == "v"  # the value is never changed by an update
    assert g.properties.content_type == "b"
    assert g.properties.tags == {"x": "y", "z": "w"}
    assert g.properties.not_before == nbf and g.properties.expires_on == exp


def test_update_specific_version_only(client):
    name = uniq("updver")
    v1 = client.set_secret(name, "one", tags={"n": "1"})
    v2 = client.set_secret(name, "two", tags={"n": "2"})
    client.update_secret_properties(name, v1.properties.version, tags={"n": "changed"})
    assert client.get_secret(name, v1.properties.version).properties.tags == {"n": "changed"}
    assert client.get_secret(name, v2.properties.version).properties.tags == {"n": "2"}
    assert client.get_secret(name).properties.tags == {"n": "2"}


def test_update_missing_secret_is_404(client):
    with pytest.raises(ResourceNotFoundError) as ei:
        client.update_secret_properties(uniq("updmissing"), enabled=False)
    expect_http_error(ei, 404)


def test_disabled_secret_get_is_403(client):
    name = uniq("disabled")
    s = client.set_secret(name, "v")
    p = client.update_secret_properties(name, enabled=False)
    assert p.enabled is False
    with pytest.raises(HttpResponseError) as ei:
        client.get_secret(name)
    expect_http_error(ei, 403, "not allowed on a disabled secret")
    with pytest.raises(HttpResponseError) as ei:
        client.get_secret(name, s.properties.version)
    expect_http_error(ei, 403, "not allowed on a disabled secret")
    # still listed, with enabled=false
    (item,) = [x for x in client.list_properties_of_secret_versions(name)]
    assert item.enabled is False
    # re-enable and read again
    assert client.update_secret_properties(name, enabled=True).enabled is True
    assert client.get_secret(name).value == "v"


def test_set_disabled_secret(client):
    name = uniq("setdisabled")
    s = client.set_secret(name, "v", enabled=False)
    assert s.properties.enabled is False
    with pytest.raises(HttpResponseError) as ei:
        client.get_secret(name)
    expect_http_error(ei, 403, "not allowed on a disabled secret")


# --------------------------------------------------------------------------------------
# soft delete, recover, purge
# --------------------------------------------------------------------------------------


def test_delete_get_deleted_recover(arca, client):
    name = uniq("del")
    s = client.set_secret(name, "v", content_type="ct", tags={"a": "b"})
    before = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    d = delete_and_wait(client, name)
    assert d.name == name
    assert d.id == s.id
    assert d.recovery_id == f"{arca.vault_url}/deletedsecrets/{name}"
    assert d.deleted_date is not None and d.scheduled_purge_date is not None
    assert d.deleted_date >= before - dt.timedelta(seconds=5)
    assert d.scheduled_purge_date - d.deleted_date == NINETY_DAYS
    assert d.properties.content_type == "ct"
    assert d.properties.tags == {"a": "b"}

    with pytest.raises(ResourceNotFoundError) as ei:
        client.get_secret(name)
    expect_http_error(ei, 404)

    gd = client.get_deleted_secret(name)
    assert gd.id == s.id
    assert gd.recovery_id == d.recovery_id
    assert gd.deleted_date == d.deleted_date
    assert gd.scheduled_purge_date == d.scheduled_purge_date
    assert gd.properties.created_on == s.properties.created_on
    assert gd.properties.updated_on == s.properties.updated_on
    assert gd.properties.recovery_level == s.properties.recovery_level

    assert name in {x.name for x in client.list_deleted_secrets()}
    assert name not in {x.name for x in client.list_properties_of_secrets()}

    r = client.begin_recover_deleted_secret(name).result()
    assert r.name == name
    assert r.id == s.id
    g = client.get_secret(name)
    assert g.value == "v"
    assert g.id == s.id
    assert g.properties.created_on == s.properties.created_on
    assert g.properties.updated_on == s.properties.updated_on
    assert g.properties.recovery_level == s.properties.recovery_level
    assert g.properties.recoverable_days == s.properties.recoverable_days
    with pytest.raises(ResourceNotFoundError):
        client.get_deleted_secret(name)
    assert name not in {x.name for x in client.list_deleted_secrets()}


def test_recover_keeps_all_versions(client):
    name = uniq("delver")
    vs = {client.set_secret(name, f"v{i}").properties.version for i in range(3)}
    delete_and_wait(client, name)
    client.begin_recover_deleted_secret(name).result()
    assert {v.version for v in client.list_properties_of_secret_versions(name)} == vs


def test_set_on_soft_deleted_name_is_409(client):
    name = uniq("conflict")
    client.set_secret(name, "v")
    delete_and_wait(client, name)
    with pytest.raises(HttpResponseError) as ei:
        client.set_secret(name, "again")
    expect_http_error(ei, 409, f"Secret {name} is currently in a deleted but recoverable state")
    assert ei.value.error is not None and ei.value.error.code == "Conflict", str(ei.value)
    assert "(Conflict)" in str(ei.value)


def test_purge(client):
    name = uniq("purge")
    client.set_secret(name, "old")
    delete_and_wait(client, name)
    client.purge_deleted_secret(name)
    with pytest.raises(ResourceNotFoundError) as ei:
        client.get_deleted_secret(name)
    expect_http_error(ei, 404)
    assert name not in {x.name for x in client.list_deleted_secrets()}
    # the name is free again
    s = client.set_secret(name, "new")
    assert client.get_secret(name).value == "new"
    assert [v.version for v in client.list_properties_of_secret_versions(name)] == [s.properties.version]


def test_delete_missing_and_purge_missing_are_404(client):
    with pytest.raises(ResourceNotFoundError) as ei:
        client.begin_delete_secret(uniq("delmissing"))
    expect_http_error(ei, 404)
    with pytest.raises(ResourceNotFoundError) as ei:
        client.purge_deleted_secret(uniq("purgemissing"))
    expect_http_error(ei, 404)
    with pytest.raises(ResourceNotFoundError) as ei:
        client.begin_recover_deleted_secret(uniq("recmissing"))
    expect_http_error(ei, 404)
    with pytest.raises(ResourceNotFoundError) as ei:
        client.get_deleted_secret(uniq("gdmissing"))
    expect_http_error(ei, 404)


def test_list_deleted_secrets_paging(client):
    prefix = uniq("ldel")
    names = [f"{prefix}-{i}" for i in range(5)]
    for n in names:
        client.set_secret(n, "v")
        delete_and_wait(client, n)
    pages = [list(p) for p in client.list_deleted_secrets(max_page_size=2).by_page()]
    assert all(len(p) <= 2 for p in pages), [len(p) for p in pages]
    got = [d for p in pages for d in p]
    assert set(names) <= {d.name for d in got}
    for d in got:
        if d.name in names:
            assert d.recovery_id.endswith(f"/deletedsecrets/{d.name}")
            assert d.deleted_date is not None and d.scheduled_purge_date is not None
    for n in names:
        client.purge_deleted_secret(n)


# --------------------------------------------------------------------------------------
# backup / restore
# --------------------------------------------------------------------------------------


def test_backup_restore(arca, client):
    name = uniq("bak")
    v1 = client.set_secret(name, "one", content_type="ct1", tags={"t": "1"})
    v2 = client.set_secret(name, "two")
    blob = client.backup_secret(name)
    assert isinstance(blob, bytes) and len(blob) > 0

    # restoring onto an existing name fails
    with pytest.raises(ResourceExistsError) as ei:
        client.restore_secret_backup(blob)
    expect_http_error(ei, 409)

    purge_all(client, name)
    with pytest.raises(ResourceNotFoundError):
        client.get_secret(name)

    p = client.restore_secret_backup(blob)
    assert p.name == name
    assert p.id == v2.id
    assert p.vault_url == arca.vault_url
    assert client.get_secret(name).value == "two"
    assert client.get_secret(name, v1.properties.version).value == "one"
    g1 = client.get_secret(name, v1.properties.version)
    assert g1.properties.content_type == "ct1" and g1.properties.tags == {"t": "1"}
    assert g1.properties.created_on == v1.properties.created_on
    assert {v.version for v in client.list_properties_of_secret_versions(name)} == {
        v1.properties.version, v2.properties.version}


def test_restore_onto_soft_deleted_name_is_409(client):
    name = uniq("baksd")
    client.set_secret(name, "v")
    blob = client.backup_secret(name)
    delete_and_wait(client, name)
    with pytest.raises(HttpResponseError) as ei:
        client.restore_secret_backup(blob)
    expect_http_error(ei, 409)
    client.purge_deleted_secret(name)
    assert client.restore_secret_backup(blob).name == name


def test_backup_missing_is_404(client):
    with pytest.raises(ResourceNotFoundError) as ei:
        client.backup_secret(uniq("bakmissing"))
    expect_http_error(ei, 404)


def test_restore_garbage_is_400(client):
    with pytest.raises(HttpResponseError) as ei:
        client.restore_secret_backup(b"this is not a backup")
    expect_http_error(ei, 400)


# --------------------------------------------------------------------------------------
# api-versions: every version this SDK knows must work
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("api_version", [v.value for v in ApiVersion])
def test_every_sdk_api_version(arca, credential, api_version):
    with SecretClient(arca.vault_url, credential, api_version=api_version) as c:
        name = uniq("api")
        s = c.set_secret(name, f"value-{api_version}")
        assert c.get_secret(name).value == f"value-{api_version}"
        assert c.get_secret(name, s.properties.version).id == s.id
        assert name in {p.name for p in c.list_properties_of_secrets()}


# --------------------------------------------------------------------------------------
# wire-fidelity details (shared/fidelity-traps.md)
# --------------------------------------------------------------------------------------


def test_expired_and_not_yet_valid_secrets_can_still_be_read(client):
    # Key Vault docs (about-secrets, "Date-time controlled operations"): a secret's get
    # works for not-yet-valid and expired secrets; nbf/exp are informational.
    name = uniq("expired")
    client.set_secret(name, "old", expires_on=utc(2001, 1, 1))
    assert client.get_secret(name).value == "old"
    name = uniq("notyet")
    client.set_secret(name, "future", not_before=utc(2090, 1, 1))
    assert client.get_secret(name).value == "future"


@pytest.mark.parametrize("bad", ["under_score", "dot.name", "sp ace"])
def test_invalid_secret_name_is_400(client, bad):
    with pytest.raises(HttpResponseError) as ei:
        client.set_secret(bad, "v")
    expect_http_error(ei, 400)


def test_unknown_newer_api_version_is_accepted(arca, token):
    # forward compatibility: a new SDK default must not get a 400 (LV#873)
    h = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    name = uniq("futureapi")
    r = requests.put(f"{arca.vault_url}/secrets/{name}?api-version=2099-01-01", json={"value": "v"},
                     headers=h, verify=arca.ca, timeout=10)
    assert r.status_code == 200, r.text
    r = requests.get(f"{arca.vault_url}/secrets/{name}/?api-version=2099-01-01-preview", headers=h,
                     verify=arca.ca, timeout=10)
    assert r.status_code == 200, r.text
    assert r.json()["value"] == "v"


def test_percent_encoded_api_version_key(arca, token):
    # @azure/keyvault-secrets sends api%2Dversion=...
    r = requests.get(f"{arca.vault_url}/secrets?api%2Dversion=7.6", headers={"Authorization": f"Bearer {token}"},
                     verify=arca.ca, timeout=10)
    assert r.status_code == 200, r.text


def test_put_without_content_type_header(arca, token):
    name = uniq("noct")
    r = requests.put(f"{arca.vault_url}/secrets/{name}?api-version=7.6", data=b'{"value":"v"}',
                     headers={"Authorization": f"Bearer {token}"}, verify=arca.ca, timeout=10)
    assert "Content-Type" not in r.request.headers
    assert r.status_code == 200, r.text
    assert r.json()["value"] == "v"


def test_literal_path_segments_are_case_insensitive(arca, token, client):
    name = uniq("case")
    client.set_secret(name, "v")
    h = {"Authorization": f"Bearer {token}"}
    r = requests.get(f"{arca.vault_url}/Secrets/{name}/?api-version=7.6", headers=h, verify=arca.ca, timeout=10)
    assert r.status_code == 200, r.text
    delete_and_wait(client, name)
    r = requests.get(f"{arca.vault_url}/deletedSecrets/{name}?api-version=7.6", headers=h, verify=arca.ca,
                     timeout=10)
    assert r.status_code == 200, r.text


def test_tampered_token_is_401(arca, token):
    parts = token.split(".")
    if len(parts) == 3 and len(parts[2]) > 4:
        sig = parts[2]
        parts[2] = sig[:-4] + ("AAAA" if sig[-4:] != "AAAA" else "BBBB")
        bad = ".".join(parts)
    else:
        bad = token[:-2] + ("xx" if not token.endswith("xx") else "yy")
    r = requests.get(f"{arca.vault_url}/secrets?api-version=7.6", headers={"Authorization": f"Bearer {bad}"},
                     verify=arca.ca, timeout=10)
    assert r.status_code == 401, r.text


def test_token_for_another_audience_is_401(arca, credential):
    try:
        other = credential.get_token(f"{arca.authority.replace('://', '://management.')}/.default").token
    except Exception as e:  # noqa: BLE001 - the token service may refuse unknown audiences: fine
        pytest.skip(f"token service refused a management-audience token: {e}")
    r = requests.get(f"{arca.vault_url}/secrets?api-version=7.6", headers={"Authorization": f"Bearer {other}"},
                     verify=arca.ca, timeout=10)
    assert r.status_code == 401, r.text


def test_negative_timestamps_are_not_mangled(arca, token):
    # @azure/keyvault-secrets 4.12 sends dates after 2038 as negative 32-bit seconds; whatever
    # Arca does with them, it must answer with a JSON error or store the value as sent.
    name = uniq("negexp")
    r = requests.put(f"{arca.vault_url}/secrets/{name}?api-version=7.6", json={"value": "v", "attributes": {"exp": -5}},
                     headers={"Authorization": f"Bearer {token}"}, verify=arca.ca, timeout=10)
    assert r.status_code in (200, 400), r.text
    if r.status_code == 200:
        assert r.json()["attributes"]["exp"] == -5, r.text
    else:
        assert "error" in r.json(), r.text


# --------------------------------------------------------------------------------------
# update semantics, versions, sizes, concurrency
# --------------------------------------------------------------------------------------


def test_update_keeps_omitted_fields(client):
    name = uniq("patch")
    exp = utc(2030, 1, 1)
    client.set_secret(name, "v", content_type="ct", tags={"a": "1"}, expires_on=exp)
    p = client.update_secret_properties(name, enabled=False)
    assert p.enabled is False
    assert p.content_type == "ct"
    assert p.tags == {"a": "1"}
    assert p.expires_on == exp
    p = client.update_secret_properties(name, tags={})
    assert not p.tags, p.tags  # an empty map replaces the tags
    assert p.content_type == "ct" and p.enabled is False


def test_new_version_does_not_inherit_attributes(client):
    name = uniq("inherit")
    client.set_secret(name, "v1", content_type="ct", tags={"a": "1"}, expires_on=utc(2030, 1, 1))
    s2 = client.set_secret(name, "v2")
    assert s2.properties.content_type is None
    assert not s2.properties.tags
    assert s2.properties.expires_on is None
    assert s2.properties.enabled is True


def test_large_value(client):
    name = uniq("large")
    value = "x" * (24 * 1024)
    client.set_secret(name, value)
    assert client.get_secret(name).value == value


def test_concurrent_sets_make_distinct_versions(client):
    from concurrent.futures import ThreadPoolExecutor

    name = uniq("conc")
    with ThreadPoolExecutor(max_workers=8) as ex:
        results = list(ex.map(lambda i: client.set_secret(name, f"v{i}"), range(16)))
    versions = {r.properties.version for r in results}
    assert len(versions) == 16
    assert {v.version for v in client.list_properties_of_secret_versions(name)} == versions
    latest = client.get_secret(name)
    assert latest.properties.version in versions


# --------------------------------------------------------------------------------------
# token service and managed identity
# --------------------------------------------------------------------------------------


def test_wrong_client_secret_is_refused(arca):
    cred = ClientSecretCredential("adfs", arca.env["AZURE_CLIENT_ID"], "arca-canary-wrong-" + uuid.uuid4().hex,
                                  authority=arca.authority)
    with SecretClient(arca.vault_url, cred) as c:
        with pytest.raises(ClientAuthenticationError):
            c.get_secret("anything")
    cred.close()


def test_unknown_client_id_is_refused(arca):
    cred = ClientSecretCredential("adfs", str(uuid.uuid4()), arca.env["AZURE_CLIENT_SECRET"], authority=arca.authority)
    with pytest.raises(ClientAuthenticationError):
        cred.get_token(f"{arca.resource}/.default")
    cred.close()


def test_guid_tenant_client_secret_credential(arca):
    # a client configured with the real tenant GUID (instance discovery off) also works
    cred = ClientSecretCredential(arca.env["ARCA_TENANT_ID"], arca.env["AZURE_CLIENT_ID"],
                                  arca.env["AZURE_CLIENT_SECRET"], authority=arca.authority,
                                  disable_instance_discovery=True)
    with SecretClient(arca.vault_url, cred) as c:
        name = uniq("guid")
        assert c.set_secret(name, "g").value == "g"
        assert c.get_secret(name).value == "g"
    cred.close()


def test_managed_identity_endpoint_requires_the_header(arca):
    ep = arca.env["IDENTITY_ENDPOINT"]
    resource = arca.resource
    params = {"api-version": "2019-08-01", "resource": resource}
    r = requests.get(ep, params=params, verify=arca.ca, timeout=10)
    assert 400 <= r.status_code < 500, r.text
    assert "access_token" not in r.text
    r = requests.get(ep, params=params, headers={"X-IDENTITY-HEADER": "arca-canary-wrong-header"}, verify=arca.ca, timeout=10)
    assert 400 <= r.status_code < 500, r.text
    assert "access_token" not in r.text
    r = requests.get(ep, params=params, headers={"X-IDENTITY-HEADER": arca.env["IDENTITY_HEADER"]},
                     verify=arca.ca, timeout=10)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "Bearer" and body["access_token"]
    assert int(body["expires_on"]) > dt.datetime.now().timestamp()


def test_token_for_resource_with_trailing_slash(arca, credential):
    # track-1 clients and az ask for "<resource>/" (scope "<resource>//.default")
    tok = credential.get_token(f"{arca.resource}//.default").token
    r = requests.get(f"{arca.vault_url}/secrets?api-version=7.6", headers={"Authorization": f"Bearer {tok}"},
                     verify=arca.ca, timeout=10)
    assert r.status_code == 200, r.text


def test_listens_on_ipv6_loopback(arca):
    import socket
    import ssl

    try:
        sock = socket.create_connection(("::1", arca.port), timeout=5)
    except OSError as e:
        if e.errno in (97, 99, 101):  # no IPv6 on this machine
            pytest.skip(f"no IPv6 loopback: {e}")
        raise
    ctx = ssl.create_default_context(cafile=arca.ca)
    with ctx.wrap_socket(sock, server_hostname=arca.vault_host) as tls:
        tls.sendall(f"GET /healthz HTTP/1.1\r\nHost: localhost:{arca.port}\r\nConnection: close\r\n\r\n".encode())
        head = tls.recv(64)
    assert head.startswith(b"HTTP/1.1 200"), head
