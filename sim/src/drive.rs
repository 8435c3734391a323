//! The tape drives' commands (SSC) for their LTO generation: readiness, densities, load and
//! unload, position, MAM and TapeAlert.

use std::time::{Duration, Instant};

use reel_hw::DataDirection;

use crate::changer::cdb_len;
use crate::library::{Device, Outcome};
use crate::media::{density_info, Medium, MediumKind};
use crate::sense::{codes, SimSense};
use crate::state::{Attr, State};

/// TapeAlert flag 0x14: clean now.
pub const TAPEALERT_CLEAN_NOW: u8 = 0x14;

/// The MAM attribute formats.
const BINARY: u8 = 0;
const ASCII: u8 = 1;
const TEXT: u8 = 2;

/// Host attributes this drive knows: id, format, maximum length.
const HOST_ATTRS: &[(u16, u8, usize)] = &[
    (0x0800, ASCII, 8),
    (0x0801, ASCII, 32),
    (0x0802, ASCII, 8),
    (0x0803, TEXT, 160),
    (0x0804, ASCII, 12),
    (0x0805, BINARY, 1),
    (0x0806, ASCII, 32),
    (0x0807, TEXT, 80),
    (0x0808, TEXT, 160),
    (0x0809, ASCII, 16),
    (0x080C, BINARY, 64),
    (0x0820, BINARY, 36),
    (0x0821, BINARY, 36),
];

/// The most a host attribute this drive does not know may hold.
const MAX_OTHER_ATTR: usize = 1024;

fn be16(cdb: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([cdb[at], cdb[at + 1]])
}

fn be32(cdb: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([cdb[at], cdb[at + 1], cdb[at + 2], cdb[at + 3]])
}

fn padded(s: &str, n: usize) -> Vec<u8> {
    let mut v = vec![b' '; n];
    let k = s.len().min(n);
    v[..k].copy_from_slice(&s.as_bytes()[..k]);
    v
}

impl State {
    /// TEST UNIT READY's answer for drive `d`.
    pub(crate) fn drive_readiness(&self, d: usize) -> Result<(), SimSense> {
        let Some(cart) = self.drive_cart(d) else {
            return Err(codes::NO_MEDIUM);
        };
        let st = self.drive(d);
        if !st.threaded {
            return Err(codes::LOAD_REQUIRED);
        }
        if Instant::now() < st.ready_at {
            return Err(codes::BECOMING_READY);
        }
        let m = self.cart(cart).medium;
        if m.kind == MediumKind::Cleaning {
            return Err(codes::CLEANING_CARTRIDGE);
        }
        if !self.layout().drives[d].generation.reads(m) {
            return Err(codes::INCOMPATIBLE_MEDIUM);
        }
        Ok(())
    }

    /// The loaded medium, for commands that read the cartridge memory: present, threaded and
    /// done loading (any medium kind).
    fn loaded_medium(&self, d: usize) -> Result<u32, SimSense> {
        let cart = self.drive_cart(d).ok_or(codes::NO_MEDIUM)?;
        let st = self.drive(d);
        if !st.threaded {
            return Err(codes::LOAD_REQUIRED);
        }
        if Instant::now() < st.ready_at {
            return Err(codes::BECOMING_READY);
        }
        Ok(cart)
    }

