#!/usr/bin/env python3
"""tools/sll-seal against a bus sniffer, an owner password, a failed --replace and a state signed
for another purpose, with the real tpm2-tools against swtpm on the host.

- Sniffing: tpm2-tools reach swtpm through a proxy that records every byte of the command
  channel, both ways, as a probe on the LPC/SPI bus would. seal, unseal and the signed route
  (seal --authorize, sign, unseal --authorize) move a random secret: its bytes appear nowhere in
  the recording. The control: the same kind of secret through tpm2_create and tpm2_unseal
  without sessions (what sll-seal did before) is found in the recording, so the probe sees what
  crosses.
- An object sealed the way sll-seal did before it made an SRK still unseals.
- Owner password: with one set (tpm2_changeauth -c o), seal without --owner-auth-file fails
  naming it; with it, seal, seal --replace and unseal work, and the password is in no command
  line of any tool sll-seal runs (a wrapper records every argv). clevis's tpm2 pin and
  systemd-cryptenroll (252) cannot enroll then (README's limit of those routes).
- --replace: a tpm2_evictcontrol wrapper fails at each of the four steps in turn; afterwards
  unseal gives the old secret (a failure before the old object is evicted) or the new one
  (after), never nothing, and a --replace without failures then works.
- policyRef: an object sealed for "fleet-a" unseals with states signed for "fleet-a" only: a
  state signed for "fleet-b", or over the policy digest alone (systemd's empty policyRef), does
  not unseal it, whatever --ref the runtime gives.
"""
import os
import shutil
import socket
import subprocess
import tempfile
import threading

from sll_test.checks import Checks
from sll_test.paths import SLL_SEAL
from sll_test.swtpm import SwTpm, free_port_pair

PCRS = "sha256:16"   # the debug PCR: resettable, extendable at locality 0
HANDLE = "0x81000100"

t = Checks()
check = t.check


class Recorder:
    """A TCP proxy in front of swtpm's data and control ports; keeps the data channel's bytes
    (commands and responses) as a bus probe would see them."""

    def __init__(self, tpm):
        self.port = free_port_pair()
        self.data = bytearray()
        self.lock = threading.Lock()
        for offset in (0, 1):
            srv = socket.create_server(("127.0.0.1", self.port + offset))
            threading.Thread(target=self._accept, args=(srv, tpm.port + offset, offset == 0),
                             daemon=True).start()
        self.env = dict(os.environ, TPM2TOOLS_TCTI=f"swtpm:host=127.0.0.1,port={self.port}")

    def _accept(self, srv, target, record):
        while True:
            client, _ = srv.accept()
            upstream = socket.create_connection(("127.0.0.1", target))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b, record), daemon=True).start()

    def _pump(self, src, dst, record):
        try:
            while True:
                chunk = src.recv(65536)
                if not chunk:
                    break
                if record:
                    with self.lock:
                        self.data += chunk
                dst.sendall(chunk)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def seen(self, secret):
        with self.lock:
            return secret in self.data


def run(env, *args, **kw):
    """A command against the TPM in env, then its transient objects and sessions flushed."""
    r = subprocess.run(list(args), env=env, capture_output=True, **kw)
    for what in ("-t", "-l", "-s"):
        subprocess.run(["tpm2_flushcontext", what], env=env, capture_output=True)
    return r


def pcr_values(env, tmp):
    path = os.path.join(tmp, "values.bin")
    r = run(env, "tpm2_pcrread", "-o", path, PCRS)
    assert r.returncode == 0, r.stderr
    return path


def rsa_key(tmp, name):
    key, pub = os.path.join(tmp, name + ".pem"), os.path.join(tmp, name + ".pub.pem")
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                    "rsa_keygen_bits:2048", "-out", key], check=True, capture_output=True)
    subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-out", pub], check=True,
                   capture_output=True)
    return key, pub


