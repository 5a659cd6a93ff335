"""Remote attestation in the tests: the verifier's side of the serial-port protocol the runtime
OS's attest.img answers (tests/e2e/runtime/make-runtime.sh, step 70-attest), a boot that talks
it while the runtime OS runs, and build/slpolicy attest and build/sll-attest on the host."""
import base64
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time

from sll_test.e2e import boot_stage
from sll_test.paths import SLL_ATTEST, SLPOLICY


class Channel:
    """The verifier's end of the runtime OS's second serial port (a QEMU socket chardev)."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _line(self, deadline):
        while b"\n" not in self.buf:
            self.sock.settimeout(max(0.1, deadline - time.monotonic()))
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("the runtime OS closed the serial port")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode("utf-8", "replace").rstrip("\r")

    def wait_ready(self, timeout=240):
        deadline = time.monotonic() + timeout
        while self._line(deadline) != "ready":
            pass

    def request(self, line, timeout=120):
        """Sends one request; returns (ok, the answer's text)."""
        deadline = time.monotonic() + timeout
        # "ready" lines the runtime sent before it saw the first request are stale.
        self.sock.sendall(line.encode() + b"\n")
        status = self._line(deadline)
        while status == "ready":
            status = self._line(deadline)
        out = []
        while True:
            text = self._line(deadline)
            if text == "end":
                return status == "ok", "\n".join(out) + "\n"
            out.append(text)

    def enroll(self):
        return self.request("enroll")

    def activate(self, credential_json):
        return self.request("activate " + base64.b64encode(credential_json).decode())

    def quote(self, nonce, banks=("sha256",)):
        return self.request(f"quote {nonce} {','.join(banks)}")

    def done(self):
        self.sock.sendall(b"done\n")


def attest_boot(name, stage, logs, session, **boot_kw):
    """boot_stage(name, stage, logs, **boot_kw) with a second serial port on a socket, and
    session(channel) run against it while the runtime OS answers (its command line must hold
    sll.attest=ttyS1 and its initrds attest.img). Returns (Boot, what session returned, or
    the exception it raised)."""
    # A directory of its own: a socket's path must stay short (108 bytes).
    sock_dir = tempfile.mkdtemp(prefix="sll-attest-")
    sock_path = os.path.join(sock_dir, "serial")
    qemu_args = ["-chardev", f"socket,id=attest,path={sock_path},server=on,wait=off",
                 "-serial", "chardev:attest"]
    result = {}

    def run():
        result["boot"] = boot_stage(name, stage, logs, disk_name=name + ".img",
                                    qemu_args=qemu_args, **boot_kw)

    thread = threading.Thread(target=run)
    thread.start()
    outcome = None
    try:
        sock = connect(sock_path, thread)
        with sock:
            ch = Channel(sock)
            ch.wait_ready()
            outcome = session(ch)
            ch.done()
    except (OSError, EOFError) as e:
        outcome = e
    thread.join()
    shutil.rmtree(sock_dir, ignore_errors=True)
    return result["boot"], outcome


def connect(path, thread, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and thread.is_alive():
        if os.path.exists(path):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(path)
                return s
            except OSError:
                s.close()
        time.sleep(0.05)
    raise OSError(f"no QEMU serial socket {path}")


def slpolicy_attest(*args):
    """build/slpolicy attest ARGS...: the finished process (text)."""
    return subprocess.run([SLPOLICY, "attest", *args], capture_output=True, text=True)


def sll_attest(*args, env=None, **kw):
    """build/sll-attest ARGS... (against the TPM env's TPM2TOOLS_TCTI names): the finished
    process (text)."""
    return subprocess.run([SLL_ATTEST, *args], capture_output=True, text=True, env=env, **kw)
