//! The stateless HelloRetryRequest cookie (RFC 8446 §4.2.2, RFC 9147 §5.1).
//!
//! The cookie carries what the server needs to continue without having kept anything: the
//! group it asked for and the hash of ClientHello1 (the transcript restarts from a
//! `message_hash` of it, RFC 8446 §4.4.1). A MAC over those, the peer's address and the key
//! window binds it, under the same rotating key as the DTLS 1.2 cookie.

use crate::config::Config;
use crate::crypto::hash::{ct_eq, hmac_with_key};
use crate::front_door::{window, window_key};
use crate::msgs::codec::Reader;
use crate::msgs::enums::NamedGroup;

const MAC_LEN: usize = 16;
const DOMAIN: &[u8] = b"dtls13 hrr cookie";

/// What a valid cookie vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CookieContents {
    pub group: NamedGroup,
    /// The HelloRetryRequest named the group (the client's shares fitted none of ours).
    pub named_group: bool,
    pub ch1_hash: Vec<u8>,
}

fn mac(cfg: &Config, w: u64, peer: &[u8], group: u16, flags: u8, hash: &[u8]) -> [u8; MAC_LEN] {
    let key = window_key(cfg, w);
    let plen = (peer.len() as u32).to_be_bytes();
    let tag = hmac_with_key(
        &key,
        &[DOMAIN, &plen, peer, &group.to_be_bytes(), &[flags], hash],
    );
    let mut m = [0u8; MAC_LEN];
    m.copy_from_slice(&tag.as_ref()[..MAC_LEN]);
    m
}

/// A cookie for `peer` committing to `group` and the hash of its ClientHello1.
pub(crate) fn make(
    cfg: &Config,
    now: u64,
    peer: &[u8],
    group: NamedGroup,
    named_group: bool,
    ch1_hash: &[u8],
) -> Vec<u8> {
    let w = window(cfg, now);
    let g = group.get();
    let flags = u8::from(named_group);
    let mut c = Vec::with_capacity(5 + ch1_hash.len() + MAC_LEN);
    c.push(w as u8);
    c.extend_from_slice(&g.to_be_bytes());
    c.push(flags);
    c.push(ch1_hash.len() as u8);
    c.extend_from_slice(ch1_hash);
    c.extend_from_slice(&mac(cfg, w, peer, g, flags, ch1_hash));
    c
}

/// The contents of a cookie we issued to `peer` in this key window or the one before.
pub(crate) fn open(cfg: &Config, now: u64, peer: &[u8], cookie: &[u8]) -> Option<CookieContents> {
    let mut r = Reader::new(cookie);
    let wb = r.u8()?;
    let group = r.u16()?;
    let flags = r.u8()?;
    let hash = r.vec8()?;
    let tag = r.take(MAC_LEN)?;
    if !r.is_empty() || flags > 1 || !(hash.len() == 32 || hash.len() == 48) {
        return None;
    }
    let w = window(cfg, now);
    let ok = [Some(w), w.checked_sub(1)]
        .into_iter()
        .flatten()
        .any(|cw| wb == cw as u8 && ct_eq(tag, &mac(cfg, cw, peer, group, flags, hash)));
    ok.then(|| CookieContents {
        group: NamedGroup::from(group),
        named_group: flags == 1,
        ch1_hash: hash.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_peer_group_hash_and_window() {
        let cfg = Config::builder().build().unwrap();
        let c = make(&cfg, 1000, b"peer", NamedGroup::X25519, true, &[7; 32]);
        let got = open(&cfg, 1000, b"peer", &c).unwrap();
        assert_eq!(got.group, NamedGroup::X25519);
        assert!(got.named_group);
        assert_eq!(got.ch1_hash, vec![7; 32]);
        assert!(open(&cfg, 1000, b"other", &c).is_none());
        let lifetime = cfg.cookie_lifetime_ms;
        assert!(open(&cfg, 1000 + lifetime, b"peer", &c).is_some());
        assert!(open(&cfg, 1000 + 3 * lifetime, b"peer", &c).is_none());
        for i in 0..c.len() {
            let mut bad = c.clone();
            bad[i] ^= 1;
            assert!(open(&cfg, 1000, b"peer", &bad).is_none(), "byte {i}");
        }
        assert!(open(&cfg, 1000, b"peer", &c[..c.len() - 1]).is_none());
    }
}
