//! The one error policy both drivers use to run a command through a [`Transport`].
//!
//! [`Executor`] sends one CDB and turns what comes back into either a success or a
//! [`DeviceError`] that names the device, the command and the decoded sense:
//!
//! | device answer | what the executor does |
//! |---|---|
//! | GOOD, CONDITION MET | success |
//! | CHECK CONDITION, RECOVERED ERROR | success; [`Event::Recovered`] |
//! | CHECK CONDITION, UNIT ATTENTION | re-issued up to [`RetryPolicy::unit_attention_retries`] times; each reported as an [`Event`] (28/xx, 29/xx → [`Event::InventoryMayHaveChanged`], 2A/xx → [`Event::ModeParametersChanged`], others [`Event::UnitAttention`]); past the bound → [`DeviceError::Check`] |
//! | CHECK CONDITION, NOT READY, 04/01 becoming ready | re-issued every [`RetryPolicy::ready_poll`] until [`RetryPolicy::ready_wait`] has been slept → [`DeviceError::NotReady`]; success reports [`Event::BecameReady`] |
//! | any other CHECK CONDITION | [`DeviceError::Check`] |
//! | CHECK CONDITION with sense that does not decode | [`DeviceError::UndecodableSense`] |
//! | BUSY, TASK SET FULL, or a transport error of kind `Busy` | re-issued up to [`RetryPolicy::busy_retries`] times after [`RetryPolicy::busy_delay`] |
//! | any other status | [`DeviceError::Status`] |
//! | transport error | [`DeviceError::Transport`] |
//!
//! The executor never reads reply data: parsers do, and the driver turns their
//! [`ParseError`]s into [`DeviceError::Malformed`] with [`DeviceError::malformed`].
//!
//! Waiting is done through an injectable sleeper ([`Executor::with_sleeper`]) and the time
//! waited is the sum of the sleeps, not wall-clock time, so tests run instantly and
//! deterministically.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use reel_hw::hex::Hex;
use reel_hw::sense::{Sense, SenseKey};
use reel_hw::{
    AnyTransportError, Completion, DataDirection, PeripheralType, ScsiStatus, Transport,
    TransportError, TransportErrorKind,
};
use thiserror::Error;

use super::opcode::OpCode;
use super::ParseError;

/// A sense key given as a [`SenseKey`] or as its wire value (`u8`).
pub trait IntoSenseKey {
    /// The sense key.
    fn into_sense_key(self) -> SenseKey;
}

impl IntoSenseKey for SenseKey {
    fn into_sense_key(self) -> SenseKey {
        self
    }
}

impl IntoSenseKey for u8 {
    fn into_sense_key(self) -> SenseKey {
        SenseKey(self & 0x0F)
    }
}

/// Bounds of the retries and waits of an [`Executor`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// How many UNIT ATTENTIONs in a row one command may meet before it fails (default 5).
    pub unit_attention_retries: u32,
    /// How many times a BUSY (or TASK SET FULL) command is re-issued (default 3).
    pub busy_retries: u32,
    /// Pause before re-issuing a BUSY command (default 1 s).
    pub busy_delay: Duration,
    /// Longest total wait for a device that reports 02/04/01 "becoming ready" (default 5 min,
    /// the time a library's inventory scan after a door close can take).
    pub ready_wait: Duration,
    /// Pause between re-issues while the device is becoming ready (default 2 s).
    pub ready_poll: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            unit_attention_retries: 5,
            busy_retries: 3,
            busy_delay: Duration::from_secs(1),
            ready_wait: Duration::from_secs(300),
            ready_poll: Duration::from_secs(2),
        }
    }
}

/// Something the device reported that the caller should know about even though the command
/// went through.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// UNIT ATTENTION 28/xx (not-ready-to-ready change, import/export element accessed) or
    /// 29/xx (power on, reset): the changer's inventory (or a drive's medium) may have changed;
    /// re-read element status.
    InventoryMayHaveChanged(Sense),
    /// UNIT ATTENTION 2A/xx: mode parameters (for instance the element address assignment)
    /// changed; re-read them.
    ModeParametersChanged(Sense),
    /// Any other UNIT ATTENTION.
    UnitAttention(Sense),
    /// The command succeeded with RECOVERED ERROR sense.
    Recovered(Sense),
    /// The device reported "becoming ready" and the command succeeded after this wait.
    BecameReady {
        /// Time slept before the command went through.
        waited: Duration,
    },
}

