/* Quorum-mode shell (io_quorum.h): the leader <-> learner links, the quorum kinds of zk_out items
 * and the quorum files, on the client shell's libevent loop and around the peer (peer.h). The
 * election connections are io_elect.c's; this file creates them and hands them their items.
 *
 * Quorum links: inbound connections on our quorum port (bound only while we lead; ids
 * ZK_LINK_QUORUM_BASE | n, n < 2^40) and the peer's DIALs (its ids carry ZK_LINK_QUORUM_DIAL_BIT). Bytes go through a
 * struct zk_qframe per link and whole packets (and the snapshot after SNAP) to the peer, one at a
 * time, each followed by carrying out the peer's outputs, which may close the link. A link the
 * peer CLOSEs is flushed (at most QLINK_FLUSH_TIMEOUT_S), then freed; every link that goes away,
 * for whatever reason, is reported with zk_peer_qlink_closed. Output past QLINK_OUT_CAP_BYTES
 * beyond the largest single send (a learner that stopped reading) closes the link.
 *
 * Items carried out from inside an apply (a dial that fails at once, a CLOSE of a drained link,
 * TRUNCATE's result) call into the peer right there: zk_io_apply is then a no-op and the running
 * pass carries out the new items after the ones already queued.
 *
 * EPOCH, TRUNCATE and SNAPSHOT are synchronous: done before the next item is looked at, so a SEND
 * queued after them leaves only once the disk holds what it depends on. */
#include "io_quorum.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>
#include <uthash.h>

#include "errors.h"
#include "io_client.h"
#include "io_disk.h"
#include "io_elect.h"
#include "io_fs.h"
#include "io_qnet.h"
#include "io_snap.h"
#include "jute.h"
#include "notif.h"
#include "out.h"
#include "peer.h"
#include "qframe.h"
#include "txn.h"

#define QDIAL_TIMEOUT_MS 5000      /* when initLimit is unset: zookeeper.cnxTimeout's default */
#define QLINK_ITEMS_PER_READ 256   /* packets per read callback before yielding */
#define QLINK_OUT_CAP_BYTES ((size_t)256 << 20)
#define QLINK_SNAP_BYTES_MAX ((uint64_t)16 << 30)
#define QLINK_DATA_EXTRA_BYTES 1024 /* zookeeper.jute.maxbuffer.extrasize */
#define QLINK_FLUSH_TIMEOUT_S 10   /* a CLOSEd link whose remote does not read */
#define EXIT_SNAPSHOT_FAILED 10    /* ZooKeeper's ExitCode.TXNLOG_ERROR_TAKING_SNAPSHOT */
#define BIND_RETRY_MS 1000         /* a quorum port that could not be bound, while leading */

struct qlink {
	uint64_t id;
	int64_t sid; /* dialled server, -1 inbound */
	struct zk_io_quorum *q;
	struct bufferevent *bev;
	struct zk_qframe fr;
	bool connected;
	bool closing;    /* CLOSEd by the peer: flushing */
	size_t send_max; /* largest single send: the output cap grows with it (SNAP) */
	char remote[ZK_QNET_ADDR_TEXT_MAX];
	UT_hash_handle hh;
};

struct zk_io_quorum {
	struct zk_io *io;
	struct zk_peer *peer;
	struct zk_config cfg;
	int64_t myid;
	struct zk_logger log;
	struct event_base *base;
	struct zk_io_elect *elect;
	struct evconnlistener *lst;    /* the quorum port, bound only while we lead */
	struct evconnlistener *om_lst; /* observerMasterPort, bound while we serve observers */
	struct sockaddr_storage om_addr;
	socklen_t om_len;
	struct sockaddr_storage lst_addr;
	socklen_t lst_len;
	char lst_text[ZK_QNET_ADDR_TEXT_MAX];
	int64_t bind_failed_ms;        /* last failed bind, to retry at most every BIND_RETRY_MS */
	struct qlink *links;
	uint64_t next_inbound;
	int qdial_timeout_ms;
};

static const struct zk_cfg_server *server_of(const struct zk_io_quorum *q, int64_t sid)
{
	for (int i = 0; i < q->cfg.n_servers; i++)
		if (q->cfg.servers[i].id == sid)
			return &q->cfg.servers[i];
	return NULL;
}

