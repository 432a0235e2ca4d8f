/* The server core in quorum mode, driven through its public API (server.h): a leader core and a
 * learner core wired by a fake replication hook that carries the learner's forwarded requests to
 * the leader and the leader's proposals back (log, commit on both), with a fake clock and fake
 * client connections. Covers read-only mode (ReadOnlyZooKeeperServer: read-only clients only,
 * local sessions, NOTREADONLY, isro/srvr/mntr, everything gone on leaving the mode) and local
 * sessions (LearnerSessionTracker / UpgradeableSessionTracker: no txn for create and close, writes
 * forwarded under the local id and let through by the leader, ephemeral upgrade or
 * EphemeralOnLocalSession, local expiry, not in the PING touch table). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "dtree.h"
#include "errors.h"
#include "jute.h"
#include "out.h"
#include "proto.h"
#include "records.h"
#include "server.h"
#include "session.h"
#include "txn.h"

#define MONO0 0x57f1abLL
#define WALL0 1700000000000LL
#define MAXC 16
#define MAXF 32
#define EPOCH1 (1LL << 32)

/* ---- fake shell and replication hook ---- */

struct inbox {
	uint64_t id;
	struct zk_wbuf in;
	size_t rpos;
	bool closed;
	enum zk_close_reason reason;
};

struct fwd {
	int64_t sid;
	int32_t cxid, op;
	uint8_t body[1024];
	size_t len;
	bool has_auth;
	struct zk_auth auth;
};

struct prop {
	int64_t zxid;
	uint8_t *txn;
	size_t len;
};

struct node {
	const char *mode;
	struct zk_server *s;
	struct zk_out out;
	struct inbox box[MAXC];
	int nbox;
	struct fwd fwd[MAXF];
	int nfwd, fwd_taken;
	struct prop prop[MAXF];
	int nprop, prop_taken;
	int persists;
};

struct qfx {
	struct zk_config cfg;
	struct zk_now now;
	struct node ld; /* myid 1, LEADER */
	struct node ln; /* myid 2, LEARNER (or read-only) */
	struct zk_wbuf rq;
	int32_t xid;
};

static void on_proposed(void *ctx, int64_t zxid, const uint8_t *txn, size_t len, struct zk_out *out)
{
	(void)out;
	struct node *n = ctx;
	assert_true(n->nprop < MAXF);
	struct prop *p = &n->prop[n->nprop++];
	p->zxid = zxid;
	p->txn = malloc(len);
	memcpy(p->txn, txn, len);
	p->len = len;
}

static void on_durable(void *ctx, struct zk_now now, uint64_t token, int rc, struct zk_out *out)
{
	(void)ctx, (void)now, (void)token, (void)rc, (void)out;
}

static void on_forward(void *ctx, int64_t sid, int32_t cxid, int32_t op, const uint8_t *body, size_t len,
                       const struct zk_auth *auth, struct zk_out *out)
{
	(void)out;
	struct node *n = ctx;
	assert_true(n->nfwd < MAXF);
	assert_true(len <= sizeof(n->fwd[0].body));
	struct fwd *f = &n->fwd[n->nfwd++];
	f->sid = sid;
	f->cxid = cxid;
	f->op = op;
	memcpy(f->body, body, len);
	f->len = len;
	f->has_auth = auth != NULL;
	if (auth)
		f->auth = *auth;
}

static const char *on_mode_name(void *ctx) { return ((struct node *)ctx)->mode; }

static struct inbox *box(struct node *n, uint64_t id)
{
	for (int i = 0; i < n->nbox; i++)
		if (n->box[i].id == id)
			return &n->box[i];
	assert_true(n->nbox < MAXC);
	struct inbox *b = &n->box[n->nbox++];
	memset(b, 0, sizeof(*b));
	b->id = id;
	zk_wbuf_init(&b->in);
	return b;
}

static void pump(struct qfx *q, struct node *n)
{
	assert_int_equal(n->out.err, 0);
	for (size_t i = 0; i < n->out.n; i++) {
		struct zk_out_item *it = &n->out.items[i];
		switch (it->kind) {
		case ZK_OUT_SEND: {
			struct inbox *b = box(n, it->conn_id);
			assert_false(b->closed);
			zk_jw_raw(&b->in, n->out.data.p + it->off, it->len);
			break;
		}
		case ZK_OUT_CLOSE: {
			struct inbox *b = box(n, it->conn_id);
			b->closed = true;
			b->reason = it->reason;
			zk_server_conn_closed(n->s, q->now, it->conn_id);
			break;
		}
		case ZK_OUT_PERSIST:
			n->persists++;
			break;
		default:
			fail_msg("unexpected output kind %d", it->kind);
		}
	}
	zk_out_reset(&n->out);
}

static void node_init(struct qfx *q, struct node *n, int64_t myid, const char *mode_name, enum zk_server_mode m)
{
	n->mode = mode_name;
	n->s = zk_server_new(&q->cfg, q->now, NULL);
	assert_non_null(n->s);
	zk_out_init(&n->out);
	zk_server_set_myid(n->s, myid);
	struct zk_repl r = {
		.ctx = n,
		.proposed = on_proposed,
		.durable = on_durable,
		.forward = on_forward,
		.mode_name = on_mode_name,
	};
	zk_server_set_repl(n->s, &r);
	zk_server_set_mode(n->s, q->now, m, m == ZK_MODE_LEADER ? EPOCH1 : 0, &n->out);
	pump(q, n);
}

