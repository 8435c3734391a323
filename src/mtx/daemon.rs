//! The mtx front through `reel serve` (mtx-front.md §1): when the daemon owns the changer, its
//! commands are carried out by the daemon — queued with its mounts on the one picker and
//! reflected at once in its inventory — instead of going to the device beside it.
//!
//! - Ownership: the daemon's socket (`$REEL_SOCKET`, else `/run/reel/reel.sock`) answers, and
//!   its `library` document lists a changer whose device path is DEV's (links resolved) or
//!   whose serial is DEV's (a node's serial from sysfs, a layout's, a served simulator's).
//! - The status is the daemon's view: its inventory, and its record of each loaded
//!   cartridge's source element. Volume tags print as the daemon holds them, without the
//!   changer's padding [design].
//! - Moves are the daemon's `move_element` call (it unloads a drive first when its device is
//!   known). A refusal carries the device's sense when there was one, so mtx's words and its
//!   request-sense block come out as on the device path.
//! - `exchange` and `position` are the daemon's `exchange_element` and `position_element`
//!   calls, carried out on its picker and (for the exchange) recorded in its inventory.
//! - What the daemon does not carry is refused, never done behind its back [design]:
//!   `eject` (reported on stderr, exit status 0 as mtx's eject always has, §4) and
//!   `invert`/`eepos` moves and exchanges fail with a message that says so; `inventory` asks
//!   the daemon to read the library again (`library` with `rescan`).

use std::path::{Path, PathBuf};

use reel_hw::sense::{Sense, SenseKey};
use reel_hw::DeviceSource;
use serde_json::{json, Value};

use super::library::{Exchange, Inquiry, Library, LibraryError, Move, ViewError};
use super::view::View;
use crate::changer::LibraryStatus;
use crate::daemon::wire::{Call, Status};
use crate::daemon::Client;
use crate::scsi::read_element_status::{ElementDescriptor, ElementType, MediumType};

/// The daemon's socket when `$REEL_SOCKET` is not set.
pub const DEFAULT_SOCKET: &str = "/run/reel/reel.sock";

/// How DEV identifies its changer: the device path (links resolved) and the serial, when
/// either is known without sending the changer a command.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// The device path.
    pub path: Option<String>,
    /// The changer's serial.
    pub serial: Option<String>,
}

/// The identity of a `/dev/sg*` node, from sysfs (no command sent).
pub fn node_identity(real_path: &str) -> Identity {
    let serial = reel_hw::linux::SgSource::new()
        .devices()
        .ok()
        .and_then(|d| d.into_iter().find(|d| d.path == real_path))
        .and_then(|d| d.serial);
    Identity {
        path: Some(real_path.to_owned()),
        serial,
    }
}

/// The library a daemon document lists for `id`, by device path or serial.
fn find_library<'a>(doc: &'a Value, id: &Identity) -> Option<&'a Value> {
    doc["libraries"].as_array()?.iter().find(|l| {
        let c = &l["changer"];
        let path = c["path"].as_str();
        let serial = c["serial"].as_str().map(str::trim);
        (id.path.is_some() && path == id.path.as_deref())
            || (id.serial.is_some() && serial == id.serial.as_deref().map(str::trim))
    })
}

/// The daemon's library for `id`, when a daemon answers at `socket` and owns that changer.
/// `None` when no daemon answers or it does not list the changer: the front then opens the
/// device itself.
pub fn find(socket: &Path, id: &Identity) -> Option<DaemonLibrary> {
    if id.path.is_none() && id.serial.is_none() {
        return None;
    }
    // No socket there: no daemon, and no connection attempt.
    std::fs::symlink_metadata(socket).ok()?;
    let mut client = Client::connect(socket, "mtx").ok()?;
    let doc = client.call_value(Call::Library { rescan: false }).ok()?;
    let lib = find_library(&doc, id)?;
    let serial = lib["changer"]["serial"].as_str()?.to_owned();
    Some(DaemonLibrary {
        client,
        serial,
        socket: socket.to_path_buf(),
        kinds: Vec::new(),
    })
}

