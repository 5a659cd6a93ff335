#!/usr/bin/env python3
"""tools/kernel-hook: run as dpkg runs /etc/kernel/postinst.d hooks (VERSION IMAGE, with
DEB_MAINT_PARAMS), as update-initramfs runs post-update.d hooks and as kernel-install runs its
plugins, on a staged /boot with a temporary config. A new kernel gets a new entry (exactly its
digests, hashlib here) tried before the old one, which stays allowed; the result is staged, the
live policy untouched, unless a policy key and INSTALL=yes sign and install it; the prediction
(PCR 21 and 22 by hashlib, the tpm2 values as slpolicy predict writes them) and the admin's
commands are printed; a rerun changes nothing; a rebuilt initrd is added beside the old one;
failures never fail the installation unless STRICT=yes."""
import hashlib
import json
import os
import subprocess
import sys
import tempfile

from sll_test.checks import Checks
from sll_test.paths import ROOT, SLPOLICY
from sll_test.pcr import chain, h, launch_pcr22, zero
from sll_test.staging import new_policy, put_files, slpolicy

t = Checks()
check = t.check
HOOKS = os.path.join(ROOT, "tools", "kernel-hook")
HOOK = os.path.join(HOOKS, "sll-kernel-hook")
OLD, NEW, OLDER = "6.1.0-28-amd64", "6.1.0-29-amd64", "6.1.0-27-amd64"
CMDLINE = "root=UUID=0d5c2f6e-8a51-4d0e-9b4f-3f0c1d2e3a4b ro quiet"
PCR17, PCR18 = os.urandom(32), bytes(32)


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def read(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


class Machine:
    """A staged boot partition (tmp/NAME) holding Debian's kernel files and the policy at
    /slaunch/policy.json, a config for the hook and the PATH dpkg would give it."""

    def __init__(self, tmp, name, initrds=1, **conf):
        self.dir = os.path.join(tmp, name)
        self.boot = os.path.join(self.dir, "boot")
        self.live = os.path.join(self.boot, "slaunch", "policy.json")
        self.staged = self.live + ".staged"
        self.state = os.path.join(self.dir, "state")
        self.files = {}
        self.add_kernel(OLD)
        extra = [f"/extra-{i}" for i in range(1, initrds)]
        for path in extra:
            self.put(path, os.urandom(100))
        os.makedirs(os.path.dirname(self.live))
        new_policy(self.boot, f"/vmlinuz-{OLD}", [f"/initrd.img-{OLD}"] + extra, CMDLINE,
                   policy=self.live, name="debian")
        self.conf = os.path.join(self.dir, "kernel-hook.conf")
        self.configure(BOOT=self.boot, STATE=self.state, **conf)
        bindir = os.path.join(self.dir, "bin")
        os.makedirs(bindir)
        os.symlink(SLPOLICY, os.path.join(bindir, "slpolicy"))
        self.env = dict(os.environ, PATH=bindir + ":" + os.environ["PATH"],
                        SLL_KERNEL_HOOK_CONF=self.conf, SLL_KERNEL_HOOK=HOOK,
                        DEB_MAINT_PARAMS="configure")

    def configure(self, **conf):
        with open(self.conf, "w") as f:
            f.writelines(f"{k}={v}\n" for k, v in conf.items())

    def put(self, path, data):
        put_files(self.boot, {path: data})
        self.files[path] = data

    def add_kernel(self, version, initrd=True):
        self.put(f"/vmlinuz-{version}", os.urandom(9000))
        if initrd:
            self.put(f"/initrd.img-{version}", os.urandom(4000))

    def run(self, *args, **env):
        r = subprocess.run(list(args), capture_output=True, text=True,
                           env=dict(self.env, **env))
        return r.returncode, r.stdout + r.stderr

    def postinst(self, version, **env):
        """/etc/kernel/postinst.d/zz-sll VERSION /boot/vmlinuz-VERSION, as dpkg runs it."""
        return self.run(os.path.join(HOOKS, "postinst.d", "zz-sll"), version,
                        f"{self.boot}/vmlinuz-{version}", **env)

    def policy(self, path=None):
        return json.loads(read(path or self.staged))


def new_kernel(tmp):
    m = Machine(tmp, "new", PCR17=PCR17.hex(), PCR18=PCR18.hex())
    live_before = read(m.live, "rb")
    old_entry = m.policy(m.live)["entries"][0]
    m.add_kernel(NEW)
    rc, out = m.postinst(NEW)
    check(rc == 0 and os.path.isfile(m.staged), "a new kernel: the hook exits 0 and stages "
          "policy.json.staged", out)
    p = m.policy()
    new = p["entries"][0]
    check(read(m.live, "rb") == live_before, "the live policy is untouched")
    check([e["name"] for e in p["entries"]] == [f"linux-{NEW}", "debian"] and
          p["serial"] == 2, "a new entry linux-VERSION, tried before the old one; serial + 1",
          [p["serial"], [e["name"] for e in p["entries"]]])
    check(new["kernel"] == f"/vmlinuz-{NEW}" and new["initrd"] == [f"/initrd.img-{NEW}"] and
          new["cmdline"] == CMDLINE, "the new entry names the new files (paths on the boot "
          "partition), with the old entry's command line", new)
    check(new["allow"] == {"kernel": [sha(m.files[f"/vmlinuz-{NEW}"])],
                           "initrd": [[sha(m.files[f"/initrd.img-{NEW}"])]]},
          "the new entry allows exactly the new kernel's and initrd's digests", new["allow"])
    check(p["entries"][1] == old_entry, "the old entry, its kernel and digests, unchanged")
    check(slpolicy("check", m.staged).returncode == 0, "the staged policy passes slpolicy check")

    pcr21 = chain("sha256", zero("sha256"), [h("sha256", read(m.staged, "rb"))])
    pcr22 = launch_pcr22("sha256", [m.files[f"/vmlinuz-{NEW}"], m.files[f"/initrd.img-{NEW}"]],
                         CMDLINE)
    check(f"sha256:21={pcr21.hex()}" in out and f"sha256:22={pcr22.hex()}" in out,
          "the printed prediction: PCR 21 of the staged policy's bytes, PCR 22 of the new "
          "kernel, initrd and command line (hashlib)", out)
    pcrs = os.path.join(m.state, f"next-{NEW}.pcrs")
    want = slpolicy("predict", m.staged, "--root", m.boot, "--entry", f"linux-{NEW}",
                    "--bank", "sha256", "--pcr", "17=" + PCR17.hex(), "--pcr",
                    "18=" + PCR18.hex(), "--format", "tpm2").stdout
    check(os.path.isfile(pcrs) and read(pcrs, "rb") == want == PCR17 + PCR18 + pcr21 + pcr22,
          "STATE/next-VERSION.pcrs: the sealing values of PCRs 17, 18, 21, 22 (tpm2 format)")
    check(f"diff -u {m.live} {m.staged}" in out and f"mv -f {m.staged} {m.live}" in out and
          "slpolicy sign" not in out, "the admin is told to review and install it (unsigned "
          "policy: no signing step)", out)
    check(f"sll-seal seal --pcrs sha256:17,18,21,22 --values {pcrs}" in out,
          "and to reseal to the next state's values", out)

    staged = read(m.staged, "rb")
    rc, out = m.postinst(NEW)
    check(rc == 0 and read(m.staged, "rb") == staged and "already in" in out,
          "run again: nothing changes, the steps are printed again", out)

    old_initrd = m.files[f"/initrd.img-{NEW}"]
    m.put(f"/initrd.img-{NEW}", os.urandom(4100))
    rc, out = m.run(os.path.join(HOOKS, "post-update.d", "sll"), NEW,
                    f"{m.boot}/initrd.img-{NEW}")
    p = m.policy()
    check(rc == 0 and p["serial"] == 3 and len(p["entries"]) == 2 and
          p["entries"][0]["allow"]["initrd"] == [[sha(old_initrd),
                                                 sha(m.files[f"/initrd.img-{NEW}"])]],
          "update-initramfs rebuilt its initrd (post-update.d): the new digest beside the "
          "first one in the same entry, serial + 1", out)

    m.add_kernel(OLDER, initrd=False)
    rc, out = m.run(os.path.join(HOOKS, "post-update.d", "sll"), OLDER,
                    f"{m.boot}/initrd.img-{OLDER}")
    check(rc == 0 and m.policy()["serial"] == 3, "post-update.d for a kernel no entry names: "
          "nothing (new entries are postinst.d's)", out)
    rc, out = m.postinst(OLDER)
    check(rc == 0 and m.policy()["serial"] == 3 and "once update-initramfs writes it" in out,
          "a kernel whose initrd is not written yet: nothing until the initramfs hook", out)
    m.put(f"/initrd.img-{OLDER}", os.urandom(4000))
    rc, out = m.postinst(OLDER)
    check(rc == 0 and [e["name"] for e in m.policy()["entries"]] ==
          [f"linux-{NEW}", f"linux-{OLDER}", "debian"],
          "an older version than the newest entry's is tried after it", out)
    check(m.run(HOOK, NEW, DEB_MAINT_PARAMS="abort-upgrade 6.1.0-29-amd64") == (0, ""),
          "DEB_MAINT_PARAMS abort-upgrade: the hook does nothing")


def signed(tmp):
    m = Machine(tmp, "signed")
    key, pub = os.path.join(m.dir, "key.pem"), os.path.join(m.dir, "key.pub.pem")
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", key], check=True)
    subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-out", pub], check=True)
    slpolicy("sign", "--key", key, m.live, check=True)
    m.add_kernel(NEW)

    m.configure(BOOT=m.boot, STATE=m.state, INSTALL="yes")
    live_before = read(m.live, "rb")
    rc, out = m.postinst(NEW)
    check(rc == 0 and read(m.live, "rb") == live_before and os.path.isfile(m.staged) and
          f"slpolicy sign --key POLICY-KEY.pem {m.staged}" in out and
          f"mv -f {m.staged}.sig {m.live}.sig" in out and "left staged" in out,
          "a signed live policy, INSTALL=yes without a key: left staged, with the signing "
          "and install steps", out)

    m.configure(BOOT=m.boot, STATE=m.state, INSTALL="yes", POLICY_KEY=key, POLICY_PUBKEY=pub)
    rc, out = m.postinst(NEW)
    p = m.policy(m.live)
    check(rc == 0 and not os.path.exists(m.staged) and p["serial"] == 2 and
          [e["name"] for e in p["entries"]] == [f"linux-{NEW}", "debian"],
          "with POLICY_KEY and INSTALL=yes: the live policy replaced, the staged one gone", out)
    r = slpolicy("verify", "--pubkey", pub, m.live, text=True)
    check(r.returncode == 0, "and signed: slpolicy verify accepts it", r.stderr)
    check("sha256:19=" in out and "1. review" not in out and
          "set PCR17 and PCR18" in out, "the prediction has PCR 19 (POLICY_PUBKEY); without "
          "PCR17/PCR18 the admin is told how to get the sealing values", out)


def kernel_install(tmp):
    """kernel-install's plugin: the copies 90-loaderentry made in ENTRY_DIR on the ESP."""
    m = Machine(tmp, "esp")
    entry_dir = os.path.join(m.boot, "f00d", NEW)
    m.put(f"/f00d/{NEW}/linux", os.urandom(9000))
    m.put(f"/f00d/{NEW}/initrd.img-{NEW}", os.urandom(4000))
    rc, out = m.run(os.path.join(HOOKS, "install.d", "95-sll.install"), "add", NEW, entry_dir,
                    f"/usr/lib/modules/{NEW}/vmlinuz", f"/boot/initrd.img-{NEW}")
    new = m.policy()["entries"][0] if os.path.isfile(m.staged) else {}
    check(rc == 0 and new.get("kernel") == f"/f00d/{NEW}/linux" and
          new.get("initrd") == [f"/f00d/{NEW}/initrd.img-{NEW}"] and
          new["allow"]["kernel"] == [sha(m.files[f"/f00d/{NEW}/linux"])],
          "kernel-install add: the entry names ENTRY_DIR's linux and initrd", out)
    check(m.run(os.path.join(HOOKS, "install.d", "95-sll.install"), "remove", NEW,
                entry_dir)[0] == 0, "kernel-install remove: nothing")


def refusals(tmp):
    m = Machine(tmp, "none")
    os.remove(m.live)
    m.add_kernel(NEW)
    rc, out = m.postinst(NEW)
    check(rc == 0 and "no SLL policy" in out and not os.path.exists(m.staged),
          "no policy on the boot partition: nothing to do, exit 0", out)

    m = Machine(tmp, "outside")
    outside = os.path.join(m.dir, "elsewhere")
    put_files(outside, {f"/vmlinuz-{NEW}": b"k", f"/initrd.img-{NEW}": b"i"})
    rc, out = m.run(HOOK, NEW, f"{outside}/vmlinuz-{NEW}")
    check(rc == 0 and "is not on the boot partition" in out and not os.path.exists(m.staged),
          "a kernel outside BOOT: said, nothing written, exit 0", out)

    m = Machine(tmp, "two", initrds=2)
    m.add_kernel(NEW)
    rc, out = m.postinst(NEW)
    check(rc == 0 and "FAILED: entry \"debian\" has 2 initrds" in out and
          "installation goes on" in out and not os.path.exists(m.staged),
          "a template with two initrds: FAILED line, exit 0 (the installation goes on)", out)
    m.configure(BOOT=m.boot, STATE=m.state, STRICT="yes")
    rc, out = m.postinst(NEW)
    check(rc == 1 and "installation fails (STRICT=yes" in out, "STRICT=yes: exit 1", out)

    m = Machine(tmp, "broken")
    with open(m.live, "a") as f:
        f.write("{")
    m.add_kernel(NEW)
    rc, out = m.postinst(NEW)
    check(rc == 0 and "is not a valid policy" in out and not os.path.exists(m.staged),
          "an invalid live policy: FAILED line, exit 0", out)


def main():
    if not os.access(SLPOLICY, os.X_OK):
        print(f"{SLPOLICY} missing: make slpolicy")
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        new_kernel(tmp)
        signed(tmp)
        kernel_install(tmp)
        refusals(tmp)
    return t.summary()


sys.exit(main())
