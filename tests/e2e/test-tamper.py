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
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sll_e2e import (BUILD, FAILURE, Checks, Stage, boot, build_runtime, chain, h,
                     launch_pcr22, zero)

CMDLINE = "console=ttyS0 panic=-1 sll.test=1"
RESCUE_CMDLINE = CMDLINE + " rescue"
BANKS = ("sha1", "sha256")
LOGS = os.path.join(BUILD, "test-logs", "e2e-tamper")
DIGEST = r"sha256:[0-9a-f]{16}\.\.\."
POLICY = r"/slaunch/policy\.json"
CHECK_ALL = r" \(run slpolicy check for all errors\)"
t = Checks()


class Row:
    def __init__(self, name, mutate, line, outcome="halt", append="", fs="vfat", **boot_kw):
        self.name, self.mutate, self.line, self.outcome = name, mutate, line, outcome
        self.append, self.fs, self.boot_kw = append, fs, boot_kw
        self.symlinks, self.size_mb, self.second_disk, self.readonly = (), 64, False, False


def row(name, mutate, line, outcome="halt", symlinks=(), size_mb=64, second_disk=False,
        readonly=False, **kw):
    r = Row(name, mutate, line, outcome, **kw)
    r.symlinks, r.size_mb, r.second_disk, r.readonly = symlinks, size_mb, second_disk, readonly
    return r


def with_recovery(p):
    """on_failure cap with a measured-only recovery entry booting the same files."""
    p.update(on_failure="cap", recovery="rescue")
    p["entries"].append({"name": "rescue", "kernel": "/vmlinuz", "initrd": ["/initrd.img"],
                         "cmdline": RESCUE_CMDLINE})


def rows(kernel, initrd):
    def put(path, data):
        return lambda s, p: s.put(path, data)

    def entry(**kv):
        return lambda s, p: p["entries"][0].update(**kv)

    def measured_only(s, p):
        del p["entries"][0]["allow"]

    return [
        row("kernel-one-byte", put("/vmlinuz", kernel[:-1] + bytes([kernel[-1] ^ 1])),
            rf"debian: kernel /vmlinuz: digest {DIGEST} is not in allow\.kernel"),
        row("initrd-changed", put("/initrd.img", initrd + b"\0"),
            rf"debian: initrd /initrd\.img: digest {DIGEST} is not in allow\.initrd"),
        row("initrd-changed-cap",
            lambda s, p: (s.put("/initrd.img", initrd + b"\0"), with_recovery(p)),
            rf"debian: initrd /initrd\.img: digest {DIGEST} is not in allow\.initrd",
            outcome="recovery", append="sl.entry=debian"),
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
        # The SL kernel talking to the TPM at locality 1, not 2 (the dynamic launch happened,
        # PCRs 17-22 are reset): the TPM refuses the extend of PCR 21 with TPM_RC_LOCALITY.
        row("tpm-wrong-locality", None,
            r"TPM: extending PCR 21 \(sll: policy /slaunch/policy\.json\): TPM2_PCR_Extend: "
            r"tpm:warn\(2\.0\): bad locality \(0x907\)",
            append="tpm_tis.locality=1", harness_args=("--dce-locality", "1")),
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
        s.put("/vmlinuz", kernel)
        s.put("/initrd.img", initrd)
        policy = s.slpolicy_new("/vmlinuz", ["/initrd.img"], CMDLINE)
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
        if r.readonly:
            kw["qemu_args"] = ("-drive", f"file={disk},format=raw,if=virtio,readonly=on")
            disk = None
        b = boot(os.path.join(LOGS, r.name + ".log"), disk=disk, banks=BANKS, append=r.append,
                 **kw)
        print(f"---- {r.name} ({r.outcome})")
        check_outcome(r, b, policy_bytes if out != "remove-policy" else b"", s)


def main():
    os.makedirs(LOGS, exist_ok=True)
    kernel, initrd = build_runtime()
    only = set(sys.argv[1:])
    table = rows(kernel, initrd)
    for r in table:
        if not only or r.name in only:
            run_row(r, kernel, initrd)
    print(f"{len(table)} rows")
    return t.summary()


if __name__ == "__main__":
    sys.exit(main())
