//! DTLS 1.2 record headers (RFC 6347 §4.1). DTLS 1.3's unified header lives beside it later.

use super::codec::{Codec, Reader, Writer};
use super::enums::ContentType;

/// Bytes in a DTLS 1.2 record header.
pub const HEADER_LEN: usize = 13;

/// Largest sequence number that fits the 48-bit field.
pub const MAX_SEQ: u64 = (1 << 48) - 1;

/// A DTLS 1.2 (DTLSPlaintext / DTLSCiphertext) record header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    /// What the payload is.
    pub content_type: ContentType,
    /// Record version, raw: DTLS 1.2 (0xfefd), or DTLS 1.0 (0xfeff) which epoch 0 also
    /// allows.
    pub version: u16,
    /// Epoch: 0 is plaintext; each ChangeCipherSpec moves to the next.
    pub epoch: u16,
    /// 48-bit sequence number within the epoch.
    pub seq: u64,
    /// Bytes of payload after the header.
    pub length: u16,
}

impl RecordHeader {
    /// The 64-bit `epoch || sequence_number` used in AEAD nonces and additional data.
    pub fn epoch_seq(&self) -> u64 {
        (u64::from(self.epoch) << 48) | (self.seq & MAX_SEQ)
    }

    /// Writes the header into the first 13 bytes of `out` (which must hold them).
    pub fn write_to(&self, out: &mut [u8]) {
        out[0] = self.content_type.get();
        out[1..3].copy_from_slice(&self.version.to_be_bytes());
        out[3..5].copy_from_slice(&self.epoch.to_be_bytes());
        out[5..11].copy_from_slice(&self.seq.to_be_bytes()[2..]);
        out[11..13].copy_from_slice(&self.length.to_be_bytes());
    }
}

impl Codec for RecordHeader {
    fn encode(&self, out: &mut Vec<u8>) {
        out.put_u8(self.content_type.get());
        out.put_u16(self.version);
        out.put_u16(self.epoch);
        out.put_u48(self.seq);
        out.put_u16(self.length);
    }

    fn read(r: &mut Reader<'_>) -> Option<Self> {
        Some(RecordHeader {
            content_type: ContentType::read(r)?,
            version: r.u16()?,
            epoch: r.u16()?,
            seq: r.u48()?,
            length: r.u16()?,
        })
    }
}

/// Splits one datagram into its records. A record whose length runs past the datagram ends
/// the iteration: RFC 6347 §4.1.2.7 says to drop the rest of such a datagram.
pub struct Records<'a> {
    r: Reader<'a>,
    truncated: bool,
}

impl<'a> Records<'a> {
    /// Iterates the records of `datagram`.
    pub fn new(datagram: &'a [u8]) -> Self {
        Records {
            r: Reader::new(datagram),
            truncated: false,
        }
    }

    /// Whether iteration stopped at bytes that do not form a whole record (a short header or
    /// a length past the end), which were skipped.
    pub fn truncated(&self) -> bool {
        self.truncated
    }
}

impl<'a> Iterator for Records<'a> {
    /// The header, and the whole record's bytes (header included) for in-place processing.
    type Item = (RecordHeader, &'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.r.is_empty() {
            return None;
        }
        let start = self.r.rest();
        let body = RecordHeader::read(&mut self.r)
            .and_then(|hdr| Some((hdr, self.r.take(hdr.length as usize)?)));
        match body {
            Some((hdr, body)) => Some((hdr, body, &start[..HEADER_LEN + body.len()])),
            None => {
                self.r.take_rest();
                self.truncated = true;
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_header_or_body_is_reported_as_truncated() {
        let mut rec = Vec::new();
        RecordHeader {
            content_type: ContentType::Handshake,
            version: 0xfefd,
            epoch: 0,
            seq: 1,
            length: 3,
        }
        .encode(&mut rec);
        rec.extend_from_slice(b"abc");
        let whole = Records::new(&rec);
        assert_eq!(whole.count(), 1);
        let mut it = Records::new(&rec);
        assert!(it.by_ref().last().is_some() && !it.truncated());
        for cut in [5, HEADER_LEN, rec.len() - 1] {
            let mut it = Records::new(&rec[..cut]);
            assert_eq!(it.by_ref().count(), 0, "cut {cut}");
            assert!(it.truncated(), "cut {cut}");
        }
    }

    #[test]
    fn header_round_trip_and_split() {
        let h = RecordHeader {
            content_type: ContentType::Handshake,
            version: 0xfefd,
            epoch: 1,
            seq: 0x0000_1234_5678,
            length: 3,
        };
        let mut dg = h.to_bytes();
        dg.extend_from_slice(&[1, 2, 3]);
        let mut buf = [0u8; 13];
        h.write_to(&mut buf);
        assert_eq!(&buf[..], &dg[..13]);
        dg.extend_from_slice(&dg.clone());
        dg.extend_from_slice(&[22, 0xfe]); // truncated third record
        let recs: Vec<_> = Records::new(&dg).collect();
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[1].1, &[1, 2, 3]);
        assert_eq!(recs[0].0.epoch_seq(), (1 << 48) | 0x1234_5678);
    }
}
