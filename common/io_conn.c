/* Client connections on one loop: framing, the four-letter-word sniff, output backpressure and
 * closing. Loop 0's connections hand frames to the core directly; other loops batch them into a
 * queue for the core thread (io_loop.h). Backpressure: a connection whose output passes
 * ZK_OUT_SOFT_BYTES stops being read until it drains to half; past ZK_OUT_HARD_BYTES (a client
 * that stopped reading while watches fire) it is closed. */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io_loop.h"
#include "log.h"
#include "out.h"
#include "server.h"

#define ZK_OUT_SOFT_BYTES (4u << 20)
#define ZK_OUT_HARD_BYTES (64u << 20)
#define ZK_FRAMES_PER_READ 256
#define ZK_READ_CHUNK_BYTES (256u << 10)

void io_mq_init(struct io_mq *q)
{
	pthread_mutex_init(&q->mu, NULL);
	zk_wbuf_init(&q->buf);
}

void io_mq_fini(struct io_mq *q)
{
	pthread_mutex_destroy(&q->mu);
	zk_wbuf_fini(&q->buf);
}

bool io_mq_push(struct io_mq *q, const struct zk_wbuf *batch)
{
	pthread_mutex_lock(&q->mu);
	bool was_empty = q->buf.len == 0;
	zk_jw_raw(&q->buf, batch->p, batch->len);
	pthread_mutex_unlock(&q->mu);
	return was_empty;
}

void io_mq_take(struct io_mq *q, struct zk_wbuf *out)
{
	pthread_mutex_lock(&q->mu);
	struct zk_wbuf t = q->buf;
	q->buf = *out;
	*out = t;
	pthread_mutex_unlock(&q->mu);
}

void io_rec_put(struct zk_wbuf *w, enum io_rec_kind kind, uint64_t id, const void *p, size_t len)
{
	zk_jw_byte(w, (uint8_t)kind);
	zk_jw_long(w, (int64_t)id);
	zk_jw_int(w, (int32_t)len);
	zk_jw_raw(w, p, len);
}

bool io_rec_next(const struct zk_wbuf *w, size_t *off, uint8_t *kind, uint64_t *id, const uint8_t **p,
                 uint32_t *len)
{
	if (*off + 13 > w->len)
		return false;
	const uint8_t *r = w->p + *off;
	*kind = r[0];
	*id = zk_get_be64(r + 1);
	*len = zk_get_be32(r + 9);
	*p = r + 13;
	*off += 13 + *len;
	return true;
}

static struct io_conn *find(struct io_loop *l, uint64_t id)
{
	struct io_conn *ic;
	HASH_FIND(hh, l->conns, &id, sizeof(id), ic);
	return ic;
}

static void conn_free(struct io_conn *ic, bool tell_core)
{
	struct io_loop *l = ic->loop;
	uint64_t id = ic->id;
	HASH_DEL(l->conns, ic);
	if (ic->bev)
		bufferevent_free(ic->bev);
	free(ic);
	if (!tell_core)
		return;
	if (l->idx == 0) {
		io_core_closed(l->io, id);
	} else {
		io_rec_put(&l->inbatch, IO_REC_CLOSED, id, NULL, 0);
		io_core_post(l->io, l);
	}
}

static void update_reading(struct io_conn *ic)
{
	if (ic->closing || ic->paused_output || ic->loop->paused_global)
		bufferevent_disable(ic->bev, EV_READ);
	else
		bufferevent_enable(ic->bev, EV_READ);
}

void io_loop_set_paused(struct io_loop *l, bool paused)
{
	l->paused_global = paused;
	struct io_conn *ic, *t;
	HASH_ITER(hh, l->conns, ic, t) update_reading(ic);
}

static void close_now_or_later(struct io_conn *ic)
{
	/* A peer that never reads its last replies must not pin the connection forever. */
	static const struct timeval flush_timeout = {10, 0};
	ic->closing = true;
	update_reading(ic);
	bufferevent_set_timeouts(ic->bev, NULL, &flush_timeout);
	if (evbuffer_get_length(bufferevent_get_output(ic->bev)) == 0)
		conn_free(ic, true);
	/* else: write_cb frees it once the output has drained */
}

