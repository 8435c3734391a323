//! The medium changer's commands (SMC): CDB decoding and reply encoding, straight into the
//! caller's buffer.

use std::time::Duration;

use reel_hw::DataDirection;

use crate::layout::{ElementKind, Location, ShortForm};
use crate::library::{Device, Outcome};
use crate::media::Barcode;
use crate::sense::{codes, SimSense};
use crate::state::{Cart, State};
use crate::SimError;

fn be16(cdb: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([cdb[at], cdb[at + 1]])
}

fn be24(cdb: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([0, cdb[at], cdb[at + 1], cdb[at + 2]])
}

/// The CDB length of `opcode` by its group code.
pub(crate) fn cdb_len(opcode: u8) -> usize {
    match opcode >> 5 {
        0 => 6,
        1 | 2 => 10,
        4 => 16,
        5 => 12,
        _ => 6,
    }
}

fn space_padded<const N: usize>(s: &str) -> [u8; N] {
    let mut out = [b' '; N];
    let n = s.len().min(N);
    out[..n].copy_from_slice(&s.as_bytes()[..n]);
    out
}

impl State {
    /// INQUIRY for either device type: standard data or VPD 0x00 / 0x80 / 0x83.
    pub(crate) fn inquiry(&self, dev: Device, cdb: &[u8], data: &mut DataDirection<'_>) -> Outcome {
        let (ptype, rmb, vendor, product, revision, serial) = match dev {
            Device::Changer => {
                let c = &self.layout().changer;
                (
                    0x08u8,
                    0x00u8,
                    &c.vendor,
                    &c.product,
                    &c.revision,
                    &c.serial,
                )
            }
            Device::Drive(d) => {
                let c = &self.layout().drives[d];
                (0x01, 0x80, &c.vendor, &c.product, &c.revision, &c.serial)
            }
        };
        let alloc = usize::from(be16(cdb, 3));
        let evpd = cdb[1] & 1 != 0;
        if cdb[1] & 0xFE != 0 {
            return Outcome::Check(SimSense::invalid_cdb_field(1, Some(1)));
        }
        if !evpd {
            if cdb[2] != 0 {
                return Outcome::Check(SimSense::invalid_cdb_field(2, None));
            }
            let mut r = [0u8; 36];
            r[0] = ptype;
            r[1] = rmb;
            r[2] = 0x05; // SPC-3
            r[3] = 0x02; // response data format 2
            r[4] = 31;
            r[8..16].copy_from_slice(&space_padded::<8>(vendor));
            r[16..32].copy_from_slice(&space_padded::<16>(product));
            r[32..36].copy_from_slice(&space_padded::<4>(revision));
            return Outcome::Good(self.reply(data, &r, alloc));
        }
        let mut r = vec![ptype, cdb[2], 0, 0];
        match cdb[2] {
            0x00 => r.extend_from_slice(&[0x00, 0x80, 0x83]),
            0x80 => r.extend_from_slice(serial.as_bytes()),
            0x83 => {
                // One T10 vendor identification designator: vendor (8) + product (16) + serial.
                let id_len = 24 + serial.len();
                r.extend_from_slice(&[0x02, 0x01, 0x00, id_len as u8]);
                r.extend_from_slice(&space_padded::<8>(vendor));
                r.extend_from_slice(&space_padded::<16>(product));
                r.extend_from_slice(serial.as_bytes());
            }
            _ => return Outcome::Check(SimSense::invalid_cdb_field(2, None)),
        }
        let n = (r.len() - 4) as u16;
        r[2..4].copy_from_slice(&n.to_be_bytes());
        Outcome::Good(self.reply(data, &r, alloc))
    }

