/* Fast leader election (FastLeaderElection.lookForLeader and its WorkerReceiver, protocol.md 4.4)
 * as a deterministic state machine. Owns the election round (logicalclock), the proposal, the
 * votes received this round and from established servers (recvset / outofelection), the
 * finalizeWait and re-send deadlines, and the config text every notification carries. Sends are
 * whole frames on ZK_LINK_ELECT_BASE | sid; the notification to ourselves is looped back inside.
 *
 * Java runs this as two threads around a queue: WorkerReceiver answers some senders at once and
 * queues the rest; lookForLeader takes notifications off the queue. Here zk_fle_recv does both in
 * that order (answer, then the loop body), zk_fle_tick does the loop's two timeouts (the
 * finalizeWait poll, the back-off poll), and the loop-back of our own notification runs after
 * the notification that caused it, where Java's queue would deliver it.
 *
 * Deliberate differences from Java, each harmless to a Java peer:
 *  - a non-voter (observer) never answers: voters only ever answer a non-voter and never read
 *    what it says, and Java's observer answers ping-pong with a LOOKING voter's answers for as
 *    long as that voter stays LOOKING;
 *  - while LOOKING we answer non-voters with our initial vote (Java: QuorumPeer.currentVote,
 *    which is that vote at first start but the last decided one in a re-election, so an
 *    observer could count a quorum of stale votes for a leader that is gone);
 *  - zero weight for non-voters in the vote order (QuorumMaj weighs everyone 1, but the loop
 *    drops votes for non-voters anyway; only finalizeWait would see the difference);
 *  - a received config with a newer version is not acted on (no dynamic reconfig);
 *  - a notification whose state is not 0..3 is dropped even from a non-voter (Java still
 *    answers a non-voter before looking at the state). */
#include "fle.h"

#include <string.h>

_Static_assert(ZK_FLE_VOTERS_MAX >= ZK_CFG_SERVERS_MAX, "one vote slot per configured server");

/* Conn ids carry the sid below the link-kind bits. */
#define SID_LINK_LIMIT ((int64_t)1 << 61)

static const char *state_name(int32_t s)
{
	static const char *names[] = { "LOOKING", "FOLLOWING", "LEADING", "OBSERVING" };
	return s >= 0 && s <= 3 ? names[s] : "?";
}

static int server_index(const struct zk_config *c, int64_t sid)
{
	for (int i = 0; i < c->n_servers; i++)
		if (c->servers[i].id == sid)
			return i;
	return -1;
}

/* totalOrderPredicate: does n beat cur? Only a voter can win (weight > 0). */
static bool vote_beats(const struct zk_fle *e, const struct zk_vote *n, const struct zk_vote *cur)
{
	if (!zk_quorum_is_voter(e->cfg, n->leader))
		return false;
	if (n->peer_epoch != cur->peer_epoch)
		return n->peer_epoch > cur->peer_epoch;
	if (n->zxid != cur->zxid)
		return n->zxid > cur->zxid;
	return n->leader > cur->leader;
}

/* Vote.equals between a recorded vote and the one being counted. Established votes compare
 * only leader and peerEpoch (their zxid and round may differ, ZOOKEEPER-1805), and only the
 * leader when exactly one side is a version-0 notification (ZOOKEEPER-1732). */
static bool vote_matches(const struct zk_fle_peer_vote *a, int32_t state, int32_t version, const struct zk_vote *t)
{
	if (a->state == ZK_PS_LOOKING || state == ZK_PS_LOOKING)
		return a->vote.leader == t->leader && a->vote.zxid == t->zxid &&
		       a->vote.election_epoch == t->election_epoch && a->vote.peer_epoch == t->peer_epoch;
	if ((a->version > 0) != (version > 0))
		return a->vote.leader == t->leader;
	return a->vote.leader == t->leader && a->vote.peer_epoch == t->peer_epoch;
}

