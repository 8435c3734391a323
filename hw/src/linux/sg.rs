//! `/dev/sg*` through the `SG_IO` ioctl (scsi-reference §2).
//!
//! This is, with the one `getsockopt` of [`super::peer`], the place in reel that uses `unsafe`:
//! the two ioctls, each behind a safe wrapper whose `// SAFETY:` comment says why the call is
//! sound. Everything that can be decided without
//! the kernel — what the header's output fields mean — is the pure function [`classify`].

use std::ffi::c_void;
use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::Path;
use std::time::Duration;

use nix::errno::Errno;

use super::error::{InvalidCommand, NodeKind, SgError, SgOp};
use super::status::{DriverStatus, HostStatus};
use crate::{Completion, DataDirection, ScsiStatus, Transport};

/// Character-device major number of the Linux `sg` driver.
pub const SG_MAJOR: u64 = 21;
/// `SG_IO` ioctl request number.
pub const SG_IO: u32 = 0x2285;
/// `SG_GET_VERSION_NUM` ioctl request number.
pub const SG_GET_VERSION_NUM: u32 = 0x2282;
/// Oldest `sg` driver version with the `sg_io_hdr` (v3) interface: 3.0.0.
pub const SG_MIN_VERSION: i32 = 30000;
/// Longest CDB reel sends through `SG_IO` (variable-length CDBs are out of scope).
pub const MAX_CDB_LEN: usize = 16;
/// Shortest CDB `SG_IO` accepts (the kernel answers `EMSGSIZE` below it; SCSI has none shorter).
pub const MIN_CDB_LEN: usize = 6;
/// Sense buffer handed to the kernel (`SCSI_SENSE_BUFFERSIZE`: the kernel keeps no more).
pub const SENSE_BUFFER_LEN: usize = 96;

/// `dxfer_direction` values of `<scsi/sg.h>`.
pub mod dxfer {
    /// No data phase.
    pub const SG_DXFER_NONE: i32 = -1;
    /// Data to the device.
    pub const SG_DXFER_TO_DEV: i32 = -2;
    /// Data from the device.
    pub const SG_DXFER_FROM_DEV: i32 = -3;
    /// Both directions (indirect I/O; unused by reel).
    pub const SG_DXFER_TO_FROM_DEV: i32 = -4;
}

/// reel's own copy of `struct sg_io_hdr` (`sg_io_hdr_t`) from `<scsi/sg.h>`.
///
/// Field order and types are the C header's; `#[repr(C)]` gives the C layout (88 bytes on
/// 64-bit Linux, 64 on 32-bit), pinned by a test.
#[repr(C)]
#[derive(Debug)]
pub struct SgIoHdr {
    /// `'S'` for the v3 interface.
    pub interface_id: i32,
    /// One of [`dxfer`]'s `SG_DXFER_*` values.
    pub dxfer_direction: i32,
    /// CDB length (at most 16).
    pub cmd_len: u8,
    /// Size of the sense buffer at `sbp`.
    pub mx_sb_len: u8,
    /// 0: `dxferp` is a plain buffer, not an iovec array.
    pub iovec_count: u16,
    /// Bytes to transfer.
    pub dxfer_len: u32,
    /// Data buffer (`dxfer_len` bytes).
    pub dxferp: *mut c_void,
    /// CDB (`cmd_len` bytes); the kernel only reads it.
    pub cmdp: *const u8,
    /// Sense buffer (`mx_sb_len` bytes).
    pub sbp: *mut u8,
    /// Timeout in milliseconds.
    pub timeout: u32,
    /// `SG_FLAG_*` bits.
    pub flags: u32,
    /// Unused by SG_IO.
    pub pack_id: i32,
    /// Unused by SG_IO.
    pub usr_ptr: *mut c_void,
    /// Output: SCSI status byte.
    pub status: u8,
    /// Output: `(status >> 1) & 0x7f` (obsolete).
    pub masked_status: u8,
    /// Output: messaging level status (SPI only).
    pub msg_status: u8,
    /// Output: sense bytes written to `sbp`.
    pub sb_len_wr: u8,
    /// Output: host adapter status (`DID_*`).
    pub host_status: u16,
    /// Output: driver status (`DRIVER_*` | `SUGGEST_*`).
    pub driver_status: u16,
    /// Output: `dxfer_len` minus bytes actually transferred.
    pub resid: i32,
    /// Output: milliseconds the command took.
    pub duration: u32,
    /// Output: `SG_INFO_*` bits (bit 0: something abnormal happened).
    pub info: u32,
}

