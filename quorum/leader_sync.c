/* Bringing one learner up to date (LearnerHandler.syncFollower / queueCommittedProposals,
 * protocol.md 5.5): DIFF when its last zxid is in our committed log, TRUNC when it has txns we
 * never committed (but not across an epoch boundary), SNAP otherwise; then the proposals still
 * outstanding and NEWLEADER, all queued on the link in order, after which the learner is part of
 * the broadcast. zxids on the learner never go past what we send, so one pass is enough. The
 * on-disk variant (reading old txn log files when the learner is behind the committed log) is
 * not done: such a learner gets a SNAP. */
#include <inttypes.h>
#include <stdio.h>

#include "commitlog.h"
#include "leader_int.h"
#include "snapshot.h"
#include "txn.h"

static int64_t epoch_of(int64_t zxid) { return zxid >> 32; }

void zk_sync_choose(const struct zk_commitlog *log, int64_t last_processed, int64_t peer_last,
                    struct zk_sync_plan *plan)
{
	size_t n = zk_commitlog_count(log);
	int64_t min = zk_commitlog_min(log, last_processed);
	int64_t max = zk_commitlog_max(log, last_processed);
	bool new_epoch = (peer_last & 0xffffffffLL) == 0;
	plan->from = n;
	if (peer_last == last_processed) {
		plan->kind = ZK_SYNC_DIFF;
		plan->zxid = peer_last;
		return;
	}
	if (peer_last > max && !new_epoch) {
		plan->kind = ZK_SYNC_TRUNC;
		plan->zxid = max;
		return;
	}
	if (n > 0 && min <= peer_last && peer_last <= max) {
		int64_t prev = min;
		for (size_t i = 0; i < n; i++) {
			int64_t z = zk_commitlog_at(log, i)->zxid;
			if (z < peer_last) {
				prev = z;
				continue;
			}
			if (z == peer_last || new_epoch) {
				plan->kind = ZK_SYNC_DIFF;
				plan->zxid = max;
				plan->from = z == peer_last ? i + 1 : i;
				return;
			}
			/* The learner has txns we never saw (it led an epoch that did not survive). */
			if (epoch_of(z) != epoch_of(peer_last))
				break;
			plan->kind = ZK_SYNC_TRUNC;
			plan->zxid = prev;
			plan->from = i;
			return;
		}
	}
	plan->kind = ZK_SYNC_SNAP;
	plan->zxid = last_processed;
}

static int snap_sink(void *ctx, const void *p, size_t n)
{
	struct zk_wbuf *w = ctx;
	zk_jw_raw(w, p, n);
	return w->err;
}

static const char *kind_name(enum zk_sync_kind k)
{
	return k == ZK_SYNC_DIFF ? "DIFF" : k == ZK_SYNC_TRUNC ? "TRUNC" : "SNAP";
}

void zk_sync_send_history(struct zk_peer *p, uint64_t link, int64_t sid, int64_t peer_last, struct zk_out *out)
{
	struct zk_db *db = zk_server_db(p->srv);
	const struct zk_commitlog *log = zk_server_commitlog(p->srv);
	struct zk_sync_plan plan;
	zk_sync_choose(log, db->last_zxid, peer_last, &plan);
	zk_logf(&p->log, ZK_LOG_INFO,
		"syncing learner sid=%" PRId64 " sync=%s peerLastZxid=0x%" PRIx64 " zxid=0x%" PRIx64 " txns=%zu", sid,
		kind_name(plan.kind), (uint64_t)peer_last, (uint64_t)plan.zxid, zk_commitlog_count(log) - plan.from);
	if (plan.kind == ZK_SYNC_SNAP) {
		zk_peer_send(p, link, ZK_QP_SNAP, db->last_zxid, NULL, -1, NULL, out);
		size_t mark;
		struct zk_wbuf *w = zk_out_send_begin(out, &mark);
		zk_snap_write(db, db->last_zxid, ZK_SNAP_WIRE, snap_sink, w);
		zk_out_send_end(out, link, mark);
		return;
	}
	zk_peer_send(p, link, plan.kind == ZK_SYNC_DIFF ? ZK_QP_DIFF : ZK_QP_TRUNC, plan.zxid, NULL, -1, NULL, out);
	for (size_t i = plan.from; i < zk_commitlog_count(log); i++) {
		const struct zk_commitlog_entry *e = zk_commitlog_at(log, i);
		zk_peer_send(p, link, ZK_QP_PROPOSAL, e->zxid, e->txn, (int32_t)e->len, NULL, out);
		zk_peer_send(p, link, ZK_QP_COMMIT, e->zxid, NULL, -1, NULL, out);
	}
}

void zk_leader_sync_learner(struct zk_leader *l, struct zk_lh *h, struct zk_out *out)
{
	struct zk_peer *p = l->p;
	zk_sync_send_history(p, h->link, h->sid, h->last_zxid, out);
	/* startForwarding: what is proposed but not committed yet; its COMMIT follows later. */
	if (!h->observer)
		for (struct zk_proposal *pr = l->props; pr; pr = pr->next)
			zk_peer_send(p, h->link, ZK_QP_PROPOSAL, pr->zxid, pr->txn, (int32_t)pr->len, NULL, out);
	h->forwarding = true;
	zk_peer_send(p, h->link, ZK_QP_NEWLEADER, l->epoch << 32, l->cfgtext.p, (int32_t)l->cfgtext.len, NULL, out);
	h->state = LH_WAIT_NEWLEADER_ACK;
}