    pub(crate) fn drive_command(
        &mut self,
        initiator: u32,
        d: usize,
        cdb: &[u8],
        data: &mut DataDirection<'_>,
        apply: bool,
    ) -> Outcome {
        let opcode = cdb[0];
        let known = matches!(
            opcode,
            0x00 | 0x01
                | 0x03
                | 0x05
                | 0x12
                | 0x1A
                | 0x1B
                | 0x1E
                | 0x34
                | 0x44
                | 0x4D
                | 0x5A
                | 0x8C
                | 0x8D
                | 0x08
                | 0x0A
                | 0x10
                | 0x11
                | 0x15
                | 0x19
                | 0x2B
                | 0x55
                | 0x92
        );
        if !known {
            return Outcome::Check(codes::INVALID_OPCODE);
        }
        if cdb.len() < cdb_len(opcode) {
            return Outcome::Check(SimSense::invalid_cdb_field(0, None));
        }
        if let Some(o) = self.tape_command(d, cdb, data) {
            return o;
        }
        let r = match opcode {
            0x00 => self.drive_readiness(d).map(|()| 0),
            0x01 => self.drive_readiness(d).map(|()| {
                self.drive_mut(d).position = 0;
                0
            }),
            0x03 => {
                let s = self
                    .request_sense(initiator, Device::Drive(d))
                    .to_fixed_bytes();
                Ok(self.reply(data, &s, usize::from(cdb[4])))
            }
            0x05 => {
                // Maximum 8 MiB, minimum 1 byte.
                let r = [0x00, 0x80, 0x00, 0x00, 0x00, 0x01];
                Ok(self.reply(data, &r, 6))
            }
            0x12 => return self.inquiry(Device::Drive(d), cdb, data),
            0x1A | 0x5A => self.drive_mode_sense(d, cdb, data),
            0x1B => return self.load_unload(d, cdb, apply),
            0x1E => self.drive_prevent(initiator, d, cdb),
            0x34 => self.read_position(d, cdb, data),
            0x44 => self.report_density_support(d, cdb, data),
            0x4D => self.log_sense(d, cdb, data),
            0x8C => self.read_attribute(d, cdb, data),
            0x8D => self.write_attribute(d, cdb, data),
            _ => Err(codes::INVALID_OPCODE),
        };
        match r {
            Ok(n) => Outcome::Good(n),
            Err(s) => Outcome::Check(s),
        }
    }

    fn drive_prevent(&mut self, initiator: u32, d: usize, cdb: &[u8]) -> Result<usize, SimSense> {
        let initiator = self.prevent_holder(initiator);
        let p = &mut self.drive_mut(d).prevent;
        match cdb[4] & 0x03 {
            0 => p.retain(|&i| i != initiator),
            1 => {
                if !p.contains(&initiator) {
                    p.push(initiator);
                }
            }
            _ => return Err(SimSense::invalid_cdb_field(4, Some(1))),
        }
        Ok(0)
    }

    fn load_unload(&mut self, d: usize, cdb: &[u8], apply: bool) -> Outcome {
        let immed = cdb[1] & 0x01 != 0;
        let load = cdb[4] & 0x01 != 0;
        let Some(cart) = self.drive_cart(d) else {
            return Outcome::Check(codes::NO_MEDIUM);
        };
        let load_ms = self.layout().timing.load_ms;
        if load {
            if self.drive(d).threaded {
                // Already loaded: LOAD rewinds.
                self.drive_mut(d).position = 0;
                return Outcome::Good(0);
            }
            if !apply && !immed && load_ms > 0 {
                return Outcome::Delay(Duration::from_millis(load_ms));
            }
            let medium = self.cart(cart).medium;
            let st = self.drive_mut(d);
            st.threaded = true;
            st.position = 0;
            st.load_gen = st.load_gen.wrapping_add(1);
            st.ready_at = if immed {
                Instant::now() + Duration::from_millis(load_ms)
            } else {
                Instant::now()
            };
            self.count_load(d, medium);
        } else {
            if !self.drive(d).prevent.is_empty() {
                return Outcome::Check(codes::REMOVAL_PREVENTED);
            }
            if !self.drive(d).threaded {
                return Outcome::Good(0);
            }
            if !apply && !immed && load_ms > 0 {
                return Outcome::Delay(Duration::from_millis(load_ms));
            }
            let st = self.drive_mut(d);
            st.threaded = false;
            st.position = 0;
        }
        self.persist();
        Outcome::Good(0)
    }