    pub(crate) fn changer_command(
        &mut self,
        initiator: u32,
        cdb: &[u8],
        data: &mut DataDirection<'_>,
        apply: bool,
    ) -> Outcome {
        let opcode = cdb[0];
        let known = matches!(
            opcode,
            0x00 | 0x03
                | 0x07
                | 0x12
                | 0x1A
                | 0x1B
                | 0x1E
                | 0x2B
                | 0x37
                | 0x5A
                | 0xA5
                | 0xA6
                | 0xB8
        );
        if !known {
            return Outcome::Check(codes::INVALID_OPCODE);
        }
        if cdb.len() < cdb_len(opcode) {
            return Outcome::Check(SimSense::invalid_cdb_field(0, None));
        }
        match opcode {
            0x00 => Outcome::Good(0),
            0x03 => {
                let s = self
                    .request_sense(initiator, Device::Changer)
                    .to_fixed_bytes();
                Outcome::Good(self.reply(data, &s, usize::from(cdb[4])))
            }
            0x12 => self.inquiry(Device::Changer, cdb, data),
            0x1A | 0x5A => self.changer_mode_sense(cdb, data),
            0xB8 => self.read_element_status(cdb, data),
            0xA5 => self.move_medium(cdb, apply),
            0xA6 => self.exchange_medium(cdb, apply),
            0x2B => self.position_to_element(cdb),
            0x07 | 0x37 => self.initialize_element_status(cdb, apply),
            0x1E => self.changer_prevent(initiator, cdb),
            0x1B => self.open_close_ie(cdb),
            _ => Outcome::Check(codes::INVALID_OPCODE),
        }
    }

    // ---- MODE SENSE --------------------------------------------------------------------------

    fn changer_mode_sense(&self, cdb: &[u8], data: &mut DataDirection<'_>) -> Outcome {
        let ten = cdb[0] == 0x5A;
        let pc = cdb[2] >> 6;
        let page = cdb[2] & 0x3F;
        let subpage = cdb[3];
        let alloc = if ten {
            usize::from(be16(cdb, 7))
        } else {
            usize::from(cdb[4])
        };
        if pc == 3 {
            return Outcome::Check(codes::SAVING_NOT_SUPPORTED);
        }
        if subpage != 0 && !(page == 0x3F && subpage == 0xFF) {
            return Outcome::Check(SimSense::invalid_cdb_field(3, None));
        }
        let pages: &[u8] = match page {
            0x1D => &[0x1D],
            0x1E => &[0x1E],
            0x1F => &[0x1F],
            0x3F => &[0x1D, 0x1E, 0x1F],
            _ => return Outcome::Check(SimSense::invalid_cdb_field(2, Some(5))),
        };
        let header = if ten { 8 } else { 4 };
        let mut r = vec![0u8; header];
        for &p in pages {
            let body = self.changer_page(p);
            if pc == 1 {
                // Changeable values: nothing is changeable.
                r.extend_from_slice(&body[..2]);
                r.resize(r.len() + body.len() - 2, 0);
            } else {
                r.extend_from_slice(&body);
            }
        }
        if ten {
            let n = (r.len() - 2) as u16;
            r[0..2].copy_from_slice(&n.to_be_bytes());
        } else {
            r[0] = (r.len() - 1).min(255) as u8;
        }
        Outcome::Good(self.reply(data, &r, alloc))
    }

    /// A changer mode page, page code and length bytes included.
    pub(crate) fn changer_page(&self, page: u8) -> Vec<u8> {
        let c = &self.layout().changer;
        match page {
            0x1D => {
                let mut p = vec![0x1D, 0x12];
                for k in ElementKind::ALL {
                    let r = c.range(k);
                    p.extend_from_slice(&r.first.to_be_bytes());
                    p.extend_from_slice(&r.count.to_be_bytes());
                }
                p.extend_from_slice(&[0, 0]);
                p
            }
            0x1E => {
                let n = usize::from(c.transport.count).min(127);
                let mut p = vec![0x1E, (2 * n) as u8];
                p.resize(2 + 2 * n, 0);
                p
            }
            _ => {
                let ie = if c.import_export.count > 0 { 0x04 } else { 0 };
                let dt = if c.data_transfer.count > 0 { 0x08 } else { 0 };
                let can = 0x02 | ie | dt;
                let mut p = vec![0u8; 20];
                p[0] = 0x1F;
                p[1] = 0x12;
                p[2] = can;
                p[4] = 0; // transport → nothing
                p[5] = can;
                p[6] = if ie != 0 { can } else { 0 };
                p[7] = if dt != 0 { can } else { 0 };
                p[12] = 0;
                p[13] = can;
                p[14] = if ie != 0 { can } else { 0 };
                p[15] = if dt != 0 { can } else { 0 };
                p
            }
        }
    }

