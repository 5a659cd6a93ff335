#!/usr/bin/env bash
# Build the e2e test "runtime OS": the kernel slinit measures and kexecs into.
#
#   make-runtime.sh OUTDIR     -> OUTDIR/vmlinuz, OUTDIR/initrd.img
#
# vmlinuz:    Debian's current kernel (the linux-image-*-amd64 package that the
#             metapackage linux-image-amd64 depends on), downloaded once into
#             $BUILD/cache/ with apt-get download. TPM TIS/CRB are built into it,
#             so the runtime needs no modules.
# initrd.img: a gzip'd newc cpio, reproducible (sorted, uid/gid 0, mtime 0,
#             gzip mtime 0; its length is 2 mod 4 on purpose, see the writer),
#             holding busybox (Debian's busybox-static), one symlink per applet
#             and /init, which prints on the serial console:
#               sll-runtime: booted
#               sll-runtime: kernel <uname -r>
#               sll-runtime: cmdline <contents of /proc/cmdline>
#               sll-runtime: pcr <bank> <n> <hex, lowercase>     (every bank, PCRs 0-23)
#               sll-runtime: no-tpm                              (if there is none)
#               sll-runtime: eventlog-size <bytes>               (if /sll/eventlog.bin)
#               sll-runtime: eventlog-sha256 <hex>
#               sll-runtime: eventlog-begin
#               <base64 of /sll/eventlog.bin, 76 characters a line>
#               sll-runtime: eventlog-end
#               sll-runtime: eventlog none                       (otherwise)
#               <what each executable /etc/sll-runtime.d/* prints>  (none here: an
#                                     e2e test may add some in an extra initrd)
#               sll-runtime: done
#             and powers off. /sll/eventlog.bin comes from the small cpio slinit
#             appends after this initrd in memory, so this one has no /sll.
# tpm2-tools.img: a second initrd, for the tests that unseal (a policy lists it
#             after initrd.img; the kernel unpacks it over the first): Debian's
#             tpm2-tools (the tpm2 binary and its tpm2_* links), every library
#             ldd names for it and for libtss2-tcti-device, the dynamic loader,
#             tools/sll-seal as /bin/sll-seal, and /etc/sll-runtime.d/50-unseal:
#             with sll.unseal=HANDLE sll.unseal_pcrs=BANK:LIST on the command line
#             it unseals HANDLE through /dev/tpmrm0 and prints
#               sll-runtime: unseal ok sha256 <hex of the secret's sha256>
#             or
#               sll-runtime: unseal failed
#               sll-runtime: unseal-error <each line sll-seal and tpm2-tools printed>
#             With /tmp/signed/key.pub.pem (see luks.img) it unseals through the
#             signed PCR policies in /tmp/signed (sll-seal unseal --authorize).
#             And /etc/sll-runtime.d/55-request: with sll.request_management=INDEX it
#             writes a non-zero value into that TPM NV index and prints
#               sll-runtime: management requested      (or: management request failed: ...)
#             (sll.request_management=INDEX:FILE: only when FILE exists, e.g. a staged
#             policy on the boot partition), and /etc/sll-runtime.d/57-try-unseal: with
#             sll.try_unseal=HANDLE@BANK:LIST it tries to unseal a secret that is not the
#             runtime's (the management environment's KEK), as an attacker would, printing
#               sll-runtime: try-unseal HANDLE: refused: <the TPM's error>   (or: got the secret)
#             A separate initrd keeps its megabytes of libraries out of every
#             other boot; it is reproducible too (sorted, owner 0, mtime 0).
# luks.img:   a third initrd, listed after tpm2-tools.img (it uses its libraries
#             and sll-seal): Debian's cryptsetup and the libraries it needs beyond
#             those, the kernel's modules for virtio disks, dm-crypt and
#             aes-xts (from the same kernel package, in modprobe's order), and
#             /etc/sll-runtime.d/60-luks: with sll.luks=DEVICE (and the sll.unseal
#             options) it unseals the key and opens DEVICE with it, printing
#               sll-runtime: luks open ok <dm table line without the key>
#             or
#               sll-runtime: luks open failed
#               sll-runtime: luks-error <each line printed>
#             and /etc/sll-runtime.d/40-signed: with sll.unseal_signed=DEVICE it
#             extracts the tar archive on DEVICE (a raw disk: the admin's public
#             key key.pub.pem and the signed states NAME.policy, NAME.sig; not
#             measured, not secret) into /tmp/signed for 50-unseal (DEVICE may also be
#             a directory, e.g. on the boot partition), printing
#               sll-runtime: signed states <number of NAME.policy files>
#             and /etc/sll-runtime.d/30-boot: with sll.boot_partition=DEVICE it mounts
#             that FAT partition read-only at /boot, printing
#               sll-runtime: boot partition DEVICE mounted
#             (the modules, in load order, are listed in /etc/sll-modules)
# manage.img: the management environment's initrd (listed after luks.img, whose modules
#             and libraries it uses): slpolicy ($BUILD/slpolicy; SLPOLICY=FILE overrides),
#             jq, openssl and the libraries they need beyond tpm2-tools.img's,
#             tools/sll-manage, /etc/sll/manage.conf (its handle, PCRs, key and signed-state
#             paths), and /etc/sll-runtime.d/65-manage: with sll.manage=DEVICE it mounts the
#             boot partition read-write and runs sll-manage approve on the console, which
#             asks the admin (sll.manage_raise_floor=INDEX: --raise-floor INDEX); with
#             sll.manage_yes it runs with --yes and prints each of its lines as
#               sll-runtime: manage: <line>
#             then, either way, "sll-runtime: manage: exit <status>". Its step hook, /bin/sll-test-cut,
#             cuts the power (sysrq b) after the step a test names on a control disk,
#             /dev/vdb holding "cut STEP", printing "sll-runtime: power cut after step STEP".
# attest.img: an initrd for the attestation test (listed after initrd.img): the
#             host-built $BUILD/sll-attest (make sll-attest; SLL_ATTEST=FILE
#             overrides) as /bin/sll-attest, the libraries ldd names for it, the
#             loader, and /etc/sll-runtime.d/70-attest: with sll.attest=ttyS1 it
#             answers the verifier's requests on that serial port (a second one
#             the test gives QEMU) until "done", see the step's comment, then prints
#               sll-runtime: attest: <n> requests answered
#
# Incremental: nothing is rebuilt when the kernel package, busybox and this
# script are unchanged (a stamp in OUTDIR records them).
#
# Environment: BUILD=DIR (default: build/ in the tree; the package cache is
# BUILD/cache), BUSYBOX=FILE (default: /bin/busybox of busybox-static).
set -euo pipefail

