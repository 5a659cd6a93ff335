#!/usr/bin/env python3
"""systemd-cryptenroll's signed PCR policies for SLL's predicted DRTM states, against swtpm.

A LUKS2 image file gets a systemd-tpm2 token enrolled by systemd-cryptenroll
(--tpm2-public-key, --tpm2-public-key-pcrs=17+18+21+22: TPM2_PolicyAuthorize of an admin RSA
key) before any launch. `tools/sll-seal sign --systemd` then signs states predicted by
`slpolicy predict --format tpm2` into a tpm2-pcr-signature.json, and the token is opened the way
systemd-cryptsetup 252 opens it: libcryptsetup's crypt_activate_by_token_pin() with the
systemd-tpm2 plugin's parameters (the crypttab options tpm2-device= and tpm2-signature=), with
no volume name, so nothing is activated (no device-mapper). `cryptsetup open --token-only`
cannot do it here: without a tpm2-device the plugin looks for /sys/class/tpmrm (it never reads
SYSTEMD_TPM2_DEVICE) and there is none on a host with only a swtpm. The default signature path
is opened too, with the test's file bind-mounted over /etc/systemd in a private mount namespace
(the host's stays untouched).
Checked:
- the token: tpm2_pubkey_pcrs [17, 18, 21, 22], bank sha256, no plain PCR binding;
- the signature file: bank sha256, pcrs, pkfp = SHA-256 of the DER RSAPublicKey built here from
  the key's modulus and exponent, pol = the TPM2_PolicyPCR digest computed here with hashlib
  from the predicted values, sig = an RSA PKCS#1 v1.5 SHA-256 signature of pol (openssl
  verifies it); signing a state twice keeps one entry, the next state is added to it;
- no unlock before the launch; unlock after the simulated launch (PCR 17 = H(0 || H(image)),
  21 = policy, 22 = launch events at locality 2); unlock in the upgrade's state when the file
  holds both states, not when it holds the current one only; no unlock with a state signed by
  another key (its own fingerprint, or the admin's fingerprint over another key's signature:
  the TPM's signature check), nor once PCR 22 moved on.
"""
import base64
import ctypes
import hashlib
import json
import os
import re
import shutil
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
PCRS = [17, 18, 21, 22]
SIGFILE = "tpm2-pcr-signature.json"
# Where the token plugin looks first (systemd 252: /etc/systemd, /run/systemd, then /usr/...).
CONF_DIR = "/etc/systemd"

t = Checks()
check = t.check


def run(*args, **kw):
    return subprocess.run(list(args), capture_output=True, **kw)


def tpm_run(tpm, *args, **env):
    """A command against the swtpm with more environment than SwTpm.tool gives, then the
    transient objects and sessions flushed as SwTpm.tool does (a command that flushes)."""
    r = run(*args, env=dict(tpm.env, **env))
    tpm.tool("true")
    return r


def der(tag, body):
    n = len(body)
    if n < 0x80:
        length = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + length + body


