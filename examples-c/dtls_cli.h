/*
 * dtls_cli.h: the parts client.c and server.c share: option parsing, configuration, and the
 * poll(2) loop that drives one libdtls context over one UDP socket with the library's timers.
 * srtp_keys.c reuses the loop and the helpers; multi_server.c the options and configuration.
 *
 * Header-only on purpose (every function is static) so each example still builds from one
 * command: cc -std=c11 ... -I include -I examples-c examples-c/client.c -ldtls. The functions
 * are `static inline` so that a program using only some of them (srtp_keys.c, multi_server.c)
 * gets no unused-function warning under -Wall -Werror.
 *
 * Status lines (negotiated version, suite, fingerprints, SRTP profile, exported keys, errors)
 * go to stderr; stdout carries only the application data received, so the examples can sit in
 * a pipe like `openssl s_client -quiet` or nc.
 */
#ifndef DTLS_CLI_H
#define DTLS_CLI_H

#include "dtls.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define CLI_MAX_FINGERPRINTS 8
#define CLI_MAX_SRTP 8
#define CLI_MAX_SUITES 8
#define CLI_MAX_KEYMAT 4096

struct cli_opts {
  int server;
  const char *addr; /* -connect host:port / -accept [host:]port */
  const char *cert, *key, *cafile, *srtp, *ciphers, *keymat_label, *servername;
  const char *fingerprints[CLI_MAX_FINGERPRINTS];
  size_t n_fingerprints;
  size_t keymat_len;
  unsigned long mtu;
  unsigned long hs_timeout_ms; /* 0: the library's default (60 s) */
  int nocookie, insecure, echo, ign_eof;
  uint32_t versions; /* -dtls1_2 / -dtls1_3: DTLS_V1_2 | DTLS_V1_3 bits; 0: the default */
  /* Optional, for programs with options of their own (multi_server.c): cli_parse offers each
     argument it does not know to `extra` first, with the next argument or NULL. It returns how
     many it consumed (0: not its option; 1: a flag; 2: an option and its value) and may call
     cli_usage. `extra_usage` is printed after the common usage text. Both zero in client.c and
     server.c, which therefore behave as before. */
  int (*extra)(struct cli_opts *o, const char *arg, const char *val);
  const char *extra_usage;
  void *user; /* for `extra` */
};

/* Milliseconds on CLOCK_MONOTONIC: the clock every libdtls call gets as `now_ms`. */
static inline uint64_t cli_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static inline void cli_usage(const struct cli_opts *o) {
  if (o->server) {
    fprintf(stderr,
            "usage: server -accept [host:]port [-cert chain.pem -key key.pem] [-CAfile roots.pem]\n"
            "              [-fingerprint \"sha-256 AB:..\"]... [-mtu N] [-srtp P1:P2]\n"
            "              [-keymatexport LABEL -keymatexportlen N] [-nocookie] [-echo] [-ign_eof]\n"
            "              [-hs_timeout MS] [-cipher S1:S2] [-dtls1_2] [-dtls1_3]\n"
            "  Requires a client certificate when -CAfile or -fingerprint is given.\n");
  } else {
    fprintf(stderr,
            "usage: client -connect host:port [-cert chain.pem -key key.pem] [-CAfile roots.pem]\n"
            "              [-fingerprint \"sha-256 AB:..\"]... [-servername NAME] [-insecure]\n"
            "              [-mtu N] [-srtp P1:P2] [-keymatexport LABEL -keymatexportlen N] [-ign_eof]\n"
            "              [-hs_timeout MS] [-cipher S1:S2] [-dtls1_2] [-dtls1_3]\n"
            "  -dtls1_2 / -dtls1_3: only these versions (both given: both; default: both).\n"
            "  The server is authenticated by -fingerprint and/or -CAfile (-insecure: not at all).\n");
  }
  if (o->extra_usage != NULL) fprintf(stderr, "%s", o->extra_usage);
  fprintf(stderr,
          "  -hs_timeout MS: handshake deadline (default 60000). A peer's plaintext alert does\n"
          "  not end a handshake (it could be forged); the deadline does, reporting it.\n"
          "  -srtp takes OpenSSL names: SRTP_AES128_CM_SHA1_80, SRTP_AES128_CM_SHA1_32,\n"
          "  SRTP_AEAD_AES_128_GCM, SRTP_AEAD_AES_256_GCM. -cipher takes OpenSSL or IANA suite\n"
          "  names, in preference order (ECDHE-ECDSA-AES128-GCM-SHA256, ...). Without -cert/-key a self-signed\n"
          "  certificate is generated and its fingerprint printed. stdin is sent as application\n"
          "  data and received data is written to stdout; stdin EOF sends close_notify.\n");
  exit(2);
}

