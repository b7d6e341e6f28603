#!/usr/bin/env bash
# The az CLI (latest azure-cli from PyPI, in $ARCA_CACHE/venv-az) against a fresh Arca:
# cloud registration, service-principal and user sign-in, resource groups, vaults,
# access policies by --upn/--spn/--object-id and for a security group (az ad group), RBAC role
# assignments, a custom role definition (create, list, update, delete), data-plane secrets and
# keys, resource group
# deletion, deleted vaults and purge. Everything runs in a private mount namespace
# whose /etc/hosts resolves the vault host names; az gets its own AZURE_CONFIG_DIR.
set -euo pipefail
ARCA_LOG_TAG=tests/az
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../../scripts/lib.sh"

if [ "${ARCA_AZ_INNER:-0}" != 1 ]; then
  bash "$ARCA_ROOT/scripts/setup-python.sh" az
  ensure_arca_bin
  WORK=$(mktemp -d)
  cleanup() { stop_arca; [ "${ARCA_KEEP_DATA:-0}" = 1 ] && log "kept $WORK" || rm -rf "$WORK"; }
  trap cleanup EXIT
  port=$(free_port)
  "$ARCA_BIN" init --data "$WORK/data" >/dev/null
  USER_PW="Arca-$(python3 -c 'import secrets; print(secrets.token_urlsafe(12))')"
  "$ARCA_BIN" user create --data "$WORK/data" --upn alice@arca.local --password "$USER_PW" >"$WORK/user.txt"
  audit_needle "password of alice@arca.local" "$USER_PW"
  start_arca "$WORK/data" "$port"
  make_hosts_file "$WORK/hosts" arca.vault.localhost azvault.vault.localhost azvault2.vault.localhost azrbac.vault.localhost
  set +e
  in_ns "$WORK/hosts" env ARCA_AZ_INNER=1 WORK="$WORK" PORT="$port" USER_PW="$USER_PW" ARCA_BIN="$ARCA_BIN" \
    bash "$HERE/run.sh"
  rc=$?
  set -e
  [ $rc -eq 0 ] || { log "az suite failed ($rc); arca log tail:"; tail -30 "$ARCA_LOG" >&2; }
  exit $rc
fi

# ---- inside the namespace ----
eval "$("$ARCA_BIN" env --data "$WORK/data")"
export AZURE_CONFIG_DIR=$WORK/azure AZURE_CORE_COLLECT_TELEMETRY=false AZURE_CORE_NO_COLOR=true \
  AZURE_CORE_SURVEY_MESSAGE=false AZURE_CORE_ONLY_SHOW_ERRORS=true
# az must not pick up the SDK variables of `arca env` (it has its own login)
unset AZURE_CLIENT_ID AZURE_CLIENT_SECRET AZURE_TENANT_ID IDENTITY_ENDPOINT IDENTITY_HEADER
CLIENT_ID=$("$ARCA_BIN" env --data "$WORK/data" | sed -n "s/^export AZURE_CLIENT_ID='\(.*\)'$/\1/p")
CLIENT_SECRET=$("$ARCA_BIN" env --data "$WORK/data" | sed -n "s/^export AZURE_CLIENT_SECRET='\(.*\)'$/\1/p")
AZ=$ARCA_CACHE/venv-az/bin/az
n=0
run() { # run DESCRIPTION az-args... ; prints the JSON output to $OUT
  n=$((n + 1))
  local shown="${*//$CLIENT_SECRET/***}"; log "[$n] az ${shown//$USER_PW/***}"
  if ! OUT=$("$AZ" "$@" -o json 2>"$WORK/az.err"); then
    log "FAILED: [$n]"; sed 's/^/  az| /' "$WORK/az.err" >&2; exit 1
  fi
}
expect() { # expect JQ-EXPR: the last output must satisfy it
  if ! jq -e "$1" >/dev/null <<<"$OUT"; then log "unexpected output for [$n] (want $1):"; echo "$OUT" >&2; exit 1; fi
}

A=https://localhost:$PORT
cat >"$WORK/cloud.json" <<JSON
{"endpoints": {"activeDirectory": "$A/adfs", "activeDirectoryResourceId": "https://management.localhost:$PORT/",
  "activeDirectoryGraphResourceId": "https://graph.localhost:$PORT/", "resourceManager": "$A/",
  "microsoftGraphResourceId": "$A/"},
 "suffixes": {"keyvaultDns": ".vault.localhost:$PORT"}}
JSON
run cloud register -n Arca --cloud-config @"$WORK/cloud.json"
run cloud set -n Arca

