#!/bin/sh
# shellcheck disable=SC2086 # the element lists are split into arguments on purpose
# The lab's CI scenario, run in the guest (busybox sh) by `hw/lab/run-ci`. It only runs commands
# and records what they print; hw/lab/verify.py judges the record on the host against
# hw/lab/library.layout. Record format, on stdout:
#   @@DEVICE sgN type=T serial=S vendor=V product=P   one line per SCSI generic node
#   @@REEL discover=yes|no move=yes|no                 what the reel binary can do
#   @@MOVE NAME FROM TO                                a move the scenario made (FROM/TO as TYPE:ADDR)
#   @@MTXMOVE NAME FROM TO                             a move made with `reel mtx` (FROM/TO as above)
#   @@MTXCMP N same=yes|no                             `reel mtx status` vs `mtx status`, by cmp
#   @@STEP NAME rc=N cmd=...                           a command, then its stdout and stderr as
#   @@BEGIN NAME.out / … / @@END NAME.out              sections
#   @@BEGIN NAME.err / … / @@END NAME.err
LAYOUT=/lab/library.layout

emit() {
  echo "@@BEGIN $1"
  cat "$2"
  [ -z "$(tail -c 1 "$2")" ] || echo
  echo "@@END $1"
}

# step NAME CMD...: runs CMD, records its exit status, stdout and stderr.
step() {
  name=$1
  shift
  "$@" >"/tmp/$name.out" 2>"/tmp/$name.err"
  rc=$?
  echo "@@STEP $name rc=$rc cmd=$*"
  emit "$name.out" "/tmp/$name.out"
  emit "$name.err" "/tmp/$name.err"
  return 0
}

# --- devices -----------------------------------------------------------------------------------
CHG=
DRIVES=
for s in /sys/class/scsi_generic/sg*; do
  n=${s##*/}
  type=$(cat "$s/device/type")
  serial=$(sg_vpd -p sn "/dev/$n" 2>/dev/null | sed -n 's/.*Unit serial number: *//p')
  vendor=$(sed 's/ *$//' "$s/device/vendor")
  product=$(sed 's/ *$//' "$s/device/model")
  echo "@@DEVICE $n type=$type serial=$serial vendor=$vendor product=$product"
  case $type in
  8) CHG=/dev/$n ;;
  1) DRIVES="$DRIVES /dev/$n" ;;
  esac
done
if [ -z "$CHG" ]; then
  echo "no medium changer among the sg nodes" >&2
  exit 1
fi
step lsscsi lsscsi -g
step inquiry mtx -f "$CHG" inquiry

# --- the layout: slots, drives, and which are full ------------------------------------------------
SLOTS=
IES=
DTES=
CARTS=
while read -r kw a b _rest; do
  case $kw in
  storage) i=0; while [ "$i" -lt "$b" ]; do SLOTS="$SLOTS $((a + i))"; i=$((i + 1)); done ;;
  import_export) i=0; while [ "$i" -lt "$b" ]; do IES="$IES $((a + i))"; i=$((i + 1)); done ;;
  drive) DTES="$DTES $a" ;;
  cartridge) CARTS="$CARTS $a" ;;
  esac
done <"$LAYOUT"
is_full() { case " $CARTS " in *" $1 "*) return 0 ;; esac; return 1; }
FULL=
EMPTY=
for a in $SLOTS; do
  if is_full "$a"; then FULL="$FULL $a"; else EMPTY="$EMPTY $a"; fi
done
nth() { eval "echo \$$(($1 + 1))"; }
S1=$(nth 1 $FULL)
S2=$(nth 2 $FULL)
S3=$(nth 3 $FULL)
E1=$(nth 1 $EMPTY)
E2=$(nth 2 $EMPTY)
D1=$(nth 1 $DTES)
D2=$(nth 2 $DTES)
# mtx numbers storage elements 1.. (slots, then import/export) and drives 0..
mtx_slot() { i=1; for a in $SLOTS $IES; do [ "$a" = "$1" ] && echo $i && return; i=$((i + 1)); done; }
mtx_drive() { i=0; for a in $DTES; do [ "$a" = "$1" ] && echo $i && return; i=$((i + 1)); done; }

