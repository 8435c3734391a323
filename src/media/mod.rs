//! The media-type catalogue: LTO generations, WORM, cleaning; stable ids.
//!
//! A [`MediaType`] is one of the twelve types reel knows (`LTO-5` … `LTO-9`, `LTO-M8`,
//! `LTO-5-WORM` … `LTO-9-WORM`, `LTO-CLEANING`, the names of `shared/spec/cli.md`). Its id is a
//! UUID v5 of its name under [`NAMESPACE`], so every installation gives a type the same id.
//! Each type carries the RSM media-type fields of rsm-media-pools §1.3.
//!
//! Where a cartridge's type comes from (scsi-reference §7) lives in [`identity`]: bar code,
//! density code, element-descriptor medium-type bits and MAM medium type, each a pure function
//! giving [`identity::Evidence`], and [`identity::resolve`] that combines them and reports a
//! conflict instead of picking one. Which types a drive reads and writes lives in [`compat`].
//!
//! What this module is not: it sends no SCSI command and knows nothing of pools.

pub mod compat;
pub mod identity;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;
use uuid::Uuid;

pub use compat::DriveGeneration;
pub use identity::{resolve, Evidence, Format, MediumClass, Resolution, Source};

/// The namespace under which media-type ids are derived (`Uuid::new_v5(&NAMESPACE, name)`).
///
/// Written once, never changed: changing it changes every media-type id in every database.
pub const NAMESPACE: Uuid = Uuid::from_u128(0x103a_528f_849a_4c68_8fbe_6749_a951_a338);

/// Storage media-type code (`NTMS_MEDIATYPEINFORMATION.MediaType`, Windows `STORAGE_MEDIA_TYPE`).
/// An open newtype: unknown values pass through.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StorageMediaType(pub u32);

impl StorageMediaType {
    /// 4 mm DDS.
    pub const DDS_4MM: Self = Self(0x20);
    /// DLT.
    pub const DLT: Self = Self(0x27);
    /// A cleaning cartridge of any technology.
    pub const CLEANER_CARTRIDGE: Self = Self(0x32);
    /// LTO Ultrium data cartridge.
    pub const LTO_ULTRIUM: Self = Self(0x56);
    /// AIT 8 mm.
    pub const AIT_8MM: Self = Self(0x59);
    /// SAIT.
    pub const SAIT: Self = Self(0x5D);

    fn name(self) -> Option<&'static str> {
        Some(match self {
            Self::DDS_4MM => "DDS_4mm",
            Self::DLT => "DLT",
            Self::CLEANER_CARTRIDGE => "CLEANER_CARTRIDGE",
            Self::LTO_ULTRIUM => "LTO_Ultrium",
            Self::AIT_8MM => "AIT_8mm",
            Self::SAIT => "SAIT",
            _ => return None,
        })
    }
}

impl fmt::Debug for StorageMediaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "StorageMediaType({:#x})", self.0),
        }
    }
}

/// `NtmsReadWriteCharacteristics`. An open newtype.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ReadWriteCharacteristics(pub u32);

impl ReadWriteCharacteristics {
    /// Not known.
    pub const UNKNOWN: Self = Self(0);
    /// Written many times.
    pub const REWRITABLE: Self = Self(1);
    /// Written once (WORM).
    pub const WRITEONCE: Self = Self(2);
    /// Only read.
    pub const READONLY: Self = Self(3);

    fn name(self) -> Option<&'static str> {
        Some(match self {
            Self::UNKNOWN => "UNKNOWN",
            Self::REWRITABLE => "REWRITABLE",
            Self::WRITEONCE => "WRITEONCE",
            Self::READONLY => "READONLY",
            _ => return None,
        })
    }
}

impl fmt::Debug for ReadWriteCharacteristics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "ReadWriteCharacteristics({})", self.0),
        }
    }
}

/// Media-type `DeviceType` (Windows `FILE_DEVICE_*`). An open newtype.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DeviceType(pub u32);

