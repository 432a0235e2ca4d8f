/* The session handshake: ConnectRequest handling (new session through a createSession txn, or a
 * local one in read-only mode and on learners with local sessions; re-establishment with id and
 * password, the invalid-session answer) and auth packets, as ZooKeeper's processConnectRequest
 * and processPacket do them (protocol.md 2.1, 2.11). */
#include <stdio.h>
#include <string.h>

#include "errors.h"
#include "proto.h"
#include "server_int.h"

void zk_send_connect_response(struct zk_server *s, struct zk_conn *c, bool valid, struct zk_out *out)
{
	uint8_t pw[16] = {0};
	if (valid)
		zk_session_passwd(c->session_id, pw);
	size_t mark;
	struct zk_wbuf *w = zk_out_send_begin(out, &mark);
	size_t f = zk_jw_frame_begin(w);
	zk_jw_int(w, 0);
	zk_jw_int(w, valid ? c->timeout_ms : 0);
	zk_jw_long(w, valid ? c->session_id : 0);
	zk_jw_buffer(w, pw, 16);
	if (!c->old_client) /* finishSessionInit: true from a read-only server, valid or not */
		zk_jw_bool(w, s->mode == ZK_MODE_READONLY);
	zk_jw_frame_end(w, f);
	zk_out_send_end(out, c->id, mark);
	c->st.sent++;
	s->st.packets_sent++;
}