/* getVoteTracker + QuorumMaj.containsQuorum: do the voters that recorded t form a majority? */
static bool has_quorum(const struct zk_fle *e, const struct zk_fle_peer_vote *table, int32_t state,
                       int32_t version, const struct zk_vote *t)
{
	int n = 0;
	for (int i = 0; i < e->cfg->n_servers; i++)
		if (table[i].present && !e->cfg->servers[i].observer && vote_matches(&table[i], state, version, t))
			n++;
	return zk_quorum_has_majority(e->cfg, n);
}

/* checkLeader: unless it is us, the leader must itself have said LEADING; if it is us, the
 * votes must be from our round. Stops a quorum re-electing a leader that crashed. */
static bool check_leader(const struct zk_fle *e, const struct zk_fle_peer_vote *table, int64_t leader,
                         int64_t election_epoch)
{
	if (leader == e->myid)
		return e->logicalclock == election_epoch;
	int i = server_index(e->cfg, leader);
	return i >= 0 && table[i].present && table[i].state == ZK_PS_LEADING;
}

static void send_notif(struct zk_fle *e, int64_t sid, int32_t state, const struct zk_vote *v, struct zk_out *out)
{
	if (sid < 0 || sid >= SID_LINK_LIMIT) {
		zk_logf(&e->log, ZK_LOG_DEBUG, "fle: no election link for sid=%lld, notification not sent",
		        (long long)sid);
		return;
	}
	size_t mark;
	struct zk_wbuf *w = zk_out_send_begin(out, &mark);
	/* cfgtext.err (no memory at init) leaves an empty config, which peers accept. */
	size_t cl = e->cfgtext.err ? 0 : e->cfgtext.len;
	zk_notif_write_frame(w, state, v, cl ? (const char *)e->cfgtext.p : "", cl);
	zk_out_send_end(out, ZK_LINK_ELECT_BASE | (uint64_t)sid, mark);
}

/* sendNotifications: our proposal, LOOKING, to every voter. Ours comes back through
 * flush_self once the current input is handled. */
static void broadcast(struct zk_fle *e, struct zk_out *out)
{
	e->proposal.election_epoch = e->logicalclock;
	for (int i = 0; i < e->cfg->n_servers; i++) {
		const struct zk_cfg_server *s = &e->cfg->servers[i];
		if (s->observer)
			continue;
		if (s->id == e->myid)
			e->self_pending = true;
		else
			send_notif(e, s->id, ZK_PS_LOOKING, &e->proposal, out);
	}
}

static void decide(struct zk_fle *e, const struct zk_vote *v, const char *why)
{
	e->state = v->leader == e->myid ? ZK_PS_LEADING : e->observer ? ZK_PS_OBSERVING : ZK_PS_FOLLOWING;
	e->decided = *v;
	e->decided_valid = true;
	e->finalize_at_ms = 0;
	e->self_pending = false;
	zk_logf(&e->log, ZK_LOG_INFO,
	        "fle: election done (%s) myid=%lld state=%s leader=%lld zxid=0x%llx round=0x%llx peerEpoch=0x%llx",
	        why, (long long)e->myid, state_name(e->state), (long long)v->leader, (unsigned long long)v->zxid,
	        (unsigned long long)v->election_epoch, (unsigned long long)v->peer_epoch);
}

/* A LOOKING sender: move to a newer round, adopt a better vote, count the votes for our
 * proposal; a quorum starts finalizeWait. */
