#!/usr/bin/env python3
"""e2e: a secret sealed on the host, before the boot, to `slpolicy predict`'s sealing set
(sha256 PCRs 17, 18, 21, 22), in the very swtpm state the QEMU boot then uses; the runtime OS
(with tpm2-tools.img as a second initrd) unseals it through /dev/tpmrm0 and prints its hash.
PCR 17 and 18 are given to predict as the simulated DCE leaves them, computed here: 17 =
H(0 || H(sll.efi)), 18 = 0. Tamper cases boot fine but must not unseal, with the TPM's policy
error shown: a changed (still valid) policy, a changed kernel under a measured-only policy, and
an on_failure: cap boot into the recovery entry. Then a LUKS2 volume on a second disk whose key
is sealed the same way: opened by the runtime OS (luks.img: cryptsetup, dm-crypt) after the
verified launch, not after a changed policy."""
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile

from sll_test.checks import Checks
from sll_test.e2e import boot_stage, build_runtime, seal_before_boot, variant_kernel
from sll_test.paths import BUILD, IMAGE, RUNTIME
from sll_test.pcr import chain, drtm_pcr17, h, launch_pcr22, zero
from sll_test.staging import Stage

HANDLE = "0x81000100"
PCRS = "sha256:17,18,21,22"
CMDLINE = f"console=ttyS0 panic=-1 sll.test=1 sll.unseal={HANDLE} sll.unseal_pcrs={PCRS}"
BANKS = ("sha1", "sha256")
LOGS = os.path.join(BUILD, "test-logs", "e2e-seal")
POLICY_FAIL = "tpm:session(1):a policy check failed"

t = Checks()


def stage(tmp, kernel, initrds, cmdline=CMDLINE, allow=True):
    s = Stage(tmp)
    policy = s.put_launch(kernel, initrds, cmdline)
    if not allow:
        del policy["entries"][0]["allow"]
    return s, policy


def seal(name, s, secret, entry=None):
    """Predict, seal in a new swtpm state; returns the state dir and the predicted bytes."""
    with open(IMAGE, "rb") as f:
        image = f.read()
    pcr17, pcr18 = drtm_pcr17("sha256", image), zero("sha256")
    values = os.path.join(os.path.dirname(s.dir), "predicted.bin")
    predicted = s.predict_sealing(pcr17, pcr18, entry=entry)
    with open(values, "wb") as f:
        f.write(predicted)
    state = os.path.join(os.path.dirname(s.dir), "tpm")
    r = seal_before_boot(state, values, PCRS, HANDLE, secret, BANKS)
    t.check(r.returncode == 0, f"{name}: sealed on the host before the boot, from the "
            f"prediction only {r.stderr.decode().strip()}")
    return state, predicted


def run(name, s, state, append="", drives=()):
    return boot_stage(name, s, LOGS, banks=BANKS, append=append, tpm_state=state, timeout=300,
                      drives=drives)


def check_refused_unseal(name, b, secret):
    t.check(b.kexeced and "sll-runtime: done" in b.log, f"{name}: runtime OS booted")
    t.check("sll-runtime: unseal failed" in b.log and b.unsealed is None and
            hashlib.sha256(secret).hexdigest() not in b.log, f"{name}: the secret is not unsealed")
    shown = [line for line in b.unseal_errors if POLICY_FAIL in line]
    t.check(bool(shown), f"{name}: the TPM's policy error is shown: "
            f"{shown[0] if shown else b.unseal_errors}")


