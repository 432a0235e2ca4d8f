/* Observer master (ObserverMaster.java, protocol.md 5.7): with observerMasterPort set, a follower
 * that is up to date with its leader serves observers itself, so that the leader's work does not
 * grow with their number. Same handshake as with a leader (OBSERVERINFO -> LEADERINFO with our
 * epoch -> ACKEPOCH -> DIFF / TRUNC / SNAP from our committed log -> NEWLEADER -> ACK ->
 * UPTODATE); then every txn this follower commits goes out as INFORM, in zxid order. Observers'
 * REQUESTs (writes, sessions, syncs) and REVALIDATEs are relayed to the leader on our own link;
 * answers to syncs and revalidations come back through us (learner.c keeps their origin); the
 * sessions in observers' PING replies join the touch table of our next PING to the leader. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <uthash.h>

#include "commitlog.h"
#include "leader_int.h"
#include "notif.h"
#include "zmalloc.h"

enum zk_omh_state { OMH_WAIT_INFO = 0, OMH_WAIT_ACKEPOCH, OMH_WAIT_NEWLEADER_ACK, OMH_ACTIVE };

struct zk_omh {
	uint64_t link;
	int64_t sid;
	enum zk_omh_state state;
	int64_t deadline_ms;
	UT_hash_handle hh;
};

struct zk_om {
	struct zk_peer *p;
	struct zk_omh *handlers;
	int64_t epoch;
	int64_t informed;    /* last zxid sent as INFORM (or covered by a sync) */
	int64_t next_ping_ms;
	struct zk_wbuf cfgtext;
};

static int64_t init_ms(const struct zk_om *m) { return (int64_t)m->p->cfg.init_limit * m->p->tick_ms; }
static int64_t sync_ms(const struct zk_om *m) { return (int64_t)m->p->cfg.sync_limit * m->p->tick_ms; }

static struct zk_omh *by_link(struct zk_om *m, uint64_t link)
{
	struct zk_omh *h;
	HASH_FIND(hh, m->handlers, &link, sizeof(link), h);
	return h;
}

static void drop(struct zk_om *m, struct zk_omh *h, enum zk_close_reason why, struct zk_out *out)
{
	if (why != ZK_CLOSE_NONE)
		zk_out_close(out, h->link, why);
	HASH_DEL(m->handlers, h);
	zk_free(h);
}

struct zk_om *zk_om_new(struct zk_peer *p, struct zk_now now, int64_t epoch)
{
	struct zk_om *m = zk_calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->p = p;
	m->epoch = epoch;
	m->informed = (int64_t)zk_server_last_zxid(p->srv);
	m->next_ping_ms = now.mono_ms;
	zk_wbuf_init(&m->cfgtext);
	zk_quorum_config_text(&p->cfg, &m->cfgtext);
	zk_logf(&p->log, ZK_LOG_INFO, "observer master up port=%d epoch=%" PRId64, p->cfg.observer_master_port, epoch);
	return m;
}

void zk_om_free(struct zk_om *m, struct zk_out *out)
{
	if (!m)
		return;
	struct zk_omh *h, *t;
	HASH_ITER(hh, m->handlers, h, t) drop(m, h, ZK_CLOSE_ROLE_CHANGE, out);
	zk_wbuf_fini(&m->cfgtext);
	zk_free(m);
}

bool zk_om_has_link(struct zk_om *m, uint64_t link) { return by_link(m, link) != NULL; }

void zk_om_link_open(struct zk_om *m, struct zk_now now, uint64_t link, struct zk_out *out)
{
	struct zk_omh *h = zk_calloc(1, sizeof(*h));
	if (!h) {
		zk_out_close(out, link, ZK_CLOSE_NOMEM);
		return;
	}
	h->link = link;
	h->sid = -1;
	h->state = OMH_WAIT_INFO;
	h->deadline_ms = now.mono_ms + init_ms(m);
	HASH_ADD(hh, m->handlers, link, sizeof(h->link), h);
}

void zk_om_link_closed(struct zk_om *m, uint64_t link, struct zk_out *out)
{
	struct zk_omh *h = by_link(m, link);
	if (h)
		drop(m, h, ZK_CLOSE_NONE, out);
}

/* The observer's sync from what this follower has applied; pending proposals never go to
 * observers (they get the INFORM once committed). */
static void sync_observer(struct zk_om *m, struct zk_omh *h, int64_t peer_last, struct zk_out *out)
{
	zk_sync_send_history(m->p, h->link, h->sid, peer_last, out);
	zk_peer_send(m->p, h->link, ZK_QP_NEWLEADER, m->epoch << 32, m->cfgtext.p, (int32_t)m->cfgtext.len, NULL, out);
	h->state = OMH_WAIT_NEWLEADER_ACK;
}

