//! DTLS 1.3 handshake message bodies (RFC 8446 §4 as amended by RFC 9147 §5), the pieces of
//! the 1.3 transcript (4-byte TLS header, message_hash after a HelloRetryRequest), the
//! CertificateVerify signed content, and the downgrade sentinels.
//!
//! The ClientHello is shared with DTLS 1.2 ([`super::handshake::ClientHello`]: DTLS 1.3 keeps
//! legacy_cookie) and CertificateVerify is [`DigitallySigned`]. Bodies are without any header;
//! decoding rejects trailing bytes and never panics.

pub use super::extensions13::DecodeError13;

use super::codec::{Codec, Reader, Writer};
use super::enums::{CipherSuite, HandshakeType, KeyUpdateRequest, ProtocolVersion};
use super::extensions::Extensions;
use super::extensions13::{finish, need, require, SignatureAlgorithms};
use crate::connection::Role;

// Re-exported so the 1.3 state machine finds every body here.
pub use super::handshake::DigitallySigned;

/// Bytes in the TLS handshake header the 1.3 transcript uses (RFC 9147 §5.2).
pub const TLS_HANDSHAKE_HEADER_LEN: usize = 4;

/// The 4-byte TLS handshake header (msg_type, uint24 length) that stands before each message in
/// the DTLS 1.3 transcript: RFC 9147 §5.2 computes the transcript "over the original TLS
/// 1.3-style Handshake messages without the message_seq, fragment_offset, and fragment_length".
pub fn tls_handshake_header(msg_type: HandshakeType, body_len: usize) -> [u8; 4] {
    let l = (body_len as u32).to_be_bytes();
    [msg_type.get(), l[1], l[2], l[3]]
}

/// A whole message in its transcript form: the 4-byte header and the body.
pub fn transcript_message(msg_type: HandshakeType, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(TLS_HANDSHAKE_HEADER_LEN + body.len());
    out.extend_from_slice(&tls_handshake_header(msg_type, body.len()));
    out.extend_from_slice(body);
    out
}

/// The synthetic message_hash message (RFC 8446 §4.4.1) that replaces ClientHello1 in the
/// transcript after a HelloRetryRequest: `message_hash(254) || 00 00 Hash.length ||
/// Hash(ClientHello1)`. `client_hello1_hash` is the transcript hash of ClientHello1 alone.
pub fn message_hash(client_hello1_hash: &[u8]) -> Vec<u8> {
    transcript_message(HandshakeType::MessageHash, client_hello1_hash)
}

/// ServerHello.random of a HelloRetryRequest: SHA-256("HelloRetryRequest") (RFC 8446 §4.1.3).
pub const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// The last 8 bytes of a 1.3-capable server's random when it negotiates DTLS 1.2 (RFC 8446
/// §4.1.3's TLS 1.2 value; RFC 9147 §5.3 maps it to DTLS 1.2).
pub const DOWNGRADE_DTLS12: [u8; 8] = [0x44, 0x4f, 0x57, 0x4e, 0x47, 0x52, 0x44, 0x01];

/// The last 8 bytes of the server random when DTLS 1.0 is negotiated (RFC 8446 §4.1.3's
/// "TLS 1.1 or below" value, DTLS 1.0 per RFC 9147 §5.3).
pub const DOWNGRADE_DTLS10: [u8; 8] = [0x44, 0x4f, 0x57, 0x4e, 0x47, 0x52, 0x44, 0x00];

/// Rank of a version for comparisons (DTLS counts down on the wire); `None` if unknown.
fn rank(v: ProtocolVersion) -> Option<u8> {
    match v {
        ProtocolVersion::Dtls10 => Some(0),
        ProtocolVersion::Dtls12 => Some(2),
        ProtocolVersion::Dtls13 => Some(3),
        _ => None,
    }
}

/// The sentinel a server whose highest version is `server_max` writes into the last 8 bytes
/// of its random when it negotiates `negotiated` (RFC 8446 §4.1.3); `None` when no sentinel
/// applies.
pub fn downgrade_sentinel(
    negotiated: ProtocolVersion,
    server_max: ProtocolVersion,
) -> Option<[u8; 8]> {
    let (n, m) = (rank(negotiated)?, rank(server_max)?);
    match (n, m) {
        (0, 2..) => Some(DOWNGRADE_DTLS10),
        (2, 3) => Some(DOWNGRADE_DTLS12),
        _ => None,
    }
}

