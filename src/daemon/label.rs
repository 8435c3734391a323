//! reel's on-media label (rsm-media-and-mounts §9) on the daemon's device thread: written in one
//! unit of work (move the cartridge into a drive that can write its type, wait until loaded,
//! WRITE ATTRIBUTE, unload, move it home), and read from cartridges already in drives when a
//! library registers. The device scheduler takes this over through
//! [`crate::pool::work::MediaWork`].
//!
//! Decisions where the spec is silent: the drive is the lowest-addressed empty drive whose
//! generation writes the type; a cartridge already in a drive is labelled there and stays;
//! after a failed WRITE ATTRIBUTE the cartridge still goes home before the error is reported;
//! a label is reel's when APPLICATION VENDOR (0x0800) is `REEL` and MEDIUM GLOBALLY UNIQUE
//! IDENTIFIER (0x0820) holds a UUID.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use reel_hw::DeviceSource;
use uuid::Uuid;

use crate::discovery::{ElementKind, Inventory, Library, Location, MoveRequest};
use crate::drive::{Drive, Readiness};
use crate::pool::media::{LocationKind, ReelLabel};
use crate::pool::work::{LabelOutcome, LabelRequest};
use crate::scsi::read_attribute::{decode_guid, Attribute, AttributeId, AttributeList};

/// APPLICATION VENDOR of reel's label.
pub const VENDOR: &str = "REEL";

/// How long a drive may take to become ready after the cartridge arrives.
const READY_WITHIN: Duration = Duration::from_secs(120);

/// The attributes of reel's label for `r` (§9), in id order.
pub fn label_attributes(r: &LabelRequest) -> Vec<Attribute> {
    vec![
        Attribute::ascii(AttributeId::APPLICATION_VENDOR, VENDOR, 8),
        Attribute::ascii(AttributeId::APPLICATION_NAME, "reel", 32),
        Attribute::ascii(
            AttributeId::APPLICATION_VERSION,
            env!("CARGO_PKG_VERSION"),
            8,
        ),
        Attribute::barcode(r.barcode.as_deref().unwrap_or("")),
        Attribute::media_pool(&r.pool_name),
        Attribute::binary(
            AttributeId::MEDIUM_GUID,
            r.medium.hyphenated().to_string().into_bytes(),
        ),
        Attribute::media_pool_guid(r.pool),
    ]
}

/// reel's label in a cartridge's attributes, if it carries one.
pub fn reel_label(attrs: &AttributeList) -> Option<ReelLabel> {
    let vendor = attrs.get(AttributeId::APPLICATION_VENDOR)?.as_ascii();
    if vendor != VENDOR {
        return None;
    }
    let medium = decode_guid(&attrs.get(AttributeId::MEDIUM_GUID)?.value)?;
    let pool = attrs
        .get(AttributeId::MEDIA_POOL_GUID)
        .and_then(|a| decode_guid(&a.value))
        .unwrap_or(Uuid::nil());
    Some(ReelLabel { medium, pool })
}

fn element(kind: LocationKind) -> Option<ElementKind> {
    Some(match kind {
        LocationKind::Slot => ElementKind::Slot,
        LocationKind::Drive => ElementKind::Drive,
        LocationKind::Ie => ElementKind::ImportExport,
        LocationKind::Transport => ElementKind::Transport,
        LocationKind::Offline => return None,
    })
}

fn moved<S: DeviceSource>(
    source: &mut S,
    serial: &str,
    from: Location,
    to: Location,
) -> Result<(), String> {
    crate::discovery::move_cartridge(
        source,
        &MoveRequest {
            from,
            to,
            changer: Some(serial.to_owned()),
            only: None,
        },
    )
    .map(drop)
    .map_err(|e| format!("moving {from} to {to} in library {serial}: {e}"))
}

