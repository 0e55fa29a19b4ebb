//! The byte-level reader and writer every wire type is built on.
//!
//! Decoding never panics: every read is bounds-checked and a short input yields `None`,
//! which callers turn into a dropped record or a `decode_error` alert.

/// A cursor over untrusted bytes.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Starts reading at the beginning of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Bytes not yet consumed.
    pub fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or(&[])
    }

    /// How many bytes remain.
    pub fn left(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// True when everything was consumed.
    pub fn is_empty(&self) -> bool {
        self.left() == 0
    }

    /// Takes `n` bytes.
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let out = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(out)
    }

    /// Consumes everything left.
    pub fn take_rest(&mut self) -> &'a [u8] {
        let out = self.rest();
        self.pos = self.buf.len();
        out
    }

    /// One byte.
    pub fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    /// A big-endian `u16`.
    pub fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }

    /// A big-endian 24-bit integer (handshake lengths and offsets).
    pub fn u24(&mut self) -> Option<u32> {
        self.take(3)
            .map(|b| u32::from_be_bytes([0, b[0], b[1], b[2]]))
    }

    /// A big-endian `u32`.
    pub fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A big-endian 48-bit integer (record sequence numbers).
    pub fn u48(&mut self) -> Option<u64> {
        self.take(6)
            .map(|b| u64::from_be_bytes([0, 0, b[0], b[1], b[2], b[3], b[4], b[5]]))
    }

    /// A vector with a one-byte length prefix.
    pub fn vec8(&mut self) -> Option<&'a [u8]> {
        let n = self.u8()? as usize;
        self.take(n)
    }

    /// A vector with a two-byte length prefix.
    pub fn vec16(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()? as usize;
        self.take(n)
    }

    /// A vector with a three-byte length prefix.
    pub fn vec24(&mut self) -> Option<&'a [u8]> {
        let n = self.u24()? as usize;
        self.take(n)
    }

    /// A sub-reader over a two-byte-length-prefixed vector.
    pub fn sub16(&mut self) -> Option<Reader<'a>> {
        self.vec16().map(Reader::new)
    }
}

/// Appending big-endian writers, with length-prefixed nesting.
pub trait Writer {
    /// Appends one byte.
    fn put_u8(&mut self, v: u8);
    /// Appends a big-endian `u16`.
    fn put_u16(&mut self, v: u16);
    /// Appends the low 24 bits, big-endian.
    fn put_u24(&mut self, v: u32);
    /// Appends the low 48 bits, big-endian.
    fn put_u48(&mut self, v: u64);
    /// Appends raw bytes.
    fn put(&mut self, v: &[u8]);
    /// Writes `f`'s output behind a length prefix of `width` bytes (1, 2 or 3).
    fn put_len_prefixed(&mut self, width: usize, f: impl FnOnce(&mut Vec<u8>));
    /// Appends `v` behind a one-byte length. The length is truncated, not checked: callers
    /// keep `v` within 255 bytes.
    fn put_vec8(&mut self, v: &[u8]);
    /// Appends `v` behind a two-byte length (truncated, not checked, like `put_vec8`).
    fn put_vec16(&mut self, v: &[u8]);
    /// Appends `v` behind a three-byte length (truncated, not checked, like `put_vec8`).
    fn put_vec24(&mut self, v: &[u8]);
}

impl Writer for Vec<u8> {
    fn put_u8(&mut self, v: u8) {
        self.push(v);
    }
    fn put_u16(&mut self, v: u16) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_u24(&mut self, v: u32) {
        self.extend_from_slice(&v.to_be_bytes()[1..]);
    }
    fn put_u48(&mut self, v: u64) {
        self.extend_from_slice(&v.to_be_bytes()[2..]);
    }
    fn put(&mut self, v: &[u8]) {
        self.extend_from_slice(v);
    }
    fn put_len_prefixed(&mut self, width: usize, f: impl FnOnce(&mut Vec<u8>)) {
        let start = self.len();
        self.resize(start + width, 0);
        f(self);
        let len = self.len() - start - width;
        let bytes = (len as u32).to_be_bytes();
        self[start..start + width].copy_from_slice(&bytes[4 - width..]);
    }
    fn put_vec8(&mut self, v: &[u8]) {
        self.put_u8(v.len() as u8);
        self.put(v);
    }
    fn put_vec16(&mut self, v: &[u8]) {
        self.put_u16(v.len() as u16);
        self.put(v);
    }
    fn put_vec24(&mut self, v: &[u8]) {
        self.put_u24(v.len() as u32);
        self.put(v);
    }
}

/// A wire type that encodes to and decodes from bytes.
pub trait Codec: Sized {
    /// Appends the encoding.
    fn encode(&self, out: &mut Vec<u8>);
    /// Reads one value; `None` on short or invalid input.
    fn read(r: &mut Reader<'_>) -> Option<Self>;

    /// Encodes into a fresh vector.
    fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.encode(&mut v);
        v
    }

    /// Decodes a value that must span all of `buf`.
    fn from_bytes(buf: &[u8]) -> Option<Self> {
        let mut r = Reader::new(buf);
        let v = Self::read(&mut r)?;
        r.is_empty().then_some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_is_bounds_checked() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.u16(), Some(0x0102));
        assert_eq!(r.u16(), None);
        assert_eq!(r.u8(), Some(3));
        assert!(r.is_empty());
        let mut r = Reader::new(&[5, 1]);
        assert_eq!(r.vec8(), None);
    }

    #[test]
    fn len_prefixed_nesting() {
        let mut v = Vec::new();
        v.put_len_prefixed(3, |v| {
            v.put_len_prefixed(2, |v| v.put(&[9, 9]));
        });
        assert_eq!(v, [0, 0, 4, 0, 2, 9, 9]);
        let mut r = Reader::new(&v);
        let mut inner = Reader::new(r.vec24().unwrap());
        assert_eq!(inner.vec16(), Some(&[9u8, 9][..]));
    }
}
