/* The standalone core driven through its public API (server.h) with a fake clock and a fake
 * shell: frames built with the jute writers go in, zk_out items come out; PERSIST tokens are
 * released with zk_server_disk_done; replies are parsed and compared with the bytes and values
 * of protocol.md (handshake, every operation, error codes, multi, pipelining, watches, expiry,
 * containers, TTLs, four-letter words). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "jute.h"
#include "out.h"
#include "proto.h"
#include "records.h"
#include "server.h"
#include "session.h"

/* The live standalone example of protocol.md 2.1/2.10: a monotonic clock whose low 40 bits are
 * 0x57f1ab gives session 0x01000057f1ab0000 with password d7dc59ab... */
#define MONO0 0x57f1abLL
#define WALL0 1700000000000LL
#define SID0 0x01000057f1ab0000LL
#define BOB "bob:csg2zv5/WXoqHso9EuiBpjDPMUk="

/* ---- the fake shell ---- */

#define MAXC 16

struct inbox {
	uint64_t id;
	struct zk_wbuf in; /* bytes sent to this connection */
	size_t rpos;
	bool closed;
	enum zk_close_reason reason;
};

struct fx {
	struct zk_config cfg;
	struct zk_server *s;
	struct zk_now now;
	struct zk_out out;
	struct inbox box[MAXC];
	int nbox;
	uint64_t max_token; /* highest PERSIST token not yet released */
	int persists;       /* PERSIST items not yet released */
	uint64_t last_token;
	bool auto_close;    /* call zk_server_conn_closed for each CLOSE, as the shell does */
	struct zk_wbuf rq;
	int32_t xid;
};

static struct inbox *box(struct fx *f, uint64_t id)
{
	for (int i = 0; i < f->nbox; i++)
		if (f->box[i].id == id)
			return &f->box[i];
	assert_true(f->nbox < MAXC);
	struct inbox *b = &f->box[f->nbox++];
	memset(b, 0, sizeof(*b));
	b->id = id;
	zk_wbuf_init(&b->in);
	return b;
}

/* Carries out what the core asked for. */
static void pump(struct fx *f)
{
	assert_int_equal(f->out.err, 0);
	for (size_t i = 0; i < f->out.n; i++) {
		struct zk_out_item *it = &f->out.items[i];
		switch (it->kind) {
		case ZK_OUT_SEND: {
			struct inbox *b = box(f, it->conn_id);
			assert_false(b->closed); /* nothing is sent after a CLOSE */
			zk_jw_raw(&b->in, f->out.data.p + it->off, it->len);
			break;
		}
		case ZK_OUT_CLOSE: {
			struct inbox *b = box(f, it->conn_id);
			b->closed = true;
			b->reason = it->reason;
			if (f->auto_close)
				zk_server_conn_closed(f->s, f->now, it->conn_id);
			break;
		}
		case ZK_OUT_PERSIST:
			/* Tokens are zxids: strictly increasing. */
			assert_true(it->token > f->last_token);
			f->last_token = it->token;
			f->max_token = it->token;
			f->persists++;
			assert_true(it->len >= 32);
			break;
		default:
			fail_msg("a standalone server asked for quorum output kind %d", it->kind);
		}
	}
	zk_out_reset(&f->out);
}

static void disk(struct fx *f)
{
	if (f->persists) {
		zk_server_disk_done(f->s, f->now, f->max_token, 0, &f->out);
		f->persists = 0;
	}
	pump(f);
}

static void tick(struct fx *f)
{
	zk_server_tick(f->s, f->now, &f->out);
	pump(f);
}

static void advance(struct fx *f, int64_t ms)
{
	f->now.mono_ms += ms;
	f->now.wall_ms += ms;
}

static void base_config(struct zk_config *c)
{
	zk_config_defaults(c);
	c->tick_time_ms = 2000;
	snprintf(c->data_dir, sizeof(c->data_dir), "zkedge-test-data");
	snprintf(c->data_log_dir, sizeof(c->data_log_dir), "zkedge-test-data");
	/* What the parser resolves from tickTime. */
	c->min_session_timeout_ms = 2 * c->tick_time_ms;
	c->max_session_timeout_ms = 20 * c->tick_time_ms;
}

static struct fx *fx_new(void (*tweak)(struct zk_config *))
{
	struct fx *f = calloc(1, sizeof(*f));
	base_config(&f->cfg);
	if (tweak)
		tweak(&f->cfg);
	f->now = (struct zk_now){MONO0, WALL0};
	f->s = zk_server_new(&f->cfg, f->now, NULL);
	assert_non_null(f->s);
	zk_out_init(&f->out);
	zk_wbuf_init(&f->rq);
	f->auto_close = true;
	return f;
}

static void fx_free(struct fx *f)
{
	disk(f);
	assert_int_equal(zk_server_outstanding(f->s), 0);
	zk_server_free(f->s);
	zk_out_fini(&f->out);
	zk_wbuf_fini(&f->rq);
	for (int i = 0; i < f->nbox; i++)
		zk_wbuf_fini(&f->box[i].in);
	free(f);
}

static int setup(void **state)
{
	*state = fx_new(NULL);
	return 0;
}

static int teardown(void **state)
{
	fx_free(*state);
	return 0;
}

/* ---- frames in ---- */

static void open_conn_ip(struct fx *f, uint64_t id, const char *ip)
{
	assert_int_equal(zk_server_conn_open(f->s, f->now, id, ip, 40000 + (int)id, &f->out), 0);
	pump(f);
	box(f, id);
}

static void open_conn(struct fx *f, uint64_t id) { open_conn_ip(f, id, "127.0.0.1"); }

static void feed(struct fx *f, uint64_t id, const uint8_t *p, size_t n)
{
	zk_server_frame(f->s, f->now, id, p, n, &f->out);
	pump(f);
}

static void send_connect(struct fx *f, uint64_t id, int64_t sid, const uint8_t *pw, int32_t timeout, bool trailer,
                         int64_t last_zxid)
{
	struct zk_wbuf w;
	zk_wbuf_init(&w);
	zk_jw_int(&w, 0);
	zk_jw_long(&w, last_zxid);
	zk_jw_int(&w, timeout);
	zk_jw_long(&w, sid);
	static const uint8_t zeros[16];
	zk_jw_buffer(&w, pw ? pw : zeros, 16);
	if (trailer)
		zk_jw_bool(&w, false);
	feed(f, id, w.p, w.len);
	zk_wbuf_fini(&w);
}

/* Starts a request frame (header only) in f->rq. */
static struct zk_wbuf *rq(struct fx *f, int32_t xid, int32_t op)
{
	zk_wbuf_reset(&f->rq);
	zk_jw_int(&f->rq, xid);
	zk_jw_int(&f->rq, op);
	return &f->rq;
}

static struct zk_wbuf *rqx(struct fx *f, int32_t op) { return rq(f, ++f->xid, op); }

static void send_rq(struct fx *f, uint64_t id) { feed(f, id, f->rq.p, f->rq.len); }

static void w_open_acl(struct zk_wbuf *w)
{
	zk_jw_int(w, 1);
	zk_jw_int(w, ZK_PERM_ALL);
	zk_jw_cstr(w, "world");
	zk_jw_cstr(w, "anyone");
}

static void w_create(struct zk_wbuf *w, const char *path, const char *data, int32_t flags)
{
	zk_jw_cstr(w, path);
	zk_jw_buffer(w, (const uint8_t *)data, data ? (int32_t)strlen(data) : -1);
	w_open_acl(w);
	zk_jw_int(w, flags);
}

static void w_path_int(struct zk_wbuf *w, const char *path, int32_t v)
{
	zk_jw_cstr(w, path);
	zk_jw_int(w, v);
}

static void w_path_bool(struct zk_wbuf *w, const char *path, bool v)
{
	zk_jw_cstr(w, path);
	zk_jw_bool(w, v);
}

static void w_set_data(struct zk_wbuf *w, const char *path, const char *data, int32_t version)
{
	zk_jw_cstr(w, path);
	zk_jw_buffer(w, (const uint8_t *)data, data ? (int32_t)strlen(data) : -1);
	zk_jw_int(w, version);
}

static void w_multi_op(struct zk_wbuf *w, int32_t type)
{
	zk_jw_int(w, type);
	zk_jw_bool(w, false);
	zk_jw_int(w, -1);
}

static void w_multi_end(struct zk_wbuf *w)
{
	zk_jw_int(w, -1);
	zk_jw_bool(w, true);
	zk_jw_int(w, -1);
}

/* ---- frames out ---- */

struct frame {
	const uint8_t *p;
	size_t len;
};

static bool next_frame(struct fx *f, uint64_t id, struct frame *fr)
{
	struct inbox *b = box(f, id);
	size_t left = b->in.len - b->rpos;
	if (left == 0)
		return false;
	assert_true(left >= 4);
	uint32_t n = zk_get_be32(b->in.p + b->rpos);
	assert_true(left >= 4 + (size_t)n);
	fr->p = b->in.p + b->rpos + 4;
	fr->len = n;
	b->rpos += 4 + n;
	return true;
}

static void expect_empty(struct fx *f, uint64_t id)
{
	struct inbox *b = box(f, id);
	if (b->in.len != b->rpos)
		fail_msg("conn %llu has %zu unexpected bytes", (unsigned long long)id, b->in.len - b->rpos);
}

static void expect_open(struct fx *f, uint64_t id) { assert_false(box(f, id)->closed); }

static void expect_closed(struct fx *f, uint64_t id, enum zk_close_reason why)
{
	struct inbox *b = box(f, id);
	assert_true(b->closed);
	if (b->reason != why)
		fail_msg("closed for %s, expected %s", zk_close_reason_str(b->reason), zk_close_reason_str(why));
}

struct reply {
	int32_t xid;
	int64_t zxid;
	int32_t err;
	struct zk_rbuf body;
	size_t frame_len;
};

static struct reply expect_reply(struct fx *f, uint64_t id, int32_t xid)
{
	struct frame fr;
	if (!next_frame(f, id, &fr))
		fail_msg("no reply for xid %d on conn %llu", xid, (unsigned long long)id);
	struct reply r;
	assert_true(fr.len >= 16);
	zk_rbuf_init(&r.body, fr.p, fr.len, 1 << 20);
	r.xid = zk_jr_int(&r.body);
	r.zxid = zk_jr_long(&r.body);
	r.err = zk_jr_int(&r.body);
	r.frame_len = fr.len;
	assert_int_not_equal(r.xid, ZK_XID_NOTIFICATION);
	assert_int_equal(r.xid, xid);
	/* An error reply is the header alone (multi and multiRead aside, which always say 0). */
	if (r.err)
		assert_int_equal(fr.len, 16);
	return r;
}

static void expect_event(struct fx *f, uint64_t id, int type, const char *path)
{
	struct frame fr;
	if (!next_frame(f, id, &fr))
		fail_msg("no event %d %s on conn %llu", type, path, (unsigned long long)id);
	struct zk_rbuf r;
	zk_rbuf_init(&r, fr.p, fr.len, 1 << 20);
	assert_int_equal(zk_jr_int(&r), -1);
	assert_true(zk_jr_long(&r) == -1);
	assert_int_equal(zk_jr_int(&r), 0);
	int got = zk_jr_int(&r);
	if (got != type)
		fail_msg("event type %d, expected %d (%s)", got, type, path);
	assert_int_equal(zk_jr_int(&r), ZK_STATE_SYNC_CONNECTED);
	struct zk_bytes p = zk_jr_buffer(&r);
	assert_int_equal(r.err, 0);
	assert_int_equal(p.len, (int32_t)strlen(path));
	assert_memory_equal(p.p, path, strlen(path));
	assert_int_equal(zk_rbuf_left(&r), 0);
}

