"""DTLS 1.2 for Python, over the ``dtls-proto`` Rust engine.

The core is sans-IO, in the style of aioquic: a :class:`Connection` never touches a socket
or a clock. The caller feeds it datagrams and the time, and sends what it produces::

    import time
    from dtls import Certificate, Config, Connection, Connected

    cert = Certificate.generate("me")
    config = Config(certificate=cert, peer_fingerprints=[their_fingerprint])
    conn = Connection(config, role="client", now=time.monotonic())
    for datagram in conn.datagrams_to_send(time.monotonic()):
        sock.send(datagram)
    # on each received datagram:
    conn.receive_datagram(data, time.monotonic())
    # when time.monotonic() >= conn.get_timer():
    conn.handle_timer(time.monotonic())
    while (event := conn.next_event()) is not None:
        match event:
            case Connected(negotiated):
                ...

Times are seconds on any monotonic clock. Errors are :class:`DtlsError` subclasses with
``.code`` (the C ABI's ``dtls_result``) and ``.name`` (e.g. ``DTLS_ERR_FINGERPRINT_MISMATCH``).

:mod:`dtls.aio` runs connections over asyncio UDP sockets (``connect()``, ``serve()``), and
``python -m dtls`` is an ``openssl s_client`` / ``s_server`` style command-line tool.
"""

from typing import TypeAlias

from ._native import (
    Accept,
    AlertReceivedError,
    AuthenticationError,
    BadFinishedError,
    BadSignatureError,
    BufferTooSmallError,
    Certificate,
    CertificateError,
    CertificateRejectedError,
    CloseNotify,
    Config,
    ConfigError,
    Connected,
    Connection,
    ConnectionClosedError,
    Drop,
    DtlsError,
    ExporterUnavailableError,
    ExtendedMasterSecretRequiredError,
    Failed,
    FingerprintMismatchError,
    HandshakeTimeoutError,
    Held,
    InternalError,
    InvalidArgumentError,
    InvalidConfigError,
    KeyUsageLimitError,
    Negotiated,
    NoCommonParametersError,
    NoPeerCertificateError,
    NotConnectedError,
    NoVerifierError,
    PeerCertificate,
    PeerMisbehavedError,
    ProtocolError,
    Reply,
    ServerFrontDoor,
    SrtpKeyingMaterial,
    SrtpProfile,
    UsageError,
    __version__,
    fingerprint_matches,
    fingerprint_of,
    format_sdp_fingerprint,
    is_dtls,
    packet_kind,
    parse_sdp_fingerprint,
    role_for_answer,
    role_for_remote_setup,
    setup_for_role,
    srtp_profile,
    srtp_profiles,
)

#: Anything :meth:`Connection.next_event` returns (besides None).
Event: TypeAlias = PeerCertificate | Connected | CloseNotify | Failed

#: Anything :meth:`ServerFrontDoor.prefilter` returns.
Verdict: TypeAlias = Accept | Reply | Drop
#: Anything :meth:`ServerFrontDoor.admit` returns.
Admission: TypeAlias = Accept | Reply | Held | Drop

__all__ = [
    "Accept",
    "Admission",
    "AlertReceivedError",
    "AuthenticationError",
    "BadFinishedError",
    "BadSignatureError",
    "BufferTooSmallError",
    "Certificate",
    "CertificateError",
    "CertificateRejectedError",
    "CloseNotify",
    "Config",
    "ConfigError",
    "Connected",
    "Connection",
    "ConnectionClosedError",
    "Drop",
    "DtlsError",
    "Event",
    "ExporterUnavailableError",
    "ExtendedMasterSecretRequiredError",
    "Failed",
    "FingerprintMismatchError",
    "HandshakeTimeoutError",
    "Held",
    "InternalError",
    "InvalidArgumentError",
    "InvalidConfigError",
    "KeyUsageLimitError",
    "Negotiated",
    "NoCommonParametersError",
    "NoPeerCertificateError",
    "NoVerifierError",
    "NotConnectedError",
    "PeerCertificate",
    "PeerMisbehavedError",
    "ProtocolError",
    "Reply",
    "ServerFrontDoor",
    "SrtpKeyingMaterial",
    "SrtpProfile",
    "UsageError",
    "Verdict",
    "__version__",
    "fingerprint_matches",
    "fingerprint_of",
    "format_sdp_fingerprint",
    "is_dtls",
    "packet_kind",
    "parse_sdp_fingerprint",
    "role_for_answer",
    "role_for_remote_setup",
    "setup_for_role",
    "srtp_profile",
    "srtp_profiles",
]
