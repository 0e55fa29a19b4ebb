//! The network-impairment matrix, asserted (issue 7, part 1). The simulation lives in
//! `tests/common/impair.rs`; the full matrix with 200 trials per cell is the reporting tool
//! `cargo run --release --example impairment_matrix` (all 288 cells). Here a representative
//! subset of 28 cells runs, also with 200 seeded trials each (`TRIALS`, seeds 1..=200), plus
//! single deterministic trials on a lossless link: a handshake costs about 1 ms even in a
//! debug build (ring's primitives are assembly), so the file takes about 10 s of CPU in
//! debug. Asserted:
//!
//! - a lossless link completes in exactly the ideal time (one-way trips x latency), in every
//!   cookie mode, with and without client authentication, at MTU 200 and 1500;
//! - up to 30 % loss, with reordering, duplication, jitter or a round trip longer than the
//!   RTO, every trial completes within the handshake deadline (RFC 6347 §4.2.4
//!   retransmission recovers every loss) and application data crosses intact, with the RTO
//!   backoff capped at 4 s (`Timers::CAPPED`; why: see `lossy_cells`);
//! - at 50 % loss every trial completes or fails with `HandshakeTimeout`, on both sides;
//! - bit corruption never delivers a corrupted application record: protected records that
//!   fail authentication are dropped (RFC 6347 §4.1.2.7), so every record received is
//!   byte-equal to one the peer sent, and none arrives twice;
//! - no trial hangs: even 100 % or 90 % loss ends at the configured deadline.
//!
//! Every trial is bounded (virtual-time limit and iteration cap inside the driver), so a stuck
//! engine fails a test instead of hanging it.

#[path = "common/impair.rs"]
mod impair;

use dtls_proto::Error;
use impair::{profile, run_cell, Cell, CellReport, Cookie, Kind, Timers};

/// Trials per cell, as in the reporting tool. Lower it (not below 30) if debug time ever
/// matters more than coverage.
const TRIALS: u64 = 200;

fn run(cell: &Cell) -> CellReport {
    run_cell(cell, TRIALS, 1)
}

/// What must hold in every trial of every cell, whatever the outcome: nothing hung, no
/// corrupted, forged or duplicated application record was delivered, each `Failed` event
/// matches an error the engine returned, and no event came after the handshake completed.
fn check_invariants(r: &CellReport) {
    let label = r.cell.label();
    for t in &r.trials {
        assert!(t.hung.is_none(), "{label}: {}", t.describe());
        assert_eq!(t.foreign_app_records(), 0, "{label}: {}", t.describe());
        assert_eq!(t.duplicate_app_records(), 0, "{label}: {}", t.describe());
        for (role, log) in [("client", &t.client), ("server", &t.server)] {
            assert_eq!(
                log.failed_events,
                usize::from(log.error.is_some()),
                "{label} {role}: one Failed event per fatal error: {}",
                t.describe()
            );
            assert_eq!(
                log.late_events,
                0,
                "{label} {role}: events after Connected: {}",
                t.describe()
            );
            if let Some((_, e)) = &log.error {
                assert!(
                    !matches!(
                        e,
                        Error::Internal(_)
                            | Error::BufferTooSmall { .. }
                            | Error::InvalidArgument(_)
                            | Error::NotConnected
                            | Error::Closed
                            | Error::InvalidConfig(_)
                    ),
                    "{label} {role}: an error the network must not cause: {}",
                    t.describe()
                );
            }
        }
    }
}

/// Every trial completed within the handshake deadline, and application data crossed.
fn assert_all_complete(r: &CellReport) {
    check_invariants(r);
    let label = r.cell.label();
    let deadline = r.cell.timers.handshake_timeout_ms;
    for t in &r.trials {
        assert_eq!(t.kind(), Kind::Completed, "{label}: {}", t.describe());
        let at = t.completed_at.unwrap_or(u64::MAX);
        assert!(at <= deadline, "{label}: {}", t.describe());
        // Application records are sent once, without retransmission (DTLS has none), so some
        // are lost with the link's loss; but with no loss every one arrives.
        let (sent, delivered) = t.app_counts();
        assert_eq!(sent, 2 * r.cell.app_records, "{label}: {}", t.describe());
        if r.cell.loss == 0.0 && r.cell.corrupt == 0.0 && r.cell.app_phase_corrupt.is_none() {
            assert_eq!(delivered, sent, "{label}: {}", t.describe());
        }
    }
}

