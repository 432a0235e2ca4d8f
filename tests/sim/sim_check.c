/* The checkers, outside the nodes (TigerBeetle's state_checker.zig):
 *
 * - One leader per epoch: a node that is LEADING and serving (established) in epoch e is the
 *   only one ever to do so in e.
 * - One history: every node's applied txns (polled from its committed log after every call,
 *   and rebuilt by the simulator when it reloads a database) are, once the node serves, a
 *   prefix of the common history: same position => same zxid and same txn bytes, and no txn
 *   skipped; the first serving node to go past the end extends it. Tree digests are compared at
 *   equal zxids. A node that serves from a snapshot whose txns we never saw adds a "gap" entry:
 *   from there on only the digest tells.
 *   Only an established leader extends it: a follower or an observer that applies a txn (or
 *   serves from a snapshot) past its end is ahead of every leader.
 * - Zxids only grow on a node, except through a TRUNC reload or a restart.
 * - Observers never sway a quorum (they are not counted, whatever they log or say):
 *   every txn an established leader commits is durably logged, same bytes, by a majority of the
 *   voters at that moment (the simulated disks); a leader established for epoch e has a majority
 *   of the voters with currentEpoch >= e on disk; an observer is never LEADING or FOLLOWING and a
 *   voter never OBSERVING. In the minority phase (sim_fault_minority) nothing may commit past
 *   the newest zxid a cut-off voter had logged and no leader may be established past the newest
 *   epoch a cut-off voter had accepted; once initLimit + syncLimit have passed there is no
 *   established leader at all and the history does not grow.
 * - At the end (every node, observers too, level): every acknowledged write is in the history
 *   with its session and xid, every acknowledged create is in every node's tree. */
#include "sim.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commitlog.h"
#include "jute.h"
#include "notif.h"
#include "peer.h"
#include "txn.h"

void sim_applied_reset(struct sim_applied *a, int64_t base_zxid, uint64_t base_digest)
{
	a->base_zxid = base_zxid;
	a->base_digest = base_digest;
	a->n = 0;
	a->verified = 0;
	a->base_checked = false;
	a->hpos = 0;
	a->loose = true;
	a->stale_max = INT64_MIN;
	a->snap_seen = false;
	a->last_seen = base_zxid;
}

void sim_applied_push(struct sim_applied *a, int64_t zxid, const uint8_t *txn, size_t len)
{
	if (a->n == a->cap) {
		a->cap = a->cap ? 2 * a->cap : 256;
		a->e = realloc(a->e, a->cap * sizeof(*a->e));
		if (!a->e)
			abort();
	}
	struct sim_aent *e = &a->e[a->n++];
	memset(e, 0, sizeof(*e));
	e->zxid = zxid;
	e->hash = sim_fnv(txn, len);
	if (len >= ZK_TXN_HEADER_BYTES) {
		e->client_id = (int64_t)zk_get_be64(txn);
		e->cxid = (int32_t)zk_get_be32(txn + 8);
		e->type = (int32_t)zk_get_be32(txn + 28);
	}
}

/* ---- quorum checks: observers never count ---- */

/* The voter's disk holds zxid durably, with the same txn bytes. */
static bool disk_has(const struct sim_disk *d, int64_t zxid, uint64_t hash)
{
	size_t lo = 0, hi = d->n_recs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (d->recs[mid].zxid < zxid)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == d->n_recs || d->recs[lo].zxid != zxid || !d->recs[lo].durable)
		return false;
	return sim_fnv(d->recs[lo].p, d->recs[lo].len) == hash;
}

/* An established leader just applied (committed) e: a majority of the voters must have logged it
 * durably; what observers logged does not count. */
