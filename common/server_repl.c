/* Quorum-mode parts of the server core, as ZooKeeper's LeaderZooKeeperServer and
 * FollowerZooKeeperServer wire the same pipeline stages differently:
 *  - leader: writes are prepped here as in standalone, but a txn is applied only when the peer
 *    says a quorum has logged it (zk_server_commit); learners' forwarded requests go through the
 *    same prep (zk_server_remote_request) and are answered by the learner that owns the client;
 *  - learner: client writes, syncs and new sessions are forwarded to the leader and wait in their
 *    connection's queue; txns arrive from the leader (zk_server_learner_txn), are logged, and are
 *    applied on COMMIT, at which point the one matching the head of a connection's queue (same
 *    session and cxid) is answered, as CommitProcessor matches committed requests.
 * Sessions: only the leader expires them (housekeeping.c); a learner reports the sessions its
 * clients were active on in each PING (zk_server_take_touched). A learner's local sessions
 * (server_local.c) are its own: created, closed and expired there, let through by the leader. */
#include <stdio.h>
#include <string.h>

#include "errors.h"
#include "proto.h"
#include "server_int.h"
#include "snapshot.h"
#include "zmalloc.h"

static const char *mode_names[] = {"standalone", "down", "leader", "learner", "read-only"};

void zk_server_set_myid(struct zk_server *s, int64_t myid)
{
	s->myid = myid;
	/* ZooKeeper's SessionTrackerImpl.initializeNextSessionId: the server id in the top byte, so
	 * members never hand out the same id. */
	s->db.sessions.next_session_id = zk_session_id_initial(myid, s->st.start_wall_ms);
}

void zk_server_set_repl(struct zk_server *s, const struct zk_repl *r) { s->repl = *r; }

enum zk_server_mode zk_server_mode(const struct zk_server *s) { return s->mode; }

int64_t zk_server_durable_zxid(const struct zk_server *s) { return s->durable_zxid; }

int64_t zk_server_queued_zxid(const struct zk_server *s)
{
	return s->commit_tail ? s->commit_tail->zxid : s->db.last_zxid;
}

const struct zk_commitlog *zk_server_commitlog(const struct zk_server *s) { return &s->commitlog; }

static void forget_learner_state(struct zk_server *s)
{
	struct zk_pend_session *ps, *pt;
	HASH_ITER(hh, s->pend_sessions, ps, pt) {
		HASH_DEL(s->pend_sessions, ps);
		zk_free(ps);
	}
	s->n_touched = 0;
	s->n_syncs = s->syncs_head = 0;
}

void zk_server_set_mode(struct zk_server *s, struct zk_now now, enum zk_server_mode m, int64_t next_zxid,
                        struct zk_out *out)
{
	enum zk_server_mode old = s->mode;
	s->cur_now = now;
	s->cur_out = out;
	bool served = old == ZK_MODE_LEADER || old == ZK_MODE_LEARNER || old == ZK_MODE_READONLY;
	if (served && m != old) {
		/* Clients reconnect elsewhere (or here once a leader is back), as ZooKeeper closes every
		 * client connection when a member leaves its role. Local and read-only sessions die
		 * with the role: no one else knows them. */
		struct zk_conn *c, *t;
		HASH_ITER(hh, s->conns, c, t) {
			zk_server_close_conn(s, c, ZK_CLOSE_ROLE_CHANGE, out);
			zk_conn_drop_queue(s, c);
		}
		forget_learner_state(s);
		zk_local_forget(s);
	}
	if (m == ZK_MODE_DOWN || m == ZK_MODE_LEADER || m == ZK_MODE_READONLY) {
		/* fastForwardDataBase: what we logged counts for our vote and, as a new leader, is
		 * committed in the new epoch. */
		uint32_t n = 0;
		while (s->commit_head) {
			zk_apply_head(s, now, out);
			n++;
		}
		if (n)
			zk_logf(&s->log, ZK_LOG_INFO, "applied %u logged txns on role change zxid=0x%llx", n,
				(unsigned long long)s->db.last_zxid);
	}
	s->mode = m;
	if (m == ZK_MODE_LEADER) {
		s->next_zxid = next_zxid;
		/* Sessions get a full timeout from now: learners' pings had gone to the old leader. */
		struct zk_session *ss, *st;
		HASH_ITER(hh, s->db.sessions.by_id, ss, st) {
			zk_sessions_touch(&s->db.sessions, ss->id, now.mono_ms);
		}
	}
	if (old != m)
		zk_logf(&s->log, ZK_LOG_INFO, "server mode %s -> %s zxid=0x%llx", mode_names[old], mode_names[m],
			(unsigned long long)s->db.last_zxid);
	s->cur_out = NULL;
}

