//! Time. The engine never reads a clock: every mutating call takes `now`, a millisecond count
//! on the caller's monotonic clock. Certificate validity needs wall-clock time, which comes from
//! a [`WallClock`] in the config.

use std::fmt;
use std::sync::Arc;

/// Milliseconds on the caller's monotonic clock.
pub type Millis = u64;

/// A source of Unix time in seconds, for certificate validity checks only.
#[derive(Clone)]
pub struct WallClock(Arc<dyn Fn() -> u64 + Send + Sync>);

impl WallClock {
    /// The operating system's wall clock. This is the one place the crate asks the OS for
    /// time, and only when a certificate chain is validated.
    pub fn system() -> Self {
        WallClock(Arc::new(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0)
        }))
    }

    /// A fixed or test-controlled time source.
    pub fn from_fn(f: impl Fn() -> u64 + Send + Sync + 'static) -> Self {
        WallClock(Arc::new(f))
    }

    /// Seconds since the Unix epoch.
    pub fn unix_secs(&self) -> u64 {
        (self.0)()
    }
}

impl fmt::Debug for WallClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WallClock")
    }
}
