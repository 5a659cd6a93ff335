#!/usr/bin/env python3
"""Interop test: logs written by policy/eventlog-encode.c must be read by tpm2-tools' tpm2_eventlog.

Builds tests/tools/write-eventlog.c against the core sources, writes logs for several bank
sets and checks that tpm2_eventlog parses each one and reports the same Spec ID header, PCR
indices, event types, digests and event data, and the PCR values of a replay from zero.
Every expected value is computed here with hashlib, independently of our C code.
Needs gcc, nettle-dev and tpm2-tools.  Usage: test-eventlog-tpm2tools.py [-v]
"""

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile

from sll_test.checks import Checks
from sll_test.eventlog import build_writer, write_log
from sll_test.pcr import chain, h, zero

VERBOSE = "-v" in sys.argv[1:]

# (pcr, type, description): SLL's own events plus two types tpm2_eventlog names, so the
# type check covers more than "Unknown event type".
EVENTS = [
    (21, 0x502, "sll: policy /slaunch/policy.json"),
    (21, 0x502, "sll: dmi"),
    (22, 0x502, "sll: kernel /vmlinuz-6.1.0-28-amd64"),
    (22, 0x502, "sll: initrd /initrd.img-6.1.0-28-amd64"),
    (22, 0x502, "sll: cmdline root=UUID=0b1c ro quiet \u00e9"),
    (19, 0x502, "sll: authority"),
    (18, 0x5, "sll: EV_ACTION"),
    (23, 0x80000007, "sll: EV_EFI_ACTION"),
    (22, 0x502, "sll: separator"),
]
TYPE_NAMES = {0x5: "EV_ACTION", 0x80000007: "EV_EFI_ACTION", 0x502: "Unknown event type"}
BANK_SETS = [
    ["sha256"],
    ["sha1", "sha256"],
    ["sha1", "sha256", "sha384"],
    ["sha1", "sha256", "sha384", "sha512"],
    ["sha384", "sha512"],
]
ORDER = ["sha1", "sha256", "sha384", "sha512"]
SIZES = {"sha1": 20, "sha256": 32, "sha384": 48, "sha512": 64}

t = Checks()
check = t.check


def parse_eventlog_yaml(text):
    """The parts of tpm2_eventlog's YAML we check; a line parser, so no PyYAML is needed."""
    events, pcrs, header = [], {}, {}
    ev = None
    section = None
    bank = None
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        s = line.strip()
        i += 1
        if line.startswith("pcrs:"):
            section = "pcrs"
            continue
        if section == "pcrs":
            m = re.match(r"^  (\w+):$", line)
            if m:
                bank = m.group(1)
                pcrs[bank] = {}
                continue
            m = re.match(r"^\s+(\d+)\s*:\s*0x([0-9a-fA-F]+)$", line)
            if m and bank:
                pcrs[bank][int(m.group(1))] = m.group(2).lower()
            continue
        m = re.match(r"^- EventNum: (\d+)$", line)
        if m:
            ev = {"num": int(m.group(1)), "digests": []}
            events.append(ev)
            continue
        if ev is None:
            continue
        m = re.match(r"^(\w+): (.*)$", s.lstrip("- "))
        if not m:
            continue
        key, val = m.group(1), m.group(2).strip('"')
        if key == "PCRIndex":
            ev["pcr"] = int(val)
        elif key == "EventType":
            ev["type"] = val
        elif key == "AlgorithmId":
            ev["digests"].append([val, None])
        elif key == "Digest" and ev["digests"]:
            ev["digests"][-1][1] = val.lower()
        elif key == "EventSize":
            ev["size"] = int(val)
        elif key == "Event":
            if val == "|-":  # a block scalar: the next, more indented line
                ev["event_text"] = lines[i].strip()
                i += 1
            else:
                ev["event_hex"] = val.lower()
        elif ev["num"] == 0 and key in ("Signature", "platformClass", "specVersionMinor",
                                         "specVersionMajor", "specErrata", "uintnSize",
                                         "numberOfAlgorithms", "algorithmId", "digestSize",
                                         "vendorInfoSize"):
            header.setdefault(key, []).append(val)
    return header, events, pcrs


