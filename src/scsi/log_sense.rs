//! LOG SENSE (0x4D, SPC): log pages, and the TapeAlert page (0x2E) decoded into its 64 flags.

use std::time::Duration;

use super::opcode::OpCode;

use super::reader::Reader;
use super::tape_code::open_code;
use super::ParseError;

/// Operation code.
pub const OPCODE: OpCode = OpCode::LOG_SENSE;

/// Default timeout (answered from the drive's counters, no medium motion).
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// Allocation length for the TapeAlert page: header plus 64 five-byte parameters, with room.
pub const TAPE_ALERT_ALLOCATION: u16 = 0x0200;

/// Length of the log page header.
pub const HEADER_LEN: usize = 4;

open_code! {
    /// Log page code (byte 2 bits 5..0 of the CDB, byte 0 of the reply).
    LogPage(u8) {
        /// List of supported log pages.
        SUPPORTED_PAGES = 0x00 => "Supported Log Pages",
        /// Write error counters.
        WRITE_ERRORS = 0x02 => "Write Error Counters",
        /// Read error counters.
        READ_ERRORS = 0x03 => "Read Error Counters",
        /// Sequential-access device page.
        SEQUENTIAL_ACCESS = 0x0C => "Sequential-Access Device",
        /// Temperature.
        TEMPERATURE = 0x0D => "Temperature",
        /// TapeAlert response (SSC-4).
        TAPE_ALERT_RESPONSE = 0x12 => "TapeAlert Response",
        /// Volume statistics.
        VOLUME_STATISTICS = 0x17 => "Volume Statistics",
        /// Device statistics.
        DEVICE_STATISTICS = 0x14 => "Device Statistics",
        /// TapeAlert (reading it clears the flags on most drives).
        TAPE_ALERT = 0x2E => "TapeAlert",
    }
}

open_code! {
    /// Page control (byte 2 bits 7..6 of the CDB).
    PageControl(u8) {
        /// Current threshold values.
        CURRENT_THRESHOLD = 0 => "current threshold",
        /// Current cumulative values (what TapeAlert is read with).
        CURRENT_CUMULATIVE = 1 => "current cumulative",
        /// Default threshold values.
        DEFAULT_THRESHOLD = 2 => "default threshold",
        /// Default cumulative values.
        DEFAULT_CUMULATIVE = 3 => "default cumulative",
    }
}

/// The fields of a LOG SENSE CDB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogSense {
    /// Save parameters (SP, byte 1 bit 0).
    pub save: bool,
    /// Page control (byte 2 bits 7..6).
    pub page_control: PageControl,
    /// Page code (byte 2 bits 5..0).
    pub page: LogPage,
    /// Subpage code (byte 3).
    pub subpage: u8,
    /// First parameter code to return (bytes 5..6).
    pub parameter_pointer: u16,
    /// Allocation length (bytes 7..8).
    pub allocation_length: u16,
}

impl LogSense {
    /// Current cumulative values of `page`, from its first parameter.
    pub fn page(page: LogPage, allocation_length: u16) -> Self {
        LogSense {
            save: false,
            page_control: PageControl::CURRENT_CUMULATIVE,
            page,
            subpage: 0,
            parameter_pointer: 0,
            allocation_length,
        }
    }

    /// The TapeAlert page.
    pub fn tape_alert() -> Self {
        LogSense::page(LogPage::TAPE_ALERT, TAPE_ALERT_ALLOCATION)
    }

    /// The CDB bytes.
    pub fn cdb(&self) -> [u8; 10] {
        let [p0, p1] = self.parameter_pointer.to_be_bytes();
        let [a0, a1] = self.allocation_length.to_be_bytes();
        [
            OPCODE.0,
            u8::from(self.save),
            (self.page_control.0 & 0x03) << 6 | (self.page.0 & 0x3f),
            self.subpage,
            0,
            p0,
            p1,
            a0,
            a1,
            0,
        ]
    }
}

/// One log parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogParameter {
    /// Parameter code (bytes 0..1).
    pub code: u16,
    /// Control byte (byte 2: DU, TSD, ETC, TMC, format and linking).
    pub control: u8,
    /// Value bytes (parameter length at byte 3).
    pub value: Vec<u8>,
}