/// Overwrites the last 8 bytes of `random` with [`downgrade_sentinel`], if one applies.
pub fn set_downgrade_sentinel(
    random: &mut [u8; 32],
    negotiated: ProtocolVersion,
    server_max: ProtocolVersion,
) {
    if let Some(s) = downgrade_sentinel(negotiated, server_max) {
        random[24..].copy_from_slice(&s);
    }
}

/// The client's check (RFC 8446 §4.1.3): a client whose highest version is `client_max` that
/// negotiated `negotiated` below 1.3 refuses a server random ending in either sentinel (when it
/// offered 1.3) or in the DTLS 1.0 one (when it offered 1.2 and got 1.0). illegal_parameter.
pub fn check_downgrade(
    server_random: &[u8; 32],
    negotiated: ProtocolVersion,
    client_max: ProtocolVersion,
) -> Result<(), DecodeError13> {
    let tail = &server_random[24..];
    let hit = match (rank(negotiated), rank(client_max)) {
        (Some(n), Some(3)) if n < 3 => tail == DOWNGRADE_DTLS12 || tail == DOWNGRADE_DTLS10,
        (Some(0), Some(2)) => tail == DOWNGRADE_DTLS10,
        _ => false,
    };
    if hit {
        return Err(DecodeError13::IllegalParameter(
            "downgrade sentinel in server random",
        ));
    }
    Ok(())
}

fn read_random(r: &mut Reader<'_>) -> Result<[u8; 32], DecodeError13> {
    let b = need(r.take(32))?;
    let mut out = [0u8; 32];
    out.copy_from_slice(b);
    Ok(out)
}

/// ServerHello, and HelloRetryRequest which shares its structure (RFC 8446 §4.1.3, §4.1.4;
/// RFC 9147 §5.4). Extensions are kept raw: read them with
/// [`super::extensions13::find`] / [`super::extensions13::require`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHello13 {
    /// legacy_version: DTLS 1.2 (0xfefd) in DTLS 1.3 (RFC 9147 §5.4). Kept as sent; the state
    /// machine checks it (TLS 1.3 test vectors carry 0x0303).
    pub legacy_version: ProtocolVersion,
    /// The server's random, or [`HRR_RANDOM`] in a HelloRetryRequest.
    pub random: [u8; 32],
    /// legacy_session_id_echo: the client's legacy_session_id, echoed (at most 32 bytes).
    pub legacy_session_id_echo: Vec<u8>,
    /// The suite chosen.
    pub cipher_suite: CipherSuite,
    /// The extensions, in wire order.
    pub extensions: Extensions,
}

impl ServerHello13 {
    /// A HelloRetryRequest: legacy_version DTLS 1.2 and the special random.
    pub fn hello_retry_request(
        legacy_session_id_echo: Vec<u8>,
        cipher_suite: CipherSuite,
        extensions: Extensions,
    ) -> Self {
        ServerHello13 {
            legacy_version: ProtocolVersion::Dtls12,
            random: HRR_RANDOM,
            legacy_session_id_echo,
            cipher_suite,
            extensions,
        }
    }

    /// True if this is a HelloRetryRequest (RFC 8446 §4.1.3: the random decides).
    pub fn is_hello_retry_request(&self) -> bool {
        self.random == HRR_RANDOM
    }

    /// Appends the message body (without the handshake header).
    pub fn encode(&self, out: &mut Vec<u8>) {
        self.legacy_version.encode(out);
        out.put(&self.random);
        out.put_vec8(&self.legacy_session_id_echo);
        self.cipher_suite.encode(out);
        out.put_u8(0); // legacy_compression_method
        self.extensions.encode_required(out);
    }

    /// Decodes a whole message body. A compression method other than null is
    /// illegal_parameter; a missing extension block is `Malformed`.
    pub fn decode(body: &[u8]) -> Result<Self, DecodeError13> {
        let mut r = Reader::new(body);
        let legacy_version = need(ProtocolVersion::read(&mut r))?;
        let random = read_random(&mut r)?;
        let legacy_session_id_echo = need(r.vec8())?.to_vec();
        if legacy_session_id_echo.len() > 32 {
            return Err(DecodeError13::Malformed);
        }
        let cipher_suite = need(CipherSuite::read(&mut r))?;
        if need(r.u8())? != 0 {
            return Err(DecodeError13::IllegalParameter(
                "compression method not null",
            ));
        }
        let extensions = Extensions::read_required(&mut r)?;
        finish(&r)?;
        Ok(ServerHello13 {
            legacy_version,
            random,
            legacy_session_id_echo,
            cipher_suite,
            extensions,
        })
    }
}

