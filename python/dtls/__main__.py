"""``python -m dtls``: an ``openssl s_client`` / ``s_server`` style tool over :mod:`dtls.aio`.

    python -m dtls client HOST PORT [options]
    python -m dtls server PORT [options]

Status lines (``CONNECTED``, what was negotiated, ``Keying material: ...``) go to stderr;
received application data goes to stdout as-is, so stdout can be piped. Lines read from
stdin are sent as application data (to every connected peer, for the server).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from . import aio
from ._native import (
    Certificate,
    Config,
    DtlsError,
    Negotiated,
    fingerprint_of,
)


def _status(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("-cert", "--cert", metavar="FILE", help="our certificate chain (PEM)")
    p.add_argument("-key", "--key", metavar="FILE", help="our private key (default: -cert)")
    p.add_argument("-CAfile", "--cafile", metavar="FILE", help="trusted roots (PEM), webpki")
    p.add_argument(
        "-fingerprint",
        "--fingerprint",
        action="append",
        default=[],
        metavar='"sha-256 AB:.."',
        help="pin the peer certificate (repeatable)",
    )
    p.add_argument(
        "-insecure",
        "--insecure",
        action="store_true",
        help="accept any peer certificate (diagnostics only)",
    )
    p.add_argument("-mtu", "--mtu", type=int, default=1200, help="largest datagram we send")
    p.add_argument(
        "-use_srtp", "--srtp", metavar="P1:P2", help="SRTP profiles, e.g. SRTP_AES128_CM_SHA1_80"
    )
    p.add_argument("-alpn", "--alpn", metavar="P1,P2", help="ALPN protocols, comma-separated")
    p.add_argument("-cipher", "--cipher", metavar="S1:S2", help="cipher suites (OpenSSL names)")
    p.add_argument(
        "-keymatexport", "--keymatexport", metavar="LABEL", help="export keying material"
    )
    p.add_argument("-keymatexportlen", "--keymatexportlen", type=int, default=20, metavar="N")
    p.add_argument(
        "-timeout",
        "--timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="handshake deadline (default 10)",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m dtls", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="mode", required=True)

    client = sub.add_parser("client", help="connect to a DTLS server")
    client.add_argument("host")
    client.add_argument("port", type=int)
    client.add_argument(
        "-servername", "--servername", help="SNI and the name checked (default: HOST)"
    )
    client.add_argument(
        "-ign_eof",
        "--ign-eof",
        action="store_true",
        help="keep running when stdin closes (until the peer closes)",
    )
    _add_common(client)

    server = sub.add_parser("server", help="serve DTLS on a UDP port")
    server.add_argument("port", type=int, help="0 picks a free port (printed as ACCEPT)")
    server.add_argument("-host", "--host", default="127.0.0.1", help="address to bind")
    server.add_argument(
        "-verify", "--verify", action="store_true", help="require a client certificate"
    )
    server.add_argument(
        "-nocookie", "--nocookie", action="store_true", help="no HelloVerifyRequest exchange"
    )
    server.add_argument(
        "-naccept",
        "--naccept",
        type=int,
        default=0,
        metavar="N",
        help="exit after N peers have come and gone (default 0: forever)",
    )
    server.add_argument(
        "-echo", "--echo", action="store_true", help="send received data back to its peer"
    )
    _add_common(server)
    return parser


def _certificate(args: argparse.Namespace, generate_as: str | None) -> Certificate | None:
    if args.cert:
        chain = Path(args.cert).read_bytes()
        key = Path(args.key).read_bytes() if args.key else chain
        return Certificate.from_pem(chain, key)
    if generate_as is not None:
        cert = Certificate.generate(generate_as)
        _status(f"Generated certificate, fingerprint: {cert.fingerprint()}")
        return cert
    return None


def _config(args: argparse.Namespace, server: bool) -> Config:
    verification: Literal["auto", "fingerprint", "webpki", "dangerous_accept_any"] = "auto"
    if args.insecure:
        verification = "dangerous_accept_any"
    elif args.fingerprint and not args.cafile:
        verification = "fingerprint"
    elif args.cafile and not args.fingerprint:
        verification = "webpki"
    require_client = None
    if server:
        require_client = bool(args.verify or args.fingerprint)
    return Config(
        certificate=_certificate(args, "dtls-server" if server else None),
        peer_fingerprints=args.fingerprint or None,
        root_certificates_pem=Path(args.cafile).read_bytes() if args.cafile else None,
        verification=verification,
        require_client_certificate=require_client,
        cipher_suites=args.cipher,
        mtu=args.mtu,
        initial_rto=0.5,
        max_rto=4.0,
        handshake_timeout=args.timeout,
        alpn=args.alpn.split(",") if args.alpn else None,
        srtp_profiles=args.srtp,
        cookie_exchange=not getattr(args, "nocookie", False),
    )


def _print_session(session: aio.DtlsProtocol, args: argparse.Namespace) -> None:
    negotiated: Negotiated | None = session.negotiated
    assert negotiated is not None
    _status(f"CONNECTED {session.remote_address or ''}".rstrip())
    _status(f"Protocol: {negotiated.version}")
    _status(
        f"Cipher: {negotiated.cipher_suite_openssl or negotiated.cipher_suite} "
        f"({negotiated.cipher_suite})"
    )
    _status(f"Group: {negotiated.group}")
    _status(f"Extended master secret: {'yes' if negotiated.extended_master_secret else 'no'}")
    if negotiated.srtp_profile is not None:
        _status(f"SRTP Extension negotiated, profile={negotiated.srtp_profile}")
    if negotiated.alpn is not None:
        _status(f"ALPN protocol: {negotiated.alpn.decode(errors='replace')}")
    for i, der in enumerate(session.peer_certificates):
        _status(f"Peer certificate {i}: {fingerprint_of(der)}")
    if args.keymatexport:
        km = session.connection.export_keying_material(args.keymatexport, args.keymatexportlen)
        _status(f"Keying material: {km.hex().upper()}")


def _stdin_chunks(loop: asyncio.AbstractEventLoop) -> asyncio.Queue[bytes | None]:
    """What arrives on stdin (a line at a time from a terminal), read by a daemon thread so
    it works for ttys, pipes and files alike and never holds the process open; None marks
    the end. The thread reads the raw descriptor: a daemon thread blocked inside
    sys.stdin.buffer would hold its lock and abort the interpreter at exit."""
    queue: asyncio.Queue[bytes | None] = asyncio.Queue()
    fd = sys.stdin.fileno()

    def reader() -> None:
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            try:
                loop.call_soon_threadsafe(queue.put_nowait, chunk or None)
            except RuntimeError:  # the loop has closed
                return
            if not chunk:
                return

    threading.Thread(target=reader, name="dtls-stdin", daemon=True).start()
    return queue


def _send_all(session: aio.DtlsProtocol, data: bytes) -> None:
    """Sends `data` in records of at most max_send_len bytes."""
    step = max(1, session.connection.max_send_len)
    for i in range(0, len(data), step):
        session.send(data[i : i + step])


def _write_stdout(data: bytes) -> None:
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


async def _run_client(args: argparse.Namespace) -> int:
    config = _config(args, server=False)
    try:
        async with aio.connect(
            args.host, args.port, config, server_name=args.servername
        ) as session:
            _print_session(session, args)
            stdin = _stdin_chunks(asyncio.get_running_loop())

            async def pump_stdin() -> None:
                while (line := await stdin.get()) is not None:
                    _send_all(session, line)
                if not args.ign_eof:
                    session.close()

            stdin_task = asyncio.create_task(pump_stdin())
            try:
                async for data in session:
                    _write_stdout(data)
            finally:
                stdin_task.cancel()
            _status("CONNECTION CLOSED")
    except DtlsError as exc:
        _status(f"ERROR: {exc} (code {exc.code}, {exc.name})")
        return 1
    return 0


async def _run_server(args: argparse.Namespace) -> int:
    config = _config(args, server=True)
    sessions: set[aio.DtlsProtocol] = set()
    finished = 0
    done = asyncio.Event()

    async def handler(session: aio.DtlsProtocol) -> None:
        nonlocal finished
        _print_session(session, args)
        sessions.add(session)
        try:
            async for data in session:
                _write_stdout(data)
                if args.echo:
                    session.send(data)
        finally:
            sessions.discard(session)
            _status(f"CONNECTION CLOSED {session.remote_address}")
            finished += 1
            if args.naccept and finished >= args.naccept:
                done.set()

    server = await aio.serve(args.host, args.port, config, handler)
    host, port = server.local_address[:2]
    _status(f"ACCEPT {host}:{port}")
    stdin = _stdin_chunks(asyncio.get_running_loop())

    async def pump_stdin() -> None:
        while (line := await stdin.get()) is not None:
            for session in list(sessions):
                _send_all(session, line)

    stdin_task = asyncio.create_task(pump_stdin())
    try:
        await done.wait()
    finally:
        stdin_task.cancel()
        server.close()
        await server.wait_closed()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the tool; returns the exit status."""
    args = _parser().parse_args(argv)
    runner = _run_client if args.mode == "client" else _run_server
    try:
        return asyncio.run(runner(args))
    except KeyboardInterrupt:
        return 130
    except (OSError, DtlsError) as exc:
        _status(f"ERROR: {exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
