/* zkbench: load generator for ZooKeeper-protocol servers (zkedge, Apache ZooKeeper).
 *
 *   zkbench --hosts 127.0.0.1:2181[,host:port...] --sessions N --inflight K
 *           --op get|exists|set|create|create-seq|mixed|connect-only|populate|probe
 *           [--read-ratio 0.9] [--value-size 100] [--duration 10] [--warmup 2] [--keys 1000]
 *           [--prefix /bench] [--workers W] [--json] ...   (--help for all)
 *
 * Stages: setup (one session creates the prefix and the key nodes), then the run proper, in
 * this process or in W forked workers that connect, report "ready", and start together when
 * the parent says go. Results (counts and latency histograms, plain data) come back through
 * pipes and are merged. One line of results on stdout (or a JSON object with --json); progress
 * lines on stderr start with '#'. See bench/README.md. */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "zkb.h"

#define SESSIONS_MAX 1000000
#define INFLIGHT_MAX 10000
#define WORKERS_MAX 64
#define VALUE_MAX 1000000
#define FD_RESERVE 64
#define SETUP_INFLIGHT 128

static const char *op_names[] = {"get", "exists", "set", "create", "create-seq", "mixed",
				 "connect-only", "populate", "probe"};
static bool quiet_ready;
static bool sessions_given, inflight_given;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: zkbench [options]\n"
		"  --hosts H:P[,H:P...]    servers; sessions are spread round-robin (127.0.0.1:2181)\n"
		"  --op OP                 get exists set create create-seq mixed connect-only populate probe\n"
		"  --sessions N            sessions, each its own TCP connection (1; populate 4)\n"
		"  --inflight K            pipelined requests per session (1; populate 64)\n"
		"  --read-ratio R          mixed: share of gets, the rest sets (0.9)\n"
		"  --value-size B          bytes per value for set, create and the key nodes (100)\n"
		"  --duration S            measured seconds; connect-only: seconds to hold (10)\n"
		"  --warmup S              seconds run before measuring (2)\n"
		"  --keys N                key nodes PREFIX/k0000.. read and written at random (1000)\n"
		"  --prefix P              parent of everything zkbench creates (/bench)\n"
		"  --znodes N              populate: nodes to create, as PREFIX/pXXXX/nXXXX (100000)\n"
		"  --per-parent N          populate: children per parent node (1000)\n"
		"  --workers W, --threads W  event loops, each a forked process with its share of the\n"
		"                          sessions and its own fd limit (1; raised if fds run short)\n"
		"  --session-timeout MS    requested session timeout; pings every third of it (30000)\n"
		"  --per-src N             sessions per source address 127.0.0.x before the next (20000)\n"
		"  --connect-window N      handshakes in progress at once per worker (100)\n"
		"  --connect-retries N     retry a connect that was reset or closed N times (3)\n"
		"  --handshake-timeout S   give up on one connect+handshake after S (10)\n"
		"  --request-timeout S     a reply later than S kills its session (30)\n"
		"  --no-setup              do not create/refresh the key nodes first\n"
		"  --no-close              end with a TCP close instead of closeSession\n"
		"  --ready-file F          write 'established N' to F once all sessions are connected\n"
		"  --path P --wait S       probe: wait up to S for ruok and getData(P) (60)\n"
		"  --seed N                PRNG seed for key choice\n"
		"  --rate R                get/exists/set/mixed/create: at most R requests per second over\n"
		"                          all sessions (open-loop pacing within --inflight), 0 = closed loop\n"
		"  --cpu-pids P[,P...]     print cpu_s=: CPU seconds (utime+stime+cutime+cstime from\n"
		"                          /proc/P/stat) each process used during the measured window\n"
		"  --json                  print the result as one JSON object\n");
}

/* ---- option parsing ---- */

