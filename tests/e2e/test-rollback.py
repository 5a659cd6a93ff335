#!/usr/bin/env python3
"""e2e: anti-rollback. The admin provisions a TPM NV index holding the lowest acceptable policy
serial (with tpm2-tools, as README says) on the TPM the boots then use; slinit boots a policy
at the floor, refuses one below it, refuses after the floor is raised, and refuses an index
that is missing, never written, or writable with the index's own (empty) authorisation.

The image-bound floor (make image ROLLBACK_NV=...): an attacker who keeps old signed policies
puts one back on /boot. A policy without anti_rollback (signed before it was used), one whose
require_drtm fails on a boot without DRTM with on_failure "cap" (its recovery entry must not
boot), and one naming another index are refused; an NV counter (which only goes up) serves as
the floor, and an ordinary index put in the counter's place is refused."""
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

from sll_test.checks import Checks
from sll_test.e2e import boot_stage, build_runtime, host_tpm
from sll_test.paths import BUILD, ROOT
from sll_test.staging import Stage

CMDLINE = "console=ttyS0 panic=-1"
BANKS = ("sha1", "sha256")
LOGS = os.path.join(BUILD, "test-logs", "e2e-rollback")
FLOOR, UNWRITTEN, WEAK, MISSING = "0x01500100", "0x01500101", "0x01500102", "0x01500103"
COUNTER = "0x01500110"  # the floor the "floor" image names (ROLLBACK_NV=, an NV counter)
OWNER_ONLY = "ownerwrite|ownerread|authread|no_da"
FLOOR_IMAGE = os.path.join(BUILD, "sll-floor.efi")
t = Checks()


def write_floor(tpm2, tmp, index, value):
    path = os.path.join(tmp, "floor.bin")
    with open(path, "wb") as f:
        f.write(struct.pack(">Q", value))
    tpm2("nvwrite", index, "-C", "o" if index != WEAK else index, "-i", path)


def run(tmp, name, kernel, initrd, serial, index, state, image=None, drtm=True, edit=None):
    s = Stage(os.path.join(tmp, name))
    policy = s.put_launch(kernel, {"/initrd.img": initrd}, CMDLINE)
    policy["serial"] = serial
    if index:
        policy["anti_rollback"] = {"nv_index": index}
    if edit:
        edit(policy)
    s.put_policy(policy)
    predicted = s.predict(BANKS)
    kw = {"image": image} if image else {}
    return boot_stage(name, s, LOGS, banks=BANKS, tpm_state=state, drtm=drtm, **kw), predicted


def refused(name, b, reason, where="/slaunch/policy.json: /anti_rollback: "):
    line = b.failed_line()
    want = "slinit: FAILED: " + where + reason
    t.check(line == want, f"{name}: refused with: {line}")
    t.check(not b.kexeced, f"{name}: nothing kexeced")


def below(serial, floor, index):
    return (f"serial {serial} is below the anti-rollback floor {floor} in TPM NV index {index}: "
            "an older policy, refused")


def old_policy_with_recovery(p):
    """An old policy whose require_drtm fails without DRTM, with on_failure "cap"."""
    p.update(require_drtm=True, on_failure="cap", recovery="rescue")
    p["entries"].append({"name": "rescue", "kernel": "/vmlinuz", "initrd": ["/initrd.img"],
                         "cmdline": CMDLINE + " rescue"})
    p["measured_fallback"] = True


def counter_state(tmp, name, increments, kind="counter"):
    """A TPM state with COUNTER defined (as README says) and incremented; or, with kind
    "ordinary", an ordinary index written in its place. Returns (state, the floor's value)."""
    state = os.path.join(tmp, name)
    with host_tpm(state, BANKS) as tpm2:
        if kind == "counter":
            tpm2("nvdefine", COUNTER, "-C", "o", "-s", "8", "-a", "nt=counter|" + OWNER_ONLY)
            for _ in range(increments):
                tpm2("nvincrement", COUNTER, "-C", "o")
        else:
            tpm2("nvdefine", COUNTER, "-C", "o", "-s", "8", "-a", OWNER_ONLY)
            write_floor(tpm2, tmp, COUNTER, 0)
        value = struct.unpack(">Q", tpm2("nvread", COUNTER, "-C", COUNTER, "-s", "8").stdout)[0]
    return state, value


