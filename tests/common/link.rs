//! A seeded, simulated datagram network between two endpoints `A` and `B`,
//! driven by a virtual clock in milliseconds that the test owns. It only
//! moves `Vec<u8>` datagrams, so it works with any endpoint type.
//!
//! Every impairment is decided when a datagram is sent, from a small
//! deterministic PRNG, so a failing run replays exactly from its seed.
//!
//! Typical loop (virtual time, no sleeping):
//! ```ignore
//! let mut link = Link::new(LinkConfig { loss: 0.2, seed: 7, ..Default::default() });
//! let mut now = 0u64;
//! while now < 60_000 && !(a.done() && b.done()) {
//!     for d in a.poll_output(now) { link.send(now, Side::A, d) }
//!     for d in b.poll_output(now) { link.send(now, Side::B, d) }
//!     for (to, d) in link.deliver(now) {
//!         match to { Side::A => a.feed(now, &d), Side::B => b.feed(now, &d) }
//!     }
//!     // Jump to the next event: a delivery or either side's timer.
//!     now = [link.next_delivery(), a.next_timeout(), b.next_timeout()]
//!         .into_iter().flatten().min().unwrap_or(now + 10).max(now + 1);
//! }
//! ```

use std::collections::BTreeMap;

/// Impairments of a [`Link`]. Probabilities are per datagram, in `0.0..=1.0`.
#[derive(Clone, Debug)]
pub struct LinkConfig {
    /// Probability a datagram is dropped.
    pub loss: f64,
    /// Probability a datagram is delivered twice (the copy 1 ms later).
    pub duplicate: f64,
    /// Probability a datagram is held back long enough for datagrams sent
    /// after it to overtake it.
    pub reorder: f64,
    /// Probability one random bit of the datagram is flipped.
    pub corrupt: f64,
    /// One-way delay.
    pub latency_ms: u64,
    /// Extra uniform delay in `0..=jitter_ms` (jitter alone also reorders).
    pub jitter_ms: u64,
    /// Datagrams larger than this are dropped and counted as `oversize`.
    pub mtu: usize,
    /// PRNG seed: same seed and same sends give the same outcome.
    pub seed: u64,
}

impl Default for LinkConfig {
    fn default() -> Self {
        LinkConfig {
            loss: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            corrupt: 0.0,
            latency_ms: 10,
            jitter_ms: 0,
            mtu: 1500,
            seed: 1,
        }
    }
}

/// An end of the link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Side {
    A,
    B,
}

impl Side {
    /// The opposite end.
    pub fn other(self) -> Side {
        match self {
            Side::A => Side::B,
            Side::B => Side::A,
        }
    }
}

/// Counters of what the link did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Datagrams handed to `send`.
    pub sent: u64,
    /// Dropped by random loss.
    pub lost: u64,
    /// Extra copies scheduled.
    pub duplicated: u64,
    /// Datagrams with a flipped bit.
    pub corrupted: u64,
    /// Datagrams held back for reordering.
    pub reordered: u64,
    /// Dropped for exceeding the MTU.
    pub oversize: u64,
    /// Datagrams handed out by `deliver`.
    pub delivered: u64,
}

/// splitmix64: tiny, fast, well distributed, and deterministic. This is a
/// network simulation, not cryptography.
#[derive(Clone, Debug)]
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `0..=max`.
    fn upto(&mut self, max: u64) -> u64 {
        match max.checked_add(1) {
            Some(n) => self.next_u64() % n,
            None => self.next_u64(),
        }
    }
}

/// The simulated network. See the module docs for a driving loop.
#[derive(Debug)]
pub struct Link {
    cfg: LinkConfig,
    rng: Rng,
    /// Keyed by (delivery time, send order) so equal times keep FIFO order.
    pending: BTreeMap<(u64, u64), (Side, Vec<u8>)>,
    order: u64,
    stats: LinkStats,
}

impl Link {
    pub fn new(cfg: LinkConfig) -> Self {
        let rng = Rng(cfg.seed);
        Link {
            cfg,
            rng,
            pending: BTreeMap::new(),
            order: 0,
            stats: LinkStats::default(),
        }
    }

    /// Queues a datagram sent at `now` from `from`. Loss, duplication,
    /// corruption, reordering and delay are all decided here. A fixed number
    /// of PRNG draws is made per datagram so that changing one probability
    /// does not reshuffle the fate of every later datagram.
    pub fn send(&mut self, now: u64, from: Side, datagram: Vec<u8>) {
        self.stats.sent += 1;
        let r_loss = self.rng.unit();
        let r_dup = self.rng.unit();
        let r_corrupt = self.rng.unit();
        let r_bit = self.rng.next_u64();
        let r_reorder = self.rng.unit();
        let r_hold = self.rng.upto(self.cfg.latency_ms.max(1));
        let r_jitter = self.rng.upto(self.cfg.jitter_ms);
        let r_jitter_dup = self.rng.upto(self.cfg.jitter_ms);

        if datagram.len() > self.cfg.mtu {
            self.stats.oversize += 1;
            return;
        }
        if r_loss < self.cfg.loss {
            self.stats.lost += 1;
            return;
        }
        let mut datagram = datagram;
        if r_corrupt < self.cfg.corrupt && !datagram.is_empty() {
            let bits = datagram.len() as u64 * 8;
            let bit = r_bit % bits;
            // `bit / 8 < len` because `bit < len * 8`.
            if let Some(byte) = datagram.get_mut((bit / 8) as usize) {
                *byte ^= 1 << (bit % 8);
            }
            self.stats.corrupted += 1;
        }
        let to = from.other();
        let mut delay = self.cfg.latency_ms.saturating_add(r_jitter);
        if r_reorder < self.cfg.reorder {
            // Held past the whole latency + jitter window plus a random
            // amount, so anything sent within that window overtakes it.
            delay = delay
                .saturating_add(self.cfg.latency_ms + self.cfg.jitter_ms + 1)
                .saturating_add(r_hold);
            self.stats.reordered += 1;
        }
        if r_dup < self.cfg.duplicate {
            let dup_delay = self
                .cfg
                .latency_ms
                .saturating_add(r_jitter_dup)
                .saturating_add(1);
            self.push(now.saturating_add(dup_delay), to, datagram.clone());
            self.stats.duplicated += 1;
        }
        self.push(now.saturating_add(delay), to, datagram);
    }

    fn push(&mut self, at: u64, to: Side, datagram: Vec<u8>) {
        self.pending.insert((at, self.order), (to, datagram));
        self.order += 1;
    }

    /// Earliest delivery time pending, if any.
    pub fn next_delivery(&self) -> Option<u64> {
        self.pending.keys().next().map(|(t, _)| *t)
    }

    /// Pops every datagram due at or before `now`, in delivery order, as
    /// `(to, datagram)`.
    pub fn deliver(&mut self, now: u64) -> Vec<(Side, Vec<u8>)> {
        let mut out = Vec::new();
        while let Some(entry) = self.pending.first_entry() {
            if entry.key().0 > now {
                break;
            }
            out.push(entry.remove());
        }
        self.stats.delivered += out.len() as u64;
        out
    }

    /// Number of datagrams in flight.
    pub fn in_flight(&self) -> usize {
        self.pending.len()
    }

    pub fn stats(&self) -> LinkStats {
        self.stats
    }

    pub fn config(&self) -> &LinkConfig {
        &self.cfg
    }
}
