/* Client-port shell, core side: the listener, the core's effects (sends and closes routed to the
 * connection loop that owns the connection, txn persistence with group commit at the end of
 * each loop pass, snapshots), deadlines and signals. Connections themselves live in io_conn.c,
 * on loop 0 (this thread) or on the other loops' threads (io_loop.h). globalOutstandingLimit
 * pauses reading on every connection while the pipeline is that full. */
#include "io_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "io_disk.h"
#include "io_loop.h"
#include "io_snap.h"
#include "jute.h"
#include "out.h"
#include "server.h"

struct zk_io {
	struct event_base *base;
	struct evconnlistener *listener;
	struct event *tick_ev;
	struct event *flush_ev;
	struct event *synced_ev;
	struct event *sigint_ev, *sigterm_ev;
	struct zk_server *core;
	struct zk_logger log;
	struct zk_config cfg;
	struct zk_out out;
	struct zk_disk *disk;
	uint64_t next_conn_id;
	bool globally_paused;
	/* Connection loops: loops[0] runs on this thread, with the core. */
	struct io_loop *loops;
	int nloops;
	struct io_mq inq;            /* loops -> core */
	struct event *inq_ev;
	struct zk_wbuf inq_swap;
	struct zk_wbuf *out_batches; /* core -> loop i, gathered during one apply */
	/* Snapshots: every snapCount/2 + roll txns (roll random in [0, snapCount/2), as ZooKeeper's
	 * SyncRequestProcessor), in a forked child; at most one at a time. */
	int64_t txns_since_snap;
	int64_t snap_roll;
	uint64_t rng;
	struct zk_snap_job *snap_job;
	struct event *snap_ev;
	struct event *purge_ev;
	/* Quorum mode: items for election/quorum links and the quorum kinds go to this shell. */
	struct zk_io_quorum_ops qops;
	bool applying; /* inside io_core_apply: nested applies are picked up by the running pass */
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

const struct zk_config *io_cfg(const struct zk_io *io) { return &io->cfg; }
const struct zk_logger *io_log(const struct zk_io *io) { return &io->log; }

/* Connection ids are dealt round-robin, so the owner of an id is its remainder. */
static struct io_loop *owner(struct zk_io *io, uint64_t id) { return &io->loops[id % (uint64_t)io->nloops]; }

void io_core_frame(struct zk_io *io, uint64_t id, const uint8_t *p, size_t len)
{
	zk_server_frame(io->core, now_struct(), id, p, len, &io->out);
}

void io_core_fourlw(struct zk_io *io, uint64_t id, const uint8_t cmd[4])
{
	zk_server_fourlw(io->core, now_struct(), id, cmd, &io->out);
}

void io_core_closed(struct zk_io *io, uint64_t id) { zk_server_conn_closed(io->core, now_struct(), id); }

/* Called on a loop's own thread. */
void io_core_post(struct zk_io *io, struct io_loop *from)
{
	io_mq_push(&io->inq, &from->inbatch);
	zk_wbuf_reset(&from->inbatch);
	event_active(io->inq_ev, EV_READ, 0);
}

static void check_global_limit(struct zk_io *io)
{
	bool over = zk_server_outstanding(io->core) > (uint32_t)io->cfg.global_outstanding_limit;
	if (over == io->globally_paused)
		return;
	io->globally_paused = over;
	io_loop_set_paused(&io->loops[0], over);
	uint8_t flag = over;
	for (int i = 1; i < io->nloops; i++)
		io_rec_put(&io->out_batches[i], IO_REC_PAUSE, 0, &flag, 1);
}

static void send_batches(struct zk_io *io)
{
	for (int i = 1; i < io->nloops; i++) {
		struct zk_wbuf *b = &io->out_batches[i];
		if (!b->len)
			continue;
		io_mq_push(&io->loops[i].outq, b);
		zk_wbuf_reset(b);
		event_active(io->loops[i].outq_ev, EV_READ, 0);
	}
}

static bool is_quorum_item(const struct zk_out_item *it)
{
	if (it->kind == ZK_OUT_SEND || it->kind == ZK_OUT_CLOSE)
		return !ZK_LINK_IS_CLIENT(it->conn_id);
	return it->kind != ZK_OUT_PERSIST;
}

static void quorum_item(struct zk_io *io, const struct zk_out_item *it)
{
	if (!io->qops.apply) {
		zk_logf(&io->log, ZK_LOG_WARN, "output kind=%d conn=0x%llx dropped: no quorum shell", (int)it->kind,
			(unsigned long long)it->conn_id);
		return;
	}
	const uint8_t *data = it->kind == ZK_OUT_SEND ? io->out.data.p + it->off : NULL;
	io->qops.apply(io->qops.ctx, it, data);
}

void io_core_apply(struct zk_io *io)
{
	struct zk_out *o = &io->out;
	bool persisted = false;
	if (io->applying)
		return; /* a quorum callback called into the core: the loop below takes its items */
	io->applying = true;
	if (o->err)
		zk_logf(&io->log, ZK_LOG_ERROR, "core output batch lost data: out of memory");
	/* o->n is read on every round, and items are copied: quorum callbacks append to o. */
	for (size_t i = 0; i < o->n; i++) {
		struct zk_out_item item = o->items[i];
		struct zk_out_item *it = &item;
		if (is_quorum_item(it)) {
			quorum_item(io, it);
			continue;
		}
		struct io_loop *l = it->kind == ZK_OUT_PERSIST ? NULL : owner(io, it->conn_id);
		switch (it->kind) {
		case ZK_OUT_SEND:
			if (l->idx == 0)
				io_conn_send(l, it->conn_id, o->data.p + it->off, it->len);
			else
				io_rec_put(&io->out_batches[l->idx], IO_REC_SEND, it->conn_id, o->data.p + it->off, it->len);
			break;
		case ZK_OUT_CLOSE:
			if (l->idx == 0)
				io_conn_close(l, it->conn_id);
			else
				io_rec_put(&io->out_batches[l->idx], IO_REC_CLOSE, it->conn_id, NULL, 0);
			break;
		case ZK_OUT_PERSIST:
			zk_disk_append(io->disk, it->token, o->data.p + it->off, it->len);
			io->txns_since_snap++;
			persisted = true;
			break;
		default:
			break;
		}
	}
	zk_out_reset(o);
	io->applying = false;
	if (io->qops.applied)
		io->qops.applied(io->qops.ctx);
	if (persisted)
		event_active(io->flush_ev, EV_WRITE, 0);
	check_global_limit(io);
	send_batches(io);
}

/* The other loops' frames, in the order each loop read them. */
static void inq_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct zk_io *io = arg;
	zk_wbuf_reset(&io->inq_swap);
	io_mq_take(&io->inq, &io->inq_swap);
	size_t off = 0;
	uint8_t kind;
	uint64_t id;
	const uint8_t *p;
	uint32_t len;
	struct zk_now now = now_struct();
	while (io_rec_next(&io->inq_swap, &off, &kind, &id, &p, &len)) {
		if (kind == IO_REC_FRAME)
			zk_server_frame(io->core, now, id, p, len, &io->out);
		else if (kind == IO_REC_FOURLW && len == 4)
			zk_server_fourlw(io->core, now, id, p, &io->out);
		else if (kind == IO_REC_CLOSED)
			zk_server_conn_closed(io->core, now, id);
	}
	io_core_apply(io);
}

