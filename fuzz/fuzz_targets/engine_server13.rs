//! `engine_server` for DTLS 1.3: the whole engine in the server role, configured for DTLS 1.3
//! only, fed arbitrary datagrams and clock jumps from its first datagram on (input format:
//! `dtls_fuzz::parse`; the flags byte picks cookies, client authentication, MTU and the
//! zero-copy path as in `engine_server`, and `F_V13` is always set). Checked by
//! `dtls_fuzz::Endpoint`: no panic, no error a peer must not be able to cause, no datagram over
//! the MTU, consistent events.
#![no_main]

use dtls_fuzz::{parse, Endpoint, Item, F_V13};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (flags, items) = parse(data);
    let mut ep = Endpoint::server(flags | F_V13);
    for it in items {
        match it {
            Item::Datagram(d) => ep.feed(d),
            Item::Wait(ms) => ep.wait(ms),
        }
        ep.drain();
        let _ = ep.send_app(b"fuzz");
        if ep.connected && ep.failed.is_none() {
            // After the handshake: a KeyUpdate both ways is ordinary traffic (RFC 9147 §8).
            let now = ep.now;
            let _ = ep.conn.key_update(now, true);
        }
    }
    let _ = ep.conn.close();
    ep.drain();
});