/// EncryptedExtensions (RFC 8446 §4.3.1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EncryptedExtensions {
    /// The extensions, in wire order.
    pub extensions: Extensions,
}

impl EncryptedExtensions {
    /// Appends the message body (without the handshake header).
    pub fn encode(&self, out: &mut Vec<u8>) {
        self.extensions.encode_required(out);
    }

    /// Decodes a whole message body.
    pub fn decode(body: &[u8]) -> Result<Self, DecodeError13> {
        let mut r = Reader::new(body);
        let extensions = Extensions::read_required(&mut r)?;
        finish(&r)?;
        Ok(EncryptedExtensions { extensions })
    }
}

/// CertificateRequest (RFC 8446 §4.3.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateRequest13 {
    /// certificate_request_context (`<0..2^8-1>`): empty in the handshake; echoed in the
    /// client's Certificate.
    pub context: Vec<u8>,
    /// The extensions; signature_algorithms is mandatory.
    pub extensions: Extensions,
}

impl CertificateRequest13 {
    /// Appends the message body (without the handshake header).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put_vec8(&self.context);
        self.extensions.encode_required(out);
    }

    /// Decodes a whole message body.
    pub fn decode(body: &[u8]) -> Result<Self, DecodeError13> {
        let mut r = Reader::new(body);
        let context = need(r.vec8())?.to_vec();
        let extensions = Extensions::read_required(&mut r)?;
        finish(&r)?;
        Ok(CertificateRequest13 {
            context,
            extensions,
        })
    }

    /// The signature schemes the server accepts (IANA codes); missing_extension if the
    /// mandatory signature_algorithms is absent (RFC 8446 §4.3.2).
    pub fn signature_schemes(&self) -> Result<Vec<u16>, DecodeError13> {
        require::<SignatureAlgorithms>(&self.extensions).map(|s| s.0)
    }
}

/// One CertificateEntry with an X.509 certificate (RFC 8446 §4.4.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateEntry {
    /// cert_data: one DER certificate (`<1..2^24-1>`).
    pub cert_data: Vec<u8>,
    /// Per-certificate extensions (e.g. status_request); usually empty.
    pub extensions: Extensions,
}

/// Certificate (RFC 8446 §4.4.2): the chain, leaf first, with per-entry extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate13 {
    /// certificate_request_context: empty from a server; the CertificateRequest's from a client.
    pub context: Vec<u8>,
    /// certificate_list, leaf first. Empty means "no certificate" (a client without one).
    pub entries: Vec<CertificateEntry>,
}

impl Certificate13 {
    /// Appends the message body (without the handshake header).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put_vec8(&self.context);
        out.put_len_prefixed(3, |out| {
            for e in &self.entries {
                out.put_vec24(&e.cert_data);
                e.extensions.encode_required(out);
            }
        });
    }

    /// Encodes a chain held elsewhere (our configured certificate), without per-entry
    /// extensions, without copying it first.
    pub fn encode_chain(context: &[u8], chain: &[Vec<u8>], out: &mut Vec<u8>) {
        out.put_vec8(context);
        out.put_len_prefixed(3, |out| {
            for c in chain {
                out.put_vec24(c);
                out.put_u16(0);
            }
        });
    }

    /// Decodes, refusing chains longer than `max_certs` and empty cert_data.
    pub fn decode(body: &[u8], max_certs: usize) -> Result<Self, DecodeError13> {
        let mut r = Reader::new(body);
        let context = need(r.vec8())?.to_vec();
        let mut list = Reader::new(need(r.vec24())?);
        finish(&r)?;
        let mut entries = Vec::new();
        while !list.is_empty() {
            let cert_data = need(list.vec24())?;
            if cert_data.is_empty() || entries.len() >= max_certs {
                return Err(DecodeError13::Malformed);
            }
            let extensions = Extensions::read_required(&mut list)?;
            entries.push(CertificateEntry {
                cert_data: cert_data.to_vec(),
                extensions,
            });
        }
        Ok(Certificate13 { context, entries })
    }

    /// The DER certificates, leaf first.
    pub fn chain(&self) -> Vec<&[u8]> {
        self.entries.iter().map(|e| &e.cert_data[..]).collect()
    }
}