static int parse_host(const char *spec, struct zkb_host *h)
{
	char host[256], port[16];
	const char *colon = spec[0] == '[' ? strstr(spec, "]:") : strrchr(spec, ':');
	if (!colon)
		return -1;
	const char *hs = spec[0] == '[' ? spec + 1 : spec;
	size_t hl = (size_t)(colon - hs);
	const char *ps = colon + (spec[0] == '[' ? 2 : 1);
	if (hl == 0 || hl >= sizeof(host) || strlen(ps) == 0 || strlen(ps) >= sizeof(port))
		return -1;
	memcpy(host, hs, hl);
	host[hl] = 0;
	strcpy(port, ps);
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
	if (getaddrinfo(host, port, &hints, &ai) != 0 || !ai)
		return -1;
	memcpy(&h->addr, ai->ai_addr, ai->ai_addrlen);
	h->len = ai->ai_addrlen;
	h->loopback4 = ai->ai_family == AF_INET &&
		       (ntohl(((struct sockaddr_in *)ai->ai_addr)->sin_addr.s_addr) >> 24) == 127;
	freeaddrinfo(ai);
	return 0;
}

static int parse_hosts(struct zkb_opts *o, const char *list)
{
	char buf[sizeof(o->hosts_str)];
	snprintf(o->hosts_str, sizeof(o->hosts_str), "%s", list);
	snprintf(buf, sizeof(buf), "%s", list);
	o->nhosts = 0;
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (o->nhosts == ZKB_HOSTS_MAX || parse_host(t, &o->hosts[o->nhosts]) < 0) {
			fprintf(stderr, "zkbench: bad or too many hosts at '%s'\n", t);
			return -1;
		}
		o->nhosts++;
	}
	return o->nhosts ? 0 : -1;
}

static int digits(int64_t v)
{
	int d = 1;
	while (v >= 10) {
		v /= 10;
		d++;
	}
	return d < 4 ? 4 : d;
}

/* The prefix's ancestors and itself, root-first, then the dir an op creates under. */
static int derive(struct zkb_opts *o)
{
	size_t pl = strlen(o->prefix);
	if (o->prefix[0] != '/' || pl < 2 || o->prefix[pl - 1] == '/' || strstr(o->prefix, "//")) {
		fprintf(stderr, "zkbench: --prefix must be an absolute path like /bench\n");
		return -1;
	}
	o->ndirs = 0;
	for (size_t i = 1; i <= pl; i++) {
		if (i < pl && o->prefix[i] != '/')
			continue;
		if (o->ndirs == ZKB_DIRS_MAX - 1)
			return -1;
		snprintf(o->dirs[o->ndirs++], sizeof(o->dirs[0]), "%.*s", (int)i, o->prefix);
	}
	if ((o->op == ZKB_OP_CREATE || o->op == ZKB_OP_CREATE_SEQ) &&
	    snprintf(o->dirs[o->ndirs++], sizeof(o->dirs[0]), "%s/%s", o->prefix, o->op == ZKB_OP_CREATE ? "c" : "s") >=
		    (int)sizeof(o->dirs[0]))
		return -1;
	o->key_digits = digits(o->keys - 1);
	o->parents = (o->znodes + o->per_parent - 1) / o->per_parent;
	o->parent_digits = digits(o->parents - 1);
	o->child_digits = digits(o->per_parent - 1);
	return 0;
}

