#!/usr/bin/env python3
"""Writes the collector fixture trees under tests/data/collect/ (checked in; rerun only to
change them): sys-a/ and sys-b/ are captures as sll-collect makes them (DMI tables, cpuid, a
small GPT disk dev/vda and an MBR disk dev/vdb) of two machines that differ only in the
SMBIOS system serial number (type 1); boot/ is a boot partition with a file collector's file."""
import os
import struct
import uuid
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def smbios_struct(stype, handle, formatted, strings):
    body = struct.pack("<BBH", stype, 4 + len(formatted), handle) + formatted
    tail = b"".join(s.encode() + b"\0" for s in strings) + b"\0" if strings else b"\0\0"
    return body + tail


def smbios_table(serial):
    return b"".join([
        smbios_struct(0, 0, bytes([1, 2, 0x00, 0xe8, 3, 0xff]) + bytes(8) + bytes([0, 0, 0, 0]),
                      ["SLL BIOS", "1.0"]),
        smbios_struct(1, 0x100, bytes([1, 2, 3, 4]) + bytes(16) + bytes([6, 0, 0]),
                      ["SLL", "Test Machine", "v1", serial]),
        smbios_struct(2, 0x200, bytes([1, 2, 0, 0]), ["SLL", "Board"]),
        smbios_struct(3, 0x300, bytes([1, 1, 0, 0, 0, 3, 3, 3, 2]), ["SLL"]),
        smbios_struct(4, 0x400, bytes(20), []),
        smbios_struct(127, 0x7f00, b"", []),
    ])


def entry_point(table):
    """An SMBIOS 3.0 entry point (24 bytes) for a table at a fixed address."""
    ep = bytearray(b"_SM3_" + struct.pack("<BBBBBBBIQ", 0, 24, 3, 0, 0, 1, 0, len(table),
                                          0x000f0000))
    ep[5] = (-sum(ep)) & 0xff
    return bytes(ep)


CPUID = """CPU:
   0x00000000 0x00: eax=0x0000000d ebx=0x68747541 ecx=0x444d4163 edx=0x69746e65
   0x00000001 0x00: eax=0x00000f61 ebx=0x01020800 ecx=0x8a98a203 edx=0x078bfbff
   0x00000007 0x00: eax=0x00000000 ebx=0x00000000 ecx=0x00000010 edx=0x00000000
   0x0000000b 0x00: eax=0x00000000 ebx=0x00000001 ecx=0x00000100 edx=0x00000001
   0x80000000 0x00: eax=0x80000008 ebx=0x68747541 ecx=0x444d4163 edx=0x69746e65
   0x80000001 0x00: eax=0x00000f61 ebx=0x00000000 ecx=0x00000001 edx=0x2fd3fbff
   0x80000002 0x00: eax=0x554d4551 ebx=0x72695620 ecx=0x6c617574 edx=0x55504320
   0x80000003 0x00: eax=0x72657620 ebx=0x6e6f6973 ecx=0x302e3220 edx=0x0000002b
   0x80000004 0x00: eax=0x00000000 ebx=0x00000000 ecx=0x00000000 edx=0x00000000
   0x80000008 0x00: eax=0x00003028 ebx=0x00000000 ecx=0x00000003 edx=0x00000000
"""

SECTOR = 512


def gpt_disk():
    """A 64 KiB disk: GPT with 4 entries of 128 bytes at LBA 2; partition 1 at LBA 34-65,
    partition 2 at LBA 66-125 starting with a LUKS-like header."""
    entries = bytearray(4 * 128)
    parts = [(1, 34, 65, "esp"), (2, 66, 125, "root")]
    for n, first, last, name in parts:
        e = (uuid.UUID("c12a7328-f81f-11d2-ba4b-00a0c93ec93b").bytes_le +
             uuid.UUID(int=0x5110000 + n).bytes_le +
             struct.pack("<QQQ", first, last, 0) + name.encode("utf-16-le").ljust(72, b"\0"))
        entries[(n - 1) * 128:n * 128] = e
    hdr = bytearray(struct.pack("<8sIIIIQQQQ16sQIII", b"EFI PART", 0x10000, 92, 0, 0, 1, 127,
                                34, 125, uuid.UUID(int=0x511d15c).bytes_le, 2, 4, 128,
                                zlib.crc32(entries)))
    struct.pack_into("<I", hdr, 16, zlib.crc32(hdr))
    disk = bytearray(128 * SECTOR)
    disk[0:SECTOR] = protective_mbr(127)
    disk[SECTOR:SECTOR + 92] = hdr
    disk[2 * SECTOR:2 * SECTOR + len(entries)] = entries
    disk[34 * SECTOR:34 * SECTOR + 11] = b"\xebX\x90mkfs.fat"
    disk[66 * SECTOR:66 * SECTOR + 8] = b"LUKS\xba\xbe\x00\x02"
    for i in range(8, 4096):
        disk[66 * SECTOR + i] = (i * 37) & 0xff
    return bytes(disk)


def protective_mbr(sectors):
    mbr = bytearray(SECTOR)
    mbr[446:462] = struct.pack("<BBBBBBBBII", 0, 0, 2, 0, 0xee, 0xff, 0xff, 0xff, 1,
                               sectors - 1)
    mbr[510:512] = b"\x55\xaa"
    return bytes(mbr)


def mbr_disk():
    """A 16 KiB disk with an MBR: partition 1 at LBA 4, 20 sectors, type 0x83."""
    disk = bytearray(32 * SECTOR)
    disk[440:444] = b"\x5e\x11\xd1\x5c"
    disk[446:462] = struct.pack("<BBBBBBBBII", 0x80, 0, 5, 0, 0x83, 0, 24, 0, 4, 20)
    disk[510:512] = b"\x55\xaa"
    disk[4 * SECTOR:4 * SECTOR + 16] = b"MBR partition 1\n"
    return bytes(disk)


def write(path, data):
    full = os.path.join(HERE, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "wb") as f:
        f.write(data)


def main():
    for name, serial in (("sys-a", "SLL-A"), ("sys-b", "SLL-B")):
        table = smbios_table(serial)
        write(f"{name}/sys/firmware/dmi/tables/DMI", table)
        write(f"{name}/sys/firmware/dmi/tables/smbios_entry_point", entry_point(table))
        write(f"{name}/cpuid", CPUID.encode())
        write(f"{name}/dev/vda", gpt_disk())
        write(f"{name}/dev/vdb", mbr_disk())
    write("boot/slaunch/extra.conf", b"site=lab-3\nrack=7\n")


if __name__ == "__main__":
    main()
