//! The library's contents as the operator panel (and `reel-sim ctl status`) shows them.

use serde::{Deserialize, Serialize};

use crate::layout::{ElementKind, Location};
use crate::state::State;

/// One element and what is in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ElementStatus {
    /// `slot:1000`, `ie:10`, `drive:500`.
    pub location: String,
    /// The cartridge's barcode, when full.
    pub barcode: Option<String>,
}

/// One drive's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriveStatus {
    /// Element address.
    pub address: u16,
    /// VPD serial.
    pub serial: String,
    /// `LTO-8`.
    pub generation: String,
    /// False for an empty bay.
    pub present: bool,
    /// Taken offline by the operator.
    pub offline: bool,
    /// The cartridge in it, if any.
    pub barcode: Option<String>,
    /// The tape is threaded.
    pub loaded: bool,
    /// TapeAlert clean-now is raised.
    pub needs_cleaning: bool,
}

/// The whole library.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LibraryStatus {
    /// Changer serial.
    pub serial: String,
    /// The import/export door is open.
    pub door_open: bool,
    /// Hosts hold PREVENT MEDIUM REMOVAL.
    pub removal_prevented: bool,
    /// Number of cartridges in the library.
    pub cartridges: usize,
    /// Storage slots, full and empty.
    pub slots: Vec<ElementStatus>,
    /// Import/export elements.
    pub import_export: Vec<ElementStatus>,
    /// Drives.
    pub drives: Vec<DriveStatus>,
}

impl LibraryStatus {
    pub(crate) fn of(st: &State) -> LibraryStatus {
        let c = &st.layout().changer;
        let list = |kind: ElementKind| -> Vec<ElementStatus> {
            let r = c.range(kind);
            (0..r.count)
                .map(|i| {
                    let loc = Location {
                        kind,
                        address: r.first + i,
                    };
                    ElementStatus {
                        location: loc.to_string(),
                        barcode: st.cart_at(loc).map(|x| st.cart(x).barcode.to_string()),
                    }
                })
                .collect()
        };
        let drives = st
            .layout()
            .drives
            .iter()
            .enumerate()
            .map(|(i, d)| DriveStatus {
                address: st.drive_address(i),
                serial: d.serial.clone(),
                generation: d.generation.to_string(),
                present: d.present,
                offline: st.drive(i).offline,
                barcode: st.drive_cart(i).map(|x| st.cart(x).barcode.to_string()),
                loaded: st.drive(i).threaded,
                needs_cleaning: st.drive(i).needs_cleaning,
            })
            .collect();
        LibraryStatus {
            serial: c.serial.clone(),
            door_open: st.door_open(),
            removal_prevented: st.removal_prevented(),
            cartridges: st.cartridge_count(),
            slots: list(ElementKind::Storage),
            import_export: list(ElementKind::ImportExport),
            drives,
        }
    }

    /// A human-readable listing: one line per element.
    pub fn to_text(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "library {}: {} cartridges, door {}{}",
            self.serial,
            self.cartridges,
            if self.door_open { "open" } else { "closed" },
            if self.removal_prevented {
                ", removal prevented"
            } else {
                ""
            }
        );
        for d in &self.drives {
            let state = if !d.present {
                "empty bay".to_owned()
            } else if d.offline {
                "offline".to_owned()
            } else {
                let mut st = match &d.barcode {
                    Some(b) if d.loaded => format!("{b} (loaded)"),
                    Some(b) => format!("{b} (unloaded)"),
                    None => "empty".to_owned(),
                };
                if d.needs_cleaning {
                    st.push_str(", needs cleaning");
                }
                st
            };
            let _ = writeln!(
                s,
                "drive:{:<6} {:<6} {:<12} {state}",
                d.address, d.generation, d.serial
            );
        }
        for e in self.import_export.iter().chain(&self.slots) {
            let _ = writeln!(
                s,
                "{:<12} {}",
                e.location,
                e.barcode.as_deref().unwrap_or("-")
            );
        }
        s
    }
}
