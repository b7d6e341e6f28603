"""The seed's legacy (track-1) Key Vault example against Arca.

azure-keyvault 1.1.0 (KeyVaultClient, KeyVaultAuthentication) with
azure.common.credentials.ServicePrincipalCredentials (msrestazure + ADAL). Configured
only by `arca env` (AZURE_AUTHORITY_HOST, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET,
AZURE_TENANT_ID, AZURE_KEYVAULT_URL, REQUESTS_CA_BUNDLE): ServicePrincipalCredentials
is pointed at Arca through its documented `cloud_environment` option, with the AD
endpoint AZURE_AUTHORITY_HOST + "/adfs" (ADAL does no instance discovery for an
ADFS authority; clients.md §5.2).

Two deviations from the seed text, both outside the library:
* the seed's callback does `credentials = credentials or ...` on a module global
  without `global`, which raises UnboundLocalError on every Python; `global` is added.
* on Python >= 3.11 (no inspect.getargspec, which KeyVaultAuthBase calls for a
  3-argument callback) `inspect.getargspec` is aliased to getfullargspec. The runner
  prefers Python <= 3.10, where nothing is changed; the output says which happened.
"""
import inspect
import os
import sys

if not hasattr(inspect, "getargspec"):
    print(f"python {sys.version.split()[0]}: aliasing inspect.getargspec for azure-keyvault 1.1.0")
    inspect.getargspec = inspect.getfullargspec  # noqa: the library's own call, unpatched

from azure.common.credentials import ServicePrincipalCredentials
from azure.keyvault import KeyVaultAuthentication, KeyVaultClient
from msrestazure.azure_cloud import Cloud, CloudEndpoints

ARCA_CLOUD = Cloud("Arca", endpoints=CloudEndpoints(
    active_directory=os.environ["AZURE_AUTHORITY_HOST"].rstrip("/") + "/adfs",
    active_directory_resource_id="https://management.localhost/"))

vault_url = os.environ["AZURE_KEYVAULT_URL"]
key_name = "legacy-key"
calls = []

# ---- the seed's example (see the module docstring for `global`) ----
credentials = None


def auth_callack(server, resource, scope):
    global credentials
    calls.append((server, resource, scope))
    credentials = credentials or ServicePrincipalCredentials(
        client_id=os.environ["AZURE_CLIENT_ID"],  # client id
        secret=os.environ["AZURE_CLIENT_SECRET"],
        tenant=os.environ["AZURE_TENANT_ID"],
        resource=resource,
        cloud_environment=ARCA_CLOUD,
    )
    token = credentials.token
    return token['token_type'], token['access_token']


client = KeyVaultClient(KeyVaultAuthentication(auth_callack))

created = client.create_key(vault_url, key_name, "RSA", key_size=2048)
key_version = created.key.kid.rsplit("/", 1)[1]

key_bundle = client.get_key(vault_url, key_name, key_version)
json_key = key_bundle.key
# ---- end of the seed's example ----

assert json_key.kid == created.key.kid, (json_key.kid, created.key.kid)
assert json_key.kty == "RSA" and json_key.n and json_key.e, json_key
latest = client.get_key(vault_url, key_name, "")
assert latest.key.kid == created.key.kid
assert calls and calls[0][0].startswith(os.environ["AZURE_AUTHORITY_HOST"].rstrip("/") + "/"), calls
print(f"challenge: authorization={calls[0][0]} resource={calls[0][1]}")

# secrets through the same legacy client, and the credentials= form of KeyVaultAuthentication
client.set_secret(vault_url, "legacy-secret", "arca-canary-legacy-s3cret")
assert client.get_secret(vault_url, "legacy-secret", "").value == "arca-canary-legacy-s3cret"
sp = ServicePrincipalCredentials(client_id=os.environ["AZURE_CLIENT_ID"], secret=os.environ["AZURE_CLIENT_SECRET"],
                                 tenant=os.environ["AZURE_TENANT_ID"], resource=calls[0][1], cloud_environment=ARCA_CLOUD)
client2 = KeyVaultClient(KeyVaultAuthentication(credentials=sp))
assert client2.get_secret(vault_url, "legacy-secret", "").value == "arca-canary-legacy-s3cret"
print(f"legacy track-1 client OK: get_key returned {json_key.kty} key {json_key.kid} (python {sys.version.split()[0]})")
