/*
 * loopback.c: two libdtls contexts talking in memory, no sockets.
 *
 * Shows the drive loop every user writes: feed a datagram (or handle a timeout), poll output
 * until DTLS_EMPTY, poll events, read application data. Both sides use freshly generated
 * certificates and pin each other's SHA-256 fingerprint (the WebRTC model). It then sends data
 * both ways, checks that both sides export the same keying material (RFC 5705) and the same
 * DTLS-SRTP keys, closes, and frees everything. Exit status 0 on success.
 *
 * Build: cc -std=c11 -Wall -Wextra -Werror -pedantic -I include examples-c/loopback.c -L <dir> -ldtls
 */
#include "dtls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(call)                                                                  \
  do {                                                                               \
    dtls_result r_ = (call);                                                         \
    if (r_ != DTLS_OK) {                                                             \
      fprintf(stderr, "%s:%d: %s -> %s (%s)\n", __FILE__, __LINE__, #call,           \
              dtls_result_name(r_), dtls_result_str(r_));                            \
      exit(1);                                                                       \
    }                                                                                \
  } while (0)

#define FAIL(...)                                                                    \
  do {                                                                               \
    fprintf(stderr, __VA_ARGS__);                                                    \
    fputc('\n', stderr);                                                             \
    exit(1);                                                                         \
  } while (0)

struct side {
  const char *name;
  dtls_ctx *ctx;
  int connected;
  int peer_cert;
  int close_notify;
  dtls_event connected_ev;
};

/* Moves every pending datagram from `from` to `to`; returns how many moved. */
static int pump(struct side *from, struct side *to, uint64_t now) {
  uint8_t buf[1500];
  size_t len = 0;
  int moved = 0;
  dtls_result r;
  while ((r = dtls_poll_output(from->ctx, now, buf, sizeof buf, &len)) == DTLS_OK) {
    r = dtls_feed(to->ctx, buf, len, now);
    if (r != DTLS_OK) FAIL("%s: dtls_feed: %s", to->name, dtls_result_name(r));
    moved++;
  }
  if (r != DTLS_EMPTY) FAIL("%s: dtls_poll_output: %s", from->name, dtls_result_name(r));
  return moved;
}

static void drain_events(struct side *s) {
  dtls_event ev;
  dtls_result r;
  while ((r = dtls_poll_event(s->ctx, &ev)) == DTLS_OK) {
    switch (ev.kind) {
      case DTLS_EVENT_CONNECTED:
        s->connected = 1;
        s->connected_ev = ev;
        break;
      case DTLS_EVENT_PEER_CERTIFICATE:
        s->peer_cert = 1;
        break;
      case DTLS_EVENT_CLOSE_NOTIFY:
        s->close_notify = 1;
        break;
      case DTLS_EVENT_FAILED:
        FAIL("%s: failed: %s (alert %u)", s->name, dtls_result_name(ev.result), ev.alert);
      default:
        FAIL("%s: unknown event kind %u", s->name, ev.kind);
    }
  }
  if (r != DTLS_EMPTY) FAIL("%s: dtls_poll_event: %s", s->name, dtls_result_name(r));
}

/* "sha-256 AB:CD:..." for `cert`, into `out`. */
static void sdp_fingerprint(const dtls_certificate *cert, char *out, size_t cap) {
  char hex[192];
  size_t len = 0;
  CHECK(dtls_certificate_fingerprint(cert, DTLS_HASH_SHA256, hex, sizeof hex, &len));
  if (len != 95 || strlen(hex) != len) FAIL("unexpected fingerprint length %zu", len);
  snprintf(out, cap, "sha-256 %s", hex);
}

static const dtls_config *make_config(const dtls_certificate *cert, int server) {
  dtls_config_builder *b = NULL;
  const dtls_config *cfg = NULL;
  const uint16_t srtp[] = {DTLS_SRTP_AEAD_AES_128_GCM, DTLS_SRTP_AES128_CM_SHA1_80};
  CHECK(dtls_config_builder_new(&b));
  CHECK(dtls_config_builder_set_certificate(b, cert));
  CHECK(dtls_config_builder_set_peer_verification(b, DTLS_VERIFY_FINGERPRINT));
  CHECK(dtls_config_builder_set_srtp_profiles(b, srtp, sizeof srtp / sizeof srtp[0]));
  CHECK(dtls_config_builder_set_mtu(b, 1200));
  CHECK(dtls_config_builder_set_timers(b, 100, 1000, 10000));
  if (server) CHECK(dtls_config_builder_set_require_client_certificate(b, true));
  CHECK(dtls_config_builder_build(b, &cfg)); /* consumes b */
  return cfg;
}

/* Sends `msg` from `a` to `b` and checks it arrives intact. */
static void transfer(struct side *a, struct side *b, const char *msg, uint64_t now) {
  uint8_t got[256];
  size_t len = 0;
  CHECK(dtls_send(a->ctx, (const uint8_t *)msg, strlen(msg)));
  if (pump(a, b, now) != 1) FAIL("%s: expected one datagram", a->name);
  CHECK(dtls_recv(b->ctx, got, sizeof got, &len));
  if (len != strlen(msg) || memcmp(got, msg, len) != 0) FAIL("%s: data mismatch", b->name);
  if (dtls_recv(b->ctx, got, sizeof got, &len) != DTLS_EMPTY) FAIL("%s: extra record", b->name);
  printf("%s -> %s: %.*s\n", a->name, b->name, (int)len, (const char *)got);
}

