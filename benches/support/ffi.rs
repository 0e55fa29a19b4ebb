//! The same drivers through the C ABI (dtls-ffi linked as an rlib, its `extern "C"` functions
//! called directly, as a C program would).
//!
//! The C ABI has no setter for the key-exchange groups, so its configurations keep the default
//! list (X25519 first, which both sides then pick); the native comparison uses the same
//! defaults. With cookies, a C server either runs the stateless front door
//! (`dtls_server_prefilter`) or lets the server context answer HelloVerifyRequest itself.

use super::alloc;
use super::ours::{ServerCost, PEER};
use super::setup::{cpu_time, Batch, Credentials, Version, RECORD, SLOT};
use dtls::*;
use std::ffi::CString;
use std::ptr;
use std::time::{Duration, Instant};

fn ok(r: dtls_result, what: &str) {
    assert_eq!(r, DTLS_OK, "{what}: {}", r);
}

/// How the C server runs the cookie exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FfiCookie {
    Off,
    /// `dtls_server_prefilter` answers the first ClientHello; a context is created for the
    /// retry only.
    FrontDoor,
    /// The server context answers with HelloVerifyRequest itself.
    InContext,
}

/// Client and server configurations built through the C ABI.
pub struct Ffi {
    client: *const dtls_config,
    server: *const dtls_config,
    cookie: FfiCookie,
}

/// Builds one side's configuration as a C program would.
fn config(
    pem: &(String, String),
    peer_fp_sdp: &str,
    cookie: bool,
    mtu: u16,
    version: Version,
) -> *const dtls_config {
    let fp = CString::new(peer_fp_sdp).unwrap();
    let (suites, mask) = match version {
        // TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
        Version::V12 => ([0xC02Bu16], DTLS_V1_2),
        // TLS_AES_128_GCM_SHA256
        Version::V13 => ([0x1301u16], DTLS_V1_3),
    };
    // SAFETY: every pointer passed is valid for the call; out-params are locals.
    unsafe {
        let mut cert = ptr::null_mut();
        ok(
            dtls_certificate_from_pem(
                pem.0.as_ptr(),
                pem.0.len(),
                pem.1.as_ptr(),
                pem.1.len(),
                &mut cert,
            ),
            "certificate",
        );
        let mut b = ptr::null_mut();
        ok(dtls_config_builder_new(&mut b), "builder");
        ok(dtls_config_builder_set_certificate(b, cert), "set cert");
        ok(
            dtls_config_builder_add_peer_fingerprint(b, fp.as_ptr()),
            "fingerprint",
        );
        // One version only: 1.2 as the other peers in the comparison (and
        // dtls_server_prefilter) are, or 1.3 for the 1.3 rows.
        ok(dtls_config_builder_set_versions(b, mask), "versions");
        ok(dtls_config_builder_set_cookie_exchange(b, cookie), "cookie");
        ok(
            dtls_config_builder_set_cipher_suites(b, suites.as_ptr(), suites.len()),
            "suites",
        );
        ok(dtls_config_builder_set_mtu(b, mtu), "mtu");
        let mut cfg = ptr::null();
        ok(dtls_config_builder_build(b, &mut cfg), "build");
        dtls_certificate_free(cert);
        cfg
    }
}

/// An owned `dtls_ctx`, freed on drop.
pub struct Ctx(pub *mut dtls_ctx);

impl Drop for Ctx {
    fn drop(&mut self) {
        // SAFETY: from dtls_ctx_new, freed once.
        unsafe { dtls_ctx_free(self.0) }
    }
}

/// Drains events; true if one was CONNECTED.
fn connected(ctx: &Ctx) -> bool {
    let mut ev = dtls_event::default();
    let mut seen = false;
    // SAFETY: live context, `ev` writable.
    while unsafe { dtls_poll_event(ctx.0, &mut ev) } == DTLS_OK {
        seen |= ev.kind == DTLS_EVENT_CONNECTED;
    }
    seen
}

/// Next datagram into `buf`, or None.
fn poll(ctx: &Ctx, buf: &mut [u8]) -> Option<usize> {
    let mut len = 0;
    // SAFETY: live context; `buf` writable for its length.
    match unsafe { dtls_poll_output(ctx.0, 0, buf.as_mut_ptr(), buf.len(), &mut len) } {
        DTLS_OK => Some(len),
        DTLS_EMPTY => None,
        r => panic!("dtls_poll_output: {r}"),
    }
}

