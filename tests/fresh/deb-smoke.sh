#!/bin/sh
# Runs inside deb-check.sh's fresh root once apt installed slpolicy and sll-target: the
# installed commands and their man pages, the schema, the completion, one predict (the same as
# the tree's slpolicy beside this script, when given), the kernel hook as dpkg runs it, and a
# purge. Ends with "N passed, N failed".
passed=0 failed=0
check() { # WHAT COMMAND...: COMMAND must succeed
	what=$1
	shift
	if out=$("$@" 2>&1); then
		passed=$((passed + 1))
		echo "ok   $what"
	else
		failed=$((failed + 1))
		echo "FAIL $what"
		printf '%s\n' "$out" | tail -n 20 | sed 's/^/     /'
	fi
}

check "slpolicy --help" sh -c 'slpolicy --help | grep -q "^usage: slpolicy"'
check "man -w slpolicy: its section 8 page" sh -c 'man -w slpolicy | grep -q "man8/slpolicy.8"'
for cmd in $(dpkg -L slpolicy sll-target | grep -E '^/usr/s?bin/.'); do
	check "man -w ${cmd##*/}: every installed command has a man page" man -w "${cmd##*/}"
done
check "the JSON Schema in /usr/share/slpolicy" jq -e '.["$schema"]' \
	/usr/share/slpolicy/policy.schema.json
check "bash completion for slpolicy loads" bash -c \
	'. /usr/share/bash-completion/completions/slpolicy && complete -p slpolicy'
check "sll-attest --help" sll-attest --help
check "sll-collect --help (static)" sll-collect --help
check "sll-seal without arguments: its usage, exit 2" sh -c 'sll-seal 2>&1; [ $? = 2 ]'

here=$(dirname "$0")
s=$here/smoke
mkdir -p $s/boot
head -c 200000 /dev/urandom >$s/boot/vmlinuz
head -c 50000 /dev/urandom >$s/boot/initrd.img
check "slpolicy new" sh -c "slpolicy new --root $s/boot --kernel /vmlinuz --initrd /initrd.img \
	--cmdline 'root=LABEL=root ro' >$s/policy.json"
check "slpolicy predict: PCRs 21 and 22" sh -c "slpolicy predict $s/policy.json --root $s/boot \
	>$s/predict.txt && grep -q '^sha256:21=' $s/predict.txt && grep -q '^sha256:22=' $s/predict.txt"
if [ -x "$here/tree-slpolicy" ]; then
	check "the packaged slpolicy predicts what the tree's does" sh -c \
		"$here/tree-slpolicy predict $s/policy.json --root $s/boot | cmp - $s/predict.txt"
fi

# The kernel hook with the packaged configuration, on this root's own /boot.
old=6.1.0-28-amd64 new=6.1.0-29-amd64
mkdir -p /boot/slaunch
for v in $old $new; do
	head -c 100000 /dev/urandom >/boot/vmlinuz-$v
	head -c 30000 /dev/urandom >/boot/initrd.img-$v
done
slpolicy new --root /boot --kernel /vmlinuz-$old --initrd /initrd.img-$old --cmdline quiet \
	--name debian >/boot/slaunch/policy.json
check "/etc/kernel/postinst.d/zz-sll $new /boot/vmlinuz-$new, as dpkg runs it" \
	env DEB_MAINT_PARAMS=configure /etc/kernel/postinst.d/zz-sll $new /boot/vmlinuz-$new
check "the staged policy: the new entry first, the old one kept, serial 2" jq -e \
	"[.entries[].name] == [\"linux-$new\", \"debian\"] and .serial == 2" \
	/boot/slaunch/policy.json.staged
check "the prediction in /var/lib/sll" grep -q '^sha256:22=' /var/lib/sll/next-$new.txt

check "apt-get purge sll-target slpolicy" apt-get purge -y -q sll-target slpolicy
check "purged: no /etc/sll, /var/lib/sll or kernel hooks left" sh -c '! [ -e /etc/sll ] &&
	! [ -e /var/lib/sll ] && ! [ -e /etc/kernel/postinst.d/zz-sll ] &&
	! [ -e /etc/initramfs/post-update.d/sll ]'
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