static void on_info(struct zk_om *m, struct zk_omh *h, const struct zk_qpkt *q, struct zk_out *out)
{
	struct zk_learner_info li;
	int idx = -1;
	if (h->state == OMH_WAIT_INFO && q->type == ZK_QP_OBSERVERINFO && !zk_learner_info_decode(q->data, &li))
		idx = zk_peer_index(m->p, li.sid);
	if (idx < 0 || !m->p->cfg.servers[idx].observer) {
		zk_logf(&m->p->log, ZK_LOG_WARN, "observer master: link=0x%" PRIx64 " is not an observer of ours: closing",
			h->link);
		drop(m, h, ZK_CLOSE_QUORUM_PROTOCOL, out);
		return;
	}
	h->sid = li.sid;
	uint8_t ver[4];
	zk_put_be32(ver, ZK_QP_PROTOCOL_VERSION);
	zk_peer_send(m->p, h->link, ZK_QP_LEADERINFO, m->epoch << 32, ver, 4, NULL, out);
	h->state = OMH_WAIT_ACKEPOCH;
}

void zk_om_packet(struct zk_om *m, struct zk_now now, uint64_t link, const struct zk_qpkt *q, struct zk_out *out)
{
	struct zk_omh *h = by_link(m, link);
	if (!h)
		return;
	h->deadline_ms = now.mono_ms + (h->state == OMH_ACTIVE ? sync_ms(m) : init_ms(m));
	switch (q->type) {
	case ZK_QP_OBSERVERINFO:
	case ZK_QP_FOLLOWERINFO:
		on_info(m, h, q, out);
		return;
	case ZK_QP_ACKEPOCH:
		if (h->state != OMH_WAIT_ACKEPOCH) {
			drop(m, h, ZK_CLOSE_QUORUM_PROTOCOL, out);
			return;
		}
		sync_observer(m, h, q->zxid, out);
		return;
	case ZK_QP_ACK:
		if (h->state == OMH_WAIT_NEWLEADER_ACK && q->zxid == m->epoch << 32) {
			zk_peer_send(m->p, h->link, ZK_QP_UPTODATE, -1, NULL, -1, NULL, out);
			h->state = OMH_ACTIVE;
		}
		return;
	case ZK_QP_REQUEST:
		if (h->state == OMH_ACTIVE)
			zk_learner_relay_request(m->p->ln, link, q, out);
		return;
	case ZK_QP_REVALIDATE:
		zk_learner_relay_revalidate(m->p->ln, link, q, out);
		return;
	case ZK_QP_PING:
		if (q->data.len > 0)
			zk_learner_relay_touch(m->p->ln, q->data.p, (size_t)q->data.len);
		return;
	default:
		zk_logf(&m->p->log, ZK_LOG_WARN, "observer master: unexpected %s from sid=%" PRId64 ": closing",
			zk_qpkt_type_name(q->type), h->sid);
		drop(m, h, ZK_CLOSE_QUORUM_PROTOCOL, out);
	}
}

/* After this follower applied commits: INFORM every observer of what is new, in zxid order. A
 * handler still syncing got the same txns in its DIFF (it was queued before these). */
void zk_om_committed(struct zk_om *m, struct zk_out *out)
{
	const struct zk_commitlog *log = zk_server_commitlog(m->p->srv);
	size_t n = zk_commitlog_count(log), i = n;
	while (i > 0 && zk_commitlog_at(log, i - 1)->zxid > m->informed)
		i--;
	for (; i < n; i++) {
		const struct zk_commitlog_entry *e = zk_commitlog_at(log, i);
		struct zk_omh *h, *t;
		HASH_ITER(hh, m->handlers, h, t) {
			if (h->state == OMH_WAIT_NEWLEADER_ACK || h->state == OMH_ACTIVE)
				zk_peer_send(m->p, h->link, ZK_QP_INFORM, e->zxid, e->txn, (int32_t)e->len, NULL, out);
		}
		m->informed = e->zxid;
	}
}

void zk_om_send_to(struct zk_om *m, uint64_t link, int32_t type, const uint8_t *data, int32_t len, struct zk_out *out)
{
	struct zk_omh *h = by_link(m, link);
	if (h)
		zk_peer_send(m->p, link, type, type == ZK_QP_SYNC ? 0 : -1, data, len, NULL, out);
}

void zk_om_tick(struct zk_om *m, struct zk_now now, struct zk_out *out)
{
	struct zk_omh *h, *t;
	HASH_ITER(hh, m->handlers, h, t) {
		if (now.mono_ms > h->deadline_ms) {
			zk_logf(&m->p->log, ZK_LOG_WARN, "observer sid=%" PRId64 " silent past its limit: closing", h->sid);
			drop(m, h, ZK_CLOSE_QUORUM_TIMEOUT, out);
		}
	}
	if (now.mono_ms < m->next_ping_ms)
		return;
	m->next_ping_ms = now.mono_ms + m->p->tick_ms / 2;
	HASH_ITER(hh, m->handlers, h, t) {
		if (h->state == OMH_ACTIVE)
			zk_peer_send(m->p, h->link, ZK_QP_PING, m->informed, NULL, -1, NULL, out);
	}
}

int zk_om_count(const struct zk_om *m)
{
	return (int)HASH_COUNT(m->handlers);
}
