//! Figures 4, 5, 6 and the memory half of 7: live heap per association at each stage, per
//! pending peer at the front door, allocations per record and per handshake.
//!
//! Runs in a child process (`--mem-child`) whose first act is to route OpenSSL's allocator
//! through the counting one: the timed runs in the parent keep OpenSSL on plain malloc.
//!
//! Per-association bytes are measured by dropping: build `k` pairs, drop all servers (the
//! live-heap drop is what they held), then all clients. Associations are boxed so that
//! the object itself counts, as it would in a server's map of associations.

use super::alloc::snapshot;
use super::ffi::{self, Ffi, FfiCookie};
use super::ossl::{self, Ossl};
use super::ours::{self, Cookie, Ours, Pair, ServerCost};
use super::report::{kib, num, ratio, Table};
use super::setup::{payload, Arena, Credentials, Group, Version, HANDSHAKE_MTU, RECORD_MTU};
use dtls_proto::{Connection, Role, ServerFrontDoor, Verdict};

/// Live bytes each element held: drop them all and see how much heap comes back.
fn per_item<T>(v: Vec<T>) -> f64 {
    let k = v.len().max(1);
    let storage = v.capacity() * std::mem::size_of::<T>();
    let s0 = snapshot();
    drop(v);
    let (freed, _, _) = snapshot().since(&s0);
    (-freed - storage as i64) as f64 / k as f64
}

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

extern "C" {
    // glibc >= 2.33.
    fn mallinfo2() -> Mallinfo2;
}

/// Bytes glibc's malloc has in use (allocator overhead included).
fn malloc_in_use() -> i64 {
    // SAFETY: a plain query of allocator statistics.
    let m = unsafe { mallinfo2() };
    (m.uordblks + m.hblkhd) as i64
}

/// As `per_item`, also seen by glibc (`mallinfo2`): (counted bytes, malloc bytes in use).
fn per_item_malloc<T>(v: Vec<T>) -> (f64, f64) {
    let k = v.len().max(1);
    let storage = (v.capacity() * std::mem::size_of::<T>()) as i64;
    let (s0, m0) = (snapshot(), malloc_in_use());
    drop(v);
    let (freed, _, _) = snapshot().since(&s0);
    let m1 = malloc_in_use();
    (
        (-freed - storage) as f64 / k as f64,
        (m0 - m1 - storage) as f64 / k as f64,
    )
}

fn split_pairs(pairs: Vec<Pair>) -> (f64, f64) {
    let (mut cs, mut ss) = (
        Vec::with_capacity(pairs.len()),
        Vec::with_capacity(pairs.len()),
    );
    for p in pairs {
        cs.push(Box::new(p.client));
        ss.push(Box::new(p.server));
    }
    (per_item(ss), per_item(cs))
}

fn split_streams(pairs: Vec<(ossl::Stream, ossl::Stream)>) -> (f64, f64) {
    let (mut cs, mut ss) = (
        Vec::with_capacity(pairs.len()),
        Vec::with_capacity(pairs.len()),
    );
    for (mut c, mut s) in pairs {
        ossl::strip(&mut c);
        ossl::strip(&mut s);
        cs.push(Box::new(c));
        ss.push(Box::new(s));
    }
    (per_item(ss), per_item(cs))
}

fn split_ctx(pairs: Vec<(ffi::Ctx, ffi::Ctx)>) -> (f64, f64) {
    let (cs, ss): (Vec<_>, Vec<_>) = pairs.into_iter().unzip();
    (per_item(ss), per_item(cs))
}

/// Writes `port` as the five digits at the end of `addr`, without allocating.
fn set_port(addr: &mut [u8; 18], port: usize) {
    let mut p = port;
    for d in addr[13..18].iter_mut().rev() {
        *d = b'0' + (p % 10) as u8;
        p /= 10;
    }
}

/// One application record each way (what an association looks like in steady state).
fn exchange(p: &mut Pair, buf: &mut [u8], data: &[u8]) {
    one_way(&mut p.client, &mut p.server, buf, data);
    one_way(&mut p.server, &mut p.client, buf, data);
}

fn one_way(tx: &mut Connection, rx: &mut Connection, buf: &mut [u8], data: &[u8]) {
    let mut out = [0u8; 2048];
    tx.send(data).unwrap();
    let n = tx.poll_transmit(0, buf).unwrap().unwrap();
    rx.handle_datagram(0, &buf[..n]).unwrap();
    assert_eq!(rx.recv(&mut out).unwrap(), Some(data.len()));
}

