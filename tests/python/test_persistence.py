"""Arca keeps its state across restarts (its own server instances, not the session one)."""
from __future__ import annotations

import os
import tempfile
import uuid

import pytest
from azure.identity import ClientSecretCredential
from azure.keyvault.secrets import SecretClient

from conftest import _free_port, serve, stop


@pytest.fixture
def workdir():
    import shutil

    d = tempfile.mkdtemp(prefix="arca-persist-")
    yield d
    if os.environ.get("ARCA_KEEP_DATA") != "1":
        shutil.rmtree(d, ignore_errors=True)


def _client(a) -> tuple[SecretClient, ClientSecretCredential]:
    cred = ClientSecretCredential("adfs", a.env["AZURE_CLIENT_ID"], a.env["AZURE_CLIENT_SECRET"],
                                  authority=a.authority, connection_verify=a.ca)
    return SecretClient(a.vault_url, cred, connection_verify=a.ca), cred


def test_state_survives_restart_and_port_change(arca_bin, workdir, arca):
    data, log = os.path.join(workdir, "data"), os.path.join(workdir, "arca.log")
    port1 = _free_port()
    a = serve(arca_bin, data, port1, log)
    name = f"persist-{uuid.uuid4().hex[:8]}"
    try:
        c, cred = _client(a)
        with c:
            s = c.set_secret(name, "survives", tags={"k": "v"})
            c.set_secret(f"{name}-gone", "x")
            c.begin_delete_secret(f"{name}-gone").result()
        cred.close()
        ca_before = open(a.ca, "rb").read()
        tenant, client_id = a.env["ARCA_TENANT_ID"], a.env["AZURE_CLIENT_ID"]
    finally:
        rc = stop(a.proc)
    assert rc in (0, -15), f"arca exited with {rc} on SIGTERM"

    # same port: identical IDs, same CA, same identities
    a = serve(arca_bin, data, port1, log)
    try:
        assert open(a.ca, "rb").read() == ca_before
        assert a.env["ARCA_TENANT_ID"] == tenant and a.env["AZURE_CLIENT_ID"] == client_id
        c, cred = _client(a)
        with c:
            g = c.get_secret(name)
            assert g.value == "survives" and g.id == s.id and g.properties.tags == {"k": "v"}
            assert g.properties.created_on == s.properties.created_on
            assert c.get_deleted_secret(f"{name}-gone").name == f"{name}-gone"
        cred.close()
    finally:
        stop(a.proc)

    # another port: IDs follow the request's Host (port included)
    port2 = _free_port()
    a = serve(arca_bin, data, port2, log)
    try:
        c, cred = _client(a)
        with c:
            g = c.get_secret(name)
            assert g.value == "survives"
            assert g.id == f"{a.vault_url}/secrets/{name}/{s.properties.version}"
            assert f":{port2}/" in g.id
        cred.close()
    finally:
        stop(a.proc)
