//! mtx's request-sense block (`PrintRequestSense` of mtx 1.3.12), printed on stderr before the
//! message of a command that failed with CHECK CONDITION. Bacula's `mtx-changer` retries a load
//! or an unload only while stderr holds `Error Code=`; Amanda reports the `Sense Key=` line.
//!
//! The block is rendered from the sense in fixed format (descriptor-format sense is first
//! converted, so its fields read as mtx would read them from a fixed-format device) [design].

use std::fmt::Write as _;

use reel_hw::sense::Sense;

/// mtx's names of the sixteen sense keys.
const SENSE_KEYS: [&str; 16] = [
    "No Sense",
    "Recovered Error",
    "Not Ready",
    "Medium Error",
    "Hardware Error",
    "Illegal Request",
    "Unit Attention",
    "Data Protect",
    "Blank Check",
    "0x09",
    "0x0a",
    "Aborted Command",
    "0x0c",
    "Volume Overflow",
    "Miscompare",
    "0x0f",
];

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// The block for `sense`, one `mtx: Request Sense: …` line each, as mtx prints it.
pub fn block(sense: &Sense) -> String {
    let b = sense.to_fixed_bytes();
    let byte = |i: usize| b.get(i).copied().unwrap_or(0);
    let valid = byte(0) & 0x80 != 0;
    let code = byte(0) & 0x7F;
    let kind = match code {
        0x70 => "Current",
        0x71 => "Deferred",
        _ => "Unknown?!",
    };
    let sksv = byte(15) & 0x80 != 0;
    let bpv = byte(15) & 0x08 != 0;
    let mut out = String::with_capacity(640);
    let mut line = |s: std::fmt::Arguments<'_>| {
        let _ = writeln!(out, "mtx: Request Sense: {s}");
    };
    line(format_args!("Long Report=yes"));
    line(format_args!("Valid Residual={}", yes(valid)));
    line(format_args!("Error Code={code:x} ({kind})"));
    line(format_args!(
        "Sense Key={}",
        SENSE_KEYS[usize::from(byte(2) & 0x0F)]
    ));
    line(format_args!("FileMark={}", yes(byte(2) & 0x80 != 0)));
    line(format_args!("EOM={}", yes(byte(2) & 0x40 != 0)));
    line(format_args!("ILI={}", yes(byte(2) & 0x20 != 0)));
    if valid {
        line(format_args!(
            "Residual = {:02X} {:02X} {:02X} {:02X}",
            byte(3),
            byte(4),
            byte(5),
            byte(6)
        ));
    }
    line(format_args!("Additional Sense Code = {:02X}", byte(12)));
    line(format_args!(
        "Additional Sense Qualifier = {:02X}",
        byte(13)
    ));
    if sksv {
        line(format_args!("Field in Error = {:02X}", byte(15) & 0x07));
    }
    line(format_args!("BPV={}", yes(bpv)));
    line(format_args!("Error in CDB={}", yes(byte(15) & 0x40 != 0)));
    line(format_args!("SKSV={}", yes(sksv)));
    if bpv || sksv {
        line(format_args!(
            "Field Pointer = {:02X} {:02X}",
            byte(16),
            byte(17)
        ));
    }
    out
}
