/* The simulated world (sim.h): PRNG and knobs from the seed, the event queue (a binary heap on
 * (time, sequence number), so equal times keep their insertion order and a seed replays
 * exactly), the trace hash, the log ring, and the two phases: safety (faults on, checks after
 * every step) then liveness (everything healed and restarted; a leader must be elected, a probe
 * write committed and every node brought level within liveness_ms of simulated time). */
#include "sim.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notif.h"
#include "peer.h"
#include "txn.h"

/* ---- PRNG ---- */

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

void sim_rng_seed(struct sim_rng *r, uint64_t seed)
{
	uint64_t x = seed;
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t sim_rng_next(struct sim_rng *r)
{
	uint64_t *s = r->s;
	uint64_t res = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return res;
}

int64_t sim_rng_range(struct sim_rng *r, int64_t lo, int64_t hi)
{
	if (hi <= lo)
		return lo;
	return lo + (int64_t)(sim_rng_next(r) % (uint64_t)(hi - lo + 1));
}

bool sim_rng_ppm(struct sim_rng *r, uint32_t ppm) { return ppm && sim_rng_next(r) % 1000000 < ppm; }

/* ---- knobs ---- */

void sim_knobs_from_seed(struct sim_knobs *k, uint64_t seed)
{
	/* A PRNG of its own, so that the knobs do not shift when the run's draws change. */
	struct sim_rng r;
	sim_rng_seed(&r, seed ^ 0x6b6e6f6273ULL);
	memset(k, 0, sizeof(*k));
	k->nodes = sim_rng_ppm(&r, 600000) ? 3 : 5;
	k->clients = (int)sim_rng_range(&r, 1, SIM_CLIENTS_MAX);
	k->delay_min_ms = sim_rng_range(&r, 0, 3);
	k->delay_max_ms = k->delay_min_ms + sim_rng_range(&r, 1, 40);
	k->reset_ppm = sim_rng_ppm(&r, 300000) ? 0 : (uint32_t)sim_rng_range(&r, 100, 5000);
	k->split_ppm = (uint32_t)sim_rng_range(&r, 0, 300000);
	k->partition_gap_ms = sim_rng_ppm(&r, 200000) ? 0 : sim_rng_range(&r, 300, 3000);
	k->partition_min_ms = sim_rng_range(&r, 100, 800);
	k->partition_max_ms = k->partition_min_ms + sim_rng_range(&r, 0, 2500);
	k->partition_oneway_ppm = (uint32_t)sim_rng_range(&r, 0, 300000);
	k->clog_gap_ms = sim_rng_ppm(&r, 200000) ? 0 : sim_rng_range(&r, 50, 1000);
	k->clog_max_ms = sim_rng_range(&r, 20, 1500);
	k->crash_gap_ms = sim_rng_ppm(&r, 200000) ? 0 : sim_rng_range(&r, 300, 3000);
	k->crash_leader_ppm = (uint32_t)sim_rng_range(&r, 0, 600000);
	k->burst_ppm = (uint32_t)sim_rng_range(&r, 0, 700000);
	k->down_min_ms = sim_rng_range(&r, 0, 500);
	k->down_max_ms = k->down_min_ms + sim_rng_range(&r, 0, 2000);
	k->crash_lose_ppm = (uint32_t)sim_rng_range(&r, 0, 900000);
	k->crash_keep_ppm = (uint32_t)sim_rng_range(&r, 0, 1000000 - k->crash_lose_ppm);
	k->fsync_min_ms = sim_rng_range(&r, 0, 5);
	k->fsync_max_ms = k->fsync_min_ms + sim_rng_range(&r, 0, sim_rng_ppm(&r, 300000) ? 150 : 30);
	k->think_min_ms = sim_rng_range(&r, 0, 20);
	k->think_max_ms = k->think_min_ms + sim_rng_range(&r, 0, sim_rng_ppm(&r, 500000) ? 20 : 200);
	k->read_ppm = (uint32_t)sim_rng_range(&r, 0, 400000);
	k->fault_ms = sim_rng_range(&r, 3000, 10000);
	k->liveness_ms = 30000;
	k->steps = 0;
	/* Drawn last, so that the knobs above are the same as before observers existed (and a seed
	 * that draws no observers runs as it did). */
	k->observers = sim_rng_ppm(&r, 400000) ? 0 : (int)sim_rng_range(&r, 1, 3);
	k->minority_ppm = (uint32_t)sim_rng_range(&r, 300000, 800000);
	k->minority_min_ms = sim_rng_range(&r, 2500, 3500);
	k->minority_max_ms = k->minority_min_ms + sim_rng_range(&r, 0, 2000);
}

void sim_knobs_print(const struct sim_knobs *k, uint64_t seed)
{
	printf("seed=%" PRIu64 " nodes=%d observers=%d clients=%d delay=%" PRId64 "..%" PRId64
	       "ms reset=%uppm split=%uppm\n",
	       seed, k->nodes, k->observers, k->clients, k->delay_min_ms, k->delay_max_ms, k->reset_ppm, k->split_ppm);
	printf("  partitions: every~%" PRId64 "ms lasting %" PRId64 "..%" PRId64 "ms oneway=%uppm; clogs: every~%" PRId64
	       "ms up to %" PRId64 "ms\n",
	       k->partition_gap_ms, k->partition_min_ms, k->partition_max_ms, k->partition_oneway_ppm, k->clog_gap_ms,
	       k->clog_max_ms);
	printf("  crashes: every~%" PRId64 "ms leader=%uppm burst=%uppm down %" PRId64 "..%" PRId64
	       "ms unsynced tail: lose=%uppm keep=%uppm (else a prefix)\n",
	       k->crash_gap_ms, k->crash_leader_ppm, k->burst_ppm, k->down_min_ms, k->down_max_ms, k->crash_lose_ppm,
	       k->crash_keep_ppm);
	printf("  fsync=%" PRId64 "..%" PRId64 "ms think=%" PRId64 "..%" PRId64 "ms reads=%uppm faults=%" PRId64
	       "ms liveness<=%" PRId64 "ms steps=%" PRIu64 "\n",
	       k->fsync_min_ms, k->fsync_max_ms, k->think_min_ms, k->think_max_ms, k->read_ppm, k->fault_ms,
	       k->liveness_ms, k->steps);
	if (k->observers)
		printf("  minority phase (a minority of the voters + the observers): %uppm lasting %" PRId64 "..%" PRId64
		       "ms\n",
		       k->minority_ppm, k->minority_min_ms, k->minority_max_ms);
}

/* ---- events ---- */

static bool ev_less(const struct sim_ev *a, const struct sim_ev *b)
{
	return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

void sim_push(struct sim_world *w, int64_t t, enum sim_ev_kind kind, int a, int b, uint32_t gen, uint64_t x)
{
	if (t < w->now)
		t = w->now;
	if (w->heap_n == w->heap_cap) {
		w->heap_cap = w->heap_cap ? w->heap_cap * 2 : 1024;
		w->heap = realloc(w->heap, w->heap_cap * sizeof(*w->heap));
		if (!w->heap)
			abort();
	}
	struct sim_ev e = {t, w->seq++, kind, a, b, gen, x};
	size_t i = w->heap_n++;
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (!ev_less(&e, &w->heap[p]))
			break;
		w->heap[i] = w->heap[p];
		i = p;
	}
	w->heap[i] = e;
}

static bool pop(struct sim_world *w, struct sim_ev *out)
{
	if (!w->heap_n)
		return false;
	*out = w->heap[0];
	struct sim_ev last = w->heap[--w->heap_n];
	size_t i = 0, n = w->heap_n;
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		const struct sim_ev *best = &last;
		if (l < n && ev_less(&w->heap[l], best)) {
			m = l;
			best = &w->heap[l];
		}
		if (r < n && ev_less(&w->heap[r], best))
			m = r;
		if (m == i)
			break;
		w->heap[i] = w->heap[m];
		i = m;
	}
	if (n)
		w->heap[i] = last;
	return true;
}

