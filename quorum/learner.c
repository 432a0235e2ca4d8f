/* ZAB learner (Learner.java, Follower.java; protocol.md 5.4, 5.6) as a state machine: connect to
 * the elected leader (retrying within initLimit: it may not lead yet), FOLLOWERINFO, LEADERINFO ->
 * acceptedEpoch -> ACKEPOCH, then DIFF / TRUNC / SNAP and the txns up to NEWLEADER; at NEWLEADER
 * everything received is made durable before currentEpoch is written and ACKed (ZooKeeper 3.8.5's
 * order, ZOOKEEPER-4785); UPTODATE starts serving clients. In broadcast a PROPOSAL is logged and
 * ACKed after its fsync, a COMMIT applies it; the link falls silent past syncLimit -> LOOKING. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "errors.h"
#include "peer_int.h"
#include "proto.h"
#include "zmalloc.h"

#define ZK_LEARNER_RETRY_MS 100 /* between connection attempts to a leader that is not ready */
#define ZK_LEARNER_BACKOFF_MAX_MS 5000 /* cap of the back-off between learner roles that failed */
#define ZK_LEARNER_RELAY_TOUCH_MAX (1u << 20) /* observers' session touches held for one PING */

enum zk_ln_state {
	LN_CONNECTING = 0, /* dial out (or waiting to retry) */
	LN_WAIT_LEADERINFO,
	LN_WAIT_SYNC,      /* ACKEPOCH sent; DIFF / TRUNC / SNAP next */
	LN_WAIT_SNAP,      /* SNAP seen; the snapshot bytes next */
	LN_SYNCING,        /* txns up to NEWLEADER */
	LN_WAIT_UPTODATE,  /* NEWLEADER acked */
	LN_ACTIVE,
};

static const char *state_names[] = {"connecting", "wait_leaderinfo", "wait_sync", "wait_snap",
				    "syncing", "wait_uptodate", "active"};

struct zk_learner {
	struct zk_peer *p;
	int64_t leader_sid;
	uint64_t link;
	bool link_up;
	enum zk_ln_state state;
	int64_t budget_end_ms;  /* connection attempts stop here */
	int64_t retry_at_ms;    /* 0 = a dial is under way */
	int64_t last_heard_ms;
	int64_t new_epoch;
	const char *sync_mode;
	bool need_snapshot;     /* SNAP or TRUNC: snapshot at NEWLEADER */
	int64_t snap_zxid;
	bool trunc_pending;     /* ZK_OUT_TRUNCATE sent, zk_peer_truncated not yet called */
	bool newleader_seen, newleader_acked;
	int64_t newleader_need; /* durable zxid needed before acking NEWLEADER */
	int64_t leader_zxid;    /* the leader's last proposal, from its PINGs */
	int64_t lag_ms;         /* commit to applied here, of the last txn (txn time to now) */
	/* Observer with observerMasterPort: the voters we try as masters, in a random order. */
	bool use_master;
	int64_t masters[ZK_CFG_SERVERS_MAX];
	int n_masters, next_master;
	/* Whose syncs the leader answers, in the order we sent them: 0 = one of our clients, else
	 * the observer-master link of an observer (learner.c relays for obsmaster.c). */
	uint64_t *sync_from;
	size_t n_sync, sync_head, cap_sync;
	struct { int64_t session; uint64_t from; } reval[16]; /* relayed REVALIDATEs awaiting answers */
	int n_reval;
	struct zk_wbuf relay_touch; /* observers' touch tables for our next PING reply */
	int64_t *acks;          /* logged proposals to ACK once durable, in order */
	size_t n_acks, acks_head, cap_acks;
	struct zk_wbuf req;
};

static int64_t init_ms(const struct zk_learner *l) { return (int64_t)l->p->cfg.init_limit * l->p->tick_ms; }
static int64_t sync_ms(const struct zk_learner *l) { return (int64_t)l->p->cfg.sync_limit * l->p->tick_ms; }

