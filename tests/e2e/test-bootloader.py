#!/usr/bin/env python3
"""e2e: the boot loader cannot choose what runs as PID 1 (DESIGN section 1, docs/security.md).
An attacker who controls the boot loader hands sll.efi an initrd of its own, whose /init and
/evil announce themselves and power off, and puts init=, rdinit= and root= on the command line
(QEMU's -initrd/-append, as GRUB's initrd/linux lines; OVMF's UEFI shell with LoadOptions).
slinit must still be PID 1 and launch or refuse exactly as without them: the runtime OS's PCRs
equal slpolicy predict, a changed kernel is refused with the usual line, and the kernel's
command line holds nothing of the boot loader's but its sl.* words."""
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import tempfile

from sll_test.checks import Checks
from sll_test.e2e import boot, build_runtime
from sll_test.paths import BUILD, IMAGE
from sll_test.staging import Stage

CMDLINE = "console=ttyS0 panic=-1 sll.test=bootloader"
BANKS = ("sha1", "sha256")
LOGS = os.path.join(BUILD, "test-logs", "e2e-bootloader")
EVIL = "EVIL-INIT: the boot loader's program runs as PID 1"
t = Checks()


def evil_initrd(tmp):
    """A newc cpio with busybox, /init and /evil: shell scripts that print EVIL and power off."""
    root = os.path.join(tmp, "evil-root")
    os.makedirs(os.path.join(root, "bin"))
    with open("/bin/busybox", "rb") as src, open(os.path.join(root, "bin", "busybox"), "wb") as d:
        d.write(src.read())
    os.chmod(os.path.join(root, "bin", "busybox"), 0o755)
    for name in ("init", "evil"):
        path = os.path.join(root, name)
        with open(path, "w") as f:
            f.write(f"#!/bin/busybox sh\n/bin/busybox echo '{EVIL} ({name})'\n"
                    "/bin/busybox poweroff -f\n")
        os.chmod(path, 0o755)
    out = os.path.join(tmp, "evil.cpio")
    names = subprocess.run(["find", ".", "-mindepth", "1"], cwd=root, check=True,
                           capture_output=True).stdout
    with open(out, "wb") as f:
        subprocess.run(["cpio", "--quiet", "-o", "-H", "newc", "-R", "0:0"], cwd=root,
                       input=names, stdout=f, check=True)
    return out


def kernel_cmdline(b):
    m = re.search(r"Kernel command line: (.*)$", b.log, re.M)
    return m.group(1) if m else None


def check_no_bootloader_words(name, b):
    line = kernel_cmdline(b)
    t.check(line is not None and not re.search(r"(^| )(rdinit|init|root)=", line),
            f"{name}: the kernel's command line has no init=/rdinit=/root=: {line}")
    t.check(EVIL not in b.log and
            re.search(r"^slinit: Secure Launch init, PID 1$", b.log, re.M) is not None,
            f"{name}: slinit ran as PID 1, the boot loader's program never ran")


def check_launched(name, b, predicted):
    check_no_bootloader_words(name, b)
    t.check(b.failed_line() is None and b.kexeced and
            f"sll-runtime: cmdline {CMDLINE}" in b.log,
            f"{name}: launched the policy's entry", b.failed_line())
    for alg in BANKS:
        got = b.pcrs.get(alg, {})
        t.check(all(got.get(p) == predicted[alg][p] for p in (21, 22)),
                f"{name}: {alg} PCRs 21, 22 equal slpolicy predict")