impl DeviceType {
    /// CD-ROM.
    pub const CD_ROM: Self = Self(0x02);
    /// Disk.
    pub const DISK: Self = Self(0x07);
    /// Tape.
    pub const TAPE: Self = Self(0x1F);

    fn name(self) -> Option<&'static str> {
        Some(match self {
            Self::CD_ROM => "CD_ROM",
            Self::DISK => "DISK",
            Self::TAPE => "TAPE",
            _ => return None,
        })
    }
}

impl fmt::Debug for DeviceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "DeviceType({:#x})", self.0),
        }
    }
}

/// One media type of the catalogue.
///
/// Serialises as its name (`"LTO-8"`); deserialises from a name (any case) or its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MediaType {
    /// LTO-5 data cartridge (`L5`).
    Lto5,
    /// LTO-6 data cartridge (`L6`).
    Lto6,
    /// LTO-7 data cartridge (`L7`).
    Lto7,
    /// LTO-8 data cartridge (`L8`).
    Lto8,
    /// LTO-7 cartridge formatted as LTO-8 Type M, 9 TB (`M8`); only LTO-8 drives use it.
    LtoM8,
    /// LTO-9 data cartridge (`L9`).
    Lto9,
    /// LTO-5 WORM cartridge (`LV`).
    Lto5Worm,
    /// LTO-6 WORM cartridge (`LW`).
    Lto6Worm,
    /// LTO-7 WORM cartridge (`LX`).
    Lto7Worm,
    /// LTO-8 WORM cartridge (`LY`).
    Lto8Worm,
    /// LTO-9 WORM cartridge (`LZ`).
    Lto9Worm,
    /// LTO cleaning cartridge (`CLN…`), universal or generation-specific.
    LtoCleaning,
}

/// A media-type name that is not in the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown media type {0:?}: expected one of LTO-5 … LTO-9, LTO-M8, LTO-5-WORM … LTO-9-WORM, LTO-CLEANING")]
pub struct UnknownMediaType(pub String);

impl MediaType {
    const ALL: [MediaType; 12] = [
        MediaType::Lto5,
        MediaType::Lto6,
        MediaType::Lto7,
        MediaType::Lto8,
        MediaType::LtoM8,
        MediaType::Lto9,
        MediaType::Lto5Worm,
        MediaType::Lto6Worm,
        MediaType::Lto7Worm,
        MediaType::Lto8Worm,
        MediaType::Lto9Worm,
        MediaType::LtoCleaning,
    ];

