/* zkfailover: how long a ZooKeeper ensemble takes to serve writes again after its leader is
 * killed (bench/README.md, bench/run_quorum.sh).
 *
 *   zkfailover --hosts H:P,H:P,H:P --pids P1,P2,P3 [--via N] [--pre 1] [--timeout 60] ...
 *       One trial. Finds the leader with the srvr four-letter word ("Mode: leader"), opens a
 *       session on a follower (the --follower K-th, or member --via N), writes setData of --path
 *       back to back (one in flight) for --pre seconds, then kill -9's the leader's pid and
 *       keeps writing. The failover time is from the kill to the reply of the first write that
 *       was sent after the kill and succeeded. On a lost connection the session is
 *       re-established (its id, password and last zxid, as a client library does) on the
 *       surviving members, the one it wrote through first, every --retry-ms until one accepts;
 *       there is no client back-off beyond that, so the figure is the servers' own.
 *   zkfailover --hosts ... --status
 *       The role of each member: leader, follower, observer, standalone or down.
 *   zkfailover --hosts ... --wait-whole S [--observers K]
 *       Waits up to S seconds until the ensemble is whole: every member answers srvr, exactly
 *       one says leader and the rest follower, and (if its mntr has the key) the leader counts
 *       members - 1 zk_synced_followers. With --observers K the last K of --hosts must say
 *       observer instead, and the voters are the others.
 *   zkfailover --hosts ... --lag S [--via N] [--watch M,M,...] [--interval-ms 10]
 *       Observer lag: a persistent watch (addWatch) on --path on each watched member (default:
 *       every member whose srvr says observer), then for S seconds a setData of --path through
 *       member --via (default: the leader) every --interval-ms, one at a time. For each write
 *       and watcher, the time from the write's reply (committed and applied by the member
 *       written through) to the watcher's NodeDataChanged notification: commit to visible on
 *       that member; also from the send.
 *   zkfailover --hosts H:P --catchup ZXID [--since UNIXTIME] [--wait S]
 *       Polls the first member's srvr every 10 ms until it serves and its Zxid reaches ZXID;
 *       prints both times, from --since (seconds since the epoch, e.g. when the member was
 *       started) or from our own start.
 *   zkfailover --hosts H:P --4lw CMD
 *       Prints the member's answer to a four-letter word (each member's, with --hosts lists).
 *
 * The --pids are given in the order of --hosts (member i = --hosts entry i); only the leader's
 * pid is ever signalled. Every wait has a bound. Output: one line of key=value on stdout,
 * progress on stderr starting with '#'. Exit 0 ok, 1 failed or timed out, 2 usage. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "zkb.h"

#define MEMBERS_MAX 16
#define FOURLW_TIMEOUT_MS 1000
#define FRAME_MAX (ZK_JUTE_MAXBUFFER_DEFAULT + 64)
#define NS_PER_MS 1000000ull

enum role { R_DOWN, R_LOOKING, R_LEADER, R_FOLLOWER, R_OBSERVER, R_STANDALONE, R_OTHER };
static const char *role_names[] = {"down", "not-serving", "leader", "follower", "observer",
				   "standalone", "other"};

struct member {
	struct zkb_host h;
	char spec[128];
	pid_t pid;
};

static struct {
	struct member m[MEMBERS_MAX];
	int n;
	int npids;
	int via;                 /* 1-based member to write through; 0 = by --follower */
	int follower;            /* 1-based: write through the K-th follower (cyclic) */
	double pre_s;            /* writes before the kill */
	double timeout_s;        /* give up this long after the kill */
	double wait_s;           /* for the leader before the trial; for --wait-whole */
	int retry_ms;            /* pause between reconnect rounds and after an error */
	int session_timeout_ms;
	int handshake_timeout_ms;
	int value_size;
	char path[ZKB_PATH_MAX];
	bool status, wait_whole;
	int observers;           /* --wait-whole / --status: the last K members are observers */
	double lag_s;            /* --lag: seconds of probing, 0 = not this mode */
	int watch[MEMBERS_MAX];  /* --watch: 1-based members */
	int nwatch;
	int interval_ms;
	bool catchup;
	int64_t catchup_zxid;
	double since;            /* --catchup: CLOCK_REALTIME seconds the times count from, 0 = now */
	char fourlw_cmd[8];
} opt = {
	.follower = 1,
	.pre_s = 1,
	.timeout_s = 60,
	.wait_s = 30,
	.retry_ms = 5,
	.session_timeout_ms = 10000,
	.handshake_timeout_ms = 2000,
	.value_size = 100,
	.path = "/zkfailover",
	.interval_ms = 10,
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: zkfailover --hosts H:P,H:P,... --pids P1,P2,... [--follower K]   one failover trial\n"
		"       zkfailover --hosts H:P,H:P,... --status            role of each member\n"
		"       zkfailover --hosts H:P,H:P,... --wait-whole S      wait for one leader + synced followers\n"
		"  --via N                 write through member N (1-based, must not be the leader)\n"
		"  --follower K            else through the K-th follower in --hosts order, counted\n"
		"                          cyclically (1 = the first; run_quorum.sh passes the trial)\n"
		"  --pre S                 seconds of writes before the kill (1)\n"
		"  --timeout S             give up S seconds after the kill (60)\n"
		"  --wait S                wait up to S for a leader before the trial (30)\n"
		"  --retry-ms MS           pause between reconnect rounds and after an error reply (5)\n"
		"  --session-timeout MS    requested session timeout (10000); a reply later than 2/3\n"
		"                          of the negotiated one counts as a lost connection\n"
		"  --handshake-timeout MS  give up on one connect + ConnectResponse after MS (2000)\n"
		"  --value-size B          bytes per setData (100)\n"
		"  --path P                the node written (/zkfailover; created if missing)\n"
		"       zkfailover --hosts ... --wait-whole S --observers K   the last K members observe\n"
		"       zkfailover --hosts ... --lag S [--via N] [--watch M,...] [--interval-ms 10]\n"
		"                          observer lag: write through N (default the leader), time each\n"
		"                          write's reply to the watch notification on each watched member\n"
		"                          (default every observer)\n"
		"       zkfailover --hosts H:P --catchup ZXID [--since T] [--wait S]\n"
		"                          time until the member serves and its srvr Zxid reaches ZXID\n"
		"       zkfailover --hosts H:P --4lw CMD   print a four-letter word's answer\n");
}

