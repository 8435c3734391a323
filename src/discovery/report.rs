//! The human report of `reel discover`: aligned tables; runs of slots folded (unless `--all`
//! asks for one line per element) and lists of drive addresses folded into ranges, so a large
//! library stays readable; a NOTES section for what a person should act on.

use std::io::{self, Write};

use super::model::{Element, Inventory, Library};

/// A table with left-aligned columns separated by two spaces.
#[derive(Debug, Default)]
pub struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table whose first row is `header`.
    pub fn new(header: &[&str]) -> Self {
        Table {
            rows: vec![header.iter().map(|s| (*s).to_owned()).collect()],
        }
    }

    /// Adds a row.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Writes the table, each line indented by `indent` spaces.
    ///
    /// # Errors
    /// When `w` fails.
    pub fn write(&self, w: &mut dyn Write, indent: usize) -> io::Result<()> {
        let cols = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let mut widths = vec![0; cols];
        for r in &self.rows {
            for (i, c) in r.iter().enumerate() {
                widths[i] = widths[i].max(c.chars().count());
            }
        }
        for r in &self.rows {
            let mut line = " ".repeat(indent);
            for (i, c) in r.iter().enumerate() {
                if i + 1 == r.len() {
                    line.push_str(c);
                } else {
                    line.push_str(&format!("{c:<w$}  ", w = widths[i]));
                }
            }
            writeln!(w, "{}", line.trim_end())?;
        }
        Ok(())
    }
}

fn or_dash(s: Option<&str>) -> String {
    s.filter(|s| !s.is_empty()).unwrap_or("-").to_owned()
}

fn cartridge(e: &Element) -> String {
    if !e.full {
        return "empty".into();
    }
    let tag = e.barcode.as_deref().unwrap_or("(no barcode)");
    match (e.media_type, &e.media_type_conflict) {
        (Some(t), _) => format!("{tag} {}", t.name()),
        (None, Some(_)) => format!("{tag} (media type conflict)"),
        (None, None) => tag.to_owned(),
    }
}

fn notes(e: &Element) -> String {
    let mut n = Vec::new();
    if let Some(s) = e.source {
        n.push(format!("from {s}"));
    }
    if let Some(x) = &e.exception {
        n.push(format!("exception {:02X}/{:02X} {}", x.asc, x.ascq, x.text));
    }
    n.join("; ")
}

/// A barcode as prefix, number and suffix (`A00017L8` → `A`, 17, 5 digits, `L8`), for folding
/// runs of consecutively labelled cartridges.
fn barcode_parts(b: &str) -> Option<(&str, u64, usize, &str)> {
    // LTO labels end in a two-character media id (scsi-reference §7); the series is before it.
    let (head, suffix) = match b.len() {
        8.. if b.is_char_boundary(b.len() - 2) => b.split_at(b.len() - 2),
        _ => (b, ""),
    };
    let digits = head.bytes().rev().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let (prefix, number) = head.split_at(head.len() - digits);
    Some((prefix, number.parse().ok()?, digits, suffix))
}

/// True when `b` is the element after `a` in a folded run: next address, and either both
/// plainly empty, or both holding the same type with the next label of one series.
fn continues(a: &Element, b: &Element) -> bool {
    let plain = |e: &Element| e.exception.is_none() && e.media_type_conflict.is_none();
    if u32::from(b.address) != u32::from(a.address) + 1 || !plain(a) || !plain(b) {
        return false;
    }
    match (a.full, b.full) {
        (false, false) => true,
        (true, true) if a.media_type == b.media_type => {
            match (
                a.barcode.as_deref().and_then(barcode_parts),
                b.barcode.as_deref().and_then(barcode_parts),
            ) {
                (Some((p1, n1, w1, s1)), Some((p2, n2, w2, s2))) => {
                    p1 == p2 && s1 == s2 && w1 == w2 && n2 == n1 + 1
                }
                _ => false,
            }
        }
        _ => false,
    }
}

