"""What the tests stage before they predict or boot: files under a boot directory, the policy
`slpolicy new` makes of them (written where the test reads it) and `slpolicy predict` over it;
for the QEMU tests, a boot partition in a directory (Stage) and the boot disk made of it."""
import json
import os
import subprocess

from sll_test.paths import ROOT, SLPOLICY


def slpolicy(*args, **kw):
    """build/slpolicy ARGS...: the finished process (out and err captured, bytes unless the
    caller passes text=True)."""
    return subprocess.run([SLPOLICY, *args], capture_output=True, **kw)


def put_files(boot, files):
    """files: {"/path": bytes}, written below boot (directories made as needed)."""
    for path, data in files.items():
        full = boot + path
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as f:
            f.write(data)


def new_policy(boot, kernel, initrds=(), cmdline="quiet", banks=(), policy=None, name=None):
    """`slpolicy new --root BOOT --kernel K [--initrd I]... --cmdline C [--bank B]... [--name
    N]`: its output (bytes), also written to the file policy when given. A failing new raises."""
    args = ["new", "--root", boot, "--kernel", kernel]
    for initrd in initrds:
        args += ["--initrd", initrd]
    args += ["--cmdline", cmdline]
    for bank in banks:
        args += ["--bank", bank]
    if name:
        args += ["--name", name]
    out = slpolicy(*args, check=True).stdout
    if policy:
        with open(policy, "wb") as f:
            f.write(out)
    return out


def predict(policy, boot, *args):
    """`slpolicy predict POLICY --root BOOT ARGS...`: the finished process (bytes out and err)."""
    return slpolicy("predict", policy, "--root", boot, *args)


def predict_sealing(boot, policy_path, pcr17, pcr18, fmt="tpm2", entry=None):
    """slpolicy predict's sealing set (sha256: 17, 18, 21, 22) of the policy at policy_path on
    the boot directory, with the launcher's PCR 17 and 18 given, in a tool's format (bytes out;
    a failing predict raises)."""
    r = predict(boot + policy_path, boot, "--policy-path", policy_path, "--bank", "sha256",
                "--pcr", "17=" + pcr17.hex(), "--pcr", "18=" + pcr18.hex(), "--format", fmt,
                *(["--entry", entry] if entry else []))
    r.check_returncode()
    return r.stdout


def random_boot(tmp, name, cmdline):
    """tmp/name as a boot partition: a random /vmlinuz and /initrd.img, and /policy.json.
    Returns the directory, the policy's bytes and the data of slinit's PCR 22 events (kernel,
    initrd, command line, separator)."""
    boot = os.path.join(tmp, name)
    files = {"/vmlinuz": os.urandom(70001), "/initrd.img": os.urandom(3001)}
    put_files(boot, files)
    pol = new_policy(boot, "/vmlinuz", ["/initrd.img"], cmdline,
                     policy=os.path.join(boot, "policy.json"))
    return boot, pol, [files["/vmlinuz"], files["/initrd.img"], cmdline.encode(), b"\0\0\0\0"]


class Stage:
    """The contents of a boot partition, in the directory tmp/boot."""

    def __init__(self, tmp):
        self.dir = os.path.join(tmp, "boot")
        os.makedirs(os.path.join(self.dir, "slaunch"), exist_ok=True)
        self.files = {}

    def put(self, path, data):
        put_files(self.dir, {path: data})
        self.files[path] = data

    def read(self, path):
        return self.files[path]

    def slpolicy_new(self, kernel, initrds, cmdline, name="debian", banks=("sha256",)):
        """The policy `slpolicy new` makes for files of the stage (parsed)."""
        return json.loads(new_policy(self.dir, kernel, initrds, cmdline, banks, name=name))

    def put_launch(self, kernel, initrds, cmdline, name="debian", banks=("sha256",)):
        """The kernel at /vmlinuz and the initrds ({path: bytes} or (path, bytes) pairs, in
        order) on the partition; returns the policy `slpolicy new` makes for them (parsed,
        not put yet)."""
        self.put("/vmlinuz", kernel)
        initrds = dict(initrds)
        for path, data in initrds.items():
            self.put(path, data)
        return self.slpolicy_new("/vmlinuz", list(initrds), cmdline, name=name, banks=banks)

    def put_policy(self, policy, path="/slaunch/policy.json"):
        data = policy if isinstance(policy, bytes) else json.dumps(policy, indent=1).encode()
        self.put(path, data)
        return data

    def predict(self, banks, entry=None, path="/slaunch/policy.json", pubkey=None):
        args = ["--format", "json", "--policy-path", path] + (["--pubkey", pubkey] if pubkey
                                                               else [])
        for b in banks:
            args += ["--bank", b]
        if entry:
            args += ["--entry", entry]
        r = predict(self.dir + path, self.dir, *args)
        r.check_returncode()
        return {alg: {int(k): v for k, v in pcrs.items()}
                for alg, pcrs in json.loads(r.stdout).items()}

    def predict_sealing(self, pcr17, pcr18, fmt="tpm2", entry=None,
                        path="/slaunch/policy.json"):
        """slpolicy predict's sealing set (sha256: 17, 18, 21, 22) in a tool's format (bytes)."""
        return predict_sealing(self.dir, path, pcr17, pcr18, fmt, entry)

    def disk(self, image_path, label="SLBOOT", size_mb=64, fs="vfat", symlinks=(),
             esp_files=(), fat32=False):
        """The boot disk image (tools/make-boot-disk.sh) holding the stage's files.
        symlinks: (path, target) pairs, ext4 only. esp_files: (file, path) pairs for the
        EFI system partition: the same FAT partition, or with fs="ext4" an ESP of its own."""
        args = [os.path.join(ROOT, "tools", "make-boot-disk.sh"), image_path,
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
