#!/usr/bin/env python3
"""e2e: remote attestation of a launch (with DRTM, and one without). The swtpm the boots use has an EK certificate from a
local CA; the runtime OS (with attest.img) answers the verifier on a second serial port while
it runs: it enrolls (sll-attest enroll; the host's `slpolicy attest enroll` checks the EK
certificate and makes a credential; the runtime activates it; `slpolicy attest trust`), then
quotes the host's fresh nonces. The host verifies: the verdict names the policy, the entry and
the kernel and initrds by digest (computed here with hashlib). Refused, each with its line: a
replayed quote, an altered event log, altered PCR values, a policy that is not accepted, one
under the anti-rollback floor, the wrong bank, another SL image's PCR 17, a measured-only launch
of a changed kernel (the verdict names the kernel event and both digests) and a launch that
failed and capped its PCRs (then booted its recovery entry)."""
import concurrent.futures
import hashlib
import json
import os
import shutil
import sys
import tempfile

from sll_test.attest import attest_boot, slpolicy_attest
from sll_test.checks import Checks
from sll_test.e2e import build_runtime, variant_kernel
from sll_test.paths import BUILD, IMAGE, RUNTIME
from sll_test.pcr import drtm_pcr17, zero
from sll_test.staging import Stage
from sll_test.swtpm import ek_ca_certs, setup_state

CMDLINE = "console=ttyS0 panic=-1 sll.test=1 sll.attest=ttyS1"
BANKS = ("sha1", "sha256")
LOGS = os.path.join(BUILD, "test-logs", "e2e-attest")

t = Checks()


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def enroll_and_quote(tmp, cas):
    """The session of the first boot: enrollment, then two quotes (both banks; sha256 only)."""
    def session(ch):
        out = {}
        ok, text = ch.enroll()
        if not ok:
            return {"error": "enroll: " + text}
        enroll = write(os.path.join(tmp, "enroll.json"), text)
        cred, pending = os.path.join(tmp, "cred.json"), os.path.join(tmp, "pending.json")
        r = slpolicy_attest("enroll", enroll, *sum((["--ca", c] for c in cas), []),
                            "--credential", cred, "--pending", pending)
        out["enroll"] = r
        with open(cred, "rb") as f:
            ok, text = ch.activate(f.read())
        if not ok:
            return {"error": "activate: " + text}
        activated = write(os.path.join(tmp, "activated.json"), text)
        out["machine"] = os.path.join(tmp, "machine.json")
        out["trust"] = slpolicy_attest("trust", pending, activated, "--out", out["machine"])
        for name, banks in (("both", BANKS), ("sha256", ("sha256",))):
            nonce = slpolicy_attest("nonce").stdout.strip()
            ok, text = ch.quote(nonce, banks)
            out[name] = (nonce, write(os.path.join(tmp, f"evidence-{name}.json"), text), ok)
        return out
    return session


def quote_once(tmp, name):
    def session(ch):
        nonce = slpolicy_attest("nonce").stdout.strip()
        ok, text = ch.quote(nonce, BANKS)
        return {"quote": (nonce, write(os.path.join(tmp, f"evidence-{name}.json"), text), ok)}
    return session


class Verifier:
    """slpolicy attest verify with this machine and, unless told otherwise, the sha256 bank
    and the launcher's PCRs the simulated DCE leaves (computed here)."""

    def __init__(self, machine, image):
        self.machine = machine
        self.image = image
        self.pcrs = self.launcher(("sha256",))

    def launcher(self, banks):
        args = []
        for alg in banks:
            args += ["--pcr", f"{alg}:17={drtm_pcr17(alg, self.image).hex()}",
                     "--pcr", f"{alg}:18={zero(alg).hex()}"]
        return args

    def __call__(self, evidence, nonce, policies, root, *args, pcrs=None):
        cmd = ["verify", evidence, "--machine", self.machine, "--nonce", nonce, "--root", root]
        for p in policies:
            cmd += ["--policy", p]
        return slpolicy_attest(*cmd, *(self.pcrs if pcrs is None else pcrs), *args)


