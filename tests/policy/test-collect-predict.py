#!/usr/bin/env python3
"""slpolicy predict --sys against PCR 21 values computed here with hashlib, independently of
the C core: the SMBIOS walk, the CPUID leaf set and masks (slpolicy.8, COLLECTORS) and the
GPT/MBR layout are re-implemented below from their specifications. Disks are made with
sfdisk; the DMI tables and cpuid capture are the fixture trees of tests/data/collect/.
Also: refusals (no --sys, unreadable sources) and sll-collect's capture of a tree."""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

from sll_test.checks import Checks
from sll_test.collect_ref import cpuid_canonical, gpt_bytes, mbr_bytes, smbios_keep
from sll_test.paths import ROOT, SLL_COLLECT
from sll_test.pcr import chain, zero
from sll_test.staging import slpolicy as run

FIXTURES = os.path.join(ROOT, "tests", "data", "collect")
BANKS = ["sha1", "sha256", "sha384", "sha512"]

t = Checks()
check = t.check


def make_disk(path, table_script, payloads):
    with open(path, "wb") as f:
        f.truncate(8 << 20)
    subprocess.run(["sfdisk", "--quiet", "--no-reread", "--no-tell-kernel", path],
                   input=table_script.encode(), check=True, capture_output=True)
    with open(path, "r+b") as f:
        for off, data in payloads:
            f.seek(off)
            f.write(data)
    with open(path, "rb") as f:
        return f.read()