def main():
    os.makedirs(LOGS, exist_ok=True)
    kernel, initrd = build_runtime()
    with open(os.path.join(RUNTIME, "tpm2-tools.img"), "rb") as f:
        tools = f.read()
    initrds = [("/initrd.img", initrd), ("/tpm2-tools.img", tools)]
    with open(IMAGE, "rb") as f:
        image = f.read()

    with tempfile.TemporaryDirectory() as tmp:
        secret = os.urandom(64)
        s, policy = stage(tmp, kernel, initrds)
        pb = s.put_policy(policy)
        state, predicted = seal("sealed", s, secret)
        want = (drtm_pcr17("sha256", image) + zero("sha256") +
                chain("sha256", zero("sha256"), [h("sha256", pb)]) +
                launch_pcr22("sha256", [kernel, initrd, tools], CMDLINE))
        t.check(predicted == want, "sealed: the prediction (tpm2 format) = 17, 18, 21, 22 "
                "computed with hashlib")
        b = run("sealed", s, state)
        t.check(b.kexeced and b.failed_line() is None, "sealed: verified launch into the runtime")
        got = b.pcrs.get("sha256", {})
        t.check(b"".join(bytes.fromhex(got.get(p, "")) for p in (17, 18, 21, 22)) == want,
                "sealed: the runtime's PCRs 17, 18, 21, 22 = the prediction sealed to")
        t.check(b.unsealed == hashlib.sha256(secret).hexdigest(),
                f"sealed: the runtime OS unsealed the secret (sha256 {b.unsealed})")
        t.check(not b.unseal_errors, "sealed: no unseal error")

        # The same sealed TPM state, a new policy: its serial raised, nothing else.
        state2 = os.path.join(tmp, "tpm-changed-policy")
        shutil.copytree(state, state2)
        policy["serial"] = 2
        s.put_policy(policy)
        b = run("changed-policy", s, state2)
        t.check(b.failed_line() is None, "changed-policy: still a valid, verified launch")
        check_refused_unseal("changed-policy", b, secret)

    with tempfile.TemporaryDirectory() as tmp:
        # Measured only: any kernel boots, but a different one cannot unseal.
        secret = os.urandom(32)
        s, policy = stage(tmp, kernel, initrds, allow=False)
        s.put_policy(policy)
        state, _ = seal("measured-kernel", s, secret)
        s.put("/vmlinuz", variant_kernel(kernel))
        b = run("measured-kernel", s, state)
        t.check(b.failed_line() is None and "sll-runtime: kernel 6.1" in b.log,
                "measured-kernel: the changed kernel boots (measured only)")
        check_refused_unseal("measured-kernel", b, secret)

    with tempfile.TemporaryDirectory() as tmp:
        # on_failure: cap. Sealed to the good launch of "main"; its kernel is then replaced,
        # so main is refused, 19/21/22 capped and the recovery entry boots: no unseal.
        secret = os.urandom(48)
        s, policy = stage(tmp, kernel, initrds)
        s.put("/vmlinuz-rescue", kernel)
        policy["entries"][0]["name"] = "main"
        policy["entries"].append({"name": "rescue", "kernel": "/vmlinuz-rescue",
                                  "initrd": [n for n, _ in initrds],
                                  "cmdline": CMDLINE + " rescue"})
        policy.update(on_failure="cap", recovery="rescue", measured_fallback=True)
        s.put_policy(policy)
        state, _ = seal("cap", s, secret, entry="main")
        s.put("/vmlinuz", variant_kernel(kernel))
        b = run("cap", s, state, append="sl.entry=main")
        t.check(b.failed_line() is not None and "main: kernel /vmlinuz" in b.failed_line(),
                f"cap: main refused: {b.failed_line()}")
        t.check("sll-runtime: cmdline " in b.log and " rescue" in b.log,
                "cap: the recovery entry booted")
        check_refused_unseal("cap", b, secret)

    luks_cases(kernel, initrds)
    return t.summary()


