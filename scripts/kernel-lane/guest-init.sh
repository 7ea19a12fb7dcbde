#!/bin/sh
# PID 1 of the kernel lane's guest, on the host's / (shared read-write over 9p): gives the guest its
# own /proc, /sys, /dev and /run (where `ip netns` keeps namespaces, so they stay in the guest),
# brings lo up, runs the job the runner wrote into its per-run dir, records the job's exit status
# there, and powers off. The run dir comes on the kernel command line (libcni_lane_dir=...).
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /dev/pts /dev/shm /run/netns
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
dir=
for w in $(cat /proc/cmdline); do
  case $w in libcni_lane_dir=*) dir=${w#libcni_lane_dir=} ;; esac
done
if [ -n "$dir" ] && [ -f "$dir/job.sh" ]; then
  ip link set lo up
  sh "$dir/job.sh" >"$dir/output" 2>&1 </dev/null
  echo $? >"$dir/status.tmp"
  mv "$dir/status.tmp" "$dir/status"
else
  echo "kernel-lane guest: no job (libcni_lane_dir=$dir)" >/dev/console
fi
sync
# reboot(2) with the power-off magic; qemu exits. Host's busybox-static has a poweroff that does it.
exec /bin/busybox poweroff -f
