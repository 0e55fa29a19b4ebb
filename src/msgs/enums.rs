//! Wire enums. Each keeps unknown values (`Unknown(n)`) so that decoding never fails on a
//! value we have not heard of, and re-encoding is lossless.

use super::codec::{Codec, Reader, Writer};

macro_rules! wire_enum {
    ($(#[$m:meta])* $name:ident : $ty:ident { $($(#[$vm:meta])* $var:ident = $val:expr,)* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vm])* $var,)*
            /// A value this implementation does not know.
            Unknown($ty),
        }

        impl $name {
            /// The value on the wire.
            pub fn get(self) -> $ty {
                match self {
                    $($name::$var => $val,)*
                    $name::Unknown(v) => v,
                }
            }
        }

        impl From<$ty> for $name {
            fn from(v: $ty) -> Self {
                match v {
                    $($val => $name::$var,)*
                    other => $name::Unknown(other),
                }
            }
        }
    };
}

macro_rules! codec_u8 {
    ($name:ident) => {
        impl Codec for $name {
            fn encode(&self, out: &mut Vec<u8>) {
                out.put_u8(self.get());
            }
            fn read(r: &mut Reader<'_>) -> Option<Self> {
                r.u8().map(Self::from)
            }
        }
    };
}

macro_rules! codec_u16 {
    ($name:ident) => {
        impl Codec for $name {
            fn encode(&self, out: &mut Vec<u8>) {
                out.put_u16(self.get());
            }
            fn read(r: &mut Reader<'_>) -> Option<Self> {
                r.u16().map(Self::from)
            }
        }
    };
}

wire_enum!(
    /// Record content types (RFC 6347 §4.1, RFC 9146 for tls12_cid).
    ContentType: u8 {
        /// change_cipher_spec: the sender's following records use its next epoch.
        ChangeCipherSpec = 20,
        /// alert.
        Alert = 21,
        /// handshake.
        Handshake = 22,
        /// application_data.
        ApplicationData = 23,
        /// ack: DTLS 1.3 handshake acknowledgement (RFC 9147 §7).
        Ack = 26,
        /// tls12_cid: a DTLS 1.2 record carrying a connection ID (RFC 9146).
        Tls12Cid = 25,
    }
);
codec_u8!(ContentType);

wire_enum!(
    /// Handshake message types.
    HandshakeType: u8 {
        /// hello_request: a server's call to renegotiate.
        HelloRequest = 0,
        /// client_hello.
        ClientHello = 1,
        /// server_hello.
        ServerHello = 2,
        /// hello_verify_request: the stateless cookie challenge (RFC 6347 §4.2.1).
        HelloVerifyRequest = 3,
        /// new_session_ticket (RFC 5077, RFC 8446).
        NewSessionTicket = 4,
        /// end_of_early_data (TLS 1.3).
        EndOfEarlyData = 5,
        /// Reserved: hello_retry_request of the TLS 1.3 drafts (RFC 8446 sends a ServerHello).
        HelloRetryRequest = 6,
        /// encrypted_extensions (TLS 1.3).
        EncryptedExtensions = 8,
        /// certificate: the sender's chain.
        Certificate = 11,
        /// server_key_exchange: the server's signed ephemeral key.
        ServerKeyExchange = 12,
        /// certificate_request: the server asks for a client certificate.
        CertificateRequest = 13,
        /// server_hello_done: the end of the server's first flight.
        ServerHelloDone = 14,
        /// certificate_verify: the client proves it holds its certificate's key.
        CertificateVerify = 15,
        /// client_key_exchange: the client's ephemeral key.
        ClientKeyExchange = 16,
        /// finished: the MAC over the whole handshake.
        Finished = 20,
        /// key_update (TLS 1.3).
        KeyUpdate = 24,
        /// message_hash: stands in for the first ClientHello in the transcript after a
        /// HelloRetryRequest (RFC 8446 §4.4.1).
        MessageHash = 254,
    }
);
codec_u8!(HandshakeType);

wire_enum!(
    /// Alert levels.
    AlertLevel: u8 {
        /// warning: the association may go on (close_notify, no_renegotiation).
        Warning = 1,
        /// fatal: the association ends.
        Fatal = 2,
    }
);
codec_u8!(AlertLevel);

