"""Management plane: the seed's KeyVaultManagementClient example and the Key Vault
management / recovery sample flows, with the latest azure-mgmt-keyvault,
azure-mgmt-resource and azure-identity, configured only by `arca env`.

The vault names used here are in the hosts file of tests/python/run.sh.
"""
from __future__ import annotations

import os
import uuid

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.identity import DefaultAzureCredential
from azure.keyvault.secrets import SecretClient
from azure.mgmt.keyvault import KeyVaultManagementClient
try:
    from azure.mgmt.resource.resources import ResourceManagementClient  # azure-mgmt-resource >= 24
except ImportError:  # older azure-mgmt-resource
    from azure.mgmt.resource import ResourceManagementClient

SEED_VAULT = "pymgmt"
SAMPLE_VAULT = "pymgmt2"


def _mgmt_kwargs(arca):
    port = f":{arca.port}" if arca.port != 443 else ""
    return {"base_url": arca.authority, "credential_scopes": [f"https://management.localhost{port}/.default"],
            "polling_interval": 1}


@pytest.fixture(scope="module")
def credential(arca):
    return DefaultAzureCredential()


@pytest.fixture(scope="module")
def clients(arca, credential):
    sub = os.environ["AZURE_SUBSCRIPTION_ID"]
    kw = _mgmt_kwargs(arca)
    return (ResourceManagementClient(credential, sub, **kw), KeyVaultManagementClient(credential, sub, **kw))


def my_oid(arca, credential):
    """The object id of the identity the tests run as: what the seed tells the reader to look up in
    the portal and paste into OBJECT_ID (read here from the token's oid claim)."""
    import base64, json
    port = arca.authority.rsplit(":", 1)[1] if arca.authority.count(":") == 2 else ""
    tok = credential.get_token(f"https://management.localhost{':' + port if port else ''}/.default").token
    payload = tok.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["oid"]


def test_seed_management_example(arca, credential, clients):
    """The seed document's example: create a vault with an access policy, then use it."""
    resource_client, kv_client = clients
    GROUP_NAME = "rg-seed"
    KV_NAME = SEED_VAULT
    resource_client.resource_groups.create_or_update(GROUP_NAME, {"location": "eastus"})
    OBJECT_ID = my_oid(arca, credential)  # the seed: "Find this number in the portal"

    # --- the seed's code (create_or_update is begin_create_or_update in today's SDK) ---
    vault = kv_client.vaults.begin_create_or_update(
        GROUP_NAME,
        KV_NAME,
        {
            'location': 'eastus',
            'properties': {
                'sku': {
                    'name': 'standard'
                },
                'tenant_id': os.environ['AZURE_TENANT_ID'],
                'access_policies': [{
                    'tenant_id': os.environ['AZURE_TENANT_ID'],
                    'object_id': OBJECT_ID,
                    'permissions': {
                        'keys': ['all'],
                        'secrets': ['all']
                    }
                }]
            }
        }
    ).result()
    # --- end of the seed's code ---

    assert vault.name == KV_NAME
    assert vault.properties.provisioning_state == "Succeeded"
    assert vault.properties.tenant_id == os.environ["ARCA_TENANT_ID"]
    assert vault.properties.vault_uri.rstrip("/") == arca.url_of(KV_NAME)
    assert vault.properties.sku.name == "standard"
    [pol] = vault.properties.access_policies
    assert pol.object_id == OBJECT_ID and pol.permissions["keys"] == ["all"] and pol.permissions.secrets == ["all"]

    got = kv_client.vaults.get(GROUP_NAME, KV_NAME)
    assert got.id == vault.id

    # the vault the management plane created is served by the data plane
    sc = SecretClient(vault.properties.vault_uri, credential)
    sc.set_secret("from-mgmt", "hello")
    assert sc.get_secret("from-mgmt").value == "hello"


def test_access_policy_update(arca, clients):
    _, kv_client = clients
    oid = str(uuid.uuid4())
    params = {"properties": {"access_policies": [{"tenant_id": os.environ["ARCA_TENANT_ID"], "object_id": oid,
                                                  "permissions": {"secrets": ["get", "list"]}}]}}
    kv_client.vaults.update_access_policy("rg-seed", SEED_VAULT, "add", params)
    pols = {p.object_id: p for p in kv_client.vaults.get("rg-seed", SEED_VAULT).properties.access_policies}
    assert pols[oid].permissions.secrets == ["get", "list"]
    kv_client.vaults.update_access_policy("rg-seed", SEED_VAULT, "remove", params)
    pols = {p.object_id for p in kv_client.vaults.get("rg-seed", SEED_VAULT).properties.access_policies}
    assert oid not in pols


