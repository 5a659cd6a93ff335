# shellcheck shell=bash
# Sourced by fresh-check.sh and deb-check.sh: a minimal Debian 12 root (mmdebstrap, minbase,
# with only make added), the mounts that builds, QEMU and swtpm need inside it (/proc, /dev
# with /dev/pts and /dev/shm, /sys; no KVM: the harness runs QEMU with TCG), and its removal.
# As root.

fresh_die() { echo "fresh: $*" >&2; exit 1; }

# fresh_make_root DIR: a new root at DIR (an old one there is removed first).
fresh_make_root() {
	local dir=$1
	[ "$(id -u)" = 0 ] || fresh_die "run as root (mmdebstrap, chroot and mounts)"
	command -v mmdebstrap >/dev/null || fresh_die "mmdebstrap is missing: apt-get install mmdebstrap"
	fresh_remove_root "$dir"
	mkdir -p "$(dirname "$dir")"
	echo "fresh: mmdebstrap bookworm (minbase + make) into $dir"
	mmdebstrap --quiet --variant=minbase --include=make bookworm "$dir" ||
		fresh_die "mmdebstrap failed"
	# The host's resolver, so that apt inside reaches Debian's mirror as the host does.
	cp -L /etc/resolv.conf "$dir/etc/resolv.conf"
}

# fresh_mount DIR: slaves, so that unmounting inside never touches the host's mounts. The
# root is a mount point of its own too, as / is on a machine: `unshare -m` (a test's private
# mount namespace) cannot change the propagation of a / that is not one.
fresh_mount() {
	local dir=$1 d
	mount --bind "$dir" "$dir"
	mount --make-rslave "$dir"
	mount -t proc proc "$dir/proc"
	for d in dev sys; do
		mount --rbind "/$d" "$dir/$d"
		mount --make-rslave "$dir/$d"
	done
}

fresh_umount() {
	local dir=$1 d
	for d in dev sys proc; do
		if mountpoint -q "$dir/$d"; then umount -R "$dir/$d" || umount -lR "$dir/$d"; fi
	done
	if mountpoint -q "$dir"; then umount "$dir" || umount -l "$dir"; fi
}

# fresh_remove_root DIR: unmounted first; refuses while anything is still mounted below it.
fresh_remove_root() {
	local dir=$1
	[ -e "$dir" ] || return 0
	fresh_umount "$dir"
	if awk -v d="$dir/" 'index($2 "/", d) == 1 { found = 1 } END { exit !found }' /proc/mounts
	then
		fresh_die "$dir still has mounts: not removed"
	fi
	rm -rf --one-file-system "$dir"
}

# fresh_run DIR COMMAND: COMMAND by sh in the root, as a root login would run it.
fresh_run() {
	local dir=$1
	shift
	chroot "$dir" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin /bin/sh -c "$*"
}