/// Writes reel's label into the cartridge `r` names, as one unit of work, and leaves the
/// cartridge in its home slot (or where it was). `Unsupported` when the drive refuses
/// ATTRIBUTE commands.
///
/// # Errors
/// An operator-readable message: no library of that serial, no empty drive that writes the
/// type, a move, the drive or the write failed.
pub fn write_label<S: DeviceSource>(
    source: &mut S,
    inventory: &Inventory,
    r: &LabelRequest,
) -> Result<LabelOutcome, String> {
    let lib = inventory
        .library(&r.library)
        .ok_or_else(|| format!("library {} is not in the daemon's inventory", r.library))?;
    let kind = element(r.kind).ok_or_else(|| "the cartridge is offline".to_owned())?;
    let from = Location {
        kind,
        address: r.address,
    };
    let in_drive = r.kind == LocationKind::Drive;
    let drive = if in_drive {
        lib.drives.iter().find(|d| d.element.address == r.address)
    } else {
        lib.drives
            .iter()
            .filter(|d| !d.element.full && d.device.is_some() && d.writes.contains(&r.media_type))
            .min_by_key(|d| d.element.address)
    }
    .ok_or_else(|| {
        format!(
            "library {} has no empty drive that writes {}: free one, or add one",
            r.library,
            r.media_type.name()
        )
    })?;
    let path = drive
        .device
        .as_ref()
        .map(|d| d.path.clone())
        .ok_or_else(|| {
            format!(
                "drive element {} has no known device",
                drive.element.address
            )
        })?;
    let at = Location {
        kind: ElementKind::Drive,
        address: drive.element.address,
    };
    if !in_drive {
        moved(source, &r.library, from, at)?;
    }
    let written = label_in_drive(source, &path, r);
    if !in_drive {
        let home = Location {
            kind: ElementKind::Slot,
            address: r.home.unwrap_or(r.address),
        };
        let back = if r.home.is_some() { home } else { from };
        moved(source, &r.library, at, back)?;
    }
    written
}

fn label_in_drive<S: DeviceSource>(
    source: &mut S,
    path: &str,
    r: &LabelRequest,
) -> Result<LabelOutcome, String> {
    let t = source
        .open(path)
        .map_err(|e| format!("opening drive {path}: {e}"))?;
    let mut drive = Drive::new(t);
    let deadline = Instant::now() + READY_WITHIN;
    loop {
        match drive.readiness().map_err(|e| e.to_string())? {
            Readiness::Ready => break,
            Readiness::BecomingReady | Readiness::NoMedium if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50));
            }
            other => {
                return Err(format!(
                    "drive {path} did not become ready for the label: {other}"
                ))
            }
        }
    }
    match drive.write_mam(&label_attributes(r)) {
        Ok(()) => Ok(LabelOutcome::Written),
        Err(e) if e.is_unsupported() => Ok(LabelOutcome::Unsupported),
        Err(e) => Err(format!("writing the label in {path}: {e}")),
    }
}