static void dial(struct zk_learner *l, struct zk_out *out)
{
	l->link = zk_peer_new_dial_link(l->p);
	l->retry_at_ms = 0;
	if (l->use_master) {
		l->leader_sid = l->masters[l->next_master++ % l->n_masters];
		zk_out_dial_master(out, l->link, l->leader_sid);
		return;
	}
	zk_out_dial(out, l->link, l->leader_sid);
}

static uint64_t next_rand(struct zk_peer *p)
{
	p->rng ^= p->rng << 13;
	p->rng ^= p->rng >> 7;
	p->rng ^= p->rng << 17;
	return p->rng;
}

/* Observer.findLearnerMaster: the voters' observer-master ports in a random order (the leader
 * runs none: that attempt fails and we move on). */
static void pick_masters(struct zk_learner *l)
{
	struct zk_peer *p = l->p;
	for (int i = 0; i < p->cfg.n_servers; i++)
		if (!p->cfg.servers[i].observer && p->cfg.servers[i].id != p->myid)
			l->masters[l->n_masters++] = p->cfg.servers[i].id;
	for (int i = l->n_masters - 1; i > 0; i--) {
		int j = (int)(next_rand(p) % (uint64_t)(i + 1));
		int64_t t = l->masters[i];
		l->masters[i] = l->masters[j];
		l->masters[j] = t;
	}
	l->use_master = l->n_masters > 0;
}

struct zk_learner *zk_learner_new(struct zk_peer *p, struct zk_now now, int64_t leader_sid, struct zk_out *out)
{
	struct zk_learner *l = zk_calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->p = p;
	l->leader_sid = leader_sid;
	l->state = LN_CONNECTING;
	l->budget_end_ms = now.mono_ms + init_ms(l);
	l->last_heard_ms = now.mono_ms;
	l->sync_mode = "none";
	zk_wbuf_init(&l->req);
	zk_wbuf_init(&l->relay_touch);
	if (p->observer && p->cfg.observer_master_port > 0)
		pick_masters(l);
	/* After learner roles in a row that never reached a leader (an edge site whose link is
	 * down), wait longer before each new try: 200 ms doubling up to 5 s. The first try after a
	 * working link was lost goes at once. */
	int f = p->reconnect_failures < 7 ? p->reconnect_failures : 7;
	int64_t backoff = f ? (int64_t)ZK_LEARNER_RETRY_MS << f : 0;
	if (backoff > ZK_LEARNER_BACKOFF_MAX_MS)
		backoff = ZK_LEARNER_BACKOFF_MAX_MS;
	if (backoff) {
		zk_logf(&p->log, ZK_LOG_INFO, "connecting to leader sid=%" PRId64 " in %lld ms (failed tries in a row: %d)",
			leader_sid, (long long)backoff, p->reconnect_failures);
		l->retry_at_ms = now.mono_ms + backoff;
		l->budget_end_ms += backoff;
	} else {
		dial(l, out);
	}
	return l;
}

void zk_learner_free(struct zk_learner *l, struct zk_out *out)
{
	if (!l)
		return;
	if (l->link)
		zk_out_close(out, l->link, ZK_CLOSE_ROLE_CHANGE);
	zk_wbuf_fini(&l->req);
	zk_wbuf_fini(&l->relay_touch);
	zk_free(l->sync_from);
	zk_free(l->acks);
	zk_free(l);
}

bool zk_learner_serving(const struct zk_learner *l) { return l->state == LN_ACTIVE; }
int64_t zk_learner_leader(const struct zk_learner *l) { return l->leader_sid; }
uint64_t zk_learner_link(const struct zk_learner *l) { return l->link; }

static bool give_up(struct zk_learner *l, struct zk_now now, const char *why, struct zk_out *out)
{
	if (l->state == LN_CONNECTING || (l->state == LN_WAIT_LEADERINFO && !l->new_epoch))
		l->p->reconnect_failures++;
	zk_logf(&l->p->log, ZK_LOG_WARN, "leaving leader sid=%" PRId64 " state=%s: %s", l->leader_sid,
		state_names[l->state], why);
	zk_peer_become_looking(l->p, now, why, out);
	return false;
}

