//! The zero-copy record path: `seal_into` (one copy, no queue) and `open_in_place` (no copy),
//! interchangeable with `send`/`poll_transmit` and `handle_datagram`/`recv` on the wire, and
//! keeping their guarantees: order, replay protection, forgeries dropped and counted.

use crate::common::pair::*;
use crate::version_tests;
use dtls_proto::*;

/// A connected instant pair, the endpoints handed out for direct use.
fn connected_pair(v: Version) -> (Connection, Connection) {
    Pair::connected(accept_any(v)).into_connections()
}

fn records_cross_both_ways_and_mix_with_the_queued_api(v: Version) {
    let (mut c, mut s) = connected_pair(v);
    let drops_before = s.stats().dropped.total();
    let mut d = [0u8; 1500];
    let mut app = [0u8; 1500];
    for size in [0usize, 1, 15, 16, 17, 100, 1000, c.max_send_len()] {
        let data: Vec<u8> = (0..size).map(|i| i as u8).collect();
        // seal_into -> open_in_place.
        let n = c.seal_into(&data, &mut d).unwrap();
        assert_eq!(s.open_in_place(0, &mut d[..n]).unwrap(), Some(&data[..]));
        // seal_into -> handle_datagram + recv.
        let n = s.seal_into(&data, &mut d).unwrap();
        c.handle_datagram(0, &d[..n]).unwrap();
        assert_eq!(c.recv(&mut app).unwrap(), Some(size));
        assert_eq!(&app[..size], &data[..]);
        // send + poll_transmit -> open_in_place.
        c.send(&data).unwrap();
        let n = c.poll_transmit(0, &mut d).unwrap().unwrap();
        assert_eq!(s.open_in_place(0, &mut d[..n]).unwrap(), Some(&data[..]));
    }
    assert_eq!(
        s.stats().dropped.total(),
        drops_before,
        "{:?}",
        s.stats().dropped
    );
}
version_tests!(records_cross_both_ways_and_mix_with_the_queued_api);

fn order_is_kept_when_the_queues_hold_data(v: Version) {
    let (mut c, mut s) = connected_pair(v);
    let mut d = [0u8; 1500];
    // A record queued by send must go first: seal_into refuses to overtake it.
    c.send(b"first").unwrap();
    assert!(matches!(
        c.seal_into(b"second", &mut d),
        Err(Error::InvalidArgument(_))
    ));
    let n = c.poll_transmit(0, &mut d).unwrap().unwrap();
    s.handle_datagram(0, &d[..n]).unwrap(); // "first" now waits in the receive queue
    let n = c.seal_into(b"second", &mut d).unwrap();
    // open_in_place must not deliver "second" ahead of the unread "first".
    assert_eq!(s.open_in_place(0, &mut d[..n]).unwrap(), None);
    let mut app = [0u8; 64];
    assert_eq!(s.recv(&mut app).unwrap(), Some(5));
    assert_eq!(&app[..5], b"first");
    assert_eq!(s.recv(&mut app).unwrap(), Some(6));
    assert_eq!(&app[..6], b"second");
}
version_tests!(order_is_kept_when_the_queues_hold_data);

fn replays_and_forgeries_are_dropped_and_counted(v: Version) {
    let (mut c, mut s) = connected_pair(v);
    let mut d = [0u8; 1500];
    let n = c.seal_into(b"once", &mut d).unwrap();
    let copy = d[..n].to_vec();
    assert_eq!(s.open_in_place(0, &mut d[..n]).unwrap(), Some(&b"once"[..]));
    let mut again = copy.clone();
    assert_eq!(s.open_in_place(0, &mut again).unwrap(), None);
    assert_eq!(s.stats().dropped.replayed, 1);
    let n = c.seal_into(b"forged", &mut d).unwrap();
    d[n - 1] ^= 1;
    assert_eq!(s.open_in_place(0, &mut d[..n]).unwrap(), None);
    assert_eq!(s.stats().dropped.auth_failed, 1);
    // Junk and a short datagram take the ordinary path and are dropped there.
    assert_eq!(s.open_in_place(0, &mut [23u8, 0xfe, 0xfd]).unwrap(), None);
    assert!(s.is_connected());
    let n = c.seal_into(b"still fine", &mut d).unwrap();
    assert_eq!(
        s.open_in_place(0, &mut d[..n]).unwrap(),
        Some(&b"still fine"[..])
    );
}
version_tests!(replays_and_forgeries_are_dropped_and_counted);

fn other_datagrams_take_the_ordinary_path(v: Version) {
    let (mut c, mut s) = connected_pair(v);
    let mut d = [0u8; 1500];
    // A close_notify is not application data: handled, reported as an event.
    c.close().unwrap();
    let n = c.poll_transmit(0, &mut d).unwrap().unwrap();
    assert_eq!(s.open_in_place(0, &mut d[..n]).unwrap(), None);
    assert!(matches!(s.poll_event(), Some(Event::CloseNotify)));
    // seal_into refuses before the handshake and after the close.
    assert!(c.seal_into(b"x", &mut d).is_err());
    let small = &mut [0u8; 8];
    let (mut c, _) = connected_pair(v);
    assert!(matches!(
        c.seal_into(b"too big for the buffer", small),
        Err(Error::BufferTooSmall { .. })
    ));
    assert!(matches!(
        c.seal_into(&vec![0u8; 5000], &mut d),
        Err(Error::InvalidArgument(_))
    ));
}
version_tests!(other_datagrams_take_the_ordinary_path);
