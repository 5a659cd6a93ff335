"""What the slpolicy tests stage before they predict: files under a boot directory, the policy
`slpolicy new` makes of them (written where the test reads it) and `slpolicy predict` over it."""
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SLPOLICY = os.path.join(ROOT, "build", "slpolicy")


def put_files(boot, files):
    """files: {"/path": bytes}, written below boot (directories made as needed)."""
    for path, data in files.items():
        full = boot + path
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as f:
            f.write(data)


def new_policy(boot, kernel, initrds=(), cmdline="quiet", banks=(), policy=None):
    """`slpolicy new --root BOOT --kernel K [--initrd I]... --cmdline C [--bank B]...`: its
    output (bytes), also written to the file policy when given. A failing new raises."""
    args = [SLPOLICY, "new", "--root", boot, "--kernel", kernel]
    for initrd in initrds:
        args += ["--initrd", initrd]
    args += ["--cmdline", cmdline]
    for bank in banks:
        args += ["--bank", bank]
    out = subprocess.run(args, capture_output=True, check=True).stdout
    if policy:
        with open(policy, "wb") as f:
            f.write(out)
    return out


def predict(policy, boot, *args):
    """`slpolicy predict POLICY --root BOOT ARGS...`: the finished process (bytes out and err)."""
    return subprocess.run([SLPOLICY, "predict", policy, "--root", boot, *args],
                          capture_output=True)
