//! `Certificate`: a chain with its private key, and its SDP fingerprint.

use crate::error::{engine, invalid, Result};
use dtls_proto::{HashAlg, KeyKind};
use napi::bindgen_prelude::{Buffer, Either, Uint8Array};
use napi_derive::napi;

/// A certificate chain (leaf first) with its private key.
#[napi]
pub struct Certificate {
    pub(crate) inner: dtls_proto::Certificate,
}

/// A certificate chain and its private key in PEM.
#[napi(object)]
pub struct CertificatePem {
    /// One `CERTIFICATE` block per chain entry, leaf first.
    pub chain: String,
    /// The private key (PKCS#8 for generated certificates).
    pub key: String,
}

/// PEM text given as a string or as bytes.
fn pem_bytes(v: &Either<String, Uint8Array>) -> &[u8] {
    match v {
        Either::A(s) => s.as_bytes(),
        Either::B(b) => b,
    }
}

pub(crate) fn hash_alg(name: Option<&str>) -> Result<HashAlg> {
    Ok(
        match name.unwrap_or("sha-256").to_ascii_lowercase().as_str() {
            "sha-1" => HashAlg::Sha1,
            "sha-256" => HashAlg::Sha256,
            "sha-384" => HashAlg::Sha384,
            "sha-512" => HashAlg::Sha512,
            other => {
                return Err(invalid(format!(
                    "unknown hash {other:?}: expected 'sha-1', 'sha-256', 'sha-384' or 'sha-512'"
                )))
            }
        },
    )
}

#[napi]
impl Certificate {
    /// A fresh self-signed ECDSA certificate (WebRTC style) for `commonName`; peers
    /// authenticate it by fingerprint. `keyType` is `'p256'` (default) or `'p384'`.
    #[napi(factory)]
    pub fn generate(
        common_name: String,
        #[napi(ts_arg_type = "'p256' | 'p384'")] key_type: Option<String>,
    ) -> Result<Certificate> {
        let kind = match key_type.as_deref().unwrap_or("p256") {
            "p256" => KeyKind::EcdsaP256,
            "p384" => KeyKind::EcdsaP384,
            other => {
                return Err(invalid(format!(
                    "unknown keyType {other:?}: expected 'p256' or 'p384'"
                )))
            }
        };
        let inner = dtls_proto::Certificate::generate_with(&common_name, kind)
            .map_err(|e| engine(e.into()))?;
        Ok(Certificate { inner })
    }

    /// Loads a PEM chain (leaf first) and a PEM private key (PKCS#8, SEC1 or PKCS#1).
    #[napi(factory)]
    pub fn from_pem(
        chain_pem: Either<String, Uint8Array>,
        key_pem: Either<String, Uint8Array>,
    ) -> Result<Certificate> {
        let inner = dtls_proto::Certificate::from_pem(pem_bytes(&chain_pem), pem_bytes(&key_pem))
            .map_err(|e| engine(e.into()))?;
        Ok(Certificate { inner })
    }

    /// The leaf's fingerprint in SDP form, e.g. `sha-256 AB:CD:...` (RFC 8122 §5).
    #[napi]
    pub fn fingerprint(
        &self,
        #[napi(ts_arg_type = "'sha-1' | 'sha-256' | 'sha-384' | 'sha-512'")] hash: Option<String>,
    ) -> Result<String> {
        Ok(self.inner.fingerprint(hash_alg(hash.as_deref())?).to_sdp())
    }

    /// The chain in DER, leaf first.
    #[napi]
    pub fn chain(&self) -> Vec<Buffer> {
        self.inner
            .chain()
            .iter()
            .map(|c| Buffer::from(c.clone()))
            .collect()
    }

    /// The chain and the private key in PEM, to persist a generated certificate.
    #[napi]
    pub fn to_pem(&self) -> CertificatePem {
        let (chain, key) = self.inner.to_pem();
        CertificatePem {
            chain,
            // The engine zeroizes its copy; the JS string is out of our hands anyway.
            key: key.to_string(),
        }
    }
}
