//! Outgoing flights (RFC 6347 §4.2.4): the messages we retransmit as a unit, and their
//! fragmentation to the MTU. Retransmissions re-fragment from scratch, so a smaller MTU takes
//! effect on the next attempt.

use crate::msgs::ack::RecordNumber;
use crate::msgs::codec::Codec;
use crate::msgs::enums::{ContentType, HandshakeType};
use crate::msgs::handshake::{HandshakeHeader, HANDSHAKE_HEADER_LEN};
use crate::types::Epoch;

/// Adds `r` to a sorted list of disjoint ranges, merging what touches.
fn add_range(list: &mut Vec<(u32, u32)>, r: (u32, u32)) {
    list.push(r);
    list.sort_unstable();
    let mut merged: Vec<(u32, u32)> = Vec::with_capacity(list.len());
    for &(a, b) in list.iter() {
        match merged.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    *list = merged;
}

/// One element of a flight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlightItem {
    /// A handshake message, fragmented to the MTU when sent.
    Handshake {
        /// The epoch whose keys protect it.
        epoch: Epoch,
        /// The handshake message type.
        msg_type: HandshakeType,
        /// message_seq (RFC 6347 §4.2.2); retransmissions reuse it.
        msg_seq: u16,
        /// The whole message body, without the handshake header.
        body: Vec<u8>,
    },
    /// A ChangeCipherSpec record: the peer switches to our next epoch after it.
    ChangeCipherSpec {
        /// The epoch it is sent in (the one before the switch).
        epoch: Epoch,
    },
}

impl FlightItem {
    /// The epoch whose keys protect this item.
    pub fn epoch(&self) -> Epoch {
        match self {
            FlightItem::Handshake { epoch, .. } | FlightItem::ChangeCipherSpec { epoch } => *epoch,
        }
    }
}

/// A record's worth of a flight, ready to protect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    /// Which flight item it comes from, and which bytes of its body (for ACKs).
    pub item: usize,
    /// Offset of the fragment in the message body.
    pub off: usize,
    /// Length of the fragment.
    pub len: usize,
    /// Handshake or change_cipher_spec.
    pub content_type: ContentType,
    /// The epoch to seal it under.
    pub epoch: Epoch,
    /// The record payload: one handshake fragment with its header, or the CCS byte.
    pub payload: Vec<u8>,
}

/// The current outgoing flight and how much of it this transmission has sent.
#[derive(Debug, Default)]
pub struct Flight {
    items: Vec<FlightItem>,
    /// (item index, byte offset) of the next fragment; `None` when fully sent.
    cursor: Option<(usize, usize)>,
    /// Whether we retransmit it on a timer (false for a final flight, RFC 6347 §4.2.4).
    pub timed: bool,
    /// DTLS 1.3: which fragment went out in which record (RFC 9147 §7.2: "this requires
    /// implementations to track which messages appear in which records"). Empty in 1.2.
    records: Vec<(RecordNumber, usize, u32, u32)>,
    /// DTLS 1.3: byte ranges of each item the peer acknowledged; retransmissions skip them.
    acked: Vec<Vec<(u32, u32)>>,
}

/// Records remembered per flight; older ones are forgotten (their ACK then only misses).
const MAX_TRACKED_RECORDS: usize = 256;

impl Flight {
    /// Forgets the previous flight (the peer answered it).
    pub fn clear(&mut self) {
        self.items.clear();
        self.cursor = None;
        self.timed = false;
        self.records = Vec::new();
        self.acked = Vec::new();
    }

    /// Notes that `piece` went out in record `rn`.
    pub fn record_sent(&mut self, rn: RecordNumber, piece: &Piece) {
        if self.records.len() >= MAX_TRACKED_RECORDS {
            self.records.remove(0);
        }
        self.records
            .push((rn, piece.item, piece.off as u32, piece.len as u32));
    }

    /// Takes an ACK (RFC 9147 §7.2): the fragments in the records it names are not sent
    /// again. Returns true when the whole flight is acknowledged.
    pub fn ack(&mut self, acked: &[RecordNumber]) -> bool {
        if self.acked.len() < self.items.len() {
            self.acked.resize(self.items.len(), Vec::new());
        }
        for (rn, item, off, len) in &self.records {
            if acked.contains(rn) {
                if let Some(a) = self.acked.get_mut(*item) {
                    add_range(a, (*off, *off + *len));
                }
            }
        }
        (0..self.items.len()).all(|i| self.item_acked(i))
    }

    /// True once any record was acknowledged since the flight began.
    pub fn any_acked(&self) -> bool {
        self.acked.iter().any(|a| !a.is_empty())
    }

    fn item_acked(&self, i: usize) -> bool {
        let Some(a) = self.acked.get(i) else {
            return false;
        };
        match self.items.get(i) {
            Some(FlightItem::Handshake { body, .. }) => {
                !a.is_empty() && a[0].0 == 0 && a[0].1 as usize >= body.len()
            }
            _ => !a.is_empty(),
        }
    }

    /// Moves the cursor past everything acknowledged; `None` when nothing is left.
    fn skip_acked(&mut self) {
        while let Some((i, off)) = self.cursor {
            if i >= self.items.len() {
                self.cursor = None;
                return;
            }
            if self.item_acked(i) {
                self.cursor = (i + 1 < self.items.len()).then_some((i + 1, 0));
                continue;
            }
            let next = self
                .acked
                .get(i)
                .and_then(|a| a.iter().find(|r| r.0 as usize <= off && off < r.1 as usize));
            match next {
                Some(r) => self.cursor = Some((i, r.1 as usize)),
                None => return,
            }
        }
    }

