#!/usr/bin/env python3
"""slpolicy new + predict against PCR values computed here with hashlib, independently of
the C core: PCR 21 = H(0 || H(policy bytes)); PCR 22 = kernel, initrds, cmdline, separator
(DESIGN section 3), and the no-DRTM mapping onto PCRs 12 and 13."""
import hashlib
import json
import os
import sys
import tempfile

from sll_test.checks import Checks
from sll_test.pcr import chain, h, zero
from sll_test.staging import slpolicy as run

BANKS = ["sha1", "sha256", "sha384", "sha512"]

t = Checks()
check = t.check


def subset_cases(boot, policy_file):
    """--pcrs: the sealing set restricted (keys that must survive policy changes leave 21
    out); a restricted set without the launcher's PCRs is refused in the sealing formats."""
    p17, p18 = os.urandom(32).hex(), os.urandom(32).hex()
    args = ["predict", policy_file, "--root", boot, "--pcr", "17=" + p17, "--pcr", "18=" + p18]
    full = run(*args).stdout.decode().split()
    sub = run(*args, "--pcrs", "17,18,22").stdout.decode().split()
    check(sub == [x for x in full if not x.startswith("sha256:21=")] and len(sub) == 3,
          "--pcrs 17,18,22: the set without 21, the same values")
    raw = run(*args, "--pcrs", "17,18,22", "--format", "tpm2").stdout
    check(raw == bytes.fromhex(p17 + p18) + bytes.fromhex(sub[2].split("=")[1]),
          "--pcrs 17,18,22 --format tpm2: the three raw values")
    r = run(*args, "--pcrs", "21,22", "--format", "tpm2")
    check(r.returncode == 2 and b"needs --pcr 17=HEX and --pcr 18=HEX" in r.stderr,
          "--pcrs without 17 and 18 refused for sealing")


