//! Handshake message header and the DTLS 1.2 handshake messages (RFC 6347 §4.3.2, RFC 5246 §7.4,
//! RFC 8422 §5 for the ECDHE messages).

use super::codec::{Codec, Reader, Writer};
use super::enums::{CipherSuite, HandshakeType, NamedGroup, ProtocolVersion};
use super::extensions::{Extensions, ExtensionsError};

/// Bytes in a DTLS handshake header.
pub const HANDSHAKE_HEADER_LEN: usize = 12;

/// The DTLS handshake header: every fragment carries one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandshakeHeader {
    /// The message type.
    pub msg_type: HandshakeType,
    /// Length of the whole message body, not of this fragment.
    pub length: u32,
    /// message_seq (RFC 6347 §4.2.2): the same in every fragment and retransmission.
    pub msg_seq: u16,
    /// Where this fragment's bytes start in the body.
    pub frag_off: u32,
    /// How many body bytes this fragment carries.
    pub frag_len: u32,
}

impl HandshakeHeader {
    /// Writes the 12 header bytes into `out[..12]` without allocating (the stateless front
    /// door's HelloVerifyRequest).
    pub fn write_to(&self, out: &mut [u8]) {
        let u24 = |v: u32| [(v >> 16) as u8, (v >> 8) as u8, v as u8];
        out[0] = self.msg_type.get();
        out[1..4].copy_from_slice(&u24(self.length));
        out[4..6].copy_from_slice(&self.msg_seq.to_be_bytes());
        out[6..9].copy_from_slice(&u24(self.frag_off));
        out[9..12].copy_from_slice(&u24(self.frag_len));
    }
}

impl Codec for HandshakeHeader {
    fn encode(&self, out: &mut Vec<u8>) {
        self.msg_type.encode(out);
        out.put_u24(self.length);
        out.put_u16(self.msg_seq);
        out.put_u24(self.frag_off);
        out.put_u24(self.frag_len);
    }

    fn read(r: &mut Reader<'_>) -> Option<Self> {
        Some(HandshakeHeader {
            msg_type: HandshakeType::read(r)?,
            length: r.u24()?,
            msg_seq: r.u16()?,
            frag_off: r.u24()?,
            frag_len: r.u24()?,
        })
    }
}

/// The unfragmented form of a message, as hashed into the transcript (RFC 6347 §4.2.6).
pub fn full_message(msg_type: HandshakeType, msg_seq: u16, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HANDSHAKE_HEADER_LEN + body.len());
    out.extend_from_slice(&full_message_header(msg_type, msg_seq, body.len()));
    out.extend_from_slice(body);
    out
}

/// The 12 header bytes of [`full_message`], for appending a message without building it.
pub fn full_message_header(
    msg_type: HandshakeType,
    msg_seq: u16,
    body_len: usize,
) -> [u8; HANDSHAKE_HEADER_LEN] {
    let mut h = [0u8; HANDSHAKE_HEADER_LEN];
    HandshakeHeader {
        msg_type,
        length: body_len as u32,
        msg_seq,
        frag_off: 0,
        frag_len: body_len as u32,
    }
    .write_to(&mut h);
    h
}

/// Why a handshake body failed to decode: maps to decode_error or illegal_parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// Truncated, overlong or out of range: decode_error.
    Malformed,
    /// An extension appears twice (RFC 5246 §7.4.1.4): illegal_parameter.
    DuplicateExtension,
}

impl From<ExtensionsError> for DecodeError {
    fn from(e: ExtensionsError) -> Self {
        match e {
            ExtensionsError::Duplicate => DecodeError::DuplicateExtension,
            ExtensionsError::Malformed => DecodeError::Malformed,
        }
    }
}

fn need<T>(v: Option<T>) -> Result<T, DecodeError> {
    v.ok_or(DecodeError::Malformed)
}

fn finish(r: &Reader<'_>) -> Result<(), DecodeError> {
    if r.is_empty() {
        Ok(())
    } else {
        Err(DecodeError::Malformed)
    }
}

fn read_random(r: &mut Reader<'_>) -> Result<[u8; 32], DecodeError> {
    let b = need(r.take(32))?;
    let mut out = [0u8; 32];
    out.copy_from_slice(b);
    Ok(out)
}

