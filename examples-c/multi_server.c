/*
 * multi_server.c: a DTLS 1.2 / 1.3 echo server for many clients on one UDP socket, keyed by the
 * client's address, driven with poll(2) and one timer heap over all associations.
 *
 *   multi_server -accept 127.0.0.1:4433                      (generated certificate)
 *   multi_server -accept 4433 -cert chain.pem -key key.pem -CAfile ca.pem -max_peers 10000
 *   multi_server -accept 4433 -fingerprint "sha-256 AB:.." -sessions 5
 *
 * What a server for many peers has to get right, and how this one does it:
 *
 * - Only DTLS goes to libdtls. A socket shared with STUN, RTP/RTCP, ZRTP or TURN (a media
 *   port) carries other protocols; dtls_is_dtls() tells them apart by the first byte
 *   (RFC 7983 §7). Here the rest is counted and dropped.
 * - No state before the cookie. A datagram from an address without an association goes to
 *   the front door, dtls_front_door_admit(), which needs no context: a ClientHello without a
 *   valid cookie is answered with a HelloVerifyRequest (DTLS 1.2) or a HelloRetryRequest
 *   (DTLS 1.3) (REPLY) and forgotten, anything else is dropped (DROP). A DTLS 1.3 cookie
 *   commits to the whole ClientHello, so a ClientHello spanning datagrams waits for its rest
 *   (HELD) in the door's one pool, bounded in bytes for all peers together and evicted oldest
 *   first. Only a ClientHello whose cookie proves the address (ACCEPT) gets a dtls_ctx, bound
 *   to that address with dtls_ctx_set_peer_address() and fed what the door wrote (RFC 6347
 *   §4.2.1, RFC 9147 §5.1). A flood of spoofed ClientHellos therefore costs a hash and an HMAC
 *   each and allocates nothing beyond the pool.
 * - One timer for everything: each association's next deadline is the earlier of
 *   dtls_next_timeout() and its idle limit; a binary min-heap keyed by that deadline gives
 *   poll(2) its timeout. Every call that changes an association (feed, timeout, send) updates
 *   its place in the heap.
 * - Associations end: after close_notify (answered with ours), after a failure (the alert it
 *   queued is sent first), and after -idle_timeout without a datagram from the peer.
 *
 * Each client's application data is echoed back to it. Status lines go to stderr. The
 * common options are those of server.c (-cert/-key, -CAfile, -fingerprint, -srtp, -cipher,
 * -mtu, -hs_timeout, -nocookie); with -CAfile or -fingerprint a client certificate is
 * required. -sessions N ends the server once N associations have ended (by close_notify,
 * failure or idleness) and none is left, with a summary line: exit status 0 if none of them
 * failed, else 1. Usage errors exit 2.
 *
 * Build: cc -std=c11 -Wall -Wextra -Werror -pedantic -I include -I examples-c \
 *           examples-c/multi_server.c -ldtls
 */
#define _POSIX_C_SOURCE 200809L

#include "dtls_cli.h"

struct multi_opts {
  unsigned long max_peers, idle_ms, sessions;
};

struct peer {
  dtls_ctx *ctx;              /* NULL: the slot is free */
  struct sockaddr_storage addr; /* zero-filled before recvfrom, so the bytes are stable */
  socklen_t addr_len;
  uint64_t last_rx;  /* for the idle limit */
  uint64_t deadline; /* min(library deadline, idle limit): this peer's key in the heap */
  size_t heap_pos;
  long next; /* next slot in the same hash bucket, or in the free list; -1 ends */
  char name[80]; /* "host:port" for status lines */
};

struct server {
  const struct cli_opts *o;
  const struct multi_opts *m;
  const dtls_config *cfg;
  dtls_front_door *door; /* cookies before state; pools partial DTLS 1.3 ClientHellos */
  int fd;
  struct peer *peers; /* m->max_peers slots */
  long *buckets;      /* chain heads, -1: empty */
  size_t n_buckets;   /* a power of two */
  long free_head;
  size_t *heap; /* slot numbers, a min-heap by deadline */
  size_t heap_len, live;
  unsigned long ended, closed, failed, idle, replies, dropped, not_dtls, full;
};

