/* Client-port shell: see io_client.h. One event loop; the core is called only from it.
 * Backpressure: a connection whose output passes ZK_OUT_SOFT_BYTES stops being read until it
 * drains to half; past ZK_OUT_HARD_BYTES (a client that stopped reading while watches fire)
 * it is closed. globalOutstandingLimit pauses reading on every connection while the pipeline is
 * that full. */
#include "io_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/random.h>
#include <time.h>
#include <uthash.h>

#include "io_disk.h"
#include "io_snap.h"
#include "jute.h"
#include "out.h"
#include "server.h"

#define ZK_OUT_SOFT_BYTES (4u << 20)
#define ZK_OUT_HARD_BYTES (64u << 20)
#define ZK_FRAMES_PER_READ 256

struct io_conn {
	uint64_t id;
	struct bufferevent *bev;
	struct zk_io *io;
	bool seen_bytes;    /* the first 4 bytes decide 4lw vs protocol */
	bool closing;       /* close once output is flushed */
	bool paused_output; /* reading paused for output backpressure */
	bool paused_global; /* reading paused for globalOutstandingLimit */
	char ip[64];
	int port;
	UT_hash_handle hh;
};

struct zk_io {
	struct event_base *base;
	struct evconnlistener *listener;
	struct event *tick_ev;
	struct event *flush_ev;
	struct event *sigint_ev, *sigterm_ev;
	struct zk_server *core;
	struct zk_logger log;
	struct zk_config cfg;
	struct zk_out out;
	struct zk_disk *disk;
	struct io_conn *conns;
	uint64_t next_conn_id;
	bool globally_paused;
	/* Snapshots: every snapCount/2 + roll txns (roll random in [0, snapCount/2), as ZooKeeper's
	 * SyncRequestProcessor), in a forked child; at most one at a time. */
	int64_t txns_since_snap;
	int64_t snap_roll;
	uint64_t rng;
	struct zk_snap_job *snap_job;
	struct event *snap_ev;
	struct event *purge_ev;
};

void zk_io_now(int64_t *mono_ms, int64_t *wall_ms)
{
	struct timespec m, w;
	clock_gettime(CLOCK_MONOTONIC, &m);
	clock_gettime(CLOCK_REALTIME, &w);
	*mono_ms = (int64_t)m.tv_sec * 1000 + m.tv_nsec / 1000000;
	*wall_ms = (int64_t)w.tv_sec * 1000 + w.tv_nsec / 1000000;
}

static struct zk_now now_struct(void)
{
	struct zk_now n;
	zk_io_now(&n.mono_ms, &n.wall_ms);
	return n;
}

static void conn_free(struct zk_io *io, struct io_conn *ic, bool tell_core)
{
	HASH_DEL(io->conns, ic);
	if (ic->bev)
		bufferevent_free(ic->bev);
	if (tell_core)
		zk_server_conn_closed(io->core, now_struct(), ic->id);
	free(ic);
}

static void apply_out(struct zk_io *io);

static void update_reading(struct io_conn *ic)
{
	if (ic->closing || ic->paused_output || ic->paused_global)
		bufferevent_disable(ic->bev, EV_READ);
	else
		bufferevent_enable(ic->bev, EV_READ);
}

static void check_global_limit(struct zk_io *io)
{
	bool over = zk_server_outstanding(io->core) > (uint32_t)io->cfg.global_outstanding_limit;
	if (over == io->globally_paused)
		return;
	io->globally_paused = over;
	struct io_conn *ic, *t;
	HASH_ITER(hh, io->conns, ic, t) {
		ic->paused_global = over;
		update_reading(ic);
	}
}

static void close_now_or_later(struct zk_io *io, struct io_conn *ic)
{
	/* A peer that never reads its last replies must not pin the connection forever. */
	static const struct timeval flush_timeout = {10, 0};
	ic->closing = true;
	update_reading(ic);
	bufferevent_set_timeouts(ic->bev, NULL, &flush_timeout);
	if (evbuffer_get_length(bufferevent_get_output(ic->bev)) == 0)
		conn_free(io, ic, true);
	/* else: write_cb frees it once the output has drained */
}