    fn drive_mode_sense(
        &self,
        d: usize,
        cdb: &[u8],
        data: &mut DataDirection<'_>,
    ) -> Result<usize, SimSense> {
        // Header, one block descriptor (density of the loaded medium, the block length MODE
        // SELECT set) and the data compression page 0x0F.
        let ten = cdb[0] == 0x5A;
        let page = cdb[2] & 0x3F;
        if page != 0x3F && page != 0x00 && page != 0x0F {
            return Err(SimSense::invalid_cdb_field(2, Some(5)));
        }
        let dbd = cdb[1] & 0x08 != 0;
        let alloc = if ten {
            usize::from(be16(cdb, 7))
        } else {
            usize::from(cdb[4])
        };
        let density = self
            .drive_cart(d)
            .and_then(|c| self.cart(c).medium.density_code())
            .unwrap_or(0);
        let bl = self.drive(d).block_len.to_be_bytes();
        let bd = [density, 0, 0, 0, 0, bl[1], bl[2], bl[3]];
        let mut r = if ten { vec![0u8; 8] } else { vec![0u8; 4] };
        let wp = self
            .drive_cart(d)
            .map(|c| {
                let cart = self.cart(c);
                !self.layout().drives[d].generation.writes(cart.medium)
                    || self
                        .layout()
                        .cartridges
                        .iter()
                        .any(|k| k.barcode == cart.barcode && k.write_protect)
            })
            .unwrap_or(false);
        let dsp = 0x10 | if wp { 0x80 } else { 0 }; // buffered mode 1, WP
        if ten {
            r[3] = dsp;
            if !dbd {
                r[7] = 8;
                r.extend_from_slice(&bd);
            }
        } else {
            r[2] = dsp;
            if !dbd {
                r[3] = 8;
                r.extend_from_slice(&bd);
            }
        }
        if page == 0x0F || page == 0x3F {
            // Data compression: DCE and DCC set, DDE set, algorithm 1 (ALDC-like).
            r.extend_from_slice(&[0x0F, 0x0E, 0xC0, 0x80, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0]);
        }
        if ten {
            let n = (r.len() - 2) as u16;
            r[0..2].copy_from_slice(&n.to_be_bytes());
        } else {
            r[0] = (r.len() - 1) as u8;
        }
        Ok(self.reply(data, &r, alloc))
    }

    fn read_position(
        &mut self,
        d: usize,
        cdb: &[u8],
        data: &mut DataDirection<'_>,
    ) -> Result<usize, SimSense> {
        let sa = cdb[1] & 0x1F;
        let (pos, file, ew) = self.tape_position(d)?;
        // BOP, and EOP once the data reaches early warning.
        let flags = if pos == 0 { 0x80 } else { 0 } | if ew { 0x40 } else { 0 };
        match sa {
            0x00 | 0x01 => {
                let mut r = [0u8; 20];
                r[0] = flags;
                let p = (pos as u32).to_be_bytes();
                r[4..8].copy_from_slice(&p);
                r[8..12].copy_from_slice(&p);
                Ok(self.reply(data, &r, 20))
            }
            0x06 => {
                let mut r = [0u8; 32];
                r[0] = flags;
                r[8..16].copy_from_slice(&pos.to_be_bytes());
                r[16..24].copy_from_slice(&file.to_be_bytes());
                Ok(self.reply(data, &r, usize::from(be16(cdb, 7)).max(32)))
            }
            _ => Err(SimSense::invalid_cdb_field(1, Some(4))),
        }
    }

    fn report_density_support(
        &self,
        d: usize,
        cdb: &[u8],
        data: &mut DataDirection<'_>,
    ) -> Result<usize, SimSense> {
        let media = cdb[1] & 0x01 != 0;
        let medium_type = cdb[1] & 0x02 != 0;
        let alloc = usize::from(be16(cdb, 7));
        let generation = self.layout().drives[d].generation;
        let loaded: Option<Medium> = if media {
            let cart = self.loaded_medium(d)?;
            let m = self.cart(cart).medium;
            if m.kind == MediumKind::Cleaning {
                return Err(codes::CLEANING_CARTRIDGE);
            }
            if !generation.reads(m) {
                return Err(codes::INCOMPATIBLE_MEDIUM);
            }
            Some(m)
        } else {
            None
        };
        let native = crate::media::density_of_generation(generation.0).unwrap_or(0);
        let mut r = vec![0u8; 4];
        if !medium_type {
            let codes: Vec<u8> = match loaded {
                Some(m) => m.density_code().into_iter().collect(),
                None => generation.densities(),
            };
            let writable = generation.writable_densities();
            for code in codes {
                let Some(info) = density_info(code) else {
                    continue;
                };
                let mut desc = vec![0u8; 52];
                desc[0] = code;
                desc[1] = code;
                let mut f = 0u8;
                if writable.contains(&code) && loaded.map_or(true, |m| generation.writes(m)) {
                    f |= 0x80; // WRTOK
                }
                if loaded.is_some() || code == native {
                    f |= 0x20; // DEFLT
                }
                desc[2] = f;
                desc[5..8].copy_from_slice(&info.bits_per_mm.to_be_bytes()[1..]);
                desc[8..10].copy_from_slice(&127u16.to_be_bytes());
                desc[10..12].copy_from_slice(&info.tracks.to_be_bytes());
                desc[12..16].copy_from_slice(&info.capacity_mb.to_be_bytes());
                desc[16..24].copy_from_slice(&padded("LTO-CVE", 8));
                desc[24..32].copy_from_slice(&padded(info.name, 8));
                desc[32..52].copy_from_slice(&padded(info.description, 20));
                r.extend_from_slice(&desc);
            }
        } else {
            let media: Vec<Medium> = match loaded {
                Some(m) => vec![m],
                None => generation.media(),
            };
            for m in media {
                let Some(code) = m.density_code() else {
                    continue;
                };
                let Some(info) = density_info(code) else {
                    continue;
                };
                let mut desc = vec![0u8; 56];
                desc[0] = m.medium_type_code();
                desc[2..4].copy_from_slice(&52u16.to_be_bytes());
                desc[4] = 1;
                desc[5] = code;
                desc[14..16].copy_from_slice(&127u16.to_be_bytes());
                desc[16..18].copy_from_slice(&info.length_m.to_be_bytes());
                desc[20..28].copy_from_slice(&padded("LTO-CVE", 8));
                let (name, kind) = match m.kind {
                    MediumKind::Worm => (format!("{}W", info.name), "WORM"),
                    _ => (info.name.to_owned(), "Data"),
                };
                desc[28..36].copy_from_slice(&padded(&name, 8));
                let what = if m.type_m {
                    "Ultrium 7 Type M".to_owned()
                } else {
                    format!("Ultrium {} {kind}", m.generation)
                };
                desc[36..56].copy_from_slice(&padded(&what, 20));
                r.extend_from_slice(&desc);
            }
        }
        let n = (r.len() - 2) as u16;
        r[0..2].copy_from_slice(&n.to_be_bytes());
        Ok(self.reply(data, &r, alloc))
    }