static bool num(const char *s, double lo, double hi, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

enum { O_HOSTS = 256, O_SESSIONS, O_INFLIGHT, O_OP, O_RATIO, O_VSIZE, O_DUR, O_WARM, O_KEYS,
       O_PREFIX, O_JSON, O_WORKERS, O_ZNODES, O_PERPARENT, O_STO, O_PERSRC, O_WINDOW, O_HTO, O_RTO,
       O_NOSETUP, O_NOCLOSE, O_READY, O_PATH, O_WAIT, O_SEED, O_RETRIES, O_RATE, O_CPUPIDS, O_HELP };

static const struct option long_opts[] = {
	{"hosts", 1, 0, O_HOSTS}, {"sessions", 1, 0, O_SESSIONS}, {"inflight", 1, 0, O_INFLIGHT},
	{"op", 1, 0, O_OP}, {"read-ratio", 1, 0, O_RATIO}, {"value-size", 1, 0, O_VSIZE},
	{"duration", 1, 0, O_DUR}, {"warmup", 1, 0, O_WARM}, {"keys", 1, 0, O_KEYS},
	{"prefix", 1, 0, O_PREFIX}, {"json", 0, 0, O_JSON}, {"workers", 1, 0, O_WORKERS},
	{"threads", 1, 0, O_WORKERS}, {"znodes", 1, 0, O_ZNODES}, {"per-parent", 1, 0, O_PERPARENT},
	{"session-timeout", 1, 0, O_STO}, {"per-src", 1, 0, O_PERSRC},
	{"connect-window", 1, 0, O_WINDOW}, {"handshake-timeout", 1, 0, O_HTO},
	{"request-timeout", 1, 0, O_RTO}, {"no-setup", 0, 0, O_NOSETUP}, {"no-close", 0, 0, O_NOCLOSE},
	{"ready-file", 1, 0, O_READY}, {"path", 1, 0, O_PATH}, {"wait", 1, 0, O_WAIT},
	{"seed", 1, 0, O_SEED}, {"connect-retries", 1, 0, O_RETRIES}, {"rate", 1, 0, O_RATE},
	{"cpu-pids", 1, 0, O_CPUPIDS}, {"help", 0, 0, O_HELP},
	{0, 0, 0, 0},
};

static void defaults(struct zkb_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->sessions = 1;
	o->inflight = 1;
	o->read_ratio = 0.9;
	o->value_size = 100;
	o->duration_s = 10;
	o->warmup_s = 2;
	o->keys = 1000;
	snprintf(o->prefix, sizeof(o->prefix), "/bench");
	o->workers = 1;
	o->znodes = 100000;
	o->per_parent = 1000;
	o->session_timeout_ms = 30000;
	o->per_src = 20000;
	o->connect_window = 100;
	o->connect_retries = 3;
	o->handshake_timeout_s = 10;
	o->request_timeout_s = 30;
	o->wait_s = 60;
	o->seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	snprintf(o->runid, sizeof(o->runid), "%lx%x", (unsigned long)time(NULL), (unsigned)getpid());
}

static int set_op(struct zkb_opts *o, const char *s)
{
	for (size_t i = 0; i < sizeof(op_names) / sizeof(op_names[0]); i++) {
		if (!strcmp(s, op_names[i])) {
			o->op = (enum zkb_op)i;
			return 0;
		}
	}
	return -1;
}

static int parse_pids(struct zkb_opts *o, const char *list)
{
	char buf[512];
	if (snprintf(buf, sizeof(buf), "%s", list) >= (int)sizeof(buf))
		return -1;
	o->ncpu_pids = 0;
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *end;
		long v = strtol(t, &end, 10);
		if (*end || v <= 0 || o->ncpu_pids == ZKB_CPU_PIDS_MAX)
			return -1;
		o->cpu_pids[o->ncpu_pids++] = (int)v;
	}
	return o->ncpu_pids ? 0 : -1;
}

static int parse_one(struct zkb_opts *o, int c, const char *a, bool *no_setup)
{
	double v = 0;
	switch (c) {
	case O_HOSTS: return parse_hosts(o, a);
	case O_OP: return set_op(o, a);
	case O_SESSIONS: sessions_given = true; return num(a, 0, SESSIONS_MAX, &v) ? (o->sessions = (int)v, 0) : -1;
	case O_INFLIGHT: inflight_given = true; return num(a, 1, INFLIGHT_MAX, &v) ? (o->inflight = (int)v, 0) : -1;
	case O_RATIO: return num(a, 0, 1, &o->read_ratio) ? 0 : -1;
	case O_VSIZE: return num(a, 0, VALUE_MAX, &v) ? (o->value_size = (int)v, 0) : -1;
	case O_DUR: return num(a, 0.1, 86400, &o->duration_s) ? 0 : -1;
	case O_WARM: return num(a, 0, 3600, &o->warmup_s) ? 0 : -1;
	case O_KEYS: return num(a, 1, 100000000, &v) ? (o->keys = (int)v, 0) : -1;
	case O_PREFIX: return snprintf(o->prefix, sizeof(o->prefix), "%s", a) < (int)sizeof(o->prefix) ? 0 : -1;
	case O_JSON: o->json = true; return 0;
	case O_WORKERS: return num(a, 1, WORKERS_MAX, &v) ? (o->workers = (int)v, 0) : -1;
	case O_ZNODES: return num(a, 1, 1e9, &v) ? (o->znodes = (int64_t)v, 0) : -1;
	case O_PERPARENT: return num(a, 1, 1e6, &v) ? (o->per_parent = (int)v, 0) : -1;
	case O_STO: return num(a, 100, 3600000, &v) ? (o->session_timeout_ms = (int)v, 0) : -1;
	case O_PERSRC: return num(a, 0, 60000, &v) ? (o->per_src = (int)v, 0) : -1;
	case O_WINDOW: return num(a, 1, 100000, &v) ? (o->connect_window = (int)v, 0) : -1;
	case O_HTO: return num(a, 0.1, 3600, &o->handshake_timeout_s) ? 0 : -1;
	case O_RTO: return num(a, 0.1, 3600, &o->request_timeout_s) ? 0 : -1;
	case O_NOSETUP: *no_setup = true; return 0;
	case O_NOCLOSE: o->no_close = true; return 0;
	case O_READY: return snprintf(o->ready_file, sizeof(o->ready_file), "%s", a) < (int)sizeof(o->ready_file) ? 0 : -1;
	case O_PATH: return snprintf(o->path, sizeof(o->path), "%s", a) < (int)sizeof(o->path) ? 0 : -1;
	case O_WAIT: return num(a, 0, 86400, &o->wait_s) ? 0 : -1;
	case O_RETRIES: return num(a, 0, 100, &v) ? (o->connect_retries = (int)v, 0) : -1;
	case O_SEED: return num(a, 0, 1.8e19, &v) ? (o->seed = (uint64_t)v, 0) : -1;
	case O_RATE: return num(a, 0, 1e9, &o->rate) ? 0 : -1;
	case O_CPUPIDS: return parse_pids(o, a);
	default: return -1;
	}
}

