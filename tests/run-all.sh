#!/usr/bin/env bash
# Runs every test of the project (after `make all`) and ends with "N passed, N failed".
# Each test is an executable that exits 0 on success; its output goes to build/test-logs/.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# The Python tests' shared library, tests/lib/sll_test.
export PYTHONPATH="$ROOT/tests/lib${PYTHONPATH:+:$PYTHONPATH}"
LOGS=${BUILD:-$ROOT/build}/test-logs
mkdir -p "$LOGS"
cd "$ROOT"

TESTS=(
	"unit: make unit"
	"lint: make lint"
	"lint: make tidy"
	"unit: make valgrind"
	"policy: tests/policy/test-policies.sh"
	"policy: tests/policy/test-predict.py"
	"policy: tests/policy/test-collect-predict.py"
	"policy: tests/policy/test-predict-sealing.py"
	"policy: tests/policy/test-allow.py"
	"policy: tests/policy/test-kernel-hook.py"
	"policy: tests/policy/test-eventlog-cli.py"
	"tpm: tests/tpm/test-replay-swtpm.py"
	"tpm: tests/tpm/test-drtm-relay.py"
	"tpm: tests/tpm/test-eventlog-tpm2tools.py"
	"tpm: tests/tpm/test-seal-swtpm.py"
	"tpm: tests/tpm/test-seal-systemd.py"
	"tpm: tests/tpm/test-seal-hardening.py"
	"tpm: tests/tpm/test-attest-tool.py"
	"tpm: tests/tpm/test-attest-enroll.py"
	"tpm: tests/tpm/test-manage.py"
	"fuzz: make fuzz FUZZ_SECONDS=60"
	"bench: tests/bench/test-hashbench.py"
	"build: tests/build/test-kconfig-check.sh"
	"build: tests/build/test-sign.sh"
	"e2e: tests/e2e/runtime/test-runtime.sh"
	"e2e: tests/e2e/test-launch.py"
	"e2e: tests/e2e/test-bootloader.py"
	"e2e: tests/e2e/test-tamper.py"
	"e2e: tests/e2e/test-signed.py"
	"e2e: tests/e2e/test-rollback.py"
	"e2e: tests/e2e/test-uefi.py"
	"e2e: tests/e2e/test-collectors.py"
	"e2e: tests/e2e/test-seal.py"
	"e2e: tests/e2e/test-upgrade.py"
	"e2e: tests/e2e/test-attest.py"
	"e2e: tests/e2e/test-management.py"
	"e2e: tests/e2e/test-manage-upgrade.py"
)

passed=0 failed=0 failed_names=()
for t in "${TESTS[@]}"; do
	name=${t%%:*} cmd=${t#*: }
	log=$LOGS/$(echo "$cmd" | tr -c 'a-zA-Z0-9.-' '_').log
	start=$(date +%s)
	if bash -c "$cmd" >"$log" 2>&1; then
		passed=$((passed + 1))
		printf 'PASS %-5s %s (%ss)\n' "$name" "$cmd" "$(($(date +%s) - start))"
	else
		failed=$((failed + 1)) failed_names+=("$cmd")
		printf 'FAIL %-5s %s (%ss), last lines of %s:\n' "$name" "$cmd" \
			"$(($(date +%s) - start))" "${log#"$ROOT"/}"
		tail -n 25 "$log" | sed 's/^/    /'
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
