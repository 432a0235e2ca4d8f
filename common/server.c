/* Server core: connections, dispatch, the handshake, the commit queue and deadlines. The
 * pipeline: a write is prepped at once (prep.c) into a txn with the next zxid, persisted under
 * that zxid as token, and applied when disk_done says it is durable; its reply follows the watch
 * events it fires. Each connection keeps a queue so replies leave in request order: reads that
 * arrive behind a pending write of the same connection wait for it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utlist.h>

#include "errors.h"
#include "proto.h"
#include "server_int.h"
#include "zmalloc.h"


struct zk_conn *zk_conn_get(struct zk_server *s, uint64_t id)
{
	struct zk_conn *c;
	HASH_FIND(hh, s->conns, &id, sizeof(id), c);
	return c;
}

bool zk_op_is_write(int32_t op)
{
	switch (op) {
	case ZK_OP_CREATE:
	case ZK_OP_CREATE2:
	case ZK_OP_CREATECONTAINER:
	case ZK_OP_CREATETTL:
	case ZK_OP_DELETE:
	case ZK_OP_DELETECONTAINER:
	case ZK_OP_SETDATA:
	case ZK_OP_SETACL:
	case ZK_OP_MULTI:
	case ZK_OP_RECONFIG:
	case ZK_OP_CLOSESESSION:
		return true;
	default:
		return false;
	}
}

const char *zk_op_tag(int32_t op)
{
	switch (op) {
	case ZK_OP_CREATE: case ZK_OP_CREATE2: case ZK_OP_CREATECONTAINER: case ZK_OP_CREATETTL: return "CREA";
	case ZK_OP_DELETE: case ZK_OP_DELETECONTAINER: return "DELE";
	case ZK_OP_EXISTS: return "EXIS";
	case ZK_OP_GETDATA: return "GETD";
	case ZK_OP_SETDATA: return "SETD";
	case ZK_OP_GETACL: return "GETA";
	case ZK_OP_SETACL: return "SETA";
	case ZK_OP_GETCHILDREN: case ZK_OP_GETCHILDREN2: return "GETC";
	case ZK_OP_SYNC: return "SYNC";
	case ZK_OP_PING: return "PING";
	case ZK_OP_MULTI: return "MULT";
	case ZK_OP_MULTIREAD: return "MLTR";
	case ZK_OP_CLOSESESSION: return "CLOS";
	case ZK_OP_CREATESESSION: return "SESS";
	case ZK_OP_SETWATCHES: case ZK_OP_SETWATCHES2: return "SETW";
	case ZK_OP_ADDWATCH: return "ADDW";
	case ZK_OP_REMOVEWATCHES: return "REMW";
	case ZK_OP_CHECKWATCHES: return "CHKW";
	case ZK_OP_GETEPHEMERALS: return "GETE";
	case ZK_OP_GETALLCHILDRENNUMBER: return "GETN";
	case ZK_OP_WHOAMI: return "HOMI";
	default: return "NA";
	}
}

static void on_watch_fire(void *ctx, uint64_t watcher, int type, const char *path, size_t len)
{
	struct zk_server *s = ctx;
	struct zk_conn *c = zk_conn_get(s, watcher);
	if (!c || c->state == ZK_CONN_CLOSING || !s->cur_out)
		return;
	size_t mark;
	struct zk_wbuf *w = zk_out_send_begin(s->cur_out, &mark);
	zk_notification_write(w, type, path, len);
	zk_out_send_end(s->cur_out, c->id, mark);
	c->st.sent++;
	s->st.packets_sent++;
}

void zk_server_tree_event(void *ctx, int type, const char *path, size_t len)
{
	struct zk_server *s = ctx;
	zk_watches_trigger(&s->watches, type, path, len, on_watch_fire, s);
}

struct zk_server *zk_server_new(const struct zk_config *cfg, struct zk_now now, const struct zk_logger *log)
{
	struct zk_server *s = zk_calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->cfg = *cfg;
	if (log)
		s->log = *log;
	if (zk_db_init(&s->db, cfg->tick_time_ms, 1, now.mono_ms)) {
		zk_free(s);
		return NULL;
	}
	s->db.tree.on_event = zk_server_tree_event;
	s->db.tree.event_ctx = s;
	zk_sessions_init(&s->local, cfg->tick_time_ms, 1, now.mono_ms);
	zk_watches_init(&s->watches);
	zk_changes_init(&s->changes);
	zk_wbuf_init(&s->txn);
	zk_wbuf_init(&s->scratch);
	zk_wbuf_init(&s->pathbuf);
	s->next_zxid = s->db.last_zxid;
	s->durable_zxid = s->db.last_zxid;
	s->st.start_mono_ms = now.mono_ms;
	s->st.start_wall_ms = now.wall_ms;
	s->st.lat_min = -1;
	s->next_reap_mono_ms = now.mono_ms + cfg->container_check_interval_ms;
	if (zk_commitlog_init(&s->commitlog, ZK_COMMITLOG_COUNT_DEFAULT)) {
		zk_server_free(s);
		return NULL;
	}
	return s;
}

void zk_pending_free(struct zk_pending *p)
{
	if (!p)
		return;
	zk_free(p->buf);
	zk_free(p);
}

/* Empties the connection's queue: reads are freed, writes stay in the commit queue, detached
 * (disk_done frees a write that is in no connection queue). */
