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
2. Management: shows the entries and digests, signs, commits, raises the floor to 2.
3. Runtime: the new kernel's entry, unseals the same secret (the state signed in step 2, no
   reseal), floor 2 checked; the old signed policy put back is refused (below the floor).
A power cut after each step of sll-manage (sysrq b; a control disk names the step) leaves a
disk that boots the old runtime (before the policy step) or the new one, which unseals.
Refused: a changed management initrd on the disk (slinit refuses the entry, the runtime
boots); a management entry the admin signed for another initrd (launched, but the TPM refuses
the KEK: nothing changes); the staged kernel before approval (the staged policy put in place
unsigned is refused; sl.entry= cannot name it)."""
import concurrent.futures
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

from sll_test.checks import Checks
from sll_test.e2e import boot, build_runtime, variant_kernel
from sll_test.paths import BUILD, ROOT, RUNTIME, SLL_SEAL, SLPOLICY
from sll_test.pcr import drtm_pcr17, zero
from sll_test.staging import Stage, predict
from sll_test.swtpm import SwTpm

SIGNED_IMAGE = os.path.join(BUILD, "sll-signed.efi")
SLL_MANAGE = os.path.join(ROOT, "tools", "sll-manage")
HOOK = os.path.join(ROOT, "tools", "kernel-hook", "sll-kernel-hook")
REQUEST, FLOOR = "0x01500100", "0x01500120"
SECRET, KEK = "0x81000101", "0x81000110"
STATE_PCRS, KEK_PCRS = "sha256:17,18,21,22", "sha256:17,18,19,22"
STAGED = "/boot/slaunch/policy.json.staged"
RUNTIME_CMDLINE = ("console=ttyS0 panic=-1 sll.test=1 sll.boot_partition=/dev/vda1 "
                   f"sll.unseal={SECRET} sll.unseal_pcrs={STATE_PCRS} "
                   "sll.unseal_signed=/boot/slaunch/signed "
                   f"sll.request_management={REQUEST}:{STAGED} "
                   f"sll.try_unseal={KEK}@{KEK_PCRS}")
MANAGE_CMDLINE = ("console=ttyS0 panic=-1 sll.test=1 sll.role=management "
                  f"sll.manage=/dev/vda1 sll.manage_yes sll.manage_raise_floor={FLOOR}")
BANKS = ("sha1", "sha256")
LOGS = os.path.join(BUILD, "test-logs", "e2e-manage-upgrade")
STEPS = ("states", "sig-both", "policy", "sig-new")
NEW_ENTRY = "linux-6.1.0-2"

t = Checks()


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, **kw)


def openssl(*args):
    return run(["openssl", *args], check=True)


def pad4(data):
    return data + bytes(-len(data) % 4)


def launched(b):
    """The entry slinit launched, from its line `entry "NAME": kernel ... loaded`."""
    m = re.search(r'^slinit: entry "([^"]+)": kernel \S+ loaded', b.log, re.M)
    return m.group(1) if m else None


def manage_lines(b):
    return [x[len("sll-runtime: manage: "):] for x in b.log.splitlines()
            if x.startswith("sll-runtime: manage: ")]


class Machine:
    """A boot disk and a swtpm state, copied for each scenario."""

    def __init__(self, disk, state):
        self.disk, self.state = disk, state

    def copy(self, dest):
        os.makedirs(dest)
        shutil.copy(self.disk, os.path.join(dest, "disk.img"))
        shutil.copytree(self.state, os.path.join(dest, "tpm"))
        return Machine(os.path.join(dest, "disk.img"), os.path.join(dest, "tpm"))

    def boot(self, name, append="", drives=()):
        b = boot(os.path.join(LOGS, name + ".log"), disk=self.disk, banks=BANKS,
                 tpm_state=self.state, image=SIGNED_IMAGE, timeout=300, append=append,
                 drives=drives)
        print(f"---- {name} (serial log: {os.path.relpath(b_log(name), ROOT)})")
        return b

    def read(self, path):
        """A file of the disk's FAT partition (mtools), or None."""
        r = run(["mtype", "-i", self.disk + "@@1M", "::" + path])
        return r.stdout if r.returncode == 0 else None

    def write(self, path, data, tmp):
        src = os.path.join(tmp, "mcopy.bin")
        with open(src, "wb") as f:
            f.write(data)
        run(["mcopy", "-o", "-i", self.disk + "@@1M", src, "::" + path], check=True)


def b_log(name):
    return os.path.join(LOGS, name + ".log")


def control_disk(tmp, step):
    path = os.path.join(tmp, f"cut-{step}.img")
    with open(path, "wb") as f:
        data = f"cut {step}\n".encode()
        f.write(data + bytes((1 << 20) - len(data)))
    return path


