//! TLS 1.3 extensions as DTLS 1.3 uses them (RFC 8446 §4.2, RFC 9147 §5.3): typed
//! supported_versions, key_share, cookie, signature_algorithms(_cert), supported_groups and
//! psk_key_exchange_modes over the raw [`Extensions`] list, and the table of which extension may
//! appear in which message.
//!
//! The raw list keeps unknown extensions; only the typed accessors parse. Decoding never
//! panics and every list is bounded by its length prefix (and key shares by a count).

use super::codec::{Codec, Reader, Writer};
use super::enums::PskKeyExchangeMode;
use super::enums::{AlertDescription, ExtensionType, NamedGroup, ProtocolVersion};
use super::extensions::{Extensions, ExtensionsError};
use super::handshake::DecodeError;

/// Why a TLS 1.3 message or extension was refused; [`DecodeError13::alert`] gives the alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError13 {
    /// Truncated, overlong, trailing bytes or a length out of its range: decode_error.
    Malformed,
    /// An extension type appears twice in one block (RFC 8446 §4.2): illegal_parameter.
    DuplicateExtension,
    /// Well formed but forbidden by the protocol (a value out of its enumeration, a known
    /// extension in a message it does not belong to, a repeated key share group):
    /// illegal_parameter. The text is for logs.
    IllegalParameter(&'static str),
    /// An extension the peer was not offered (RFC 8446 §4.2): unsupported_extension.
    UnsupportedExtension(ExtensionType),
    /// A mandatory extension is absent (RFC 8446 §9.2): missing_extension.
    MissingExtension(ExtensionType),
}

impl DecodeError13 {
    /// The alert this failure calls for.
    pub fn alert(self) -> AlertDescription {
        match self {
            DecodeError13::Malformed => AlertDescription::DecodeError,
            DecodeError13::DuplicateExtension | DecodeError13::IllegalParameter(_) => {
                AlertDescription::IllegalParameter
            }
            DecodeError13::UnsupportedExtension(_) => AlertDescription::UnsupportedExtension,
            DecodeError13::MissingExtension(_) => AlertDescription::MissingExtension,
        }
    }
}

impl From<ExtensionsError> for DecodeError13 {
    fn from(e: ExtensionsError) -> Self {
        match e {
            ExtensionsError::Duplicate => DecodeError13::DuplicateExtension,
            ExtensionsError::Malformed => DecodeError13::Malformed,
        }
    }
}

impl From<DecodeError> for DecodeError13 {
    fn from(e: DecodeError) -> Self {
        match e {
            DecodeError::Malformed => DecodeError13::Malformed,
            DecodeError::DuplicateExtension => DecodeError13::DuplicateExtension,
        }
    }
}

pub(crate) fn need<T>(v: Option<T>) -> Result<T, DecodeError13> {
    v.ok_or(DecodeError13::Malformed)
}

pub(crate) fn finish(r: &Reader<'_>) -> Result<(), DecodeError13> {
    if r.is_empty() {
        Ok(())
    } else {
        Err(DecodeError13::Malformed)
    }
}

/// The most key shares we accept in one ClientHello. There are only a handful of groups worth
/// a share (browsers send two or three); the bound keeps the duplicate-group check cheap.
pub const MAX_KEY_SHARES: usize = 16;

/// The extension_data of one extension type, typed.
pub trait ExtensionData: Sized {
    /// The extension type this data belongs to.
    const TYPE: ExtensionType;
    /// Appends the extension_data (without type and length).
    fn encode(&self, out: &mut Vec<u8>);
    /// Decodes a whole extension_data; trailing bytes are `Malformed`.
    fn decode(data: &[u8]) -> Result<Self, DecodeError13>;

    /// The extension_data as a fresh vector.
    fn to_data(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.encode(&mut v);
        v
    }
}

/// The typed value of `T`'s extension, `None` if absent.
pub fn find<T: ExtensionData>(exts: &Extensions) -> Result<Option<T>, DecodeError13> {
    exts.get(T::TYPE).map(T::decode).transpose()
}

/// The typed value of `T`'s extension; `MissingExtension` if absent.
pub fn require<T: ExtensionData>(exts: &Extensions) -> Result<T, DecodeError13> {
    find(exts)?.ok_or(DecodeError13::MissingExtension(T::TYPE))
}

