//! The DTLS 1.2 benchmark: our engine, OpenSSL 3 (in process, over memory) and ring's crypto
//! bound, measured in the same run, interleaved round by round, so that ratios stay
//! meaningful on a shared, noisy machine. See docs/performance.md for results.
//!
//! ```text
//! cargo bench --bench dtls                      # everything (one to two minutes)
//! cargo bench --bench dtls -- --quick           # fewer, shorter rounds
//! cargo bench --bench dtls -- hs records        # only some sections: hs records ffi mem
//! cargo bench --bench dtls -- --rounds 9
//! cargo bench --bench dtls -- --profile hs      # only ours, in a loop, for perf/callgrind:
//!                                               # hs | records | hold (K associations kept
//!                                               # alive to the end, for valgrind --tool=dhat)
//! ```
//!
//! Figures (numbering of issue 8):
//! 1. handshakes/s: DTLS 1.2, mutual authentication with ECDSA P-256 certificates pinned by
//!    fingerprint, ECDHE P-256 or X25519, AES-128-GCM, with and without the cookie exchange;
//!    plus server CPU per handshake (time spent inside server-side calls);
//! 2. the crypto bound: ring's keygen+agree, ECDSA sign and verify, one each per side;
//! 3. 1200-byte application records: seal, open, and both, next to ring's raw AES-GCM;
//! 4. heap per established association, 5. mid-handshake and per pending peer, 6. allocations
//!    per record and per handshake: in a child process with OpenSSL's allocator hooked;
//! 7. the same through the C ABI (dtls-ffi's extern "C" functions).
//!
//! Batches are timed in thread CPU time (time descheduled on a busy machine does not count).
//! Rates are medians over rounds; ratios are medians of per-round ratios (each round runs
//! every contender back to back, so a burst of load from elsewhere hits them alike).

mod support;

use std::time::Duration;
use support::bound::{Bound, Bound13, RawAead, RawAead13};
use support::ffi::{self, Ffi, FfiCookie};
use support::ossl::{self, Ossl};
use support::ours::{self, Cookie, Ours};
use support::report::{median, num, pct, ratio, us, Table};
use support::setup::{
    payload, Credentials, Group, Version, HANDSHAKE_MTU, RECORD, RECORD_MTU, SCENARIOS,
};

#[global_allocator]
static GLOBAL: support::alloc::Counting = support::alloc::Counting;

struct Opts {
    rounds: usize,
    /// Seconds per measurement (one contender, one round).
    target: f64,
    quick: bool,
    sections: Vec<String>,
    profile: Option<String>,
}

impl Opts {
    fn wants(&self, s: &str) -> bool {
        self.sections.is_empty() || self.sections.iter().any(|x| x == s)
    }
}

fn parse_args() -> (Opts, bool) {
    let mut o = Opts {
        rounds: 7,
        target: 0.3,
        quick: false,
        sections: Vec::new(),
        profile: None,
    };
    let mut child = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            // cargo bench passes --bench to harness = false targets.
            "--bench" => {}
            "--mem-child" => child = true,
            "--quick" => {
                o.quick = true;
                o.rounds = 3;
                o.target = 0.1;
            }
            "--profile" => o.profile = args.next(),
            "--rounds" => {
                o.rounds = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .expect("--rounds N");
            }
            s if ["hs", "hs13", "records", "ffi", "mem"].contains(&s) => o.sections.push(s.into()),
            s if s.starts_with('-') => {}
            s => panic!("unknown argument {s:?}: sections are hs, hs13, records, ffi, mem"),
        }
    }
    (o, child)
}

/// Number of iterations of `f` (which runs `n` operations) that takes about `target` seconds.
fn calibrate(target: f64, mut f: impl FnMut(usize) -> Duration) -> usize {
    f(2);
    let probe = 4;
    let per = f(probe).as_secs_f64() / probe as f64;
    ((target / per.max(1e-9)) as usize).clamp(3, 1_000_000)
}

