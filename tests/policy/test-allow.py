#!/usr/bin/env python3
"""slpolicy allow: the digests of an upgrade's files (hashlib here) are added to the entry's
allow lists (the i-th --initrd to the list of the entry's i-th initrd), or with --replace put in
place of the old ones; the serial goes up by one, the result passes slpolicy check, and with
--key the new bytes are signed again (slpolicy verify); a policy in the first, flat form is
rewritten one allow-list per initrd; refusals for a measured-only entry, more --initrd than
the entry has initrds, and bad use."""
import hashlib
import json
import os
import subprocess
import sys
import tempfile

from sll_test.checks import Checks
from sll_test.staging import new_policy, put_files, slpolicy

t = Checks()
check = t.check


def run(*args):
    r = slpolicy(*args, text=True)
    return r.returncode, r.stdout, r.stderr


def read_json(path):
    with open(path) as f:
        return json.load(f)


def per_position(tmp):
    """Two initrds: the i-th --initrd goes to the i-th list, and only there."""
    boot = os.path.join(tmp, "boot2")
    names = ("vmlinuz", "ucode", "ucode-new", "initrd", "initrd-new", "extra")
    files = {n: os.urandom(2000) for n in names}
    put_files(boot, {"/" + n: data for n, data in files.items()})
    sha = {n: "sha256:" + hashlib.sha256(d).hexdigest() for n, d in files.items()}
    pol = os.path.join(tmp, "policy2.json")
    new_policy(boot, "/vmlinuz", ["/ucode", "/initrd"], "quiet", policy=pol)
    check(read_json(pol)["entries"][0]["allow"]["initrd"] == [[sha["ucode"]], [sha["initrd"]]],
          "new: one allow-list per initrd, in order")

    rc, out, err = run("allow", pol, "--root", boot, "--initrd", "/ucode-new", "--initrd",
                       "/initrd-new")
    lists = read_json(pol)["entries"][0]["allow"]["initrd"]
    check(rc == 0 and
          lists == [[sha["ucode"], sha["ucode-new"]], [sha["initrd"], sha["initrd-new"]]],
          "allow with two --initrd: each file's digest in its initrd's list only", lists)
    rc, out, err = run("allow", pol, "--root", boot, "--initrd", "/ucode-new", "--replace")
    p = read_json(pol)
    lists = p["entries"][0]["allow"]["initrd"]
    check(rc == 0 and lists == [[sha["ucode-new"]], [sha["initrd"], sha["initrd-new"]]] and
          p["serial"] == 3 and p["entries"][0]["allow"]["kernel"] == [sha["vmlinuz"]],
          "allow --replace with one --initrd: the first list replaced, the kernel's and the "
          "second one untouched, serial 3", lists)
    check(run("check", pol)[0] == 0, "two initrds after --replace: passes slpolicy check")

    before = open(pol).read()
    rc, out, err = run("allow", pol, "--root", boot, "--initrd", "/ucode", "--initrd",
                       "/initrd", "--initrd", "/extra")
    check(rc == 1 and err.strip() == f'slpolicy: {pol}: entry "default" has 2 initrds, not 3: '
          "the i-th --initrd gives the digest of its i-th initrd" and open(pol).read() == before,
          "three --initrd for two initrds refused, naming the entry; policy untouched", err)


def move(tmp):
    """--move: the entry switches to new files installed beside the old ones (as Debian installs
    a kernel), only their digests allowed; the other entry is left as it was."""
    boot = os.path.join(tmp, "boot-move")
    files = {n: os.urandom(3000) for n in ("vmlinuz-1", "initrd-1", "vmlinuz-2", "initrd-2")}
    put_files(boot, {"/" + n: d for n, d in files.items()})
    pol = os.path.join(tmp, "policy-move.json")
    p = json.loads(new_policy(boot, "/vmlinuz-1", ["/initrd-1"], "quiet"))
    p["entries"].append(dict(p["entries"][0], name="other"))
    with open(pol, "w") as f:
        json.dump(p, f)
    rc, out, err = run("allow", pol, "--root", boot, "--entry", "default", "--kernel",
                       "/vmlinuz-2", "--initrd", "/initrd-2", "--move")
    e, other = read_json(pol)["entries"]
    sha = {n: "sha256:" + hashlib.sha256(d).hexdigest() for n, d in files.items()}
    check(rc == 0 and e["kernel"] == "/vmlinuz-2" and e["initrd"] == ["/initrd-2"] and
          e["allow"] == {"kernel": [sha["vmlinuz-2"]], "initrd": [[sha["initrd-2"]]]},
          "allow --move: the entry's paths are the new files, only their digests allowed", e)
    check(other == p["entries"][1] and read_json(pol)["serial"] == p["serial"] + 1,
          "allow --move: the other entry unchanged, serial + 1")
    check(run("check", pol)[0] == 0, "allow --move: the result passes slpolicy check")


def flat_policy(tmp):
    """A policy of the first form (one flat allow.initrd for its one initrd) is rewritten one
    allow-list per initrd, whatever allow adds."""
    boot = os.path.join(tmp, "boot3")
    files = {n: os.urandom(1000) for n in ("vmlinuz", "vmlinuz-new", "initrd")}
    put_files(boot, {"/" + n: data for n, data in files.items()})
    sha = {n: "sha256:" + hashlib.sha256(d).hexdigest() for n, d in files.items()}
    pol = os.path.join(tmp, "policy3.json")
    new_policy(boot, "/vmlinuz", ["/initrd"], "quiet", policy=pol)
    p = read_json(pol)
    p["entries"][0]["allow"]["initrd"] = [sha["initrd"]]
    with open(pol, "w") as f:
        json.dump(p, f)
    check(run("check", pol)[0] == 0, "the flat form is valid with one initrd")
    rc, out, err = run("allow", pol, "--root", boot, "--kernel", "/vmlinuz-new")
    allow = read_json(pol)["entries"][0]["allow"]
    check(rc == 0 and allow["initrd"] == [[sha["initrd"]]] and
          allow["kernel"] == [sha["vmlinuz"], sha["vmlinuz-new"]],
          "allow --kernel on a flat policy: its initrd list rewritten per initrd", allow)
    check(run("check", pol)[0] == 0, "the rewritten policy passes slpolicy check")


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
              allow["initrd"] == [[sha["initrd"], sha["initrd-new"]]],
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

        # --replace: a kernel downgrade is no longer possible once the new one is allowed.
        rc, out, err = run("allow", pol, "--root", boot, "--kernel", "/vmlinuz-new", "--initrd",
                           "/initrd-new", "--replace", "--key", key)
        p = read_json(pol)
        allow = p["entries"][0]["allow"]
        check(rc == 0 and out.strip() == f"{pol}: serial 4", "allow --replace: serial 3 -> 4",
              out + err)
        check(allow["kernel"] == [sha["vmlinuz-new"]] and allow["initrd"] == [[sha["initrd-new"]]],
              "allow --replace: only the new digests left, the old kernel and initrd gone", allow)
        check(run("check", pol)[0] == 0, "allow --replace: the result passes slpolicy check")
        rc, out, err = run("verify", "--pubkey", pub, pol)
        check(rc == 0, "allow --replace --key: signed again", out + err)

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
        per_position(tmp)
        move(tmp)
        flat_policy(tmp)
    return t.summary()


if __name__ == "__main__":
    sys.exit(main())