static int multi_option(struct cli_opts *o, const char *a, const char *v) {
  struct multi_opts *m = o->user;
  unsigned long *field = NULL;
  char *end = NULL;
  if (strcmp(a, "-echo") == 0) return 1; /* always on */
  if (strcmp(a, "-max_peers") == 0) field = &m->max_peers;
  if (strcmp(a, "-idle_timeout") == 0) field = &m->idle_ms;
  if (strcmp(a, "-sessions") == 0) field = &m->sessions;
  if (field == NULL) return 0;
  if (v == NULL) cli_usage(o);
  *field = strtoul(v, &end, 10);
  if (*end != '\0' || *field == 0 || *field > 100000000ul) cli_usage(o);
  return 2;
}

/* FNV-1a over the address bytes. */
static size_t addr_hash(const struct sockaddr_storage *a, socklen_t len) {
  const uint8_t *p = (const uint8_t *)a;
  uint32_t h = 2166136261u;
  socklen_t i;
  for (i = 0; i < len; i++) h = (h ^ p[i]) * 16777619u;
  return h;
}

static long peer_find(const struct server *srv, const struct sockaddr_storage *a,
                      socklen_t len) {
  long i = srv->buckets[addr_hash(a, len) & (srv->n_buckets - 1)];
  while (i >= 0) {
    const struct peer *p = &srv->peers[i];
    if (p->addr_len == len && memcmp(&p->addr, a, len) == 0) return i;
    i = p->next;
  }
  return -1;
}

/* ---- the timer heap ---- */

static void heap_swap(struct server *srv, size_t i, size_t j) {
  size_t t = srv->heap[i];
  srv->heap[i] = srv->heap[j];
  srv->heap[j] = t;
  srv->peers[srv->heap[i]].heap_pos = i;
  srv->peers[srv->heap[j]].heap_pos = j;
}

static uint64_t heap_key(const struct server *srv, size_t i) {
  return srv->peers[srv->heap[i]].deadline;
}

/* Restores the heap order around position `i` after its key changed. */
static void heap_fix(struct server *srv, size_t i) {
  while (i > 0 && heap_key(srv, (i - 1) / 2) > heap_key(srv, i)) {
    heap_swap(srv, i, (i - 1) / 2);
    i = (i - 1) / 2;
  }
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < srv->heap_len && heap_key(srv, l) < heap_key(srv, m)) m = l;
    if (r < srv->heap_len && heap_key(srv, r) < heap_key(srv, m)) m = r;
    if (m == i) return;
    heap_swap(srv, i, m);
    i = m;
  }
}

/* Recomputes a peer's deadline after anything happened to it and moves it in the heap. */
static void peer_schedule(struct server *srv, long slot) {
  struct peer *p = &srv->peers[slot];
  uint64_t d = p->last_rx + srv->m->idle_ms, t;
  if (dtls_next_timeout(p->ctx, &t) && t < d) d = t;
  p->deadline = d;
  heap_fix(srv, p->heap_pos);
}

/* ---- associations ---- */

static long peer_add(struct server *srv, const struct sockaddr_storage *a, socklen_t len,
                     dtls_ctx *ctx, uint64_t now) {
  long slot = srv->free_head;
  struct peer *p;
  size_t b;
  char host[64], serv[8]; /* numeric: an IPv6 address has at most 45 characters */
  if (slot < 0) return -1;
  p = &srv->peers[slot];
  srv->free_head = p->next;
  memset(p, 0, sizeof *p);
  p->ctx = ctx;
  memcpy(&p->addr, a, len);
  p->addr_len = len;
  p->last_rx = now;
  if (getnameinfo((const struct sockaddr *)a, len, host, sizeof host, serv, sizeof serv,
                  NI_NUMERICHOST | NI_NUMERICSERV) == 0)
    snprintf(p->name, sizeof p->name, "%s:%s", host, serv);
  else
    snprintf(p->name, sizeof p->name, "peer %ld", slot);
  b = addr_hash(a, len) & (srv->n_buckets - 1);
  p->next = srv->buckets[b];
  srv->buckets[b] = slot;
  p->heap_pos = srv->heap_len;
  srv->heap[srv->heap_len++] = (size_t)slot;
  srv->live++;
  peer_schedule(srv, slot);
  return slot;
}