    // ---- READ ELEMENT STATUS -----------------------------------------------------------------

    fn read_element_status(&self, cdb: &[u8], data: &mut DataDirection<'_>) -> Outcome {
        let q = self.layout().quirks;
        let c = &self.layout().changer;
        let voltag = cdb[1] & 0x10 != 0;
        let type_code = cdb[1] & 0x0F;
        let start = be16(cdb, 2);
        let count = be16(cdb, 4);
        let dvcid = cdb[6] & 0x01 != 0;
        let alloc = if q.allocation_length_16bit {
            u32::from(be16(cdb, 8))
        } else {
            be24(cdb, 7)
        };
        if type_code > 4 {
            return Outcome::Check(SimSense::invalid_cdb_field(1, Some(3)));
        }
        if voltag && !c.barcode_reader {
            return Outcome::Check(SimSense::invalid_cdb_field(1, Some(4)));
        }
        if dvcid && voltag && q.dvcid_with_voltag_rejected {
            return Outcome::Check(SimSense::invalid_cdb_field(6, Some(0)));
        }
        if dvcid && type_code != 4 && q.dvcid_on_non_drive_rejected {
            return Outcome::Check(SimSense::invalid_cdb_field(6, Some(0)));
        }
        // Pages in element address order (ranges never overlap).
        let mut kinds: Vec<ElementKind> = ElementKind::ALL
            .into_iter()
            .filter(|&k| (type_code == 0 || type_code == k.code()) && c.range(k).count > 0)
            .collect();
        kinds.sort_by_key(|&k| c.range(k).first);
        if kinds.is_empty() {
            return Outcome::Good(self.reply(data, &[0u8; 8], alloc as usize));
        }
        if kinds.iter().all(|&k| c.range(k).last() < Some(start)) {
            return Outcome::Check(codes::INVALID_ELEMENT);
        }
        let mut remaining = if q.ignore_element_count {
            u32::MAX
        } else {
            u32::from(count)
        };
        // (kind, first address, number, descriptor length)
        let mut pages: Vec<(ElementKind, u16, u16, usize)> = Vec::with_capacity(4);
        for k in kinds {
            let r = c.range(k);
            let Some(last) = r.last() else { continue };
            if last < start || remaining == 0 {
                continue;
            }
            let first = start.max(r.first);
            let n = (u32::from(last - first) + 1).min(remaining);
            remaining -= n;
            let tag = if voltag {
                usize::from(q.volume_tag_length)
            } else {
                0
            };
            let id = if dvcid && k == ElementKind::DataTransfer {
                36
            } else {
                0
            };
            pages.push((k, first, n as u16, 12 + tag + id));
        }
        let total: usize = pages.iter().map(|p| 8 + usize::from(p.2) * p.3).sum();
        let elements: u32 = pages.iter().map(|p| u32::from(p.2)).sum();
        let Some(&(_, first_reported, _, _)) = pages.first() else {
            return Outcome::Good(self.reply(data, &[0u8; 8], alloc as usize));
        };
        let DataDirection::FromDevice(buf) = data else {
            return Outcome::Good(0);
        };
        let limit = buf
            .len()
            .min(alloc as usize)
            .min(q.max_allocation_length as usize);
        let out = &mut buf[..limit];
        let mut w = Writer { out, pos: 0 };
        let mut h = [0u8; 8];
        h[0..2].copy_from_slice(&first_reported.to_be_bytes());
        h[2..4].copy_from_slice(&(elements.min(0xFFFF) as u16).to_be_bytes());
        h[5..8].copy_from_slice(&(total.min(0xFF_FFFF) as u32).to_be_bytes()[1..]);
        w.put(&h);
        for &(kind, first, n, dlen) in &pages {
            if w.full() {
                break;
            }
            let mut ph = [0u8; 8];
            ph[0] = kind.code();
            ph[1] = if voltag { 0x80 } else { 0 };
            ph[2..4].copy_from_slice(&(dlen as u16).to_be_bytes());
            ph[5..8].copy_from_slice(
                &((usize::from(n) * dlen).min(0xFF_FFFF) as u32).to_be_bytes()[1..],
            );
            w.put(&ph);
            let r = c.range(kind);
            for i in 0..n {
                if w.full() {
                    break;
                }
                let addr = first + i;
                let mut d = [0u8; 128];
                self.descriptor(
                    kind,
                    addr,
                    usize::from(addr - r.first),
                    voltag,
                    dvcid,
                    &mut d[..dlen],
                );
                w.put(&d[..dlen]);
            }
        }
        // tgt's flaw: the report's last bytes never arrive: zeros counted in the transfer, or
        // a transfer that ends early (the residual says so).
        let lost = usize::from(q.element_status_short_by);
        let report_end = (8 + total).min(w.pos);
        let from = (8 + total).saturating_sub(lost).min(report_end);
        w.out[from..report_end].fill(0);
        match q.element_status_short_form {
            ShortForm::Zeros => Outcome::Good(w.pos),
            ShortForm::Residual if from < report_end => Outcome::Good(from),
            ShortForm::Residual => Outcome::Good(w.pos),
        }
    }

