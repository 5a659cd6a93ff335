#!/usr/bin/env bash
# The build must stop, naming the symbol, when a fragment asks for a symbol that the
# kernel's configuration silently drops (VIRTIO_BLK without VIRTIO_MENU is the classic).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/broken.config" <<'FRAG'
# asks for a virtio disk without the virtio menu it depends on
CONFIG_VIRTIO_BLK=y
FRAG

status=0
BUILD=$tmp/build KCONFIG_FRAGMENTS="base $tmp/broken.config" \
	"$ROOT/build.sh" kconfig >"$tmp/out.txt" 2>&1 || status=$?
cat "$tmp/out.txt"
if [ "$status" = 0 ]; then
	echo "FAIL: build.sh accepted a fragment whose symbol cannot be set"
	exit 1
fi
if ! grep -q "FAILED: kernel config: symbol not set as requested: CONFIG_VIRTIO_BLK=y (got n, from broken.config)" "$tmp/out.txt"; then
	echo "FAIL: the failure does not name CONFIG_VIRTIO_BLK and its fragment"
	exit 1
fi
# The good fragments alone pass the same check.
BUILD=$tmp/build KCONFIG_FRAGMENTS="base qemu" "$ROOT/build.sh" kconfig >"$tmp/out.txt" 2>&1 || {
	cat "$tmp/out.txt"
	echo "FAIL: base + qemu fragments did not pass the check"
	exit 1
}
echo "ok: unsettable symbol refused with its name, good fragments accepted"
