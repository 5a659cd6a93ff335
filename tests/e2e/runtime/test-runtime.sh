#!/usr/bin/env bash
# Self-test of the e2e fixtures: the runtime OS (make-runtime.sh) booted directly
# in QEMU + swtpm without DRTM (no SL image involved), and make-boot-disk.sh.
#
#   tests/e2e/runtime/test-runtime.sh
#
# Outputs: build/runtime/ (the runtime OS), build/test-runtime/ (serial logs).
# Environment: BUILD=DIR (default build/ in the tree), TIMEOUT=SEC per boot (300).
# Prints "N passed, N failed"; exit status 0 only if nothing failed.
# The checks run small 'bash -c' scripts with positional arguments (single quotes
# on purpose); cleanup and helpers run indirectly.
# shellcheck disable=SC2016,SC2317
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
cd "$ROOT"
BUILD=${BUILD:-$ROOT/build}
export BUILD
TIMEOUT=${TIMEOUT:-300}
runtime=$BUILD/runtime
logs=$BUILD/test-runtime
mkdir -p "$logs"

tmp=$(mktemp -d -t test-runtime.XXXXXX)
cleanup() { rm -rf "$tmp"; }
trap cleanup EXIT

passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok   - $*"; }
fail() { failed=$((failed + 1)); echo "FAIL - $*"; }
check() {   # check DESCRIPTION CMD...
    local what=$1; shift
    if "$@"; then ok "$what"; else fail "$what"; fi
}
finish() {
    echo "$passed passed, $failed failed"
    exit $((failed == 0 ? 0 : 1))
}

# --- build -------------------------------------------------------------------------
if tests/e2e/runtime/make-runtime.sh "$runtime"; then
    ok "make-runtime.sh builds $runtime"
else
    fail "make-runtime.sh builds $runtime"
    finish
fi
check "vmlinuz is a bzImage" \
    bash -c '[[ $(dd if="$1" bs=1 skip=514 count=4 status=none) == HdrS ]]' _ "$runtime/vmlinuz"
check "initrd.img is a gzip'd newc cpio" \
    bash -c 'zcat "$1" | head -c 6 | grep -qx 070701' _ "$runtime/initrd.img"
zcat "$runtime/initrd.img" | cpio -it --quiet >"$tmp/initrd.list" 2>/dev/null || true
check "initrd.img holds init, bin/busybox, bin/sh, dev/console" \
    bash -c 'for f in init bin/busybox bin/sh dev/console; do grep -qx "$f" "$1" || exit 1; done' \
    _ "$tmp/initrd.list"
check "initrd.img holds no /sll (slinit appends it)" \
    bash -c '! grep -q "^sll" "$1"' _ "$tmp/initrd.list"
zcat "$runtime/tpm2-tools.img" | cpio -it --quiet >"$tmp/tools.list" 2>/dev/null || true
check "tpm2-tools.img holds tpm2_unseal, sll-seal, the loader, the device TCTI, the unseal step" \
    bash -c 'for f in bin/tpm2 bin/tpm2_unseal bin/sll-seal lib64/ld-linux-x86-64.so.2 \
        lib/x86_64-linux-gnu/libtss2-tcti-device.so.0 lib/x86_64-linux-gnu/libtss2-esys.so.0 \
        etc/sll-runtime.d/50-unseal; do grep -qx "$f" "$1" || exit 1; done' _ "$tmp/tools.list"
zcat "$runtime/luks.img" | cpio -it --quiet >"$tmp/luks.list" 2>/dev/null || true
check "luks.img holds cryptsetup, libcryptsetup, dm-crypt.ko, virtio_blk.ko, the LUKS step" \
    bash -c 'for f in bin/cryptsetup lib/x86_64-linux-gnu/libcryptsetup.so.12 \
        etc/sll-runtime.d/60-luks; do grep -qx "$f" "$1" || exit 1; done
        grep -q "/dm-crypt\.ko$" "$1" && grep -q "/virtio_blk\.ko$" "$1"' _ "$tmp/luks.list"

stamp_before=$(stat -c %Y.%s "$runtime/vmlinuz" "$runtime/initrd.img")
tests/e2e/runtime/make-runtime.sh "$runtime" 2>"$tmp/rebuild.err" || true
check "second make-runtime.sh run is a no-op" \
    bash -c 'grep -q "up to date" "$1" && [[ $(stat -c %Y.%s "$2" "$3") == "$4" ]]' \
    _ "$tmp/rebuild.err" "$runtime/vmlinuz" "$runtime/initrd.img" "$stamp_before"
