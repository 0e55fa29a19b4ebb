//! Real DTLS 1.2 / 1.3 peers over UDP on 127.0.0.1, built by `scripts/build-peers.sh`:
//! wolfSSL's example client and server, a pion/dtls v4 peer (`tests/peers/pion`) and a dimpl
//! peer (`tests/peers/dimpl-peer`); and [`UdpEngine`], our engine driven over a
//! `std::net::UdpSocket` from the test thread.
//!
//! The binaries live outside the clone, in `$DTLS_PEERS_DIR` (default
//! `$HOME/.cache/dtls-peers`). A missing binary fails the test and says which script to run;
//! nothing here ever skips quietly.
//!
//! Every child runs in a [`Peer`], killed by its own pid when dropped; [`within`] runs a test
//! body under a wall-clock budget and kills the body's children by pid if the budget runs out.

use super::udp_peer::{recv_error_is_transient, Peer};
use dtls_proto::{Admission, Config, Connection, Error, Event, Role, ServerFrontDoor};
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// Where the peers are

/// The folder `scripts/build-peers.sh` builds into.
pub fn peers_dir() -> PathBuf {
    match std::env::var_os("DTLS_PEERS_DIR") {
        Some(d) => PathBuf::from(d),
        None => {
            let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
            PathBuf::from(home).join(".cache").join("dtls-peers")
        }
    }
}

/// The wolfSSL source tree the examples were built in (they are run from there: they read
/// `certs/dh2048.pem` relative to the working directory).
pub fn wolfssl_dir() -> PathBuf {
    peers_dir().join("wolfssl-5.9.4")
}

/// An executable under [`peers_dir`].
///
/// # Panics
/// If it is missing, with the command that builds it: a test against a peer that is not there
/// must fail, not pass.
pub fn peer_binary(relative: &str) -> PathBuf {
    let p = peers_dir().join(relative);
    let executable = std::fs::metadata(&p)
        .map(|m| {
            m.is_file() && std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o111 != 0
        })
        .unwrap_or(false);
    assert!(
        executable,
        "peer binary {} is missing: run scripts/build-peers.sh (it builds wolfSSL, pion and dimpl \
         peers into $DTLS_PEERS_DIR, default ~/.cache/dtls-peers)",
        p.display()
    );
    p
}

/// The pion/dtls v4 peer.
pub fn pion_peer() -> PathBuf {
    peer_binary("pion_peer")
}

/// The dimpl peer.
pub fn dimpl_peer() -> PathBuf {
    peer_binary("dimpl_peer")
}

/// wolfSSL's `examples/server/server`.
pub fn wolfssl_server() -> PathBuf {
    peer_binary("wolfssl-5.9.4/examples/server/server")
}

/// wolfSSL's `examples/client/client`.
pub fn wolfssl_client() -> PathBuf {
    peer_binary("wolfssl-5.9.4/examples/client/client")
}

// ---------------------------------------------------------------------------------------------
// Scratch files

/// A private temporary folder, removed on drop (ready files, certificate chains).
pub struct Scratch {
    path: PathBuf,
}

impl Scratch {
    /// A new empty folder under the system temp dir.
    pub fn new() -> Scratch {
        static N: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "dtls-peers-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create scratch folder");
        Scratch { path }
    }

    /// The path of `name` inside.
    pub fn path(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Writes `contents` to `name` inside and returns its path.
    pub fn write(&self, name: &str, contents: &[u8]) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, contents).expect("write scratch file");
        p
    }
}

