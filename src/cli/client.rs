//! Daemon clients: `reel library`, `reel media-types`, `reel pool ...` (cli.md "The daemon and
//! its clients"). Validation here, the socket in `reel::daemon::client`, printing at the end.

use std::io::{self, Write};

use reel::daemon::wire::{
    AceKind, Call, CreateDisposition, Created, Enumerated, MediaTypes, ObjectType, PoolInfo,
    WireAce, WireSecurity,
};
use reel::daemon::{Client, Status};
use reel::pool::{self, Win32Code};
use serde_json::{json, Value};
use uuid::Uuid;

use super::args::*;
use super::output::print_json;
use super::Failure;

impl From<Status> for Failure {
    fn from(s: Status) -> Self {
        // The daemon's name and number as sent: a newer daemon's code passes through.
        let sense = s.sense.map(|w| super::output::SenseInfo {
            key: w.key,
            asc: w.asc,
            ascq: w.ascq,
            text: w.text,
        });
        Failure {
            name: s.name,
            code: s.code,
            message: s.message,
            sense,
            usage: false,
            broken_pipe: false,
        }
    }
}

/// Connects and waits up to `--wait-ready` for the daemon to finish starting (`status` says
/// ready); past that the command goes on and meets the daemon's own `ERROR_NOT_READY`. A
/// socket nobody serves is reported at once.
pub(super) fn connect(args: &ClientArgs) -> Result<Client, Failure> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(args.wait_ready);
    let pause = std::time::Duration::from_millis(50);
    loop {
        let late = std::time::Instant::now() >= deadline;
        match Client::connect(&args.socket, "reel-cli") {
            Ok(mut c) => {
                let ready = c
                    .call_value(Call::Status {})
                    .ok()
                    .and_then(|v| v["status"]["ready"].as_bool())
                    .unwrap_or(true);
                if ready || late {
                    return Ok(c);
                }
            }
            // Refused for now (starting, or its connection limit): try again until the
            // deadline. No daemon at all is reported at once.
            Err(s) if !late && matches!(s.code, 21 | 170) => {}
            Err(s) => return Err(s.into()),
        }
        std::thread::sleep(pause);
    }
}

/// Account names as the client's system knows them (cli.md: `user:NAME`, `group:NAME` are
/// resolved by the client); a test passes its own table.
pub(super) trait Accounts {
    /// The uid of user `name`.
    fn uid(&self, name: &str) -> Option<u32>;
    /// The gid of group `name`.
    fn gid(&self, name: &str) -> Option<u32>;
}

/// The system's account database (NSS).
pub(super) struct SystemAccounts;

impl Accounts for SystemAccounts {
    fn uid(&self, name: &str) -> Option<u32> {
        nix::unistd::User::from_name(name)
            .ok()
            .flatten()
            .map(|u| u.uid.as_raw())
    }
    fn gid(&self, name: &str) -> Option<u32> {
        nix::unistd::Group::from_name(name)
            .ok()
            .flatten()
            .map(|g| g.gid.as_raw())
    }
}

/// Parses `uid:N:RIGHTS`, `gid:N:RIGHTS`, `user:NAME:RIGHTS`, `group:NAME:RIGHTS` or
/// `everyone:RIGHTS`: names become numbers here, so the daemon only ever sees uid:N and gid:N,
/// and the rest is the pool's one ACE grammar ([`pool::Ace::parse`]); a bad entry is bad usage.
fn parse_ace(kind: AceKind, text: &str) -> Result<WireAce, Failure> {
    parse_ace_with(kind, text, &SystemAccounts)
}