static int parse_args(struct zkb_opts *o, int argc, char **argv, bool *no_setup)
{
	defaults(o);
	if (parse_hosts(o, "127.0.0.1:2181") < 0)
		return -1;
	int c;
	while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		if (c == O_HELP) {
			usage(stdout);
			exit(0);
		}
		if (c == '?' || parse_one(o, c, optarg, no_setup) < 0) {
			for (int i = 0; c != '?' && long_opts[i].name; i++) {
				if (long_opts[i].val == c) {
					fprintf(stderr, "zkbench: bad value for --%s: %s\n", long_opts[i].name,
						optarg ? optarg : "");
					break;
				}
			}
			fprintf(stderr, "zkbench: see zkbench --help\n");
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "zkbench: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (o->op == ZKB_OP_POPULATE) {
		if (!sessions_given)
			o->sessions = 4;
		if (!inflight_given)
			o->inflight = 64;
	}
	return derive(o);
}

/* ---- running stages ---- */

static void raise_nofile(struct zkb_opts *o)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	getrlimit(RLIMIT_NOFILE, &rl);
	long budget = (long)rl.rlim_cur - FD_RESERVE;
	if (budget < 16)
		budget = 16;
	int need = (int)((o->sessions + budget - 1) / budget);
	if (need > o->workers && need <= WORKERS_MAX) {
		fprintf(stderr, "# RLIMIT_NOFILE is %ld: using %d workers (processes) for %d sessions\n",
			(long)rl.rlim_cur, need, o->sessions);
		o->workers = need;
	}
}

void zkb_on_ready(const struct zkb_opts *o, const struct zkb_result *res)
{
	if (quiet_ready)
		return;
	fprintf(stderr, "# connected: established=%llu of attempted=%llu (sessions=%d) in %.2fs\n",
		(unsigned long long)res->established, (unsigned long long)res->attempted, o->sessions,
		res->connect_s);
	if (o->ready_file[0]) {
		FILE *f = fopen(o->ready_file, "w");
		if (f) {
			fprintf(f, "established %llu\n", (unsigned long long)res->established);
			fclose(f);
		}
	}
}

