//! What every stack in the benchmark shares: the two certificates (ECDSA P-256, self-signed,
//! WebRTC style, authenticated by SHA-256 fingerprint in both directions) and the scenarios.

use dtls_proto::{Certificate, CipherSuite, HashAlg, NamedGroup, ProtocolVersion};

/// Payload size of one application record (an RTP-sized datagram).
pub const RECORD: usize = 1200;
/// MTU for the record benchmark: a 1200-byte record needs 1200 + 13 (header) + 8 (explicit
/// nonce) + 16 (tag) = 1237 bytes on the wire, more than the usual 1200 handshake MTU.
pub const RECORD_MTU: u16 = 1500;
/// MTU for handshakes (WebRTC's usual DTLS MTU).
pub const HANDSHAKE_MTU: u16 = 1200;
/// Slot size in the datagram arenas (any datagram of the record benchmark fits).
pub const SLOT: usize = 1536;

/// Protocol version of a scenario. Each uses the AES-128-GCM / SHA-256 suite of its version:
/// ECDHE-ECDSA-AES128-GCM-SHA256 for 1.2, TLS_AES_128_GCM_SHA256 for 1.3.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    V12,
    V13,
}

impl Version {
    pub fn versions(self) -> &'static [ProtocolVersion] {
        match self {
            Version::V12 => &[ProtocolVersion::Dtls12],
            Version::V13 => &[ProtocolVersion::Dtls13],
        }
    }

    pub fn suites(self) -> &'static [CipherSuite] {
        match self {
            Version::V12 => &[CipherSuite::EcdheEcdsaAes128GcmSha256],
            Version::V13 => &[CipherSuite::Tls13Aes128GcmSha256],
        }
    }
}

/// Key exchange group of a handshake scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    P256,
    X25519,
    /// X25519MLKEM768 (DTLS 1.3 only).
    Hybrid,
}

impl Group {
    pub fn name(self) -> &'static str {
        match self {
            Group::P256 => "P-256",
            Group::X25519 => "X25519",
            Group::Hybrid => "X25519MLKEM768",
        }
    }

    /// Both sides' group list, in preference order. With X25519 both also list P-256: in
    /// TLS 1.2 supported_groups also covers the curves of the ECDSA certificates (RFC 8422
    /// §5.1; OpenSSL enforces it on both sides), and browsers offer both anyway. X25519,
    /// listed first by both, is what gets negotiated.
    pub fn groups(self) -> &'static [NamedGroup] {
        match self {
            Group::P256 => &[NamedGroup::Secp256r1],
            Group::X25519 => &[NamedGroup::X25519, NamedGroup::Secp256r1],
            Group::Hybrid => &[NamedGroup::X25519MlKem768],
        }
    }

    /// The same list for OpenSSL's `SSL_CTX_set1_groups_list`.
    pub fn openssl(self) -> &'static str {
        match self {
            Group::P256 => "P-256",
            Group::X25519 => "X25519:P-256",
            Group::Hybrid => panic!("OpenSSL 3.0 has no DTLS 1.3"),
        }
    }
}

/// One handshake configuration of the table.
#[derive(Clone, Copy, Debug)]
pub struct Scenario {
    pub group: Group,
    /// HelloVerifyRequest cookie exchange (RFC 6347 §4.2.1) before the server keeps state.
    pub cookie: bool,
}

impl Scenario {
    pub fn name(&self) -> String {
        format!(
            "{}, {}",
            self.group.name(),
            if self.cookie { "cookie" } else { "no cookie" }
        )
    }
}

/// The four handshake scenarios of figure 1.
pub const SCENARIOS: [Scenario; 4] = [
    Scenario {
        group: Group::P256,
        cookie: false,
    },
    Scenario {
        group: Group::P256,
        cookie: true,
    },
    Scenario {
        group: Group::X25519,
        cookie: false,
    },
    Scenario {
        group: Group::X25519,
        cookie: true,
    },
];

