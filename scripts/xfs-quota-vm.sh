#!/usr/bin/env bash
# A throwaway qemu guest whose kernel has XFS project quotas (CONFIG_XFS_QUOTA=y), for testing the
# storage proxy's `xfs` backend where the host kernel lacks them. It uses KVM when the guest boots
# under it and TCG otherwise (about 10 s to boot under TCG; the xfs test takes 20-35 s in all).
#
#   scripts/xfs-quota-vm.sh [prepare]        builds the guest once; prints its directory
#   scripts/xfs-quota-vm.sh run JOBDIR [DISK] boots it and runs JOBDIR/run inside; exits with its status
# (prepare also copies this script to ~/.cache/backend.ai/xfs-vm/xfs-quota-vm.sh for the tests).
#
# prepare (idempotent, cached in ~/.cache/backend.ai/xfs-vm): installs qemu-system-x86, unpacks
# Debian's linux-image-amd64 with `dpkg -x` (the host's boot is untouched) and packs an initramfs
# of busybox-static plus the modules the guest needs (virtio, 9p, xfs, crc32c and their
# dependencies from modules.dep).
#
# The guest's /init mounts the host's / read-only over 9p (tag hostroot), mounts JOBDIR writable
# over the same path (tag job), adds /proc, /sys and /dev, then chroots into the host root and
# runs JOBDIR/run with the host's own binaries (mkfs.xfs, xfs_quota, python). DISK, if given, is
# /dev/vda. The console (serial) shows the output; the last line is `XFSVM-EXIT <status>`.
set -euo pipefail
CACHE="${XFSVM_CACHE:-${BACKEND_CACHE_DIR:-$HOME/.cache/backend.ai}/xfs-vm}"
FORMAT=8   # bump when the initramfs layout or /init changes
# crc32c_generic first: libcrc32c (for xfs) needs a crc32c implementation when it loads
MODULES="crc32c_generic virtio_pci virtio_blk 9pnet_virtio 9p xfs"

ready() { [ "$(cat "$CACHE/ready" 2>/dev/null)" = "$FORMAT" ] && [ -f "$CACHE/vmlinuz" ] && [ -f "$CACHE/initrd.gz" ] \
  && command -v qemu-system-x86_64 >/dev/null; }

write_init() {
  cat >"$1" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo "xfsvm: kernel up after $(cut -d' ' -f1 /proc/uptime) s"
modprobe -a $(cat /modules.load) || echo "xfsvm: loading modules failed"
job=$(sed -n 's/.*xfsvm\.job=\([^ ]*\).*/\1/p' /proc/cmdline)
[ -n "$job" ] || { echo "XFSVM-EXIT 0"; poweroff -f; }   # a boot probe: no job
opts=trans=virtio,version=9p2000.L,msize=512000
rc=1
if ! mount -t 9p -o "$opts,ro,cache=loose" hostroot /newroot; then
  echo "xfsvm: cannot mount the host root over 9p"
elif ! mount -t 9p -o "$opts" job "/newroot$job"; then
  echo "xfsvm: cannot mount the job directory $job"
else
  mount -t proc proc /newroot/proc
  mount -t sysfs sys /newroot/sys
  mount -t devtmpfs dev /newroot/dev
  echo "xfsvm: guest up after $(cut -d' ' -f1 /proc/uptime) s; running $job/run"
  env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
    TMPDIR="$job/tmp" PYTHONDONTWRITEBYTECODE=1 XFSVM_JOB="$job" \
    chroot /newroot /bin/sh -c 'mkdir -p "$TMPDIR" && cd "$XFSVM_JOB" && exec ./run' </dev/null
  rc=$?
  umount /newroot/dev /newroot/sys /newroot/proc "/newroot$job" 2>/dev/null
fi
sync
echo "XFSVM-EXIT $rc"
poweroff -f
EOF
  chmod +x "$1"
}

