/*
 * server.c: a DTLS 1.2 server for one peer over UDP, driven with poll(2) and libdtls's timers;
 * works with any DTLS client (openssl s_client, gnutls-cli, examples-c/client). Shaped like
 * openssl s_server:
 *
 *   server -accept 127.0.0.1:4433 -cert server-chain.pem -key server.key \
 *          -srtp SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80 \
 *          -keymatexport EXTRACTOR-dtls_srtp -keymatexportlen 56
 *   server -accept 4433                        (generated certificate; prints its fingerprint)
 *
 * The first datagram names the peer; its sockaddr bytes go to dtls_ctx_set_peer_address, so the
 * HelloVerifyRequest cookie is bound to that address (-nocookie skips the exchange). With
 * -CAfile or -fingerprint a client certificate is required and verified. It prints what was
 * negotiated to stderr, sends stdin as application data (-echo: returns what it receives
 * instead) and writes what it receives to stdout. The peer's close_notify or stdin EOF ends it
 * with status 0; failures print the dtls_result name and exit 1; usage errors exit 2.
 *
 * Build: cc -std=c11 -Wall -Wextra -Werror -pedantic -I include examples-c/server.c -ldtls
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
  int rc, fd = -1;

  memset(&o, 0, sizeof o);
  memset(&s, 0, sizeof s);
  o.server = 1;
  cli_parse(&o, argc, argv);
  cli_split_addr(o.addr, host, sizeof host, &port, 1);

  memset(&hints, 0, sizeof hints);
  hints.ai_family = host[0] ? AF_UNSPEC : AF_INET;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_PASSIVE;
  rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
  if (rc != 0) {
    fprintf(stderr, "%s: %s\n", o.addr, gai_strerror(rc));
    return 1;
  }
  for (ai = res; ai != NULL; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0) continue;
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0) break;
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0) {
    fprintf(stderr, "%s: cannot bind: %s\n", o.addr, strerror(errno));
    return 1;
  }
  cli_nonblock(fd);

  cfg = cli_config(&o);
  cli_check(dtls_ctx_new(cfg, DTLS_ROLE_SERVER, NULL, cli_now_ms(), &s.ctx), "dtls_ctx_new");
  dtls_config_free(cfg);
  cli_pin(&o, s.ctx);
  {
    struct sockaddr_storage local;
    socklen_t len = sizeof local;
    if (getsockname(fd, (struct sockaddr *)&local, &len) == 0)
      cli_print_addr("Listening on", (const struct sockaddr *)&local, len);
  }

  s.o = &o;
  s.fd = fd;
  s.peer_len = 0; /* learnt from the first datagram */
  rc = cli_run(&s);
  dtls_ctx_free(s.ctx);
  close(fd);
  return rc;
}