def stages(tmp, kernel, initrds):
    """The three boot partitions: a verified launch, a measured-only one whose kernel is then
    changed (its verifier root keeps the original), and an on_failure: cap one whose main
    kernel is then changed. Returns {name: (stage, policy file, verifier root, append)}."""
    out = {}
    s = Stage(os.path.join(tmp, "ok"))
    s.put_policy(s.put_launch(kernel, initrds, CMDLINE))
    out["ok"] = (s, s.dir + "/slaunch/policy.json", s.dir, "")

    s = Stage(os.path.join(tmp, "nodrtm"))
    policy = s.put_launch(kernel, initrds, CMDLINE)
    policy["require_drtm"] = False
    s.put_policy(policy)
    out["nodrtm"] = (s, s.dir + "/slaunch/policy.json", s.dir, "")

    s = Stage(os.path.join(tmp, "measured"))
    policy = s.put_launch(kernel, initrds, CMDLINE)
    del policy["entries"][0]["allow"]
    s.put_policy(policy)
    root = os.path.join(tmp, "measured-root")
    shutil.copytree(s.dir, root)
    s.put("/vmlinuz", variant_kernel(kernel))
    out["measured"] = (s, root + "/slaunch/policy.json", root, "")

    s = Stage(os.path.join(tmp, "cap"))
    policy = s.put_launch(kernel, initrds, CMDLINE)
    s.put("/vmlinuz-rescue", kernel)
    policy["entries"][0]["name"] = "main"
    policy["entries"].append({"name": "rescue", "kernel": "/vmlinuz-rescue",
                              "initrd": [n for n, _ in initrds], "cmdline": CMDLINE + " rescue"})
    policy.update(on_failure="cap", recovery="rescue", measured_fallback=True)
    s.put_policy(policy)
    root = os.path.join(tmp, "cap-root")
    shutil.copytree(s.dir, root)
    s.put("/vmlinuz", variant_kernel(kernel))
    out["cap"] = (s, root + "/slaunch/policy.json", root, "sl.entry=main")
    return out


def boot_all(tmp, staged, state0, cas):
    """The four boots, two at a time, each on a copy of the enrolled TPM's state (the AK is a
    primary key of the endorsement hierarchy: the same in every copy)."""
    def one(name):
        s, _, _, append = staged[name]
        state = os.path.join(tmp, "tpm-" + name)
        shutil.copytree(state0, state)
        session = enroll_and_quote(tmp, cas) if name == "ok" else quote_once(tmp, name)
        return attest_boot(name, s, LOGS, session, banks=BANKS, append=append,
                           tpm_state=state, timeout=400, drtm=name != "nodrtm")
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        futures = {name: pool.submit(one, name) for name in staged}
        return {name: f.result() for name, f in futures.items()}


def check_enrollment(boot, out):
    t.check(boot.kexeced and boot.failed_line() is None, "ok: verified launch into the runtime")
    t.check(isinstance(out, dict) and "error" not in out,
            f"ok: the runtime OS answered on its serial port: {out}")
    if not isinstance(out, dict) or "error" in out:
        return False
    r = out["enroll"]
    t.check(r.returncode == 0, f"ok: attest enroll: the EK certificate chains to the CA "
            f"{r.stdout}{r.stderr}")
    r = out["trust"]
    t.check(r.returncode == 0, f"ok: attest trust: the runtime's TPM activated the credential "
            f"{r.stdout}{r.stderr}")
    t.check("sll-runtime: attest: 4 requests answered" in boot.log,
            "ok: the runtime answered enroll, activate and two quotes")
    return r.returncode == 0


def check_accepted(verify, ev, nonce, policy, root, kernel, initrds, boot):
    r = verify(ev, nonce, [policy], root)
    lines = r.stdout.splitlines()
    t.check(r.returncode == 0 and lines and lines[0] ==
            f"{ev}: accepted: policy {policy} (serial 1), entry \"debian\"",
            f"ok: the verdict accepts and names policy and entry: {r.stdout}{r.stderr}")
    for path, data in [("/vmlinuz", kernel)] + initrds:
        what = "kernel" if path == "/vmlinuz" else "initrd"
        want = hashlib.sha256(data).hexdigest()
        t.check(any(line.startswith("  PCR 22 ") and f"sha256:{want}" in line and
                    line.endswith(f"sll: {what} {path}") for line in lines),
                f"ok: the verdict names {what} {path} with its sha256 (hashlib) {want[:16]}...")
    r = verify(ev, nonce, [policy], root, "--format", "json")
    v = json.loads(r.stdout) if r.returncode == 0 else {}
    t.check(v.get("verdict") == "accepted" and v.get("entry") == "debian" and
            any(e["sha256"] == hashlib.sha256(kernel).hexdigest() and e["pcr"] == 22
                for e in v.get("events", [])), f"ok: --format json says the same: {r.stdout}")
    with open(ev) as f:
        quoted = json.load(f)["pcrs"]
    t.check(all(quoted[alg][str(p)] == boot.pcrs[alg][p] for alg in BANKS
                for p in range(17, 23)),
            "ok: the quoted PCRs 17-22 are those the runtime OS read from sysfs")


