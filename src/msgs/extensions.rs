//! Hello extensions. The list keeps every extension raw (unknown ones included) and rejects
//! duplicates at decode time (RFC 5246 §7.4.1.4); typed accessors parse the ones we use.

use super::codec::{Codec, Reader, Writer};
use super::enums::{ExtensionType, NamedGroup};

/// One extension, undecoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension {
    /// The extension type.
    pub typ: ExtensionType,
    /// extension_data, undecoded.
    pub data: Vec<u8>,
}

/// An extension block, in wire order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extensions(pub Vec<Extension>);

/// Why an extension block was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtensionsError {
    /// The block or an extension in it is truncated or overlong.
    Malformed,
    /// An extension type appears twice (RFC 5246 §7.4.1.4 forbids it).
    Duplicate,
}

/// Up to this many extensions, duplicates are found by scanning the list.
const LINEAR_DUP_CHECK: usize = 16;

/// Sets the bit of `typ`; true if it was already set.
fn mark(seen: &mut [u64], typ: u16) -> bool {
    let (word, bit) = (usize::from(typ >> 6), 1u64 << (typ & 63));
    match seen.get_mut(word) {
        Some(w) => {
            let was = *w & bit != 0;
            *w |= bit;
            was
        }
        None => false, // 2^16 bits always cover a u16.
    }
}

impl Extensions {
    /// Decodes an optional extension block (absent when the hello ends before it).
    pub fn read_block(r: &mut Reader<'_>) -> Result<Self, ExtensionsError> {
        if r.is_empty() {
            return Ok(Extensions::default());
        }
        Self::read_required(r)
    }

    /// Decodes a block that must be present, as in every TLS 1.3 message and CertificateEntry
    /// (RFC 8446 §4): a missing length is `Malformed`, unlike [`Extensions::read_block`].
    pub fn read_required(r: &mut Reader<'_>) -> Result<Self, ExtensionsError> {
        let mut block = r.sub16().ok_or(ExtensionsError::Malformed)?;
        let mut list: Vec<Extension> = Vec::new();
        // Duplicate check: a linear scan for the usual few extensions, a bitset over all 2^16
        // types past that, so a block of thousands of empty extensions costs linear time.
        let mut seen: Vec<u64> = Vec::new();
        while !block.is_empty() {
            let typ = ExtensionType::read(&mut block).ok_or(ExtensionsError::Malformed)?;
            let data = block.vec16().ok_or(ExtensionsError::Malformed)?;
            let dup = if list.len() < LINEAR_DUP_CHECK {
                list.iter().any(|e| e.typ == typ)
            } else {
                if seen.is_empty() {
                    seen = vec![0u64; 1 << 10];
                    for e in &list {
                        mark(&mut seen, e.typ.get());
                    }
                }
                mark(&mut seen, typ.get())
            };
            if dup {
                return Err(ExtensionsError::Duplicate);
            }
            list.push(Extension {
                typ,
                data: data.to_vec(),
            });
        }
        Ok(Extensions(list))
    }

    /// Appends the block; nothing at all when empty (RFC 5246 allows omitting it).
    pub fn encode_block(&self, out: &mut Vec<u8>) {
        if self.0.is_empty() {
            return;
        }
        self.encode_required(out);
    }

    /// Appends the block with its length even when empty (the TLS 1.3 form).
    pub fn encode_required(&self, out: &mut Vec<u8>) {
        out.put_len_prefixed(2, |out| {
            for e in &self.0 {
                e.typ.encode(out);
                out.put_vec16(&e.data);
            }
        });
    }

    /// Raw data of an extension, if present.
    pub fn get(&self, typ: ExtensionType) -> Option<&[u8]> {
        self.0.iter().find(|e| e.typ == typ).map(|e| &e.data[..])
    }

    /// True if present.
    pub fn has(&self, typ: ExtensionType) -> bool {
        self.get(typ).is_some()
    }

    /// Adds an extension.
    pub fn push(&mut self, typ: ExtensionType, data: Vec<u8>) {
        self.0.push(Extension { typ, data });
    }

    /// The types present, for "server may only echo what the client offered" checks.
    pub fn types(&self) -> impl Iterator<Item = ExtensionType> + '_ {
        self.0.iter().map(|e| e.typ)
    }
}

/// Reads a `u16` list with a two-byte length prefix; `None` if malformed or odd-length.
pub fn read_u16_list(data: &[u8]) -> Option<Vec<u16>> {
    let mut r = Reader::new(data);
    let mut inner = r.sub16()?;
    if !r.is_empty() || inner.left() % 2 != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(inner.left() / 2);
    while !inner.is_empty() {
        out.push(inner.u16()?);
    }
    Some(out)
}

/// Encodes a `u16` list with a two-byte length prefix.
pub fn u16_list(values: &[u16]) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + values.len() * 2);
    out.put_len_prefixed(2, |out| values.iter().for_each(|v| out.put_u16(*v)));
    out
}

/// supported_groups (RFC 8422 §5.1.1).
pub fn supported_groups(groups: &[NamedGroup]) -> Vec<u8> {
    u16_list(&groups.iter().map(|g| g.get()).collect::<Vec<_>>())
}

/// ec_point_formats with only "uncompressed" (RFC 8422 §5.1.2).
pub fn ec_point_formats() -> Vec<u8> {
    vec![1, 0]
}

