//! The DTLS 1.2 key schedule (RFC 5246 §6.3, §8.1; RFC 7627 for the extended master secret;
//! RFC 5705 for the exporter).

use crate::crypto::prf::prf;
use crate::error::Error;
use crate::record::protect12::RecordCipher;
use crate::suites::SuiteInfo;
use zeroize::Zeroizing;

/// The master secret and what derives from it.
pub struct Keys12 {
    master: Zeroizing<[u8; 48]>,
    suite: SuiteInfo,
    client_random: [u8; 32],
    server_random: [u8; 32],
}

impl std::fmt::Debug for Keys12 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys12 { .. }")
    }
}

/// Labels the exporter must refuse: they would reproduce the handshake's own secrets
/// (RFC 5705 §4).
const RESERVED_LABELS: &[&[u8]] = &[
    b"client finished",
    b"server finished",
    b"master secret",
    b"extended master secret",
    b"key expansion",
];

impl Keys12 {
    /// Derives the master secret. With EMS, `session_hash` is the transcript hash through
    /// ClientKeyExchange (RFC 7627 §4); without, the randoms are the seed.
    pub fn derive(
        suite: SuiteInfo,
        pre_master: &[u8],
        client_random: [u8; 32],
        server_random: [u8; 32],
        session_hash: Option<&[u8]>,
    ) -> Self {
        let mut master = Zeroizing::new([0u8; 48]);
        match session_hash {
            Some(h) => prf(
                suite.prf,
                pre_master,
                b"extended master secret",
                &[h],
                &mut master[..],
            ),
            None => prf(
                suite.prf,
                pre_master,
                b"master secret",
                &[&client_random, &server_random],
                &mut master[..],
            ),
        }
        Keys12 {
            master,
            suite,
            client_random,
            server_random,
        }
    }

    /// (client_write, server_write) record ciphers from the key block (RFC 5246 §6.3).
    pub fn record_ciphers(&self) -> Result<(RecordCipher, RecordCipher), Error> {
        let klen = self.suite.aead.key_len();
        let ivlen = self.suite.fixed_iv_len();
        let mut block = Zeroizing::new(vec![0u8; 2 * klen + 2 * ivlen]);
        prf(
            self.suite.prf,
            &self.master[..],
            b"key expansion",
            &[&self.server_random, &self.client_random],
            &mut block,
        );
        let (ck, rest) = block.split_at(klen);
        let (sk, rest) = rest.split_at(klen);
        let (civ, siv) = rest.split_at(ivlen);
        let bad = |_| Error::Internal("record key setup");
        Ok((
            RecordCipher::new(self.suite.aead, ck, civ).map_err(bad)?,
            RecordCipher::new(self.suite.aead, sk, siv).map_err(bad)?,
        ))
    }

    /// The hash verify_data covers: the suite's PRF hash (RFC 5246 §7.4.9).
    pub fn prf_hash(&self) -> crate::crypto::hash::HashAlg {
        self.suite.prf
    }

    /// verify_data for a Finished, from the hash of the transcript before it (RFC 5246 §7.4.9).
    pub fn verify_data(&self, client: bool, transcript_hash: &[u8]) -> [u8; 12] {
        let label: &[u8] = if client {
            b"client finished"
        } else {
            b"server finished"
        };
        let mut out = [0u8; 12];
        prf(
            self.suite.prf,
            &self.master[..],
            label,
            &[transcript_hash],
            &mut out,
        );
        out
    }

    /// RFC 5705 keying material exporter.
    pub fn export(
        &self,
        label: &[u8],
        context: Option<&[u8]>,
        out: &mut [u8],
    ) -> Result<(), Error> {
        if RESERVED_LABELS.contains(&label) {
            return Err(Error::InvalidArgument("reserved exporter label"));
        }
        let ctx_len;
        let mut seed: Vec<&[u8]> = vec![&self.client_random, &self.server_random];
        if let Some(c) = context {
            if c.len() > u16::MAX as usize {
                return Err(Error::InvalidArgument("exporter context longer than 65535"));
            }
            ctx_len = (c.len() as u16).to_be_bytes();
            seed.push(&ctx_len);
            seed.push(c);
        }
        prf(self.suite.prf, &self.master[..], label, &seed, out);
        Ok(())
    }
}