/* Parses argv into `o`; exits with status 2 on a usage error. */
static inline void cli_parse(struct cli_opts *o, int argc, char **argv) {
  int i;
  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define CLI_TAKE(name) (strcmp(a, name) == 0 && (v != NULL || (cli_usage(o), 0)) && (i++, 1))
    int taken = o->extra != NULL ? o->extra(o, a, v) : 0;
    if (taken > 0) {
      i += taken - 1;
    } else if (!o->server && CLI_TAKE("-connect")) {
      o->addr = v;
    } else if (o->server && CLI_TAKE("-accept")) {
      o->addr = v;
    } else if (CLI_TAKE("-cert")) {
      o->cert = v;
    } else if (CLI_TAKE("-key")) {
      o->key = v;
    } else if (CLI_TAKE("-CAfile")) {
      o->cafile = v;
    } else if (CLI_TAKE("-fingerprint")) {
      if (o->n_fingerprints == CLI_MAX_FINGERPRINTS) cli_usage(o);
      o->fingerprints[o->n_fingerprints++] = v;
    } else if (CLI_TAKE("-mtu")) {
      char *end = NULL;
      o->mtu = strtoul(v, &end, 10);
      if (*end != '\0' || o->mtu == 0 || o->mtu > 65535) cli_usage(o);
    } else if (CLI_TAKE("-hs_timeout")) {
      char *end = NULL;
      o->hs_timeout_ms = strtoul(v, &end, 10);
      if (*end != '\0' || o->hs_timeout_ms == 0 || o->hs_timeout_ms > 3600000) cli_usage(o);
    } else if (CLI_TAKE("-srtp")) {
      o->srtp = v;
    } else if (CLI_TAKE("-cipher")) {
      o->ciphers = v;
    } else if (CLI_TAKE("-keymatexport")) {
      o->keymat_label = v;
    } else if (CLI_TAKE("-keymatexportlen")) {
      char *end = NULL;
      unsigned long n = strtoul(v, &end, 10);
      if (*end != '\0' || n == 0 || n > CLI_MAX_KEYMAT) cli_usage(o);
      o->keymat_len = (size_t)n;
    } else if (!o->server && CLI_TAKE("-servername")) {
      o->servername = v;
    } else if (!o->server && strcmp(a, "-insecure") == 0) {
      o->insecure = 1;
    } else if (o->server && strcmp(a, "-nocookie") == 0) {
      o->nocookie = 1;
    } else if (o->server && strcmp(a, "-echo") == 0) {
      o->echo = 1;
    } else if (strcmp(a, "-ign_eof") == 0) {
      o->ign_eof = 1;
    } else if (strcmp(a, "-dtls1_2") == 0) {
      o->versions |= DTLS_V1_2;
    } else if (strcmp(a, "-dtls1_3") == 0) {
      o->versions |= DTLS_V1_3;
    } else {
      fprintf(stderr, "unknown or incomplete option: %s\n", a);
      cli_usage(o);
    }
#undef CLI_TAKE
  }
  if (o->addr == NULL) cli_usage(o);
  if ((o->cert == NULL) != (o->key == NULL)) {
    fprintf(stderr, "-cert and -key go together\n");
    exit(2);
  }
  if ((o->keymat_label == NULL) != (o->keymat_len == 0)) {
    fprintf(stderr, "-keymatexport and -keymatexportlen go together\n");
    exit(2);
  }
  if (!o->server && !o->insecure && o->cafile == NULL && o->n_fingerprints == 0) {
    fprintf(stderr, "no way to authenticate the server: give -fingerprint, -CAfile or -insecure\n");
    exit(2);
  }
}

