#!/usr/bin/env python3
"""sll-attest, the attested machine's side, against swtpm with an EK certificate from a local
CA (swtpm_localca); every opinion that matters comes from tpm2-tools or openssl, not from us:
- enroll: the certificate is NV 0x01c00002's bytes (tpm2_nvread) and chains to the local CA;
  its RSA modulus is ek_public's; ek_public is what tpm2_createek writes; ak_name is
  000b || sha256(TPMT_PUBLIC); the AK's template as specified; two runs give the same bytes;
- activate: a credential tpm2_makecredential computes in software gives its secret back; one
  made for another name fails with the TPM's error; malformed documents name the field;
- quote: tpm2_checkquote verifies the evidence (signature, nonce, PCR digest) and fails with
  another nonce; the PCR values are tpm2_pcrread's (more than 8 of them: several reads); two
  banks; an unallocated bank is refused; the event log comes back byte for byte, or not at all;
- nothing is left loaded in the TPM (no resource manager here), also after errors.
"""
import hashlib
import json
import os
import struct
import subprocess
import sys
import tempfile

from sll_test.checks import Checks
from sll_test.paths import BUILD
from sll_test.swtpm import SwTpm, ek_ca_certs

SLL_ATTEST = os.path.join(BUILD, "sll-attest")
DEFAULT_PCRS = [4, 7, 12, 13, 17, 18, 19, 20, 21, 22]
# The AK's TPMT_PUBLIC up to its unique field: ECC, SHA256, fixedTPM|fixedParent|
# sensitiveDataOrigin|userWithAuth|restricted|sign, no authPolicy, symmetric NULL, ECDSA with
# SHA256, NIST P-256, kdf NULL.
AK_TEMPLATE = bytes.fromhex("0023" "000b" "00050072" "0000" "0010" "0018000b" "0003" "0010")
CRED_MAGIC, CRED_VERSION = 0xBADCC0DE, 1

t = Checks()
check = t.check


def attest(tpm, *args):
    return subprocess.run([SLL_ATTEST, *args], env=tpm.env, capture_output=True)


def doc_of(r):
    try:
        return json.loads(r.stdout)
    except ValueError:
        return {}


def one_line(r, line):
    """r failed (exit 1) with exactly one stderr line, starting with line."""
    lines = r.stderr.decode().splitlines()
    return r.returncode == 1 and len(lines) == 1 and lines[0].startswith(line)


def nothing_loaded(tpm):
    """No transient object or session left in the TPM (sll-attest flushes its own)."""
    out = b""
    for what in ("handles-transient", "handles-loaded-session"):
        out += subprocess.run(["tpm2_getcap", what], env=tpm.env, capture_output=True,
                              check=True).stdout
    return out.strip() == b""


def rsa_modulus(pub):
    """The RSA modulus of a marshalled TPM2B_PUBLIC (TPMT_PUBLIC after its 2-byte size)."""
    area = pub[2:]
    off = 8
    (policy_len,) = struct.unpack(">H", area[off:off + 2])
    off += 2 + policy_len
    (sym,) = struct.unpack(">H", area[off:off + 2])
    off += 2 + (4 if sym != 0x0010 else 0)
    (scheme,) = struct.unpack(">H", area[off:off + 2])
    off += 2 + (2 if scheme != 0x0010 else 0)
    off += 2 + 4  # keyBits, exponent
    (n,) = struct.unpack(">H", area[off:off + 2])
    return area[off + 2:off + 2 + n]