/// ClientHello (RFC 6347 §4.2.1 adds the cookie).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientHello {
    /// client_version: the highest version the client offers.
    pub version: ProtocolVersion,
    /// The client's 32 random bytes, an input to key derivation.
    pub random: [u8; 32],
    /// session_id (at most 32 bytes; we neither resume nor send one).
    pub session_id: Vec<u8>,
    /// The HelloVerifyRequest cookie echoed back; empty in a first ClientHello.
    pub cookie: Vec<u8>,
    /// Offered suites in the client's preference order, unknown ones kept.
    pub cipher_suites: Vec<CipherSuite>,
    /// Offered compression methods; a server requires null (0), the only one in use.
    pub compression_methods: Vec<u8>,
    /// The hello extensions, undecoded.
    pub extensions: Extensions,
}

impl ClientHello {
    /// Appends the message body (without the handshake header).
    pub fn encode(&self, out: &mut Vec<u8>) {
        self.version.encode(out);
        out.put(&self.random);
        out.put_vec8(&self.session_id);
        out.put_vec8(&self.cookie);
        out.put_len_prefixed(2, |out| {
            self.cipher_suites.iter().for_each(|s| s.encode(out))
        });
        out.put_vec8(&self.compression_methods);
        self.extensions.encode_block(out);
    }

    /// Decodes a whole message body; trailing bytes are `Malformed`.
    pub fn decode(body: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        let version = need(ProtocolVersion::read(&mut r))?;
        let random = read_random(&mut r)?;
        let session_id = need(r.vec8())?;
        let cookie = need(r.vec8())?;
        if session_id.len() > 32 || cookie.len() > 255 {
            return Err(DecodeError::Malformed);
        }
        let suites = need(r.vec16())?;
        if suites.is_empty() || suites.len() % 2 != 0 {
            return Err(DecodeError::Malformed);
        }
        let cipher_suites = suites
            .chunks_exact(2)
            .map(|c| CipherSuite::from(u16::from_be_bytes([c[0], c[1]])))
            .collect();
        let compression_methods = need(r.vec8())?.to_vec();
        let extensions = Extensions::read_block(&mut r)?;
        finish(&r)?;
        Ok(ClientHello {
            version,
            random,
            session_id: session_id.to_vec(),
            cookie: cookie.to_vec(),
            cipher_suites,
            compression_methods,
            extensions,
        })
    }
}

/// The fields a stateless cookie is bound to, read from the start of a ClientHello body.
/// They all sit in the first fragment, so a fragmented ClientHello can be answered (and its
/// retry verified) without reassembly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientHelloPrefix<'a> {
    /// client_version, raw as sent.
    pub version: u16,
    /// The client's 32 random bytes.
    pub random: &'a [u8],
    /// session_id as sent.
    pub session_id: &'a [u8],
    /// The cookie as sent; empty before a HelloVerifyRequest.
    pub cookie: &'a [u8],
}

impl<'a> ClientHelloPrefix<'a> {
    /// Reads the prefix from the first bytes of a ClientHello body.
    pub fn read(first_fragment: &'a [u8]) -> Option<Self> {
        let mut r = Reader::new(first_fragment);
        let version = r.u16()?;
        let random = r.take(32)?;
        let session_id = r.vec8()?;
        let cookie = r.vec8()?;
        Some(ClientHelloPrefix {
            version,
            random,
            session_id,
            cookie,
        })
    }
}

/// HelloVerifyRequest (RFC 6347 §4.2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelloVerifyRequest {
    /// server_version; RFC 6347 §4.2.1 has servers send DTLS 1.0 here whatever they will
    /// negotiate.
    pub version: ProtocolVersion,
    /// The stateless cookie the client must echo (at most 255 bytes).
    pub cookie: Vec<u8>,
}

impl HelloVerifyRequest {
    /// Appends the message body (without the handshake header).
    pub fn encode(&self, out: &mut Vec<u8>) {
        self.version.encode(out);
        out.put_vec8(&self.cookie);
    }

    /// Decodes a whole message body; trailing bytes are `Malformed`.
    pub fn decode(body: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        let version = need(ProtocolVersion::read(&mut r))?;
        let cookie = need(r.vec8())?.to_vec();
        finish(&r)?;
        Ok(HelloVerifyRequest { version, cookie })
    }
}