fn ossl_exchange(c: &mut ossl::Stream, s: &mut ossl::Stream, data: &[u8]) {
    let mut out = [0u8; 4096];
    c.ssl_write(data).unwrap();
    ossl::transfer(c.get_mut(), s.get_mut());
    assert_eq!(s.ssl_read(&mut out).unwrap(), data.len());
    s.ssl_write(data).unwrap();
    ossl::transfer(s.get_mut(), c.get_mut());
    assert_eq!(c.ssl_read(&mut out).unwrap(), data.len());
}

pub fn run(quick: bool) {
    let k = if quick { 16 } else { 64 };
    let creds = Credentials::generate();
    let data = payload();
    let mut buf = vec![0u8; 2048];
    let mut wire = Arena::with_capacity(16);

    let ours = Ours::new(&creds, Some(Group::P256), Cookie::Off, HANDSHAKE_MTU);
    let ours_rec = Ours::new(&creds, Some(Group::P256), Cookie::Off, RECORD_MTU);
    let ours_hvr = Ours::new(
        &creds,
        Some(Group::P256),
        Cookie::InConnection,
        HANDSHAKE_MTU,
    );
    let ossl = Ossl::new(&creds, Group::P256, false, HANDSHAKE_MTU);
    let ossl_rec = Ossl::new(&creds, Group::P256, false, RECORD_MTU);
    let ossl_hvr = Ossl::new(&creds, Group::P256, true, HANDSHAKE_MTU);
    let ffi = Ffi::new(&creds, FfiCookie::Off, HANDSHAKE_MTU);
    let ffi_hvr = Ffi::new(&creds, FfiCookie::InContext, HANDSHAKE_MTU);
    let native_default = Ours::new(&creds, None, Cookie::Off, HANDSHAKE_MTU);
    // Warm up lazily initialised statics (ring's CPU features, OpenSSL's tables) so that
    // they are not charged to the first association.
    for _ in 0..2 {
        drop(ours.handshake(&mut buf, &mut ServerCost::default()));
        drop(ossl.handshake(&mut ServerCost::default()));
        drop(ffi.handshake(&mut buf, &mut ServerCost::default()));
    }

    // --- Figure 4 and 5: heap per association ----------------------------------------------
    let mut cost = ServerCost::default();
    let est = split_pairs(
        (0..k)
            .map(|_| ours.handshake(&mut buf, &mut cost))
            .collect(),
    );
    let est_warm = split_pairs(
        (0..k)
            .map(|_| {
                let mut p = ours_rec.handshake(&mut buf, &mut cost);
                exchange(&mut p, &mut buf, &data);
                p
            })
            .collect(),
    );
    let mid = split_pairs(
        (0..k)
            .map(|_| ours.mid_handshake(&mut buf, &mut wire))
            .collect(),
    );

    let o_est = split_streams((0..k).map(|_| ossl.handshake(&mut cost)).collect());
    let o_est_warm = split_streams(
        (0..k)
            .map(|_| {
                let (mut c, mut s) = ossl_rec.handshake(&mut cost);
                ossl_exchange(&mut c, &mut s, &data);
                (c, s)
            })
            .collect(),
    );
    let o_mid = split_streams((0..k).map(|_| ossl.mid_handshake()).collect());
    let ossl_rb = Ossl::with_mode(&creds, Group::P256, false, RECORD_MTU, true);
    let o_est_rb = split_streams(
        (0..k)
            .map(|_| {
                let (mut c, mut s) = ossl_rb.handshake(&mut cost);
                ossl_exchange(&mut c, &mut s, &data);
                (c, s)
            })
            .collect(),
    );

    // Pending peers: the stateless front door keeps nothing per peer; a server association
    // that answers HelloVerifyRequest itself (the C ABI's only way) keeps a whole object.
    let hello = {
        let mut c = Connection::new(ours_hvr.client.clone(), Role::Client, None, 0).unwrap();
        let n = c.poll_transmit(0, &mut buf).unwrap().unwrap();
        buf[..n].to_vec()
    };
    let door = ServerFrontDoor::new(ours_hvr.server.clone());
    let mut reply = [0u8; 512];
    let mut addr = *b"198.51.100.0:00000";
    let s0 = snapshot();
    for i in 0..k {
        set_port(&mut addr, 40000 + i);
        assert!(matches!(
            door.prefilter(0, &addr, &hello, &mut reply),
            Verdict::Reply(_)
        ));
    }
    let (door_live, door_allocs, _) = snapshot().since(&s0);
    let door_per_peer = door_live as f64 / k as f64;
    let in_conn_pending = per_item(
        (0..k)
            .map(|_| {
                let mut s = Box::new(
                    Connection::new(ours_hvr.server.clone(), Role::Server, None, 0).unwrap(),
                );
                s.set_peer_address(ours::PEER);
                s.handle_datagram(0, &hello).unwrap();
                assert!(s.poll_transmit(0, &mut buf).unwrap().is_some(), "HVR sent");
                s
            })
            .collect(),
    );
    let o_pending = per_item((0..k).map(|_| Box::new(ossl_hvr.pending_peer())).collect());
    let ffi_pending = per_item((0..k).map(|_| ffi_hvr.pending_peer(&mut buf)).collect());
    // The C front door, as the Rust one above.
    let s0 = snapshot();
    for i in 0..k {
        set_port(&mut addr, 40000 + i);
        let (v, _) = ffi_hvr.prefilter(&addr, &hello, &mut reply);
        assert_eq!(v, dtls::DTLS_VERDICT_REPLY);
    }
    let ffi_door_per_peer = snapshot().since(&s0).0 as f64 / k as f64;

    let mut t = Table::new(
        "Live heap per association (P-256, mutual auth; counting allocator, OpenSSL's CRYPTO_malloc routed through it)",
        &[
            "state",
            "ours server",
            "ours client",
            "OpenSSL server",
            "OpenSSL client",
            "ours/OpenSSL (server)",
            "target",
        ],
    );
    let row = |t: &mut Table, name: &str, o: (f64, f64), s: (f64, f64), target: &str| {
        t.row(vec![
            name.into(),
            kib(o.0),
            kib(o.1),
            kib(s.0),
            kib(s.1),
            ratio(o.0 / s.0),
            target.into(),
        ]);
    };
    row(
        &mut t,
        "established (right after the handshake)",
        est,
        o_est,
        "<= 4 KiB",
    );
    row(
        &mut t,
        "established, after one 1200 B record each way",
        est_warm,
        o_est_warm,
        "<= 4 KiB",
    );
    t.row(vec![
        "same, OpenSSL with SSL_MODE_RELEASE_BUFFERS".into(),
        "-".into(),
        "-".into(),
        kib(o_est_rb.0),
        kib(o_est_rb.1),
        "-".into(),
        "-".into(),
    ]);
    row(
        &mut t,
        "mid-handshake (flight 4 sent / flight 5 sent)",
        mid,
        o_mid,
        "<= 24 KiB",
    );
    t.row(vec![
        "pending peer: ours ServerFrontDoor vs OpenSSL SSL_accept after HVR".into(),
        kib(door_per_peer),
        "-".into(),
        kib(o_pending),
        "-".into(),
        "-".into(),
        "0".into(),
    ]);
    t.row(vec![
        "pending peer: server Connection answering HVR itself".into(),
        kib(in_conn_pending),
        "-".into(),
        kib(o_pending),
        "-".into(),
        ratio(in_conn_pending / o_pending),
        "-".into(),
    ]);
    t.print();
    println!(
        "\nsize_of::<Connection>() = {} B (counted above: associations are boxed). Front door: \
         {} allocations per ClientHello answered, all transient (live heap after {k} peers: {} B).",
        std::mem::size_of::<Connection>(),
        ratio(door_allocs as f64 / k as f64),
        door_live
    );

    // --- Figure 6: allocations per record and per handshake ---------------------------------
    let n = if quick { 2_000 } else { 20_000 };
    let mut r_ours = ours::Records::new(&ours_rec, 1);
    let (a_ours, b_ours) = r_ours.allocs_per_record(&data, n);
    let ffi_rec = Ffi::new(&creds, FfiCookie::Off, RECORD_MTU);
    let mut r_ffi = ffi::Records::new(&ffi_rec, 1);
    let (a_ffi, b_ffi) = r_ffi.allocs_per_record(&data, n);
    let mut r_ossl = ossl::Records::new(&ossl_rec, 1);
    let (a_ossl, b_ossl) = r_ossl.allocs_per_record(&data, n);

    let hs = if quick { 10 } else { 50 };
    let count = |f: &mut dyn FnMut(&mut ServerCost)| {
        let mut cost = ServerCost::default();
        let s0 = snapshot();
        for _ in 0..hs {
            f(&mut cost);
        }
        let (_, a, b) = snapshot().since(&s0);
        let per = |x: u64| x as f64 / hs as f64;
        (per(a), per(b), per(cost.allocs), per(cost.bytes))
    };
    let h_ours = count(&mut |c| drop(ours.handshake(&mut buf, c)));
    let h_ossl = count(&mut |c| drop(ossl.handshake(c)));
    let ffi_p256_note = "C ABI: default groups (X25519)";
    let h_ffi = count(&mut |c| drop(ffi.handshake(&mut buf, c)));
    let h_native_default = count(&mut |c| drop(native_default.handshake(&mut buf, c)));

    let mut t = Table::new(
        "Allocations (steady state per record: send + poll_transmit + handle_datagram + recv, 1200 B)",
        &["figure", "ours", "ours via C ABI", "OpenSSL", "target"],
    );
    let per = |x: u64| x as f64 / n as f64;
    t.row(vec![
        "allocations per record".into(),
        ratio(per(a_ours)),
        ratio(per(a_ffi)),
        ratio(per(a_ossl)),
        "0".into(),
    ]);
    t.row(vec![
        "bytes allocated per record".into(),
        ratio(per(b_ours)),
        ratio(per(b_ffi)),
        ratio(per(b_ossl)),
        "0".into(),
    ]);
    t.row(vec![
        "allocations per handshake, both sides (P-256)".into(),
        num(h_ours.0),
        format!(
            "{} ({ffi_p256_note}; native same config: {})",
            num(h_ffi.0),
            num(h_native_default.0)
        ),
        num(h_ossl.0),
        "-".into(),
    ]);
    t.row(vec![
        "allocations per handshake, server side".into(),
        num(h_ours.2),
        format!(
            "{} (native same config: {})",
            num(h_ffi.2),
            num(h_native_default.2)
        ),
        num(h_ossl.2),
        "-".into(),
    ]);
    t.row(vec![
        "bytes allocated per handshake, both sides".into(),
        num(h_ours.1),
        format!(
            "{} (native same config: {})",
            num(h_ffi.1),
            num(h_native_default.1)
        ),
        num(h_ossl.1),
        "-".into(),
    ]);
    t.print();

    // --- Figure 7, memory half ------------------------------------------------------------
    let n_est = split_pairs(
        (0..k)
            .map(|_| native_default.handshake(&mut buf, &mut cost))
            .collect(),
    );
    let f_est = split_ctx((0..k).map(|_| ffi.handshake(&mut buf, &mut cost)).collect());
    let mut t = Table::new(
        "C ABI memory (default groups, X25519 negotiated, no cookie)",
        &["figure", "native", "C ABI", "C ABI / native"],
    );
    for (name, a, b) in [
        ("established association, server", n_est.0, f_est.0),
        ("established association, client", n_est.1, f_est.1),
        ("pending peer, front door", door_per_peer, ffi_door_per_peer),
        (
            "pending peer, server association that sent HVR",
            in_conn_pending,
            ffi_pending,
        ),
    ] {
        t.row(vec![name.into(), kib(a), kib(b), ratio(b / a)]);
    }
    t.row(vec![
        "allocations per record".into(),
        ratio(per(a_ours)),
        ratio(per(a_ffi)),
        "-".into(),
    ]);
    t.print();

    run13(&creds, k, quick, &mut buf);
}

