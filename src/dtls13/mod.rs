//! DTLS 1.3 (RFC 9147): the key schedule; the client and server state machines join it.

pub(crate) mod key_schedule;