/// ServerHello.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHello {
    /// server_version: the version chosen.
    pub version: ProtocolVersion,
    /// The server's 32 random bytes, an input to key derivation.
    pub random: [u8; 32],
    /// session_id (at most 32 bytes; ours is empty: sessions are not resumable).
    pub session_id: Vec<u8>,
    /// The suite chosen.
    pub cipher_suite: CipherSuite,
    /// The compression method chosen; anything but null (0) is refused.
    pub compression_method: u8,
    /// The hello extensions, undecoded.
    pub extensions: Extensions,
}

impl ServerHello {
    /// Appends the message body (without the handshake header).
    pub fn encode(&self, out: &mut Vec<u8>) {
        self.version.encode(out);
        out.put(&self.random);
        out.put_vec8(&self.session_id);
        self.cipher_suite.encode(out);
        out.put_u8(self.compression_method);
        self.extensions.encode_block(out);
    }

    /// Decodes a whole message body; trailing bytes are `Malformed`.
    pub fn decode(body: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        let version = need(ProtocolVersion::read(&mut r))?;
        let random = read_random(&mut r)?;
        let session_id = need(r.vec8())?.to_vec();
        if session_id.len() > 32 {
            return Err(DecodeError::Malformed);
        }
        let cipher_suite = need(CipherSuite::read(&mut r))?;
        let compression_method = need(r.u8())?;
        let extensions = Extensions::read_block(&mut r)?;
        finish(&r)?;
        Ok(ServerHello {
            version,
            random,
            session_id,
            cipher_suite,
            compression_method,
            extensions,
        })
    }
}

/// Certificate (TLS 1.2 form): DER certificates, leaf first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate12 {
    /// DER certificates, leaf first.
    pub chain: Vec<Vec<u8>>,
}

impl Certificate12 {
    /// Appends the message body (without the handshake header).
    pub fn encode(&self, out: &mut Vec<u8>) {
        Self::encode_chain(&self.chain, out);
    }

    /// Encodes a chain held elsewhere (our configured certificate) without copying it first.
    pub fn encode_chain(chain: &[Vec<u8>], out: &mut Vec<u8>) {
        out.put_len_prefixed(3, |out| chain.iter().for_each(|c| out.put_vec24(c)));
    }

    /// Decodes, refusing chains longer than `max_certs`.
    pub fn decode(body: &[u8], max_certs: usize) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        let mut list = Reader::new(need(r.vec24())?);
        finish(&r)?;
        let mut chain = Vec::new();
        while !list.is_empty() {
            let c = need(list.vec24())?;
            if c.is_empty() || chain.len() >= max_certs {
                return Err(DecodeError::Malformed);
            }
            chain.push(c.to_vec());
        }
        Ok(Certificate12 { chain })
    }
}

/// ServerECDHParams with named_curve (RFC 8422 §5.4), the part the server signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcdheParams {
    /// The curve (curve_type is always named_curve).
    pub group: NamedGroup,
    /// The server's ephemeral public key as encoded on the wire.
    pub public: Vec<u8>,
}

impl EcdheParams {
    /// Appends curve_type, group and public key: the wire form, which is also what the
    /// signature covers after the two randoms.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put_u8(3); // named_curve
        self.group.encode(out);
        out.put_vec8(&self.public);
    }
}

/// ServerKeyExchange for ECDHE with a signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerKeyExchange {
    /// The ephemeral key the signature binds to this handshake.
    pub params: EcdheParams,
    /// The signature scheme (IANA code).
    pub scheme: u16,
    /// Signature over client_random || server_random || params (RFC 8422 §5.4).
    pub signature: Vec<u8>,
}

impl ServerKeyExchange {
    /// Appends the message body (without the handshake header).
    pub fn encode(&self, out: &mut Vec<u8>) {
        self.params.encode(out);
        out.put_u16(self.scheme);
        out.put_vec16(&self.signature);
    }

    /// Decodes a whole message body; trailing bytes are `Malformed`.
    pub fn decode(body: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        if need(r.u8())? != 3 {
            return Err(DecodeError::Malformed);
        }
        let group = need(NamedGroup::read(&mut r))?;
        let public = need(r.vec8())?.to_vec();
        if public.is_empty() {
            return Err(DecodeError::Malformed);
        }
        let scheme = need(r.u16())?;
        let signature = need(r.vec16())?.to_vec();
        finish(&r)?;
        Ok(ServerKeyExchange {
            params: EcdheParams { group, public },
            scheme,
            signature,
        })
    }
}

