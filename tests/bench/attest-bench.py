#!/usr/bin/env python3
"""make bench, item 6: the remote attestation verifier's cost. One QEMU launch (as
tests/e2e/test-attest.py's first boot: the runtime OS enrolls and answers a quote) gives a real
evidence file; then `slpolicy attest verify` runs on it alone and in --batch runs of N copies
(the predictions are made once per run: the difference between two batch sizes is the cost of
one more evidence file). Prints the evidence size, CPU time per evidence and peak memory.

  tests/bench/attest-bench.py [--batch N] [--repeat N]

Needs `make all slpolicy sll-attest` (make bench does it)."""
import argparse
import json
import os
import subprocess
import sys
import tempfile

from sll_test.attest import attest_boot, slpolicy_attest
from sll_test.e2e import build_runtime
from sll_test.paths import BUILD, IMAGE, RUNTIME, SLPOLICY
from sll_test.pcr import drtm_pcr17, zero
from sll_test.staging import Stage
from sll_test.swtpm import ek_ca_certs, setup_state

CMDLINE = "console=ttyS0 panic=-1 sll.attest=ttyS1"
BANKS = ("sha1", "sha256")


def launch_and_quote(tmp):
    """One launch; the runtime enrolls and quotes. Returns (evidence, machine, nonce, policy,
    root)."""
    kernel, initrd = build_runtime()
    with open(os.path.join(RUNTIME, "attest.img"), "rb") as f:
        attest = f.read()
    s = Stage(os.path.join(tmp, "ok"))
    s.put_policy(s.put_launch(kernel, [("/initrd.img", initrd), ("/attest.img", attest)],
                              CMDLINE))
    ca, state = os.path.join(tmp, "ca"), os.path.join(tmp, "tpm")
    setup_state(state, BANKS, ek_ca=ca)
    files = {n: os.path.join(tmp, n) for n in ("enroll.json", "cred.json", "pending.json",
                                               "activated.json", "machine.json",
                                               "evidence.json")}

    def session(ch):
        ok, text = ch.enroll()
        open(files["enroll.json"], "w").write(text)
        cas = sum((["--ca", c] for c in ek_ca_certs(ca)), [])
        slpolicy_attest("enroll", files["enroll.json"], *cas, "--credential",
                        files["cred.json"], "--pending", files["pending.json"])
        ok, text = ch.activate(open(files["cred.json"], "rb").read())
        open(files["activated.json"], "w").write(text)
        slpolicy_attest("trust", files["pending.json"], files["activated.json"], "--out",
                        files["machine.json"])
        nonce = slpolicy_attest("nonce").stdout.strip()
        ok, text = ch.quote(nonce, BANKS)
        open(files["evidence.json"], "w").write(text)
        return nonce

    logs = os.path.join(BUILD, "bench", "attest")
    os.makedirs(logs, exist_ok=True)
    b, nonce = attest_boot("bench-attest", s, logs, session, banks=BANKS, tpm_state=state,
                           timeout=400)
    if not isinstance(nonce, str):
        sys.exit(f"attest-bench: the launch did not answer: {nonce} (see {logs})")
    return files["evidence.json"], files["machine.json"], nonce, \
        s.dir + "/slaunch/policy.json", s.dir


def run_measured(argv):
    """(seconds of CPU, user + system, from wait4; peak RSS in KiB; exit status) of one run.
    The RSS comes from GNU time, which forks from its own small image: wait4's ru_maxrss of a
    child spawned from Python starts at the Python process's RSS (vfork, then exec)."""
    proc = subprocess.Popen(["/usr/bin/time", "-f", "%M", *argv], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    err = proc.stderr.read()
    _, status, ru = os.wait4(proc.pid, 0)
    rss = int(err.strip().splitlines()[-1]) if err.strip() else -1
    return ru.ru_utime + ru.ru_stime, rss, os.waitstatus_to_exitcode(status)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    with open(IMAGE, "rb") as f:
        image = f.read()
    pcrs = ["--pcr", f"17={drtm_pcr17('sha256', image).hex()}",
            "--pcr", f"18={zero('sha256').hex()}"]
    with tempfile.TemporaryDirectory() as tmp:
        evidence, machine, nonce, policy, root = launch_and_quote(tmp)
        common = [SLPOLICY, "attest", "verify", "--policy", policy, "--root", root, *pcrs]
        one = common + [evidence, "--machine", machine, "--nonce", nonce]
        cpu, rss, rc = min(run_measured(one) for _ in range(args.repeat))
        if rc != 0:
            sys.exit(f"attest-bench: the evidence was refused ({' '.join(one)})")
        runs = {}
        for n in (1, args.batch + 1):
            batch = os.path.join(tmp, f"batch-{n}")
            with open(batch, "w") as f:
                f.write(f"{evidence} {machine} {nonce}\n" * n)
            runs[n] = min(run_measured(common + ["--batch", batch])
                          for _ in range(args.repeat))
            if runs[n][2] != 0:
                sys.exit(f"attest-bench: a batch of {n} was refused")
        per = (runs[args.batch + 1][0] - runs[1][0]) / args.batch
        with open(evidence) as f:
            doc = json.load(f)
        size = os.path.getsize(evidence)
        log = len(doc.get("eventlog", "")) // 2
        hashed = sum(os.path.getsize(os.path.join(root, p))
                     for p in ("vmlinuz", "initrd.img", "attest.img"))
        print("6. Attestation verifier (slpolicy attest verify; CPU = user + system, best of "
              f"{args.repeat})")
        print(f"  evidence file: {size} bytes (event log {log} bytes, as hex in the JSON)")
        print(f"  one evidence, whole run (predictions hash {hashed / (1 << 20):.1f} MiB of "
              f"kernel and initrds): {cpu * 1000:.1f} ms CPU, peak RSS {rss} KiB")
        print(f"  batch of {args.batch + 1}: {runs[args.batch + 1][0]:.2f} s CPU, peak RSS "
              f"{runs[args.batch + 1][1]} KiB; batch of 1: {runs[1][0] * 1000:.1f} ms CPU")
        print(f"  per evidence file (difference / {args.batch}): {per * 1e6:.0f} us CPU "
              f"({60 / per:.0f} evidence files a minute on one core)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