def der_int(v):
    return der(0x02, v.to_bytes(v.bit_length() // 8 + 1, "big"))   # a leading 0 when needed


def rsa_public_key_der(pub):
    """PKCS#1 RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }, from the
    numbers openssl prints: what systemd fingerprints (OpenSSL's i2d_PublicKey)."""
    text = run("openssl", "rsa", "-pubin", "-in", pub, "-noout", "-text",
               check=True).stdout.decode()
    n = int(run("openssl", "rsa", "-pubin", "-in", pub, "-noout", "-modulus",
                check=True).stdout.decode().strip().split("=", 1)[1], 16)
    e = int(re.search(r"Exponent: (\d+)", text).group(1))
    return der(0x30, der_int(n) + der_int(e))


def genkey(tmp, name):
    key, pub = os.path.join(tmp, name + ".pem"), os.path.join(tmp, name + ".pub.pem")
    run("openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out",
        key, check=True)
    run("openssl", "pkey", "-in", key, "-pubout", "-out", pub, check=True)
    return key, pub


def launch(tpm, image, policy_bytes, events):
    """A reboot into a verified launch: the DCE's PCR 17, then slinit's 21 and 22."""
    tpm.dynamic_launch(image)
    tpm.extend(21, policy_bytes, BANKS)
    for data in events:
        tpm.extend(22, data, BANKS)


def load(path):
    with open(path) as f:
        return json.load(f)


def save(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f)


def unlock_main(img, device, signature):
    """In a child process: what systemd-cryptsetup 252 does to attach a volume with a
    systemd-tpm2 token (attach_luks2_by_tpm2_via_plugin): crypt_activate_by_token_pin() with
    the plugin's parameters { search_pcr_mask, device, signature_path } = { all PCR masks, the
    crypttab option tpm2-device=, tpm2-signature= }, here with no name (a check only, no
    device-mapper). signature "-": none given, the plugin searches its default paths."""
    lib = ctypes.CDLL("libcryptsetup.so.12", use_errno=True)
    lib.crypt_set_debug_level(-1)                                   # CRYPT_DEBUG_ALL

    class Params(ctypes.Structure):
        _fields_ = [("search_pcr_mask", ctypes.c_uint32), ("device", ctypes.c_char_p),
                    ("signature_path", ctypes.c_char_p)]

    params = Params(0xFFFFFFFF, device.encode(),
                    None if signature == "-" else signature.encode())
    cd = ctypes.c_void_p()
    r = lib.crypt_init(ctypes.byref(cd), img.encode())
    if r == 0:
        r = lib.crypt_load(cd, b"LUKS2", None)
    if r == 0:
        lib.crypt_activate_by_token_pin.argtypes = [
            ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
            ctypes.c_size_t, ctypes.c_void_p, ctypes.c_uint32]
        r = lib.crypt_activate_by_token_pin(cd, None, b"systemd-tpm2", -1, None, 0,
                                            ctypes.byref(params), 0)
    print(f"crypt_activate_by_token_pin: {r}", flush=True)
    return 0 if r >= 0 else 1


class Volume:
    """A LUKS2 image file with a systemd-tpm2 token, opened with the token only."""

    def __init__(self, tmp, tpm):
        self.tpm = tpm
        self.img = os.path.join(tmp, "disk.img")
        self.passfile = os.path.join(tmp, "passphrase")
        self.passphrase = base64.b64encode(os.urandom(24)).decode()
        with open(self.passfile, "w") as f:
            f.write(self.passphrase)
        with open(self.img, "wb") as f:
            f.truncate(32 << 20)
        self.device = f"swtpm:host=127.0.0.1,port={tpm.port}"

    def open(self, signature):
        """The token opened with the signature file `signature` (crypttab's tpm2-signature=)."""
        return tpm_run(self.tpm, sys.executable, os.path.abspath(__file__), "--unlock",
                       self.img, self.device, signature)

    def open_default(self, sigdir):
        """The token opened with no signature path: the plugin searches /etc/systemd first,
        here sigdir bind-mounted over it in a private mount namespace (the host's untouched)."""
        return tpm_run(self.tpm, "unshare", "-m", "sh", "-c",
                       'mount --bind "$1" "$2" || exit 99; shift 2; exec "$@"', "sh", sigdir,
                       CONF_DIR, sys.executable, os.path.abspath(__file__), "--unlock",
                       self.img, self.device, "-")


def unlocks(vol, sigfile, obj, what):
    if obj is not None:
        save(sigfile, obj)
    r = vol.open(sigfile)
    check(r.returncode == 0, what, (r.stdout + r.stderr).decode()[-3000:])


def refused(vol, sigfile, obj, what, reason):
    if obj is not None:
        save(sigfile, obj)
    r = vol.open(sigfile)
    err = (r.stdout + r.stderr).decode()
    check(r.returncode not in (0, 99) and reason in err, what + f" ({reason})",
          f"exit {r.returncode}\n" + err[-3000:])


def main():
    for tool in ("systemd-cryptenroll", "cryptsetup", "jq", "unshare"):
        if not shutil.which(tool):
            check(False, f"{tool} is installed")
            return 1
    with tempfile.TemporaryDirectory() as tmp:
        image = os.urandom(50000)
        pcr17 = drtm_pcr17("sha256", image)
        pcr18 = zero("sha256")
        boot, policy_bytes, events = random_boot(tmp, "boot", "console=ttyS0 quiet")
        other, other_pol, other_events = random_boot(tmp, "other", "console=ttyS0 init=/bin/sh")
        cur_file, next_file = os.path.join(tmp, "current.pcrs"), os.path.join(tmp, "next.pcrs")
        cur = predict_sealing(boot, "/policy.json", pcr17, pcr18, "tpm2")
        nxt = predict_sealing(other, "/policy.json", pcr17, pcr18, "tpm2")
        for path, values in ((cur_file, cur), (next_file, nxt)):
            with open(path, "wb") as f:
                f.write(values)
        check(cur == pcr17 + pcr18 +
              chain("sha256", zero("sha256"), [h("sha256", policy_bytes)]) +
              chain("sha256", zero("sha256"), [h("sha256", d) for d in events]),
              "the current prediction = hashlib")
        cur_pol, next_pol = policy_pcr_digest(PCRS, cur), policy_pcr_digest(PCRS, nxt)
        key, pub = genkey(tmp, "admin")
        other_key, other_pub = genkey(tmp, "other")
        fp = hashlib.sha256(rsa_public_key_der(pub)).hexdigest()
        other_fp = hashlib.sha256(rsa_public_key_der(other_pub)).hexdigest()
        sigdir = os.path.join(tmp, "conf")
        os.makedirs(sigdir)
        signed = os.path.join(tmp, SIGFILE)

        with SwTpm(os.path.join(tmp, "tpm"), BANKS) as tpm:
            vol = Volume(tmp, tpm)
            r = run("cryptsetup", "luksFormat", "-q", "--type", "luks2", "--pbkdf", "pbkdf2",
                    "--pbkdf-force-iterations", "1000", vol.img, vol.passfile)
            check(r.returncode == 0, "cryptsetup luksFormat of a LUKS2 image file",
                  r.stderr.decode())
            r = tpm_run(tpm, "systemd-cryptenroll", "--tpm2-device=" + vol.device,
                        "--tpm2-public-key=" + pub, "--tpm2-public-key-pcrs=17+18+21+22",
                        "--tpm2-pcrs=", vol.img, PASSWORD=vol.passphrase)
            check(r.returncode == 0, "systemd-cryptenroll: a signed PCR policy of the admin key, "
                  "enrolled before any launch", r.stderr.decode())
            r = run("cryptsetup", "luksDump", "--dump-json-metadata", vol.img)
            tokens = [t for t in json.loads(r.stdout or b"{}").get("tokens", {}).values()
                      if t.get("type") == "systemd-tpm2"]
            tok = tokens[0] if len(tokens) == 1 else {}
            check(tok.get("tpm2_pubkey_pcrs") == PCRS and tok.get("tpm2-pcr-bank") == "sha256"
                  and tok.get("tpm2-pcrs") == [], "the LUKS2 token: tpm2_pubkey_pcrs "
                  "[17, 18, 21, 22], bank sha256, tpm2-pcrs []", tokens)

            # Signing: the format systemd reads, computed here independently.
            sign = [SLL_SEAL, "sign", "--key", key, "--pcrs", SET, "--systemd", signed]
            r = tpm.tool(*sign, "--values", cur_file)
            check(r.returncode == 0, "sll-seal sign --systemd: the current state",
                  r.stderr.decode())
            obj = load(signed)
            ent = obj.get("sha256", [{}])[0]
            check(list(obj) == ["sha256"] and len(obj["sha256"]) == 1 and
                  set(ent) == {"pcrs", "pkfp", "pol", "sig"} and ent["pcrs"] == PCRS,
                  "signature file: one sha256 entry of pcrs, pkfp, pol, sig; pcrs [17,18,21,22]",
                  obj)
            check(ent.get("pkfp") == fp, "pkfp = SHA-256 of the DER RSAPublicKey built here",
                  f"{ent.get('pkfp')} != {fp}")
            check(ent.get("pol") == cur_pol.hex(),
                  "pol = the PolicyPCR digest of the predicted values by hashlib",
                  f"{ent.get('pol')} != {cur_pol.hex()}")
            with open(os.path.join(tmp, "pol.bin"), "wb") as f:
                f.write(cur_pol)
            with open(os.path.join(tmp, "sig.bin"), "wb") as f:
                f.write(base64.b64decode(ent.get("sig", "")))
            r = run("openssl", "dgst", "-sha256", "-verify", pub, "-signature",
                    os.path.join(tmp, "sig.bin"), os.path.join(tmp, "pol.bin"))
            check(r.returncode == 0, "sig: base64 of an RSA PKCS#1 v1.5 SHA-256 signature of "
                  "pol by the admin key (openssl dgst -verify)", r.stdout + r.stderr)
            r = run(*sign, "--values", cur_file, env=tpm.env)     # no flush after it
            check(r.returncode == 0 and len(load(signed)["sha256"]) == 1,
                  "the same state signed twice: still one entry", load(signed))
            r = run("tpm2_getcap", "handles-loaded-session", env=tpm.env)
            check(r.returncode == 0 and r.stdout.strip() == b"", "sll-seal sign leaves no "
                  "session loaded in a TPM without a resource manager", r.stdout + r.stderr)
            current_only = load(signed)
            r = tpm.tool(SLL_SEAL, "sign", "--key", key, "--pcrs", "sha384:17,18,21,22",
                         "--values", cur_file, "--systemd", os.path.join(tmp, "x.json"))
            check(r.returncode == 1 and r.stderr.count(b"\n") == 1 and b"sha384" in r.stderr,
                  "sll-seal sign --systemd refuses a bank systemd does not unlock with, one line",
                  r.stderr.decode())
            save(os.path.join(tmp, "bad.json"), {"sha256": {"pol": "x"}})
            r = tpm.tool(*sign[:-1], os.path.join(tmp, "bad.json"), "--values", cur_file)
            check(r.returncode == 1 and r.stderr.count(b"\n") == 1 and
                  b"bad.json: .sha256: not an array" in r.stderr,
                  "sll-seal sign --systemd refuses a file whose bank is no array, one line",
                  r.stderr.decode())

            # The namespace: the test's file is what the token plugin sees, or the test fails.
            save(os.path.join(sigdir, SIGFILE), current_only)
            r = run("unshare", "-m", "sh", "-c", 'mount --bind "$1" "$2" && cat "$2/$3"', "sh",
                    sigdir, CONF_DIR, SIGFILE)
            check(r.returncode == 0 and json.loads(r.stdout or b"null") == current_only,
                  f"a private mount namespace shows the test's file in {CONF_DIR}",
                  r.stderr.decode())

            use = os.path.join(tmp, "use.json")        # the file tpm2-signature= names
            refused(vol, use, current_only, "no token unlock before the launch",
                    "Couldn't find signature")
            launch(tpm, image, policy_bytes, events)
            live = os.path.join(tmp, "live.pcrs")
            tpm.tool("tpm2_pcrread", SET, "-o", live)
            with open(live, "rb") as f:
                check(f.read() == cur, "the launched swtpm's PCRs = the prediction")
            unlocks(vol, use, None, "token unlock after the launch, with the signed state "
                    "(tpm2-signature=)")
            r = vol.open_default(sigdir)
            check(r.returncode == 0,
                  f"token unlock with the file in {CONF_DIR} and no tpm2-signature=",
                  (r.stdout + r.stderr).decode()[-3000:])
            os.remove(os.path.join(sigdir, SIGFILE))
            r = vol.open_default(sigdir)
            check(r.returncode == 1 and b"open failed: No such file or directory" in r.stdout,
                  f"no token unlock without a signature file (none in {CONF_DIR}: ENOENT)",
                  (r.stdout + r.stderr).decode()[-3000:])

            # Another key's signatures.
            forged = os.path.join(tmp, "forged.json")
            r = tpm.tool(SLL_SEAL, "sign", "--key", other_key, "--pcrs", SET, "--values",
                         cur_file, "--systemd", forged)
            fent = load(forged)["sha256"][0]
            check(r.returncode == 0 and fent["pkfp"] == other_fp and fent["pol"] == ent["pol"],
                  "the live state signed by another key: its own pkfp, the same pol",
                  r.stderr.decode())
            refused(vol, use, load(forged), "no unlock with the live state signed by another "
                    "key", "Couldn't find signature")
            fent["pkfp"] = fp
            refused(vol, use, {"sha256": [fent]}, "no unlock with the admin's pkfp over "
                    "another key's signature: the TPM's signature check",
                    "Failed to validate signature in TPM")

            # The upgrade: the next state signed into the same file; no re-enrollment.
            r = tpm.tool(*sign, "--values", next_file)
            obj = load(signed)
            pols = [e.get("pol") for e in obj.get("sha256", [])]
            check(r.returncode == 0 and pols == [cur_pol.hex(), next_pol.hex()] and
                  obj["sha256"][0] == current_only["sha256"][0] and
                  all(e.get("pkfp") == fp and e.get("pcrs") == PCRS for e in obj["sha256"]),
                  "the next state added: two entries, the current one unchanged, pol of the "
                  "next prediction by hashlib", obj)
            both = obj
            r = tpm.tool(*sign, "--values", cur_file)
            check(r.returncode == 0 and [e.get("pol") for e in load(signed)["sha256"]] ==
                  [next_pol.hex(), cur_pol.hex()], "re-signing the current state: still two "
                  "entries", load(signed))
            launch(tpm, image, other_pol, other_events)
            refused(vol, use, current_only, "no unlock in the upgrade's state with the "
                    "current state's signature only", "Couldn't find signature")
            unlocks(vol, use, both, "token unlock in the upgrade's state, the file holding "
                    "both states")
            tpm.extend(22, b"one more event", BANKS)
            refused(vol, use, both, "no unlock once PCR 22 moved on",
                    "Couldn't find signature")
            r = run("cryptsetup", "open", "--test-passphrase", "--key-file", vol.passfile,
                    vol.img)
            check(r.returncode == 0, "the passphrase slot still opens the volume",
                  r.stderr.decode())
    return t.summary()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--unlock"]:
        sys.exit(unlock_main(*sys.argv[2:5]))
    sys.exit(main())
