#!/bin/busybox sh
# PID 1 of the kernel lane's initramfs: load the modules (in the order build-initramfs.sh wrote),
# mount the host's / (shared by qemu over virtio-9p) and switch to it, running the repository's
# guest-init.sh, whose path the runner puts on the kernel command line (libcni_lane_init=...).
bb=/bin/busybox
$bb mount -t proc proc /proc
$bb mount -t sysfs sysfs /sys
$bb mount -t devtmpfs devtmpfs /dev
fail() {
  echo "kernel-lane initramfs: $*" >/dev/console
  # reboot(2) ends qemu (-no-reboot); the runner reports the missing status file.
  $bb reboot -f
}
for m in $($bb cat /modules/order); do
  case $m in
  # dummy would create dummy0 at load time, and a test's `ip link add dummy0` would then fail.
  *-dummy.ko) args=numdummies=0 ;;
  *) args= ;;
  esac
  $bb insmod "/modules/$m" $args || fail "insmod $m failed"
done
init=
for w in $($bb cat /proc/cmdline); do
  case $w in libcni_lane_init=*) init=${w#libcni_lane_init=} ;; esac
done
[ -n "$init" ] || fail "no libcni_lane_init= on the kernel command line"
# cache=loose: the files the guest reads (node, node_modules, the checkout, the plugins) do not change
# while it runs, and caching them made a second `node --import tsx` of the test helpers about 3x
# faster in the guest (40 s -> 14 s measured under load); what the guest writes, it flushes (sync).
$bb mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288,cache=loose hostroot /newroot || fail "mounting the host's / over 9p failed"
$bb umount /proc /sys /dev
exec $bb switch_root /newroot /bin/sh "$init"