/// Context strings of RFC 8446 §4.4.3 (DTLS 1.3 keeps them: RFC 9147 changes only the
/// HKDF label prefix).
const SERVER_CV_CONTEXT: &[u8] = b"TLS 1.3, server CertificateVerify";
const CLIENT_CV_CONTEXT: &[u8] = b"TLS 1.3, client CertificateVerify";

/// The bytes a CertificateVerify signature covers (RFC 8446 §4.4.3): 64 spaces, the context
/// string of the signer's role, a zero byte, and the transcript hash up to (not including)
/// the CertificateVerify. `signer` is the role of the endpoint that signs.
pub fn certificate_verify_content(signer: Role, transcript_hash: &[u8]) -> Vec<u8> {
    let context = match signer {
        Role::Server => SERVER_CV_CONTEXT,
        Role::Client => CLIENT_CV_CONTEXT,
    };
    let mut out = Vec::with_capacity(64 + context.len() + 1 + transcript_hash.len());
    out.extend_from_slice(&[0x20; 64]);
    out.extend_from_slice(context);
    out.push(0);
    out.extend_from_slice(transcript_hash);
    out
}

/// Finished (RFC 8446 §4.4.4): verify_data, as long as the suite's hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished13 {
    /// verify_data.
    pub verify_data: Vec<u8>,
}

impl Finished13 {
    /// Appends the message body (without the handshake header).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put(&self.verify_data);
    }

    /// Decodes a body that must be exactly `hash_len` bytes (decode_error otherwise, as
    /// RFC 8446 §4.4.4 gives no length prefix to check against).
    pub fn decode(body: &[u8], hash_len: usize) -> Result<Self, DecodeError13> {
        if body.len() != hash_len {
            return Err(DecodeError13::Malformed);
        }
        Ok(Finished13 {
            verify_data: body.to_vec(),
        })
    }
}

/// NewSessionTicket (RFC 8446 §4.6.1). Decoded only to validate it: the engine does not
/// resume, so it accepts and drops tickets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSessionTicket13 {
    /// ticket_lifetime in seconds.
    pub lifetime: u32,
    /// ticket_age_add.
    pub age_add: u32,
    /// ticket_nonce (`<0..255>`).
    pub nonce: Vec<u8>,
    /// ticket (`<1..2^16-1>`).
    pub ticket: Vec<u8>,
    /// The extensions (early_data only, today).
    pub extensions: Extensions,
}

impl NewSessionTicket13 {
    /// Decodes a whole message body; an empty ticket is `Malformed`.
    pub fn decode(body: &[u8]) -> Result<Self, DecodeError13> {
        let mut r = Reader::new(body);
        let lifetime = need(r.u32())?;
        let age_add = need(r.u32())?;
        let nonce = need(r.vec8())?.to_vec();
        let ticket = need(r.vec16())?.to_vec();
        if ticket.is_empty() {
            return Err(DecodeError13::Malformed);
        }
        let extensions = Extensions::read_required(&mut r)?;
        finish(&r)?;
        Ok(NewSessionTicket13 {
            lifetime,
            age_add,
            nonce,
            ticket,
            extensions,
        })
    }
}

/// KeyUpdate (RFC 8446 §4.6.3, RFC 9147 §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyUpdate {
    /// Whether the peer must answer with its own KeyUpdate.
    pub request: KeyUpdateRequest,
}

impl KeyUpdate {
    /// Appends the message body (without the handshake header).
    pub fn encode(&self, out: &mut Vec<u8>) {
        self.request.encode(out);
    }

    /// Decodes a whole message body: one byte, 0 or 1; "any other value" is illegal_parameter
    /// (RFC 8446 §4.6.3), a wrong length decode_error.
    pub fn decode(body: &[u8]) -> Result<Self, DecodeError13> {
        match body {
            [0] => Ok(KeyUpdate {
                request: KeyUpdateRequest::UpdateNotRequested,
            }),
            [1] => Ok(KeyUpdate {
                request: KeyUpdateRequest::UpdateRequested,
            }),
            [_] => Err(DecodeError13::IllegalParameter("KeyUpdate request value")),
            _ => Err(DecodeError13::Malformed),
        }
    }
}