static double ms_since(uint64_t t0, uint64_t t1)
{
	return (double)(t1 - t0) / 1e6;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- options ---- */

static int parse_host(const char *spec, struct member *m)
{
	char host[128];
	const char *colon = strrchr(spec, ':');
	if (!colon || colon == spec || (size_t)(colon - spec) >= sizeof(host) || !colon[1])
		return -1;
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = 0;
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
	if (getaddrinfo(host, colon + 1, &hints, &ai) != 0 || !ai)
		return -1;
	memcpy(&m->h.addr, ai->ai_addr, ai->ai_addrlen);
	m->h.len = ai->ai_addrlen;
	freeaddrinfo(ai);
	snprintf(m->spec, sizeof(m->spec), "%s", spec);
	return 0;
}

static int parse_list(const char *list, bool pids)
{
	char buf[2048];
	if (snprintf(buf, sizeof(buf), "%s", list) >= (int)sizeof(buf))
		return -1;
	int n = 0;
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (n == MEMBERS_MAX)
			return -1;
		if (pids) {
			char *end;
			long v = strtol(t, &end, 10);
			if (*end || v <= 1)
				return -1;
			opt.m[n].pid = (pid_t)v;
		} else if (parse_host(t, &opt.m[n]) < 0) {
			return -1;
		}
		n++;
	}
	if (pids)
		opt.npids = n;
	else
		opt.n = n;
	return n ? 0 : -1;
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

enum { O_HOSTS = 256, O_PIDS, O_VIA, O_FOLLOWER, O_PRE, O_TIMEOUT, O_WAIT, O_RETRY, O_STO, O_HTO, O_VSIZE,
       O_PATH, O_STATUS, O_WHOLE, O_OBSERVERS, O_LAG, O_WATCH, O_INTERVAL, O_CATCHUP, O_SINCE, O_4LW,
       O_HELP };

static const struct option long_opts[] = {
	{"hosts", 1, 0, O_HOSTS}, {"pids", 1, 0, O_PIDS}, {"via", 1, 0, O_VIA},
	{"follower", 1, 0, O_FOLLOWER},
	{"pre", 1, 0, O_PRE}, {"timeout", 1, 0, O_TIMEOUT}, {"wait", 1, 0, O_WAIT},
	{"retry-ms", 1, 0, O_RETRY}, {"session-timeout", 1, 0, O_STO},
	{"handshake-timeout", 1, 0, O_HTO}, {"value-size", 1, 0, O_VSIZE}, {"path", 1, 0, O_PATH},
	{"status", 0, 0, O_STATUS}, {"wait-whole", 1, 0, O_WHOLE}, {"observers", 1, 0, O_OBSERVERS},
	{"lag", 1, 0, O_LAG}, {"watch", 1, 0, O_WATCH}, {"interval-ms", 1, 0, O_INTERVAL},
	{"catchup", 1, 0, O_CATCHUP}, {"since", 1, 0, O_SINCE}, {"4lw", 1, 0, O_4LW},
	{"help", 0, 0, O_HELP},
	{0, 0, 0, 0},
};

static int parse_watch(const char *list)
{
	char buf[512];
	if (snprintf(buf, sizeof(buf), "%s", list) >= (int)sizeof(buf))
		return -1;
	opt.nwatch = 0;
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *end;
		long v = strtol(t, &end, 10);
		if (*end || v < 1 || v > MEMBERS_MAX || opt.nwatch == MEMBERS_MAX)
			return -1;
		opt.watch[opt.nwatch++] = (int)v;
	}
	return opt.nwatch ? 0 : -1;
}

static int parse_one(int c, const char *a)
{
	double v;
	char *end;
	switch (c) {
	case O_HOSTS: return parse_list(a, false);
	case O_PIDS: return parse_list(a, true);
	case O_VIA: return num(a, 1, MEMBERS_MAX, &v) ? (opt.via = (int)v, 0) : -1;
	case O_FOLLOWER: return num(a, 1, 1e6, &v) ? (opt.follower = (int)v, 0) : -1;
	case O_PRE: return num(a, 0, 3600, &opt.pre_s) ? 0 : -1;
	case O_TIMEOUT: return num(a, 0.1, 86400, &opt.timeout_s) ? 0 : -1;
	case O_WAIT: return num(a, 0, 86400, &opt.wait_s) ? 0 : -1;
	case O_RETRY: return num(a, 0, 10000, &v) ? (opt.retry_ms = (int)v, 0) : -1;
	case O_STO: return num(a, 100, 3600000, &v) ? (opt.session_timeout_ms = (int)v, 0) : -1;
	case O_HTO: return num(a, 10, 600000, &v) ? (opt.handshake_timeout_ms = (int)v, 0) : -1;
	case O_VSIZE: return num(a, 0, 1000000, &v) ? (opt.value_size = (int)v, 0) : -1;
	case O_PATH:
		return a[0] == '/' && snprintf(opt.path, sizeof(opt.path), "%s", a) < (int)sizeof(opt.path) ? 0 : -1;
	case O_STATUS: opt.status = true; return 0;
	case O_WHOLE: opt.wait_whole = true; return num(a, 0, 86400, &opt.wait_s) ? 0 : -1;
	case O_OBSERVERS: return num(a, 0, MEMBERS_MAX, &v) ? (opt.observers = (int)v, 0) : -1;
	case O_LAG: return num(a, 0.1, 86400, &opt.lag_s) ? 0 : -1;
	case O_WATCH: return parse_watch(a);
	case O_INTERVAL: return num(a, 0, 60000, &v) ? (opt.interval_ms = (int)v, 0) : -1;
	case O_CATCHUP:
		errno = 0;
		opt.catchup_zxid = (int64_t)strtoull(a, &end, 0);
		opt.catchup = true;
		return errno || end == a || *end ? -1 : 0;
	case O_SINCE: return num(a, 0, 1e11, &opt.since) ? 0 : -1;
	case O_4LW:
		return strlen(a) == 4 ? (snprintf(opt.fourlw_cmd, sizeof(opt.fourlw_cmd), "%s", a), 0) : -1;
	default: return -1;
	}
}

