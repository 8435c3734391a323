//! The state file: cartridge positions, MAM, door and drive states, written atomically (temp
//! file, fsync, rename, fsync of the directory) after every change.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

use reel_hw::hex::Hex;
use serde::{Deserialize, Serialize};

use crate::layout::{ElementKind, Location};
use crate::library::SimError;
use crate::media::Barcode;
use crate::state::{Attr, Cart, State};

const FORMAT: &str = "reel-sim state 1";

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateFile {
    format: String,
    changer_serial: String,
    /// (first, count) of transport, storage, import/export, data transfer.
    elements: [(u16, u16); 4],
    drive_serials: Vec<String>,
    door_open: bool,
    cartridges: Vec<CartState>,
    drives: Vec<DriveFile>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CartState {
    barcode: String,
    location: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    source: Option<u16>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    impexp: bool,
    /// Host attributes: id (4 hex digits) → (format, value in hex).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    mam: BTreeMap<String, (u8, String)>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DriveFile {
    offline: bool,
    loaded: bool,
    loads_since_clean: u32,
    needs_cleaning: bool,
    position: u64,
}

fn identity(st: &State) -> (String, [(u16, u16); 4], Vec<String>) {
    let c = &st.layout().changer;
    let elements = ElementKind::ALL.map(|k| (c.range(k).first, c.range(k).count));
    let serials = st
        .layout()
        .drives
        .iter()
        .map(|d| d.serial.clone())
        .collect();
    (c.serial.clone(), elements, serials)
}

/// A library's identity in words: `changer SIMLIB0001: storage 1000-1023, import/export 10,
/// drives 500-501 (SIMDRV0001, SIMDRV0002)`.
fn describe(serial: &str, elements: &[(u16, u16); 4], drives: &[String]) -> String {
    let mut parts = Vec::new();
    for (kind, (first, count)) in ElementKind::ALL.iter().zip(elements) {
        let name = match kind {
            ElementKind::Transport => "transport",
            ElementKind::Storage => "storage",
            ElementKind::ImportExport => "import/export",
            ElementKind::DataTransfer => "drives",
        };
        let range = match count {
            0 => "none".to_owned(),
            1 => first.to_string(),
            n => format!("{first}-{}", u32::from(*first) + u32::from(*n) - 1),
        };
        parts.push(format!("{name} {range}"));
    }
    let serials = if drives.is_empty() {
        "no drive serials".to_owned()
    } else {
        format!("drive serials {}", drives.join(", "))
    };
    format!("changer {serial}: {}, {serials}", parts.join(", "))
}

/// Writes the state of `st` to `path` atomically.
pub(crate) fn save(st: &State, path: &Path) -> std::io::Result<()> {
    let (changer_serial, elements, drive_serials) = identity(st);
    let mut cartridges = Vec::with_capacity(st.cartridge_count());
    let c = &st.layout().changer;
    for kind in ElementKind::ALL {
        let r = c.range(kind);
        for i in 0..r.count {
            let loc = Location {
                kind,
                address: r.first + i,
            };
            let Some(ci) = st.cart_at(loc) else { continue };
            let cart = st.cart(ci);
            let mam = cart
                .mam
                .iter()
                .map(|(id, a)| {
                    (
                        format!("{id:04x}"),
                        (a.format, format!("{:#}", Hex(&a.value))),
                    )
                })
                .collect();
            cartridges.push(CartState {
                barcode: cart.barcode.to_string(),
                location: loc.to_string(),
                source: cart.source,
                impexp: cart.impexp,
                mam,
            });
        }
    }
    let file = StateFile {
        format: FORMAT.to_owned(),
        changer_serial,
        elements,
        drive_serials,
        door_open: st.door_open(),
        cartridges,
        drives: (0..st.layout().drives.len())
            .map(|i| st.drive(i))
            .map(|d| DriveFile {
                offline: d.offline,
                loaded: d.threaded,
                loads_since_clean: d.loads_since_clean,
                needs_cleaning: d.needs_cleaning,
                position: d.position,
            })
            .collect(),
    };
    let bytes = serde_json::to_vec(&file).map_err(std::io::Error::other)?;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp.{}", std::process::id()));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Replaces the layout's starting state in `st` with the one saved in `path`.
pub(crate) fn load(st: &mut State, path: &Path) -> Result<(), SimError> {
    let file_name = path.display().to_string();
    let text = std::fs::read(path).map_err(|source| SimError::StateIo {
        file: file_name.clone(),
        source,
    })?;
    let bad = |reason: String| SimError::StateMismatch {
        file: file_name.clone(),
        reason,
    };
    let f: StateFile = serde_json::from_slice(&text).map_err(|e| {
        bad(format!(
            "not a reel-sim state file ({e}); remove it to start from the layout"
        ))
    })?;
    if f.format != FORMAT {
        return Err(bad(format!(
            "format \"{}\", this reel-sim writes \"{FORMAT}\"; remove the state file to start from the layout",
            f.format
        )));
    }
    let (serial, elements, drives) = identity(st);
    let layout_file = st.layout().file.clone();
    if f.changer_serial != serial || f.elements != elements || f.drive_serials != drives {
        return Err(bad(format!(
            "written for another library ({}), not for layout {layout_file} ({}); remove the state file or use the layout it was written for",
            describe(&f.changer_serial, &f.elements, &f.drive_serials),
            describe(&serial, &elements, &drives),
        )));
    }
    if f.drives.len() != st.layout().drives.len() {
        return Err(bad("drive count does not match the layout".to_owned()));
    }
    st.clear_cartridges();
    let mut seen = std::collections::HashSet::new();
    for c in &f.cartridges {
        let bc =
            Barcode::new(&c.barcode).map_err(|e| bad(format!("cartridge {:?}: {e}", c.barcode)))?;
        if !seen.insert(bc) {
            return Err(bad(format!("barcode {bc} appears twice")));
        }
        let loc = Location::parse(&c.location).map_err(|e| bad(format!("cartridge {bc}: {e}")))?;
        if !st.exists(loc) || loc.kind == ElementKind::Transport {
            return Err(bad(format!(
                "cartridge {bc} is at {loc}, which is not in the layout"
            )));
        }
        if st.cart_at(loc).is_some() {
            return Err(bad(format!("two cartridges at {loc}")));
        }
        let mut mam = BTreeMap::new();
        for (id, (format, value)) in &c.mam {
            let id = u16::from_str_radix(id, 16)
                .map_err(|_| bad(format!("cartridge {bc}: bad attribute id {id:?}")))?;
            let value = reel_hw::hex::parse(value)
                .ok_or_else(|| bad(format!("cartridge {bc}: bad attribute value")))?;
            mam.insert(
                id,
                Attr {
                    format: *format,
                    value,
                },
            );
        }
        st.add_cart(
            loc,
            Cart {
                barcode: bc,
                medium: bc.medium(),
                source: c.source,
                impexp: c.impexp,
                mam,
            },
        );
    }
    st.set_door_open(f.door_open);
    let now = Instant::now();
    for (i, d) in f.drives.iter().enumerate() {
        let has = st.drive_cart(i).is_some();
        let s = st.drive_mut(i);
        s.offline = d.offline;
        s.threaded = d.loaded && has;
        s.loads_since_clean = d.loads_since_clean;
        s.needs_cleaning = d.needs_cleaning;
        s.position = d.position;
        s.ready_at = now;
    }
    Ok(())
}