/* ---- trace, log, failure ---- */

uint64_t sim_fnv(const void *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

void sim_trace(struct sim_world *w, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		w->trace = (w->trace ^ b[i]) * 0x100000001b3ULL;
}

void sim_trace_u64(struct sim_world *w, uint64_t v) { sim_trace(w, &v, sizeof(v)); }

static void ring_put(struct sim_world *w, const char *line)
{
	snprintf(w->ring[w->ring_pos], SIM_LOG_LINE, "%s", line);
	w->ring_pos = (w->ring_pos + 1) % SIM_LOG_RING;
	if (w->ring_n < SIM_LOG_RING)
		w->ring_n++;
	if (w->verbose)
		printf("%s\n", line);
}

void sim_logf(struct sim_world *w, const char *fmt, ...)
{
	char msg[SIM_LOG_LINE - 24], line[SIM_LOG_LINE];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(line, sizeof(line), "%8" PRId64 " sim %s", w->now, msg);
	ring_put(w, line);
}

/* The node's log sink (struct zk_logger of each node). */
static void node_log(void *ctx, enum zk_log_level level, const char *text)
{
	struct sim_node *n = ctx;
	static const char *lv[] = {"E", "W", "I", "D"};
	char line[SIM_LOG_LINE];
	snprintf(line, sizeof(line), "%8" PRId64 " n%d %s %s", n->w->now, n->sid, lv[level & 3], text);
	ring_put(n->w, line);
}

void sim_fail(struct sim_world *w, const char *what, const char *fmt, ...)
{
	if (w->fail.failed)
		return;
	w->fail.failed = true;
	snprintf(w->fail.what, sizeof(w->fail.what), "%s", what);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(w->fail.detail, sizeof(w->fail.detail), fmt, ap);
	va_end(ap);
	sim_logf(w, "FAIL %s: %s", w->fail.what, w->fail.detail);
}

int64_t sim_delay(struct sim_world *w) { return sim_rng_range(&w->rng, w->k.delay_min_ms, w->k.delay_max_ms); }

static void begin_liveness(struct sim_world *w)
{
	if (w->liveness)
		return;
	w->liveness = true;
	w->faults_on = false;
	w->liveness_start = w->now;
	sim_logf(w, "liveness phase: heal, restart, stop the clients");
	sim_heal(w);
	memset(w->clog_until, 0, sizeof(w->clog_until));
	sim_net_resume(w);
	for (int i = 0; i < w->n_nodes; i++)
		if (!w->nodes[i].up)
			sim_push(w, w->now, SIM_EV_START, i, 0, w->nodes[i].inc, 0);
	for (int c = 0; c < w->n_clients; c++)
		w->clients[c].stopped = true;
}

/* Liveness: every node up, one leader serving, everyone (observers too) following it and
 * serving. */
static bool roles_settled(struct sim_world *w)
{
	int leader = -1;
	for (int i = 0; i < w->n_nodes; i++) {
		struct sim_node *n = &w->nodes[i];
		if (!n->up || !zk_peer_serving(n->peer))
			return false;
		if (zk_peer_state(n->peer) == ZK_PS_LEADING)
			leader = n->sid;
	}
	if (leader < 0)
		return false;
	for (int i = 0; i < w->n_nodes; i++)
		if (zk_peer_leader(w->nodes[i].peer) != leader)
			return false;
	return true;
}

static void liveness_step(struct sim_world *w)
{
	if (!w->probe_started && roles_settled(w)) {
		w->probe_started = true;
		struct sim_client *pc = &w->clients[w->n_clients];
		pc->stopped = false;
		sim_logf(w, "liveness: roles settled after %" PRId64 "ms, starting the probe write",
			 w->now - w->liveness_start);
		sim_push(w, w->now, SIM_EV_CLIENT, w->n_clients, 0, pc->conn_seq, 0);
	}
	if (w->probe_started && sim_client_acked_probe(w) && sim_all_level(w)) {
		w->converged_at = w->now;
		sim_logf(w, "liveness: converged after %" PRId64 "ms", w->now - w->liveness_start);
		sim_check_final(w);
		w->done = true;
		return;
	}
	if (w->now - w->liveness_start > w->k.liveness_ms) {
		char st[400];
		size_t l = 0;
		for (int i = 0; i < w->n_nodes && l < sizeof(st); i++) {
			struct sim_node *n = &w->nodes[i];
			l += (size_t)snprintf(st + l, sizeof(st) - l, " n%d:%s/%s/ep%" PRId64 "/z%" PRIx64, n->sid,
					      !n->up ? "down"
					      : zk_peer_state(n->peer) == ZK_PS_LEADING ? "L"
					      : zk_peer_state(n->peer) == ZK_PS_FOLLOWING ? "F"
					      : zk_peer_state(n->peer) == ZK_PS_OBSERVING ? "O"
											  : "looking",
					      n->up && zk_peer_serving(n->peer) ? "serving" : "-",
					      n->up ? zk_peer_epoch(n->peer) : -1,
					      n->up ? (uint64_t)zk_server_db(n->srv)->last_zxid : 0);
		}
		sim_fail(w, "liveness", "not converged %" PRId64 "ms after the faults stopped (probe %s):%s",
			 w->k.liveness_ms, !w->probe_started ? "not started" : sim_client_acked_probe(w) ? "acked" : "pending",
			 st);
	}
}

/* ---- the run ---- */

static void build_config(struct sim_world *w)
{
	struct zk_config *c = &w->cfg;
	zk_config_defaults(c);
	c->tick_time_ms = 100;
	c->init_limit = 10;
	c->sync_limit = 5;
	snprintf(c->data_dir, sizeof(c->data_dir), "sim");
	snprintf(c->data_log_dir, sizeof(c->data_log_dir), "sim");
	c->min_session_timeout_ms = 2 * c->tick_time_ms;
	c->max_session_timeout_ms = 20 * c->tick_time_ms;
	c->client_port = 2181;
	c->max_client_cnxns = 0;
	c->n_servers = w->n_nodes;
	for (int i = 0; i < w->n_nodes; i++) {
		struct zk_cfg_server *s = &c->servers[i];
		memset(s, 0, sizeof(*s));
		s->id = i + 1;
		snprintf(s->host, sizeof(s->host), "10.0.0.%d", i + 1);
		s->quorum_port = 2888;
		s->election_port = 3888;
		s->observer = i >= w->k.nodes;
		s->client_port = -1;
	}
	/* An observer's own zoo.cfg also says peerType=observer. */
	w->cfg_obs = *c;
	w->cfg_obs.peer_type_observer = true;
}

static void dispatch(struct sim_world *w, const struct sim_ev *e)
{
	switch (e->kind) {
	case SIM_EV_START:
		if (!w->nodes[e->a].up && w->nodes[e->a].inc == e->gen)
			sim_node_start(w, e->a);
		break;
	case SIM_EV_TIMER:
		sim_node_timer(w, e->a, e->gen);
		break;
	case SIM_EV_FSYNC:
		sim_node_fsync(w, e->a, e->gen);
		break;
	case SIM_EV_PUMP:
		sim_net_pump(w, e->a, e->b, e->gen);
		break;
	case SIM_EV_CLOSED:
		sim_net_closed(w, e->a, e->b, e->gen);
		break;
	case SIM_EV_DIAL:
		sim_dial_done(w, e->a, e->gen, e->x, e->b);
		break;
	case SIM_EV_RECONNECT:
		sim_elect_reconnect(w, e->a, e->gen);
		break;
	case SIM_EV_CLIENT:
		sim_client_event(w, e->a, e->gen);
		break;
	case SIM_EV_CRASH:
		sim_fault_crash(w);
		break;
	case SIM_EV_PARTITION:
		sim_fault_partition(w);
		break;
	case SIM_EV_HEAL:
		if (w->partitioned && w->now >= w->partition_end)
			sim_heal(w);
		break;
	case SIM_EV_PHASE:
		begin_liveness(w);
		break;
	case SIM_EV_CLOG:
		sim_fault_clog(w);
		break;
	case SIM_EV_UNCLOG:
		sim_net_resume(w);
		break;
	case SIM_EV_MINORITY:
		sim_fault_minority(w);
		break;
	}
}

static void world_init(struct sim_world *w, uint64_t seed, const struct sim_opts *o)
{
	memset(w, 0, sizeof(*w));
	w->seed = seed;
	sim_knobs_from_seed(&w->k, seed);
	if (o->nodes)
		w->k.nodes = o->nodes;
	if (o->set_observers)
		w->k.observers = o->observers;
	if (o->minority)
		w->k.minority_ppm = o->minority > 0 ? 1000000 : 0;
	if (o->steps)
		w->k.steps = o->steps;
	if (o->fault_ms)
		w->k.fault_ms = o->fault_ms;
	if (w->k.nodes < 1)
		w->k.nodes = 1;
	if (w->k.nodes > SIM_VOTERS_MAX)
		w->k.nodes = SIM_VOTERS_MAX;
	if (w->k.observers < 0)
		w->k.observers = 0;
	if (w->k.observers > SIM_OBSERVERS_MAX)
		w->k.observers = SIM_OBSERVERS_MAX;
	w->n_nodes = w->k.nodes + w->k.observers;
	w->verbose = o->verbose;
	w->quiet = o->quiet;
	sim_rng_seed(&w->rng, seed);
	w->trace = 0xcbf29ce484222325ULL;
	w->ring = calloc(SIM_LOG_RING, SIM_LOG_LINE);
	if (!w->ring)
		abort();
	build_config(w);
	sim_net_init(w);
	for (int i = 0; i < w->n_nodes; i++) {
		sim_node_init(w, i);
		w->nodes[i].logger.fn = node_log;
		w->nodes[i].logger.ctx = &w->nodes[i];
		w->nodes[i].logger.max_level = w->verbose ? ZK_LOG_DEBUG : ZK_LOG_INFO;
	}
	sim_clients_init(w);
	w->faults_on = true;
}

static void world_fini(struct sim_world *w)
{
	for (int i = 0; i < w->n_nodes; i++)
		sim_node_fini(w, i);
	sim_clients_fini(w);
	sim_net_fini(w);
	free(w->heap);
	free(w->hist);
	free(w->acks);
	free(w->ring);
}

static void print_ring(struct sim_world *w, size_t last)
{
	size_t n = w->ring_n < last ? w->ring_n : last;
	size_t start = (w->ring_pos + SIM_LOG_RING - n) % SIM_LOG_RING;
	printf("---- last %zu trace lines ----\n", n);
	for (size_t i = 0; i < n; i++)
		printf("%s\n", w->ring[(start + i) % SIM_LOG_RING]);
	printf("----\n");
}

int sim_run(uint64_t seed, const struct sim_opts *o, struct sim_result *res)
{
	struct sim_world *w = calloc(1, sizeof(*w));
	if (!w)
		abort();
	world_init(w, seed, o);
	if (!w->quiet)
		sim_knobs_print(&w->k, seed);
	for (int i = 0; i < w->n_nodes; i++)
		sim_push(w, sim_rng_range(&w->rng, 0, 50), SIM_EV_START, i, 0, w->nodes[i].inc, 0);
	for (int c = 0; c < w->n_clients; c++)
		sim_push(w, sim_rng_range(&w->rng, 100, 600), SIM_EV_CLIENT, c, 0, w->clients[c].conn_seq, 0);
	if (w->k.crash_gap_ms)
		sim_push(w, sim_gap(w, w->k.crash_gap_ms), SIM_EV_CRASH, 0, 0, 0, 0);
	if (w->k.partition_gap_ms)
		sim_push(w, sim_gap(w, w->k.partition_gap_ms), SIM_EV_PARTITION, 0, 0, 0, 0);
	if (w->k.clog_gap_ms)
		sim_push(w, sim_gap(w, w->k.clog_gap_ms), SIM_EV_CLOG, 0, 0, 0, 0);
	sim_push(w, w->k.fault_ms, SIM_EV_PHASE, 0, 0, 0, 0);
	if (w->k.observers && sim_rng_ppm(&w->rng, w->k.minority_ppm))
		sim_push(w, sim_rng_range(&w->rng, w->k.fault_ms / 5, w->k.fault_ms * 3 / 5), SIM_EV_MINORITY, 0, 0, 0, 0);
	struct sim_ev e;
	while (!w->done && !w->fail.failed && pop(w, &e)) {
		w->now = e.t;
		w->events++;
		sim_trace_u64(w, (uint64_t)e.t);
		sim_trace_u64(w, ((uint64_t)e.kind << 32) ^ ((uint64_t)(uint32_t)e.a << 8) ^ (uint64_t)(uint32_t)e.b);
		dispatch(w, &e);
		if (w->fail.failed)
			break;
		sim_check_step(w);
		if (!w->liveness && w->k.steps && w->events >= w->k.steps)
			begin_liveness(w);
		if (w->liveness && !w->fail.failed)
			liveness_step(w);
		if (w->events >= SIM_EVENTS_MAX)
			sim_fail(w, "event-budget", "%llu events without converging (livelock?)",
				 (unsigned long long)w->events);
	}
	if (!w->done && !w->fail.failed)
		sim_fail(w, "stalled", "the event queue ran dry at t=%" PRId64 "ms", w->now);
	memset(res, 0, sizeof(*res));
	res->failed = w->fail.failed;
	snprintf(res->what, sizeof(res->what), "%s", w->fail.what);
	snprintf(res->detail, sizeof(res->detail), "%s", w->fail.detail);
	res->trace = w->trace;
	res->events = w->events;
	res->end_ms = w->now;
	res->observers = w->k.observers;
	res->minority_phases = w->n_minority;
	res->commit_checks = w->n_commit_checks;
	res->obs_reads = w->n_obs_reads;
	res->obs_writes = w->n_obs_writes;
	if (w->fail.failed && !w->verbose)
		print_ring(w, o->quiet ? 60 : SIM_LOG_RING);
	if (!w->quiet || w->fail.failed) {
		printf("seed=%" PRIu64 " %s events=%" PRIu64 " end=%" PRId64 "ms trace=%016" PRIx64
		       " txns=%zu acked=%" PRIu64 " reads=%" PRIu64 " crashes=%" PRIu64 " partitions=%" PRIu64 " clogs=%" PRIu64
		       " resets=%" PRIu64 " truncs=%" PRIu64 " snaps=%" PRIu64 "\n",
		       seed, w->fail.failed ? "FAILED" : "ok", w->events, w->now, w->trace, w->hist_n,
		       w->n_writes_acked, w->n_reads_ok, w->n_crashes, w->n_partitions, w->n_clogs, w->n_resets, w->n_truncs,
		       w->n_snaps_recv);
		if (w->k.observers)
			printf("  observers=%d: reads=%" PRIu64 " writes acked=%" PRIu64 " commits checked=%" PRIu64
			       " minority phases=%" PRIu64 "\n",
			       w->k.observers, w->n_obs_reads, w->n_obs_writes, w->n_commit_checks, w->n_minority);
		if (w->fail.failed)
			printf("FAIL seed=%" PRIu64 " check=%s: %s\nreproduce: zk-sim --seed %" PRIu64 " --nodes %d --observers %d"
			       " --steps %" PRIu64 " --faults %" PRId64 "%s -v\n",
			       seed, w->fail.what, w->fail.detail, seed, w->k.nodes, w->k.observers, w->k.steps, w->k.fault_ms,
			       o->minority > 0 ? " --minority" : o->minority < 0 ? " --no-minority" : "");
	}
	world_fini(w);
	free(w);
	return res->failed ? 1 : 0;
}