impl SgIoHdr {
    /// A header with every field zero or null.
    pub fn zeroed() -> Self {
        SgIoHdr {
            interface_id: 0,
            dxfer_direction: 0,
            cmd_len: 0,
            mx_sb_len: 0,
            iovec_count: 0,
            dxfer_len: 0,
            dxferp: std::ptr::null_mut(),
            cmdp: std::ptr::null(),
            sbp: std::ptr::null_mut(),
            timeout: 0,
            flags: 0,
            pack_id: 0,
            usr_ptr: std::ptr::null_mut(),
            status: 0,
            masked_status: 0,
            msg_status: 0,
            sb_len_wr: 0,
            host_status: 0,
            driver_status: 0,
            resid: 0,
            duration: 0,
            info: 0,
        }
    }

    /// The fields the kernel filled in.
    pub fn outcome(&self) -> SgOutcome {
        SgOutcome {
            status: self.status,
            masked_status: self.masked_status,
            msg_status: self.msg_status,
            sb_len_wr: self.sb_len_wr,
            host_status: self.host_status,
            driver_status: self.driver_status,
            resid: self.resid,
            duration: self.duration,
            info: self.info,
        }
    }
}

#[allow(unsafe_code)]
mod ioctl {
    use super::SgIoHdr;

    nix::ioctl_readwrite_bad!(
        /// `SG_IO`: runs one command synchronously. Unsafe: `data` must point to a valid
        /// header whose buffers are valid for the lengths it states.
        sg_io,
        super::SG_IO,
        SgIoHdr
    );

    nix::ioctl_read_bad!(
        /// `SG_GET_VERSION_NUM`: the driver version as an int (e.g. 30536 for 3.5.36).
        sg_get_version_num,
        super::SG_GET_VERSION_NUM,
        libc::c_int
    );
}

/// Runs `SG_IO` on `fd` with a header built from `cdb`, `data` and `timeout_ms`, and returns the
/// header's output fields with the sense bytes the kernel wrote into `sense`.
///
/// `fd` must be an sg node (checked by [`SgTransport::open`]) or a node whose driver has no
/// ioctls (`/dev/null` in tests), so request 0x2285 means SG_IO or nothing. The caller checks the
/// command first ([`check_command`]); lengths that do not fit the header's fields fail here with
/// `EINVAL` rather than being truncated.
#[allow(unsafe_code)]
fn sg_io(
    fd: &File,
    cdb: &[u8],
    data: DataDirection<'_>,
    timeout_ms: u32,
    sense: &mut [u8; SENSE_BUFFER_LEN],
) -> Result<SgOutcome, Errno> {
    let (direction, dxferp, dxfer_len) = match data {
        DataDirection::FromDevice(buf) if !buf.is_empty() => (
            dxfer::SG_DXFER_FROM_DEV,
            buf.as_mut_ptr().cast::<c_void>(),
            buf.len(),
        ),
        // The kernel only reads a TO_DEV buffer, so handing it a `*mut` made from a shared
        // borrow never leads to a write through it.
        DataDirection::ToDevice(buf) if !buf.is_empty() => (
            dxfer::SG_DXFER_TO_DEV,
            buf.as_ptr().cast_mut().cast::<c_void>(),
            buf.len(),
        ),
        _ => (dxfer::SG_DXFER_NONE, std::ptr::null_mut(), 0),
    };
    let cmd_len = u8::try_from(cdb.len()).map_err(|_| Errno::EINVAL)?;
    let dxfer_len = u32::try_from(dxfer_len).map_err(|_| Errno::EINVAL)?;
    const _: () = assert!(SENSE_BUFFER_LEN <= u8::MAX as usize);
    let mut hdr = SgIoHdr {
        interface_id: i32::from(b'S'),
        dxfer_direction: direction,
        cmd_len,
        mx_sb_len: SENSE_BUFFER_LEN as u8,
        iovec_count: 0,
        dxfer_len,
        dxferp,
        cmdp: cdb.as_ptr(),
        sbp: sense.as_mut_ptr(),
        timeout: timeout_ms,
        ..SgIoHdr::zeroed()
    };
    // SAFETY: `fd` is an sg node (see above), whose driver reads request 0x2285 as SG_IO with
    // a `sg_io_hdr` and writes the whole header back. `hdr` is a live, exclusively borrowed
    // `sg_io_hdr` with the C layout (size and offsets pinned by tests) that outlives the call, which is synchronous: SG_IO returns only
    // after the command completed or failed, so the kernel holds no pointer afterwards.
    // `cmdp` points to `cdb`, valid for `cmd_len` = `cdb.len()` (<= 16) bytes and only read.
    // `sbp` points to `sense`, valid for `mx_sb_len` = its length; the kernel writes at most
    // `mx_sb_len` bytes there. `dxferp` is null with `dxfer_len` 0 and SG_DXFER_NONE, or points
    // to the caller's buffer of exactly `dxfer_len` bytes, mutably borrowed for FROM_DEV (the
    // kernel writes at most `dxfer_len` bytes) and only read for TO_DEV. `iovec_count` is 0, so
    // `dxferp` is not read as an iovec array. `usr_ptr` is null and unused by SG_IO.
    unsafe { ioctl::sg_io(fd.as_raw_fd(), &mut hdr) }?;
    Ok(hdr.outcome())
}