if tests/e2e/runtime/make-runtime.sh "$tmp/runtime2" 2>/dev/null; then
    check "initrd.img is reproducible (fresh build has the same bytes)" \
        cmp -s "$runtime/initrd.img" "$tmp/runtime2/initrd.img"
    check "vmlinuz of a fresh build has the same bytes" \
        cmp -s "$runtime/vmlinuz" "$tmp/runtime2/vmlinuz"
    check "tpm2-tools.img is reproducible (fresh build has the same bytes)" \
        cmp -s "$runtime/tpm2-tools.img" "$tmp/runtime2/tpm2-tools.img"
    check "luks.img is reproducible (fresh build has the same bytes)" \
        cmp -s "$runtime/luks.img" "$tmp/runtime2/luks.img"
else
    fail "second build into a fresh directory"
fi

# --- boot ----------------------------------------------------------------------------
# boot NAME INITRD -> log in $logs/NAME.log, CRs stripped in $tmp/NAME.txt
boot() {
    local name=$1 initrd=$2 t0=$EPOCHREALTIME rc=0
    tests/harness/boot-qemu.sh --kernel "$runtime/vmlinuz" --initrd "$initrd" \
        --append 'console=ttyS0' --no-drtm --timeout "$TIMEOUT" \
        --log "$logs/$name.log" 2>"$logs/$name.harness.log" || rc=$?
    echo "boot $name: exit $rc, $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s" \
        "(harness output: $logs/$name.harness.log)"
    tr -d '\r' <"$logs/$name.log" >"$tmp/$name.txt"
    return "$rc"
}
has() { grep -qxF -- "$2" "$tmp/$1.txt"; }

check "runtime OS boots and powers off (boot-qemu exit 0)" boot plain "$runtime/initrd.img"
check "prints 'sll-runtime: booted'" has plain 'sll-runtime: booted'
check "prints the cmdline" has plain 'sll-runtime: cmdline console=ttyS0'
count=$(grep -cE '^sll-runtime: pcr sha256 ([0-9]|1[0-9]|2[0-3]) [0-9a-f]{64}$' "$tmp/plain.txt" || true)
check "24 sha256 PCR lines (got $count)" test "$count" = 24
count=$(grep -cE '^sll-runtime: pcr sha1 ([0-9]|1[0-9]|2[0-3]) [0-9a-f]{40}$' "$tmp/plain.txt" || true)
check "24 sha1 PCR lines (got $count)" test "$count" = 24
ff=$(printf 'f%.0s' {1..64}) zero=$(printf '0%.0s' {1..64})
for n in 17 18 19 20 21 22; do
    check "no DRTM: sha256 PCR $n is all ones" has plain "sll-runtime: pcr sha256 $n $ff"
done
check "sha256 PCR 23 is zero" has plain "sll-runtime: pcr sha256 23 $zero"
check "no event log without the appended cpio" has plain 'sll-runtime: eventlog none'
check "prints 'sll-runtime: done'" has plain 'sll-runtime: done'

# The event log arrives as a second (uncompressed newc) cpio appended in memory
# after the runtime initrd, as slinit does it; the kernel unpacks both, provided
# the appended cpio starts at a multiple of 4 (initrd.img's length is 2 mod 4 on
# purpose, so the appender must pad with zeros).
check "initrd.img length is not a multiple of 4 (on purpose)" \
    test $(($(stat -c %s "$runtime/initrd.img") % 4)) -ne 0
mkdir -p "$tmp/extra/sll"
head -c 1000 /dev/urandom >"$tmp/extra/sll/eventlog.bin"
(cd "$tmp/extra" && printf '%s\n' sll sll/eventlog.bin |
    cpio -o -H newc -R 0:0 --quiet) >"$tmp/extra.cpio"
size=$(stat -c %s "$runtime/initrd.img")
{ cat "$runtime/initrd.img"; head -c $(((4 - size % 4) % 4)) /dev/zero; cat "$tmp/extra.cpio"; } \
    >"$tmp/initrd-with-log.img"
check "runtime OS boots with an appended event log cpio" boot eventlog "$tmp/initrd-with-log.img"
check "prints the event log size" has eventlog 'sll-runtime: eventlog-size 1000'
check "prints the event log sha256" has eventlog \
    "sll-runtime: eventlog-sha256 $(sha256sum <"$tmp/extra/sll/eventlog.bin" | cut -d' ' -f1)"