# service principal
run login --service-principal -u "$CLIENT_ID" --password="$CLIENT_SECRET" --tenant "$ARCA_TENANT_ID"
expect ".[0].id == \"$AZURE_SUBSCRIPTION_ID\""
run group create -n rg1 -l westus
expect '.properties.provisioningState == "Succeeded"'
run group exists -n rg1
expect '. == true'
run keyvault create -n azvault -g rg1 -l westus --enable-rbac-authorization false
expect ".properties.vaultUri == \"https://azvault.vault.localhost:$PORT/\" and (.properties.accessPolicies | length) == 1"
run keyvault set-policy -n azvault --upn alice@arca.local --secret-permissions delete get list set
ALICE=$(sed -n 's/^OBJECT_ID=//p' "$WORK/user.txt")
expect "any(.properties.accessPolicies[]; .objectId == \"$ALICE\" and (.permissions.secrets | sort) == [\"delete\",\"get\",\"list\",\"set\"])"
run keyvault set-policy -n azvault --spn "$CLIENT_ID" --key-permissions get create list
run keyvault set-policy -n azvault --object-id 0f0f0f0f-0000-4000-8000-000000000002 --certificate-permissions get
expect 'any(.properties.accessPolicies[]; .objectId == "0f0f0f0f-0000-4000-8000-000000000002")'
run keyvault show -n azvault
run keyvault list
expect 'map(.name) | index("azvault") != null'

# data plane through the cloud's keyvault DNS suffix
run keyvault secret set --vault-name azvault -n s1 --value arca-canary-az-v1
run keyvault secret show --vault-name azvault -n s1
expect '.value == "arca-canary-az-v1"'
run keyvault secret list --vault-name azvault
expect 'map(.name) == ["s1"]'
run keyvault secret delete --vault-name azvault -n s1
run keyvault secret list-deleted --vault-name azvault
expect 'map(.name) == ["s1"]'
run keyvault secret recover --vault-name azvault -n s1
run keyvault secret show --vault-name azvault -n s1
expect '.value == "arca-canary-az-v1"'
run keyvault secret delete --vault-name azvault -n s1
run keyvault secret purge --vault-name azvault -n s1
run keyvault key create --vault-name azvault -n k1 --kty RSA
run keyvault key show --vault-name azvault -n k1
expect '.key.kty == "RSA"'

# a user, device code: az prints the code; the person signs in on Arca's /devicelogin page
run logout
n=$((n + 1)); log "[$n] az login --use-device-code (sign-in page posted with curl)"
"$AZ" login --use-device-code --tenant "$ARCA_TENANT_ID" -o json >"$WORK/dc.out" 2>"$WORK/dc.err" &
dcpid=$!
code=
for _ in $(seq 1 100); do
  code=$(grep -o 'enter the code [A-Z0-9]*' "$WORK/dc.err" 2>/dev/null | awk '{print $4}') || true
  [ -n "$code" ] && break
  kill -0 "$dcpid" 2>/dev/null || break
  sleep 0.2
done
[ -n "$code" ] || { log "FAILED: [$n] no device code"; cat "$WORK/dc.err" >&2; kill "$dcpid" 2>/dev/null; exit 1; }
curl -sS --fail --cacert "$REQUESTS_CA_BUNDLE" "$A/devicelogin" -o /dev/null
curl -sS --fail --cacert "$REQUESTS_CA_BUNDLE" "$A/devicelogin" --data-urlencode "user_code=$code" \
  --data-urlencode "username=alice@arca.local" --data-urlencode "password=$USER_PW" | grep -q 'id="done"' \
  || { log "FAILED: [$n] sign-in page"; kill "$dcpid"; exit 1; }
wait "$dcpid" || { log "FAILED: [$n]"; cat "$WORK/dc.err" >&2; exit 1; }
OUT=$(cat "$WORK/dc.out"); expect '.[0].user.name == "alice@arca.local"'
run group show -n rg1
run logout

# a user, interactive: az opens "a browser" ($BROWSER, tests/az/browser.sh) on Arca's
# authorization page; the sign-in redirects to az's loopback listener (auth code + PKCE)
run_browser() {
  BROWSER="$HERE/browser.sh" ARCA_AZ_USER=alice@arca.local ARCA_AZ_PASSWORD="$USER_PW" \
    ARCA_AZ_BROWSER_LOG="$WORK/browser.log" run "$@"
}
run_browser login --tenant "$ARCA_TENANT_ID"
expect '.[0].user.name == "alice@arca.local"'
run group show -n rg1
run logout