/// Asks the driver behind `fd` for its version (`SG_GET_VERSION_NUM`). `fd` must be an sg node
/// or a node without ioctls, as for [`sg_io`].
#[allow(unsafe_code)]
fn sg_version(fd: &File) -> Result<i32, Errno> {
    let mut version: libc::c_int = 0;
    // SAFETY: `fd` is an sg node (its major was checked), whose driver answers request 0x2282
    // by writing one `int` through the pointer; it points to the local `version`, valid and
    // exclusively borrowed for the duration of the call. A driver without ioctls (the tests'
    // /dev/null) fails with ENOTTY and writes nothing.
    unsafe { ioctl::sg_get_version_num(fd.as_raw_fd(), &mut version) }?;
    Ok(version)
}

/// The output fields of an `sg_io_hdr` after `SG_IO` returned.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SgOutcome {
    /// SCSI status byte.
    pub status: u8,
    /// Obsolete shifted status.
    pub masked_status: u8,
    /// Messaging level status.
    pub msg_status: u8,
    /// Sense bytes written.
    pub sb_len_wr: u8,
    /// Host adapter status.
    pub host_status: u16,
    /// Driver status.
    pub driver_status: u16,
    /// Residual count (may be negative or larger than the transfer on broken drivers).
    pub resid: i32,
    /// Milliseconds the command took.
    pub duration: u32,
    /// `SG_INFO_*` bits.
    pub info: u32,
}

/// Why a command did not come back as a device answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Undelivered {
    /// The ioctl itself failed.
    Os(Errno),
    /// The host adapter reported a failure (`DID_*` other than `DID_OK`).
    Host {
        /// Host status.
        host: HostStatus,
        /// Driver status reported with it.
        driver: DriverStatus,
    },
    /// The mid-level driver reported a failure other than "sense available".
    Driver(DriverStatus),
}

impl Undelivered {
    /// The [`SgError`] for this failure on `device`.
    pub fn into_error(self, device: &str) -> SgError {
        let device = device.to_owned();
        match self {
            Undelivered::Os(errno) => SgError::Os {
                device,
                op: SgOp::SgIo,
                errno,
            },
            Undelivered::Host { host, driver } => SgError::Host {
                device,
                host,
                driver,
            },
            Undelivered::Driver(driver) => SgError::Driver { device, driver },
        }
    }
}

/// Classifies the result of one `SG_IO`, in the order of scsi-reference §2:
/// OS error → transport error (host status not `DID_OK`, or a driver status other than
/// `DRIVER_SENSE` once the suggest bits are masked) → sense data → other SCSI status → good.
///
/// `sense_buf` is the buffer handed to the kernel (`sb_len_wr` is clamped to it) and
/// `dxfer_len` the data-phase length (the residual is clamped to `0..=dxfer_len`).
///
/// A command whose status is GOOD but whose driver status is `DRIVER_SENSE` with sense bytes is
/// reported as CHECK CONDITION (some low-level drivers flag sense only there, as sg3_utils
/// notes).
///
/// # Errors
/// [`Undelivered`] for the first two steps.
pub fn classify(
    ioctl: Result<SgOutcome, Errno>,
    sense_buf: &[u8],
    dxfer_len: usize,
) -> Result<Completion, Undelivered> {
    let out = ioctl.map_err(Undelivered::Os)?;
    let host = HostStatus(out.host_status);
    let driver = DriverStatus(out.driver_status);
    if host != HostStatus::OK {
        return Err(Undelivered::Host { host, driver });
    }
    if !driver.is_ok_or_sense() {
        return Err(Undelivered::Driver(driver));
    }
    let residual = usize::try_from(out.resid).unwrap_or(0).min(dxfer_len);
    let sense_len = usize::from(out.sb_len_wr).min(sense_buf.len());
    let sense = sense_buf[..sense_len].to_vec();
    let mut status = ScsiStatus(out.status);
    if !sense.is_empty() && status == ScsiStatus::GOOD && driver.is_sense() {
        status = ScsiStatus::CHECK_CONDITION;
    }
    Ok(Completion {
        status,
        sense,
        residual,
    })
}

/// Converts a timeout to SG_IO's milliseconds: rounded up (so a non-zero timeout never becomes
/// "no timeout"), at least 1 ms, and clamped to `u32::MAX` (about 49 days).
pub fn timeout_ms(timeout: Duration) -> u32 {
    let ms = timeout.as_nanos().div_ceil(1_000_000);
    u32::try_from(ms).unwrap_or(u32::MAX).max(1)
}

