#!/usr/bin/env python3
"""Sealing to a prediction, with the real tools against swtpm on the host.

A policy and its files are staged; `slpolicy predict --pcr 17=… --pcr 18=…` gives the sealing
set (17, 18, 21, 22) in the tpm2 and clevis formats. A swtpm then plays a dynamic launch of an
"SL image" (PCR 17 = H(0 || H(image))) and gets the launch's events extended at locality 2, as
slinit does. Checked:
- --format tpm2 is the four values concatenated in PCR order, as computed here with hashlib,
  and equals what tpm2_pcrread -o writes for the live PCRs;
- tpm2_createpolicy --policy-pcr -f PREDICTED gives the same policy digest as over the live
  PCRs, and as the TPM2_PolicyPCR digest computed here;
- clevis encrypt tpm2 with --format clevis's config, then clevis decrypt gives the secret back;
  a config predicted for another policy does not decrypt; after one more extend nothing does;
- clevis luks bind adds a LUKS2 key slot bound to the prediction (before the launch), and
  clevis luks pass gives a passphrase LUKS accepts in the launched state, none once it moved on;
- tools/sll-seal seals to a persistent handle from the prediction alone (before the PCRs have
  those values), unseals in the launched state, and fails with the TPM's policy error when the
  state differs.
"""
import base64
import json
import os
import subprocess
import sys
import tempfile

from sll_test.checks import Checks
from sll_test.paths import SLL_SEAL
from sll_test.pcr import chain, drtm_pcr17, h, policy_pcr_digest, zero
from sll_test.staging import predict_sealing, random_boot
from sll_test.swtpm import SwTpm

BANKS = ("sha1", "sha256")
SET = "sha256:17,18,21,22"
HANDLE = "0x81000100"
LAUNCH = []
POLICY_FAIL = "a policy check failed"

t = Checks()
check = t.check


def signed_flow(tmp, tpm, image, secret, pred_file, other, other_pol, other_launch):
    """Signed PCR policies: sealed once under PolicyAuthorize of an admin key, unsealed in each
    state the admin signed (the current one, then the upgrade's), never in an unsigned one."""
    key, pub = os.path.join(tmp, "auth.pem"), os.path.join(tmp, "auth.pub.pem")
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                    "-out", key], check=True, capture_output=True)
    subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-out", pub], check=True,
                   capture_output=True)
    signed = os.path.join(tmp, "signed")
    os.makedirs(signed)
    handle = "0x81000101"
    unseal = [SLL_SEAL, "unseal", "--pcrs", SET, "--handle", handle, "--authorize", pub,
              "--signed", signed]
    r = tpm.tool(SLL_SEAL, "seal", "--authorize", pub, "--handle", handle, input=secret)
    check(r.returncode == 0, "signed: sealed once under PolicyAuthorize of the admin key",
          r.stderr.decode())
    r = tpm.tool(SLL_SEAL, "sign", "--key", key, "--pcrs", SET, "--values", pred_file, "--out",
                 os.path.join(signed, "current"))
    check(r.returncode == 0, "signed: the current state's prediction signed", r.stderr.decode())
    r = tpm.tool(*unseal)
    check(r.returncode == 1 and b"no state signed" in r.stderr,
          "signed: no unseal in a state nobody signed (one more PCR 22 event)", r.stderr.decode())
    tpm.dynamic_launch(image)            # a reboot into the current state
    tpm.extend(21, open(os.path.join(os.path.dirname(pred_file), "boot", "policy.json"),
                        "rb").read(), BANKS)
    for data in LAUNCH:
        tpm.extend(22, data, BANKS)
    r = tpm.tool(*unseal)
    check(r.returncode == 0 and r.stdout == secret, "signed: unsealed in the signed current state",
          r.stderr.decode())

    # The upgrade: the admin signs the next state's prediction; no reseal.
    nxt = os.path.join(tmp, "next.bin")
    with open(nxt, "wb") as f:
        f.write(predict_sealing(other, "/policy.json", drtm_pcr17("sha256", image),
                                zero("sha256"), "tpm2"))
    r = tpm.tool(SLL_SEAL, "sign", "--key", key, "--pcrs", SET, "--values", nxt, "--out",
                 os.path.join(signed, "next"))
    check(r.returncode == 0, "signed: the upgrade's prediction signed", r.stderr.decode())
    tpm.dynamic_launch(image)            # a reboot into the upgraded state
    tpm.extend(21, other_pol, BANKS)
    for data in other_launch:
        tpm.extend(22, data, BANKS)
    r = tpm.tool(*unseal)
    check(r.returncode == 0 and r.stdout == secret,
          "signed: unsealed after the upgrade, with the same sealed object", r.stderr.decode())

    # A state signed by another key is no state signed by the admin.
    tpm.extend(22, b"unapproved", BANKS)
    live = os.path.join(tmp, "live.bin")
    tpm.tool("tpm2_pcrread", SET, "-o", live)
    other_key = os.path.join(tmp, "other.pem")
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                    "rsa_keygen_bits:2048", "-out", other_key], check=True, capture_output=True)
    r = tpm.tool(SLL_SEAL, "sign", "--key", other_key, "--pcrs", SET, "--values", live,
                 "--out", os.path.join(signed, "forged"))
    r = tpm.tool(*unseal)
    check(r.returncode == 1 and r.stdout == b"" and b"tpm2_verifysignature" in r.stderr,
          "signed: a state signed with another key is refused by the TPM's signature check",
          r.stderr.decode())
    # ... nor does swapping the public key the runtime reads (it is on an unmeasured partition).
    other_pub = other_key + ".pub"
    subprocess.run(["openssl", "pkey", "-in", other_key, "-pubout", "-out", other_pub],
                   check=True, capture_output=True)
    swapped = [other_pub if a == pub else a for a in unseal]
    r = tpm.tool(*swapped)
    check(r.returncode == 1 and r.stdout == b"" and POLICY_FAIL.encode() in r.stderr,
          "signed: the forged state with the forger's public key: the TPM's policy check fails",
          r.stderr.decode())


