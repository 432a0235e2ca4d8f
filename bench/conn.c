/* zkbench sessions on the wire: connecting (paced, retried, source addresses spread over
 * 127.0.0.x), the ConnectRequest/ConnectResponse handshake, reading frames and matching each
 * reply to the head of the session's in-flight FIFO (ZooKeeper answers a connection's requests
 * in order, protocol.md 2.2), and tearing a session down. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "worker_int.h"

/* ---- session end ---- */

void zkbw_drop_bev(struct sess *s)
{
	if (s->bev)
		bufferevent_free(s->bev);
	s->bev = NULL;
	free(s->ring);
	s->ring = NULL;
}

/* The session's connection is gone (error, EOF, timeout, protocol error, or our close). */
void zkbw_sess_dead(struct sess *s, bool by_us)
{
	struct worker *w = s->w;
	uint8_t was = s->st;
	for (uint16_t i = 0; i < s->count; i++) {
		struct pend *p = &s->ring[(s->head + i) % s->cap];
		if (p->kind == PK_CLOSE)
			continue;
		w->res->lost++;
		if (p->kind == PK_TASK || p->kind == PK_FIXUP)
			w->task_finished++;
	}
	w->outstanding -= s->count;
	s->count = 0;
	zkbw_drop_bev(s);
	s->st = SS_DEAD;
	if (was == SS_READY) {
		w->ready_n--;
		if (!by_us)
			w->res->dropped++;
	} else if (was == SS_CLOSING) {
		w->ready_n--;
		w->closing_n--;
	}
	zkbw_check_progress(w);
}

static void connect_phase_done(struct worker *w)
{
	w->res->connect_s = (double)(zkb_now_ns() - w->t_connect0) / NS_PER_S;
	w->res->skipped = (uint64_t)(w->n - w->next_connect);
	w->ph = PH_WAIT_GO;
	if (w->sh->ready_fd < 0) {
		zkb_on_ready(w->o, w->res);
		zkbw_start_run(w);
		return;
	}
	uint64_t msg[3] = {w->res->established, w->res->attempted,
			   (uint64_t)(w->res->connect_s * 1000.0)};
	if (write(w->sh->ready_fd, msg, sizeof(msg)) != (ssize_t)sizeof(msg)) {
		/* The parent is gone; the go pipe will report EOF and we wind down. */
	}
	event_add(w->go_ev, NULL);
}

/* An attempt failed. A quick failure (refused, reset, closed: typically a full accept queue,
 * Apache ZooKeeper's listen backlog is 50) is retried after a pause, up to --connect-retries
 * times; a timeout or an expired answer is final. Final failures in a row end the connect
 * phase early: the server is full. Does not start new attempts (no recursion). */
void zkbw_attempt_failed(struct sess *s, uint64_t *counter, bool retryable)
{
	struct worker *w = s->w;
	zkbw_drop_bev(s);
	w->connecting--;
	if (retryable && s->tries < w->o->connect_retries) {
		s->tries++;
		s->st = SS_IDLE;
		s->t_start_ns = zkb_now_ns() + RETRY_PAUSE_NS * s->tries; /* due time */
		w->retry_q[(w->retry_head + w->retry_n++) % w->n] = s->gidx - w->sh->first;
		w->res->retries++;
		return;
	}
	(*counter)++;
	s->st = SS_DEAD;
	if (++w->consecutive_fail >= w->give_up)
		w->gave_up = true;
}

static void handshake_failed(struct sess *s, uint64_t *counter, bool retryable)
{
	struct worker *w = s->w;
	zkbw_attempt_failed(s, counter, retryable);
	if (w->ph == PH_CONNECT)
		zkbw_start_connects(w);
}

/* ---- receiving ---- */

static void on_connect_response(struct sess *s, const uint8_t *p, size_t len)
{
	struct worker *w = s->w;
	struct zk_rbuf r;
	zk_rbuf_init(&r, p, len, FRAME_BYTES_MAX);
	(void)zk_jr_int(&r);
	int32_t to = zk_jr_int(&r);
	(void)zk_jr_long(&r);
	(void)zk_jr_buffer(&r);
	if (r.err || to <= 0) {
		handshake_failed(s, r.err ? &w->res->fail_handshake : &w->res->fail_expired, false);
		return;
	}
	s->timeout_ms = to < w->o->session_timeout_ms ? to : w->o->session_timeout_ms;
	s->st = SS_READY;
	s->next_xid = 1;
	w->res->established++;
	w->ready_n++;
	w->connecting--;
	w->consecutive_fail = 0;
	if (w->ph == PH_CONNECT)
		zkbw_start_connects(w);
}

