#!/usr/bin/env python3
"""slpolicy's PCR replay equals a real TPM's: the launch events of a policy (their digests
computed here with hashlib) are extended into swtpm's debug PCR 16 with tpm2_pcrextend,
and PCR 16 must then equal slpolicy's predicted PCR 22 in every bank."""
import hashlib
import os
import subprocess
import sys
import tempfile

from sll_test.checks import Checks
from sll_test.staging import new_policy, predict, put_files
from sll_test.swtpm import SwTpm

BANKS = ["sha1", "sha256", "sha384"]


def main():
    t = Checks()
    with tempfile.TemporaryDirectory() as tmp:
        boot = os.path.join(tmp, "boot")
        kernel, initrd = os.urandom(123457), os.urandom(4096)
        cmdline = "root=/dev/vda1 ro console=ttyS0"
        put_files(boot, {"/vmlinuz": kernel, "/initrd.img": initrd})
        policy = os.path.join(tmp, "policy.json")
        new_policy(boot, "/vmlinuz", ["/initrd.img"], cmdline, policy=policy)
        pred = predict(policy, boot, *sum((["--bank", b] for b in BANKS), []))
        pred.check_returncode()
        predicted = dict(line.split("=") for line in pred.stdout.decode().split())

        with SwTpm(os.path.join(tmp, "tpm"), BANKS) as tpm:
            env = tpm.env
            subprocess.run(["tpm2_pcrreset", "16"], env=env, check=True, capture_output=True)
            for data in (kernel, initrd, cmdline.encode(), b"\0\0\0\0"):
                digests = ",".join(f"{b}={hashlib.new(b, data).hexdigest()}" for b in BANKS)
                subprocess.run(["tpm2_pcrextend", f"16:{digests}"], env=env, check=True,
                               capture_output=True)
            for bank in BANKS:
                out = subprocess.run(["tpm2_pcrread", f"{bank}:16", "-o",
                                      os.path.join(tmp, "pcr.bin")], env=env, check=True,
                                     capture_output=True)
                with open(os.path.join(tmp, "pcr.bin"), "rb") as f:
                    tpm_value = f.read().hex()
                t.check(tpm_value == predicted.get(f"{bank}:22"),
                        f"{bank}: swtpm PCR 16 after the launch events == slpolicy's PCR 22",
                        f"tpm {tpm_value}\nslpolicy {predicted.get(f'{bank}:22')}")
    return t.summary()


if __name__ == "__main__":
    sys.exit(main())
