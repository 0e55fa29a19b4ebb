//! Handshake message reassembly (RFC 6347 §4.2.3, RFC 9147 §5.5).
//!
//! DTLS splits handshake messages into fragments that may arrive in any
//! order, duplicated, overlapping, or not at all. The [`Reassembler`] buffers
//! fragments per `message_seq`, and releases complete messages strictly in
//! `message_seq` order (RFC 6347 §4.2.2: messages are processed in sequence
//! order; future ones may be queued).
//!
//! Everything here may come from an unauthenticated peer (the first flights
//! are in epoch 0), so memory is bounded three ways: by the largest message
//! accepted, by the total bytes buffered, and by how far ahead of the next
//! expected `message_seq` anything is kept. The received-ranges list of each
//! message is capped at [`MAX_RANGES`] disjoint intervals.

use std::collections::BTreeMap;

/// Maximum disjoint received byte ranges kept per message. A peer that sends
/// many tiny non-adjacent fragments could otherwise grow the range list
/// without bound; legitimate senders use contiguous fragments
/// (RFC 6347 §4.2.3 "N contiguous data ranges"), which coalesce.
pub const MAX_RANGES: usize = 32;

/// One handshake fragment as parsed off the wire (the 12-byte DTLS handshake
/// header, RFC 6347 §4.2.2 / RFC 9147 §5.2, plus its bytes and the epoch of
/// the record that carried it).
#[derive(Debug, Clone, Copy)]
pub struct Fragment<'a> {
    /// `msg_type` (`HandshakeType`) of the message.
    pub msg_type: u8,
    /// `length`: the full message body length, same in every fragment.
    pub length: u32,
    /// `message_seq`.
    pub msg_seq: u16,
    /// `fragment_offset`.
    pub frag_off: u32,
    /// `fragment_length`.
    pub frag_len: u32,
    /// Epoch of the record carrying the fragment.
    pub epoch: u16,
    /// The fragment bytes; must be exactly `frag_len` long.
    pub data: &'a [u8],
}

/// A complete handshake message, released in `message_seq` order.
///
/// `body` is the reassembled message body (without any header); callers
/// rebuild the TLS-style 4-byte header for the transcript (RFC 9147 §5.5:
/// the transcript uses complete messages without the DTLS-only fields).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// `HandshakeType`.
    pub msg_type: u8,
    /// `message_seq` of the message.
    pub msg_seq: u16,
    /// Epoch the message's fragments arrived in.
    pub epoch: u16,
    /// The reassembled body, `length` bytes.
    pub body: Vec<u8>,
}

/// Outcome of [`Reassembler::insert`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Insert {
    /// Stored (or completed a message); call `pop`.
    Accepted,
    /// `msg_seq` is below `next_seq`: the peer retransmitted something
    /// already delivered (a signal to retransmit our last flight,
    /// RFC 6347 §4.2.4).
    Old,
    /// Nothing new: every byte of this fragment is already held (and equal),
    /// or it is an empty fragment of a non-empty message.
    Duplicate,
    /// The fragment was discarded and nothing held changed.
    Dropped(DropReason),
}

/// Why [`Reassembler::insert`] discarded a fragment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// `data.len() != frag_len`, or `frag_off + frag_len > length`.
    Malformed,
    /// `length > max_message_len`.
    TooLarge,
    /// `msg_seq` too far ahead of `next_seq` (beyond `max_ahead`).
    TooFarAhead,
    /// Disagrees with what is held for this `msg_seq`: `msg_type`, `length`
    /// or epoch differ.
    Inconsistent,
    /// Overlaps held bytes with different contents: the whole fragment is
    /// dropped and what is held is kept (RFC 9147 §5.5: "Senders MUST NOT
    /// change handshake message bytes upon retransmission. Receivers MAY
    /// check that retransmitted bytes are identical and SHOULD abort the
    /// handshake with an `illegal_parameter` alert").
    ConflictingBytes,
    /// Accepting would exceed `max_buffered_bytes`, or the message's
    /// received-ranges list would exceed [`MAX_RANGES`].
    BufferFull,
}

/// Reassembly state of one `message_seq`.
#[derive(Debug, Clone)]
struct Slot {
    msg_type: u8,
    length: u32,
    epoch: u16,
    /// Allocated to `length` bytes on the first fragment; only bytes inside
    /// `ranges` are meaningful.
    body: Vec<u8>,
    /// Received byte ranges `[start, end)`: sorted, non-empty, and neither
    /// overlapping nor touching (touching ranges are coalesced), so at most
    /// [`MAX_RANGES`] entries.
    ranges: Vec<(u32, u32)>,
    /// A fragment disagreeing with this slot was refused. Either the peer is broken or
    /// someone forged the bytes held here; [`Reassembler::clear_conflicted`] lets the next
    /// retransmission start afresh so a forgery cannot block the handshake for good.
    conflicted: bool,
}

impl Slot {
    /// A zero-length message is complete as soon as its slot exists (it is
    /// created only by its single empty fragment); otherwise one range must
    /// cover the whole body.
    fn is_complete(&self) -> bool {
        self.length == 0 || self.ranges.as_slice() == [(0, self.length)]
    }

