"""swtpm for the tests: its control channel (swtpm's include/swtpm/tpm_ioctl.h,
src/swtpm/ctrlchannel.c), TPM 2.0 commands over a socket, the DCE's hash sequence of a
simulated dynamic launch (tests/harness/drtm-relay.py plays it with these too), and SwTpm: a
swtpm on the host for tpm2-tools (TPM2TOOLS_TCTI=swtpm:…), which can also play a dynamic
launch and extend the DRTM PCRs at locality 2, as the SL kernel does: tpm2-tools' swtpm TCTI
always talks at locality 0, where the TPM refuses to extend PCRs 17-22."""
import os
import shutil
import socket
import struct
import subprocess
import time

from sll_test.pcr import h

# swtpm control channel: request = be32 command code + payload; response = be32 result
# (0 = success) + command-specific fields.
CMD_NAMES = {
    0x01: "GET_CAPABILITY", 0x02: "INIT", 0x03: "SHUTDOWN",
    0x04: "GET_TPMESTABLISHED", 0x05: "SET_LOCALITY", 0x06: "HASH_START",
    0x07: "HASH_DATA", 0x08: "HASH_END", 0x09: "CANCEL_TPM_CMD",
    0x0a: "STORE_VOLATILE", 0x0b: "RESET_TPMESTABLISHED",
    0x0c: "GET_STATEBLOB", 0x0d: "SET_STATEBLOB", 0x0e: "STOP",
    0x0f: "GET_CONFIG", 0x10: "SET_DATAFD", 0x11: "SET_BUFFERSIZE",
    0x12: "GET_INFO", 0x13: "LOCK_STORAGE",
}
CMD_INIT, CMD_SET_LOCALITY, CMD_SET_DATAFD = 0x02, 0x05, 0x10
CMD_HASH_START, CMD_HASH_DATA, CMD_HASH_END = 0x06, 0x07, 0x08
# ptm_hdata carries at most 4096 data bytes (u.req.data[4096]); swtpm's receive buffer is
# sized for exactly that, so never send more per message.
HASH_CHUNK = 4096

# TPM 2.0 (Part 2): structure tags, command codes, TPM_RS_PW, algorithm ids
TPM_ST_NO_SESSIONS, TPM_ST_SESSIONS = 0x8001, 0x8002
TPM_CC_STARTUP, TPM_CC_PCR_READ, TPM_CC_PCR_EXTEND = 0x144, 0x17E, 0x182
TPM_RS_PW = 0x40000009
ALG_IDS = {"sha1": 0x0004, "sha256": 0x000B, "sha384": 0x000C, "sha512": 0x000D}


def recv_exact(sock, n):
    """Exactly n bytes from sock; ConnectionError if the other side closes first."""
    buf = b""
    while len(buf) < n:
        part = sock.recv(n - len(buf))
        if not part:
            raise ConnectionError("the other side closed the connection")
        buf += part
    return buf


def ctrl_command(sock, code, payload=b"", resp_len=4, fds=()):
    """One control-channel command (fds, if any, passed with it as SCM_RIGHTS); reads resp_len
    bytes of response and returns its be32 result (0: success)."""
    msg = struct.pack(">I", code) + payload
    if fds:
        sock.sendmsg([msg], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                              struct.pack("%di" % len(fds), *fds))])
    else:
        sock.sendall(msg)
    return struct.unpack(">I", recv_exact(sock, resp_len)[:4])[0]


def tpm_command(sock, tag, code, params=b""):
    """One TPM 2.0 command on a data channel: (response code, the response after its
    10-byte header)."""
    sock.sendall(struct.pack(">HII", tag, 10 + len(params), code) + params)
    _, size, rc = struct.unpack(">HII", recv_exact(sock, 10))
    return rc, recv_exact(sock, size - 10)


def dce_hash(ctrl, image):
    """The DCE's part of a dynamic launch on swtpm's control channel: _TPM_Hash_Start, _Data
    over image (in HASH_CHUNK pieces), _End; the TPM resets PCRs 17-22 to zero and extends
    PCR 17 with H(image). ctrl(code, payload) sends one control command and raises unless
    swtpm accepted it."""
    ctrl(CMD_HASH_START, b"")
    for off in range(0, len(image), HASH_CHUNK):
        chunk = image[off:off + HASH_CHUNK]
        ctrl(CMD_HASH_DATA, struct.pack(">I", len(chunk)) + chunk)
    ctrl(CMD_HASH_END, b"")


# swtpm_localca's files in its statedir (swtpm's src/swtpm_localca): the root CA it creates
# on first use, and the intermediate CA that signs the EK certificates (our "issuercert").
EK_CA_ROOT = "swtpm-localca-rootca-cert.pem"
EK_CA_ISSUER = "issuercert.pem"


