/* zkbench worker: one libevent loop driving a share of the sessions through four phases.
 *
 *   connect  (conn.c) open TCP connections, at most --connect-window handshakes at a time; each
 *            session sends a ConnectRequest and is READY once its ConnectResponse says
 *            timeout > 0. Quick failures are retried; after a run of final failures the rest
 *            are skipped (the server is full).
 *   run      BENCH: keep `inflight` requests outstanding per session, a new one sent as each
 *            reply arrives; replies within [warmup end, run end) are counted and timed.
 *            HOLD: send nothing but pings. TASKS: take creates off a shared counter until the
 *            list is exhausted and every reply is in.
 *   drain    stop issuing, wait (bounded) for the replies still in flight.
 *   close    closeSession on every live session (or plain TCP close with --no-close), bounded.
 *
 * This file holds what the sessions send (paths, requests), what a reply counts for, the
 * phases and the 250 ms tick, which pings idle sessions (every timeout/3, like the Java client)
 * and enforces the handshake and request timeouts. Every wait is bounded, so the loop ends. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "worker_int.h"

static void end_run(struct worker *w);
static void start_close(struct worker *w);

static uint64_t rnd(struct worker *w)
{
	/* xorshift64* */
	w->rng ^= w->rng >> 12;
	w->rng ^= w->rng << 25;
	w->rng ^= w->rng >> 27;
	return w->rng * 0x2545F4914F6CDD1Dull;
}

static void arm_timer(struct event *ev, uint64_t at_ns)
{
	uint64_t now = zkb_now_ns();
	uint64_t d = at_ns > now ? at_ns - now : 0;
	struct timeval tv = {.tv_sec = (time_t)(d / 1000000000u), .tv_usec = (suseconds_t)(d % 1000000000u / 1000)};
	event_add(ev, &tv);
}

/* ---- paths ---- */

static void key_path(const struct zkb_opts *o, int64_t k, char *buf, size_t n)
{
	snprintf(buf, n, "%s/k%0*lld", o->prefix, o->key_digits, (long long)k);
}

/* Path of task i of kind; returns true if the task is a key node (setup: NodeExists -> set). */
static bool task_path(const struct worker *w, int64_t i, char *buf, size_t n)
{
	const struct zkb_opts *o = w->o;
	if (w->sh->kind != ZKB_TASKS_POP_CHILDREN && i < o->ndirs) {
		snprintf(buf, n, "%s", o->dirs[i]);
		return false;
	}
	if (w->sh->kind == ZKB_TASKS_SETUP) {
		key_path(o, i - o->ndirs, buf, n);
		return true;
	}
	if (w->sh->kind == ZKB_TASKS_POP_PARENTS) {
		snprintf(buf, n, "%s/p%0*lld", o->prefix, o->parent_digits, (long long)(i - o->ndirs));
		return false;
	}
	snprintf(buf, n, "%s/p%0*lld/n%0*lld", o->prefix, o->parent_digits,
		 (long long)(i / o->per_parent), o->child_digits, (long long)(i % o->per_parent));
	return false;
}

/* ---- sending ---- */

void zkbw_flush_wb(struct sess *s)
{
	struct worker *w = s->w;
	if (w->wb.err == 0)
		bufferevent_write(s->bev, w->wb.p, w->wb.len);
	zk_wbuf_reset(&w->wb);
	s->last_send_ns = zkb_now_ns();
}

int32_t zkbw_take_xid(struct sess *s)
{
	int32_t x = s->next_xid;
	s->next_xid = x == INT32_MAX ? 1 : x + 1;
	return x;
}

void zkbw_push(struct sess *s, int32_t xid, enum pend_kind kind, int64_t task)
{
	struct pend *p = &s->ring[(s->head + s->count) % s->cap];
	p->xid = xid;
	p->kind = (uint8_t)kind;
	p->task = task;
	p->t_ns = zkb_now_ns();
	s->count++;
	s->w->outstanding++;
}

