/* Election-port connections (io_elect.h; QuorumCnxManager.java, protocol.md 4.2-4.3).
 *
 * At most one live connection per other server, always the one dialled by the larger sid. We dial
 * a server when we have a notification for it and no connection: to a smaller sid the connection
 * we dial is the live one (after our V1 handshake); to a larger sid we only "poke" it (handshake,
 * flush, close) and it dials back. An inbound connection from a smaller sid is closed and
 * dialled back; one from a larger sid becomes the live connection (replacing an older one).
 * After the handshake both directions carry frames (int length 1..524288 + notification); each
 * received body goes to zk_peer_elect_recv, whose outputs are carried out before the next frame.
 *
 * Per server a one-deep send queue (a newer notification replaces one not yet handed to the
 * socket, and the socket gets the next only once it has sent the previous one) and the last
 * frame sent, re-sent when a connection comes up with nothing newer queued (SendWorker). Failed
 * dials and pokes not answered are retried after 200 ms, doubling to 1 s, while we have
 * something for that server. A bad handshake or frame closes that connection with a WARN line.
 *
 * The address book: every server's host, resolved at start-up with getaddrinfo (blocking, as
 * ZooKeeper's config parsing does), IPv4 preferred as Java's InetAddress; a host that did not
 * resolve is looked up again with evdns, in the background, when we next want to dial it. */
#include "io_elect.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdlib.h>

#include "io_client.h"
#include "io_qnet.h"
#include "jute.h"
#include "notif.h"
#include "peer.h"

#define CNX_TIMEOUT_MS 5000 /* zookeeper.cnxTimeout: connect timeout of election dials */
#define BACKOFF_MIN_MS 200  /* first re-dial after a failure */
#define BACKOFF_MAX_MS 1000
#define PENDING_MAX 64      /* inbound connections still in their handshake */
#define STALE_LIVE_MS 2000  /* a dial from a smaller sid replaces a live connection this old */
#define HELLO_BYTES_MAX (8 + 8 + 4 + ZK_ELECT_ADDR_MAX)
#define FRAMES_PER_READ 64  /* notifications per read callback before yielding */
#define RESOLVE_RETRY_MS 5000

struct esid;

enum econn_state {
	EC_CONNECTING, /* our dial, not connected yet */
	EC_POKE,       /* our dial to a larger sid: handshake written, closing once flushed */
	EC_HELLO,      /* inbound, waiting for the handshake (in el->pending) */
	EC_LIVE,       /* the live connection of c->e */
};

struct econn {
	struct zk_io_elect *el;
	struct bufferevent *bev;
	struct esid *e; /* the remote server; NULL for inbound ones until their handshake */
	enum econn_state state;
	bool poke;      /* a dial to a larger sid */
	uint64_t serial;
	int64_t live_since_ms;
	char remote[ZK_QNET_ADDR_TEXT_MAX];
	struct econn *next; /* el->pending */
};

/* An in-flight evdns lookup; orphaned (and freed by its callback) when the shell goes first. */
struct resolve_req {
	struct esid *e;
	bool orphan;
};

/* Another server of the configuration. */
struct esid {
	struct zk_io_elect *el;
	int64_t sid;
	const struct zk_cfg_server *srv; /* in el->cfg */
	struct sockaddr_storage addr;    /* its host, port 0; addr_len 0 = not resolved */
	socklen_t addr_len;
	struct resolve_req *resolving;
	int64_t resolve_at_ms;
	struct econn *live, *dial;
	struct event *retry_ev;
	int backoff_ms;
	bool warned; /* a failed dial was logged at WARN since the last live connection */
	struct zk_wbuf queued, last;
	bool has_queued, has_last;
};

struct zk_io_elect {
	struct zk_io *io;
	struct zk_peer *peer;
	const struct zk_config *cfg;
	int64_t myid;
	struct zk_logger log;
	struct event_base *base;
	struct evdns_base *dns; /* created on the first lookup getaddrinfo could not answer */
	struct evconnlistener *lst;
	struct sockaddr_storage self; /* listen address, port 0 */
	socklen_t self_len;
	struct esid *sids;
	int n_sids;
	struct econn *pending;
	int n_pending;
	uint64_t next_serial;
	char my_eaddr[ZK_QNET_ADDR_TEXT_MAX]; /* our election "host:port", sent in every handshake */
	int handshake_timeout_ms;
};

