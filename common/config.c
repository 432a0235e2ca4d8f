/* zoo.cfg parsing with ZooKeeper 3.8's QuorumPeerConfig rules, the `conf` 4lw text and the 4lw
 * whitelist. No I/O: the caller reads the file and passes its text. Rules: protocol.md section 8.
 *
 * Text grammar (java.util.Properties.load, which is how ZooKeeper reads zoo.cfg):
 *   EOL     = "\n" | "\r" | "\r\n"           WS = " " | "\t" | "\f"
 *   line    = *WS ( empty | ("#" | "!") *any | entry ) EOL
 *   entry   = key [ *WS ("=" | ":") ] *WS value
 *   key     ends at the first unescaped "=", ":" or WS; value is the rest of the logical line.
 *   A line ending in an odd number of '\' continues on the next one (its leading WS skipped).
 *   Escapes in key and value: \t \n \r \f \uXXXX (written as UTF-8); '\' before any other char
 *   is dropped. Key and value are then trimmed of every char <= ' ' (String.trim).
 * Java reads the file as ISO-8859-1; zkedge keeps the bytes as they are, so UTF-8 paths survive.
 *
 * Keys: QuorumPeerConfig's own keys match exactly. Keys ZooKeeper reads as system properties
 * (an unrecognised zoo.cfg key becomes "zookeeper.<key>") match with or without "zookeeper.".
 * Keys zkedge knows but does not use are accepted silently; unknown keys are warned about.
 * Duplicate keys: the last one wins (a Properties table keeps the last).
 *
 * About 1000 lines, over the 600 guideline: one job whose parts share the parse state and the
 * message helpers. If it grows, the Properties reader (next_logical .. split_entry) and the
 * server.N parser are the seams to move out (config_props.c, config_server.c). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "zmalloc.h"

#define SHOWN_MAX 96    /* chars of a key or value quoted in a message */
#define MSG_MAX 512     /* a warning line */
#define SERVER_VALUE_MAX 1024
#define IO_THREADS_MAX 1024
#define SNAP_RETAIN_MIN 3 /* PurgeTxnLog keeps at least 3 snapshots */
#define SNAP_COUNT_MIN 2  /* ZooKeeperServer resets smaller snapCount values to 2 */

struct parse {
	struct zk_config *c;
	char *err;
	size_t err_len;
	void (*warn)(void *ctx, const char *msg);
	void *warn_ctx;
	int line; /* natural line the current entry starts on */
};

/* ---- messages ---- */

