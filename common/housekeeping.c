/* Housekeeping of the core: deadlines (session expiry in tick buckets, local sessions' expiry,
 * container and TTL reaping, connections that never send a ConnectRequest) and start-up recovery
 * (replayed txns, sessions restarted, dead sessions' ephemerals dropped). */
#include <stdio.h>
#include <string.h>

#include "errors.h"
#include "proto.h"
#include "server_int.h"

#define ZK_SESSIONLESS_CHECK_MS 1000

static void reap_containers(struct zk_server *s, struct zk_out *out)
{
	int64_t budget = (int64_t)s->cfg.container_max_per_minute * s->cfg.container_check_interval_ms / 60000;
	if (budget < 1)
		budget = 1;
	const struct zk_node *lists[2] = {s->db.tree.containers, s->db.tree.ttls};
	for (int li = 0; li < 2; li++) {
		for (const struct zk_node *n = lists[li]; n && budget > 0; n = n->kind_next) {
			if (n->children)
				continue;
			bool due;
			if (li == 0)
				due = n->stat.cversion > 0 ||
				      (s->cfg.container_max_never_used_ms > 0 &&
				       s->cur_now.wall_ms - n->stat.mtime > s->cfg.container_max_never_used_ms);
			else
				due = s->cur_now.wall_ms - n->stat.mtime > (n->stat.ephemeral_owner & ZK_TTL_MAX);
			struct zk_rec r;
			if (!due || !zk_changes_get(&s->changes, &s->db.tree, n->path, n->path_len, &r) || r.child_count)
				continue;
			int64_t zxid = ++s->next_zxid;
			zk_prep(s, NULL, 0, 0, ZK_OP_DELETECONTAINER, (const uint8_t *)n->path, n->path_len, zxid);
			zk_submit(s, ZK_PEND_INTERNAL, NULL, 0, 0, ZK_OP_DELETECONTAINER, zxid, out);
			budget--;
		}
	}
}

void zk_server_tick(struct zk_server *s, struct zk_now now, struct zk_out *out)
{
	s->cur_now = now;
	s->cur_out = out;
	if (s->repl.tick)
		s->repl.tick(s->repl.ctx, now, out);
	s->cur_out = out;
	/* Only the server that orders writes expires sessions and reaps nodes; learners hear of it
	 * through the txns. */
	bool orders = s->mode == ZK_MODE_STANDALONE || (s->mode == ZK_MODE_LEADER && !s->read_only);
	struct zk_session *ss;
	while (orders && (ss = zk_sessions_pop_expired(&s->db.sessions, now.mono_ms))) {
		zk_logf(&s->log, ZK_LOG_INFO, "expiring session sid=0x%llx timeout=%d", (unsigned long long)ss->id,
			ss->timeout_ms);
		int64_t zxid = ++s->next_zxid;
		uint64_t conn_id = ss->conn_id;
		zk_prep_close_session(s, ss->id, 0, zxid);
		struct zk_pending *p = zk_submit(s, ZK_PEND_INTERNAL, NULL, ss->id, 0, ZK_OP_CLOSESESSION, zxid, out);
		if (p)
			p->conn_id = conn_id;
	}
	/* Sessions only we know (learner local sessions, read-only mode) expire here, without a txn. */
	zk_local_expire(s, out);
	if (orders && now.mono_ms >= s->next_reap_mono_ms) {
		s->next_reap_mono_ms = now.mono_ms + s->cfg.container_check_interval_ms;
		reap_containers(s, out);
	}
	/* Connections that never sent a ConnectRequest (nio.sessionlessCnxnTimeout); a scan of all
	 * connections, so at most once a second. */
	if (now.mono_ms < s->next_sessionless_check_ms) {
		s->cur_out = NULL;
		return;
	}
	s->next_sessionless_check_ms = now.mono_ms + ZK_SESSIONLESS_CHECK_MS;
	struct zk_conn *c, *ct;
	HASH_ITER(hh, s->conns, c, ct) {
		if (c->state == ZK_CONN_NEW && now.mono_ms - c->opened_mono_ms > s->cfg.sessionless_cnxn_timeout_ms)
			zk_server_close_conn(s, c, ZK_CLOSE_IDLE, out);
	}
	s->cur_out = NULL;
}

int zk_server_replay(struct zk_server *s, const uint8_t *txn, size_t len)
{
	int rc = zk_txn_apply(&s->db, txn, len, 0, &s->res);
	/* The last txns of the log are the committed log a leader diffs from after a restart. */
	if (rc == 0)
		rc = zk_commitlog_append(&s->commitlog, s->res.hdr.zxid, txn, len);
	return rc;
}

void zk_server_loaded(struct zk_server *s, struct zk_now now)
{
	/* Ephemerals whose session did not survive (closed in a part of the log that was lost, or
	 * never committed) go now, as ZooKeeper's loadData kills dead sessions. */
	struct zk_eph_set *e, *et;
	HASH_ITER(hh, s->db.tree.ephemerals, e, et) {
		if (!zk_sessions_get(&s->db.sessions, e->session_id))
			zk_dtree_kill_session(&s->db.tree, e->session_id, s->db.last_zxid);
	}
	s->next_zxid = s->db.last_zxid;
	s->durable_zxid = s->db.last_zxid;
	struct zk_session *ss, *t;
	HASH_ITER(hh, s->db.sessions.by_id, ss, t) {
		zk_sessions_touch(&s->db.sessions, ss->id, now.mono_ms);
	}
	zk_logf(&s->log, ZK_LOG_INFO, "database loaded zxid=0x%llx nodes=%llu sessions=%u",
		(unsigned long long)s->db.last_zxid, (unsigned long long)s->db.tree.node_count,
		zk_sessions_count(&s->db.sessions));
}
