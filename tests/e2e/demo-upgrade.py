#!/usr/bin/env python3
"""make demo-upgrade: README's "Upgrading with the management environment", end to end in
QEMU with a TPM (swtpm) and a simulated dynamic launch: provisioning, the runtime OS that
requests, the management environment that shows the upgrade and asks (the demo types "yes" on
its console), and the runtime OS on the new kernel that unseals its disk secret."""
import os
import sys
import tempfile

from sll_test.manage import (APPROVE, launched, make_keys, manage_exit, provision,
                             signed_image)
from sll_test.paths import BUILD

LOGS = os.path.join(BUILD, "demo-upgrade")
SHOWN = ("slinit: entry ", "slinit: management ", "slinit: anti-rollback", "slinit: FAILED",
         "sll-manage: ", "sll-runtime: unseal", "sll-runtime: try-unseal",
         "sll-runtime: management", "sll-runtime: manage: exit", "sll-runtime: kernel ")


def say(text):
    print(f"\n== {text}", flush=True)


def check(cond, what, detail=""):
    print(("ok   " if cond else "FAILED: ") + what, flush=True)
    if not cond:
        sys.exit(f"demo-upgrade: {detail}")


def show(b):
    for line in b.log.splitlines():
        if line.startswith(SHOWN):
            print("   " + line[:200])


def main():
    os.makedirs(LOGS, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        say("the admin's keys: policy key (Ed25519, slpolicy sign), state key (RSA, sll-seal)")
        keys = make_keys(tmp)
        say("build/sll-signed.efi: the SL image with the policy key built in")
        image = signed_image(keys)
        say("provisioning: policy serial 1 (entry \"debian\", management entry \"manage\"), "
            "signed; the disk secret sealed to signed states; sll-manage enroll; then a new "
            "kernel installed (linux 6.1.0-2): sll-kernel-hook stages the policy")
        _, m, want, hook = provision(tmp, keys, image, check)
        print("\n".join("   " + x for x in hook.splitlines()))

        say("boot 1: the runtime OS unseals, fails at the approval keys, sees the staged policy "
            "and requests the management environment (TPM NV 0x01500100)")
        b = m.boot(LOGS, "1-runtime")
        show(b)
        check(b.unsealed == want and "sll-runtime: management requested" in b.log,
              "the runtime OS unsealed and requested the management environment")

        say("boot 2: the management environment shows the upgrade and asks; the demo types yes")
        b = m.boot(LOGS, "2-management", answers=APPROVE)
        show(b)
        check(launched(b) == "manage" and manage_exit(b) == 0, "approved and committed")

        say("boot 3: the runtime OS on the new kernel, no reseal")
        b = m.boot(LOGS, "3-runtime")
        show(b)
        check(launched(b) == "linux-6.1.0-2" and b.unsealed == want,
              "the new kernel booted and unsealed the same secret")
    print(f"\ndemo-upgrade: done (serial logs in {os.path.relpath(LOGS)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