    /// True when the flight holds no messages.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Appends a message; `start` (re)sends the flight.
    pub fn push(&mut self, item: FlightItem) {
        self.items.push(item);
    }

    /// (Re)starts transmission from the first message.
    pub fn start(&mut self) {
        self.cursor = (!self.items.is_empty()).then_some((0, 0));
    }

    /// The first handshake message of the flight: its type, message_seq and body.
    pub fn first_handshake(&self) -> Option<(HandshakeType, u16, &[u8])> {
        self.items.iter().find_map(|i| match i {
            FlightItem::Handshake {
                msg_type,
                msg_seq,
                body,
                ..
            } => Some((*msg_type, *msg_seq, &body[..])),
            _ => None,
        })
    }

    /// True when the next piece starts a new transmission of the whole flight.
    pub fn at_start(&self) -> bool {
        self.cursor == Some((0, 0))
    }

    /// True while part of the flight is still to be written.
    pub fn pending(&self) -> bool {
        self.cursor.is_some()
    }

    /// The epoch of the next piece (past what the peer acknowledged, so that the caller sizes
    /// the record for the epoch it will really be sealed in).
    pub fn next_epoch(&mut self) -> Option<Epoch> {
        self.skip_acked();
        let (i, _) = self.cursor?;
        self.items.get(i).map(FlightItem::epoch)
    }

    /// Takes the next piece whose record payload fits `max_payload` bytes. Returns `None` when
    /// nothing useful fits (the caller starts a new datagram) or the flight is done.
    pub fn next_piece(&mut self, max_payload: usize) -> Option<Piece> {
        self.skip_acked();
        let (i, off) = self.cursor?;
        // Stop short of the next acknowledged range: it need not go again.
        let acked_from = self
            .acked
            .get(i)
            .and_then(|a| a.iter().map(|r| r.0 as usize).filter(|s| *s > off).min());
        let item = self.items.get(i)?;
        let (piece, done) = match item {
            FlightItem::ChangeCipherSpec { epoch } => {
                if max_payload < 1 {
                    return None;
                }
                (
                    Piece {
                        item: i,
                        off: 0,
                        len: 0,
                        content_type: ContentType::ChangeCipherSpec,
                        epoch: *epoch,
                        payload: vec![1],
                    },
                    true,
                )
            }
            FlightItem::Handshake {
                epoch,
                msg_type,
                msg_seq,
                body,
            } => {
                let end = acked_from.unwrap_or(body.len()).min(body.len());
                let left = end.saturating_sub(off);
                let room = max_payload.checked_sub(HANDSHAKE_HEADER_LEN)?;
                // A fragment of nothing is only meaningful for an empty message.
                if room == 0 && left > 0 {
                    return None;
                }
                let n = left.min(room);
                let mut payload = Vec::with_capacity(HANDSHAKE_HEADER_LEN + n);
                HandshakeHeader {
                    msg_type: *msg_type,
                    length: body.len() as u32,
                    msg_seq: *msg_seq,
                    frag_off: off as u32,
                    frag_len: n as u32,
                }
                .encode(&mut payload);
                payload.extend_from_slice(&body[off..off + n]);
                let piece = Piece {
                    item: i,
                    off,
                    len: n,
                    content_type: ContentType::Handshake,
                    epoch: *epoch,
                    payload,
                };
                if off + n < body.len() {
                    self.cursor = Some((i, off + n));
                    return Some(piece);
                }
                (piece, true)
            }
        };
        if done {
            self.cursor = (i + 1 < self.items.len()).then_some((i + 1, 0));
        }
        Some(piece)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by fuzzing: with the first item (epoch 0) acknowledged, the next piece comes from
    /// an epoch-2 item, and `next_epoch` must say so before the caller sizes the record by it
    /// (a plaintext header is smaller than a protected record's overhead: the record then went
    /// over the MTU).
    #[test]
    fn next_epoch_skips_what_was_acknowledged() {
        let mut f = Flight::default();
        f.push(FlightItem::Handshake {
            epoch: 0,
            msg_type: HandshakeType::ServerHello,
            msg_seq: 1,
            body: vec![1; 40],
        });
        f.push(FlightItem::Handshake {
            epoch: 2,
            msg_type: HandshakeType::EncryptedExtensions,
            msg_seq: 2,
            body: vec![2; 40],
        });
        f.start();
        let first = f.next_piece(200).unwrap();
        let rn = RecordNumber {
            epoch: 0,
            sequence_number: 7,
        };
        f.record_sent(rn, &first);
        assert!(!f.ack(&[rn]));
        f.start();
        assert_eq!(f.next_epoch(), Some(2));
        assert_eq!(f.next_piece(200).unwrap().epoch, 2);
    }

    #[test]
    fn fragments_and_restarts() {
        let mut f = Flight::default();
        f.push(FlightItem::Handshake {
            epoch: 0,
            msg_type: HandshakeType::Certificate,
            msg_seq: 3,
            body: (0..100u8).collect(),
        });
        f.push(FlightItem::Handshake {
            epoch: 0,
            msg_type: HandshakeType::ServerHelloDone,
            msg_seq: 4,
            body: vec![],
        });
        f.push(FlightItem::ChangeCipherSpec { epoch: 0 });
        f.start();
        let mut got = Vec::new();
        while let Some(p) = f.next_piece(12 + 40) {
            got.push(p);
        }
        assert_eq!(got.len(), 5);
        assert_eq!(got[2].payload.len(), 12 + 20);
        assert_eq!(got[3].payload.len(), 12);
        assert_eq!(got[4].content_type, ContentType::ChangeCipherSpec);
        assert!(!f.pending());
        f.start();
        assert!(
            f.next_piece(12).is_none(),
            "no room for a byte of a nonempty message"
        );
    }
}
