//! A FIFO of application records kept in one byte ring, so that queueing and delivering a
//! record allocates nothing once the ring has grown to the working size. Received records are
//! decrypted in place inside the ring ([`RecordQueue::push_opened`]), so the receive path needs
//! no scratch buffer of its own.

use std::collections::VecDeque;
use std::ops::Range;

/// Where a record sits in the ring: `skip` bytes (an explicit nonce), the `len` payload bytes,
/// then whatever else its `total` covers (a tag).
#[derive(Debug, Clone, Copy)]
struct Entry {
    skip: usize,
    len: usize,
    total: usize,
}

/// Whole records in arrival order.
#[derive(Debug, Default)]
pub struct RecordQueue {
    bytes: VecDeque<u8>,
    entries: VecDeque<Entry>,
    /// Payload bytes held (what limits count).
    held: usize,
}

impl RecordQueue {
    /// Appends one record.
    pub fn push(&mut self, record: &[u8]) {
        self.bytes.extend(record);
        self.entries.push_back(Entry {
            skip: 0,
            len: record.len(),
            total: record.len(),
        });
        self.held += record.len();
    }

    /// Appends `src` and lets `open` turn it into a record in place (decrypt it), returning
    /// the payload's range within it. On `Err` nothing is kept. Returns the payload length.
    pub fn push_opened<E>(
        &mut self,
        src: &[u8],
        open: impl FnOnce(&mut [u8]) -> Result<Range<usize>, E>,
    ) -> Result<usize, E> {
        let start = self.bytes.len();
        self.bytes.extend(src);
        match open(self.contiguous_tail(start)) {
            Ok(r) => {
                // An opened record lies within its ciphertext; clamp rather than trust it.
                let end = r.end.min(src.len());
                let skip = r.start.min(end);
                self.entries.push_back(Entry {
                    skip,
                    len: end - skip,
                    total: src.len(),
                });
                self.held += end - skip;
                Ok(end - skip)
            }
            Err(e) => {
                self.bytes.truncate(start);
                Err(e)
            }
        }
    }

    /// The bytes from `start` to the end, as one slice. They straddle the ring's seam only when
    /// older records are still unread; then the ring is straightened once (no allocation).
    fn contiguous_tail(&mut self, start: usize) -> &mut [u8] {
        let front = self.bytes.as_slices().0.len();
        if start < front && self.bytes.len() > front {
            return &mut self.bytes.make_contiguous()[start..];
        }
        let (a, b) = self.bytes.as_mut_slices();
        if start >= front {
            &mut b[start - front..]
        } else {
            &mut a[start..]
        }
    }

    /// Records held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Payload bytes held across all records.
    pub fn bytes(&self) -> usize {
        self.held
    }

    /// True when no record is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Length of the oldest record.
    pub fn front_len(&self) -> Option<usize> {
        self.entries.front().map(|e| e.len)
    }

    /// Copies the oldest record to the start of `dst` (which must hold `front_len()` bytes)
    /// and returns its length; `None` when empty or `dst` is too short. The record stays.
    pub fn copy_front(&self, dst: &mut [u8]) -> Option<usize> {
        let e = *self.entries.front()?;
        let dst = dst.get_mut(..e.len)?;
        let (a, b) = self.bytes.as_slices();
        let (from, to) = (e.skip, e.skip + e.len);
        // The record's payload may lie in `a`, in `b`, or across both.
        let in_a = a.get(from.min(a.len())..to.min(a.len())).unwrap_or(&[]);
        dst[..in_a.len()].copy_from_slice(in_a);
        let rest = e.len - in_a.len();
        if rest > 0 {
            let b_from = from.max(a.len()) - a.len();
            dst[in_a.len()..].copy_from_slice(b.get(b_from..b_from + rest)?);
        }
        Some(e.len)
    }

    /// Drops the oldest record.
    pub fn pop_front(&mut self) {
        if let Some(e) = self.entries.pop_front() {
            self.bytes.drain(..e.total);
            self.held -= e.len;
        }
    }

    /// Drops every record.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.entries.clear();
        self.held = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_across_the_ring_seam() {
        let mut q = RecordQueue::default();
        let mut out = [0u8; 16];
        for round in 0..50u8 {
            q.push(&[round; 5]);
            q.push(&[]);
            q.push(&[round.wrapping_add(1); 9]);
            assert_eq!(q.copy_front(&mut out), Some(5));
            assert_eq!(&out[..5], &[round; 5]);
            assert_eq!(q.copy_front(&mut out[..4]), None, "too short a buffer");
            q.pop_front();
            assert_eq!(q.copy_front(&mut out), Some(0));
            q.pop_front();
            assert_eq!(q.copy_front(&mut out), Some(9));
            assert_eq!(&out[..9], &[round.wrapping_add(1); 9]);
            q.pop_front();
            assert!(q.is_empty());
        }
        q.push(b"ab");
        assert_eq!(q.bytes(), 2);
        q.clear();
        assert_eq!((q.len(), q.front_len()), (0, None));
    }

    #[test]
    fn opened_records_keep_only_their_payload_and_failures_leave_nothing() {
        let mut q = RecordQueue::default();
        let mut model: VecDeque<Vec<u8>> = VecDeque::new();
        let mut out = [0u8; 32];
        for round in 0..60u8 {
            // "Decrypt": add one to every byte; the payload is bytes 2..10 of the input.
            let n = q
                .push_opened(&[round; 12], |slot: &mut [u8]| -> Result<_, ()> {
                    slot.iter_mut().for_each(|b| *b = b.wrapping_add(1));
                    Ok(2..10)
                })
                .unwrap();
            assert_eq!(n, 8);
            model.push_back(vec![round.wrapping_add(1); 8]);
            assert!(q
                .push_opened(&[9; 7], |_: &mut [u8]| Err::<Range<usize>, _>(()))
                .is_err());
            q.push(&[round; 3]);
            model.push_back(vec![round; 3]);
            // Read fewer than were written on most rounds, so the ring wraps with records
            // still held and later ones straddle its seam.
            for _ in 0..(1 + (round % 3 == 0) as usize * 2) {
                let Some(want) = model.pop_front() else { break };
                assert_eq!(q.copy_front(&mut out), Some(want.len()));
                assert_eq!(out[..want.len()], want[..]);
                q.pop_front();
            }
            assert_eq!(q.len(), model.len());
            assert_eq!(q.bytes(), model.iter().map(Vec::len).sum::<usize>());
        }
        while let Some(want) = model.pop_front() {
            assert_eq!(q.copy_front(&mut out), Some(want.len()));
            assert_eq!(out[..want.len()], want[..]);
            q.pop_front();
        }
        assert_eq!((q.len(), q.bytes()), (0, 0));
    }
}