void zk_handshake_connect(struct zk_server *s, struct zk_conn *c, const uint8_t *p, size_t len, struct zk_out *out)
{
	struct zk_connect_req req;
	if (zk_connect_req_decode(p, len, (size_t)s->cfg.jute_maxbuffer, &req)) {
		char sample[64];
		zk_log_sanitize(p, len < 16 ? len : 16, sample, sizeof(sample));
		zk_logf(&s->log, ZK_LOG_WARN, "bad ConnectRequest remote=%s:%d len=%zu sample=\"%s\"", c->ip, c->port,
			len, sample);
		zk_server_close_conn(s, c, ZK_CLOSE_BAD_CONNECT, out);
		return;
	}
	if (s->mode == ZK_MODE_DOWN) {
		/* ZooKeeper: "ZooKeeperServer not running" — the client tries another server. */
		zk_logf(&s->log, ZK_LOG_INFO, "refusing session request: not serving (no leader) remote=%s:%d", c->ip,
			c->port);
		zk_server_close_conn(s, c, ZK_CLOSE_NOT_SERVING, out);
		return;
	}
	if (s->mode == ZK_MODE_READONLY && !req.readonly) {
		/* Only clients that accept a read-only server (an old client without the flag never
		 * does); the others look for a read-write one. */
		zk_logf(&s->log, ZK_LOG_INFO, "refusing session request for not-read-only client remote=%s:%d", c->ip,
			c->port);
		zk_server_close_conn(s, c, ZK_CLOSE_NOT_READ_ONLY_CLIENT, out);
		return;
	}
	if (req.last_zxid_seen > s->db.last_zxid) {
		zk_logf(&s->log, ZK_LOG_INFO,
			"refusing session request: client zxid=0x%llx is ahead of ours zxid=0x%llx remote=%s:%d",
			(unsigned long long)req.last_zxid_seen, (unsigned long long)s->db.last_zxid, c->ip, c->port);
		zk_server_close_conn(s, c, ZK_CLOSE_ZXID_AHEAD, out);
		return;
	}
	c->old_client = !req.has_readonly;
	int32_t t = req.timeout_ms;
	if (t < s->cfg.min_session_timeout_ms)
		t = s->cfg.min_session_timeout_ms;
	if (t > s->cfg.max_session_timeout_ms)
		t = s->cfg.max_session_timeout_ms;
	c->timeout_ms = t;
	c->state = ZK_CONN_ACTIVE;
	if (req.session_id == 0 && zk_local_new_sessions(s)) {
		zk_local_create(s, c, t, out);
		return;
	}
	if (req.session_id == 0 && s->mode == ZK_MODE_LEARNER) {
		zk_repl_create_session(s, c, t, out);
		return;
	}
	if (req.session_id == 0) {
		int64_t sid = zk_sessions_next_id(&s->db.sessions);
		struct zk_session *ss = zk_sessions_add(&s->db.sessions, sid, t, s->cur_now.mono_ms);
		if (!ss) {
			zk_server_close_conn(s, c, ZK_CLOSE_NOMEM, out);
			return;
		}
		ss->conn_id = c->id;
		c->session_id = sid;
		int64_t zxid = ++s->next_zxid;
		zk_prep_create_session(s, sid, t, zxid);
		if (!zk_submit(s, ZK_PEND_CONNECT, c, sid, 0, ZK_OP_CREATESESSION, zxid, out))
			zk_server_close_conn(s, c, ZK_CLOSE_NOMEM, out);
		return;
	}
	if (s->mode == ZK_MODE_READONLY && zk_sessions_get(&s->db.sessions, req.session_id)) {
		/* ReadOnlyZooKeeperServer.validateSession: a global session cannot be renewed here
		 * (it would need the leader); the client tries another server. */
		zk_logf(&s->log, ZK_LOG_INFO,
			"refusing global session reconnection in read-only mode sid=0x%llx remote=%s:%d",
			(unsigned long long)req.session_id, c->ip, c->port);
		zk_server_close_conn(s, c, ZK_CLOSE_GLOBAL_SESSION_IN_RO, out);
		return;
	}
	/* A local session first, as LearnerSessionTracker.touchSession looks. */
	struct zk_sessions *tab = zk_session_table(s, req.session_id);
	struct zk_session *ss = zk_sessions_get(tab, req.session_id);
	if (ss && ss->conn_id && ss->conn_id != c->id) {
		struct zk_conn *old = zk_conn_get(s, ss->conn_id);
		if (old)
			zk_server_close_conn(s, old, ZK_CLOSE_RECONNECTED, out);
		ss->conn_id = 0;
	}
	uint8_t pw[16];
	zk_session_passwd(req.session_id, pw);
	bool pw_ok = req.passwd.len == 16 && !memcmp(req.passwd.p, pw, 16);
	c->session_id = req.session_id;
	if (!pw_ok || !ss || ss->closing) {
		zk_logf(&s->log, ZK_LOG_INFO, "invalid session on reconnect sid=0x%llx remote=%s:%d reason=%s",
			(unsigned long long)req.session_id, c->ip, c->port, !pw_ok ? "password" : "expired");
		zk_send_connect_response(s, c, false, out);
		c->session_id = 0;
		zk_server_close_conn(s, c, ZK_CLOSE_SESSION_INVALID, out);
		return;
	}
	ss->timeout_ms = t;
	zk_sessions_touch(tab, ss->id, s->cur_now.mono_ms);
	ss->conn_id = c->id;
	if (s->mode == ZK_MODE_LEARNER)
		zk_repl_touched(s, c);
	zk_logf(&s->log, ZK_LOG_INFO, "session re-established sid=0x%llx timeout=%d remote=%s:%d",
		(unsigned long long)ss->id, t, c->ip, c->port);
	zk_send_connect_response(s, c, true, out);
}

void zk_handshake_auth(struct zk_server *s, struct zk_conn *c, const uint8_t *body, size_t len, struct zk_out *out)
{
	struct zk_rbuf r;
	struct zk_req q;
	zk_rbuf_init(&r, body, len, (size_t)s->cfg.jute_maxbuffer);
	zk_code e = ZAUTHFAILED;
	if (!zk_req_decode(ZK_OP_AUTH, &r, &q) && q.scheme.len >= 0 && q.data.len >= 0)
		e = zk_auth_add(&c->auth, (const char *)q.scheme.p, (size_t)q.scheme.len, q.data.p, (size_t)q.data.len,
				s->cfg.super_digest, s->cfg.digest_auth_enabled);
	zk_send_header(s, c, ZK_XID_AUTH, 0, e, out);
	c->st.sent++;
	s->st.packets_sent++;
	if (e) {
		zk_logf(&s->log, ZK_LOG_WARN, "authentication failed remote=%s:%d sid=0x%llx", c->ip, c->port,
			(unsigned long long)c->session_id);
		zk_server_close_conn(s, c, ZK_CLOSE_AUTH_FAILED, out);
	}
}
