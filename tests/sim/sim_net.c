/* The simulated network: connections that behave like TCP. Each direction is a FIFO with a
 * random delay per message, delivered in order; a partition stalls a direction (the bytes wait,
 * as TCP retransmits them, and flow again after the heal unless a timeout closed the connection
 * first); a reset loses what is in flight and tells both ends; a close (FIN) arrives after the
 * bytes sent before it.
 *
 * Election links (one per pair of nodes) carry whole notification frames. They follow
 * QuorumCnxManager: while down, a node keeps the newest frame per sid (queue capacity one), and
 * on reconnect sends that frame, or else the last frame it sent, so a reset never leaves a
 * round without the other side's latest vote. Reconnects are retried while both ends are up.
 *
 * Quorum links are dialed (ZK_OUT_DIAL): the acceptor gets a link id of our choosing and both
 * ends are told (acceptor first, as accept() returns before the dialer's connect completes);
 * a dial to a node that is down or cut off fails after a connect timeout. */
#include "sim.h"

#include <stdlib.h>
#include <string.h>

#include "peer.h"

#define SIM_ACCEPT_ID_BASE 0x40000000ULL /* acceptor link ids, far from the peers' own */
#define SIM_RECONNECT_MIN_MS 50
#define SIM_RECONNECT_MAX_MS 300
#define SIM_CONNECT_TIMEOUT_MIN_MS 100
#define SIM_CONNECT_TIMEOUT_MAX_MS 1000
#define SIM_CLOSE_NOTICE_MAX_MS 5

static uint32_t new_gen(struct sim_world *w) { return (uint32_t)(w->seq * 2654435761u) | 1u; }

static bool is_node(int end) { return end < SIM_NODES_MAX; }

bool sim_reachable(const struct sim_world *w, int from, int to)
{
	if (!is_node(from) || !is_node(to))
		return true;
	return !w->blocked[from][to] && w->now >= w->clog_until[from][to];
}

static void dir_clear(struct sim_dir *d)
{
	struct sim_msg *m = d->head;
	for (size_t guard = 0; m && guard < (1u << 30); guard++) {
		struct sim_msg *nx = m->next;
		free(m);
		m = nx;
	}
	d->head = d->tail = NULL;
}

void sim_net_init(struct sim_world *w)
{
	for (int i = 0; i < w->n_nodes; i++)
		for (int j = i + 1; j < w->n_nodes; j++) {
			if (i >= w->k.nodes && j >= w->k.nodes) { /* two observers (nodes are set up after this) */
				w->elinks[i][j] = w->elinks[j][i] = -1;
				continue;
			}
			int li = sim_link_new(w, SIM_LK_ELECT, i, ZK_LINK_ELECT_BASE | (uint64_t)(j + 1), j,
					      ZK_LINK_ELECT_BASE | (uint64_t)(i + 1));
			w->links[li].up = false;
			w->links[li].open[0] = w->links[li].open[1] = false;
			w->elinks[i][j] = w->elinks[j][i] = li;
		}
}

static void link_free(struct sim_world *w, int li)
{
	struct sim_link *l = &w->links[li];
	dir_clear(&l->dir[0]);
	dir_clear(&l->dir[1]);
	if (l->qf_init) {
		zk_qframe_fini(&l->qf[0]);
		zk_qframe_fini(&l->qf[1]);
	}
	memset(l, 0, sizeof(*l));
}

void sim_net_fini(struct sim_world *w)
{
	for (int li = 0; li < SIM_LINKS_MAX; li++)
		if (w->links[li].kind != SIM_LK_NONE)
			link_free(w, li);
}