def luks_cases(kernel, initrds):
    """A LUKS2 volume (second virtio disk) whose key is sealed to the prediction: opened by the
    runtime OS (cryptsetup, dm-crypt) after a verified launch, not after a changed policy; and a
    wrong key sealed to the right state is refused by LUKS itself."""
    with open(os.path.join(RUNTIME, "luks.img"), "rb") as f:
        luks = f.read()
    cmdline = CMDLINE + " sll.luks=/dev/vdb"
    with tempfile.TemporaryDirectory() as tmp:
        key = os.urandom(64)
        keyfile, volume = os.path.join(tmp, "key"), os.path.join(tmp, "volume.img")
        with open(keyfile, "wb") as f:
            f.write(key)
        with open(volume, "wb") as f:
            f.truncate(32 << 20)
        # As README has the admin do it: slot 0 a recovery passphrase (argon2id, the default
        # PBKDF, with a memory cost the 512 MiB guest can afford), slot 1 the random key sealed
        # to the launch (pbkdf2: the key has full entropy). cryptsetup tries slot 0 first.
        with open(keyfile + ".recovery", "wb") as f:
            f.write(os.urandom(16).hex().encode())
        r = subprocess.run(["cryptsetup", "luksFormat", "--type", "luks2", "--pbkdf", "argon2id",
                            "--pbkdf-memory", "65536", "--pbkdf-force-iterations", "4", "-q",
                            "--key-file", keyfile + ".recovery", volume],
                           capture_output=True, text=True)
        t.check(r.returncode == 0, f"luks: cryptsetup luksFormat of a 32 MiB volume {r.stderr}")
        r = subprocess.run(["cryptsetup", "luksAddKey", "--pbkdf", "pbkdf2",
                            "--pbkdf-force-iterations", "1000", "-q", "--key-file",
                            keyfile + ".recovery", volume, keyfile], capture_output=True,
                           text=True)
        t.check(r.returncode == 0, f"luks: cryptsetup luksAddKey of the key to seal {r.stderr}")
        os.unlink(keyfile)
        s, policy = stage(tmp, kernel, initrds + [("/luks.img", luks)], cmdline=cmdline)
        s.put_policy(policy)
        state, _ = seal("luks", s, key)
        b = run("luks", s, state, drives=[volume])
        t.check(b.kexeced and b.failed_line() is None, "luks: verified launch into the runtime")
        t.check(re.search(r"^sll-runtime: luks open ok cipher aes-xts-plain64$", b.log, re.M)
                is not None, "luks: the runtime OS opened the LUKS2 volume with the unsealed key "
                "(dm-crypt mapping aes-xts-plain64)")

        state2 = os.path.join(tmp, "tpm-changed-policy")
        shutil.copytree(state, state2)
        policy["serial"] = 2
        s.put_policy(policy)
        b = run("luks-changed-policy", s, state2, drives=[volume])
        errors = re.findall(r"^sll-runtime: luks-error (.*)$", b.log, re.M)
        t.check(b.kexeced and "sll-runtime: luks open failed" in b.log and
                "luks open ok" not in b.log, "luks-changed-policy: the volume is not opened")
        t.check(any(POLICY_FAIL in e for e in errors),
                "luks-changed-policy: because the TPM refused the unseal (policy check failed)")

    with tempfile.TemporaryDirectory() as tmp:
        # The right state, the wrong key: LUKS itself refuses (the check above can fail).
        keyfile, volume = os.path.join(tmp, "key"), os.path.join(tmp, "volume.img")
        with open(keyfile, "wb") as f:
            f.write(os.urandom(64))
        with open(volume, "wb") as f:
            f.truncate(32 << 20)
        subprocess.run(["cryptsetup", "luksFormat", "--type", "luks2", "--pbkdf", "pbkdf2",
                        "--pbkdf-force-iterations", "1000", "-q", "--key-file", keyfile, volume],
                       check=True, capture_output=True)
        s, policy = stage(tmp, kernel, initrds + [("/luks.img", luks)], cmdline=cmdline)
        s.put_policy(policy)
        state, _ = seal("luks-wrong-key", s, os.urandom(64))
        b = run("luks-wrong-key", s, state, drives=[volume])
        errors = re.findall(r"^sll-runtime: luks-error (.*)$", b.log, re.M)
        t.check(b.unsealed is not None and "sll-runtime: luks open failed" in b.log and
                any("No key available" in e for e in errors),
                f"luks-wrong-key: unsealed, but cryptsetup refuses the key: {errors[-1:]}")


if __name__ == "__main__":
    sys.exit(main())
