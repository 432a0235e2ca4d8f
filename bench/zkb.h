/* zkbench: shared types. One worker = one libevent loop driving a share of the sessions; with
 * --workers W > 1 each worker is a forked process (its own fd limit, its own core), and the
 * parent merges the results it gets back through a pipe (struct zkb_result is plain data). */
#ifndef ZKB_H
#define ZKB_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "errors.h"
#include "hist.h"
#include "jute.h"
#include "proto.h"

#define ZKB_HOSTS_MAX 32
#define ZKB_PATH_MAX 512
#define ZKB_DIRS_MAX 32
#define ZKB_ERRCODES_MAX 8
#define ZKB_CPU_PIDS_MAX 16

enum zkb_op {
	ZKB_OP_GET,
	ZKB_OP_EXISTS,
	ZKB_OP_SET,
	ZKB_OP_CREATE,
	ZKB_OP_CREATE_SEQ,
	ZKB_OP_MIXED,
	ZKB_OP_CONNECT_ONLY,
	ZKB_OP_POPULATE,
	ZKB_OP_PROBE,
};

/* What a worker's sessions do once connected. */
enum zkb_mode {
	ZKB_MODE_BENCH,        /* timed workload: warmup, measure, drain */
	ZKB_MODE_HOLD,         /* connect-only: hold the sessions, ping */
	ZKB_MODE_TASKS,        /* a fixed list of creates (setup, populate), as fast as possible */
};

enum zkb_task_kind {
	ZKB_TASKS_SETUP,       /* dirs, then the key nodes (NodeExists -> setData) */
	ZKB_TASKS_POP_PARENTS, /* dirs, then populate's parent nodes */
	ZKB_TASKS_POP_CHILDREN,/* populate's leaf nodes */
};

struct zkb_host {
	struct sockaddr_storage addr;
	socklen_t len;
	bool loopback4; /* 127.0.0.0/8: we may spread source addresses */
};

struct zkb_opts {
	struct zkb_host hosts[ZKB_HOSTS_MAX];
	int nhosts;
	char hosts_str[1024];
	enum zkb_op op;
	int sessions;
	int inflight;
	double read_ratio;
	int value_size;
	double duration_s;
	double warmup_s;
	int keys;
	char prefix[ZKB_PATH_MAX / 2];
	bool json;
	int workers;
	int64_t znodes;
	int per_parent;
	int session_timeout_ms;
	int per_src;            /* sessions per local source address 127.0.0.x */
	int connect_window;     /* handshakes in progress per worker */
	int connect_retries;    /* quick failures (reset, closed) retried this often */
	double handshake_timeout_s;
	double request_timeout_s;
	bool no_close;          /* drop TCP at the end instead of closeSession */
	char ready_file[ZKB_PATH_MAX];
	char path[ZKB_PATH_MAX];/* probe */
	double wait_s;          /* probe */
	uint64_t seed;
	char runid[24];
	double rate;            /* bench ops: requests per second over all sessions, 0 = closed loop */
	int cpu_pids[ZKB_CPU_PIDS_MAX]; /* processes whose CPU time is read over the measured window */
	int ncpu_pids;
	/* derived */
	int ndirs;
	char dirs[ZKB_DIRS_MAX][ZKB_PATH_MAX / 2]; /* prefix and its ancestors, root first */
	int key_digits;
	int64_t parents;
	int parent_digits, child_digits;
};

struct zkb_errcount {
	int32_t code;
	uint64_t n;
};

struct zkb_result {
	/* requests */
	uint64_t reads, writes;        /* completed OK inside the measured window */
	uint64_t errors;               /* replies with err != 0 inside the window (tasks: all) */
	uint64_t exists;               /* tasks: NodeExists (already there) */
	uint64_t tasks_done;
	uint64_t lost;                 /* requests in flight on a session that died */
	uint64_t timeouts;             /* requests older than --request-timeout */
	struct zkb_errcount errcodes[ZKB_ERRCODES_MAX];
	/* sessions */
	uint64_t attempted, established, alive_at_end;
	uint64_t fail_connect;         /* TCP connect refused/failed (incl. no local port) */
	uint64_t fail_handshake;       /* closed or timed out before the ConnectResponse */
	uint64_t fail_expired;         /* ConnectResponse with timeout 0 */
	uint64_t dropped;              /* established, then closed by the server or reset */
	uint64_t skipped;              /* not attempted: gave up after repeated failures */
	uint64_t retries;              /* connect attempts repeated after a quick failure */
	uint64_t pings;
	double connect_s;              /* time to get through the connect phase */
	double window_s;               /* measured window (bench) or task time */
	/* --cpu-pids: utime+stime+cutime+cstime of each pid over the measured window of the worker
	 * that runs session 0 (seconds; -1 when the pid could not be read) */
	bool cpu_valid;
	double cpu_s[ZKB_CPU_PIDS_MAX];
	struct zkb_hist rd, wr;
};

/* A worker's assignment: sessions [first, first + n) of the global numbering, and for task
 * mode the tasks [task_begin, task_end). */
struct zkb_share {
	int first;
	int n;
	int inflight;
	enum zkb_mode mode;
	enum zkb_task_kind kind;
	int64_t task_begin, task_end;
	int ready_fd; /* forked worker: write "ready" here after the connect phase, else -1 */
	int go_fd;    /* forked worker: start measuring when a byte arrives, else -1 */
};

/* worker.c */
int zkb_worker_run(const struct zkb_opts *o, const struct zkb_share *sh, struct zkb_result *res);
/* Called by an in-process worker (no ready_fd) when its connect phase ends. */
void zkb_on_ready(const struct zkb_opts *o, const struct zkb_result *res);

/* wire.c: encoders append one whole frame to w. */
void zkb_enc_connect(struct zk_wbuf *w, int32_t timeout_ms);
void zkb_enc_path_watch(struct zk_wbuf *w, int32_t xid, int32_t op, const char *path);
void zkb_enc_set(struct zk_wbuf *w, int32_t xid, const char *path, const uint8_t *v, int32_t n);
void zkb_enc_create(struct zk_wbuf *w, int32_t xid, const char *path, const uint8_t *v, int32_t n,
		    int32_t flags);
void zkb_enc_header_only(struct zk_wbuf *w, int32_t xid, int32_t op);
const char *zkb_err_name(int32_t err);
void zkb_result_init(struct zkb_result *r);
void zkb_result_merge(struct zkb_result *dst, const struct zkb_result *src);
void zkb_count_err(struct zkb_result *r, int32_t err);
uint64_t zkb_now_ns(void);
/* CPU ticks (utime+stime+cutime+cstime) of pid from /proc/pid/stat, -1 if unreadable. */
int64_t zkb_proc_ticks(int pid);

/* probe.c: wait until ruok says imok and, if path is set, a getData of it succeeds.
 * Returns 0 ok, 3 the node is missing, 1 timed out. */
int zkb_probe(const struct zkb_opts *o);

#endif
