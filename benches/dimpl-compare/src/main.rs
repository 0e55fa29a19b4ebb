//! dtls-proto next to dimpl 0.9 (a sans-IO DTLS 1.2/1.3 engine used by str0m), measured in
//! the same run, interleaved round by round, CPU time of this thread. Same certificates
//! (ECDSA P-256, self-signed, SHA-256 fingerprints checked both ways), same suite
//! (ECDHE-ECDSA-AES128-GCM-SHA256 for DTLS 1.2, TLS_AES_128_GCM_SHA256 for DTLS 1.3), same
//! groups. dimpl uses aws-lc-rs for its crypto and we use ring, so the ratios mix engine and
//! crypto library. Both versions by default; `--v12` or `--v13` for one.
//!
//! dimpl checks cookies inside the server object (no stateless front door), so our server
//! does the same here (`Connection` answering HelloVerifyRequest, or in 1.3 sending a
//! HelloRetryRequest with a cookie, itself).
//!
//! Memory: the Rust heap is counted by a counting global allocator; aws-lc allocates with C
//! malloc, which only glibc's `mallinfo2` sees, so the process heap in use (allocator
//! overhead included) is reported as well.
//!
//! ```text
//! cd benches/dimpl-compare && cargo run --release [-- --quick] [--v12 | --v13]
//! ```

use dimpl::crypto::{Dtls12CipherSuite, Dtls13CipherSuite};
use dimpl::{Dtls, DtlsCertificate, Output};
use dtls_proto::{
    Certificate, CipherSuite, Config, Connection, Event, Fingerprint, HashAlg, NamedGroup,
    ProtocolVersion, Role,
};
use rustls_pki_types::pem::PemObject;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

// --- heap accounting -------------------------------------------------------------------------

struct Counting;
static LIVE: AtomicI64 = AtomicI64::new(0);
static ALLOCS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards to `System` unchanged; the counters do not affect results.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        LIVE.fetch_add(l.size() as i64, Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as i64, Relaxed);
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        LIVE.fetch_add(n as i64 - l.size() as i64, Relaxed);
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[repr(C)]
#[derive(Default)]
struct Mallinfo2 {
    arena: usize,
    ordblks: usize,
    smblks: usize,
    hblks: usize,
    hblkhd: usize,
    usmblks: usize,
    fsmblks: usize,
    uordblks: usize,
    fordblks: usize,
    keepcost: usize,
}

#[repr(C)]
struct Timespec {
    tv_sec: i64,
    tv_nsec: i64,
}

extern "C" {
    // glibc >= 2.33.
    fn mallinfo2() -> Mallinfo2;
    fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
}

/// (Rust live bytes, process heap in use according to malloc).
fn heap() -> (i64, i64) {
    // SAFETY: plain query of allocator statistics.
    let m = unsafe { mallinfo2() };
    (LIVE.load(Relaxed), (m.uordblks + m.hblkhd) as i64)
}