int sim_link_new(struct sim_world *w, enum sim_link_kind kind, int end0, uint64_t id0, int end1, uint64_t id1)
{
	for (int li = 0; li < SIM_LINKS_MAX; li++) {
		struct sim_link *l = &w->links[li];
		if (l->kind != SIM_LK_NONE)
			continue;
		memset(l, 0, sizeof(*l));
		l->kind = kind;
		l->end[0] = end0;
		l->end[1] = end1;
		l->id[0] = id0;
		l->id[1] = id1;
		l->gen = new_gen(w);
		l->open[0] = l->open[1] = true;
		l->up = true;
		for (int s = 0; s < 2; s++)
			l->inc[s] = is_node(l->end[s]) ? w->nodes[l->end[s]].inc : 0;
		if (kind == SIM_LK_QUORUM) {
			/* Packets are bounded by jute.maxbuffer; a snapshot by what a test can hold. */
			zk_qframe_init(&l->qf[0], (size_t)w->cfg.jute_maxbuffer, 1ULL << 30);
			zk_qframe_init(&l->qf[1], (size_t)w->cfg.jute_maxbuffer, 1ULL << 30);
			l->qf_init = true;
		}
		return li;
	}
	sim_fail(w, "sim-links", "more than %d connections at once", SIM_LINKS_MAX);
	return -1;
}

int sim_link_find(struct sim_world *w, int end, uint64_t id)
{
	for (int li = 0; li < SIM_LINKS_MAX; li++) {
		struct sim_link *l = &w->links[li];
		if (l->kind == SIM_LK_NONE || l->kind == SIM_LK_ELECT)
			continue;
		for (int s = 0; s < 2; s++)
			if (l->end[s] == end && l->id[s] == id && l->open[s])
				return li;
	}
	return -1;
}

static void maybe_free(struct sim_world *w, int li)
{
	struct sim_link *l = &w->links[li];
	if (l->kind != SIM_LK_ELECT && !l->open[0] && !l->open[1])
		link_free(w, li);
}

static void enqueue(struct sim_world *w, int li, int d, const uint8_t *p, size_t len, bool fin)
{
	struct sim_link *l = &w->links[li];
	struct sim_msg *m = malloc(sizeof(*m) + len);
	if (!m)
		abort();
	m->next = NULL;
	m->fin = fin;
	m->len = len;
	if (len)
		memcpy(m->p, p, len);
	int64_t t = w->now + sim_delay(w);
	if (t < l->dir[d].last_t)
		t = l->dir[d].last_t;
	l->dir[d].last_t = t;
	m->ready_t = t;
	if (l->dir[d].tail)
		l->dir[d].tail->next = m;
	else
		l->dir[d].head = m;
	l->dir[d].tail = m;
	sim_push(w, t, SIM_EV_PUMP, li, d, l->gen, 0);
}

void sim_link_send(struct sim_world *w, int li, int from, const uint8_t *p, size_t len)
{
	struct sim_link *l = &w->links[li];
	int d = l->end[0] == from ? 0 : 1;
	if (!l->up || !l->open[d] || l->fin_sent[d])
		return;
	if (w->faults_on && sim_rng_ppm(&w->rng, w->k.reset_ppm)) {
		sim_logf(w, "reset %s link %d: %d<->%d", l->kind == SIM_LK_ELECT ? "election"
						: l->kind == SIM_LK_QUORUM ? "quorum" : "client",
			 li, l->end[0] + 1, l->end[1] + 1);
		w->n_resets++;
		sim_link_reset(w, li);
		return;
	}
	if (l->kind == SIM_LK_QUORUM && len > 1 && sim_rng_ppm(&w->rng, w->k.split_ppm)) {
		/* The receiver must cope with packets cut anywhere. */
		size_t cut = (size_t)sim_rng_range(&w->rng, 1, (int64_t)len - 1);
		enqueue(w, li, d, p, cut, false);
		enqueue(w, li, d, p + cut, len - cut, false);
		return;
	}
	enqueue(w, li, d, p, len, false);
}

