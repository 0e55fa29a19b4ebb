//! examples-c/srtp_keys.c (DTLS-SRTP setup shaped like a VoIP stack) and
//! examples-c/multi_server.c (many clients on one UDP socket) over real UDP on 127.0.0.1, built
//! with `-std=c11 -Wall -Wextra -Werror -pedantic` against the libdtls cargo built for this run:
//! against the shared library, statically linked under ASan+UBSan (leaks on), and under
//! valgrind memcheck (leaks are errors).
//!
//! srtp_keys: two instances (passive, and an answerer to an actpass offer) exchange their
//! `a=fingerprint` lines over stdin the way signalling would, pin each other and must print the
//! same SRTP profile, keys and salts; a wrong pin fails with DTLS_ERR_FINGERPRINT_MISMATCH; and
//! against `openssl s_server` / `s_client` the four keys and salts must equal OpenSSL's
//! `EXTRACTOR-dtls_srtp` export split per RFC 5764 §4.2.
//!
//! multi_server: several client.c processes at once (mutual authentication by pinned
//! fingerprints), each echoed its own line, plus STUN/RTP datagrams (RFC 7983), junk and a bare
//! ClientHello on the same socket (answered statelessly), and a client that vanishes (removed
//! when idle); a failed handshake makes the exit status 1.
//!
//! Every child process is killed when its handle drops and every wait is bounded.

mod common;
#[allow(dead_code)]
#[path = "../../tests/common/udp_peer.rs"]
mod udp_peer;

use common::*;
use std::io::{Read, Write};
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use udp_peer::{free_udp_port, parse_keying_material, Peer};

/// How long a native process gets to print what we wait for.
const WAIT: Duration = Duration::from_secs(10);
/// The same under valgrind, which runs the handshake (and key generation) many times slower.
const SLOW: Duration = Duration::from_secs(90);
/// The ChaCha20-Poly1305 suite of each version (the default negotiates DTLS 1.3).
const CHACHA: &str = "ECDHE-ECDSA-CHACHA20-POLY1305:TLS_CHACHA20_POLY1305_SHA256";

fn fixture(name: &str) -> String {
    root()
        .join("tests")
        .join("fixtures")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// Compiles examples-c/`name`.c with the strict flags plus `extra` into `dir`.
fn compile(name: &str, dir: &Path, extra: &[&str]) -> PathBuf {
    let exe = dir.join(name);
    let mut cc = Command::new("cc");
    cc.args(CFLAGS)
        .arg("-I")
        .arg(root().join("include"))
        .arg(root().join("examples-c").join(format!("{name}.c")))
        .arg("-o")
        .arg(&exe)
        .args(extra);
    run_ok(
        cc,
        &format!("cc {name}.c {extra:?}"),
        Duration::from_secs(120),
    );
    exe
}

/// The programs linked against the shared library (staged under its SONAME), built once.
struct Shared {
    srtp_keys: PathBuf,
    multi_server: PathBuf,
    client: PathBuf,
}

fn shared() -> &'static Shared {
    static BUILT: OnceLock<Shared> = OnceLock::new();
    BUILT.get_or_init(|| {
        let dir = scratch("voip-shared");
        stage_shared(&dir);
        let l = format!("-L{}", dir.display());
        let rpath = format!("-Wl,-rpath,{}", dir.display());
        let args = [l.as_str(), "-ldtls", rpath.as_str()];
        Shared {
            srtp_keys: compile("srtp_keys", &dir, &args),
            multi_server: compile("multi_server", &dir, &args),
            client: compile("client", &dir, &args),
        }
    })
}

/// `name` statically linked with libdtls.a under ASan+UBSan.
fn asan_build(name: &str) -> PathBuf {
    let dir = scratch(&format!("voip-asan-{name}"));
    let lib = lib_dir().join("libdtls.a");
    let mut extra = vec![
        "-fsanitize=address,undefined",
        "-fno-sanitize-recover=all",
        "-fno-omit-frame-pointer",
        "-g",
        lib.to_str().unwrap(),
    ];
    extra.extend_from_slice(STATIC_DEPS);
    compile(name, &dir, &extra)
}