impl Event {
    /// The sense the event came from, when it came from sense data.
    pub fn sense(&self) -> Option<&Sense> {
        match self {
            Event::InventoryMayHaveChanged(s)
            | Event::ModeParametersChanged(s)
            | Event::UnitAttention(s)
            | Event::Recovered(s) => Some(s),
            Event::BecameReady { .. } => None,
        }
    }

    fn from_unit_attention(s: Sense) -> Event {
        match s.asc {
            0x28 | 0x29 => Event::InventoryMayHaveChanged(s),
            0x2A => Event::ModeParametersChanged(s),
            _ => Event::UnitAttention(s),
        }
    }
}

/// A command that failed on a device: which device, which command, and why.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DeviceError<E> {
    /// The command was not delivered or no answer came back.
    #[error("{op} on {device} failed: {source}")]
    Transport {
        /// Device name.
        device: String,
        /// Command name (scsi-reference §4).
        op: Cow<'static, str>,
        /// The transport's error.
        #[source]
        source: E,
    },
    /// The device answered CHECK CONDITION.
    #[error("{op} on {device} failed: {sense}")]
    Check {
        /// Device name.
        device: String,
        /// Command name.
        op: Cow<'static, str>,
        /// The decoded sense.
        sense: Sense,
    },
    /// The device answered a status other than GOOD or CHECK CONDITION (after retries).
    #[error("{op} on {device} failed: SCSI status {status}")]
    Status {
        /// Device name.
        device: String,
        /// Command name.
        op: Cow<'static, str>,
        /// The status.
        status: ScsiStatus,
    },
    /// The device answered with data that does not parse.
    #[error("{op} on {device}: malformed reply: {source}")]
    Malformed {
        /// Device name.
        device: String,
        /// Command name.
        op: Cow<'static, str>,
        /// What failed to parse.
        #[source]
        source: ParseError,
    },
    /// The device stayed "becoming ready" (02/04/01) past the configured wait.
    #[error("{op} on {device} failed: device still becoming ready after {waited:?}")]
    NotReady {
        /// Device name.
        device: String,
        /// Command name.
        op: Cow<'static, str>,
        /// Time waited.
        waited: Duration,
        /// The last sense the device sent.
        sense: Sense,
    },
    /// The device answered CHECK CONDITION with sense bytes that do not decode.
    #[error(
        "{op} on {device} failed: CHECK CONDITION with undecodable sense [{}]",
        Hex(bytes)
    )]
    UndecodableSense {
        /// Device name.
        device: String,
        /// Command name.
        op: Cow<'static, str>,
        /// The raw sense bytes (possibly empty).
        bytes: Vec<u8>,
    },
    /// The device's answers broke the protocol in a way a parser cannot see (for instance a
    /// chunked READ ELEMENT STATUS that makes no progress).
    #[error("{op} on {device}: {reason}")]
    Protocol {
        /// Device name.
        device: String,
        /// Command name.
        op: Cow<'static, str>,
        /// What went wrong.
        reason: String,
    },
}

impl<E: TransportError + Send + Sync + 'static> DeviceError<E> {
    /// The same error with the transport's error erased (its kind kept): one type for callers
    /// that serve several backends (discovery over any `DeviceSource`).
    pub fn erased(self) -> DeviceError<AnyTransportError> {
        match self {
            DeviceError::Transport { device, op, source } => DeviceError::Transport {
                device,
                op,
                source: AnyTransportError::new(source),
            },
            DeviceError::Check { device, op, sense } => DeviceError::Check { device, op, sense },
            DeviceError::Status { device, op, status } => {
                DeviceError::Status { device, op, status }
            }
            DeviceError::Malformed { device, op, source } => {
                DeviceError::Malformed { device, op, source }
            }
            DeviceError::NotReady {
                device,
                op,
                waited,
                sense,
            } => DeviceError::NotReady {
                device,
                op,
                waited,
                sense,
            },
            DeviceError::UndecodableSense { device, op, bytes } => {
                DeviceError::UndecodableSense { device, op, bytes }
            }
            DeviceError::Protocol { device, op, reason } => {
                DeviceError::Protocol { device, op, reason }
            }
        }
    }
}

