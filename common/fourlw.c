/* Four-letter words: detection, the whitelist and the answers, in ZooKeeper 3.8's text formats
 * (protocol.md section 3.2) so that `echo srvr | nc` output parses the same way. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "proto.h"
#include "server_int.h"

#define ZK_VERSION_STRING "3.8.0-zkedge, built on 2026-11-23 00:00 UTC"

static const char *words[] = {"conf", "cons", "crst", "dirs", "dump", "envi", "gtmk", "ruok", "stmk", "srst",
			      "srvr", "stat", "wchc", "wchp", "wchs", "mntr", "isro", "hash", NULL};

bool zk_server_is_fourlw(const uint8_t first4[4])
{
	for (int i = 0; words[i]; i++)
		if (!memcmp(first4, words[i], 4))
			return true;
	return false;
}

static void put(struct zk_wbuf *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#include <stdarg.h>
static void put(struct zk_wbuf *w, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0)
		zk_jw_raw(w, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

/* Java's Double.toString of a value rounded half-up to 4 decimals: "0.0", "2.0435", "1.5". */
static void fmt_avg(char *out, size_t n, int64_t sum, int64_t cnt)
{
	double avg = cnt ? (double)sum / (double)cnt : 0.0;
	snprintf(out, n, "%.4f", avg + 1e-9);
	size_t l = strlen(out);
	while (l > 0 && out[l - 1] == '0' && l >= 2 && out[l - 2] != '.')
		out[--l] = 0;
}

static void latency_line(struct zk_server *s, struct zk_wbuf *w)
{
	char avg[32];
	fmt_avg(avg, sizeof(avg), s->st.lat_sum, s->st.lat_cnt);
	put(w, "Latency min/avg/max: %" PRId64 "/%s/%" PRId64 "\n", s->st.lat_min < 0 ? 0 : s->st.lat_min, avg,
	    s->st.lat_max);
}

/* ServerStats.getServerState: a read-only server says so whatever the peer is doing. */
static const char *mode_name(struct zk_server *s)
{
	if (s->mode == ZK_MODE_READONLY)
		return "read-only";
	return s->repl.mode_name ? s->repl.mode_name(s->repl.ctx) : "standalone";
}

/* StatCommand's first lines. */
static void version_lines(struct zk_server *s, struct zk_wbuf *w)
{
	put(w, "Zookeeper version: %s\n", ZK_VERSION_STRING);
	if (s->mode == ZK_MODE_READONLY)
		put(w, "READ-ONLY mode; serving only read-only clients\n");
}

static void srvr_tail(struct zk_server *s, struct zk_wbuf *w)
{
	latency_line(s, w);
	put(w, "Received: %" PRIu64 "\n", s->st.packets_received);
	put(w, "Sent: %" PRIu64 "\n", s->st.packets_sent);
	put(w, "Connections: %u\n", s->conn_count);
	put(w, "Outstanding: %u\n", zk_server_outstanding(s));
	put(w, "Zxid: 0x%" PRIx64 "\n", (uint64_t)s->db.last_zxid);
	put(w, "Mode: %s\n", mode_name(s));
	put(w, "Node count: %" PRIu64 "\n", s->db.tree.node_count + 1); /* ZooKeeper counts the root twice */
}

static void conn_brief(struct zk_wbuf *w, const struct zk_conn *c)
{
	put(w, " /%s:%d[%d](queued=%u,recved=%" PRIu64 ",sent=%" PRIu64, c->ip, c->port,
	    c->state == ZK_CONN_ACTIVE ? 1 : 0, c->qlen, c->st.recved, c->st.sent);
}