static void send(struct zk_learner *l, int32_t type, int64_t zxid, const uint8_t *data, int32_t len,
                 const struct zk_auth *auth, struct zk_out *out)
{
	zk_peer_send(l->p, l->link, type, zxid, data, len, auth, out);
}

bool zk_learner_link_open(struct zk_learner *l, struct zk_now now, uint64_t link, struct zk_out *out)
{
	(void)link;
	l->link_up = true;
	l->last_heard_ms = now.mono_ms;
	l->state = LN_WAIT_LEADERINFO;
	struct zk_learner_info li = {l->p->myid, ZK_QP_PROTOCOL_VERSION, 0};
	uint8_t data[20];
	struct zk_wbuf w;
	zk_wbuf_init(&w);
	zk_learner_info_write(&w, &li);
	bool ok = !w.err && w.len == sizeof(data);
	if (ok)
		memcpy(data, w.p, sizeof(data));
	zk_wbuf_fini(&w);
	if (!ok)
		return give_up(l, now, "out of memory", out);
	send(l, l->p->observer ? ZK_QP_OBSERVERINFO : ZK_QP_FOLLOWERINFO, l->p->accepted_epoch << 32, data, 20, NULL,
	     out);
	return true;
}

bool zk_learner_link_closed(struct zk_learner *l, struct zk_now now, uint64_t link, struct zk_out *out)
{
	(void)link;
	if (l->state == LN_CONNECTING || (l->state == LN_WAIT_LEADERINFO && !l->new_epoch)) {
		/* Refused or dropped before the handshake: the leader may still be finishing its
		 * election. Retry within initLimit. */
		l->link_up = false;
		l->state = LN_CONNECTING;
		if (l->use_master && l->next_master % l->n_masters != 0) {
			dial(l, out); /* the next candidate master at once */
			return true;
		}
		if (now.mono_ms + ZK_LEARNER_RETRY_MS < l->budget_end_ms) {
			l->retry_at_ms = now.mono_ms + ZK_LEARNER_RETRY_MS;
			return true;
		}
		return give_up(l, now, "cannot connect to the leader within initLimit", out);
	}
	l->link_up = false;
	return give_up(l, now, "connection to the leader lost", out);
}

static int push_ack(struct zk_learner *l, int64_t zxid)
{
	if (l->acks_head == l->n_acks)
		l->acks_head = l->n_acks = 0;
	if (l->n_acks == l->cap_acks) {
		if (l->acks_head) {
			memmove(l->acks, l->acks + l->acks_head, (l->n_acks - l->acks_head) * sizeof(*l->acks));
			l->n_acks -= l->acks_head;
			l->acks_head = 0;
		} else {
			size_t cap = l->cap_acks ? l->cap_acks * 2 : 64;
			int64_t *n = zk_realloc(l->acks, cap * sizeof(*n));
			if (!n)
				return ZK_ENOMEM;
			l->acks = n;
			l->cap_acks = cap;
		}
	}
	l->acks[l->n_acks++] = zxid;
	return 0;
}

/* ACKs what is durable, in zxid order (observers never ACK). */
static void send_acks(struct zk_learner *l, int64_t durable, struct zk_out *out)
{
	while (l->acks_head < l->n_acks && l->acks[l->acks_head] <= durable) {
		int64_t z = l->acks[l->acks_head++];
		if (!l->p->observer)
			send(l, ZK_QP_ACK, z, NULL, -1, NULL, out);
	}
}

static int64_t durable_zxid(const struct zk_learner *l);

static void ack_newleader(struct zk_learner *l, struct zk_out *out)
{
	l->newleader_acked = true;
	zk_peer_set_current_epoch(l->p, l->new_epoch, out);
	send(l, ZK_QP_ACK, l->new_epoch << 32, NULL, -1, NULL, out);
	l->state = LN_WAIT_UPTODATE;
	send_acks(l, durable_zxid(l), out);
}

