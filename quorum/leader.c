/* ZAB leader (Leader.java, LearnerHandler.java; protocol.md 5.4-5.6) as a state machine.
 * Discovery: learners' FOLLOWERINFO give their accepted epochs; once we and a quorum of voters
 * are connected the new epoch is max + 1 (acceptedEpoch persisted), LEADERINFO goes out, and
 * a quorum of ACKEPOCHs (we abandon if a learner is more recent) sets currentEpoch. Sync: each
 * learner gets DIFF, TRUNC or SNAP from the committed log (sync choice in leader_sync.c), then our
 * outstanding proposals, then NEWLEADER; a quorum of NEWLEADER ACKs establishes us and UPTODATE
 * follows. Broadcast: each txn the core preps becomes a PROPOSAL; it commits, strictly in zxid
 * order, once a quorum of voters (us included, after our own fsync) has ACKed it. Liveness: PINGs
 * every tickTime/2; without a quorum heard from within syncLimit we step down. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <uthash.h>

#include "commitlog.h"
#include "errors.h"
#include "leader_int.h"
#include "notif.h"
#include "proto.h"
#include "zmalloc.h"

static const char *lh_state_names[] = {"wait_info", "wait_ackepoch", "wait_epoch_quorum", "wait_newleader_ack",
				       "wait_uptodate", "active"};

static int64_t init_ms(const struct zk_leader *l) { return (int64_t)l->p->cfg.init_limit * l->p->tick_ms; }
static int64_t sync_ms(const struct zk_leader *l) { return (int64_t)l->p->cfg.sync_limit * l->p->tick_ms; }

static bool mask_has(const uint64_t *m, int i) { return i >= 0 && (m[i / 64] >> (i % 64)) & 1; }
static void mask_set(uint64_t *m, int i)
{
	if (i >= 0)
		m[i / 64] |= 1ULL << (i % 64);
}

/* Voters in the mask, for a quorum check. */
static int mask_voters(const struct zk_leader *l, const uint64_t *m)
{
	int n = 0;
	for (int i = 0; i < l->p->cfg.n_servers; i++)
		n += mask_has(m, i) && !l->p->cfg.servers[i].observer;
	return n;
}

static struct zk_lh *lh_by_link(struct zk_leader *l, uint64_t link)
{
	struct zk_lh *h;
	HASH_FIND(hh, l->handlers, &link, sizeof(link), h);
	return h;
}

static void lh_drop(struct zk_leader *l, struct zk_lh *h, enum zk_close_reason why, struct zk_out *out)
{
	if (why != ZK_CLOSE_NONE)
		zk_out_close(out, h->link, why);
	HASH_DEL(l->handlers, h);
	zk_free(h);
}

struct zk_leader *zk_leader_new(struct zk_peer *p, struct zk_now now, struct zk_out *out)
{
	struct zk_leader *l = zk_calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->p = p;
	l->phase_deadline_ms = now.mono_ms + init_ms(l);
	l->max_accepted_epoch = p->accepted_epoch;
	mask_set(l->connected, zk_peer_index(p, p->myid));
	l->next_ping_ms = now.mono_ms;
	zk_wbuf_init(&l->cfgtext);
	zk_quorum_config_text(&p->cfg, &l->cfgtext);
	/* A quorum of one (standaloneEnabled=false with one voter) needs no one else. */
	zk_leader_check_discovery(l, now, out);
	return l;
}

void zk_leader_free(struct zk_leader *l, struct zk_out *out)
{
	if (!l)
		return;
	struct zk_lh *h, *t;
	HASH_ITER(hh, l->handlers, h, t) lh_drop(l, h, ZK_CLOSE_ROLE_CHANGE, out);
	struct zk_proposal *pr = l->props;
	while (pr) {
		struct zk_proposal *n = pr->next;
		zk_free(pr->txn);
		zk_free(pr);
		pr = n;
	}
	struct zk_lsync *s = l->syncs;
	while (s) {
		struct zk_lsync *n = s->next;
		zk_free(s);
		s = n;
	}
	zk_wbuf_fini(&l->cfgtext);
	zk_free(l);
}

