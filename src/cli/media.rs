//! `reel media ...` and `reel opreq` (cli.md "Media, mounts and library work"): arguments
//! resolved to ids, calls to the daemon, cli.md's documents or tables printed.

use std::io::{self, BufWriter, Write};

use reel::daemon::wire::{
    Call, DeallocatedReply, MediaList, MovedReply, OperatorRequests, MAX_MEDIA_PAGE,
};
use reel::daemon::Client;
use reel::pool::opreq::OperatorRequest;
use reel::pool::{Allocation, MediumInfo};
use serde_json::{json, Value};
use uuid::Uuid;

use super::args::*;
use super::client::{connect, resolve, table};
use super::output::print_json;
use super::Failure;

/// `reel media ...`.
pub fn run(cmd: MediaCommand, json: bool) -> Result<(), Failure> {
    match cmd {
        MediaCommand::List(a) => list(a, json),
        MediaCommand::Show(a) => {
            let mut c = connect(&a.client)?;
            let m = medium(&mut c, &a.medium)?;
            print_medium(&m, json)
        }
        MediaCommand::Allocate(a) => allocate(a, json),
        MediaCommand::Deallocate(a) => {
            let mut c = connect(&a.client)?;
            let d: DeallocatedReply = c.call(Call::DeallocateMedia {
                lmid: a.lmid,
                options: 0,
            })?;
            if json {
                return print_json(&json!({ "deallocated": d }));
            }
            let state = serde_json::to_value(d.state).map_err(io::Error::from)?;
            writeln!(
                io::stdout().lock(),
                "deallocated {}: side {}",
                d.lmid,
                text(&state)
            )?;
            Ok(())
        }
        MediaCommand::Move(a) => {
            let mut c = connect(&a.client)?;
            let m = medium(&mut c, &a.medium)?;
            let pool = resolve(&mut c, &a.pool, false)?;
            let moved: MovedReply = c.call(Call::MoveToMediaPool { medium: m.id, pool })?;
            if json {
                return print_json(&json!({ "moved": moved }));
            }
            writeln!(
                io::stdout().lock(),
                "moved {} from {} to {}",
                moved
                    .barcode
                    .as_deref()
                    .unwrap_or(&moved.medium.to_string()),
                moved.from,
                moved.to
            )?;
            Ok(())
        }
        MediaCommand::Complete(a) => {
            let mut c = connect(&a.client)?;
            let m: MediumInfo = c.call(Call::SetMediaComplete { lmid: a.lmid })?;
            print_medium(&m, json)
        }
        MediaCommand::Decommission(a) => {
            let mut c = connect(&a.client)?;
            let id = medium(&mut c, &a.medium)?.id;
            let m: MediumInfo = c.call(Call::DecommissionMedia { id })?;
            print_medium(&m, json)
        }
        MediaCommand::Delete(a) => {
            let mut c = connect(&a.client)?;
            let id = medium(&mut c, &a.medium)?.id;
            c.call::<Value>(Call::DeleteMedia { id })?;
            if json {
                return print_json(&json!({"deleted": {"id": id}}));
            }
            writeln!(io::stdout().lock(), "deleted medium {id}")?;
            Ok(())
        }
    }
}

/// A medium named by id (medium, side or LMID) or bar code.
fn medium(c: &mut Client, name: &str) -> Result<MediumInfo, Failure> {
    let call = match Uuid::parse_str(name) {
        Ok(id) => Call::GetMedium {
            id: Some(id),
            barcode: None,
        },
        Err(_) => Call::GetMedium {
            id: None,
            barcode: Some(name.to_owned()),
        },
    };
    Ok(c.call(call)?)
}

fn list(a: MediaListArgs, json: bool) -> Result<(), Failure> {
    let mut c = connect(&a.client)?;
    let pool = match &a.pool {
        Some(n) => Some(resolve(&mut c, n, false)?),
        None => None,
    };
    let mut media: Vec<MediumInfo> = Vec::new();
    loop {
        let page: MediaList = c.call(Call::ListMedia {
            pool,
            library: a.library.clone(),
            offline: a.offline,
            after: media.last().map(|m| m.id),
            limit: MAX_MEDIA_PAGE,
        })?;
        let last = page.media.len() < MAX_MEDIA_PAGE;
        media.extend(page.media);
        if last {
            break;
        }
    }
    if json {
        /// `{"media": [MEDIUM, ...]}`, written as it is serialized.
        #[derive(serde::Serialize)]
        struct Doc<'a> {
            media: &'a [MediumInfo],
        }
        let mut out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
        serde_json::to_writer_pretty(&mut out, &Doc { media: &media }).map_err(io::Error::from)?;
        writeln!(out)?;
        out.flush()?;
        return Ok(());
    }
    let rows = media.iter().map(row).collect();
    table(
        &[
            "BARCODE", "TYPE", "POOL", "STATE", "LOCATION", "HOME", "SIDE", "ID",
        ],
        rows,
    )
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

fn location(m: &MediumInfo) -> String {
    let kind = text(&serde_json::to_value(m.location.kind).unwrap_or_default());
    match (&m.location.library, m.location.address) {
        (Some(l), Some(a)) => format!("{l} {kind}:{a}"),
        _ => kind,
    }
}

