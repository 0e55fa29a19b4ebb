// loopback.cpp: the C++ wrapper's test program. Two dtls::Context objects complete a DTLS
// handshake in memory (fingerprints pinned both ways, use_srtp), exchange data both ways,
// agree on exported keys, close; then a wrong pinned fingerprint must surface as a dtls::Error
// carrying DTLS_ERR_FINGERPRINT_MISMATCH. Exit 0 and "cpp loopback: OK" on success.
//
// Build: c++ -std=c++17 -Wall -Wextra -Werror -pedantic -I include -I bindings/cpp
//          bindings/cpp/loopback.cpp -ldtls
#include "dtls.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

[[noreturn]] void fail(const std::string &why) {
  std::fprintf(stderr, "FAIL: %s\n", why.c_str());
  std::exit(1);
}

struct Side {
  const char *name;
  dtls::Context ctx;
  bool connected = false;
  dtls_event connected_ev{};
};

// Moves every pending datagram from `from` to `to`; returns how many.
int pump(Side &from, Side &to, std::uint64_t now) {
  int n = 0;
  while (auto d = from.ctx.poll_output(now)) {
    to.ctx.feed(*d, now);
    n++;
  }
  return n;
}

void events(Side &s) {
  while (auto ev = s.ctx.poll_event()) {
    if (ev->kind == DTLS_EVENT_CONNECTED) {
      s.connected = true;
      s.connected_ev = *ev;
    } else if (ev->kind == DTLS_EVENT_FAILED) {
      throw dtls::Error(ev->result, std::string(s.name) + " failed");
    }
  }
}

dtls::Config config(const dtls::Certificate &cert, bool server) {
  dtls::ConfigBuilder b;
  b.certificate(cert)
      .peer_verification(DTLS_VERIFY_FINGERPRINT)
      .srtp_profiles({DTLS_SRTP_AES128_CM_SHA1_80})
      .timers(100, 1000, 5000);
  if (server) b.require_client_certificate(true);
  return b.build();
}

// Runs a handshake (bounded); true when both sides connected.
bool handshake(Side &client, Side &server) {
  std::uint64_t now = 0;
  for (int round = 0; round < 20 && !(client.connected && server.connected); round++) {
    int moved = pump(client, server, now) + pump(server, client, now);
    events(client);
    events(server);
    if (moved == 0) {
      if (auto t = client.ctx.next_timeout()) {
        now = *t;
        client.ctx.handle_timeout(now);
        server.ctx.handle_timeout(now);
      }
    }
  }
  return client.connected && server.connected;
}

}  // namespace

int main() {
  try {
    std::printf("libdtls %s\n", dtls::version().c_str());
    auto ccert = dtls::Certificate::generate("client");
    auto scert = dtls::Certificate::generate("server");
    const auto ccfg = config(ccert, false);
    const auto scfg = config(scert, true);

    Side client{"client", dtls::Context(ccfg, DTLS_ROLE_CLIENT, "server", 0)};
    Side server{"server", dtls::Context(scfg, DTLS_ROLE_SERVER, nullptr, 0)};
    client.ctx.add_peer_fingerprint(scert.sdp_fingerprint());
    server.ctx.add_peer_fingerprint(ccert.sdp_fingerprint());
    const unsigned char addr[] = {127, 0, 0, 1, 0x13, 0x88};
    server.ctx.set_peer_address(addr, sizeof addr);

    if (!handshake(client, server)) fail("handshake did not complete");
    // Both configs take the default versions (1.2 and 1.3): 1.3 is negotiated.
    if (client.connected_ev.version != DTLS_PROTOCOL_VERSION_1_3) fail("not DTLS 1.3");
    if (client.connected_ev.srtp_profile != DTLS_SRTP_AES128_CM_SHA1_80) fail("SRTP profile");
    if (client.ctx.peer_fingerprint().value_or("") != scert.fingerprint()) fail("peer fp");
    std::printf("connected: suite 0x%04X\n", client.connected_ev.cipher_suite);

    client.ctx.send("ping");
    pump(client, server, 0);
    auto got = server.ctx.recv();
    if (!got || std::string(got->begin(), got->end()) != "ping") fail("server got no ping");
    server.ctx.send("pong");
    pump(server, client, 0);
    got = client.ctx.recv();
    if (!got || std::string(got->begin(), got->end()) != "pong") fail("client got no pong");
    if (client.ctx.recv()) fail("extra record");

    auto k1 = client.ctx.export_keying_material("EXTRACTOR-dtls_srtp", 60);
    auto k2 = server.ctx.export_keying_material("EXTRACTOR-dtls_srtp", 60);
    if (k1 != k2) fail("exported keys differ");

    client.ctx.close();
    pump(client, server, 0);
    bool closed = false;
    while (auto ev = server.ctx.poll_event()) closed |= ev->kind == DTLS_EVENT_CLOSE_NOTIFY;
    if (!closed) fail("no close_notify");

    // The error path: exceptions carry the dtls_result, as an error_code too.
    try {
      (void)dtls::ConfigBuilder().mtu(10);
      fail("mtu 10 accepted");
    } catch (const dtls::Error &e) {
      if (e.code() != dtls::make_error_code(DTLS_ERR_INVALID_ARGUMENT)) fail(e.what());
    }
    Side c2{"client", dtls::Context(ccfg, DTLS_ROLE_CLIENT, "server", 0)};
    Side s2{"server", dtls::Context(scfg, DTLS_ROLE_SERVER, nullptr, 0)};
    c2.ctx.add_peer_fingerprint("sha-256 " + ccert.fingerprint());  // not the server's
    s2.ctx.add_peer_fingerprint(ccert.sdp_fingerprint());
    try {
      handshake(c2, s2);
      fail("wrong fingerprint accepted");
    } catch (const dtls::Error &e) {
      if (e.result() != DTLS_ERR_FINGERPRINT_MISMATCH) fail(e.what());
      std::printf("wrong fingerprint: %s (%s)\n", e.result_name(), e.code().message().c_str());
    }
    std::printf("cpp loopback: OK\n");
    return 0;
  } catch (const dtls::Error &e) {
    fail(std::string("dtls::Error: ") + e.what());
  }
}