static void send_bench_op(struct sess *s)
{
	struct worker *w = s->w;
	const struct zkb_opts *o = w->o;
	char path[ZKB_PATH_MAX];
	int32_t xid = zkbw_take_xid(s);
	enum zkb_op op = o->op;
	if (op == ZKB_OP_MIXED)
		op = (double)(rnd(w) >> 11) / 9007199254740992.0 < o->read_ratio ? ZKB_OP_GET : ZKB_OP_SET;
	if (op == ZKB_OP_CREATE) {
		snprintf(path, sizeof(path), "%s/c/%s-%d-%u", o->prefix, o->runid, s->gidx, s->seq++);
		zkb_enc_create(&w->wb, xid, path, w->value, o->value_size, ZK_CM_PERSISTENT);
	} else if (op == ZKB_OP_CREATE_SEQ) {
		snprintf(path, sizeof(path), "%s/s/n-", o->prefix);
		zkb_enc_create(&w->wb, xid, path, w->value, o->value_size, ZK_CM_PERSISTENT_SEQUENTIAL);
	} else {
		key_path(o, (int64_t)(rnd(w) % (uint64_t)o->keys), path, sizeof(path));
		if (op == ZKB_OP_SET)
			zkb_enc_set(&w->wb, xid, path, w->value, o->value_size);
		else
			zkb_enc_path_watch(&w->wb, xid, op == ZKB_OP_GET ? ZK_OP_GETDATA : ZK_OP_EXISTS, path);
	}
	bool read = op == ZKB_OP_GET || op == ZKB_OP_EXISTS;
	zkbw_push(s, xid, read ? PK_READ : PK_WRITE, -1);
	zkbw_flush_wb(s);
}

static bool send_task(struct sess *s)
{
	struct worker *w = s->w;
	if (w->task_next >= w->sh->task_end)
		return false;
	int64_t i = w->task_next++;
	char path[ZKB_PATH_MAX];
	bool key = task_path(w, i, path, sizeof(path));
	int32_t vlen = (key || w->sh->kind == ZKB_TASKS_POP_CHILDREN) ? w->o->value_size : 0;
	int32_t xid = zkbw_take_xid(s);
	zkb_enc_create(&w->wb, xid, path, w->value, vlen, ZK_CM_PERSISTENT);
	zkbw_push(s, xid, PK_TASK, i);
	zkbw_flush_wb(s);
	return true;
}

/* --rate: may one more request go out now? A token bucket refilled at the worker's share of
 * the rate since the run started; a backlog (the server fell behind) is capped at 50 ms worth
 * so a recovering server does not get a burst. */
static bool rate_take(struct worker *w)
{
	uint64_t now = zkb_now_ns();
	uint64_t allowed = 1 + (uint64_t)((double)(now - w->t_rate0) * w->rate_per_ns);
	uint64_t burst = 1 + (uint64_t)(w->rate_per_ns * 50e6);
	if (allowed > w->rate_issued + burst)
		w->rate_issued = allowed - burst;
	if (w->rate_issued >= allowed)
		return false;
	w->rate_issued++;
	return true;
}

void zkbw_fill(struct sess *s)
{
	struct worker *w = s->w;
	while (w->issuing && s->st == SS_READY && s->count < w->sh->inflight) {
		if (w->sh->mode == ZKB_MODE_BENCH) {
			if (w->rate_per_ns > 0 && !rate_take(w))
				return;
			send_bench_op(s);
		} else if (w->sh->mode != ZKB_MODE_TASKS || !send_task(s)) {
			return;
		}
	}
}

static void rate_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	(void)fd;
	(void)what;
	if (w->ph != PH_RUN || !w->issuing || w->n == 0)
		return;
	/* start at a different session each time, so none is always served last */
	for (int k = 0; k < w->n && w->ph == PH_RUN; k++)
		zkbw_fill(&w->s[(w->rate_next + k) % w->n]);
	w->rate_next = (w->rate_next + 1) % w->n;
}

/* ---- --cpu-pids: CPU time of other processes over the measured window ---- */

static void cpu_begin(struct worker *w)
{
	if (!w->cpu_sampling)
		return;
	for (int i = 0; i < w->o->ncpu_pids; i++)
		w->cpu_t0[i] = zkb_proc_ticks(w->o->cpu_pids[i]);
}