/// Every trial completed, or both sides' errors are `HandshakeTimeout`.
fn assert_complete_or_timeout(r: &CellReport) {
    check_invariants(r);
    let label = r.cell.label();
    for t in &r.trials {
        assert!(
            matches!(t.kind(), Kind::Completed | Kind::Timeout),
            "{label}: {}",
            t.describe()
        );
        if t.kind() == Kind::Timeout {
            // The client's deadline runs from its start at t = 0.
            if let Some((at, _)) = &t.client.error {
                assert_eq!(*at, r.cell.timers.handshake_timeout_ms, "{}", t.describe());
            }
        }
    }
}

/// On a lossless link the handshake takes exactly the ideal time: 4 one-way trips without
/// the cookie, 6 with it, whatever the MTU, the cookie mode and the authentication. With
/// a 50 ms latency no timer fires; with 600 ms (a round trip above the 1 s initial RTO) timers
/// fire and retransmit, but that never delays completion.
#[test]
fn lossless_link_takes_the_ideal_time() {
    for p in ["plain", "slow"] {
        for cookie in [Cookie::Off, Cookie::FrontDoor, Cookie::Engine] {
            for client_auth in [false, true] {
                for mtu in [200u16, 1500] {
                    let cell = Cell {
                        cookie,
                        client_auth,
                        mtu,
                        ..profile(p)
                    };
                    let r = run_cell(&cell, 1, 1);
                    assert_all_complete(&r);
                    let t = &r.trials[0];
                    assert_eq!(
                        t.completed_at,
                        Some(cell.ideal_ms()),
                        "{}: {}",
                        cell.label(),
                        t.describe()
                    );
                    // The server completes one trip before the client (it gets the client's
                    // Finished first, RFC 6347 §4.2.4 flight 5 before 6).
                    assert_eq!(
                        t.server.connected_at,
                        Some(cell.ideal_ms() - cell.latency_ms),
                        "{}",
                        cell.label()
                    );
                    let rtx: u64 = [&t.client.stats, &t.server.stats]
                        .into_iter()
                        .flatten()
                        .map(|s| s.retransmissions)
                        .sum();
                    if p == "plain" {
                        assert_eq!(rtx, 0, "{}: {}", cell.label(), t.describe());
                    } else {
                        assert!(rtx > 0, "{}: {}", cell.label(), t.describe());
                    }
                    // (With the slow profile the ClientHello is sent twice before the
                    // HelloVerifyRequest can arrive, and each gets one.)
                    if cookie == Cookie::FrontDoor && p == "plain" {
                        assert_eq!(t.door.get("reply"), Some(&1), "{}", cell.label());
                        assert_eq!(t.door.get("accept"), Some(&1), "{}", cell.label());
                    }
                }
            }
        }
    }
}

/// The cells at 10 % and 30 % loss: every profile but corruption (which may legitimately
/// fail a handshake, see below), MTUs 200 / 576 / 1500, each cookie mode, both kinds of
/// authentication.
///
/// Timers: the RFC's 1 s initial RTO, backoff capped at 4 s, 60 s deadline
/// (`Timers::CAPPED`). With the default cap of 60 s only 6 transmissions of a flight fit in
/// the 60 s deadline (at 0, 1, 3, 7, 15 and 31 s), and at 30 % loss a round trip fails with
/// probability 1 - 0.7^2 = 0.51, so about 2 % of handshakes time out (0.51^6 per exchange;
/// the reporting tool measures it). That is the schedule, not a defect; the assertion that
/// every handshake completes at 30 % loss needs a schedule that retries more often.
fn lossy_cells() -> Vec<Cell> {
    let mut cells = Vec::new();
    for loss in [0.1, 0.3] {
        for (p, mtu, cookie, client_auth) in [
            ("plain", 200, Cookie::FrontDoor, true),
            ("plain", 1500, Cookie::Off, false),
            ("reorder", 576, Cookie::Engine, true),
            ("dup", 1500, Cookie::FrontDoor, false),
            ("mixed", 200, Cookie::Off, true),
            ("mixed", 576, Cookie::FrontDoor, true),
            ("slow", 1500, Cookie::FrontDoor, true),
        ] {
            cells.push(Cell {
                loss,
                mtu,
                cookie,
                client_auth,
                timers: Timers::CAPPED,
                ..profile(p)
            });
        }
    }
    cells
}