def check_enroll(tmp, tpm):
    r = attest(tpm, "enroll")
    doc = doc_of(r)
    check(r.returncode == 0 and sorted(doc) == sorted(
        ["sll_attest", "version", "ek_certificate", "ek_public", "ak_public", "ak_name"])
          and doc["sll_attest"] == "enroll" and doc["version"] == 1,
          "enroll: the enroll document, every field", r.stderr.decode() + r.stdout.decode())
    if r.returncode != 0:
        return None
    check(nothing_loaded(tpm), "enroll: EK and AK flushed (no resource manager)")
    cert = bytes.fromhex(doc["ek_certificate"])
    nv = os.path.join(tmp, "nv.der")
    tr = tpm.tool("tpm2_nvread", "0x01c00002", "-o", nv)
    with open(nv, "rb") as f:
        nv_bytes = f.read() if tr.returncode == 0 else b""
    check(cert == nv_bytes and len(cert) > 0, "enroll: ek_certificate == tpm2_nvread 0x01c00002",
          tr.stderr.decode())
    pem = os.path.join(tmp, "ek.pem")
    subprocess.run(["openssl", "x509", "-inform", "der", "-in", nv, "-out", pem], check=True,
                   capture_output=True)
    root, issuer = ek_ca_certs(os.path.join(tmp, "ca"))
    vr = subprocess.run(["openssl", "verify", "-CAfile", root, "-untrusted", issuer, pem],
                        capture_output=True)
    check(vr.returncode == 0, "enroll: the EK certificate chains to ek_ca_certs (openssl verify)",
          vr.stdout.decode() + vr.stderr.decode())
    mod = subprocess.run(["openssl", "x509", "-noout", "-modulus", "-in", pem],
                         capture_output=True, check=True).stdout.decode().strip()
    ek_pub = bytes.fromhex(doc["ek_public"])
    check(mod.lower() == "modulus=" + rsa_modulus(ek_pub).hex(),
          "enroll: the certificate's RSA modulus is ek_public's", mod)
    ref = os.path.join(tmp, "ek-createek.pub")
    cr = tpm.tool("tpm2_createek", "-c", os.path.join(tmp, "ek.ctx"), "-G", "rsa", "-u", ref)
    ref_bytes = open(ref, "rb").read() if cr.returncode == 0 else b""
    check(ek_pub == ref_bytes, "enroll: ek_public == tpm2_createek -G rsa -u's TPM2B_PUBLIC",
          cr.stderr.decode() + f"\nours {ek_pub.hex()}\ntpm2 {ref_bytes.hex()}")
    ak_pub = bytes.fromhex(doc["ak_public"])
    check(struct.unpack(">H", ak_pub[:2])[0] == len(ak_pub) - 2,
          "enroll: ak_public carries its TPM2B size field")
    check(doc["ak_name"] == "000b" + hashlib.sha256(ak_pub[2:]).hexdigest(),
          "enroll: ak_name == 000b || sha256(TPMT_PUBLIC)", doc["ak_name"])
    check(ak_pub[2:2 + len(AK_TEMPLATE)] == AK_TEMPLATE and len(ak_pub) == 2 + len(
        AK_TEMPLATE) + 2 * 34, "enroll: the AK is an ECDSA P-256 restricted signing key as "
          "specified (attributes 0x00050072, no policy)", ak_pub.hex())
    again = doc_of(attest(tpm, "enroll"))
    check(again == doc, "enroll: a second enroll gives the same bytes (keys recreated)")
    return doc


def make_credential(tmp, tpm, ek_pub, name, secret, out):
    """tpm2_makecredential in software; its file is magic, version, TPM2B_ID_OBJECT,
    TPM2B_ENCRYPTED_SECRET: converted to sll-attest's credential document at out."""
    pub, sec, raw = (os.path.join(tmp, n) for n in ("mc-ek.pub", "mc-secret", "mc-cred"))
    with open(pub, "wb") as f:
        f.write(ek_pub)
    with open(sec, "wb") as f:
        f.write(secret)
    subprocess.run(["tpm2_makecredential", "--tcti", "none", "-u", pub, "-s", sec, "-n", name,
                    "-o", raw], check=True, capture_output=True)
    data = open(raw, "rb").read()
    magic, version, blob_len = struct.unpack(">IIH", data[:10])
    blob = data[8:10 + blob_len]
    (sec_len,) = struct.unpack(">H", data[10 + blob_len:12 + blob_len])
    enc = data[10 + blob_len:]
    layout_ok = magic == CRED_MAGIC and version == CRED_VERSION and len(enc) == 2 + sec_len
    doc = {"sll_attest": "credential", "version": 1, "credential_blob": blob.hex(),
           "secret": enc.hex()}
    with open(out, "w") as f:
        json.dump(doc, f)
    return layout_ok, doc


