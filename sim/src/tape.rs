//! Cartridges that store data (`sim-iscsi.md` §3): each cartridge is a sequence of logical
//! objects (data blocks and filemarks) kept in one file per cartridge under `--media-dir`
//! (or in memory without one), and the SSC data commands of the drives: READ(6), WRITE(6),
//! WRITE FILEMARKS(6), SPACE(6), ERASE(6), LOCATE(10)/(16), READ POSITION, MODE SELECT.
//!
//! Decisions where the spec is silent:
//! - File format: `REELTAPE1\n`, then per object a kind byte (0 data, 1 filemark), a 4-byte
//!   little-endian length and the data. Named `<barcode>.tape`. A record cut short by a crash
//!   is dropped when the file is opened.
//! - Logical object numbers count filemarks, as LTO drives do: READ POSITION and LOCATE use
//!   them; READ POSITION's long form also reports the file number.
//! - Capacity counts data bytes only (filemarks are free); early warning is at capacity −
//!   capacity/32. A block that does not fit before the physical end is not written (VOLUME
//!   OVERFLOW with the whole block as residue).
//! - WORM: appending at end of data is allowed, anything that would overwrite or erase data is
//!   refused with 07/30/0C.
//! - SILI on a short block suppresses the ILI check condition; the residue then shows only as
//!   the transport's residual.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use reel_hw::DataDirection;

use crate::layout::MediaConfig;
use crate::library::Outcome;
use crate::media::{density_info, Barcode, Medium, MediumKind};
use crate::sense::{codes, SimSense};
use crate::state::State;

const MAGIC: &[u8] = b"REELTAPE1\n";
const DATA: u8 = 0;
const FILEMARK: u8 = 1;
/// The largest block the drives accept (READ BLOCK LIMITS says 8 MiB).
pub const MAX_BLOCK: usize = 8 << 20;

/// 08/00/05 BLANK CHECK, END-OF-DATA DETECTED.
const END_OF_DATA: SimSense = SimSense::new(8, 0x00, 0x05);
/// 00/00/01 FILEMARK DETECTED.
const FILEMARK_DETECTED: SimSense = SimSense::new(0, 0x00, 0x01);
/// 00/00/04 BEGINNING-OF-PARTITION/MEDIUM DETECTED.
const BEGINNING: SimSense = SimSense::new(0, 0x00, 0x04);
/// 00/00/02 END-OF-PARTITION/MEDIUM DETECTED (early warning).
const EARLY_WARNING: SimSense = SimSense::new(0, 0x00, 0x02);
/// 0D/00/02 VOLUME OVERFLOW, END-OF-PARTITION/MEDIUM DETECTED.
const VOLUME_OVERFLOW: SimSense = SimSense::new(0x0D, 0x00, 0x02);
/// 07/27/00 WRITE PROTECTED.
const WRITE_PROTECTED: SimSense = SimSense::new(7, 0x27, 0x00);
/// 07/30/0C WORM MEDIUM - OVERWRITE ATTEMPTED.
const WORM_OVERWRITE: SimSense = SimSense::new(7, 0x30, 0x0C);
/// 03/0C/00 WRITE ERROR.
const WRITE_ERROR: SimSense = SimSense::new(3, 0x0C, 0x00);
/// 03/11/00 UNRECOVERED READ ERROR.
const READ_ERROR: SimSense = SimSense::new(3, 0x11, 0x00);

/// One logical object on tape.
#[derive(Debug, Clone, Copy)]
struct Object {
    filemark: bool,
    len: u32,
    /// Where its data starts in the backing store.
    at: u64,
}

#[derive(Debug)]
enum Backing {
    Memory(Vec<u8>),
    File(File),
}

/// One cartridge's recorded objects.
#[derive(Debug)]
pub(crate) struct Tape {
    objects: Vec<Object>,
    backing: Backing,
    /// Data bytes recorded.
    bytes: u64,
    /// End of the backing store.
    end: u64,
}

