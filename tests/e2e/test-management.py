#!/usr/bin/env python3
"""e2e: the management entry, launched only at the runtime OS's request. The swtpm state has
the policy's management_request NV index (defined on the host as an admin would); a runtime
OS sets it (tpm2-tools.img's 55-request step); at the next boot slinit clears it and launches
the management entry, whose PCR 22 opens with the event "sll: role management" (computed here
with hashlib, and by slpolicy predict --entry); the boot after that is the runtime again (one
shot). Then: a requested management entry whose kernel was changed is refused and the runtime
entries boot; sl.entry= launches it without a request; an index the TPM does not have is not a
request; without DRTM the same request works (PCR 13)."""
import concurrent.futures
import json
import os
import shutil
import sys
import tempfile

from sll_test.checks import Checks
from sll_test.e2e import boot_stage, build_runtime, host_tpm, variant_kernel
from sll_test.paths import BUILD, IMAGE, RUNTIME
from sll_test.pcr import chain, h, zero
from sll_test.staging import Stage, predict

INDEX = "0x01500100"
CMDLINE = "console=ttyS0 panic=-1 sll.test=1"
REQUEST = CMDLINE + " sll.request_management=" + INDEX
MANAGE = CMDLINE + " sll.role=management"
BANKS = ("sha1", "sha256")
LOGS = os.path.join(BUILD, "test-logs", "e2e-management")
REQUESTED = "slinit: management environment requested (TPM NV index 0x01500100, now cleared)"

t = Checks()


def policy_for(s, kernel, initrds, runtime_cmdline, index=INDEX):
    """The runtime entry "debian" and the management entry "manage" (/vmlinuz-manage), both
    verified, without require_drtm (the same policy serves the boots without DRTM)."""
    policy = s.put_launch(kernel, initrds, runtime_cmdline)
    s.put("/vmlinuz-manage", kernel)
    manage = s.slpolicy_new("/vmlinuz-manage", [n for n, _ in initrds], MANAGE,
                            name="manage")["entries"][0]
    manage["role"] = "management"
    policy["entries"].append(manage)
    policy["management_request"] = {"nv_index": index}
    policy["require_drtm"] = False
    return policy


def define_index(state):
    with host_tpm(state, BANKS) as tpm2:
        tpm2("nvdefine", INDEX, "-C", "o", "-s", "8", "-a",
             "ownerread|ownerwrite|authread|authwrite")


def boot(name, s, policy, state, **kw):
    s.put_policy(policy)
    return boot_stage(name, s, LOGS, disk_name=name + ".img", banks=BANKS, tpm_state=state,
                      timeout=300, **kw)


def runtime_cmdline(b):
    line = [x for x in b.log.splitlines() if x.startswith("sll-runtime: cmdline ")]
    return line[0][len("sll-runtime: cmdline "):] if line else None


def management_pcr(alg, kernel, initrds):
    """PCR 22 (13 without DRTM) after the management entry: its role, then as any entry."""
    return chain(alg, zero(alg), [h(alg, b"management"), h(alg, kernel)] +
                 [h(alg, d) for _, d in initrds] + [h(alg, MANAGE.encode()), h(alg, b"\0" * 4)])


def request_cycle(tmp, name, kernel, initrds, drtm):
    """Runtime (requests) -> management -> runtime again, on one TPM; returns the boots."""
    s = Stage(os.path.join(tmp, name))
    state = os.path.join(tmp, name + "-tpm")
    define_index(state)
    req, plain = (policy_for(s, kernel, initrds, c) for c in (REQUEST, CMDLINE))
    b1 = boot(name + "-request", s, req, state, drtm=drtm)
    b2 = boot(name + "-management", s, plain, state, drtm=drtm)
    b3 = boot(name + "-after", s, plain, state, drtm=drtm)
    return s, state, (b1, b2, b3)