# --- what reel can do ----------------------------------------------------------------------------
have() {
  reel "$@" >/tmp/probe.out 2>&1
  ! grep -q "not built yet" /tmp/probe.out
}
REEL_DISCOVER=no
REEL_MOVE=no
REEL_LOCK=no
REEL_MTX=no
if command -v reel >/dev/null 2>&1; then
  # No device behind /dev/null: refused when the front exists, "not built" otherwise.
  have mtx -f /dev/null status && REEL_MTX=yes
  have discover --json --device "$CHG" && REEL_DISCOVER=yes
  # A move between two elements that cannot exist (address 0), refused before any MOVE MEDIUM.
  have move slot:0 slot:0 --json --device /dev/null && REEL_MOVE=yes
  # No changer behind /dev/null: refused before any command.
  have lock --json --device /dev/null && REEL_LOCK=yes
fi
echo "@@REEL discover=$REEL_DISCOVER move=$REEL_MOVE lock=$REEL_LOCK mtx=$REEL_MTX"
if [ "$REEL_DISCOVER" = no ]; then
  echo "!!! reel discover is not built in this reel binary: the reel checks are SKIPPED !!!" >&2
fi

# observe N: the library as mtx and reel see it; reel's mtx front beside mtx, byte for byte.
observe() {
  step "mtx$1" mtx -f "$CHG" status
  if [ "$REEL_MTX" = yes ]; then
    step "rmtx$1" reel mtx -f "$CHG" status
    if cmp -s "/tmp/mtx$1.out" "/tmp/rmtx$1.out"; then same=yes; else same=no; fi
    echo "@@MTXCMP $1 same=$same"
  fi
  if [ "$REEL_DISCOVER" = yes ]; then
    step "reel$1" reel discover --json
  fi
}

# move NAME FROM TO: with reel when it can, else with mtx.
move() {
  echo "@@MOVE $1 $2 $3"
  if [ "$REEL_MOVE" = yes ]; then
    step "$1" reel move "$2" "$3" --json
    return
  fi
  from=${2#*:}
  to=${3#*:}
  case $2:$3 in
  slot:*:drive:*) step "$1" mtx -f "$CHG" load "$(mtx_slot "$from")" "$(mtx_drive "$to")" ;;
  drive:*:slot:*) step "$1" mtx -f "$CHG" unload "$(mtx_slot "$to")" "$(mtx_drive "$from")" ;;
  *) step "$1" mtx -f "$CHG" transfer "$(mtx_slot "$from")" "$(mtx_slot "$to")" ;;
  esac
}

# --- discovery, moves, each verified by a second discovery and by mtx ------------------------------
observe 0
if [ "$REEL_DISCOVER" = yes ]; then
  step reel0_human reel discover
  step reel0_stats reel discover --json --stats
fi
move load "slot:$S1" "drive:$D1"
observe 1
move unload "drive:$D1" "slot:$S1"
observe 2
move transfer "slot:$S2" "slot:$E1"
observe 3
move load_last "slot:$S3" "drive:$D2"
observe 4

# --- errors through the kernel ---------------------------------------------------------------------
# MOVE MEDIUM CDBs as sg_raw sends them: transport 0, source, destination.
cdb_move() { printf 'a5 00 00 00 %02x %02x %02x %02x 00 00 00 00' $(($1 >> 8)) $(($1 & 255)) $(($2 >> 8)) $(($2 & 255)); }
# S2 is empty since the transfer, E1 full.
echo "@@ERRMOVE source_empty slot:$S2 slot:$E2"
echo "@@ERRMOVE dest_full slot:$S1 slot:$E1"
# shellcheck disable=SC2046
step peer_source_empty sg_raw -v "$CHG" $(cdb_move "$S2" "$E2")
# shellcheck disable=SC2046
step peer_dest_full sg_raw -v "$CHG" $(cdb_move "$S1" "$E1")
# PREVENT ALLOW MEDIUM REMOVAL: tgt's changer rejects the opcode.
step peer_unsupported sg_raw -v "$CHG" 1e 00 00 00 01 00
if [ "$REEL_LOCK" = yes ]; then
  # The same opcode through reel's technician command.
  step reel_unsupported reel lock --device "$CHG"
  step reel_unsupported_json reel lock --device "$CHG" --json