void zk_repl_touched(struct zk_server *s, struct zk_conn *c)
{
	if (c->touched || !c->session_id)
		return;
	if (s->n_touched == s->cap_touched) {
		size_t cap = s->cap_touched ? s->cap_touched * 2 : 64;
		uint64_t *n = zk_realloc(s->touched, cap * sizeof(*n));
		if (!n)
			return; /* the session is reported on its next activity */
		s->touched = n;
		s->cap_touched = cap;
	}
	s->touched[s->n_touched++] = c->id;
	c->touched = true;
}

void zk_server_take_touched(struct zk_server *s, struct zk_wbuf *w)
{
	for (size_t i = 0; i < s->n_touched; i++) {
		struct zk_conn *c = zk_conn_get(s, s->touched[i]);
		if (!c || !c->touched)
			continue;
		c->touched = false;
		/* Local sessions are ours alone: the leader never hears of them. */
		if (!c->session_id || c->state != ZK_CONN_ACTIVE || zk_local_session(s, c->session_id))
			continue;
		zk_jw_long(w, c->session_id);
		zk_jw_int(w, c->timeout_ms);
	}
	s->n_touched = 0;
}

struct zk_pending *zk_conn_only_pending(struct zk_conn *c, enum zk_pending_kind kind, int32_t xid, int32_t op,
                                        int64_t now_ms)
{
	struct zk_pending *p = zk_calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->kind = kind;
	p->conn_only = true;
	p->conn_id = c->id;
	p->session_id = c->session_id;
	p->xid = xid;
	p->op = op;
	p->recv_mono_ms = now_ms;
	return p;
}

static int push_sync(struct zk_server *s, uint64_t conn_id)
{
	if (s->syncs_head == s->n_syncs)
		s->syncs_head = s->n_syncs = 0;
	if (s->n_syncs == s->cap_syncs) {
		if (s->syncs_head > 0) {
			memmove(s->syncs, s->syncs + s->syncs_head, (s->n_syncs - s->syncs_head) * sizeof(*s->syncs));
			s->n_syncs -= s->syncs_head;
			s->syncs_head = 0;
		} else {
			size_t cap = s->cap_syncs ? s->cap_syncs * 2 : 16;
			uint64_t *n = zk_realloc(s->syncs, cap * sizeof(*n));
			if (!n)
				return ZK_ENOMEM;
			s->syncs = n;
			s->cap_syncs = cap;
		}
	}
	s->syncs[s->n_syncs++] = conn_id;
	return 0;
}

void zk_repl_forward(struct zk_server *s, struct zk_conn *c, int32_t xid, int32_t op, const uint8_t *frame,
                     size_t len, struct zk_out *out)
{
	bool sync = op == ZK_OP_SYNC;
	zk_code local_err = ZOK;
	if (!sync && zk_local_before_forward(s, c, op, frame + 8, len - 8, &local_err, out))
		return; /* the connection is closing */
	enum zk_pending_kind kind = sync ? ZK_PEND_SYNC : ZK_PEND_FORWARDED;
	struct zk_pending *p = zk_conn_only_pending(c, kind, xid, op, s->cur_now.mono_ms);
	if (p)
		p->local_err = local_err;
	if (p && sync) {
		/* Kept whole: once the leader's SYNC arrives it is served as an ordinary read. */
		p->buf = zk_malloc(len);
		if (!p->buf || push_sync(s, c->id)) {
			zk_pending_free(p);
			p = NULL;
		} else {
			memcpy(p->buf, frame, len);
			p->len = len;
			s->queued_reads++;
		}
	}
	if (!p) {
		zk_server_close_conn(s, c, ZK_CLOSE_NOMEM, out);
		return;
	}
	zk_queue_push(c, p);
	if (s->repl.forward)
		s->repl.forward(s->repl.ctx, c->session_id, xid, op, frame + 8, len - 8, &c->auth, out);
}

