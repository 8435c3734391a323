#!/usr/bin/env python3
"""Judges the record of hw/lab/guest/ci.sh against hw/lab/library.layout.

usage: verify.py LAYOUT RECORD [--side-by-side FILE]
       verify.py --self-test

The layout is the oracle: it says what the library holds at boot; the moves the guest made (its
@@MOVE lines) are applied to that model. Every observation must agree with the model, and
reel's discovery must agree with mtx's on every element. Prints one line per check (PASS, FAIL,
SKIP) and a closing `lab: N passed, N failed, N skipped`; exits 1 when anything failed.
reel's mtx front (`reel mtx -f /dev/sgN status`) must print exactly what mtx prints, byte for
byte, at every observation, and its moves (@@MTXMOVE) must be what mtx then reports.
Checks of reel are SKIPPED, loudly, only when the reel binary in the guest does not have the
command yet (the guest says so in its @@REEL line); they never pass by default.
"""
import json
import re
import sys

# --- the layout -------------------------------------------------------------------------------


class Layout:
    def __init__(self, text):
        self.target = None
        self.changer = None
        self.drives = {}  # address -> dict
        self.ranges = {}  # kind -> (first, count)
        self.carts = {}  # address -> barcode
        for n, raw in enumerate(text.splitlines(), 1):
            line = raw.split("#", 1)[0].split()
            if not line:
                continue
            kw, args = line[0], line[1:]
            if kw == "target":
                self.target = args[0]
            elif kw == "changer":
                lun, vendor, product, rev, serial = args
                self.changer = dict(lun=int(lun), vendor=vendor, product=product,
                                    revision=rev, serial=serial)
            elif kw == "drive":
                addr, lun, vendor, product, rev, serial = args
                self.drives[int(addr)] = dict(lun=int(lun), vendor=vendor, product=product,
                                              revision=rev, serial=serial)
            elif kw in ("transport", "storage", "import_export"):
                self.ranges[kw] = (int(args[0]), int(args[1]))
            elif kw == "cartridge":
                self.carts[int(args[0])] = args[1]
            else:
                raise ValueError(f"layout line {n}: unknown statement {kw!r}")

    def addresses(self, kind):
        first, count = self.ranges.get(kind, (0, 0))
        return list(range(first, first + count))

    def data_transfer(self):
        addrs = sorted(self.drives)
        return (addrs[0], len(addrs)) if addrs else (0, 0)


class State:
    """Where every cartridge is: element address -> (barcode, source address or None)."""

    def __init__(self, layout):
        self.layout = layout
        self.slot = {a: None for a in layout.addresses("storage")}
        self.ie = {a: None for a in layout.addresses("import_export")}
        self.drive = {a: None for a in sorted(layout.drives)}
        for a, bc in layout.carts.items():
            table = self.table_of(a)
            if table is None:
                raise ValueError(f"cartridge {bc} at {a}: no slot or import/export element there")
            table[a] = (bc, None)

    def table_of(self, addr):
        for t in (self.slot, self.ie, self.drive):
            if addr in t:
                return t
        return None

    def move(self, src, dst):
        ts, td = self.table_of(src), self.table_of(dst)
        if ts is None or td is None or ts[src] is None or td[dst] is not None:
            raise ValueError(f"the model cannot move {src} -> {dst}")
        bc, _ = ts[src]
        ts[src] = None
        # A drive remembers the slot a cartridge came from; a slot does not (tgt clears it).
        td[dst] = (bc, src if td is self.drive else None)

    def snapshot(self):
        return {"slot": dict(self.slot), "ie": dict(self.ie), "drive": dict(self.drive)}


def addr_of(element):
    """`slot:1000` -> 1000."""
    return int(element.split(":", 1)[1])


# --- the record -------------------------------------------------------------------------------


class Record:
    def __init__(self, text):
        self.devices = []  # dicts: name, type, serial, vendor, product
        self.reel = {"discover": "no", "move": "no", "lock": "no", "mtx": "no"}
        self.moves = []  # (name, from, to)
        self.mtx_moves = []  # (name, from, to), made with `reel mtx`
        self.mtx_same = {}  # observation index -> the guest's cmp said identical
        self.errmoves = {}  # name -> (from, to)
        self.steps = {}  # name -> dict(rc, cmd, out, err)
        self.order = []
        section, buf = None, []
        for line in text.splitlines():
            if section is not None:
                if line == f"@@END {section}":
                    name, _, stream = section.rpartition(".")
                    self.steps.setdefault(name, {})[stream] = "\n".join(buf)
                    section, buf = None, []
                else:
                    buf.append(line)
                continue
            if line.startswith("@@DEVICE "):
                fields = line.split()[1:]
                d = {"name": fields[0]}
                for f in fields[1:]:
                    k, _, v = f.partition("=")
                    d[k] = v
                self.devices.append(d)
            elif line.startswith("@@REEL "):
                for f in line.split()[1:]:
                    k, _, v = f.partition("=")
                    self.reel[k] = v
            elif line.startswith("@@MOVE "):
                self.moves.append(tuple(line.split()[1:4]))
                self.order.append(("move", line.split()[1]))
            elif line.startswith("@@MTXMOVE "):
                self.mtx_moves.append(tuple(line.split()[1:4]))
            elif line.startswith("@@MTXCMP "):
                f = line.split()
                self.mtx_same[int(f[1])] = f[2] == "same=yes"
            elif line.startswith("@@ERRMOVE "):
                n, a, b = line.split()[1:4]
                self.errmoves[n] = (a, b)
            elif line.startswith("@@STEP "):
                m = re.match(r"@@STEP (\S+) rc=(\d+) cmd=(.*)$", line)
                self.steps.setdefault(m.group(1), {}).update(rc=int(m.group(2)), cmd=m.group(3))
                self.order.append(("step", m.group(1)))
            elif line.startswith("@@BEGIN "):
                section = line[len("@@BEGIN "):]

    def step(self, name):
        return self.steps.get(name)

    def device_by_serial(self, serial):
        for d in self.devices:
            if d.get("serial") == serial:
                return d
        return None

    def changer(self):
        for d in self.devices:
            if d.get("type") == "8":
                return d
        return None