impl Default for Scratch {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

// ---------------------------------------------------------------------------------------------
// A whole-test budget

/// The children a test body started, for [`within`] to kill if the body overruns.
#[derive(Clone, Default)]
pub struct Watch {
    pids: Arc<Mutex<Vec<u32>>>,
}

impl Watch {
    /// Starts `program args...` in `dir` (or the current folder) as a [`Peer`] and records
    /// its pid. `stdbuf -oL` line-buffers C programs' stdout, so the test sees each line as it
    /// is printed rather than when the process exits. The shell and `stdbuf` both exec, so the
    /// recorded pid is the program's own and killing it leaves nothing behind.
    pub fn spawn<S: AsRef<std::ffi::OsStr>>(
        &self,
        program: &Path,
        args: &[S],
        dir: Option<&Path>,
    ) -> Peer {
        let mut full: Vec<std::ffi::OsString> = vec![
            "-c".into(),
            r#"cd "$1" && shift && exec stdbuf -oL -eL "$@""#.into(),
            "sh".into(),
            dir.unwrap_or(Path::new(".")).into(),
            program.into(),
        ];
        full.extend(args.iter().map(|a| a.as_ref().to_os_string()));
        let peer = Peer::spawn("sh", &full);
        assert!(
            peer.started(),
            "could not start {}: {}",
            program.display(),
            peer.output()
        );
        if let Some(pid) = peer.pid() {
            self.pids
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(pid);
        }
        peer
    }
}

/// Runs `body` on its own thread and fails the test if it takes longer than `budget`. On
/// overrun the body's children (started through its [`Watch`]) are killed by pid before the
/// panic, since the body thread, still blocked somewhere, will not drop them. A panic in the
/// body is the test's failure, re-raised here unchanged.
pub fn within<F>(budget: Duration, body: F)
where
    F: FnOnce(&Watch) + Send + 'static,
{
    let watch = Watch::default();
    let w = watch.clone();
    let handle = std::thread::spawn(move || body(&w));
    let end = Instant::now() + budget;
    while !handle.is_finished() {
        if Instant::now() >= end {
            let pids = watch.pids.lock().unwrap_or_else(|p| p.into_inner()).clone();
            for pid in &pids {
                let _ = std::process::Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
            }
            panic!("the test overran its {budget:?} budget; its peers {pids:?} were killed");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    if let Err(panic) = handle.join() {
        std::panic::resume_unwind(panic);
    }
}

// ---------------------------------------------------------------------------------------------
// What the peers print

/// `connected version=1.3 suite=0x1301 srtp=0x0007`, as printed by the pion and dimpl peers
/// (dimpl prints no suite).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerConnected {
    /// `1.2` or `1.3`.
    pub version: String,
    /// The IANA cipher suite, when the peer reports it.
    pub suite: Option<u16>,
    /// The IANA SRTP profile, `None` for `srtp=none`.
    pub srtp: Option<u16>,
}

fn hex_u16(s: &str) -> Option<u16> {
    u16::from_str_radix(s.strip_prefix("0x")?, 16).ok()
}

/// The `connected ...` line of a pion or dimpl peer.
pub fn parse_connected(output: &str) -> Option<PeerConnected> {
    let line = output.lines().find_map(|l| l.strip_prefix("connected "))?;
    let mut c = PeerConnected {
        version: String::new(),
        suite: None,
        srtp: None,
    };
    for kv in line.split_whitespace() {
        match kv.split_once('=')? {
            ("version", v) => c.version = v.to_string(),
            ("suite", v) => c.suite = hex_u16(v),
            ("srtp", v) => c.srtp = hex_u16(v),
            _ => {}
        }
    }
    Some(c)
}

/// The hex of an `export HEX` line (pion, dimpl) or of wolfSSL's
/// `DTLS SRTP: Exported key material: HEX`.
pub fn parse_export(output: &str) -> Option<String> {
    output.lines().find_map(|l| {
        let hex = l
            .strip_prefix("export ")
            .or_else(|| l.strip_prefix("DTLS SRTP: Exported key material: "))?
            .trim();
        (!hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit()))
            .then(|| hex.to_ascii_uppercase())
    })
}

/// The version wolfSSL reports: `SSL version is DTLSv1.3` -> `1.3`.
pub fn parse_wolfssl_version(output: &str) -> Option<String> {
    output.lines().find_map(|l| {
        let v = l.strip_prefix("SSL version is DTLSv")?.trim();
        Some(v.to_string())
    })
}

/// The suite wolfSSL reports (`SSL cipher suite is NAME`), as its IANA number.
pub fn parse_wolfssl_suite(output: &str) -> Option<u16> {
    let name = output
        .lines()
        .find_map(|l| l.strip_prefix("SSL cipher suite is "))?
        .trim();
    Some(match name {
        "TLS_AES_128_GCM_SHA256" => 0x1301,
        "TLS_AES_256_GCM_SHA384" => 0x1302,
        "TLS_CHACHA20_POLY1305_SHA256" => 0x1303,
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" => 0xc02b,
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" => 0xc02c,
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256" => 0xcca9,
        _ => return None,
    })
}

/// The `recv "TEXT"` line of a pion or dimpl peer for exactly this text.
pub fn peer_received(output: &str, text: &str) -> bool {
    let want = format!("recv {text:?}");
    output.lines().any(|l| l == want)
}

// ---------------------------------------------------------------------------------------------
// Our endpoint over UDP

/// One engine association on one UDP socket, driven from the test thread: the socket's read
/// timeout follows `Connection::next_timeout()` and the clock is milliseconds since creation.
pub struct UdpEngine {
    sock: UdpSocket,
    start: Instant,
    /// The peer; a server learns it from the first datagram it admits.
    peer: Option<SocketAddr>,
    conn: Option<Connection>,
    /// Server only, until the first peer is admitted: its config and front door (if any).
    pending_server: Option<(Arc<Config>, Option<ServerFrontDoor>)>,
    /// Every event the association produced, in order.
    pub events: Vec<Event>,
    /// Application data received so far, concatenated.
    pub app_in: Vec<u8>,
    tx: Vec<u8>,
    rx: Vec<u8>,
    /// Loss on the link, for handshake datagrams only: the indexes (0-based, counting only
    /// datagrams that open with a handshake-epoch record, see [`is_handshake_datagram`]) of
    /// those we drop instead of sending.
    pub drop_out: Vec<usize>,
    /// The same for datagrams we drop instead of reading.
    pub drop_in: Vec<usize>,
    /// Drop the first datagram we send in DTLS 1.3 epoch 3 (a server's ACK of the client's
    /// last flight, sent before any application data).
    pub drop_first_epoch3_out: bool,
    /// How many datagrams were dropped so far.
    pub dropped: usize,
    /// Reordering: the indexes (counted like `drop_in`) of the peer's handshake datagrams we
    /// hold back and read right after the next datagram (or after 100 ms if none comes).
    pub delay_in: Vec<usize>,
    held: Option<(Vec<u8>, Instant)>,
    /// How many datagrams were held back so far.
    pub delayed: usize,
    handshake_out: usize,
    handshake_in: usize,
}

/// Whether a datagram opens with a record of the handshake: plaintext handshake, change
/// cipher spec or ACK (any epoch of DTLS 1.2), or a DTLS 1.3 unified header in epoch 2.
/// Application data (1.2 content type 23, 1.3 epoch 3 and later) is not counted: DTLS does
/// not retransmit it, so losing it is not a handshake test.
pub fn is_handshake_datagram(d: &[u8]) -> bool {
    match d.first() {
        Some(20 | 22 | 26) => true,
        Some(b) if b & 0xe0 == 0x20 => b & 0x03 == 2,
        _ => false,
    }
}

/// Counts `d` if it is a handshake datagram; true when its index is in `drops`.
fn lost(counter: &mut usize, drops: &[usize], d: &[u8]) -> bool {
    if drops.is_empty() || !is_handshake_datagram(d) {
        return false;
    }
    *counter += 1;
    drops.contains(&(*counter - 1))
}

/// The transport address our cookies are bound to.
fn addr_bytes(a: SocketAddr) -> Vec<u8> {
    a.to_string().into_bytes()
}

impl UdpEngine {
    fn base(sock: UdpSocket) -> Self {
        UdpEngine {
            sock,
            start: Instant::now(),
            peer: None,
            conn: None,
            pending_server: None,
            events: Vec::new(),
            app_in: Vec::new(),
            tx: vec![0; 2048],
            rx: vec![0; 65_535],
            drop_out: Vec::new(),
            drop_in: Vec::new(),
            drop_first_epoch3_out: false,
            dropped: 0,
            delay_in: Vec::new(),
            held: None,
            delayed: 0,
            handshake_out: 0,
            handshake_in: 0,
        }
    }