static struct esid *find_sid(struct zk_io_elect *el, int64_t sid)
{
	for (int i = 0; i < el->n_sids; i++)
		if (el->sids[i].sid == sid)
			return &el->sids[i];
	return NULL;
}

/* ---- Addresses ---- */

static int pick_addr(const struct evutil_addrinfo *res, struct sockaddr_storage *ss, socklen_t *len)
{
	const struct evutil_addrinfo *best = NULL;
	for (const struct evutil_addrinfo *a = res; a; a = a->ai_next) {
		if ((a->ai_family != AF_INET && a->ai_family != AF_INET6) || a->ai_addrlen > sizeof(*ss))
			continue;
		if (!best || (a->ai_family == AF_INET && best->ai_family != AF_INET))
			best = a;
	}
	if (!best)
		return -1;
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, best->ai_addr, best->ai_addrlen);
	*len = (socklen_t)best->ai_addrlen;
	return 0;
}

static void schedule_retry(struct esid *e);

static void resolve_cb(int result, struct evutil_addrinfo *res, void *arg)
{
	struct resolve_req *r = arg;
	if (r->orphan) {
		if (res)
			evutil_freeaddrinfo(res);
		free(r);
		return;
	}
	struct esid *e = r->e;
	struct zk_io_elect *el = e->el;
	e->resolving = NULL;
	free(r);
	if (result == 0 && pick_addr(res, &e->addr, &e->addr_len) == 0)
		zk_logf(&el->log, ZK_LOG_INFO, "resolved server sid=%" PRId64 " host=%s", e->sid, e->srv->host);
	else
		zk_logf(&el->log, ZK_LOG_WARN, "cannot resolve server sid=%" PRId64 " host=%s: %s", e->sid, e->srv->host,
			result ? evutil_gai_strerror(result) : "no IPv4 or IPv6 address");
	if (res)
		evutil_freeaddrinfo(res);
	schedule_retry(e);
}

/* Whether e's host has an address; if not, starts a lookup (at most every RESOLVE_RETRY_MS). */
static bool ensure_resolved(struct esid *e)
{
	struct zk_io_elect *el = e->el;
	if (e->addr_len || e->resolving)
		return e->addr_len != 0;
	int64_t t = zk_qnet_now().mono_ms;
	if (e->resolve_at_ms && t - e->resolve_at_ms < RESOLVE_RETRY_MS)
		return false;
	e->resolve_at_ms = t;
	if (!el->dns && !(el->dns = evdns_base_new(el->base, EVDNS_BASE_INITIALIZE_NAMESERVERS))) {
		zk_logf(&el->log, ZK_LOG_WARN, "cannot start the DNS resolver: server sid=%" PRId64 " host=%s stays unresolved",
			e->sid, e->srv->host);
		return false;
	}
	struct resolve_req *r = calloc(1, sizeof(*r));
	if (!r)
		return false;
	r->e = e;
	e->resolving = r;
	struct evutil_addrinfo hints;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	evdns_getaddrinfo(el->dns, e->srv->host, NULL, &hints, resolve_cb, r); /* may call back at once */
	return e->addr_len != 0;
}

/* ---- Election connections ---- */

static void econn_read_cb(struct bufferevent *bev, void *arg);
static void econn_write_cb(struct bufferevent *bev, void *arg);
static void econn_event_cb(struct bufferevent *bev, short what, void *arg);

