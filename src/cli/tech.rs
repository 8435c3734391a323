//! Technician commands straight to a changer: `reel lock` / `reel unlock` (PREVENT ALLOW MEDIUM
//! REMOVAL) and `reel exchange SRC DST1 [DST2]` (EXCHANGE MEDIUM). Device choice as `reel move`;
//! a changer that does not support the command answers ILLEGAL REQUEST 20/00, printed decoded.

use std::io::{self, Write};

use reel::changer::Changer;
use reel::discovery::{ElementKind, Location};
use reel::scsi::exec::DeviceError;
use reel::scsi::mode_sense::{ElementAddressAssignment, ElementRange};
use reel_hw::{AnyTransport, DeviceSource, PeripheralType};
use serde_json::json;

use super::args::{ExchangeArgs, LockArgs};
use super::devices::{self, sense_info};
use super::output::print_json;
use super::Failure;

/// The changer a technician command talks to.
struct Chosen {
    changer: Changer<AnyTransport>,
    path: String,
    serial: String,
}

fn device_failure<E: std::error::Error>(e: &DeviceError<E>) -> Failure {
    Failure::device(e.to_string(), e.sense().map(sense_info))
}

/// Opens the changer of the device choice: the one with serial `wanted`, or the only one.
fn open_changer(
    choice: &super::args::DeviceChoice,
    wanted: Option<&str>,
) -> Result<Chosen, Failure> {
    let mut chosen = devices::choose(choice)?;
    let listed = chosen
        .source
        .devices()
        .map_err(|e| Failure::device(format!("listing devices: {e}"), None))?;
    let only = chosen.only.take();
    let changers: Vec<_> = listed
        .into_iter()
        .filter(|d| d.peripheral_type == PeripheralType::MEDIUM_CHANGER)
        .filter(|d| only.as_ref().map_or(true, |o| o.contains(&d.path)))
        .collect();
    let mut found = Vec::new();
    for info in changers {
        let t = chosen
            .source
            .open(&info.path)
            .map_err(|e| Failure::device(format!("{}: {e}", info.path), None))?;
        let mut changer = Changer::new(t);
        let serial = match &info.serial {
            Some(s) => s.trim().to_owned(),
            None => changer
                .identify()
                .map_err(|e| device_failure(&e))?
                .serial
                .unwrap_or_default()
                .trim()
                .to_owned(),
        };
        found.push(Chosen {
            changer,
            path: info.path,
            serial,
        });
    }
    match wanted {
        Some(w) => {
            let names: Vec<String> = found.iter().map(|c| c.serial.clone()).collect();
            found
                .into_iter()
                .find(|c| c.serial == w.trim())
                .ok_or_else(|| {
                    Failure::usage(format!(
                        "no changer has serial {w} (found: {})",
                        names.join(", ")
                    ))
                })
        }
        None if found.len() > 1 => Err(Failure::usage(format!(
            "{} changers found ({}); choose one with --changer SERIAL",
            found.len(),
            found
                .iter()
                .map(|c| format!("{} serial {}", c.path, c.serial))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
        None => found.pop().ok_or_else(|| {
            Failure::device("no medium changer found; check the device choice", None)
        }),
    }
}

/// `reel lock` (`prevent`) and `reel unlock`.
pub fn lock(args: LockArgs, prevent: bool, json: bool) -> Result<(), Failure> {
    let mut c = open_changer(&args.devices, args.changer.as_deref())?;
    c.changer
        .prevent_allow(prevent)
        .map_err(|e| device_failure(&e))?;
    let key = if prevent { "locked" } else { "unlocked" };
    if json {
        return print_json(&json!({ key: { "changer": c.serial } }));
    }
    let what = if prevent {
        "medium removal prevented: the import/export elements stay shut until `reel unlock`"
    } else {
        "medium removal allowed"
    };
    writeln!(io::stdout(), "{} (serial {}): {what}", c.path, c.serial)?;
    Ok(())
}

fn range(map: &ElementAddressAssignment, kind: ElementKind) -> ElementRange {
    match kind {
        ElementKind::Transport => map.transport,
        ElementKind::Slot => map.storage,
        ElementKind::ImportExport => map.import_export,
        ElementKind::Drive => map.data_transfer,
    }
}

/// `reel exchange SRC DST1 [DST2]`: SRC's cartridge goes to DST1, DST1's to DST2 (default SRC).
pub fn exchange(args: ExchangeArgs, json: bool) -> Result<(), Failure> {
    let parse = |s: &str| {
        s.parse::<Location>()
            .map_err(|e| Failure::usage(e.to_string()))
    };
    let source = parse(&args.source)?;
    let first = parse(&args.first_destination)?;
    let second = match &args.second_destination {
        Some(s) => parse(s)?,
        None => source,
    };
    let mut c = open_changer(&args.devices, args.changer.as_deref())?;
    let map = c.changer.element_map().map_err(|e| device_failure(&e))?;
    for l in [source, first, second] {
        let r = range(&map, l.kind);
        if l.kind == ElementKind::Transport || !r.contains(l.address) {
            return Err(Failure::usage(format!(
                "{l}: no such element on changer {} ({} elements: {})",
                c.serial,
                l.kind.name(),
                match r.count {
                    0 => "none".to_owned(),
                    _ => format!("{}-{}", r.first, r.end() - 1),
                }
            )));
        }
    }
    let transport = if map.transport.count > 0 {
        map.transport.first
    } else {
        0
    };
    c.changer
        .exchange_medium(
            transport,
            source.address,
            first.address,
            second.address,
            false,
            false,
        )
        .map_err(|e| device_failure(&e))?;
    if json {
        return print_json(&json!({ "exchanged": {
            "changer": c.serial,
            "source": source.to_string(),
            "first_destination": first.to_string(),
            "second_destination": second.to_string(),
        }}));
    }
    writeln!(
        io::stdout(),
        "exchanged: {source} -> {first}, {first} -> {second} ({} serial {})",
        c.path,
        c.serial
    )?;
    Ok(())
}
