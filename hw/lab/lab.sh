# shellcheck shell=bash
# The hardware lab's building blocks, sourced by hw/lab/run and hw/lab/run-ci:
#   lab_install          apt-get what the lab needs (once, only what is missing)
#   lab_kernel           pick the installed Debian kernel, extract its uncompressed vmlinux
#   lab_layout_read      parse hw/lab/library.layout
#   lab_tgt_start/stop   serve the library with tgtd on 127.0.0.1:<free port>
#   lab_initramfs        busybox + modules + reel + peers (mtx, sg3-utils, lsscsi, udevadm)
#   lab_boot             boot the guest under TCG, run a script, collect its output and status
# Every process started here is recorded and ended by lab_cleanup (installed as an EXIT trap by
# lab_init), also when a step fails.

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_REPO=$(cd "$LAB_DIR/../.." && pwd)
LAB_WORK=${LAB_WORK:-$LAB_DIR/work}

LAB_TGTD_PID=
LAB_TGT_CTL=
LAB_QEMU_PID=
LAB_RUN=

lab_log() { printf 'lab: %s\n' "$*" >&2; }
lab_die() {
  printf 'lab: error: %s\n' "$*" >&2
  exit 125
}
lab_now_ms() { date +%s%3N; }

# Creates this run's directory and installs the cleanup trap.
lab_init() {
  mkdir -p "$LAB_WORK"
  LAB_RUN=$(mktemp -d "$LAB_WORK/run.XXXXXX")
  trap lab_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

lab_cleanup() {
  local rc=$?
  trap - EXIT
  if [ -n "$LAB_QEMU_PID" ] && kill -0 "$LAB_QEMU_PID" 2>/dev/null; then
    lab_log "stopping qemu (pid $LAB_QEMU_PID)"
    kill -TERM "$LAB_QEMU_PID" 2>/dev/null || true
    lab_wait_gone "$LAB_QEMU_PID" 50 || kill -KILL "$LAB_QEMU_PID" 2>/dev/null || true
    wait "$LAB_QEMU_PID" 2>/dev/null || true
  fi
  LAB_QEMU_PID=
  lab_tgt_stop
  if [ -n "$LAB_RUN" ] && [ -z "${LAB_KEEP:-}" ]; then
    rm -rf "$LAB_RUN"
  elif [ -n "$LAB_RUN" ]; then
    lab_log "kept $LAB_RUN"
  fi
  exit "$rc"
}

# lab_wait_gone PID TENTHS: waits up to TENTHS/10 s for PID to exit.
lab_wait_gone() {
  local pid=$1 n=$2
  while [ "$n" -gt 0 ]; do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
    n=$((n - 1))
  done
  ! kill -0 "$pid" 2>/dev/null
}

# --- installation ---------------------------------------------------------------------------------

lab_install() {
  local pkgs=(tgt qemu-system-x86 qemu-block-extra linux-image-amd64 busybox-static mtx sg3-utils
    lsscsi udev cpio python3 iproute2 binutils xz-utils) missing=() p
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    return 0
  fi
  lab_log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # INITRD=No: the kernel package's hook would build a host initramfs nobody boots (~30 s).
  INITRD=No apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$LAB_WORK/apt.log" 2>&1 ||
    { tail -n 30 "$LAB_WORK/apt.log" >&2; lab_die "apt-get install ${missing[*]} failed"; }
}

# --- kernel ---------------------------------------------------------------------------------------

# Sets LAB_KVER and LAB_VMLINUX (the uncompressed kernel, cached under work/).
lab_kernel() {
  local v best=
  for v in /boot/vmlinuz-*; do
    v=${v#/boot/vmlinuz-}
    [ -f "/lib/modules/$v/modules.dep" ] || continue
    if [ -z "$best" ] || [ "$(printf '%s\n%s\n' "$best" "$v" | sort -V | tail -n 1)" = "$v" ]; then
      best=$v
    fi
  done
  [ -n "$best" ] || lab_die "no /boot/vmlinuz-* with modules under /lib/modules (install linux-image-amd64)"
  LAB_KVER=$best
  LAB_VMLINUX=$LAB_WORK/kernel/vmlinux-$LAB_KVER
  if [ ! -s "$LAB_VMLINUX" ] || [ "/boot/vmlinuz-$LAB_KVER" -nt "$LAB_VMLINUX" ]; then
    mkdir -p "$LAB_WORK/kernel"
    python3 "$LAB_DIR/extract-vmlinux.py" "/boot/vmlinuz-$LAB_KVER" "$LAB_VMLINUX" >&2
  fi
}

# --- layout ---------------------------------------------------------------------------------------

# Reads the layout into LAB_TARGET, LAB_CHANGER (lun vendor product rev serial), LAB_DRIVES
# ("address lun vendor product rev serial" each), LAB_RANGES ("type first count" each, type 1..3)
# and LAB_CARTS ("address barcode" each).
lab_layout_read() {
  local file=$1 kw rest
  LAB_TARGET='' LAB_CHANGER='' LAB_DRIVES=() LAB_RANGES=() LAB_CARTS=()
  [ -r "$file" ] || lab_die "cannot read layout $file"
  while read -r kw rest; do
    case $kw in
    '' | '#'*) continue ;;
    target) LAB_TARGET=$rest ;;
    changer) LAB_CHANGER=$rest ;;
    drive) LAB_DRIVES+=("$rest") ;;
    transport) LAB_RANGES+=("1 $rest") ;;
    storage) LAB_RANGES+=("2 $rest") ;;
    import_export) LAB_RANGES+=("3 $rest") ;;
    cartridge) LAB_CARTS+=("$rest") ;;
    *) lab_die "$file: unknown statement '$kw'" ;;
    esac
  done <"$file"
  # tgt's limits: 10 characters of barcode (tgtimg overflows past them) and of drive serial (the
  # changer's DVCID field), element addresses 1..65535.
  local c addr bc d
  for c in "${LAB_CARTS[@]}"; do
    read -r addr bc <<<"$c"
    if [ ${#bc} -lt 1 ] || [ ${#bc} -gt 10 ]; then
      lab_die "$file: barcode '$bc' must have 1..10 characters"
    fi
    if ! [[ $addr =~ ^[0-9]+$ ]] || [ "$addr" -lt 1 ] || [ "$addr" -gt 65535 ]; then
      lab_die "$file: bad address '$addr'"
    fi
  done
  for d in "${LAB_DRIVES[@]}"; do
    # shellcheck disable=SC2086
    set -- $d
    [ $# -eq 6 ] || lab_die "$file: drive needs ADDRESS LUN VENDOR PRODUCT REVISION SERIAL: '$d'"
    [ ${#6} -le 10 ] || lab_die "$file: drive serial '$6' is longer than tgt's 10 characters"
  done
  [ -n "$LAB_TARGET" ] || lab_die "$file: no target"
  [ -n "$LAB_CHANGER" ] || lab_die "$file: no changer"
  [ ${#LAB_DRIVES[@]} -gt 0 ] || lab_die "$file: no drive"
}

# The LUNs the guest sees, changer first: "lun" each.
lab_luns() {
  local lun _rest d
  read -r lun _rest <<<"$LAB_CHANGER"
  echo "$lun"
  for d in "${LAB_DRIVES[@]}"; do
    read -r _ lun _rest <<<"$d"
    echo "$lun"
  done
}

# --- tgt ------------------------------------------------------------------------------------------

lab_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

lab_tgtadm() { tgtadm -C "$LAB_TGT_CTL" --lld iscsi "$@"; }

# Starts tgtd on 127.0.0.1:LAB_PORT and builds the library of the layout. Sets LAB_PORT.
lab_tgt_start() {
  local media=$LAB_RUN/tapes lun vendor product rev serial addr type first count barcode d r c
  local tries=0
  mkdir -p "$media"
  while :; do
    LAB_PORT=$(lab_free_port)
    # The control port names tgtd's management socket (/var/run/tgtd/socket.N): one per run.
    LAB_TGT_CTL=$(( (LAB_PORT % 30000) + 1000 ))  # tgtd takes control ports below 32768
    tgtd -f -C "$LAB_TGT_CTL" --iscsi "portal=127.0.0.1:$LAB_PORT" >"$LAB_RUN/tgtd.log" 2>&1 &
    LAB_TGTD_PID=$!
    local n=50
    while [ $n -gt 0 ] && ! lab_tgtadm --mode sys --op show >/dev/null 2>&1; do
      kill -0 "$LAB_TGTD_PID" 2>/dev/null || break
      sleep 0.1
      n=$((n - 1))
    done
    if kill -0 "$LAB_TGTD_PID" 2>/dev/null && lab_tgt_listens_only_local; then
      break
    fi
    lab_log "tgtd did not come up on 127.0.0.1:$LAB_PORT only; log:"
    sed 's/^/  /' "$LAB_RUN/tgtd.log" >&2
    lab_tgt_stop
    tries=$((tries + 1))
    [ $tries -lt 3 ] || lab_die "tgtd would not listen on 127.0.0.1 alone"
  done
  lab_log "tgtd pid $LAB_TGTD_PID listening on 127.0.0.1:$LAB_PORT (control port $LAB_TGT_CTL)"

  lab_tgtadm --mode target --op new --tid 1 --targetname "$LAB_TARGET"
  # Drives first: the changer's data transfer elements refer to them.
  for d in "${LAB_DRIVES[@]}"; do
    read -r addr lun vendor product rev serial <<<"$d"
    lab_tgtadm --mode logicalunit --op new --tid 1 --lun "$lun" --device-type tape --bstype ssc
    lab_tgtadm --mode logicalunit --op update --tid 1 --lun "$lun" \
      --params "vendor_id=$vendor,product_id=$product,product_rev=$rev,scsi_sn=$serial,removable=1"
  done
  read -r lun vendor product rev serial <<<"$LAB_CHANGER"
  # tgt's changer needs a backing file, although it stores nothing in it.
  dd if=/dev/zero of="$LAB_RUN/smc" bs=1k count=1 status=none
  lab_tgtadm --mode logicalunit --op new --tid 1 --lun "$lun" --device-type changer -b "$LAB_RUN/smc"
  lab_tgtadm --mode logicalunit --op update --tid 1 --lun "$lun" \
    --params "vendor_id=$vendor,product_id=$product,product_rev=$rev,scsi_sn=$serial,removable=1"
  for r in "${LAB_RANGES[@]}"; do
    read -r type first count <<<"$r"
    lab_tgtadm --mode logicalunit --op update --tid 1 --lun "$lun" \
      --params "element_type=$type,start_address=$first,quantity=$count"
  done
  # Data transfer elements: one range per drive (addresses need not be contiguous).
  for d in "${LAB_DRIVES[@]}"; do
    read -r addr c _ <<<"$d"
    lab_tgtadm --mode logicalunit --op update --tid 1 --lun "$lun" \
      --params "element_type=4,start_address=$addr,quantity=1"
    lab_tgtadm --mode logicalunit --op update --tid 1 --lun "$lun" \
      --params "element_type=4,address=$addr,tid=1,lun=$c"
  done
  lab_tgtadm --mode logicalunit --op update --tid 1 --lun "$lun" --params "media_home=$media"
  for c in "${LAB_CARTS[@]}"; do
    read -r addr barcode <<<"$c"
    # tgt loads the image named like the barcode from media_home into a drive on MOVE MEDIUM.
    tgtimg --op new --device-type tape --barcode "$barcode" --size 4 --type data \
      --file "$media/$barcode" --thin-provisioning >/dev/null
    type=2
    for r in "${LAB_RANGES[@]}"; do
      read -r t f n <<<"$r"
      if [ "$t" = 3 ] && [ "$addr" -ge "$f" ] && [ "$addr" -lt $((f + n)) ]; then type=3; fi
    done
    lab_tgtadm --mode logicalunit --op update --tid 1 --lun "$lun" \
      --params "element_type=$type,address=$addr,barcode=$barcode"
  done
  lab_tgtadm --mode target --op bind --tid 1 -I 127.0.0.1
}

# True when a socket on LAB_PORT listens, and only on 127.0.0.1 (tgtd falls back to every
# address when it cannot bind the one it was given).
lab_tgt_listens_only_local() {
  local lines
  lines=$(ss -Hltn "sport = :$LAB_PORT" 2>/dev/null | awk '{print $4}')
  [ -n "$lines" ] || return 1
  [ "$(printf '%s\n' "$lines" | sort -u)" = "127.0.0.1:$LAB_PORT" ]
}

# tgtd ignores SIGTERM: take it offline and delete the system through tgtadm, then make sure.
lab_tgt_stop() {
  [ -n "$LAB_TGTD_PID" ] || return 0
  if kill -0 "$LAB_TGTD_PID" 2>/dev/null; then
    lab_tgtadm --mode sys --op update --name State -v offline >/dev/null 2>&1 || true
    lab_tgtadm --mode target --op delete --force --tid 1 >/dev/null 2>&1 || true
    lab_tgtadm --mode sys --op delete >/dev/null 2>&1 || true
    if ! lab_wait_gone "$LAB_TGTD_PID" 30; then
      lab_log "tgtd (pid $LAB_TGTD_PID) still running after tgtadm delete; killing it"
      kill -KILL "$LAB_TGTD_PID" 2>/dev/null || true
    fi
  fi
  wait "$LAB_TGTD_PID" 2>/dev/null || true
  rm -f "/var/run/tgtd/socket.$LAB_TGT_CTL" "/var/run/tgtd/socket.$LAB_TGT_CTL.lock"
  LAB_TGTD_PID=
}

# --- initramfs ------------------------------------------------------------------------------------

# lab_copy_bin ROOT FILE...: copies executables and every shared library they load (ldd).
lab_copy_bin() {
  local root=$1 f lib
  shift
  for f in "$@"; do
    [ -e "$f" ] || lab_die "missing $f"
    mkdir -p "$root$(dirname "$f")"
    # Never write through an existing link (busybox's applets are links to busybox).
    rm -f "$root$f"
    cp -L "$f" "$root$f"
    while read -r lib; do
      if [ -z "$lib" ] || [ -e "$root$lib" ]; then continue; fi
      mkdir -p "$root$(dirname "$lib")"
      cp -L "$lib" "$root$lib"
    done < <(ldd "$f" 2>/dev/null | grep -o '/[^ ]*' || true)
  done
}

# lab_modules: prints the .ko files (relative to /lib/modules/KVER) to load, dependencies first.
lab_modules() {
  local kdir=/lib/modules/$LAB_KVER
  # Upper-level drivers first, the HBA last: the scan then finds every driver in place.
  python3 - "$kdir" scsi_mod sg st ch virtio_pci virtio_scsi <<'PY'
import os, sys
kdir, wanted = sys.argv[1], sys.argv[2:]
deps, by_name = {}, {}
def name_of(path):
    base = os.path.basename(path)
    for ext in (".ko.xz", ".ko.zst", ".ko.gz", ".ko"):
        if base.endswith(ext):
            base = base[: -len(ext)]
    return base.replace("-", "_")
with open(os.path.join(kdir, "modules.dep")) as f:
    for line in f:
        mod, _, rest = line.partition(":")
        deps[mod] = rest.split()
        by_name[name_of(mod)] = mod
builtin = set()
try:
    with open(os.path.join(kdir, "modules.builtin")) as f:
        builtin = {name_of(l.strip()) for l in f}
except FileNotFoundError:
    pass
order, seen = [], set()
def visit(mod):
    if mod in seen:
        return
    seen.add(mod)
    for d in reversed(deps[mod]):
        visit(d)
    order.append(mod)
for w in wanted:
    n = w.replace("-", "_")
    if n in builtin:
        continue
    if n not in by_name:
        sys.exit(f"module {w} is neither built in nor in {kdir}/modules.dep")
    visit(by_name[n])
print("\n".join(order))
PY
}

# lab_initramfs GUEST_SCRIPT REEL_BIN: builds $LAB_RUN/initramfs.cpio.
lab_initramfs() {
  local script=$1 reel=$2 root=$LAB_RUN/root m kdir=/lib/modules/$LAB_KVER b
  rm -rf "$root"
  # Debian's merged /usr layout: udev finds its helpers as /lib/udev/…, libraries resolve alike.
  mkdir -p "$root"/{usr/bin,usr/sbin,usr/lib/udev,usr/lib64,etc/udev/rules.d,proc,sys,dev,run,tmp,lab}
  for b in bin sbin lib lib64; do ln -s "usr/$b" "$root/$b"; done
  cp /bin/busybox "$root/usr/bin/busybox"
  for b in $("$root/usr/bin/busybox" --list); do
    [ "$b" = busybox ] || ln -sf busybox "$root/usr/bin/$b"
  done
  mkdir -p "$root/usr/lib/modules"
  : >"$root/lab/modules"
  while read -r m; do
    mkdir -p "$root/lib/modules/$(dirname "$m")"
    case $m in
    *.ko.xz) xz -dc "$kdir/$m" >"$root/lib/modules/${m%.xz}" ;;
    *.ko.zst) zstd -qdc "$kdir/$m" >"$root/lib/modules/${m%.zst}" ;;
    *.ko.gz) gzip -dc "$kdir/$m" >"$root/lib/modules/${m%.gz}" ;;
    *) cp "$kdir/$m" "$root/lib/modules/$m" ;;
    esac
    echo "/lib/modules/${m%.ko*}.ko" >>"$root/lab/modules"
  done < <(lab_modules)
  # Peers and udev's tools, with their libraries.
  # shellcheck disable=SC2046 # one path per word
  lab_copy_bin "$root" "$(command -v mtx)" "$(command -v lsscsi)" "$(command -v udevadm)" \
    /usr/lib/udev/scsi_id $(command -v sg_inq sg_vpd sg_raw sg_turs sg_map sg_decode_sense sg_logs \
    sg_requests sg_readcap sg_senddiag sg_modes | sort -u)
  if [ -n "$reel" ]; then
    lab_copy_bin "$root" "$reel"
    mv "$root$reel" "$root/bin/reel"
    # Debug info is most of a debug build's size; the guest needs none of it.
    strip --strip-debug "$root/bin/reel"
  fi
  # udev in the guest: only reel's rules, so the lab proves they stand alone.
  cp "$LAB_REPO/udev/60-reel.rules" "$root/etc/udev/rules.d/"
  # Debian's own rules for these nodes, for a second pass that shows reel's rules beside them.
  mkdir -p "$root/lab/debian-rules"
  for b in 50-udev-default.rules 60-persistent-storage-tape.rules; do
    if [ -f "/usr/lib/udev/rules.d/$b" ]; then cp "/usr/lib/udev/rules.d/$b" "$root/lab/debian-rules/"; fi
  done
  printf 'root:x:0:0:root:/:/bin/sh\n' >"$root/etc/passwd"
  printf 'root:x:0:\ntape:x:26:\ndisk:x:6:\n' >"$root/etc/group"
  install -m 0755 "$LAB_DIR/guest/init" "$root/init"
  install -m 0755 "$script" "$root/lab/test.sh"
  cp "$LAB_LAYOUT" "$root/lab/library.layout"
  (cd "$root" && find . -print0 | cpio --null -o -H newc --quiet) >"$LAB_RUN/initramfs.cpio"
}

# --- boot -----------------------------------------------------------------------------------------

# lab_boot TIMEOUT_S: boots the guest; its script's output goes to $LAB_RUN/result (the second
# serial port), the console to $LAB_RUN/console. Sets LAB_STATUS to the script's exit status
# (124 on timeout, 125 when the guest never reported one).
lab_boot() {
  local timeout=$1 args=() lun i=0 expected=0
  while read -r lun; do
    args+=(-drive "driver=iscsi,transport=tcp,portal=127.0.0.1:$LAB_PORT,target=$LAB_TARGET,lun=$lun,if=none,id=lun$lun"
      -device "scsi-generic,drive=lun$lun,bus=scsi0.0,channel=0,scsi-id=$i,lun=0")
    i=$((i + 1))
    expected=$((expected + 1))
  done < <(lab_luns)
  : >"$LAB_RUN/result"
  local start
  start=$(lab_now_ms)
  qemu-system-x86_64 -accel tcg -m 512 -smp 1 -nographic -nodefaults -no-reboot \
    -kernel "$LAB_VMLINUX" -initrd "$LAB_RUN/initramfs.cpio" \
    -append "console=ttyS0 panic=-1 quiet loglevel=4 lab.sgs=$expected" \
    -serial "file:$LAB_RUN/console" -serial "file:$LAB_RUN/result" -monitor none \
    -device virtio-scsi-pci,id=scsi0 "${args[@]}" \
    >"$LAB_RUN/qemu.log" 2>&1 &
  LAB_QEMU_PID=$!
  local deadline=$(($(date +%s) + timeout)) timed_out=0
  while kill -0 "$LAB_QEMU_PID" 2>/dev/null; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      timed_out=1
      lab_log "guest still running after ${timeout}s: stopping it"
      kill -TERM "$LAB_QEMU_PID" 2>/dev/null || true
      lab_wait_gone "$LAB_QEMU_PID" 50 || kill -KILL "$LAB_QEMU_PID" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
  local qrc=0
  wait "$LAB_QEMU_PID" || qrc=$?
  LAB_QEMU_PID=
  # shellcheck disable=SC2034 # read by hw/lab/run
  LAB_BOOT_MS=$(($(lab_now_ms) - start))
  tr -d '\r' <"$LAB_RUN/result" >"$LAB_RUN/result.txt"
  local last
  last=$(grep -a '^@@LAB-EXIT ' "$LAB_RUN/result.txt" | tail -n 1 || true)
  if [ "$timed_out" = 1 ]; then
    LAB_STATUS=124
  elif [ -n "$last" ]; then
    LAB_STATUS=${last#@@LAB-EXIT }
  else
    LAB_STATUS=125
    lab_log "the guest reported no exit status (qemu exit $qrc); qemu said:"
    sed 's/^/  /' "$LAB_RUN/qemu.log" >&2
  fi
  if [ "$LAB_STATUS" != 0 ]; then
    lab_log "guest console (last 40 lines):"
    tr -d '\r' <"$LAB_RUN/console" | tail -n 40 | sed 's/^/  console: /' >&2
  fi
}
