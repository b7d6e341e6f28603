#!/usr/bin/env bash
# Runs the Python SecretClient conformance tests (tests/python/test_secrets.py).
# pytest's session fixture starts its own Arca (fresh data dir, free port); this
# script provides the venv and a private mount namespace whose /etc/hosts resolves
# the vault host names. Extra arguments go to pytest (e.g. -k disabled -x).
#
#   ARCA_BIN=/path/to/arca   use this binary instead of building bin/arca
#   ARCA_TEST_VAULT=name     default vault name (default: arca)
#   ARCA_DNS_PINNED=1        serve on port 443 with --dns-suffix vault.azure.net
set -euo pipefail
ARCA_LOG_TAG=tests/python
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../../scripts/lib.sh"

bash "$ARCA_ROOT/scripts/setup-python.sh"
ensure_arca_bin
VENV=${ARCA_VENV:-$ARCA_CACHE/venv}

WORK=$(mktemp -d)
export ARCA_PIDFILE=$WORK/pids
cleanup() { kill_pidfile "$ARCA_PIDFILE"; rm -rf "$WORK"; }
trap cleanup EXIT

vault=${ARCA_TEST_VAULT:-arca}
# the default vault and the extra vaults of conftest.EXTRA_VAULTS, in both DNS layouts
hosts=()
for v in "$vault" arca2 arcapp pymgmt pymgmt2; do hosts+=("$v.vault.localhost" "$v.vault.azure.net"); done
make_hosts_file "$WORK/hosts" "${hosts[@]}"

cd "$HERE"
set +e
in_ns "$WORK/hosts" "$VENV/bin/python" -m pytest -p no:cacheprovider -ra "$@"
rc=$?
set -e
exit $rc
