//! Handshake retransmission timer (RFC 6347 §4.2.4 / §4.2.4.1, RFC 9147 §5.8).
//!
//! Sans-IO: every time is a `u64` number of milliseconds on the caller's
//! monotonic clock, passed in as `now`. The engine never reads a clock; it
//! reports [`RetransmitTimer::deadline`] so the caller knows when to call back.

/// Exponential-backoff retransmission timer for one handshake flight.
///
/// RFC 6347 §4.2.4.1 and RFC 9147 §5.8.2 recommend an initial timer of
/// 1000 ms, doubled at each retransmission "up to no less than 60 seconds";
/// both values are configurable because profiles differ (e.g. 400 ms for
/// DTLS-SRTP, RFC 9147 §5.8.2).
#[derive(Debug, Clone)]
pub struct RetransmitTimer {
    /// RTO restored by [`RetransmitTimer::reset`].
    initial_ms: u64,
    /// Ceiling for the doubled RTO.
    max_ms: u64,
    /// RTO used by the next [`RetransmitTimer::arm`].
    rto_ms: u64,
    /// Absolute expiry time when armed.
    deadline: Option<u64>,
    /// Backoffs since creation or the last reset.
    retransmissions: u32,
}

impl RetransmitTimer {
    /// Creates a stopped timer.
    ///
    /// `max_ms` is raised to at least 1, and `initial_ms` is clamped into
    /// `1..=max_ms`: a zero RTO would make the timer expire on the same
    /// instant it is armed and turn retransmission into a busy loop, which
    /// is exactly the congestion problem RFC 9147 §5.8.2 warns about.
    pub fn new(initial_ms: u64, max_ms: u64) -> Self {
        let max_ms = max_ms.max(1);
        let initial_ms = initial_ms.clamp(1, max_ms);
        Self {
            initial_ms,
            max_ms,
            rto_ms: initial_ms,
            deadline: None,
            retransmissions: 0,
        }
    }

    /// Arms (or re-arms) the timer to expire at `now` + current RTO.
    ///
    /// Saturates at `u64::MAX` instead of wrapping, so a clock near the end
    /// of its range can never produce a deadline in the past.
    pub fn arm(&mut self, now: u64) {
        self.deadline = Some(now.saturating_add(self.rto_ms));
    }

    /// Disarms the timer, e.g. when the peer's next flight has arrived
    /// (RFC 6347 §4.2.4, leaving the WAITING state) or the handshake is
    /// FINISHED. The RTO is kept.
    pub fn stop(&mut self) {
        self.deadline = None;
    }

    /// The absolute expiry time, or `None` when stopped.
    pub fn deadline(&self) -> Option<u64> {
        self.deadline
    }

    /// True when armed and `now >= deadline`.
    pub fn is_expired(&self, now: u64) -> bool {
        self.deadline.is_some_and(|d| now >= d)
    }

    /// Doubles the RTO up to the maximum and counts one retransmission.
    ///
    /// Call on expiry, before re-arming: RFC 6347 §4.2.4.1 / RFC 9147 §5.8.2
    /// "double the value at each retransmission". Does not touch the
    /// deadline.
    pub fn backoff(&mut self) {
        self.rto_ms = self.rto_ms.saturating_mul(2).min(self.max_ms);
        self.retransmissions = self.retransmissions.saturating_add(1);
    }

    /// Restores the initial RTO and zeroes the retransmission count, after
    /// the peer made progress (RFC 6347 §4.2.4.1: keep the current value
    /// "until a transmission without loss occurs, at which time the value
    /// may be reset"). Does not touch the deadline.
    pub fn reset(&mut self) {
        self.rto_ms = self.initial_ms;
        self.retransmissions = 0;
    }

    /// The RTO the next [`RetransmitTimer::arm`] will use, in milliseconds.
    pub fn current_rto(&self) -> u64 {
        self.rto_ms
    }