def edited(src, dst, change):
    with open(src) as f:
        doc = json.load(f)
    change(doc)
    with open(dst, "w") as f:
        json.dump(doc, f)
    return dst


def check_refusals(verify, out, policy, root, kernel, image, tmp):
    nonce, ev, _ = out["both"]
    nonce2, ev2, _ = out["sha256"]

    def refused(name, r, want):
        t.check(r.returncode == 1 and want in r.stdout, f"{name}: refused: {r.stdout.strip()}"
                f"{r.stderr.strip()}")

    batch = write(os.path.join(tmp, "batch"), f"{ev} {verify.machine} {nonce}\n"
                  f"{ev2} {verify.machine} {nonce2}\n{ev} {verify.machine} {nonce2}\n")
    r = slpolicy_attest("verify", "--batch", batch, "--policy", policy, "--root", root,
                        *verify.pcrs)
    lines = [line for line in r.stdout.splitlines() if not line.startswith("  ")]
    t.check(r.returncode == 1 and lines == [
        f"{ev}: accepted: policy {policy} (serial 1), entry \"debian\"",
        f"{ev2}: accepted: policy {policy} (serial 1), entry \"debian\"",
        f"{ev}: refused: /quote: answers another challenge than this nonce: a replayed or "
        "stale quote"], f"--batch: one verdict per line, the replayed one refused: {lines}")
    refused("replayed quote", verify(ev, nonce2, [policy], root),
            f"{ev}: refused: /quote: answers another challenge than this nonce: a replayed "
            "or stale quote")
    good, bad = hashlib.sha256(kernel).hexdigest(), hashlib.sha256(variant_kernel(kernel))
    swapped = os.path.join(tmp, "evidence-log-altered.json")
    edited(ev, swapped, lambda d: d.update(eventlog=d["eventlog"].replace(good,
                                                                         bad.hexdigest())))
    refused("altered event log", verify(swapped, nonce, [policy], root),
            "refused: /eventlog: does not replay to the quoted PCR 22 (sha256): the log gives ")

    def bump_pcr(d):
        d["pcrs"]["sha256"]["22"] = "00" * 32
    altered = edited(ev, os.path.join(tmp, "evidence-pcr-altered.json"), bump_pcr)
    refused("altered PCR values", verify(altered, nonce, [policy], root),
            "refused: /pcrs: the values are not the ones the TPM quoted")

    with open(policy) as f:
        newer = json.load(f)
    newer["serial"] = 2
    other = write(os.path.join(tmp, "policy-serial-2.json"), json.dumps(newer, indent=1))
    refused("a policy that is not accepted", verify(ev, nonce, [other], root),
            f"refused: event 1 (PCR 21, \"sll: policy /slaunch/policy.json\") differs from "
            f"every accepted launch: sha256 ")
    r = verify(ev, nonce, [other, policy], root)
    t.check(r.returncode == 0 and f"accepted: policy {policy} (serial 1)" in r.stdout,
            f"current and upgrade policies both accepted: the launched one is named: {r.stdout}")
    refused("under the anti-rollback floor", verify(ev, nonce, [other, policy], root,
                                                    "--min-serial", "2"),
            f"refused: launched policy {policy} (serial 1), below the anti-rollback floor 2 "
            "(--min-serial): a rolled-back policy")
    r = verify(ev, nonce, [policy], root, "--bank", "sha1", "--bank", "sha256",
               pcrs=verify.launcher(BANKS))
    t.check(r.returncode == 0, f"both banks checked: accepted {r.stdout.strip()}")
    refused("a bank the quote lacks", verify(ev2, nonce2, [policy], root, "--bank", "sha1",
                                             "--bank", "sha256", pcrs=verify.launcher(BANKS)),
            "refused: /quote: does not cover PCR 17 in bank sha1 (the quote has no such bank)")
    refused("a bank the TPM lacks", verify(ev, nonce, [policy], root, "--bank", "sha384",
                                           pcrs=["--pcr", "sha384:17=" + "00" * 48,
                                                 "--pcr", "sha384:18=" + "00" * 48]),
            "refused: /quote: does not cover PCR 17 in bank sha384 (the quote has no such bank)")
    other17 = drtm_pcr17("sha256", image + b"another SL image")
    refused("another SL image", verify(ev2, nonce2, [policy], root, pcrs=[
        "--pcr", f"17={other17.hex()}", "--pcr", "18=" + "00" * 32]),
        "refused: PCR 17 (sha256) is ")


