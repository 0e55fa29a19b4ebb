//! Outgoing flights (RFC 6347 §4.2.4): the messages we retransmit as a unit, and their
//! fragmentation to the MTU. Retransmissions re-fragment from scratch, so a smaller MTU takes
//! effect on the next attempt.

use crate::msgs::codec::Codec;
use crate::msgs::enums::{ContentType, HandshakeType};
use crate::msgs::handshake::{HandshakeHeader, HANDSHAKE_HEADER_LEN};
use crate::types::Epoch;

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
}

impl Flight {
    /// Forgets the previous flight (the peer answered it).
    pub fn clear(&mut self) {
        self.items.clear();
        self.cursor = None;
        self.timed = false;
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

    /// True while part of the flight is still to be written.
    pub fn pending(&self) -> bool {
        self.cursor.is_some()
    }

    /// The epoch of the next piece.
    pub fn next_epoch(&self) -> Option<Epoch> {
        let (i, _) = self.cursor?;
        self.items.get(i).map(FlightItem::epoch)
    }

    /// Takes the next piece whose record payload fits `max_payload` bytes. Returns `None` when
    /// nothing useful fits (the caller starts a new datagram) or the flight is done.
    pub fn next_piece(&mut self, max_payload: usize) -> Option<Piece> {
        let (i, off) = self.cursor?;
        let item = self.items.get(i)?;
        let (piece, done) = match item {
            FlightItem::ChangeCipherSpec { epoch } => {
                if max_payload < 1 {
                    return None;
                }
                (
                    Piece {
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
                let left = body.len().saturating_sub(off);
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
