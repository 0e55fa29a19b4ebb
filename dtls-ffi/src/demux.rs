//! RFC 7983 demultiplexing: which protocol a datagram on a shared media socket belongs to.

use crate::boundary::guard_or;
use dtls_proto::demux::{classify, PacketKind};

/// Empty, or a first byte outside every RFC 7983 range: drop it.
pub const DTLS_PACKET_UNKNOWN: u32 = 0;
/// First byte 0..3: STUN.
pub const DTLS_PACKET_STUN: u32 = 1;
/// First byte 16..19: ZRTP.
pub const DTLS_PACKET_ZRTP: u32 = 2;
/// First byte 20..63: DTLS; feed it to `dtls_feed` (or `dtls_server_prefilter`).
pub const DTLS_PACKET_DTLS: u32 = 3;
/// First byte 64..79: TURN channel data.
pub const DTLS_PACKET_TURN_CHANNEL: u32 = 4;
/// First byte 128..191: RTP or RTCP.
pub const DTLS_PACKET_RTP_RTCP: u32 = 5;

fn bytes<'a>(data: *const u8, len: usize) -> &'a [u8] {
    if data.is_null() || len == 0 || len > isize::MAX as usize {
        return &[];
    }
    // SAFETY: non-NULL and readable for `len` bytes per the callers' contracts (only the
    // first byte is ever read).
    unsafe { std::slice::from_raw_parts(data, 1) }
}

/// True when the datagram is DTLS by RFC 7983 §7 (first byte 20..63). For a socket shared with
/// STUN/ICE, RTP/RTCP, ZRTP and TURN. NULL or empty: false. Allocates nothing.
///
/// # Safety
/// `data` is NULL or readable for `len` bytes (borrowed for the call; only byte 0 is read).
#[no_mangle]
pub unsafe extern "C" fn dtls_is_dtls(data: *const u8, len: usize) -> bool {
    guard_or(false, || classify(bytes(data, len)) == PacketKind::Dtls)
}

/// Classifies a datagram by its first byte (RFC 7983 §7): one of `DTLS_PACKET_*`.
/// NULL or empty: `DTLS_PACKET_UNKNOWN`.
///
/// # Safety
/// `data` is NULL or readable for `len` bytes (borrowed for the call; only byte 0 is read).
#[no_mangle]
pub unsafe extern "C" fn dtls_packet_kind(data: *const u8, len: usize) -> u32 {
    guard_or(DTLS_PACKET_UNKNOWN, || match classify(bytes(data, len)) {
        PacketKind::Stun => DTLS_PACKET_STUN,
        PacketKind::Zrtp => DTLS_PACKET_ZRTP,
        PacketKind::Dtls => DTLS_PACKET_DTLS,
        PacketKind::TurnChannel => DTLS_PACKET_TURN_CHANNEL,
        PacketKind::RtpRtcp => DTLS_PACKET_RTP_RTCP,
        PacketKind::Unknown => DTLS_PACKET_UNKNOWN,
    })
}
