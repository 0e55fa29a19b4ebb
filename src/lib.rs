//! # dtls-proto
//!
//! A sans-IO DTLS engine. The caller owns the socket and the clock: it feeds whole UDP
//! datagrams in with [`Connection::handle_datagram`], sends what
//! [`Connection::poll_transmit`] produces, reads [`Event`]s, and calls
//! [`Connection::handle_timeout`] when [`Connection::next_timeout`] passes.
//!
//! ```
//! use dtls_proto::{Certificate, Config, Connection, Role, Event};
//! let server_cert = Certificate::generate("server").unwrap();
//! let client_cert = Certificate::generate("client").unwrap();
//! let server_fp = server_cert.fingerprint(dtls_proto::HashAlg::Sha256).to_sdp();
//! let client_fp = client_cert.fingerprint(dtls_proto::HashAlg::Sha256).to_sdp();
//!
//! let scfg = Config::builder().certificate(server_cert).build().unwrap();
//! let ccfg = Config::builder().certificate(client_cert).build().unwrap();
//! let mut client = Connection::new(ccfg, Role::Client, None, 0).unwrap();
//! let mut server = Connection::new(scfg, Role::Server, None, 0).unwrap();
//! client.add_peer_fingerprint(&server_fp).unwrap();
//! server.add_peer_fingerprint(&client_fp).unwrap();
//!
//! let mut buf = [0u8; 1500];
//! let now = 0;
//! for _ in 0..10 {
//!     while let Some(n) = client.poll_transmit(now, &mut buf).unwrap() {
//!         server.handle_datagram(now, &buf[..n]).unwrap();
//!     }
//!     while let Some(n) = server.poll_transmit(now, &mut buf).unwrap() {
//!         client.handle_datagram(now, &buf[..n]).unwrap();
//!     }
//! }
//! let mut connected = false;
//! while let Some(ev) = client.poll_event() {
//!     connected |= matches!(ev, Event::Connected(_));
//! }
//! assert!(connected);
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod cert;
pub(crate) mod common;
pub mod config;
pub mod connection;
pub mod crypto;
pub mod demux;
pub(crate) mod dtls12;
pub(crate) mod dtls13;
pub mod error;
pub mod event;
pub mod front_door;
pub mod handshake;
pub mod msgs;
pub mod names;
pub(crate) mod negotiate;
pub mod record;
pub mod sdp;
pub mod srtp;
pub mod stats;
pub mod suites;
pub mod time;
pub mod types;
pub mod verify;

pub use cert::{CertError, Certificate, Fingerprint};
pub use config::{
    ClientAuth, Config, ConfigBuilder, ExtendedMasterSecret, Limits, PeerVerification,
};
pub use connection::{Connection, Role};
pub use crypto::hash::HashAlg;
pub use crypto::sign::KeyKind;
pub use error::Error;
pub use event::{Event, Negotiated};
/// The front door under its former name.
pub use front_door as server;
pub use front_door::{Admission, ServerFrontDoor, Verdict};
pub use msgs::enums::{AlertDescription, CipherSuite, NamedGroup, ProtocolVersion};
pub use srtp::SrtpKeyingMaterial;
pub use stats::Stats;
pub use time::{Millis, WallClock};