def provision(tmp, kernel, combined, manage_img, keys, image):
    """The stage, the TPM and the disk as the admin leaves them (see the docstring)."""
    s = Stage(os.path.join(tmp, "stage"))
    s.put("/vmlinuz-6.1.0-1", kernel)
    s.put("/initrd.img-6.1.0-1", combined)
    s.put("/vmlinuz-manage", kernel)
    s.put("/manage.img", manage_img)
    r = run([SLPOLICY, "new", "--root", s.dir, "--kernel", "/vmlinuz-6.1.0-1", "--initrd",
             "/initrd.img-6.1.0-1", "--cmdline", RUNTIME_CMDLINE, "--name", "debian",
             "--management-kernel", "/vmlinuz-manage", "--management-initrd",
             "/initrd.img-6.1.0-1", "--management-initrd", "/manage.img",
             "--management-cmdline", MANAGE_CMDLINE, "--management-name", "manage",
             "--management-request-nv", REQUEST], check=True)
    policy = json.loads(r.stdout)
    policy["anti_rollback"] = {"nv_index": FLOOR}
    s.put_policy(policy)
    live = s.dir + "/slaunch/policy.json"
    run([SLPOLICY, "sign", "--key", keys["ed.pem"], live], check=True)
    s.files["/slaunch/policy.json.sig"] = open(live + ".sig", "rb").read()
    p17 = drtm_pcr17("sha256", image).hex()
    pcr_args = ["--bank", "sha256", "--pcr", "17=" + p17, "--pcr", "18=" + zero("sha256").hex(),
                "--format", "tpm2"]

    def values(name, entry, pcrs):
        r = predict(live, s.dir, "--entry", entry, "--pcrs", pcrs, "--pubkey", keys["ed.pub"],
                    *pcr_args)
        t.check(r.returncode == 0, f"provision: slpolicy predict --entry {entry}",
                r.stderr.decode())
        path = os.path.join(tmp, name)
        with open(path, "wb") as f:
            f.write(r.stdout)
        return path

    state = os.path.join(tmp, "tpm")
    secret = os.urandom(48)
    with SwTpm(state, BANKS) as tpm:
        for index, attrs in ((REQUEST, "ownerread|ownerwrite|authread|authwrite"),
                             (FLOOR, "ownerwrite|ownerread|authread|no_da")):
            tpm.tool("tpm2_nvdefine", index, "-C", "o", "-s", "8", "-a", attrs)
        floor = os.path.join(tmp, "floor.bin")
        with open(floor, "wb") as f:
            f.write((1).to_bytes(8, "big"))
        tpm.tool("tpm2_nvwrite", FLOOR, "-C", "o", "-i", floor)
        r = tpm.tool(SLL_SEAL, "seal", "--authorize", keys["rsa.pub"], "--handle", SECRET,
                     input=secret)
        t.check(r.returncode == 0, "provision: the disk secret sealed under the state key",
                r.stderr.decode())
        signed = os.path.join(tmp, "serial1-debian")
        r = tpm.tool(SLL_SEAL, "sign", "--key", keys["rsa.pem"], "--pcrs", STATE_PCRS,
                     "--values", values("runtime.values", "debian", "17,18,21,22"),
                     "--out", signed)
        t.check(r.returncode == 0, "provision: the current state signed", r.stderr.decode())
        for ext in (".policy", ".sig"):
            s.put("/slaunch/signed/serial1-debian" + ext, open(signed + ext, "rb").read())
        s.put("/slaunch/signed/key.pub.pem", open(keys["rsa.pub"], "rb").read())
        env = dict(tpm.env, PATH=os.path.join(ROOT, "tools") + ":" + os.environ["PATH"])
        out = os.path.join(tmp, "approval.keys")
        r = run([SLL_MANAGE, "enroll", "--handle", KEK, "--pcrs", KEK_PCRS, "--values",
                 values("manage.values", "manage", "17,18,19,22"), "--policy-key",
                 keys["ed.pem"], "--state-key", keys["rsa.pem"], "--out", out], env=env)
        for what in ("-t", "-l", "-s"):
            run(["tpm2_flushcontext", what], env=env)
        t.check(r.returncode == 0, "provision: sll-manage enroll", r.stderr.decode())
        s.put("/slaunch/approval.keys", open(out, "rb").read())

    # A new kernel installed: the hook stages the policy that allows it.
    s.put("/vmlinuz-6.1.0-2", variant_kernel(kernel))
    s.put("/initrd.img-6.1.0-2", combined + bytes(4))
    conf = os.path.join(tmp, "kernel-hook.conf")
    with open(conf, "w") as f:
        f.write(f"BOOT={s.dir}\n")
    env = dict(os.environ, SLL_KERNEL_HOOK_CONF=conf,
               PATH=BUILD + ":" + os.path.join(ROOT, "tools") + ":" + os.environ["PATH"])
    r = run([HOOK, "6.1.0-2", s.dir + "/vmlinuz-6.1.0-2"], env=env)
    staged = s.dir + "/slaunch/policy.json.staged"
    t.check(os.path.exists(staged) and f'new entry "{NEW_ENTRY}"' in r.stderr.decode(),
            "the kernel hook staged a policy with the new kernel's entry",
            r.stderr.decode()[-400:])
    t.check(f"| tpm2_nvwrite {REQUEST} -i - && reboot (sll-manage approve signs the policy"
            in r.stderr.decode(), "the kernel hook says how to request the management "
            "environment", r.stderr.decode()[-400:])
    s.files["/slaunch/policy.json.staged"] = open(staged, "rb").read()
    disk = s.disk(os.path.join(tmp, "disk.img"), size_mb=128)
    return s, Machine(disk, state), hashlib.sha256(secret).hexdigest()