/// A library carried by `reel serve`.
#[derive(Debug)]
pub struct DaemonLibrary {
    client: Client,
    serial: String,
    socket: PathBuf,
    /// Element address → `slot`/`ie`/`drive`, from the last view.
    kinds: Vec<(u16, &'static str)>,
}

/// A daemon refusal as the front reports it: with the device's sense when the daemon sent one.
fn refused(s: Status) -> LibraryError {
    let text = format!("reel serve: {} ({}): {}", s.name, s.code, s.message);
    match status_sense(&s) {
        Some(sense) => LibraryError::Check {
            sense,
            message: text,
        },
        None => LibraryError::Other(text),
    }
}

/// The sense a daemon error carries (`"sense": {"key", "asc", "ascq"}`), when it has one.
fn status_sense(s: &Status) -> Option<Sense> {
    let v = serde_json::to_value(s).ok()?;
    let sense = v.get("sense")?;
    let byte = |k: &str| sense.get(k)?.as_u64().and_then(|n| u8::try_from(n).ok());
    Some(Sense::new(
        SenseKey(byte("key")? & 0x0F),
        byte("asc")?,
        byte("ascq")?,
    ))
}

/// A descriptor standing for one element of the daemon's document.
fn element(ty: u8, e: &Value) -> Option<ElementDescriptor> {
    let address = u16::try_from(e["address"].as_u64()?).ok()?;
    let full = e["full"].as_bool().unwrap_or(false);
    let barcode = e["barcode"].as_str().filter(|_| full);
    let (asc, ascq) = match &e["exception"] {
        Value::Object(x) => (
            x["asc"]
                .as_u64()
                .and_then(|n| u8::try_from(n).ok())
                .unwrap_or(0),
            x["ascq"]
                .as_u64()
                .and_then(|n| u8::try_from(n).ok())
                .unwrap_or(0),
        ),
        _ => (0, 0),
    };
    Some(ElementDescriptor {
        element_type: ElementType(ty),
        address,
        full,
        impexp: false,
        except: asc != 0,
        access: true,
        export_enabled: false,
        import_enabled: false,
        asc,
        ascq,
        disabled: false,
        invert: false,
        medium_type: MediumType::UNSPECIFIED,
        source: e["source"].as_u64().and_then(|n| u16::try_from(n).ok()),
        primary_tag: None,
        primary_tag_bytes: barcode.map(|b| {
            let mut out = [0u8; 32];
            let n = b.len().min(32);
            out[..n].copy_from_slice(&b.as_bytes()[..n]);
            out
        }),
        alternate_tag: None,
        device_id: None,
        dvcid_truncated: false,
        tag_truncated: false,
    })
}

fn elements(lib: &Value, key: &str, ty: u8) -> Vec<ElementDescriptor> {
    let mut v: Vec<ElementDescriptor> = lib[key]
        .as_array()
        .map(|a| a.iter().filter_map(|e| element(ty, e)).collect())
        .unwrap_or_default();
    v.sort_by_key(|d| d.address);
    v
}

/// An INQUIRY field as a device sends it: the text, space-padded to `len` bytes.
fn padded(s: &str, len: usize) -> Vec<u8> {
    let mut b: Vec<u8> = s.bytes().take(len).collect();
    b.resize(len, b' ');
    b
}

impl DaemonLibrary {
    /// The daemon's document of this library.
    fn document(&mut self, rescan: bool) -> Result<Value, LibraryError> {
        let doc = self
            .client
            .call_value(Call::Library { rescan })
            .map_err(refused)?;
        let id = Identity {
            path: None,
            serial: Some(self.serial.clone()),
        };
        find_library(&doc, &id).cloned().ok_or_else(|| {
            LibraryError::Other(format!(
                "reel serve at {} no longer lists the changer {}",
                self.socket.display(),
                self.serial
            ))
        })
    }

    fn location(&self, address: u16) -> String {
        let kind = self
            .kinds
            .iter()
            .find(|k| k.0 == address)
            .map_or("slot", |k| k.1);
        format!("{kind}:{address}")
    }