/// Appends `v` as `T`'s extension (the caller keeps types unique).
pub fn push<T: ExtensionData>(exts: &mut Extensions, v: &T) {
    exts.push(T::TYPE, v.to_data());
}

/// supported_versions in a ClientHello: the versions offered, in preference order
/// (`ProtocolVersion versions<2..254>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupportedVersionsClient(pub Vec<ProtocolVersion>);

impl ExtensionData for SupportedVersionsClient {
    const TYPE: ExtensionType = ExtensionType::SupportedVersions;

    fn encode(&self, out: &mut Vec<u8>) {
        out.put_len_prefixed(1, |out| self.0.iter().for_each(|v| v.encode(out)));
    }

    fn decode(data: &[u8]) -> Result<Self, DecodeError13> {
        let mut r = Reader::new(data);
        let list = need(r.vec8())?;
        finish(&r)?;
        if list.is_empty() || list.len() % 2 != 0 {
            return Err(DecodeError13::Malformed);
        }
        Ok(SupportedVersionsClient(
            list.chunks_exact(2)
                .map(|c| ProtocolVersion::from(u16::from_be_bytes([c[0], c[1]])))
                .collect(),
        ))
    }
}

/// supported_versions in a ServerHello or HelloRetryRequest: the one version selected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SupportedVersionsServer(pub ProtocolVersion);

impl ExtensionData for SupportedVersionsServer {
    const TYPE: ExtensionType = ExtensionType::SupportedVersions;

    fn encode(&self, out: &mut Vec<u8>) {
        self.0.encode(out);
    }

    fn decode(data: &[u8]) -> Result<Self, DecodeError13> {
        ProtocolVersion::from_bytes(data)
            .map(SupportedVersionsServer)
            .ok_or(DecodeError13::Malformed)
    }
}

/// One KeyShareEntry (RFC 8446 §4.2.8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyShareEntry {
    /// The group of the key.
    pub group: NamedGroup,
    /// key_exchange: the public value (`<1..2^16-1>`) in the group's encoding.
    pub key_exchange: Vec<u8>,
}

impl KeyShareEntry {
    fn encode(&self, out: &mut Vec<u8>) {
        self.group.encode(out);
        out.put_vec16(&self.key_exchange);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError13> {
        let group = need(NamedGroup::read(r))?;
        let key_exchange = need(r.vec16())?;
        if key_exchange.is_empty() {
            return Err(DecodeError13::Malformed);
        }
        Ok(KeyShareEntry {
            group,
            key_exchange: key_exchange.to_vec(),
        })
    }
}

/// key_share in a ClientHello: `client_shares<0..2^16-1>`, at most [`MAX_KEY_SHARES`], no
/// group twice. An empty list is legal: the client asks the server to pick via HRR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyShareClientHello(pub Vec<KeyShareEntry>);

impl KeyShareClientHello {
    /// The share for `group`, if offered.
    pub fn get(&self, group: NamedGroup) -> Option<&KeyShareEntry> {
        self.0.iter().find(|e| e.group == group)
    }
}

impl ExtensionData for KeyShareClientHello {
    const TYPE: ExtensionType = ExtensionType::KeyShare;

    fn encode(&self, out: &mut Vec<u8>) {
        out.put_len_prefixed(2, |out| self.0.iter().for_each(|e| e.encode(out)));
    }

    fn decode(data: &[u8]) -> Result<Self, DecodeError13> {
        let mut r = Reader::new(data);
        let mut list = need(r.sub16())?;
        finish(&r)?;
        let mut out: Vec<KeyShareEntry> = Vec::new();
        while !list.is_empty() {
            let e = KeyShareEntry::read(&mut list)?;
            if out.len() >= MAX_KEY_SHARES {
                return Err(DecodeError13::IllegalParameter("too many key shares"));
            }
            // RFC 8446 §4.2.8: "Clients MUST NOT offer multiple KeyShareEntry values for the
            // same group ... Servers MAY check for violations ... illegal_parameter".
            if out.iter().any(|o| o.group == e.group) {
                return Err(DecodeError13::IllegalParameter("key share group repeated"));
            }
            out.push(e);
        }
        Ok(KeyShareClientHello(out))
    }
}

/// key_share in a ServerHello: the server's one share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyShareServerHello(pub KeyShareEntry);

impl ExtensionData for KeyShareServerHello {
    const TYPE: ExtensionType = ExtensionType::KeyShare;