/* ---- Quorum links ---- */

static void qlink_read_cb(struct bufferevent *bev, void *arg);
static void qlink_write_cb(struct bufferevent *bev, void *arg);
static void qlink_event_cb(struct bufferevent *bev, short what, void *arg);

static struct qlink *find_link(struct zk_io_quorum *q, uint64_t id)
{
	struct qlink *l;
	HASH_FIND(hh, q->links, &id, sizeof(id), l);
	return l;
}

static struct qlink *qlink_new(struct zk_io_quorum *q, uint64_t id, int64_t sid, struct bufferevent *bev,
                               const char *remote)
{
	struct qlink *l = calloc(1, sizeof(*l));
	if (!l) {
		zk_logf(&q->log, ZK_LOG_ERROR, "out of memory for quorum link=0x%" PRIx64 " remote=%s", id, remote);
		bufferevent_free(bev);
		return NULL;
	}
	l->id = id;
	l->sid = sid;
	l->q = q;
	l->bev = bev;
	snprintf(l->remote, sizeof(l->remote), "%s", remote);
	zk_qframe_init(&l->fr, (size_t)q->cfg.jute_maxbuffer + QLINK_DATA_EXTRA_BYTES, QLINK_SNAP_BYTES_MAX);
	bufferevent_setcb(bev, qlink_read_cb, qlink_write_cb, qlink_event_cb, l);
	HASH_ADD(hh, q->links, id, sizeof(l->id), l);
	return l;
}

/* Frees the link; tells the peer unless we are shutting down. */
static void qlink_gone(struct qlink *l, bool tell)
{
	struct zk_io_quorum *q = l->q;
	uint64_t id = l->id;
	HASH_DEL(q->links, l);
	bufferevent_free(l->bev);
	zk_qframe_fini(&l->fr);
	free(l);
	if (!tell)
		return;
	zk_peer_qlink_closed(q->peer, zk_qnet_now(), id, zk_io_out(q->io));
	zk_io_apply(q->io);
}

static void qlink_drop(struct qlink *l)
{
	struct evbuffer *out = bufferevent_get_output(l->bev);
	evbuffer_drain(out, evbuffer_get_length(out));
	qlink_gone(l, true);
}

static void qlink_accept_cb(struct evconnlistener *lst, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
	(void)lst;
	(void)salen;
	struct zk_io_quorum *q = arg;
	char text[ZK_QNET_ADDR_TEXT_MAX];
	zk_qnet_sa_text(sa, text, sizeof(text));
	/* Inbound ids never carry ZK_LINK_QUORUM_DIAL_BIT (the peer's dials do): they cannot collide. */
	q->next_inbound = (q->next_inbound + 1) & (ZK_LINK_QUORUM_DIAL_BIT - 1);
	if (!q->next_inbound)
		q->next_inbound = 1;
	uint64_t id = ZK_LINK_QUORUM_BASE | q->next_inbound;
	zk_qnet_nodelay(fd);
	struct bufferevent *bev = bufferevent_socket_new(q->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!bev) {
		evutil_closesocket(fd);
		return;
	}
	struct qlink *l = qlink_new(q, id, -1, bev, text);
	if (!l)
		return;
	l->connected = true;
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	zk_logf(&q->log, ZK_LOG_INFO, "quorum link accepted link=0x%" PRIx64 " remote=%s", id, text);
	zk_peer_qlink_open(q->peer, zk_qnet_now(), id, true, zk_io_out(q->io));
	zk_io_apply(q->io);
}

/* Feeds what the socket brought into the framer and hands whole packets (and the snapshot after
 * SNAP) to the peer, one at a time: the peer's outputs may close the link in between. */
