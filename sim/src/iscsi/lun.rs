//! Logical units behind the iSCSI targets and what one command does to them: the simulated
//! changer and drives (one I_T nexus per session, through [`SimSource`]) and the test disk.
//! Also the SCSI the target answers itself: REPORT LUNS, and commands to a LUN that does not
//! exist.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use reel_hw::{DataDirection, DeviceSource, Transport, TransportErrorKind};

use super::disk::TestDisk;
use crate::sense::{codes, SimSense};
use crate::{SimLibrary, SimSource, SimTransport};

/// 05/25/00 LOGICAL UNIT NOT SUPPORTED.
const NO_SUCH_LUN: SimSense = SimSense::new(5, 0x25, 0x00);
/// SCSI status GOOD.
pub const GOOD: u8 = 0x00;
/// SCSI status CHECK CONDITION.
pub const CHECK_CONDITION: u8 = 0x02;

/// How long a simulated command may take before the target gives up on it.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(3600);

/// One target's logical units, shared by its sessions.
#[derive(Debug, Clone)]
pub enum Units {
    /// The tape library: LUN 0 the changer, then the device paths of the present drives.
    Library {
        /// The library.
        library: SimLibrary,
        /// Device path per LUN (`sim:changer`, `sim:drive:500`…).
        paths: Vec<String>,
    },
    /// The test-only RAM disk at LUN 0.
    Disk(Arc<TestDisk>),
}

impl Units {
    /// The tape library's units: the changer, then each present drive in layout order.
    pub fn library(library: SimLibrary) -> Units {
        let layout = library.layout();
        let mut paths = vec!["sim:changer".to_owned()];
        for (i, d) in layout.drives.iter().enumerate() {
            if d.present {
                paths.push(format!(
                    "sim:drive:{}",
                    layout.changer.data_transfer.first + i as u16
                ));
            }
        }
        Units::Library { library, paths }
    }

    fn count(&self) -> usize {
        match self {
            Units::Library { paths, .. } => paths.len(),
            Units::Disk(_) => 1,
        }
    }

    /// Whether LUN `n` exists.
    pub fn has_lun(&self, n: u16) -> bool {
        usize::from(n) < self.count()
    }

    /// A reset of LUN field `lun` (or of every unit): every nexus gets 06/29/00 next.
    pub fn reset(&self, whole_target: bool, lun: u64) {
        let Units::Library { library, paths } = self else {
            return;
        };
        if whole_target {
            library.reset_unit_attention(None);
        } else if let Some(path) = lun_number(lun).and_then(|n| paths.get(usize::from(n))) {
            if let Ok(dev) = library.device(path) {
                library.reset_unit_attention(Some(dev));
            }
        }
    }

    /// A new I_T nexus on these units.
    pub fn nexus(&self) -> Nexus {
        Nexus {
            source: match self {
                Units::Library { library, .. } => Some(library.source()),
                Units::Disk(_) => None,
            },
            units: self.clone(),
            open: HashMap::new(),
        }
    }
}

/// The LUN number of an iSCSI LUN field (SAM single-level, peripheral or flat addressing).
pub fn lun_number(field: u64) -> Option<u16> {
    let b = field.to_be_bytes();
    if b[2..].iter().any(|&x| x != 0) {
        return None;
    }
    match b[0] >> 6 {
        0 if b[0] == 0 => Some(u16::from(b[1])),
        1 => Some(u16::from(b[0] & 0x3F) << 8 | u16::from(b[1])),
        _ => None,
    }
}

/// The iSCSI LUN field for LUN `n` (peripheral addressing below 256, flat above).
pub fn lun_field(n: u16) -> u64 {
    let b = if n < 256 {
        [0, n as u8]
    } else {
        [0x40 | (n >> 8) as u8 & 0x3F, n as u8]
    };
    u64::from_be_bytes([b[0], b[1], 0, 0, 0, 0, 0, 0])
}

/// One command as the target received it.
#[derive(Debug)]
pub struct Command<'a> {
    /// The LUN field.
    pub lun: u64,
    /// The CDB (16 bytes, or longer with an extended-CDB AHS).
    pub cdb: &'a [u8],
    /// Expected Data Transfer Length.
    pub edtl: u32,
    /// R bit.
    pub read: bool,
    /// Data-Out received (empty unless W).
    pub data_out: &'a [u8],
}

