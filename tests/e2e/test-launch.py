#!/usr/bin/env python3
"""e2e: sll.efi under QEMU + swtpm with a simulated DRTM launch, a boot disk holding a policy,
Debian's kernel and a test initrd. Good paths kexec into the runtime OS, whose PCRs must equal
both `slpolicy predict` and the values computed here with hashlib. The refusals are the tamper
and fault matrix, tests/e2e/test-tamper.py."""
import gzip
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile

from sll_test.checks import Checks
from sll_test.e2e import boot_stage, build_runtime
from sll_test.paths import BUILD, IMAGE, SLPOLICY
from sll_test.pcr import FAILURE, chain, drtm_pcr17, h, launch_pcr22, zero
from sll_test.staging import Stage

CMDLINE = "console=ttyS0 panic=-1 sll.test=1"
BANKS = ("sha1", "sha256")
LOGS = os.path.join(BUILD, "test-logs", "e2e-launch")

t = Checks()


def stage_good(tmp, kernel, initrd, cmdline=CMDLINE, allow=True):
    s = Stage(tmp)
    policy = s.put_launch(kernel, {"/initrd.img": initrd}, cmdline)
    if not allow:
        del policy["entries"][0]["allow"]
    return s, policy


def run(name, stage, append="", fs="vfat", **kw):
    return boot_stage(name, stage, LOGS, fs=fs, banks=BANKS, append=append, **kw)


def check_launched(name, b, stage, policy_bytes, objects, cmdline, entry=None):
    """The runtime OS booted and its PCRs equal the prediction and the hashlib values."""
    t.check(b.kexeced and "sll-runtime: done" in b.log, f"{name}: runtime OS booted")
    t.check(b.failed_line() is None, f"{name}: no failure reported")
    pred = stage.predict(BANKS, entry=entry)
    with open(IMAGE, "rb") as f:
        image = f.read()
    for alg in BANKS:
        got = b.pcrs.get(alg, {})
        t.check(got.get(17) == drtm_pcr17(alg, image).hex(), f"{name}: {alg} PCR 17 = DRTM image")
        t.check(all(got.get(p) == zero(alg).hex() for p in (18, 19, 20, 23)),
                f"{name}: {alg} PCRs 18, 19, 20, 23 zero")
        want21 = chain(alg, zero(alg), [h(alg, policy_bytes)]).hex()
        want22 = launch_pcr22(alg, objects, cmdline).hex()
        t.check(got.get(21) == want21 == pred[alg][21], f"{name}: {alg} PCR 21 = policy bytes "
                "= slpolicy predict")
        t.check(got.get(22) == want22 == pred[alg][22], f"{name}: {alg} PCR 22 = kernel, "
                "initrd, cmdline, separator = slpolicy predict")
    t.check(b.eventlog is not None and len(b.eventlog) > 0, f"{name}: event log handed over")
    if b.eventlog:
        path = b.write_eventlog(os.path.join(LOGS, name + ".eventlog.bin"))
        pcrs_file = b.write_pcrs(os.path.join(LOGS, name + ".pcrs"))
        verify = subprocess.run([SLPOLICY, "eventlog", path, "--verify", "--pcrs", pcrs_file],
                                capture_output=True, text=True)
        t.check(verify.returncode == 0 and
                re.match(r"ok: \d+ events, PCRs 21 22 match", verify.stdout) is not None,
                f"{name}: slpolicy eventlog --verify accepts the log against the runtime's "
                f"PCRs: {verify.stdout.strip()}{verify.stderr.strip()}")
        parsed = subprocess.run(["tpm2_eventlog", path], capture_output=True, text=True)
        digests = re.findall(r"Digest: \"?([0-9a-f]{40,})", parsed.stdout)
        t.check(parsed.returncode == 0 and h("sha256", b"\0\0\0\0").hex() in digests,
                f"{name}: tpm2_eventlog reads the handed-over log, separator included")