void io_conn_send(struct io_loop *l, uint64_t id, const uint8_t *p, size_t len)
{
	struct io_conn *ic = find(l, id);
	if (!ic || ic->closing)
		return;
	struct evbuffer *ob = bufferevent_get_output(ic->bev);
	evbuffer_add(ob, p, len);
	size_t pending = evbuffer_get_length(ob);
	if (pending > ZK_OUT_HARD_BYTES) {
		zk_logf(io_log(l->io), ZK_LOG_WARN, "closing connection conn=%llu remote=%s:%d reason=%s pending_bytes=%zu",
			(unsigned long long)ic->id, ic->ip, ic->port, zk_close_reason_str(ZK_CLOSE_OUTPUT_FULL), pending);
		evbuffer_drain(ob, pending);
		close_now_or_later(ic);
	} else if (pending > ZK_OUT_SOFT_BYTES && !ic->paused_output) {
		ic->paused_output = true;
		update_reading(ic);
	}
}

void io_conn_close(struct io_loop *l, uint64_t id)
{
	struct io_conn *ic = find(l, id);
	if (ic && !ic->closing)
		close_now_or_later(ic);
	else if (!ic && l->idx == 0)
		io_core_closed(l->io, id); /* refused at accept, or already gone: the core forgets it */
}

static void on_fatal_frame(struct io_conn *ic, int32_t len, const uint8_t *first)
{
	char sample[64];
	zk_log_sanitize(first, 4, sample, sizeof(sample));
	zk_logf(io_log(ic->loop->io), ZK_LOG_WARN,
		"closing connection conn=%llu remote=%s:%d reason=%s len=%d sample=\"%s\"", (unsigned long long)ic->id,
		ic->ip, ic->port, zk_close_reason_str(ZK_CLOSE_BAD_LENGTH), len, sample);
	evbuffer_drain(bufferevent_get_input(ic->bev), evbuffer_get_length(bufferevent_get_input(ic->bev)));
	close_now_or_later(ic);
}

static void deliver_fourlw(struct io_conn *ic, const uint8_t hdr[4])
{
	struct io_loop *l = ic->loop;
	if (l->idx == 0) {
		io_core_fourlw(l->io, ic->id, hdr);
		io_core_apply(l->io);
	} else
		io_rec_put(&l->inbatch, IO_REC_FOURLW, ic->id, hdr, 4);
}

static void deliver_frame(struct io_conn *ic, const uint8_t *p, size_t len)
{
	struct io_loop *l = ic->loop;
	if (l->idx == 0)
		io_core_frame(l->io, ic->id, p, len);
	else
		io_rec_put(&l->inbatch, IO_REC_FRAME, ic->id, p, len);
}

/* Returns false when the connection is gone or closing (stop reading it). */
static bool read_frames(struct io_loop *l, uint64_t id, struct evbuffer *in)
{
	for (int frames = 0; frames < ZK_FRAMES_PER_READ; frames++) {
		struct io_conn *ic = find(l, id); /* loop 0's core calls may have closed it */
		if (!ic || ic->closing)
			return false;
		size_t have = evbuffer_get_length(in);
		if (have < 4)
			return true;
		uint8_t hdr[4];
		evbuffer_copyout(in, hdr, 4);
		if (!ic->seen_bytes) {
			ic->seen_bytes = true;
			if (zk_server_is_fourlw(hdr)) {
				evbuffer_drain(in, have);
				deliver_fourlw(ic, hdr);
				return false;
			}
		}
		int32_t len = (int32_t)zk_get_be32(hdr);
		if (len < 0 || (int64_t)len > io_cfg(l->io)->jute_maxbuffer) {
			on_fatal_frame(ic, len, hdr);
			return false;
		}
		if (have < 4 + (size_t)len)
			return true;
		uint8_t *p = evbuffer_pullup(in, 4 + (ssize_t)len);
		deliver_frame(ic, p + 4, (size_t)len);
		evbuffer_drain(in, 4 + (size_t)len);
		/* Loop 0 carries out the core's effects now: they may close this very connection. */
		if (l->idx == 0)
			io_core_apply(l->io);
	}
	/* Fairness: leave the rest for the next pass so one busy client cannot starve others. */
	struct io_conn *ic = find(l, id);
	if (ic && !ic->closing)
		bufferevent_trigger(ic->bev, EV_READ, BEV_TRIG_DEFER_CALLBACKS);
	return true;
}