static void read_str(struct zk_rbuf *r, char *out, size_t cap)
{
	struct zk_bytes b = zk_jr_buffer(r);
	assert_int_equal(r->err, 0);
	if (b.len < 0) {
		snprintf(out, cap, "(null)");
		return;
	}
	assert_true((size_t)b.len < cap);
	memcpy(out, b.p, (size_t)b.len);
	out[b.len] = 0;
}

static void expect_str(struct zk_rbuf *r, const char *want)
{
	char got[512];
	read_str(r, got, sizeof(got));
	assert_string_equal(got, want);
}

static void expect_end(struct zk_rbuf *r)
{
	assert_int_equal(r->err, 0);
	assert_int_equal(zk_rbuf_left(r), 0);
}

struct cresp {
	int32_t proto, timeout;
	int64_t sid;
	int32_t pwlen;
	uint8_t pw[16];
	bool has_ro;
	size_t len;
};

static struct cresp expect_connect_response(struct fx *f, uint64_t id)
{
	struct frame fr;
	if (!next_frame(f, id, &fr))
		fail_msg("no ConnectResponse on conn %llu", (unsigned long long)id);
	struct cresp c = {0};
	struct zk_rbuf r;
	zk_rbuf_init(&r, fr.p, fr.len, 64);
	c.proto = zk_jr_int(&r);
	c.timeout = zk_jr_int(&r);
	c.sid = zk_jr_long(&r);
	struct zk_bytes pw = zk_jr_buffer(&r);
	assert_int_equal(r.err, 0);
	c.pwlen = pw.len;
	assert_int_equal(pw.len, 16);
	memcpy(c.pw, pw.p, 16);
	c.has_ro = zk_rbuf_left(&r) == 1;
	if (c.has_ro)
		assert_int_equal(zk_jr_byte(&r), 0);
	expect_end(&r);
	c.len = fr.len;
	return c;
}

/* ---- sessions and calls ---- */

/* Opens a connection and creates a session on it; returns the session id. */
static int64_t session(struct fx *f, uint64_t id, int32_t timeout)
{
	open_conn(f, id);
	send_connect(f, id, 0, NULL, timeout, true, 0);
	disk(f);
	struct cresp c = expect_connect_response(f, id);
	assert_true(c.sid != 0);
	uint8_t pw[16];
	zk_session_passwd(c.sid, pw);
	assert_memory_equal(c.pw, pw, 16);
	return c.sid;
}

/* Sends f->rq, releases what it persisted, returns its reply. */
static struct reply call(struct fx *f, uint64_t id)
{
	int32_t xid = (int32_t)zk_get_be32(f->rq.p);
	send_rq(f, id);
	disk(f);
	return expect_reply(f, id, xid);
}

static int32_t create(struct fx *f, uint64_t id, const char *path, const char *data, int32_t flags, char *got)
{
	w_create(rqx(f, ZK_OP_CREATE), path, data, flags);
	struct reply r = call(f, id);
	if (!r.err) {
		char name[512];
		read_str(&r.body, name, sizeof(name));
		expect_end(&r.body);
		if (got)
			strcpy(got, name);
		else
			assert_string_equal(name, path);
	}
	return r.err;
}

static int32_t del(struct fx *f, uint64_t id, const char *path, int32_t version)
{
	w_path_int(rqx(f, ZK_OP_DELETE), path, version);
	struct reply r = call(f, id);
	expect_end(&r.body);
	return r.err;
}

static int32_t set_data(struct fx *f, uint64_t id, const char *path, const char *data, int32_t version,
                        struct zk_stat *st)
{
	w_set_data(rqx(f, ZK_OP_SETDATA), path, data, version);
	struct reply r = call(f, id);
	if (!r.err) {
		struct zk_stat tmp;
		zk_stat_read(&r.body, st ? st : &tmp);
		expect_end(&r.body);
	}
	return r.err;
}

static int32_t get_data(struct fx *f, uint64_t id, const char *path, bool watch, char *data, struct zk_stat *st)
{
	w_path_bool(rqx(f, ZK_OP_GETDATA), path, watch);
	struct reply r = call(f, id);
	if (!r.err) {
		char tmp[512];
		read_str(&r.body, data ? data : tmp, 512);
		struct zk_stat s;
		zk_stat_read(&r.body, st ? st : &s);
		expect_end(&r.body);
	}
	return r.err;
}

static int32_t exists(struct fx *f, uint64_t id, const char *path, bool watch, struct zk_stat *st)
{
	w_path_bool(rqx(f, ZK_OP_EXISTS), path, watch);
	struct reply r = call(f, id);
	if (!r.err) {
		struct zk_stat s;
		zk_stat_read(&r.body, st ? st : &s);
		expect_end(&r.body);
	}
	return r.err;
}

static int32_t simple(struct fx *f, uint64_t id, int32_t op, const char *path, int32_t v)
{
	w_path_int(rqx(f, op), path, v);
	struct reply r = call(f, id);
	return r.err;
}

static int64_t last_zxid(struct fx *f) { return (int64_t)zk_server_last_zxid(f->s); }

/* ---- handshake ---- */

static void test_handshake_live_bytes(void **state)
{
	struct fx *f = *state;
	open_conn(f, 1);
	send_connect(f, 1, 0, NULL, 30000, true, 0);
	/* Nothing until the createSession txn is durable. */
	expect_empty(f, 1);
	assert_int_equal(f->persists, 1);
	assert_int_equal(zk_server_outstanding(f->s), 1);
	disk(f);
	/* protocol.md 2.1, verified live: the very same bytes. */
	static const uint8_t want[] = {0x00, 0x00, 0x00, 0x25, 0, 0, 0, 0, 0x00, 0x00, 0x75, 0x30,
				       0x01, 0x00, 0x00, 0x57, 0xf1, 0xab, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
				       0xd7, 0xdc, 0x59, 0xab, 0x18, 0x63, 0x75, 0x86, 0x0d, 0x8d, 0x23, 0x89,
				       0x21, 0x05, 0x7b, 0x38, 0x00};
	struct inbox *b = box(f, 1);
	assert_int_equal(b->in.len, sizeof(want));
	assert_memory_equal(b->in.p, want, sizeof(want));
	b->rpos = b->in.len;
	assert_int_equal(last_zxid(f), 1);
	assert_int_equal(zk_server_outstanding(f->s), 0);

	/* protocol.md 2.4, verified live: create /foo "bar" -> the same reply bytes. */
	struct zk_wbuf *w = rq(f, 1, ZK_OP_CREATE);
	w_create(w, "/foo", "bar", 0);
	static const uint8_t req[] = {0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x04, '/',
				      'f',  'o',  'o',  0x00, 0x00, 0x00, 0x03, 'b',  'a',  'r',  0x00, 0x00, 0x00,
				      0x01, 0x00, 0x00, 0x00, 0x1f, 0x00, 0x00, 0x00, 0x05, 'w',  'o',  'r',  'l',
				      'd',  0x00, 0x00, 0x00, 0x06, 'a',  'n',  'y',  'o',  'n',  'e',  0x00, 0x00,
				      0x00, 0x00};
	assert_int_equal(w->len, sizeof(req));
	assert_memory_equal(w->p, req, sizeof(req));
	send_rq(f, 1);
	expect_empty(f, 1);
	disk(f);
	static const uint8_t rep[] = {0x00, 0x00, 0x00, 0x18, 0x00, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 2,
				      0, 0, 0, 0, 0x00, 0x00, 0x00, 0x04, '/', 'f', 'o', 'o'};
	assert_int_equal(b->in.len - b->rpos, sizeof(rep));
	assert_memory_equal(b->in.p + b->rpos, rep, sizeof(rep));
	b->rpos = b->in.len;
}

static void test_handshake_timeouts_and_old_client(void **state)
{
	struct fx *f = *state;
	/* Clamped to [2, 20] x tickTime: 100 -> 4000, 10 000 000 -> 40 000 (verified live). */
	open_conn(f, 1);
	send_connect(f, 1, 0, NULL, 100, true, 0);
	disk(f);
	struct cresp c = expect_connect_response(f, 1);
	assert_int_equal(c.timeout, 4000);
	assert_true(c.has_ro);
	assert_int_equal(c.len, 37);
	assert_true(c.sid == SID0);
	open_conn(f, 2);
	send_connect(f, 2, 0, NULL, 10000000, false, 0);
	disk(f);
	c = expect_connect_response(f, 2);
	assert_int_equal(c.timeout, 40000);
	/* No readOnly byte from the client: none in the answer either. */
	assert_false(c.has_ro);
	assert_int_equal(c.len, 36);
	assert_true(c.sid == SID0 + 1);
}

static void test_reconnect(void **state)
{
	struct fx *f = *state;
	int64_t sid = session(f, 1, 30000);
	assert_int_equal(create(f, 1, "/e", "", ZK_CM_EPHEMERAL, NULL), 0);
	/* Resume on another connection with the right password: immediate answer, the old
	 * connection is closed. */
	uint8_t pw[16];
	zk_session_passwd(sid, pw);
	open_conn(f, 2);
	send_connect(f, 2, sid, pw, 20000, true, last_zxid(f));
	assert_int_equal(f->persists, 0);
	struct cresp c = expect_connect_response(f, 2);
	assert_true(c.sid == sid);
	assert_int_equal(c.timeout, 20000);
	assert_memory_equal(c.pw, pw, 16);
	expect_closed(f, 1, ZK_CLOSE_RECONNECTED);
	expect_open(f, 2);
	/* The session and its ephemeral live on. */
	assert_int_equal(exists(f, 2, "/e", false, NULL), 0);

	/* A wrong password: invalid-session answer (timeout 0, id 0, 16 zero bytes) and close. And,
	 * as ZooKeeper does, the connection bound to the session was closed before the check. */
	uint8_t bad[16];
	memcpy(bad, pw, 16);
	bad[0] ^= 1;
	open_conn(f, 3);
	send_connect(f, 3, sid, bad, 30000, true, 0);
	c = expect_connect_response(f, 3);
	static const uint8_t zeros[16];
	assert_int_equal(c.timeout, 0);
	assert_true(c.sid == 0);
	assert_memory_equal(c.pw, zeros, 16);
	expect_closed(f, 3, ZK_CLOSE_SESSION_INVALID);
	expect_closed(f, 2, ZK_CLOSE_RECONNECTED);
	/* An unknown session: the same. */
	open_conn(f, 4);
	zk_session_passwd(sid + 99, pw);
	send_connect(f, 4, sid + 99, pw, 30000, true, 0);
	c = expect_connect_response(f, 4);
	assert_int_equal(c.timeout, 0);
	expect_closed(f, 4, ZK_CLOSE_SESSION_INVALID);
	/* The right password again still works: the session itself is fine. */
	zk_session_passwd(sid, pw);
	open_conn(f, 5);
	send_connect(f, 5, sid, pw, 30000, true, 0);
	c = expect_connect_response(f, 5);
	assert_true(c.sid == sid);
}