    fn encode(&self, out: &mut Vec<u8>) {
        self.0.encode(out);
    }

    fn decode(data: &[u8]) -> Result<Self, DecodeError13> {
        let mut r = Reader::new(data);
        let e = KeyShareEntry::read(&mut r)?;
        finish(&r)?;
        Ok(KeyShareServerHello(e))
    }
}

/// key_share in a HelloRetryRequest: the group the client must send a share for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyShareHelloRetryRequest(pub NamedGroup);

impl ExtensionData for KeyShareHelloRetryRequest {
    const TYPE: ExtensionType = ExtensionType::KeyShare;

    fn encode(&self, out: &mut Vec<u8>) {
        self.0.encode(out);
    }

    fn decode(data: &[u8]) -> Result<Self, DecodeError13> {
        NamedGroup::from_bytes(data)
            .map(KeyShareHelloRetryRequest)
            .ok_or(DecodeError13::Malformed)
    }
}

/// cookie (RFC 8446 §4.2.2): `opaque cookie<1..2^16-1>`, sent in a HelloRetryRequest and
/// echoed in the second ClientHello.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cookie(pub Vec<u8>);

impl ExtensionData for Cookie {
    const TYPE: ExtensionType = ExtensionType::Cookie;

    fn encode(&self, out: &mut Vec<u8>) {
        out.put_vec16(&self.0);
    }

