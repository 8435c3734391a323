//! The test-only RAM disk (`--iscsi-test-disk SIZE`, `sim-iscsi.md` §2): a direct-access LUN
//! with 512-byte blocks, so that libiscsi's `iscsi-test-cu`, which will not start without READ
//! CAPACITY, can exercise the shared iSCSI code. It is not a disk emulator: it answers what
//! that suite's `iSCSI.*` family and its start-up need, and 05/20/00 to the rest.
//!
//! Decisions: no unit attentions (the suite's iSCSI tests do not look for them); a transfer
//! longer than EDTL moves EDTL bytes and reports the overflow, a shorter one reports the
//! underflow (FCP/SAM rule the suite checks).

use std::sync::RwLock;

use super::lun::{Command, Done, CHECK_CONDITION, GOOD};
use crate::sense::{codes, SimSense};

/// Logical block length.
pub const BLOCK: usize = 512;
/// 05/21/00 LOGICAL BLOCK ADDRESS OUT OF RANGE.
const LBA_OUT_OF_RANGE: SimSense = SimSense::new(5, 0x21, 0x00);

/// The RAM disk's contents.
#[derive(Debug)]
pub struct TestDisk {
    blocks: u64,
    data: RwLock<Vec<u8>>,
    serial: String,
}

fn be(cdb: &[u8], at: usize, n: usize) -> u64 {
    cdb.get(at..at + n)
        .map_or(0, |b| b.iter().fold(0u64, |a, &x| a << 8 | u64::from(x)))
}

fn pad(s: &str, n: usize) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.resize(n, b' ');
    v
}

impl TestDisk {
    /// A zeroed disk of `bytes` (rounded down to whole blocks, at least one).
    pub fn new(bytes: u64, serial: &str) -> TestDisk {
        let blocks = (bytes / BLOCK as u64).max(1);
        TestDisk {
            blocks,
            data: RwLock::new(vec![0; (blocks as usize) * BLOCK]),
            serial: serial.to_owned(),
        }
    }

    /// Capacity in blocks.
    pub fn blocks(&self) -> u64 {
        self.blocks
    }

    /// Runs one command.
    pub fn execute(&self, c: &Command<'_>) -> Done {
        let cdb = c.cdb;
        let reply = |r: Vec<u8>, alloc: usize| {
            let mut r = r;
            r.truncate(alloc);
            let n = r.len();
            Done::with_data(GOOD, Vec::new(), r, n, c.edtl)
        };
        let check = |s: SimSense| Done {
            status: CHECK_CONDITION,
            sense: s.to_fixed_bytes(),
            data: Vec::new(),
            overflow: 0,
            underflow: c.edtl,
        };
        let nodata = || Done {
            underflow: c.edtl,
            ..Done::default()
        };
        match cdb[0] {
            0x00 | 0x1B | 0x1E | 0x35 | 0x91 => nodata(),
            0x03 => reply(codes::NO_SENSE.to_fixed_bytes(), be(cdb, 4, 1) as usize),
            0x12 => match self.inquiry(cdb) {
                Ok(r) => reply(r, be(cdb, 3, 2) as usize),
                Err(s) => check(s),
            },
            0x1A | 0x5A => {
                let ten = cdb[0] == 0x5A;
                let r = if ten {
                    vec![0, 6, 0, 0, 0, 0, 0, 0]
                } else {
                    vec![3, 0, 0, 0]
                };
                reply(r, if ten { be(cdb, 7, 2) } else { be(cdb, 4, 1) } as usize)
            }
            0x25 => {
                let last = (self.blocks - 1).min(0xFFFF_FFFF) as u32;
                let mut r = last.to_be_bytes().to_vec();
                r.extend_from_slice(&(BLOCK as u32).to_be_bytes());
                reply(r, 8)
            }
            0x9E if cdb[1] & 0x1F == 0x10 => {
                let mut r = vec![0u8; 32];
                r[..8].copy_from_slice(&(self.blocks - 1).to_be_bytes());
                r[8..12].copy_from_slice(&(BLOCK as u32).to_be_bytes());
                reply(r, be(cdb, 10, 4) as usize)
            }
            0x08 | 0x28 | 0xA8 | 0x88 => self.read(c),
            0x0A | 0x2A | 0xAA | 0x8A | 0x2E | 0xAE | 0x8E => self.write(c),
            _ => check(codes::INVALID_OPCODE),
        }
    }

    fn inquiry(&self, cdb: &[u8]) -> Result<Vec<u8>, SimSense> {
        if cdb[1] & 1 == 0 {
            if cdb[2] != 0 {
                return Err(SimSense::invalid_cdb_field(2, None));
            }
            let mut r = vec![0u8; 36];
            r[2] = 0x06;
            r[3] = 0x02;
            r[4] = 31;
            r[7] = 0x02; // CMDQUE
            r[8..16].copy_from_slice(&pad("REELSIM", 8));
            r[16..32].copy_from_slice(&pad("ISCSI TEST DISK", 16));
            r[32..36].copy_from_slice(&pad("0001", 4));
            return Ok(r);
        }
        let mut r = vec![0x00, cdb[2], 0, 0];
        match cdb[2] {
            0x00 => r.extend_from_slice(&[0x00, 0x80, 0x83]),
            0x80 => r.extend_from_slice(self.serial.as_bytes()),
            0x83 => {
                let id = [pad("REELSIM", 8), self.serial.as_bytes().to_vec()].concat();
                r.extend_from_slice(&[0x02, 0x01, 0x00, id.len() as u8]);
                r.extend_from_slice(&id);
            }
            _ => return Err(SimSense::invalid_cdb_field(2, None)),
        }
        let n = (r.len() - 4) as u16;
        r[2..4].copy_from_slice(&n.to_be_bytes());
        Ok(r)
    }

