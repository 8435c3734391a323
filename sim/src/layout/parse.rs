//! Parsing a layout file, one function per section: `[changer]`, `[[drive]]`, the cartridges
//! (`[[cartridge]]` and `[[cartridges]]` runs), `[quirks]`, `[timing]`, `[[fault]]`. Each
//! section is checked against the ones parsed before it (drives against the data-transfer
//! range, cartridges against the element ranges and the drive bays).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use reel_hw::opcode::{Applies, OpCode};
use serde::Deserialize;
use toml::Spanned;

use super::{
    CartridgeConfig, ChangerConfig, DriveConfig, ElementKind, ElementRange, Fault, FaultCommand,
    Layout, LayoutError, Location, MediaConfig, Quirks, ShortForm, Timing,
};
use crate::media::{Barcode, Generation};

// ---- raw TOML shapes -------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLayout {
    changer: Option<Spanned<RawChanger>>,
    #[serde(default)]
    drive: Vec<Spanned<RawDrive>>,
    #[serde(default)]
    cartridge: Vec<Spanned<RawCartridge>>,
    #[serde(default)]
    cartridges: Vec<Spanned<RawRun>>,
    quirks: Option<RawQuirks>,
    timing: Option<RawTiming>,
    #[serde(default)]
    fault: Vec<Spanned<RawFault>>,
    media: Option<Spanned<RawMedia>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMedia {
    capacity_scale: Option<Spanned<f64>>,
    durable: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChanger {
    vendor: Option<Spanned<String>>,
    product: Option<Spanned<String>>,
    revision: Option<Spanned<String>>,
    serial: Option<Spanned<String>>,
    barcode_reader: Option<bool>,
    transport: Option<Spanned<RawRange>>,
    storage: Option<Spanned<RawRange>>,
    import_export: Option<Spanned<RawRange>>,
    data_transfer: Option<Spanned<RawRange>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRange {
    first: Spanned<i64>,
    count: Spanned<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDrive {
    vendor: Option<Spanned<String>>,
    product: Option<Spanned<String>>,
    revision: Option<Spanned<String>>,
    serial: Option<Spanned<String>>,
    generation: Option<Spanned<String>>,
    present: Option<bool>,
    clean_after_loads: Option<Spanned<i64>>,
    needs_cleaning: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCartridge {
    barcode: Option<Spanned<String>>,
    location: Option<Spanned<String>>,
    write_protect: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRun {
    first_barcode: Option<Spanned<String>>,
    count: Option<Spanned<i64>>,
    first_location: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuirks {
    dvcid_with_voltag_rejected: Option<bool>,
    dvcid_on_non_drive_rejected: Option<bool>,
    max_allocation_length: Option<Spanned<i64>>,
    allocation_length_16bit: Option<bool>,
    ignore_element_count: Option<bool>,
    volume_tag_length: Option<Spanned<i64>>,
    not_ready_on_start_ms: Option<Spanned<i64>>,
    auto_unload: Option<bool>,
    element_status_short_by: Option<Spanned<i64>>,
    element_status_short_form: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTiming {
    move_ms: Option<Spanned<i64>>,
    load_ms: Option<Spanned<i64>>,
    inventory_ms_per_element: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFault {
    command: Option<Spanned<RawCommand>>,
    after: Option<Spanned<i64>>,
    times: Option<Spanned<i64>>,
    sense: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawCommand {
    Opcode(i64),
    Name(String),
}

// ---- parsing ---------------------------------------------------------------------------------

struct Ctx<'a> {
    file: &'a str,
    text: &'a str,
}

impl Ctx<'_> {
    fn line(&self, offset: usize) -> usize {
        let offset = offset.min(self.text.len());
        self.text.as_bytes()[..offset]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    fn err(&self, offset: usize, key: &str, reason: impl Into<String>) -> LayoutError {
        LayoutError::Key {
            file: self.file.to_owned(),
            line: self.line(offset),
            key: key.to_owned(),
            reason: reason.into(),
        }
    }

    /// The table header (`[quirks]`, `[[drive]]`) above `line`, or `the top level`.
    fn section(&self, line: usize) -> String {
        self.text
            .lines()
            .take(line)
            .filter_map(|l| {
                let t = l.trim();
                t.starts_with('[').then(|| {
                    let end = t.rfind(']').map_or(t.len(), |e| e + 1);
                    t[..end].to_owned()
                })
            })
            .last()
            .unwrap_or_else(|| "the top level".to_owned())
    }

    fn toml_error(&self, e: &toml::de::Error) -> LayoutError {
        let offset = e.span().map_or(0, |s| s.start);
        let line = self.line(offset);
        let msg = e.message().trim();
        let section = self.section(line);
        if let Some(rest) = msg.strip_prefix("unknown field `") {
            if let Some((key, tail)) = rest.split_once('`') {
                let expected = tail
                    .trim_start_matches(", ")
                    .replace("expected one of", "known keys:")
                    .replace("expected", "known key:");
                return LayoutError::Key {
                    file: self.file.to_owned(),
                    line,
                    key: key.to_owned(),
                    reason: format!("unknown key in {section} ({expected})"),
                };
            }
        }
        if let Some(rest) = msg.strip_prefix("missing field `") {
            if let Some((key, _)) = rest.split_once('`') {
                return LayoutError::Key {
                    file: self.file.to_owned(),
                    line,
                    key: key.to_owned(),
                    reason: format!("required key missing in {section}"),
                };
            }
        }
        // A value of the wrong type: name the key written on that line.
        let line_text = self.text.lines().nth(line - 1).unwrap_or("");
        if let Some((key, _)) = line_text.split_once('=') {
            let key = key.trim().trim_matches('"');
            if !key.is_empty() && !key.starts_with('[') {
                return LayoutError::Key {
                    file: self.file.to_owned(),
                    line,
                    key: key.to_owned(),
                    reason: format!("{msg} (in {section})"),
                };
            }
        }
        LayoutError::Syntax {
            file: self.file.to_owned(),
            line,
            reason: msg.to_owned(),
        }
    }

    fn ascii(
        &self,
        v: &Option<Spanned<String>>,
        key: &str,
        max: usize,
        default: &str,
    ) -> Result<String, LayoutError> {
        let Some(v) = v else {
            return Ok(default.to_owned());
        };
        let s = v.get_ref();
        if s.is_empty() || s.len() > max || !s.bytes().all(|b| (0x20..0x7F).contains(&b)) {
            return Err(self.err(
                v.span().start,
                key,
                format!("{s:?} must be 1 to {max} printable ASCII characters"),
            ));
        }
        Ok(s.clone())
    }

    fn int(
        &self,
        v: &Option<Spanned<i64>>,
        key: &str,
        min: i64,
        max: i64,
        default: i64,
    ) -> Result<i64, LayoutError> {
        let Some(v) = v else {
            return Ok(default);
        };
        let n = *v.get_ref();
        if n < min || n > max {
            return Err(self.err(
                v.span().start,
                key,
                format!("{n} is out of range ({min}..={max})"),
            ));
        }
        Ok(n)
    }
}

/// Parses and validates layout `text`, section by section (see [`Layout::parse`]).
pub(super) fn layout(text: &str, file: &str) -> Result<Layout, LayoutError> {
    let cx = Ctx { file, text };
    let mut raw: RawLayout = toml::from_str(text).map_err(|e| cx.toml_error(&e))?;
    let changer = changer(&cx, raw.changer.take())?;
    let drives = drives(&cx, &raw.drive, &changer)?;
    let cartridges = cartridges(&cx, &raw, &changer.config, &drives)?;
    Ok(Layout {
        file: file.to_owned(),
        changer: changer.config,
        drives,
        cartridges,
        quirks: quirks(&cx, raw.quirks.as_ref())?,
        timing: timing(&cx, raw.timing.as_ref())?,
        faults: faults(&cx, &raw.fault)?,
        media: media(&cx, raw.media.as_ref())?,
    })
}

/// The `[changer]` table and where its keys sit, for the checks of later sections.
struct Changer {
    config: ChangerConfig,
    /// The offset of `serial` (the first entry of the serial uniqueness check).
    serial_at: usize,
    /// The offset of `data_transfer` (or of `[changer]` when it is absent).
    data_transfer_at: usize,
}

fn changer(cx: &Ctx<'_>, ch: Option<Spanned<RawChanger>>) -> Result<Changer, LayoutError> {
    let Some(ch) = ch else {
        return Err(cx.err(0, "changer", "required table [changer] is missing"));
    };
    let ch_span = ch.span().start;
    let ch = ch.into_inner();
    let serial = match &ch.serial {
        Some(_) => cx.ascii(&ch.serial, "serial", 32, "")?,
        None => return Err(cx.err(ch_span, "serial", "required key missing in [changer]")),
    };
    let range = |r: &Option<Spanned<RawRange>>, key: &str, default: ElementRange, min_count| {
        element_range(cx, r, key, default, min_count, ch_span)
    };
    let (transport, t_at) = range(
        &ch.transport,
        "transport",
        ElementRange { first: 1, count: 1 },
        1,
    )?;
    let none = ElementRange { first: 0, count: 0 };
    let (storage, s_at) = range(&ch.storage, "storage", none, 1)?;
    let (import_export, i_at) = range(&ch.import_export, "import_export", none, 0)?;
    let (data_transfer, d_at) = range(&ch.data_transfer, "data_transfer", none, 0)?;
    let ranges = [
        ("transport", transport, t_at),
        ("storage", storage, s_at),
        ("import_export", import_export, i_at),
        ("data_transfer", data_transfer, d_at),
    ];
    for (i, (ka, ra, _)) in ranges.iter().enumerate() {
        for (kb, rb, at) in &ranges[i + 1..] {
            let (Some(la), Some(lb)) = (ra.last(), rb.last()) else {
                continue;
            };
            if ra.first <= lb && rb.first <= la {
                return Err(cx.err(
                    *at,
                    kb,
                    format!(
                        "addresses {}..={} overlap `{ka}` ({}..={})",
                        rb.first, lb, ra.first, la
                    ),
                ));
            }
        }
    }
    Ok(Changer {
        config: ChangerConfig {
            vendor: cx.ascii(&ch.vendor, "vendor", 8, "REELSIM")?,
            product: cx.ascii(&ch.product, "product", 16, "VIRTUAL LIBRARY")?,
            revision: cx.ascii(&ch.revision, "revision", 4, "0001")?,
            serial,
            barcode_reader: ch.barcode_reader.unwrap_or(true),
            transport,
            storage,
            import_export,
            data_transfer,
        },
        serial_at: ch.serial.as_ref().map_or(ch_span, |s| s.span().start),
        data_transfer_at: d_at,
    })
}

/// One element range of `[changer]` and its offset; `default` when absent (an error when the
/// range is required, `min_count` > 0 with an empty default).
fn element_range(
    cx: &Ctx<'_>,
    r: &Option<Spanned<RawRange>>,
    key: &str,
    default: ElementRange,
    min_count: i64,
    changer_at: usize,
) -> Result<(ElementRange, usize), LayoutError> {
    let Some(r) = r else {
        if default.count == 0 && min_count > 0 {
            return Err(cx.err(changer_at, key, "required key missing in [changer]"));
        }
        return Ok((default, changer_at));
    };
    let first = cx.int(&Some(r.get_ref().first.clone()), key, 0, 0xFFFF, 0)?;
    let count = cx.int(&Some(r.get_ref().count.clone()), key, min_count, 0xFFFF, 0)?;
    if first + count - 1 > 0xFFFF {
        return Err(cx.err(
            r.span().start,
            key,
            format!("first {first} + count {count} runs past the last element address 65535"),
        ));
    }
    Ok((
        ElementRange {
            first: first as u16,
            count: count as u16,
        },
        r.span().start,
    ))
}

fn drives(
    cx: &Ctx<'_>,
    raw: &[Spanned<RawDrive>],
    changer: &Changer,
) -> Result<Vec<DriveConfig>, LayoutError> {
    let dt = changer.config.data_transfer;
    if raw.len() != usize::from(dt.count) {
        let at = raw
            .get(usize::from(dt.count))
            .map_or(changer.data_transfer_at, |d| d.span().start);
        return Err(cx.err(
            at,
            "data_transfer",
            format!(
                "count {} but the layout has {} [[drive]] table(s); they must match",
                dt.count,
                raw.len()
            ),
        ));
    }
    let mut drives = Vec::with_capacity(raw.len());
    let mut serials: HashMap<String, usize> = HashMap::new();
    serials.insert(changer.config.serial.clone(), changer.serial_at);
    for d in raw {
        drives.push(drive(cx, d, &mut serials)?);
    }
    Ok(drives)
}

/// One `[[drive]]`; `serials` holds every serial seen so far (changer first) with its offset.
fn drive(
    cx: &Ctx<'_>,
    d: &Spanned<RawDrive>,
    serials: &mut HashMap<String, usize>,
) -> Result<DriveConfig, LayoutError> {
    let at = d.span().start;
    let d = d.get_ref();
    let Some(g) = &d.generation else {
        return Err(cx.err(
            at,
            "generation",
            "required key missing in [[drive]] (LTO-5 .. LTO-9)",
        ));
    };
    let generation = Generation::parse(g.get_ref()).ok_or_else(|| {
        cx.err(
            g.span().start,
            "generation",
            format!(
                "{:?} is not a drive generation; write LTO-5 .. LTO-9",
                g.get_ref()
            ),
        )
    })?;
    let Some(s) = &d.serial else {
        return Err(cx.err(at, "serial", "required key missing in [[drive]]"));
    };
    let serial = cx.ascii(&d.serial, "serial", 32, "")?;
    if serial.contains(' ') {
        return Err(cx.err(
            s.span().start,
            "serial",
            format!("{serial:?} must not contain spaces"),
        ));
    }
    if let Some(prev) = serials.insert(serial.clone(), s.span().start) {
        return Err(cx.err(
            s.span().start,
            "serial",
            format!(
                "{serial:?} is already used on line {}; serials must be unique",
                cx.line(prev)
            ),
        ));
    }
    let product_default = format!("ULT3580-HH{}", generation.0);
    Ok(DriveConfig {
        vendor: cx.ascii(&d.vendor, "vendor", 8, "IBM")?,
        product: cx.ascii(&d.product, "product", 16, &product_default)?,
        revision: cx.ascii(&d.revision, "revision", 4, "SIM1")?,
        serial,
        generation,
        present: d.present.unwrap_or(true),
        clean_after_loads: cx.int(
            &d.clean_after_loads,
            "clean_after_loads",
            0,
            u32::MAX.into(),
            0,
        )? as u32,
        needs_cleaning: d.needs_cleaning.unwrap_or(false),
    })
}

/// Places cartridges, refusing duplicates of barcode or place and places they cannot start in.
struct Placer<'a> {
    cx: &'a Ctx<'a>,
    changer: &'a ChangerConfig,
    drives: &'a [DriveConfig],
    /// The offset of each barcode's key.
    by_barcode: HashMap<Barcode, usize, BuildHasherDefault<Fnv>>,
    /// The offset of the cartridge in each element (usize::MAX: empty), by element index.
    by_place: Vec<usize>,
    /// The first element index of each kind.
    base: [usize; 4],
    placed: Vec<CartridgeConfig>,
}

impl<'a> Placer<'a> {
    fn new(cx: &'a Ctx<'a>, changer: &'a ChangerConfig, drives: &'a [DriveConfig]) -> Self {
        let c = |k| usize::from(changer.range(k).count);
        let base = [
            0,
            c(ElementKind::Transport),
            c(ElementKind::Transport) + c(ElementKind::Storage),
            c(ElementKind::Transport) + c(ElementKind::Storage) + c(ElementKind::ImportExport),
        ];
        let total = base[3] + usize::from(changer.data_transfer.count);
        Placer {
            cx,
            changer,
            drives,
            by_barcode: HashMap::with_capacity_and_hasher(1024, BuildHasherDefault::default()),
            by_place: vec![usize::MAX; total],
            base,
            placed: Vec::new(),
        }
    }

    /// May a cartridge start in `loc`? (`at`, `key`: where the location was written.)
    fn check_location(&self, loc: Location, at: usize, key: &str) -> Result<(), LayoutError> {
        let cx = self.cx;
        let r = self.changer.range(loc.kind);
        if !r.contains(loc.address) {
            let what = match r.last() {
                Some(l) => format!("{}..={}", r.first, l),
                None => "none".to_owned(),
            };
            return Err(cx.err(
                at,
                key,
                format!(
                    "{loc} is outside the {} elements ({what})",
                    loc.kind.prefix()
                ),
            ));
        }
        if loc.kind == ElementKind::Transport {
            return Err(cx.err(
                at,
                key,
                format!("{loc}: a cartridge cannot start in the robot"),
            ));
        }
        if loc.kind == ElementKind::DataTransfer {
            let i = usize::from(loc.address - r.first);
            if !self.drives[i].present {
                return Err(cx.err(
                    at,
                    key,
                    format!("{loc} is an empty drive bay (present = false)"),
                ));
            }
        }
        Ok(())
    }

    /// Records cartridge `bc` in `loc` (already checked), with the offsets and keys that
    /// wrote them for the errors.
    fn place(
        &mut self,
        bc: Barcode,
        loc: Location,
        (bc_at, bc_key): (usize, &str),
        (loc_at, loc_key): (usize, &str),
    ) -> Result<(), LayoutError> {
        let cx = self.cx;
        if let Some(prev) = self.by_barcode.insert(bc, bc_at) {
            return Err(cx.err(
                bc_at,
                bc_key,
                format!("duplicate barcode {bc} (also on line {})", cx.line(prev)),
            ));
        }
        let index = self.base[loc.kind as usize - 1]
            + usize::from(loc.address - self.changer.range(loc.kind).first);
        let prev = std::mem::replace(&mut self.by_place[index], loc_at);
        if prev != usize::MAX {
            return Err(cx.err(
                loc_at,
                loc_key,
                format!(
                    "two cartridges in {loc} (the other on line {})",
                    cx.line(prev)
                ),
            ));
        }
        self.placed.push(CartridgeConfig {
            barcode: bc,
            location: loc,
            write_protect: false,
        });
        Ok(())
    }

    /// One `[[cartridge]]`.
    fn single(&mut self, c: &Spanned<RawCartridge>) -> Result<(), LayoutError> {
        let cx = self.cx;
        let at = c.span().start;
        let c = c.get_ref();
        let Some(b) = &c.barcode else {
            return Err(cx.err(at, "barcode", "required key missing in [[cartridge]]"));
        };
        let Some(l) = &c.location else {
            return Err(cx.err(at, "location", "required key missing in [[cartridge]]"));
        };
        let bc = Barcode::new(b.get_ref())
            .map_err(|e| cx.err(b.span().start, "barcode", e.to_string()))?;
        let loc =
            Location::parse(l.get_ref()).map_err(|e| cx.err(l.span().start, "location", e))?;
        self.check_location(loc, l.span().start, "location")?;
        self.place(
            bc,
            loc,
            (b.span().start, "barcode"),
            (l.span().start, "location"),
        )?;
        if let Some(last) = self.placed.last_mut() {
            last.write_protect = c.write_protect.unwrap_or(false);
        }
        Ok(())
    }

    /// One `[[cartridges]]` run.
    fn run(&mut self, r: &Spanned<RawRun>) -> Result<(), LayoutError> {
        let cx = self.cx;
        let at = r.span().start;
        let r = r.get_ref();
        let Some(b) = &r.first_barcode else {
            return Err(cx.err(
                at,
                "first_barcode",
                "required key missing in [[cartridges]]",
            ));
        };
        let Some(l) = &r.first_location else {
            return Err(cx.err(
                at,
                "first_location",
                "required key missing in [[cartridges]]",
            ));
        };
        let Some(n) = &r.count else {
            return Err(cx.err(at, "count", "required key missing in [[cartridges]]"));
        };
        let count = cx.int(&Some(n.clone()), "count", 1, 0xFFFF, 1)? as u16;
        let first = Barcode::new(b.get_ref())
            .map_err(|e| cx.err(b.span().start, "first_barcode", e.to_string()))?;
        if first.nth_in_run(u64::from(count) - 1).is_none() {
            return Err(cx.err(
                b.span().start,
                "first_barcode",
                format!("a run of {count} from {first} does not fit in the digits before the two-character suffix"),
            ));
        }
        let loc = Location::parse(l.get_ref())
            .map_err(|e| cx.err(l.span().start, "first_location", e))?;
        self.check_location(loc, l.span().start, "first_location")?;
        let range = self.changer.range(loc.kind);
        let last = u32::from(loc.address) + u32::from(count) - 1;
        if !range.contains(u16::try_from(last).unwrap_or(u16::MAX)) || last > 0xFFFF {
            return Err(cx.err(
                n.span().start,
                "count",
                format!(
                    "a run of {count} from {loc} does not fit: the {} elements end at {}",
                    loc.kind.prefix(),
                    range.last().unwrap_or(range.first)
                ),
            ));
        }
        let mut bc = first;
        for i in 0..count {
            if i > 0 {
                bc = bc.next_in_run().unwrap_or(bc);
            }
            let loc = Location {
                kind: loc.kind,
                address: loc.address + i,
            };
            if loc.kind == ElementKind::DataTransfer {
                self.check_location(loc, l.span().start, "first_location")?;
            }
            self.place(
                bc,
                loc,
                (b.span().start, "first_barcode"),
                (l.span().start, "first_location"),
            )?;
        }
        Ok(())
    }
}

/// Every `[[cartridge]]`, then every `[[cartridges]]` run, expanded.
fn cartridges(
    cx: &Ctx<'_>,
    raw: &RawLayout,
    changer: &ChangerConfig,
    drives: &[DriveConfig],
) -> Result<Vec<CartridgeConfig>, LayoutError> {
    let mut placer = Placer::new(cx, changer, drives);
    for c in &raw.cartridge {
        placer.single(c)?;
    }
    for r in &raw.cartridges {
        placer.run(r)?;
    }
    Ok(placer.placed)
}

fn quirks(cx: &Ctx<'_>, raw: Option<&RawQuirks>) -> Result<Quirks, LayoutError> {
    let mut quirks = Quirks::default();
    let Some(q) = raw else {
        return Ok(quirks);
    };
    quirks.dvcid_with_voltag_rejected = q.dvcid_with_voltag_rejected.unwrap_or(false);
    quirks.dvcid_on_non_drive_rejected = q.dvcid_on_non_drive_rejected.unwrap_or(false);
    quirks.max_allocation_length = cx.int(
        &q.max_allocation_length,
        "max_allocation_length",
        1,
        0xFF_FFFF,
        0xFF_FFFF,
    )? as u32;
    quirks.allocation_length_16bit = q.allocation_length_16bit.unwrap_or(false);
    quirks.ignore_element_count = q.ignore_element_count.unwrap_or(false);
    quirks.volume_tag_length = cx.int(&q.volume_tag_length, "volume_tag_length", 32, 36, 36)? as u8;
    if let Some(v) = &q.volume_tag_length {
        if *v.get_ref() != 32 && *v.get_ref() != 36 {
            return Err(cx.err(
                v.span().start,
                "volume_tag_length",
                format!("{} must be 36 or 32", v.get_ref()),
            ));
        }
    }
    quirks.not_ready_on_start_ms = cx.int(
        &q.not_ready_on_start_ms,
        "not_ready_on_start_ms",
        0,
        i64::MAX,
        0,
    )? as u64;
    quirks.auto_unload = q.auto_unload.unwrap_or(false);
    quirks.element_status_short_by = cx.int(
        &q.element_status_short_by,
        "element_status_short_by",
        0,
        1024,
        0,
    )? as u16;
    if let Some(f) = &q.element_status_short_form {
        quirks.element_status_short_form = match f.get_ref().as_str() {
            "zeros" => ShortForm::Zeros,
            "residual" => ShortForm::Residual,
            other => {
                return Err(cx.err(
                    f.span().start,
                    "element_status_short_form",
                    format!("{other:?} must be \"zeros\" or \"residual\""),
                ))
            }
        };
    }
    Ok(quirks)
}

fn media(cx: &Ctx<'_>, raw: Option<&Spanned<RawMedia>>) -> Result<MediaConfig, LayoutError> {
    let mut m = MediaConfig::default();
    let Some(raw) = raw else {
        return Ok(m);
    };
    let r = raw.get_ref();
    if let Some(s) = &r.capacity_scale {
        let v = *s.get_ref();
        if !(v > 0.0 && v <= 1.0) {
            return Err(cx.err(
                s.span().start,
                "capacity_scale",
                format!("{v} must be greater than 0 and at most 1"),
            ));
        }
        m.capacity_scale_ppm = ((v * 1e6).round() as u32).max(1);
    }
    m.durable = r.durable.unwrap_or(false);
    Ok(m)
}

fn timing(cx: &Ctx<'_>, raw: Option<&RawTiming>) -> Result<Timing, LayoutError> {
    const MAX_MS: i64 = 3_600_000;
    let Some(t) = raw else {
        return Ok(Timing::default());
    };
    Ok(Timing {
        move_ms: cx.int(&t.move_ms, "move_ms", 0, MAX_MS, 0)? as u64,
        load_ms: cx.int(&t.load_ms, "load_ms", 0, MAX_MS, 0)? as u64,
        inventory_ms_per_element: cx.int(
            &t.inventory_ms_per_element,
            "inventory_ms_per_element",
            0,
            MAX_MS,
            0,
        )? as u64,
    })
}

fn faults(cx: &Ctx<'_>, raw: &[Spanned<RawFault>]) -> Result<Vec<Fault>, LayoutError> {
    raw.iter().map(|f| fault(cx, f)).collect()
}

fn fault(cx: &Ctx<'_>, f: &Spanned<RawFault>) -> Result<Fault, LayoutError> {
    let at = f.span().start;
    let f = f.get_ref();
    let Some(c) = &f.command else {
        return Err(cx.err(at, "command", "required key missing in [[fault]]"));
    };
    let command = match c.get_ref() {
        RawCommand::Opcode(o) => match u8::try_from(*o) {
            Ok(o) => FaultCommand::Opcode(o),
            Err(_) => {
                return Err(cx.err(
                    c.span().start,
                    "command",
                    format!("opcode {o} is not a byte"),
                ))
            }
        },
        RawCommand::Name(n) => command_by_name(n).ok_or_else(|| {
            cx.err(
                c.span().start,
                "command",
                format!("{n:?} is not a command of scsi-reference §4 (e.g. \"MOVE MEDIUM\", \"READ ELEMENT STATUS\", or an opcode like 0xA5)"),
            )
        })?,
    };
    let Some(s) = &f.sense else {
        return Err(cx.err(
            at,
            "sense",
            "required key missing in [[fault]] (e.g. \"4/15/01\")",
        ));
    };
    let sense = parse_sense(s.get_ref()).ok_or_else(|| {
        cx.err(
            s.span().start,
            "sense",
            format!(
                "{:?} is not KEY/ASC/ASCQ in hex (e.g. \"4/15/01\")",
                s.get_ref()
            ),
        )
    })?;
    Ok(Fault {
        command,
        after: cx.int(&f.after, "after", 0, u32::MAX.into(), 0)? as u32,
        times: cx.int(&f.times, "times", 1, u32::MAX.into(), 1)? as u32,
        sense,
    })
}

fn parse_sense(s: &str) -> Option<(u8, u8, u8)> {
    let mut it = s.split('/');
    let k = u8::from_str_radix(it.next()?.trim(), 16).ok()?;
    let a = u8::from_str_radix(it.next()?.trim(), 16).ok()?;
    let q = u8::from_str_radix(it.next()?.trim(), 16).ok()?;
    (it.next().is_none() && k <= 0xF).then_some((k, a, q))
}

/// The §4 command names a `[[fault]]` may use (case, spacing and punctuation insensitive;
/// reel-hw's one command table), or an opcode written as a string (`"0xA5"`).
fn command_by_name(name: &str) -> Option<FaultCommand> {
    let folded: String = name
        .to_ascii_uppercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    if let Some(h) = folded.strip_prefix("0X") {
        return u8::from_str_radix(h, 16).ok().map(FaultCommand::Opcode);
    }
    let (code, applies) = OpCode::lookup(name)?;
    Some(match applies {
        Applies::Any => FaultCommand::Opcode(code.0),
        Applies::Changer => FaultCommand::ChangerOpcode(code.0),
        Applies::Drive => FaultCommand::DriveOpcode(code.0),
    })
}

/// FNV-1a, for the duplicate-barcode check of large layouts (keys are not attacker-chosen).
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}