def lockout_flow(tmp, tpm, pred_file, secret):
    """A TPM in dictionary-attack lockout (one allowed failure, then one wrong password) still
    seals: sll-seal's parent key has an empty authorisation, so it is noda."""
    tpm.tool("tpm2_dictionarylockout", "-s", "-n", "1", "-t", "600", "-l", "600")
    tpm.tool("tpm2_createprimary", "-C", "o", "-p", "right", "-c", os.path.join(tmp, "da.ctx"))
    tpm.tool("tpm2_create", "-C", os.path.join(tmp, "da.ctx"), "-P", "wrong", "-u",
             os.path.join(tmp, "da.pub"), "-r", os.path.join(tmp, "da.priv"))
    r = tpm.tool("tpm2_getcap", "properties-variable")
    check(b"inLockout:                 1" in r.stdout, "the TPM is in dictionary-attack lockout",
          r.stdout.decode())
    r = tpm.tool(SLL_SEAL, "seal", "--pcrs", SET, "--values", pred_file, "--handle",
                 "0x81000102", input=secret)
    check(r.returncode == 0, "sll-seal seals while the TPM is in lockout", r.stderr.decode())
    tpm.tool("tpm2_evictcontrol", "-C", "o", "-c", "0x81000102")
    tpm.tool("tpm2_dictionarylockout", "-c")


def luks_volume(tmp):
    """A LUKS2 volume in a file (no device-mapper needed) with a passphrase in key slot 0, in
    VOLUME.pass. A cheap PBKDF: the slots' strength is not what is tested here."""
    path = os.path.join(tmp, "luks.img")
    with open(path, "wb") as f:
        f.truncate(32 << 20)
    with open(path + ".pass", "wb") as f:
        f.write(os.urandom(24).hex().encode())
    subprocess.run(["cryptsetup", "luksFormat", "-q", "--type", "luks2", "--pbkdf", "pbkdf2",
                    "--pbkdf-force-iterations", "1000", path, path + ".pass"], check=True,
                   capture_output=True)
    return path


def luks_accepts(path, passphrase):
    """Whether a key slot of the volume opens with the passphrase (checked, not mapped)."""
    if not passphrase:
        return False
    return subprocess.run(["cryptsetup", "open", "--test-passphrase", path, "--key-file", "-"],
                          input=passphrase, capture_output=True).returncode == 0


