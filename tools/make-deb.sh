#!/usr/bin/env bash
# make deb: the Debian packages of debian/ (slpolicy, sll-target), built by dpkg-buildpackage
# in a copy of the tree under BUILD/deb (it writes its state into debian/ and the packages
# beside the tree), then checked with lintian: an error fails.
#
#   tools/make-deb.sh BUILD SYSROOT HOST_SYSROOT    (the Makefile's; build.sh made the sysroots)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
[ $# = 3 ] || { echo "usage: $0 BUILD SYSROOT HOST_SYSROOT" >&2; exit 2; }
BUILD=$1 SYSROOT=$2 HOST_SYSROOT=$3
OUT=$BUILD/deb

die() { echo "make deb: $*" >&2; exit 1; }
for tool in dpkg-buildpackage:dpkg-dev dh:debhelper lintian:lintian; do
	command -v "${tool%%:*}" >/dev/null ||
		die "${tool%%:*} is missing: apt-get install ${tool#*:} (make deb needs dpkg-dev," \
			"debhelper and lintian)"
done
[ -f "$SYSROOT/lib/libjson-c.a" ] && [ -f "$HOST_SYSROOT/lib/libjson-c.a" ] ||
	die "no sysroot in $SYSROOT: ./build.sh packages sysroot first (make deb runs it)"

start=$(date +%s)
rm -rf "$OUT"
mkdir -p "$OUT/src"
# The tree as it is (committed or not), without the build output and git's data.
exclude=(--exclude=./.git --exclude=./build --exclude=__pycache__)
case $BUILD in "$ROOT"/*) exclude+=("--exclude=./${BUILD#"$ROOT"/}") ;; esac
tar -C "$ROOT" "${exclude[@]}" -c . | tar -C "$OUT/src" -x

echo "make deb: dpkg-buildpackage (log: $OUT/build.log)"
(cd "$OUT/src" && SLL_SYSROOT=$SYSROOT SLL_HOST_SYSROOT=$HOST_SYSROOT \
	dpkg-buildpackage -b -us -uc) >"$OUT/build.log" 2>&1 || {
	tail -n 40 "$OUT/build.log" >&2
	die "dpkg-buildpackage failed, see $OUT/build.log"
}
changes=$(ls "$OUT"/*.changes)
echo "make deb: lintian $(basename "$changes") (log: $OUT/lintian.log)"
rc=0
lintian --fail-on error "$changes" >"$OUT/lintian.log" 2>&1 || rc=$?
cat "$OUT/lintian.log"
[ $rc = 0 ] || die "lintian reports errors"
for deb in "$OUT"/*.deb; do
	printf 'make deb: %-40s %7d bytes, %s files\n' "$(basename "$deb")" "$(stat -c %s "$deb")" \
		"$(dpkg-deb -c "$deb" | grep -vc '/$')"
done
echo "make deb: done in $(($(date +%s) - start)) s"