    /// Encodes one element descriptor into `d` (zeroed, exactly the descriptor length).
    fn descriptor(
        &self,
        kind: ElementKind,
        addr: u16,
        offset: usize,
        voltag: bool,
        dvcid: bool,
        d: &mut [u8],
    ) {
        let q = &self.layout().quirks;
        d[0..2].copy_from_slice(&addr.to_be_bytes());
        let cart = self.cart_at(Location {
            kind,
            address: addr,
        });
        let mut flags = 0u8;
        if cart.is_some() {
            flags |= 0x01;
        }
        let mut access = true;
        match kind {
            ElementKind::Transport => {}
            ElementKind::Storage => {}
            ElementKind::ImportExport => {
                flags |= 0x30; // INENAB, EXENAB
                if cart.is_some_and(|c| self.cart(c).impexp) {
                    flags |= 0x02;
                }
                access = !self.door_open();
            }
            ElementKind::DataTransfer => {
                let cfg = &self.layout().drives[offset];
                let st = self.drive(offset);
                if !cfg.present {
                    flags |= 0x04;
                    d[4] = 0x83;
                    d[5] = 0x04;
                    access = false;
                } else if st.offline {
                    flags |= 0x04;
                    d[4] = 0x04;
                    d[5] = 0x12;
                    access = false;
                } else if st.threaded {
                    access = false;
                }
            }
        }
        if access {
            flags |= 0x08;
        }
        d[2] = flags;
        let mut at = 12;
        if let Some(cart) = cart {
            let c = self.cart(cart);
            d[9] = c.medium.element_type_bits();
            if let Some(src) = c.source {
                d[9] |= 0x80;
                d[10..12].copy_from_slice(&src.to_be_bytes());
            }
            if voltag {
                d[12..44].copy_from_slice(c.barcode.padded());
            }
        }
        if voltag {
            at += usize::from(q.volume_tag_length);
        }
        if dvcid && kind == ElementKind::DataTransfer {
            let cfg = &self.layout().drives[offset];
            if cfg.present {
                d[at] = 0x02; // ASCII
                d[at + 1] = 0x00; // vendor specific designator: the serial alone
                d[at + 3] = 32;
                let serial = cfg.serial.as_bytes();
                let n = serial.len().min(32);
                d[at + 4..at + 36].fill(b' ');
                d[at + 4..at + 4 + n].copy_from_slice(&serial[..n]);
            }
        }
    }

    // ---- moves -------------------------------------------------------------------------------