void zk_repl_create_session(struct zk_server *s, struct zk_conn *c, int32_t timeout_ms, struct zk_out *out)
{
	int64_t sid = zk_sessions_next_id(&s->db.sessions);
	struct zk_pend_session *ps = zk_calloc(1, sizeof(*ps));
	struct zk_pending *p = NULL;
	c->session_id = sid;
	if (ps)
		p = zk_conn_only_pending(c, ZK_PEND_CONNECT, 0, ZK_OP_CREATESESSION, s->cur_now.mono_ms);
	if (!p) {
		zk_free(ps);
		zk_server_close_conn(s, c, ZK_CLOSE_NOMEM, out);
		return;
	}
	ps->session_id = sid;
	ps->conn_id = c->id;
	HASH_ADD(hh, s->pend_sessions, session_id, sizeof(ps->session_id), ps);
	zk_queue_push(c, p);
	uint8_t body[4];
	zk_put_be32(body, (uint32_t)timeout_ms);
	if (s->repl.forward)
		s->repl.forward(s->repl.ctx, sid, 0, ZK_OP_CREATESESSION, body, sizeof(body), NULL, out);
}

int zk_server_learner_txn(struct zk_server *s, struct zk_now now, int64_t zxid, const uint8_t *txn, size_t len,
                          struct zk_out *out)
{
	(void)now;
	struct zk_rbuf r;
	struct zk_txn_header h;
	zk_rbuf_init(&r, txn, len, len);
	if (zk_txn_header_read(&r, &h) || h.zxid != zxid)
		return ZK_EINVAL;
	int64_t last = s->commit_tail ? s->commit_tail->zxid : s->db.last_zxid;
	if (zxid <= last) {
		zk_logf(&s->log, ZK_LOG_DEBUG, "ignoring txn zxid=0x%llx: not after 0x%llx", (unsigned long long)zxid,
			(unsigned long long)last);
		return 0;
	}
	struct zk_pending *p = zk_calloc(1, sizeof(*p));
	uint8_t *buf = zk_malloc(len);
	if (!p || !buf) {
		zk_free(p);
		zk_free(buf);
		return ZK_ENOMEM;
	}
	memcpy(buf, txn, len);
	p->kind = ZK_PEND_REMOTE;
	p->session_id = h.client_id;
	p->xid = h.cxid;
	p->op = h.type;
	p->zxid = zxid;
	p->buf = buf;
	p->len = len;
	if (s->commit_tail)
		s->commit_tail->cnext = p;
	else
		s->commit_head = p;
	s->commit_tail = p;
	s->commit_len++;
	zk_out_persist(out, (uint64_t)zxid, buf, len);
	return 0;
}

void zk_server_commit(struct zk_server *s, struct zk_now now, int64_t zxid, struct zk_out *out)
{
	s->cur_now = now;
	s->cur_out = out;
	while (s->commit_head && s->commit_head->zxid <= zxid)
		zk_apply_head(s, now, out);
	s->cur_out = NULL;
}

void zk_repl_remote_before(struct zk_server *s, struct zk_pending *p)
{
	/* The session may not survive the apply (closeSession): find its connection first. */
	p->conn_id = 0;
	if (p->op == ZK_OP_CREATESESSION) {
		/* An upgraded local session is global from this txn on (LearnerSessionTracker.commitSession). */
		zk_sessions_remove(&s->local, p->session_id);
		struct zk_pend_session *ps;
		HASH_FIND(hh, s->pend_sessions, &p->session_id, sizeof(p->session_id), ps);
		if (ps) {
			p->conn_id = ps->conn_id;
			HASH_DEL(s->pend_sessions, ps);
			zk_free(ps);
		}
		return;
	}
	/* A local session's writes carry its id too. */
	struct zk_session *ss = zk_sessions_get(zk_session_table(s, p->session_id), p->session_id);
	if (ss)
		p->conn_id = ss->conn_id;
}

static void answer_connect(struct zk_server *s, struct zk_conn *c, struct zk_pending *p, struct zk_out *out)
{
	struct zk_pending *head = c->qhead;
	if (!head || head->kind != ZK_PEND_CONNECT || head->session_id != p->session_id)
		return;
	zk_queue_pop(c);
	zk_pending_free(head);
	struct zk_session *ss = zk_sessions_get(&s->db.sessions, p->session_id);
	if (ss)
		ss->conn_id = c->id;
	zk_logf(&s->log, ZK_LOG_INFO, "established session sid=0x%llx timeout=%d remote=%s:%d",
		(unsigned long long)p->session_id, c->timeout_ms, c->ip, c->port);
	zk_send_connect_response(s, c, ss != NULL, out);
	if (!ss)
		zk_server_close_conn(s, c, ZK_CLOSE_SESSION_INVALID, out);
	zk_drain(s, c, out);
}

