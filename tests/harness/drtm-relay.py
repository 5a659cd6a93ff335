#!/usr/bin/env python3
"""DRTM simulation relay between QEMU's tpm-emulator backend and swtpm.

QEMU connects to --listen as if it were swtpm's control socket; the relay
connects to swtpm's real control socket (--swtpm-ctrl) and forwards bytes both
ways, including the data-channel fd that QEMU passes with CMD_SET_DATAFD as
SCM_RIGHTS ancillary data.  QEMU then talks TPM commands over that fd directly
to swtpm; only the control channel goes through us.

On a real machine the CPU's dynamic launch (Intel TXT GETSEC[SENTER] / AMD
SKINIT) plays the DCE: it sends _TPM_Hash_Start/_Data/_End at locality 4,
which resets PCRs 17-22 to 0 and extends PCR 17 with H(launched image).  QEMU
has no such thing, so we do it here: the first time QEMU selects locality 2
(it does that right before the first TPM command the guest issues at
locality 2, i.e. once the launched kernel runs), we send CMD_HASH_START,
CMD_HASH_DATA over the bytes of --image and CMD_HASH_END to swtpm ourselves,
then forward QEMU's CMD_SET_LOCALITY.  Doing it on the locality-2 trigger
guarantees it happens after QEMU's CMD_INIT (which wipes the TPM state) and
after the firmware's TPM2_Startup (before Startup libtpms would treat the
sequence as an H-CRTM event into PCR 0 instead of the DRTM event into PCR 17).

Result in every allocated bank: PCR17 = H(0^n || H(image)), PCR18-22 = 0.

QEMU's CRB interface never leaves locality 0, so there is no locality-2 trigger: with
--dce-on-signal the relay plays the DCE when it receives SIGUSR1 instead (the harness sends
it once the console shows the launched kernel started, before its TPM driver probes).

Control-channel protocol (swtpm include/swtpm/tpm_ioctl.h, src/swtpm/
ctrlchannel.c): request = be32 command code + payload; response = be32
result code (0 = success) + command-specific fields.  It is strictly
request/response: QEMU never sends a control command before it has read the
whole response to the previous one.  The relay relies on this to find
command boundaries without knowing every payload size.

The control-channel commands and the DCE's hash sequence come from the tests'
library, tests/lib/sll_test/swtpm.py: run with tests/lib on PYTHONPATH
(tests/harness/boot-qemu.sh sets it).
"""

import argparse
import os
import select
import signal
import socket
import struct
import sys
import time

from sll_test.swtpm import (CMD_HASH_DATA, CMD_INIT, CMD_NAMES, CMD_SET_LOCALITY,
                            ctrl_command, dce_hash)

# Leading payload bytes we wait for before acting on / logging a command.
# (QEMU actually sends sizeof() of the whole request/response union, e.g. 4
# bytes for SET_LOCALITY; we only need the fields at the front.)
ARG_BYTES = {0x02: 4, 0x05: 1, 0x07: 4, 0x0b: 1, 0x0c: 12, 0x0d: 12,
             0x11: 4, 0x12: 16, 0x13: 4}

MAX_FDS = 4


class RelayError(Exception):
    pass