def check_cycle(name, boots, kernel, initrds, drtm, s):
    b1, b2, b3 = boots
    t.check(runtime_cmdline(b1) == REQUEST and "sll-runtime: management requested" in b1.log
            and REQUESTED not in b1.log, f"{name}: the runtime OS booted and set the request")
    pcr = 22 if drtm else 13
    want = management_pcr("sha256", kernel, initrds)
    t.check(REQUESTED in b2.log and runtime_cmdline(b2) == MANAGE,
            f"{name}: the next boot took the request and launched the management entry "
            f"({runtime_cmdline(b2)})")
    t.check(b2.pcrs.get("sha256", {}).get(pcr) == want.hex(),
            f"{name}: its PCR {pcr} = role, kernel, initrds, cmdline, separator (hashlib)")
    r = predict(s.dir + "/slaunch/policy.json", s.dir, "--format", "json", "--entry", "manage",
                *([] if drtm else ["--no-drtm"]))
    pred = json.loads(r.stdout or b"{}").get("sha256", {})
    t.check(pred.get(str(pcr)) == want.hex(), f"{name}: = slpolicy predict --entry manage "
            f"{r.stderr.decode()}")
    t.check(REQUESTED not in b3.log and runtime_cmdline(b3) == CMDLINE,
            f"{name}: the boot after it is the runtime again (the request was one-shot)")


def tampered(tmp, s, state, kernel, initrds):
    """A request, then the management kernel changed: refused, the runtime entries boot."""
    req, plain = (policy_for(s, kernel, initrds, c) for c in (REQUEST, CMDLINE))
    boot("tampered-request", s, req, state)
    s.put("/vmlinuz-manage", variant_kernel(kernel))
    b = boot("tampered-management", s, plain, state)
    t.check(REQUESTED in b.log and "slinit: management entry \"manage\" refused: kernel "
            "/vmlinuz-manage: digest sha256:" in b.log and "booting the runtime entries"
            in b.log, "tampered: the requested management entry is refused, said so")
    t.check(runtime_cmdline(b) == CMDLINE and b.failed_line() is None,
            "tampered: the runtime entry booted instead, nothing unverified")


def singles(tmp, kernel, initrds, state0):
    """sl.entry=manage without a request; a policy naming an index the TPM lacks."""
    s = Stage(os.path.join(tmp, "single"))
    state = os.path.join(tmp, "single-tpm")
    shutil.copytree(state0, state)
    b = boot("sl-entry", s, policy_for(s, kernel, initrds, CMDLINE), state,
             append="sl.entry=manage")
    t.check(runtime_cmdline(b) == MANAGE and REQUESTED not in b.log,
            "sl.entry=manage launches the management entry without a request")
    b = boot("no-index", s, policy_for(s, kernel, initrds, CMDLINE, index="0x01500200"), state)
    t.check("slinit: warning: management request: TPM NV index 0x01500200 is not defined: "
            "booting the runtime entries" in b.log and runtime_cmdline(b) == CMDLINE,
            "an index the TPM does not have: a warning, the runtime boots")


def main():
    os.makedirs(LOGS, exist_ok=True)
    kernel, initrd = build_runtime()
    with open(os.path.join(RUNTIME, "tpm2-tools.img"), "rb") as f:
        tools = f.read()
    initrds = [("/initrd.img", initrd), ("/tpm2-tools.img", tools)]
    if not os.path.exists(IMAGE):
        sys.exit("no image: make all")
    with tempfile.TemporaryDirectory() as tmp:
        state0 = os.path.join(tmp, "tpm0")
        define_index(state0)

        def drtm_chain():
            s, state, boots = request_cycle(tmp, "drtm", kernel, initrds, True)
            check_cycle("drtm", boots, kernel, initrds, True, s)
            tampered(tmp, s, state, kernel, initrds)

        def other():
            s, _, boots = request_cycle(tmp, "nodrtm", kernel, initrds, False)
            check_cycle("nodrtm", boots, kernel, initrds, False, s)
            singles(tmp, kernel, initrds, state0)

        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            for f in [pool.submit(drtm_chain), pool.submit(other)]:
                f.result()
    return t.summary()


if __name__ == "__main__":
    sys.exit(main())
