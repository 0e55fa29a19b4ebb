//! The C ABI contract, checked through the rlib (the same code the cdylib exports):
//! every function with NULL or bad arguments returns its documented code and does not crash,
//! outputs are written only on success, BUFFER_TOO_SMALL reports the size and loses nothing,
//! every exported symbol is `dtls_*`, and `dtls_version()` is the package version.

mod common;

use dtls::*;
use std::ffi::{c_char, CStr};
use std::ptr::{null, null_mut};

fn s(p: *const c_char) -> String {
    // SAFETY: the library returns static NUL-terminated strings.
    unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_owned()
}

/// A valid certificate, builder-built config, and context pair for the tests below.
struct Fixture {
    cert: *mut dtls_certificate,
    client_cfg: *const dtls_config,
    server_cfg: *const dtls_config,
}

impl Fixture {
    fn new() -> Self {
        Self::with_versions(0)
    }

    /// `versions`: a `DTLS_V1_*` mask for both configs, 0 for the default.
    fn with_versions(versions: u32) -> Self {
        // SAFETY: all pointers passed are valid locals or handles from the library.
        unsafe {
            let mut cert = null_mut();
            assert_eq!(
                dtls_certificate_generate(c"fixture".as_ptr(), &mut cert),
                DTLS_OK
            );
            let mut b = null_mut();
            assert_eq!(dtls_config_builder_new(&mut b), DTLS_OK);
            assert_eq!(dtls_config_builder_set_certificate(b, cert), DTLS_OK);
            assert_eq!(
                dtls_config_builder_set_peer_verification(b, DTLS_VERIFY_DANGEROUS_ACCEPT_ANY),
                DTLS_OK
            );
            let srtp = [DTLS_SRTP_AES128_CM_SHA1_80];
            assert_eq!(
                dtls_config_builder_set_srtp_profiles(b, srtp.as_ptr(), 1),
                DTLS_OK
            );
            if versions != 0 {
                assert_eq!(dtls_config_builder_set_versions(b, versions), DTLS_OK);
            }
            let mut server_cfg = null();
            assert_eq!(dtls_config_builder_build(b, &mut server_cfg), DTLS_OK);
            let mut b = null_mut();
            assert_eq!(dtls_config_builder_new(&mut b), DTLS_OK);
            assert_eq!(
                dtls_config_builder_set_peer_verification(b, DTLS_VERIFY_DANGEROUS_ACCEPT_ANY),
                DTLS_OK
            );
            assert_eq!(
                dtls_config_builder_set_srtp_profiles(b, srtp.as_ptr(), 1),
                DTLS_OK
            );
            if versions != 0 {
                assert_eq!(dtls_config_builder_set_versions(b, versions), DTLS_OK);
            }
            let mut client_cfg = null();
            assert_eq!(dtls_config_builder_build(b, &mut client_cfg), DTLS_OK);
            Fixture {
                cert,
                client_cfg,
                server_cfg,
            }
        }
    }

    fn ctx(&self, role: u32) -> *mut dtls_ctx {
        let cfg = if role == DTLS_ROLE_CLIENT {
            self.client_cfg
        } else {
            self.server_cfg
        };
        let mut ctx = null_mut();
        // SAFETY: valid config and out-pointer.
        assert_eq!(
            unsafe { dtls_ctx_new(cfg, role, null(), 0, &mut ctx) },
            DTLS_OK
        );
        ctx
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        // SAFETY: handles from the library, freed once.
        unsafe {
            dtls_certificate_free(self.cert);
            dtls_config_free(self.client_cfg);
            dtls_config_free(self.server_cfg);
        }
    }
}

/// Moves datagrams both ways until both sides are quiet (bounded).
///
/// # Safety
/// Both are live contexts.
unsafe fn handshake(c: *mut dtls_ctx, s: *mut dtls_ctx) {
    let mut buf = [0u8; 1500];
    for _ in 0..20 {
        let mut moved = false;
        for (from, to) in [(c, s), (s, c)] {
            let mut len = 0;
            // SAFETY: live contexts and valid buffers (caller's contract).
            while unsafe { dtls_poll_output(from, 0, buf.as_mut_ptr(), buf.len(), &mut len) }
                == DTLS_OK
            {
                assert_eq!(unsafe { dtls_feed(to, buf.as_ptr(), len, 0) }, DTLS_OK);
                moved = true;
            }
        }
        if !moved {
            break;
        }
    }
}

#[test]
fn version_matches_cargo() {
    assert_eq!(s(dtls_version()), env!("CARGO_PKG_VERSION"));
}

#[test]
fn result_strings_cover_every_code() {
    let codes = [
        DTLS_OK,
        DTLS_EMPTY,
        DTLS_ERR_NULL_POINTER,
        DTLS_ERR_INVALID_ARGUMENT,
        DTLS_ERR_BUFFER_TOO_SMALL,
        DTLS_ERR_NOT_CONNECTED,
        DTLS_ERR_CLOSED,
        DTLS_ERR_PANIC,
        DTLS_ERR_EXPORTER_UNAVAILABLE,
        DTLS_ERR_UTF8,
        DTLS_ERR_INVALID_CONFIG,
        DTLS_ERR_CERTIFICATE,
        DTLS_ERR_NO_VERIFIER,
        DTLS_ERR_HANDSHAKE_TIMEOUT,
        DTLS_ERR_ALERT_RECEIVED,
        DTLS_ERR_PEER_MISBEHAVED,
        DTLS_ERR_NO_COMMON_PARAMETERS,
        DTLS_ERR_EMS_REQUIRED,
        DTLS_ERR_KEY_USAGE_LIMIT,
        DTLS_ERR_INTERNAL,
        DTLS_ERR_FINGERPRINT_MISMATCH,
        DTLS_ERR_CERTIFICATE_REJECTED,
        DTLS_ERR_NO_PEER_CERTIFICATE,
        DTLS_ERR_BAD_SIGNATURE,
        DTLS_ERR_BAD_FINISHED,
    ];
    let mut seen = std::collections::HashSet::new();
    for c in codes {
        assert!(seen.insert(c), "code {c} reused");
        assert_ne!(s(dtls_result_str(c)), "unknown result", "{c}");
        assert!(s(dtls_result_name(c)).starts_with("DTLS_"), "{c}");
    }
    for bad in [2, 99, 108, 250, 306, 405, 999, u32::MAX] {
        assert_eq!(s(dtls_result_str(bad)), "unknown result");
        assert_eq!(s(dtls_result_name(bad)), "DTLS_ERR_UNKNOWN");
    }
}

/// The engine and C agree: every engine error's code has the engine's C name.
#[test]
fn engine_codes_match_c_names() {
    use dtls_proto::verify::VerifyError;
    use dtls_proto::{AlertDescription, CertError, Error};
    let errors = [
        Error::BufferTooSmall { needed: 1 },
        Error::InvalidArgument("x"),
        Error::NotConnected,
        Error::Closed,
        Error::InvalidConfig("x".into()),
        Error::Certificate(CertError::NoCertificate),
        Error::HandshakeTimeout {
            likely_reason: None,
        },
        Error::AlertReceived(AlertDescription::HandshakeFailure),
        Error::PeerMisbehaved {
            alert: AlertDescription::DecodeError,
            reason: "x",
        },
        Error::NoCommonParameters("x"),
        Error::ExtendedMasterSecretRequired,
        Error::BadFinished,
        Error::FingerprintMismatch,
        Error::CertificateRejected(VerifyError::UnknownIssuer),
        Error::NoPeerCertificate,
        Error::BadSignature,
        Error::NoVerifier,
        Error::ExporterUnavailable,
        Error::KeyUsageLimit("x"),
        Error::Internal("x"),
    ];
    for e in errors {
        assert_eq!(s(dtls_result_name(e.code())), e.code_name(), "{e:?}");
    }
}