static void apply_out(struct zk_io *io)
{
	struct zk_out *o = &io->out;
	bool persisted = false;
	if (o->err)
		zk_logf(&io->log, ZK_LOG_ERROR, "core output batch lost data: out of memory");
	for (size_t i = 0; i < o->n; i++) {
		struct zk_out_item *it = &o->items[i];
		struct io_conn *ic = NULL;
		if (it->kind != ZK_OUT_PERSIST)
			HASH_FIND(hh, io->conns, &it->conn_id, sizeof(it->conn_id), ic);
		switch (it->kind) {
		case ZK_OUT_SEND: {
			if (!ic || ic->closing)
				break;
			struct evbuffer *ob = bufferevent_get_output(ic->bev);
			evbuffer_add(ob, o->data.p + it->off, it->len);
			size_t pending = evbuffer_get_length(ob);
			if (pending > ZK_OUT_HARD_BYTES) {
				zk_logf(&io->log, ZK_LOG_WARN,
					"closing connection conn=%llu remote=%s:%d reason=%s pending_bytes=%zu",
					(unsigned long long)ic->id, ic->ip, ic->port,
					zk_close_reason_str(ZK_CLOSE_OUTPUT_FULL), pending);
				evbuffer_drain(ob, pending);
				close_now_or_later(io, ic);
			} else if (pending > ZK_OUT_SOFT_BYTES && !ic->paused_output) {
				ic->paused_output = true;
				update_reading(ic);
			}
			break;
		}
		case ZK_OUT_CLOSE:
			if (ic && !ic->closing)
				close_now_or_later(io, ic);
			else if (!ic)
				zk_server_conn_closed(io->core, now_struct(), it->conn_id);
			break;
		case ZK_OUT_PERSIST:
			zk_disk_append(io->disk, it->token, o->data.p + it->off, it->len);
			io->txns_since_snap++;
			persisted = true;
			break;
		}
	}
	zk_out_reset(o);
	if (persisted)
		event_active(io->flush_ev, EV_WRITE, 0);
	check_global_limit(io);
}

static void on_fatal_frame(struct zk_io *io, struct io_conn *ic, int32_t len, const uint8_t *first)
{
	char sample[64];
	zk_log_sanitize(first, 4, sample, sizeof(sample));
	zk_logf(&io->log, ZK_LOG_WARN, "closing connection conn=%llu remote=%s:%d reason=%s len=%d sample=\"%s\"",
		(unsigned long long)ic->id, ic->ip, ic->port, zk_close_reason_str(ZK_CLOSE_BAD_LENGTH), len, sample);
	evbuffer_drain(bufferevent_get_input(ic->bev), evbuffer_get_length(bufferevent_get_input(ic->bev)));
	close_now_or_later(io, ic);
}

static void read_cb(struct bufferevent *bev, void *arg)
{
	struct io_conn *ic = arg;
	struct zk_io *io = ic->io;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint64_t id = ic->id;
	for (int frames = 0; frames < ZK_FRAMES_PER_READ; frames++) {
		HASH_FIND(hh, io->conns, &id, sizeof(id), ic);
		if (!ic || ic->closing)
			return;
		size_t have = evbuffer_get_length(in);
		if (have < 4)
			return;
		uint8_t hdr[4];
		evbuffer_copyout(in, hdr, 4);
		if (!ic->seen_bytes) {
			ic->seen_bytes = true;
			if (zk_server_is_fourlw(hdr)) {
				evbuffer_drain(in, have);
				zk_server_fourlw(io->core, now_struct(), ic->id, hdr, &io->out);
				apply_out(io);
				return;
			}
		}
		int32_t len = (int32_t)zk_get_be32(hdr);
		if (len < 0 || (int64_t)len > io->cfg.jute_maxbuffer) {
			on_fatal_frame(io, ic, len, hdr);
			return;
		}
		if (have < 4 + (size_t)len)
			return;
		uint8_t *p = evbuffer_pullup(in, 4 + (ssize_t)len);
		zk_server_frame(io->core, now_struct(), ic->id, p + 4, (size_t)len, &io->out);
		evbuffer_drain(in, 4 + (size_t)len);
		apply_out(io);
	}
	/* Fairness: leave the rest for the next pass so one busy client cannot starve others. */
	HASH_FIND(hh, io->conns, &id, sizeof(id), ic);
	if (ic && !ic->closing)
		bufferevent_trigger(bev, EV_READ, BEV_TRIG_DEFER_CALLBACKS);
}

static void write_cb(struct bufferevent *bev, void *arg)
{
	struct io_conn *ic = arg;
	size_t pending = evbuffer_get_length(bufferevent_get_output(bev));
	if (ic->closing && pending == 0) {
		conn_free(ic->io, ic, true);
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
		zk_logf(&ic->io->log, ZK_LOG_DEBUG, "connection closed by peer conn=%llu remote=%s:%d%s",
			(unsigned long long)ic->id, ic->ip, ic->port, (what & BEV_EVENT_ERROR) ? " (error)" : "");
		conn_free(ic->io, ic, true);
	}
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
	(void)l;
	(void)salen;
	struct zk_io *io = arg;
	struct io_conn *ic = calloc(1, sizeof(*ic));
	if (!ic) {
		evutil_closesocket(fd);
		return;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (sa->sa_family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &a->sin_addr, ic->ip, sizeof(ic->ip));
		ic->port = ntohs(a->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &a->sin6_addr, ic->ip, sizeof(ic->ip));
		ic->port = ntohs(a->sin6_port);
	}
	ic->id = ++io->next_conn_id;
	ic->io = io;
	ic->bev = bufferevent_socket_new(io->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!ic->bev) {
		evutil_closesocket(fd);
		free(ic);
		return;
	}
	HASH_ADD(hh, io->conns, id, sizeof(ic->id), ic);
	bufferevent_setcb(ic->bev, read_cb, write_cb, event_cb, ic);
	bufferevent_setwatermark(ic->bev, EV_WRITE, 0, 0);
	ic->paused_global = io->globally_paused;
	if (zk_server_conn_open(io->core, now_struct(), ic->id, ic->ip, ic->port, &io->out) == 0)
		update_reading(ic);
	apply_out(io);
}