/// Checks a command before it goes to the kernel.
///
/// # Errors
/// [`InvalidCommand`] for an empty CDB, a CDB shorter than 6 or longer than 16 bytes, or a data
/// phase longer than `u32::MAX` bytes.
pub fn check_command(cdb: &[u8], data_len: usize) -> Result<(), InvalidCommand> {
    if cdb.is_empty() {
        return Err(InvalidCommand::EmptyCdb);
    }
    if cdb.len() < MIN_CDB_LEN {
        return Err(InvalidCommand::CdbTooShort(cdb.len()));
    }
    if cdb.len() > MAX_CDB_LEN {
        return Err(InvalidCommand::CdbTooLong(cdb.len()));
    }
    if u32::try_from(data_len).is_err() {
        return Err(InvalidCommand::TransferTooLong(data_len));
    }
    Ok(())
}

/// What kind of file `meta` describes, for refusals.
fn node_kind(meta: &std::fs::Metadata) -> NodeKind {
    let ft = meta.file_type();
    let rdev = meta.rdev();
    let (major, minor) = (nix::sys::stat::major(rdev), nix::sys::stat::minor(rdev));
    if ft.is_char_device() {
        NodeKind::CharDevice { major, minor }
    } else if ft.is_block_device() {
        NodeKind::BlockDevice { major, minor }
    } else if ft.is_dir() {
        NodeKind::Directory
    } else if ft.is_file() {
        NodeKind::Regular
    } else if ft.is_fifo() {
        NodeKind::Fifo
    } else if ft.is_socket() {
        NodeKind::Socket
    } else {
        NodeKind::Other
    }
}

/// Refuses anything that is not an sg character device.
fn check_node(device: &str, meta: &std::fs::Metadata) -> Result<(), SgError> {
    match node_kind(meta) {
        NodeKind::CharDevice { major, .. } if major == SG_MAJOR => Ok(()),
        found => Err(SgError::NotSg {
            device: device.to_owned(),
            found,
        }),
    }
}

fn io_errno(e: &std::io::Error) -> Errno {
    e.raw_os_error()
        .map_or(Errno::UnknownErrno, Errno::from_raw)
}

/// One `/dev/sg*` node, opened, as a [`Transport`].
#[derive(Debug)]
pub struct SgTransport {
    file: File,
    device: String,
    version: i32,
    last_duration: Option<Duration>,
}

impl SgTransport {
    /// Opens an sg node for SG_IO.
    ///
    /// The path is checked with `stat` before it is opened, so a wrong node (for instance
    /// `/dev/st0`, which rewinds when closed) is refused without being opened; then it is
    /// opened `O_RDWR | O_NONBLOCK | O_CLOEXEC` (non-blocking so the open never waits for
    /// media), checked again with `fstat`, and asked for its driver version.
    ///
    /// # Errors
    /// - [`SgError::Os`] when `stat`, `open`, `fstat` or `SG_GET_VERSION_NUM` fails (a missing
    ///   path is `ENOENT`, kind `NoDevice`; no permission is `EACCES`, kind `Permission`);
    /// - [`SgError::NotSg`] when the path is not a character device with the sg major (21);
    /// - [`SgError::OldDriver`] when the sg driver predates the v3 interface.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, SgError> {
        let path = path.as_ref();
        let device = path.display().to_string();
        let os = |op, e: std::io::Error| SgError::Os {
            device: device.clone(),
            op,
            errno: io_errno(&e),
        };
        let meta = std::fs::metadata(path).map_err(|e| os(SgOp::Stat, e))?;
        check_node(&device, &meta)?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(path)
            .map_err(|e| os(SgOp::Open, e))?;
        // The node may have been replaced between stat and open.
        let meta = file.metadata().map_err(|e| os(SgOp::Fstat, e))?;
        check_node(&device, &meta)?;
        let version = sg_version(&file).map_err(|errno| SgError::Os {
            device: device.clone(),
            op: SgOp::GetVersion,
            errno,
        })?;
        if version < SG_MIN_VERSION {
            return Err(SgError::OldDriver { device, version });
        }
        tracing::debug!(device = %device, sg_version = version, "opened sg node");
        Ok(SgTransport {
            file,
            device,
            version,
            last_duration: None,
        })
    }

    /// The sg driver version the node reported (e.g. 30536 for 3.5.36).
    pub fn sg_version(&self) -> i32 {
        self.version
    }

    /// How long the device took over the last command that came back from `SG_IO` (the
    /// header's `duration`), for statistics.
    pub fn last_duration(&self) -> Option<Duration> {
        self.last_duration
    }
}

impl Transport for SgTransport {
    type Error = SgError;