    /// A client of 127.0.0.1:`port`.
    pub fn client(cfg: Arc<Config>, server_name: Option<&str>, port: u16) -> Self {
        let sock = UdpSocket::bind("127.0.0.1:0").expect("bind client socket");
        let peer: SocketAddr = ([127, 0, 0, 1], port).into();
        let mut e = Self::base(sock);
        let conn = Connection::new(cfg, Role::Client, server_name, e.now()).expect("client");
        e.conn = Some(conn);
        e.peer = Some(peer);
        e
    }

    /// A server on an ephemeral 127.0.0.1 port (returned), waiting for its first peer, behind
    /// the stateless front door when `front_door` is set.
    pub fn server(cfg: Arc<Config>, front_door: bool) -> (Self, u16) {
        let sock = UdpSocket::bind("127.0.0.1:0").expect("bind server socket");
        let port = sock.local_addr().expect("local addr").port();
        let mut e = Self::base(sock);
        let door = front_door.then(|| ServerFrontDoor::new(cfg.clone()));
        e.pending_server = Some((cfg, door));
        (e, port)
    }

    fn now(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    /// The association.
    ///
    /// # Panics
    /// On a server that has admitted no peer yet.
    pub fn conn(&self) -> &Connection {
        self.conn.as_ref().expect("no association yet")
    }

    /// Whether the handshake has completed.
    pub fn is_connected(&self) -> bool {
        self.conn.as_ref().is_some_and(Connection::is_connected)
    }

    fn flush(&mut self) -> Result<(), Error> {
        let (Some(conn), Some(peer)) = (self.conn.as_mut(), self.peer) else {
            return Ok(());
        };
        let now = self.start.elapsed().as_millis() as u64;
        loop {
            match conn.poll_transmit(now, &mut self.tx) {
                Ok(Some(n)) => {
                    if self.drop_first_epoch3_out && self.tx[0] & 0xe3 == 0x23 {
                        self.drop_first_epoch3_out = false;
                        self.dropped += 1;
                        continue;
                    }
                    if lost(&mut self.handshake_out, &self.drop_out, &self.tx[..n]) {
                        self.dropped += 1;
                        continue;
                    }
                    // A lost datagram is the retransmission timer's business.
                    let _ = self.sock.send_to(&self.tx[..n], peer);
                }
                Ok(None) => return Ok(()),
                Err(Error::BufferTooSmall { needed }) => self.tx.resize(needed, 0),
                Err(e) => return Err(e),
            }
        }
    }

    fn admit(&mut self, from: SocketAddr, n: usize) -> Result<(), Error> {
        let now = self.now();
        let Some((cfg, door)) = &mut self.pending_server else {
            return Ok(());
        };
        // `admit`: the stateless prefilter for a 1.2-only config; with DTLS 1.3 it reassembles
        // the ClientHello first and hands back the whole of it on Accept.
        let hello = match door {
            Some(door) => {
                let mut reply = [0u8; 1500];
                match door.admit(now, &addr_bytes(from), &self.rx[..n], &mut reply) {
                    Admission::Accept(hello) => hello.to_vec(),
                    Admission::Reply(len) => {
                        let _ = self.sock.send_to(&reply[..len], from);
                        return Ok(());
                    }
                    Admission::Held | Admission::Drop => return Ok(()),
                }
            }
            None => self.rx[..n].to_vec(),
        };
        let mut conn = Connection::new(cfg.clone(), Role::Server, None, now)?;
        conn.set_peer_address(&addr_bytes(from));
        let r = conn.handle_datagram(now, &hello);
        self.pending_server = None;
        self.peer = Some(from);
        self.conn = Some(conn);
        self.flush()?;
        r
    }

    /// One turn: wait up to `max_wait` (less when the engine's timer is due), feed what
    /// arrived, run the timer, send, and collect events and application data.
    pub fn pump(&mut self, max_wait: Duration) -> Result<(), Error> {
        self.flush()?;
        let now = self.now();
        let wait = match self.conn.as_ref().and_then(Connection::next_timeout) {
            Some(t) if t <= now => Duration::ZERO,
            Some(t) => max_wait.min(Duration::from_millis(t - now)),
            None => max_wait,
        };
        let mut result = Ok(());
        if !wait.is_zero() {
            self.sock
                .set_read_timeout(Some(wait))
                .expect("set_read_timeout");
            let got = match self.sock.recv_from(&mut self.rx) {
                Ok((n, from)) if self.peer.is_none() || self.peer == Some(from) => {
                    let idx = is_handshake_datagram(&self.rx[..n]).then(|| {
                        self.handshake_in += 1;
                        self.handshake_in - 1
                    });
                    if idx.is_some_and(|i| self.drop_in.contains(&i)) {
                        self.dropped += 1;
                        Err(std::io::ErrorKind::WouldBlock.into())
                    } else if self.peer.is_some()
                        && self.held.is_none()
                        && idx.is_some_and(|i| self.delay_in.contains(&i))
                    {
                        self.delayed += 1;
                        self.held = Some((self.rx[..n].to_vec(), Instant::now()));
                        Err(std::io::ErrorKind::WouldBlock.into())
                    } else {
                        Ok((n, from))
                    }
                }
                other => other,
            };
            match got {
                Ok((n, from)) if self.peer == Some(from) => {
                    let now = self.now();
                    if let Some(c) = self.conn.as_mut() {
                        result = c.handle_datagram(now, &self.rx[..n]);
                        if let (Ok(()), Some((d, _))) = (&result, self.held.take()) {
                            result = c.handle_datagram(now, &d);
                        }
                    }
                }
                Ok((n, from)) if self.peer.is_none() => result = self.admit(from, n),
                Ok(_) => {} // Someone else: ignored.
                Err(e) if recv_error_is_transient(&e) => {}
                Err(e) => panic!("recv: {e}"),
            }
        }
        if result.is_ok()
            && self
                .held
                .as_ref()
                .is_some_and(|(_, t)| t.elapsed() >= Duration::from_millis(100))
        {
            let now = self.now();
            if let (Some(c), Some((d, _))) = (self.conn.as_mut(), self.held.take()) {
                result = c.handle_datagram(now, &d);
            }
        }
        if result.is_ok() {
            let now = self.now();
            if let Some(c) = self.conn.as_mut() {
                if c.next_timeout().is_some_and(|t| now >= t) {
                    result = c.handle_timeout(now);
                }
            }
        }
        // After a fatal error the alert for the peer may still be waiting.
        let flushed = self.flush();
        if let Some(c) = self.conn.as_mut() {
            while let Some(ev) = c.poll_event() {
                self.events.push(ev);
            }
            let mut buf = [0u8; 2048];
            while let Some(n) = c.recv(&mut buf)? {
                self.app_in.extend_from_slice(&buf[..n]);
            }
        }
        result.and(flushed)
    }

    /// Pumps until `done` holds; `Err` on an engine error or when `deadline` passes.
    pub fn run_until(
        &mut self,
        deadline: Instant,
        what: &str,
        done: impl Fn(&UdpEngine) -> bool,
    ) -> Result<(), String> {
        while !done(self) {
            if Instant::now() >= deadline {
                return Err(format!("timed out waiting for {what}"));
            }
            self.pump(Duration::from_millis(20)).map_err(|e| {
                format!("engine failed waiting for {what}: {e} ({})", e.code_name())
            })?;
        }
        Ok(())
    }

    /// Pumps until the handshake completes.
    pub fn handshake(&mut self, deadline: Instant) -> Result<(), String> {
        self.run_until(deadline, "the handshake", UdpEngine::is_connected)
    }

    /// Sends one application record and flushes it.
    pub fn send(&mut self, data: &[u8]) {
        self.conn
            .as_mut()
            .expect("no association yet")
            .send(data)
            .expect("send");
        self.flush().expect("flush");
    }

    /// Whether the application data received so far contains `needle`.
    pub fn received(&self, needle: &str) -> bool {
        String::from_utf8_lossy(&self.app_in).contains(needle)
    }

    /// Starts a DTLS 1.3 KeyUpdate of our sending keys (RFC 9147 §8), asking the peer to
    /// update its own when `request_peer` is set, and sends it.
    pub fn key_update(&mut self, request_peer: bool) {
        let now = self.now();
        self.conn
            .as_mut()
            .expect("no association yet")
            .key_update(now, request_peer)
            .expect("key_update");
        self.flush().expect("flush");
    }

    /// Queues close_notify and sends it.
    pub fn close(&mut self) {
        self.flush().expect("flush before close");
        self.conn
            .as_mut()
            .expect("no association yet")
            .close()
            .expect("close");
        self.flush().expect("flush close_notify");
    }

    /// The RFC 5705 / RFC 8446 §7.5 exporter, upper-case hex.
    pub fn export(&self, label: &str, len: usize) -> String {
        let mut out = vec![0u8; len];
        self.conn()
            .export_keying_material(label.as_bytes(), None, &mut out)
            .expect("export");
        out.iter().map(|b| format!("{b:02X}")).collect()
    }

    /// How many `Connected` events the association produced.
    pub fn connected_events(&self) -> usize {
        self.events
            .iter()
            .filter(|e| matches!(e, Event::Connected(_)))
            .count()
    }
}