bool zk_leader_established(const struct zk_leader *l) { return l->established; }

void zk_leader_link_open(struct zk_leader *l, struct zk_now now, uint64_t link, struct zk_out *out)
{
	struct zk_lh *h = zk_calloc(1, sizeof(*h));
	if (!h) {
		zk_out_close(out, link, ZK_CLOSE_NOMEM);
		return;
	}
	h->link = link;
	h->sid = -1;
	h->idx = -1;
	h->state = LH_WAIT_INFO;
	h->deadline_ms = now.mono_ms + init_ms(l);
	HASH_ADD(hh, l->handlers, link, sizeof(h->link), h);
}

void zk_leader_link_closed(struct zk_leader *l, struct zk_now now, uint64_t link, struct zk_out *out)
{
	(void)now;
	struct zk_lh *h = lh_by_link(l, link);
	if (!h)
		return;
	zk_logf(&l->p->log, ZK_LOG_INFO, "learner gone sid=%" PRId64 " state=%s", h->sid, lh_state_names[h->state]);
	lh_drop(l, h, ZK_CLOSE_NONE, out);
}

static void send_leaderinfo(struct zk_leader *l, struct zk_lh *h, struct zk_out *out)
{
	uint8_t ver[4];
	zk_put_be32(ver, ZK_QP_PROTOCOL_VERSION);
	zk_peer_send(l->p, h->link, ZK_QP_LEADERINFO, l->epoch << 32, ver, 4, NULL, out);
	h->state = LH_WAIT_ACKEPOCH;
}

/* Discovery step 2: the epoch is fixed once we and a quorum of voters are connected. */
void zk_leader_check_discovery(struct zk_leader *l, struct zk_now now, struct zk_out *out)
{
	if (l->epoch_fixed || !zk_peer_quorum(l->p, mask_voters(l, l->connected)))
		return;
	l->epoch_fixed = true;
	l->epoch = l->max_accepted_epoch + 1;
	zk_peer_set_accepted_epoch(l->p, l->epoch, out);
	zk_logf(&l->p->log, ZK_LOG_INFO, "new epoch=%" PRId64 " proposed to the learners", l->epoch);
	struct zk_lh *h, *t;
	HASH_ITER(hh, l->handlers, h, t) {
		if (h->state == LH_WAIT_INFO && h->sid >= 0)
			send_leaderinfo(l, h, out);
	}
	mask_set(l->epoch_acked, zk_peer_index(l->p, l->p->myid));
	zk_leader_check_epoch_quorum(l, now, out);
}

static bool on_info(struct zk_leader *l, struct zk_now now, struct zk_lh *h, const struct zk_qpkt *q, struct zk_out *out)
{
	struct zk_learner_info li;
	if (h->state != LH_WAIT_INFO || zk_learner_info_decode(q->data, &li)) {
		zk_logf(&l->p->log, ZK_LOG_WARN, "bad learner info link=0x%" PRIx64 " state=%s", h->link,
			lh_state_names[h->state]);
		lh_drop(l, h, ZK_CLOSE_QUORUM_PROTOCOL, out);
		return true;
	}
	int idx = zk_peer_index(l->p, li.sid);
	if (idx < 0 || li.sid == l->p->myid) {
		zk_logf(&l->p->log, ZK_LOG_WARN, "learner sid=%" PRId64 " is not a member: closing", li.sid);
		lh_drop(l, h, ZK_CLOSE_QUORUM_PROTOCOL, out);
		return true;
	}
	/* A learner that reconnects replaces its old link. */
	struct zk_lh *o, *t;
	HASH_ITER(hh, l->handlers, o, t) {
		if (o != h && o->sid == li.sid)
			lh_drop(l, o, ZK_CLOSE_RECONNECTED, out);
	}
	h->sid = li.sid;
	h->idx = idx;
	/* Its ACKs from an earlier link no longer hold: the sync about to happen may TRUNC what it
	 * logged (found by the simulator: a stale ACK completed a quorum that two disks held). It
	 * ACKs again what is re-sent once that is durable. */
	for (struct zk_proposal *pr = l->props; pr; pr = pr->next)
		pr->acks[idx / 64] &= ~(1ULL << (idx % 64));
	h->observer = q->type == ZK_QP_OBSERVERINFO || l->p->cfg.servers[idx].observer;
	int64_t their_accepted = q->zxid >> 32;
	zk_logf(&l->p->log, ZK_LOG_INFO, "learner sid=%" PRId64 " observer=%d acceptedEpoch=%" PRId64 " connected", h->sid,
		h->observer, their_accepted);
	if (l->epoch_fixed && their_accepted > l->epoch) {
		/* It promised a newer epoch to a leader that never established: it cannot follow us
		 * and would loop between election and us forever. A new election gets an epoch above
		 * every promise (ZooKeeper's learner only drops the link, and stays out). */
		zk_logf(&l->p->log, ZK_LOG_WARN, "learner sid=%" PRId64 " accepted epoch %" PRId64 " above ours %" PRId64
			": new election", h->sid, their_accepted, l->epoch);
		zk_peer_become_looking(l->p, now, "a learner accepted a newer epoch", out);
		return false;
	}
	if (l->epoch_fixed) {
		send_leaderinfo(l, h, out);
		return true;
	}
	if (their_accepted > l->max_accepted_epoch)
		l->max_accepted_epoch = their_accepted;
	if (!h->observer)
		mask_set(l->connected, idx);
	zk_leader_check_discovery(l, now, out);
	return true;
}