/// reel's labels of the cartridges sitting in `lib`'s drives, by drive element address.
/// A drive that cannot read attributes costs nothing but its label.
pub fn read_labels<S: DeviceSource>(source: &mut S, lib: &Library) -> HashMap<u16, ReelLabel> {
    let mut found = HashMap::new();
    for d in lib.drives.iter().filter(|d| d.element.full) {
        let Some(dev) = &d.device else { continue };
        let Ok(t) = source.open(&dev.path) else {
            continue;
        };
        let mut drive = Drive::new(t);
        if let Ok(Some(mam)) = drive.read_mam() {
            if let Some(l) = reel_label(&mam.attributes) {
                found.insert(d.element.address, l);
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::MediaType;

    #[test]
    fn the_label_round_trips_through_the_attribute_list() {
        let r = LabelRequest {
            library: "L".into(),
            kind: LocationKind::Slot,
            address: 1000,
            home: Some(1000),
            barcode: Some("ABC001L8".into()),
            media_type: MediaType::Lto8,
            medium: Uuid::new_v4(),
            pool: Uuid::new_v4(),
            pool_name: "\\Free\\LTO-8".into(),
        };
        let attrs = label_attributes(&r);
        let ids: Vec<u16> = attrs.iter().map(|a| a.id.0).collect();
        assert_eq!(
            ids,
            [0x0800, 0x0801, 0x0802, 0x0806, 0x0808, 0x0820, 0x0821]
        );
        for a in &attrs {
            let (_, len) = a.id.standard_format().unwrap_or((a.format, 36));
            assert_eq!(a.value.len(), usize::from(len), "{:?}", a.id);
        }
        let list = AttributeList {
            attributes: attrs,
            truncated: false,
        };
        assert_eq!(
            reel_label(&list),
            Some(ReelLabel {
                medium: r.medium,
                pool: r.pool
            })
        );
        // Another application's label is not reel's.
        let mut other = list.clone();
        other.attributes[0] = Attribute::ascii(AttributeId::APPLICATION_VENDOR, "BACULA", 8);
        assert_eq!(reel_label(&other), None);
    }

    const LAYOUT: &str = r#"
[changer]
vendor = "REELSIM"
product = "T"
revision = "1"
serial = "LBL0001"
barcode_reader = true
transport     = { first = 1,    count = 1 }
storage       = { first = 1000, count = 4 }
import_export = { first = 10,   count = 1 }
data_transfer = { first = 500,  count = 2 }

[[drive]]
serial     = "LBLDRV1"
generation = "LTO-7"

[[drive]]
serial     = "LBLDRV2"
generation = "LTO-8"

[[cartridge]]
barcode  = "LBL001L8"
location = "slot:1000"
"#;

    fn request(inv: &Inventory, medium: Uuid, pool: Uuid) -> LabelRequest {
        LabelRequest {
            library: inv.libraries[0].serial().to_owned(),
            kind: LocationKind::Slot,
            address: 1000,
            home: Some(1000),
            barcode: Some("LBL001L8".into()),
            media_type: MediaType::Lto8,
            medium,
            pool,
            pool_name: "\\Free\\LTO-8".into(),
        }
    }

    fn sim(extra: &str) -> (reel_sim::SimLibrary, Inventory) {
        let layout = reel_sim::Layout::parse(&format!("{LAYOUT}{extra}"), "t.toml").unwrap();
        let library = reel_sim::SimLibrary::new(layout);
        let inv = crate::discovery::discover(&mut library.source(), &Default::default()).unwrap();
        (library, inv)
    }

    #[test]
    fn a_label_is_written_in_one_unit_of_work_and_read_back() {
        let (library, inv) = sim("");
        let (medium, pool) = (Uuid::new_v4(), Uuid::new_v4());
        let r = request(&inv, medium, pool);
        let mut source = library.source();
        assert_eq!(
            write_label(&mut source, &inv, &r),
            Ok(LabelOutcome::Written)
        );
        // Home again, and the drives are empty.
        let after = crate::discovery::discover(&mut library.source(), &Default::default()).unwrap();
        let lib = &after.libraries[0];
        assert_eq!(lib.slots[0].barcode.as_deref(), Some("LBL001L8"));
        assert!(lib.drives.iter().all(|d| !d.element.full));
        // Into the LTO-8 drive (500 is LTO-7 and cannot write it): reel's label is there.
        crate::discovery::move_cartridge(
            &mut source,
            &MoveRequest {
                from: Location {
                    kind: ElementKind::Slot,
                    address: 1000,
                },
                to: Location {
                    kind: ElementKind::Drive,
                    address: 501,
                },
                changer: None,
                only: None,
            },
        )
        .unwrap();
        let now = crate::discovery::discover(&mut library.source(), &Default::default()).unwrap();
        let labels = read_labels(&mut source, &now.libraries[0]);
        assert_eq!(labels.get(&501), Some(&ReelLabel { medium, pool }));
    }

    #[test]
    fn a_drive_that_refuses_attribute_commands_gives_a_barcode_label() {
        let (library, inv) =
            sim("\n[[fault]]\ncommand = \"WRITE ATTRIBUTE\"\ntimes = 5\nsense = \"5/20/00\"\n");
        let r = request(&inv, Uuid::new_v4(), Uuid::new_v4());
        let mut source = library.source();
        assert_eq!(
            write_label(&mut source, &inv, &r),
            Ok(LabelOutcome::Unsupported)
        );
        let after = crate::discovery::discover(&mut library.source(), &Default::default()).unwrap();
        assert_eq!(
            after.libraries[0].slots[0].barcode.as_deref(),
            Some("LBL001L8")
        );
    }

    #[test]
    fn a_failing_write_still_sends_the_cartridge_home() {
        let (library, inv) =
            sim("\n[[fault]]\ncommand = \"WRITE ATTRIBUTE\"\ntimes = 5\nsense = \"3/31/00\"\n");
        let r = request(&inv, Uuid::new_v4(), Uuid::new_v4());
        let mut source = library.source();
        let e = write_label(&mut source, &inv, &r).unwrap_err();
        assert!(e.contains("writing the label"), "{e}");
        let after = crate::discovery::discover(&mut library.source(), &Default::default()).unwrap();
        assert_eq!(
            after.libraries[0].slots[0].barcode.as_deref(),
            Some("LBL001L8")
        );
        // No drive that writes the type: nothing moves.
        let r = LabelRequest {
            media_type: MediaType::Lto9,
            ..r
        };
        let e = write_label(&mut source, &inv, &r).unwrap_err();
        assert!(e.contains("no empty drive that writes LTO-9"), "{e}");
    }
}