/// CPU time of this thread: time descheduled on a busy machine does not count.
fn cpu_time() -> Duration {
    let mut ts = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid out-pointer; 3 = CLOCK_THREAD_CPUTIME_ID.
    assert_eq!(unsafe { clock_gettime(3, &mut ts) }, 0);
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

// --- setup -----------------------------------------------------------------------------------

const RECORD: usize = 1200;
const SLOT: usize = 1536;
const PEER: &[u8] = b"192.0.2.1:50000";

struct Creds {
    server: Certificate,
    client: Certificate,
}

fn dimpl_cert(c: &Certificate) -> DtlsCertificate {
    let (_, key_pem) = c.to_pem();
    let key = rustls_pki_types::PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).unwrap();
    let rustls_pki_types::PrivateKeyDer::Pkcs8(k) = key else {
        panic!("generated keys are PKCS#8")
    };
    DtlsCertificate {
        certificate: c.chain()[0].clone(),
        private_key: k.secret_pkcs8_der().to_vec(),
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Version {
    V12,
    V13,
}

impl Version {
    fn name(self) -> &'static str {
        match self {
            Version::V12 => "DTLS 1.2",
            Version::V13 => "DTLS 1.3",
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Group {
    P256,
    X25519,
}

impl Group {
    fn ours(self) -> &'static [NamedGroup] {
        match self {
            Group::P256 => &[NamedGroup::Secp256r1],
            // P-256 too: the certificates' curve (RFC 8422 §5.1).
            Group::X25519 => &[NamedGroup::X25519, NamedGroup::Secp256r1],
        }
    }
    fn dimpl(self) -> &'static [dimpl::NamedGroup] {
        match self {
            Group::P256 => &[dimpl::NamedGroup::Secp256r1],
            Group::X25519 => &[dimpl::NamedGroup::X25519, dimpl::NamedGroup::Secp256r1],
        }
    }
    fn name(self) -> &'static str {
        match self {
            Group::P256 => "P-256",
            Group::X25519 => "X25519",
        }
    }
}

// --- ours ------------------------------------------------------------------------------------

struct Ours {
    client: Arc<Config>,
    server: Arc<Config>,
}

impl Ours {
    fn new(cr: &Creds, v: Version, g: Group, cookie: bool, mtu: u16) -> Self {
        let (suites, versions) = match v {
            Version::V12 => (
                [CipherSuite::EcdheEcdsaAes128GcmSha256],
                [ProtocolVersion::Dtls12],
            ),
            Version::V13 => (
                [CipherSuite::Tls13Aes128GcmSha256],
                [ProtocolVersion::Dtls13],
            ),
        };
        Ours {
            client: Config::builder()
                .versions(&versions)
                .certificate(cr.client.clone())
                .peer_fingerprint(cr.server.fingerprint(HashAlg::Sha256))
                .cipher_suites(&suites)
                .groups(g.ours())
                .mtu(mtu)
                .build()
                .unwrap(),
            server: Config::builder()
                .versions(&versions)
                .certificate(cr.server.clone())
                .peer_fingerprint(cr.client.fingerprint(HashAlg::Sha256))
                .cipher_suites(&suites)
                .groups(g.ours())
                .cookie_exchange(cookie)
                .mtu(mtu)
                .build()
                .unwrap(),
        }
    }

    fn handshake(&self, buf: &mut [u8]) -> (Connection, Connection) {
        let mut c = Connection::new(self.client.clone(), Role::Client, None, 0).unwrap();
        let mut s = Connection::new(self.server.clone(), Role::Server, None, 0).unwrap();
        s.set_peer_address(PEER);
        for _ in 0..16 {
            while let Some(n) = c.poll_transmit(0, buf).unwrap() {
                s.handle_datagram(0, &buf[..n]).unwrap();
            }
            while let Some(n) = s.poll_transmit(0, buf).unwrap() {
                c.handle_datagram(0, &buf[..n]).unwrap();
            }
            if c.is_connected() && s.is_connected() {
                break;
            }
        }
        // DTLS 1.3: the server's ACK of the client's last flight.
        while let Some(n) = s.poll_transmit(0, buf).unwrap() {
            c.handle_datagram(0, &buf[..n]).unwrap();
        }
        for e in [&mut c, &mut s] {
            let mut ok = false;
            while let Some(ev) = e.poll_event() {
                ok |= matches!(ev, Event::Connected(_));
            }
            assert!(ok, "ours: no Connected event");
        }
        (c, s)
    }
}

// --- dimpl -----------------------------------------------------------------------------------

struct Dimpl {
    version: Version,
    client: Arc<dimpl::Config>,
    server: Arc<dimpl::Config>,
    client_cert: DtlsCertificate,
    server_cert: DtlsCertificate,
    client_fp: Fingerprint,
    server_fp: Fingerprint,
    now: Instant,
}

impl Dimpl {
    fn new(cr: &Creds, v: Version, g: Group, cookie: bool, mtu: usize) -> Self {
        let (s12, s13): (&[Dtls12CipherSuite], &[Dtls13CipherSuite]) = match v {
            Version::V12 => (&[Dtls12CipherSuite::ECDHE_ECDSA_AES128_GCM_SHA256], &[]),
            Version::V13 => (&[], &[Dtls13CipherSuite::AES_128_GCM_SHA256]),
        };
        let cfg = |server: bool| {
            Arc::new(
                dimpl::Config::builder()
                    .mtu(mtu)
                    .kx_groups(g.dimpl())
                    .dtls12_cipher_suites(s12)
                    .dtls13_cipher_suites(s13)
                    .require_client_certificate(true)
                    .use_server_cookie(server && cookie)
                    .build()
                    .unwrap(),
            )
        };
        Dimpl {
            version: v,
            client: cfg(false),
            server: cfg(true),
            client_cert: dimpl_cert(&cr.client),
            server_cert: dimpl_cert(&cr.server),
            client_fp: cr.client.fingerprint(HashAlg::Sha256),
            server_fp: cr.server.fingerprint(HashAlg::Sha256),
            now: Instant::now(),
        }
    }

    /// Polls `from` until its cycle ends (`Timeout`), delivering packets to `to`; true if
    /// `from` reported Connected. The peer certificate is pinned as an application must.
    fn pump(from: &mut Dtls, to: &mut Dtls, fp: &Fingerprint, buf: &mut [u8]) -> bool {
        let mut connected = false;
        loop {
            match from.poll_output(buf) {
                Output::Packet(p) => to.handle_packet(p).expect("dimpl handle_packet"),
                Output::PeerCert(der) => assert!(fp.matches(der), "dimpl: fingerprint"),
                Output::Connected => connected = true,
                Output::Timeout(_) => return connected,
                _ => {}
            }
        }
    }

    fn handshake(&self, buf: &mut [u8]) -> (Dtls, Dtls) {
        let new = match self.version {
            Version::V12 => Dtls::new_12,
            Version::V13 => Dtls::new_13,
        };
        let mut c = new(self.client.clone(), self.client_cert.clone(), self.now);
        c.set_active(true);
        let mut s = new(self.server.clone(), self.server_cert.clone(), self.now);
        c.handle_timeout(self.now).unwrap();
        s.handle_timeout(self.now).unwrap();
        let (mut cd, mut sd) = (false, false);
        for _ in 0..16 {
            cd |= Self::pump(&mut c, &mut s, &self.server_fp, buf);
            sd |= Self::pump(&mut s, &mut c, &self.client_fp, buf);
            if cd && sd {
                break;
            }
        }
        assert!(cd && sd, "dimpl handshake did not complete");
        // DTLS 1.3: anything left (the server's ACK) is delivered too.
        Self::pump(&mut s, &mut c, &self.client_fp, buf);
        Self::pump(&mut c, &mut s, &self.server_fp, buf);
        if self.version == Version::V13 {
            assert_eq!(c.protocol_version(), Some(dimpl::ProtocolVersion::DTLS1_3));
        }
        (c, s)
    }
}

// --- measurements ----------------------------------------------------------------------------

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    s[s.len() / 2]
}

