/* Sessions only this server knows, kept in s->local apart from the replicated table (db.sessions)
 * so that they never reach a txn, a snapshot, the PING touch table or the leader:
 *  - a learner's local sessions (localSessionsEnabled), as ZooKeeper's LearnerSessionTracker and
 *    LocalSessionTracker keep them: created and closed here without a txn, expired here, their
 *    writes forwarded under their own id (the leader lets them through: server_repl.c). The first
 *    ephemeral create upgrades one to a global session by forwarding a createSession ahead of it
 *    (UpgradeableSessionTracker, QuorumZooKeeperServer.checkUpgradeSession); without
 *    localSessionsUpgradingEnabled that create fails with EphemeralOnLocalSession;
 *  - every session of read-only mode (ReadOnlyZooKeeperServer): reads are served from the local
 *    tree, writes and syncs refused with NOTREADONLY (ReadOnlyRequestProcessor).
 * They all go when the server leaves the mode that made them (zk_server_set_mode), as they die
 * with ZooKeeper's LearnerZooKeeperServer or ReadOnlyZooKeeperServer. */
#include <stdio.h>
#include <string.h>

#include "errors.h"
#include "proto.h"
#include "server_int.h"
#include "zmalloc.h"

bool zk_local_new_sessions(const struct zk_server *s)
{
	/* Read-only mode makes local sessions even without localSessionsEnabled: ZooKeeper 3.8 then
	 * answers a new client with a bare NOTREADONLY header where the ConnectResponse belongs
	 * (ZOOKEEPER-3863), which no client can parse; its own tests all enable local sessions. */
	return s->mode == ZK_MODE_READONLY || (s->mode == ZK_MODE_LEARNER && s->cfg.local_sessions_enabled);
}

struct zk_session *zk_local_session(const struct zk_server *s, int64_t id)
{
	struct zk_session *ss = id ? zk_sessions_get(&s->local, id) : NULL;
	return ss && !ss->upgrading ? ss : NULL;
}

struct zk_sessions *zk_session_table(struct zk_server *s, int64_t id)
{
	return id && zk_sessions_get(&s->local, id) ? &s->local : &s->db.sessions;
}

void zk_local_create(struct zk_server *s, struct zk_conn *c, int32_t timeout_ms, struct zk_out *out)
{
	/* The same counter as global sessions: the id carries our server id, none is handed out twice. */
	int64_t sid = zk_sessions_next_id(&s->db.sessions);
	struct zk_session *ss = zk_sessions_add(&s->local, sid, timeout_ms, s->cur_now.mono_ms);
	if (!ss) {
		zk_server_close_conn(s, c, ZK_CLOSE_NOMEM, out);
		return;
	}
	ss->conn_id = c->id;
	c->session_id = sid;
	zk_logf(&s->log, ZK_LOG_INFO, "established local session sid=0x%llx timeout=%d remote=%s:%d read_only=%d",
		(unsigned long long)sid, timeout_ms, c->ip, c->port, s->mode == ZK_MODE_READONLY);
	zk_send_connect_response(s, c, true, out);
}

bool zk_local_readonly_refuse(struct zk_server *s, struct zk_conn *c, int32_t xid, int32_t op, struct zk_out *out)
{
	/* ReadOnlyRequestProcessor's list: every write, sync (nothing to sync with) and check. */
	if (s->mode != ZK_MODE_READONLY || !(zk_op_is_write(op) || op == ZK_OP_SYNC || op == ZK_OP_CHECK))
		return false;
	zk_send_header(s, c, xid, s->db.last_zxid, ZNOTREADONLY, out);
	zk_conn_note_reply(s, c, op, xid, s->db.last_zxid, s->cur_now.mono_ms);
	return true;
}

bool zk_local_close_request(struct zk_server *s, struct zk_conn *c, int32_t xid, int32_t op, const uint8_t *frame,
                            size_t len, struct zk_out *out)
{
	if (op != ZK_OP_CLOSESESSION || !zk_local_session(s, c->session_id))
		return false;
	/* In turn: after the replies to the writes it follows, as CommitProcessor keeps a session's
	 * requests in order. */
	if (c->qhead)
		zk_queue_read(s, c, xid, op, frame, len, out);
	else
		zk_local_close(s, c, xid, s->cur_now.mono_ms, out);
	return true;
}

void zk_local_close(struct zk_server *s, struct zk_conn *c, int32_t xid, int64_t recv_mono_ms, struct zk_out *out)
{
	/* No txn: PrepRequestProcessor skips a local closeSession; the reply carries the last zxid. */
	zk_logf(&s->log, ZK_LOG_INFO, "closing local session sid=0x%llx remote=%s:%d",
		(unsigned long long)c->session_id, c->ip, c->port);
	zk_sessions_remove(&s->local, c->session_id);
	zk_send_header(s, c, xid, s->db.last_zxid, 0, out);
	zk_conn_note_reply(s, c, ZK_OP_CLOSESESSION, xid, s->db.last_zxid, recv_mono_ms);
	zk_server_close_conn(s, c, ZK_CLOSE_SESSION_CLOSED, out);
}

static bool ephemeral_mode(int32_t flags) { return flags == ZK_CM_EPHEMERAL || flags == ZK_CM_EPHEMERAL_SEQUENTIAL; }