static bool on_ackepoch(struct zk_leader *l, struct zk_now now, struct zk_lh *h, const struct zk_qpkt *q,
                        struct zk_out *out)
{
	if (h->state != LH_WAIT_ACKEPOCH || q->data.len != 4) {
		lh_drop(l, h, ZK_CLOSE_QUORUM_PROTOCOL, out);
		return true;
	}
	int32_t their_epoch = (int32_t)zk_get_be32(q->data.p);
	h->last_zxid = q->zxid;
	if (their_epoch != -1 && !h->observer) {
		int64_t my_zxid = (int64_t)zk_server_last_zxid(l->p->srv);
		if (their_epoch > l->p->current_epoch || (their_epoch == l->p->current_epoch && q->zxid > my_zxid)) {
			/* StateSummary.isMoreRecentThan: that learner should lead. */
			zk_peer_become_looking(l->p, now, "a learner is more recent than the leader", out);
			return false;
		}
		mask_set(l->epoch_acked, h->idx);
	}
	h->state = LH_WAIT_EPOCH_QUORUM;
	if (l->epoch_quorum)
		zk_leader_sync_learner(l, h, out);
	else
		zk_leader_check_epoch_quorum(l, now, out);
	return true;
}

/* Discovery done: a quorum acked the epoch. Every learner waiting gets synchronised. */
void zk_leader_check_epoch_quorum(struct zk_leader *l, struct zk_now now, struct zk_out *out)
{
	(void)now;
	if (l->epoch_quorum || !l->epoch_fixed || !zk_peer_quorum(l->p, mask_voters(l, l->epoch_acked)))
		return;
	l->epoch_quorum = true;
	zk_peer_set_current_epoch(l->p, l->epoch, out);
	mask_set(l->newleader_acked, zk_peer_index(l->p, l->p->myid));
	struct zk_lh *h, *t;
	HASH_ITER(hh, l->handlers, h, t) {
		if (h->state == LH_WAIT_EPOCH_QUORUM)
			zk_leader_sync_learner(l, h, out);
	}
	zk_leader_check_established(l, now, out);
}

static void send_uptodate(struct zk_leader *l, struct zk_lh *h, struct zk_out *out)
{
	zk_peer_send(l->p, h->link, ZK_QP_UPTODATE, -1, NULL, -1, NULL, out);
	h->state = LH_ACTIVE;
}