static int read_full(int fd, void *buf, size_t n)
{
	uint8_t *p = buf;
	while (n) {
		ssize_t r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int write_full(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	while (n) {
		ssize_t r = write(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

struct child {
	pid_t pid;
	int res_fd; /* read: ready message, then the result */
	int go_fd;  /* write: one byte = go */
};

static pid_t spawn(const struct zkb_opts *o, struct zkb_share sh, struct child *kids, int k)
{
	int rp[2], gp[2];
	if (pipe(rp) < 0)
		return -1;
	if (pipe(gp) < 0) {
		close(rp[0]);
		close(rp[1]);
		return -1;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		for (int j = 0; j < k; j++) {
			close(kids[j].res_fd);
			close(kids[j].go_fd);
		}
		close(rp[0]);
		close(gp[1]);
		sh.ready_fd = rp[1];
		sh.go_fd = gp[0];
		struct zkb_result *res = malloc(sizeof(*res));
		int rc = res ? zkb_worker_run(o, &sh, res) : -1;
		if (rc == 0)
			rc = write_full(rp[1], res, sizeof(*res));
		_exit(rc == 0 ? 0 : 1);
	}
	close(rp[1]);
	close(gp[0]);
	kids[k].pid = pid;
	kids[k].res_fd = rp[0];
	kids[k].go_fd = gp[1];
	if (pid < 0) {
		close(rp[0]);
		close(gp[1]);
	}
	return pid;
}

/* Runs W forked workers with sessions and tasks split evenly; merges into *out. */
static int run_forked(const struct zkb_opts *o, const struct zkb_share *tmpl, int nsess,
		      struct zkb_result *out)
{
	struct child kids[WORKERS_MAX];
	int w = o->workers;
	int64_t tasks = tmpl->task_end - tmpl->task_begin;
	zkb_result_init(out);
	for (int k = 0; k < w; k++) {
		struct zkb_share sh = *tmpl;
		sh.first = (int)((int64_t)nsess * k / w);
		sh.n = (int)((int64_t)nsess * (k + 1) / w) - sh.first;
		sh.task_begin = tmpl->task_begin + tasks * k / w;
		sh.task_end = tmpl->task_begin + tasks * (k + 1) / w;
		if (spawn(o, sh, kids, k) < 0) {
			fprintf(stderr, "zkbench: fork: %s\n", strerror(errno));
			w = k;
			break;
		}
	}
	struct zkb_result ready;
	zkb_result_init(&ready);
	bool ok[WORKERS_MAX];
	for (int k = 0; k < w; k++) {
		uint64_t msg[3];
		ok[k] = read_full(kids[k].res_fd, msg, sizeof(msg)) == 0;
		if (ok[k]) {
			ready.established += msg[0];
			ready.attempted += msg[1];
			if ((double)msg[2] / 1000.0 > ready.connect_s)
				ready.connect_s = (double)msg[2] / 1000.0;
		}
	}
	zkb_on_ready(o, &ready);
	for (int k = 0; k < w; k++) {
		if (ok[k] && write_full(kids[k].go_fd, "g", 1) < 0)
			ok[k] = false;
	}
	struct zkb_result *r = malloc(sizeof(*r));
	int rc = r ? 0 : -1;
	for (int k = 0; k < w; k++) {
		if (r && ok[k] && read_full(kids[k].res_fd, r, sizeof(*r)) == 0)
			zkb_result_merge(out, r);
		else
			rc = -1;
		close(kids[k].res_fd);
		close(kids[k].go_fd);
		int st;
		while (waitpid(kids[k].pid, &st, 0) < 0 && errno == EINTR)
			;
	}
	free(r);
	return rc;
}

static int run_stage(const struct zkb_opts *o, const struct zkb_share *sh, int nsess, bool forked,
		     struct zkb_result *out)
{
	if (forked && o->workers > 1)
		return run_forked(o, sh, nsess, out);
	struct zkb_share one = *sh;
	one.first = 0;
	one.n = nsess;
	one.ready_fd = one.go_fd = -1;
	return zkb_worker_run(o, &one, out);
}

/* One session creates the dirs (and keys, or populate's parents), NodeExists tolerated. */
static int run_tasks_single(const struct zkb_opts *o, enum zkb_task_kind kind, int64_t ntasks,
			    const char *what)
{
	struct zkb_share sh = {.n = 1, .inflight = SETUP_INFLIGHT, .mode = ZKB_MODE_TASKS,
			       .kind = kind, .task_end = ntasks, .ready_fd = -1, .go_fd = -1};
	struct zkb_result *r = malloc(sizeof(*r));
	quiet_ready = true;
	int rc = r ? run_stage(o, &sh, 1, false, r) : -1;
	quiet_ready = false;
	if (rc == 0 && r->established == 0) {
		fprintf(stderr, "zkbench: %s: could not open a session to %s (connect failures %llu, "
				"handshake failures %llu, expired %llu)\n", what, o->hosts_str,
			(unsigned long long)r->fail_connect, (unsigned long long)r->fail_handshake,
			(unsigned long long)r->fail_expired);
		rc = -1;
	} else if (rc == 0 && (r->errors || r->lost ||
			r->tasks_done + r->exists < (uint64_t)ntasks)) {
		fprintf(stderr, "zkbench: %s failed: established=%llu done=%llu exists=%llu errors=%llu "
				"lost=%llu of %lld (first error %s)\n", what,
			(unsigned long long)r->established, (unsigned long long)r->tasks_done,
			(unsigned long long)r->exists, (unsigned long long)r->errors,
			(unsigned long long)r->lost, (long long)ntasks,
			r->errcodes[0].n ? zkb_err_name(r->errcodes[0].code) : "none");
		rc = -1;
	} else if (rc == 0) {
		fprintf(stderr, "# %s: %lld nodes ready (%llu created or updated, %llu existed) in %.2fs\n",
			what, (long long)ntasks, (unsigned long long)r->tasks_done,
			(unsigned long long)r->exists, r->window_s);
	}
	free(r);
	return rc;
}

/* ---- output ---- */

static void print_errcodes(const struct zkb_result *r, bool json)
{
	for (int i = 0; i < ZKB_ERRCODES_MAX && r->errcodes[i].n; i++) {
		if (json)
			printf("%s\"%d\":%llu", i ? "," : "", r->errcodes[i].code,
			       (unsigned long long)r->errcodes[i].n);
		else
			printf("%s%s:%llu", i ? "," : "", zkb_err_name(r->errcodes[i].code),
			       (unsigned long long)r->errcodes[i].n);
	}
}

static void print_cpu(const struct zkb_opts *o, const struct zkb_result *r, bool json)
{
	if (!o->ncpu_pids || !r->cpu_valid)
		return;
	printf(json ? ",\"cpu_s\":[" : " cpu_s=");
	for (int i = 0; i < o->ncpu_pids; i++)
		printf("%s%.3f", i ? "," : "", r->cpu_s[i]);
	if (json)
		printf("]");
}

static void print_lat(const char *name, const struct zkb_hist *h, bool json)
{
	if (json) {
		printf(",\"%s\":{\"count\":%llu,\"mean\":%.1f,\"p50\":%llu,\"p90\":%llu,\"p99\":%llu,"
		       "\"p999\":%llu,\"max\":%llu}", name, (unsigned long long)h->count, zkb_hist_mean(h),
		       (unsigned long long)zkb_hist_percentile(h, 50), (unsigned long long)zkb_hist_percentile(h, 90),
		       (unsigned long long)zkb_hist_percentile(h, 99), (unsigned long long)zkb_hist_percentile(h, 99.9),
		       (unsigned long long)h->max_us);
	} else {
		printf(" p50_us=%llu p90_us=%llu p99_us=%llu p999_us=%llu max_us=%llu mean_us=%.1f",
		       (unsigned long long)zkb_hist_percentile(h, 50), (unsigned long long)zkb_hist_percentile(h, 90),
		       (unsigned long long)zkb_hist_percentile(h, 99), (unsigned long long)zkb_hist_percentile(h, 99.9),
		       (unsigned long long)h->max_us, zkb_hist_mean(h));
	}
}

#define U(x) ((unsigned long long)(x))

static void print_result(const struct zkb_opts *o, const struct zkb_result *r)
{
	bool j = o->json;
	struct zkb_hist all = r->rd;
	zkb_hist_merge(&all, &r->wr);
	uint64_t ops = o->op == ZKB_OP_POPULATE ? r->tasks_done + r->exists + r->errors : r->reads + r->writes;
	double rate = r->window_s > 0 ? (double)ops / r->window_s : 0;
	if (j)
		printf("{\"op\":\"%s\",\"hosts\":\"%s\",\"sessions\":%d,\"inflight\":%d,\"value_size\":%d,"
		       "\"workers\":%d", op_names[o->op], o->hosts_str, o->sessions, o->inflight,
		       o->value_size, o->workers);
	else
		printf("op=%s sessions=%d inflight=%d value=%d workers=%d", op_names[o->op], o->sessions,
		       o->inflight, o->value_size, o->workers);
	if (o->op == ZKB_OP_MIXED)
		printf(j ? ",\"read_ratio\":%.3f" : " read_ratio=%.3f", o->read_ratio);
	if (o->op == ZKB_OP_POPULATE)
		printf(j ? ",\"znodes\":%lld,\"created\":%llu,\"existed\":%llu" : " znodes=%lld created=%llu existed=%llu",
		       (long long)o->znodes, U(r->tasks_done), U(r->exists));
	printf(j ? ",\"attempted\":%llu,\"established\":%llu,\"connect_s\":%.3f,\"time_s\":%.3f"
		 : " attempted=%llu established=%llu connect_s=%.2f time_s=%.2f",
	       U(r->attempted), U(r->established), r->connect_s, r->window_s);
	if (o->op == ZKB_OP_CONNECT_ONLY) {
		printf(j ? ",\"alive_at_end\":%llu,\"fail_connect\":%llu,\"fail_handshake\":%llu,\"expired\":%llu,"
			   "\"dropped\":%llu,\"skipped\":%llu,\"retries\":%llu,\"pings\":%llu}\n"
			 : " alive_at_end=%llu fail_connect=%llu fail_handshake=%llu expired=%llu dropped=%llu"
			   " skipped=%llu retries=%llu pings=%llu\n",
		       U(r->alive_at_end), U(r->fail_connect), U(r->fail_handshake), U(r->fail_expired),
		       U(r->dropped), U(r->skipped), U(r->retries), U(r->pings));
		return;
	}
	if (o->rate > 0)
		printf(j ? ",\"rate\":%.1f" : " rate=%.1f", o->rate);
	printf(j ? ",\"ops\":%llu,\"ops_per_s\":%.1f,\"reads\":%llu,\"writes\":%llu,\"errors\":%llu,"
		   "\"lost\":%llu,\"timeouts\":%llu,\"dropped\":%llu,\"errcodes\":{"
		 : " ops=%llu ops_s=%.1f reads=%llu writes=%llu errors=%llu lost=%llu timeouts=%llu dropped=%llu",
	       U(ops), rate, U(r->reads), U(r->writes), U(r->errors), U(r->lost), U(r->timeouts), U(r->dropped));
	if (j) {
		print_errcodes(r, true);
		printf("}");
		print_cpu(o, r, true);
		print_lat("lat_us", &all, true);
		print_lat("read_lat_us", &r->rd, true);
		print_lat("write_lat_us", &r->wr, true);
		printf("}\n");
		return;
	}
	if (r->errors) {
		printf(" errcodes=");
		print_errcodes(r, false);
	}
	print_lat("", &all, false);
	print_cpu(o, r, false);
	printf("\n");
}

/* Everything after option parsing: setup, the run, the result line. Returns the exit code. */
static int run(struct zkb_opts *o, bool no_setup)
{
	raise_nofile(o);
	bool bench = o->op <= ZKB_OP_MIXED;
	bool keyed = o->op == ZKB_OP_GET || o->op == ZKB_OP_EXISTS || o->op == ZKB_OP_SET || o->op == ZKB_OP_MIXED;
	if (bench && !no_setup &&
	    run_tasks_single(o, ZKB_TASKS_SETUP, o->ndirs + (keyed ? o->keys : 0), "setup") < 0)
		return 1;
	struct zkb_share sh = {.inflight = o->inflight, .ready_fd = -1, .go_fd = -1};
	if (o->op == ZKB_OP_POPULATE) {
		if (run_tasks_single(o, ZKB_TASKS_POP_PARENTS, o->ndirs + o->parents, "populate parents") < 0)
			return 1;
		sh.mode = ZKB_MODE_TASKS;
		sh.kind = ZKB_TASKS_POP_CHILDREN;
		sh.task_end = o->znodes;
	} else {
		sh.mode = o->op == ZKB_OP_CONNECT_ONLY ? ZKB_MODE_HOLD : ZKB_MODE_BENCH;
	}
	struct zkb_result *r = malloc(sizeof(*r));
	if (!r || run_stage(o, &sh, o->sessions, true, r) < 0) {
		fprintf(stderr, "zkbench: run failed (see above)\n");
		free(r);
		return 1;
	}
	print_result(o, r);
	/* 1: nothing connected, or every session of a timed run was dropped before its end */
	int rc = r->established == 0 || (bench && r->dropped == r->established) ? 1 : 0;
	free(r);
	return rc;
}

int main(int argc, char **argv)
{
	struct zkb_opts *o = calloc(1, sizeof(*o));
	bool no_setup = false;
	int rc = 2;
	if (o && parse_args(o, argc, argv, &no_setup) == 0) {
		signal(SIGPIPE, SIG_IGN);
		rc = o->op == ZKB_OP_PROBE ? zkb_probe(o) : run(o, no_setup);
	}
	free(o);
	return rc;
}
