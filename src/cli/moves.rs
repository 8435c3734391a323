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
    if let Some(socket) = args.socket {
        return through_daemon(socket, &args.from, &args.to, req.changer, json);
    }
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

/// The move as a request to the daemon's controller (the `move_element` call).
fn through_daemon(
    socket: std::path::PathBuf,
    from: &str,
    to: &str,
    library: Option<String>,
    json: bool,
) -> Result<(), Failure> {
    let client = super::args::ClientArgs {
        socket,
        wait_ready: 10,
    };
    let mut c = super::client::connect(&client)?;
    let reply = c.call_value(reel::daemon::wire::Call::MoveElement {
        library,
        from: from.to_owned(),
        to: to.to_owned(),
        priority: 0,
    })?;
    let m = &reply["moved"];
    if json {
        return print_json(
            &json!({ "moved": {"from": m["from"], "to": m["to"], "barcode": m["barcode"]} }),
        );
    }
    let mut out = io::stdout().lock();
    match m["barcode"].as_str() {
        Some(b) => writeln!(out, "moved {b} from {from} to {to}")?,
        None => writeln!(out, "moved the cartridge from {from} to {to}")?,
    }
    Ok(())
}