/// A parsed log page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogPageData {
    /// Page code (byte 0 bits 5..0).
    pub page: LogPage,
    /// Subpage code (byte 1), meaningful when `spf` is set.
    pub subpage: u8,
    /// Subpage format (byte 0 bit 6).
    pub spf: bool,
    /// Parameters in the order sent.
    pub parameters: Vec<LogParameter>,
    /// The page length announced more than was transferred.
    pub truncated: bool,
}

/// Parses a log page: the 4-byte header, then parameters up to the page length or the end of
/// the transferred bytes, whichever comes first. A parameter cut off by the allocation length
/// ends the list and sets [`LogPageData::truncated`].
///
/// # Errors
/// [`ParseError::Truncated`] ("log page header") when fewer than 4 bytes were transferred.
pub fn parse_page(reply: &[u8]) -> Result<LogPageData, ParseError> {
    let mut r = Reader::new(reply);
    let b0 = r.u8("log page header")?;
    let subpage = r.u8("log page header")?;
    let len = usize::from(r.u16("log page header")?);
    let available = r.remaining();
    let mut body = Reader::new(r.take_up_to(len));
    let mut parameters = Vec::new();
    let mut truncated = len > available;
    while !body.is_empty() {
        let mut peek = body.clone();
        let one = (|| {
            let code = peek.u16("log parameter")?;
            let control = peek.u8("log parameter")?;
            let plen = usize::from(peek.u8("log parameter")?);
            let value = peek.take(plen, "log parameter value")?.to_vec();
            Ok::<_, ParseError>(LogParameter {
                code,
                control,
                value,
            })
        })();
        match one {
            Ok(p) => {
                parameters.push(p);
                body = peek;
            }
            Err(_) => {
                truncated = true;
                break;
            }
        }
    }
    Ok(LogPageData {
        page: LogPage(b0 & 0x3f),
        subpage,
        spf: b0 & 0x40 != 0,
        parameters,
        truncated,
    })
}

