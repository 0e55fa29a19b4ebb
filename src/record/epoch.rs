//! Per-epoch record state: sequence numbers, keys and the replay window.

use super::protect12::RecordCipher;
use super::replay::ReplayWindow;
use crate::msgs::record::MAX_SEQ;
use crate::types::Epoch;

/// Our sending side of one epoch.
#[derive(Debug)]
pub struct WriteEpoch {
    /// The epoch number every record header carries.
    pub epoch: Epoch,
    next_seq: u64,
    /// `None` for epoch 0 (plaintext).
    pub cipher: Option<RecordCipher>,
}

impl WriteEpoch {
    /// Starts at sequence number 0; `cipher` is `None` for epoch 0 only.
    pub fn new(epoch: Epoch, cipher: Option<RecordCipher>) -> Self {
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

    /// Bytes a record grows by beyond header and payload (0 in plaintext).
    pub fn overhead(&self) -> usize {
        self.cipher.as_ref().map_or(0, |c| c.overhead())
    }
}

/// Our receiving side of one epoch.
#[derive(Debug)]
pub struct ReadEpoch {
    /// The epoch number records must carry.
    pub epoch: Epoch,
    /// The keys that open its records.
    pub cipher: RecordCipher,
    /// The sequence numbers already accepted (RFC 6347 §4.1.2.6).
    pub window: ReplayWindow,
}

impl ReadEpoch {
    /// A fresh epoch: nothing accepted yet.
    pub fn new(epoch: Epoch, cipher: RecordCipher) -> Self {
        ReadEpoch {
            epoch,
            cipher,
            window: ReplayWindow::new(),
        }
    }
}
