//! The wire codec: every DTLS message, record header and extension we read or write.

pub mod ack;
pub mod alert;
pub mod codec;
pub mod enums;
pub mod extensions;
pub mod extensions13;
pub mod handshake;
pub mod handshake13;
pub mod record;
pub mod record13;
#[cfg(test)]
mod tests13_openssl;
