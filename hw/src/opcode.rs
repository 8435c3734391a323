//! SCSI operation codes as an open newtype, with the one table of command names
//! (scsi-reference §4) that reel, its statistics and the simulator's layouts all read.
//!
//! Unknown values pass through intact. One code, 0x1B, means two commands depending on the
//! device: LOAD UNLOAD to a tape drive and OPEN/CLOSE IMPORT/EXPORT ELEMENT to a changer; use
//! [`OpCode::name_for`] when the peripheral type is known.

use std::fmt;

use crate::PeripheralType;

/// A SCSI operation code (CDB byte 0).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OpCode(pub u8);

/// Which devices a row of [`COMMANDS`] applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applies {
    /// Any device (the code means one command everywhere).
    Any,
    /// Medium changers only (SMC; 0x1B).
    Changer,
    /// Tape drives only (SSC; 0x1B).
    Drive,
}

/// One command of scsi-reference §4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Command {
    /// The operation code.
    pub code: OpCode,
    /// The devices that read the code as this command.
    pub applies: Applies,
    /// The name reel prints (`READ ATTRIBUTE`).
    pub name: &'static str,
    /// Other spellings of §4 accepted by [`OpCode::lookup`] (`READ ATTRIBUTE (MAM)`).
    pub aliases: &'static [&'static str],
}

macro_rules! commands {
    ($($konst:ident = $code:literal, $applies:ident, $name:literal $(| $alias:literal)*;)*) => {
        impl OpCode {
            $(
                #[doc = concat!($name, " (", stringify!($code), ").")]
                pub const $konst: OpCode = OpCode($code);
            )*
        }

        /// Every command reel sends or the simulator answers, in code order. Adding a command
        /// is one line here.
        pub const COMMANDS: &[Command] = &[
            $(Command {
                code: OpCode($code),
                applies: Applies::$applies,
                name: $name,
                aliases: &[$($alias),*],
            },)*
        ];
    };
}

commands! {
    TEST_UNIT_READY = 0x00, Any, "TEST UNIT READY";
    REWIND = 0x01, Any, "REWIND";
    REQUEST_SENSE = 0x03, Any, "REQUEST SENSE";
    READ_BLOCK_LIMITS = 0x05, Any, "READ BLOCK LIMITS";
    INITIALIZE_ELEMENT_STATUS = 0x07, Any, "INITIALIZE ELEMENT STATUS";
    INQUIRY = 0x12, Any, "INQUIRY";
    MODE_SENSE_6 = 0x1A, Any, "MODE SENSE(6)";
    OPEN_CLOSE_IMPORT_EXPORT_ELEMENT = 0x1B, Changer, "OPEN/CLOSE IMPORT/EXPORT ELEMENT"
        | "OPEN/CLOSE IMPORT/EXPORT";
    LOAD_UNLOAD = 0x1B, Drive, "LOAD UNLOAD";
    PREVENT_ALLOW_MEDIUM_REMOVAL = 0x1E, Any, "PREVENT/ALLOW MEDIUM REMOVAL";
    POSITION_TO_ELEMENT = 0x2B, Any, "POSITION TO ELEMENT";
    READ_POSITION = 0x34, Any, "READ POSITION";
    INITIALIZE_ELEMENT_STATUS_WITH_RANGE = 0x37, Any, "INITIALIZE ELEMENT STATUS WITH RANGE";
    REPORT_DENSITY_SUPPORT = 0x44, Any, "REPORT DENSITY SUPPORT";
    LOG_SENSE = 0x4D, Any, "LOG SENSE";
    MODE_SENSE_10 = 0x5A, Any, "MODE SENSE(10)";
    READ_ATTRIBUTE = 0x8C, Any, "READ ATTRIBUTE" | "READ ATTRIBUTE (MAM)";
    WRITE_ATTRIBUTE = 0x8D, Any, "WRITE ATTRIBUTE" | "WRITE ATTRIBUTE (MAM)";
    MOVE_MEDIUM = 0xA5, Any, "MOVE MEDIUM";
    EXCHANGE_MEDIUM = 0xA6, Any, "EXCHANGE MEDIUM";
    READ_ELEMENT_STATUS = 0xB8, Any, "READ ELEMENT STATUS";
}

impl Applies {
    fn to(self, device: PeripheralType) -> bool {
        match self {
            Applies::Any => true,
            Applies::Changer => device == PeripheralType::MEDIUM_CHANGER,
            Applies::Drive => device == PeripheralType::SEQUENTIAL,
        }
    }
}

/// Upper-case letters and digits only: `Mode sense (6)` and `MODE SENSE(6)` compare equal.
fn folded(name: &str) -> impl Iterator<Item = u8> + '_ {
    name.bytes()
        .filter(u8::is_ascii_alphanumeric)
        .map(|b| b.to_ascii_uppercase())
}

impl OpCode {
    /// The command name when it does not depend on the device type; `None` for 0x1B (see
    /// [`OpCode::name_for`]) and for codes the table does not know.
    pub fn name(self) -> Option<&'static str> {
        let mut rows = COMMANDS.iter().filter(|c| c.code == self);
        match (rows.next(), rows.next()) {
            (Some(c), None) => Some(c.name),
            _ => None,
        }
    }

    /// The command name as a device of type `device` understands the code: 0x1B is LOAD
    /// UNLOAD for a tape drive and OPEN/CLOSE IMPORT/EXPORT ELEMENT for a changer.
    pub fn name_for(self, device: PeripheralType) -> Option<&'static str> {
        COMMANDS
            .iter()
            .find(|c| c.code == self && c.applies.to(device))
            .map(|c| c.name)
    }

    /// The code for a command name exactly as reel prints it, if known.
    pub fn from_name(name: &str) -> Option<OpCode> {
        COMMANDS.iter().find(|c| c.name == name).map(|c| c.code)
    }

    /// The command a person wrote (case, spaces and punctuation ignored; §4's other spellings
    /// accepted): its code and the devices it applies to.
    pub fn lookup(name: &str) -> Option<(OpCode, Applies)> {
        COMMANDS
            .iter()
            .find(|c| {
                std::iter::once(c.name)
                    .chain(c.aliases.iter().copied())
                    .any(|n| folded(n).eq(folded(name)))
            })
            .map(|c| (c.code, c.applies))
    }
}