const ASAN_ENV: [(&str, &str); 2] = [
    ("ASAN_OPTIONS", "detect_leaks=1:exitcode=23"),
    ("UBSAN_OPTIONS", "halt_on_error=1:print_stacktrace=1"),
];

/// True if valgrind can run; a loud skip locally, a failure in CI.
fn valgrind_available() -> bool {
    if have("valgrind") {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "valgrind is not installed (scripts/test.sh installs it)"
    );
    eprintln!("SKIPPED: valgrind is not installed");
    false
}

/// `valgrind <memcheck options> exe`, as a program and its leading arguments.
fn valgrind(exe: &Path) -> Vec<String> {
    let supp = root().join("examples-c").join("valgrind.supp");
    vec![
        "--error-exitcode=1".into(),
        "--leak-check=full".into(),
        "--errors-for-leak-kinds=definite,indirect".into(),
        format!("--suppressions={}", supp.display()),
        exe.display().to_string(),
    ]
}

/// How to start one example: the program, arguments before the example's own, environment,
/// and the patience every wait gets.
#[derive(Clone)]
struct Launcher {
    program: PathBuf,
    prefix: Vec<String>,
    env: Vec<(&'static str, &'static str)>,
    wait: Duration,
}

impl Launcher {
    fn native(exe: &Path) -> Launcher {
        Launcher {
            program: exe.to_path_buf(),
            prefix: Vec::new(),
            env: Vec::new(),
            wait: WAIT,
        }
    }
    fn asan(exe: &Path) -> Launcher {
        Launcher {
            env: ASAN_ENV.to_vec(),
            ..Launcher::native(exe)
        }
    }
    fn valgrind(exe: &Path) -> Launcher {
        Launcher {
            program: PathBuf::from("valgrind"),
            prefix: valgrind(exe),
            env: Vec::new(),
            wait: SLOW,
        }
    }
    fn spawn(&self, name: &str, args: &[&str]) -> Proc {
        let mut all: Vec<&str> = self.prefix.iter().map(String::as_str).collect();
        all.extend_from_slice(args);
        Proc::spawn(name, &self.program, &all, &self.env, self.wait)
    }
}

/// Appends what `r` yields to `sink` until EOF (the child's exit or kill).
fn collect(mut r: impl Read + Send + 'static, sink: Arc<Mutex<String>>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = r.read(&mut buf) {
            if n == 0 {
                break;
            }
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            // A poisoned lock only means another reader panicked; keep the text anyway.
            sink.lock()
                .unwrap_or_else(|p| p.into_inner())
                .push_str(&text);
        }
    })
}

/// A child process with stdin piped and stdout and stderr collected apart (srtp_keys keeps its
/// results on stdout), killed on drop.
struct Proc {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
    status: Option<ExitStatus>,
    wait: Duration,
}

impl Proc {
    fn spawn(
        name: &str,
        program: &Path,
        args: &[&str],
        env: &[(&str, &str)],
        wait: Duration,
    ) -> Proc {
        let mut child = Command::new(program)
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let readers = vec![
            collect(child.stdout.take().unwrap(), stdout.clone()),
            collect(child.stderr.take().unwrap(), stderr.clone()),
        ];
        Proc {
            name: name.to_string(),
            stdin: child.stdin.take(),
            child,
            stdout,
            stderr,
            readers,
            status: None,
            wait,
        }
    }