int main(void) {
  dtls_certificate *client_cert = NULL, *server_cert = NULL;
  char client_fp[256], server_fp[256];
  struct side client = {"client", NULL, 0, 0, 0, {0}};
  struct side server = {"server", NULL, 0, 0, 0, {0}};
  uint64_t now = 0;
  int round;

  printf("libdtls %s (header %s)\n", dtls_version(), DTLS_VERSION_STRING);
  if (strcmp(dtls_version(), DTLS_VERSION_STRING) != 0) FAIL("header/library version mismatch");

  CHECK(dtls_certificate_generate("client", &client_cert));
  CHECK(dtls_certificate_generate("server", &server_cert));
  sdp_fingerprint(client_cert, client_fp, sizeof client_fp);
  sdp_fingerprint(server_cert, server_fp, sizeof server_fp);

  {
    const dtls_config *client_cfg = make_config(client_cert, 0);
    const dtls_config *server_cfg = make_config(server_cert, 1);
    /* The configs hold their own copies of the certificates, and the contexts their own
       references to the configs: all four may be released as soon as the contexts exist. */
    dtls_certificate_free(client_cert);
    dtls_certificate_free(server_cert);
    CHECK(dtls_ctx_new(client_cfg, DTLS_ROLE_CLIENT, "server", now, &client.ctx));
    CHECK(dtls_ctx_new(server_cfg, DTLS_ROLE_SERVER, NULL, now, &server.ctx));
    dtls_config_free(client_cfg);
    dtls_config_free(server_cfg);
  }
  CHECK(dtls_ctx_add_peer_fingerprint(client.ctx, server_fp));
  CHECK(dtls_ctx_add_peer_fingerprint(server.ctx, client_fp));
  {
    const uint8_t addr[] = {127, 0, 0, 1, 0x13, 0x88}; /* any stable encoding of the client */
    CHECK(dtls_ctx_set_peer_address(server.ctx, addr, sizeof addr));
  }

  /* The handshake: a lossless link, so it completes without timeouts; bounded anyway. */
  for (round = 0; round < 20 && !(client.connected && server.connected); round++) {
    uint64_t deadline;
    int moved = pump(&client, &server, now) + pump(&server, &client, now);
    drain_events(&client);
    drain_events(&server);
    if (moved == 0 && dtls_next_timeout(client.ctx, &deadline)) {
      now = deadline; /* nothing in flight: let the virtual clock run to the next timer */
      CHECK(dtls_handle_timeout(client.ctx, now));
      CHECK(dtls_handle_timeout(server.ctx, now));
    }
  }
  if (!client.connected || !server.connected) FAIL("handshake did not complete");
  if (!client.peer_cert || !server.peer_cert) FAIL("no peer certificate event");
  printf("connected: version 0x%04X, suite 0x%04X, SRTP profile 0x%04X\n",
         client.connected_ev.version, client.connected_ev.cipher_suite,
         client.connected_ev.srtp_profile);
  /* Both configs take the default versions (1.2 and 1.3): 1.3 is negotiated. */
  if (client.connected_ev.version != DTLS_PROTOCOL_VERSION_1_3) FAIL("not DTLS 1.3");
  if (client.connected_ev.cipher_suite != server.connected_ev.cipher_suite) FAIL("suite differs");
  if (client.connected_ev.srtp_profile != DTLS_SRTP_AEAD_AES_128_GCM) FAIL("SRTP profile");

  {
    /* Each side sees the other's certificate, and its fingerprint is the pinned one. */
    char fp[192];
    size_t len = 0;
    const uint8_t *der = NULL;
    CHECK(dtls_ctx_peer_fingerprint(client.ctx, DTLS_HASH_SHA256, fp, sizeof fp, &len));
    if (strcmp(fp, server_fp + strlen("sha-256 ")) != 0) FAIL("client sees the wrong server");
    CHECK(dtls_ctx_peer_certificate(server.ctx, 0, &der, &len));
    if (len < 100 || der[0] != 0x30) FAIL("peer certificate is not DER");
    if (dtls_ctx_peer_certificate(server.ctx, 1, &der, &len) != DTLS_EMPTY) FAIL("chain of one");
  }

  transfer(&client, &server, "hello from the client", now);
  transfer(&server, &client, "hello from the server", now);

  {
    /* Both sides derive the same keying material (RFC 5705) and SRTP keys (RFC 5764). */
    static const char label[] = "EXPERIMENTAL-loopback";
    uint8_t k1[32], k2[32], s1[64], s2[64];
    uint16_t p1 = 0, p2 = 0;
    size_t l1 = 0, l2 = 0, i;
    CHECK(dtls_export_keying_material(client.ctx, (const uint8_t *)label, strlen(label), NULL, 0,
                                      k1, sizeof k1));
    CHECK(dtls_export_keying_material(server.ctx, (const uint8_t *)label, strlen(label), NULL, 0,
                                      k2, sizeof k2));
    if (memcmp(k1, k2, sizeof k1) != 0) FAIL("exported keys differ");
    CHECK(dtls_srtp_keying_material(client.ctx, &p1, s1, sizeof s1, &l1));
    CHECK(dtls_srtp_keying_material(server.ctx, &p2, s2, sizeof s2, &l2));
    if (p1 != p2 || l1 != l2 || l1 != 56 || memcmp(s1, s2, l1) != 0) FAIL("SRTP keys differ");
    printf("exported: ");
    for (i = 0; i < sizeof k1; i++) printf("%02X", k1[i]);
    printf("\n");
  }

  /* Orderly close: the client sends close_notify, the server sees it. */
  CHECK(dtls_close(client.ctx));
  pump(&client, &server, now);
  drain_events(&server);
  if (!server.close_notify) FAIL("server saw no close_notify");

  dtls_ctx_free(client.ctx);
  dtls_ctx_free(server.ctx);
  printf("loopback: OK\n");
  return 0;
}
