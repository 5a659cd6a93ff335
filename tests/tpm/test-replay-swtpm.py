#!/usr/bin/env python3
"""slpolicy's PCR replay equals a real TPM's: the launch events of a policy (their digests
computed here with hashlib) are extended into swtpm's debug PCR 16 with tpm2_pcrextend,
and PCR 16 must then equal slpolicy's predicted PCR 22 in every bank."""
import hashlib
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SLPOLICY = os.path.join(ROOT, "build", "slpolicy")
BANKS = ["sha1", "sha256", "sha384"]

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from swtpm_host import SwTpm  # noqa: E402


def main():
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        boot = os.path.join(tmp, "boot")
        os.makedirs(boot)
        kernel, initrd = os.urandom(123457), os.urandom(4096)
        cmdline = "root=/dev/vda1 ro console=ttyS0"
        for name, data in (("vmlinuz", kernel), ("initrd.img", initrd)):
            with open(os.path.join(boot, name), "wb") as f:
                f.write(data)
        new = subprocess.run([SLPOLICY, "new", "--root", boot, "--kernel", "/vmlinuz",
                              "--initrd", "/initrd.img", "--cmdline", cmdline],
                             capture_output=True, check=True)
        policy = os.path.join(tmp, "policy.json")
        with open(policy, "wb") as f:
            f.write(new.stdout)
        pred = subprocess.run([SLPOLICY, "predict", policy, "--root", boot] +
                              sum((["--bank", b] for b in BANKS), []),
                              capture_output=True, check=True).stdout.decode()
        predicted = dict(line.split("=") for line in pred.split())

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
                ok = tpm_value == predicted.get(f"{bank}:22")
                print(("ok   " if ok else "FAIL ") +
                      f"{bank}: swtpm PCR 16 after the launch events == slpolicy's PCR 22")
                if not ok:
                    print(f"     tpm {tpm_value}\n     slpolicy {predicted.get(f'{bank}:22')}")
                    failures.append(bank)
    print(f"{len(BANKS) - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