fn parse_ace_with(kind: AceKind, text: &str, accounts: &dyn Accounts) -> Result<WireAce, Failure> {
    let bad = |why: &dyn std::fmt::Display| {
        Failure::usage(format!(
            "bad ACE `{text}`: {why} (write uid:N:RIGHTS, gid:N:RIGHTS, user:NAME:RIGHTS, \
             group:NAME:RIGHTS or everyone:RIGHTS; RIGHTS is a comma list of use, modify, \
             control, read-control, write-dac, or all)"
        ))
    };
    let numeric = match text.split_once(':') {
        Some((k @ ("user" | "group"), rest)) => {
            let (name, rights) = rest.split_once(':').ok_or_else(|| bad(&"no rights"))?;
            if name.is_empty() {
                return Err(bad(&format!("no {k} name")));
            }
            let id = if k == "user" {
                accounts.uid(name).map(|n| format!("uid:{n}"))
            } else {
                accounts.gid(name).map(|n| format!("gid:{n}"))
            };
            let id = id.ok_or_else(|| {
                Failure::usage(format!(
                    "bad ACE `{text}`: this system has no {k} named `{name}` (check with \
                     `getent {}`)",
                    if k == "user" { "passwd" } else { "group" }
                ))
            })?;
            format!("{id}:{rights}")
        }
        // `gid:tape:use`: a name where a number belongs.
        Some((k @ ("uid" | "gid"), rest)) => {
            if let Some((n, rights)) = rest.split_once(':') {
                if !n.is_empty() && !n.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
                    let named = if k == "uid" { "user" } else { "group" };
                    return Err(bad(&format!(
                        "`{n}` is a name, not a number: write {named}:{n}:{rights}"
                    )));
                }
            }
            text.to_owned()
        }
        _ => text.to_owned(),
    };
    let ace = pool::Ace::parse(kind, &numeric).map_err(|e| bad(&e))?;
    Ok(WireAce::from(ace))
}

/// Deny entries first, then allow entries, each in the order given; `None` with no entries.
fn descriptor(allow: &[String], deny: &[String]) -> Result<Option<WireSecurity>, Failure> {
    if allow.is_empty() && deny.is_empty() {
        return Ok(None);
    }
    let mut entries = Vec::with_capacity(allow.len() + deny.len());
    for d in deny {
        entries.push(parse_ace(AceKind::Deny, d)?);
    }
    for a in allow {
        entries.push(parse_ace(AceKind::Allow, a)?);
    }
    Ok(Some(WireSecurity {
        owner: None,
        entries,
    }))
}

/// A missing leading `\` means the same rooted path.
pub(super) fn rooted(name: &str) -> String {
    if name.starts_with('\\') {
        name.to_owned()
    } else {
        format!("\\{name}")
    }
}

/// The id of the pool NAME (`\` = the root pool) as the caller may open it.
pub(super) fn resolve(
    client: &mut Client,
    name: &str,
    root_allowed: bool,
) -> Result<Uuid, Failure> {
    if name == "\\" {
        if !root_allowed {
            return Err(Failure::rsm(
                Win32Code::ERROR_INVALID_MEDIA_POOL,
                "the root pool cannot be deleted",
            ));
        }
        let listed: Enumerated = client.call(Call::Enumerate {
            container: None,
            object_type: ObjectType::MediaPool,
            root_pool: true,
        })?;
        return listed.ids.first().copied().ok_or_else(|| {
            Failure::rsm(
                Win32Code::ERROR_OBJECT_NOT_FOUND,
                "the daemon listed no root pool",
            )
        });
    }
    let opened: Created = client
        .call(Call::CreateMediaPool {
            name: rooted(name),
            media_type: None,
            action: CreateDisposition::OpenExisting,
            security: None,
        })
        .map_err(|s| {
            let mut f = Failure::from(s);
            if f.code == 4312 {
                f.message.push_str(&unquoted_hint(name));
            }
            f
        })?;
    Ok(opened.id)
}

/// For a pool that was not found: a shell eats unquoted backslashes (`\Backup\Weekly` arrives
/// as `BackupWeekly`), so a NAME without any `\` gets a hint to quote it.
fn unquoted_hint(name: &str) -> String {
    if name.contains('\\') {
        return String::new();
    }
    format!(
        " (`{name}` has no backslash: the shell removes unquoted ones, so write the path in \
         single quotes, e.g. '\\Backup\\Weekly')"
    )
}

/// `reel library`.
pub fn library(args: LibraryArgs, json: bool) -> Result<(), Failure> {
    let mut client = connect(&args.client)?;
    let doc: Value = client.call(Call::Library {
        rescan: args.rescan,
    })?;
    if json {
        return print_json(&doc);
    }
    let mut out = io::stdout().lock();
    print_library(&mut out, &doc)?;
    Ok(())
}