    fn log_sense(
        &mut self,
        d: usize,
        cdb: &[u8],
        data: &mut DataDirection<'_>,
    ) -> Result<usize, SimSense> {
        let page = cdb[2] & 0x3F;
        let alloc = usize::from(be16(cdb, 7));
        if cdb[3] != 0 {
            return Err(SimSense::invalid_cdb_field(3, None));
        }
        let r = match page {
            0x00 => vec![0x00, 0x00, 0x00, 0x02, 0x00, 0x2E],
            0x2E => {
                let st = self.drive_mut(d);
                let mut flags = std::mem::take(&mut st.alerts);
                if st.needs_cleaning {
                    flags |= 1 << (TAPEALERT_CLEAN_NOW - 1);
                }
                let mut r = vec![0x2E, 0x00, 0x01, 0x40];
                for code in 1..=64u16 {
                    r.extend_from_slice(&code.to_be_bytes());
                    r.push(0x03);
                    r.push(1);
                    r.push(u8::from(flags & (1 << (code - 1)) != 0));
                }
                r
            }
            _ => return Err(SimSense::invalid_cdb_field(2, Some(5))),
        };
        Ok(self.reply(data, &r, alloc))
    }

    /// The cartridge's attributes as the drive reports them: (id, READ ONLY | format, value).
    pub(crate) fn mam(&self, d: usize, cart: u32) -> Vec<(u16, u8, Vec<u8>)> {
        let c = self.cart(cart);
        let m = c.medium;
        let mut v: Vec<(u16, u8, Vec<u8>)> = Vec::new();
        if let Some(info) = m.density_code().and_then(density_info) {
            let mib = u64::from(info.capacity_mb) * 1_000_000 / (1 << 20);
            let remaining = if self.layout().drives[d].generation.reads(m) {
                mib
            } else {
                0
            };
            v.push((0x0000, 0x80 | BINARY, remaining.to_be_bytes().to_vec()));
            v.push((0x0001, 0x80 | BINARY, mib.to_be_bytes().to_vec()));
        }
        v.push((0x0400, 0x80 | ASCII, padded("REELSIM", 8)));
        v.push((
            0x0401,
            0x80 | ASCII,
            padded(&format!("RS{}", c.barcode), 32),
        ));
        v.push((0x0405, 0x80 | BINARY, vec![m.density_code().unwrap_or(0)]));
        v.push((0x0408, 0x80 | BINARY, vec![m.mam_medium_type()]));
        if !c.mam.contains_key(&0x0806) {
            v.push((0x0806, ASCII, padded(c.barcode.as_str(), 32)));
        }
        for (&id, a) in &c.mam {
            if !a.value.is_empty() {
                v.push((id, a.format, a.value.clone()));
            }
        }
        v.sort_by_key(|a| a.0);
        v
    }