static void check_commit(struct sim_world *w, struct sim_node *n, const struct sim_aent *e)
{
	int have = 0;
	char who[96] = "", obs[64] = "";
	size_t wl = 0, ol = 0;
	for (int v = 0; v < w->n_nodes; v++) {
		if (!disk_has(&w->nodes[v].disk, e->zxid, e->hash))
			continue;
		if (v < w->k.nodes) {
			have++;
			wl += (size_t)snprintf(who + wl, sizeof(who) - wl, " n%d", v + 1);
		} else {
			ol += (size_t)snprintf(obs + ol, sizeof(obs) - ol, " n%d", v + 1);
		}
		if (wl >= sizeof(who))
			wl = sizeof(who) - 1;
		if (ol >= sizeof(obs))
			ol = sizeof(obs) - 1;
	}
	w->n_commit_checks++;
	if (have <= w->k.nodes / 2) {
		/* What the other voters have: not yet durable, or cut by a TRUNC since they logged it. */
		char why[160] = "";
		size_t yl = 0;
		for (int v = 0; v < w->k.nodes && yl < sizeof(why); v++) {
			const struct sim_disk *d = &w->nodes[v].disk;
			if (disk_has(d, e->zxid, e->hash))
				continue;
			const char *st = "absent";
			for (size_t r = 0; r < d->n_recs; r++)
				if (d->recs[r].zxid == e->zxid)
					st = d->recs[r].durable ? "other bytes" : "unsynced";
			if (d->trunc_t && e->zxid >= d->trunc_lo && e->zxid <= d->trunc_hi)
				yl += (size_t)snprintf(why + yl, sizeof(why) - yl, " n%d:%s,cut-by-TRUNC@%" PRId64 "ms%s", v + 1, st,
						       d->trunc_t, d->trunc_durable ? "(durable)" : "");
			else
				yl += (size_t)snprintf(why + yl, sizeof(why) - yl, " n%d:%s", v + 1, st);
		}
		sim_fail(w, "commit-quorum", "leader n%d committed zxid 0x%" PRIx64 " durably logged by %d of %d voters (%s)"
			 "; the others:%s; observers holding it: %s",
			 n->sid, (uint64_t)e->zxid, have, w->k.nodes, have ? who + 1 : "none", why, ol ? obs + 1 : "none");
		return;
	}
	if (w->minority && e->zxid > w->minority_max_zxid)
		sim_fail(w, "minority-commit", "leader n%d committed zxid 0x%" PRIx64 " in the minority phase, after "
			 "0x%" PRIx64 ", the newest zxid any cut-off voter had logged: the observers made up a quorum",
			 n->sid, (uint64_t)e->zxid, (uint64_t)w->minority_max_zxid);
}

/* ---- polling a node ---- */

