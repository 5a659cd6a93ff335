#!/usr/bin/env python3
"""e2e: the policy's collectors under QEMU + swtpm. A policy with dmi (type 1, and all
types), cpuid, file and storage collectors boots with -smbios type=1,serial=SLL-A; the
runtime OS captures the machine with sll-collect (from an extra initrd) and prints it; the
host builds the --sys tree from that capture and the boot disk image, and PCR 21 read in the
runtime must equal `slpolicy predict --sys` and the values computed here with hashlib. A boot
with serial=SLL-B must give another PCR 21, and comparing its event log with the prediction
for SLL-A must name the dmi events, and only them. A collector that cannot read its source
must stop the launch with a one-line reason, or with on_failure "cap" cap the PCRs and boot
the recovery entry."""
import base64
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile

from sll_test.checks import Checks
from sll_test.collect_ref import cpuid_canonical, gpt_bytes, smbios_keep
from sll_test.e2e import boot_stage, build_runtime
from sll_test.paths import BUILD, ROOT, SLL_COLLECT, SLPOLICY
from sll_test.pcr import FAILURE, chain, h, launch_pcr22, zero
from sll_test.staging import Stage

CMDLINE = "console=ttyS0 panic=-1 sll.test=collectors"
BANKS = ("sha1", "sha256")
LOGS = os.path.join(BUILD, "test-logs", "e2e-collectors")
EXTRA = b"site=lab-3\nrack=7\n"
COLLECTORS = [
    {"type": "dmi", "types": [1]},
    {"type": "dmi"},
    {"type": "cpuid"},
    {"type": "file", "path": "/slaunch/extra.conf"},
    {"type": "storage", "disk": "/dev/vda", "partition": 1, "bytes": 512},
]
DESCS = ["sll: policy /slaunch/policy.json", "sll: dmi types 1", "sll: dmi", "sll: cpuid",
         "sll: file /slaunch/extra.conf", "sll: storage /dev/vda gpt, partition 1: 512 bytes"]

HOOK = """#!/bin/sh
# Runs in the e2e runtime OS: capture what the collectors measured, print it base64'd.
mkdir -p /run/sll-capture
if sll-collect --out /run/sll-capture >/run/sll-collect.log 2>&1; then
    echo "sll-runtime: capture-begin"
    tar -C /run/sll-capture -c . | gzip -c | base64 -w 76
    echo "sll-runtime: capture-end"
else
    echo "sll-runtime: capture-failed $(tail -n 1 /run/sll-collect.log)"
fi
"""

t = Checks()


def capture_initrd(tmp):
    """An uncompressed newc cpio with /bin/sll-collect and the runtime hook that runs it."""
    root = os.path.join(tmp, "capture-initrd")
    os.makedirs(os.path.join(root, "etc", "sll-runtime.d"))
    os.makedirs(os.path.join(root, "bin"))
    with open(os.path.join(root, "etc", "sll-runtime.d", "50-capture"), "w") as f:
        f.write(HOOK)
    os.chmod(os.path.join(root, "etc", "sll-runtime.d", "50-capture"), 0o755)
    shutil.copy(SLL_COLLECT, os.path.join(root, "bin", "sll-collect"))
    names = "etc\netc/sll-runtime.d\netc/sll-runtime.d/50-capture\nbin/sll-collect\n"
    return subprocess.run(["cpio", "-o", "-H", "newc", "-R", "0:0", "--quiet"], cwd=root,
                          input=names.encode(), capture_output=True, check=True).stdout


def stage(tmp, kernel, initrd, cpio, collectors, **extra):
    s = Stage(tmp)
    policy = s.put_launch(kernel, {"/initrd.img": initrd, "/capture.cpio": cpio}, CMDLINE)
    s.put("/slaunch/extra.conf", EXTRA)
    policy["collectors"] = collectors
    policy.update(extra)
    return s, s.put_policy(policy)


def run(name, s, serial, disk_name="disk.img"):
    return boot_stage(name, s, LOGS, disk_name, banks=BANKS,
                      qemu_args=["-smbios", f"type=1,serial={serial}"])