/* ---- blocking I/O with deadlines ---- */

static int dial(const struct zkb_host *h, int timeout_ms)
{
	int fd = socket(h->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)); /* bounds connect() too */
	if (connect(fd, (const struct sockaddr *)&h->addr, h->len) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
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

/* Reads exactly n bytes before deadline_ns; -1 on EOF, error or timeout (*timed_out set). */
static int read_until(int fd, uint8_t *p, size_t n, uint64_t deadline_ns, bool *timed_out)
{
	while (n) {
		uint64_t now = zkb_now_ns();
		if (now >= deadline_ns) {
			if (timed_out)
				*timed_out = true;
			return -1;
		}
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int ms = (int)((deadline_ns - now + NS_PER_MS - 1) / NS_PER_MS);
		int pr = poll(&pfd, 1, ms);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0)
			return -1;
		if (pr == 0)
			continue; /* the deadline check above ends it */
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

static uint8_t frame[FRAME_MAX];

static int read_frame(int fd, uint64_t deadline_ns, bool *timed_out)
{
	uint8_t hdr[4];
	if (read_until(fd, hdr, 4, deadline_ns, timed_out))
		return -1;
	uint32_t len = zk_get_be32(hdr);
	if (len > sizeof(frame) || read_until(fd, frame, len, deadline_ns, timed_out))
		return -1;
	return (int)len;
}

/* ---- four-letter words ---- */

static int fourlw(const struct zkb_host *h, const char *cmd, char *out, size_t cap)
{
	int fd = dial(h, FOURLW_TIMEOUT_MS);
	if (fd < 0)
		return -1;
	size_t got = 0;
	uint64_t deadline = zkb_now_ns() + FOURLW_TIMEOUT_MS * NS_PER_MS;
	if (write_all(fd, (const uint8_t *)cmd, strlen(cmd)) == 0) {
		for (;;) { /* the server closes after its answer */
			uint64_t now = zkb_now_ns();
			if (now >= deadline || got + 1 >= cap)
				break;
			struct pollfd pfd = {.fd = fd, .events = POLLIN};
			int pr = poll(&pfd, 1, (int)((deadline - now) / NS_PER_MS) + 1);
			if (pr < 0 && errno == EINTR)
				continue;
			if (pr <= 0)
				break;
			ssize_t r = read(fd, out + got, cap - 1 - got);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			got += (size_t)r;
		}
	}
	close(fd);
	out[got] = 0;
	return got ? 0 : -1;
}

/* The member's role from srvr, and its Zxid line (-1 when absent) if zxid is not NULL. */
static enum role srvr_info(int i, int64_t *zxid)
{
	char buf[4096];
	if (zxid)
		*zxid = -1;
	if (fourlw(&opt.m[i].h, "srvr", buf, sizeof(buf)) < 0)
		return R_DOWN;
	const char *z = strstr(buf, "Zxid: ");
	if (zxid && z)
		*zxid = (int64_t)strtoull(z + 6, NULL, 0);
	const char *mode = strstr(buf, "Mode: ");
	if (!mode)
		return R_LOOKING; /* "This ZooKeeper instance is not currently serving requests" */
	mode += 6;
	if (!strncmp(mode, "leader", 6))
		return R_LEADER;
	if (!strncmp(mode, "follower", 8))
		return R_FOLLOWER;
	if (!strncmp(mode, "observer", 8))
		return R_OBSERVER;
	if (!strncmp(mode, "standalone", 10))
		return R_STANDALONE;
	return R_OTHER;
}

static enum role role_of(int i)
{
	return srvr_info(i, NULL);
}

/* The value of `key` at the start of a line of a mntr answer, or -1 when there is none. */
static int mntr_value(const char *buf, const char *key)
{
	size_t kl = strlen(key);
	for (const char *k = buf; (k = strstr(k, key)) != NULL; k += kl) {
		if ((k != buf && k[-1] != '\n') || (k[kl] != ' ' && k[kl] != '\t'))
			continue;
		k += kl;
		while (*k == ' ' || *k == '\t')
			k++;
		return atoi(k);
	}
	return -1;
}

/* zk_synced_followers and zk_synced_observers from the member's mntr (-1 when absent). */
static int synced_learners(int i, int *observers)
{
	static char buf[65536];
	*observers = -1;
	if (fourlw(&opt.m[i].h, "mntr", buf, sizeof(buf)) < 0)
		return -1;
	*observers = mntr_value(buf, "zk_synced_observers");
	return mntr_value(buf, "zk_synced_followers");
}

/* Roles of all members; returns the leader's index or -1 when there is not exactly one. */
static int roles(enum role *r)
{
	int leader = -1, leaders = 0;
	for (int i = 0; i < opt.n; i++) {
		r[i] = role_of(i);
		if (r[i] == R_LEADER) {
			leader = i;
			leaders++;
		}
	}
	return leaders == 1 ? leader : -1;
}

static void roles_str(const enum role *r, char *out, size_t cap)
{
	size_t len = 0;
	out[0] = 0;
	for (int i = 0; i < opt.n && len < cap; i++)
		len += (size_t)snprintf(out + len, cap - len, "%s%d:%s", i ? "," : "", i + 1, role_names[r[i]]);
}

/* Whole: one leader, every other voter a follower, every observer (the last --observers
 * members) an observer, and the leader's mntr (when it has the key) counting all the
 * followers as synced. */
static bool whole(enum role *r, int *leader_out, int *synced_out, int *synced_obs_out)
{
	int voters = opt.n - opt.observers;
	int leader = roles(r);
	*leader_out = leader;
	*synced_out = *synced_obs_out = -1;
	if (leader < 0 || leader >= voters)
		return false;
	for (int i = 0; i < opt.n; i++)
		if (i != leader && r[i] != (i < voters ? R_FOLLOWER : R_OBSERVER))
			return false;
	int s = synced_learners(leader, synced_obs_out);
	*synced_out = s;
	return s < 0 || s >= voters - 1;
}

static int cmd_status(void)
{
	enum role r[MEMBERS_MAX];
	char buf[512];
	int leader = roles(r);
	roles_str(r, buf, sizeof(buf));
	printf("status roles=%s leader=%d\n", buf, leader + 1);
	return 0;
}

static int cmd_wait_whole(void)
{
	uint64_t t0 = zkb_now_ns(), deadline = t0 + (uint64_t)(opt.wait_s * 1e9);
	enum role r[MEMBERS_MAX];
	int leader, synced, synced_obs;
	char buf[512], obs[64] = "";
	if (opt.observers >= opt.n) {
		fprintf(stderr, "zkfailover: --observers must leave at least one voter\n");
		return 2;
	}
	for (;;) {
		bool ok = whole(r, &leader, &synced, &synced_obs);
		if (ok || zkb_now_ns() >= deadline) {
			roles_str(r, buf, sizeof(buf));
			if (opt.observers)
				snprintf(obs, sizeof(obs), " observers=%d synced_observers=%d", opt.observers, synced_obs);
			printf("whole %s ms=%.1f roles=%s leader=%d synced_followers=%d%s\n", ok ? "ok" : "timeout",
			       ms_since(t0, zkb_now_ns()), buf, leader + 1, synced, obs);
			return ok ? 0 : 1;
		}
		sleep_ms(50);
	}
}

/* ---- one session, one request at a time ---- */

struct session {
	int fd;
	int member;
	int64_t sid;
	uint8_t passwd[16];
	int32_t timeout_ms;     /* negotiated */
	int64_t last_zxid;
	int32_t xid;
};

static void sess_drop(struct session *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

enum hs { HS_OK, HS_FAIL, HS_EXPIRED };

/* Connects to member i and sends a ConnectRequest: a new session, or the existing one (id,
 * password, last zxid seen) as a client library re-establishes it. */
static enum hs sess_connect(struct session *s, int i)
{
	sess_drop(s);
	int fd = dial(&opt.m[i].h, opt.handshake_timeout_ms);
	if (fd < 0)
		return HS_FAIL;
	struct zk_wbuf w;
	zk_wbuf_init(&w);
	size_t f = zk_jw_frame_begin(&w);
	zk_jw_int(&w, 0);
	zk_jw_long(&w, s->last_zxid);
	zk_jw_int(&w, opt.session_timeout_ms);
	zk_jw_long(&w, s->sid);
	zk_jw_buffer(&w, s->passwd, sizeof(s->passwd));
	zk_jw_bool(&w, false);
	zk_jw_frame_end(&w, f);
	int n = -1;
	if (w.err == 0 && write_all(fd, w.p, w.len) == 0)
		n = read_frame(fd, zkb_now_ns() + (uint64_t)opt.handshake_timeout_ms * NS_PER_MS, NULL);
	zk_wbuf_fini(&w);
	if (n < 0) {
		close(fd);
		return HS_FAIL;
	}
	struct zk_rbuf r;
	zk_rbuf_init(&r, frame, (size_t)n, FRAME_MAX);
	(void)zk_jr_int(&r); /* protocolVersion */
	int32_t to = zk_jr_int(&r);
	int64_t sid = zk_jr_long(&r);
	struct zk_bytes pw = zk_jr_buffer(&r);
	if (r.err) {
		close(fd);
		return HS_FAIL;
	}
	if (to <= 0) { /* the session is gone: the next attempt opens a new one */
		close(fd);
		s->sid = 0;
		memset(s->passwd, 0, sizeof(s->passwd));
		return HS_EXPIRED;
	}
	s->fd = fd;
	s->member = i;
	s->sid = sid;
	s->timeout_ms = to;
	memset(s->passwd, 0, sizeof(s->passwd));
	if (pw.len > 0)
		memcpy(s->passwd, pw.p, pw.len < 16 ? (size_t)pw.len : 16);
	return HS_OK;
}

/* Sends the frame in w (xid already in it) and waits for its reply. Returns the reply's err
 * (0 ok), or ZCONNECTIONLOSS when the connection closed or the reply took longer than 2/3 of
 * the session timeout (*timed_out set then); the connection is dropped in both cases. */
static int32_t sess_call(struct session *s, struct zk_wbuf *w, int32_t xid, bool *timed_out)
{
	*timed_out = false;
	if (write_all(s->fd, w->p, w->len) < 0) {
		sess_drop(s);
		return ZCONNECTIONLOSS;
	}
	uint64_t deadline = zkb_now_ns() + (uint64_t)s->timeout_ms * 2 / 3 * NS_PER_MS;
	for (;;) {
		int n = read_frame(s->fd, deadline, timed_out);
		if (n < 16) {
			sess_drop(s);
			return ZCONNECTIONLOSS;
		}
		int32_t rx = (int32_t)zk_get_be32(frame);
		int64_t zxid = (int64_t)zk_get_be64(frame + 4);
		int32_t err = (int32_t)zk_get_be32(frame + 12);
		if (zxid > s->last_zxid)
			s->last_zxid = zxid;
		if (rx == xid)
			return err;
		/* pings (-2) and notifications (-1) are skipped; any other xid is out of order */
		if (rx != -2 && rx != -1) {
			sess_drop(s);
			return ZCONNECTIONLOSS;
		}
	}
}

static uint8_t value[1000000];

static int32_t do_set(struct session *s, bool *timed_out)
{
	struct zk_wbuf w;
	zk_wbuf_init(&w);
	int32_t xid = ++s->xid;
	zkb_enc_set(&w, xid, opt.path, value, opt.value_size);
	int32_t err = w.err ? ZMARSHALLINGERROR : sess_call(s, &w, xid, timed_out);
	zk_wbuf_fini(&w);
	return err;
}

static int32_t do_create(struct session *s)
{
	struct zk_wbuf w;
	bool to;
	zk_wbuf_init(&w);
	int32_t xid = ++s->xid;
	zkb_enc_create(&w, xid, opt.path, value, opt.value_size, 0);
	int32_t err = w.err ? ZMARSHALLINGERROR : sess_call(s, &w, xid, &to);
	zk_wbuf_fini(&w);
	return err;
}

static void sess_close(struct session *s)
{
	if (s->fd < 0)
		return;
	struct zk_wbuf w;
	bool to;
	zk_wbuf_init(&w);
	int32_t xid = ++s->xid;
	zkb_enc_header_only(&w, xid, ZK_OP_CLOSESESSION);
	if (w.err == 0) {
		s->timeout_ms = 3000; /* wait at most 2 s for the close to be acknowledged */
		(void)sess_call(s, &w, xid, &to);
	}
	zk_wbuf_fini(&w);
	sess_drop(s);
}

/* ---- the trial ---- */

static int cmd_trial(void)
{
	if (opt.npids != opt.n) {
		fprintf(stderr, "zkfailover: --pids must list one pid per --hosts entry (%d hosts, %d pids)\n",
			opt.n, opt.npids);
		return 2;
	}
	if (opt.n < 2) {
		fprintf(stderr, "zkfailover: a trial needs at least two members\n");
		return 2;
	}
	for (int i = 0; i < opt.value_size; i++)
		value[i] = (uint8_t)('a' + i % 26);

	/* 1. The leader. */
	enum role r[MEMBERS_MAX];
	char rs[512];
	uint64_t deadline = zkb_now_ns() + (uint64_t)(opt.wait_s * 1e9);
	int leader;
	while ((leader = roles(r)) < 0 && zkb_now_ns() < deadline)
		sleep_ms(50);
	roles_str(r, rs, sizeof(rs));
	if (leader < 0) {
		printf("failover error=no-leader roles=%s\n", rs);
		return 1;
	}
	int via = opt.via ? opt.via - 1 : -1;
	int followers = 0;
	for (int i = 0; i < opt.n; i++)
		followers += r[i] == R_FOLLOWER;
	for (int i = 0, k = 0; via < 0 && followers && i < opt.n; i++)
		if (r[i] == R_FOLLOWER && k++ == (opt.follower - 1) % followers)
			via = i;
	if (via < 0 || via >= opt.n || via == leader) {
		printf("failover error=no-follower-to-write-through roles=%s\n", rs);
		return 1;
	}
	fprintf(stderr, "# roles %s: writing through member %d, will kill member %d (pid %d)\n", rs,
		via + 1, leader + 1, (int)opt.m[leader].pid);

	/* 2. A session on the follower, the node, and steady writes. */
	struct session s = {.fd = -1};
	enum hs h = sess_connect(&s, via);
	if (h != HS_OK) {
		printf("failover error=cannot-connect member=%d\n", via + 1);
		return 1;
	}
	int32_t err = do_create(&s);
	if (err != ZOK && err != ZNODEEXISTS) {
		printf("failover error=create-%s member=%d\n", zkb_err_name(err), via + 1);
		sess_drop(&s);
		return 1;
	}
	struct zkb_hist pre;
	zkb_hist_init(&pre);
	uint64_t t_pre = zkb_now_ns(), pre_end = t_pre + (uint64_t)(opt.pre_s * 1e9);
	do {
		bool to;
		uint64_t t = zkb_now_ns();
		err = do_set(&s, &to);
		if (err != ZOK) {
			printf("failover error=pre-kill-write-%s member=%d\n",
			       err == ZCONNECTIONLOSS ? (to ? "timeout" : "connection-lost") : zkb_err_name(err), via + 1);
			sess_drop(&s);
			return 1;
		}
		zkb_hist_record(&pre, (zkb_now_ns() - t) / 1000);
	} while (zkb_now_ns() < pre_end);

	/* 3. Kill the leader; keep writing until a write sent after the kill succeeds. */
	uint64_t t_kill = zkb_now_ns();
	if (kill(opt.m[leader].pid, SIGKILL) < 0) {
		printf("failover error=kill-%s pid=%d\n", strerror(errno), (int)opt.m[leader].pid);
		sess_drop(&s);
		return 1;
	}
	deadline = t_kill + (uint64_t)(opt.timeout_s * 1e9);
	uint64_t t_reconnect = 0, t_ok = 0, t_lost = 0;
	unsigned long attempts = 0, lost = 0, timeouts = 0, expired = 0, errors = 0;
	int32_t last_err = 0;
	/* One write in flight: the last pre-kill write was answered before the kill, so every
	 * write from here on was sent after it. */
	while (zkb_now_ns() < deadline) {
		if (s.fd < 0) {
			/* one round over the survivors, the member we wrote through first */
			for (int k = 0; k < opt.n && s.fd < 0; k++) {
				int i = (via + k) % opt.n;
				if (i == leader)
					continue;
				attempts++;
				h = sess_connect(&s, i);
				if (h == HS_EXPIRED) {
					expired++;
					h = sess_connect(&s, i); /* a new session right away */
				}
				if (h == HS_OK && !t_reconnect)
					t_reconnect = zkb_now_ns();
			}
			if (s.fd < 0) {
				sleep_ms(opt.retry_ms);
				continue;
			}
		}
		bool to;
		err = do_set(&s, &to);
		if (err == ZOK) {
			t_ok = zkb_now_ns();
			break;
		}
		if (!t_lost)
			t_lost = zkb_now_ns();
		if (err == ZCONNECTIONLOSS) {
			lost++;
			if (to)
				timeouts++;
		} else {
			errors++;
			last_err = err;
			if (err == ZSESSIONEXPIRED) {
				sess_drop(&s);
				s.sid = 0;
				memset(s.passwd, 0, sizeof(s.passwd));
				expired++;
			}
			sleep_ms(opt.retry_ms);
		}
	}

	/* 4. Who leads now (for the record). */
	int new_leader = -1;
	if (t_ok) {
		uint64_t until = zkb_now_ns() + 5000 * NS_PER_MS;
		while (zkb_now_ns() < until) {
			new_leader = -1;
			for (int i = 0; i < opt.n; i++)
				if (i != leader && role_of(i) == R_LEADER)
					new_leader = i;
			if (new_leader >= 0)
				break;
			sleep_ms(20);
		}
	}
	int wrote_via = s.fd >= 0 ? s.member : -1;
	sess_close(&s);

	char common[512];
	snprintf(common, sizeof(common),
		 "killed=%d via=%d pre_writes=%llu pre_p50_us=%llu pre_p99_us=%llu attempts=%lu lost=%lu "
		 "timeouts=%lu expired=%lu errors=%lu last_error=%s",
		 leader + 1, via + 1, (unsigned long long)pre.count,
		 (unsigned long long)zkb_hist_percentile(&pre, 50), (unsigned long long)zkb_hist_percentile(&pre, 99),
		 attempts, lost, timeouts, expired, errors, last_err ? zkb_err_name(last_err) : "-");
	if (!t_ok) {
		printf("failover timeout ms=%.1f %s\n", ms_since(t_kill, zkb_now_ns()), common);
		return 1;
	}
	printf("failover ok ms=%.1f first_loss_ms=%.1f reconnect_ms=%.1f new_leader=%d wrote_via=%d %s\n",
	       ms_since(t_kill, t_ok), t_lost ? ms_since(t_kill, t_lost) : 0.0,
	       t_reconnect ? ms_since(t_kill, t_reconnect) : 0.0, new_leader + 1, wrote_via + 1, common);
	return 0;
}

/* ---- four-letter word, catch-up ---- */

static int cmd_fourlw(void)
{
	static char buf[1 << 20];
	int rc = 0;
	for (int i = 0; i < opt.n; i++) {
		if (opt.n > 1)
			printf("# member %d %s\n", i + 1, opt.m[i].spec);
		if (fourlw(&opt.m[i].h, opt.fourlw_cmd, buf, sizeof(buf)) < 0) {
			rc = 1;
			continue;
		}
		fputs(buf, stdout);
	}
	return rc;
}

static double realtime_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Times count from --since (CLOCK_REALTIME), or from our start. */
static int cmd_catchup(void)
{
	double base = opt.since > 0 ? opt.since : realtime_s();
	uint64_t deadline = zkb_now_ns() + (uint64_t)(opt.wait_s * 1e9);
	double serving_ms = -1;
	int64_t zxid = -1;
	unsigned long polls = 0;
	enum role r = R_DOWN;
	for (;;) {
		polls++;
		r = srvr_info(0, &zxid);
		double ms = (realtime_s() - base) * 1000.0;
		if (r != R_DOWN && r != R_LOOKING && serving_ms < 0)
			serving_ms = ms;
		if (serving_ms >= 0 && zxid >= opt.catchup_zxid) {
			printf("catchup ok ms=%.1f serving_ms=%.1f zxid=0x%" PRIx64 " target=0x%" PRIx64
			       " mode=%s polls=%lu\n", ms, serving_ms, (uint64_t)zxid, (uint64_t)opt.catchup_zxid,
			       role_names[r], polls);
			return 0;
		}
		if (zkb_now_ns() >= deadline) {
			printf("catchup timeout ms=%.1f serving_ms=%.1f zxid=0x%" PRIx64 " target=0x%" PRIx64
			       " mode=%s polls=%lu\n", ms, serving_ms, (uint64_t)(zxid < 0 ? 0 : zxid),
			       (uint64_t)opt.catchup_zxid, role_names[r], polls);
			return 1;
		}
		sleep_ms(10);
	}
}

/* ---- observer lag ---- */

struct watcher {
	struct session s;
	uint64_t t_seen;     /* notification for the current write, 0 = not yet */
	uint64_t last_send;  /* for pings: the session is otherwise idle */
};

/* addWatch(path, PERSISTENT) on the session; returns the reply's err. */
static int32_t add_watch(struct session *s)
{
	struct zk_wbuf w;
	bool to;
	zk_wbuf_init(&w);
	int32_t xid = ++s->xid;
	size_t f = zk_jw_frame_begin(&w);
	zk_jw_int(&w, xid);
	zk_jw_int(&w, ZK_OP_ADDWATCH);
	zk_jw_cstr(&w, opt.path);
	zk_jw_int(&w, 0); /* AddWatchMode.PERSISTENT */
	zk_jw_frame_end(&w, f);
	int32_t err = w.err ? ZMARSHALLINGERROR : sess_call(s, &w, xid, &to);
	zk_wbuf_fini(&w);
	return err;
}

static int send_frame(int fd, struct zk_wbuf *w)
{
	int rc = w->err == 0 ? write_all(fd, w->p, w->len) : -1;
	zk_wbuf_reset(w);
	return rc;
}

/* A notification frame (already read into `frame`, n bytes) is a NodeDataChanged of our path? */
static bool is_our_change(int n)
{
	struct zk_rbuf r;
	zk_rbuf_init(&r, frame + 16, (size_t)n - 16, FRAME_MAX);
	int32_t type = zk_jr_int(&r);
	(void)zk_jr_int(&r);
	struct zk_bytes p = zk_jr_buffer(&r);
	return !r.err && type == ZK_EV_DATA_CHANGED && p.len == (int32_t)strlen(opt.path) &&
	       !memcmp(p.p, opt.path, (size_t)p.len);
}

static int cmd_lag(void)
{
	enum role r[MEMBERS_MAX];
	char rs[512];
	int leader = roles(r);
	roles_str(r, rs, sizeof(rs));
	int via = opt.via ? opt.via - 1 : leader;
	if (via < 0 || via >= opt.n) {
		printf("lag error=no-leader roles=%s\n", rs);
		return 1;
	}
	int idx[MEMBERS_MAX], nw = 0;
	if (opt.nwatch) {
		for (int k = 0; k < opt.nwatch; k++)
			if (opt.watch[k] <= opt.n)
				idx[nw++] = opt.watch[k] - 1;
	} else {
		for (int i = 0; i < opt.n; i++)
			if (r[i] == R_OBSERVER)
				idx[nw++] = i;
	}
	if (nw == 0) {
		printf("lag error=nothing-to-watch roles=%s\n", rs);
		return 1;
	}
	for (int i = 0; i < opt.value_size; i++)
		value[i] = (uint8_t)('a' + i % 26);

	struct session ws = {.fd = -1};
	struct watcher *wt = calloc((size_t)nw, sizeof(*wt));
	int rc = 1;
	if (!wt)
		return 1;
	for (int k = 0; k < nw; k++)
		wt[k].s.fd = -1;
	if (sess_connect(&ws, via) != HS_OK) {
		printf("lag error=cannot-connect member=%d\n", via + 1);
		goto out;
	}
	int32_t err = do_create(&ws);
	if (err != ZOK && err != ZNODEEXISTS) {
		printf("lag error=create-%s member=%d\n", zkb_err_name(err), via + 1);
		goto out;
	}
	for (int k = 0; k < nw; k++) {
		if (sess_connect(&wt[k].s, idx[k]) != HS_OK) {
			printf("lag error=cannot-connect member=%d\n", idx[k] + 1);
			goto out;
		}
		/* a persistent watch does not need the node to exist on this member yet */
		err = add_watch(&wt[k].s);
		if (err != ZOK) {
			printf("lag error=addwatch-%s member=%d\n", zkb_err_name(err), idx[k] + 1);
			goto out;
		}
		wt[k].last_send = zkb_now_ns();
	}
	fprintf(stderr, "# roles %s: writing through member %d, %d watchers\n", rs, via + 1, nw);

	struct zkb_hist ack, lag, vis;
	zkb_hist_init(&ack);
	zkb_hist_init(&lag);
	zkb_hist_init(&vis);
	unsigned long long writes = 0, samples = 0, before_ack = 0, missed = 0, late = 0, errors = 0;
	struct pollfd pfd[MEMBERS_MAX + 1];
	struct zk_wbuf w;
	zk_wbuf_init(&w);
	uint64_t t0 = zkb_now_ns(), end = t0 + (uint64_t)(opt.lag_s * 1e9), next = t0;
	const char *fail = NULL;
	int fail_member = 0;
	while (!fail) {
		uint64_t now = zkb_now_ns();
		if (now >= end)
			break;
		/* idle until the next write is due: answer pings, count stray notifications */
		if (now < next) {
			for (int k = 0; k < nw; k++)
				pfd[k] = (struct pollfd){.fd = wt[k].s.fd, .events = POLLIN};
			int pr = poll(pfd, (nfds_t)nw, (int)((next - now) / NS_PER_MS));
			for (int k = 0; pr > 0 && k < nw; k++) {
				if (!(pfd[k].revents & (POLLIN | POLLHUP | POLLERR)))
					continue;
				int n = read_frame(wt[k].s.fd, zkb_now_ns() + 1000 * NS_PER_MS, NULL);
				if (n < 16) {
					fail = "watcher-connection-lost";
					fail_member = idx[k] + 1;
					break;
				}
				if ((int32_t)zk_get_be32(frame) == ZK_XID_NOTIFICATION)
					late++;
			}
			continue;
		}
		for (int k = 0; k < nw; k++) {
			wt[k].t_seen = 0;
			if (now - wt[k].last_send > (uint64_t)wt[k].s.timeout_ms * NS_PER_MS / 3) {
				zkb_enc_header_only(&w, ZK_XID_PING, ZK_OP_PING);
				if (send_frame(wt[k].s.fd, &w) < 0) {
					fail = "watcher-connection-lost";
					fail_member = idx[k] + 1;
				}
				wt[k].last_send = now;
			}
		}
		int32_t xid = ++ws.xid;
		zkb_enc_set(&w, xid, opt.path, value, opt.value_size);
		uint64_t t_send = zkb_now_ns(), t_ack = 0;
		if (fail || send_frame(ws.fd, &w) < 0) {
			fail = fail ? fail : "connection-lost";
			fail_member = fail_member ? fail_member : via + 1;
			break;
		}
		next = t_send + (uint64_t)opt.interval_ms * NS_PER_MS;
		uint64_t deadline = t_send + 5000 * NS_PER_MS;
		int seen = 0;
		bool acked = false;
		while (!fail && (!acked || seen < nw)) {
			now = zkb_now_ns();
			if (now >= deadline)
				break;
			/* pfd[0] is the session written through while its reply is due, then the
			 * watchers still waiting (map[] gives their index) */
			int np = 0, off = acked ? 0 : 1;
			if (!acked)
				pfd[np++] = (struct pollfd){.fd = ws.fd, .events = POLLIN};
			int map[MEMBERS_MAX];
			for (int k = 0; k < nw; k++)
				if (!wt[k].t_seen) {
					map[np - off] = k;
					pfd[np++] = (struct pollfd){.fd = wt[k].s.fd, .events = POLLIN};
				}
			int pr = poll(pfd, (nfds_t)np, (int)((deadline - now) / NS_PER_MS) + 1);
			if (pr < 0 && errno == EINTR)
				continue;
			if (pr <= 0)
				continue;
			uint64_t t = zkb_now_ns();
			for (int j = 0; j < np && !fail; j++) {
				if (!(pfd[j].revents & (POLLIN | POLLHUP | POLLERR)))
					continue;
				bool is_via = off && j == 0;
				int k = is_via ? -1 : map[j - off];
				int n = read_frame(pfd[j].fd, t + 2000 * NS_PER_MS, NULL);
				if (n < 16) {
					fail = is_via ? "connection-lost" : "watcher-connection-lost";
					fail_member = is_via ? via + 1 : idx[k] + 1;
					break;
				}
				int32_t rx = (int32_t)zk_get_be32(frame);
				if (is_via) {
					if (rx == xid) {
						acked = true;
						t_ack = t;
						if ((int32_t)zk_get_be32(frame + 12) != ZOK)
							errors++;
					}
					continue;
				}
				if (rx == ZK_XID_NOTIFICATION && is_our_change(n)) {
					wt[k].t_seen = t;
					seen++;
				}
			}
		}
		if (!acked) {
			if (!fail) {
				fail = "write-timeout";
				fail_member = via + 1;
			}
			break;
		}
		writes++;
		zkb_hist_record(&ack, (t_ack - t_send) / 1000);
		for (int k = 0; k < nw; k++) {
			if (!wt[k].t_seen) {
				missed++;
				continue;
			}
			samples++;
			zkb_hist_record(&vis, (wt[k].t_seen - t_send) / 1000);
			if (wt[k].t_seen < t_ack) {
				before_ack++;
				zkb_hist_record(&lag, 0);
			} else {
				zkb_hist_record(&lag, (wt[k].t_seen - t_ack) / 1000);
			}
		}
	}
	zk_wbuf_fini(&w);
	char wl[256];
	size_t len = 0;
	wl[0] = 0;
	for (int k = 0; k < nw && len < sizeof(wl); k++)
		len += (size_t)snprintf(wl + len, sizeof(wl) - len, "%s%d", k ? "," : "", idx[k] + 1);
	printf("lag %s writes=%llu samples=%llu watchers=%d before_ack=%llu missed=%llu late=%llu errors=%llu "
	       "time_s=%.2f ack_p50_us=%llu ack_p99_us=%llu lag_p50_us=%llu lag_p90_us=%llu lag_p99_us=%llu "
	       "lag_max_us=%llu visible_p50_us=%llu visible_p99_us=%llu via=%d watch=%s",
	       fail ? "error" : "ok", writes, samples, nw, before_ack, missed, late, errors,
	       ms_since(t0, zkb_now_ns()) / 1000.0,
	       (unsigned long long)zkb_hist_percentile(&ack, 50), (unsigned long long)zkb_hist_percentile(&ack, 99),
	       (unsigned long long)zkb_hist_percentile(&lag, 50), (unsigned long long)zkb_hist_percentile(&lag, 90),
	       (unsigned long long)zkb_hist_percentile(&lag, 99), (unsigned long long)lag.max_us,
	       (unsigned long long)zkb_hist_percentile(&vis, 50), (unsigned long long)zkb_hist_percentile(&vis, 99),
	       via + 1, wl);
	if (fail)
		printf(" error=%s member=%d", fail, fail_member);
	printf("\n");
	rc = fail ? 1 : 0;
out:
	sess_close(&ws);
	for (int k = 0; k < nw; k++)
		sess_close(&wt[k].s);
	free(wt);
	return rc;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	int c;
	while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		if (c == O_HELP) {
			usage(stdout);
			return 0;
		}
		if (c == '?' || parse_one(c, optarg) < 0) {
			for (int i = 0; c != '?' && long_opts[i].name; i++)
				if (long_opts[i].val == c)
					fprintf(stderr, "zkfailover: bad value for --%s: %s\n", long_opts[i].name,
						optarg ? optarg : "");
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc || opt.n == 0) {
		usage(stderr);
		return 2;
	}
	if (opt.fourlw_cmd[0])
		return cmd_fourlw();
	if (opt.status)
		return cmd_status();
	if (opt.wait_whole)
		return cmd_wait_whole();
	if (opt.lag_s > 0)
		return cmd_lag();
	if (opt.catchup)
		return cmd_catchup();
	return cmd_trial();
}
