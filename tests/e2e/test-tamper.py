#!/usr/bin/env python3
"""e2e: the tamper and fault matrix. Each row is one boot of sll.efi under QEMU + swtpm with a
mutation of a good setup (the boot partition, the policy, the command line, the disks, the
TPM), the one line slinit must print, and the outcome:
  halt      refused, powered off, nothing kexeced;
  recovery  the policy's on_failure "cap": PCRs 19, 21 and 22 capped (values computed here
            with hashlib), then the recovery entry, and only it, booted;
  boots     not a reason to refuse: the runtime OS boots, with the warning line.
More rows live beside the features they test: tests/e2e/test-signed.py (signatures),
tests/e2e/test-rollback.py (anti-rollback), tests/e2e/test-launch.py (corrupted old event
log on /boot, measured-only changes)."""
import json
import os
import re
import subprocess
import sys
import tempfile

from sll_test.checks import Checks
from sll_test.e2e import boot, build_runtime
from sll_test.paths import BUILD, ROOT
from sll_test.pcr import FAILURE, chain, h, launch_pcr22, zero
from sll_test.staging import Stage

CMDLINE = "console=ttyS0 panic=-1 sll.test=1"
RESCUE_CMDLINE = CMDLINE + " rescue"
BANKS = ("sha1", "sha256")
LOGS = os.path.join(BUILD, "test-logs", "e2e-tamper")
LOCALITY1_IMAGE = os.path.join(BUILD, "sll-locality1.efi")
DIGEST = r"sha256:[0-9a-f]{16}\.\.\."
POLICY = r"/slaunch/policy\.json"
CHECK_ALL = r" \(run slpolicy check for all errors\)"
t = Checks()


class Row:
    def __init__(self, name, mutate, line, outcome="halt", append="", fs="vfat", **boot_kw):
        self.name, self.mutate, self.line, self.outcome = name, mutate, line, outcome
        self.append, self.fs, self.boot_kw = append, fs, boot_kw
        self.symlinks, self.size_mb, self.second_disk, self.readonly = (), 64, False, False
        self.late_disk, self.dirty_journal = False, False


def row(name, mutate, line, outcome="halt", symlinks=(), size_mb=64, second_disk=False,
        readonly=False, late_disk=False, dirty_journal=False, **kw):
    """second_disk: another disk holding the same files (and label) from the start;
    late_disk: that disk plugged in as a USB stick once slinit has started; dirty_journal:
    the ext4 boot partition's journal marked as needing recovery, and the disk must come out
    of the boot byte for byte unchanged."""
    r = Row(name, mutate, line, outcome, **kw)
    r.symlinks, r.size_mb, r.second_disk, r.readonly = symlinks, size_mb, second_disk, readonly
    r.late_disk, r.dirty_journal = late_disk, dirty_journal
    return r


def with_recovery(p):
    """on_failure cap with a measured-only recovery entry booting the same files (which the
    policy must allow explicitly: measured_fallback)."""
    p.update(on_failure="cap", recovery="rescue", measured_fallback=True)
    p["entries"].append({"name": "rescue", "kernel": "/vmlinuz", "initrd": ["/initrd.img"],
                         "cmdline": RESCUE_CMDLINE})


# A second initrd: an empty newc cpio (its trailer only), which the runtime kernel accepts.
EXTRA_INITRD = (b"070701" + b"0" * 8 * 11 + b"%08X" % 11 + b"0" * 8 + b"TRAILER!!!\0").ljust(512, b"\0")


def digests(s, path):
    """The allow-list slpolicy new would write for one file of the stage (sha256)."""
    return ["sha256:" + h("sha256", s.read(path)).hex()]