/// DTLS 1.3 next to 1.2: heap per association (Rust API, counting allocator), allocations per
/// record (queued and zero-copy) and per handshake, and per association through the C ABI as
/// both the counting allocator and glibc (`mallinfo2`, allocator overhead included) see it.
fn run13(creds: &Credentials, k: usize, quick: bool, buf: &mut [u8]) {
    let data = payload();
    let mut cost = ServerCost::default();
    let mk = |v, mtu| Ours::with_version(creds, v, Some(Group::P256), Cookie::Off, mtu);
    let (o12, o13) = (
        mk(Version::V12, HANDSHAKE_MTU),
        mk(Version::V13, HANDSHAKE_MTU),
    );
    let (r12, r13) = (mk(Version::V12, RECORD_MTU), mk(Version::V13, RECORD_MTU));
    for o in [&o12, &o13] {
        drop(o.handshake(buf, &mut cost));
    }
    let est = |o: &Ours, buf: &mut [u8], cost: &mut ServerCost| {
        split_pairs((0..k).map(|_| o.handshake(buf, cost)).collect())
    };
    let warm = |o: &Ours, buf: &mut [u8], cost: &mut ServerCost| {
        split_pairs(
            (0..k)
                .map(|_| {
                    let mut p = o.handshake(buf, cost);
                    exchange(&mut p, buf, &data);
                    p
                })
                .collect(),
        )
    };
    let (e12, e13) = (est(&o12, buf, &mut cost), est(&o13, buf, &mut cost));
    let (w12, w13) = (warm(&r12, buf, &mut cost), warm(&r13, buf, &mut cost));

    let n = if quick { 2_000 } else { 20_000 };
    let per = |x: u64| x as f64 / n as f64;
    let allocs = |o: &Ours, zero_copy: bool| {
        let mut r = ours::Records::new(o, 1);
        for _ in 0..64 {
            r.round(&data, 1);
            r.round_zero_copy(&data, 1);
        }
        let s0 = snapshot();
        for _ in 0..n {
            if zero_copy {
                r.round_zero_copy(&data, 1);
            } else {
                r.round(&data, 1);
            }
        }
        let (_, a, b) = snapshot().since(&s0);
        (per(a), per(b))
    };
    let (q12, q13) = (allocs(&r12, false), allocs(&r13, false));
    let (z12, z13) = (allocs(&r12, true), allocs(&r13, true));
    let hs = if quick { 10 } else { 50 };
    let count = |o: &Ours, buf: &mut [u8]| {
        let mut cost = ServerCost::default();
        let s0 = snapshot();
        for _ in 0..hs {
            drop(o.handshake(buf, &mut cost));
        }
        let (_, a, b) = snapshot().since(&s0);
        (
            a as f64 / hs as f64,
            b as f64 / hs as f64,
            cost.allocs as f64 / hs as f64,
        )
    };
    let (h12, h13) = (count(&o12, buf), count(&o13, buf));

    let mut t = Table::new(
        "DTLS 1.3 next to 1.2: memory (P-256, mutual auth, AES-128-GCM; counting allocator)",
        &[
            "figure",
            "DTLS 1.2",
            "DTLS 1.3",
            "1.3 / 1.2",
            "target (1.3)",
        ],
    );
    for (name, a, b, target) in [
        ("established, server", e12.0, e13.0, "<= 4 KiB"),
        ("established, client", e12.1, e13.1, "<= 4 KiB"),
        (
            "after one 1200 B record each way, server",
            w12.0,
            w13.0,
            "-",
        ),
        (
            "after one 1200 B record each way, client",
            w12.1,
            w13.1,
            "-",
        ),
    ] {
        t.row(vec![
            name.into(),
            kib(a),
            kib(b),
            ratio(b / a),
            target.into(),
        ]);
    }
    for (name, a, b, target) in [
        (
            "allocations per record, queued (send .. recv)",
            q12.0,
            q13.0,
            "0",
        ),
        ("bytes allocated per record, queued", q12.1, q13.1, "0"),
        (
            "allocations per record, zero-copy (seal_into, open_in_place)",
            z12.0,
            z13.0,
            "0",
        ),
        ("bytes allocated per record, zero-copy", z12.1, z13.1, "0"),
    ] {
        t.row(vec![
            name.into(),
            ratio(a),
            ratio(b),
            "-".into(),
            target.into(),
        ]);
    }
    for (name, a, b) in [
        ("allocations per handshake, both sides", h12.0, h13.0),
        ("bytes allocated per handshake, both sides", h12.1, h13.1),
        ("allocations per handshake, server side", h12.2, h13.2),
    ] {
        t.row(vec![name.into(), num(a), num(b), ratio(b / a), "-".into()]);
    }
    t.print();

    // Through the C ABI: what a C program's heap holds per context.
    let mut t = Table::new(
        "Per established association through the C ABI (default groups: X25519), counting allocator and glibc mallinfo2 (uordblks + hblkhd: allocator overhead included)",
        &[
            "version",
            "server, counted",
            "server, malloc in use",
            "client, counted",
            "client, malloc in use",
        ],
    );
    for v in [Version::V12, Version::V13] {
        let f = Ffi::with_version(creds, v, FfiCookie::Off, HANDSHAKE_MTU);
        drop(f.handshake(buf, &mut cost));
        let pairs: Vec<_> = (0..k).map(|_| f.handshake(buf, &mut cost)).collect();
        let (cs, ss): (Vec<_>, Vec<_>) = pairs.into_iter().unzip();
        let s = per_item_malloc(ss);
        let c = per_item_malloc(cs);
        t.row(vec![
            match v {
                Version::V12 => "DTLS 1.2".into(),
                Version::V13 => "DTLS 1.3".into(),
            },
            kib(s.0),
            kib(s.1),
            kib(c.0),
            kib(c.1),
        ]);
    }
    t.print();
}