impl Tape {
    fn memory() -> Tape {
        Tape {
            objects: Vec::new(),
            backing: Backing::Memory(MAGIC.to_vec()),
            bytes: 0,
            end: MAGIC.len() as u64,
        }
    }

    /// Opens (or creates) the file of one cartridge, indexing its objects.
    fn open(path: &Path) -> std::io::Result<Tape> {
        let mut f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        let len = f.metadata()?.len();
        if len == 0 {
            f.write_all(MAGIC)?;
        } else {
            let mut magic = [0u8; 10];
            f.read_exact(&mut magic)?;
            if magic != MAGIC {
                return Err(std::io::Error::other(format!(
                    "{} is not a reel-sim cartridge file",
                    path.display()
                )));
            }
        }
        let mut t = Tape {
            objects: Vec::new(),
            backing: Backing::File(f),
            bytes: 0,
            end: MAGIC.len() as u64,
        };
        let total = len.max(MAGIC.len() as u64);
        let mut head = [0u8; 5];
        while t.end + 5 <= total {
            t.read_at(t.end, &mut head)?;
            let n = u32::from_le_bytes([head[1], head[2], head[3], head[4]]);
            let at = t.end + 5;
            if head[0] > FILEMARK || at + u64::from(n) > total || n as usize > MAX_BLOCK {
                break;
            }
            t.objects.push(Object {
                filemark: head[0] == FILEMARK,
                len: n,
                at,
            });
            t.bytes += u64::from(n);
            t.end = at + u64::from(n);
        }
        if t.end != total {
            tracing::warn!(
                "{}: dropping {} bytes of a record cut short",
                path.display(),
                total - t.end
            );
            if let Backing::File(f) = &t.backing {
                f.set_len(t.end)?;
            }
        }
        Ok(t)
    }

    fn read_at(&self, at: u64, buf: &mut [u8]) -> std::io::Result<()> {
        match &self.backing {
            Backing::Memory(v) => {
                let s = usize::try_from(at).unwrap_or(usize::MAX);
                let src = s
                    .checked_add(buf.len())
                    .and_then(|e| v.get(s..e))
                    .ok_or_else(|| std::io::Error::other("read past the end of the tape"))?;
                buf.copy_from_slice(src);
                Ok(())
            }
            Backing::File(f) => f.read_exact_at(buf, at),
        }
    }

    /// Drops every object from `pos` on (writing always ends the recorded data).
    fn truncate(&mut self, pos: usize) -> std::io::Result<()> {
        if pos >= self.objects.len() {
            return Ok(());
        }
        let cut = self.objects[pos].at - 5;
        for o in &self.objects[pos..] {
            self.bytes -= u64::from(o.len);
        }
        self.objects.truncate(pos);
        self.end = cut;
        match &mut self.backing {
            Backing::Memory(v) => v.truncate(cut as usize),
            Backing::File(f) => f.set_len(cut)?,
        }
        Ok(())
    }

    fn append(&mut self, filemark: bool, data: &[u8], durable: bool) -> std::io::Result<()> {
        let mut rec = [0u8; 5];
        rec[0] = if filemark { FILEMARK } else { DATA };
        rec[1..].copy_from_slice(&(data.len() as u32).to_le_bytes());
        let at = self.end + 5;
        match &mut self.backing {
            Backing::Memory(v) => {
                v.extend_from_slice(&rec);
                v.extend_from_slice(data);
            }
            Backing::File(f) => {
                f.seek(SeekFrom::Start(self.end))?;
                f.write_all(&rec)?;
                f.write_all(data)?;
                if durable {
                    f.sync_data()?;
                }
            }
        }
        self.objects.push(Object {
            filemark,
            len: data.len() as u32,
            at,
        });
        self.bytes += data.len() as u64;
        self.end = at + data.len() as u64;
        Ok(())
    }

