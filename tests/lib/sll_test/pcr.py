"""PCR values computed here with hashlib, independently of the C code: the extend chain, what
the simulated dynamic launch leaves in PCR 17, slinit's launch events in PCR 22, the event that
caps PCRs on a failure, and the TPM2_PolicyPCR digest a secret is sealed to."""
import hashlib
import struct

# The data of the event slinit extends into PCRs 19, 21 and 22 when it caps them (DESIGN
# section 3); the launch's separator is b"\0\0\0\0".
FAILURE = b"\0\0\0\1"


def h(alg, data):
    """The alg digest of data."""
    return hashlib.new(alg, data).digest()


def zero(alg):
    """A PCR of the alg bank after a reset (and PCRs 17-22 after a dynamic launch): zeros."""
    return bytes(hashlib.new(alg).digest_size)


def chain(alg, start, digests):
    """The PCR value after extending start with each digest in order: new = H(old || digest)."""
    value = start
    for d in digests:
        value = hashlib.new(alg, value + d).digest()
    return value


def drtm_pcr17(alg, image):
    """What the DCE leaves in PCR 17: H(0 || H(SL image))."""
    return chain(alg, zero(alg), [h(alg, image)])


def launch_pcr22(alg, objects, cmdline, start=None):
    """PCR 22 after kernel, initrds, cmdline and the separator (DESIGN section 3)."""
    digests = [h(alg, o) for o in objects] + [h(alg, cmdline.encode()), h(alg, b"\0\0\0\0")]
    return chain(alg, zero(alg) if start is None else start, digests)


def policy_pcr_digest(pcrs, values):
    """TPM2_PolicyPCR's policy digest from a zero start (TPM 2.0 Part 3, 23.7), sha256 bank."""
    select = bytearray(3)
    for p in pcrs:
        select[p // 8] |= 1 << (p % 8)
    selection = struct.pack(">IHB", 1, 0x000B, 3) + bytes(select)
    return hashlib.sha256(bytes(32) + struct.pack(">I", 0x17F) + selection +
                          hashlib.sha256(values).digest()).digest()
