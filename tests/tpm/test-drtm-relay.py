#!/usr/bin/env python3
"""Self-contained test of tests/harness/drtm-relay.py with swtpm, no QEMU.

Plays QEMU's tpm-emulator part in Python: connects to the relay, passes a
data fd with CMD_SET_DATAFD, sends CMD_INIT and TPM2_Startup(CLEAR), selects
locality 2 (the DRTM trigger) and reads PCRs 17-23 in all three banks.  The
expected PCR 17 value is computed independently with hashlib.
Needs swtpm and swtpm_setup in PATH.  Usage: test-drtm-relay.py [-v]
"""

import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

from sll_test.checks import Checks
from sll_test.paths import ROOT
from sll_test.pcr import drtm_pcr17
from sll_test.swtpm import (ALG_IDS, CMD_INIT, CMD_SET_DATAFD, CMD_SET_LOCALITY,
                            TPM_CC_PCR_READ, TPM_CC_STARTUP, TPM_ST_NO_SESSIONS, ctrl_command,
                            setup_state, stop_process, tpm_command)

RELAY = os.path.join(ROOT, "tests", "harness", "drtm-relay.py")
VERBOSE = "-v" in sys.argv[1:]
BANKS = ("sha1", "sha256", "sha384")
PCRS = range(17, 24)

t = Checks()
check = t.check