def main():
    with tempfile.TemporaryDirectory() as tmp:
        boot = os.path.join(tmp, "boot")
        sysdir = os.path.join(tmp, "sys")
        shutil.copytree(os.path.join(FIXTURES, "boot"), boot)
        shutil.copytree(os.path.join(FIXTURES, "sys-a", "sys"), os.path.join(sysdir, "sys"))
        shutil.copy(os.path.join(FIXTURES, "sys-a", "cpuid"), sysdir)
        os.makedirs(os.path.join(sysdir, "dev"))
        with open(os.path.join(boot, "vmlinuz"), "wb") as f:
            f.write(b"kernel bytes")
        luks = b"LUKS\xba\xbe\0\x02" + os.urandom(16384)
        gpt = make_disk(os.path.join(sysdir, "dev", "vda"),
                        "label: gpt\nstart=2048, size=4096, type=L\n"
                        "start=6144, size=8192, type=L\n", [(6144 * 512, luks)])
        mbr = make_disk(os.path.join(sysdir, "dev", "sda"),
                        "label: dos\nlabel-id: 0x5e11d15c\nstart=2048, size=8192, type=83\n",
                        [(2048 * 512, b"ext4 superblock-ish" * 10)])
        collectors = [
            {"type": "dmi", "types": [2, 1]},
            {"type": "cpuid"},
            {"type": "file", "path": "/slaunch/extra.conf"},
            {"type": "storage", "disk": "/dev/vda", "partition": 2, "bytes": 16384},
            {"type": "storage", "disk": "/dev/sda"},
            {"type": "dmi"},
        ]
        policy = {"schema": 1, "serial": 1, "collectors": collectors,
                  "entries": [{"name": "a", "kernel": "/vmlinuz", "cmdline": "ro"}]}
        policy_file = os.path.join(tmp, "policy.json")
        with open(policy_file, "w") as f:
            json.dump(policy, f)
        with open(policy_file, "rb") as f:
            policy_bytes = f.read()
        tables = os.path.join(sysdir, "sys", "firmware", "dmi", "tables")
        with open(os.path.join(tables, "DMI"), "rb") as f:
            dmi = f.read()
        with open(os.path.join(sysdir, "cpuid")) as f:
            cpuid = f.read()
        with open(os.path.join(boot, "slaunch", "extra.conf"), "rb") as f:
            extra = f.read()
        measured = [policy_bytes, smbios_keep(dmi, {1, 2}), cpuid_canonical(cpuid), extra,
                    gpt_bytes(gpt, 2, 16384), mbr_bytes(mbr), dmi]
        check(len(measured[1]) > 0 and measured[1][0] == 1, "hashlib side: type 1 kept first")
        check(measured[4].endswith(luks[:16384]), "hashlib side: GPT bytes end with the LUKS head")

        pred = run("predict", policy_file, "--root", boot, "--sys", sysdir, "--bank", "all",
                   "--format", "json")
        check(pred.returncode == 0, "predict --sys succeeds: " + pred.stderr.decode().strip())
        got = json.loads(pred.stdout or b"{}")
        for alg in BANKS:
            want = chain(alg, zero(alg), [hashlib.new(alg, m).digest() for m in measured])
            check(got.get(alg, {}).get("21") == want.hex(),
                  f"{alg} PCR 21 = policy, dmi 1,2, cpuid, file, storage gpt+LUKS, mbr, dmi")

        ev = run("predict", policy_file, "--root", boot, "--sys", sysdir, "--format", "events")
        lines = [l.split(" ", 2) for l in ev.stdout.decode().splitlines()]
        descs = [l[2] for l in lines if l[0] == "21"]
        check(descs == ["sll: policy /slaunch/policy.json", "sll: dmi types 1,2", "sll: cpuid",
                        "sll: file /slaunch/extra.conf",
                        "sll: storage /dev/vda gpt, partition 2: 16384 bytes",
                        "sll: storage /dev/sda mbr", "sll: dmi"],
              f"--format events: PCR 21 events in policy order: {descs}")
        check(all(l[1] == "sha256:" + hashlib.sha256(m).hexdigest()
                  for l, m in zip([l for l in lines if l[0] == "21"], measured)),
              "--format events: each event's digest is the hash of its bytes")

        # The other machine: only the SMBIOS system serial differs.
        sys_b = os.path.join(tmp, "sys-b")
        shutil.copytree(sysdir, sys_b)
        shutil.copy(os.path.join(FIXTURES, "sys-b", "sys", "firmware", "dmi", "tables", "DMI"),
                    os.path.join(sys_b, "sys", "firmware", "dmi", "tables", "DMI"))
        ev_b = run("predict", policy_file, "--root", boot, "--sys", sys_b, "--format", "events")
        diff = [b.split(" ", 2)[2] for a, b in zip(ev.stdout.decode().splitlines(),
                                                   ev_b.stdout.decode().splitlines()) if a != b]
        check(diff == ["sll: dmi types 1,2", "sll: dmi"],
              f"sys-b (serial SLL-B): exactly the dmi events differ: {diff}")

        # Refusals.
        nosys = run("predict", policy_file, "--root", boot)
        check(nosys.returncode == 1 and b"/collectors/0: a dmi collector" in nosys.stderr and
              b"--sys DIR" in nosys.stderr and not nosys.stdout,
              "without --sys: refused, nothing printed: " + nosys.stderr.decode().strip())
        only_file = dict(policy, collectors=[collectors[2]])
        with open(policy_file, "w") as f:
            json.dump(only_file, f)
        with open(policy_file, "rb") as f:
            pb = f.read()
        r = run("predict", policy_file, "--root", boot, "--format", "json")
        check(r.returncode == 0 and json.loads(r.stdout)["sha256"]["21"] == chain(
            "sha256", zero("sha256"),
            [hashlib.sha256(pb).digest(), hashlib.sha256(extra).digest()]).hex(),
              "a file collector alone needs no --sys")
        os.unlink(os.path.join(boot, "slaunch", "extra.conf"))
        r = run("predict", policy_file, "--root", boot)
        check(r.returncode == 1 and b"/collectors/0: file: /slaunch/extra.conf" in r.stderr,
              "missing file refused: " + r.stderr.decode().strip())
        with open(policy_file, "w") as f:
            json.dump(dict(policy, collectors=[{"type": "storage", "disk": "/dev/vdz"}]), f)
        r = run("predict", policy_file, "--root", boot, "--sys", sysdir)
        check(r.returncode == 1 and b"/dev/vdz: No such file" in r.stderr,
              "missing disk refused: " + r.stderr.decode().strip())
        with open(policy_file, "w") as f:
            json.dump(dict(policy, collectors=[{"type": "storage", "disk": "/dev/sda",
                                                "partition": 2, "bytes": 512}]), f)
        r = run("predict", policy_file, "--root", boot, "--sys", sysdir)
        check(r.returncode == 1 and b"partition 2: the MBR entry is unused" in r.stderr,
              "unused partition refused: " + r.stderr.decode().strip())
        os.unlink(os.path.join(sysdir, "cpuid"))
        with open(policy_file, "w") as f:
            json.dump(dict(policy, collectors=[{"type": "cpuid"}]), f)
        r = run("predict", policy_file, "--root", boot, "--sys", sysdir)
        check(r.returncode == 1 and b"cpuid: /cpuid: No such file" in r.stderr,
              "missing cpuid capture refused: " + r.stderr.decode().strip())

        # sll-collect: a capture of a tree (--from) keeps exactly what predict needs.
        with open(policy_file, "w") as f:
            json.dump(policy, f)
        out = os.path.join(tmp, "capture")
        cap = subprocess.run([SLL_COLLECT, "--out", out, "--from", sys_b, policy_file],
                             capture_output=True)
        check(cap.returncode == 0, "sll-collect --from succeeds: " + cap.stderr.decode().strip())
        with open(os.path.join(boot, "slaunch", "extra.conf"), "wb") as f:
            f.write(extra)
        ev_c = run("predict", policy_file, "--root", boot, "--sys", out, "--format", "events")
        same = [a == b for a, b in zip(ev_b.stdout.decode().splitlines(),
                                       ev_c.stdout.decode().splitlines())]
        check(ev_c.returncode == 0 and len(same) == 10 and all(same[7:]) and all(same[i] for i in (0, 1, 3, 4, 5, 6)),
              "the capture predicts the same policy, dmi, file and storage events "
              f"and PCR 22 (cpuid is this CPU's): {same} {ev_c.stderr.decode().strip()}")
        check(os.stat(os.path.join(out, "dev", "vda")).st_blocks * 512 < 1 << 20,
              "the captured disk is sparse: only the measured ranges are stored")
        live = subprocess.run(["sh", "-c", "grep -c '^   0x' " + os.path.join(out, "cpuid")],
                              capture_output=True)
        check(live.stdout.strip() == b"9", "the cpuid capture lists the 9 leaves of the set")

        # Debian's cpuid tool writes the same capture format: the same cpuid event.
        tool = os.path.join(tmp, "tool")
        os.makedirs(tool)
        with open(os.path.join(tool, "cpuid"), "wb") as f:
            f.write(subprocess.run(["cpuid", "-1", "-r"], capture_output=True,
                                   check=True).stdout)
        with open(policy_file, "w") as f:
            json.dump(dict(policy, collectors=[{"type": "cpuid"}]), f)
        ev_tool = run("predict", policy_file, "--root", boot, "--sys", tool, "--format", "events")
        ev_own = run("predict", policy_file, "--root", boot, "--sys", out, "--format", "events")
        check(ev_tool.returncode == 0 and ev_tool.stdout == ev_own.stdout,
              "a `cpuid -1 -r` capture predicts the same cpuid event as sll-collect's "
              + ev_tool.stderr.decode().strip())

    return t.summary()


if __name__ == "__main__":
    sys.exit(main())
