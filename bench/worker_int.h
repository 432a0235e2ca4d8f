/* zkbench worker internals, shared by worker.c (workload, phases, tick) and conn.c
 * (connecting, handshakes, reading replies, session teardown). Not used outside the worker. */
#ifndef ZKB_WORKER_INT_H
#define ZKB_WORKER_INT_H

#include <event2/bufferevent.h>
#include <event2/event.h>

#include "zkb.h"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

#define TICK_MS 250
#define FRAME_BYTES_MAX (ZK_JUTE_MAXBUFFER_DEFAULT + 64)
#define DRAIN_MAX_NS (5ull * 1000000000ull)
#define CLOSE_BASE_NS (5ull * 1000000000ull)
#define CLOSE_MAX_NS (60ull * 1000000000ull)
#define NS_PER_S 1000000000.0
#define RETRY_PAUSE_NS (200ull * 1000000ull)

enum pend_kind { PK_READ, PK_WRITE, PK_TASK, PK_FIXUP, PK_CLOSE };
enum sess_state { SS_IDLE, SS_CONNECTING, SS_HANDSHAKE, SS_READY, SS_CLOSING, SS_DEAD };
enum phase { PH_CONNECT, PH_WAIT_GO, PH_RUN, PH_DRAIN, PH_CLOSE, PH_DONE };

struct pend {
	int32_t xid;
	uint8_t kind;
	int64_t task;
	uint64_t t_ns;
};

struct worker;

struct sess {
	struct worker *w;
	struct bufferevent *bev;
	struct pend *ring;
	uint64_t t_start_ns;  /* connect start, or ping sent */
	uint64_t last_send_ns;
	int gidx;             /* global session number */
	int32_t next_xid;
	int32_t timeout_ms;   /* negotiated */
	uint32_t seq;         /* create names */
	uint16_t head, count, cap;
	uint8_t st;
	uint8_t tries;        /* connect retries used */
	bool ping_out;
};

struct worker {
	const struct zkb_opts *o;
	const struct zkb_share *sh;
	struct zkb_result *res;
	struct event_base *base;
	struct event *tick_ev, *phase_ev, *go_ev;
	struct sess *s;
	int n;
	struct zk_wbuf wb;
	uint8_t *value;
	uint64_t rng;
	enum phase ph;
	bool issuing, measuring;
	uint64_t t_connect0, t_measure0, t_end, t_deadline;
	int next_connect, connecting, consecutive_fail, give_up;
	int *retry_q; /* FIFO of session slots waiting to retry */
	int retry_head, retry_n;
	bool gave_up;
	int ready_n, closing_n;
	uint64_t outstanding;
	int64_t task_next;
	uint64_t task_total, task_finished;
	bool wrote_err;
	/* --rate: this worker's share, requests issued since t_rate0, a 1 ms refill timer */
	double rate_per_ns;
	uint64_t rate_issued, t_rate0;
	struct event *rate_ev;
	int rate_next;
	/* --cpu-pids: ticks at the start of the measured window (worker of session 0 only) */
	bool cpu_sampling;
	int64_t cpu_t0[ZKB_CPU_PIDS_MAX];
};

/* worker.c */
void zkbw_fill(struct sess *s);
void zkbw_check_progress(struct worker *w);
void zkbw_on_reply(struct sess *s, struct pend *p, int32_t err, uint64_t now);
void zkbw_start_run(struct worker *w);
void zkbw_flush_wb(struct sess *s);
int32_t zkbw_take_xid(struct sess *s);
void zkbw_push(struct sess *s, int32_t xid, enum pend_kind kind, int64_t task);

/* conn.c */
void zkbw_start_connects(struct worker *w);
void zkbw_attempt_failed(struct sess *s, uint64_t *counter, bool retryable);
void zkbw_sess_dead(struct sess *s, bool by_us);
void zkbw_drop_bev(struct sess *s);

#endif