/* Splits "host:port", "[v6]:port" or (host_optional) "port" into host (NULL if absent) and port. */
static inline void cli_split_addr(const char *addr, char *host, size_t host_cap,
                                  const char **port, int host_optional) {
  const char *colon = strrchr(addr, ':');
  size_t n;
  if (colon == NULL) {
    if (!host_optional) {
      fprintf(stderr, "expected host:port, got %s\n", addr);
      exit(2);
    }
    host[0] = '\0';
    *port = addr;
    return;
  }
  n = (size_t)(colon - addr);
  if (n >= 2 && addr[0] == '[' && addr[n - 1] == ']') {
    addr++;
    n -= 2;
  }
  if (n >= host_cap) {
    fprintf(stderr, "host name too long\n");
    exit(2);
  }
  memcpy(host, addr, n);
  host[n] = '\0';
  *port = colon + 1;
}

/* Reads a whole file into a malloc'd buffer. */
static inline uint8_t *cli_read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  uint8_t *buf = NULL;
  size_t cap = 0, n = 0;
  if (f == NULL) {
    fprintf(stderr, "%s: %s\n", path, strerror(errno));
    exit(1);
  }
  for (;;) {
    size_t got;
    if (n == cap) {
      uint8_t *bigger;
      cap = cap ? cap * 2 : 4096;
      bigger = realloc(buf, cap);
      if (bigger == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(1);
      }
      buf = bigger;
    }
    got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (got == 0) break;
  }
  if (ferror(f)) {
    fprintf(stderr, "%s: read error\n", path);
    exit(1);
  }
  fclose(f);
  *len = n;
  return buf;
}

static inline void cli_check(dtls_result r, const char *what) {
  if (r != DTLS_OK) {
    fprintf(stderr, "error: %s: %s (%s)\n", what, dtls_result_name(r), dtls_result_str(r));
    exit(1);
  }
}

/* OpenSSL's names of the SRTP protection profiles, with their IANA ids (RFC 5764, RFC 7714). */
static const struct {
  const char *name;
  uint16_t id;
} cli_srtp_names[] = {
    {"SRTP_AES128_CM_SHA1_80", DTLS_SRTP_AES128_CM_SHA1_80},
    {"SRTP_AES128_CM_SHA1_32", DTLS_SRTP_AES128_CM_SHA1_32},
    {"SRTP_AEAD_AES_128_GCM", DTLS_SRTP_AEAD_AES_128_GCM},
    {"SRTP_AEAD_AES_256_GCM", DTLS_SRTP_AEAD_AES_256_GCM},
};

static inline const char *cli_srtp_name(uint16_t id) {
  size_t i;
  for (i = 0; i < sizeof cli_srtp_names / sizeof cli_srtp_names[0]; i++)
    if (cli_srtp_names[i].id == id) return cli_srtp_names[i].name;
  return "unknown";
}

/* "SRTP_AES128_CM_SHA1_80:SRTP_AEAD_AES_128_GCM" -> IANA ids, in order. */
static inline size_t cli_parse_srtp(const char *list, uint16_t *ids, size_t cap) {
  size_t n = 0;
  const char *p = list;
  while (*p != '\0') {
    const char *end = strchr(p, ':');
    size_t len = end ? (size_t)(end - p) : strlen(p), i;
    int found = 0;
    for (i = 0; i < sizeof cli_srtp_names / sizeof cli_srtp_names[0]; i++) {
      if (strlen(cli_srtp_names[i].name) == len && strncmp(cli_srtp_names[i].name, p, len) == 0) {
        if (n == cap) break;
        ids[n++] = cli_srtp_names[i].id;
        found = 1;
      }
    }
    if (!found) {
      fprintf(stderr, "unknown SRTP profile: %.*s\n", (int)len, p);
      exit(2);
    }
    p += len;
    if (*p == ':') p++;
  }
  return n;
}

/* Suite names come from the library's own table (the one Python and Node use too). */
static inline const char *cli_suite_name(uint16_t id) {
  const char *n = dtls_cipher_suite_name(id);
  return n != NULL ? n : "unknown";
}