void sim_check_poll(struct sim_world *w, int i, bool after_snap)
{
	struct sim_node *n = &w->nodes[i];
	struct sim_applied *a = &n->ap;
	struct zk_db *db = zk_server_db(n->srv);
	const struct zk_commitlog *cl = zk_server_commitlog(n->srv);
	int64_t last = db->last_zxid;
	if (last == a->last_seen)
		return;
	size_t cnt = zk_commitlog_count(cl);
	int64_t cl_max = zk_commitlog_max(cl, INT64_MIN);
	if ((after_snap || a->snap_seen) && cl_max != last) {
		/* SNAP: the database was replaced by the leader's snapshot. */
		if (last < a->last_seen)
			sim_fail(w, "zxid-regress", "n%d: SNAP took its last zxid from 0x%" PRIx64 " down to 0x%" PRIx64,
				 n->sid, (uint64_t)a->last_seen, (uint64_t)last);
		sim_logf(w, "n%d loaded a SNAP at 0x%" PRIx64, n->sid, (uint64_t)last);
		sim_applied_reset(a, last, db->tree.digest);
		a->stale_max = cl_max;
		a->snap_seen = false;
		return;
	}
	if (last < a->last_seen) {
		sim_fail(w, "zxid-regress", "n%d: last zxid went from 0x%" PRIx64 " down to 0x%" PRIx64 " without a TRUNC",
			 n->sid, (uint64_t)a->last_seen, (uint64_t)last);
		return;
	}
	/* The first entry past what we saw, and whether it follows it. */
	size_t j = 0;
	int64_t floor = a->last_seen;
	if (a->loose && a->stale_max > floor)
		floor = a->stale_max;
	while (j < cnt && zk_commitlog_at(cl, j)->zxid <= floor)
		j++;
	bool follows = a->loose || (j > 0 && zk_commitlog_at(cl, j - 1)->zxid == a->last_seen) ||
		       (j == 0 && a->n == 0 && a->last_seen == a->base_zxid && cnt < cl->cap);
	if (!follows || j == cnt) {
		sim_fail(w, "applied-gap", "n%d: last zxid 0x%" PRIx64 " -> 0x%" PRIx64 " but its committed log (%zu, 0x%" PRIx64
			 "..0x%" PRIx64 ") does not show the txns in between",
			 n->sid, (uint64_t)a->last_seen, (uint64_t)last, cnt, (uint64_t)zk_commitlog_min(cl, 0),
			 (uint64_t)cl_max);
		return;
	}
	size_t first_new = a->n;
	for (; j < cnt; j++) {
		const struct zk_commitlog_entry *e = zk_commitlog_at(cl, j);
		sim_applied_push(a, e->zxid, e->txn, e->len);
	}
	if (!n->observer && zk_peer_state(n->peer) == ZK_PS_LEADING && zk_peer_serving(n->peer))
		for (size_t k = first_new; k < a->n && !w->fail.failed; k++)
			check_commit(w, n, &a->e[k]);
	if (cl_max != last) {
		sim_fail(w, "applied-gap", "n%d: database at 0x%" PRIx64 ", committed log ends at 0x%" PRIx64, n->sid,
			 (uint64_t)last, (uint64_t)cl_max);
		return;
	}
	a->last_seen = last;
	a->loose = false;
	a->stale_max = INT64_MIN;
}

/* ---- the common history ---- */

static size_t hist_find(const struct sim_world *w, int64_t zxid, bool *found)
{
	size_t lo = 0, hi = w->hist_n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (w->hist[mid].zxid < zxid)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < w->hist_n && w->hist[lo].zxid == zxid;
	return lo;
}

static struct sim_hent *hist_push(struct sim_world *w, int64_t zxid)
{
	if (w->hist_n == w->hist_cap) {
		w->hist_cap = w->hist_cap ? 2 * w->hist_cap : 1024;
		w->hist = realloc(w->hist, w->hist_cap * sizeof(*w->hist));
		if (!w->hist)
			abort();
	}
	struct sim_hent *h = &w->hist[w->hist_n++];
	memset(h, 0, sizeof(*h));
	h->zxid = zxid;
	return h;
}

static void check_digest(struct sim_world *w, struct sim_node *n, struct sim_hent *h, uint64_t digest)
{
	if (!h->has_digest) {
		h->has_digest = true;
		h->digest = digest;
	} else if (h->digest != digest) {
		sim_fail(w, "digest", "n%d: tree digest %016" PRIx64 " at zxid 0x%" PRIx64 ", another node had %016" PRIx64,
			 n->sid, digest, (uint64_t)h->zxid, h->digest);
	}
}

static bool check_base(struct sim_world *w, struct sim_node *n)
{
	struct sim_applied *a = &n->ap;
	if (a->base_zxid == 0) {
		a->hpos = 0;
		a->base_checked = true;
		return true;
	}
	bool found;
	size_t idx = hist_find(w, a->base_zxid, &found);
	if (found) {
		check_digest(w, n, &w->hist[idx], a->base_digest);
		a->hpos = idx + 1;
	} else if (idx == w->hist_n) {
		struct sim_hent *h = hist_push(w, a->base_zxid);
		h->gap = true;
		h->has_digest = true;
		h->digest = a->base_digest;
		a->hpos = w->hist_n;
		sim_logf(w, "n%d serves from a snapshot at 0x%" PRIx64 " past the known history: gap", n->sid,
			 (uint64_t)a->base_zxid);
	} else {
		sim_fail(w, "history", "n%d serves from a snapshot at zxid 0x%" PRIx64
			 ", a zxid the common history does not have (next there: 0x%" PRIx64 ")",
			 n->sid, (uint64_t)a->base_zxid, (uint64_t)w->hist[idx].zxid);
		return false;
	}
	a->base_checked = true;
	return true;
}

