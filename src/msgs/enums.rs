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
        ChangeCipherSpec = 20,
        Alert = 21,
        Handshake = 22,
        ApplicationData = 23,
        Ack = 26,
        Tls12Cid = 25,
    }
);
codec_u8!(ContentType);

wire_enum!(
    /// Handshake message types.
    HandshakeType: u8 {
        HelloRequest = 0,
        ClientHello = 1,
        ServerHello = 2,
        HelloVerifyRequest = 3,
        NewSessionTicket = 4,
        EndOfEarlyData = 5,
        HelloRetryRequest = 6,
        EncryptedExtensions = 8,
        Certificate = 11,
        ServerKeyExchange = 12,
        CertificateRequest = 13,
        ServerHelloDone = 14,
        CertificateVerify = 15,
        ClientKeyExchange = 16,
        Finished = 20,
        KeyUpdate = 24,
        MessageHash = 254,
    }
);
codec_u8!(HandshakeType);

wire_enum!(
    /// Alert levels.
    AlertLevel: u8 {
        Warning = 1,
        Fatal = 2,
    }
);
codec_u8!(AlertLevel);

wire_enum!(
    /// Alert descriptions (RFC 5246 §7.2, RFC 8446 §6).
    AlertDescription: u8 {
        CloseNotify = 0,
        UnexpectedMessage = 10,
        BadRecordMac = 20,
        RecordOverflow = 22,
        HandshakeFailure = 40,
        BadCertificate = 42,
        UnsupportedCertificate = 43,
        CertificateRevoked = 44,
        CertificateExpired = 45,
        CertificateUnknown = 46,
        IllegalParameter = 47,
        UnknownCa = 48,
        AccessDenied = 49,
        DecodeError = 50,
        DecryptError = 51,
        ProtocolVersion = 70,
        InsufficientSecurity = 71,
        InternalError = 80,
        InappropriateFallback = 86,
        UserCanceled = 90,
        NoRenegotiation = 100,
        MissingExtension = 109,
        UnsupportedExtension = 110,
        UnrecognizedName = 112,
        UnknownPskIdentity = 115,
        CertificateRequired = 116,
        NoApplicationProtocol = 120,
    }
);
codec_u8!(AlertDescription);

wire_enum!(
    /// Protocol versions as they appear on the wire (DTLS counts down).
    ProtocolVersion: u16 {
        Dtls10 = 0xfeff,
        Dtls12 = 0xfefd,
        Dtls13 = 0xfefc,
    }
);
codec_u16!(ProtocolVersion);

wire_enum!(
    /// Cipher suites.
    CipherSuite: u16 {
        EcdheEcdsaAes128GcmSha256 = 0xc02b,
        EcdheEcdsaAes256GcmSha384 = 0xc02c,
        EcdheEcdsaChacha20Poly1305Sha256 = 0xcca9,
        EcdheRsaAes128GcmSha256 = 0xc02f,
        EcdheRsaAes256GcmSha384 = 0xc030,
        EcdheRsaChacha20Poly1305Sha256 = 0xcca8,
        /// RFC 5746 signalling value; never negotiated.
        EmptyRenegotiationInfoScsv = 0x00ff,
    }
);
codec_u16!(CipherSuite);

wire_enum!(
    /// Named groups for key exchange (RFC 8422, RFC 8446).
    NamedGroup: u16 {
        Secp256r1 = 23,
        Secp384r1 = 24,
        Secp521r1 = 25,
        X25519 = 29,
        X448 = 30,
        X25519MlKem768 = 0x11ec,
    }
);
codec_u16!(NamedGroup);

wire_enum!(
    /// Extension types.
    ExtensionType: u16 {
        ServerName = 0,
        SupportedGroups = 10,
        EcPointFormats = 11,
        SignatureAlgorithms = 13,
        UseSrtp = 14,
        Alpn = 16,
        EncryptThenMac = 22,
        ExtendedMasterSecret = 23,
        RecordSizeLimit = 28,
        SessionTicket = 35,
        PreSharedKey = 41,
        SupportedVersions = 43,
        Cookie = 44,
        KeyShare = 51,
        ConnectionId = 54,
        RenegotiationInfo = 0xff01,
    }
);
codec_u16!(ExtensionType);

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
