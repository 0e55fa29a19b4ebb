// A TypeScript user's ESM file, type-checked with tsc --strict against the installed package.
import { Certificate, Config, Connection, packetKind, srtpProfiles, type SrtpProfile } from 'dtls-rs';
import dtls from 'dtls-rs';
import { connect, createServer, type DtlsSocket } from 'dtls-rs/dgram';

const cert: Certificate = Certificate.generate('server');
const config: Config = new Config({ certificate: cert, srtpProfiles: ['SRTP_AES128_CM_SHA1_80'] });
const conn: Connection = new dtls.Connection(config, 'server', 0);
const kind: 'stun' | 'zrtp' | 'dtls' | 'turn-channel' | 'rtp-rtcp' | 'unknown' = packetKind(new Uint8Array([22]));
const profiles: SrtpProfile[] = srtpProfiles();
const server = createServer(config, (socket: DtlsSocket) => socket.close());
export async function client(port: number): Promise<DtlsSocket> {
  return connect({ port, config: new Config(), peerFingerprints: [cert.fingerprint()] });
}
const opened: Uint8Array | null = conn.openInPlace(new Uint8Array(64), 0);
// @ts-expect-error not an option
new Config({ certifcate: cert });
export { kind, profiles, server, opened };