def write_ek_ca_config(ek_ca):
    """swtpm_setup.conf, swtpm-localca.conf and swtpm-localca.options in the directory ek_ca,
    all pointing into it (none of /etc's or ~/.config's files are read or written); the path
    of swtpm_setup.conf."""
    os.makedirs(ek_ca, exist_ok=True)
    ek_ca = os.path.abspath(ek_ca)
    localca = shutil.which("swtpm_localca") or "/usr/bin/swtpm_localca"
    files = {
        "swtpm-localca.conf": f"statedir = {ek_ca}\n"
                              f"signingkey = {ek_ca}/signkey.pem\n"
                              f"issuercert = {ek_ca}/{EK_CA_ISSUER}\n"
                              f"certserial = {ek_ca}/certserial\n",
        "swtpm-localca.options": "--platform-manufacturer SLL\n--platform-version 2.1\n"
                                 "--platform-model swtpm\n",
        "swtpm_setup.conf": f"create_certs_tool = {localca}\n"
                            f"create_certs_tool_config = {ek_ca}/swtpm-localca.conf\n"
                            f"create_certs_tool_options = {ek_ca}/swtpm-localca.options\n",
    }
    for name, text in files.items():
        with open(os.path.join(ek_ca, name), "w") as f:
            f.write(text)
    return os.path.join(ek_ca, "swtpm_setup.conf")


def ek_ca_certs(ek_ca):
    """The PEM certificates of the local CA in ek_ca that signed the TPM's EK certificate:
    [root CA (self-signed), intermediate CA (signed by the root, signs the EK certificates)]."""
    return [os.path.join(ek_ca, EK_CA_ROOT), os.path.join(ek_ca, EK_CA_ISSUER)]


def setup_state(state, banks, ek_ca=None):
    """A TPM 2.0 with the given PCR banks in the directory state (swtpm_setup), unless it
    already holds one. With ek_ca (a directory, created if needed), the TPM gets an RSA 2048
    EK certificate in NV 0x01c00002 (and an ECC one, and a platform certificate) signed by a
    local CA kept in ek_ca (created on first use, shared by every TPM set up with it): its
    certificates are ek_ca_certs(ek_ca)."""
    os.makedirs(state, exist_ok=True)
    if os.path.exists(os.path.join(state, "tpm2-00.permall")):
        return
    cmd = ["swtpm_setup", "--tpm2", "--tpmstate", state, "--pcr-banks", ",".join(banks)]
    if ek_ca:
        cmd += ["--create-ek-cert", "--create-platform-cert", "--config",
                write_ek_ca_config(ek_ca)]
    subprocess.run(cmd, capture_output=True, check=True)


def stop_process(proc, timeout):
    """SIGTERM (swtpm saves its state on the way out), SIGKILL after timeout seconds."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


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


class SwTpm:
    """swtpm on 127.0.0.1 (data port, control port + 1), started with TPM2_Startup done, over
    STATE (created with swtpm_setup when it holds no TPM yet; with ek_ca, with an EK
    certificate from the local CA in that directory, see setup_state). Use as a context
    manager."""

    def __init__(self, state, banks=("sha1", "sha256"), ek_ca=None):
        self.state = state
        setup_state(state, banks, ek_ca)
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
        stop_process(self.proc, 10)

    def _ctrl(self, code, payload=b""):
        with socket.create_connection(("127.0.0.1", self.port + 1)) as s:
            res = ctrl_command(s, code, payload)
        if res:
            raise RuntimeError(f"swtpm control command {code:#x}: result {res:#x}")

    def dynamic_launch(self, image):
        """The DCE's part: PCRs 17-22 reset to zero, PCR 17 = H(0 || H(image))."""
        dce_hash(self._ctrl, image)

    def extend(self, pcr, data, banks, locality=2):
        """TPM2_PCR_Extend of H(data) in every bank at the given locality; returns the TPM's
        response code (0 on success)."""
        digests = b"".join(struct.pack(">H", ALG_IDS[b]) + h(b, data) for b in banks)
        auth = struct.pack(">IHBH", TPM_RS_PW, 0, 0, 0)
        params = struct.pack(">II", pcr, len(auth)) + auth + struct.pack(">I", len(banks))
        params += digests
        self._ctrl(CMD_SET_LOCALITY, bytes([locality, 0, 0, 0]))
        try:
            with socket.create_connection(("127.0.0.1", self.port)) as s:
                rc, _ = tpm_command(s, TPM_ST_SESSIONS, TPM_CC_PCR_EXTEND, params)
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
