/*
 * client.c: a DTLS 1.2 client over UDP, driven with poll(2) and libdtls's timers; works with any
 * DTLS server (openssl s_server, gnutls-serv, examples-c/server). Shaped like openssl s_client:
 *
 *   client -connect 127.0.0.1:4433 -CAfile ca.crt -servername dtls-server \
 *          -srtp SRTP_AES128_CM_SHA1_80 -keymatexport EXTRACTOR-dtls_srtp -keymatexportlen 60
 *   client -connect 127.0.0.1:4433 -fingerprint "sha-256 AB:CD:..."      (WebRTC-style pinning)
 *
 * It prints what was negotiated (protocol, suite, peer fingerprint, SRTP profile, exported keys)
 * to stderr, sends stdin as application data and writes what it receives to stdout. stdin EOF
 * sends close_notify and exits 0; so does the server's close_notify. Failures print the
 * dtls_result name (e.g. DTLS_ERR_FINGERPRINT_MISMATCH) and exit 1; usage errors exit 2.
 *
 * Build: cc -std=c11 -Wall -Wextra -Werror -pedantic -I include examples-c/client.c -ldtls
 */
#define _POSIX_C_SOURCE 200809L

#include "dtls_cli.h"

int main(int argc, char **argv) {
  struct cli_opts o;
  struct cli_session s;
  struct addrinfo hints, *res = NULL, *ai;
  char host[256];
  const char *port = NULL;
  const dtls_config *cfg;
  const char *name;
  int rc, fd = -1;

  memset(&o, 0, sizeof o);
  memset(&s, 0, sizeof s);
  o.server = 0;
  cli_parse(&o, argc, argv);
  cli_split_addr(o.addr, host, sizeof host, &port, 0);

  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  rc = getaddrinfo(host, port, &hints, &res);
  if (rc != 0) {
    fprintf(stderr, "%s: %s\n", o.addr, gai_strerror(rc));
    return 1;
  }
  for (ai = res; ai != NULL; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0) continue;
    /* connect(2) on UDP: only the server's datagrams reach us. */
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
      memcpy(&s.peer, ai->ai_addr, ai->ai_addrlen);
      s.peer_len = ai->ai_addrlen;
      break;
    }
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0) {
    fprintf(stderr, "%s: cannot connect: %s\n", o.addr, strerror(errno));
    return 1;
  }
  cli_nonblock(fd);
  cli_print_addr("Connecting to", (const struct sockaddr *)&s.peer, s.peer_len);

  cfg = cli_config(&o);
  /* The name sent as SNI and checked against the certificate (webpki): -servername, else the
     host of -connect, as openssl s_client does. */
  name = o.servername != NULL ? o.servername : host;
  cli_check(dtls_ctx_new(cfg, DTLS_ROLE_CLIENT, name, cli_now_ms(), &s.ctx), "dtls_ctx_new");
  dtls_config_free(cfg); /* the context keeps its own reference */
  cli_pin(&o, s.ctx);

  s.o = &o;
  s.fd = fd;
  rc = cli_run(&s); /* the first flight is already queued: cli_run flushes it */
  dtls_ctx_free(s.ctx);
  close(fd);
  return rc;
}