static void on_looking(struct zk_fle *e, int64_t now_ms, int idx, const struct zk_notif *n, struct zk_out *out)
{
	if (e->initial.zxid == -1 || n->vote.zxid == -1) {
		zk_logf(&e->log, ZK_LOG_DEBUG, "fle: LOOKING vote not counted: zxid -1 (ours 0x%llx, theirs 0x%llx)",
		        (unsigned long long)e->initial.zxid, (unsigned long long)n->vote.zxid);
		return;
	}
	if (n->vote.election_epoch > e->logicalclock) {
		e->logicalclock = n->vote.election_epoch;
		memset(e->recv, 0, sizeof(e->recv));
		e->proposal = vote_beats(e, &n->vote, &e->initial) ? n->vote : e->initial;
		broadcast(e, out);
	} else if (n->vote.election_epoch < e->logicalclock) {
		zk_logf(&e->log, ZK_LOG_DEBUG, "fle: vote from an older round 0x%llx < 0x%llx ignored",
		        (unsigned long long)n->vote.election_epoch, (unsigned long long)e->logicalclock);
		return;
	} else if (vote_beats(e, &n->vote, &e->proposal)) {
		e->proposal = n->vote;
		broadcast(e, out);
	}
	e->recv[idx] = (struct zk_fle_peer_vote){ true, ZK_PS_LOOKING, n->vote, n->version };
	e->proposal.election_epoch = e->logicalclock;
	if (!e->finalize_at_ms && has_quorum(e, e->recv, ZK_PS_LOOKING, 0, &e->proposal)) {
		e->finalize_at_ms = now_ms + ZK_FLE_FINALIZE_WAIT_MS;
		zk_logf(&e->log, ZK_LOG_DEBUG, "fle: quorum for leader=%lld round=0x%llx, finalizeWait until %lld",
		        (long long)e->proposal.leader, (unsigned long long)e->logicalclock, (long long)e->finalize_at_ms);
	}
}

/* A FOLLOWING or LEADING sender (an elected ensemble answering): join its leader once a quorum
 * says so and the leader itself said LEADING, either in our round or from any round
 * (outofelection: how a restarted server joins a running ensemble). */
static void on_established(struct zk_fle *e, int idx, const struct zk_notif *n)
{
	const struct zk_vote *v = &n->vote;
	if (v->election_epoch == e->logicalclock) {
		/* Java records these in recvset with version 0 (the Vote constructor it uses). */
		e->recv[idx] = (struct zk_fle_peer_vote){ true, n->state, *v, 0 };
		if (has_quorum(e, e->recv, n->state, n->version, v) && check_leader(e, e->recv, v->leader, v->election_epoch)) {
			decide(e, v, "quorum of this round");
			return;
		}
	}
	e->ooe[idx] = (struct zk_fle_peer_vote){ true, n->state, *v, n->version };
	if (has_quorum(e, e->ooe, n->state, n->version, v) && check_leader(e, e->ooe, v->leader, v->election_epoch)) {
		e->logicalclock = v->election_epoch;
		decide(e, v, "joined established ensemble");
	}
}

/* The body of lookForLeader's loop for one notification from voter sid. */
static void loop_notif(struct zk_fle *e, int64_t now_ms, int64_t sid, const struct zk_notif *n, struct zk_out *out)
{
	/* Every notification taken off the queue restarts the back-off poll. */
	e->next_resend_ms = now_ms + e->notif_timeout_ms;
	if (e->finalize_at_ms) {
		/* finalizeWait: only a better vote interrupts; anything else is dropped and the 200 ms
		 * poll starts over, as Java's recvqueue.poll(finalizeWait) loop does. */
		if (!vote_beats(e, &n->vote, &e->proposal)) {
			e->finalize_at_ms = now_ms + ZK_FLE_FINALIZE_WAIT_MS;
			return;
		}
		e->finalize_at_ms = 0;
		zk_logf(&e->log, ZK_LOG_DEBUG, "fle: better vote leader=%lld from sid=%lld during finalizeWait",
		        (long long)n->vote.leader, (long long)sid);
	}
	if (!zk_quorum_is_voter(e->cfg, n->vote.leader)) {
		zk_logf(&e->log, ZK_LOG_WARN, "fle: ignoring vote for non-voter leader=%lld from sid=%lld",
		        (long long)n->vote.leader, (long long)sid);
		return;
	}
	int idx = server_index(e->cfg, sid);
	switch (n->state) {
	case ZK_PS_LOOKING:
		on_looking(e, now_ms, idx, n, out);
		break;
	case ZK_PS_FOLLOWING:
	case ZK_PS_LEADING:
		on_established(e, idx, n);
		break;
	default:
		zk_logf(&e->log, ZK_LOG_DEBUG, "fle: notification from observing sid=%lld ignored", (long long)sid);
		break;
	}
}