/// Writes a list of elements, folding runs so a library with thousands of slots stays
/// readable: two or more empty elements (`1013-1022  empty (10)`), and three or more holding
/// consecutively labelled cartridges of one type (`1000-1499  A00000L8..A00499L8 LTO-8 (500)`).
fn write_elements(w: &mut dyn Write, elements: &[Element], all: bool) -> io::Result<()> {
    let mut t = Table::new(&["ADDRESS", "CONTENTS", "NOTES"]);
    let mut i = 0;
    while i < elements.len() {
        let e = &elements[i];
        let mut j = i + 1;
        while !all && j < elements.len() && continues(&elements[j - 1], &elements[j]) {
            j += 1;
        }
        let last = &elements[j - 1];
        let n = j - i;
        if !e.full && n >= 2 {
            t.row(vec![
                format!("{}-{}", e.address, last.address),
                format!("empty ({n})"),
                String::new(),
            ]);
        } else if e.full && n >= 3 {
            let kind = e
                .media_type
                .map_or(String::new(), |m| format!(" {}", m.name()));
            t.row(vec![
                format!("{}-{}", e.address, last.address),
                format!(
                    "{}..{}{kind} ({n})",
                    e.barcode.as_deref().unwrap_or_default(),
                    last.barcode.as_deref().unwrap_or_default()
                ),
                String::new(),
            ]);
        } else {
            j = i + 1;
            t.row(vec![e.address.to_string(), cartridge(e), notes(e)]);
        }
        i = j;
    }
    t.write(w, 2)
}

/// Addresses as ranges: `500-627`, `500,502-504`; `-` for none.
pub fn fold_addresses(addresses: &[u16]) -> String {
    let mut sorted = addresses.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i;
        while j + 1 < sorted.len() && sorted[j + 1] == sorted[j] + 1 {
            j += 1;
        }
        parts.push(if j == i {
            sorted[i].to_string()
        } else {
            format!("{}-{}", sorted[i], sorted[j])
        });
        i = j + 1;
    }
    if parts.is_empty() {
        "-".to_owned()
    } else {
        parts.join(",")
    }
}