static const char *role_name(const struct sim_node *n)
{
	return n->observer ? "observer" : "follower";
}

/* Matches the node's unverified entries against the history. An established leader extends it
 * past its end; anyone else is then ahead of every leader. */
static void verify_node(struct sim_world *w, struct sim_node *n, bool may_extend)
{
	struct sim_applied *a = &n->ap;
	int64_t hist_end = w->hist_n ? w->hist[w->hist_n - 1].zxid : 0;
	if (!a->base_checked && !may_extend && a->base_zxid > hist_end) {
		sim_fail(w, "ahead-of-leader", "%s n%d serves from a snapshot at zxid 0x%" PRIx64
			 ", past the end of the common history (0x%" PRIx64 ")",
			 role_name(n), n->sid, (uint64_t)a->base_zxid, (uint64_t)hist_end);
		return;
	}
	if (!a->base_checked && !check_base(w, n))
		return;
	for (size_t k = a->verified; k < a->n; k++) {
		const struct sim_aent *e = &a->e[k];
		bool matched = false;
		for (size_t guard = 0; guard < w->hist_n + 1 && !matched; guard++) {
			if (a->hpos >= w->hist_n) {
				if (w->hist_n && w->hist[w->hist_n - 1].zxid >= e->zxid) {
					sim_fail(w, "history", "n%d applied zxid 0x%" PRIx64 " after the history's end 0x%" PRIx64,
						 n->sid, (uint64_t)e->zxid, (uint64_t)w->hist[w->hist_n - 1].zxid);
					return;
				}
				if (!may_extend) {
					sim_fail(w, "ahead-of-leader", "%s n%d applied zxid 0x%" PRIx64 " (txn %016" PRIx64
						 "), past the end of the common history (0x%" PRIx64 "): no established leader "
						 "has applied it",
						 role_name(n), n->sid, (uint64_t)e->zxid, e->hash,
						 w->hist_n ? (uint64_t)w->hist[w->hist_n - 1].zxid : 0);
					return;
				}
				struct sim_hent *h = hist_push(w, e->zxid);
				h->hash = e->hash;
				h->client_id = e->client_id;
				h->cxid = e->cxid;
				h->type = e->type;
				a->hpos = w->hist_n;
				matched = true;
				break;
			}
			struct sim_hent *h = &w->hist[a->hpos];
			if (h->gap && e->zxid < h->zxid) {
				matched = true; /* inside a gap: nothing to compare */
			} else if (h->gap && e->zxid > h->zxid) {
				a->hpos++;
			} else if (h->zxid == e->zxid && (h->gap || h->hash == e->hash)) {
				a->hpos++;
				matched = true;
			} else {
				sim_fail(w, "history", "n%d applied zxid 0x%" PRIx64 " (txn %016" PRIx64 ") at history position %zu, "
					 "where the common history has zxid 0x%" PRIx64 " (txn %016" PRIx64 ")",
					 n->sid, (uint64_t)e->zxid, e->hash, a->hpos, (uint64_t)h->zxid, h->hash);
				return;
			}
		}
	}
	a->verified = a->n;
	/* The tree now is the state after the last verified entry (or the base). */
	struct zk_db *db = zk_server_db(n->srv);
	if (a->hpos > 0 && w->hist[a->hpos - 1].zxid == db->last_zxid)
		check_digest(w, n, &w->hist[a->hpos - 1], db->tree.digest);
}