void zk_leader_check_established(struct zk_leader *l, struct zk_now now, struct zk_out *out)
{
	if (l->established || !l->epoch_quorum || !zk_peer_quorum(l->p, mask_voters(l, l->newleader_acked)))
		return;
	l->established = true;
	l->last_committed = (int64_t)zk_server_last_zxid(l->p->srv);
	l->last_proposed = l->epoch << 32;
	zk_server_set_mode(l->p->srv, now, ZK_MODE_LEADER, l->epoch << 32, out);
	struct zk_vote v = l->p->vote;
	v.peer_epoch = l->epoch;
	zk_fle_set_decided(&l->p->fle, ZK_PS_LEADING, &v);
	zk_logf(&l->p->log, ZK_LOG_INFO, "leader established epoch=%" PRId64 " zxid=0x%" PRIx64, l->epoch,
		(uint64_t)zk_server_last_zxid(l->p->srv));
	struct zk_lh *h, *t;
	HASH_ITER(hh, l->handlers, h, t) {
		if (h->state == LH_WAIT_UPTODATE)
			send_uptodate(l, h, out);
	}
}

static struct zk_proposal *find_prop(struct zk_leader *l, int64_t zxid)
{
	for (struct zk_proposal *pr = l->props; pr && pr->zxid <= zxid; pr = pr->next)
		if (pr->zxid == zxid)
			return pr;
	return NULL;
}

static void answer_syncs(struct zk_leader *l, struct zk_out *out)
{
	while (l->syncs && l->syncs->zxid <= l->last_committed) {
		struct zk_lsync *s = l->syncs;
		l->syncs = s->next;
		if (!l->syncs)
			l->syncs_tail = NULL;
		l->n_syncs--;
		if (lh_by_link(l, s->link))
			zk_peer_send(l->p, s->link, ZK_QP_SYNC, 0, NULL, -1, NULL, out);
		zk_free(s);
	}
}

/* Commits, in zxid order, every proposal at the head that a quorum has acked. */
static void try_commit(struct zk_leader *l, struct zk_now now, struct zk_out *out)
{
	while (l->props && zk_peer_quorum(l->p, mask_voters(l, l->props->acks))) {
		struct zk_proposal *pr = l->props;
		l->props = pr->next;
		if (!l->props)
			l->props_tail = NULL;
		l->n_props--;
		struct zk_lh *h, *t;
		HASH_ITER(hh, l->handlers, h, t) {
			if (!h->forwarding)
				continue;
			if (h->observer)
				zk_peer_send(l->p, h->link, ZK_QP_INFORM, pr->zxid, pr->txn, (int32_t)pr->len, NULL, out);
			else
				zk_peer_send(l->p, h->link, ZK_QP_COMMIT, pr->zxid, NULL, -1, NULL, out);
		}
		l->last_committed = pr->zxid;
		zk_server_commit(l->p->srv, now, pr->zxid, out);
		zk_free(pr->txn);
		zk_free(pr);
	}
	answer_syncs(l, out);
}

void zk_leader_proposed(struct zk_leader *l, int64_t zxid, const uint8_t *txn, size_t len, struct zk_out *out)
{
	struct zk_proposal *pr = zk_calloc(1, sizeof(*pr));
	uint8_t *copy = zk_malloc(len ? len : 1);
	if (!pr || !copy) {
		/* The txn is in our log and the pipeline; without the proposal it can never commit, so
		 * leadership cannot go on. The next tick steps down. */
		zk_free(pr);
		zk_free(copy);
		l->failed = true;
		return;
	}
	memcpy(copy, txn, len);
	pr->zxid = zxid;
	pr->txn = copy;
	pr->len = len;
	if (l->props_tail)
		l->props_tail->next = pr;
	else
		l->props = pr;
	l->props_tail = pr;
	l->n_props++;
	l->last_proposed = zxid;
	struct zk_lh *h, *t;
	HASH_ITER(hh, l->handlers, h, t) {
		if (h->forwarding && !h->observer)
			zk_peer_send(l->p, h->link, ZK_QP_PROPOSAL, zxid, txn, (int32_t)len, NULL, out);
	}
}

void zk_leader_durable(struct zk_leader *l, struct zk_now now, uint64_t token, int rc, struct zk_out *out)
{
	if (rc < 0) {
		l->failed = true;
		return;
	}
	int me = zk_peer_index(l->p, l->p->myid);
	for (struct zk_proposal *pr = l->props; pr && (uint64_t)pr->zxid <= token; pr = pr->next)
		mask_set(pr->acks, me);
	try_commit(l, now, out);
}

