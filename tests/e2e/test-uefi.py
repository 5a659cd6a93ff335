#!/usr/bin/env python3
"""e2e: the single boot entry on UEFI firmware. OVMF (no -kernel) boots sll.efi as
EFI/BOOT/BOOTX64.EFI from a GPT disk, slinit launches the Debian runtime kernel, and the PCRs
the runtime OS reads equal `slpolicy predict` and values computed here with hashlib. Two
layouts an admin would use:
  esp   one FAT32 ESP holding sll.efi, the policy, kernel and initrd; slinit's default
        discovery (the one partition holding the policy, after sl.boot_timeout) finds it;
  ext4  an ESP holding only sll.efi and a separate ext4 /boot labelled SLBOOT with the
        rest, made by `make esp ESP_LAYOUT=ext4`; the image (build/sll-uefi.efi) has
        sl.boot=LABEL=SLBOOT built in (an admin's choice: the boot loader's command line could
        carry it too, as the image keeps its sl.* words)."""
import os
import re
import subprocess
import sys
import tempfile

from sll_test.checks import Checks
from sll_test.e2e import boot, build_runtime
from sll_test.paths import BUILD, IMAGE, ROOT
from sll_test.pcr import chain, drtm_pcr17, h, launch_pcr22, zero
from sll_test.staging import Stage

CMDLINE = "console=ttyS0 panic=-1"
BANKS = ("sha1", "sha256")
LOGS = os.path.join(BUILD, "test-logs", "e2e-uefi")
LABEL_IMAGE = os.path.join(BUILD, "sll-uefi.efi")
t = Checks()


def check_launched(name, b, s, image, policy_bytes, objects):
    t.check(re.search(r"^BdsDxe: starting Boot\d+ ", b.log, re.M) is not None,
            f"{name}: the firmware started a boot option (no -kernel)")
    t.check(b.kexeced and "sll-runtime: done" in b.log and b.failed_line() is None,
            f"{name}: slinit launched the runtime OS")
    pred = s.predict(BANKS)
    for alg in BANKS:
        got = b.pcrs.get(alg, {})
        t.check(got.get(17) == drtm_pcr17(alg, image).hex(),
                f"{name}: {alg} PCR 17 = H(0 || H(the BOOTX64.EFI bytes))")
        t.check(all(got.get(p) == zero(alg).hex() for p in (18, 19, 20)),
                f"{name}: {alg} PCRs 18, 19, 20 zero")
        t.check(got.get(21) == chain(alg, zero(alg), [h(alg, policy_bytes)]).hex()
                == pred[alg][21], f"{name}: {alg} PCR 21 = policy = slpolicy predict")
        t.check(got.get(22) == launch_pcr22(alg, objects, CMDLINE).hex() == pred[alg][22],
                f"{name}: {alg} PCR 22 = kernel, initrd, cmdline, separator = slpolicy predict")


def layout(name, kernel, initrd, image_path, fs, boot_line):
    with open(image_path, "rb") as f:
        image = f.read()
    with tempfile.TemporaryDirectory() as tmp:
        s = Stage(tmp)
        pb = s.put_policy(s.put_launch(kernel, {"/initrd.img": initrd}, CMDLINE))
        disk = os.path.join(tmp, "disk.img")
        if fs == "ext4":  # the admin's way: make esp
            subprocess.run(["make", "-s", "-C", ROOT, "esp", "BOOT_DIR=" + s.dir,
                            "ESP_LAYOUT=ext4", "ESP_IMAGE=" + image_path, "ESP_OUT=" + disk],
                           check=True, stdout=subprocess.DEVNULL)
        else:
            s.disk(disk, fs=fs, fat32=True, esp_files=[(image_path, "/EFI/BOOT/BOOTX64.EFI")])
        b = boot(os.path.join(LOGS, name + ".log"), disk=disk, banks=BANKS, image=image_path,
                 uefi=True, timeout=300)
        print(f"---- {name}")
        check_launched(name, b, s, image, pb, [kernel, initrd])
        t.check(re.search("^" + boot_line + "$", b.log, re.M) is not None,
                f"{name}: {boot_line}")


def main():
    os.makedirs(LOGS, exist_ok=True)
    kernel, initrd = build_runtime()
    layout("esp", kernel, initrd, IMAGE, "vfat",
           r"slinit: boot partition: /dev/vda1 \(the one partition holding "
           r"/slaunch/policy\.json\)")
    subprocess.run([os.path.join(ROOT, "build.sh"), "kernel", "image"], check=True,
                   env=dict(os.environ, IMAGE_VARIANT="uefi", SL_CMDLINE="sl.boot=LABEL=SLBOOT"),
                   stdout=subprocess.DEVNULL)
    layout("ext4", kernel, initrd, LABEL_IMAGE, "ext4",
           r"slinit: boot partition /dev/vda2 mounted read-only")
    return t.summary()


if __name__ == "__main__":
    sys.exit(main())