/* A leader newly established for epoch e: a majority of the voters has currentEpoch >= e on disk
 * (each wrote it before acking NEWLEADER, the leader once a quorum acked the epoch). */
static void check_established(struct sim_world *w, struct sim_node *n, int64_t e)
{
	int have = 0;
	for (int v = 0; v < w->k.nodes; v++)
		have += w->nodes[v].disk.current_epoch >= e;
	if (have <= w->k.nodes / 2) {
		sim_fail(w, "epoch-quorum", "n%d established as leader of epoch %" PRId64 " with %d of %d voters at "
			 "currentEpoch >= %" PRId64,
			 n->sid, e, have, w->k.nodes, e);
		return;
	}
	if (w->minority && e > w->minority_max_epoch)
		sim_fail(w, "minority-leader", "n%d established as leader of epoch %" PRId64 " in the minority phase, past "
			 "epoch %" PRId64 ", the newest any cut-off voter had accepted: the observers made up a quorum",
			 n->sid, e, w->minority_max_epoch);
}

static void check_roles(struct sim_world *w)
{
	for (int i = 0; i < w->n_nodes && !w->fail.failed; i++) {
		struct sim_node *n = &w->nodes[i];
		if (!n->up)
			continue;
		int32_t st = zk_peer_state(n->peer);
		if (n->observer && (st == ZK_PS_LEADING || st == ZK_PS_FOLLOWING))
			sim_fail(w, "observer-role", "observer n%d is %s", n->sid, st == ZK_PS_LEADING ? "LEADING" : "FOLLOWING");
		else if (!n->observer && st == ZK_PS_OBSERVING)
			sim_fail(w, "observer-role", "voter n%d is OBSERVING", n->sid);
	}
}

static void check_leaders(struct sim_world *w)
{
	check_roles(w);
	for (int i = 0; i < w->n_nodes && !w->fail.failed; i++) {
		struct sim_node *n = &w->nodes[i];
		if (!n->up || zk_peer_state(n->peer) != ZK_PS_LEADING || !zk_peer_serving(n->peer))
			continue;
		int64_t e = zk_peer_epoch(n->peer);
		int k = 0;
		while (k < w->n_leaders && w->leaders[k].epoch != e)
			k++;
		if (k < w->n_leaders) {
			if (w->leaders[k].sid != n->sid)
				sim_fail(w, "two-leaders", "n%d leads epoch %" PRId64 ", which n%d led", n->sid, e,
					 w->leaders[k].sid);
			continue;
		}
		if (w->n_leaders < (int)(sizeof(w->leaders) / sizeof(w->leaders[0]))) {
			w->leaders[w->n_leaders].epoch = e;
			w->leaders[w->n_leaders].sid = n->sid;
			w->n_leaders++;
			w->n_elections_won++;
			sim_logf(w, "n%d established as leader of epoch %" PRId64, n->sid, e);
			check_established(w, n, e);
		}
	}
}

/* The minority phase once initLimit + syncLimit have passed: whatever a cut-off voter said
 * before it was cut off has timed out, so no leader is established and nothing commits. */
static void check_minority(struct sim_world *w)
{
	if (!w->minority)
		return;
	if (!w->minority_quiet) {
		if (w->now < w->minority_quiet_at)
			return;
		w->minority_quiet = true;
		w->minority_hist_n = w->hist_n;
		sim_logf(w, "minority phase: %" PRId64 "ms in, from now on no leader and no commit (history at %zu txns)",
			 w->now - w->minority_start, w->hist_n);
	}
	for (int i = 0; i < w->n_nodes; i++) {
		struct sim_node *n = &w->nodes[i];
		if (n->up && zk_peer_state(n->peer) == ZK_PS_LEADING && zk_peer_serving(n->peer)) {
			sim_fail(w, "minority-leader", "n%d is an established leader (epoch %" PRId64 ") %" PRId64
				 "ms into the minority phase, with only a minority of the voters and the observers reachable",
				 n->sid, zk_peer_epoch(n->peer), w->now - w->minority_start);
			return;
		}
	}
	if (w->hist_n > w->minority_hist_n)
		sim_fail(w, "minority-commit", "the common history grew from %zu to %zu txns (zxid 0x%" PRIx64 ") %" PRId64
			 "ms into the minority phase",
			 w->minority_hist_n, w->hist_n, (uint64_t)w->hist[w->hist_n - 1].zxid, w->now - w->minority_start);
}

