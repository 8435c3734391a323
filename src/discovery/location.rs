//! Element locations as the command line writes them: `TYPE:ADDRESS` (`slot:1000`, `ie:10`,
//! `drive:500`), with real element addresses.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// The kind of a changer element, as reel names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ElementKind {
    /// Medium transport (the robot's hand), `transport`.
    Transport,
    /// Storage element, `slot`.
    Slot,
    /// Import/export element (mailslot), `ie`.
    ImportExport,
    /// Data transfer element (drive bay), `drive`.
    Drive,
}

impl ElementKind {
    /// The name used in `TYPE:ADDRESS`.
    pub fn name(self) -> &'static str {
        match self {
            ElementKind::Transport => "transport",
            ElementKind::Slot => "slot",
            ElementKind::ImportExport => "ie",
            ElementKind::Drive => "drive",
        }
    }

    /// The SMC element type code (1 transport, 2 storage, 3 import/export, 4 data transfer).
    pub fn smc_code(self) -> u8 {
        match self {
            ElementKind::Transport => 1,
            ElementKind::Slot => 2,
            ElementKind::ImportExport => 3,
            ElementKind::Drive => 4,
        }
    }
}

/// One element: its kind and its real address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Location {
    /// What kind of element.
    pub kind: ElementKind,
    /// Its element address, as the changer reports it.
    pub address: u16,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind.name(), self.address)
    }
}

/// A location that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LocationError {
    /// No `:` between type and address.
    #[error("`{0}` is not an element: write TYPE:ADDRESS, e.g. slot:1000, ie:10, drive:500")]
    Form(String),
    /// A type other than slot, ie, drive.
    #[error("`{0}`: unknown element type `{1}` (use slot, ie or drive)")]
    Kind(String, String),
    /// The address is not a number from 0 to 65535.
    #[error("`{0}`: element address `{1}` is not a number from 0 to 65535 (decimal or 0x hex)")]
    Address(String, String),
}

impl FromStr for Location {
    type Err = LocationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (kind, address) = s
            .split_once(':')
            .ok_or_else(|| LocationError::Form(s.to_owned()))?;
        let kind = match kind.trim().to_ascii_lowercase().as_str() {
            "slot" => ElementKind::Slot,
            "ie" => ElementKind::ImportExport,
            "drive" => ElementKind::Drive,
            _ => return Err(LocationError::Kind(s.to_owned(), kind.to_owned())),
        };
        let a = address.trim();
        let parsed = match a.strip_prefix("0x").or_else(|| a.strip_prefix("0X")) {
            Some(hex) => u16::from_str_radix(hex, 16),
            None => a.parse::<u16>(),
        };
        let address =
            parsed.map_err(|_| LocationError::Address(s.to_owned(), address.to_owned()))?;
        Ok(Location { kind, address })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_of_cli_md() {
        let ok = [
            ("slot:1000", ElementKind::Slot, 1000),
            ("ie:10", ElementKind::ImportExport, 10),
            ("drive:500", ElementKind::Drive, 500),
            ("DRIVE:0x1F4", ElementKind::Drive, 500),
            ("slot:0", ElementKind::Slot, 0),
            ("slot:65535", ElementKind::Slot, 65535),
        ];
        for (text, kind, address) in ok {
            let l: Location = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(l, Location { kind, address }, "{text}");
        }
        for l in ["slot:1000", "ie:10", "drive:500"] {
            assert_eq!(l.parse::<Location>().unwrap().to_string(), l);
        }
    }

    #[test]
    fn refuses_what_is_not_an_element() {
        type Check = fn(&LocationError) -> bool;
        let bad: &[(&str, Check)] = &[
            ("slot1000", |e| matches!(e, LocationError::Form(_))),
            ("", |e| matches!(e, LocationError::Form(_))),
            ("tray:3", |e| matches!(e, LocationError::Kind(..))),
            ("transport:1", |e| matches!(e, LocationError::Kind(..))),
            ("slot:", |e| matches!(e, LocationError::Address(..))),
            ("slot:65536", |e| matches!(e, LocationError::Address(..))),
            ("slot:-1", |e| matches!(e, LocationError::Address(..))),
            ("slot:0xZZ", |e| matches!(e, LocationError::Address(..))),
        ];
        for (text, is) in bad {
            let e = text.parse::<Location>().unwrap_err();
            assert!(is(&e), "{text}: {e:?}");
            assert!(e.to_string().contains(text), "{e} names the input");
        }
    }
}
