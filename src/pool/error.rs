//! RSM result codes (rsm-media-pools Appendix A.1) and the pool layer's error type.

use std::fmt;

use thiserror::Error;

use crate::db::{DbError, DbErrorKind};

/// A Win32 result code as RSM returns it. An open newtype: unknown values pass through.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Win32Code(pub u32);

macro_rules! win32_codes {
    ($($name:ident = $value:expr,)*) => {
        impl Win32Code {
            $(
                #[doc = concat!("`", stringify!($name), "` (", stringify!($value), ").")]
                pub const $name: Self = Self($value);
            )*

            /// Every code of the table: Appendix A.1 codes that have a number, and reel's own.
            pub const ALL: &'static [Win32Code] = &[$(Self::$name),*];

            /// The Win32 name (`ERROR_ACCESS_DENIED`), or `None` for a code reel does not know.
            pub fn name(self) -> Option<&'static str> {
                match self {
                    $(Self::$name => Some(stringify!($name)),)*
                    _ => None,
                }
            }

            /// The code with this Win32 name.
            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    $(stringify!($name) => Some(Self::$name),)*
                    _ => None,
                }
            }
        }
    };
}

// The one table of status names and numbers: the daemon's wire statuses and the CLI's failures
// are all built from these constants. Adding a code is one line here.
win32_codes! {
    ERROR_SUCCESS = 0,
    // reel's own (cli.md): a device failure with no RSM code. Win32's 1 (ERROR_INVALID_FUNCTION)
    // is never returned by RSM, so the number cannot be mistaken for one of its codes.
    DEVICE_ERROR = 1,
    ERROR_ACCESS_DENIED = 5,
    ERROR_INVALID_HANDLE = 6,
    ERROR_NOT_ENOUGH_MEMORY = 8,
    ERROR_BAD_FORMAT = 11,
    ERROR_INVALID_DRIVE = 15,
    ERROR_WRITE_PROTECT = 19,
    ERROR_NOT_READY = 21,
    ERROR_WRITE_FAULT = 29,
    ERROR_INVALID_PARAMETER = 87,
    ERROR_INSUFFICIENT_BUFFER = 122,
    ERROR_INVALID_NAME = 123,
    ERROR_BUSY = 170,
    ERROR_ALREADY_EXISTS = 183,
    ERROR_NO_DATA = 232,
    ERROR_CONNECTION_UNAVAIL = 1201,
    ERROR_INVALID_COMPUTERNAME = 1210,
    ERROR_NO_NETWORK = 1222,
    ERROR_CANCELLED = 1223,
    ERROR_NO_SECURITY_ON_OBJECT = 1350,
    ERROR_TIMEOUT = 1460,
    RPC_S_NO_INTERFACES = 1817,
    ERROR_NOT_CONNECTED = 2250,
    ERROR_INVALID_MEDIA = 4300,
    ERROR_INVALID_LIBRARY = 4301,
    ERROR_INVALID_MEDIA_POOL = 4302,
    ERROR_DRIVE_MEDIA_MISMATCH = 4303,
    ERROR_MEDIA_OFFLINE = 4304,
    ERROR_LIBRARY_OFFLINE = 4305,
    ERROR_EMPTY = 4306,
    ERROR_NOT_EMPTY = 4307,
    ERROR_MEDIA_UNAVAILABLE = 4308,
    ERROR_RESOURCE_DISABLED = 4309,
    ERROR_OBJECT_NOT_FOUND = 4312,
    ERROR_DATABASE_FAILURE = 4313,
    ERROR_DATABASE_FULL = 4314,
    ERROR_MEDIA_INCOMPATIBLE = 4315,
    ERROR_RESOURCE_NOT_PRESENT = 4316,
    ERROR_INVALID_OPERATION = 4317,
    ERROR_MEDIA_NOT_AVAILABLE = 4318,
    ERROR_DEVICE_NOT_AVAILABLE = 4319,
    ERROR_REQUEST_REFUSED = 4320,
    ERROR_LIBRARY_FULL = 4322,
    ERROR_MEDIUM_NOT_ACCESSIBLE = 4323,
    ERROR_UNABLE_TO_LOAD_MEDIUM = 4324,
    ERROR_NO_SUPPORTING_DRIVES = 4339,
    ERROR_INVALID_STATE = 5023,
}

