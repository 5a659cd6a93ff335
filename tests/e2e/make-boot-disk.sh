#!/usr/bin/env bash
# Make a raw disk image with one FAT partition (the SLL boot partition / an ESP),
# or an ext4 one (a separate /boot), and the given files on it, without loop
# devices or mounts.
#
#   make-boot-disk.sh OUT.img [options] SRC=DEST...
#     --label LABEL     volume label and GPT partition name (default SLBOOT)
#     --fs vfat|ext4    file system (default vfat, type ESP; ext4: Linux filesystem)
#     --symlink DEST=TARGET  (ext4) a symbolic link DEST pointing to TARGET
#     --size-mb N       image size in MiB (default 64)
#     --gpt | --mbr     partition table (default gpt)
#     --serial HEX8     FAT volume serial (default: derived from the label), so
#                       UUID=XXXX-XXXX is known in advance
#     --part-guid GUID  GPT partition GUID (default: derived from label and serial)
#     --disk-guid GUID  GPT disk GUID (default: derived likewise)
#     SRC=DEST          copy file SRC to the absolute path DEST on the partition
#                       (directories are created)
#
# ext4: the UUID is derived from label and serial too; made by mke2fs -d with a fixed UUID,
# hash seed and time (E2FSPROGS_FAKE_TIME), but Debian 12's mke2fs stamps inode ctimes with
# the current time: ext4 images are not byte-reproducible.
#
# The partition starts at 1 MiB (sector 2048) and has the ESP type (GPT
# C12A7328-F81F-11D2-BA4B-00A0C93EC93B, MBR 0xef); mkfs.fat picks FAT12/16/32
# by size. Inspect it with mtools: mdir -i OUT.img@@1M ::/
#
# Reproducible: fixed serial, GUIDs and MBR disk id, and every file and
# directory timestamp set to SOURCE_DATE_EPOCH (default 2000-01-01 UTC), so the
# same inputs give the same image bytes.
#
# Prints on stdout, for use with sl.boot= / blkid:
#   LABEL=SLBOOT
#   UUID=1234-ABCD
#   PARTUUID=<guid>          (gpt: the partition GUID; mbr: <diskid>-01)
set -euo pipefail

usage() {
    sed -n '4,14s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
    exit 2
}
msg() { echo "make-boot-disk: $*" >&2; }
die() { msg "FAILED: $*"; exit 1; }

out='' label=SLBOOT size_mb=64 table=gpt serial='' part_guid='' disk_guid='' files=()
fs=vfat links=()
while (($#)); do
    case $1 in
        --label) label=${2?}; shift 2 ;;
        --fs) fs=${2?}; shift 2 ;;
        --symlink) links+=("${2?}"); shift 2 ;;
        --size-mb) size_mb=${2?}; shift 2 ;;
        --gpt) table=gpt; shift ;;
        --mbr) table=mbr; shift ;;
        --serial) serial=${2?}; shift 2 ;;
        --part-guid) part_guid=${2?}; shift 2 ;;
        --disk-guid) disk_guid=${2?}; shift 2 ;;
        -h|--help) usage ;;
        -*) msg "unknown option: $1"; usage ;;
        *=*) files+=("$1"); shift ;;
        *)
            [[ -z $out ]] || { msg "unexpected argument: $1"; usage; }
            out=$1; shift ;;
    esac
