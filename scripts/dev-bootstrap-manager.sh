#!/usr/bin/env bash
# Prepares the manager's cluster state for the development stack (scripts/dev-up.sh runs it
# after ./manager.toml exists). Idempotent and quick on re-runs: every step first checks
# (with psql / etcdctl / docker) whether its result is already there.
#
#   scripts/dev-bootstrap-manager.sh [path/to/manager.toml [path/to/storage-proxy.toml]]
#
# 1. etcd: config/redis/addr (the halfstack Redis) in the manager's namespace
# 2. database: `mgr schema oneshot` when the schema is missing
# 3. fixtures: example keypairs (superadmin, user, domain admin) and resource presets
# 4. images: `mgr image rescan` from the local Docker daemon, and the alias "python"
# 5. vfolders (when storage-proxy.toml exists): user and project vfolder types
#    (volumes/_types), and every volume of the storage proxy allowed with all actions for
#    the default domain, project and keypair resource policy (the install guide's
#    allowed_vfolder_hosts step). The proxy registers volumes/proxies/NAME itself on start.
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIG="${1:-manager.toml}"
STORAGE_CONFIG="${2:-${BACKEND_STORAGE_CONFIG:-storage-proxy.toml}}"
[ -f "$CONFIG" ] || { echo "[bootstrap] $CONFIG not found (copy configs/manager/halfstack.toml)" >&2; exit 1; }
REDIS_ADDR="${BACKEND_REDIS_ADDR:-127.0.0.1:8110}"
KERNEL_IMAGE="${BACKEND_KERNEL_IMAGE:-cr.backend.ai/stable/python:3.11-debian12}"
MGR=(./backend.ai mgr -f "$CONFIG")

# Connection settings from manager.toml, as shell variables.
eval "$(./py - "$CONFIG" <<'PY'
import shlex, sys, tomllib
cfg = tomllib.load(open(sys.argv[1], "rb"))
def addr(v, default):
    if isinstance(v, dict):
        return str(v["host"]), str(v["port"])
    host, _, port = str(v or default).rpartition(":")
    return host, port
db, etcd = cfg.get("db", {}), cfg.get("etcd", {})
h, p = addr(db.get("addr"), "127.0.0.1:8100")
eh, ep = addr(etcd.get("addr"), "127.0.0.1:8120")
for k, v in {"PGHOST": h, "PGPORT": p, "PGDATABASE": db.get("name", "backend"), "PGUSER": db.get("user", "postgres"),
             "PGPASSWORD": db.get("password", ""), "ETCD_ENDPOINT": f"{eh}:{ep}",
             "ETCD_NS": etcd.get("namespace", "local")}.items():
    print(f"export {k}={shlex.quote(str(v))}")
PY
)"

sql() { psql -qtAX -v ON_ERROR_STOP=1 -c "$1" 2>/dev/null; }
etcdget() { ETCDCTL_API=3 etcdctl --endpoints "$ETCD_ENDPOINT" get --print-value-only "/sorna/$ETCD_NS/$1" 2>/dev/null; }

# 0. the database itself
if ! psql -qtAX -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$PGDATABASE'" | grep -q 1; then
  echo "[bootstrap] creating database $PGDATABASE"
  psql -qX -d postgres -c "CREATE DATABASE \"$PGDATABASE\""
fi

# 1. etcd
if [ "$(etcdget config/redis/addr)" != "$REDIS_ADDR" ]; then
  echo "[bootstrap] etcd: config/redis/addr = $REDIS_ADDR"
  "${MGR[@]}" etcd put config/redis/addr "$REDIS_ADDR"
fi

# 2. schema
if [ "$(sql "SELECT to_regclass('public.alembic_version') IS NOT NULL")" != "t" ]; then
  echo "[bootstrap] creating the database schema"
  "${MGR[@]}" schema oneshot
fi

