#!/usr/bin/env python3
"""Enrolling a machine for remote attestation, against swtpm with an EK certificate from a
local CA: `slpolicy attest enroll` checks the certificate chain and makes a credential in
software (TPM2_MakeCredential), `sll-attest activate` recovers it in the TPM, `slpolicy attest
trust` accepts the AK. Then what an attacker tries: a certificate from another CA, a chain
without its root, another TPM's certificate, an AK living in another TPM (its credential cannot
be activated in either TPM; a guessed answer is refused), a quote from another TPM's AK, an
AK that is not restricted."""
import json
import os
import sys
import tempfile

from sll_test.attest import sll_attest, slpolicy_attest
from sll_test.checks import Checks
from sll_test.staging import random_boot
from sll_test.swtpm import SwTpm, ek_ca_certs

BANKS = ("sha1", "sha256")
NONCE = "5a" * 32
RESTRICTED = 0x00010000
# A TPMS_ATTEST (magic, quote type, empty signer and nonce, zero clock and firmware) whose
# PCR selection claims 2^32 - 1 banks: tss2-mu refuses it and would log why on stderr.
BAD_SELECTION = "ff544347" "8018" "0000" "0000" + "00" * 25 + "ffffffff"


def enroll_verifier(d, enroll, cas, tag):
    """slpolicy attest enroll of the machine's enroll.json; (result, credential, pending)."""
    cred, pending = os.path.join(d, f"cred-{tag}.json"), os.path.join(d, f"pending-{tag}.json")
    args = ["enroll", enroll]
    for ca in cas:
        args += ["--ca", ca]
    return slpolicy_attest(*args, "--credential", cred, "--pending", pending), cred, pending


def edited(d, src, name, **fields):
    """A copy of the JSON document src with fields replaced."""
    with open(src) as f:
        doc = json.load(f)
    doc.update(fields)
    path = os.path.join(d, name)
    with open(path, "w") as f:
        json.dump(doc, f)
    return path


