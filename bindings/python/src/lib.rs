//! `dtls._native`: the Python binding of the `dtls-proto` sans-IO DTLS engine, built by
//! maturin as an abi3 extension (CPython 3.10 and later). The public Python API lives in the
//! `dtls` package, which re-exports these classes; `python/dtls/_native.pyi` types them.

mod bench;
mod certificate;
mod config;
mod connection;
mod convert;
mod errors;
mod server;

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
    m.add_function(wrap_pyfunction!(bench::_bench_engine_handshakes, m)?)?;
    m.add_function(wrap_pyfunction!(bench::_bench_engine_throughput, m)?)?;
    errors::register(m)?;
    Ok(())
}
