"""The sans-IO API: two Connections talking in memory, with a virtual clock."""

from __future__ import annotations

import random
import threading
from typing import Any

import pytest
from conftest import client_certificate, fixture_bytes, pinned_pair, pump, server_certificate

import dtls
from dtls import (
    Accept,
    Certificate,
    CertificateError,
    CertificateRejectedError,
    CloseNotify,
    Config,
    Connected,
    Connection,
    ConnectionClosedError,
    Drop,
    DtlsError,
    ExporterUnavailableError,
    Failed,
    FingerprintMismatchError,
    HandshakeTimeoutError,
    Held,
    InvalidArgumentError,
    InvalidConfigError,
    NotConnectedError,
    PeerCertificate,
    Reply,
    ServerFrontDoor,
)

SRTP_LABEL = "EXTRACTOR-dtls_srtp"
#: For tests of DTLS 1.2 behaviour (its suites, cleartext alerts, HelloVerifyRequest): the
#: default config offers 1.3 too and negotiates it.
V12: dict[str, Any] = {"versions": ["1.2"]}


def drain_events(conn: Connection) -> list[dtls.Event]:
    events: list[dtls.Event] = []
    while (event := conn.next_event()) is not None:
        events.append(event)
    return events


# -- handshake, data, exporter -------------------------------------------------------------


def test_handshake_and_data_both_ways() -> None:
    client, server = pinned_pair(client_kwargs=V12, server_kwargs=V12)
    assert client.role == "client" and server.role == "server"
    assert not client.is_connected
    pump(client, server)
    assert client.is_connected and server.is_connected

    cevents = drain_events(client)
    sevents = drain_events(server)
    # The peer's certificate is verified before the handshake completes.
    assert [type(e) for e in cevents] == [PeerCertificate, Connected]
    assert [type(e) for e in sevents] == [PeerCertificate, Connected]
    assert isinstance(cevents[1], Connected)
    negotiated = cevents[1].negotiated
    assert negotiated == client.negotiated == server.negotiated
    assert negotiated.version == "DTLSv1.2"
    assert negotiated.cipher_suite == "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
    assert negotiated.cipher_suite_openssl == "ECDHE-ECDSA-AES128-GCM-SHA256"
    assert negotiated.cipher_suite_id == 0xC02B
    assert negotiated.group == "x25519"
    assert negotiated.extended_master_secret
    assert negotiated.srtp_profile is None and negotiated.alpn is None

    # Each side holds the other's (self-signed) certificate.
    assert isinstance(cevents[0], PeerCertificate)
    assert cevents[0].certificates == tuple(client.peer_certificates())
    assert len(client.peer_certificates()) == 1

    client.send(b"ping")
    client.send(bytearray(b"two"))
    pump(client, server)
    assert server.recv() == b"ping"
    assert server.recv() == b"two"
    assert server.recv() is None

    big = bytes(range(256)) * 4
    server.send(big)
    pump(client, server)
    assert client.recv() == big
    assert client.recv() is None

    stats = client.stats()
    assert stats["records_out"] >= 2 and stats["dropped"] == 0

    # close_notify: the peer sees CloseNotify and answers with its own.
    client.close()
    pump(client, server)
    assert drain_events(server) == [CloseNotify()]
    assert client.is_closed and server.is_closed