done
[[ -n $out ]] || usage
[[ $size_mb =~ ^[0-9]+$ ]] || die "bad --size-mb: $size_mb"
((size_mb >= 4)) || die "--size-mb $size_mb too small (min 4)"
[[ $fs == vfat || $fs == ext4 ]] || die "bad --fs: $fs (vfat or ext4)"
((${#links[@]} == 0)) || [[ $fs == ext4 ]] || die "--symlink needs --fs ext4 (FAT has none)"
[[ -n $label && ${#label} -le 11 && $label =~ ^[A-Za-z0-9_-]+$ ]] ||
    die "bad --label: '$label' (1-11 of A-Z a-z 0-9 _ -)"
[[ $fs == ext4 ]] || label=${label^^}   # FAT stores labels upper case; blkid reports them so

guid_re='^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$'
# A GUID-shaped string from a hash (version 4 / variant bits set, like a random one).
derive_guid() {
    local h
    h=$(printf '%s' "$1" | sha256sum | cut -c1-32)
    h=${h:0:12}4${h:13:3}$(printf '%x' $(((0x${h:16:1} & 3) | 8)))${h:17:15}
    printf '%s-%s-%s-%s-%s\n' "${h:0:8}" "${h:8:4}" "${h:12:4}" "${h:16:4}" "${h:20:12}"
}
if [[ -z $serial ]]; then
    serial=$(printf 'sll-boot-disk:%s' "$label" | sha256sum | cut -c1-8)
fi
[[ $serial =~ ^[0-9a-fA-F]{8}$ ]] || die "bad --serial: $serial (8 hex digits)"
serial=${serial^^}
part_guid=${part_guid:-$(derive_guid "sll-part:$label:$serial")}
disk_guid=${disk_guid:-$(derive_guid "sll-disk:$label:$serial")}
[[ $part_guid =~ $guid_re ]] || die "bad --part-guid: $part_guid"
[[ $disk_guid =~ $guid_re ]] || die "bad --disk-guid: $disk_guid"
part_guid=${part_guid,,} disk_guid=${disk_guid,,}
fs_uuid=$(derive_guid "sll-fs:$label:$serial")

for f in "${files[@]}"; do
    src=${f%%=*} dest=${f#*=}
    [[ -f $src ]] || die "no such file: $src"
    [[ $dest == /* && $dest != */ && $dest != *//* && /$dest/ != */../* && /$dest/ != */./* ]] ||
        die "bad destination (absolute file path wanted): $dest"
done

for l in "${links[@]}"; do
    [[ ${l%%=*} == /* && ${l#*=} != '' ]] || die "bad --symlink: $l (DEST=TARGET)"
done
for t in sfdisk mkfs.fat mcopy mke2fs; do
    command -v "$t" >/dev/null || die "$t missing (apt packages fdisk dosfstools mtools)"
done

export LC_ALL=C TZ=UTC MTOOLS_SKIP_CHECK=1
epoch=${SOURCE_DATE_EPOCH:-946684800}
((epoch >= 315532800)) || epoch=315532800   # FAT dates start in 1980

tmp=$(mktemp -d -t make-boot-disk.XXXXXX)
# shellcheck disable=SC2317
cleanup() { rm -rf "$tmp"; }
trap cleanup EXIT

# --- partition table ------------------------------------------------------------------
start=2048                               # sectors: 1 MiB
if [[ $fs == vfat ]]; then
    gpt_type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B mbr_type=ef
else
    gpt_type=0FC63DAF-8483-4772-8E79-3D69D8477DE4 mbr_type=83
fi
total=$((size_mb * 2048))
if [[ $table == gpt ]]; then
    psize=$((total - start - 2048))      # keep the last MiB free for the backup GPT
    cat >"$tmp/table" <<EOF
label: gpt
label-id: $disk_guid
unit: sectors
first-lba: 2048
start=$start, size=$psize, type=$gpt_type, uuid=$part_guid, name="$label"
EOF
    partuuid=$part_guid
else
    psize=$((total - start))
    cat >"$tmp/table" <<EOF
label: dos
label-id: 0x${serial,,}
unit: sectors
start=$start, size=$psize, type=$mbr_type
EOF
    partuuid=${serial,,}-01
fi

img=$tmp/disk.img
truncate -s $((total * 512)) "$img"
sfdisk --quiet --no-reread --no-tell-kernel "$img" <"$tmp/table" >"$tmp/sfdisk.log" 2>&1 ||
    { cat "$tmp/sfdisk.log" >&2; die "sfdisk"; }

# --- files ---------------------------------------------------------------------------
mkdir "$tmp/root" "$tmp/empty"
for f in "${files[@]}"; do
    src=${f%%=*} dest=${f#*=}
    mkdir -p "$tmp/root$(dirname "$dest")"
    cp "$src" "$tmp/root$dest"
done
for l in "${links[@]}"; do
    mkdir -p "$tmp/root$(dirname "${l%%=*}")"
    ln -sfn "${l#*=}" "$tmp/root${l%%=*}"
done
find "$tmp/root" -exec touch -h -d "@$epoch" {} +

if [[ $fs == ext4 ]]; then
    # Written straight into the image at the partition's offset.
    E2FSPROGS_FAKE_TIME=$epoch mke2fs -q -F -t ext4 -L "$label" -U "$fs_uuid" \
        -E "offset=$((start * 512)),hash_seed=$fs_uuid,root_owner=0:0" -d "$tmp/root" \
        "$img" $((psize / 2))k >"$tmp/mkfs.log" 2>&1 ||
        { cat "$tmp/mkfs.log" >&2; die "mke2fs"; }
else
    # Hidden sectors = start so the boot sector is right for firmware too; no fake MBR.
    mkfs.fat --invariant -i "$serial" -n "$label" --offset=$start -h $start --mbr=n \
        "$img" $((psize / 2)) >"$tmp/mkfs.log" 2>&1 ||
        { cat "$tmp/mkfs.log" >&2; die "mkfs.fat"; }
    # mtools takes no SOURCE_DATE_EPOCH and mmd stamps directories with the current
    # time, but mcopy -m keeps the source's mtime, for directories too (with -s). So
    # copy the staged tree one entry at a time in sorted order (same directory order
    # on every run): each directory as an empty copy.
    part="$img@@$((start * 512))"
    while IFS= read -r -d '' p; do
        rel=${p#"$tmp/root"}
        if [[ -d $p ]]; then
            mkdir "$tmp/empty/${rel##*/}"
            touch -d "@$epoch" "$tmp/empty/${rel##*/}"
            mcopy -i "$part" -s -m "$tmp/empty/${rel##*/}" "::$(dirname "$rel")"
            rmdir "$tmp/empty/${rel##*/}"
        else
            mcopy -i "$part" -m -o "$p" "::$rel"
        fi
    done < <(find "$tmp/root" -mindepth 1 -print0 | sort -z)
fi
mv -f "$img" "$out"

echo "LABEL=$label"
if [[ $fs == ext4 ]]; then echo "UUID=$fs_uuid"; else echo "UUID=${serial:0:4}-${serial:4:4}"; fi
echo "PARTUUID=$partuuid"