open_code! {
    /// A TapeAlert flag: its parameter code, 1..=64 (SSC TapeAlert table).
    TapeAlertFlag(u8) {
        /// The drive is having problems reading data; no data has been lost.
        READ_WARNING = 0x01 => "Read warning",
        /// The drive is having problems writing data; no data has been lost.
        WRITE_WARNING = 0x02 => "Write warning",
        /// The operation stopped because of an error reading or writing.
        HARD_ERROR = 0x03 => "Hard error",
        /// The tape is damaged or the drive is faulty.
        MEDIA = 0x04 => "Media",
        /// The tape is damaged or the drive is faulty: read failure.
        READ_FAILURE = 0x05 => "Read failure",
        /// The tape is damaged or the drive is faulty: write failure.
        WRITE_FAILURE = 0x06 => "Write failure",
        /// The tape cartridge has reached the end of its useful life.
        MEDIA_LIFE = 0x07 => "Media life",
        /// The cartridge is not data grade.
        NOT_DATA_GRADE = 0x08 => "Not data grade",
        /// A write was attempted to a write-protected cartridge.
        WRITE_PROTECT = 0x09 => "Write protect",
        /// A manual or software unload was attempted while removal was prevented.
        NO_REMOVAL = 0x0A => "No removal",
        /// The loaded tape is a cleaning cartridge.
        CLEANING_MEDIA = 0x0B => "Cleaning media",
        /// The loaded tape format is not supported.
        UNSUPPORTED_FORMAT = 0x0C => "Unsupported format",
        /// The cartridge has a recoverable mechanical failure.
        RECOVERABLE_MECHANICAL_CARTRIDGE_FAILURE = 0x0D => "Recoverable mechanical cartridge failure",
        /// The cartridge has an unrecoverable mechanical failure.
        UNRECOVERABLE_MECHANICAL_CARTRIDGE_FAILURE = 0x0E => "Unrecoverable mechanical cartridge failure",
        /// The cartridge memory chip has failed.
        MEMORY_CHIP_IN_CARTRIDGE_FAILURE = 0x0F => "Memory chip in cartridge failure",
        /// The cartridge was ejected manually while in use.
        FORCED_EJECT = 0x10 => "Forced eject",
        /// The cartridge's format is read-only in this drive.
        READ_ONLY_FORMAT = 0x11 => "Read only format",
        /// The tape directory on the cartridge was corrupted on load.
        TAPE_DIRECTORY_CORRUPTED_ON_LOAD = 0x12 => "Tape directory corrupted on load",
        /// The cartridge is nearing the end of its life.
        NEARING_MEDIA_LIFE = 0x13 => "Nearing media life",
        /// The drive needs cleaning now.
        CLEAN_NOW = 0x14 => "Clean now",
        /// The drive is due for routine cleaning.
        CLEAN_PERIODIC = 0x15 => "Clean periodic",
        /// The cleaning cartridge is used up.
        EXPIRED_CLEANING_MEDIA = 0x16 => "Expired cleaning media",
        /// The cleaning cartridge is not a valid one.
        INVALID_CLEANING_TAPE = 0x17 => "Invalid cleaning tape",
        /// The drive asks for the tape to be retensioned.
        RETENSION_REQUESTED = 0x18 => "Retension requested",
        /// A redundant interface port failed.
        DUAL_PORT_INTERFACE_ERROR = 0x19 => "Dual-port interface error",
        /// A cooling fan failed.
        COOLING_FAN_FAILURE = 0x1A => "Cooling fan failure",
        /// A redundant power supply failed.
        POWER_SUPPLY_FAILURE = 0x1B => "Power supply failure",
        /// The drive exceeds its power consumption specification.
        POWER_CONSUMPTION = 0x1C => "Power consumption",
        /// The drive needs preventive maintenance.
        DRIVE_MAINTENANCE = 0x1D => "Drive maintenance",
        /// The drive has a hardware fault that needs a reset.
        HARDWARE_A = 0x1E => "Hardware A",
        /// The drive has a hardware fault found by its self-test.
        HARDWARE_B = 0x1F => "Hardware B",
        /// The host interface has a problem.
        INTERFACE = 0x20 => "Interface",
        /// The operation failed: eject the cartridge and retry.
        EJECT_MEDIA = 0x21 => "Eject media",
        /// A firmware download failed.
        DOWNLOAD_FAIL = 0x22 => "Download fail",
        /// The drive's humidity is out of range.
        DRIVE_HUMIDITY = 0x23 => "Drive humidity",
        /// The drive's temperature is out of range.
        DRIVE_TEMPERATURE = 0x24 => "Drive temperature",
        /// The drive's voltage is out of range.
        DRIVE_VOLTAGE = 0x25 => "Drive voltage",
        /// The drive predicts a hardware failure.
        PREDICTIVE_FAILURE = 0x26 => "Predictive failure",
        /// The drive may have a fault that needs extended diagnostics.
        DIAGNOSTICS_REQUIRED = 0x27 => "Diagnostics required",
        /// Statistics were lost at some time in the past.
        LOST_STATISTICS = 0x32 => "Lost statistics",
        /// The tape directory is invalid after unload.
        TAPE_DIRECTORY_INVALID_AT_UNLOAD = 0x33 => "Tape directory invalid at unload",
        /// The tape system area could not be written.
        TAPE_SYSTEM_AREA_WRITE_FAILURE = 0x34 => "Tape system area write failure",
        /// The tape system area could not be read.
        TAPE_SYSTEM_AREA_READ_FAILURE = 0x35 => "Tape system area read failure",
        /// The start of data could not be found.
        NO_START_OF_DATA = 0x36 => "No start of data",
        /// The cartridge could not be loaded.
        LOADING_FAILURE = 0x37 => "Loading failure",
        /// The cartridge could not be unloaded.
        UNRECOVERABLE_UNLOAD_FAILURE = 0x38 => "Unrecoverable unload failure",
        /// The automation interface failed.
        AUTOMATION_INTERFACE_FAILURE = 0x39 => "Automation interface failure",
        /// The firmware failed.
        FIRMWARE_FAILURE = 0x3A => "Firmware failure",
        /// A WORM cartridge failed its integrity check.
        WORM_INTEGRITY_CHECK_FAILED = 0x3B => "WORM medium - integrity check failed",
        /// An overwrite was attempted on a WORM cartridge.
        WORM_OVERWRITE_ATTEMPTED = 0x3C => "WORM medium - overwrite attempted",
    }
}

/// The 64 TapeAlert flags, bit `n - 1` for parameter code `n`.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct TapeAlerts(pub u64);

impl TapeAlerts {
    /// True when flag `f` (1..=64) is set.
    pub fn is_set(self, f: TapeAlertFlag) -> bool {
        (1..=64).contains(&f.0) && self.0 & (1u64 << (f.0 - 1)) != 0
    }