/* Parses a colon-separated -cipher list of OpenSSL or IANA names; exits on an unknown one. */
static inline size_t cli_parse_suites(const char *list, uint16_t *ids, size_t cap) {
  size_t n = 0;
  const char *p = list;
  while (*p != '\0') {
    size_t len = strcspn(p, ":");
    char name[128];
    uint16_t id = 0;
    if (len >= sizeof name) len = sizeof name - 1;
    memcpy(name, p, len);
    name[len] = '\0';
    if (dtls_cipher_suite_from_name(name, &id) != DTLS_OK) {
      fprintf(stderr, "unknown cipher suite: %s\n", name);
      exit(2);
    }
    if (n < cap) ids[n++] = id;
    p += strcspn(p, ":");
    if (*p == ':') p++;
  }
  return n;
}

/* Builds the configuration from the options. Prints our own certificate's fingerprint (the
   one a peer pins), which is the only way to learn it when the certificate was generated. */
static inline const dtls_config *cli_config(const struct cli_opts *o) {
  dtls_config_builder *b = NULL;
  dtls_certificate *cert = NULL;
  const dtls_config *cfg = NULL;
  char fp[192];
  size_t fp_len = 0;
  int verify_chain = o->cafile != NULL, verify_pin = o->n_fingerprints > 0;

  if (o->cert != NULL) {
    size_t chain_len = 0, key_len = 0;
    uint8_t *chain = cli_read_file(o->cert, &chain_len);
    uint8_t *key = cli_read_file(o->key, &key_len);
    cli_check(dtls_certificate_from_pem(chain, chain_len, key, key_len, &cert), o->cert);
    memset(key, 0, key_len); /* the library keeps its own copy of the key */
    free(chain);
    free(key);
  } else {
    cli_check(dtls_certificate_generate(o->server ? "dtls-example-server" : "dtls-example-client",
                                        &cert),
              "generate certificate");
  }
  cli_check(dtls_certificate_fingerprint(cert, DTLS_HASH_SHA256, fp, sizeof fp, &fp_len),
            "fingerprint");
  fprintf(stderr, "Local fingerprint: sha-256 %s%s\n", fp, o->cert ? "" : " (generated)");

  cli_check(dtls_config_builder_new(&b), "config");
  cli_check(dtls_config_builder_set_certificate(b, cert), "certificate");
  dtls_certificate_free(cert); /* the builder holds its own copy */
  if (o->cafile != NULL) {
    size_t len = 0;
    uint8_t *pem = cli_read_file(o->cafile, &len);
    cli_check(dtls_config_builder_add_root_certificates_pem(b, pem, len), o->cafile);
    free(pem);
  }
  if (o->insecure && !verify_chain && !verify_pin) {
    cli_check(dtls_config_builder_set_peer_verification(b, DTLS_VERIFY_DANGEROUS_ACCEPT_ANY),
              "verification");
  } else if (verify_chain || verify_pin) {
    /* Both given: AUTO checks the pinned fingerprints (they win over the roots). */
    uint32_t mode = verify_chain && verify_pin ? DTLS_VERIFY_AUTO
                    : verify_pin             ? DTLS_VERIFY_FINGERPRINT
                                             : DTLS_VERIFY_WEBPKI;
    cli_check(dtls_config_builder_set_peer_verification(b, mode), "verification");
    if (o->server) cli_check(dtls_config_builder_set_require_client_certificate(b, true), "auth");
  }
  if (o->srtp != NULL) {
    uint16_t ids[CLI_MAX_SRTP];
    size_t n = cli_parse_srtp(o->srtp, ids, CLI_MAX_SRTP);
    cli_check(dtls_config_builder_set_srtp_profiles(b, ids, n), "-srtp");
  }
  if (o->ciphers != NULL) {
    uint16_t ids[CLI_MAX_SUITES];
    size_t n = cli_parse_suites(o->ciphers, ids, CLI_MAX_SUITES);
    cli_check(dtls_config_builder_set_cipher_suites(b, ids, n), "-cipher");
  }
  if (o->mtu != 0) cli_check(dtls_config_builder_set_mtu(b, (uint16_t)o->mtu), "-mtu");
  if (o->hs_timeout_ms != 0) {
    /* The library's retransmission timer (1 s doubling to 60 s), capped by the deadline. */
    uint32_t hs = (uint32_t)o->hs_timeout_ms;
    uint32_t first = hs < 1000 ? hs : 1000, max = hs < 60000 ? hs : 60000;
    cli_check(dtls_config_builder_set_timers(b, first, max, hs), "-hs_timeout");
  }
  if (o->nocookie) cli_check(dtls_config_builder_set_cookie_exchange(b, false), "-nocookie");
  if (o->versions != 0) cli_check(dtls_config_builder_set_versions(b, o->versions), "-dtls1_x");
  cli_check(dtls_config_builder_build(b, &cfg), "build config"); /* consumes b */
  return cfg;
}

