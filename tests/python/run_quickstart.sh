#!/usr/bin/env bash
# Runs Microsoft's Python secrets quickstart (kv_secrets.py, verbatim from the seed
# document) unmodified against Arca in DNS-pinned mode: `arca serve --port 443
# --dns-suffix vault.azure.net`, so the script's hard-coded
# https://$KEY_VAULT_NAME.vault.azure.net reaches Arca through a private hosts file.
# The script's environment is only what `arca env` prints (plus PATH/HOME).
#
# Run 1 must succeed (set, get, delete). Run 2 with the same secret name must fail
# with "(Conflict) Secret <name> is currently in a deleted but recoverable state",
# as the quickstart documents. Exits non-zero otherwise.
set -euo pipefail
ARCA_LOG_TAG=quickstart
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../../scripts/lib.sh"

bash "$ARCA_ROOT/scripts/setup-python.sh"
ensure_arca_bin
VENV=${ARCA_VENV:-$ARCA_CACHE/venv}

WORK=$(mktemp -d)
cleanup() { stop_arca; [ "${ARCA_KEEP_DATA:-0}" = 1 ] && log "kept $WORK" || rm -rf "$WORK"; }
trap cleanup EXIT

# 1. the quickstart code, byte for byte. The committed copy is checked against the
#    seed document when shared/ is next to the repository.
QS=$HERE/kv_secrets.py
for seed in "$ARCA_ROOT/../shared/seeds/002_fe7e96e985917ee8.txt" /work/shared/seeds/002_fe7e96e985917ee8.txt; do
  [ -f "$seed" ] || continue
  python3 - "$seed" "$WORK/kv_secrets.seed.py" <<'PY'
import re, sys
doc = open(sys.argv[1], encoding="utf-8").read()
blocks = [b for b in re.findall(r"```python\n(.*?)```", doc, re.S) if 'os.environ["KEY_VAULT_NAME"]' in b]
if len(blocks) != 1:
    sys.exit(f"expected one quickstart block in {sys.argv[1]}, found {len(blocks)}")
open(sys.argv[2], "w", encoding="utf-8").write(blocks[0])
PY
  cmp -s "$WORK/kv_secrets.seed.py" "$QS" || die "tests/python/kv_secrets.py differs from the quickstart in $seed"
  log "kv_secrets.py matches the seed document ($seed)"
  break
done
mkdir -p "$WORK/app" "$WORK/home"
cp "$QS" "$WORK/app/kv_secrets.py"

# 2. Arca on 443, DNS-pinned to vault.azure.net.
python3 -c 'import socket; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", 443)); s.close()' \
  || die "port 443 on 127.0.0.1 is in use (or not bindable); the quickstart needs it"
start_arca "$WORK/data" 443 --dns-suffix vault.azure.net
ENV_TEXT=$("$ARCA_BIN" env --data "$WORK/data") || die "arca env failed"
VAULT_NAME=$(ENV_TEXT=$ENV_TEXT bash -c 'eval "$ENV_TEXT"; printf %s "$KEY_VAULT_NAME"')
VAULT_URL=$(ENV_TEXT=$ENV_TEXT bash -c 'eval "$ENV_TEXT"; printf %s "$AZURE_KEYVAULT_URL"')
[ -n "$VAULT_NAME" ] || die "arca env printed no KEY_VAULT_NAME"
[ "$VAULT_URL" = "https://$VAULT_NAME.vault.azure.net" ] \
  || log "WARNING: AZURE_KEYVAULT_URL=$VAULT_URL, expected https://$VAULT_NAME.vault.azure.net"
make_hosts_file "$WORK/hosts" "$VAULT_NAME.vault.azure.net"

SECRET=quickstartSecret1
VALUE="arca-canary-qs-$RANDOM"
run_qs() {
  # clean environment: PATH, HOME and exactly what `arca env` exports
  printf '%s\n%s\n' "$SECRET" "$VALUE" | in_ns "$WORK/hosts" \
    env -i PATH="$VENV/bin:/usr/local/bin:/usr/bin:/bin" HOME="$WORK/home" LANG=C.UTF-8 ENV_TEXT="$ENV_TEXT" \
    bash -c 'eval "$ENV_TEXT"; unset ENV_TEXT; cd "$0" && exec python kv_secrets.py' "$WORK/app"
}

fail=0 pass=0
log "run 1: python kv_secrets.py (secret $SECRET)"
set +e; out1=$(run_qs 2>&1); rc1=$?; set -e
printf '%s\n' "$out1" | sed 's/^/  run1| /' >&2
if [ $rc1 -ne 0 ]; then
  log "FAIL: run 1 exited $rc1 (expected success)"; fail=$((fail + 1))
elif ! grep -qF "Your secret is '$VALUE'." <<<"$out1" || [ "$(grep -c '^ done\.$' <<<"$out1")" -ne 2 ]; then
  log "FAIL: run 1 output lacks the expected lines"; fail=$((fail + 1))
else
  log "PASS: run 1 set, read back and deleted the secret"; pass=$((pass + 1))
fi

log "run 2: same secret name again (expect the documented Conflict)"
set +e; out2=$(run_qs 2>&1); rc2=$?; set -e
printf '%s\n' "$out2" | sed 's/^/  run2| /' >&2
want="(Conflict) Secret $SECRET is currently in a deleted but recoverable state"
if [ $rc2 -eq 0 ]; then
  log "FAIL: run 2 succeeded; expected: $want"; fail=$((fail + 1))
elif ! grep -qF "$want" <<<"$out2"; then
  log "FAIL: run 2 failed without the expected message: $want"; fail=$((fail + 1))
else
  log "PASS: run 2 failed with: $want"; pass=$((pass + 1))
fi

echo "quickstart: $pass passed, $fail failed"
if [ $fail -ne 0 ]; then
  log "arca log:"; sed 's/^/  arca| /' "$ARCA_LOG" >&2 || true
  exit 1
fi