usage() { echo "usage: ${0##*/} OUTDIR" >&2; exit 2; }
msg() { echo "make-runtime: $*" >&2; }
die() { msg "FAILED: $*"; exit 1; }

(($# == 1)) || usage
[[ $1 != -* ]] || usage
outdir=$1

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
cache=$BUILD/cache
self=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/${BASH_SOURCE[0]##*/}
export LC_ALL=C TZ=UTC

# --- inputs ------------------------------------------------------------------------
# The kernel package the metapackage currently depends on (from the local apt lists).
kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
    sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n1)
[[ -n $kpkg ]] || die "cannot find the kernel linux-image-amd64 depends on (apt-get update?)"
kver=$(apt-cache show --no-all-versions "$kpkg" | sed -n 's/^Version: //p' | head -n1)
[[ -n $kver ]] || die "no candidate version of $kpkg"
# apt-get download writes an epoch's ':' as '%3a'.
deb=$cache/${kpkg}_${kver//:/%3a}_amd64.deb

BUSYBOX=${BUSYBOX:-/bin/busybox}
[[ -x $BUSYBOX ]] || die "no $BUSYBOX: install busybox-static (build.sh packages)"
if command -v file >/dev/null; then
    file -b -L "$BUSYBOX" | grep -q 'statically linked' ||
        die "$BUSYBOX is not statically linked: install busybox-static"
fi

mkdir -p "$outdir"
stamp=$outdir/.runtime-stamp
sll_seal=$ROOT/tools/sll-seal
sll_attest=${SLL_ATTEST:-$BUILD/sll-attest}
[[ -x $sll_attest ]] || die "no $sll_attest: run make sll-attest"
sll_manage=$ROOT/tools/sll-manage
slpolicy=${SLPOLICY:-$BUILD/slpolicy}
[[ -x $slpolicy ]] || die "no $slpolicy: run make slpolicy"
tpm2_bin=$(command -v tpm2) || die "no tpm2 (tpm2-tools): run build.sh packages"
want=$(printf '%s\n' "kernel $kpkg $kver" \
    "busybox $(sha256sum <"$BUSYBOX" | cut -d' ' -f1)" \
    "script $(sha256sum <"$self" | cut -d' ' -f1)" \
    "tpm2-tools $(dpkg-query -W -f='${Version}' tpm2-tools)" \
    "sll-seal $(sha256sum <"$sll_seal" | cut -d' ' -f1)" \
    "cryptsetup $(dpkg-query -W -f='${Version}' cryptsetup-bin)" \
    "sll-attest $(sha256sum <"$sll_attest" | cut -d' ' -f1)" \
    "sll-manage $(sha256sum <"$sll_manage" | cut -d' ' -f1)" \
    "slpolicy $(sha256sum <"$slpolicy" | cut -d' ' -f1)")
if [[ -f $outdir/vmlinuz && -f $outdir/initrd.img && -f $outdir/tpm2-tools.img &&
    -f $outdir/luks.img && -f $outdir/attest.img && -f $outdir/manage.img && -f $stamp ]] &&
    [[ $(cat "$stamp") == "$want" ]]; then
    msg "up to date: $outdir ($kpkg $kver)"
    exit 0
fi
rm -f "$stamp"

tmp=$(mktemp -d -t make-runtime.XXXXXX)
# shellcheck disable=SC2317
cleanup() { rm -rf "$tmp"; }
trap cleanup EXIT

# --- vmlinuz -------------------------------------------------------------------------
if [[ ! -s $deb ]]; then
    msg "downloading $kpkg $kver into $cache"
    mkdir -p "$cache"
    # Download in the temp dir, then move: an interrupted download never looks cached.
    (cd "$tmp" && apt-get download "$kpkg=$kver") >&2 ||
        die "apt-get download $kpkg=$kver"
    mv "$tmp/${deb##*/}" "$deb"
else
    msg "using cached ${deb##*/}"
fi
mkdir "$tmp/deb"
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp/deb" --wildcards './boot/vmlinuz-*'
vmlinuz=("$tmp"/deb/boot/vmlinuz-*)
if ((${#vmlinuz[@]} != 1)) || [[ ! -f ${vmlinuz[0]} ]]; then
    die "no single boot/vmlinuz-* in $deb"
fi
msg "kernel ${vmlinuz[0]##*/}"

# --- initrd.img ------------------------------------------------------------------------
cat >"$tmp/init" <<'EOF'
#!/bin/sh
# SLL e2e runtime OS: report the PCRs and the SLL event log on the console, power off.
# No "set -e": PID 1 must never exit (that panics the kernel).
export PATH=/bin
mount -t devtmpfs devtmpfs /dev
# The console the kernel handed us is the initramfs' /dev/console; reopen it on devtmpfs.
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t securityfs securityfs /sys/kernel/security
# Keep kernel messages from splitting our lines on the serial console.
echo 1 >/proc/sys/kernel/printk

say() { echo "sll-runtime: $*"; }
say booted
say "kernel $(uname -r)"
read -r cmdline </proc/cmdline
say "cmdline $cmdline"

# tpm_tis probes synchronously when built in; allow a little slack anyway.
i=0
while [ ! -d /sys/class/tpm/tpm0 ] && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
banks=0
for d in /sys/class/tpm/tpm0/pcr-*/; do
    [ -d "$d" ] || continue
    bank=${d%/}
    bank=${bank##*/pcr-}
    banks=$((banks + 1))
    n=0
    while [ $n -le 23 ]; do
        v=$(cat "$d$n" 2>/dev/null) || v=unreadable
        say "pcr $bank $n $(echo "$v" | tr 'A-F' 'a-f')"
        n=$((n + 1))
    done
done
[ $banks -gt 0 ] || say no-tpm

log=/sll/eventlog.bin
if [ -f $log ]; then
    say "eventlog-size $(stat -c %s $log)"
    sum=$(sha256sum $log)
    say "eventlog-sha256 ${sum%% *}"
    say eventlog-begin
    base64 -w 76 $log
    say eventlog-end
else
    say "eventlog none"
fi

# Extra reports from an initrd appended by a test (e.g. a capture for the collectors).
for hook in /etc/sll-runtime.d/*; do
    [ -x "$hook" ] && "$hook"
done

say done
sync
poweroff -f
# Not reached; never let PID 1 exit.
echo o >/proc/sysrq-trigger
while :; do sleep 60; done
EOF

# Applets to link: from the binary itself, so the list matches it.
"$BUSYBOX" --list | sort -u >"$tmp/applets"
for a in sh mount base64 sha256sum stat poweroff; do
    grep -qx "$a" "$tmp/applets" || die "$BUSYBOX lacks the applet $a"
done

python3 - "$tmp/init" "$BUSYBOX" "$tmp/applets" "$tmp/initrd.img" <<'EOF'
"""Write a reproducible gzip'd newc cpio: sorted, uid/gid 0, mtime 0, fresh inodes."""
import stat, struct, sys, zlib

init_path, busybox_path, applets_path, out_path = sys.argv[1:]
entries = {}  # name -> (mode, data, rdev major, rdev minor)

def add(name, mode, data=b"", rmaj=0, rmin=0):
    entries[name] = (mode, data, rmaj, rmin)

for d in ("bin", "dev", "proc", "sys", "tmp"):
    add(d, stat.S_IFDIR | 0o755)
add("root", stat.S_IFDIR | 0o700)
# The kernel opens /dev/console on the rootfs before running /init.
add("dev/console", stat.S_IFCHR | 0o600, rmaj=5, rmin=1)
add("init", stat.S_IFREG | 0o755, open(init_path, "rb").read())
add("bin/busybox", stat.S_IFREG | 0o755, open(busybox_path, "rb").read())
for a in open(applets_path).read().split():
    if a != "busybox" and "/" not in a:
        add("bin/" + a, stat.S_IFLNK | 0o777, b"busybox")

def pad(n):
    return b"\0" * (-n % 4)

out = bytearray()
def record(ino, name, mode, data, rmaj, rmin):
    nb = name.encode() + b"\0"
    nlink = 2 if stat.S_ISDIR(mode) else 1
    fields = (ino, mode, 0, 0, nlink, 0, len(data), 0, 0, rmaj, rmin, len(nb), 0)
    hdr = b"070701" + b"".join(b"%08X" % f for f in fields)
    out.extend(hdr + nb + pad(len(hdr) + len(nb)) + data + pad(len(data)))

for ino, name in enumerate(sorted(entries), start=1):
    record(ino, name, *entries[name])
record(0, "TRAILER!!!", 0, b"", 0, 0)
# gzip by hand (RFC 1952) to size the header's file name (FNAME; Linux's gunzip
# skips it, but not FEXTRA) so that the file's length is 2 mod 4 on purpose: a
# cpio appended after a compressed one must start 4-aligned (init/initramfs.c),
# so slinit has to pad, and the e2e tests catch it if it does not (real initrds
# have arbitrary lengths too).
body = zlib.compressobj(9, zlib.DEFLATED, -15)
body = body.compress(bytes(out)) + body.flush()
base = b"initrd.cpio\0"
k = (2 - (10 + len(base) + len(body) + 8)) % 4
hdr = b"\x1f\x8b\x08\x08" + b"\0\0\0\0" + b"\x02\x03" + b"initrd" + b"_" * k + b".cpio\0"
tail = struct.pack("<II", zlib.crc32(out) & 0xFFFFFFFF, len(out) & 0xFFFFFFFF)
with open(out_path, "wb") as f:
    f.write(hdr + body + tail)
EOF

# --- tpm2-tools.img ----------------------------------------------------------------------
ov=$tmp/tpm2-tools
mkdir -p "$ov/bin" "$ov/lib/x86_64-linux-gnu" "$ov/lib64" "$ov/etc/sll-runtime.d"
install -m 0755 "$(readlink -f "$tpm2_bin")" "$ov/bin/tpm2"
for t in "$(dirname "$tpm2_bin")"/tpm2_*; do
    if [[ -L $t && $(readlink "$t") == tpm2 ]]; then ln -s tpm2 "$ov/bin/${t##*/}"; fi
done
install -m 0755 "$sll_seal" "$ov/bin/sll-seal"
tcti=$(dpkg -L libtss2-tcti-device0 | grep -m1 '/libtss2-tcti-device\.so\.0$') ||
    die "no libtss2-tcti-device.so.0 (package libtss2-tcti-device0)"
# Every library the loader will map, in one directory it searches by default (Debian's
# multiarch one), and the loader itself at the path the binaries name.
libs_of() {   # libs_of FILE... -> the libraries ldd names, one path a line
    local f
    for f in "$@"; do ldd "$f"; done | sed -n 's/^.* => \(\/[^ ]*\) (0x[0-9a-f]*)$/\1/p' |
        sort -u
}
install_libs() {   # install_libs DESTDIR <list
    local lib
    while read -r lib; do
        install -m 0644 "$(readlink -f "$lib")" "$1/lib/x86_64-linux-gnu/${lib##*/}"
    done
}
{ libs_of "$tpm2_bin" "$tcti"; echo "$tcti"; } >"$tmp/libs"
(($(wc -l <"$tmp/libs") > 5)) || die "ldd $tpm2_bin named too few libraries"
install_libs "$ov" <"$tmp/libs"
interp=/lib64/ld-linux-x86-64.so.2
[[ $(ldd "$tpm2_bin") == *"	$interp "* ]] || die "$tpm2_bin does not use $interp"
install -m 0755 "$(readlink -f "$interp")" "$ov$interp"
cat >"$ov/etc/sll-runtime.d/50-unseal" <<'UNSEAL'
#!/bin/sh
# Unseal the handle the command line names, through the kernel's resource manager.
say() { echo "sll-runtime: $*"; }
handle='' pcrs=''
for opt in $(cat /proc/cmdline); do
    case $opt in
    sll.unseal=*) handle=${opt#*=} ;;
    sll.unseal_pcrs=*) pcrs=${opt#*=} ;;
    esac
done
[ -n "$handle" ] || exit 0
export LD_LIBRARY_PATH=/lib/x86_64-linux-gnu TPM2TOOLS_TCTI=device:/dev/tpmrm0
# Signed PCR policies, when luks.img's 40-signed step found them (sll.unseal_signed=).
set --
if [ -f /tmp/signed/key.pub.pem ]; then
    set -- --authorize /tmp/signed/key.pub.pem --signed /tmp/signed
fi
if sll-seal unseal --pcrs "$pcrs" --handle "$handle" "$@" >/tmp/secret 2>/tmp/unseal.err; then
    sum=$(sha256sum /tmp/secret)
    say "unseal ok sha256 ${sum%% *}"
else
    say "unseal failed"
    while IFS= read -r line; do say "unseal-error $line"; done </tmp/unseal.err
fi
rm -f /tmp/secret
UNSEAL
chmod 0755 "$ov/etc/sll-runtime.d/50-unseal"
cat >"$ov/etc/sll-runtime.d/55-request" <<'REQUEST'
#!/bin/sh
# Ask for the management entry at the next boot: the policy's management_request NV index,
# set to a non-zero value (README, "Upgrading with the management environment").
say() { echo "sll-runtime: $*"; }
index=''
for opt in $(cat /proc/cmdline); do
    case $opt in sll.request_management=*) index=${opt#*=} ;; esac
done
[ -n "$index" ] || exit 0
# INDEX:FILE: only when FILE exists (a staged policy waiting for the management environment).
case $index in
*:*)
    file=${index#*:} index=${index%%:*}
    [ -f "$file" ] || { say "management not requested: no $file"; exit 0; } ;;
esac
export LD_LIBRARY_PATH=/lib/x86_64-linux-gnu TPM2TOOLS_TCTI=device:/dev/tpmrm0
if printf '\001\000\000\000\000\000\000\000' | tpm2_nvwrite "$index" -i - 2>/tmp/request.err; then
    say "management requested"
else
    say "management request failed: $(cat /tmp/request.err)"
fi
REQUEST
chmod 0755 "$ov/etc/sll-runtime.d/55-request"
cat >"$ov/etc/sll-runtime.d/57-try-unseal" <<'TRY'
#!/bin/sh
# What a runtime OS taken over would try: unseal a secret that is not its own (the
# management environment's approval KEK), sll.try_unseal=HANDLE@BANK:LIST.
say() { echo "sll-runtime: $*"; }
arg=''
for opt in $(cat /proc/cmdline); do
    case $opt in sll.try_unseal=*) arg=${opt#*=} ;; esac
done
[ -n "$arg" ] || exit 0
handle=${arg%%@*} pcrs=${arg#*@}
export LD_LIBRARY_PATH=/lib/x86_64-linux-gnu TPM2TOOLS_TCTI=device:/dev/tpmrm0
if sll-seal unseal --pcrs "$pcrs" --handle "$handle" >/tmp/stolen 2>/tmp/try.err; then
    say "try-unseal $handle: got the secret"
else
    say "try-unseal $handle: refused: $(grep -m1 'tpm:' /tmp/try.err || tail -n1 /tmp/try.err)"
fi
rm -f /tmp/stolen
TRY
chmod 0755 "$ov/etc/sll-runtime.d/57-try-unseal"
find "$ov" -exec touch -h -d @0 {} +
(cd "$ov" && find . -mindepth 1 | sed 's|^\./||' | sort |
    cpio -o -H newc -R 0:0 --reproducible --quiet) | gzip -n -9 >"$tmp/tpm2-tools.img"

# --- luks.img ----------------------------------------------------------------------------
lk=$tmp/luks
cryptsetup_bin=$(command -v cryptsetup) || die "no cryptsetup: run build.sh packages"
mkdir -p "$lk/bin" "$lk/lib/x86_64-linux-gnu" "$lk/run" "$lk/etc/sll-runtime.d"
install -m 0755 "$(readlink -f "$cryptsetup_bin")" "$lk/bin/cryptsetup"
# libgcc_s too: glibc loads it at run time (ldd cannot see it) when a thread exits, and
# argon2id key slots are derived by threads ("libgcc_s.so.1 must be installed for
# pthread_exit to work", then an abort).
libgcc_s=/lib/x86_64-linux-gnu/libgcc_s.so.1
[ -e "$libgcc_s" ] || die "no $libgcc_s"
{ libs_of "$cryptsetup_bin"; echo "$libgcc_s"; } | { grep -vxF -f "$tmp/libs" || true; } |
    install_libs "$lk"
kmod_ver=${vmlinuz[0]##*/vmlinuz-}
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp/deb" "./lib/modules/$kmod_ver"
depmod -b "$tmp/deb" "$kmod_ver"
: >"$tmp/modules.new"
for m in virtio_pci virtio_blk ecb xts dm-crypt vfat nls_cp437 nls_ascii nls_utf8; do
    modprobe -d "$tmp/deb" -S "$kmod_ver" --show-depends "$m" |
        sed -n "s|^insmod $tmp/deb/\([^ ]*\.ko\) *$|\1|p" >>"$tmp/modules.new" ||
        die "modprobe --show-depends $m"
done
awk '!seen[$0]++' "$tmp/modules.new" >"$tmp/modules"
(($(wc -l <"$tmp/modules") >= 9)) || die "too few modules for virtio, dm-crypt and vfat"
while read -r ko; do
    install -D -m 0644 "$tmp/deb/$ko" "$lk/$ko"
done <"$tmp/modules"
# The modules in load order, for the steps that need a disk (30-boot, 65-manage).
mkdir -p "$lk/etc"
cp "$tmp/modules" "$lk/etc/sll-modules"
cat >"$lk/etc/sll-runtime.d/30-boot" <<'BOOT'
#!/bin/sh
# The boot partition the command line names (sll.boot_partition=DEVICE), read-only at /boot:
# the signed states (40-signed) and a staged policy (55-request) are there.
say() { echo "sll-runtime: $*"; }
dev=''
for opt in $(cat /proc/cmdline); do
    case $opt in sll.boot_partition=*) dev=${opt#*=} ;; esac
done
[ -n "$dev" ] || exit 0
for ko in $(cat /etc/sll-modules); do insmod "/$ko" 2>/dev/null; done
i=0
while [ ! -b "$dev" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
mkdir -p /boot
if mount -t vfat -o ro "$dev" /boot 2>/tmp/boot.err; then
    say "boot partition $dev mounted"
else
    say "boot partition $dev: $(cat /tmp/boot.err)"
fi
BOOT
chmod 0755 "$lk/etc/sll-runtime.d/30-boot"
{
    echo "#!/bin/sh"
    echo "# Open the LUKS volume the command line names with the key sealed in the TPM."
    echo "modules='$(tr '\n' ' ' <"$tmp/modules")'"
    cat <<'LUKS'
say() { echo "sll-runtime: $*"; }
handle='' pcrs='' dev=''
for opt in $(cat /proc/cmdline); do
    case $opt in
    sll.unseal=*) handle=${opt#*=} ;;
    sll.unseal_pcrs=*) pcrs=${opt#*=} ;;
    sll.luks=*) dev=${opt#*=} ;;
    esac
done
[ -n "$dev" ] || exit 0
for ko in $modules; do insmod "/$ko" 2>/dev/null; done
i=0
while [ ! -b "$dev" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
export LD_LIBRARY_PATH=/lib/x86_64-linux-gnu TPM2TOOLS_TCTI=device:/dev/tpmrm0 DM_DISABLE_UDEV=1
if [ ! -b "$dev" ]; then
    echo "no block device $dev" >/tmp/luks.err
elif sll-seal unseal --pcrs "$pcrs" --handle "$handle" >/tmp/luks.key 2>/tmp/luks.err &&
    cryptsetup open --type luks2 --key-file /tmp/luks.key "$dev" sll-data 2>>/tmp/luks.err; then
    rm -f /tmp/luks.key
    table=$(cryptsetup status sll-data 2>&1 | sed -n 's/^ *cipher: *//p')
    say "luks open ok cipher $table"
    cryptsetup close sll-data
    exit 0
fi
rm -f /tmp/luks.key
say "luks open failed"
while IFS= read -r line; do say "luks-error $line"; done </tmp/luks.err
LUKS
} >"$lk/etc/sll-runtime.d/60-luks"
chmod 0755 "$lk/etc/sll-runtime.d/60-luks"
{
    echo "#!/bin/sh"
    echo "# The signed PCR policies on the raw disk the command line names, into /tmp/signed."
    echo "modules='$(tr '\n' ' ' <"$tmp/modules")'"
    cat <<'SIGNED'
say() { echo "sll-runtime: $*"; }
dev=''
for opt in $(cat /proc/cmdline); do
    case $opt in sll.unseal_signed=*) dev=${opt#*=} ;; esac
done
[ -n "$dev" ] || exit 0
mkdir -p /tmp/signed
if [ -d "$dev" ]; then
    # A directory (on the boot partition 30-boot mounted): its files.
    cp "$dev"/* /tmp/signed/ 2>/tmp/signed.err
    n=0
    for f in /tmp/signed/*.policy; do [ -f "$f" ] && n=$((n + 1)); done
    say "signed states $n"
    exit 0
fi
for ko in $modules; do insmod "/$ko" 2>/dev/null; done
i=0
while [ ! -b "$dev" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
if tar -x -f "$dev" -C /tmp/signed 2>/tmp/signed.err; then
    n=0
    for f in /tmp/signed/*.policy; do [ -f "$f" ] && n=$((n + 1)); done
    say "signed states $n"
else
    say "signed states none: $(cat /tmp/signed.err)"
fi
SIGNED
} >"$lk/etc/sll-runtime.d/40-signed"
chmod 0755 "$lk/etc/sll-runtime.d/40-signed"
find "$lk" -exec touch -h -d @0 {} +
(cd "$lk" && find . -mindepth 1 | sed 's|^\./||' | sort |
    cpio -o -H newc -R 0:0 --reproducible --quiet) | gzip -n -9 >"$tmp/luks.img"

# --- attest.img --------------------------------------------------------------------------
at=$tmp/attest
mkdir -p "$at/bin" "$at/lib/x86_64-linux-gnu" "$at/lib64" "$at/etc/sll-runtime.d"
install -m 0755 "$sll_attest" "$at/bin/sll-attest"
{ libs_of "$sll_attest" "$tcti"; echo "$tcti"; } | install_libs "$at"
[[ $(ldd "$sll_attest") == *"	$interp "* ]] || die "$sll_attest does not use $interp"
install -m 0755 "$(readlink -f "$interp")" "$at$interp"
cat >"$at/etc/sll-runtime.d/70-attest" <<'ATTEST'
#!/bin/sh
# Remote attestation over the serial port the command line names (sll.attest=ttyS1): the
# verifier's requests, one a line, each answered by sll-attest between "ok" or "error" and
# "end": "enroll", "activate BASE64-OF-CREDENTIAL.json", "quote NONCE BANK[,BANK]", "done".
say() { echo "sll-runtime: $*"; }
port=''
for opt in $(cat /proc/cmdline); do
    case $opt in sll.attest=*) port=${opt#*=} ;; esac
done
[ -n "$port" ] || exit 0
export LD_LIBRARY_PATH=/lib/x86_64-linux-gnu TPM2TOOLS_TCTI=device:/dev/tpmrm0
dev=/dev/$port
if ! stty -F "$dev" raw -echo 115200 2>/dev/null; then
    say "attest: no serial port $dev"
    exit 0
fi
exec 3<>"$dev"
answer() {   # answer ARGS...: sll-attest ARGS --out FILE, its output or its error, then "end"
    if sll-attest "$@" --out /tmp/answer 2>/tmp/attest.err; then
        echo ok >&3
        cat /tmp/answer >&3
    else
        echo error >&3
        cat /tmp/attest.err >&3
    fi
    echo end >&3
    rm -f /tmp/answer /tmp/attest.err
}
# The verifier may connect after the port opened: say "ready" until it answers.
i=0
line=''
while [ $i -lt 120 ]; do
    echo ready >&3
    if read -r -t 1 line <&3; then break; fi
    i=$((i + 1))
done
n=0
while [ -n "$line" ] && [ $n -lt 32 ]; do
    set -- $line
    case $1 in
    enroll) answer enroll ;;
    activate) echo "$2" | base64 -d >/tmp/credential.json && answer activate /tmp/credential.json ;;
    quote)
        banks=''
        for b in $(echo "$3" | tr ',' ' '); do banks="$banks --bank $b"; done
        # shellcheck disable=SC2086
        answer quote --nonce "$2" $banks ;;
    done) break ;;
    *) echo error >&3; echo "unknown request $1" >&3; echo end >&3 ;;
    esac
    n=$((n + 1))
    line=''
    read -r -t 120 line <&3 || break
done
say "attest: $n requests answered"
ATTEST
chmod 0755 "$at/etc/sll-runtime.d/70-attest"
find "$at" -exec touch -h -d @0 {} +
(cd "$at" && find . -mindepth 1 | sed 's|^\./||' | sort |
    cpio -o -H newc -R 0:0 --reproducible --quiet) | gzip -n -9 >"$tmp/attest.img"

# --- manage.img --------------------------------------------------------------------------
# The management environment's tools, over tpm2-tools.img and luks.img (their libraries,
# sll-seal, the modules): slpolicy, jq, openssl, tools/sll-manage and the step 65-manage.
mg=$tmp/manage
mkdir -p "$mg/bin" "$mg/lib/x86_64-linux-gnu" "$mg/etc/sll" "$mg/etc/sll-runtime.d"
jq_bin=$(command -v jq) || die "no jq: run build.sh packages"
openssl_bin=$(command -v openssl) || die "no openssl: run build.sh packages"
install -m 0755 "$slpolicy" "$mg/bin/slpolicy"
install -m 0755 "$(readlink -f "$jq_bin")" "$mg/bin/jq"
install -m 0755 "$(readlink -f "$openssl_bin")" "$mg/bin/openssl"
install -m 0755 "$sll_manage" "$mg/bin/sll-manage"
libs_of "$slpolicy" "$jq_bin" "$openssl_bin" | { grep -vxF -f "$tmp/libs" || true; } |
    install_libs "$mg"
cat >"$mg/etc/sll/manage.conf" <<'CONF'
# The management environment's settings (measured: this file is in its initrd).
HANDLE=0x81000110
PCRS=sha256:17,18,19,22
KEYS=/slaunch/approval.keys
SIGNED=/slaunch/signed
REF=sll-seal
STATE_PCRS=sha256:17,18,21,22
CONF
cat >"$mg/bin/sll-test-cut" <<'CUT'
#!/bin/sh
# sll-manage's step hook in the tests: a power cut (an immediate reset, nothing more written)
# after the step the control disk /dev/vdb names ("cut STEP"), when the test gives one.
[ -b /dev/vdb ] || exit 0
want=$(head -c 64 /dev/vdb | tr -d '\000' | sed -n 's/^cut //p')
[ "$want" = "$1" ] || exit 0
echo "sll-runtime: power cut after step $1" >/dev/console
echo b >/proc/sysrq-trigger
sleep 10
CUT
chmod 0755 "$mg/bin/sll-test-cut"
cat >"$mg/etc/sll-runtime.d/65-manage" <<'MANAGE'
#!/bin/sh
# The management environment (sll.manage=DEVICE, the boot partition): sll-manage approve
# with /etc/sll/manage.conf; sll.manage_yes approves without asking, and
# sll.manage_raise_floor=INDEX raises that floor. Prints each line of sll-manage as
#   sll-runtime: manage: <line>
# then sll-runtime: manage: exit <status>
say() { echo "sll-runtime: $*"; }
dev='' yes='' floor=''
for opt in $(cat /proc/cmdline); do
    case $opt in
    sll.manage=*) dev=${opt#*=} ;;
    sll.manage_yes) yes=--yes ;;
    sll.manage_raise_floor=*) floor=${opt#*=} ;;
    esac
done
[ -n "$dev" ] || exit 0
. /etc/sll/manage.conf
export LD_LIBRARY_PATH=/lib/x86_64-linux-gnu TPM2TOOLS_TCTI=device:/dev/tpmrm0
for ko in $(cat /etc/sll-modules); do insmod "/$ko" 2>/dev/null; done
i=0
while [ ! -b "$dev" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
umount /boot 2>/dev/null
mkdir -p /boot
if ! mount -t vfat "$dev" /boot 2>/tmp/manage.err; then
    say "manage: cannot mount $dev: $(cat /tmp/manage.err)"
    exit 0
fi
set -- --boot /boot --handle "$HANDLE" --pcrs "$PCRS" --keys "/boot$KEYS" --signed "$SIGNED" \
    --ref "$REF" --state-pcrs "$STATE_PCRS"
[ -z "$yes" ] || set -- "$@" "$yes"
[ -z "$floor" ] || set -- "$@" --raise-floor "$floor"
export SLL_MANAGE_STEP_HOOK=/bin/sll-test-cut
if [ -n "$yes" ]; then
    # Its lines as they come (a power cut must not lose them).
    {
        sll-manage approve "$@" </dev/null
        echo $? >/tmp/manage.status
    } 2>&1 | while IFS= read -r line; do say "manage: $line"; done
else
    # On the console, which asks the admin (its input is QEMU's serial input in the tests).
    sll-manage approve "$@"
    echo $? >/tmp/manage.status
fi
umount /boot
say "manage: exit $(cat /tmp/manage.status)"
MANAGE
chmod 0755 "$mg/etc/sll-runtime.d/65-manage"
find "$mg" -exec touch -h -d @0 {} +
(cd "$mg" && find . -mindepth 1 | sed 's|^\./||' | sort |
    cpio -o -H newc -R 0:0 --reproducible --quiet) | gzip -n -9 >"$tmp/manage.img"

# --- install --------------------------------------------------------------------------
install -m 0644 "${vmlinuz[0]}" "$outdir/vmlinuz"
install -m 0644 "$tmp/initrd.img" "$outdir/initrd.img"
install -m 0644 "$tmp/tpm2-tools.img" "$outdir/tpm2-tools.img"
install -m 0644 "$tmp/luks.img" "$outdir/luks.img"
install -m 0644 "$tmp/attest.img" "$outdir/attest.img"
install -m 0644 "$tmp/manage.img" "$outdir/manage.img"
printf '%s\n' "$want" >"$stamp"
msg "built $outdir/vmlinuz ($(stat -c %s "$outdir/vmlinuz") bytes)," \
    "$outdir/initrd.img ($(stat -c %s "$outdir/initrd.img") bytes)," \
    "$outdir/tpm2-tools.img ($(stat -c %s "$outdir/tpm2-tools.img") bytes)," \
    "$outdir/luks.img ($(stat -c %s "$outdir/luks.img") bytes)," \
    "$outdir/attest.img ($(stat -c %s "$outdir/attest.img") bytes)," \
    "$outdir/manage.img ($(stat -c %s "$outdir/manage.img") bytes)"
