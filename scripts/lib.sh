# shellcheck shell=bash
# Shared helpers for Arca's client test runners. Source it; do not run it.
#
#   ARCA_ROOT   repository root (set here)
#   ARCA_BIN    the arca binary; when unset it is built from ./cmd/arca into bin/arca
#   ARCA_CACHE  cache dir for installs (default $ARCA_ROOT/.cache, self-ignored by git)

ARCA_ROOT=${ARCA_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
ARCA_CACHE=${ARCA_CACHE:-$ARCA_ROOT/.cache}

log() { printf '[%s] %s\n' "${ARCA_LOG_TAG:-arca-tests}" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ensure_cache_dir: create the cache dir and make git ignore it (a .gitignore inside it
# ignoring everything, the same trick .pytest_cache uses).
ensure_cache_dir() {
  mkdir -p "$ARCA_CACHE"
  [ -f "$ARCA_CACHE/.gitignore" ] || printf '# created by scripts/lib.sh\n*\n' >"$ARCA_CACHE/.gitignore"
}

# pick_python: the interpreter used for the venv (python3.11 preferred, as in CI).
pick_python() {
  if [ -n "${PYTHON:-}" ]; then echo "$PYTHON"; return; fi
  if command -v python3.11 >/dev/null 2>&1; then echo python3.11; else echo python3; fi
}

# pick_legacy_python: an interpreter for the track-1 client (azure-keyvault 1.1.0 calls
# inspect.getargspec, removed in 3.11): the newest installed python3.10 ... 3.8, else
# pick_python (the track-1 test then says so and applies its documented shim).
pick_legacy_python() {
  if [ -n "${ARCA_LEGACY_PYTHON:-}" ]; then echo "$ARCA_LEGACY_PYTHON"; return; fi
  local v
  for v in python3.10 python3.9 python3.8; do
    if command -v "$v" >/dev/null 2>&1 && "$v" -c 'import venv, ensurepip' >/dev/null 2>&1; then echo "$v"; return; fi
  done
  pick_python
}

# ensure_arca_bin: sets ARCA_BIN; builds bin/arca unless ARCA_BIN was given.
ensure_arca_bin() {
  if [ -n "${ARCA_BIN:-}" ]; then
    [ -x "$ARCA_BIN" ] || die "ARCA_BIN=$ARCA_BIN is not executable"
  else
    log "building bin/arca"
    (cd "$ARCA_ROOT" && go build -o bin/arca ./cmd/arca) || die "go build ./cmd/arca failed"
    ARCA_BIN=$ARCA_ROOT/bin/arca
  fi
  ARCA_BIN=$(cd "$(dirname "$ARCA_BIN")" && pwd)/$(basename "$ARCA_BIN")
  export ARCA_BIN
}

# free_port: print a free TCP port on 127.0.0.1.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_healthz URL CAFILE PID [ATTEMPTS]: bounded readiness poll (each attempt is one
# HTTPS request with a short timeout, retried a bounded number of times). Fails early
# when the server process PID has exited.
wait_healthz() {
  python3 "$ARCA_ROOT/scripts/wait_healthz.py" "$1" "$2" "$3" "${4:-300}"
}

# start_arca DATADIR PORT [extra serve args...]: starts `arca serve` in the background,
# logs to DATADIR.log, sets ARCA_PID, waits for /healthz. Register stop_arca in a trap.
# With ARCA_AUDIT_DIR set (scripts/test-clients.sh sets it), the audit log goes to a
# file of its own there, and the deployment's credentials are recorded as needles for
# scripts/scan-audit.sh (audit_record_deployment).
start_arca() {
  local data=$1 port=$2; shift 2
  ARCA_LOG=${data}.log
  local audit_args=()
  if [ -n "${ARCA_AUDIT_DIR:-}" ] && [[ " $* " != *" --audit-log"* ]]; then
    mkdir -p "$ARCA_AUDIT_DIR"
    local tag=${ARCA_LOG_TAG:-arca} af
    af=$(mktemp --suffix=.log "$ARCA_AUDIT_DIR/${tag//[^A-Za-z0-9_-]/-}.XXXXXX") || return 1
    audit_args=(--audit-log "$af")
  fi
  log "starting arca serve --data $data --port $port $* ${audit_args[*]}"
  "$ARCA_BIN" serve --data "$data" --port "$port" "$@" "${audit_args[@]}" >"$ARCA_LOG" 2>&1 &
  ARCA_PID=$!
  if ! wait_healthz "https://localhost:$port/healthz" "$data/ca.pem" "$ARCA_PID"; then
    log "arca did not become healthy; its log follows"
    sed 's/^/  arca| /' "$ARCA_LOG" >&2 || true
    return 1
  fi
  audit_record_deployment "$data" || return 1
  log "arca is up (pid $ARCA_PID)"
}

# audit_needle LABEL VALUE: with ARCA_AUDIT_DIR set, record VALUE (a credential or a
# secret value a test uses) in $ARCA_AUDIT_DIR/needles.txt ("LABEL<TAB>VALUE" lines):
# scripts/scan-audit.sh fails if it appears in any audit log. No-op otherwise.
audit_needle() {
  [ -n "${ARCA_AUDIT_DIR:-}" ] && [ -n "${2:-}" ] || return 0
  mkdir -p "$ARCA_AUDIT_DIR"
  (umask 077; printf '%s\t%s\n' "$1 (${ARCA_LOG_TAG:-arca})" "$2" >>"$ARCA_AUDIT_DIR/needles.txt")
}

# audit_record_deployment DATADIR: the deployment's own credentials as needles: the
# development client secret and the managed identity header of `arca env`, and the
# root key. No-op without ARCA_AUDIT_DIR.
audit_record_deployment() {
  [ -n "${ARCA_AUDIT_DIR:-}" ] || return 0
  local out vals cs ih
  out=$("$ARCA_BIN" env --data "$1") || { log "arca env --data $1 failed (audit needles)"; return 1; }
  vals=$(ENV_TEXT=$out bash -c 'eval "$ENV_TEXT"; printf "%s\n%s\n" "$AZURE_CLIENT_SECRET" "$IDENTITY_HEADER"')
  { read -r cs; read -r ih; } <<<"$vals"
  [ -n "$cs" ] && [ -n "$ih" ] || { log "arca env printed no AZURE_CLIENT_SECRET/IDENTITY_HEADER (audit needles)"; return 1; }
  audit_needle "AZURE_CLIENT_SECRET" "$cs"
  audit_needle "IDENTITY_HEADER" "$ih"
  [ -r "$1/root.key" ] && audit_needle "root key" "$(tr -d ' \n' <"$1/root.key")"
  return 0
}

# stop_arca: kill the server started by start_arca (by pid), if still running.
stop_arca() {
  if [ -n "${ARCA_PID:-}" ] && kill -0 "$ARCA_PID" 2>/dev/null; then
    kill "$ARCA_PID" 2>/dev/null || true
    wait "$ARCA_PID" 2>/dev/null || true
  fi
  ARCA_PID=
}

# kill_pidfile FILE: kill the process whose pid a test wrote to FILE (if it still runs).
kill_pidfile() {
  local f=$1 pid
  [ -f "$f" ] || return 0
  while read -r pid; do
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && kill "$pid" 2>/dev/null
  done <"$f"
  return 0
}

# arca_env DATADIR: evaluates `arca env --data DATADIR` into the current shell (exported).
arca_env() {
  local out
  out=$("$ARCA_BIN" env --data "$1") || die "arca env --data $1 failed"
  eval "$out"
}

# make_hosts_file OUT NAME...: OUT = copy of /etc/hosts plus "127.0.0.1 NAME" lines.
make_hosts_file() {
  local out=$1; shift
  cp /etc/hosts "$out"
  printf '\n# added by arca client tests (private mount namespace only)\n' >>"$out"
  local n
  for n in "$@"; do printf '127.0.0.1 %s\n' "$n" >>"$out"; done
}

# in_ns HOSTSFILE CMD...: run CMD with HOSTSFILE bind-mounted over /etc/hosts inside a
# private mount namespace. The machine's /etc/hosts is never modified.
in_ns() {
  local hosts=$1; shift
  local ns=(--mount)
  # without root, a user namespace gives the (private) mount namespace its own root
  [ "$(id -u)" -eq 0 ] || ns=(--user --map-root-user --mount)
  unshare "${ns[@]}" -- sh -c 'mount --bind "$0" /etc/hosts && exec "$@"' "$hosts" "$@"
}

# vault_host_from_url URL: print the host (no scheme, no port, no path).
vault_host_from_url() {
  python3 -c 'import sys,urllib.parse; print(urllib.parse.urlsplit(sys.argv[1]).hostname)' "$1"
}