impl Win32Code {
    /// The name to print and send: [`Win32Code::name`], or `ERROR_UNKNOWN` for a number the
    /// table lacks.
    pub fn label(self) -> &'static str {
        self.name().unwrap_or("ERROR_UNKNOWN")
    }

    /// The remote (HRESULT) form: `0x80070000 | code`; success stays 0.
    pub fn hresult(self) -> u32 {
        if self.0 == 0 {
            0
        } else {
            0x8007_0000 | (self.0 & 0xFFFF)
        }
    }
}

impl fmt::Debug for Win32Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "Win32Code({})", self.0),
        }
    }
}

impl fmt::Display for Win32Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n} ({})", self.0),
            None => write!(f, "Win32 error {}", self.0),
        }
    }
}

/// An RSM call that failed: the Win32 code it returns and what happened.
///
/// Each variant is one code of Appendix A.1; the text says what happened and, where it helps,
/// what to do. `ERROR_INVALID_PARTITION` has no public number, so reel reports
/// [`RsmError::InvalidMedia`] for it (§5.7).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum RsmError {
    /// `ERROR_ACCESS_DENIED` (5).
    #[error("access denied: {0}")]
    AccessDenied(String),
    /// `ERROR_INVALID_HANDLE` (6): the session is unknown or closed.
    #[error("invalid handle: {0}")]
    InvalidHandle(String),
    /// `ERROR_NOT_ENOUGH_MEMORY` (8).
    #[error("not enough memory: {0}")]
    NotEnoughMemory(String),
    /// `ERROR_NOT_READY` (21): the service is still initializing; retry.
    #[error("not ready: {0}")]
    NotReady(String),
    /// `ERROR_INVALID_PARAMETER` (87).
    #[error("invalid parameter: {0}")]
    InvalidParameter(String),
    /// `ERROR_INSUFFICIENT_BUFFER` (122): `needed` is the size that would have fit.
    #[error("insufficient buffer: {needed} needed, {given} given")]
    InsufficientBuffer {
        /// Size needed (ids for enumeration; UTF-16 units incl. terminator for names).
        needed: usize,
        /// Size given.
        given: usize,
    },
    /// `ERROR_INVALID_NAME` (123): a pool name breaks the rules of §2.
    #[error("invalid name: {0}")]
    InvalidName(String),
    /// `ERROR_BUSY` (170).
    #[error("busy: {0}")]
    Busy(String),
    /// `ERROR_ALREADY_EXISTS` (183).
    #[error("already exists: {0}")]
    AlreadyExists(String),
    /// `ERROR_NO_SECURITY_ON_OBJECT` (1350).
    #[error("no security on object: {0}")]
    NoSecurityOnObject(String),
    /// `ERROR_INVALID_MEDIA` (4300): a bad media type, medium or side.
    #[error("invalid media: {0}")]
    InvalidMedia(String),
    /// `ERROR_INVALID_LIBRARY` (4301).
    #[error("invalid library: {0}")]
    InvalidLibrary(String),
    /// `ERROR_INVALID_MEDIA_POOL` (4302).
    #[error("invalid media pool: {0}")]
    InvalidMediaPool(String),
    /// `ERROR_NOT_EMPTY` (4307).
    #[error("not empty: {0}")]
    NotEmpty(String),
    /// `ERROR_OBJECT_NOT_FOUND` (4312).
    #[error("object not found: {0}")]
    ObjectNotFound(String),
    /// `ERROR_DATABASE_FAILURE` (4313): the database is unreadable, damaged, read-only or locked.
    #[error("database failure: {0}")]
    DatabaseFailure(#[source] DbError),
    /// `ERROR_DATABASE_FULL` (4314): no room on disk, or the configured object limit.
    #[error("database full: {0}")]
    DatabaseFull(#[source] DbError),
    /// `ERROR_MEDIA_INCOMPATIBLE` (4315).
    #[error("media incompatible: {0}")]
    MediaIncompatible(String),
    /// `ERROR_INVALID_OPERATION` (4317).
    #[error("invalid operation: {0}")]
    InvalidOperation(String),
    /// `ERROR_CANCELLED` (1223): the operator refused the request the call waited on.
    #[error("cancelled: {0}")]
    Cancelled(String),
    /// `ERROR_TIMEOUT` (1460): nothing came within the call's timeout.
    #[error("timeout: {0}")]
    Timeout(String),
    /// `ERROR_MEDIA_OFFLINE` (4304): the medium is out of every library.
    #[error("media offline: {0}")]
    MediaOffline(String),
    /// `ERROR_MEDIA_UNAVAILABLE` (4308): nothing can be allocated, or the side is in use.
    #[error("media unavailable: {0}")]
    MediaUnavailable(String),
    /// `ERROR_DEVICE_NOT_AVAILABLE` (4319): the physical work behind the call failed.
    #[error("device not available: {0}")]
    DeviceNotAvailable(String),
    /// `ERROR_INVALID_STATE` (5023): the object is not in a state the call accepts.
    #[error("invalid state: {0}")]
    InvalidState(String),
}

impl RsmError {
    /// The Win32 code.
    pub fn win32(&self) -> Win32Code {
        match self {
            RsmError::AccessDenied(_) => Win32Code::ERROR_ACCESS_DENIED,
            RsmError::InvalidHandle(_) => Win32Code::ERROR_INVALID_HANDLE,
            RsmError::NotEnoughMemory(_) => Win32Code::ERROR_NOT_ENOUGH_MEMORY,
            RsmError::NotReady(_) => Win32Code::ERROR_NOT_READY,
            RsmError::InvalidParameter(_) => Win32Code::ERROR_INVALID_PARAMETER,
            RsmError::InsufficientBuffer { .. } => Win32Code::ERROR_INSUFFICIENT_BUFFER,
            RsmError::InvalidName(_) => Win32Code::ERROR_INVALID_NAME,
            RsmError::Busy(_) => Win32Code::ERROR_BUSY,
            RsmError::AlreadyExists(_) => Win32Code::ERROR_ALREADY_EXISTS,
            RsmError::NoSecurityOnObject(_) => Win32Code::ERROR_NO_SECURITY_ON_OBJECT,
            RsmError::InvalidMedia(_) => Win32Code::ERROR_INVALID_MEDIA,
            RsmError::InvalidLibrary(_) => Win32Code::ERROR_INVALID_LIBRARY,
            RsmError::InvalidMediaPool(_) => Win32Code::ERROR_INVALID_MEDIA_POOL,
            RsmError::NotEmpty(_) => Win32Code::ERROR_NOT_EMPTY,
            RsmError::ObjectNotFound(_) => Win32Code::ERROR_OBJECT_NOT_FOUND,
            RsmError::DatabaseFailure(_) => Win32Code::ERROR_DATABASE_FAILURE,
            RsmError::DatabaseFull(_) => Win32Code::ERROR_DATABASE_FULL,
            RsmError::MediaIncompatible(_) => Win32Code::ERROR_MEDIA_INCOMPATIBLE,
            RsmError::InvalidOperation(_) => Win32Code::ERROR_INVALID_OPERATION,
            RsmError::Cancelled(_) => Win32Code::ERROR_CANCELLED,
            RsmError::Timeout(_) => Win32Code::ERROR_TIMEOUT,
            RsmError::MediaOffline(_) => Win32Code::ERROR_MEDIA_OFFLINE,
            RsmError::MediaUnavailable(_) => Win32Code::ERROR_MEDIA_UNAVAILABLE,
            RsmError::DeviceNotAvailable(_) => Win32Code::ERROR_DEVICE_NOT_AVAILABLE,
            RsmError::InvalidState(_) => Win32Code::ERROR_INVALID_STATE,
        }
    }

    /// The Win32 name, e.g. `ERROR_ALREADY_EXISTS`.
    pub fn name(&self) -> &'static str {
        // Every variant maps to a listed code, which has a name.
        self.win32().label()
    }

    /// The Win32 number, e.g. 183.
    pub fn code(&self) -> u32 {
        self.win32().0
    }

    /// The remote (HRESULT) form, `0x80070000 | code`.
    pub fn hresult(&self) -> u32 {
        self.win32().hresult()
    }
}

