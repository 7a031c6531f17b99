#!/usr/bin/env bash
# build.sh [--force] - build (or reuse) the lab VM artefacts under $RPLAB_ART (/var/lib/rp-lab):
#   vmlinuz            Debian bookworm 6.1 kernel (from `apt-get download linux-image-6.1.0-*-amd64`)
#   vmlinux            the same kernel uncompressed (ELF with a PVH note; boots much faster)
#   initrd.img         zstd cpio: busybox, the kernel modules the lab needs (with their
#                      dependencies), and this host's pppd / xl2tpd / wg / iproute2 + shared libs
#   wg-guest.key/.pub  the guest's WireGuard key pair (stable across builds)
#   stamp              hash of the inputs; a changed script or guest file, or an optional host
#                      program (sstpc, pptpd, pppoe-server, ...) installed or updated, triggers a rebuild
# Idempotent: does nothing when the stamp matches. Needs root, network access to the Debian archive
# on the first run only (the kernel .deb is cached), and the packages of .ci/deps/lab-vm.sh.
. "$(dirname "$0")/common.sh"
FORCE=0; [ "${1:-}" = --force ] && FORCE=1

# The optional host programs copied into the image (see `put` below) are inputs too: when one is
# installed after a build (e.g. .ci/run installs pptpd or sstp-client after lab-vm.sh pre-built
# the artefacts), the next build picks it up.
host_inputs() {
  local p
  for p in /usr/sbin/pppd /usr/sbin/xl2tpd /usr/sbin/sstpc /usr/sbin/pptpd /usr/sbin/pptpctrl \
           /usr/sbin/pppoe-server /usr/sbin/pppoe /usr/lib/pppd/*/*.so \
           "$(command -v strace)" "$(command -v tcpdump)" "$(command -v ptp4l)" "$(command -v wg)"; do
    [ -n "$p" ] && [ -e "$p" ] && stat -L -c '%n %s %Y' "$p"
  done
  return 0
}
inputs_hash() {
  (cd "$RPLAB_DIR" && { cat build.sh common.sh guest/*; host_inputs; } | sha256sum | cut -c1-16)
}

HASH=$(inputs_hash)
if [ $FORCE = 0 ] && [ -s "$RPLAB_ART/vmlinuz" ] && [ -s "$RPLAB_ART/initrd.img" ] &&
   [ "$(cat "$RPLAB_ART/stamp" 2>/dev/null)" = "$HASH" ]; then
  exit 0
fi
[ "$(id -u)" = 0 ] || rplab_die "build needs root"
for t in busybox pppd xl2tpd wg ip depmod modprobe cpio zstd dpkg-deb apt-get; do
  command -v "$t" >/dev/null 2>&1 || [ -x "/usr/sbin/$t" ] || [ -x "/sbin/$t" ] ||
    rplab_die "missing tool '$t' (run .ci/deps/lab-vm.sh)"
done
[ -x /bin/busybox ] && file_bb=/bin/busybox || file_bb=$(command -v busybox)
T0=$(date +%s.%N)
mkdir -p "$RPLAB_ART/kernel"
# one builder at a time
exec 9>"$RPLAB_ART/.build.lock"; flock -w 600 9 || rplab_die "build lock"

# ---- 1. kernel package (downloaded once)
deb=$(ls "$RPLAB_ART"/kernel/linux-image-*.deb 2>/dev/null | head -1)
if [ -z "$deb" ]; then
  pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
  if [ -z "$pkg" ]; then
    apt-get update -qq >&2 || true
    pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
  fi
  [ -n "$pkg" ] || rplab_die "cannot resolve the linux-image-amd64 dependency"
  rplab_log "downloading $pkg"
  (cd "$RPLAB_ART/kernel" && apt-get download -q "$pkg" >&2) ||
    { apt-get update -qq >&2; (cd "$RPLAB_ART/kernel" && apt-get download -q "$pkg" >&2); } ||
    rplab_die "apt-get download $pkg failed"
  deb=$(ls "$RPLAB_ART"/kernel/linux-image-*.deb | head -1)
fi

W=$(mktemp -d /tmp/rp-lab-build.XXXXXX)
trap 'rm -rf "$W"' EXIT
dpkg-deb -x "$deb" "$W/k"
KVER=$(ls "$W/k/lib/modules" | head -1)
[ -n "$KVER" ] || rplab_die "no modules in $deb"

# ---- 2. root file system
R=$W/root
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,usr/lib,lib64,etc/ppp,etc/xl2tpd,etc/rplab,proc,sys,dev,run,tmp,var/log,root}
ln -s ../run "$R/var/run"; ln -s ../run/lock "$R/var/lock"
cp "$file_bb" "$R/bin/busybox"

# kernel modules: the closure of what the lab uses, resolved by modprobe against the package tree
# BOOT_MODS are loaded by the init; the rest of MODS is in the image for the kernel's on-demand
# loading (e.g. `ip link add type bridge` -> modprobe rtnl-link-bridge).
BOOT_MODS="virtio_pci virtio_net virtio_console ppp_generic ppp_async ppp_synctty ppp_deflate
  bsd_comp ppp_mppe l2tp_ppp l2tp_netlink ip_gre ipip wireguard ip6_gre ip6_tunnel"
MODS="$BOOT_MODS slhc pppox pppoe l2tp_core l2tp_ip l2tp_ip6 l2tp_eth gre ip6_gre sit ip6_tunnel
  tun veth bridge 8021q sch_netem"
depmod -b "$W/k" "$KVER"
for m in $MODS; do
  modprobe -d "$W/k" -S "$KVER" --show-depends "$m" 2>/dev/null || echo "builtin-or-missing $m"
done > "$W/deps.txt"
grep -q . "$W/deps.txt" || rplab_die "module closure is empty"
for f in $(awk '$1=="insmod"{print $2}' "$W/deps.txt" | sort -u); do
  rel=${f#"$W/k"}; mkdir -p "$R$(dirname "$rel")"; cp "$f" "$R$rel"
done
for f in modules.order modules.builtin modules.builtin.modinfo; do
  [ -e "$W/k/lib/modules/$KVER/$f" ] && cp "$W/k/lib/modules/$KVER/$f" "$R/lib/modules/$KVER/"
done
depmod -b "$R" "$KVER"
echo $BOOT_MODS > "$R/etc/rplab/modules"

# userland from this host (Debian bookworm), plus every shared library they load
PPPLIB=$(ls -d /usr/lib/pppd/*/ 2>/dev/null | head -1); PPPLIB=${PPPLIB%/}
[ -n "$PPPLIB" ] || rplab_die "pppd plugin directory not found"
COPIED=""
put() {  # put <host binary> <path in the guest>
  local src; src=$(readlink -f "$1" 2>/dev/null) || return 0
  [ -x "$src" ] || return 0
  mkdir -p "$R$(dirname "$2")"; cp "$src" "$R$2"; COPIED="$COPIED $src"
}
put /usr/sbin/pppd /usr/sbin/pppd
put /usr/sbin/pppstats /usr/sbin/pppstats
put /usr/sbin/xl2tpd /usr/sbin/xl2tpd
put /usr/sbin/xl2tpd-control /usr/sbin/xl2tpd-control
put "$(command -v wg)" /usr/bin/wg
put "$(command -v ip || echo /sbin/ip)" /usr/sbin/ip
put "$(command -v tc || echo /sbin/tc)" /usr/sbin/tc
put "$(command -v ss || echo /bin/ss)" /usr/bin/ss
command -v tcpdump >/dev/null && put "$(command -v tcpdump)" /usr/bin/tcpdump
# strace, when installed: a debugging aid for peers that fail only in the guest
command -v strace >/dev/null && put "$(command -v strace)" /usr/bin/strace
# linuxptp (PTP interop inside the guest: ptp4l steering the guest's own clock), if installed
command -v ptp4l >/dev/null && put "$(command -v ptp4l)" /usr/sbin/ptp4l
command -v pmc >/dev/null && put "$(command -v pmc)" /usr/sbin/pmc
# SSTP client (Debian sstp-client, when installed: .ci/deps/sstp.sh): sstpc launches pppd with
# sstp-pppd-plugin.so; its OpenSSL 3 loads the legacy provider module.
put /usr/sbin/sstpc /usr/sbin/sstpc
if [ -d /usr/lib/x86_64-linux-gnu/ossl-modules ]; then
  mkdir -p "$R/usr/lib/x86_64-linux-gnu"; cp -a /usr/lib/x86_64-linux-gnu/ossl-modules "$R/usr/lib/x86_64-linux-gnu/"
