#!/usr/bin/env python3
"""slpolicy eventlog: printing (text and JSON) and --verify (against a --pcrs file and a sysfs
fixture, mismatches, missing values, --start), malformed logs and usage errors.

Logs are written by tests/tools/write-eventlog.c (each event's digests are those of its
text); every expected digest and PCR value is computed here with hashlib, independently of
the C core.  Needs build/slpolicy (make slpolicy; $SLPOLICY overrides), gcc and nettle-dev.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

from sll_test import paths
from sll_test.checks import Checks
from sll_test.eventlog import build_writer, write_log
from sll_test.pcr import chain, h, zero

SLPOLICY = os.environ.get("SLPOLICY") or paths.SLPOLICY
t = Checks()
check = t.check

# (pcr, type, text): SLL's events, a type slpolicy has no name for, and an EV_NO_ACTION
# record, which is printed but never extended.
EVENTS = [
    (21, 0x502, "sll: policy /slaunch/policy.json"),
    (21, 0x502, "sll: dmi"),
    (22, 0x502, "sll: kernel /vmlinuz-6.1.0-28-amd64"),
    (22, 0x502, "sll: initrd /initrd.img-6.1.0-28-amd64"),
    (23, 0x1234, "test: odd type \\ backslash"),
    (22, 0x502, "sll: cmdline root=UUID=0b1c ro quiet \u00e9"),
    (23, 0x3, "test: no action"),
    (22, 0x4, "sll: separator"),
]
BANKS = ["sha1", "sha256", "sha384"]
TYPE_NAMES = {0x502: "TXT_EVTYPE_SLAUNCH", 0x4: "EV_SEPARATOR", 0x3: "EV_NO_ACTION"}


def digest(alg, text):
    return h(alg, text.encode())


def replay(alg, events, pcr, start=None):
    """PCR value after the events of that PCR (EV_NO_ACTION is never extended), from zero
    (or start)."""
    return chain(alg, zero(alg) if start is None else start,
                 [digest(alg, text) for p, typ, text in events if p == pcr and typ != 0x3])


def run(*args):
    r = subprocess.run([SLPOLICY, "eventlog", *args], capture_output=True)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def pcr_lines(banks, events, pcrs, upper=()):
    """What `slpolicy predict` prints: BANK:N=HEX; hex in upper case for banks in upper."""
    out = []
    for alg in banks:
        for pcr in pcrs:
            value = replay(alg, events, pcr).hex()
            out.append(f"{alg}:{pcr}={value.upper() if alg in upper else value}")
    return out


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def make_sysfs(d, values):
    """values: {(alg, pcr): bytes}, written as Linux does: upper-case hex and a newline."""
    for (alg, pcr), v in values.items():
        os.makedirs(os.path.join(d, "pcr-" + alg), exist_ok=True)
        write(os.path.join(d, "pcr-" + alg, str(pcr)), v.hex().upper() + "\n")


def test_text(log):
    rc, out, err = run(log)
    lines = out.splitlines()
    check(rc == 0 and len(lines) == len(EVENTS) + 1, "text: one line per event, then banks",
          err)
    for i, (pcr, typ, text) in enumerate(EVENTS):
        line = lines[i] if i < len(lines) else ""
        name = TYPE_NAMES.get(typ, f"0x{typ:04x}")
        digests = " ".join(f"{a}:{digest(a, text).hex()}" for a in BANKS)
        shown = text.replace("\\", "\\\\")
        want = f'{i + 1} pcr {pcr} {name} {digests} "{shown}"'
        check(line == want, f"text: event {i + 1} line", f"got {line!r}, want {want!r}")
    check(lines[-1:] == ["banks: sha1 sha256 sha384"], "text: the header's banks last")


def test_json(log):
    rc, out, err = run(log, "--json")
    try:
        doc = json.loads(out)
    except ValueError:
        doc = {}
    check(rc == 0 and doc.get("banks") == BANKS, "json: parses, banks in order", err)
    evs = doc.get("events", [])
    check(len(evs) == len(EVENTS), "json: every record is an event")
    for i, (pcr, typ, text) in enumerate(EVENTS):
        ev = evs[i] if i < len(evs) else {}
        want = {"index": i + 1, "pcr": pcr, "type": typ, "type_name": TYPE_NAMES.get(typ),
                "digests": {a: digest(a, text).hex() for a in BANKS},
                "data": text.replace("\\", "\\\\")}
        check(ev == want, f"json: event {i + 1} fields", f"got {ev}, want {want}")
    check(list(evs[0].keys()) == ["index", "pcr", "type", "type_name", "digests", "data"]
          if evs else False, "json: stable key order")
    check("\\/" not in out, "json: slashes not escaped")


def test_verify_pcrs(tmp, log):
    touched = [21, 22, 23]
    pcrs = os.path.join(tmp, "expected.txt")
    write(pcrs, "# from slpolicy predict\n\n" +
          "\n".join(pcr_lines(BANKS, EVENTS, touched, upper=["sha384"])) +
          "\n  \nsha512:22=" + "00" * 64 + "\nsha256:0=" + "11" * 32 + "\n")
    rc, out, err = run(log, "--verify", "--pcrs", pcrs)
    replayed = sum(1 for e in EVENTS if e[1] != 0x3)
    want = f"ok: {replayed} events, PCRs 21 22 23 match in sha1 sha256 sha384\n"
    check(rc == 0 and out == want, "verify --pcrs: ok line", f"rc {rc} out {out!r} err {err!r}")

    bad = os.path.join(tmp, "bad.txt")
    for content, what in (("sha256:22=zz\n", "not hex"), ("sha256:24=" + "00" * 32, "PCR 24"),
                          ("sm3:22=" + "00" * 32, "unknown bank"), ("sha256 22 00\n", "syntax"),
                          ("sha1:22=" + "00" * 32, "wrong length")):
        write(bad, "# ok\n\n" + content)
        rc, out, err = run(log, "--verify", "--pcrs", bad)
        check(rc == 1 and f"{bad}: line 3: " in err, f"verify --pcrs: {what} refused by line",
              f"rc {rc} err {err!r}")
    write(bad, "sha1:22=" + "00" * 20 + "\nsha1:22=" + "11" * 20 + "\n")
    rc, out, err = run(log, "--verify", "--pcrs", bad)
    check(rc == 1 and "line 2: " in err, "verify --pcrs: a value given twice refused")
    rc, out, err = run(log, "--verify", "--pcrs", os.path.join(tmp, "nonexistent"))
    check(rc == 1 and "No such file" in err, "verify --pcrs: a missing file refused")


def test_mismatch(tmp, log):
    lines = pcr_lines(BANKS, EVENTS, [21, 22, 23])
    # PCR 22 sha256 as it would be without the separator: the admin must see the events.
    short = [e for e in EVENTS if e[2] != "sll: separator"]
    wrong = replay("sha256", short, 22)
    lines = [f"sha256:22={wrong.hex()}" if l.startswith("sha256:22=") else l for l in lines]
    pcrs = os.path.join(tmp, "mismatch.txt")
    write(pcrs, "\n".join(lines) + "\n")
    rc, out, err = run(log, "--verify", "--pcrs", pcrs)
    good = replay("sha256", EVENTS, 22)
    first = (f"slpolicy: {log}: PCR 22 (sha256) differs: log replays to {good.hex()}, "
             f"expected {wrong.hex()}")
    errl = err.splitlines()
    check(rc == 1 and out == "" and errl[:1] == [first], "mismatch: names PCR 22 and sha256",
          f"rc {rc} err {err!r}")
    listed = errl[1:]
    want = [(i + 1, e) for i, e in enumerate(EVENTS) if e[0] == 22 and e[1] != 0x3]
    check(len(listed) == len(want), "mismatch: lists exactly the events of PCR 22",
          f"{listed}")
    for line, (idx, (pcr, typ, text)) in zip(listed, want):
        m = re.match(r"^\s+(\d+) pcr (\d+) (\S+) sha256:([0-9a-f]{64}) \"(.*)\"$", line)
        check(bool(m) and int(m.group(1)) == idx and int(m.group(2)) == 22
              and m.group(4) == digest("sha256", text).hex() and m.group(5) == text,
              f"mismatch: event {idx} listed with its sha256 digest", line)

    sysfs = os.path.join(tmp, "sysfs-mismatch")
    vals = {(a, p): replay(a, EVENTS, p) for a in BANKS for p in (21, 22, 23)}
    vals[("sha1", 21)] = bytes(20)
    make_sysfs(sysfs, vals)
    rc, out, err = run(log, "--verify", "--sysfs", sysfs)
    check(rc == 1 and "PCR 21 (sha1) differs" in err and "sll: dmi" in err
          and "sll: kernel" not in err and err.count("differs") == 1,
          "mismatch: sysfs, PCR 21 sha1 only, with its events", err)


def test_missing(tmp, log):
    pcrs = os.path.join(tmp, "missing.txt")
    write(pcrs, "\n".join(pcr_lines(BANKS, EVENTS, [21, 22])) + "\n")
    rc, out, err = run(log, "--verify", "--pcrs", pcrs)
    named = all(f"PCR 23 ({a})" in err for a in BANKS)
    check(rc == 1 and out == "" and named and "PCR 22" not in err,
          "missing: PCR 23 named in each bank", err)
    # A bank the log has but the TPM's sysfs lacks.
    sysfs = os.path.join(tmp, "sysfs-missing")
    make_sysfs(sysfs, {(a, p): replay(a, EVENTS, p) for a in ["sha1", "sha256"]
                       for p in (21, 22, 23)})
    rc, out, err = run(log, "--verify", "--sysfs", sysfs)
    check(rc == 1 and "PCR 21 (sha384)" in err and "pcr-sha384/21" in err
          and "(sha1)" not in err, "missing: sysfs without the sha384 bank", err)
    rc, out, err = run(log, "--verify", "--sysfs", os.path.join(tmp, "no-tpm"))
    check(rc == 1 and "no-tpm" in err, "missing: no sysfs directory at all", err)


def test_verify_sysfs(tmp, log):
    sysfs = os.path.join(tmp, "tpm0")
    vals = {(a, p): replay(a, EVENTS, p) for a in BANKS for p in range(24)}
    vals.update({("sha512", p): os.urandom(64) for p in range(24)})  # a bank the log lacks
    make_sysfs(sysfs, vals)
    write(os.path.join(sysfs, "pcr-sha256", "22"), replay("sha256", EVENTS, 22).hex() + "\n")
    rc, out, err = run(log, "--verify", "--sysfs", sysfs)
    check(rc == 0 and out == "ok: 7 events, PCRs 21 22 23 match in sha1 sha256 sha384\n",
          "verify --sysfs: ok (upper and lower case hex)", f"rc {rc} out {out!r} err {err!r}")
    write(os.path.join(sysfs, "pcr-sha256", "22"), "garbage\n")
    rc, out, err = run(log, "--verify", "--sysfs", sysfs)
    check(rc == 1 and "pcr-sha256/22" in err, "verify --sysfs: a malformed value refused", err)


def test_start(tmp, helper):
    events = [(12, 0x502, "test: os pcr one"), (17, 0x502, "test: drtm"),
              (12, 0x502, "test: os pcr two")]
    log = os.path.join(tmp, "start.log")
    write_log(helper, log, ["sha256", "sha384"], events)
    s256, s384 = os.urandom(32), os.urandom(48)
    want = [f"sha256:12={replay('sha256', events, 12, s256).hex()}",
            f"sha384:12={replay('sha384', events, 12, s384).hex()}",
            f"sha256:17={replay('sha256', events, 17).hex()}",
            f"sha384:17={replay('sha384', events, 17).hex()}"]
    pcrs = os.path.join(tmp, "start.txt")
    write(pcrs, "\n".join(want) + "\n")
    start = ["--start", f"sha256:12={s256.hex()}", "--start", f"sha384:12={s384.hex().upper()}"]
    rc, out, err = run(log, "--verify", "--pcrs", pcrs, *start)
    check(rc == 0 and out == "ok: 3 events, PCRs 12 17 match in sha256 sha384\n",
          "--start: PCR 12 replayed from the given values", f"rc {rc} out {out!r} err {err!r}")
    rc, out, err = run(log, "--verify", "--pcrs", pcrs, start[0], start[1])
    check(rc == 1 and "PCR 12 (sha384) differs" in err and "PCR 12 (sha256)" not in err,
          "--start: without it, sha384 PCR 12 replays from zero and differs", err)
    check("start sha256:" not in err, "--start: no start line for a bank started at zero")
    rc, out, err = run(log, "--verify", "--pcrs", pcrs, *start, "--start",
                       f"sha1:12={'00' * 20}")
    check(rc == 1 and "sha1" in err, "--start: a bank the log does not have refused", err)


def test_malformed(tmp, log):
    with open(log, "rb") as f:
        data = f.read()
    cases = {"truncated": data[:len(data) - 7], "bad header": b"\x00" * 4 + b"\x07" + data[5:],
             "garbage": b"\x01\x02\x03\x04" + os.urandom(40)}
    for what, blob in cases.items():
        path = os.path.join(tmp, "bad.log")
        with open(path, "wb") as f:
            f.write(blob)
        for extra in ([], ["--json"], ["--verify", "--pcrs", os.devnull]):
            rc, out, err = run(path, *extra)
            ok = re.match(r"^slpolicy: " + re.escape(path)
                          + r": offset \d+: record \d+( \([^)]*\))?: \S", err)
            check(rc == 1 and out == "" and bool(ok) and err.count("\n") == 1,
                  f"malformed ({what}, {' '.join(extra) or 'print'}): one offset line, exit 1",
                  f"rc {rc} err {err!r}")
    rc, out, err = run(os.path.join(tmp, "nonexistent.log"))
    check(rc == 1 and "No such file" in err, "a missing log file is refused")


def test_empty(tmp, helper):
    log = os.path.join(tmp, "empty.log")
    write_log(helper, log, ["sha256"], [])
    rc, out, err = run(log)
    check(rc == 0 and out == "banks: sha256\n", "empty log: only the banks line")
    rc, out, err = run(log, "--json")
    check(rc == 0 and json.loads(out) == {"banks": ["sha256"], "events": []},
          "empty log: JSON with no events")
    rc, out, err = run(log, "--verify", "--pcrs", os.devnull)
    check(rc == 1 and "nothing to verify" in err, "empty log: nothing to verify, exit 1", err)


def test_usage(log):
    cases = [
        ([], "no FILE"),
        ([log, log], "two FILEs"),
        ([log, "--verify", "--pcrs", log, "--sysfs", "/"], "--pcrs with --sysfs"),
        ([log, "--pcrs", log], "--pcrs without --verify"),
        ([log, "--sysfs", "/"], "--sysfs without --verify"),
        ([log, "--start", "sha256:12=" + "00" * 32], "--start without --verify"),
        ([log, "--verify", "--json"], "--json with --verify"),
        ([log, "--verify", "--start", "sha256:12=00"], "--start with a short value"),
        ([log, "--verify", "--start", "sha256:99=" + "00" * 32], "--start PCR 99"),
        ([log, "--verify", "--start", "md5:1=" + "00" * 16], "--start unknown bank"),
        ([log, "--bogus"], "an unknown option"),
    ]
    for args, what in cases:
        rc, out, err = run(*args)
        check(rc == 2 and err.startswith("slpolicy: ") and err.count("slpolicy: ") == 1
              and "\nusage: slpolicy" in err,
              f"usage error exits 2: {what}", f"rc {rc} err {err!r}")
    r = subprocess.run([SLPOLICY, "--help"], capture_output=True, text=True)
    check(r.returncode == 0 and "eventlog FILE --verify" in r.stdout, "--help mentions eventlog")


def main():
    if not os.access(SLPOLICY, os.X_OK):
        check(False, "build/slpolicy missing: run make slpolicy")
        return t.summary()
    with tempfile.TemporaryDirectory() as tmp:
        helper = build_writer(tmp)
        log = os.path.join(tmp, "sll.log")
        write_log(helper, log, BANKS, EVENTS)
        test_text(log)
        test_json(log)
        test_verify_pcrs(tmp, log)
        test_verify_sysfs(tmp, log)
        test_mismatch(tmp, log)
        test_missing(tmp, log)
        test_start(tmp, helper)
        test_malformed(tmp, log)
        test_empty(tmp, helper)
        test_usage(log)
    return t.summary()


if __name__ == "__main__":
    sys.exit(main())
