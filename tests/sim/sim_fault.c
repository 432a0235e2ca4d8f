/* The fault schedule (sim.h): crashes (a random node, the leader, or a burst of the leader and
 * one more), partitions (isolate one node or a random split, both ways or one way, each for a
 * minimum time, then heal) and clogs (one direction between two nodes stalls for a while). Each
 * kind re-arms itself while the safety phase lasts; the liveness phase turns them off. */
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

static int nodes_down(const struct sim_world *w)
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
	for (int i = 0; i < w->k.nodes; i++)
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
	if (leader >= 0 && nodes_down(w) == 0 && w->k.nodes > 1 && sim_rng_ppm(&w->rng, w->k.burst_ppm)) {
		int other = (int)sim_rng_range(&w->rng, 0, w->k.nodes - 2);
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
	if (nodes_down(w) >= max_down)
		return;
	int i = (int)sim_rng_range(&w->rng, 0, w->k.nodes - 1);
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
	int n = w->k.nodes;
	bool side[SIM_NODES_MAX] = {0};
	if (sim_rng_ppm(&w->rng, 500000)) {
		side[sim_rng_range(&w->rng, 0, n - 1)] = true; /* isolate one */
	} else {
		for (int i = 0; i < n; i++)
			side[i] = sim_rng_ppm(&w->rng, 500000);
	}
	bool oneway = sim_rng_ppm(&w->rng, w->k.partition_oneway_ppm);
	char desc[64];
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
	if (!w->faults_on || w->k.nodes < 2)
		return;
	sim_push(w, w->now + sim_gap(w, w->k.clog_gap_ms), SIM_EV_CLOG, 0, 0, 0, 0);
	int from = (int)sim_rng_range(&w->rng, 0, w->k.nodes - 1);
	int to = (int)sim_rng_range(&w->rng, 0, w->k.nodes - 2);
	if (to >= from)
		to++;
	int64_t until = w->now + sim_rng_range(&w->rng, 10, w->k.clog_max_ms);
	if (until > w->clog_until[from][to])
		w->clog_until[from][to] = until;
	w->n_clogs++;
	sim_logf(w, "clog n%d -> n%d until %" PRId64, from + 1, to + 1, until);
	sim_push(w, until, SIM_EV_UNCLOG, 0, 0, 0, 0);
}