/* Whether the write creates an ephemeral node: checkUpgradeSession looks at create, create2 and
 * the create / create2 ops of a multi (no other create can be ephemeral). */
static bool creates_ephemeral(const struct zk_server *s, int32_t op, const uint8_t *body, size_t len)
{
	struct zk_rbuf r;
	struct zk_req q;
	zk_rbuf_init(&r, body, len, (size_t)s->cfg.jute_maxbuffer);
	if (op == ZK_OP_CREATE || op == ZK_OP_CREATE2)
		return !zk_req_decode(op, &r, &q) && ephemeral_mode(q.flags);
	if (op != ZK_OP_MULTI)
		return false;
	struct zk_multi_iter it;
	zk_multi_iter_init(&it, &r);
	while (zk_multi_iter_next(&it, &q) == 1) /* each step consumes bytes: bounded by the frame */
		if ((q.op == ZK_OP_CREATE || q.op == ZK_OP_CREATE2) && ephemeral_mode(q.flags))
			return true;
	return false;
}

/* Forwards a createSession for the local session ahead of the write that needs it global. The
 * session stays in the local table, marked, until that txn is applied (zk_local_upgraded): its
 * requests keep being accepted meanwhile and it goes into the PING touch table. */
static int upgrade(struct zk_server *s, struct zk_conn *c, struct zk_session *ss, struct zk_out *out)
{
	struct zk_pend_session *ps = zk_calloc(1, sizeof(*ps));
	struct zk_pending *p = NULL;
	if (ps)
		p = zk_conn_only_pending(c, ZK_PEND_FORWARDED, 0, ZK_OP_CREATESESSION, s->cur_now.mono_ms);
	if (!p) {
		zk_free(ps);
		zk_server_close_conn(s, c, ZK_CLOSE_NOMEM, out);
		return ZK_ENOMEM;
	}
	ps->session_id = ss->id;
	ps->conn_id = c->id;
	HASH_ADD(hh, s->pend_sessions, session_id, sizeof(ps->session_id), ps);
	ss->upgrading = true;
	zk_queue_push(c, p);
	zk_logf(&s->log, ZK_LOG_INFO, "upgrading local session sid=0x%llx timeout=%d", (unsigned long long)ss->id,
		ss->timeout_ms);
	uint8_t body[4];
	zk_put_be32(body, (uint32_t)ss->timeout_ms);
	if (s->repl.forward)
		s->repl.forward(s->repl.ctx, ss->id, 0, ZK_OP_CREATESESSION, body, sizeof(body), NULL, out);
	return 0;
}

int zk_local_before_forward(struct zk_server *s, struct zk_conn *c, int32_t op, const uint8_t *body, size_t len,
                            zk_code *err, struct zk_out *out)
{
	*err = ZOK;
	struct zk_session *ss = zk_local_session(s, c->session_id);
	if (!ss || !creates_ephemeral(s, op, body, len))
		return 0;
	/* Without upgrading ZooKeeper still forwards the create; the leader fails it (no such global
	 * session) and the learner answers with the error it noted instead. */
	if (!s->cfg.local_sessions_upgrading_enabled) {
		*err = ZEPHEMERALONLOCALSESSION;
		return 0;
	}
	return upgrade(s, c, ss, out);
}

void zk_local_upgraded(struct zk_server *s, struct zk_conn *c, int64_t session_id, struct zk_out *out)
{
	struct zk_pending *head = c->qhead;
	zk_queue_pop(c);
	zk_pending_free(head);
	struct zk_session *ss = zk_sessions_get(&s->db.sessions, session_id);
	if (!ss) {
		zk_server_close_conn(s, c, ZK_CLOSE_SESSION_INVALID, out);
		return;
	}
	ss->conn_id = c->id;
	zk_logf(&s->log, ZK_LOG_INFO, "upgraded local session sid=0x%llx to a global one",
		(unsigned long long)session_id);
	zk_drain(s, c, out);
}

void zk_local_expire(struct zk_server *s, struct zk_out *out)
{
	struct zk_session *ss;
	while ((ss = zk_sessions_pop_expired(&s->local, s->cur_now.mono_ms))) {
		if (ss->upgrading) {
			/* The leader has it now; it expires it once the session is global. */
			zk_sessions_add(&s->local, ss->id, ss->timeout_ms, s->cur_now.mono_ms);
			continue;
		}
		zk_logf(&s->log, ZK_LOG_INFO, "expiring local session sid=0x%llx timeout=%d",
			(unsigned long long)ss->id, ss->timeout_ms);
		struct zk_conn *c = ss->conn_id ? zk_conn_get(s, ss->conn_id) : NULL;
		zk_sessions_remove(&s->local, ss->id);
		if (c)
			zk_server_close_conn(s, c, ZK_CLOSE_SESSION_EXPIRED, out);
	}
}

void zk_local_forget(struct zk_server *s)
{
	uint32_t n = zk_sessions_count(&s->local);
	zk_sessions_fini(&s->local);
	zk_sessions_init(&s->local, s->cfg.tick_time_ms, 1, s->cur_now.mono_ms);
	if (n)
		zk_logf(&s->log, ZK_LOG_INFO, "dropped %u local sessions", n);
}