    fn not_carried(&self, what: &str) -> LibraryError {
        LibraryError::Other(format!(
            "{what} is not carried out through reel serve (it owns changer {}); stop the daemon \
             or use reel's own commands",
            self.serial
        ))
    }
}

impl Library for DaemonLibrary {
    fn view(&mut self, barcodes: bool) -> Result<View, ViewError> {
        let lib = self.document(false)?;
        let mut status = LibraryStatus {
            transports: elements(&lib, "transports", 1),
            storage: elements(&lib, "slots", 2),
            import_export: elements(&lib, "import_export", 3),
            data_transfer: elements(&lib, "drives", 4),
        };
        if !barcodes {
            for d in status
                .storage
                .iter_mut()
                .chain(status.import_export.iter_mut())
                .chain(status.data_transfer.iter_mut())
            {
                d.primary_tag_bytes = None;
            }
        }
        self.kinds = status
            .storage
            .iter()
            .map(|d| (d.address, "slot"))
            .chain(status.import_export.iter().map(|d| (d.address, "ie")))
            .chain(status.data_transfer.iter().map(|d| (d.address, "drive")))
            .collect();
        let transport = lib["elements"]["transport"]["first"]
            .as_u64()
            .filter(|_| lib["elements"]["transport"]["count"].as_u64() > Some(0))
            .and_then(|n| u16::try_from(n).ok())
            .unwrap_or(0);
        // The daemon's record of where each loaded cartridge came from is its document's
        // `source`, which the descriptors carry: mtx's passes apply to it as to SVALID.
        View::new(&status, transport, &super::view::NoHomes).map_err(ViewError::Empty)
    }

    fn inquiry(&mut self) -> Result<Inquiry, LibraryError> {
        let lib = self.document(false)?;
        let c = &lib["changer"];
        let field = |k: &str| c[k].as_str().unwrap_or_default().to_owned();
        Ok(Inquiry {
            peripheral_type: 0x08,
            vendor: padded(&field("vendor"), 8),
            product: padded(&field("product"), 16),
            revision: padded(&field("revision"), 4),
            attached_changer: false,
        })
    }