/* Forgets a peer: out of its bucket, out of the heap, context freed, slot free. */
static void peer_remove(struct server *srv, long slot) {
  struct peer *p = &srv->peers[slot];
  long *link = &srv->buckets[addr_hash(&p->addr, p->addr_len) & (srv->n_buckets - 1)];
  size_t pos = p->heap_pos;
  while (*link != slot) link = &srv->peers[*link].next;
  *link = p->next;
  srv->heap_len--;
  if (pos != srv->heap_len) {
    heap_swap(srv, pos, srv->heap_len);
    heap_fix(srv, pos);
  }
  dtls_ctx_free(p->ctx);
  p->ctx = NULL;
  p->next = srv->free_head;
  srv->free_head = slot;
  srv->live--;
  srv->ended++;
}

static void send_to_peer(const struct server *srv, const struct peer *p, const uint8_t *d,
                         size_t n) {
  if (sendto(srv->fd, d, n, 0, (const struct sockaddr *)&p->addr, p->addr_len) < 0 &&
      errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNREFUSED)
    perror("sendto"); /* lost like any datagram; the peer's timer resends */
}

static uint8_t dgram[65536];
/* What dtls_front_door_admit writes: a reply, or the ClientHello to feed a new context. */
static uint8_t door_out[DTLS_FRONT_DOOR_OUT_MAX > 65536 ? DTLS_FRONT_DOOR_OUT_MAX : 65536];

/* After anything happened to a peer: send what it queued, handle its events, echo its data.
   Removes it when it closed or failed; otherwise reschedules it. */
static void peer_service(struct server *srv, long slot) {
  struct peer *p = &srv->peers[slot];
  dtls_event ev;
  size_t len = 0;
  int done = 0, round;
  for (round = 0; round < 2; round++) { /* round 2 sends the echoes and our close_notify */
    dtls_result r;
    while ((r = dtls_poll_output(p->ctx, cli_now_ms(), dgram, sizeof dgram, &len)) == DTLS_OK)
      send_to_peer(srv, p, dgram, len);
    if (r != DTLS_EMPTY && !done) {
      fprintf(stderr, "%s: %s\n", p->name, dtls_result_name(r));
      srv->failed++;
      done = 1;
    }
    if (round == 1) break;
    while (dtls_poll_event(p->ctx, &ev) == DTLS_OK) {
      if (ev.kind == DTLS_EVENT_CONNECTED) {
        fprintf(stderr, "%s: connected, %s%s%s\n", p->name, cli_suite_name(ev.cipher_suite),
                ev.srtp_profile ? ", " : "",
                ev.srtp_profile ? cli_srtp_name(ev.srtp_profile) : "");
      } else if (ev.kind == DTLS_EVENT_CLOSE_NOTIFY && !done) {
        fprintf(stderr, "%s: close_notify\n", p->name);
        dtls_close(p->ctx); /* answer with ours (RFC 5246 §7.2.1), sent in round 2 */
        srv->closed++;
        done = 1;
      } else if (ev.kind == DTLS_EVENT_FAILED && !done) {
        fprintf(stderr, "%s: failed: %s, alert %u\n", p->name, dtls_result_name(ev.result),
                ev.alert);
        srv->failed++;
        done = 1; /* the alert it queued goes out in round 2 */
      }
    }
    while (!done && dtls_recv(p->ctx, dgram, sizeof dgram, &len) == DTLS_OK) {
      dtls_result r2 = dtls_send(p->ctx, dgram, len);
      if (r2 != DTLS_OK) fprintf(stderr, "%s: echo: %s\n", p->name, dtls_result_name(r2));
    }
  }
  if (done)
    peer_remove(srv, slot);
  else
    peer_schedule(srv, slot);
}