static void read_cb(struct bufferevent *bev, void *arg)
{
	struct io_conn *ic = arg;
	struct io_loop *l = ic->loop;
	read_frames(l, ic->id, bufferevent_get_input(bev));
	if (l->idx != 0 && l->inbatch.len)
		io_core_post(l->io, l);
}

static void write_cb(struct bufferevent *bev, void *arg)
{
	struct io_conn *ic = arg;
	size_t pending = evbuffer_get_length(bufferevent_get_output(bev));
	if (ic->closing && pending == 0) {
		conn_free(ic, true);
		return;
	}
	if (ic->paused_output && pending <= ZK_OUT_SOFT_BYTES / 2) {
		ic->paused_output = false;
		update_reading(ic);
	}
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	struct io_conn *ic = arg;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
		zk_logf(io_log(ic->loop->io), ZK_LOG_DEBUG, "connection closed by peer conn=%llu remote=%s:%d%s",
			(unsigned long long)ic->id, ic->ip, ic->port, (what & BEV_EVENT_ERROR) ? " (error)" : "");
		conn_free(ic, true);
	}
}

void io_conn_adopt(struct io_loop *l, int fd, uint64_t id, const char *ip, int port)
{
	struct io_conn *ic = calloc(1, sizeof(*ic));
	struct bufferevent *bev = ic ? bufferevent_socket_new(l->base, fd, BEV_OPT_CLOSE_ON_FREE) : NULL;
	if (!bev) {
		free(ic);
		close(fd);
		if (l->idx == 0) {
			io_core_closed(l->io, id);
		} else {
			io_rec_put(&l->inbatch, IO_REC_CLOSED, id, NULL, 0);
			io_core_post(l->io, l);
		}
		return;
	}
	ic->id = id;
	ic->bev = bev;
	ic->loop = l;
	snprintf(ic->ip, sizeof(ic->ip), "%s", ip);
	ic->port = port;
	HASH_ADD(hh, l->conns, id, sizeof(ic->id), ic);
	bufferevent_setcb(bev, read_cb, write_cb, event_cb, ic);
	/* libevent reads 4 KiB per pass by default: a client pipelining 4 KiB writes would then get
	 * one txn per loop pass and one fsync each, which defeats group commit. */
	bufferevent_set_max_single_read(bev, ZK_READ_CHUNK_BYTES);
	bufferevent_set_max_single_write(bev, ZK_READ_CHUNK_BYTES);
	/* On the core's loop, connections run before the group-commit flush (priority 1): every
	 * request readable in this pass joins the same fsync. libevent's default would be 1 too. */
	if (l->idx == 0)
		bufferevent_priority_set(bev, 0);
	bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
	update_reading(ic);
}

void io_loop_outq_cb(int fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct io_loop *l = arg;
	zk_wbuf_reset(&l->swap);
	io_mq_take(&l->outq, &l->swap);
	size_t off = 0;
	uint8_t kind;
	uint64_t id;
	const uint8_t *p;
	uint32_t len;
	while (io_rec_next(&l->swap, &off, &kind, &id, &p, &len)) {
		switch (kind) {
		case IO_REC_SEND:
			io_conn_send(l, id, p, len);
			break;
		case IO_REC_CLOSE:
			io_conn_close(l, id);
			break;
		case IO_REC_ACCEPT: {
			if (len < 8)
				break;
			char ip[64];
			size_t iplen = len - 8 < sizeof(ip) - 1 ? len - 8 : sizeof(ip) - 1;
			memcpy(ip, p + 8, iplen);
			ip[iplen] = 0;
			io_conn_adopt(l, (int)(int32_t)zk_get_be32(p), id, ip, (int)zk_get_be32(p + 4));
			break;
		}
		case IO_REC_PAUSE:
			io_loop_set_paused(l, len && p[0]);
			break;
		}
	}
	if (l->inbatch.len)
		io_core_post(l->io, l);
}

void io_loop_free_conns(struct io_loop *l)
{
	struct io_conn *ic, *t;
	HASH_ITER(hh, l->conns, ic, t) conn_free(ic, false);
}
