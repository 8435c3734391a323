//! `reel move FROM TO`: a technician's move, straight to the devices.

use std::io::{self, Write};

use reel::discovery::moves::MoveRequest;
use reel::discovery::Location;
use serde_json::json;

use super::args::MoveArgs;
use super::devices;
use super::output::print_json;
use super::Failure;

/// Runs the command.
pub fn run(args: MoveArgs, json: bool) -> Result<(), Failure> {
    let parse = |s: &str| {
        s.parse::<Location>()
            .map_err(|e| Failure::usage(e.to_string()))
    };
    let req = MoveRequest {
        from: parse(&args.from)?,
        to: parse(&args.to)?,
        changer: args.changer,
        only: None,
    };
    let moved = devices::move_cartridge(&args.devices, &req)?;
    for w in &moved.warnings {
        let _ = writeln!(io::stderr(), "warning: {w}");
    }
    if json {
        print_json(&json!({ "moved": moved }))
    } else {
        let mut out = io::stdout().lock();
        match &moved.barcode {
            Some(b) => writeln!(out, "moved {b} from {} to {}", moved.from, moved.to)?,
            None => writeln!(
                out,
                "moved the cartridge from {} to {}",
                moved.from, moved.to
            )?,
        }
        Ok(())
    }
}
