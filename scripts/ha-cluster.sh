#!/usr/bin/env bash
# make ha-cluster: the README's local example of Arca on etcd ("High availability on etcd"),
# for a person to try. On loopback:
#
#   3 etcd members   clients https://127.0.0.1:2379, :22379, :32379 (TLS, client certificates)
#                    peers   https://127.0.0.1:2380, :22380, :32380
#   3 Arca nodes     https://127.0.0.1:9441, :9442, :9443  (arca serve --storage etcd --public-port 8443)
#   HAProxy          127.0.0.1:8443, TCP mode: TLS passes through to the nodes
#
# It builds bin/arca and etcd (from tools/etcd, once), makes a CA and the etcd server and client
# certificates with openssl, installs HAProxy with apt-get when missing, runs `arca init --storage
# etcd` on first start, copies root.key to every node, prints how to connect, and stops everything
# it started (by PID) on Ctrl-C. The state is kept in HA_DIR: run it again to restart the same
# cluster; `rm -rf HA_DIR` to start afresh.
#
#   HA_DIR=DIR           state directory (default .cache/ha-cluster)
#   HA_PUBLIC_PORT=8443  the balancer's port, written into vault URLs and the token issuer
#   HA_NODE_PORTS="9441 9442 9443"
#   ARCA_BIN, ARCA_ETCD  use these binaries instead of building them
set -euo pipefail
ARCA_LOG_TAG=ha-cluster
. "$(dirname "$0")/lib.sh"
cd "$ARCA_ROOT"
GO=${GO:-go}
ensure_cache_dir