static void cons(struct zk_server *s, struct zk_wbuf *w)
{
	struct zk_conn *c, *t;
	HASH_ITER(hh, s->conns, c, t) {
		conn_brief(w, c);
		if (c->session_id && c->state == ZK_CONN_ACTIVE) {
			char avg[32];
			fmt_avg(avg, sizeof(avg), c->st.lat_sum, c->st.lat_cnt);
			put(w, ",sid=0x%" PRIx64 ",lop=%s,est=%" PRId64 ",to=%d", (uint64_t)c->session_id,
			    c->st.last_op[0] ? c->st.last_op : "NA", c->est_wall_ms, c->timeout_ms);
			if (c->st.last_cxid >= 0)
				put(w, ",lcxid=0x%" PRIx64, (uint64_t)c->st.last_cxid);
			put(w, ",lzxid=0x%" PRIx64 ",lresp=%" PRId64 ",llat=%" PRId64 ",minlat=%" PRId64 ",avglat=%" PRId64
			       ",maxlat=%" PRId64,
			    (uint64_t)c->st.last_zxid, c->st.last_resp_wall_ms, c->st.lat_last,
			    c->st.lat_min < 0 ? 0 : c->st.lat_min, c->st.lat_cnt ? c->st.lat_sum / c->st.lat_cnt : 0,
			    c->st.lat_max);
		}
		put(w, ")\n");
	}
	put(w, "\n");
}

static int64_t watcher_session(struct zk_server *s, uint64_t watcher)
{
	struct zk_conn *c = zk_conn_get(s, watcher);
	return c ? c->session_id : 0;
}

struct wvisit {
	struct zk_server *s;
	struct zk_wbuf *w;
	uint64_t last;
	const char *last_path;
};

static void visit_by_watcher(void *ctx, uint64_t watcher, const char *path, int kinds)
{
	(void)kinds;
	struct wvisit *v = ctx;
	if (watcher != v->last)
		put(v->w, "0x%" PRIx64 "\n", (uint64_t)watcher_session(v->s, watcher));
	v->last = watcher;
	put(v->w, "\t%s\n", path);
}

static void visit_by_path(void *ctx, uint64_t watcher, const char *path, int kinds)
{
	(void)kinds;
	struct wvisit *v = ctx;
	if (path != v->last_path)
		put(v->w, "%s\n", path);
	v->last_path = path;
	put(v->w, "\t0x%" PRIx64 "\n", (uint64_t)watcher_session(v->s, watcher));
}

static void mntr(struct zk_server *s, struct zk_wbuf *w)
{
	char avg[32];
	fmt_avg(avg, sizeof(avg), s->st.lat_sum, s->st.lat_cnt);
	uint64_t eph = 0;
	const struct zk_eph_set *e, *t;
	HASH_ITER(hh, s->db.tree.ephemerals, e, t) eph += e->count;
	put(w, "zk_version\t%s\n", ZK_VERSION_STRING);
	put(w, "zk_server_state\t%s\n", mode_name(s));
	put(w, "zk_avg_latency\t%s\n", avg);
	put(w, "zk_max_latency\t%" PRId64 "\n", s->st.lat_max);
	put(w, "zk_min_latency\t%" PRId64 "\n", s->st.lat_min < 0 ? 0 : s->st.lat_min);
	put(w, "zk_packets_received\t%" PRIu64 "\n", s->st.packets_received);
	put(w, "zk_packets_sent\t%" PRIu64 "\n", s->st.packets_sent);
	put(w, "zk_num_alive_connections\t%u\n", s->conn_count);
	put(w, "zk_outstanding_requests\t%u\n", zk_server_outstanding(s));
	put(w, "zk_znode_count\t%" PRIu64 "\n", s->db.tree.node_count + 1);
	put(w, "zk_watch_count\t%" PRIu64 "\n", s->watches.count);
	put(w, "zk_ephemerals_count\t%" PRIu64 "\n", eph);
	put(w, "zk_approximate_data_size\t%" PRIu64 "\n", s->db.tree.data_bytes);
	put(w, "zk_global_sessions\t%u\n", zk_sessions_count(&s->db.sessions));
	put(w, "zk_local_sessions\t%u\n", zk_sessions_count(&s->local));
	put(w, "zk_uptime\t%" PRId64 "\n", s->cur_now.mono_ms - s->st.start_mono_ms);
	put(w, "zk_last_proposal_size\t-1\n");
	put(w, "zk_outstanding_changes_queued\t%u\n", s->changes.count);
	if (s->repl.mntr)
		s->repl.mntr(s->repl.ctx, w);
	for (int r = 1; r < ZK_CLOSE_REASON_COUNT; r++)
		put(w, "zk_zkedge_closed_%s\t%" PRIu64 "\n", zk_close_reason_str(r), s->st.closes[r]);
}

