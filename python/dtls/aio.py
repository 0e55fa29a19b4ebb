"""DTLS over asyncio UDP sockets.

A :class:`DtlsProtocol` drives one sans-IO :class:`dtls.Connection` from an asyncio datagram
transport: every received datagram is fed in, everything the connection produces is sent,
and a single timer is kept armed at :meth:`Connection.get_timer`. The event loop's clock
(``loop.time()``) is the connection's clock.

Client::

    async with dtls.aio.connect("127.0.0.1", 4433, config) as session:
        session.send(b"hello")
        reply = await session.recv()

Server, many peers on one socket (each peer's first ClientHello goes through the cookie check,
:meth:`dtls.ServerFrontDoor.admit`, before anything is allocated for it)::

    async def echo(session: DtlsProtocol) -> None:
        async for data in session:
            session.send(data)

    server = await dtls.aio.serve("127.0.0.1", 4433, config, echo)
    await server.serve_forever()
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any, cast

from ._native import (
    Accept,
    CloseNotify,
    Config,
    Connected,
    Connection,
    ConnectionClosedError,
    DtlsError,
    Failed,
    Negotiated,
    PeerCertificate,
    Reply,
    ServerFrontDoor,
)

__all__ = ["DtlsProtocol", "DtlsServer", "connect", "serve"]

logger = logging.getLogger("dtls.aio")

#: A transport address as asyncio reports it: ``(host, port)`` or ``(host, port, flow, scope)``.
Address = tuple[Any, ...]
#: What :func:`serve` calls for each peer once its handshake has completed.
Handler = Callable[["DtlsProtocol"], Awaitable[None]]


def _quiet(fut: asyncio.Future[Any]) -> None:
    """Marks a failed future's exception as seen, so that nobody awaiting it is not an error
    that asyncio logs at garbage collection (the failure is still raised to any awaiter)."""
    if fut.done() and not fut.cancelled():
        fut.exception()


class DtlsProtocol(asyncio.DatagramProtocol):
    """One DTLS association over a datagram transport.

    As a client, pass it to ``loop.create_datagram_endpoint`` with ``remote_addr`` (or use
    :func:`connect`). :func:`serve` makes one per peer on a shared socket. Use
    :meth:`wait_connected`, :meth:`send`, :meth:`recv` (or ``async for data in protocol``)
    and :meth:`close`.
    """

    def __init__(
        self,
        connection: Connection,
        *,
        remote_addr: Address | None = None,
        owns_transport: bool = True,
        on_closed: Callable[[DtlsProtocol], None] | None = None,
    ) -> None:
        """`remote_addr` is the destination of every datagram (None for a connected
        socket); `owns_transport` says whether :meth:`close` closes the transport (not when
        a server shares it between peers); `on_closed` is called once when the association
        ends, for whatever reason."""
        self._conn = connection
        self._remote_addr = remote_addr
        self._owns_transport = owns_transport
        self._on_closed = on_closed
        self._transport: asyncio.DatagramTransport | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._connected: asyncio.Future[Negotiated] | None = None
        self._closed: asyncio.Future[None] | None = None
        self._received: deque[bytes] = deque()
        self._recv_waiter: asyncio.Future[None] | None = None
        self._error: BaseException | None = None
        self._finished = False
        self._peer_certificates: tuple[bytes, ...] = ()

    # -- asyncio.DatagramProtocol ---------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # asyncio's datagram transports do not all derive from DatagramTransport (the
        # selector one does not), so this is a cast, not a check.
        self._transport = cast(asyncio.DatagramTransport, transport)
        self._loop = asyncio.get_running_loop()
        self._connected = self._loop.create_future()
        self._closed = self._loop.create_future()
        # A client's ClientHello is already waiting in the connection.
        self._process()

    def datagram_received(self, data: bytes, addr: Address) -> None:
        if self._finished:
            return
        try:
            self._conn.receive_datagram(data, self._now())
        except DtlsError as exc:
            self._fail(exc)
        self._process()

    def error_received(self, exc: Exception) -> None:
        # ICMP errors (port unreachable while the peer's socket is not up yet, ...) are not
        # fatal on UDP: the retransmission timer or the handshake deadline deals with them.
        logger.debug("ignoring socket error: %s", exc)

    def connection_lost(self, exc: Exception | None) -> None:
        # Nothing can be sent any more, not even a fatal alert.
        self._transport = None
        if not self._finished:
            self._fail(exc or ConnectionClosedError("the transport was closed"))

    # -- public API -----------------------------------------------------------------------

    @property
    def connection(self) -> Connection:
        """The sans-IO connection (for exporters, SRTP keys, statistics...)."""
        return self._conn

    @property
    def remote_address(self) -> Address | None:
        """The peer's address, when this protocol sends to an explicit address."""
        return self._remote_addr

    @property
    def is_connected(self) -> bool:
        """True once the handshake has completed, until close or failure."""
        return self._conn.is_connected

    @property
    def negotiated(self) -> Negotiated | None:
        """What the handshake negotiated, once it completed."""
        return self._conn.negotiated

    @property
    def peer_certificates(self) -> tuple[bytes, ...]:
        """The peer's verified certificate chain (DER, leaf first)."""
        return self._peer_certificates

    async def wait_connected(self) -> Negotiated:
        """Waits for the handshake; raises the failure (a :class:`dtls.DtlsError`) if it
        fails, :class:`dtls.ConnectionClosedError` if the association is closed first."""
        if self._connected is None:
            raise RuntimeError("the protocol is not attached to a transport yet")
        # Shielded: a caller's cancellation must not cancel the association's own future.
        return await asyncio.shield(self._connected)

    def send(self, data: bytes | bytearray) -> None:
        """Sends `data` as one application record (at most
        ``connection.max_send_len`` bytes). Raises :class:`dtls.NotConnectedError` before
        the handshake, :class:`dtls.ConnectionClosedError` after close, and
        :class:`dtls.InvalidArgumentError` when `data` is too large."""
        if self._error is not None and not isinstance(self._error, DtlsError):
            raise ConnectionClosedError(f"the association has ended: {self._error}")
        self._conn.send(data)
        self._process()

    async def recv(self) -> bytes:
        """The next application record. Raises :class:`dtls.ConnectionClosedError` once the
        association has closed cleanly and every record was read, or the failure."""
        while not self._received:
            if self._finished:
                raise self._end_error()
            if self._recv_waiter is not None:
                raise RuntimeError("recv() is already being awaited by another task")
            assert self._loop is not None
            self._recv_waiter = self._loop.create_future()
            try:
                await self._recv_waiter
            finally:
                self._recv_waiter = None
        return self._received.popleft()

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[bytes]:
        """Records until a clean close; a failure is raised."""
        while True:
            try:
                yield await self.recv()
            except ConnectionClosedError:
                if self._error is None or isinstance(self._error, ConnectionClosedError):
                    return
                raise

    def close(self) -> None:
        """Sends close_notify and ends the association (idempotent)."""
        if not self._finished:
            with contextlib.suppress(DtlsError):
                self._conn.close()
            self._flush()
            self._finish(None)

    async def wait_closed(self) -> None:
        """Waits until the association has ended (closed by either side, or failed)."""
        if self._closed is not None:
            await asyncio.shield(self._closed)

    def __repr__(self) -> str:
        return f"<DtlsProtocol {self._conn!r} peer={self._remote_addr!r}>"

    # -- the drive loop -------------------------------------------------------------------

    def _now(self) -> float:
        assert self._loop is not None
        return self._loop.time()

    def _process(self) -> None:
        """After any change: send what is ready, hand out events and data, re-arm the timer."""
        self._flush()
        while (event := self._conn.next_event()) is not None:
            self._on_event(event)
        while (data := self._conn.recv()) is not None:
            self._received.append(data)
            self._wake()
        self._arm_timer()

    def _flush(self) -> None:
        if self._transport is None or self._loop is None:
            return
        try:
            datagrams = self._conn.datagrams_to_send(self._now())
        except DtlsError as exc:
            self._fail(exc)
            return
        for datagram in datagrams:
            if self._remote_addr is None:
                self._transport.sendto(datagram)
            else:
                self._transport.sendto(datagram, self._remote_addr)

    def _on_event(self, event: PeerCertificate | Connected | CloseNotify | Failed) -> None:
        if isinstance(event, PeerCertificate):
            self._peer_certificates = event.certificates
        elif isinstance(event, Connected):
            if self._connected is not None and not self._connected.done():
                self._connected.set_result(event.negotiated)
        elif isinstance(event, CloseNotify):
            # The engine has queued our close_notify in answer; _process flushes it.
            self._flush()
            self._finish(None)
        elif isinstance(event, Failed):
            self._fail(event.error)

    def _arm_timer(self) -> None:
        deadline = None if self._finished else self._conn.get_timer()
        if deadline == self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_at = deadline
        if deadline is not None and self._loop is not None:
            self._timer = self._loop.call_at(deadline, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = None
        if self._finished:
            return
        try:
            self._conn.handle_timer(self._now())
        except DtlsError as exc:
            self._fail(exc)
        self._process()

    def _wake(self) -> None:
        if self._recv_waiter is not None and not self._recv_waiter.done():
            self._recv_waiter.set_result(None)

    def _end_error(self) -> BaseException:
        if self._error is not None:
            return self._error
        return ConnectionClosedError("the association is closed")

    def _fail(self, exc: BaseException) -> None:
        if self._finished:
            return
        # The fatal alert for the peer, if any, is still waiting in the connection.
        self._error = exc
        self._flush()
        self._finish(exc)

    def _finish(self, exc: BaseException | None) -> None:
        if self._finished:
            return
        self._finished = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_at = None
        if self._connected is not None and not self._connected.done():
            self._connected.set_exception(
                exc or ConnectionClosedError("closed before the handshake completed")
            )
            _quiet(self._connected)
        if self._closed is not None and not self._closed.done():
            self._closed.set_result(None)
        self._wake()
        if self._owns_transport and self._transport is not None:
            self._transport.close()
        if self._on_closed is not None:
            callback, self._on_closed = self._on_closed, None
            callback(self)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


@contextlib.asynccontextmanager
async def connect(
    host: str,
    port: int,
    config: Config,
    *,
    server_name: str | None = None,
    peer_fingerprints: Iterable[str] | None = None,
    local_addr: tuple[str, int] | None = None,
) -> AsyncIterator[DtlsProtocol]:
    """Connects to a DTLS server and yields the protocol once the handshake has completed;
    closes the association (close_notify) on exit.

    `server_name` (default: `host` unless it is an IP address) is sent as SNI and checked
    against the certificate in webpki mode. The handshake is bounded by the config's
    ``handshake_timeout``: a failure raises its :class:`dtls.DtlsError`.
    """
    loop = asyncio.get_running_loop()
    if server_name is None and not _is_ip(host):
        server_name = host
    conn = Connection(
        config,
        role="client",
        server_name=server_name,
        now=loop.time(),
        peer_fingerprints=peer_fingerprints,
    )
    _, protocol = await loop.create_datagram_endpoint(
        lambda: DtlsProtocol(conn), remote_addr=(host, port), local_addr=local_addr
    )
    try:
        await protocol.wait_connected()
        yield protocol
    finally:
        protocol.close()


class DtlsServer:
    """A DTLS server on one UDP socket: a :class:`DtlsProtocol` per peer, each handed to the
    handler once its handshake completes and closed when the handler returns.

    Datagrams are routed by source address. A peer that starts over from the same address
    while its old association is alive is served once the old one ends (close_notify, a
    failure, or the handshake deadline)."""

    def __init__(self, config: Config, handler: Handler, *, max_peers: int) -> None:
        self._config = config
        self._handler = handler
        self._max_peers = max_peers
        self._front_door = ServerFrontDoor(config)
        self._peers: dict[Address, DtlsProtocol] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._transport: asyncio.DatagramTransport | None = None
        self._loop = asyncio.get_running_loop()
        self._closed: asyncio.Future[None] = self._loop.create_future()
        #: Peers whose handshake failed, for diagnostics.
        self.failed_handshakes = 0

    @property
    def local_address(self) -> Address:
        """The address the socket is bound to, e.g. ``("127.0.0.1", 4433)``."""
        assert self._transport is not None
        address: Address = self._transport.get_extra_info("sockname")
        return address

    @property
    def peers(self) -> list[DtlsProtocol]:
        """The live associations."""
        return list(self._peers.values())

    def close(self) -> None:
        """Closes every association (close_notify), cancels the handlers, closes the socket."""
        for protocol in list(self._peers.values()):
            protocol.close()
        for task in self._tasks:
            task.cancel()
        if self._transport is not None:
            self._transport.close()
        if not self._closed.done():
            self._closed.set_result(None)

    async def wait_closed(self) -> None:
        """Waits for :meth:`close` and for every handler to finish."""
        await asyncio.shield(self._closed)
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def serve_forever(self) -> None:
        """Serves until :meth:`close` (or cancellation, which closes the server)."""
        try:
            await asyncio.shield(self._closed)
        finally:
            self.close()

    async def __aenter__(self) -> DtlsServer:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()
        await self.wait_closed()

    # -- called by _ServerSocket ----------------------------------------------------------

    def _attach(self, transport: asyncio.DatagramTransport) -> None:
        self._transport = transport

    def _datagram(self, data: bytes, addr: Address) -> None:
        protocol = self._peers.get(addr)
        if protocol is not None:
            protocol.datagram_received(data, addr)
            return
        # admit() serves every config: with DTLS 1.3 enabled it answers a whole ClientHello
        # (reassembled in the door's bounded pool) with a HelloRetryRequest cookie, and 1.2
        # ClientHellos with a HelloVerifyRequest as before.
        verdict = self._front_door.admit(self._loop.time(), addr, data)
        if isinstance(verdict, Reply):
            if self._transport is not None:
                self._transport.sendto(verdict.datagram, addr)
            return
        if not isinstance(verdict, Accept):
            return
        hello = verdict.datagram if verdict.datagram is not None else data
        if len(self._peers) >= self._max_peers:
            logger.warning("refusing %s: %d associations already", addr, self._max_peers)
            return
        try:
            conn = Connection(self._config, role="server", now=self._loop.time(), peer_address=addr)
        except DtlsError:
            logger.exception("cannot create an association for %s", addr)
            return
        protocol = DtlsProtocol(
            conn, remote_addr=addr, owns_transport=False, on_closed=self._forget
        )
        self._peers[addr] = protocol
        assert self._transport is not None
        protocol.connection_made(self._transport)
        protocol.datagram_received(hello, addr)
        task = self._loop.create_task(self._run(protocol))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _forget(self, protocol: DtlsProtocol) -> None:
        addr = protocol.remote_address
        if addr is not None and self._peers.get(addr) is protocol:
            del self._peers[addr]

    async def _run(self, protocol: DtlsProtocol) -> None:
        try:
            await protocol.wait_connected()
        except DtlsError as exc:
            self.failed_handshakes += 1
            logger.info("handshake with %s failed: %s (%s)", protocol.remote_address, exc, exc.name)
            return
        try:
            await self._handler(protocol)
        except (ConnectionClosedError, asyncio.CancelledError):
            pass
        except Exception:
            logger.exception("handler for %s failed", protocol.remote_address)
        finally:
            protocol.close()

    def _lost(self, exc: Exception | None) -> None:
        for protocol in list(self._peers.values()):
            protocol.connection_lost(exc)
        if not self._closed.done():
            self._closed.set_result(None)


class _ServerSocket(asyncio.DatagramProtocol):
    """The shared socket's protocol: hands each datagram to the server."""

    def __init__(self, server: DtlsServer) -> None:
        self._server = server

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._server._attach(cast(asyncio.DatagramTransport, transport))

    def datagram_received(self, data: bytes, addr: Address) -> None:
        self._server._datagram(data, addr)

    def error_received(self, exc: Exception) -> None:
        logger.debug("ignoring socket error: %s", exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self._server._lost(exc)


async def serve(
    host: str,
    port: int,
    config: Config,
    handler: Handler,
    *,
    max_peers: int = 1024,
) -> DtlsServer:
    """Binds a UDP socket on `host`:`port` (port 0 picks a free one, see
    :attr:`DtlsServer.local_address`) and serves DTLS on it: `handler(protocol)` runs for
    each peer whose handshake completes, and the association is closed when it returns.
    At most `max_peers` associations exist at once; further ClientHellos are dropped."""
    loop = asyncio.get_running_loop()
    server = DtlsServer(config, handler, max_peers=max_peers)
    await loop.create_datagram_endpoint(lambda: _ServerSocket(server), local_addr=(host, port))
    return server
