//! Pairing drive devices with the changer's data-transfer elements, as a pure function.
//!
//! Evidence, strongest first:
//! 1. the element's device identifier (DVCID) against the drive's unit serial (VPD 0x80);
//! 2. the DVCID against the drive's VPD 0x83 designators;
//! 3. where the changer gives no DVCID, the drive's own word: VPD 0xB4 (its element address)
//!    with VPD 0xB3 (the library's serial) when the drive reports it.
//!
//! Nothing is guessed: an element two drives claim, or a drive that fits two elements, stays
//! unmatched and the reason is returned as a warning.

/// A device identifier from an element descriptor, or a VPD 0x83 designator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Designator {
    /// Designator type (0 vendor specific, 1 T10 vendor id, 2 EUI-64, 3 NAA, ...).
    pub designator_type: u8,
    /// The designator's bytes.
    pub value: Vec<u8>,
    /// Only the first bytes of the identifier arrived (the changer cut its reply): `value` is a
    /// prefix, matched by [`MatchedBy::SerialPrefix`] alone.
    pub truncated: bool,
}

/// A data-transfer element as the changer reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElementId {
    /// Element address.
    pub address: u16,
    /// The DVCID, when the changer sent one.
    pub dvcid: Option<Designator>,
}

/// What is known of one drive device. Fields are filled as commands are spent: the caller asks
/// the cheap question first and fills more only for the drives still unmatched.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DriveId {
    /// VPD 0x80 unit serial (from enumeration when the source gives it).
    pub serial: Option<String>,
    /// VPD 0x83 designators, once read.
    pub designators: Vec<Designator>,
    /// VPD 0xB4: the drive's data-transfer element address, once read.
    pub element_address: Option<u16>,
    /// VPD 0xB3: the serial of the library the drive sits in, once read.
    pub library_serial: Option<String>,
}

/// Why a drive was paired with an element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchedBy {
    /// DVCID = VPD 0x80 serial.
    Serial,
    /// DVCID = a VPD 0x83 designator.
    Designator,
    /// VPD 0xB4 element address (and VPD 0xB3 library serial when present).
    ElementAddress,
    /// A truncated DVCID is the start of the serial (VPD 0x80, or a T10 vendor ID designator's
    /// serial part) of exactly one drive no complete identifier claimed.
    SerialPrefix,
}

impl MatchedBy {
    /// How the match was made, in words for messages.
    pub fn words(self) -> &'static str {
        match self {
            MatchedBy::Serial => "serial number",
            MatchedBy::Designator => "device identifier",
            MatchedBy::ElementAddress => "element address",
            MatchedBy::SerialPrefix => "serial number prefix",
        }
    }
}

/// The outcome of [`match_drives`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Matching {
    /// For each element (same order as the input): the index of its drive and the evidence.
    pub elements: Vec<Option<(usize, MatchedBy)>>,
    /// Why an element or a drive was left unmatched although evidence pointed somewhere.
    pub ambiguities: Vec<String>,
    /// How a match on weaker evidence than a whole identifier was made.
    pub notes: Vec<String>,
}

impl Matching {
    /// True when drive `index` was paired with some element.
    pub fn claims(&self, index: usize) -> bool {
        self.elements.iter().flatten().any(|(d, _)| *d == index)
    }
}