#[test]
fn event_layout_is_plain_24_bytes() {
    assert_eq!(std::mem::size_of::<dtls_event>(), 24);
    assert_eq!(std::mem::align_of::<dtls_event>(), 4);
    assert_eq!(std::mem::offset_of!(dtls_event, version), 8);
    assert_eq!(std::mem::offset_of!(dtls_event, alert), 14);
    assert_eq!(std::mem::offset_of!(dtls_event, reserved), 15);
}

#[test]
fn certificate_functions_reject_bad_arguments() {
    // SAFETY: every pointer is NULL, a valid local, or a live handle.
    unsafe {
        let sentinel = 0x1 as *mut dtls_certificate;
        let mut out = sentinel;
        assert_eq!(
            dtls_certificate_generate(null(), &mut out),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(
            dtls_certificate_generate(c"x".as_ptr(), null_mut()),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(
            dtls_certificate_generate(c"\xff\xfe".as_ptr(), &mut out),
            DTLS_ERR_UTF8
        );
        assert_eq!(out, sentinel, "out written on failure");
        let junk = b"not pem";
        assert_eq!(
            dtls_certificate_from_pem(null(), 0, junk.as_ptr(), 7, &mut out),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(
            dtls_certificate_from_pem(junk.as_ptr(), 7, null(), 0, &mut out),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(
            dtls_certificate_from_pem(junk.as_ptr(), 7, junk.as_ptr(), 7, null_mut()),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(
            dtls_certificate_from_pem(junk.as_ptr(), 7, junk.as_ptr(), 7, &mut out),
            DTLS_ERR_CERTIFICATE
        );
        assert_eq!(out, sentinel);

        let f = Fixture::new();
        let mut buf = [0x55 as c_char; 200];
        let mut len = 7usize;
        assert_eq!(
            dtls_certificate_fingerprint(null(), DTLS_HASH_SHA256, buf.as_mut_ptr(), 200, &mut len),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(
            dtls_certificate_fingerprint(f.cert, DTLS_HASH_SHA256, null_mut(), 200, &mut len),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(
            dtls_certificate_fingerprint(
                f.cert,
                DTLS_HASH_SHA256,
                buf.as_mut_ptr(),
                200,
                null_mut()
            ),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(
            dtls_certificate_fingerprint(f.cert, 0, buf.as_mut_ptr(), 200, &mut len),
            DTLS_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            dtls_certificate_fingerprint(f.cert, 99, buf.as_mut_ptr(), 200, &mut len),
            DTLS_ERR_INVALID_ARGUMENT
        );
        assert_eq!(len, 7);
        // Too small: the needed capacity (95 chars + NUL), the buffer untouched.
        assert_eq!(
            dtls_certificate_fingerprint(f.cert, DTLS_HASH_SHA256, buf.as_mut_ptr(), 95, &mut len),
            DTLS_ERR_BUFFER_TOO_SMALL
        );
        assert_eq!(len, 96);
        assert!(buf.iter().all(|b| *b == 0x55));
        assert_eq!(
            dtls_certificate_fingerprint(f.cert, DTLS_HASH_SHA256, buf.as_mut_ptr(), 96, &mut len),
            DTLS_OK
        );
        assert_eq!(len, 95);
        let fp = s(buf.as_ptr());
        assert_eq!(fp.len(), 95);
        assert!(fp.bytes().enumerate().all(|(i, b)| if i % 3 == 2 {
            b == b':'
        } else {
            b.is_ascii_hexdigit() && !b.is_ascii_lowercase()
        }));
        for (h, n) in [
            (DTLS_HASH_SHA1, 20),
            (DTLS_HASH_SHA384, 48),
            (DTLS_HASH_SHA512, 64),
        ] {
            assert_eq!(
                dtls_certificate_fingerprint(f.cert, h, buf.as_mut_ptr(), 200, &mut len),
                DTLS_OK
            );
            assert_eq!(len, n * 3 - 1);
        }
        dtls_certificate_free(null_mut());
    }
}

#[test]
fn builder_functions_reject_bad_arguments() {
    // SAFETY: every pointer is NULL, a valid local, or a live handle.
    unsafe {
        let f = Fixture::new();
        assert_eq!(dtls_config_builder_new(null_mut()), DTLS_ERR_NULL_POINTER);
        let nb: *mut dtls_config_builder = null_mut();
        let p = [1u16];
        assert_eq!(
            dtls_config_builder_set_certificate(nb, f.cert),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(
            dtls_config_builder_set_versions(nb, DTLS_V1_2),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(
            dtls_config_builder_set_peer_verification(nb, 0),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(
            dtls_config_builder_add_root_certificates_pem(nb, b"x".as_ptr(), 1),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(
            dtls_config_builder_add_peer_fingerprint(nb, c"x".as_ptr()),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(
            dtls_config_builder_set_require_client_certificate(nb, true),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(
            dtls_config_builder_set_cookie_exchange(nb, true),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(
            dtls_config_builder_set_srtp_profiles(nb, p.as_ptr(), 1),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(
            dtls_config_builder_set_cipher_suites(nb, p.as_ptr(), 1),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(dtls_config_builder_set_mtu(nb, 1200), DTLS_ERR_NULL_POINTER);
        assert_eq!(
            dtls_config_builder_set_timers(nb, 1, 2, 3),
            DTLS_ERR_NULL_POINTER
        );
        let mut cfg = 0x1 as *const dtls_config;
        assert_eq!(
            dtls_config_builder_build(nb, &mut cfg),
            DTLS_ERR_NULL_POINTER
        );
        dtls_config_builder_free(null_mut());
        dtls_config_free(null());

        let mut b = null_mut();
        assert_eq!(dtls_config_builder_new(&mut b), DTLS_OK);
        assert_eq!(
            dtls_config_builder_set_certificate(b, null()),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(
            dtls_config_builder_set_versions(b, 0),
            DTLS_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            dtls_config_builder_set_versions(b, 4),
            DTLS_ERR_INVALID_ARGUMENT
        );
        assert_eq!(dtls_config_builder_set_versions(b, DTLS_V1_3), DTLS_OK);
        assert_eq!(
            dtls_config_builder_set_versions(b, DTLS_V1_2 | DTLS_V1_3),
            DTLS_OK
        );
        assert_eq!(
            dtls_config_builder_set_peer_verification(b, 4),
            DTLS_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            dtls_config_builder_add_root_certificates_pem(b, null(), 0),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(
            dtls_config_builder_add_root_certificates_pem(b, b"junk".as_ptr(), 4),
            DTLS_ERR_CERTIFICATE
        );
        assert_eq!(
            dtls_config_builder_add_peer_fingerprint(b, null()),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(
            dtls_config_builder_add_peer_fingerprint(b, c"sha-256 AB".as_ptr()),
            DTLS_ERR_CERTIFICATE
        );
        assert_eq!(
            dtls_config_builder_set_srtp_profiles(b, null(), 0),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(
            dtls_config_builder_set_srtp_profiles(b, [0x1234u16].as_ptr(), 1),
            DTLS_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            dtls_config_builder_set_cipher_suites(b, null(), 1),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(
            dtls_config_builder_set_cipher_suites(b, p.as_ptr(), 0),
            DTLS_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            dtls_config_builder_set_mtu(b, 127),
            DTLS_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            dtls_config_builder_set_timers(b, 0, 1, 1),
            DTLS_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            dtls_config_builder_set_timers(b, 2, 1, 1),
            DTLS_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            dtls_config_builder_set_timers(b, 1, 1, 0),
            DTLS_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            dtls_config_builder_build(b, null_mut()),
            DTLS_ERR_NULL_POINTER
        );
        // Still ours after a NULL out: set an unsupported suite; build consumes and fails.
        assert_eq!(
            dtls_config_builder_set_cipher_suites(b, [0x0001u16].as_ptr(), 1),
            DTLS_OK
        );
        assert_eq!(
            dtls_config_builder_build(b, &mut cfg),
            DTLS_ERR_INVALID_CONFIG
        );
        assert_eq!(cfg, 0x1 as *const dtls_config, "out written on failure");

        // A builder never built is freed with _free (leak-checked by the C tests).
        let mut b = null_mut();
        assert_eq!(dtls_config_builder_new(&mut b), DTLS_OK);
        dtls_config_builder_free(b);
    }
}

#[test]
fn ctx_functions_reject_bad_arguments() {
    // SAFETY: every pointer is NULL, a valid local, or a live handle.
    unsafe {
        let f = Fixture::new();
        let mut out = 0x1 as *mut dtls_ctx;
        assert_eq!(
            dtls_ctx_new(null(), DTLS_ROLE_CLIENT, null(), 0, &mut out),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(
            dtls_ctx_new(f.client_cfg, DTLS_ROLE_CLIENT, null(), 0, null_mut()),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(
            dtls_ctx_new(f.client_cfg, 0, null(), 0, &mut out),
            DTLS_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            dtls_ctx_new(f.client_cfg, 3, null(), 0, &mut out),
            DTLS_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            dtls_ctx_new(
                f.client_cfg,
                DTLS_ROLE_CLIENT,
                c"\xff".as_ptr(),
                0,
                &mut out
            ),
            DTLS_ERR_UTF8
        );
        // A server needs a certificate.
        assert_eq!(
            dtls_ctx_new(f.client_cfg, DTLS_ROLE_SERVER, null(), 0, &mut out),
            DTLS_ERR_INVALID_CONFIG
        );
        assert_eq!(out, 0x1 as *mut dtls_ctx, "out written on failure");

        let n: *mut dtls_ctx = null_mut();
        let mut buf = [0u8; 64];
        let mut len = 7usize;
        let mut ev = dtls_event::default();
        let mut t = 5u64;
        let mut der = null();
        let mut prof = 0u16;
        let mut fp = [0 as c_char; 200];
        assert_eq!(
            dtls_ctx_add_peer_fingerprint(n, c"x".as_ptr()),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(
            dtls_ctx_set_peer_address(n, buf.as_ptr(), 4),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(dtls_ctx_set_mtu(n, 1200), DTLS_ERR_NULL_POINTER);
        assert_eq!(dtls_feed(n, buf.as_ptr(), 4, 0), DTLS_ERR_NULL_POINTER);
        assert_eq!(
            dtls_poll_output(n, 0, buf.as_mut_ptr(), 64, &mut len),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(dtls_poll_event(n, &mut ev), DTLS_ERR_NULL_POINTER);
        assert!(!dtls_next_timeout(n, &mut t));
        assert_eq!(dtls_handle_timeout(n, 0), DTLS_ERR_NULL_POINTER);
        assert_eq!(dtls_send(n, buf.as_ptr(), 4), DTLS_ERR_NULL_POINTER);
        assert_eq!(
            dtls_recv(n, buf.as_mut_ptr(), 64, &mut len),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(dtls_close(n), DTLS_ERR_NULL_POINTER);
        assert_eq!(
            dtls_ctx_peer_certificate(n, 0, &mut der, &mut len),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(
            dtls_ctx_peer_fingerprint(n, DTLS_HASH_SHA256, fp.as_mut_ptr(), 200, &mut len),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(dtls_ctx_max_send_len(n, &mut len), DTLS_ERR_NULL_POINTER);
        assert_eq!(
            dtls_export_keying_material(n, buf.as_ptr(), 1, null(), 0, buf.as_mut_ptr(), 8),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(
            dtls_srtp_keying_material(n, &mut prof, buf.as_mut_ptr(), 64, &mut len),
            DTLS_ERR_NULL_POINTER
        );
        dtls_ctx_free(null_mut());
        assert_eq!((len, t, prof), (7, 5, 0));

        // Live context, bad other arguments.
        let c = f.ctx(DTLS_ROLE_CLIENT);
        assert_eq!(
            dtls_ctx_add_peer_fingerprint(c, null()),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(
            dtls_ctx_add_peer_fingerprint(c, c"sha-256 zz".as_ptr()),
            DTLS_ERR_CERTIFICATE
        );
        assert_eq!(
            dtls_ctx_add_peer_fingerprint(c, c"\xff".as_ptr()),
            DTLS_ERR_UTF8
        );
        assert_eq!(
            dtls_ctx_set_peer_address(c, null(), 0),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(dtls_ctx_set_mtu(c, 100), DTLS_ERR_INVALID_ARGUMENT);
        assert_eq!(dtls_feed(c, null(), 0, 0), DTLS_ERR_NULL_POINTER);
        assert_eq!(
            dtls_poll_output(c, 0, null_mut(), 64, &mut len),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(
            dtls_poll_output(c, 0, buf.as_mut_ptr(), 64, null_mut()),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(dtls_poll_event(c, null_mut()), DTLS_ERR_NULL_POINTER);
        assert!(!dtls_next_timeout(c, null_mut()));
        assert!(
            dtls_next_timeout(c, &mut t),
            "a client's handshake timer runs"
        );
        assert_eq!(dtls_send(c, null(), 0), DTLS_ERR_NULL_POINTER);
        assert_eq!(dtls_send(c, buf.as_ptr(), 4), DTLS_ERR_NOT_CONNECTED);
        assert_eq!(
            dtls_recv(c, null_mut(), 64, &mut len),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(
            dtls_recv(c, buf.as_mut_ptr(), 64, null_mut()),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(dtls_recv(c, buf.as_mut_ptr(), 64, &mut len), DTLS_EMPTY);
        assert_eq!(
            dtls_ctx_peer_certificate(c, 0, null_mut(), &mut len),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(
            dtls_ctx_peer_certificate(c, 0, &mut der, null_mut()),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(
            dtls_ctx_peer_certificate(c, 0, &mut der, &mut len),
            DTLS_EMPTY
        );
        assert_eq!(
            dtls_ctx_peer_fingerprint(c, DTLS_HASH_SHA256, null_mut(), 200, &mut len),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(
            dtls_ctx_peer_fingerprint(c, 42, fp.as_mut_ptr(), 200, &mut len),
            DTLS_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            dtls_ctx_peer_fingerprint(c, DTLS_HASH_SHA256, fp.as_mut_ptr(), 200, &mut len),
            DTLS_EMPTY
        );
        assert_eq!(dtls_ctx_max_send_len(c, null_mut()), DTLS_ERR_NULL_POINTER);
        assert_eq!(
            dtls_export_keying_material(c, null(), 0, null(), 0, buf.as_mut_ptr(), 8),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(
            dtls_export_keying_material(c, buf.as_ptr(), 1, null(), 3, buf.as_mut_ptr(), 8),
            DTLS_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            dtls_export_keying_material(c, buf.as_ptr(), 1, null(), 0, null_mut(), 8),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(
            dtls_export_keying_material(c, buf.as_ptr(), 1, null(), 0, buf.as_mut_ptr(), 8),
            DTLS_ERR_EXPORTER_UNAVAILABLE
        );
        assert_eq!(
            dtls_srtp_keying_material(c, null_mut(), buf.as_mut_ptr(), 64, &mut len),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(
            dtls_srtp_keying_material(c, &mut prof, null_mut(), 64, &mut len),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(
            dtls_srtp_keying_material(c, &mut prof, buf.as_mut_ptr(), 64, null_mut()),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(
            dtls_srtp_keying_material(c, &mut prof, buf.as_mut_ptr(), 64, &mut len),
            DTLS_ERR_EXPORTER_UNAVAILABLE
        );
        assert_eq!(
            dtls_handle_timeout(c, 0),
            DTLS_OK,
            "a spurious timeout is a no-op"
        );
        assert_eq!(dtls_poll_event(c, &mut ev), DTLS_EMPTY);
        assert_eq!(ev, dtls_event::default(), "event written on EMPTY");
        dtls_ctx_free(c);
    }
}

/// BUFFER_TOO_SMALL reports the size needed and keeps the datagram / record; after the
/// handshake the drive loop works, and close/after-close codes are as documented.
#[test]
fn buffer_too_small_loses_nothing() {
    // SAFETY: live handles and valid local buffers throughout.
    unsafe {
        let f = Fixture::new();
        let c = f.ctx(DTLS_ROLE_CLIENT);
        let s = f.ctx(DTLS_ROLE_SERVER);
        let mut small = [0u8; 8];
        let mut big = [0u8; 1500];
        let mut len = 0usize;
        assert_eq!(
            dtls_poll_output(c, 0, small.as_mut_ptr(), small.len(), &mut len),
            DTLS_ERR_BUFFER_TOO_SMALL
        );
        let needed = len;
        assert!(needed > 8 && needed <= 1200, "{needed}");
        // Asking again gives the same answer: nothing was consumed.
        assert_eq!(
            dtls_poll_output(c, 0, small.as_mut_ptr(), 0, &mut len),
            DTLS_ERR_BUFFER_TOO_SMALL
        );
        assert_eq!(len, needed);
        assert_eq!(
            dtls_poll_output(c, 0, big.as_mut_ptr(), needed, &mut len),
            DTLS_OK
        );
        assert_eq!(len, needed);
        assert_eq!(dtls_feed(s, big.as_ptr(), len, 0), DTLS_OK);
        handshake(c, s);
        let mut ev = dtls_event::default();
        let mut kinds = vec![];
        while dtls_poll_event(c, &mut ev) == DTLS_OK {
            kinds.push(ev.kind);
        }
        assert!(kinds.contains(&DTLS_EVENT_CONNECTED), "{kinds:?}");
        assert_eq!(ev.reserved, [0; 9]);

        // recv with a small buffer keeps the record.
        let msg = b"twenty bytes of data";
        assert_eq!(dtls_send(c, msg.as_ptr(), msg.len()), DTLS_OK);
        assert_eq!(
            dtls_poll_output(c, 0, big.as_mut_ptr(), big.len(), &mut len),
            DTLS_OK
        );
        assert_eq!(dtls_feed(s, big.as_ptr(), len, 0), DTLS_OK);
        assert_eq!(
            dtls_recv(s, small.as_mut_ptr(), small.len(), &mut len),
            DTLS_ERR_BUFFER_TOO_SMALL
        );
        assert_eq!(len, msg.len());
        assert_eq!(dtls_recv(s, big.as_mut_ptr(), msg.len(), &mut len), DTLS_OK);
        assert_eq!(&big[..len], msg);
        assert_eq!(
            dtls_recv(s, big.as_mut_ptr(), big.len(), &mut len),
            DTLS_EMPTY
        );

        // Keying material: equal on both sides; SRTP too-small reports the 60 bytes needed.
        let (mut k1, mut k2) = ([0u8; 60], [0u8; 60]);
        let label = b"EXTRACTOR-dtls_srtp";
        assert_eq!(
            dtls_export_keying_material(
                c,
                label.as_ptr(),
                label.len(),
                null(),
                0,
                k1.as_mut_ptr(),
                60
            ),
            DTLS_OK
        );
        let mut prof = 0u16;
        assert_eq!(
            dtls_srtp_keying_material(s, &mut prof, k2.as_mut_ptr(), 59, &mut len),
            DTLS_ERR_BUFFER_TOO_SMALL
        );
        assert_eq!((len, prof), (60, 0));
        assert_eq!(
            dtls_srtp_keying_material(s, &mut prof, k2.as_mut_ptr(), 60, &mut len),
            DTLS_OK
        );
        assert_eq!((len, prof), (60, DTLS_SRTP_AES128_CM_SHA1_80));
        assert_eq!(k1, k2, "srtp keys = the RFC 5764 exporter output");
        // A context differs from no context (RFC 5705).
        let ctxv = [1u8, 2, 3];
        assert_eq!(
            dtls_export_keying_material(
                c,
                label.as_ptr(),
                label.len(),
                ctxv.as_ptr(),
                3,
                k2.as_mut_ptr(),
                60
            ),
            DTLS_OK
        );
        assert_ne!(k1, k2);

        // Peer certificate and fingerprint after the handshake.
        let mut der = null();
        assert_eq!(dtls_ctx_peer_certificate(c, 0, &mut der, &mut len), DTLS_OK);
        assert!(len > 100 && *der == 0x30);
        let mut fp = [0 as c_char; 96];
        let mut fp2 = [0 as c_char; 96];
        assert_eq!(
            dtls_ctx_peer_fingerprint(c, DTLS_HASH_SHA256, fp.as_mut_ptr(), 96, &mut len),
            DTLS_OK
        );
        assert_eq!(
            dtls_certificate_fingerprint(f.cert, DTLS_HASH_SHA256, fp2.as_mut_ptr(), 96, &mut len),
            DTLS_OK
        );
        assert_eq!(fp, fp2);

        // Too-large record: INVALID_ARGUMENT, not fatal.
        let mut max = 0usize;
        assert_eq!(dtls_ctx_max_send_len(c, &mut max), DTLS_OK);
        let huge = vec![0u8; max + 1];
        assert_eq!(
            dtls_send(c, huge.as_ptr(), huge.len()),
            DTLS_ERR_INVALID_ARGUMENT
        );
        assert_eq!(dtls_send(c, huge.as_ptr(), max), DTLS_OK);

        assert_eq!(dtls_close(c), DTLS_OK);
        assert_eq!(dtls_close(c), DTLS_OK, "closing twice is harmless");
        assert_eq!(dtls_send(c, msg.as_ptr(), 1), DTLS_ERR_CLOSED);
        dtls_ctx_free(c);
        dtls_ctx_free(s);
    }
}

/// A wrong pinned fingerprint fails the handshake with DTLS_ERR_FINGERPRINT_MISMATCH, both as
/// a return code and as a FAILED event carrying the bad_certificate alert.
#[test]
fn wrong_fingerprint_fails_with_documented_code() {
    // SAFETY: live handles and valid local buffers throughout.
    unsafe {
        let f = Fixture::new();
        let mut b = null_mut();
        assert_eq!(dtls_config_builder_new(&mut b), DTLS_OK);
        assert_eq!(
            dtls_config_builder_set_peer_verification(b, DTLS_VERIFY_FINGERPRINT),
            DTLS_OK
        );
        let mut cfg = null();
        assert_eq!(dtls_config_builder_build(b, &mut cfg), DTLS_OK);
        let mut c = null_mut();
        assert_eq!(
            dtls_ctx_new(cfg, DTLS_ROLE_CLIENT, null(), 0, &mut c),
            DTLS_OK
        );
        dtls_config_free(cfg);
        let wrong = format!("sha-256 {}\0", vec!["AB"; 32].join(":"));
        assert_eq!(
            dtls_ctx_add_peer_fingerprint(c, wrong.as_ptr().cast()),
            DTLS_OK
        );
        let s = f.ctx(DTLS_ROLE_SERVER);
        let mut buf = [0u8; 1500];
        let mut len = 0;
        let mut failure = None;
        'outer: for _ in 0..10 {
            for (from, to) in [(c, s), (s, c)] {
                while dtls_poll_output(from, 0, buf.as_mut_ptr(), buf.len(), &mut len) == DTLS_OK {
                    let r = dtls_feed(to, buf.as_ptr(), len, 0);
                    if to == c && r != DTLS_OK {
                        failure = Some(r);
                        break 'outer;
                    }
                }
            }
        }
        assert_eq!(failure, Some(DTLS_ERR_FINGERPRINT_MISMATCH));
        let mut ev = dtls_event::default();
        let mut failed = None;
        while dtls_poll_event(c, &mut ev) == DTLS_OK {
            if ev.kind == DTLS_EVENT_FAILED {
                failed = Some(ev);
            }
        }
        let ev = failed.expect("FAILED event");
        assert_eq!(ev.result, DTLS_ERR_FINGERPRINT_MISMATCH);
        assert_eq!(ev.alert, 42, "bad_certificate");
        // Dead: further calls report the failure.
        assert_eq!(dtls_handle_timeout(c, 0), DTLS_ERR_FINGERPRINT_MISMATCH);
        dtls_ctx_free(c);
        dtls_ctx_free(s);
    }
}

/// Every dynamic symbol libdtls.so defines is in the dtls_ namespace, and the SONAME is
/// libdtls.so.<major>.<minor> while the major version is 0.
#[test]
fn exported_symbols_are_prefixed() {
    let so = common::lib_dir().join("libdtls.so");
    let out = std::process::Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(&so)
        .output()
        .expect("nm (binutils) is installed");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let names: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2))
        .collect();
    assert!(names.len() >= 40, "{names:?}");
    let bad: Vec<&&str> = names.iter().filter(|n| !n.starts_with("dtls_")).collect();
    assert!(bad.is_empty(), "symbols outside dtls_: {bad:?}");
    for core in [
        "dtls_ctx_new",
        "dtls_feed",
        "dtls_poll_output",
        "dtls_poll_event",
        "dtls_version",
    ] {
        assert!(names.contains(&core), "{core} not exported");
    }
    let out = std::process::Command::new("readelf")
        .arg("-d")
        .arg(&so)
        .output()
        .expect("readelf");
    let text = String::from_utf8_lossy(&out.stdout);
    let want = format!("[libdtls.so.0.{}]", env!("CARGO_PKG_VERSION_MINOR"));
    assert!(text.contains(&want), "SONAME: {text}");
}

/// Every `dtls_` function in the header is exported, and every exported one is in the header.
#[test]
fn header_and_symbols_agree() {
    let h = std::fs::read_to_string(common::root().join("include/dtls.h")).unwrap();
    let mut in_header: Vec<String> = h
        .lines()
        .filter(|l| {
            [
                "dtls_result ",
                "void ",
                "bool ",
                "const char *",
                "uint32_t ",
            ]
            .iter()
            .any(|t| l.starts_with(t))
                && l.contains('(')
        })
        .filter_map(|l| {
            l.split('(')
                .next()?
                .split_whitespace()
                .last()
                .map(|n| n.trim_start_matches('*').to_owned())
        })
        .filter(|n| n.starts_with("dtls_"))
        .collect();
    in_header.sort();
    let so = common::lib_dir().join("libdtls.so");
    let out = std::process::Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(&so)
        .output()
        .unwrap();
    let mut exported: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2).map(str::to_owned))
        .collect();
    exported.sort();
    assert_eq!(in_header, exported);
}

/// RFC 7983 demultiplexing: NULL and empty are "not DTLS", and each range maps to its kind.
#[test]
fn demux_functions() {
    // SAFETY: NULL or valid buffers with their lengths.
    unsafe {
        assert!(!dtls_is_dtls(null(), 10));
        assert!(!dtls_is_dtls([22u8].as_ptr(), 0));
        assert_eq!(dtls_packet_kind(null(), 1), DTLS_PACKET_UNKNOWN);
        for (byte, kind) in [
            (0u8, DTLS_PACKET_STUN),
            (1, DTLS_PACKET_STUN),
            (17, DTLS_PACKET_ZRTP),
            (20, DTLS_PACKET_DTLS),
            (22, DTLS_PACKET_DTLS),
            (63, DTLS_PACKET_DTLS),
            (64, DTLS_PACKET_TURN_CHANNEL),
            (0x80, DTLS_PACKET_RTP_RTCP),
            (191, DTLS_PACKET_RTP_RTCP),
            (192, DTLS_PACKET_UNKNOWN),
            (8, DTLS_PACKET_UNKNOWN),
        ] {
            let d = [byte, 0xfe, 0xfd];
            assert_eq!(dtls_packet_kind(d.as_ptr(), d.len()), kind, "byte {byte}");
            assert_eq!(dtls_is_dtls(d.as_ptr(), d.len()), kind == DTLS_PACKET_DTLS);
        }
    }
}

/// a=setup to role, role to a=setup, and the SDP fingerprint form, with bad arguments.
#[test]
fn sdp_functions() {
    let f = Fixture::new();
    let mut role = 0u32;
    // SAFETY: NULL or valid strings/out-pointers, live certificate.
    unsafe {
        assert_eq!(
            dtls_role_for_remote_setup(c"actpass".as_ptr(), &mut role),
            DTLS_OK
        );
        assert_eq!(role, DTLS_ROLE_CLIENT);
        assert_eq!(
            dtls_role_for_remote_setup(c"a=setup:active".as_ptr(), &mut role),
            DTLS_OK
        );
        assert_eq!(role, DTLS_ROLE_SERVER);
        assert_eq!(dtls_role_for_answer(c"active".as_ptr(), &mut role), DTLS_OK);
        assert_eq!(role, DTLS_ROLE_SERVER);
        assert_eq!(
            dtls_role_for_answer(c"passive".as_ptr(), &mut role),
            DTLS_OK
        );
        assert_eq!(role, DTLS_ROLE_CLIENT);
        role = 77;
        assert_eq!(
            dtls_role_for_answer(c"actpass".as_ptr(), &mut role),
            DTLS_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            dtls_role_for_remote_setup(c"holdconn".as_ptr(), &mut role),
            DTLS_ERR_INVALID_ARGUMENT
        );
        assert_eq!(role, 77, "written on error");
        assert_eq!(
            dtls_role_for_remote_setup(null(), &mut role),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(
            dtls_role_for_answer(c"active".as_ptr(), null_mut()),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(
            dtls_role_for_remote_setup(c"\xff".as_ptr(), &mut role),
            DTLS_ERR_UTF8
        );
        assert_eq!(s(dtls_setup_for_role(DTLS_ROLE_CLIENT)), "active");
        assert_eq!(s(dtls_setup_for_role(DTLS_ROLE_SERVER)), "passive");
        assert!(dtls_setup_for_role(9).is_null());

        let mut buf = [0 as c_char; 208];
        let mut len = 0usize;
        for (hash, name, bytes) in [
            (DTLS_HASH_SHA1, "sha-1 ", 20),
            (DTLS_HASH_SHA256, "sha-256 ", 32),
            (DTLS_HASH_SHA384, "sha-384 ", 48),
            (DTLS_HASH_SHA512, "sha-512 ", 64),
        ] {
            assert_eq!(
                dtls_certificate_sdp_fingerprint(
                    f.cert,
                    hash,
                    buf.as_mut_ptr(),
                    buf.len(),
                    &mut len
                ),
                DTLS_OK
            );
            let sdp = s(buf.as_ptr());
            assert_eq!(sdp.len(), len);
            assert!(sdp.starts_with(name), "{sdp}");
            assert_eq!(sdp.len(), name.len() + bytes * 3 - 1, "{sdp}");
            // It is exactly what the other side pins.
            let c = f.ctx(DTLS_ROLE_CLIENT);
            assert_eq!(dtls_ctx_add_peer_fingerprint(c, buf.as_ptr()), DTLS_OK);
            dtls_ctx_free(c);
        }
        assert_eq!(
            dtls_certificate_sdp_fingerprint(f.cert, 99, buf.as_mut_ptr(), buf.len(), &mut len),
            DTLS_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            dtls_certificate_sdp_fingerprint(
                null(),
                DTLS_HASH_SHA256,
                buf.as_mut_ptr(),
                208,
                &mut len
            ),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(
            dtls_certificate_sdp_fingerprint(
                f.cert,
                DTLS_HASH_SHA256,
                buf.as_mut_ptr(),
                10,
                &mut len
            ),
            DTLS_ERR_BUFFER_TOO_SMALL
        );
        assert_eq!(
            len,
            "sha-256 ".len() + 32 * 3 - 1 + 1,
            "needed size includes the NUL"
        );
    }
}

/// The front door through the C ABI: junk is dropped, a first ClientHello gets a
/// HelloVerifyRequest, the retried ClientHello is accepted and completes the handshake in a
/// context bound to the same address; a too-small reply buffer says how much is needed.
#[test]
fn server_prefilter_through_the_c_abi() {
    // dtls_server_prefilter is the DTLS 1.2 front door (dtls_front_door_admit serves 1.3).
    let f = Fixture::with_versions(DTLS_V1_2);
    let peer = *b"127.0.0.1:5000";
    let mut reply = [0u8; DTLS_PREFILTER_REPLY_MAX];
    let (mut n, mut v) = (0usize, 0u32);
    // SAFETY: live handles and valid buffers throughout.
    unsafe {
        let junk = [0x16u8, 0xfe, 0xfd, 0, 0];
        assert_eq!(
            dtls_server_prefilter(
                f.server_cfg,
                0,
                peer.as_ptr(),
                peer.len(),
                junk.as_ptr(),
                junk.len(),
                reply.as_mut_ptr(),
                reply.len(),
                &mut n,
                &mut v
            ),
            DTLS_OK
        );
        assert_eq!((v, n), (DTLS_VERDICT_DROP, 0));

        let c = f.ctx(DTLS_ROLE_CLIENT);
        let mut buf = [0u8; 1500];
        let mut len = 0;
        assert_eq!(
            dtls_poll_output(c, 0, buf.as_mut_ptr(), buf.len(), &mut len),
            DTLS_OK
        );
        let ch1 = buf[..len].to_vec();
        // Too small: the needed size is reported and the verdict left alone.
        let mut small = [0u8; 8];
        v = 0;
        assert_eq!(
            dtls_server_prefilter(
                f.server_cfg,
                0,
                peer.as_ptr(),
                peer.len(),
                ch1.as_ptr(),
                ch1.len(),
                small.as_mut_ptr(),
                small.len(),
                &mut n,
                &mut v
            ),
            DTLS_ERR_BUFFER_TOO_SMALL
        );
        assert!(n > small.len() && n <= DTLS_PREFILTER_REPLY_MAX);
        assert_eq!(v, 0);
        assert_eq!(
            dtls_server_prefilter(
                f.server_cfg,
                0,
                peer.as_ptr(),
                peer.len(),
                ch1.as_ptr(),
                ch1.len(),
                reply.as_mut_ptr(),
                reply.len(),
                &mut n,
                &mut v
            ),
            DTLS_OK
        );
        assert_eq!(v, DTLS_VERDICT_REPLY);
        assert_eq!(dtls_feed(c, reply.as_ptr(), n, 0), DTLS_OK);
        assert_eq!(
            dtls_poll_output(c, 0, buf.as_mut_ptr(), buf.len(), &mut len),
            DTLS_OK
        );
        let ch2 = buf[..len].to_vec();
        // The cookie is bound to the address: another peer gets a new HelloVerifyRequest.
        let other = *b"127.0.0.1:5001";
        assert_eq!(
            dtls_server_prefilter(
                f.server_cfg,
                0,
                other.as_ptr(),
                other.len(),
                ch2.as_ptr(),
                ch2.len(),
                reply.as_mut_ptr(),
                reply.len(),
                &mut n,
                &mut v
            ),
            DTLS_OK
        );
        assert_eq!(v, DTLS_VERDICT_REPLY);
        assert_eq!(
            dtls_server_prefilter(
                f.server_cfg,
                0,
                peer.as_ptr(),
                peer.len(),
                ch2.as_ptr(),
                ch2.len(),
                reply.as_mut_ptr(),
                reply.len(),
                &mut n,
                &mut v
            ),
            DTLS_OK
        );
        assert_eq!((v, n), (DTLS_VERDICT_ACCEPT, 0));

        let srv = f.ctx(DTLS_ROLE_SERVER);
        assert_eq!(
            dtls_ctx_set_peer_address(srv, peer.as_ptr(), peer.len()),
            DTLS_OK
        );
        assert_eq!(dtls_feed(srv, ch2.as_ptr(), ch2.len(), 0), DTLS_OK);
        handshake(c, srv);
        let mut ev = std::mem::zeroed::<dtls_event>();
        let mut connected = false;
        while dtls_poll_event(srv, &mut ev) == DTLS_OK {
            connected |= ev.kind == DTLS_EVENT_CONNECTED;
        }
        assert!(connected, "server context never connected");
        dtls_ctx_free(c);
        dtls_ctx_free(srv);

        // Bad arguments.
        let p = peer.as_ptr();
        let d = ch2.as_ptr();
        let r = reply.as_mut_ptr();
        let cap = reply.len();
        assert_eq!(
            dtls_server_prefilter(null(), 0, p, 4, d, 4, r, cap, &mut n, &mut v),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(
            dtls_server_prefilter(f.server_cfg, 0, null(), 4, d, 4, r, cap, &mut n, &mut v),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(
            dtls_server_prefilter(f.server_cfg, 0, p, 4, null(), 4, r, cap, &mut n, &mut v),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(
            dtls_server_prefilter(f.server_cfg, 0, p, 4, d, 4, null_mut(), cap, &mut n, &mut v),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(
            dtls_server_prefilter(f.server_cfg, 0, p, 4, d, 4, r, cap, null_mut(), &mut v),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(
            dtls_server_prefilter(f.server_cfg, 0, p, 4, d, 4, r, cap, &mut n, null_mut()),
            DTLS_ERR_NULL_POINTER
        );
        let long = [0u8; 300];
        assert_eq!(
            dtls_server_prefilter(
                f.server_cfg,
                0,
                long.as_ptr(),
                300,
                d,
                4,
                r,
                cap,
                &mut n,
                &mut v
            ),
            DTLS_ERR_INVALID_ARGUMENT
        );
    }
}

/// Limits: unknown selectors and NULL are refused at once, too-small values at build.
#[test]
fn limit_setter() {
    // SAFETY: NULL or live builders; every built config freed.
    unsafe {
        assert_eq!(
            dtls_config_builder_set_limit(null_mut(), DTLS_LIMIT_QUEUED_RECORDS, 8),
            DTLS_ERR_NULL_POINTER
        );
        let mut b = null_mut();
        assert_eq!(dtls_config_builder_new(&mut b), DTLS_OK);
        assert_eq!(
            dtls_config_builder_set_limit(b, 0, 8),
            DTLS_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            dtls_config_builder_set_limit(b, 99, 8),
            DTLS_ERR_INVALID_ARGUMENT
        );
        for which in 1..=8 {
            assert_eq!(
                dtls_config_builder_set_limit(b, which, 1 << 20),
                DTLS_OK,
                "{which}"
            );
        }
        let mut cfg = null();
        assert_eq!(dtls_config_builder_build(b, &mut cfg), DTLS_OK);
        dtls_config_free(cfg);

        let mut b = null_mut();
        assert_eq!(dtls_config_builder_new(&mut b), DTLS_OK);
        assert_eq!(
            dtls_config_builder_set_limit(b, DTLS_LIMIT_HANDSHAKE_MESSAGE, 10),
            DTLS_OK
        );
        let mut cfg = null();
        assert_eq!(
            dtls_config_builder_build(b, &mut cfg),
            DTLS_ERR_INVALID_CONFIG
        );
        assert!(cfg.is_null());
    }
}

/// SRTP profiles by name, as OpenSSL's SSL_CTX_set_tlsext_use_srtp takes them, and back.
#[test]
fn srtp_profiles_by_name() {
    // SAFETY: NULL or live builders, NUL-terminated strings.
    unsafe {
        let mut b = null_mut();
        assert_eq!(dtls_config_builder_new(&mut b), DTLS_OK);
        assert_eq!(
            dtls_config_builder_set_srtp_profiles_str(
                b,
                c"SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80".as_ptr()
            ),
            DTLS_OK
        );
        assert_eq!(
            dtls_config_builder_set_srtp_profiles_str(b, c"SRTP_AES128_CM_HMAC_SHA1_32".as_ptr()),
            DTLS_OK,
            "IANA spelling"
        );
        assert_eq!(
            dtls_config_builder_set_srtp_profiles_str(b, c"SRTP_AES128_CM_SHA1_80:NOPE".as_ptr()),
            DTLS_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            dtls_config_builder_set_srtp_profiles_str(b, null()),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(
            dtls_config_builder_set_srtp_profiles_str(null_mut(), c"".as_ptr()),
            DTLS_ERR_NULL_POINTER
        );
        dtls_config_builder_free(b);
        for id in [1u16, 2, 5, 6, 7, 8] {
            let name = s(dtls_srtp_profile_name(id));
            let mut b = null_mut();
            assert_eq!(dtls_config_builder_new(&mut b), DTLS_OK);
            let c = std::ffi::CString::new(name.clone()).unwrap();
            assert_eq!(
                dtls_config_builder_set_srtp_profiles_str(b, c.as_ptr()),
                DTLS_OK,
                "{name}"
            );
            dtls_config_builder_free(b);
        }
        assert!(dtls_srtp_profile_name(3).is_null());
        let (mut name, mut k, mut salt) = (null(), 0usize, 0usize);
        for (id, kl, sl) in [(1u16, 16, 14), (2, 16, 14), (7, 16, 12), (8, 32, 12)] {
            assert_eq!(
                dtls_srtp_profile_info(id, &mut name, &mut k, &mut salt),
                DTLS_OK
            );
            assert_eq!((k, salt), (kl, sl), "{id}");
            assert_eq!(s(name), s(dtls_srtp_profile_name(id)));
        }
        assert_eq!(
            dtls_srtp_profile_info(8, null_mut(), null_mut(), null_mut()),
            DTLS_OK
        );
        k = 99;
        assert_eq!(
            dtls_srtp_profile_info(3, &mut name, &mut k, &mut salt),
            DTLS_ERR_INVALID_ARGUMENT
        );
        assert_eq!(k, 99);
    }
}

/// Groups: chosen and ordered from C; an unsupported one fails at build; NULL and empty refused.
#[test]
fn group_setter() {
    // SAFETY: NULL or live builders; built configs freed.
    unsafe {
        let mut b = null_mut();
        assert_eq!(dtls_config_builder_new(&mut b), DTLS_OK);
        let p256 = [DTLS_GROUP_P256, DTLS_GROUP_P384];
        assert_eq!(dtls_config_builder_set_groups(b, p256.as_ptr(), 2), DTLS_OK);
        assert_eq!(
            dtls_config_builder_set_groups(b, null(), 2),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(
            dtls_config_builder_set_groups(b, p256.as_ptr(), 0),
            DTLS_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            dtls_config_builder_set_groups(null_mut(), p256.as_ptr(), 1),
            DTLS_ERR_NULL_POINTER
        );
        let mut cfg = null();
        assert_eq!(dtls_config_builder_build(b, &mut cfg), DTLS_OK);
        dtls_config_free(cfg);
        let mut b = null_mut();
        assert_eq!(dtls_config_builder_new(&mut b), DTLS_OK);
        let x448 = [30u16];
        assert_eq!(dtls_config_builder_set_groups(b, x448.as_ptr(), 1), DTLS_OK);
        let mut cfg = null();
        assert_eq!(
            dtls_config_builder_build(b, &mut cfg),
            DTLS_ERR_INVALID_CONFIG
        );
    }
}

/// The zero-copy pair through the C ABI: a record sealed by dtls_seal_into opens in place;
/// anything else falls back to the dtls_feed path; bad arguments give the documented codes.
#[test]
fn zero_copy_record_path() {
    let f = Fixture::new();
    let c = f.ctx(DTLS_ROLE_CLIENT);
    let srv = f.ctx(DTLS_ROLE_SERVER);
    // SAFETY: live contexts and valid buffers; NULLs only where tested.
    unsafe {
        let mut d = [0u8; 1500];
        let mut n = 0usize;
        assert_eq!(
            dtls_seal_into(c, b"x".as_ptr(), 1, d.as_mut_ptr(), d.len(), &mut n),
            DTLS_ERR_NOT_CONNECTED
        );
        handshake(c, srv);
        assert_eq!(
            dtls_seal_into(c, b"media".as_ptr(), 5, d.as_mut_ptr(), d.len(), &mut n),
            DTLS_OK
        );
        let (mut p, mut plen) = (null(), 0usize);
        assert_eq!(
            dtls_open_in_place(srv, d.as_mut_ptr(), n, 0, &mut p, &mut plen),
            DTLS_OK
        );
        assert_eq!(std::slice::from_raw_parts(p, plen), b"media");
        assert!(
            p >= d.as_ptr() && p < d.as_ptr().add(n),
            "points into the datagram"
        );
        // Too small: the size needed, nothing consumed.
        let mut small = [0u8; 8];
        assert_eq!(
            dtls_seal_into(c, b"media".as_ptr(), 5, small.as_mut_ptr(), 8, &mut n),
            DTLS_ERR_BUFFER_TOO_SMALL
        );
        assert!(n > 8);
        // A non-application datagram: DTLS_EMPTY, handled as by dtls_feed.
        assert_eq!(dtls_close(c), DTLS_OK);
        let mut len = 0usize;
        assert_eq!(
            dtls_poll_output(c, 0, d.as_mut_ptr(), d.len(), &mut len),
            DTLS_OK
        );
        assert_eq!(
            dtls_open_in_place(srv, d.as_mut_ptr(), len, 0, &mut p, &mut plen),
            DTLS_EMPTY
        );
        let mut ev = std::mem::zeroed::<dtls_event>();
        let mut closed = false;
        while dtls_poll_event(srv, &mut ev) == DTLS_OK {
            closed |= ev.kind == DTLS_EVENT_CLOSE_NOTIFY;
        }
        assert!(closed);
        // Bad arguments.
        let dp = d.as_mut_ptr();
        assert_eq!(
            dtls_seal_into(null_mut(), dp, 1, dp, 10, &mut n),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(
            dtls_seal_into(srv, null(), 1, dp, 10, &mut n),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(
            dtls_seal_into(srv, b"x".as_ptr(), 1, null_mut(), 10, &mut n),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(
            dtls_seal_into(srv, b"x".as_ptr(), 1, dp, 10, null_mut()),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(
            dtls_open_in_place(null_mut(), dp, 1, 0, &mut p, &mut plen),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(
            dtls_open_in_place(srv, null_mut(), 1, 0, &mut p, &mut plen),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(
            dtls_open_in_place(srv, dp, 1, 0, null_mut(), &mut plen),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(
            dtls_open_in_place(srv, dp, 1, 0, &mut p, null_mut()),
            DTLS_ERR_NULL_POINTER
        );
        dtls_ctx_free(c);
        dtls_ctx_free(srv);
    }
}

/// DTLS 1.3 through the C ABI: the mask selects it, the event says 0xFEFC, both sides export
/// the same keys, `dtls_key_update` works on 1.3 and is refused on 1.2.
#[test]
fn dtls13_through_the_c_abi() {
    // SAFETY: all pointers are valid locals or handles from the library, freed once.
    unsafe {
        let mut cert = null_mut();
        assert_eq!(
            dtls_certificate_generate(c"c13".as_ptr(), &mut cert),
            DTLS_OK
        );
        let cfg = |mask: u32| {
            let mut b = null_mut();
            assert_eq!(dtls_config_builder_new(&mut b), DTLS_OK);
            assert_eq!(dtls_config_builder_set_certificate(b, cert), DTLS_OK);
            assert_eq!(
                dtls_config_builder_set_peer_verification(b, DTLS_VERIFY_DANGEROUS_ACCEPT_ANY),
                DTLS_OK
            );
            assert_eq!(dtls_config_builder_set_versions(b, mask), DTLS_OK);
            let mut c = null();
            assert_eq!(dtls_config_builder_build(b, &mut c), DTLS_OK);
            c
        };
        for (cmask, smask, want) in [
            (DTLS_V1_3, DTLS_V1_3, 0xFEFCu16),
            (DTLS_V1_2 | DTLS_V1_3, DTLS_V1_2 | DTLS_V1_3, 0xFEFC),
            (DTLS_V1_2 | DTLS_V1_3, DTLS_V1_2, 0xFEFD),
        ] {
            let (ccfg, scfg) = (cfg(cmask), cfg(smask));
            let (mut c, mut s) = (null_mut(), null_mut());
            assert_eq!(
                dtls_ctx_new(ccfg, DTLS_ROLE_CLIENT, null(), 0, &mut c),
                DTLS_OK
            );
            assert_eq!(
                dtls_ctx_new(scfg, DTLS_ROLE_SERVER, null(), 0, &mut s),
                DTLS_OK
            );
            handshake(c, s);
            let mut ev: dtls_event = std::mem::zeroed();
            let mut version = 0;
            while dtls_poll_event(c, &mut ev) == DTLS_OK {
                if ev.kind == DTLS_EVENT_CONNECTED {
                    version = ev.version;
                }
            }
            assert_eq!(version, want);
            let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
            assert_eq!(
                dtls_export_keying_material(c, b"L".as_ptr(), 1, null(), 0, a.as_mut_ptr(), 32),
                DTLS_OK
            );
            assert_eq!(
                dtls_export_keying_material(s, b"L".as_ptr(), 1, null(), 0, b.as_mut_ptr(), 32),
                DTLS_OK
            );
            assert_eq!(a, b);
            let r = dtls_key_update(c, true, 0);
            if want == 0xFEFC {
                assert_eq!(r, DTLS_OK);
                handshake(c, s);
                assert_eq!(dtls_send(c, b"after".as_ptr(), 5), DTLS_OK);
                handshake(c, s);
                let mut buf = [0u8; 64];
                let mut len = 0;
                assert_eq!(dtls_recv(s, buf.as_mut_ptr(), buf.len(), &mut len), DTLS_OK);
                assert_eq!(&buf[..len], b"after");
            } else {
                assert_eq!(r, DTLS_ERR_INVALID_ARGUMENT);
            }
            dtls_ctx_free(c);
            dtls_ctx_free(s);
            dtls_config_free(ccfg);
            dtls_config_free(scfg);
        }
        dtls_certificate_free(cert);
    }
}
