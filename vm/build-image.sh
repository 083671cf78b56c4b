#!/usr/bin/env bash
# Builds the Debian test-host image once and caches it. Prints the image
# directory (kernel, initrd, root filesystem image) on stdout.
#
# The image is a minimal Debian with systemd and sshd. The packages a mirror
# node needs are downloaded into its apt cache but NOT installed, so the kit's
# own `apt-get install` runs for real on the VM, offline.
# Each boot reads its SSH key, address and hostname from qemu's fw_cfg (see
# vm/guest/mirrorkit-firstboot), so one image serves every VM.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../toolchain/env.sh"

# Packages installed in the image, and packages only cached for the kit.
base_pkgs=systemd-sysv,udev,openssh-server,linux-image-amd64,iproute2,procps,kmod,ca-certificates,e2fsprogs,util-linux,less
node_pkgs="nginx-light libnginx-mod-http-js apache2 libapache2-mod-qos rsync xfsprogs acl zstd xz-utils bzip2 logrotate systemd-timesyncd prometheus-node-exporter lego openssl"

key=$(cat "$0" "$here"/guest/* | sha256sum | cut -c1-12)
out="$MIRRORKIT_CACHE/vm/debian-$VM_SUITE-$key"
if [ -f "$out/rootfs.img" ]; then echo "$out"; exit 0; fi
# VMs booted side by side ask at once: one builds, the others wait for it.
mkdir -p "$MIRRORKIT_CACHE/vm"
exec 9>"$MIRRORKIT_CACHE/vm/build.lock"
flock 9
if [ -f "$out/rootfs.img" ]; then echo "$out"; exit 0; fi

mirror=$(grep -rhoE "https?://deb\.debian\.org/debian/?" /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null | head -n1 || true)
mirror=${MIRRORKIT_DEBIAN_MIRROR:-${mirror:-http://deb.debian.org/debian}}
work=$(mktemp -d "$MIRRORKIT_CACHE/vm-build.XXXXXX")
trap 'umount -R "$work/root/proc" 2>/dev/null || true; rm -rf "$work"' EXIT
root="$work/root"

echo "[vm] debootstrap $VM_SUITE from $mirror" >&2
debootstrap --variant=minbase --include="$base_pkgs" "$VM_SUITE" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 ||
  { tail -n 30 "$work/debootstrap.log" >&2; exit 1; }

cat > "$root/etc/apt/sources.list" <<EOF
deb $mirror $VM_SUITE main
deb $mirror $VM_SUITE-updates main
EOF
echo "[vm] caching node packages: $node_pkgs" >&2
mount -t proc proc "$root/proc"
chroot "$root" apt-get update -qq >&2
# shellcheck disable=SC2086
chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --download-only --no-install-recommends $node_pkgs >&2
umount "$root/proc"
# The VMs boot the kernel and initrd from outside the image, so package
# triggers need not rebuild the initrd (slow under software emulation).
sed -i 's/^update_initramfs=.*/update_initramfs=no/' "$root/etc/initramfs-tools/update-initramfs.conf"
# Keep the cache: the Debian default config deletes .debs after installs.
rm -f "$root/etc/apt/apt.conf.d/docker-clean"

# Guest set-up: first-boot unit, networking, console, no host keys baked in.
install -m 0755 "$here/guest/mirrorkit-firstboot" "$root/usr/local/sbin/mirrorkit-firstboot"
install -m 0644 "$here/guest/mirrorkit-firstboot.service" "$root/etc/systemd/system/mirrorkit-firstboot.service"
ln -sf /etc/systemd/system/mirrorkit-firstboot.service "$root/etc/systemd/system/multi-user.target.wants/mirrorkit-firstboot.service"
ln -sf /lib/systemd/system/systemd-networkd.service "$root/etc/systemd/system/multi-user.target.wants/systemd-networkd.service"
echo qemu_fw_cfg >> "$root/etc/modules"
rm -f "$root"/etc/ssh/ssh_host_*
sed -i 's/^#\?PermitRootLogin.*/PermitRootLogin prohibit-password/; s/^#\?UseDNS.*/UseDNS no/' "$root/etc/ssh/sshd_config"
echo "root:*" | chroot "$root" chpasswd -e
echo "mirrorkit-vm" > "$root/etc/hostname"
printf '/dev/vda / ext4 rw,relatime 0 1\n' > "$root/etc/fstab"
# Quiet, fast boot: no getty on the serial console competes with the log.
chroot "$root" systemctl mask getty@tty1.service serial-getty@ttyS0.service apt-daily.timer apt-daily-upgrade.timer e2scrub_reap.service >/dev/null 2>&1 || true

mkdir -p "$work/out"
cp -L "$root/vmlinuz" "$work/out/vmlinuz"
cp -L "$root/initrd.img" "$work/out/initrd.img"
echo "[vm] writing root filesystem image" >&2
mkfs.ext4 -q -F -d "$root" -L root "$work/out/rootfs.img" 3G
mkdir -p "$(dirname "$out")"
mv "$work/out" "$out"
echo "$out"
