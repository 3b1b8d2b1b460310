#!/usr/bin/env bash
# Builds the default Backend.AI kernel image without a registry: a debootstrap'ed Debian 12
# minbase with python3 imported into the local Docker daemon, then labelled as the manual's
# "Metadata Labels" section describes (scripts/kernel-image/Dockerfile). The rootfs tarball is
# cached, so rebuilds take seconds.
#
#   scripts/build-kernel-image.sh [IMAGE_NAME]   (default: cr.backend.ai/stable/python:3.11-debian12)
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGE="${1:-cr.backend.ai/stable/python:3.11-debian12}"
CACHE="${BACKEND_CACHE_DIR:-$HOME/.cache/backend.ai}"
ROOTFS_TAR="$CACHE/rootfs-debian12-python3.tar"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
DOCKER="${DOCKER:-/usr/bin/docker}"
[ -x "$DOCKER" ] || DOCKER=docker

# Rebuild when the image definition changes (its hash is kept as a label).
BUILD_HASH=$(cat scripts/kernel-image/Dockerfile scripts/kernel-image/service-defs/* | sha256sum | cut -c1-16)
current=$("$DOCKER" image inspect --format '{{index .Config.Labels "io.backend-ai.build-hash"}}' "$IMAGE" 2>/dev/null || true)
if [ "$current" = "$BUILD_HASH" ] && [ "${FORCE:-0}" != 1 ]; then
  echo "[kernel-image] $IMAGE is up to date"; exit 0
fi

if [ ! -s "$ROOTFS_TAR" ]; then
  command -v debootstrap >/dev/null || { echo "[kernel-image] debootstrap missing: run scripts/install-deps.sh" >&2; exit 1; }
  mkdir -p "$CACHE"
  work=$(mktemp -d "$CACHE/rootfs.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  echo "[kernel-image] debootstrap bookworm (minbase + python3) ... (about a minute, once)"
  debootstrap --variant=minbase --include=python3,ca-certificates bookworm "$work/root" "$MIRROR" \
    >"$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  # Trim caches that only bloat the image.
  rm -rf "$work/root/var/cache/apt/archives/"*.deb "$work/root/var/lib/apt/lists/"*
  tar -C "$work/root" -cf "$ROOTFS_TAR.partial" .
  mv "$ROOTFS_TAR.partial" "$ROOTFS_TAR"
fi

BASE=backendai-base/debian12-python3:latest
if [ -z "$("$DOCKER" images -q "$BASE" 2>/dev/null)" ] || [ "${FORCE:-0}" = 1 ]; then
  echo "[kernel-image] importing the rootfs as $BASE"
  "$DOCKER" import "$ROOTFS_TAR" "$BASE" >/dev/null
fi
echo "[kernel-image] building $IMAGE (labels and service definitions)"
# The classic builder needs no registry: the base image is local.
DOCKER_BUILDKIT=0 "$DOCKER" build -q --build-arg BASE="$BASE" --label "io.backend-ai.build-hash=$BUILD_HASH" \
  -t "$IMAGE" scripts/kernel-image >/dev/null
echo "[kernel-image] built $IMAGE"