prepare() {
  mkdir -p "$CACHE"
  exec 9>"$CACHE/.lock"
  flock 9   # several worktrees / CI jobs may ask at once
  ready && return 0
  export DEBIAN_FRONTEND=noninteractive
  if ! command -v qemu-system-x86_64 >/dev/null; then
    echo "[xfs-vm] installing qemu-system-x86" >&2
    apt-get install -y -qq --no-install-recommends qemu-system-x86 >/dev/null 2>&1 \
      || { apt-get update -qq && apt-get install -y -qq --no-install-recommends qemu-system-x86 >/dev/null; }
  fi
  local pkg attempt
  rm -rf "$CACHE/debs" "$CACHE/kernel" "$CACHE/busybox" "$CACHE/initramfs"
  mkdir -p "$CACHE/debs"
  for attempt in 1 2; do   # stale package lists name superseded versions: refresh them once
    [ "$attempt" = 2 ] && apt-get update -qq >&2
    pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/.*Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -1)
    [ -n "$pkg" ] || continue
    echo "[xfs-vm] fetching $pkg and busybox-static" >&2
    (cd "$CACHE/debs" && apt-get download "$pkg" busybox-static >&2 2>/dev/null) && break
    pkg=
  done
  [ -n "$pkg" ] || { echo "[xfs-vm] cannot download linux-image-amd64 and busybox-static" >&2; exit 1; }
  dpkg -x "$CACHE"/debs/linux-image-*.deb "$CACHE/kernel"
  dpkg -x "$CACHE"/debs/busybox-static_*.deb "$CACHE/busybox"
  local bb="$CACHE/busybox/bin/busybox" kver
  kver=$(ls "$CACHE/kernel/lib/modules")
  grep -q '^CONFIG_XFS_QUOTA=y' "$CACHE/kernel/boot/config-$kver" \
    || { echo "[xfs-vm] $pkg lacks CONFIG_XFS_QUOTA" >&2; exit 1; }
  "$bb" depmod -b "$CACHE/kernel" "$kver"

  local root="$CACHE/initramfs" mods="$CACHE/kernel/lib/modules/$kver" dep m f
  mkdir -p "$root"/{bin,proc,sys,dev,newroot,lib/modules/"$kver"}
  cp "$bb" "$root/bin/busybox"
  cp "$mods/modules.dep" "$root/lib/modules/$kver/"
  for m in $MODULES; do
    dep=$(grep -E "/${m}\.ko(\.[a-z]+)?:" "$mods/modules.dep") \
      || { echo "[xfs-vm] module $m not in $pkg" >&2; exit 1; }
    for f in $(echo "$dep" | tr -d ':'); do
      mkdir -p "$root/lib/modules/$kver/$(dirname "$f")"
      cp "$mods/$f" "$root/lib/modules/$kver/$f"
      # the kernel parses a module's BTF at load time: seconds for xfs.ko under TCG. Dropping it
      # (and so the signature) only taints the kernel, which this throwaway guest does not mind.
      if command -v objcopy >/dev/null; then objcopy --remove-section=.BTF "$root/lib/modules/$kver/$f"; fi
    done
  done
  echo "$MODULES" >"$root/modules.load"
  write_init "$root/init"
  (cd "$root" && find . | "$bb" cpio -o -H newc 2>/dev/null | gzip -1 >"$CACHE/initrd.gz.tmp")
  mv "$CACHE/initrd.gz.tmp" "$CACHE/initrd.gz"
  cp "$CACHE/kernel/boot/vmlinuz-$kver" "$CACHE/vmlinuz"
  # Uncompressed, the kernel boots through its PVH entry: no BIOS, no self-decompression (15 s
  # under TCG). The bzImage stays as the fallback.
  rm -f "$CACHE/vmlinux"
  python3 - "$CACHE/vmlinuz" "$CACHE/vmlinux" <<'PY' || echo "[xfs-vm] no vmlinux extracted; booting the bzImage" >&2
import lzma, sys
data = open(sys.argv[1], "rb").read()
start = data.find(b"\xfd7zXZ\x00")
assert start > 0, "not an xz-compressed bzImage"
elf = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(data[start:])
assert elf[:4] == b"\x7fELF"
open(sys.argv[2], "wb").write(elf)
PY
  rm -rf "$CACHE/debs" "$CACHE/kernel" "$CACHE/busybox"
  echo "$FORMAT" >"$CACHE/ready"
  echo "[xfs-vm] guest ready: kernel $kver" >&2
}