# --- mtx --------------------------------------------------------------------------------------

MTX_DRIVE = re.compile(
    r"^\s*Data Transfer Element (\d+):(Empty|Full)"
    r"(?: \((?:Storage Element (\d+)|Unknown Storage Element) Loaded\))?"
    r"(?::VolumeTag\s*=\s*(.*?))?\s*$")
MTX_STORAGE = re.compile(
    r"^\s*Storage Element (\d+)( IMPORT/EXPORT)?:(Empty|Full)\s*(?::VolumeTag=(.*?))?\s*$")
MTX_HEADER = re.compile(r"Storage Changer \S+:(\d+) Drives, (\d+) Slots \( (\d+) Import/Export \)")


def parse_mtx(text, layout):
    """mtx status -> the State shape, keyed by element address. mtx prints no addresses: its
    storage elements are numbered 1.. in the changer's order (slots, then import/export
    elements), its drives 0..; the layout's addresses in ascending order give that order."""
    head = MTX_HEADER.search(text)
    if not head:
        raise ValueError("no 'Storage Changer' header in mtx's output")
    storage, drives = [], []
    for line in text.splitlines():
        m = MTX_DRIVE.match(line)
        if m:
            src = int(m.group(3)) if m.group(3) else None
            drives.append((m.group(2) == "Full", (m.group(4) or "").strip() or None, src))
            continue
        m = MTX_STORAGE.match(line)
        if m:
            storage.append((bool(m.group(2)), m.group(3) == "Full",
                            (m.group(4) or "").strip() or None))
    slot_addrs = layout.addresses("storage")
    ie_addrs = layout.addresses("import_export")
    drive_addrs = sorted(layout.drives)
    if len(drives) != int(head.group(1)) or len(storage) != int(head.group(2)):
        raise ValueError("mtx's element lines do not add up to its header")
    if len(storage) != len(slot_addrs) + len(ie_addrs) or len(drives) != len(drive_addrs):
        raise ValueError(f"mtx reports {len(storage)} storage/IE and {len(drives)} drives; the "
                         f"layout has {len(slot_addrs)}+{len(ie_addrs)} and {len(drive_addrs)}")
    order = slot_addrs + ie_addrs
    out = {"slot": {}, "ie": {}, "drive": {}}
    for (is_ie, full, bc), addr in zip(storage, order):
        kind = "ie" if addr in ie_addrs else "slot"
        if is_ie != (kind == "ie"):
            raise ValueError(f"mtx's storage element for address {addr} is_ie={is_ie}")
        out[kind][addr] = (bc or "?", None) if full else None
    for (full, bc, src), addr in zip(drives, drive_addrs):
        out["drive"][addr] = (bc or "?", order[src - 1] if src else None) if full else None
    return out


# --- reel discover --json -------------------------------------------------------------------

def parse_reel(doc):
    """The discover document -> the State shape (plus the library, for identity checks)."""
    libs = doc["libraries"]
    if len(libs) != 1:
        raise ValueError(f"{len(libs)} libraries in the document, expected 1")
    lib = libs[0]
    out = {"slot": {}, "ie": {}, "drive": {}}
    for kind, key in (("slot", "slots"), ("ie", "import_export"), ("drive", "drives")):
        for e in lib[key]:
            a = e["address"]
            if a in out[kind]:
                raise ValueError(f"{key}: address {a} twice")
            if e["full"]:
                src = e.get("source") if kind == "drive" else None
                out[kind][a] = (e.get("barcode") or "?", src)
            else:
                out[kind][a] = None
    return lib, out


def media_type_of(barcode):
    """What a barcode says (scsi-reference §7); the oracle for the reel's media_type."""
    if barcode.startswith("CLN"):
        return "LTO-CLEANING"
    suffix = barcode[-2:]
    if suffix == "M8":
        return "LTO-M8"
    if re.fullmatch(r"L[5-9]", suffix):
        return f"LTO-{suffix[1]}"
    worm = {"LV": 5, "LW": 6, "LX": 7, "LY": 8, "LZ": 9}
    if suffix in worm:
        return f"LTO-{worm[suffix]}-WORM"
    return None


def diff_states(a, b, a_name, b_name, drive_source=True):
    """Every element where two observations differ, as text lines."""
    out = []
    for kind in ("slot", "ie", "drive"):
        addrs = sorted(set(a[kind]) | set(b[kind]))
        for addr in addrs:
            if addr not in a[kind]:
                out.append(f"{kind} {addr}: missing from {a_name}")
                continue
            if addr not in b[kind]:
                out.append(f"{kind} {addr}: missing from {b_name}")
                continue
            x, y = a[kind][addr], b[kind][addr]
            if not drive_source or kind != "drive":
                x = x and (x[0], None)
                y = y and (y[0], None)
            if x != y:
                out.append(f"{kind} {addr}: {a_name} {fmt(x)} vs {b_name} {fmt(y)}")
    return out