impl fmt::Debug for OpCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.0, self.name()) {
            (_, Some(n)) => f.write_str(n),
            (0x1B, None) => f.write_str("LOAD UNLOAD | OPEN/CLOSE IMPORT/EXPORT ELEMENT"),
            (v, None) => write!(f, "OpCode({v:#04x})"),
        }
    }
}

impl fmt::Display for OpCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// scsi-reference §4, written out independently of the table.
    const SPEC: &[(u8, &str)] = &[
        (0x00, "TEST UNIT READY"),
        (0x01, "REWIND"),
        (0x03, "REQUEST SENSE"),
        (0x05, "READ BLOCK LIMITS"),
        (0x07, "INITIALIZE ELEMENT STATUS"),
        (0x12, "INQUIRY"),
        (0x1A, "MODE SENSE(6)"),
        (0x1E, "PREVENT/ALLOW MEDIUM REMOVAL"),
        (0x2B, "POSITION TO ELEMENT"),
        (0x34, "READ POSITION"),
        (0x37, "INITIALIZE ELEMENT STATUS WITH RANGE"),
        (0x44, "REPORT DENSITY SUPPORT"),
        (0x4D, "LOG SENSE"),
        (0x5A, "MODE SENSE(10)"),
        (0x8C, "READ ATTRIBUTE"),
        (0x8D, "WRITE ATTRIBUTE"),
        (0xA5, "MOVE MEDIUM"),
        (0xA6, "EXCHANGE MEDIUM"),
        (0xB8, "READ ELEMENT STATUS"),
    ];

    #[test]
    fn every_named_code_round_trips() {
        for &(code, name) in SPEC {
            let op = OpCode(code);
            assert_eq!(op.name(), Some(name), "{code:#04x}");
            assert_eq!(OpCode::from_name(name), Some(op), "{name}");
            assert_eq!(OpCode::lookup(name), Some((op, Applies::Any)), "{name}");
            assert_eq!(format!("{op:?}"), name);
            assert_eq!(op.name_for(PeripheralType::MEDIUM_CHANGER), Some(name));
            assert_eq!(op.name_for(PeripheralType::SEQUENTIAL), Some(name));
        }
        // The table holds exactly these plus the two readings of 0x1B.
        assert_eq!(COMMANDS.len(), SPEC.len() + 2);
        // Every code the table does not name passes through intact and prints as hex.
        let unknown = (0..=255u8)
            .map(OpCode)
            .filter(|c| c.name().is_none() && c.0 != 0x1B);
        assert_eq!(unknown.clone().count(), 256 - SPEC.len() - 1);
        for c in unknown {
            assert_eq!(format!("{c:?}"), format!("OpCode({:#04x})", c.0));
            assert_eq!(c.name_for(PeripheralType::SEQUENTIAL), None);
        }
    }

    #[test]
    fn opcode_0x1b_depends_on_the_device() {
        let cases = [
            (PeripheralType::SEQUENTIAL, Some("LOAD UNLOAD")),
            (
                PeripheralType::MEDIUM_CHANGER,
                Some("OPEN/CLOSE IMPORT/EXPORT ELEMENT"),
            ),
            (PeripheralType::DIRECT_ACCESS, None),
        ];
        for (pt, want) in cases {
            assert_eq!(OpCode(0x1B).name_for(pt), want, "{pt:?}");
        }
        assert_eq!(OpCode(0x1B).name(), None);
        assert_eq!(
            OpCode::LOAD_UNLOAD,
            OpCode::OPEN_CLOSE_IMPORT_EXPORT_ELEMENT
        );
        assert_eq!(OpCode::from_name("LOAD UNLOAD"), Some(OpCode(0x1B)));
        assert_eq!(OpCode::from_name("NOT A COMMAND"), None);
        assert_eq!(
            format!("{:?}", OpCode(0x1B)),
            "LOAD UNLOAD | OPEN/CLOSE IMPORT/EXPORT ELEMENT"
        );
    }

    #[test]
    fn written_names_are_looked_up_loosely() {
        let cases: &[(&str, Option<(u8, Applies)>)] = &[
            ("move medium", Some((0xA5, Applies::Any))),
            ("Mode Sense (6)", Some((0x1A, Applies::Any))),
            ("MODESENSE10", Some((0x5A, Applies::Any))),
            ("READ ATTRIBUTE (MAM)", Some((0x8C, Applies::Any))),
            ("write attribute", Some((0x8D, Applies::Any))),
            ("OPEN/CLOSE IMPORT/EXPORT", Some((0x1B, Applies::Changer))),
            (
                "open close import export element",
                Some((0x1B, Applies::Changer)),
            ),
            ("LOAD UNLOAD", Some((0x1B, Applies::Drive))),
            ("MODE SENSE", None),
            ("", None),
            ("FORMAT UNIT", None),
        ];
        for &(name, want) in cases {
            assert_eq!(
                OpCode::lookup(name),
                want.map(|(c, a)| (OpCode(c), a)),
                "{name:?}"
            );
        }
    }
}
