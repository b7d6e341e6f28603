"""Several vaults in one Arca deployment, driven by the official SecretClient.

conftest.py creates, before the first start: the default vault (90-day retention),
`arca2` (7-day retention) and `arcapp` (purge protection). Vaults are routed by host
name (NAME.vault.localhost:PORT) and must be fully isolated from each other.
"""
from __future__ import annotations

import datetime as dt
import socket
import urllib.parse
import uuid

import pytest
import requests
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.keyvault.secrets import SecretClient


def uniq(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def vault_client(arca):
    from azure.identity import DefaultAzureCredential

    cred = DefaultAzureCredential()
    clients = {}

    def get(name: str) -> SecretClient:
        if name not in clients:
            url = arca.url_of(name)
            host = urllib.parse.urlsplit(url).hostname
            try:
                socket.getaddrinfo(host, None)
            except socket.gaierror:
                pytest.skip(f"{host} does not resolve (add it to the hosts file in run.sh)")
            clients[name] = SecretClient(url, cred)
        return clients[name]

    yield get
    for c in clients.values():
        c.close()
    cred.close()


@pytest.fixture(scope="module")
def default_name(arca):
    return arca.env["KEY_VAULT_NAME"]


def test_each_vault_answers_its_own_challenge(arca):
    for name in ("arca2", "arcapp"):
        url = arca.url_of(name)
        r = requests.get(f"{url}/secrets?api-version=7.6", verify=arca.ca, timeout=10)
        assert r.status_code == 401, r.text
        assert f'resource="{arca.resource}"' in r.headers["WWW-Authenticate"]


def test_vaults_are_isolated(arca, vault_client, default_name):
    a, b = vault_client(default_name), vault_client("arca2")
    name = uniq("iso")
    sa = a.set_secret(name, "in-a")
    with pytest.raises(ResourceNotFoundError):
        b.get_secret(name)
    assert name not in {p.name for p in b.list_properties_of_secrets()}
    sb = b.set_secret(name, "in-b")
    assert sa.id.startswith(arca.url_of(default_name) + "/secrets/")
    assert sb.id.startswith(arca.url_of("arca2") + "/secrets/")
    assert a.get_secret(name).value == "in-a"
    assert b.get_secret(name).value == "in-b"
    b.begin_delete_secret(name).result()
    assert a.get_secret(name).value == "in-a"
    assert name not in {d.name for d in a.list_deleted_secrets()}
    assert name in {d.name for d in b.list_deleted_secrets()}


def test_custom_retention_days(vault_client):
    c = vault_client("arca2")
    name = uniq("ret7")
    s = c.set_secret(name, "v")
    assert s.properties.recoverable_days == 7
    assert s.properties.recovery_level == "CustomizedRecoverable+Purgeable"
    d = c.begin_delete_secret(name).result()
    assert d.scheduled_purge_date - d.deleted_date == dt.timedelta(days=7)
    c.purge_deleted_secret(name)


def test_purge_protection(vault_client):
    c = vault_client("arcapp")
    name = uniq("pp")
    s = c.set_secret(name, "v")
    assert s.properties.recoverable_days == 90
    assert s.properties.recovery_level == "Recoverable"
    c.begin_delete_secret(name).result()
    with pytest.raises(HttpResponseError) as ei:
        c.purge_deleted_secret(name)
    assert ei.value.status_code == 403, str(ei.value)
    # still there, and recoverable
    assert c.get_deleted_secret(name).name == name
    c.begin_recover_deleted_secret(name).result()
    assert c.get_secret(name).value == "v"


def test_restore_into_another_vault(arca, vault_client, default_name):
    a, b = vault_client(default_name), vault_client("arca2")
    name = uniq("xrestore")
    v1 = a.set_secret(name, "one")
    v2 = a.set_secret(name, "two")
    blob = a.backup_secret(name)
    p = b.restore_secret_backup(blob)
    assert p.name == name
    assert p.vault_url == arca.url_of("arca2")
    assert p.id == f"{arca.url_of('arca2')}/secrets/{name}/{v2.properties.version}"
    assert b.get_secret(name).value == "two"
    assert b.get_secret(name, v1.properties.version).value == "one"
    # the restored secret takes the target vault's soft-delete settings
    assert b.get_secret(name).properties.recoverable_days == 7
    # and the source is untouched
    assert a.get_secret(name).value == "two"