def test_exporter_and_srtp_keys_agree() -> None:
    client, server = pinned_pair(
        client_kwargs={"srtp_profiles": "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80"},
        server_kwargs={"srtp_profiles": [1, "SRTP_AEAD_AES_128_GCM"]},
    )
    pump(client, server)
    assert client.is_connected
    # The server's preference wins (RFC 5764 section 4.1.1).
    negotiated = client.negotiated
    assert negotiated is not None
    assert negotiated.srtp_profile == "SRTP_AES128_CM_SHA1_80"
    assert negotiated.srtp_profile_id == 1

    a = client.export_keying_material(SRTP_LABEL, 60)
    b = server.export_keying_material(SRTP_LABEL.encode(), 60)
    assert a == b and len(a) == 60
    # The context and the label are part of the derivation (RFC 5705 section 4).
    with_ctx = client.export_keying_material("EXPERIMENTAL-test", 32, b"ctx")
    assert with_ctx == server.export_keying_material("EXPERIMENTAL-test", 32, b"ctx")
    assert with_ctx != client.export_keying_material("EXPERIMENTAL-test", 32)
    assert with_ctx != client.export_keying_material("EXPERIMENTAL-test", 32, b"other")

    keys = client.srtp_keying_material()
    assert keys.profile == "SRTP_AES128_CM_SHA1_80" and keys.profile_id == 1
    # RFC 5764 section 4.2: client key | server key | client salt | server salt.
    assert keys.material == a
    assert keys.client_key == a[:16] and keys.server_key == a[16:32]
    assert keys.client_salt == a[32:46] and keys.server_salt == a[46:60]
    assert server.srtp_keying_material().material == a
    assert "SRTP_AES128_CM_SHA1_80" in repr(keys) and a.hex() not in repr(keys)


@pytest.mark.parametrize("accept", [True, False])
def test_server_echoes_or_declines_the_clients_mki(accept: bool) -> None:
    client, server = pinned_pair(
        client_kwargs={"srtp_profiles": "SRTP_AES128_CM_SHA1_80", "srtp_mki": b"\x01\x02"},
        server_kwargs={"srtp_profiles": "SRTP_AES128_CM_SHA1_80", "srtp_accept_mki": accept},
    )
    pump(client, server)
    assert client.is_connected and server.is_connected
    # RFC 5764 section 4.1.3: the server echoes the MKI or answers with none.
    want = b"\x01\x02" if accept else b""
    assert client.srtp_keying_material().mki == want
    assert server.srtp_keying_material().mki == want


def test_webpki_chain_from_pem_fixtures() -> None:
    scfg = Config(certificate=server_certificate())
    ccfg = Config(root_certificates_pem=fixture_bytes("ca.crt"), verification="webpki")
    client = Connection(ccfg, role="client", server_name="dtls-server")
    server = Connection(scfg, role="server")
    pump(client, server)
    assert client.is_connected
    chain = client.peer_certificates()
    assert len(chain) == 2
    assert chain[0] == server_certificate().chain[0]
    assert dtls.fingerprint_of(chain[0]) == server_certificate().fingerprint()


def test_wrong_server_name_is_rejected() -> None:
    scfg = Config(certificate=server_certificate())
    ccfg = Config(root_certificates_pem=fixture_bytes("ca.crt"), verification="webpki")
    client = Connection(ccfg, role="client", server_name="not-the-server.example")
    server = Connection(scfg, role="server")
    with pytest.raises(CertificateRejectedError) as info:
        pump(client, server)
    assert info.value.code == 401
    assert info.value.name == "DTLS_ERR_CERTIFICATE_REJECTED"


def test_wall_clock_callable_is_used_for_validity() -> None:
    # At Unix time 0 every fixture certificate is not yet valid.
    scfg = Config(certificate=server_certificate())
    ccfg = Config(
        root_certificates_pem=fixture_bytes("ca.crt"), verification="webpki", wall_clock=lambda: 0
    )
    client = Connection(ccfg, role="client", server_name="dtls-server")
    server = Connection(scfg, role="server")
    with pytest.raises(CertificateRejectedError):
        pump(client, server)


def test_mutual_webpki_with_client_certificate() -> None:
    roots = fixture_bytes("ca.crt")
    scfg = Config(
        certificate=server_certificate(), root_certificates_pem=roots, client_auth="require"
    )
    ccfg = Config(certificate=client_certificate(), root_certificates_pem=roots)
    client = Connection(ccfg, role="client", server_name="dtls-server")
    server = Connection(scfg, role="server")
    pump(client, server)
    assert server.is_connected
    assert server.peer_certificates()[0] == client_certificate().chain[0]


