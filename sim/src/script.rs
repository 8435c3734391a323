//! A scripted transport for driver tests: expected CDB → canned reply.
//!
//! Shaped like embedded-hal-mock: build a [`ScriptedTransport`] from the exact list of commands
//! a driver must send ([`Expect`]), each with the reply the "device" gives. The transport panics
//! with a readable diff when the driver sends anything else, and [`ScriptedTransport::done`]
//! checks that every expectation was used. Dropping a transport without calling `done` panics
//! too, so a test cannot forget the check.
//!
//! Panicking is this type's job: it is a test double, never a backend.
//!
//! ```
//! use reel_sim::script::{Expect, ScriptedTransport};
//! use reel_hw::Transport;
//! use std::time::Duration;
//!
//! let mut t = ScriptedTransport::new([Expect::good(vec![0u8; 6])]);
//! let c = t.no_data(&[0u8; 6], Duration::from_secs(30)).unwrap();
//! assert!(c.is_good());
//! t.done();
//! ```

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use reel_hw::hex::Hex;
use reel_hw::{
    Completion, DataDirection, ScsiStatus, Transport, TransportError, TransportErrorKind,
};

/// The "device's" answer to one expected command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// GOOD status. `data` goes into the caller's data-in buffer (as much as fits); the
    /// residual is the buffer length minus what was copied, unless `residual` overrides it
    /// (to script a device that reports a wrong residual).
    Good {
        /// Data-in bytes (empty for commands without a data-in phase).
        data: Vec<u8>,
        /// Residual to report instead of the computed one.
        residual: Option<usize>,
    },
    /// CHECK CONDITION with these sense bytes (see [`fixed_sense`]).
    Check {
        /// Sense bytes.
        sense: Vec<u8>,
    },
    /// Another SCSI status (BUSY, RESERVATION CONFLICT, ...) with no sense.
    Status(ScsiStatus),
    /// The command is not delivered: the transport fails with this error.
    Error(ScriptError),
}

/// One expected command and its reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expect {
    /// The exact CDB the driver must send.
    pub cdb: Vec<u8>,
    /// The exact data-out bytes, when the command has a data-out phase that should be checked.
    pub data_out: Option<Vec<u8>>,
    /// The timeout the driver must pass, when it should be checked.
    pub timeout: Option<Duration>,
    /// What the device answers.
    pub reply: Reply,
}

impl Expect {
    /// Expects `cdb` and answers with `reply`.
    pub fn new(cdb: impl Into<Vec<u8>>, reply: Reply) -> Self {
        Expect {
            cdb: cdb.into(),
            data_out: None,
            timeout: None,
            reply,
        }
    }

    /// Expects `cdb` and answers GOOD with no data.
    pub fn good(cdb: impl Into<Vec<u8>>) -> Self {
        Self::data(cdb, Vec::new())
    }

    /// Expects `cdb` and answers GOOD with `data` as data-in.
    pub fn data(cdb: impl Into<Vec<u8>>, data: impl Into<Vec<u8>>) -> Self {
        Self::new(
            cdb,
            Reply::Good {
                data: data.into(),
                residual: None,
            },
        )
    }

    /// Expects `cdb` and answers CHECK CONDITION with `sense`.
    pub fn check(cdb: impl Into<Vec<u8>>, sense: impl Into<Vec<u8>>) -> Self {
        Self::new(
            cdb,
            Reply::Check {
                sense: sense.into(),
            },
        )
    }

    /// Expects `cdb` and answers CHECK CONDITION with fixed-format sense `key/asc/ascq`.
    pub fn sense(cdb: impl Into<Vec<u8>>, key: u8, asc: u8, ascq: u8) -> Self {
        Self::check(cdb, fixed_sense(key, asc, ascq))
    }

    /// Expects `cdb` and answers CHECK CONDITION with `sense` encoded in its own format.
    pub fn check_sense(cdb: impl Into<Vec<u8>>, sense: &reel_hw::sense::Sense) -> Self {
        Self::check(cdb, sense.to_bytes())
    }

    /// Expects `cdb` and answers with SCSI status `status` (no sense).
    pub fn status(cdb: impl Into<Vec<u8>>, status: ScsiStatus) -> Self {
        Self::new(cdb, Reply::Status(status))
    }

    /// Expects `cdb` and fails to deliver it with a transport error of `kind`.
    pub fn error(cdb: impl Into<Vec<u8>>, kind: TransportErrorKind) -> Self {
        Self::new(
            cdb,
            Reply::Error(ScriptError::new(kind, "scripted failure")),
        )
    }

    /// Also checks the data-out bytes.
    pub fn with_data_out(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.data_out = Some(data.into());
        self
    }

    /// Also checks the timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Overrides the reported residual of a GOOD reply.
    ///
    /// # Panics
    /// When the reply is not [`Reply::Good`] (a mistake in the test's script).
    pub fn with_residual(mut self, residual: usize) -> Self {
        match &mut self.reply {
            Reply::Good { residual: r, .. } => *r = Some(residual),
            other => panic!("with_residual on a {other:?} reply"),
        }
        self
    }
}

