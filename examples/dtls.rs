//! `dtls`: a DTLS 1.2 client, server and self-test over real UDP, driving the sans-IO
//! engine from one thread with `std::net::UdpSocket`.
//!
//! ```text
//! cargo run --release --example dtls -- demo
//! cargo run --release --example dtls -- server 127.0.0.1:4433 -cert server.crt -key server.key
//! cargo run --release --example dtls -- client 127.0.0.1:4433 -CAfile ca.crt -servername dtls-server
//! ```
//!
//! The flags follow `openssl s_client` / `s_server`. In `client` and `server` mode, status
//! lines (`CONNECTED`, `Negotiated: ...`, `Keying material: ...`) go to stderr and received
//! application data goes to stdout as-is, so stdout can be piped; lines read from stdin are
//! sent as application data. `demo` prints everything to stdout.
//!
//! The engine never reads a clock or touches a socket: this program owns both. Time is
//! milliseconds since program start on `std::time::Instant` (monotonic), the socket's read
//! timeout is set from `Connection::next_timeout()`, and stdin is read by a helper thread that
//! hands lines over an mpsc channel, so the engine itself stays on the main thread.

use dtls_proto::{
    Admission, Certificate, ClientAuth, Config, Connection, Error, Event, Fingerprint, HashAlg,
    NamedGroup, Negotiated, PeerVerification, ProtocolVersion, Role, ServerFrontDoor,
};
use std::collections::VecDeque;
use std::io::{self, BufRead, Write};
use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

const USAGE: &str = "\
usage:
  dtls demo
      Server and client in two threads on 127.0.0.1, generated certificates pinned by
      fingerprint both ways; exits 0 only if everything checked out.
  dtls client HOST:PORT [options]
      -cert F -key F          our certificate chain (PEM, leaf first) and key (-key defaults to -cert)
      -cert_chain F           intermediate certificates to send after the leaf (both modes)
      -CAfile F               verify the server's chain against these roots (webpki)
      -servername NAME        SNI and the name checked in the server certificate
                              (default: HOST)
      -fingerprint \"sha-256 AB:..\"  pin the server certificate (repeatable)
      -insecure               accept any server certificate (diagnostics only)
      -ign_eof                keep running when stdin closes (until the peer closes)
  dtls server [HOST:]PORT [options]     (HOST defaults to 0.0.0.0)
      -cert F -key F          our certificate (default: a generated self-signed one,
                              whose fingerprint is printed)
      -verify                 require a client certificate (checked with -CAfile or -fingerprint)
      -CAfile F               roots for client certificates
      -fingerprint \"sha-256 AB:..\"  pin the client certificate (implies -verify)
      -insecure               with -verify: accept any client certificate
      -nocookie               no HelloVerifyRequest cookie exchange
      -naccept N              serve N peers one after another, then exit (default 1; 0 = forever)
      -no_ign_eof             close the association when stdin closes
  common:
      -mtu N                  largest datagram we send (default 1200)
      -use_srtp P1:P2         SRTP profiles (SRTP_AES128_CM_SHA1_80, SRTP_AES128_CM_SHA1_32,
                              SRTP_AEAD_AES_128_GCM, SRTP_AEAD_AES_256_GCM)
      -keymatexport LABEL     print exported keying material (RFC 5705) after the handshake
      -keymatexportlen N      its length in bytes (default 20)
";

/// How long the main loop waits on the socket before looking at stdin again.
const POLL_INTERVAL: Duration = Duration::from_millis(20);
/// Biggest UDP payload we may receive.
const MAX_DATAGRAM: usize = 65_535;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rest = args.get(1..).unwrap_or(&[]);
    let result = match args.first().map(String::as_str) {
        Some("client") => parse_opts(rest, Role::Client).and_then(run_client),
        Some("server") => parse_opts(rest, Role::Server).and_then(run_server),
        Some("demo") if rest.is_empty() => run_demo(),
        Some("-h" | "-help" | "--help" | "help") => {
            print!("{USAGE}");
            Ok(())
        }
        _ => Err(Fail::Usage(
            "expected a subcommand: client, server or demo".into(),
        )),
    };
    match result {
        Ok(()) => {}
        Err(Fail::Usage(msg)) => {
            eprintln!("dtls: {msg}\n\n{USAGE}");
            std::process::exit(2);
        }
        Err(Fail::Run(msg)) => {
            eprintln!("ERROR: {msg}");
            std::process::exit(1);
        }
    }
}

/// Why the program stops unsuccessfully: bad command line (exit 2) or a failed run (exit 1).
#[derive(Debug)]
enum Fail {
    Usage(String),
    Run(String),
}

fn run_err(msg: impl Into<String>) -> Fail {
    Fail::Run(msg.into())
}

/// A DTLS error with its stable code name, e.g. `peer certificate rejected: ... (DTLS_ERR_...)`.
fn dtls_err(context: &str, e: &Error) -> Fail {
    Fail::Run(format!("{context}: {e} ({})", e.code_name()))
}

// ---------------------------------------------------------------------------------------------
// Clock

