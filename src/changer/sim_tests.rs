//! The changer driver against the simulator (the second Transport implementation), once per
//! quirk the simulator can play: every element read, barcodes and drive serials where the
//! device gives them, moves and their sense.

use reel_hw::DeviceSource;
use reel_sim::{Layout, SimLibrary};

use super::*;

/// A library of 30 slots (cartridges A00000L8.. in 1002..1021), 2 mail slots, 2 drives (one
/// loaded with ABC001L8), with `quirks` as the [quirks] table.
fn library(barcode_reader: bool, quirks: &str) -> SimLibrary {
    let text = format!(
        r#"
[changer]
serial = "SIMLIB0001"
barcode_reader = {barcode_reader}
transport     = {{ first = 1,    count = 1 }}
storage       = {{ first = 1000, count = 30 }}
import_export = {{ first = 10,   count = 2 }}
data_transfer = {{ first = 500,  count = 2 }}

[[drive]]
vendor = "IBM"
product = "ULT3580-HH8"
revision = "M3G0"
serial = "SIMDRV0001"
generation = "LTO-8"

[[drive]]
vendor = "IBM"
product = "ULT3580-HH8"
revision = "M3G0"
serial = "SIMDRV0002"
generation = "LTO-8"

[[cartridge]]
barcode = "ABC001L8"
location = "drive:500"

[[cartridges]]
first_barcode = "A00000L8"
count = 20
first_location = "slot:1002"

[quirks]
{quirks}
"#
    );
    SimLibrary::new(Layout::parse(&text, "sim_tests.toml").expect("layout"))
}

#[test]
fn reads_and_moves_on_every_simulated_quirk() {
    // (name, barcode reader, [quirks], max allocation length, expected learned quirks)
    type Case = (&'static str, bool, &'static str, u32, Quirks);
    let learned = |barcode: bool, combined: bool| Quirks {
        barcode_reader: Some(barcode),
        dvcid_with_voltag: barcode.then_some(combined),
        dvcid: Some(true),
        mode_sense_10: Some(false),
    };
    let cases: &[Case] = &[
        ("plain", true, "", 0xFFFF, learned(true, true)),
        ("small allocation", true, "", 200, learned(true, true)),
        (
            "VOLTAG+DVCID refused",
            true,
            "dvcid_with_voltag_rejected = true\ndvcid_on_non_drive_rejected = true",
            0xFFFF,
            learned(true, false),
        ),
        ("no barcode reader", false, "", 0xFFFF, learned(false, true)),
        (
            "count ignored",
            true,
            "ignore_element_count = true",
            300,
            learned(true, true),
        ),
        (
            "32-byte tags",
            true,
            "volume_tag_length = 32",
            0xFFFF,
            learned(true, true),
        ),
        (
            "reply cut at 500",
            true,
            "max_allocation_length = 500",
            0xFFFF,
            learned(true, true),
        ),
        (
            "16-bit allocation",
            true,
            "allocation_length_16bit = true",
            0xFFFF,
            learned(true, true),
        ),
        (
            "becoming ready",
            true,
            "not_ready_on_start_ms = 30",
            0xFFFF,
            learned(true, true),
        ),
    ];
    for &(name, barcode, quirks, max_alloc, ref want_quirks) in cases {
        let lib = library(barcode, quirks);
        let t = lib.source().open("sim:changer").expect("open");
        let config = ChangerConfig {
            max_allocation_length: max_alloc,
            retry: RetryPolicy {
                ready_poll: Duration::from_millis(5),
                ready_wait: Duration::from_secs(5),
                ..RetryPolicy::default()
            },
            ..ChangerConfig::default()
        };
        let mut c = Changer::with_config(t, config);

        let id = c.identify().unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            id.inquiry.peripheral_type,
            PeripheralType::MEDIUM_CHANGER,
            "{name}"
        );
        assert_eq!(id.serial.as_deref(), Some("SIMLIB0001"), "{name}");
        let map = c.element_map().unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(map.storage, ElementRange::new(1000, 30), "{name}");
        assert_eq!(map.data_transfer, ElementRange::new(500, 2), "{name}");

        let s = c
            .status(&map, true)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(s.transports.len(), 1, "{name}");
        assert_eq!(
            s.storage.iter().map(|d| d.address).collect::<Vec<_>>(),
            (1000..1030).collect::<Vec<_>>(),
            "{name}"
        );
        assert_eq!(s.import_export.len(), 2, "{name}");
        let full: Vec<u16> = s
            .storage
            .iter()
            .filter(|d| d.full)
            .map(|d| d.address)
            .collect();
        assert_eq!(full, (1002..1022).collect::<Vec<_>>(), "{name}");
        let tag = |a: u16| {
            s.get(a)
                .and_then(|d| d.primary_tag.as_ref())
                .map(|t| t.identifier.clone())
        };
        let drive = &s.data_transfer[0];
        assert!(drive.full, "{name}");
        let serials: Vec<Option<String>> = s
            .data_transfer
            .iter()
            .map(|d| d.device_id.as_ref().and_then(|i| i.serial()))
            .collect();
        assert_eq!(
            serials,
            [Some("SIMDRV0001".into()), Some("SIMDRV0002".into())],
            "{name}"
        );
        if barcode {
            assert_eq!(tag(1002).as_deref(), Some("A00000L8"), "{name}");
            assert_eq!(tag(1021).as_deref(), Some("A00019L8"), "{name}");
            assert_eq!(tag(500).as_deref(), Some("ABC001L8"), "{name}");
        } else {
            assert!(s.all().all(|d| d.primary_tag.is_none()), "{name}");
        }
        assert_eq!(&c.quirks(), want_quirks, "{name}");

        // Moves: good, source empty, destination full, a threaded drive holds its tape.
        c.move_medium(1, 1002, 501, false)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let cases = [
            ((1002, 1003), (0x3B, 0x0E)),
            ((501, 1003), (0x3B, 0x0D)),
            ((501, 1000), (0x53, 0x02)),
        ];
        for ((src, dst), (asc, ascq)) in cases {
            let e = c.move_medium(1, src, dst, false).unwrap_err();
            assert!(
                e.is_sense(SenseKey::ILLEGAL_REQUEST, asc, ascq),
                "{name}: {e}"
            );
            assert_eq!(e.device(), "sim:changer");
        }
        c.move_medium(1, 1003, 1000, false)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let s = c
            .status(&map, true)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            s.get(1000).unwrap().full && !s.get(1003).unwrap().full,
            "{name}"
        );
        assert!(s.get(501).unwrap().full, "{name}");
        c.initialize_element_status()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        c.prevent_allow(true)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        c.prevent_allow(false)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        // The power-on unit attention was retried and reported, not returned.
        assert!(
            c.take_events()
                .iter()
                .any(|e| matches!(e, Event::InventoryMayHaveChanged(s) if s.asc == 0x29)),
            "{name}"
        );
    }
}