    /// Adds a fragment `[start, end)` that passed the header checks.
    fn merge(&mut self, frag: &Fragment<'_>, start: u32, end: u32) -> Insert {
        // RFC 6347 §4.2.3: "The length field in all messages is the same as
        // the length field of the original message"; the type and epoch of
        // one message cannot change between fragments either.
        if frag.msg_type != self.msg_type || frag.length != self.length || frag.epoch != self.epoch
        {
            return Insert::Dropped(DropReason::Inconsistent);
        }
        if start == end {
            // Carries no bytes: nothing to add (for a zero-length message it
            // is a repeat of the one fragment already held).
            return Insert::Duplicate;
        }
        // Overlapping bytes must be identical (RFC 9147 §5.5); check all
        // overlaps before changing anything so a conflict leaves the slot
        // untouched.
        for &(a, b) in &self.ranges {
            let lo = a.max(start);
            let hi = b.min(end);
            if lo >= hi {
                continue;
            }
            let held = self.body.get(to_usize(lo)..to_usize(hi));
            // lo >= start by construction; saturating keeps it panic-free anyway.
            let new = frag
                .data
                .get(to_usize(lo.saturating_sub(start))..to_usize(hi.saturating_sub(start)));
            match (held, new) {
                (Some(h), Some(n)) if h == n => {}
                _ => return Insert::Dropped(DropReason::ConflictingBytes),
            }
        }
        if self.ranges.iter().any(|&(a, b)| a <= start && end <= b) {
            return Insert::Duplicate;
        }
        // Coalesce with every range that overlaps or touches [start, end).
        let mut merged = (start, end);
        let mut out = Vec::with_capacity(self.ranges.len().saturating_add(1));
        let mut placed = false;
        for &(a, b) in &self.ranges {
            if b < start {
                out.push((a, b));
            } else if a > end {
                if !placed {
                    out.push(merged);
                    placed = true;
                }
                out.push((a, b));
            } else {
                merged = (merged.0.min(a), merged.1.max(b));
            }
        }
        if !placed {
            out.push(merged);
        }
        if out.len() > MAX_RANGES {
            return Insert::Dropped(DropReason::BufferFull);
        }
        match self.body.get_mut(to_usize(start)..to_usize(end)) {
            Some(dst) if dst.len() == frag.data.len() => dst.copy_from_slice(frag.data),
            // Unreachable after the header checks; refuse rather than panic.
            _ => return Insert::Dropped(DropReason::Malformed),
        }
        self.ranges = out;
        Insert::Accepted
    }
}

/// `u32` to `usize`. Only called on values already bounded by a buffer
/// length, so the fallback never triggers on supported (>= 32-bit) targets;
/// it saturates to make any slice lookup fail instead of panicking.
fn to_usize(v: u32) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

/// Bounded-memory handshake reassembly buffer (RFC 6347 §4.2.3,
/// RFC 9147 §5.5).
///
/// Feed every handshake fragment to [`Reassembler::insert`] and drain
/// complete messages with [`Reassembler::pop`]. Messages come out in
/// `message_seq` order starting at [`Reassembler::next_seq`].
///
/// Memory is bounded by: at most `max_ahead + 1` messages held (those with
/// `message_seq` in `next_seq ..= next_seq + max_ahead`), at most
/// `max_buffered_bytes` bytes of message bodies in total (each message
/// counts its full `length` from its first fragment), and at most
/// [`MAX_RANGES`] ranges per message. `max_buffered_bytes` should be at
/// least `max_message_len` or the largest acceptable message can never be
/// buffered.
///
/// Liveness: when the budget is exhausted by messages *after* the one a
/// fragment belongs to, those later messages are evicted to make room
/// (highest `message_seq` first). Otherwise a peer's (or attacker's) future
/// messages could fill the budget and the in-order message could never be
/// buffered; the evicted ones come back with the peer's next retransmission
/// (RFC 6347 §4.2.4).
///
/// Sequence space: `message_seq` is 16 bits and never wraps
/// (RFC 6347 §4.2.2). After message 65535 has been popped the reassembler is
/// exhausted: [`Reassembler::is_exhausted`] turns true and every fragment is
/// reported as [`Insert::Old`].
#[derive(Debug, Clone)]
pub struct Reassembler {
    max_message_len: usize,
    max_buffered_bytes: usize,
    max_ahead: u16,
    /// Next `message_seq` to release. `u32` so it can step past 65535 into
    /// the exhausted state instead of wrapping.
    next: u32,
    /// Held messages, keyed by `message_seq`; all keys lie in
    /// `next ..= next + max_ahead`.
    slots: BTreeMap<u16, Slot>,
    /// Sum of `length` over `slots`.
    buffered: usize,
}

impl Reassembler {
    /// Creates an empty reassembler expecting `message_seq` 0.
    ///
    /// `max_message_len`: largest handshake message accepted (e.g. 64 KiB);
    /// `max_buffered_bytes`: total bytes of partially received or
    /// not-yet-popped messages (e.g. 128 KiB); `max_ahead`: how many messages
    /// beyond `next_seq` may be buffered (e.g. 8).
    pub fn new(max_message_len: usize, max_buffered_bytes: usize, max_ahead: u16) -> Self {
        Self {
            max_message_len,
            max_buffered_bytes,
            max_ahead,
            next: 0,
            slots: BTreeMap::new(),
            buffered: 0,
        }
    }

