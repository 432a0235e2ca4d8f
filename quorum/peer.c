/* An ensemble member (QuorumPeer.run): LOOKING runs the election; its result makes us the leader
 * (leader.c) or a learner of the elected server (learner.c); when the role fails we go back to
 * LOOKING. Also the server core's replication hook, routing proposals, durability, forwarded
 * requests and ticks to the current role. One become_* function per role change. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "errors.h"
#include "peer_int.h"
#include "zmalloc.h"

int zk_peer_index(const struct zk_peer *p, int64_t sid)
{
	for (int i = 0; i < p->cfg.n_servers; i++)
		if (p->cfg.servers[i].id == sid)
			return i;
	return -1;
}

bool zk_peer_is_voter(const struct zk_peer *p, int64_t sid)
{
	int i = zk_peer_index(p, sid);
	return i >= 0 && !p->cfg.servers[i].observer;
}

bool zk_peer_quorum(const struct zk_peer *p, int count)
{
	int voters = 0;
	for (int i = 0; i < p->cfg.n_servers; i++)
		voters += !p->cfg.servers[i].observer;
	return count > voters / 2;
}

void zk_peer_set_accepted_epoch(struct zk_peer *p, int64_t e, struct zk_out *out)
{
	p->accepted_epoch = e;
	zk_out_epoch(out, ZK_EPOCH_ACCEPTED, e);
}

void zk_peer_set_current_epoch(struct zk_peer *p, int64_t e, struct zk_out *out)
{
	p->current_epoch = e;
	zk_out_epoch(out, ZK_EPOCH_CURRENT, e);
}

void zk_peer_send(struct zk_peer *p, uint64_t link, int32_t type, int64_t zxid, const uint8_t *data, int32_t len,
                  const struct zk_auth *auth, struct zk_out *out)
{
	(void)p;
	size_t mark;
	struct zk_wbuf *w = zk_out_send_begin(out, &mark);
	zk_qpkt_write(w, type, zxid, data, len, auth);
	zk_out_send_end(out, link, mark);
}

uint64_t zk_peer_new_dial_link(struct zk_peer *p)
{
	p->next_dial = (p->next_dial + 1) & ((1ULL << 40) - 1);
	return ZK_LINK_QUORUM_BASE | ZK_LINK_QUORUM_DIAL_BIT | p->next_dial;
}

static void drop_role(struct zk_peer *p, struct zk_out *out)
{
	if (p->om) {
		struct zk_om *m = p->om;
		p->om = NULL;
		zk_om_free(m, out);
	}
	if (p->ld) {
		struct zk_leader *l = p->ld;
		p->ld = NULL;
		zk_leader_free(l, out);
	}
	if (p->ln) {
		struct zk_learner *l = p->ln;
		p->ln = NULL;
		zk_learner_free(l, out);
	}
}

void zk_peer_become_looking(struct zk_peer *p, struct zk_now now, const char *why, struct zk_out *out)
{
	drop_role(p, out);
	zk_server_set_mode(p->srv, now, ZK_MODE_DOWN, 0, out);
	p->state = ZK_PS_LOOKING;
	p->looking_since_ms = now.mono_ms;
	int64_t zxid = (int64_t)zk_server_last_zxid(p->srv);
	zk_logf(&p->log, ZK_LOG_INFO, "LOOKING myid=%" PRId64 " reason=%s zxid=0x%" PRIx64 " currentEpoch=%" PRId64
		" acceptedEpoch=%" PRId64, p->myid, why, (uint64_t)zxid, p->current_epoch, p->accepted_epoch);
	zk_fle_start(&p->fle, now.mono_ms, zxid, p->current_epoch, out);
}

static void check_election(struct zk_peer *p, struct zk_now now, struct zk_out *out)
{
	int32_t st;
	struct zk_vote v;
	if (p->state != ZK_PS_LOOKING || !zk_fle_result(&p->fle, &st, &v))
		return;
	p->vote = v;
	/* QuorumPeer shuts the read-only server down as soon as the election is over. */
	if (zk_server_mode(p->srv) == ZK_MODE_READONLY)
		zk_server_set_mode(p->srv, now, ZK_MODE_DOWN, 0, out);
	if (v.leader == p->myid && !p->observer) {
		p->state = ZK_PS_LEADING;
		zk_fle_set_decided(&p->fle, ZK_PS_LEADING, &v);
		zk_logf(&p->log, ZK_LOG_INFO, "LEADING myid=%" PRId64 " round=%" PRId64 " zxid=0x%" PRIx64, p->myid,
			v.election_epoch, (uint64_t)v.zxid);
		p->ld = zk_leader_new(p, now, out);
		if (!p->ld)
			zk_peer_become_looking(p, now, "out of memory", out);
		return;
	}
	p->state = p->observer ? ZK_PS_OBSERVING : ZK_PS_FOLLOWING;
	zk_fle_set_decided(&p->fle, p->state, &v);
	zk_logf(&p->log, ZK_LOG_INFO, "%s myid=%" PRId64 " leader=%" PRId64 " round=%" PRId64,
		p->observer ? "OBSERVING" : "FOLLOWING", p->myid, v.leader, v.election_epoch);
	p->ln = zk_learner_new(p, now, v.leader, out);
	if (!p->ln)
		zk_peer_become_looking(p, now, "out of memory", out);
}