fn trim(bytes: &[u8]) -> &[u8] {
    let is_pad = |b: &u8| *b == b' ' || *b == 0;
    let start = bytes.iter().position(|b| !is_pad(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !is_pad(b))
        .map_or(start, |e| e + 1);
    &bytes[start..end]
}

/// The serials a DVCID may carry: the whole identifier, and for a T10 vendor identifier
/// (8 vendor + 16 product + serial) the part after the product.
fn dvcid_serials(d: &Designator) -> Vec<&[u8]> {
    let mut out = vec![trim(&d.value)];
    if d.designator_type == 1 && d.value.len() > 24 {
        out.push(trim(&d.value[24..]));
    }
    out.retain(|s| !s.is_empty());
    out
}

fn by_serial(d: &Designator, drive: &DriveId) -> bool {
    let Some(serial) = drive.serial.as_deref() else {
        return false;
    };
    let serial = trim(serial.as_bytes());
    !serial.is_empty() && dvcid_serials(d).contains(&serial)
}

/// The serial part of a truncated DVCID: the whole value (trimmed at the front only; the end
/// is where the cut fell), or for a T10 vendor identifier what arrived after the product.
fn serial_prefix(d: &Designator) -> &[u8] {
    let v = if d.designator_type == 1 {
        d.value.get(24..).unwrap_or_default()
    } else {
        &d.value
    };
    let start = v
        .iter()
        .position(|b| *b != b' ' && *b != 0)
        .unwrap_or(v.len());
    &v[start..]
}

/// The element's DVCID when it arrived whole.
fn whole(e: &ElementId) -> Option<&Designator> {
    e.dvcid.as_ref().filter(|x| !x.truncated)
}

fn by_serial_prefix(d: &Designator, drive: &DriveId) -> bool {
    let prefix = serial_prefix(d);
    let starts = |s: &[u8]| {
        let s = trim(s);
        !prefix.is_empty() && s.len() >= trim(prefix).len() && s.starts_with(trim(prefix))
    };
    drive
        .serial
        .as_deref()
        .is_some_and(|s| starts(s.as_bytes()))
        || drive
            .designators
            .iter()
            .any(|x| x.designator_type == 1 && x.value.len() > 24 && starts(&x.value[24..]))
}

fn by_designator(d: &Designator, drive: &DriveId) -> bool {
    let v = trim(&d.value);
    !v.is_empty()
        && drive
            .designators
            .iter()
            .any(|x| x.designator_type == d.designator_type && trim(&x.value) == v)
}

fn by_address(address: u16, changer_serial: &str, drive: &DriveId) -> bool {
    drive.element_address == Some(address)
        && drive.library_serial.as_deref().map_or(true, |s| {
            trim(s.as_bytes()) == trim(changer_serial.as_bytes())
        })
}

type Rule<'a> = (MatchedBy, &'a dyn Fn(&ElementId, &DriveId) -> bool);