def fmt(v):
    if v is None:
        return "empty"
    return v[0] + (f" (from {v[1]})" if v[1] is not None else "")


# --- the checks -------------------------------------------------------------------------------


class Checks:
    def __init__(self):
        self.results = []

    def check(self, name, ok, detail=""):
        self.results.append(("PASS" if ok else "FAIL", name, detail))
        return ok

    def skip(self, name, why):
        self.results.append(("SKIP", name, why))

    def report(self, out):
        for status, name, detail in self.results:
            line = f"{status} {name}"
            if detail and status != "PASS":
                line += ": " + detail.replace("\n", "\n       ")
            print(line, file=out)
        n = {s: sum(1 for r in self.results if r[0] == s) for s in ("PASS", "FAIL", "SKIP")}
        print(f"lab: {n['PASS']} passed, {n['FAIL']} failed, {n['SKIP']} skipped", file=out)
        return n["FAIL"] == 0


def load_json(text):
    try:
        return json.loads(text), None
    except (json.JSONDecodeError, TypeError) as e:
        return None, f"not one JSON document ({e}): {text[:300]!r}"


def verify(layout, rec, checks, side_by_side=None):
    chg = rec.changer()
    checks.check("guest: one medium changer among the sg nodes", chg is not None,
                 f"devices: {rec.devices}")
    for addr, d in sorted(layout.drives.items()):
        dev = rec.device_by_serial(d["serial"])
        checks.check(f"guest: drive {d['serial']} (element {addr}) has an sg node of type 1",
                     dev is not None and dev.get("type") == "1", f"devices: {rec.devices}")
    if chg is None:
        return
    checks.check("guest: the changer's VPD 0x80 serial is the layout's",
                 chg.get("serial") == layout.changer["serial"], f"{chg}")

    reel_discover = rec.reel.get("discover") == "yes"
    reel_move = rec.reel.get("move") == "yes"
    if not reel_discover:
        print("!!! reel discover is not built in the guest's reel binary: every reel check below "
              "is SKIPPED, not passed !!!", file=sys.stderr)

    model = State(layout)
    observations = []  # (index, model snapshot)
    idx = 0

    def observe(i, snap):
        st = rec.step(f"mtx{i}")
        mtx_state = None
        if checks.check(f"mtx{i}: mtx status ran", st is not None and st.get("rc") == 0,
                        f"{st and st.get('err')}"):
            try:
                mtx_state = parse_mtx(st["out"], layout)
            except ValueError as e:
                checks.check(f"mtx{i}: mtx status parses", False, str(e))
            if mtx_state is not None:
                d = diff_states(snap, mtx_state, "model", "mtx")
                checks.check(f"mtx{i}: mtx agrees with the layout and the moves on every element",
                             not d, "\n".join(d))
        if not reel_discover:
            checks.skip(f"reel{i}: reel discover --json", "reel discover not built yet")
            return
        st = rec.step(f"reel{i}")
        if not checks.check(f"reel{i}: reel discover --json exit 0", st is not None and
                            st.get("rc") == 0, f"{st and (st.get('err') or st.get('out'))}"):
            return
        doc, err = load_json(st["out"])
        if not checks.check(f"reel{i}: one JSON document on stdout", doc is not None, err or ""):
            return
        try:
            lib, reel_state = parse_reel(doc)
        except (KeyError, TypeError, ValueError) as e:
            checks.check(f"reel{i}: the document has cli.md's shape", False, repr(e))
            return
        checks.check(f"reel{i}: the document has cli.md's shape", True)
        d = diff_states(snap, reel_state, "model", "reel")
        checks.check(f"reel{i}: reel agrees with the layout and the moves on every element "
                     "(full, barcode, drive source)", not d, "\n".join(d))
        if mtx_state is not None:
            d = diff_states(mtx_state, reel_state, "mtx", "reel")
            checks.check(f"reel{i}: reel agrees with mtx on every element", not d, "\n".join(d))
        if i == 0:
            check_library(layout, rec, chg, lib, doc, checks)
            if side_by_side is not None and mtx_state is not None:
                side_by_side.append((rec.step("mtx0")["out"], st["out"]))
        check_media_types(lib, checks, i)

    observe(0, model.snapshot())
    check_stats(rec, checks, reel_discover)
    for name, src, dst in rec.moves:
        idx += 1
        st = rec.step(name)
        ok = checks.check(f"move {name} {src} -> {dst}: exit 0"
                          + ("" if reel_move else " (with mtx: reel move not built yet)"),
                          st is not None and st.get("rc") == 0,
                          f"{st and (st.get('err') or st.get('out'))}")
        moved_barcode = (model.table_of(addr_of(src)) or {}).get(addr_of(src))
        if reel_move and ok:
            doc, err = load_json(st["out"])
            want = {"from": src, "to": dst, "barcode": moved_barcode and moved_barcode[0]}
            checks.check(f"move {name}: --json says {want}",
                         doc is not None and doc.get("moved") == want, err or f"{doc}")
        if not reel_move:
            checks.skip(f"move {name}: with reel move", "reel move not built yet")
        model.move(addr_of(src), addr_of(dst))
        observe(idx, model.snapshot())

    check_errors(rec, checks, reel_move, reel_discover)
    # The last observation, after the refused moves: nothing changed.
    observe(5, model.snapshot())
    check_mtx_front(layout, rec, checks, model, observe)
    check_quirk(rec, checks)
    check_udev(layout, rec, checks)