# boot ACCEL TIMEOUT [JOBDIR [DISK]]: the console goes to stdout
boot() {
  local accel=$1 limit=$2 job=${3:-} disk=${4:-} kernel="$CACHE/vmlinuz"
  [ -f "$CACHE/vmlinux" ] && kernel="$CACHE/vmlinux"
  local args=(-machine "q35,accel=$accel" -cpu max -m 1024 -smp 1 -nodefaults -no-user-config
    -display none -serial stdio -no-reboot
    -kernel "$kernel" -initrd "$CACHE/initrd.gz"
    -append "console=ttyS0 quiet loglevel=3 panic=-1 cryptomgr.notests mitigations=off rodata=off${job:+ xfsvm.job=$job}"
    -virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap")
  [ -n "$job" ] && args+=(-virtfs "local,path=$job,mount_tag=job,security_model=none")
  [ -n "$disk" ] && args+=(-drive "file=$disk,format=raw,if=virtio,cache=unsafe")
  timeout "$limit" qemu-system-x86_64 "${args[@]}" </dev/null 2>&1 || true
}

# KVM when the stock kernel really boots under it, else TCG; decided once per host boot. A
# /dev/kvm backed only by PVM (kvm_pvm, no VMX/SVM) runs PVM-built guest kernels only: the stock
# one hangs in it, so that case goes straight to TCG without the probe.
accel() {
  local bootid decision
  bootid="$(cat /proc/sys/kernel/random/boot_id)-$FORMAT"
  decision=$(sed -n "s/^$bootid //p" "$CACHE/accel" 2>/dev/null || true)
  if [ -z "$decision" ]; then
    decision=tcg
    if [ -d /sys/module/kvm_pvm ] && [ ! -d /sys/module/kvm_intel ] && [ ! -d /sys/module/kvm_amd ]; then
      echo "[xfs-vm] /dev/kvm is PVM-only: using TCG" >&2
    elif [ -w /dev/kvm ] && boot kvm 30 | grep -q '^XFSVM-EXIT 0'; then
      decision=kvm
    fi
    echo "$bootid $decision" >"$CACHE/accel"
    echo "[xfs-vm] accelerator: $decision" >&2
  fi
  echo "$decision"
}

run() {
  local job disk out rc
  job=$(realpath "${1:?usage: xfs-quota-vm.sh run JOBDIR [DISK]}")
  disk="${2:-}"
  [ -x "$job/run" ] || { echo "[xfs-vm] $job/run is not executable" >&2; exit 2; }
  case "$job" in *[[:space:]]*) echo "[xfs-vm] JOBDIR must not contain spaces: $job" >&2; exit 2 ;; esac
  out=$(mktemp)
  boot "${XFSVM_ACCEL:-$(accel)}" "${XFSVM_TIMEOUT:-300}" "$job" "$disk" | tee "$out"
  rc=$(sed -n 's/^XFSVM-EXIT \([0-9]*\).*/\1/p' "$out" | tail -1)
  rm -f "$out"
  [ -n "$rc" ] || { echo "[xfs-vm] the guest did not report an exit status (timeout or crash)" >&2; exit 125; }
  exit "$rc"
}

case "${1:-prepare}" in
  prepare)
    prepare
    accel >/dev/null
    # the tests run this launcher from the cache (Pants' sandbox holds no scripts/)
    if [ "$(realpath "$0")" != "$(realpath "$CACHE/xfs-quota-vm.sh" 2>/dev/null)" ]; then
      install -m 755 "$0" "$CACHE/xfs-quota-vm.sh.tmp" && mv "$CACHE/xfs-quota-vm.sh.tmp" "$CACHE/xfs-quota-vm.sh"
    fi
    echo "$CACHE" ;;
  run) shift; ready || prepare; run "$@" ;;
  *) echo "usage: $0 [prepare] | run JOBDIR [DISK]" >&2; exit 2 ;;
esac
