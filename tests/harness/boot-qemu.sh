#!/usr/bin/env bash
# Boot an SL image in QEMU (TCG) with a TPM 2.0 (swtpm) behind the DRTM
# simulation relay (drtm-relay.py), and capture the serial console in a log.
#
# Chain:  QEMU tpm-tis -> tpm-emulator chardev -> drtm-relay.py -> swtpm ctrl
#         (TPM commands then flow over a socketpair fd QEMU hands to swtpm)
#
# The log is the pure serial console; harness messages go to stderr.
# Exit status: QEMU's (guest poweroff -> 0), 124 on timeout, 2 on usage
# errors, 125 if swtpm or the relay fail (e.g. the simulated DRTM failed).
set -euo pipefail

usage() {
    cat >&2 <<EOF
usage: ${0##*/} --kernel IMG --log FILE [options] [-- extra QEMU args]
  --kernel IMG       image to boot (bzImage); also measured as the DRTM image
  --uefi             boot through OVMF (UEFI firmware, fresh variables) from the
                     disks instead of -kernel: IMG must be what the ESP holds as
                     EFI/BOOT/BOOTX64.EFI (the DRTM image); --append/--initrd unusable
  --log FILE         serial console log
  --timeout SEC      kill QEMU after SEC seconds, exit 124 (default 120)
  --banks LIST       PCR banks of the fresh TPM (default sha1,sha256)
  --append STR       kernel command line (default: the image's built-in one)
  --initrd FILE      initramfs
  --drive FILE       raw disk image as virtio-blk (repeatable)
  --no-drtm          relay in pass-through mode: no simulated dynamic launch
  --tpm-device DEV   QEMU's TPM interface: tpm-tis (default, locality-capable)
                     or tpm-crb (a firmware TPM's interface; QEMU's stays at
                     locality 0)
  --no-tpm           no TPM at all (no swtpm, no relay)
  --tpm-state DIR    keep the swtpm state in DIR (reused if it holds a TPM 2)
  --relay-log FILE   log the TPM control commands the relay sees
  --dce-locality N   the relay plays the DCE on the first selection of locality N
                     (default 2)
  --kill-tpm-on RE   SIGKILL swtpm once a console line matches the extended regex
                     RE (fault injection: the TPM vanishes in the middle of a boot)
  --dce-on RE        play the DCE (simulated dynamic launch) once a console line
                     matches the extended regex RE, instead of on the guest's
                     first selection of locality 2 (for --tpm-device tpm-crb)
  --hotplug-on RE FILE  once a console line matches the extended regex RE, plug
                     the raw disk FILE in as a USB stick (QMP, on a qemu-xhci
                     controller): a disk that appears late, after slinit started
  --console          also echo the serial console to stdout
  --interactive      --console, and this script's stdin is the serial console's input (a
                     test answers a question the guest asks)
EOF
    exit 2
}
msg() { echo "boot-qemu: $*" >&2; }
die() { msg "$*"; exit 2; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
relay_py=$here/drtm-relay.py

kernel='' log='' timeout=120 banks=sha1,sha256 append='' have_append=0
drtm=1 initrd='' drives=() tpm_state='' tpm=1 console=0 interactive=0 relay_log='' extra=()
dce_locality=2 kill_tpm_on='' uefi=0 hotplug_on='' hotplug_file='' tpm_device=tpm-tis dce_on=''

while (($#)); do
    case $1 in
        --kernel) kernel=${2?}; shift 2 ;;
        --log) log=${2?}; shift 2 ;;
        --timeout) timeout=${2?}; shift 2 ;;
        --banks) banks=${2?}; shift 2 ;;
        --append) append=${2?}; have_append=1; shift 2 ;;
        --initrd) initrd=${2?}; shift 2 ;;
        --drive) drives+=("${2?}"); shift 2 ;;
        --tpm-state) tpm_state=${2?}; shift 2 ;;
        --relay-log) relay_log=${2?}; shift 2 ;;
        --dce-locality) dce_locality=${2?}; shift 2 ;;
        --kill-tpm-on) kill_tpm_on=${2?}; shift 2 ;;
        --hotplug-on) hotplug_on=${2?}; hotplug_file=${3?}; shift 3 ;;
        --no-drtm) drtm=0; shift ;;
        --tpm-device) tpm_device=${2?}; shift 2 ;;
        --dce-on) dce_on=${2?}; shift 2 ;;
        --no-tpm) tpm=0; shift ;;
        --uefi) uefi=1; shift ;;
        --console) console=1; shift ;;
        --interactive) console=1 interactive=1; shift ;;
        --) shift; extra=("$@"); break ;;
        -h|--help) usage ;;
        *) msg "unknown option: $1"; usage ;;
    esac
