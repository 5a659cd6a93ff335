#!/usr/bin/env bash
# make deb-check: make deb's packages installed by apt into a fresh Debian 12 root (the one
# fresh-check builds: fresh-root.sh), which fetches their Depends from Debian's archive; then
# deb-smoke.sh runs inside (with the tree's slpolicy beside, to compare predictions).
# As root.
#
#   tests/fresh/deb-check.sh DIR DEBDIR SLPOLICY    (the root goes to DIR/deb-root)
#   FRESH_KEEP=1                                     keep the root after a success
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/fresh/fresh-root.sh
. "$ROOT/tests/fresh/fresh-root.sh"
[ $# = 3 ] || { echo "usage: $0 DIR DEBDIR SLPOLICY" >&2; exit 2; }
mkdir -p "$1"
dir=$(cd "$1" && pwd)/deb-root
debs=("$2"/slpolicy_*.deb "$2"/sll-target_*.deb)
slpolicy=$3
for deb in "${debs[@]}"; do [ -f "$deb" ] || fresh_die "no $deb: make deb first"; done

start=$(date +%s)
fresh_make_root "$dir"
trap 'fresh_umount "$dir"' EXIT
# Inside the root, all in /root/deb-check.
mkdir -p "$dir/root/deb-check/debs"
cp "${debs[@]}" "$dir/root/deb-check/debs/"
cp "$ROOT/tests/fresh/deb-smoke.sh" "$dir/root/deb-check/"
[ ! -x "$slpolicy" ] || cp "$slpolicy" "$dir/root/deb-check/tree-slpolicy"
fresh_mount "$dir"
echo "fresh: apt-get install ${debs[*]##*/} man-db"
t0=$(date +%s)
fresh_run "$dir" "apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	--no-install-recommends /root/deb-check/debs/*.deb man-db" >"$dir.apt.log" 2>&1 || {
	tail -n 30 "$dir.apt.log" >&2
	fresh_die "apt-get install failed (log: $dir.apt.log)"
}
echo "fresh: installed in $(($(date +%s) - t0)) s"

rc=0
fresh_run "$dir" "sh /root/deb-check/deb-smoke.sh" || rc=$?
echo "fresh: deb-check $([ $rc = 0 ] && echo passed || echo FAILED) in $(($(date +%s) - start)) s"
if [ $rc = 0 ] && [ "${FRESH_KEEP:-0}" != 1 ]; then fresh_remove_root "$dir"; fi
exit $rc