fn print_library(out: &mut impl Write, doc: &Value) -> io::Result<()> {
    let empty = Vec::new();
    let libraries = doc["libraries"].as_array().unwrap_or(&empty);
    if libraries.is_empty() {
        writeln!(out, "no libraries")?;
    }
    for lib in libraries {
        let c = &lib["changer"];
        writeln!(
            out,
            "library {} {} (serial {}, {})",
            text(&c["vendor"]),
            text(&c["product"]),
            text(&c["serial"]),
            text(&c["path"])
        )?;
        let count = |k: &str| lib[k].as_array().map_or(0, Vec::len);
        let full = |k: &str| {
            lib[k]
                .as_array()
                .map_or(0, |v| v.iter().filter(|e| e["full"] == true).count())
        };
        writeln!(
            out,
            "  slots {} ({} full), import/export {} ({} full), drives {} ({} loaded)",
            count("slots"),
            full("slots"),
            count("import_export"),
            full("import_export"),
            count("drives"),
            full("drives")
        )?;
        for d in lib["drives"].as_array().unwrap_or(&empty) {
            let dev = &d["device"];
            let device = if dev.is_null() {
                "no device".to_owned()
            } else {
                format!(
                    "{} {} {} serial {}",
                    text(&dev["path"]),
                    text(&dev["vendor"]),
                    text(&dev["product"]),
                    text(&dev["serial"])
                )
            };
            writeln!(
                out,
                "  drive {:<6} {:<44} {}",
                text(&d["address"]),
                device,
                if d["full"] == true {
                    text(&d["barcode"])
                } else {
                    "empty".to_owned()
                }
            )?;
        }
        for t in lib["media_types"].as_array().unwrap_or(&empty) {
            writeln!(
                out,
                "  media type {:<14} {:>5} cartridges",
                text(&t["name"]),
                text(&t["cartridges"])
            )?;
        }
    }
    for d in doc["unmatched_drives"].as_array().unwrap_or(&empty) {
        writeln!(
            out,
            "standalone drive {} serial {}",
            text(&d["path"]),
            text(&d["serial"])
        )?;
    }
    Ok(())
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".to_owned(),
        other => other.to_string(),
    }
}

/// `reel media-types`.
pub fn media_types(args: ClientArgs, json: bool) -> Result<(), Failure> {
    let mut client = connect(&args)?;
    let types: MediaTypes = client.call(Call::MediaTypes {})?;
    if json {
        return print_json(&serde_json::to_value(&types).map_err(io::Error::from)?);
    }
    let rows = types
        .media_types
        .iter()
        .map(|t| vec![t.name.clone(), t.id.to_string(), t.libraries.join(",")])
        .collect();
    table(&["NAME", "ID", "LIBRARIES"], rows)
}

/// `reel pool ...`.
pub fn pool(cmd: PoolCommand, json: bool) -> Result<(), Failure> {
    match cmd {
        PoolCommand::Create(a) => create(a, json),
        PoolCommand::List(a) => list(a, json),
        PoolCommand::Show(a) => show(a, json),
        PoolCommand::Delete(a) => delete(a, json),
        PoolCommand::Security(a) => security(a, json),
        PoolCommand::Update(a) => update(a, json),
    }
}

fn create(a: PoolCreateArgs, json: bool) -> Result<(), Failure> {
    let security = descriptor(&a.allow, &a.deny)?;
    let action = match a.action {
        CreateAction::OpenExisting => CreateDisposition::OpenExisting,
        CreateAction::OpenAlways => CreateDisposition::OpenAlways,
        CreateAction::CreateNew => CreateDisposition::CreateNew,
    };
    let mut client = connect(&a.client)?;
    let made: Created = client
        .call(Call::CreateMediaPool {
            name: rooted(&a.name),
            media_type: a.media_type,
            action,
            security,
        })
        .map_err(|s| {
            let mut f = Failure::from(s);
            if f.code == 183 && a.action == CreateAction::CreateNew {
                f.message
                    .push_str("; to open the existing pool instead, add --action open-always");
            }
            if f.code == 4312 {
                f.message.push_str(&unquoted_hint(&a.name));
            }
            f
        })?;
    if json {
        return print_json(&json!({"pool": {
            "id": made.id, "name": made.name, "media_type": made.media_type,
            "created": made.created,
        }}));
    }
    let verb = if made.created { "created" } else { "opened" };
    let mut out = io::stdout().lock();
    writeln!(
        out,
        "{verb} pool {} ({}), media type {}",
        made.name,
        made.id,
        made.media_type.as_deref().unwrap_or("none (holds pools)")
    )?;
    Ok(())
}

