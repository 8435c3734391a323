//! Property tests across every reply parser: any byte string gives a value or an error, never a
//! panic; and READ ELEMENT STATUS replies built from random elements parse back exactly, and
//! parse to an exact prefix when cut anywhere.

use proptest::collection::vec;
use proptest::prelude::*;

use super::inquiry;
use super::mode_sense::{self, Form};
use super::read_element_status::testutil::{page_with, report, D};
use super::read_element_status::{self as res, ElementType, MediumType, VolumeTag};
use super::request_sense;

fn every_parser(bytes: &[u8]) {
    let _ = inquiry::parse_standard(bytes);
    for p in [0x00, 0x80, 0x83, 0xB3, 0xB4] {
        let _ = inquiry::parse_vpd(bytes, p);
    }
    let _ = inquiry::parse_supported_pages(bytes);
    let _ = inquiry::parse_unit_serial(bytes);
    if let Ok(ds) = inquiry::parse_device_identification(bytes) {
        for d in ds {
            let _ = (d.serial(), d.text());
        }
    }
    let _ = inquiry::parse_automation_serial(bytes);
    let _ = inquiry::parse_element_address(bytes);
    for form in [Form::Six, Form::Ten] {
        let _ = mode_sense::parse(bytes, form);
        let _ = mode_sense::parse_element_address_assignment(bytes, form);
        let _ = mode_sense::parse_device_capabilities(bytes, form);
    }
    let _ = mode_sense::ElementAddressAssignment::from_page(bytes);
    let _ = mode_sense::DeviceCapabilities::from_page(bytes);
    let _ = mode_sense::transport_geometry(bytes);
    let _ = request_sense::parse(bytes);
    if let Ok(s) = res::parse(bytes) {
        for d in s.descriptors() {
            let _ = d.device_id.as_ref().map(|i| i.serial());
        }
    }
}

/// A descriptor layout: (descriptor length, PVOLTAG, AVOLTAG, tag field length, DVCID).
const LAYOUTS: &[(usize, bool, bool, usize, bool)] = &[
    (16, false, false, 36, false),
    (50, false, false, 36, true),
    (52, true, false, 36, false),
    (84, true, false, 36, true),
    (84, true, true, 36, false),
    (44, true, false, 32, false),
    (84, true, false, 32, true),
];

fn element() -> impl Strategy<Value = D> {
    (
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
        any::<u16>(),
        proptest::option::of("[A-Z0-9]{1,32}"),
        proptest::option::of("[A-Z0-9]{1,12}"),
    )
        .prop_map(|(flags, asc, b9, source, tag, serial)| D {
            address: 0,
            flags,
            asc,
            ascq: asc.wrapping_mul(7),
            b9,
            source,
            primary: tag,
            alternate: None,
            dvcid: serial.map(|s| (2, 0, s.into_bytes())),
        })
}