# a user: password sign-in (the first user is Owner of the default subscription)
run login -u alice@arca.local --password="$USER_PW" --tenant "$ARCA_TENANT_ID"
expect ".[0].user.name == \"alice@arca.local\""
run account get-access-token
run ad signed-in-user show
expect ".id == \"$ALICE\""
# authorisation: the Python SDK (as alice, through her az login) is refused once her access policy
# is removed, and reads again right after `az keyvault set-policy` grants get (no restart)
run keyvault secret set --vault-name azvault -n s3 --value arca-canary-az-v3
run keyvault delete-policy -n azvault --upn alice@arca.local
sdk_get() { # sdk_get EXPECT(ok|forbidden)
  n=$((n + 1)); log "[$n] Python SecretClient as alice: get s3 (expect $1)"
  PATH="$(dirname "$AZ"):$PATH" "$ARCA_CACHE/venv/bin/python" - "https://azvault.vault.localhost:$PORT" "$1" <<'PY' || { log "FAILED: [$n]"; exit 1; }
import sys
from azure.core.exceptions import HttpResponseError
from azure.identity import AzureCliCredential
from azure.keyvault.secrets import SecretClient
c = SecretClient(sys.argv[1], AzureCliCredential())
try:
    v = c.get_secret("s3").value
    assert sys.argv[2] == "ok" and v == "arca-canary-az-v3", v
except HttpResponseError as e:
    assert sys.argv[2] == "forbidden" and e.status_code == 403 and e.error.code == "Forbidden", (e.status_code, e.error and e.error.code)
PY
}
sdk_get forbidden
run keyvault set-policy -n azvault --upn alice@arca.local --secret-permissions get
sdk_get ok
run keyvault create -n azvault2 -g rg1 -l westus --enable-rbac-authorization false
expect "any(.properties.accessPolicies[]; .objectId == \"$ALICE\")"
run keyvault secret set --vault-name azvault2 -n s2 --value arca-canary-az-v2
run keyvault secret show --vault-name azvault2 -n s2
expect '.value == "arca-canary-az-v2"'
# RBAC: in a vault with enableRbacAuthorization the Python SDK is refused (ForbiddenByRbac) until
# `az role assignment create` gives alice a Key Vault data role on it; no restart
run keyvault create -n azrbac -g rg1 -l westus --enable-rbac-authorization true
RBAC_ID=$(jq -r .id <<<"$OUT")
sdk_set() { # sdk_set EXPECT(ok|forbidden)
  n=$((n + 1)); log "[$n] Python SecretClient as alice: set in an RBAC vault (expect $1)"
  PATH="$(dirname "$AZ"):$PATH" "$ARCA_CACHE/venv/bin/python" - "https://azrbac.vault.localhost:$PORT" "$1" <<'PY' || { log "FAILED: [$n]"; exit 1; }
import sys
from azure.core.exceptions import HttpResponseError
from azure.identity import AzureCliCredential
from azure.keyvault.secrets import SecretClient
c = SecretClient(sys.argv[1], AzureCliCredential())
try:
    assert c.set_secret("r1", "arca-canary-az-rv").value == "arca-canary-az-rv" and sys.argv[2] == "ok"
except HttpResponseError as e:
    assert sys.argv[2] == "forbidden" and e.status_code == 403 and "ForbiddenByRbac" in str(e), (e.status_code, str(e)[:300])
PY
}
sdk_set forbidden
run role assignment create --role "Key Vault Secrets Officer" --assignee-object-id "$ALICE" --assignee-principal-type User --scope "$RBAC_ID"
sdk_set ok
# groups: an access policy for a security group grants its members, as soon as they join
# (`az ad group member add`) and no longer once they leave
run ad group create --display-name "Vault Readers" --mail-nickname vault-readers --description "reads azvault"
expect '.securityEnabled == true and .mailNickname == "vault-readers"'
GID=$(jq -r .id <<<"$OUT")
run ad group create --display-name "Vault Readers" --mail-nickname vault-readers
expect ".id == \"$GID\""
run ad group show --group "$GID"
expect '.displayName == "Vault Readers"'
run ad group list --display-name "Vault"
expect "map(.id) == [\"$GID\"]"
run keyvault delete-policy -n azvault --upn alice@arca.local
run keyvault set-policy -n azvault --object-id "$GID" --secret-permissions get
sdk_get forbidden
run ad group member add --group "$GID" --member-id "$ALICE"
run ad group member check --group "$GID" --member-id "$ALICE"
expect '.value == true'
run ad group member list --group "$GID"
expect "map(.id) == [\"$ALICE\"]"
run ad user get-member-groups --id "$ALICE"
expect "map(.id) == [\"$GID\"]"
sdk_get ok
run ad group member remove --group "$GID" --member-id "$ALICE"
sdk_get forbidden
run ad group delete --group "$GID"
run keyvault set-policy -n azvault --upn alice@arca.local --secret-permissions get
sdk_get ok
# a custom role: `az role definition create` with one data action, given to the service principal
# on the RBAC vault by `az role assignment create --role NAME`: the Python SDK (as that principal)
# reads a secret but may not list them; `az role definition update` adds the list action, at once;
# `az role definition delete` is refused while the role is assigned, then succeeds
cat >"$WORK/role.json" <<JSON
{"Name": "Arca Secret Reader", "Description": "Reads secret values, nothing else.", "Actions": [],
 "DataActions": ["Microsoft.KeyVault/vaults/secrets/getSecret/action"], "NotDataActions": [],
 "AssignableScopes": ["/subscriptions/$AZURE_SUBSCRIPTION_ID"]}