fi
# Poptop pptpd (pptpd -> pptpctrl -> pppd on a pty, GRE in user space through a raw socket) and
# rp-pppoe's pppoe-server (with -k: kernel-mode PPPoE through pppd's rp-pppoe.so plugin, which
# pppoe-server names /etc/ppp/plugins/rp-pppoe.so), when installed (.ci/deps: pptpd, pppoe)
put /usr/sbin/pptpd /usr/sbin/pptpd
put /usr/sbin/pptpctrl /usr/sbin/pptpctrl
[ -e /usr/lib/pptpd/pptpd-logwtmp.so ] && { mkdir -p "$R/usr/lib/pptpd"; cp /usr/lib/pptpd/pptpd-logwtmp.so "$R/usr/lib/pptpd/"; }
put /usr/sbin/pppoe-server /usr/sbin/pppoe-server
put /usr/sbin/pppoe /usr/sbin/pppoe
mkdir -p "$R$PPPLIB"
for p in pppol2tp.so rp-pppoe.so pppoe.so passprompt.so sstp-pppd-plugin.so; do
  [ -e "$PPPLIB/$p" ] && cp "$PPPLIB/$p" "$R$PPPLIB/"
done
if [ -e "$R$PPPLIB/rp-pppoe.so" ]; then
  mkdir -p "$R/etc/ppp/plugins"; ln -s "$PPPLIB/rp-pppoe.so" "$R/etc/ppp/plugins/rp-pppoe.so"