static void node_fini(struct node *n)
{
	zk_server_free(n->s);
	zk_out_fini(&n->out);
	for (int i = 0; i < n->nbox; i++)
		zk_wbuf_fini(&n->box[i].in);
	for (int i = 0; i < n->nprop; i++)
		free(n->prop[i].txn);
}

static void set_mode(struct qfx *q, struct node *n, enum zk_server_mode m)
{
	zk_server_set_mode(n->s, q->now, m, 0, &n->out);
	pump(q, n);
}

/* Carries forwarded requests to the leader and its proposals to the learner, committing each on
 * both, until nothing is in flight. */
static void deliver(struct qfx *q)
{
	struct node *ld = &q->ld, *ln = &q->ln;
	for (bool any = true; any;) {
		any = false;
		while (ln->fwd_taken < ln->nfwd) {
			struct fwd *f = &ln->fwd[ln->fwd_taken++];
			zk_server_remote_request(ld->s, q->now, f->sid, f->cxid, f->op, f->body, f->len,
						 f->has_auth ? &f->auth : NULL, &ld->out);
			pump(q, ld);
			any = true;
		}
		while (ld->prop_taken < ld->nprop) {
			struct prop *p = &ld->prop[ld->prop_taken++];
			assert_int_equal(zk_server_learner_txn(ln->s, q->now, p->zxid, p->txn, p->len, &ln->out), 0);
			pump(q, ln);
			zk_server_commit(ld->s, q->now, p->zxid, &ld->out);
			pump(q, ld);
			zk_server_commit(ln->s, q->now, p->zxid, &ln->out);
			pump(q, ln);
			any = true;
		}
	}
}

static void tick(struct qfx *q, struct node *n)
{
	zk_server_tick(n->s, q->now, &n->out);
	pump(q, n);
}

static void advance(struct qfx *q, int64_t ms)
{
	q->now.mono_ms += ms;
	q->now.wall_ms += ms;
}

static struct qfx *qfx_new(bool local, bool upgrading)
{
	struct qfx *q = calloc(1, sizeof(*q));
	zk_config_defaults(&q->cfg);
	q->cfg.tick_time_ms = 2000;
	q->cfg.min_session_timeout_ms = 4000;
	q->cfg.max_session_timeout_ms = 40000;
	q->cfg.readonly_mode_enabled = true;
	q->cfg.local_sessions_enabled = local;
	q->cfg.local_sessions_upgrading_enabled = upgrading;
	snprintf(q->cfg.fourlw_whitelist, sizeof(q->cfg.fourlw_whitelist), "*");
	q->now = (struct zk_now){MONO0, WALL0};
	node_init(q, &q->ld, 1, "leader", ZK_MODE_LEADER);
	node_init(q, &q->ln, 2, "follower", ZK_MODE_LEARNER);
	zk_wbuf_init(&q->rq);
	return q;
}

static int setup_global(void **state)
{
	*state = qfx_new(false, false);
	return 0;
}

static int setup_local(void **state)
{
	*state = qfx_new(true, false);
	return 0;
}

static int setup_upgrading(void **state)
{
	*state = qfx_new(true, true);
	return 0;
}

static int teardown(void **state)
{
	struct qfx *q = *state;
	node_fini(&q->ld);
	node_fini(&q->ln);
	zk_wbuf_fini(&q->rq);
	free(q);
	return 0;
}

/* ---- client frames ---- */

static void open_conn(struct qfx *q, struct node *n, uint64_t id)
{
	assert_int_equal(zk_server_conn_open(n->s, q->now, id, "127.0.0.1", 40000 + (int)id, &n->out), 0);
	pump(q, n);
	box(n, id);
}

static void feed(struct qfx *q, struct node *n, uint64_t id, const uint8_t *p, size_t len)
{
	zk_server_frame(n->s, q->now, id, p, len, &n->out);
	pump(q, n);
}

enum trailer { NO_TRAILER, RW_CLIENT, RO_CLIENT };

static void send_connect(struct qfx *q, struct node *n, uint64_t id, int64_t sid, enum trailer t, int64_t last_zxid)
{
	struct zk_wbuf w;
	zk_wbuf_init(&w);
	zk_jw_int(&w, 0);
	zk_jw_long(&w, last_zxid);
	zk_jw_int(&w, 6000);
	zk_jw_long(&w, sid);
	uint8_t pw[16] = {0};
	if (sid)
		zk_session_passwd(sid, pw);
	zk_jw_buffer(&w, pw, 16);
	if (t != NO_TRAILER)
		zk_jw_bool(&w, t == RO_CLIENT);
	feed(q, n, id, w.p, w.len);
	zk_wbuf_fini(&w);
}

static struct zk_wbuf *rqx(struct qfx *q, int32_t op)
{
	zk_wbuf_reset(&q->rq);
	zk_jw_int(&q->rq, ++q->xid);
	zk_jw_int(&q->rq, op);
	return &q->rq;
}

static int32_t send_rq(struct qfx *q, struct node *n, uint64_t id)
{
	feed(q, n, id, q->rq.p, q->rq.len);
	return (int32_t)zk_get_be32(q->rq.p);
}

