#!/usr/bin/env bash
# Runs the seed's legacy track-1 example (tests/python/legacy/legacy_client.py:
# azure-keyvault 1.1.0 KeyVaultClient + KeyVaultAuthentication + azure.common
# ServicePrincipalCredentials) against a fresh Arca, configured only by `arca env`,
# in a private mount namespace whose /etc/hosts resolves the vault host.
set -euo pipefail
ARCA_LOG_TAG=tests/python-legacy
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../../scripts/lib.sh"

bash "$ARCA_ROOT/scripts/setup-python.sh" legacy
ensure_arca_bin
VENV=$ARCA_CACHE/venv-legacy

WORK=$(mktemp -d)
cleanup() { stop_arca; [ "${ARCA_KEEP_DATA:-0}" = 1 ] && log "kept $WORK" || rm -rf "$WORK"; }
trap cleanup EXIT

port=$(free_port)
start_arca "$WORK/data" "$port"
make_hosts_file "$WORK/hosts" arca.vault.localhost
ENV_TEXT=$("$ARCA_BIN" env --data "$WORK/data") || die "arca env failed"
set +e
in_ns "$WORK/hosts" env -i PATH="$PATH" HOME="$WORK" ENV_TEXT="$ENV_TEXT" PY="$VENV/bin/python" SCRIPT="$HERE/legacy/legacy_client.py" \
  bash -c 'eval "$ENV_TEXT"; exec "$PY" "$SCRIPT"'
rc=$?
set -e
[ $rc -eq 0 ] || { log "legacy client failed ($rc); arca log:"; tail -40 "$ARCA_LOG" >&2; }
exit $rc