/// Pairs `drives` with `elements` one to one, using the evidence each [`DriveId`] holds.
///
/// An element whose evidence fits several drives, or a drive that fits several elements, is
/// left unmatched with a line in [`Matching::ambiguities`].
pub fn match_drives(elements: &[ElementId], drives: &[DriveId], changer_serial: &str) -> Matching {
    let mut out = Matching {
        elements: vec![None; elements.len()],
        ambiguities: Vec::new(),
        notes: Vec::new(),
    };
    let mut taken = vec![false; drives.len()];
    let rules: [Rule<'_>; 4] = [
        (MatchedBy::Serial, &|e, d| {
            whole(e).is_some_and(|x| by_serial(x, d))
        }),
        (MatchedBy::Designator, &|e, d| {
            whole(e).is_some_and(|x| by_designator(x, d))
        }),
        // After every whole identifier has claimed its drive.
        (MatchedBy::SerialPrefix, &|e, d| {
            e.dvcid
                .as_ref()
                .is_some_and(|x| x.truncated && by_serial_prefix(x, d))
        }),
        (MatchedBy::ElementAddress, &|e, d| {
            e.dvcid.is_none() && by_address(e.address, changer_serial, d)
        }),
    ];
    for (how, fits) in rules {
        // Candidates under this rule among what is still free, both ways round.
        let free_elements: Vec<usize> = (0..elements.len())
            .filter(|&i| out.elements[i].is_none())
            .collect();
        let mut pairs = Vec::new();
        for &e in &free_elements {
            let cands: Vec<usize> = (0..drives.len())
                .filter(|&d| !taken[d] && fits(&elements[e], &drives[d]))
                .collect();
            match cands.as_slice() {
                [] => {}
                [d] => pairs.push((e, *d)),
                many => out.ambiguities.push(format!(
                    "drive element {} fits {} drives by {}; left unmatched",
                    elements[e].address,
                    many.len(),
                    how.words()
                )),
            }
        }
        for (e, d) in pairs {
            let rivals = free_elements
                .iter()
                .filter(|&&o| o != e && fits(&elements[o], &drives[d]))
                .count();
            if rivals > 0 {
                out.ambiguities.push(format!(
                    "drive {} fits {} drive elements by {}; left unmatched",
                    drives[d].serial.as_deref().unwrap_or("(no serial)"),
                    rivals + 1,
                    how.words()
                ));
                continue;
            }
            if how == MatchedBy::SerialPrefix {
                let prefix = elements[e].dvcid.as_ref().map_or(&[][..], serial_prefix);
                out.notes.push(format!(
                    "drive element {}: the changer cut its device identifier short (received \
                     serial {:?}); matched to drive {}, the only drive not claimed by a whole \
                     identifier whose serial starts with it",
                    elements[e].address,
                    String::from_utf8_lossy(trim(prefix)),
                    drives[d].serial.as_deref().unwrap_or("(no serial)"),
                ));
            }
            out.elements[e] = Some((d, how));
            taken[d] = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vs(s: &str) -> Option<Designator> {
        Some(Designator {
            designator_type: 0,
            value: s.as_bytes().to_vec(),
            truncated: false,
        })
    }

    fn t10(vendor: &str, product: &str, serial: &str) -> Designator {
        Designator {
            designator_type: 1,
            value: format!("{vendor:<8}{product:<16}{serial}").into_bytes(),
            truncated: false,
        }
    }

    fn el(address: u16, dvcid: Option<Designator>) -> ElementId {
        ElementId { address, dvcid }
    }

    fn serial(s: &str) -> DriveId {
        DriveId {
            serial: Some(s.into()),
            ..DriveId::default()
        }
    }

    #[test]
    fn case_table() {
        type Case = (
            &'static str,
            Vec<ElementId>,
            Vec<DriveId>,
            Vec<Option<(usize, MatchedBy)>>,
            usize,
        );
        let naa = Designator {
            designator_type: 3,
            value: vec![0x50, 1, 2, 3, 4, 5, 6, 7],
            truncated: false,
        };
        let cases: Vec<Case> = vec![
            (
                "serials, out of order, space padded",
                vec![el(500, vs("SIMDRV0001  ")), el(501, vs("SIMDRV0002"))],
                vec![serial("SIMDRV0002"), serial(" SIMDRV0001")],
                vec![Some((1, MatchedBy::Serial)), Some((0, MatchedBy::Serial))],
                0,
            ),
            (
                "T10 vendor identifier carries the serial after 24 bytes",
                vec![el(256, Some(t10("IBM", "ULT3580-TD8", "1013000123")))],
                vec![serial("1013000123")],
                vec![Some((0, MatchedBy::Serial))],
                0,
            ),
            (
                "NAA designator from VPD 0x83",
                vec![el(500, Some(naa.clone()))],
                vec![
                    serial("X"),
                    DriveId {
                        serial: Some("Y".into()),
                        designators: vec![naa.clone()],
                        ..DriveId::default()
                    },
                ],
                vec![Some((1, MatchedBy::Designator))],
                0,
            ),
            (
                "no DVCID: VPD 0xB4 address with 0xB3 library serial",
                vec![el(500, None), el(501, None)],
                vec![
                    DriveId {
                        element_address: Some(501),
                        library_serial: Some("LIB1".into()),
                        ..serial("A")
                    },
                    DriveId {
                        element_address: Some(500),
                        library_serial: Some("OTHERLIB".into()),
                        ..serial("B")
                    },
                ],
                vec![None, Some((0, MatchedBy::ElementAddress))],
                0,
            ),
            (
                "no evidence: nothing guessed",
                vec![el(500, None)],
                vec![serial("A")],
                vec![None],
                0,
            ),
            (
                "empty bay: DVCID of nothing",
                vec![el(500, vs("")), el(501, vs("B"))],
                vec![serial("B")],
                vec![None, Some((0, MatchedBy::Serial))],
                0,
            ),
            (
                "two drives share a serial (iSCSI): both left unmatched",
                vec![el(500, vs("DUP"))],
                vec![serial("DUP"), serial("DUP")],
                vec![None],
                1,
            ),
            (
                "one drive fits two elements",
                vec![el(500, vs("A")), el(501, vs("A"))],
                vec![serial("A")],
                vec![None, None],
                2,
            ),
        ];
        for (name, elements, drives, expected, ambiguities) in cases {
            let m = match_drives(&elements, &drives, "LIB1");
            assert_eq!(m.elements, expected, "{name}");
            assert_eq!(
                m.ambiguities.len(),
                ambiguities,
                "{name}: {:?}",
                m.ambiguities
            );
        }
    }

    fn cut(d: Designator, keep: usize) -> Option<Designator> {
        Some(Designator {
            value: d.value[..keep].to_vec(),
            truncated: true,
            ..d
        })
    }

    #[test]
    fn a_truncated_identifier_matches_by_serial_prefix_only_when_one_drive_fits() {
        let tgt = |s: &str| t10("IBM", "ULT3580-TD8", s);
        // (name, elements, drives, expected, ambiguities, notes)
        type Case = (
            &'static str,
            Vec<ElementId>,
            Vec<DriveId>,
            Vec<Option<(usize, MatchedBy)>>,
            usize,
            usize,
        );
        let cases: Vec<Case> = vec![
            (
                "tgt: the last of two drives cut to `RE`, the other claimed by a whole id",
                vec![
                    el(500, Some(tgt("REELDRV001"))),
                    el(501, cut(tgt("REELDRV002"), 26)),
                ],
                vec![serial("REELDRV002"), serial("REELDRV001")],
                vec![
                    Some((1, MatchedBy::Serial)),
                    Some((0, MatchedBy::SerialPrefix)),
                ],
                0,
                1,
            ),
            (
                "ambiguous: two unclaimed drives share the prefix",
                vec![el(501, cut(tgt("REELDRV002"), 26))],
                vec![serial("REELDRV001"), serial("REELDRV002")],
                vec![None],
                1,
                0,
            ),
            (
                "a whole identifier is never a prefix match",
                vec![el(500, vs("REEL"))],
                vec![serial("REELDRV001")],
                vec![None],
                0,
                0,
            ),
            (
                "a truncated identifier is never an exact match",
                vec![el(500, cut(tgt("REELDRV001"), 34))],
                vec![serial("REELDRV001")],
                vec![Some((0, MatchedBy::SerialPrefix))],
                0,
                1,
            ),
            (
                "the cut fell before the serial: nothing to compare",
                vec![el(500, cut(tgt("REELDRV001"), 20))],
                vec![serial("REELDRV001")],
                vec![None],
                0,
                0,
            ),
            (
                "the prefix is the start of a T10 designator's serial part",
                vec![el(500, cut(tgt("ABC123"), 27))],
                vec![
                    DriveId {
                        designators: vec![tgt("ABC123")],
                        ..DriveId::default()
                    },
                    serial("XYZ"),
                ],
                vec![Some((0, MatchedBy::SerialPrefix))],
                0,
                1,
            ),
            (
                "no drive starts with the prefix",
                vec![el(500, cut(vs("QTGTD9").unwrap(), 5))],
                vec![serial("REELDRV001")],
                vec![None],
                0,
                0,
            ),
        ];
        for (name, elements, drives, expected, ambiguities, notes) in cases {
            let m = match_drives(&elements, &drives, "LIB1");
            assert_eq!(m.elements, expected, "{name}");
            assert_eq!(
                m.ambiguities.len(),
                ambiguities,
                "{name}: {:?}",
                m.ambiguities
            );
            assert_eq!(m.notes.len(), notes, "{name}: {:?}", m.notes);
        }
        let m = match_drives(
            &[
                el(500, Some(tgt("REELDRV001"))),
                el(501, cut(tgt("REELDRV002"), 26)),
            ],
            &[serial("REELDRV001"), serial("REELDRV002")],
            "LIB1",
        );
        assert_eq!(
            m.notes,
            [
                "drive element 501: the changer cut its device identifier short (received serial \
              \"RE\"); matched to drive REELDRV002, the only drive not claimed by a whole \
              identifier whose serial starts with it"
            ]
        );
    }
}