/// What a person should act on: cartridges no drive of the library can read, and drives
/// holding a cartridge they cannot read.
fn notes_of(lib: &Library) -> Vec<String> {
    let mut notes = Vec::new();
    let readable = |t| lib.drives.iter().any(|d| d.reads.contains(&t));
    let mut unreadable: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    for e in lib.slots.iter().chain(&lib.import_export) {
        if let Some(t) = e
            .media_type
            .filter(|t| e.full && t.class() != crate::media::MediumClass::Cleaning && !readable(*t))
        {
            unreadable.entry(t.name()).or_default().push(
                e.barcode
                    .clone()
                    .unwrap_or_else(|| format!("at {}", e.address)),
            );
        }
    }
    for (t, carts) in unreadable {
        let shown: Vec<&str> = carts.iter().take(5).map(String::as_str).collect();
        let more = if carts.len() > 5 {
            format!(" and {} more", carts.len() - 5)
        } else {
            String::new()
        };
        notes.push(format!(
            "{} {t} cartridge{} that no drive here can read: {}{more}",
            carts.len(),
            if carts.len() == 1 { "" } else { "s" },
            shown.join(", ")
        ));
    }
    for d in &lib.drives {
        if let Some(t) = d.element.media_type.filter(|t| {
            d.element.full
                && t.class() != crate::media::MediumClass::Cleaning
                && !d.reads.contains(t)
        }) {
            notes.push(format!(
                "drive {} holds {} ({t}), which it cannot read; it reads {}",
                d.element.address,
                d.element.barcode.as_deref().unwrap_or("a cartridge"),
                if d.reads.is_empty() {
                    "no known media type".to_owned()
                } else {
                    d.reads
                        .iter()
                        .map(|t| t.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ));
        }
    }
    notes
}

fn write_library(w: &mut dyn Write, lib: &Library, all: bool) -> io::Result<()> {
    let c = &lib.changer;
    writeln!(
        w,
        "Library {} {} {}  serial {}  ({})",
        c.vendor,
        c.product,
        c.revision,
        or_dash(c.serial.as_deref()),
        c.path
    )?;
    writeln!(w)?;
    writeln!(w, "Element map")?;
    let mut t = Table::new(&["TYPE", "FIRST", "COUNT"]);
    let m = &lib.elements;
    for (name, r) in [
        ("transport", m.transport),
        ("storage", m.storage),
        ("import/export", m.import_export),
        ("data transfer", m.data_transfer),
    ] {
        t.row(vec![name.into(), r.first.to_string(), r.count.to_string()]);
    }
    t.write(w, 2)?;

    writeln!(w)?;
    writeln!(w, "Drives")?;
    let mut t = Table::new(&[
        "ADDRESS",
        "DEVICE",
        "VENDOR",
        "PRODUCT",
        "REVISION",
        "SERIAL",
        "CARTRIDGE",
        "NOTES",
    ]);
    for d in &lib.drives {
        let (path, vendor, product, revision, serial) = match &d.device {
            Some(dev) => (
                dev.path.clone(),
                dev.vendor.clone(),
                dev.product.clone(),
                dev.revision.clone(),
                or_dash(dev.serial.as_deref()),
            ),
            None => (
                "(not found)".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
            ),
        };
        t.row(vec![
            d.element.address.to_string(),
            path,
            vendor,
            product,
            revision,
            serial,
            cartridge(&d.element),
            notes(&d.element),
        ]);
    }
    t.write(w, 2)?;

    writeln!(w)?;
    writeln!(w, "Media types (readable by at least one drive)")?;
    if lib.media_types.is_empty() {
        writeln!(w, "  none known")?;
    } else {
        let mut t = Table::new(&["NAME", "CARTRIDGES", "READ BY", "WRITTEN BY", "ID"]);
        for m in &lib.media_types {
            let by = |f: &dyn Fn(&super::model::DriveSlot) -> bool| {
                let v: Vec<u16> = lib
                    .drives
                    .iter()
                    .filter(|d| f(d))
                    .map(|d| d.element.address)
                    .collect();
                fold_addresses(&v)
            };
            t.row(vec![
                m.name.name().to_owned(),
                m.cartridges.to_string(),
                by(&|d| d.reads.contains(&m.name)),
                by(&|d| d.writes.contains(&m.name)),
                m.id.to_string(),
            ]);
        }
        t.write(w, 2)?;
    }

    let full = lib.slots.iter().filter(|s| s.full).count();
    writeln!(w)?;
    writeln!(w, "Slots ({} slots, {} full)", lib.slots.len(), full)?;
    write_elements(w, &lib.slots, all)?;

    writeln!(w)?;
    if lib.import_export.is_empty() {
        writeln!(w, "Import/export elements: none")?;
    } else {
        writeln!(w, "Import/export elements")?;
        write_elements(w, &lib.import_export, all)?;
    }
    writeln!(w)?;
    writeln!(w, "Transports")?;
    write_elements(w, &lib.transports, all)?;
    let notes = notes_of(lib);
    if !notes.is_empty() {
        writeln!(w)?;
        writeln!(w, "NOTES")?;
        for n in notes {
            writeln!(w, "  {n}")?;
        }
    }
    Ok(())
}

/// Writes the human report of `inv`.
///
/// # Errors
/// When `w` fails.
pub fn write_report(w: &mut dyn Write, inv: &Inventory) -> io::Result<()> {
    write_report_with(w, inv, false)
}

/// Writes the human report of `inv`; `all` prints one line per element instead of folded runs.
///
/// # Errors
/// When `w` fails.
pub fn write_report_with(w: &mut dyn Write, inv: &Inventory, all: bool) -> io::Result<()> {
    if inv.libraries.is_empty() {
        writeln!(w, "No medium changer found.")?;
    }
    for (i, lib) in inv.libraries.iter().enumerate() {
        if i > 0 {
            writeln!(w)?;
        }
        write_library(w, lib, all)?;
    }
    if !inv.unmatched_drives.is_empty() {
        writeln!(w)?;
        writeln!(w, "Drives no changer claims")?;
        let mut t = Table::new(&["DEVICE", "VENDOR", "PRODUCT", "SERIAL"]);
        for d in &inv.unmatched_drives {
            t.row(vec![
                d.path.clone(),
                d.vendor.clone(),
                d.product.clone(),
                or_dash(d.serial.as_deref()),
            ]);
        }
        t.write(w, 2)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(address: u16, barcode: Option<&str>) -> Element {
        Element {
            address,
            full: barcode.is_some(),
            barcode: barcode.map(str::to_owned),
            media_type: barcode.and_then(|b| {
                crate::discovery::cartridge_type(&[crate::media::identity::from_barcode(b)]).0
            }),
            source: None,
            exception: None,
            media_type_conflict: None,
        }
    }

    #[test]
    fn addresses_fold_into_ranges() {
        for (given, want) in [
            (&[][..], "-"),
            (&[500], "500"),
            (&[500, 501], "500-501"),
            (&[503, 500, 501, 502], "500-503"),
            (&[500, 502, 503, 504, 510], "500,502-504,510"),
            (&[65534, 65535, 0], "0,65534-65535"),
        ] {
            assert_eq!(super::fold_addresses(given), want, "{given:?}");
        }
    }

    #[test]
    fn tables_align_and_trim() {
        let mut t = Table::new(&["A", "LONGER"]);
        t.row(vec!["12345".into(), "x".into()]);
        let mut out = Vec::new();
        t.write(&mut out, 1).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            " A      LONGER\n 12345  x\n"
        );
    }

    #[test]
    fn empty_runs_fold_into_ranges() {
        type Case<'a> = (&'a [(u16, Option<&'a str>)], &'a [&'a str]);
        let cases: &[Case<'_>] = &[
            (
                &[
                    (1000, Some("A")),
                    (1001, None),
                    (1002, None),
                    (1003, None),
                    (1004, Some("B")),
                ],
                &["1000 A", "1001-1003 empty (3)", "1004 B"],
            ),
            // A single empty slot stays a line of its own.
            (
                &[(1000, None), (1001, Some("A"))],
                &["1000 empty", "1001 A"],
            ),
            // A gap in addresses breaks a run.
            (
                &[(1, None), (2, None), (5, None), (6, None)],
                &["1-2 empty (2)", "5-6 empty (2)"],
            ),
            // Consecutive labels of one type fold from three on; a break in the series or
            // the type ends the run.
            (
                &[
                    (10, Some("A00009L8")),
                    (11, Some("A00010L8")),
                    (12, Some("A00011L8")),
                    (13, Some("A00013L8")),
                    (14, Some("A00014L8")),
                    (15, Some("A00015L7")),
                    (16, Some("CLN001CU")),
                ],
                &[
                    "10-12 A00009L8..A00011L8 LTO-8 (3)",
                    "13 A00013L8 LTO-8",
                    "14 A00014L8 LTO-8",
                    "15 A00015L7 LTO-7",
                    "16 CLN001CU LTO-CLEANING",
                ],
            ),
        ];
        for (elements, expected) in cases {
            let elements: Vec<Element> = elements.iter().map(|(a, b)| slot(*a, *b)).collect();
            let mut out = Vec::new();
            write_elements(&mut out, &elements, false).unwrap();
            let text = String::from_utf8(out).unwrap();
            let lines: Vec<String> = text
                .lines()
                .skip(1)
                .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
                .collect();
            assert_eq!(lines.len(), expected.len(), "{text}");
            for (l, e) in lines.iter().zip(expected.iter()) {
                assert_eq!(l, e, "{text}");
            }
        }
    }
}