/// The caller-owned monotonic clock the engine asks for: milliseconds since program start.
#[derive(Clone, Copy)]
struct Clock(Instant);

impl Clock {
    fn new() -> Self {
        Clock(Instant::now())
    }

    fn now(&self) -> u64 {
        u64::try_from(self.0.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

// ---------------------------------------------------------------------------------------------
// Command line

struct Opts {
    role: Role,
    /// Client: HOST:PORT to connect to. Server: [HOST:]PORT to bind.
    addr: String,
    cert: Option<String>,
    key: Option<String>,
    /// Extra (intermediate) certificates sent after the leaf.
    cert_chain: Option<String>,
    ca_file: Option<String>,
    servername: Option<String>,
    fingerprints: Vec<Fingerprint>,
    insecure: bool,
    verify: bool,
    nocookie: bool,
    mtu: Option<u16>,
    srtp: Vec<u16>,
    keymat_label: Option<String>,
    keymat_len: usize,
    naccept: u64,
    /// Keep running when stdin closes.
    ign_eof: bool,
}

fn parse_opts(args: &[String], role: Role) -> Result<Opts, Fail> {
    let mut o = Opts {
        role,
        addr: String::new(),
        cert: None,
        key: None,
        cert_chain: None,
        ca_file: None,
        servername: None,
        fingerprints: Vec::new(),
        insecure: false,
        verify: false,
        nocookie: false,
        mtu: None,
        srtp: Vec::new(),
        keymat_label: None,
        keymat_len: 20,
        naccept: 1,
        // Like openssl: s_client quits on stdin EOF, s_server does not.
        ign_eof: role == Role::Server,
    };
    let usage = |m: String| Fail::Usage(m);
    let mut it = args.iter().peekable();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| usage(format!("{name} needs a value")))
        };
        match arg.as_str() {
            "-cert" => o.cert = Some(value(arg)?),
            "-key" => o.key = Some(value(arg)?),
            "-cert_chain" => o.cert_chain = Some(value(arg)?),
            "-CAfile" => o.ca_file = Some(value(arg)?),
            "-servername" if role == Role::Client => o.servername = Some(value(arg)?),
            "-fingerprint" => {
                let v = value(arg)?;
                let fp = Fingerprint::parse_sdp(&v)
                    .map_err(|e| usage(format!("-fingerprint {v:?}: {e}")))?;
                o.fingerprints.push(fp);
            }
            "-insecure" => o.insecure = true,
            "-verify" | "-Verify" if role == Role::Server => {
                o.verify = true;
                // openssl takes a depth here; accept and ignore one for muscle memory.
                if it.peek().is_some_and(|v| v.parse::<u32>().is_ok()) {
                    it.next();
                }
            }
            "-nocookie" => {
                if role == Role::Client {
                    eprintln!("note: -nocookie only affects a server; ignored");
                }
                o.nocookie = true;
            }
            "-mtu" => {
                let v = value(arg)?;
                o.mtu = Some(v.parse().map_err(|_| usage(format!("-mtu {v:?}")))?);
            }
            "-use_srtp" => {
                let v = value(arg)?;
                for name in v.split(':') {
                    let id = srtp_id(name)
                        .ok_or_else(|| usage(format!("unknown SRTP profile {name:?}")))?;
                    o.srtp.push(id);
                }
            }
            "-keymatexport" => o.keymat_label = Some(value(arg)?),
            "-keymatexportlen" => {
                let v = value(arg)?;
                o.keymat_len = v
                    .parse()
                    .ok()
                    .filter(|n| (1..=1024).contains(n))
                    .ok_or_else(|| usage(format!("-keymatexportlen {v:?} (1..=1024)")))?;
            }
            "-naccept" if role == Role::Server => {
                let v = value(arg)?;
                o.naccept = v.parse().map_err(|_| usage(format!("-naccept {v:?}")))?;
            }
            "-ign_eof" => o.ign_eof = true,
            "-no_ign_eof" => o.ign_eof = false,
            "-connect" if role == Role::Client => o.addr = value(arg)?,
            "-accept" | "-port" if role == Role::Server => o.addr = value(arg)?,
            s if !s.starts_with('-') && o.addr.is_empty() => o.addr = s.to_string(),
            s => return Err(usage(format!("unexpected argument {s:?}"))),
        }
    }
    if o.addr.is_empty() {
        return Err(usage(match role {
            Role::Client => "missing HOST:PORT".into(),
            Role::Server => "missing PORT".into(),
        }));
    }
    if (o.key.is_some() || o.cert_chain.is_some()) && o.cert.is_none() {
        return Err(usage("-key / -cert_chain without -cert".into()));
    }
    Ok(o)
}

// ---------------------------------------------------------------------------------------------
// Names for what was negotiated (IANA registry names, as openssl's -ciphersuites spells them)

fn version_name(v: ProtocolVersion) -> String {
    dtls_proto::names::version_name(v).map_or_else(|| format!("0x{:04X}", v.get()), str::to_string)
}