impl<E> DeviceError<E> {
    /// The device the command went to.
    pub fn device(&self) -> &str {
        match self {
            DeviceError::Transport { device, .. }
            | DeviceError::Check { device, .. }
            | DeviceError::Status { device, .. }
            | DeviceError::Malformed { device, .. }
            | DeviceError::NotReady { device, .. }
            | DeviceError::UndecodableSense { device, .. }
            | DeviceError::Protocol { device, .. } => device,
        }
    }

    /// The command name (scsi-reference §4, e.g. `READ ELEMENT STATUS`).
    pub fn op(&self) -> &str {
        match self {
            DeviceError::Transport { op, .. }
            | DeviceError::Check { op, .. }
            | DeviceError::Status { op, .. }
            | DeviceError::Malformed { op, .. }
            | DeviceError::NotReady { op, .. }
            | DeviceError::UndecodableSense { op, .. }
            | DeviceError::Protocol { op, .. } => op,
        }
    }

    /// The decoded sense, for errors that carry one.
    pub fn sense(&self) -> Option<&Sense> {
        match self {
            DeviceError::Check { sense, .. } | DeviceError::NotReady { sense, .. } => Some(sense),
            _ => None,
        }
    }

    /// True for a CHECK CONDITION with this sense key, ASC and ASCQ.
    pub fn is_sense(&self, key: impl IntoSenseKey, asc: u8, ascq: u8) -> bool {
        let key = key.into_sense_key();
        matches!(self, DeviceError::Check { sense, .. }
            if sense.key == key && sense.asc == asc && sense.ascq == ascq)
    }

    /// True for a CHECK CONDITION with this sense key.
    pub fn is_sense_key(&self, key: impl IntoSenseKey) -> bool {
        let key = key.into_sense_key();
        matches!(self, DeviceError::Check { sense, .. } if sense.key == key)
    }

    /// A [`DeviceError::Malformed`] for a reply of command `cdb` from `device`.
    pub fn malformed(device: &str, cdb: &[u8], source: ParseError) -> Self {
        DeviceError::Malformed {
            device: device.to_owned(),
            op: op_name(cdb, None),
            source,
        }
    }

    /// A [`DeviceError::Protocol`] for command `cdb` on `device`.
    pub fn protocol(device: &str, cdb: &[u8], reason: impl Into<String>) -> Self {
        DeviceError::Protocol {
            device: device.to_owned(),
            op: op_name(cdb, None),
            reason: reason.into(),
        }
    }
}

impl<E: TransportError> DeviceError<E> {
    /// The class of a transport failure, for [`DeviceError::Transport`].
    pub fn transport_kind(&self) -> Option<TransportErrorKind> {
        match self {
            DeviceError::Transport { source, .. } => Some(source.kind()),
            _ => None,
        }
    }
}

/// The command name of a CDB: the §4 name of its operation code, or `OPERATION CODE 0xNN`.
pub fn op_name(cdb: &[u8], device: Option<PeripheralType>) -> Cow<'static, str> {
    let Some(&code) = cdb.first() else {
        return Cow::Borrowed("EMPTY CDB");
    };
    let op = OpCode(code);
    let name = match device {
        Some(pt) => op.name_for(pt),
        None => op.name(),
    };
    match (name, code) {
        (Some(n), _) => Cow::Borrowed(n),
        (None, 0x1B) => Cow::Borrowed("LOAD UNLOAD"),
        (None, _) => Cow::Owned(format!("OPERATION CODE {code:#04x}")),
    }
}

/// Runs commands through a transport under one [`RetryPolicy`], collecting [`Event`]s.
pub struct Executor {
    policy: RetryPolicy,
    device_type: Option<PeripheralType>,
    sleeper: Box<dyn FnMut(Duration) + Send>,
    events: Vec<Event>,
}

