//! The engine tests that need no peer process, in one test binary (one link instead of six):
//! two of our endpoints over the simulated link (`engine_pair`, `limits`, `robustness`,
//! `secrets`, `zero_copy`) and the engine against a scripted hostile peer (`state_machine`).
//! Run one group with a filter, e.g. `cargo test --test engine robustness::`.
//!
//! Kept apart: `flood` (it measures the process RSS, which other tests running alongside
//! would disturb), `memory` (documented as `cargo test --test memory`), `impairment` (it
//! includes its simulation by path, shared with `examples/impairment_matrix.rs`) and the
//! interop tests (peer processes and OpenSSL).

#[path = "../common/mod.rs"]
mod common;

mod engine_pair;
mod limits;
mod robustness;
mod secrets;
mod state_machine;
mod state_machine13;
mod zero_copy;

/// Per-thread heap counters for `robustness` (every test runs on its own thread, so the
/// other modules do not disturb its figures).
#[global_allocator]
static ALLOC: common::alloc::Counting = common::alloc::Counting;
