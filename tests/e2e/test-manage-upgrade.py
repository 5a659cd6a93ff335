#!/usr/bin/env python3
"""e2e: an upgrade approved by the management environment, the only launch whose TPM state
opens the approval keys. One boot disk and one swtpm state carried across the boots.

Provisioning, on the host, as the admin does it once: an image with the admin's policy key
(build/sll-signed.efi); policy serial 1, signed: the runtime entry "debian" (/vmlinuz-6.1.0-1,
one initrd) and the management entry "manage" (same kernel, that initrd and manage.img, see
tests/e2e/runtime/make-runtime.sh), management_request and an anti-rollback index (floor 1);
a disk secret sealed under PolicyAuthorize of the admin's RSA state key, the current state
signed into /slaunch/signed; tools/sll-manage enroll: the two keys encrypted on the boot
partition under a KEK sealed to the management launch's PCRs 17, 18, 19, 22 (slpolicy
predict --entry manage). Then a new kernel is installed: tools/kernel-hook/sll-kernel-hook
stages policy.json.staged (serial 2, a new entry before "debian").

1. Runtime: unseals its secret; its attempt at the approval KEK fails in the TPM; it sees the
   staged policy and requests the management environment.
2. Management: shows the entries and digests and asks; "yes" is typed on its console; it
   signs, commits, raises the floor to 2.
3. Runtime: the new kernel's entry, unseals the same secret (the state signed in step 2, no
   reseal), floor 2 checked; the old signed policy put back is refused (below the floor).
A power cut after each step of sll-manage (sysrq b; a control disk names the step) leaves a
disk that boots the old runtime (before the policy step) or the new one, which unseals.
Refused: a changed management initrd on the disk (slinit refuses the entry, the runtime
boots); a management entry the admin signed for another initrd or kernel (launched, but the
TPM refuses the KEK: nothing changes); "no" typed at the question (nothing changes); the
staged kernel before approval (the staged policy put in place unsigned is refused; sl.entry=
cannot name it). The scenario's provisioning is tests/lib/sll_test/manage.py's."""
import concurrent.futures
import hashlib
import json
import os
import sys
import tempfile

from sll_test.checks import Checks
from sll_test.e2e import variant_kernel
from sll_test.manage import (APPROVE, KEK, NEW_ENTRY, PROMPT, STEPS, control_disk, launched,
                             make_keys, manage_exit, manage_text, provision, run,
                             signed_image)
from sll_test.paths import BUILD, SLPOLICY

LOGS = os.path.join(BUILD, "test-logs", "e2e-manage-upgrade")

t = Checks()


def check_runtime(name, b, want_secret, entry):
    t.check(launched(b) == entry and b.kexeced and b.failed_line() is None,
            f"{name}: entry \"{entry}\" launched ({launched(b)}; {b.failed_line()})")
    t.check(b.unsealed == want_secret, f"{name}: the runtime OS unsealed its secret",
            "; ".join(b.unseal_errors))


def first_boot(tmp, m0, want):
    m = m0.copy(os.path.join(tmp, "main"))
    b1 = m.boot(LOGS, "1-runtime")
    check_runtime("1 runtime", b1, want, "debian")
    t.check(f"sll-runtime: try-unseal {KEK}: refused: " in b1.log and
            "a policy check failed" in b1.log,
            "1 runtime: its attempt at the approval KEK fails in the TPM (policy check)")
    t.check("sll-runtime: management requested" in b1.log,
            "1 runtime: saw the staged policy, requested the management environment")
    return m


def upgrade(tmp, m, s, want):
    b2 = m.boot(LOGS, "2-management", answers=APPROVE)
    text = manage_text(b2)
    lines = text.splitlines()
    new_kernel = hashlib.sha256(s.read("/vmlinuz-6.1.0-2")).hexdigest()
    t.check(launched(b2) == "manage" and "slinit: management environment requested" in b2.log,
            f"2 management: the requested management entry launched ({launched(b2)})")
    t.check("staged upgrade: /boot/slaunch/policy.json.staged, serial 1 -> 2" in text and
            f"/vmlinuz-6.1.0-2 sha256:{new_kernel} (allowed)" in text and
            f'entry "{NEW_ENTRY}" (runtime)' in text and
            any(x.startswith("sll-manage: | +") and "vmlinuz-6.1.0-2" in x for x in lines) and
            f"{PROMPT}yes" in b2.log,
            "2 management: showed the new entry, its kernel's digest and the changes, asked; "
            "yes typed on the console",
            text[:800])
    t.check(all(f"step {x} done" in text for x in STEPS + ("floor",)) and
            manage_exit(b2) == 0 and "raised the anti-rollback floor 0x01500120 to 2" in text,
            "2 management: every step done, floor raised, exit 0", text[-600:])
    live, sig = m.read("/slaunch/policy.json"), m.read("/slaunch/policy.json.sig")
    t.check(live == s.files["/slaunch/policy.json.staged"] and sig is not None and
            len(sig) == 64 and m.read("/slaunch/policy.json.staged") is None,
            "2 management: the staged policy is live, with one signature")

    b3 = m.boot(LOGS, "3-runtime")
    check_runtime("3 runtime (new kernel)", b3, want, NEW_ENTRY)
    t.check("slinit: anti-rollback: serial 2 >= floor 2" in b3.log and
            "management requested" not in b3.log,
            "3 runtime: the floor is 2; nothing staged, no request")

    # The attacker puts back the old signed policy: below the floor.
    m.write("/slaunch/policy.json", s.files["/slaunch/policy.json"], tmp)
    m.write("/slaunch/policy.json.sig", s.files["/slaunch/policy.json.sig"], tmp)
    b4 = m.boot(LOGS, "4-old-policy")
    t.check(not b4.kexeced and b4.failed_line() is not None and
            "serial 1 is below the anti-rollback floor 2" in b4.failed_line(),
            f"4: the old signed policy put back is refused ({b4.failed_line()})")


