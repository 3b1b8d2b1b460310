#!/usr/bin/env bash
# The embedded halfstack: PostgreSQL, Redis and etcd from Debian packages, run as plain
# processes bound to 127.0.0.1 with their data under the working copy. This is the default on
# hosts that cannot pull container images; docker-compose.halfstack.yml is the alternative.
#
#   scripts/halfstack.sh start|stop|status|env [--dir DIR] [--pg-port N] [--redis-port N] [--etcd-port N]
#
# Several instances may run side by side with distinct --dir and ports.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CMD="${1:-status}"; shift || true
DIR="$ROOT/.tmp/halfstack"
PG_PORT=8100 REDIS_PORT=8110 ETCD_PORT=8120
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) DIR="$2"; shift 2;;
    --pg-port) PG_PORT="$2"; shift 2;;
    --redis-port) REDIS_PORT="$2"; shift 2;;
    --etcd-port) ETCD_PORT="$2"; shift 2;;
    *) echo "unknown option: $1" >&2; exit 2;;
  esac
done
ETCD_PEER_PORT=$((ETCD_PORT + 200))
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
PG_USER=postgres PG_PASSWORD=develove PG_DB=backend

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() {  # port name [seconds]
  local i
  for ((i = 0; i < ${3:-30} * 10; i++)); do port_open "$1" && return 0; sleep 0.1; done
  echo "[halfstack] $2 did not open port $1; see $DIR/$2.log" >&2; return 1
}
need() {
  command -v "$1" >/dev/null 2>&1 || [ -x "$1" ] || {
    echo "[halfstack] $1 is missing: run scripts/install-deps.sh first" >&2; exit 1; }
}

start_postgres() {
  need "$PG_BIN/postgres"
  local data="$DIR/postgres"
  if port_open "$PG_PORT"; then echo "[halfstack] postgres already on :$PG_PORT"; return; fi
  mkdir -p "$DIR"
  if [ ! -f "$data/PG_VERSION" ]; then
    install -d -o postgres -g postgres -m 700 "$data"
    local pwfile; pwfile=$(mktemp); echo "$PG_PASSWORD" > "$pwfile"; chmod 644 "$pwfile"
    runuser -u postgres -- "$PG_BIN/initdb" -D "$data" -U "$PG_USER" --pwfile="$pwfile" \
      --auth=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$DIR/postgres-initdb.log" 2>&1
    rm -f "$pwfile"
  fi
  touch "$DIR/postgres.log"; chown postgres "$DIR/postgres.log"
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$data" -l "$DIR/postgres.log" -w -s start -o \
    "-c listen_addresses=127.0.0.1 -c port=$PG_PORT -c unix_socket_directories=$data -c max_connections=512 -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  if ! PGPASSWORD=$PG_PASSWORD psql -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname='$PG_DB'" | grep -q 1; then
    PGPASSWORD=$PG_PASSWORD psql -q -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d postgres -c "CREATE DATABASE $PG_DB"
  fi
  echo "[halfstack] postgres on 127.0.0.1:$PG_PORT (user $PG_USER, db $PG_DB)"
}

start_redis() {
  need redis-server
  if port_open "$REDIS_PORT"; then echo "[halfstack] redis already on :$REDIS_PORT"; return; fi
  mkdir -p "$DIR/redis"
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$DIR/redis" --daemonize yes \
    --pidfile "$DIR/redis.pid" --logfile "$DIR/redis.log" --appendonly no --save "" \
    --protected-mode no
  wait_port "$REDIS_PORT" redis
  echo "[halfstack] redis on 127.0.0.1:$REDIS_PORT"
}

start_etcd() {
  need etcd
  if port_open "$ETCD_PORT"; then echo "[halfstack] etcd already on :$ETCD_PORT"; return; fi
  mkdir -p "$DIR/etcd"
  setsid nohup etcd --name halfstack --data-dir "$DIR/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "halfstack=http://127.0.0.1:$ETCD_PEER_PORT" --initial-cluster-state new \
    --auto-compaction-retention 1 --unsafe-no-fsync >"$DIR/etcd.log" 2>&1 < /dev/null &
  echo $! > "$DIR/etcd.pid"
  wait_port "$ETCD_PORT" etcd
  echo "[halfstack] etcd on 127.0.0.1:$ETCD_PORT"
}

stop_all() {
  if [ -f "$DIR/postgres/postmaster.pid" ]; then
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$DIR/postgres" -s -m fast stop || true
  fi
  for svc in redis etcd; do
    if [ -f "$DIR/$svc.pid" ]; then
      local pid; pid=$(cat "$DIR/$svc.pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      rm -f "$DIR/$svc.pid"
    fi
  done
  echo "[halfstack] stopped ($DIR)"
}

status_all() {
  local rc=0
  for pair in "postgres:$PG_PORT" "redis:$REDIS_PORT" "etcd:$ETCD_PORT"; do
    if port_open "${pair#*:}"; then echo "${pair%%:*}: up (127.0.0.1:${pair#*:})"
    else echo "${pair%%:*}: down"; rc=3; fi
  done
  return $rc
}

case "$CMD" in
  start) start_postgres; start_redis; start_etcd;;
  stop) stop_all;;
  status) status_all;;
  env)  # addresses for tests and tools, as shell assignments
    echo "BACKEND_TEST_PG_ADDR=postgresql://$PG_USER:$PG_PASSWORD@127.0.0.1:$PG_PORT/$PG_DB"
    echo "BACKEND_TEST_REDIS_ADDR=127.0.0.1:$REDIS_PORT"
    echo "BACKEND_TEST_ETCD_ADDR=127.0.0.1:$ETCD_PORT";;
  *) echo "usage: $0 start|stop|status|env [--dir DIR] [--pg-port N] [--redis-port N] [--etcd-port N]" >&2; exit 2;;
esac