static void cpu_end(struct worker *w)
{
	if (!w->cpu_sampling)
		return;
	double hz = (double)sysconf(_SC_CLK_TCK);
	for (int i = 0; i < w->o->ncpu_pids; i++) {
		int64_t t1 = zkb_proc_ticks(w->o->cpu_pids[i]);
		w->res->cpu_s[i] = t1 >= 0 && w->cpu_t0[i] >= 0 && hz > 0 ? (double)(t1 - w->cpu_t0[i]) / hz : -1;
	}
	w->res->cpu_valid = true;
}

void zkbw_on_reply(struct sess *s, struct pend *p, int32_t err, uint64_t now)
{
	struct worker *w = s->w;
	struct zkb_result *res = w->res;
	uint64_t us = (now - p->t_ns) / 1000u;
	switch (p->kind) {
	case PK_READ:
	case PK_WRITE:
		if (!w->measuring)
			break;
		if (err) {
			res->errors++;
			zkb_count_err(res, err);
		} else if (p->kind == PK_READ) {
			res->reads++;
			zkb_hist_record(&res->rd, us);
		} else {
			res->writes++;
			zkb_hist_record(&res->wr, us);
		}
		break;
	case PK_TASK: {
		char path[ZKB_PATH_MAX];
		bool key = task_path(w, p->task, path, sizeof(path));
		if (err == ZNODEEXISTS && key) {
			/* setup: the key exists from an earlier run; give it this run's value size */
			int32_t xid = zkbw_take_xid(s);
			zkb_enc_set(&w->wb, xid, path, w->value, w->o->value_size);
			zkbw_push(s, xid, PK_FIXUP, p->task);
			zkbw_flush_wb(s);
			return;
		}
		w->task_finished++;
		zkb_hist_record(&res->wr, us);
		if (err == ZNODEEXISTS) {
			res->exists++;
		} else if (err) {
			res->errors++;
			zkb_count_err(res, err);
		} else {
			res->tasks_done++;
		}
		break;
	}
	case PK_FIXUP:
		w->task_finished++;
		if (err) {
			res->errors++;
			zkb_count_err(res, err);
		} else {
			res->tasks_done++;
		}
		break;
	case PK_CLOSE:
		break;
	}
}

/* ---- phases ---- */

void zkbw_check_progress(struct worker *w)
{
	if (w->ph == PH_RUN && w->sh->mode == ZKB_MODE_TASKS &&
	    (w->task_finished >= w->task_total || w->ready_n == 0))
		end_run(w);
	else if (w->ph == PH_RUN && w->ready_n == 0 && w->sh->mode == ZKB_MODE_BENCH)
		end_run(w);
	else if (w->ph == PH_DRAIN && w->outstanding == 0)
		start_close(w);
	else if (w->ph == PH_CLOSE && w->closing_n <= 0) {
		w->ph = PH_DONE;
		event_base_loopbreak(w->base);
	}
}

static void phase_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	(void)fd;
	(void)what;
	uint64_t now = zkb_now_ns();
	if (w->ph == PH_RUN && !w->measuring && w->sh->mode == ZKB_MODE_BENCH && now < w->t_end) {
		w->measuring = true;
		w->t_measure0 = now;
		cpu_begin(w);
		arm_timer(w->phase_ev, w->t_end);
	} else if (w->ph == PH_RUN) {
		end_run(w);
	}
}