/* ---- the server core's replication hook ---- */

static void hook_proposed(void *ctx, int64_t zxid, const uint8_t *txn, size_t len, struct zk_out *out)
{
	struct zk_peer *p = ctx;
	if (p->ld)
		zk_leader_proposed(p->ld, zxid, txn, len, out);
}

static void hook_durable(void *ctx, struct zk_now now, uint64_t token, int rc, struct zk_out *out)
{
	struct zk_peer *p = ctx;
	if (p->ld)
		zk_leader_durable(p->ld, now, token, rc, out);
	else if (p->ln)
		zk_learner_durable(p->ln, now, token, rc, out);
}

static void hook_forward(void *ctx, int64_t session_id, int32_t cxid, int32_t op, const uint8_t *body, size_t len,
                         const struct zk_auth *auth, struct zk_out *out)
{
	struct zk_peer *p = ctx;
	if (p->ln)
		zk_learner_forward(p->ln, session_id, cxid, op, body, len, auth, out);
}

static void hook_tick(void *ctx, struct zk_now now, struct zk_out *out) { zk_peer_tick(ctx, now, out); }

static int64_t hook_next_wake(void *ctx) { return zk_peer_next_wake(ctx); }

static const char *hook_mode_name(void *ctx)
{
	struct zk_peer *p = ctx;
	switch (p->state) {
	case ZK_PS_LEADING: return "leader";
	case ZK_PS_FOLLOWING: return "follower";
	case ZK_PS_OBSERVING: return "observer";
	default: return zk_server_mode(p->srv) == ZK_MODE_READONLY ? "read-only" : "looking";
	}
}

static void hook_mntr(void *ctx, struct zk_wbuf *w)
{
	struct zk_peer *p = ctx;
	if (p->ld)
		zk_leader_mntr(p->ld, w);
	else if (p->ln)
		zk_learner_mntr(p->ln, w);
	if (p->om) {
		char line[64];
		int n = snprintf(line, sizeof(line), "zk_observer_master_observers\t%d\n", zk_om_count(p->om));
		zk_jw_raw(w, line, (size_t)n);
	}
}

static void hook_conf(void *ctx, struct zk_wbuf *w)
{
	struct zk_peer *p = ctx;
	int i = zk_peer_index(p, p->myid);
	const struct zk_cfg_server *me = i >= 0 ? &p->cfg.servers[i] : NULL;
	char line[512];
	int n = snprintf(line, sizeof(line),
			 "serverId=%" PRId64 "\ninitLimit=%d\nsyncLimit=%d\nelectionAlg=3\nelectionPort=%d\n"
			 "quorumPort=%d\npeerType=%d\nmembership: \n",
			 p->myid, p->cfg.init_limit, p->cfg.sync_limit, me ? me->election_port : -1,
			 me ? me->quorum_port : -1, p->observer ? 1 : 0);
	zk_jw_raw(w, line, (size_t)n);
	zk_quorum_config_text(&p->cfg, w);
}