fn suite_name(id: u16) -> String {
    dtls_proto::names::suite_name(dtls_proto::CipherSuite::from(id))
        .map_or_else(|| format!("0x{id:04X}"), str::to_string)
}

fn group_name(g: NamedGroup) -> String {
    dtls_proto::names::group_name(g).map_or_else(|| format!("0x{:04X}", g.get()), str::to_string)
}

fn srtp_id(name: &str) -> Option<u16> {
    dtls_proto::srtp::parse_profiles(name)
        .ok()
        .and_then(|v| (v.len() == 1).then(|| v[0]))
}

fn srtp_name(id: u16) -> String {
    dtls_proto::srtp::profile(id)
        .map_or_else(|| format!("0x{id:04X}"), |p| p.openssl_name.to_string())
}

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// `Negotiated: DTLSv1.2 TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 group=X25519 ems=yes`
fn negotiated_line(n: &Negotiated) -> String {
    format!(
        "Negotiated: {} {} group={} ems={}",
        version_name(n.version),
        suite_name(n.cipher_suite.get()),
        group_name(n.group),
        if n.extended_master_secret {
            "yes"
        } else {
            "no"
        }
    )
}

/// SHA-256 SDP fingerprint of the peer's leaf certificate, if it sent one.
fn peer_fingerprint(conn: &Connection) -> Option<String> {
    conn.peer_certificates()
        .first()
        .map(|der| Fingerprint::of(HashAlg::Sha256, der).to_sdp())
}

/// The status block printed once the handshake completes (client and server modes).
fn connected_lines(
    conn: &Connection,
    peer: SocketAddr,
    n: &Negotiated,
    opts: &Opts,
) -> Vec<String> {
    let stats = conn.stats();
    let mut v = vec![
        "CONNECTED".to_string(),
        format!("Peer address: {peer}"),
        negotiated_line(n),
    ];
    v.push(match peer_fingerprint(conn) {
        Some(fp) => format!(
            "Peer certificate: {fp} (chain of {})",
            conn.peer_certificates().len()
        ),
        None => "Peer certificate: none".into(),
    });
    if let Some(p) = n.srtp_profile {
        v.push(format!("SRTP profile: {}", srtp_name(p)));
    }
    if let Some(a) = &n.alpn {
        v.push(format!("ALPN: {}", String::from_utf8_lossy(a)));
    }
    v.push(format!(
        "Handshake: {} ms, retransmissions={}",
        stats
            .handshake_duration_ms
            .map_or_else(|| "?".into(), |d| d.to_string()),
        stats.retransmissions,
    ));
    if let Some(label) = &opts.keymat_label {
        let mut out = vec![0u8; opts.keymat_len];
        v.push("Keying material exporter:".into());
        v.push(format!("    Label: '{label}'"));
        v.push(format!("    Length: {} bytes", opts.keymat_len));
        match conn.export_keying_material(label.as_bytes(), None, &mut out) {
            Ok(()) => v.push(format!("    Keying material: {}", hex_upper(&out))),
            Err(e) => v.push(format!("    Error: {e}")),
        }
    }
    v
}

// ---------------------------------------------------------------------------------------------
// Configuration

fn read_file(path: &str) -> Result<Vec<u8>, Fail> {
    std::fs::read(path).map_err(|e| run_err(format!("{path}: {e}")))
}

fn load_certificate(opts: &Opts) -> Result<Option<Certificate>, Fail> {
    let Some(cert_path) = &opts.cert else {
        return Ok(None);
    };
    let mut chain = read_file(cert_path)?;
    if let Some(extra) = &opts.cert_chain {
        chain.push(b'\n');
        chain.extend(read_file(extra)?);
    }
    // Like openssl, the key may sit in the certificate file.
    let key = read_file(opts.key.as_deref().unwrap_or(cert_path))?;
    Certificate::from_pem(&chain, &key)
        .map(Some)
        .map_err(|e| run_err(format!("{cert_path}: {e}")))
}

/// The config for `opts`; `cert` is our certificate (loaded or generated), if any.
fn build_config(opts: &Opts, cert: Option<Certificate>) -> Result<Arc<Config>, Fail> {
    let mut b = Config::builder();
    if let Some(c) = cert {
        b = b.certificate(c);
    }
    if let Some(ca) = &opts.ca_file {
        b = b.root_certificates_pem(&read_file(ca)?);
    }
    for fp in &opts.fingerprints {
        b = b.peer_fingerprint(fp.clone());
    }
    let has_verifier = opts.ca_file.is_some() || !opts.fingerprints.is_empty();
    let verification = if opts.insecure {
        PeerVerification::DangerousAcceptAny
    } else if opts.ca_file.is_none() && !opts.fingerprints.is_empty() {
        PeerVerification::Fingerprint
    } else if opts.fingerprints.is_empty() && opts.ca_file.is_some() {
        PeerVerification::WebPki
    } else {
        // Both given: pinned fingerprints take precedence, webpki otherwise.
        PeerVerification::Auto
    };
    b = b.peer_verification(verification);
    match opts.role {
        Role::Client => {
            if !has_verifier && !opts.insecure {
                return Err(Fail::Usage(
                    "no way to authenticate the server: give -CAfile, -fingerprint or -insecure"
                        .into(),
                ));
            }
        }
        Role::Server => {
            let verify = opts.verify || !opts.fingerprints.is_empty();
            if verify && !has_verifier && !opts.insecure {
                return Err(Fail::Usage(
                    "-verify needs -CAfile or -fingerprint (or -insecure)".into(),
                ));
            }
            b = b
                .client_auth(if verify {
                    ClientAuth::Require
                } else {
                    ClientAuth::None
                })
                .cookie_exchange(!opts.nocookie);
        }
    }
    if let Some(mtu) = opts.mtu {
        b = b.mtu(mtu);
    }
    if !opts.srtp.is_empty() {
        b = b.srtp_profiles(&opts.srtp);
    }
    b.build().map_err(|e| dtls_err("configuration", &e))
}

