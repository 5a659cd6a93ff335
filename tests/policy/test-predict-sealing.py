#!/usr/bin/env python3
"""slpolicy predict's sealing set: --pcr for the launcher's PCRs 17, 18 (and 20) after a dynamic
launch, the PCRs printed in order in every format, --format clevis, and the refusals. Expected
values are computed here with hashlib and base64."""
import base64
import hashlib
import json
import os
import sys
import tempfile

from sll_test.checks import Checks
from sll_test.pcr import chain, h, launch_pcr22, zero
from sll_test.staging import new_policy, predict, put_files

t = Checks()
check = t.check


def main():
    with tempfile.TemporaryDirectory() as boot:
        kernel, cmdline = os.urandom(5000), "quiet"
        put_files(boot, {"/vmlinuz": kernel})
        path = os.path.join(boot, "policy.json")
        pol = new_policy(boot, "/vmlinuz", cmdline=cmdline, banks=["all"], policy=path)

        def run(*args):
            r = predict(path, boot, *args)
            return r.returncode, r.stdout, r.stderr.decode()

        v = {alg: {17: os.urandom(hashlib.new(alg).digest_size),
                   18: os.urandom(hashlib.new(alg).digest_size),
                   20: os.urandom(hashlib.new(alg).digest_size),
                   21: chain(alg, zero(alg), [h(alg, pol)]),
                   22: launch_pcr22(alg, [kernel], cmdline)}
             for alg in ("sha1", "sha256")}
        p17, p18 = v["sha256"][17].hex(), v["sha256"][18].hex()

        rc, out, err = run("--pcr", "17=" + p17, "--pcr", "18=" + p18)
        want = "".join(f"sha256:{n}={v['sha256'][n].hex()}\n" for n in (17, 18, 21, 22))
        check(rc == 0 and out.decode() == want, "text: 17, 18, 21, 22 in order (bank implied)",
              out)
        rc, out, err = run("--pcr", "sha256:18=" + p18, "--pcr", "sha256:17=" + p17,
                           "--pcr", "sha256:20=" + v["sha256"][20].hex(), "--format", "tpm2")
        check(rc == 0 and out == b"".join(v["sha256"][n] for n in (17, 18, 20, 21, 22)) and
              err == "", "tpm2: 17, 18, 20, 21, 22 raw in ascending order, no warning", err)
        args = []
        for alg in ("sha1", "sha256"):
            args += ["--bank", alg] + sum((["--pcr", f"{alg}:{n}={v[alg][n].hex()}"]
                                           for n in (17, 18)), [])
        rc, out, err = run(*args, "--format", "json")
        got = json.loads(out) if rc == 0 else {}
        check(got == {alg: {str(n): v[alg][n].hex() for n in (17, 18, 21, 22)}
                      for alg in ("sha1", "sha256")}, "json: two banks, launcher PCRs in each",
              out)
        rc, out, err = run("--bank", "sha1", "--pcr", "17=" + v["sha1"][17].hex(),
                           "--pcr", "18=" + v["sha1"][18].hex(), "--format", "clevis")
        raw = b"".join(v["sha1"][n] for n in (17, 18, 21, 22))
        want = {"pcr_bank": "sha1", "pcr_ids": "17,18,21,22",
                "pcr_digest": base64.urlsafe_b64encode(raw).decode().rstrip("=")}
        check(rc == 0 and json.loads(out) == want and out.count(b"\n") == 1,
              "clevis: sha1 bank, one line, unpadded base64url", out)
        rc, out, err = run("--format", "json")
        check(rc == 0 and sorted(json.loads(out)["sha256"]) == ["21", "22"],
              "json without the launcher's PCRs: 21 and 22 (not a sealing format)", err)

        # The no-DRTM sealing set: what booted sll.efi (4, 7) beside 12 and 13.
        p4, p7 = os.urandom(32), os.urandom(32)
        rc, out, err = run("--no-drtm", "--pcr", "4=" + p4.hex(), "--pcr", "7=" + p7.hex(),
                           "--format", "tpm2")
        want = p4 + p7 + chain("sha256", zero("sha256"), [h("sha256", pol)]) + \
            launch_pcr22("sha256", [kernel], cmdline)
        check(rc == 0 and out == want, "--no-drtm tpm2: 4, 7 as given, then 12 and 13", err)

        refusals = [
            (["--pcr", "21=" + p17], "after a dynamic launch only PCR 17, 18 and 20"),
            (["--pcr", "19=" + p17], "after a dynamic launch only PCR 17, 18 and 20"),
            (["--pcr", "17=" + p17, "--pcr", "sha256:17=" + p17], "given twice"),
            (["--bank", "sha1", "--bank", "sha256", "--pcr", "17=" + p17],
             "needs exactly one --bank"),
            (["--bank", "sha1", "--bank", "sha256", "--pcr", "sha256:17=" + p17],
             "same launcher PCRs for every --bank"),
            (["--pcr", "sha1:17=" + v["sha1"][17].hex()], "bank sha1 is not selected"),
            (["--pcr", "17=" + p17[:-2]], "HEX must be a digest of the bank"),
            (["--pcr", "24=" + p17], "the PCR index must be 0 to 23"),
            (["--bank", "sha1", "--bank", "sha256", "--format", "clevis"],
             "take exactly one --bank"),
            (["--format", "yaml"], "unknown --format yaml"),
            (["--format", "clevis"], "needs --pcr 17=HEX and --pcr 18=HEX"),
            (["--pcr", "17=" + p17, "--format", "tpm2"], "needs --pcr 17=HEX and --pcr 18=HEX"),
            (["--no-drtm", "--format", "tpm2"], "needs --pcr 4=HEX and --pcr 7=HEX"),
            (["--no-drtm", "--pcr", "7=" + p17, "--format", "clevis"],
             "needs --pcr 4=HEX and --pcr 7=HEX"),
        ]
        for args, reason in refusals:
            rc, out, err = run(*args)
            check(rc == 2 and out == b"" and reason in err.splitlines()[0],
                  f"refused ({reason}): {' '.join(a[:24] for a in args)}", err.splitlines()[:1])
        rc, out, err = run("--no-drtm", "--pcr", "12=" + p17)
        check(rc == 0 and f"sha256:12=" in out.decode(), "--no-drtm still takes PCR 12", err)
    return t.summary()


if __name__ == "__main__":
    sys.exit(main())