class Relay:
    def __init__(self, image, drtm, once, logf, dce_locality=2, dce_on_signal=False):
        # Read the image up front, as QEMU does with -kernel: we measure what
        # was launched, and a missing file fails before the guest even starts.
        self.image = image
        self.data = b""
        if drtm:
            with open(image, "rb") as f:
                self.data = f.read()
        self.drtm = drtm
        self.once = once
        self.logf = logf
        self.armed = drtm     # DRTM still to be done (re-armed by CMD_INIT)
        self.dce_locality = dce_locality
        self.dce_on_signal = dce_on_signal  # SIGUSR1 plays the DCE, no locality does

    def log(self, msg):
        if self.logf:
            self.logf.write("%.3f %s\n" % (time.monotonic(), msg))
            self.logf.flush()

    # -- DCE simulation -------------------------------------------------

    def _tpm_cmd(self, sock, code, payload=b""):
        """Send one control command of our own and check its ptm_res."""
        res = ctrl_command(sock, code, payload)  # HASH_* responses: only a ptm_res
        if res != 0:
            raise RelayError("swtpm returned 0x%x for CMD_%s" %
                             (res, CMD_NAMES[code]))

    def dynamic_launch(self, tpm):
        data = self.data
        try:
            dce_hash(lambda code, payload: self._tpm_cmd(tpm, code, payload),
                     data)
        except OSError as e:
            raise RelayError("DRTM hash sequence failed: %s" % e)
        msg = "DRTM: measured %s (%d bytes) into PCR 17" % (self.image,
                                                             len(data))
        self.log(msg)
        print("drtm-relay: " + msg, file=sys.stderr)

    # -- per-command hook, called with the command's first bytes ---------

    def on_command(self, code, args, tpm):
        name = CMD_NAMES.get(code, "UNKNOWN(0x%x)" % code)
        if code == CMD_SET_LOCALITY:
            desc = "loc=%d" % args[0]
        elif code == CMD_HASH_DATA:
            desc = "len=%d" % struct.unpack(">I", args[:4])
        elif code in ARG_BYTES:
            desc = args[:ARG_BYTES[code]].hex()
        else:
            desc = ""
        self.log("ctrl: %s %s" % (name, desc))

        if code == CMD_INIT and self.drtm and self.once:
            # A new TPM init (power-on / reset) starts a new boot: the next
            # dynamic launch in it gets measured again.
            self.armed = True
        if (code == CMD_SET_LOCALITY and not self.dce_on_signal and
                args[0] == self.dce_locality and self.armed):
            self.dynamic_launch(tpm)
            self.armed = not self.once

    def on_signal(self, tpm):
        """--dce-on-signal: SIGUSR1 arrived, at a command boundary."""
        self.log("signal: dynamic launch requested")
        if self.armed:
            self.dynamic_launch(tpm)
            self.armed = not self.once

    # -- forwarding -----------------------------------------------------

    def run(self, qemu, tpm, wakeup=None):
        """wakeup: a socket that becomes readable on SIGUSR1 (--dce-on-signal)."""
        pending, pending_fds = b"", []
        at_boundary = True      # next byte from QEMU starts a new command
        signalled = False
        while True:
            if signalled and at_boundary and not pending:
                signalled = False
                self.on_signal(tpm)
            ready, _, _ = select.select([qemu, tpm] + ([wakeup] if wakeup else []), [], [])
            if wakeup in ready:
                wakeup.recv(64)
                signalled = True
                continue
            if tpm in ready:
                data = tpm.recv(65536)
                if not data:
                    self.log("swtpm closed the control channel")
                    return
                qemu.sendall(data)
                at_boundary = True   # a response ends the current command
            if qemu in ready:
                data, fds = recv_fds(qemu)
                if not data:
                    self.log("QEMU closed the control channel")
                    return
                if not at_boundary:   # rest of a command (e.g. state blob)
                    send_fds(tpm, data, fds)
                    continue
                pending += data
                pending_fds += fds
                if len(pending) < 4:
                    continue
                code, = struct.unpack(">I", pending[:4])
                if len(pending) < 4 + ARG_BYTES.get(code, 0):
                    continue
                # Hook runs before forwarding, so the DRTM happens while QEMU
                # still waits for its SET_LOCALITY response.
                self.on_command(code, pending[4:], tpm)
                # swtpm takes the SCM_RIGHTS fd from the first recvmsg() of a
                # command, so the fd rides on the command's first bytes.
                send_fds(tpm, pending, pending_fds)
                pending, pending_fds = b"", []
                at_boundary = False


