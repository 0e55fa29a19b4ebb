//! The epoch table and the one way a protected record gets in or out.
//!
//! Every received record that has keys goes through [`RecordLayer::open_with`]: replay check,
//! then the AEAD open, then the window update, in that order and in this one place. The window
//! moves only for a record that authenticated (RFC 6347 §4.1.2.6, RFC 9147 §4.5.1), so a forger
//! cannot push genuine records out of it; a failed open counts towards the key's forgery limit
//! (RFC 9147 §4.5.3). Records of the next epoch that arrive before its keys are held here,
//! within a bound, and replayed when the keys are installed.

use super::epoch::{ReadEpoch, WriteEpoch};
use super::protect12::RecordCipher;
use crate::crypto::CryptoError;
use crate::error::Error;
use crate::msgs::enums::ContentType;
use crate::msgs::record::{RecordHeader, HEADER_LEN};
use crate::types::Epoch;

/// What became of a record offered to [`RecordLayer::open_with`].
#[derive(Debug)]
pub(crate) enum Opened<T> {
    /// It authenticated; the window now covers it.
    Ok(T),
    /// Its sequence number was seen before or lies left of the window: dropped unopened.
    Replayed,
    /// It failed authentication: dropped and counted against the key.
    AuthFailed,
}

/// Our write epochs, our read epochs with keys, and records waiting for their keys.
#[derive(Debug)]
pub(crate) struct RecordLayer {
    /// Write epochs in ascending order; the last one carries application data.
    write: Vec<WriteEpoch>,
    /// Read epochs with keys (epoch 0 is plaintext and has none).
    read: Vec<ReadEpoch>,
    /// Whole records of the next read epoch that arrived before its keys.
    deferred: Vec<Vec<u8>>,
    /// The epoch the peer reads us in, for alerts: a DTLS 1.2 server installs epoch 1 at
    /// ClientKeyExchange, but the peer expects it only after our ChangeCipherSpec.
    pub alert_epoch: Epoch,
    /// The read keys changed since the owner last looked: deferred records may now open.
    pub keys_changed: bool,
}

impl RecordLayer {
    /// A layer with plaintext epoch 0 for writing and no read keys.
    pub fn new() -> Self {
        RecordLayer {
            // DTLS 1.2 has two write epochs (0 and 1) and one read epoch with keys: exact
            // capacities, since a 600-byte epoch would otherwise get room for four.
            write: {
                let mut w = Vec::with_capacity(2);
                w.push(WriteEpoch::new(0, None));
                w
            },
            read: Vec::with_capacity(1),
            deferred: Vec::new(),
            alert_epoch: 0,
            keys_changed: false,
        }
    }

    /// Starts sending under `epoch` with `cipher`.
    pub fn install_write(&mut self, epoch: Epoch, cipher: RecordCipher) {
        self.write.push(WriteEpoch::new(epoch, Some(cipher)));
    }

    /// Starts accepting `epoch` with `cipher`.
    pub fn install_read(&mut self, epoch: Epoch, cipher: RecordCipher) {
        self.read.push(ReadEpoch::new(epoch, cipher));
        self.keys_changed = true;
    }

    /// Where `epoch`'s read keys sit, if we have them.
    pub fn read_index(&self, epoch: Epoch) -> Option<usize> {
        self.read.iter().position(|r| r.epoch == epoch)
    }

    /// The epoch after the newest one we can read.
    pub fn next_read_epoch(&self) -> Epoch {
        self.read.last().map_or(1, |r| r.epoch.saturating_add(1))
    }

    /// Bytes a record in read epoch `idx` carries beyond its payload (nonce and tag).
    pub fn read_overhead(&self, idx: usize) -> usize {
        self.read.get(idx).map_or(0, |r| r.cipher.overhead())
    }

    /// Bytes the current (newest) write epoch adds to a payload.
    pub fn write_overhead(&self) -> usize {
        self.write.last().map_or(0, |w| w.overhead())
    }

    /// The newest write epoch: the one application data goes out in.
    pub fn current_write_epoch(&self) -> Epoch {
        self.write.last().map_or(0, |w| w.epoch)
    }

    /// Never reuse a plaintext sequence number below `seq` (a stateless DTLS 1.2 server
    /// continues from the ClientHello's record number, RFC 6347 §4.2.1).
    pub fn skip_plaintext_seq_to(&mut self, seq: u64) {
        if let Some(w) = self.write.first_mut() {
            w.skip_to(seq);
        }
    }

    /// Holds a record of the next epoch until its keys arrive, up to `max` records; false when
    /// it cannot be held.
    pub fn defer(&mut self, epoch: Epoch, whole: &[u8], max: usize) -> bool {
        if epoch == self.next_read_epoch() && self.deferred.len() < max {
            self.deferred.push(whole.to_vec());
            true
        } else {
            false
        }
    }