/* Tells end s that the connection is gone. */
static void notify_closed(struct sim_world *w, int li, int s)
{
	struct sim_link *l = &w->links[li];
	int end = l->end[s];
	uint64_t id = l->id[s];
	enum sim_link_kind kind = l->kind;
	l->open[s] = false;
	if (kind == SIM_LK_QUORUM)
		sim_node_qclosed(w, end, id);
	else if (kind == SIM_LK_CLIENT && s == 0)
		sim_client_closed(w, end - SIM_NODES_MAX, li);
	else if (kind == SIM_LK_CLIENT)
		sim_node_client_closed(w, end, id);
	maybe_free(w, li);
}

void sim_link_fin(struct sim_world *w, int li, int from)
{
	struct sim_link *l = &w->links[li];
	int d = l->end[0] == from ? 0 : 1;
	if (!l->open[d] || !l->up || l->fin_sent[d])
		return;
	l->fin_sent[d] = true;
	enqueue(w, li, d, NULL, 0, true);
	/* The closer learns at once (the shell calls closed after carrying out a CLOSE). */
	sim_push(w, w->now, SIM_EV_CLOSED, li, d, l->gen, 0);
}

static void schedule_reconnect(struct sim_world *w, int li)
{
	struct sim_link *l = &w->links[li];
	if (l->reconnect_pending)
		return;
	l->reconnect_pending = true;
	sim_push(w, w->now + sim_rng_range(&w->rng, SIM_RECONNECT_MIN_MS, SIM_RECONNECT_MAX_MS), SIM_EV_RECONNECT, li,
		 0, l->gen, 0);
}

void sim_link_reset(struct sim_world *w, int li)
{
	struct sim_link *l = &w->links[li];
	l->gen = new_gen(w);
	dir_clear(&l->dir[0]);
	dir_clear(&l->dir[1]);
	l->dir[0].last_t = l->dir[1].last_t = 0;
	l->up = false;
	if (l->kind == SIM_LK_ELECT) {
		l->open[0] = l->open[1] = false;
		schedule_reconnect(w, li);
		return;
	}
	/* Each end finds out on its own, a little later. */
	for (int s = 0; s < 2; s++)
		if (l->open[s])
			sim_push(w, w->now + sim_rng_range(&w->rng, 0, SIM_CLOSE_NOTICE_MAX_MS), SIM_EV_CLOSED, li, s, l->gen,
				 0);
}

void sim_link_drop_end(struct sim_world *w, int li, int s)
{
	struct sim_link *l = &w->links[li];
	if (l->kind == SIM_LK_NONE)
		return;
	if (l->kind == SIM_LK_ELECT) {
		l->gen = new_gen(w);
		dir_clear(&l->dir[0]);
		dir_clear(&l->dir[1]);
		l->dir[0].last_t = l->dir[1].last_t = 0;
		l->up = false;
		l->open[0] = l->open[1] = false;
		return; /* reconnected when the node starts again */
	}
	l->open[s] = false;
	if (!l->open[1 - s]) {
		link_free(w, li);
		return;
	}
	sim_link_reset(w, li);
}

void sim_net_closed(struct sim_world *w, int li, int s, uint32_t gen)
{
	struct sim_link *l = &w->links[li];
	if (l->kind == SIM_LK_NONE || l->kind == SIM_LK_ELECT || l->gen != gen || !l->open[s])
		return;
	notify_closed(w, li, s);
}

static void deliver(struct sim_world *w, int li, int d, struct sim_msg *m)
{
	struct sim_link *l = &w->links[li];
	int to_s = 1 - d;
	int to = l->end[to_s];
	sim_trace_u64(w, ((uint64_t)li << 32) ^ (uint64_t)m->len ^ ((uint64_t)m->fin << 63));
	sim_trace_u64(w, sim_fnv(m->p, m->len));
	if (!l->open[to_s])
		return;
	if (m->fin) {
		notify_closed(w, li, to_s);
		return;
	}
	switch (l->kind) {
	case SIM_LK_ELECT:
		if (m->len >= 4)
			sim_node_elect_recv(w, to, l->end[d] + 1, m->p + 4, m->len - 4);
		break;
	case SIM_LK_QUORUM:
		sim_node_qbytes(w, to, li, to_s, m->p, m->len);
		break;
	case SIM_LK_CLIENT:
		if (to_s == 0)
			sim_client_bytes(w, to - SIM_NODES_MAX, li, m->p, m->len);
		else
			sim_node_client_bytes(w, to, l->id[1], m->p, m->len);
		break;
	case SIM_LK_NONE:
		break;
	}
}