fn calibrate(target: f64, mut f: impl FnMut(usize) -> Duration) -> usize {
    f(2);
    let per = f(4).as_secs_f64() / 4.0;
    ((target / per.max(1e-9)) as usize).clamp(3, 1_000_000)
}

fn timed(n: usize, mut f: impl FnMut()) -> Duration {
    let t = cpu_time();
    for _ in 0..n {
        f();
    }
    cpu_time() - t
}

/// Record benchmark state for one stack: seal `batch` records, then open them.
trait Records {
    fn round(&mut self, payload: &[u8], batch: usize) -> (Duration, Duration);
}

struct OursRecords {
    c: Connection,
    s: Connection,
    wire: Vec<u8>,
    lens: Vec<usize>,
    out: Vec<u8>,
}

impl Records for OursRecords {
    fn round(&mut self, payload: &[u8], batch: usize) -> (Duration, Duration) {
        let t0 = cpu_time();
        for (slot, len) in self
            .wire
            .chunks_exact_mut(SLOT)
            .zip(self.lens.iter_mut())
            .take(batch)
        {
            self.c.send(payload).unwrap();
            *len = self.c.poll_transmit(0, slot).unwrap().unwrap();
        }
        let t1 = cpu_time();
        for (slot, len) in self
            .wire
            .chunks_exact(SLOT)
            .zip(self.lens.iter())
            .take(batch)
        {
            self.s.handle_datagram(0, &slot[..*len]).unwrap();
            let n = self.s.recv(&mut self.out).unwrap().unwrap();
            debug_assert_eq!(n, RECORD);
        }
        (t1 - t0, cpu_time() - t1)
    }
}

struct DimplRecords {
    c: Dtls,
    s: Dtls,
    wire: Vec<u8>,
    lens: Vec<usize>,
    out: Vec<u8>,
}

