#!/usr/bin/env bash
# Make a raw disk image with one FAT partition (the SLL boot partition / an ESP),
# or an ext4 one (a separate /boot), and the given files on it, without loop
# devices or mounts.
#
#   make-boot-disk.sh OUT.img [options] SRC=DEST...
#     --label LABEL     volume label and GPT partition name (default SLBOOT)
#     --fs vfat|ext4    file system (default vfat, type ESP; ext4: Linux filesystem)
#     --symlink DEST=TARGET  (ext4) a symbolic link DEST pointing to TARGET
#     --esp-file SRC=DEST    a file for the EFI system partition (e.g. sll.efi to
#                       /EFI/BOOT/BOOTX64.EFI). With --fs vfat it goes on the one FAT
#                       partition beside the others; with --fs ext4 the disk gets a
#                       FAT32 ESP first (label ESP, --esp-size-mb, default 64) and the
#                       ext4 boot partition second
#     --fat32           make the FAT partition FAT32 (as firmware expects of an ESP)
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
fs=vfat links=() esp_files=() esp_size_mb=64 fat32=0
while (($#)); do
    case $1 in
        --label) label=${2?}; shift 2 ;;
        --fs) fs=${2?}; shift 2 ;;
        --symlink) links+=("${2?}"); shift 2 ;;
        --esp-file) esp_files+=("${2?}"); shift 2 ;;
        --esp-size-mb) esp_size_mb=${2?}; shift 2 ;;
        --fat32) fat32=1; shift ;;
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

for f in "${files[@]}" "${esp_files[@]}"; do
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
# One partition at 1 MiB (sector 2048); with an ESP of its own (ext4 boot partition and
# --esp-file), the ESP first and the boot partition after it.
esp_type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B
linux_type=0FC63DAF-8483-4772-8E79-3D69D8477DE4
separate_esp=0
[[ $fs == ext4 && ${#esp_files[@]} -gt 0 ]] && separate_esp=1
((separate_esp == 0)) || [[ $table == gpt ]] || die "an ESP of its own needs --gpt"
if [[ $fs == vfat ]]; then gpt_type=$esp_type mbr_type=ef; else gpt_type=$linux_type mbr_type=83; fi
start=2048
esp_sectors=0
((separate_esp == 0)) || esp_sectors=$((esp_size_mb * 2048))
total=$(((size_mb + esp_size_mb * separate_esp) * 2048))
bstart=$((start + esp_sectors))
esp_guid=$(derive_guid "sll-esp:$label:$serial")
esp_serial=$(printf 'sll-esp:%s' "$serial" | sha256sum | cut -c1-8)
if [[ $table == gpt ]]; then
    psize=$((total - bstart - 2048))     # keep the last MiB free for the backup GPT
    {
        printf '%s\n' "label: gpt" "label-id: $disk_guid" "unit: sectors" "first-lba: 2048"
        ((separate_esp == 0)) ||
            echo "start=$start, size=$esp_sectors, type=$esp_type, uuid=$esp_guid, name=\"ESP\""
        echo "start=$bstart, size=$psize, type=$gpt_type, uuid=$part_guid, name=\"$label\""
    } >"$tmp/table"
    partuuid=$part_guid
else
    psize=$((total - bstart))
    printf '%s\n' "label: dos" "label-id: 0x${serial,,}" "unit: sectors" \
        "start=$bstart, size=$psize, type=$mbr_type" >"$tmp/table"
    partuuid=${serial,,}-01
fi

img=$tmp/disk.img
truncate -s $((total * 512)) "$img"
sfdisk --quiet --no-reread --no-tell-kernel "$img" <"$tmp/table" >"$tmp/sfdisk.log" 2>&1 ||
    { cat "$tmp/sfdisk.log" >&2; die "sfdisk"; }

# --- files ---------------------------------------------------------------------------
# stage DIR SRC=DEST...: the tree of one partition, every timestamp fixed.
stage() {
    local dir=$1 f l
    shift
    mkdir -p "$dir"
    for f in "$@"; do
        mkdir -p "$dir$(dirname "${f#*=}")"
        cp "${f%%=*}" "$dir${f#*=}"
    done
}
stage "$tmp/root" "${files[@]}"
if ((separate_esp)); then stage "$tmp/esp" "${esp_files[@]}"; else stage "$tmp/root" "${esp_files[@]}"; fi
for l in "${links[@]}"; do
    mkdir -p "$tmp/root$(dirname "${l%%=*}")"
    ln -sfn "${l#*=}" "$tmp/root${l%%=*}"
done
mkdir "$tmp/empty"
find "$tmp/root" "$tmp/empty" -exec touch -h -d "@$epoch" {} +
[[ ! -d $tmp/esp ]] || find "$tmp/esp" -exec touch -h -d "@$epoch" {} +

# make_fat START SECTORS LABEL SERIAL DIR: a FAT file system written straight into the
# image at the partition's offset; hidden sectors = start so the boot sector is right for
# firmware too; no fake MBR inside.
make_fat() {
    local fstart=$1 fsize=$2 flabel=$3 fserial=$4 dir=$5 p rel part fat=()
    ((fat32 == 0 && separate_esp == 0)) || fat=(-F 32 -s 1)
    mkfs.fat --invariant "${fat[@]}" -i "$fserial" -n "$flabel" --offset="$fstart" \
        -h "$fstart" --mbr=n "$img" $((fsize / 2)) >"$tmp/mkfs.log" 2>&1 ||
        { cat "$tmp/mkfs.log" >&2; die "mkfs.fat"; }
    # mtools takes no SOURCE_DATE_EPOCH and mmd stamps directories with the current
    # time, but mcopy -m keeps the source's mtime, for directories too (with -s). So
    # copy the staged tree one entry at a time in sorted order (same directory order
    # on every run): each directory as an empty copy.
    part="$img@@$((fstart * 512))"
    while IFS= read -r -d '' p; do
        rel=${p#"$dir"}
        if [[ -d $p ]]; then
            mkdir "$tmp/empty/${rel##*/}"
            touch -d "@$epoch" "$tmp/empty/${rel##*/}"
            mcopy -i "$part" -s -m "$tmp/empty/${rel##*/}" "::$(dirname "$rel")"
            rmdir "$tmp/empty/${rel##*/}"
        else
            mcopy -i "$part" -m -o "$p" "::$rel"
        fi
    done < <(find "$dir" -mindepth 1 -print0 | sort -z)
}

((separate_esp == 0)) || make_fat "$start" "$esp_sectors" ESP "${esp_serial^^}" "$tmp/esp"
if [[ $fs == ext4 ]]; then
    E2FSPROGS_FAKE_TIME=$epoch mke2fs -q -F -t ext4 -L "$label" -U "$fs_uuid" \
        -E "offset=$((bstart * 512)),hash_seed=$fs_uuid,root_owner=0:0" -d "$tmp/root" \
        "$img" $((psize / 2))k >"$tmp/mkfs.log" 2>&1 ||
        { cat "$tmp/mkfs.log" >&2; die "mke2fs"; }
else
    make_fat "$bstart" "$psize" "$label" "$serial" "$tmp/root"
fi
mv -f "$img" "$out"

echo "LABEL=$label"
if [[ $fs == ext4 ]]; then echo "UUID=$fs_uuid"; else echo "UUID=${serial:0:4}-${serial:4:4}"; fi
echo "PARTUUID=$partuuid"