/// The outcome of one command, ready to be sent.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Done {
    /// SCSI status.
    pub status: u8,
    /// Sense data (with CHECK CONDITION).
    pub sense: Vec<u8>,
    /// Data-In, at most EDTL bytes.
    pub data: Vec<u8>,
    /// Bytes the command wanted to move beyond EDTL (O bit).
    pub overflow: u32,
    /// Bytes of EDTL it did not move (U bit).
    pub underflow: u32,
}

impl Done {
    fn check(s: SimSense, edtl: u32) -> Done {
        Done {
            status: CHECK_CONDITION,
            sense: s.to_fixed_bytes(),
            data: Vec::new(),
            overflow: 0,
            underflow: edtl,
        }
    }

    /// `data` produced by a command that wanted to transfer `wanted` bytes, against EDTL.
    pub fn with_data(
        status: u8,
        sense: Vec<u8>,
        mut data: Vec<u8>,
        wanted: usize,
        edtl: u32,
    ) -> Done {
        let edtl_us = edtl as usize;
        let (overflow, underflow) = if wanted > edtl_us {
            ((wanted - edtl_us) as u32, 0)
        } else {
            (0, (edtl_us - data.len().min(edtl_us)) as u32)
        };
        data.truncate(edtl_us);
        Done {
            status,
            sense,
            data,
            overflow,
            underflow,
        }
    }
}

/// The data-in length a CDB asks for, where the CDB says it (allocation lengths, variable
/// tape reads): lets a reply longer than EDTL show as an overflow.
fn wanted_in(cdb: &[u8]) -> Option<usize> {
    let be = |a: usize, n: usize| -> Option<usize> {
        let b = cdb.get(a..a + n)?;
        Some(b.iter().fold(0usize, |acc, &x| acc << 8 | usize::from(x)))
    };
    match cdb.first()? {
        0x03 | 0x1A => be(4, 1),
        0x12 | 0x4D | 0x5A | 0x44 => be(if cdb[0] == 0x12 { 3 } else { 7 }, 2),
        0xB8 => be(7, 3),
        0x8C | 0xA0 => be(if cdb[0] == 0x8C { 10 } else { 6 }, 4),
        // READ(6) in variable mode: the length is the block's byte count.
        0x08 if cdb.get(1)? & 1 == 0 => be(2, 3),
        _ => None,
    }
}

/// One session's view of its target: its I_T nexus and the devices it opened.
#[derive(Debug)]
pub struct Nexus {
    units: Units,
    source: Option<SimSource>,
    open: HashMap<u16, SimTransport>,
}

impl Nexus {
    /// Runs one command to completion.
    pub fn execute(&mut self, c: &Command<'_>) -> Done {
        let lun = lun_number(c.lun).filter(|&n| usize::from(n) < self.units.count());
        if c.cdb.first() == Some(&0xA0) {
            return self.report_luns(c);
        }
        let Some(lun) = lun else {
            return no_such_lun(c);
        };
        match &self.units {
            Units::Disk(d) => d.execute(c),
            Units::Library { paths, .. } => {
                let path = paths[usize::from(lun)].clone();
                self.sim(lun, &path, c)
            }
        }
    }

    fn report_luns(&self, c: &Command<'_>) -> Done {
        let n = self.units.count();
        let mut r = Vec::with_capacity(8 + 8 * n);
        r.extend_from_slice(&((8 * n) as u32).to_be_bytes());
        r.extend_from_slice(&[0; 4]);
        for i in 0..n {
            r.extend_from_slice(&lun_field(i as u16).to_be_bytes());
        }
        let alloc = wanted_in(c.cdb).unwrap_or(0);
        if alloc < 16 {
            return Done::check(SimSense::invalid_cdb_field(6, None), c.edtl);
        }
        r.truncate(alloc);
        let wanted = r.len();
        Done::with_data(GOOD, Vec::new(), r, wanted, c.edtl)
    }