static void test_connect_refusals(void **state)
{
	struct fx *f = *state;
	/* lastZxidSeen ahead of ours: closed without a word. */
	open_conn(f, 1);
	send_connect(f, 1, 0, NULL, 30000, true, 5);
	expect_empty(f, 1);
	expect_closed(f, 1, ZK_CLOSE_ZXID_AHEAD);
	assert_int_equal(f->persists, 0);
	/* A truncated ConnectRequest. */
	open_conn(f, 2);
	feed(f, 2, (const uint8_t *)"\0\0\0\0\0\0", 6);
	expect_empty(f, 2);
	expect_closed(f, 2, ZK_CLOSE_BAD_CONNECT);
	/* Frames for unknown or closed connections are ignored. */
	feed(f, 99, (const uint8_t *)"\0\0\0\0\0\0", 6);
	expect_empty(f, 99);
	/* A connection that never sends its ConnectRequest is closed after
	 * nio.sessionlessCnxnTimeout (10 s). */
	open_conn(f, 3);
	advance(f, 5000);
	tick(f);
	expect_open(f, 3);
	advance(f, 5001);
	tick(f);
	expect_closed(f, 3, ZK_CLOSE_IDLE);
}

static void tweak_max_cnxns(struct zk_config *c) { c->max_client_cnxns = 2; }

static void test_max_client_cnxns(void **state)
{
	(void)state;
	struct fx *f = fx_new(tweak_max_cnxns);
	open_conn(f, 1);
	open_conn(f, 2);
	assert_int_equal(zk_server_conn_open(f->s, f->now, 3, "127.0.0.1", 1, &f->out), -1);
	pump(f);
	expect_closed(f, 3, ZK_CLOSE_TOO_MANY);
	open_conn_ip(f, 4, "10.0.0.2"); /* per address */
	zk_server_conn_closed(f->s, f->now, 1);
	open_conn(f, 5); /* a slot came free */
	fx_free(f);
}

static void test_requests_before_connect_response(void **state)
{
	struct fx *f = *state;
	open_conn(f, 1);
	send_connect(f, 1, 0, NULL, 30000, true, 0);
	/* The client does not wait: an auth and a read sent now are answered after the
	 * ConnectResponse, in order (ZooKeeper reads nothing more until it has answered). */
	struct zk_wbuf *w = rq(f, ZK_XID_AUTH, ZK_OP_AUTH);
	zk_jw_int(w, 0);
	zk_jw_cstr(w, "digest");
	zk_jw_buffer(w, (const uint8_t *)"bob:abc", 7);
	send_rq(f, 1);
	w_path_bool(rq(f, 1, ZK_OP_GETDATA), "/zookeeper/config", false);
	send_rq(f, 1);
	expect_empty(f, 1);
	disk(f);
	expect_connect_response(f, 1);
	assert_int_equal(expect_reply(f, 1, ZK_XID_AUTH).err, 0);
	struct reply r = expect_reply(f, 1, 1);
	assert_int_equal(r.err, 0);
	assert_true(r.zxid == 1);
	expect_str(&r.body, "");
	struct zk_stat st;
	zk_stat_read(&r.body, &st);
	assert_int_equal(st.aversion, -1);
	expect_end(&r.body);
	rqx(f, ZK_OP_WHOAMI);
	r = call(f, 1);
	assert_int_equal(zk_jr_int(&r.body), 2);
	/* A failing auth sent that early closes the connection once its turn comes. */
	open_conn(f, 2);
	send_connect(f, 2, 0, NULL, 30000, true, 0);
	w = rq(f, ZK_XID_AUTH, ZK_OP_AUTH);
	zk_jw_int(w, 0);
	zk_jw_cstr(w, "nosuch");
	zk_jw_buffer(w, (const uint8_t *)"x", 1);
	send_rq(f, 2);
	w_path_bool(rq(f, 1, ZK_OP_GETDATA), "/", false);
	send_rq(f, 2);
	expect_empty(f, 2);
	expect_open(f, 2);
	disk(f);
	expect_connect_response(f, 2);
	assert_int_equal(expect_reply(f, 2, ZK_XID_AUTH).err, ZAUTHFAILED);
	expect_empty(f, 2);
	expect_closed(f, 2, ZK_CLOSE_AUTH_FAILED);
}

static void test_auth(void **state)
{
	struct fx *f = *state;
	session(f, 1, 30000);
	struct zk_wbuf *w = rq(f, ZK_XID_AUTH, ZK_OP_AUTH);
	zk_jw_int(w, 0);
	zk_jw_cstr(w, "digest");
	zk_jw_buffer(w, (const uint8_t *)"bob:abc", 7);
	send_rq(f, 1);
	assert_int_equal(f->persists, 0);
	struct reply r = expect_reply(f, 1, ZK_XID_AUTH);
	assert_int_equal(r.err, 0);
	assert_true(r.zxid == 0); /* auth replies carry zxid 0 (verified live) */
	assert_int_equal(r.frame_len, 16);
	/* whoAmI: ip and the digest user. */
	rqx(f, ZK_OP_WHOAMI);
	r = call(f, 1);
	assert_int_equal(r.err, 0);
	assert_int_equal(zk_jr_int(&r.body), 2);
	expect_str(&r.body, "ip");
	expect_str(&r.body, "127.0.0.1");
	expect_str(&r.body, "digest");
	expect_str(&r.body, "bob");
	expect_end(&r.body);
	/* An unknown scheme: AuthFailed, then close. */
	w = rq(f, ZK_XID_AUTH, ZK_OP_AUTH);
	zk_jw_int(w, 0);
	zk_jw_cstr(w, "kerberos");
	zk_jw_buffer(w, (const uint8_t *)"x", 1);
	send_rq(f, 1);
	r = expect_reply(f, 1, ZK_XID_AUTH);
	assert_int_equal(r.err, ZAUTHFAILED);
	expect_closed(f, 1, ZK_CLOSE_AUTH_FAILED);
}

/* ---- operations ---- */

static void test_create_modes(void **state)
{
	struct fx *f = *state;
	int64_t sid = session(f, 1, 30000);
	char got[256];
	assert_int_equal(create(f, 1, "/p", "data", ZK_CM_PERSISTENT, NULL), 0);
	assert_int_equal(create(f, 1, "/p/e", NULL, ZK_CM_EPHEMERAL, NULL), 0);
	struct zk_stat st;
	assert_int_equal(exists(f, 1, "/p/e", false, &st), 0);
	assert_true(st.ephemeral_owner == sid);
	assert_int_equal(exists(f, 1, "/p", false, &st), 0);
	assert_true(st.ephemeral_owner == 0);
	/* Sequential names come from the parent's stored cversion (protocol.md 2.7, live):
	 * create /cv/a, delete /cv/a, create /cv/b, then /cv/s- gets 0000000002. */
	assert_int_equal(create(f, 1, "/cv", "", 0, NULL), 0);
	assert_int_equal(create(f, 1, "/cv/a", "", 0, NULL), 0);
	assert_int_equal(del(f, 1, "/cv/a", -1), 0);
	assert_int_equal(create(f, 1, "/cv/b", "", 0, NULL), 0);
	assert_int_equal(exists(f, 1, "/cv", false, &st), 0);
	assert_int_equal(st.cversion, 3);
	assert_int_equal(create(f, 1, "/cv/s-", "", ZK_CM_PERSISTENT_SEQUENTIAL, got), 0);
	assert_string_equal(got, "/cv/s-0000000002");
	assert_int_equal(create(f, 1, "/cv/s-", "", ZK_CM_EPHEMERAL_SEQUENTIAL, got), 0);
	assert_string_equal(got, "/cv/s-0000000003");
	/* A trailing '/' is fine for sequential nodes: the suffix comes first. */
	assert_int_equal(create(f, 1, "/cv/", "", ZK_CM_PERSISTENT_SEQUENTIAL, got), 0);
	assert_string_equal(got, "/cv/0000000004");
	/* Root sequential, as in the live capture's naming. */
	assert_int_equal(create(f, 1, "/seq-", "", ZK_CM_PERSISTENT_SEQUENTIAL, got), 0);
	assert_int_equal(strncmp(got, "/seq-00000000", 13), 0);
	/* Unknown flags. */
	assert_int_equal(create(f, 1, "/bad", "", 7, NULL), ZBADARGUMENTS);
	assert_int_equal(create(f, 1, "/bad", "", -1, NULL), ZBADARGUMENTS);
	/* TTL modes with extended types disabled: Unimplemented, a write like any other (zxid
	 * consumed, connection kept). */
	int64_t z = last_zxid(f);
	struct zk_wbuf *w = rqx(f, ZK_OP_CREATETTL);
	w_create(w, "/ttl", "", ZK_CM_PERSISTENT_WITH_TTL);
	zk_jw_long(w, 1000);
	struct reply r = call(f, 1);
	assert_int_equal(r.err, ZUNIMPLEMENTED);
	assert_true(r.zxid == z + 1);
	expect_open(f, 1);
}

static void test_create2_container_stat(void **state)
{
	struct fx *f = *state;
	session(f, 1, 30000);
	advance(f, 1234);
	w_create(rqx(f, ZK_OP_CREATE2), "/c2", "xyz", 0);
	struct reply r = call(f, 1);
	assert_int_equal(r.err, 0);
	expect_str(&r.body, "/c2");
	struct zk_stat st;
	zk_stat_read(&r.body, &st);
	expect_end(&r.body);
	assert_true(st.czxid == r.zxid && st.mzxid == r.zxid && st.pzxid == r.zxid);
	assert_true(st.ctime == WALL0 + 1234 && st.mtime == WALL0 + 1234);
	assert_int_equal(st.version, 0);
	assert_int_equal(st.cversion, 0);
	assert_int_equal(st.aversion, 0);
	assert_int_equal(st.data_length, 3);
	assert_int_equal(st.num_children, 0);
	assert_true(st.ephemeral_owner == 0);
	/* createContainer answers with Create2Response; the container shows ephemeralOwner 0. */
	w_create(rqx(f, ZK_OP_CREATECONTAINER), "/box", "", ZK_CM_CONTAINER);
	r = call(f, 1);
	assert_int_equal(r.err, 0);
	expect_str(&r.body, "/box");
	zk_stat_read(&r.body, &st);
	expect_end(&r.body);
	assert_true(st.ephemeral_owner == 0);
	assert_true(st.czxid == r.zxid);
}