void zk_conn_drop_queue(struct zk_server *s, struct zk_conn *c)
{
	struct zk_pending *p = c->qhead;
	while (p) {
		struct zk_pending *n = p->next;
		p->in_conn_queue = false;
		p->next = NULL;
		if (p->kind == ZK_PEND_READ || p->conn_only) {
			if (p->kind == ZK_PEND_READ || p->kind == ZK_PEND_SYNC)
				s->queued_reads--;
			zk_pending_free(p);
		}
		p = n;
	}
	c->qhead = c->qtail = NULL;
	c->qlen = 0;
}

static void conn_free(struct zk_server *s, struct zk_conn *c)
{
	zk_conn_drop_queue(s, c);
	struct zk_ip_count *ipc;
	HASH_FIND_STR(s->ip_counts, c->ip, ipc);
	if (ipc && --ipc->count <= 0) {
		HASH_DEL(s->ip_counts, ipc);
		zk_free(ipc);
	}
	zk_watches_remove_watcher(&s->watches, c->id);
	struct zk_sessions *tab = zk_session_table(s, c->session_id);
	struct zk_session *ss = c->session_id ? zk_sessions_get(tab, c->session_id) : NULL;
	if (ss && ss->conn_id == c->id)
		ss->conn_id = 0;
	HASH_DEL(s->conns, c);
	s->conn_count--;
	zk_free(c);
}

void zk_server_free(struct zk_server *s)
{
	if (!s)
		return;
	struct zk_conn *c, *ct;
	HASH_ITER(hh, s->conns, c, ct) conn_free(s, c);
	struct zk_pending *p = s->commit_head;
	while (p) {
		struct zk_pending *n = p->cnext;
		zk_pending_free(p);
		p = n;
	}
	zk_changes_fini(&s->changes, &s->db.tree.acls);
	zk_watches_fini(&s->watches);
	zk_txn_result_fini(&s->res);
	zk_wbuf_fini(&s->txn);
	zk_wbuf_fini(&s->scratch);
	zk_wbuf_fini(&s->pathbuf);
	zk_db_fini(&s->db);
	zk_sessions_fini(&s->local);
	zk_commitlog_fini(&s->commitlog);
	struct zk_pend_session *ps, *pt;
	HASH_ITER(hh, s->pend_sessions, ps, pt) {
		HASH_DEL(s->pend_sessions, ps);
		zk_free(ps);
	}
	zk_free(s->touched);
	zk_free(s->syncs);
	zk_free(s);
}

void zk_server_close_conn(struct zk_server *s, struct zk_conn *c, enum zk_close_reason why, struct zk_out *out)
{
	if (c->state == ZK_CONN_CLOSING)
		return;
	c->state = ZK_CONN_CLOSING;
	s->st.closes[why]++;
	zk_logf(&s->log, why == ZK_CLOSE_FOURLW_DONE ? ZK_LOG_DEBUG : ZK_LOG_INFO,
		"closing connection conn=%llu remote=%s:%d sid=0x%llx reason=%s", (unsigned long long)c->id, c->ip,
		c->port, (unsigned long long)c->session_id, zk_close_reason_str(why));
	zk_out_close(out, c->id, why);
}

