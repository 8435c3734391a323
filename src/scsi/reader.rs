//! The one bounds-checked cursor every reply parser reads through.

use super::ParseError;

/// A cursor over reply bytes. Every read is checked; running out of bytes is a
/// [`ParseError::Truncated`] naming the structure being read, never a panic.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader over `buf`, at its start.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Offset of the next byte from the start of the buffer.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// True when every byte has been read.
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The next `n` bytes, as a slice.
    ///
    /// # Errors
    /// [`ParseError::Truncated`] naming `what` when fewer than `n` remain.
    pub fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], ParseError> {
        if n > self.remaining() {
            return Err(ParseError::Truncated {
                what,
                needed: n,
                available: self.remaining(),
            });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// Up to `n` bytes: all that remain when fewer do.
    pub fn take_up_to(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.remaining());
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        s
    }

    /// A sub-reader over the next `n` bytes (which this reader skips).
    ///
    /// # Errors
    /// [`ParseError::Truncated`] when fewer than `n` remain.
    pub fn sub(&mut self, n: usize, what: &'static str) -> Result<Reader<'a>, ParseError> {
        self.take(n, what).map(Reader::new)
    }

    /// Skips `n` bytes.
    ///
    /// # Errors
    /// [`ParseError::Truncated`] when fewer than `n` remain.
    pub fn skip(&mut self, n: usize, what: &'static str) -> Result<(), ParseError> {
        self.take(n, what).map(|_| ())
    }

    /// One byte.
    ///
    /// # Errors
    /// [`ParseError::Truncated`] at the end.
    pub fn u8(&mut self, what: &'static str) -> Result<u8, ParseError> {
        Ok(self.take(1, what)?[0])
    }

    /// A big-endian 16-bit field.
    ///
    /// # Errors
    /// [`ParseError::Truncated`] when fewer than 2 bytes remain.
    pub fn u16(&mut self, what: &'static str) -> Result<u16, ParseError> {
        let b = self.take(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    /// A big-endian 24-bit field.
    ///
    /// # Errors
    /// [`ParseError::Truncated`] when fewer than 3 bytes remain.
    pub fn u24(&mut self, what: &'static str) -> Result<u32, ParseError> {
        let b = self.take(3, what)?;
        Ok(u32::from_be_bytes([0, b[0], b[1], b[2]]))
    }

    /// A big-endian 32-bit field.
    ///
    /// # Errors
    /// [`ParseError::Truncated`] when fewer than 4 bytes remain.
    pub fn u32(&mut self, what: &'static str) -> Result<u32, ParseError> {
        let b = self.take(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A big-endian 64-bit field.
    ///
    /// # Errors
    /// [`ParseError::Truncated`] when fewer than 8 bytes remain.
    pub fn u64(&mut self, what: &'static str) -> Result<u64, ParseError> {
        let b = self.take(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }

    /// A space- or NUL-padded ASCII field of `n` bytes, trimmed; bytes outside printable ASCII
    /// become `?` so a device cannot put control characters into reports.
    ///
    /// # Errors
    /// [`ParseError::Truncated`] when fewer than `n` bytes remain.
    pub fn ascii(&mut self, n: usize, what: &'static str) -> Result<String, ParseError> {
        Ok(ascii_field(self.take(n, what)?))
    }
}

/// Trims a space/NUL padded ASCII field; non-printable bytes become `?`.
pub fn ascii_field(bytes: &[u8]) -> String {
    let is_pad = |b: &u8| *b == b' ' || *b == 0;
    let start = bytes.iter().position(|b| !is_pad(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !is_pad(b))
        .map_or(start, |i| i + 1);
    let field = &bytes[start..end];
    // The common case (printable ASCII) is copied in one go; element status replies carry one
    // of these per cartridge, so this sits on discovery's hot path.
    if field.iter().all(|b| (0x20..0x7f).contains(b)) {
        return String::from_utf8_lossy(field).into_owned();
    }
    let s: String = field
        .iter()
        .map(|&b| {
            if (0x20..0x7f).contains(&b) {
                b as char
            } else if b == 0 {
                ' '
            } else {
                '?'
            }
        })
        .collect();
    s.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_big_endian_fields_in_order() {
        let bytes = [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a];
        let mut r = Reader::new(&bytes);
        assert_eq!(r.u8("a").unwrap(), 0x01);
        assert_eq!(r.u16("b").unwrap(), 0x0203);
        assert_eq!(r.u24("c").unwrap(), 0x040506);
        assert_eq!(r.u32("d").unwrap(), 0x0708090a);
        assert!(r.is_empty());
    }

    #[test]
    fn running_out_names_the_structure() {
        let mut r = Reader::new(&[1, 2, 3]);
        r.u8("x").unwrap();
        assert_eq!(
            r.u32("element descriptor"),
            Err(ParseError::Truncated {
                what: "element descriptor",
                needed: 4,
                available: 2
            })
        );
        // A failed read consumes nothing.
        assert_eq!(r.remaining(), 2);
        assert_eq!(r.take_up_to(10), &[2, 3]);
    }

    #[test]
    fn ascii_fields_are_trimmed_and_sanitised() {
        let cases: &[(&[u8], &str)] = &[
            (b"IBM     ", "IBM"),
            (b"ULT3580-HH8     ", "ULT3580-HH8"),
            (b"ABC001L8\0\0\0\0", "ABC001L8"),
            (b"A\x1bB ", "A?B"),
            (b"        ", ""),
        ];
        for (input, want) in cases {
            assert_eq!(ascii_field(input), *want, "{input:?}");
        }
    }
}
