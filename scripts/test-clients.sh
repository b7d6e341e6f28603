#!/usr/bin/env bash
# Client conformance tests: the official Python, JS and Go clients against Arca.
# Builds bin/arca once, installs the client dependencies (cached under .cache/ and
# tests/js/node_modules), then runs each suite in sequence. Every suite starts its own
# Arca and stops it on exit. Exits non-zero if any suite fails.
#
#   ARCA_BIN=/path/to/arca            test this binary (skip the build)
#   ARCA_CLIENT_SUITES="python quickstart legacy az browser js golive python-pinned js-pinned golive-pinned"
#       subset/order to run; *-pinned = DNS-pinned mode (port 443, NAME.vault.azure.net)
#       python includes the management plane (azure-mgmt-keyvault, azure-mgmt-resource);
#       legacy = the track-1 azure-keyvault 1.1.0 client; az = the az CLI from PyPI;
#       browser = device-code sign-in page in headless Chromium for `az login --use-device-code`
#   GOLIVE_MODULES="azsecrets"         Go live suites to run (e.g. "azsecrets azkeys")
#   ARCA_AUDIT_DIR=DIR                 where every suite's Arca writes its audit log (default
#       .cache/audit; its logs and needles.txt are removed first); after the suites scripts/scan-audit.sh scans them all
#       for leaked secrets, passwords, tokens and key material (one more result line)
set -uo pipefail
ARCA_LOG_TAG=test-clients
. "$(dirname "$0")/lib.sh"

if [ -z "${ARCA_BIN:-}" ]; then
  ensure_arca_bin || exit 1
fi
export ARCA_BIN

SUITES=${ARCA_CLIENT_SUITES:-python quickstart legacy az browser js golive python-pinned js-pinned golive-pinned}
results=() failed=0 passed=0

# Command-line tools the runners use (part of the machine image; installed from
# Debian's packages if a machine lacks them).
missing=()
for t in jq curl openssl unshare; do command -v "$t" >/dev/null || missing+=("$t"); done
if [ ${#missing[@]} -gt 0 ]; then
  pkgs=(); for t in "${missing[@]}"; do case $t in unshare) pkgs+=(util-linux) ;; *) pkgs+=("$t") ;; esac; done
  log "installing ${pkgs[*]} with apt-get"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null \
    || { echo "client-suites: 0 passed, 1 failed"; exit 1; }
fi

# Install everything once up front (each runner would do it again; after this the
# runners only check). A failed install fails the whole run.
case " $SUITES " in *" python"*|*" quickstart "*|*" az "*)
  bash "$ARCA_ROOT/scripts/setup-python.sh" || { echo "client-suites: 0 passed, 1 failed"; exit 1; }
  export ARCA_SETUP_SKIP_UPGRADE=1 ;;
esac
case " $SUITES " in *" legacy "*)
  bash "$ARCA_ROOT/scripts/setup-python.sh" legacy || { echo "client-suites: 0 passed, 1 failed"; exit 1; } ;;
esac
case " $SUITES " in *" az "*|*" browser "*)
  bash "$ARCA_ROOT/scripts/setup-python.sh" az || { echo "client-suites: 0 passed, 1 failed"; exit 1; } ;;
esac
case " $SUITES " in *" browser "*)
  bash "$ARCA_ROOT/scripts/setup-browser.sh" || { echo "client-suites: 0 passed, 1 failed"; exit 1; } ;;
esac
case " $SUITES " in *" js"*)
  bash "$ARCA_ROOT/scripts/setup-node.sh" || { echo "client-suites: 0 passed, 1 failed"; exit 1; } ;;
esac
# Every Arca the suites start writes its audit log into ARCA_AUDIT_DIR and records its
# credentials there as needles (scripts/lib.sh start_arca, tests/python/conftest.py).
ensure_cache_dir
ARCA_AUDIT_DIR=${ARCA_AUDIT_DIR:-$ARCA_CACHE/audit}
mkdir -p "$ARCA_AUDIT_DIR" && chmod 700 "$ARCA_AUDIT_DIR" && ARCA_AUDIT_DIR=$(cd "$ARCA_AUDIT_DIR" && pwd) \
  && find "$ARCA_AUDIT_DIR" -maxdepth 1 -type f \( -name '*.log' -o -name '*.log.[0-9]*' -o -name needles.txt \) -delete \
  || { echo "client-suites: 0 passed, 1 failed"; exit 1; }
export ARCA_AUDIT_DIR

run_suite() {
  local label=$1; shift
  log "=== $label: $*"
  local start=$SECONDS
  if "$@"; then
    results+=("PASS  $label ($((SECONDS - start))s)"); passed=$((passed + 1))
  else
    results+=("FAIL  $label ($((SECONDS - start))s)"); failed=$((failed + 1))
  fi
}

# The scanner must be able to fail: crafted logs, a clean one and one per kind of leak.
run_suite "audit log scanner self-test" bash "$ARCA_ROOT/scripts/scan-audit.sh" --self-test

for s in $SUITES; do
  case "$s" in
    python)     run_suite "python SecretClient (pytest)" bash "$ARCA_ROOT/tests/python/run.sh" ;;
    quickstart) run_suite "python quickstart kv_secrets.py" bash "$ARCA_ROOT/tests/python/run_quickstart.sh" ;;
    legacy)     run_suite "python legacy track-1 KeyVaultClient (seed example)" bash "$ARCA_ROOT/tests/python/run_legacy.sh" ;;
    az)         run_suite "az CLI (login, groups, vaults, policies, secrets, keys)" bash "$ARCA_ROOT/tests/az/run.sh" ;;
    browser)    run_suite "device-code sign-in in headless Chromium (az login --use-device-code)" bash "$ARCA_ROOT/tests/browser/run.sh" ;;
    js)         run_suite "js SecretClient (node:test)" bash "$ARCA_ROOT/tests/js/run.sh" ;;
    golive)
      for m in ${GOLIVE_MODULES:-azsecrets azkeys azcertificates}; do
        run_suite "go live suite $m" bash "$ARCA_ROOT/tests/golive/run.sh" "$m"
      done ;;
    python-pinned) ARCA_DNS_PINNED=1 run_suite "python SecretClient, DNS-pinned :443" bash "$ARCA_ROOT/tests/python/run.sh" ;;
    js-pinned)     ARCA_DNS_PINNED=1 run_suite "js SecretClient, DNS-pinned :443" bash "$ARCA_ROOT/tests/js/run.sh" ;;
    golive-pinned)
      for m in ${GOLIVE_MODULES:-azsecrets azkeys azcertificates}; do
        GOLIVE_DNS_PINNED=1 run_suite "go live suite $m, DNS-pinned :443" bash "$ARCA_ROOT/tests/golive/run.sh" "$m"
      done ;;
    *) log "unknown suite $s"; results+=("FAIL  unknown suite $s"); failed=$((failed + 1)) ;;
  esac
done

# Every audit log the suites' Arca instances wrote: no secret value, key material,
# password, client secret or token.
log "=== audit log scan: $ARCA_AUDIT_DIR"
start=$SECONDS
if scan_out=$(bash "$ARCA_ROOT/scripts/scan-audit.sh" "$ARCA_AUDIT_DIR"); then
  results+=("PASS  ${scan_out##*$'\n'} ($((SECONDS - start))s)"); passed=$((passed + 1))
else
  results+=("FAIL  ${scan_out##*$'\n'} ($((SECONDS - start))s; logs kept in $ARCA_AUDIT_DIR)"); failed=$((failed + 1))
fi

log "=== client suites summary"
for r in "${results[@]}"; do log "  $r"; done
echo "client-suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