DIR=${HA_DIR:-$ARCA_CACHE/ha-cluster}
mkdir -p "$DIR" && DIR=$(cd "$DIR" && pwd)
PUBLIC=${HA_PUBLIC_PORT:-8443}
read -r -a NODE_PORTS <<<"${HA_NODE_PORTS:-9441 9442 9443}"
ETCD_CLIENT=(2379 22379 32379)
ETCD_PEER=(2380 22380 32380)
[ ${#NODE_PORTS[@]} -eq 3 ] || die "HA_NODE_PORTS: want three ports"

# --- tools --------------------------------------------------------------------------------
need=()
command -v haproxy >/dev/null || need+=(haproxy)
command -v openssl >/dev/null || need+=(openssl)
command -v curl >/dev/null || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
  sudo=(); [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  log "installing ${need[*]} from Debian's packages (apt-get)"
  "${sudo[@]}" apt-get update -qq && DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${need[@]}" >/dev/null \
    || die "apt-get install ${need[*]} failed"
fi
ETCD=$($GO run ./storage/etcd/etcdtest/buildetcd) || die "building etcd from tools/etcd failed"
ensure_arca_bin

pids=()
# stop_all stops what this script started, by PID, in the reverse order: the balancer, the
# nodes (which resign their leadership while etcd still answers), then the etcd members.
stop_all() {
  trap - INT TERM EXIT
  log "stopping: ${pids[*]:-nothing}"
  local i p
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    p=${pids[$i]}
    kill "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  log "stopped; state kept in $DIR"
}
trap stop_all EXIT
trap 'exit 130' INT TERM

for p in "${ETCD_CLIENT[@]}" "${ETCD_PEER[@]}" "${NODE_PORTS[@]}" "$PUBLIC"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then die "port $p on 127.0.0.1 is in use"; fi
done

# --- certificates for etcd (CA, member certificate, Arca's client certificate) -------------
C=$DIR/certs
if [ ! -f "$C/arca-client.pem" ]; then
  log "making the etcd CA and certificates in $C"
  mkdir -p "$C" && chmod 700 "$C"
  ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
  openssl req -x509 "${ec[@]}" -keyout "$C/ca-key.pem" -out "$C/ca.pem" -days 825 -subj "/CN=Arca local etcd CA" 2>/dev/null
  issue() { # NAME CN EXTENSIONS
    openssl req "${ec[@]}" -keyout "$C/$1-key.pem" -out "$C/$1.csr" -subj "/CN=$2" 2>/dev/null
    printf '%b' "$3" >"$C/$1.ext"
    openssl x509 -req -in "$C/$1.csr" -CA "$C/ca.pem" -CAkey "$C/ca-key.pem" -CAcreateserial -days 825 \
      -extfile "$C/$1.ext" -out "$C/$1.pem" 2>/dev/null
    rm -f "$C/$1.csr" "$C/$1.ext"
  }
  # The members' certificate serves clients and peers, and authenticates a member to its peers
  # (and etcd's JSON gateway to the member itself): both usages.
  issue etcd-member etcd 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n'
  issue arca-client arca 'extendedKeyUsage=clientAuth\n'
  chmod 600 "$C"/*-key.pem
fi

# --- etcd -----------------------------------------------------------------------------------
initial=()
for i in 0 1 2; do initial+=("m$i=https://127.0.0.1:${ETCD_PEER[$i]}"); done
initial=$(IFS=,; echo "${initial[*]}")
endpoints=()
for i in 0 1 2; do
  m=$DIR/etcd/m$i
  mkdir -p "$DIR/etcd"
  log "starting etcd m$i on https://127.0.0.1:${ETCD_CLIENT[$i]} (log $m.log)"
  "$ETCD" --name "m$i" --data-dir "$m" \
    --listen-client-urls "https://127.0.0.1:${ETCD_CLIENT[$i]}" --advertise-client-urls "https://127.0.0.1:${ETCD_CLIENT[$i]}" \
    --listen-peer-urls "https://127.0.0.1:${ETCD_PEER[$i]}" --initial-advertise-peer-urls "https://127.0.0.1:${ETCD_PEER[$i]}" \
    --initial-cluster "$initial" --initial-cluster-state new --initial-cluster-token arca-local \
    --client-cert-auth --trusted-ca-file "$C/ca.pem" --cert-file "$C/etcd-member.pem" --key-file "$C/etcd-member-key.pem" \
    --peer-client-cert-auth --peer-trusted-ca-file "$C/ca.pem" --peer-cert-file "$C/etcd-member.pem" --peer-key-file "$C/etcd-member-key.pem" \
    --max-txn-ops=16384 --max-request-bytes=8388608 \
    --auto-compaction-mode=periodic --auto-compaction-retention=1h \
    --listen-metrics-urls "http://127.0.0.1:$((ETCD_CLIENT[i] + 10))" --log-level warn >>"$m.log" 2>&1 &
  pids+=($!)
  endpoints+=("https://127.0.0.1:${ETCD_CLIENT[$i]}")
done
ENDPOINTS=$(IFS=,; echo "${endpoints[*]}")
for e in "${endpoints[@]}"; do
  for _ in $(seq 1 200); do
    curl -fsS --max-time 2 --cacert "$C/ca.pem" --cert "$C/arca-client.pem" --key "$C/arca-client-key.pem" "$e/health" 2>/dev/null \
      | grep -q '"health":"true"' && break
    sleep 0.2
  done
  curl -fsS --max-time 2 --cacert "$C/ca.pem" --cert "$C/arca-client.pem" --key "$C/arca-client-key.pem" "$e/health" >/dev/null \
    || die "etcd $e is not healthy; see $DIR/etcd/*.log"
done
log "etcd is up: $ENDPOINTS"

# --- Arca -----------------------------------------------------------------------------------
storage=(--storage etcd --etcd-endpoints "$ENDPOINTS"
  --etcd-cacert "$C/ca.pem" --etcd-cert "$C/arca-client.pem" --etcd-key "$C/arca-client-key.pem"
  --etcd-max-txn-ops 16384 --etcd-max-request-bytes 8388608)
if [ ! -f "$DIR/init/root.key" ]; then
  log "arca init --storage etcd (once for the cluster)"
  "$ARCA_BIN" init --data "$DIR/init" "${storage[@]}"
fi
node_pids=()
for i in 0 1 2; do
  d=$DIR/node$i
  mkdir -p "$d" && chmod 700 "$d"
  cp "$DIR/init/root.key" "$d/root.key"
  log "starting arca node$i on https://127.0.0.1:${NODE_PORTS[$i]} (log $d.log)"
  "$ARCA_BIN" serve --data "$d" --port "${NODE_PORTS[$i]}" --public-port "$PUBLIC" --listen 127.0.0.1 "${storage[@]}" >>"$d.log" 2>&1 &
  pids+=($!) node_pids+=($!)
done
for i in 0 1 2; do
  wait_healthz "https://localhost:${NODE_PORTS[$i]}/healthz" "$DIR/init/ca.pem" "${node_pids[$i]}" \
    || die "arca node$i did not become healthy; see $DIR/node$i.log"
done

# --- HAProxy: TCP, TLS passed through, health-checked by GET /healthz -------------------------
cat >"$DIR/haproxy.cfg" <<EOF
# Arca's local example: one public port in front of three nodes. TCP mode: each client's TLS
# session ends at a node (Arca's certificate, the vault host names, HTTP/2 all pass through).
global
    maxconn 4096
defaults
    mode tcp
    retries 2
    option redispatch         # a refused connection is retried on another node
    timeout connect 3s
    timeout client  5m
    timeout server  5m
frontend arca
    bind 127.0.0.1:$PUBLIC
    default_backend arca_nodes
backend arca_nodes
    balance leastconn
    option httpchk
    http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host localhost
    default-server check check-ssl verify none inter 1s fall 2 rise 2
    server node0 127.0.0.1:${NODE_PORTS[0]}
    server node1 127.0.0.1:${NODE_PORTS[1]}
    server node2 127.0.0.1:${NODE_PORTS[2]}
EOF
haproxy -c -q -f "$DIR/haproxy.cfg" || die "haproxy rejected $DIR/haproxy.cfg"
log "starting haproxy on 127.0.0.1:$PUBLIC (config $DIR/haproxy.cfg, log $DIR/haproxy.log)"
haproxy -db -f "$DIR/haproxy.cfg" >>"$DIR/haproxy.log" 2>&1 &
pids+=($!)
wait_healthz "https://localhost:$PUBLIC/healthz" "$DIR/init/ca.pem" "$!" || die "haproxy does not reach the nodes; see $DIR/haproxy.log"

cat <<EOF

Arca on etcd is running: 3 etcd members, 3 Arca nodes, HAProxy on https://localhost:$PUBLIC.

  etcd      $ENDPOINTS   (pids ${pids[0]} ${pids[1]} ${pids[2]})
  nodes     https://127.0.0.1:${NODE_PORTS[0]}, :${NODE_PORTS[1]}, :${NODE_PORTS[2]}   (pids ${node_pids[*]})
  balancer  127.0.0.1:$PUBLIC   (pid ${pids[6]})

Connect (every node writes the same variables; the vault URL and the token issuer use port $PUBLIC):

  eval "\$($ARCA_BIN env --data $DIR/node0)"
  curl --cacert "\$SSL_CERT_FILE" https://localhost:$PUBLIC/healthz
  # the vault host arca.vault.localhost must resolve to 127.0.0.1 for the client (an /etc/hosts
  # line, libnss-myhostname, or curl --resolve arca.vault.localhost:$PUBLIC:127.0.0.1)

Try a failure: kill -9 one node or one etcd member (pids above); HAProxy stops sending to a dead
node within two seconds, and the nodes keep serving while two etcd members of three are up.
Restart by running this again after Ctrl-C (the state in $DIR is kept).

Ctrl-C stops everything.
EOF
sleep infinity &
pids+=($!)
wait $!