def check_library(layout, rec, chg, lib, doc, checks):
    c = lib.get("changer", {})
    want = dict(path=f"/dev/{chg['name']}", vendor=layout.changer["vendor"],
                product=layout.changer["product"], revision=layout.changer["revision"],
                serial=layout.changer["serial"])
    got = {k: c.get(k) for k in want}
    checks.check("reel0: changer identity (path, vendor, product, revision, serial)",
                 got == want, f"got {got}, want {want}")
    e = lib.get("elements", {})
    want_map = {
        "transport": dict(zip(("first", "count"), layout.ranges.get("transport", (0, 0)))),
        "storage": dict(zip(("first", "count"), layout.ranges.get("storage", (0, 0)))),
        "import_export": dict(zip(("first", "count"), layout.ranges.get("import_export", (0, 0)))),
        "data_transfer": dict(zip(("first", "count"), layout.data_transfer())),
    }
    got_map = {k: {"first": (e.get(k) or {}).get("first"), "count": (e.get(k) or {}).get("count")}
               for k in want_map}
    checks.check("reel0: element map (page 0x1D) as the layout built it", got_map == want_map,
                 f"got {got_map}, want {want_map}")
    for key, kind in (("slots", "storage"), ("import_export", "import_export")):
        got = [x["address"] for x in lib.get(key, [])]
        checks.check(f"reel0: every {key} element reported, by address",
                     got == layout.addresses(kind), f"got {got}, want {layout.addresses(kind)}")
    drives = {x["address"]: x for x in lib.get("drives", [])}
    checks.check("reel0: every drive element reported, by address",
                 sorted(drives) == sorted(layout.drives),
                 f"got {sorted(drives)}, want {sorted(layout.drives)}")
    last = max(layout.drives)
    for addr, d in sorted(layout.drives.items()):
        dev = (drives.get(addr) or {}).get("device") or {}
        node = rec.device_by_serial(d["serial"])
        want = dict(path=node and f"/dev/{node['name']}", vendor=d["vendor"],
                    product=d["product"], revision=d["revision"], serial=d["serial"])
        got = {k: dev.get(k) for k in want}
        note = " (the last descriptor, which tgt truncates)" if addr == last else ""
        checks.check(f"reel0: drive element {addr} matched to its device by serial{note}",
                     got == want, f"got {got}, want {want}")
    checks.check("reel0: no unmatched drives", doc.get("unmatched_drives") == [],
                 f"{doc.get('unmatched_drives')}")
    wrong = []
    for key in ("slots", "import_export", "drives"):
        for x in lib.get(key, []):
            want = media_type_of(x["barcode"]) if x.get("full") and x.get("barcode") else None
            if x.get("media_type") != want:
                wrong.append(f"{key} {x['address']} {x.get('barcode')}: "
                             f"{x.get('media_type')} (want {want})")
    checks.check("reel0: media type of every cartridge from its barcode", not wrong,
                 "\n".join(wrong))


def check_stats(rec, checks, reel_discover):
    """`--stats` over real SG_IO: the counts add up, on stderr and in the document."""
    if not reel_discover:
        checks.skip("reel discover --json --stats", "reel discover not built yet")
        return
    st = rec.step("reel0_stats") or {}
    doc, err = load_json(st.get("out"))
    stats = (doc or {}).get("stats") or {}
    by = stats.get("by_command") or {}
    line = re.search(r"^stats: (\d+) SCSI commands, [0-9.]+ ms in devices$", st.get("err", ""), re.M)
    checks.check("reel0: --stats counts the SCSI commands sent (document and stderr agree, "
                 "READ ELEMENT STATUS among them)",
                 st.get("rc") == 0 and isinstance(stats.get("commands"), int)
                 and stats["commands"] == sum(by.values()) and by.get("READ ELEMENT STATUS", 0) >= 1
                 and line is not None and int(line.group(1)) == stats["commands"],
                 err or f"{stats} / {st.get('err')}")


def check_media_types(lib, checks, i):
    counts = {}
    for key in ("slots", "import_export", "drives"):
        for x in lib.get(key, []):
            if x.get("full") and x.get("media_type"):
                counts[x["media_type"]] = counts.get(x["media_type"], 0) + 1
    bad = [f"{m.get('name')}: says {m.get('cartridges')}, elements hold "
           f"{counts.get(m.get('name'), 0)}" for m in lib.get("media_types", [])
           if m.get("cartridges") != counts.get(m.get("name"), 0)]
    checks.check(f"reel{i}: media_types count the cartridges present", not bad, "\n".join(bad))


SENSE_TEXT = {
    "source_empty": ("3B/0E", 0x3B, 0x0E, "Medium source element empty"),
    "dest_full": ("3B/0D", 0x3B, 0x0D, "Medium destination element full"),
}


