//! DTLS 1.3 record framing (RFC 9147 §4): the unified header of protected records, the split of
//! a datagram that mixes DTLSPlaintext and DTLSCiphertext records, and the reconstruction of the
//! full epoch and sequence number from the bits on the wire (§4.2.2).
//!
//! ```text
//!  0 1 2 3 4 5 6 7
//! +-+-+-+-+-+-+-+-+
//! |0|0|1|C|S|L|E E|   C: connection ID present, S: 16-bit sequence number,
//! +-+-+-+-+-+-+-+-+   L: length present, EE: low two bits of the epoch
//! | Connection ID |   (if C, of the negotiated length)
//! | 8/16 bit seq  |   (encrypted: RFC 9147 §4.2.3)
//! | 16 bit length |   (if L; else the record runs to the end of the datagram)
//! +-+-+-+-+-+-+-+-+
//! ```

use super::codec::{Codec, Reader};
use super::enums::ContentType;
use super::record::{RecordHeader, HEADER_LEN};
use std::ops::Range;

/// The three fixed high bits of a unified header's first byte.
const FIXED_MASK: u8 = 0b1110_0000;
const FIXED_BITS: u8 = 0b0010_0000;
const C_BIT: u8 = 0x10;
const S_BIT: u8 = 0x08;
const L_BIT: u8 = 0x04;
const E_MASK: u8 = 0x03;

/// The longest unified header we send: first byte, 16-bit sequence number, 16-bit length.
pub const MAX_SENT_HEADER_LEN: usize = 5;

/// Whether `first_byte` opens a DTLSCiphertext (unified header) record: its high bits are 001
/// (RFC 9147 §4.1).
pub fn is_unified_header(first_byte: u8) -> bool {
    first_byte & FIXED_MASK == FIXED_BITS
}

/// Whether a DTLSPlaintext record of this content type is valid in DTLS 1.3: alert, handshake
/// and ack only (RFC 9147 §4.1). Records of any other type are rejected "as if it had failed
/// deprotection" (dropped); the parser still frames them as DTLS 1.2 records so that the rest of
/// the datagram stays readable.
pub fn is_plaintext13_type(ct: ContentType) -> bool {
    matches!(
        ct,
        ContentType::Alert | ContentType::Handshake | ContentType::Ack
    )
}

/// A DTLS 1.3 unified header (RFC 9147 §4, Figure 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnifiedHeader {
    /// The low two bits of the epoch.
    pub epoch_bits: u8,
    /// The low 8 or 16 bits of the sequence number as they stand in the header: encrypted on the
    /// wire (RFC 9147 §4.2.3), plain once record number decryption has run.
    pub seq_bits: u16,
    /// The S bit: the sequence number field is 16 bits (else 8).
    pub long_seq: bool,
    /// The length field, when the L bit is set; `None`: the record is the rest of the datagram.
    pub length: Option<u16>,
    /// Bytes of connection ID after the first byte; 0 without the C bit. The CID itself is
    /// `header_bytes[1..1 + cid_len]`. (CIDs are not negotiated yet: the parser accepts only the
    /// configured length, today 0.)
    pub cid_len: u8,
}

impl UnifiedHeader {
    /// The header we send: no CID, the 16 low bits of `seq`, and the length, so that any record
    /// may be followed by another in the same datagram.
    pub fn new(epoch: u64, seq: u64, length: u16) -> Self {
        UnifiedHeader {
            epoch_bits: (epoch & 3) as u8,
            seq_bits: seq as u16,
            long_seq: true,
            length: Some(length),
            cid_len: 0,
        }
    }

    /// The first byte: 0b001CSLEE.
    pub fn first_byte(&self) -> u8 {
        let mut b = FIXED_BITS | (self.epoch_bits & E_MASK);
        if self.cid_len > 0 {
            b |= C_BIT;
        }
        if self.long_seq {
            b |= S_BIT;
        }
        if self.length.is_some() {
            b |= L_BIT;
        }
        b
    }

