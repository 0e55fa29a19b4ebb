//! `dtls_front_door_*`: the reassembling front door through the C ABI. The C builder cannot
//! enable DTLS 1.3 yet, so the 1.3 server configuration is built with the engine and handed
//! over as the `Arc` a `dtls_config` is; the client is the engine's own `Connection`.

use dtls::*;
use dtls_proto::{
    Certificate, Config, Connection, NamedGroup, PeerVerification, ProtocolVersion, Role,
};
use std::ptr::{null, null_mut};
use std::sync::Arc;

fn as_c(cfg: Arc<Config>) -> *const dtls_config {
    Arc::into_raw(cfg).cast()
}

fn server_cfg(versions: &[ProtocolVersion]) -> *const dtls_config {
    as_c(
        Config::builder()
            .certificate(Certificate::generate("server").unwrap())
            .versions(versions)
            .groups(&[NamedGroup::X25519MlKem768, NamedGroup::X25519])
            .build()
            .unwrap(),
    )
}

fn client(versions: &[ProtocolVersion]) -> Connection {
    let cfg = Config::builder()
        .peer_verification(PeerVerification::DangerousAcceptAny)
        .versions(versions)
        .groups(&[NamedGroup::X25519MlKem768, NamedGroup::X25519])
        .mtu(256)
        .build()
        .unwrap();
    Connection::new(cfg, Role::Client, None, 0).unwrap()
}

const PEER: &[u8] = b"127.0.0.1:5000";

/// Runs `client` against a server made through `door`; returns the verdicts seen and whether
/// the server context reported CONNECTED.
///
/// # Safety
/// `cfg` and `door` are live.
unsafe fn handshake(
    cfg: *const dtls_config,
    door: *mut dtls_front_door,
    client: &mut Connection,
) -> (Vec<u32>, bool) {
    let mut verdicts = Vec::new();
    let mut srv: *mut dtls_ctx = null_mut();
    let mut buf = vec![0u8; 2048];
    let mut out = vec![0u8; DTLS_FRONT_DOOR_OUT_MAX];
    for _ in 0..20 {
        while let Some(n) = client.poll_transmit(0, &mut buf).unwrap() {
            if !srv.is_null() {
                assert_eq!(unsafe { dtls_feed(srv, buf.as_ptr(), n, 0) }, DTLS_OK);
                continue;
            }
            let (mut len, mut v) = (0usize, 0u32);
            let r = unsafe {
                dtls_front_door_admit(
                    door,
                    0,
                    PEER.as_ptr(),
                    PEER.len(),
                    buf.as_ptr(),
                    n,
                    out.as_mut_ptr(),
                    out.len(),
                    &mut len,
                    &mut v,
                )
            };
            assert_eq!(r, DTLS_OK);
            verdicts.push(v);
            match v {
                DTLS_VERDICT_REPLY => client.handle_datagram(0, &out[..len]).unwrap(),
                DTLS_VERDICT_ACCEPT => unsafe {
                    assert_eq!(
                        dtls_ctx_new(cfg, DTLS_ROLE_SERVER, null(), 0, &mut srv),
                        DTLS_OK
                    );
                    assert_eq!(
                        dtls_ctx_set_peer_address(srv, PEER.as_ptr(), PEER.len()),
                        DTLS_OK
                    );
                    assert_eq!(dtls_feed(srv, out.as_ptr(), len, 0), DTLS_OK);
                },
                DTLS_VERDICT_HELD => assert_eq!(len, 0),
                other => panic!("verdict {other}"),
            }
        }
        if srv.is_null() {
            continue;
        }
        let mut len = 0usize;
        while unsafe { dtls_poll_output(srv, 0, buf.as_mut_ptr(), buf.len(), &mut len) } == DTLS_OK
        {
            client.handle_datagram(0, &buf[..len]).unwrap();
        }
    }
    let mut connected = false;
    if !srv.is_null() {
        let mut ev = unsafe { std::mem::zeroed::<dtls_event>() };
        while unsafe { dtls_poll_event(srv, &mut ev) } == DTLS_OK {
            connected |= ev.kind == DTLS_EVENT_CONNECTED;
        }
        unsafe { dtls_ctx_free(srv) };
    }
    (verdicts, connected)
}

