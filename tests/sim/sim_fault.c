/* The fault schedule (sim.h): crashes (a random node, the leader, or a burst of the leader and
 * one more), partitions (isolate one node, a random split, or the observers cut off from the
 * voters; both ways or one way, each for a minimum time, then heal) and clogs (one direction
 * between two nodes stalls for a while). Each kind re-arms itself while the safety phase lasts;
 * the liveness phase turns them off. Observers crash, restart and get cut off like voters; the
 * "at most a minority of voters down" rule counts voters only.
 *
 * The minority phase (seeds with observers, once, sim_fault_minority) is a partition of its own:
 * a minority of the voters and every observer can talk to each other, every other voter is alone.
 * The observers outnumber nothing that counts: no leader may be established for a new epoch and
 * nothing new may commit (sim_check.c). */
#include "sim.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "notif.h"
#include "peer.h"

int64_t sim_gap(struct sim_world *w, int64_t mean)
{
	/* Uniform on [mean/2, 3*mean/2]: bounded, mean as asked. */
	return sim_rng_range(&w->rng, mean / 2, mean + mean / 2);
}

static int voters_down(const struct sim_world *w)
{
	int d = 0;
	for (int i = 0; i < w->k.nodes; i++)
		d += !w->nodes[i].up;
	return d;
}

static void crash_one(struct sim_world *w, int i)
{
	struct sim_node *n = &w->nodes[i];
	sim_node_crash(w, i);
	n->down_until = w->now + sim_rng_range(&w->rng, w->k.down_min_ms, w->k.down_max_ms);
	sim_push(w, n->down_until, SIM_EV_START, i, 0, n->inc, 0);
}

static int current_leader(const struct sim_world *w)
{
	for (int i = 0; i < w->n_nodes; i++)
		if (w->nodes[i].up && zk_peer_state(w->nodes[i].peer) == ZK_PS_LEADING)
			return i;
	return -1;
}

/* A crash: a random node or the leader; sometimes a burst that takes the leader and another
 * node down together (the follower losing its unsynced tail while the leader is away is how
 * acknowledged writes get lost when a follower ACKs too early). */
void sim_fault_crash(struct sim_world *w)
{
	if (!w->faults_on)
		return;
	sim_push(w, w->now + sim_gap(w, w->k.crash_gap_ms), SIM_EV_CRASH, 0, 0, 0, 0);
	int leader = current_leader(w);
	if (leader >= 0 && voters_down(w) == 0 && w->n_nodes > 1 && sim_rng_ppm(&w->rng, w->k.burst_ppm)) {
		int other = (int)sim_rng_range(&w->rng, 0, w->n_nodes - 2);
		if (other >= leader)
			other++;
		sim_logf(w, "burst: crash leader n%d and n%d", leader + 1, other + 1);
		crash_one(w, other);
		crash_one(w, leader);
		return;
	}
	/* Mostly a minority down at once (the rest can go on), sometimes a majority (nothing may
	 * commit, nothing may be lost). */
	int max_down = (w->k.nodes - 1) / 2 + (sim_rng_ppm(&w->rng, 150000) ? 1 : 0);
	if (voters_down(w) >= max_down)
		return;
	int i = (int)sim_rng_range(&w->rng, 0, w->n_nodes - 1);
	if (leader >= 0 && sim_rng_ppm(&w->rng, w->k.crash_leader_ppm))
		i = leader;
	if (w->nodes[i].up)
		crash_one(w, i);
}

void sim_heal(struct sim_world *w)
{
	if (!w->partitioned)
		return;
	memset(w->blocked, 0, sizeof(w->blocked));
	w->partitioned = false;
	if (w->minority)
		sim_logf(w, "minority phase over after %" PRId64 "ms", w->now - w->minority_start);
	w->minority = false;
	w->minority_quiet = false;
	sim_logf(w, "heal");
	sim_net_resume(w);
}

void sim_fault_partition(struct sim_world *w)
{
	if (!w->faults_on)
		return;
	if (w->partitioned) {
		sim_push(w, w->partition_end + sim_gap(w, w->k.partition_gap_ms), SIM_EV_PARTITION, 0, 0, 0, 0);
		return;
	}
	int n = w->n_nodes;
	bool side[SIM_NODES_MAX] = {0};
	if (w->k.observers && sim_rng_ppm(&w->rng, 250000)) {
		/* The observers (all, or some) cut off from the voters: they lose the leader, cannot
		 * elect one, and catch up once healed. */
		bool all = sim_rng_ppm(&w->rng, 500000);
		for (int i = w->k.nodes; i < n; i++)
			side[i] = all || sim_rng_ppm(&w->rng, 500000);
	} else if (sim_rng_ppm(&w->rng, 500000)) {
		side[sim_rng_range(&w->rng, 0, n - 1)] = true; /* isolate one */
	} else {
		for (int i = 0; i < n; i++)
			side[i] = sim_rng_ppm(&w->rng, 500000);
	}
	bool oneway = sim_rng_ppm(&w->rng, w->k.partition_oneway_ppm);
	char desc[80];
	size_t dl = 0;
	for (int i = 0; i < n; i++)
		dl += (size_t)snprintf(desc + dl, sizeof(desc) - dl, "%s%d", side[i] ? "A" : "B", i + 1);
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++)
			if (side[i] && !side[j])
				w->blocked[i][j] = true;
			else if (!side[i] && side[j] && !oneway)
				w->blocked[i][j] = true;
	w->partitioned = true;
	w->n_partitions++;
	int64_t len = sim_rng_range(&w->rng, w->k.partition_min_ms, w->k.partition_max_ms);
	w->partition_end = w->now + len;
	sim_logf(w, "partition %s%s for %" PRId64 "ms", desc, oneway ? " (one-way A->B blocked)" : "", len);
	sim_push(w, w->partition_end, SIM_EV_HEAL, 0, 0, 0, 0);
	sim_push(w, w->partition_end + sim_gap(w, w->k.partition_gap_ms), SIM_EV_PARTITION, 0, 0, 0, 0);
}

