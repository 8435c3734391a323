//! The iSCSI digest: CRC32C (Castagnoli), sent least significant byte first (RFC 7143 §13.1,
//! test vectors in its Appendix B.4).

/// CRC32C of `bytes`.
pub fn crc32c(bytes: &[u8]) -> u32 {
    crc32c::crc32c(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7143 B.4: the digest bytes as they appear on the wire.
    #[test]
    fn rfc_7143_test_vectors() {
        let ascending: Vec<u8> = (0..32).collect();
        let descending: Vec<u8> = (0..32).rev().collect();
        let cases: &[(&[u8], [u8; 4])] = &[
            (&[0u8; 32], [0xAA, 0x36, 0x91, 0x8A]),
            (&[0xFFu8; 32], [0x43, 0xAB, 0xA8, 0x62]),
            (&ascending, [0x4E, 0x79, 0xDD, 0x46]),
            (&descending, [0x5C, 0xDB, 0x3F, 0x11]),
        ];
        for (input, wire) in cases {
            assert_eq!(crc32c(input).to_le_bytes(), *wire);
        }
    }
}