fn row(m: &MediumInfo) -> Vec<String> {
    let sides: Vec<String> = m
        .sides
        .iter()
        .map(|s| text(&serde_json::to_value(s.state).unwrap_or_default()))
        .collect();
    vec![
        m.barcode.clone().unwrap_or_else(|| "-".into()),
        m.media_type.name().to_owned(),
        m.pool.clone(),
        text(&serde_json::to_value(m.state).unwrap_or_default()),
        location(m),
        m.home.map_or("-".into(), |h| h.to_string()),
        sides.join(","),
        m.id.to_string(),
    ]
}

fn print_medium(m: &MediumInfo, json: bool) -> Result<(), Failure> {
    if json {
        return print_json(&json!({ "medium": m }));
    }
    let mut out = io::stdout().lock();
    let rows = [
        ("id", m.id.to_string()),
        ("barcode", m.barcode.clone().unwrap_or_else(|| "-".into())),
        ("media type", m.media_type.name().to_owned()),
        (
            "pool",
            format!(
                "{} ({})",
                m.pool,
                text(&serde_json::to_value(m.pool_type).unwrap_or_default())
            ),
        ),
        (
            "state",
            text(&serde_json::to_value(m.state).unwrap_or_default()),
        ),
        ("location", location(m)),
        ("home", m.home.map_or("-".into(), |h| h.to_string())),
    ];
    for (k, v) in rows {
        writeln!(out, "{:<11} {v}", format!("{k}:"))?;
    }
    for (i, s) in m.sides.iter().enumerate() {
        writeln!(
            out,
            "side {i}:     {} {}, lmid {}, allocated {}×, mounted {}×",
            s.id,
            text(&serde_json::to_value(s.state).unwrap_or_default()),
            s.lmid.map_or("-".into(), |l| l.to_string()),
            s.allocate_count,
            s.mount_count
        )?;
    }
    Ok(())
}

fn allocate(a: MediaAllocateArgs, json: bool) -> Result<(), Failure> {
    let mut c = connect(&a.client)?;
    let pool = resolve(&mut c, &a.pool, false)?;
    let side = match &a.side {
        None => None,
        Some(name) => Some(match Uuid::parse_str(name) {
            Ok(id) => id,
            Err(_) => medium(&mut c, name)?.id,
        }),
    };
    let mut options = 0;
    if a.new {
        options |= reel::pool::media::NTMS_ALLOCATE_NEW;
    }
    if a.next.is_some() {
        options |= reel::pool::media::NTMS_ALLOCATE_NEXT;
    }
    if a.error_if_unavailable {
        options |= reel::pool::media::NTMS_ALLOCATE_ERROR_IF_UNAVAILABLE;
    }
    let got: Allocation = c.call(Call::AllocateMedia {
        pool,
        side,
        next: a.next,
        options,
        timeout_ms: a.timeout,
    })?;
    if json {
        return print_json(&json!({ "allocated": got }));
    }
    writeln!(
        io::stdout().lock(),
        "allocated {} on {} (side {}) from {}",
        got.lmid,
        got.barcode.as_deref().unwrap_or(&got.medium.to_string()),
        got.side,
        got.from_pool
    )?;
    Ok(())
}

/// `reel opreq`.
pub fn opreq(a: OpreqArgs, json: bool) -> Result<(), Failure> {
    match a.command {
        None => list_requests(&a.client, json),
        Some(OpreqCommand::List(client)) => list_requests(&client, json),
        Some(OpreqCommand::Satisfy(x)) => answer(&mut connect(&x.client)?, x.id, true, json),
        Some(OpreqCommand::Refuse(x)) => answer(&mut connect(&x.client)?, x.id, false, json),
        Some(OpreqCommand::Submit(x)) => {
            let mut c = connect(&x.client)?;
            let r: OperatorRequest = c.call(Call::SubmitOperatorRequest { message: x.text })?;
            if json {
                return print_json(&json!({ "operator_requests": [r] }));
            }
            writeln!(io::stdout().lock(), "submitted operator request {}", r.id)?;
            Ok(())
        }
    }
}

fn list_requests(client: &ClientArgs, json: bool) -> Result<(), Failure> {
    let mut c = connect(client)?;
    let list: OperatorRequests = c.call(Call::OperatorRequests {})?;
    if json {
        return print_json(&serde_json::to_value(&list).map_err(io::Error::from)?);
    }
    let rows = list.operator_requests.iter().map(opreq_row).collect();
    table(&["ID", "TYPE", "STATE", "USER", "MESSAGE"], rows)
}

fn answer(c: &mut Client, id: Uuid, satisfy: bool, json: bool) -> Result<(), Failure> {
    c.call::<Value>(Call::AnswerOperatorRequest { id, satisfy })?;
    let verb = if satisfy { "satisfied" } else { "refused" };
    if json {
        return print_json(&json!({ verb: {"id": id} }));
    }
    writeln!(io::stdout().lock(), "{verb} operator request {id}")?;
    Ok(())
}

fn opreq_row(r: &OperatorRequest) -> Vec<String> {
    vec![
        r.id.to_string(),
        text(&serde_json::to_value(r.kind).unwrap_or_default()),
        text(&serde_json::to_value(r.state).unwrap_or_default()),
        r.user.clone(),
        r.message.clone(),
    ]
}
