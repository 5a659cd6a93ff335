"""What the host sealing tests share: a staged launch (a boot directory with a random kernel
and initrd, the policy `slpolicy new` makes for them, and the events slinit will extend into
PCR 22), its prediction in a sealing format, and the reference values computed here with
hashlib (PCR extend chains, the TPM2_PolicyPCR digest), independent of slpolicy's code."""
import hashlib
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "policy"))
import staging  # noqa: E402


def chain(alg, start, datas):
    """The PCR value after extending start with the alg digest of each data, in order."""
    v = start
    for d in datas:
        v = hashlib.new(alg, v + hashlib.new(alg, d).digest()).digest()
    return v


def policy_pcr_digest(pcrs, values):
    """TPM2_PolicyPCR's policy digest from a zero start (TPM 2.0 Part 3, 23.7), sha256 bank."""
    select = bytearray(3)
    for p in pcrs:
        select[p // 8] |= 1 << (p % 8)
    selection = struct.pack(">IHB", 1, 0x000B, 3) + bytes(select)
    return hashlib.sha256(bytes(32) + struct.pack(">I", 0x17F) + selection +
                          hashlib.sha256(values).digest()).digest()


def stage(tmp, name, cmdline):
    """tmp/name as a boot partition: /vmlinuz, /initrd.img and /policy.json. Returns the
    directory, the policy's bytes and the data of slinit's PCR 22 events (kernel, initrd,
    command line, separator)."""
    boot = os.path.join(tmp, name)
    files = {"/vmlinuz": os.urandom(70001), "/initrd.img": os.urandom(3001)}
    staging.put_files(boot, files)
    pol = staging.new_policy(boot, "/vmlinuz", ["/initrd.img"], cmdline,
                             policy=os.path.join(boot, "policy.json"))
    return boot, pol, [files["/vmlinuz"], files["/initrd.img"], cmdline.encode(), b"\0\0\0\0"]


def predict(boot, fmt, pcr17, pcr18):
    """`slpolicy predict --format fmt` of a staged boot directory with the launcher's PCR 17
    and 18 given (bytes out; a failing predict raises)."""
    r = staging.predict(os.path.join(boot, "policy.json"), boot, "--policy-path", "/policy.json",
                        "--format", fmt, "--pcr", "17=" + pcr17.hex(),
                        "--pcr", "sha256:18=" + pcr18.hex())
    r.check_returncode()
    return r.stdout