/* Pins the -fingerprint values on the context. */
static inline void cli_pin(const struct cli_opts *o, dtls_ctx *ctx) {
  size_t i;
  for (i = 0; i < o->n_fingerprints; i++)
    cli_check(dtls_ctx_add_peer_fingerprint(ctx, o->fingerprints[i]), "-fingerprint");
}

/* Makes a UDP socket non-blocking: the loop drains it until EAGAIN after each poll. */
static inline void cli_nonblock(int fd) {
  int flags = fcntl(fd, F_GETFL, 0);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    perror("fcntl");
    exit(1);
  }
}

static inline void cli_print_addr(const char *what, const struct sockaddr *sa, socklen_t len) {
  char host[1025], serv[32]; /* NI_MAXHOST, NI_MAXSERV (not POSIX) */
  if (getnameinfo(sa, len, host, sizeof host, serv, sizeof serv,
                  NI_NUMERICHOST | NI_NUMERICSERV) == 0)
    fprintf(stderr, "%s %s:%s\n", what, host, serv);
}

/* One association over one socket. */
struct cli_session {
  const struct cli_opts *o;
  dtls_ctx *ctx;
  int fd;
  struct sockaddr_storage peer;
  socklen_t peer_len; /* 0 until a server has seen its peer */
  int connected, stdin_open, peer_closed;
  dtls_result failed; /* first fatal result, DTLS_OK while alive */
  int failure_printed;
  /* Optional: called once the handshake completed, after the summary on stderr (srtp_keys.c
     prints its SRTP keys here). NULL in client.c and server.c. */
  void (*on_connected)(struct cli_session *s, const dtls_event *ev);
};

static uint8_t cli_dgram[65536];

/* Sends every queued datagram (handshake flights, records, alerts). */
static inline void cli_flush(struct cli_session *s) {
  size_t len = 0;
  dtls_result r;
  while ((r = dtls_poll_output(s->ctx, cli_now_ms(), cli_dgram, sizeof cli_dgram, &len)) ==
         DTLS_OK) {
    if (s->peer_len == 0) continue; /* a server never produces output before its peer exists */
    if (sendto(s->fd, cli_dgram, len, 0, (const struct sockaddr *)&s->peer, s->peer_len) < 0 &&
        errno != ECONNREFUSED && errno != EAGAIN && errno != EWOULDBLOCK) {
      perror("sendto"); /* UDP: a lost datagram is retransmitted by the library's timers */
    }
  }
  if (r != DTLS_EMPTY && s->failed == DTLS_OK) s->failed = r;
}

static inline void cli_print_hex(const char *prefix, const uint8_t *p, size_t n) {
  size_t i;
  fprintf(stderr, "%s", prefix);
  for (i = 0; i < n; i++) fprintf(stderr, "%02X", p[i]);
  fprintf(stderr, "\n");
}

