#!/usr/bin/env python3
"""tools/sll-manage against swtpm on the host: enroll, then approve a staged policy.

The management state here is PCR 16 (resettable, so not a real one: the e2e test
tests/e2e/test-manage-upgrade.py seals to a real management launch); PCR 17 is a simulated
dynamic launch. Checked:
- enroll seals a KEK at the handle and writes the encrypted keys file, holding neither key in
  clear; refuses a policy key that is not Ed25519;
- approve before the management state: the TPM refuses the KEK (its policy error shown), nothing
  on the boot directory changes; the same with a keys file that was replaced, with an answer
  other than "yes", and with a staged serial not above the live one;
- approve shows the entries and digests and the changes, then: the live policy is the staged
  bytes, its .sig one signature slpolicy verify accepts, the runtime entry's state signed with
  the state key (openssl verifies the signature over the policy digest and the label; the
  digest is sll-seal policy's for slpolicy predict's values), and --raise-floor sets an
  ordinary index and a counter to the new serial;
- an interruption after each step (the step hook kills sll-manage) leaves a policy and .sig
  that slpolicy verify accepts: the old one before the policy step, the new one after;
- nothing staged: says so, exit 0; a control character in the staged policy is shown as '?'.
"""
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile

from sll_test.checks import Checks
from sll_test.manage import make_keys
from sll_test.paths import BUILD, ROOT, SLPOLICY
from sll_test.swtpm import SwTpm

SLL_MANAGE = os.path.join(ROOT, "tools", "sll-manage")
HANDLE = "0x81000110"
KEY_PCRS = "sha256:16"
STEPS = ("states", "sig-both", "policy", "sig-new")
t = Checks()


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, **kw)


def put(boot, path, data):
    os.makedirs(os.path.dirname(boot + path), exist_ok=True)
    with open(boot + path, "wb") as f:
        f.write(data)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def make_boot(boot, k):
    """A boot directory: serial 1 (runtime "debian", management "management"), signed; a new kernel
    and the policy that allows it staged (serial 2), as sll-kernel-hook or allow leave it, its
    list also allowing the old kernel."""
    for p in ("/vmlinuz-1", "/vmlinuz-2", "/initrd-1", "/vmlinuz-m", "/initrd-m"):
        put(boot, p, p.encode() * 1000)
    r = run([SLPOLICY, "new", "--root", boot, "--kernel", "/vmlinuz-1", "--initrd", "/initrd-1",
             "--cmdline", "quiet", "--name", "debian", "--management-kernel", "/vmlinuz-m", "--management-initrd",
             "/initrd-m", "--management-cmdline", "quiet sll.role=management"], check=True)
    put(boot, "/slaunch/policy.json", r.stdout)
    live = boot + "/slaunch/policy.json"
    run([SLPOLICY, "sign", "--key", k["ed.pem"], live], check=True)
    shutil.copy(live, live + ".staged")
    run([SLPOLICY, "allow", live + ".staged", "--root", boot, "--entry", "debian", "--kernel",
         "/vmlinuz-2", "--move"], check=True)
    # The old kernel's digest still allowed too (a downgrade path the admin should see).
    staged = json.loads(read(live + ".staged"))
    old = "sha256:" + hashlib.sha256(read(boot + "/vmlinuz-1")).hexdigest()
    staged["entries"][0]["allow"]["kernel"].append(old)
    with open(live + ".staged", "w") as f:
        json.dump(staged, f, indent=1)
    return live


def snapshot(boot):
    out = {}
    for d, _, files in os.walk(boot):
        for f in files:
            out[os.path.relpath(os.path.join(d, f), boot)] = read(os.path.join(d, f))
    return out


def verify(k, live):
    return run([SLPOLICY, "verify", "--pubkey", k["ed.pub"], live]).stdout == b"ok\n"


