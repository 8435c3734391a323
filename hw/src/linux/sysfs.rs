//! Enumeration of SCSI generic devices through sysfs (scsi-reference §1).
//!
//! For each `<sysfs>/class/scsi_generic/sgN` this reads the SCSI device behind it
//! (`device/type`, `vendor`, `model`, `rev`, `vpd_pg80`), its `H:C:T:L` (the name the `device`
//! link points to) and the kernel's primary node (`scsi_tape/stN` → `/dev/nstN`,
//! `scsi_changer/schN` → `/dev/schN`). No command is sent. Both roots are configurable so tests
//! run against fake trees.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use super::error::SysfsError;
use crate::{DeviceInfo, PeripheralType};

/// SCSI address of a logical unit: host, channel (bus), target, LUN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hctl {
    /// SCSI host (adapter) number.
    pub host: u32,
    /// Channel (bus) on the host.
    pub channel: u32,
    /// Target id.
    pub target: u32,
    /// Logical unit number.
    pub lun: u64,
}

impl Hctl {
    /// Parses the kernel's `H:C:T:L` device name.
    pub fn parse(s: &str) -> Option<Hctl> {
        let mut it = s.trim().split(':');
        let hctl = Hctl {
            host: it.next()?.parse().ok()?,
            channel: it.next()?.parse().ok()?,
            target: it.next()?.parse().ok()?,
            lun: it.next()?.parse().ok()?,
        };
        it.next().is_none().then_some(hctl)
    }
}

impl fmt::Display for Hctl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}:{}",
            self.host, self.channel, self.target, self.lun
        )
    }
}

/// One SCSI generic device as sysfs describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SgDevice {
    /// The sg index N of `sgN`.
    pub index: u32,
    /// The sg node (`/dev/sgN` under the configured dev dir).
    pub node: PathBuf,
    /// Peripheral device type; `0x1F` (unknown) when the `type` file is missing or garbage.
    pub peripheral_type: PeripheralType,
    /// INQUIRY vendor, trimmed.
    pub vendor: String,
    /// INQUIRY product (`model`), trimmed.
    pub product: String,
    /// INQUIRY revision (`rev`), trimmed.
    pub revision: String,
    /// Unit serial number from `vpd_pg80`, when the kernel exposes it.
    pub serial: Option<String>,
    /// SCSI address, when the `device` link names one.
    pub hctl: Option<Hctl>,
    /// The kernel's device state (`running`, `offline`, `blocked`, ...), when readable.
    pub state: Option<String>,
    /// The kernel's primary node: `/dev/nstN` for a tape drive (no-rewind), `/dev/schN` for a
    /// changer, when that driver is bound.
    pub kernel_node: Option<PathBuf>,
}

/// The peripheral type reported when sysfs does not give one (SPC: unknown or no device type).
pub const UNKNOWN_TYPE: PeripheralType = PeripheralType(0x1F);

impl SgDevice {
    /// True for tape drives (type 1) and medium changers (type 8).
    pub fn is_tape_or_changer(&self) -> bool {
        is_tape_or_changer(self.peripheral_type)
    }

    /// The backend-independent description.
    pub fn info(&self) -> DeviceInfo {
        DeviceInfo {
            path: self.node.display().to_string(),
            peripheral_type: self.peripheral_type,
            vendor: self.vendor.clone(),
            product: self.product.clone(),
            revision: self.revision.clone(),
            serial: self.serial.clone(),
        }
    }
}

/// True for tape drives (type 1) and medium changers (type 8), the devices reel drives.
pub fn is_tape_or_changer(t: PeripheralType) -> bool {
    t == PeripheralType::SEQUENTIAL || t == PeripheralType::MEDIUM_CHANGER
}

/// Where sysfs and the device nodes are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sysfs {
    root: PathBuf,
    dev_dir: PathBuf,
}

impl Default for Sysfs {
    fn default() -> Self {
        Sysfs::new("/sys", "/dev")
    }
}

impl Sysfs {
    /// sysfs mounted at `root`, device nodes in `dev_dir`.
    pub fn new(root: impl Into<PathBuf>, dev_dir: impl Into<PathBuf>) -> Self {
        Sysfs {
            root: root.into(),
            dev_dir: dev_dir.into(),
        }
    }

    /// The sysfs root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The device node directory.
    pub fn dev_dir(&self) -> &Path {
        &self.dev_dir
    }