done
[[ -n $kernel && -n $log ]] || usage
[[ -f $kernel ]] || die "no such image: $kernel"
[[ -z $initrd || -f $initrd ]] || die "no such initrd: $initrd"
for d in "${drives[@]}"; do [[ -f $d ]] || die "no such drive: $d"; done
[[ -z $hotplug_file || -f $hotplug_file ]] || die "no such drive: $hotplug_file"
[[ $timeout =~ ^[0-9]+$ ]] || die "bad --timeout: $timeout"
[[ $tpm_device == tpm-tis || $tpm_device == tpm-crb ]] || die "bad --tpm-device: $tpm_device"
if ((uefi)); then
    [[ -z $initrd && $have_append == 0 ]] || die "--uefi boots from the disk: no --initrd/--append"
    ovmf_code=/usr/share/OVMF/OVMF_CODE_4M.fd ovmf_vars=/usr/share/OVMF/OVMF_VARS_4M.fd
    [[ -f $ovmf_code && -f $ovmf_vars ]] || die "OVMF missing (apt package ovmf)"
fi

# QEMU option values: a literal comma is written as ",,".
qarg() { printf '%s' "${1//,/,,}"; }

tmp=$(mktemp -d -t boot-qemu.XXXXXX)
qemu_pid='' relay_pid='' swtpm_pid='' timer_pid='' killer_pid='' plugger_pid='' dcer_pid=''

