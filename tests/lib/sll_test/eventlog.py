"""TCG event logs for the tests, written by tests/tools/write-eventlog.c: built here against
the core's event log writer (policy/eventlog-encode.c); each event's digests are those of its text."""
import os
import subprocess

from sll_test.paths import ROOT

CORE = ["policy/eventlog-encode.c", "policy/digest.c", "policy/event.c", "policy/hex.c"]


def build_writer(tmp, sanitize=False):
    """tmp/write-eventlog, compiled with gcc (and nettle); sanitize: under AddressSanitizer
    and UndefinedBehaviorSanitizer, any finding fatal."""
    exe = os.path.join(tmp, "write-eventlog")
    cmd = ["gcc", "-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror", "-Ipolicy"]
    if sanitize:
        cmd += ["-fsanitize=address,undefined", "-fno-sanitize-recover=all"]
    cmd += ["-o", exe, "tests/tools/write-eventlog.c"] + CORE + ["-lnettle"]
    subprocess.run(cmd, cwd=ROOT, check=True)
    return exe


def write_log(writer, path, banks, events):
    """The log of events ((pcr, type, text) triples) in the given banks, into the file path."""
    args = [f"{p}:{t:x}:{text}" for p, t, text in events]
    subprocess.run([writer, path, ",".join(banks)] + args, check=True)