    /// Sets flag `f`; codes outside 1..=64 are ignored.
    pub fn set(&mut self, f: TapeAlertFlag) {
        if (1..=64).contains(&f.0) {
            self.0 |= 1u64 << (f.0 - 1);
        }
    }

    /// The set flags, in ascending order.
    pub fn flags(self) -> impl Iterator<Item = TapeAlertFlag> {
        (1..=64u8)
            .map(TapeAlertFlag)
            .filter(move |&f| self.is_set(f))
    }

    /// True when no flag is set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// True when the drive asks for cleaning (Clean now or Clean periodic).
    pub fn needs_cleaning(self) -> bool {
        self.is_set(TapeAlertFlag::CLEAN_NOW) || self.is_set(TapeAlertFlag::CLEAN_PERIODIC)
    }
}

impl std::fmt::Debug for TapeAlerts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.flags()).finish()
    }
}

/// Decodes a TapeAlert page reply: parameter codes 1..=64, each value's bit 0 the flag.
/// Parameters with other codes or empty values are ignored, and a page cut off by the
/// allocation length yields the flags that were transferred.
///
/// # Errors
/// [`ParseError::Truncated`] ("log page header") when fewer than 4 bytes were transferred;
/// [`ParseError::InvalidField`] ("log page code") when the reply is another page.
pub fn parse_tape_alert(reply: &[u8]) -> Result<TapeAlerts, ParseError> {
    let page = parse_page(reply)?;
    if page.page != LogPage::TAPE_ALERT {
        return Err(ParseError::InvalidField {
            what: "log page code",
            value: u64::from(page.page.0),
        });
    }
    let mut alerts = TapeAlerts::default();
    for p in &page.parameters {
        if let (Ok(code @ 1..=64), Some(&v)) = (u8::try_from(p.code), p.value.first()) {
            if v & 0x01 != 0 {
                alerts.set(TapeAlertFlag(code));
            }
        }
    }
    Ok(alerts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdb_bytes() {
        let cases: &[(LogSense, [u8; 10])] = &[
            (
                LogSense::tape_alert(),
                [0x4d, 0, 0x6e, 0, 0, 0, 0, 0x02, 0x00, 0],
            ),
            (
                LogSense::page(LogPage::SUPPORTED_PAGES, 0xff),
                [0x4d, 0, 0x40, 0, 0, 0, 0, 0, 0xff, 0],
            ),
            (
                LogSense {
                    save: true,
                    page_control: PageControl::DEFAULT_CUMULATIVE,
                    page: LogPage::VOLUME_STATISTICS,
                    subpage: 0x01,
                    parameter_pointer: 0x0102,
                    allocation_length: 0x1000,
                },
                [0x4d, 0x01, 0xd7, 0x01, 0, 0x01, 0x02, 0x10, 0x00, 0],
            ),
            (
                LogSense {
                    page: LogPage(0xff),
                    ..LogSense::page(LogPage(0), 4)
                },
                [0x4d, 0, 0x7f, 0, 0, 0, 0, 0, 4, 0],
            ),
        ];
        for (fields, want) in cases {
            assert_eq!(&fields.cdb(), want, "{fields:?}");
        }
    }

    /// A TapeAlert page with flags `set` among codes 1..=count.
    fn tape_alert_page(count: u16, set: &[u16]) -> Vec<u8> {
        let mut v = vec![0x2e, 0, 0, 0];
        for code in 1..=count {
            v.extend_from_slice(&code.to_be_bytes());
            v.push(0x03);
            v.push(1);
            v.push(u8::from(set.contains(&code)));
        }
        let len = (v.len() - 4) as u16;
        v[2..4].copy_from_slice(&len.to_be_bytes());
        v
    }

    #[test]
    fn parses_tape_alert_pages() {
        let full = tape_alert_page(64, &[0x14, 0x15, 0x40]);
        let mut other_bits = tape_alert_page(64, &[]);
        // Bits other than bit 0 of a value are not the flag.
        other_bits[4 + 4 * 5 + 4] = 0xfe;
        let mut header_more = tape_alert_page(3, &[3]);
        header_more[3] = 0xff;
        type Case = (&'static str, Vec<u8>, Result<Vec<u8>, ParseError>);
        let cases: Vec<Case> = vec![
            ("full", full.clone(), Ok(vec![0x14, 0x15, 0x40])),
            ("none", tape_alert_page(64, &[]), Ok(vec![])),
            ("other bits", other_bits, Ok(vec![])),
            // Cut by the allocation length inside parameter 0x15: 0x14 is still seen.
            ("cut", full[..4 + 5 * 0x14 + 2].to_vec(), Ok(vec![0x14])),
            ("header claims more", header_more, Ok(vec![3])),
            // A vendor parameter code outside 1..=64 is ignored.
            (
                "vendor code",
                [tape_alert_page(1, &[1]), vec![0x80, 0x00, 0x03, 0x01, 0x01]].concat(),
                Ok(vec![1]),
            ),
            (
                "wrong page",
                vec![0x0d, 0, 0, 0],
                Err(ParseError::InvalidField {
                    what: "log page code",
                    value: 0x0d,
                }),
            ),
            (
                "no header",
                vec![0x2e, 0],
                Err(ParseError::Truncated {
                    what: "log page header",
                    needed: 2,
                    available: 0,
                }),
            ),
        ];
        for (name, input, want) in cases {
            let got = parse_tape_alert(&input).map(|a| a.flags().map(|f| f.0).collect::<Vec<_>>());
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn parses_generic_pages() {
        let page = [
            0x4d, 0x02, 0x00, 0x0a, 0x00, 0x00, 0x03, 0x02, 0x00, 0x2a, 0x00, 0x01, 0x00, 0x00,
        ];
        let got = parse_page(&page).unwrap();
        assert_eq!(got.page, LogPage::TEMPERATURE);
        assert!(got.spf);
        assert_eq!(got.subpage, 2);
        assert!(!got.truncated);
        assert_eq!(
            got.parameters,
            vec![
                LogParameter {
                    code: 0,
                    control: 3,
                    value: vec![0x00, 0x2a]
                },
                LogParameter {
                    code: 1,
                    control: 0,
                    value: vec![]
                },
            ]
        );
        // Page length shorter than the bytes sent: the rest is ignored.
        let mut short = page;
        short[3] = 6;
        let got = parse_page(&short).unwrap();
        assert_eq!(got.parameters.len(), 1);
        assert!(!got.truncated);
    }

    #[test]
    fn flag_names_and_set_operations() {
        assert_eq!(TapeAlertFlag::KNOWN.len(), 0x27 + 11);
        for &f in TapeAlertFlag::KNOWN {
            assert_eq!(TapeAlertFlag::from(f.0), f);
            assert!((1..=64).contains(&f.0));
        }
        for code in 1..=0x27u8 {
            assert!(TapeAlertFlag(code).name().is_some(), "{code:#x} unnamed");
        }
        let names: &[(u8, &str)] = &[
            (0x14, "Clean now"),
            (0x15, "Clean periodic"),
            (0x16, "Expired cleaning media"),
            (0x1f, "Hardware B"),
            (0x28, "TapeAlertFlag(0x28)"),
        ];
        for &(code, name) in names {
            assert_eq!(format!("{:?}", TapeAlertFlag(code)), name);
        }
        let mut a = TapeAlerts::default();
        assert!(a.is_empty() && !a.needs_cleaning());
        a.set(TapeAlertFlag::CLEAN_PERIODIC);
        a.set(TapeAlertFlag(64));
        a.set(TapeAlertFlag(0));
        a.set(TapeAlertFlag(65));
        assert_eq!(a.0, 1 << 0x14 | 1 << 63);
        assert!(a.needs_cleaning());
        assert!(!a.is_set(TapeAlertFlag(0)));
        assert_eq!(format!("{a:?}"), "{Clean periodic, TapeAlertFlag(0x40)}");
        for &p in LogPage::KNOWN {
            assert_eq!(LogPage::from(p.0), p);
        }
        for &p in PageControl::KNOWN {
            assert_eq!(PageControl::from(p.0), p);
        }
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_parse_or_fail_without_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
            if let Ok(p) = parse_page(&bytes) {
                let used: usize = p.parameters.iter().map(|x| 4 + x.value.len()).sum();
                proptest::prop_assert!(HEADER_LEN + used <= bytes.len());
            }
            let _ = parse_tape_alert(&bytes);
        }

        #[test]
        fn any_flag_set_is_decoded(flags in proptest::num::u64::ANY) {
            let set: Vec<u16> = (1..=64u16).filter(|c| flags & (1 << (c - 1)) != 0).collect();
            let got = parse_tape_alert(&tape_alert_page(64, &set)).unwrap();
            proptest::prop_assert_eq!(got.0, flags);
        }
    }
}