static struct econn *econn_new(struct zk_io_elect *el, struct bufferevent *bev, enum econn_state st, struct esid *e,
                               const char *remote)
{
	struct econn *c = calloc(1, sizeof(*c));
	if (!c) {
		zk_logf(&el->log, ZK_LOG_ERROR, "out of memory for an election connection remote=%s", remote);
		bufferevent_free(bev);
		return NULL;
	}
	c->el = el;
	c->bev = bev;
	c->e = e;
	c->state = st;
	c->serial = ++el->next_serial;
	snprintf(c->remote, sizeof(c->remote), "%s", remote);
	bufferevent_setcb(bev, econn_read_cb, econn_write_cb, econn_event_cb, c);
	return c;
}

static void pending_unlink(struct econn *c)
{
	struct zk_io_elect *el = c->el;
	for (struct econn **pp = &el->pending; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			el->n_pending--;
			break;
		}
	}
	c->next = NULL;
}

static void econn_free(struct econn *c)
{
	if (c->state == EC_HELLO)
		pending_unlink(c);
	if (c->e && c->e->live == c)
		c->e->live = NULL;
	if (c->e && c->e->dial == c)
		c->e->dial = NULL;
	bufferevent_free(c->bev);
	free(c);
}

/* Hands the queued notification to the live connection once it has sent the previous one, so a
 * newer notification can still replace a queued one while the socket is slow. */
static void pump(struct esid *e)
{
	if (!e->live || !e->has_queued || evbuffer_get_length(bufferevent_get_output(e->live->bev)) > 0)
		return;
	if (bufferevent_write(e->live->bev, e->queued.p, e->queued.len)) {
		zk_logf(&e->el->log, ZK_LOG_ERROR, "cannot queue a notification sid=%" PRId64 ": out of memory", e->sid);
		return;
	}
	struct zk_wbuf t = e->last;
	e->last = e->queued;
	e->queued = t;
	zk_wbuf_reset(&e->queued);
	e->has_last = true;
	e->has_queued = false;
}

static void schedule_retry(struct esid *e)
{
	if (e->live || e->dial || evtimer_pending(e->retry_ev, NULL))
		return;
	if (!e->has_queued && !e->has_last)
		return;
	e->backoff_ms = e->backoff_ms ? e->backoff_ms * 2 : BACKOFF_MIN_MS;
	if (e->backoff_ms > BACKOFF_MAX_MS)
		e->backoff_ms = BACKOFF_MAX_MS;
	struct timeval tv = zk_qnet_tv(e->backoff_ms);
	evtimer_add(e->retry_ev, &tv);
}

static void elect_dial(struct esid *e)
{
	struct zk_io_elect *el = e->el;
	if (e->live || e->dial)
		return;
	if (!ensure_resolved(e)) {
		schedule_retry(e);
		return;
	}
	struct sockaddr_storage ss = e->addr;
	zk_qnet_set_port(&ss, e->srv->election_port);
	char text[ZK_QNET_ADDR_TEXT_MAX];
	zk_qnet_host_port(text, sizeof(text), e->srv->host, e->srv->election_port);
	struct bufferevent *bev = bufferevent_socket_new(el->base, -1, BEV_OPT_CLOSE_ON_FREE);
	struct econn *c = bev ? econn_new(el, bev, EC_CONNECTING, e, text) : NULL;
	if (!c) {
		schedule_retry(e);
		return;
	}
	c->poke = e->sid > el->myid;
	e->dial = c;
	struct timeval tv = zk_qnet_tv(CNX_TIMEOUT_MS); /* the write timeout bounds the connect */
	bufferevent_set_timeouts(bev, NULL, &tv);
	if (bufferevent_socket_connect(bev, (struct sockaddr *)&ss, (int)e->addr_len) < 0) {
		zk_logf(&el->log, ZK_LOG_WARN, "cannot open election connection sid=%" PRId64 " addr=%s: %s", e->sid, text,
			strerror(errno));
		econn_free(c);
		schedule_retry(e);
	}
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	elect_dial(arg);
}