void sim_net_pump(struct sim_world *w, int li, int d, uint32_t gen)
{
	struct sim_link *l = &w->links[li];
	if (l->kind == SIM_LK_NONE || l->gen != gen)
		return;
	struct sim_msg *m = l->dir[d].head;
	if (!m || m->ready_t > w->now)
		return;
	if (!sim_reachable(w, l->end[d], l->end[1 - d]))
		return; /* stalled: sim_net_resume restarts it */
	l->dir[d].head = m->next;
	if (!l->dir[d].head)
		l->dir[d].tail = NULL;
	if (l->dir[d].head && l->dir[d].head->ready_t <= w->now)
		sim_push(w, w->now, SIM_EV_PUMP, li, d, gen, 0);
	deliver(w, li, d, m);
	free(m);
}

void sim_net_resume(struct sim_world *w)
{
	for (int li = 0; li < SIM_LINKS_MAX; li++) {
		struct sim_link *l = &w->links[li];
		if (l->kind == SIM_LK_NONE)
			continue;
		for (int d = 0; d < 2; d++)
			if (l->dir[d].head)
				sim_push(w, w->now + sim_delay(w), SIM_EV_PUMP, li, d, l->gen, 0);
	}
}

/* ---- election links ---- */

static uint8_t *dup_bytes(const uint8_t *p, size_t len)
{
	uint8_t *c = malloc(len ? len : 1);
	if (!c)
		abort();
	memcpy(c, p, len);
	return c;
}

void sim_elect_send(struct sim_world *w, int from, int64_t to_sid, const uint8_t *p, size_t len)
{
	struct sim_node *n = &w->nodes[from];
	if (to_sid < 1 || to_sid > w->n_nodes || to_sid == n->sid) {
		sim_fail(w, "bad-send", "n%d sent an election frame to sid %lld", n->sid, (long long)to_sid);
		return;
	}
	int to = (int)to_sid - 1;
	if (w->elinks[from][to] < 0) {
		/* FastLeaderElection: an observer notifies only voters and never answers. */
		sim_fail(w, "observer-elect", "observer n%d sent an election notification to observer n%d", n->sid,
			 (int)to_sid);
		return;
	}
	free(n->elect_last[to_sid]);
	n->elect_last[to_sid] = dup_bytes(p, len);
	n->elect_last_len[to_sid] = len;
	int li = w->elinks[from][to];
	struct sim_link *l = &w->links[li];
	if (l->up) {
		sim_link_send(w, li, from, p, len);
		return;
	}
	free(n->elect_queued[to_sid]);
	n->elect_queued[to_sid] = dup_bytes(p, len);
	n->elect_queued_len[to_sid] = len;
	if (w->nodes[to].up)
		schedule_reconnect(w, li);
}

