//! Files a root daemon keeps beside hostile local users: its socket's and database's
//! directories, lock files and the database file itself.
//!
//! The rules (issue 17, finding 1, 7 and 9):
//! - A directory the daemon creates files in must be writable by nobody but root and the
//!   daemon's user: otherwise another user could plant a symlink or a file under a name the
//!   daemon is about to use, or swap the live socket. Its ancestors may be writable by others
//!   only when sticky (`/tmp`), which keeps others from renaming what they do not own; every
//!   component must belong to root or the daemon's user. The check runs on the canonical path,
//!   and the daemon then works on that path, so no symlink is followed after the check.
//! - Files are opened with `O_NOFOLLOW`, created with `O_EXCL`, and given their mode and group
//!   on the descriptor (`fchmod`, `fchown`), never by path.
//! - What must be a regular file is checked to be one before anything is created beside it:
//!   `--db /dev/null` is refused and leaves nothing behind.
//!
//! Decision where the issue is silent: a directory that is group-writable is refused unless
//! its group is root's (gid 0), because the daemon cannot know who else is in that group.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Why a path is not safe for the daemon's files.
#[derive(Debug, thiserror::Error)]
pub enum PathError {
    /// The directory (or an ancestor) can be changed by someone else.
    #[error("{} is {why}; the daemon's socket and database directories must be writable only by root and the daemon's user (use /run/reel and /var/lib/reel, or a directory you own with mode 0755)", dir.display())]
    UnsafeDirectory {
        /// The directory.
        dir: PathBuf,
        /// What is wrong with it.
        why: String,
    },
    /// Something other than a regular file sits where one is needed.
    #[error("{} is {kind}, not a regular file", path.display())]
    NotRegular {
        /// The path.
        path: PathBuf,
        /// What it is (`a symbolic link`, `a character device`, ...).
        kind: &'static str,
    },
    /// The file belongs to another user.
    #[error("{} belongs to uid {uid}, not to the daemon's user (uid {euid}); remove it or give it to the daemon's user", path.display())]
    ForeignOwner {
        /// The path.
        path: PathBuf,
        /// Its owner.
        uid: u32,
        /// The daemon's effective uid.
        euid: u32,
    },
    /// Another process holds the lock.
    #[error("{} is locked by another process", path.display())]
    Locked {
        /// The lock file.
        path: PathBuf,
    },
    /// A file-system step failed.
    #[error("cannot {what} {}: {source}", path.display())]
    Io {
        /// What was being done.
        what: &'static str,
        /// On which path.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
}

impl PathError {
    fn io(what: &'static str, path: &Path) -> impl FnOnce(io::Error) -> PathError {
        let path = path.to_path_buf();
        move |source| PathError::Io { what, path, source }
    }
}

fn euid() -> u32 {
    nix::unistd::geteuid().as_raw()
}

/// What a file type is called in messages.
pub fn kind_of(ft: fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_symlink() {
        "a symbolic link"
    } else if ft.is_dir() {
        "a directory"
    } else if ft.is_char_device() {
        "a character device"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_socket() {
        "a socket"
    } else if ft.is_file() {
        "a regular file"
    } else {
        "an unknown kind of file"
    }
}

/// Why `meta` lets someone other than root and `euid` change the directory's entries, if it
/// does. `last`: the directory the files go in (sticky is not enough there).
fn open_to_others(meta: &fs::Metadata, euid: u32, last: bool) -> Option<String> {
    let mode = meta.mode();
    if meta.uid() != 0 && meta.uid() != euid {
        return Some(format!("owned by uid {}", meta.uid()));
    }
    let sticky = mode & 0o1000 != 0;
    let by = if mode & 0o002 != 0 {
        Some("everyone".to_owned())
    } else if mode & 0o020 != 0 && meta.gid() != 0 {
        Some(format!("group {}", meta.gid()))
    } else {
        None
    }?;
    if sticky && !last {
        return None;
    }
    Some(format!(
        "writable by {by} (mode {:04o}{})",
        mode & 0o7777,
        if sticky { ", sticky" } else { "" }
    ))
}

/// Checks (with `create`, creating it with mode 0755 when missing) the directory `dir` for the
/// daemon's files and returns its canonical path, which callers then use.
///
/// # Errors
/// [`PathError::UnsafeDirectory`] naming the first component others can change;
/// [`PathError::Io`] when it cannot be created or read.
pub fn safe_directory(dir: &Path, create: bool) -> Result<PathBuf, PathError> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    if create && !dir.exists() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(dir)
            .map_err(PathError::io("create the directory", dir))?;
    }
    let canonical = dir
        .canonicalize()
        .map_err(PathError::io("resolve the directory", dir))?;
    let me = euid();
    for (i, a) in canonical.ancestors().enumerate() {
        let meta = fs::symlink_metadata(a).map_err(PathError::io("inspect", a))?;
        if !meta.is_dir() {
            return Err(PathError::NotRegular {
                path: a.to_path_buf(),
                kind: kind_of(meta.file_type()),
            });
        }
        if let Some(why) = open_to_others(&meta, me, i == 0) {
            return Err(PathError::UnsafeDirectory {
                dir: a.to_path_buf(),
                why,
            });
        }
    }
    Ok(canonical)
}