static void w_create(struct zk_wbuf *w, const char *path, const char *data, int32_t flags)
{
	zk_jw_cstr(w, path);
	zk_jw_buffer(w, (const uint8_t *)data, (int32_t)strlen(data));
	zk_jw_int(w, 1);
	zk_jw_int(w, ZK_PERM_ALL);
	zk_jw_cstr(w, "world");
	zk_jw_cstr(w, "anyone");
	zk_jw_int(w, flags);
}

static void w_path_bool(struct zk_wbuf *w, const char *path, bool v)
{
	zk_jw_cstr(w, path);
	zk_jw_bool(w, v);
}

/* ---- frames out ---- */

static bool next_frame(struct node *n, uint64_t id, const uint8_t **p, size_t *len)
{
	struct inbox *b = box(n, id);
	size_t left = b->in.len - b->rpos;
	if (!left)
		return false;
	assert_true(left >= 4);
	uint32_t fl = zk_get_be32(b->in.p + b->rpos);
	assert_true(left >= 4 + (size_t)fl);
	*p = b->in.p + b->rpos + 4;
	*len = fl;
	b->rpos += 4 + fl;
	return true;
}

static void expect_empty(struct node *n, uint64_t id)
{
	struct inbox *b = box(n, id);
	if (b->in.len != b->rpos)
		fail_msg("conn %llu has %zu unexpected bytes", (unsigned long long)id, b->in.len - b->rpos);
}

static void expect_open(struct node *n, uint64_t id) { assert_false(box(n, id)->closed); }

static void expect_closed(struct node *n, uint64_t id, enum zk_close_reason why)
{
	struct inbox *b = box(n, id);
	assert_true(b->closed);
	if (b->reason != why)
		fail_msg("closed for %s, expected %s", zk_close_reason_str(b->reason), zk_close_reason_str(why));
}

struct reply {
	int64_t zxid;
	int32_t err;
	struct zk_rbuf body;
};

static struct reply expect_reply(struct node *n, uint64_t id, int32_t xid)
{
	const uint8_t *p;
	size_t len;
	if (!next_frame(n, id, &p, &len))
		fail_msg("no reply for xid %d on conn %llu", xid, (unsigned long long)id);
	assert_true(len >= 16);
	struct reply r;
	zk_rbuf_init(&r.body, p, len, 1 << 20);
	assert_int_equal(zk_jr_int(&r.body), xid);
	r.zxid = zk_jr_long(&r.body);
	r.err = zk_jr_int(&r.body);
	if (r.err)
		assert_int_equal(len, 16);
	return r;
}

struct cresp {
	int32_t timeout;
	int64_t sid;
	uint8_t pw[16];
	int ro; /* -1: no readOnly byte */
};

static struct cresp expect_connect_response(struct node *n, uint64_t id)
{
	const uint8_t *p;
	size_t len;
	if (!next_frame(n, id, &p, &len))
		fail_msg("no ConnectResponse on conn %llu", (unsigned long long)id);
	struct cresp c;
	struct zk_rbuf r;
	zk_rbuf_init(&r, p, len, 64);
	assert_int_equal(zk_jr_int(&r), 0);
	c.timeout = zk_jr_int(&r);
	c.sid = zk_jr_long(&r);
	struct zk_bytes pw = zk_jr_buffer(&r);
	assert_int_equal(r.err, 0);
	assert_int_equal(pw.len, 16);
	memcpy(c.pw, pw.p, 16);
	c.ro = zk_rbuf_left(&r) ? zk_jr_byte(&r) : -1;
	assert_int_equal(r.err, 0);
	assert_int_equal(zk_rbuf_left(&r), 0);
	return c;
}

static void expect_valid_session(const struct cresp *c, int64_t myid, int ro)
{
	assert_true(c->sid != 0);
	assert_int_equal((uint64_t)c->sid >> 56, myid);
	assert_int_equal(c->timeout, 6000);
	uint8_t pw[16];
	zk_session_passwd(c->sid, pw);
	assert_memory_equal(c->pw, pw, 16);
	assert_int_equal(c->ro, ro);
}

static void fourlw(struct qfx *q, struct node *n, uint64_t id, const char *cmd, char *out, size_t cap)
{
	open_conn(q, n, id);
	zk_server_fourlw(n->s, q->now, id, (const uint8_t *)cmd, &n->out);
	pump(q, n);
	struct inbox *b = box(n, id);
	assert_true(b->in.len < cap);
	memcpy(out, b->in.p, b->in.len);
	out[b->in.len] = 0;
	b->rpos = b->in.len;
	expect_closed(n, id, ZK_CLOSE_FOURLW_DONE);
}

static void expect_mntr(struct qfx *q, struct node *n, uint64_t id, const char *line)
{
	char buf[16384];
	fourlw(q, n, id, "mntr", buf, sizeof(buf));
	if (!strstr(buf, line))
		fail_msg("mntr lacks \"%s\":\n%s", line, buf);
}

/* ---- sessions and calls ---- */

/* A session on the learner: a global one goes through the leader, a local one is answered at
 * once. */
static int64_t learner_session(struct qfx *q, uint64_t id)
{
	open_conn(q, &q->ln, id);
	send_connect(q, &q->ln, id, 0, RW_CLIENT, 0);
	deliver(q);
	struct cresp c = expect_connect_response(&q->ln, id);
	expect_valid_session(&c, 2, 0);
	return c.sid;
}

static struct reply call(struct qfx *q, struct node *n, uint64_t id)
{
	int32_t xid = send_rq(q, n, id);
	deliver(q);
	return expect_reply(n, id, xid);
}