def main():
    env = dict(os.environ, PATH=os.path.join(ROOT, "tools") + ":" + BUILD + ":" +
               os.environ["PATH"])
    with tempfile.TemporaryDirectory() as tmp, SwTpm(os.path.join(tmp, "tpm")) as tpm:
        k = make_keys(tmp)
        tpm.dynamic_launch(b"sl image")
        mark = hashlib.sha256(b"management launch").digest()
        values = os.path.join(tmp, "values")
        with open(values, "wb") as f:
            f.write(hashlib.sha256(bytes(32) + mark).digest())
        keyfile = os.path.join(tmp, "approval.keys")

        def manage(*args, stdin=b"", hook=None):
            e = dict(tpm.env, PATH=env["PATH"], CUT=env.get("CUT", ""))
            if hook:
                e["SLL_MANAGE_STEP_HOOK"] = hook
            r = run([SLL_MANAGE, *args], env=e, input=stdin)
            for what in ("-t", "-l", "-s"):
                run(["tpm2_flushcontext", what], env=e)
            return r

        r = manage("enroll", "--handle", HANDLE, "--pcrs", KEY_PCRS, "--values", values,
                   "--policy-key", k["rsa.pem"], "--state-key", k["rsa.pem"], "--out", keyfile)
        t.check(r.returncode == 1 and b"not an Ed25519 private key" in r.stderr
                and not os.path.exists(keyfile), "enroll refuses an RSA key as the policy key",
                r.stderr.decode())
        r = manage("enroll", "--handle", HANDLE, "--pcrs", KEY_PCRS, "--values", values,
                   "--policy-key", k["ed.pem"], "--state-key", k["rsa.pem"], "--out", keyfile)
        t.check(r.returncode == 0 and os.path.exists(keyfile), "enroll: sealed and written",
                r.stderr.decode())
        enc = read(keyfile) if os.path.exists(keyfile) else b""
        t.check(b"PRIVATE KEY" not in enc and read(k["ed.pem"]) not in enc,
                "the keys file holds no key in clear")

        boot = os.path.join(tmp, "boot")
        live = make_boot(boot, k)
        approve = ["approve", "--boot", boot, "--handle", HANDLE, "--pcrs", KEY_PCRS, "--keys",
                   keyfile, "--state-pcrs", "sha256:17,18,21,22"]
        before = snapshot(boot)

        r = manage(*approve, "--yes")
        t.check(r.returncode == 1 and b"a policy check failed" in r.stderr and
                b"does not unseal: this is not the enrolled management launch" in r.stderr and
                snapshot(boot) == before, "not the management state: the TPM refuses the KEK, "
                "nothing changed", r.stderr.decode()[-300:])

        t.check(tpm.extend(16, b"management launch", ["sha1", "sha256"], locality=0) == 0,
                "PCR 16 extended to the management state")
        other = os.path.join(tmp, "other.keys")
        with open(other, "wb") as f:
            f.write(enc[:40] + bytes([enc[40] ^ 1]) + enc[41:])
        r = manage(*approve[:-3], other, "--yes")
        t.check(r.returncode == 1 and b"does not decrypt with the sealed KEK to the two keys" in r.stderr
                and snapshot(boot) == before, "a damaged keys file: refused, nothing changed",
                r.stderr.decode()[-200:])
        r = manage(*approve, stdin=b"no\n")
        out = r.stderr.decode()
        t.check(r.returncode == 1 and 'not approved ("no"); nothing changed' in out
                and snapshot(boot) == before, "answered no: nothing changed", out[-200:])
        d2 = hashlib.sha256(read(boot + "/vmlinuz-2")).hexdigest()
        d1 = hashlib.sha256(read(boot + "/vmlinuz-1")).hexdigest()
        t.check(f"/vmlinuz-2 sha256:{d2} (allowed)" in out and "serial 1 -> 2" in out and
                f"the list also allows sha256:{d1}" in out and
                any(x.startswith("sll-manage: | +") and "/vmlinuz-2" in x
                    for x in out.splitlines()),
                "the admin is shown the kernel, its digest, the other digests its list allows "
                "(the old kernel's) and the changes", out[:600])

        staged = read(live + ".staged")
        r = manage(*approve, stdin=b"yes\n")
        t.check(r.returncode == 0 and b"approved: " in r.stderr, "answered yes: approved",
                r.stderr.decode()[-300:])
        t.check(read(live) == staged and not os.path.exists(live + ".staged"),
                "the live policy is the staged bytes")
        t.check(len(read(live + ".sig")) == 64 and verify(k, live),
                "its .sig is one signature slpolicy verify accepts")
        state = os.path.join(boot, "slaunch", "signed", "serial2-debian")
        if os.path.exists(state + ".policy"):
            msg = os.path.join(tmp, "msg")
            with open(msg, "wb") as f:
                f.write(read(state + ".policy") + b"sll-seal")
            ok = run(["openssl", "dgst", "-sha256", "-verify", k["rsa.pub"], "-signature",
                      state + ".sig", msg]).returncode == 0
            p17 = run(["tpm2_pcrread", "sha256:17", "-o", os.path.join(tmp, "p17")],
                      env=tpm.env)
            pred = run([SLPOLICY, "predict", live, "--root", boot, "--entry", "debian",
                        "--bank", "sha256", "--pcr", "17=" + read(os.path.join(tmp, "p17")).hex(),
                        "--pcr", "18=" + "00" * 32, "--pcrs", "17,18,21,22", "--format",
                        "tpm2"])
            with open(os.path.join(tmp, "pred"), "wb") as f:
                f.write(pred.stdout)
            pol = tpm.tool(os.path.join(ROOT, "tools", "sll-seal"), "policy", "--pcrs",
                           "sha256:17,18,21,22", "--values", os.path.join(tmp, "pred"))
            t.check(ok and p17.returncode == 0 and
                    pol.stdout.decode().strip() == read(state + ".policy").hex(),
                    "the runtime state is signed: the state key's signature over the policy "
                    "digest of slpolicy predict's values and the label")
        else:
            t.check(False, "the runtime state is signed", "no " + state + ".policy")
        r = manage(*approve, "--yes")
        t.check(r.returncode == 0 and b"nothing staged" in r.stderr, "nothing staged: exit 0")

        # A staged serial that is not above the live one.
        same = json.loads(read(live))
        same["entries"][0]["cmdline"] += " changed"
        with open(live + ".staged", "w") as f:
            json.dump(same, f, indent=1)
        before = snapshot(boot)
        r = manage(*approve, "--yes")
        t.check(r.returncode == 1 and b"serial 2 is not above the live policy's (2)" in r.stderr
                and snapshot(boot) == before, "a staged serial not above: refused",
                r.stderr.decode()[-200:])
        # The live policy's own bytes staged (an approval cut short after its policy step).
        shutil.copy(live, live + ".staged")
        r = manage(*approve, "--yes")
        t.check(r.returncode == 0 and b"the staged policy is the live one already: removed"
                in r.stderr and not os.path.exists(live + ".staged"),
                "the live policy staged again: the leftover is removed, exit 0",
                r.stderr.decode()[-200:])

        # Interrupted after each step: a policy slinit accepts, old or new.
        hook = os.path.join(tmp, "cut")
        with open(hook, "w") as f:
            f.write('#!/bin/sh\n[ "$1" = "$CUT" ] && kill -9 $PPID\nexit 0\n')
        os.chmod(hook, 0o755)
        for i, step in enumerate(STEPS):
            b = os.path.join(tmp, "cut-" + step)
            live = make_boot(b, k)
            env["CUT"] = step
            r = manage("approve", "--boot", b, "--handle", HANDLE, "--pcrs", KEY_PCRS, "--keys",
                       keyfile, "--yes", hook=hook)
            serial = b'"serial": 2' in read(live)
            want_new = i >= STEPS.index("policy")
            t.check(r.returncode == -signal.SIGKILL and f"step {step} done".encode() in r.stderr
                    and verify(k, live) and serial == want_new,
                    f"cut after {step}: the {'new' if want_new else 'old'} policy, its .sig "
                    "verifies", r.stderr.decode()[-200:])

        # A terminal control sequence in the staged policy (U+009B, CSI in UTF-8): shown as '?'.
        b = os.path.join(tmp, "csi")
        live = make_boot(b, k)
        staged = json.loads(read(live + ".staged"))
        staged["entries"][0]["cmdline"] += " \u009b2K"
        staged["entries"][1]["kernel"] += "\u009b1A"  # the management entry's: never predicted
        with open(live + ".staged", "wb") as f:
            f.write(json.dumps(staged, indent=1, ensure_ascii=False).encode())
        r = manage("approve", "--boot", b, "--handle", HANDLE, "--pcrs", KEY_PCRS, "--keys",
                   keyfile, stdin=b"no\n")
        t.check(b"\xc2\x9b" not in r.stderr and b'cmdline "quiet ??2K"' in r.stderr and
                b'sll-manage: | +' in r.stderr and b"/vmlinuz-m??1A: MISSING" in r.stderr,
                "a control character in the staged policy is shown as '?' (a command line, a "
                "path, the changes)", r.stderr.decode()[:300])

        # --raise-floor: an ordinary index, then a counter.
        for index, attrs in (("0x01500120", "ownerwrite|ownerread|authread|no_da"),
                             ("0x01500121", "nt=counter|ownerwrite|ownerread|authread|no_da")):
            tpm.tool("tpm2_nvdefine", index, "-C", "o", "-s", "8", "-a", attrs)
            if "counter" in attrs:
                tpm.tool("tpm2_nvincrement", index, "-C", "o")
            b = os.path.join(tmp, "floor-" + index)
            make_boot(b, k)
            r = manage("approve", "--boot", b, "--handle", HANDLE, "--pcrs", KEY_PCRS, "--keys",
                       keyfile, "--yes", "--raise-floor", index)
            v = tpm.tool("tpm2_nvread", index, "-C", "o", "-s", "8").stdout
            t.check(r.returncode == 0 and int.from_bytes(v, "big") == 2,
                    f"--raise-floor {index} ({attrs.split('|')[0]}): the floor is 2",
                    f"{v.hex()} {r.stderr.decode()[-300:]}")
    return t.summary()


if __name__ == "__main__":
    sys.exit(main())