void zk_repl_remote_applied(struct zk_server *s, struct zk_pending *p, struct zk_out *out)
{
	struct zk_conn *c = p->conn_id ? zk_conn_get(s, p->conn_id) : NULL;
	if (!c || c->state == ZK_CONN_CLOSING)
		return;
	struct zk_pending *f = c->qhead;
	if (p->op == ZK_OP_CREATESESSION) {
		if (f && f->kind == ZK_PEND_FORWARDED && f->op == ZK_OP_CREATESESSION && f->session_id == p->session_id)
			zk_local_upgraded(s, c, p->session_id, out);
		else
			answer_connect(s, c, p, out);
		return;
	}
	bool ours = f && f->kind == ZK_PEND_FORWARDED && f->xid == p->xid && c->session_id == p->session_id;
	if (!ours) {
		if (p->op == ZK_OP_CLOSESESSION && c->session_id == p->session_id)
			zk_server_close_conn(s, c, ZK_CLOSE_SESSION_EXPIRED, out); /* the leader expired it */
		else if (c->session_id == p->session_id)
			zk_logf(&s->log, ZK_LOG_WARN, "committed txn zxid=0x%llx cxid=%d matches no pending request sid=0x%llx",
				(unsigned long long)p->zxid, p->xid, (unsigned long long)p->session_id);
		return;
	}
	zk_queue_pop(c);
	/* Reply as the client asked (create2 vs create, multi), with its latency. */
	p->op = f->op;
	p->recv_mono_ms = f->recv_mono_ms;
	int32_t local_err = f->local_err;
	zk_pending_free(f);
	if (p->op == ZK_OP_CLOSESESSION) {
		zk_send_header(s, c, p->xid, p->zxid, 0, out);
		zk_conn_note_reply(s, c, p->op, p->xid, p->zxid, p->recv_mono_ms);
		zk_server_close_conn(s, c, ZK_CLOSE_SESSION_CLOSED, out);
		return;
	}
	if (local_err && s->res.hdr.type == ZK_OP_ERROR)
		s->res.op.err = local_err; /* FinalRequestProcessor: the request's own exception wins */
	zk_final_write_reply(s, c, p, &s->res, out);
	zk_drain(s, c, out);
}

void zk_server_sync_done(struct zk_server *s, struct zk_now now, struct zk_out *out)
{
	s->cur_now = now;
	s->cur_out = out;
	while (s->syncs_head < s->n_syncs) {
		struct zk_conn *c = zk_conn_get(s, s->syncs[s->syncs_head++]);
		if (!c || c->state == ZK_CONN_CLOSING)
			continue; /* its client left: the answer belongs to no one, but it was this one's */
		struct zk_pending *p = c->qhead;
		while (p && p->kind != ZK_PEND_SYNC)
			p = p->next;
		if (!p)
			continue;
		/* Everything committed before the sync reached the leader is applied: from here on it
		 * is an ordinary read, answered in its turn. */
		p->kind = ZK_PEND_READ;
		p->conn_only = false;
		zk_drain(s, c, out);
		break;
	}
	s->cur_out = NULL;
}

/* The txn a learner's request becomes when its session is gone: an error txn, as
 * PrepRequestProcessor turns a SessionExpiredException into one. */
static void prep_error(struct zk_server *s, int64_t session_id, int32_t cxid, int64_t zxid, int32_t err)
{
	struct zk_txn_header h = {session_id, cxid, zxid, s->cur_now.wall_ms, ZK_OP_ERROR};
	zk_wbuf_reset(&s->txn);
	zk_txn_header_write(&s->txn, &h);
	zk_txn_write_error(&s->txn, err);
}

/* LeaderSessionTracker.checkSession: with local sessions on, a session we do not know whose id
 * carries another member's server id is that member's local session, and its requests pass (but
 * it cannot own an ephemeral: prep.c). One with our own id that we do not know has expired.
 * A leader's own sessions stay global: localSessionsEnabled makes no local sessions here. */