static uint64_t next_rand(struct zk_io *io)
{
	io->rng ^= io->rng << 13;
	io->rng ^= io->rng >> 7;
	io->rng ^= io->rng << 17;
	return io->rng;
}

static void new_snap_roll(struct zk_io *io)
{
	int64_t half = io->cfg.snap_count / 2;
	io->snap_roll = half > 0 ? (int64_t)(next_rand(io) % (uint64_t)half) : 0;
}

static void snap_done_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct zk_io *io = arg;
	char err[512] = "";
	int rc = zk_snap_job_poll(io->snap_job, err, sizeof(err));
	if (rc > 0)
		return;
	int64_t zxid = zk_snap_job_zxid(io->snap_job);
	if (rc == 0)
		zk_logf(&io->log, ZK_LOG_INFO, "snapshot written zxid=0x%llx", (unsigned long long)zxid);
	else
		zk_logf(&io->log, ZK_LOG_ERROR, "snapshot zxid=0x%llx failed: %s", (unsigned long long)zxid, err);
	event_free(io->snap_ev);
	io->snap_ev = NULL;
	zk_snap_job_free(io->snap_job);
	io->snap_job = NULL;
}

/* Called when everything logged so far is applied: the database is exactly at its last zxid,
 * which is what the child process will write; the log rolls so that the next txn starts a file. */
static void maybe_snapshot(struct zk_io *io)
{
	if (io->txns_since_snap <= io->cfg.snap_count / 2 + io->snap_roll)
		return;
	/* As ZooKeeper: the log rolls and the count restarts even when a snapshot is still being
	 * written and this one is skipped. */
	zk_disk_roll(io->disk);
	io->txns_since_snap = 0;
	new_snap_roll(io);
	if (io->snap_job) {
		zk_logf(&io->log, ZK_LOG_WARN, "too busy to snap, skipping");
		return;
	}
	const struct zk_db *db = zk_server_db(io->core);
	char err[512];
	if (zk_snap_save_bg(db, db->last_zxid, io->cfg.data_dir, io->cfg.force_sync ? 0 : ZK_SNAP_SAVE_NO_FSYNC,
			    &io->snap_job, err, sizeof(err))) {
		zk_logf(&io->log, ZK_LOG_ERROR, "cannot start a snapshot: %s", err);
		io->snap_job = NULL;
		return;
	}
	io->snap_ev = event_new(io->base, zk_snap_job_fd(io->snap_job), EV_READ | EV_PERSIST, snap_done_cb, io);
	event_add(io->snap_ev, NULL);
}

static void purge_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct zk_io *io = arg;
	int n = zk_snap_purge(io->cfg.data_dir, io->cfg.data_log_dir, io->cfg.autopurge_snap_retain_count, &io->log);
	zk_logf(&io->log, ZK_LOG_INFO, "autopurge removed %d files", n < 0 ? 0 : n);
}

/* Group commit: runs at the lowest priority, after every read callback of this loop pass, so the
 * writes read in one pass share one fsync. */
static void flush_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct zk_io *io = arg;
	uint64_t token = 0;
	int rc = zk_disk_flush(io->disk, &token);
	if (token)
		zk_server_disk_done(io->core, now_struct(), token, rc, &io->out);
	apply_out(io);
	if (rc == 0)
		maybe_snapshot(io);
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct zk_io *io = arg;
	zk_server_tick(io->core, now_struct(), &io->out);
	apply_out(io);
}

/* Out of file descriptors: accept() fails at once again and again. Pause the listener for a
 * moment instead of spinning (and logging) at full speed. */
static void listener_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct zk_io *io = arg;
	evconnlistener_enable(io->listener);
}