    fn check_transport(&self, addr: u16) -> Result<(), SimSense> {
        if addr == 0 || self.layout().changer.transport.contains(addr) {
            Ok(())
        } else {
            Err(codes::INVALID_ELEMENT)
        }
    }

    /// A source or destination of a move: an element that can hold a cartridge and that the
    /// robot can reach now.
    fn reachable(&self, addr: u16) -> Result<Location, SimSense> {
        let loc = self.locate(addr).ok_or(codes::INVALID_ELEMENT)?;
        match loc.kind {
            ElementKind::Transport => Err(codes::INVALID_ELEMENT),
            ElementKind::Storage => Ok(loc),
            ElementKind::ImportExport if self.door_open() => Err(codes::DOOR_OPEN),
            ElementKind::ImportExport => Ok(loc),
            ElementKind::DataTransfer => {
                let d = usize::from(addr - self.layout().changer.data_transfer.first);
                if !self.layout().drives[d].present {
                    Err(codes::DRIVE_REMOVED)
                } else if self.drive(d).offline {
                    Err(codes::OFFLINE)
                } else {
                    Ok(loc)
                }
            }
        }
    }

    /// May the robot take the cartridge out of `loc` now? A drive whose tape is threaded holds
    /// it: 05/53/02, or with the `auto_unload` quirk the library unloads it first.
    fn can_take(&self, loc: Location) -> Result<bool, SimSense> {
        if loc.kind != ElementKind::DataTransfer {
            return Ok(false);
        }
        let d = usize::from(loc.address - self.layout().changer.data_transfer.first);
        let st = self.drive(d);
        if !st.prevent.is_empty() {
            return Err(codes::REMOVAL_PREVENTED);
        }
        if st.threaded {
            if self.layout().quirks.auto_unload {
                return Ok(true);
            }
            return Err(codes::REMOVAL_PREVENTED);
        }
        Ok(false)
    }

    fn move_medium(&mut self, cdb: &[u8], apply: bool) -> Outcome {
        if cdb[10] & 0x01 != 0 {
            return Outcome::Check(SimSense::invalid_cdb_field(10, Some(0)));
        }
        let plan = (|| {
            self.check_transport(be16(cdb, 2))?;
            let src = self.reachable(be16(cdb, 4))?;
            let dst = self.reachable(be16(cdb, 6))?;
            if self.cart_at(src).is_none() {
                return Err(codes::SOURCE_EMPTY);
            }
            if self.cart_at(dst).is_some() {
                return Err(codes::DESTINATION_FULL);
            }
            let unload = self.can_take(src)?;
            Ok((src, dst, unload))
        })();
        let (src, dst, unload) = match plan {
            Ok(p) => p,
            Err(s) => return Outcome::Check(s),
        };
        if !apply {
            let t = &self.layout().timing;
            let ms = t.move_ms + if unload { t.load_ms } else { 0 };
            if ms > 0 {
                return Outcome::Delay(Duration::from_millis(ms));
            }
        }
        if let Some(cart) = self.take(src) {
            self.place(dst, cart, src);
        }
        self.persist();
        Outcome::Good(0)
    }

    fn exchange_medium(&mut self, cdb: &[u8], apply: bool) -> Outcome {
        if cdb[10] & 0x01 != 0 {
            return Outcome::Check(SimSense::invalid_cdb_field(10, Some(0)));
        }
        if cdb[10] & 0x02 != 0 {
            return Outcome::Check(SimSense::invalid_cdb_field(10, Some(1)));
        }
        let plan = (|| {
            self.check_transport(be16(cdb, 2))?;
            let src = self.reachable(be16(cdb, 4))?;
            let d1 = self.reachable(be16(cdb, 6))?;
            let d2 = self.reachable(be16(cdb, 8))?;
            if self.cart_at(src).is_none() || self.cart_at(d1).is_none() {
                return Err(codes::SOURCE_EMPTY);
            }
            if src == d1 {
                return Err(codes::DESTINATION_FULL);
            }
            if d2 != src && self.cart_at(d2).is_some() {
                return Err(codes::DESTINATION_FULL);
            }
            let u1 = self.can_take(src)?;
            let u2 = self.can_take(d1)?;
            Ok((src, d1, d2, u1 || u2))
        })();
        let (src, d1, d2, unload) = match plan {
            Ok(p) => p,
            Err(s) => return Outcome::Check(s),
        };
        if !apply {
            let t = &self.layout().timing;
            let ms = 2 * t.move_ms + if unload { t.load_ms } else { 0 };
            if ms > 0 {
                return Outcome::Delay(Duration::from_millis(ms));
            }
        }
        let (Some(a), Some(b)) = (self.take(src), self.take(d1)) else {
            return Outcome::Check(codes::SOURCE_EMPTY);
        };
        self.place(d2, b, d1);
        self.place(d1, a, src);
        self.persist();
        Outcome::Good(0)
    }