static bool on_leaderinfo(struct zk_learner *l, struct zk_now now, const struct zk_qpkt *q, struct zk_out *out)
{
	int64_t e = q->zxid >> 32;
	if (l->state != LN_WAIT_LEADERINFO)
		return give_up(l, now, "LEADERINFO out of order", out);
	l->new_epoch = e;
	uint8_t data[4];
	if (e > l->p->accepted_epoch) {
		zk_peer_set_accepted_epoch(l->p, e, out);
		zk_put_be32(data, (uint32_t)l->p->current_epoch);
	} else if (e == l->p->accepted_epoch) {
		zk_put_be32(data, 0xffffffffu);
	} else {
		return give_up(l, now, "the leader's epoch is older than our acceptedEpoch", out);
	}
	send(l, ZK_QP_ACKEPOCH, (int64_t)zk_server_last_zxid(l->p->srv), data, 4, NULL, out);
	l->state = LN_WAIT_SYNC;
	return true;
}

static bool on_sync_kind(struct zk_learner *l, struct zk_now now, const struct zk_qpkt *q, struct zk_out *out)
{
	if (l->state != LN_WAIT_SYNC)
		return give_up(l, now, "sync packet out of order", out);
	if (q->type == ZK_QP_DIFF) {
		l->sync_mode = "DIFF";
		l->state = LN_SYNCING;
	} else if (q->type == ZK_QP_SNAP) {
		l->sync_mode = "SNAP";
		l->state = LN_WAIT_SNAP;
		l->need_snapshot = true;
		l->snap_zxid = q->zxid;
		return true;
	} else {
		l->sync_mode = "TRUNC";
		l->state = LN_SYNCING;
		l->need_snapshot = true;
		l->trunc_pending = true;
		zk_out_truncate(out, q->zxid);
	}
	zk_logf(&l->p->log, ZK_LOG_INFO, "syncing with leader sid=%" PRId64 " sync=%s zxid=0x%" PRIx64, l->leader_sid,
		l->sync_mode, (uint64_t)q->zxid);
	return true;
}

bool zk_learner_snap(struct zk_learner *l, struct zk_now now, uint64_t link, const uint8_t *snap, size_t len,
                     struct zk_out *out)
{
	(void)link;
	if (l->state != LN_WAIT_SNAP)
		return give_up(l, now, "snapshot bytes out of order", out);
	char err[256] = "";
	int rc = zk_server_load_wire_snapshot(l->p->srv, now, snap, len, l->snap_zxid, err, sizeof(err));
	if (rc) {
		zk_logf(&l->p->log, ZK_LOG_WARN, "bad snapshot from leader sid=%" PRId64 " rc=%d: %s", l->leader_sid, rc,
			err);
		return give_up(l, now, "bad snapshot from the leader", out);
	}
	zk_logf(&l->p->log, ZK_LOG_INFO, "syncing with leader sid=%" PRId64 " sync=SNAP zxid=0x%" PRIx64 " bytes=%zu",
		l->leader_sid, (uint64_t)l->snap_zxid, len);
	l->state = LN_SYNCING;
	return true;
}

bool zk_learner_truncated(struct zk_learner *l, struct zk_now now, int rc, struct zk_out *out)
{
	l->trunc_pending = false;
	if (rc)
		return give_up(l, now, "cannot truncate the txn log", out);
	return true;
}

static int64_t durable_zxid(const struct zk_learner *l)
{
	/* What the server's log has made durable; txns are logged in order. */
	return zk_server_durable_zxid(l->p->srv);
}

static bool on_proposal(struct zk_learner *l, struct zk_now now, const struct zk_qpkt *q, struct zk_out *out)
{
	if (l->state != LN_SYNCING && l->state != LN_WAIT_UPTODATE && l->state != LN_ACTIVE)
		return give_up(l, now, "PROPOSAL out of order", out);
	if (q->data.len < 0)
		return give_up(l, now, "PROPOSAL without a txn", out);
	int rc = zk_server_learner_txn(l->p->srv, now, q->zxid, q->data.p, (size_t)q->data.len, out);
	if (rc)
		return give_up(l, now, rc == ZK_ENOMEM ? "out of memory" : "undecodable PROPOSAL", out);
	if (push_ack(l, q->zxid))
		return give_up(l, now, "out of memory", out);
	return true;
}