/* ---- API ---- */

struct zk_peer *zk_peer_new(const struct zk_config *cfg, int64_t myid, struct zk_server *srv,
                            const struct zk_logger *log, uint64_t seed)
{
	struct zk_peer *p = zk_calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->cfg = *cfg;
	if (log)
		p->log = *log;
	p->myid = myid;
	p->srv = srv;
	p->rng = seed ? seed : 0x9E3779B97F4A7C15ULL;
	p->tick_ms = cfg->tick_time_ms > 0 ? cfg->tick_time_ms : 2000;
	int i = zk_peer_index(p, myid);
	p->observer = (i >= 0 && p->cfg.servers[i].observer) || cfg->peer_type_observer;
	p->state = ZK_PS_LOOKING;
	zk_wbuf_init(&p->scratch);
	zk_fle_init(&p->fle, &p->cfg, myid, log);
	zk_server_set_myid(srv, myid);
	struct zk_repl r = {
		.ctx = p,
		.proposed = hook_proposed,
		.durable = hook_durable,
		.forward = hook_forward,
		.tick = hook_tick,
		.next_wake = hook_next_wake,
		.mode_name = hook_mode_name,
		.mntr = hook_mntr,
		.conf = hook_conf,
	};
	zk_server_set_repl(srv, &r);
	return p;
}

void zk_peer_free(struct zk_peer *p)
{
	if (!p)
		return;
	struct zk_out scratch_out;
	zk_out_init(&scratch_out);
	drop_role(p, &scratch_out);
	zk_out_fini(&scratch_out);
	zk_fle_fini(&p->fle);
	zk_wbuf_fini(&p->scratch);
	struct zk_repl none;
	memset(&none, 0, sizeof(none));
	zk_server_set_repl(p->srv, &none);
	zk_free(p);
}

void zk_peer_set_epochs(struct zk_peer *p, int64_t accepted_epoch, int64_t current_epoch)
{
	p->accepted_epoch = accepted_epoch;
	p->current_epoch = current_epoch;
}

void zk_peer_start(struct zk_peer *p, struct zk_now now, struct zk_out *out)
{
	zk_peer_become_looking(p, now, "start", out);
	check_election(p, now, out);
}

void zk_peer_elect_recv(struct zk_peer *p, struct zk_now now, int64_t sid, const uint8_t *body, size_t len,
                        struct zk_out *out)
{
	zk_fle_recv(&p->fle, now.mono_ms, sid, body, len, out);
	check_election(p, now, out);
}

void zk_peer_qlink_open(struct zk_peer *p, struct zk_now now, uint64_t link, bool inbound, struct zk_out *out)
{
	if (inbound && p->ld) {
		zk_leader_link_open(p->ld, now, link, out);
		return;
	}
	if (inbound && p->om) {
		zk_om_link_open(p->om, now, link, out);
		return;
	}
	if (!inbound && p->ln && zk_learner_link(p->ln) == link) {
		zk_learner_link_open(p->ln, now, link, out);
		return;
	}
	/* Not leading (a learner that found us before we knew), or a dial we no longer want. */
	zk_logf(&p->log, ZK_LOG_DEBUG, "closing quorum link=0x%" PRIx64 " inbound=%d: not expected in state %d", link,
		inbound, p->state);
	zk_out_close(out, link, ZK_CLOSE_NOT_SERVING);
}

void zk_peer_qlink_closed(struct zk_peer *p, struct zk_now now, uint64_t link, struct zk_out *out)
{
	if (p->ld)
		zk_leader_link_closed(p->ld, now, link, out);
	else if (p->om && zk_om_has_link(p->om, link))
		zk_om_link_closed(p->om, link, out);
	else if (p->ln && zk_learner_link(p->ln) == link)
		zk_learner_link_closed(p->ln, now, link, out);
	check_election(p, now, out);
}