static void accept_cb(struct evconnlistener *lst, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
	(void)lst;
	(void)salen;
	struct zk_io *io = arg;
	char ip[64] = "";
	int port = 0;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (sa->sa_family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
		port = ntohs(a->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
		port = ntohs(a->sin6_port);
	}
	uint64_t id = ++io->next_conn_id;
	if (zk_server_conn_open(io->core, now_struct(), id, ip, port, &io->out) != 0) {
		/* Refused (maxClientCnxns, maxCnxns): closed without a word, as ZooKeeper does. */
		evutil_closesocket(fd);
		zk_out_reset(&io->out);
		zk_server_conn_closed(io->core, now_struct(), id);
		return;
	}
	struct io_loop *l = owner(io, id);
	if (l->idx == 0) {
		io_conn_adopt(l, fd, id, ip, port);
	} else {
		uint8_t rec[8 + sizeof(ip)];
		size_t iplen = strlen(ip);
		zk_put_be32(rec, (uint32_t)fd);
		zk_put_be32(rec + 4, (uint32_t)port);
		memcpy(rec + 8, ip, iplen);
		io_rec_put(&io->out_batches[l->idx], IO_REC_ACCEPT, id, rec, 8 + iplen);
	}
	io_core_apply(io);
}

static void *loop_main(void *arg)
{
	struct io_loop *l = arg;
	event_base_loop(l->base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

static int loops_start(struct zk_io *io, char *err, size_t err_len)
{
	int n = io->cfg.io_threads;
	if (n <= 0) {
		/* One loop per core, the core's own thread counting as one of them: the protocol core
		 * and the fsync need a core too. On 2 cores that is a single loop, which measured better
		 * there than two (docs/benchmarks.md). */
		long cores = sysconf(_SC_NPROCESSORS_ONLN);
		n = cores > 2 ? (int)cores - 1 : 1;
	}
	io->loops = calloc((size_t)n, sizeof(*io->loops));
	io->out_batches = calloc((size_t)n, sizeof(*io->out_batches));
	if (!io->loops || !io->out_batches) {
		snprintf(err, err_len, "out of memory");
		return -1;
	}
	io->nloops = n;
	for (int i = 0; i < n; i++) {
		struct io_loop *l = &io->loops[i];
		l->idx = i;
		l->io = io;
		io_mq_init(&l->outq);
		zk_wbuf_init(&l->inbatch);
		zk_wbuf_init(&l->swap);
		zk_wbuf_init(&io->out_batches[i]);
		if (i == 0) {
			l->base = io->base;
			continue;
		}
		l->base = event_base_new();
		l->outq_ev = l->base ? event_new(l->base, -1, 0, io_loop_outq_cb, l) : NULL;
		if (!l->outq_ev || pthread_create(&l->thread, NULL, loop_main, l)) {
			snprintf(err, err_len, "cannot start connection loop %d", i);
			return -1;
		}
		l->thread_started = true;
	}
	zk_logf(&io->log, ZK_LOG_INFO, "connection loops=%d (loop 0 shares the core's thread)", n);
	return 0;
}

static void loops_stop(struct zk_io *io)
{
	for (int i = 1; i < io->nloops; i++) {
		struct io_loop *l = &io->loops[i];
		if (l->thread_started) {
			event_base_loopbreak(l->base);
			pthread_join(l->thread, NULL);
		}
	}
	for (int i = 0; i < io->nloops; i++) {
		struct io_loop *l = &io->loops[i];
		io_loop_free_conns(l);
		if (i > 0) {
			if (l->outq_ev)
				event_free(l->outq_ev);
			if (l->base)
				event_base_free(l->base);
		}
		io_mq_fini(&l->outq);
		zk_wbuf_fini(&l->inbatch);
		zk_wbuf_fini(&l->swap);
		zk_wbuf_fini(&io->out_batches[i]);
	}
	free(io->loops);
	free(io->out_batches);
	io->loops = NULL;
	io->nloops = 0;
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

void zk_io_snapshot_now(struct zk_io *io)
{
	io->txns_since_snap = INT64_MAX / 4;
	maybe_snapshot(io);
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
	int rc = zk_disk_flush_async(io->disk, &token);
	if (rc == 1)
		return; /* the sync thread reports through synced_cb */
	if (token)
		zk_server_disk_done(io->core, now_struct(), token, rc, &io->out);
	io_core_apply(io);
	if (rc == 0)
		maybe_snapshot(io);
}

/* The sync thread finished: what it synced is durable. What was appended while it ran goes to
 * the next sync at once, so syncs follow each other back to back under load (each one covering
 * everything read meanwhile) while the loop never waits for the disk. */
static void synced_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct zk_io *io = arg;
	uint64_t token = 0;
	int rc = 0;
	if (!zk_disk_take_done(io->disk, &token, &rc))
		return;
	if (token)
		zk_server_disk_done(io->core, now_struct(), token, rc, &io->out);
	io_core_apply(io);
	if (rc == 0)
		maybe_snapshot(io);
	event_active(io->flush_ev, EV_WRITE, 0);
}

/* Called on the disk's sync thread. */
static void synced_notify(void *ctx)
{
	struct zk_io *io = ctx;
	event_active(io->synced_ev, EV_READ, 0);
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct zk_io *io = arg;
	zk_server_tick(io->core, now_struct(), &io->out);
	io_core_apply(io);
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

void zk_io_set_quorum(struct zk_io *io, const struct zk_io_quorum_ops *ops)
{
	if (!ops) {
		memset(&io->qops, 0, sizeof(io->qops));
		return;
	}
	io->qops = *ops;
	struct timeval tv = {0, ZK_IO_QUORUM_TICK_MS * 1000};
	event_del(io->tick_ev);
	event_add(io->tick_ev, &tv);
}

struct event_base *zk_io_base(struct zk_io *io) { return io->base; }
struct zk_server *zk_io_core(struct zk_io *io) { return io->core; }
struct zk_disk *zk_io_disk(struct zk_io *io) { return io->disk; }
struct zk_out *zk_io_out(struct zk_io *io) { return &io->out; }
void zk_io_apply(struct zk_io *io) { io_core_apply(io); }

void zk_io_cancel_snapshot(struct zk_io *io)
{
	if (!io->snap_job)
		return;
	zk_logf(&io->log, ZK_LOG_INFO, "cancelling background snapshot zxid=0x%llx",
		(unsigned long long)zk_snap_job_zxid(io->snap_job));
	event_free(io->snap_ev);
	io->snap_ev = NULL;
	zk_snap_job_free(io->snap_job);
	io->snap_job = NULL;
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
	io_mq_init(&io->inq);
	zk_wbuf_init(&io->inq_swap);
	/* Loops on other threads post to this base and to each other's: libevent must lock. */
	if (evthread_use_pthreads()) {
		snprintf(err, err_len, "libevent has no pthreads support");
		goto fail;
	}
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
	io->inq_ev = event_new(io->base, -1, 0, inq_cb, io);
	event_priority_set(io->inq_ev, 0);
	if (loops_start(io, err, err_len))
		goto fail;
	io->flush_ev = event_new(io->base, -1, 0, flush_cb, io);
	event_priority_set(io->flush_ev, 1);
	io->synced_ev = event_new(io->base, -1, 0, synced_cb, io);
	event_priority_set(io->synced_ev, 0);
	zk_disk_set_notify(io->disk, synced_notify, io);
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
	if (io->loops)
		loops_stop(io);
	if (io->inq_ev)
		event_free(io->inq_ev);
	io_mq_fini(&io->inq);
	zk_wbuf_fini(&io->inq_swap);
	if (io->listener)
		evconnlistener_free(io->listener);
	if (io->tick_ev)
		event_free(io->tick_ev);
	/* First: joins the sync thread, which would otherwise still poke synced_ev. */
	zk_disk_free(io->disk);
	io->disk = NULL;
	if (io->flush_ev)
		event_free(io->flush_ev);
	if (io->synced_ev)
		event_free(io->synced_ev);
	if (io->snap_ev)
		event_free(io->snap_ev);
	/* A clean shutdown lets a snapshot being written finish (bounded), rather than waste it. */
	char err[256];
	for (int i = 0; io->snap_job && i < 3000 && zk_snap_job_poll(io->snap_job, err, sizeof(err)) > 0; i++)
		usleep(10 * 1000);
	zk_snap_job_free(io->snap_job);
	if (io->purge_ev)
		event_free(io->purge_ev);
	if (io->sigint_ev)
		event_free(io->sigint_ev);
	if (io->sigterm_ev)
		event_free(io->sigterm_ev);
	if (io->base)
		event_base_free(io->base);
	zk_out_fini(&io->out);
	free(io);
}
