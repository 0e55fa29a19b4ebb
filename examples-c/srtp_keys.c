/*
 * srtp_keys.c: the DTLS-SRTP setup of a VoIP or WebRTC stack (RFC 5763, RFC 5764, RFC 8842),
 * over one UDP socket.
 *
 *   srtp_keys -setup passive -accept 127.0.0.1:5004            (we answered a=setup:passive)
 *   srtp_keys -setup active -connect 127.0.0.1:5004 -fingerprint "sha-256 AB:CD:.."
 *   srtp_keys -remote-offer actpass -connect 127.0.0.1:5004     (RFC 8842 §5.3: we go active)
 *   srtp_keys -remote-answer passive -connect 127.0.0.1:5004    (we offered actpass)
 *
 * In the order a stack does it:
 *   1. generate a self-signed certificate for the call and print the SDP attributes the offer
 *      or answer carries: a=fingerprint:sha-256 AB:.. and a=setup:active|passive|actpass;
 *   2. learn the peer's fingerprint: -fingerprint, or else "signalling" on stdin: SDP lines up
 *      to the first empty line (or EOF), of which every a=fingerprint: line is pinned;
 *   3. take the DTLS role from a=setup (active = DTLS client, passive = DTLS server) and run
 *      the handshake; the peer must present the pinned certificate (both sides authenticate,
 *      so the server requires the client's certificate);
 *   4. print the SRTP protection profile that use_srtp agreed and the four SRTP master keys
 *      and salts (RFC 5764 §4.2), which the stack would hand to libsrtp.
 *
 * stdout carries only the SDP attributes and the keys, line by line; the session summary and
 * errors go to stderr. After the keys it stays up (the side that sent the last flight must
 * answer a retransmission of the peer's, RFC 6347 §4.2.4) until stdin EOF, which hangs up with
 * close_notify, or the peer's close_notify. Further stdin lines are sent as DTLS application
 * data. Exit status 0 after a completed call, 1 on failure (e.g. DTLS_ERR_FINGERPRINT_MISMATCH),
 * 2 on a usage error.
 *
 * Build: cc -std=c11 -Wall -Wextra -Werror -pedantic -I include -I examples-c \
 *           examples-c/srtp_keys.c -ldtls
 */
#define _POSIX_C_SOURCE 200809L

#include "dtls_cli.h"

static void usage(void) {
  fprintf(stderr,
          "usage: srtp_keys (-setup active|passive | -remote-offer actpass|active|passive |\n"
          "                  -remote-answer active|passive)\n"
          "                 (-connect host:port | -accept [host:]port)\n"
          "                 [-fingerprint \"sha-256 AB:..\"]... [-srtp P1:P2] [-cipher S1:S2]\n"
          "                 [-mtu N] [-hs_timeout MS]\n"
          "  -setup: our own a=setup (active = DTLS client, needs -connect; passive = DTLS\n"
          "  server, needs -accept). -remote-offer: the offer's a=setup, which we answer.\n"
          "  -remote-answer: the answer's a=setup, after our offer said actpass.\n"
          "  Without -fingerprint the peer's a=fingerprint: lines are read from stdin, up to an\n"
          "  empty line. -srtp takes OpenSSL names in preference order (default\n"
          "  SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80).\n");
  exit(2);
}

/* Master key and salt lengths of each profile (RFC 5764 §4.1.2, RFC 7714 §14.2): the keying
   material is client key | server key | client salt | server salt (RFC 5764 §4.2), so these
   split it. libdtls exports 2 * (key + salt) bytes. */
static const struct {
  uint16_t id;
  size_t key, salt;
} profile_lengths[] = {
    {DTLS_SRTP_AES128_CM_SHA1_80, 16, 14}, {DTLS_SRTP_AES128_CM_SHA1_32, 16, 14},
    {DTLS_SRTP_AEAD_AES_128_GCM, 16, 12},  {DTLS_SRTP_AEAD_AES_256_GCM, 32, 12},
    {DTLS_SRTP_NULL_SHA1_80, 16, 14},      {DTLS_SRTP_NULL_SHA1_32, 16, 14},
};

