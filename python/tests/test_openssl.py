"""Interop with the ``openssl s_server -dtls1_2`` / ``s_client -dtls1_2`` binaries over UDP on
127.0.0.1, both roles. Each run checks, against what openssl itself prints, the cipher suite,
the SRTP profile, the RFC 5705 exporter (``-keymatexport``), data both ways and the close."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from conftest import (
    FIXTURES,
    fixture_bytes,
    free_udp_port,
    requires_openssl,
    run,
    server_certificate,
)

from dtls import Config
from dtls.aio import DtlsProtocol, connect, serve

LABEL = "EXTRACTOR-dtls_srtp"
#: How long openssl gets to print something we wait for.
PEER_WAIT = 8.0

pytestmark = requires_openssl


class OpensslPeer:
    """An ``openssl`` child process whose stdout and stderr are collected as they arrive."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.output = ""
        self._changed = asyncio.Event()
        self._reader = asyncio.create_task(self._collect())

    async def _collect(self) -> None:
        assert self.proc.stdout is not None
        while chunk := await self.proc.stdout.read(4096):
            self.output += chunk.decode(errors="replace")
            self._changed.set()

    async def wait_for(self, needle: str, timeout: float = PEER_WAIT) -> None:
        """Waits until the output contains `needle`; fails with all of it otherwise."""

        async def poll() -> None:
            while needle not in self.output:
                self._changed.clear()
                await self._changed.wait()

        try:
            await asyncio.wait_for(poll(), timeout)
        except asyncio.TimeoutError:
            raise AssertionError(
                f"openssl never printed {needle!r}; output:\n{self.output}"
            ) from None

    def write(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)

    async def wait_exit(self, timeout: float = PEER_WAIT) -> int:
        return await asyncio.wait_for(self.proc.wait(), timeout)

    def keying_material(self) -> bytes:
        for line in self.output.splitlines():
            if line.strip().startswith("Keying material:"):
                return bytes.fromhex(line.split(":", 1)[1].strip())
        raise AssertionError(f"no keying material in:\n{self.output}")


@contextlib.asynccontextmanager
async def openssl(*args: str) -> AsyncIterator[OpensslPeer]:
    proc = await asyncio.create_subprocess_exec(
        "openssl",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    peer = OpensslPeer(proc)
    try:
        yield peer
    finally:
        # Killed by its own pid, whatever happened in the test.
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
        await asyncio.wait_for(peer._reader, 5)


def fixture_path(name: str) -> str:
    return str(FIXTURES / name)


def test_aio_client_against_openssl_s_server() -> None:
    async def main() -> None:
        port = free_udp_port()
        async with openssl(
            "s_server",
            "-dtls1_2",
            "-accept",
            f"127.0.0.1:{port}",
            "-cert",
            fixture_path("server.crt"),
            "-key",
            fixture_path("server.key"),
            "-cert_chain",
            fixture_path("int.crt"),
            "-naccept",
            "1",
            "-use_srtp",
            "SRTP_AES128_CM_SHA1_80",
            "-keymatexport",
            LABEL,
            "-keymatexportlen",
            "60",
        ) as peer:
            await peer.wait_for("ACCEPT")
            config = Config(
                root_certificates_pem=fixture_bytes("ca.crt"),
                verification="webpki",
                srtp_profiles="SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80",
                initial_rto=0.2,
                max_rto=1.0,
                handshake_timeout=8.0,
            )
            async with connect("127.0.0.1", port, config, server_name="dtls-server") as session:
                negotiated = session.negotiated
                assert negotiated is not None
                # webpki accepted server.crt <- int.crt <- ca.crt for the name dtls-server.
                assert len(session.peer_certificates) == 2
                assert negotiated.srtp_profile == "SRTP_AES128_CM_SHA1_80"
                assert negotiated.extended_master_secret

                await peer.wait_for("Keying material:")
                ours = session.connection.export_keying_material(LABEL, 60)
                assert ours == peer.keying_material()
                assert session.connection.srtp_keying_material().material == ours
                await peer.wait_for("CIPHER is ")
                assert f"CIPHER is {negotiated.cipher_suite_openssl}" in peer.output

                session.send(b"hello from python\n")
                await peer.wait_for("hello from python")
                peer.write(b"hello from openssl\n")
                assert await asyncio.wait_for(session.recv(), PEER_WAIT) == b"hello from openssl\n"
            # Leaving connect() sent close_notify: s_server (-naccept 1) shuts down.
            await peer.wait_for("CONNECTION CLOSED")
            assert await peer.wait_exit() == 0
            assert "ERROR" not in peer.output

    run(main(), timeout=30)


def test_openssl_s_client_against_aio_server() -> None:
    async def main() -> None:
        config = Config(
            certificate=server_certificate(),
            srtp_profiles=["SRTP_AES128_CM_SHA1_80"],
            initial_rto=0.2,
            max_rto=1.0,
            handshake_timeout=8.0,
        )
        got: asyncio.Queue[bytes] = asyncio.Queue()
        sessions: list[DtlsProtocol] = []

        async def handler(session: DtlsProtocol) -> None:
            sessions.append(session)
            session.send(b"hello from python\n")
            async for data in session:
                await got.put(data)

        async with await serve("127.0.0.1", 0, config, handler) as server:
            port = server.local_address[1]
            async with openssl(
                "s_client",
                "-dtls1_2",
                "-connect",
                f"127.0.0.1:{port}",
                "-ign_eof",
                "-CAfile",
                fixture_path("ca.crt"),
                "-verify_return_error",
                "-verify_hostname",
                "dtls-server",
                "-use_srtp",
                "SRTP_AES128_CM_SHA1_80",
                "-keymatexport",
                LABEL,
                "-keymatexportlen",
                "60",
            ) as peer:
                await peer.wait_for("hello from python")
                assert "Verification: OK" in peer.output
                assert "Verified peername: dtls-server" in peer.output
                assert "SRTP Extension negotiated, profile=SRTP_AES128_CM_SHA1_80" in peer.output
                (session,) = sessions
                negotiated = session.negotiated
                assert negotiated is not None
                assert f"Cipher is {negotiated.cipher_suite_openssl}" in peer.output
                ours = session.connection.export_keying_material(LABEL, 60)
                assert ours == peer.keying_material()

                peer.write(b"hello from openssl\n")
                assert await asyncio.wait_for(got.get(), PEER_WAIT) == b"hello from openssl\n"
                # Our close_notify ends s_client (-ign_eof keeps it alive until then).
                session.close()
                assert await peer.wait_exit() == 0

    run(main(), timeout=30)
