#!/usr/bin/env python3
"""e2e: an image built with a policy-signing key (build/sll-signed.efi, POLICY_PUBKEY) boots
only policies signed with it. PCR 19 holds the key's digest, computed here from the key's
DER bytes; refusals name the signature file and never kexec."""
import os
import re
import subprocess
import sys
import tempfile

from sll_test.checks import Checks
from sll_test.e2e import boot_stage, build_runtime
from sll_test.paths import BUILD, ROOT, SLPOLICY
from sll_test.pcr import chain, drtm_pcr17, h, launch_pcr22, zero
from sll_test.staging import Stage

CMDLINE = "console=ttyS0 panic=-1"
BANKS = ("sha1", "sha256")
LOGS = os.path.join(BUILD, "test-logs", "e2e-signed")
SIGNED_IMAGE = os.path.join(BUILD, "sll-signed.efi")
t = Checks()


def openssl(*args):
    return subprocess.run(["openssl", *args], check=True, capture_output=True).stdout


def make_key(dir, name):
    key, pub = os.path.join(dir, name + ".pem"), os.path.join(dir, name + ".pub.pem")
    openssl("genpkey", "-algorithm", "ed25519", "-out", key)
    openssl("pkey", "-in", key, "-pubout", "-out", pub)
    der = openssl("pkey", "-pubin", "-in", pub, "-outform", "DER")
    return key, pub, der[-32:]  # SubjectPublicKeyInfo: 12 bytes of header, then the raw key


def stage(tmp, kernel, initrd):
    s = Stage(tmp)
    policy = s.put_launch(kernel, {"/initrd.img": initrd}, CMDLINE)
    return s, s.put_policy(policy)


def sign(s, key, policy="/slaunch/policy.json"):
    subprocess.run([SLPOLICY, "sign", "--key", key, s.dir + policy], check=True,
                   capture_output=True)
    with open(s.dir + policy + ".sig", "rb") as f:
        s.files[policy + ".sig"] = f.read()


def run(name, s):
    return boot_stage(name, s, LOGS, banks=BANKS, image=SIGNED_IMAGE)


def refused(name, b, pattern):
    line = b.failed_line()
    t.check(line is not None and re.fullmatch(pattern, line) is not None,
            f"{name}: refused with: {line}")
    t.check(not b.kexeced, f"{name}: nothing kexeced")


def main():
    os.makedirs(LOGS, exist_ok=True)
    kernel, initrd = build_runtime()
    with tempfile.TemporaryDirectory() as keys:
        key, pub, raw = make_key(keys, "admin")
        other_key, _, _ = make_key(keys, "other")
        # The image with this key built in (only its initramfs differs from sll.efi's).
        subprocess.run([os.path.join(ROOT, "build.sh"), "kernel", "image"], check=True,
                       env=dict(os.environ, IMAGE_VARIANT="signed", POLICY_PUBKEY=pub),
                       stdout=subprocess.DEVNULL)
        with open(SIGNED_IMAGE, "rb") as f:
            image = f.read()

        with tempfile.TemporaryDirectory() as tmp:
            s, pb = stage(tmp, kernel, initrd)
            sign(s, key)
            verify = subprocess.run([SLPOLICY, "verify", "--pubkey", pub,
                                     s.dir + "/slaunch/policy.json"], capture_output=True)
            t.check(verify.stdout == b"ok\n", "slpolicy verify accepts the signature")
            pred = s.predict(BANKS, pubkey=pub)
            b = run("signed", s)
            t.check(b.kexeced and "slinit: policy signature verified" in b.log,
                    "signed: signature verified, runtime OS booted")
            for alg in BANKS:
                got = b.pcrs.get(alg, {})
                want19 = chain(alg, zero(alg), [h(alg, raw)]).hex()
                t.check(got.get(19) == want19 == pred[alg][19],
                        f"signed: {alg} PCR 19 = H(0 || H(raw key)) = slpolicy predict --pubkey")
                t.check(got.get(17) == drtm_pcr17(alg, image).hex(),
                        f"signed: {alg} PCR 17 = DRTM measurement of sll-signed.efi")
                t.check(got.get(21) == chain(alg, zero(alg), [h(alg, pb)]).hex() == pred[alg][21]
                        and got.get(22) == launch_pcr22(alg, [kernel, initrd], CMDLINE).hex()
                        == pred[alg][22], f"signed: {alg} PCRs 21, 22 as predicted")

            # An upgrade in progress: the .sig holds the old policy's signature, then this one's.
            s.put("/old.json", b'{"schema": 1, "serial": 0}')
            sign(s, key, "/old.json")
            s.put("/slaunch/policy.json.sig",
                  s.files["/old.json.sig"] + s.files["/slaunch/policy.json.sig"])
            b = run("signature-pair", s)
            t.check(b.kexeced and "slinit: policy signature verified" in b.log,
                    "signature-pair: [another policy's, this policy's] verifies, boots")

        sig = r"/slaunch/policy\.json\.sig"
        cases = [
            ("missing-signature", lambda s: None,
             rf"slinit: FAILED: {sig}: missing; this image only accepts signed policies "
             r"\(slpolicy sign\)"),
            ("bad-signature", lambda s: s.put("/slaunch/policy.json.sig", os.urandom(64)),
             rf"slinit: FAILED: {sig}: signature does not match the policy and the built-in key"),
            ("signature-of-another-policy",
             lambda s: (s.put("/other.json", b'{"schema": 1}'), sign(s, key, "/other.json"),
                        s.put("/slaunch/policy.json.sig", s.files["/other.json.sig"])),
             rf"slinit: FAILED: {sig}: signature does not match the policy and the built-in key"),
            ("signed-with-another-key", lambda s: sign(s, other_key),
             rf"slinit: FAILED: {sig}: signature does not match the policy and the built-in key"),
            ("signature-truncated",
             lambda s: (sign(s, key), s.put("/slaunch/policy.json.sig",
                                            s.files["/slaunch/policy.json.sig"][:63])),
             rf"slinit: FAILED: {sig}: must be 64 bytes \(a raw Ed25519 signature\), or up to 4 "
             "of them"),
            ("signatures-of-other-policies-only",
             lambda s: (s.put("/a.json", b'{"schema": 1}'), sign(s, key, "/a.json"),
                        s.put("/b.json", b'{"schema": 2}'), sign(s, key, "/b.json"),
                        s.put("/slaunch/policy.json.sig",
                              s.files["/a.json.sig"] + s.files["/b.json.sig"])),
             rf"slinit: FAILED: {sig}: signature does not match the policy and the built-in key"),
            ("five-signatures",
             lambda s: (sign(s, key), s.put("/slaunch/policy.json.sig",
                                            s.files["/slaunch/policy.json.sig"] * 5)),
             rf"slinit: FAILED: {sig}: must be 64 bytes \(a raw Ed25519 signature\), or up to 4 "
             "of them"),
            ("policy-changed-after-signing",
             lambda s: (sign(s, key), s.put("/slaunch/policy.json",
                                            s.files["/slaunch/policy.json"] + b"\n")),
             rf"slinit: FAILED: {sig}: signature does not match the policy and the built-in key"),
        ]
        for name, mutate, pattern in cases:
            with tempfile.TemporaryDirectory() as tmp:
                s, _ = stage(tmp, kernel, initrd)
                mutate(s)
                refused(name, run(name, s), pattern)
    return t.summary()


if __name__ == "__main__":
    sys.exit(main())