static void on_ack(struct zk_leader *l, struct zk_now now, struct zk_lh *h, const struct zk_qpkt *q, struct zk_out *out)
{
	/* A learner may ACK a proposal it logged during the sync before it ACKs NEWLEADER (3.8.0's
	 * asynchronous logging): that one falls through to the proposal ACKs. */
	if (h->state == LH_WAIT_NEWLEADER_ACK && q->zxid == l->epoch << 32) {
		if (!h->observer) /* observers ACK NEWLEADER too, but never count */
			mask_set(l->newleader_acked, h->idx);
		h->state = LH_WAIT_UPTODATE;
		if (l->established)
			send_uptodate(l, h, out);
		else
			zk_leader_check_established(l, now, out);
		return;
	}
	struct zk_proposal *pr = h->observer ? NULL : find_prop(l, q->zxid);
	if (!pr)
		return; /* already committed, the ACK after UPTODATE, or an observer's */
	mask_set(pr->acks, h->idx);
	try_commit(l, now, out);
}

static void on_request(struct zk_leader *l, struct zk_now now, struct zk_lh *h, const struct zk_qpkt *q,
                       struct zk_out *out)
{
	if (q->data.len < 16) {
		lh_drop(l, h, ZK_CLOSE_QUORUM_PROTOCOL, out);
		return;
	}
	int64_t sid = (int64_t)zk_get_be64(q->data.p);
	int32_t cxid = (int32_t)zk_get_be32(q->data.p + 8);
	int32_t op = (int32_t)zk_get_be32(q->data.p + 12);
	if (op == ZK_OP_SYNC) {
		/* Answered once everything proposed before it is committed (Leader.processSync). */
		if (!l->props) {
			zk_peer_send(l->p, h->link, ZK_QP_SYNC, 0, NULL, -1, NULL, out);
			return;
		}
		struct zk_lsync *s = zk_calloc(1, sizeof(*s));
		if (!s)
			return;
		s->link = h->link;
		s->zxid = l->last_proposed;
		if (l->syncs_tail)
			l->syncs_tail->next = s;
		else
			l->syncs = s;
		l->syncs_tail = s;
		l->n_syncs++;
		return;
	}
	struct zk_auth auth;
	if (zk_qpkt_auth(q, &auth)) {
		lh_drop(l, h, ZK_CLOSE_QUORUM_PROTOCOL, out);
		return;
	}
	zk_server_remote_request(l->p->srv, now, sid, cxid, op, q->data.p + 16, (size_t)q->data.len - 16, &auth, out);
}

static void on_ping(struct zk_leader *l, struct zk_now now, const struct zk_qpkt *q)
{
	if (q->data.len <= 0)
		return;
	for (int32_t off = 0; off + 12 <= q->data.len; off += 12) {
		int64_t id = (int64_t)zk_get_be64(q->data.p + off);
		int32_t to = (int32_t)zk_get_be32(q->data.p + off + 8);
		zk_server_touch_session(l->p->srv, now, id, to);
	}
}

static void on_revalidate(struct zk_leader *l, struct zk_now now, struct zk_lh *h, const struct zk_qpkt *q,
                          struct zk_out *out)
{
	if (q->data.len < 12)
		return;
	int64_t id = (int64_t)zk_get_be64(q->data.p);
	int32_t to = (int32_t)zk_get_be32(q->data.p + 8);
	bool valid = zk_server_touch_session(l->p->srv, now, id, to);
	uint8_t reply[9];
	zk_put_be64(reply, (uint64_t)id);
	reply[8] = valid;
	zk_peer_send(l->p, h->link, ZK_QP_REVALIDATE, -1, reply, 9, NULL, out);
}