    /// Every type of the catalogue, in a fixed order (data by generation, WORM, cleaning).
    pub fn all() -> &'static [MediaType] {
        &Self::ALL
    }

    /// The readable name, exactly as cli.md spells it (`LTO-8`, `LTO-7-WORM`, `LTO-CLEANING`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Lto5 => "LTO-5",
            Self::Lto6 => "LTO-6",
            Self::Lto7 => "LTO-7",
            Self::Lto8 => "LTO-8",
            Self::LtoM8 => "LTO-M8",
            Self::Lto9 => "LTO-9",
            Self::Lto5Worm => "LTO-5-WORM",
            Self::Lto6Worm => "LTO-6-WORM",
            Self::Lto7Worm => "LTO-7-WORM",
            Self::Lto8Worm => "LTO-8-WORM",
            Self::Lto9Worm => "LTO-9-WORM",
            Self::LtoCleaning => "LTO-CLEANING",
        }
    }

    /// The stable id: UUID v5 of [`name`](Self::name) under [`NAMESPACE`].
    pub fn id(self) -> Uuid {
        Uuid::new_v5(&NAMESPACE, self.name().as_bytes())
    }

    /// The type with this name, compared case-insensitively (ASCII; every name is ASCII).
    pub fn from_name(name: &str) -> Option<MediaType> {
        Self::ALL
            .iter()
            .copied()
            .find(|t| t.name().eq_ignore_ascii_case(name))
    }

    /// The type with this id.
    pub fn from_id(id: Uuid) -> Option<MediaType> {
        Self::ALL.iter().copied().find(|t| t.id() == id)
    }

    /// Data, WORM or cleaning.
    pub fn class(self) -> MediumClass {
        match self {
            Self::Lto5 | Self::Lto6 | Self::Lto7 | Self::Lto8 | Self::LtoM8 | Self::Lto9 => {
                MediumClass::Data
            }
            Self::Lto5Worm | Self::Lto6Worm | Self::Lto7Worm | Self::Lto8Worm | Self::Lto9Worm => {
                MediumClass::Worm
            }
            Self::LtoCleaning => MediumClass::Cleaning,
        }
    }

    /// The recording format: the LTO generation the data is written in (`LTO-M8` → Type M).
    /// `None` for the cleaning cartridge, which has none.
    pub fn format(self) -> Option<Format> {
        Some(match self {
            Self::Lto5 | Self::Lto5Worm => Format::Lto(5),
            Self::Lto6 | Self::Lto6Worm => Format::Lto(6),
            Self::Lto7 | Self::Lto7Worm => Format::Lto(7),
            Self::Lto8 | Self::Lto8Worm => Format::Lto(8),
            Self::LtoM8 => Format::TypeM,
            Self::Lto9 | Self::Lto9Worm => Format::Lto(9),
            Self::LtoCleaning => return None,
        })
    }

    /// The LTO generation of the recording format (`LTO-M8` is generation 8: an LTO-8 format
    /// on an LTO-7 cartridge). `None` for the cleaning cartridge.
    pub fn generation(self) -> Option<u8> {
        self.format().map(Format::generation)
    }

    /// The type of a class and format, if the catalogue has it.
    pub fn from_parts(class: MediumClass, format: Option<Format>) -> Option<MediaType> {
        Self::ALL.iter().copied().find(|t| {
            t.class() == class && (class == MediumClass::Cleaning || t.format() == format)
        })
    }

    /// RSM `MediaType`: `LTO_Ultrium` (0x56) for data and WORM, `CLEANER_CARTRIDGE` (0x32).
    pub fn storage_media_type(self) -> StorageMediaType {
        match self {
            Self::LtoCleaning => StorageMediaType::CLEANER_CARTRIDGE,
            _ => StorageMediaType::LTO_ULTRIUM,
        }
    }

    /// RSM `NumberOfSides`: 1 for every tape.
    pub fn number_of_sides(self) -> u32 {
        1
    }

    /// RSM `ReadWriteCharacteristics`: `REWRITABLE` for data, `WRITEONCE` for WORM; `UNKNOWN`
    /// for the cleaning cartridge, which holds no data [design].
    pub fn read_write_characteristics(self) -> ReadWriteCharacteristics {
        match self.class() {
            MediumClass::Data => ReadWriteCharacteristics::REWRITABLE,
            MediumClass::Worm => ReadWriteCharacteristics::WRITEONCE,
            MediumClass::Cleaning => ReadWriteCharacteristics::UNKNOWN,
        }
    }

    /// RSM `DeviceType`: `TAPE` (0x1F).
    pub fn device_type(self) -> DeviceType {
        DeviceType::TAPE
    }

    /// All RSM media-type fields at once (`NTMS_MEDIATYPEINFORMATION` plus name and id).
    pub fn info(self) -> MediaTypeInfo {
        MediaTypeInfo {
            id: self.id(),
            name: self.name(),
            media_type: self.storage_media_type(),
            number_of_sides: self.number_of_sides(),
            read_write_characteristics: self.read_write_characteristics(),
            device_type: self.device_type(),
        }
    }
}

/// The RSM media-type object (`NTMS_MEDIATYPEINFORMATION`) with its name and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MediaTypeInfo {
    /// The stable id.
    pub id: Uuid,
    /// The readable name (`szName`).
    pub name: &'static str,
    /// Storage media-type code.
    pub media_type: StorageMediaType,
    /// Recordable sides.
    pub number_of_sides: u32,
    /// Rewritable, write-once, …
    pub read_write_characteristics: ReadWriteCharacteristics,
    /// Device type.
    pub device_type: DeviceType,
}

impl fmt::Display for MediaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for MediaType {
    type Err = UnknownMediaType;

