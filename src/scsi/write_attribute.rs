//! WRITE ATTRIBUTE (0x8D, SPC): store host attributes (barcode, media pool name and GUID) in
//! the loaded cartridge's medium auxiliary memory.
//!
//! The parameter list has the READ ATTRIBUTE attribute-list format; build it with
//! [`parameter_list`] from [`Attribute`] values. A zero-length value deletes an attribute.

use std::time::Duration;

use super::opcode::OpCode;

use super::read_attribute::{encode_attributes, Attribute, AttributeTooLong};

/// Operation code.
pub const OPCODE: OpCode = OpCode::WRITE_ATTRIBUTE;

/// Default timeout (writes the cartridge memory chip, no tape motion).
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// The fields of a WRITE ATTRIBUTE CDB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteAttribute {
    /// Write through the drive's MAM cache before completing (WTC, byte 1 bit 0, SPC-5).
    pub write_through: bool,
    /// Logical volume (byte 5).
    pub logical_volume: u8,
    /// Partition (byte 7).
    pub partition: u8,
    /// Parameter list length in bytes (bytes 10..13).
    pub parameter_list_length: u32,
}

impl WriteAttribute {
    /// Volume 0, partition 0, for a parameter list of `len` bytes.
    pub fn new(len: u32) -> Self {
        WriteAttribute {
            write_through: false,
            logical_volume: 0,
            partition: 0,
            parameter_list_length: len,
        }
    }

    /// The CDB bytes.
    pub fn cdb(&self) -> [u8; 16] {
        let [l0, l1, l2, l3] = self.parameter_list_length.to_be_bytes();
        [
            OPCODE.0,
            u8::from(self.write_through),
            0,
            0,
            0,
            self.logical_volume,
            0,
            self.partition,
            0,
            0,
            l0,
            l1,
            l2,
            l3,
            0,
            0,
        ]
    }
}

/// The parameter list for `attrs`, with every READ ONLY bit cleared (the field is reserved in
/// WRITE ATTRIBUTE).
///
/// # Errors
/// [`AttributeTooLong`] when a value exceeds 65535 bytes.
pub fn parameter_list(attrs: &[Attribute]) -> Result<Vec<u8>, AttributeTooLong> {
    let cleared: Vec<Attribute> = attrs
        .iter()
        .map(|a| Attribute {
            read_only: false,
            ..a.clone()
        })
        .collect();
    encode_attributes(&cleared)
}

#[cfg(test)]
mod tests {
    use super::super::read_attribute::AttributeId;
    use super::*;

    #[test]
    fn cdb_bytes() {
        let cases: &[(WriteAttribute, [u8; 16])] = &[
            (
                WriteAttribute::new(41),
                [0x8d, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 41, 0, 0],
            ),
            (
                WriteAttribute {
                    write_through: true,
                    logical_volume: 1,
                    partition: 3,
                    parameter_list_length: 0x0001_0203,
                },
                [0x8d, 1, 0, 0, 0, 1, 0, 3, 0, 0, 0, 1, 2, 3, 0, 0],
            ),
        ];
        for (fields, want) in cases {
            assert_eq!(&fields.cdb(), want, "{fields:?}");
        }
    }

    #[test]
    fn parameter_list_bytes() {
        let ro = Attribute {
            read_only: true,
            ..Attribute::ascii(AttributeId::BARCODE, "A1", 4)
        };
        let delete = Attribute::binary(AttributeId::MEDIA_POOL, Vec::new());
        let got = parameter_list(&[ro, delete]).unwrap();
        let want = [
            0, 0, 0, 14, // parameter data length
            0x08, 0x06, 0x01, 0x00, 0x04, b'A', b'1', b' ', b' ', // READ ONLY cleared
            0x08, 0x08, 0x00, 0x00, 0x00, // zero length: delete
        ];
        assert_eq!(got, want);
    }
}
