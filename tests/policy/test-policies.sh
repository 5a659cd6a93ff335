#!/usr/bin/env bash
# The policy corpus against both readers of the contract (DESIGN section 5):
#   tests/data/policies/valid/*.json and policy/examples/*.json: `slpolicy check` prints "ok", exits 0, and
#                                      policy/policy.schema.json accepts the policy;
#   tests/data/policies/invalid/*      `slpolicy check` exits 1 and prints the line that
#                                      invalid/expected.txt gives; the schema rejects
#                                      the policy too, unless the marker says it cannot.
# Plus two generated files: exactly 1 MiB (accepted) and 1 MiB + 1 byte (refused).
# SLPOLICY=path overrides build/slpolicy. Needs python3-jsonschema (Draft 2020-12).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
slpolicy=${SLPOLICY:-$root/build/slpolicy}
schema=$root/policy/policy.schema.json
valid_dir=$root/tests/data/policies/valid
invalid_dir=$root/tests/data/policies/invalid
expected=$invalid_dir/expected.txt

case $slpolicy in /*) ;; *) slpolicy=$PWD/$slpolicy ;; esac
if [ ! -x "$slpolicy" ]; then
	echo "test-policies: $slpolicy not built (make build/slpolicy)" >&2
	exit 2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

passed=0 failed=0
declare -A problems=()
fail() { problems[$1]+="    $2"$'\n'; }

# --- generated size cases: a valid policy padded with blanks ----------------------------
limit=$((1 << 20))
pad_policy() { # FILE SIZE
	python3 - "$valid_dir/minimal.json" "$1" "$2" <<'PY'
import sys
src, dst, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
data = open(src, 'rb').read().rstrip(b'\n')
open(dst, 'wb').write(data + b' ' * (size - len(data) - 1) + b'\n')
PY
}
mkdir "$tmp/valid" "$tmp/invalid"
pad_policy "$tmp/valid/size-1MiB.json" "$limit"
pad_policy "$tmp/invalid/size-1MiB+1.json" $((limit + 1))
printf 'c-only size-1MiB+1.json: /: policy is %d bytes, more than the limit of %d\n' \
	$((limit + 1)) "$limit" >"$tmp/invalid/expected.txt"

# --- the schema's verdict on every file, in one python run ------------------------------
# accept | reject <first error> | nojson <why>
schema_verdicts() { # FILE...
	python3 - "$schema" "$@" <<'PY'
import json, sys
from jsonschema import Draft202012Validator
schema = json.load(open(sys.argv[1]))
Draft202012Validator.check_schema(schema)
validator = Draft202012Validator(schema)
def not_json(name):
    raise ValueError('%s is not JSON' % name)
for path in sys.argv[2:]:
    try:
        doc = json.loads(open(path, 'rb').read().decode('utf-8'), parse_constant=not_json)
    except ValueError as e:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        print(path, 'nojson', str(e).replace('\n', ' ')[:120], sep='\t')
        continue
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        where = '/' + '/'.join(str(p) for p in e.absolute_path)
        print(path, 'reject', (where + ': ' + e.message).replace('\n', ' ')[:160], sep='\t')
    else:
        print(path, 'accept', '', sep='\t')
PY
}

mapfile -t valid_files < <(printf '%s\n' "$valid_dir"/*.json "$root"/policy/examples/*.json "$tmp/valid/size-1MiB.json")
declare -A verdict=() detail=()
while IFS=$'\t' read -r path v d; do
	verdict[$path]=$v detail[$path]=$d
done < <(schema_verdicts "${valid_files[@]}" "$invalid_dir"/* "$tmp"/invalid/*.json)

# --- valid policies ---------------------------------------------------------------------
for f in "${valid_files[@]}"; do
	name=valid/${f##*/}
	rc=0
	out=$(cd "$(dirname "$f")" && "$slpolicy" check "${f##*/}" 2>&1) || rc=$?
	[ "$rc" -eq 0 ] || fail "$name" "slpolicy exited $rc, not 0"
	[ "$out" = ok ] || fail "$name" "slpolicy printed: ${out//$'\n'/ | }"
	[ "${verdict[$f]:-}" = accept ] ||
		fail "$name" "schema: ${verdict[$f]:-no verdict} ${detail[$f]:-}"
	if [ -n "${problems[$name]:-}" ]; then failed=$((failed + 1)); else passed=$((passed + 1)); fi
done

# --- invalid policies -------------------------------------------------------------------
check_invalid() { # DIR EXPECTATIONS
	local dir=$1 marker line file rc out v
	declare -A listed=()
	while IFS= read -r l; do
		case $l in '#'* | '') continue ;; esac
		marker=${l%% *} line=${l#* }
		line=${line#"${line%%[! ]*}"}
		file=${line%%: *}
		name=invalid/$file
		listed[$file]=1
		if [ ! -f "$dir/$file" ]; then
			fail "$name" "listed in expected.txt but missing"
		else
			rc=0
			out=$(cd "$dir" && "$slpolicy" check "$file" 2>&1) || rc=$?
			[ "$rc" -eq 1 ] || fail "$name" "slpolicy exited $rc, not 1"
			grep -qxF -- "$line" <<<"$out" ||
				fail "$name" "expected: $line"$'\n'"      got: ${out//$'\n'/$'\n'"           "}"
			v=${verdict[$dir/$file]:-none}
			case $marker in
			schema) [ "$v" = reject ] ||
				fail "$name" "schema should reject it: $v ${detail[$dir/$file]:-}" ;;
			c-only) [ "$v" = accept ] ||
				fail "$name" "marked c-only, but the schema says: $v ${detail[$dir/$file]:-}" ;;
			syntax) [ "$v" = nojson ] ||
				fail "$name" "marked syntax, but Python's json reads it (schema: $v)" ;;
			*) fail "$name" "unknown marker '$marker'" ;;
			esac
		fi
		if [ -n "${problems[$name]:-}" ]; then failed=$((failed + 1)); else passed=$((passed + 1)); fi
	done <"$2"
	for f in "$dir"/*; do
		file=${f##*/}
		if [ "$file" != expected.txt ] && [ -z "${listed[$file]:-}" ]; then
			fail "invalid/$file" "not listed in expected.txt"
			failed=$((failed + 1))
		fi
	done
}
check_invalid "$invalid_dir" "$expected"
check_invalid "$tmp/invalid" "$tmp/invalid/expected.txt"

while IFS= read -r name; do
	[ -z "$name" ] || printf 'FAIL %s\n%s' "$name" "${problems[$name]}"
done < <(printf '%s\n' "${!problems[@]}" | sort)
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