    fn position_to_element(&self, cdb: &[u8]) -> Outcome {
        if cdb[8] & 0x01 != 0 {
            return Outcome::Check(SimSense::invalid_cdb_field(8, Some(0)));
        }
        if let Err(s) = self.check_transport(be16(cdb, 2)) {
            return Outcome::Check(s);
        }
        match self.locate(be16(cdb, 4)) {
            Some(l) if l.kind != ElementKind::Transport => Outcome::Good(0),
            _ => Outcome::Check(codes::INVALID_ELEMENT),
        }
    }

    fn initialize_element_status(&self, cdb: &[u8], apply: bool) -> Outcome {
        let c = &self.layout().changer;
        let n: u64 = if cdb[0] == 0x37 && cdb[1] & 0x01 != 0 {
            let first = be16(cdb, 2);
            let count = be16(cdb, 6);
            if self.locate(first).is_none() {
                return Outcome::Check(codes::INVALID_ELEMENT);
            }
            let end = u32::from(first) + u32::from(count);
            ElementKind::ALL
                .into_iter()
                .map(|k| {
                    let r = c.range(k);
                    let lo = u32::from(r.first).max(u32::from(first));
                    let hi = (u32::from(r.first) + u32::from(r.count)).min(end);
                    u64::from(hi.saturating_sub(lo))
                })
                .sum()
        } else {
            ElementKind::ALL
                .into_iter()
                .map(|k| u64::from(c.range(k).count))
                .sum()
        };
        let ms = n * self.layout().timing.inventory_ms_per_element;
        if !apply && ms > 0 {
            return Outcome::Delay(Duration::from_millis(ms));
        }
        Outcome::Good(0)
    }

    fn changer_prevent(&mut self, initiator: u32, cdb: &[u8]) -> Outcome {
        match cdb[4] & 0x03 {
            0 => self.set_prevent(initiator, false),
            1 => self.set_prevent(initiator, true),
            _ => return Outcome::Check(SimSense::invalid_cdb_field(4, Some(1))),
        }
        Outcome::Good(0)
    }

    fn open_close_ie(&mut self, cdb: &[u8]) -> Outcome {
        let addr = be16(cdb, 2);
        if !self.layout().changer.import_export.contains(addr) {
            return Outcome::Check(codes::INVALID_ELEMENT);
        }
        match cdb[4] & 0x1F {
            0 => {
                if self.removal_prevented() {
                    return Outcome::Check(codes::REMOVAL_PREVENTED);
                }
                self.set_door_open(true);
            }
            1 => self.set_door_open(false),
            _ => return Outcome::Check(SimSense::invalid_cdb_field(4, Some(4))),
        }
        self.persist();
        Outcome::Good(0)
    }

    // ---- operator ----------------------------------------------------------------------------

    fn operator_allowed(&self) -> Result<(), SimError> {
        if self.layout().changer.import_export.count == 0 {
            return Err(SimError::Operator(
                "this library has no import/export elements".to_owned(),
            ));
        }
        if self.removal_prevented() {
            return Err(SimError::Operator(
                "the import/export door is locked: a host holds PREVENT MEDIUM REMOVAL".to_owned(),
            ));
        }
        Ok(())
    }