/* VOPR's swizzle-clog: one direction between two nodes stalls for a while (bytes wait, as on a
 * congested path), so that one follower lags while the others commit. */
void sim_fault_clog(struct sim_world *w)
{
	if (!w->faults_on || w->n_nodes < 2)
		return;
	sim_push(w, w->now + sim_gap(w, w->k.clog_gap_ms), SIM_EV_CLOG, 0, 0, 0, 0);
	int from = (int)sim_rng_range(&w->rng, 0, w->n_nodes - 1);
	int to = (int)sim_rng_range(&w->rng, 0, w->n_nodes - 2);
	if (to >= from)
		to++;
	int64_t until = w->now + sim_rng_range(&w->rng, 10, w->k.clog_max_ms);
	if (until > w->clog_until[from][to])
		w->clog_until[from][to] = until;
	w->n_clogs++;
	sim_logf(w, "clog n%d -> n%d until %" PRId64, from + 1, to + 1, until);
	sim_push(w, until, SIM_EV_UNCLOG, 0, 0, 0, 0);
}

/* The minority phase: a minority of the voters (half the time including the leader) and every
 * observer can talk; each other voter is alone. It lasts minority_min..max_ms (longer than
 * initLimit + syncLimit, so that the old leader has stepped down and the side has tried to elect
 * for a while), replaces a partition under way and ends like one (SIM_EV_HEAL, or the liveness
 * phase). What the cut-off voters hold at the start bounds what may still commit or be
 * established during it, whatever the timing: every voter majority includes one of them. */
void sim_fault_minority(struct sim_world *w)
{
	int v = w->k.nodes;
	if (!w->faults_on || !w->k.observers || v < 2)
		return;
	int pick = (v - 1) / 2; /* the largest minority */
	bool side[SIM_NODES_MAX] = {0};
	int leader = current_leader(w);
	int chosen = 0;
	if (pick > 0 && leader >= 0 && leader < v && sim_rng_ppm(&w->rng, 500000)) {
		side[leader] = true;
		chosen++;
	}
	for (size_t guard = 0; chosen < pick && guard < 1000; guard++) {
		int i = (int)sim_rng_range(&w->rng, 0, v - 1);
		if (!side[i]) {
			side[i] = true;
			chosen++;
		}
	}
	for (int i = v; i < w->n_nodes; i++)
		side[i] = true;
	char desc[80];
	size_t dl = 0;
	for (int i = 0; i < w->n_nodes; i++)
		dl += (size_t)snprintf(desc + dl, sizeof(desc) - dl, " %s%d", side[i] ? "A" : "X", i + 1);
	memset(w->blocked, 0, sizeof(w->blocked));
	for (int i = 0; i < w->n_nodes; i++)
		for (int j = 0; j < w->n_nodes; j++)
			w->blocked[i][j] = i != j && !(side[i] && side[j]);
	memcpy(w->minority_side, side, sizeof(side));
	/* Bounds from the cut-off voters' disks: their logs can only lose an unsynced tail or become
	 * durable while they are alone, their epoch files cannot move. */
	w->minority_max_zxid = 0;
	w->minority_max_epoch = 0;
	for (int i = 0; i < v; i++) {
		if (side[i])
			continue;
		const struct sim_disk *d = &w->nodes[i].disk;
		int64_t z = d->n_recs ? d->recs[d->n_recs - 1].zxid : 0;
		for (size_t s = 0; s < d->n_snaps; s++)
			if (d->snaps[s].zxid > z)
				z = d->snaps[s].zxid;
		if (z > w->minority_max_zxid)
			w->minority_max_zxid = z;
		int64_t e = d->accepted_epoch > (z >> 32) ? d->accepted_epoch : z >> 32;
		if (d->current_epoch > e)
			e = d->current_epoch;
		if (e > w->minority_max_epoch)
			w->minority_max_epoch = e;
	}
	int64_t len = sim_rng_range(&w->rng, w->k.minority_min_ms, w->k.minority_max_ms);
	w->partitioned = true;
	w->minority = true;
	w->minority_start = w->now;
	w->minority_quiet = false;
	w->minority_quiet_at =
		w->now + (int64_t)(w->cfg.init_limit + w->cfg.sync_limit + 2) * w->cfg.tick_time_ms;
	w->partition_end = w->now + len;
	w->n_partitions++;
	w->n_minority++;
	sim_logf(w, "minority phase for %" PRId64 "ms (A: a minority of the voters + the observers, X: alone):%s; "
		 "cut-off voters hold up to zxid 0x%" PRIx64 " epoch %" PRId64,
		 len, desc, (uint64_t)w->minority_max_zxid, w->minority_max_epoch);
	sim_push(w, w->partition_end, SIM_EV_HEAL, 0, 0, 0, 0);
}
