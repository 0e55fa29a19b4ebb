//! Anti-replay sliding window for DTLS records.
//!
//! Implements the receive window of RFC 6347 §4.1.2.6 and RFC 9147 §4.5.1,
//! both borrowed from the `IPsec` ESP algorithm (RFC 4303 §3.4.3). The window is
//! 64 records wide, the size RFC 6347 §4.1.2.6 says "SHOULD be employed as the
//! default".
//!
//! One window covers one epoch: RFC 9147 §4.5.1 notes that "each epoch resets
//! the sequence number space, a separate sliding window is needed for each
//! epoch", so the caller keeps one `ReplayWindow` per receiving epoch.

/// Number of sequence numbers tracked at and below the highest one seen.
const WINDOW_SIZE: u64 = 64;

/// Largest record sequence number accepted, 2^48-1.
///
/// The DTLS 1.2 record header carries a `uint48 sequence_number`
/// (RFC 6347 §4.1). DTLS 1.3 keeps a 64-bit counter but serializes its low
/// 48 bits and forbids exceeding 2^48-1 for plaintext records (RFC 9147 §4,
/// note 3); protected records hit the AEAD limits of RFC 9147 §4.5.3 long
/// before that. Anything larger is treated as invalid rather than accepted.
pub const MAX_SEQ: u64 = (1 << 48) - 1;

/// The anti-replay window of one epoch (RFC 6347 §4.1.2.6, RFC 9147 §4.5.1).
///
/// The "right" edge of the window is the highest sequence number that has been
/// marked received; records left of the window (64 or more below the right
/// edge) are rejected, records inside it are checked against a bitmap.
///
/// `check` and `update` are split on purpose: RFC 6347 §4.1.2.6 says "the
/// receive window is updated only if the MAC verification succeeds", so the
/// caller checks before decrypting and updates only once the record
/// authenticated. Otherwise a forged record could slide the window and cause
/// genuine records to be dropped.
#[derive(Debug, Clone, Default)]
pub struct ReplayWindow {
    /// Highest sequence number marked received (the right edge); meaningless
    /// until `seen` is true.
    max_seq: u64,
    /// Bit `i` set means `max_seq - i` has been received.
    bitmap: u64,
    /// Whether any record has been marked received yet. Needed because
    /// sequence number 0 is a valid first record, so `max_seq == 0` alone
    /// cannot mean "empty".
    seen: bool,
}

impl ReplayWindow {
    /// Creates an empty window: every valid sequence number is acceptable.
    pub fn new() -> Self {
        Self::default()
    }

    /// Returns true if `seq` (48-bit record sequence number) is new and not
    /// left of the window.
    ///
    /// Never mutates: callers check before decrypting and update only after
    /// the record authenticates (RFC 6347 §4.1.2.6). Sequence numbers above
    /// [`MAX_SEQ`] are rejected because they cannot occur in a record header.
    pub fn check(&self, seq: u64) -> bool {
        if seq > MAX_SEQ {
            return false;
        }
        if !self.seen || seq > self.max_seq {
            // Right of the window: always new.
            return true;
        }
        // `seq <= max_seq` here, so this cannot underflow; checked anyway.
        let Some(behind) = self.max_seq.checked_sub(seq) else {
            return false;
        };
        if behind >= WINDOW_SIZE {
            // Left of the window: "Records that contain sequence numbers lower
            // than the 'left' edge of the window are rejected."
            return false;
        }
        self.bitmap & bit(behind) == 0
    }

    /// Marks `seq` received, sliding the window when it is the new highest.
    ///
    /// Call only after the record authenticated (RFC 6347 §4.1.2.6). Marking
    /// a number already marked, or one left of the window, is a harmless
    /// no-op; numbers above [`MAX_SEQ`] are ignored.
    pub fn update(&mut self, seq: u64) {
        if seq > MAX_SEQ {
            return;
        }
        if !self.seen {
            self.seen = true;
            self.max_seq = seq;
            self.bitmap = 1;
            return;
        }
        if seq > self.max_seq {
            // New right edge: shift old entries left by the distance moved.
            // A jump of 64 or more leaves nothing of the old window.
            let shift = seq.saturating_sub(self.max_seq);
            self.bitmap = u32::try_from(shift)
                .ok()
                .and_then(|s| self.bitmap.checked_shl(s))
                .unwrap_or(0)
                | 1;
            self.max_seq = seq;
        } else if let Some(behind) = self.max_seq.checked_sub(seq) {
            if behind < WINDOW_SIZE {
                self.bitmap |= bit(behind);
            }
        }
    }

    /// The highest sequence number marked received, if any.
    pub fn highest(&self) -> Option<u64> {
        self.seen.then_some(self.max_seq)
    }
}