    fn decode(data: &[u8]) -> Result<Self, DecodeError13> {
        let mut r = Reader::new(data);
        let c = need(r.vec16())?;
        finish(&r)?;
        if c.is_empty() {
            return Err(DecodeError13::Malformed);
        }
        Ok(Cookie(c.to_vec()))
    }
}

fn read_u16s(data: &[u8]) -> Result<Vec<u16>, DecodeError13> {
    let mut r = Reader::new(data);
    let list = need(r.vec16())?;
    finish(&r)?;
    if list.is_empty() || list.len() % 2 != 0 {
        return Err(DecodeError13::Malformed);
    }
    Ok(list
        .chunks_exact(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect())
}

fn write_u16s(values: &[u16], out: &mut Vec<u8>) {
    out.put_len_prefixed(2, |out| values.iter().for_each(|v| out.put_u16(*v)));
}

/// signature_algorithms (RFC 8446 §4.2.3): `SignatureScheme supported_signature_algorithms
/// <2..2^16-2>` as IANA codes, unknown ones kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureAlgorithms(pub Vec<u16>);

impl ExtensionData for SignatureAlgorithms {
    const TYPE: ExtensionType = ExtensionType::SignatureAlgorithms;

    fn encode(&self, out: &mut Vec<u8>) {
        write_u16s(&self.0, out);
    }

    fn decode(data: &[u8]) -> Result<Self, DecodeError13> {
        read_u16s(data).map(SignatureAlgorithms)
    }
}

/// signature_algorithms_cert (RFC 8446 §4.2.3): the schemes accepted in certificates, when
/// they differ from signature_algorithms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureAlgorithmsCert(pub Vec<u16>);

impl ExtensionData for SignatureAlgorithmsCert {
    const TYPE: ExtensionType = ExtensionType::SignatureAlgorithmsCert;

    fn encode(&self, out: &mut Vec<u8>) {
        write_u16s(&self.0, out);
    }

    fn decode(data: &[u8]) -> Result<Self, DecodeError13> {
        read_u16s(data).map(SignatureAlgorithmsCert)
    }
}

/// supported_groups (RFC 8446 §4.2.7): `NamedGroup named_group_list<2..2^16-1>`, in the
/// client's preference order; unknown groups kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupportedGroups(pub Vec<NamedGroup>);

impl ExtensionData for SupportedGroups {
    const TYPE: ExtensionType = ExtensionType::SupportedGroups;

    fn encode(&self, out: &mut Vec<u8>) {
        out.put_len_prefixed(2, |out| self.0.iter().for_each(|g| g.encode(out)));
    }

    fn decode(data: &[u8]) -> Result<Self, DecodeError13> {
        Ok(SupportedGroups(
            read_u16s(data)?.into_iter().map(NamedGroup::from).collect(),
        ))
    }
}

/// psk_key_exchange_modes (RFC 8446 §4.2.9): `PskKeyExchangeMode ke_modes<1..255>`. We send
/// it only once resumption exists (a client offering pre_shared_key must send it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PskKeyExchangeModes(pub Vec<PskKeyExchangeMode>);

impl ExtensionData for PskKeyExchangeModes {
    const TYPE: ExtensionType = ExtensionType::PskKeyExchangeModes;

    fn encode(&self, out: &mut Vec<u8>) {
        out.put_len_prefixed(1, |out| self.0.iter().for_each(|m| m.encode(out)));
    }

    fn decode(data: &[u8]) -> Result<Self, DecodeError13> {
        let mut r = Reader::new(data);
        let list = need(r.vec8())?;
        finish(&r)?;
        if list.is_empty() {
            return Err(DecodeError13::Malformed);
        }
        Ok(PskKeyExchangeModes(
            list.iter().map(|m| PskKeyExchangeMode::from(*m)).collect(),
        ))
    }
}

/// The message an extension block was received in, for the table of RFC 8446 §4.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtensionContext {
    /// ClientHello ("CH").
    ClientHello,
    /// ServerHello ("SH").
    ServerHello,
    /// HelloRetryRequest ("HRR").
    HelloRetryRequest,
    /// EncryptedExtensions ("EE").
    EncryptedExtensions,
    /// CertificateRequest ("CR").
    CertificateRequest,
    /// A CertificateEntry of a Certificate ("CT").
    Certificate,
    /// NewSessionTicket ("NST").
    NewSessionTicket,
}

/// Whether a known extension type may appear in `ctx` in TLS/DTLS 1.3 (RFC 8446 §4.2, RFC 9146
/// for connection_id, RFC 8449 for record_size_limit). `None` for types without a TLS 1.3 row
/// that we know: the caller decides those by what it offered.
///
/// In a ClientHello every known type is allowed: a hybrid ClientHello carries TLS 1.2 extensions
/// that a 1.3 server ignores.
pub fn permitted(typ: ExtensionType, ctx: ExtensionContext) -> Option<bool> {
    use ExtensionContext as C;
    use ExtensionType as T;
    let rows: &[ExtensionContext] = match typ {
        T::ServerName | T::SupportedGroups | T::UseSrtp | T::Alpn | T::RecordSizeLimit => {
            &[C::EncryptedExtensions]
        }
        T::SignatureAlgorithms | T::SignatureAlgorithmsCert | T::CertificateAuthorities => {
            &[C::CertificateRequest]
        }
        T::OidFilters => &[C::CertificateRequest],
        T::PreSharedKey => &[C::ServerHello],
        T::EarlyData => &[C::EncryptedExtensions, C::NewSessionTicket],
        T::Cookie => &[C::HelloRetryRequest],
        T::SupportedVersions | T::KeyShare => &[C::ServerHello, C::HelloRetryRequest],
        // IANA registers connection_id for CH and SH in 1.3 (RFC 9146 §10.1), and RFC 9147
        // does not say more; an EncryptedExtensions copy is accepted too, as some stacks
        // negotiate it there.
        T::ConnectionId => &[C::ServerHello, C::EncryptedExtensions],
        T::PskKeyExchangeModes | T::PostHandshakeAuth => &[],
        // TLS 1.2 only: never valid outside a ClientHello in 1.3.
        T::EcPointFormats
        | T::EncryptThenMac
        | T::ExtendedMasterSecret
        | T::SessionTicket
        | T::RenegotiationInfo => &[],
        T::Unknown(_) => return None,
    };
    Some(ctx == C::ClientHello || rows.contains(&ctx))
}

/// Refuses a known extension in a message it does not belong to (RFC 8446 §4.2: "If an
/// implementation receives an extension which it recognizes and which is not specified for the
/// message in which it appears, it MUST abort the handshake with an illegal_parameter alert").
pub fn check_permitted(exts: &Extensions, ctx: ExtensionContext) -> Result<(), DecodeError13> {
    if exts.types().any(|t| permitted(t, ctx) == Some(false)) {
        return Err(DecodeError13::IllegalParameter(
            "extension not allowed here",
        ));
    }
    Ok(())
}

/// Refuses extensions in a response that the request did not carry (RFC 8446 §4.2:
/// unsupported_extension). `offered` is the ClientHello's block for a server message (and for
/// a server CertificateEntry), the CertificateRequest's for a client CertificateEntry. `ctx` is
/// the response's message; a HelloRetryRequest may add a cookie unasked (RFC 8446 §4.1.4).
pub fn check_solicited(
    received: &Extensions,
    offered: &Extensions,
    ctx: ExtensionContext,
) -> Result<(), DecodeError13> {
    for t in received.types() {
        let unasked_ok = ctx == ExtensionContext::HelloRetryRequest && t == ExtensionType::Cookie;
        if !unasked_ok && !offered.has(t) {
            return Err(DecodeError13::UnsupportedExtension(t));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T: ExtensionData + PartialEq + std::fmt::Debug>(v: T) -> Vec<u8> {
        let data = v.to_data();
        assert_eq!(T::decode(&data), Ok(v));
        // Every truncation and one trailing byte is refused, never a panic.
        for n in 0..data.len() {
            assert!(T::decode(&data[..n]).is_err(), "prefix {n} of {data:02x?}");
        }
        let mut long = data.clone();
        long.push(0);
        assert_eq!(T::decode(&long), Err(DecodeError13::Malformed));
        data
    }

    #[test]
    fn supported_versions() {
        let d = round_trip(SupportedVersionsClient(vec![
            ProtocolVersion::Dtls13,
            ProtocolVersion::Dtls12,
            ProtocolVersion::Unknown(0x7f1c),
        ]));
        assert_eq!(d, [6, 0xfe, 0xfc, 0xfe, 0xfd, 0x7f, 0x1c]);
        assert_eq!(
            SupportedVersionsClient::decode(&[0]),
            Err(DecodeError13::Malformed)
        );
        assert_eq!(
            SupportedVersionsClient::decode(&[3, 0xfe, 0xfc, 0xfe]),
            Err(DecodeError13::Malformed)
        );
        let d = round_trip(SupportedVersionsServer(ProtocolVersion::Dtls13));
        assert_eq!(d, [0xfe, 0xfc]);
    }

    #[test]
    fn key_shares() {
        let x = KeyShareEntry {
            group: NamedGroup::X25519,
            key_exchange: vec![9; 32],
        };
        let p = KeyShareEntry {
            group: NamedGroup::Secp256r1,
            key_exchange: vec![4; 65],
        };
        let ch = KeyShareClientHello(vec![x.clone(), p.clone()]);
        let d = round_trip(ch.clone());
        assert_eq!(&d[..6], &[0, 105, 0, 29, 0, 32]);
        assert_eq!(ch.get(NamedGroup::Secp256r1), Some(&p));
        assert_eq!(ch.get(NamedGroup::X448), None);
        // The empty list asks for a HelloRetryRequest; it is legal.
        assert_eq!(
            KeyShareClientHello::decode(&[0, 0]),
            Ok(KeyShareClientHello(vec![]))
        );
        // One group twice.
        let dup = KeyShareClientHello(vec![x.clone(), p.clone(), x.clone()]).to_data();
        assert!(matches!(
            KeyShareClientHello::decode(&dup),
            Err(DecodeError13::IllegalParameter(_))
        ));
        // Too many shares, each of a distinct group.
        let many = KeyShareClientHello(
            (0..=MAX_KEY_SHARES as u16)
                .map(|g| KeyShareEntry {
                    group: NamedGroup::from(0x100 + g),
                    key_exchange: vec![1],
                })
                .collect(),
        )
        .to_data();
        assert!(matches!(
            KeyShareClientHello::decode(&many),
            Err(DecodeError13::IllegalParameter(_))
        ));
        // An empty key_exchange.
        assert_eq!(
            KeyShareClientHello::decode(&[0, 4, 0, 29, 0, 0]),
            Err(DecodeError13::Malformed)
        );
        round_trip(KeyShareServerHello(x));
        let d = round_trip(KeyShareHelloRetryRequest(NamedGroup::Secp384r1));
        assert_eq!(d, [0, 24]);
    }

    #[test]
    fn cookie_and_lists() {
        round_trip(Cookie(vec![1, 2, 3]));
        assert_eq!(Cookie::decode(&[0, 0]), Err(DecodeError13::Malformed));
        let d = round_trip(SignatureAlgorithms(vec![0x0403, 0x0804, 0x0201]));
        assert_eq!(d, [0, 6, 4, 3, 8, 4, 2, 1]);
        round_trip(SignatureAlgorithmsCert(vec![0x0401]));
        assert_eq!(
            SignatureAlgorithms::decode(&[0, 0]),
            Err(DecodeError13::Malformed)
        );
        assert_eq!(
            SignatureAlgorithms::decode(&[0, 3, 4, 3, 8]),
            Err(DecodeError13::Malformed)
        );
        round_trip(SupportedGroups(vec![
            NamedGroup::X25519MlKem768,
            NamedGroup::X25519,
            NamedGroup::Unknown(0x1234),
        ]));
        let d = round_trip(PskKeyExchangeModes(vec![PskKeyExchangeMode::PskDheKe]));
        assert_eq!(d, [1, 1]);
        assert_eq!(
            PskKeyExchangeModes::decode(&[0]),
            Err(DecodeError13::Malformed)
        );
    }

    #[test]
    fn typed_access_on_a_block() {
        let mut e = Extensions::default();
        push(&mut e, &SupportedVersionsServer(ProtocolVersion::Dtls13));
        e.push(ExtensionType::Unknown(0xaaaa), vec![1, 2]);
        assert_eq!(
            find::<SupportedVersionsServer>(&e),
            Ok(Some(SupportedVersionsServer(ProtocolVersion::Dtls13)))
        );
        assert_eq!(find::<Cookie>(&e), Ok(None));
        assert_eq!(
            require::<Cookie>(&e),
            Err(DecodeError13::MissingExtension(ExtensionType::Cookie))
        );
        assert_eq!(
            require::<Cookie>(&e).unwrap_err().alert(),
            AlertDescription::MissingExtension
        );
        // A present but malformed extension is an error, not "absent".
        e.push(ExtensionType::Cookie, vec![0, 5, 1]);
        assert_eq!(find::<Cookie>(&e), Err(DecodeError13::Malformed));
    }

    #[test]
    fn extension_table() {
        use ExtensionContext as C;
        assert_eq!(
            permitted(ExtensionType::KeyShare, C::ServerHello),
            Some(true)
        );
        assert_eq!(
            permitted(ExtensionType::KeyShare, C::EncryptedExtensions),
            Some(false)
        );
        assert_eq!(
            permitted(ExtensionType::Cookie, C::ServerHello),
            Some(false)
        );
        assert_eq!(
            permitted(ExtensionType::Cookie, C::HelloRetryRequest),
            Some(true)
        );
        assert_eq!(
            permitted(ExtensionType::UseSrtp, C::EncryptedExtensions),
            Some(true)
        );
        assert_eq!(
            permitted(ExtensionType::UseSrtp, C::ServerHello),
            Some(false)
        );
        assert_eq!(
            permitted(ExtensionType::ExtendedMasterSecret, C::ClientHello),
            Some(true)
        );
        assert_eq!(
            permitted(ExtensionType::ExtendedMasterSecret, C::EncryptedExtensions),
            Some(false)
        );
        assert_eq!(
            permitted(ExtensionType::SignatureAlgorithms, C::CertificateRequest),
            Some(true)
        );
        assert_eq!(permitted(ExtensionType::Unknown(99), C::ServerHello), None);

        let mut ee = Extensions::default();
        ee.push(ExtensionType::Alpn, vec![]);
        ee.push(ExtensionType::Unknown(0x5555), vec![]);
        assert_eq!(check_permitted(&ee, C::EncryptedExtensions), Ok(()));
        ee.push(ExtensionType::SupportedVersions, vec![]);
        assert_eq!(
            check_permitted(&ee, C::EncryptedExtensions)
                .unwrap_err()
                .alert(),
            AlertDescription::IllegalParameter
        );

        let mut offered = Extensions::default();
        offered.push(ExtensionType::KeyShare, vec![]);
        offered.push(ExtensionType::SupportedVersions, vec![]);
        let mut hrr = Extensions::default();
        hrr.push(ExtensionType::SupportedVersions, vec![]);
        hrr.push(ExtensionType::Cookie, vec![]);
        assert_eq!(
            check_solicited(&hrr, &offered, C::HelloRetryRequest),
            Ok(())
        );
        assert_eq!(
            check_solicited(&hrr, &offered, C::ServerHello),
            Err(DecodeError13::UnsupportedExtension(ExtensionType::Cookie))
        );
    }
}
