//! A FIFO of application records kept in one byte ring, so that queueing and delivering a
//! record allocates nothing once the ring has grown to the working size.

use std::collections::VecDeque;

/// Whole records in arrival order.
#[derive(Debug, Default)]
pub struct RecordQueue {
    bytes: VecDeque<u8>,
    lens: VecDeque<usize>,
}

impl RecordQueue {
    /// Appends one record.
    pub fn push(&mut self, record: &[u8]) {
        self.bytes.extend(record);
        self.lens.push_back(record.len());
    }

    /// Records held.
    pub fn len(&self) -> usize {
        self.lens.len()
    }

    /// Bytes held across all records.
    pub fn bytes(&self) -> usize {
        self.bytes.len()
    }

    /// True when no record is held.
    pub fn is_empty(&self) -> bool {
        self.lens.is_empty()
    }

    /// Length of the oldest record.
    pub fn front_len(&self) -> Option<usize> {
        self.lens.front().copied()
    }

    /// Copies the oldest record to the start of `dst` (which must hold `front_len()` bytes)
    /// and returns its length; `None` when empty or `dst` is too short. The record stays.
    pub fn copy_front(&self, dst: &mut [u8]) -> Option<usize> {
        let n = self.front_len()?;
        let dst = dst.get_mut(..n)?;
        let (a, b) = self.bytes.as_slices();
        let from_a = n.min(a.len());
        dst[..from_a].copy_from_slice(&a[..from_a]);
        dst[from_a..].copy_from_slice(b.get(..n - from_a)?);
        Some(n)
    }

    /// Drops the oldest record.
    pub fn pop_front(&mut self) {
        if let Some(n) = self.lens.pop_front() {
            self.bytes.drain(..n);
        }
    }

    /// Drops every record.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.lens.clear();
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
}
