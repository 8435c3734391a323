//! The supplementary groups of a Unix socket's peer (`SO_PEERGROUPS`, Linux 4.13), which
//! neither `nix` nor `std` wraps.
//!
//! The kernel records them at `connect()` with the rest of the peer's credentials, so they are
//! the groups the peer had then, whatever it did since (exited, changed groups, its pid
//! reused). Besides the SG_IO ioctls this is reel's only `unsafe`: one `getsockopt` into a
//! buffer it owns, behind this safe function.

use std::io;
use std::os::fd::{AsFd, AsRawFd};

/// Most groups a process may have (`NGROUPS_MAX` on Linux).
const NGROUPS_MAX: usize = 65_536;

/// The raw ids of the supplementary groups the peer of the connected Unix socket `sock` had at
/// `connect()`, in the kernel's order.
///
/// # Errors
/// The `getsockopt` errno: `ENOPROTOOPT` on kernels before 4.13 or for a socket that is not a
/// Unix socket, `ENOTSOCK`, `ENODATA` for a socket without peer credentials.
#[allow(unsafe_code)]
pub fn peer_groups(sock: impl AsFd) -> io::Result<Vec<u32>> {
    let fd = sock.as_fd().as_raw_fd();
    let mut capacity = 64;
    loop {
        let mut gids: Vec<libc::gid_t> = vec![0; capacity];
        let mut len = (capacity * std::mem::size_of::<libc::gid_t>()) as libc::socklen_t;
        // SAFETY: `gids` is a live, writable buffer of `len` bytes; the kernel writes at most
        // `len` bytes into it and stores the size it wrote (or needs) into `len`.
        let r = unsafe {
            libc::getsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_PEERGROUPS,
                gids.as_mut_ptr().cast(),
                &mut len,
            )
        };
        let needed = len as usize / std::mem::size_of::<libc::gid_t>();
        if r == 0 {
            gids.truncate(needed.min(capacity));
            return Ok(gids);
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::ERANGE) || capacity >= NGROUPS_MAX {
            return Err(e);
        }
        capacity = needed.clamp(capacity + 1, NGROUPS_MAX);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixStream;

    #[test]
    fn a_socket_pair_gives_this_process_groups() {
        let (a, _b) = UnixStream::pair().unwrap();
        let mut got = peer_groups(&a).unwrap();
        got.sort_unstable();
        let mut want: Vec<u32> = nix::unistd::getgroups()
            .unwrap()
            .iter()
            .map(|g| g.as_raw())
            .collect();
        want.sort_unstable();
        want.dedup();
        got.dedup();
        assert_eq!(got, want);
    }
}
