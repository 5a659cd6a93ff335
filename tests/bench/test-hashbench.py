#!/usr/bin/env python3
"""The benchmark's tools work: hashbench (slinit's measure_stream, musl and host builds) prints
the digests hashlib computes, for every bank and with the memfd copy; the baseline image's
initramfs list names only files that exist. (The benchmark itself is `make bench`.)"""
import hashlib
import os
import subprocess
import sys
import tempfile

from sll_test.checks import Checks
from sll_test.paths import BUILD, ROOT

BENCH = os.path.join(BUILD, "bench")
t = Checks()
check = t.check

subprocess.run(["make", "-C", ROOT, "--no-print-directory", "bench-tools"], check=True,
               stdout=subprocess.DEVNULL)
with tempfile.TemporaryDirectory() as tmp:
    # Lengths around the 64 KiB read buffer and the hash block sizes.
    for size in (0, 1, 55, 64, 111, 128, 65535, 65536, 65537, 3 * 65536 + 17):
        path = os.path.join(tmp, "f")
        data = os.urandom(size)
        with open(path, "wb") as f:
            f.write(data)
        for prog in ("hashbench-musl", "hashbench-host"):
            for memfd in ([], ["--memfd"]):
                out = subprocess.run([os.path.join(BENCH, prog)] + memfd +
                                     ["--repeat", "1", "sha1,sha256,sha384,sha512", path],
                                     check=True, capture_output=True, text=True).stdout.split()
                got = dict(d.split(":") for d in out[4:])
                want = {a: hashlib.new(a, data).hexdigest()
                        for a in ("sha1", "sha256", "sha384", "sha512")}
                check(out[1] == str(size) and got == want,
                      f"{prog} {' '.join(memfd)} {size} bytes: digests = hashlib")
    lst = os.path.join(tmp, "baseline.list")
    subprocess.run([os.path.join(ROOT, "tests", "bench", "make-baseline-list.sh"), lst],
                   check=True)
    files = [line.split()[2] for line in open(lst) if line.startswith("file ")]
    check(all(os.path.isfile(f) for f in files) and len(files) > 10,
          f"baseline initramfs list: {len(files)} files, all present")
    names = [line.split()[1] for line in open(lst) if line.startswith(("file ", "slink "))]
    for want in ("/init", "/bin/tpm2", "/bin/kexec", "/bin/sh", "/lib64/ld-linux-x86-64.so.2",
                 "/lib/x86_64-linux-gnu/libtss2-tcti-device.so.0"):
        check(want in names, f"baseline initramfs has {want}")
sys.exit(t.summary())
