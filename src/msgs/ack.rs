//! The DTLS 1.3 ACK message (RFC 9147 §7): its own content type (26), not a handshake
//! message, so it never enters the transcript.

use super::codec::{Codec, Reader, Writer};
use super::extensions13::{finish, need, DecodeError13};

/// A full record number (RFC 9147 §4): the epoch and sequence number of one record, as ACKs
/// and the AEAD nonce see them. Ordered by epoch, then sequence number, which is the
/// "numerically increasing order" ACKs are sent in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RecordNumber {
    /// The epoch.
    pub epoch: u64,
    /// The sequence number within the epoch.
    pub sequence_number: u64,
}

/// Bytes per record number on the wire.
pub const RECORD_NUMBER_LEN: usize = 16;

impl Codec for RecordNumber {
    fn encode(&self, out: &mut Vec<u8>) {
        out.put(&self.epoch.to_be_bytes());
        out.put(&self.sequence_number.to_be_bytes());
    }

    fn read(r: &mut Reader<'_>) -> Option<Self> {
        let b = r.take(RECORD_NUMBER_LEN)?;
        let mut e = [0u8; 8];
        let mut s = [0u8; 8];
        e.copy_from_slice(&b[..8]);
        s.copy_from_slice(&b[8..]);
        Some(RecordNumber {
            epoch: u64::from_be_bytes(e),
            sequence_number: u64::from_be_bytes(s),
        })
    }
}

/// The most record numbers we read from one ACK. A flight of ours is a few dozen records even
/// at a small MTU; more entries than this cannot all name records we sent, so the rest would
/// only cost lookups.
pub const MAX_ACK_RECORD_NUMBERS: usize = 256;

/// ACK: `RecordNumber record_numbers<0..2^16-1>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ack {
    /// The records acknowledged; senders list them in increasing order. Receivers do not
    /// rely on the order.
    pub record_numbers: Vec<RecordNumber>,
}

impl Ack {
    /// Appends the ACK body.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put_len_prefixed(2, |out| {
            self.record_numbers.iter().for_each(|n| n.encode(out))
        });
    }

    /// Bytes of an ACK body listing `n` record numbers.
    pub fn encoded_len(n: usize) -> usize {
        2 + n * RECORD_NUMBER_LEN
    }

    /// How many record numbers fit in an ACK body of at most `budget` bytes (to fill what a
    /// datagram has left).
    pub fn capacity(budget: usize) -> usize {
        budget.saturating_sub(2) / RECORD_NUMBER_LEN
    }

    /// Decodes a whole ACK body, refusing more than `max_records` entries (see
    /// [`MAX_ACK_RECORD_NUMBERS`]) and a length that is not a multiple of 16.
    pub fn decode(body: &[u8], max_records: usize) -> Result<Self, DecodeError13> {
        let mut r = Reader::new(body);
        let mut list = need(r.sub16())?;
        finish(&r)?;
        if list.left() % RECORD_NUMBER_LEN != 0 || list.left() / RECORD_NUMBER_LEN > max_records {
            return Err(DecodeError13::Malformed);
        }
        let mut record_numbers = Vec::with_capacity(list.left() / RECORD_NUMBER_LEN);
        while !list.is_empty() {
            record_numbers.push(need(RecordNumber::read(&mut list))?);
        }
        Ok(Ack { record_numbers })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rn(epoch: u64, sequence_number: u64) -> RecordNumber {
        RecordNumber {
            epoch,
            sequence_number,
        }
    }

    #[test]
    fn round_trip_and_wire_form() {
        let ack = Ack {
            record_numbers: vec![rn(2, 0), rn(2, 1), rn(3, u64::MAX)],
        };
        let mut b = Vec::new();
        ack.encode(&mut b);
        assert_eq!(b.len(), Ack::encoded_len(3));
        assert_eq!(&b[..2], &[0, 48]);
        assert_eq!(&b[2..18], &[0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&b[42..], &[0xff; 8]);
        assert_eq!(Ack::decode(&b, MAX_ACK_RECORD_NUMBERS), Ok(ack));
        for n in 0..b.len() {
            assert_eq!(
                Ack::decode(&b[..n], 8),
                Err(DecodeError13::Malformed),
                "{n}"
            );
        }
        b.push(0);
        assert_eq!(Ack::decode(&b, 8), Err(DecodeError13::Malformed));
        let empty = Ack::default();
        let mut b = Vec::new();
        empty.encode(&mut b);
        assert_eq!(b, [0, 0]);
        assert_eq!(Ack::decode(&b, 0), Ok(empty));
    }

    #[test]
    fn bounds() {
        let ack = Ack {
            record_numbers: (0..5).map(|s| rn(2, s)).collect(),
        };
        let mut b = Vec::new();
        ack.encode(&mut b);
        assert!(Ack::decode(&b, 5).is_ok());
        assert_eq!(Ack::decode(&b, 4), Err(DecodeError13::Malformed));
        // A length that is not a whole number of entries.
        assert_eq!(
            Ack::decode(
                &[0, 17, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 9],
                8
            ),
            Err(DecodeError13::Malformed)
        );
        assert_eq!(Ack::capacity(1), 0);
        assert_eq!(Ack::capacity(2 + 16 * 3 + 15), 3);
        assert_eq!(Ack::capacity(100), 6);
        assert!(Ack::encoded_len(7) > 100);
    }

    #[test]
    fn order_is_epoch_then_sequence() {
        let mut v = vec![rn(3, 0), rn(2, 9), rn(2, 1)];
        v.sort();
        assert_eq!(v, [rn(2, 1), rn(2, 9), rn(3, 0)]);
    }
}
