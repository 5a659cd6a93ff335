"""Shared pieces of the QEMU end-to-end tests: a boot partition staged in a temp dir, the boot
disk, a boot of build/sll.efi under QEMU + swtpm (simulated DRTM), the runtime OS's report,
and PCR values computed here with hashlib, independently of the C code."""
import base64
import contextlib
import hashlib
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, "build")
SLPOLICY = os.path.join(BUILD, "slpolicy")
IMAGE = os.path.join(BUILD, "sll.efi")
RUNTIME = os.path.join(BUILD, "runtime")
sys.path.insert(0, os.path.join(ROOT, "tests"))
from checks import Checks  # noqa: E402,F401  (the e2e tests take it from here)


def build_runtime():
    subprocess.run([os.path.join(ROOT, "tests", "e2e", "runtime", "make-runtime.sh"), RUNTIME],
                   check=True, stdout=subprocess.DEVNULL)
    with open(os.path.join(RUNTIME, "vmlinuz"), "rb") as f:
        kernel = f.read()
    with open(os.path.join(RUNTIME, "initrd.img"), "rb") as f:
        initrd = f.read()
    return kernel, initrd


def h(alg, data):
    return hashlib.new(alg, data).digest()


def chain(alg, start, digests):
    value = start
    for d in digests:
        value = hashlib.new(alg, value + d).digest()
    return value


def zero(alg):
    return bytes(hashlib.new(alg).digest_size)


def drtm_pcr17(alg, image):
    """What the DCE leaves in PCR 17: H(0 || H(SL image))."""
    return chain(alg, zero(alg), [h(alg, image)])


def launch_pcr22(alg, objects, cmdline, start=None):
    """PCR 22 after kernel, initrds, cmdline and the separator (DESIGN section 3)."""
    digests = [h(alg, o) for o in objects] + [h(alg, cmdline.encode()), h(alg, b"\0\0\0\0")]
    return chain(alg, zero(alg) if start is None else start, digests)


FAILURE = b"\0\0\0\1"


class Stage:
    """The contents of a boot partition, in a directory."""

    def __init__(self, tmp):
        self.dir = os.path.join(tmp, "boot")
        os.makedirs(os.path.join(self.dir, "slaunch"), exist_ok=True)
        self.files = {}

    def put(self, path, data):
        full = self.dir + path
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as f:
            f.write(data)
        self.files[path] = data

    def read(self, path):
        return self.files[path]

    def slpolicy_new(self, kernel, initrds, cmdline, name="debian", banks=("sha256",)):
        args = [SLPOLICY, "new", "--root", self.dir, "--kernel", kernel, "--cmdline", cmdline,
                "--name", name]
        for i in initrds:
            args += ["--initrd", i]
        for b in banks:
            args += ["--bank", b]
        return json.loads(subprocess.run(args, check=True, capture_output=True).stdout)

    def put_policy(self, policy, path="/slaunch/policy.json"):
        data = policy if isinstance(policy, bytes) else json.dumps(policy, indent=1).encode()
        self.put(path, data)
        return data

    def predict(self, banks, entry=None, path="/slaunch/policy.json", pubkey=None):
        args = [SLPOLICY, "predict", self.dir + path, "--root", self.dir, "--format", "json",
                "--policy-path", path] + (["--pubkey", pubkey] if pubkey else [])
        for b in banks:
            args += ["--bank", b]
        if entry:
            args += ["--entry", entry]
        out = subprocess.run(args, check=True, capture_output=True).stdout
        return {alg: {int(k): v for k, v in pcrs.items()} for alg, pcrs in json.loads(out).items()}

    def predict_sealing(self, pcr17, pcr18, fmt="tpm2", entry=None,
                        path="/slaunch/policy.json"):
        """slpolicy predict's sealing set (sha256: 17, 18, 21, 22) in a tool's format (bytes)."""
        args = [SLPOLICY, "predict", self.dir + path, "--root", self.dir, "--policy-path", path,
                "--bank", "sha256", "--pcr", "17=" + pcr17.hex(), "--pcr", "18=" + pcr18.hex(),
                "--format", fmt] + (["--entry", entry] if entry else [])
        return subprocess.run(args, check=True, capture_output=True).stdout

    def disk(self, image_path, label="SLBOOT", size_mb=64, fs="vfat", symlinks=(),
             esp_files=(), fat32=False):
        """symlinks: (path, target) pairs, ext4 only. esp_files: (file, path) pairs for the
        EFI system partition: the same FAT partition, or with fs="ext4" an ESP of its own."""
        args = [os.path.join(ROOT, "tests", "e2e", "make-boot-disk.sh"), image_path,
                "--label", label, "--size-mb", str(size_mb), "--fs", fs]
        for path, target in symlinks:
            args += ["--symlink", f"{path}={target}"]
        for src, dest in esp_files:
            args += ["--esp-file", f"{src}={dest}"]
        if fat32:
            args += ["--fat32"]
        args += [f"{self.dir}{p}={p}" for p in sorted(self.files)]
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
        return image_path