def write_doc(path, doc):
    with open(path, "w") as f:
        json.dump(doc, f)
    return path


def check_activate(tmp, tpm, enroll):
    ek_pub = bytes.fromhex(enroll["ek_public"])
    secret = os.urandom(32)
    cred = os.path.join(tmp, "cred.json")
    layout_ok, doc = make_credential(tmp, tpm, ek_pub, enroll["ak_name"], secret, cred)
    check(layout_ok, "activate: tpm2_makecredential's file is magic 0xBADCC0DE, version 1, "
          "TPM2B_ID_OBJECT, TPM2B_ENCRYPTED_SECRET and nothing else")
    r = attest(tpm, "activate", cred)
    out = doc_of(r)
    check(r.returncode == 0 and out == {"sll_attest": "activated", "version": 1,
                                         "certinfo": secret.hex()},
          "activate: the TPM recovers exactly tpm2_makecredential's secret",
          r.stderr.decode() + r.stdout.decode())
    check(nothing_loaded(tpm), "activate: EK, AK and the policy session flushed")

    other = os.path.join(tmp, "cred-other.json")
    make_credential(tmp, tpm, ek_pub, "000b" + os.urandom(32).hex(), secret, other)
    r = attest(tpm, "activate", other)
    check(one_line(r, "sll-attest: TPM2_ActivateCredential: ") and r.stdout == b"",
          "activate: a credential for another AK name fails with one TPM error line, exit 1",
          f"exit {r.returncode}: {r.stderr.decode()}")
    check(nothing_loaded(tpm), "activate: everything flushed after the TPM's refusal")

    bad = [("credential_blob", dict(doc, credential_blob="zz" + doc["credential_blob"][2:]),
            "bad hex"),
           ("secret", {k: v for k, v in doc.items() if k != "secret"}, "missing"),
           ("credential_blob", dict(doc, credential_blob=doc["credential_blob"] + "00"),
            "1 trailing bytes after the TPM2B_ID_OBJECT"),
           ("secret", dict(doc, secret=doc["secret"][:-2]), "not a marshalled"),
           ("sll_attest", dict(doc, sll_attest="evidence"), 'not "credential"'),
           ("version", dict(doc, version=2), "unsupported version"),
           ("nonce", dict(doc, nonce="00"), "unknown field")]
    for i, (field, d, reason) in enumerate(bad):
        path = write_doc(os.path.join(tmp, f"bad{i}.json"), d)
        r = attest(tpm, "activate", path)
        check(one_line(r, f"sll-attest: {path}: {field}: {reason}"),
              f"activate: refused, naming the field: {field}: {reason}", r.stderr.decode())


ALG_IDS = {"sha1": 0x0004, "sha256": 0x000B, "sha384": 0x000C, "sha512": 0x000D}


def pcr_serialized_file(path, ev, banks, pcrs):
    """The PCR values as tpm2-tools' PCR files hold them for tpm2_checkquote -f without -l
    (tpm2_quote -o, "serialized"): the C structures in memory, little endian. TPML_PCR_SELECTION
    (u32 count, 16 TPMS_PCR_SELECTION of u16 hash, u8 sizeofSelect, 4 select bytes, 1 pad), a
    u32 count of TPML_DIGEST lists, then each (u32 count, 8 TPM2B_DIGEST of u16 size and 64
    bytes), the digests in selection order, 8 per list. (With -l, tpm2-tools 5.4 drops every
    8th digest of the values format: that path cannot check more than 7 PCRs.)"""
    mask = sum(1 << p for p in pcrs)
    sel = struct.pack("<I", len(banks))
    for i in range(16):
        if i < len(banks):
            sel += struct.pack("<HB4sx", ALG_IDS[banks[i]], 3, mask.to_bytes(4, "little"))
        else:
            sel += bytes(8)
    digests = [bytes.fromhex(ev["pcrs"][b][str(p)]) for b in banks for p in pcrs]
    lists = [digests[i:i + 8] for i in range(0, len(digests), 8)]
    out = sel + struct.pack("<I", len(lists))
    for one in lists:
        out += struct.pack("<I", len(one))
        for i in range(8):
            d = one[i] if i < len(one) else b""
            out += struct.pack("<H", len(d)) + d.ljust(64, b"\0")
    with open(path, "wb") as f:
        f.write(out)