/* The loop-back of our own notification (QuorumCnxManager queues it straight to us). */
static void flush_self(struct zk_fle *e, int64_t now_ms, struct zk_out *out)
{
	while (e->self_pending && e->state == ZK_PS_LOOKING) {
		struct zk_notif n = { .state = ZK_PS_LOOKING, .vote = e->proposal, .version = ZK_NOTIF_VERSION };
		e->self_pending = false;
		n.vote.election_epoch = e->logicalclock;
		loop_notif(e, now_ms, e->myid, &n, out);
	}
	e->self_pending = false;
}

static void note_wake(const struct zk_fle *e, struct zk_out *out)
{
	int64_t w = zk_fle_next_wake(e);
	if (w != INT64_MAX && (out->wake_at_ms == 0 || w < out->wake_at_ms))
		out->wake_at_ms = w;
}

void zk_fle_init(struct zk_fle *e, const struct zk_config *cfg, int64_t myid, const struct zk_logger *log)
{
	memset(e, 0, sizeof(*e));
	e->cfg = cfg;
	if (log)
		e->log = *log;
	e->myid = myid;
	/* Not a voting member (an observer, or not in the server list): never proposes itself, never
	 * counts, learns the leader from the voters. */
	e->observer = !zk_quorum_is_voter(cfg, myid);
	e->state = ZK_PS_LOOKING;
	e->notif_timeout_ms = ZK_FLE_MIN_NOTIF_MS;
	zk_wbuf_init(&e->cfgtext);
	zk_quorum_config_text(cfg, &e->cfgtext);
}

void zk_fle_fini(struct zk_fle *e)
{
	if (!e)
		return;
	zk_wbuf_fini(&e->cfgtext);
}

void zk_fle_start(struct zk_fle *e, int64_t now_ms, int64_t last_zxid, int64_t current_epoch, struct zk_out *out)
{
	e->logicalclock++;
	e->started = true;
	e->state = ZK_PS_LOOKING;
	e->decided_valid = false;
	memset(e->recv, 0, sizeof(e->recv));
	memset(e->ooe, 0, sizeof(e->ooe));
	e->finalize_at_ms = 0;
	e->self_pending = false;
	e->notif_timeout_ms = ZK_FLE_MIN_NOTIF_MS;
	e->next_resend_ms = now_ms + e->notif_timeout_ms;
	if (e->observer)
		e->initial = (struct zk_vote){ INT64_MIN, INT64_MIN, e->logicalclock, INT64_MIN };
	else
		e->initial = (struct zk_vote){ e->myid, last_zxid, e->logicalclock, current_epoch };
	e->proposal = e->initial;
	zk_logf(&e->log, ZK_LOG_INFO, "fle: new election myid=%lld round=0x%llx zxid=0x%llx peerEpoch=0x%llx%s",
	        (long long)e->myid, (unsigned long long)e->logicalclock, (unsigned long long)e->initial.zxid,
	        (unsigned long long)e->initial.peer_epoch, e->observer ? " (observer)" : "");
	broadcast(e, out);
	flush_self(e, now_ms, out);
	note_wake(e, out);
}

/* WorkerReceiver's answers: to a non-voter always, to a LOOKING voter behind us in rounds, and
 * once decided to every LOOKING voter. Returns true when the loop should see the notification. */
static bool answer(struct zk_fle *e, int64_t sid, const struct zk_notif *n, struct zk_out *out)
{
	if (!zk_quorum_is_voter(e->cfg, sid)) {
		if (!e->observer) {
			struct zk_vote v = e->decided_valid ? e->decided : e->initial;
			v.election_epoch = e->logicalclock;
			send_notif(e, sid, e->state, &v, out);
		}
		return false;
	}
	if (e->state != ZK_PS_LOOKING) {
		if (n->state == ZK_PS_LOOKING && !e->observer && e->decided_valid)
			send_notif(e, sid, e->state, &e->decided, out);
		return false;
	}
	if (n->state == ZK_PS_LOOKING && n->vote.election_epoch < e->logicalclock && !e->observer) {
		struct zk_vote v = e->proposal;
		v.election_epoch = e->logicalclock;
		send_notif(e, sid, ZK_PS_LOOKING, &v, out);
	}
	return true;
}