def image_bound(tmp, kernel, initrd):
    """The image names the floor (ROLLBACK_NV=, an NV counter): old policies cannot escape it."""
    subprocess.run([os.path.join(ROOT, "build.sh"), "kernel", "image"], check=True,
                   env=dict(os.environ, IMAGE_VARIANT="floor", ROLLBACK_NV=COUNTER),
                   stdout=subprocess.DEVNULL)
    state, value = counter_state(tmp, "counter", 3)
    t.check(value >= 1, f"counter: the NV counter's value after 3 increments is {value}")

    def fresh(name):  # every boot on its own copy of the provisioned TPM
        copy = os.path.join(tmp, "state-" + name)
        shutil.copytree(state, copy)
        return copy

    b, predicted = run(tmp, "image-floor-ok", kernel, initrd, value, None, fresh("ok"),
                       image=FLOOR_IMAGE)
    t.check(b.kexeced and b.failed_line() is None, f"image floor: serial {value} at the "
            "counter's value, no anti_rollback in the policy: boots")
    t.check(re.search(rf"^slinit: anti-rollback: serial {value} >= floor {value} in TPM NV "
                      rf"index {COUNTER} \(counter\)$", b.log, re.M) is not None,
            "image floor: the counter check is logged")
    t.check(b.pcrs.get("sha256", {}).get(22) == predicted["sha256"][22],
            "image floor: PCR 22 equals the prediction")

    b, _ = run(tmp, "image-floor-old-policy", kernel, initrd, value - 1, None, fresh("old"),
               image=FLOOR_IMAGE)
    refused("image floor: an old policy without anti_rollback", b,
            below(value - 1, value, COUNTER), where="/slaunch/policy.json: /serial: ")

    b, _ = run(tmp, "image-floor-old-cap", kernel, initrd, value - 1, None, fresh("cap"),
               image=FLOOR_IMAGE, drtm=False, edit=old_policy_with_recovery)
    refused("image floor: an old policy whose require_drtm fails (on_failure cap)", b,
            below(value - 1, value, COUNTER), where="/slaunch/policy.json: /serial: ")
    t.check("capped" not in b.log and "rescue" not in b.log.split("FAILED")[-1],
            "image floor: the old policy's recovery entry is not booted, nothing capped")

    b, _ = run(tmp, "image-floor-other-index", kernel, initrd, value, FLOOR, fresh("other"),
               image=FLOOR_IMAGE)
    refused("image floor: a policy naming another index", b,
            f"{FLOOR}, but this image keeps its anti-rollback floor in TPM NV index {COUNTER}",
            where="/slaunch/policy.json: /anti_rollback/nv_index: ")

    ordinary, _ = counter_state(tmp, "ordinary", 0, kind="ordinary")
    b, _ = run(tmp, "image-floor-ordinary", kernel, initrd, value, None, ordinary,
               image=FLOOR_IMAGE)
    refused("image floor: an ordinary index in the counter's place", b,
            f"TPM NV index {COUNTER} is not an NV counter (TPM2_NT_COUNTER), the kind this "
            "image names", where="anti-rollback floor of the image: ")

    # The policy-named floor (images without ROLLBACK_NV) takes a counter too.
    b, _ = run(tmp, "policy-named-counter", kernel, initrd, value, COUNTER, fresh("named"))
    t.check(b.kexeced and b.failed_line() is None,
            "a counter named by the policy (image without ROLLBACK_NV): boots")
    b, _ = run(tmp, "policy-named-counter-below", kernel, initrd, value - 1, COUNTER,
               fresh("named-below"))
    refused("a counter named by the policy, serial below it", b,
            below(value - 1, value, COUNTER), where="/slaunch/policy.json: /serial: ")


def main():
    os.makedirs(LOGS, exist_ok=True)
    kernel, initrd = build_runtime()
    with tempfile.TemporaryDirectory() as tmp:
        state = os.path.join(tmp, "tpm")
        with host_tpm(state, BANKS) as tpm2:
            for index, attrs in ((FLOOR, OWNER_ONLY), (UNWRITTEN, OWNER_ONLY),
                                 (WEAK, "authwrite|authread|no_da")):
                tpm2("nvdefine", index, "-C", "o", "-s", "8", "-a", attrs)
            write_floor(tpm2, tmp, FLOOR, 7)
            write_floor(tpm2, tmp, WEAK, 1)

        b, predicted = run(tmp, "at-floor", kernel, initrd, 7, FLOOR, state)
        t.check(b.kexeced and b.failed_line() is None, "serial 7, floor 7: boots")
        t.check(re.search(r"^slinit: anti-rollback: serial 7 >= floor 7 in TPM NV index "
                          r"0x01500100$", b.log, re.M) is not None, "at-floor: the check is logged")
        t.check(b.pcrs.get("sha256", {}).get(21) == predicted["sha256"][21],
                "at-floor: PCR 21 equals the prediction")

        b, _ = run(tmp, "below-floor", kernel, initrd, 6, FLOOR, state)
        refused("serial 6, floor 7", b, below(6, 7, FLOOR), where="/slaunch/policy.json: /serial: ")

        with host_tpm(state, BANKS) as tpm2:  # the admin raises the floor after an upgrade
            write_floor(tpm2, tmp, FLOOR, 8)
        b, _ = run(tmp, "raised-floor", kernel, initrd, 7, FLOOR, state)
        refused("serial 7 after the floor was raised to 8", b, below(7, 8, FLOOR),
                where="/slaunch/policy.json: /serial: ")

        b, _ = run(tmp, "missing-index", kernel, initrd, 9, MISSING, state)
        refused("index not defined", b, "the TPM has no NV index 0x01500103 (provision the "
                "anti-rollback floor first: README, Anti-rollback)")
        b, _ = run(tmp, "unwritten-index", kernel, initrd, 9, UNWRITTEN, state)
        refused("index never written", b, "TPM NV index 0x01500101 was never written: write "
                "the floor into it first")
        b, _ = run(tmp, "weak-index", kernel, initrd, 9, WEAK, state)
        refused("index writable with its own authorisation", b, "TPM NV index 0x01500102 can "
                "be written with its own authorisation (authwrite or policywrite): a floor must "
                "be writable only by the owner or the platform")
        image_bound(tmp, kernel, initrd)
    return t.summary()


if __name__ == "__main__":
    sys.exit(main())
