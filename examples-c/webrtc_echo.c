/*
 * webrtc_echo.c: a WebRTC audio echo endpoint in one file, for a browser on the same machine.
 *
 * It answers a browser's SDP offer as an ICE-lite agent (RFC 8445 §2.5) with one host
 * candidate on 127.0.0.1, waits as the DTLS server (a=setup:passive) with the browser's
 * a=fingerprint pinned, takes the SRTP keys that libdtls exports (RFC 5764 §4.2) into libsrtp2,
 * decrypts the browser's audio and sends every packet straight back, re-encrypted.
 * All of it shares one UDP socket, told apart by the first byte (RFC 7983).
 *
 *   webrtc_echo [-seconds N] [-srtp SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80]
 *               [-suites 0xC02B,0xCCA9]
 *
 * Signalling is stdin/stdout: the offer comes on stdin (SDP lines up to an empty line or EOF),
 * the answer goes to stdout followed by an empty line. Then stdout gets one line when DTLS
 * connects ("negotiated: ...") and a summary at the end ("ice: answered=N ...", "srtp:
 * decrypted=N auth_failures=N ..."). The call
 * ends at stdin EOF or after -seconds (default 30). Exit status 0 when DTLS connected and no
 * SRTP packet failed authentication, 1 otherwise, 2 on a usage error.
 *
 * What each library does here:
 *   libdtls   DTLS 1.2 server, certificate and its fingerprint, SRTP keying material
 *   libsrtp2  SRTP (AES-CM/HMAC-SHA1 or AES-GCM, whichever use_srtp chose)
 *   libcrypto HMAC-SHA1 and random bytes for ICE (STUN MESSAGE-INTEGRITY, ufrag/pwd)
 *   zlib      CRC-32 for STUN FINGERPRINT
 *
 * Build: cc -std=c11 -Wall -Wextra -Werror -pedantic -I include examples-c/webrtc_echo.c \
 *           -ldtls $(pkg-config --cflags --libs libsrtp2 libcrypto zlib)
 */
#define _POSIX_C_SOURCE 200809L

#include "dtls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <poll.h>
#include <srtp2/srtp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define STUN_MAGIC 0x2112A442u
#define STUN_BINDING_REQUEST 0x0001
#define STUN_BINDING_SUCCESS 0x0101
#define STUN_USERNAME 0x0006
#define STUN_MESSAGE_INTEGRITY 0x0008
#define STUN_XOR_MAPPED_ADDRESS 0x0020
#define STUN_USE_CANDIDATE 0x0025
#define STUN_FINGERPRINT 0x8028
/* RFC 8489 §14.7: the CRC-32 is XORed with this so STUN is not taken for another protocol. */
#define STUN_FINGERPRINT_XOR 0x5354554Eu

#define MAX_DATAGRAM 2048

struct offer {
  char ufrag[257];
  char fingerprint[256]; /* "sha-256 AB:CD:.." */
  char setup[32];
  char mid[64];
  int opus_pt;  /* payload type of opus/48000/2 */
  int mid_ext;  /* id of the sdes:mid header extension, 0 when absent */
};

struct stats {
  unsigned stun_answered, stun_refused, nominated;
  unsigned long decrypted, auth_failures, replays, other_errors, echoed, rtcp;
};

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void die(const char *what, dtls_result r) {
  fprintf(stderr, "webrtc_echo: %s: %s (%s)\n", what, dtls_result_name(r), dtls_result_str(r));
  exit(1);
}

static void check(dtls_result r, const char *what) {
  if (r != DTLS_OK) die(what, r);
}

static void usage(void) {
  fprintf(stderr,
          "usage: webrtc_echo [-seconds N] [-srtp P1:P2] [-suites ID,ID]\n"
          "  Reads a browser's SDP offer on stdin (up to an empty line), prints the answer and\n"
          "  an empty line, then echoes the browser's audio until stdin EOF or N seconds\n"
          "  (default 30). -srtp: our SRTP profile preference, OpenSSL names (default\n"
          "  SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80). -suites: DTLS cipher suites by\n"
          "  IANA id, in preference order (default: the library's).\n");
  exit(2);
}

