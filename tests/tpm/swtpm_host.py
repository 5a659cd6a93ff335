"""A swtpm on the host for tpm2-tools (TPM2TOOLS_TCTI=swtpm:…), which can also play a dynamic
launch and extend the DRTM PCRs at locality 2, as the SL kernel does: tpm2-tools' swtpm TCTI
always talks at locality 0, where the TPM refuses to extend PCRs 17-22."""
import hashlib
import os
import socket
import struct
import subprocess
import time

# swtpm control channel (swtpm's include/swtpm/tpm_ioctl.h)
CMD_SET_LOCALITY, CMD_HASH_START, CMD_HASH_DATA, CMD_HASH_END = 0x05, 0x06, 0x07, 0x08
# TPM 2.0 (Part 2): TPM_ST_SESSIONS, TPM_CC_PCR_Extend, TPM_RS_PW, algorithm ids
TPM_ST_SESSIONS, TPM_CC_PCR_EXTEND, TPM_RS_PW = 0x8002, 0x182, 0x40000009
ALG_IDS = {"sha1": 0x0004, "sha256": 0x000B, "sha384": 0x000C, "sha512": 0x000D}


def free_port_pair():
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port < 65000:
            with socket.socket() as s2:
                try:
                    s2.bind(("127.0.0.1", port + 1))
                    return port
                except OSError:
                    continue
    raise RuntimeError("no free port pair")


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        part = sock.recv(n - len(buf))
        if not part:
            raise RuntimeError("swtpm closed the connection")
        buf += part
    return buf


class SwTpm:
    """swtpm on 127.0.0.1 (data port, control port + 1), started with TPM2_Startup done, over
    STATE (created with swtpm_setup when it holds no TPM yet). Use as a context manager."""

    def __init__(self, state, banks=("sha1", "sha256")):
        self.state = state
        os.makedirs(state, exist_ok=True)
        if not os.path.exists(os.path.join(state, "tpm2-00.permall")):
            subprocess.run(["swtpm_setup", "--tpm2", "--tpmstate", state, "--pcr-banks",
                            ",".join(banks)], capture_output=True, check=True)
        self.port = free_port_pair()
        self.proc = subprocess.Popen(
            ["swtpm", "socket", "--tpm2", "--tpmstate", f"dir={state}",
             "--server", f"type=tcp,port={self.port},bindaddr=127.0.0.1",
             "--ctrl", f"type=tcp,port={self.port + 1},bindaddr=127.0.0.1",
             "--flags", "not-need-init,startup-clear"])
        self.env = dict(os.environ, TPM2TOOLS_TCTI=f"swtpm:host=127.0.0.1,port={self.port}")
        for _ in range(200):
            if subprocess.run(["tpm2_pcrread", "sha256:0"], env=self.env,
                              capture_output=True).returncode == 0:
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("swtpm did not come up")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        """Ends swtpm; it saves its state (the persistent objects) on the way out."""
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)

    def _ctrl(self, code, payload=b""):
        with socket.create_connection(("127.0.0.1", self.port + 1)) as s:
            s.sendall(struct.pack(">I", code) + payload)
            res, = struct.unpack(">I", recv_exact(s, 4))
        if res:
            raise RuntimeError(f"swtpm control command {code:#x}: result {res:#x}")

    def dynamic_launch(self, image):
        """The DCE's part: PCRs 17-22 reset to zero, PCR 17 = H(0 || H(image))."""
        self._ctrl(CMD_HASH_START)
        for off in range(0, len(image), 4096):
            chunk = image[off:off + 4096]
            self._ctrl(CMD_HASH_DATA, struct.pack(">I", len(chunk)) + chunk)
        self._ctrl(CMD_HASH_END)

    def extend(self, pcr, data, banks, locality=2):
        """TPM2_PCR_Extend of H(data) in every bank at the given locality; returns the TPM's
        response code (0 on success)."""
        digests = b"".join(struct.pack(">H", ALG_IDS[b]) + hashlib.new(b, data).digest()
                           for b in banks)
        auth = struct.pack(">IHBH", TPM_RS_PW, 0, 0, 0)
        params = struct.pack(">II", pcr, len(auth)) + auth + struct.pack(">I", len(banks))
        params += digests
        cmd = struct.pack(">HII", TPM_ST_SESSIONS, 10 + len(params), TPM_CC_PCR_EXTEND) + params
        self._ctrl(CMD_SET_LOCALITY, bytes([locality, 0, 0, 0]))
        try:
            with socket.create_connection(("127.0.0.1", self.port)) as s:
                s.sendall(cmd)
                _, size, rc = struct.unpack(">HII", recv_exact(s, 10))
                recv_exact(s, size - 10)
        finally:
            self._ctrl(CMD_SET_LOCALITY, bytes([0, 0, 0, 0]))
        return rc

    def tool(self, *args, **kw):
        """A tpm2-tools (or clevis) command against this TPM, then the transient objects and
        loaded sessions flushed (no resource manager here)."""
        r = subprocess.run(list(args), env=self.env, capture_output=True, **kw)
        for what in ("-t", "-l", "-s"):
            subprocess.run(["tpm2_flushcontext", what], env=self.env, capture_output=True)
        return r
