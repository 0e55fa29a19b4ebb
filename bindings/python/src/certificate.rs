//! `Certificate`: our chain and private key, generated or loaded from PEM.

use crate::buffers::BytesLike;
use crate::convert::bytes_or_str;
use crate::errors::{invalid_argument, IntoPy};
use dtls_proto::{Error, Fingerprint, HashAlg, KeyKind};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// The hash for an SDP hash name (`sha-256`; `sha256` is accepted too).
pub fn hash_alg(py: Python<'_>, name: &str) -> PyResult<HashAlg> {
    match name.to_ascii_lowercase().replace('-', "").as_str() {
        "sha1" => Ok(HashAlg::Sha1),
        "sha256" => Ok(HashAlg::Sha256),
        "sha384" => Ok(HashAlg::Sha384),
        "sha512" => Ok(HashAlg::Sha512),
        _ => Err(invalid_argument(
            py,
            format!("unknown hash {name:?} (expected sha-1, sha-256, sha-384 or sha-512)"),
        )),
    }
}

/// A certificate chain with its private key, for `Config(certificate=...)`.
///
/// Immutable and cheap to share: the key is reference-counted, not copied.
#[pyclass(module = "dtls._native", frozen)]
pub struct Certificate {
    pub(crate) inner: dtls_proto::Certificate,
}

#[pymethods]
impl Certificate {
    /// A fresh self-signed ECDSA certificate (WebRTC style) for `common_name`; peers
    /// authenticate it by fingerprint. `key_type` is `"p256"` (default) or `"p384"`.
    #[staticmethod]
    #[pyo3(signature = (common_name = "dtls", *, key_type = "p256"))]
    fn generate(py: Python<'_>, common_name: &str, key_type: &str) -> PyResult<Certificate> {
        let kind = match key_type.to_ascii_lowercase().replace('-', "").as_str() {
            "p256" | "ecdsap256" | "secp256r1" => KeyKind::EcdsaP256,
            "p384" | "ecdsap384" | "secp384r1" => KeyKind::EcdsaP384,
            _ => {
                return Err(invalid_argument(
                    py,
                    format!("unknown key_type {key_type:?} (expected \"p256\" or \"p384\")"),
                ))
            }
        };
        let name = common_name.to_owned();
        // Key generation and self-signing are the slow part: let other threads run.
        let inner = py
            .detach(move || dtls_proto::Certificate::generate_with(&name, kind))
            .map_err(Error::from)
            .py_err(py)?;
        Ok(Certificate { inner })
    }

    /// Loads a PEM chain (leaf first, then intermediates) and a PEM private key (PKCS#8,
    /// SEC1 or PKCS#1). With `key_pem` omitted, the key is read from `chain_pem` too.
    #[staticmethod]
    #[pyo3(signature = (chain_pem, key_pem = None))]
    fn from_pem(
        py: Python<'_>,
        chain_pem: &Bound<'_, PyAny>,
        key_pem: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Certificate> {
        let chain = bytes_or_str(py, "chain_pem", chain_pem)?;
        let key = match key_pem {
            Some(k) => bytes_or_str(py, "key_pem", k)?,
            None => chain.clone(),
        };
        // Loading signs and verifies a probe to check the key matches the leaf.
        let inner = py
            .detach(|| dtls_proto::Certificate::from_pem(&chain, &key))
            .map_err(Error::from)
            .py_err(py)?;
        Ok(Certificate { inner })
    }

    /// The leaf's fingerprint in SDP form (RFC 8122), e.g. `"sha-256 AB:CD:..."`.
    #[pyo3(signature = (algorithm = "sha-256"))]
    fn fingerprint(&self, py: Python<'_>, algorithm: &str) -> PyResult<String> {
        Ok(self.inner.fingerprint(hash_alg(py, algorithm)?).to_sdp())
    }

    /// The chain as DER certificates, leaf first.
    #[getter]
    fn chain<'py>(&self, py: Python<'py>) -> Vec<Bound<'py, PyBytes>> {
        self.inner
            .chain()
            .iter()
            .map(|c| PyBytes::new(py, c))
            .collect()
    }

    /// The chain and the private key as PEM text: `(chain_pem, key_pem)`.
    fn to_pem(&self) -> (String, String) {
        let (chain, key) = self.inner.to_pem();
        (chain, key.to_string())
    }

    fn __repr__(&self) -> String {
        format!(
            "<Certificate {} ({} in chain)>",
            self.inner.fingerprint(HashAlg::Sha256).to_sdp(),
            self.inner.chain().len()
        )
    }
}

/// The SDP fingerprint (`"sha-256 AB:CD:..."`) of a DER certificate, for example one of
/// `Connection.peer_certificates()`.
#[pyfunction]
#[pyo3(signature = (der, algorithm = "sha-256"))]
pub fn fingerprint_of(py: Python<'_>, der: BytesLike, algorithm: &str) -> PyResult<String> {
    Ok(Fingerprint::of(hash_alg(py, algorithm)?, &der).to_sdp())
}