fn shell(cmd: &str, args: &[&str]) -> String {
    std::process::Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

fn header(o: &Opts) {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("# dtls-proto benchmark");
    println!();
    println!("- date: {}", shell("date", &["-u", "+%Y-%m-%d %H:%M UTC"]));
    println!("- machine: {model}, {cores} cores (nproc), shared with other jobs");
    println!(
        "- dtls-proto {}, {}",
        env!("CARGO_PKG_VERSION"),
        openssl::version::version()
    );
    println!(
        "- {} rounds, ~{:.2} s per contender per round; single thread, client and server in one process, datagrams in memory",
        o.rounds, o.target
    );
}

fn handshakes(o: &Opts, creds: &Credentials) {
    let bound = Bound::new();
    let mut main = Table::new(
        "Handshakes: DTLS 1.2, mutual auth (ECDSA P-256 certs, SHA-256 fingerprints), AES-128-GCM",
        &[
            "scenario",
            "ours hs/s",
            "OpenSSL hs/s",
            "ours/OpenSSL",
            "crypto bound hs/s",
            "ours/bound",
            "ours server µs/hs",
            "OpenSSL server µs/hs",
            "bound µs/side",
        ],
    );
    let mut ops = Table::new(
        "Crypto bound (ring, same run): one side = keygen+agree + ECDSA sign + ECDSA verify",
        &[
            "scenario",
            "kx µs (rate)",
            "sign µs (rate)",
            "verify µs (rate)",
            "µs/side",
            "bound hs/s (2 sides, 1 core)",
        ],
    );
    for sc in SCENARIOS {
        let cookie = if sc.cookie {
            Cookie::FrontDoor
        } else {
            Cookie::Off
        };
        let ours = Ours::new(creds, Some(sc.group), cookie, HANDSHAKE_MTU);
        let ossl = Ossl::new(creds, sc.group, sc.cookie, HANDSHAKE_MTU);
        check_group(&ours, &ossl, sc.group);
        let n_ours = calibrate(o.target, |n| ours.handshakes(n).cpu);
        let n_ossl = calibrate(o.target, |n| ossl.handshakes(n).cpu);
        let n_bound = calibrate(o.target / 3.0, |n| {
            let p = bound.measure(sc.group, n);
            p.per_side() * n as u32
        });
        let mut v: [Vec<f64>; 11] = Default::default();
        for _ in 0..o.rounds {
            let a = ours.handshakes(n_ours);
            let b = ossl.handshakes(n_ossl);
            let c = bound.measure(sc.group, n_bound);
            let r_bound = c.handshakes_per_sec();
            let us_of = |d: Duration| d.as_secs_f64() * 1e6;
            for (i, x) in [
                a.per_sec(),
                b.per_sec(),
                a.per_sec() / b.per_sec(),
                r_bound,
                a.per_sec() / r_bound,
                a.server_us(),
                b.server_us(),
                us_of(c.per_side()),
                us_of(c.kx),
                us_of(c.sign),
                us_of(c.verify),
            ]
            .into_iter()
            .enumerate()
            {
                v[i].push(x);
            }
        }
        let m: Vec<f64> = v.iter().map(|s| median(s)).collect();
        main.row(vec![
            sc.name(),
            num(m[0]),
            num(m[1]),
            ratio(m[2]),
            num(m[3]),
            pct(m[4]),
            us(m[5]),
            us(m[6]),
            us(m[7]),
        ]);
        let rate = |x: f64| format!("{} ({}/s)", us(x), num(1e6 / x));
        ops.row(vec![
            sc.name(),
            rate(m[8]),
            rate(m[9]),
            rate(m[10]),
            us(m[7]),
            num(m[3]),
        ]);
    }
    main.print();
    ops.print();
}

/// DTLS 1.3 handshakes next to 1.2 (same group, same certificates, AES-128-GCM/SHA-256
/// suite of each version) and next to the 1.3 crypto bound, interleaved round by round; the
/// X25519MLKEM768 hybrid in rows of its own (1.3 only). Cookie rows: 1.2 uses the front door
/// (HelloVerifyRequest), 1.3 the server's HelloRetryRequest with a cookie (one more round trip).
fn handshakes13(o: &Opts, creds: &Credentials) {
    let probe = Ours::with_version(
        creds,
        Version::V13,
        Some(Group::P256),
        Cookie::Off,
        HANDSHAKE_MTU,
    );
    let shape = probe.shape13();
    let mut bound = Bound13::new(shape.clone());
    let mut main = Table::new(
        "Handshakes: DTLS 1.3 next to 1.2, mutual auth (ECDSA P-256 certs, SHA-256 fingerprints), AES-128-GCM",
        &[
            "scenario",
            "1.3 hs/s",
            "1.2 hs/s",
            "1.3/1.2",
            "1.3 crypto bound hs/s",
            "1.3/bound",
            "1.3 server µs/hs",
            "1.2 server µs/hs",
            "bound µs/hs",
        ],
    );
    let mut ops = Table::new(
        "DTLS 1.3 crypto bound (ring + ml-kem, same run), µs per handshake part",
        &[
            "scenario",
            "kx, both sides",
            "sign",
            "verify",
            "key schedule / side",
            "record keys / side",
            "handshake records",
            "total µs/hs",
            "bound hs/s",
        ],
    );
    let scenarios = [
        (Group::P256, false),
        (Group::P256, true),
        (Group::X25519, false),
        (Group::X25519, true),
        (Group::Hybrid, false),
        (Group::Hybrid, true),
    ];
    for (group, cookie) in scenarios {
        let name = format!(
            "{}, {}",
            group.name(),
            if cookie { "cookie" } else { "no cookie" }
        );
        let c13 = if cookie {
            Cookie::InConnection
        } else {
            Cookie::Off
        };
        let c12 = if cookie {
            Cookie::FrontDoor
        } else {
            Cookie::Off
        };
        let v13 = Ours::with_version(creds, Version::V13, Some(group), c13, HANDSHAKE_MTU);
        let v12 =
            (group != Group::Hybrid).then(|| Ours::new(creds, Some(group), c12, HANDSHAKE_MTU));
        {
            let mut buf = vec![0u8; 2048];
            let p = v13.handshake(&mut buf, &mut Default::default());
            for c in [&p.client, &p.server] {
                let n = c.negotiated().expect("negotiated");
                assert_eq!(n.version, dtls_proto::ProtocolVersion::Dtls13);
                assert_eq!(n.group, group.groups()[0], "1.3 group");
            }
            assert_eq!(p.client.next_timeout(), None, "1.3 client waits for an ACK");
        }
        let n13 = calibrate(o.target, |n| v13.handshakes(n).cpu);
        let n12 = v12
            .as_ref()
            .map(|v| calibrate(o.target, |n| v.handshakes(n).cpu));
        let n_bound = calibrate(o.target / 3.0, |n| {
            bound.measure(group, n).total() * n as u32
        });
        let mut v: [Vec<f64>; 14] = Default::default();
        for _ in 0..o.rounds {
            let a = v13.handshakes(n13);
            let b = v12.as_ref().zip(n12).map(|(v, n)| v.handshakes(n));
            let c = bound.measure(group, n_bound);
            let us_of = |d: Duration| d.as_secs_f64() * 1e6;
            let rb = c.handshakes_per_sec();
            let (b_rate, b_server) =
                b.map_or((f64::NAN, f64::NAN), |b| (b.per_sec(), b.server_us()));
            for (i, x) in [
                a.per_sec(),
                b_rate,
                a.per_sec() / b_rate,
                rb,
                a.per_sec() / rb,
                a.server_us(),
                b_server,
                us_of(c.total()),
                us_of(c.kx),
                us_of(c.sign),
                us_of(c.verify),
                us_of(c.schedule),
                us_of(c.keys),
                us_of(c.records),
            ]
            .into_iter()
            .enumerate()
            {
                v[i].push(x);
            }
        }
        let m: Vec<f64> = v.iter().map(|s| median(s)).collect();
        main.row(vec![
            name.clone(),
            num(m[0]),
            num(m[1]),
            ratio(m[2]),
            num(m[3]),
            pct(m[4]),
            us(m[5]),
            us(m[6]),
            us(m[7]),
        ]);
        ops.row(vec![
            name,
            us(m[8]),
            us(m[9]),
            us(m[10]),
            us(m[11]),
            us(m[12]),
            format!("{} ({} records)", us(m[13]), bound.shape().protected.len()),
            us(m[7]),
            num(m[3]),
        ]);
    }
    main.print();
    ops.print();
    println!(
        "\nThe bound's handshake: {} protected records ({} B of ciphertext), ~{} B of transcript \
         (from one of our P-256 handshakes). Cookie rows use the same bound (the cookie's HMAC \
         and the second ClientHello's hashing are not counted).",
        shape.protected.len(),
        shape.protected.iter().sum::<usize>(),
        shape.transcript_len
    );
}

/// Makes sure both stacks negotiate the scenario's group (and not a fallback).
fn check_group(ours: &Ours, ossl: &Ossl, g: Group) {
    let mut buf = vec![0u8; 2048];
    let p = ours.handshake(&mut buf, &mut Default::default());
    for c in [&p.client, &p.server] {
        assert_eq!(c.negotiated().map(|n| n.group), Some(g.groups()[0]), "ours");
    }
    let (c, s) = ossl.handshake(&mut Default::default());
    let nid = match g {
        Group::P256 => 415,
        Group::X25519 => 1034,
        Group::Hybrid => unreachable!("OpenSSL 3.0 has no DTLS 1.3"),
    };
    for e in [&c, &s] {
        assert_eq!(ossl::negotiated_group_nid(e), nid, "OpenSSL");
    }
}

/// Seal+open rates of one contender over `nb` batches: (seal/s, open/s, both/s).
fn rates(nb: usize, batch: usize, mut f: impl FnMut() -> (Duration, Duration)) -> [f64; 3] {
    let (mut seal, mut open) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..nb {
        let (s, o) = f();
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

fn records(o: &Opts, creds: &Credentials) {
    let batch = 256;
    let data = payload();
    let mut raw = RawAead::new(batch);
    let mut raw13 = RawAead13::new(batch);
    let mut r_ours = ours::Records::new(
        &Ours::new(creds, Some(Group::P256), Cookie::Off, RECORD_MTU),
        batch,
    );
    let mut r_ours13 = ours::Records::new(
        &Ours::with_version(
            creds,
            Version::V13,
            Some(Group::P256),
            Cookie::Off,
            RECORD_MTU,
        ),
        batch,
    );
    let mut r_ossl = ossl::Records::new(&Ossl::new(creds, Group::P256, false, RECORD_MTU), batch);
    let cal = |f: &mut dyn FnMut() -> (Duration, Duration)| {
        calibrate(o.target, |n| {
            (0..n)
                .map(|_| f())
                .fold(Duration::ZERO, |a, (s, o)| a + s + o)
        })
    };
    let nb_raw = cal(&mut || raw.round(batch));
    let nb_raw13 = cal(&mut || raw13.round(batch));
    let nb_ours = cal(&mut || r_ours.round(&data, batch));
    let nb_zero = cal(&mut || r_ours.round_zero_copy(&data, batch));
    let nb_ours13 = cal(&mut || r_ours13.round(&data, batch));
    let nb_zero13 = cal(&mut || r_ours13.round_zero_copy(&data, batch));
    let nb_ossl = cal(&mut || r_ossl.round(&data, batch));
    // [contender][seal, open, both, both / ring's both of the same version, both / ours 1.2
    // of the same API]
    let mut v: [[Vec<f64>; 5]; 7] = Default::default();
    for _ in 0..o.rounds {
        let raw_r = rates(nb_raw, batch, || raw.round(batch));
        let raw13_r = rates(nb_raw13, batch, || raw13.round(batch));
        let ours_r = rates(nb_ours, batch, || r_ours.round(&data, batch));
        let zero_r = rates(nb_zero, batch, || r_ours.round_zero_copy(&data, batch));
        let ours13_r = rates(nb_ours13, batch, || r_ours13.round(&data, batch));
        let zero13_r = rates(nb_zero13, batch, || r_ours13.round_zero_copy(&data, batch));
        let ossl_r = rates(nb_ossl, batch, || r_ossl.round(&data, batch));
        for (i, (r, floor, v12)) in [
            (raw_r, raw_r, raw_r),
            (ours_r, raw_r, ours_r),
            (zero_r, raw_r, zero_r),
            (ossl_r, raw_r, ossl_r),
            (raw13_r, raw13_r, raw_r),
            (ours13_r, raw13_r, ours_r),
            (zero13_r, raw13_r, zero_r),
        ]
        .into_iter()
        .enumerate()
        {
            for j in 0..3 {
                v[i][j].push(r[j]);
            }
            v[i][3].push(r[2] / floor[2]);
            v[i][4].push(r[2] / v12[2]);
        }
    }
    let mut t = Table::new(
        "Application records: 1200 B payload, AES-128-GCM (ours: seal = send + poll_transmit, open = handle_datagram + recv; ours zero-copy: seal_into, open_in_place). 1.3 floor: ring's AEAD + record number mask (quic::HeaderProtectionKey) per record",
        &[
            "stack",
            "seal rec/s",
            "open rec/s",
            "seal+open rec/s",
            "Gbit/s seal / open / both",
            "ns per seal+open",
            "vs ring raw of its version (seal+open)",
            "1.3 / 1.2 (same API)",
        ],
    );
    let gbit = |r: f64| r * RECORD as f64 * 8.0 / 1e9;
    for (i, name) in [
        "DTLS 1.2: ring raw AEAD (floor)",
        "DTLS 1.2: ours",
        "DTLS 1.2: ours zero-copy",
        "DTLS 1.2: OpenSSL",
        "DTLS 1.3: ring raw AEAD + record number mask (floor)",
        "DTLS 1.3: ours",
        "DTLS 1.3: ours zero-copy",
    ]
    .iter()
    .enumerate()
    {
        let m: Vec<f64> = v[i].iter().map(|s| median(s)).collect();
        t.row(vec![
            name.to_string(),
            num(m[0]),
            num(m[1]),
            num(m[2]),
            format!("{:.2} / {:.2} / {:.2}", gbit(m[0]), gbit(m[1]), gbit(m[2])),
            format!("{:.0}", 1e9 / m[2]),
            pct(m[3]),
            if i >= 4 { ratio(m[4]) } else { "-".into() },
        ]);
    }
    t.print();
}

fn ffi_section(o: &Opts, creds: &Credentials) {
    let mut t = Table::new(
        "C ABI vs Rust API (same configuration: default groups, so X25519; records 1200 B)",
        &["figure", "native", "C ABI", "C ABI / native"],
    );
    for (native_cookie, c_cookie, name) in [
        (Cookie::Off, FfiCookie::Off, "no cookie"),
        (
            Cookie::FrontDoor,
            FfiCookie::FrontDoor,
            "cookie, front door",
        ),
    ] {
        let native = Ours::new(creds, None, native_cookie, HANDSHAKE_MTU);
        let c_abi = Ffi::new(creds, c_cookie, HANDSHAKE_MTU);
        let n_native = calibrate(o.target, |n| native.handshakes(n).cpu);
        let n_ffi = calibrate(o.target, |n| c_abi.handshakes(n).cpu);
        let mut v: [Vec<f64>; 6] = Default::default();
        for _ in 0..o.rounds {
            let a = native.handshakes(n_native);
            let b = c_abi.handshakes(n_ffi);
            let (ra, rb, sa, sb) = (a.per_sec(), b.per_sec(), a.server_us(), b.server_us());
            for (i, x) in [ra, rb, rb / ra, sa, sb, sb / sa].into_iter().enumerate() {
                v[i].push(x);
            }
        }
        let m: Vec<f64> = v.iter().map(|s| median(s)).collect();
        t.row(vec![
            format!("handshakes/s ({name})"),
            num(m[0]),
            num(m[1]),
            ratio(m[2]),
        ]);
        t.row(vec![
            format!("server µs/handshake ({name})"),
            us(m[3]),
            us(m[4]),
            ratio(m[5]),
        ]);
    }
    let batch = 256;
    let data = payload();
    let mut a = ours::Records::new(&Ours::new(creds, None, Cookie::Off, RECORD_MTU), batch);
    let mut b = ffi::Records::new(&Ffi::new(creds, FfiCookie::Off, RECORD_MTU), batch);
    let nb = calibrate(o.target, |n| {
        (0..n)
            .map(|_| a.round(&data, batch))
            .fold(Duration::ZERO, |acc, (s, o)| acc + s + o)
    });
    let mut v: [Vec<f64>; 9] = Default::default();
    for _ in 0..o.rounds {
        let ra = rates(nb, batch, || a.round(&data, batch));
        let rb = rates(nb, batch, || b.round(&data, batch));
        for j in 0..3 {
            v[3 * j].push(ra[j]);
            v[3 * j + 1].push(rb[j]);
            v[3 * j + 2].push(rb[j] / ra[j]);
        }
    }
    let m: Vec<f64> = v.iter().map(|s| median(s)).collect();
    for (j, name) in ["seal rec/s", "open rec/s", "seal+open rec/s"]
        .iter()
        .enumerate()
    {
        t.row(vec![
            name.to_string(),
            num(m[3 * j]),
            num(m[3 * j + 1]),
            ratio(m[3 * j + 2]),
        ]);
    }
    t.print();
    ffi_vs_openssl(o, creds);
}

/// The C ABI's queued record path (`dtls_send` + `dtls_poll_output`, `dtls_feed` +
/// `dtls_recv`) in 1.2 and 1.3 next to OpenSSL 3.0's DTLS 1.2 (`SSL_write`, `SSL_read`; it has
/// no DTLS 1.3) in the same rounds: 1200-byte records, P-256 handshake, AES-128-GCM.
fn ffi_vs_openssl(o: &Opts, creds: &Credentials) {
    let batch = 256;
    let data = payload();
    let mut c12 = ffi::Records::new(
        &Ffi::with_version(creds, Version::V12, FfiCookie::Off, RECORD_MTU),
        batch,
    );
    let mut c13 = ffi::Records::new(
        &Ffi::with_version(creds, Version::V13, FfiCookie::Off, RECORD_MTU),
        batch,
    );
    let mut r_ossl = ossl::Records::new(&Ossl::new(creds, Group::X25519, false, RECORD_MTU), batch);
    let cal = |f: &mut dyn FnMut() -> (Duration, Duration)| {
        calibrate(o.target, |n| {
            (0..n)
                .map(|_| f())
                .fold(Duration::ZERO, |a, (s, o)| a + s + o)
        })
    };
    let n12 = cal(&mut || c12.round(&data, batch));
    let n13 = cal(&mut || c13.round(&data, batch));
    let z12 = cal(&mut || c12.round_zero_copy(&data, batch));
    let z13 = cal(&mut || c13.round_zero_copy(&data, batch));
    let n_ossl = cal(&mut || r_ossl.round(&data, batch));
    // [contender][seal, open, both, both / OpenSSL's]
    let mut v: [[Vec<f64>; 4]; 5] = Default::default();
    for _ in 0..o.rounds {
        let a = rates(n12, batch, || c12.round(&data, batch));
        let b = rates(n13, batch, || c13.round(&data, batch));
        let d = rates(z12, batch, || c12.round_zero_copy(&data, batch));
        let e = rates(z13, batch, || c13.round_zero_copy(&data, batch));
        let c = rates(n_ossl, batch, || r_ossl.round(&data, batch));
        for (i, r) in [a, b, d, e, c].into_iter().enumerate() {
            for j in 0..3 {
                v[i][j].push(r[j]);
            }
            v[i][3].push(r[2] / c[2]);
        }
    }
    let mut t = Table::new(
        "C ABI records (queued: dtls_send + dtls_poll_output, dtls_feed + dtls_recv) vs OpenSSL 3.0 (SSL_write, SSL_read; DTLS 1.2 only), 1200 B, AES-128-GCM",
        &[
            "stack",
            "seal rec/s",
            "open rec/s",
            "seal+open rec/s",
            "ns per seal+open",
            "vs OpenSSL DTLS 1.2 (target >= 2.5)",
        ],
    );
    for (i, name) in [
        "C ABI queued, DTLS 1.2",
        "C ABI queued, DTLS 1.3",
        "C ABI zero-copy (dtls_seal_into, dtls_open_in_place), DTLS 1.2",
        "C ABI zero-copy (dtls_seal_into, dtls_open_in_place), DTLS 1.3",
        "OpenSSL, DTLS 1.2",
    ]
    .iter()
    .enumerate()
    {
        let m: Vec<f64> = v[i].iter().map(|s| median(s)).collect();
        t.row(vec![
            name.to_string(),
            num(m[0]),
            num(m[1]),
            num(m[2]),
            format!("{:.0}", 1e9 / m[2]),
            ratio(m[3]),
        ]);
    }
    t.print();
}

/// A steady loop over one of our code paths, for a profiler (`perf record`, `valgrind
/// --tool=callgrind`), or associations held to the end for `valgrind --tool=dhat`.
fn profile(what: &str, creds: &Credentials) {
    let secs = std::env::var("PROFILE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5.0);
    let until = std::time::Instant::now() + Duration::from_secs_f64(secs);
    match what {
        "hs" => {
            let ours = Ours::new(creds, Some(Group::P256), Cookie::Off, HANDSHAKE_MTU);
            let mut n = 0;
            while std::time::Instant::now() < until {
                n += ours.handshakes(50).n;
            }
            println!("{n} handshakes");
        }
        "records" => {
            let data = payload();
            let ours = Ours::new(creds, Some(Group::P256), Cookie::Off, RECORD_MTU);
            let mut r = ours::Records::new(&ours, 256);
            let mut n = 0;
            while std::time::Instant::now() < until {
                r.round(&data, 256);
                n += 256;
            }
            println!("{n} records");
        }
        "hold" => {
            let ours = Ours::new(creds, Some(Group::P256), Cookie::Off, HANDSHAKE_MTU);
            let mut buf = vec![0u8; 2048];
            let pairs: Vec<_> = (0..100)
                .map(|_| ours.handshake(&mut buf, &mut Default::default()))
                .collect();
            println!("holding {} established pairs", pairs.len());
            std::mem::forget(pairs);
        }
        "hs13" | "hs13-hybrid" => {
            let g = if what == "hs13" {
                Group::P256
            } else {
                Group::Hybrid
            };
            let ours = Ours::with_version(creds, Version::V13, Some(g), Cookie::Off, HANDSHAKE_MTU);
            let mut n = 0;
            while std::time::Instant::now() < until {
                n += ours.handshakes(50).n;
            }
            println!("{n} handshakes");
        }
        "records13" | "records13-zc" => {
            let data = payload();
            let ours = Ours::with_version(
                creds,
                Version::V13,
                Some(Group::P256),
                Cookie::Off,
                RECORD_MTU,
            );
            let mut r = ours::Records::new(&ours, 256);
            let mut n = 0;
            while std::time::Instant::now() < until {
                if what == "records13" {
                    r.round(&data, 256);
                } else {
                    r.round_zero_copy(&data, 256);
                }
                n += 256;
            }
            println!("{n} records");
        }
        "hold13" => {
            let ours = Ours::with_version(
                creds,
                Version::V13,
                Some(Group::P256),
                Cookie::Off,
                HANDSHAKE_MTU,
            );
            let mut buf = vec![0u8; 2048];
            let pairs: Vec<_> = (0..100)
                .map(|_| ours.handshake(&mut buf, &mut Default::default()))
                .collect();
            println!("holding {} established 1.3 pairs", pairs.len());
            std::mem::forget(pairs);
        }
        other => panic!(
            "--profile {other:?}: hs, records, hold, hs13, hs13-hybrid, records13, records13-zc, hold13"
        ),
    }
}

fn main() {
    let (o, child) = parse_args();
    if child {
        // Before OpenSSL allocates anything.
        assert!(
            support::alloc::hook_openssl(),
            "CRYPTO_set_mem_functions refused"
        );
        support::mem::run(o.quick);
        return;
    }
    let creds = Credentials::generate();
    if let Some(what) = &o.profile {
        profile(what, &creds);
        return;
    }
    header(&o);
    if o.wants("hs") {
        handshakes(&o, &creds);
    }
    if o.wants("hs13") {
        handshakes13(&o, &creds);
    }
    if o.wants("records") {
        records(&o, &creds);
    }
    if o.wants("ffi") {
        ffi_section(&o, &creds);
    }
    if o.wants("mem") {
        use std::io::Write;
        std::io::stdout().flush().ok();
        let exe = std::env::current_exe().expect("own path");
        let mut cmd = std::process::Command::new(exe);
        cmd.arg("--mem-child");
        if o.quick {
            cmd.arg("--quick");
        }
        let status = cmd.status().expect("spawn the memory child");
        assert!(status.success(), "memory child failed: {status}");
    }
}