/* ---- signalling ------------------------------------------------------------------------ */

/* One line from stdin with read(2), so no stdio buffer holds bytes the poll loop should see.
   Returns the length, or -1 at EOF with nothing read. */
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

static void copy_attr(char *dst, size_t cap, const char *line, const char *prefix) {
  size_t n = strlen(prefix);
  if (strncmp(line, prefix, n) == 0 && dst[0] == '\0') {
    snprintf(dst, cap, "%s", line + n);
  }
}

/* Reads the offer's audio section: the first value of each attribute counts. */
static void read_offer(struct offer *o) {
  char line[4096];
  memset(o, 0, sizeof *o);
  o->opus_pt = -1;
  while (read_line(line, sizeof line) > 0) {
    int pt = 0, id = 0;
    char codec[64];
    copy_attr(o->ufrag, sizeof o->ufrag, line, "a=ice-ufrag:");
    copy_attr(o->fingerprint, sizeof o->fingerprint, line, "a=fingerprint:");
    copy_attr(o->setup, sizeof o->setup, line, "a=setup:");
    copy_attr(o->mid, sizeof o->mid, line, "a=mid:");
    if (o->opus_pt < 0 && sscanf(line, "a=rtpmap:%d %63s", &pt, codec) == 2 &&
        strcmp(codec, "opus/48000/2") == 0) {
      o->opus_pt = pt;
    }
    if (o->mid_ext == 0 && sscanf(line, "a=extmap:%d %63s", &id, codec) == 2 &&
        strcmp(codec, "urn:ietf:params:rtp-hdrext:sdes:mid") == 0) {
      o->mid_ext = id;
    }
  }
  if (!o->ufrag[0] || !o->fingerprint[0] || !o->mid[0] || o->opus_pt < 0) {
    fprintf(stderr, "webrtc_echo: the offer lacks a=ice-ufrag, a=fingerprint, a=mid or opus\n");
    exit(1);
  }
  if (strcmp(o->setup, "actpass") != 0 && strcmp(o->setup, "active") != 0) {
    /* We wait as the DTLS server; an offerer that insists on waiting too cannot call us. */
    fprintf(stderr, "webrtc_echo: the offer says a=setup:%s; we answer passive only\n", o->setup);
    exit(1);
  }
}

/* A random string of ice-chars (RFC 8839 §5.4). */
static void ice_string(char *out, size_t n) {
  static const char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  unsigned char raw[64];
  size_t i;
  if (n > sizeof raw || RAND_bytes(raw, (int)n) != 1) {
    fprintf(stderr, "webrtc_echo: no random bytes\n");
    exit(1);
  }
  for (i = 0; i < n; i++) out[i] = chars[raw[i] % 64];
  out[n] = '\0';
}

/* The answer: ice-lite, our credentials and fingerprint, a=setup:passive (RFC 4145: we wait
   for the browser's ClientHello), one host candidate, opus only, audio both ways. */
static void print_answer(const struct offer *o, const char *ufrag, const char *pwd,
                         const char *fingerprint, unsigned port) {
  printf("v=0\r\n");
  printf("o=- 4611731400430051337 2 IN IP4 127.0.0.1\r\n");
  printf("s=-\r\n");
  printf("t=0 0\r\n");
  printf("a=ice-lite\r\n");
  printf("a=group:BUNDLE %s\r\n", o->mid);
  printf("m=audio %u UDP/TLS/RTP/SAVPF %d\r\n", port, o->opus_pt);
  printf("c=IN IP4 127.0.0.1\r\n");
  printf("a=mid:%s\r\n", o->mid);
  printf("a=ice-ufrag:%s\r\n", ufrag);
  printf("a=ice-pwd:%s\r\n", pwd);
  printf("a=fingerprint:%s\r\n", fingerprint);
  printf("a=setup:passive\r\n");
  printf("a=sendrecv\r\n");
  printf("a=rtcp-mux\r\n");
  /* Keeping the offer's MID extension lets the browser route our packets by MID (RFC 8843). */
  if (o->mid_ext > 0) printf("a=extmap:%d urn:ietf:params:rtp-hdrext:sdes:mid\r\n", o->mid_ext);
  printf("a=rtpmap:%d opus/48000/2\r\n", o->opus_pt);
  printf("a=candidate:1 1 udp 2130706431 127.0.0.1 %u typ host\r\n", port);
  printf("a=end-of-candidates\r\n");
  printf("\n");
  fflush(stdout);
}