    fn sim(&mut self, lun: u16, path: &str, c: &Command<'_>) -> Done {
        let Some(source) = self.source.as_mut() else {
            return no_such_lun(c);
        };
        let t = match self.open.entry(lun) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => match source.open(path) {
                Ok(t) => v.insert(t),
                Err(e) => return unavailable(e.kind, c),
            },
        };
        let edtl = c.edtl as usize;
        let result = if c.read {
            let len = wanted_in(c.cdb).map_or(edtl, |w| w.max(edtl));
            let mut buf = vec![0u8; len];
            t.execute(c.cdb, DataDirection::FromDevice(&mut buf), COMMAND_TIMEOUT)
                .map(|done| {
                    let n = done.transferred(len);
                    buf.truncate(n);
                    let wanted = if n > edtl { n } else { edtl.min(n) };
                    Done::with_data(done.status.0, done.sense, buf, wanted.max(n), c.edtl)
                })
        } else if !c.data_out.is_empty() {
            t.execute(c.cdb, DataDirection::ToDevice(c.data_out), COMMAND_TIMEOUT)
                .map(|done| Done {
                    status: done.status.0,
                    sense: done.sense,
                    data: Vec::new(),
                    overflow: 0,
                    underflow: done.residual.min(edtl) as u32,
                })
        } else {
            t.execute(c.cdb, DataDirection::None, COMMAND_TIMEOUT)
                .map(|done| Done {
                    status: done.status.0,
                    sense: done.sense,
                    data: Vec::new(),
                    overflow: 0,
                    underflow: c.edtl,
                })
        };
        match result {
            Ok(mut d) => {
                if d.data.is_empty() && c.edtl == 0 {
                    d.underflow = 0;
                }
                d
            }
            Err(e) => {
                self.open.remove(&lun);
                unavailable(e.kind, c)
            }
        }
    }
}

/// A drive taken offline answers NOT READY, LOGICAL UNIT NOT READY, OFFLINE (02/04/12).
fn unavailable(kind: TransportErrorKind, c: &Command<'_>) -> Done {
    if kind == TransportErrorKind::NoDevice {
        Done::check(codes::OFFLINE, c.edtl)
    } else {
        Done::check(codes::INTERNAL_FAILURE, c.edtl)
    }
}

/// A LUN that does not exist: INQUIRY answers peripheral qualifier 3, anything else 05/25/00.
fn no_such_lun(c: &Command<'_>) -> Done {
    if c.cdb.first() == Some(&0x12) && c.cdb.get(1).is_some_and(|b| b & 1 == 0) {
        let mut r = vec![0u8; 36];
        r[0] = 0x7F;
        r[2] = 0x06;
        r[3] = 0x02;
        r[4] = 31;
        let alloc = wanted_in(c.cdb).unwrap_or(0);
        r.truncate(alloc);
        let wanted = r.len();
        return Done::with_data(GOOD, Vec::new(), r, wanted, c.edtl);
    }
    Done::check(NO_SUCH_LUN, c.edtl)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lun_fields() {
        let cases: &[(u64, Option<u16>)] = &[
            (0, Some(0)),
            (0x0001_0000_0000_0000, Some(1)),
            (0x00FF_0000_0000_0000, Some(255)),
            (0x4101_0000_0000_0000, Some(0x101)),
            (0x0100_0000_0000_0000, None),
            (0x0000_0000_0000_0001, None),
            (0xC000_0000_0000_0000, None),
        ];
        for &(field, n) in cases {
            assert_eq!(lun_number(field), n, "{field:016x}");
            if let Some(n) = n {
                assert_eq!(lun_field(n), field);
            }
        }
    }

    #[test]
    fn residuals_against_edtl() {
        // (data produced, wanted, edtl) → (sent, overflow, underflow)
        let cases: &[(usize, usize, u32, usize, u32, u32)] = &[
            (512, 512, 512, 512, 0, 0),
            (512, 512, 10_000, 512, 0, 9488),
            (512, 512, 200, 200, 312, 0),
            (512, 512, 0, 0, 512, 0),
            (0, 0, 64, 0, 0, 64),
        ];
        for &(n, wanted, edtl, sent, o, u) in cases {
            let d = Done::with_data(GOOD, vec![], vec![7; n], wanted, edtl);
            assert_eq!((d.data.len(), d.overflow, d.underflow), (sent, o, u));
        }
    }
}
