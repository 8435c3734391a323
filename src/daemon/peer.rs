//! Who is on the other end of a connection: the kernel's peer credentials, never the client's
//! words.
//!
//! `SO_PEERCRED` gives the uid, primary gid and pid of the peer as they were at `connect()`.
//! The supplementary groups are read from `/proc/<pid>/status` (`Groups:`) when the session
//! opens, because those are the groups the process really holds (a `setpriv --groups` or a
//! dropped group counts; `getgrouplist(3)` would only say what `/etc/group` says).
//!
//! The race, and how it is closed: between `connect()` and the read of `/proc`, the peer may
//! exit and its pid be reused, or it may change its groups. The daemon accepts the `/proc`
//! groups only when the same file's `Uid:` and `Gid:` lines still show the effective uid and gid
//! `SO_PEERCRED` reported; otherwise it falls back to the primary gid alone (fewer rights,
//! never more). A peer that drops groups after connecting keeps those it had when the daemon
//! looked; a peer that gains groups while keeping its uid could only do so with privileges
//! that would let it act as any user anyway.

use std::fs;

use tokio::net::UnixStream;

/// The caller's identity as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerIdentity {
    /// Effective uid at connect time.
    pub uid: u32,
    /// Primary gid first, then the supplementary groups (deduplicated).
    pub gids: Vec<u32>,
    /// Peer pid at connect time (absent when the peer is in another pid namespace).
    pub pid: Option<i32>,
}

/// Reads the peer's identity from a connected socket.
///
/// # Errors
/// When the kernel does not give the peer credentials (not a Unix socket, closed).
pub fn identify(stream: &UnixStream) -> std::io::Result<PeerIdentity> {
    let cred = stream.peer_cred()?;
    let (uid, gid, pid) = (cred.uid(), cred.gid(), cred.pid().filter(|p| *p > 0));
    let supplementary = pid
        .and_then(|p| fs::read_to_string(format!("/proc/{p}/status")).ok())
        .and_then(|status| groups_if_same_process(&status, uid, gid))
        .unwrap_or_default();
    Ok(PeerIdentity {
        uid,
        gids: merge_groups(gid, &supplementary),
        pid,
    })
}

/// The `Groups:` of a `/proc/<pid>/status` text, if its effective uid and gid are `uid`/`gid`.
fn groups_if_same_process(status: &str, uid: u32, gid: u32) -> Option<Vec<u32>> {
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|rest| rest.split_whitespace().collect::<Vec<_>>())
    };
    // `Uid:` and `Gid:` list real, effective, saved and filesystem ids.
    let effective = |name: &str| field(name)?.get(1)?.parse::<u32>().ok();
    if effective("Uid:")? != uid || effective("Gid:")? != gid {
        return None;
    }
    field("Groups:")?
        .iter()
        .map(|g| g.parse::<u32>().ok())
        .collect()
}

fn merge_groups(primary: u32, supplementary: &[u32]) -> Vec<u32> {
    let mut gids = vec![primary];
    for g in supplementary {
        if !gids.contains(g) {
            gids.push(*g);
        }
    }
    gids
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &str = "Name:\treel\nUmask:\t0022\nState:\tS (sleeping)\n\
        Uid:\t1000\t65534\t65534\t65534\nGid:\t100\t65534\t65534\t65534\n\
        FDSize:\t64\nGroups:\t26 4242 65534 \nNStgid:\t1\n";

    #[test]
    fn proc_groups_are_taken_only_from_the_same_identity() {
        let cases: Vec<(u32, u32, Option<Vec<u32>>)> = vec![
            (65534, 65534, Some(vec![26, 4242, 65534])),
            (1000, 65534, None), // real uid is not what SO_PEERCRED reports
            (65534, 100, None),  // gid changed
            (0, 0, None),        // pid reused by another user
        ];
        for (uid, gid, want) in cases {
            assert_eq!(
                groups_if_same_process(STATUS, uid, gid),
                want,
                "uid {uid} gid {gid}"
            );
        }
        let empty = "Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nGroups:\t\n";
        assert_eq!(groups_if_same_process(empty, 0, 0), Some(vec![]));
        assert_eq!(groups_if_same_process("garbage", 0, 0), None);
        let bad = "Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nGroups:\t1 x\n";
        assert_eq!(groups_if_same_process(bad, 0, 0), None);
    }

    #[test]
    fn primary_group_comes_first_once() {
        assert_eq!(
            merge_groups(65534, &[26, 65534, 4242]),
            vec![65534, 26, 4242]
        );
        assert_eq!(merge_groups(0, &[]), vec![0]);
    }

    #[tokio::test]
    async fn a_socket_pair_identifies_this_process() {
        let (a, _b) = UnixStream::pair().unwrap();
        let id = identify(&a).unwrap();
        assert_eq!(id.uid, nix::unistd::geteuid().as_raw());
        assert_eq!(id.gids[0], nix::unistd::getegid().as_raw());
        assert_eq!(id.pid, Some(std::process::id() as i32));
    }
}