fn feed(ctx: &Ctx, d: &[u8]) {
    // SAFETY: live context; `d` readable.
    ok(
        unsafe { dtls_feed(ctx.0, d.as_ptr(), d.len(), 0) },
        "dtls_feed",
    );
}

impl Ffi {
    /// DTLS 1.2.
    pub fn new(creds: &Credentials, cookie: FfiCookie, mtu: u16) -> Self {
        Self::with_version(creds, Version::V12, cookie, mtu)
    }

    pub fn with_version(
        creds: &Credentials,
        version: Version,
        cookie: FfiCookie,
        mtu: u16,
    ) -> Self {
        let on = cookie != FfiCookie::Off;
        Ffi {
            client: config(&creds.client_pem, &creds.server_fp_sdp, false, mtu, version),
            server: config(&creds.server_pem, &creds.client_fp_sdp, on, mtu, version),
            cookie,
        }
    }

    /// `dtls_server_prefilter` on one datagram: the verdict and the reply length.
    pub fn prefilter(&self, peer: &[u8], d: &[u8], reply: &mut [u8]) -> (u32, usize) {
        let (mut len, mut verdict) = (0, 0);
        // SAFETY: live config; every buffer valid for the length passed.
        let r = unsafe {
            dtls_server_prefilter(
                self.server,
                0,
                peer.as_ptr(),
                peer.len(),
                d.as_ptr(),
                d.len(),
                reply.as_mut_ptr(),
                reply.len(),
                &mut len,
                &mut verdict,
            )
        };
        ok(r, "dtls_server_prefilter");
        (verdict, len)
    }

    fn ctx(&self, server: bool) -> Ctx {
        let mut c = ptr::null_mut();
        let (cfg, role) = if server {
            (self.server, DTLS_ROLE_SERVER)
        } else {
            (self.client, DTLS_ROLE_CLIENT)
        };
        // SAFETY: live config; `c` a local out-param.
        unsafe {
            ok(
                dtls_ctx_new(cfg, role, ptr::null(), 0, &mut c),
                "dtls_ctx_new",
            );
            if server {
                ok(
                    dtls_ctx_set_peer_address(c, PEER.as_ptr(), PEER.len()),
                    "addr",
                );
            }
        }
        Ctx(c)
    }

    /// One complete handshake.
    pub fn handshake(&self, buf: &mut [u8], cost: &mut ServerCost) -> (Ctx, Ctx) {
        let c = self.ctx(false);
        let mut s = match self.cookie {
            FfiCookie::FrontDoor => None,
            _ => Some(cost.time(|| self.ctx(true))),
        };
        let mut reply = [0u8; DTLS_PREFILTER_REPLY_MAX];
        let (mut cdone, mut sdone) = (false, false);
        for _ in 0..16 {
            while let Some(n) = poll(&c, buf) {
                let d = &buf[..n];
                let hvr = cost.time(|| match &s {
                    Some(s) => {
                        feed(s, d);
                        None
                    }
                    None => match self.prefilter(PEER, d, &mut reply) {
                        (DTLS_VERDICT_ACCEPT, _) => {
                            let ctx = self.ctx(true);
                            feed(&ctx, d);
                            s = Some(ctx);
                            None
                        }
                        (DTLS_VERDICT_REPLY, m) => Some(m),
                        (v, _) => panic!("dtls_server_prefilter verdict {v}"),
                    },
                });
                if let Some(m) = hvr {
                    feed(&c, &reply[..m]);
                }
            }
            if let Some(s) = &s {
                while let Some(n) = cost.time(|| poll(s, buf)) {
                    feed(&c, &buf[..n]);
                }
                sdone |= cost.time(|| connected(s));
            }
            cdone |= connected(&c);
            if cdone && sdone {
                break;
            }
        }
        assert!(cdone && sdone, "C ABI handshake did not complete");
        (c, s.expect("server context"))
    }

    pub fn handshakes(&self, n: usize) -> Batch {
        let mut buf = vec![0u8; 2048];
        let mut cost = ServerCost::default();
        let (c0, t) = (cpu_time(), Instant::now());
        for _ in 0..n {
            let (c, s) = self.handshake(&mut buf, &mut cost);
            drop(c);
            cost.time(|| drop(s));
        }
        Batch {
            n,
            cpu: cpu_time() - c0,
            wall: t.elapsed(),
            server_wall: cost.time,
        }
    }

