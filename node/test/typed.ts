// Type-checked (tsc --noEmit -p tsconfig.json), never run: it uses the package the way a
// TypeScript user would, through package.json "exports", so the generated declarations
// (index.d.ts) and the hand-written ones (lib/dgram.d.ts) must both hold up. The lines under
// an expect-error directive must stay errors: they pin down what the types refuse.

import {
  Certificate,
  Config,
  Connection,
  ServerFrontDoor,
  benchEngineHandshakes,
  type DtlsEvent,
  type Negotiated,
  type Admission,
  type PrefilterVerdict,
  type SrtpKeyingMaterial,
  type Stats,
} from 'dtls-rs';
import { connect, createServer, type DtlsError, type DtlsErrorCode, type DtlsSocket } from 'dtls-rs/dgram';

const cert: Certificate = Certificate.generate('server', 'p256');
const fingerprint: string = cert.fingerprint('sha-256');
const pem: { chain: string; key: string } = cert.toPem();
const again: Certificate = Certificate.fromPem(pem.chain, new TextEncoder().encode(pem.key));
const der: Buffer[] = again.chain();

const serverConfig = new Config({
  certificate: cert,
  clientAuth: 'request',
  cipherSuites: [0xc02b],
  srtpProfiles: [1, 'SRTP_AEAD_AES_128_GCM'],
  timers: { initialRtoMs: 200, maxRtoMs: 1000, handshakeTimeoutMs: 8000 },
});
const clientConfig = new Config({ peerVerification: 'fingerprint', peerFingerprints: [fingerprint] });
const mtu: number = serverConfig.mtu;

// @ts-expect-error not a verification mode
new Config({ peerVerification: 'sometimes' });
// @ts-expect-error a Certificate, not its PEM
new Config({ certificate: pem });

const client = new Connection(clientConfig, 'client', 0, { serverName: 'example' });
const server = new Connection(serverConfig, 'server', 0, { peerAddress: '127.0.0.1:5000' });
// @ts-expect-error the role is 'client' or 'server'
new Connection(clientConfig, 'peer', 0);
// @ts-expect-error `now` is required
new Connection(clientConfig, 'client');

function drive(from: Connection, to: Connection, now: number): void {
  for (let d: Buffer | null = from.pollDatagram(now); d !== null; d = from.pollDatagram(now)) {
    to.handleDatagram(d, now);
  }
}
drive(client, server, 0);
// @ts-expect-error datagrams are bytes
client.handleDatagram('hello', 0);

const deadline: number | null = client.pollTimeout();
if (deadline !== null) client.handleTimeout(deadline);

// The event is a tagged union: narrowing on `type` gives each variant's fields.
function describe(ev: DtlsEvent): string {
  switch (ev.type) {
    case 'connected': {
      const n: Negotiated = ev.negotiated;
      return `connected with suite ${n.cipherSuite}, SRTP ${n.srtpProfile ?? 'none'}`;
    }
    case 'failed':
      return `${ev.code}: ${ev.message} (alert ${ev.alert ?? 'none'})`;
    case 'peerCertificate':
    case 'closeNotify':
      return ev.type;
  }
}
for (let ev = client.pollEvent(); ev !== null; ev = client.pollEvent()) describe(ev);

client.send(new Uint8Array([1, 2, 3]));
const data: Buffer | null = server.recv();
const exported: Buffer = client.exportKeyingMaterial('EXTRACTOR-dtls_srtp', 60, null);
const srtp: SrtpKeyingMaterial = client.srtpKeyingMaterial();
const peers: Buffer[] = client.peerCertificates();
const stats: Stats = client.stats();
const dropped: number = stats.dropped.total;
const role: 'client' | 'server' = client.role;
client.close();

const door = new ServerFrontDoor(serverConfig);
const verdict: PrefilterVerdict = door.prefilter(0, '127.0.0.1:5000', new Uint8Array(0));
if (verdict.verdict === 'reply') {
  const reply: Buffer = verdict.reply;
  void reply;
}
const admission: Admission = door.admit(0, '127.0.0.1:5000', new Uint8Array(0));
if (admission.verdict === 'accept') {
  const hello: Buffer = admission.datagram;
  void hello;
} else if (admission.verdict === 'held') {
  const held: { bytes: number; entries: number } = door.pool();
  void held;
}

const bench = benchEngineHandshakes(clientConfig, serverConfig, 1);
const seconds: number = bench.seconds;

async function dgramUsage(): Promise<void> {
  const srv = createServer(serverConfig, (socket: DtlsSocket) => {
    socket.on('message', (m: Buffer) => socket.send(m));
  });
  srv.on('clientError', (err: DtlsError) => {
    const code: DtlsErrorCode = err.code;
    void code;
  });
  const { port } = await srv.listen(0, '127.0.0.1');
  const socket: DtlsSocket = await connect({ host: '127.0.0.1', port, config: clientConfig, peerFingerprints: [fingerprint] });
  socket.on('connect', (n: Negotiated) => void n);
  socket.on('error', (err) => {
    const code: DtlsErrorCode = err.code;
    void code;
  });
  socket.send('text is sent as UTF-8');
  socket.send(new Uint8Array([1]));
  // @ts-expect-error numbers are not payloads
  socket.send(42);
  // @ts-expect-error the port is required
  await connect({ config: clientConfig });
  const key: Buffer = socket.exportKeyingMaterial('EXTRACTOR-dtls_srtp', 60);
  void key;
  socket.close();
  await srv.close();
}

void [mtu, der, data, exported, srtp, peers, dropped, role, seconds, dgramUsage];
