#!/usr/bin/env bash
# Installs the system packages the stack needs (Debian 12), only when something is missing.
set -euo pipefail
missing=()
have() { command -v "$1" >/dev/null 2>&1; }
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing+=(postgresql)
have psql || missing+=(postgresql-client)
have redis-server || missing+=(redis-server)
have etcd || missing+=(etcd-server)
have etcdctl || missing+=(etcd-client)
have dockerd || missing+=(docker.io)
have debootstrap || missing+=(debootstrap)
have mkfs.xfs || missing+=(xfsprogs)
have xz || missing+=(xz-utils)
have ssh-keygen || missing+=(openssh-client)   # the manager generates SSH keypairs
if [ ${#missing[@]} -gt 0 ]; then
  echo "[deps] installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "[deps] system packages ready"