    /// A server context that answered one ClientHello with a HelloVerifyRequest itself (what a
    /// C server that does not use `dtls_server_prefilter` keeps per such peer).
    pub fn pending_peer(&self, buf: &mut [u8]) -> Ctx {
        let c = self.ctx(false);
        let s = self.ctx(true);
        while let Some(n) = poll(&c, buf) {
            feed(&s, &buf[..n]);
        }
        while poll(&s, buf).is_some() {}
        s
    }
}

impl Drop for Ffi {
    fn drop(&mut self) {
        // SAFETY: from dtls_config_builder_build, released once.
        unsafe {
            dtls_config_free(self.client);
            dtls_config_free(self.server);
        }
    }
}

/// A connected pair and buffers for the record benchmark through the C ABI.
pub struct Records {
    c: Ctx,
    s: Ctx,
    wire: Vec<u8>,
    lens: Vec<usize>,
    out: Vec<u8>,
}

impl Records {
    pub fn new(ffi: &Ffi, batch: usize) -> Self {
        let mut buf = vec![0u8; 2048];
        let (c, s) = ffi.handshake(&mut buf, &mut ServerCost::default());
        let mut r = Records {
            c,
            s,
            wire: vec![0u8; batch * SLOT],
            lens: vec![0; batch],
            out: vec![0u8; 2048],
        };
        let p = super::setup::payload();
        r.round(&p, 1);
        assert_eq!(&r.out[..RECORD], &p[..]);
        r
    }

    /// `dtls_send` + `dtls_poll_output` for `batch` records, then `dtls_feed` + `dtls_recv`.
    pub fn round(&mut self, payload: &[u8], batch: usize) -> (Duration, Duration) {
        let (c, s) = (self.c.0, self.s.0);
        let t0 = cpu_time();
        for (slot, len) in self
            .wire
            .chunks_exact_mut(SLOT)
            .zip(self.lens.iter_mut())
            .take(batch)
        {
            // SAFETY: live contexts; buffers valid for the lengths passed.
            unsafe {
                ok(dtls_send(c, payload.as_ptr(), payload.len()), "dtls_send");
                ok(
                    dtls_poll_output(c, 0, slot.as_mut_ptr(), slot.len(), len),
                    "dtls_poll_output",
                );
            }
        }
        let t1 = cpu_time();
        for (slot, len) in self
            .wire
            .chunks_exact(SLOT)
            .zip(self.lens.iter())
            .take(batch)
        {
            let mut n = 0;
            // SAFETY: as above.
            unsafe {
                ok(dtls_feed(s, slot.as_ptr(), *len, 0), "dtls_feed");
                ok(
                    dtls_recv(s, self.out.as_mut_ptr(), self.out.len(), &mut n),
                    "dtls_recv",
                );
            }
            debug_assert_eq!(n, RECORD);
        }
        (t1 - t0, cpu_time() - t1)
    }

    /// The same through `dtls_seal_into` and `dtls_open_in_place` (no queue, one copy).
    pub fn round_zero_copy(&mut self, payload: &[u8], batch: usize) -> (Duration, Duration) {
        let (c, s) = (self.c.0, self.s.0);
        let t0 = cpu_time();
        for (slot, len) in self
            .wire
            .chunks_exact_mut(SLOT)
            .zip(self.lens.iter_mut())
            .take(batch)
        {
            // SAFETY: live context; buffers valid for the lengths passed, not overlapping.
            unsafe {
                ok(
                    dtls_seal_into(
                        c,
                        payload.as_ptr(),
                        payload.len(),
                        slot.as_mut_ptr(),
                        slot.len(),
                        len,
                    ),
                    "dtls_seal_into",
                );
            }
        }
        let t1 = cpu_time();
        for (slot, len) in self
            .wire
            .chunks_exact_mut(SLOT)
            .zip(self.lens.iter())
            .take(batch)
        {
            let (mut data, mut n) = (ptr::null(), 0);
            // SAFETY: as above; `slot` writable for `len` bytes.
            unsafe {
                ok(
                    dtls_open_in_place(s, slot.as_mut_ptr(), *len, 0, &mut data, &mut n),
                    "dtls_open_in_place",
                );
            }
            debug_assert_eq!(n, RECORD);
        }
        (t1 - t0, cpu_time() - t1)
    }

    /// Allocations over `n` records after warm-up: (allocations, bytes).
    pub fn allocs_per_record(&mut self, payload: &[u8], n: usize) -> (u64, u64) {
        for _ in 0..64 {
            self.round(payload, 1);
        }
        let s0 = alloc::snapshot();
        for _ in 0..n {
            self.round(payload, 1);
        }
        let (_, a, b) = alloc::snapshot().since(&s0);
        (a, b)
    }
}