/// CertificateRequest (TLS 1.2 form).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateRequest12 {
    /// ClientCertificateType codes the server accepts (we send ecdsa_sign and rsa_sign).
    pub cert_types: Vec<u8>,
    /// supported_signature_algorithms (IANA codes).
    pub schemes: Vec<u16>,
    /// certificate_authorities: DER distinguished names; empty means any.
    pub authorities: Vec<Vec<u8>>,
}

impl CertificateRequest12 {
    /// Appends the message body (without the handshake header).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put_vec8(&self.cert_types);
        out.put_len_prefixed(2, |out| self.schemes.iter().for_each(|s| out.put_u16(*s)));
        out.put_len_prefixed(2, |out| {
            self.authorities.iter().for_each(|a| out.put_vec16(a))
        });
    }

    /// Decodes a whole message body; trailing bytes are `Malformed`.
    pub fn decode(body: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        let cert_types = need(r.vec8())?.to_vec();
        let schemes_raw = need(r.vec16())?;
        if schemes_raw.len() % 2 != 0 {
            return Err(DecodeError::Malformed);
        }
        let schemes = schemes_raw
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        let mut cas = need(r.sub16())?;
        let mut authorities = Vec::new();
        while !cas.is_empty() {
            authorities.push(need(cas.vec16())?.to_vec());
        }
        finish(&r)?;
        Ok(CertificateRequest12 {
            cert_types,
            schemes,
            authorities,
        })
    }
}

/// ClientKeyExchange for ECDHE: the client's public point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientKeyExchange {
    /// The client's ephemeral public key as encoded on the wire.
    pub public: Vec<u8>,
}

impl ClientKeyExchange {
    /// Appends the message body (without the handshake header).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put_vec8(&self.public);
    }

    /// Decodes a whole message body; trailing bytes are `Malformed`.
    pub fn decode(body: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        let public = need(r.vec8())?.to_vec();
        finish(&r)?;
        if public.is_empty() {
            return Err(DecodeError::Malformed);
        }
        Ok(ClientKeyExchange { public })
    }
}

/// A signature with its scheme: CertificateVerify in both versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigitallySigned {
    /// The signature scheme (IANA code).
    pub scheme: u16,
    /// The signature bytes.
    pub signature: Vec<u8>,
}

impl DigitallySigned {
    /// Appends the message body (without the handshake header).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put_u16(self.scheme);
        out.put_vec16(&self.signature);
    }

    /// Decodes a whole message body; trailing bytes are `Malformed`.
    pub fn decode(body: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        let scheme = need(r.u16())?;
        let signature = need(r.vec16())?.to_vec();
        finish(&r)?;
        Ok(DigitallySigned { scheme, signature })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msgs::enums::ExtensionType;

    #[test]
    fn client_hello_round_trip_and_prefix() {
        let mut ext = Extensions::default();
        ext.push(ExtensionType::ExtendedMasterSecret, vec![]);
        let ch = ClientHello {
            version: ProtocolVersion::Dtls12,
            random: [7; 32],
            session_id: vec![],
            cookie: vec![1, 2, 3],
            cipher_suites: vec![CipherSuite::EcdheEcdsaAes128GcmSha256],
            compression_methods: vec![0],
            extensions: ext,
        };
        let mut b = Vec::new();
        ch.encode(&mut b);
        assert_eq!(ClientHello::decode(&b), Ok(ch));
        let p = ClientHelloPrefix::read(&b[..40]).unwrap();
        assert_eq!(p.cookie, &[1, 2, 3]);
        assert_eq!(p.version, 0xfefd);
        for n in 0..b.len() {
            // Only the optional extension block may be cut off whole.
            if let Ok(short) = ClientHello::decode(&b[..n]) {
                assert!(short.extensions.0.is_empty());
            }
        }
    }

    #[test]
    fn certificate_limits() {
        let c = Certificate12 {
            chain: vec![vec![1; 10], vec![2; 5]],
        };
        let mut b = Vec::new();
        c.encode(&mut b);
        assert_eq!(Certificate12::decode(&b, 4), Ok(c));
        assert!(Certificate12::decode(&b, 1).is_err());
        assert_eq!(
            Certificate12::decode(&[0, 0, 0], 4),
            Ok(Certificate12 { chain: vec![] })
        );
    }
}