sed -n '/^sll-runtime: eventlog-begin$/,/^sll-runtime: eventlog-end$/p' "$tmp/eventlog.txt" |
    sed '1d;$d' >"$tmp/eventlog.b64"
check "base64 lines are at most 76 characters" \
    bash -c 's=$(awk "length(\$0) > 76" "$1"); [[ -s $1 && -z $s ]]' _ "$tmp/eventlog.b64"
check "event log decodes to the same bytes" \
    bash -c 'base64 -d "$1" | cmp -s - "$2"' _ "$tmp/eventlog.b64" "$tmp/extra/sll/eventlog.bin"
check "prints 'sll-runtime: done' (event log boot)" has eventlog 'sll-runtime: done'

# Without the padding the kernel rejects the appended cpio (documents why slinit pads).
cat "$runtime/initrd.img" "$tmp/extra.cpio" >"$tmp/initrd-unpadded.img"
boot unpadded "$tmp/initrd-unpadded.img" || true
check "unpadded append: kernel reports the bad archive and no event log arrives" bash -c \
    'grep -q "Initramfs unpacking failed" "$1" && grep -qx "sll-runtime: eventlog none" "$1"' \
    _ "$tmp/unpadded.txt"

# --- boot disk ---------------------------------------------------------------------
disk=$tmp/boot.img
if tools/make-boot-disk.sh "$disk" --label SLBOOT --serial 5e11b007 \
    "$runtime/vmlinuz=/vmlinuz-runtime" "$runtime/initrd.img=/runtime/initrd.img" \
    >"$tmp/disk.out" 2>"$tmp/disk.err"; then
    ok "make-boot-disk.sh builds a disk"
else
    cat "$tmp/disk.err"
    fail "make-boot-disk.sh builds a disk"
fi
check "prints UUID, LABEL and PARTUUID" bash -c \
    'grep -qx UUID=5E11-B007 "$1" && grep -qx LABEL=SLBOOT "$1" &&
     grep -qE "^PARTUUID=[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$" "$1"' _ "$tmp/disk.out"
export MTOOLS_SKIP_CHECK=1
mdir -i "$disk@@1M" -b -/ ::/ >"$tmp/mdir.txt" 2>&1 || true
check "mdir lists ::/vmlinuz-runtime and ::/runtime/initrd.img" bash -c \
    'grep -qx "::/vmlinuz-runtime" "$1" && grep -qx "::/runtime/initrd.img" "$1"' _ "$tmp/mdir.txt"
check "mtype ::/vmlinuz-runtime has the kernel's bytes" bash -c \
    'mtype -i "$1@@1M" ::/vmlinuz-runtime | cmp -s - "$2"' _ "$disk" "$runtime/vmlinuz"
check "mtype ::/runtime/initrd.img has the initrd's bytes" bash -c \
    'mtype -i "$1@@1M" ::/runtime/initrd.img | cmp -s - "$2"' _ "$disk" "$runtime/initrd.img"
check "partition table: one ESP partition at sector 2048" bash -c \
    'sfdisk -d "$1" | grep -qE "start= *2048, .*type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B"' _ "$disk"
check "blkid sees vfat LABEL=SLBOOT UUID=5E11-B007 at 1 MiB" bash -c \
    'o=$(blkid -p -o export --offset 1048576 "$1"); grep -qx TYPE=vfat <<<"$o" &&
     grep -qx LABEL=SLBOOT <<<"$o" && grep -qx UUID=5E11-B007 <<<"$o"' _ "$disk"
tools/make-boot-disk.sh "$tmp/boot2.img" --label SLBOOT --serial 5e11b007 \
    "$runtime/vmlinuz=/vmlinuz-runtime" "$runtime/initrd.img=/runtime/initrd.img" \
    >/dev/null 2>&1 || true
check "make-boot-disk.sh is reproducible (same bytes twice)" cmp -s "$disk" "$tmp/boot2.img"
tools/make-boot-disk.sh "$tmp/mbr.img" --mbr --size-mb 16 --serial 0badcafe \
    "$runtime/initrd.img=/initrd.img" >"$tmp/mbr.out" 2>&1 || true
check "MBR variant: PARTUUID=0badcafe-01 and the file is there" bash -c \
    'grep -qx PARTUUID=0badcafe-01 "$1" && mtype -i "$2@@1M" ::/initrd.img | cmp -s - "$3"' \
    _ "$tmp/mbr.out" "$tmp/mbr.img" "$runtime/initrd.img"

finish