static void print_hex(const char *label, const uint8_t *p, size_t n) {
  size_t i;
  printf("%s: ", label);
  for (i = 0; i < n; i++) printf("%02X", p[i]);
  printf("\n");
}

/* The session hook: runs once the handshake completed and the peer's pinned certificate was
   verified. */
static void print_srtp_keys(struct cli_session *s, const dtls_event *ev) {
  uint8_t km[2 * (32 + 14)];
  uint16_t profile = 0;
  size_t len = 0, i, key = 0, salt = 0;
  dtls_result r = dtls_srtp_keying_material(s->ctx, &profile, km, sizeof km, &len);
  if (r == DTLS_EMPTY) {
    /* The peer did not agree to use_srtp: a DTLS-SRTP call cannot go on (RFC 5764 §4.1.2). */
    fprintf(stderr, "error: the peer negotiated no SRTP profile\n");
    s->failed = DTLS_ERR_NO_COMMON_PARAMETERS;
    return;
  }
  cli_check(r, "dtls_srtp_keying_material");
  for (i = 0; i < sizeof profile_lengths / sizeof profile_lengths[0]; i++) {
    if (profile_lengths[i].id == profile) {
      key = profile_lengths[i].key;
      salt = profile_lengths[i].salt;
    }
  }
  if (key == 0 || len != 2 * (key + salt) || profile != ev->srtp_profile) {
    fprintf(stderr, "error: unexpected SRTP keying material: profile 0x%04X, %zu bytes\n",
            profile, len);
    s->failed = DTLS_ERR_INTERNAL;
    return;
  }
  printf("SRTP profile: %s\n", cli_srtp_name(profile));
  print_hex("client key", km, key);
  print_hex("server key", km + key, key);
  print_hex("client salt", km + 2 * key, salt);
  print_hex("server salt", km + 2 * key + salt, salt);
  fflush(stdout);
  /* Which pair protects what we send follows the DTLS role, not who offered (RFC 5764 §4.2). */
  fprintf(stderr, "We send SRTP with the %s key and salt and receive with the %s ones\n",
          s->o->server ? "server" : "client", s->o->server ? "client" : "server");
  memset(km, 0, sizeof km);
}

/* Reads one line from stdin with read(2), byte by byte, so no stdio buffer swallows what the
   session loop reads from fd 0 later. Returns the length, or -1 at EOF with nothing read. */
static int read_line(char *buf, size_t cap) {
  size_t n = 0;
  for (;;) {
    char c;
    ssize_t got = read(STDIN_FILENO, &c, 1);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      if (n == 0) return -1;
      break;
    }
    if (c == '\n') break;
    if (n + 1 < cap) buf[n++] = c;
  }
  if (n > 0 && buf[n - 1] == '\r') n--;
  buf[n] = '\0';
  return (int)n;
}

/* Binds (passive) or connects (active) a UDP socket for `addr`. */
static int open_socket(const char *addr, int server, struct sockaddr_storage *peer,
                       socklen_t *peer_len) {
  struct addrinfo hints, *res = NULL, *ai;
  char host[256];
  const char *port = NULL;
  int rc, fd = -1;
  cli_split_addr(addr, host, sizeof host, &port, server);
  memset(&hints, 0, sizeof hints);
  hints.ai_family = host[0] ? AF_UNSPEC : AF_INET;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = server ? AI_PASSIVE : 0;
  rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
  if (rc != 0) {
    fprintf(stderr, "%s: %s\n", addr, gai_strerror(rc));
    exit(1);
  }
  for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0) continue;
    if (server ? bind(fd, ai->ai_addr, ai->ai_addrlen) == 0
               : connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
      if (!server) {
        memcpy(peer, ai->ai_addr, ai->ai_addrlen);
        *peer_len = ai->ai_addrlen;
      }
      break;
    }
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0) {
    fprintf(stderr, "%s: %s\n", addr, strerror(errno));
    exit(1);
  }
  cli_nonblock(fd);
  return fd;
}