    /// Where the sequence number field starts in the header.
    pub fn seq_offset(&self) -> usize {
        1 + self.cid_len as usize
    }

    /// Bytes of the sequence number field: 1 or 2.
    pub fn seq_len(&self) -> usize {
        if self.long_seq {
            2
        } else {
            1
        }
    }

    /// Bits of the sequence number on the wire: 8 or 16.
    pub fn seq_width(&self) -> u32 {
        self.seq_len() as u32 * 8
    }

    /// Total header bytes.
    #[allow(clippy::len_without_is_empty)] // a header is never empty
    pub fn len(&self) -> usize {
        self.seq_offset() + self.seq_len() + if self.length.is_some() { 2 } else { 0 }
    }

    /// Writes the header into the first [`UnifiedHeader::len`] bytes of `out`; returns that
    /// length, or `None` (writing nothing) if `out` is too short or the header has a CID
    /// (not supported yet).
    pub fn write_to(&self, out: &mut [u8]) -> Option<usize> {
        let n = self.len();
        if self.cid_len != 0 || out.len() < n {
            return None;
        }
        out[0] = self.first_byte();
        let mut pos = 1;
        if self.long_seq {
            out[pos..pos + 2].copy_from_slice(&self.seq_bits.to_be_bytes());
            pos += 2;
        } else {
            out[pos] = self.seq_bits as u8;
            pos += 1;
        }
        if let Some(len) = self.length {
            out[pos..pos + 2].copy_from_slice(&len.to_be_bytes());
        }
        Some(n)
    }

    /// Reads a unified header. `cid_len` is the length of the connection ID we issued (0: none).
    /// `None` if the first byte is not 001xxxxx, the input is short, or the C bit disagrees with
    /// `cid_len` being non-zero: a CID of unknown length makes the rest of the datagram
    /// unparseable.
    pub fn read(r: &mut Reader<'_>, cid_len: u8) -> Option<Self> {
        let first = r.u8()?;
        if !is_unified_header(first) || (first & C_BIT != 0) != (cid_len != 0) {
            return None;
        }
        r.take(cid_len as usize)?;
        let long_seq = first & S_BIT != 0;
        let seq_bits = if long_seq {
            r.u16()?
        } else {
            u16::from(r.u8()?)
        };
        let length = if first & L_BIT != 0 {
            Some(r.u16()?)
        } else {
            None
        };
        Some(UnifiedHeader {
            epoch_bits: first & E_MASK,
            seq_bits,
            long_seq,
            length,
            cid_len,
        })
    }
}

/// The header of one record of a DTLS 1.3 datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Header13 {
    /// DTLSPlaintext: a content type first, then the 13-byte header of DTLS 1.2. Only alert,
    /// handshake and ack are valid ([`is_plaintext13_type`]); the caller drops the rest.
    Plaintext(RecordHeader),
    /// DTLSCiphertext: a unified header, then the encrypted DTLSInnerPlaintext.
    Ciphertext(UnifiedHeader),
}

/// Where one record lies in its datagram. Owns no borrow, so a caller holding the datagram
/// mutably can decrypt in place between two calls to [`RecordCursor::next`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordSpan {
    /// The parsed header.
    pub header: Header13,
    /// The header's bytes (for a ciphertext, the AAD once its sequence number is decrypted).
    pub header_range: Range<usize>,
    /// The fragment (plaintext) or encrypted record (ciphertext).
    pub body_range: Range<usize>,
}

impl RecordSpan {
    /// The header and body of this record within `datagram`, both mutable, for in-place
    /// record number decryption and AEAD opening. `None` if `datagram` is not the one parsed.
    pub fn split_mut<'b>(&self, datagram: &'b mut [u8]) -> Option<(&'b mut [u8], &'b mut [u8])> {
        let rec = datagram.get_mut(self.header_range.start..self.body_range.end)?;
        let (hdr, body) = rec.split_at_mut(self.header_range.len());
        Some((hdr, body))
    }
}

