//! Version-neutral handshake machinery: outgoing flights, reassembly, timers and the transcript.

pub mod flight;
pub mod reassembly;
pub mod timer;
pub mod transcript;