def sniffing(tmp):
    with SwTpm(os.path.join(tmp, "sniff")) as tpm:
        rec = Recorder(tpm)
        env, values = rec.env, pcr_values(rec.env, tmp)
        secret = os.urandom(48)
        r = run(env, SLL_SEAL, "seal", "--pcrs", PCRS, "--values", values, "--handle", HANDLE,
                input=secret)
        check(r.returncode == 0, "sniffing: sealed through the recording proxy",
              r.stderr.decode())
        r = run(env, SLL_SEAL, "unseal", "--pcrs", PCRS, "--handle", HANDLE)
        check(r.returncode == 0 and r.stdout == secret, "sniffing: unsealed", r.stderr.decode())
        check(len(rec.data) > 1000 and not rec.seen(secret),
              f"sniffing: the secret is nowhere in the {len(rec.data)} bytes of seal and unseal")

        key, pub = rsa_key(tmp, "sniff-auth")
        signed = os.path.join(tmp, "sniff-signed")
        os.makedirs(signed)
        secret2 = os.urandom(48)
        steps = [run(env, SLL_SEAL, "seal", "--authorize", pub, "--handle", "0x81000101",
                     input=secret2),
                 run(env, SLL_SEAL, "sign", "--key", key, "--pcrs", PCRS, "--values", values,
                     "--out", os.path.join(signed, "current")),
                 run(env, SLL_SEAL, "unseal", "--pcrs", PCRS, "--handle", "0x81000101",
                     "--authorize", pub, "--signed", signed)]
        check(all(s.returncode == 0 for s in steps) and steps[2].stdout == secret2,
              "sniffing: the signed route sealed and unsealed",
              " ".join(s.stderr.decode() for s in steps))
        check(not rec.seen(secret2), "sniffing: the signed route's secret is not on the bus")

        # The control: no sessions, the secret in clear (the previous sll-seal's way).
        clear = os.urandom(48)
        ctx = [os.path.join(tmp, n) for n in ("p.ctx", "o.pub", "o.priv", "o.ctx")]
        steps = [run(env, "tpm2_createprimary", "-Q", "-C", "o", "-c", ctx[0]),
                 run(env, "tpm2_create", "-Q", "-C", ctx[0], "-i", "-", "-u", ctx[1], "-r",
                     ctx[2], input=clear)]
        check(all(s.returncode == 0 for s in steps) and rec.seen(clear),
              "sniffing (control): a secret sent without parameter encryption is seen")


def sealed_before_srk(tmp):
    """An object sealed the way sll-seal did before it made an SRK (a transient primary as
    parent, no 0x81000001): the new unseal salts with that primary again and unseals it."""
    with SwTpm(os.path.join(tmp, "legacy")) as tpm:
        env, values = tpm.env, pcr_values(tpm.env, tmp)
        ctx = {n: os.path.join(tmp, "legacy-" + n) for n in ("p", "pol", "pub", "priv", "obj")}
        secret = os.urandom(32)
        steps = [run(env, "tpm2_createpolicy", "-Q", "--policy-pcr", "-l", PCRS, "-f", values,
                     "-L", ctx["pol"]),
                 run(env, "tpm2_createprimary", "-Q", "-C", "o", "-g", "sha256", "-G", "ecc256",
                     "-c", ctx["p"], "-a", "restricted|decrypt|fixedtpm|fixedparent|"
                     "sensitivedataorigin|userwithauth|noda"),
                 run(env, "tpm2_create", "-Q", "-C", ctx["p"], "-g", "sha256", "-L", ctx["pol"],
                     "-a", "fixedtpm|fixedparent|noda|adminwithpolicy", "-i", "-", "-u",
                     ctx["pub"], "-r", ctx["priv"], input=secret),
                 run(env, "tpm2_load", "-Q", "-C", ctx["p"], "-u", ctx["pub"], "-r", ctx["priv"],
                     "-c", ctx["obj"]),
                 run(env, "tpm2_evictcontrol", "-Q", "-C", "o", "-c", ctx["obj"], HANDLE)]
        check(all(s.returncode == 0 for s in steps), "legacy: sealed the previous way",
              " ".join(s.stderr.decode() for s in steps))
        r = run(env, SLL_SEAL, "unseal", "--pcrs", PCRS, "--handle", HANDLE)
        check(r.returncode == 0 and r.stdout == secret,
              "legacy: unsealed without an SRK (salted with the old parent)", r.stderr.decode())