def keylime_cases(boot, policy_file, policy_bytes, files, cmdline):
    """--format keylime: Keylime's tpm_policy ({"PCR": [hex, ...]}, keylime/tpm's readPolicy)
    with the launcher's PCRs as given and 21, 22 as computed here; --merge adds an upgrade
    state's values to the current one's; the PCRs must be the same."""
    p17, p18 = os.urandom(32), os.urandom(32)
    args = ["predict", policy_file, "--root", boot, "--format", "keylime", "--bank", "sha256",
            "--bank", "sha384"]
    launcher = ["--pcr", "sha256:17=" + p17.hex(), "--pcr", "sha256:18=" + p18.hex(),
                "--pcr", "sha384:17=" + "11" * 48, "--pcr", "sha384:18=" + "22" * 48]
    r = run(*args, *launcher)
    got = json.loads(r.stdout or b"{}")
    launch = [files[n] for n in ("/vmlinuz-6.1", "/initrd-a.img", "/initrd-b.img")]
    want = {"17": [p17.hex(), "11" * 48], "18": [p18.hex(), "22" * 48],
            "21": [chain(a, zero(a), [h(a, policy_bytes)]).hex() for a in ("sha256", "sha384")],
            "22": [chain(a, zero(a), [h(a, x) for x in launch] +
                         [h(a, cmdline.encode()), h(a, b"\0\0\0\0")]).hex()
                   for a in ("sha256", "sha384")]}
    check(r.returncode == 0 and got == want, "keylime: each PCR's values per bank, 21 and 22 "
          "as computed with hashlib " + r.stderr.decode())
    current = os.path.join(boot, "keylime-current.json")
    with open(current, "wb") as f:
        f.write(r.stdout)
    with open(boot + "/vmlinuz-7", "wb") as f:
        f.write(os.urandom(4096))
    upgraded = policy_file + ".upgrade"
    with open(upgraded, "w") as f:
        f.write(policy_bytes.decode().replace("/vmlinuz-6.1", "/vmlinuz-7"))
    up_args = [upgraded if a == policy_file else a for a in args]
    r = run(*up_args, *launcher, "--merge", current)
    merged = json.loads(r.stdout or b"{}")
    with open(upgraded, "rb") as f:
        up_bytes = f.read()
    with open(boot + "/vmlinuz-7", "rb") as f:
        launch[0] = f.read()
    new21 = [chain(a, zero(a), [h(a, up_bytes)]).hex() for a in ("sha256", "sha384")]
    new22 = [chain(a, zero(a), [h(a, x) for x in launch] +
                   [h(a, cmdline.encode()), h(a, b"\0\0\0\0")]).hex()
             for a in ("sha256", "sha384")]
    check(r.returncode == 0 and merged == dict(want, **{"21": want["21"] + new21,
                                                          "22": want["22"] + new22}),
          "keylime --merge: the current state's values, then the upgrade's (hashlib)")
    r = run(*args)
    check(r.returncode == 2 and b"--format keylime needs --pcr 17=HEX and --pcr 18=HEX"
          in r.stderr, "keylime without the launcher's PCRs is refused")
    fewer = os.path.join(boot, "keylime-fewer.json")
    with open(fewer, "w") as f:
        json.dump({k: v for k, v in want.items() if k != "18"}, f)
    r = run(*args, *launcher, "--merge", fewer)
    check(r.returncode == 1 and b"lists other PCRs than this prediction" in r.stderr,
          "keylime --merge of a file with other PCRs is refused")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        boot = os.path.join(tmp, "boot")
        os.makedirs(os.path.join(boot, "slaunch"))
        files = {"/vmlinuz-6.1": os.urandom(300000), "/initrd-a.img": os.urandom(70001),
                 "/initrd-b.img": b"b", "/empty.img": b""}
        for name, data in files.items():
            with open(boot + name, "wb") as f:
                f.write(data)
        cmdline = "root=UUID=0b3c-11 ro quiet sl.x=\"a b\""
        new = run("new", "--root", boot, "--kernel", "/vmlinuz-6.1", "--initrd", "/initrd-a.img",
                  "--initrd", "/initrd-b.img", "--cmdline", cmdline, "--name", "debian",
                  "--bank", "sha256", "--bank", "sha384")
        check(new.returncode == 0, "slpolicy new succeeds")
        # slinit refuses an empty kernel or initrd (a truncated copy); new and predict too.
        empty = run("new", "--root", boot, "--kernel", "/vmlinuz-6.1", "--initrd", "/empty.img",
                    "--cmdline", cmdline)
        check(empty.returncode != 0 and empty.stderr.decode() ==
              "slpolicy: /empty.img (under --root): is empty (0 bytes: a truncated copy?)\n",
              "slpolicy new refuses an empty initrd: " + empty.stderr.decode().strip())
        policy_file = os.path.join(boot, "slaunch", "policy.json")
        with open(policy_file, "wb") as f:
            f.write(new.stdout)
        policy = json.loads(new.stdout)
        entry = policy["entries"][0]
        check(entry["allow"]["kernel"] == [
            "sha256:" + hashlib.sha256(files["/vmlinuz-6.1"]).hexdigest(),
            "sha384:" + hashlib.sha384(files["/vmlinuz-6.1"]).hexdigest()],
            "new: kernel allow-list holds its sha256 and sha384 digests")
        check(entry["allow"]["initrd"] == [
            [alg + ":" + hashlib.new(alg, files[name]).hexdigest() for alg in ("sha256", "sha384")]
            for name in ("/initrd-a.img", "/initrd-b.img")],
            "new: one allow-list per initrd, in order, each with its sha256 and sha384 digests")
        check(run("check", policy_file).stdout == b"ok\n", "check accepts what new printed")

        pred = run("predict", policy_file, "--root", boot, "--bank", "all", "--format", "json")
        check(pred.returncode == 0, "predict succeeds: " + pred.stderr.decode())
        got = json.loads(pred.stdout or b"{}")
        with open(policy_file, "rb") as f:
            policy_bytes = f.read()
        for alg in BANKS:
            want21 = chain(alg, zero(alg), [h(alg, policy_bytes)])
            want22 = chain(alg, zero(alg), [h(alg, files["/vmlinuz-6.1"]),
                                            h(alg, files["/initrd-a.img"]),
                                            h(alg, files["/initrd-b.img"]),
                                            h(alg, cmdline.encode()), h(alg, b"\0\0\0\0")])
            check(got.get(alg, {}).get("21") == want21.hex(), f"{alg} PCR 21 = policy bytes")
            check(got.get(alg, {}).get("22") == want22.hex(),
                  f"{alg} PCR 22 = kernel, initrds, cmdline, separator")

        text = run("predict", policy_file, "--root", boot).stdout.decode().split()
        want22 = chain("sha256", bytes(32), [hashlib.sha256(x).digest() for x in (
            files["/vmlinuz-6.1"], files["/initrd-a.img"], files["/initrd-b.img"],
            cmdline.encode(), b"\0\0\0\0")])
        check(text == ["sha256:21=" + chain("sha256", bytes(32),
                                            [hashlib.sha256(policy_bytes).digest()]).hex(),
                       "sha256:22=" + want22.hex()], "text format, sha256 by default")
        p17, p18 = os.urandom(20), os.urandom(20)
        raw = run("predict", policy_file, "--root", boot, "--bank", "sha1", "--format", "tpm2",
                  "--pcr", "17=" + p17.hex(), "--pcr", "18=" + p18.hex())
        check(len(raw.stdout) == 80 and raw.stdout[:40] == p17 + p18,
              "tpm2 format: PCR 17, 18 as given, then 21 and 22, raw sha1 digests")

        keylime_cases(boot, policy_file, policy_bytes, files, cmdline)
        subset_cases(boot, policy_file)

        start12, start13 = os.urandom(32), os.urandom(32)
        nod = run("predict", policy_file, "--root", boot, "--no-drtm", "--format", "json",
                  "--pcr", "sha256:12=" + start12.hex(), "--pcr", "sha256:13=" + start13.hex())
        got = json.loads(nod.stdout or b"{}").get("sha256", {})
        check(got.get("12") == chain("sha256", start12,
                                     [hashlib.sha256(policy_bytes).digest()]).hex(),
              "no-DRTM: policy goes to PCR 12 from its given value")
        check(got.get("13") == chain("sha256", start13, [hashlib.sha256(x).digest() for x in (
            files["/vmlinuz-6.1"], files["/initrd-a.img"], files["/initrd-b.img"],
            cmdline.encode(), b"\0\0\0\0")]).hex(),
              "no-DRTM: launch events go to PCR 13 from its given value")

        os.symlink("/etc/passwd", os.path.join(boot, "evil"))
        evil = run("new", "--root", boot, "--kernel", "/evil", "--cmdline", "x")
        check(evil.returncode == 1 and b"evil" in evil.stderr, "a symlink escape is refused")
        check(run("predict", policy_file).returncode == 2, "usage error exits 2")
        check(run("predict", policy_file, "--root", boot, "--entry", "nope").returncode == 1,
              "unknown entry refused")

    return t.summary()


if __name__ == "__main__":
    sys.exit(main())
