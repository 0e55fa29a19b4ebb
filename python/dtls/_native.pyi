"""Types of the native extension `dtls._native` (PyO3, abi3).

Times are seconds on any monotonic clock (``time.monotonic()``, ``loop.time()``); the
engine works in whole milliseconds and rounds to the nearest one.
"""

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import ClassVar, Literal, final

from typing_extensions import Buffer

__version__: str
__all__ = [
    "Accept",
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
    "__version__",
    "_bench_engine_handshakes",
    "_bench_engine_throughput",
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

_Verification = Literal["auto", "fingerprint", "webpki", "dangerous_accept_any"]
_ClientAuthMode = Literal["none", "request", "require"]
_EmsMode = Literal["require", "request", "disable"]
_HashName = Literal["sha-1", "sha-256", "sha-384", "sha-512"]
_Role = Literal["client", "server"]
_Address = bytes | str | tuple[object, ...]

# ---------------------------------------------------------------------------------------
# Certificates

@final
class Certificate:
    """A certificate chain with its private key."""

    @staticmethod
    def generate(
        common_name: str = "dtls", *, key_type: Literal["p256", "p384"] = "p256"
    ) -> Certificate:
        """A fresh self-signed ECDSA certificate (WebRTC style)."""

    @staticmethod
    def from_pem(chain_pem: bytes | str, key_pem: bytes | str | None = None) -> Certificate:
        """Loads a PEM chain (leaf first) and a PEM private key."""

    def fingerprint(self, algorithm: _HashName = "sha-256") -> str:
        """The leaf's SDP fingerprint, ``"sha-256 AB:CD:..."``."""

    @property
    def chain(self) -> list[bytes]:
        """The chain as DER certificates, leaf first."""

    def to_pem(self) -> tuple[str, str]:
        """``(chain_pem, key_pem)``."""

def fingerprint_of(der: Buffer, algorithm: _HashName = "sha-256") -> str:
    """The SDP fingerprint of a DER certificate."""

# ---------------------------------------------------------------------------------------
# Configuration

@final
class Config:
    """Immutable settings shared by many connections. Every argument is keyword-only.

    certificate: our chain and key (a server needs one).
    peer_fingerprints: SDP fingerprints (``"sha-256 AB:.."``) pinned for every connection.
    root_certificates_pem: trust anchors (PEM) for webpki chain validation.
    verification: how the peer is authenticated; "auto" pins fingerprints when there are
        any, else validates the chain against the roots.
    client_auth / require_client_certificate: a server asks for (and requires) a client
        certificate; give one of them.
    cipher_suites: IANA or OpenSSL names (a list, or one ``"A:B"`` string) or IANA ids.
    groups: "x25519", "secp256r1" ("P-256"), "secp384r1" ("P-384"), or IANA ids.
    extended_master_secret: RFC 7627 policy (default "require"; True/False mean
        "require"/"disable").
    cookie_exchange: a server's HelloVerifyRequest round trip (default on).
    cookie_secret: 32 bytes shared by processes serving one address.
    mtu: the largest datagram sent (default 1200, at least 128).
    initial_rto, max_rto, handshake_timeout: retransmission timers, seconds.
    alpn: protocol names in preference order.
    srtp_profiles: ``"SRTP_AES128_CM_SHA1_80:SRTP_AEAD_AES_128_GCM"`` or a list of names
        and IANA ids, for use_srtp (RFC 5764).
    srtp_mki: the MKI to offer in use_srtp.
    srtp_accept_mki: a server echoes the client's MKI (default) or, if false, answers with
        none (RFC 5764 §4.1.3).
    rng_seed: reproducible randoms, for tests only.
    versions: protocol versions, ``["1.2", "1.3"]`` (the default), ``["1.2"]`` or ``["1.3"]``.
    max_handshake_message: the largest handshake message accepted, bytes.
    limits: per-association memory bounds by name (see the ``limits`` property for the
        names and defaults), e.g. ``{"max_received_records": 64}``.
    wall_clock: a callable returning Unix seconds, for certificate validity.
    """

    def __new__(
        cls,
        *,
        certificate: Certificate | None = None,
        peer_fingerprints: Iterable[str] | None = None,
        root_certificates_pem: bytes | str | None = None,
        verification: _Verification = "auto",
        client_auth: _ClientAuthMode | bool | None = None,
        require_client_certificate: bool | None = None,
        cipher_suites: str | Iterable[str | int] | None = None,
        groups: str | Iterable[str | int] | None = None,
        extended_master_secret: _EmsMode | bool | None = None,
        cookie_exchange: bool = True,
        cookie_secret: bytes | None = None,
        mtu: int = 1200,
        initial_rto: float = 1.0,
        max_rto: float = 60.0,
        handshake_timeout: float = 60.0,
        alpn: Iterable[bytes | str] | None = None,
        srtp_profiles: str | Iterable[str | int] | None = None,
        srtp_mki: bytes | None = None,
        srtp_accept_mki: bool = True,
        rng_seed: int | None = None,
        versions: str | Iterable[str | int] | None = None,
        max_handshake_message: int | None = None,
        limits: Mapping[str, int] | None = None,
        wall_clock: Callable[[], float] | None = None,
    ) -> Config: ...
    @property
    def mtu(self) -> int: ...
    @property
    def cookie_exchange(self) -> bool: ...
    @property
    def limits(self) -> dict[str, int]:
        """The memory bounds in force, by name."""

# ---------------------------------------------------------------------------------------
# Events and negotiated parameters

@final
class Negotiated:
    """What the handshake settled on."""

    @property
    def version(self) -> str: ...
    @property
    def cipher_suite(self) -> str: ...
    @property
    def cipher_suite_id(self) -> int: ...
    @property
    def cipher_suite_openssl(self) -> str | None: ...
    @property
    def group(self) -> str: ...
    @property
    def peer_signature_scheme(self) -> int | None: ...
    @property
    def extended_master_secret(self) -> bool: ...
    @property
    def srtp_profile(self) -> str | None: ...
    @property
    def srtp_profile_id(self) -> int | None: ...
    @property
    def srtp_mki(self) -> bytes: ...
    @property
    def alpn(self) -> bytes | None: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class PeerCertificate:
    """Event: the peer's certificate chain was received and verified."""

    __match_args__: ClassVar[tuple[str]]
    def __new__(cls, certificates: Sequence[bytes]) -> PeerCertificate: ...
    @property
    def certificates(self) -> tuple[bytes, ...]: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class Connected:
    """Event: the handshake completed; application data may flow."""

    __match_args__: ClassVar[tuple[str]]
    def __new__(cls, negotiated: Negotiated) -> Connected: ...
    @property
    def negotiated(self) -> Negotiated: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class CloseNotify:
    """Event: the peer closed the association with close_notify."""

    __match_args__: ClassVar[tuple[()]]
    def __new__(cls) -> CloseNotify: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class Failed:
    """Event: the association failed; ``error`` is the exception the failing call raised."""

    __match_args__: ClassVar[tuple[str]]
    def __new__(cls, error: DtlsError) -> Failed: ...
    @property
    def error(self) -> DtlsError: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class SrtpKeyingMaterial:
    """SRTP master keys and salts for both directions (RFC 5764 section 4.2)."""

    @property
    def profile(self) -> str: ...
    @property
    def profile_id(self) -> int: ...
    @property
    def mki(self) -> bytes: ...
    @property
    def client_key(self) -> bytes: ...
    @property
    def server_key(self) -> bytes: ...
    @property
    def client_salt(self) -> bytes: ...
    @property
    def server_salt(self) -> bytes: ...
    @property
    def material(self) -> bytes: ...

# ---------------------------------------------------------------------------------------
# The connection

@final
class Connection:
    """One DTLS association, sans-IO: the caller owns the socket and the clock."""

    def __new__(
        cls,
        config: Config,
        *,
        role: _Role,
        server_name: str | None = None,
        now: float = 0.0,
        peer_fingerprints: Iterable[str] | None = None,
        peer_address: _Address | None = None,
    ) -> Connection: ...
    @property
    def role(self) -> _Role: ...
    @property
    def is_connected(self) -> bool: ...
    @property
    def is_closed(self) -> bool: ...
    @property
    def max_send_len(self) -> int: ...
    @property
    def negotiated(self) -> Negotiated | None: ...
    def add_peer_fingerprint(self, fingerprint: str) -> None: ...
    def set_peer_address(self, address: _Address) -> None: ...
    def set_mtu(self, mtu: int) -> None: ...
    def receive_datagram(self, data: Buffer, now: float) -> None:
        """Processes one whole UDP datagram; raises when the association fails."""

    def datagrams_to_send(self, now: float) -> list[bytes]:
        """Every datagram ready to go out, in order."""

    def get_timer(self) -> float | None:
        """The deadline at which handle_timer must be called, or None."""

    def handle_timer(self, now: float) -> None: ...
    def next_event(self) -> PeerCertificate | Connected | CloseNotify | Failed | None: ...
    def send(self, data: Buffer) -> None:
        """Queues one application record of at most max_send_len bytes."""

    def seal_into(self, data: Buffer, out: Buffer) -> int:
        """Seals one application record straight into ``out``; returns its length."""

    def open_in_place(self, datagram: Buffer, now: float) -> memoryview | None:
        """Decrypts a single-record datagram where it lies; the plaintext as a view, or None."""

    def recv(self) -> bytes | None:
        """The next received application record, or None."""

    def key_update(self, now: float, request_peer: bool = False) -> None:
        """DTLS 1.3: updates our sending keys (RFC 9147 §8); with request_peer the peer
        updates its own too."""
    def close(self) -> None:
        """Queues close_notify."""

    def export_keying_material(
        self, label: bytes | str, length: int, context: Buffer | None = None
    ) -> bytes:
        """RFC 5705 keying material."""

    def srtp_keying_material(self) -> SrtpKeyingMaterial: ...
    def peer_certificates(self) -> list[bytes]: ...
    def stats(self) -> dict[str, int]: ...

# ---------------------------------------------------------------------------------------
# The stateless server front door

@final
class Accept:
    """Verdict: create a server Connection for this peer and feed it ``datagram`` (from
    :meth:`ServerFrontDoor.admit`), or the classified datagram when that is None (from
    :meth:`ServerFrontDoor.prefilter`)."""

    __match_args__: ClassVar[tuple[str]]
    def __new__(cls, datagram: bytes | bytearray | None = None) -> Accept: ...
    @property
    def datagram(self) -> bytes | None: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class Reply:
    """Verdict: send ``datagram`` (a HelloVerifyRequest or HelloRetryRequest) back; keep no
    state."""

    __match_args__: ClassVar[tuple[str]]
    def __new__(cls, datagram: bytes | bytearray) -> Reply: ...
    @property
    def datagram(self) -> bytes: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class Drop:
    """Verdict: ignore the datagram."""

    __match_args__: ClassVar[tuple[()]]
    def __new__(cls) -> Drop: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class Held:
    """Verdict (``admit`` only): part of a ClientHello, held until the rest arrives."""

    __match_args__: ClassVar[tuple[()]]
    def __new__(cls) -> Held: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class ServerFrontDoor:
    """Cookie check for datagrams from addresses without an association. With DTLS 1.3
    enabled, ClientHellos spanning datagrams wait in a pool shared by all peers (bounded)."""

    def __new__(cls, config: Config) -> ServerFrontDoor: ...
    def admit(self, now: float, peer: _Address, datagram: Buffer) -> Accept | Reply | Held | Drop:
        """Classifies a datagram from a peer without an association (any config)."""

    def pool(self) -> tuple[int, int]:
        """``(bytes, entries)`` the ClientHello pool holds now."""

    def prefilter(self, now: float, peer: _Address, datagram: Buffer) -> Accept | Reply | Drop:
        """The DTLS 1.2-only check from the first fragment; use :meth:`admit` with 1.3."""

# ---------------------------------------------------------------------------------------
# WebRTC / VoIP helpers: RFC 7983 demultiplexing, a=setup roles, SDP fingerprints, SRTP profiles

_PacketKind = Literal["stun", "zrtp", "dtls", "turn-channel", "rtp-rtcp", "unknown"]

def is_dtls(datagram: Buffer) -> bool:
    """True when the datagram's first byte is in DTLS's RFC 7983 range (20..63)."""

def packet_kind(datagram: Buffer) -> _PacketKind:
    """What a datagram on a shared media socket carries (RFC 7983 section 7)."""

def role_for_remote_setup(offer_setup: str) -> _Role:
    """Answerer: our role for the offer's a=setup (actpass makes us the client)."""

def role_for_answer(answer_setup: str) -> _Role:
    """Offerer: our role for the answer's a=setup (active makes us the server)."""

def setup_for_role(role: _Role) -> Literal["active", "passive"]:
    """The a=setup value announcing ``role`` in an answer."""

def parse_sdp_fingerprint(value: str) -> tuple[str, bytes]:
    """``"sha-256 AB:CD:..."`` -> ``("sha-256", digest)``."""

def format_sdp_fingerprint(algorithm: _HashName, digest: Buffer) -> str:
    """``("sha-256", digest)`` -> ``"sha-256 AB:CD:..."``."""

def fingerprint_matches(fingerprint: str, der: Buffer) -> bool:
    """True when the DER certificate has this SDP fingerprint."""

@final
class SrtpProfile:
    """One DTLS-SRTP protection profile (RFC 5764), from the engine's table."""

    @property
    def id(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def openssl_name(self) -> str: ...
    @property
    def key_len(self) -> int: ...
    @property
    def salt_len(self) -> int: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

def srtp_profiles() -> list[SrtpProfile]:
    """Every SRTP profile the engine knows, strongest first."""

def srtp_profile(profile: int | str) -> SrtpProfile | None:
    """The profile with this IANA id or IANA/OpenSSL name, or None."""

# ---------------------------------------------------------------------------------------
# Exceptions: every instance has .code (the C ABI's dtls_result) and .name (its C name)

class DtlsError(Exception):
    code: int
    name: str
    alert: str | None

class UsageError(DtlsError): ...
class ConfigError(DtlsError, ValueError): ...
class ProtocolError(DtlsError): ...
class AuthenticationError(DtlsError): ...
class InvalidArgumentError(UsageError, ValueError): ...
class BufferTooSmallError(UsageError): ...
class NotConnectedError(UsageError): ...
class ConnectionClosedError(UsageError): ...
class ExporterUnavailableError(UsageError): ...
class InvalidConfigError(ConfigError): ...
class CertificateError(ConfigError): ...
class NoVerifierError(ConfigError): ...
class HandshakeTimeoutError(ProtocolError, TimeoutError): ...
class AlertReceivedError(ProtocolError): ...
class PeerMisbehavedError(ProtocolError): ...
class NoCommonParametersError(ProtocolError): ...
class ExtendedMasterSecretRequiredError(ProtocolError): ...
class KeyUsageLimitError(ProtocolError): ...
class InternalError(ProtocolError): ...
class FingerprintMismatchError(AuthenticationError): ...
class CertificateRejectedError(AuthenticationError): ...
class NoPeerCertificateError(AuthenticationError): ...
class BadSignatureError(AuthenticationError): ...
class BadFinishedError(AuthenticationError): ...

# ---------------------------------------------------------------------------------------
# Benchmark support: the same loops as python/bench.py, run in Rust

def _bench_engine_handshakes(client_config: Config, server_config: Config, n: int) -> float: ...
def _bench_engine_throughput(
    client_config: Config, server_config: Config, total_bytes: int, record_size: int, batch: int
) -> float: ...