// ---------------------------------------------------------------------------------------------
// The drive loop: one association on one UDP socket.

/// Something the association produced for the application.
enum Happening {
    Event(Event),
    Data(Vec<u8>),
}

/// One association on a socket, talking to one peer address.
struct Driver<'a> {
    conn: Connection,
    sock: &'a UdpSocket,
    peer: SocketAddr,
    clock: Clock,
    tx: Vec<u8>,
    rx: Vec<u8>,
}

impl<'a> Driver<'a> {
    fn new(conn: Connection, sock: &'a UdpSocket, peer: SocketAddr, clock: Clock) -> Self {
        Driver {
            conn,
            sock,
            peer,
            clock,
            tx: vec![0; 2048],
            rx: vec![0; MAX_DATAGRAM],
        }
    }

    /// Sends every datagram the engine has ready (call after every mutation).
    fn flush(&mut self) -> Result<(), Fail> {
        loop {
            match self.conn.poll_transmit(self.clock.now(), &mut self.tx) {
                Ok(Some(n)) => {
                    // UDP send errors (e.g. ICMP unreachable reported late) are transient
                    // here: the retransmission timer covers a lost datagram.
                    if let Err(e) = self.sock.send_to(&self.tx[..n], self.peer) {
                        eprintln!("note: send to {}: {e}", self.peer);
                    }
                }
                Ok(None) => return Ok(()),
                Err(Error::BufferTooSmall { needed }) => self.tx.resize(needed, 0),
                Err(e) => return Err(dtls_err("poll_transmit", &e)),
            }
        }
    }

    /// Feeds one datagram, e.g. the ClientHello a server accepted before this driver existed.
    fn feed(&mut self, datagram: &[u8]) -> Result<(), Fail> {
        let r = self.conn.handle_datagram(self.clock.now(), datagram);
        self.flush()?;
        r.map_err(|e| dtls_err("handshake", &e))
    }

    /// One turn: waits up to `max_wait` (less if the engine's timer is due sooner) for a
    /// datagram from the peer, runs the timer, sends what is ready, and returns the events and
    /// application data produced. An `Err` means the association is over.
    fn turn(&mut self, max_wait: Duration) -> Result<Vec<Happening>, Fail> {
        self.flush()?;
        let now = self.clock.now();
        let wait = match self.conn.next_timeout() {
            Some(t) if t <= now => Duration::ZERO,
            Some(t) => max_wait.min(Duration::from_millis(t - now)),
            None => max_wait,
        };
        let mut result = Ok(());
        if !wait.is_zero() {
            self.sock
                .set_read_timeout(Some(wait))
                .map_err(|e| run_err(format!("set_read_timeout: {e}")))?;
            match self.sock.recv_from(&mut self.rx) {
                Ok((n, from)) if from == self.peer => {
                    result = self.conn.handle_datagram(self.clock.now(), &self.rx[..n]);
                }
                Ok(_) => {} // Not our peer: a single-peer tool ignores it.
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                            // ICMP port unreachable from an earlier send: the peer may not
                            // be up yet; the retransmission timer tries again.
                            | io::ErrorKind::ConnectionRefused
                            | io::ErrorKind::ConnectionReset
                    ) => {}
                Err(e) => return Err(run_err(format!("recv: {e}"))),
            }
        }
        if result.is_ok() {
            let now = self.clock.now();
            if self.conn.next_timeout().is_some_and(|t| now >= t) {
                result = self.conn.handle_timeout(now);
            }
        }
        // Even after a fatal error the engine may hold the alert that tells the peer why.
        self.flush()?;
        result.map_err(|e| dtls_err("association failed", &e))?;
        let mut out = Vec::new();
        while let Some(ev) = self.conn.poll_event() {
            out.push(Happening::Event(ev));
        }
        // The receive buffer is free again: reuse it for application records.
        loop {
            match self.conn.recv(&mut self.rx) {
                Ok(Some(n)) => out.push(Happening::Data(self.rx[..n].to_vec())),
                Ok(None) => break,
                Err(e) => return Err(dtls_err("recv", &e)),
            }
        }
        Ok(out)
    }

    /// Queues `data` as application records no larger than the MTU allows, and sends them.
    fn send(&mut self, data: &[u8]) -> Result<(), Fail> {
        let max = self.conn.max_send_len().max(1);
        for chunk in data.chunks(max) {
            self.conn.send(chunk).map_err(|e| dtls_err("send", &e))?;
            // Send as we go: the engine's send queue is bounded.
            self.flush()?;
        }
        Ok(())
    }

    /// Sends close_notify.
    fn close(&mut self) -> Result<(), Fail> {
        self.flush()?; // Data queued before close_notify leaves first.
        self.conn.close().map_err(|e| dtls_err("close", &e))?;
        self.flush()
    }
}