    /// Every sg device, ordered by sg number.
    ///
    /// A device whose attributes cannot all be read is still listed with what could be read
    /// (and a warning); an entry that is not `sgN` is skipped.
    ///
    /// # Errors
    /// [`SysfsError::NoScsiGeneric`] when `<root>/class/scsi_generic` does not exist,
    /// [`SysfsError::Read`] when it cannot be listed.
    pub fn sg_devices(&self) -> Result<Vec<SgDevice>, SysfsError> {
        let class = self.root.join("class/scsi_generic");
        let entries = match fs::read_dir(&class) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(SysfsError::NoScsiGeneric { path: class });
            }
            Err(source) => {
                return Err(SysfsError::Read {
                    path: class,
                    source,
                })
            }
        };
        let mut found: Vec<(u32, PathBuf)> = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| SysfsError::Read {
                path: class.clone(),
                source,
            })?;
            let name = entry.file_name();
            match name.to_str().and_then(sg_index) {
                Some(index) => found.push((index, entry.path())),
                None => tracing::debug!(entry = ?name, "not an sgN entry; skipped"),
            }
        }
        found.sort_by_key(|&(index, _)| index);
        Ok(found
            .into_iter()
            .map(|(index, dir)| self.read_device(index, &dir))
            .collect())
    }

    fn read_device(&self, index: u32, sg_dir: &Path) -> SgDevice {
        let dev = sg_dir.join("device");
        let peripheral_type = match read_text(&dev.join("type")) {
            Some(t) => match t.parse::<u8>() {
                Ok(v) if v <= 0x1F => PeripheralType(v),
                _ => {
                    tracing::warn!(path = %dev.join("type").display(), content = %t,
                        "unparsable peripheral type; reporting the device as unknown type");
                    UNKNOWN_TYPE
                }
            },
            None => {
                tracing::warn!(path = %dev.join("type").display(),
                    "peripheral type unreadable; reporting the device as unknown type");
                UNKNOWN_TYPE
            }
        };
        let hctl = fs::read_link(&dev)
            .ok()
            .or_else(|| fs::canonicalize(&dev).ok())
            .and_then(|p| p.file_name()?.to_str().and_then(Hctl::parse));
        SgDevice {
            index,
            node: self.dev_dir.join(format!("sg{index}")),
            peripheral_type,
            vendor: read_text(&dev.join("vendor")).unwrap_or_default(),
            product: read_text(&dev.join("model")).unwrap_or_default(),
            revision: read_text(&dev.join("rev")).unwrap_or_default(),
            serial: fs::read(dev.join("vpd_pg80"))
                .ok()
                .and_then(|page| unit_serial(&page)),
            hctl,
            state: read_text(&dev.join("state")).filter(|s| !s.is_empty()),
            kernel_node: self.kernel_node(&dev),
        }
    }

    /// `scsi_tape/stN` → `/dev/nstN`; `scsi_changer/schN` → `/dev/schN`.
    fn kernel_node(&self, dev: &Path) -> Option<PathBuf> {
        let tape = child_names(&dev.join("scsi_tape"))
            .into_iter()
            .find_map(|n| numbered(&n, "st").map(|i| format!("nst{i}")));
        let changer = || {
            child_names(&dev.join("scsi_changer"))
                .into_iter()
                .find_map(|n| numbered(&n, "sch").map(|i| format!("sch{i}")))
        };
        tape.or_else(changer).map(|n| self.dev_dir.join(n))
    }
}

/// N of `sgN`.
fn sg_index(name: &str) -> Option<u32> {
    numbered(name, "sg")
}

