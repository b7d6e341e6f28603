#!/usr/bin/env bash
# Runs the JS conformance tests (tests/js/secrets.test.mjs, keys.test.mjs and
# certificates.test.mjs, node:test)
# against a fresh Arca on a free port. Before the first start it initialises the data dir
# offline and adds a standard-SKU vault (ARCA_STD_VAULT, for the keys SKU rules).
# Node reads NODE_EXTRA_CA_CERTS only at start-up, so this script starts Arca first, exports `arca env`, and runs node inside a private
# mount namespace whose /etc/hosts resolves the vault host name.
# Extra arguments go to node (e.g. --test-name-pattern=disabled).
#   ARCA_JS_TESTS="certificates.test.mjs"   run only these test files (default: all three)
#   ARCA_DNS_PINNED=1   serve on port 443 with --dns-suffix vault.azure.net instead
set -euo pipefail
ARCA_LOG_TAG=tests/js
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../../scripts/lib.sh"

bash "$ARCA_ROOT/scripts/setup-node.sh"
ensure_arca_bin

WORK=$(mktemp -d)
cleanup() { stop_arca; [ "${ARCA_KEEP_DATA:-0}" = 1 ] && log "kept $WORK" || rm -rf "$WORK"; }
trap cleanup EXIT

args=()
[ -n "${ARCA_TEST_VAULT:-}" ] && args+=(--default-vault "$ARCA_TEST_VAULT")
if [ "${ARCA_DNS_PINNED:-0}" = 1 ]; then
  port=443; args+=(--dns-suffix vault.azure.net)
else
  port=$(free_port)
fi
# Initialise offline and add a standard-SKU vault next to the (premium) default vault.
init_args=()
[ -n "${ARCA_TEST_VAULT:-}" ] && init_args+=(--default-vault "$ARCA_TEST_VAULT")
"$ARCA_BIN" init --data "$WORK/data" "${init_args[@]}" >/dev/null || die "arca init failed"
export ARCA_STD_VAULT=arcastd
"$ARCA_BIN" vault create "$ARCA_STD_VAULT" --sku standard --data "$WORK/data" >/dev/null \
  || die "arca vault create $ARCA_STD_VAULT failed"
start_arca "$WORK/data" "$port" "${args[@]}"
arca_env "$WORK/data"
# Only `arca env` configures the clients: drop anything inherited that would change them.
unset AZURE_USERNAME AZURE_PASSWORD AZURE_CLIENT_CERTIFICATE_PATH AZURE_FEDERATED_TOKEN_FILE \
      AZURE_TOKEN_CREDENTIALS MSI_ENDPOINT MSI_SECRET AZURE_POD_IDENTITY_AUTHORITY_HOST
vhost=$(vault_host_from_url "$AZURE_KEYVAULT_URL")
make_hosts_file "$WORK/hosts" "$vhost" "$ARCA_STD_VAULT.${vhost#*.}"

cd "$HERE"
set +e
read -r -a files <<<"${ARCA_JS_TESTS:-secrets.test.mjs keys.test.mjs certificates.test.mjs}"
in_ns "$WORK/hosts" node --test --test-reporter=spec "$@" "${files[@]}"
rc=$?
set -e
if [ $rc -ne 0 ]; then log "arca log tail:"; tail -n 80 "$ARCA_LOG" | sed 's/^/  arca| /' >&2; fi
exit $rc