/* Copies s for a message: printable ASCII kept, other bytes as '?', long text cut with "...". */
static const char *shown(char *dst, size_t n, const char *s)
{
	size_t i = 0;
	for (; s[i] && i + 4 < n; i++)
		dst[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (s[i] && n >= 4) {
		memcpy(dst + i, "...", 3);
		i += 3;
	}
	dst[i] = '\0';
	return dst;
}

static void set_err(struct parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(struct parse *p, const char *fmt, ...)
{
	va_list ap;
	if (!p->err || p->err_len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(p->err, p->err_len, fmt, ap);
	va_end(ap);
}

/* "zoo.cfg line N: key: why" */
static int fail(struct parse *p, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct parse *p, const char *key, const char *fmt, ...)
{
	char k[SHOWN_MAX + 4], why[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	set_err(p, "zoo.cfg line %d: %s: %s", p->line, shown(k, sizeof k, key), why);
	return ZK_EINVAL;
}

static void warnf(struct parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warnf(struct parse *p, const char *fmt, ...)
{
	char msg[MSG_MAX];
	va_list ap;
	if (!p->warn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	p->warn(p->warn_ctx, msg);
}

/* ---- scalar values ---- */

static bool ascii_ieq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char x = (*a >= 'A' && *a <= 'Z') ? (char)(*a + 32) : *a;
		char y = (*b >= 'A' && *b <= 'Z') ? (char)(*b + 32) : *b;
		if (x != y)
			return false;
	}
	return *a == *b;
}

/* Integer.parseInt / Long.parseLong: optional sign, then decimal digits only.
 * 0, -1 (not a number) or -2 (overflows int64). */
static int parse_i64(const char *s, int64_t *out)
{
	const char *q = s + (*s == '+' || *s == '-');
	char *end;
	long long v;
	if (*q < '0' || *q > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end != '\0')
		return -1;
	if (errno == ERANGE)
		return -2;
	*out = v;
	return 0;
}

static int digit_val(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return 99;
}

/* Integer.decode (how Integer.getInteger reads jute.maxbuffer): [sign] then "0x", "0X" or "#"
 * for hex, a leading "0" for octal, else decimal. Same returns as parse_i64. */
static int parse_decode(const char *s, int64_t *out)
{
	bool neg = (*s == '-');
	const char *q = s + (*s == '+' || *s == '-');
	int base = 10;
	uint64_t v = 0;
	if (q[0] == '0' && (q[1] == 'x' || q[1] == 'X')) {
		base = 16;
		q += 2;
	} else if (q[0] == '#') {
		base = 16;
		q++;
	} else if (q[0] == '0' && q[1] != '\0') {
		base = 8;
		q++;
	}
	if (*q == '\0')
		return -1;
	for (; *q; q++) {
		int d = digit_val(*q);
		if (d >= base)
			return -1;
		if (v > ((uint64_t)INT64_MAX - (uint64_t)d) / (uint64_t)base)
			return -2;
		v = v * (uint64_t)base + (uint64_t)d;
	}
	*out = neg ? -(int64_t)v : (int64_t)v;
	return 0;
}

static int parse_bool(const char *s, bool *out)
{
	if (ascii_ieq(s, "true") || ascii_ieq(s, "yes"))
		*out = true;
	else if (ascii_ieq(s, "false") || ascii_ieq(s, "no"))
		*out = false;
	else
		return -1;
	return 0;
}

/* A number in [min, max], or the error for key. */
static int num_in(struct parse *p, const char *key, const char *val, bool decode, int64_t min,
                  int64_t max, int64_t *out)
{
	char v[SHOWN_MAX + 4];
	int rc = decode ? parse_decode(val, out) : parse_i64(val, out);
	if (rc == -1)
		return fail(p, key, "'%s' is not a number", shown(v, sizeof v, val));
	if (rc < 0 || *out < min || *out > max)
		return fail(p, key, "%s is out of range [%" PRId64 ", %" PRId64 "]",
		            shown(v, sizeof v, val), min, max);
	return 0;
}

static int bool_of(struct parse *p, const char *key, const char *val, bool *out)
{
	char v[SHOWN_MAX + 4];
	if (parse_bool(val, out) != 0)
		return fail(p, key, "'%s' is not true, false, yes or no", shown(v, sizeof v, val));
	return 0;
}

static int str_to(struct parse *p, const char *key, const char *val, char *dst, size_t size)
{
	size_t n = strlen(val);
	if (n >= size)
		return fail(p, key, "value too long (%zu bytes, max %zu)", n, size - 1);
	memcpy(dst, val, n + 1);
	return 0;
}

/* ---- keys with their own rules ---- */

/* clientPort, secureClientPort: 0 means "not set" as in ZooKeeper; otherwise 1..65535. */
static int port_or_unset(struct parse *p, const char *key, const char *val, int *dst)
{
	int64_t v;
	int rc = num_in(p, key, val, false, 0, 65535, &v);
	if (rc == 0)
		*dst = v == 0 ? -1 : (int)v;
	return rc;
}

/* An address for bind(): a bracketed IPv6 literal loses its brackets. */
static int address_to(struct parse *p, const char *key, const char *val, char *dst, size_t size)
{
	size_t n = strlen(val);
	if (n >= 2 && val[0] == '[' && val[n - 1] == ']') {
		if (n - 2 >= size)
			return fail(p, key, "value too long (%zu bytes, max %zu)", n - 2, size - 1);
		memcpy(dst, val + 1, n - 2);
		dst[n - 2] = '\0';
		return 0;
	}
	return str_to(p, key, val, dst, size);
}

static int set_client_port(struct parse *p, const char *k, const char *v)
{
	return port_or_unset(p, k, v, &p->c->client_port);
}
static int set_secure_port(struct parse *p, const char *k, const char *v)
{
	return port_or_unset(p, k, v, &p->c->secure_client_port);
}
static int set_client_addr(struct parse *p, const char *k, const char *v)
{
	return address_to(p, k, v, p->c->client_port_address, sizeof p->c->client_port_address);
}
static int set_secure_addr(struct parse *p, const char *k, const char *v)
{
	return address_to(p, k, v, p->c->secure_client_port_address,
	                  sizeof p->c->secure_client_port_address);
}

/* observerMasterPort: <= 0 means not set (QuorumPeerConfig). */
static int set_observer_master_port(struct parse *p, const char *k, const char *v)
{
	int64_t n;
	int rc = num_in(p, k, v, false, INT32_MIN, 65535, &n);
	if (rc == 0)
		p->c->observer_master_port = n <= 0 ? -1 : (int)n;
	return rc;
}

static int check_election_alg(struct parse *p, const char *k, const char *v)
{
	int64_t n;
	int rc = num_in(p, k, v, false, INT32_MIN, INT32_MAX, &n);
	if (rc == 0 && n != 3)
		return fail(p, k, "only 3 (fast leader election) is supported");
	return rc;
}

static int set_peer_type(struct parse *p, const char *k, const char *v)
{
	char s[SHOWN_MAX + 4];
	if (ascii_ieq(v, "observer"))
		p->c->peer_type_observer = true;
	else if (ascii_ieq(v, "participant"))
		p->c->peer_type_observer = false;
	else
		return fail(p, k, "unrecognised peer type '%s'", shown(s, sizeof s, v));
	return 0;
}

static int set_snap_retain(struct parse *p, const char *k, const char *v)
{
	int64_t n;
	int rc = num_in(p, k, v, false, INT32_MIN, INT32_MAX, &n);
	if (rc != 0)
		return rc;
	if (n < SNAP_RETAIN_MIN) {
		warnf(p, "autopurge.snapRetainCount %" PRId64 " at line %d is below %d, using %d", n,
		      p->line, SNAP_RETAIN_MIN, SNAP_RETAIN_MIN);
		n = SNAP_RETAIN_MIN;
	}
	p->c->autopurge_snap_retain_count = (int)n;
	return 0;
}

/* autopurge.purgeInterval: ZooKeeper treats anything <= 0 as "disabled"; stored as 0. */
static int set_purge_interval(struct parse *p, const char *k, const char *v)
{
	int64_t n;
	int rc = num_in(p, k, v, false, INT32_MIN, INT32_MAX, &n);
	if (rc == 0)
		p->c->autopurge_purge_interval_h = n < 0 ? 0 : (int)n;
	return rc;
}

static int set_snap_count(struct parse *p, const char *k, const char *v)
{
	int64_t n;
	int rc = num_in(p, k, v, false, 0, INT32_MAX, &n);
	if (rc != 0)
		return rc;
	if (n < SNAP_COUNT_MIN) {
		warnf(p, "snapCount %" PRId64 " at line %d is below %d, using %d", n, p->line,
		      SNAP_COUNT_MIN, SNAP_COUNT_MIN);
		n = SNAP_COUNT_MIN;
	}
	p->c->snap_count = n;
	return 0;
}

static int set_jute_maxbuffer(struct parse *p, const char *k, const char *v)
{
	return num_in(p, k, v, true, 1, INT32_MAX, &p->c->jute_maxbuffer);
}

/* group.G / weight.N: hierarchical quorums change who votes; zkedge counts majorities only. */
static int warn_hierarchical(struct parse *p, const char *k, const char *v)
{
	char s[SHOWN_MAX + 4];
	(void)v;
	warnf(p, "hierarchical quorum key '%s' at line %d ignored (not supported)",
	      shown(s, sizeof s, k), p->line);
	return 0;
}

/* ---- server.N ---- */

static char *trim(char *s)
{
	size_t n;
	while (*s && (unsigned char)*s <= ' ')
		s++;
	n = strlen(s);
	while (n > 0 && (unsigned char)s[n - 1] <= ' ')
		s[--n] = '\0';
	return s;
}

/* "host:a:b..." or "[v6]:a:b..." into at most n_max parts (ConfigUtils.getHostAndPort).
 * Returns the count, or -1 (bad brackets or too many parts). */
static int split_host(char *s, char **parts, int n_max)
{
	int n = 0;
	if (s[0] == '[') {
		char *rb = strchr(s, ']');
		if (!rb || (rb[1] != '\0' && rb[1] != ':'))
			return -1;
		*rb = '\0';
		parts[n++] = s + 1;
		if (rb[1] == '\0')
			return n;
		s = rb + 2;
	} else {
		char *colon = strchr(s, ':');
		parts[n++] = s;
		if (!colon)
			return n;
		*colon = '\0';
		s = colon + 1;
	}
	for (;;) {
		char *colon;
		if (n == n_max)
			return -1;
		colon = strchr(s, ':');
		if (colon)
			*colon = '\0';
		parts[n++] = s;
		if (!colon)
			return n;
		s = colon + 1;
	}
}

static int port_of(struct parse *p, const char *key, const char *what, char *s, int *out)
{
	char v[SHOWN_MAX + 4];
	int64_t n;
	s = trim(s);
	if (parse_i64(s, &n) != 0 || n < 1 || n > 65535)
		return fail(p, key, "%s '%s' is not a port (1..65535)", what, shown(v, sizeof v, s));
	*out = (int)n;
	return 0;
}

static int host_to(struct parse *p, const char *key, char *host, char *dst, size_t size)
{
	host = trim(host);
	if (host[0] == '\0')
		return fail(p, key, "empty host");
	return str_to(p, key, host, dst, size);
}

static int server_client_part(struct parse *p, const char *key, char *client,
                              struct zk_cfg_server *s)
{
	char *parts[2];
	int n = split_host(client, parts, 2);
	if (n < 1)
		return fail(p, key, "client address is not [host:]port");
	if (n == 2) {
		if (host_to(p, key, parts[0], s->client_host, sizeof s->client_host) != 0)
			return ZK_EINVAL;
	} else {
		strcpy(s->client_host, "0.0.0.0");
	}
	return port_of(p, key, "client port", parts[n - 1], &s->client_port);
}

static int store_server(struct parse *p, const char *key, const struct zk_cfg_server *s)
{
	struct zk_config *c = p->c;
	for (int i = 0; i < c->n_servers; i++) {
		if (c->servers[i].id == s->id) { /* server.1 and server.01: the last one wins */
			c->servers[i] = *s;
			return 0;
		}
	}
	if (c->n_servers >= ZK_CFG_SERVERS_MAX)
		return fail(p, key, "too many servers (max %d)", ZK_CFG_SERVERS_MAX);
	c->servers[c->n_servers++] = *s;
	return 0;
}

/* server.<id>=<host>:<qport>:<eport>[:participant|:observer][;[<host>:]<port>] */
static int set_server(struct parse *p, const char *key, const char *val)
{
	static const char form[] = "is not host:port:port[:participant|:observer][;[host:]port]";
	char buf[SERVER_VALUE_MAX], v[SHOWN_MAX + 4], *parts[4], *client;
	struct zk_cfg_server s;
	int n;
	memset(&s, 0, sizeof s);
	s.client_port = -1;
	if (parse_i64(key + strlen("server."), &s.id) != 0 || s.id < 0)
		return fail(p, key, "server id is not a number >= 0");
	if (str_to(p, key, val, buf, sizeof buf) != 0)
		return ZK_EINVAL;
	if (strchr(buf, '|'))
		return fail(p, key, "several addresses (multiAddress) are not supported");
	client = strchr(buf, ';');
	if (client) {
		*client++ = '\0';
		if (strchr(client, ';'))
			return fail(p, key, "'%s' %s", shown(v, sizeof v, val), form);
		client = trim(client);
		if (client[0] == '\0') /* "h:1:2;": Java's split drops the empty part */
			client = NULL;
	}
	n = split_host(trim(buf), parts, 4);
	if (n < 3)
		return fail(p, key, "'%s' %s", shown(v, sizeof v, val), form);
	if (host_to(p, key, parts[0], s.host, sizeof s.host) != 0 ||
	    port_of(p, key, "quorum port", parts[1], &s.quorum_port) != 0 ||
	    port_of(p, key, "election port", parts[2], &s.election_port) != 0)
		return ZK_EINVAL;
	if (s.quorum_port == s.election_port)
		return fail(p, key, "quorum and election ports must differ");
	if (n == 4) {
		parts[3] = trim(parts[3]);
		if (ascii_ieq(parts[3], "observer"))
			s.observer = true;
		else if (!ascii_ieq(parts[3], "participant"))
			return fail(p, key, "unrecognised peer type '%s'", shown(v, sizeof v, parts[3]));
	}
	if (client && server_client_part(p, key, client, &s) != 0)
		return ZK_EINVAL;
	return store_server(p, key, &s);
}

/* ---- the key table ---- */

enum kind {
	K_INT,       /* int field in [min, max] */
	K_I64,       /* int64_t field in [min, max] */
	K_BOOL,      /* bool field: true/false/yes/no */
	K_STR,       /* char[] field */
	K_FN,        /* own handler */
	K_SKIP,      /* known, unused: any value (the unused_* lists) */
	K_SKIP_BOOL, /* known, unused, but ZooKeeper rejects a bad boolean */
	K_SKIP_INT,  /* known, unused, but ZooKeeper rejects a bad number */
};

#define F_SYS 1    /* a system property: also matches as "zookeeper.<name>" */
#define F_PREFIX 2 /* name is a prefix */

struct key_def {
	const char *name;
	unsigned char kind, flags;
	size_t off, size;
	int64_t min, max;
	int (*fn)(struct parse *p, const char *key, const char *val);
};

#define FLD(f) offsetof(struct zk_config, f), sizeof(((struct zk_config *)0)->f)
#define INT(n, fl, f, lo, hi) { n, K_INT, fl, FLD(f), lo, hi, NULL }
#define I64(n, fl, f, lo, hi) { n, K_I64, fl, FLD(f), lo, hi, NULL }
#define BOOL(n, fl, f) { n, K_BOOL, fl, FLD(f), 0, 0, NULL }
#define STR(n, fl, f) { n, K_STR, fl, FLD(f), 0, 0, NULL }
#define FN(n, fl, h) { n, K_FN, fl, 0, 0, 0, 0, h }
#define SKIP(n, k, fl) { n, k, fl, 0, 0, 0, 0, NULL }

static const struct key_def keys[] = {
	/* QuorumPeerConfig.parseProperties */
	STR("dataDir", 0, data_dir),
	STR("dataLogDir", 0, data_log_dir),
	FN("clientPort", 0, set_client_port),
	FN("clientPortAddress", 0, set_client_addr),
	FN("secureClientPort", 0, set_secure_port),
	FN("secureClientPortAddress", 0, set_secure_addr),
	FN("observerMasterPort", 0, set_observer_master_port),
	INT("clientPortListenBacklog", 0, client_port_listen_backlog, INT32_MIN, INT32_MAX),
	/* 20 * tickTime (the default maxSessionTimeout) must fit an int */
	INT("tickTime", 0, tick_time_ms, 1, INT32_MAX / 20),
	INT("maxClientCnxns", 0, max_client_cnxns, 0, INT32_MAX),
	INT("minSessionTimeout", 0, min_session_timeout_ms, -1, INT32_MAX),
	INT("maxSessionTimeout", 0, max_session_timeout_ms, -1, INT32_MAX),
	INT("initLimit", 0, init_limit, 0, INT32_MAX),
	INT("syncLimit", 0, sync_limit, 0, INT32_MAX),
	INT("connectToLearnerMasterLimit", 0, connect_to_learner_master_limit, 0, INT32_MAX),
	FN("electionAlg", 0, check_election_alg),
	BOOL("quorumListenOnAllIPs", 0, quorum_listen_on_all_ips),
	FN("peerType", 0, set_peer_type),
	BOOL("syncEnabled", 0, sync_enabled),
	BOOL("localSessionsEnabled", 0, local_sessions_enabled),
	BOOL("localSessionsUpgradingEnabled", 0, local_sessions_upgrading_enabled),
	BOOL("standaloneEnabled", 0, standalone_enabled),
	BOOL("reconfigEnabled", 0, reconfig_enabled),
	FN("autopurge.snapRetainCount", 0, set_snap_retain),
	FN("autopurge.purgeInterval", 0, set_purge_interval),
	FN("server.", F_PREFIX, set_server),
	FN("group", F_PREFIX, warn_hierarchical),
	FN("weight", F_PREFIX, warn_hierarchical),
	SKIP("sslQuorum", K_SKIP_BOOL, 0),
	SKIP("portUnification", K_SKIP_BOOL, 0),
	SKIP("sslQuorumReloadCertFiles", K_SKIP_BOOL, 0),
	SKIP("quorum.cnxn.threads.size", K_SKIP_INT, 0),
	/* zkedge's own */
	INT("zkedge.ioThreads", 0, io_threads, 0, IO_THREADS_MAX),
	/* system properties used by zkedge */
	STR("4lw.commands.whitelist", F_SYS, fourlw_whitelist),
	INT("globalOutstandingLimit", F_SYS, global_outstanding_limit, 0, INT32_MAX),
	FN("jute.maxbuffer", F_SYS, set_jute_maxbuffer),
	STR("DigestAuthenticationProvider.superDigest", F_SYS, super_digest),
	BOOL("DigestAuthenticationProvider.enabled", F_SYS, digest_auth_enabled),
	BOOL("extendedTypesEnabled", F_SYS, extended_types_enabled),
	BOOL("skipACL", F_SYS, skip_acl),
	BOOL("forceSync", F_SYS, force_sync),
	BOOL("digest.enabled", F_SYS, digest_enabled),
	BOOL("closeSessionTxn.enabled", F_SYS, close_session_txn_enabled),
	BOOL("readonlymode.enabled", F_SYS, readonly_mode_enabled),
	BOOL("snapshot.trust.empty", F_SYS, snapshot_trust_empty),
	FN("snapCount", F_SYS, set_snap_count),
	I64("preAllocSize", F_SYS, pre_alloc_size_kb, 0, INT64_MAX / 1024),
	I64("nio.sessionlessCnxnTimeout", F_SYS, sessionless_cnxn_timeout_ms, 1, INT32_MAX),
	INT("maxCnxns", F_SYS, max_cnxns, 0, INT32_MAX),
	I64("znode.container.checkIntervalMs", F_SYS, container_check_interval_ms, 1, INT64_MAX),
	INT("znode.container.maxPerMinute", F_SYS, container_max_per_minute, 0, INT32_MAX),
	I64("znode.container.maxNeverUsedIntervalMs", F_SYS, container_max_never_used_ms, 0,
	    INT64_MAX),
};

/* Known keys zkedge accepts with any value and does not use. A name ending in '.' or '*' is a
 * prefix ('*' itself is not part of it). */
static const char *const unused_direct[] = {
	"dynamicConfigFile", "version", "quorum.auth.", "jvm.pause.", "metricsProvider.",
	"multiAddress.", "oraclePath",
};
static const char *const unused_sys[] = { /* also as "zookeeper.<name>" */
	"admin.", "ssl.", "serverCnxnFactory", "txnLogSizeLimitInKb", "snapSizeLimitInKb",
	"commitLogCount", "snapshotSizeFactor", "fsync.warningthresholdms", "superUser",
	"authProvider.", "enforce.auth.", "sessionRequireClientSASLAuth", "cnxTimeout",
	"electionPortBindRetry", "tcpKeepAlive", "snapshot.", "client.",
	"jute.maxbuffer.extrasize", "nio.", "netty.", "requestThrottle*", "request_throttler.",
	"connection_throttle_*", "learner.", "leader.", "observer.", "follower.", "flushDelay",
	"maxWriteQueuePollTime", "maxBatchSize", "audit.enable", "watchManagerName",
	"watcherClean*", "maxResponseCacheSize", "maxGetChildrenResponseCacheSize",
	"messageTracker.", "largeRequest*", "throttledOpWaitTime", "enforceQuota", "fips-mode",
	"kerberos.", "X509AuthenticationProvider.superUser", "ensembleAuthName",
};

static bool listed(const char *const *list, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(list[i]);
		char last = list[i][len - 1];
		if (last == '.' || last == '*' ? strncmp(name, list[i], len - (last == '*')) == 0
		                               : strcmp(name, list[i]) == 0)
			return true;
	}
	return false;
}

static const struct key_def *find_key(const char *key)
{
	static const char sys[] = "zookeeper.";
	static const struct key_def unused = SKIP("", K_SKIP, 0);
	bool prefixed = strncmp(key, sys, sizeof sys - 1) == 0;
	const char *name = prefixed ? key + sizeof sys - 1 : key;
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		const struct key_def *d = &keys[i];
		if (prefixed && !(d->flags & F_SYS))
			continue;
		if (d->flags & F_PREFIX ? strncmp(name, d->name, strlen(d->name)) == 0
		                        : strcmp(name, d->name) == 0)
			return d;
	}
	if (listed(unused_sys, sizeof unused_sys / sizeof unused_sys[0], name) ||
	    (!prefixed && listed(unused_direct, sizeof unused_direct / sizeof unused_direct[0], name)))
		return &unused;
	return NULL;
}

static int apply(struct parse *p, const char *key, const char *val)
{
	const struct key_def *d = find_key(key);
	char *field;
	int64_t n = 0;
	bool b = false;
	char k[SHOWN_MAX + 4];
	if (!d) {
		warnf(p, "unknown key '%s' at line %d ignored", shown(k, sizeof k, key), p->line);
		return 0;
	}
	field = (char *)p->c + d->off;
	switch (d->kind) {
	case K_INT:
	case K_I64:
	case K_SKIP_INT:
		if (num_in(p, key, val, false, d->kind == K_SKIP_INT ? INT64_MIN : d->min,
		           d->kind == K_SKIP_INT ? INT64_MAX : d->max, &n) != 0)
			return ZK_EINVAL;
		if (d->kind == K_INT)
			*(int *)(void *)field = (int)n;
		else if (d->kind == K_I64)
			*(int64_t *)(void *)field = n;
		return 0;
	case K_BOOL:
	case K_SKIP_BOOL:
		if (bool_of(p, key, val, &b) != 0)
			return ZK_EINVAL;
		if (d->kind == K_BOOL)
			*(bool *)(void *)field = b;
		return 0;
	case K_STR:
		return str_to(p, key, val, field, d->size);
	case K_FN:
		return d->fn(p, key, val);
	default:
		return 0;
	}
}

/* ---- the Properties reader ---- */

struct lexer {
	const char *s;
	size_t len, pos;
	int line; /* natural lines begun so far */
};

static bool is_ws(char ch) { return ch == ' ' || ch == '\t' || ch == '\f'; }
static bool is_eol(char ch) { return ch == '\n' || ch == '\r'; }

/* Consumes one line end; "\r\n" is one. */
static void eat_eol(struct lexer *lx)
{
	if (lx->pos >= lx->len)
		return;
	if (lx->s[lx->pos] == '\r') {
		lx->pos++;
		if (lx->pos < lx->len && lx->s[lx->pos] == '\n')
			lx->pos++;
	} else if (lx->s[lx->pos] == '\n') {
		lx->pos++;
	}
}

/* Copies the next logical line (continuations joined, escapes kept) into buf, which holds at
 * least len bytes. Returns its length, or -1 at the end of the text. */
static long next_logical(struct lexer *lx, char *buf, int *line)
{
	size_t n = 0;
	for (;;) {
		if (lx->pos >= lx->len)
			return -1;
		lx->line++;
		while (lx->pos < lx->len && is_ws(lx->s[lx->pos]))
			lx->pos++;
		if (lx->pos >= lx->len)
			return -1;
		if (lx->s[lx->pos] != '#' && lx->s[lx->pos] != '!' && !is_eol(lx->s[lx->pos]))
			break;
		while (lx->pos < lx->len && !is_eol(lx->s[lx->pos]))
			lx->pos++;
		eat_eol(lx);
	}
	*line = lx->line;
	for (;;) {
		size_t backslashes = 0;
		while (lx->pos < lx->len && !is_eol(lx->s[lx->pos])) {
			char ch = lx->s[lx->pos++];
			buf[n++] = ch;
			backslashes = ch == '\\' ? backslashes + 1 : 0;
		}
		if (backslashes % 2 == 0)
			break;
		n--; /* the continuation backslash */
		if (lx->pos >= lx->len)
			break;
		eat_eol(lx);
		lx->line++;
		while (lx->pos < lx->len && is_ws(lx->s[lx->pos]))
			lx->pos++;
	}
	eat_eol(lx);
	return (long)n;
}

static size_t put_utf8(char *d, unsigned cp)
{
	if (cp < 0x80) {
		d[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		d[0] = (char)(0xc0 | (cp >> 6));
		d[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	d[0] = (char)(0xe0 | (cp >> 12));
	d[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
	d[2] = (char)(0x80 | (cp & 0x3f));
	return 3;
}

/* Properties.loadConvert, in place (the result is never longer). New length, or -1 for a
 * malformed \uXXXX. */
static long unescape(char *s, size_t n)
{
	size_t r = 0, w = 0;
	while (r < n) {
		char ch = s[r++];
		if (ch != '\\' || r >= n) {
			if (ch != '\\')
				s[w++] = ch;
			continue;
		}
		ch = s[r++];
		if (ch == 'u') {
			unsigned cp = 0;
			if (n - r < 4)
				return -1;
			for (int i = 0; i < 4; i++) {
				int d = digit_val(s[r + (size_t)i]);
				if (d > 15)
					return -1;
				cp = cp * 16 + (unsigned)d;
			}
			r += 4;
			w += put_utf8(s + w, cp);
			continue;
		}
		s[w++] = ch == 't' ? '\t' : ch == 'n' ? '\n' : ch == 'r' ? '\r' : ch == 'f' ? '\f' : ch;
	}
	return (long)w;
}

/* Splits a logical line into key and value (Properties.load) and decodes both in place; buf
 * holds n + 1 bytes. Returns 0, or fails for a bad escape or a NUL byte. */
static int split_entry(struct parse *p, char *buf, size_t n, char **key, char **val)
{
	size_t klen = 0, vstart = n;
	bool bs = false, sep = false;
	long kn, vn;
	for (; klen < n; klen++) {
		char ch = buf[klen];
		if (!bs && (ch == '=' || ch == ':' || is_ws(ch))) {
			sep = ch == '=' || ch == ':';
			vstart = klen + 1;
			break;
		}
		bs = ch == '\\' && !bs;
	}
	for (; vstart < n; vstart++) {
		char ch = buf[vstart];
		if (!is_ws(ch) && (sep || (ch != '=' && ch != ':')))
			break;
		if (!is_ws(ch))
			sep = true;
	}
	kn = unescape(buf, klen);
	vn = unescape(buf + vstart, n - vstart);
	if (kn < 0 || vn < 0) {
		set_err(p, "zoo.cfg line %d: malformed \\uxxxx escape", p->line);
		return ZK_EINVAL;
	}
	buf[kn] = '\0';
	buf[vstart + (size_t)vn] = '\0';
	if (memchr(buf, '\0', (size_t)kn) || memchr(buf + vstart, '\0', (size_t)vn)) {
		set_err(p, "zoo.cfg line %d: NUL byte in key or value", p->line);
		return ZK_EINVAL;
	}
	*key = trim(buf);
	*val = trim(buf + vstart);
	return 0;
}

/* ---- after the last line ---- */

static int check_quorum(struct parse *p)
{
	struct zk_config *c = p->c;
	int voters = 0, observers = 0;
	for (int i = 0; i < c->n_servers; i++) {
		if (c->servers[i].observer)
			observers++;
		else
			voters++;
	}
	if (voters == 0 && !c->standalone_enabled) {
		set_err(p, "standaloneEnabled = false then number of participants should be >0");
		return ZK_EINVAL;
	}
	if (voters == 0 && observers > 0) {
		set_err(p, "Observers w/o participants is an invalid configuration");
		return ZK_EINVAL;
	}
	if (voters == 1 && c->standalone_enabled) {
		warnf(p, "only one server specified (ignoring the server lines)");
		if (observers > 0) {
			set_err(p, "Observers w/o quorum is an invalid configuration");
			return ZK_EINVAL;
		}
	}
	if (zk_config_is_distributed(c) && (c->init_limit == 0 || c->sync_limit == 0)) {
		set_err(p, "%s is not set", c->init_limit == 0 ? "initLimit" : "syncLimit");
		return ZK_EINVAL;
	}
	return 0;
}

static int finish(struct parse *p)
{
	struct zk_config *c = p->c;
	if (c->data_dir[0] == '\0') {
		set_err(p, "dataDir is not set");
		return ZK_EINVAL;
	}
	if (c->data_log_dir[0] == '\0')
		memcpy(c->data_log_dir, c->data_dir, sizeof c->data_log_dir);
	if (c->client_port_address[0] && c->client_port < 0) {
		set_err(p, "clientPortAddress is set but clientPort is not set");
		return ZK_EINVAL;
	}
	if (c->secure_client_port_address[0] && c->secure_client_port < 0) {
		set_err(p, "secureClientPortAddress is set but secureClientPort is not set");
		return ZK_EINVAL;
	}
	if (c->min_session_timeout_ms == -1)
		c->min_session_timeout_ms = 2 * c->tick_time_ms;
	if (c->max_session_timeout_ms == -1)
		c->max_session_timeout_ms = 20 * c->tick_time_ms;
	if (c->min_session_timeout_ms > c->max_session_timeout_ms) {
		set_err(p, "minSessionTimeout (%d) must not be larger than maxSessionTimeout (%d)",
		        c->min_session_timeout_ms, c->max_session_timeout_ms);
		return ZK_EINVAL;
	}
	return check_quorum(p);
}

/* ---- API ---- */

void zk_config_defaults(struct zk_config *c)
{
	memset(c, 0, sizeof *c);
	c->tick_time_ms = 3000;
	c->client_port = -1;
	c->max_client_cnxns = 60;
	c->min_session_timeout_ms = -1;
	c->max_session_timeout_ms = -1;
	strcpy(c->fourlw_whitelist, "srvr");
	c->global_outstanding_limit = 1000;
	c->jute_maxbuffer = 0xfffff;
	c->digest_auth_enabled = true;
	c->force_sync = true;
	c->digest_enabled = true;
	c->close_session_txn_enabled = true;
	c->container_check_interval_ms = 60000;
	c->container_max_per_minute = 10000;
	c->sessionless_cnxn_timeout_ms = 10000;
	c->snap_count = 100000;
	c->pre_alloc_size_kb = 65536;
	c->autopurge_snap_retain_count = SNAP_RETAIN_MIN;
	c->secure_client_port = -1;
	c->client_port_listen_backlog = -1;
	c->standalone_enabled = true;
	c->sync_enabled = true;
	c->observer_master_port = -1;
}

int zk_config_parse(struct zk_config *c, const char *text, size_t len, char *err, size_t err_len,
                    void (*warn)(void *ctx, const char *msg), void *warn_ctx)
{
	struct parse p = { c, err, err_len, warn, warn_ctx, 0 };
	struct lexer lx = { text, text ? len : 0, 0, 0 };
	char *buf = zk_malloc(lx.len + 1); /* a logical line is never longer than the text */
	char *key, *val;
	long n;
	int rc = 0;
	if (err && err_len)
		err[0] = '\0';
	if (!buf) {
		set_err(&p, "out of memory");
		return ZK_ENOMEM;
	}
	while (rc == 0 && (n = next_logical(&lx, buf, &p.line)) >= 0) {
		rc = split_entry(&p, buf, (size_t)n, &key, &val);
		if (rc == 0)
			rc = apply(&p, key, val);
	}
	zk_free(buf);
	return rc != 0 ? rc : finish(&p);
}

bool zk_config_is_distributed(const struct zk_config *c)
{
	int voters = 0;
	for (int i = 0; i < c->n_servers; i++)
		voters += !c->servers[i].observer;
	return voters > 0 && (!c->standalone_enabled || voters > 1);
}

/* java.io.File's path as `conf` prints it: runs of '/' made one, a trailing '/' dropped, then
 * "/version-2" (FileTxnSnapLog's directory). */
static void version_dir(char *dst, size_t size, const char *path)
{
	size_t w = 0;
	for (const char *s = path; *s && w + 1 < size; s++) {
		if (*s == '/' && w > 0 && dst[w - 1] == '/')
			continue;
		dst[w++] = *s;
	}
	if (w > 0 && dst[w - 1] == '/')
		w--;
	snprintf(dst + w, size - w, "/version-2");
}

int zk_config_format_conf_sizes(const struct zk_config *c, uint64_t data_dir_size,
                                uint64_t data_log_size, char *out, size_t out_len)
{
	char dd[ZK_CFG_PATH_MAX + 16], ld[ZK_CFG_PATH_MAX + 16];
	int n;
	version_dir(dd, sizeof dd, c->data_dir);
	version_dir(ld, sizeof ld, c->data_log_dir[0] ? c->data_log_dir : c->data_dir);
	n = snprintf(out, out_len,
	             "clientPort=%d\nsecureClientPort=%d\ndataDir=%s\ndataDirSize=%" PRIu64 "\n"
	             "dataLogDir=%s\ndataLogSize=%" PRIu64 "\ntickTime=%d\nmaxClientCnxns=%d\n"
	             "minSessionTimeout=%d\nmaxSessionTimeout=%d\nclientPortListenBacklog=%d\n"
	             "serverId=0\n",
	             c->client_port, c->secure_client_port, dd, data_dir_size, ld, data_log_size,
	             c->tick_time_ms, c->max_client_cnxns, c->min_session_timeout_ms,
	             c->max_session_timeout_ms, c->client_port_listen_backlog);
	if (n < 0 || (size_t)n >= out_len)
		return ZK_ENOSPC;
	return n;
}

int zk_config_format_conf(const struct zk_config *c, char *out, size_t out_len)
{
	return zk_config_format_conf_sizes(c, 0, 0, out, out_len);
}

/* FourLetterCommands.isEnabled: "*" enables every known command, srvr is always on (zkServer.sh
 * status uses it) and isro with readonlymode.enabled. Names are case-sensitive. */
static bool known_4lw(const char *cmd)
{
	static const char known[] = " conf cons crst dirs dump envi gtmk ruok stmk srst srvr stat "
	                            "wchc wchp wchs mntr isro hash ";
	char pat[8];
	if (strlen(cmd) != 4 || strchr(cmd, ' '))
		return false;
	snprintf(pat, sizeof pat, " %s ", cmd);
	return strstr(known, pat) != NULL;
}

bool zk_config_4lw_enabled(const struct zk_config *c, const char *cmd)
{
	size_t cmd_len;
	const char *s = c->fourlw_whitelist;
	if (!cmd)
		return false;
	cmd_len = strlen(cmd);
	if (strcmp(cmd, "srvr") == 0 || (c->readonly_mode_enabled && strcmp(cmd, "isro") == 0))
		return true;
	while (*s) {
		const char *end = strchr(s, ',');
		const char *e = end ? end : s + strlen(s);
		while (s < e && (unsigned char)*s <= ' ')
			s++;
		while (e > s && (unsigned char)e[-1] <= ' ')
			e--;
		if (e - s == 1 && *s == '*')
			return known_4lw(cmd);
		if (e > s && (size_t)(e - s) == cmd_len && memcmp(s, cmd, cmd_len) == 0)
			return true;
		if (!end)
			break;
		s = end + 1;
	}
	return false;
}