impl fmt::Debug for Executor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Executor")
            .field("policy", &self.policy)
            .field("device_type", &self.device_type)
            .field("events", &self.events)
            .finish_non_exhaustive()
    }
}

impl Default for Executor {
    fn default() -> Self {
        Executor::new(RetryPolicy::default())
    }
}

enum Phase<'a> {
    None,
    In(&'a mut [u8]),
    Out(&'a [u8]),
}

impl Phase<'_> {
    fn direction(&mut self) -> DataDirection<'_> {
        match self {
            Phase::None => DataDirection::None,
            Phase::In(b) => DataDirection::FromDevice(b),
            Phase::Out(b) => DataDirection::ToDevice(b),
        }
    }
}

impl Executor {
    /// An executor with `policy` that sleeps with `std::thread::sleep`.
    pub fn new(policy: RetryPolicy) -> Self {
        Executor {
            policy,
            device_type: None,
            sleeper: Box::new(std::thread::sleep),
            events: Vec::new(),
        }
    }

    /// Names commands as a device of this type knows them (0x1B is LOAD UNLOAD to a tape
    /// drive, OPEN/CLOSE IMPORT/EXPORT ELEMENT to a changer).
    pub fn for_device_type(mut self, device_type: PeripheralType) -> Self {
        self.device_type = Some(device_type);
        self
    }

    /// Replaces the sleeper (tests pass one that records the durations and returns at once).
    pub fn with_sleeper(mut self, sleeper: impl FnMut(Duration) + Send + 'static) -> Self {
        self.sleeper = Box::new(sleeper);
        self
    }

    /// Replaces the sleeper in place.
    pub fn set_sleeper(&mut self, sleeper: impl FnMut(Duration) + Send + 'static) {
        self.sleeper = Box::new(sleeper);
    }

    /// The policy in force.
    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// Changes the policy.
    pub fn policy_mut(&mut self) -> &mut RetryPolicy {
        &mut self.policy
    }

    /// Events reported since the last [`Executor::take_events`].
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// Returns and clears the pending events.
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    /// Runs a command without a data phase.
    ///
    /// # Errors
    /// Any [`DeviceError`] except `Malformed` and `Protocol`, as the module table says.
    pub fn no_data<T: Transport>(
        &mut self,
        t: &mut T,
        cdb: &[u8],
        timeout: Duration,
    ) -> Result<(), DeviceError<T::Error>> {
        self.run(t, cdb, Phase::None, timeout).map(|_| ())
    }

    /// Runs a command whose device sends data into `buf`; returns how many bytes arrived
    /// (the buffer length minus the residual). Parse only `&buf[..n]`.
    ///
    /// # Errors
    /// As [`Executor::no_data`].
    pub fn read<T: Transport>(
        &mut self,
        t: &mut T,
        cdb: &[u8],
        buf: &mut [u8],
        timeout: Duration,
    ) -> Result<usize, DeviceError<T::Error>> {
        let len = buf.len();
        let c = self.run(t, cdb, Phase::In(buf), timeout)?;
        Ok(c.transferred(len))
    }

    /// Runs a command that sends `buf` to the device.
    ///
    /// # Errors
    /// As [`Executor::no_data`].
    pub fn write<T: Transport>(
        &mut self,
        t: &mut T,
        cdb: &[u8],
        buf: &[u8],
        timeout: Duration,
    ) -> Result<(), DeviceError<T::Error>> {
        self.run(t, cdb, Phase::Out(buf), timeout).map(|_| ())
    }