    /// Runs one command through `SG_IO`; see [`classify`] for how the result is read.
    ///
    /// # Errors
    /// [`SgError::InvalidCommand`] (checked before the kernel sees it), [`SgError::Os`],
    /// [`SgError::Host`], [`SgError::Driver`].
    fn execute(
        &mut self,
        cdb: &[u8],
        data: DataDirection<'_>,
        timeout: Duration,
    ) -> Result<Completion, SgError> {
        let dxfer_len = data.len();
        check_command(cdb, dxfer_len).map_err(|problem| SgError::InvalidCommand {
            device: self.device.clone(),
            problem,
        })?;
        let mut sense = [0u8; SENSE_BUFFER_LEN];
        let outcome = sg_io(&self.file, cdb, data, timeout_ms(timeout), &mut sense);
        self.last_duration = None;
        if let Ok(out) = &outcome {
            self.last_duration = Some(Duration::from_millis(u64::from(out.duration)));
            tracing::trace!(
                device = %self.device,
                opcode = cdb[0],
                status = out.status,
                host = out.host_status,
                driver = out.driver_status,
                resid = out.resid,
                duration_ms = out.duration,
                "SG_IO"
            );
        }
        classify(outcome, &sense, dxfer_len).map_err(|u| u.into_error(&self.device))
    }