def argv_logger(bindir, log):
    """Wrappers for every tpm2 tool sll-seal runs: each appends its argv to log, then runs the
    real one."""
    real = os.path.dirname(shutil.which("tpm2_createprimary"))
    for tool in os.listdir(real):
        if not tool.startswith("tpm2_"):
            continue
        path = os.path.join(bindir, tool)
        with open(path, "w") as f:
            f.write(f'#!/bin/sh\necho "{tool} $*" >>"{log}"\nexec "{real}/{tool}" "$@"\n')
        os.chmod(path, 0o755)


def owner_password(tmp):
    with SwTpm(os.path.join(tmp, "owner")) as tpm:
        env, values = tpm.env, pcr_values(tpm.env, tmp)
        password = "Own3r-" + os.urandom(6).hex()
        r = run(env, "tpm2_changeauth", "-c", "o", password)
        check(r.returncode == 0, "owner password set", r.stderr.decode())
        secret = os.urandom(32)
        seal = [SLL_SEAL, "seal", "--pcrs", PCRS, "--values", values, "--handle", HANDLE]
        r = run(env, *seal, input=secret)
        check(r.returncode == 1 and b"--owner-auth-file" in r.stderr,
              "owner password: seal without it fails and names --owner-auth-file",
              r.stderr.decode())
        auth = os.path.join(tmp, "owner.pass")
        with open(auth, "w") as f:
            f.write(password + "\n")   # as `echo PASSWORD > FILE` writes it
        bindir, log = os.path.join(tmp, "argv-bin"), os.path.join(tmp, "argv.log")
        os.makedirs(bindir)
        argv_logger(bindir, log)
        logged = dict(env, PATH=bindir + ":" + env["PATH"])
        r = run(logged, *seal, "--owner-auth-file", auth, input=secret)
        check(r.returncode == 0, "owner password: seal with --owner-auth-file", r.stderr.decode())
        r = run(logged, *seal, "--owner-auth-file", auth, "--replace", input=secret[::-1])
        check(r.returncode == 0, "owner password: seal --replace with --owner-auth-file",
              r.stderr.decode())
        r = run(logged, SLL_SEAL, "unseal", "--pcrs", PCRS, "--handle", HANDLE)
        check(r.returncode == 0 and r.stdout == secret[::-1],
              "owner password: unseal needs no password", r.stderr.decode())
        argv = open(log).read()
        check("tpm2_evictcontrol" in argv and password not in argv,
              "owner password: in no tool's command line")
        # What README says of the clevis route: its primary key needs an empty owner password.
        r = run(env, "clevis", "encrypt", "tpm2", '{"pcr_bank":"sha256","pcr_ids":"16"}',
                input=secret)
        check(r.returncode != 0, "owner password: clevis encrypt tpm2 cannot create its primary "
              "(as README says)", r.stderr.decode()[-200:])
        img, passfile = os.path.join(tmp, "owner-luks.img"), os.path.join(tmp, "owner-luks.pass")
        with open(passfile, "w") as f:
            f.write("luks-" + os.urandom(8).hex())
        with open(img, "wb") as f:
            f.truncate(32 << 20)
        subprocess.run(["cryptsetup", "luksFormat", "-q", "--type", "luks2", "--pbkdf", "pbkdf2",
                        "--pbkdf-force-iterations", "1000", img, passfile], check=True)
        _, pub = rsa_key(tmp, "owner-admin")
        r = run(dict(env, PASSWORD=open(passfile).read()), "systemd-cryptenroll",
                f"--tpm2-device=swtpm:host=127.0.0.1,port={tpm.port}",
                "--tpm2-public-key=" + pub, "--tpm2-public-key-pcrs=17+18+21+22", "--tpm2-pcrs=",
                img)
        check(r.returncode != 0 and b"primary key" in r.stderr,
              "owner password: systemd-cryptenroll (252) cannot create its primary key either "
              "(as README says)", r.stderr.decode()[-200:])


def evict_failing_at(bindir, counter, step):
    real = shutil.which("tpm2_evictcontrol")
    path = os.path.join(bindir, "tpm2_evictcontrol")
    with open(path, "w") as f:
        f.write(f'#!/bin/sh\nn=$(($(cat "{counter}" 2>/dev/null || echo 0) + 1))\n'
                f'echo $n >"{counter}"\n'
                f'[ $n != {step} ] || {{ echo "injected failure" >&2; exit 1; }}\n'
                f'exec "{real}" "$@"\n')
    os.chmod(path, 0o755)