static int32_t create(struct qfx *q, struct node *n, uint64_t id, const char *path, const char *data, int32_t flags)
{
	w_create(rqx(q, ZK_OP_CREATE), path, data, flags);
	struct reply r = call(q, n, id);
	if (!r.err) {
		struct zk_bytes name = zk_jr_buffer(&r.body);
		assert_int_equal(name.len, (int32_t)strlen(path));
		assert_memory_equal(name.p, path, strlen(path));
	}
	return r.err;
}

static int32_t get_data(struct qfx *q, struct node *n, uint64_t id, const char *path, const char *want)
{
	w_path_bool(rqx(q, ZK_OP_GETDATA), path, false);
	struct reply r = call(q, n, id);
	if (!r.err) {
		struct zk_bytes d = zk_jr_buffer(&r.body);
		assert_int_equal(d.len, (int32_t)strlen(want));
		assert_memory_equal(d.p, want, strlen(want));
	}
	return r.err;
}

static int32_t close_session(struct qfx *q, struct node *n, uint64_t id, int64_t *zxid)
{
	rqx(q, ZK_OP_CLOSESESSION);
	struct reply r = call(q, n, id);
	*zxid = r.zxid;
	return r.err;
}

static const struct zk_node *tree_get(struct node *n, const char *path)
{
	return zk_dtree_get(&zk_server_db(n->s)->tree, path, strlen(path));
}

static uint32_t global_sessions(struct node *n) { return zk_sessions_count(&zk_server_db(n->s)->sessions); }

static void ping(struct qfx *q, struct node *n, uint64_t id)
{
	zk_wbuf_reset(&q->rq);
	zk_jw_int(&q->rq, ZK_XID_PING);
	zk_jw_int(&q->rq, ZK_OP_PING);
	feed(q, n, id, q->rq.p, q->rq.len);
	expect_reply(n, id, ZK_XID_PING);
}

/* The learner's tree gets /a = "hello" through a global session, then the learner loses its
 * leader and goes read-only. Returns the global session's id. */
static int64_t enter_read_only(struct qfx *q)
{
	int64_t g = learner_session(q, 1);
	assert_int_equal(create(q, &q->ln, 1, "/a", "hello", ZK_CM_PERSISTENT), 0);
	set_mode(q, &q->ln, ZK_MODE_DOWN);
	expect_closed(&q->ln, 1, ZK_CLOSE_ROLE_CHANGE);
	set_mode(q, &q->ln, ZK_MODE_READONLY);
	assert_int_equal(zk_server_mode(q->ln.s), ZK_MODE_READONLY);
	q->ln.persists = 0;
	return g;
}

static int64_t ro_session(struct qfx *q, uint64_t id)
{
	open_conn(q, &q->ln, id);
	send_connect(q, &q->ln, id, 0, RO_CLIENT, 0);
	struct cresp c = expect_connect_response(&q->ln, id);
	expect_valid_session(&c, 2, 1);
	return c.sid;
}

/* ---- read-only mode ---- */

static void test_ro_connect(void **state)
{
	struct qfx *q = *state;
	int64_t g = enter_read_only(q);
	int64_t last = (int64_t)zk_server_last_zxid(q->ln.s);
	int64_t s = ro_session(q, 10);
	assert_true(s != g);
	assert_int_equal(q->ln.persists, 0);     /* no createSession txn */
	assert_int_equal(q->ln.nfwd, 2);         /* createSession and create /a, before the outage */
	assert_int_equal(global_sessions(&q->ln), 1);
	/* A client that does not accept a read-only server, and an old one: closed, no answer. */
	open_conn(q, &q->ln, 11);
	send_connect(q, &q->ln, 11, 0, RW_CLIENT, 0);
	expect_empty(&q->ln, 11);
	expect_closed(&q->ln, 11, ZK_CLOSE_NOT_READ_ONLY_CLIENT);
	open_conn(q, &q->ln, 12);
	send_connect(q, &q->ln, 12, 0, NO_TRAILER, 0);
	expect_empty(&q->ln, 12);
	expect_closed(&q->ln, 12, ZK_CLOSE_NOT_READ_ONLY_CLIENT);
	/* One that saw a newer zxid looks elsewhere too. */
	open_conn(q, &q->ln, 13);
	send_connect(q, &q->ln, 13, 0, RO_CLIENT, last + 1);
	expect_empty(&q->ln, 13);
	expect_closed(&q->ln, 13, ZK_CLOSE_ZXID_AHEAD);
	expect_open(&q->ln, 10);
}