static void go_live(struct econn *c, const char *dir)
{
	struct esid *e = c->e;
	if (e->live && e->live != c) {
		zk_logf(&c->el->log, ZK_LOG_INFO, "election connection sid=%" PRId64 " replaced by a newer one", e->sid);
		econn_free(e->live);
	}
	e->live = c;
	c->state = EC_LIVE;
	c->live_since_ms = zk_qnet_now().mono_ms;
	e->backoff_ms = 0;
	e->warned = false;
	evtimer_del(e->retry_ev);
	bufferevent_set_timeouts(c->bev, NULL, NULL); /* reads block indefinitely after the handshake */
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	zk_logf(&c->el->log, ZK_LOG_INFO, "election connection up sid=%" PRId64 " dir=%s remote=%s", e->sid, dir, c->remote);
	/* As SendWorker.run: the last notification again, unless a newer one is waiting. */
	if (!e->has_queued && e->has_last)
		bufferevent_write(c->bev, e->last.p, e->last.len);
	pump(e);
}

static void on_connected(struct econn *c)
{
	struct zk_io_elect *el = c->el;
	zk_qnet_nodelay(bufferevent_getfd(c->bev));
	struct zk_wbuf w;
	zk_wbuf_init(&w);
	zk_elect_hello_write(&w, el->myid, el->my_eaddr);
	int rc = w.err ? -1 : bufferevent_write(c->bev, w.p, w.len);
	zk_wbuf_fini(&w);
	struct esid *e = c->e;
	if (rc) {
		zk_logf(&el->log, ZK_LOG_ERROR, "cannot write the election handshake sid=%" PRId64 ": out of memory", e->sid);
		econn_free(c);
		schedule_retry(e);
		return;
	}
	if (c->poke) {
		/* The larger sid keeps the connection it dials: tell it we want one, then hang up. */
		c->state = EC_POKE;
		bufferevent_disable(c->bev, EV_READ);
		zk_logf(&el->log, ZK_LOG_DEBUG, "election handshake sent to larger sid=%" PRId64 ": waiting for it to dial",
			e->sid);
		return;
	}
	e->dial = NULL;
	go_live(c, "out");
}

static void dial_failed(struct econn *c, short what)
{
	struct esid *e = c->e;
	zk_logf(&c->el->log, e->warned ? ZK_LOG_DEBUG : ZK_LOG_WARN,
		"cannot open election connection sid=%" PRId64 " addr=%s: %s (retrying)", e->sid, c->remote,
		zk_qnet_event_what(what));
	e->warned = true;
	econn_free(c);
	schedule_retry(e);
}

/* Reads notification frames of a live connection and hands them to the peer. */
static void read_frames(struct econn *c)
{
	struct zk_io_elect *el = c->el;
	struct esid *e = c->e;
	uint64_t serial = c->serial;
	struct evbuffer *in = bufferevent_get_input(c->bev);
	for (int i = 0; i < FRAMES_PER_READ; i++) {
		size_t have = evbuffer_get_length(in);
		uint8_t hdr[4];
		if (have < 4)
			return;
		evbuffer_copyout(in, hdr, 4);
		uint32_t len = zk_get_be32(hdr);
		if (len < 1 || len > ZK_ELECT_FRAME_MAX) {
			zk_logf(&el->log, ZK_LOG_WARN, "closing election connection sid=%" PRId64 " remote=%s: bad frame length=%d",
				e->sid, c->remote, (int32_t)len);
			econn_free(c);
			schedule_retry(e);
			return;
		}
		if (have < 4 + (size_t)len)
			return;
		uint8_t *p = evbuffer_pullup(in, 4 + (ssize_t)len);
		zk_peer_elect_recv(el->peer, zk_qnet_now(), e->sid, p + 4, len, zk_io_out(el->io));
		evbuffer_drain(in, 4 + (size_t)len);
		zk_io_apply(el->io);
		if (!e->live || e->live->serial != serial)
			return; /* an output closed it */
	}
	bufferevent_trigger(c->bev, EV_READ, BEV_TRIG_DEFER_CALLBACKS);
}

