//! Real UDP peers on 127.0.0.1: the `openssl s_server` / `s_client` binaries
//! (or any other program) run as child processes whose stdout and stderr are
//! collected in the background. A [`Peer`] kills its child on drop, so a
//! failing test never leaves a process behind.

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::net::UdpSocket;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A UDP port that was free a moment ago on 127.0.0.1 (bind to port 0, read
/// it, release it). Racy by nature; returns 0 if binding failed.
pub fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

/// A child process with piped stdin and collected stdout + stderr.
pub struct Peer {
    child: Option<Child>,
    stdin: Option<ChildStdin>,
    output: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
}

/// Appends everything `r` yields to `sink` until EOF (child exit or kill).
fn collect(mut r: impl Read + Send + 'static, sink: Arc<Mutex<String>>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        loop {
            match r.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let text = String::from_utf8_lossy(&buf[..n]);
                    // A poisoned lock only means another reader panicked;
                    // the text is still worth keeping.
                    let mut g = sink.lock().unwrap_or_else(|p| p.into_inner());
                    g.push_str(&text);
                }
            }
        }
    })
}

impl Peer {
    /// Spawns `program args...` with stdin piped and stdout + stderr
    /// collected (interleaved as they arrive). Never panics: if the program
    /// cannot be started, the peer has no child and its output holds the
    /// error, so `wait_for` simply returns false.
    pub fn spawn<S: AsRef<OsStr>>(program: &str, args: &[S]) -> Peer {
        let output = Arc::new(Mutex::new(String::new()));
        let spawned = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        let mut child = match spawned {
            Ok(c) => c,
            Err(e) => {
                let msg = format!("failed to spawn {program}: {e}\n");
                return Peer {
                    child: None,
                    stdin: None,
                    output: Arc::new(Mutex::new(msg)),
                    readers: Vec::new(),
                };
            }
        };
        let mut readers = Vec::new();
        if let Some(out) = child.stdout.take() {
            readers.push(collect(out, output.clone()));
        }
        if let Some(err) = child.stderr.take() {
            readers.push(collect(err, output.clone()));
        }
        Peer {
            stdin: child.stdin.take(),
            child: Some(child),
            output,
            readers,
        }
    }

    /// Whether the child was started.
    pub fn started(&self) -> bool {
        self.child.is_some()
    }

    /// Writes to the child's stdin (for s_client/s_server: data to send).
    /// Errors (child gone) are ignored; the test sees them as missing output.
    pub fn write_stdin(&mut self, data: &[u8]) {
        if let Some(stdin) = &mut self.stdin {
            let _ = stdin.write_all(data).and_then(|_| stdin.flush());
        }
    }

    /// Closes the child's stdin (EOF). Note s_client quits on EOF unless
    /// given `-ign_eof`.
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Everything the child printed so far (stdout and stderr).
    pub fn output(&self) -> String {
        self.output
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Waits until the output contains `needle` or `timeout` passes.
    pub fn wait_for(&self, needle: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.output().contains(needle) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Whether the child has exited (or was never started).
    pub fn exited(&mut self) -> bool {
        match &mut self.child {
            Some(c) => !matches!(c.try_wait(), Ok(None)),
            None => true,
        }
    }

    /// The child's pid, for diagnostics.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// Kills the child (by its own pid) and reaps it; idempotent.
    pub fn kill(&mut self) {
        self.stdin = None;
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        // The pipes close with the child, so the readers normally end at
        // once; wait briefly for them (to keep the last output) but never
        // hang on a grandchild that might still hold a pipe open.
        let deadline = Instant::now() + Duration::from_secs(1);
        while self.readers.iter().any(|h| !h.is_finished()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        for h in self.readers.drain(..) {
            if h.is_finished() {
                let _ = h.join();
            }
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Arguments for `openssl s_server` as a DTLS 1.2 server on 127.0.0.1:`port`
/// that accepts one connection, then `extra` (e.g. `-listen`, `-Verify 1`,
/// `-CAfile ...`, `-keymatexport ...`). Note that s_server always does the
/// cookie exchange; `-listen` makes it use stateless `DTLSv1_listen`.
pub fn openssl_s_server_args(port: u16, cert: &Path, key: &Path, extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = vec![
        "s_server".into(),
        "-dtls1_2".into(),
        "-accept".into(),
        format!("127.0.0.1:{port}"),
        "-cert".into(),
        path_str(cert),
        "-key".into(),
        path_str(key),
        "-naccept".into(),
        "1".into(),
    ];
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

/// Arguments for `openssl s_client` as a DTLS 1.2 client of 127.0.0.1:`port`,
/// then `extra` (e.g. `-cert`, `-key`, `-CAfile`, `-keymatexport ...`).
/// `-ign_eof` keeps it connected if stdin closes.
pub fn openssl_s_client_args(port: u16, extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = vec![
        "s_client".into(),
        "-dtls1_2".into(),
        "-connect".into(),
        format!("127.0.0.1:{port}"),
        "-ign_eof".into(),
    ];
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

/// The hex after `Keying material: ` in s_server/s_client output
/// (from `-keymatexport LABEL -keymatexportlen N`), upper-cased.
pub fn parse_keying_material(output: &str) -> Option<String> {
    output.lines().find_map(|line| {
        let hex = line.trim().strip_prefix("Keying material:")?.trim();
        if !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit()) {
            Some(hex.to_ascii_uppercase())
        } else {
            None
        }
    })
}

/// Decodes hex (as printed by OpenSSL) to bytes; `None` if malformed.
pub fn hex_decode(hex: &str) -> Option<Vec<u8>> {
    hex.trim()
        .as_bytes()
        .chunks(2)
        .map(|pair| {
            let pair = std::str::from_utf8(pair).ok().filter(|p| p.len() == 2)?;
            u8::from_str_radix(pair, 16).ok()
        })
        .collect()
}

/// A `recv_from` error that only means "nothing yet": a timeout or interruption, or an ICMP
/// port unreachable because the peer's socket is not up yet.
#[allow(dead_code)]
pub fn recv_error_is_transient(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock
            | std::io::ErrorKind::TimedOut
            | std::io::ErrorKind::Interrupted
            | std::io::ErrorKind::ConnectionRefused
    )
}