bool zk_leader_packet(struct zk_leader *l, struct zk_now now, uint64_t link, const struct zk_qpkt *q,
                      struct zk_out *out)
{
	struct zk_lh *h = lh_by_link(l, link);
	if (!h)
		return true;
	h->deadline_ms = now.mono_ms + (h->state == LH_ACTIVE ? sync_ms(l) : init_ms(l));
	switch (q->type) {
	case ZK_QP_FOLLOWERINFO:
	case ZK_QP_OBSERVERINFO:
		return on_info(l, now, h, q, out);
	case ZK_QP_ACKEPOCH:
		return on_ackepoch(l, now, h, q, out);
	case ZK_QP_ACK:
		on_ack(l, now, h, q, out);
		break;
	case ZK_QP_REQUEST:
		if (h->state == LH_ACTIVE)
			on_request(l, now, h, q, out);
		break;
	case ZK_QP_PING:
		on_ping(l, now, q);
		break;
	case ZK_QP_REVALIDATE:
		on_revalidate(l, now, h, q, out);
		break;
	default:
		zk_logf(&l->p->log, ZK_LOG_WARN, "unexpected packet type=%s from learner sid=%" PRId64 ": closing",
			zk_qpkt_type_name(q->type), h->sid);
		lh_drop(l, h, ZK_CLOSE_QUORUM_PROTOCOL, out);
		break;
	}
	return true;
}

static bool quorum_alive(struct zk_leader *l, int64_t now_ms)
{
	uint64_t alive[ZK_LEADER_MASK_WORDS] = {0};
	mask_set(alive, zk_peer_index(l->p, l->p->myid));
	struct zk_lh *h, *t;
	HASH_ITER(hh, l->handlers, h, t) {
		if (!h->observer && h->state == LH_ACTIVE && now_ms <= h->deadline_ms)
			mask_set(alive, h->idx);
	}
	return zk_peer_quorum(l->p, mask_voters(l, alive));
}

bool zk_leader_tick(struct zk_leader *l, struct zk_now now, struct zk_out *out)
{
	if (l->failed) {
		zk_peer_become_looking(l->p, now, "the leader cannot log", out);
		return false;
	}
	if (!l->established && now.mono_ms > l->phase_deadline_ms) {
		zk_peer_become_looking(l->p, now, "no quorum of learners within initLimit", out);
		return false;
	}
	struct zk_lh *h, *t;
	HASH_ITER(hh, l->handlers, h, t) {
		if (now.mono_ms > h->deadline_ms) {
			zk_logf(&l->p->log, ZK_LOG_WARN, "learner sid=%" PRId64 " silent past its limit state=%s: closing",
				h->sid, lh_state_names[h->state]);
			lh_drop(l, h, ZK_CLOSE_QUORUM_TIMEOUT, out);
		}
	}
	if (!l->established || now.mono_ms < l->next_ping_ms)
		return true;
	l->next_ping_ms = now.mono_ms + l->p->tick_ms / 2;
	if (!quorum_alive(l, now.mono_ms)) {
		zk_peer_become_looking(l->p, now, "not sufficient followers synced", out);
		return false;
	}
	HASH_ITER(hh, l->handlers, h, t) {
		if (h->state == LH_ACTIVE)
			zk_peer_send(l->p, h->link, ZK_QP_PING, l->last_proposed, NULL, -1, NULL, out);
	}
	return true;
}

int64_t zk_leader_next_wake(const struct zk_leader *l)
{
	return l->established ? l->next_ping_ms : l->phase_deadline_ms;
}

void zk_leader_mntr(const struct zk_leader *l, struct zk_wbuf *w)
{
	int followers = 0, synced = 0, observers = 0, synced_obs = 0;
	const struct zk_lh *h, *t;
	HASH_ITER(hh, l->handlers, h, t) {
		if (h->observer) {
			observers++;
			synced_obs += h->state == LH_ACTIVE;
			continue;
		}
		followers++;
		synced += h->state == LH_ACTIVE;
	}
	char line[256];
	int n = snprintf(line, sizeof(line),
			 "zk_learners\t%d\nzk_followers\t%d\nzk_synced_followers\t%d\nzk_observers\t%d\nzk_synced_observers\t%d\n"
			 "zk_pending_syncs\t%u\nzk_outstanding_proposals\t%u\n",
			 followers + observers, followers, synced, observers, synced_obs, l->n_syncs, l->n_props);
	zk_jw_raw(w, line, (size_t)n);
}
