//! A counting global allocator, and hooks that route OpenSSL's heap through it.
//!
//! The bench binary is single-threaded (neither ring nor OpenSSL start threads here), so the
//! counters use plain relaxed load + store instead of read-modify-write atomics: no `lock`
//! prefix on the allocation path, hence no distortion of the timed sections. Counts would only
//! be approximate if a second thread allocated concurrently; memory safety does not depend on
//! them.

use std::alloc::{GlobalAlloc, Layout, System};
use std::ffi::{c_char, c_int, c_void};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};

/// The global allocator of the bench binary: `System`, plus counters.
pub struct Counting;

static LIVE: AtomicI64 = AtomicI64::new(0);
static ALLOCS: AtomicU64 = AtomicU64::new(0);
static ALLOCATED: AtomicU64 = AtomicU64::new(0);

#[inline]
fn add_live(d: i64) {
    LIVE.store(LIVE.load(Relaxed).wrapping_add(d), Relaxed);
}

#[inline]
fn count_alloc(bytes: usize) {
    ALLOCS.store(ALLOCS.load(Relaxed).wrapping_add(1), Relaxed);
    ALLOCATED.store(ALLOCATED.load(Relaxed).wrapping_add(bytes as u64), Relaxed);
    add_live(bytes as i64);
}

// SAFETY: every call is forwarded to `System` with the caller's layout unchanged; the counters
// never influence what is returned.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            count_alloc(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            count_alloc(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        add_live(-(layout.size() as i64));
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            // A growing Vec is an allocation as far as "zero allocations per record" goes.
            ALLOCS.store(ALLOCS.load(Relaxed).wrapping_add(1), Relaxed);
            ALLOCATED.store(
                ALLOCATED.load(Relaxed).wrapping_add(new_size as u64),
                Relaxed,
            );
            add_live(new_size as i64 - layout.size() as i64);
        }
        p
    }
}

/// Counter values at one instant.
#[derive(Clone, Copy, Debug)]
pub struct Snapshot {
    /// Bytes currently allocated (requested sizes, no allocator overhead).
    pub live: i64,
    /// Allocation calls so far (realloc counts as one).
    pub allocs: u64,
    /// Bytes requested so far.
    pub allocated: u64,
}

pub fn snapshot() -> Snapshot {
    Snapshot {
        live: LIVE.load(Relaxed),
        allocs: ALLOCS.load(Relaxed),
        allocated: ALLOCATED.load(Relaxed),
    }
}

impl Snapshot {
    /// Counters accumulated since `earlier`: (live bytes delta, allocations, bytes allocated).
    pub fn since(&self, earlier: &Snapshot) -> (i64, u64, u64) {
        (
            self.live - earlier.live,
            self.allocs - earlier.allocs,
            self.allocated - earlier.allocated,
        )
    }
}

// --- OpenSSL ---------------------------------------------------------------------------------

type MallocFn = unsafe extern "C" fn(usize, *const c_char, c_int) -> *mut c_void;
type ReallocFn = unsafe extern "C" fn(*mut c_void, usize, *const c_char, c_int) -> *mut c_void;
type FreeFn = unsafe extern "C" fn(*mut c_void, *const c_char, c_int);

extern "C" {
    // libcrypto (OpenSSL >= 1.1), linked through openssl-sys; not bound by it.
    fn CRYPTO_set_mem_functions(
        m: Option<MallocFn>,
        r: Option<ReallocFn>,
        f: Option<FreeFn>,
    ) -> c_int;
}

/// Size header in front of each OpenSSL block (keeps 16-byte alignment).
const HDR: usize = 16;

fn ossl_layout(n: usize) -> Option<Layout> {
    Layout::from_size_align(n.checked_add(HDR)?, 16).ok()
}

unsafe extern "C" fn ossl_malloc(n: usize, _: *const c_char, _: c_int) -> *mut c_void {
    let Some(layout) = ossl_layout(n) else {
        return std::ptr::null_mut();
    };
    // SAFETY: nonzero size (HDR > 0); the block is at least HDR bytes and 16-aligned.
    unsafe {
        let p = std::alloc::alloc(layout);
        if p.is_null() {
            return std::ptr::null_mut();
        }
        // Count what OpenSSL asked for, not our header.
        add_live(-(HDR as i64));
        p.cast::<usize>().write(n);
        p.add(HDR).cast()
    }
}

unsafe extern "C" fn ossl_free(ptr: *mut c_void, _: *const c_char, _: c_int) {
    if ptr.is_null() {
        return;
    }
    // SAFETY: `ptr` came from ossl_malloc/ossl_realloc, which put the size HDR bytes before.
    unsafe {
        let base = ptr.cast::<u8>().sub(HDR);
        let n = base.cast::<usize>().read();
        add_live(HDR as i64);
        std::alloc::dealloc(base, Layout::from_size_align_unchecked(n + HDR, 16));
    }
}

unsafe extern "C" fn ossl_realloc(
    ptr: *mut c_void,
    n: usize,
    file: *const c_char,
    line: c_int,
) -> *mut c_void {
    if ptr.is_null() {
        // SAFETY: same contract as malloc.
        return unsafe { ossl_malloc(n, file, line) };
    }
    if n == 0 {
        // SAFETY: `ptr` is one of ours.
        unsafe { ossl_free(ptr, file, line) };
        return std::ptr::null_mut();
    }
    let Some(new_layout) = ossl_layout(n) else {
        return std::ptr::null_mut();
    };
    // SAFETY: `ptr` is one of ours (size stored in front); realloc keeps the alignment.
    unsafe {
        let base = ptr.cast::<u8>().sub(HDR);
        let old = base.cast::<usize>().read();
        let p = std::alloc::realloc(
            base,
            Layout::from_size_align_unchecked(old + HDR, 16),
            new_layout.size(),
        );
        if p.is_null() {
            return std::ptr::null_mut();
        }
        p.cast::<usize>().write(n);
        p.add(HDR).cast()
    }
}

/// Routes OpenSSL's malloc/realloc/free through the counting allocator. Must run before
/// OpenSSL allocates anything (first thing in `main`); returns false if it was too late.
pub fn hook_openssl() -> bool {
    // SAFETY: the three functions implement malloc/realloc/free semantics consistently.
    unsafe { CRYPTO_set_mem_functions(Some(ossl_malloc), Some(ossl_realloc), Some(ossl_free)) == 1 }
}
