//! `engine_client` for DTLS 1.3: the whole engine in the client role, configured for DTLS 1.3
//! only; after its ClientHello, arbitrary datagrams and clock jumps (input format:
//! `dtls_fuzz::parse`, `F_V13` always set). Checked by `dtls_fuzz::Endpoint`, and: a client
//! that completes has authenticated the pinned server certificate.
#![no_main]

use dtls_fuzz::{parse, server_cert, Endpoint, Item, F_V13};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (flags, items) = parse(data);
    let mut ep = Endpoint::client(flags | F_V13);
    ep.drain();
    for it in items {
        match it {
            Item::Datagram(d) => ep.feed(d),
            Item::Wait(ms) => ep.wait(ms),
        }
        ep.drain();
        if ep.connected && ep.failed.is_none() {
            // The client pins the server fixture: nobody else can have completed.
            assert_eq!(ep.conn.peer_certificates(), server_cert().chain());
            let now = ep.now;
            let _ = ep.conn.key_update(now, true);
        }
        let _ = ep.send_app(b"fuzz");
    }
    let _ = ep.conn.close();
    ep.drain();
});
