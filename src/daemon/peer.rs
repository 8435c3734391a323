//! Who is on the other end of a connection: the kernel's peer credentials, never the client's
//! words.
//!
//! `SO_PEERCRED` gives the uid, primary gid and pid of the peer, and `SO_PEERGROUPS` its
//! supplementary groups, both as the kernel recorded them at `connect()`: one atomic snapshot,
//! whatever the peer did since (exited, changed its groups, had its pid reused). Reading
//! `/proc/<pid>/status` instead lost the race when the connecting process exited first, and a
//! deny entry naming a group could then be skipped. When the groups cannot be known, the
//! connection is refused: a session with fewer groups than the caller has could have more
//! rights, once denies name groups.

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
/// When the kernel does not give the peer credentials or groups (not a Unix socket, a kernel
/// before 4.13).
pub fn identify(stream: &UnixStream) -> std::io::Result<PeerIdentity> {
    let cred = stream.peer_cred()?;
    let (uid, gid, pid) = (cred.uid(), cred.gid(), cred.pid().filter(|p| *p > 0));
    let supplementary = reel_hw::linux::peer_groups(stream)?;
    Ok(PeerIdentity {
        uid,
        gids: merge_groups(gid, &supplementary),
        pid,
    })
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