fi
# (libgcc_s: Rust programs the tests copy into the guest, e.g. the ptp example, need it)
for l in $(for b in $COPIED "$PPPLIB"/*.so /usr/lib/pptpd/*.so; do ldd "$b" 2>/dev/null; done | grep -o '/[^ )]*' | sort -u) \
         /lib/x86_64-linux-gnu/libnss_files.so.2 /lib/x86_64-linux-gnu/libgcc_s.so.1; do
  [ -e "$l" ] || continue
  mkdir -p "$R$(dirname "$l")"; cp -L "$l" "$R$l"
done
mkdir -p "$R/lib64"; cp -L /lib64/ld-linux-x86-64.so.2 "$R/lib64/"
# Debian binaries expect the merged-/usr layout (/lib -> /usr/lib)
for d in lib/x86_64-linux-gnu; do
  if [ -d "$R/usr/$d" ] && [ -d "$R/$d" ]; then cp -a "$R/$d/." "$R/usr/$d/"; rm -rf "${R:?}/$d"; fi
  [ -d "$R/usr/$d" ] && [ ! -e "$R/$d" ] && ln -s "../usr/$d" "$R/$d"
done
[ -x "$R/usr/sbin/ip" ] || rplab_die "iproute2 ip not found on host"

# guest files (init, agent, configs) from guest/
cp "$RPLAB_DIR/guest/init" "$R/init"; chmod 755 "$R/init"
cp "$RPLAB_DIR/guest/rplab-agent" "$RPLAB_DIR/guest/rplab-ppp-restart" "$RPLAB_DIR/guest/rplab-xl2tpd-restart" "$R/bin/"
chmod 755 "$R/bin/rplab-agent" "$R/bin/rplab-ppp-restart" "$R/bin/rplab-xl2tpd-restart"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$R/etc/passwd"
printf 'root:x:0:\ndip:x:30:\nnogroup:x:65534:\n' > "$R/etc/group"
printf 'passwd: files\ngroup: files\nhosts: files\n' > "$R/etc/nsswitch.conf"
printf '127.0.0.1 localhost\n10.97.40.2 rplab\n10.97.40.1 rplab-host\n' > "$R/etc/hosts"
echo "$KVER" > "$R/etc/rplab/kver"

# WireGuard key pair of the guest (kept across rebuilds so host configs stay valid)
if [ ! -s "$RPLAB_ART/wg-guest.key" ]; then
  (umask 077; wg genkey > "$RPLAB_ART/wg-guest.key")
fi
wg pubkey < "$RPLAB_ART/wg-guest.key" > "$RPLAB_ART/wg-guest.pub"
mkdir -p "$R/etc/wireguard"; (umask 077; cp "$RPLAB_ART/wg-guest.key" "$R/etc/wireguard/wg0.key")

# ---- 3. pack
rplab_log "packing initramfs ($KVER)"
(cd "$R" && find . | sort | cpio -o -H newc --quiet | zstd -q -6 -T0) > "$RPLAB_ART/initrd.img.new"
cp "$W/k/boot/vmlinuz-$KVER" "$RPLAB_ART/vmlinuz.new"
# The uncompressed ELF kernel boots through PVH (QEMU -kernel vmlinux, no BIOS real-mode setup, no
# self-decompression under TCG): measured ~3.5 s instead of ~12.5 s to the kernel's start on a
# loaded host. Extract it from the bzImage like the kernel's scripts/extract-vmlinux.
rm -f "$RPLAB_ART/vmlinux"
extract_vmlinux() {  # extract_vmlinux BZIMAGE OUT
  local magic cmd off
  for pair in 'FD377A585A00:xz -dc' '1F8B08:gzip -dc' '28B52FFD:zstd -dcq' '5D000000:xz -dc --format=lzma' '425A68:bzip2 -dc'; do
    magic=${pair%%:*}; cmd=${pair#*:}
    for off in $(LC_ALL=C grep -obUaP "$(echo "$magic" | sed 's/../\\x&/g')" "$1" 2>/dev/null | cut -d: -f1 | head -3); do
      tail -c "+$((off + 1))" "$1" | $cmd > "$2" 2>/dev/null
      if [ "$(head -c 4 "$2" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; then return 0; fi
    done
  done
  rm -f "$2"; return 1
}
if command -v readelf >/dev/null && extract_vmlinux "$W/k/boot/vmlinuz-$KVER" "$W/vmlinux" &&
   readelf -n "$W/vmlinux" 2>/dev/null | grep -q 'Unknown note type: (0x00000012)'; then
  mv "$W/vmlinux" "$RPLAB_ART/vmlinux.new"
else
  rplab_log "no PVH-capable vmlinux extracted; booting the bzImage (slower)"
fi
mv "$RPLAB_ART/initrd.img.new" "$RPLAB_ART/initrd.img"
mv "$RPLAB_ART/vmlinuz.new" "$RPLAB_ART/vmlinuz"
[ -e "$RPLAB_ART/vmlinux.new" ] && mv "$RPLAB_ART/vmlinux.new" "$RPLAB_ART/vmlinux"
echo "$KVER" > "$RPLAB_ART/kver"
echo "$HASH" > "$RPLAB_ART/stamp"
T1=$(date +%s.%N)
rplab_log "built kernel $KVER, initrd $(du -h "$RPLAB_ART/initrd.img" | cut -f1) in $(awk "BEGIN{printf \"%.1f\", $T1-$T0}") s"