static void qlink_read_cb(struct bufferevent *bev, void *arg)
{
	struct qlink *l = arg;
	struct zk_io_quorum *q = l->q;
	uint64_t id = l->id;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t n;
	if (l->closing)
		return; /* a deferred trigger after the peer closed it */
	while ((n = evbuffer_get_contiguous_space(in)) > 0) {
		const uint8_t *p = evbuffer_pullup(in, (ssize_t)n);
		if (zk_qframe_feed(&l->fr, p, n)) {
			zk_logf(&q->log, ZK_LOG_ERROR, "closing quorum link=0x%" PRIx64 " remote=%s: out of memory", id, l->remote);
			qlink_drop(l);
			return;
		}
		evbuffer_drain(in, n);
	}
	for (int i = 0; i < QLINK_ITEMS_PER_READ; i++) {
		struct zk_qpkt pk;
		const uint8_t *snap;
		size_t snap_len;
		int rc = zk_qframe_next(&l->fr, &pk, &snap, &snap_len);
		if (rc == ZK_QF_NONE)
			return;
		if (rc < 0) {
			zk_logf(&q->log, ZK_LOG_WARN, "closing quorum link=0x%" PRIx64 " remote=%s: %s rc=%d", id, l->remote,
				l->fr.in_snap ? "bad snapshot stream" : "bad packet", rc);
			qlink_drop(l);
			return;
		}
		if (rc == ZK_QF_PACKET) {
			zk_logf(&q->log, ZK_LOG_DEBUG, "quorum link=0x%" PRIx64 " recv %s zxid=0x%" PRIx64 " len=%d", id,
				zk_qpkt_type_name(pk.type), (uint64_t)pk.zxid, pk.data.len);
			zk_peer_qpkt(q->peer, zk_qnet_now(), id, &pk, zk_io_out(q->io));
		} else {
			zk_logf(&q->log, ZK_LOG_DEBUG, "quorum link=0x%" PRIx64 " recv snapshot bytes=%zu", id, snap_len);
			zk_peer_qsnap(q->peer, zk_qnet_now(), id, snap, snap_len, zk_io_out(q->io));
		}
		zk_io_apply(q->io);
		l = find_link(q, id);
		if (!l || l->closing)
			return;
	}
	/* Fairness: the rest (already in the framer) on a later pass. */
	bufferevent_trigger(l->bev, EV_READ, BEV_TRIG_DEFER_CALLBACKS | BEV_TRIG_IGNORE_WATERMARKS);
}

static void qlink_write_cb(struct bufferevent *bev, void *arg)
{
	struct qlink *l = arg;
	if (l->closing && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		qlink_gone(l, true);
}

static void qlink_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct qlink *l = arg;
	struct zk_io_quorum *q = l->q;
	if (what & BEV_EVENT_CONNECTED) {
		l->connected = true;
		zk_qnet_nodelay(bufferevent_getfd(bev));
		bufferevent_set_timeouts(bev, NULL, NULL);
		bufferevent_enable(bev, EV_READ | EV_WRITE);
		zk_logf(&q->log, ZK_LOG_INFO, "quorum link connected link=0x%" PRIx64 " sid=%" PRId64 " remote=%s", l->id,
			l->sid, l->remote);
		zk_peer_qlink_open(q->peer, zk_qnet_now(), l->id, false, zk_io_out(q->io));
		zk_io_apply(q->io);
		return;
	}
	if (!l->connected)
		zk_logf(&q->log, ZK_LOG_WARN, "cannot connect quorum link=0x%" PRIx64 " sid=%" PRId64 " addr=%s: %s", l->id,
			l->sid, l->remote, zk_qnet_event_what(what));
	else if (l->closing)
		zk_logf(&q->log, ZK_LOG_INFO, "quorum link=0x%" PRIx64 " remote=%s closed before its output drained: %s",
			l->id, l->remote, zk_qnet_event_what(what));
	else
		zk_logf(&q->log, ZK_LOG_INFO, "quorum link down link=0x%" PRIx64 " remote=%s: %s", l->id, l->remote,
			zk_qnet_event_what(what));
	qlink_gone(l, true);
}