int zk_server_conn_open(struct zk_server *s, struct zk_now now, uint64_t conn_id, const char *ip, int port,
                        struct zk_out *out)
{
	if (s->cfg.max_cnxns > 0 && s->conn_count >= (uint32_t)s->cfg.max_cnxns) {
		zk_logf(&s->log, ZK_LOG_WARN, "refusing connection remote=%s:%d reason=maxCnxns limit=%d", ip, port,
			s->cfg.max_cnxns);
		s->st.closes[ZK_CLOSE_TOO_MANY]++;
		zk_out_close(out, conn_id, ZK_CLOSE_TOO_MANY);
		return -1;
	}
	struct zk_ip_count *ipc;
	HASH_FIND_STR(s->ip_counts, ip, ipc);
	if (s->cfg.max_client_cnxns > 0 && ipc && ipc->count >= s->cfg.max_client_cnxns) {
		zk_logf(&s->log, ZK_LOG_WARN, "too many connections from %s - max is %d", ip, s->cfg.max_client_cnxns);
		s->st.closes[ZK_CLOSE_TOO_MANY]++;
		zk_out_close(out, conn_id, ZK_CLOSE_TOO_MANY);
		return -1;
	}
	struct zk_conn *c = zk_calloc(1, sizeof(*c));
	if (!ipc) {
		ipc = zk_calloc(1, sizeof(*ipc));
		if (ipc) {
			snprintf(ipc->ip, sizeof(ipc->ip), "%s", ip);
			HASH_ADD_STR(s->ip_counts, ip, ipc);
		}
	}
	if (!c || !ipc) {
		zk_free(c);
		zk_out_close(out, conn_id, ZK_CLOSE_NOMEM);
		return -1;
	}
	ipc->count++;
	c->id = conn_id;
	snprintf(c->ip, sizeof(c->ip), "%s", ip);
	c->port = port;
	c->opened_mono_ms = now.mono_ms;
	c->est_wall_ms = now.wall_ms;
	c->st.lat_min = -1;
	zk_auth_init_ip(&c->auth, ip);
	HASH_ADD(hh, s->conns, id, sizeof(c->id), c);
	s->conn_count++;
	return 0;
}

void zk_server_conn_closed(struct zk_server *s, struct zk_now now, uint64_t conn_id)
{
	(void)now;
	struct zk_conn *c = zk_conn_get(s, conn_id);
	if (c)
		conn_free(s, c);
}

void zk_conn_note_reply(struct zk_server *s, struct zk_conn *c, int32_t op, int32_t xid, int64_t zxid,
                        int64_t recv_mono_ms)
{
	int64_t lat = s->cur_now.mono_ms - recv_mono_ms;
	if (lat < 0)
		lat = 0;
	c->st.sent++;
	s->st.packets_sent++;
	snprintf(c->st.last_op, sizeof(c->st.last_op), "%s", zk_op_tag(op)); /* tags are 2 or 4 chars */
	c->st.last_cxid = xid;
	c->st.last_zxid = zxid;
	c->st.last_resp_wall_ms = s->cur_now.wall_ms;
	c->st.lat_last = lat;
	if (c->st.lat_min < 0 || lat < c->st.lat_min)
		c->st.lat_min = lat;
	if (lat > c->st.lat_max)
		c->st.lat_max = lat;
	c->st.lat_sum += lat;
	c->st.lat_cnt++;
	if (op != ZK_OP_PING) {
		if (s->st.lat_min < 0 || lat < s->st.lat_min)
			s->st.lat_min = lat;
		if (lat > s->st.lat_max)
			s->st.lat_max = lat;
		s->st.lat_sum += lat;
		s->st.lat_cnt++;
	}
}

void zk_send_header(struct zk_server *s, struct zk_conn *c, int32_t xid, int64_t zxid, int32_t err, struct zk_out *out)
{
	(void)s;
	size_t mark;
	struct zk_wbuf *w = zk_out_send_begin(out, &mark);
	size_t f = zk_jw_frame_begin(w);
	zk_reply_header_write(w, xid, zxid, err);
	zk_jw_frame_end(w, f);
	zk_out_send_end(out, c->id, mark);
}


void zk_queue_push(struct zk_conn *c, struct zk_pending *p)
{
	p->next = NULL;
	p->in_conn_queue = true;
	if (c->qtail)
		c->qtail->next = p;
	else
		c->qhead = p;
	c->qtail = p;
	c->qlen++;
}