static void test_delete_set_get_exists(void **state)
{
	struct fx *f = *state;
	session(f, 1, 30000);
	assert_int_equal(create(f, 1, "/d", "v0", 0, NULL), 0);
	struct zk_stat st;
	/* setData with a version. */
	assert_int_equal(set_data(f, 1, "/d", "v1", 5, NULL), ZBADVERSION);
	int64_t z = last_zxid(f);
	assert_int_equal(set_data(f, 1, "/d", "v1", 0, &st), 0);
	assert_int_equal(st.version, 1);
	assert_true(st.mzxid == z + 1);
	assert_int_equal(set_data(f, 1, "/d", "v2", -1, &st), 0);
	assert_int_equal(st.version, 2);
	char data[512];
	assert_int_equal(get_data(f, 1, "/d", false, data, &st), 0);
	assert_string_equal(data, "v2");
	assert_int_equal(st.data_length, 2);
	/* Null data comes back as null. */
	assert_int_equal(set_data(f, 1, "/d", NULL, -1, NULL), 0);
	assert_int_equal(get_data(f, 1, "/d", false, data, &st), 0);
	assert_string_equal(data, "(null)");
	assert_int_equal(st.data_length, 0);
	/* exists: stat, or NoNode header only with the current zxid (reads consume none). */
	z = last_zxid(f);
	assert_int_equal(exists(f, 1, "/d", false, &st), 0);
	w_path_bool(rqx(f, ZK_OP_EXISTS), "/nope", false);
	struct reply r = call(f, 1);
	assert_int_equal(r.err, ZNONODE);
	assert_true(r.zxid == z);
	assert_int_equal(get_data(f, 1, "/nope", false, NULL, NULL), ZNONODE);
	assert_int_equal(last_zxid(f), z);
	/* delete with a version. */
	assert_int_equal(del(f, 1, "/d", 7), ZBADVERSION);
	assert_int_equal(last_zxid(f), z + 1); /* failed writes consume a zxid */
	assert_int_equal(del(f, 1, "/d", 3), 0);
	assert_int_equal(exists(f, 1, "/d", false, NULL), ZNONODE);
	assert_int_equal(del(f, 1, "/d", -1), ZNONODE);
}

static void collect_children(struct zk_rbuf *b, char names[][32], int *n)
{
	int32_t cnt = zk_jr_int(b);
	assert_true(cnt >= 0 && cnt < 16);
	for (int i = 0; i < cnt; i++)
		read_str(b, names[i], 32);
	*n = cnt;
}

static bool has_name(char names[][32], int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(names[i], s))
			return true;
	return false;
}

static void test_children_and_counts(void **state)
{
	struct fx *f = *state;
	session(f, 1, 30000);
	assert_int_equal(create(f, 1, "/k", "", 0, NULL), 0);
	assert_int_equal(create(f, 1, "/k/a", "", 0, NULL), 0);
	assert_int_equal(create(f, 1, "/k/b", "", 0, NULL), 0);
	assert_int_equal(create(f, 1, "/k/b/c", "", 0, NULL), 0);
	w_path_bool(rqx(f, ZK_OP_GETCHILDREN), "/k", false);
	struct reply r = call(f, 1);
	assert_int_equal(r.err, 0);
	char names[16][32];
	int n;
	collect_children(&r.body, names, &n);
	expect_end(&r.body);
	assert_int_equal(n, 2);
	assert_true(has_name(names, n, "a") && has_name(names, n, "b"));
	w_path_bool(rqx(f, ZK_OP_GETCHILDREN2), "/k", false);
	r = call(f, 1);
	collect_children(&r.body, names, &n);
	struct zk_stat st;
	zk_stat_read(&r.body, &st);
	expect_end(&r.body);
	assert_int_equal(st.num_children, 2);
	assert_int_equal(st.cversion, 2);
	w_path_bool(rqx(f, ZK_OP_GETCHILDREN), "/", false);
	r = call(f, 1);
	collect_children(&r.body, names, &n);
	assert_int_equal(n, 2);
	assert_true(has_name(names, n, "zookeeper") && has_name(names, n, "k"));
	w_path_bool(rqx(f, ZK_OP_GETCHILDREN), "/none", false);
	assert_int_equal(call(f, 1).err, ZNONODE);
	/* getAllChildrenNumber counts all descendants. */
	zk_jw_cstr(rqx(f, ZK_OP_GETALLCHILDRENNUMBER), "/k");
	r = call(f, 1);
	assert_int_equal(r.err, 0);
	assert_int_equal(zk_jr_int(&r.body), 3);
	expect_end(&r.body);
	zk_jw_cstr(rqx(f, ZK_OP_GETALLCHILDRENNUMBER), "/");
	r = call(f, 1);
	assert_int_equal(zk_jr_int(&r.body), 4 + 3);
	/* sync echoes the path. */
	zk_jw_cstr(rqx(f, ZK_OP_SYNC), "/k");
	r = call(f, 1);
	assert_int_equal(r.err, 0);
	expect_str(&r.body, "/k");
	expect_end(&r.body);
	/* ping: {-2, last zxid, 0}, no body. */
	rq(f, ZK_XID_PING, ZK_OP_PING);
	r = call(f, 1);
	assert_int_equal(r.err, 0);
	assert_true(r.zxid == last_zxid(f));
	assert_int_equal(r.frame_len, 16);
}

static void w_acl(struct zk_wbuf *w, int n, const int32_t *perms, const char *const *schemes, const char *const *ids)
{
	zk_jw_int(w, n);
	for (int i = 0; i < n; i++) {
		zk_jw_int(w, perms[i]);
		zk_jw_cstr(w, schemes[i]);
		zk_jw_cstr(w, ids[i]);
	}
}

static void auth_bob(struct fx *f, uint64_t id)
{
	struct zk_wbuf *w = rq(f, ZK_XID_AUTH, ZK_OP_AUTH);
	zk_jw_int(w, 0);
	zk_jw_cstr(w, "digest");
	zk_jw_buffer(w, (const uint8_t *)"bob:abc", 7);
	send_rq(f, id);
	assert_int_equal(expect_reply(f, id, ZK_XID_AUTH).err, 0);
}

static void test_acls(void **state)
{
	struct fx *f = *state;
	session(f, 1, 30000); /* anonymous */
	session(f, 2, 30000);
	auth_bob(f, 2);
	/* /secret: bob may do anything, the world may read. */
	static const int32_t perms[] = {ZK_PERM_ALL, ZK_PERM_READ};
	static const char *const schemes[] = {"digest", "world"};
	static const char *const ids[] = {BOB, "anyone"};
	struct zk_wbuf *w = rqx(f, ZK_OP_CREATE);
	zk_jw_cstr(w, "/secret");
	zk_jw_buffer(w, (const uint8_t *)"s", 1);
	w_acl(w, 2, perms, schemes, ids);
	zk_jw_int(w, 0);
	assert_int_equal(call(f, 1).err, 0);
	/* getACL without ADMIN: the digest id is masked to user:x. */
	zk_jw_cstr(rqx(f, ZK_OP_GETACL), "/secret");
	struct reply r = call(f, 1);
	assert_int_equal(r.err, 0);
	assert_int_equal(zk_jr_int(&r.body), 2);
	assert_int_equal(zk_jr_int(&r.body), ZK_PERM_ALL);
	expect_str(&r.body, "digest");
	expect_str(&r.body, "bob:x");
	assert_int_equal(zk_jr_int(&r.body), ZK_PERM_READ);
	expect_str(&r.body, "world");
	expect_str(&r.body, "anyone");
	struct zk_stat st;
	zk_stat_read(&r.body, &st);
	expect_end(&r.body);
	assert_int_equal(st.aversion, 0);
	/* With ADMIN: the real id. */
	zk_jw_cstr(rqx(f, ZK_OP_GETACL), "/secret");
	r = call(f, 2);
	zk_jr_int(&r.body);
	zk_jr_int(&r.body);
	expect_str(&r.body, "digest");
	expect_str(&r.body, BOB);
	/* Writes need the right bits. */
	assert_int_equal(set_data(f, 1, "/secret", "x", -1, NULL), ZNOAUTH);
	assert_int_equal(create(f, 1, "/secret/c", "", 0, NULL), ZNOAUTH);
	assert_int_equal(set_data(f, 2, "/secret", "x", -1, NULL), 0);
	assert_int_equal(create(f, 2, "/secret/c", "", 0, NULL), 0);
	assert_int_equal(del(f, 1, "/secret/c", -1), ZNOAUTH);
	/* setACL: ADMIN needed, aversion checked and bumped, bad lists refused. */
	static const int32_t p1[] = {ZK_PERM_READ | ZK_PERM_ADMIN};
	static const char *const s1[] = {"world"};
	static const char *const i1[] = {"anyone"};
	w = rqx(f, ZK_OP_SETACL);
	zk_jw_cstr(w, "/secret");
	w_acl(w, 1, p1, s1, i1);
	zk_jw_int(w, -1);
	assert_int_equal(call(f, 1).err, ZNOAUTH);
	w = rqx(f, ZK_OP_SETACL);
	zk_jw_cstr(w, "/secret");
	w_acl(w, 1, p1, s1, i1);
	zk_jw_int(w, 3);
	assert_int_equal(call(f, 2).err, ZBADVERSION);
	w = rqx(f, ZK_OP_SETACL);
	zk_jw_cstr(w, "/secret");
	w_acl(w, 0, NULL, NULL, NULL);
	zk_jw_int(w, -1);
	assert_int_equal(call(f, 2).err, ZINVALIDACL);
	w = rqx(f, ZK_OP_SETACL);
	zk_jw_cstr(w, "/secret");
	w_acl(w, 1, p1, s1, i1);
	zk_jw_int(w, 0);
	r = call(f, 2);
	assert_int_equal(r.err, 0);
	zk_stat_read(&r.body, &st);
	expect_end(&r.body);
	assert_int_equal(st.aversion, 1);
	/* Now anyone may read the ACL, and nobody (not even bob) may write. */
	zk_jw_cstr(rqx(f, ZK_OP_GETACL), "/secret");
	r = call(f, 1);
	assert_int_equal(r.err, 0);
	assert_int_equal(set_data(f, 2, "/secret", "x", -1, NULL), ZNOAUTH);
	/* auth: ACL expansion: bob creates a CREATOR_ALL node; anon cannot read it. */
	static const int32_t p2[] = {ZK_PERM_ALL};
	static const char *const s2[] = {"auth"};
	static const char *const i2[] = {""};
	w = rqx(f, ZK_OP_CREATE);
	zk_jw_cstr(w, "/mine");
	zk_jw_buffer(w, NULL, -1);
	w_acl(w, 1, p2, s2, i2);
	zk_jw_int(w, 0);
	assert_int_equal(call(f, 2).err, 0);
	assert_int_equal(get_data(f, 1, "/mine", false, NULL, NULL), ZNOAUTH);
	assert_int_equal(get_data(f, 2, "/mine", false, NULL, NULL), 0);
	zk_jw_cstr(rqx(f, ZK_OP_GETACL), "/mine");
	assert_int_equal(call(f, 1).err, ZNOAUTH);
	/* ...and the same from anon is InvalidACL (no digest identity to expand to). */
	w = rqx(f, ZK_OP_CREATE);
	zk_jw_cstr(w, "/theirs");
	zk_jw_buffer(w, NULL, -1);
	w_acl(w, 1, p2, s2, i2);
	zk_jw_int(w, 0);
	assert_int_equal(call(f, 1).err, ZINVALIDACL);
}