/* The handshake of an inbound connection: which server it is, and who keeps the connection. */
static void on_hello(struct econn *c, const struct zk_elect_hello *h)
{
	struct zk_io_elect *el = c->el;
	struct esid *e = find_sid(el, h->sid);
	if (h->sid == el->myid || !e) {
		zk_logf(&el->log, ZK_LOG_WARN, "closing election connection remote=%s sid=%" PRId64 " addr=%s: %s", c->remote,
			h->sid, h->addr, h->sid == el->myid ? "same sid as ours (misconfiguration)" : "sid not in the configuration");
		econn_free(c);
		return;
	}
	if (h->sid < el->myid) {
		zk_logf(&el->log, ZK_LOG_DEBUG, "election connection from smaller sid=%" PRId64 ": closing it and dialling back",
			e->sid);
		econn_free(c);
		/* It dials only when it has no connection to us: ours is likely dead (host crash). */
		if (e->live && zk_qnet_now().mono_ms - e->live->live_since_ms > STALE_LIVE_MS) {
			zk_logf(&el->log, ZK_LOG_INFO, "election connection sid=%" PRId64 " dropped: the remote dialled again",
				e->sid);
			econn_free(e->live);
		}
		if (!e->live && !e->dial) {
			evtimer_del(e->retry_ev);
			elect_dial(e);
		}
		return;
	}
	pending_unlink(c);
	c->e = e;
	go_live(c, "in");
	read_frames(c);
}

static void read_hello(struct econn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	size_t have = evbuffer_get_length(in);
	size_t n = have < HELLO_BYTES_MAX ? have : HELLO_BYTES_MAX;
	const uint8_t *p = evbuffer_pullup(in, (ssize_t)n);
	static struct zk_elect_hello h; /* 2 KiB; the loop is single-threaded */
	int rc = zk_elect_hello_decode(p, n, &h);
	if (rc == 0 && n < HELLO_BYTES_MAX)
		return; /* need more */
	if (rc <= 0) {
		char sample[80];
		zk_log_sanitize(p, n < 16 ? n : 16, sample, sizeof(sample));
		zk_logf(&c->el->log, ZK_LOG_WARN, "closing election connection remote=%s: bad handshake rc=%d sample=\"%s\"",
			c->remote, rc, sample);
		econn_free(c);
		return;
	}
	evbuffer_drain(in, (size_t)rc);
	on_hello(c, &h);
}

static void econn_read_cb(struct bufferevent *bev, void *arg)
{
	struct econn *c = arg;
	if (c->state == EC_HELLO)
		read_hello(c);
	else if (c->state == EC_LIVE)
		read_frames(c);
	else
		evbuffer_drain(bufferevent_get_input(bev), evbuffer_get_length(bufferevent_get_input(bev)));
}

static void econn_write_cb(struct bufferevent *bev, void *arg)
{
	struct econn *c = arg;
	if (evbuffer_get_length(bufferevent_get_output(bev)) > 0)
		return;
	struct esid *e = c->e;
	if (c->state == EC_POKE) {
		econn_free(c);
		schedule_retry(e); /* if it does not dial back in time, poke again */
	} else if (c->state == EC_LIVE) {
		pump(e);
	}
}

static void econn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	struct econn *c = arg;
	struct zk_io_elect *el = c->el;
	struct esid *e = c->e;
	if (what & BEV_EVENT_CONNECTED) {
		on_connected(c);
		return;
	}
	switch (c->state) {
	case EC_CONNECTING:
		dial_failed(c, what);
		return;
	case EC_POKE:
		econn_free(c);
		schedule_retry(e);
		return;
	case EC_HELLO:
		zk_logf(&el->log, ZK_LOG_WARN, "closing election connection remote=%s before its handshake: %s", c->remote,
			zk_qnet_event_what(what));
		econn_free(c);
		return;
	case EC_LIVE:
		zk_logf(&el->log, ZK_LOG_INFO, "election connection down sid=%" PRId64 " remote=%s: %s", e->sid, c->remote,
			zk_qnet_event_what(what));
		econn_free(c);
		schedule_retry(e);
		return;
	}
}

