"""The QEMU end-to-end tests' boots: the runtime OS (Debian's kernel and a test initrd), a boot
of an SL image under QEMU + swtpm with a simulated DRTM (tests/harness/boot-qemu.sh), what its
serial console showed (the runtime OS's PCRs, event log, unseal), and the host's side of the
TPM a boot then uses."""
import base64
import contextlib
import os
import re
import subprocess

from sll_test.paths import IMAGE, ROOT, RUNTIME, SLL_SEAL
from sll_test.swtpm import SwTpm


def build_runtime():
    subprocess.run([os.path.join(ROOT, "tests", "e2e", "runtime", "make-runtime.sh"), RUNTIME],
                   check=True, stdout=subprocess.DEVNULL)
    with open(os.path.join(RUNTIME, "vmlinuz"), "rb") as f:
        kernel = f.read()
    with open(os.path.join(RUNTIME, "initrd.img"), "rb") as f:
        initrd = f.read()
    return kernel, initrd


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

    def write_eventlog(self, path):
        """The event log the runtime OS was handed (empty if none) into the file path."""
        with open(path, "wb") as f:
            f.write(self.eventlog or b"")
        return path

    def write_pcrs(self, path):
        """The PCRs the runtime OS printed into the file path, as BANK:N=HEX lines (the
        format of slpolicy predict and of slpolicy eventlog --pcrs)."""
        with open(path, "w") as f:
            for alg, pcrs in sorted(self.pcrs.items()):
                for pcr, value in sorted(pcrs.items()):
                    f.write(f"{alg}:{pcr}={value}\n")
        return path


def boot(log_path, disk=None, banks=("sha1", "sha256"), append="", tpm=True, drtm=True,
         timeout=180, image=IMAGE, tpm_state=None, drives=(), harness_args=(), qemu_args=(),
         uefi=False, answers=()):
    """uefi: OVMF boots the disk's EFI/BOOT/BOOTX64.EFI (which must be image) with the
    image's built-in command line only; otherwise QEMU's -kernel with append (of which the
    image keeps only the sl.* words). answers: (text, reply) pairs: once the console shows
    text, reply is typed on it (each once, in order)."""
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
    if not answers:
        r = subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        return Boot(log_path, r.returncode)
    return Boot(log_path, interact(args + ["--interactive"], list(answers)))


def interact(args, answers):
    """Runs the harness with the console on a pipe, typing each answer when its prompt shows
    up; returns the exit status."""
    p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    seen = b""
    while True:
        chunk = os.read(p.stdout.fileno(), 4096)
        if not chunk:
            break
        seen = seen + chunk if answers else b""
        if answers and answers[0][0].encode() in seen:
            try:
                p.stdin.write(answers.pop(0)[1].encode())
                p.stdin.flush()
            except BrokenPipeError:
                pass
            seen = b""
    p.stdin.close()
    return p.wait()


def boot_stage(name, stage, logs, disk_name="disk.img", fs="vfat", **boot_kw):
    """A boot (boot(**boot_kw)) from the boot disk of a Stage (made beside its directory, fs
    its file system), with the serial log logs/NAME.log; the Boot keeps the disk's path
    (b.disk)."""
    disk = stage.disk(os.path.join(os.path.dirname(stage.dir), disk_name), fs=fs)
    log = os.path.join(logs, name + ".log")
    b = boot(log, disk=disk, **boot_kw)
    b.disk = disk
    print(f"---- {name} (serial log: {os.path.relpath(log, ROOT)})")
    return b


@contextlib.contextmanager
def host_tpm(state, banks=("sha1", "sha256")):
    """The swtpm state a later boot(tpm_state=state) uses, served to tpm2-tools on the host
    (what an admin does on the machine before it boots), by SwTpm. Yields a function running
    one tpm2-tools command; the state is saved when the block ends."""
    with SwTpm(state, banks) as t:
        def tpm2(*args, check=True, stdin=None):
            return subprocess.run([f"tpm2_{args[0]}", *args[1:]], env=t.env, check=check,
                                  capture_output=True, input=stdin)
        yield tpm2


def seal_before_boot(state_dir, values, pcrs, handle, secret, banks=("sha1", "sha256")):
    """On the host, before any boot: a new swtpm state in state_dir (the one the boot will use)
    with secret sealed at the persistent handle to the PCR values in the file values (from
    slpolicy predict --format tpm2), by tools/sll-seal. Returns sll-seal's result."""
    with SwTpm(state_dir, banks) as tpm:
        return tpm.tool(SLL_SEAL, "seal", "--pcrs", pcrs, "--values", values, "--handle",
                        handle, input=secret)


def variant_kernel(kernel, mark=b"D"):
    """The same bzImage with one character of its version string (in the setup header, which
    only boot loaders read) replaced by mark: it boots the same but hashes differently."""
    off = int.from_bytes(kernel[0x20E:0x210], "little") + 0x200
    i = kernel.index(b"debian-kernel@", off)
    return kernel[:i] + mark + kernel[i + 1:]