    fn run<T: Transport>(
        &mut self,
        t: &mut T,
        cdb: &[u8],
        mut phase: Phase<'_>,
        timeout: Duration,
    ) -> Result<Completion, DeviceError<T::Error>> {
        let op = || op_name(cdb, self.device_type);
        let mut unit_attentions = 0u32;
        let mut busy = 0u32;
        let mut waited = Duration::ZERO;
        let ready_polls_max = polls(self.policy.ready_wait, self.policy.ready_poll);
        let mut ready_polls = 0u64;
        loop {
            let result = t.execute(cdb, phase.direction(), timeout);
            let c = match result {
                Ok(c) => c,
                Err(e)
                    if e.kind() == TransportErrorKind::Busy && busy < self.policy.busy_retries =>
                {
                    busy += 1;
                    (self.sleeper)(self.policy.busy_delay);
                    continue;
                }
                Err(source) => {
                    return Err(DeviceError::Transport {
                        device: t.device().to_owned(),
                        op: op(),
                        source,
                    })
                }
            };
            match c.status {
                ScsiStatus::GOOD | ScsiStatus::CONDITION_MET => {
                    if !waited.is_zero() {
                        self.events.push(Event::BecameReady { waited });
                    }
                    return Ok(c);
                }
                ScsiStatus::BUSY | ScsiStatus::TASK_SET_FULL if busy < self.policy.busy_retries => {
                    busy += 1;
                    (self.sleeper)(self.policy.busy_delay);
                    continue;
                }
                ScsiStatus::CHECK_CONDITION => {}
                status => {
                    return Err(DeviceError::Status {
                        device: t.device().to_owned(),
                        op: op(),
                        status,
                    })
                }
            }
            let sense = match Sense::parse(&c.sense) {
                Ok(s) => s,
                Err(_) => {
                    return Err(DeviceError::UndecodableSense {
                        device: t.device().to_owned(),
                        op: op(),
                        bytes: c.sense,
                    })
                }
            };
            match (sense.key, sense.asc, sense.ascq) {
                (SenseKey::RECOVERED_ERROR, _, _) => {
                    self.events.push(Event::Recovered(sense));
                    if !waited.is_zero() {
                        self.events.push(Event::BecameReady { waited });
                    }
                    return Ok(c);
                }
                (SenseKey::UNIT_ATTENTION, _, _)
                    if unit_attentions < self.policy.unit_attention_retries =>
                {
                    unit_attentions += 1;
                    self.events.push(Event::from_unit_attention(sense));
                }
                (SenseKey::NOT_READY, 0x04, 0x01) => {
                    if ready_polls >= ready_polls_max {
                        return Err(DeviceError::NotReady {
                            device: t.device().to_owned(),
                            op: op(),
                            waited,
                            sense,
                        });
                    }
                    ready_polls += 1;
                    (self.sleeper)(self.policy.ready_poll);
                    waited += self.policy.ready_poll;
                }
                _ => {
                    return Err(DeviceError::Check {
                        device: t.device().to_owned(),
                        op: op(),
                        sense,
                    })
                }
            }
        }
    }
}