fn pool_summary(p: &PoolInfo) -> Value {
    json!({"id": p.id, "name": p.name, "type": p.kind, "media_type": p.media_type})
}

fn list(a: PoolListArgs, json: bool) -> Result<(), Failure> {
    let mut client = connect(&a.client)?;
    let container = match &a.name {
        Some(n) => Some(resolve(&mut client, n, true)?),
        None => None,
    };
    let listed: Enumerated = client.call(Call::Enumerate {
        container,
        object_type: ObjectType::MediaPool,
        root_pool: false,
    })?;
    let mut pools = Vec::with_capacity(listed.ids.len());
    for id in listed.ids {
        match client.call::<PoolInfo>(Call::GetPoolInformation { id }) {
            Ok(p) => pools.push(p),
            // Deleted since the listing, or not ours to read: leave it out.
            Err(s) if matches!(s.code, 4312 | 4302 | 5) => {}
            Err(s) => return Err(s.into()),
        }
    }
    if json {
        let docs: Vec<Value> = pools.iter().map(pool_summary).collect();
        return print_json(&json!({ "pools": docs }));
    }
    let rows = pools
        .iter()
        .map(|p| {
            vec![
                p.name.clone(),
                p.kind.name().to_owned(),
                p.media_type
                    .map_or_else(|| "-".into(), |t| t.name().to_owned()),
                p.id.to_string(),
            ]
        })
        .collect();
    table(&["NAME", "TYPE", "MEDIA TYPE", "ID"], rows)
}

fn show(a: PoolShowArgs, json: bool) -> Result<(), Failure> {
    let mut client = connect(&a.client)?;
    let id = resolve(&mut client, &a.name, true)?;
    let info: Value = client.call(Call::GetPoolInformation { id })?;
    if json {
        return print_json(&json!({ "pool": info }));
    }
    let p: PoolInfo = serde_json::from_value(info).map_err(io::Error::from)?;
    let none = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    // The parent by its path; a top-level pool's parent is the root pool `\`.
    let parent = match p.parent {
        _ if p.kind == pool::PoolKind::Root => "-".to_owned(),
        None => "\\ (the root pool)".to_owned(),
        Some(parent) => client
            .call::<reel::daemon::wire::PoolName>(Call::GetMediaPoolName { id: parent })
            .map(|n| n.name)
            .unwrap_or_else(|_| parent.to_string()),
    };
    let rows = [
        ("name", p.name.clone()),
        ("id", p.id.to_string()),
        ("type", p.kind.name().to_owned()),
        (
            "media type",
            none(p.media_type.map(|t| t.name().to_owned())),
        ),
        ("parent", parent),
        ("description", p.description.clone()),
        (
            "allocation",
            if p.allocation_policy & 1 != 0 {
                "from scratch (Free)".into()
            } else {
                "pool only".into()
            },
        ),
        (
            "deallocation",
            if p.deallocation_policy & 1 != 0 {
                "to scratch (Free)".into()
            } else {
                "stay in pool".into()
            },
        ),
        (
            "max allocates",
            if p.max_allocates == 0 {
                "unlimited".into()
            } else {
                p.max_allocates.to_string()
            },
        ),
        ("physical media", p.physical_media.to_string()),
        ("logical media", p.logical_media.to_string()),
        ("child pools", p.child_pools.to_string()),
        ("owner", account(p.owner.uid, true)),
    ];
    let mut out = io::stdout().lock();
    for (k, v) in rows {
        writeln!(out, "{:<15} {v}", format!("{k}:"))?;
    }
    Ok(())
}

fn delete(a: PoolDeleteArgs, json: bool) -> Result<(), Failure> {
    let mut client = connect(&a.client)?;
    let id = resolve(&mut client, &a.name, false)?;
    let name = client
        .call::<reel::daemon::wire::PoolName>(Call::GetMediaPoolName { id })
        .map(|n| n.name)
        .unwrap_or_else(|_| rooted(&a.name));
    client.call::<Value>(Call::DeleteMediaPool { id })?;
    if json {
        return print_json(&json!({"deleted": {"id": id, "name": name}}));
    }
    writeln!(io::stdout().lock(), "deleted pool {name} ({id})")?;
    Ok(())
}