    /// Filemarks before object `pos` (the file number).
    fn file_number(&self, pos: usize) -> u64 {
        self.objects[..pos.min(self.objects.len())]
            .iter()
            .filter(|o| o.filemark)
            .count() as u64
    }
}

/// Every cartridge's tape, opened on first use.
#[derive(Debug, Default)]
pub(crate) struct MediaStore {
    dir: Option<PathBuf>,
    tapes: HashMap<Barcode, Tape>,
}

impl MediaStore {
    /// Tapes kept as files under `dir`, or in memory.
    pub fn new(dir: Option<PathBuf>) -> MediaStore {
        MediaStore {
            dir,
            tapes: HashMap::new(),
        }
    }

    fn tape(&mut self, bc: Barcode) -> std::io::Result<&mut Tape> {
        if !self.tapes.contains_key(&bc) {
            let t = match &self.dir {
                Some(d) => Tape::open(&d.join(format!("{bc}.tape")))?,
                None => Tape::memory(),
            };
            self.tapes.insert(bc, t);
        }
        self.tapes
            .get_mut(&bc)
            .ok_or_else(|| std::io::Error::other("tape vanished"))
    }
}

/// Capacity in bytes of a medium under `[media] capacity_scale`.
pub fn capacity(m: Medium, cfg: MediaConfig) -> u64 {
    let native_mb = m
        .density_code()
        .and_then(density_info)
        .map_or(0, |i| u64::from(i.capacity_mb));
    // MB × 10^6 bytes × ppm / 10^6.
    native_mb * u64::from(cfg.capacity_scale_ppm)
}

fn be24(cdb: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([0, cdb[at], cdb[at + 1], cdb[at + 2]])
}

/// A 24-bit two's complement count (SPACE).
fn signed24(cdb: &[u8], at: usize) -> i64 {
    let v = be24(cdb, at);
    if v & 0x80_0000 != 0 {
        i64::from(v) - (1 << 24)
    } else {
        i64::from(v)
    }
}

/// What a command found about the loaded cartridge.
struct Loaded {
    barcode: Barcode,
    medium: Medium,
    write_protect: bool,
    capacity: u64,
}

impl State {
    /// The cartridge a data command works on: present, loaded, readable.
    fn loaded(&self, d: usize) -> Result<Loaded, SimSense> {
        self.drive_readiness(d)?;
        let cart = self.drive_cart(d).ok_or(codes::NO_MEDIUM)?;
        let c = self.cart(cart);
        let wp = self
            .layout()
            .cartridges
            .iter()
            .any(|k| k.barcode == c.barcode && k.write_protect);
        Ok(Loaded {
            barcode: c.barcode,
            medium: c.medium,
            write_protect: wp,
            capacity: capacity(c.medium, self.layout().media),
        })
    }

    /// Checks that writing at the current position is allowed.
    fn writable(&mut self, d: usize, l: &Loaded) -> Result<(), SimSense> {
        if l.write_protect || !self.layout().drives[d].generation.writes(l.medium) {
            return Err(WRITE_PROTECTED);
        }
        if l.medium.kind == MediumKind::Worm {
            let pos = self.drive(d).position as usize;
            let eod = self
                .media_mut()
                .tape(l.barcode)
                .map_err(|_| READ_ERROR)?
                .objects
                .len();
            if pos < eod {
                return Err(WORM_OVERWRITE);
            }
        }
        Ok(())
    }