    /// A name (any case) or an id.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_name(s)
            .or_else(|| Uuid::parse_str(s).ok().and_then(Self::from_id))
            .ok_or_else(|| UnknownMediaType(s.to_owned()))
    }
}

impl Serialize for MediaType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for MediaType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// How a caller names a media type: by name or by id, as `reel pool create --media-type` takes it.
/// Resolution against the catalogue (and against what libraries detect) is the pool layer's job,
/// so an id that no catalogue type has can still be passed and refused there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MediaTypeRef {
    /// A UUID.
    Id(Uuid),
    /// A name (compared case-insensitively).
    Name(String),
}

impl MediaTypeRef {
    /// Reads `s` as an id when it parses as a UUID, else as a name.
    pub fn parse(s: &str) -> MediaTypeRef {
        match Uuid::parse_str(s) {
            Ok(id) => MediaTypeRef::Id(id),
            Err(_) => MediaTypeRef::Name(s.to_owned()),
        }
    }

    /// The catalogue type this names, if any.
    pub fn resolve(&self) -> Option<MediaType> {
        match self {
            MediaTypeRef::Id(id) => MediaType::from_id(*id),
            MediaTypeRef::Name(n) => MediaType::from_name(n),
        }
    }
}

/// As the user wrote it: the name, or the id.
impl fmt::Display for MediaTypeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MediaTypeRef::Id(id) => write!(f, "{id}"),
            MediaTypeRef::Name(n) => f.write_str(n),
        }
    }
}

impl From<MediaType> for MediaTypeRef {
    fn from(t: MediaType) -> Self {
        MediaTypeRef::Id(t.id())
    }
}

impl From<Uuid> for MediaTypeRef {
    fn from(id: Uuid) -> Self {
        MediaTypeRef::Id(id)
    }
}