/// True if an ec_point_formats list includes uncompressed(0).
pub fn ec_point_formats_ok(data: &[u8]) -> bool {
    let mut r = Reader::new(data);
    matches!(r.vec8(), Some(list) if r.is_empty() && list.contains(&0))
}

/// server_name with one host_name (RFC 6066 §3).
pub fn server_name(host: &str) -> Vec<u8> {
    let mut out = Vec::new();
    out.put_len_prefixed(2, |out| {
        out.put_u8(0);
        out.put_vec16(host.as_bytes());
    });
    out
}

/// The host_name of a server_name extension, if well formed.
pub fn read_server_name(data: &[u8]) -> Option<String> {
    let mut r = Reader::new(data);
    let mut list = r.sub16()?;
    while !list.is_empty() {
        let typ = list.u8()?;
        let name = list.vec16()?;
        if typ == 0 {
            return String::from_utf8(name.to_vec()).ok();
        }
    }
    None
}

/// ALPN protocol name list (RFC 7301 §3.1).
pub fn alpn(protocols: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    out.put_len_prefixed(2, |out| protocols.iter().for_each(|p| out.put_vec8(p)));
    out
}

/// Parses an ALPN list; rejects empty names and an empty list.
pub fn read_alpn(data: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut r = Reader::new(data);
    let mut list = r.sub16()?;
    if !r.is_empty() || list.is_empty() {
        return None;
    }
    let mut out = Vec::new();
    while !list.is_empty() {
        let p = list.vec8()?;
        if p.is_empty() {
            return None;
        }
        out.push(p.to_vec());
    }
    Some(out)
}

/// use_srtp (RFC 5764 §4.1.1): profiles and MKI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UseSrtp {
    /// SRTPProtectionProfile ids: the client's offer in preference order, or the server's one
    /// choice.
    pub profiles: Vec<u16>,
    /// srtp_mki (often empty).
    pub mki: Vec<u8>,
}

impl Codec for UseSrtp {
    fn encode(&self, out: &mut Vec<u8>) {
        out.put(&u16_list(&self.profiles));
        out.put_vec8(&self.mki);
    }

    fn read(r: &mut Reader<'_>) -> Option<Self> {
        let list = r.vec16()?;
        if list.len() % 2 != 0 {
            return None;
        }
        let profiles = list
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        let mki = r.vec8()?.to_vec();
        Some(UseSrtp { profiles, mki })
    }
}

/// renegotiation_info for an initial handshake: an empty renegotiated_connection (RFC 5746 §3.2).
pub fn renegotiation_info_initial() -> Vec<u8> {
    vec![0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_rejected_unknown_kept() {
        let mut e = Extensions::default();
        e.push(ExtensionType::Unknown(0x7777), vec![1]);
        e.push(ExtensionType::ExtendedMasterSecret, vec![]);
        let mut buf = Vec::new();
        e.encode_block(&mut buf);
        let back = Extensions::read_block(&mut Reader::new(&buf)).unwrap();
        assert_eq!(back, e);
        e.push(ExtensionType::ExtendedMasterSecret, vec![]);
        let mut buf = Vec::new();
        e.encode_block(&mut buf);
        assert_eq!(
            Extensions::read_block(&mut Reader::new(&buf)),
            Err(ExtensionsError::Duplicate)
        );
    }

    #[test]
    fn many_extensions_cost_linear_time_and_duplicates_are_found() {
        let block = |types: &mut dyn Iterator<Item = u16>| {
            let mut b = vec![0, 0];
            for t in types {
                b.extend_from_slice(&t.to_be_bytes());
                b.extend_from_slice(&[0, 0]);
            }
            let len = (b.len() - 2) as u16;
            b[..2].copy_from_slice(&len.to_be_bytes());
            b
        };
        // The largest block: 16383 distinct empty extensions (this took over a second in a
        // debug build with a quadratic check).
        let b = block(&mut (0..16383u16));
        let t = std::time::Instant::now();
        let e = Extensions::read_required(&mut Reader::new(&b)).unwrap();
        assert_eq!(e.0.len(), 16383);
        assert!(t.elapsed() < std::time::Duration::from_millis(500));
        // A duplicate found by the scan, and ones found by the bitset (early and late types).
        for types in [
            vec![1, 2, 1],
            (0..40).chain([3]).collect(),
            (0..40).chain([39]).collect(),
        ] {
            let b = block(&mut types.into_iter());
            assert_eq!(
                Extensions::read_required(&mut Reader::new(&b)),
                Err(ExtensionsError::Duplicate)
            );
        }
        let b = block(&mut (0..40).chain([0xffff, 0xfffe]));
        assert_eq!(
            Extensions::read_required(&mut Reader::new(&b))
                .unwrap()
                .0
                .len(),
            42
        );
    }

    #[test]
    fn typed_helpers() {
        assert_eq!(read_u16_list(&u16_list(&[1, 2])), Some(vec![1, 2]));
        assert_eq!(read_u16_list(&[0, 3, 0, 1, 2]), None);
        assert_eq!(read_server_name(&server_name("a.b")), Some("a.b".into()));
        assert_eq!(
            read_alpn(&alpn(&[b"h2".to_vec()])),
            Some(vec![b"h2".to_vec()])
        );
        assert!(ec_point_formats_ok(&ec_point_formats()));
        let s = UseSrtp {
            profiles: vec![1, 7],
            mki: vec![9],
        };
        assert_eq!(UseSrtp::from_bytes(&s.to_bytes()), Some(s));
    }
}