/// 18 bytes of fixed-format, current sense data (response code 0x70) for `key/asc/ascq`.
pub fn fixed_sense(key: u8, asc: u8, ascq: u8) -> Vec<u8> {
    let mut s = vec![0u8; 18];
    s[0] = 0x70;
    s[2] = key & 0x0F;
    s[7] = 10;
    s[12] = asc;
    s[13] = ascq;
    s
}

/// The transport error a script can produce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptError {
    kind: TransportErrorKind,
    message: String,
}

impl ScriptError {
    /// An error of `kind` with `message`.
    pub fn new(kind: TransportErrorKind, message: impl Into<String>) -> Self {
        ScriptError {
            kind,
            message: message.into(),
        }
    }
}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl std::error::Error for ScriptError {}

impl TransportError for ScriptError {
    fn kind(&self) -> TransportErrorKind {
        self.kind
    }
}

/// A [`Transport`] that checks each command against a script and plays back canned replies.
#[derive(Debug)]
pub struct ScriptedTransport {
    script: VecDeque<Expect>,
    device: String,
    executed: usize,
    done: bool,
}

impl ScriptedTransport {
    /// A transport that expects exactly `script`, in order. Its device name is `script`.
    pub fn new(script: impl IntoIterator<Item = Expect>) -> Self {
        ScriptedTransport {
            script: script.into_iter().collect(),
            device: "script".to_owned(),
            executed: 0,
            done: false,
        }
    }

    /// Sets the name [`Transport::device`] returns (e.g. `/dev/sg3`).
    pub fn with_device(mut self, name: impl Into<String>) -> Self {
        self.device = name.into();
        self
    }

    /// Appends more expectations.
    pub fn push(&mut self, e: Expect) {
        self.script.push_back(e);
    }

    /// Commands executed so far.
    pub fn executed(&self) -> usize {
        self.executed
    }

    /// Expectations not yet used.
    pub fn remaining(&self) -> usize {
        self.script.len()
    }

    /// Asserts that every expectation was used, and disarms the drop check.
    ///
    /// # Panics
    /// When expectations remain, listing them.
    pub fn done(&mut self) {
        self.done = true;
        if !self.script.is_empty() {
            let rest: Vec<String> = self
                .script
                .iter()
                .map(|e| Hex(&e.cdb).to_string())
                .collect();
            panic!(
                "ScriptedTransport({}): {} expected command(s) never sent after {} executed:\n  {}",
                self.device,
                rest.len(),
                self.executed,
                rest.join("\n  ")
            );
        }
    }
}

impl Drop for ScriptedTransport {
    fn drop(&mut self) {
        if !self.done && !std::thread::panicking() {
            panic!(
                "ScriptedTransport({}) dropped without done() ({} executed, {} expected left)",
                self.device,
                self.executed,
                self.script.len()
            );
        }
    }
}

fn diff(want: &[u8], got: &[u8]) -> String {
    let n = want.len().max(got.len());
    let marks: Vec<&str> = (0..n)
        .map(|i| {
            if want.get(i) == got.get(i) {
                "  "
            } else {
                "^^"
            }
        })
        .collect();
    format!(
        "expected: {}\n     got: {}\n          {}",
        Hex(want),
        Hex(got),
        marks.join(" ")
    )
}

impl Transport for ScriptedTransport {
    type Error = ScriptError;

    fn execute(
        &mut self,
        cdb: &[u8],
        data: DataDirection<'_>,
        timeout: Duration,
    ) -> Result<Completion, ScriptError> {
        let n = self.executed;
        self.executed += 1;
        let Some(e) = self.script.pop_front() else {
            panic!(
                "ScriptedTransport({}): unexpected command #{n} {} (script exhausted)",
                self.device,
                Hex(cdb)
            );
        };
        if e.cdb != cdb {
            panic!(
                "ScriptedTransport({}): command #{n} differs from the script\n{}",
                self.device,
                diff(&e.cdb, cdb)
            );
        }
        if let Some(t) = e.timeout {
            assert_eq!(
                t,
                timeout,
                "ScriptedTransport({}): command #{n} ({}) timeout",
                self.device,
                Hex(cdb)
            );
        }
        if let Some(want) = &e.data_out {
            match &data {
                DataDirection::ToDevice(got) => {
                    if want.as_slice() != *got {
                        panic!(
                            "ScriptedTransport({}): command #{n} data-out differs\n{}",
                            self.device,
                            diff(want, got)
                        );
                    }
                }
                other => panic!(
                    "ScriptedTransport({}): command #{n} expected data-out, got {other:?}",
                    self.device
                ),
            }
        }
        match e.reply {
            Reply::Good {
                data: bytes,
                residual,
            } => {
                let computed = match data {
                    DataDirection::FromDevice(buf) => {
                        let k = bytes.len().min(buf.len());
                        buf[..k].copy_from_slice(&bytes[..k]);
                        buf.len() - k
                    }
                    DataDirection::None if !bytes.is_empty() => panic!(
                        "ScriptedTransport({}): command #{n} ({}) has scripted data-in but the \
                         driver gave no buffer",
                        self.device,
                        Hex(cdb)
                    ),
                    DataDirection::None | DataDirection::ToDevice(_) => 0,
                };
                Ok(Completion {
                    status: ScsiStatus::GOOD,
                    sense: Vec::new(),
                    residual: residual.unwrap_or(computed),
                })
            }
            Reply::Check { sense } => Ok(Completion::check_condition(sense)),
            Reply::Status(status) => Ok(Completion {
                status,
                sense: Vec::new(),
                residual: 0,
            }),
            Reply::Error(err) => Err(err),
        }
    }