/// How many polls of `poll` fit in `wait` (at least one when `wait` is not zero).
fn polls(wait: Duration, poll: Duration) -> u64 {
    if wait.is_zero() {
        return 0;
    }
    let p = poll.as_nanos().max(1);
    let n = wait.as_nanos().div_ceil(p);
    u64::try_from(n).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reel_sim::script::{fixed_sense, Expect, ScriptedTransport};
    use std::sync::{Arc, Mutex};

    const TUR: [u8; 6] = [0; 6];
    const T: Duration = Duration::from_secs(30);

    fn recording() -> (Executor, Arc<Mutex<Vec<Duration>>>) {
        let slept = Arc::new(Mutex::new(Vec::new()));
        let s2 = Arc::clone(&slept);
        let policy = RetryPolicy {
            ready_wait: Duration::from_secs(10),
            ready_poll: Duration::from_secs(2),
            ..RetryPolicy::default()
        };
        let ex = Executor::new(policy).with_sleeper(move |d| s2.lock().unwrap().push(d));
        (ex, slept)
    }

    #[test]
    fn unit_attentions_are_retried_and_reported_as_events() {
        let cases: &[(u8, u8, &str)] = &[
            (0x28, 0x01, "inventory"),
            (0x28, 0x00, "inventory"),
            (0x29, 0x00, "inventory"),
            (0x29, 0x04, "inventory"),
            (0x2A, 0x01, "mode"),
            (0x3F, 0x0E, "other"),
        ];
        for &(asc, ascq, want) in cases {
            let mut t = ScriptedTransport::new([
                Expect::sense(TUR, 6, asc, ascq),
                Expect::good(TUR).with_timeout(T),
            ]);
            let (mut ex, slept) = recording();
            ex.no_data(&mut t, &TUR, T).unwrap();
            t.done();
            let ev = ex.take_events();
            assert_eq!(ev.len(), 1, "{asc:02x}/{ascq:02x}");
            let got = match &ev[0] {
                Event::InventoryMayHaveChanged(_) => "inventory",
                Event::ModeParametersChanged(_) => "mode",
                Event::UnitAttention(_) => "other",
                e => panic!("{e:?}"),
            };
            assert_eq!(got, want, "{asc:02x}/{ascq:02x}");
            let s = ev[0].sense().unwrap();
            assert_eq!(
                (s.key, s.asc, s.ascq),
                (SenseKey::UNIT_ATTENTION, asc, ascq)
            );
            assert!(slept.lock().unwrap().is_empty(), "no sleep on UA");
            assert!(ex.events().is_empty());
        }
    }

    #[test]
    fn unit_attention_retries_are_bounded() {
        let mut script: Vec<Expect> = (0..6).map(|_| Expect::sense(TUR, 6, 0x29, 0x00)).collect();
        let mut t = ScriptedTransport::new(script.drain(..)).with_device("/dev/sg9");
        let (mut ex, _) = recording();
        let err = ex.no_data(&mut t, &TUR, T).unwrap_err();
        t.done();
        assert!(
            err.is_sense(SenseKey::UNIT_ATTENTION, 0x29, 0x00),
            "{err:?}"
        );
        assert_eq!(err.op(), "TEST UNIT READY");
        assert_eq!(err.device(), "/dev/sg9");
        assert_eq!(ex.events().len(), 5);
    }

    #[test]
    fn becoming_ready_is_waited_out_up_to_the_bound() {
        // (not-ready replies before GOOD, expected outcome: Ok(waited) or Err(NotReady waited))
        let cases: &[(usize, Result<u64, u64>)] =
            &[(0, Ok(0)), (1, Ok(2)), (5, Ok(10)), (6, Err(10))];
        for &(n, want) in cases {
            let mut script: Vec<Expect> =
                (0..n).map(|_| Expect::sense(TUR, 2, 0x04, 0x01)).collect();
            if want.is_ok() {
                script.push(Expect::good(TUR));
            }
            let mut t = ScriptedTransport::new(script);
            let (mut ex, slept) = recording();
            let got = ex.no_data(&mut t, &TUR, T);
            t.done();
            let total: Duration = slept.lock().unwrap().iter().sum();
            match (got, want) {
                (Ok(()), Ok(secs)) => {
                    assert_eq!(total, Duration::from_secs(secs), "n={n}");
                    let ev = ex.take_events();
                    if secs == 0 {
                        assert!(ev.is_empty());
                    } else {
                        assert_eq!(
                            ev,
                            vec![Event::BecameReady {
                                waited: Duration::from_secs(secs)
                            }]
                        );
                    }
                }
                (Err(DeviceError::NotReady { waited, sense, .. }), Err(secs)) => {
                    assert_eq!(waited, Duration::from_secs(secs), "n={n}");
                    assert_eq!(total, Duration::from_secs(secs));
                    assert_eq!((sense.asc, sense.ascq), (0x04, 0x01));
                }
                (got, want) => panic!("n={n}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn busy_is_retried_a_few_times() {
        for (busy, ok) in [(0, true), (3, true), (4, false)] {
            let mut script: Vec<Expect> = (0..busy)
                .map(|i| {
                    if i % 2 == 0 {
                        Expect::status(TUR, ScsiStatus::BUSY)
                    } else {
                        Expect::error(TUR, TransportErrorKind::Busy)
                    }
                })
                .collect();
            if ok {
                script.push(Expect::good(TUR));
            }
            let mut t = ScriptedTransport::new(script);
            let (mut ex, slept) = recording();
            let got = ex.no_data(&mut t, &TUR, T);
            t.done();
            assert_eq!(got.is_ok(), ok, "busy={busy}: {got:?}");
            assert_eq!(slept.lock().unwrap().len(), busy.min(3));
        }
    }

    #[test]
    fn everything_else_is_a_typed_error() {
        let mv = [0xA5, 0, 0, 0, 0x10, 0, 0x03, 0xE8, 0, 0, 0, 0];
        // Sense CHECK CONDITION: no retries, decoded sense kept.
        let mut t =
            ScriptedTransport::new([Expect::sense(mv, 5, 0x3B, 0x0E)]).with_device("/dev/sg3");
        let mut ex = Executor::default();
        let err = ex.no_data(&mut t, &mv, T).unwrap_err();
        t.done();
        assert!(err.is_sense(SenseKey::ILLEGAL_REQUEST, 0x3B, 0x0E));
        assert_eq!(err.op(), "MOVE MEDIUM");
        assert_eq!(err.sense().map(|s| s.asc), Some(0x3B));
        assert_eq!(
            err.to_string(),
            "MOVE MEDIUM on /dev/sg3 failed: ILLEGAL REQUEST, ASC/ASCQ 3b/0e: Medium source element empty"
        );

        // Descriptor-format and deferred sense decode the same way.
        use reel_hw::sense::SenseFormat;
        let descriptor =
            Sense::new(SenseKey::ILLEGAL_REQUEST, 0x21, 0x01).in_format(SenseFormat::Descriptor);
        let deferred = Sense::new(SenseKey::HARDWARE_ERROR, 0x40, 0x80).deferred();
        let mut t = ScriptedTransport::new([
            Expect::check_sense(mv, &descriptor),
            Expect::check_sense(mv, &deferred),
        ]);
        let e = ex.no_data(&mut t, &mv, T).unwrap_err();
        assert!(e.is_sense(SenseKey::ILLEGAL_REQUEST, 0x21, 0x01), "{e:?}");
        let e = ex.no_data(&mut t, &mv, T).unwrap_err();
        assert_eq!(
            e.sense().map(|s| (s.deferred, s.key)),
            Some((true, SenseKey::HARDWARE_ERROR))
        );
        assert!(e.is_sense_key(4u8));
        t.done();

        // Other status, transport error, undecodable sense, NOT READY other than 04/01.
        let mut t = ScriptedTransport::new([
            Expect::status(TUR, ScsiStatus::RESERVATION_CONFLICT),
            Expect::error(TUR, TransportErrorKind::Timeout),
            Expect::check(TUR, vec![0x12, 0x34]),
            Expect::check(TUR, Vec::new()),
            Expect::sense(TUR, 2, 0x3A, 0x00),
        ])
        .with_device("/dev/sg1");
        let mut ex = Executor::default();
        let e = ex.no_data(&mut t, &TUR, T).unwrap_err();
        assert!(
            matches!(
                e,
                DeviceError::Status {
                    status: ScsiStatus::RESERVATION_CONFLICT,
                    ..
                }
            ),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "TEST UNIT READY on /dev/sg1 failed: SCSI status RESERVATION CONFLICT"
        );
        let e = ex.no_data(&mut t, &TUR, T).unwrap_err();
        assert_eq!(e.transport_kind(), Some(TransportErrorKind::Timeout));
        let e = ex.no_data(&mut t, &TUR, T).unwrap_err();
        assert!(
            matches!(&e, DeviceError::UndecodableSense { bytes, .. } if bytes == &[0x12, 0x34]),
            "{e:?}"
        );
        assert!(e.to_string().ends_with("undecodable sense [12 34]"), "{e}");
        let e = ex.no_data(&mut t, &TUR, T).unwrap_err();
        assert!(matches!(e, DeviceError::UndecodableSense { .. }), "{e:?}");
        let e = ex.no_data(&mut t, &TUR, T).unwrap_err();
        assert!(e.is_sense(SenseKey::NOT_READY, 0x3A, 0x00), "{e:?}");
        t.done();
    }

    #[test]
    fn read_returns_the_bytes_transferred_and_recovered_errors_succeed() {
        let inq = [0x12, 0, 0, 0, 0x60, 0];
        let mut t = ScriptedTransport::new([
            Expect::data(inq, vec![0x08; 36]),
            Expect::data(inq, vec![0x08; 36]).with_residual(90),
            Expect::sense(inq, 1, 0x5D, 0x00),
        ]);
        let mut ex = Executor::default();
        let mut buf = [0u8; 96];
        assert_eq!(ex.read(&mut t, &inq, &mut buf, T).unwrap(), 36);
        assert_eq!(buf[..36], [0x08; 36]);
        assert_eq!(ex.read(&mut t, &inq, &mut buf, T).unwrap(), 6);
        assert_eq!(ex.read(&mut t, &inq, &mut buf, T).unwrap(), 96);
        assert!(matches!(ex.events(), [Event::Recovered(_)]));
        t.done();
    }

    #[test]
    fn ops_are_named_for_the_device_type() {
        let cases: &[(&[u8], Option<PeripheralType>, &str)] = &[
            (&[0xB8], None, "READ ELEMENT STATUS"),
            (&[0x1B], Some(PeripheralType::SEQUENTIAL), "LOAD UNLOAD"),
            (
                &[0x1B],
                Some(PeripheralType::MEDIUM_CHANGER),
                "OPEN/CLOSE IMPORT/EXPORT ELEMENT",
            ),
            (&[0xC1], None, "OPERATION CODE 0xc1"),
            (&[], None, "EMPTY CDB"),
        ];
        for &(cdb, pt, want) in cases {
            assert_eq!(op_name(cdb, pt), want);
        }
    }

    /// A device that answers from a fixed list, for the property below.
    #[derive(Debug)]
    struct Replies(
        std::vec::IntoIter<Result<Completion, reel_sim::script::ScriptError>>,
        usize,
    );

    impl Transport for Replies {
        type Error = reel_sim::script::ScriptError;

        fn execute(
            &mut self,
            _cdb: &[u8],
            _data: DataDirection<'_>,
            _timeout: Duration,
        ) -> Result<Completion, Self::Error> {
            self.1 += 1;
            self.0
                .next()
                .expect("the executor sent more commands than its policy allows")
        }
    }

    fn completion(
    ) -> impl proptest::strategy::Strategy<Value = Result<Completion, reel_sim::script::ScriptError>>
    {
        use proptest::prelude::*;
        prop_oneof![
            Just(Ok(Completion::good())),
            (0u8..16, any::<u8>(), any::<u8>())
                .prop_map(|(k, a, q)| Ok(Completion::check_condition(fixed_sense(k, a, q)))),
            Just(Ok(Completion::check_condition(fixed_sense(6, 0x29, 0)))),
            Just(Ok(Completion::check_condition(fixed_sense(2, 4, 1)))),
            proptest::collection::vec(any::<u8>(), 0..24)
                .prop_map(|b| Ok(Completion::check_condition(b))),
            any::<u8>().prop_map(|s| Ok(Completion {
                status: ScsiStatus(s),
                sense: Vec::new(),
                residual: 0
            })),
            Just(Ok(Completion {
                status: ScsiStatus::BUSY,
                sense: Vec::new(),
                residual: 0
            })),
            Just(Err(reel_sim::script::ScriptError::new(
                TransportErrorKind::Busy,
                "busy"
            ))),
            Just(Err(reel_sim::script::ScriptError::new(
                TransportErrorKind::Timeout,
                "t"
            ))),
        ]
    }

    proptest::proptest! {
        #[test]
        fn any_device_answers_end_within_the_policy_bounds(
            replies in proptest::collection::vec(completion(), 20),
        ) {
            let policy = RetryPolicy {
                ready_wait: Duration::from_secs(4),
                ready_poll: Duration::from_secs(1),
                ..RetryPolicy::default()
            };
            // 1 command + 5 unit attentions + 3 busy + 4 polls.
            let bound = 1 + 5 + 3 + 4;
            let mut t = Replies(replies.into_iter(), 0);
            let mut ex = Executor::new(policy).with_sleeper(|_| {});
            let mut buf = [0u8; 8];
            let _ = ex.read(&mut t, &TUR, &mut buf, T);
            proptest::prop_assert!(t.1 <= bound, "{} commands", t.1);
        }
    }
}