/* ---- STUN (RFC 8489) ------------------------------------------------------------------ */

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static void put16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}
static void put32(uint8_t *p, uint32_t v) {
  put16(p, (uint16_t)(v >> 16));
  put16(p + 2, (uint16_t)v);
}

/* HMAC-SHA1 over msg[0..upto) with the length field rewritten to end `extra` bytes past it:
   MESSAGE-INTEGRITY covers the header as if the message ended after that attribute
   (RFC 8489 §14.5). */
static void stun_hmac(const uint8_t *msg, size_t upto, size_t extra, const char *pwd,
                      uint8_t out[20]) {
  uint8_t tmp[MAX_DATAGRAM];
  unsigned len = 0;
  memcpy(tmp, msg, upto);
  put16(tmp + 2, (uint16_t)(upto + extra - 20));
  HMAC(EVP_sha1(), pwd, (int)strlen(pwd), tmp, upto, out, &len);
}

/* The same rule for FINGERPRINT (RFC 8489 §14.7). */
static uint32_t stun_crc(const uint8_t *msg, size_t upto) {
  uint8_t tmp[MAX_DATAGRAM];
  memcpy(tmp, msg, upto);
  put16(tmp + 2, (uint16_t)(upto + 8 - 20));
  return (uint32_t)crc32(0L, tmp, (uInt)upto) ^ STUN_FINGERPRINT_XOR;
}

/* Checks a Binding request addressed to us: USERNAME "ours:theirs", MESSAGE-INTEGRITY under
   our password, FINGERPRINT when present. Sets *use_candidate. */
static int stun_request_ok(const uint8_t *m, size_t n, const char *username, const char *pwd,
                           int *use_candidate) {
  size_t off = 20, mi_off = 0, fp_off = 0;
  int user_ok = 0;
  *use_candidate = 0;
  if (n < 20 || n > MAX_DATAGRAM || get16(m) != STUN_BINDING_REQUEST ||
      get16(m + 2) + 20u != n || get32(m + 4) != STUN_MAGIC) {
    return 0;
  }
  while (off + 4 <= n) {
    uint16_t type = get16(m + off), len = get16(m + off + 2);
    if (off + 4 + len > n) return 0;
    if (type == STUN_USERNAME && mi_off == 0) {
      user_ok = len == strlen(username) && memcmp(m + off + 4, username, len) == 0;
    } else if (type == STUN_USE_CANDIDATE) {
      *use_candidate = 1;
    } else if (type == STUN_MESSAGE_INTEGRITY && len == 20 && mi_off == 0) {
      mi_off = off;
    } else if (type == STUN_FINGERPRINT && len == 4) {
      fp_off = off;
    }
    off += 4 + ((len + 3u) & ~3u);
  }
  if (off != n || !user_ok || mi_off == 0) return 0;
  {
    uint8_t mac[20];
    stun_hmac(m, mi_off, 24, pwd, mac);
    if (CRYPTO_memcmp(mac, m + mi_off + 4, 20) != 0) return 0;
  }
  if (fp_off != 0 && get32(m + fp_off + 4) != stun_crc(m, fp_off)) return 0;
  return 1;
}