#[test]
fn up_to_30_percent_loss_every_trial_completes() {
    let mut retransmissions = 0.0;
    for cell in lossy_cells() {
        let r = run(&cell);
        assert_all_complete(&r);
        retransmissions += r.mean_retransmissions();
    }
    // The loss really forced retransmissions.
    assert!(retransmissions > 10.0, "{retransmissions}");
}

/// At 50 % loss a handshake may run out of time, but only that way: every trial completes or
/// fails with `HandshakeTimeout` on every side that failed, the client exactly at its deadline.
/// Some do complete, so the link is not simply dead. Both timer schedules; and the default
/// schedule at 30 % loss, where some trials time out too (see `lossy_cells`).
#[test]
fn at_50_percent_loss_every_trial_completes_or_times_out() {
    for (loss, timers, p, mtu, cookie, client_auth) in [
        (0.5, Timers::DEFAULT, "plain", 200, Cookie::FrontDoor, true),
        (0.5, Timers::DEFAULT, "plain", 1500, Cookie::Off, false),
        (0.5, Timers::DEFAULT, "mixed", 576, Cookie::Engine, true),
        (0.5, Timers::DEFAULT, "slow", 1500, Cookie::FrontDoor, false),
        (0.5, Timers::CAPPED, "mixed", 200, Cookie::FrontDoor, true),
        (0.5, Timers::CAPPED, "dup", 1500, Cookie::Off, true),
        (0.3, Timers::DEFAULT, "plain", 576, Cookie::FrontDoor, true),
        (0.3, Timers::DEFAULT, "reorder", 1500, Cookie::Off, false),
    ] {
        let cell = Cell {
            loss,
            mtu,
            cookie,
            client_auth,
            timers,
            ..profile(p)
        };
        let r = run(&cell);
        assert_complete_or_timeout(&r);
        assert!(r.count(&Kind::Completed) > 0, "{}", cell.label());
    }
}

/// Bit flips: a flipped bit in a protected record fails authentication and the record is
/// dropped (counted), never delivered and never fatal. A flipped bit in a plaintext handshake
/// message may legitimately fail the handshake (nothing authenticates it until Finished, so
/// the transcripts differ, RFC 5246 §7.4.9), but only with an error a peer can cause, and
/// never by hanging. Whatever the handshake did, no corrupted application record is delivered.
#[test]
fn corruption_never_delivers_a_corrupted_record() {
    let mut auth_failed = 0;
    let mut completed = 0;
    for (loss, mtu, cookie) in [
        (0.0, 1500, Cookie::FrontDoor),
        (0.1, 200, Cookie::Off),
        (0.3, 576, Cookie::Engine),
    ] {
        let cell = Cell {
            loss,
            mtu,
            cookie,
            ..profile("corrupt")
        };
        let r = run(&cell);
        check_invariants(&r);
        completed += r.count(&Kind::Completed);
        for t in &r.trials {
            for s in [&t.client.stats, &t.server.stats].into_iter().flatten() {
                auth_failed += s.dropped.auth_failed;
            }
            if t.kind() == Kind::Completed && loss == 0.0 {
                // Each corrupted datagram of the application phase is lost, nothing else is.
                let (sent, delivered) = t.app_counts();
                assert!(
                    delivered as u64 + t.link_after_connect.corrupted >= sent as u64,
                    "{}: {}",
                    cell.label(),
                    t.describe()
                );
            }
        }
    }
    // Most corrupted datagrams hit protected records or are repaired: many trials complete.
    assert!(completed as u64 > TRIALS, "{completed}");
    assert!(auth_failed > 0, "no corrupted protected record was seen");
}