static void dump(struct zk_server *s, struct zk_wbuf *w)
{
	put(w, "SessionTracker dump:\n");
	const struct zk_session *ss, *st;
	if (zk_sessions_count(&s->local)) {
		put(w, "Local Sessions(%u):\n", zk_sessions_count(&s->local));
		HASH_ITER(hh, s->local.by_id, ss, st) put(w, "0x%" PRIx64 "\t%dms\n", (uint64_t)ss->id, ss->timeout_ms);
	}
	put(w, "Global Sessions(%u):\n", zk_sessions_count(&s->db.sessions));
	HASH_ITER(hh, s->db.sessions.by_id, ss, st) put(w, "0x%" PRIx64 "\t%dms\n", (uint64_t)ss->id, ss->timeout_ms);
	put(w, "ephemeral nodes dump:\n");
	put(w, "Sessions with Ephemerals (%u):\n", HASH_CNT(hh, s->db.tree.ephemerals));
	const struct zk_eph_set *e, *et;
	HASH_ITER(hh, s->db.tree.ephemerals, e, et) {
		put(w, "0x%" PRIx64 ":\n", (uint64_t)e->session_id);
		for (const struct zk_node *n = e->head; n; n = n->kind_next)
			put(w, "\t%s\n", n->path);
	}
	put(w, "Connections dump:\n");
	put(w, "Connections Sets (%u)/(%u):\n", s->conn_count, s->conn_count);
	cons(s, w);
}

static void envi(struct zk_wbuf *w)
{
	struct utsname u;
	char host[256] = "";
	char cwd[1024] = "";
	if (uname(&u))
		memset(&u, 0, sizeof(u));
	gethostname(host, sizeof(host) - 1);
	if (!getcwd(cwd, sizeof(cwd)))
		cwd[0] = 0;
	const char *user = getenv("USER");
	const char *home = getenv("HOME");
	put(w, "Environment:\n");
	put(w, "zookeeper.version=%s\n", ZK_VERSION_STRING);
	put(w, "host.name=%s\n", host);
	put(w, "java.version=none (zkedge is C)\n");
	put(w, "os.name=%s\n", u.sysname);
	put(w, "os.arch=%s\n", u.machine);
	put(w, "os.version=%s\n", u.release);
	put(w, "user.name=%s\n", user ? user : "");
	put(w, "user.home=%s\n", home ? home : "");
	put(w, "user.dir=%s\n", cwd);
}