impl Records for DimplRecords {
    fn round(&mut self, payload: &[u8], batch: usize) -> (Duration, Duration) {
        let t0 = cpu_time();
        for (slot, len) in self
            .wire
            .chunks_exact_mut(SLOT)
            .zip(self.lens.iter_mut())
            .take(batch)
        {
            self.c.send_application_data(payload).unwrap();
            loop {
                match self.c.poll_output(slot) {
                    Output::Packet(p) => *len = p.len(),
                    Output::Timeout(_) => break,
                    _ => {}
                }
            }
        }
        let t1 = cpu_time();
        for (slot, len) in self
            .wire
            .chunks_exact(SLOT)
            .zip(self.lens.iter())
            .take(batch)
        {
            self.s.handle_packet(&slot[..*len]).unwrap();
            let mut got = 0;
            loop {
                match self.s.poll_output(&mut self.out) {
                    Output::ApplicationData(d) => got = d.len(),
                    Output::Timeout(_) => break,
                    _ => {}
                }
            }
            debug_assert_eq!(got, RECORD);
        }
        (t1 - t0, cpu_time() - t1)
    }
}

fn records_rate(r: &mut dyn Records, payload: &[u8], nb: usize, batch: usize) -> [f64; 3] {
    let (mut seal, mut open) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..nb {
        let (s, o) = r.round(payload, batch);
        seal += s;
        open += o;
    }
    let n = (nb * batch) as f64;
    [
        n / seal.as_secs_f64(),
        n / open.as_secs_f64(),
        n / (seal + open).as_secs_f64(),
    ]
}

/// Heap freed by dropping every element, per element: (Rust bytes, malloc in-use bytes).
fn per_item<T>(v: Vec<T>) -> (f64, f64) {
    let k = v.len() as f64;
    let storage = (v.capacity() * std::mem::size_of::<T>()) as i64;
    let (r0, m0) = heap();
    drop(v);
    let (r1, m1) = heap();
    (
        (r0 - r1 - storage) as f64 / k,
        (m0 - m1 - storage) as f64 / k,
    )
}

fn kib(b: f64) -> String {
    format!("{:.1} KiB", b / 1024.0)
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let versions: Vec<Version> = if std::env::args().any(|a| a == "--v12") {
        vec![Version::V12]
    } else if std::env::args().any(|a| a == "--v13") {
        vec![Version::V13]
    } else {
        vec![Version::V12, Version::V13]
    };
    let (rounds, target) = if quick { (3, 0.1) } else { (7, 0.3) };
    let cr = Creds {
        server: Certificate::generate("bench-server").unwrap(),
        client: Certificate::generate("bench-client").unwrap(),
    };
    println!("# dtls-proto vs dimpl 0.9 (same run, {rounds} rounds, CPU time, medians)");
    for v in versions {
        run(&cr, v, quick, rounds, target);
    }
}