// ---------------------------------------------------------------------------------------------
// Interactive client / server

/// Lines from stdin, read by a helper thread; `None` marks end of input.
type StdinLines = mpsc::Receiver<Option<Vec<u8>>>;

fn spawn_stdin_reader() -> StdinLines {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let stdin = io::stdin();
        let mut lock = stdin.lock();
        loop {
            let mut line = Vec::new();
            match lock.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => {
                    let _ = tx.send(None);
                    return;
                }
                Ok(_) => {
                    if tx.send(Some(line)).is_err() {
                        return;
                    }
                }
            }
        }
    });
    rx
}

/// State of stdin, shared by the associations a server serves one after another.
struct Input {
    lines: StdinLines,
    pending: VecDeque<Vec<u8>>,
    open: bool,
}

impl Input {
    fn poll(&mut self) {
        while self.open {
            match self.lines.try_recv() {
                Ok(Some(line)) => self.pending.push_back(line),
                Ok(None) | Err(mpsc::TryRecvError::Disconnected) => self.open = false,
                Err(mpsc::TryRecvError::Empty) => break,
            }
        }
    }
}

/// Runs one association until it closes: prints the handshake result, echoes stdin lines as
/// application data and received data to stdout.
fn interact(drv: &mut Driver<'_>, input: &mut Input, opts: &Opts) -> Result<(), Fail> {
    let mut stdout = io::stdout();
    loop {
        input.poll();
        if drv.conn.is_connected() {
            while let Some(line) = input.pending.pop_front() {
                drv.send(&line)?;
            }
            if !input.open && !opts.ign_eof {
                drv.close()?;
                eprintln!("CLOSED: sent close_notify (end of input)");
                return Ok(());
            }
        }
        for h in drv.turn(POLL_INTERVAL)? {
            match h {
                Happening::Data(d) => {
                    stdout
                        .write_all(&d)
                        .and_then(|_| stdout.flush())
                        .map_err(|e| run_err(format!("stdout: {e}")))?;
                }
                Happening::Event(Event::Connected(n)) => {
                    for line in connected_lines(&drv.conn, drv.peer, &n, opts) {
                        eprintln!("{line}");
                    }
                }
                Happening::Event(Event::PeerCertificate) => {}
                Happening::Event(Event::CloseNotify) => {
                    drv.flush()?; // Our answering close_notify.
                    eprintln!("CLOSED: peer sent close_notify");
                    return Ok(());
                }
                Happening::Event(Event::Failed(e)) => {
                    return Err(dtls_err("association failed", &e))
                }
                Happening::Event(other) => eprintln!("event: {other:?}"),
            }
        }
    }
}

fn run_client(opts: Opts) -> Result<(), Fail> {
    let clock = Clock::new();
    let peer = opts
        .addr
        .to_socket_addrs()
        .map_err(|e| run_err(format!("{}: {e}", opts.addr)))?
        .next()
        .ok_or_else(|| run_err(format!("{}: no address", opts.addr)))?;
    let host = opts
        .addr
        .rsplit_once(':')
        .map_or(opts.addr.as_str(), |(h, _)| h)
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let server_name = opts.servername.clone().unwrap_or(host);
    let cfg = build_config(&opts, load_certificate(&opts)?)?;
    let local: SocketAddr = if peer.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    }
    .parse()
    .map_err(|_| run_err("local address"))?;
    let sock = UdpSocket::bind(local).map_err(|e| run_err(format!("bind: {e}")))?;
    // Connected: the kernel drops datagrams from anyone else and reports ICMP errors.
    sock.connect(peer)
        .map_err(|e| run_err(format!("connect {peer}: {e}")))?;
    let conn = Connection::new(cfg, Role::Client, Some(&server_name), clock.now())
        .map_err(|e| dtls_err("client", &e))?;
    eprintln!("Connecting to {peer} (server name {server_name})");
    let mut input = Input {
        lines: spawn_stdin_reader(),
        pending: VecDeque::new(),
        open: true,
    };
    let mut drv = Driver::new(conn, &sock, peer, clock);
    interact(&mut drv, &mut input, &opts)
}

/// A ClientHello that passed the front door.
struct Accepted {
    peer: SocketAddr,
    hello: Vec<u8>,
    /// HelloVerifyRequests the front door sent before it (to anyone).
    hello_verify_requests: u64,
}

