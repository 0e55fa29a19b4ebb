//! `dtls._native`: the Python binding of the `dtls-proto` sans-IO DTLS engine, built by
//! maturin as an abi3 extension (CPython 3.10 and later). The public Python API lives in the
//! `dtls` package, which re-exports these classes; `python/dtls/_native.pyi` types them.

mod bench;
mod buffers;
mod certificate;
mod config;
mod connection;
mod convert;
mod errors;
mod server;
mod webrtc;

use pyo3::prelude::*;

/// The module's contents: classes, functions, exceptions and the version string.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<certificate::Certificate>()?;
    m.add_function(wrap_pyfunction!(certificate::fingerprint_of, m)?)?;
    m.add_class::<config::Config>()?;
    m.add_class::<connection::Connection>()?;
    m.add_class::<connection::Negotiated>()?;
    m.add_class::<connection::PeerCertificate>()?;
    m.add_class::<connection::Connected>()?;
    m.add_class::<connection::CloseNotify>()?;
    m.add_class::<connection::Failed>()?;
    m.add_class::<connection::SrtpKeyingMaterial>()?;
    m.add_class::<server::ServerFrontDoor>()?;
    m.add_class::<server::Accept>()?;
    m.add_class::<server::Reply>()?;
    m.add_class::<server::Drop>()?;
    m.add_class::<server::Held>()?;
    m.add_class::<webrtc::SrtpProfile>()?;
    m.add_function(wrap_pyfunction!(webrtc::is_dtls, m)?)?;
    m.add_function(wrap_pyfunction!(webrtc::packet_kind, m)?)?;
    m.add_function(wrap_pyfunction!(webrtc::role_for_remote_setup, m)?)?;
    m.add_function(wrap_pyfunction!(webrtc::role_for_answer, m)?)?;
    m.add_function(wrap_pyfunction!(webrtc::setup_for_role, m)?)?;
    m.add_function(wrap_pyfunction!(webrtc::parse_sdp_fingerprint, m)?)?;
    m.add_function(wrap_pyfunction!(webrtc::format_sdp_fingerprint, m)?)?;
    m.add_function(wrap_pyfunction!(webrtc::fingerprint_matches, m)?)?;
    m.add_function(wrap_pyfunction!(webrtc::srtp_profiles, m)?)?;
    m.add_function(wrap_pyfunction!(webrtc::srtp_profile, m)?)?;
    m.add_function(wrap_pyfunction!(bench::_bench_engine_handshakes, m)?)?;
    m.add_function(wrap_pyfunction!(bench::_bench_engine_throughput, m)?)?;
    errors::register(m)?;
    Ok(())
}
