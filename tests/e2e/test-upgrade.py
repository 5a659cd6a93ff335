#!/usr/bin/env python3
"""e2e: the secure upgrade flow across boots sharing one swtpm state, with signed PCR policies.

1. On the host, before any boot: the secret is sealed once under TPM2_PolicyAuthorize of an
   admin RSA key (tools/sll-seal seal --authorize), and the admin signs the prediction of the
   current launch (sll-seal sign). The signed states and the public key go on a second raw disk
   (a tar archive: not measured, not secret), which the runtime OS reads (sll.unseal_signed=).
2. Boot 1: the runtime OS unseals.
3. The upgrade: a new kernel; `slpolicy allow` adds its digest (serial 2); the admin signs the
   new prediction (with a throwaway swtpm: signing needs no access to the machine's TPM).
4. Boot 2, same TPM state, no reseal: the runtime OS unseals the same secret.
5. Revocation of the superseded state: the policy's anti-rollback index (provisioned on the
   TPM with tpm2-tools before the seal, floor 1) is what revokes it. Rolled back to the old
   kernel and policy (serial 1), the machine still unseals while the floor is 1: a signed
   state stays valid as long as the key does. The admin raises the floor to 2: the old policy
   is refused by slinit, so PCR 21 can never again hold its value; the new one still unseals.
6. Boot 3: an unapproved kernel is refused by slinit (never kexeced).
7. Boot 4: a changed policy that nobody signed (still valid, it boots): no unseal.
8. A kernel downgrade: the old kernel boots under the upgraded policy (it lists both digests)
   until `slpolicy allow --replace` drops the old digest; then it is refused.
PCR 17 and 18 as the harness's simulated DCE leaves them: H(0 || H(sll.efi)) and 0."""
import hashlib
import io
import os
import subprocess
import sys
import tarfile
import tempfile

from sll_test.checks import Checks
from sll_test.e2e import boot_stage, build_runtime, variant_kernel
from sll_test.paths import BUILD, IMAGE, RUNTIME, SLL_SEAL, SLPOLICY
from sll_test.pcr import drtm_pcr17, zero
from sll_test.staging import Stage
from sll_test.swtpm import SwTpm

HANDLE = "0x81000101"
FLOOR = "0x01500100"
PCRS = "sha256:17,18,21,22"
CMDLINE = (f"console=ttyS0 panic=-1 sll.test=1 sll.unseal={HANDLE} sll.unseal_pcrs={PCRS} "
           "sll.unseal_signed=/dev/vdb")
BANKS = ("sha1", "sha256")
LOGS = os.path.join(BUILD, "test-logs", "e2e-upgrade")

t = Checks()


def signed_disk(path, files):
    """A tar archive of the given files (name -> path), padded to whole MiB for QEMU."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, src in sorted(files.items()):
            tar.add(src, arcname=name)
    data = buf.getvalue()
    with open(path, "wb") as f:
        f.write(data + bytes(-len(data) % (1 << 20)))
    return path


def sign_state(tpm, key, s, tmp, name):
    """sll-seal sign of s's current prediction; returns the .policy and .sig paths."""
    with open(IMAGE, "rb") as f:
        pcr17 = drtm_pcr17("sha256", f.read())
    values = os.path.join(tmp, name + ".pcrs")
    with open(values, "wb") as f:
        f.write(s.predict_sealing(pcr17, zero("sha256")))
    out = os.path.join(tmp, name)
    r = tpm.tool(SLL_SEAL, "sign", "--key", key, "--pcrs", PCRS, "--values", values, "--out", out)
    t.check(r.returncode == 0, f"{name}: the admin signs the predicted state {r.stderr.decode()}")
    return {name + ".policy": out + ".policy", name + ".sig": out + ".sig"}


def run(name, s, state, signed):
    return boot_stage(name, s, LOGS, banks=BANKS, tpm_state=state, timeout=300,
                      drives=[signed])


def write_floor(state, tmp, value):
    """The admin sets the anti-rollback floor with tpm2-tools, as README says."""
    path = os.path.join(tmp, "floor.bin")
    with open(path, "wb") as f:
        f.write(value.to_bytes(8, "big"))
    with SwTpm(state, BANKS) as tpm:
        if value == 1:
            r = tpm.tool("tpm2_nvdefine", FLOOR, "-C", "o", "-s", "8", "-a",
                         "ownerwrite|ownerread|authread|no_da")
            t.check(r.returncode == 0, f"anti-rollback index {FLOOR} defined "
                    f"{r.stderr.decode().strip()}")
        r = tpm.tool("tpm2_nvwrite", FLOOR, "-C", "o", "-i", path)
        t.check(r.returncode == 0, f"anti-rollback floor set to {value} "
                f"{r.stderr.decode().strip()}")