#[test]
fn fragmented_hybrid_hello_through_the_c_front_door() {
    let cfg = server_cfg(&[ProtocolVersion::Dtls12, ProtocolVersion::Dtls13]);
    // SAFETY: live handles and valid buffers throughout.
    unsafe {
        let mut door = null_mut();
        assert_eq!(dtls_front_door_new(cfg, 64 * 1024, &mut door), DTLS_OK);
        let mut c = client(&[ProtocolVersion::Dtls12, ProtocolVersion::Dtls13]);
        let (verdicts, connected) = handshake(cfg, door, &mut c);
        assert!(connected && c.is_connected(), "verdicts {verdicts:?}");
        assert_eq!(c.negotiated().unwrap().version, ProtocolVersion::Dtls13);
        assert_eq!(c.negotiated().unwrap().group, NamedGroup::X25519MlKem768);
        let count = |v| verdicts.iter().filter(|x| **x == v).count();
        assert_eq!(count(DTLS_VERDICT_REPLY), 1);
        assert_eq!(count(DTLS_VERDICT_ACCEPT), 1);
        assert!(count(DTLS_VERDICT_HELD) >= 8, "{verdicts:?}");
        let (mut bytes, mut entries) = (1usize, 1usize);
        assert_eq!(
            dtls_front_door_pool(door, &mut bytes, &mut entries),
            DTLS_OK
        );
        assert_eq!((bytes, entries), (0, 0));

        // A held fragment shows in the pool; too small an output buffer reports the size.
        let mut c = client(&[ProtocolVersion::Dtls13]);
        let mut buf = vec![0u8; 2048];
        let mut frags = Vec::new();
        while let Some(n) = c.poll_transmit(0, &mut buf).unwrap() {
            frags.push(buf[..n].to_vec());
        }
        let (mut len, mut v) = (0usize, 0u32);
        let mut small = [0u8; 16];
        let admit = |d: &[u8], out: &mut [u8], len: &mut usize, v: &mut u32| {
            dtls_front_door_admit(
                door,
                0,
                PEER.as_ptr(),
                PEER.len(),
                d.as_ptr(),
                d.len(),
                out.as_mut_ptr(),
                out.len(),
                len,
                v,
            )
        };
        for f in &frags[..frags.len() - 1] {
            assert_eq!(admit(f, &mut small, &mut len, &mut v), DTLS_OK);
            assert_eq!((v, len), (DTLS_VERDICT_HELD, 0));
        }
        assert_eq!(dtls_front_door_pool(door, &mut bytes, null_mut()), DTLS_OK);
        assert!(bytes > 1400 && bytes <= 64 * 1024, "{bytes}");
        v = 0;
        let last = frags.last().unwrap();
        assert_eq!(
            admit(last, &mut small, &mut len, &mut v),
            DTLS_ERR_BUFFER_TOO_SMALL
        );
        assert!(len > small.len() && len <= DTLS_PREFILTER_REPLY_MAX);
        assert_eq!(v, 0);

        // Bad arguments.
        let p = PEER.as_ptr();
        let d = last.as_ptr();
        let o = small.as_mut_ptr();
        assert_eq!(
            dtls_front_door_admit(null_mut(), 0, p, 4, d, 4, o, 16, &mut len, &mut v),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(
            dtls_front_door_admit(door, 0, null(), 4, d, 4, o, 16, &mut len, &mut v),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(
            dtls_front_door_admit(door, 0, p, 4, d, 4, o, 16, null_mut(), &mut v),
            DTLS_ERR_NULL_POINTER
        );
        let long = [0u8; 300];
        assert_eq!(
            dtls_front_door_admit(door, 0, long.as_ptr(), 300, d, 4, o, 16, &mut len, &mut v),
            DTLS_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            dtls_front_door_pool(null(), &mut bytes, &mut entries),
            DTLS_ERR_NULL_POINTER
        );
        let mut none = null_mut();
        assert_eq!(
            dtls_front_door_new(null(), 0, &mut none),
            DTLS_ERR_NULL_POINTER
        );
        assert_eq!(
            dtls_front_door_new(cfg, 0, null_mut()),
            DTLS_ERR_NULL_POINTER
        );
        dtls_front_door_free(door);
        dtls_front_door_free(null_mut());
        dtls_config_free(cfg);
    }
}

#[test]
fn dtls12_client_through_the_c_front_door_gets_a_hello_verify_request() {
    for versions in [
        &[ProtocolVersion::Dtls12][..],
        &[ProtocolVersion::Dtls12, ProtocolVersion::Dtls13][..],
    ] {
        let cfg = server_cfg(versions);
        // SAFETY: live handles throughout.
        unsafe {
            let mut door = null_mut();
            assert_eq!(dtls_front_door_new(cfg, 0, &mut door), DTLS_OK);
            let mut c = client(&[ProtocolVersion::Dtls12]);
            let (verdicts, connected) = handshake(cfg, door, &mut c);
            assert!(connected, "{verdicts:?}");
            assert_eq!(c.negotiated().unwrap().version, ProtocolVersion::Dtls12);
            assert_eq!(
                verdicts
                    .iter()
                    .filter(|v| **v == DTLS_VERDICT_REPLY)
                    .count(),
                1
            );
            dtls_front_door_free(door);
            dtls_config_free(cfg);
        }
    }
}