    /// The next `message_seq` [`Reassembler::pop`] will release
    /// (`u16::MAX` once exhausted, see [`Reassembler::is_exhausted`]).
    pub fn next_seq(&self) -> u16 {
        u16::try_from(self.next).unwrap_or(u16::MAX)
    }

    /// True once message 65535 has been popped: the 16-bit `message_seq`
    /// space is used up and nothing more can be delivered.
    pub fn is_exhausted(&self) -> bool {
        self.next > u32::from(u16::MAX)
    }

    /// Sets the next expected `message_seq` and drops any buffered state.
    ///
    /// Used by a server after a stateless cookie exchange: the first expected
    /// `message_seq` is the `ClientHello`'s, since a stateless server kept no
    /// counter while the client's messages advanced (in the RFC 6347 §4.2.2
    /// example the `ClientHello` with cookie has seq=1, and so does the
    /// `ServerHello` answering it).
    pub fn set_next_seq(&mut self, seq: u16) {
        self.next = u32::from(seq);
        self.clear();
    }

    /// Offers one fragment. See [`Insert`] and [`DropReason`] for outcomes;
    /// a dropped fragment never changes the held state.
    pub fn insert(&mut self, frag: Fragment<'_>) -> Insert {
        // Header sanity first: these say nothing about our state.
        let (start, end) = match frag.frag_off.checked_add(frag.frag_len) {
            Some(end) if end <= frag.length => (frag.frag_off, end),
            _ => return Insert::Dropped(DropReason::Malformed),
        };
        if usize::try_from(frag.frag_len).ok() != Some(frag.data.len()) {
            return Insert::Dropped(DropReason::Malformed);
        }
        let length = match usize::try_from(frag.length) {
            Ok(l) if l <= self.max_message_len => l,
            _ => return Insert::Dropped(DropReason::TooLarge),
        };

        // Sequence window: below next_seq was already delivered
        // (RFC 6347 §4.2.4 treats it as a retransmission trigger); too far
        // ahead is discarded to bound memory (RFC 6347 §4.2.2 only says
        // future messages MAY be queued).
        let seq = u32::from(frag.msg_seq);
        let Some(ahead) = seq.checked_sub(self.next) else {
            return Insert::Old;
        };
        if ahead > u32::from(self.max_ahead) {
            return Insert::Dropped(DropReason::TooFarAhead);
        }

        if let Some(slot) = self.slots.get_mut(&frag.msg_seq) {
            if frag.epoch <= slot.epoch {
                let r = slot.merge(&frag, start, end);
                if matches!(
                    r,
                    Insert::Dropped(DropReason::Inconsistent | DropReason::ConflictingBytes)
                ) {
                    slot.conflicted = true;
                }
                return r;
            }
            // A fragment from a later epoch is authenticated; what is held from an earlier
            // (plaintext) epoch may be forged, so the authenticated one replaces it.
            if let Some(old) = self.slots.remove(&frag.msg_seq) {
                self.buffered = self.buffered.saturating_sub(old.body.len());
            }
        }

        if start == end && length != 0 {
            // An empty fragment of a non-empty message carries nothing; do
            // not let it allocate a `length`-sized buffer.
            return Insert::Duplicate;
        }
        if !self.make_room(frag.msg_seq, length) {
            return Insert::Dropped(DropReason::BufferFull);
        }
        let mut body = vec![0u8; length];
        match body.get_mut(to_usize(start)..to_usize(end)) {
            Some(dst) if dst.len() == frag.data.len() => dst.copy_from_slice(frag.data),
            _ => return Insert::Dropped(DropReason::Malformed),
        }
        let ranges = if start == end {
            Vec::new()
        } else {
            vec![(start, end)]
        };
        self.slots.insert(
            frag.msg_seq,
            Slot {
                msg_type: frag.msg_type,
                length: frag.length,
                epoch: frag.epoch,
                body,
                ranges,
                conflicted: false,
            },
        );
        self.buffered = self.buffered.saturating_add(length);
        Insert::Accepted
    }

    /// Ensures `need` more bytes fit in the budget, evicting messages with a
    /// `message_seq` above `seq` (highest first) if that is enough. Evicts
    /// nothing and returns false when even that would not make room.
    fn make_room(&mut self, seq: u16, need: usize) -> bool {
        let fits = |buffered: usize| {
            buffered
                .checked_add(need)
                .is_some_and(|total| total <= self.max_buffered_bytes)
        };
        if fits(self.buffered) {
            return true;
        }
        let evictable: usize = self
            .slots
            .range(seq.saturating_add(1)..)
            .filter(|(&k, _)| k > seq)
            .map(|(_, s)| s.body.len())
            .fold(0, usize::saturating_add);
        if !fits(self.buffered.saturating_sub(evictable)) {
            return false;
        }
        while !fits(self.buffered) {
            match self.slots.last_key_value() {
                Some((&k, _)) if k > seq => {
                    if let Some(s) = self.slots.remove(&k) {
                        self.buffered = self.buffered.saturating_sub(s.body.len());
                    }
                }
                _ => return false,
            }
        }
        true
    }