/* One datagram from `from`. */
static void on_datagram(struct server *srv, const uint8_t *d, size_t n,
                        const struct sockaddr_storage *from, socklen_t from_len) {
  uint64_t now = cli_now_ms();
  long slot;
  if (!dtls_is_dtls(d, n)) {
    srv->not_dtls++; /* STUN, RTP, ... would be routed to their own handlers */
    return;
  }
  slot = peer_find(srv, from, from_len);
  if (slot >= 0) {
    srv->peers[slot].last_rx = now;
    /* An error result means the association is dead; its FAILED event is handled below. */
    (void)dtls_feed(srv->peers[slot].ctx, d, n, now);
    peer_service(srv, slot);
    return;
  }
  {
    /* Nothing is allocated for this address unless the verdict is ACCEPT; a partial
       ClientHello (HELD) waits in the door's pool, bounded in bytes for all peers at once. */
    size_t out_len = 0;
    uint32_t verdict = DTLS_VERDICT_DROP;
    dtls_ctx *ctx = NULL;
    dtls_result r = dtls_front_door_admit(srv->door, now, (const uint8_t *)from, from_len, d, n,
                                          door_out, sizeof door_out, &out_len, &verdict);
    if (r == DTLS_ERR_BUFFER_TOO_SMALL) {
      srv->dropped++; /* cannot happen with DTLS_FRONT_DOOR_OUT_MAX; the client retransmits */
      return;
    }
    cli_check(r, "dtls_front_door_admit");
    if (verdict == DTLS_VERDICT_REPLY) {
      srv->replies++;
      if (sendto(srv->fd, door_out, out_len, 0, (const struct sockaddr *)from, from_len) < 0 &&
          errno != EAGAIN && errno != EWOULDBLOCK)
        perror("sendto");
      return;
    }
    if (verdict == DTLS_VERDICT_HELD) return;
    if (verdict != DTLS_VERDICT_ACCEPT) {
      srv->dropped++;
      return;
    }
    if (srv->free_head < 0) {
      srv->full++; /* the client retries; a slot may be free by then */
      return;
    }
    cli_check(dtls_ctx_new(srv->cfg, DTLS_ROLE_SERVER, NULL, now, &ctx), "dtls_ctx_new");
    /* The same address bytes the cookie was computed over. */
    cli_check(dtls_ctx_set_peer_address(ctx, (const uint8_t *)from, from_len), "peer address");
    cli_pin(srv->o, ctx); /* the -fingerprint values */
    slot = peer_add(srv, from, from_len, ctx, now);
    /* The datagram itself, or one the door built holding the ClientHello it reassembled. */
    (void)dtls_feed(ctx, door_out, out_len, now);
    peer_service(srv, slot);
  }
}

/* Runs every due timer: retransmissions, handshake deadlines, idle limits. */
static void expire(struct server *srv) {
  uint64_t now = cli_now_ms();
  /* Each association due now is handled once per pass: the library moves its deadline past
     `now`, and the budget keeps a deadline that did not move from spinning the loop. */
  size_t budget = srv->heap_len;
  while (budget-- > 0 && srv->heap_len > 0 && heap_key(srv, 0) <= now) {
    long slot = (long)srv->heap[0];
    struct peer *p = &srv->peers[slot];
    if (p->last_rx + srv->m->idle_ms <= now) {
      fprintf(stderr, "%s: idle for %lu ms, removed\n", p->name, srv->m->idle_ms);
      srv->idle++;
      peer_remove(srv, slot);
      continue;
    }
    (void)dtls_handle_timeout(p->ctx, now); /* a failure shows up as a FAILED event */
    peer_service(srv, slot);
  }
}

static int bind_socket(const char *addr) {
  struct addrinfo hints, *res = NULL, *ai;
  char host[256];
  const char *port = NULL;
  int rc, fd = -1;
  cli_split_addr(addr, host, sizeof host, &port, 1);
  memset(&hints, 0, sizeof hints);
  hints.ai_family = host[0] ? AF_UNSPEC : AF_INET;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_PASSIVE;
  rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
  if (rc != 0) {
    fprintf(stderr, "%s: %s\n", addr, gai_strerror(rc));
    exit(1);
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
    fprintf(stderr, "%s: cannot bind: %s\n", addr, strerror(errno));
    exit(1);
  }
  cli_nonblock(fd);
  return fd;
}