static void elect_accept_cb(struct evconnlistener *lst, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
	(void)lst;
	(void)salen;
	struct zk_io_elect *el = arg;
	char text[ZK_QNET_ADDR_TEXT_MAX];
	zk_qnet_sa_text(sa, text, sizeof(text));
	if (el->n_pending >= PENDING_MAX) {
		zk_logf(&el->log, ZK_LOG_WARN, "closing election connection remote=%s: %d handshakes already pending", text,
			el->n_pending);
		evutil_closesocket(fd);
		return;
	}
	zk_qnet_nodelay(fd);
	struct bufferevent *bev = bufferevent_socket_new(el->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!bev) {
		evutil_closesocket(fd);
		return;
	}
	struct econn *c = econn_new(el, bev, EC_HELLO, NULL, text);
	if (!c)
		return;
	c->next = el->pending;
	el->pending = c;
	el->n_pending++;
	struct timeval tv = zk_qnet_tv(el->handshake_timeout_ms);
	bufferevent_set_timeouts(bev, &tv, NULL);
	bufferevent_enable(bev, EV_READ);
}

void zk_io_elect_send(struct zk_io_elect *el, uint64_t id, const uint8_t *data, size_t len)
{
	int64_t sid = (int64_t)(id & ~ZK_LINK_ELECT_BASE);
	struct esid *e = find_sid(el, sid);
	if (!e) {
		zk_logf(&el->log, ZK_LOG_DEBUG, "notification for sid=%" PRId64 " dropped: not another server", sid);
		return;
	}
	zk_wbuf_reset(&e->queued);
	zk_jw_raw(&e->queued, data, len);
	e->has_queued = !e->queued.err;
	if (e->queued.err)
		zk_logf(&el->log, ZK_LOG_ERROR, "notification for sid=%" PRId64 " dropped: out of memory", sid);
	if (e->live)
		pump(e);
	else if (!e->dial && !evtimer_pending(e->retry_ev, NULL))
		elect_dial(e);
}

void zk_io_elect_close(struct zk_io_elect *el, uint64_t id, enum zk_close_reason reason)
{
	struct esid *e = find_sid(el, (int64_t)(id & ~ZK_LINK_ELECT_BASE));
	if (!e || !e->live)
		return;
	zk_logf(&el->log, ZK_LOG_INFO, "closing election connection sid=%" PRId64 " reason=%s", e->sid,
		zk_close_reason_str(reason));
	econn_free(e->live);
	schedule_retry(e);
}

/* ---- Set-up and the address book ---- */

static int pick_sync(const char *host, struct sockaddr_storage *ss, socklen_t *len, int *gai)
{
	struct addrinfo hints, *res = NULL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	*gai = getaddrinfo(host, NULL, &hints, &res);
	if (*gai)
		return -1;
	int rc = pick_addr(res, ss, len);
	freeaddrinfo(res);
	return rc;
}

static int init_sids(struct zk_io_elect *el)
{
	el->sids = calloc((size_t)el->cfg->n_servers, sizeof(*el->sids));
	if (!el->sids)
		return -1;
	for (int i = 0; i < el->cfg->n_servers; i++) {
		const struct zk_cfg_server *s = &el->cfg->servers[i];
		if (s->id == el->myid)
			continue;
		struct esid *e = &el->sids[el->n_sids++];
		e->el = el;
		e->sid = s->id;
		e->srv = s;
		zk_wbuf_init(&e->queued);
		zk_wbuf_init(&e->last);
		e->retry_ev = evtimer_new(el->base, retry_cb, e);
		if (!e->retry_ev)
			return -1;
		int gai;
		if (pick_sync(s->host, &e->addr, &e->addr_len, &gai)) {
			e->addr_len = 0;
			zk_logf(&el->log, ZK_LOG_WARN, "cannot resolve server sid=%" PRId64 " host=%s: %s (retrying when needed)",
				s->id, s->host, gai ? gai_strerror(gai) : "no IPv4 or IPv6 address");
		}
	}
	return 0;
}