    fn check_load(&mut self, from: u16, drive: u16) -> Vec<String> {
        let Ok(lib) = self.document(false) else {
            return Vec::new();
        };
        let cartridge = ["slots", "import_export"]
            .iter()
            .filter_map(|k| lib[*k].as_array())
            .flatten()
            .find(|e| e["address"].as_u64() == Some(u64::from(from)));
        let d = lib["drives"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| e["address"].as_u64() == Some(u64::from(drive)));
        let (Some(c), Some(d)) = (cartridge, d) else {
            return Vec::new();
        };
        let Some(media) = c["media_type"].as_str() else {
            return Vec::new();
        };
        let reads: Vec<&str> = d["reads"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if media == "LTO-CLEANING" || reads.is_empty() || reads.contains(&media) {
            return Vec::new();
        }
        vec![format!(
            "drive element {drive} cannot read {media} cartridge {} from element {from} (it \
             reads {}); loading it anyway",
            c["barcode"].as_str().unwrap_or("(no barcode)"),
            reads.join(", ")
        )]
    }

    fn unload_drive(&mut self, _drive: u16) -> Vec<String> {
        // The daemon's move unloads the drive first itself.
        Vec::new()
    }

    fn move_medium(&mut self, m: &Move) -> Result<(), LibraryError> {
        if m.invert || m.eepos != 0 {
            return Err(self.not_carried("A move with invert or eepos"));
        }
        let call = json!({
            "call": "move_element",
            "args": {
                "library": self.serial,
                "from": self.location(m.from),
                "to": self.location(m.to),
                "priority": 0,
            }
        });
        // The call by its wire name, so a daemon without it answers with its own refusal.
        let call: Call = serde_json::from_value(call).map_err(|_| {
            LibraryError::Other(
                "this reel was built without the daemon's move_element call".to_owned(),
            )
        })?;
        self.client.call_value(call).map_err(refused)?;
        Ok(())
    }

    fn exchange_medium(&mut self, x: &Exchange) -> Result<(), LibraryError> {
        if x.invert_first || x.invert_second || x.eepos != 0 {
            return Err(self.not_carried("An exchange with invert or eepos"));
        }
        let call = Call::ExchangeElement {
            library: Some(self.serial.clone()),
            source: self.location(x.source),
            first: self.location(x.first),
            second: Some(self.location(x.second)),
            priority: 0,
        };
        self.client.call_value(call).map_err(refused)?;
        Ok(())
    }

    fn position(&mut self, _transport: u16, to: u16, invert: bool) -> Result<(), LibraryError> {
        if invert {
            return Err(self.not_carried("POSITION TO ELEMENT with invert"));
        }
        let call = Call::PositionElement {
            library: Some(self.serial.clone()),
            to: self.location(to),
            priority: 0,
        };
        self.client.call_value(call).map_err(refused)?;
        Ok(())
    }

    fn initialize(&mut self) -> Result<(), LibraryError> {
        self.document(true).map(|_| ())
    }

    fn eject(&mut self) -> Result<(), LibraryError> {
        Err(self.not_carried("eject"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_daemon_document_lists_the_changer_by_path_or_serial() {
        let doc = json!({"libraries": [
            {"changer": {"path": "/dev/sg3", "serial": "LIB1"}},
            {"changer": {"path": "sim:changer", "serial": "SIMLIB0001 "}},
        ]});
        let id = |p: Option<&str>, s: Option<&str>| Identity {
            path: p.map(Into::into),
            serial: s.map(Into::into),
        };
        let serial_of = |i: &Identity| {
            find_library(&doc, i).map(|l| l["changer"]["serial"].as_str().unwrap().to_owned())
        };
        assert_eq!(
            serial_of(&id(Some("/dev/sg3"), None)).as_deref(),
            Some("LIB1")
        );
        assert_eq!(
            serial_of(&id(Some("/dev/sg9"), Some("LIB1"))).as_deref(),
            Some("LIB1")
        );
        assert_eq!(
            serial_of(&id(None, Some("SIMLIB0001"))).as_deref(),
            Some("SIMLIB0001 ")
        );
        assert_eq!(serial_of(&id(Some("/dev/sg9"), Some("OTHER"))), None);
        assert_eq!(serial_of(&id(None, None)), None);
    }

    #[test]
    fn the_document_numbers_as_the_device_would() {
        let lib = json!({
            "elements": {"transport": {"first": 1, "count": 1}},
            "slots": [
                {"address": 1001, "full": false, "barcode": null},
                {"address": 1000, "full": true, "barcode": "ABC001L8"}
            ],
            "import_export": [{"address": 10, "full": false, "barcode": null}],
            "drives": [
                {"address": 500, "full": true, "barcode": "ABC002L8", "source": 1001},
                {"address": 501, "full": false, "barcode": null, "source": null,
                 "exception": {"asc": 131, "ascq": 4, "text": "no drive"}}
            ]
        });
        let status = LibraryStatus {
            transports: elements(&lib, "transports", 1),
            storage: elements(&lib, "slots", 2),
            import_export: elements(&lib, "import_export", 3),
            data_transfer: elements(&lib, "drives", 4),
        };
        let v = View::new(&status, 1, &super::super::view::NoHomes).unwrap();
        assert_eq!(
            super::super::status::render("sim:x", &v, true),
            "  Storage Changer sim:x:1 Drives, 3 Slots ( 1 Import/Export )\n\
             Data Transfer Element 0:Full (Storage Element 2 Loaded):VolumeTag = ABC002L8\n      \
             Storage Element 1:Full :VolumeTag=ABC001L8\n      \
             Storage Element 2:Empty\n      \
             Storage Element 3 IMPORT/EXPORT:Empty\n"
        );
    }

    #[test]
    fn refusals_keep_the_device_sense() {
        let mut v = serde_json::to_value(Status::new(
            crate::pool::Win32Code::DEVICE_ERROR,
            "MOVE MEDIUM failed",
        ))
        .unwrap();
        let plain: Status = serde_json::from_value(v.clone()).unwrap();
        assert!(refused(plain).sense().is_none());
        v["sense"] =
            json!({"key": 5, "asc": 59, "ascq": 14, "text": "Medium source element empty"});
        if let Ok(with) = serde_json::from_value::<Status>(v) {
            // Only a Status that carries sense on the wire can give it back.
            if serde_json::to_value(&with).unwrap().get("sense").is_some() {
                let e = refused(with);
                assert_eq!(e.code(), Some((0x3B, 0x0E)));
            }
        }
    }
}