wire_enum!(
    /// Alert descriptions (RFC 5246 §7.2, RFC 8446 §6).
    AlertDescription: u8 {
        /// close_notify: the sender will send nothing more.
        CloseNotify = 0,
        /// unexpected_message: a message out of place.
        UnexpectedMessage = 10,
        /// bad_record_mac: a record failed authentication.
        BadRecordMac = 20,
        /// record_overflow: a record longer than allowed.
        RecordOverflow = 22,
        /// handshake_failure: no acceptable set of parameters.
        HandshakeFailure = 40,
        /// bad_certificate: a corrupt certificate, or one whose signature fails.
        BadCertificate = 42,
        /// unsupported_certificate: a certificate of a type not supported.
        UnsupportedCertificate = 43,
        /// certificate_revoked.
        CertificateRevoked = 44,
        /// certificate_expired: expired or not yet valid.
        CertificateExpired = 45,
        /// certificate_unknown: some other certificate problem.
        CertificateUnknown = 46,
        /// illegal_parameter: a field out of range or inconsistent with others.
        IllegalParameter = 47,
        /// unknown_ca: the chain leads to no trusted root.
        UnknownCa = 48,
        /// access_denied: a valid certificate, but access refused.
        AccessDenied = 49,
        /// decode_error: a message could not be decoded.
        DecodeError = 50,
        /// decrypt_error: a handshake signature or Finished did not verify.
        DecryptError = 51,
        /// protocol_version: the version offered is not supported.
        ProtocolVersion = 70,
        /// insufficient_security: the peer's parameters are all too weak.
        InsufficientSecurity = 71,
        /// internal_error: a local failure, not the peer's fault.
        InternalError = 80,
        /// inappropriate_fallback (RFC 7507): a version-fallback retry the server refuses.
        InappropriateFallback = 86,
        /// user_canceled: the handshake is abandoned for reasons of the sender's own.
        UserCanceled = 90,
        /// no_renegotiation: a renegotiation request declined.
        NoRenegotiation = 100,
        /// missing_extension (TLS 1.3): a required extension is absent.
        MissingExtension = 109,
        /// unsupported_extension: an extension the receiver did not offer.
        UnsupportedExtension = 110,
        /// unrecognized_name (RFC 6066): no server by the requested name.
        UnrecognizedName = 112,
        /// unknown_psk_identity (RFC 4279).
        UnknownPskIdentity = 115,
        /// certificate_required (TLS 1.3): a client certificate is required and absent.
        CertificateRequired = 116,
        /// no_application_protocol (RFC 7301): no ALPN protocol in common.
        NoApplicationProtocol = 120,
    }
);
codec_u8!(AlertDescription);

wire_enum!(
    /// Protocol versions as they appear on the wire (DTLS counts down).
    ProtocolVersion: u16 {
        /// DTLS 1.0 (RFC 4347): seen in HelloVerifyRequest and older ClientHellos.
        Dtls10 = 0xfeff,
        /// DTLS 1.2 (RFC 6347).
        Dtls12 = 0xfefd,
        /// DTLS 1.3 (RFC 9147).
        Dtls13 = 0xfefc,
    }
);
codec_u16!(ProtocolVersion);

wire_enum!(
    /// Cipher suites.
    CipherSuite: u16 {
        /// TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 (RFC 5289), mandatory for WebRTC
        /// (RFC 8827).
        EcdheEcdsaAes128GcmSha256 = 0xc02b,
        /// TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 (RFC 5289).
        EcdheEcdsaAes256GcmSha384 = 0xc02c,
        /// TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 (RFC 7905).
        EcdheEcdsaChacha20Poly1305Sha256 = 0xcca9,
        /// TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 (RFC 5289).
        EcdheRsaAes128GcmSha256 = 0xc02f,
        /// TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 (RFC 5289).
        EcdheRsaAes256GcmSha384 = 0xc030,
        /// TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 (RFC 7905).
        EcdheRsaChacha20Poly1305Sha256 = 0xcca8,
        /// RFC 5746 signalling value; never negotiated.
        EmptyRenegotiationInfoScsv = 0x00ff,
        /// TLS_AES_128_GCM_SHA256 (TLS/DTLS 1.3, RFC 8446 §B.4).
        Tls13Aes128GcmSha256 = 0x1301,
        /// TLS_AES_256_GCM_SHA384 (TLS/DTLS 1.3).
        Tls13Aes256GcmSha384 = 0x1302,
        /// TLS_CHACHA20_POLY1305_SHA256 (TLS/DTLS 1.3).
        Tls13Chacha20Poly1305Sha256 = 0x1303,
    }
);
codec_u16!(CipherSuite);