def checkquote(tmp, ev, nonce, banks, pcrs):
    files = {n: os.path.join(tmp, "cq-" + n) for n in ("ak.pub", "quote", "sig", "pcrs")}
    for name, key in (("ak.pub", "ak_public"), ("quote", "quote"), ("sig", "signature")):
        with open(files[name], "wb") as f:
            f.write(bytes.fromhex(ev[key]))
    pcr_serialized_file(files["pcrs"], ev, banks, pcrs)
    return subprocess.run(["tpm2_checkquote", "-u", files["ak.pub"], "-m", files["quote"], "-s",
                           files["sig"], "-f", files["pcrs"], "-g", "sha256", "-q", nonce],
                          capture_output=True)


def pcrread(tmp, tpm, bank, pcrs):
    out = os.path.join(tmp, "pcrread.bin")
    tpm.tool("tpm2_pcrread", f"{bank}:{','.join(map(str, pcrs))}", "-o", out).check_returncode()
    data = open(out, "rb").read()
    size = hashlib.new(bank).digest_size
    return {str(p): data[i * size:(i + 1) * size].hex() for i, p in enumerate(pcrs)}


def check_quote(tmp, tpm, enroll):
    tpm.tool("tpm2_pcrextend", "16:sha256=" + hashlib.sha256(b"sll").hexdigest() +
             ",sha1=" + hashlib.sha1(b"sll").hexdigest()).check_returncode()
    nonce = os.urandom(32).hex()
    r = attest(tpm, "quote", "--nonce", nonce, "--eventlog", "none")
    ev = doc_of(r)
    check(r.returncode == 0 and sorted(ev) == sorted(
        ["sll_attest", "version", "nonce", "ak_public", "quote", "signature", "pcrs"])
          and ev["sll_attest"] == "evidence" and ev["version"] == 1 and ev["nonce"] == nonce,
          "quote: the evidence document; --eventlog none leaves eventlog out",
          r.stderr.decode() + r.stdout.decode())
    if r.returncode != 0:
        return
    check(nothing_loaded(tpm), "quote: the AK flushed")
    check(ev["ak_public"] == enroll["ak_public"], "quote: the AK is the enrolled one")
    check(list(ev["pcrs"]) == ["sha256"] and list(ev["pcrs"]["sha256"]) == list(
        map(str, DEFAULT_PCRS)), "quote: default sha256 and PCRs 4,7,12,13,17-22, ascending",
          str(ev["pcrs"]))
    cq = checkquote(tmp, ev, nonce, ["sha256"], DEFAULT_PCRS)
    check(cq.returncode == 0, "quote: tpm2_checkquote verifies signature, nonce and PCRs",
          cq.stderr.decode())
    cq = checkquote(tmp, ev, os.urandom(32).hex(), ["sha256"], DEFAULT_PCRS)
    check(cq.returncode != 0, "quote: tpm2_checkquote refuses it with another nonce")
    changed = json.loads(json.dumps(ev))
    changed["pcrs"]["sha256"]["17"] = "11" * 32
    cq = checkquote(tmp, changed, nonce, ["sha256"], DEFAULT_PCRS)
    check(cq.returncode != 0, "quote: tpm2_checkquote refuses it with another PCR 17 value")
    check(ev["pcrs"]["sha256"] == pcrread(tmp, tpm, "sha256", DEFAULT_PCRS),
          "quote: the PCR values are tpm2_pcrread's")

    all_pcrs = list(range(24))
    nonce = os.urandom(8).hex().upper()
    r = attest(tpm, "quote", "--nonce", nonce, "--bank", "sha256", "--bank", "sha1", "--pcrs",
               "0-15,16,17-23", "--eventlog", "none")
    ev = doc_of(r)
    check(r.returncode == 0 and list(ev.get("pcrs", {})) == ["sha1", "sha256"] and all(
        list(ev["pcrs"][b]) == list(map(str, all_pcrs)) for b in ("sha1", "sha256")),
          "quote: sha1 and sha256, all 24 PCRs (several PCR_Reads), banks in order",
          r.stderr.decode() + str(ev.get("pcrs")))
    if r.returncode != 0:
        return
    check(ev["nonce"] == nonce.lower(), "quote: an 8-byte upper-case nonce, printed lower case")
    cq = checkquote(tmp, ev, nonce.lower(), ["sha1", "sha256"], all_pcrs)
    check(cq.returncode == 0, "quote: tpm2_checkquote verifies the two-bank quote of 24 PCRs",
          cq.stderr.decode())
    check(all(ev["pcrs"][b] == pcrread(tmp, tpm, b, all_pcrs) for b in ("sha1", "sha256")) and
          ev["pcrs"]["sha256"]["16"] != "00" * 32,
          "quote: all 48 values are tpm2_pcrread's (PCR 16 extended)")

    log = os.path.join(tmp, "eventlog.bin")
    log_bytes = os.urandom(70000) + b"\0" * 100
    with open(log, "wb") as f:
        f.write(log_bytes)
    out = os.path.join(tmp, "evidence.json")
    r = attest(tpm, "quote", "--nonce", nonce, "--eventlog", log, "--out", out)
    ev = json.load(open(out)) if r.returncode == 0 else {}
    check(r.stdout == b"" and ev.get("eventlog") == log_bytes.hex() and
          not os.path.exists(out + ".new"),
          "quote --eventlog FILE --out OUT: the log's bytes exactly, in OUT, no OUT.new left",
          r.stderr.decode())
    check_quote_refusals(tmp, tpm, nonce)