fn security(a: PoolSecurityArgs, json: bool) -> Result<(), Failure> {
    let replacement = descriptor(&a.allow, &a.deny)?;
    let mut client = connect(&a.client)?;
    let id = resolve(&mut client, &a.name, true)?;
    if let Some(security) = replacement {
        client.call::<Value>(Call::SetObjectSecurity { id, security })?;
    }
    let sec: WireSecurity = client.call(Call::GetObjectSecurity { id })?;
    if json {
        return print_json(&json!({ "security": sec }));
    }
    let mut out = io::stdout().lock();
    if let Some(o) = sec.owner {
        writeln!(out, "owner: {}", account(o.uid, true))?;
    }
    drop(out);
    let rows = sec
        .entries
        .iter()
        .map(|e| {
            let kind = match e.kind {
                AceKind::Allow => "allow",
                AceKind::Deny => "deny",
            };
            vec![kind.to_owned(), who_named(&e.who), e.rights.join(",")]
        })
        .collect();
    table(&["KIND", "WHO", "RIGHTS"], rows)
}

/// `uid 1000 (alice)`, or `uid 1000` for a number with no account here.
fn account(id: u32, user: bool) -> String {
    let name = if user {
        nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(id))
            .ok()
            .flatten()
            .map(|u| u.name)
    } else {
        nix::unistd::Group::from_gid(nix::unistd::Gid::from_raw(id))
            .ok()
            .flatten()
            .map(|g| g.name)
    };
    let kind = if user { "uid" } else { "gid" };
    match name {
        Some(n) => format!("{kind} {id} ({n})"),
        None => format!("{kind} {id}"),
    }
}

/// An ACE's `who` with the account name this system gives it: `gid:26 (tape)`.
fn who_named(who: &str) -> String {
    let named = match who.split_once(':') {
        Some(("uid", n)) => n.parse().ok().map(|n| account(n, true)),
        Some(("gid", n)) => n.parse().ok().map(|n| account(n, false)),
        _ => None,
    };
    match named.as_deref().and_then(|a| a.split_once(" (")) {
        Some((_, name)) => format!("{who} ({name}"),
        None => who.to_owned(),
    }
}

/// `reel pool update`: the pool's current information with the flags given changed, through
/// `set_pool_information` (SetNtmsObjectInformation), then the pool as it now is.
fn update(a: PoolUpdateArgs, json: bool) -> Result<(), Failure> {
    let nothing = a.description.is_none()
        && a.media_type.is_none()
        && a.max_allocates.is_none()
        && a.allocation_policy.is_none()
        && a.deallocation_policy.is_none()
        && a.rename.is_none();
    if nothing {
        return Err(Failure::usage(
            "nothing to change: give --description, --media-type, --max-allocates, \
             --allocation-policy, --deallocation-policy or --rename",
        ));
    }
    let media_type = match a.media_type.as_deref() {
        None => None,
        Some("none") => Some(None),
        Some(t) => match reel::media::MediaTypeRef::parse(t).resolve() {
            Some(mt) => Some(Some(reel::media::MediaTypeRef::from(mt))),
            None => {
                return Err(Failure::rsm(
                    Win32Code::ERROR_INVALID_MEDIA,
                    format!(
                        "{t} is not a media type; `reel media-types` lists the types this \
                         library uses, `none` makes a pool that holds pools"
                    ),
                ))
            }
        },
    };
    let mut client = connect(&a.client)?;
    let id = resolve(&mut client, &a.name, false)?;
    let p: PoolInfo = client.call(Call::GetPoolInformation { id })?;
    let mut info = p.to_update();
    if let Some(name) = &a.rename {
        info.name.clone_from(name);
    }
    if let Some(d) = &a.description {
        info.description.clone_from(d);
    }
    if let Some(t) = media_type {
        info.media_type = t;
    }
    match a.allocation_policy {
        Some(AllocationPolicy::FromScratch) => info.allocation_policy = 1,
        Some(AllocationPolicy::PoolOnly) => info.allocation_policy = 0,
        None => {}
    }
    match a.deallocation_policy {
        Some(DeallocationPolicy::ToScratch) => info.deallocation_policy = 1,
        Some(DeallocationPolicy::StayInPool) => info.deallocation_policy = 0,
        None => {}
    }
    if let Some(n) = a.max_allocates {
        info.max_allocates = n;
    }
    client.call::<Value>(Call::SetPoolInformation { id, info })?;
    let now: Value = client.call(Call::GetPoolInformation { id })?;
    if json {
        return print_json(&json!({ "pool": now }));
    }
    let p: PoolInfo = serde_json::from_value(now).map_err(io::Error::from)?;
    writeln!(
        io::stdout().lock(),
        "updated pool {} ({}): media type {}, {}, {}, max allocates {}{}",
        p.name,
        p.id,
        p.media_type.map_or("none (holds pools)", |t| t.name()),
        if p.allocation_policy & 1 != 0 {
            "allocates from scratch"
        } else {
            "allocates from the pool only"
        },
        if p.deallocation_policy & 1 != 0 {
            "deallocates to scratch"
        } else {
            "deallocated media stay"
        },
        if p.max_allocates == 0 {
            "unlimited".to_owned()
        } else {
            p.max_allocates.to_string()
        },
        if p.description.is_empty() {
            String::new()
        } else {
            format!(", description \"{}\"", p.description)
        },
    )?;
    Ok(())
}

