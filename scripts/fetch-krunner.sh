#!/usr/bin/env bash
# Fetches backend.ai-krunner-static-gnu from PyPI and unpacks its self-contained Python
# environment into a versioned directory. The agent mounts that directory read-only at
# /opt/backend.ai in every container, so any glibc image can run our kernel runner.
#
#   scripts/fetch-krunner.sh      prints the runtime directory on its last line
set -euo pipefail
VERSION="${KRUNNER_VERSION:-4.4.0}"
ARCH="$(uname -m)"
CACHE="${BACKEND_CACHE_DIR:-$HOME/.cache/backend.ai}"
DEST="$CACHE/krunner/static-gnu-$VERSION-$ARCH"

if [ ! -x "$DEST/bin/python3" ]; then
  mkdir -p "$CACHE/krunner/wheels"
  whl=$(ls "$CACHE/krunner/wheels"/backend_ai_krunner_static_gnu-"$VERSION"-*.whl 2>/dev/null | head -1 || true)
  if [ -z "$whl" ]; then
    echo "[krunner] downloading backend.ai-krunner-static-gnu==$VERSION" >&2
    PIP_CONFIG_FILE=/dev/null python3 -m pip download -q --no-deps --only-binary=:all: \
      --cert /etc/ssl/certs/ca-certificates.crt --index-url https://pypi.org/simple/ \
      -d "$CACHE/krunner/wheels" "backend.ai-krunner-static-gnu==$VERSION" >&2
    whl=$(ls "$CACHE/krunner/wheels"/backend_ai_krunner_static_gnu-"$VERSION"-*.whl | head -1)
  fi
  echo "[krunner] unpacking the runtime into $DEST" >&2
  tmp=$(mktemp -d "$CACHE/krunner/unpack.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  python3 - "$whl" "$tmp" "$ARCH" <<'PY'
import sys, zipfile, tarfile, io, os
whl, dest, arch = sys.argv[1:4]
base = "ai/backend/krunner/static_gnu/"
with zipfile.ZipFile(whl) as z:
    with z.open(f"{base}krunner-env.static-gnu.{arch}.tar.xz") as f:
        with tarfile.open(fileobj=io.BytesIO(f.read()), mode="r:xz") as t:
            t.extractall(os.path.join(dest, "env"), filter="tar")
    ttyd = f"{base}ttyd_linux.{arch}.bin"
    if ttyd in z.namelist():
        os.makedirs(os.path.join(dest, "kernel"), exist_ok=True)
        out = os.path.join(dest, "kernel", "ttyd")
        with z.open(ttyd) as src, open(out, "wb") as dst:
            dst.write(src.read())
        os.chmod(out, 0o755)
PY
  # The tarball holds the environment either at its top or under one directory.
  envroot="$tmp/env"
  if [ ! -x "$envroot/bin/python3" ]; then
    envroot=$(dirname "$(dirname "$(find "$tmp/env" -path '*/bin/python3' | head -1)")")
  fi
  mkdir -p "$(dirname "$DEST")"
  rm -rf "$DEST"
  mv "$envroot" "$DEST"
  [ -f "$tmp/kernel/ttyd" ] && { mkdir -p "$DEST/../kernel-tools"; cp "$tmp/kernel/ttyd" "$DEST/../kernel-tools/ttyd-$ARCH"; }
fi
echo "$DEST"
