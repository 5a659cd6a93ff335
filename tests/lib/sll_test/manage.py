"""The management environment's upgrade scenario, shared by tests/e2e/test-manage-upgrade.py
and make demo-upgrade: the admin's provisioning (keys, a signed image, policy, TPM, enrollment,
a staged kernel), then boots of one disk and one swtpm state in QEMU."""
import hashlib
import json
import os
import re
import shutil
import subprocess

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
# No sll.manage_yes: sll-manage asks on the console, and the boot answers (APPROVE).
MANAGE_CMDLINE = ("console=ttyS0 panic=-1 sll.test=1 sll.role=management "
                  f"sll.manage=/dev/vda1 sll.manage_raise_floor={FLOOR}")
PROMPT = "Type yes and Enter: "
APPROVE = [(PROMPT, "yes\r")]
BANKS = ("sha1", "sha256")
STEPS = ("states", "sig-both", "policy", "sig-new")
NEW_ENTRY = "linux-6.1.0-2"


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


def manage_text(b):
    """What sll-manage printed on the console."""
    return "\n".join(x for x in b.log.splitlines() if x.startswith("sll-manage: "))


def manage_exit(b):
    m = re.search(r"^sll-runtime: manage: exit (\d+)$", b.log, re.M)
    return int(m.group(1)) if m else None


def make_keys(tmp):
    """The admin's policy key (Ed25519) and state key (RSA), PEM, with their public parts."""
    keys = {n: os.path.join(tmp, n) for n in ("ed.pem", "ed.pub", "rsa.pem", "rsa.pub")}
    openssl("genpkey", "-algorithm", "ed25519", "-out", keys["ed.pem"])
    openssl("pkey", "-in", keys["ed.pem"], "-pubout", "-out", keys["ed.pub"])
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
            "-out", keys["rsa.pem"])
    openssl("pkey", "-in", keys["rsa.pem"], "-pubout", "-out", keys["rsa.pub"])
    return keys


def signed_image(keys):
    """build/sll-signed.efi with the policy key built in (incremental); its bytes."""
    subprocess.run([os.path.join(ROOT, "build.sh"), "kernel", "image"], check=True,
                   env=dict(os.environ, IMAGE_VARIANT="signed", POLICY_PUBKEY=keys["ed.pub"]),
                   stdout=subprocess.DEVNULL)
    with open(SIGNED_IMAGE, "rb") as f:
        return f.read()


def runtime_files():
    """Debian's kernel; one initrd with the runtime's tools (the test initrd, tpm2-tools.img
    and luks.img concatenated, as Debian has one initrd a kernel); manage.img."""
    kernel, _ = build_runtime()
    parts = []
    for name in ("initrd.img", "tpm2-tools.img", "luks.img"):
        with open(os.path.join(RUNTIME, name), "rb") as f:
            parts.append(pad4(f.read()))
    with open(os.path.join(RUNTIME, "manage.img"), "rb") as f:
        return kernel, b"".join(parts), f.read()


def control_disk(tmp, step):
    """The disk sll-test-cut reads in the management environment: cut the power after STEP."""
    path = os.path.join(tmp, f"cut-{step}.img")
    with open(path, "wb") as f:
        data = f"cut {step}\n".encode()
        f.write(data + bytes((1 << 20) - len(data)))
    return path


class Machine:
    """A boot disk and a swtpm state, copied for each scenario."""

    def __init__(self, disk, state):
        self.disk, self.state = disk, state

    def copy(self, dest):
        os.makedirs(dest)
        shutil.copy(self.disk, os.path.join(dest, "disk.img"))
        shutil.copytree(self.state, os.path.join(dest, "tpm"))
        return Machine(os.path.join(dest, "disk.img"), os.path.join(dest, "tpm"))

    def boot(self, logs, name, append="", drives=(), answers=()):
        log = os.path.join(logs, name + ".log")
        print(f"---- {name} (serial log: {os.path.relpath(log, ROOT)})", flush=True)
        return boot(log, disk=self.disk, banks=BANKS, tpm_state=self.state, image=SIGNED_IMAGE,
                    timeout=300, append=append, drives=drives, answers=answers)

    def read(self, path):
        """A file of the disk's FAT partition (mtools), or None."""
        r = run(["mtype", "-i", self.disk + "@@1M", "::" + path])
        return r.stdout if r.returncode == 0 else None

    def write(self, path, data, tmp):
        src = os.path.join(tmp, "mcopy.bin")
        with open(src, "wb") as f:
            f.write(data)
        run(["mcopy", "-o", "-i", self.disk + "@@1M", src, "::" + path], check=True)


def provision(tmp, keys, image, check):
    """The stage, the TPM and the disk as the admin leaves them: policy serial 1 signed, the
    disk secret sealed to signed states, the approval keys enrolled, a new kernel staged by
    the kernel hook. check(cond, what, detail) reports each step. Returns the stage, the
    Machine, the secret's sha256 and the hook's output."""
    kernel, combined, manage_img = runtime_files()
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
        check(r.returncode == 0, f"provision: slpolicy predict --entry {entry}",
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
        check(r.returncode == 0, "provision: the disk secret sealed under the state key",
              r.stderr.decode())
        signed = os.path.join(tmp, "serial1-debian")
        r = tpm.tool(SLL_SEAL, "sign", "--key", keys["rsa.pem"], "--pcrs", STATE_PCRS,
                     "--values", values("runtime.values", "debian", "17,18,21,22"),
                     "--out", signed)
        check(r.returncode == 0, "provision: the current state signed", r.stderr.decode())
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
        check(r.returncode == 0, "provision: sll-manage enroll", r.stderr.decode())
        s.put("/slaunch/approval.keys", open(out, "rb").read())

    # A new kernel installed: the hook stages the policy that allows it.
    s.put("/vmlinuz-6.1.0-2", variant_kernel(kernel))
    s.put("/initrd.img-6.1.0-2", combined + bytes(4))
    conf = os.path.join(tmp, "kernel-hook.conf")
    with open(conf, "w") as f:
        f.write(f"BOOT={s.dir}\nSTATE={tmp}/kernel-hook-state\n")
    env = dict(os.environ, SLL_KERNEL_HOOK_CONF=conf,
               PATH=BUILD + ":" + os.path.join(ROOT, "tools") + ":" + os.environ["PATH"])
    r = run([HOOK, "6.1.0-2", s.dir + "/vmlinuz-6.1.0-2"], env=env)
    staged = s.dir + "/slaunch/policy.json.staged"
    check(os.path.exists(staged) and f'new entry "{NEW_ENTRY}"' in r.stderr.decode(),
          "the kernel hook staged a policy with the new kernel's entry",
          r.stderr.decode()[-400:])
    check(f"| tpm2_nvwrite {REQUEST} -i - && reboot (sll-manage approve signs the policy"
          in r.stderr.decode(), "the kernel hook says how to request the management "
          "environment", r.stderr.decode()[-400:])
    s.files["/slaunch/policy.json.staged"] = open(staged, "rb").read()
    disk = s.disk(os.path.join(tmp, "disk.img"), size_mb=128)
    return s, Machine(disk, state), hashlib.sha256(secret).hexdigest(), r.stderr.decode()