/// Waits for a ClientHello that passes the front door (answering the others with
/// HelloVerifyRequests, RFC 6347 §4.2.1, or DTLS 1.3 HelloRetryRequests), so no state exists
/// for a peer before its cookie checks out. `admit` reassembles fragmented ClientHellos in a
/// bounded pool when DTLS 1.3 is on (and is the stateless `prefilter` otherwise).
fn accept(
    sock: &UdpSocket,
    door: &mut ServerFrontDoor,
    clock: Clock,
    deadline: Option<Instant>,
) -> Result<Accepted, Fail> {
    let mut hello_verify_requests = 0;
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let mut reply = vec![0u8; 512];
    loop {
        let wait = match deadline {
            Some(d) => d
                .checked_duration_since(Instant::now())
                .filter(|w| !w.is_zero())
                .ok_or_else(|| run_err("no client arrived in time"))?,
            None => Duration::from_secs(3600),
        };
        sock.set_read_timeout(Some(wait))
            .map_err(|e| run_err(format!("set_read_timeout: {e}")))?;
        let (n, from) = match sock.recv_from(&mut buf) {
            Ok(r) => r,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                        | io::ErrorKind::ConnectionRefused
                        | io::ErrorKind::ConnectionReset
                ) =>
            {
                continue
            }
            Err(e) => return Err(run_err(format!("recv: {e}"))),
        };
        match door.admit(clock.now(), &addr_bytes(from), &buf[..n], &mut reply) {
            Admission::Accept(hello) => {
                return Ok(Accepted {
                    peer: from,
                    hello: hello.to_vec(),
                    hello_verify_requests,
                })
            }
            Admission::Reply(len) => {
                hello_verify_requests += 1;
                let _ = sock.send_to(&reply[..len], from);
            }
            Admission::Held | Admission::Drop => {}
        }
    }
}

/// The transport address the server's cookies are bound to.
fn addr_bytes(addr: SocketAddr) -> Vec<u8> {
    addr.to_string().into_bytes()
}