/* Returns false if the session was closed while handling the frame. */
static bool on_frame(struct sess *s, const uint8_t *p, size_t len)
{
	struct worker *w = s->w;
	if (s->st == SS_HANDSHAKE) {
		on_connect_response(s, p, len);
		return s->st == SS_READY;
	}
	if (len < 16) {
		zkbw_sess_dead(s, false);
		return false;
	}
	int32_t xid = (int32_t)zk_get_be32(p);
	int32_t err = (int32_t)zk_get_be32(p + 12);
	if (xid == ZK_XID_PING) {
		s->ping_out = false;
		return true;
	}
	if (xid == ZK_XID_NOTIFICATION)
		return true;
	if (s->count == 0 || s->ring[s->head].xid != xid) {
		if (!w->wrote_err) {
			fprintf(stderr, "zkbench: session %d: reply xid %d does not match request xid %d\n",
				s->gidx, xid, s->count ? s->ring[s->head].xid : 0);
			w->wrote_err = true;
		}
		zkbw_sess_dead(s, false);
		return false;
	}
	struct pend pd = s->ring[s->head];
	s->head = (uint16_t)((s->head + 1) % s->cap);
	s->count--;
	w->outstanding--;
	zkbw_on_reply(s, &pd, err, zkb_now_ns());
	if (pd.kind == PK_CLOSE) {
		zkbw_sess_dead(s, true);
		return false;
	}
	zkbw_fill(s);
	zkbw_check_progress(w);
	return s->st != SS_DEAD;
}

static void read_cb(struct bufferevent *bev, void *arg)
{
	struct sess *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	for (;;) {
		size_t have = evbuffer_get_length(in);
		uint8_t hdr[4];
		if (have < 4)
			return;
		evbuffer_copyout(in, hdr, 4);
		uint32_t len = zk_get_be32(hdr);
		if (len > FRAME_BYTES_MAX) {
			if (s->st == SS_HANDSHAKE)
				handshake_failed(s, &s->w->res->fail_handshake, false);
			else
				zkbw_sess_dead(s, false);
			return;
		}
		if (have < 4 + (size_t)len)
			return;
		const uint8_t *p = evbuffer_pullup(in, 4 + (ssize_t)len);
		if (!on_frame(s, p + 4, len) || s->bev != bev)
			return; /* the session (and its buffers) went away */
		evbuffer_drain(in, 4 + (size_t)len);
	}
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct sess *s = arg;
	struct worker *w = s->w;
	if (what & BEV_EVENT_CONNECTED) {
		int one = 1;
		setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		s->st = SS_HANDSHAKE;
		zkb_enc_connect(&w->wb, w->o->session_timeout_ms);
		zkbw_flush_wb(s);
		return;
	}
	if (!(what & (BEV_EVENT_ERROR | BEV_EVENT_EOF)))
		return;
	if (s->st == SS_CONNECTING)
		handshake_failed(s, &w->res->fail_connect, true);
	else if (s->st == SS_HANDSHAKE)
		handshake_failed(s, &w->res->fail_handshake, true);
	else if (s->st == SS_READY || s->st == SS_CLOSING)
		zkbw_sess_dead(s, s->st == SS_CLOSING);
}

/* ---- connecting ---- */

static int open_socket(struct worker *w, struct sess *s, const struct zkb_host *h)
{
	int fd = socket(h->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int src = w->o->per_src > 0 ? s->gidx / w->o->per_src : 0;
	if (h->loopback4 && src > 0) {
		/* Past per_src sessions, use 127.0.0.2, .3, ... so each source address gets its own
		 * ephemeral port range; the port is chosen at connect time, per 4-tuple. */
		int one = 1;
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
		a.sin_addr.s_addr = htonl(0x7f000001u + (uint32_t)(src % 250));
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
			close(fd);
			return -1;
		}
	}
	return fd;
}

/* Returns false if the attempt failed at once (already counted by attempt_failed). */
static bool start_connect(struct worker *w, struct sess *s)
{
	const struct zkb_host *h = &w->o->hosts[s->gidx % w->o->nhosts];
	w->connecting++;
	s->st = SS_CONNECTING;
	s->t_start_ns = zkb_now_ns();
	s->cap = (uint16_t)(w->sh->inflight + 2);
	s->ring = calloc(s->cap, sizeof(*s->ring));
	int fd = s->ring ? open_socket(w, s, h) : -1;
	if (fd >= 0)
		s->bev = bufferevent_socket_new(w->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!s->bev) {
		if (fd >= 0)
			close(fd);
		zkbw_attempt_failed(s, &w->res->fail_connect, false);
		return false;
	}
	bufferevent_setcb(s->bev, read_cb, NULL, event_cb, s);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(s->bev, (struct sockaddr *)&h->addr, (int)h->len) < 0) {
		zkbw_attempt_failed(s, &w->res->fail_connect, errno != EADDRNOTAVAIL);
		return false;
	}
	return true;
}

/* The only place that starts attempts (due retries first, then new sessions) and ends the
 * connect phase, so immediate failures do not recurse. A retry is due in the future, so the
 * loop ends; the tick calls this again to start retries as they fall due. */
void zkbw_start_connects(struct worker *w)
{
	uint64_t now = zkb_now_ns();
	while (w->connecting < w->o->connect_window) {
		struct sess *s;
		if (w->retry_n && w->s[w->retry_q[w->retry_head]].t_start_ns <= now) {
			s = &w->s[w->retry_q[w->retry_head]];
			w->retry_head = (w->retry_head + 1) % w->n;
			w->retry_n--;
		} else if (w->next_connect < w->n && !w->gave_up) {
			s = &w->s[w->next_connect++];
			w->res->attempted++;
		} else {
			break;
		}
		start_connect(w, s);
	}
	if (w->ph == PH_CONNECT && w->connecting == 0 && w->retry_n == 0 &&
	    (w->next_connect == w->n || w->gave_up))
		connect_phase_done(w);
}
