#!/usr/bin/env python3
"""make demo: what an admin would do, end to end, in QEMU with a TPM (swtpm) and a simulated
dynamic launch: write a policy for Debian's kernel with slpolicy, predict the PCRs, boot
sll.efi from a boot disk, and compare the PCRs the runtime OS reads with the prediction."""
import os
import subprocess
import sys
import tempfile

from sll_test.e2e import Boot, build_runtime
from sll_test.paths import BUILD, IMAGE, ROOT
from sll_test.pcr import drtm_pcr17
from sll_test.staging import Stage

BANKS = ("sha1", "sha256")


def say(text):
    print(f"\n== {text}", flush=True)


def main():
    say("runtime OS: Debian's kernel and a test initrd (build/runtime)")
    kernel, initrd = build_runtime()
    with tempfile.TemporaryDirectory() as tmp:
        s = Stage(tmp)
        say("slpolicy new: a verified-launch policy for it (/slaunch/policy.json)")
        policy = s.put_launch(kernel, {"/initrd.img": initrd}, "console=ttyS0 quiet")
        print(s.put_policy(policy).decode())
        say("slpolicy predict: the PCRs slinit will leave")
        pred = s.predict(BANKS)
        with open(IMAGE, "rb") as f:
            image = f.read()
        for alg in BANKS:
            print(f"{alg}:17={drtm_pcr17(alg, image).hex()}  (DRTM: H(0 || H(sll.efi)))")
            for pcr in (21, 22):
                print(f"{alg}:{pcr}={pred[alg][pcr]}")
        disk = s.disk(os.path.join(tmp, "disk.img"))
        say("booting build/sll.efi (QEMU TCG, swtpm, simulated DRTM); serial console:")
        log = os.path.join(BUILD, "demo-console.log")
        r = subprocess.run([os.path.join(ROOT, "tests", "harness", "boot-qemu.sh"), "--kernel",
                            IMAGE, "--drive", disk, "--banks", ",".join(BANKS), "--console",
                            "--log", log, "--append", "sl.debug sl.boot=LABEL=SLBOOT"])
        b = Boot(log, r.returncode)
        say("PCRs read by the runtime OS vs. the prediction")
        ok = b.kexeced
        for alg in BANKS:
            for pcr, want in [(17, drtm_pcr17(alg, image).hex()), (21, pred[alg][21]),
                              (22, pred[alg][22])]:
                got = b.pcrs.get(alg, {}).get(pcr)
                ok &= got == want
                print(f"{alg}:{pcr} {'==' if got == want else '!='} prediction  {got}")
        print("\ndemo: " + ("the runtime OS booted with exactly the predicted PCRs" if ok else
                            "FAILED: see " + log))
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