def check_quote_refusals(tmp, tpm, nonce):
    if not any(os.path.exists(p) for p in ("/sll/eventlog.bin", "/run/sll/eventlog.bin")):
        r = attest(tpm, "quote", "--nonce", nonce)
        check(one_line(r, "sll-attest: quote: no event log: give --eventlog FILE, or "
                       "--eventlog none"), "quote: no event log found: refused",
              r.stderr.decode())
    for args, what in (([], "no --nonce"), (["--nonce", "00" * 7], "a 7-byte nonce"),
                       (["--nonce", "00" * 65], "a 65-byte nonce"),
                       (["--nonce", nonce, "--pcrs", "7,24"], "PCR 24"),
                       (["--nonce", nonce, "--pcrs", "9-3"], "a reversed range"),
                       (["--nonce", nonce, "--bank", "md5"], "an unknown bank")):
        r = attest(tpm, "quote", "--eventlog", "none", *args)
        check(r.returncode == 2 and len(r.stderr.decode().splitlines()) == 1,
              f"quote: usage error (exit 2, one line): {what}", r.stderr.decode())


def check_unallocated(tmp):
    with SwTpm(os.path.join(tmp, "tpm-sha256"), ("sha256",)) as tpm:
        for bank in ("sha384", "sha1"):
            r = attest(tpm, "quote", "--nonce", "00" * 16, "--bank", "sha256", "--bank", bank,
                       "--eventlog", "none")
            line = f"sll-attest: quote: bank {bank} is not allocated in this TPM"
            check(one_line(r, line) and r.stderr.decode().strip() == line,
                  f"quote: {bank} on a sha256-only TPM: \"{line}\"", r.stderr.decode())
        check(nothing_loaded(tpm), "quote: the AK flushed after the refusal")
        r = attest(tpm, "enroll")
        check(one_line(r, "sll-attest: enroll: no EK certificate at NV index 0x01c00002"),
              "enroll: a TPM without an EK certificate is refused", r.stderr.decode())
        check(nothing_loaded(tpm), "enroll: nothing left loaded after the refusal")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        with SwTpm(os.path.join(tmp, "tpm"), ("sha1", "sha256"),
                   ek_ca=os.path.join(tmp, "ca")) as tpm:
            enroll = check_enroll(tmp, tpm)
            if enroll:
                check_activate(tmp, tpm, enroll)
                check_quote(tmp, tpm, enroll)
        check_unallocated(tmp)
    return t.summary()


if __name__ == "__main__":
    sys.exit(main())