def replace_failures(tmp):
    steps = {1: "persisting the new object at the spare", 2: "evicting the old object",
             3: "persisting the new object at the handle", 4: "evicting the spare"}
    with SwTpm(os.path.join(tmp, "replace")) as tpm:
        env, values = tpm.env, pcr_values(tpm.env, tmp)
        seal = [SLL_SEAL, "seal", "--pcrs", PCRS, "--values", values, "--handle", HANDLE,
                "--replace"]
        unseal = [SLL_SEAL, "unseal", "--pcrs", PCRS, "--handle", HANDLE]
        old = os.urandom(32)
        check(run(env, *seal, input=old).returncode == 0, "replace: the old secret sealed")
        bindir, counter = os.path.join(tmp, "evict-bin"), os.path.join(tmp, "evict.count")
        os.makedirs(bindir)
        for step, what in steps.items():
            evict_failing_at(bindir, counter, step)
            if os.path.exists(counter):
                os.unlink(counter)
            new = os.urandom(32)
            r = run(dict(env, PATH=bindir + ":" + env["PATH"]), *seal, input=new)
            check(r.returncode == 1 and b"injected failure" in r.stderr,
                  f"replace: the failure injected at step {step} ({what}) stops seal",
                  r.stderr.decode())
            r = run(env, *unseal)
            want = old if step <= 2 else new
            check(r.returncode == 0 and r.stdout == want,
                  f"replace: after a failure at step {step}, unseal gives the "
                  f"{'old' if step <= 2 else 'new'} secret", r.stderr.decode())
            r = run(env, *seal, input=old)
            check(r.returncode == 0, f"replace: a --replace after the failure at step {step} "
                  "works", r.stderr.decode())
            r = run(env, *unseal)
            check(r.returncode == 0 and r.stdout == old and not r.stderr,
                  f"replace: then unseal gives what it sealed, from the handle itself",
                  r.stderr.decode())


def policy_ref(tmp):
    with SwTpm(os.path.join(tmp, "ref")) as tpm:
        env, values = tpm.env, pcr_values(tpm.env, tmp)
        key, pub = rsa_key(tmp, "ref-auth")
        secret = os.urandom(32)
        r = run(env, SLL_SEAL, "seal", "--authorize", pub, "--ref", "fleet-a", "--handle",
                HANDLE, input=secret)
        check(r.returncode == 0, "policyRef: sealed for fleet-a", r.stderr.decode())
        dirs = {}
        for ref in ("fleet-a", "fleet-b", ""):
            d = dirs[ref] = os.path.join(tmp, "signed-" + (ref or "none"))
            os.makedirs(d)
            r = run(env, SLL_SEAL, "sign", "--key", key, "--ref", ref, "--pcrs", PCRS,
                    "--values", values, "--out", os.path.join(d, "current"))
            check(r.returncode == 0, f"policyRef: the state signed for {ref!r}",
                  r.stderr.decode())

        def unseal(signed, ref):
            return run(env, SLL_SEAL, "unseal", "--pcrs", PCRS, "--handle", HANDLE,
                       "--authorize", pub, "--ref", ref, "--signed", signed)

        r = unseal(dirs["fleet-a"], "fleet-a")
        check(r.returncode == 0 and r.stdout == secret, "policyRef: fleet-a's state unseals",
              r.stderr.decode())
        for d, ref in ((dirs["fleet-b"], "fleet-b"), (dirs["fleet-b"], "fleet-a"),
                       (dirs[""], ""), (dirs[""], "fleet-a")):
            r = unseal(d, ref)
            check(r.returncode == 1 and not r.stdout,
                  f"policyRef: a state signed for {os.path.basename(d)[7:]!r}, unsealed with "
                  f"--ref {ref!r}, does not unseal", r.stderr.decode())


with tempfile.TemporaryDirectory() as tmp:
    sniffing(tmp)
    sealed_before_srk(tmp)
    owner_password(tmp)
    replace_failures(tmp)
    policy_ref(tmp)
raise SystemExit(t.summary())