/// The bitmap bit for a record `behind` positions below the right edge
/// (0 when out of range, so callers never shift by 64 or more).
fn bit(behind: u64) -> u64 {
    u32::try_from(behind)
        .ok()
        .and_then(|b| 1u64.checked_shl(b))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// Check-then-update, as the record layer does for an authentic record.
    fn accept(w: &mut ReplayWindow, seq: u64) -> bool {
        let ok = w.check(seq);
        if ok {
            w.update(seq);
        }
        ok
    }

    #[test]
    fn empty_window_accepts_anything_valid() {
        let w = ReplayWindow::new();
        assert!(w.check(0));
        assert!(w.check(1));
        assert!(w.check(MAX_SEQ));
        assert!(!w.check(MAX_SEQ + 1));
        assert!(!w.check(u64::MAX));
        assert_eq!(w.highest(), None);
    }

    #[test]
    fn seq_zero_first() {
        let mut w = ReplayWindow::new();
        assert!(accept(&mut w, 0));
        assert!(!w.check(0));
        assert_eq!(w.highest(), Some(0));
        assert!(accept(&mut w, 1));
        assert!(!w.check(0));
        assert!(!w.check(1));
    }

    #[test]
    fn check_does_not_mutate() {
        let mut w = ReplayWindow::new();
        assert!(w.check(5));
        assert!(w.check(5));
        w.update(10);
        assert!(w.check(5));
        assert!(w.check(5));
        assert!(w.check(11));
        assert_eq!(w.highest(), Some(10));
    }

    #[test]
    fn duplicates_rejected() {
        let mut w = ReplayWindow::new();
        for s in 0..200 {
            assert!(accept(&mut w, s));
            assert!(!w.check(s));
        }
        for s in 0..200 {
            assert!(!w.check(s), "seq {s}");
        }
    }

    #[test]
    fn out_of_order_inside_window_accepted_once() {
        let mut w = ReplayWindow::new();
        assert!(accept(&mut w, 100));
        // Left edge is 100 - 63 = 37.
        for s in (37..100).rev() {
            assert!(w.check(s), "seq {s}");
        }
        assert!(!w.check(36));
        assert!(accept(&mut w, 50));
        assert!(!w.check(50));
        assert!(accept(&mut w, 37));
        assert!(!w.check(37));
        assert!(accept(&mut w, 99));
        assert!(!accept(&mut w, 99));
        assert!(w.check(98));
    }

    #[test]
    fn old_beyond_window_rejected() {
        let mut w = ReplayWindow::new();
        w.update(64);
        assert!(w.check(1)); // 63 behind: inside.
        assert!(!w.check(0)); // 64 behind: left of window.
        w.update(1000);
        assert!(!w.check(936));
        assert!(w.check(937));
        assert!(!w.check(64));
        // Updating with something left of the window changes nothing.
        let before = w.clone();
        w.update(3);
        assert_eq!(w.bitmap, before.bitmap);
        assert_eq!(w.max_seq, before.max_seq);
    }

    #[test]
    fn slide_keeps_marks_within_window() {
        let mut w = ReplayWindow::new();
        w.update(10);
        w.update(8);
        w.update(40); // slide by 30
        assert!(!w.check(10));
        assert!(!w.check(8));
        assert!(w.check(9));
        w.update(73); // 10 is now 63 behind, 9 and 8 are out
        assert!(!w.check(10));
        assert!(!w.check(9));
        assert!(w.check(11));
        w.update(74);
        assert!(!w.check(10));
        assert!(w.check(11));
    }

    #[test]
    fn big_jumps() {
        let mut w = ReplayWindow::new();
        w.update(5);
        w.update(5 + 64);
        assert!(!w.check(5));
        assert!(w.check(6));
        w.update(1 << 40);
        assert!(!w.check(6));
        assert!(w.check((1 << 40) - 1));
        assert!(!w.check(1 << 40));
        w.update(MAX_SEQ);
        assert!(!w.check(MAX_SEQ));
        assert!(!w.check(1 << 40));
        assert!(w.check(MAX_SEQ - 1));
        assert!(w.check(MAX_SEQ - 63));
        assert!(!w.check(MAX_SEQ - 64));
    }

    #[test]
    fn max_seq_edges() {
        let mut w = ReplayWindow::new();
        assert!(accept(&mut w, MAX_SEQ));
        assert!(!accept(&mut w, MAX_SEQ));
        assert!(accept(&mut w, MAX_SEQ - 1));
        assert!(!w.check(MAX_SEQ + 1));
        w.update(MAX_SEQ + 1);
        w.update(u64::MAX);
        assert_eq!(w.highest(), Some(MAX_SEQ));
        assert!(w.check(MAX_SEQ - 2));
        assert!(!w.check(0));
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
    }

    /// Compares against a model that remembers every accepted number.
    #[test]
    fn randomized_against_model() {
        for seed in 0..20u64 {
            let mut rng = Lcg(seed);
            let mut w = ReplayWindow::new();
            let mut seen: HashSet<u64> = HashSet::new();
            let mut max: Option<u64> = None;
            let mut base = 0u64;
            for _ in 0..5000 {
                let r = rng.next();
                // Mostly near the edge, sometimes a jump or a far-old number.
                let seq = match r % 10 {
                    0 => {
                        base += rng.next() % 200;
                        base
                    }
                    1 => base.saturating_sub(rng.next() % 300),
                    _ => (base + rng.next() % 8).saturating_sub(rng.next() % 70),
                }
                .min(MAX_SEQ);
                let expected = match max {
                    None => true,
                    Some(m) if seq > m => true,
                    Some(m) => m - seq < 64 && !seen.contains(&seq),
                };
                assert_eq!(w.check(seq), expected, "seed {seed} seq {seq}");
                // Simulate some records failing authentication.
                if expected && rng.next() & 7 != 0 {
                    w.update(seq);
                    seen.insert(seq);
                    max = Some(max.map_or(seq, |m| m.max(seq)));
                }
                base = base.max(max.unwrap_or(0));
            }
        }
    }
}