    fn device(&self) -> &str {
        &self.device
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{offset_of, size_of};

    /// `offsetof(sg_io_hdr_t, field)` from `<scsi/sg.h>`, 64-bit Linux (x86_64, aarch64).
    #[cfg(target_pointer_width = "64")]
    const C_LAYOUT: (usize, &[(&str, usize)]) = (
        88,
        &[
            ("interface_id", 0),
            ("dxfer_direction", 4),
            ("cmd_len", 8),
            ("mx_sb_len", 9),
            ("iovec_count", 10),
            ("dxfer_len", 12),
            ("dxferp", 16),
            ("cmdp", 24),
            ("sbp", 32),
            ("timeout", 40),
            ("flags", 44),
            ("pack_id", 48),
            ("usr_ptr", 56),
            ("status", 64),
            ("masked_status", 65),
            ("msg_status", 66),
            ("sb_len_wr", 67),
            ("host_status", 68),
            ("driver_status", 70),
            ("resid", 72),
            ("duration", 76),
            ("info", 80),
        ],
    );

    /// The same on 32-bit Linux.
    #[cfg(target_pointer_width = "32")]
    const C_LAYOUT: (usize, &[(&str, usize)]) = (
        64,
        &[
            ("interface_id", 0),
            ("dxfer_direction", 4),
            ("cmd_len", 8),
            ("mx_sb_len", 9),
            ("iovec_count", 10),
            ("dxfer_len", 12),
            ("dxferp", 16),
            ("cmdp", 20),
            ("sbp", 24),
            ("timeout", 28),
            ("flags", 32),
            ("pack_id", 36),
            ("usr_ptr", 40),
            ("status", 44),
            ("masked_status", 45),
            ("msg_status", 46),
            ("sb_len_wr", 47),
            ("host_status", 48),
            ("driver_status", 50),
            ("resid", 52),
            ("duration", 56),
            ("info", 60),
        ],
    );

    fn rust_offsets() -> Vec<(&'static str, usize)> {
        vec![
            ("interface_id", offset_of!(SgIoHdr, interface_id)),
            ("dxfer_direction", offset_of!(SgIoHdr, dxfer_direction)),
            ("cmd_len", offset_of!(SgIoHdr, cmd_len)),
            ("mx_sb_len", offset_of!(SgIoHdr, mx_sb_len)),
            ("iovec_count", offset_of!(SgIoHdr, iovec_count)),
            ("dxfer_len", offset_of!(SgIoHdr, dxfer_len)),
            ("dxferp", offset_of!(SgIoHdr, dxferp)),
            ("cmdp", offset_of!(SgIoHdr, cmdp)),
            ("sbp", offset_of!(SgIoHdr, sbp)),
            ("timeout", offset_of!(SgIoHdr, timeout)),
            ("flags", offset_of!(SgIoHdr, flags)),
            ("pack_id", offset_of!(SgIoHdr, pack_id)),
            ("usr_ptr", offset_of!(SgIoHdr, usr_ptr)),
            ("status", offset_of!(SgIoHdr, status)),
            ("masked_status", offset_of!(SgIoHdr, masked_status)),
            ("msg_status", offset_of!(SgIoHdr, msg_status)),
            ("sb_len_wr", offset_of!(SgIoHdr, sb_len_wr)),
            ("host_status", offset_of!(SgIoHdr, host_status)),
            ("driver_status", offset_of!(SgIoHdr, driver_status)),
            ("resid", offset_of!(SgIoHdr, resid)),
            ("duration", offset_of!(SgIoHdr, duration)),
            ("info", offset_of!(SgIoHdr, info)),
        ]
    }

    #[test]
    fn sg_io_hdr_layout_matches_the_c_header() {
        let (size, offsets) = C_LAYOUT;
        assert_eq!(size_of::<SgIoHdr>(), size);
        assert_eq!(rust_offsets(), offsets.to_vec());
    }

    /// Cross-checks the table against the system's `<scsi/sg.h>` when a C compiler and the
    /// header are installed (skipped, with a note, otherwise: the table above stands alone).
    #[test]
    fn sg_io_hdr_layout_matches_the_installed_header_when_a_compiler_exists() {
        if !Path::new("/usr/include/scsi/sg.h").exists() {
            eprintln!("note: /usr/include/scsi/sg.h missing; C cross-check skipped");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("layout.c");
        let mut c = String::from(
            "#include <stddef.h>\n#include <stdio.h>\n#include <scsi/sg.h>\nint main(void) {\n\
             printf(\"size %zu\\n\", sizeof(sg_io_hdr_t));\n",
        );
        for (name, _) in rust_offsets() {
            c.push_str(&format!(
                "printf(\"{name} %zu\\n\", offsetof(sg_io_hdr_t, {name}));\n"
            ));
        }
        c.push_str("return 0; }\n");
        std::fs::write(&src, c).unwrap();
        let exe = dir.path().join("layout");
        let compiled = std::process::Command::new("cc")
            .arg(&src)
            .arg("-o")
            .arg(&exe)
            .status();
        match compiled {
            Ok(s) if s.success() => {}
            other => {
                eprintln!("note: no working C compiler ({other:?}); C cross-check skipped");
                return;
            }
        }
        let out = std::process::Command::new(&exe).output().unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        let mut expected = vec![format!("size {}", size_of::<SgIoHdr>())];
        expected.extend(rust_offsets().iter().map(|(n, o)| format!("{n} {o}")));
        assert_eq!(text.lines().collect::<Vec<_>>(), expected);
    }

    #[test]
    fn dxfer_directions_are_the_headers() {
        assert_eq!(
            [
                dxfer::SG_DXFER_NONE,
                dxfer::SG_DXFER_TO_DEV,
                dxfer::SG_DXFER_FROM_DEV,
                dxfer::SG_DXFER_TO_FROM_DEV
            ],
            [-1, -2, -3, -4]
        );
    }

    fn out(status: u8, sb_len_wr: u8, host: u16, driver: u16, resid: i32) -> SgOutcome {
        SgOutcome {
            status,
            masked_status: (status >> 1) & 0x7F,
            sb_len_wr,
            host_status: host,
            driver_status: driver,
            resid,
            ..SgOutcome::default()
        }
    }

    /// (what, ioctl result, dxfer_len, expected classification).
    type Case = (
        &'static str,
        Result<SgOutcome, Errno>,
        usize,
        Result<Completion, Undelivered>,
    );

    #[test]
    fn classification_follows_the_reference_order() {
        let sense: Vec<u8> = (0..SENSE_BUFFER_LEN as u8).collect();
        let ok = |status: u8, sense_len: usize, residual: usize| {
            Ok(Completion {
                status: ScsiStatus(status),
                sense: sense[..sense_len].to_vec(),
                residual,
            })
        };
        let host = |h: u16, d: u16| {
            Err(Undelivered::Host {
                host: HostStatus(h),
                driver: DriverStatus(d),
            })
        };
        #[rustfmt::skip]
        let cases: Vec<Case> = vec![
            ("OS error wins over everything", Err(Errno::ENODEV), 512, Err(Undelivered::Os(Errno::ENODEV))),
            ("EINTR", Err(Errno::EINTR), 0, Err(Undelivered::Os(Errno::EINTR))),
            ("host NO_CONNECT", Ok(out(0, 0, 0x01, 0, 0)), 0, host(0x01, 0)),
            ("host TIME_OUT beats sense", Ok(out(2, 18, 0x03, 0x08, 0)), 0, host(0x03, 0x08)),
            ("host RESET", Ok(out(0, 0, 0x08, 0, 0)), 0, host(0x08, 0)),
            ("driver TIMEOUT", Ok(out(0, 0, 0, 0x06, 0)), 0, Err(Undelivered::Driver(DriverStatus(0x06)))),
            ("driver ERROR with SUGGEST_RETRY", Ok(out(0, 0, 0, 0x14, 0)), 0, Err(Undelivered::Driver(DriverStatus(0x14)))),
            ("driver SENSE with suggest bits is not a failure", Ok(out(2, 18, 0, 0x18, 0)), 0, ok(2, 18, 0)),
            ("CHECK CONDITION with sense", Ok(out(2, 18, 0, 0x08, 0)), 0, ok(2, 18, 0)),
            ("CHECK CONDITION, driver byte clear (new kernels)", Ok(out(2, 32, 0, 0, 0)), 0, ok(2, 32, 0)),
            ("sense flagged only by DRIVER_SENSE becomes CHECK CONDITION", Ok(out(0, 18, 0, 0x08, 0)), 0, ok(2, 18, 0)),
            ("CHECK CONDITION without sense", Ok(out(2, 0, 0, 0, 0)), 0, ok(2, 0, 0)),
            ("BUSY", Ok(out(0x08, 0, 0, 0, 0)), 36, ok(0x08, 0, 0)),
            ("RESERVATION CONFLICT", Ok(out(0x18, 0, 0, 0, 0)), 0, ok(0x18, 0, 0)),
            ("GOOD", Ok(out(0, 0, 0, 0, 0)), 96, ok(0, 0, 0)),
            ("GOOD, short transfer", Ok(out(0, 0, 0, 0, 40)), 96, ok(0, 0, 40)),
            ("negative resid clamps to 0", Ok(out(0, 0, 0, 0, -5)), 96, ok(0, 0, 0)),
            ("resid beyond the transfer clamps to it", Ok(out(0, 0, 0, 0, 4096)), 96, ok(0, 0, 96)),
            ("sb_len_wr beyond the buffer clamps to it", Ok(out(2, 255, 0, 0x08, 0)), 0, ok(2, SENSE_BUFFER_LEN, 0)),
        ];
        for (what, outcome, dxfer_len, expected) in cases {
            assert_eq!(classify(outcome, &sense, dxfer_len), expected, "{what}");
        }
    }

    #[test]
    fn open_refuses_what_is_not_an_sg_node() {
        use crate::{TransportError, TransportErrorKind};
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sg0");
        std::fs::write(&file, b"not a device").unwrap();
        let missing = dir.path().join("sg99");
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();

        let null_found = {
            let meta = std::fs::metadata("/dev/null").unwrap();
            node_kind(&meta)
        };
        assert_eq!(null_found, NodeKind::CharDevice { major: 1, minor: 3 });

        let cases: Vec<(&Path, TransportErrorKind, String)> = vec![
            (
                Path::new("/dev/null"),
                TransportErrorKind::NoDevice,
                "/dev/null is not a SCSI generic (sg) device: character device 1:3; \
                 use a /dev/sgN node"
                    .into(),
            ),
            (
                &file,
                TransportErrorKind::NoDevice,
                format!(
                    "{} is not a SCSI generic (sg) device: regular file; use a /dev/sgN node",
                    file.display()
                ),
            ),
            (
                dir.path(),
                TransportErrorKind::NoDevice,
                format!(
                    "{} is not a SCSI generic (sg) device: directory; use a /dev/sgN node",
                    dir.path().display()
                ),
            ),
            (
                &fifo,
                TransportErrorKind::NoDevice,
                format!(
                    "{} is not a SCSI generic (sg) device: FIFO; use a /dev/sgN node",
                    fifo.display()
                ),
            ),
            (
                &missing,
                TransportErrorKind::NoDevice,
                format!(
                    "{}: stat failed: ENOENT: No such file or directory (no such node: list \
                     /sys/class/scsi_generic for the sg devices present)",
                    missing.display()
                ),
            ),
        ];
        for (path, kind, text) in cases {
            let err = SgTransport::open(path).unwrap_err();
            assert_eq!(err.kind(), kind, "{}", path.display());
            assert_eq!(err.to_string(), text);
            assert_eq!(err.device(), path.display().to_string());
        }
        // The file was refused without being opened for writing: its content is intact.
        assert_eq!(std::fs::read(&file).unwrap(), b"not a device");
    }

    /// A transport over a node that is not sg, to drive `execute` up to the kernel.
    fn transport_on_dev_null() -> SgTransport {
        SgTransport {
            file: OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/null")
                .unwrap(),
            device: "/dev/null".into(),
            version: SG_MIN_VERSION,
            last_duration: None,
        }
    }

    #[test]
    fn ioctl_wrappers_reach_the_kernel_and_report_its_errno() {
        let null = std::fs::File::open("/dev/null").unwrap();
        assert_eq!(sg_version(&null), Err(Errno::ENOTTY));
        let mut sense = [0u8; SENSE_BUFFER_LEN];
        let mut buf = [0u8; 36];
        let cdb = [0x12, 0, 0, 0, 36, 0];
        for data in [
            DataDirection::None,
            DataDirection::FromDevice(&mut buf),
            DataDirection::ToDevice(&[1, 2, 3]),
        ] {
            assert_eq!(
                sg_io(&null, &cdb, data, 1000, &mut sense),
                Err(Errno::ENOTTY)
            );
        }
    }

    #[test]
    fn execute_checks_the_command_then_reports_the_ioctl_error() {
        use crate::{TransportError, TransportErrorKind};
        let mut t = transport_on_dev_null();
        assert_eq!(t.device(), "/dev/null");
        let too_long = [0u8; 17];
        let cases: [(&[u8], &str); 3] = [
            (&[], "/dev/null: command not sent: empty CDB"),
            (
                &too_long,
                "/dev/null: command not sent: CDB of 17 bytes; SG_IO takes at most 16",
            ),
            (
                &[0x00, 0, 0, 0, 0, 0],
                // nix describes ENOTTY in its own words.
                &format!("/dev/null: SG_IO failed: {}", Errno::ENOTTY),
            ),
        ];
        for (cdb, text) in cases {
            let err = t.no_data(cdb, Duration::from_secs(30)).unwrap_err();
            assert_eq!(err.to_string(), text);
            assert_eq!(err.kind(), TransportErrorKind::Other);
        }
        let mut buf = [0u8; 8];
        let err = t
            .read(&[0x12, 0, 0, 0, 8, 0], &mut buf, Duration::from_secs(30))
            .unwrap_err();
        assert_eq!(err.errno(), Some(Errno::ENOTTY));
    }

    #[test]
    fn erased_transport_keeps_the_error_kind_and_device() {
        use crate::{AnyTransport, TransportError, TransportErrorKind};
        let mut t = AnyTransport::new(transport_on_dev_null());
        assert_eq!(t.device(), "/dev/null");
        let err = t.no_data(&[], Duration::from_secs(1)).unwrap_err();
        assert_eq!(err.kind(), TransportErrorKind::Other);
        assert_eq!(err.to_string(), "/dev/null: command not sent: empty CDB");
    }

    proptest::proptest! {
        #[test]
        fn classification_never_panics_and_clamps(
            status: u8, sb_len_wr: u8, host: u16, driver: u16, resid: i32,
            dxfer_len in 0usize..70_000,
        ) {
            let sense = [0xAAu8; SENSE_BUFFER_LEN];
            let o = SgOutcome { status, sb_len_wr, host_status: host, driver_status: driver, resid,
                ..SgOutcome::default() };
            match classify(Ok(o), &sense, dxfer_len) {
                Ok(c) => {
                    proptest::prop_assert_eq!(host, 0);
                    proptest::prop_assert!(c.residual <= dxfer_len);
                    proptest::prop_assert!(c.sense.len() <= SENSE_BUFFER_LEN);
                    proptest::prop_assert_eq!(c.sense.len(), usize::from(sb_len_wr).min(SENSE_BUFFER_LEN));
                }
                Err(Undelivered::Host { .. }) => proptest::prop_assert_ne!(host, 0),
                Err(Undelivered::Driver(d)) => {
                    proptest::prop_assert_eq!(host, 0);
                    proptest::prop_assert!(!d.is_ok_or_sense());
                }
                Err(Undelivered::Os(_)) => proptest::prop_assert!(false, "no OS error was given"),
            }
        }
    }

    #[test]
    fn timeouts_convert_to_milliseconds() {
        let cases = [
            (Duration::ZERO, 1),
            (Duration::from_micros(1), 1),
            (Duration::from_micros(1500), 2),
            (Duration::from_millis(30_000), 30_000),
            (Duration::from_secs(30 * 60), 1_800_000),
            (Duration::from_secs(u64::from(u32::MAX)), u32::MAX),
            (Duration::MAX, u32::MAX),
        ];
        for (d, ms) in cases {
            assert_eq!(timeout_ms(d), ms, "{d:?}");
        }
    }

    #[test]
    fn commands_are_checked_before_the_kernel() {
        let cases: [(&[u8], usize, Result<(), InvalidCommand>); 8] = [
            (&[], 0, Err(InvalidCommand::EmptyCdb)),
            (&[0x00], 0, Err(InvalidCommand::CdbTooShort(1))),
            (&[0; 5], 0, Err(InvalidCommand::CdbTooShort(5))),
            (&[0; 6], 0, Ok(())),
            (&[0; 16], 0xFFFF, Ok(())),
            (&[0; 17], 0, Err(InvalidCommand::CdbTooLong(17))),
            (&[0; 32], 0, Err(InvalidCommand::CdbTooLong(32))),
            (&[0; 12], u32::MAX as usize, Ok(())),
        ];
        for (cdb, len, expected) in cases {
            assert_eq!(check_command(cdb, len), expected, "{cdb:?} {len}");
        }
        #[cfg(target_pointer_width = "64")]
        assert_eq!(
            check_command(&[0; 6], u32::MAX as usize + 1),
            Err(InvalidCommand::TransferTooLong(u32::MAX as usize + 1))
        );
    }
}