void zkbw_start_run(struct worker *w)
{
	const struct zkb_opts *o = w->o;
	uint64_t now = zkb_now_ns();
	w->ph = PH_RUN;
	w->issuing = w->sh->mode != ZKB_MODE_HOLD;
	w->t_measure0 = now;
	if (w->sh->mode == ZKB_MODE_BENCH) {
		uint64_t warm = (uint64_t)(o->warmup_s * NS_PER_S);
		w->t_end = now + warm + (uint64_t)(o->duration_s * NS_PER_S);
		w->measuring = warm == 0;
		if (w->measuring)
			cpu_begin(w);
		arm_timer(w->phase_ev, warm ? now + warm : w->t_end);
		if (w->rate_ev) {
			struct timeval tv = {.tv_sec = 0, .tv_usec = 1000};
			w->t_rate0 = now;
			w->rate_issued = 0;
			event_add(w->rate_ev, &tv);
		}
	} else if (w->sh->mode == ZKB_MODE_HOLD) {
		w->t_end = now + (uint64_t)(o->duration_s * NS_PER_S);
		arm_timer(w->phase_ev, w->t_end);
	} else {
		w->measuring = true;
		w->task_next = w->sh->task_begin;
		w->task_total = (uint64_t)(w->sh->task_end - w->sh->task_begin);
	}
	for (int i = 0; i < w->n && w->ph == PH_RUN; i++)
		zkbw_fill(&w->s[i]);
	zkbw_check_progress(w);
}

static void end_run(struct worker *w)
{
	uint64_t now = zkb_now_ns();
	if (w->ph != PH_RUN)
		return;
	if (w->measuring || w->sh->mode == ZKB_MODE_HOLD)
		w->res->window_s = (double)(now - w->t_measure0) / NS_PER_S;
	if (w->measuring && w->sh->mode == ZKB_MODE_BENCH)
		cpu_end(w);
	if (w->rate_ev)
		event_del(w->rate_ev);
	w->measuring = false;
	w->issuing = false;
	if (w->sh->mode == ZKB_MODE_HOLD)
		w->res->alive_at_end = (uint64_t)w->ready_n;
	w->ph = PH_DRAIN;
	w->t_deadline = now + DRAIN_MAX_NS;
	zkbw_check_progress(w);
}

static void start_close(struct worker *w)
{
	w->ph = PH_CLOSE;
	w->closing_n = 0;
	uint64_t now = zkb_now_ns();
	uint64_t extra = (uint64_t)w->ready_n * 200000ull; /* 0.2 ms per session */
	w->t_deadline = now + (CLOSE_BASE_NS + extra < CLOSE_MAX_NS ? CLOSE_BASE_NS + extra : CLOSE_MAX_NS);
	for (int i = 0; i < w->n; i++) {
		struct sess *s = &w->s[i];
		if (s->st != SS_READY)
			continue;
		if (w->o->no_close) {
			w->ready_n--;
			zkbw_drop_bev(s);
			s->st = SS_DEAD;
			continue;
		}
		int32_t xid = zkbw_take_xid(s);
		zkb_enc_header_only(&w->wb, xid, ZK_OP_CLOSESESSION);
		zkbw_push(s, xid, PK_CLOSE, -1);
		zkbw_flush_wb(s);
		s->st = SS_CLOSING;
		w->closing_n++;
	}
	zkbw_check_progress(w);
}

static void tick_sess(struct worker *w, struct sess *s, uint64_t now)
{
	uint64_t hs_ns = (uint64_t)(w->o->handshake_timeout_s * NS_PER_S);
	uint64_t rq_ns = (uint64_t)(w->o->request_timeout_s * NS_PER_S);
	if (s->st == SS_CONNECTING || s->st == SS_HANDSHAKE) {
		if (now - s->t_start_ns > hs_ns)
			zkbw_attempt_failed(s, s->st == SS_CONNECTING ? &w->res->fail_connect
								 : &w->res->fail_handshake, false);
		return;
	}
	if (s->st != SS_READY)
		return;
	if ((s->count && now - s->ring[s->head].t_ns > rq_ns) ||
	    (s->ping_out && now - s->t_start_ns > rq_ns)) {
		w->res->timeouts++;
		zkbw_sess_dead(s, false);
		return;
	}
	if (!s->ping_out && now - s->last_send_ns > (uint64_t)s->timeout_ms * 1000000ull / 3) {
		zkb_enc_header_only(&w->wb, ZK_XID_PING, ZK_OP_PING);
		zkbw_flush_wb(s);
		s->ping_out = true;
		s->t_start_ns = now;
		w->res->pings++;
	}
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	(void)fd;
	(void)what;
	uint64_t now = zkb_now_ns();
	for (int i = 0; i < w->n; i++)
		tick_sess(w, &w->s[i], now);
	if (w->ph == PH_CONNECT)
		zkbw_start_connects(w);
	if ((w->ph == PH_DRAIN || w->ph == PH_CLOSE) && now > w->t_deadline) {
		if (w->ph == PH_DRAIN) {
			start_close(w);
		} else {
			w->ph = PH_DONE;
			event_base_loopbreak(w->base);
		}
	}
}

