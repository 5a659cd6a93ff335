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
want=$(printf '%s\n' "kernel $kpkg $kver" \
    "busybox $(sha256sum <"$BUSYBOX" | cut -d' ' -f1)" \
    "script $(sha256sum <"$self" | cut -d' ' -f1)")
if [[ -f $outdir/vmlinuz && -f $outdir/initrd.img && -f $stamp ]] &&
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

# --- install --------------------------------------------------------------------------
install -m 0644 "${vmlinuz[0]}" "$outdir/vmlinuz"
install -m 0644 "$tmp/initrd.img" "$outdir/initrd.img"
printf '%s\n' "$want" >"$stamp"
msg "built $outdir/vmlinuz ($(stat -c %s "$outdir/vmlinuz") bytes)," \
    "$outdir/initrd.img ($(stat -c %s "$outdir/initrd.img") bytes)"