void zk_fourlw_answer(struct zk_server *s, const char *cmd, struct zk_wbuf *w)
{
	if (!zk_config_4lw_enabled(&s->cfg, cmd)) {
		put(w, "%s is not executed because it is not in the whitelist.\n", cmd);
		return;
	}
	if (!strcmp(cmd, "ruok")) {
		put(w, "imok");
	} else if (s->mode == ZK_MODE_DOWN && strcmp(cmd, "conf") && strcmp(cmd, "envi") && strcmp(cmd, "isro")) {
		/* A quorum member between leaders, as ZooKeeper's ZK_NOT_SERVING. */
		put(w, "This ZooKeeper instance is not currently serving requests\n");
	} else if (!strcmp(cmd, "isro")) {
		/* IsroCommand: "null" when not serving. */
		put(w, "%s", s->mode == ZK_MODE_DOWN ? "null" : s->mode == ZK_MODE_READONLY ? "ro" : "rw");
	} else if (!strcmp(cmd, "srvr")) {
		version_lines(s, w);
		srvr_tail(s, w);
	} else if (!strcmp(cmd, "stat")) {
		version_lines(s, w);
		put(w, "Clients:\n");
		struct zk_conn *c, *t;
		HASH_ITER(hh, s->conns, c, t) {
			conn_brief(w, c);
			put(w, ")\n");
		}
		put(w, "\n");
		srvr_tail(s, w);
	} else if (!strcmp(cmd, "conf")) {
		char buf[8192];
		int n = zk_config_format_conf_sizes(&s->cfg, s->data_dir_bytes, s->log_dir_bytes, buf, sizeof(buf));
		static const char standalone_id[] = "serverId=0\n";
		size_t tail = sizeof(standalone_id) - 1;
		if (s->repl.conf && n >= (int)tail && !strcmp(buf + n - tail, standalone_id)) {
			buf[n - tail] = 0; /* a member prints its own id and the quorum settings instead */
			put(w, "%s", buf);
			s->repl.conf(s->repl.ctx, w);
		} else {
			put(w, "%s", buf);
		}
	} else if (!strcmp(cmd, "cons")) {
		cons(s, w);
	} else if (!strcmp(cmd, "crst")) {
		struct zk_conn *c, *t;
		HASH_ITER(hh, s->conns, c, t) {
			memset(&c->st, 0, sizeof(c->st));
			c->st.lat_min = -1;
		}
		put(w, "Connection stats reset.\n");
	} else if (!strcmp(cmd, "srst")) {
		s->st.packets_received = s->st.packets_sent = 0;
		s->st.lat_min = -1;
		s->st.lat_max = s->st.lat_sum = s->st.lat_cnt = 0;
		put(w, "Server stats reset.\n");
	} else if (!strcmp(cmd, "dirs")) {
		put(w, "datadir_size: %" PRIu64 "\nlogdir_size: %" PRIu64 "\n", s->data_dir_bytes, s->log_dir_bytes);
	} else if (!strcmp(cmd, "wchs")) {
		put(w, "%u connections watching %u paths\nTotal watches:%" PRIu64 "\n",
		    zk_watches_watcher_count(&s->watches), zk_watches_path_count(&s->watches), s->watches.count);
	} else if (!strcmp(cmd, "wchc")) {
		struct wvisit v = {s, w, UINT64_MAX, NULL};
		zk_watches_visit_by_watcher(&s->watches, visit_by_watcher, &v);
		put(w, "\n");
	} else if (!strcmp(cmd, "wchp")) {
		struct wvisit v = {s, w, UINT64_MAX, NULL};
		zk_watches_visit_by_path(&s->watches, visit_by_path, &v);
		put(w, "\n");
	} else if (!strcmp(cmd, "mntr")) {
		mntr(s, w);
	} else if (!strcmp(cmd, "dump")) {
		dump(s, w);
	} else if (!strcmp(cmd, "envi")) {
		envi(w);
	} else if (!strcmp(cmd, "gtmk") || !strcmp(cmd, "stmk")) {
		put(w, "306");
	} else if (!strcmp(cmd, "hash")) {
		/* No digest history is kept yet: the answer is empty, as on a server without digests. */
	}
}

void zk_server_fourlw(struct zk_server *s, struct zk_now now, uint64_t conn_id, const uint8_t cmd4[4],
                      struct zk_out *out)
{
	struct zk_conn *c = zk_conn_get(s, conn_id);
	if (!c)
		return;
	s->cur_now = now;
	char cmd[5];
	memcpy(cmd, cmd4, 4);
	cmd[4] = 0;
	c->st.recved++;
	size_t mark;
	struct zk_wbuf *w = zk_out_send_begin(out, &mark);
	zk_fourlw_answer(s, cmd, w);
	zk_out_send_end(out, conn_id, mark);
	zk_server_close_conn(s, c, ZK_CLOSE_FOURLW_DONE, out);
}