fn run(cr: &Creds, ver: Version, quick: bool, rounds: usize, target: f64) {
    let mut buf = vec![0u8; 2048];
    println!(
        "\n### Handshakes: {}, mutual auth (ECDSA P-256, fingerprints), AES-128-GCM\n",
        ver.name()
    );
    println!("| scenario | ours hs/s | dimpl hs/s | ours/dimpl |");
    println!("| --- | ---: | ---: | ---: |");
    for g in [Group::P256, Group::X25519] {
        for cookie in [false, true] {
            let ours = Ours::new(cr, ver, g, cookie, 1200);
            let dim = Dimpl::new(cr, ver, g, cookie, 1200);
            let n_o = calibrate(target, |n| timed(n, || drop(ours.handshake(&mut buf))));
            let n_d = calibrate(target, |n| timed(n, || drop(dim.handshake(&mut buf))));
            let mut v: [Vec<f64>; 3] = Default::default();
            for _ in 0..rounds {
                let a = n_o as f64 / timed(n_o, || drop(ours.handshake(&mut buf))).as_secs_f64();
                let b = n_d as f64 / timed(n_d, || drop(dim.handshake(&mut buf))).as_secs_f64();
                v[0].push(a);
                v[1].push(b);
                v[2].push(a / b);
            }
            println!(
                "| {}, {} | {:.0} | {:.0} | {:.2} |",
                g.name(),
                if cookie { "cookie" } else { "no cookie" },
                median(&v[0]),
                median(&v[1]),
                median(&v[2])
            );
        }
    }

    // Records: 1200-byte payload, MTU 1500.
    let payload: Vec<u8> = (0..RECORD).map(|i| i as u8).collect();
    let batch = 256;
    let ours = Ours::new(cr, ver, Group::P256, false, 1500);
    let dim = Dimpl::new(cr, ver, Group::P256, false, 1500);
    let (c, s) = ours.handshake(&mut buf);
    let mut ro = OursRecords {
        c,
        s,
        wire: vec![0; batch * SLOT],
        lens: vec![0; batch],
        out: vec![0; 2048],
    };
    let (c, s) = dim.handshake(&mut buf);
    let mut rd = DimplRecords {
        c,
        s,
        wire: vec![0; batch * SLOT],
        lens: vec![0; batch],
        out: vec![0; 2048],
    };
    let nb_o = calibrate(target, |n| {
        (0..n)
            .map(|_| ro.round(&payload, batch))
            .fold(Duration::ZERO, |a, (x, y)| a + x + y)
    });
    let nb_d = calibrate(target, |n| {
        (0..n)
            .map(|_| rd.round(&payload, batch))
            .fold(Duration::ZERO, |a, (x, y)| a + x + y)
    });
    let mut v: [[Vec<f64>; 3]; 2] = Default::default();
    let mut ratio = Vec::new();
    for _ in 0..rounds {
        let a = records_rate(&mut ro, &payload, nb_o, batch);
        let b = records_rate(&mut rd, &payload, nb_d, batch);
        for j in 0..3 {
            v[0][j].push(a[j]);
            v[1][j].push(b[j]);
        }
        ratio.push(a[2] / b[2]);
    }
    println!(
        "\n### Application records ({}), 1200 B, AES-128-GCM\n",
        ver.name()
    );
    println!("| stack | seal rec/s | open rec/s | seal+open rec/s | Gbit/s (seal+open) |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    for (i, name) in ["ours", "dimpl"].iter().enumerate() {
        let m: Vec<f64> = v[i].iter().map(|x| median(x)).collect();
        println!(
            "| {name} | {:.0} | {:.0} | {:.0} | {:.2} |",
            m[0],
            m[1],
            m[2],
            m[2] * RECORD as f64 * 8.0 / 1e9
        );
    }
    println!("\nours/dimpl (seal+open): {:.2}", median(&ratio));

    // Allocations per record (Rust heap only; aws-lc's C allocations are not counted).
    let n = if quick { 2_000 } else { 20_000 };
    let count = |r: &mut dyn Records| {
        for _ in 0..64 {
            r.round(&payload, 1);
        }
        let a0 = ALLOCS.load(Relaxed);
        for _ in 0..n {
            r.round(&payload, 1);
        }
        (ALLOCS.load(Relaxed) - a0) as f64 / n as f64
    };
    let (ao, ad) = (count(&mut ro), count(&mut rd));
    drop((ro, rd));

    // Heap per established association.
    let k = if quick { 16 } else { 64 };
    let ours = Ours::new(cr, ver, Group::P256, false, 1200);
    let dim = Dimpl::new(cr, ver, Group::P256, false, 1200);
    drop(ours.handshake(&mut buf));
    drop(dim.handshake(&mut buf));
    let (cs, ss): (Vec<_>, Vec<_>) = (0..k)
        .map(|_| {
            let (c, s) = ours.handshake(&mut buf);
            (Box::new(c), Box::new(s))
        })
        .unzip();
    let (o_c, o_s) = (per_item(cs), per_item(ss));
    let (cs, ss): (Vec<_>, Vec<_>) = (0..k)
        .map(|_| {
            let (c, s) = dim.handshake(&mut buf);
            (Box::new(c), Box::new(s))
        })
        .unzip();
    let (d_c, d_s) = (per_item(cs), per_item(ss));
    println!(
        "\n### Heap per established association ({}, P-256), and allocations per record\n",
        ver.name()
    );
    println!("| figure | ours | dimpl |");
    println!("| --- | ---: | ---: |");
    println!("| server, Rust heap | {} | {} |", kib(o_s.0), kib(d_s.0));
    println!("| client, Rust heap | {} | {} |", kib(o_c.0), kib(d_c.0));
    println!(
        "| server, malloc in use (incl. C heap, allocator overhead) | {} | {} |",
        kib(o_s.1),
        kib(d_s.1)
    );
    println!(
        "| client, malloc in use (incl. C heap, allocator overhead) | {} | {} |",
        kib(o_c.1),
        kib(d_c.1)
    );
    println!("| allocations per record (seal+open, Rust heap) | {ao:.2} | {ad:.2} |");
}