void zk_peer_qpkt(struct zk_peer *p, struct zk_now now, uint64_t link, const struct zk_qpkt *q, struct zk_out *out)
{
	/* A role that gives up frees itself through zk_peer_become_looking (p->ld / p->ln = NULL). */
	if (p->ld) {
		zk_leader_packet(p->ld, now, link, q, out);
	} else if (p->om && zk_om_has_link(p->om, link)) {
		zk_om_packet(p->om, now, link, q, out);
	} else if (p->ln && zk_learner_link(p->ln) == link) {
		zk_learner_packet(p->ln, now, link, q, out);
	} else {
		zk_out_close(out, link, ZK_CLOSE_NOT_SERVING);
	}
	check_election(p, now, out);
}

void zk_peer_qsnap(struct zk_peer *p, struct zk_now now, uint64_t link, const uint8_t *snap, size_t len,
                   struct zk_out *out)
{
	if (p->ln && zk_learner_link(p->ln) == link) {
		zk_learner_snap(p->ln, now, link, snap, len, out);
	} else {
		zk_out_close(out, link, ZK_CLOSE_QUORUM_PROTOCOL);
	}
	check_election(p, now, out);
}

void zk_peer_truncated(struct zk_peer *p, struct zk_now now, int rc, struct zk_out *out)
{
	if (p->ln)
		zk_learner_truncated(p->ln, now, rc, out);
	check_election(p, now, out);
}

/* readonlymode.enabled: a member that has been LOOKING for a while serves reads to clients that
 * accept a read-only session (QuorumPeer starts its ReadOnlyZooKeeperServer after
 * max(2000 ms, tickTime), so that a quick election does not bounce clients). */
static void maybe_read_only(struct zk_peer *p, struct zk_now now, struct zk_out *out)
{
	int64_t delay = p->tick_ms > 2000 ? p->tick_ms : 2000;
	if (!p->cfg.readonly_mode_enabled || p->state != ZK_PS_LOOKING || now.mono_ms - p->looking_since_ms < delay ||
	    zk_server_mode(p->srv) != ZK_MODE_DOWN)
		return;
	zk_logf(&p->log, ZK_LOG_INFO, "no leader for %lld ms: serving read-only clients zxid=0x%llx",
		(long long)(now.mono_ms - p->looking_since_ms), (unsigned long long)zk_server_last_zxid(p->srv));
	zk_server_set_mode(p->srv, now, ZK_MODE_READONLY, 0, out);
}

void zk_peer_tick(struct zk_peer *p, struct zk_now now, struct zk_out *out)
{
	if (p->state == ZK_PS_LOOKING) {
		zk_fle_tick(&p->fle, now.mono_ms, out);
		maybe_read_only(p, now, out);
	}
	if (p->ld)
		zk_leader_tick(p->ld, now, out);
	if (p->om)
		zk_om_tick(p->om, now, out);
	if (p->ln)
		zk_learner_tick(p->ln, now, out);
	check_election(p, now, out);
}

int64_t zk_peer_next_wake(const struct zk_peer *p)
{
	int64_t t = zk_fle_next_wake(&p->fle);
	if (p->cfg.readonly_mode_enabled && p->state == ZK_PS_LOOKING) {
		int64_t ro = p->looking_since_ms + (p->tick_ms > 2000 ? p->tick_ms : 2000);
		t = ro < t ? ro : t;
	}
	if (p->ld) {
		int64_t r = zk_leader_next_wake(p->ld);
		t = r < t ? r : t;
	}
	if (p->ln) {
		int64_t r = zk_learner_next_wake(p->ln);
		t = r < t ? r : t;
	}
	return t;
}

int32_t zk_peer_state(const struct zk_peer *p) { return p->state; }

bool zk_peer_om_active(const struct zk_peer *p) { return p->om != NULL; }

bool zk_peer_serving(const struct zk_peer *p)
{
	if (p->ld)
		return zk_leader_established(p->ld);
	return p->ln && zk_learner_serving(p->ln);
}

int64_t zk_peer_epoch(const struct zk_peer *p) { return p->current_epoch; }

int64_t zk_peer_accepted_epoch(const struct zk_peer *p) { return p->accepted_epoch; }

int64_t zk_peer_leader(const struct zk_peer *p)
{
	if (p->ld)
		return p->myid;
	return p->ln ? zk_learner_leader(p->ln) : -1;
}