def check_errors(rec, checks, reel_move, reel_discover):
    for case, (code, asc, ascq, text) in SENSE_TEXT.items():
        st = rec.step(f"peer_{case}")
        blob = st and (st.get("out", "") + "\n" + st.get("err", ""))
        checks.check(f"peer: MOVE MEDIUM {rec.errmoves.get(case)} through SG_IO gives ILLEGAL "
                     f"REQUEST {code} ({text})",
                     bool(st) and st.get("rc") != 0 and text in blob and "Illegal Request" in blob,
                     f"{st}")
        if not reel_move:
            checks.skip(f"reel move {case}: DEVICE_ERROR with {code}", "reel move not built yet")
            continue
        st = rec.step(f"reel_{case}")
        line = next((ln for ln in (st or {}).get("err", "").splitlines()
                     if ln.startswith("error: ")), "")
        checks.check(f"reel move {case}: exit 1, `error: DEVICE_ERROR (1): …{code}…` on stderr",
                     bool(st) and st.get("rc") == 1 and line.startswith("error: DEVICE_ERROR (1): ")
                     and code.lower() in line.lower(), f"{st}")
        st = rec.step(f"reel_{case}_json")
        doc, err = load_json((st or {}).get("out"))
        e = (doc or {}).get("error", {})
        s = e.get("sense") or {}
        checks.check(f"reel move {case} --json: DEVICE_ERROR document with sense key 5, "
                     f"{code} and its text",
                     bool(st) and st.get("rc") == 1 and e.get("name") == "DEVICE_ERROR"
                     and e.get("code") == 1 and s.get("key") == 5 and s.get("asc") == asc
                     and s.get("ascq") == ascq and bool(s.get("text")), err or f"{doc}")
    st = rec.step("peer_unsupported")
    blob = st and (st.get("out", "") + "\n" + st.get("err", ""))
    checks.check("peer: an opcode tgt's changer does not support (PREVENT ALLOW MEDIUM REMOVAL) "
                 "gives ILLEGAL REQUEST, Invalid command operation code",
                 bool(st) and st.get("rc") != 0 and "Invalid command operation code" in blob,
                 f"{st}")
    check_unsupported(rec, checks)
    if not reel_discover:
        checks.skip("reel discover --device /dev/null is refused", "reel discover not built yet")
        return
    st = rec.step("reel_devnull")
    line = next((ln for ln in (st or {}).get("err", "").splitlines() if ln.startswith("error: ")),
                "")
    checks.check("reel discover --device /dev/null: refused (exit 1 or 2) with an error line "
                 "naming /dev/null", bool(st) and st.get("rc") in (1, 2) and "/dev/null" in line,
                 f"{st}")
    st = rec.step("reel_devnull_json")
    doc, err = load_json((st or {}).get("out"))
    e = (doc or {}).get("error", {})
    checks.check("reel discover --device /dev/null --json: an error document naming /dev/null",
                 bool(st) and st.get("rc") in (1, 2) and bool(e.get("name"))
                 and "/dev/null" in str(e.get("message")), err or f"{doc}")


def check_unsupported(rec, checks):
    """`reel lock` sends PREVENT ALLOW MEDIUM REMOVAL, which tgt's changer rejects (20/00)."""
    name = "reel lock: an unsupported command gives ILLEGAL REQUEST with its text"
    if rec.reel.get("lock") != "yes":
        checks.skip(name, "reel lock not built yet")
        checks.skip(f"{name} (--json)", "reel lock not built yet")
        return
    st = rec.step("reel_unsupported")
    line = next((ln for ln in (st or {}).get("err", "").splitlines()
                 if ln.startswith("error: ")), "")
    checks.check(f"{name}: exit 1, `error: DEVICE_ERROR (1): …ILLEGAL REQUEST… Invalid command "
                 f"operation code` on stderr",
                 bool(st) and st.get("rc") == 1 and line.startswith("error: DEVICE_ERROR (1): ")
                 and "ILLEGAL REQUEST" in line and "Invalid command operation code" in line,
                 f"{st}")
    st = rec.step("reel_unsupported_json")
    doc, err = load_json((st or {}).get("out"))
    e = (doc or {}).get("error", {})
    s = e.get("sense") or {}
    checks.check(f"{name} (--json): DEVICE_ERROR document with sense key 5, 20/00 and its text",
                 bool(st) and st.get("rc") == 1 and e.get("name") == "DEVICE_ERROR"
                 and e.get("code") == 1 and s.get("key") == 5 and s.get("asc") == 32
                 and s.get("ascq") == 0 and s.get("text") == "Invalid command operation code",
                 err or f"{doc}")


def status_line_owner(line, layout):
    """Which element a status line is about, and whether tgt's cut can reach it: tgt sends every
    READ ELEMENT STATUS reply 8 bytes short, so only the last descriptor of a page is cut."""
    m = re.match(r"^Data Transfer Element (\d+):", line)
    if m:
        n = int(m.group(1))
        last = n == len(layout.drives) - 1
        return f"drive {n} (element {sorted(layout.drives)[n]})", last
    m = re.match(r"^\s*Storage Element (\d+)( IMPORT/EXPORT)?:", line)
    if m:
        n = int(m.group(1))
        order = layout.addresses("storage") + layout.addresses("import_export")
        addr = order[n - 1] if n - 1 < len(order) else None
        kind = "import_export" if m.group(2) else "storage"
        last = addr is not None and addr == layout.addresses(kind)[-1]
        return f"slot {n} (element {addr})", last
    return "the header", False


