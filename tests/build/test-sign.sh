#!/usr/bin/env bash
# make sign: build/sll.signed.efi carries a Secure Boot signature that sbverify accepts with
# the signing certificate and refuses with another one; the unsigned image has none.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
check() { if eval "$2"; then echo "ok   $1"; pass=$((pass + 1)); else echo "FAIL $1"; fail=$((fail + 1)); fi; }
for n in db other; do
    openssl req -new -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=SLL test $n/" \
        -keyout "$tmp/$n.key" -out "$tmp/$n.crt" 2>/dev/null
done
rm -f build/sll.signed.efi
check "make sign succeeds (and runs sbverify)" "make -s sign KEY=$tmp/db.key CERT=$tmp/db.crt >$tmp/sign.log 2>&1"
check "sbverify accepts it with the signing certificate" \
    "sbverify --cert $tmp/db.crt build/sll.signed.efi >/dev/null 2>&1"
check "sbverify refuses it with another certificate" \
    "! sbverify --cert $tmp/other.crt build/sll.signed.efi >/dev/null 2>&1"
check "the unsigned image has no signature" "sbverify --list build/sll.efi 2>&1 | grep -q 'No signature table'"
check "make sign without KEY/CERT is a usage error" "! make -s sign >/dev/null 2>&1"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