static bool on_commit(struct zk_learner *l, struct zk_now now, const struct zk_qpkt *q, struct zk_out *out)
{
	if (l->state != LN_SYNCING && l->state != LN_WAIT_UPTODATE && l->state != LN_ACTIVE)
		return give_up(l, now, "COMMIT out of order", out);
	zk_server_commit(l->p->srv, now, q->zxid, out);
	if (q->zxid > l->leader_zxid)
		l->leader_zxid = q->zxid;
	if (l->p->om)
		zk_om_committed(l->p->om, out);
	return true;
}

/* TxnHeader.time (the leader's clock when it made the txn) is at byte 20. */
static void note_lag(struct zk_learner *l, struct zk_now now, const struct zk_qpkt *q)
{
	if (q->data.len >= 28)
		l->lag_ms = now.wall_ms - (int64_t)zk_get_be64(q->data.p + 20);
}

static bool on_inform(struct zk_learner *l, struct zk_now now, const struct zk_qpkt *q, struct zk_out *out)
{
	note_lag(l, now, q);
	if (!on_proposal(l, now, q, out))
		return false;
	return on_commit(l, now, q, out);
}

static bool on_newleader(struct zk_learner *l, struct zk_now now, const struct zk_qpkt *q, struct zk_out *out)
{
	if (l->state != LN_SYNCING || q->zxid >> 32 != l->new_epoch)
		return give_up(l, now, "NEWLEADER out of order", out);
	if (l->need_snapshot) {
		/* After SNAP or TRUNC the log alone no longer leads to this state: snapshot it. */
		zk_out_snapshot(out);
		l->need_snapshot = false;
	}
	l->newleader_seen = true;
	l->newleader_need = zk_server_queued_zxid(l->p->srv);
	if (durable_zxid(l) >= l->newleader_need)
		ack_newleader(l, out);
	return true;
}

static bool on_uptodate(struct zk_learner *l, struct zk_now now, struct zk_out *out)
{
	if (l->state == LN_ACTIVE)
		return true;
	if (l->state != LN_WAIT_UPTODATE)
		return give_up(l, now, "UPTODATE before NEWLEADER was acked", out);
	l->state = LN_ACTIVE;
	l->p->reconnect_failures = 0;
	zk_server_set_mode(l->p->srv, now, ZK_MODE_LEARNER, 0, out);
	struct zk_vote v = l->p->vote;
	v.peer_epoch = l->new_epoch;
	zk_fle_set_decided(&l->p->fle, l->p->state, &v);
	zk_logf(&l->p->log, ZK_LOG_INFO, "up to date with leader sid=%" PRId64 " epoch=%" PRId64 " sync=%s zxid=0x%" PRIx64,
		l->leader_sid, l->new_epoch, l->sync_mode, (uint64_t)zk_server_last_zxid(l->p->srv));
	send(l, ZK_QP_ACK, l->new_epoch << 32, NULL, -1, NULL, out);
	if (!l->p->observer && l->p->cfg.observer_master_port > 0 && !l->p->om)
		l->p->om = zk_om_new(l->p, now, l->new_epoch);
	return true;
}

static void on_ping(struct zk_learner *l, const struct zk_qpkt *q, struct zk_out *out)
{
	if (q->zxid > l->leader_zxid)
		l->leader_zxid = q->zxid;
	zk_wbuf_reset(&l->req);
	zk_server_take_touched(l->p->srv, &l->req);
	zk_jw_raw(&l->req, l->relay_touch.p, l->relay_touch.len);
	zk_wbuf_reset(&l->relay_touch);
	if (l->req.err)
		zk_wbuf_reset(&l->req);
	send(l, ZK_QP_PING, q->zxid, l->req.p ? l->req.p : (const uint8_t *)"", (int32_t)l->req.len, NULL, out);
}