    fn device(&self) -> &str {
        &self.device
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Duration = Duration::from_secs(1);

    #[test]
    fn plays_back_replies_in_order_with_residuals() {
        let mut t = ScriptedTransport::new([
            Expect::data([0x12, 0, 0, 0, 8, 0], [1, 2, 3]),
            Expect::data([0x12, 0, 0, 0, 2, 0], [1, 2, 3]),
            Expect::data([0x12, 0, 0, 0, 8, 0], [9; 8]).with_residual(0),
            Expect::good([0; 6]),
            Expect::sense([0; 6], 6, 0x29, 0),
            Expect::status([0; 6], ScsiStatus::BUSY),
            Expect::error([0; 6], TransportErrorKind::NoDevice),
            Expect::good([0x15, 0, 0, 0, 4, 0]).with_data_out([1, 2, 3, 4]),
        ])
        .with_device("/dev/sg7");
        assert_eq!(t.device(), "/dev/sg7");
        let mut buf = [0u8; 8];
        let c = t.read(&[0x12, 0, 0, 0, 8, 0], &mut buf, T).unwrap();
        assert_eq!((c.residual, &buf[..3]), (5, &[1u8, 2, 3][..]));
        let mut small = [0u8; 2];
        let c = t.read(&[0x12, 0, 0, 0, 2, 0], &mut small, T).unwrap();
        assert_eq!((c.residual, small), (0, [1, 2]));
        let c = t.read(&[0x12, 0, 0, 0, 8, 0], &mut buf, T).unwrap();
        assert_eq!((c.residual, buf), (0, [9; 8]));
        assert!(t.no_data(&[0; 6], T).unwrap().is_good());
        let c = t.no_data(&[0; 6], T).unwrap();
        assert_eq!(c.status, ScsiStatus::CHECK_CONDITION);
        assert_eq!(c.sense, fixed_sense(6, 0x29, 0));
        assert_eq!(t.no_data(&[0; 6], T).unwrap().status, ScsiStatus::BUSY);
        let e = t.no_data(&[0; 6], T).unwrap_err();
        assert_eq!(e.kind(), TransportErrorKind::NoDevice);
        t.write(&[0x15, 0, 0, 0, 4, 0], &[1, 2, 3, 4], T).unwrap();
        assert_eq!(t.executed(), 8);
        t.done();
    }

    #[test]
    fn check_sense_encodes_in_the_sense_format() {
        use reel_hw::sense::{Sense, SenseFormat, SenseKey};
        for format in [SenseFormat::Fixed, SenseFormat::Descriptor] {
            let sense = Sense::new(SenseKey::ILLEGAL_REQUEST, 0x3B, 0x0D).in_format(format);
            let mut t = ScriptedTransport::new([Expect::check_sense([0xA5; 12], &sense)]);
            let c = t.no_data(&[0xA5; 12], T).unwrap();
            assert_eq!(Sense::parse(&c.sense).unwrap(), sense);
            t.done();
        }
    }

    #[test]
    fn fixed_sense_layout() {
        assert_eq!(
            fixed_sense(0x05, 0x3B, 0x0E),
            [0x70, 0, 5, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x3B, 0x0E, 0, 0, 0, 0]
        );
    }

    #[test]
    #[should_panic(expected = "differs from the script")]
    fn a_different_cdb_panics_with_a_diff() {
        let mut t = ScriptedTransport::new([Expect::good([0; 6])]);
        let _ = t.no_data(&[0, 0, 1, 0, 0, 0], T);
    }

    #[test]
    #[should_panic(expected = "script exhausted")]
    fn an_extra_command_panics() {
        let mut t = ScriptedTransport::new([]);
        let _ = t.no_data(&[0; 6], T);
    }

    #[test]
    #[should_panic(expected = "never sent")]
    fn done_panics_when_expectations_remain() {
        let mut t = ScriptedTransport::new([Expect::good([0; 6])]);
        t.done();
    }

    #[test]
    #[should_panic(expected = "dropped without done()")]
    fn drop_without_done_panics() {
        let _t = ScriptedTransport::new([]);
    }

    #[test]
    #[should_panic(expected = "timeout")]
    fn a_wrong_timeout_panics() {
        let mut t = ScriptedTransport::new([Expect::good([0; 6]).with_timeout(T)]);
        let _ = t.no_data(&[0; 6], Duration::from_secs(2));
    }

    #[test]
    #[should_panic(expected = "data-out differs")]
    fn wrong_data_out_panics() {
        let mut t = ScriptedTransport::new([Expect::good([0x15; 6]).with_data_out([1])]);
        let _ = t.write(&[0x15; 6], &[2], T);
    }
}
