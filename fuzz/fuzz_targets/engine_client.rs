//! The whole engine in the client role: after its ClientHello, arbitrary datagrams and clock
//! jumps (input format: `dtls_fuzz::parse`). Checked by `dtls_fuzz::Endpoint`.
#![no_main]

use dtls_fuzz::{parse, server_cert, Endpoint, Item};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (flags, items) = parse(data);
    let mut ep = Endpoint::client(flags);
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
        }
        let _ = ep.send_app(b"fuzz");
    }
    let _ = ep.conn.close();
    ep.drain();
});