def expected_pcrs(banks):
    """Each bank's PCRs after a replay of EVENTS from zero (hex)."""
    return {b: {pcr: chain(b, zero(b), [h(b, text.encode()) for p, _type, text in EVENTS
                                        if p == pcr]).hex()
                for pcr in dict.fromkeys(p for p, _type, _text in EVENTS)}
            for b in banks}


def check_bank_set(exe, tmp, banks):
    name = ",".join(banks)
    log = os.path.join(tmp, "log-%s.bin" % name.replace(",", "-"))
    write_log(exe, log, banks, EVENTS)
    res = subprocess.run(["tpm2_eventlog", log], capture_output=True, text=True)
    check(res.returncode == 0, "[%s] tpm2_eventlog exit %d: %s" % (name, res.returncode,
                                                                   res.stderr.strip()))
    if res.returncode != 0:
        return
    if VERBOSE:
        print(res.stdout)
    header, events, pcrs = parse_eventlog_yaml(res.stdout)
    ordered = [b for b in ORDER if b in banks]

    check(header.get("Signature") == ["Spec ID Event03"], "[%s] signature" % name)
    check(header.get("specVersionMajor") == ["2"] and header.get("specVersionMinor") == ["0"]
          and header.get("specErrata") == ["2"] and header.get("uintnSize") == ["2"]
          and header.get("platformClass") == ["0"], "[%s] spec version fields" % name)
    check(header.get("numberOfAlgorithms") == [str(len(banks))], "[%s] numberOfAlgorithms" % name)
    check(header.get("algorithmId") == ordered, "[%s] header banks %s" % (name,
                                                                      header.get("algorithmId")))
    check(header.get("digestSize") == [str(SIZES[b]) for b in ordered], "[%s] sizes" % name)
    check(header.get("vendorInfoSize") == ["0"], "[%s] vendorInfoSize" % name)

    records = [e for e in events if e["num"] > 0]
    check(len(records) == len(EVENTS), "[%s] %d events, expected %d" % (name, len(records),
                                                                     len(EVENTS)))
    for n, (ev, (pcr, typ, text)) in enumerate(zip(records, EVENTS), 1):
        data = text.encode()
        check(ev.get("pcr") == pcr, "[%s] event %d pcr %s" % (name, n, ev.get("pcr")))
        check(ev.get("type") == TYPE_NAMES[typ], "[%s] event %d type %s" % (name, n,
                                                                         ev.get("type")))
        want = [[b, hashlib.new(b, data).hexdigest()] for b in ordered]
        check(ev["digests"] == want, "[%s] event %d digests %s" % (name, n, ev["digests"]))
        check(ev.get("size") == len(data), "[%s] event %d size" % (name, n))
        if "event_hex" in ev:
            check(ev["event_hex"] == data.hex(), "[%s] event %d data" % (name, n))
        else:
            check(ev.get("event_text") == text, "[%s] event %d text" % (name, n))

    want_pcrs = expected_pcrs(ordered)
    check(pcrs == want_pcrs, "[%s] replayed PCRs" % name,
          " got %s\nwant %s" % (pcrs, want_pcrs))


def main():
    for tool in ("gcc", "tpm2_eventlog"):
        if not shutil.which(tool):
            print("test-eventlog-tpm2tools: %s not found" % tool)
            return 1
    tmp = tempfile.mkdtemp(prefix="sll-eventlog-")
    try:
        exe = build_writer(tmp, sanitize=True)
        for banks in BANK_SETS:
            check_bank_set(exe, tmp, banks)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("test-eventlog-tpm2tools: %d bank sets x %d events against tpm2_eventlog"
          % (len(BANK_SETS), len(EVENTS)))
    return t.summary()


if __name__ == "__main__":
    sys.exit(main())