def main():
    t = Checks()
    with tempfile.TemporaryDirectory() as d:
        ca, other_ca = os.path.join(d, "ca"), os.path.join(d, "other-ca")
        cas = ek_ca_certs(ca)
        with SwTpm(os.path.join(d, "tpm"), BANKS, ek_ca=ca) as tpm, \
                SwTpm(os.path.join(d, "tpm-other"), BANKS, ek_ca=other_ca) as other:
            # The genuine enrollment.
            mine, theirs = os.path.join(d, "enroll.json"), os.path.join(d, "enroll-other.json")
            r = sll_attest("enroll", "--out", mine, env=tpm.env)
            t.check(r.returncode == 0, f"sll-attest enroll {r.stderr.strip()}")
            r = sll_attest("enroll", "--out", theirs, env=other.env)
            t.check(r.returncode == 0, f"sll-attest enroll on another TPM {r.stderr.strip()}")
            r, cred, pending = enroll_verifier(d, mine, cas, "ok")
            t.check(r.returncode == 0 and r.stdout == "",
                    f"attest enroll: the EK certificate chains to the local CA {r.stdout}")
            activated = os.path.join(d, "activated.json")
            r = sll_attest("activate", cred, "--out", activated, env=tpm.env)
            t.check(r.returncode == 0, f"sll-attest activate recovers the credential "
                    f"{r.stderr.strip()}")
            machine = os.path.join(d, "machine.json")
            r = slpolicy_attest("trust", pending, activated, "--out", machine)
            t.check(r.returncode == 0 and os.path.exists(machine),
                    f"attest trust: the secret matches, machine.json written {r.stdout}")
            with open(mine) as f, open(machine) as g:
                t.check(json.load(f)["ak_public"] == json.load(g)["ak_public"],
                        "machine.json holds the enrolled AK")

            # Certificates the verifier must not accept.
            r, _, _ = enroll_verifier(d, mine, ek_ca_certs(other_ca), "other-ca")
            t.check(r.returncode == 1 and r.stdout.startswith(
                f"{mine}: /ek_certificate: does not chain to the CAs given (--ca): "),
                f"an EK certificate from an unknown CA is refused: {r.stdout.strip()}")
            r, _, _ = enroll_verifier(d, mine, cas[1:], "no-root")
            t.check(r.returncode == 1 and "does not chain to the CAs given" in r.stdout,
                    f"the intermediate CA alone is no trust anchor: {r.stdout.strip()}")
            with open(theirs) as f:
                their_cert = json.load(f)["ek_certificate"]
            swapped = edited(d, mine, "swapped-cert.json", ek_certificate=their_cert)
            r, _, _ = enroll_verifier(d, swapped, cas + ek_ca_certs(other_ca), "swapped")
            t.check(r.returncode == 1 and r.stdout == f"{swapped}: /ek_certificate: certifies "
                    "another key than /ek_public\n",
                    f"another TPM's (valid) certificate is refused: {r.stdout.strip()}")

            # An AK in another TPM, claimed with this TPM's EK and certificate.
            with open(theirs) as f:
                their_ak = json.load(f)["ak_public"]
            foreign = edited(d, mine, "foreign-ak.json", ak_public=their_ak)
            r, cred2, pending2 = enroll_verifier(d, foreign, cas, "foreign")
            t.check(r.returncode == 0, "a foreign AK passes the certificate checks (the "
                    "credential is what catches it)")
            for name, env in (("this TPM", tpm.env), ("the AK's TPM", other.env)):
                r = sll_attest("activate", cred2, "--out", os.path.join(d, "x.json"), env=env)
                t.check(r.returncode == 1 and r.stderr.startswith("sll-attest: "),
                        f"its credential cannot be activated in {name}: {r.stderr.strip()}")
            guessed = os.path.join(d, "guessed.json")
            with open(guessed, "w") as f:
                json.dump({"sll_attest": "activated", "version": 1,
                           "certinfo": os.urandom(32).hex()}, f)
            r = slpolicy_attest("trust", pending2, guessed, "--out", os.path.join(d, "m2.json"))
            t.check(r.returncode == 1 and r.stdout == f"{guessed}: /certinfo: not the secret of "
                    "the credential: the AK is not in the TPM that holds this EK\n",
                    f"a guessed answer is refused: {r.stdout.strip()}")
            t.check(not os.path.exists(os.path.join(d, "m2.json")), "and nothing is trusted")
            r = slpolicy_attest("trust", pending2, activated, "--out", os.path.join(d, "m3.json"))
            t.check(r.returncode == 1 and "not the secret of the credential" in r.stdout,
                    "the answer to an earlier credential is refused")

            # An AK that is not restricted could sign a forged TPMS_ATTEST.
            with open(mine) as f:
                ak = bytearray.fromhex(json.load(f)["ak_public"])
            # TPM2B_PUBLIC: size(2) type(2) nameAlg(2) objectAttributes(4).
            attrs = int.from_bytes(ak[6:10], "big") & ~RESTRICTED
            ak[6:10] = attrs.to_bytes(4, "big")
            loose = edited(d, mine, "loose-ak.json", ak_public=ak.hex())
            r, _, _ = enroll_verifier(d, loose, cas, "loose")
            t.check(r.returncode == 1 and f"{loose}: /ak_public: attributes 0x{attrs:08x}: not "
                    "a restricted signing key" in r.stdout,
                    f"an unrestricted AK is refused: {r.stdout.strip()}")
            r = slpolicy_attest("trust", cred, activated, "--out", os.path.join(d, "m4.json"))
            t.check(r.returncode == 1 and r.stdout.startswith(
                f"{cred}: /sll_attest: not \"pending\""), f"a document of another kind is "
                f"refused: {r.stdout.strip()}")

            # A quote from the other TPM, against this machine's enrolled AK.
            ev = os.path.join(d, "evidence-other.json")
            r = sll_attest("quote", "--nonce", NONCE, "--eventlog", "none", "--out", ev,
                           env=other.env)
            t.check(r.returncode == 0, f"a quote from the other TPM {r.stderr.strip()}")
            boot, _, _ = random_boot(d, "boot", "console=ttyS0")
            r = slpolicy_attest("verify", ev, "--machine", machine, "--nonce", NONCE,
                                "--policy", os.path.join(boot, "policy.json"), "--root", boot,
                                "--pcr", "17=" + "00" * 32, "--pcr", "18=" + "00" * 32)
            t.check(r.returncode == 1 and r.stdout == f"{ev}: refused: /ak_public: not the AK "
                    "enrolled for this machine (a quote from another TPM, or from a key never "
                    "activated against this machine's EK)\n",
                    f"a quote by another TPM's AK is refused: {r.stdout.strip()}")
            truncated = edited(d, ev, "bad-selection-quote.json", quote=BAD_SELECTION)
            r = slpolicy_attest("verify", truncated, "--machine", machine, "--nonce", NONCE,
                                "--policy", os.path.join(boot, "policy.json"), "--root", boot,
                                "--pcr", "17=" + "00" * 32, "--pcr", "18=" + "00" * 32)
            t.check(r.returncode == 1 and r.stderr == "" and r.stdout == f"{truncated}: "
                    "refused: /quote: not a TPMS_ATTEST (or bytes after it)\n",
                    f"a quote selecting 2^32 banks: one line, no tss2 log on stderr: {r.stdout}"
                    f"{r.stderr}")
            r = sll_attest("quote", "--nonce", NONCE, "--eventlog", "none", "--out", ev,
                           env=tpm.env)
            r = slpolicy_attest("verify", ev, "--machine", machine, "--nonce", NONCE,
                                "--policy", os.path.join(boot, "policy.json"), "--root", boot,
                                "--pcr", "17=" + "00" * 32, "--pcr", "18=" + "00" * 32)
            t.check(r.returncode == 1 and "refused: PCR 17 (sha256) is ffff" in r.stdout,
                    f"the control: this TPM's quote passes the AK and signature checks (and "
                    f"stops at PCR 17, never launched here): {r.stdout.strip()}")
    return t.summary()


if __name__ == "__main__":
    sys.exit(main())