void zk_fle_recv(struct zk_fle *e, int64_t now_ms, int64_t sid, const uint8_t *body, size_t len, struct zk_out *out)
{
	struct zk_notif n;
	int rc = zk_notif_decode(body, len, &n);
	if (rc) {
		char sample[64];
		zk_log_sanitize(body, len < 12 ? len : 12, sample, sizeof sample);
		zk_logf(&e->log, ZK_LOG_DEBUG, "fle: bad notification from sid=%lld len=%zu rc=%d bytes=%s ignored",
		        (long long)sid, len, rc, sample);
		return;
	}
	zk_logf(&e->log, ZK_LOG_DEBUG,
	        "fle: notification sid=%lld state=%s leader=%lld zxid=0x%llx round=0x%llx peerEpoch=0x%llx "
	        "version=%d my_state=%s my_round=0x%llx",
	        (long long)sid, state_name(n.state), (long long)n.vote.leader, (unsigned long long)n.vote.zxid,
	        (unsigned long long)n.vote.election_epoch, (unsigned long long)n.vote.peer_epoch, n.version,
	        state_name(e->state), (unsigned long long)e->logicalclock);
	if (!e->started || sid == e->myid) {
		zk_logf(&e->log, ZK_LOG_DEBUG, "fle: notification from sid=%lld ignored (%s)", (long long)sid,
		        e->started ? "claims to be us" : "election not started");
		return;
	}
	if (!answer(e, sid, &n, out))
		return;
	loop_notif(e, now_ms, sid, &n, out);
	flush_self(e, now_ms, out);
	note_wake(e, out);
}

void zk_fle_tick(struct zk_fle *e, int64_t now_ms, struct zk_out *out)
{
	if (!e->started || e->state != ZK_PS_LOOKING)
		return;
	if (e->finalize_at_ms) {
		if (now_ms >= e->finalize_at_ms) {
			struct zk_vote v = e->proposal;
			v.election_epoch = e->logicalclock;
			decide(e, &v, "no better vote in finalizeWait");
		}
		note_wake(e, out);
		return;
	}
	if (now_ms >= e->next_resend_ms) {
		/* No notification for notif_timeout: say it again, wait twice as long next time. Java
		 * reconnects instead when its queues are not empty; reconnecting is the shell's. */
		broadcast(e, out);
		e->notif_timeout_ms = e->notif_timeout_ms * 2 < ZK_FLE_MAX_NOTIF_MS ? e->notif_timeout_ms * 2
		                                                                   : ZK_FLE_MAX_NOTIF_MS;
		e->next_resend_ms = now_ms + e->notif_timeout_ms;
		zk_logf(&e->log, ZK_LOG_DEBUG, "fle: no notification, re-sent round=0x%llx; next timeout %lld ms",
		        (unsigned long long)e->logicalclock, (long long)e->notif_timeout_ms);
		flush_self(e, now_ms, out);
	}
	note_wake(e, out);
}

int64_t zk_fle_next_wake(const struct zk_fle *e)
{
	if (!e->started || e->state != ZK_PS_LOOKING)
		return INT64_MAX;
	return e->finalize_at_ms ? e->finalize_at_ms : e->next_resend_ms;
}

bool zk_fle_result(const struct zk_fle *e, int32_t *state, struct zk_vote *vote)
{
	if (!e->decided_valid || e->state == ZK_PS_LOOKING)
		return false;
	if (state)
		*state = e->state;
	if (vote)
		*vote = e->decided;
	return true;
}

void zk_fle_set_decided(struct zk_fle *e, int32_t state, const struct zk_vote *vote)
{
	e->state = state;
	e->decided = *vote;
	e->decided_valid = state != ZK_PS_LOOKING;
	e->finalize_at_ms = 0;
	e->self_pending = false;
}
