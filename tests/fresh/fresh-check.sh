#!/usr/bin/env bash
# make fresh-check: README's two commands (make demo, make test) as a new admin runs them, in
# a minimal Debian 12 root with only make installed, on a clean clone of the tree's committed
# HEAD: a package build.sh forgets to install fails here, not on the admin's machine. Slow
# (the whole build and test suite): run it before resolving an issue that changes build.sh's
# packages. As root.
#
#   tests/fresh/fresh-check.sh DIR    (the root goes to DIR/root, the log to DIR/fresh-check.log)
#   FRESH_COMMANDS="CMD;CMD"          other commands instead of "make demo;make test"
#   FRESH_KEEP=1                      keep the root after a success (it is kept after a failure)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/fresh/fresh-root.sh
. "$ROOT/tests/fresh/fresh-root.sh"
[ $# = 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
mkdir -p "$1"
out=$(cd "$1" && pwd)
dir=$out/root log=$out/fresh-check.log
command -v git >/dev/null || fresh_die "git is missing: apt-get install git"
IFS=';' read -r -a commands <<<"${FRESH_COMMANDS:-make demo;make test}"

start=$(date +%s)
fresh_make_root "$dir"
trap 'fresh_umount "$dir"' EXIT
# A clone holds the committed HEAD only: what a new admin clones, not this work tree.
git clone --quiet --no-hardlinks "$ROOT" "$dir/root/sll"
rev=$(git -C "$dir/root/sll" log -1 --format='%h %s' | cut -c1-60)
fresh_mount "$dir"
echo "fresh: root ready in $(($(date +%s) - start)) s; $rev"

: >"$log"
passed=0 failed=0
for cmd in "${commands[@]}"; do
	t0=$(date +%s)
	echo "fresh: $cmd (log: $log)"
	echo "=== $cmd" >>"$log"
	if fresh_run "$dir" "cd /root/sll && $cmd" >>"$log" 2>&1; then
		passed=$((passed + 1))
		echo "fresh: ok   $cmd ($(($(date +%s) - t0)) s)"
	else
		failed=$((failed + 1))
		echo "fresh: FAIL $cmd ($(($(date +%s) - t0)) s), last lines:"
		tail -n 30 "$log" | sed 's/^/    /'
		break # the next command would meet the same failure
	fi
done
echo "fresh: $(($(date +%s) - start)) s in all"
if [ "$failed" = 0 ] && [ "${FRESH_KEEP:-0}" != 1 ]; then
	fresh_remove_root "$dir"
else
	echo "fresh: root kept in $dir (unmounted at exit; the next run replaces it)"
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