/// `path` with its directory checked by [`safe_directory`] (created when missing with
/// `create`) and made canonical.
///
/// # Errors
/// As [`safe_directory`]; a path without a file name is an [`PathError::Io`].
pub fn in_safe_directory(path: &Path, create: bool) -> Result<PathBuf, PathError> {
    let name = path.file_name().ok_or_else(|| PathError::Io {
        what: "use",
        path: path.to_path_buf(),
        source: io::Error::new(io::ErrorKind::InvalidInput, "the path has no file name"),
    })?;
    let dir = safe_directory(path.parent().unwrap_or(Path::new("")), create)?;
    Ok(dir.join(name))
}

/// What is at `path` now: `None` when nothing; an error for anything but a regular file
/// owned by the daemon's user.
///
/// # Errors
/// [`PathError::NotRegular`], [`PathError::ForeignOwner`], [`PathError::Io`].
pub fn existing_regular(path: &Path) -> Result<Option<fs::Metadata>, PathError> {
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(PathError::io("inspect", path)(e)),
        Ok(meta) if !meta.is_file() => Err(PathError::NotRegular {
            path: path.to_path_buf(),
            kind: kind_of(meta.file_type()),
        }),
        Ok(meta) if meta.uid() != euid() => Err(PathError::ForeignOwner {
            path: path.to_path_buf(),
            uid: meta.uid(),
            euid: euid(),
        }),
        Ok(meta) => Ok(Some(meta)),
    }
}

/// Opens (creating when missing, `O_EXCL`) the regular file `path` without following a
/// symlink, and gives it `mode` and, when set, group `gid` on the descriptor. Returns the file
/// and whether it was created.
///
/// # Errors
/// [`PathError::NotRegular`] for anything but a regular file, [`PathError::ForeignOwner`],
/// [`PathError::Io`].
pub fn open_private(path: &Path, mode: u32, gid: Option<u32>) -> Result<(File, bool), PathError> {
    let open = |create: bool| {
        let mut o = OpenOptions::new();
        o.read(true)
            .write(true)
            .mode(mode)
            .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC | nix::libc::O_NONBLOCK);
        if create {
            o.create_new(true);
        }
        o.open(path)
    };
    let (file, created) = match open(true) {
        Ok(f) => (f, true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            existing_regular(path)?;
            match open(false) {
                Ok(f) => (f, false),
                // ELOOP: a symlink appeared between the check and the open.
                Err(e) if e.raw_os_error() == Some(nix::libc::ELOOP) => {
                    return Err(PathError::NotRegular {
                        path: path.to_path_buf(),
                        kind: "a symbolic link",
                    })
                }
                Err(e) => return Err(PathError::io("open", path)(e)),
            }
        }
        Err(e) => return Err(PathError::io("create", path)(e)),
    };
    let meta = file.metadata().map_err(PathError::io("inspect", path))?;
    if !meta.is_file() {
        return Err(PathError::NotRegular {
            path: path.to_path_buf(),
            kind: kind_of(meta.file_type()),
        });
    }
    if meta.uid() != euid() {
        return Err(PathError::ForeignOwner {
            path: path.to_path_buf(),
            uid: meta.uid(),
            euid: euid(),
        });
    }
    if let Some(g) = gid {
        if meta.gid() != g {
            std::os::unix::fs::fchown(&file, None, Some(g))
                .map_err(PathError::io("set the group of", path))?;
        }
    }
    if meta.mode() & 0o7777 != mode {
        file.set_permissions(fs::Permissions::from_mode(mode))
            .map_err(PathError::io("set the mode of", path))?;
    }
    Ok((file, created))
}

/// An exclusive `flock` on a private lock file; the file is removed when the lock is dropped
/// (by the process that held it, while it still holds it).
#[derive(Debug)]
pub struct LockFile {
    path: PathBuf,
    _lock: nix::fcntl::Flock<File>,
}

