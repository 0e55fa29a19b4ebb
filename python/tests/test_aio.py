"""dtls.aio over real UDP sockets on 127.0.0.1."""

from __future__ import annotations

import asyncio
import random
import socket
from typing import Any

import pytest
from conftest import run

from dtls import (
    Certificate,
    Config,
    ConnectionClosedError,
    FingerprintMismatchError,
    HandshakeTimeoutError,
    NotConnectedError,
)
from dtls.aio import DtlsProtocol, connect, serve

LABEL = "EXTRACTOR-dtls_srtp"


def configs(**extra: Any) -> tuple[Config, Config]:
    """(client, server) configs with generated certificates pinned both ways, short timers."""
    ccert = Certificate.generate("client")
    scert = Certificate.generate("server")
    timers: dict[str, Any] = {"initial_rto": 0.2, "max_rto": 1.0, "handshake_timeout": 8.0}
    client = Config(
        certificate=ccert,
        peer_fingerprints=[scert.fingerprint()],
        srtp_profiles=["SRTP_AEAD_AES_128_GCM", "SRTP_AES128_CM_SHA1_80"],
        **timers,
        **extra,
    )
    server = Config(
        certificate=scert,
        peer_fingerprints=[ccert.fingerprint()],
        require_client_certificate=True,
        srtp_profiles="SRTP_AES128_CM_SHA1_80",
        **timers,
        **extra,
    )
    return client, server


async def echo(session: DtlsProtocol) -> None:
    async for data in session:
        session.send(b"echo:" + data)


def test_client_and_server_echo() -> None:
    async def main() -> None:
        # DTLS 1.2 pinned: the version asserted below (the default negotiates 1.3, which
        # test_server_front_door_admits_each_version covers).
        ccfg, scfg = configs(versions=["1.2"])
        seen: dict[str, bytes] = {}
        handler_done = asyncio.Event()

        async def handler(session: DtlsProtocol) -> None:
            seen["server_km"] = session.connection.export_keying_material(LABEL, 60)
            try:
                await echo(session)
            finally:
                handler_done.set()

        async with await serve("127.0.0.1", 0, scfg, handler) as server:
            host, port = server.local_address[:2]
            async with connect(host, port, ccfg) as session:
                assert session.is_connected
                negotiated = session.negotiated
                assert negotiated is not None and negotiated.version == "DTLSv1.2"
                assert negotiated.srtp_profile == "SRTP_AES128_CM_SHA1_80"
                assert len(session.peer_certificates) == 1
                for i in range(5):
                    session.send(f"hello {i}".encode())
                replies = [await session.recv() for _ in range(5)]
                assert replies == [f"echo:hello {i}".encode() for i in range(5)]
                assert session.connection.export_keying_material(LABEL, 60) == seen["server_km"]
                assert len(server.peers) == 1
            # Leaving connect() sent close_notify: the server's handler loop ends.
            await asyncio.wait_for(handler_done.wait(), 5)
            for _ in range(100):
                if not server.peers:
                    break
                await asyncio.sleep(0.01)
            assert server.peers == []

    run(main())


def test_many_clients_on_one_server_socket() -> None:
    async def main() -> None:
        ccfg, scfg = configs()
        async with await serve("127.0.0.1", 0, scfg, echo) as server:
            port = server.local_address[1]

            async def one(i: int) -> bytes:
                async with connect("127.0.0.1", port, ccfg) as session:
                    session.send(b"client %d" % i)
                    return await session.recv()

            replies = await asyncio.gather(*(one(i) for i in range(4)))
            assert replies == [b"echo:client %d" % i for i in range(4)]

    run(main())


@pytest.mark.parametrize(
    ("client_versions", "mtu", "want"),
    [
        (["1.3"], 1200, "DTLSv1.3"),
        # An X25519MLKEM768 key share at MTU 600 spreads the ClientHello over several
        # datagrams: the server's front door holds the first ones until the last arrives.
        (["1.3"], 600, "DTLSv1.3"),
        (["1.2"], 1200, "DTLSv1.2"),
    ],
)
def test_server_front_door_admits_each_version(
    client_versions: list[str], mtu: int, want: str
) -> None:
    async def main() -> None:
        scert = Certificate.generate("server")
        timers: dict[str, Any] = {"initial_rto": 0.2, "max_rto": 1.0, "handshake_timeout": 8.0}
        groups = ["X25519MLKEM768", "x25519"]
        ccfg = Config(
            peer_fingerprints=[scert.fingerprint()],
            versions=client_versions,
            groups=groups,
            mtu=mtu,
            **timers,
        )
        scfg = Config(certificate=scert, versions=["1.2", "1.3"], groups=groups, **timers)
        async with await serve("127.0.0.1", 0, scfg, echo) as server:
            host, port = server.local_address[:2]
            async with connect(host, port, ccfg) as session:
                negotiated = session.negotiated
                assert negotiated is not None and negotiated.version == want
                session.send(b"ping")
                assert await session.recv() == b"echo:ping"
                assert len(server.peers) == 1

    run(main())


