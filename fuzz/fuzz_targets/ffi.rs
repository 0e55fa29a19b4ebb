//! The C ABI (dtls-ffi) on arbitrary input: a context created with `dtls_ctx_new` in either
//! role, fed with `dtls_feed`, drained with `dtls_poll_output` (with a buffer size taken from
//! the input, so `DTLS_ERR_BUFFER_TOO_SMALL` and its retry are exercised), `dtls_poll_event`,
//! `dtls_recv`, `dtls_next_timeout`/`dtls_handle_timeout`, `dtls_send` and `dtls_close`; every
//! datagram also goes through `dtls_server_prefilter` and `dtls_packet_kind`. Checked: no
//! panic crosses the boundary (`DTLS_ERR_PANIC`), no `DTLS_ERR_INTERNAL`, no NULL-pointer
//! error (we never pass NULL), output lengths within the buffer and the MTU.
//!
//! Input: `dtls_fuzz::parse` format; flags bit 7 selects the server role, bits 0-2 the usual
//! configuration flags (cookie exchange, client authentication, small MTU), bit 3 the zero-copy
//! calls (`dtls_open_in_place` instead of `dtls_feed`, `dtls_seal_into` instead of `dtls_send`).
#![no_main]

use dtls::*;
use dtls_fuzz::{
    parse, Item, CLIENT_CERT_PEM, CLIENT_KEY_PEM, F_CLIENT_AUTH, F_COOKIES, F_IN_PLACE,
    F_SMALL_MTU, MTU, PEER_ADDR, SERVER_CERT_PEM, SERVER_KEY_PEM, SMALL_MTU,
};
use libfuzzer_sys::fuzz_target;
use std::ffi::CString;
use std::sync::OnceLock;

fn ok(r: dtls_result, what: &str) {
    assert!(
        r != DTLS_ERR_PANIC && r != DTLS_ERR_INTERNAL && r != DTLS_ERR_NULL_POINTER,
        "{what} returned {r}"
    );
}

fn certificate(chain: &[u8], key: &[u8]) -> *mut dtls_certificate {
    let mut c = std::ptr::null_mut();
    // SAFETY: valid buffers and out pointer.
    let r = unsafe {
        dtls_certificate_from_pem(chain.as_ptr(), chain.len(), key.as_ptr(), key.len(), &mut c)
    };
    assert_eq!(r, DTLS_OK);
    c
}

fn fingerprint(cert: *const dtls_certificate) -> CString {
    let mut buf = [0u8; 256];
    let mut len = 0usize;
    // SAFETY: live certificate, writable buffer and length.
    let r = unsafe {
        dtls_certificate_fingerprint(
            cert,
            DTLS_HASH_SHA256,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut len,
        )
    };
    assert_eq!(r, DTLS_OK);
    CString::new(format!("sha-256 {}", String::from_utf8_lossy(&buf[..len]))).expect("no NUL")
}

/// One configuration per (role, flags), built once through the C ABI. Stored as addresses:
/// configurations are immutable and live for the whole process.
fn config(server: bool, flags: u8) -> *const dtls_config {
    static CFG: OnceLock<Vec<usize>> = OnceLock::new();
    let all = CFG.get_or_init(|| {
        let scert = certificate(SERVER_CERT_PEM, SERVER_KEY_PEM);
        let ccert = certificate(CLIENT_CERT_PEM, CLIENT_KEY_PEM);
        let sfp = fingerprint(scert);
        let cfp = fingerprint(ccert);
        let mut v = Vec::new();
        for i in 0..16u8 {
            let (server, flags) = (i & 8 != 0, i & 7);
            let mut b = std::ptr::null_mut();
            // SAFETY: every pointer is live or a valid out pointer; the builder is consumed
            // by dtls_config_builder_build.
            unsafe {
                assert_eq!(dtls_config_builder_new(&mut b), DTLS_OK);
                let mtu = if flags & F_SMALL_MTU != 0 {
                    SMALL_MTU
                } else {
                    MTU
                };
                assert_eq!(dtls_config_builder_set_mtu(b, mtu), DTLS_OK);
                assert_eq!(
                    dtls_config_builder_set_timers(b, 1000, 8000, 30_000),
                    DTLS_OK
                );
                if server {
                    assert_eq!(dtls_config_builder_set_certificate(b, scert), DTLS_OK);
                    assert_eq!(
                        dtls_config_builder_set_cookie_exchange(b, flags & F_COOKIES != 0),
                        DTLS_OK
                    );
                    if flags & F_CLIENT_AUTH != 0 {
                        assert_eq!(
                            dtls_config_builder_set_require_client_certificate(b, true),
                            DTLS_OK
                        );
                        assert_eq!(
                            dtls_config_builder_add_peer_fingerprint(b, cfp.as_ptr()),
                            DTLS_OK
                        );
                    }
                } else {
                    assert_eq!(
                        dtls_config_builder_add_peer_fingerprint(b, sfp.as_ptr()),
                        DTLS_OK
                    );
                    if flags & F_CLIENT_AUTH != 0 {
                        assert_eq!(dtls_config_builder_set_certificate(b, ccert), DTLS_OK);
                    }
                }
                let mut cfg = std::ptr::null();
                assert_eq!(dtls_config_builder_build(b, &mut cfg), DTLS_OK);
                v.push(cfg as usize);
            }
        }
        // SAFETY: the configurations hold their own references to the certificates.
        unsafe {
            dtls_certificate_free(scert);
            dtls_certificate_free(ccert);
        }
        v
    });
    all[usize::from(flags & 7) | if server { 8 } else { 0 }] as *const dtls_config
}