/* What the handshake agreed, in the spirit of openssl s_client's session summary. */
static inline void cli_print_connected(const struct cli_session *s, const dtls_event *ev) {
  char fp[192];
  size_t len = 0;
  fprintf(stderr, "Connected\n");
  fprintf(stderr, "Protocol: %s (0x%04X)\n",
          ev->version == DTLS_PROTOCOL_VERSION_1_2   ? "DTLSv1.2"
          : ev->version == DTLS_PROTOCOL_VERSION_1_3 ? "DTLSv1.3"
                                                     : "unknown",
          ev->version);
  fprintf(stderr, "Cipher: %s (0x%04X)\n", cli_suite_name(ev->cipher_suite), ev->cipher_suite);
  if (dtls_ctx_peer_fingerprint(s->ctx, DTLS_HASH_SHA256, fp, sizeof fp, &len) == DTLS_OK)
    fprintf(stderr, "Peer fingerprint: sha-256 %s\n", fp);
  else
    fprintf(stderr, "Peer fingerprint: none (no peer certificate)\n");
  if (ev->srtp_profile != 0) {
    uint8_t keys[256];
    uint16_t profile = 0;
    fprintf(stderr, "SRTP profile: %s (0x%04X)\n", cli_srtp_name(ev->srtp_profile),
            ev->srtp_profile);
    if (dtls_srtp_keying_material(s->ctx, &profile, keys, sizeof keys, &len) == DTLS_OK)
      cli_print_hex("SRTP keying material: ", keys, len);
  } else {
    fprintf(stderr, "SRTP profile: none\n");
  }
  if (s->o->keymat_label != NULL) {
    static uint8_t km[CLI_MAX_KEYMAT];
    const char *label = s->o->keymat_label;
    /* Like openssl -keymatexport: no context value (RFC 5705 "no context" differs from empty). */
    dtls_result r = dtls_export_keying_material(s->ctx, (const uint8_t *)label, strlen(label),
                                                NULL, 0, km, s->o->keymat_len);
    fprintf(stderr, "Keying material exporter:\n    Label: '%s'\n    Length: %zu bytes\n", label,
            s->o->keymat_len);
    if (r == DTLS_OK)
      cli_print_hex("    Keying material: ", km, s->o->keymat_len);
    else
      fprintf(stderr, "    Error: %s\n", dtls_result_name(r));
  }
}

static inline void cli_events(struct cli_session *s) {
  dtls_event ev;
  while (dtls_poll_event(s->ctx, &ev) == DTLS_OK) {
    switch (ev.kind) {
      case DTLS_EVENT_CONNECTED:
        s->connected = 1;
        cli_print_connected(s, &ev);
        if (s->on_connected != NULL) s->on_connected(s, &ev);
        break;
      case DTLS_EVENT_PEER_CERTIFICATE:
        fprintf(stderr, "Peer certificate verified\n");
        break;
      case DTLS_EVENT_CLOSE_NOTIFY:
        fprintf(stderr, "Peer sent close_notify\n");
        s->peer_closed = 1;
        break;
      case DTLS_EVENT_FAILED:
        fprintf(stderr, "error: %s (%s), alert %u\n", dtls_result_name(ev.result),
                dtls_result_str(ev.result), ev.alert);
        s->failure_printed = 1;
        if (s->failed == DTLS_OK) s->failed = ev.result;
        break;
      default:
        break;
    }
  }
}

/* Delivers received application data to stdout (and back to the peer with -echo). */
static inline void cli_deliver(struct cli_session *s) {
  static uint8_t app[65536];
  size_t len = 0;
  while (dtls_recv(s->ctx, app, sizeof app, &len) == DTLS_OK) {
    if (fwrite(app, 1, len, stdout) != len) perror("stdout");
    fflush(stdout);
    if (s->o->echo) {
      dtls_result r = dtls_send(s->ctx, app, len);
      if (r != DTLS_OK && r != DTLS_ERR_INVALID_ARGUMENT && s->failed == DTLS_OK) s->failed = r;
    }
  }
}

/* Handles every datagram waiting on the socket. */
static inline void cli_receive(struct cli_session *s) {
  for (;;) {
    struct sockaddr_storage from;
    socklen_t from_len = sizeof from;
    ssize_t n;
    dtls_result r;
    memset(&from, 0, sizeof from);
    n = recvfrom(s->fd, cli_dgram, sizeof cli_dgram, 0, (struct sockaddr *)&from, &from_len);
    if (n < 0) {
      if (errno == EINTR) continue;
      /* ECONNREFUSED: an ICMP error for an earlier datagram (the peer is not up yet); the
         retransmission timer tries again. */
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNREFUSED) perror("recvfrom");
      return;
    }
    if (s->peer_len == 0) {
      /* The server's first datagram names its one peer. The cookie (HelloVerifyRequest) is
         bound to these sockaddr bytes, which the kernel fills the same way every time. */
      memcpy(&s->peer, &from, sizeof from);
      s->peer_len = from_len;
      cli_print_addr("Peer", (const struct sockaddr *)&from, from_len);
      cli_check(dtls_ctx_set_peer_address(s->ctx, (const uint8_t *)&from, from_len),
                "set peer address");
    } else if (from_len != s->peer_len || memcmp(&from, &s->peer, from_len) != 0) {
      continue; /* one peer only; anybody else is ignored */
    }
    r = dtls_feed(s->ctx, cli_dgram, (size_t)n, cli_now_ms());
    if (r != DTLS_OK && s->failed == DTLS_OK) s->failed = r;
    if (s->failed != DTLS_OK) return;
  }
}