def sys_tree(name, b, tmp):
    """The runtime's capture, plus the boot disk image as /dev/vda: the --sys tree."""
    m = re.search(r"^sll-runtime: capture-begin\n(.*?)^sll-runtime: capture-end$", b.log,
                  re.M | re.S)
    if not t.check(m is not None, f"{name}: the runtime OS printed its sll-collect capture"):
        print(re.findall(r"^sll-runtime: capture-failed.*$", b.log, re.M))
        return None
    d = os.path.join(tmp, name + "-sys")
    with tarfile.open(fileobj=io.BytesIO(base64.b64decode("".join(m.group(1).split())))) as tf:
        tf.extractall(d)
    os.makedirs(os.path.join(d, "dev"), exist_ok=True)
    shutil.copy(b.disk, os.path.join(d, "dev", "vda"))
    return d


def predict(s, sysdir, fmt="json"):
    args = [SLPOLICY, "predict", s.dir + "/slaunch/policy.json", "--root", s.dir, "--sys",
            sysdir, "--format", fmt] + [a for b in BANKS for a in ("--bank", b)]
    r = subprocess.run(args, capture_output=True, text=True)
    t.check(r.returncode == 0, f"predict --sys {os.path.basename(sysdir)}: {r.stderr.strip()}")
    if fmt == "json":
        return {alg: {int(k): v for k, v in p.items()} for alg, p in json.loads(r.stdout).items()}
    return r.stdout.splitlines()


def hashlib_pcr21(alg, policy_bytes, sysdir):
    def read(p, mode="rb"):
        with open(os.path.join(sysdir, p), mode) as f:
            return f.read()
    dmi = read("sys/firmware/dmi/tables/DMI")
    measured = [policy_bytes, smbios_keep(dmi, {1}), dmi, cpuid_canonical(read("cpuid", "r")),
                EXTRA, gpt_bytes(read("dev/vda"), 1, 512)]
    return chain(alg, zero(alg), [h(alg, m) for m in measured]).hex()


def log_events(name, b):
    path = b.write_eventlog(os.path.join(LOGS, name + ".eventlog.bin"))
    r = subprocess.run([SLPOLICY, "eventlog", path, "--json"], capture_output=True, text=True)
    events = json.loads(r.stdout)["events"] if r.returncode == 0 else []
    pcrs = b.write_pcrs(os.path.join(LOGS, name + ".pcrs"))
    verify = subprocess.run([SLPOLICY, "eventlog", path, "--verify", "--pcrs", pcrs],
                            capture_output=True, text=True)
    t.check(verify.returncode == 0, f"{name}: slpolicy eventlog --verify: "
            f"{verify.stdout.strip()}{verify.stderr.strip()}")
    return events


def check_launch(name, b, s, policy_bytes, sysdir, objects):
    t.check(b.kexeced and "sll-runtime: done" in b.log, f"{name}: runtime OS booted")
    t.check(b.failed_line() is None, f"{name}: no failure reported")
    t.check(re.search(r"^slinit: 5 collectors recorded in PCR 21$", b.log, re.M) is not None,
            f"{name}: slinit reports the 5 collectors")
    pred = predict(s, sysdir)
    for alg in BANKS:
        got = b.pcrs.get(alg, {})
        t.check(got.get(21) == pred[alg][21] == hashlib_pcr21(alg, policy_bytes, sysdir),
                f"{name}: {alg} PCR 21 = policy + 5 collectors = slpolicy predict --sys = hashlib")
        t.check(got.get(22) == pred[alg][22] == launch_pcr22(alg, objects, CMDLINE).hex(),
                f"{name}: {alg} PCR 22 = kernel, 2 initrds, cmdline, separator")
    events = log_events(name, b)
    t.check([e["data"] for e in events if e["pcr"] == 21] == DESCS,
            f"{name}: the log's PCR 21 events: {[e['data'] for e in events if e['pcr'] == 21]}")
    return pred, events


