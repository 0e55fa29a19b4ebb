//! The counting global allocator of the test binaries that measure heap: `System`, plus
//! per-thread counters of live bytes, their peak, and allocation calls.
//!
//! The test harness runs tests on parallel threads, and the engine starts none, so a counter
//! per thread measures exactly what the running test did. A binary opts in with one line:
//!
//! ```ignore
//! #[global_allocator]
//! static ALLOC: common::alloc::Counting = common::alloc::Counting;
//! ```
//!
//! In a binary without that line the functions below read zeros: a test that relies on them
//! would see no heap at all, so declare the allocator in every binary that calls them.
//!
//! (The benchmark has its own process-wide allocator in `benches/support/alloc.rs`: it also
//! routes OpenSSL's heap through it and is read from one thread, which these are not.)

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// `System`, counting per thread. Install it with `#[global_allocator]`.
pub struct Counting;

thread_local! {
    // Const-initialised, no destructor: usable from inside the allocator without allocating.
    static LIVE: Cell<i64> = const { Cell::new(0) };
    static PEAK: Cell<i64> = const { Cell::new(0) };
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

fn track(delta: i64, calls: u64) {
    // `try_with`: the allocator also runs while thread-locals are torn down.
    let _ = LIVE.try_with(|l| {
        let v = l.get() + delta;
        l.set(v);
        let _ = PEAK.try_with(|p| p.set(p.get().max(v)));
    });
    if calls > 0 {
        let _ = ALLOCS.try_with(|a| a.set(a.get() + calls));
    }
}

// SAFETY: every call is forwarded to `System` with the caller's layout unchanged; the counters
// are thread-local cells with const initialisers (no allocation, no destructor) and never
// influence what is returned.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            track(layout.size() as i64, 1);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            track(layout.size() as i64, 1);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        track(-(layout.size() as i64), 0);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            // A growing buffer is an allocation as far as "none per record" is concerned.
            track(new_size as i64 - layout.size() as i64, 1);
        }
        p
    }
}

/// Live heap bytes this thread allocated and has not freed (requested sizes).
pub fn live() -> i64 {
    LIVE.with(Cell::get)
}

/// Allocation calls this thread made so far (a `realloc` counts as one).
pub fn allocs() -> u64 {
    ALLOCS.with(Cell::get)
}

/// Starts a new peak measurement at the current live bytes, and returns them.
pub fn reset_peak() -> i64 {
    let now = live();
    PEAK.with(|p| p.set(now));
    now
}

/// Highest live bytes of this thread since the last `reset_peak`.
pub fn peak() -> i64 {
    PEAK.with(Cell::get)
}

/// Resident set size of the process in bytes, from `/proc/self/statm` (second field, pages;
/// pages are 4 KiB on the platforms CI runs on). `None` where there is no procfs.
pub fn rss() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = s.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}
