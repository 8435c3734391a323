//! Counting SCSI commands: the [`Counted`] transport decorator behind `--stats` and the tests
//! that hold discovery to its command budget.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use reel_hw::{Completion, DataDirection, OpCode, PeripheralType, Transport};
use serde::Serialize;

/// The name of a command as scsi-reference §4 writes it (reel-hw's one command table), or
/// `OTHER`. Opcode 0x1B depends on the device: LOAD UNLOAD on a tape drive, OPEN/CLOSE
/// IMPORT/EXPORT ELEMENT on a changer.
pub fn command_name(opcode: u8, device: PeripheralType) -> &'static str {
    let device = if device == PeripheralType::MEDIUM_CHANGER {
        device
    } else {
        PeripheralType::SEQUENTIAL
    };
    OpCode(opcode).name_for(device).unwrap_or("OTHER")
}

/// What a set of [`Counted`] transports sent: the `stats` member of the discover document.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Stats {
    /// Commands sent, in all.
    pub commands: u64,
    /// Milliseconds spent waiting for devices.
    pub device_ms: f64,
    /// Commands per name (scsi-reference §4 names).
    pub by_command: BTreeMap<String, u64>,
}

impl Stats {
    /// How many commands of this name were sent.
    pub fn count(&self, name: &str) -> u64 {
        self.by_command.get(name).copied().unwrap_or(0)
    }
}

#[derive(Debug, Default)]
struct Tally {
    commands: u64,
    device_time: Duration,
    by_command: BTreeMap<&'static str, u64>,
}

/// A shared tally that several [`Counted`] transports add to (one per discovery run).
#[derive(Debug, Clone, Default)]
pub struct Counter(Arc<Mutex<Tally>>);

impl Counter {
    /// A counter at zero.
    pub fn new() -> Self {
        Counter::default()
    }

    fn add(&self, name: &'static str, spent: Duration) {
        let mut t = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        t.commands += 1;
        t.device_time += spent;
        *t.by_command.entry(name).or_insert(0) += 1;
    }

    /// What was counted so far.
    pub fn snapshot(&self) -> Stats {
        let t = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        Stats {
            commands: t.commands,
            // Rounded to microseconds so the document stays readable.
            device_ms: (t.device_time.as_micros() as f64) / 1000.0,
            by_command: t
                .by_command
                .iter()
                .map(|(k, v)| ((*k).to_owned(), *v))
                .collect(),
        }
    }
}

/// A transport decorator that counts every command it passes on, by name, and the time spent
/// in the device (embedded-hal-bus style: it owns the inner transport and gives it back).
#[derive(Debug)]
pub struct Counted<T> {
    inner: T,
    device: PeripheralType,
    counter: Counter,
}

impl<T: Transport> Counted<T> {
    /// Wraps `inner`, a device of type `device` (it decides what opcode 0x1B is called),
    /// adding to `counter`.
    pub fn new(inner: T, device: PeripheralType, counter: Counter) -> Self {
        Counted {
            inner,
            device,
            counter,
        }
    }

    /// The wrapped transport.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T: Transport> Transport for Counted<T> {
    type Error = T::Error;

    fn execute(
        &mut self,
        cdb: &[u8],
        data: DataDirection<'_>,
        timeout: Duration,
    ) -> Result<Completion, Self::Error> {
        let name = command_name(cdb.first().copied().unwrap_or(0xFF), self.device);
        let start = Instant::now();
        let result = self.inner.execute(cdb, data, timeout);
        let spent = start.elapsed();
        self.counter.add(name, spent);
        tracing::trace!(
            device = self.inner.device(),
            command = name,
            cdb = ?cdb,
            ?spent,
            status = ?result.as_ref().map(|c| c.status),
            "scsi command"
        );
        result
    }

    fn device(&self) -> &str {
        self.inner.device()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt;

    #[derive(Debug)]
    struct Never;
    impl fmt::Display for Never {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("never")
        }
    }
    impl std::error::Error for Never {}
    impl reel_hw::TransportError for Never {
        fn kind(&self) -> reel_hw::TransportErrorKind {
            reel_hw::TransportErrorKind::Other
        }
    }

    struct Good;
    impl Transport for Good {
        type Error = Never;
        fn execute(
            &mut self,
            _cdb: &[u8],
            _data: DataDirection<'_>,
            _timeout: Duration,
        ) -> Result<Completion, Never> {
            Ok(Completion::good())
        }
    }

    #[test]
    fn counts_by_name_and_splits_opcode_0x1b_by_device() {
        let counter = Counter::new();
        let mut changer = Counted::new(Good, PeripheralType::MEDIUM_CHANGER, counter.clone());
        let mut tape = Counted::new(Good, PeripheralType::SEQUENTIAL, counter.clone());
        let t = Duration::from_secs(1);
        for cdb in [&[0xB8u8, 0x12][..], &[0xB8], &[0x1B], &[0x1A]] {
            changer.no_data(cdb, t).unwrap();
        }
        for cdb in [&[0x1Bu8][..], &[0x44], &[0x8C], &[0xEE]] {
            tape.no_data(cdb, t).unwrap();
        }
        let s = counter.snapshot();
        assert_eq!(s.commands, 8);
        let expected = [
            ("LOAD UNLOAD", 1),
            ("MODE SENSE(6)", 1),
            ("OPEN/CLOSE IMPORT/EXPORT ELEMENT", 1),
            ("OTHER", 1),
            ("READ ATTRIBUTE", 1),
            ("READ ELEMENT STATUS", 2),
            ("REPORT DENSITY SUPPORT", 1),
        ];
        assert_eq!(
            s.by_command,
            expected
                .iter()
                .map(|(k, v)| ((*k).to_owned(), *v))
                .collect::<BTreeMap<_, _>>()
        );
    }

    #[test]
    fn every_named_opcode_round_trips_to_one_name() {
        let mut seen = std::collections::HashSet::new();
        for op in 0..=255u8 {
            let n = command_name(op, PeripheralType::SEQUENTIAL);
            if n != "OTHER" {
                assert!(seen.insert(n), "{n} named twice");
            }
        }
        assert_eq!(
            command_name(0x1B, PeripheralType::MEDIUM_CHANGER),
            "OPEN/CLOSE IMPORT/EXPORT ELEMENT"
        );
    }
}