def mtx_front_diff(mtx_text, reel_text, layout):
    """Where `reel mtx status` differs from `mtx status`, line by line, each difference with
    whether tgt's truncated last descriptor can explain it (it cannot: see check_mtx_front)."""
    a, b = mtx_text.split("\n"), reel_text.split("\n")
    out = []
    for i in range(max(len(a), len(b))):
        x = a[i] if i < len(a) else None
        y = b[i] if i < len(b) else None
        if x != y:
            owner, last = status_line_owner(x or y or "", layout)
            why = ("the last descriptor of its page, the one tgt cuts" if last
                   else "not a descriptor tgt cuts")
            out.append(f"line {i + 1}, {owner}, {why}:\n  mtx:  {x!r}\n  reel: {y!r}")
    return out


def check_mtx_front(layout, rec, checks, model, observe):
    """reel's mtx front in the guest: `reel mtx -f /dev/sgN status` byte-identical to mtx's at
    every observation; `reel mtx load/unload/transfer` move what mtx then reports."""
    if rec.reel.get("mtx") != "yes":
        checks.skip("mtx front: reel mtx status beside mtx status", "reel mtx not built yet")
        return
    last_drive = len(layout.drives) - 1
    drive_lines_same = True
    indices = sorted(i for i in rec.mtx_same)
    for i in indices:
        mtx_st, reel_st = rec.step(f"mtx{i}"), rec.step(f"rmtx{i}")
        ok = (mtx_st is not None and reel_st is not None and mtx_st.get("rc") == 0
              and reel_st.get("rc") == 0)
        diff = mtx_front_diff(mtx_st["out"], reel_st["out"], layout) if ok else []
        checks.check(f"mtx front {i}: `reel mtx -f CHANGER status` is byte-identical to "
                     "`mtx -f CHANGER status` (cmp in the guest)",
                     ok and rec.mtx_same[i] and not diff,
                     "\n".join(diff) or f"cmp said different; {reel_st and reel_st.get('err')}")
        if ok:
            pick = lambda t: [ln for ln in t.split("\n")
                              if ln.startswith(f"Data Transfer Element {last_drive}:")]
            drive_lines_same &= pick(mtx_st["out"]) == pick(reel_st["out"]) != []
    # tgt's flaw, and why it changes no line: tgt sends each READ ELEMENT STATUS reply 8 bytes
    # short. mtx reads drives without DVCID: the cut falls in the last drive descriptor's 4
    # reserved bytes and 4 bytes of padding after its volume tag. reel asks DVCID too: the cut
    # falls inside the last drive's device identifier, after the tag. Either way the volume tag
    # and the element's state arrive whole, so the line of the last drive is the same.
    checks.check(f"mtx front: tgt's truncated last drive descriptor (element "
                 f"{sorted(layout.drives)[-1]}) changes no line: `Data Transfer Element "
                 f"{last_drive}:…` is the same in reel's and mtx's status at every observation "
                 "(the cut falls after the volume tag: in the device identifier reel asks for, "
                 "in the reserved bytes mtx reads)", bool(indices) and drive_lines_same)
    want_text = {
        "load": "Loading media from Storage Element {s} into drive {d}...done\n",
        "unload": "Unloading drive {d} into Storage Element {s}...done\n",
        "transfer": "",
    }
    order = layout.addresses("storage") + layout.addresses("import_export")
    drives = sorted(layout.drives)
    n = 6
    for name, src, dst in rec.mtx_moves:
        st = rec.step(name)
        kind = name.replace("mtx", "")
        a, b = addr_of(src), addr_of(dst)
        if kind == "load":
            text = want_text[kind].format(s=order.index(a) + 1, d=drives.index(b))
        elif kind == "unload":
            text = want_text[kind].format(s=order.index(b) + 1, d=drives.index(a))
        else:
            text = ""
        out = st and st.get("out", "")
        checks.check(f"mtx front: `{st and st.get('cmd')}` ({src} -> {dst}): exit 0 and mtx's "
                     f"words {text.strip()!r}",
                     st is not None and st.get("rc") == 0 and (out + "\n" if out else "") == text,
                     f"rc={st and st.get('rc')} out={out!r} err={st and st.get('err')!r}")
        try:
            model.move(a, b)
        except ValueError as e:
            checks.check(f"mtx front: the model can make {name}", False, str(e))
            return
        observe(n, model.snapshot())
        n += 1
    err, peer = rec.step("mtxerr_full"), rec.step("mtxerr_full_peer")
    if err and peer:
        # Debian's mtx 1.3.12 prints its fatal messages without a prefix; the spec (§5) and
        # reel's front put `mtx: ` before them.
        checks.check("mtx front: an unload into a full slot is refused in mtx's words, exit 1 "
                     "(reel: `mtx: ` + what Debian's mtx prints)",
                     err.get("rc") == 1 and peer.get("rc") == 1 and err.get("out") == ""
                     and err.get("err") == "mtx: " + peer.get("err", "")
                     and "is Already Full" in peer.get("err", ""),
                     f"reel: {err!r}\nmtx: {peer!r}")
    inq, inq_peer = rec.step("mtxinquiry"), rec.step("mtxinquiry_peer")
    if inq and inq_peer:
        checks.check("mtx front: `reel mtx inquiry` is byte-identical to `mtx inquiry`",
                     inq.get("rc") == 0 and inq.get("out") == inq_peer.get("out"),
                     f"reel: {inq.get('out')!r}\nmtx: {inq_peer.get('out')!r}")