    /// The next complete message in order, advancing `next_seq`; `None` if
    /// the message with `message_seq == next_seq` is not complete yet.
    pub fn pop(&mut self) -> Option<Message> {
        let seq = u16::try_from(self.next).ok()?;
        if !self.slots.get(&seq)?.is_complete() {
            return None;
        }
        let slot = self.slots.remove(&seq)?;
        self.buffered = self.buffered.saturating_sub(slot.body.len());
        self.next = self.next.saturating_add(1);
        Some(Message {
            msg_type: slot.msg_type,
            msg_seq: seq,
            epoch: slot.epoch,
            body: slot.body,
        })
    }

    /// Takes back the message just popped: `next_seq` returns to `seq`, so a fresh copy of
    /// that message can be reassembled. Used when the popped message turned out to be unusable
    /// plaintext (forged or garbled) and its genuine copy may still come. No-op unless `seq`
    /// was the last message popped.
    pub fn unpop(&mut self, seq: u16) {
        if self.next == u32::from(seq) + 1 {
            self.next = u32::from(seq);
        }
    }

    /// True when the message with `message_seq == next_seq` has at least one
    /// fragment held (lets the engine tell "peer started its next flight",
    /// RFC 6347 §4.2.4).
    pub fn has_partial_next(&self) -> bool {
        u16::try_from(self.next).is_ok_and(|k| self.slots.contains_key(&k))
    }

    /// Drops all buffered future/partial messages, keeps `next_seq`.
    pub fn clear(&mut self) {
        self.slots.clear();
        self.buffered = 0;
    }

    /// Drops messages that refused a disagreeing fragment. Called when our retransmission
    /// timer fires: the peer's whole flight is about to come again, so a forged fragment that
    /// got in first costs at most one timeout.
    pub fn clear_conflicted(&mut self) {
        let mut freed = 0usize;
        self.slots.retain(|_, s| {
            if s.conflicted {
                freed = freed.saturating_add(s.body.len());
            }
            !s.conflicted
        });
        self.buffered = self.buffered.saturating_sub(freed);
    }

    /// Bytes currently reserved: the full `length` of every held message.
    pub fn buffered_bytes(&self) -> usize {
        self.buffered
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frag(msg_seq: u16, length: u32, frag_off: u32, data: &[u8]) -> Fragment<'_> {
        Fragment {
            msg_type: 11,
            length,
            msg_seq,
            frag_off,
            frag_len: u32::try_from(data.len()).unwrap(),
            epoch: 0,
            data,
        }
    }