    fn ie_location(&self, addr: u16) -> Result<Location, SimError> {
        let r = self.layout().changer.import_export;
        if !r.contains(addr) {
            return Err(SimError::Operator(format!(
                "ie:{addr} is not an import/export element (they are {}..={})",
                r.first,
                r.last().unwrap_or(r.first)
            )));
        }
        Ok(Location {
            kind: ElementKind::ImportExport,
            address: addr,
        })
    }

    fn operator_event(&mut self) {
        self.import_export_changed();
        self.persist();
    }

    pub(crate) fn operator_insert(
        &mut self,
        barcode: &str,
        ie: Option<u16>,
    ) -> Result<Location, SimError> {
        self.operator_allowed()?;
        let bc =
            Barcode::new(barcode).map_err(|e| SimError::Operator(format!("{barcode:?}: {e}")))?;
        if self.has_barcode(bc) {
            return Err(SimError::Operator(format!(
                "a cartridge with barcode {bc} is already in the library"
            )));
        }
        let loc = match ie {
            Some(a) => {
                let loc = self.ie_location(a)?;
                if self.cart_at(loc).is_some() {
                    return Err(SimError::Operator(format!("{loc} is full")));
                }
                loc
            }
            None => {
                let r = self.layout().changer.import_export;
                (0..r.count)
                    .map(|i| Location {
                        kind: ElementKind::ImportExport,
                        address: r.first + i,
                    })
                    .find(|&l| self.cart_at(l).is_none())
                    .ok_or_else(|| {
                        SimError::Operator("every import/export element is full".to_owned())
                    })?
            }
        };
        self.add_cart(
            loc,
            Cart {
                barcode: bc,
                medium: bc.medium(),
                source: None,
                impexp: true,
                mam: std::collections::BTreeMap::new(),
            },
        );
        self.operator_event();
        Ok(loc)
    }

    pub(crate) fn operator_remove(&mut self, ie: u16) -> Result<Barcode, SimError> {
        self.operator_allowed()?;
        let loc = self.ie_location(ie)?;
        let Some(cart) = self.remove_cart(loc) else {
            return Err(SimError::Operator(format!("{loc} is empty")));
        };
        self.operator_event();
        let bc = cart.barcode;
        Ok(bc)
    }

    pub(crate) fn operator_door(&mut self, open: bool) -> Result<(), SimError> {
        if open {
            self.operator_allowed()?;
        } else if self.layout().changer.import_export.count == 0 {
            return Err(SimError::Operator(
                "this library has no import/export elements".to_owned(),
            ));
        }
        let was = self.door_open();
        self.set_door_open(open);
        if was && !open {
            // Closing the door: the library rescans the import/export elements.
            self.operator_event();
        } else {
            self.persist();
        }
        Ok(())
    }

    pub(crate) fn operator_drive(&mut self, address: u16, online: bool) -> Result<(), SimError> {
        let r = self.layout().changer.data_transfer;
        if !r.contains(address) {
            return Err(SimError::Operator(format!(
                "{address} is not a drive element address"
            )));
        }
        let d = usize::from(address - r.first);
        if !self.layout().drives[d].present {
            return Err(SimError::Operator(format!(
                "drive:{address} is an empty bay"
            )));
        }
        let st = self.drive_mut(d);
        if st.offline != online {
            return Ok(());
        }
        st.offline = !online;
        if online {
            self.drive_powered_on(d);
        }
        self.persist();
        Ok(())
    }
}

/// Writes into a bounded buffer, cutting off what does not fit.
struct Writer<'a> {
    out: &'a mut [u8],
    pos: usize,
}

impl Writer<'_> {
    #[inline]
    fn put(&mut self, b: &[u8]) {
        let room = self.out.len() - self.pos;
        let n = b.len().min(room);
        self.out[self.pos..self.pos + n].copy_from_slice(&b[..n]);
        self.pos += n;
    }

    #[inline]
    fn full(&self) -> bool {
        self.pos >= self.out.len()
    }
}
