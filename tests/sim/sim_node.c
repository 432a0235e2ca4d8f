/* One simulated member: a zk_server and its zk_peer, the shell around them, and its disk.
 *
 * The shell part carries out the effects of every call (out.h) the way quorum/io_quorum.c
 * would: SENDs onto links, CLOSE as a FIN then "closed" to the closer, PERSIST into the disk's
 * pending writes (durable after the simulated fsync, reported by zk_server_disk_done), EPOCH
 * durable at once, DIAL through the network, TRUNCATE as a synchronous cut and reload (then
 * zk_peer_truncated once the batch is done), SNAPSHOT as a synchronous zk_snap_write into the
 * disk. Start-up recovery is the real one: newest snapshot, replay of the log after it,
 * zk_server_loaded, the epoch files (absent: the epoch of the last zxid, as QuorumPeer does).
 *
 * A crash keeps all, none, or a prefix of the writes not yet fsynced: the log is written in
 * order, and a torn record fails its checksum and ends the replay, so whatever survives is a
 * prefix of what was written. */
#include "sim.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commitlog.h"
#include "peer.h"
#include "snapshot.h"
#include "txn.h"

#define SIM_WALL0 1700000000000LL

struct zk_now sim_node_now(const struct sim_world *w, const struct sim_node *n)
{
	return (struct zk_now){w->now + n->mono_off, SIM_WALL0 + w->now};
}

void sim_node_init(struct sim_world *w, int i)
{
	struct sim_node *n = &w->nodes[i];
	memset(n, 0, sizeof(*n));
	n->sid = i + 1;
	n->observer = i >= w->k.nodes;
	n->w = w;
	n->disk.accepted_epoch = -1;
	n->disk.current_epoch = -1;
	for (int d = 0; d < SIM_OUT_DEPTH; d++)
		zk_out_init(&n->outs[d]);
	sim_applied_reset(&n->ap, 0, 0);
}

const struct zk_config *sim_node_cfg(const struct sim_world *w, int i)
{
	return w->nodes[i].observer ? &w->cfg_obs : &w->cfg;
}

static void free_elect_memory(struct sim_node *n)
{
	for (int s = 0; s <= SIM_NODES_MAX; s++) {
		free(n->elect_last[s]);
		free(n->elect_queued[s]);
		n->elect_last[s] = n->elect_queued[s] = NULL;
	}
}

static void stop_process(struct sim_node *n)
{
	zk_peer_free(n->peer);
	zk_server_free(n->srv);
	n->peer = NULL;
	n->srv = NULL;
	n->up = false;
	n->inc++;
	n->fsync_scheduled = false;
	n->timer_set = false;
	n->truncated_due = false;
	n->depth = 0;
	free_elect_memory(n);
}

void sim_node_fini(struct sim_world *w, int i)
{
	struct sim_node *n = &w->nodes[i];
	if (n->up)
		stop_process(n);
	for (size_t r = 0; r < n->disk.n_recs; r++)
		free(n->disk.recs[r].p);
	for (size_t s = 0; s < n->disk.n_snaps; s++)
		free(n->disk.snaps[s].p);
	free(n->disk.recs);
	free(n->disk.snaps);
	for (int d = 0; d < SIM_OUT_DEPTH; d++)
		zk_out_fini(&n->outs[d]);
	free(n->ap.e);
}

/* ---- disk ---- */

static void disk_append(struct sim_world *w, struct sim_node *n, int64_t zxid, const uint8_t *p, size_t len)
{
	struct sim_disk *d = &n->disk;
	if (d->n_recs && d->recs[d->n_recs - 1].zxid >= zxid) {
		sim_fail(w, "persist-order", "n%d persisted zxid 0x%" PRIx64 " after 0x%" PRIx64 " in its log", n->sid,
			 (uint64_t)zxid, (uint64_t)d->recs[d->n_recs - 1].zxid);
		return;
	}
	if (d->n_recs == d->cap_recs) {
		d->cap_recs = d->cap_recs ? 2 * d->cap_recs : 64;
		d->recs = realloc(d->recs, d->cap_recs * sizeof(*d->recs));
		if (!d->recs)
			abort();
	}
	uint8_t *c = malloc(len ? len : 1);
	if (!c)
		abort();
	memcpy(c, p, len);
	d->recs[d->n_recs++] = (struct sim_rec){zxid, c, len, false};
}

