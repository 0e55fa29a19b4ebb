//! The benchmark loops of `node/bench.js`, run in pure Rust on the same configs, so one run
//! reports the engine's own figures next to the ones measured through the Node API and the
//! difference is the binding's overhead.

use crate::config::Config;
use crate::error::{engine, invalid, whole, Result};
use dtls_proto::{Connection, Error, Role};
use napi_derive::napi;
use std::time::Instant;

/// What one benchmark loop measured.
#[napi(object)]
pub struct BenchResult {
    /// Handshakes completed, or records delivered.
    pub iterations: f64,
    /// Application bytes delivered (0 for handshakes).
    pub bytes: f64,
    /// Wall-clock seconds the loop took.
    pub seconds: f64,
}

/// Moves every pending datagram from `from` to `to`; returns how many moved.
fn pump(from: &mut Connection, to: &mut Connection, buf: &mut Vec<u8>) -> Result<usize> {
    let mut moved = 0;
    loop {
        match from.poll_transmit(0, buf) {
            Ok(Some(n)) => {
                to.handle_datagram(0, &buf[..n]).map_err(engine)?;
                moved += 1;
            }
            Ok(None) => return Ok(moved),
            Err(Error::BufferTooSmall { needed }) => buf.resize(needed, 0),
            Err(e) => return Err(engine(e)),
        }
    }
}

/// Handshakes a fresh client/server pair in memory (virtual clock at 0, no loss).
fn handshake(
    client_cfg: &Config,
    server_cfg: &Config,
    buf: &mut Vec<u8>,
) -> Result<(Connection, Connection)> {
    let mut c = Connection::new(client_cfg.inner.clone(), Role::Client, None, 0).map_err(engine)?;
    let mut s = Connection::new(server_cfg.inner.clone(), Role::Server, None, 0).map_err(engine)?;
    // A DTLS 1.2 handshake with a cookie takes 3 round trips; 16 rounds is a generous bound
    // that still ends a broken configuration quickly.
    for _ in 0..16 {
        let moved = pump(&mut c, &mut s, buf)? + pump(&mut s, &mut c, buf)?;
        if c.is_connected() && s.is_connected() {
            return Ok((c, s));
        }
        if moved == 0 {
            break;
        }
    }
    Err(invalid(
        "benchmark handshake did not complete: check the two configs",
    ))
}

/// Runs `count` complete handshakes between a client and a server made from these configs,
/// all in Rust, and reports how long they took.
#[napi]
pub fn bench_engine_handshakes(
    client_config: &Config,
    server_config: &Config,
    count: u32,
) -> Result<BenchResult> {
    let mut buf = vec![0u8; 2048];
    let start = Instant::now();
    for _ in 0..count {
        handshake(client_config, server_config, &mut buf)?;
    }
    Ok(BenchResult {
        iterations: count.into(),
        bytes: 0.0,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// Sends `totalBytes` of application data from client to server in records of `recordSize`
/// bytes, all in Rust (one send, one datagram, one receive per record), after one handshake
/// that is not timed.
#[napi]
pub fn bench_engine_throughput(
    client_config: &Config,
    server_config: &Config,
    total_bytes: f64,
    record_size: u32,
) -> Result<BenchResult> {
    let total = whole("totalBytes", total_bytes, 1 << 40)?;
    let mut buf = vec![0u8; 2048];
    let (mut c, mut s) = handshake(client_config, server_config, &mut buf)?;
    let size = usize::try_from(record_size).map_err(|_| invalid("recordSize"))?;
    if size == 0 || size > c.max_send_len() {
        return Err(invalid(format!(
            "recordSize must be 1..={}",
            c.max_send_len()
        )));
    }
    let payload = vec![0x5au8; size];
    let mut app = vec![0u8; size.max(2048)];
    let (mut sent, mut received, mut records) = (0u64, 0u64, 0u64);
    let start = Instant::now();
    while sent < total {
        c.send(&payload).map_err(engine)?;
        sent += size as u64;
        pump(&mut c, &mut s, &mut buf)?;
        while let Some(n) = s.recv(&mut app).map_err(engine)? {
            received += n as u64;
            records += 1;
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    if received != sent {
        return Err(invalid(format!(
            "sent {sent} bytes but received {received}"
        )));
    }
    Ok(BenchResult {
        iterations: records as f64,
        bytes: received as f64,
        seconds,
    })
}