static void qlink_dial(struct zk_io_quorum *q, uint64_t id, int64_t sid, bool master)
{
	if (find_link(q, id)) {
		/* A peer bug; answering "closed" would also end the link that holds the id. */
		zk_logf(&q->log, ZK_LOG_ERROR, "DIAL link=0x%" PRIx64 " sid=%" PRId64 " ignored: link id in use", id, sid);
		return;
	}
	const struct zk_cfg_server *srv = server_of(q, sid);
	struct sockaddr_storage ss;
	socklen_t ss_len = 0;
	const char *why = NULL;
	if (!ZK_LINK_IS_QUORUM(id) || !(id & ZK_LINK_QUORUM_DIAL_BIT))
		why = "link id outside the dial range";
	else if (!srv || sid == q->myid)
		why = "not another server of the configuration";
	else if (!zk_io_elect_addr(q->elect, sid, &ss, &ss_len))
		why = "host not resolved (yet)";
	if (why) {
		zk_logf(&q->log, ZK_LOG_WARN, "cannot dial quorum link=0x%" PRIx64 " sid=%" PRId64 ": %s", id, sid, why);
		zk_peer_qlink_closed(q->peer, zk_qnet_now(), id, zk_io_out(q->io));
		return;
	}
	/* An observer master listens on observerMasterPort at the host of its quorum address. */
	int port = master ? q->cfg.observer_master_port : srv->quorum_port;
	zk_qnet_set_port(&ss, port);
	char text[ZK_QNET_ADDR_TEXT_MAX];
	zk_qnet_host_port(text, sizeof(text), srv->host, port);
	struct bufferevent *bev = bufferevent_socket_new(q->base, -1, BEV_OPT_CLOSE_ON_FREE);
	struct qlink *l = bev ? qlink_new(q, id, sid, bev, text) : NULL;
	if (!l) {
		zk_peer_qlink_closed(q->peer, zk_qnet_now(), id, zk_io_out(q->io));
		return;
	}
	struct timeval tv = zk_qnet_tv(q->qdial_timeout_ms);
	bufferevent_set_timeouts(bev, NULL, &tv);
	zk_logf(&q->log, ZK_LOG_INFO, "dialling quorum link=0x%" PRIx64 " sid=%" PRId64 " addr=%s", id, sid, text);
	if (bufferevent_socket_connect(bev, (struct sockaddr *)&ss, (int)ss_len) < 0) {
		zk_logf(&q->log, ZK_LOG_WARN, "cannot connect quorum link=0x%" PRIx64 " addr=%s: %s", id, text, strerror(errno));
		qlink_gone(l, true);
	}
}

static void qlink_send(struct zk_io_quorum *q, uint64_t id, const uint8_t *data, size_t len)
{
	struct qlink *l = find_link(q, id);
	if (!l || l->closing) {
		zk_logf(&q->log, ZK_LOG_DEBUG, "send on quorum link=0x%" PRIx64 " dropped: %s", id, l ? "closing" : "no such link");
		return;
	}
	if (len > l->send_max)
		l->send_max = len;
	if (q->log.max_level >= ZK_LOG_DEBUG && len >= 12)
		zk_logf(&q->log, ZK_LOG_DEBUG, "quorum link=0x%" PRIx64 " send %s zxid=0x%" PRIx64 " bytes=%zu", id,
			zk_qpkt_type_name((int32_t)zk_get_be32(data)), zk_get_be64(data + 4), len);
	struct evbuffer *out = bufferevent_get_output(l->bev);
	if (bufferevent_write(l->bev, data, len)) {
		zk_logf(&q->log, ZK_LOG_ERROR, "closing quorum link=0x%" PRIx64 " remote=%s: out of memory", id, l->remote);
		qlink_drop(l);
		return;
	}
	/* A learner that stops reading must not make us buffer without bound. A SNAP is sent as one
	 * item, so the cap is counted beyond the largest single send. */
	size_t pending = evbuffer_get_length(out);
	if (pending > QLINK_OUT_CAP_BYTES + l->send_max) {
		zk_logf(&q->log, ZK_LOG_WARN, "closing quorum link=0x%" PRIx64 " remote=%s: not reading, pending_bytes=%zu",
			id, l->remote, pending);
		qlink_drop(l);
	}
}

static void qlink_close(struct zk_io_quorum *q, uint64_t id, enum zk_close_reason reason)
{
	struct qlink *l = find_link(q, id);
	if (!l || l->closing)
		return;
	zk_logf(&q->log, ZK_LOG_INFO, "closing quorum link=0x%" PRIx64 " remote=%s reason=%s", id, l->remote,
		zk_close_reason_str(reason));
	l->closing = true;
	bufferevent_disable(l->bev, EV_READ);
	if (!l->connected || evbuffer_get_length(bufferevent_get_output(l->bev)) == 0) {
		qlink_gone(l, true);
		return;
	}
	struct timeval tv = {QLINK_FLUSH_TIMEOUT_S, 0};
	bufferevent_set_timeouts(l->bev, NULL, &tv);
}