def main():
    os.makedirs(LOGS, exist_ok=True)
    subprocess.run(["make", "-C", ROOT, "--quiet", "sll-collect"], check=True,
                   stdout=subprocess.DEVNULL)
    kernel, initrd = build_runtime()
    with tempfile.TemporaryDirectory() as tmp:
        cpio = capture_initrd(tmp)
        s, pb = stage(tmp, kernel, initrd, cpio, COLLECTORS)
        objects = [kernel, initrd, cpio]

        a = run("serial-a", s, "SLL-A")
        sys_a = sys_tree("serial-a", a, tmp)
        if sys_a:
            with open(os.path.join(sys_a, "sys/firmware/dmi/tables/DMI"), "rb") as f:
                t.check(b"SLL-A\0" in f.read(), "serial-a: the captured SMBIOS holds SLL-A")
            pred_a, _ = check_launch("serial-a", a, s, pb, sys_a, objects)

        b = run("serial-b", s, "SLL-B")
        sys_b = sys_tree("serial-b", b, tmp)
        if sys_a and sys_b:
            check_launch("serial-b", b, s, pb, sys_b, objects)
            for alg in BANKS:
                t.check(b.pcrs.get(alg, {}).get(21) != pred_a[alg][21],
                        f"serial-b: {alg} PCR 21 differs from the prediction for SLL-A")
                t.check(b.pcrs.get(alg, {}).get(22) == pred_a[alg][22],
                        f"serial-b: {alg} PCR 22 is the same")
            # Which events differ: the SLL-B log against the SLL-A prediction.
            predicted = [line.split(" ", 3) for line in predict(s, sys_a, "events")]
            logged = log_events("serial-b-vs-a", b)
            differ = []
            for p, e in zip(predicted, logged):
                digests = {d.split(":")[0]: d.split(":")[1] for d in p[1:3]}
                if int(p[0]) != e["pcr"] or p[3] != e["data"] or digests != e["digests"]:
                    differ.append(e["data"])
            print(f"serial-b: events differing from the SLL-A prediction: {differ}")
            t.check(len(predicted) == len(logged) and differ == ["sll: dmi types 1", "sll: dmi"],
                    "serial-b: comparing the log with the SLL-A prediction names the two dmi "
                    "events, and only them")

    with tempfile.TemporaryDirectory() as tmp:
        s, _ = stage(tmp, kernel, initrd, capture_initrd(tmp),
                     [{"type": "dmi"}, {"type": "storage", "disk": "/dev/vdz"}])
        b = run("missing-disk", s, "SLL-A")
        line = b.failed_line()
        t.check(line == "slinit: FAILED: /collectors/1: storage collector: /dev/vdz: "
                "No such file or directory", f"missing-disk: refused with: {line}")
        t.check(not b.kexeced, "missing-disk: nothing kexeced")
        t.check(b.returncode == 0, f"missing-disk: powered off (halt), QEMU exit {b.returncode}")

    # on_failure "cap": the dmi event before the failing collector stays in PCR 21, the
    # failure caps 19, 21 and 22, and the recovery entry boots, measured after the cap.
    with tempfile.TemporaryDirectory() as tmp:
        cpio = capture_initrd(tmp)
        s, pb = stage(tmp, kernel, initrd, cpio,
                      [{"type": "dmi"}, {"type": "file", "path": "/slaunch/missing.conf"}],
                      on_failure="cap", recovery="debian")
        b = run("cap", s, "SLL-A")
        line = b.failed_line()
        t.check(line == "slinit: FAILED: /collectors/1: file collector: /slaunch/missing.conf "
                "(boot partition): No such file or directory", f"cap: refused with: {line}")
        t.check(b.kexeced and "sll-runtime: done" in b.log, "cap: the recovery entry booted")
        sysdir = sys_tree("cap", b, tmp)
        if sysdir:
            with open(os.path.join(sysdir, "sys/firmware/dmi/tables/DMI"), "rb") as f:
                dmi = f.read()
            for alg in BANKS:
                got = b.pcrs.get(alg, {})
                t.check(got.get(21) == chain(alg, zero(alg), [h(alg, pb), h(alg, dmi),
                                                              h(alg, FAILURE)]).hex(),
                        f"cap: {alg} PCR 21 = policy, dmi, failure")
                t.check(got.get(19) == chain(alg, zero(alg), [h(alg, FAILURE)]).hex(),
                        f"cap: {alg} PCR 19 = failure")
                t.check(got.get(22) == launch_pcr22(alg, [kernel, initrd, cpio], CMDLINE,
                                                    start=chain(alg, zero(alg),
                                                                [h(alg, FAILURE)])).hex(),
                        f"cap: {alg} PCR 22 = failure, then the recovery launch")
            log_events("cap", b)

    return t.summary()


if __name__ == "__main__":
    sys.exit(main())
