//! The whole engine in the server role, fed arbitrary datagrams and clock jumps from its first
//! datagram on (input format: `dtls_fuzz::parse`). Every datagram is also offered to the
//! stateless front door. Checked by `dtls_fuzz::Endpoint`: no panic, no error a peer must not
//! be able to cause, no datagram over the MTU, consistent events.
#![no_main]

use dtls_fuzz::{parse, server_config, Endpoint, Item, PEER_ADDR};
use dtls_proto::msgs::record::Records;
use dtls_proto::{ServerFrontDoor, Verdict};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (flags, items) = parse(data);
    let door = ServerFrontDoor::new(server_config(flags));
    let mut ep = Endpoint::server(flags);
    let mut reply = [0u8; 512];
    for it in items {
        match it {
            Item::Datagram(d) => {
                if let Verdict::Reply(n) = door.prefilter(ep.now, PEER_ADDR, d, &mut reply) {
                    // A HelloVerifyRequest: one record, small (no amplification).
                    assert!(n <= 13 + 12 + 3 + 255);
                    assert_eq!(Records::new(&reply[..n]).count(), 1);
                }
                ep.feed(d);
            }
            Item::Wait(ms) => ep.wait(ms),
        }
        ep.drain();
        let _ = ep.send_app(b"fuzz");
    }
    let _ = ep.conn.close();
    ep.drain();
});
