//! The daemon's log policy for calls: every call that changes something is an audit line at
//! info (who, what, result), whatever the result; a read is logged at debug; a failure the
//! server itself caused (database, memory, a device) is a warning as well, whatever the call.
//!
//! [`change`] matches every [`Call`] without a wildcard, so a new call cannot be added without
//! deciding whether it is a change and how it reads.

use uuid::Uuid;

use super::wire::{Call, CreateDisposition, Status};
use crate::pool::Win32Code;

/// What `call` changes, in words, or `None` for a call that only reads.
pub fn change(call: &Call) -> Option<String> {
    let pool = |id: &Uuid| format!("pool {id}");
    match call {
        Call::Hello { .. } | Call::CloseSession {} => None,
        Call::CreateMediaPool {
            name,
            media_type,
            action,
            security,
        } => {
            let verb = match action {
                // Opening an existing pool changes nothing.
                CreateDisposition::OpenExisting => return None,
                CreateDisposition::CreateNew => "create",
                CreateDisposition::OpenAlways => "open or create",
            };
            let holds = match media_type {
                Some(t) => format!("for {t} media"),
                None => "holding pools".to_owned(),
            };
            let acl = match security {
                Some(s) => format!(", {} access entries", s.entries.len()),
                None => String::new(),
            };
            Some(format!("{verb} pool {name} {holds}{acl}"))
        }
        Call::DeleteMediaPool { id } => Some(format!("delete {}", pool(id))),
        Call::SetPoolInformation { id, info } => Some(format!(
            "update {} (name {}, max allocates {}, allocation policy {}, deallocation policy {})",
            pool(id),
            info.name,
            info.max_allocates,
            info.allocation_policy,
            info.deallocation_policy
        )),
        Call::SetObjectSecurity { id, security } => Some(format!(
            "replace the access list of {id} ({} entries)",
            security.entries.len()
        )),
        Call::Library { rescan: true } => Some("rescan the libraries".to_owned()),
        Call::Library { rescan: false }
        | Call::Enumerate { .. }
        | Call::GetPoolInformation { .. }
        | Call::GetMediaPoolName { .. }
        | Call::GetObjectSecurity { .. }
        | Call::MediaTypes {}
        | Call::ListMedia { .. }
        | Call::GetMedium { .. }
        | Call::OperatorRequests {}
        | Call::Status {}
        | Call::Metrics {}
        | Call::Requests { .. }
        | Call::OpenNotification { .. }
        | Call::WaitNotification { .. }
        | Call::CloseNotification { .. } => None,
        Call::MoveElement { from, to, .. } => Some(format!("move the cartridge at {from} to {to}")),
        Call::ExchangeElement {
            source,
            first,
            second,
            ..
        } => Some(format!(
            "exchange the cartridges at {source} and {first} (the second to {})",
            second.as_deref().unwrap_or(source)
        )),
        Call::PositionElement { to, .. } => Some(format!("position the picker at {to}")),
        Call::CancelRequest { id } => Some(format!("cancel library request {id}")),
        Call::Mount { media, write, .. } => Some(format!(
            "mount {} for {}",
            media.join(", "),
            if *write { "writing" } else { "reading" }
        )),
        Call::Dismount { media, deferred } => Some(format!(
            "dismount {}{}",
            media.join(", "),
            if *deferred { " (deferred)" } else { "" }
        )),
        Call::DismountDrive { drive } => Some(format!("dismount drive {drive}")),
        Call::AllocateMedia { pool: p, .. } => Some(format!("allocate a medium from {}", pool(p))),
        Call::DeallocateMedia { lmid, .. } => Some(format!("deallocate logical medium {lmid}")),
        Call::SetMediaComplete { lmid } => Some(format!("mark logical medium {lmid} complete")),
        Call::DecommissionMedia { id } => Some(format!("decommission {id}")),
        Call::MoveToMediaPool { medium, pool: p } => {
            Some(format!("move medium {medium} to {}", pool(p)))
        }
        Call::DeleteMedia { id } => Some(format!("delete medium {id}")),
        Call::AnswerOperatorRequest { id, satisfy } => Some(format!(
            "{} operator request {id}",
            if *satisfy { "satisfy" } else { "refuse" }
        )),
        Call::SubmitOperatorRequest { .. } => Some("submit an operator request".to_owned()),
    }
}

