#!/bin/busybox sh
# shellcheck shell=dash
# The benchmark's baseline launcher: what slinit does, as a shell script with stock tools
# (busybox, tpm2-tools, kexec-tools), PID 1 of the SL image variant "baseline".
# Same boot partition, same files, same events as slinit (DESIGN section 3): policy bytes
# into PCR 21; kernel, each initrd, cmdline into PCR 22; kexec_file_load; separator; exec.
# A script cannot parse JSON: the entry's paths and cmdline come from
# /slaunch/baseline.conf (KERNEL=, INITRDS=, CMDLINE=), the allowed digests from the
# policy's allow lists (grep). Objects are copied into the initramfs (tmpfs-like rootfs)
# first and the copies hashed and booted, as close to slinit's "hash the bytes booted" as a
# script gets. No "set -e": PID 1 must not exit; every failure powers off.
export PATH=/bin LD_LIBRARY_PATH=/lib/x86_64-linux-gnu
TPM="tpm2 pcrextend -T device:/dev/tpm0"

t() { echo "baseline: $(cut -d' ' -f1 /proc/uptime) s: $*"; }
die() {
	echo "baseline: FAILED: $*"
	poweroff -f
	while :; do sleep 60; done
}

mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
t "start"
# The TPM's active banks, as slinit reads them (its sysfs PCR directories).
BANKS=$(ls -d /sys/class/tpm/tpm0/pcr-* | sed 's|.*/pcr-||')
[ -n "$BANKS" ] || die "TPM: no PCR banks in sysfs"

# The boot partition: wait for it like slinit (bounded), mount it read-only.
i=0
while [ ! -b /dev/vda1 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
mount -t vfat -o ro /dev/vda1 /boot || die "/dev/vda1: cannot mount"
t "boot partition mounted"

# "sha1=HEX,sha256=HEX" of a file, one pass per bank (as the stock tools do).
digests() {
	out='' sep=''
	for b in $BANKS; do
		h=$(${b}sum "$1") || die "$1: ${b}sum"
		out="$out$sep$b=${h%% *}"
		sep=,
	done
	echo "$out"
}
extend() {
	$TPM "$1:$2" >/dev/null || die "PCR $1: tpm2 pcrextend"
}
# Is sha256:HEX in the policy's allow.kernel? The policy is json.dumps(indent) output: each
# list element and bracket on its own line.
allowed_kernel() {
	sed -n '/"kernel": \[/,/\]/p' /run/policy.json | grep -q "\"sha256:$1\""
}
# Is sha256:HEX in the allow-list of the INDEX-th initrd (from 0): allow.initrd holds one
# list per initrd, in order, each opened by a line "[" of its own.
allowed_initrd() { # INDEX HEX
	sed -n '/"allow": {/,/^ *}/p' /run/policy.json | sed -n '/"initrd": \[/,$p' | {
		n=-1
		while read -r line; do
			case $line in
			'[') n=$((n + 1)) ;;
			"\"sha256:$2\""*) [ "$n" = "$1" ] && exit 0 ;;
			esac
		done
		exit 1
	}
}

cp /boot/slaunch/policy.json /run/policy.json || die "/slaunch/policy.json: cannot read"
extend 21 "$(digests /run/policy.json)"
. /boot/slaunch/baseline.conf || die "/slaunch/baseline.conf: cannot read"
t "policy measured"

cp "/boot$KERNEL" /run/kernel || die "$KERNEL: cannot read"
kd=$(digests /run/kernel)
k256=${kd##*sha256=}
allowed_kernel "${k256%%,*}" || die "kernel $KERNEL: digest not in allow.kernel"
t "kernel read and verified"

: >/run/initrd
ids='' n=0
for f in $INITRDS; do
	# 4-byte padding between initrds, outside the measured objects (as slinit).
	size=$(stat -c %s /run/initrd)
	pad=$(((4 - size % 4) % 4))
	[ $pad = 0 ] || head -c $pad /dev/zero >>/run/initrd
	cp "/boot$f" /run/part || die "$f: cannot read"
	d=$(digests /run/part)
	d256=${d##*sha256=}
	allowed_initrd $n "${d256%%,*}" || die "initrd $f: digest not in allow.initrd[$n]"
	n=$((n + 1))
	cat /run/part >>/run/initrd && rm /run/part
	ids="$ids $d"
done
t "initrds read and verified"

extend 22 "$kd"
for d in $ids; do extend 22 "$d"; done
printf '%s' "$CMDLINE" >/run/cmdline
extend 22 "$(digests /run/cmdline)"
t "kernel, initrds, cmdline extended"

kexec -s -l /run/kernel --initrd=/run/initrd --command-line="$CMDLINE" || die "kexec -s -l"
t "kexec loaded"
printf '\0\0\0\0' >/run/separator
extend 22 "$(digests /run/separator)"
umount /boot
t "launching"
kexec -e
die "kexec -e"