static void test_ro_reads_and_writes(void **state)
{
	struct qfx *q = *state;
	enter_read_only(q);
	int64_t last = (int64_t)zk_server_last_zxid(q->ln.s);
	ro_session(q, 10);
	assert_int_equal(get_data(q, &q->ln, 10, "/a", "hello"), 0);
	w_path_bool(rqx(q, ZK_OP_EXISTS), "/nope", false);
	assert_int_equal(call(q, &q->ln, 10).err, ZNONODE);
	/* Writes, sync and check are refused with the last zxid. */
	w_create(rqx(q, ZK_OP_CREATE), "/b", "x", ZK_CM_PERSISTENT);
	struct reply r = call(q, &q->ln, 10);
	assert_int_equal(r.err, ZNOTREADONLY);
	assert_int_equal(r.zxid, last);
	zk_jw_cstr(rqx(q, ZK_OP_SETDATA), "/a");
	zk_jw_buffer(&q->rq, (const uint8_t *)"y", 1);
	zk_jw_int(&q->rq, -1);
	assert_int_equal(call(q, &q->ln, 10).err, ZNOTREADONLY);
	zk_jw_cstr(rqx(q, ZK_OP_DELETE), "/a");
	zk_jw_int(&q->rq, -1);
	assert_int_equal(call(q, &q->ln, 10).err, ZNOTREADONLY);
	zk_jw_cstr(rqx(q, ZK_OP_SYNC), "/a");
	assert_int_equal(call(q, &q->ln, 10).err, ZNOTREADONLY);
	zk_jw_int(rqx(q, ZK_OP_MULTI), -1);
	zk_jw_bool(&q->rq, true);
	zk_jw_int(&q->rq, -1);
	assert_int_equal(call(q, &q->ln, 10).err, ZNOTREADONLY);
	expect_open(&q->ln, 10);
	assert_int_equal(q->ln.persists, 0);
	assert_int_equal(q->ln.nfwd, 2); /* createSession and create /a before the outage */
	assert_int_equal((int64_t)zk_server_last_zxid(q->ln.s), last);
	assert_int_equal(get_data(q, &q->ln, 10, "/a", "hello"), 0);
	/* What the words say. */
	char buf[16384];
	fourlw(q, &q->ln, 20, "isro", buf, sizeof(buf));
	assert_string_equal(buf, "ro");
	fourlw(q, &q->ln, 21, "srvr", buf, sizeof(buf));
	assert_non_null(strstr(buf, "\nREAD-ONLY mode; serving only read-only clients\nLatency min/avg/max: "));
	assert_non_null(strstr(buf, "\nMode: read-only\n"));
	fourlw(q, &q->ln, 22, "stat", buf, sizeof(buf));
	assert_non_null(strstr(buf, "\nREAD-ONLY mode; serving only read-only clients\nClients:\n"));
	expect_mntr(q, &q->ln, 23, "zk_server_state\tread-only\n");
	expect_mntr(q, &q->ln, 24, "zk_local_sessions\t1\n");
	expect_mntr(q, &q->ln, 25, "zk_global_sessions\t1\n");
	fourlw(q, &q->ld, 20, "isro", buf, sizeof(buf));
	assert_string_equal(buf, "rw");
	set_mode(q, &q->ln, ZK_MODE_DOWN);
	fourlw(q, &q->ln, 26, "isro", buf, sizeof(buf));
	assert_string_equal(buf, "null");
}

static void test_ro_reconnect(void **state)
{
	struct qfx *q = *state;
	int64_t g = enter_read_only(q);
	int64_t s = ro_session(q, 10);
	/* The read-only session moves to a new connection. */
	open_conn(q, &q->ln, 11);
	send_connect(q, &q->ln, 11, s, RO_CLIENT, 0);
	struct cresp c = expect_connect_response(&q->ln, 11);
	expect_valid_session(&c, 2, 1);
	assert_true(c.sid == s);
	expect_closed(&q->ln, 10, ZK_CLOSE_RECONNECTED);
	/* A global session cannot be renewed in read-only mode: closed without an answer. */
	open_conn(q, &q->ln, 12);
	send_connect(q, &q->ln, 12, g, RO_CLIENT, 0);
	expect_empty(&q->ln, 12);
	expect_closed(&q->ln, 12, ZK_CLOSE_GLOBAL_SESSION_IN_RO);
	/* An unknown one is invalid (and the answer still says read-only). */
	open_conn(q, &q->ln, 13);
	send_connect(q, &q->ln, 13, s + 100, RO_CLIENT, 0);
	c = expect_connect_response(&q->ln, 13);
	assert_int_equal(c.timeout, 0);
	assert_true(c.sid == 0);
	assert_int_equal(c.ro, 1);
	expect_closed(&q->ln, 13, ZK_CLOSE_SESSION_INVALID);
	expect_open(&q->ln, 11);
	assert_int_equal(get_data(q, &q->ln, 11, "/a", "hello"), 0);
}

static void test_ro_close_and_expiry(void **state)
{
	struct qfx *q = *state;
	enter_read_only(q);
	int64_t last = (int64_t)zk_server_last_zxid(q->ln.s);
	int64_t s = ro_session(q, 10);
	int64_t zxid;
	assert_int_equal(close_session(q, &q->ln, 10, &zxid), 0);
	assert_int_equal(zxid, last);
	expect_closed(&q->ln, 10, ZK_CLOSE_SESSION_CLOSED);
	open_conn(q, &q->ln, 11);
	send_connect(q, &q->ln, 11, s, RO_CLIENT, 0);
	assert_int_equal(expect_connect_response(&q->ln, 11).timeout, 0);
	/* Expiry is local: one session pings, the other goes quiet. */
	ro_session(q, 12);
	ro_session(q, 13);
	for (int i = 0; i < 10; i++) {
		advance(q, 1000);
		ping(q, &q->ln, 12);
		tick(q, &q->ln);
	}
	expect_open(&q->ln, 12);
	expect_closed(&q->ln, 13, ZK_CLOSE_SESSION_EXPIRED);
	expect_mntr(q, &q->ln, 20, "zk_local_sessions\t1\n");
	assert_int_equal(q->ln.persists, 0);
	assert_int_equal(global_sessions(&q->ln), 1);
}

