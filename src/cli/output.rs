//! Output: the error line, the JSON error document, logging setup.

use std::io::{self, Write};

use reel::pool::Win32Code;
use serde_json::{json, Value};

/// Sense data attached to a device failure, as cli.md prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SenseInfo {
    /// Sense key.
    pub key: u8,
    /// Additional sense code.
    pub asc: u8,
    /// Additional sense code qualifier.
    pub ascq: u8,
    /// Decoded text.
    pub text: String,
}

/// Why a command failed, in the terms of cli.md: an RSM error name and code, or
/// `DEVICE_ERROR` (1) with optional sense; plus whether it was bad usage (exit 2).
#[derive(Debug)]
pub struct Failure {
    /// `ERROR_ALREADY_EXISTS`, `DEVICE_ERROR`, ...
    pub name: String,
    /// The Win32 number (1 for device errors).
    pub code: u32,
    /// What happened and what to do.
    pub message: String,
    /// Decoded sense, for device errors that carried some.
    pub sense: Option<SenseInfo>,
    /// Bad usage (exit status 2) rather than a failed operation (1).
    pub usage: bool,
    /// The failure was a write to a closed stdout.
    pub broken_pipe: bool,
}

impl Failure {
    /// An operation failure with a code of the one table ([`Win32Code`]).
    pub fn rsm(code: Win32Code, message: impl Into<String>) -> Self {
        Failure {
            name: code.label().to_owned(),
            code: code.0,
            message: message.into(),
            sense: None,
            usage: false,
            broken_pipe: false,
        }
    }

    /// A device failure, with sense when the device sent some.
    pub fn device(message: impl Into<String>, sense: Option<SenseInfo>) -> Self {
        Failure {
            sense,
            ..Failure::rsm(Win32Code::DEVICE_ERROR, message)
        }
    }

    /// Bad usage that clap could not catch (a malformed element, ACE, ...).
    pub fn usage(message: impl Into<String>) -> Self {
        Failure {
            usage: true,
            ..Failure::rsm(Win32Code::ERROR_INVALID_PARAMETER, message)
        }
    }

    /// True when the failure is only a closed stdout.
    pub fn is_broken_pipe(&self) -> bool {
        self.broken_pipe
    }

    /// The exit status: 2 bad usage, 1 anything else that failed.
    pub fn exit_code(&self) -> u8 {
        if self.usage {
            2
        } else {
            1
        }
    }
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        let broken_pipe = e.kind() == io::ErrorKind::BrokenPipe;
        Failure {
            broken_pipe,
            ..Failure::rsm(Win32Code::DEVICE_ERROR, format!("I/O error: {e}"))
        }
    }
}

/// The JSON document for a failure (cli.md "Output and errors").
pub fn error_document(f: &Failure) -> Value {
    let mut err = json!({"name": f.name, "code": f.code, "message": f.message});
    if let Some(s) = &f.sense {
        err["sense"] = json!({"key": s.key, "asc": s.asc, "ascq": s.ascq, "text": s.text});
    }
    json!({ "error": err })
}

/// Prints the failure: always the `error: NAME (CODE): ...` line on stderr, and with `--json`
/// the error document on stdout.
pub fn print_failure(f: &Failure, json: bool) {
    if json {
        let doc = error_document(f);
        let _ = writeln!(io::stdout(), "{doc}");
    }
    let _ = writeln!(
        io::stderr(),
        "error: {} ({}): {}",
        f.name,
        f.code,
        f.message
    );
}

/// Writes one JSON document on stdout.
pub fn print_json(doc: &Value) -> Result<(), Failure> {
    write_json(doc)
}

/// Writes one JSON document on stdout, in members' declaration order, built in memory and
/// handed to the kernel in one `write_all`: stdout is line-buffered, and a large inventory
/// written through it took hundreds of thousands of write(2) calls.
///
/// # Errors
/// A failed write (a closed pipe is reported as such).
pub fn write_json<T: serde::Serialize>(doc: &T) -> Result<(), Failure> {
    let mut buf = Vec::with_capacity(1 << 16);
    serde_json::to_writer_pretty(&mut buf, doc).map_err(io::Error::from)?;
    buf.push(b'\n');
    let mut out = io::stdout().lock();
    out.write_all(&buf)?;
    out.flush()?;
    Ok(())
}

/// Logs go to stderr; `-v` debug, `-vv` trace, `RUST_LOG` overrides.
pub fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(io::stderr)
        // No colour codes where stderr is a pipe or journald.
        .with_ansi(io::IsTerminal::is_terminal(&io::stderr()))
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_documents_match_the_cli_contract() {
        let doc = error_document(&Failure::rsm(
            Win32Code::ERROR_ALREADY_EXISTS,
            "pool exists",
        ));
        assert_eq!(
            doc.to_string(),
            r#"{"error":{"code":183,"message":"pool exists","name":"ERROR_ALREADY_EXISTS"}}"#
        );
        let s = SenseInfo {
            key: 5,
            asc: 0x24,
            ascq: 0,
            text: "Invalid field in CDB".into(),
        };
        let doc = error_document(&Failure::device("refused", Some(s)));
        assert_eq!(doc["error"]["sense"]["asc"], 36);
        assert_eq!(doc["error"]["sense"]["key"], 5);
    }

    #[test]
    fn exit_codes() {
        assert_eq!(Failure::usage("x").exit_code(), 2);
        assert_eq!(Failure::device("x", None).exit_code(), 1);
        assert_eq!(
            Failure::rsm(Win32Code::ERROR_INVALID_NAME, "x").exit_code(),
            1
        );
    }
}