class Boot:
    """One boot of sll.efi and what its serial console showed."""

    def __init__(self, log_path, returncode):
        with open(log_path, "rb") as f:
            self.log = f.read().decode("utf-8", "replace").replace("\r", "")
        self.returncode = returncode
        self.pcrs = {}
        for alg, pcr, value in re.findall(r"^sll-runtime: pcr (\w+) (\d+) ([0-9a-f]+)$", self.log,
                                          re.M):
            self.pcrs.setdefault(alg, {})[int(pcr)] = value
        m = re.search(r"^sll-runtime: eventlog-begin\n(.*?)^sll-runtime: eventlog-end$",
                      self.log, re.M | re.S)
        self.eventlog = base64.b64decode("".join(m.group(1).split())) if m else None

    @property
    def kexeced(self):
        return "sll-runtime: booted" in self.log or "kexec_core: Starting new kernel" in self.log

    @property
    def unsealed(self):
        """The sha256 of the secret the runtime OS unsealed (hex), or None."""
        m = re.search(r"^sll-runtime: unseal ok sha256 ([0-9a-f]{64})$", self.log, re.M)
        return m.group(1) if m else None

    @property
    def unseal_errors(self):
        """The lines the failed unseal printed (tpm2-tools' and sll-seal's)."""
        return re.findall(r"^sll-runtime: unseal-error (.*)$", self.log, re.M)

    def failed_line(self):
        m = re.search(r"^slinit: FAILED: .*$", self.log, re.M)
        return m.group(0) if m else None


def boot(log_path, disk=None, banks=("sha1", "sha256"), append="", tpm=True, drtm=True,
         timeout=180, image=IMAGE, tpm_state=None, drives=(), harness_args=(), qemu_args=(),
         uefi=False):
    """uefi: OVMF boots the disk's EFI/BOOT/BOOTX64.EFI (which must be image) with the
    image's built-in command line only; otherwise QEMU's -kernel with append (of which the
    image keeps only the sl.* words)."""
    args = [os.path.join(ROOT, "tests", "harness", "boot-qemu.sh"), "--kernel", image,
            "--log", log_path, "--banks", ",".join(banks), "--timeout", str(timeout)]
    if uefi:
        args += ["--uefi"]
    else:
        # Without sl.boot=, slinit waits all of sl.boot_timeout for a second partition holding
        # the policy; QEMU's disks are there from the start, so the tests wait 1 s, not 10.
        wait = "" if re.search(r"(^| )sl\.boot(_timeout)?=", append) else " sl.boot_timeout=1"
        args += ["--append", ("sl.halt_delay=0" + wait + " " + append).strip()]
    if disk:
        args += ["--drive", disk]
    if not tpm:
        args += ["--no-tpm"]
    if not drtm:
        args += ["--no-drtm"]
    if tpm_state:
        args += ["--tpm-state", tpm_state]
    for d in drives:
        args += ["--drive", d]
    args += list(harness_args)
    if qemu_args:
        args += ["--", *qemu_args]
    r = subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return Boot(log_path, r.returncode)


@contextlib.contextmanager
def host_tpm(state, banks=("sha1", "sha256")):
    """The swtpm state a later boot(tpm_state=state) uses, served to tpm2-tools on the host
    (what an admin does on the machine before it boots), by tests/tpm/swtpm_host.py. Yields a
    function running one tpm2-tools command; the state is saved when the block ends."""
    sys.path.insert(0, os.path.join(ROOT, "tests", "tpm"))
    from swtpm_host import SwTpm
    with SwTpm(state, banks) as t:
        def tpm2(*args, check=True, stdin=None):
            return subprocess.run([f"tpm2_{args[0]}", *args[1:]], env=t.env, check=check,
                                  capture_output=True, input=stdin)
        yield tpm2


SLL_SEAL = os.path.join(ROOT, "tools", "sll-seal")


def seal_before_boot(state_dir, values, pcrs, handle, secret, banks=("sha1", "sha256")):
    """On the host, before any boot: a new swtpm state in state_dir (the one the boot will use)
    with secret sealed at the persistent handle to the PCR values in the file values (from
    slpolicy predict --format tpm2), by tools/sll-seal. Returns sll-seal's result."""
    sys.path.insert(0, os.path.join(ROOT, "tests", "tpm"))
    from swtpm_host import SwTpm
    with SwTpm(state_dir, banks) as tpm:
        return tpm.tool(SLL_SEAL, "seal", "--pcrs", pcrs, "--values", values, "--handle",
                        handle, input=secret)


def variant_kernel(kernel, mark=b"D"):
    """The same bzImage with one character of its version string (in the setup header, which
    only boot loaders read) replaced by mark: it boots the same but hashes differently."""
    off = int.from_bytes(kernel[0x20E:0x210], "little") + 0x200
    i = kernel.index(b"debian-kernel@", off)
    return kernel[:i] + mark + kernel[i + 1:]