# 3. fixtures
if [ "$(sql "SELECT count(*) FROM keypairs WHERE access_key = 'AKIAIOSFODNN7EXAMPLE'")" != "1" ]; then
  echo "[bootstrap] populating fixtures/example-keypairs.json"
  "${MGR[@]}" fixture populate fixtures/example-keypairs.json
fi
if [ "$(sql "SELECT count(*) FROM resource_presets")" = "0" ]; then
  echo "[bootstrap] populating fixtures/example-resource-presets.json"
  "${MGR[@]}" fixture populate fixtures/example-resource-presets.json
fi

# 4. images from the local Docker daemon
image_id=$(docker image inspect --format '{{.Id}}' "$KERNEL_IMAGE" 2>/dev/null || true)
if [ -z "$image_id" ]; then
  echo "[bootstrap] warning: $KERNEL_IMAGE is not in the local Docker daemon (scripts/build-kernel-image.sh)" >&2
elif [ "$(sql "SELECT count(*) FROM images WHERE name = '$KERNEL_IMAGE' AND config_digest = '$image_id'")" = "0" ]; then
  echo "[bootstrap] registering kernel images from the local Docker daemon"
  "${MGR[@]}" image rescan local
fi
if [ -n "$image_id" ] && [ "$(sql "SELECT count(*) FROM image_aliases a JOIN images i ON a.image = i.id WHERE a.alias = 'python' AND i.name = '$KERNEL_IMAGE'")" = "0" ]; then
  "${MGR[@]}" image alias python "$KERNEL_IMAGE"
fi
# 5. vfolders
if [ -f "$STORAGE_CONFIG" ]; then
  eval "$(./py - "$STORAGE_CONFIG" <<'PY'
import shlex, sys, tomllib
cfg = tomllib.load(open(sys.argv[1], "rb"))
sp = cfg.get("storage-proxy", {})
proxy = sp.get("proxy-name") or sp.get("node-id") or ""
hosts = " ".join(f"{proxy}:{v}" for v in cfg.get("volume", {}))
print(f"export SP_NS={shlex.quote(str(cfg.get('etcd', {}).get('namespace', 'local')))}")
print(f"export SP_HOSTS={shlex.quote(hosts)}")
PY
)"
  if [ "$SP_NS" != "$ETCD_NS" ]; then
    echo "[bootstrap] warning: $STORAGE_CONFIG registers in etcd namespace '$SP_NS', the manager reads '$ETCD_NS'" >&2
  fi
  for kind in user group; do
    if [ -z "$(ETCDCTL_API=3 etcdctl --endpoints "$ETCD_ENDPOINT" get --keys-only "/sorna/$ETCD_NS/volumes/_types/$kind" 2>/dev/null)" ]; then
      echo "[bootstrap] etcd: volumes/_types/$kind"
      "${MGR[@]}" etcd put "volumes/_types/$kind" ""
    fi
  done
  perms='["create-vfolder", "modify-vfolder", "delete-vfolder", "mount-in-session", "upload-file", "download-file", "invite-others", "set-user-specific-permission"]'
  for host in $SP_HOSTS; do
    for target in "domains|name = 'default'" \
                  "groups|name = 'default' AND domain_name = 'default'" \
                  "keypair_resource_policies|name = 'default'"; do
      table=${target%%|*} where="${target#*|} AND NOT allowed_vfolder_hosts ? '$host'"
      if [ "$(sql "SELECT count(*) FROM $table WHERE $where")" != "0" ]; then
        echo "[bootstrap] allowing vfolder host $host in $table (default)"
        psql -qtAX -v ON_ERROR_STOP=1 -c "UPDATE $table SET allowed_vfolder_hosts = allowed_vfolder_hosts || jsonb_build_object('$host', '$perms'::jsonb) WHERE $where" >/dev/null
      fi
    done
  done
fi
echo "[bootstrap] manager state ready (database $PGDATABASE, etcd namespace $ETCD_NS)"
