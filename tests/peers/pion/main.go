// Command pion_peer is a DTLS 1.2 / 1.3 peer over UDP built on pion/dtls v4, for the interop
// tests in tests/interop_peers.rs (built by scripts/build-peers.sh). One connection, then exit.
//
// It prints one line per event, parsed by the tests (the dimpl peer prints the same lines):
//
//	listening 127.0.0.1:PORT          server: the socket is bound (use -addr 127.0.0.1:0)
//	connected version=1.3 suite=0x1301 srtp=0x0007   (srtp=none without DTLS-SRTP)
//	export HEX                        the -export LABEL:LEN exporter output, upper-case hex
//	recv "TEXT"                       one application record received (Go %q quoting)
//	sent "TEXT"                       one application record sent (-send, -echo)
//	closed                            the peer closed the connection (close_notify or error)
//	error: ...                        fatal; the exit status is 1
//
// The process exits by itself after -timeout, so a test that dies never leaves it behind.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/pion/dtls/v4"
	"github.com/pion/dtls/v4/pkg/crypto/elliptic"
	"github.com/pion/dtls/v4/pkg/protocol"
)

func fail(format string, args ...any) {
	fmt.Printf("error: "+format+"\n", args...)
	os.Exit(1)
}

func parseVersion(s string) protocol.Version {
	switch s {
	case "1.2":
		return protocol.Version1_2
	case "1.3":
		return protocol.Version1_3
	}
	fail("unknown version %q (1.2 or 1.3)", s)

	return 0
}

func versionName(v protocol.Version) string {
	switch v {
	case protocol.Version1_2:
		return "1.2"
	case protocol.Version1_3:
		return "1.3"
	}

	return fmt.Sprintf("0x%04x", uint16(v))
}

// srtpProfiles parses a comma-separated list of RFC 5764 / RFC 7714 names or numbers.
func srtpProfiles(list string) []dtls.SRTPProtectionProfile {
	names := map[string]dtls.SRTPProtectionProfile{
		"SRTP_AES128_CM_HMAC_SHA1_80": dtls.SRTP_AES128_CM_HMAC_SHA1_80,
		"SRTP_AES128_CM_HMAC_SHA1_32": dtls.SRTP_AES128_CM_HMAC_SHA1_32,
		"SRTP_AEAD_AES_128_GCM":       dtls.SRTP_AEAD_AES_128_GCM,
		"SRTP_AEAD_AES_256_GCM":       dtls.SRTP_AEAD_AES_256_GCM,
	}
	var out []dtls.SRTPProtectionProfile
	for _, name := range strings.Split(list, ",") {
		if p, ok := names[name]; ok {
			out = append(out, p)
		} else if n, err := strconv.ParseUint(name, 0, 16); err == nil {
			out = append(out, dtls.SRTPProtectionProfile(n))
		} else {
			fail("unknown SRTP profile %q", name)
		}
	}

	return out
}

func groups(list string) []elliptic.Curve {
	names := map[string]elliptic.Curve{
		"X25519MLKEM768": elliptic.X25519MLKEM768,
		"X25519":         elliptic.X25519,
		"P-256":          elliptic.P256,
		"P-384":          elliptic.P384,
	}
	var out []elliptic.Curve
	for _, name := range strings.Split(list, ",") {
		g, ok := names[name]
		if !ok {
			fail("unknown group %q", name)
		}
		out = append(out, g)
	}

	return out
}

// pinned accepts exactly the peer whose leaf certificate has this SHA-256 fingerprint
// (hex, colons allowed), as WebRTC does with a=fingerprint.
func pinned(fingerprint string) func([][]byte, [][]*x509.Certificate) error {
	want, err := hex.DecodeString(strings.ReplaceAll(fingerprint, ":", ""))
	if err != nil || len(want) != sha256.Size {
		fail("bad -pin %q: want 32 bytes of hex", fingerprint)
	}

	return func(raw [][]byte, _ [][]*x509.Certificate) error {
		if len(raw) == 0 {
			return errors.New("no peer certificate")
		}
		got := sha256.Sum256(raw[0])
		if !bytes.Equal(got[:], want) {
			return fmt.Errorf("peer fingerprint %X does not match the pin", got)
		}

		return nil
	}
}

