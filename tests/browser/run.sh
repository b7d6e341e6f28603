#!/usr/bin/env bash
# Device-code sign-in through Arca's sign-in page in headless Chromium (Debian's
# chromium driven by playwright-core with executablePath; no browser download):
# `az login --use-device-code` (latest azure-cli) waits while Chromium enters the code,
# user name and password; az then uses the token it got (ARM calls).
set -euo pipefail
ARCA_LOG_TAG=tests/browser
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../../scripts/lib.sh"

bash "$ARCA_ROOT/scripts/setup-browser.sh"
bash "$ARCA_ROOT/scripts/setup-python.sh" az
ensure_arca_bin
CHROMIUM=$(command -v chromium || command -v chromium-browser) || die "chromium not found"
export CHROMIUM

WORK=$(mktemp -d)
dcpid=
cleanup() { [ -n "$dcpid" ] && kill "$dcpid" 2>/dev/null; stop_arca; [ "${ARCA_KEEP_DATA:-0}" = 1 ] && log "kept $WORK" || rm -rf "$WORK"; }
trap cleanup EXIT
port=$(free_port)
"$ARCA_BIN" init --data "$WORK/data" >/dev/null
PW="Arca-$(python3 -c 'import secrets; print(secrets.token_urlsafe(12))')"
"$ARCA_BIN" user create --data "$WORK/data" --upn dana@arca.local --password "$PW" >/dev/null
audit_needle "password of dana@arca.local" "$PW"
start_arca "$WORK/data" "$port"
eval "$("$ARCA_BIN" env --data "$WORK/data")"
unset AZURE_CLIENT_ID AZURE_CLIENT_SECRET AZURE_TENANT_ID IDENTITY_ENDPOINT IDENTITY_HEADER

# Chromium trusts Arca's CA through an NSS database in its own HOME. certutil takes
# the first certificate of a file: Arca's CA alone is NODE_EXTRA_CA_CERTS (DIR/ca.pem);
# REQUESTS_CA_BUNDLE is the system's roots followed by it.
export HOME=$WORK/home
mkdir -p "$HOME/.pki/nssdb"
certutil -d "sql:$HOME/.pki/nssdb" -N --empty-password
certutil -d "sql:$HOME/.pki/nssdb" -A -n arca-ca -t "C,," -i "$NODE_EXTRA_CA_CERTS"

export AZURE_CONFIG_DIR=$WORK/azure AZURE_CORE_COLLECT_TELEMETRY=false AZURE_CORE_ONLY_SHOW_ERRORS=true
AZ=$ARCA_CACHE/venv-az/bin/az
A=https://localhost:$port
cat >"$WORK/cloud.json" <<JSON
{"endpoints": {"activeDirectory": "$A/adfs", "activeDirectoryResourceId": "https://management.localhost:$port/",
  "activeDirectoryGraphResourceId": "https://graph.localhost:$port/", "resourceManager": "$A/", "microsoftGraphResourceId": "$A/"},
 "suffixes": {"keyvaultDns": ".vault.localhost:$port"}}
JSON
"$AZ" cloud register -n Arca --cloud-config @"$WORK/cloud.json" >/dev/null
"$AZ" cloud set -n Arca >/dev/null

"$AZ" login --use-device-code --tenant "$ARCA_TENANT_ID" -o json >"$WORK/login.json" 2>"$WORK/login.err" &
dcpid=$!
code= uri=
for _ in $(seq 1 100); do
  if grep -q 'enter the code' "$WORK/login.err" 2>/dev/null; then
    code=$(grep -o 'enter the code [A-Z0-9]*' "$WORK/login.err" | awk '{print $4}')
    uri=$(grep -o 'https://[^ ]*/devicelogin' "$WORK/login.err" | head -1)
    break
  fi
  kill -0 "$dcpid" 2>/dev/null || break
  sleep 0.2
done
[ -n "$code" ] && [ -n "$uri" ] || { cat "$WORK/login.err" >&2; die "az printed no device code"; }
log "az asks to open $uri and enter $code; Chromium does"
node "$HERE/devicecode.mjs" "$uri" "$code" dana@arca.local "$PW"
wait "$dcpid" || { cat "$WORK/login.err" >&2; die "az login --use-device-code failed"; }
dcpid=
jq -e '.[0].user.name == "dana@arca.local" and .[0].id == "'"$AZURE_SUBSCRIPTION_ID"'"' "$WORK/login.json" >/dev/null \
  || { cat "$WORK/login.json" >&2; die "unexpected az login output"; }
# the token az got is accepted: management calls as the person (Owner of the subscription)
"$AZ" group create -n browser-rg -l westus -o none
"$AZ" group show -n browser-rg --query properties.provisioningState -o tsv | grep -qx Succeeded
"$AZ" ad signed-in-user show --query userPrincipalName -o tsv | grep -qx dana@arca.local
log "browser device-code sign-in: OK (az $("$AZ" version --query '"azure-cli"' -o tsv))"