def odd_length_initrd(tmp):
    """A gzip'd newc cpio holding one file, made with Debian's cpio, of odd length."""
    root = os.path.join(tmp, "extra")
    os.makedirs(os.path.join(root, "etc"))
    for n in range(64):
        with open(os.path.join(root, "etc", "sll-extra"), "w") as f:
            f.write("extra initrd %d\n" % n)
        listing = subprocess.run(["cpio", "-o", "-H", "newc", "--quiet"], cwd=root,
                                 input=b"etc\netc/sll-extra\n", capture_output=True,
                                 check=True).stdout
        data = gzip.compress(listing, mtime=0)
        if len(data) % 2:
            return data
    raise RuntimeError("no odd-length gzip found")


def main():
    os.makedirs(LOGS, exist_ok=True)
    kernel, initrd = build_runtime()

    with tempfile.TemporaryDirectory() as tmp:
        s, policy = stage_good(tmp, kernel, initrd)
        pb = s.put_policy(policy)
        check_launched("verified", run("verified", s), s, pb, [kernel, initrd], CMDLINE)

    with tempfile.TemporaryDirectory() as tmp:
        # A separate ext4 /boot, named by its label.
        s, policy = stage_good(tmp, kernel, initrd)
        pb = s.put_policy(policy)
        b = run("ext4-by-label", s, append="sl.boot=LABEL=SLBOOT", fs="ext4")
        check_launched("ext4-by-label", b, s, pb, [kernel, initrd], CMDLINE)
        t.check(re.search(r"^slinit: boot partition /dev/vda1 mounted read-only$", b.log, re.M)
                is not None, "ext4-by-label: LABEL=SLBOOT resolved to /dev/vda1")

    with tempfile.TemporaryDirectory() as tmp:
        cmd = CMDLINE + " measured=1"
        s, policy = stage_good(tmp, kernel, initrd, cmdline=cmd, allow=False)
        policy["eventlog"] = {"path": "/slaunch/eventlog.bin"}
        s.put("/slaunch/eventlog.bin", b"corrupted log of an earlier boot\0\xff")
        pb = s.put_policy(policy)
        b = run("measured", s)
        check_launched("measured", b, s, pb, [kernel, initrd], cmd)
        copy = subprocess.run(["mtype", "-i", b.disk + "@@1M", "::/slaunch/eventlog.bin"],
                              capture_output=True)
        t.check(copy.returncode == 0 and b.eventlog and copy.stdout == b.eventlog,
                "measured: a corrupted old log on the boot partition did not stop the boot and "
                "was replaced by a copy of the handed-over log")

    with tempfile.TemporaryDirectory() as tmp:
        s, policy = stage_good(tmp, kernel, initrd)
        bad = json.loads(json.dumps(policy["entries"][0]))
        bad["name"] = "new"
        bad["allow"]["kernel"] = ["sha256:" + hashlib.sha256(b"another kernel").hexdigest()]
        policy["entries"].insert(0, bad)
        pb = s.put_policy(policy)
        b = run("fallback", s)
        check_launched("fallback", b, s, pb, [kernel, initrd], CMDLINE, entry="debian")
        t.check('slinit: entry "new" refused: kernel /vmlinuz: digest sha256:' in b.log,
                "fallback: the refused first entry is named with its reason")

    with tempfile.TemporaryDirectory() as tmp:
        # cap: the requested entry fails, 19/21/22 are capped, the recovery entry boots.
        s, policy = stage_good(tmp, kernel, initrd)
        main_entry = policy["entries"][0]
        main_entry["name"] = "main"
        main_entry["allow"]["kernel"] = ["sha256:" + hashlib.sha256(b"x").hexdigest()]
        rescue = {"name": "rescue", "kernel": "/vmlinuz", "initrd": ["/initrd.img"],
                  "cmdline": CMDLINE + " rescue"}
        policy.update(on_failure="cap", recovery="rescue", measured_fallback=True)
        policy["entries"].append(rescue)
        pb = s.put_policy(policy)
        b = run("cap-recovery", s, append="sl.entry=main")
        t.check(b.kexeced and "sll-runtime: done" in b.log, "cap-recovery: recovery entry booted")
        t.check(re.search(r"^slinit: FAILED: main: kernel /vmlinuz: digest sha256:[0-9a-f]{16}"
                          r"\.\.\. is not in allow\.kernel$", b.log, re.M) is not None,
                "cap-recovery: the failure of the requested entry is reported")
        for alg in BANKS:
            got = b.pcrs.get(alg, {})
            fail = h(alg, FAILURE)
            t.check(got.get(19) == chain(alg, zero(alg), [fail]).hex(),
                    f"cap-recovery: {alg} PCR 19 capped")
            t.check(got.get(21) == chain(alg, zero(alg), [h(alg, pb), fail]).hex(),
                    f"cap-recovery: {alg} PCR 21 = policy then cap")
            t.check(got.get(22) == launch_pcr22(alg, [kernel, initrd], rescue["cmdline"],
                                                start=chain(alg, zero(alg), [fail])).hex(),
                    f"cap-recovery: {alg} PCR 22 = cap then the recovery launch")

    with tempfile.TemporaryDirectory() as tmp:
        # No DRTM, allowed by the policy: PCR 12 and 13 instead of 21 and 22.
        s, policy = stage_good(tmp, kernel, initrd)
        policy["require_drtm"] = False
        pb = s.put_policy(policy)
        b = run("no-drtm", s, drtm=False)
        t.check(b.kexeced and "no DRTM: recording into PCR 12" in b.log, "no-drtm: booted, said so")
        for alg in BANKS:
            got = b.pcrs.get(alg, {})
            t.check(got.get(12) == chain(alg, zero(alg), [h(alg, pb)]).hex() and
                    got.get(13) == launch_pcr22(alg, [kernel, initrd], CMDLINE).hex(),
                    f"no-drtm: {alg} PCR 12 = policy, PCR 13 = launch")
            t.check(got.get(17) == "f" * len(zero(alg).hex()) and
                    got.get(22) == "f" * len(zero(alg).hex()),
                    f"no-drtm: {alg} PCRs 17-22 untouched (all ones)")

    with tempfile.TemporaryDirectory() as tmp:
        # Two initrds, the first of odd length: the kernel must still find the second
        # archive (slinit pads between them, outside the measured bytes).
        extra = odd_length_initrd(tmp)
        s = Stage(tmp)
        policy = s.put_launch(kernel, {"/extra.img": extra, "/initrd.img": initrd}, CMDLINE)
        pb = s.put_policy(policy)
        check_launched("two-initrds", run("two-initrds", s), s, pb, [kernel, extra, initrd],
                       CMDLINE)

    with tempfile.TemporaryDirectory() as tmp:
        # A measured-only change is no refusal, but it shows: the PCRs leave the prediction
        # made for the old policy, and verifying the log against it names what changed.
        s, policy = stage_good(tmp, kernel, initrd, allow=False)
        s.put_policy(policy)
        old_prediction = os.path.join(LOGS, "changed-cmdline.predicted")
        with open(old_prediction, "w") as f:
            f.write(subprocess.run([SLPOLICY, "predict", s.dir + "/slaunch/policy.json",
                                    "--root", s.dir, "--bank", "sha1", "--bank", "sha256"],
                                   check=True, capture_output=True, text=True).stdout)
        policy["entries"][0]["cmdline"] = CMDLINE + " init=/bin/sh"
        s.put_policy(policy)
        b = run("changed-cmdline", s)
        t.check(b.kexeced, "changed-cmdline: a measured-only change boots")
        with open(old_prediction) as f:
            old = dict(line.strip().split("=") for line in f if line.strip())
        t.check(b.pcrs.get("sha256", {}).get(21) != old["sha256:21"] and
                b.pcrs.get("sha256", {}).get(22) != old["sha256:22"],
                "changed-cmdline: PCRs 21 and 22 differ from the old prediction")
        path = b.write_eventlog(os.path.join(LOGS, "changed-cmdline.eventlog.bin"))
        v = subprocess.run([SLPOLICY, "eventlog", path, "--verify", "--pcrs", old_prediction],
                           capture_output=True, text=True)
        t.check(v.returncode == 1 and "PCR 22 (sha256) differs" in v.stderr and
                '"sll: cmdline"' in v.stderr,
                "changed-cmdline: eventlog --verify against the old prediction names PCR 22 "
                "and lists its events, the cmdline among them")

    return t.summary()


if __name__ == "__main__":
    sys.exit(main())