fn run_server(opts: Opts) -> Result<(), Fail> {
    let clock = Clock::new();
    let bind = if opts.addr.contains(':') {
        opts.addr.clone()
    } else {
        format!("0.0.0.0:{}", opts.addr)
    };
    let cert = match load_certificate(&opts)? {
        Some(c) => c,
        None => {
            let c = Certificate::generate("dtls-server")
                .map_err(|e| run_err(format!("generate: {e}")))?;
            eprintln!("Generated self-signed certificate (CN dtls-server)");
            c
        }
    };
    eprintln!(
        "Server fingerprint: {}",
        cert.fingerprint(HashAlg::Sha256).to_sdp()
    );
    let cfg = build_config(&opts, Some(cert))?;
    let sock = UdpSocket::bind(&bind).map_err(|e| run_err(format!("bind {bind}: {e}")))?;
    let local = sock.local_addr().map_err(|e| run_err(e.to_string()))?;
    eprintln!("ACCEPT {local}");
    let mut door = ServerFrontDoor::new(cfg.clone());
    let mut input = Input {
        lines: spawn_stdin_reader(),
        pending: VecDeque::new(),
        open: true,
    };
    let mut served = 0u64;
    while opts.naccept == 0 || served < opts.naccept {
        let Accepted {
            peer,
            hello,
            hello_verify_requests,
        } = accept(&sock, &mut door, clock, None)?;
        served += 1;
        let mut conn = Connection::new(cfg.clone(), Role::Server, None, clock.now())
            .map_err(|e| dtls_err("server", &e))?;
        // The engine checks the cookie again against the same address encoding.
        conn.set_peer_address(&addr_bytes(peer));
        eprintln!("Client {peer} (front door sent {hello_verify_requests} HelloVerifyRequest(s))");
        let mut drv = Driver::new(conn, &sock, peer, clock);
        let outcome = drv
            .feed(&hello)
            .and_then(|_| interact(&mut drv, &mut input, &opts));
        match outcome {
            Ok(()) => {}
            // With more peers to serve, one failed association is not the end.
            Err(Fail::Run(msg)) if opts.naccept != 1 => eprintln!("ERROR: {msg}"),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Demo

/// Everything one side of the demo saw.
struct SideReport {
    lines: Vec<String>,
    negotiated: Negotiated,
    peer_fingerprint: Option<String>,
    received: Vec<u8>,
    exported: Vec<u8>,
}

const DEMO_LABEL: &str = "EXTRACTOR-dtls_srtp";
/// RFC 5764 §4.2: 2 * (16-byte key + 12-byte salt) for SRTP_AEAD_AES_128_GCM.
const DEMO_EXPORT_LEN: usize = 56;
/// Upper bound for every wait in the demo, so a broken build fails instead of hanging.
const DEMO_DEADLINE: Duration = Duration::from_secs(15);

/// Runs turns until `stop` returns true for something that happened (collected into `seen`).
fn run_until(
    drv: &mut Driver<'_>,
    deadline: Instant,
    what: &str,
    seen: &mut Vec<Happening>,
    mut stop: impl FnMut(&Happening) -> bool,
) -> Result<(), Fail> {
    while Instant::now() < deadline {
        for h in drv.turn(POLL_INTERVAL)? {
            let done = stop(&h);
            if let Happening::Event(Event::Failed(e)) = &h {
                return Err(dtls_err(what, e));
            }
            seen.push(h);
            if done {
                return Ok(());
            }
        }
    }
    Err(run_err(format!("timed out waiting for {what}")))
}

fn connected_of(seen: &[Happening]) -> Option<Negotiated> {
    seen.iter().find_map(|h| match h {
        Happening::Event(Event::Connected(n)) => Some(n.clone()),
        _ => None,
    })
}

fn data_of(seen: &[Happening]) -> Vec<u8> {
    seen.iter()
        .filter_map(|h| match h {
            Happening::Data(d) => Some(d.as_slice()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .concat()
}

/// The lines both sides of the demo print about their association.
fn demo_lines(
    drv: &Driver<'_>,
    n: &Negotiated,
    pinned: &str,
    received: &[u8],
    exported: &[u8],
) -> Vec<String> {
    let stats = drv.conn.stats();
    let fp = peer_fingerprint(&drv.conn);
    vec![
        format!("CONNECTED peer={}", drv.peer),
        negotiated_line(n),
        format!(
            "SRTP profile: {}",
            n.srtp_profile.map_or_else(|| "none".into(), srtp_name)
        ),
        format!(
            "Peer fingerprint: {} ({})",
            fp.as_deref().unwrap_or("none"),
            if fp.as_deref() == Some(pinned) {
                "matches the pinned one"
            } else {
                "DOES NOT match the pinned one"
            }
        ),
        format!("Received: {:?}", String::from_utf8_lossy(received)),
        format!("Keying material: {}", hex_upper(exported)),
        format!(
            "Handshake: {} ms, retransmissions={}",
            stats
                .handshake_duration_ms
                .map_or_else(|| "?".into(), |d| d.to_string()),
            stats.retransmissions,
        ),
    ]
}

fn export(drv: &Driver<'_>) -> Result<Vec<u8>, Fail> {
    let mut out = vec![0u8; DEMO_EXPORT_LEN];
    drv.conn
        .export_keying_material(DEMO_LABEL.as_bytes(), None, &mut out)
        .map_err(|e| dtls_err("export", &e))?;
    Ok(out)
}

/// Shared settings of both demo sides: pin the other side's fingerprint (RFC 8122 style, as
/// WebRTC does), offer DTLS-SRTP, and bound the handshake so a failure ends the demo.
fn demo_config(own: Certificate, peer_fp: &str, role: Role) -> Result<Arc<Config>, Fail> {
    let fp = Fingerprint::parse_sdp(peer_fp).map_err(|e| run_err(e.to_string()))?;
    let mut b = Config::builder()
        .certificate(own)
        .peer_verification(PeerVerification::Fingerprint)
        .peer_fingerprint(fp)
        .srtp_profiles(&[0x0007, 0x0001])
        .timers(500, 2_000, 10_000);
    if role == Role::Server {
        b = b.client_auth(ClientAuth::Require);
    }
    b.build().map_err(|e| dtls_err("demo config", &e))
}

fn demo_server(
    sock: UdpSocket,
    cfg: Arc<Config>,
    client_fp: String,
    clock: Clock,
) -> Result<SideReport, Fail> {
    let deadline = Instant::now() + DEMO_DEADLINE;
    let mut door = ServerFrontDoor::new(cfg.clone());
    let Accepted {
        peer,
        hello,
        hello_verify_requests,
    } = accept(&sock, &mut door, clock, Some(deadline))?;
    let mut conn = Connection::new(cfg, Role::Server, None, clock.now())
        .map_err(|e| dtls_err("server", &e))?;
    conn.set_peer_address(&addr_bytes(peer));
    let mut drv = Driver::new(conn, &sock, peer, clock);
    drv.feed(&hello)?;
    let mut seen = Vec::new();
    run_until(&mut drv, deadline, "server handshake", &mut seen, |h| {
        matches!(h, Happening::Event(Event::Connected(_)))
    })?;
    let negotiated = connected_of(&seen).ok_or_else(|| run_err("no Connected event"))?;
    // The client speaks first; its message may have arrived with the handshake's end.
    let mut got = data_of(&seen);
    let want = b"ping from client".as_slice();
    while got.len() < want.len() {
        let mut more = Vec::new();
        run_until(&mut drv, deadline, "the client's message", &mut more, |h| {
            matches!(h, Happening::Data(_))
        })?;
        got.extend(data_of(&more));
    }
    drv.send(b"pong from server")?;
    let exported = export(&drv)?;
    let mut tail = Vec::new();
    run_until(&mut drv, deadline, "close_notify", &mut tail, |h| {
        matches!(h, Happening::Event(Event::CloseNotify))
    })?;
    drv.flush()?;
    let mut lines = demo_lines(&drv, &negotiated, &client_fp, &got, &exported);
    lines.push(format!(
        "Cookie exchange: {hello_verify_requests} HelloVerifyRequest(s) from the stateless front door"
    ));
    lines.push("Closed: peer sent close_notify".into());
    Ok(SideReport {
        lines,
        peer_fingerprint: peer_fingerprint(&drv.conn),
        negotiated,
        received: got,
        exported,
    })
}

fn demo_client(
    server: SocketAddr,
    cfg: Arc<Config>,
    server_fp: String,
    clock: Clock,
) -> Result<SideReport, Fail> {
    let deadline = Instant::now() + DEMO_DEADLINE;
    let sock = UdpSocket::bind("127.0.0.1:0").map_err(|e| run_err(format!("bind: {e}")))?;
    sock.connect(server)
        .map_err(|e| run_err(format!("connect: {e}")))?;
    let conn = Connection::new(cfg, Role::Client, None, clock.now())
        .map_err(|e| dtls_err("client", &e))?;
    let mut drv = Driver::new(conn, &sock, server, clock);
    let mut seen = Vec::new();
    run_until(&mut drv, deadline, "client handshake", &mut seen, |h| {
        matches!(h, Happening::Event(Event::Connected(_)))
    })?;
    let negotiated = connected_of(&seen).ok_or_else(|| run_err("no Connected event"))?;
    drv.send(b"ping from client")?;
    let want = b"pong from server".as_slice();
    let mut got = data_of(&seen);
    while got.len() < want.len() {
        let mut more = Vec::new();
        run_until(&mut drv, deadline, "the server's reply", &mut more, |h| {
            matches!(h, Happening::Data(_))
        })?;
        got.extend(data_of(&more));
    }
    let exported = export(&drv)?;
    drv.close()?;
    let mut lines = demo_lines(&drv, &negotiated, &server_fp, &got, &exported);
    lines.push("Closed: sent close_notify".into());
    Ok(SideReport {
        lines,
        peer_fingerprint: peer_fingerprint(&drv.conn),
        negotiated,
        received: got,
        exported,
    })
}

fn run_demo() -> Result<(), Fail> {
    let clock = Clock::new();
    let started = Instant::now();
    let gen = |cn: &str| Certificate::generate(cn).map_err(|e| run_err(format!("generate: {e}")));
    let server_cert = gen("dtls-demo-server")?;
    let client_cert = gen("dtls-demo-client")?;
    let server_fp = server_cert.fingerprint(HashAlg::Sha256).to_sdp();
    let client_fp = client_cert.fingerprint(HashAlg::Sha256).to_sdp();
    let server_cfg = demo_config(server_cert, &client_fp, Role::Server)?;
    let client_cfg = demo_config(client_cert, &server_fp, Role::Client)?;

    let sock = UdpSocket::bind("127.0.0.1:0").map_err(|e| run_err(format!("bind: {e}")))?;
    let addr = sock.local_addr().map_err(|e| run_err(e.to_string()))?;
    println!("demo: server listening on udp {addr}");
    println!("demo: server certificate {server_fp}");
    println!("demo: client certificate {client_fp}");

    let fp = client_fp.clone();
    let server = std::thread::spawn(move || demo_server(sock, server_cfg, fp, clock));
    let fp = server_fp.clone();
    let client = std::thread::spawn(move || demo_client(addr, client_cfg, fp, clock));
    let joined = |h: std::thread::JoinHandle<Result<SideReport, Fail>>, who: &str| {
        h.join()
            .unwrap_or_else(|_| Err(run_err(format!("{who} thread panicked"))))
    };
    let client = joined(client, "client");
    let server = joined(server, "server");
    let (server, client) = match (server, client) {
        (Ok(s), Ok(c)) => (s, c),
        (s, c) => {
            for (who, r) in [("server", s), ("client", c)] {
                if let Err(Fail::Run(m) | Fail::Usage(m)) = r {
                    println!("[{who}] ERROR: {m}");
                }
            }
            println!("demo: FAILED");
            return Err(run_err("demo failed"));
        }
    };
    for (who, r) in [("server", &server), ("client", &client)] {
        for line in &r.lines {
            println!("[{who}] {line}");
        }
    }
    let checks = [
        (
            "same parameters on both sides",
            server.negotiated == client.negotiated,
        ),
        (
            "DTLS 1.2 with extended master secret",
            client.negotiated.version == ProtocolVersion::Dtls12
                && client.negotiated.extended_master_secret,
        ),
        (
            "fingerprints pinned both ways",
            server.peer_fingerprint.as_deref() == Some(client_fp.as_str())
                && client.peer_fingerprint.as_deref() == Some(server_fp.as_str()),
        ),
        (
            "messages delivered both ways",
            server.received == b"ping from client" && client.received == b"pong from server",
        ),
        (
            "exported keys equal",
            server.exported == client.exported && server.exported.iter().any(|b| *b != 0),
        ),
    ];
    let mut ok = true;
    for (what, passed) in checks {
        println!("demo: {what}: {}", if passed { "yes" } else { "NO" });
        ok &= passed;
    }
    println!("demo: total {} ms", started.elapsed().as_millis());
    if ok {
        println!("demo: OK");
        Ok(())
    } else {
        println!("demo: FAILED");
        Err(run_err("demo checks failed"))
    }
}