# Both functions run from the EXIT trap.
# shellcheck disable=SC2317
stop() {   # stop one background process: TERM, then KILL after 5 s
    local pid=$1 i
    [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
# shellcheck disable=SC2317
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    # QEMU first: on exit it sends CMD_SHUTDOWN down the control channel.
    stop "$qemu_pid"; stop "$relay_pid"; stop "$swtpm_pid"; stop "$timer_pid"
    stop "$killer_pid"; stop "$plugger_pid"; stop "$dcer_pid"
    rm -rf "$tmp"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

qemu_tpm=()
if ((tpm)); then
    state=${tpm_state:-$tmp/state}
    mkdir -p "$state"
    if [[ -e $state/tpm2-00.permall ]]; then
        msg "reusing TPM state in $state (--banks ignored)"
    else
        swtpm_setup --tpm2 --tpmstate "$state" --pcr-banks "$banks" \
            >"$tmp/swtpm_setup.log" 2>&1 ||
            { cat "$tmp/swtpm_setup.log" >&2; die "swtpm_setup failed"; }
    fi
    # No --flags startup-*/not-need-init: QEMU sends CMD_INIT on machine
    # reset and the firmware (SeaBIOS) issues TPM2_Startup itself.
    swtpm socket --tpm2 --tpmstate "dir=$state" \
        --ctrl "type=unixio,path=$tmp/swtpm-ctrl.sock" \
        --log "file=$tmp/swtpm.log" &
    swtpm_pid=$!
    relay_args=(--listen "$tmp/relay.sock" --swtpm-ctrl "$tmp/swtpm-ctrl.sock"
                --image "$kernel" --dce-locality "$dce_locality")
    ((drtm)) || relay_args+=(--no-drtm)
    [[ -z $dce_on ]] || relay_args+=(--dce-on-signal)
    [[ -z $relay_log ]] || relay_args+=(--log "$relay_log")
    # The relay takes swtpm's control-channel helpers from the tests' library (tests/lib).
    PYTHONPATH="${here%/*}/lib${PYTHONPATH:+:$PYTHONPATH}" python3 "$relay_py" "${relay_args[@]}" &
    relay_pid=$!
    # The relay creates its socket only once it is connected to swtpm.
    for ((i = 0; ; i++)); do
        [[ -S $tmp/relay.sock ]] && break
        kill -0 "$swtpm_pid" 2>/dev/null || { msg "swtpm died"; exit 125; }
        kill -0 "$relay_pid" 2>/dev/null || { msg "relay died"; exit 125; }
        ((i < 150)) || { msg "relay socket did not appear"; exit 125; }
        sleep 0.1
    done
    # tpm-tis by default: QEMU's CRB cannot leave locality 0.
    qemu_tpm=(-chardev "socket,id=chrtpm,path=$(qarg "$tmp/relay.sock")"
              -tpmdev "emulator,id=tpm0,chardev=chrtpm"
              -device "$tpm_device,tpmdev=tpm0")
    msg "TPM banks $banks, DRTM $( ((drtm)) && echo on || echo off)," \
        "image sha256 $(sha256sum <"$kernel" | cut -d' ' -f1)"
fi

if ((console)); then   # stdin stays /dev/null: output only, tty untouched
    serial=(-chardev "stdio,id=ser0,signal=off,logfile=$(qarg "$log")")
else
    serial=(-chardev "file,id=ser0,path=$(qarg "$log")")
fi
qemu=(qemu-system-x86_64 -accel tcg -m 512 -nographic -monitor none -nic none
      -no-reboot "${serial[@]}" -serial chardev:ser0 "${qemu_tpm[@]}")
if ((uefi)); then
    # q35 as real UEFI machines; a private copy of the variable store, so every boot
    # starts with no boot entries and takes the removable-media path EFI/BOOT/BOOTX64.EFI.
    cp "$ovmf_vars" "$tmp/ovmf-vars.fd"
    qemu+=(-machine q35 -drive "if=pflash,format=raw,unit=0,readonly=on,file=$(qarg "$ovmf_code")"
           -drive "if=pflash,format=raw,unit=1,file=$(qarg "$tmp/ovmf-vars.fd")")
else
    qemu+=(-kernel "$kernel")
fi
[[ -z $initrd ]] || qemu+=(-initrd "$initrd")
((have_append == 0)) || qemu+=(-append "$append")
for d in "${drives[@]}"; do
    qemu+=(-drive "file=$(qarg "$d"),format=raw,if=virtio")
done
if [[ -n $hotplug_on ]]; then
    qemu+=(-device "qemu-xhci,id=xhci" -qmp "unix:$(qarg "$tmp/qmp.sock"),server=on,wait=off")
fi
qemu+=("${extra[@]}")

: >"$log"
if ((interactive)); then
    "${qemu[@]}" <&0 &
else
    "${qemu[@]}" </dev/null &
fi
qemu_pid=$!
if [[ -n $kill_tpm_on && -n $swtpm_pid ]]; then
    # Fault injection: poll the console; the exits of swtpm and the relay that follow
    # are then expected, not harness failures.
    ( until grep -Eq -- "$kill_tpm_on" "$log" 2>/dev/null; do sleep 0.05; done
      kill -KILL "$swtpm_pid"; echo "boot-qemu: killed swtpm (fault injection)" >&2 ) &
    killer_pid=$!
fi
if [[ -n $dce_on && -n $relay_pid ]]; then
    ( until grep -Eq -- "$dce_on" "$log" 2>/dev/null; do sleep 0.02; done
      kill -USR1 "$relay_pid" ) &
    dcer_pid=$!
fi
if [[ -n $hotplug_on ]]; then
    # A late disk: blockdev-add, then device_add as a USB stick on the xhci controller.
    ( until grep -Eq -- "$hotplug_on" "$log" 2>/dev/null; do sleep 0.05; done
      python3 - "$tmp/qmp.sock" "$hotplug_file" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rw")
f.readline()  # the greeting
for cmd in ({"execute": "qmp_capabilities"},
            {"execute": "blockdev-add", "arguments": {"driver": "raw", "node-name": "hp0",
             "file": {"driver": "file", "filename": sys.argv[2]}}},
            {"execute": "device_add", "arguments": {"driver": "usb-storage", "id": "hp",
             "drive": "hp0", "bus": "xhci.0", "removable": True}}):
    f.write(json.dumps(cmd) + "\n")
    f.flush()
    while True:
        r = json.loads(f.readline())
        if "return" in r or "error" in r:
            break
    if "error" in r:
        sys.exit("QMP " + cmd["execute"] + ": " + r["error"]["desc"])
PY
      echo "boot-qemu: plugged in $hotplug_file (hotplug)" >&2 ) &
    plugger_pid=$!
fi
sleep "$timeout" &
timer_pid=$!

# Wait for QEMU, the timer, or a helper failing, whichever comes first.
# (pids unquoted on purpose: helpers that are gone/absent drop out)
# shellcheck disable=SC2206
watch=("$qemu_pid" "$timer_pid" $relay_pid $swtpm_pid)
while :; do
    st=0 done_pid=
    wait -n -p done_pid "${watch[@]}" || st=$?
    if [[ -z $done_pid ]]; then
        msg "lost track of QEMU"; exit 125
    elif [[ $done_pid == "$qemu_pid" ]]; then
        qemu_pid=; break
    elif [[ $done_pid == "$timer_pid" ]]; then
        timer_pid=
        msg "timeout after ${timeout}s"
        exit 124
    fi
    # relay or swtpm: both end normally when QEMU shuts down, but anything
    # else is fatal (e.g. the relay refusing because the DRTM hash failed).
    if [[ $done_pid == "$relay_pid" ]]; then
        name=relay relay_pid=
    else
        name=swtpm swtpm_pid=
    fi
    if ((st != 0)) && [[ -z $kill_tpm_on ]]; then
        msg "$name exited with status $st"
        exit 125
    fi
    # shellcheck disable=SC2206
    watch=("$qemu_pid" "$timer_pid" $relay_pid $swtpm_pid)
done
((st == 0)) || msg "QEMU exited with status $st"
exit "$st"