impl From<&str> for MediaTypeRef {
    fn from(s: &str) -> Self {
        MediaTypeRef::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_table() {
        use MediaType::*;
        #[rustfmt::skip]
        type Row = (MediaType, &'static str, MediumClass, Option<u8>, u32, u32);
        let table: [Row; 12] = [
            (Lto5, "LTO-5", MediumClass::Data, Some(5), 0x56, 1),
            (Lto6, "LTO-6", MediumClass::Data, Some(6), 0x56, 1),
            (Lto7, "LTO-7", MediumClass::Data, Some(7), 0x56, 1),
            (Lto8, "LTO-8", MediumClass::Data, Some(8), 0x56, 1),
            (LtoM8, "LTO-M8", MediumClass::Data, Some(8), 0x56, 1),
            (Lto9, "LTO-9", MediumClass::Data, Some(9), 0x56, 1),
            (Lto5Worm, "LTO-5-WORM", MediumClass::Worm, Some(5), 0x56, 2),
            (Lto6Worm, "LTO-6-WORM", MediumClass::Worm, Some(6), 0x56, 2),
            (Lto7Worm, "LTO-7-WORM", MediumClass::Worm, Some(7), 0x56, 2),
            (Lto8Worm, "LTO-8-WORM", MediumClass::Worm, Some(8), 0x56, 2),
            (Lto9Worm, "LTO-9-WORM", MediumClass::Worm, Some(9), 0x56, 2),
            (
                LtoCleaning,
                "LTO-CLEANING",
                MediumClass::Cleaning,
                None,
                0x32,
                0,
            ),
        ];
        assert_eq!(MediaType::all().len(), table.len());
        for (i, (t, name, class, generation, code, rw)) in table.into_iter().enumerate() {
            assert_eq!(MediaType::all()[i], t);
            assert_eq!(t.name(), name);
            assert_eq!(t.to_string(), name);
            assert_eq!(t.class(), class, "{name}");
            assert_eq!(t.generation(), generation, "{name}");
            assert_eq!(t.storage_media_type(), StorageMediaType(code), "{name}");
            assert_eq!(
                t.read_write_characteristics(),
                ReadWriteCharacteristics(rw),
                "{name}"
            );
            assert_eq!(t.number_of_sides(), 1);
            assert_eq!(t.device_type(), DeviceType(0x1F));
            assert_eq!(t.id(), Uuid::new_v5(&NAMESPACE, name.as_bytes()));
            assert_eq!(t.id().get_version_num(), 5);
            assert_eq!(MediaType::from_name(name), Some(t));
            assert_eq!(MediaType::from_name(&name.to_lowercase()), Some(t));
            assert_eq!(MediaType::from_id(t.id()), Some(t));
            assert_eq!(MediaType::from_parts(class, t.format()), Some(t));
            assert_eq!(name.parse::<MediaType>(), Ok(t));
            assert_eq!(t.id().to_string().parse::<MediaType>(), Ok(t));
            let info = t.info();
            assert_eq!((info.id, info.name), (t.id(), name));
        }
    }

    #[test]
    fn ids_are_pinned() {
        // A change of NAMESPACE (or of a name) changes every database; these catch it.
        assert_eq!(
            NAMESPACE.to_string(),
            "103a528f-849a-4c68-8fbe-6749a951a338"
        );
        for (t, id) in [
            (MediaType::Lto8, "e22e25b8-ca53-5059-9dc3-ff24eb8dec8e"),
            (
                MediaType::LtoCleaning,
                "dfe811ac-1a19-5efa-8cc1-8e6215e7c589",
            ),
        ] {
            assert_eq!(t.id().to_string(), id, "{t}");
        }
    }

    #[test]
    fn ids_are_distinct() {
        let mut ids: Vec<Uuid> = MediaType::all().iter().map(|t| t.id()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), MediaType::all().len());
    }

    #[test]
    fn unknown_names() {
        for s in [
            "",
            "LTO8",
            "LTO-4",
            "LTO-10",
            "lto-8 ",
            "LTO-M8-WORM",
            "LTO-CLEANER",
        ] {
            assert_eq!(MediaType::from_name(s), None, "{s:?}");
            assert_eq!(s.parse::<MediaType>(), Err(UnknownMediaType(s.to_owned())));
        }
        assert_eq!(MediaType::from_id(Uuid::nil()), None);
        assert_eq!(MediaType::from_id(NAMESPACE), None);
    }

    #[test]
    fn serde_round_trip() {
        for &t in MediaType::all() {
            let j = serde_json::to_string(&t).unwrap();
            assert_eq!(j, format!("\"{}\"", t.name()));
            assert_eq!(serde_json::from_str::<MediaType>(&j).unwrap(), t);
        }
        assert!(serde_json::from_str::<MediaType>("\"LTO-4\"").is_err());
    }

    #[test]
    fn media_type_ref() {
        let id = MediaType::Lto7Worm.id();
        let table: [(&str, MediaTypeRef, Option<MediaType>); 4] = [
            (
                "lto-7-worm",
                MediaTypeRef::Name("lto-7-worm".into()),
                Some(MediaType::Lto7Worm),
            ),
            (
                &id.to_string(),
                MediaTypeRef::Id(id),
                Some(MediaType::Lto7Worm),
            ),
            ("LTO-4", MediaTypeRef::Name("LTO-4".into()), None),
            (
                "00000000-0000-0000-0000-000000000000",
                MediaTypeRef::Id(Uuid::nil()),
                None,
            ),
        ];
        for (s, r, t) in table {
            assert_eq!(MediaTypeRef::parse(s), r, "{s}");
            assert_eq!(r.resolve(), t, "{s}");
        }
    }

    #[test]
    fn debug_of_open_newtypes() {
        assert_eq!(format!("{:?}", StorageMediaType(0x56)), "LTO_Ultrium");
        assert_eq!(
            format!("{:?}", StorageMediaType(0x99)),
            "StorageMediaType(0x99)"
        );
        assert_eq!(format!("{:?}", ReadWriteCharacteristics(2)), "WRITEONCE");
        assert_eq!(format!("{:?}", DeviceType(0x1F)), "TAPE");
        assert_eq!(format!("{:?}", DeviceType(0x42)), "DeviceType(0x42)");
    }
}