fi
if [ "$REEL_MOVE" = yes ]; then
  step reel_source_empty reel move "slot:$S2" "slot:$E2"
  step reel_source_empty_json reel move "slot:$S2" "slot:$E2" --json
  step reel_dest_full reel move "slot:$S1" "slot:$E1"
  step reel_dest_full_json reel move "slot:$S1" "slot:$E1" --json
fi
if [ "$REEL_DISCOVER" = yes ]; then
  step reel_devnull reel discover --device /dev/null
  step reel_devnull_json reel discover --device /dev/null --json
fi
observe 5
# tgt's drive page with VOLTAG and DVCID: the byte count is 8 short, the last descriptor cut.
step quirk_truncated sg_raw -r 1024 "$CHG" b8 14 00 00 ff ff 01 00 04 00 00 00

# --- reel's mtx front moves, mtx reports ---------------------------------------------------------
# From the state the scenario left: the first full slot into the first empty drive, back out into
# the first empty slot, and a slot-to-slot transfer; mtx and reel mtx report after each.
if [ "$REEL_MTX" = yes ]; then
  mtx_status_full() { mtx -f "$CHG" status | sed -n "s/^ *Storage Element \([0-9]*\):Full.*/\1/p" | head -n 1; }
  mtx_status_empty() { mtx -f "$CHG" status | sed -n "s/^ *Storage Element \([0-9]*\):Empty.*/\1/p" | head -n 1; }
  mtx_empty_drive() { mtx -f "$CHG" status | sed -n "s/^Data Transfer Element \([0-9]*\):Empty.*/\1/p" | head -n 1; }
  slot_addr() { i=1; for a in $SLOTS $IES; do [ "$i" = "$1" ] && echo "$a" && return; i=$((i + 1)); done; }
  drive_addr() { i=0; for a in $DTES; do [ "$i" = "$1" ] && echo "$a" && return; i=$((i + 1)); done; }
  n=6
  fs=$(mtx_status_full)
  ed=$(mtx_empty_drive)
  echo "@@MTXMOVE mtxload slot:$(slot_addr "$fs") drive:$(drive_addr "$ed")"
  step mtxload reel mtx -f "$CHG" load "$fs" "$ed"
  observe $n
  n=$((n + 1))
  es=$(mtx_status_empty)
  echo "@@MTXMOVE mtxunload drive:$(drive_addr "$ed") slot:$(slot_addr "$es")"
  step mtxunload reel mtx -f "$CHG" unload "$es" "$ed"
  observe $n
  n=$((n + 1))
  fs=$(mtx_status_full)
  es=$(mtx_status_empty)
  echo "@@MTXMOVE mtxtransfer slot:$(slot_addr "$fs") slot:$(slot_addr "$es")"
  step mtxtransfer reel mtx -f "$CHG" transfer "$fs" "$es"
  observe $n
  # A refusal in mtx's words: an unload into a full slot, from reel's front and from mtx.
  fs=$(mtx_status_full)
  step mtxerr_full reel mtx -f "$CHG" unload "$fs" 1
  step mtxerr_full_peer mtx -f "$CHG" unload "$fs" 1
  step mtxinquiry reel mtx -f "$CHG" inquiry
  step mtxinquiry_peer mtx -f "$CHG" inquiry
fi

# --- udev ------------------------------------------------------------------------------------------
for s in /sys/class/scsi_generic/sg*; do
  n=${s##*/}
  step "udev_$n" udevadm test --action=add "/class/scsi_generic/$n"
done
step udev_nodes sh -c 'ls -ln /dev/sg*'
step udev_links ls -l /dev/tape/by-id /dev/changer/by-id
# Second pass: Debian's rules for these nodes installed beside reel's, as on a real host.
if [ -n "$(ls /lab/debian-rules 2>/dev/null)" ]; then
  mkdir -p /usr/lib/udev/rules.d
  cp /lab/debian-rules/* /usr/lib/udev/rules.d/
  echo "@@DEBIAN-RULES" /lab/debian-rules/*
  # Back to the kernel's defaults, so the pass has to set everything again.
  chown 0:0 /dev/sg*
  chmod 600 /dev/sg*
  rm -rf /dev/tape /dev/changer /run/udev/data
  for s in /sys/class/scsi_generic/sg*; do
    n=${s##*/}
    step "udevdeb_$n" udevadm test --action=add "/class/scsi_generic/$n"
  done
fi
exit 0