void sim_elect_reconnect(struct sim_world *w, int li, uint32_t gen)
{
	struct sim_link *l = &w->links[li];
	(void)gen; /* any pending attempt will do: at most one is pending */
	l->reconnect_pending = false;
	if (l->up)
		return;
	int a = l->end[0], b = l->end[1];
	if (!w->nodes[a].up || !w->nodes[b].up)
		return; /* the start of the other one reconnects */
	if (!sim_reachable(w, a, b) || !sim_reachable(w, b, a)) {
		schedule_reconnect(w, li);
		return;
	}
	l->up = true;
	l->open[0] = l->open[1] = true;
	l->gen = new_gen(w);
	l->inc[0] = w->nodes[a].inc;
	l->inc[1] = w->nodes[b].inc;
	for (int s = 0; s < 2; s++) {
		struct sim_node *n = &w->nodes[l->end[s]];
		int64_t to_sid = l->end[1 - s] + 1;
		if (n->elect_queued[to_sid]) {
			uint8_t *q = n->elect_queued[to_sid];
			size_t ql = n->elect_queued_len[to_sid];
			n->elect_queued[to_sid] = NULL;
			sim_link_send(w, li, l->end[s], q, ql);
			free(q);
		} else if (n->elect_last[to_sid]) {
			sim_link_send(w, li, l->end[s], n->elect_last[to_sid], n->elect_last_len[to_sid]);
		}
		if (!l->up)
			break; /* the resend itself drew a reset */
	}
}

void sim_elect_node_up(struct sim_world *w, int i)
{
	for (int j = 0; j < w->n_nodes; j++)
		if (j != i && w->nodes[j].up && w->elinks[i][j] >= 0)
			schedule_reconnect(w, w->elinks[i][j]);
}

/* ---- quorum dials ---- */

void sim_dial(struct sim_world *w, int from, uint64_t link_id, int64_t sid)
{
	if (sid < 1 || sid > w->n_nodes) {
		sim_fail(w, "bad-dial", "n%d dialed sid %lld", from + 1, (long long)sid);
		return;
	}
	int to = (int)sid - 1;
	if (w->nodes[to].observer) {
		/* Learners dial the elected leader, and an observer is never elected. */
		sim_fail(w, "observer-dialed", "n%d dialed observer n%d as its leader", from + 1, (int)sid);
		return;
	}
	int64_t t;
	if (w->nodes[to].up && sim_reachable(w, from, to) && sim_reachable(w, to, from))
		t = w->now + 2 * sim_delay(w);
	else if (!w->nodes[to].up && sim_reachable(w, from, to))
		t = w->now + 2 * sim_delay(w); /* refused at once */
	else
		t = w->now + sim_rng_range(&w->rng, SIM_CONNECT_TIMEOUT_MIN_MS, SIM_CONNECT_TIMEOUT_MAX_MS);
	sim_push(w, t, SIM_EV_DIAL, from, (int)sid, w->nodes[from].inc, link_id);
}

void sim_dial_done(struct sim_world *w, int from, uint32_t inc, uint64_t link_id, int64_t sid)
{
	struct sim_node *n = &w->nodes[from];
	if (!n->up || n->inc != inc)
		return;
	int to = (int)sid - 1;
	if (!w->nodes[to].up || !sim_reachable(w, from, to) || !sim_reachable(w, to, from)) {
		sim_logf(w, "dial n%d -> n%d (link 0x%llx) failed", n->sid, (int)sid, (unsigned long long)link_id);
		sim_node_qclosed(w, from, link_id);
		return;
	}
	if (sim_link_find(w, from, link_id) >= 0) {
		sim_fail(w, "bad-dial", "n%d dialed with link id 0x%llx, which is still open", n->sid,
			 (unsigned long long)link_id);
		return;
	}
	uint64_t acc = ZK_LINK_QUORUM_BASE | (SIM_ACCEPT_ID_BASE + ++w->nodes[to].next_accept_n);
	int li = sim_link_new(w, SIM_LK_QUORUM, from, link_id, to, acc);
	if (li < 0)
		return;
	uint32_t gen = w->links[li].gen;
	sim_node_qopen(w, to, acc, true);
	/* The acceptor may have closed it already (then the dialer hears of it right after). */
	if (w->links[li].kind == SIM_LK_QUORUM && w->links[li].gen == gen && w->links[li].open[0])
		sim_node_qopen(w, from, link_id, false);
}