static void accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct zk_io *io = arg;
	int err = EVUTIL_SOCKET_ERROR();
	static const struct timeval pause_tv = {0, 200 * 1000};
	zk_logf(&io->log, ZK_LOG_WARN, "accept failed: %s; pausing new connections for 200 ms",
		evutil_socket_error_to_string(err));
	evconnlistener_disable(l);
	event_base_once(io->base, -1, EV_TIMEOUT, listener_resume_cb, io, &pause_tv);
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	struct zk_io *io = arg;
	zk_logf(&io->log, ZK_LOG_INFO, "signal %d received: shutting down", (int)sig);
	event_base_loopbreak(io->base);
}

struct zk_io *zk_io_new(const struct zk_config *cfg, struct zk_server *core, const struct zk_logger *log,
                        char *err, size_t err_len)
{
	struct zk_io *io = calloc(1, sizeof(*io));
	if (!io) {
		snprintf(err, err_len, "out of memory");
		return NULL;
	}
	io->cfg = *cfg;
	io->core = core;
	io->log = *log;
	zk_out_init(&io->out);
	io->base = event_base_new();
	if (!io->base || event_base_priority_init(io->base, 2)) {
		snprintf(err, err_len, "cannot create the event loop");
		goto fail;
	}
	io->disk = zk_disk_new(cfg, log, err, err_len);
	if (!io->disk)
		goto fail;
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	socklen_t sl;
	const char *host = cfg->client_port_address[0] ? cfg->client_port_address : "0.0.0.0";
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)cfg->client_port);
		sl = sizeof(*a4);
	} else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)cfg->client_port);
		sl = sizeof(*a6);
	} else {
		snprintf(err, err_len, "clientPortAddress '%s' is not an IP address", host);
		goto fail;
	}
	io->listener = evconnlistener_new_bind(io->base, accept_cb, io, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE,
					       -1, (struct sockaddr *)&ss, (int)sl);
	if (!io->listener) {
		snprintf(err, err_len, "cannot listen on %s:%d (clientPort): %s", host, cfg->client_port,
			 strerror(errno));
		goto fail;
	}
	evconnlistener_set_error_cb(io->listener, accept_error_cb);
	io->flush_ev = event_new(io->base, -1, 0, flush_cb, io);
	event_priority_set(io->flush_ev, 1);
	io->tick_ev = event_new(io->base, -1, EV_PERSIST, tick_cb, io);
	int tick_ms = cfg->tick_time_ms / 4;
	if (tick_ms > 250)
		tick_ms = 250;
	if (tick_ms < 10)
		tick_ms = 10;
	struct timeval tv = {tick_ms / 1000, (tick_ms % 1000) * 1000};
	event_add(io->tick_ev, &tv);
	if (getrandom(&io->rng, sizeof(io->rng), 0) != sizeof(io->rng) || !io->rng)
		io->rng = 0x9E3779B97F4A7C15ULL;
	new_snap_roll(io);
	if (cfg->autopurge_purge_interval_h > 0) {
		io->purge_ev = event_new(io->base, -1, EV_PERSIST, purge_cb, io);
		struct timeval ptv = {(time_t)cfg->autopurge_purge_interval_h * 3600, 0};
		event_add(io->purge_ev, &ptv);
		purge_cb(-1, 0, io); /* ZooKeeper's DatadirCleanupManager also runs once at start */
	}
	io->sigint_ev = evsignal_new(io->base, SIGINT, signal_cb, io);
	io->sigterm_ev = evsignal_new(io->base, SIGTERM, signal_cb, io);
	event_add(io->sigint_ev, NULL);
	event_add(io->sigterm_ev, NULL);
	return io;
fail:
	zk_io_free(io);
	return NULL;
}

int zk_io_run(struct zk_io *io)
{
	signal(SIGPIPE, SIG_IGN);
	zk_logf(&io->log, ZK_LOG_INFO, "serving clients on %s:%d",
		io->cfg.client_port_address[0] ? io->cfg.client_port_address : "0.0.0.0", io->cfg.client_port);
	return event_base_dispatch(io->base) < 0 ? -1 : 0;
}

void zk_io_free(struct zk_io *io)
{
	if (!io)
		return;
	struct io_conn *ic, *t;
	HASH_ITER(hh, io->conns, ic, t) conn_free(io, ic, false);
	if (io->listener)
		evconnlistener_free(io->listener);
	if (io->tick_ev)
		event_free(io->tick_ev);
	if (io->flush_ev)
		event_free(io->flush_ev);
	if (io->snap_ev)
		event_free(io->snap_ev);
	zk_snap_job_free(io->snap_job);
	if (io->purge_ev)
		event_free(io->purge_ev);
	if (io->sigint_ev)
		event_free(io->sigint_ev);
	if (io->sigterm_ev)
		event_free(io->sigterm_ev);
	zk_disk_free(io->disk);
	if (io->base)
		event_base_free(io->base);
	zk_out_fini(&io->out);
	free(io);
}
