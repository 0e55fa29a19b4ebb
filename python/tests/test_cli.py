"""``python -m dtls``: the command-line client against the command-line server."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

from conftest import run

LABEL = "EXTRACTOR-dtls_srtp"
WAIT = 10.0


class Child:
    """A ``python -m dtls`` process with its stdout and stderr collected separately."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.out = ""
        self.err = ""
        self._changed = asyncio.Event()
        assert proc.stdout is not None and proc.stderr is not None
        self._readers = [
            asyncio.create_task(self._collect(proc.stdout, "out")),
            asyncio.create_task(self._collect(proc.stderr, "err")),
        ]

    async def _collect(self, stream: asyncio.StreamReader, which: str) -> None:
        while chunk := await stream.read(4096):
            text = chunk.decode(errors="replace")
            if which == "out":
                self.out += text
            else:
                self.err += text
            self._changed.set()

    async def wait_for(self, pattern: str, *, stdout: bool = False) -> re.Match[str]:
        async def poll() -> re.Match[str]:
            while True:
                match = re.search(pattern, self.out if stdout else self.err)
                if match:
                    return match
                self._changed.clear()
                await self._changed.wait()

        try:
            return await asyncio.wait_for(poll(), WAIT)
        except asyncio.TimeoutError:
            raise AssertionError(
                f"never saw {pattern!r}\nstdout:\n{self.out}\nstderr:\n{self.err}"
            ) from None

    async def finish(self) -> int:
        code = await asyncio.wait_for(self.proc.wait(), WAIT)
        await asyncio.gather(*self._readers)
        return code

    def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()


async def spawn(cwd: Path, *args: str) -> Child:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "dtls",
        *args,
        cwd=cwd,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    return Child(proc)


def test_cli_client_and_server(tmp_path: Path) -> None:
    async def main() -> None:
        # tmp_path as the working directory: the installed package runs, not the sources.
        server = await spawn(
            tmp_path,
            "server",
            "0",
            "--echo",
            "--naccept",
            "1",
            "--keymatexport",
            LABEL,
            "--srtp",
            "SRTP_AES128_CM_SHA1_80",
        )
        client = None
        try:
            fingerprint = (await server.wait_for(r"fingerprint: (sha-256 [0-9A-F:]+)")).group(1)
            port = (await server.wait_for(r"ACCEPT 127\.0\.0\.1:(\d+)")).group(1)
            client = await spawn(
                tmp_path,
                "client",
                "127.0.0.1",
                port,
                "--fingerprint",
                fingerprint,
                "--keymatexport",
                LABEL,
                "--srtp",
                "SRTP_AES128_CM_SHA1_80",
            )
            # Both ends on the defaults, which offer and accept DTLS 1.3 as well as 1.2.
            await client.wait_for(r"Protocol: DTLSv1\.3")
            assert client.proc.stdin is not None
            client.proc.stdin.write(b"hello over dtls\n")
            # The server prints what it receives and echoes it back.
            await server.wait_for("hello over dtls", stdout=True)
            await client.wait_for("hello over dtls", stdout=True)

            key = (await client.wait_for(r"Keying material: ([0-9A-F]+)")).group(1)
            assert len(key) == 40
            assert (await server.wait_for(r"Keying material: ([0-9A-F]+)")).group(1) == key
            assert "SRTP Extension negotiated, profile=SRTP_AES128_CM_SHA1_80" in client.err
            assert f"Peer certificate 0: {fingerprint}" in client.err

            # End of stdin: the client closes, and the server (--naccept 1) exits.
            client.proc.stdin.close()
            assert await client.finish() == 0, client.err
            assert "CONNECTION CLOSED" in client.err
            assert await server.finish() == 0, server.err
        finally:
            server.kill()
            if client is not None:
                client.kill()

    run(main(), timeout=40)


def test_cli_reports_a_failed_handshake(tmp_path: Path) -> None:
    async def main() -> None:
        server = await spawn(tmp_path, "server", "0", "--naccept", "1")
        try:
            port = (await server.wait_for(r"ACCEPT 127\.0\.0\.1:(\d+)")).group(1)
            wrong = "sha-256 " + ":".join(["00"] * 32)
            client = await spawn(
                tmp_path, "client", "127.0.0.1", port, "--fingerprint", wrong, "--timeout", "5"
            )
            try:
                assert await client.finish() == 1
                assert "DTLS_ERR_FINGERPRINT_MISMATCH" in client.err
                assert "code 400" in client.err
            finally:
                client.kill()
        finally:
            server.kill()
            await server.finish()

    run(main(), timeout=40)
