# .ci/deps/lab-vm.sh - packages for the full-kernel lab VM (examples/interop/lab-vm, examples::lab_vm).
# Sourced by .ci/run (as root, under `set -euo pipefail`); also runnable directly:
#   bash .ci/deps/lab-vm.sh
# Idempotent. Starts nothing. Afterwards it pre-builds the VM artefacts under /var/lib/rp-lab
# (Debian kernel via `apt-get download` + initramfs from host binaries), so the tests do not need the
# network; a failure there is not fatal (the first LabVm::start builds them again).
#
# Note: on this image a backports qemu-utils (10.x) is preinstalled; installing bookworm's
# qemu-system-x86 (7.2) removes it. We then install bookworm's qemu-utils so `qemu-img` stays.

rplab_deps() {
  local pkgs="qemu-system-x86 busybox-static ppp xl2tpd wireguard-tools iproute2 zstd cpio kmod
    util-linux python3 iputils-ping binutils xz-utils linuxptp"
  if ! declare -F apt_install >/dev/null; then
    # standalone use: a minimal stand-in for .ci/run's helper
    apt_install() {
      local missing=() p
      for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
      done
      [ ${#missing[@]} -eq 0 ] && return 0
      apt-get update -qq
      printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
      chmod +x /usr/sbin/policy-rc.d
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        -o DPkg::Lock::Timeout=300 "${missing[@]}"
      local rc=$?
      rm -f /usr/sbin/policy-rc.d
      return $rc
    }
  fi
  local had_qemu_img=0
  command -v qemu-img >/dev/null 2>&1 && had_qemu_img=1
  # shellcheck disable=SC2086
  apt_install $pkgs || apt_install $pkgs
  if [ $had_qemu_img = 1 ] && ! command -v qemu-img >/dev/null 2>&1; then
    echo "[lab-vm deps] qemu-img was removed by qemu-system-x86; installing bookworm qemu-utils" >&2
    apt_install qemu-utils || true
  fi
  command -v qemu-system-x86_64 >/dev/null 2>&1 || { echo "[lab-vm deps] qemu-system-x86_64 missing" >&2; return 0; }
  # pre-build the artefacts (idempotent: skipped when present and current)
  local here
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  if [ -x "$here/examples/interop/lab-vm/build.sh" ]; then
    "$here/examples/interop/lab-vm/build.sh" || echo "[lab-vm deps] artefact pre-build failed (LabVm::start retries)" >&2
  fi
  return 0
}
rplab_deps || true
