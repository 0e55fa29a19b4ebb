"""Shared helpers: fixture certificates, an in-memory link between two connections, and a
bounded runner for asyncio tests (no plugin needed)."""

from __future__ import annotations

import asyncio
import shutil
import socket
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest

from dtls import Certificate, Config, Connection

#: The engine's test certificates (tests/fixtures/make.sh): ca -> int -> server / client.
FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures"

T = TypeVar("T")


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def server_certificate() -> Certificate:
    """CN dtls-server, sent with its intermediate so a client trusting ca.crt can verify."""
    chain = fixture_bytes("server.crt") + fixture_bytes("int.crt")
    return Certificate.from_pem(chain, fixture_bytes("server.key"))


def client_certificate() -> Certificate:
    chain = fixture_bytes("client.crt") + fixture_bytes("int.crt")
    return Certificate.from_pem(chain, fixture_bytes("client.key"))


def pump(a: Connection, b: Connection, now: float = 0.0, rounds: int = 20) -> None:
    """Delivers datagrams both ways until both sides are quiet (bounded)."""
    for _ in range(rounds):
        moved = False
        for d in a.datagrams_to_send(now):
            b.receive_datagram(d, now)
            moved = True
        for d in b.datagrams_to_send(now):
            a.receive_datagram(d, now)
            moved = True
        if not moved:
            return


def pinned_pair(
    client_kwargs: dict[str, Any] | None = None,
    server_kwargs: dict[str, Any] | None = None,
) -> tuple[Connection, Connection]:
    """A client and a server with generated certificates pinned both ways."""
    ccert = Certificate.generate("client")
    scert = Certificate.generate("server")
    ccfg = Config(
        certificate=ccert, peer_fingerprints=[scert.fingerprint()], **(client_kwargs or {})
    )
    scfg = Config(
        certificate=scert,
        peer_fingerprints=[ccert.fingerprint()],
        require_client_certificate=True,
        **(server_kwargs or {}),
    )
    return Connection(ccfg, role="client"), Connection(scfg, role="server")


def run(coro: Coroutine[Any, Any, T], timeout: float = 20.0) -> T:
    """Runs an asyncio test body with a hard deadline, so a hang fails instead of blocking."""

    async def bounded() -> T:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(bounded())


def free_udp_port() -> int:
    """A UDP port on 127.0.0.1 that was free a moment ago (racy by nature)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


requires_openssl = pytest.mark.skipif(
    shutil.which("openssl") is None, reason="the openssl binary is not installed"
)