/* Our own host, and the address to listen on. */
static int init_self(struct zk_io_elect *el, const struct zk_cfg_server *me, char *err, size_t err_len)
{
	int gai = 0;
	zk_qnet_host_port(el->my_eaddr, sizeof(el->my_eaddr), me->host, me->election_port);
	if (pick_sync(me->host, &el->self, &el->self_len, &gai)) {
		snprintf(err, err_len, "cannot resolve %s (server.%" PRId64 "): %s", me->host, el->myid,
			 gai ? gai_strerror(gai) : "no IPv4 or IPv6 address");
		return -1;
	}
	if (el->cfg->quorum_listen_on_all_ips) {
		sa_family_t fam = el->self.ss_family;
		memset(&el->self, 0, sizeof(el->self));
		el->self.ss_family = fam; /* the any address of the same family */
	}
	struct sockaddr_storage ss = el->self;
	zk_qnet_set_port(&ss, me->election_port);
	el->lst = evconnlistener_new_bind(el->base, elect_accept_cb, el, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, -1,
					  (struct sockaddr *)&ss, (int)el->self_len);
	if (!el->lst) {
		char text[ZK_QNET_ADDR_TEXT_MAX];
		zk_qnet_sa_text((struct sockaddr *)&ss, text, sizeof(text));
		snprintf(err, err_len, "cannot listen on %s (election port of server.%" PRId64 "): %s", text, el->myid,
			 strerror(errno));
		return -1;
	}
	return 0;
}

struct zk_io_elect *zk_io_elect_new(const struct zk_config *cfg, int64_t myid, struct zk_io *io, struct zk_peer *peer,
                                    const struct zk_logger *log, char *err, size_t err_len)
{
	struct zk_io_elect *el = calloc(1, sizeof(*el));
	if (!el) {
		snprintf(err, err_len, "out of memory");
		return NULL;
	}
	el->io = io;
	el->peer = peer;
	el->cfg = cfg;
	el->myid = myid;
	el->log = *log;
	el->base = zk_io_base(io);
	/* The handshake read timeout: zookeeper.quorumCnxnTimeoutMs, by default tickTime * syncLimit. */
	int64_t hs = (int64_t)cfg->tick_time_ms * cfg->sync_limit;
	el->handshake_timeout_ms = hs > 0 && hs < INT32_MAX ? (int)hs : CNX_TIMEOUT_MS;
	const struct zk_cfg_server *me = NULL;
	for (int i = 0; i < cfg->n_servers; i++)
		if (cfg->servers[i].id == myid)
			me = &cfg->servers[i];
	if (!me) {
		snprintf(err, err_len, "myid %" PRId64 " has no server.%" PRId64 " line", myid, myid);
		goto fail;
	}
	if (init_self(el, me, err, err_len))
		goto fail;
	if (init_sids(el)) {
		snprintf(err, err_len, "out of memory");
		goto fail;
	}
	return el;
fail:
	zk_io_elect_free(el);
	return NULL;
}

void zk_io_elect_free(struct zk_io_elect *el)
{
	if (!el)
		return;
	if (el->lst)
		evconnlistener_free(el->lst);
	while (el->pending)
		econn_free(el->pending);
	for (int i = 0; i < el->n_sids; i++) {
		struct esid *e = &el->sids[i];
		if (e->live)
			econn_free(e->live);
		if (e->dial)
			econn_free(e->dial);
		if (e->retry_ev)
			event_free(e->retry_ev);
		if (e->resolving)
			e->resolving->orphan = true; /* its callback frees it, if it ever runs */
		zk_wbuf_fini(&e->queued);
		zk_wbuf_fini(&e->last);
	}
	if (el->dns)
		evdns_base_free(el->dns, 0);
	free(el->sids);
	free(el);
}

void zk_io_elect_self_addr(const struct zk_io_elect *el, struct sockaddr_storage *ss, socklen_t *len)
{
	*ss = el->self;
	*len = el->self_len;
}

bool zk_io_elect_addr(struct zk_io_elect *el, int64_t sid, struct sockaddr_storage *ss, socklen_t *len)
{
	struct esid *e = find_sid(el, sid);
	if (!e || !ensure_resolved(e))
		return false;
	*ss = e->addr;
	*len = e->addr_len;
	return true;
}