    /// The drive's SSC data commands. None when `cdb` is not one of them.
    pub(crate) fn tape_command(
        &mut self,
        d: usize,
        cdb: &[u8],
        data: &mut DataDirection<'_>,
    ) -> Option<Outcome> {
        let r = match cdb[0] {
            0x08 => self.read6(d, cdb, data),
            0x0A => self.write6(d, cdb, data),
            0x10 => self.write_filemarks(d, cdb),
            0x11 => self.space(d, cdb),
            0x19 => self.erase(d),
            0x2B => self.locate_object(
                d,
                u64::from(u32::from_be_bytes([cdb[3], cdb[4], cdb[5], cdb[6]])),
            ),
            0x92 => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&cdb[4..12]);
                self.locate_object(d, u64::from_be_bytes(b))
            }
            0x15 | 0x55 => self.mode_select(d, cdb, data),
            _ => return None,
        };
        Some(match r {
            Ok(o) => o,
            Err(s) => Outcome::Check(s),
        })
    }

    fn read6(
        &mut self,
        d: usize,
        cdb: &[u8],
        data: &mut DataDirection<'_>,
    ) -> Result<Outcome, SimSense> {
        let fixed = cdb[1] & 0x01 != 0;
        let sili = cdb[1] & 0x02 != 0;
        let count = be24(cdb, 2) as usize;
        if fixed && sili {
            return Err(SimSense::invalid_cdb_field(1, Some(1)));
        }
        let block = self.drive(d).block_len as usize;
        if fixed && block == 0 {
            return Err(SimSense::invalid_cdb_field(1, Some(0)));
        }
        let l = self.loaded(d)?;
        if count == 0 {
            return Ok(Outcome::Good(0));
        }
        let DataDirection::FromDevice(buf) = data else {
            return Err(SimSense::invalid_cdb_field(2, None));
        };
        let mut pos = self.drive(d).position as usize;
        let tape = self.media_mut().tape(l.barcode).map_err(|_| READ_ERROR)?;
        let blocks = if fixed { count } else { 1 };
        let want = if fixed { block } else { count };
        let mut moved = 0usize;
        let mut outcome = None;
        for i in 0..blocks {
            let left = (blocks - i) as i64;
            let residue = if fixed { left } else { want as i64 };
            let Some(o) = tape.objects.get(pos).copied() else {
                outcome = Some(END_OF_DATA.with_residue(false, false, false, residue));
                break;
            };
            pos += 1;
            if o.filemark {
                outcome = Some(FILEMARK_DETECTED.with_residue(true, false, false, residue));
                break;
            }
            let n = (o.len as usize).min(want);
            let room = buf.len().saturating_sub(moved);
            let copy = n.min(room);
            tape.read_at(o.at, &mut buf[moved..moved + copy])
                .map_err(|_| READ_ERROR)?;
            moved += copy;
            if o.len as usize != want {
                if !fixed && sili && (o.len as usize) < want {
                    break;
                }
                let r = if fixed {
                    left
                } else {
                    want as i64 - i64::from(o.len)
                };
                outcome = Some(codes::NO_SENSE.with_residue(false, false, true, r));
                break;
            }
        }
        self.drive_mut(d).position = pos as u64;
        Ok(match outcome {
            None => Outcome::Good(moved),
            Some(s) if moved > 0 => Outcome::Recovered(s, moved),
            Some(s) => Outcome::Check(s),
        })
    }

    fn write6(
        &mut self,
        d: usize,
        cdb: &[u8],
        data: &mut DataDirection<'_>,
    ) -> Result<Outcome, SimSense> {
        let fixed = cdb[1] & 0x01 != 0;
        let count = be24(cdb, 2) as usize;
        let block = self.drive(d).block_len as usize;
        if fixed && block == 0 {
            return Err(SimSense::invalid_cdb_field(1, Some(0)));
        }
        let l = self.loaded(d)?;
        if count == 0 {
            return Ok(Outcome::Good(0));
        }
        let DataDirection::ToDevice(buf) = data else {
            return Err(SimSense::invalid_cdb_field(2, None));
        };
        let buf: &[u8] = buf;
        if !fixed && count > MAX_BLOCK {
            return Err(SimSense::invalid_cdb_field(2, None));
        }
        self.writable(d, &l)?;
        let durable = self.layout().media.durable;
        let pos = self.drive(d).position as usize;
        let (blocks, size) = if fixed { (count, block) } else { (1, count) };
        let tape = self.media_mut().tape(l.barcode).map_err(|_| WRITE_ERROR)?;
        tape.truncate(pos).map_err(|_| WRITE_ERROR)?;
        let warning = l.capacity - l.capacity / 32;
        let mut written = 0usize;
        let mut result = None;
        for i in 0..blocks {
            let chunk = &buf[(i * size).min(buf.len())..((i + 1) * size).min(buf.len())];
            if tape.bytes + size as u64 > l.capacity {
                let residue = if fixed {
                    (blocks - i) as i64
                } else {
                    count as i64
                };
                result = Some(VOLUME_OVERFLOW.with_residue(false, true, false, residue));
                break;
            }
            tape.append(false, chunk, durable)
                .map_err(|_| WRITE_ERROR)?;
            written += 1;
        }
        let over_ew = tape.bytes >= warning;
        self.drive_mut(d).position = (pos + written) as u64;
        Ok(match result {
            Some(s) => Outcome::Check(s),
            None if over_ew => {
                Outcome::Recovered(EARLY_WARNING.with_residue(false, true, false, 0), 0)
            }
            None => Outcome::Good(0),
        })
    }

    fn write_filemarks(&mut self, d: usize, cdb: &[u8]) -> Result<Outcome, SimSense> {
        let count = be24(cdb, 2) as usize;
        let l = self.loaded(d)?;
        if count == 0 {
            return Ok(Outcome::Good(0));
        }
        self.writable(d, &l)?;
        let durable = self.layout().media.durable;
        let pos = self.drive(d).position as usize;
        let tape = self.media_mut().tape(l.barcode).map_err(|_| WRITE_ERROR)?;
        tape.truncate(pos).map_err(|_| WRITE_ERROR)?;
        for _ in 0..count {
            tape.append(true, &[], durable).map_err(|_| WRITE_ERROR)?;
        }
        let over_ew = tape.bytes >= l.capacity - l.capacity / 32;
        self.drive_mut(d).position = (pos + count) as u64;
        Ok(if over_ew {
            Outcome::Check(EARLY_WARNING.with_residue(false, true, false, 0))
        } else {
            Outcome::Good(0)
        })
    }

    fn space(&mut self, d: usize, cdb: &[u8]) -> Result<Outcome, SimSense> {
        let code = cdb[1] & 0x0F;
        let count = signed24(cdb, 2);
        let l = self.loaded(d)?;
        let mut pos = self.drive(d).position as usize;
        let tape = self.media_mut().tape(l.barcode).map_err(|_| READ_ERROR)?;
        let eod = tape.objects.len();
        let mut result = None;
        match code {
            // Blocks or filemarks, forward or back.
            0 | 1 => {
                let marks = code == 1;
                let mut left = count.unsigned_abs() as i64;
                while left > 0 {
                    if count > 0 {
                        let Some(o) = tape.objects.get(pos) else {
                            result = Some(END_OF_DATA.with_residue(false, false, false, left));
                            break;
                        };
                        pos += 1;
                        if o.filemark != marks && o.filemark {
                            result = Some(FILEMARK_DETECTED.with_residue(true, false, false, left));
                            break;
                        }
                        if o.filemark == marks {
                            left -= 1;
                        }
                    } else {
                        if pos == 0 {
                            result = Some(BEGINNING.with_residue(false, true, false, left));
                            break;
                        }
                        let o = tape.objects[pos - 1];
                        pos -= 1;
                        if o.filemark != marks && o.filemark {
                            result = Some(FILEMARK_DETECTED.with_residue(true, false, false, left));
                            break;
                        }
                        if o.filemark == marks {
                            left -= 1;
                        }
                    }
                }
            }
            3 => pos = eod,
            _ => return Err(SimSense::invalid_cdb_field(1, Some(0))),
        }
        self.drive_mut(d).position = pos as u64;
        Ok(match result {
            Some(s) => Outcome::Check(s),
            None => Outcome::Good(0),
        })
    }

    fn erase(&mut self, d: usize) -> Result<Outcome, SimSense> {
        let l = self.loaded(d)?;
        self.writable(d, &l)?;
        let pos = self.drive(d).position as usize;
        let tape = self.media_mut().tape(l.barcode).map_err(|_| WRITE_ERROR)?;
        tape.truncate(pos).map_err(|_| WRITE_ERROR)?;
        Ok(Outcome::Good(0))
    }

    fn locate_object(&mut self, d: usize, to: u64) -> Result<Outcome, SimSense> {
        let l = self.loaded(d)?;
        let eod = self
            .media_mut()
            .tape(l.barcode)
            .map_err(|_| READ_ERROR)?
            .objects
            .len() as u64;
        if to > eod {
            self.drive_mut(d).position = eod;
            return Err(END_OF_DATA.with_residue(false, false, false, 0));
        }
        self.drive_mut(d).position = to;
        Ok(Outcome::Good(0))
    }

    /// MODE SELECT(6)/(10): the block descriptor sets the block length (0 = variable);
    /// the data compression page is accepted.
    fn mode_select(
        &mut self,
        d: usize,
        cdb: &[u8],
        data: &mut DataDirection<'_>,
    ) -> Result<Outcome, SimSense> {
        let ten = cdb[0] == 0x55;
        let DataDirection::ToDevice(p) = data else {
            return Ok(Outcome::Good(0));
        };
        let (hdr, bdl) = if ten {
            if p.len() < 8 {
                return Ok(Outcome::Good(0));
            }
            (8, usize::from(u16::from_be_bytes([p[6], p[7]])))
        } else {
            if p.len() < 4 {
                return Ok(Outcome::Good(0));
            }
            (4, usize::from(p[3]))
        };
        if bdl >= 8 && p.len() >= hdr + 8 {
            let len = be24(p, hdr + 5);
            if len as usize > MAX_BLOCK {
                return Err(SimSense::invalid_param_field((hdr + 5) as u16, None));
            }
            self.drive_mut(d).block_len = len;
        }
        Ok(Outcome::Good(0))
    }

    /// READ POSITION's numbers: logical object, file number, early warning passed.
    pub(crate) fn tape_position(&mut self, d: usize) -> Result<(u64, u64, bool), SimSense> {
        let l = self.loaded(d)?;
        let pos = self.drive(d).position;
        let tape = self.media_mut().tape(l.barcode).map_err(|_| READ_ERROR)?;
        let ew = tape.bytes >= l.capacity - l.capacity / 32;
        Ok((
            pos,
            tape.file_number(pos as usize),
            ew && pos as usize >= tape.objects.len(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_keeps_its_objects_and_drops_a_cut_record() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("T00001L8.tape");
        {
            let mut t = Tape::open(&path).unwrap();
            t.append(false, &[1; 100], true).unwrap();
            t.append(true, &[], true).unwrap();
            t.append(false, &[2; 50], true).unwrap();
        }
        // A crash in the middle of a record.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&[0, 200, 0, 0, 0, 9, 9]).unwrap();
        drop(f);
        let mut t = Tape::open(&path).unwrap();
        assert_eq!(t.objects.len(), 3);
        assert_eq!(t.bytes, 150);
        assert!(t.objects[1].filemark);
        let mut b = [0u8; 50];
        t.read_at(t.objects[2].at, &mut b).unwrap();
        assert_eq!(b, [2; 50]);
        t.truncate(1).unwrap();
        assert_eq!((t.objects.len(), t.bytes), (1, 100));
        drop(t);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 10 + 5 + 100);
        std::fs::write(&path, b"not a tape").unwrap();
        assert!(Tape::open(&path).is_err());
    }

    #[test]
    fn capacity_scales_native() {
        let m = Barcode::new("CAP001L8").unwrap().medium();
        let cfg = MediaConfig {
            capacity_scale_ppm: 1000,
            durable: false,
        };
        assert_eq!(capacity(m, cfg), 12_000_000_000);
    }
}
