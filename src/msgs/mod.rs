//! The wire codec: every DTLS message, record header and extension we read or write.

pub mod alert;
pub mod codec;
pub mod enums;
pub mod extensions;
pub mod handshake;
pub mod record;
pub mod record13;