void zk_queue_pop(struct zk_conn *c)
{
	struct zk_pending *p = c->qhead;
	c->qhead = p->next;
	if (!c->qhead)
		c->qtail = NULL;
	c->qlen--;
	p->next = NULL;
	p->in_conn_queue = false;
}

/* Takes the txn in s->txn into the pipeline: commit queue, persist output. */
struct zk_pending *zk_submit(struct zk_server *s, enum zk_pending_kind kind, struct zk_conn *c,
                                 int64_t session_id, int32_t xid, int32_t op, int64_t zxid, struct zk_out *out)
{
	struct zk_pending *p = zk_calloc(1, sizeof(*p));
	uint8_t *buf = zk_malloc(s->txn.len);
	if (!p || !buf || s->txn.err) {
		zk_free(p);
		zk_free(buf);
		return NULL;
	}
	memcpy(buf, s->txn.p, s->txn.len);
	p->kind = kind;
	p->conn_id = c ? c->id : 0;
	p->session_id = session_id;
	p->xid = xid;
	p->op = op;
	p->zxid = zxid;
	p->recv_mono_ms = s->cur_now.mono_ms;
	p->buf = buf;
	p->len = s->txn.len;
	if (s->commit_tail)
		s->commit_tail->cnext = p;
	else
		s->commit_head = p;
	s->commit_tail = p;
	s->commit_len++;
	if (c && kind != ZK_PEND_INTERNAL)
		zk_queue_push(c, p);
	zk_out_persist(out, (uint64_t)zxid, p->buf, p->len);
	if (s->mode == ZK_MODE_LEADER && s->repl.proposed)
		s->repl.proposed(s->repl.ctx, zxid, p->buf, p->len, out);
	return p;
}



static void handle_request(struct zk_server *s, struct zk_conn *c, const uint8_t *p, size_t len, struct zk_out *out)
{
	if (len < 8) {
		zk_logf(&s->log, ZK_LOG_WARN, "short request header remote=%s:%d len=%zu", c->ip, c->port, len);
		zk_server_close_conn(s, c, ZK_CLOSE_BAD_REQUEST, out);
		return;
	}
	int32_t xid = (int32_t)zk_get_be32(p);
	int32_t op = (int32_t)zk_get_be32(p + 4);
	const uint8_t *body = p + 8;
	size_t blen = len - 8;
	/* Auth is answered at once, ahead of queued requests, as ZooKeeper's I/O thread does; but
	 * not ahead of the ConnectResponse (ZooKeeper reads nothing more until it is sent): then it
	 * queues behind the createSession like a read. */
	if (op == ZK_OP_AUTH && !(c->qhead && c->qhead->kind == ZK_PEND_CONNECT)) {
		zk_handshake_auth(s, c, body, blen, out);
		return;
	}
	if (!zk_sessions_touch(zk_session_table(s, c->session_id), c->session_id, s->cur_now.mono_ms)) {
		zk_logf(&s->log, ZK_LOG_DEBUG, "dropping request of closed session sid=0x%llx xid=%d op=%d",
			(unsigned long long)c->session_id, xid, op);
		return;
	}
	/* A local session's closeSession first: read-only mode lets that one through, as
	 * ReadOnlyRequestProcessor does. */
	if (zk_local_close_request(s, c, xid, op, p, len, out) || zk_local_readonly_refuse(s, c, xid, op, out))
		return;
	if (s->mode == ZK_MODE_LEARNER) {
		zk_repl_touched(s, c);
		if (zk_op_is_write(op) || op == ZK_OP_SYNC) {
			zk_repl_forward(s, c, xid, op, p, len, out);
			return;
		}
	}
	if (zk_op_is_write(op) && s->read_only) {
		/* The log cannot take writes (full disk, failed fsync): refuse them, keep serving reads. */
		zk_send_header(s, c, xid, s->db.last_zxid, ZNOTREADONLY, out);
		zk_conn_note_reply(s, c, op, xid, s->db.last_zxid, s->cur_now.mono_ms);
		return;
	}
	if (zk_op_is_write(op)) {
		int64_t zxid = ++s->next_zxid;
		if (op == ZK_OP_CLOSESESSION)
			zk_prep_close_session(s, c->session_id, xid, zxid);
		else
			zk_prep(s, c, c->session_id, xid, op, body, blen, zxid);
		if (!zk_submit(s, ZK_PEND_WRITE, c, c->session_id, xid, op, zxid, out))
			zk_server_close_conn(s, c, ZK_CLOSE_NOMEM, out);
		return;
	}
	if (!c->qhead) {
		zk_final_read(s, c, xid, op, body, blen, s->cur_now.mono_ms, out);
		return;
	}
	zk_queue_read(s, c, xid, op, p, len, out);
}