static bool foreign_local_session(const struct zk_server *s, int64_t id)
{
	return s->cfg.local_sessions_enabled && ((uint64_t)id >> 56) != ((uint64_t)s->myid & 0xff) &&
	       !zk_sessions_get(&s->db.sessions, id);
}

void zk_server_remote_request(struct zk_server *s, struct zk_now now, int64_t session_id, int32_t cxid,
                              int32_t op, const uint8_t *body, size_t len, const struct zk_auth *auth,
                              struct zk_out *out)
{
	if (s->mode != ZK_MODE_LEADER || s->read_only)
		return; /* the learner's client times out and reconnects, as with a dead leader */
	s->cur_now = now;
	s->cur_out = out;
	if (op == ZK_OP_CREATESESSION) {
		if (len < 4)
			goto out;
		int32_t timeout = (int32_t)zk_get_be32(body);
		if (!zk_sessions_add(&s->db.sessions, session_id, timeout, now.mono_ms))
			goto out;
		int64_t zxid = ++s->next_zxid;
		zk_prep_create_session(s, session_id, timeout, zxid);
		zk_submit(s, ZK_PEND_INTERNAL, NULL, session_id, 0, op, zxid, out);
		goto out;
	}
	if (!zk_op_is_write(op)) {
		zk_logf(&s->log, ZK_LOG_WARN, "learner forwarded a non-write op=%d sid=0x%llx: ignored", op,
			(unsigned long long)session_id);
		goto out;
	}
	int64_t zxid = ++s->next_zxid;
	bool foreign = op != ZK_OP_CLOSESESSION && foreign_local_session(s, session_id);
	if (!foreign && !zk_sessions_touch(&s->db.sessions, session_id, now.mono_ms)) {
		prep_error(s, session_id, cxid, zxid, ZSESSIONEXPIRED);
	} else if (op == ZK_OP_CLOSESESSION) {
		zk_prep_close_session(s, session_id, cxid, zxid);
	} else {
		struct zk_conn tmp;
		memset(&tmp, 0, sizeof(tmp));
		tmp.session_id = session_id;
		tmp.foreign_local = foreign;
		if (auth)
			tmp.auth = *auth;
		zk_prep(s, &tmp, session_id, cxid, op, body, len, zxid);
	}
	zk_submit(s, ZK_PEND_INTERNAL, NULL, session_id, cxid, op, zxid, out);
out:
	s->cur_out = NULL;
}

bool zk_server_touch_session(struct zk_server *s, struct zk_now now, int64_t id, int32_t timeout_ms)
{
	struct zk_session *ss = zk_sessions_get(&s->db.sessions, id);
	if (!ss || ss->closing)
		return false;
	if (timeout_ms > 0)
		ss->timeout_ms = timeout_ms;
	return zk_sessions_touch(&s->db.sessions, id, now.mono_ms);
}

static void db_adopt(struct zk_server *s, struct zk_db *fresh)
{
	int64_t next_id = s->db.sessions.next_session_id;
	zk_db_fini(&s->db);
	s->db = *fresh;
	s->db.sessions.next_session_id = next_id;
	s->db.tree.on_event = zk_server_tree_event;
	s->db.tree.event_ctx = s;
	zk_commitlog_clear(&s->commitlog);
	s->next_zxid = s->durable_zxid = s->db.last_zxid;
}

int zk_server_load_wire_snapshot(struct zk_server *s, struct zk_now now, const uint8_t *p, size_t n, int64_t zxid,
                                 char *err, size_t err_len)
{
	struct zk_db fresh;
	int rc = zk_db_init(&fresh, s->cfg.tick_time_ms, s->myid, now.wall_ms);
	if (rc)
		return rc;
	rc = zk_snap_load(&fresh, p, n, zxid, ZK_SNAP_WIRE, NULL, err, err_len);
	if (rc) {
		zk_db_fini(&fresh);
		return rc;
	}
	db_adopt(s, &fresh);
	return 0;
}

int zk_server_reset_db(struct zk_server *s, struct zk_now now)
{
	struct zk_db fresh;
	int rc = zk_db_init(&fresh, s->cfg.tick_time_ms, s->myid, now.wall_ms);
	if (rc)
		return rc;
	db_adopt(s, &fresh);
	return 0;
}