/* Reads one chunk of stdin and sends it as one record; EOF closes the association. */
static inline void cli_stdin(struct cli_session *s) {
  static uint8_t in[65536];
  size_t max = 0;
  ssize_t n;
  dtls_result r;
  if (dtls_ctx_max_send_len(s->ctx, &max) != DTLS_OK || max == 0) return;
  if (max > sizeof in) max = sizeof in;
  n = read(STDIN_FILENO, in, max);
  if (n < 0) {
    if (errno != EINTR && errno != EAGAIN) {
      perror("stdin");
      s->stdin_open = 0;
    }
    return;
  }
  if (n == 0) {
    s->stdin_open = 0;
    if (!s->o->ign_eof) {
      fprintf(stderr, "stdin EOF: sending close_notify\n");
      r = dtls_close(s->ctx);
      if (r != DTLS_OK && s->failed == DTLS_OK) s->failed = r;
    }
    return;
  }
  r = dtls_send(s->ctx, in, (size_t)n);
  if (r != DTLS_OK && s->failed == DTLS_OK) s->failed = r;
}

/* The loop: flush output, report events, deliver data, then sleep in poll(2) until a
   datagram, stdin or the library's next deadline. Returns the exit status. */
static inline int cli_run(struct cli_session *s) {
  s->stdin_open = 1;
  for (;;) {
    struct pollfd pfd[2];
    nfds_t nfds = 1;
    uint64_t deadline = 0, now;
    int timeout = -1, ready;

    cli_flush(s);
    cli_events(s);
    cli_deliver(s);
    cli_flush(s); /* -echo replies */
    if (s->failed != DTLS_OK) {
      if (!s->failure_printed)
        fprintf(stderr, "error: %s (%s)\n", dtls_result_name(s->failed),
                dtls_result_str(s->failed));
      return 1;
    }
    if (s->peer_closed) {
      /* Answer with our own close_notify (courtesy; RFC 5246 §7.2.1) and stop. */
      dtls_close(s->ctx);
      cli_flush(s);
      fprintf(stderr, "DONE\n");
      return 0;
    }
    if (s->connected && !s->stdin_open && !s->o->ign_eof) {
      /* stdin EOF: cli_stdin queued close_notify, and it has just been flushed. */
      fprintf(stderr, "DONE\n");
      return 0;
    }

    now = cli_now_ms();
    if (dtls_next_timeout(s->ctx, &deadline)) {
      uint64_t wait = deadline > now ? deadline - now : 0;
      timeout = wait > INT_MAX ? INT_MAX : (int)wait;
    }
    pfd[0].fd = s->fd;
    pfd[0].events = POLLIN;
    pfd[0].revents = 0;
    /* stdin only once application data can flow (and not with -echo, which only answers). */
    if (s->connected && s->stdin_open && !s->o->echo) {
      pfd[1].fd = STDIN_FILENO;
      pfd[1].events = POLLIN;
      pfd[1].revents = 0;
      nfds = 2;
    }
    ready = poll(pfd, nfds, timeout);
    if (ready < 0) {
      if (errno == EINTR) continue;
      perror("poll");
      return 1;
    }
    if (pfd[0].revents & (POLLIN | POLLERR)) cli_receive(s);
    if (s->failed == DTLS_OK && dtls_next_timeout(s->ctx, &deadline) &&
        cli_now_ms() >= deadline) {
      dtls_result r = dtls_handle_timeout(s->ctx, cli_now_ms());
      if (r != DTLS_OK) s->failed = r;
    }
    if (s->failed == DTLS_OK && nfds == 2 && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)))
      cli_stdin(s);
  }
}

#endif /* DTLS_CLI_H */