static void test_ro_leave(void **state)
{
	struct qfx *q = *state;
	enter_read_only(q);
	int64_t s = ro_session(q, 10);
	ro_session(q, 11);
	open_conn(q, &q->ln, 12); /* no ConnectRequest yet */
	set_mode(q, &q->ln, ZK_MODE_DOWN);
	expect_closed(&q->ln, 10, ZK_CLOSE_ROLE_CHANGE);
	expect_closed(&q->ln, 11, ZK_CLOSE_ROLE_CHANGE);
	expect_closed(&q->ln, 12, ZK_CLOSE_ROLE_CHANGE);
	/* Nothing of read-only mode reached the replicated table. */
	assert_int_equal(global_sessions(&q->ln), 1);
	assert_null(zk_sessions_get(&zk_server_db(q->ln.s)->sessions, s));
	/* Back with a leader: the read-only session is unknown. */
	set_mode(q, &q->ln, ZK_MODE_LEARNER);
	expect_mntr(q, &q->ln, 20, "zk_local_sessions\t0\n");
	open_conn(q, &q->ln, 13);
	send_connect(q, &q->ln, 13, s, RW_CLIENT, 0);
	struct cresp c = expect_connect_response(&q->ln, 13);
	assert_int_equal(c.timeout, 0);
	assert_int_equal(c.ro, 0);
	expect_closed(&q->ln, 13, ZK_CLOSE_SESSION_INVALID);
	/* Straight from read-only to learner closes everything too. */
	set_mode(q, &q->ln, ZK_MODE_DOWN);
	set_mode(q, &q->ln, ZK_MODE_READONLY);
	ro_session(q, 14);
	expect_mntr(q, &q->ln, 22, "zk_local_sessions\t1\n");
	set_mode(q, &q->ln, ZK_MODE_LEARNER);
	expect_closed(&q->ln, 14, ZK_CLOSE_ROLE_CHANGE);
	expect_mntr(q, &q->ln, 21, "zk_local_sessions\t0\n");
}

/* ---- local sessions ---- */

static void test_local_create_and_read(void **state)
{
	struct qfx *q = *state;
	int64_t s = learner_session(q, 1);
	assert_int_equal(q->ln.nfwd, 0); /* nothing for the leader */
	assert_int_equal(q->ln.persists, 0);
	assert_int_equal(global_sessions(&q->ld), 0);
	assert_int_equal(global_sessions(&q->ln), 0);
	w_path_bool(rqx(q, ZK_OP_EXISTS), "/", false);
	assert_int_equal(call(q, &q->ln, 1).err, 0);
	ping(q, &q->ln, 1);
	/* Not in the PING touch table: the leader never hears of it. */
	struct zk_wbuf w;
	zk_wbuf_init(&w);
	zk_server_take_touched(q->ln.s, &w);
	assert_int_equal(w.len, 0);
	zk_wbuf_fini(&w);
	expect_mntr(q, &q->ln, 20, "zk_local_sessions\t1\n");
	expect_mntr(q, &q->ln, 21, "zk_global_sessions\t0\n");
	expect_mntr(q, &q->ld, 20, "zk_local_sessions\t0\n");
	/* Re-established on the same learner. */
	open_conn(q, &q->ln, 2);
	send_connect(q, &q->ln, 2, s, RW_CLIENT, 0);
	struct cresp c = expect_connect_response(&q->ln, 2);
	expect_valid_session(&c, 2, 0);
	expect_closed(&q->ln, 1, ZK_CLOSE_RECONNECTED);
	assert_int_equal(q->ln.nfwd, 0);
}

static void test_local_writes_forwarded(void **state)
{
	struct qfx *q = *state;
	int64_t s = learner_session(q, 1);
	/* A create and a read behind it: the read waits for the create's commit. */
	w_create(rqx(q, ZK_OP_CREATE), "/p", "v", ZK_CM_PERSISTENT);
	int32_t cx = send_rq(q, &q->ln, 1);
	w_path_bool(rqx(q, ZK_OP_GETDATA), "/p", false);
	int32_t gx = send_rq(q, &q->ln, 1);
	expect_empty(&q->ln, 1);
	assert_int_equal(q->ln.nfwd, 1);
	assert_true(q->ln.fwd[0].sid == s);
	assert_int_equal(q->ln.fwd[0].op, ZK_OP_CREATE);
	assert_int_equal(q->ln.fwd[0].cxid, cx);
	deliver(q);
	struct reply r = expect_reply(&q->ln, 1, cx);
	assert_int_equal(r.err, 0);
	assert_int_equal(r.zxid, EPOCH1 + 1);
	assert_int_equal(expect_reply(&q->ln, 1, gx).err, 0);
	assert_non_null(tree_get(&q->ld, "/p"));
	assert_non_null(tree_get(&q->ln, "/p"));
	zk_jw_cstr(rqx(q, ZK_OP_SETDATA), "/p");
	zk_jw_buffer(&q->rq, (const uint8_t *)"w", 1);
	zk_jw_int(&q->rq, -1);
	assert_int_equal(call(q, &q->ln, 1).err, 0);
	assert_int_equal(get_data(q, &q->ln, 1, "/p", "w"), 0);
	assert_int_equal(global_sessions(&q->ld), 0); /* still local */
	expect_mntr(q, &q->ln, 20, "zk_local_sessions\t1\n");
}