fuzz_target!(|data: &[u8]| {
    let (flags, items) = parse(data);
    let server = flags & 0x80 != 0;
    let cfg = config(server, flags);
    let mtu = usize::from(if flags & F_SMALL_MTU != 0 {
        SMALL_MTU
    } else {
        MTU
    });
    let role = if server {
        DTLS_ROLE_SERVER
    } else {
        DTLS_ROLE_CLIENT
    };
    let name = CString::new("dtls-server").expect("no NUL");
    let mut ctx = std::ptr::null_mut();
    let mut now = 0u64;
    // SAFETY: live config, valid string and out pointer.
    let r = unsafe {
        dtls_ctx_new(
            cfg,
            role,
            if server {
                std::ptr::null()
            } else {
                name.as_ptr()
            },
            now,
            &mut ctx,
        )
    };
    assert_eq!(r, DTLS_OK);
    if server {
        // SAFETY: live context, readable address.
        ok(
            unsafe { dtls_ctx_set_peer_address(ctx, PEER_ADDR.as_ptr(), PEER_ADDR.len()) },
            "set_peer_address",
        );
    }
    let mut buf = vec![0u8; 2048];
    let mut reply = [0u8; DTLS_PREFILTER_REPLY_MAX];
    for (step, it) in items.iter().enumerate() {
        match *it {
            Item::Datagram(d) => {
                let (mut rlen, mut verdict) = (0usize, 0u32);
                // SAFETY: every pointer is live and sized as passed.
                unsafe {
                    ok(
                        dtls_server_prefilter(
                            cfg,
                            now,
                            PEER_ADDR.as_ptr(),
                            PEER_ADDR.len(),
                            d.as_ptr(),
                            d.len(),
                            reply.as_mut_ptr(),
                            reply.len(),
                            &mut rlen,
                            &mut verdict,
                        ),
                        "prefilter",
                    );
                    let _ = dtls_packet_kind(d.as_ptr(), d.len());
                    if flags & F_IN_PLACE != 0 {
                        let mut copy = d.to_vec();
                        let (mut p, mut plen) = (std::ptr::null(), 0usize);
                        let r = dtls_open_in_place(
                            ctx,
                            copy.as_mut_ptr(),
                            copy.len(),
                            now,
                            &mut p,
                            &mut plen,
                        );
                        ok(r, "open_in_place");
                        if r == DTLS_OK {
                            // The plaintext lies inside the datagram.
                            let start = copy.as_ptr() as usize;
                            assert!(p as usize >= start && p as usize + plen <= start + copy.len());
                        }
                    } else {
                        ok(dtls_feed(ctx, d.as_ptr(), d.len(), now), "feed");
                    }
                }
            }
            Item::Wait(ms) => {
                now += ms;
                let mut deadline = 0u64;
                // SAFETY: live context, writable deadline.
                unsafe {
                    let _ = dtls_next_timeout(ctx, &mut deadline);
                    ok(dtls_handle_timeout(ctx, now), "handle_timeout");
                }
            }
        }
        // A buffer size from the input: sometimes too small, to exercise the retry.
        let cap = if step % 3 == 2 { 40 } else { buf.len() };
        for _ in 0..256 {
            let mut len = 0usize;
            // SAFETY: live context, buffer writable for `cap` bytes.
            let r = unsafe { dtls_poll_output(ctx, now, buf.as_mut_ptr(), cap, &mut len) };
            ok(r, "poll_output");
            if r == DTLS_ERR_BUFFER_TOO_SMALL {
                assert!(len > cap && len <= mtu, "needed {len}");
                let mut len2 = 0usize;
                // SAFETY: as above with the whole buffer.
                let r2 =
                    unsafe { dtls_poll_output(ctx, now, buf.as_mut_ptr(), buf.len(), &mut len2) };
                assert_eq!(r2, DTLS_OK);
                assert_eq!(len2, len, "the kept datagram has the announced size");
                continue;
            }
            if r != DTLS_OK {
                break;
            }
            assert!(len <= cap && len <= mtu, "{len} bytes");
        }
        let mut connected = false;
        loop {
            // SAFETY: live context; an all-zero dtls_event is a valid value to overwrite.
            let mut ev: dtls_event = unsafe { std::mem::zeroed() };
            let r = unsafe { dtls_poll_event(ctx, &mut ev) };
            ok(r, "poll_event");
            if r != DTLS_OK {
                break;
            }
            if ev.kind == DTLS_EVENT_FAILED {
                assert!(ev.result != DTLS_ERR_INTERNAL && ev.result != DTLS_ERR_PANIC);
            }
            connected |= ev.kind == DTLS_EVENT_CONNECTED;
        }
        loop {
            let mut len = 0usize;
            // SAFETY: live context, writable buffer.
            let r = unsafe { dtls_recv(ctx, buf.as_mut_ptr(), buf.len(), &mut len) };
            ok(r, "recv");
            if r != DTLS_OK {
                break;
            }
        }
        if connected {
            if flags & F_IN_PLACE != 0 {
                let mut n = 0usize;
                // SAFETY: live context, readable data, writable buffer and length.
                let r = unsafe {
                    dtls_seal_into(
                        ctx,
                        b"fuzz".as_ptr(),
                        4,
                        buf.as_mut_ptr(),
                        buf.len(),
                        &mut n,
                    )
                };
                ok(r, "seal_into");
                if r == DTLS_OK {
                    assert!(n <= mtu);
                }
            } else {
                // SAFETY: live context, readable data.
                ok(unsafe { dtls_send(ctx, b"fuzz".as_ptr(), 4) }, "send");
            }
        }
    }
    // SAFETY: live context, freed once.
    unsafe {
        ok(dtls_close(ctx), "close");
        dtls_ctx_free(ctx);
    }
});
