//! The epoch table and the one way a protected record gets in or out.
//!
//! Every received record that has keys goes through [`RecordLayer::open_with`]: replay check,
//! then the AEAD open, then the window update, in that order and in this one place. The window
//! moves only for a record that authenticated (RFC 6347 §4.1.2.6, RFC 9147 §4.5.1), so a forger
//! cannot push genuine records out of it; a failed open counts towards the key's forgery limit
//! (RFC 9147 §4.5.3). Records of the next epoch that arrive before its keys are held here,
//! within a bound, and replayed when the keys are installed.

use super::epoch::{Cipher, ReadEpoch, WriteEpoch};
use super::protect12::RecordCipher;
use super::protect13::{Open13Error, RecordCipher13};
use crate::crypto::CryptoError;
use crate::error::Error;
use crate::msgs::enums::ContentType;
use crate::msgs::record::{RecordHeader, HEADER_LEN};
use crate::msgs::record13::{reconstruct_seq, UnifiedHeader, MAX_SENT_HEADER_LEN};
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
    /// (16 bits: only DTLS 1.2, whose epochs stop at 1, uses it; smaller keeps an
    /// association within its memory budget.)
    pub alert_epoch: u16,
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
        self.write
            .push(WriteEpoch::new(epoch, Some(Cipher::V12(Box::new(cipher)))));
    }

    /// Starts accepting `epoch` with `cipher`.
    pub fn install_read(&mut self, epoch: Epoch, cipher: RecordCipher) {
        self.read
            .push(ReadEpoch::new(epoch, Cipher::V12(Box::new(cipher))));
        self.keys_changed = true;
    }

    /// Starts sending under DTLS 1.3 `epoch`; older write epochs other than plaintext are
    /// dropped (nothing is ever resent under them: a flight is resealed in its own epoch,
    /// which is kept until the next one replaces it).
    pub fn install_write13(&mut self, epoch: Epoch, cipher: RecordCipher13) {
        // Keep epoch 0 (ClientHello, ServerHello retransmissions) and the handshake epoch
        // while the handshake may still be retransmitted; beyond that, two are enough.
        if self.write.len() >= 3 {
            self.write.remove(1);
        }
        self.write
            .push(WriteEpoch::new(epoch, Some(Cipher::V13(Box::new(cipher)))));
    }

    /// Starts accepting DTLS 1.3 `epoch`. Records of older epochs are still accepted until a
    /// third epoch replaces them: reordered records survive a key update (RFC 9147 §8).
    pub fn install_read13(&mut self, epoch: Epoch, cipher: RecordCipher13) {
        if self.read.len() >= 2 {
            self.read.remove(0);
        }
        self.read
            .push(ReadEpoch::new(epoch, Cipher::V13(Box::new(cipher))));
        self.keys_changed = true;
    }

    /// The full epoch of a DTLS 1.3 record from its two low bits, among the ones we can read.
    /// The rule of `reconstruct_epoch` (the newest held epoch with these low bits), applied
    /// to the table in place: this runs for every record received, which must not allocate.
    pub fn read_index13(&self, epoch_bits: u8) -> Option<usize> {
        self.read
            .iter()
            .enumerate()
            .filter(|(_, r)| r.epoch & 3 == u64::from(epoch_bits & 3))
            .max_by_key(|(_, r)| r.epoch)
            .map(|(i, _)| i)
    }

    /// Forgets DTLS 1.3 `epoch`'s keys in both directions, unless it is the newest one of a
    /// direction. For the handshake epoch once the peer acknowledged our last flight: no
    /// record of it is sent or expected again.
    pub fn retire13(&mut self, epoch: Epoch) {
        if self.newest_read_epoch() > epoch {
            self.read.retain(|r| r.epoch != epoch);
        }
        if self.current_write_epoch() > epoch {
            self.write.retain(|w| w.epoch != epoch);
        }
    }

    /// Forgets our DTLS 1.3 write `epoch`'s keys, unless it is the newest one.
    pub fn retire_write13(&mut self, epoch: Epoch) {
        if self.current_write_epoch() > epoch {
            self.write.retain(|w| w.epoch != epoch);
        }
    }

    /// The newest epoch we can read.
    pub fn newest_read_epoch(&self) -> Epoch {
        self.read.last().map_or(0, |r| r.epoch)
    }

    /// Whether the current write key has used up most of its AEAD budget (RFC 9147 §4.5.3),
    /// so that a DTLS 1.3 sender updates it before it runs out.
    pub fn write_near_limit(&self) -> bool {
        match self.write.last().and_then(|w| w.cipher.as_ref()) {
            Some(Cipher::V13(c)) => c.near_limit(),
            _ => false,
        }
    }

    /// The epoch of read slot `idx`.
    pub fn read_epoch_at(&self, idx: usize) -> Epoch {
        self.read.get(idx).map_or(0, |r| r.epoch)
    }

    /// Where `epoch`'s read keys sit, if we have them.
    pub fn read_index(&self, epoch: Epoch) -> Option<usize> {
        self.read.iter().position(|r| r.epoch == epoch)
    }

    /// The epoch after the newest one we can read.
    pub fn next_read_epoch(&self) -> Epoch {
        self.read.last().map_or(1, |r| r.epoch.saturating_add(1))
    }

    /// Bytes a record in read epoch `idx` carries beyond its payload, header included.
    pub fn read_overhead(&self, idx: usize) -> usize {
        self.read.get(idx).map_or(0, |r| r.cipher.record_overhead())
    }

    /// Bytes the current (newest) write epoch adds to a payload, header included.
    pub fn write_overhead(&self) -> usize {
        self.write
            .last()
            .map_or(HEADER_LEN, |w| w.record_overhead())
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

    /// Holds a DTLS 1.3 record we cannot read yet (its epoch bits name no keys we have: the
    /// handshake keys may come with a ServerHello still in flight), up to `max` records.
    pub fn defer_any(&mut self, whole: Vec<u8>, max: usize) -> bool {
        if self.deferred.len() < max {
            self.deferred.push(whole);
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
        let Cipher::V12(cipher) = &mut epoch.cipher else {
            return Ok(Opened::AuthFailed);
        };
        // Check before spending an AEAD open; update only after the record authenticates.
        if !epoch.window.check(seq) {
            return Ok(Opened::Replayed);
        }
        match open(cipher) {
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

    /// The DTLS 1.3 receive path, the same three steps: the record number is decrypted and the
    /// full sequence number rebuilt (RFC 9147 §4.2.2, §4.2.3), checked against the window,
    /// then `open` gets the cipher, the sequence number and the additional data (the header as
    /// it was before record number encryption); the window moves only if that authenticates.
    /// A record without a content type is fatal (RFC 8446 §5.4): it authenticated.
    pub fn open13_with<T>(
        &mut self,
        idx: usize,
        header: &UnifiedHeader,
        header_bytes: &mut [u8],
        encrypted: &[u8],
        max_auth_failures: u64,
        open: impl FnOnce(&mut RecordCipher13, u64, &[u8]) -> Result<T, Open13Error>,
    ) -> Result<Opened<(u64, T)>, Error> {
        let Some(epoch) = self.read.get_mut(idx) else {
            return Ok(Opened::AuthFailed);
        };
        let Cipher::V13(cipher) = &mut epoch.cipher else {
            return Ok(Opened::AuthFailed);
        };
        let result = cipher
            .decrypt_record_number(header, header_bytes, encrypted)
            .and_then(|bits| {
                let seq = reconstruct_seq(bits, header.seq_width(), epoch.window.highest());
                if !epoch.window.check(seq) {
                    return Ok(None);
                }
                open(cipher, seq, header_bytes).map(|v| Some((seq, v)))
            });
        match result {
            Ok(Some((seq, v))) => {
                epoch.window.update(seq);
                Ok(Opened::Ok((seq, v)))
            }
            Ok(None) => Ok(Opened::Replayed),
            Err(Open13Error::NoContentType) => {
                Err(Error::unexpected("protected record without a content type"))
            }
            Err(Open13Error::Drop) if cipher.auth_failures() >= max_auth_failures => Err(
                Error::KeyUsageLimit("too many records failed authentication (RFC 9147 §4.5.3)"),
            ),
            Err(Open13Error::Drop) => Ok(Opened::AuthFailed),
        }
    }

    fn write_epoch(&mut self, epoch: Epoch) -> Result<&mut WriteEpoch, Error> {
        self.write
            .iter_mut()
            .find(|w| w.epoch == epoch)
            .ok_or(Error::Internal("no keys for write epoch"))
    }

    /// Bytes a record in write epoch `epoch` adds to its payload, header included.
    pub fn overhead_of(&mut self, epoch: Epoch) -> Result<usize, Error> {
        Ok(self.write_epoch(epoch)?.record_overhead())
    }

    /// Appends one record of `payload`, protected under `epoch`, to `out`; returns its
    /// sequence number.
    pub fn seal_record(
        &mut self,
        out: &mut Vec<u8>,
        ct: ContentType,
        epoch: Epoch,
        payload: &[u8],
    ) -> Result<u64, Error> {
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
            Some(Cipher::V12(c)) => {
                let start = out.len();
                let total = HEADER_LEN + payload.len() + c.overhead();
                out.resize(start + total, 0);
                let p = start + HEADER_LEN + c.prefix_len();
                out[p..p + payload.len()].copy_from_slice(payload);
                c.seal(hdr, &mut out[start..], payload.len())
                    .map_err(seal_error)?;
            }
            Some(Cipher::V13(c)) => {
                let start = out.len();
                let total = payload.len() + RecordCipher13::overhead(0);
                out.resize(start + total, 0);
                let p = start + MAX_SENT_HEADER_LEN;
                out[p..p + payload.len()].copy_from_slice(payload);
                c.seal(epoch, seq, ct, &mut out[start..], payload.len(), 0)
                    .map_err(seal_error)?;
            }
        }
        Ok(seq)
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
        let needed = len + w.record_overhead();
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
        match w.cipher.as_mut() {
            Some(Cipher::V12(c)) => {
                let p = HEADER_LEN + c.prefix_len();
                fill(&mut buf[p..p + len]);
                c.seal(
                    header12(ContentType::ApplicationData, epoch, seq, 0),
                    buf,
                    len,
                )
                .map_err(seal_error)
            }
            Some(Cipher::V13(c)) => {
                fill(&mut buf[MAX_SENT_HEADER_LEN..MAX_SENT_HEADER_LEN + len]);
                c.seal(epoch, seq, ContentType::ApplicationData, buf, len, 0)
                    .map_err(seal_error)
            }
            None => Err(Error::Internal("application data without keys")),
        }
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