static void test_local_ephemeral_upgrade(void **state)
{
	struct qfx *q = *state;
	int64_t s = learner_session(q, 1);
	w_create(rqx(q, ZK_OP_CREATE), "/e", "v", ZK_CM_EPHEMERAL);
	int32_t xid = send_rq(q, &q->ln, 1);
	/* createSession for the same id first, then the create. */
	assert_int_equal(q->ln.nfwd, 2);
	assert_int_equal(q->ln.fwd[0].op, ZK_OP_CREATESESSION);
	assert_true(q->ln.fwd[0].sid == s);
	assert_int_equal(q->ln.fwd[0].len, 4);
	assert_int_equal(zk_get_be32(q->ln.fwd[0].body), 6000);
	assert_int_equal(q->ln.fwd[1].op, ZK_OP_CREATE);
	assert_true(q->ln.fwd[1].sid == s);
	/* While upgrading it is reported in the PING touch table. */
	struct zk_wbuf w;
	zk_wbuf_init(&w);
	zk_server_take_touched(q->ln.s, &w);
	assert_int_equal(w.len, 12);
	assert_true((int64_t)zk_get_be64(w.p) == s);
	zk_wbuf_fini(&w);
	deliver(q);
	assert_int_equal(expect_reply(&q->ln, 1, xid).err, 0);
	expect_empty(&q->ln, 1);
	assert_int_equal(global_sessions(&q->ld), 1);
	assert_int_equal(global_sessions(&q->ln), 1);
	expect_mntr(q, &q->ln, 20, "zk_local_sessions\t0\n");
	const struct zk_node *e = tree_get(&q->ln, "/e");
	assert_non_null(e);
	assert_true(e->stat.ephemeral_owner == s);
	/* Global now: closeSession goes to the leader and takes the ephemeral with it. */
	int64_t zxid;
	assert_int_equal(close_session(q, &q->ln, 1, &zxid), 0);
	assert_int_equal(q->ln.fwd[q->ln.nfwd - 1].op, ZK_OP_CLOSESESSION);
	assert_int_equal(zxid, EPOCH1 + 3);
	expect_closed(&q->ln, 1, ZK_CLOSE_SESSION_CLOSED);
	assert_null(tree_get(&q->ln, "/e"));
	assert_null(tree_get(&q->ld, "/e"));
	assert_int_equal(global_sessions(&q->ld), 0);
}

static void test_local_ephemeral_without_upgrading(void **state)
{
	struct qfx *q = *state;
	learner_session(q, 1);
	/* ZooKeeper forwards it anyway; the leader fails it and the learner answers -120. */
	assert_int_equal(create(q, &q->ln, 1, "/e", "v", ZK_CM_EPHEMERAL_SEQUENTIAL), ZEPHEMERALONLOCALSESSION);
	assert_int_equal(q->ln.nfwd, 1);
	assert_int_equal(q->ln.fwd[0].op, ZK_OP_CREATE);
	assert_int_equal((int64_t)zk_server_last_zxid(q->ld.s), EPOCH1 + 1);
	assert_null(tree_get(&q->ln, "/e0000000000"));
	/* A multi with an ephemeral create: the leader's per-op results. */
	struct zk_wbuf *w = rqx(q, ZK_OP_MULTI);
	zk_jw_int(w, ZK_OP_CREATE);
	zk_jw_bool(w, false);
	zk_jw_int(w, -1);
	w_create(w, "/m", "v", ZK_CM_EPHEMERAL);
	zk_jw_int(w, -1);
	zk_jw_bool(w, true);
	zk_jw_int(w, -1);
	struct reply r = call(q, &q->ln, 1);
	assert_int_equal(r.err, 0);
	assert_int_equal(zk_jr_int(&r.body), ZK_OP_ERROR);
	zk_jr_bool(&r.body);
	assert_int_equal(zk_jr_int(&r.body), ZSESSIONEXPIRED);
	assert_null(tree_get(&q->ln, "/m"));
	/* Persistent nodes are fine and the session stays local. */
	assert_int_equal(create(q, &q->ln, 1, "/p", "v", ZK_CM_PERSISTENT), 0);
	expect_mntr(q, &q->ln, 20, "zk_local_sessions\t1\n");
	assert_int_equal(global_sessions(&q->ld), 0);
}

static void test_local_close(void **state)
{
	struct qfx *q = *state;
	learner_session(q, 1);
	int64_t zxid;
	assert_int_equal(close_session(q, &q->ln, 1, &zxid), 0);
	assert_int_equal(zxid, (int64_t)zk_server_last_zxid(q->ln.s));
	expect_closed(&q->ln, 1, ZK_CLOSE_SESSION_CLOSED);
	assert_int_equal(q->ln.nfwd, 0);
	assert_int_equal(q->ln.persists, 0);
	expect_mntr(q, &q->ln, 20, "zk_local_sessions\t0\n");
	/* Behind a pending write it waits its turn. */
	learner_session(q, 2);
	w_create(rqx(q, ZK_OP_CREATE), "/q", "v", ZK_CM_PERSISTENT);
	int32_t cx = send_rq(q, &q->ln, 2);
	rqx(q, ZK_OP_CLOSESESSION);
	int32_t kx = send_rq(q, &q->ln, 2);
	expect_empty(&q->ln, 2);
	expect_open(&q->ln, 2);
	deliver(q);
	assert_int_equal(expect_reply(&q->ln, 2, cx).err, 0);
	struct reply r = expect_reply(&q->ln, 2, kx);
	assert_int_equal(r.err, 0);
	assert_int_equal(r.zxid, EPOCH1 + 1);
	expect_closed(&q->ln, 2, ZK_CLOSE_SESSION_CLOSED);
	assert_int_equal(q->ln.nfwd, 1); /* the create only */
}