def check_quirk(rec, checks):
    """Not a check of reel: a record of the tgt flaw reel must survive."""
    st = rec.step("quirk_truncated")
    blob = st and (st.get("out", "") + "\n" + st.get("err", ""))
    hexbytes = []
    for ln in (blob or "").splitlines():
        m = re.match(r"^\s*[0-9a-f]+\s+((?:[0-9a-f]{2}\s+){1,16})", ln)
        if m:
            hexbytes += [int(x, 16) for x in m.group(1).split()]
    if len(hexbytes) < 16:
        return
    count = int.from_bytes(bytes(hexbytes[5:8]), "big")
    desc_len = int.from_bytes(bytes(hexbytes[10:12]), "big")
    page_len = int.from_bytes(bytes(hexbytes[13:16]), "big")
    print(f"note: tgt's READ ELEMENT STATUS of the drives (VOLTAG+DVCID): header byte count "
          f"{count}, page of {page_len // max(desc_len, 1)} descriptors of {desc_len} bytes; "
          f"tgt sends {count} bytes in all, header included, so the last 8 are missing:",
          file=sys.stderr)
    for i in range(page_len // max(desc_len, 1)):
        d = hexbytes[16 + i * desc_len:16 + (i + 1) * desc_len]
        if len(d) >= 52:
            ident = bytes(b if 32 <= b < 127 else 46 for b in d[52:]).decode()
            print(f"note:   element {int.from_bytes(bytes(d[0:2]), 'big')}: DVCID {ident!r}",
                  file=sys.stderr)


def check_udev(layout, rec, checks):
    nodes = (rec.step("udev_nodes") or {}).get("out", "")
    links = (rec.step("udev_links") or {}).get("out", "")
    for d in rec.devices:
        if d.get("type") not in ("1", "8"):
            continue
        n = d["name"]
        st = rec.step(f"udev_{n}") or {}
        out = st.get("out", "") + "\n" + st.get("err", "")
        link = (f"/dev/changer/by-id/scsi-{d['serial']}" if d["type"] == "8"
                else f"/dev/tape/by-id/scsi-{d['serial']}-sg")
        checks.check(f"udev {n}: 60-reel.rules sets GROUP tape (26) and MODE 0660",
                     re.search(r"60-reel\.rules:\d+ GROUP 26\b", out) is not None
                     and re.search(r"60-reel\.rules:\d+ MODE 0660\b", out) is not None, out[-800:])
        devlinks = re.search(r"^DEVLINKS=(.*)$", out, re.M)
        checks.check(f"udev {n}: stable link {link} (from ID_SCSI_SERIAL)",
                     devlinks is not None and link in devlinks.group(1).split(), out[-800:])
        checks.check(f"udev {n}: udev sets /dev/{n} to uid 0, gid 26, mode 0660",
                     f"Setting permissions /dev/{n}, uid=0, gid=26, mode=0660" in out, out[-800:])
        deb = rec.step(f"udevdeb_{n}")
        if deb is None:
            checks.skip(f"udev {n} beside Debian's rules", "Debian's rules were not in the guest")
        else:
            dout = deb.get("out", "") + "\n" + deb.get("err", "")
            dlinks = re.search(r"^DEVLINKS=(.*)$", dout, re.M)
            checks.check(f"udev {n} beside Debian's 50-udev-default and "
                         "60-persistent-storage-tape: gid 26, mode 0660 and the link set again",
                         f"Setting permissions /dev/{n}, uid=0, gid=26, mode=0660" in dout
                         and dlinks is not None and link in dlinks.group(1).split(), dout[-800:])
        checks.check(f"udev {n}: /dev/{n} is crw-rw---- root:tape(26)",
                     re.search(rf"^crw-rw----\s+\d+\s+0\s+26\s+21,\s+\d+ .* /dev/{n}$", nodes,
                               re.M) is not None, nodes)
        checks.check(f"udev {n}: {link} -> ../../{n} exists",
                     re.search(rf"\s{re.escape(link.rsplit('/', 1)[1])} -> \.\./\.\./{n}$", links,
                               re.M) is not None, links)


# --- self-test --------------------------------------------------------------------------------

def self_test():
    """The verifier must catch a disagreement: each mutation of a good record must fail."""
    layout = Layout("target t\nchanger 1 V P R CHG1\ndrive 500 2 V D R DRV1\n"
                    "drive 501 3 V D R DRV2\ntransport 1 1\nstorage 1000 3\n"
                    "import_export 10 1\ncartridge 1000 AAA001L8\ncartridge 10 CLN001L1\n")
    mtx_out = ("  Storage Changer /dev/sg0:2 Drives, 4 Slots ( 1 Import/Export )\n"
               "Data Transfer Element 0:Full (Storage Element 1 Loaded):VolumeTag = AAA001L8\n"
               "Data Transfer Element 1:Empty\n"
               "      Storage Element 1:Empty:VolumeTag=\n"
               "      Storage Element 2:Empty:VolumeTag=\n"
               "      Storage Element 3:Empty:VolumeTag=\n"
               "      Storage Element 4 IMPORT/EXPORT:Full :VolumeTag=CLN001L1\n")
    state = parse_mtx(mtx_out, layout)
    model = State(layout)
    model.move(1000, 500)
    cases = [
        ("mtx agrees with the model", diff_states(model.snapshot(), state, "m", "x") == []),
    ]
    wrong_barcode = mtx_out.replace("VolumeTag = AAA001L8", "VolumeTag = AAA002L8")
    cases.append(("a wrong barcode is caught",
                  diff_states(model.snapshot(), parse_mtx(wrong_barcode, layout), "m", "x") != []))
    wrong_source = mtx_out.replace("Storage Element 1 Loaded", "Storage Element 2 Loaded")
    cases.append(("a wrong drive source is caught",
                  diff_states(model.snapshot(), parse_mtx(wrong_source, layout), "m", "x") != []))
    full_slot = mtx_out.replace("Storage Element 3:Empty:VolumeTag=",
                                "Storage Element 3:Full :VolumeTag=ZZZ001L8")
    cases.append(("an extra cartridge is caught",
                  diff_states(model.snapshot(), parse_mtx(full_slot, layout), "m", "x") != []))
    try:
        parse_mtx(mtx_out.replace("      Storage Element 3:Empty:VolumeTag=\n", ""), layout)
        cases.append(("a missing element is caught", False))
    except ValueError:
        cases.append(("a missing element is caught", True))
    doc = {"libraries": [{"slots": [{"address": a, "full": False, "barcode": None}
                                    for a in (1000, 1001, 1002)],
                          "import_export": [{"address": 10, "full": True, "barcode": "CLN001L1"}],
                          "drives": [{"address": 500, "full": True, "barcode": "AAA001L8",
                                      "source": 1000},
                                     {"address": 501, "full": False, "barcode": None,
                                      "source": None}]}]}
    _, reel_state = parse_reel(doc)
    cases.append(("reel agrees with mtx", diff_states(state, reel_state, "x", "r") == []))
    doc["libraries"][0]["drives"][0]["source"] = 1001
    _, reel_state = parse_reel(doc)
    cases.append(("reel's wrong source is caught", diff_states(state, reel_state, "x", "r") != []))
    doc["libraries"][0]["slots"].pop()
    _, reel_state = parse_reel(doc)
    cases.append(("reel's missing slot is caught", diff_states(state, reel_state, "x", "r") != []))
    cases.append(("reel mtx identical to mtx: no difference",
                  mtx_front_diff(mtx_out, mtx_out, layout) == []))
    cut = mtx_out.replace("VolumeTag = AAA001L8", "VolumeTag = AAA001")
    d = mtx_front_diff(mtx_out, cut, layout)
    cases.append(("reel mtx differing in one byte is caught, the line and element named",
                  len(d) == 1 and d[0].startswith("line 2, drive 0 (element 500)")))
    ie_line = mtx_out.replace("IMPORT/EXPORT:Full :VolumeTag=CLN001L1",
                              "IMPORT/EXPORT:Full :VolumeTag=CLN001")
    d = mtx_front_diff(mtx_out, ie_line, layout)
    cases.append(("a difference in the last descriptor of a page says tgt cuts it",
                  len(d) == 1 and "the one tgt cuts" in d[0]))
    for barcode, want in (("AAA001L8", "LTO-8"), ("AAA001M8", "LTO-M8"), ("CLN001L1",
                          "LTO-CLEANING"), ("AAA001LY", "LTO-8-WORM"), ("AAA001L3", None)):
        cases.append((f"media type of {barcode}", media_type_of(barcode) == want))
    failed = [name for name, ok in cases if not ok]
    for name, ok in cases:
        print(f"{'PASS' if ok else 'FAIL'} self-test: {name}")
    print(f"verify.py self-test: {len(cases) - len(failed)} passed, {len(failed)} failed")
    return 0 if not failed else 1


def write_mtx_front(f, rec):
    """reel's mtx front beside mtx: the first observation, and the one after `reel mtx load`."""
    for i, title in ((0, "at boot"), (6, "after `reel mtx load`")):
        m, r = rec.step(f"mtx{i}"), rec.step(f"rmtx{i}")
        if not (m and r):
            continue
        same = "byte-identical" if rec.mtx_same.get(i) else "DIFFERENT"
        f.write(f"=== {title}: mtx -f CHANGER status ===\n{m['out']}\n")
        f.write(f"=== {title}: reel mtx -f CHANGER status ({same}, cmp in the guest) ===\n"
                f"{r['out']}\n\n")


def main(argv):
    if argv[1:] == ["--self-test"]:
        return self_test()
    if len(argv) not in (3, 5) or (len(argv) == 5 and argv[3] != "--side-by-side"):
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1]) as f:
        layout = Layout(f.read())
    with open(argv[2], errors="replace") as f:
        rec = Record(f.read())
    checks = Checks()
    side = []
    verify(layout, rec, checks, side)
    if len(argv) == 5:
        with open(argv[4], "w") as f:
            if side:
                mtx_text, reel_text = side[0]
                f.write("=== mtx -f CHANGER status ===\n" + mtx_text.rstrip() + "\n\n")
                write_mtx_front(f, rec)
                f.write("=== reel discover --json ===\n" + reel_text.rstrip() + "\n")
                human = rec.step("reel0_human") or {}
                if human.get("out"):
                    f.write("\n=== reel discover ===\n" + human["out"].rstrip() + "\n")
                if human.get("err"):
                    f.write("(stderr)\n" + human["err"].rstrip() + "\n")
                stats = (rec.step("reel0_stats") or {}).get("err", "")
                if "stats:" in stats:
                    f.write("\n=== reel discover --stats (stderr) ===\n"
                            + stats[stats.index("stats:"):].rstrip() + "\n")
            else:
                mtx0 = (rec.step("mtx0") or {}).get("out", "")
                f.write("=== mtx -f CHANGER status ===\n" + mtx0.rstrip() + "\n\n"
                        "=== reel discover --json: not built yet ===\n")
    return 0 if checks.report(sys.stdout) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