int main(int argc, char **argv) {
  struct cli_opts o;
  struct multi_opts m = {1024, 60000, 0};
  struct server srv;
  size_t i;
  int rc;

  memset(&o, 0, sizeof o);
  memset(&srv, 0, sizeof srv);
  o.server = 1;
  o.extra = multi_option;
  o.user = &m;
  o.extra_usage =
      "  multi_server takes the server options above and [-max_peers N] (default 1024),\n"
      "  [-idle_timeout MS] (default 60000), [-sessions N] (exit after N associations\n"
      "  ended). It echoes what each client sends and does not read stdin.\n";
  cli_parse(&o, argc, argv);

  srv.o = &o;
  srv.m = &m;
  srv.fd = bind_socket(o.addr);
  srv.cfg = cli_config(&o);
  cli_check(dtls_front_door_new(srv.cfg, 0, &srv.door), "dtls_front_door_new");
  srv.peers = calloc(m.max_peers, sizeof *srv.peers);
  srv.heap = calloc(m.max_peers, sizeof *srv.heap);
  for (srv.n_buckets = 16; srv.n_buckets < 2 * m.max_peers;) srv.n_buckets *= 2;
  srv.buckets = malloc(srv.n_buckets * sizeof *srv.buckets);
  if (srv.peers == NULL || srv.heap == NULL || srv.buckets == NULL) {
    fprintf(stderr, "out of memory\n");
    return 1;
  }
  for (i = 0; i < srv.n_buckets; i++) srv.buckets[i] = -1;
  for (i = 0; i < m.max_peers; i++) srv.peers[i].next = i + 1 < m.max_peers ? (long)i + 1 : -1;
  srv.free_head = 0;
  {
    struct sockaddr_storage local;
    socklen_t len = sizeof local;
    if (getsockname(srv.fd, (struct sockaddr *)&local, &len) == 0)
      cli_print_addr("Listening on", (const struct sockaddr *)&local, len);
  }

  while (m.sessions == 0 || srv.ended < m.sessions || srv.live > 0) {
    struct pollfd pfd;
    int timeout = -1, batch;
    if (srv.heap_len > 0) {
      uint64_t now = cli_now_ms(), d = heap_key(&srv, 0);
      uint64_t wait = d > now ? d - now : 0;
      timeout = wait > INT_MAX ? INT_MAX : (int)wait;
    }
    pfd.fd = srv.fd;
    pfd.events = POLLIN;
    pfd.revents = 0;
    if (poll(&pfd, 1, timeout) < 0 && errno != EINTR) {
      perror("poll");
      break;
    }
    /* A bounded batch, then the timers: a busy socket must not starve retransmissions. */
    for (batch = 0; batch < 256; batch++) {
      struct sockaddr_storage from;
      socklen_t from_len = sizeof from;
      ssize_t n;
      memset(&from, 0, sizeof from); /* stable bytes for the cookie and the table */
      n = recvfrom(srv.fd, dgram, sizeof dgram, 0, (struct sockaddr *)&from, &from_len);
      if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNREFUSED)
          perror("recvfrom");
        break;
      }
      on_datagram(&srv, dgram, (size_t)n, &from, from_len);
    }
    expire(&srv);
  }

  fprintf(stderr,
          "sessions: %lu ended (%lu close_notify, %lu failed, %lu idle); "
          "cookie replies: %lu; dropped: %lu; not DTLS: %lu; table full: %lu\n",
          srv.ended, srv.closed, srv.failed, srv.idle, srv.replies, srv.dropped, srv.not_dtls,
          srv.full);
  rc = srv.failed == 0 ? 0 : 1; /* a peer that goes away silently is no failure of ours */
  while (srv.heap_len > 0) peer_remove(&srv, (long)srv.heap[0]);
  free(srv.peers);
  free(srv.heap);
  free(srv.buckets);
  dtls_front_door_free(srv.door);
  dtls_config_free(srv.cfg);
  close(srv.fd);
  return rc;
}