    fn read_attribute(
        &self,
        d: usize,
        cdb: &[u8],
        data: &mut DataDirection<'_>,
    ) -> Result<usize, SimSense> {
        let sa = cdb[1] & 0x1F;
        let first = be16(cdb, 8);
        let alloc = be32(cdb, 10) as usize;
        if cdb[5] != 0 {
            return Err(SimSense::invalid_cdb_field(5, None));
        }
        if cdb[7] != 0 {
            return Err(SimSense::invalid_cdb_field(7, None));
        }
        let cart = self.loaded_medium(d)?;
        let attrs = self.mam(d, cart);
        let mut r = vec![0u8; 4];
        match sa {
            0x00 => {
                let mut any = false;
                for (id, f, val) in attrs.iter().filter(|a| a.0 >= first) {
                    any = true;
                    r.extend_from_slice(&id.to_be_bytes());
                    r.push(*f);
                    r.extend_from_slice(&(val.len() as u16).to_be_bytes());
                    r.extend_from_slice(val);
                }
                if !any {
                    return Err(SimSense::invalid_cdb_field(8, None));
                }
            }
            0x01 => {
                for (id, _, _) in attrs.iter().filter(|a| a.0 >= first) {
                    r.extend_from_slice(&id.to_be_bytes());
                }
            }
            0x05 => {
                let mut ids: Vec<u16> = attrs.iter().map(|a| a.0).collect();
                ids.extend(HOST_ATTRS.iter().map(|h| h.0));
                ids.sort_unstable();
                ids.dedup();
                for id in ids.into_iter().filter(|&i| i >= first) {
                    r.extend_from_slice(&id.to_be_bytes());
                }
            }
            _ => return Err(SimSense::invalid_cdb_field(1, Some(4))),
        }
        let n = (r.len() - 4) as u32;
        r[0..4].copy_from_slice(&n.to_be_bytes());
        Ok(self.reply(data, &r, alloc))
    }

    fn write_attribute(
        &mut self,
        d: usize,
        cdb: &[u8],
        data: &mut DataDirection<'_>,
    ) -> Result<usize, SimSense> {
        if cdb[5] != 0 {
            return Err(SimSense::invalid_cdb_field(5, None));
        }
        if cdb[7] != 0 {
            return Err(SimSense::invalid_cdb_field(7, None));
        }
        let len = be32(cdb, 10) as usize;
        let cart = self.loaded_medium(d)?;
        if len == 0 {
            return Ok(0);
        }
        let DataDirection::ToDevice(buf) = data else {
            return Err(SimSense::invalid_cdb_field(10, None));
        };
        if buf.len() < len || len < 4 {
            return Err(SimSense::invalid_cdb_field(10, None));
        }
        let p = &buf[..len];
        let avail = be32(p, 0) as usize;
        if avail + 4 > len {
            return Err(SimSense::invalid_param_field(0, None));
        }
        let mut at = 4;
        let mut writes: Vec<(u16, Attr)> = Vec::new();
        while at < 4 + avail {
            if at + 5 > 4 + avail {
                return Err(SimSense::invalid_param_field(at as u16, None));
            }
            let id = be16(p, at);
            let format = p[at + 2] & 0x03;
            let n = usize::from(be16(p, at + 3));
            if at + 5 + n > 4 + avail {
                return Err(SimSense::invalid_param_field((at + 3) as u16, None));
            }
            if id < 0x0800 {
                // Device and medium attributes are read only.
                return Err(SimSense::invalid_param_field(at as u16, None));
            }
            match HOST_ATTRS.iter().find(|h| h.0 == id) {
                Some(&(_, f, max)) => {
                    if format != f {
                        return Err(SimSense::invalid_param_field((at + 2) as u16, Some(1)));
                    }
                    if n > max {
                        return Err(SimSense::invalid_param_field((at + 3) as u16, None));
                    }
                }
                None if n > MAX_OTHER_ATTR => {
                    return Err(SimSense::invalid_param_field((at + 3) as u16, None));
                }
                None => {}
            }
            writes.push((
                id,
                Attr {
                    format,
                    value: p[at + 5..at + 5 + n].to_vec(),
                },
            ));
            at += 5 + n;
        }
        let c = self.cart_mut(cart);
        for (id, a) in writes {
            // A zero-length value deletes the attribute (kept as a tombstone for defaults).
            c.mam.insert(id, a);
        }
        self.persist();
        Ok(0)
    }
}