def test_management_and_recovery_samples(arca, credential, clients):
    """The key-vault-python-manage and key-vault-recovery-python sample flows."""
    resource_client, kv_client = clients
    group = "rg-samples"
    resource_client.resource_groups.create_or_update(group, {"location": "westus"})
    avail = kv_client.vaults.check_name_availability({"name": SAMPLE_VAULT, "type": "Microsoft.KeyVault/vaults"})
    assert avail.name_available
    params = {"location": "westus", "properties": {
        "sku": {"family": "A", "name": "standard"}, "tenant_id": os.environ["ARCA_TENANT_ID"],
        "access_policies": [{"tenant_id": os.environ["ARCA_TENANT_ID"], "object_id": my_oid(arca, credential),
                             "permissions": {"secrets": ["all"]}}],
        "enable_soft_delete": True, "soft_delete_retention_in_days": 7}}
    vault = kv_client.vaults.begin_create_or_update(group, SAMPLE_VAULT, params).result()
    assert vault.properties.soft_delete_retention_in_days == 7
    assert not kv_client.vaults.check_name_availability({"name": SAMPLE_VAULT, "type": "Microsoft.KeyVault/vaults"}).name_available

    # list vaults: by group, by subscription, and the legacy resources listing (api-version 2015-11-01)
    assert [v.name for v in kv_client.vaults.list_by_resource_group(group)] == [SAMPLE_VAULT]
    assert SAMPLE_VAULT in {v.name for v in kv_client.vaults.list_by_subscription()}
    assert SAMPLE_VAULT in {r.name for r in kv_client.vaults.list()}
    updated = kv_client.vaults.update(group, SAMPLE_VAULT, {"tags": {"sample": "yes"}})
    assert updated.tags == {"sample": "yes"}

    # deleted secrets: recover and purge (recovery sample)
    sc = SecretClient(vault.properties.vault_uri, credential)
    sc.set_secret("keep", "k")
    sc.set_secret("drop", "d")
    sc.begin_delete_secret("keep").result()
    sc.begin_delete_secret("drop").result()
    assert {s.name for s in sc.list_deleted_secrets()} == {"keep", "drop"}
    sc.begin_recover_deleted_secret("keep").result()
    sc.purge_deleted_secret("drop")
    assert sc.get_secret("keep").value == "k"

    # delete, list deleted, get deleted, recover
    kv_client.vaults.delete(group, SAMPLE_VAULT)
    with pytest.raises(ResourceNotFoundError):
        kv_client.vaults.get(group, SAMPLE_VAULT)
    deleted = {d.name: d for d in kv_client.vaults.list_deleted()}
    assert SAMPLE_VAULT in deleted
    d = kv_client.vaults.get_deleted(SAMPLE_VAULT, "westus")
    assert d.properties.vault_id == vault.id and d.properties.scheduled_purge_date is not None
    recover = {"location": "westus", "properties": {"sku": {"family": "A", "name": "standard"},
                                                    "tenant_id": os.environ["ARCA_TENANT_ID"], "create_mode": "recover"}}
    recovered = kv_client.vaults.begin_create_or_update(group, SAMPLE_VAULT, recover).result()
    assert recovered.tags == {"sample": "yes"}
    assert sc.get_secret("keep").value == "k"  # the data came back with the vault

    # delete again and purge; deleting the group soft-deletes the seed's vault as well
    kv_client.vaults.delete(group, SAMPLE_VAULT)
    kv_client.vaults.begin_purge_deleted(SAMPLE_VAULT, "westus").result()
    with pytest.raises(ResourceNotFoundError):
        kv_client.vaults.get_deleted(SAMPLE_VAULT, "westus")
    resource_client.resource_groups.begin_delete(group).result()
    assert not resource_client.resource_groups.check_existence(group)
    resource_client.resource_groups.begin_delete("rg-seed").result()
    assert SEED_VAULT in {d.name for d in kv_client.vaults.list_deleted()}
    kv_client.vaults.begin_purge_deleted(SEED_VAULT, "eastus").result()


def test_arm_errors(arca, clients):
    resource_client, kv_client = clients
    with pytest.raises(ResourceNotFoundError):
        kv_client.vaults.get("no-such-group", "novault")
    with pytest.raises(HttpResponseError) as e:
        kv_client.vaults.begin_create_or_update("arca", "pybad", {"location": "westus", "properties": {
            "sku": {"family": "A", "name": "standard"}, "tenant_id": str(uuid.uuid4()), "access_policies": []}}).result()
    assert e.value.status_code == 400