def check_runtime(name, b, want_secret, entry):
    t.check(launched(b) == entry and b.kexeced and b.failed_line() is None,
            f"{name}: entry \"{entry}\" launched ({launched(b)}; {b.failed_line()})")
    t.check(b.unsealed == want_secret, f"{name}: the runtime OS unsealed its secret",
            "; ".join(b.unseal_errors))


def first_boot(tmp, m0, want):
    m = m0.copy(os.path.join(tmp, "main"))
    b1 = m.boot("1-runtime")
    check_runtime("1 runtime", b1, want, "debian")
    t.check(f"sll-runtime: try-unseal {KEK}: refused: " in b1.log and
            "a policy check failed" in b1.log,
            "1 runtime: its attempt at the approval KEK fails in the TPM (policy check)")
    t.check("sll-runtime: management requested" in b1.log,
            "1 runtime: saw the staged policy, requested the management environment")
    return m


def upgrade(tmp, m, s, want):
    b2 = m.boot("2-management")
    lines = manage_lines(b2)
    text = "\n".join(lines)
    new_kernel = hashlib.sha256(s.read("/vmlinuz-6.1.0-2")).hexdigest()
    t.check(launched(b2) == "manage" and "slinit: management environment requested" in b2.log,
            f"2 management: the requested management entry launched ({launched(b2)})")
    t.check("staged upgrade: /boot/slaunch/policy.json.staged, serial 1 -> 2" in text and
            f"/vmlinuz-6.1.0-2 sha256:{new_kernel} (allowed)" in text and
            f'entry "{NEW_ENTRY}" (runtime)' in text and
            any(x.startswith("sll-manage: | +") and "vmlinuz-6.1.0-2" in x for x in lines),
            "2 management: showed the new entry, its kernel's digest and the changes",
            text[:800])
    t.check(all(f"step {x} done" in text for x in STEPS + ("floor",)) and
            "exit 0" in lines[-1:] and "raised the anti-rollback floor 0x01500120 to 2" in text,
            "2 management: every step done, floor raised, exit 0", text[-600:])
    live, sig = m.read("/slaunch/policy.json"), m.read("/slaunch/policy.json.sig")
    t.check(live == s.files["/slaunch/policy.json.staged"] and sig is not None and
            len(sig) == 64 and m.read("/slaunch/policy.json.staged") is None,
            "2 management: the staged policy is live, with one signature")

    b3 = m.boot("3-runtime")
    check_runtime("3 runtime (new kernel)", b3, want, NEW_ENTRY)
    t.check("slinit: anti-rollback: serial 2 >= floor 2" in b3.log and
            "management requested" not in b3.log,
            "3 runtime: the floor is 2; nothing staged, no request")

    # The attacker puts back the old signed policy: below the floor.
    m.write("/slaunch/policy.json", s.files["/slaunch/policy.json"], tmp)
    m.write("/slaunch/policy.json.sig", s.files["/slaunch/policy.json.sig"], tmp)
    b4 = m.boot("4-old-policy")
    t.check(not b4.kexeced and b4.failed_line() is not None and
            "serial 1 is below the anti-rollback floor 2" in b4.failed_line(),
            f"4: the old signed policy put back is refused ({b4.failed_line()})")


def power_cut(tmp, requested, step, want):
    m = requested.copy(os.path.join(tmp, "cut-" + step))
    b = m.boot(f"cut-{step}-management", drives=[control_disk(tmp, step)])
    text = "\n".join(manage_lines(b))
    t.check(f"sll-runtime: power cut after step {step}" in b.log and
            f"step {step} done" in text and "approved:" not in text,
            f"cut after {step}: the management environment lost power right after it")
    b = m.boot(f"cut-{step}-runtime")
    new = STEPS.index(step) >= STEPS.index("policy")
    check_runtime(f"cut after {step}: the next boot", b, want, NEW_ENTRY if new else "debian")