func main() {
	role := flag.String("role", "client", "client or server")
	addr := flag.String("addr", "127.0.0.1:0", "server: address to bind; client: address to dial")
	minV := flag.String("min", "1.2", "lowest DTLS version: 1.2 or 1.3")
	maxV := flag.String("max", "1.3", "highest DTLS version: 1.2 or 1.3")
	certFile := flag.String("cert", "", "certificate chain (PEM)")
	keyFile := flag.String("key", "", "private key (PEM)")
	pin := flag.String("pin", "", "SHA-256 fingerprint of the peer's leaf certificate; a server with a pin requires a client certificate")
	srtp := flag.String("srtp", "", "comma-separated SRTP profiles (names or numbers), in preference order")
	groupList := flag.String("groups", "", "comma-separated key exchange groups (default: pion's, X25519MLKEM768 included)")
	export := flag.String("export", "", "LABEL:LEN: print the exporter output after the handshake")
	echo := flag.Bool("echo", false, "send every received record back")
	send := flag.String("send", "", "one record to send after the handshake")
	timeout := flag.Duration("timeout", 20*time.Second, "exit after this long whatever happens")
	flag.Parse()

	time.AfterFunc(*timeout, func() { fail("timeout after %v", *timeout) })

	var opts []dtls.Option
	opts = append(opts,
		dtls.WithMinVersion(parseVersion(*minV)),
		dtls.WithMaxVersion(parseVersion(*maxV)),
		dtls.WithExtendedMasterSecret(dtls.RequireExtendedMasterSecret),
		// Without a pin the peer's certificate is not checked at all; the tests always pin.
		dtls.WithInsecureSkipVerify(true),
		// A first flight lost to a socket not yet bound is resent soon.
		dtls.WithFlightInterval(200*time.Millisecond),
	)
	if *certFile != "" {
		cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
		if err != nil {
			fail("load certificate: %v", err)
		}
		opts = append(opts, dtls.WithCertificates(cert))
	}
	if *pin != "" {
		opts = append(opts, dtls.WithVerifyPeerCertificate(pinned(*pin)))
	}
	if *srtp != "" {
		opts = append(opts, dtls.WithSRTPProtectionProfiles(srtpProfiles(*srtp)...))
	}
	if *groupList != "" {
		opts = append(opts, dtls.WithEllipticCurves(groups(*groupList)...))
	}

	udpAddr, err := net.ResolveUDPAddr("udp", *addr)
	if err != nil {
		fail("address: %v", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()

	var conn *dtls.Conn
	switch *role {
	case "server":
		serverOpts := make([]dtls.ServerOption, 0, len(opts)+1)
		for _, o := range opts {
			serverOpts = append(serverOpts, o)
		}
		if *pin != "" {
			serverOpts = append(serverOpts, dtls.WithClientAuth(dtls.RequireAnyClientCert))
		}
		listener, err := dtls.ListenAddr("udp", udpAddr, serverOpts...)
		if err != nil {
			fail("listen: %v", err)
		}
		fmt.Printf("listening %s\n", listener.Addr())
		c, err := listener.Accept()
		if err != nil {
			fail("accept: %v", err)
		}
		conn = c.(*dtls.Conn)
	case "client":
		clientOpts := make([]dtls.ClientOption, 0, len(opts))
		for _, o := range opts {
			clientOpts = append(clientOpts, o)
		}
		c, err := dtls.Dial("udp", udpAddr, clientOpts...)
		if err != nil {
			fail("dial: %v", err)
		}
		conn = c
	default:
		fail("unknown role %q", *role)
	}

	if err := conn.HandshakeContext(ctx); err != nil {
		fail("handshake: %v", err)
	}
	state, ok := conn.ConnectionState()
	if !ok {
		fail("no connection state")
	}
	profile := "none"
	if p, ok := conn.SelectedSRTPProtectionProfile(); ok {
		profile = fmt.Sprintf("0x%04x", uint16(p))
	}
	fmt.Printf("connected version=%s suite=0x%04x srtp=%s\n",
		versionName(state.NegotiatedVersion()), uint16(state.CipherSuiteID), profile)

	if *export != "" {
		label, lenText, found := strings.Cut(*export, ":")
		n, err := strconv.Atoi(lenText)
		if !found || err != nil {
			fail("bad -export %q: want LABEL:LEN", *export)
		}
		km, err := state.ExportKeyingMaterial(label, nil, n)
		if err != nil {
			fail("export: %v", err)
		}
		fmt.Printf("export %X\n", km)
	}

	if *send != "" {
		if _, err := conn.Write([]byte(*send)); err != nil {
			fail("write: %v", err)
		}
		fmt.Printf("sent %q\n", *send)
	}

	buf := make([]byte, 16384)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			fmt.Println("closed")
			_ = conn.Close()

			return
		}
		fmt.Printf("recv %q\n", buf[:n])
		if *echo {
			if _, err := conn.Write(buf[:n]); err != nil {
				fail("write: %v", err)
			}
			fmt.Printf("sent %q\n", buf[:n])
		}
	}
}