/* A Binding success response: XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY, FINGERPRINT. */
static size_t stun_success(const uint8_t *req, const struct sockaddr_in *from, const char *pwd,
                           uint8_t *out) {
  size_t n = 20;
  put16(out, STUN_BINDING_SUCCESS);
  put32(out + 4, STUN_MAGIC);
  memcpy(out + 8, req + 8, 12); /* transaction id */
  put16(out + n, STUN_XOR_MAPPED_ADDRESS);
  put16(out + n + 2, 8);
  out[n + 4] = 0;
  out[n + 5] = 1; /* IPv4 */
  put16(out + n + 6, (uint16_t)(ntohs(from->sin_port) ^ (STUN_MAGIC >> 16)));
  put32(out + n + 8, ntohl(from->sin_addr.s_addr) ^ STUN_MAGIC);
  n += 12;
  put16(out + n, STUN_MESSAGE_INTEGRITY);
  put16(out + n + 2, 20);
  stun_hmac(out, n, 24, pwd, out + n + 4);
  n += 24;
  put16(out + n, STUN_FINGERPRINT);
  put16(out + n + 2, 4);
  put32(out + n + 4, stun_crc(out, n));
  n += 8;
  put16(out + 2, (uint16_t)(n - 20));
  return n;
}

/* ---- SRTP ----------------------------------------------------------------------------- */

/* One libsrtp session from a key and salt (libsrtp takes them concatenated). */
static srtp_t srtp_session(uint16_t profile, const uint8_t *key, size_t key_len,
                           const uint8_t *salt, size_t salt_len, int inbound) {
  srtp_policy_t policy;
  uint8_t master[32 + 14];
  srtp_t session = NULL;
  srtp_err_status_t st;
  memset(&policy, 0, sizeof policy);
  switch (profile) {
    case DTLS_SRTP_AES128_CM_SHA1_80:
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtp);
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
      break;
    case DTLS_SRTP_AES128_CM_SHA1_32:
      /* RFC 5764 §4.1.2: the 32-bit tag is for SRTP only; SRTCP keeps 80 bits. */
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&policy.rtp);
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
      break;
    case DTLS_SRTP_AEAD_AES_128_GCM:
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
      break;
    case DTLS_SRTP_AEAD_AES_256_GCM:
      srtp_crypto_policy_set_aes_gcm_256_16_auth(&policy.rtp);
      srtp_crypto_policy_set_aes_gcm_256_16_auth(&policy.rtcp);
      break;
    default:
      fprintf(stderr, "webrtc_echo: no libsrtp policy for profile 0x%04X\n", profile);
      exit(1);
  }
  memcpy(master, key, key_len);
  memcpy(master + key_len, salt, salt_len);
  policy.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
  policy.key = master;
  policy.window_size = 1024;
  policy.allow_repeat_tx = 0;
  st = srtp_create(&session, &policy);
  memset(master, 0, sizeof master);
  if (st != srtp_err_status_ok) {
    fprintf(stderr, "webrtc_echo: srtp_create: %d\n", (int)st);
    exit(1);
  }
  return session;
}

/* ---- the call ------------------------------------------------------------------------- */

struct call {
  int fd;
  const struct offer *offer;
  const dtls_config *config;
  const char *pwd;
  char username[600]; /* "ours:theirs", as the browser's checks carry it */
  dtls_ctx *ctx;
  struct sockaddr_in peer;
  int connected;
  srtp_t rx, tx;
  struct stats st;
};

static void on_stun(struct call *c, const uint8_t *d, size_t n, const struct sockaddr_in *from) {
  uint8_t out[128];
  int use_candidate = 0;
  if (!stun_request_ok(d, n, c->username, c->pwd, &use_candidate)) {
    c->st.stun_refused++;
    return;
  }
  c->st.stun_answered++;
  if (use_candidate) c->st.nominated = 1;
  (void)sendto(c->fd, out, stun_success(d, from, c->pwd, out), 0, (const struct sockaddr *)from,
               sizeof *from);
}

static int same_addr(const struct sockaddr_in *a, const struct sockaddr_in *b) {
  return a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
}