static void test_local_expiry(void **state)
{
	struct qfx *q = *state;
	learner_session(q, 1);
	learner_session(q, 2);
	for (int i = 0; i < 10; i++) {
		advance(q, 1000);
		ping(q, &q->ln, 1);
		tick(q, &q->ln);
		tick(q, &q->ld);
	}
	expect_open(&q->ln, 1);
	expect_closed(&q->ln, 2, ZK_CLOSE_SESSION_EXPIRED);
	assert_int_equal(q->ln.nfwd, 0);
	assert_int_equal(q->ld.nprop, 0); /* the leader never heard of either */
	expect_mntr(q, &q->ln, 20, "zk_local_sessions\t1\n");
	assert_true(zk_server_next_wake(q->ln.s) <= q->now.mono_ms + 6000 + 2000);
}

static void test_local_role_change(void **state)
{
	struct qfx *q = *state;
	int64_t s = learner_session(q, 1);
	set_mode(q, &q->ln, ZK_MODE_DOWN);
	expect_closed(&q->ln, 1, ZK_CLOSE_ROLE_CHANGE);
	set_mode(q, &q->ln, ZK_MODE_LEARNER);
	expect_mntr(q, &q->ln, 20, "zk_local_sessions\t0\n");
	open_conn(q, &q->ln, 2);
	send_connect(q, &q->ln, 2, s, RW_CLIENT, 0);
	assert_int_equal(expect_connect_response(&q->ln, 2).timeout, 0);
	expect_closed(&q->ln, 2, ZK_CLOSE_SESSION_INVALID);
}

/* The type and (for an error txn) the code of the leader's last proposal. */
static void last_proposal(struct qfx *q, int32_t *type, int32_t *err)
{
	assert_true(q->ld.nprop > 0);
	struct prop *p = &q->ld.prop[q->ld.nprop - 1];
	q->ld.prop_taken = q->ld.nprop;
	struct zk_rbuf r;
	struct zk_txn_header h;
	zk_rbuf_init(&r, p->txn, p->len, p->len);
	assert_int_equal(zk_txn_header_read(&r, &h), 0);
	*type = h.type;
	*err = h.type == ZK_OP_ERROR ? zk_jr_int(&r) : 0;
}

static void remote_create(struct qfx *q, int64_t sid, const char *path, int32_t flags)
{
	struct zk_wbuf w;
	zk_wbuf_init(&w);
	w_create(&w, path, "v", flags);
	zk_server_remote_request(q->ld.s, q->now, sid, 7, ZK_OP_CREATE, w.p, w.len, NULL, &q->ld.out);
	pump(q, &q->ld);
	zk_wbuf_fini(&w);
}

static void test_leader_remote_local_sessions(void **state)
{
	struct qfx *q = *state;
	bool local = q->cfg.local_sessions_enabled;
	int32_t type, err;
	/* An unknown session of member 2: its local session, let through (no ephemeral though). */
	remote_create(q, (2LL << 56) | 5, "/r", ZK_CM_PERSISTENT);
	last_proposal(q, &type, &err);
	assert_int_equal(type, local ? ZK_OP_CREATE : ZK_OP_ERROR);
	assert_int_equal(err, local ? 0 : ZSESSIONEXPIRED);
	remote_create(q, (2LL << 56) | 5, "/r2", ZK_CM_EPHEMERAL);
	last_proposal(q, &type, &err);
	assert_int_equal(type, ZK_OP_ERROR);
	assert_int_equal(err, ZSESSIONEXPIRED);
	/* One carrying the leader's own id that it does not know has expired. */
	remote_create(q, (1LL << 56) | 5, "/r3", ZK_CM_PERSISTENT);
	last_proposal(q, &type, &err);
	assert_int_equal(type, ZK_OP_ERROR);
	assert_int_equal(err, ZSESSIONEXPIRED);
	/* closeSession of an unknown session is never let through. */
	zk_server_remote_request(q->ld.s, q->now, (2LL << 56) | 5, 8, ZK_OP_CLOSESESSION, NULL, 0, NULL, &q->ld.out);
	pump(q, &q->ld);
	last_proposal(q, &type, &err);
	assert_int_equal(type, ZK_OP_ERROR);
	assert_int_equal(global_sessions(&q->ld), 0);
}

#define TG(fn) cmocka_unit_test_setup_teardown(fn, setup_global, teardown)
#define TL(fn) cmocka_unit_test_setup_teardown(fn, setup_local, teardown)
#define TU(fn) cmocka_unit_test_setup_teardown(fn, setup_upgrading, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TG(test_ro_connect),
		TG(test_ro_reads_and_writes),
		TG(test_ro_reconnect),
		TG(test_ro_close_and_expiry),
		TG(test_ro_leave),
		TL(test_local_create_and_read),
		TL(test_local_writes_forwarded),
		TU(test_local_ephemeral_upgrade),
		TL(test_local_ephemeral_without_upgrading),
		TL(test_local_close),
		TL(test_local_expiry),
		TL(test_local_role_change),
		TL(test_leader_remote_local_sessions),
		TG(test_leader_remote_local_sessions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