/* ---- Files: myid, epochs, truncation, snapshots ---- */

#define LONG_LINE_MAX 64

/* Long.parseLong: an optional sign and 1..19 digits, nothing else. */
static int parse_long(const char *s, size_t n, int64_t *v)
{
	size_t i = (n > 0 && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
	if (i == n || n - i > 19)
		return ZK_EINVAL;
	for (size_t k = i; k < n; k++)
		if (s[k] < '0' || s[k] > '9')
			return ZK_EINVAL;
	char buf[LONG_LINE_MAX + 1];
	memcpy(buf, s, n);
	buf[n] = '\0';
	errno = 0;
	long long x = strtoll(buf, NULL, 10);
	if (errno == ERANGE)
		return ZK_EINVAL;
	*v = x;
	return 0;
}

int zk_io_quorum_read_long(const char *path, int64_t *v)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? ZK_ENOENT : ZK_EIO;
	char buf[LONG_LINE_MAX + 1];
	size_t got = 0;
	while (got < sizeof(buf)) {
		ssize_t r = read(fd, buf + got, sizeof(buf) - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			close(fd);
			return ZK_EIO;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	size_t line = 0;
	while (line < got && buf[line] != '\n' && buf[line] != '\r')
		line++;
	if (line > LONG_LINE_MAX)
		return ZK_EINVAL;
	return parse_long(buf, line, v);
}

static int epoch_path(char *out, size_t len, const char *data_dir, const char *name, const char *suffix)
{
	int n = snprintf(out, len, "%s/version-2/%s%s", data_dir, name, suffix);
	return (n < 0 || (size_t)n >= len) ? ZK_ERANGE : 0;
}

int zk_io_quorum_epoch_read(const char *data_dir, const char *name, int64_t *epoch)
{
	char path[ZK_CFG_PATH_MAX + 64];
	if (epoch_path(path, sizeof(path), data_dir, name, ""))
		return ZK_ERANGE;
	return zk_io_quorum_read_long(path, epoch);
}

static int sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	int e = fsync(fd) ? errno : 0;
	close(fd);
	return e;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? errno : EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int zk_io_quorum_epoch_write(const char *data_dir, const char *name, int64_t epoch, char *err, size_t err_len)
{
	char dir[ZK_CFG_PATH_MAX + 16], path[ZK_CFG_PATH_MAX + 64], tmp[ZK_CFG_PATH_MAX + 64];
	if (zk_fs_join(dir, sizeof(dir), data_dir, "version-2") || epoch_path(path, sizeof(path), data_dir, name, "") ||
	    epoch_path(tmp, sizeof(tmp), data_dir, name, ".tmp")) {
		snprintf(err, err_len, "dataDir is too long");
		return ZK_ERANGE;
	}
	char text[32];
	int n = snprintf(text, sizeof(text), "%" PRId64, epoch);
	const char *what = "open";
	int e = 0;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		e = errno;
	if (!e && (e = write_all(fd, text, (size_t)n)) != 0)
		what = "write";
	if (!e && fsync(fd)) {
		e = errno;
		what = "fsync";
	}
	if (fd >= 0 && close(fd) && !e) {
		e = errno;
		what = "close";
	}
	if (!e && rename(tmp, path)) {
		e = errno;
		what = "rename";
	}
	if (e) {
		if (fd >= 0)
			unlink(tmp); /* never renamed: a half-written tmp must not look like an interrupted write */
		snprintf(err, err_len, "%s %s%s%s: %s", what, tmp, strcmp(what, "rename") ? "" : " to ",
			 strcmp(what, "rename") ? "" : path, strerror(e));
		return (e == ENOSPC || e == EDQUOT) ? ZK_ENOSPC : ZK_EIO;
	}
	if ((e = sync_dir(dir)) != 0) {
		snprintf(err, err_len, "fsync %s: %s", dir, strerror(e));
		return ZK_EIO;
	}
	return 0;
}

static int replay_cb(void *ctx, const uint8_t *txn, size_t len, int64_t zxid)
{
	(void)zxid;
	return zk_server_replay(ctx, txn, len);
}

int zk_io_quorum_truncate(const struct zk_config *cfg, struct zk_server *core, struct zk_disk *disk, int64_t zxid,
                          const struct zk_logger *log)
{
	zk_logf(log, ZK_LOG_INFO, "truncating the txn log to zxid=0x%" PRIx64, (uint64_t)zxid);
	int rc = zk_disk_truncate(disk, zxid);
	if (!rc) {
		int k = zk_snap_remove_after(cfg->data_dir, zxid, log);
		rc = k < 0 ? k : 0;
	}
	if (!rc)
		rc = zk_server_reset_db(core, zk_qnet_now());
	int64_t snap_zxid = 0, last = 0;
	if (!rc) {
		rc = zk_snap_load_newest(zk_server_db(core), cfg->data_dir, &snap_zxid, log, NULL);
		if (rc == ZK_ENOENT) { /* none left: the logs start from an empty tree */
			snap_zxid = 0;
			rc = 0;
		}
	}
	if (!rc)
		rc = zk_disk_recover(cfg->data_log_dir, snap_zxid, replay_cb, core, log, &last);
	if (rc) {
		zk_logf(log, ZK_LOG_ERROR, "truncation to zxid=0x%" PRIx64 " failed rc=%d", (uint64_t)zxid, rc);
		return rc;
	}
	zk_server_loaded(core, zk_qnet_now());
	zk_logf(log, last == zxid ? ZK_LOG_INFO : ZK_LOG_WARN,
		"database reloaded after truncation zxid=0x%" PRIx64 " snapshot=0x%" PRIx64 " last_zxid=0x%" PRIx64,
		(uint64_t)zxid, (uint64_t)snap_zxid, (uint64_t)last);
	return 0;
}

/* An epoch file that is not durable must not be acted on: what the peer sends after it (ACKEPOCH,
 * NEWLEADER's ACK) would promise what the disk does not hold. Dropping every quorum link drops
 * those sends, and the peer goes back to election, as ZooKeeper does on this IOException. */
static void epoch_item(struct zk_io_quorum *q, const struct zk_out_item *it)
{
	const char *name = it->reason == ZK_EPOCH_ACCEPTED  ? ZK_EPOCH_FILE_ACCEPTED
			   : it->reason == ZK_EPOCH_CURRENT ? ZK_EPOCH_FILE_CURRENT
							    : NULL;
	char err[512];
	int rc = name ? zk_io_quorum_epoch_write(q->cfg.data_dir, name, (int64_t)it->token, err, sizeof(err)) : ZK_EINVAL;
	if (!name)
		snprintf(err, sizeof(err), "unknown epoch file %d", (int)it->reason);
	if (!rc) {
		zk_logf(&q->log, ZK_LOG_INFO, "wrote %s=%" PRId64, name, (int64_t)it->token);
		return;
	}
	zk_logf(&q->log, ZK_LOG_ERROR, "cannot write epoch file=%s epoch=%" PRId64 ": %s; dropping every quorum link",
		name ? name : "?", (int64_t)it->token, err);
	struct qlink *l, *t;
	HASH_ITER(hh, q->links, l, t) qlink_drop(l);
}

static void truncate_item(struct zk_io_quorum *q, int64_t zxid)
{
	/* A snapshot being written may be newer than the cut: it must not land afterwards. */
	zk_io_cancel_snapshot(q->io);
	int rc = zk_io_quorum_truncate(&q->cfg, zk_io_core(q->io), zk_io_disk(q->io), zxid, &q->log);
	zk_peer_truncated(q->peer, zk_qnet_now(), rc, zk_io_out(q->io));
}

/* After a SNAP sync: the database came from the leader, not from our log, so it must be on disk
 * before the txns that follow it are logged. ZooKeeper exits when it cannot (takeSnapshot with
 * syncSnap): going on would log txns that no snapshot on disk leads up to. */
static void snapshot_item(struct zk_io_quorum *q)
{
	const struct zk_db *db = zk_server_db(zk_io_core(q->io));
	char err[512] = "txn log roll failed";
	int rc = zk_disk_roll(zk_io_disk(q->io));
	if (!rc)
		rc = zk_snap_save(db, db->last_zxid, q->cfg.data_dir, q->cfg.force_sync ? 0 : ZK_SNAP_SAVE_NO_FSYNC, err,
				  sizeof(err));
	if (rc) {
		zk_logf(&q->log, ZK_LOG_ERROR, "severe unrecoverable error, exiting: cannot write snapshot zxid=0x%" PRIx64
			" rc=%d: %s", (uint64_t)db->last_zxid, rc, err);
		exit(EXIT_SNAPSHOT_FAILED);
	}
	zk_logf(&q->log, ZK_LOG_INFO, "snapshot written zxid=0x%" PRIx64 " (sync)", (uint64_t)db->last_zxid);
}

/* ---- Output dispatch (zk_io_quorum_ops.apply) ---- */

static void apply_cb(void *ctx, const struct zk_out_item *it, const uint8_t *data)
{
	struct zk_io_quorum *q = ctx;
	switch (it->kind) {
	case ZK_OUT_SEND:
		if (ZK_LINK_IS_ELECT(it->conn_id))
			zk_io_elect_send(q->elect, it->conn_id, data, it->len);
		else
			qlink_send(q, it->conn_id, data, it->len);
		break;
	case ZK_OUT_CLOSE:
		if (ZK_LINK_IS_ELECT(it->conn_id))
			zk_io_elect_close(q->elect, it->conn_id, it->reason);
		else
			qlink_close(q, it->conn_id, it->reason);
		break;
	case ZK_OUT_DIAL:
		qlink_dial(q, it->conn_id, (int64_t)it->token, it->reason == ZK_DIAL_OBSERVER_MASTER);
		break;
	case ZK_OUT_EPOCH:
		epoch_item(q, it);
		break;
	case ZK_OUT_TRUNCATE:
		truncate_item(q, (int64_t)it->token);
		break;
	case ZK_OUT_SNAPSHOT:
		snapshot_item(q);
		break;
	default:
		zk_logf(&q->log, ZK_LOG_WARN, "output kind=%d conn=0x%" PRIx64 " not for the quorum shell", (int)it->kind,
			it->conn_id);
		break;
	}
}

/* ---- The quorum port ----
 * Bound only while we lead, as ZooKeeper's leader binds it when it starts leading and closes it
 * when it stops (LearnerCnxAcceptor): a learner that dials a server not leading (yet) is refused
 * and retries (Learner.connectToLeader), where a connection accepted and then closed would send
 * it back to election, which an Apache follower does after its first EOF. */

static struct evconnlistener *bind_quorum_port(struct zk_io_quorum *q)
{
	return evconnlistener_new_bind(q->base, qlink_accept_cb, q, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, -1,
				       (struct sockaddr *)&q->lst_addr, (int)q->lst_len);
}

/* The observer-master port follows the peer the same way: bound while it serves observers. */
static void sync_om_listener(struct zk_io_quorum *q)
{
	bool want = q->cfg.observer_master_port > 0 && zk_peer_om_active(q->peer);
	if (want == (q->om_lst != NULL))
		return;
	if (!want) {
		evconnlistener_free(q->om_lst);
		q->om_lst = NULL;
		zk_logf(&q->log, ZK_LOG_INFO, "observer master port %d closed", q->cfg.observer_master_port);
		return;
	}
	q->om_lst = evconnlistener_new_bind(q->base, qlink_accept_cb, q, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, -1,
					    (struct sockaddr *)&q->om_addr, (int)q->om_len);
	if (!q->om_lst)
		zk_logf(&q->log, ZK_LOG_WARN, "cannot listen on observer master port %d: %s (retrying)",
			q->cfg.observer_master_port, strerror(errno));
	else
		zk_logf(&q->log, ZK_LOG_INFO, "observer master port %d open", q->cfg.observer_master_port);
}

static void sync_listener(void *ctx)
{
	struct zk_io_quorum *q = ctx;
	sync_om_listener(q);
	bool want = zk_peer_state(q->peer) == ZK_PS_LEADING;
	if (want == (q->lst != NULL))
		return;
	if (!want) {
		evconnlistener_free(q->lst);
		q->lst = NULL;
		zk_logf(&q->log, ZK_LOG_INFO, "quorum port closed addr=%s (not leading)", q->lst_text);
		return;
	}
	int64_t t = zk_qnet_now().mono_ms;
	if (q->bind_failed_ms && t - q->bind_failed_ms < BIND_RETRY_MS)
		return;
	q->lst = bind_quorum_port(q);
	if (!q->lst) {
		q->bind_failed_ms = t;
		zk_logf(&q->log, ZK_LOG_WARN, "cannot listen on quorum port addr=%s while leading: %s (retrying)",
			q->lst_text, strerror(errno));
		return;
	}
	q->bind_failed_ms = 0;
	zk_logf(&q->log, ZK_LOG_INFO, "quorum port open addr=%s (leading)", q->lst_text);
}

/* ---- Set-up ---- */

struct zk_io_quorum *zk_io_quorum_new(const struct zk_config *cfg, int64_t myid, struct zk_io *io,
                                      struct zk_peer *peer, const struct zk_logger *log, char *err, size_t err_len)
{
	struct zk_io_quorum *q = calloc(1, sizeof(*q));
	if (!q) {
		snprintf(err, err_len, "out of memory");
		return NULL;
	}
	q->io = io;
	q->peer = peer;
	q->cfg = *cfg;
	q->myid = myid;
	q->log = *log;
	q->base = zk_io_base(io);
	/* Learner.connectToLeader's connect timeout: tickTime * initLimit. */
	int64_t qd = (int64_t)cfg->tick_time_ms * cfg->init_limit;
	q->qdial_timeout_ms = qd > 0 && qd < INT32_MAX ? (int)qd : QDIAL_TIMEOUT_MS;
	q->elect = zk_io_elect_new(&q->cfg, myid, io, peer, log, err, err_len);
	if (!q->elect)
		goto fail;
	const struct zk_cfg_server *me = server_of(q, myid); /* zk_io_elect_new checked it exists */
	zk_io_elect_self_addr(q->elect, &q->lst_addr, &q->lst_len);
	zk_qnet_set_port(&q->lst_addr, me->quorum_port);
	zk_qnet_sa_text((struct sockaddr *)&q->lst_addr, q->lst_text, sizeof(q->lst_text));
	q->om_addr = q->lst_addr;
	q->om_len = q->lst_len;
	if (cfg->observer_master_port > 0)
		zk_qnet_set_port(&q->om_addr, cfg->observer_master_port);
	/* Bound once now, so that a port in use or a foreign address stops start-up with a message,
	 * then closed until we lead. */
	struct evconnlistener *probe = bind_quorum_port(q);
	if (!probe) {
		snprintf(err, err_len, "cannot listen on %s (quorum port of server.%" PRId64 "): %s", q->lst_text, myid,
			 strerror(errno));
		goto fail;
	}
	evconnlistener_free(probe);
	struct zk_io_quorum_ops ops = {q, apply_cb, sync_listener};
	zk_io_set_quorum(io, &ops);
	char qtext[ZK_QNET_ADDR_TEXT_MAX], etext[ZK_QNET_ADDR_TEXT_MAX];
	zk_qnet_host_port(qtext, sizeof(qtext), me->host, me->quorum_port);
	zk_qnet_host_port(etext, sizeof(etext), me->host, me->election_port);
	zk_logf(&q->log, ZK_LOG_INFO, "quorum ports myid=%" PRId64 " quorum=%s election=%s listen=%s servers=%d", myid, qtext,
		etext, cfg->quorum_listen_on_all_ips ? "all-interfaces" : "server-address", cfg->n_servers);
	return q;
fail:
	zk_io_quorum_free(q);
	return NULL;
}

void zk_io_quorum_free(struct zk_io_quorum *q)
{
	if (!q)
		return;
	zk_io_set_quorum(q->io, NULL);
	if (q->lst)
		evconnlistener_free(q->lst);
	if (q->om_lst)
		evconnlistener_free(q->om_lst);
	struct qlink *l, *t;
	HASH_ITER(hh, q->links, l, t) qlink_gone(l, false);
	zk_io_elect_free(q->elect);
	free(q);
}