/// Splits a DTLS 1.3 datagram into records, one call at a time, without borrowing the datagram
/// between calls. A record whose header or length runs past the datagram ends the walk: like
/// DTLS 1.2 (RFC 6347 §4.1.2.7), the rest of such a datagram is dropped.
#[derive(Debug, Clone)]
pub struct RecordCursor {
    pos: usize,
    cid_len: u8,
    done: bool,
    truncated: bool,
}

impl RecordCursor {
    /// Starts at the first record; `cid_len` is the length of the connection ID we issued (0).
    pub fn new(cid_len: u8) -> Self {
        RecordCursor {
            pos: 0,
            cid_len,
            done: false,
            truncated: false,
        }
    }

    /// Whether the walk stopped at bytes that do not form a whole record; those were skipped.
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// The next record of `datagram` (the same datagram on every call).
    pub fn next(&mut self, datagram: &[u8]) -> Option<RecordSpan> {
        if self.done {
            return None;
        }
        let rest = match datagram.get(self.pos..) {
            Some(rest) if !rest.is_empty() => rest,
            _ => {
                self.done = true;
                return None;
            }
        };
        let start = self.pos;
        let mut r = Reader::new(rest);
        let parsed = if is_unified_header(rest[0]) {
            UnifiedHeader::read(&mut r, self.cid_len).and_then(|h| {
                let hdr_len = h.len();
                let body_len = match h.length {
                    Some(n) => r.take(n as usize)?.len(),
                    None => r.take_rest().len(),
                };
                Some((Header13::Ciphertext(h), hdr_len, body_len))
            })
        } else {
            RecordHeader::read(&mut r).and_then(|h| {
                let body_len = r.take(h.length as usize)?.len();
                Some((Header13::Plaintext(h), HEADER_LEN, body_len))
            })
        };
        match parsed {
            Some((header, hdr_len, body_len)) => {
                let body_start = start + hdr_len;
                self.pos = body_start + body_len;
                Some(RecordSpan {
                    header,
                    header_range: start..body_start,
                    body_range: body_start..self.pos,
                })
            }
            None => {
                self.done = true;
                self.truncated = true;
                None
            }
        }
    }
}

/// One record of a datagram, borrowed from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record13<'a> {
    /// A DTLSPlaintext record (see [`Header13::Plaintext`]).
    Plaintext {
        /// The parsed header.
        header: RecordHeader,
        /// The 13 header bytes.
        header_bytes: &'a [u8],
        /// The fragment.
        fragment: &'a [u8],
    },
    /// A DTLSCiphertext record.
    Ciphertext {
        /// The parsed header (sequence number still encrypted).
        header: UnifiedHeader,
        /// The header bytes, CID and length included.
        header_bytes: &'a [u8],
        /// The encrypted DTLSInnerPlaintext and tag.
        encrypted: &'a [u8],
    },
}

/// Iterates the records of a DTLS 1.3 datagram (a borrowing wrapper over [`RecordCursor`]).
#[derive(Debug, Clone)]
pub struct Records13<'a> {
    datagram: &'a [u8],
    cursor: RecordCursor,
}

impl<'a> Records13<'a> {
    /// Iterates the records of `datagram`; `cid_len` as in [`RecordCursor::new`].
    pub fn new(datagram: &'a [u8], cid_len: u8) -> Self {
        Records13 {
            datagram,
            cursor: RecordCursor::new(cid_len),
        }
    }

    /// See [`RecordCursor::truncated`].
    pub fn truncated(&self) -> bool {
        self.cursor.truncated()
    }
}

impl<'a> Iterator for Records13<'a> {
    type Item = Record13<'a>;

