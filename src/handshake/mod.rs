//! Version-neutral handshake machinery: outgoing flights, reassembly and timers.

pub mod flight;
pub mod reassembly;
pub mod timer;
