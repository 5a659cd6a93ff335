"""What each collector measures, re-implemented in Python from the specifications (SMBIOS,
the CPUID leaf set and masks of slpolicy.8, UEFI GPT, MBR), independently of policy/*.c.
Shared by tests/policy/test-collect-predict.py and tests/e2e/test-collectors.py."""
import struct


def smbios_keep(table, types):
    """Structures whose type is in types, in table order, with their string sets."""
    out, off = b"", 0
    while off < len(table):
        stype, length = table[off], table[off + 1]
        end = table.index(b"\0\0", off + length) + 2
        if stype in types:
            out += table[off:end]
        off = end
        if stype == 127:
            break
    return out


# (leaf, masks of eax, ebx, ecx, edx) as documented in slpolicy.8
CPUID_SET = [
    (0x0, (0xffffffff,) * 4),
    (0x1, (0xffffffff, 0x0000ffff, 0xffffffff & ~(1 << 27), 0xffffffff)),
    (0x7, (0xffffffff, 0xffffffff, 0xffffffff & ~(1 << 4), 0xffffffff)),
    (0x80000000, (0xffffffff,) * 4),
    (0x80000001, (0xffffffff,) * 4),
    (0x80000002, (0xffffffff,) * 4),
    (0x80000003, (0xffffffff,) * 4),
    (0x80000004, (0xffffffff,) * 4),
    (0x80000008, (0xffffffff, 0xffffffff, 0, 0)),
]


def cpuid_canonical(text):
    """The canonical bytes of a capture: leaf, subleaf 0 and the masked registers, LE."""
    regs = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 6 and parts[1].endswith(":") and parts[2].startswith("eax="):
            regs[int(parts[0], 16)] = [int(p.split("=")[1], 16) for p in parts[2:]]
    max_basic, max_ext = regs[0][0], regs[0x80000000][0]
    out = b""
    for leaf, masks in CPUID_SET:
        if leaf > (max_ext if leaf >= 0x80000000 else max_basic):
            continue
        out += struct.pack("<6I", leaf, 0, *(r & m for r, m in zip(regs[leaf], masks)))
    return out


def gpt_bytes(disk, part=None, nbytes=0):
    """512-byte sectors: the header (HeaderSize bytes), the entries array, the partition."""
    hsize, = struct.unpack_from("<I", disk, 512 + 12)
    lba, count, esize = struct.unpack_from("<QII", disk, 512 + 72)
    out = disk[512:512 + hsize] + disk[lba * 512:lba * 512 + count * esize]
    if part:
        first, = struct.unpack_from("<Q", disk, lba * 512 + (part - 1) * esize + 32)
        out += disk[first * 512:first * 512 + nbytes]
    return out


def mbr_bytes(disk, part=None, nbytes=0):
    out = disk[:512]
    if part:
        start, = struct.unpack_from("<I", disk, 446 + 16 * (part - 1) + 8)
        out += disk[start * 512:start * 512 + nbytes]
    return out