def power_cut(tmp, requested, step, want):
    m = requested.copy(os.path.join(tmp, "cut-" + step))
    b = m.boot(LOGS, f"cut-{step}-management", drives=[control_disk(tmp, step)],
               answers=APPROVE)
    text = manage_text(b)
    t.check(f"sll-runtime: power cut after step {step}" in b.log and
            f"step {step} done" in text and "approved:" not in text,
            f"cut after {step}: the management environment lost power right after it")
    b = m.boot(LOGS, f"cut-{step}-runtime")
    new = STEPS.index(step) >= STEPS.index("policy")
    check_runtime(f"cut after {step}: the next boot", b, want, NEW_ENTRY if new else "debian")


def tampered(tmp, requested, s, keys):
    # A changed management initrd on the disk: refused by slinit, the runtime boots.
    m = requested.copy(os.path.join(tmp, "tampered-disk"))
    m.write("/manage.img", s.files["/manage.img"] + bytes(512), tmp)
    b = m.boot(LOGS, "tampered-disk")
    t.check('slinit: management entry "manage" refused: initrd /manage.img: digest' in b.log
            and launched(b) == "debian",
            f"a changed management initrd: refused by slinit, the runtime booted ({launched(b)})")

    # A management entry the admin signed for another initrd or kernel: launched (verified),
    # but its PCR 22 is not the enrolled one: the TPM refuses the KEK, nothing changes.
    for what, path, changed, allow in (
            ("initrd", "/manage.img", s.files["/manage.img"] + bytes(512), ("initrd", 1)),
            ("kernel", "/vmlinuz-manage", variant_kernel(s.files["/vmlinuz-manage"]),
             ("kernel", None))):
        m = requested.copy(os.path.join(tmp, "other-" + what))
        m.write(path, changed, tmp)
        other = json.loads(s.files["/slaunch/policy.json"])
        entry = [e for e in other["entries"] if e.get("role") == "management"][0]
        digest = ["sha256:" + hashlib.sha256(changed).hexdigest()]
        if allow[1] is None:
            entry["allow"][allow[0]] = digest
        else:
            entry["allow"][allow[0]][allow[1]] = digest
        signed = os.path.join(tmp, f"other-{what}.json")
        with open(signed, "w") as f:
            json.dump(other, f, indent=1)
        run([SLPOLICY, "sign", "--key", keys["ed.pem"], signed], check=True)
        m.write("/slaunch/policy.json", open(signed, "rb").read(), tmp)
        m.write("/slaunch/policy.json.sig", open(signed + ".sig", "rb").read(), tmp)
        b = m.boot(LOGS, "other-manage-" + what, answers=APPROVE)
        text = manage_text(b)
        t.check(launched(b) == "manage" and "a policy check failed" in text and
                "does not unseal: this is not the enrolled management launch" in text and
                manage_exit(b) == 1, f"another management {what}, signed: launched, the TPM "
                "refuses the approval KEK", text[-500:])
        t.check(m.read("/slaunch/policy.json.staged") is not None and
                m.read("/slaunch/policy.json") == open(signed, "rb").read(),
                f"another management {what}: nothing on the disk changed")

    # The staged kernel before approval.
    m = requested.copy(os.path.join(tmp, "unapproved"))
    m.write("/slaunch/policy.json", s.files["/slaunch/policy.json.staged"], tmp)
    b = m.boot(LOGS, "unapproved-staged-in-place")
    t.check(not b.kexeced and b.failed_line() is not None and
            "signature does not match the policy and the built-in key" in b.failed_line(),
            f"the staged policy put in place unsigned: refused ({b.failed_line()})")
    m = requested.copy(os.path.join(tmp, "unapproved-entry"))
    b = m.boot(LOGS, "unapproved-sl-entry", append="sl.entry=" + NEW_ENTRY)
    t.check(not b.kexeced and f'no entry is named "{NEW_ENTRY}"' in (b.failed_line() or ""),
            f"sl.entry={NEW_ENTRY} before approval: not launched "
            f"({launched(b)}; {b.failed_line()})")


def declined(tmp, requested, s):
    """The admin answers no: nothing changes, the old runtime boots."""
    m = requested.copy(os.path.join(tmp, "declined"))
    b = m.boot(LOGS, "declined", answers=[(PROMPT, "no\r")])
    t.check('sll-manage: FAILED: not approved ("no"); nothing changed' in manage_text(b) and
            manage_exit(b) == 1 and m.read("/slaunch/policy.json") ==
            s.files["/slaunch/policy.json"] and m.read("/slaunch/policy.json.staged") ==
            s.files["/slaunch/policy.json.staged"] and m.read("/slaunch/signed/serial2-" +
                                                             NEW_ENTRY + ".policy") is None,
            "answered no on the console: nothing signed or written", manage_text(b)[-300:])


def main():
    os.makedirs(LOGS, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        keys = make_keys(tmp)
        image = signed_image(keys)
        s, m0, want, _ = provision(tmp, keys, image, t.check)
        m = first_boot(tmp, m0, want)
        requested = m.copy(os.path.join(tmp, "requested"))
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            jobs = [pool.submit(upgrade, tmp, m, s, want)]
            jobs += [pool.submit(power_cut, tmp, requested, step, want) for step in STEPS]
            jobs.append(pool.submit(tampered, tmp, requested, s, keys))
            jobs.append(pool.submit(declined, tmp, requested, s))
            for j in jobs:
                j.result()
    return t.summary()


if __name__ == "__main__":
    sys.exit(main())