int main(int argc, char **argv) {
  struct cli_opts o; /* what the shared session loop reads (role; no echo, no exporter) */
  struct cli_session s;
  const char *setup = NULL, *remote_offer = NULL, *remote_answer = NULL;
  const char *connect_to = NULL, *accept_on = NULL, *srtp = NULL, *ciphers = NULL;
  const char *pins[CLI_MAX_FINGERPRINTS];
  char stdin_pins[CLI_MAX_FINGERPRINTS][512]; /* as long as a stdin line */
  size_t n_pins = 0, i;
  unsigned long mtu = 0, hs_timeout = 0;
  uint32_t role = 0;
  const char *our_setup;
  dtls_certificate *cert = NULL;
  dtls_config_builder *b = NULL;
  const dtls_config *cfg = NULL;
  char fp[208];
  size_t fp_len = 0;
  int fd, rc;

  memset(&o, 0, sizeof o);
  memset(&s, 0, sizeof s);
  for (i = 1; i < (size_t)argc; i++) {
    const char *a = argv[i], *v = i + 1 < (size_t)argc ? argv[i + 1] : NULL;
    if (v == NULL) usage();
    if (strcmp(a, "-setup") == 0) {
      setup = v;
    } else if (strcmp(a, "-remote-offer") == 0) {
      remote_offer = v;
    } else if (strcmp(a, "-remote-answer") == 0) {
      remote_answer = v;
    } else if (strcmp(a, "-connect") == 0) {
      connect_to = v;
    } else if (strcmp(a, "-accept") == 0) {
      accept_on = v;
    } else if (strcmp(a, "-fingerprint") == 0) {
      if (n_pins == CLI_MAX_FINGERPRINTS) usage();
      pins[n_pins++] = v;
    } else if (strcmp(a, "-srtp") == 0) {
      srtp = v;
    } else if (strcmp(a, "-cipher") == 0) {
      ciphers = v;
    } else if (strcmp(a, "-mtu") == 0) {
      mtu = strtoul(v, NULL, 10);
      if (mtu == 0 || mtu > 65535) usage();
    } else if (strcmp(a, "-hs_timeout") == 0) {
      hs_timeout = strtoul(v, NULL, 10);
      if (hs_timeout == 0 || hs_timeout > 3600000) usage();
    } else {
      fprintf(stderr, "unknown option: %s\n", a);
      usage();
    }
    i++;
  }
  if ((setup != NULL) + (remote_offer != NULL) + (remote_answer != NULL) != 1) usage();

  /* The role. a=setup names the side that opens the DTLS connection: "active" is the DTLS
     client (RFC 4145 §4, RFC 5763 §5). */
  if (setup != NULL) {
    if (strcmp(setup, "active") == 0)
      role = DTLS_ROLE_CLIENT;
    else if (strcmp(setup, "passive") == 0)
      role = DTLS_ROLE_SERVER;
    else
      usage(); /* actpass is for an offer; the answer decides (-remote-answer) */
    our_setup = setup;
  } else if (remote_offer != NULL) {
    /* We answer: an actpass offer makes us active (RFC 8842 §5.3). */
    if (dtls_role_for_remote_setup(remote_offer, &role) != DTLS_OK) usage(); /* e.g. holdconn */
    our_setup = dtls_setup_for_role(role);
  } else {
    if (dtls_role_for_answer(remote_answer, &role) != DTLS_OK) usage();
    our_setup = "actpass"; /* what our offer said */
  }
  o.server = role == DTLS_ROLE_SERVER;
  if (o.server ? accept_on == NULL : connect_to == NULL) {
    fprintf(stderr, "the DTLS %s needs %s\n", o.server ? "server (passive)" : "client (active)",
            o.server ? "-accept" : "-connect");
    exit(2);
  }

  /* 1. A certificate for this call and the SDP attributes announcing it. */
  cli_check(dtls_certificate_generate("srtp_keys", &cert), "generate certificate");
  cli_check(dtls_certificate_sdp_fingerprint(cert, DTLS_HASH_SHA256, fp, sizeof fp, &fp_len),
            "fingerprint");
  printf("a=fingerprint:%s\n", fp);
  printf("a=setup:%s\n", our_setup);
  fflush(stdout);
  fprintf(stderr, "DTLS role: %s\n", o.server ? "server" : "client");

  /* The socket first, so a passive side can already queue the peer's ClientHello while the
     signalling is still on its way. */
  fd = open_socket(o.server ? accept_on : connect_to, o.server, &s.peer, &s.peer_len);
  {
    struct sockaddr_storage local;
    socklen_t len = sizeof local;
    if (getsockname(fd, (struct sockaddr *)&local, &len) == 0)
      cli_print_addr(o.server ? "Listening on" : "Local address", (const struct sockaddr *)&local,
                     len);
  }

  /* 2. The peer's fingerprint, from the command line or from its SDP on stdin. */
  if (n_pins == 0) {
    char line[512];
    int n;
    while ((n = read_line(line, sizeof line)) > 0) {
      if (strncmp(line, "a=fingerprint:", 14) == 0 && n_pins < CLI_MAX_FINGERPRINTS) {
        snprintf(stdin_pins[n_pins], sizeof stdin_pins[0], "%s", line + 14);
        pins[n_pins] = stdin_pins[n_pins];
        n_pins++;
      }
    }
    if (n_pins == 0) {
      fprintf(stderr, "no a=fingerprint: line on stdin; give -fingerprint\n");
      exit(2);
    }
  }

  /* 3. One configuration: our certificate, use_srtp, the peer authenticated by fingerprint
     only (no CA in a call), and a client certificate required when we are the server, so
     both ends are authenticated whichever role a=setup gave us. */
  cli_check(dtls_config_builder_new(&b), "config");
  cli_check(dtls_config_builder_set_certificate(b, cert), "certificate");
  dtls_certificate_free(cert); /* the builder keeps its own copy */
  cli_check(dtls_config_builder_set_peer_verification(b, DTLS_VERIFY_FINGERPRINT), "verify");
  cli_check(dtls_config_builder_set_require_client_certificate(b, true), "client auth");
  {
    uint16_t ids[CLI_MAX_SRTP];
    size_t n = cli_parse_srtp(srtp != NULL ? srtp : "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80",
                              ids, CLI_MAX_SRTP);
    cli_check(dtls_config_builder_set_srtp_profiles(b, ids, n), "-srtp");
  }
  if (ciphers != NULL) {
    uint16_t ids[CLI_MAX_SUITES];
    size_t n = cli_parse_suites(ciphers, ids, CLI_MAX_SUITES);
    cli_check(dtls_config_builder_set_cipher_suites(b, ids, n), "-cipher");
  }
  if (mtu != 0) cli_check(dtls_config_builder_set_mtu(b, (uint16_t)mtu), "-mtu");
  if (hs_timeout != 0) {
    uint32_t hs = (uint32_t)hs_timeout, first = hs < 1000 ? hs : 1000;
    cli_check(dtls_config_builder_set_timers(b, first, hs < 60000 ? hs : 60000, hs),
              "-hs_timeout");
  }
  cli_check(dtls_config_builder_build(b, &cfg), "build config"); /* consumes b */

  /* No server name: a call authenticates the certificate by its fingerprint, not a name. */
  cli_check(dtls_ctx_new(cfg, role, NULL, cli_now_ms(), &s.ctx), "dtls_ctx_new");
  dtls_config_free(cfg); /* the context keeps its own reference */
  for (i = 0; i < n_pins; i++) {
    fprintf(stderr, "Pinned peer fingerprint: %s\n", pins[i]);
    cli_check(dtls_ctx_add_peer_fingerprint(s.ctx, pins[i]), "peer fingerprint");
  }

  /* 4. The handshake and the keys, in the session loop that client.c and server.c use. */
  s.o = &o;
  s.fd = fd;
  s.on_connected = print_srtp_keys;
  rc = cli_run(&s);
  dtls_ctx_free(s.ctx);
  close(fd);
  return rc;
}