void sim_check_step(struct sim_world *w)
{
	check_leaders(w);
	/* Leaders first: they extend the history their followers and observers are then held to. */
	for (int pass = 0; pass < 2 && !w->fail.failed; pass++)
		for (int i = 0; i < w->n_nodes && !w->fail.failed; i++) {
			struct sim_node *n = &w->nodes[i];
			if (!n->up || !zk_peer_serving(n->peer))
				continue;
			bool leading = zk_peer_state(n->peer) == ZK_PS_LEADING;
			if (leading == (pass == 0))
				verify_node(w, n, leading);
		}
	if (!w->fail.failed)
		check_minority(w);
}

bool sim_all_level(struct sim_world *w)
{
	int64_t z = -1;
	uint64_t d = 0;
	for (int i = 0; i < w->n_nodes; i++) {
		struct sim_node *n = &w->nodes[i];
		if (!n->up || !zk_peer_serving(n->peer))
			return false;
		struct zk_db *db = zk_server_db(n->srv);
		if (i == 0) {
			z = db->last_zxid;
			d = db->tree.digest;
		} else if (db->last_zxid != z || db->tree.digest != d) {
			return false;
		}
	}
	return true;
}

void sim_check_final(struct sim_world *w)
{
	for (int i = 0; i < w->n_nodes && !w->fail.failed; i++) {
		struct sim_node *n = &w->nodes[i];
		verify_node(w, n, zk_peer_state(n->peer) == ZK_PS_LEADING);
		if (!w->fail.failed && n->ap.hpos != w->hist_n)
			sim_fail(w, "final", "n%d is at history position %zu of %zu", n->sid, n->ap.hpos, w->hist_n);
	}
	for (size_t k = 0; k < w->acks_n && !w->fail.failed; k++) {
		const struct sim_ack *a = &w->acks[k];
		bool found;
		size_t idx = hist_find(w, a->zxid, &found);
		if (!found) {
			bool in_gap = idx < w->hist_n && w->hist[idx].gap;
			if (!in_gap) {
				sim_fail(w, "lost-write", "%s %s by session 0x%" PRIx64 " xid %d acked with zxid 0x%" PRIx64
					 " is not in the common history",
					 a->create ? "create" : "setData", a->path, (uint64_t)a->session_id, a->xid, (uint64_t)a->zxid);
				return;
			}
		} else if (!w->hist[idx].gap &&
			   (w->hist[idx].client_id != a->session_id || w->hist[idx].cxid != a->xid || w->hist[idx].type != a->op)) {
			sim_fail(w, "lost-write", "write acked with zxid 0x%" PRIx64 " (session 0x%" PRIx64 " xid %d op %d), but the "
				 "history's txn there is session 0x%" PRIx64 " xid %d type %d",
				 (uint64_t)a->zxid, (uint64_t)a->session_id, a->xid, a->op, (uint64_t)w->hist[idx].client_id,
				 w->hist[idx].cxid, w->hist[idx].type);
			return;
		}
		if (!a->create)
			continue;
		for (int i = 0; i < w->n_nodes; i++) {
			struct zk_db *db = zk_server_db(w->nodes[i].srv);
			if (!zk_dtree_get(&db->tree, a->path, strlen(a->path))) {
				sim_fail(w, "lost-write", "n%d has no %s (created with zxid 0x%" PRIx64 ", acknowledged)", i + 1,
					 a->path, (uint64_t)a->zxid);
				return;
			}
		}
	}
}