    fn stdout(&self) -> String {
        self.stdout
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn stderr(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn output(&self) -> String {
        format!(
            "--- stdout:\n{}--- stderr:\n{}",
            self.stdout(),
            self.stderr()
        )
    }

    /// Waits (bounded) until `found` holds for (stdout, stderr).
    fn expect_that(&self, what: &str, found: impl Fn(&str, &str) -> bool) {
        let end = Instant::now() + self.wait;
        while Instant::now() < end {
            if found(&self.stdout(), &self.stderr()) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!(
            "{} never printed {what}; its output:\n{}",
            self.name,
            self.output()
        );
    }

    /// Waits (bounded) until stdout or stderr contains `needle`.
    fn expect(&self, needle: &str) {
        self.expect_that(&format!("{needle:?}"), |o, e| {
            o.contains(needle) || e.contains(needle)
        });
    }

    /// The rest of the stdout line that starts with `prefix`, waiting for the whole line.
    fn line(&self, prefix: &str) -> String {
        let find = |out: &str| -> Option<String> {
            out.split_inclusive('\n')
                .filter(|l| l.ends_with('\n'))
                .find_map(|l| l.strip_prefix(prefix))
                .map(|rest| rest.trim().to_string())
        };
        self.expect_that(&format!("a line {prefix:?} on stdout"), |o, _| {
            find(o).is_some()
        });
        find(&self.stdout()).unwrap()
    }

    fn write(&mut self, data: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(data.as_bytes()).unwrap();
        stdin.flush().unwrap();
    }

    /// stdin EOF: the examples hang up with close_notify.
    fn close_stdin(&mut self) {
        self.stdin = None;
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        self.status = Some(self.child.wait().unwrap());
    }

    /// Waits (bounded) for the exit; its status, or a panic with the output.
    fn wait(&mut self) -> ExitStatus {
        let end = Instant::now() + self.wait;
        while self.status.is_none() && Instant::now() < end {
            self.status = self.child.try_wait().unwrap();
            std::thread::sleep(Duration::from_millis(10));
        }
        let status = self.status.unwrap_or_else(|| {
            panic!("{} did not exit; its output:\n{}", self.name, self.output())
        });
        for h in self.readers.drain(..) {
            let _ = h.join();
        }
        status
    }

    fn wait_success(&mut self) {
        let status = self.wait();
        assert!(
            status.success(),
            "{}: {status}\n{}",
            self.name,
            self.output()
        );
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.status.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn port() -> u16 {
    let p = free_udp_port();
    assert_ne!(p, 0, "no free UDP port");
    p
}

/// The SHA-256 fingerprint of a PEM certificate as openssl computes it, in SDP form.
fn openssl_fingerprint(cert: &str) -> String {
    let mut cmd = Command::new("openssl");
    cmd.args(["x509", "-noout", "-fingerprint", "-sha256", "-in", cert]);
    let out = run_ok(cmd, "openssl x509 -fingerprint", WAIT);
    let text = String::from_utf8(out.stdout).unwrap();
    let hex = text.trim().rsplit('=').next().unwrap().to_ascii_uppercase();
    format!("sha-256 {hex}")
}

/// A fingerprint that differs from `fp` in its last byte.
fn wrong(fp: &str) -> String {
    let (head, last) = fp.rsplit_once(':').unwrap();
    let flipped = u8::from_str_radix(last, 16).unwrap() ^ 0x01;
    format!("{head}:{flipped:02X}")
}

// ---------------------------------------------------------------------------------------------
// srtp_keys

/// What srtp_keys printed after the handshake.
#[derive(Debug, PartialEq, Eq)]
struct SrtpKeys {
    profile: String,
    client_key: String,
    server_key: String,
    client_salt: String,
    server_salt: String,
}

fn srtp_keys(p: &Proc) -> SrtpKeys {
    let k = SrtpKeys {
        profile: p.line("SRTP profile: "),
        client_key: p.line("client key: "),
        server_key: p.line("server key: "),
        client_salt: p.line("client salt: "),
        server_salt: p.line("server salt: "),
    };
    for hex in [&k.client_key, &k.server_key, &k.client_salt, &k.server_salt] {
        assert!(hex.chars().all(|c| c.is_ascii_hexdigit()), "{k:?}");
    }
    k
}

/// Splits an RFC 5764 §4.2 export (hex): client key | server key | client salt | server salt.
fn split_export(hex: &str, profile: &str, key: usize, salt: usize) -> SrtpKeys {
    assert_eq!(hex.len(), 4 * (key + salt), "{hex}");
    let (k, s) = (2 * key, 2 * salt);
    SrtpKeys {
        profile: profile.to_string(),
        client_key: hex[..k].to_string(),
        server_key: hex[k..2 * k].to_string(),
        client_salt: hex[2 * k..2 * k + s].to_string(),
        server_salt: hex[2 * k + s..].to_string(),
    }
}

/// The SDP lines a side printed (a=fingerprint, a=setup) followed by the empty line that ends
/// its "signalling" on the other side's stdin.
fn sdp(p: &Proc) -> String {
    let fp = p.line("a=fingerprint:");
    let setup = p.line("a=setup:");
    assert!(fp.starts_with("sha-256 ") && fp.len() == 8 + 95, "{fp:?}");
    format!("a=fingerprint:{fp}\na=setup:{setup}\n\n")
}

/// A call between two srtp_keys: the passive side, and the answerer to an actpass offer (which
/// RFC 8842 §5.3 makes active). Each learns the other's fingerprint from its SDP on stdin.
/// Both must agree on profile, keys and salts; the caller's hang-up ends both with status 0.
fn srtp_call(launch: &Launcher, extra: &[&str]) {
    let port = port();
    let addr = format!("127.0.0.1:{port}");
    let mut args = vec!["-setup", "passive", "-accept", &addr];
    args.extend_from_slice(extra);
    let mut passive = launch.spawn("srtp_keys (passive)", &args);
    passive.expect("Listening on 127.0.0.1:");
    let mut args = vec!["-remote-offer", "actpass", "-connect", &addr];
    args.extend_from_slice(extra);
    let mut active = launch.spawn("srtp_keys (answering actpass)", &args);
    assert_eq!(passive.line("a=setup:"), "passive");
    assert_eq!(active.line("a=setup:"), "active");
    active.expect("DTLS role: client");

    let (to_passive, to_active) = (sdp(&active), sdp(&passive));
    passive.write(&to_passive);
    active.write(&to_active);

    let (a, p) = (srtp_keys(&active), srtp_keys(&passive));
    assert_eq!(a, p, "the two sides derived different SRTP keys");
    // Both offered GCM first (the default): the server's preference picks it.
    assert_eq!(a.profile, "SRTP_AEAD_AES_128_GCM");
    assert_eq!((a.client_key.len(), a.client_salt.len()), (32, 24));
    assert_ne!(a.client_key, a.server_key);
    // Each side verified exactly the certificate the other announced.
    let fp_of = |sdp: &str| sdp.lines().next().unwrap()["a=fingerprint:".len()..].to_string();
    active.expect(&format!("Peer fingerprint: {}", fp_of(&to_active)));
    passive.expect(&format!("Peer fingerprint: {}", fp_of(&to_passive)));
    active.expect("We send SRTP with the client key");
    passive.expect("We send SRTP with the server key");

    active.close_stdin(); // hang up: close_notify
    active.wait_success();
    passive.expect("Peer sent close_notify");
    passive.wait_success();
}

#[test]
fn srtp_keys_two_instances_agree() {
    srtp_call(&Launcher::native(&shared().srtp_keys), &[]);
}

#[test]
fn srtp_keys_rejects_a_wrong_fingerprint() {
    let port = port();
    let addr = format!("127.0.0.1:{port}");
    let deadline = ["-hs_timeout", "2000"];
    let launch = Launcher::native(&shared().srtp_keys);
    let mut args = vec!["-setup", "passive", "-accept", &addr];
    args.extend_from_slice(&deadline);
    let mut passive = launch.spawn("srtp_keys (passive)", &args);
    let bad = wrong(&passive.line("a=fingerprint:"));
    // This side offered actpass and the answer said passive: it is the DTLS client.
    let mut args = vec![
        "-remote-answer",
        "passive",
        "-connect",
        &addr,
        "-fingerprint",
        &bad,
    ];
    args.extend_from_slice(&deadline);
    let mut active = launch.spawn("srtp_keys (offerer, wrong pin)", &args);
    assert_eq!(active.line("a=setup:"), "actpass");
    active.expect("DTLS role: client");
    passive.write(&sdp(&active));

    let status = active.wait();
    assert!(!status.success(), "{status}\n{}", active.output());
    active.expect("DTLS_ERR_FINGERPRINT_MISMATCH");
    assert!(
        !active.stdout().contains("client key"),
        "{}",
        active.output()
    );
    // The passive side never completes: the client's bad_certificate alert, sent under the
    // DTLS 1.3 handshake keys (the default), ends it (a DTLS 1.2 one would be plaintext and
    // ignored until the handshake deadline).
    let status = passive.wait();
    assert!(!status.success(), "{status}\n{}", passive.output());
    passive.expect("DTLS_ERR_ALERT_RECEIVED");
    assert!(!passive.stdout().contains("client key"));
}

const LABEL: &str = "EXTRACTOR-dtls_srtp";

/// srtp_keys (active) against `openssl s_server -use_srtp`: the keys and salts it prints are
/// OpenSSL's EXTRACTOR-dtls_srtp export, split per RFC 5764 §4.2 (16-byte keys, 14-byte salts).
#[test]
fn srtp_keys_active_vs_openssl_s_server() {
    let port = port();
    let (cert, key) = (fixture("selfsigned-a.crt"), fixture("selfsigned-a.key"));
    let args = udp_peer::openssl_s_server_args(
        port,
        Path::new(&cert),
        Path::new(&key),
        &[
            "-use_srtp",
            "SRTP_AES128_CM_SHA1_80",
            "-keymatexport",
            LABEL,
            "-keymatexportlen",
            "60",
        ],
    );
    let mut peer = Peer::spawn("openssl", &args);
    assert!(peer.wait_for("ACCEPT", WAIT), "{}", peer.output());

    let addr = format!("127.0.0.1:{port}");
    let fp = openssl_fingerprint(&cert);
    let mut ours = Launcher::native(&shared().srtp_keys).spawn(
        "srtp_keys (active)",
        &[
            "-setup",
            "active",
            "-connect",
            &addr,
            "-fingerprint",
            &fp,
            "-srtp",
            "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80",
        ],
    );
    let got = srtp_keys(&ours);
    assert!(peer.wait_for("Keying material:", WAIT), "{}", peer.output());
    let theirs = parse_keying_material(&peer.output()).unwrap();
    assert_eq!(
        got,
        split_export(&theirs, "SRTP_AES128_CM_SHA1_80", 16, 14),
        "OpenSSL exported:\n{}",
        peer.output()
    );
    assert!(peer
        .output()
        .contains("SRTP Extension negotiated, profile=SRTP_AES128_CM_SHA1_80"));
    ours.expect(&format!("Peer fingerprint: {fp}"));
    // Our hang-up; s_server (-naccept 1) ends after the connection.
    ours.close_stdin();
    ours.wait_success();
    wait_exit(&mut peer);
}

fn wait_exit(peer: &mut Peer) {
    let end = Instant::now() + WAIT;
    while !peer.exited() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(peer.exited(), "openssl did not exit:\n{}", peer.output());
}

/// srtp_keys (passive, requiring the client's pinned certificate) against `openssl s_client
/// -use_srtp SRTP_AEAD_AES_128_GCM`: 16-byte keys and 12-byte salts (RFC 7714 §14.2).
#[test]
fn srtp_keys_passive_vs_openssl_s_client() {
    let port = port();
    let addr = format!("127.0.0.1:{port}");
    let (cert, key) = (fixture("selfsigned-b.crt"), fixture("selfsigned-b.key"));
    let fp = openssl_fingerprint(&cert);
    let mut ours = Launcher::native(&shared().srtp_keys).spawn(
        "srtp_keys (passive)",
        &["-setup", "passive", "-accept", &addr, "-fingerprint", &fp],
    );
    ours.expect("Listening on");
    let args = udp_peer::openssl_s_client_args(
        port,
        &[
            "-cert",
            &cert,
            "-key",
            &key,
            "-use_srtp",
            "SRTP_AEAD_AES_128_GCM",
            "-keymatexport",
            LABEL,
            "-keymatexportlen",
            "56",
        ],
    );
    let mut peer = Peer::spawn("openssl", &args);
    let got = srtp_keys(&ours);
    assert!(peer.wait_for("Keying material:", WAIT), "{}", peer.output());
    let theirs = parse_keying_material(&peer.output()).unwrap();
    assert_eq!(
        got,
        split_export(&theirs, "SRTP_AEAD_AES_128_GCM", 16, 12),
        "OpenSSL exported:\n{}",
        peer.output()
    );
    ours.expect(&format!("Peer fingerprint: {fp}"));
    // Our hang-up; s_client (-ign_eof) ends on close_notify.
    ours.close_stdin();
    ours.wait_success();
    wait_exit(&mut peer);
}

#[test]
fn srtp_keys_under_asan_ubsan() {
    srtp_call(&Launcher::asan(&asan_build("srtp_keys")), &[]);
}

/// Both sides under valgrind, with ChaCha20-Poly1305: with AES-GCM memcheck flags the GCM tag
/// bytes at sendto as uninitialised, a false positive of ring's assembly (see
/// c_udp_interop.rs, c_client_vs_c_server_under_valgrind).
#[test]
fn srtp_keys_under_valgrind() {
    if !valgrind_available() {
        return;
    }
    srtp_call(
        &Launcher::valgrind(&shared().srtp_keys),
        &["-cipher", CHACHA],
    );
}

// ---------------------------------------------------------------------------------------------
// multi_server

/// The summary multi_server prints at exit, as numbers.
#[derive(Debug, PartialEq, Eq)]
struct Summary {
    ended: u64,
    closed: u64,
    failed: u64,
    idle: u64,
    hello_verify_requests: u64,
    dropped: u64,
    not_dtls: u64,
    full: u64,
}

fn summary(p: &Proc) -> Summary {
    let err = p.stderr();
    let line = err
        .lines()
        .find(|l| l.starts_with("sessions: "))
        .unwrap_or_else(|| panic!("no summary:\n{}", p.output()));
    let n: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    assert_eq!(n.len(), 8, "{line}");
    Summary {
        ended: n[0],
        closed: n[1],
        failed: n[2],
        idle: n[3],
        hello_verify_requests: n[4],
        dropped: n[5],
        not_dtls: n[6],
        full: n[7],
    }
}

/// A ClientHello without a cookie, made by libdtls in this process.
fn client_hello() -> Vec<u8> {
    use dtls::*;
    use std::ptr::{null, null_mut};
    let mut b = null_mut();
    let mut cfg = null();
    let mut ctx = null_mut();
    let mut buf = [0u8; 1500];
    let mut len = 0;
    // SAFETY: out-pointers and buffers are valid; every handle is freed once.
    unsafe {
        assert_eq!(dtls_config_builder_new(&mut b), DTLS_OK);
        assert_eq!(
            dtls_config_builder_set_peer_verification(b, DTLS_VERIFY_DANGEROUS_ACCEPT_ANY),
            DTLS_OK
        );
        assert_eq!(dtls_config_builder_build(b, &mut cfg), DTLS_OK);
        assert_eq!(
            dtls_ctx_new(cfg, DTLS_ROLE_CLIENT, null(), 0, &mut ctx),
            DTLS_OK
        );
        assert_eq!(
            dtls_poll_output(ctx, 0, buf.as_mut_ptr(), buf.len(), &mut len),
            DTLS_OK
        );
        dtls_ctx_free(ctx);
        dtls_config_free(cfg);
    }
    buf[..len].to_vec()
}

/// multi_server with `clients` client.c processes at once, each authenticated by its pinned
/// certificate and echoed its own line, plus one client that connects and is killed (the
/// server forgets it after `idle_ms`) and stray datagrams on the server's socket. Returns the
/// summary.
fn multi_echo(server: &Launcher, clients: usize, idle_ms: &str, extra: &[&str]) -> Summary {
    multi_echo_with(server, clients, idle_ms, extra, &[]).0
}

/// `multi_echo` with `client_extra` options for every client.c; also returns the server's
/// stderr and the clients' stderr.
fn multi_echo_with(
    server: &Launcher,
    clients: usize,
    idle_ms: &str,
    extra: &[&str],
    client_extra: &[&str],
) -> (Summary, String, Vec<String>) {
    let port = port();
    let addr = format!("127.0.0.1:{port}");
    let (cert, key) = (fixture("selfsigned-a.crt"), fixture("selfsigned-a.key"));
    let client_fp = openssl_fingerprint(&cert);
    let sessions = (clients + 1).to_string();
    let mut args = vec![
        "-accept",
        &addr,
        "-fingerprint",
        &client_fp,
        "-sessions",
        &sessions,
        "-idle_timeout",
        idle_ms,
    ];
    args.extend_from_slice(extra);
    let mut srv = server.spawn("multi_server", &args);
    srv.expect("Listening on 127.0.0.1:");
    let err = srv.stderr();
    let server_fp = err
        .lines()
        .find_map(|l| l.strip_prefix("Local fingerprint: "))
        .unwrap()
        .trim_end_matches(" (generated)")
        .to_string();

    // Strays on the same socket: STUN and RTP (not DTLS, RFC 7983), junk that looks like DTLS,
    // and a ClientHello without a cookie (offering 1.3 and 1.2, the default), which gets a
    // HelloRetryRequest (a ServerHello, handshake type 2) and no state.
    let stray = UdpSocket::bind("127.0.0.1:0").unwrap();
    stray.set_read_timeout(Some(server.wait)).unwrap();
    for d in [
        &[0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42][..],
        &[0x80, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 1][..],
        &[0x16, 0xfe, 0xfd, 0x00][..],
    ] {
        stray.send_to(d, &addr).unwrap();
    }
    stray.send_to(&client_hello(), &addr).unwrap();
    let mut hvr = [0u8; 512];
    let (n, _) = stray.recv_from(&mut hvr).expect("no HelloRetryRequest");
    assert!(n > 25 && hvr[0] == 22 && hvr[13] == 2, "{:?}", &hvr[..n]);

    let client = Launcher::native(&shared().client);
    let mut common = vec![
        "-connect",
        addr.as_str(),
        "-fingerprint",
        server_fp.as_str(),
        "-cert",
        cert.as_str(),
        "-key",
        key.as_str(),
    ];
    common.extend_from_slice(client_extra);
    // The one that vanishes: connected, then killed without close_notify.
    let mut vanishing = client.spawn("client (vanishing)", &common);
    vanishing.expect("Connected");
    vanishing.kill();

    // All at once. Each line waits in the pipe until its client has connected (client.c
    // reads stdin only then), so every client sends as soon as it can and none sits idle long
    // enough for the server's idle limit.
    let mut procs: Vec<Proc> = (0..clients)
        .map(|i| {
            let mut p = client.spawn(&format!("client {i}"), &common);
            p.write(&format!("line from client {i}\n"));
            p
        })
        .collect();
    for (i, p) in procs.iter_mut().enumerate() {
        // The echo of its own line, and nobody else's: the server keys by address.
        p.expect(&format!("line from client {i}\n"));
        assert_eq!(p.stdout(), format!("line from client {i}\n"));
        p.close_stdin();
    }
    for p in &mut procs {
        p.wait_success();
    }
    srv.wait_success();
    let s = summary(&srv);
    let err = srv.stderr();
    assert_eq!(err.matches(": connected, ").count(), clients + 1, "{err}");
    assert!(
        err.contains(&format!("idle for {idle_ms} ms, removed")),
        "{err}"
    );
    let client_errs = procs.iter().map(|p| p.stderr()).collect();
    (s, err, client_errs)
}

/// multi_server (both versions, the default) through its front door (dtls_front_door_admit):
/// DTLS 1.3-only clients get a HelloRetryRequest cookie and connect with 1.3, DTLS 1.2-only
/// clients a HelloVerifyRequest and connect with 1.2.
#[test]
fn multi_server_admits_dtls13_only_and_dtls12_only_clients() {
    let server = Launcher::native(&shared().multi_server);
    for (flag, want) in [("-dtls1_3", "DTLSv1.3"), ("-dtls1_2", "DTLSv1.2")] {
        let (s, _, clients) = multi_echo_with(&server, 2, "1500", &[], &[flag]);
        assert_eq!(
            (s.ended, s.closed, s.failed, s.idle),
            (3, 2, 0, 1),
            "{flag}: {s:?}"
        );
        assert!(s.hello_verify_requests >= 3, "{flag}: {s:?}");
        for err in clients {
            assert!(err.contains(&format!("Protocol: {want} ")), "{flag}: {err}");
        }
    }
}

#[test]
fn multi_server_echoes_many_clients() {
    let s = multi_echo(&Launcher::native(&shared().multi_server), 6, "1500", &[]);
    assert_eq!(
        (s.ended, s.closed, s.failed, s.idle, s.not_dtls, s.full),
        (7, 6, 0, 1, 2, 0),
        "{s:?}"
    );
    // One cookie reply per client plus the stray ClientHello (more if a retransmission
    // crossed one).
    assert!(s.hello_verify_requests >= 8, "{s:?}");
    assert!(s.dropped >= 1, "{s:?}");
}

/// A client that pins the wrong server fingerprint aborts; the server's side of it fails (on
/// the client's authenticated DTLS 1.3 alert) and is removed, and the exit status says a
/// session failed.
#[test]
fn multi_server_reports_a_failed_handshake() {
    let port = port();
    let addr = format!("127.0.0.1:{port}");
    let mut srv = Launcher::native(&shared().multi_server).spawn(
        "multi_server",
        &["-accept", &addr, "-sessions", "1", "-hs_timeout", "1500"],
    );
    srv.expect("Listening on");
    let err = srv.stderr();
    let fp = err
        .lines()
        .find_map(|l| l.strip_prefix("Local fingerprint: "))
        .unwrap()
        .trim_end_matches(" (generated)")
        .to_string();
    let mut c = Launcher::native(&shared().client).spawn(
        "client (wrong pin)",
        &["-connect", &addr, "-fingerprint", &wrong(&fp)],
    );
    assert!(!c.wait().success());
    c.expect("DTLS_ERR_FINGERPRINT_MISMATCH");
    let status = srv.wait();
    assert_eq!(status.code(), Some(1), "{}", srv.output());
    // DTLS 1.3 (the default): the client's alert is authenticated and ends the association
    // (with 1.2 the plaintext alert is ignored until the handshake deadline).
    srv.expect("failed: DTLS_ERR_ALERT_RECEIVED");
    let s = summary(&srv);
    assert_eq!((s.ended, s.closed, s.failed, s.idle), (1, 0, 1, 0), "{s:?}");
}

#[test]
fn multi_server_under_asan_ubsan() {
    let s = multi_echo(&Launcher::asan(&asan_build("multi_server")), 3, "1500", &[]);
    assert_eq!((s.ended, s.closed, s.failed, s.idle), (4, 3, 0, 1), "{s:?}");
}

/// The server under valgrind (ChaCha20-Poly1305, as for srtp_keys above), its clients native.
#[test]
fn multi_server_under_valgrind() {
    if !valgrind_available() {
        return;
    }
    let s = multi_echo(
        &Launcher::valgrind(&shared().multi_server),
        3,
        "5000",
        &["-cipher", CHACHA],
    );
    assert_eq!((s.ended, s.closed, s.failed, s.idle), (4, 3, 0, 1), "{s:?}");
}