void zk_queue_read(struct zk_server *s, struct zk_conn *c, int32_t xid, int32_t op, const uint8_t *p, size_t len,
                   struct zk_out *out)
{
	struct zk_pending *q = zk_calloc(1, sizeof(*q));
	uint8_t *copy = zk_malloc(len);
	if (!q || !copy) {
		zk_free(q);
		zk_free(copy);
		zk_server_close_conn(s, c, ZK_CLOSE_NOMEM, out);
		return;
	}
	memcpy(copy, p, len);
	q->kind = ZK_PEND_READ;
	q->conn_id = c->id;
	q->xid = xid;
	q->op = op;
	q->recv_mono_ms = s->cur_now.mono_ms;
	q->buf = copy;
	q->len = len;
	zk_queue_push(c, q);
	s->queued_reads++;
}

void zk_server_frame(struct zk_server *s, struct zk_now now, uint64_t conn_id, const uint8_t *p, size_t len,
                     struct zk_out *out)
{
	struct zk_conn *c = zk_conn_get(s, conn_id);
	if (!c || c->state == ZK_CONN_CLOSING)
		return;
	s->cur_now = now;
	s->cur_out = out;
	c->st.recved++;
	s->st.packets_received++;
	if (c->state == ZK_CONN_NEW)
		zk_handshake_connect(s, c, p, len, out);
	else
		handle_request(s, c, p, len, out);
	s->cur_out = NULL;
}

/* Serves the reads queued behind writes that have now completed. */
void zk_drain(struct zk_server *s, struct zk_conn *c, struct zk_out *out)
{
	while (c->qhead && c->qhead->kind == ZK_PEND_READ && c->state != ZK_CONN_CLOSING) {
		struct zk_pending *p = c->qhead;
		zk_queue_pop(c);
		s->queued_reads--;
		if (p->op == ZK_OP_AUTH)
			zk_handshake_auth(s, c, p->buf + 8, p->len - 8, out);
		else if (p->op == ZK_OP_CLOSESESSION)
			zk_local_close(s, c, p->xid, p->recv_mono_ms, out);
		else
			zk_final_read(s, c, p->xid, p->op, p->buf + 8, p->len - 8, p->recv_mono_ms, out);
		zk_pending_free(p);
	}
}

void zk_finish(struct zk_server *s, struct zk_pending *p, struct zk_out *out)
{
	if (p->kind == ZK_PEND_REMOTE) {
		zk_repl_remote_applied(s, p, out);
		return;
	}
	struct zk_conn *c = p->conn_id ? zk_conn_get(s, p->conn_id) : NULL;
	if (p->kind == ZK_PEND_INTERNAL) {
		/* Session expiry: the connection still bound to it goes. */
		if (c && p->op == ZK_OP_CLOSESESSION)
			zk_server_close_conn(s, c, ZK_CLOSE_SESSION_EXPIRED, out);
		return;
	}
	if (!c || !p->in_conn_queue)
		return; /* the connection went away: the txn stands, the reply has no one to go to */
	if (c->state == ZK_CONN_CLOSING) {
		/* No more replies on it. Its queued reads must go now: left at the head, they would
		 * keep its later writes from ever reaching it, and those would never be freed. */
		zk_conn_drop_queue(s, c);
		return;
	}
	if (c->qhead != p)
		return;
	zk_queue_pop(c);
	if (p->kind == ZK_PEND_CONNECT) {
		zk_logf(&s->log, ZK_LOG_INFO, "established session sid=0x%llx timeout=%d remote=%s:%d",
			(unsigned long long)p->session_id, c->timeout_ms, c->ip, c->port);
		zk_send_connect_response(s, c, true, out);
	} else if (p->op == ZK_OP_CLOSESESSION) {
		zk_send_header(s, c, p->xid, p->zxid, 0, out);
		zk_conn_note_reply(s, c, p->op, p->xid, p->zxid, p->recv_mono_ms);
		zk_server_close_conn(s, c, ZK_CLOSE_SESSION_CLOSED, out);
		return;
	} else {
		zk_final_write_reply(s, c, p, &s->res, out);
	}
	zk_drain(s, c, out);
}