def main():
    os.makedirs(LOGS, exist_ok=True)
    kernel, initrd = build_runtime()
    with open(os.path.join(RUNTIME, "attest.img"), "rb") as f:
        attest = f.read()
    with open(IMAGE, "rb") as f:
        image = f.read()
    initrds = [("/initrd.img", initrd), ("/attest.img", attest)]
    with tempfile.TemporaryDirectory() as tmp:
        ca, state0 = os.path.join(tmp, "ca"), os.path.join(tmp, "tpm0")
        setup_state(state0, BANKS, ek_ca=ca)
        staged = stages(tmp, kernel, initrds)
        boots = boot_all(tmp, staged, state0, ek_ca_certs(ca))
        boot, out = boots["ok"]
        if not check_enrollment(boot, out):
            return t.summary()
        verify = Verifier(out["machine"], image)
        _, policy, root, _ = staged["ok"]
        nonce, ev, ok = out["both"]
        t.check(ok, "ok: the runtime's sll-attest quote answered")
        check_accepted(verify, ev, nonce, policy, root, kernel, initrds, boot)
        check_refusals(verify, out, policy, root, kernel, image, tmp)

        check_measured(verify, boots["measured"], staged["measured"], kernel)
        check_capped(verify, boots["cap"], staged["cap"])
        check_no_drtm(verify, boots["nodrtm"], staged["nodrtm"])
    return t.summary()


def quoted(name, booted, what):
    """The (nonce, evidence file) of a boot whose runtime OS quoted, else None (a failed
    check)."""
    boot, out = booted
    ok = isinstance(out, dict) and out["quote"][2]
    t.check(ok and what(boot), f"{name}: {what.__doc__} and quoted: {out} "
            f"{boot.failed_line()}")
    return out["quote"][:2] if ok else None


def check_measured(verify, booted, staged, kernel):
    def booted_changed(boot):
        """the changed kernel booted (measured only)"""
        return boot.failed_line() is None and boot.kexeced
    got = quoted("measured", booted, booted_changed)
    if not got:
        return
    nonce, ev = got
    _, policy, root, _ = staged
    r = verify(ev, nonce, [policy], root)
    good = hashlib.sha256(kernel).hexdigest()
    bad = hashlib.sha256(variant_kernel(kernel)).hexdigest()
    t.check(r.returncode == 1 and f"(PCR 22, \"sll: kernel /vmlinuz\") differs from every "
            f"accepted launch: sha256 {bad}; the closest, policy {policy}, entry \"debian\", "
            f"expects \"sll: kernel /vmlinuz\" (PCR 22) sha256 {good}" in r.stdout,
            f"measured: the verdict names the kernel event with both digests (hashlib): "
            f"{r.stdout.strip()}")


def check_capped(verify, booted, staged):
    def recovered(boot):
        """main refused, the recovery entry booted"""
        return boot.failed_line() is not None and "rescue" in boot.log
    got = quoted("cap", booted, recovered)
    if not got:
        return
    nonce, ev = got
    _, policy, root, _ = staged
    r = verify(ev, nonce, [policy], root)
    t.check(r.returncode == 1 and "refused: the launch failed and capped its PCRs (event "
            in r.stdout and "sll: failure: " in r.stdout,
            f"cap: the verdict says the launch failed: {r.stdout.strip()}")


def check_no_drtm(verify, booted, staged):
    """Without DRTM slinit records into PCRs 12 and 13: attested with --no-drtm and the
    machine's PCRs 4 and 7 (as the runtime OS read them); not as a DRTM launch."""
    def launched(b):
        """launched without DRTM"""
        return b.failed_line() is None and "no dynamic launch" in b.log
    got = quoted("nodrtm", booted, launched)
    if not got:
        return
    nonce, ev = got
    boot = booted[0]
    _, policy, root, _ = staged
    pcrs = ["--pcr", f"4={boot.pcrs['sha256'][4]}", "--pcr", f"7={boot.pcrs['sha256'][7]}"]
    r = verify(ev, nonce, [policy], root, "--no-drtm", pcrs=pcrs)
    t.check(r.returncode == 0 and r.stdout.startswith(f"{ev}: accepted: policy {policy}") and
            "  PCR 13 sha256:" + hashlib.sha256(open(root + "/vmlinuz", "rb").read()).hexdigest()
            in r.stdout, f"nodrtm: accepted with --no-drtm, the kernel in PCR 13: {r.stdout}")
    r = verify(ev, nonce, [policy], root)
    t.check(r.returncode == 1 and "refused: PCR 17 (sha256) is " + "f" * 64 in r.stdout,
            f"nodrtm: not accepted as a DRTM launch: {r.stdout.strip()}")


if __name__ == "__main__":
    sys.exit(main())