    /// LBA and transfer length of a READ/WRITE CDB.
    fn extent(cdb: &[u8]) -> (u64, u64) {
        match cdb[0] {
            0x08 | 0x0A => {
                let lba = be(cdb, 1, 3) & 0x1F_FFFF;
                let n = be(cdb, 4, 1);
                (lba, if n == 0 { 256 } else { n })
            }
            0x28 | 0x2A | 0x2E => (be(cdb, 2, 4), be(cdb, 7, 2)),
            0xA8 | 0xAA | 0xAE => (be(cdb, 2, 4), be(cdb, 6, 4)),
            _ => (be(cdb, 2, 8), be(cdb, 10, 4)),
        }
    }

    fn range(&self, cdb: &[u8]) -> Result<(usize, usize), SimSense> {
        let (lba, n) = Self::extent(cdb);
        if lba.checked_add(n).map_or(true, |end| end > self.blocks) {
            return Err(LBA_OUT_OF_RANGE);
        }
        Ok((lba as usize * BLOCK, n as usize * BLOCK))
    }

    fn read(&self, c: &Command<'_>) -> Done {
        let (at, len) = match self.range(c.cdb) {
            Ok(r) => r,
            Err(s) => return Done::check_sense(s, c.edtl),
        };
        let send = len.min(c.edtl as usize);
        let data = if c.read {
            let disk = self.data.read().unwrap_or_else(|e| e.into_inner());
            disk[at..at + send].to_vec()
        } else {
            Vec::new()
        };
        let mut d = Done::with_data(GOOD, Vec::new(), data, len, c.edtl);
        if len <= c.edtl as usize {
            d.underflow = c.edtl - len as u32;
        }
        d
    }

    fn write(&self, c: &Command<'_>) -> Done {
        let (at, len) = match self.range(c.cdb) {
            Ok(r) => r,
            Err(s) => return Done::check_sense(s, c.edtl),
        };
        let n = len.min(c.data_out.len());
        {
            let mut disk = self.data.write().unwrap_or_else(|e| e.into_inner());
            disk[at..at + n].copy_from_slice(&c.data_out[..n]);
        }
        let edtl = c.edtl as usize;
        Done {
            status: GOOD,
            sense: Vec::new(),
            data: Vec::new(),
            overflow: len.saturating_sub(edtl) as u32,
            underflow: edtl.saturating_sub(len) as u32,
        }
    }
}

impl Done {
    fn check_sense(s: SimSense, edtl: u32) -> Done {
        Done {
            status: CHECK_CONDITION,
            sense: s.to_fixed_bytes(),
            data: Vec::new(),
            overflow: 0,
            underflow: edtl,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(d: &TestDisk, cdb: &[u8], edtl: u32, read: bool, out: &[u8]) -> Done {
        let mut full = [0u8; 16];
        full[..cdb.len()].copy_from_slice(cdb);
        d.execute(&Command {
            lun: 0,
            cdb: &full,
            edtl,
            read,
            data_out: out,
        })
    }

    #[test]
    fn read_capacity_and_io_with_residuals() {
        let d = TestDisk::new(1 << 20, "TD1");
        let r = run(&d, &[0x25], 8, true, &[]);
        assert_eq!(r.data, vec![0, 0, 0x07, 0xFF, 0, 0, 2, 0]);
        // WRITE(10) of one block, then READ(10) it back.
        let block = vec![0xA6u8; 512];
        let w = run(&d, &[0x2A, 0, 0, 0, 0, 5, 0, 0, 1], 512, false, &block);
        assert_eq!((w.status, w.overflow, w.underflow), (GOOD, 0, 0));
        let r = run(&d, &[0x28, 0, 0, 0, 0, 5, 0, 0, 1], 512, true, &[]);
        assert_eq!(r.data, block);
        // Table of READ(10) residuals as iscsi-test-cu checks them.
        let cases: &[(u32, usize, u32, u32)] =
            &[(0, 0, 512, 0), (10_000, 512, 0, 9488), (200, 200, 312, 0)];
        for &(edtl, sent, o, u) in cases {
            let r = run(&d, &[0x28, 0, 0, 0, 0, 5, 0, 0, 1], edtl, true, &[]);
            assert_eq!(
                (r.data.len(), r.overflow, r.underflow),
                (sent, o, u),
                "{edtl}"
            );
        }
        // Overflowing write: only EDTL bytes land.
        let w = run(&d, &[0x2A, 0, 0, 0, 0, 6, 0, 0, 2], 512, false, &block);
        assert_eq!((w.overflow, w.underflow), (512, 0));
        let r = run(&d, &[0x28, 0, 0, 0, 0, 7, 0, 0, 1], 512, true, &[]);
        assert_eq!(r.data, vec![0; 512]);
        // Out of range and unknown opcodes.
        let r = run(&d, &[0x28, 0, 0, 0, 0x07, 0xFF, 0, 0, 2], 1024, true, &[]);
        assert_eq!(r.sense[12..14], [0x21, 0x00]);
        let r = run(&d, &[0xC0], 0, false, &[]);
        assert_eq!((r.sense[2], r.sense[12], r.sense[13]), (5, 0x20, 0));
    }
}