static int push_sync_from(struct zk_learner *l, uint64_t from)
{
	if (l->sync_head == l->n_sync)
		l->sync_head = l->n_sync = 0;
	if (l->n_sync == l->cap_sync) {
		size_t cap = l->cap_sync ? l->cap_sync * 2 : 16;
		uint64_t *n = zk_realloc(l->sync_from, cap * sizeof(*n));
		if (!n)
			return ZK_ENOMEM;
		l->sync_from = n;
		l->cap_sync = cap;
	}
	l->sync_from[l->n_sync++] = from;
	return 0;
}

static void on_sync(struct zk_learner *l, struct zk_now now, struct zk_out *out)
{
	uint64_t from = l->sync_head < l->n_sync ? l->sync_from[l->sync_head++] : 0;
	if (from && l->p->om)
		zk_om_send_to(l->p->om, from, ZK_QP_SYNC, NULL, -1, out);
	else if (!from)
		zk_server_sync_done(l->p->srv, now, out);
}

/* We validate our own clients' sessions from the replicated table; answers here are for the
 * observers we relayed for. */
static void on_revalidate_answer(struct zk_learner *l, const struct zk_qpkt *q, struct zk_out *out)
{
	if (q->data.len < 9 || !l->p->om)
		return;
	int64_t session = (int64_t)zk_get_be64(q->data.p);
	for (int i = 0; i < l->n_reval; i++) {
		if (l->reval[i].session != session)
			continue;
		zk_om_send_to(l->p->om, l->reval[i].from, ZK_QP_REVALIDATE, q->data.p, q->data.len, out);
		l->reval[i] = l->reval[--l->n_reval];
		return;
	}
}

void zk_learner_relay_request(struct zk_learner *l, uint64_t from, const struct zk_qpkt *q, struct zk_out *out)
{
	struct zk_auth auth;
	if (!l || l->state != LN_ACTIVE || q->data.len < 16 || zk_qpkt_auth(q, &auth))
		return;
	if ((int32_t)zk_get_be32(q->data.p + 12) == ZK_OP_SYNC && push_sync_from(l, from))
		return;
	send(l, ZK_QP_REQUEST, -1, q->data.p, q->data.len, q->n_auth < 0 ? NULL : &auth, out);
}

void zk_learner_relay_revalidate(struct zk_learner *l, uint64_t from, const struct zk_qpkt *q, struct zk_out *out)
{
	if (!l || l->state != LN_ACTIVE || q->data.len < 12)
		return;
	if (l->n_reval == (int)(sizeof(l->reval) / sizeof(l->reval[0])))
		l->n_reval = 0; /* answers lost: those observers' clients retry */
	l->reval[l->n_reval].session = (int64_t)zk_get_be64(q->data.p);
	l->reval[l->n_reval++].from = from;
	send(l, ZK_QP_REVALIDATE, -1, q->data.p, q->data.len, NULL, out);
}

void zk_learner_relay_touch(struct zk_learner *l, const uint8_t *p, size_t len)
{
	if (l && len % 12 == 0 && l->relay_touch.len + len <= ZK_LEARNER_RELAY_TOUCH_MAX)
		zk_jw_raw(&l->relay_touch, p, len);
}

bool zk_learner_packet(struct zk_learner *l, struct zk_now now, uint64_t link, const struct zk_qpkt *q,
                       struct zk_out *out)
{
	(void)link;
	l->last_heard_ms = now.mono_ms;
	if (l->trunc_pending)
		return give_up(l, now, "packet before the log was truncated", out);
	switch (q->type) {
	case ZK_QP_LEADERINFO:
		return on_leaderinfo(l, now, q, out);
	case ZK_QP_DIFF:
	case ZK_QP_TRUNC:
	case ZK_QP_SNAP:
		return on_sync_kind(l, now, q, out);
	case ZK_QP_PROPOSAL:
		return on_proposal(l, now, q, out);
	case ZK_QP_COMMIT:
		return on_commit(l, now, q, out);
	case ZK_QP_INFORM:
		return on_inform(l, now, q, out);
	case ZK_QP_NEWLEADER:
		return on_newleader(l, now, q, out);
	case ZK_QP_UPTODATE:
		return on_uptodate(l, now, out);
	case ZK_QP_PING:
		on_ping(l, q, out);
		return true;
	case ZK_QP_SYNC:
		on_sync(l, now, out);
		return true;
	case ZK_QP_REVALIDATE:
		on_revalidate_answer(l, q, out);
		return true;
	default:
		zk_logf(&l->p->log, ZK_LOG_WARN, "unexpected packet type=%s from the leader", zk_qpkt_type_name(q->type));
		return give_up(l, now, "protocol error", out);
	}
}

