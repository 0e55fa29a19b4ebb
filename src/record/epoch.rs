//! Per-epoch record state: sequence numbers, keys and the replay window.

use super::protect12::RecordCipher;
use super::protect13::RecordCipher13;
use super::replay::ReplayWindow;
use crate::msgs::record::HEADER_LEN;
use crate::msgs::record::MAX_SEQ;
use crate::types::Epoch;

/// One epoch's keys in the record format of its version.
///
/// Both ciphers are boxed (~600 B for 1.2, ~860 B for 1.3, almost all of it ring's expanded
/// keys): the epoch tables then hold small slots, so a slot without keys (1.2's plaintext write
/// epoch 0, 1.3's epochs 0 and 2 next to 3) or spare capacity costs a few dozen bytes rather
/// than a whole cipher. One allocation per installed key against ~0.5 KiB (1.2) and ~4.7 KiB
/// (1.3) less per established association.
#[derive(Debug)]
pub enum Cipher {
    /// DTLS 1.2: the 13-byte header, explicit or implicit nonce.
    V12(Box<RecordCipher>),
    /// DTLS 1.3: the unified header, record number encryption, inner content type.
    V13(Box<RecordCipher13>),
}

impl Cipher {
    /// Bytes a record adds around its payload, header included.
    pub fn record_overhead(&self) -> usize {
        match self {
            Cipher::V12(c) => HEADER_LEN + c.overhead(),
            Cipher::V13(_) => RecordCipher13::overhead(0),
        }
    }

    /// Records that failed authentication under this key.
    pub fn auth_failures(&self) -> u64 {
        match self {
            Cipher::V12(c) => c.auth_failures(),
            Cipher::V13(c) => c.auth_failures(),
        }
    }
}

/// Our sending side of one epoch.
#[derive(Debug)]
pub struct WriteEpoch {
    /// The epoch number every record header carries.
    pub epoch: Epoch,
    next_seq: u64,
    /// `None` for epoch 0 (plaintext).
    pub cipher: Option<Cipher>,
}

impl WriteEpoch {
    /// Starts at sequence number 0; `cipher` is `None` for epoch 0 only.
    pub fn new(epoch: Epoch, cipher: Option<Cipher>) -> Self {
        WriteEpoch {
            epoch,
            next_seq: 0,
            cipher,
        }
    }

    /// Takes the next sequence number; `None` once the 48-bit space is spent (the association
    /// must then end: RFC 6347 §4.1 forbids wrapping).
    pub fn take_seq(&mut self) -> Option<u64> {
        if self.next_seq > MAX_SEQ {
            return None;
        }
        let s = self.next_seq;
        self.next_seq += 1;
        Some(s)
    }

    /// Never reuse a number below `seq` (a stateless server continues from the ClientHello's
    /// record number, RFC 6347 §4.2.1).
    pub fn skip_to(&mut self, seq: u64) {
        self.next_seq = self.next_seq.max(seq);
    }

    /// Bytes a record adds around its payload, header included (the 13-byte DTLSPlaintext
    /// header alone in plaintext).
    pub fn record_overhead(&self) -> usize {
        self.cipher
            .as_ref()
            .map_or(HEADER_LEN, Cipher::record_overhead)
    }
}

/// Our receiving side of one epoch.
#[derive(Debug)]
pub struct ReadEpoch {
    /// The epoch number records must carry.
    pub epoch: Epoch,
    /// The keys that open its records.
    pub cipher: Cipher,
    /// The sequence numbers already accepted (RFC 6347 §4.1.2.6).
    pub window: ReplayWindow,
}

impl ReadEpoch {
    /// A fresh epoch: nothing accepted yet.
    pub fn new(epoch: Epoch, cipher: Cipher) -> Self {
        ReadEpoch {
            epoch,
            cipher,
            window: ReplayWindow::new(),
        }
    }
}