def test_non_default_suite_group_and_alpn() -> None:
    client, server = pinned_pair(
        client_kwargs={
            "cipher_suites": ["ECDHE-ECDSA-CHACHA20-POLY1305", 0xC02B],
            "groups": "P-384:x25519",
            "alpn": [b"h2", "webrtc"],
            **V12,
        },
        server_kwargs={
            "cipher_suites": "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
            "groups": [24],
            "alpn": ["webrtc"],
            **V12,
        },
    )
    pump(client, server)
    negotiated = server.negotiated
    assert negotiated is not None
    assert negotiated.cipher_suite == "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"
    assert negotiated.group == "secp384r1"
    assert negotiated.alpn == b"webrtc"


# -- failures ------------------------------------------------------------------------------


def test_fingerprint_mismatch_raises_with_code() -> None:
    other = Certificate.generate("somebody else")
    scfg = Config(certificate=Certificate.generate("server"), **V12)
    ccfg = Config(peer_fingerprints=[other.fingerprint()], **V12)
    client = Connection(ccfg, role="client")
    server = Connection(scfg, role="server")

    with pytest.raises(FingerprintMismatchError) as info:
        pump(client, server)
    err = info.value
    assert isinstance(err, dtls.AuthenticationError) and isinstance(err, DtlsError)
    assert err.code == 400
    assert err.name == "DTLS_ERR_FINGERPRINT_MISMATCH"
    assert err.alert == "bad_certificate"
    assert "DTLS_ERR_FINGERPRINT_MISMATCH" in str(err)

    # The same failure is reported as an event and repeated by later calls.
    events = drain_events(client)
    assert isinstance(events[-1], Failed)
    assert isinstance(events[-1].error, FingerprintMismatchError)
    assert events[-1].error.code == 400
    assert client.is_closed
    with pytest.raises(FingerprintMismatchError):
        client.send(b"x")

    # The client failed before changing keys, so its bad_certificate alert is plaintext:
    # anyone could forge that, and the server must not let it end the handshake early.
    for datagram in client.datagrams_to_send(0):
        server.receive_datagram(datagram, 0)
    assert not server.is_connected
    assert not server.is_closed


def test_server_rejects_client_fingerprint_and_client_sees_alert() -> None:
    ccert = Certificate.generate("client")
    scert = Certificate.generate("server")
    wrong = Certificate.generate("wrong").fingerprint()
    ccfg = Config(certificate=ccert, peer_fingerprints=[scert.fingerprint()], **V12)
    scfg = Config(
        certificate=scert, peer_fingerprints=[wrong], require_client_certificate=True, **V12
    )
    client = Connection(ccfg, role="client")
    server = Connection(scfg, role="server")
    with pytest.raises(FingerprintMismatchError):
        pump(client, server)
    # The server failed on the client's second flight, after the client switched to epoch 1,
    # so its alert may be plaintext: the client keeps waiting rather than trusting it.
    for datagram in server.datagrams_to_send(0):
        client.receive_datagram(datagram, 0)
    assert not client.is_connected


def test_handshake_timeout_on_a_virtual_clock() -> None:
    cfg = Config(
        peer_fingerprints=[Certificate.generate().fingerprint()],
        initial_rto=0.1,
        max_rto=0.4,
        handshake_timeout=2.0,
    )
    client = Connection(cfg, role="client", now=100.0)
    assert len(client.datagrams_to_send(100.0)) == 1
    first = client.get_timer()
    assert first == pytest.approx(100.1)
    now = 100.0
    retransmitted = 0
    with pytest.raises(HandshakeTimeoutError) as info:
        for _ in range(100):
            timer = client.get_timer()
            assert timer is not None
            now = timer
            client.handle_timer(now)
            retransmitted += len(client.datagrams_to_send(now))
    assert info.value.code == 300 and info.value.name == "DTLS_ERR_HANDSHAKE_TIMEOUT"
    assert isinstance(info.value, TimeoutError)
    assert info.value.alert is None
    assert now == pytest.approx(102.0)
    # 0.1, 0.2, 0.4, 0.4, ... seconds apart until the 2 s deadline.
    assert retransmitted >= 4
    assert client.get_timer() is None