static void on_dtls(struct call *c, const uint8_t *d, size_t n, const struct sockaddr_in *from) {
  if (c->ctx == NULL) {
    /* The first ClientHello picks the peer; the cookie exchange binds it to this address. */
    check(dtls_ctx_new(c->config, DTLS_ROLE_SERVER, NULL, now_ms(), &c->ctx), "dtls_ctx_new");
    check(dtls_ctx_set_peer_address(c->ctx, (const uint8_t *)from, sizeof *from),
          "dtls_ctx_set_peer_address");
    check(dtls_ctx_add_peer_fingerprint(c->ctx, c->offer->fingerprint),
          "dtls_ctx_add_peer_fingerprint");
    c->peer = *from;
  }
  if (!same_addr(from, &c->peer)) return;
  /* Errors also arrive as a FAILED event, handled in drive(). */
  (void)dtls_feed(c->ctx, d, n, now_ms());
}

static void on_connected(struct call *c, const dtls_event *ev) {
  uint8_t km[2 * (32 + 14)];
  uint16_t profile = 0;
  size_t len = 0, key = 0, salt = 0;
  const char *name = NULL;
  dtls_result r = dtls_srtp_keying_material(c->ctx, &profile, km, sizeof km, &len);
  if (r == DTLS_EMPTY) {
    fprintf(stderr, "webrtc_echo: the browser negotiated no SRTP profile\n");
    exit(1);
  }
  check(r, "dtls_srtp_keying_material");
  check(dtls_srtp_profile_info(profile, &name, &key, &salt), "dtls_srtp_profile_info");
  if (len != 2 * (key + salt)) {
    fprintf(stderr, "webrtc_echo: %zu bytes of SRTP keying material\n", len);
    exit(1);
  }
  /* client key | server key | client salt | server salt (RFC 5764 §4.2). The browser is the
     DTLS client: it sends with the client pair, we answer with the server pair. */
  c->rx = srtp_session(profile, km, key, km + 2 * key, salt, 1);
  c->tx = srtp_session(profile, km + key, key, km + 2 * key + salt, salt, 0);
  memset(km, 0, sizeof km);
  c->connected = 1;
  printf("negotiated: DTLS 0x%04X suite 0x%04X srtp %s (0x%04X)\n", ev->version,
         ev->cipher_suite, name, profile);
  fflush(stdout);
}

/* Sends what libdtls queued and handles its events. */
static void drive(struct call *c) {
  uint8_t out[MAX_DATAGRAM];
  size_t len = 0;
  dtls_event ev;
  dtls_result r;
  if (c->ctx == NULL) return;
  while ((r = dtls_poll_output(c->ctx, now_ms(), out, sizeof out, &len)) == DTLS_OK) {
    (void)sendto(c->fd, out, len, 0, (const struct sockaddr *)&c->peer, sizeof c->peer);
  }
  while (dtls_poll_event(c->ctx, &ev) == DTLS_OK) {
    if (ev.kind == DTLS_EVENT_CONNECTED) {
      on_connected(c, &ev);
    } else if (ev.kind == DTLS_EVENT_FAILED) {
      die("DTLS failed", ev.result);
    } else if (ev.kind == DTLS_EVENT_CLOSE_NOTIFY) {
      fprintf(stderr, "webrtc_echo: the browser closed DTLS\n");
    }
  }
}

/* RTP or RTCP (RFC 5761 §4: RTCP packet types 192..223 sit where RTP has the marker bit and
   payload type). RTP is decrypted, counted, given our own SSRC and sent back encrypted. */
