#!/usr/bin/env python3
"""slpolicy allow: the digests of an upgrade's files (hashlib here) are added to the entry's
allow lists, the serial goes up by one, the result passes slpolicy check, and with --key the
new bytes are signed again (slpolicy verify); refusals for a measured-only entry and bad use."""
import hashlib
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from staging import SLPOLICY, new_policy, put_files  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tests/
from checks import Checks  # noqa: E402

t = Checks()
check = t.check


def run(*args):
    r = subprocess.run([SLPOLICY] + list(args), capture_output=True, text=True)
    return r.returncode, r.stdout, r.stderr


def main():
    with tempfile.TemporaryDirectory() as tmp:
        boot = os.path.join(tmp, "boot")
        files = {n: os.urandom(3000) for n in ("vmlinuz", "vmlinuz-new", "initrd", "initrd-new")}
        put_files(boot, {"/" + n: data for n, data in files.items()})
        pol = os.path.join(tmp, "policy.json")
        new_policy(boot, "/vmlinuz", ["/initrd"], "quiet", policy=pol)
        key, pub = os.path.join(tmp, "key.pem"), os.path.join(tmp, "key.pub.pem")
        subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", key], check=True)
        subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-out", pub], check=True)

        rc, out, err = run("allow", pol, "--root", boot, "--kernel", "/vmlinuz-new", "--initrd",
                           "/initrd-new", "--key", key)
        with open(pol) as f:
            p = json.load(f)
        sha = {n: "sha256:" + hashlib.sha256(d).hexdigest() for n, d in files.items()}
        allow = p["entries"][0]["allow"]
        check(rc == 0 and out.strip() == f"{pol}: serial 2", "allow: prints the new serial",
              out + err)
        check(allow["kernel"] == [sha["vmlinuz"], sha["vmlinuz-new"]] and
              allow["initrd"] == [sha["initrd"], sha["initrd-new"]],
              "allow: old and new digests in the allow lists (hashlib)", allow)
        check(p["serial"] == 2 and p["entries"][0]["kernel"] == "/vmlinuz",
              "allow: serial 1 -> 2, the entry's paths unchanged")
        check(run("check", pol)[0] == 0, "allow: the result passes slpolicy check")
        rc, out, err = run("verify", "--pubkey", pub, pol)
        check(rc == 0 and out.strip() == "ok", "allow --key: the new bytes are signed again",
              out + err)
        rc, out, err = run("allow", pol, "--root", boot, "--kernel", "/vmlinuz-new")
        with open(pol) as f:
            p = json.load(f)
        check(rc == 0 and p["serial"] == 3 and
              p["entries"][0]["allow"]["kernel"].count(sha["vmlinuz-new"]) == 1,
              "allow twice: no duplicate digest, serial 3")
        rc, out, err = run("verify", "--pubkey", pub, pol)
        check(rc == 1, "allow without --key: the old signature no longer verifies", out + err)

        rc, out, err = run("allow", pol, "--root", boot, "--kernel", "/missing")
        check(rc == 1 and "/missing" in err, "a missing file refused", err)
        del p["entries"][0]["allow"]
        with open(pol, "w") as f:
            json.dump(p, f)
        before = open(pol).read()
        rc, out, err = run("allow", pol, "--root", boot, "--kernel", "/vmlinuz-new")
        check(rc == 1 and "measured only" in err and open(pol).read() == before,
              "allow on a measured-only entry refused, policy untouched", err)
        for args, what in ((["--root", boot], "no --kernel/--initrd"),
                           (["--kernel", "/vmlinuz"], "no --root")):
            rc, out, err = run("allow", pol, *args)
            check(rc == 2, f"usage error: {what}", err)
    return t.summary()


if __name__ == "__main__":
    sys.exit(main())