def wait_for(path, proc, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if proc.poll() is not None:
            raise RuntimeError("%s exited with %d" % (proc.args[0],
                                                      proc.returncode))
        if time.monotonic() > deadline:
            raise RuntimeError("timed out waiting for %s" % path)
        time.sleep(0.05)


class FakeQemu:
    """The parts of QEMU's backends/tpm/tpm_emulator.c we need."""

    def __init__(self, relay_sock):
        self.ctrl = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.ctrl.connect(relay_sock)
        self.data = None

    def set_datafd(self):
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        res = ctrl_command(self.ctrl, CMD_SET_DATAFD, fds=[theirs.fileno()])
        theirs.close()
        self.data = mine
        return res

    def init(self):
        return ctrl_command(self.ctrl, CMD_INIT, struct.pack(">I", 0))

    def set_locality(self, loc):
        # QEMU sends sizeof(ptm_loc) == 4 bytes, of which the first is loc
        return ctrl_command(self.ctrl, CMD_SET_LOCALITY, bytes([loc, 0, 0, 0]))

    def tpm(self, cc, params=b""):
        return tpm_command(self.data, TPM_ST_NO_SESSIONS, cc, params)

    def startup_clear(self):
        return self.tpm(TPM_CC_STARTUP, struct.pack(">H", 0))[0]

    def pcr_read(self, alg, pcrs):
        sel = bytearray(3)
        for p in pcrs:
            sel[p // 8] |= 1 << (p % 8)
        rc, body = self.tpm(TPM_CC_PCR_READ,
                            struct.pack(">IHB", 1, alg, 3) + bytes(sel))
        if rc:
            raise RuntimeError("TPM2_PCR_Read rc=0x%x" % rc)
        # pcrUpdateCounter, TPML_PCR_SELECTION, TPML_DIGEST
        off = 4
        count, = struct.unpack_from(">I", body, off)
        off += 4
        for _ in range(count):
            _, size = struct.unpack_from(">HB", body, off)
            off += 3 + size
        ndig, = struct.unpack_from(">I", body, off)
        off += 4
        digests = []
        for _ in range(ndig):
            size, = struct.unpack_from(">H", body, off)
            digests.append(body[off + 2:off + 2 + size])
            off += 2 + size
        if len(digests) != len(pcrs):
            raise RuntimeError("asked for %d PCRs, got %d" %
                               (len(pcrs), len(digests)))
        return dict(zip(pcrs, digests))  # digests come in ascending order

    def close(self):
        for s in (self.data, self.ctrl):
            if s:
                s.close()


class Rig:
    """Fresh swtpm state + swtpm + relay in a temp dir."""

    def __init__(self, tmp, name, relay_args):
        self.dir = os.path.join(tmp, name)
        os.mkdir(self.dir)
        self.procs = []
        try:
            self._start(relay_args)
        except BaseException:
            self.stop()   # the caller's finally never sees this Rig
            raise

    def _start(self, relay_args):
        state = os.path.join(self.dir, "state")
        setup_state(state, BANKS)
        self.ctrl = os.path.join(self.dir, "ctrl.sock")
        self.sock = os.path.join(self.dir, "relay.sock")
        self.relay_log = os.path.join(self.dir, "relay.log")
        self.relay_err = os.path.join(self.dir, "relay.err")
        self.procs.append(subprocess.Popen(
            ["swtpm", "socket", "--tpm2", "--tpmstate", "dir=" + state,
             "--ctrl", "type=unixio,path=" + self.ctrl,
             "--log", "file=" + os.path.join(self.dir, "swtpm.log")]))
        wait_for(self.ctrl, self.procs[-1])
        with open(self.relay_err, "w") as err:
            self.relay = subprocess.Popen(
                [sys.executable, RELAY, "--listen", self.sock,
                 "--swtpm-ctrl", self.ctrl, "--log", self.relay_log]
                + relay_args, stderr=err)
        self.procs.append(self.relay)
        wait_for(self.sock, self.relay)

    def relay_exit(self, timeout=10):
        """Relay's exit status after its QEMU side went away."""
        try:
            return self.relay.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stderr(self):
        with open(self.relay_err) as f:
            return f.read()

    def stop(self):
        for p in reversed(self.procs):
            stop_process(p, 5)


def boot(q):
    """What QEMU + firmware do before the launched kernel runs."""
    check(q.set_datafd() == 0, "CMD_SET_DATAFD through the relay")
    check(q.init() == 0, "CMD_INIT")
    check(q.set_locality(0) == 0, "CMD_SET_LOCALITY 0")
    check(q.startup_clear() == 0, "TPM2_Startup(CLEAR) over the data fd")


def test_drtm(tmp, image_path, image):
    rig = Rig(tmp, "drtm", ["--image", image_path])
    q = None
    try:
        q = FakeQemu(rig.sock)
        boot(q)
        check(q.set_locality(2) == 0, "CMD_SET_LOCALITY 2 (DRTM trigger)")
        first = {}
        for alg in BANKS:
            pcrs = q.pcr_read(ALG_IDS[alg], list(PCRS))
            first[alg] = pcrs
            want = drtm_pcr17(alg, image)
            check(pcrs[17] == want, "%s PCR17 == H(0^n || H(image)) (%s)"
                  % (alg, pcrs[17].hex()[:16]))
            check(all(pcrs[i] == bytes(len(want)) for i in range(18, 23)),
                  "%s PCR18-22 == 0" % alg)
            check(pcrs[23] == bytes(len(want)), "%s PCR23 == 0" % alg)
        # --once: switching away and back must not measure again
        check(q.set_locality(0) == 0 and q.set_locality(2) == 0,
              "locality 0 -> 2 again")
        again = q.pcr_read(ALG_IDS["sha256"], [17])
        check(again[17] == first["sha256"][17],
              "second locality-2 selection does not re-extend PCR17")
        q.close()
        q = None
        check(rig.relay_exit() == 0, "relay exits 0 when QEMU side closes")
        with open(rig.relay_log) as f:
            log = f.read()
        check("SET_DATAFD" in log and "SET_LOCALITY loc=2" in log,
              "relay log lists control commands")
    finally:
        if q:
            q.close()
        rig.stop()


def test_no_drtm(tmp, image_path):
    rig = Rig(tmp, "nodrtm", ["--image", image_path, "--no-drtm"])
    q = None
    try:
        q = FakeQemu(rig.sock)
        boot(q)
        check(q.set_locality(2) == 0, "CMD_SET_LOCALITY 2 (no DRTM)")
        for alg in BANKS:
            pcrs = q.pcr_read(ALG_IDS[alg], list(PCRS))
            n = len(pcrs[17])
            check(pcrs[17] == b"\xff" * n, "--no-drtm: %s PCR17 all 0xff"
                  % alg)
    finally:
        if q:
            q.close()
        rig.stop()


def test_refuses_before_init(tmp, image_path):
    """The DCE's hash sequence fails if the TPM is not running; the relay
    must report that and exit nonzero instead of silently going on."""
    rig = Rig(tmp, "noinit", ["--image", image_path])
    q = None
    try:
        q = FakeQemu(rig.sock)
        try:
            q.set_locality(2)
            answered = True
        except (RuntimeError, OSError):
            answered = False
        check(not answered, "SET_LOCALITY 2 before CMD_INIT not answered")
        rc = rig.relay_exit()
        check(rc not in (None, 0), "relay exits nonzero (rc=%s)" % rc)
        check("error" in rig.stderr(), "relay reports the error on stderr")
    finally:
        if q:
            q.close()
        rig.stop()


def main():
    for tool in ("swtpm", "swtpm_setup"):
        if not shutil.which(tool):
            print("%s not found" % tool)
            return 2
    tmp = tempfile.mkdtemp(prefix="test-drtm-relay.")
    try:
        # Random size spanning several 4 KiB HASH_DATA chunks + a partial one.
        image = os.urandom(3 * 4096 + 1 + int.from_bytes(os.urandom(2),
                                                          "big") % 4096)
        image_path = os.path.join(tmp, "image.bin")
        with open(image_path, "wb") as f:
            f.write(image)
        for test, args in ((test_drtm, (tmp, image_path, image)),
                           (test_no_drtm, (tmp, image_path)),
                           (test_refuses_before_init, (tmp, image_path))):
            try:
                test(*args)
            except Exception as e:  # count, report, go on with the next one
                check(False, "%s raised %r" % (test.__name__, e))
    finally:
        if VERBOSE:
            print("kept " + tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return t.summary()


if __name__ == "__main__":
    sys.exit(main())