void zk_server_disk_done(struct zk_server *s, struct zk_now now, uint64_t token, int rc, struct zk_out *out)
{
	s->cur_now = now;
	s->cur_out = out;
	if (rc < 0 && !s->read_only) {
		zk_logf(&s->log, ZK_LOG_ERROR, "txn log write failed rc=%d zxid<=0x%llx: no more writes are taken", rc,
			(unsigned long long)token);
		s->read_only = true;
	}
	if (s->mode != ZK_MODE_STANDALONE && s->repl.durable) {
		/* Replicated: durable is not committed; the peer acks and later commits. */
		if (rc == 0 && (int64_t)token > s->durable_zxid)
			s->durable_zxid = (int64_t)token;
		s->repl.durable(s->repl.ctx, now, token, rc, out);
		s->cur_out = NULL;
		return;
	}
	while (s->commit_head && (uint64_t)s->commit_head->zxid <= token) {
		struct zk_pending *p = s->commit_head;
		if (rc == 0) {
			s->durable_zxid = p->zxid;
			zk_apply_head(s, now, out);
			continue;
		}
		s->commit_head = p->cnext;
		if (!s->commit_head)
			s->commit_tail = NULL;
		s->commit_len--;
		/* Not durable: never acknowledge. The client sees its connection drop. */
		struct zk_conn *c = p->conn_id ? zk_conn_get(s, p->conn_id) : NULL;
		if (c) {
			zk_server_close_conn(s, c, ZK_CLOSE_SHUTDOWN, out);
			zk_conn_drop_queue(s, c); /* p may sit in its queue: unlink before freeing */
		}
		zk_pending_free(p);
	}
	s->cur_out = NULL;
}

/* Takes the commit-queue head, applies it and replies (standalone: after its fsync; leader:
 * once a quorum logged it; learner: on the leader's COMMIT). */
void zk_apply_head(struct zk_server *s, struct zk_now now, struct zk_out *out)
{
	struct zk_pending *p = s->commit_head;
	s->commit_head = p->cnext;
	if (!s->commit_head)
		s->commit_tail = NULL;
	s->commit_len--;
	p->cnext = NULL;
	if (p->kind == ZK_PEND_REMOTE)
		zk_repl_remote_before(s, p);
	int arc = zk_txn_apply(&s->db, p->buf, p->len, now.mono_ms, &s->res);
	if (arc)
		zk_logf(&s->log, ZK_LOG_ERROR, "cannot apply txn zxid=0x%llx rc=%d", (unsigned long long)p->zxid, arc);
	else if (zk_commitlog_append(&s->commitlog, p->zxid, p->buf, p->len))
		zk_logf(&s->log, ZK_LOG_WARN, "committed log: out of memory at zxid=0x%llx", (unsigned long long)p->zxid);
	zk_prep_committed(s, p->zxid);
	zk_finish(s, p, out);
	if (!p->in_conn_queue)
		zk_pending_free(p);
}

uint32_t zk_server_outstanding(const struct zk_server *s) { return s->commit_len + s->queued_reads; }

int64_t zk_server_next_wake(const struct zk_server *s)
{
	int64_t t = zk_sessions_next_deadline(&s->db.sessions);
	if (zk_sessions_count(&s->local) && zk_sessions_next_deadline(&s->local) < t)
		t = zk_sessions_next_deadline(&s->local);
	if (s->next_reap_mono_ms < t)
		t = s->next_reap_mono_ms;
	if (s->repl.next_wake) {
		int64_t r = s->repl.next_wake(s->repl.ctx);
		if (r < t)
			t = r;
	}
	return t;
}

void zk_server_set_dir_sizes(struct zk_server *s, uint64_t data_dir_bytes, uint64_t log_dir_bytes)
{
	s->data_dir_bytes = data_dir_bytes;
	s->log_dir_bytes = log_dir_bytes;
}

void zk_server_set_read_only(struct zk_server *s, bool ro) { s->read_only = ro; }

uint64_t zk_server_last_zxid(const struct zk_server *s) { return (uint64_t)s->db.last_zxid; }

struct zk_db *zk_server_db(struct zk_server *s) { return &s->db; }


