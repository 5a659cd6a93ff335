#!/usr/bin/env bash
# Reproducibility: two clean builds of this tree, from scratch, in two different
# directories and without ccache, must give a byte-identical sll.efi (and slinit).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
base=$ROOT/build/repro
rm -rf "$base"
mkdir -p "$base"
for run in a b; do
	echo "reprocheck: clean build $run in build/repro/$run"
	start=$(date +%s)
	BUILD=$base/$run CCACHE_DISABLE=1 "$ROOT/build.sh" >"$base/$run.log" 2>&1 || {
		tail -n 20 "$base/$run.log"
		echo "reprocheck: build $run failed"
		exit 1
	}
	echo "reprocheck: build $run took $(($(date +%s) - start)) s"
done
status=0
for f in slinit sll.efi; do
	if cmp -s "$base/a/$f" "$base/b/$f"; then
		echo "reprocheck: $f identical, sha256 $(sha256sum <"$base/a/$f" | cut -d' ' -f1)"
	else
		echo "reprocheck: $f DIFFERS between the two builds"
		status=1
	fi
done
[ "$status" = 0 ] && rm -rf "$base"
exit "$status"
