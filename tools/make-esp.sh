#!/usr/bin/env bash
# make esp: a GPT disk image an admin (or a test) can dd to a disk or boot in a VM:
# sll.efi as EFI/BOOT/BOOTX64.EFI on a FAT32 ESP, and every file under BOOT_DIR (the boot
# partition's tree: slaunch/policy.json[.sig], kernels, initrds) either on the ESP too
# (LAYOUT=esp) or on a separate ext4 partition labelled SLBOOT (LAYOUT=ext4; build the
# image with SL_CMDLINE=sl.boot=LABEL=SLBOOT, firmware passes no command line).
#
#   make-esp.sh IMAGE BOOT_DIR OUT [esp|ext4]
set -euo pipefail
[[ $# -ge 3 ]] || { sed -n '2,9s/^# \{0,1\}//p' "$0" >&2; exit 2; }
image=$1 boot_dir=$2 out=$3 layout=${4:-esp}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[[ -f $image ]] || { echo "make esp: no image $image (run make first)" >&2; exit 1; }
[[ -d $boot_dir ]] || { echo "make esp: BOOT_DIR=$boot_dir is not a directory" >&2; exit 1; }
[[ -f $boot_dir/slaunch/policy.json ]] ||
    echo "make esp: warning: $boot_dir/slaunch/policy.json missing (slinit's default path)" >&2
case $layout in
    esp) fs=(--fs vfat --fat32) ;;
    ext4) fs=(--fs ext4) ;;
    *) echo "make esp: ESP_LAYOUT must be esp or ext4, not $layout" >&2; exit 2 ;;
esac
if [[ -n $(find "$boot_dir" -mindepth 1 ! -type f ! -type d -print -quit) ]]; then
    echo "make esp: $boot_dir holds something other than files and directories" >&2
    exit 1
fi
files=()
while IFS= read -r -d '' f; do
    files+=("$f=${f#"$boot_dir"}")
done < <(find "$boot_dir" -type f -print0 | sort -z)
size=$(( $(du -sm --apparent-size "$boot_dir" | cut -f1) * 5 / 4 + 64 ))
"$here/make-boot-disk.sh" "$out" "${fs[@]}" --size-mb "$size" \
    --esp-file "$image=/EFI/BOOT/BOOTX64.EFI" "${files[@]}"
echo "make esp: $out ($layout layout, $(du -m --apparent-size "$out" | cut -f1) MiB)" >&2
