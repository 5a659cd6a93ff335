#!/usr/bin/env python3
"""e2e: anti-rollback. The admin provisions a TPM NV index holding the lowest acceptable policy
serial (with tpm2-tools, as README says) on the TPM the boots then use; slinit boots a policy
at the floor, refuses one below it, refuses after the floor is raised, and refuses an index
that is missing, never written, or writable with the index's own (empty) authorisation."""
import os
import re
import struct
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sll_e2e import BUILD, Checks, Stage, boot, build_runtime, host_tpm

CMDLINE = "console=ttyS0 panic=-1"
BANKS = ("sha1", "sha256")
LOGS = os.path.join(BUILD, "test-logs", "e2e-rollback")
FLOOR, UNWRITTEN, WEAK, MISSING = "0x01500100", "0x01500101", "0x01500102", "0x01500103"
OWNER_ONLY = "ownerwrite|ownerread|authread|no_da"
t = Checks()


def write_floor(tpm2, tmp, index, value):
    path = os.path.join(tmp, "floor.bin")
    with open(path, "wb") as f:
        f.write(struct.pack(">Q", value))
    tpm2("nvwrite", index, "-C", "o" if index != WEAK else index, "-i", path)


def run(tmp, name, kernel, initrd, serial, index, state):
    s = Stage(os.path.join(tmp, name))
    s.put("/vmlinuz", kernel)
    s.put("/initrd.img", initrd)
    policy = s.slpolicy_new("/vmlinuz", ["/initrd.img"], CMDLINE)
    policy["serial"] = serial
    policy["anti_rollback"] = {"nv_index": index}
    s.put_policy(policy)
    predicted = s.predict(BANKS)
    disk = s.disk(os.path.join(tmp, name, "disk.img"))
    return boot(os.path.join(LOGS, name + ".log"), disk=disk, banks=BANKS, tpm_state=state), \
        predicted


def refused(name, b, reason):
    line = b.failed_line()
    want = "slinit: FAILED: /slaunch/policy.json: /anti_rollback: " + reason
    t.check(line == want, f"{name}: refused with: {line}")
    t.check(not b.kexeced, f"{name}: nothing kexeced")


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
        refused("serial 6, floor 7", b, "serial 6 is below the anti-rollback floor 7 in TPM NV "
                "index 0x01500100: an older policy, refused")

        with host_tpm(state, BANKS) as tpm2:  # the admin raises the floor after an upgrade
            write_floor(tpm2, tmp, FLOOR, 8)
        b, _ = run(tmp, "raised-floor", kernel, initrd, 7, FLOOR, state)
        refused("serial 7 after the floor was raised to 8", b, "serial 7 is below the "
                "anti-rollback floor 8 in TPM NV index 0x01500100: an older policy, refused")

        b, _ = run(tmp, "missing-index", kernel, initrd, 9, MISSING, state)
        refused("index not defined", b, "the TPM has no NV index 0x01500103 (provision it, or "
                "remove anti_rollback from the policy)")
        b, _ = run(tmp, "unwritten-index", kernel, initrd, 9, UNWRITTEN, state)
        refused("index never written", b, "TPM NV index 0x01500101 was never written: write "
                "the floor into it first")
        b, _ = run(tmp, "weak-index", kernel, initrd, 9, WEAK, state)
        refused("index writable with its own authorisation", b, "TPM NV index 0x01500102 can "
                "be written with its own authorisation (authwrite or policywrite): a floor must "
                "be writable only by the owner or the platform")
    return t.summary()


if __name__ == "__main__":
    sys.exit(main())