def rows(kernel, initrd):
    def put(path, data):
        return lambda s, p: s.put(path, data)

    def entry(**kv):
        return lambda s, p: p["entries"][0].update(**kv)

    def measured_only(s, p):
        del p["entries"][0]["allow"]

    def swapped_initrds(s, p):
        s.put("/extra.img", EXTRA_INITRD)
        p["entries"][0]["initrd"].append("/extra.img")
        p["entries"][0]["allow"]["initrd"].append(digests(s, "/extra.img"))
        s.put("/initrd.img", EXTRA_INITRD)  # the second one's bytes at the first's path

    def changed_kernel_and_rescue(fallback):
        def mutate(s, p):
            s.put("/vmlinuz", kernel[:-1] + bytes([kernel[-1] ^ 1]))
            p["entries"].append({"name": "rescue", "kernel": "/vmlinuz",
                                 "initrd": ["/initrd.img"], "cmdline": RESCUE_CMDLINE})
            if fallback:
                p["measured_fallback"] = True
        return mutate

    return [
        row("kernel-one-byte", put("/vmlinuz", kernel[:-1] + bytes([kernel[-1] ^ 1])),
            rf"debian: kernel /vmlinuz: digest {DIGEST} is not in allow\.kernel"),
        row("initrd-changed", put("/initrd.img", initrd + b"\0"),
            rf"debian: initrd /initrd\.img: digest {DIGEST} is not in allow\.initrd\[0\]"),
        row("initrd-changed-cap",
            lambda s, p: (s.put("/initrd.img", initrd + b"\0"), with_recovery(p)),
            rf"debian: initrd /initrd\.img: digest {DIGEST} is not in allow\.initrd\[0\]",
            outcome="recovery", append="sl.entry=debian"),
        # Each initrd against its own allow-list: the second initrd's bytes at the first's
        # path are refused although they are allowed (for the second position).
        row("initrd-swapped-positions", swapped_initrds,
            rf"debian: initrd /initrd\.img: digest {DIGEST} is not in allow\.initrd\[0\]"),
        # No silent downgrade: after the verified entry is refused, the measured-only entry
        # that would boot the changed kernel is not tried, unless measured_fallback says so.
        row("verified-then-measured-only", changed_kernel_and_rescue(False),
            rf"policy: no entry verified \(last one: kernel /vmlinuz: digest {DIGEST} is not in "
            r"allow\.kernel\)"),
        row("verified-then-measured-fallback", changed_kernel_and_rescue(True),
            r"slinit: entry \"debian\" refused: kernel "
            rf"/vmlinuz: digest {DIGEST} is not in allow\.kernel; trying the next one",
            outcome="boots"),
        row("allow-wrong-digest",
            lambda s, p: p["entries"][0]["allow"].update(kernel=["sha256:" + "ab" * 32]),
            rf"debian: kernel /vmlinuz: digest {DIGEST} is not in allow\.kernel"),
        row("kernel-truncated", put("/vmlinuz", kernel[: len(kernel) // 2]),
            rf"debian: kernel /vmlinuz: digest {DIGEST} is not in allow\.kernel"),
        row("kernel-missing", entry(kernel="/vmlinuz-gone"),
            r"debian: /vmlinuz-gone: No such file or directory"),
        row("kernel-is-a-directory", entry(kernel="/slaunch"),
            r"debian: /slaunch: is not a regular file"),
        row("kernel-not-bzimage",
            lambda s, p: (s.put("/not-a-kernel", os.urandom(65536)), measured_only(s, p),
                          p["entries"][0].update(kernel="/not-a-kernel")),
            r"debian: kexec_file_load: not a kernel image the SL kernel can kexec "
            r"\(not a bzImage\?\)"),
        row("zero-length-initrd", lambda s, p: (s.put("/initrd.img", b""), measured_only(s, p)),
            r"debian: /initrd\.img: is empty \(0 bytes: a truncated copy\?\)"),
        row("initrd-beyond-ram",
            lambda s, p: (s.put("/initrd.img", bytes(200 << 20)), measured_only(s, p)),
            r"debian: /initrd\.img: 200 MiB does not fit in memory: loading it needs about "
            r"\d+ MiB, \d+ MiB are available", size_mb=300, qemu_args=("-m", "192")),
        row("kernel-symlink-escape", lambda s, p: s.files.pop("/vmlinuz") and None,
            r"debian: /vmlinuz: is a symbolic link \(refused\)", fs="ext4",
            symlinks=(("/vmlinuz", "../../../vmlinuz.real"),)),
        row("policy-is-symlink", lambda s, p: "policy-symlink",
            rf"{POLICY}: cannot open the policy on the boot partition: it is a symbolic link",
            fs="ext4", symlinks=(("/slaunch/policy.json", "policy.real.json"),)),
        row("path-dotdot-escape", entry(kernel="/../../etc/passwd"),
            rf"{POLICY}: /entries/0/kernel: path must not contain \"\.\" or \"\.\.\" "
            rf"components{CHECK_ALL}"),
        row("path-with-nul", entry(kernel="/vmlinuz\u0000.sig"),
            rf"{POLICY}: /entries/0/kernel: contains a NUL character{CHECK_ALL}"),
        row("initrd-listed-twice", entry(initrd=["/initrd.img", "/initrd.img"]),
            rf"{POLICY}: /entries/0/initrd/1: initrd \"/initrd\.img\" is listed twice"
            rf"{CHECK_ALL}"),
        row("policy-not-json", lambda s, p: b"this is not json\n",
            rf"{POLICY}: line 1, column 2: boolean expected{CHECK_ALL}"),
        row("policy-2MiB", lambda s, p: b"{" + b" " * (2 << 20) + b"}",
            rf"{POLICY}: larger than the 1048576-byte limit"),
        row("policy-deeply-nested",
            lambda s, p: b'{"schema": 1, "x": ' + b"[" * 40 + b"]" * 40 + b"}",
            rf"{POLICY}: line 1, column \d+: nesting too deep{CHECK_ALL}"),
        row("policy-duplicate-key",
            lambda s, p: json.dumps(p).replace('"serial": 1', '"serial": 1, "serial": 0',
                                               1).encode(),
            rf"{POLICY}: line 1, column \d+: duplicate object key \(or a key containing "
            rf"\\u0000\){CHECK_ALL}"),
        row("policy-not-utf8",
            lambda s, p: json.dumps(p).encode().replace(b"sll.test=1", b"sll.test=\xff", 1),
            rf"{POLICY}: line 1, column \d+: invalid utf-8 string{CHECK_ALL}"),
        row("policy-missing", lambda s, p: "remove-policy",
            r"boot partition: no vfat/ext4 partition holding /slaunch/policy\.json appeared "
            r"within 1 s", append="sl.boot_timeout=1"),
        row("boot-device-never-appears", None, r"sl\.boot: /dev/vdz1 did not appear within 1 s",
            append="sl.boot=/dev/vdz1 sl.boot_timeout=1"),
        row("two-partitions-same-label", None,
            r"sl\.boot: LABEL=SLBOOT matches 2 partitions \(/dev/vd[ab]1, /dev/vd[ab]1\): "
            r"refusing to guess; give each boot partition a unique label or use "
            r"UUID=/PARTUUID=", append="sl.boot=LABEL=SLBOOT", second_disk=True),
        # Scan mode (no sl.boot=): two partitions holding the policy are refused, whichever
        # comes first, even when the second appears after slinit found the first.
        row("two-partitions-hold-policy", None,
            r"boot partition: 2 partitions hold /slaunch/policy\.json \(/dev/vd[ab]1, "
            r"/dev/vd[ab]1\): refusing to guess; choose one with sl\.boot=UUID=\.\.\. or "
            r"PARTUUID=\.\.\.", second_disk=True),
        row("late-partition-holds-policy", None,
            r"boot partition: 2 partitions hold /slaunch/policy\.json \(/dev/vda1, "
            r"/dev/sda1\): refusing to guess; choose one with sl\.boot=UUID=\.\.\. or "
            r"PARTUUID=\.\.\.", late_disk=True, append="sl.boot_timeout=8"),
        # ext4 is mounted without journal replay: a journal that needs recovery is not
        # written back (the disk is unchanged), and the event log copy is not written.
        row("ext4-dirty-journal",
            lambda s, p: p.update(eventlog={"path": "/slaunch/eventlog.bin"}),
            r"slinit: warning: event log not copied to the boot partition: its ext4 journal "
            r"needs replaying, which slinit never does \(mount it once in the runtime OS\)",
            outcome="boots", fs="ext4", dirty_journal=True),
        row("unknown-sl-option", None, r"kernel command line: unknown option sl\.polcy "
            r"\(known: .*\)", append="sl.polcy=/x"),
        row("no-tpm", None, r"TPM: no TPM device \(/dev/tpmrm0, /dev/tpm0\): No such device",
            tpm=False),
        row("require-drtm-without-drtm", None,
            r"policy: require_drtm is true but this is not a dynamic launch", drtm=False),
        # swtpm dies once slinit has found the TPM: the next extend gets no answer.
        row("swtpm-killed-mid-boot", None,
            r"TPM: extending PCR 2[12] \(sll: [^)]*\): TPM2_PCR_Extend: no valid answer from "
            r"the TPM, the device failed or vanished \(.*\)",
            harness_args=("--kill-tpm-on", "^slinit: TPM ")),
        # An SL kernel built to talk to the TPM at locality 1, not 2 (the dynamic launch
        # happened, PCRs 17-22 are reset): the TPM refuses the extend of PCR 21 with
        # TPM_RC_LOCALITY. (A boot loader can no longer pass tpm_tis.locality=: the image
        # keeps only sl.* words of its command line, tests/e2e/test-bootloader.py.)
        row("tpm-wrong-locality", None,
            r"TPM: extending PCR 21 \(sll: policy /slaunch/policy\.json\): TPM2_PCR_Extend: "
            r"tpm:warn\(2\.0\): bad locality \(0x907\)",
            image=LOCALITY1_IMAGE, harness_args=("--dce-locality", "1")),
        # A CRB TPM (firmware TPMs; QEMU's stays at locality 0) after a dynamic launch: the
        # SL kernel cannot reach locality 2 there, slinit says so at once. Without DRTM a
        # CRB TPM serves (PCRs 12 and 13, at locality 0).
        row("crb-tpm-with-drtm", None,
            r"TPM: /dev/tpmrm0 is a CRB TPM \(tpm_crb, as firmware TPMs are\): this SL kernel "
            r"uses locality 2, which PCRs 17-22 need, only on TIS TPMs \(tpm_tis\)",
            harness_args=("--tpm-device", "tpm-crb", "--dce-on", "Linux version")),
        row("crb-tpm-without-drtm", lambda s, p: p.update(require_drtm=False),
            r"slinit: no DRTM: recording into PCR 12 \(policy\) and PCR 13 \(launch\), as the "
            r"policy allows", outcome="boots", drtm=False,
            harness_args=("--tpm-device", "tpm-crb")),
        row("readonly-boot-partition",
            lambda s, p: p.update(eventlog={"path": "/slaunch/eventlog.bin"}),
            r"slinit: warning: event log not copied to the boot partition: cannot remount "
            r"/boot read-write: Permission denied", outcome="boots", readonly=True),
    ]


def check_outcome(r, b, policy_bytes, stage):
    name = r.name
    if r.outcome == "boots":
        t.check(b.failed_line() is None and b.kexeced and "sll-runtime: done" in b.log,
                f"{name}: boots")
        t.check(re.search("^" + r.line + "$", b.log, re.M) is not None,
                f"{name}: warns: {r.line}")
        return
    line = b.failed_line()
    t.check(line is not None and re.fullmatch("slinit: FAILED: " + r.line, line) is not None,
            f"{name}: refused with: {line}")
    if r.outcome == "halt":
        t.check(not b.kexeced, f"{name}: nothing kexeced")
        t.check(b.returncode == 0, f"{name}: powered off (halt), QEMU exit {b.returncode}")
        return
    # recovery: the cap first, then exactly the recovery entry's objects and cmdline.
    t.check(f"sll-runtime: cmdline {RESCUE_CMDLINE}" in b.log,
            f"{name}: the recovery entry booted, nothing else")
    for alg in BANKS:
        got, fail = b.pcrs.get(alg, {}), h(alg, FAILURE)
        t.check(got.get(19) == chain(alg, zero(alg), [fail]).hex() and
                got.get(21) == chain(alg, zero(alg), [h(alg, policy_bytes), fail]).hex(),
                f"{name}: {alg} PCRs 19 and 21 capped")
        # The recovery entry is measured only: it boots what is there, the PCRs say so.
        objects = [stage.read("/vmlinuz"), stage.read("/initrd.img")]
        t.check(got.get(22) == launch_pcr22(alg, objects, RESCUE_CMDLINE,
                                            start=chain(alg, zero(alg), [fail])).hex(),
                f"{name}: {alg} PCR 22 = cap, then the recovery launch")


def run_row(r, kernel, initrd):
    with tempfile.TemporaryDirectory() as tmp:
        s = Stage(tmp)
        policy = s.put_launch(kernel, {"/initrd.img": initrd}, CMDLINE)
        out = r.mutate(s, policy) if r.mutate else None
        if out == "policy-symlink":
            policy_bytes = s.put_policy(policy, "/slaunch/policy.real.json")
        elif out != "remove-policy":
            policy_bytes = s.put_policy(out if isinstance(out, bytes) else policy)
        disk = s.disk(os.path.join(tmp, "disk.img"), size_mb=r.size_mb, fs=r.fs,
                      symlinks=r.symlinks)
        kw = dict(r.boot_kw)
        if r.second_disk:
            kw["drives"] = [s.disk(os.path.join(tmp, "disk2.img"))]
        if r.late_disk:
            kw["harness_args"] = ("--hotplug-on", "^slinit: TPM ",
                                  s.disk(os.path.join(tmp, "disk2.img")))
        if r.dirty_journal:  # the ext4 boot partition starts at 1 MiB (make-boot-disk.sh)
            subprocess.run(["debugfs", "-w", "-R", "feature needs_recovery",
                            disk + "?offset=1048576"], check=True, capture_output=True)
            before = file_sha256(disk)
        if r.readonly:
            kw["qemu_args"] = ("-drive", f"file={disk},format=raw,if=virtio,readonly=on")
            disk = None
        b = boot(os.path.join(LOGS, r.name + ".log"), disk=disk, banks=BANKS, append=r.append,
                 **kw)
        print(f"---- {r.name} ({r.outcome})")
        check_outcome(r, b, policy_bytes if out != "remove-policy" else b"", s)
        if r.dirty_journal:
            t.check(file_sha256(disk) == before,
                    f"{r.name}: the disk is byte for byte unchanged (no journal replay)")


def file_sha256(path):
    with open(path, "rb") as f:
        return h("sha256", f.read())


def build_locality1_image():
    """sll-locality1.efi: the image with tpm_tis.locality=1 built into its command line."""
    subprocess.run([os.path.join(ROOT, "build.sh"), "kernel", "image"], check=True,
                   env=dict(os.environ, IMAGE_VARIANT="locality1",
                            SL_CMDLINE="tpm_tis.locality=1"),
                   stdout=subprocess.DEVNULL)


def main():
    os.makedirs(LOGS, exist_ok=True)
    kernel, initrd = build_runtime()
    only = set(sys.argv[1:])
    table = rows(kernel, initrd)
    if any(r.boot_kw.get("image") == LOCALITY1_IMAGE for r in table
           if not only or r.name in only):
        build_locality1_image()
    for r in table:
        if not only or r.name in only:
            run_row(r, kernel, initrd)
    print(f"{len(table)} rows")
    return t.summary()


if __name__ == "__main__":
    sys.exit(main())