    fn next(&mut self) -> Option<Record13<'a>> {
        let span = self.cursor.next(self.datagram)?;
        // The cursor's ranges lie within the datagram it just parsed; `get` keeps that a
        // checked fact rather than an assumption.
        let header_bytes = self.datagram.get(span.header_range)?;
        let body = self.datagram.get(span.body_range)?;
        Some(match span.header {
            Header13::Plaintext(header) => Record13::Plaintext {
                header,
                header_bytes,
                fragment: body,
            },
            Header13::Ciphertext(header) => Record13::Ciphertext {
                header,
                header_bytes,
                encrypted: body,
            },
        })
    }
}

/// The full epoch of a record whose header carries the low two bits `epoch_bits`, given the
/// epochs we hold receive keys for: the most recent (highest) one with matching bits (RFC 9147
/// §4.2.2). During the handshake the bits name one epoch unambiguously; after it, an old epoch
/// kept for reordered records loses to the current one with the same bits. `None`: no key for
/// this record, drop it.
pub fn reconstruct_epoch(epoch_bits: u8, held: &[u64]) -> Option<u64> {
    held.iter()
        .copied()
        .filter(|e| e & 3 == u64::from(epoch_bits & 3))
        .max()
}

/// The full sequence number of a record whose header carries the low `width` (8 or 16) bits
/// `seq_bits`: the value with those low bits numerically closest to one plus the highest
/// sequence number successfully deprotected in that epoch (`highest`; `None` before the first,
/// so the expectation is 0) (RFC 9147 §4.2.2). A tie (exactly half a window away either way)
/// goes forward: losing half a window of records in a row is likelier than reordering that deep.
pub fn reconstruct_seq(seq_bits: u16, width: u32, highest: Option<u64>) -> u64 {
    let width = if width == 8 { 8 } else { 16 };
    let win: u64 = 1 << width;
    let half = win / 2;
    let low = u64::from(seq_bits) & (win - 1);
    let expected = highest.map_or(0, |h| h.saturating_add(1));
    let candidate = (expected & !(win - 1)) | low;
    // `candidate` is within one window of `expected`; the closest value is it or its neighbour
    // one window below or above. Guards keep the arithmetic inside u64.
    if candidate > expected && candidate - expected > half && candidate >= win {
        candidate - win
    } else if candidate <= expected && expected - candidate >= half {
        match candidate.checked_add(win) {
            Some(up) => up,
            None => candidate,
        }
    } else {
        candidate
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msgs::codec::Codec;

    fn plaintext(ct: ContentType, seq: u64, body: &[u8]) -> Vec<u8> {
        let mut v = RecordHeader {
            content_type: ct,
            version: 0xfefd,
            epoch: 0,
            seq,
            length: body.len() as u16,
        }
        .to_bytes();
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn header_encoding_is_001csle() {
        let h = UnifiedHeader::new(7, 0x1_2345, 0x0102);
        assert_eq!(h.first_byte(), 0b0010_1111);
        assert_eq!(h.len(), 5);
        let mut out = [0u8; 5];
        assert_eq!(h.write_to(&mut out), Some(5));
        assert_eq!(out, [0x2f, 0x23, 0x45, 0x01, 0x02]);
        assert_eq!(h.write_to(&mut [0u8; 4]), None);
        assert_eq!(UnifiedHeader::read(&mut Reader::new(&out), 0), Some(h));
        // The minimal form of Figure 4: 8-bit sequence number, no length.
        let min = [0b0010_0010, 0x99];
        let h = UnifiedHeader::read(&mut Reader::new(&min), 0).unwrap();
        assert_eq!(
            (h.epoch_bits, h.seq_bits, h.long_seq, h.length, h.len()),
            (2, 0x99, false, None, 2)
        );
        assert_eq!(h.first_byte(), min[0]);
        let mut out = [0u8; 2];
        assert_eq!(h.write_to(&mut out), Some(2));
        assert_eq!(out, min);
        assert_eq!((h.seq_offset(), h.seq_len(), h.seq_width()), (1, 1, 8));
    }

    #[test]
    fn cid_bit_must_match_configuration() {
        // C set while we issued no CID: unparseable.
        let rec = [0b0011_1100, 0, 0, 0, 0];
        assert_eq!(UnifiedHeader::read(&mut Reader::new(&rec), 0), None);
        // With a 2-byte CID configured, the CID is skipped and kept as a length.
        let rec = [0b0011_1101, 0xaa, 0xbb, 0x12, 0x34, 0x00, 0x01, 0xee];
        let mut r = Reader::new(&rec);
        let h = UnifiedHeader::read(&mut r, 2).unwrap();
        assert_eq!(
            (h.cid_len, h.seq_bits, h.length, h.epoch_bits, h.len()),
            (2, 0x1234, Some(1), 1, 7)
        );
        assert_eq!(h.seq_offset(), 3);
        assert_eq!(r.rest(), &[0xee]);
        // ... and a record without C is refused when a CID is expected.
        assert_eq!(
            UnifiedHeader::read(&mut Reader::new(&[0x2c, 0, 0, 0, 0]), 2),
            None
        );
        // A CID header cannot be written yet.
        assert_eq!(h.write_to(&mut [0u8; 16]), None);
    }

    #[test]
    fn a_datagram_mixing_plaintext_and_ciphertext_records() {
        let mut dg = plaintext(ContentType::Handshake, 5, b"hello");
        let mut hdr = [0u8; 5];
        UnifiedHeader::new(2, 1, 20).write_to(&mut hdr).unwrap();
        dg.extend_from_slice(&hdr);
        dg.extend_from_slice(&[0xab; 20]);
        dg.extend_from_slice(&plaintext(ContentType::Ack, 6, b""));
        // Last: a minimal header running to the end of the datagram.
        dg.extend_from_slice(&[0b0010_0011, 0x07]);
        dg.extend_from_slice(&[0xcd; 17]);

        let mut it = Records13::new(&dg, 0);
        let recs: Vec<_> = it.by_ref().collect();
        assert!(!it.truncated());
        assert_eq!(recs.len(), 4);
        match recs[0] {
            Record13::Plaintext {
                header,
                header_bytes,
                fragment,
            } => {
                assert_eq!(header.content_type, ContentType::Handshake);
                assert_eq!(header.seq, 5);
                assert_eq!(header_bytes.len(), 13);
                assert_eq!(fragment, b"hello");
            }
            _ => panic!("{:?}", recs[0]),
        }
        match recs[1] {
            Record13::Ciphertext {
                header,
                header_bytes,
                encrypted,
            } => {
                assert_eq!(header, UnifiedHeader::new(2, 1, 20));
                assert_eq!(header_bytes, hdr);
                assert_eq!(encrypted, &[0xab; 20]);
            }
            _ => panic!("{:?}", recs[1]),
        }
        assert!(matches!(recs[2], Record13::Plaintext { fragment: &[], .. }));
        match recs[3] {
            Record13::Ciphertext {
                header, encrypted, ..
            } => {
                assert_eq!((header.epoch_bits, header.seq_bits), (3, 7));
                assert_eq!(header.length, None);
                assert_eq!(encrypted, &[0xcd; 17]);
            }
            _ => panic!("{:?}", recs[3]),
        }

        // The cursor gives the same records as ranges, and lets the caller write between calls.
        let mut buf = dg.clone();
        let mut cur = RecordCursor::new(0);
        let mut n = 0;
        while let Some(span) = cur.next(&buf) {
            let (h, body) = span.split_mut(&mut buf).unwrap();
            assert_eq!(h.len(), span.header_range.len());
            body.fill(0);
            n += 1;
        }
        assert_eq!(n, 4);
        assert!(buf[13..18].iter().all(|&b| b == 0));
        assert!(buf[..13] == dg[..13]);
    }

    #[test]
    fn truncation_stops_the_walk() {
        let mut dg = plaintext(ContentType::Handshake, 0, b"abc");
        let mut hdr = [0u8; 5];
        UnifiedHeader::new(3, 9, 10).write_to(&mut hdr).unwrap();
        dg.extend_from_slice(&hdr);
        dg.extend_from_slice(&[1; 10]);
        let full = dg.len();
        assert_eq!(Records13::new(&dg, 0).count(), 2);
        for cut in [full - 1, 16 + 1, 16 + 3, 16 + 4] {
            let mut it = Records13::new(&dg[..cut], 0);
            assert_eq!(it.by_ref().count(), 1, "cut {cut}");
            assert!(it.truncated(), "cut {cut}");
        }
        // A plaintext header cut short.
        let mut it = Records13::new(&dg[..5], 0);
        assert_eq!(it.by_ref().count(), 0);
        assert!(it.truncated());
        // An empty datagram is simply empty.
        let mut it = Records13::new(&[], 0);
        assert_eq!(it.next(), None);
        assert!(!it.truncated());
    }

    #[test]
    fn content_types_for_1_3_plaintext() {
        for (v, ok) in [(21, true), (22, true), (26, true), (20, false), (23, false)] {
            assert_eq!(is_plaintext13_type(ContentType::from(v)), ok, "{v}");
            assert!(!is_unified_header(v));
        }
        assert!((32..64).all(is_unified_header));
        assert!(!is_unified_header(64) && !is_unified_header(31));
    }

    #[test]
    fn epoch_reconstruction() {
        // Handshake: epochs 0..=3 held, all bits distinct.
        let held = [0, 1, 2, 3];
        for b in 0..4 {
            assert_eq!(reconstruct_epoch(b, &held), Some(u64::from(b)));
        }
        // After KeyUpdates: epoch 5 current, 4 kept for reordering, no 1 any more.
        assert_eq!(reconstruct_epoch(1, &[4, 5]), Some(5));
        assert_eq!(reconstruct_epoch(0, &[4, 5]), Some(4));
        assert_eq!(reconstruct_epoch(2, &[4, 5]), None);
        // The most recent of two matching epochs wins.
        assert_eq!(reconstruct_epoch(3, &[3, 7]), Some(7));
        assert_eq!(reconstruct_epoch(3, &[u64::MAX]), Some(u64::MAX));
        assert_eq!(reconstruct_epoch(3, &[]), None);
        // Only the two low bits count.
        assert_eq!(reconstruct_epoch(0xff, &[6, 7]), Some(7));
    }

    #[test]
    fn seq_reconstruction_boundaries() {
        // Nothing received yet: expected is 0.
        assert_eq!(reconstruct_seq(0, 16, None), 0);
        assert_eq!(reconstruct_seq(5, 8, None), 5);
        assert_eq!(reconstruct_seq(0xffff, 16, None), 0xffff); // cannot go below 0
                                                               // In order.
        assert_eq!(reconstruct_seq(0x35, 8, Some(0x1234)), 0x1235);
        // Wrap of the low bits, forward.
        assert_eq!(reconstruct_seq(0x00, 8, Some(0x12ff)), 0x1300);
        assert_eq!(reconstruct_seq(0x02, 8, Some(0x12fe)), 0x1302);
        assert_eq!(reconstruct_seq(0x0000, 16, Some(0x1_ffff)), 0x2_0000);
        // Reordered from just before a wrap.
        assert_eq!(reconstruct_seq(0xfe, 8, Some(0x1300)), 0x12fe);
        assert_eq!(reconstruct_seq(0xffff, 16, Some(0x2_0003)), 0x1_ffff);
        // Half a window: behind by 127 stays behind, ahead by 128 goes forward (the tie).
        assert_eq!(reconstruct_seq(0x81, 8, Some(0x1000)), 0x1081); // 128 either way: forward
        assert_eq!(reconstruct_seq(0x82, 8, Some(0x1000)), 0x0f82); // behind by 127
        assert_eq!(reconstruct_seq(0x80, 8, Some(0x1000)), 0x1080); // ahead by 127
                                                                    // Near the top of u64: never wraps.
        assert_eq!(reconstruct_seq(0xff, 8, Some(u64::MAX - 1)), u64::MAX);
        assert_eq!(
            reconstruct_seq(0x00, 8, Some(u64::MAX - 1)),
            u64::MAX - 0xff
        );
        assert_eq!(reconstruct_seq(0xff, 8, Some(u64::MAX)), u64::MAX);
        // A width other than 8 means 16.
        assert_eq!(reconstruct_seq(0x1234, 12, Some(0x1233)), 0x1234);
    }

    /// Brute-force property: for every expectation around a few boundaries and every wire value,
    /// the result has the wire bits, and no other value with those bits is strictly closer.
    #[test]
    fn seq_reconstruction_is_closest() {
        for width in [8u32, 16] {
            let win = 1u64 << width;
            let mask = win - 1;
            let bases = [
                0u64,
                1,
                win - 1,
                win,
                win + 1,
                3 * win + 7,
                u64::MAX - win,
                u64::MAX - 1,
            ];
            for highest in bases.iter().map(|&b| Some(b)).chain([None]) {
                let expected = highest.map_or(0, |h| h.saturating_add(1)) as i128;
                let step = if width == 8 { 1 } else { 97 };
                for low in (0..win).step_by(step) {
                    let got = reconstruct_seq(low as u16, width, highest);
                    assert_eq!(got & mask, low, "{width} {highest:?} {low}");
                    let d = (got as i128 - expected).abs();
                    for alt in [got as i128 - win as i128, got as i128 + win as i128] {
                        if (0..=u64::MAX as i128).contains(&alt) {
                            assert!(
                                (alt - expected).abs() >= d,
                                "{width} {highest:?} {low}: {got} vs {alt}"
                            );
                        }
                    }
                }
            }
        }
    }

    /// Random bytes, random cuts: the parser never panics and its ranges stay in bounds.
    #[test]
    fn random_input_never_panics() {
        let mut rng = crate::crypto::rng::Rng::seeded(13);
        let mut buf = [0u8; 96];
        let (mut plain, mut cipher) = (0, 0);
        for i in 0..20_000 {
            rng.fill(&mut buf).unwrap();
            // Bias the first bytes towards both record kinds so records get parsed, not rejected.
            if i % 2 == 0 {
                buf[0] = 0x20 | (buf[0] & 0x1f);
            } else {
                buf[0] = 21 + (buf[0] % 6);
                buf[11] = 0;
            }
            let len = (buf[95] as usize) % 96;
            let cid_len = (i % 3) as u8;
            let dg = &buf[..len];
            let mut total = 0;
            for rec in Records13::new(dg, cid_len) {
                let (h, b) = match rec {
                    Record13::Plaintext {
                        header_bytes,
                        fragment,
                        ..
                    } => {
                        plain += 1;
                        (header_bytes.len(), fragment.len())
                    }
                    Record13::Ciphertext {
                        header,
                        header_bytes,
                        encrypted,
                    } => {
                        assert_eq!(header.len(), header_bytes.len());
                        cipher += 1;
                        (header_bytes.len(), encrypted.len())
                    }
                };
                total += h + b;
            }
            assert!(total <= len);
            let mut copy = dg.to_vec();
            let mut cur = RecordCursor::new(cid_len);
            while let Some(span) = cur.next(&copy) {
                assert!(span.split_mut(&mut copy).is_some());
                let _ = reconstruct_seq(rng.next_u32() as u16, 8, Some(u64::from(rng.next_u32())));
            }
        }
        // The loop exercised both parsers, not only their rejections.
        assert!(plain > 500 && cipher > 1_000, "{plain} {cipher}");
    }
}