static void go_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	char c;
	(void)what;
	if (read(fd, &c, 1) != 1) {
		/* The parent went away: skip the run, close politely. */
		w->ph = PH_RUN;
		end_run(w);
		return;
	}
	zkbw_start_run(w);
}

/* ---- setup and teardown ---- */

static int worker_init(struct worker *w, const struct zkb_opts *o, const struct zkb_share *sh,
		       struct zkb_result *res)
{
	memset(w, 0, sizeof(*w));
	w->o = o;
	w->sh = sh;
	w->res = res;
	w->n = sh->n;
	w->rng = (o->seed ^ ((uint64_t)sh->first * 0x9E3779B97F4A7C15ull)) | 1;
	w->give_up = o->connect_window > 200 ? o->connect_window : 200;
	zk_wbuf_init(&w->wb);
	w->s = calloc((size_t)(w->n ? w->n : 1), sizeof(*w->s));
	w->retry_q = calloc((size_t)(w->n ? w->n : 1), sizeof(*w->retry_q));
	w->value = malloc((size_t)o->value_size + 1);
	w->base = event_base_new();
	if (!w->s || !w->retry_q || !w->value || !w->base)
		return -1;
	for (int i = 0; i < o->value_size; i++)
		w->value[i] = (uint8_t)('a' + i % 26);
	for (int i = 0; i < w->n; i++) {
		w->s[i].w = w;
		w->s[i].gidx = sh->first + i;
	}
	w->tick_ev = event_new(w->base, -1, EV_PERSIST, tick_cb, w);
	w->phase_ev = evtimer_new(w->base, phase_cb, w);
	if (sh->go_fd >= 0)
		w->go_ev = event_new(w->base, sh->go_fd, EV_READ, go_cb, w);
	if (!w->tick_ev || !w->phase_ev || (sh->go_fd >= 0 && !w->go_ev))
		return -1;
	if (o->rate > 0 && sh->mode == ZKB_MODE_BENCH && o->sessions > 0) {
		w->rate_per_ns = o->rate * (double)sh->n / (double)o->sessions / NS_PER_S;
		w->rate_ev = event_new(w->base, -1, EV_PERSIST, rate_cb, w);
		if (!w->rate_ev)
			return -1;
	}
	w->cpu_sampling = sh->mode == ZKB_MODE_BENCH && sh->first == 0 && o->ncpu_pids > 0;
	struct timeval tv = {.tv_sec = 0, .tv_usec = TICK_MS * 1000};
	event_add(w->tick_ev, &tv);
	return 0;
}

static void worker_fini(struct worker *w)
{
	for (int i = 0; w->s && i < w->n; i++)
		zkbw_drop_bev(&w->s[i]);
	if (w->tick_ev)
		event_free(w->tick_ev);
	if (w->phase_ev)
		event_free(w->phase_ev);
	if (w->go_ev)
		event_free(w->go_ev);
	if (w->rate_ev)
		event_free(w->rate_ev);
	if (w->base)
		event_base_free(w->base);
	free(w->s);
	free(w->retry_q);
	free(w->value);
	zk_wbuf_fini(&w->wb);
}

int zkb_worker_run(const struct zkb_opts *o, const struct zkb_share *sh, struct zkb_result *res)
{
	struct worker w;
	zkb_result_init(res);
	int rc = worker_init(&w, o, sh, res);
	if (rc == 0) {
		w.t_connect0 = zkb_now_ns();
		w.ph = PH_CONNECT;
		zkbw_start_connects(&w);
		if (w.ph != PH_DONE)
			event_base_dispatch(w.base);
	}
	worker_fini(&w);
	return rc;
}
