//! The one bounds-checked reader every iSCSI decoder uses: a read past the end is an error
//! naming the structure, never a panic.

use super::PduError;

/// Reads big-endian fields at fixed offsets of one structure.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    /// A reader over `buf`, which holds a `what` (named in errors).
    pub fn new(buf: &'a [u8], what: &'static str) -> Reader<'a> {
        Reader { buf, what }
    }

    /// `n` bytes at `at`.
    pub fn bytes(&self, at: usize, n: usize) -> Result<&'a [u8], PduError> {
        at.checked_add(n)
            .and_then(|end| self.buf.get(at..end))
            .ok_or(PduError::Truncated(self.what))
    }

    /// The byte at `at`.
    pub fn u8(&self, at: usize) -> Result<u8, PduError> {
        Ok(self.bytes(at, 1)?[0])
    }

    /// A 16-bit big-endian field.
    pub fn u16(&self, at: usize) -> Result<u16, PduError> {
        let b = self.bytes(at, 2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    /// A 32-bit big-endian field.
    pub fn u32(&self, at: usize) -> Result<u32, PduError> {
        let b = self.bytes(at, 4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A 64-bit big-endian field.
    pub fn u64(&self, at: usize) -> Result<u64, PduError> {
        let b = self.bytes(at, 8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }

    /// A fixed-size array at `at`.
    pub fn array<const N: usize>(&self, at: usize) -> Result<[u8; N], PduError> {
        let b = self.bytes(at, N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(b);
        Ok(a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_inside_and_refuses_outside() {
        let r = Reader::new(&[1, 2, 3, 4, 5], "test");
        assert_eq!(r.u8(0), Ok(1));
        assert_eq!(r.u16(1), Ok(0x0203));
        assert_eq!(r.u32(1), Ok(0x02030405));
        assert_eq!(r.u32(2), Err(PduError::Truncated("test")));
        assert_eq!(r.u64(0), Err(PduError::Truncated("test")));
        assert_eq!(r.bytes(usize::MAX, 2), Err(PduError::Truncated("test")));
        assert_eq!(r.array::<2>(3), Ok([4, 5]));
    }
}