    fn body(len: usize, salt: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(salt))
            .collect()
    }

    fn piece(msg: &[u8], seq: u16, off: usize, end: usize) -> Fragment<'_> {
        frag(seq, msg.len() as u32, off as u32, &msg[off..end])
    }

    fn r() -> Reassembler {
        Reassembler::new(1 << 16, 1 << 17, 8)
    }

    #[test]
    fn unfragmented_message() {
        let mut r = r();
        let m = body(100, 1);
        assert_eq!(r.insert(piece(&m, 0, 0, 100)), Insert::Accepted);
        assert!(r.has_partial_next());
        assert_eq!(r.buffered_bytes(), 100);
        let got = r.pop().unwrap();
        assert_eq!(
            got,
            Message {
                msg_type: 11,
                msg_seq: 0,
                epoch: 0,
                body: m.clone()
            }
        );
        assert_eq!(r.next_seq(), 1);
        assert_eq!(r.buffered_bytes(), 0);
        assert!(!r.has_partial_next());
        assert_eq!(r.pop(), None);
        assert_eq!(r.insert(piece(&m, 0, 0, 100)), Insert::Old);
        assert_eq!(r.insert(piece(&m, 0, 10, 20)), Insert::Old);
    }

    #[test]
    fn zero_length_message() {
        let mut r = r();
        assert_eq!(r.insert(frag(0, 0, 0, &[])), Insert::Accepted);
        assert_eq!(r.insert(frag(0, 0, 0, &[])), Insert::Duplicate);
        assert_eq!(r.buffered_bytes(), 0);
        let got = r.pop().unwrap();
        assert_eq!(got.body, Vec::<u8>::new());
        assert_eq!(r.insert(frag(0, 0, 0, &[])), Insert::Old);
        // Non-zero offset on an empty message is out of bounds.
        assert_eq!(
            r.insert(frag(1, 0, 1, &[])),
            Insert::Dropped(DropReason::Malformed)
        );
    }

    #[test]
    fn empty_fragment_of_nonempty_message_is_noop() {
        let mut r = r();
        assert_eq!(r.insert(frag(0, 50, 0, &[])), Insert::Duplicate);
        assert_eq!(r.insert(frag(0, 50, 50, &[])), Insert::Duplicate);
        assert!(!r.has_partial_next());
        assert_eq!(r.buffered_bytes(), 0);
        let m = body(50, 2);
        assert_eq!(r.insert(piece(&m, 0, 0, 10)), Insert::Accepted);
        assert_eq!(r.insert(frag(0, 50, 20, &[])), Insert::Duplicate);
        assert_eq!(r.pop(), None);
    }

    #[test]
    fn fragments_any_order_and_overlap() {
        let m = body(1000, 3);
        for order in [[0, 1, 2, 3], [3, 2, 1, 0], [2, 0, 3, 1]] {
            let cuts = [(0, 300), (250, 600), (600, 601), (601, 1000)];
            let mut r = r();
            for (i, &k) in order.iter().enumerate() {
                let (a, b) = cuts[k];
                assert_eq!(r.insert(piece(&m, 0, a, b)), Insert::Accepted);
                if i < 3 {
                    assert_eq!(r.pop(), None);
                }
            }
            assert_eq!(r.pop().unwrap().body, m);
        }
    }

    #[test]
    fn duplicates_and_conflicts() {
        let mut r = r();
        let m = body(100, 4);
        assert_eq!(r.insert(piece(&m, 0, 10, 50)), Insert::Accepted);
        assert_eq!(r.insert(piece(&m, 0, 10, 50)), Insert::Duplicate);
        assert_eq!(r.insert(piece(&m, 0, 20, 30)), Insert::Duplicate);
        // Adjacent but not overlapping ranges coalesce, then subranges dup.
        assert_eq!(r.insert(piece(&m, 0, 50, 60)), Insert::Accepted);
        assert_eq!(r.insert(piece(&m, 0, 45, 55)), Insert::Duplicate);
        // Conflict inside an overlap: fragment dropped entirely, even its
        // new bytes.
        let mut bad = m.clone();
        bad[55] ^= 0xff;
        assert_eq!(
            r.insert(piece(&bad, 0, 55, 80)),
            Insert::Dropped(DropReason::ConflictingBytes)
        );
        assert_eq!(r.slots[&0].ranges, vec![(10, 60)]);
        // A differing byte outside held ranges is not a conflict.
        let mut other = m.clone();
        other[70] ^= 0xff;
        assert_eq!(r.insert(piece(&other, 0, 60, 80)), Insert::Accepted);
        assert_eq!(r.insert(piece(&m, 0, 0, 10)), Insert::Accepted);
        let mut fix = m.clone();
        fix[70] ^= 0xff;
        assert_eq!(r.insert(piece(&fix, 0, 80, 100)), Insert::Accepted);
        assert_eq!(r.pop().unwrap().body, fix);
    }

    #[test]
    fn complete_but_unpopped() {
        let mut r = r();
        let m = body(40, 5);
        assert_eq!(r.insert(piece(&m, 0, 0, 40)), Insert::Accepted);
        assert_eq!(r.insert(piece(&m, 0, 0, 40)), Insert::Duplicate);
        assert_eq!(r.insert(piece(&m, 0, 5, 6)), Insert::Duplicate);
        let mut bad = m.clone();
        bad[39] = !bad[39];
        assert_eq!(
            r.insert(piece(&bad, 0, 30, 40)),
            Insert::Dropped(DropReason::ConflictingBytes)
        );
        assert_eq!(r.pop().unwrap().body, m);
    }

    #[test]
    fn malformed() {
        let mut r = r();
        let d = [1u8, 2, 3];
        let mut f = frag(0, 10, 0, &d);
        f.frag_len = 2;
        assert_eq!(r.insert(f), Insert::Dropped(DropReason::Malformed));
        f.frag_len = 4;
        assert_eq!(r.insert(f), Insert::Dropped(DropReason::Malformed));
        assert_eq!(
            r.insert(frag(0, 10, 8, &d)),
            Insert::Dropped(DropReason::Malformed)
        );
        let mut f = frag(0, u32::MAX, u32::MAX, &d);
        assert_eq!(r.insert(f), Insert::Dropped(DropReason::Malformed));
        f.frag_off = u32::MAX - 3;
        // Well-formed but huge: TooLarge.
        assert_eq!(r.insert(f), Insert::Dropped(DropReason::TooLarge));
        assert_eq!(r.buffered_bytes(), 0);
        assert!(r.slots.is_empty());
    }

    #[test]
    fn too_large() {
        let mut r = Reassembler::new(100, 1000, 4);
        let m = body(101, 6);
        assert_eq!(
            r.insert(piece(&m, 0, 0, 10)),
            Insert::Dropped(DropReason::TooLarge)
        );
        let m = body(100, 6);
        assert_eq!(r.insert(piece(&m, 0, 0, 10)), Insert::Accepted);
    }

    #[test]
    fn window_bounds() {
        let mut r = Reassembler::new(1000, 10_000, 3);
        r.set_next_seq(5);
        let m = body(10, 7);
        assert_eq!(r.insert(piece(&m, 4, 0, 10)), Insert::Old);
        assert_eq!(r.insert(piece(&m, 8, 0, 10)), Insert::Accepted);
        assert_eq!(
            r.insert(piece(&m, 9, 0, 10)),
            Insert::Dropped(DropReason::TooFarAhead)
        );
        assert_eq!(
            r.insert(piece(&m, u16::MAX, 0, 10)),
            Insert::Dropped(DropReason::TooFarAhead)
        );
        assert!(!r.has_partial_next());
        assert_eq!(r.pop(), None);
        // max_ahead 0: only next_seq itself.
        let mut r = Reassembler::new(1000, 10_000, 0);
        assert_eq!(r.insert(piece(&m, 0, 0, 10)), Insert::Accepted);
        assert_eq!(
            r.insert(piece(&m, 1, 0, 10)),
            Insert::Dropped(DropReason::TooFarAhead)
        );
    }

    #[test]
    fn inconsistent() {
        let mut r = r();
        let m = body(20, 8);
        assert_eq!(r.insert(piece(&m, 0, 0, 10)), Insert::Accepted);
        let mut f = piece(&m, 0, 10, 20);
        f.msg_type = 12;
        assert_eq!(r.insert(f), Insert::Dropped(DropReason::Inconsistent));
        let f = frag(0, 21, 10, &m[10..20]);
        assert_eq!(r.insert(f), Insert::Dropped(DropReason::Inconsistent));
        // Empty fragments are checked too.
        assert_eq!(
            r.insert(frag(0, 0, 0, &[])),
            Insert::Dropped(DropReason::Inconsistent)
        );
        assert_eq!(r.insert(piece(&m, 0, 10, 20)), Insert::Accepted);
        assert_eq!(r.pop().unwrap().body, m);
    }

    #[test]
    fn later_epoch_replaces_plaintext_and_conflicts_clear() {
        let mut r = r();
        let m = body(20, 8);
        // A forged plaintext fragment arrives first with another length.
        assert_eq!(r.insert(frag(0, 300, 0, &[1, 2, 3, 4])), Insert::Accepted);
        assert_eq!(
            r.insert(piece(&m, 0, 0, 10)),
            Insert::Dropped(DropReason::Inconsistent)
        );
        // Our timer fires: the poisoned slot goes, the retransmission gets through.
        r.clear_conflicted();
        assert_eq!(r.buffered_bytes(), 0);
        assert_eq!(r.insert(piece(&m, 0, 0, 20)), Insert::Accepted);
        assert_eq!(r.pop().unwrap().body, m);
        // An authenticated (later-epoch) fragment replaces a plaintext slot outright.
        assert_eq!(r.insert(frag(1, 300, 0, &[9; 4])), Insert::Accepted);
        let mut f = piece(&m, 1, 0, 20);
        f.epoch = 1;
        assert_eq!(r.insert(f), Insert::Accepted);
        let got = r.pop().unwrap();
        assert_eq!((got.epoch, got.body), (1, m));
    }

    #[test]
    fn in_order_release_and_future_messages() {
        let mut r = r();
        let m0 = body(30, 9);
        let m1 = body(0, 0);
        let m2 = body(70, 10);
        assert_eq!(r.insert(piece(&m2, 2, 0, 70)), Insert::Accepted);
        assert_eq!(r.insert(piece(&m1, 1, 0, 0)), Insert::Accepted);
        assert!(!r.has_partial_next());
        assert_eq!(r.pop(), None);
        assert_eq!(r.insert(piece(&m0, 0, 15, 30)), Insert::Accepted);
        assert!(r.has_partial_next());
        assert_eq!(r.pop(), None);
        assert_eq!(r.buffered_bytes(), 100);
        assert_eq!(r.insert(piece(&m0, 0, 0, 15)), Insert::Accepted);
        let got: Vec<_> = std::iter::from_fn(|| r.pop()).collect();
        assert_eq!(got.len(), 3);
        assert_eq!((got[0].msg_seq, &got[0].body), (0, &m0));
        assert_eq!((got[1].msg_seq, &got[1].body), (1, &m1));
        assert_eq!((got[2].msg_seq, &got[2].body), (2, &m2));
        assert_eq!(r.next_seq(), 3);
        assert_eq!(r.buffered_bytes(), 0);
    }

    #[test]
    fn buffer_budget_and_eviction() {
        let mut r = Reassembler::new(100, 250, 8);
        let m = body(100, 11);
        assert_eq!(r.insert(piece(&m, 3, 0, 1)), Insert::Accepted);
        assert_eq!(r.insert(piece(&m, 2, 0, 1)), Insert::Accepted);
        assert_eq!(r.buffered_bytes(), 200);
        // seq 4 cannot evict lower seqs.
        assert_eq!(
            r.insert(piece(&m, 4, 0, 1)),
            Insert::Dropped(DropReason::BufferFull)
        );
        assert_eq!(r.buffered_bytes(), 200);
        // seq 1 evicts seq 3 (the highest) only.
        assert_eq!(r.insert(piece(&m, 1, 0, 1)), Insert::Accepted);
        assert_eq!(r.buffered_bytes(), 200);
        assert!(r.slots.contains_key(&2) && !r.slots.contains_key(&3));
        // A small message still fits next to them.
        let s = body(50, 12);
        assert_eq!(r.insert(piece(&s, 5, 0, 50)), Insert::Accepted);
        assert_eq!(r.buffered_bytes(), 250);
        // next_seq evicts as much as needed, highest first.
        assert_eq!(r.insert(piece(&m, 0, 0, 100)), Insert::Accepted);
        assert!(r.slots.contains_key(&1));
        assert!(!r.slots.contains_key(&2) && !r.slots.contains_key(&5));
        assert_eq!(r.buffered_bytes(), 200);
        assert_eq!(r.pop().unwrap().body, m);
        assert_eq!(r.buffered_bytes(), 100);
        assert_eq!(r.pop(), None);
    }

    #[test]
    fn budget_smaller_than_message() {
        let mut r = Reassembler::new(100, 50, 8);
        let m = body(60, 13);
        assert_eq!(
            r.insert(piece(&m, 0, 0, 10)),
            Insert::Dropped(DropReason::BufferFull)
        );
        let s = body(50, 13);
        assert_eq!(r.insert(piece(&s, 0, 0, 50)), Insert::Accepted);
        assert_eq!(r.pop().unwrap().body, s);
    }

    #[test]
    fn range_cap() {
        let mut r = r();
        let m = body(1000, 14);
        for i in 0..MAX_RANGES {
            let off = i * 10;
            assert_eq!(r.insert(piece(&m, 0, off, off + 1)), Insert::Accepted);
        }
        assert_eq!(r.slots[&0].ranges.len(), MAX_RANGES);
        // A 33rd disjoint range is refused...
        assert_eq!(
            r.insert(piece(&m, 0, 500, 501)),
            Insert::Dropped(DropReason::BufferFull)
        );
        // ...but growing or bridging existing ranges is fine.
        assert_eq!(r.insert(piece(&m, 0, 1, 5)), Insert::Accepted);
        assert_eq!(r.insert(piece(&m, 0, 5, 10)), Insert::Accepted);
        assert_eq!(r.slots[&0].ranges.len(), MAX_RANGES - 1);
        assert_eq!(r.insert(piece(&m, 0, 500, 501)), Insert::Accepted);
        assert_eq!(r.insert(piece(&m, 0, 0, 1000)), Insert::Accepted);
        assert_eq!(r.slots[&0].ranges, vec![(0, 1000)]);
        assert_eq!(r.pop().unwrap().body, m);
    }

    #[test]
    fn set_next_seq_and_clear() {
        let mut r = r();
        let m = body(10, 15);
        assert_eq!(r.insert(piece(&m, 0, 0, 5)), Insert::Accepted);
        assert_eq!(r.insert(piece(&m, 1, 0, 10)), Insert::Accepted);
        r.clear();
        assert_eq!(r.next_seq(), 0);
        assert_eq!(r.buffered_bytes(), 0);
        assert!(!r.has_partial_next());
        assert_eq!(r.insert(piece(&m, 1, 0, 10)), Insert::Accepted);
        r.set_next_seq(1);
        assert_eq!(r.buffered_bytes(), 0);
        assert_eq!(r.pop(), None);
        assert_eq!(r.insert(piece(&m, 0, 0, 10)), Insert::Old);
        assert_eq!(r.insert(piece(&m, 1, 0, 10)), Insert::Accepted);
        assert_eq!(r.pop().unwrap().msg_seq, 1);
        assert_eq!(r.next_seq(), 2);
    }

    #[test]
    fn seq_space_exhaustion() {
        let mut r = r();
        r.set_next_seq(u16::MAX);
        let m = body(3, 16);
        assert_eq!(r.insert(piece(&m, u16::MAX, 0, 3)), Insert::Accepted);
        assert!(!r.is_exhausted());
        assert_eq!(r.pop().unwrap().msg_seq, u16::MAX);
        assert!(r.is_exhausted());
        assert_eq!(r.next_seq(), u16::MAX);
        assert!(!r.has_partial_next());
        assert_eq!(r.insert(piece(&m, u16::MAX, 0, 3)), Insert::Old);
        assert_eq!(r.insert(piece(&m, 0, 0, 3)), Insert::Old);
        assert_eq!(r.pop(), None);
    }

    #[test]
    fn epoch_and_type_carried() {
        let mut r = r();
        let m = body(5, 17);
        let mut f = piece(&m, 0, 0, 5);
        f.epoch = 2;
        f.msg_type = 20;
        assert_eq!(r.insert(f), Insert::Accepted);
        let got = r.pop().unwrap();
        assert_eq!((got.msg_type, got.epoch), (20, 2));
    }

    /// Tiny deterministic LCG so the randomized tests need no dependencies.
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            self.0 >> 33
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % (n.max(1) as u64)) as usize
        }
        fn shuffle<T>(&mut self, v: &mut [T]) {
            for i in (1..v.len()).rev() {
                let j = self.below(i + 1);
                v.swap(i, j);
            }
        }
    }

    /// Checks the bounded-memory invariants the struct documents.
    fn check_invariants(r: &Reassembler) {
        assert!(r.buffered_bytes() <= r.max_buffered_bytes);
        assert!(r.slots.len() <= usize::from(r.max_ahead) + 1);
        let sum: usize = r.slots.values().map(|s| s.body.len()).sum();
        assert_eq!(sum, r.buffered_bytes());
        for (&k, s) in &r.slots {
            assert!(u32::from(k) >= r.next);
            assert!(u32::from(k) - r.next <= u32::from(r.max_ahead));
            assert!(s.ranges.len() <= MAX_RANGES);
            assert_eq!(s.body.len(), s.length as usize);
            for w in s.ranges.windows(2) {
                assert!(w[0].1 < w[1].0, "ranges must be disjoint, non-touching");
            }
            for &(a, b) in &s.ranges {
                assert!(a < b && b <= s.length);
            }
        }
    }

    /// Random messages, split several ways (as a sender re-fragmenting on
    /// retransmission would), plus random overlapping sub-ranges, shuffled
    /// and duplicated, fed in "retransmission rounds" until everything is
    /// delivered: the output must equal the input messages, in order.
    #[test]
    fn randomized_fragmentation_order_duplicates() {
        for seed in 0..300u64 {
            let mut rng = Lcg(seed);
            let first = rng.below(100) as u16;
            let n = 1 + rng.below(12);
            let max_ahead = rng.below(9) as u16;
            let max_len = 600;
            // Sometimes tight so BufferFull and eviction are exercised.
            let budget = max_len + rng.below(3 * max_len);
            let msgs: Vec<Message> = (0..n)
                .map(|i| {
                    let len = match rng.below(5) {
                        0 => 0,
                        1 => 1 + rng.below(10),
                        _ => rng.below(max_len + 1),
                    };
                    Message {
                        msg_type: rng.below(256) as u8,
                        msg_seq: first + i as u16,
                        epoch: rng.below(3) as u16,
                        body: (0..len).map(|_| rng.below(256) as u8).collect(),
                    }
                })
                .collect();

            // (message index, start, end)
            let mut pieces: Vec<(usize, usize, usize)> = Vec::new();
            for (i, m) in msgs.iter().enumerate() {
                let len = m.body.len();
                if len == 0 {
                    pieces.push((i, 0, 0));
                    continue;
                }
                for _ in 0..1 + rng.below(3) {
                    let size = 1 + rng.below(len);
                    let mut off = 0;
                    while off < len {
                        let end = (off + size).min(len);
                        pieces.push((i, off, end));
                        off = end;
                    }
                }
                for _ in 0..rng.below(4) {
                    let a = rng.below(len);
                    let b = a + 1 + rng.below(len - a);
                    pieces.push((i, a, b));
                }
            }
            for _ in 0..rng.below(pieces.len() + 1) {
                let p = pieces[rng.below(pieces.len())];
                pieces.push(p);
            }

            let mut r = Reassembler::new(max_len, budget, max_ahead);
            r.set_next_seq(first);
            let mut out = Vec::new();
            let mut rounds = 0;
            while out.len() < n {
                rounds += 1;
                assert!(rounds < 200, "seed {seed}: no progress");
                rng.shuffle(&mut pieces);
                for &(i, a, b) in &pieces {
                    let m = &msgs[i];
                    let f = Fragment {
                        msg_type: m.msg_type,
                        length: m.body.len() as u32,
                        msg_seq: m.msg_seq,
                        frag_off: a as u32,
                        frag_len: (b - a) as u32,
                        epoch: m.epoch,
                        data: &m.body[a..b],
                    };
                    let res = r.insert(f);
                    match res {
                        Insert::Accepted | Insert::Duplicate => {}
                        Insert::Old => assert!(i < out.len(), "seed {seed}"),
                        Insert::Dropped(DropReason::TooFarAhead) => {
                            assert!(m.msg_seq > r.next_seq() + max_ahead)
                        }
                        Insert::Dropped(DropReason::BufferFull) => {}
                        other => panic!("seed {seed}: unexpected {other:?}"),
                    }
                    check_invariants(&r);
                    while let Some(msg) = r.pop() {
                        out.push(msg);
                    }
                }
                // Anything fed after delivery must be reported as Old.
                if let Some(&(i, a, b)) = pieces.first() {
                    if i < out.len() {
                        let m = &msgs[i];
                        let f = piece(&m.body, m.msg_seq, a, b);
                        assert_eq!(r.insert(f), Insert::Old);
                    }
                }
            }
            assert_eq!(out, msgs, "seed {seed}");
            assert_eq!(r.buffered_bytes(), 0);
            assert_eq!(usize::from(r.next_seq()), usize::from(first) + n);
        }
    }

    /// Arbitrary garbage must never panic or break the memory bounds.
    #[test]
    fn randomized_garbage_stays_bounded() {
        let data = [0xAAu8; 300];
        for seed in 0..50u64 {
            let mut rng = Lcg(seed ^ 0xdead_beef);
            let mut r = Reassembler::new(256, 700, rng.below(10) as u16);
            for _ in 0..3000 {
                let length = match rng.below(4) {
                    0 => rng.next() as u32,
                    _ => rng.below(300) as u32,
                };
                let frag_off = match rng.below(4) {
                    0 => rng.next() as u32,
                    _ => rng.below(300) as u32,
                };
                let frag_len = rng.below(40) as u32;
                let dlen = if rng.below(10) == 0 {
                    rng.below(300)
                } else {
                    frag_len as usize
                };
                let f = Fragment {
                    msg_type: rng.below(3) as u8,
                    length,
                    msg_seq: rng.below(16) as u16,
                    frag_off,
                    frag_len,
                    epoch: rng.below(2) as u16,
                    data: &data[..dlen],
                };
                let _ = r.insert(f);
                check_invariants(&r);
                match rng.below(50) {
                    0 => r.clear(),
                    1 => r.set_next_seq(rng.below(8) as u16),
                    _ => {}
                }
                while r.pop().is_some() {}
            }
        }
    }
}