JSON
run role definition create --role-definition @"$WORK/role.json"
expect '.roleName == "Arca Secret Reader" and .roleType == "CustomRole"'
run role definition list --custom-role-only true --name "Arca Secret Reader"
expect 'length == 1 and .[0].permissions[0].dataActions == ["Microsoft.KeyVault/vaults/secrets/getSecret/action"]'
ROLE_JSON=$(jq '.[0]' <<<"$OUT")
run role assignment create --role "Arca Secret Reader" --assignee "$CLIENT_ID" --scope "$RBAC_ID"
expect ".roleDefinitionId | endswith(\"/$(jq -r .name <<<"$ROLE_JSON")\")"
sdk_custom() { # sdk_custom EXPECT(ok|forbidden): as the service principal, get r1, then list (EXPECT)
  n=$((n + 1)); log "[$n] Python SecretClient as the service principal with the custom role: get, list (expect $1)"
  "$ARCA_CACHE/venv/bin/python" - "https://azrbac.vault.localhost:$PORT" "$1" "$CLIENT_ID" "$CLIENT_SECRET" <<'PY' || { log "FAILED: [$n]"; exit 1; }
import sys
from azure.core.exceptions import HttpResponseError
from azure.identity import ClientSecretCredential
from azure.keyvault.secrets import SecretClient
c = SecretClient(sys.argv[1], ClientSecretCredential("adfs", sys.argv[3], sys.argv[4]))
assert c.get_secret("r1").value == "arca-canary-az-rv"
try:
    names = [p.name for p in c.list_properties_of_secrets()]
    assert sys.argv[2] == "ok" and "r1" in names, names
except HttpResponseError as e:
    assert sys.argv[2] == "forbidden" and e.status_code == 403 and "ForbiddenByRbac" in str(e), (e.status_code, str(e)[:300])
PY
}
sdk_custom forbidden
jq '.permissions[0].dataActions += ["Microsoft.KeyVault/vaults/secrets/readMetadata/action"]' <<<"$ROLE_JSON" >"$WORK/role-update.json"
run role definition update --role-definition @"$WORK/role-update.json"
expect '(.permissions[0].dataActions | length) == 2'
sdk_custom ok
n=$((n + 1)); log "[$n] az role definition delete while assigned (expect RoleDefinitionHasAssignments)"
if "$AZ" role definition delete --name "Arca Secret Reader" 2>"$WORK/az.err"; then log "FAILED: [$n] deleted while assigned"; exit 1; fi
grep -q RoleDefinitionHasAssignments "$WORK/az.err" || { log "FAILED: [$n]"; sed 's/^/  az| /' "$WORK/az.err" >&2; exit 1; }
run role assignment delete --role "Arca Secret Reader" --assignee "$CLIENT_ID" --scope "$RBAC_ID"
run role definition delete --name "Arca Secret Reader"
run role definition list --custom-role-only true
expect 'length == 0'
# DefaultAzureCredential with no SDK variables picks up the az login (AzureCliCredential)
if [ -x "$ARCA_CACHE/venv/bin/python" ]; then
  n=$((n + 1)); log "[$n] DefaultAzureCredential -> AzureCliCredential -> SecretClient"
  PATH="$(dirname "$AZ"):$PATH" "$ARCA_CACHE/venv/bin/python" - "https://azvault2.vault.localhost:$PORT" <<'PY' || { log "FAILED: [$n]"; exit 1; }
import sys
from azure.identity import DefaultAzureCredential
from azure.keyvault.secrets import SecretClient
cred = DefaultAzureCredential()
assert SecretClient(sys.argv[1], cred).get_secret("s2").value == "arca-canary-az-v2"
print("  DefaultAzureCredential used", cred._successful_credential.__class__.__name__, file=sys.stderr)
PY
fi

# delete the group: its vaults become deleted vaults; purge them
run group delete -n rg1 --yes
run group exists -n rg1
expect '. == false'
run keyvault list-deleted
expect 'map(.name) | sort == ["azrbac","azvault","azvault2"]'
run keyvault purge -n azvault
run keyvault purge -n azvault2 --location westus
run keyvault purge -n azrbac
run keyvault list-deleted
expect 'length == 0'
log "az suite: $n commands OK ($("$AZ" version -o tsv --query '"azure-cli"' 2>/dev/null))"