    /// The held records, handed back for another try once keys changed.
    pub fn take_deferred(&mut self) -> Vec<Vec<u8>> {
        std::mem::take(&mut self.deferred)
    }

    /// The one receive path for protected records: replay check, then `open` with the epoch's
    /// keys, then the window update only once it authenticated. An `Err` means the key's
    /// forgery limit (`max_auth_failures`) is reached and the association must end
    /// (RFC 9147 §4.5.3).
    pub fn open_with<T>(
        &mut self,
        idx: usize,
        seq: u64,
        max_auth_failures: u64,
        open: impl FnOnce(&mut RecordCipher) -> Result<T, CryptoError>,
    ) -> Result<Opened<T>, Error> {
        let Some(epoch) = self.read.get_mut(idx) else {
            return Ok(Opened::AuthFailed);
        };
        // Check before spending an AEAD open; update only after the record authenticates.
        if !epoch.window.check(seq) {
            return Ok(Opened::Replayed);
        }
        match open(&mut epoch.cipher) {
            Ok(v) => {
                epoch.window.update(seq);
                Ok(Opened::Ok(v))
            }
            Err(_) if epoch.cipher.auth_failures() >= max_auth_failures => Err(
                Error::KeyUsageLimit("too many records failed authentication (RFC 9147 §4.5.3)"),
            ),
            Err(_) => Ok(Opened::AuthFailed),
        }
    }

    fn write_epoch(&mut self, epoch: Epoch) -> Result<&mut WriteEpoch, Error> {
        self.write
            .iter_mut()
            .find(|w| w.epoch == epoch)
            .ok_or(Error::Internal("no keys for write epoch"))
    }

    /// Bytes a record in write epoch `epoch` adds to its payload.
    pub fn overhead_of(&mut self, epoch: Epoch) -> Result<usize, Error> {
        Ok(self.write_epoch(epoch)?.overhead())
    }

    /// Appends one record of `payload`, protected under `epoch`, to `out`.
    pub fn seal_record(
        &mut self,
        out: &mut Vec<u8>,
        ct: ContentType,
        epoch: Epoch,
        payload: &[u8],
    ) -> Result<(), Error> {
        let w = self.write_epoch(epoch)?;
        let seq = w
            .take_seq()
            .ok_or(Error::Internal("sequence numbers exhausted"))?;
        let hdr = header12(ct, epoch, seq, payload.len());
        match &mut w.cipher {
            None => {
                crate::msgs::codec::Codec::encode(&hdr, out);
                out.extend_from_slice(payload);
            }
            Some(c) => {
                let start = out.len();
                let total = HEADER_LEN + payload.len() + c.overhead();
                out.resize(start + total, 0);
                let p = start + HEADER_LEN + c.prefix_len();
                out[p..p + payload.len()].copy_from_slice(payload);
                c.seal(hdr, &mut out[start..], payload.len())
                    .map_err(seal_error)?;
            }
        }
        Ok(())
    }

    /// Seals one application record of `len` bytes into `buf` at the current write epoch:
    /// `fill` writes the plaintext where it is then encrypted in place. `BufferTooSmall`
    /// touches nothing.
    pub fn seal_app(
        &mut self,
        len: usize,
        buf: &mut [u8],
        fill: impl FnOnce(&mut [u8]),
    ) -> Result<usize, Error> {
        let w = self
            .write
            .last_mut()
            .ok_or(Error::Internal("no write epoch"))?;
        let needed = HEADER_LEN + len + w.overhead();
        if buf.len() < needed {
            return Err(Error::BufferTooSmall { needed });
        }
        let epoch = w.epoch;
        if w.cipher.is_none() {
            return Err(Error::Internal("application data without keys"));
        }
        let seq = w
            .take_seq()
            .ok_or(Error::Internal("sequence numbers exhausted"))?;
        let Some(c) = w.cipher.as_mut() else {
            return Err(Error::Internal("application data without keys"));
        };
        let p = HEADER_LEN + c.prefix_len();
        fill(&mut buf[p..p + len]);
        c.seal(
            header12(ContentType::ApplicationData, epoch, seq, 0),
            buf,
            len,
        )
        .map_err(seal_error)
    }
}

/// A DTLS 1.2 header. Epochs past 2^16 cannot occur in 1.2 (there is no key update), so the
/// truncation only restates the wire width.
fn header12(ct: ContentType, epoch: Epoch, seq: u64, len: usize) -> RecordHeader {
    RecordHeader {
        content_type: ct,
        version: crate::msgs::enums::ProtocolVersion::Dtls12.get(),
        epoch: epoch as u16,
        seq,
        length: len as u16,
    }
}

fn seal_error(e: CryptoError) -> Error {
    match e {
        CryptoError::UsageLimit => {
            Error::KeyUsageLimit("AES-GCM confidentiality bound spent (RFC 9147 §4.5.3)")
        }
        _ => Error::Internal("seal failed"),
    }
}