def recv_fds(sock):
    data, ancdata, _, _ = sock.recvmsg(65536, socket.CMSG_SPACE(4 * MAX_FDS))
    fds = []
    for level, typ, cdata in ancdata:
        if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
            usable = len(cdata) - len(cdata) % 4
            fds += list(struct.unpack("%di" % (usable // 4), cdata[:usable]))
    return data, fds


def send_fds(sock, data, fds):
    """Send data; pass fds (then close our copies) with its first bytes."""
    if not fds:
        sock.sendall(data)
        return
    try:
        anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                struct.pack("%di" % len(fds), *fds))]
        sent = sock.sendmsg([data], anc)
        sock.sendall(data[sent:])
    finally:
        for fd in fds:
            os.close(fd)


def connect_swtpm(path, timeout=10.0):
    """swtpm may still be starting up; retry for a bounded time."""
    deadline = time.monotonic() + timeout
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            return s
        except OSError as e:
            s.close()
            if time.monotonic() > deadline:
                raise RelayError("cannot connect to swtpm control socket "
                                 "%s: %s" % (path, e))
            time.sleep(0.05)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--listen", required=True,
                    help="unix socket QEMU's tpm-emulator chardev connects to")
    ap.add_argument("--swtpm-ctrl", required=True,
                    help="swtpm's control socket (--ctrl type=unixio,path=)")
    ap.add_argument("--image", help="file measured into PCR 17 on the "
                    "simulated dynamic launch")
    ap.add_argument("--no-drtm", dest="drtm", action="store_false",
                    help="pure pass-through, no DRTM simulation")
    ap.add_argument("--once", action=argparse.BooleanOptionalAction,
                    default=True, help="measure only on the first "
                    "locality-2 selection after each CMD_INIT (default); "
                    "--no-once: on every switch to locality 2")
    ap.add_argument("--log", help="log every control command to this file")
    ap.add_argument("--dce-locality", type=int, default=2, choices=(1, 2, 3),
                    help="play the DCE on the first selection of this locality "
                    "(default 2; fault tests use 1 to launch a kernel that then "
                    "talks to the TPM at the wrong locality)")
    ap.add_argument("--dce-on-signal", action="store_true",
                    help="play the DCE on SIGUSR1, not on a locality selection (QEMU's "
                    "CRB interface stays at locality 0)")
    args = ap.parse_args()
    # Ctrl-C in a terminal hits the whole harness; just go, no traceback.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    wakeup = None
    if args.dce_on_signal:
        wakeup, waker = socket.socketpair()
        waker.setblocking(False)
        signal.set_wakeup_fd(waker.fileno())
        signal.signal(signal.SIGUSR1, lambda *_: None)

    if args.drtm and not args.image:
        ap.error("--image is required unless --no-drtm")

    logf = open(args.log, "a") if args.log else None
    relay = Relay(args.image, args.drtm, args.once, logf, args.dce_locality,
                  args.dce_on_signal)
    # Connect to swtpm first: once our socket exists, both ends are ready.
    tpm = connect_swtpm(args.swtpm_ctrl)
    if os.path.exists(args.listen):
        os.unlink(args.listen)
    lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lsock.bind(args.listen)
    lsock.listen(1)
    relay.log("listening on %s, DRTM %s" %
              (args.listen, "on, image " + args.image if args.drtm else "off"))
    try:
        qemu, _ = lsock.accept()   # one client, like swtpm's own socket
        lsock.close()
        os.unlink(args.listen)
        relay.run(qemu, tpm, wakeup)
    finally:
        if os.path.exists(args.listen):
            os.unlink(args.listen)


if __name__ == "__main__":
    try:
        main()
    except RelayError as e:
        print("drtm-relay: error: %s" % e, file=sys.stderr)
        sys.exit(1)
    except ConnectionError as e:   # a side went away mid-message
        print("drtm-relay: connection lost: %s" % e, file=sys.stderr)
        sys.exit(0)
    except OSError as e:           # e.g. unreadable --image, bad --listen
        print("drtm-relay: error: %s" % e, file=sys.stderr)
        sys.exit(1)