void zk_learner_durable(struct zk_learner *l, struct zk_now now, uint64_t token, int rc, struct zk_out *out)
{
	if (rc < 0) {
		give_up(l, now, "cannot log txns", out);
		return;
	}
	if (l->newleader_seen && !l->newleader_acked) {
		if ((int64_t)token >= l->newleader_need)
			ack_newleader(l, out);
		return;
	}
	if (l->newleader_acked)
		send_acks(l, (int64_t)token, out);
}

bool zk_learner_tick(struct zk_learner *l, struct zk_now now, struct zk_out *out)
{
	if (l->state == LN_CONNECTING) {
		if (l->retry_at_ms && now.mono_ms >= l->retry_at_ms)
			dial(l, out);
		if (now.mono_ms > l->budget_end_ms)
			return give_up(l, now, "cannot connect to the leader within initLimit", out);
		return true;
	}
	int64_t limit = l->state == LN_ACTIVE ? sync_ms(l) : init_ms(l);
	if (now.mono_ms - l->last_heard_ms > limit)
		return give_up(l, now, l->state == LN_ACTIVE ? "leader silent past syncLimit" : "sync not done within initLimit",
			       out);
	return true;
}

int64_t zk_learner_next_wake(const struct zk_learner *l)
{
	if (l->state == LN_CONNECTING)
		return l->retry_at_ms ? l->retry_at_ms : l->budget_end_ms;
	return l->last_heard_ms + (l->state == LN_ACTIVE ? sync_ms(l) : init_ms(l)) + 1;
}

void zk_learner_forward(struct zk_learner *l, int64_t session_id, int32_t cxid, int32_t op, const uint8_t *body,
                        size_t len, const struct zk_auth *auth, struct zk_out *out)
{
	if (l->state != LN_ACTIVE)
		return;
	if (op == ZK_OP_SYNC && push_sync_from(l, 0))
		return;
	zk_wbuf_reset(&l->req);
	zk_jw_long(&l->req, session_id);
	zk_jw_int(&l->req, cxid);
	zk_jw_int(&l->req, op);
	zk_jw_raw(&l->req, body, len);
	if (l->req.err)
		return;
	send(l, ZK_QP_REQUEST, -1, l->req.p, (int32_t)l->req.len, auth, out);
}

void zk_learner_mntr(const struct zk_learner *l, struct zk_wbuf *w)
{
	int64_t applied = (int64_t)zk_server_last_zxid(l->p->srv);
	int64_t behind = l->leader_zxid > applied ? l->leader_zxid - applied : 0;
	if ((l->leader_zxid >> 32) != (applied >> 32))
		behind = 0; /* a new epoch's zxids do not count from the old ones */
	char line[320];
	int n = snprintf(line, sizeof(line), "zk_learner_leader_id\t%lld\nzk_learner_lag_zxids\t%lld\nzk_learner_lag_ms\t%lld\n",
			 (long long)l->leader_sid, (long long)behind, (long long)(l->lag_ms > 0 ? l->lag_ms : 0));
	if (l->p->observer) /* as Apache's observers: whom we learn from (a follower with observer masters) */
		n += snprintf(line + n, sizeof(line) - (size_t)n, "zk_observer_master_id\t%lld\n", (long long)l->leader_sid);
	zk_jw_raw(w, line, (size_t)n);
}
