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
use super::extensions13::{finish, need, require, SignatureAlgorithms, SupportedVersionsServer};
use crate::types::Role;

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

/// The version a ServerHello (or HelloRetryRequest) selects, for a client that offered both
/// versions: supported_versions if present (it must then name DTLS 1.3, else
/// illegal_parameter, RFC 8446 §4.2.1), otherwise legacy_version. Reads the body with the
/// lenient 1.2 codec, since a DTLS 1.2 ServerHello may have no extension block at all; decode
/// it again with [`ServerHello13::decode`] or the 1.2 codec once the version is known.
pub fn server_hello_version(body: &[u8]) -> Result<ProtocolVersion, DecodeError13> {
    let sh = super::handshake::ServerHello::decode(body)?;
    match super::extensions13::find::<SupportedVersionsServer>(&sh.extensions)? {
        Some(SupportedVersionsServer(ProtocolVersion::Dtls13)) => Ok(ProtocolVersion::Dtls13),
        Some(_) => Err(DecodeError13::IllegalParameter(
            "supported_versions selects a version other than DTLS 1.3",
        )),
        None => Ok(sh.version),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msgs::enums::PskKeyExchangeMode;
    use crate::msgs::enums::{ExtensionType, NamedGroup};
    use crate::msgs::extensions13::{
        check_permitted, check_solicited, find, push, Cookie, ExtensionContext, ExtensionData,
        KeyShareClientHello, KeyShareHelloRetryRequest, KeyShareServerHello, PskKeyExchangeModes,
        SignatureAlgorithmsCert, SupportedGroups, SupportedVersionsClient, SupportedVersionsServer,
    };
    use crate::msgs::handshake::ClientHello;

    /// The body encoders all write into a Vec; this collects one.
    trait ToBody {
        fn to_body(&self) -> Vec<u8>;
    }

    macro_rules! to_body {
        ($($t:ty),*) => {$(
            impl ToBody for $t {
                fn to_body(&self) -> Vec<u8> {
                    let mut v = Vec::new();
                    self.encode(&mut v);
                    v
                }
            }
        )*};
    }
    to_body!(
        ClientHello,
        ServerHello13,
        EncryptedExtensions,
        CertificateRequest13,
        Certificate13,
        Finished13,
        KeyUpdate,
        DigitallySigned
    );

    fn hex(s: &str) -> Vec<u8> {
        let digits: Vec<u8> = s
            .bytes()
            .filter(|b| !b.is_ascii_whitespace())
            .map(|b| (b as char).to_digit(16).unwrap() as u8)
            .collect();
        assert_eq!(digits.len() % 2, 0);
        digits.chunks(2).map(|p| p[0] << 4 | p[1]).collect()
    }

    /// Splits a TLS 1.3 handshake message (4-byte header) into its type and body, checking
    /// the header against `tls_handshake_header`.
    fn split(msg: &[u8]) -> (HandshakeType, &[u8]) {
        let t = HandshakeType::from(msg[0]);
        let body = &msg[4..];
        assert_eq!(tls_handshake_header(t, body.len()), msg[..4]);
        assert_eq!(transcript_message(t, body), msg);
        (t, body)
    }

    // RFC 8448 §3 "Simple 1-RTT Handshake": the handshake messages as hashed into the
    // transcript (TLS 1.3, so legacy_version 0x0303 and no legacy_cookie in the ClientHello).
    const RFC8448_CH: &str = "
        010000c00303cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef
        6283024dece7000006130113031302010000910000000b000900000673657276
        6572ff01000100000a00140012001d0017001800190100010101020103010400
        230000003300260024001d002099381de560e4bd43d23d8e435a7dbafeb3c06e
        51c13cae4d5413691e529aaf2c002b0003020304000d0020001e040305030603
        020308040805080604010501060102010402050206020202002d00020101001c
        00024001";
    const RFC8448_SH: &str = "
        020000560303a6af06a4121860dc5e6e60249cd34c95930c8ac5cb1434dac155
        772ed3e2692800130100002e00330024001d0020c9828876112095fe66762bdb
        f7c672e156d6cc253b833df1dd69b1b04e751f0f002b00020304";
    const RFC8448_EE: &str = "
        080000240022000a00140012001d00170018001901000101010201030104001c
        0002400100000000";
    const RFC8448_CERT: &str = "
        0b0001b9000001b50001b0308201ac30820115a003020102020102300d06092a
        864886f70d01010b0500300e310c300a06035504031303727361301e170d3136
        303733303031323335395a170d3236303733303031323335395a300e310c300a
        0603550403130372736130819f300d06092a864886f70d010101050003818d00
        30818902818100b4bb498f8279303d980836399b36c6988c0c68de55e1bdb826
        d3901a2461eafd2de49a91d015abbc9a95137ace6c1af19eaa6af98c7ced4312
        0998e187a80ee0ccb0524b1b018c3e0b63264d449a6d38e22a5fda4308467480
        30530ef0461c8ca9d9efbfae8ea6d1d03e2bd193eff0ab9a8002c47428a6d35a
        8d88d79f7f1e3f0203010001a31a301830090603551d1304023000300b060355
        1d0f0404030205a0300d06092a864886f70d01010b05000381810085aad2a0e5
        b9276b908c65f73a7267170618a54c5f8a7b337d2df7a594365417f2eae8f8a5
        8c8f8172f9319cf36b7fd6c55b80f21a03015156726096fd335e5e67f2dbf102
        702e608ccae6bec1fc63a42a99be5c3eb7107c3c54e9b9eb2bd5203b1c3b84e0
        a8b2f759409ba3eac9d91d402dcc0cc8f8961229ac9187b42b4de10000";
    const RFC8448_CV: &str = "
        0f000084080400805a747c5d88fa9bd2e55ab085a61015b7211f824cd484145a
        b3ff52f1fda8477b0b7abc90db78e2d33a5c141a078653fa6bef780c5ea248ee
        aaa785c4f394cab6d30bbe8d4859ee511f602957b15411ac027671459e46445c
        9ea58c181e818e95b8c3fb0bf3278409d3be152a3da5043e063dda65cdf5aea2
        0d53dfacd42f74f3";
    const RFC8448_SERVER_FINISHED: &str = "
        140000209b9b141d906337fbd2cbdce71df4deda4ab42c309572cb7fffee5454
        b78f0718";
    const RFC8448_NST: &str = "
        040000c90000001efad6aac502000000b22c035d829359ee5ff7af4ec9000000
        00262a6494dc486d2c8a34cb33fa90bf1b0070ad3c498883c9367c09a2be785a
        bc55cd226097a3a982117283f82a03a143efd3ff5dd36d64e861be7fd61d2827
        db279cce145077d454a3664d4e6da4d29ee03725a6a4dafcd0fc67d2aea70529
        513e3da2677fa5906c5b3f7d8f92f228bda40dda721470f9fbf297b5aea61764
        6fac5c03272e970727c621a79141ef5f7de6505e5bfbc388e93343694093934a
        e4d3570008002a000400000400";
    // RFC 8448 §5 "HelloRetryRequest": ClientHello1 and the HelloRetryRequest with a cookie.
    const RFC8448_HRR_CH1: &str = "
        010000b00303b0b1c5a5aa37c5919f2ed1d5c6fff7fcb7849716945a2b8cee92
        58a346677b6f000006130113031302010000810000000b000900000673657276
        6572ff01000100000a00080006001d00170018003300260024001d0020e8e8e3
        f3b93a25ed97a14a7dcacb8a272c6288e585c6484d05262fcad062ad1f002b00
        03020304000d0020001e04030503060302030804080508060401050106010201
        0402050206020202002d00020101001c00024001";
    const RFC8448_HRR: &str = "
        020000ac0303cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e
        09e2c8a8339c001301000084003300020017002c0074007271dcd04bb88bc318
        9119398a00000000eefafc76c146b823b096f8aacad365dd0030953f4edf6256
        36e5f21bb2e23fcc654b1b5b40318d10d137abcbb87574e36e8a1f025f7dfa5d
        6e50781b5eda4aa15b0c8be778257d16aa3030e9e7841dd9e4c0342267e8ca0c
        af571fb2b7cff0f934b0002b00020304";
    const RFC8448_HRR_CH2: &str = "
        010001fc0303b0b1c5a5aa37c5919f2ed1d5c6fff7fcb7849716945a2b8cee92
        58a346677b6f000006130113031302010001cd0000000b000900000673657276
        6572ff01000100000a00080006001d001700180033004700450017004104a6da
        7392ec591e17abfd535964b99894d13befb221b3def2ebe3830eac8f01518126
        77c4d6d2237e85cf01d6910cfb83954e76ba7352830534159897e8065780002b
        0003020304000d0020001e040305030603020308040805080604010501060102
        010402050206020202002c0074007271dcd04bb88bc3189119398a00000000ee
        fafc76c146b823b096f8aacad365dd0030953f4edf625636e5f21bb2e23fcc65
        4b1b5b40318d10d137abcbb87574e36e8a1f025f7dfa5d6e50781b5eda4aa15b
        0c8be778257d16aa3030e9e7841dd9e4c0342267e8ca0caf571fb2b7cff0f934
        b0002d00020101001c00024001001500af000000000000000000000000000000
        0000000000000000000000000000000000000000000000000000000000000000
        0000000000000000000000000000000000000000000000000000000000000000
        0000000000000000000000000000000000000000000000000000000000000000
        0000000000000000000000000000000000000000000000000000000000000000
        0000000000000000000000000000000000000000000000000000000000000000";

    const TLS13: ProtocolVersion = ProtocolVersion::Unknown(0x0304);

    /// A TLS ClientHello body as the DTLS form: an empty legacy_cookie after the session id
    /// (RFC 9147 §5.3), so the shared DTLS ClientHello codec can read it.
    fn as_dtls_client_hello(tls_body: &[u8]) -> Vec<u8> {
        let sid_len = tls_body[34] as usize;
        let at = 35 + sid_len;
        let mut v = tls_body[..at].to_vec();
        v.push(0);
        v.extend_from_slice(&tls_body[at..]);
        v
    }

    fn sha256(parts: &[&[u8]]) -> Vec<u8> {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        parts.iter().for_each(|p| ctx.update(p));
        ctx.finish().as_ref().to_vec()
    }

    #[test]
    fn rfc8448_client_hello_extensions() {
        let ch = hex(RFC8448_CH);
        let (t, body) = split(&ch);
        assert_eq!(t, HandshakeType::ClientHello);
        let dtls = as_dtls_client_hello(body);
        let hello = ClientHello::decode(&dtls).unwrap();
        assert_eq!(hello.to_body(), dtls);
        let e = &hello.extensions;
        assert_eq!(check_permitted(e, ExtensionContext::ClientHello), Ok(()));
        assert_eq!(
            find::<SupportedVersionsClient>(e),
            Ok(Some(SupportedVersionsClient(vec![TLS13])))
        );
        let shares = find::<KeyShareClientHello>(e).unwrap().unwrap();
        assert_eq!(shares.0.len(), 1);
        let x = shares.get(NamedGroup::X25519).unwrap();
        assert_eq!(
            x.key_exchange,
            hex("99381de560e4bd43d23d8e435a7dbafeb3c06e51c13cae4d5413691e529aaf2c")
        );
        assert_eq!(
            find::<SupportedGroups>(e).unwrap().unwrap().0[..4],
            [
                NamedGroup::X25519,
                NamedGroup::Secp256r1,
                NamedGroup::Secp384r1,
                NamedGroup::Secp521r1
            ]
        );
        let schemes = find::<SignatureAlgorithms>(e).unwrap().unwrap().0;
        assert_eq!(schemes.len(), 15);
        assert_eq!(schemes[..3], [0x0403, 0x0503, 0x0603]);
        assert_eq!(find::<SignatureAlgorithmsCert>(e), Ok(None));
        // Our encoder produces the client's psk_key_exchange_modes byte for byte.
        let modes = PskKeyExchangeModes(vec![PskKeyExchangeMode::PskDheKe]);
        assert_eq!(
            e.get(ExtensionType::PskKeyExchangeModes),
            Some(&modes.to_data()[..])
        );
        assert_eq!(find::<PskKeyExchangeModes>(e), Ok(Some(modes)));
        // record_size_limit (0x001c) is in the enum, session_ticket too; nothing unknown here.
        assert!(e.has(ExtensionType::RecordSizeLimit));
    }

    #[test]
    fn rfc8448_server_flight() {
        let (ch, sh, ee, cert, cv, fin) = (
            hex(RFC8448_CH),
            hex(RFC8448_SH),
            hex(RFC8448_EE),
            hex(RFC8448_CERT),
            hex(RFC8448_CV),
            hex(RFC8448_SERVER_FINISHED),
        );
        // The transcript hash after ServerHello, as printed in RFC 8448 §3 ("hash" input to
        // "derive secret for handshake tls13 c hs traffic"): the fixtures are the RFC's bytes.
        assert_eq!(
            sha256(&[&ch, &sh]),
            hex("860c06edc07858ee8e78f0e7428c58edd6b43f2ca3e6e95f02ed063cf0e1cad8")
        );

        let (t, body) = split(&sh);
        assert_eq!(t, HandshakeType::ServerHello);
        let hello = ServerHello13::decode(body).unwrap();
        assert!(!hello.is_hello_retry_request());
        assert_eq!(hello.legacy_version, ProtocolVersion::Unknown(0x0303));
        assert_eq!(hello.cipher_suite, CipherSuite::Tls13Aes128GcmSha256);
        assert!(hello.legacy_session_id_echo.is_empty());
        assert_eq!(hello.to_body(), body);
        let e = &hello.extensions;
        assert_eq!(check_permitted(e, ExtensionContext::ServerHello), Ok(()));
        let ch_exts = ClientHello::decode(&as_dtls_client_hello(&ch[4..]))
            .unwrap()
            .extensions;
        assert_eq!(
            check_solicited(e, &ch_exts, ExtensionContext::ServerHello),
            Ok(())
        );
        assert_eq!(
            require::<SupportedVersionsServer>(e),
            Ok(SupportedVersionsServer(TLS13))
        );
        let share = require::<KeyShareServerHello>(e).unwrap().0;
        assert_eq!(share.group, NamedGroup::X25519);
        assert_eq!(
            share.key_exchange,
            hex("c9828876112095fe66762bdbf7c672e156d6cc253b833df1dd69b1b04e751f0f")
        );

        let (t, body) = split(&ee);
        assert_eq!(t, HandshakeType::EncryptedExtensions);
        let ee_msg = EncryptedExtensions::decode(body).unwrap();
        assert_eq!(ee_msg.to_body(), body);
        let types: Vec<_> = ee_msg.extensions.types().collect();
        assert_eq!(
            types,
            [
                ExtensionType::SupportedGroups,
                ExtensionType::RecordSizeLimit,
                ExtensionType::ServerName
            ]
        );
        assert_eq!(
            check_permitted(&ee_msg.extensions, ExtensionContext::EncryptedExtensions),
            Ok(())
        );
        assert_eq!(
            check_solicited(
                &ee_msg.extensions,
                &ch_exts,
                ExtensionContext::EncryptedExtensions
            ),
            Ok(())
        );

        let (t, body) = split(&cert);
        assert_eq!(t, HandshakeType::Certificate);
        let c = Certificate13::decode(body, 4).unwrap();
        assert!(c.context.is_empty());
        assert_eq!(c.entries.len(), 1);
        assert!(c.entries[0].extensions.0.is_empty());
        assert_eq!(c.chain()[0].len(), 0x1b0);
        assert_eq!(c.to_body(), body);
        let mut again = Vec::new();
        Certificate13::encode_chain(&[], &[c.entries[0].cert_data.clone()], &mut again);
        assert_eq!(again, body);
        assert_eq!(
            Certificate13::decode(body, 0),
            Err(DecodeError13::Malformed)
        );

        let (t, body) = split(&cv);
        assert_eq!(t, HandshakeType::CertificateVerify);
        let sig = DigitallySigned::decode(body).unwrap();
        assert_eq!(sig.scheme, 0x0804); // rsa_pss_rsae_sha256
        assert_eq!(sig.signature.len(), 128);

        // The signature checks out over our signed-content construction, verified by OpenSSL
        // (ring refuses the RFC's 1024-bit key): this pins certificate_verify_content and
        // the bytes of EncryptedExtensions and Certificate.
        let hash = sha256(&[&ch, &sh, &ee, &cert]);
        let x509 = openssl::x509::X509::from_der(&c.entries[0].cert_data).unwrap();
        let key = x509.public_key().unwrap();
        let verify = |content: &[u8]| {
            use openssl::{hash::MessageDigest, rsa::Padding, sign};
            let mut v = sign::Verifier::new(MessageDigest::sha256(), &key).unwrap();
            v.set_rsa_padding(Padding::PKCS1_PSS).unwrap();
            v.set_rsa_mgf1_md(MessageDigest::sha256()).unwrap();
            v.set_rsa_pss_saltlen(sign::RsaPssSaltlen::DIGEST_LENGTH)
                .unwrap();
            v.update(content).unwrap();
            v.verify(&sig.signature).unwrap()
        };
        assert!(verify(&certificate_verify_content(Role::Server, &hash)));
        assert!(!verify(&certificate_verify_content(Role::Client, &hash)));

        let (t, body) = split(&fin);
        assert_eq!(t, HandshakeType::Finished);
        let f = Finished13::decode(body, 32).unwrap();
        assert_eq!(f.to_body(), body);
        assert_eq!(Finished13::decode(body, 48), Err(DecodeError13::Malformed));
    }

    #[test]
    fn rfc8448_new_session_ticket() {
        let nst = hex(RFC8448_NST);
        let (t, body) = split(&nst);
        assert_eq!(t, HandshakeType::NewSessionTicket);
        let n = NewSessionTicket13::decode(body).unwrap();
        assert_eq!(n.lifetime, 30);
        assert_eq!(n.age_add, 0xfad6aac5);
        assert_eq!(n.nonce, [0, 0]);
        assert_eq!(n.ticket.len(), 0xb2);
        assert_eq!(
            n.extensions.get(ExtensionType::EarlyData),
            Some(&[0, 0, 4, 0][..])
        );
        assert_eq!(
            check_permitted(&n.extensions, ExtensionContext::NewSessionTicket),
            Ok(())
        );
        // An empty ticket.
        assert_eq!(
            NewSessionTicket13::decode(&[0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0]),
            Err(DecodeError13::Malformed)
        );
    }

    #[test]
    fn rfc8448_hello_retry_request() {
        let (ch1, hrr, ch2) = (hex(RFC8448_HRR_CH1), hex(RFC8448_HRR), hex(RFC8448_HRR_CH2));
        let (t, body) = split(&hrr);
        assert_eq!(t, HandshakeType::ServerHello);
        let h = ServerHello13::decode(body).unwrap();
        assert!(h.is_hello_retry_request());
        assert_eq!(h.random, HRR_RANDOM);
        assert_eq!(h.to_body(), body);
        let e = &h.extensions;
        assert_eq!(
            check_permitted(e, ExtensionContext::HelloRetryRequest),
            Ok(())
        );
        // The same block is not a valid ServerHello block: cookie belongs to HRR only.
        assert!(check_permitted(e, ExtensionContext::ServerHello).is_err());
        assert_eq!(
            require::<KeyShareHelloRetryRequest>(e),
            Ok(KeyShareHelloRetryRequest(NamedGroup::Secp256r1))
        );
        let cookie = require::<Cookie>(e).unwrap();
        assert_eq!(cookie.0.len(), 0x72);
        // Same structure as ServerHello, so the constructor rebuilds it.
        let rebuilt = ServerHello13::hello_retry_request(vec![], h.cipher_suite, e.clone());
        assert_eq!(
            ServerHello13 {
                legacy_version: h.legacy_version,
                ..rebuilt
            },
            h
        );

        let ch1 = ClientHello::decode(&as_dtls_client_hello(&ch1[4..])).unwrap();
        assert_eq!(
            check_solicited(e, &ch1.extensions, ExtensionContext::HelloRetryRequest),
            Ok(())
        );
        // The second ClientHello echoes the cookie and sends a P-256 share.
        let ch2 = ClientHello::decode(&as_dtls_client_hello(&ch2[4..])).unwrap();
        assert_eq!(require::<Cookie>(&ch2.extensions), Ok(cookie));
        let shares = require::<KeyShareClientHello>(&ch2.extensions).unwrap();
        assert_eq!(shares.0.len(), 1);
        assert_eq!(shares.0[0].group, NamedGroup::Secp256r1);
        assert_eq!(shares.0[0].key_exchange.len(), 65);
        // padding (21) is unknown to us and kept.
        assert!(ch2.extensions.has(ExtensionType::Unknown(21)));
    }

    #[test]
    fn version_of_a_server_hello() {
        let mut e = Extensions::default();
        push(&mut e, &SupportedVersionsServer(ProtocolVersion::Dtls13));
        let mut sh =
            ServerHello13::hello_retry_request(vec![], CipherSuite::Tls13Aes128GcmSha256, e);
        assert_eq!(
            server_hello_version(&sh.to_body()),
            Ok(ProtocolVersion::Dtls13)
        );
        // A 1.2 ServerHello without any extension block.
        let v12 = crate::msgs::handshake::ServerHello {
            version: ProtocolVersion::Dtls12,
            random: [1; 32],
            session_id: vec![],
            cipher_suite: CipherSuite::EcdheEcdsaAes128GcmSha256,
            compression_method: 0,
            extensions: Extensions::default(),
        };
        let mut b = Vec::new();
        v12.encode(&mut b);
        assert_eq!(server_hello_version(&b), Ok(ProtocolVersion::Dtls12));
        assert!(ServerHello13::decode(&b).is_err());
        // supported_versions naming DTLS 1.2 is not how 1.2 is negotiated.
        sh.extensions = Extensions::default();
        push(
            &mut sh.extensions,
            &SupportedVersionsServer(ProtocolVersion::Dtls12),
        );
        assert!(matches!(
            server_hello_version(&sh.to_body()),
            Err(DecodeError13::IllegalParameter(_))
        ));
        // RFC 8448's TLS ServerHello names 0x0304, which is not DTLS 1.3.
        let tls = hex(RFC8448_SH);
        assert!(server_hello_version(&tls[4..]).is_err());
        assert_eq!(server_hello_version(&[]), Err(DecodeError13::Malformed));
    }

    #[test]
    fn transcript_pieces() {
        assert_eq!(
            tls_handshake_header(HandshakeType::Finished, 0x012345),
            [20, 0x01, 0x23, 0x45]
        );
        let h = [0xab; 48];
        let m = message_hash(&h);
        assert_eq!(m[..4], [254, 0, 0, 48]);
        assert_eq!(m[4..], h);
        let c = certificate_verify_content(Role::Client, &[7; 32]);
        assert_eq!(c.len(), 64 + 33 + 1 + 32);
        assert!(c[..64].iter().all(|b| *b == 0x20));
        assert_eq!(&c[64..97], b"TLS 1.3, client CertificateVerify");
        assert_eq!(c[97], 0);
        assert_eq!(c[98..], [7; 32]);
    }

    #[test]
    fn downgrade_sentinels() {
        use ProtocolVersion::{Dtls10, Dtls12, Dtls13};
        assert_eq!(&DOWNGRADE_DTLS12, b"DOWNGRD\x01");
        assert_eq!(&DOWNGRADE_DTLS10, b"DOWNGRD\x00");
        assert_eq!(downgrade_sentinel(Dtls12, Dtls13), Some(DOWNGRADE_DTLS12));
        assert_eq!(downgrade_sentinel(Dtls10, Dtls13), Some(DOWNGRADE_DTLS10));
        assert_eq!(downgrade_sentinel(Dtls10, Dtls12), Some(DOWNGRADE_DTLS10));
        assert_eq!(downgrade_sentinel(Dtls12, Dtls12), None);
        assert_eq!(downgrade_sentinel(Dtls13, Dtls13), None);

        let mut r = [0x11; 32];
        set_downgrade_sentinel(&mut r, Dtls12, Dtls13);
        assert_eq!(r[..24], [0x11; 24]);
        assert_eq!(r[24..], DOWNGRADE_DTLS12);
        // A 1.3 client refuses it; a 1.2-only client has nothing to check.
        assert_eq!(
            check_downgrade(&r, Dtls12, Dtls13).unwrap_err().alert(),
            crate::msgs::enums::AlertDescription::IllegalParameter
        );
        assert_eq!(check_downgrade(&r, Dtls12, Dtls12), Ok(()));
        // RFC 8446 §4.1.3: a 1.3 client checks for either value.
        let mut r10 = [0x11; 32];
        set_downgrade_sentinel(&mut r10, Dtls10, Dtls12);
        assert!(check_downgrade(&r10, Dtls12, Dtls13).is_err());
        assert!(check_downgrade(&r10, Dtls10, Dtls12).is_err());
        assert_eq!(check_downgrade(&[0x11; 32], Dtls12, Dtls13), Ok(()));
        // Negotiating 1.3 itself is never a downgrade.
        assert_eq!(check_downgrade(&r, Dtls13, Dtls13), Ok(()));
    }

    #[test]
    fn round_trips_and_errors() {
        let mut exts = Extensions::default();
        push(&mut exts, &SupportedVersionsServer(ProtocolVersion::Dtls13));
        let sh = ServerHello13 {
            legacy_version: ProtocolVersion::Dtls12,
            random: [3; 32],
            legacy_session_id_echo: vec![1; 32],
            cipher_suite: CipherSuite::Tls13Chacha20Poly1305Sha256,
            extensions: exts.clone(),
        };
        let b = sh.to_body();
        assert_eq!(&b[..2], &[0xfe, 0xfd]);
        assert_eq!(ServerHello13::decode(&b), Ok(sh.clone()));
        // Compression method must be null.
        let mut bad = b.clone();
        bad[2 + 32 + 33 + 2] = 1;
        assert!(matches!(
            ServerHello13::decode(&bad),
            Err(DecodeError13::IllegalParameter(_))
        ));
        // A 33-byte session id echo.
        let mut long_sid = sh.clone();
        long_sid.legacy_session_id_echo.push(1);
        assert_eq!(
            ServerHello13::decode(&long_sid.to_body()),
            Err(DecodeError13::Malformed)
        );
        // The extension block is mandatory in 1.3.
        assert_eq!(
            ServerHello13::decode(&b[..b.len() - 2 - 6]),
            Err(DecodeError13::Malformed)
        );
        // Duplicate extension.
        let mut dup = sh.clone();
        push(
            &mut dup.extensions,
            &SupportedVersionsServer(ProtocolVersion::Dtls12),
        );
        assert_eq!(
            ServerHello13::decode(&dup.to_body()),
            Err(DecodeError13::DuplicateExtension)
        );

        let ee = EncryptedExtensions::default();
        assert_eq!(ee.to_body(), [0, 0]);
        assert_eq!(EncryptedExtensions::decode(&[0, 0]), Ok(ee));
        assert_eq!(
            EncryptedExtensions::decode(&[]),
            Err(DecodeError13::Malformed)
        );

        let mut cr_exts = Extensions::default();
        push(&mut cr_exts, &SignatureAlgorithms(vec![0x0403, 0x0804]));
        let cr = CertificateRequest13 {
            context: vec![],
            extensions: cr_exts,
        };
        let b = cr.to_body();
        assert_eq!(CertificateRequest13::decode(&b), Ok(cr.clone()));
        assert_eq!(cr.signature_schemes(), Ok(vec![0x0403, 0x0804]));
        let no_sigs = CertificateRequest13 {
            context: vec![5],
            extensions: Extensions::default(),
        };
        assert_eq!(
            CertificateRequest13::decode(&no_sigs.to_body()),
            Ok(no_sigs.clone())
        );
        assert_eq!(
            no_sigs.signature_schemes(),
            Err(DecodeError13::MissingExtension(
                ExtensionType::SignatureAlgorithms
            ))
        );

        let mut entry_exts = Extensions::default();
        entry_exts.push(ExtensionType::Unknown(5), vec![1]); // status_request
        let cert = Certificate13 {
            context: vec![9, 9],
            entries: vec![
                CertificateEntry {
                    cert_data: vec![0x30; 20],
                    extensions: entry_exts.clone(),
                },
                CertificateEntry {
                    cert_data: vec![0x31; 3],
                    extensions: Extensions::default(),
                },
            ],
        };
        let b = cert.to_body();
        assert_eq!(Certificate13::decode(&b, 2), Ok(cert.clone()));
        assert_eq!(Certificate13::decode(&b, 1), Err(DecodeError13::Malformed));
        assert_eq!(
            Certificate13::decode(&[0, 0, 0, 0], 2),
            Ok(Certificate13 {
                context: vec![],
                entries: vec![]
            })
        );
        // An empty cert_data.
        assert_eq!(
            Certificate13::decode(&[0, 0, 0, 5, 0, 0, 0, 0, 0], 2),
            Err(DecodeError13::Malformed)
        );
        // A duplicate extension inside one entry.
        let mut dup = cert.clone();
        dup.entries[0]
            .extensions
            .push(ExtensionType::Unknown(5), vec![]);
        assert_eq!(
            Certificate13::decode(&dup.to_body(), 2),
            Err(DecodeError13::DuplicateExtension)
        );

        for (byte, want) in [
            (0u8, Ok(KeyUpdateRequest::UpdateNotRequested)),
            (1, Ok(KeyUpdateRequest::UpdateRequested)),
            (2, Err(())),
            (255, Err(())),
        ] {
            let got = KeyUpdate::decode(&[byte]);
            match want {
                Ok(req) => {
                    assert_eq!(got, Ok(KeyUpdate { request: req }));
                    assert_eq!(KeyUpdate { request: req }.to_body(), [byte]);
                }
                Err(()) => assert_eq!(
                    got.unwrap_err().alert(),
                    crate::msgs::enums::AlertDescription::IllegalParameter
                ),
            }
        }
        assert_eq!(KeyUpdate::decode(&[]), Err(DecodeError13::Malformed));
        assert_eq!(KeyUpdate::decode(&[0, 0]), Err(DecodeError13::Malformed));
    }

    /// Every decoder on every prefix and on one trailing byte of every fixture: an error,
    /// never a panic; then pseudo-random byte flips, which must not panic either.
    #[test]
    fn truncation_trailing_and_flips_never_panic() {
        // Each decoder gives the re-encoding of what it accepted (NewSessionTicket has no
        // encoder: its input).
        type Decode = fn(&[u8]) -> Option<Vec<u8>>;
        fn enc<T: ToBody>(v: Result<T, DecodeError13>) -> Option<Vec<u8>> {
            v.ok().map(|v| v.to_body())
        }
        let decoders: [(&str, Decode); 7] = [
            (RFC8448_SH, |b| enc(ServerHello13::decode(b))),
            (RFC8448_HRR, |b| enc(ServerHello13::decode(b))),
            (RFC8448_EE, |b| enc(EncryptedExtensions::decode(b))),
            (RFC8448_CERT, |b| enc(Certificate13::decode(b, 8))),
            (RFC8448_CV, |b| {
                enc(DigitallySigned::decode(b).map_err(DecodeError13::from))
            }),
            (RFC8448_SERVER_FINISHED, |b| enc(Finished13::decode(b, 32))),
            (RFC8448_NST, |b| {
                NewSessionTicket13::decode(b).ok().map(|_| b.to_vec())
            }),
        ];
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut accepted = 0;
        for (fixture, decode) in decoders {
            let msg = hex(fixture);
            let body = &msg[4..];
            assert_eq!(decode(body).as_deref(), Some(body));
            for n in 0..body.len() {
                assert_eq!(decode(&body[..n]), None, "prefix {n} of {:02x}", msg[0]);
            }
            let mut long = body.to_vec();
            long.push(0);
            assert_eq!(decode(&long), None);
            for _ in 0..2000 {
                let mut m = body.to_vec();
                for _ in 0..3 {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    let i = (seed as usize) % m.len();
                    m[i] = (seed >> 32) as u8;
                }
                // Whatever still decodes re-encodes to exactly its input: nothing is lost
                // or normalised.
                if let Some(again) = decode(&m) {
                    assert_eq!(again, m);
                    accepted += 1;
                }
            }
        }
        // The flips hit payload bytes often enough that the check above ran.
        assert!(accepted > 1000, "{accepted}");
    }
}