def main():
    os.makedirs(LOGS, exist_ok=True)
    kernel, initrd = build_runtime()
    with tempfile.TemporaryDirectory() as tmp:
        evil = evil_initrd(tmp)
        s = Stage(tmp)
        s.put_policy(s.put_launch(kernel, {"/initrd.img": initrd}, CMDLINE, banks=BANKS))
        predicted = s.predict(BANKS)
        disk = s.disk(os.path.join(tmp, "disk.img"))
        # The same policy over a changed kernel: must be refused as a tamper row is.
        bad = Stage(os.path.join(tmp, "bad"))
        bad.put("/vmlinuz", kernel[:-1] + bytes([kernel[-1] ^ 1]))
        bad.put("/initrd.img", initrd)
        bad.put_policy(s.read("/slaunch/policy.json"))
        bad_disk = bad.disk(os.path.join(tmp, "bad.img"))

        # UEFI: the EFI Internal Shell starts the image with LoadOptions (as a Boot####
        # entry's, which Secure Boot does not sign) naming an initrd= on the ESP. The image
        # is not at EFI/BOOT/BOOTX64.EFI, so OVMF falls back to its shell and startup.nsh.
        esp = Stage(os.path.join(tmp, "esp"))
        for path in ("/vmlinuz", "/initrd.img", "/slaunch/policy.json"):
            esp.put(path, s.read(path))
        nsh = os.path.join(tmp, "startup.nsh")
        with open(nsh, "w") as f:
            f.write("fs0:\r\n\\sll.efi initrd=\\evil.cpio rdinit=/evil init=/evil sl.debug "
                    "sl.boot_timeout=1 sl.halt_delay=0\r\n")
        esp_disk = esp.disk(os.path.join(tmp, "esp.img"), esp_files=(
            (IMAGE, "/sll.efi"), (nsh, "/startup.nsh"), (evil, "/evil.cpio")))

        cases = {
            "uefi-shell-loadoptions": dict(disk=esp_disk, uefi=True, timeout=300),
            # QEMU's -initrd is GRUB's initrd line: the kernel would unpack it over slinit.
            "external-initrd": dict(disk=disk, harness_args=("--initrd", evil)),
            # rdinit= into that initrd, init= and root= as well; sl.debug must still arrive.
            "rdinit-into-initrd": dict(disk=disk, harness_args=("--initrd", evil),
                                       append="sl.debug rdinit=/evil init=/evil root=/dev/vda1"),
            "init-missing": dict(disk=disk, append="init=/nonexistent rdinit=/nonexistent"),
            # A quoted word that starts with sl. must not carry a parameter past the filter.
            "quoted-smuggle": dict(disk=disk, harness_args=("--initrd", evil),
                                   append='sl.debug" rdinit=/evil"'),
            "changed-kernel": dict(disk=bad_disk, harness_args=("--initrd", evil),
                                   append="rdinit=/evil"),
        }

        def run(name):
            # Its own copy of the disk: QEMU locks a disk image against a second writer.
            kw = dict(cases[name])
            kw["disk"] = os.path.join(tmp, name + ".img")
            shutil.copyfile(cases[name]["disk"], kw["disk"])
            return name, boot(os.path.join(LOGS, name + ".log"), banks=BANKS, **kw)

        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            boots = dict(pool.map(run, cases))

        for name in ("external-initrd", "rdinit-into-initrd", "init-missing", "quoted-smuggle",
                     "uefi-shell-loadoptions"):
            print(f"---- {name}")
            check_launched(name, boots[name], predicted)
        b = boots["uefi-shell-loadoptions"]
        t.check(re.search(r"^Command line: \\sll\.efi initrd=\\evil\.cpio rdinit=/evil", b.log,
                          re.M) is not None and
                re.search(r"^slinit: debug: +\d+ ms: step policy: \d+ ms$", b.log, re.M)
                is not None, "uefi-shell-loadoptions: the shell passed its LoadOptions (the EFI "
                "stub shows them) and their sl.* words still reach slinit")
        b = boots["rdinit-into-initrd"]
        t.check(re.search(r"^slinit: debug: +\d+ ms: step policy: \d+ ms$", b.log, re.M)
                is not None, "rdinit-into-initrd: the boot loader's sl.debug still reaches slinit")
        print("---- changed-kernel")
        b = boots["changed-kernel"]
        check_no_bootloader_words("changed-kernel", b)
        line = b.failed_line()
        t.check(line is not None and re.fullmatch(
            r"slinit: FAILED: debian: kernel /vmlinuz: digest sha256:[0-9a-f]{16}\.\.\. is not "
            r"in allow\.kernel", line) is not None, f"changed-kernel: refused with: {line}")
        t.check(not b.kexeced and b.returncode == 0, "changed-kernel: nothing kexeced, halted")
    return t.summary()


if __name__ == "__main__":
    sys.exit(main())