def main():
    with tempfile.TemporaryDirectory() as tmp:
        image = os.urandom(50000)
        pcr17 = drtm_pcr17("sha256", image)
        pcr18 = zero("sha256")
        boot, policy_bytes, launch = random_boot(tmp, "boot", "console=ttyS0 quiet")
        other, other_pol, other_launch = random_boot(tmp, "other", "console=ttyS0 init=/bin/sh")
        LAUNCH[:] = launch
        want = (pcr17 + pcr18 + chain("sha256", zero("sha256"), [h("sha256", policy_bytes)]) +
                chain("sha256", zero("sha256"), [h("sha256", d) for d in launch]))

        raw = predict_sealing(boot, "/policy.json", pcr17, pcr18, "tpm2")
        check(raw == want, "--format tpm2: PCRs 17, 18, 21, 22 raw, in order, = hashlib")
        cfg = json.loads(predict_sealing(boot, "/policy.json", pcr17, pcr18, "clevis"))
        check(set(cfg) == {"pcr_bank", "pcr_ids", "pcr_digest"} and cfg["pcr_bank"] == "sha256"
              and cfg["pcr_ids"] == "17,18,21,22" and "=" not in cfg["pcr_digest"] and
              base64.urlsafe_b64decode(cfg["pcr_digest"] + "=" * (-len(cfg["pcr_digest"]) % 4))
              == want, "--format clevis: bank, ids, unpadded base64url of the same bytes", cfg)
        pred_file = os.path.join(tmp, "predicted.bin")
        with open(pred_file, "wb") as f:
            f.write(raw)
        other_cfg = predict_sealing(other, "/policy.json", pcr17, pcr18,
                                    "clevis").decode().strip()
        secret = os.urandom(64)

        with SwTpm(os.path.join(tmp, "tpm"), BANKS) as tpm:
            # Sealed from the prediction alone, while the PCRs are still all ones.
            r = tpm.tool(SLL_SEAL, "seal", "--pcrs", SET, "--values", pred_file, "--handle",
                         HANDLE, input=secret)
            check(r.returncode == 0, "sll-seal seal from the prediction (PCRs not yet there)",
                  r.stderr.decode())
            # Not through tpm.tool, which flushes after each command: sll-seal must itself.
            r = subprocess.run([SLL_SEAL, "seal", "--pcrs", SET, "--values", pred_file,
                                "--handle", HANDLE, "--replace"], input=secret, env=tpm.env,
                               capture_output=True)
            left = subprocess.run(["tpm2_getcap", "handles-loaded-session"], env=tpm.env,
                                  capture_output=True)
            check(r.returncode == 0 and left.returncode == 0 and left.stdout.strip() == b"",
                  "sll-seal seal leaves no session loaded (no resource manager here)",
                  r.stderr.decode() + left.stdout.decode())
            r = tpm.tool(SLL_SEAL, "unseal", "--pcrs", SET, "--handle", HANDLE)
            check(r.returncode == 1 and POLICY_FAIL in r.stderr.decode(),
                  "sll-seal unseal before the launch: the TPM's policy error", r.stderr.decode())
            r = tpm.tool("clevis", "encrypt", "tpm2", json.dumps(cfg), input=secret)
            check(r.returncode == 0, "clevis encrypt tpm2 takes --format clevis's config",
                  r.stderr.decode())
            jwe = r.stdout
            r = tpm.tool("clevis", "encrypt", "tpm2", other_cfg, input=secret)
            check(r.returncode == 0, "clevis encrypt tpm2 to another policy's prediction",
                  r.stderr.decode())
            other_jwe = r.stdout
            luks = luks_volume(tmp)
            r = tpm.tool("clevis", "luks", "bind", "-y", "-d", luks, "-k", luks + ".pass",
                         "tpm2", json.dumps(cfg))
            check(r.returncode == 0, "clevis luks bind -d VOLUME tpm2 with --format clevis's "
                  "config (a new key slot)", r.stderr.decode())
            r = tpm.tool("clevis", "luks", "list", "-d", luks)
            check(r.stdout.decode().startswith("1: tpm2 ") and
                  '"pcr_ids":"17,18,21,22"' in r.stdout.decode(),
                  "clevis luks list: slot 1 is the tpm2 pin over PCRs 17, 18, 21, 22",
                  r.stdout.decode())
            r = tpm.tool("clevis", "luks", "pass", "-d", luks, "-s", "1")
            check(r.returncode != 0 and r.stdout == b"",
                  "clevis luks pass before the launch: no passphrase", r.stderr.decode())

            tpm.dynamic_launch(image)
            for data in [policy_bytes]:
                check(tpm.extend(21, data, BANKS) == 0, "extend PCR 21 at locality 2")
            check(all(tpm.extend(22, data, BANKS) == 0 for data in launch),
                  "extend PCR 22 at locality 2 (kernel, initrd, cmdline, separator)")
            check(tpm.extend(22, b"x", BANKS, locality=0) == 0x907,
                  "the TPM refuses a PCR 22 extend at locality 0 (bad locality)")

            live = os.path.join(tmp, "live.bin")
            r = tpm.tool("tpm2_pcrread", SET, "-o", live)
            with open(live, "rb") as f:
                check(f.read() == raw, "tpm2_pcrread -o of the launched swtpm = --format tpm2")
            pol_pred, pol_live = os.path.join(tmp, "pol.pred"), os.path.join(tmp, "pol.live")
            r1 = tpm.tool("tpm2_createpolicy", "--policy-pcr", "-l", SET, "-f", pred_file,
                          "-L", pol_pred)
            r2 = tpm.tool("tpm2_createpolicy", "--policy-pcr", "-l", SET, "-L", pol_live)
            a = b = b""
            if r1.returncode == r2.returncode == 0:
                with open(pol_pred, "rb") as f1, open(pol_live, "rb") as f2:
                    a, b = f1.read(), f2.read()
            check(len(a) == 32 and a == b == policy_pcr_digest((17, 18, 21, 22), want),
                  "tpm2_createpolicy: predicted file = live PCRs = PolicyPCR digest by hashlib",
                  f"{a.hex()} {b.hex()} {r1.stderr.decode()} {r2.stderr.decode()}")

            r = tpm.tool("clevis", "decrypt", input=jwe)
            check(r.returncode == 0 and r.stdout == secret,
                  "clevis decrypt in the launched state gives the secret back", r.stderr.decode())
            r = tpm.tool("clevis", "decrypt", input=other_jwe)
            check(r.returncode != 0 and r.stdout != secret,
                  "clevis decrypt of a JWE sealed to another policy's prediction fails")
            r = tpm.tool("clevis", "luks", "pass", "-d", luks, "-s", "1")
            with open(luks + ".pass", "rb") as f:
                slot0 = f.read()
            check(r.returncode == 0 and luks_accepts(luks, r.stdout) and r.stdout != slot0,
                  "clevis luks pass in the launched state: slot 1's own passphrase, which LUKS "
                  "accepts", r.stderr.decode())
            r = tpm.tool(SLL_SEAL, "unseal", "--pcrs", SET, "--handle", HANDLE)
            check(r.returncode == 0 and r.stdout == secret,
                  "sll-seal unseal in the launched state gives the secret back",
                  r.stderr.decode())
            r = tpm.tool(SLL_SEAL, "seal", "--pcrs", SET, "--values", pred_file, "--handle",
                         HANDLE, input=secret)
            check(r.returncode == 1 and "in use" in r.stderr.decode(),
                  "sll-seal seal refuses a handle in use without --replace", r.stderr.decode())

            tpm.extend(22, b"one more event", BANKS)
            r = tpm.tool("clevis", "decrypt", input=jwe)
            check(r.returncode != 0 and r.stdout != secret,
                  "clevis decrypt fails once PCR 22 moved on")
            r = tpm.tool("clevis", "luks", "pass", "-d", luks, "-s", "1")
            check(r.returncode != 0 and not luks_accepts(luks, r.stdout),
                  "clevis luks pass once PCR 22 moved on: no passphrase LUKS accepts")
            r = tpm.tool(SLL_SEAL, "unseal", "--pcrs", SET, "--handle", HANDLE)
            check(r.returncode == 1 and POLICY_FAIL in r.stderr.decode() and r.stdout == b"",
                  "sll-seal unseal once PCR 22 moved on: the TPM's policy error",
                  r.stderr.decode())
            signed_flow(tmp, tpm, image, secret, pred_file, other, other_pol, other_launch)
            lockout_flow(tmp, tpm, pred_file, secret)
            r = tpm.tool("tpm2_getcap", "handles-transient")
            check(r.stdout.strip() == b"", "no transient object left in the TPM",
                  r.stdout.decode())
    return t.summary()


if __name__ == "__main__":
    sys.exit(main())
