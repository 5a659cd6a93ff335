#!/usr/bin/env python3
"""e2e: boot build/sll.efi under QEMU + swtpm with a simulated DRTM launch and check, from the
serial log, that slinit ran as PID 1, saw the DRTM PCR values and extended its test event.

Every expected value is computed here with hashlib from the image bytes and the event
string, independently of slinit's nettle code."""
import argparse
import hashlib
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TEST_EVENT = b"sll: test event"  # slinit's skeleton event (init/main.c)


def extend(alg, old, data_digest):
    return hashlib.new(alg, old + data_digest).digest()


def expected_pcrs(alg, image):
    size = hashlib.new(alg).digest_size
    zero = bytes(size)
    image_digest = hashlib.new(alg, image).digest()
    event_digest = hashlib.new(alg, TEST_EVENT).digest()
    before = {pcr: zero for pcr in range(17, 24)}
    before[17] = extend(alg, zero, image_digest)  # the DCE's measurement of the SL image
    after = {22: extend(alg, zero, event_digest), 23: extend(alg, zero, event_digest)}
    return before, after


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--image", default=os.path.join(ROOT, "build", "sll.efi"))
    ap.add_argument("--banks", default="sha1,sha256,sha384")
    ap.add_argument("--log", default=os.path.join(ROOT, "build", "test-boot-skeleton.log"))
    args = ap.parse_args()
    banks = args.banks.split(",")

    boot = subprocess.run(
        [os.path.join(ROOT, "tests", "harness", "boot-qemu.sh"), "--kernel", args.image,
         "--log", args.log, "--banks", args.banks, "--timeout", "180",
         "--append", "panic=-1"])
    with open(args.log, "rb") as f:
        log = f.read().decode("utf-8", "replace")
    with open(args.image, "rb") as f:
        image = f.read()

    failures = []

    def check(cond, what):
        print(("ok   " if cond else "FAIL ") + what)
        if not cond:
            failures.append(what)

    check(boot.returncode == 0, f"QEMU powered off on its own (exit {boot.returncode})")
    check("slinit: Secure Launch init, PID 1\n" in log.replace("\r", ""), "slinit ran as PID 1")
    check(re.search(r"slinit: TPM: /dev/tpm(rm)?0", log) is not None, "slinit found the TPM")
    m = re.search(r"slinit: active PCR banks: ([a-z0-9 ]+)", log)
    check(m is not None and sorted(m.group(1).split()) == sorted(banks),
          f"active banks are {banks}")

    seen = {}
    for phase, alg, pcr, value in re.findall(
            r"slinit: pcr (before|after) (sha\d+) (\d+) ([0-9a-f]+)", log):
        seen[(phase, alg, int(pcr))] = value
    for alg in banks:
        before, after = expected_pcrs(alg, image)
        for pcr, want in before.items():
            got = seen.get(("before", alg, pcr))
            what = "DRTM measurement of the image" if pcr == 17 else "zero after the DRTM reset"
            check(got == want.hex(), f"{alg} PCR {pcr} before: {what}")
        for pcr, want in after.items():
            check(seen.get(("after", alg, pcr)) == want.hex(),
                  f"{alg} PCR {pcr} after: H(0 || H('{TEST_EVENT.decode()}'))")
    check("slinit: skeleton done" in log, "slinit finished and powered off")
    check("FAILED" not in log, "no failure reported")

    if failures:
        print(f"{len(failures)} check(s) failed; serial log: {args.log}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
