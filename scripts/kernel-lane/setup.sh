#!/usr/bin/env bash
# Sets up the kernel lane: a qemu guest (TCG, no KVM needed) running Debian's own kernel, in which
# `npm test` runs the tests that need a link type this host's kernel lacks (ipvlan, 802.1Q vlan,
# vrf). Installs qemu/busybox/kmod, fetches the one versioned kernel package that linux-image-amd64
# depends on, unpacks it, and builds an initramfs with busybox and the modules the guest needs.
# Safe to run again: every step is skipped when its result is already there. Fails loudly, naming
# what is missing. Needs root (apt-get, the cache dir).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${LIBCNI_LANE_CACHE:-/var/cache/libcni-kernel-lane}
# Every link type any test may need in the guest, the drivers its test fixtures use (veth masters,
# bridges), and what the guest needs to see the host's files (virtio-9p over PCI).
MODULES=(virtio_pci 9pnet_virtio 9p veth bridge dummy macvlan ipvlan 8021q vrf)
PKGS=(qemu-system-x86 busybox-static kmod)

die() {
  echo "kernel-lane setup: $*" >&2
  exit 1
}
say() { echo "kernel-lane setup: $*"; }

[[ $(id -u) == 0 ]] || die "must run as root (installs packages, writes $CACHE)"

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

install_packages() {
  local missing=() p
  for p in "${PKGS[@]}"; do installed "$p" || missing+=("$p"); done
  ((${#missing[@]})) || return 0
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq || die "apt-get update failed"
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" ||
    die "could not install ${missing[*]}"
  for p in "${missing[@]}"; do installed "$p" || die "package $p is still not installed"; done
}

# The versioned package behind the linux-image-amd64 metapackage, e.g. linux-image-6.1.0-57-amd64.
kernel_package() {
  local pkg
  pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
  [[ -n $pkg ]] || die "apt-cache depends linux-image-amd64 names no linux-image-<version> package (run apt-get update)"
  echo "$pkg"
}

fetch_kernel() {
  local pkg=$1 dir=$CACHE/$1
  if [[ -d $dir/boot && -d $dir/lib/modules ]]; then
    say "$pkg already unpacked in $dir"
    return 0
  fi
  local tmp
  tmp=$(mktemp -d "$CACHE/.fetch.XXXXXX")
  say "downloading $pkg"
  # apt-get download writes into the current directory; `_apt` must be able to write there.
  chmod 0777 "$tmp"
  # A stale package index names a version the mirror no longer has: refresh it once and retry.
  (cd "$tmp" && apt-get download -q "$pkg") ||
    { apt-get -o DPkg::Lock::Timeout=600 update -qq && (cd "$tmp" && apt-get download -q "$pkg"); } || {
    rm -rf "$tmp"
    die "apt-get download $pkg failed"
  }
  mkdir -p "$tmp/root"
  dpkg-deb -x "$tmp"/"$pkg"_*.deb "$tmp/root" || {
    rm -rf "$tmp"
    die "dpkg-deb -x of $pkg failed"
  }
  rm -rf "$dir"
  mv "$tmp/root" "$dir"
  rm -rf "$tmp"
  # Only the kernel the metapackage names now is kept.
  find "$CACHE" -mindepth 1 -maxdepth 1 -name 'linux-image-*' ! -name "$pkg" -exec rm -rf {} +
}

main() {
  install_packages
  mkdir -p "$CACHE"
  local pkg dir version kernel
  pkg=$(kernel_package)
  fetch_kernel "$pkg"
  dir=$CACHE/$pkg
  version=${pkg#linux-image-}
  kernel=$dir/boot/vmlinuz-$version
  [[ -f $kernel ]] || die "$pkg has no boot/vmlinuz-$version"
  [[ -d $dir/lib/modules/$version ]] || die "$pkg has no lib/modules/$version"
  # The .deb ships no modules.dep (its postinst runs depmod); modprobe --show-depends needs one.
  if [[ ! -s $dir/lib/modules/$version/modules.dep ]]; then
    depmod -b "$dir" "$version" || die "depmod -b $dir $version failed"
  fi
  "$here/build-initramfs.sh" "$dir" "$version" "$CACHE/initrd-$version.img" "${MODULES[@]}"
  # What the runner (scripts/kernel-lane/run.mjs) boots.
  printf '{"version":"%s","kernel":"%s","initrd":"%s"}\n' "$version" "$kernel" "$CACHE/initrd-$version.img" \
    >"$CACHE/lane.json.tmp"
  mv "$CACHE/lane.json.tmp" "$CACHE/lane.json"
  say "ready: kernel $version, $CACHE/lane.json"
}

main "$@"