static void disk_cut_after(struct sim_disk *d, int64_t zxid)
{
	while (d->n_recs && d->recs[d->n_recs - 1].zxid > zxid) {
		d->n_recs--;
		free(d->recs[d->n_recs].p);
	}
	size_t k = 0;
	for (size_t s = 0; s < d->n_snaps; s++) {
		if (d->snaps[s].zxid > zxid)
			free(d->snaps[s].p);
		else
			d->snaps[k++] = d->snaps[s];
	}
	d->n_snaps = k;
}

struct snap_buf {
	uint8_t *p;
	size_t len, cap;
};

static int snap_sink(void *ctx, const void *p, size_t n)
{
	struct snap_buf *b = ctx;
	if (b->len + n > b->cap) {
		size_t c = b->cap ? b->cap : 4096;
		while (c < b->len + n)
			c *= 2;
		b->p = realloc(b->p, c);
		if (!b->p)
			abort();
		b->cap = c;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

static void disk_snapshot(struct sim_world *w, struct sim_node *n)
{
	struct zk_db *db = zk_server_db(n->srv);
	struct snap_buf b = {0};
	int rc = zk_snap_write(db, db->last_zxid, 0, snap_sink, &b);
	if (rc) {
		free(b.p);
		sim_fail(w, "snapshot", "n%d: zk_snap_write rc=%d", n->sid, rc);
		return;
	}
	struct sim_disk *d = &n->disk;
	for (size_t s = 0; s < d->n_snaps; s++)
		if (d->snaps[s].zxid == db->last_zxid) {
			free(d->snaps[s].p);
			d->snaps[s] = (struct sim_snap){db->last_zxid, b.p, b.len};
			return;
		}
	if (d->n_snaps == d->cap_snaps) {
		d->cap_snaps = d->cap_snaps ? 2 * d->cap_snaps : 8;
		d->snaps = realloc(d->snaps, d->cap_snaps * sizeof(*d->snaps));
		if (!d->snaps)
			abort();
	}
	d->snaps[d->n_snaps++] = (struct sim_snap){db->last_zxid, b.p, b.len};
	w->n_snapshots++;
}

/* Loads the newest snapshot at or below upto and replays the log after it up to upto into the
 * (fresh or reset) database, as the start-up code and the TRUNC reload do. */
static int load_disk(struct sim_world *w, struct sim_node *n, int64_t upto)
{
	struct sim_disk *d = &n->disk;
	struct zk_db *db = zk_server_db(n->srv);
	const struct sim_snap *best = NULL;
	for (size_t s = 0; s < d->n_snaps; s++)
		if (d->snaps[s].zxid <= upto && (!best || d->snaps[s].zxid > best->zxid))
			best = &d->snaps[s];
	int64_t base = 0;
	if (best) {
		char err[256] = "";
		int rc = zk_snap_load(db, best->p, best->len, best->zxid, 0, NULL, err, sizeof(err));
		if (rc) {
			sim_fail(w, "recovery", "n%d: snapshot 0x%" PRIx64 " does not load: rc=%d %s", n->sid,
				 (uint64_t)best->zxid, rc, err);
			return rc;
		}
		base = best->zxid;
	}
	sim_applied_reset(&n->ap, base, db->tree.digest);
	for (size_t r = 0; r < d->n_recs; r++) {
		const struct sim_rec *rec = &d->recs[r];
		if (rec->zxid <= base || rec->zxid > upto)
			continue;
		int rc = zk_server_replay(n->srv, rec->p, rec->len);
		if (rc) {
			sim_fail(w, "recovery", "n%d: replay of zxid 0x%" PRIx64 " failed rc=%d", n->sid, (uint64_t)rec->zxid,
				 rc);
			return rc;
		}
		sim_applied_push(&n->ap, rec->zxid, rec->p, rec->len);
	}
	n->ap.last_seen = db->last_zxid;
	n->ap.loose = true;
	n->ap.stale_max = zk_commitlog_max(zk_server_commitlog(n->srv), INT64_MIN);
	return 0;
}

/* ---- lifecycle ---- */

void sim_node_start(struct sim_world *w, int i)
{
	struct sim_node *n = &w->nodes[i];
	n->inc++;
	n->up = true;
	n->mono_off = sim_rng_range(&w->rng, 1000000, 100000000);
	struct zk_now now = sim_node_now(w, n);
	n->srv = zk_server_new(sim_node_cfg(w, i), now, &n->logger);
	if (!n->srv) {
		sim_fail(w, "start", "n%d: zk_server_new failed", n->sid);
		return;
	}
	zk_server_set_myid(n->srv, n->sid);
	if (load_disk(w, n, INT64_MAX))
		return;
	zk_server_loaded(n->srv, now);
	int64_t last = zk_server_db(n->srv)->last_zxid;
	int64_t acc = n->disk.accepted_epoch >= 0 ? n->disk.accepted_epoch : last >> 32;
	int64_t cur = n->disk.current_epoch >= 0 ? n->disk.current_epoch : last >> 32;
	n->peer = zk_peer_new(sim_node_cfg(w, i), n->sid, n->srv, &n->logger, sim_rng_next(&w->rng));
	if (!n->peer) {
		sim_fail(w, "start", "n%d: zk_peer_new failed", n->sid);
		return;
	}
	zk_peer_set_epochs(n->peer, acc, cur);
	sim_logf(w, "start n%d%s (#%u) zxid=0x%" PRIx64 " accepted=%" PRId64 " current=%" PRId64 " log=%zu snaps=%zu",
		 n->sid, n->observer ? " (observer)" : "", n->inc, (uint64_t)last, acc, cur, n->disk.n_recs, n->disk.n_snaps);
	struct zk_out *o = sim_call_begin(w, i);
	zk_peer_start(n->peer, now, o);
	sim_call_end(w, i);
	sim_elect_node_up(w, i);
}

void sim_node_crash(struct sim_world *w, int i)
{
	struct sim_node *n = &w->nodes[i];
	struct sim_disk *d = &n->disk;
	size_t first_pending = d->n_recs;
	while (first_pending > 0 && !d->recs[first_pending - 1].durable)
		first_pending--;
	size_t pending = d->n_recs - first_pending, keep;
	uint32_t roll = (uint32_t)(sim_rng_next(&w->rng) % 1000000);
	if (roll < w->k.crash_lose_ppm)
		keep = 0;
	else if (roll < w->k.crash_lose_ppm + w->k.crash_keep_ppm)
		keep = pending;
	else
		keep = (size_t)sim_rng_range(&w->rng, 0, (int64_t)pending);
	while (d->n_recs > first_pending + keep) {
		d->n_recs--;
		free(d->recs[d->n_recs].p);
	}
	for (size_t r = first_pending; r < d->n_recs; r++)
		d->recs[r].durable = true;
	sim_logf(w, "crash n%d: %zu unsynced log writes, %zu kept", n->sid, pending, keep);
	w->n_crashes++;
	n->crashes++;
	stop_process(n);
	for (int li = 0; li < SIM_LINKS_MAX; li++) {
		struct sim_link *l = &w->links[li];
		if (l->kind == SIM_LK_NONE)
			continue;
		for (int s = 0; s < 2; s++)
			if (l->end[s] == i) {
				sim_link_drop_end(w, li, s);
				break;
			}
	}
}

/* ---- calls and effects ---- */

struct zk_out *sim_call_begin(struct sim_world *w, int i)
{
	struct sim_node *n = &w->nodes[i];
	if (n->depth >= SIM_OUT_DEPTH) {
		sim_fail(w, "sim-depth", "n%d: calls nested too deep", n->sid);
		n->depth = SIM_OUT_DEPTH - 1;
	}
	struct zk_out *o = &n->outs[n->depth++];
	zk_out_reset(o);
	return o;
}

static void send_elect_frames(struct sim_world *w, int i, uint64_t id, const uint8_t *p, size_t len)
{
	int64_t sid = (int64_t)(id & ~ZK_LINK_ELECT_BASE);
	size_t off = 0;
	for (size_t guard = 0; off < len && guard < 1024; guard++) {
		if (len - off < 4) {
			sim_fail(w, "elect-frame", "n%d: %zu stray bytes on the election link to %lld", i + 1, len - off,
				 (long long)sid);
			return;
		}
		size_t fl = zk_get_be32(p + off);
		if (fl > len - off - 4) {
			sim_fail(w, "elect-frame", "n%d: frame of %zu bytes, %zu in the send", i + 1, fl, len - off - 4);
			return;
		}
		sim_elect_send(w, i, sid, p + off, 4 + fl);
		off += 4 + fl;
	}
}

static void do_truncate(struct sim_world *w, int i, int64_t zxid)
{
	struct sim_node *n = &w->nodes[i];
	w->n_truncs++;
	sim_logf(w, "n%d TRUNCATE after 0x%" PRIx64 " (log had up to 0x%" PRIx64 ")", n->sid, (uint64_t)zxid,
		 n->disk.n_recs ? (uint64_t)n->disk.recs[n->disk.n_recs - 1].zxid : 0);
	struct sim_disk *d = &n->disk;
	if (d->n_recs && d->recs[d->n_recs - 1].zxid > zxid) {
		d->trunc_t = w->now;
		d->trunc_hi = d->recs[d->n_recs - 1].zxid;
		d->trunc_durable = false;
		for (size_t r = d->n_recs; r > 0 && d->recs[r - 1].zxid > zxid; r--) {
			d->trunc_lo = d->recs[r - 1].zxid;
			d->trunc_durable |= d->recs[r - 1].durable;
		}
	}
	disk_cut_after(d, zxid);
	struct zk_now now = sim_node_now(w, n);
	int rc = zk_server_reset_db(n->srv, now);
	if (!rc)
		rc = load_disk(w, n, zxid);
	if (!rc)
		zk_server_loaded(n->srv, now);
	n->truncated_due = true;
	n->truncated_rc = rc;
}

static void drain(struct sim_world *w, int i, struct zk_out *o)
{
	struct sim_node *n = &w->nodes[i];
	if (o->err)
		sim_fail(w, "out-enomem", "n%d: zk_out error %d", n->sid, o->err);
	for (size_t k = 0; k < o->n && !w->fail.failed; k++) {
		const struct zk_out_item *it = &o->items[k];
		const uint8_t *p = o->data.p + it->off;
		sim_trace_u64(w, ((uint64_t)it->kind << 56) ^ it->conn_id ^ it->token);
		switch (it->kind) {
		case ZK_OUT_SEND:
			if (ZK_LINK_IS_ELECT(it->conn_id)) {
				send_elect_frames(w, i, it->conn_id, p, it->len);
			} else {
				int li = sim_link_find(w, i, it->conn_id);
				if (li >= 0)
					sim_link_send(w, li, i, p, it->len);
			}
			break;
		case ZK_OUT_CLOSE:
			if (!ZK_LINK_IS_ELECT(it->conn_id)) {
				int li = sim_link_find(w, i, it->conn_id);
				if (li >= 0)
					sim_link_fin(w, li, i);
			}
			break;
		case ZK_OUT_PERSIST:
			if (w->verbose)
				sim_logf(w, "n%d persist zxid=0x%" PRIx64 " len=%zu", n->sid, (uint64_t)it->token, it->len);
			disk_append(w, n, (int64_t)it->token, p, it->len);
			if (!n->fsync_scheduled) {
				n->fsync_scheduled = true;
				sim_push(w, w->now + sim_rng_range(&w->rng, w->k.fsync_min_ms, w->k.fsync_max_ms), SIM_EV_FSYNC,
					 i, 0, n->inc, 0);
			}
			break;
		case ZK_OUT_DIAL:
			sim_dial(w, i, it->conn_id, (int64_t)it->token);
			break;
		case ZK_OUT_EPOCH: {
			int64_t e = (int64_t)it->token;
			int64_t *f = it->reason == ZK_EPOCH_ACCEPTED ? &n->disk.accepted_epoch : &n->disk.current_epoch;
			if (e < *f)
				sim_fail(w, "epoch-file", "n%d lowers its %s epoch from %" PRId64 " to %" PRId64, n->sid,
					 it->reason == ZK_EPOCH_ACCEPTED ? "accepted" : "current", *f, e);
			*f = e;
			if (n->disk.accepted_epoch >= 0 && n->disk.current_epoch > n->disk.accepted_epoch)
				sim_fail(w, "epoch-file", "n%d: currentEpoch %" PRId64 " > acceptedEpoch %" PRId64, n->sid,
					 n->disk.current_epoch, n->disk.accepted_epoch);
			break;
		}
		case ZK_OUT_TRUNCATE:
			do_truncate(w, i, (int64_t)it->token);
			break;
		case ZK_OUT_SNAPSHOT:
			disk_snapshot(w, n);
			break;
		}
	}
}

static void rearm_timer(struct sim_world *w, int i, int64_t out_wake)
{
	struct sim_node *n = &w->nodes[i];
	int64_t wake = zk_server_next_wake(n->srv);
	int64_t pw = zk_peer_next_wake(n->peer);
	if (pw < wake)
		wake = pw;
	if (out_wake > 0 && out_wake < wake)
		wake = out_wake;
	if (wake == INT64_MAX)
		return;
	int64_t t = wake - n->mono_off;
	if (t <= w->now)
		t = w->now + 1; /* due now: next millisecond, so that a stuck deadline cannot spin */
	if (n->timer_set && n->timer_t <= t)
		return;
	n->timer_set = true;
	n->timer_t = t;
	n->timer_tok++;
	sim_push(w, t, SIM_EV_TIMER, i, 0, n->timer_tok, 0);
}

static void call_end(struct sim_world *w, int i, bool after_snap)
{
	struct sim_node *n = &w->nodes[i];
	struct zk_out *o = &n->outs[n->depth - 1];
	int64_t out_wake = o->wake_at_ms;
	drain(w, i, o);
	n->depth--;
	if (n->truncated_due && n->depth == 0 && n->up && !w->fail.failed) {
		n->truncated_due = false;
		struct zk_out *o2 = sim_call_begin(w, i);
		zk_peer_truncated(n->peer, sim_node_now(w, n), n->truncated_rc, o2);
		call_end(w, i, false);
	}
	if (!n->up || w->fail.failed)
		return;
	sim_check_poll(w, i, after_snap);
	rearm_timer(w, i, out_wake);
}

void sim_call_end(struct sim_world *w, int i) { call_end(w, i, false); }

void sim_node_timer(struct sim_world *w, int i, uint32_t tok)
{
	struct sim_node *n = &w->nodes[i];
	if (!n->up || !n->timer_set || tok != n->timer_tok)
		return;
	n->timer_set = false;
	struct zk_now now = sim_node_now(w, n);
	struct zk_out *o = sim_call_begin(w, i);
	zk_server_tick(n->srv, now, o);
	sim_call_end(w, i);
}

void sim_node_fsync(struct sim_world *w, int i, uint32_t inc)
{
	struct sim_node *n = &w->nodes[i];
	if (!n->up || n->inc != inc)
		return;
	n->fsync_scheduled = false;
	struct sim_disk *d = &n->disk;
	int64_t token = -1;
	for (size_t r = d->n_recs; r > 0 && !d->recs[r - 1].durable; r--) {
		d->recs[r - 1].durable = true;
		if (token < 0)
			token = d->recs[r - 1].zxid;
	}
	if (token < 0)
		return;
	if (w->verbose)
		sim_logf(w, "n%d fsync done up to zxid=0x%" PRIx64, n->sid, (uint64_t)token);
	struct zk_out *o = sim_call_begin(w, i);
	zk_server_disk_done(n->srv, sim_node_now(w, n), (uint64_t)token, 0, o);
	sim_call_end(w, i);
}

/* ---- deliveries ---- */

void sim_node_elect_recv(struct sim_world *w, int i, int64_t from_sid, const uint8_t *p, size_t len)
{
	struct sim_node *n = &w->nodes[i];
	if (!n->up)
		return;
	struct zk_out *o = sim_call_begin(w, i);
	zk_peer_elect_recv(n->peer, sim_node_now(w, n), from_sid, p, len, o);
	sim_call_end(w, i);
}

void sim_node_qbytes(struct sim_world *w, int i, int li, int s, const uint8_t *p, size_t len)
{
	struct sim_node *n = &w->nodes[i];
	struct sim_link *l = &w->links[li];
	if (!n->up)
		return;
	if (zk_qframe_feed(&l->qf[s], p, len)) {
		sim_fail(w, "quorum-stream", "n%d: zk_qframe_feed failed", n->sid);
		return;
	}
	uint32_t gen = l->gen;
	uint64_t id = l->id[s];
	/* Bounded: each round consumes bytes of what was fed. */
	for (size_t guard = 0; guard < len + 1; guard++) {
		if (l->kind != SIM_LK_QUORUM || l->gen != gen || !l->open[s] || l->fin_sent[s] || !n->up)
			return; /* closed or reset meanwhile: the rest is not read */
		struct zk_qpkt q;
		const uint8_t *snap = NULL;
		size_t snap_len = 0;
		int r = zk_qframe_next(&l->qf[s], &q, &snap, &snap_len);
		if (r == ZK_QF_NONE)
			return;
		if (r < 0) {
			sim_fail(w, "quorum-stream", "n%d: undecodable bytes on link 0x%llx (rc=%d)", n->sid,
				 (unsigned long long)id, r);
			return;
		}
		int from = l->end[1 - s];
		if (r == ZK_QF_PACKET && q.type == ZK_QP_ACK && from < w->n_nodes && w->nodes[from].observer &&
		    (q.zxid & 0xffffffffLL)) {
			/* Observers ACK NEWLEADER and UPTODATE (zxid epoch << 32), never a proposal. */
			sim_fail(w, "observer-ack", "observer n%d ACKed zxid 0x%" PRIx64 " to n%d", from + 1, (uint64_t)q.zxid,
				 n->sid);
			return;
		}
		struct zk_now now = sim_node_now(w, n);
		struct zk_out *o = sim_call_begin(w, i);
		if (r == ZK_QF_PACKET) {
			if (w->verbose)
				sim_logf(w, "n%d <- %s zxid=0x%" PRIx64 " len=%d link=0x%llx", n->sid, zk_qpkt_type_name(q.type),
					 (uint64_t)q.zxid, q.data.len, (unsigned long long)id);
			zk_peer_qpkt(n->peer, now, id, &q, o);
			call_end(w, i, false);
		} else {
			w->n_snaps_recv++;
			n->ap.snap_seen = true;
			zk_peer_qsnap(n->peer, now, id, snap, snap_len, o);
			call_end(w, i, true);
		}
		if (w->fail.failed)
			return;
	}
}

void sim_node_qopen(struct sim_world *w, int i, uint64_t id, bool inbound)
{
	struct sim_node *n = &w->nodes[i];
	if (!n->up)
		return;
	struct zk_out *o = sim_call_begin(w, i);
	zk_peer_qlink_open(n->peer, sim_node_now(w, n), id, inbound, o);
	sim_call_end(w, i);
}

void sim_node_qclosed(struct sim_world *w, int i, uint64_t id)
{
	struct sim_node *n = &w->nodes[i];
	if (!n->up)
		return;
	struct zk_out *o = sim_call_begin(w, i);
	zk_peer_qlink_closed(n->peer, sim_node_now(w, n), id, o);
	sim_call_end(w, i);
}

void sim_node_client_open(struct sim_world *w, int i, uint64_t conn_id, int client, bool *ok)
{
	struct sim_node *n = &w->nodes[i];
	char ip[32];
	snprintf(ip, sizeof(ip), "10.1.0.%d", client + 1);
	struct zk_out *o = sim_call_begin(w, i);
	*ok = zk_server_conn_open(n->srv, sim_node_now(w, n), conn_id, ip, 40000 + (int)(conn_id & 0xfff), o) == 0;
	sim_call_end(w, i);
}

void sim_node_client_bytes(struct sim_world *w, int i, uint64_t conn_id, const uint8_t *p, size_t len)
{
	struct sim_node *n = &w->nodes[i];
	if (!n->up)
		return;
	/* The simulated clients send whole frames, one or more per message. */
	size_t off = 0;
	for (size_t guard = 0; off + 4 <= len && guard < 1024; guard++) {
		size_t fl = zk_get_be32(p + off);
		if (fl > len - off - 4)
			break;
		struct zk_out *o = sim_call_begin(w, i);
		zk_server_frame(n->srv, sim_node_now(w, n), conn_id, p + off + 4, fl, o);
		sim_call_end(w, i);
		off += 4 + fl;
		if (!n->up || w->fail.failed)
			return;
	}
}

void sim_node_client_closed(struct sim_world *w, int i, uint64_t conn_id)
{
	struct sim_node *n = &w->nodes[i];
	if (!n->up)
		return;
	zk_server_conn_closed(n->srv, sim_node_now(w, n), conn_id);
	/* No effects from this call, but its state may change what the node wakes for. */
	struct zk_out *o = sim_call_begin(w, i);
	(void)o;
	sim_call_end(w, i);
}

int64_t sim_node_digest(struct sim_node *n) { return (int64_t)zk_server_db(n->srv)->tree.digest; }