/// N when `name` is `prefix` followed by decimal digits only.
fn numbered(name: &str, prefix: &str) -> Option<u32> {
    let digits = name.strip_prefix(prefix)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Names in a directory (empty when it is missing), sorted so the choice is stable.
fn child_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok()?.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// A sysfs text attribute, trimmed of the padding and newline; `None` when unreadable.
fn read_text(path: &Path) -> Option<String> {
    match fs::read(path) {
        Ok(bytes) => Some(trim_field(&bytes)),
        Err(e) => {
            tracing::debug!(path = %path.display(), error = %e, "sysfs attribute unreadable");
            None
        }
    }
}

/// Text from space- or NUL-padded bytes, trimmed.
fn trim_field(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .trim_matches(|c: char| c.is_whitespace() || c == '\0')
        .to_owned()
}

/// The serial from a binary Unit Serial Number VPD page (0x80): 4-byte header with the page
/// length at bytes 2..3, then the serial. `None` for another page, a truncated header or an
/// empty serial. A page length beyond the bytes present is clamped to them.
pub fn unit_serial(page: &[u8]) -> Option<String> {
    let header = page.get(..4)?;
    if header[1] != 0x80 {
        return None;
    }
    let len = usize::from(u16::from_be_bytes([header[2], header[3]]));
    let body = &page[4..];
    let serial = trim_field(&body[..len.min(body.len())]);
    (!serial.is_empty()).then_some(serial)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    /// Builds a fake sysfs tree the way the kernel lays it out: the SCSI device directory
    /// under `devices/`, and `class/scsi_generic/sgN` a link to its `scsi_generic/sgN`, whose
    /// `device` links back to the SCSI device.
    struct FakeSys {
        dir: tempfile::TempDir,
    }

    struct Lu<'a> {
        sg: u32,
        hctl: &'a str,
        type_file: Option<&'a [u8]>,
        vendor: &'a str,
        model: &'a str,
        rev: &'a str,
        vpd_pg80: Option<&'a [u8]>,
        state: Option<&'a str>,
        /// (class dir, node names): ("scsi_tape", ["st0", "nst0", ...]).
        kernel: Option<(&'a str, &'a [&'a str])>,
    }

    impl FakeSys {
        fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            fs::create_dir_all(dir.path().join("class/scsi_generic")).unwrap();
            FakeSys { dir }
        }

        fn root(&self) -> &Path {
            self.dir.path()
        }

        fn add(&self, lu: Lu<'_>) {
            let host = lu.hctl.split(':').next().unwrap();
            let target = lu.hctl.rsplit_once(':').unwrap().0;
            let sdev = self.root().join(format!(
                "devices/pci0000:00/host{host}/target{target}/{}",
                lu.hctl
            ));
            fs::create_dir_all(&sdev).unwrap();
            if let Some(t) = lu.type_file {
                fs::write(sdev.join("type"), t).unwrap();
            }
            fs::write(sdev.join("vendor"), format!("{:<8}\n", lu.vendor)).unwrap();
            fs::write(sdev.join("model"), format!("{:<16}\n", lu.model)).unwrap();
            fs::write(sdev.join("rev"), format!("{:<4}\n", lu.rev)).unwrap();
            if let Some(state) = lu.state {
                fs::write(sdev.join("state"), format!("{state}\n")).unwrap();
            }
            if let Some(page) = lu.vpd_pg80 {
                fs::write(sdev.join("vpd_pg80"), page).unwrap();
            }
            if let Some((class, nodes)) = lu.kernel {
                for n in nodes {
                    fs::create_dir_all(sdev.join(class).join(n)).unwrap();
                }
            }
            let sg = sdev.join(format!("scsi_generic/sg{}", lu.sg));
            fs::create_dir_all(&sg).unwrap();
            fs::write(sg.join("dev"), format!("21:{}\n", lu.sg)).unwrap();
            symlink(format!("../../../{}", lu.hctl), sg.join("device")).unwrap();
            let rel = sg.strip_prefix(self.root()).unwrap();
            symlink(
                Path::new("../..").join(rel),
                self.root().join(format!("class/scsi_generic/sg{}", lu.sg)),
            )
            .unwrap();
        }
    }

    fn vpd80(serial: &str) -> Vec<u8> {
        let mut page = vec![0x01, 0x80, 0, serial.len() as u8];
        page.extend_from_slice(serial.as_bytes());
        page
    }

    #[test]
    fn enumerates_a_library_in_sg_order() {
        let sys = FakeSys::new();
        let changer_vpd = vpd80("  CHG00042  ");
        let drive0_vpd = vpd80("1068000123");
        // sg10 sorts after sg2 numerically, not lexically.
        sys.add(Lu {
            sg: 10,
            hctl: "3:0:2:0",
            type_file: Some(b"1\n"),
            vendor: "IBM",
            model: "ULT3580-HH8",
            rev: "M3G0",
            vpd_pg80: None,
            state: None,
            kernel: Some((
                "scsi_tape",
                &["nst1", "nst1a", "nst1l", "nst1m", "st1", "st1a"],
            )),
        });
        sys.add(Lu {
            sg: 2,
            hctl: "3:0:0:1",
            type_file: Some(b"8\n"),
            vendor: "STK",
            model: "L700",
            rev: "0104",
            vpd_pg80: Some(&changer_vpd),
            state: Some("running"),
            kernel: Some(("scsi_changer", &["sch0"])),
        });
        sys.add(Lu {
            sg: 3,
            hctl: "3:0:1:0",
            type_file: Some(b"1\n"),
            vendor: "IBM",
            model: "ULT3580-HH8",
            rev: "M3G0",
            vpd_pg80: Some(&drive0_vpd),
            state: Some("offline"),
            kernel: Some(("scsi_tape", &["st0", "st0l", "nst0"])),
        });
        sys.add(Lu {
            sg: 0,
            hctl: "0:0:0:0",
            type_file: Some(b"0\n"),
            vendor: "ATA",
            model: "QEMU HARDDISK",
            rev: "2.5+",
            vpd_pg80: Some(&[0x00, 0x80, 0x00, 0x00]),
            state: Some("running"),
            kernel: None,
        });
        let devices = Sysfs::new(sys.root(), "/dev").sg_devices().unwrap();
        let expected = vec![
            SgDevice {
                index: 0,
                node: "/dev/sg0".into(),
                peripheral_type: PeripheralType::DIRECT_ACCESS,
                vendor: "ATA".into(),
                product: "QEMU HARDDISK".into(),
                revision: "2.5+".into(),
                serial: None,
                hctl: Some(Hctl {
                    host: 0,
                    channel: 0,
                    target: 0,
                    lun: 0,
                }),
                state: Some("running".into()),
                kernel_node: None,
            },
            SgDevice {
                index: 2,
                node: "/dev/sg2".into(),
                peripheral_type: PeripheralType::MEDIUM_CHANGER,
                vendor: "STK".into(),
                product: "L700".into(),
                revision: "0104".into(),
                serial: Some("CHG00042".into()),
                hctl: Some(Hctl {
                    host: 3,
                    channel: 0,
                    target: 0,
                    lun: 1,
                }),
                state: Some("running".into()),
                kernel_node: Some("/dev/sch0".into()),
            },
            SgDevice {
                index: 3,
                node: "/dev/sg3".into(),
                peripheral_type: PeripheralType::SEQUENTIAL,
                vendor: "IBM".into(),
                product: "ULT3580-HH8".into(),
                revision: "M3G0".into(),
                serial: Some("1068000123".into()),
                hctl: Some(Hctl {
                    host: 3,
                    channel: 0,
                    target: 1,
                    lun: 0,
                }),
                state: Some("offline".into()),
                kernel_node: Some("/dev/nst0".into()),
            },
            SgDevice {
                index: 10,
                node: "/dev/sg10".into(),
                peripheral_type: PeripheralType::SEQUENTIAL,
                vendor: "IBM".into(),
                product: "ULT3580-HH8".into(),
                revision: "M3G0".into(),
                serial: None,
                hctl: Some(Hctl {
                    host: 3,
                    channel: 0,
                    target: 2,
                    lun: 0,
                }),
                state: None,
                kernel_node: Some("/dev/nst1".into()),
            },
        ];
        assert_eq!(devices, expected);
        let kinds: Vec<bool> = devices.iter().map(SgDevice::is_tape_or_changer).collect();
        assert_eq!(kinds, [false, true, true, true]);
        assert_eq!(
            devices[1].info(),
            DeviceInfo {
                path: "/dev/sg2".into(),
                peripheral_type: PeripheralType::MEDIUM_CHANGER,
                vendor: "STK".into(),
                product: "L700".into(),
                revision: "0104".into(),
                serial: Some("CHG00042".into()),
            }
        );
    }

    #[test]
    fn malformed_devices_are_reported_with_what_could_be_read() {
        let sys = FakeSys::new();
        let cases: [(Option<&[u8]>, PeripheralType); 7] = [
            (Some(b"8"), PeripheralType::MEDIUM_CHANGER),
            (Some(b" 1 \n"), PeripheralType::SEQUENTIAL),
            (Some(b"tape\n"), UNKNOWN_TYPE),
            (Some(b""), UNKNOWN_TYPE),
            (Some(b"300\n"), UNKNOWN_TYPE),
            (Some(&[0xFF, 0xFE, 0x00]), UNKNOWN_TYPE),
            (None, UNKNOWN_TYPE),
        ];
        for (i, (type_file, _)) in cases.iter().enumerate() {
            sys.add(Lu {
                sg: i as u32,
                hctl: &format!("1:0:{i}:0"),
                type_file: *type_file,
                vendor: "HP",
                model: "Ultrium 5-SCSI",
                rev: "Z6ED",
                vpd_pg80: Some(&[0x01, 0x80, 0x00]), // truncated header
                state: None,
                kernel: None,
            });
        }
        // Entries that are not sgN are ignored.
        fs::create_dir_all(sys.root().join("class/scsi_generic/sgx")).unwrap();
        fs::create_dir_all(sys.root().join("class/scsi_generic/sg")).unwrap();
        fs::create_dir_all(sys.root().join("class/scsi_generic/other7")).unwrap();
        let devices = Sysfs::new(sys.root(), "/dev").sg_devices().unwrap();
        assert_eq!(devices.len(), cases.len());
        for (d, (i, (_, expected))) in devices.iter().zip(cases.iter().enumerate()) {
            assert_eq!(d.index, i as u32);
            assert_eq!(d.peripheral_type, *expected, "case {i}");
            assert_eq!(d.product, "Ultrium 5-SCSI");
            assert_eq!(d.serial, None);
            assert_eq!(d.hctl.map(|h| h.to_string()), Some(format!("1:0:{i}:0")));
        }
    }

    #[test]
    fn a_bare_sg_entry_without_device_is_still_listed() {
        let sys = FakeSys::new();
        fs::create_dir_all(sys.root().join("class/scsi_generic/sg5")).unwrap();
        let devices = Sysfs::new(sys.root(), "/tmp/devs").sg_devices().unwrap();
        assert_eq!(
            devices,
            [SgDevice {
                index: 5,
                node: "/tmp/devs/sg5".into(),
                peripheral_type: UNKNOWN_TYPE,
                vendor: String::new(),
                product: String::new(),
                revision: String::new(),
                serial: None,
                hctl: None,
                state: None,
                kernel_node: None,
            }]
        );
    }

    #[test]
    fn missing_class_directory_says_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let err = Sysfs::new(dir.path(), "/dev").sg_devices().unwrap_err();
        assert!(matches!(err, SysfsError::NoScsiGeneric { .. }));
        assert!(err.to_string().contains("modprobe sg"), "{err}");
    }

    #[test]
    fn empty_class_directory_is_no_devices() {
        let sys = FakeSys::new();
        assert_eq!(Sysfs::new(sys.root(), "/dev").sg_devices().unwrap(), []);
    }

    #[test]
    fn unit_serial_pages() {
        let cases: &[(&[u8], Option<&str>)] = &[
            (b"\x01\x80\x00\x0aHU1234ABCD", Some("HU1234ABCD")),
            (b"\x08\x80\x00\x0c  LIB0001   ", Some("LIB0001")),
            (b"\x01\x80\x00\x08SER\0\0\0\0\0", Some("SER")),
            (b"\x01\x80\x00\x20SHORT", Some("SHORT")), // length beyond the bytes present
            (b"\x01\x80\x00\x03ABCDEF", Some("ABC")),  // length shorter than the bytes
            (b"\x01\x80\x00\x00", None),
            (b"\x01\x80\x00\x04    ", None),
            (b"\x01\x83\x00\x04ABCD", None), // another page
            (b"\x01\x80\x00", None),
            (b"", None),
        ];
        for (page, expected) in cases {
            assert_eq!(unit_serial(page).as_deref(), *expected, "{page:02x?}");
        }
    }

    #[test]
    fn hctl_parsing() {
        let cases = [
            ("0:0:0:0", Some((0, 0, 0, 0))),
            ("3:0:12:1", Some((3, 0, 12, 1))),
            ("10:2:3:4294967296", Some((10, 2, 3, 4_294_967_296))),
            ("0:0:0", None),
            ("0:0:0:0:0", None),
            ("a:0:0:0", None),
            ("host0", None),
            ("", None),
        ];
        for (s, expected) in cases {
            let got = Hctl::parse(s).map(|h| (h.host, h.channel, h.target, h.lun));
            assert_eq!(got, expected, "{s}");
            if let Some(h) = Hctl::parse(s) {
                assert_eq!(h.to_string(), s);
            }
        }
    }

    #[test]
    fn numbered_names() {
        let cases = [
            ("sg0", "sg", Some(0)),
            ("sg17", "sg", Some(17)),
            ("sg", "sg", None),
            ("sgx", "sg", None),
            ("sg1a", "sg", None),
            ("sg+1", "sg", None),
            ("st0", "st", Some(0)),
            ("st0l", "st", None),
            ("nst0", "st", None),
            ("sch3", "sch", Some(3)),
            ("sg99999999999", "sg", None),
        ];
        for (name, prefix, expected) in cases {
            assert_eq!(numbered(name, prefix), expected, "{name}");
        }
    }

    proptest::proptest! {
        #[test]
        fn parsers_never_panic(page in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..80),
                               text in "\\PC{0,24}") {
            let _ = unit_serial(&page);
            let _ = Hctl::parse(&text);
            let _ = numbered(&text, "sg");
            let _ = trim_field(&page);
        }
    }
}