impl LockFile {
    /// Takes the lock at `path` (mode 0600, never through a symlink).
    ///
    /// # Errors
    /// [`PathError::Locked`] when another process holds it; the errors of [`open_private`].
    pub fn take(path: &Path) -> Result<LockFile, PathError> {
        use std::os::unix::fs::MetadataExt as _;
        let (file, created) = open_private(path, 0o600, None)?;
        let lock = match nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusiveNonblock)
        {
            Ok(l) => l,
            Err((_, nix::errno::Errno::EWOULDBLOCK)) => {
                return Err(PathError::Locked {
                    path: path.to_path_buf(),
                })
            }
            Err((_, e)) => {
                if created {
                    let _ = fs::remove_file(path);
                }
                return Err(PathError::io("lock", path)(io::Error::from(e)));
            }
        };
        // The holder before us may have removed the file after we opened it: our lock is then
        // on a name nobody else sees. Only the lock on the file at the path counts.
        let held = lock.metadata().map_err(PathError::io("inspect", path))?;
        match fs::symlink_metadata(path) {
            Ok(now) if now.ino() == held.ino() && now.dev() == held.dev() => Ok(LockFile {
                path: path.to_path_buf(),
                _lock: lock,
            }),
            _ => Err(PathError::Locked {
                path: path.to_path_buf(),
            }),
        }
    }

    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for LockFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// `path` with `suffix` appended to its file name (`pools.db` → `pools.db.lock`).
pub fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn directories_others_may_write_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let me = euid();
        let cases: Vec<(u32, bool)> = vec![
            (0o755, true),
            (0o700, true),
            (0o775, false), // group-writable, group is ours (not root's) unless we are root
            (0o777, false),
            (0o1777, false),
            (0o757, false),
        ];
        for (mode, ok) in cases {
            let d = tmp.path().join(format!("d{mode:o}"));
            fs::create_dir(&d).unwrap();
            fs::set_permissions(&d, fs::Permissions::from_mode(mode)).unwrap();
            let gid0 = fs::metadata(&d).unwrap().gid() == 0;
            let want = ok || (mode == 0o775 && gid0);
            assert_eq!(
                safe_directory(&d, false).is_ok(),
                want,
                "mode {mode:o} (euid {me})"
            );
        }
        // Below a sticky world-writable directory is fine, below a plain one is not.
        for (mode, ok) in [(0o1777, true), (0o777, false)] {
            let parent = tmp.path().join(format!("p{mode:o}"));
            fs::create_dir(&parent).unwrap();
            fs::set_permissions(&parent, fs::Permissions::from_mode(mode)).unwrap();
            let d = parent.join("reel");
            fs::create_dir(&d).unwrap();
            assert_eq!(safe_directory(&d, false).is_ok(), ok, "parent {mode:o}");
        }
    }

    #[test]
    fn private_files_are_never_reached_through_a_symlink() {
        let tmp = tempfile::tempdir().unwrap();
        let victim = tmp.path().join("victim");
        fs::write(&victim, b"secret").unwrap();
        fs::set_permissions(&victim, fs::Permissions::from_mode(0o600)).unwrap();
        let link = tmp.path().join("x.lock");
        symlink(&victim, &link).unwrap();
        assert!(matches!(
            LockFile::take(&link),
            Err(PathError::NotRegular {
                kind: "a symbolic link",
                ..
            })
        ));
        assert!(matches!(
            open_private(&link, 0o660, None),
            Err(PathError::NotRegular { .. })
        ));
        let meta = fs::metadata(&victim).unwrap();
        assert_eq!(meta.mode() & 0o777, 0o600);
        assert_eq!(fs::read(&victim).unwrap(), b"secret");
        assert!(matches!(
            open_private(Path::new("/dev/null"), 0o600, None),
            Err(PathError::NotRegular {
                kind: "a character device",
                ..
            })
        ));
    }

    #[test]
    fn a_lock_file_is_private_exclusive_and_removed_with_the_lock() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("a.lock");
        let old = nix::sys::stat::umask(nix::sys::stat::Mode::empty());
        let lock = LockFile::take(&path);
        nix::sys::stat::umask(old);
        let lock = lock.unwrap();
        assert_eq!(fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
        assert!(matches!(
            LockFile::take(&path),
            Err(PathError::Locked { .. })
        ));
        drop(lock);
        assert!(!path.exists());
        drop(LockFile::take(&path).unwrap());
    }
}