def tampered(tmp, requested, s, keys):
    # A changed management initrd on the disk: refused by slinit, the runtime boots.
    m = requested.copy(os.path.join(tmp, "tampered-disk"))
    m.write("/manage.img", s.files["/manage.img"] + bytes(512), tmp)
    b = m.boot("tampered-disk")
    t.check('slinit: management entry "manage" refused: initrd /manage.img: digest' in b.log
            and launched(b) == "debian",
            f"a changed management initrd: refused by slinit, the runtime booted ({launched(b)})")

    # A management entry the admin signed for another initrd: launched, the KEK refused.
    m = requested.copy(os.path.join(tmp, "other-manage"))
    other = json.loads(s.files["/slaunch/policy.json"])
    m.write("/manage.img", s.files["/manage.img"] + bytes(512), tmp)
    digest = hashlib.sha256(s.files["/manage.img"] + bytes(512)).hexdigest()
    for e in other["entries"]:
        if e.get("role") == "management":
            e["allow"]["initrd"][1] = ["sha256:" + digest]
    path = os.path.join(tmp, "other.json")
    with open(path, "w") as f:
        json.dump(other, f, indent=1)
    run([SLPOLICY, "sign", "--key", keys["ed.pem"], path], check=True)
    m.write("/slaunch/policy.json", open(path, "rb").read(), tmp)
    m.write("/slaunch/policy.json.sig", open(path + ".sig", "rb").read(), tmp)
    b = m.boot("other-manage")
    text = "\n".join(manage_lines(b))
    t.check(launched(b) == "manage" and "a policy check failed" in text and
            "does not unseal: this is not the enrolled management launch" in text and
            "exit 1" in text, "another management initrd, signed: launched, the TPM refuses "
            "the approval KEK", text[-500:])
    t.check(m.read("/slaunch/policy.json.staged") is not None and
            m.read("/slaunch/policy.json") == open(path, "rb").read(),
            "... and nothing on the disk changed")

    # The staged kernel before approval.
    m = requested.copy(os.path.join(tmp, "unapproved"))
    m.write("/slaunch/policy.json", s.files["/slaunch/policy.json.staged"], tmp)
    b = m.boot("unapproved-staged-in-place")
    t.check(not b.kexeced and b.failed_line() is not None and
            "signature does not match the policy and the built-in key" in b.failed_line(),
            f"the staged policy put in place unsigned: refused ({b.failed_line()})")
    m = requested.copy(os.path.join(tmp, "unapproved-entry"))
    b = m.boot("unapproved-sl-entry", append="sl.entry=" + NEW_ENTRY)
    t.check(not b.kexeced and f'no entry is named "{NEW_ENTRY}"' in (b.failed_line() or ""),
            f"sl.entry={NEW_ENTRY} before approval: not launched "
            f"({launched(b)}; {b.failed_line()})")


def main():
    os.makedirs(LOGS, exist_ok=True)
    kernel, initrd = build_runtime()
    parts = []
    for name in ("initrd.img", "tpm2-tools.img", "luks.img"):
        with open(os.path.join(RUNTIME, name), "rb") as f:
            parts.append(pad4(f.read()))
    combined = b"".join(parts)
    with open(os.path.join(RUNTIME, "manage.img"), "rb") as f:
        manage_img = f.read()
    with tempfile.TemporaryDirectory() as tmp:
        keys = {n: os.path.join(tmp, n) for n in ("ed.pem", "ed.pub", "rsa.pem", "rsa.pub")}
        openssl("genpkey", "-algorithm", "ed25519", "-out", keys["ed.pem"])
        openssl("pkey", "-in", keys["ed.pem"], "-pubout", "-out", keys["ed.pub"])
        openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                "-out", keys["rsa.pem"])
        openssl("pkey", "-in", keys["rsa.pem"], "-pubout", "-out", keys["rsa.pub"])
        subprocess.run([os.path.join(ROOT, "build.sh"), "kernel", "image"], check=True,
                       env=dict(os.environ, IMAGE_VARIANT="signed", POLICY_PUBKEY=keys["ed.pub"]),
                       stdout=subprocess.DEVNULL)
        with open(SIGNED_IMAGE, "rb") as f:
            image = f.read()
        s, m0, want = provision(tmp, kernel, combined, manage_img, keys, image)
        m = first_boot(tmp, m0, want)
        requested = m.copy(os.path.join(tmp, "requested"))
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            jobs = [pool.submit(upgrade, tmp, m, s, want)]
            jobs += [pool.submit(power_cut, tmp, requested, step, want) for step in STEPS]
            jobs.append(pool.submit(tampered, tmp, requested, s, keys))
            for j in jobs:
                j.result()
    return t.summary()


if __name__ == "__main__":
    sys.exit(main())