def test_peer_close_ends_recv_and_send_raises() -> None:
    async def main() -> None:
        ccfg, scfg = configs()

        async def close_at_once(session: DtlsProtocol) -> None:
            session.send(b"bye")
            session.close()

        async with (
            await serve("127.0.0.1", 0, scfg, close_at_once) as server,
            connect("127.0.0.1", server.local_address[1], ccfg) as session,
        ):
            assert await session.recv() == b"bye"
            with pytest.raises(ConnectionClosedError):
                await session.recv()
            assert [d async for d in session] == []
            with pytest.raises(ConnectionClosedError) as info:
                session.send(b"too late")
            assert info.value.code == 104
            await asyncio.wait_for(session.wait_closed(), 1)

    run(main())


def test_fingerprint_mismatch_over_udp() -> None:
    async def main() -> None:
        _, scfg = configs()
        wrong = Config(
            certificate=Certificate.generate("client"),
            peer_fingerprints=[Certificate.generate("impostor").fingerprint()],
            initial_rto=0.2,
        )
        async with await serve("127.0.0.1", 0, scfg, echo) as server:
            with pytest.raises(FingerprintMismatchError) as info:
                async with connect("127.0.0.1", server.local_address[1], wrong):
                    pytest.fail("the handshake must not complete")
            assert info.value.code == 400
            assert info.value.name == "DTLS_ERR_FINGERPRINT_MISMATCH"

    run(main())


def test_handshake_timeout_against_a_silent_socket() -> None:
    async def main() -> None:
        silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        silent.bind(("127.0.0.1", 0))
        try:
            cfg = Config(
                peer_fingerprints=[Certificate.generate().fingerprint()],
                initial_rto=0.05,
                max_rto=0.1,
                handshake_timeout=0.5,
            )
            with pytest.raises(HandshakeTimeoutError) as info:
                async with connect("127.0.0.1", silent.getsockname()[1], cfg):
                    pass
            assert info.value.code == 300
            # The ClientHello was retransmitted while we waited.
            silent.setblocking(False)
            received = 0
            while True:
                try:
                    silent.recv(2048)
                except BlockingIOError:
                    break
                received += 1
            assert received >= 3
        finally:
            silent.close()

    run(main())


def test_send_before_connected_raises() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        silent.bind(("127.0.0.1", 0))
        try:
            from dtls import Connection

            conn = Connection(
                Config(peer_fingerprints=[Certificate.generate().fingerprint()]),
                role="client",
                now=loop.time(),
            )
            transport, protocol = await loop.create_datagram_endpoint(
                lambda: DtlsProtocol(conn), remote_addr=silent.getsockname()
            )
            with pytest.raises(NotConnectedError):
                protocol.send(b"early")
            protocol.close()
            with pytest.raises(ConnectionClosedError):
                await protocol.wait_connected()
            assert transport.is_closing()
        finally:
            silent.close()

    run(main())


def test_garbage_to_the_server_socket_does_no_harm() -> None:
    async def main() -> None:
        ccfg, scfg = configs()
        rng = random.Random(7)
        async with await serve("127.0.0.1", 0, scfg, echo) as server:
            addr = server.local_address[:2]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as junk:
                for _ in range(200):
                    junk.sendto(rng.randbytes(rng.randrange(1, 1400)), addr)
                # ClientHello-shaped junk too: right header, garbage body.
                for _ in range(50):
                    body = rng.randbytes(rng.randrange(12, 200))
                    header = b"\x16\xfe\xfd" + bytes(8) + len(body).to_bytes(2, "big")
                    junk.sendto(header + body, addr)
            await asyncio.sleep(0.1)
            assert server.peers == []
            async with connect("127.0.0.1", addr[1], ccfg) as session:
                session.send(b"after the junk")
                assert await session.recv() == b"echo:after the junk"

    run(main())
