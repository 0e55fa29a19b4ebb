//! The engine's own figures for `python/bench.py`: the same loops as the benchmark runs
//! through the Python API, in Rust, so both sets of numbers come from one process and one
//! build and the difference is the binding's overhead.

use crate::config::Config;
use crate::errors::{invalid_argument, IntoPy};
use dtls_proto::{Connection, Error, Role};
use pyo3::prelude::*;
use std::sync::Arc;
use std::time::Instant;

/// Moves every datagram `from` has ready into `to`, as the Python loop does.
fn pump(from: &mut Connection, to: &mut Connection, buf: &mut [u8]) -> Result<(), Error> {
    while let Some(n) = from.poll_transmit(0, buf)? {
        to.handle_datagram(0, &buf[..n])?;
    }
    Ok(())
}

fn handshake(
    client_cfg: &Arc<dtls_proto::Config>,
    server_cfg: &Arc<dtls_proto::Config>,
    buf: &mut [u8],
) -> Result<(Connection, Connection), Error> {
    let mut client = Connection::new(client_cfg.clone(), Role::Client, None, 0)?;
    let mut server = Connection::new(server_cfg.clone(), Role::Server, None, 0)?;
    // Bounded: a handshake needs about four round trips (five with the cookie exchange).
    for _ in 0..16 {
        pump(&mut client, &mut server, buf)?;
        pump(&mut server, &mut client, buf)?;
        if client.is_connected() && server.is_connected() {
            while client.poll_event().is_some() {}
            while server.poll_event().is_some() {}
            return Ok((client, server));
        }
    }
    Err(Error::Internal("benchmark handshake did not complete"))
}

/// Runs `n` in-memory handshakes between a client and a server made from these configs, in
/// Rust with the GIL released; returns the elapsed seconds.
#[pyfunction]
pub fn _bench_engine_handshakes(
    py: Python<'_>,
    client_config: &Bound<'_, Config>,
    server_config: &Bound<'_, Config>,
    n: usize,
) -> PyResult<f64> {
    let (c, s) = (
        client_config.get().inner.clone(),
        server_config.get().inner.clone(),
    );
    py.detach(|| {
        let mut buf = vec![0u8; 65_535];
        let start = Instant::now();
        for _ in 0..n {
            handshake(&c, &s, &mut buf)?;
        }
        Ok(start.elapsed().as_secs_f64())
    })
    .py_err(py)
}

/// Sends `total_bytes` of application data from client to server in records of
/// `record_size` bytes, `batch` records per round (send, transmit, receive, recv), over a
/// connected in-memory pair; returns the elapsed seconds (the handshake is not timed).
#[pyfunction]
pub fn _bench_engine_throughput(
    py: Python<'_>,
    client_config: &Bound<'_, Config>,
    server_config: &Bound<'_, Config>,
    total_bytes: usize,
    record_size: usize,
    batch: usize,
) -> PyResult<f64> {
    if record_size == 0 || batch == 0 {
        return Err(invalid_argument(
            py,
            "record_size and batch must be positive",
        ));
    }
    let (c, s) = (
        client_config.get().inner.clone(),
        server_config.get().inner.clone(),
    );
    py.detach(|| {
        let mut buf = vec![0u8; 65_535];
        let (mut client, mut server) = handshake(&c, &s, &mut buf)?;
        if record_size > client.max_send_len() {
            return Err(Error::InvalidArgument("record_size above max_send_len"));
        }
        let payload = vec![0x5au8; record_size];
        let mut app = vec![0u8; 65_535];
        let mut received = 0usize;
        let start = Instant::now();
        while received < total_bytes {
            for _ in 0..batch {
                client.send(&payload)?;
            }
            pump(&mut client, &mut server, &mut buf)?;
            while let Some(n) = server.recv(&mut app)? {
                received += n;
            }
        }
        Ok(start.elapsed().as_secs_f64())
    })
    .py_err(py)
}