def main():
    os.makedirs(LOGS, exist_ok=True)
    kernel, initrd = build_runtime()
    initrds = {}
    for name in ("initrd.img", "tpm2-tools.img", "luks.img"):
        with open(os.path.join(RUNTIME, name), "rb") as f:
            initrds["/" + name] = f.read()

    with tempfile.TemporaryDirectory() as tmp:
        key, pub = os.path.join(tmp, "admin.pem"), os.path.join(tmp, "key.pub.pem")
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                        "rsa_keygen_bits:2048", "-out", key], check=True, capture_output=True)
        subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-out", pub], check=True,
                       capture_output=True)
        secret = os.urandom(64)
        want = hashlib.sha256(secret).hexdigest()
        s = Stage(tmp)
        policy = s.put_launch(kernel, initrds, CMDLINE)
        policy["anti_rollback"] = {"nv_index": FLOOR}
        s.put_policy(policy)
        policy_path = s.dir + "/slaunch/policy.json"
        with open(policy_path, "rb") as f:
            v1_policy = f.read()

        state = os.path.join(tmp, "tpm")
        write_floor(state, tmp, 1)
        with SwTpm(state, BANKS) as tpm:
            r = tpm.tool(SLL_SEAL, "seal", "--authorize", pub, "--handle", HANDLE, input=secret)
            t.check(r.returncode == 0, "sealed once under the admin key, before any boot "
                    f"{r.stderr.decode().strip()}")
            signed = {"key.pub.pem": pub}
            signed.update(sign_state(tpm, key, s, tmp, "v1"))
        disk = signed_disk(os.path.join(tmp, "signed-1.img"), signed)

        b = run("boot-1", s, state, disk)
        t.check(b.kexeced and b.failed_line() is None, "boot-1: verified launch")
        t.check("sll-runtime: signed states 1" in b.log, "boot-1: the runtime read 1 signed state")
        t.check(b.unsealed == want, f"boot-1: unsealed with the signed state (sha256 {b.unsealed})")

        # The upgrade: a new kernel at the entry's path, allowed by slpolicy allow.
        s.put("/vmlinuz", variant_kernel(kernel))
        r = subprocess.run([SLPOLICY, "allow", policy_path, "--root", s.dir, "--kernel",
                            "/vmlinuz"], capture_output=True, text=True)
        t.check(r.returncode == 0 and r.stdout.strip().endswith("serial 2"),
                f"upgrade: slpolicy allow adds the new kernel, serial 2: {r.stdout.strip()}")
        with SwTpm(os.path.join(tmp, "throwaway"), BANKS) as other:
            signed.update(sign_state(other, key, s, tmp, "v2"))
        disk = signed_disk(os.path.join(tmp, "signed-2.img"), signed)

        b = run("boot-2", s, state, disk)
        t.check(b.kexeced and b.failed_line() is None, "boot-2: the upgraded kernel launches")
        t.check("sll-runtime: signed states 2" in b.log, "boot-2: the runtime read 2 signed states")
        t.check(b.unsealed == want, "boot-2: the same sealed secret unseals after the upgrade, "
                "no reseal")
        with open(policy_path, "rb") as f:
            v2_policy = f.read()

        # Revocation: the superseded state (v1) is still signed; only the floor keeps it out.
        s.put("/vmlinuz", kernel)
        s.put_policy(v1_policy)
        b = run("rollback-floor-1", s, state, disk)
        t.check(b.kexeced and b.failed_line() is None and b.unsealed == want,
                "rolled back to serial 1 while the floor is 1: boots and unseals (the old "
                "signed state is still valid)")
        write_floor(state, tmp, 2)
        b = run("rollback-floor-2", s, state, disk)
        t.check(b.failed_line() == "slinit: FAILED: /slaunch/policy.json: /serial: "
                "serial 1 is below the anti-rollback floor 2 in TPM NV index 0x01500100: an "
                "older policy, refused" and not b.kexeced and b.unsealed is None,
                f"floor raised to 2: the old policy is refused, nothing unseals: "
                f"{b.failed_line()}")
        s.put("/vmlinuz", variant_kernel(kernel))
        s.put_policy(v2_policy)
        b = run("upgraded-floor-2", s, state, disk)
        t.check(b.kexeced and b.failed_line() is None and b.unsealed == want,
                "floor 2: the upgraded policy (serial 2) boots and unseals")

        s.put("/vmlinuz", variant_kernel(kernel, b"X"))
        b = run("boot-3-unapproved-kernel", s, state, disk)
        t.check(b.failed_line() is not None and "is not in allow.kernel" in b.failed_line() and
                not b.kexeced, f"boot-3: an unapproved kernel is refused: {b.failed_line()}")

        s.put("/vmlinuz", variant_kernel(kernel))
        with open(policy_path) as f:
            text = f.read()
        s.put_policy(text.replace('"serial": 2', '"serial": 3').encode())
        b = run("boot-4-unsigned-policy", s, state, disk)
        t.check(b.kexeced and b.failed_line() is None, "boot-4: a changed (valid) policy boots")
        t.check(b.unsealed is None and "sll-runtime: unseal failed" in b.log and
                any("no state signed" in e for e in b.unseal_errors),
                f"boot-4: nobody signed its state: no unseal: {b.unseal_errors[-1:]}")

        # A kernel downgrade: the upgraded policy still allows the old kernel (both digests),
        # until `slpolicy allow --replace` drops the old digest (serial 3).
        s.put_policy(v2_policy)
        s.put("/vmlinuz", kernel)
        b = run("downgrade-under-v2", s, state, disk)
        t.check(b.kexeced and b.failed_line() is None,
                "downgrade: the old kernel boots under the policy that lists both kernels")
        s.put("/vmlinuz", variant_kernel(kernel))
        r = subprocess.run([SLPOLICY, "allow", policy_path, "--replace", "--root", s.dir,
                            "--kernel", "/vmlinuz"], capture_output=True, text=True)
        t.check(r.returncode == 0 and r.stdout.strip().endswith("serial 3"),
                f"allow --replace: only the new kernel's digest, serial 3: {r.stdout.strip()}")
        s.put("/vmlinuz", kernel)
        b = run("downgrade-after-replace", s, state, disk)
        t.check(b.failed_line() is not None and "is not in allow.kernel" in b.failed_line() and
                not b.kexeced, f"downgrade after allow --replace: the old kernel is refused: "
                f"{b.failed_line()}")
    return t.summary()


if __name__ == "__main__":
    sys.exit(main())