    /// Number of backoffs since creation or the last reset; lets the engine
    /// give up after a retransmission limit.
    pub fn retransmissions(&self) -> u32 {
        self.retransmissions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_is_stopped() {
        let t = RetransmitTimer::new(1000, 60_000);
        assert_eq!(t.deadline(), None);
        assert!(!t.is_expired(0));
        assert!(!t.is_expired(u64::MAX));
        assert_eq!(t.current_rto(), 1000);
        assert_eq!(t.retransmissions(), 0);
    }

    #[test]
    fn clamping() {
        assert_eq!(RetransmitTimer::new(0, 60_000).current_rto(), 1);
        assert_eq!(RetransmitTimer::new(90_000, 60_000).current_rto(), 60_000);
        assert_eq!(RetransmitTimer::new(0, 0).current_rto(), 1);
        assert_eq!(RetransmitTimer::new(5, 0).current_rto(), 1);
        let mut t = RetransmitTimer::new(0, 0);
        t.backoff();
        assert_eq!(t.current_rto(), 1);
        t.arm(10);
        assert_eq!(t.deadline(), Some(11));
    }

    #[test]
    fn schedule_doubles_and_caps() {
        let mut t = RetransmitTimer::new(1000, 60_000);
        let mut seen = vec![t.current_rto()];
        for _ in 0..8 {
            t.backoff();
            seen.push(t.current_rto());
        }
        assert_eq!(
            seen,
            [1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000]
        );
        assert_eq!(t.retransmissions(), 8);
    }

    #[test]
    fn arm_and_expire_exact_boundaries() {
        let mut t = RetransmitTimer::new(1000, 60_000);
        t.arm(5000);
        assert_eq!(t.deadline(), Some(6000));
        assert!(!t.is_expired(5000));
        assert!(!t.is_expired(5999));
        assert!(t.is_expired(6000));
        assert!(t.is_expired(6001));
        // Expiry cycle: back off, re-arm from the expiry time.
        t.backoff();
        t.arm(6000);
        assert_eq!(t.deadline(), Some(8000));
        assert!(!t.is_expired(7999));
        assert!(t.is_expired(8000));
        t.stop();
        assert_eq!(t.deadline(), None);
        assert!(!t.is_expired(u64::MAX));
        // Re-arming replaces the old deadline.
        t.arm(0);
        t.arm(100);
        assert_eq!(t.deadline(), Some(2100));
    }

    #[test]
    fn backoff_and_reset_leave_deadline_alone() {
        let mut t = RetransmitTimer::new(1000, 60_000);
        t.arm(0);
        t.backoff();
        assert_eq!(t.deadline(), Some(1000));
        t.reset();
        assert_eq!(t.deadline(), Some(1000));
    }

    #[test]
    fn reset_restores_initial() {
        let mut t = RetransmitTimer::new(400, 10_000);
        t.backoff();
        t.backoff();
        assert_eq!(t.current_rto(), 1600);
        assert_eq!(t.retransmissions(), 2);
        t.reset();
        assert_eq!(t.current_rto(), 400);
        assert_eq!(t.retransmissions(), 0);
        t.backoff();
        assert_eq!(t.current_rto(), 800);
    }

    #[test]
    fn saturating_near_u64_max() {
        let mut t = RetransmitTimer::new(1000, u64::MAX);
        t.arm(u64::MAX - 10);
        assert_eq!(t.deadline(), Some(u64::MAX));
        assert!(!t.is_expired(u64::MAX - 1));
        assert!(t.is_expired(u64::MAX));
        for _ in 0..100 {
            t.backoff();
        }
        assert_eq!(t.current_rto(), u64::MAX);
        t.arm(1);
        assert_eq!(t.deadline(), Some(u64::MAX));

        let mut t = RetransmitTimer::new(u64::MAX, u64::MAX);
        t.backoff();
        assert_eq!(t.current_rto(), u64::MAX);
        t.arm(0);
        assert_eq!(t.deadline(), Some(u64::MAX));
    }

    #[test]
    fn retransmission_count_saturates() {
        let mut t = RetransmitTimer::new(1, 1);
        t.retransmissions = u32::MAX - 1;
        t.backoff();
        t.backoff();
        assert_eq!(t.retransmissions(), u32::MAX);
    }
}