wire_enum!(
    /// Named groups for key exchange (RFC 8422, RFC 8446).
    NamedGroup: u16 {
        /// secp256r1 (NIST P-256).
        Secp256r1 = 23,
        /// secp384r1 (NIST P-384).
        Secp384r1 = 24,
        /// secp521r1 (NIST P-521).
        Secp521r1 = 25,
        /// x25519 (RFC 7748).
        X25519 = 29,
        /// x448 (RFC 7748).
        X448 = 30,
        /// X25519MLKEM768: hybrid X25519 + ML-KEM-768 (draft-ietf-tls-ecdhe-mlkem), TLS 1.3
        /// only.
        X25519MlKem768 = 0x11ec,
    }
);
codec_u16!(NamedGroup);

wire_enum!(
    /// Extension types.
    ExtensionType: u16 {
        /// server_name (SNI, RFC 6066 §3).
        ServerName = 0,
        /// supported_groups (RFC 8422 §5.1.1).
        SupportedGroups = 10,
        /// ec_point_formats (RFC 8422 §5.1.2).
        EcPointFormats = 11,
        /// signature_algorithms (RFC 5246 §7.4.1.4.1).
        SignatureAlgorithms = 13,
        /// use_srtp (RFC 5764 §4.1.1).
        UseSrtp = 14,
        /// application_layer_protocol_negotiation (RFC 7301).
        Alpn = 16,
        /// encrypt_then_mac (RFC 7366); meaningless for AEAD suites.
        EncryptThenMac = 22,
        /// extended_master_secret (RFC 7627).
        ExtendedMasterSecret = 23,
        /// record_size_limit (RFC 8449).
        RecordSizeLimit = 28,
        /// session_ticket (RFC 5077).
        SessionTicket = 35,
        /// pre_shared_key (TLS 1.3).
        PreSharedKey = 41,
        /// early_data (TLS 1.3).
        EarlyData = 42,
        /// supported_versions (TLS 1.3).
        SupportedVersions = 43,
        /// cookie (TLS 1.3; DTLS 1.3's stateless retry).
        Cookie = 44,
        /// psk_key_exchange_modes (TLS 1.3).
        PskKeyExchangeModes = 45,
        /// certificate_authorities (TLS 1.3).
        CertificateAuthorities = 47,
        /// oid_filters (TLS 1.3).
        OidFilters = 48,
        /// post_handshake_auth (TLS 1.3).
        PostHandshakeAuth = 49,
        /// signature_algorithms_cert (TLS 1.3): schemes accepted in certificates.
        SignatureAlgorithmsCert = 50,
        /// key_share (TLS 1.3).
        KeyShare = 51,
        /// connection_id (RFC 9146).
        ConnectionId = 54,
        /// renegotiation_info (RFC 5746).
        RenegotiationInfo = 0xff01,
    }
);
codec_u16!(ExtensionType);

wire_enum!(
    /// KeyUpdateRequest (RFC 8446 §4.6.3). Any other value is an illegal_parameter, which
    /// the KeyUpdate decoder enforces; `Unknown` exists only for the shared macro.
    KeyUpdateRequest: u8 {
        /// update_not_requested: the peer need not answer with its own KeyUpdate.
        UpdateNotRequested = 0,
        /// update_requested: the peer must answer with a KeyUpdate of its own.
        UpdateRequested = 1,
    }
);
codec_u8!(KeyUpdateRequest);

wire_enum!(
    /// PskKeyExchangeMode (RFC 8446 §4.2.9).
    PskKeyExchangeMode: u8 {
        /// psk_ke: PSK-only key establishment.
        PskKe = 0,
        /// psk_dhe_ke: PSK with (EC)DHE key establishment.
        PskDheKe = 1,
    }
);
codec_u8!(PskKeyExchangeMode);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_values_round_trip() {
        assert_eq!(
            CipherSuite::from(0xc02b),
            CipherSuite::EcdheEcdsaAes128GcmSha256
        );
        assert_eq!(CipherSuite::from(0x1234), CipherSuite::Unknown(0x1234));
        assert_eq!(CipherSuite::Unknown(0x1234).get(), 0x1234);
        assert_eq!(
            ContentType::from_bytes(&[99]),
            Some(ContentType::Unknown(99))
        );
    }
}