impl From<DbError> for RsmError {
    fn from(e: DbError) -> Self {
        match e.kind() {
            DbErrorKind::Full => RsmError::DatabaseFull(e),
            DbErrorKind::Failure => RsmError::DatabaseFailure(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_table() {
        #[rustfmt::skip]
        let table: [(&str, u32); 48] = [
            ("ERROR_SUCCESS", 0), ("DEVICE_ERROR", 1), ("ERROR_ACCESS_DENIED", 5), ("ERROR_INVALID_HANDLE", 6),
            ("ERROR_NOT_ENOUGH_MEMORY", 8), ("ERROR_BAD_FORMAT", 11), ("ERROR_NOT_READY", 21), ("ERROR_WRITE_FAULT", 29),
            ("ERROR_INVALID_PARAMETER", 87), ("ERROR_INSUFFICIENT_BUFFER", 122),
            ("ERROR_INVALID_NAME", 123), ("ERROR_BUSY", 170), ("ERROR_ALREADY_EXISTS", 183),
            ("ERROR_CONNECTION_UNAVAIL", 1201), ("ERROR_INVALID_COMPUTERNAME", 1210),
            ("ERROR_NO_NETWORK", 1222), ("ERROR_CANCELLED", 1223),
            ("ERROR_NO_SECURITY_ON_OBJECT", 1350), ("ERROR_TIMEOUT", 1460),
            ("RPC_S_NO_INTERFACES", 1817), ("ERROR_NOT_CONNECTED", 2250),
            ("ERROR_INVALID_MEDIA", 4300), ("ERROR_INVALID_LIBRARY", 4301),
            ("ERROR_INVALID_MEDIA_POOL", 4302), ("ERROR_DRIVE_MEDIA_MISMATCH", 4303),
            ("ERROR_MEDIA_OFFLINE", 4304), ("ERROR_LIBRARY_OFFLINE", 4305), ("ERROR_EMPTY", 4306),
            ("ERROR_NOT_EMPTY", 4307), ("ERROR_MEDIA_UNAVAILABLE", 4308),
            ("ERROR_RESOURCE_DISABLED", 4309), ("ERROR_OBJECT_NOT_FOUND", 4312),
            ("ERROR_DATABASE_FAILURE", 4313), ("ERROR_DATABASE_FULL", 4314),
            ("ERROR_MEDIA_INCOMPATIBLE", 4315), ("ERROR_RESOURCE_NOT_PRESENT", 4316),
            ("ERROR_INVALID_OPERATION", 4317), ("ERROR_MEDIA_NOT_AVAILABLE", 4318),
            ("ERROR_DEVICE_NOT_AVAILABLE", 4319), ("ERROR_REQUEST_REFUSED", 4320),
            ("ERROR_INVALID_STATE", 5023),
            ("ERROR_INVALID_DRIVE", 15), ("ERROR_WRITE_PROTECT", 19), ("ERROR_NO_DATA", 232),
            ("ERROR_MEDIUM_NOT_ACCESSIBLE", 4323), ("ERROR_UNABLE_TO_LOAD_MEDIUM", 4324),
            ("ERROR_NO_SUPPORTING_DRIVES", 4339), ("ERROR_LIBRARY_FULL", 4322),
        ];
        assert_eq!(Win32Code::ALL.len(), table.len());
        for (name, value) in table {
            let c = Win32Code::from_name(name).unwrap_or_else(|| panic!("{name} missing"));
            assert_eq!(c.0, value, "{name}");
            assert_eq!(c.name(), Some(name));
            let want = if value == 0 { 0 } else { 0x8007_0000 | value };
            assert_eq!(c.hresult(), want, "{name}");
        }
        assert_eq!(Win32Code(4311).name(), None);
        assert_eq!(Win32Code(4311).label(), "ERROR_UNKNOWN");
        assert_eq!(Win32Code::DEVICE_ERROR.label(), "DEVICE_ERROR");
        assert_eq!(format!("{:?}", Win32Code(4311)), "Win32Code(4311)");
        assert_eq!(
            Win32Code::ERROR_ALREADY_EXISTS.to_string(),
            "ERROR_ALREADY_EXISTS (183)"
        );
        assert_eq!(Win32Code::ERROR_DATABASE_FULL.hresult(), 0x8007_10DA);
    }

    #[test]
    fn error_variants() {
        let s = || "x".to_owned();
        let table: Vec<(RsmError, &str, u32)> = vec![
            (RsmError::AccessDenied(s()), "ERROR_ACCESS_DENIED", 5),
            (RsmError::InvalidHandle(s()), "ERROR_INVALID_HANDLE", 6),
            (RsmError::NotEnoughMemory(s()), "ERROR_NOT_ENOUGH_MEMORY", 8),
            (RsmError::NotReady(s()), "ERROR_NOT_READY", 21),
            (
                RsmError::InvalidParameter(s()),
                "ERROR_INVALID_PARAMETER",
                87,
            ),
            (
                RsmError::InsufficientBuffer {
                    needed: 3,
                    given: 1,
                },
                "ERROR_INSUFFICIENT_BUFFER",
                122,
            ),
            (RsmError::InvalidName(s()), "ERROR_INVALID_NAME", 123),
            (RsmError::Busy(s()), "ERROR_BUSY", 170),
            (RsmError::AlreadyExists(s()), "ERROR_ALREADY_EXISTS", 183),
            (
                RsmError::NoSecurityOnObject(s()),
                "ERROR_NO_SECURITY_ON_OBJECT",
                1350,
            ),
            (RsmError::InvalidMedia(s()), "ERROR_INVALID_MEDIA", 4300),
            (RsmError::InvalidLibrary(s()), "ERROR_INVALID_LIBRARY", 4301),
            (
                RsmError::InvalidMediaPool(s()),
                "ERROR_INVALID_MEDIA_POOL",
                4302,
            ),
            (RsmError::NotEmpty(s()), "ERROR_NOT_EMPTY", 4307),
            (
                RsmError::ObjectNotFound(s()),
                "ERROR_OBJECT_NOT_FOUND",
                4312,
            ),
            (
                DbError::failure("open", None).into(),
                "ERROR_DATABASE_FAILURE",
                4313,
            ),
            (
                DbError::full("object limit", None).into(),
                "ERROR_DATABASE_FULL",
                4314,
            ),
            (
                RsmError::MediaIncompatible(s()),
                "ERROR_MEDIA_INCOMPATIBLE",
                4315,
            ),
            (
                RsmError::InvalidOperation(s()),
                "ERROR_INVALID_OPERATION",
                4317,
            ),
            (RsmError::Cancelled(s()), "ERROR_CANCELLED", 1223),
            (RsmError::Timeout(s()), "ERROR_TIMEOUT", 1460),
            (RsmError::MediaOffline(s()), "ERROR_MEDIA_OFFLINE", 4304),
            (
                RsmError::MediaUnavailable(s()),
                "ERROR_MEDIA_UNAVAILABLE",
                4308,
            ),
            (
                RsmError::DeviceNotAvailable(s()),
                "ERROR_DEVICE_NOT_AVAILABLE",
                4319,
            ),
            (RsmError::InvalidState(s()), "ERROR_INVALID_STATE", 5023),
        ];
        for (e, name, code) in table {
            assert_eq!((e.name(), e.code()), (name, code), "{e}");
            assert_eq!(e.hresult(), 0x8007_0000 | code);
            assert_eq!(Win32Code::from_name(name), Some(e.win32()));
            assert!(!e.to_string().is_empty());
        }
    }
}