/// An aligned table on stdout.
pub(super) fn table(header: &[&str], rows: Vec<Vec<String>>) -> Result<(), Failure> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = io::stdout().lock();
    let line = |cells: Vec<&str>| {
        let last = cells.len().saturating_sub(1);
        let mut s = String::new();
        for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
            if i == last {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}  "));
            }
        }
        s
    };
    writeln!(out, "{}", line(header.to_vec()))?;
    for r in &rows {
        writeln!(out, "{}", line(r.iter().map(String::as_str).collect()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aces_parse_as_cli_md_writes_them() {
        let all = || {
            pool::AccessMask::FULL
                .names()
                .into_iter()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        type Parsed<'a> = Option<(&'a str, Vec<String>)>;
        let cases: Vec<(&str, Parsed)> = vec![
            ("uid:1000:use", Some(("uid:1000", vec!["use".into()]))),
            (
                "gid:26:control,use",
                Some(("gid:26", vec!["use".into(), "control".into()])),
            ),
            ("everyone:all", Some(("everyone", all()))),
            ("uid:0:use,all", Some(("uid:0", all()))),
            (
                "everyone:read-control,write-dac",
                Some(("everyone", vec!["read-control".into(), "write-dac".into()])),
            ),
            (
                "uid:4294967295:modify",
                Some(("uid:4294967295", vec!["modify".into()])),
            ),
            ("uid:4294967296:use", None),
            ("uid:-1:use", None),
            ("uid:1000", None),
            ("uid::use", None),
            ("user:1:use", None),
            ("everyone:", None),
            ("everyone:use,,modify", None),
            ("everyone:read", None),
            // One grammar with the pool's: names compare case-insensitively.
            ("gid:1:USE", Some(("gid:1", vec!["use".into()]))),
            ("Everyone:Use", Some(("everyone", vec!["use".into()]))),
            ("", None),
        ];
        for (text, want) in cases {
            let got = parse_ace(AceKind::Allow, text);
            match want {
                Some((who, rights)) => {
                    let ace = got.unwrap_or_else(|f| panic!("{text}: {}", f.message));
                    assert_eq!((ace.who.as_str(), ace.rights), (who, rights), "{text}");
                }
                None => {
                    let f = got.expect_err(text);
                    assert_eq!((f.exit_code(), f.code), (2, 87), "{text}");
                }
            }
        }
    }

    #[test]
    fn deny_entries_come_first_each_group_in_order() {
        let allow = vec!["uid:1:use".to_owned(), "everyone:use".to_owned()];
        let deny = vec!["gid:7:all".to_owned(), "uid:2:modify".to_owned()];
        let sec = descriptor(&allow, &deny).unwrap().unwrap();
        let order: Vec<(AceKind, &str)> = sec
            .entries
            .iter()
            .map(|e| (e.kind, e.who.as_str()))
            .collect();
        assert_eq!(
            order,
            vec![
                (AceKind::Deny, "gid:7"),
                (AceKind::Deny, "uid:2"),
                (AceKind::Allow, "uid:1"),
                (AceKind::Allow, "everyone"),
            ]
        );
        assert!(descriptor(&[], &[]).unwrap().is_none());
    }

    #[test]
    fn names_are_rooted() {
        for (given, want) in [
            ("App", r"\App"),
            (r"\App", r"\App"),
            (r"App\P", r"\App\P"),
            (r"\", r"\"),
        ] {
            assert_eq!(rooted(given), want);
        }
    }
}