/// Both endpoints' credentials, in the forms each stack wants.
pub struct Credentials {
    pub server: Certificate,
    pub client: Certificate,
    /// (chain PEM, key PEM)
    pub server_pem: (String, String),
    pub client_pem: (String, String),
    /// SHA-256 of the leaf DER.
    pub server_fp: Vec<u8>,
    pub client_fp: Vec<u8>,
    /// `"sha-256 AB:.."` for the C ABI.
    pub server_fp_sdp: String,
    pub client_fp_sdp: String,
}

impl Credentials {
    pub fn generate() -> Self {
        let server = Certificate::generate("bench-server").expect("generate server cert");
        let client = Certificate::generate("bench-client").expect("generate client cert");
        let pem = |c: &Certificate| {
            let (chain, key) = c.to_pem();
            (chain, key.to_string())
        };
        Credentials {
            server_pem: pem(&server),
            client_pem: pem(&client),
            server_fp: server.fingerprint(HashAlg::Sha256).bytes,
            client_fp: client.fingerprint(HashAlg::Sha256).bytes,
            server_fp_sdp: server.fingerprint(HashAlg::Sha256).to_sdp(),
            client_fp_sdp: client.fingerprint(HashAlg::Sha256).to_sdp(),
            server,
            client,
        }
    }
}

/// The 1200-byte application payload every stack sends.
pub fn payload() -> Vec<u8> {
    (0..RECORD).map(|i| (i * 7 + 3) as u8).collect()
}

/// Datagrams packed back to back in one buffer, so that moving a batch between two
/// endpoints allocates nothing after warm-up.
#[derive(Default)]
pub struct Arena {
    pub bytes: Vec<u8>,
    pub bounds: Vec<(usize, usize)>,
}

impl Arena {
    pub fn with_capacity(datagrams: usize) -> Self {
        Arena {
            bytes: Vec::with_capacity(datagrams * SLOT),
            bounds: Vec::with_capacity(datagrams),
        }
    }

    pub fn clear(&mut self) {
        self.bytes.clear();
        self.bounds.clear();
    }

    pub fn push(&mut self, d: &[u8]) {
        let a = self.bytes.len();
        self.bytes.extend_from_slice(d);
        self.bounds.push((a, self.bytes.len()));
    }

    pub fn get(&self, i: usize) -> &[u8] {
        let (a, b) = self.bounds[i];
        &self.bytes[a..b]
    }

    pub fn len(&self) -> usize {
        self.bounds.len()
    }
}

/// CPU time of the calling thread (`CLOCK_THREAD_CPUTIME_ID`). Batches are timed with it, so
/// that time spent descheduled on a busy machine does not count; only whole batches, since
/// the call is a system call (a few hundred ns).
pub fn cpu_time() -> std::time::Duration {
    #[repr(C)]
    struct Timespec {
        tv_sec: i64,
        tv_nsec: i64,
    }
    extern "C" {
        // glibc, Linux x86-64/aarch64 (64-bit time_t and long).
        fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
    }
    const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
    let mut ts = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out-pointer for one timespec.
    let r = unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(r, 0, "clock_gettime");
    std::time::Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Cost of a batch of handshakes: CPU time of the whole batch, its wall time, and the wall
/// time spent inside server-side calls (timed per call with `Instant`, which is cheap).
#[derive(Clone, Copy, Debug)]
pub struct Batch {
    pub n: usize,
    pub cpu: std::time::Duration,
    pub wall: std::time::Duration,
    pub server_wall: std::time::Duration,
}

impl Batch {
    pub fn per_sec(&self) -> f64 {
        self.n as f64 / self.cpu.as_secs_f64()
    }

    /// Server CPU per handshake: the batch's CPU time times the server's share of wall time.
    pub fn server_us(&self) -> f64 {
        let share = self.server_wall.as_secs_f64() / self.wall.as_secs_f64();
        self.cpu.as_secs_f64() * share * 1e6 / self.n as f64
    }
}
