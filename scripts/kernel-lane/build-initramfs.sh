#!/usr/bin/env bash
# Builds the kernel lane's initramfs: static busybox, the given modules with everything they depend
# on (in load order), and initramfs-init.sh as /init. Usage:
#   build-initramfs.sh KERNEL_ROOT VERSION OUT.img MODULE...
# Skipped when OUT.img was built from the same modules and the same /init (a stamp file records
# both). Called by setup.sh.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$1 version=$2 out=$3
shift 3
modules=("$@")

die() {
  echo "kernel-lane initramfs: $*" >&2
  exit 1
}

busybox=/bin/busybox
[[ -x $busybox ]] || die "$busybox is missing (Debian package busybox-static)"
file_type=$(LC_ALL=C $busybox --help 2>&1 | head -1 || true)
[[ $file_type == BusyBox* ]] || die "$busybox is not busybox (Debian package busybox-static)"
command -v modprobe >/dev/null || die "modprobe is missing (Debian package kmod)"

# Files to load, in order, without repeats; builtins need nothing.
order=()
declare -A seen=()
for m in "${modules[@]}"; do
  deps=$(modprobe -d "$root" -S "$version" --show-depends "$m" 2>&1) ||
    die "kernel $version has no module $m: $deps"
  while read -r verb path _; do
    case $verb in
    insmod)
      [[ -n ${seen[$path]:-} ]] && continue
      seen[$path]=1
      order+=("$path")
      ;;
    builtin) ;;
    *) die "unexpected modprobe output for $m: $verb $path" ;;
    esac
  done <<<"$deps"
done

stamp=$(
  printf '%s\n' "$version" "${order[@]}"
  cat "$here/initramfs-init.sh"
)
stamp=$(sha256sum <<<"$stamp" | cut -d' ' -f1)
if [[ -s $out && -f $out.stamp && $(cat "$out.stamp") == "$stamp" ]]; then
  echo "kernel-lane initramfs: $out is up to date"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work"/{bin,dev,proc,sys,newroot,modules}
cp "$busybox" "$work/bin/busybox"
i=0
: >"$work/modules/order"
for path in "${order[@]}"; do
  i=$((i + 1))
  name=$(printf '%02d-%s' "$i" "$(basename "$path")")
  case $path in
  *.ko.xz) xz -dc "$path" >"$work/modules/${name%.xz}" || die "cannot decompress $path (Debian package xz-utils)" ;;
  *.ko) cp "$path" "$work/modules/$name" ;;
  *) die "module $path: unknown compression" ;;
  esac
  echo "${name%.xz}" >>"$work/modules/order"
done
install -m 0755 "$here/initramfs-init.sh" "$work/init"
(cd "$work" && find . | "$busybox" cpio -o -H newc 2>/dev/null | gzip -1) >"$out.tmp" ||
  die "packing the initramfs failed"
mv "$out.tmp" "$out"
echo "$stamp" >"$out.stamp"
echo "kernel-lane initramfs: built $out (${#order[@]} modules: ${modules[*]} and their dependencies)"