def test_lossy_link_recovers_with_timers() -> None:
    """Every third datagram is lost; the retransmission timers finish the handshake."""
    client, server = pinned_pair(
        client_kwargs={"initial_rto": 0.05, "max_rto": 0.2},
        server_kwargs={"initial_rto": 0.05, "max_rto": 0.2},
    )
    now = 0.0
    sent = 0
    for _ in range(500):
        for src, dst in ((client, server), (server, client)):
            for d in src.datagrams_to_send(now):
                sent += 1
                if sent % 3 != 0:
                    dst.receive_datagram(d, now)
        if client.is_connected and server.is_connected:
            break
        timers = [t for t in (client.get_timer(), server.get_timer()) if t is not None]
        now = max(now, min(timers)) if timers else now + 0.01
        for conn in (client, server):
            timer = conn.get_timer()
            if timer is not None and timer <= now:
                conn.handle_timer(now)
    assert client.is_connected and server.is_connected
    assert client.stats()["retransmissions"] + server.stats()["retransmissions"] > 0


# -- bad arguments -------------------------------------------------------------------------


def test_wrong_types_raise_type_error() -> None:
    client, _ = pinned_pair()
    with pytest.raises(TypeError):
        Connection("not a config", role="client")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        client.receive_datagram("text", 0)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        client.send(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        client.datagrams_to_send("now")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Config(mtu="big")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Config(certificate=b"pem")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Config(peer_fingerprints="sha-256 AB")
    with pytest.raises(TypeError):
        Config(wall_clock=5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Config(unknown_option=1)  # type: ignore[call-arg]


def test_bad_values_raise_value_errors_with_codes() -> None:
    cert = Certificate.generate()
    cases: list[tuple[type[DtlsError], int, object]] = [
        (InvalidArgumentError, 101, lambda: Connection(Config(), role="peer")),  # type: ignore[arg-type]
        (InvalidArgumentError, 101, lambda: Connection(Config(), role="client", now=-1.0)),
        (
            InvalidArgumentError,
            101,
            lambda: Connection(Config(), role="client", now=float("nan")),
        ),
        (InvalidConfigError, 200, lambda: Config(mtu=100)),
        (InvalidArgumentError, 101, lambda: Config(cipher_suites=["TLS_RSA_WITH_RC4_128_MD5"])),
        (InvalidConfigError, 200, lambda: Config(cipher_suites=[0x0005])),
        (InvalidArgumentError, 101, lambda: Config(groups="ffdhe2048")),
        (InvalidArgumentError, 101, lambda: Config(srtp_profiles="SRTP_BOGUS")),
        (InvalidArgumentError, 101, lambda: Config(srtp_profiles=[99])),
        (InvalidArgumentError, 101, lambda: Config(cookie_secret=b"short")),
        (InvalidArgumentError, 101, lambda: Config(initial_rto=0)),
        (InvalidConfigError, 200, lambda: Config(initial_rto=5, max_rto=1)),
        (InvalidArgumentError, 101, lambda: Config(versions=["1.4"])),
        (InvalidArgumentError, 101, lambda: Config(verification="trust-me")),  # type: ignore[arg-type]
        (
            InvalidConfigError,
            200,
            lambda: Config(client_auth="require", require_client_certificate=True),
        ),
        (InvalidConfigError, 200, lambda: Connection(Config(), role="server")),
        (dtls.CertificateError, 201, lambda: Config(peer_fingerprints=["sha-256 nothex"])),
        (CertificateError, 201, lambda: Certificate.from_pem(b"garbage", b"garbage")),
        (
            CertificateError,
            201,
            lambda: Certificate.from_pem(fixture_bytes("server.crt"), fixture_bytes("client.key")),
        ),
        (InvalidArgumentError, 101, lambda: Certificate.generate(key_type="rsa")),  # type: ignore[arg-type]
        (InvalidArgumentError, 101, lambda: cert.fingerprint("md5")),  # type: ignore[arg-type]
    ]
    for expected, code, call in cases:
        assert callable(call)
        with pytest.raises(expected) as info:
            call()
        assert info.value.code == code, info.value
        assert info.value.name.startswith("DTLS_ERR_")
        # Every such error is also a ValueError, for code that catches the builtin.
        assert isinstance(info.value, ValueError)
    with pytest.raises(OverflowError):
        Config(mtu=70_000)


def test_state_errors() -> None:
    client, server = pinned_pair()
    with pytest.raises(NotConnectedError) as not_connected:
        client.send(b"early")
    assert not_connected.value.code == 103
    with pytest.raises(ExporterUnavailableError) as no_exporter:
        client.export_keying_material(SRTP_LABEL, 60)
    assert no_exporter.value.code == 106
    pump(client, server)

    # Oversize data is refused without harming the association.
    with pytest.raises(InvalidArgumentError) as too_big:
        client.send(b"x" * (client.max_send_len + 1))
    assert too_big.value.code == 101
    client.send(b"x" * client.max_send_len)
    pump(client, server)
    assert server.recv() == b"x" * client.max_send_len

    with pytest.raises(InvalidArgumentError):
        client.export_keying_material(SRTP_LABEL, 0)
    with pytest.raises(InvalidArgumentError):
        client.export_keying_material(SRTP_LABEL, 1 << 20)
    with pytest.raises(InvalidArgumentError):
        client.srtp_keying_material()  # use_srtp was not negotiated

    client.close()
    client.close()  # idempotent
    with pytest.raises(ConnectionClosedError) as closed:
        client.send(b"late")
    assert closed.value.code == 104 and closed.value.name == "DTLS_ERR_CLOSED"
    assert isinstance(closed.value, dtls.UsageError)


# -- junk ----------------------------------------------------------------------------------


def junk(rng: random.Random) -> list[bytes]:
    """Random datagrams, and ones shaped like DTLS records so they pass the first checks."""
    out = [b"", b"\x00", bytes(13), b"\x16\xfe\xfd" + bytes(10)]
    for _ in range(60):
        n = rng.randrange(1, 300)
        out.append(rng.randbytes(n))
    for content_type in (20, 21, 22, 23):
        for epoch in (0, 1, 2):
            body = rng.randbytes(rng.randrange(0, 80))
            header = bytes([content_type, 0xFE, 0xFD]) + epoch.to_bytes(2, "big")
            header += rng.randrange(1 << 48).to_bytes(6, "big") + len(body).to_bytes(2, "big")
            out.append(header + body)
    # A forged plaintext fatal alert (handshake_failure).
    out.append(bytes([21, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 9, 0, 2, 2, 40]))
    return out


def test_garbage_datagrams_do_no_harm() -> None:
    rng = random.Random(5)
    client, server = pinned_pair()

    def spray(conn: Connection) -> None:
        for datagram in junk(rng):
            conn.receive_datagram(datagram, 0)

    # Before, during and after the handshake, on both sides.
    spray(server)
    for _ in range(10):
        for d in client.datagrams_to_send(0):
            server.receive_datagram(d, 0)
        spray(server)
        for d in server.datagrams_to_send(0):
            client.receive_datagram(d, 0)
        spray(client)
    assert client.is_connected and server.is_connected
    spray(client)
    spray(server)
    client.send(b"still fine")
    pump(client, server)
    assert server.recv() == b"still fine"
    assert server.stats()["dropped"] > 0 and client.stats()["dropped"] > 0
    # Junk is never answered with anything but (at most) HelloVerifyRequests.
    assert not client.is_closed and not server.is_closed


def test_front_door_verdicts() -> None:
    # prefilter is the DTLS 1.2 front door (HelloVerifyRequest from the first fragment).
    scert = Certificate.generate("server")
    scfg = Config(certificate=scert, **V12)
    ccfg = Config(peer_fingerprints=[scert.fingerprint()], **V12)
    door = ServerFrontDoor(scfg)
    peer = ("127.0.0.1", 40000)

    assert door.prefilter(0, peer, b"junk") == Drop()
    for datagram in junk(random.Random(1)):
        assert not isinstance(door.prefilter(0, peer, datagram), Accept)

    client = Connection(ccfg, role="client")
    (hello,) = client.datagrams_to_send(0)
    verdict = door.prefilter(0, peer, hello)
    assert isinstance(verdict, Reply)
    match verdict:
        case Reply(datagram):
            client.receive_datagram(datagram, 0)
    (retry,) = client.datagrams_to_send(0)
    # The cookie is bound to the address: another peer replaying it gets a new one.
    assert isinstance(door.prefilter(0, ("127.0.0.1", 40001), retry), Reply)
    assert door.prefilter(0, peer, retry) == Accept()

    server = Connection(scfg, role="server", peer_address=peer)
    server.receive_datagram(retry, 0)
    pump(client, server)
    assert client.is_connected and server.is_connected
    assert server.stats()["hello_verify_requests"] == 0


# -- objects -------------------------------------------------------------------------------


def test_events_are_frozen_values() -> None:
    client, server = pinned_pair(client_kwargs=V12, server_kwargs=V12)
    pump(client, server)
    events = drain_events(client)
    connected = events[-1]
    assert isinstance(connected, Connected)
    with pytest.raises(AttributeError):
        connected.negotiated = connected.negotiated  # type: ignore[misc]
    assert connected == Connected(connected.negotiated)
    assert hash(connected) == hash(Connected(connected.negotiated))
    assert CloseNotify() == CloseNotify() and CloseNotify() != Accept()
    assert "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" in repr(connected)
    assert PeerCertificate([b"a"]) == PeerCertificate([b"a"])
    error = ConnectionClosedError("x")
    assert Failed(error) == Failed(error) and Failed(error) != Failed(ConnectionClosedError("x"))
    match connected:
        case Connected(negotiated):
            assert negotiated.version == "DTLSv1.2"
        case _:
            pytest.fail("Connected did not match its own pattern")


def test_certificate_round_trip_and_exceptions_hierarchy() -> None:
    cert = Certificate.generate("round-trip", key_type="p384")
    chain_pem, key_pem = cert.to_pem()
    again = Certificate.from_pem(chain_pem, key_pem)
    assert again.fingerprint() == cert.fingerprint()
    assert again.fingerprint("sha-1").startswith("sha-1 ")
    assert Certificate.from_pem(chain_pem + key_pem).chain == cert.chain
    assert issubclass(dtls.HandshakeTimeoutError, dtls.ProtocolError)
    assert issubclass(dtls.InvalidConfigError, dtls.ConfigError)
    assert dtls.FingerprintMismatchError.code == 400


def test_certificates_generate_in_threads() -> None:
    """Generation releases the GIL; several threads at once must all succeed."""
    results: list[str] = []

    def work() -> None:
        results.append(Certificate.generate("t").fingerprint())

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(set(results)) == 4


def test_limits_are_configurable_and_hold() -> None:
    assert Config().limits["max_received_records"] == 256
    assert Config(limits={"max_received_records": 2}).limits["max_received_records"] == 2
    with pytest.raises(InvalidArgumentError):
        Config(limits={"max_bogus": 1})
    with pytest.raises(InvalidConfigError):
        Config(limits={"max_received_bytes": 1})

    client, server = pinned_pair(
        server_kwargs={"limits": {"max_received_records": 2}},
        client_kwargs={"limits": {"max_queued_records": 5}},
    )
    pump(client, server)
    for i in range(5):
        client.send(b"%d" % i)
    # The send queue is full until datagrams_to_send drains it.
    with pytest.raises(dtls.UsageError):
        client.send(b"one too many")
    pump(client, server)
    # Unread records beyond the bound are dropped and counted, not buffered.
    assert [server.recv(), server.recv(), server.recv()] == [b"0", b"1", None]
    assert server.stats()["dropped_overflow"] == 3


def test_small_mtu_fragments_the_handshake() -> None:
    client, server = pinned_pair(client_kwargs={"mtu": 200}, server_kwargs={"mtu": 200})
    sizes: list[int] = []
    for _ in range(20):
        for src, dst in ((client, server), (server, client)):
            for d in src.datagrams_to_send(0):
                sizes.append(len(d))
                dst.receive_datagram(d, 0)
    assert client.is_connected and server.is_connected
    assert max(sizes) <= 200 and len(sizes) > 10
    assert client.max_send_len < 200
    # A larger MTU later (after path MTU discovery) raises what send accepts.
    client.set_mtu(1400)
    assert client.max_send_len > 1300
    with pytest.raises(InvalidArgumentError):
        client.set_mtu(100)


# -- DTLS 1.3 ----------------------------------------------------------------------------


def test_front_door_admit_dtls13() -> None:
    scert = Certificate.generate("server")
    scfg = Config(certificate=scert, versions=["1.2", "1.3"])
    ccfg = Config(peer_fingerprints=[scert.fingerprint()], versions=["1.3"])
    door = ServerFrontDoor(scfg)
    peer = ("127.0.0.1", 40000)

    assert door.admit(0, peer, b"junk") == Drop()
    client = Connection(ccfg, role="client")
    (hello,) = client.datagrams_to_send(0)
    verdict = door.admit(0, peer, hello)
    assert isinstance(verdict, Reply)  # a HelloRetryRequest with a cookie
    client.receive_datagram(verdict.datagram, 0)
    (retry,) = client.datagrams_to_send(0)
    # The cookie is bound to the address: from another one the retry is not accepted.
    assert not isinstance(door.admit(0, ("127.0.0.1", 40001), retry), Accept)
    accepted = door.admit(0, peer, retry)
    assert isinstance(accepted, Accept) and accepted.datagram is not None
    assert door.pool() == (0, 0)

    server = Connection(scfg, role="server", peer_address=peer)
    server.receive_datagram(accepted.datagram, 0)
    pump(client, server)
    assert client.is_connected and server.is_connected
    assert client.negotiated is not None and client.negotiated.version == "DTLSv1.3"


def test_front_door_admit_holds_fragments() -> None:
    scert = Certificate.generate("server")
    groups = ["X25519MLKEM768", "x25519"]
    scfg = Config(certificate=scert, versions=["1.2", "1.3"], groups=groups)
    ccfg = Config(peer_fingerprints=[scert.fingerprint()], versions=["1.3"], groups=groups, mtu=600)
    door = ServerFrontDoor(scfg)
    peer = ("127.0.0.1", 40000)
    client = Connection(ccfg, role="client")
    datagrams = client.datagrams_to_send(0)
    assert len(datagrams) > 1
    for d in datagrams[:-1]:
        assert door.admit(0, peer, d) == Held()
        assert door.pool()[1] == 1
    assert isinstance(door.admit(0, peer, datagrams[-1]), Reply)
    assert door.pool() == (0, 0)


@pytest.mark.parametrize(
    ("client_versions", "server_versions", "want"),
    [
        (["1.3"], ["1.3"], "DTLSv1.3"),
        (["1.2", "1.3"], ["1.2", "1.3"], "DTLSv1.3"),
        (["1.2", "1.3"], ["1.2"], "DTLSv1.2"),
    ],
)
def test_dtls13_versions_key_update_and_exporter(
    client_versions: list[str], server_versions: list[str], want: str
) -> None:
    srtp = "SRTP_AEAD_AES_128_GCM"
    client, server = pinned_pair(
        client_kwargs={"versions": client_versions, "srtp_profiles": srtp},
        server_kwargs={"versions": server_versions, "srtp_profiles": srtp},
    )
    pump(client, server)
    assert client.is_connected and server.is_connected
    assert client.negotiated is not None and client.negotiated.version == want
    assert client.export_keying_material(SRTP_LABEL, 56) == server.export_keying_material(
        SRTP_LABEL, 56
    )
    if want == "DTLSv1.3":
        assert client.negotiated.cipher_suite == "TLS_AES_128_GCM_SHA256"
        client.key_update(0.0, request_peer=True)
        pump(client, server)
        client.send(b"after the update")
        pump(client, server)
        assert server.recv() == b"after the update"
        assert client.stats()["key_updates"] == 1
    else:
        with pytest.raises(InvalidArgumentError):
            client.key_update(0.0)


def test_unknown_version_is_refused() -> None:
    with pytest.raises(InvalidArgumentError):
        Config(versions=["1.4"])
