"""What the C library has, from Python: bytes-like input everywhere, the zero-copy record
path (seal_into / open_in_place), RFC 7983 demultiplexing, a=setup roles, SDP fingerprint
helpers and the SRTP profile table."""

from __future__ import annotations

import array
from collections.abc import Callable
from typing import Any

import pytest
from conftest import pinned_pair, pump

import dtls
from dtls import Certificate, Connection


def connected_pair() -> tuple[Connection, Connection]:
    client, server = pinned_pair()
    pump(client, server)
    assert client.is_connected and server.is_connected
    while client.next_event() is not None:
        pass
    while server.next_event() is not None:
        pass
    return client, server


def test_bytes_like_input_everywhere() -> None:
    client, server = pinned_pair()
    # The handshake fed through every kind of buffer, in turn.
    kinds: list[Callable[[bytes], Any]] = [
        bytes,
        bytearray,
        memoryview,
        lambda d: memoryview(bytearray(d)),
    ]
    for i in range(20):
        moved = False
        for d in client.datagrams_to_send(0.0):
            server.receive_datagram(kinds[i % 4](d), 0.0)
            moved = True
        for d in server.datagrams_to_send(0.0):
            client.receive_datagram(kinds[(i + 1) % 4](d), 0.0)
            moved = True
        if not moved:
            break
    assert client.is_connected and server.is_connected
    for payload in (b"b", bytearray(b"ba"), memoryview(b"mv"), array.array("B", b"arr")):
        client.send(payload)
    for d in client.datagrams_to_send(0.0):
        server.receive_datagram(memoryview(d), 0.0)
    got = []
    while (m := server.recv()) is not None:
        got.append(m)
    assert got == [b"b", b"ba", b"mv", b"arr"]
    # A slice of a larger buffer is just its bytes.
    big = memoryview(b"xxhelloxx")[2:7]
    client.send(big)
    for d in client.datagrams_to_send(0.0):
        server.receive_datagram(d, 0.0)
    assert server.recv() == b"hello"
    ctx = client.export_keying_material("EXPORTER-test", 16, memoryview(b"ctx"))
    assert ctx == server.export_keying_material("EXPORTER-test", 16, bytearray(b"ctx"))
    for bad in ("text", 5, None, [1, 2]):
        with pytest.raises(TypeError):
            client.send(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("out_kind", ["bytearray", "memoryview"])
def test_seal_into_and_open_in_place(out_kind: str) -> None:
    client, server = connected_pair()
    backing = bytearray(1500)
    out = backing if out_kind == "bytearray" else memoryview(backing)
    for i in range(50):
        frame = bytes([i]) * (20 + i)
        n = client.seal_into(memoryview(frame), out)
        assert 13 + len(frame) < n <= 13 + len(frame) + 16 + 8
        datagram = bytearray(backing[:n])
        view = server.open_in_place(
            datagram if out_kind == "bytearray" else memoryview(datagram), 0.0
        )
        assert view is not None and isinstance(view, memoryview)
        assert view.tobytes() == frame
        # A view into the caller's buffer, not a copy.
        start = datagram.find(frame)
        assert start > 0 and datagram[start : start + len(frame)] == frame
    assert server.stats()["records_in"] >= 50


def test_zero_copy_errors_and_fallback() -> None:
    client, server = connected_pair()
    with pytest.raises(dtls.BufferTooSmallError):
        client.seal_into(b"x" * 100, bytearray(20))
    with pytest.raises(TypeError):
        client.seal_into(b"x", b"read-only bytes" * 10)
    with pytest.raises(TypeError):
        server.open_in_place(b"\x17\xfe\xfd" + bytes(40), 0.0)
    # send() queued a record: seal_into refuses to overtake it.
    client.send(b"queued")
    with pytest.raises(dtls.InvalidArgumentError):
        client.seal_into(b"late", bytearray(1500))
    # While a record waits in recv(), open_in_place keeps the order: it takes the normal
    # path and returns None, and recv() hands out both records in order.
    for d in client.datagrams_to_send(0.0):
        server.receive_datagram(d, 0.0)
    buf = bytearray(1500)
    n = client.seal_into(b"next", buf)
    assert server.open_in_place(buf[:n], 0.0) is None
    assert (server.recv(), server.recv(), server.recv()) == (b"queued", b"next", None)
    # A handshake-looking datagram is not a lone application record either.
    (hello,) = Connection(dtls.Config(), role="client").datagrams_to_send(0.0)
    assert server.open_in_place(bytearray(hello), 0.0) is None
    # Garbage is dropped and counted, not raised.
    assert server.open_in_place(bytearray(b"\x17\xfe\xfd" + bytes(40)), 0.0) is None


def test_rfc7983_demultiplexing() -> None:
    cases = {
        0: "stun",
        3: "stun",
        16: "zrtp",
        19: "zrtp",
        20: "dtls",
        63: "dtls",
        64: "turn-channel",
        79: "turn-channel",
        128: "rtp-rtcp",
        191: "rtp-rtcp",
        4: "unknown",
        100: "unknown",
        255: "unknown",
    }
    for first, kind in cases.items():
        for wrap in (bytes, bytearray, memoryview):
            datagram = wrap(bytes([first, 0xFE, 0xFD]))
            assert dtls.packet_kind(datagram) == kind, first
            assert dtls.is_dtls(datagram) == (kind == "dtls")
    assert dtls.packet_kind(b"") == "unknown" and not dtls.is_dtls(b"")
    client, _ = pinned_pair()
    (hello,) = client.datagrams_to_send(0.0)
    assert dtls.is_dtls(hello)


def test_setup_roles() -> None:
    assert dtls.role_for_remote_setup("actpass") == "client"
    assert dtls.role_for_remote_setup("a=setup:ACTPASS") == "client"
    assert dtls.role_for_remote_setup("passive") == "client"
    assert dtls.role_for_remote_setup("active") == "server"
    assert dtls.role_for_answer("active") == "server"
    assert dtls.role_for_answer("passive") == "client"
    assert dtls.setup_for_role("client") == "active"
    assert dtls.setup_for_role("server") == "passive"
    # Offer/answer always end with complementary roles.
    for offer in ("actpass", "active", "passive"):
        ours = dtls.role_for_remote_setup(offer)
        theirs = dtls.role_for_answer(dtls.setup_for_role(ours))
        assert {ours, theirs} == {"client", "server"}
    for bad, fn in (
        ("holdconn", dtls.role_for_remote_setup),
        ("actpass", dtls.role_for_answer),
        ("sometimes", dtls.role_for_remote_setup),
    ):
        with pytest.raises(dtls.InvalidArgumentError):
            fn(bad)
    with pytest.raises(dtls.InvalidArgumentError):
        dtls.setup_for_role("both")  # type: ignore[arg-type]


def test_sdp_fingerprints() -> None:
    cert = Certificate.generate("fp")
    der = cert.chain[0]
    for alg, size in (("sha-1", 20), ("sha-256", 32), ("sha-384", 48), ("sha-512", 64)):
        sdp = cert.fingerprint(alg)  # type: ignore[arg-type]
        name, digest = dtls.parse_sdp_fingerprint(sdp)
        assert (name, len(digest)) == (alg, size)
        assert dtls.format_sdp_fingerprint(alg, digest) == sdp  # type: ignore[arg-type]
        assert dtls.parse_sdp_fingerprint("a=fingerprint:" + sdp.lower())[1] == digest
        assert dtls.fingerprint_matches(sdp, der)
        assert dtls.fingerprint_matches(sdp, memoryview(der))
        assert not dtls.fingerprint_matches(sdp, der[:-1] + b"\x00")
    for bad in ("sha-256", "md5 AB:CD", "sha-256 AB:CD", "sha-256 " + "ZZ:" * 31 + "ZZ"):
        with pytest.raises(dtls.DtlsError):
            dtls.parse_sdp_fingerprint(bad)
    with pytest.raises(dtls.InvalidArgumentError):
        dtls.format_sdp_fingerprint("sha-256", b"short")


def test_srtp_profile_table() -> None:
    profiles = dtls.srtp_profiles()
    assert [p.id for p in profiles][:3] == [0x0008, 0x0007, 0x0001]
    by_id = {p.id: p for p in profiles}
    p80 = by_id[1]
    assert (p80.name, p80.openssl_name, p80.key_len, p80.salt_len) == (
        "SRTP_AES128_CM_HMAC_SHA1_80",
        "SRTP_AES128_CM_SHA1_80",
        16,
        14,
    )
    assert (by_id[7].key_len, by_id[7].salt_len) == (16, 12)
    assert (by_id[8].key_len, by_id[8].salt_len) == (32, 12)
    assert dtls.srtp_profile(1) == p80
    assert dtls.srtp_profile("SRTP_AES128_CM_SHA1_80") == p80
    assert dtls.srtp_profile("srtp_aes128_cm_hmac_sha1_80") == p80
    assert dtls.srtp_profile(0x9999) is None and dtls.srtp_profile("SRTP_NOPE") is None
    assert dtls.srtp_profile(-1) is None
    assert "SRTP_AES128_CM_HMAC_SHA1_80" in repr(p80)
    # The table agrees with what a handshake negotiates and exports.
    client, server = pinned_pair(
        {"srtp_profiles": ["SRTP_AEAD_AES_256_GCM"]}, {"srtp_profiles": ["SRTP_AEAD_AES_256_GCM"]}
    )
    pump(client, server)
    keys = client.srtp_keying_material()
    profile = dtls.srtp_profile(keys.profile_id)
    assert profile is not None
    assert len(keys.client_key) == profile.key_len and len(keys.client_salt) == profile.salt_len