static void on_rtp(struct call *c, uint8_t *d, size_t n, const struct sockaddr_in *from) {
  int len = (int)n;
  srtp_err_status_t st;
  if (!c->connected || !same_addr(from, &c->peer) || n < 12) return;
  if (d[1] >= 192 && d[1] <= 223) {
    c->st.rtcp++; /* SRTCP: the browser's reports; an echo server has nothing to say back */
    return;
  }
  st = srtp_unprotect(c->rx, d, &len);
  if (st == srtp_err_status_auth_fail) {
    c->st.auth_failures++;
    return;
  }
  if (st == srtp_err_status_replay_fail || st == srtp_err_status_replay_old) {
    c->st.replays++;
    return;
  }
  if (st != srtp_err_status_ok) {
    c->st.other_errors++;
    return;
  }
  c->st.decrypted++;
  /* Our stream is a new source to the browser: the same SSRC as its own sender would look
     like a loop (RFC 3550 §8.2). Flipping bits keeps it stable for the whole call. */
  put32(d + 8, get32(d + 8) ^ 0x5EC0E40Fu);
  if (srtp_protect(c->tx, d, &len) == srtp_err_status_ok) {
    (void)sendto(c->fd, d, (size_t)len, 0, (const struct sockaddr *)&c->peer, sizeof c->peer);
    c->st.echoed++;
  }
}