static void test_error_codes(void **state)
{
	struct fx *f = *state;
	session(f, 1, 30000);
	assert_int_equal(create(f, 1, "/a", "", 0, NULL), 0);
	assert_int_equal(create(f, 1, "/a", "", 0, NULL), ZNODEEXISTS);
	assert_int_equal(create(f, 1, "/none/x", "", 0, NULL), ZNONODE);
	assert_int_equal(create(f, 1, "/a/b", "", 0, NULL), 0);
	assert_int_equal(del(f, 1, "/a", -1), ZNOTEMPTY);
	assert_int_equal(create(f, 1, "/eph", "", ZK_CM_EPHEMERAL, NULL), 0);
	assert_int_equal(create(f, 1, "/eph/x", "", 0, NULL), ZNOCHILDRENFOREPHEMERALS);
	/* Empty ACL list. */
	struct zk_wbuf *w = rqx(f, ZK_OP_CREATE);
	zk_jw_cstr(w, "/noacl");
	zk_jw_buffer(w, NULL, -1);
	zk_jw_int(w, 0);
	zk_jw_int(w, 0);
	assert_int_equal(call(f, 1).err, ZINVALIDACL);
	/* Bad paths and the special nodes. */
	static const char *bad[] = {"/a/", "a", "/a/.", "/a/..", "/a\x01"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (create(f, 1, bad[i], "", 0, NULL) != ZBADARGUMENTS)
			fail_msg("create %s accepted", bad[i]);
	assert_int_equal(set_data(f, 1, "/a/", "x", -1, NULL), ZBADARGUMENTS);
	assert_int_equal(del(f, 1, "/zookeeper", -1), ZBADARGUMENTS);
	assert_int_equal(del(f, 1, "/zookeeper/config", -1), ZBADARGUMENTS);
	assert_int_equal(del(f, 1, "/", -1), ZBADARGUMENTS);
	assert_int_equal(del(f, 1, "nope", -1), ZBADARGUMENTS);
	/* A write whose body does not decode: MarshallingError, still a (failed) write. */
	int64_t z = last_zxid(f);
	zk_jw_int(rqx(f, ZK_OP_SETDATA), 100);
	struct reply r = call(f, 1);
	assert_int_equal(r.err, ZMARSHALLINGERROR);
	assert_true(r.zxid == z + 1);
	/* A read whose body does not decode: MarshallingError, connection kept. */
	zk_jw_int(rqx(f, ZK_OP_GETDATA), -5);
	r = call(f, 1);
	assert_int_equal(r.err, ZMARSHALLINGERROR);
	assert_true(r.zxid == z + 1);
	expect_open(f, 1);
	/* reconfig is disabled. */
	w = rqx(f, ZK_OP_RECONFIG);
	zk_jw_cstr(w, NULL);
	zk_jw_cstr(w, NULL);
	zk_jw_cstr(w, NULL);
	zk_jw_long(w, -1);
	assert_int_equal(call(f, 1).err, ZRECONFIGDISABLED);
	/* check outside multi: treated as unknown (3.8.5+): -6 with zxid -1, then close. */
	w_path_int(rqx(f, ZK_OP_CHECK), "/a", -1);
	r = call(f, 1);
	assert_int_equal(r.err, ZUNIMPLEMENTED);
	assert_true(r.zxid == -1);
	expect_closed(f, 1, ZK_CLOSE_UNIMPLEMENTED);
}

static void test_unknown_opcode(void **state)
{
	struct fx *f = *state;
	session(f, 1, 30000);
	rq(f, 77, 99);
	send_rq(f, 1);
	struct reply r = expect_reply(f, 1, 77);
	assert_int_equal(r.err, ZUNIMPLEMENTED);
	assert_true(r.zxid == -1);
	expect_closed(f, 1, ZK_CLOSE_UNIMPLEMENTED);
	/* A request header shorter than 8 bytes closes without a reply. */
	session(f, 2, 30000);
	feed(f, 2, (const uint8_t *)"\0\0\0\1\0", 5);
	expect_empty(f, 2);
	expect_closed(f, 2, ZK_CLOSE_BAD_REQUEST);
}

static void test_ephemerals_and_close_session(void **state)
{
	struct fx *f = *state;
	session(f, 1, 30000);
	session(f, 2, 30000);
	assert_int_equal(create(f, 1, "/ge1", "", ZK_CM_EPHEMERAL, NULL), 0);
	assert_int_equal(create(f, 1, "/gx", "", 0, NULL), 0);
	assert_int_equal(create(f, 1, "/gx/e2", "", ZK_CM_EPHEMERAL, NULL), 0);
	assert_int_equal(create(f, 2, "/gx/other", "", ZK_CM_EPHEMERAL, NULL), 0);
	/* getEphemerals: this session's only, filtered by prefix; "/" means all. */
	zk_jw_cstr(rqx(f, ZK_OP_GETEPHEMERALS), "/");
	struct reply r = call(f, 1);
	assert_int_equal(r.err, 0);
	char names[16][32];
	int n;
	collect_children(&r.body, names, &n);
	expect_end(&r.body);
	assert_int_equal(n, 2);
	assert_true(has_name(names, n, "/ge1") && has_name(names, n, "/gx/e2"));
	zk_jw_cstr(rqx(f, ZK_OP_GETEPHEMERALS), "/gx");
	r = call(f, 1);
	collect_children(&r.body, names, &n);
	assert_int_equal(n, 1);
	assert_string_equal(names[0], "/gx/e2");
	zk_jw_cstr(rqx(f, ZK_OP_GETEPHEMERALS), "/zz");
	r = call(f, 1);
	collect_children(&r.body, names, &n);
	assert_int_equal(n, 0);
	/* Session 2 watches /ge1; session 1 closes: its ephemerals go, the watch fires, the reply
	 * is a bare header, then the connection closes. */
	assert_int_equal(exists(f, 2, "/ge1", true, NULL), 0);
	int64_t z = last_zxid(f);
	rq(f, 5, ZK_OP_CLOSESESSION);
	send_rq(f, 1);
	disk(f);
	r = expect_reply(f, 1, 5);
	assert_int_equal(r.err, 0);
	assert_true(r.zxid == z + 1);
	assert_int_equal(r.frame_len, 16);
	expect_closed(f, 1, ZK_CLOSE_SESSION_CLOSED);
	expect_event(f, 2, ZK_EV_DELETED, "/ge1");
	expect_empty(f, 2);
	assert_int_equal(exists(f, 2, "/ge1", false, NULL), ZNONODE);
	assert_int_equal(exists(f, 2, "/gx/e2", false, NULL), ZNONODE);
	assert_int_equal(exists(f, 2, "/gx/other", false, NULL), 0);
}

/* ---- multi ---- */

static void test_multi_success(void **state)
{
	struct fx *f = *state;
	session(f, 1, 30000);
	struct zk_wbuf *w = rqx(f, ZK_OP_MULTI);
	w_multi_op(w, ZK_OP_CREATE);
	w_create(w, "/m", "0", 0);
	w_multi_op(w, ZK_OP_CREATE2);
	w_create(w, "/m/c", "", 0);
	w_multi_op(w, ZK_OP_SETDATA);
	w_set_data(w, "/m", "1", 0);
	w_multi_op(w, ZK_OP_CHECK);
	w_path_int(w, "/m", 1);
	w_multi_op(w, ZK_OP_DELETE);
	w_path_int(w, "/m/c", -1);
	w_multi_end(w);
	int64_t z = last_zxid(f);
	struct reply r = call(f, 1);
	assert_int_equal(r.err, 0);
	assert_true(r.zxid == z + 1); /* one zxid for all */
	struct zk_rbuf *b = &r.body;
	assert_int_equal(zk_jr_int(b), ZK_OP_CREATE);
	assert_false(zk_jr_bool(b));
	assert_int_equal(zk_jr_int(b), 0);
	expect_str(b, "/m");
	assert_int_equal(zk_jr_int(b), ZK_OP_CREATE2);
	assert_false(zk_jr_bool(b));
	assert_int_equal(zk_jr_int(b), 0);
	expect_str(b, "/m/c");
	struct zk_stat st;
	zk_stat_read(b, &st);
	assert_true(st.czxid == z + 1);
	assert_int_equal(zk_jr_int(b), ZK_OP_SETDATA);
	zk_jr_bool(b);
	assert_int_equal(zk_jr_int(b), 0);
	zk_stat_read(b, &st);
	assert_int_equal(st.version, 1);
	assert_int_equal(zk_jr_int(b), ZK_OP_CHECK);
	zk_jr_bool(b);
	assert_int_equal(zk_jr_int(b), 0);
	assert_int_equal(zk_jr_int(b), ZK_OP_DELETE);
	zk_jr_bool(b);
	assert_int_equal(zk_jr_int(b), 0);
	assert_int_equal(zk_jr_int(b), -1);
	assert_true(zk_jr_bool(b));
	assert_int_equal(zk_jr_int(b), -1);
	expect_end(b);
	char data[512];
	assert_int_equal(get_data(f, 1, "/m", false, data, &st), 0);
	assert_string_equal(data, "1");
	assert_int_equal(exists(f, 1, "/m/c", false, NULL), ZNONODE);
}

static void test_multi_rollback(void **state)
{
	struct fx *f = *state;
	session(f, 1, 30000);
	assert_int_equal(create(f, 1, "/keep", "k", 0, NULL), 0);
	/* protocol.md 2.5 (live): [create /m1, setData /nonexist, create /m2]. */
	struct zk_wbuf *w = rqx(f, ZK_OP_MULTI);
	w_multi_op(w, ZK_OP_CREATE);
	w_create(w, "/m1", "", 0);
	w_multi_op(w, ZK_OP_SETDATA);
	w_set_data(w, "/nonexist", "x", -1);
	w_multi_op(w, ZK_OP_CREATE);
	w_create(w, "/m2", "", 0);
	w_multi_end(w);
	int64_t z = last_zxid(f);
	struct reply r = call(f, 1);
	assert_int_equal(r.err, 0);
	assert_true(r.zxid == z + 1); /* a failed multi consumes a zxid */
	assert_int_equal(last_zxid(f), z + 1);
	/* The body, byte for byte as the live capture. */
	static const uint8_t want[] = {0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
				       0xff, 0xff, 0xff, 0xff, 0x00, 0xff, 0xff, 0xff, 0x9b, 0xff, 0xff, 0xff, 0x9b,
				       0xff, 0xff, 0xff, 0xff, 0x00, 0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xff, 0xfe,
				       0xff, 0xff, 0xff, 0xff, 0x01, 0xff, 0xff, 0xff, 0xff};
	assert_int_equal(zk_rbuf_left(&r.body), sizeof(want));
	assert_memory_equal(r.body.p + r.body.pos, want, sizeof(want));
	/* Nothing applied. */
	assert_int_equal(exists(f, 1, "/m1", false, NULL), ZNONODE);
	assert_int_equal(exists(f, 1, "/m2", false, NULL), ZNONODE);
	/* A rolled-back multi leaves no trace in later validation: the same names are free, and a
	 * failing op that depends on an earlier one of the same multi sees it. */
	w = rqx(f, ZK_OP_MULTI);
	w_multi_op(w, ZK_OP_CREATE);
	w_create(w, "/m1", "", 0);
	w_multi_op(w, ZK_OP_CREATE);
	w_create(w, "/m1", "", 0); /* exists by then: NodeExists */
	w_multi_end(w);
	r = call(f, 1);
	assert_int_equal(r.err, 0);
	assert_int_equal(zk_jr_int(&r.body), -1);
	zk_jr_bool(&r.body);
	assert_int_equal(zk_jr_int(&r.body), 0);
	assert_int_equal(zk_jr_int(&r.body), 0);
	assert_int_equal(zk_jr_int(&r.body), -1);
	zk_jr_bool(&r.body);
	assert_int_equal(zk_jr_int(&r.body), ZNODEEXISTS);
	assert_int_equal(zk_jr_int(&r.body), ZNODEEXISTS);
	assert_int_equal(create(f, 1, "/m1", "", 0, NULL), 0);
	/* A read op inside multi: MarshallingError for the whole request, header only. */
	w = rqx(f, ZK_OP_MULTI);
	w_multi_op(w, ZK_OP_GETDATA);
	w_path_bool(w, "/keep", false);
	w_multi_end(w);
	r = call(f, 1);
	assert_int_equal(r.err, ZMARSHALLINGERROR);
	/* An empty multi succeeds with just the terminator. */
	w = rqx(f, ZK_OP_MULTI);
	w_multi_end(w);
	r = call(f, 1);
	assert_int_equal(r.err, 0);
	assert_int_equal(zk_jr_int(&r.body), -1);
	assert_true(zk_jr_bool(&r.body));
	assert_int_equal(zk_jr_int(&r.body), -1);
	expect_end(&r.body);
}

static void test_multi_read(void **state)
{
	struct fx *f = *state;
	session(f, 1, 30000);
	assert_int_equal(create(f, 1, "/r", "rv", 0, NULL), 0);
	assert_int_equal(create(f, 1, "/r/c", "", 0, NULL), 0);
	int64_t z = last_zxid(f);
	struct zk_wbuf *w = rqx(f, ZK_OP_MULTIREAD);
	w_multi_op(w, ZK_OP_GETDATA);
	w_path_bool(w, "/r", true); /* the watch flag is ignored */
	w_multi_op(w, ZK_OP_GETCHILDREN);
	w_path_bool(w, "/missing", false);
	w_multi_op(w, ZK_OP_GETCHILDREN);
	w_path_bool(w, "/r", false);
	w_multi_end(w);
	send_rq(f, 1);
	assert_int_equal(f->persists, 0); /* a read */
	struct reply r = expect_reply(f, 1, f->xid);
	assert_int_equal(r.err, 0);
	assert_true(r.zxid == z);
	struct zk_rbuf *b = &r.body;
	assert_int_equal(zk_jr_int(b), ZK_OP_GETDATA);
	zk_jr_bool(b);
	assert_int_equal(zk_jr_int(b), 0);
	expect_str(b, "rv");
	struct zk_stat st;
	zk_stat_read(b, &st);
	assert_int_equal(st.num_children, 1);
	assert_int_equal(zk_jr_int(b), -1);
	zk_jr_bool(b);
	assert_int_equal(zk_jr_int(b), ZNONODE);
	assert_int_equal(zk_jr_int(b), ZNONODE);
	assert_int_equal(zk_jr_int(b), ZK_OP_GETCHILDREN);
	zk_jr_bool(b);
	assert_int_equal(zk_jr_int(b), 0);
	assert_int_equal(zk_jr_int(b), 1);
	expect_str(b, "c");
	assert_int_equal(zk_jr_int(b), -1);
	assert_true(zk_jr_bool(b));
	assert_int_equal(zk_jr_int(b), -1);
	expect_end(b);
	/* No watch was set by it. */
	session(f, 2, 30000);
	assert_int_equal(set_data(f, 2, "/r", "x", -1, NULL), 0);
	expect_empty(f, 1);
	/* A write inside multiRead: MarshallingError. */
	w = rqx(f, ZK_OP_MULTIREAD);
	w_multi_op(w, ZK_OP_DELETE);
	w_path_int(w, "/r/c", -1);
	w_multi_end(w);
	r = call(f, 1);
	assert_int_equal(r.err, ZMARSHALLINGERROR);
	assert_int_equal(exists(f, 1, "/r/c", false, NULL), 0);
}

/* ---- pipelining ---- */

static void test_pipelined_writes(void **state)
{
	struct fx *f = *state;
	session(f, 1, 30000);
	int64_t z = last_zxid(f);
	/* Two writes before disk_done: the second is validated against the first. */
	w_create(rq(f, 10, ZK_OP_CREATE), "/a", "", 0);
	send_rq(f, 1);
	w_create(rq(f, 11, ZK_OP_CREATE), "/a/b", "", 0);
	send_rq(f, 1);
	w_set_data(rq(f, 12, ZK_OP_SETDATA), "/a/b", "x", 0);
	send_rq(f, 1);
	w_path_int(rq(f, 13, ZK_OP_DELETE), "/a", -1); /* NotEmpty: /a/b is pending */
	send_rq(f, 1);
	expect_empty(f, 1);
	assert_int_equal(f->persists, 4);
	assert_int_equal(zk_server_outstanding(f->s), 4);
	assert_int_equal(last_zxid(f), z);
	disk(f);
	struct reply r = expect_reply(f, 1, 10);
	assert_int_equal(r.err, 0);
	assert_true(r.zxid == z + 1);
	r = expect_reply(f, 1, 11);
	assert_int_equal(r.err, 0);
	assert_true(r.zxid == z + 2);
	r = expect_reply(f, 1, 12);
	assert_int_equal(r.err, 0);
	assert_true(r.zxid == z + 3);
	r = expect_reply(f, 1, 13);
	assert_int_equal(r.err, ZNOTEMPTY);
	assert_true(r.zxid == z + 4);
	expect_empty(f, 1);
	/* Releasing tokens one at a time releases replies one at a time. */
	w_create(rq(f, 20, ZK_OP_CREATE), "/p1", "", 0);
	send_rq(f, 1);
	uint64_t t1 = f->max_token;
	w_create(rq(f, 21, ZK_OP_CREATE), "/p2", "", 0);
	send_rq(f, 1);
	zk_server_disk_done(f->s, f->now, t1, 0, &f->out);
	pump(f);
	expect_reply(f, 1, 20);
	expect_empty(f, 1);
	disk(f);
	expect_reply(f, 1, 21);
}

static void test_reads_queue_behind_writes(void **state)
{
	struct fx *f = *state;
	session(f, 1, 30000);
	session(f, 2, 30000);
	w_create(rq(f, 1, ZK_OP_CREATE), "/q", "qq", 0);
	send_rq(f, 1);
	w_path_bool(rq(f, 2, ZK_OP_GETDATA), "/q", false);
	send_rq(f, 1);
	rq(f, ZK_XID_PING, ZK_OP_PING);
	send_rq(f, 1);
	expect_empty(f, 1);
	assert_int_equal(zk_server_outstanding(f->s), 3);
	/* Another connection's read is not held back: it sees the applied state. */
	w_path_bool(rq(f, 9, ZK_OP_EXISTS), "/q", false);
	send_rq(f, 2);
	assert_int_equal(expect_reply(f, 2, 9).err, ZNONODE);
	disk(f);
	assert_int_equal(expect_reply(f, 1, 1).err, 0);
	struct reply r = expect_reply(f, 1, 2);
	assert_int_equal(r.err, 0);
	expect_str(&r.body, "qq");
	r = expect_reply(f, 1, ZK_XID_PING);
	assert_true(r.zxid == last_zxid(f));
	expect_empty(f, 1);
	assert_int_equal(zk_server_outstanding(f->s), 0);
}

/* ---- watches ---- */

static void test_event_before_reply(void **state)
{
	struct fx *f = *state;
	session(f, 1, 30000);
	assert_int_equal(create(f, 1, "/foo", "a", 0, NULL), 0);
	assert_int_equal(get_data(f, 1, "/foo", true, NULL, NULL), 0);
	w_set_data(rq(f, 42, ZK_OP_SETDATA), "/foo", "b", -1);
	send_rq(f, 1);
	disk(f);
	/* protocol.md 2.6 (live): the notification frame first, exactly these bytes, then the
	 * setData reply. */
	static const uint8_t ev[] = {0x00, 0x00, 0x00, 0x20, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
				     0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03,
				     0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x04, 0x2f, 0x66, 0x6f, 0x6f};
	struct inbox *b = box(f, 1);
	assert_true(b->in.len - b->rpos > sizeof(ev));
	assert_memory_equal(b->in.p + b->rpos, ev, sizeof(ev));
	b->rpos += sizeof(ev);
	assert_int_equal(expect_reply(f, 1, 42).err, 0);
	expect_empty(f, 1);
	/* One-shot: the next change fires nothing. */
	assert_int_equal(set_data(f, 1, "/foo", "c", -1, NULL), 0);
	expect_empty(f, 1);
}

static void test_watch_kinds(void **state)
{
	struct fx *f = *state;
	session(f, 1, 30000); /* watcher */
	session(f, 2, 30000); /* writer */
	assert_int_equal(create(f, 2, "/w", "", 0, NULL), 0);
	/* exists watch on a missing node -> NodeCreated; child watch -> NodeChildrenChanged. */
	assert_int_equal(exists(f, 1, "/w/new", true, NULL), ZNONODE);
	w_path_bool(rqx(f, ZK_OP_GETCHILDREN), "/w", true);
	assert_int_equal(call(f, 1).err, 0);
	assert_int_equal(create(f, 2, "/w/new", "", 0, NULL), 0);
	expect_event(f, 1, ZK_EV_CREATED, "/w/new");
	expect_event(f, 1, ZK_EV_CHILDREN_CHANGED, "/w");
	expect_empty(f, 1);
	/* getData on a missing node sets no watch. */
	assert_int_equal(get_data(f, 1, "/w/later", true, NULL, NULL), ZNONODE);
	assert_int_equal(create(f, 2, "/w/later", "", 0, NULL), 0);
	expect_empty(f, 1);
	/* Data + child watch of one connection on a deleted node: one NodeDeleted. */
	assert_int_equal(get_data(f, 1, "/w/new", true, NULL, NULL), 0);
	w_path_bool(rqx(f, ZK_OP_GETCHILDREN), "/w/new", true);
	assert_int_equal(call(f, 1).err, 0);
	assert_int_equal(del(f, 2, "/w/new", -1), 0);
	expect_event(f, 1, ZK_EV_DELETED, "/w/new");
	expect_empty(f, 1);
	/* setACL fires nothing. */
	assert_int_equal(get_data(f, 1, "/w", true, NULL, NULL), 0);
	struct zk_wbuf *w = rqx(f, ZK_OP_SETACL);
	zk_jw_cstr(w, "/w");
	w_open_acl(w);
	zk_jw_int(w, -1);
	assert_int_equal(call(f, 2).err, 0);
	expect_empty(f, 1);
	/* A closed connection's watches are gone. */
	zk_server_conn_closed(f->s, f->now, 1);
	assert_int_equal(set_data(f, 2, "/w", "x", -1, NULL), 0);
	expect_empty(f, 1);
}

static void test_add_remove_check_watches(void **state)
{
	struct fx *f = *state;
	session(f, 1, 30000);
	session(f, 2, 30000);
	/* No watches: NoWatcher (-121) for both. */
	assert_int_equal(simple(f, 1, ZK_OP_CHECKWATCHES, "/aw", ZK_WT_ANY), ZNOWATCHER);
	assert_int_equal(simple(f, 1, ZK_OP_REMOVEWATCHES, "/aw", ZK_WT_DATA), ZNOWATCHER);
	/* addWatch recursive: ErrorResponse{0} body; fires for descendants, never child events. */
	w_path_int(rqx(f, ZK_OP_ADDWATCH), "/aw", ZK_AW_PERSISTENT_RECURSIVE);
	struct reply r = call(f, 1);
	assert_int_equal(r.err, 0);
	assert_int_equal(zk_jr_int(&r.body), 0);
	expect_end(&r.body);
	assert_int_equal(create(f, 2, "/aw", "", 0, NULL), 0);
	assert_int_equal(create(f, 2, "/aw/x", "", 0, NULL), 0);
	assert_int_equal(set_data(f, 2, "/aw/x", "d", -1, NULL), 0);
	assert_int_equal(del(f, 2, "/aw/x", -1), 0);
	expect_event(f, 1, ZK_EV_CREATED, "/aw");
	expect_event(f, 1, ZK_EV_CREATED, "/aw/x");
	expect_event(f, 1, ZK_EV_DATA_CHANGED, "/aw/x");
	expect_event(f, 1, ZK_EV_DELETED, "/aw/x");
	expect_empty(f, 1);
	/* Bad mode. */
	assert_int_equal(simple(f, 1, ZK_OP_ADDWATCH, "/aw", 7), ZBADARGUMENTS);
	/* checkWatches: Any finds the recursive one; Data does not. */
	assert_int_equal(simple(f, 1, ZK_OP_CHECKWATCHES, "/aw", ZK_WT_ANY), 0);
	assert_int_equal(simple(f, 1, ZK_OP_CHECKWATCHES, "/aw", ZK_WT_DATA), ZNOWATCHER);
	assert_int_equal(simple(f, 1, ZK_OP_REMOVEWATCHES, "/aw", ZK_WT_ANY), 0);
	assert_int_equal(simple(f, 1, ZK_OP_REMOVEWATCHES, "/aw", ZK_WT_ANY), ZNOWATCHER);
	assert_int_equal(create(f, 2, "/aw/y", "", 0, NULL), 0);
	expect_empty(f, 1);
	/* A one-shot data watch: check, remove, then nothing fires. */
	assert_int_equal(get_data(f, 1, "/aw", true, NULL, NULL), 0);
	assert_int_equal(simple(f, 1, ZK_OP_CHECKWATCHES, "/aw", ZK_WT_DATA), 0);
	assert_int_equal(simple(f, 1, ZK_OP_CHECKWATCHES, "/aw", ZK_WT_CHILDREN), ZNOWATCHER);
	assert_int_equal(simple(f, 1, ZK_OP_REMOVEWATCHES, "/aw", ZK_WT_DATA), 0);
	assert_int_equal(set_data(f, 2, "/aw", "x", -1, NULL), 0);
	expect_empty(f, 1);
	/* Persistent (non-recursive) addWatch: data and child events on the path, kept. */
	assert_int_equal(simple(f, 1, ZK_OP_ADDWATCH, "/aw", ZK_AW_PERSISTENT), 0);
	assert_int_equal(create(f, 2, "/aw/z", "", 0, NULL), 0);
	assert_int_equal(set_data(f, 2, "/aw", "y", -1, NULL), 0);
	assert_int_equal(create(f, 2, "/aw/z/deep", "", 0, NULL), 0);
	expect_event(f, 1, ZK_EV_CHILDREN_CHANGED, "/aw");
	expect_event(f, 1, ZK_EV_DATA_CHANGED, "/aw");
	expect_empty(f, 1);
}

static void test_set_watches(void **state)
{
	struct fx *f = *state;
	session(f, 2, 30000);
	assert_int_equal(create(f, 2, "/sw", "", 0, NULL), 0);
	assert_int_equal(create(f, 2, "/quiet", "", 0, NULL), 0);
	int64_t rel = last_zxid(f);
	assert_int_equal(set_data(f, 2, "/sw", "changed", -1, NULL), 0);
	assert_int_equal(create(f, 2, "/sw/kid", "", 0, NULL), 0);
	assert_int_equal(create(f, 2, "/born", "", 0, NULL), 0);
	/* A reconnected client re-registers its watches relative to the zxid it had seen. */
	session(f, 1, 30000);
	struct zk_wbuf *w = rq(f, ZK_XID_SET_WATCHES, ZK_OP_SETWATCHES);
	zk_jw_long(w, rel);
	zk_jw_int(w, 3); /* data */
	zk_jw_cstr(w, "/sw");
	zk_jw_cstr(w, "/gone");
	zk_jw_cstr(w, "/quiet");
	zk_jw_int(w, 2); /* exist */
	zk_jw_cstr(w, "/born");
	zk_jw_cstr(w, "/unborn");
	zk_jw_int(w, 2); /* child */
	zk_jw_cstr(w, "/sw");
	zk_jw_cstr(w, "/quiet");
	send_rq(f, 1);
	assert_int_equal(f->persists, 0);
	/* Immediate events first, then the reply {-8, last zxid, 0}. */
	expect_event(f, 1, ZK_EV_DATA_CHANGED, "/sw");
	expect_event(f, 1, ZK_EV_DELETED, "/gone");
	expect_event(f, 1, ZK_EV_CREATED, "/born");
	expect_event(f, 1, ZK_EV_CHILDREN_CHANGED, "/sw");
	struct reply r = expect_reply(f, 1, ZK_XID_SET_WATCHES);
	assert_int_equal(r.err, 0);
	assert_true(r.zxid == last_zxid(f));
	assert_int_equal(r.frame_len, 16);
	expect_empty(f, 1);
	/* The rest were registered. */
	assert_int_equal(set_data(f, 2, "/quiet", "x", -1, NULL), 0);
	expect_event(f, 1, ZK_EV_DATA_CHANGED, "/quiet");
	assert_int_equal(create(f, 2, "/unborn", "", 0, NULL), 0);
	expect_event(f, 1, ZK_EV_CREATED, "/unborn");
	assert_int_equal(create(f, 2, "/quiet/k", "", 0, NULL), 0);
	expect_event(f, 1, ZK_EV_CHILDREN_CHANGED, "/quiet");
	expect_empty(f, 1);
	/* setWatches2 with persistent lists. */
	w = rq(f, ZK_XID_SET_WATCHES, ZK_OP_SETWATCHES2);
	zk_jw_long(w, last_zxid(f));
	zk_jw_int(w, 0);
	zk_jw_int(w, 0);
	zk_jw_int(w, 0);
	zk_jw_int(w, 1);
	zk_jw_cstr(w, "/born");
	zk_jw_int(w, 1);
	zk_jw_cstr(w, "/sw");
	send_rq(f, 1);
	assert_int_equal(expect_reply(f, 1, ZK_XID_SET_WATCHES).err, 0);
	assert_int_equal(set_data(f, 2, "/born", "1", -1, NULL), 0);
	assert_int_equal(set_data(f, 2, "/born", "2", -1, NULL), 0);
	assert_int_equal(create(f, 2, "/sw/kid/grand", "", 0, NULL), 0);
	expect_event(f, 1, ZK_EV_DATA_CHANGED, "/born");
	expect_event(f, 1, ZK_EV_DATA_CHANGED, "/born");
	expect_event(f, 1, ZK_EV_CREATED, "/sw/kid/grand");
	expect_empty(f, 1);
}

/* ---- time ---- */

static void test_session_expiry(void **state)
{
	struct fx *f = *state;
	int64_t a = session(f, 1, 4000);
	session(f, 2, 30000);
	assert_int_equal(create(f, 1, "/eph", "", ZK_CM_EPHEMERAL, NULL), 0);
	assert_int_equal(create(f, 1, "/eph2", "", ZK_CM_EPHEMERAL, NULL), 0);
	assert_int_equal(exists(f, 2, "/eph", true, NULL), 0);
	w_path_bool(rqx(f, ZK_OP_GETCHILDREN), "/", true);
	assert_int_equal(call(f, 2).err, 0);
	/* Time passes; session 2 pings, session 1 is silent. */
	int64_t z = last_zxid(f);
	for (int i = 0; i < 3; i++) {
		advance(f, 1000);
		tick(f);
		rq(f, ZK_XID_PING, ZK_OP_PING);
		send_rq(f, 2);
		expect_reply(f, 2, ZK_XID_PING);
	}
	assert_int_equal(f->persists, 0);
	expect_open(f, 1);
	advance(f, 4000);
	tick(f);
	/* The expiry is a closeSession txn: nothing happens before it is durable. */
	assert_int_equal(f->persists, 1);
	expect_open(f, 1);
	disk(f);
	assert_int_equal(last_zxid(f), z + 1);
	expect_closed(f, 1, ZK_CLOSE_SESSION_EXPIRED);
	expect_event(f, 2, ZK_EV_DELETED, "/eph");
	expect_event(f, 2, ZK_EV_CHILDREN_CHANGED, "/");
	expect_empty(f, 2);
	assert_int_equal(exists(f, 2, "/eph", false, NULL), ZNONODE);
	assert_int_equal(exists(f, 2, "/eph2", false, NULL), ZNONODE);
	expect_open(f, 2);
	/* The expired session cannot be resumed. */
	uint8_t pw[16];
	zk_session_passwd(a, pw);
	open_conn(f, 3);
	send_connect(f, 3, a, pw, 4000, true, 0);
	struct cresp c = expect_connect_response(f, 3);
	assert_int_equal(c.timeout, 0);
	assert_true(c.sid == 0);
	expect_closed(f, 3, ZK_CLOSE_SESSION_INVALID);
	/* A long silence of the whole server: the surviving session expires too, once. */
	advance(f, 10 * 60 * 1000);
	tick(f);
	assert_int_equal(f->persists, 1);
	disk(f);
	expect_closed(f, 2, ZK_CLOSE_SESSION_EXPIRED);
	tick(f);
	assert_int_equal(f->persists, 0);
}

static void test_expiry_with_connection_gone(void **state)
{
	struct fx *f = *state;
	session(f, 1, 4000);
	session(f, 2, 40000);
	assert_int_equal(create(f, 1, "/lost", "", ZK_CM_EPHEMERAL, NULL), 0);
	assert_int_equal(exists(f, 2, "/lost", true, NULL), 0);
	/* The client vanishes; its session lives on until it expires. */
	zk_server_conn_closed(f->s, f->now, 1);
	assert_int_equal(exists(f, 2, "/lost", false, NULL), 0);
	advance(f, 8000);
	tick(f);
	disk(f);
	expect_event(f, 2, ZK_EV_DELETED, "/lost");
	assert_int_equal(exists(f, 2, "/lost", false, NULL), ZNONODE);
}

static void tweak_reaper(struct zk_config *c)
{
	c->container_check_interval_ms = 100;
	c->extended_types_enabled = true;
}

static void test_container_reaping(void **state)
{
	(void)state;
	struct fx *f = fx_new(tweak_reaper);
	session(f, 1, 40000);
	w_create(rqx(f, ZK_OP_CREATECONTAINER), "/c", "", ZK_CM_CONTAINER);
	assert_int_equal(call(f, 1).err, 0);
	w_create(rqx(f, ZK_OP_CREATECONTAINER), "/never", "", ZK_CM_CONTAINER);
	assert_int_equal(call(f, 1).err, 0);
	assert_int_equal(create(f, 1, "/c/x", "", 0, NULL), 0);
	assert_int_equal(exists(f, 1, "/c", true, NULL), 0);
	/* Not while it has a child. */
	advance(f, 150);
	tick(f);
	assert_int_equal(f->persists, 0);
	assert_int_equal(del(f, 1, "/c/x", -1), 0);
	/* Emptied: reaped at the next check, with NodeDeleted to its watcher. */
	advance(f, 150);
	tick(f);
	assert_int_equal(f->persists, 1);
	/* A second check before the delete is durable does not submit it twice. */
	advance(f, 150);
	tick(f);
	assert_int_equal(f->persists, 1);
	disk(f);
	expect_event(f, 1, ZK_EV_DELETED, "/c");
	assert_int_equal(exists(f, 1, "/c", false, NULL), ZNONODE);
	/* A container that never had a child stays (maxNeverUsedIntervalMs = 0). */
	advance(f, 30000);
	tick(f);
	assert_int_equal(f->persists, 0);
	assert_int_equal(exists(f, 1, "/never", false, NULL), 0);
	fx_free(f);
}

static void test_ttl(void **state)
{
	(void)state;
	struct fx *f = fx_new(tweak_reaper);
	session(f, 1, 40000);
	struct zk_wbuf *w = rqx(f, ZK_OP_CREATETTL);
	w_create(w, "/t", "", ZK_CM_PERSISTENT_WITH_TTL);
	zk_jw_long(w, 1000);
	struct reply r = call(f, 1);
	assert_int_equal(r.err, 0);
	expect_str(&r.body, "/t");
	struct zk_stat st;
	zk_stat_read(&r.body, &st);
	assert_true(st.ephemeral_owner == 0);
	/* Sequential TTL. */
	w = rqx(f, ZK_OP_CREATETTL);
	w_create(w, "/ts-", "", ZK_CM_PERSISTENT_SEQUENTIAL_WITH_TTL);
	zk_jw_long(w, 1000);
	r = call(f, 1);
	assert_int_equal(r.err, 0);
	char name[64];
	read_str(&r.body, name, sizeof(name));
	assert_int_equal(strncmp(name, "/ts-00000000", 12), 0);
	/* Bad TTLs and modes. */
	static const int64_t bad_ttl[] = {0, -1, ZK_TTL_MAX + 1};
	for (int i = 0; i < 3; i++) {
		w = rqx(f, ZK_OP_CREATETTL);
		w_create(w, "/tb", "", ZK_CM_PERSISTENT_WITH_TTL);
		zk_jw_long(w, bad_ttl[i]);
		assert_int_equal(call(f, 1).err, ZBADARGUMENTS);
	}
	w = rqx(f, ZK_OP_CREATETTL);
	w_create(w, "/tb", "", ZK_CM_PERSISTENT);
	zk_jw_long(w, 1000); /* a TTL with a non-TTL mode */
	assert_int_equal(call(f, 1).err, ZBADARGUMENTS);
	assert_int_equal(create(f, 1, "/tb", "", ZK_CM_PERSISTENT_WITH_TTL, NULL), ZBADARGUMENTS); /* no ttl */
	/* A TTL node with a child is kept past its TTL; the childless one goes once the wall clock
	 * passes mtime + ttl. */
	w = rqx(f, ZK_OP_CREATETTL);
	w_create(w, "/tp", "", ZK_CM_PERSISTENT_WITH_TTL);
	zk_jw_long(w, 1000);
	assert_int_equal(call(f, 1).err, 0);
	assert_int_equal(create(f, 1, "/tp/kid", "", 0, NULL), 0);
	f->now.mono_ms += 200;
	f->now.wall_ms += 500;
	tick(f);
	assert_int_equal(f->persists, 0);
	f->now.mono_ms += 200;
	f->now.wall_ms += 600;
	tick(f);
	assert_int_equal(f->persists, 2);
	disk(f);
	assert_int_equal(exists(f, 1, "/t", false, NULL), ZNONODE);
	assert_int_equal(exists(f, 1, name, false, NULL), ZNONODE);
	assert_int_equal(exists(f, 1, "/tp", false, NULL), 0);
	fx_free(f);
}

/* ---- four-letter words ---- */

static void fourlw(struct fx *f, uint64_t id, const char *cmd, char *out, size_t cap)
{
	open_conn(f, id);
	assert_true(zk_server_is_fourlw((const uint8_t *)cmd));
	zk_server_fourlw(f->s, f->now, id, (const uint8_t *)cmd, &f->out);
	pump(f);
	struct inbox *b = box(f, id);
	assert_true(b->in.len < cap);
	memcpy(out, b->in.p, b->in.len);
	out[b->in.len] = 0;
	b->rpos = b->in.len;
	expect_closed(f, id, ZK_CLOSE_FOURLW_DONE);
}

static void tweak_4lw(struct zk_config *c) { snprintf(c->fourlw_whitelist, sizeof(c->fourlw_whitelist), "ruok, mntr"); }

static void test_fourlw(void **state)
{
	(void)state;
	assert_false(zk_server_is_fourlw((const uint8_t *)"\0\0\0\x2d"));
	assert_false(zk_server_is_fourlw((const uint8_t *)"RUOK"));
	struct fx *f = fx_new(NULL);
	char out[4096];
	/* Default whitelist: srvr only. */
	fourlw(f, 1, "ruok", out, sizeof(out));
	assert_string_equal(out, "ruok is not executed because it is not in the whitelist.\n");
	session(f, 9, 30000);
	assert_int_equal(create(f, 9, "/x", "", 0, NULL), 0);
	fourlw(f, 2, "srvr", out, sizeof(out));
	assert_int_equal(strncmp(out, "Zookeeper version: ", 19), 0);
	assert_non_null(strstr(out, "\nMode: standalone\n"));
	assert_non_null(strstr(out, "\nZxid: 0x2\n"));
	assert_non_null(strstr(out, "\nNode count: 6\n"));
	assert_non_null(strstr(out, "\nOutstanding: 0\n"));
	assert_non_null(strstr(out, "\nLatency min/avg/max: "));
	fx_free(f);
	f = fx_new(tweak_4lw);
	fourlw(f, 1, "ruok", out, sizeof(out));
	assert_string_equal(out, "imok");
	fourlw(f, 2, "mntr", out, sizeof(out));
	assert_non_null(strstr(out, "zk_server_state\tstandalone\n"));
	assert_non_null(strstr(out, "zk_znode_count\t"));
	fourlw(f, 3, "stat", out, sizeof(out));
	assert_string_equal(out, "stat is not executed because it is not in the whitelist.\n");
	fx_free(f);
}

/* ---- failures of the disk and of connections ---- */

static void test_disk_failure(void **state)
{
	struct fx *f = *state;
	session(f, 1, 30000);
	session(f, 2, 30000);
	assert_int_equal(create(f, 1, "/ok", "", 0, NULL), 0);
	w_create(rq(f, 7, ZK_OP_CREATE), "/lost", "", 0);
	send_rq(f, 1);
	w_path_bool(rq(f, 8, ZK_OP_GETDATA), "/ok", false); /* queued behind it */
	send_rq(f, 1);
	/* The write never becomes durable: no acknowledgement, the connection goes. */
	zk_server_disk_done(f->s, f->now, f->max_token, -5, &f->out);
	f->persists = 0;
	pump(f);
	expect_empty(f, 1);
	expect_closed(f, 1, ZK_CLOSE_SHUTDOWN);
	/* From now on writes are refused, reads still served. */
	w_create(rqx(f, ZK_OP_CREATE), "/more", "", 0);
	send_rq(f, 2);
	assert_int_equal(f->persists, 0);
	assert_int_equal(expect_reply(f, 2, f->xid).err, ZNOTREADONLY);
	assert_int_equal(exists(f, 2, "/ok", false, NULL), 0);
	assert_int_equal(exists(f, 2, "/lost", false, NULL), ZNONODE);
	assert_int_equal(zk_server_outstanding(f->s), 0);
}

/* A connection closed by the core (here: its session resumed elsewhere) while its writes and
 * reads are still in the pipeline, with the shell reporting the close only after the disk: the
 * txns stand, nothing is answered on it, and nothing is leaked (ASan's leak check). */
static void test_close_with_pipeline_in_flight(void **state)
{
	struct fx *f = *state;
	int64_t sid = session(f, 1, 30000);
	f->auto_close = false;
	w_create(rq(f, 1, ZK_OP_CREATE), "/l1", "", 0);
	send_rq(f, 1);
	w_path_bool(rq(f, 2, ZK_OP_GETDATA), "/l1", false);
	send_rq(f, 1);
	w_create(rq(f, 3, ZK_OP_CREATE), "/l2", "", 0);
	send_rq(f, 1);
	w_path_bool(rq(f, 4, ZK_OP_EXISTS), "/l2", false);
	send_rq(f, 1);
	uint8_t pw[16];
	zk_session_passwd(sid, pw);
	open_conn(f, 2);
	send_connect(f, 2, sid, pw, 30000, true, 0);
	expect_connect_response(f, 2);
	expect_closed(f, 1, ZK_CLOSE_RECONNECTED);
	disk(f);
	expect_empty(f, 1);
	zk_server_conn_closed(f->s, f->now, 1);
	f->auto_close = true;
	assert_int_equal(zk_server_outstanding(f->s), 0);
	assert_int_equal(exists(f, 2, "/l1", false, NULL), 0);
	assert_int_equal(exists(f, 2, "/l2", false, NULL), 0);
	/* Same with the connection gone before the disk. */
	w_create(rq(f, 5, ZK_OP_CREATE), "/l3", "", 0);
	send_rq(f, 2);
	w_path_bool(rq(f, 6, ZK_OP_GETDATA), "/l3", false);
	send_rq(f, 2);
	zk_server_conn_closed(f->s, f->now, 2);
	assert_int_equal(zk_server_outstanding(f->s), 1);
	disk(f);
	assert_int_equal(zk_server_outstanding(f->s), 0);
	/* An unknown opcode queued between writes closes the connection when its turn comes. */
	session(f, 3, 30000);
	w_create(rq(f, 1, ZK_OP_CREATE), "/u1", "", 0);
	send_rq(f, 3);
	rq(f, 2, 99);
	send_rq(f, 3);
	w_path_bool(rq(f, 3, ZK_OP_GETDATA), "/u1", false);
	send_rq(f, 3);
	w_create(rq(f, 4, ZK_OP_CREATE), "/u2", "", 0);
	send_rq(f, 3);
	f->auto_close = false;
	disk(f);
	assert_int_equal(expect_reply(f, 3, 1).err, 0);
	assert_int_equal(expect_reply(f, 3, 2).err, ZUNIMPLEMENTED);
	expect_empty(f, 3);
	expect_closed(f, 3, ZK_CLOSE_UNIMPLEMENTED);
	zk_server_conn_closed(f->s, f->now, 3);
	f->auto_close = true;
	assert_int_equal(zk_server_outstanding(f->s), 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_handshake_live_bytes),
		T(test_handshake_timeouts_and_old_client),
		T(test_reconnect),
		T(test_connect_refusals),
		cmocka_unit_test(test_max_client_cnxns),
		T(test_requests_before_connect_response),
		T(test_auth),
		T(test_create_modes),
		T(test_create2_container_stat),
		T(test_delete_set_get_exists),
		T(test_children_and_counts),
		T(test_acls),
		T(test_error_codes),
		T(test_unknown_opcode),
		T(test_ephemerals_and_close_session),
		T(test_multi_success),
		T(test_multi_rollback),
		T(test_multi_read),
		T(test_pipelined_writes),
		T(test_reads_queue_behind_writes),
		T(test_event_before_reply),
		T(test_watch_kinds),
		T(test_add_remove_check_watches),
		T(test_set_watches),
		T(test_session_expiry),
		T(test_expiry_with_connection_gone),
		cmocka_unit_test(test_container_reaping),
		cmocka_unit_test(test_ttl),
		cmocka_unit_test(test_fourlw),
		T(test_disk_failure),
		T(test_close_with_pipeline_in_flight),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
