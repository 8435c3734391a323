//! Mounts and the daemon's live state: `reel mount`, `dismount`, `requests`, `watch`,
//! `status`, `metrics` (cli.md "Media, mounts and library work").

use std::io::{self, Write};

use clap::Args;
use reel::controller::ObjectKind;
use reel::daemon::wire::Call;
use serde_json::{json, Value};

use super::args::ClientArgs;
use super::client::connect;
use super::output::print_json;
use super::Failure;

/// `reel mount`.
#[derive(Debug, Args)]
pub struct MountArgs {
    /// Media: LMIDs, medium ids, barcodes, or elements (`slot:1000`).
    #[arg(required = true, value_name = "LMID|MEDIUM")]
    pub media: Vec<String>,
    /// Mount for reading (the default).
    #[arg(long, conflicts_with = "write")]
    pub read: bool,
    /// Mount for writing: the drive must write the medium's type.
    #[arg(long)]
    pub write: bool,
    /// This drive only (serial, id or drive:ADDRESS).
    #[arg(long, value_name = "DRIVE")]
    pub drive: Option<String>,
    /// −15 (lowest) … 15 (highest); first come first served within one.
    #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
    pub priority: i32,
    /// Give up after this many milliseconds.
    #[arg(long, value_name = "MS")]
    pub timeout: Option<u64>,
    /// Fail with ERROR_BUSY at once instead of waiting for a drive or the medium.
    #[arg(long)]
    pub error_if_unavailable: bool,
    /// Fail with ERROR_MEDIA_OFFLINE for a medium outside the library.
    #[arg(long)]
    pub error_if_offline: bool,
    /// Return once queued, with the request.
    #[arg(long)]
    pub nowait: bool,
    /// Hold the mount until interrupted (the session owns it; on exit it becomes dismountable).
    #[arg(long)]
    pub hold: bool,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `reel dismount`.
#[derive(Debug, Args)]
pub struct DismountArgs {
    /// Media to dismount.
    #[arg(value_name = "LMID|MEDIUM", required_unless_present = "drive")]
    pub media: Vec<String>,
    /// Leave the medium in its drive until a mount needs the drive (or the delay passes).
    #[arg(long)]
    pub deferred: bool,
    /// Dismount whatever this drive holds (DismountNtmsDrive).
    #[arg(long, value_name = "DRIVE", conflicts_with_all = ["media", "deferred"])]
    pub drive: Option<String>,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `reel requests [--all]`, `reel requests cancel ID`.
#[derive(Debug, Args)]
pub struct RequestsArgs {
    /// `cancel ID`.
    #[arg(value_name = "cancel ID", num_args = 0..=2)]
    pub action: Vec<String>,
    /// Finished requests too.
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `reel watch`.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Only these object types (repeatable): physical_media, partition, logical_media,
    /// media_pool, drive, library, request, opreq.
    #[arg(long = "type", value_name = "TYPE")]
    pub types: Vec<String>,
    /// Stop after this many events (default: until interrupted).
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    #[command(flatten)]
    pub client: ClientArgs,
}

fn table_line(out: &mut impl Write, cells: &[String]) -> io::Result<()> {
    writeln!(out, "{}", cells.join("  ").trim_end())
}

/// `reel mount`.
pub fn mount(a: MountArgs, json: bool) -> Result<(), Failure> {
    let mut c = connect(&a.client)?;
    let reply = c.call_value(Call::Mount {
        media: a.media,
        read: a.read,
        write: a.write,
        drive: a.drive,
        priority: a.priority,
        timeout_ms: a.timeout,
        error_if_unavailable: a.error_if_unavailable,
        error_if_offline: a.error_if_offline,
        nowait: a.nowait,
    })?;
    if json {
        print_json(&reply)?;
    } else if let Some(list) = reply["mounted"].as_array() {
        let mut out = io::stdout().lock();
        for m in list {
            let d = &m["drive"];
            let node = d["nst"].as_str().or(d["sg"].as_str()).unwrap_or("-");
            writeln!(
                out,
                "{} mounted in drive:{} ({}) {node}",
                m["barcode"]
                    .as_str()
                    .or(m["medium"].as_str())
                    .unwrap_or("?"),
                d["address"],
                d["serial"].as_str().unwrap_or("-"),
            )?;
        }
    } else {
        writeln!(io::stdout(), "queued as request {}", reply["request"]["id"])?;
    }
    if a.hold {
        io::stdout().flush()?;
        // Keep the session (and so the mount) until stdin closes or a signal ends us.
        let mut sink = String::new();
        while io::stdin().read_line(&mut sink)? > 0 {
            sink.clear();
        }
    }
    Ok(())
}

/// `reel dismount`.
pub fn dismount(a: DismountArgs, json: bool) -> Result<(), Failure> {
    let mut c = connect(&a.client)?;
    let call = match a.drive {
        Some(drive) => Call::DismountDrive { drive },
        None => Call::Dismount {
            media: a.media,
            deferred: a.deferred,
        },
    };
    let reply = c.call_value(call)?;
    if json {
        return print_json(&reply);
    }
    let mut out = io::stdout().lock();
    for d in reply["dismounted"].as_array().into_iter().flatten() {
        writeln!(
            out,
            "{} {}",
            d["barcode"]
                .as_str()
                .or(d["medium"].as_str())
                .unwrap_or("?"),
            d["state"].as_str().unwrap_or("")
        )?;
    }
    Ok(())
}

/// `reel requests`.
pub fn requests(a: RequestsArgs, json: bool) -> Result<(), Failure> {
    let mut c = connect(&a.client)?;
    match a.action.as_slice() {
        [] => {}
        [verb, id] if verb == "cancel" => {
            let id = uuid::Uuid::parse_str(id)
                .map_err(|_| Failure::usage(format!("`{id}` is not a request id")))?;
            c.call_value(Call::CancelRequest { id })?;
            if json {
                return print_json(&json!({ "cancelled": {"id": id} }));
            }
            writeln!(io::stdout(), "cancelled {id}")?;
            return Ok(());
        }
        _ => {
            return Err(Failure::usage(
                "write `reel requests [--all]` or `reel requests cancel ID`",
            ))
        }
    }
    let reply = c.call_value(Call::Requests { all: a.all })?;
    if json {
        return print_json(&reply);
    }
    let mut out = io::stdout().lock();
    let s = |v: &Value| v.as_str().unwrap_or("-").to_owned();
    table_line(
        &mut out,
        &[
            "ID",
            "OPERATION",
            "STATE",
            "PRI",
            "DRIVE",
            "MEDIUM",
            "ERROR",
        ]
        .map(String::from),
    )?;
    for r in reply["requests"].as_array().into_iter().flatten() {
        table_line(
            &mut out,
            &[
                s(&r["id"]),
                s(&r["operation"]),
                s(&r["state"]),
                r["priority"].to_string(),
                s(&r["drive"]),
                s(&r["medium"]),
                s(&r["error"]["name"]),
            ],
        )?;
    }
    Ok(())
}

/// `reel watch`: one JSON object a line until interrupted. A channel that overflows is
/// reported (`ERROR_NO_DATA`) and the command fails, so a script knows it missed events.
pub fn watch(a: WatchArgs) -> Result<(), Failure> {
    let mut types = Vec::new();
    for t in &a.types {
        let k: ObjectKind = serde_json::from_value(Value::String(t.clone())).map_err(|_| {
            Failure::usage(format!(
                "unknown type `{t}` (physical_media, partition, logical_media, media_pool, \
                 drive, library, request, opreq)"
            ))
        })?;
        types.push(k);
    }
    let mut c = connect(&a.client)?;
    let opened = c.call_value(Call::OpenNotification { types })?;
    let channel = serde_json::from_value(opened["channel"].clone())
        .map_err(|e| Failure::rsm(reel::pool::Win32Code::ERROR_INVALID_HANDLE, e.to_string()))?;
    let mut seen = 0u64;
    let mut out = io::stdout().lock();
    writeln!(out, "{}", json!({"watching": channel}))?;
    out.flush()?;
    loop {
        let got = c.call_value(Call::WaitNotification {
            channel,
            timeout_ms: 30_000,
        })?;
        for e in got["events"].as_array().into_iter().flatten() {
            writeln!(out, "{e}")?;
            seen += 1;
            if a.count.is_some_and(|n| seen >= n) {
                out.flush()?;
                return Ok(());
            }
        }
        out.flush()?;
    }
}

/// `reel status`.
pub fn status(a: ClientArgs, json: bool) -> Result<(), Failure> {
    let mut c = connect(&a)?;
    let reply = c.call_value(Call::Status {})?;
    if json {
        return print_json(&reply);
    }
    let s = &reply["status"];
    let mut out = io::stdout().lock();
    writeln!(
        out,
        "reel {}: {} (up {} s), {} SCSI commands",
        s["version"].as_str().unwrap_or("?"),
        if s["ready"].as_bool() == Some(true) {
            "ready"
        } else {
            "starting"
        },
        s["uptime_s"],
        s["scsi"]["commands"]
    )?;
    for l in s["libraries"].as_array().into_iter().flatten() {
        writeln!(
            out,
            "library {}: {} request(s) queued",
            l["serial"].as_str().unwrap_or("?"),
            l["queued"]
        )?;
        for d in l["drives"].as_array().into_iter().flatten() {
            writeln!(
                out,
                "  drive:{:<6} {:<12} {:<14} {:<10}{}",
                d["address"],
                d["serial"].as_str().unwrap_or("-"),
                d["state"].as_str().unwrap_or("?"),
                d["barcode"].as_str().unwrap_or("-"),
                if d["needs_cleaning"].as_bool() == Some(true) {
                    "  needs cleaning"
                } else {
                    ""
                }
            )?;
        }
    }
    Ok(())
}

/// `reel metrics`.
pub fn metrics(a: ClientArgs) -> Result<(), Failure> {
    let mut c = connect(&a)?;
    let reply = c.call_value(Call::Metrics {})?;
    io::stdout().write_all(reply["text"].as_str().unwrap_or("").as_bytes())?;
    Ok(())
}