int main(int argc, char **argv) {
  const char *srtp_list = "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80";
  unsigned long seconds = 30;
  struct offer offer;
  struct call c;
  struct sockaddr_in addr;
  socklen_t alen = sizeof addr;
  dtls_certificate *cert = NULL;
  dtls_config_builder *b = NULL;
  char ufrag[9], pwd[25], fingerprint[208];
  size_t fp_len = 0;
  uint64_t deadline;
  uint16_t suites[8];
  size_t n_suites = 0;
  int stdin_open = 1, i;

  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-seconds") == 0 && i + 1 < argc) {
      char *end = NULL;
      seconds = strtoul(argv[++i], &end, 10);
      if (*end != '\0' || seconds == 0 || seconds > 3600) usage();
    } else if (strcmp(argv[i], "-srtp") == 0 && i + 1 < argc) {
      srtp_list = argv[++i];
    } else if (strcmp(argv[i], "-suites") == 0 && i + 1 < argc) {
      const char *p = argv[++i];
      for (;;) {
        char *end = NULL;
        unsigned long id = strtoul(p, &end, 0);
        if (end == p || id == 0 || id > 0xFFFF || n_suites == sizeof suites / sizeof suites[0])
          usage();
        suites[n_suites++] = (uint16_t)id;
        if (*end == '\0') break;
        if (*end != ',') usage();
        p = end + 1;
      }
    } else {
      usage();
    }
  }
  if (srtp_init() != srtp_err_status_ok) {
    fprintf(stderr, "webrtc_echo: srtp_init failed\n");
    return 1;
  }
  memset(&c, 0, sizeof c);
  c.offer = &offer;
  c.pwd = pwd;

  /* Our socket, certificate and configuration come first: the answer names all three. */
  c.fd = socket(AF_INET, SOCK_DGRAM, 0);
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (c.fd < 0 || bind(c.fd, (struct sockaddr *)&addr, sizeof addr) != 0 ||
      getsockname(c.fd, (struct sockaddr *)&addr, &alen) != 0) {
    perror("webrtc_echo: socket");
    return 1;
  }
  check(dtls_certificate_generate("webrtc-echo", &cert), "dtls_certificate_generate");
  check(dtls_certificate_sdp_fingerprint(cert, DTLS_HASH_SHA256, fingerprint, sizeof fingerprint,
                                         &fp_len),
        "dtls_certificate_sdp_fingerprint");
  check(dtls_config_builder_new(&b), "dtls_config_builder_new");
  check(dtls_config_builder_set_certificate(b, cert), "set_certificate");
  dtls_certificate_free(cert);
  check(dtls_config_builder_set_versions(b, DTLS_V1_2), "set_versions");
  check(dtls_config_builder_set_srtp_profiles_str(b, srtp_list), "set_srtp_profiles_str");
  if (n_suites > 0) check(dtls_config_builder_set_cipher_suites(b, suites, n_suites), "set_suites");
  /* Browsers use no SRTP MKI; libsrtp would otherwise need it on every packet. */
  check(dtls_config_builder_set_srtp_accept_mki(b, false), "set_srtp_accept_mki");
  check(dtls_config_builder_build(b, &c.config), "dtls_config_builder_build");

  read_offer(&offer);
  ice_string(ufrag, 8);
  ice_string(pwd, 24);
  snprintf(c.username, sizeof c.username, "%s:%s", ufrag, offer.ufrag);
  print_answer(&offer, ufrag, pwd, fingerprint, ntohs(addr.sin_port));
  fprintf(stderr, "webrtc_echo: answered on 127.0.0.1:%u, waiting for the browser\n",
          ntohs(addr.sin_port));

  deadline = now_ms() + seconds * 1000u;
  while (now_ms() < deadline) {
    struct pollfd fds[2];
    uint64_t wake = now_ms() + 50, t = 0;
    int timeout;
    fds[0].fd = c.fd;
    fds[0].events = POLLIN;
    fds[1].fd = stdin_open ? STDIN_FILENO : -1;
    fds[1].events = POLLIN;
    if (c.ctx != NULL && dtls_next_timeout(c.ctx, &t) && t < wake) wake = t;
    timeout = wake > now_ms() ? (int)(wake - now_ms()) : 0;
    if (poll(fds, 2, timeout) < 0 && errno != EINTR) {
      perror("webrtc_echo: poll");
      return 1;
    }
    if (fds[1].revents & (POLLIN | POLLHUP)) {
      char junk[256];
      ssize_t got = read(STDIN_FILENO, junk, sizeof junk);
      if (got <= 0) break; /* signalling hung up: the call is over */
    }
    if (fds[0].revents & POLLIN) {
      uint8_t d[MAX_DATAGRAM];
      struct sockaddr_in from;
      socklen_t flen = sizeof from;
      ssize_t n = recvfrom(c.fd, d, sizeof d - SRTP_MAX_TRAILER_LEN, 0,
                           (struct sockaddr *)&from, &flen);
      if (n > 0 && flen == sizeof from) {
        switch (dtls_packet_kind(d, (size_t)n)) {
          case DTLS_PACKET_STUN:
            on_stun(&c, d, (size_t)n, &from);
            break;
          case DTLS_PACKET_DTLS:
            on_dtls(&c, d, (size_t)n, &from);
            break;
          case DTLS_PACKET_RTP_RTCP:
            on_rtp(&c, d, (size_t)n, &from);
            break;
          default:
            break; /* RFC 7983: anything else is dropped */
        }
      }
    }
    if (c.ctx != NULL && dtls_next_timeout(c.ctx, &t) && t <= now_ms()) {
      (void)dtls_handle_timeout(c.ctx, now_ms());
    }
    drive(&c);
  }

  printf("ice: answered=%u refused=%u nominated=%s\n", c.st.stun_answered, c.st.stun_refused,
         c.st.nominated ? "yes" : "no");
  printf("srtp: decrypted=%lu auth_failures=%lu replays=%lu other_errors=%lu echoed=%lu "
         "rtcp=%lu\n",
         c.st.decrypted, c.st.auth_failures, c.st.replays, c.st.other_errors, c.st.echoed,
         c.st.rtcp);
  fflush(stdout);
  if (c.ctx != NULL) {
    uint8_t out[MAX_DATAGRAM];
    size_t len = 0;
    (void)dtls_close(c.ctx);
    while (dtls_poll_output(c.ctx, now_ms(), out, sizeof out, &len) == DTLS_OK) {
      (void)sendto(c.fd, out, len, 0, (const struct sockaddr *)&c.peer, sizeof c.peer);
    }
    dtls_ctx_free(c.ctx);
  }
  if (c.rx != NULL) srtp_dealloc(c.rx);
  if (c.tx != NULL) srtp_dealloc(c.tx);
  dtls_config_free(c.config);
  srtp_shutdown();
  close(c.fd);
  return c.connected && c.st.auth_failures == 0 ? 0 : 1;
}