/// True for failures the server caused (its database, memory, a device), which deserve a
/// warning; a caller's mistake (no such pool, access denied, bad name) does not.
pub fn server_fault(s: &Status) -> bool {
    [
        Win32Code::ERROR_NOT_ENOUGH_MEMORY,
        Win32Code::ERROR_DATABASE_FAILURE,
        Win32Code::ERROR_DATABASE_FULL,
        Win32Code::DEVICE_ERROR,
    ]
    .iter()
    .any(|c| c.0 == s.code)
}

/// The account name of `uid`, or the number when it has none.
pub fn user_name(uid: u32) -> String {
    match nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)) {
        Ok(Some(u)) => u.name,
        _ => format!("uid {uid}"),
    }
}

/// The result part of an audit line: `ok` or `ERROR_NAME (CODE): message`.
pub fn result(r: &Result<serde_json::Value, Status>) -> String {
    match r {
        Ok(_) => "ok".to_owned(),
        Err(s) => format!("{} ({}): {}", s.name, s.code, s.message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daemon::wire::{PoolUpdate, WireSecurity};

    #[test]
    fn changes_read_as_words_and_reads_are_not_changes() {
        let id = Uuid::from_u128(7);
        let cases: Vec<(Call, Option<&str>)> = vec![
            (
                Call::CreateMediaPool {
                    name: r"\Backup\Weekly".into(),
                    media_type: Some("LTO-8".into()),
                    action: CreateDisposition::CreateNew,
                    security: None,
                },
                Some(r"create pool \Backup\Weekly for LTO-8 media"),
            ),
            (
                Call::CreateMediaPool {
                    name: r"\Backup".into(),
                    media_type: None,
                    action: CreateDisposition::OpenAlways,
                    security: Some(WireSecurity {
                        owner: None,
                        entries: vec![],
                    }),
                },
                Some(r"open or create pool \Backup holding pools, 0 access entries"),
            ),
            (
                Call::CreateMediaPool {
                    name: r"\Backup".into(),
                    media_type: None,
                    action: CreateDisposition::OpenExisting,
                    security: None,
                },
                None,
            ),
            (
                Call::DeleteMediaPool { id },
                Some("delete pool 00000000-0000-0000-0000-000000000007"),
            ),
            (
                Call::SetPoolInformation {
                    id,
                    info: PoolUpdate {
                        name: "Daily".into(),
                        description: String::new(),
                        media_type: None,
                        allocation_policy: 1,
                        deallocation_policy: 0,
                        max_allocates: 5,
                    },
                },
                Some(
                    "update pool 00000000-0000-0000-0000-000000000007 (name Daily, max \
                     allocates 5, allocation policy 1, deallocation policy 0)",
                ),
            ),
            (Call::Library { rescan: true }, Some("rescan the libraries")),
            (Call::Library { rescan: false }, None),
            (Call::GetPoolInformation { id }, None),
            (Call::MediaTypes {}, None),
        ];
        for (call, want) in cases {
            assert_eq!(change(&call).as_deref(), want, "{call:?}");
        }
    }

    #[test]
    fn only_server_side_failures_warn() {
        for (code, warn) in [
            (Win32Code::ERROR_DATABASE_FAILURE, true),
            (Win32Code::ERROR_DATABASE_FULL, true),
            (Win32Code::DEVICE_ERROR, true),
            (Win32Code::ERROR_OBJECT_NOT_FOUND, false),
            (Win32Code::ERROR_ACCESS_DENIED, false),
            (Win32Code::ERROR_ALREADY_EXISTS, false),
        ] {
            assert_eq!(server_fault(&Status::new(code, "x")), warn, "{code}");
        }
    }
}