proptest! {
    #[test]
    fn no_parser_panics_on_any_bytes(bytes in vec(any::<u8>(), 0..700)) {
        every_parser(&bytes);
    }

    #[test]
    fn no_parser_panics_on_bytes_with_plausible_lengths(
        head in vec(any::<u8>(), 8),
        tail in vec(any::<u8>(), 0..300),
    ) {
        // Lengths that agree with the data reach deeper into the parsers than random ones.
        let mut b = head.clone();
        b.extend(&tail);
        let n = tail.len();
        b[0] = (n + 7).min(255) as u8; // MODE SENSE(6) length
        b[3] = (n as u8) & 0x0F;        // VPD page length low byte / block descriptor length
        every_parser(&b);
        b[0..2].copy_from_slice(&((n + 6) as u16).to_be_bytes());
        b[5..8].copy_from_slice(&(n as u32).to_be_bytes()[1..]);
        every_parser(&b);
    }

    #[test]
    fn element_status_round_trips_and_every_cut_keeps_whole_descriptors_and_a_cut_identifier(
        layout in 0..LAYOUTS.len(),
        first in 0u16..0xF000,
        ds in vec(element(), 1..8),
        ty in 1u8..=4,
    ) {
        let (len, pvoltag, avoltag, tag_len, dvcid) = LAYOUTS[layout];
        let ty = ElementType(ty);
        let ds: Vec<D> = ds
            .into_iter()
            .enumerate()
            .map(|(i, mut d)| {
                d.address = first + i as u16;
                d.alternate = d.primary.clone().filter(|_| avoltag);
                d.primary = d.primary.filter(|_| pvoltag);
                d.dvcid = d.dvcid.filter(|_| dvcid);
                if dvcid && tag_len == 32 && d.dvcid.is_none() {
                    // A 32-byte tag followed by nothing but zeros cannot be told from a
                    // 36-byte one; a changer with that quirk sends the identifier header.
                    d.dvcid = Some((2, 0, b"X".to_vec()));
                }
                d
            })
            .collect();
        let bytes = report(first, ds.len() as u16, &[page_with(ty, pvoltag, avoltag, len, tag_len, &ds)]);
        let want: Vec<_> = ds
            .iter()
            .map(|d| {
                let tag = |t: &Option<String>| t.as_ref().map(|id| VolumeTag {
                    identifier: id.clone(),
                    sequence: (tag_len == 36).then_some(1),
                });
                (
                    d.address,
                    d.flags & 0x3F,
                    d.asc,
                    d.ascq,
                    MediumType(d.b9 & 7),
                    (d.b9 & 0x80 != 0).then_some(d.source),
                    d.b9 & 0x48,
                    tag(&d.primary),
                    tag(&d.alternate),
                    d.dvcid.as_ref().map(|(_, _, v)| v.clone()),
                )
            })
            .collect();
        let got = |s: &res::ElementStatus| -> Vec<_> {
            s.descriptors()
                .map(|e| (
                    e.address,
                    u8::from(e.full)
                        | u8::from(e.impexp) << 1
                        | u8::from(e.except) << 2
                        | u8::from(e.access) << 3
                        | u8::from(e.export_enabled) << 4
                        | u8::from(e.import_enabled) << 5,
                    e.asc,
                    e.ascq,
                    e.medium_type,
                    e.source,
                    u8::from(e.invert) << 6 | u8::from(e.disabled) << 3,
                    e.primary_tag.clone(),
                    e.alternate_tag.clone(),
                    e.device_id.as_ref().map(|i| i.value.clone()),
                ))
                .collect()
        };
        let s = res::parse(&bytes).unwrap();
        prop_assert!(!s.incomplete);
        prop_assert!(s.descriptors().all(|e| e.element_type == ty));
        prop_assert_eq!(got(&s), want.clone());
        for cut in 0..bytes.len() {
            match res::parse(&bytes[..cut]) {
                Err(_) => prop_assert!(cut < 8, "cut {} errs", cut),
                Ok(s) => {
                    let k = cut.saturating_sub(16) / len;
                    prop_assert!(s.incomplete, "cut {}", cut);
                    let mut all = got(&s);
                    // A last descriptor cut after its fixed part and tags is kept, marked, with
                    // what arrived of its identifier.
                    let partial = s.descriptors().nth(k).map(|e| e.dvcid_truncated);
                    let tag_cut = s.descriptors().nth(k).is_some_and(|e| e.tag_truncated);
                    prop_assert!(s.descriptors().take(k).all(|e| !e.truncated()), "cut {}", cut);
                    let tags = usize::from(pvoltag) + usize::from(avoltag);
                    let got_bytes = cut.saturating_sub(16 + k * len);
                    // Only the last descriptor the page announced may be kept cut in a tag.
                    prop_assert!(!tag_cut || k + 1 == ds.len(), "cut {}", cut);
                    if tag_cut {
                        // Cut inside a tag: the fixed part whole; each tag's identifier kept
                        // exactly when pad bytes after it (or all 32 bytes) arrived.
                        prop_assert!(!partial.unwrap(), "cut {}", cut);
                        // (A 32-byte tag whose identifier header is cut reads as a cut tag.)
                        prop_assert!((12..12 + tags * 36).contains(&got_bytes), "cut {}", cut);
                        let p = all.pop().unwrap();
                        let w = &want[k];
                        prop_assert_eq!(
                            (p.0, p.1, p.2, p.3, p.4, p.5, p.6),
                            (w.0, w.1, w.2, w.3, w.4, w.5, w.6),
                            "cut {}", cut
                        );
                        prop_assert_eq!(&p.9, &None, "cut {}", cut);
                        let field = if 12 + 36 * tags <= len { 36 } else { 32 };
                        for (i, (g, w)) in [(&p.7, &w.7), (&p.8, &w.8)].into_iter().enumerate() {
                            let arrived = got_bytes.saturating_sub(12 + i * field).min(32);
                            let want_id = w.as_ref().map(|t| t.identifier.as_str());
                            let got_id = g.as_ref().map(|t| t.identifier.as_str());
                            let known = want_id.is_some_and(|id| arrived > id.len() || arrived == 32);
                            prop_assert_eq!(got_id, want_id.filter(|_| known), "cut {} tag {}", cut, i);
                        }
                    } else if partial == Some(true) {
                        prop_assert!(cut - 16 - k * len >= 12 + tags * tag_len, "cut {}", cut);
                        let mut p = all.pop().unwrap();
                        let id = p.9.take().unwrap_or_default();
                        let whole = want[k].9.clone().unwrap_or_default();
                        prop_assert!(whole.starts_with(&id), "cut {}: {:?}", cut, id);
                        let mut w = want[k].clone();
                        w.9 = None;
                        prop_assert_eq!(p, w, "cut {}", cut);
                    }
                    prop_assert_eq!(all.len(), k, "cut {}", cut);
                    prop_assert_eq!(all, want[..k].to_vec(), "cut {}", cut);
                }
            }
        }
    }
}