/// Half the datagrams of the application phase have a bit flipped: 300 records each way per
/// trial; every delivered record is one the peer sent, exactly as sent; the association
/// survives; and the corrupted ones are counted as dropped.
#[test]
fn application_data_survives_heavy_corruption() {
    let cell = Cell {
        app_records: 300,
        app_phase_corrupt: Some(0.5),
        mtu: 576,
        ..profile("plain")
    };
    let r = run_cell(&cell, 10, 1);
    assert_all_complete(&r);
    for t in &r.trials {
        let (sent, delivered) = t.app_counts();
        let corrupted = t.link_after_connect.corrupted;
        assert!(corrupted > 200, "{}", t.describe());
        // No loss: exactly the corrupted datagrams are missing.
        assert_eq!(
            delivered as u64 + corrupted,
            sent as u64,
            "{}",
            t.describe()
        );
        let dropped: u64 = [&t.client.stats, &t.server.stats]
            .into_iter()
            .flatten()
            .map(|s| s.dropped.total())
            .sum();
        // A flip in the length field makes the record run past the datagram, which is
        // dropped before it counts as a record; every other flip is counted.
        assert!(
            dropped >= corrupted * 9 / 10,
            "dropped {dropped} of {corrupted}"
        );
    }
}

/// Nothing hangs at the extremes: with 90 % loss, tiny timers and MTU 200, and with 100 %
/// loss, every trial ends by itself, and the client fails exactly at its deadline.
#[test]
fn extreme_loss_ends_at_the_deadline() {
    let timers = Timers {
        initial_rto_ms: 100,
        max_rto_ms: 400,
        handshake_timeout_ms: 3_000,
    };
    for (loss, cookie) in [
        (0.9, Cookie::FrontDoor),
        (1.0, Cookie::Engine),
        (1.0, Cookie::Off),
    ] {
        let cell = Cell {
            loss,
            mtu: 200,
            cookie,
            timers,
            ..profile("mixed")
        };
        let r = run(&cell);
        assert_complete_or_timeout(&r);
        if loss == 1.0 {
            assert_eq!(r.count(&Kind::Timeout), r.trials.len(), "{}", cell.label());
            for t in &r.trials {
                // 100 % loss: the client's ClientHello is retransmitted on the RTO schedule
                // (100, 200, 400, 400, ...) until the 3 s deadline.
                let s = t.client.stats.as_ref().unwrap();
                assert_eq!(s.retransmissions, 8, "{}", t.describe());
                assert!(t.ended_at <= 2 * timers.handshake_timeout_ms + timers.max_rto_ms);
            }
        }
    }
}

/// The test pair's front door (`Pair::with_front_door`, i.e. `ServerFrontDoor::admit`) admits
/// a DTLS 1.3-only client: one HelloRetryRequest cookie, then one accept. At MTU 200 the
/// ClientHello spans datagrams, so the door holds its first fragments until the last arrives.
#[test]
fn front_door_admits_a_dtls13_client() {
    for mtu in [200u16, 1500] {
        let cell = Cell {
            cookie: Cookie::FrontDoor,
            mtu,
            version: impair::pair::Version::V13,
            ..profile("plain")
        };
        let r = run_cell(&cell, 1, 1);
        assert_all_complete(&r);
        let t = &r.trials[0];
        assert_eq!(
            t.door.get("reply"),
            Some(&1),
            "{}: {:?}",
            cell.label(),
            t.door
        );
        assert_eq!(
            t.door.get("accept"),
            Some(&1),
            "{}: {:?}",
            cell.label(),
            t.door
        );
        assert_eq!(t.door.get("drop"), None, "{}: {:?}", cell.label(), t.door);
        if mtu == 200 {
            assert!(t.door.get("held").is_some_and(|&n| n >= 1), "{:?}", t.door);
        } else {
            assert_eq!(t.door.get("held"), None, "{:?}", t.door);
        }
    }
}
