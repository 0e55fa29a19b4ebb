//! Telling DTLS apart from the other protocols that share a media socket (RFC 7983 §7).
//!
//! WebRTC and SIP media put STUN, TURN channel data, ZRTP, RTP/RTCP and DTLS on one 5-tuple. The
//! first byte of each datagram is enough to tell them apart; anything outside the assigned
//! ranges is dropped rather than guessed at (RFC 7983 §7: "the packet MUST be dropped").

/// What the first byte of a datagram says it carries (RFC 7983 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketKind {
    /// 0..=3: STUN (ICE connectivity checks).
    Stun,
    /// 16..=19: ZRTP.
    Zrtp,
    /// 20..=63: DTLS (the record's content type).
    Dtls,
    /// 64..=79: TURN channel data.
    TurnChannel,
    /// 128..=191: RTP or RTCP.
    RtpRtcp,
    /// Empty, or a first byte outside every assigned range.
    Unknown,
}

/// Classifies a datagram by its first byte.
///
/// ```
/// use dtls_proto::demux::{classify, PacketKind};
/// assert_eq!(classify(&[22, 0xfe, 0xfd]), PacketKind::Dtls);
/// assert_eq!(classify(&[0x80, 0x60]), PacketKind::RtpRtcp);
/// assert_eq!(classify(&[0x00, 0x01]), PacketKind::Stun);
/// assert_eq!(classify(&[]), PacketKind::Unknown);
/// ```
pub fn classify(datagram: &[u8]) -> PacketKind {
    match datagram.first() {
        Some(0..=3) => PacketKind::Stun,
        Some(16..=19) => PacketKind::Zrtp,
        Some(20..=63) => PacketKind::Dtls,
        Some(64..=79) => PacketKind::TurnChannel,
        Some(128..=191) => PacketKind::RtpRtcp,
        _ => PacketKind::Unknown,
    }
}

/// True when the datagram belongs to DTLS (first byte 20..=63).
pub fn is_dtls(datagram: &[u8]) -> bool {
    classify(datagram) == PacketKind::Dtls
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_first_byte_lands_in_its_rfc7983_range() {
        for b in 0..=255u8 {
            let want = match b {
                0..=3 => PacketKind::Stun,
                16..=19 => PacketKind::Zrtp,
                20..=63 => PacketKind::Dtls,
                64..=79 => PacketKind::TurnChannel,
                128..=191 => PacketKind::RtpRtcp,
                _ => PacketKind::Unknown,
            };
            assert_eq!(classify(&[b, 0, 0]), want, "first byte {b}");
        }
        // The boundaries, spelled out.
        assert!(!is_dtls(&[19]) && is_dtls(&[20]) && is_dtls(&[63]) && !is_dtls(&[64]));
    }
}
