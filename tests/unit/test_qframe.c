/* Framer of the leader <-> learner link (quorum/qframe.c): packets fed whole, byte by byte, in
 * every chunk size up to 64 and in random chunkings give the same items; a wire snapshot written
 * by zk_snap_write, and the empty-tree SNAP of a live ZooKeeper 3.8.0 (protocol.md 5.5), come out
 * as exactly their bytes between the SNAP packet and NEWLEADER, and the scan never goes back;
 * every truncation waits for more and never reads past what was fed; bad counts, lengths,
 * signatures and sizes are refused as soon as they are visible, and the error sticks; the
 * buffer stays small over a long link and is given back after a large snapshot.
 * Past 600 lines because the hostile snapshots are a table spelled out field by field; it stays
 * one executable per module (architecture.md section 5). */
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
#include "qframe.h"
#include "qpkt.h"
#include "snapshot.h"
#include "txn.h"

#define DATA_MAX (1u << 20)
#define SNAP_MAX (64u << 20)
#define T0 1700000000000LL
#define ITEMS_MAX 64

/* ---- building streams ---- */

static const char *const config = "server.1=127.0.0.1:2888:3888:participant\nserver.2=127.0.0.1:2889:3889:participant\n"
				  "server.3=127.0.0.1:2890:3890:participant\nversion=0";

/* One QuorumPacket; ids is "scheme id scheme id ..." pairs (n_auth of them), NULL = null vector. */
static void pkt(struct zk_wbuf *w, int32_t type, int64_t zxid, const char *data, int32_t len, int32_t n_auth,
		const char *const *ids)
{
	zk_jw_int(w, type);
	zk_jw_long(w, zxid);
	zk_jw_buffer(w, (const uint8_t *)data, len);
	zk_jw_int(w, n_auth);
	for (int32_t i = 0; i < 2 * n_auth; i++)
		zk_jw_cstr(w, ids[i]);
}

static void simple(struct zk_wbuf *w, int32_t type, int64_t zxid) { pkt(w, type, zxid, NULL, -1, -1, NULL); }

static void packet_stream(struct zk_wbuf *w)
{
	static const char *const ids[] = {"ip", "127.0.0.1", "digest", "bob:ikIaKsbtGweaHnb/jKn7OHqbunM="};
	static const char touch[] = "\x01\x00\x00\x5a\x73\x1d\x00\x00\x00\x00\x75\x30";
	char big[3000];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7 + 3);
	zk_wbuf_init(w);
	pkt(w, ZK_QP_LEADERINFO, 0x100000000LL, "\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 12, -1, NULL);
	simple(w, ZK_QP_DIFF, 0x100000003LL);
	pkt(w, ZK_QP_PROPOSAL, 0x100000004LL, big, sizeof(big), -1, NULL);
	simple(w, ZK_QP_COMMIT, 0x100000004LL);
	pkt(w, ZK_QP_NEWLEADER, 0x200000000LL, config, (int32_t)strlen(config), -1, NULL);
	simple(w, ZK_QP_UPTODATE, -1);
	pkt(w, ZK_QP_PING, 0x200000001LL, touch, 12, -1, NULL);
	pkt(w, ZK_QP_PING, 0x200000001LL, "", 0, -1, NULL); /* empty touch table */
	pkt(w, ZK_QP_REQUEST, -1, "\x01\x00\x00\x5a\x73\x1d\x00\x00\x00\x00\x00\x01\x00\x00\x00\x01", 16, 2, ids);
	pkt(w, ZK_QP_REQUEST, -1, "x", 1, 0, NULL); /* empty authinfo, not null */
	simple(w, ZK_QP_SYNC, 0);
	simple(w, 99, 42); /* unknown types are the caller's business */
	assert_int_equal(w->err, 0);
}

static int wbuf_sink(void *ctx, const void *p, size_t n)
{
	struct zk_wbuf *w = ctx;
	zk_jw_raw(w, p, n);
	return w->err;
}

static struct zk_acl_list *acl(struct zk_db *db, int32_t perms, const char *scheme, const char *id, int32_t perms2,
			       const char *scheme2, const char *id2)
{
	struct zk_wbuf w;
	zk_wbuf_init(&w);
	zk_jw_int(&w, scheme2 ? 2 : 1);
	zk_jw_int(&w, perms);
	zk_jw_cstr(&w, scheme);
	zk_jw_cstr(&w, id);
	if (scheme2) {
		zk_jw_int(&w, perms2);
		zk_jw_cstr(&w, scheme2);
		zk_jw_cstr(&w, id2);
	}
	struct zk_acl_list *l = zk_aclcache_intern(&db->tree.acls, w.p, w.len);
	assert_non_null(l);
	zk_wbuf_fini(&w);
	return l;
}

static void mk(struct zk_db *db, const char *path, const uint8_t *data, int32_t len, struct zk_acl_list *a,
	       int64_t owner)
{
	int64_t z = ++db->last_zxid;
	assert_int_equal(zk_dtree_create(&db->tree, path, strlen(path), data, len, a, owner, -1, z, T0 + z), ZOK);
}

/* A small database with sessions, three ACL lists, null, empty and chunk-sized data, an
 * ephemeral, and a node whose path is one byte long but not "/" ends nothing. */
static void small_db(struct zk_db *db, size_t big_len)
{
	assert_int_equal(zk_db_init(db, 2000, 1, 0), 0);
	assert_non_null(zk_sessions_add(&db->sessions, 0x1000057f1ab0000LL, 30000, 0));
	assert_non_null(zk_sessions_add(&db->sessions, 0x1000057f1ab0001LL, 4000, 0));
	struct zk_acl_list *open = acl(db, 31, "world", "anyone", 0, NULL, NULL);
	struct zk_acl_list *dig = acl(db, 31, "digest", "bob:ikIaKsbtGweaHnb/jKn7OHqbunM=", 1, "world", "anyone");
	struct zk_acl_list *ip = acl(db, 31, "ip", "127.0.0.1", 1, "ip", "10.0.0.0/8");
	uint8_t *big = malloc(big_len);
	assert_non_null(big);
	for (size_t i = 0; i < big_len; i++)
		big[i] = (uint8_t)(i * 31 + 7);
	mk(db, "/a", (const uint8_t *)"v1", 2, open, 0);
	mk(db, "/a/empty", (const uint8_t *)"", 0, dig, 0);
	mk(db, "/a/null", NULL, -1, ip, 0);
	mk(db, "/eph", (const uint8_t *)"e", 1, open, 0x1000057f1ab0000LL);
	mk(db, "/b", big, (int32_t)big_len, db->tree.open_acl, 0);
	free(big);
	zk_aclcache_release(&db->tree.acls, open);
	zk_aclcache_release(&db->tree.acls, dig);
	zk_aclcache_release(&db->tree.acls, ip);
}

static void wire_snap(size_t big_len, struct zk_wbuf *snap)
{
	struct zk_db db;
	small_db(&db, big_len);
	zk_wbuf_init(snap);
	assert_int_equal(zk_snap_write(&db, db.last_zxid, ZK_SNAP_WIRE, wbuf_sink, snap), 0);
	assert_int_equal(snap->err, 0);
	zk_db_fini(&db);
}

/* SNAP, the snapshot, NEWLEADER, UPTODATE. *snap_at is where the snapshot starts. */
static void snap_stream(const struct zk_wbuf *snap, struct zk_wbuf *w, size_t *snap_at)
{
	zk_wbuf_init(w);
	simple(w, ZK_QP_SNAP, 0x100000007LL);
	*snap_at = w->len;
	zk_jw_raw(w, snap->p, snap->len);
	pkt(w, ZK_QP_NEWLEADER, 0x200000000LL, config, (int32_t)strlen(config), -1, NULL);
	simple(w, ZK_QP_UPTODATE, -1);
	assert_int_equal(w->err, 0);
}

/* ---- running the framer ---- */

struct item {
	int kind;
	int32_t type;
	int64_t zxid;
	int32_t n_auth;
	size_t len;  /* data (-1 = null as SIZE_MAX) or snapshot bytes */
	uint8_t *p;  /* copy of data or snapshot */
	size_t auth_len;
	uint8_t *auth;
};

struct run {
	struct item items[ITEMS_MAX];
	int n;
	int rc;            /* the last zk_qframe_next result: 0 or an error */
	size_t cap_max;    /* the largest buffer capacity seen */
	bool pos_went_back; /* the snapshot scan position ever decreased within one snapshot */
};

static uint8_t *dup(const uint8_t *p, size_t n)
{
	uint8_t *d = malloc(n ? n : 1);
	assert_non_null(d);
	if (n)
		memcpy(d, p, n);
	return d;
}

static void run_free(struct run *r)
{
	for (int i = 0; i < r->n; i++) {
		free(r->items[i].p);
		free(r->items[i].auth);
	}
	r->n = 0;
}

static void keep(struct run *r, int kind, const struct zk_qpkt *q, const uint8_t *snap, size_t snap_len)
{
	assert_true(r->n < ITEMS_MAX);
	struct item *it = &r->items[r->n++];
	memset(it, 0, sizeof(*it));
	it->kind = kind;
	if (kind == ZK_QF_SNAP) {
		it->len = snap_len;
		it->p = dup(snap, snap_len);
		return;
	}
	it->type = q->type;
	it->zxid = q->zxid;
	it->n_auth = q->n_auth;
	it->len = q->data.len < 0 ? SIZE_MAX : (size_t)q->data.len;
	it->p = dup(q->data.p, q->data.len < 0 ? 0 : (size_t)q->data.len);
	it->auth_len = q->auth_len;
	it->auth = dup(q->auth, q->auth_len);
}

/* Drains the framer; returns false once it has failed. */
static bool drain(struct zk_qframe *f, struct run *r, size_t *last_pos)
{
	for (;;) {
		struct zk_qpkt q;
		const uint8_t *snap = NULL;
		size_t snap_len = 0;
		int rc = zk_qframe_next(f, &q, &snap, &snap_len);
		if (f->in_snap) {
			if (f->snap_pos < *last_pos)
				r->pos_went_back = true;
			*last_pos = f->snap_pos;
		} else {
			*last_pos = 0;
		}
		if (rc <= 0) {
			r->rc = rc;
			return rc == 0;
		}
		keep(r, rc, &q, snap, snap_len);
	}
}

static uint64_t rng_state;
static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Feeds p[0..n) in chunks of `chunk` bytes (0 = random sizes 1..2*avg from rng) with a fresh
 * framer. Every chunk is fed from its own exact-size heap copy, so ASan sees any read of it. */
static void run_stream(const uint8_t *p, size_t n, size_t chunk, size_t avg, size_t data_max, uint64_t snap_max,
		       struct run *r)
{
	memset(r, 0, sizeof(*r));
	struct zk_qframe f;
	zk_qframe_init(&f, data_max, snap_max);
	size_t pos = 0, last_pos = 0;
	bool ok = drain(&f, r, &last_pos);
	while (ok && pos < n) {
		size_t k = chunk ? chunk : 1 + (size_t)(rng() % (2 * avg));
		if (k > n - pos)
			k = n - pos;
		uint8_t *c = dup(p + pos, k);
		assert_int_equal(zk_qframe_feed(&f, c, k), 0);
		free(c);
		pos += k;
		if (f.buf.cap > r->cap_max)
			r->cap_max = f.buf.cap;
		ok = drain(&f, r, &last_pos);
	}
	zk_qframe_fini(&f);
}

static void assert_same_run(const struct run *a, const struct run *b)
{
	assert_int_equal(a->rc, b->rc);
	assert_int_equal(a->n, b->n);
	for (int i = 0; i < a->n; i++) {
		const struct item *x = &a->items[i], *y = &b->items[i];
		assert_int_equal(x->kind, y->kind);
		assert_int_equal(x->type, y->type);
		assert_int_equal(x->zxid, y->zxid);
		assert_int_equal(x->n_auth, y->n_auth);
		assert_int_equal(x->len, y->len);
		if (x->len != SIZE_MAX && x->len)
			assert_memory_equal(x->p, y->p, x->len);
		assert_int_equal(x->auth_len, y->auth_len);
		if (x->auth_len)
			assert_memory_equal(x->auth, y->auth, x->auth_len);
	}
	assert_false(b->pos_went_back);
}

/* Whole, byte by byte, every chunk size up to 64, and `randoms` random chunkings: one result. */
static void all_chunkings(const uint8_t *p, size_t n, size_t data_max, uint64_t snap_max, int randoms,
			  struct run *whole)
{
	run_stream(p, n, n ? n : 1, 0, data_max, snap_max, whole);
	struct run *r = malloc(sizeof(*r));
	assert_non_null(r);
	for (size_t k = 1; k <= 64; k++) {
		run_stream(p, n, k, 0, data_max, snap_max, r);
		assert_same_run(whole, r);
		run_free(r);
	}
	rng_state = 0x9E3779B97F4A7C15ULL;
	for (int i = 0; i < randoms; i++) {
		size_t avg = (size_t)1 << (rng() % 12);
		run_stream(p, n, 0, avg, data_max, snap_max, r);
		assert_same_run(whole, r);
		run_free(r);
	}
	free(r);
}

/* ---- packets ---- */

static void test_packets_every_chunking(void **state)
{
	(void)state;
	struct zk_wbuf w;
	packet_stream(&w);
	struct run *whole = malloc(sizeof(*whole));
	all_chunkings(w.p, w.len, DATA_MAX, SNAP_MAX, 200, whole);
	assert_int_equal(whole->rc, 0);
	assert_int_equal(whole->n, 12);
	static const int32_t types[] = {ZK_QP_LEADERINFO, ZK_QP_DIFF, ZK_QP_PROPOSAL, ZK_QP_COMMIT,
					ZK_QP_NEWLEADER, ZK_QP_UPTODATE, ZK_QP_PING, ZK_QP_PING,
					ZK_QP_REQUEST, ZK_QP_REQUEST, ZK_QP_SYNC, 99};
	for (int i = 0; i < 12; i++) {
		assert_int_equal(whole->items[i].kind, ZK_QF_PACKET);
		assert_int_equal(whole->items[i].type, types[i]);
	}
	assert_int_equal(whole->items[2].len, 3000);
	assert_int_equal(whole->items[2].zxid, 0x100000004LL);
	assert_int_equal(whole->items[4].len, strlen(config));
	assert_memory_equal(whole->items[4].p, config, strlen(config));
	assert_int_equal(whole->items[5].len, SIZE_MAX); /* null data */
	assert_int_equal(whole->items[7].len, 0);        /* empty, not null */
	assert_int_equal(whole->items[8].n_auth, 2);
	assert_int_equal(whole->items[8].auth_len, 4 + 2 + 4 + 9 + 4 + 6 + 4 + 32);
	assert_int_equal(whole->items[9].n_auth, 0);
	assert_int_equal(whole->items[5].n_auth, -1);
	run_free(whole);
	free(whole);
	zk_wbuf_fini(&w);
}

/* The smallest packet, UPTODATE as captured live (protocol.md 5.2). */
static void test_packet_live_uptodate(void **state)
{
	(void)state;
	static const uint8_t up[] = {0, 0, 0, 0x0c, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
				     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	struct run r;
	run_stream(up, sizeof(up), 1, 0, DATA_MAX, SNAP_MAX, &r);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.items[0].type, ZK_QP_UPTODATE);
	assert_int_equal(r.items[0].zxid, -1);
	assert_int_equal(r.items[0].len, SIZE_MAX);
	run_free(&r);
}

/* A long-lived link: 20000 packets in 1000-byte reads keep the buffer near one read's size. */
static void test_buffer_stays_small(void **state)
{
	(void)state;
	struct zk_wbuf w;
	zk_wbuf_init(&w);
	for (int i = 0; i < 20000; i++) {
		if (i % 2)
			simple(&w, ZK_QP_COMMIT, 0x100000000LL + i);
		else
			pkt(&w, ZK_QP_PROPOSAL, 0x100000000LL + i, "0123456789abcdef0123456789abcdef", 1 + i % 32, -1, NULL);
	}
	assert_int_equal(w.err, 0);
	struct zk_qframe f;
	zk_qframe_init(&f, DATA_MAX, SNAP_MAX);
	size_t cap_max = 0, pos = 0;
	int n = 0;
	while (pos < w.len) {
		size_t k = w.len - pos < 1000 ? w.len - pos : 1000;
		assert_int_equal(zk_qframe_feed(&f, w.p + pos, k), 0);
		pos += k;
		struct zk_qpkt q;
		int rc;
		while ((rc = zk_qframe_next(&f, &q, NULL, NULL)) == ZK_QF_PACKET) {
			assert_int_equal(q.zxid, 0x100000000LL + n);
			n++;
		}
		assert_int_equal(rc, ZK_QF_NONE);
		if (f.buf.cap > cap_max)
			cap_max = f.buf.cap;
	}
	assert_int_equal(n, 20000);
	assert_true(cap_max <= 2048);
	zk_qframe_fini(&f);
	zk_wbuf_fini(&w);
}

/* ---- snapshots ---- */

static void check_snap_run(const struct run *r, const struct zk_wbuf *snap)
{
	assert_int_equal(r->rc, 0);
	assert_int_equal(r->n, 4);
	assert_int_equal(r->items[0].kind, ZK_QF_PACKET);
	assert_int_equal(r->items[0].type, ZK_QP_SNAP);
	assert_int_equal(r->items[0].zxid, 0x100000007LL);
	assert_int_equal(r->items[1].kind, ZK_QF_SNAP);
	assert_int_equal(r->items[1].len, snap->len);
	assert_memory_equal(r->items[1].p, snap->p, snap->len);
	assert_int_equal(r->items[2].kind, ZK_QF_PACKET);
	assert_int_equal(r->items[2].type, ZK_QP_NEWLEADER);
	assert_int_equal(r->items[2].len, strlen(config));
	assert_int_equal(r->items[3].type, ZK_QP_UPTODATE);
}

/* The peer's loader takes exactly the bytes the framer handed over. */
static void load_ok(const uint8_t *p, size_t n)
{
	struct zk_db db;
	assert_int_equal(zk_db_init(&db, 2000, 1, 0), 0);
	struct zk_snap_info info;
	char err[256] = "";
	int rc = zk_snap_load(&db, p, n, 7, ZK_SNAP_WIRE, &info, err, sizeof(err));
	if (rc)
		fail_msg("zk_snap_load: %d %s", rc, err);
	assert_int_equal(info.bytes_used, n);
	zk_db_fini(&db);
}

static void test_snapshot_every_chunking(void **state)
{
	(void)state;
	struct zk_wbuf snap, w;
	wire_snap(100, &snap);
	size_t at;
	snap_stream(&snap, &w, &at);
	struct run *whole = malloc(sizeof(*whole));
	all_chunkings(w.p, w.len, DATA_MAX, SNAP_MAX, 100, whole);
	check_snap_run(whole, &snap);
	load_ok(whole->items[1].p, whole->items[1].len);
	run_free(whole);
	free(whole);
	zk_wbuf_fini(&w);
	zk_wbuf_fini(&snap);
}

/* Node data larger than the snapshot writer's chunk, and two SNAPs on one link (the scan state
 * starts over for the second). */
static void test_snapshot_large_and_twice(void **state)
{
	(void)state;
	struct zk_wbuf snap, w;
	wire_snap(3 * ZK_SNAP_CHUNK_BYTES + 5, &snap);
	size_t at;
	snap_stream(&snap, &w, &at);
	struct zk_wbuf two;
	zk_wbuf_init(&two);
	zk_jw_raw(&two, w.p, w.len);
	zk_jw_raw(&two, w.p, w.len);
	struct run r;
	for (size_t chunk = 1; chunk <= 8192; chunk *= 8) {
		run_stream(two.p, two.len, chunk, 0, DATA_MAX, SNAP_MAX, &r);
		assert_false(r.pos_went_back);
		assert_int_equal(r.n, 8);
		struct run half = r;
		half.n = 4;
		check_snap_run(&half, &snap);
		memcpy(half.items, r.items + 4, 4 * sizeof(r.items[0]));
		check_snap_run(&half, &snap);
		run_free(&r);
	}
	/* The node's data is over a smaller data_max: refused when its length is seen. */
	run_stream(two.p, two.len, 1, 0, 1000, SNAP_MAX, &r);
	assert_int_equal(r.rc, ZK_ERANGE);
	assert_int_equal(r.n, 1);
	run_free(&r);
	zk_wbuf_fini(&two);
	zk_wbuf_fini(&w);
	zk_wbuf_fini(&snap);
}

/* Once the large snapshot is handed over and the link drains, its memory goes back. */
static void test_snapshot_memory_released(void **state)
{
	(void)state;
	struct zk_wbuf snap, w;
	wire_snap(3 << 20, &snap);
	size_t at;
	snap_stream(&snap, &w, &at);
	struct zk_qframe f;
	zk_qframe_init(&f, 4u << 20, SNAP_MAX);
	assert_int_equal(zk_qframe_feed(&f, w.p, w.len), 0);
	struct zk_qpkt q;
	const uint8_t *p;
	size_t n;
	assert_int_equal(zk_qframe_next(&f, &q, &p, &n), ZK_QF_PACKET);
	assert_int_equal(zk_qframe_next(&f, &q, &p, &n), ZK_QF_SNAP);
	assert_int_equal(n, snap.len);
	assert_int_equal(zk_qframe_next(&f, &q, &p, &n), ZK_QF_PACKET);
	assert_int_equal(zk_qframe_next(&f, &q, &p, &n), ZK_QF_PACKET);
	assert_int_equal(zk_qframe_next(&f, &q, &p, &n), ZK_QF_NONE);
	assert_true(f.buf.cap <= (1u << 20));
	zk_qframe_fini(&f);
	zk_wbuf_fini(&w);
	zk_wbuf_fini(&snap);
}

/* protocol.md 5.5, verified live: SNAP of a fresh tree (0 sessions, ACL cache {1: world:anyone},
 * the root, /zookeeper, /zookeeper/config, /zookeeper/quota; the nodes' bytes are those of the
 * live snapshot.0 in test_snapshot.c, which the capture's "..." stands for), then NEWLEADER. */
static const char live_snap_hex[] =
	"0000000f0000000100000000ffffffffffffffff00000000000000010000000000000001000000010000000100000005"
	"776f726c6400000006616e796f6e650000000000000000ffffffffffffffff0000000000000000000000000000000000"
	"000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000a2f"
	"7a6f6f6b656570657200000000ffffffffffffffff000000000000000000000000000000000000000000000000000000"
	"000000000000000000000000000000000000000000000000000000000000000000000000112f7a6f6f6b65657065722f"
	"636f6e666967000000000000000000000001000000000000000000000000000000000000000000000000000000000000"
	"00000000000000000000ffffffff00000000000000000000000000000000000000102f7a6f6f6b65657065722f71756f"
	"746100000000ffffffffffffffff00000000000000000000000000000000000000000000000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000012f0000000a42656e57617348657265";

static size_t unhex(const char *h, uint8_t *out)
{
	size_t n = strlen(h) / 2;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		assert_int_equal(sscanf(h + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

static void test_snapshot_live_capture(void **state)
{
	(void)state;
	struct zk_wbuf w;
	zk_wbuf_init(&w);
	assert_int_equal(zk_wbuf_reserve(&w, sizeof(live_snap_hex)), 0);
	w.len = unhex(live_snap_hex, w.p);
	pkt(&w, ZK_QP_NEWLEADER, 0x100000000LL, config, (int32_t)strlen(config), -1, NULL);
	struct run *whole = malloc(sizeof(*whole));
	all_chunkings(w.p, w.len, DATA_MAX, SNAP_MAX, 50, whole);
	assert_int_equal(whole->rc, 0);
	assert_int_equal(whole->n, 3);
	assert_int_equal(whole->items[0].type, ZK_QP_SNAP);
	assert_int_equal(whole->items[0].zxid, 0x100000000LL);
	assert_int_equal(whole->items[1].kind, ZK_QF_SNAP);
	assert_int_equal(whole->items[1].len, 429 - 20); /* 409: from the session count to "BenWasHere" */
	assert_memory_equal(whole->items[1].p, w.p + 20, 409);
	assert_int_equal(whole->items[2].type, ZK_QP_NEWLEADER);
	load_ok(whole->items[1].p, whole->items[1].len);
	run_free(whole);
	free(whole);
	zk_wbuf_fini(&w);
}

/* ---- truncation ---- */

/* Every prefix: the items wholly inside it, then "need more", never an error. The buffer's
 * slack past what was fed is filled with 0xff (lengths of -1 and worse), so a scan that looked
 * past the fed bytes would fail instead of waiting. */
static void test_every_truncation(void **state)
{
	(void)state;
	struct zk_wbuf snap, w;
	wire_snap(100, &snap);
	size_t at;
	snap_stream(&snap, &w, &at);
	size_t snap_end = at + snap.len;
	for (size_t n = 0; n < w.len; n++) {
		struct zk_qframe f;
		zk_qframe_init(&f, DATA_MAX, SNAP_MAX);
		uint8_t *c = dup(w.p, n);
		assert_int_equal(zk_qframe_feed(&f, c, n), 0);
		free(c);
		if (f.buf.cap > f.buf.len)
			memset(f.buf.p + f.buf.len, 0xff, f.buf.cap - f.buf.len);
		struct zk_qpkt q;
		const uint8_t *p;
		size_t len;
		int items = 0, rc;
		while ((rc = zk_qframe_next(&f, &q, &p, &len)) > 0)
			items++;
		assert_int_equal(rc, ZK_QF_NONE);
		int want = n < 20 ? 0 : n < snap_end ? 1 : n < snap_end + 20 + strlen(config) ? 2 : 3;
		assert_int_equal(items, want);
		zk_qframe_fini(&f);
	}
	zk_wbuf_fini(&w);
	zk_wbuf_fini(&snap);
}

/* ---- bad input ---- */

struct bad {
	const char *name;
	const char *hex;    /* the snapshot after the SNAP packet */
	size_t data_max;
	uint64_t snap_max;
	int rc;
	size_t seen;        /* bytes of the snapshot fed when the error must be reported */
};

#define SIG "0000000a42656e57617348657265"
#define ROOT "00000000" "ffffffff" "ffffffffffffffff" STAT
#define Z8 "0000000000000000"
#define STAT Z8 Z8 Z8 Z8 Z8 Z8 Z8 "00000000" /* 60 bytes */
#define END "000000012f"

static const struct bad bads[] = {
	{"session count -1", "ffffffff", DATA_MAX, SNAP_MAX, ZK_ERANGE, 4},
	{"session count past snap_max", "7fffffff", DATA_MAX, SNAP_MAX, ZK_ERANGE, 4},
	{"sessions past a small snap_max", "00000002", DATA_MAX, 16, ZK_ERANGE, 4},
	{"ACL cache count -2", "00000000" "fffffffe", DATA_MAX, SNAP_MAX, ZK_ERANGE, 8},
	{"ACL cache count past snap_max", "00000000" "10000000", DATA_MAX, SNAP_MAX, ZK_ERANGE, 8},
	{"ACL list null", "00000000" "00000001" "0000000000000001" "ffffffff", DATA_MAX, SNAP_MAX, ZK_EINVAL, 20},
	{"ACL list count -7", "00000000" "00000001" "0000000000000001" "fffffff9", DATA_MAX, SNAP_MAX, ZK_ERANGE, 20},
	{"ACL list past snap_max", "00000000" "00000001" "0000000000000001" "7fffffff", DATA_MAX, SNAP_MAX, ZK_ERANGE, 20},
	{"ACL scheme length -2", "00000000" "00000001" "0000000000000001" "00000001" "0000001f" "fffffffe",
	 DATA_MAX, SNAP_MAX, ZK_EINVAL, 28},
	{"ACL scheme over 1 MiB", "00000000" "00000001" "0000000000000001" "00000001" "0000001f" "00100001",
	 DATA_MAX, SNAP_MAX, ZK_ERANGE, 28},
	{"ACL id length INT_MIN", "00000000" "00000001" "0000000000000001" "00000001" "0000001f" "00000002" "6970"
	 "80000000", DATA_MAX, SNAP_MAX, ZK_EINVAL, 34},
	{"ACL id over 1 MiB", "00000000" "00000001" "0000000000000001" "00000001" "0000001f" "00000002" "6970"
	 "7fffffff", DATA_MAX, SNAP_MAX, ZK_ERANGE, 34},
	{"null path", "00000000" "00000000" "ffffffff", DATA_MAX, SNAP_MAX, ZK_EINVAL, 12},
	{"path length -3", "00000000" "00000000" "fffffffd", DATA_MAX, SNAP_MAX, ZK_EINVAL, 12},
	{"path over 1 MiB", "00000000" "00000000" "7fffffff", DATA_MAX, SNAP_MAX, ZK_ERANGE, 12},
	{"path past snap_max", "00000000" "00000000" "00080000", DATA_MAX, 1000, ZK_ERANGE, 12},
	{"data length -2", "00000000" "00000000" "00000000" "fffffffe", DATA_MAX, SNAP_MAX, ZK_EINVAL, 16},
	{"data over data_max", "00000000" "00000000" "00000000" "00000401", 1024, SNAP_MAX, ZK_ERANGE, 16},
	{"data past snap_max", "00000000" "00000000" "00000000" "00000400", 1 << 20, 1000, ZK_ERANGE, 16},
	{"signature length 9", "00000000" "00000000" ROOT END "00000009" "42656e576173486572", DATA_MAX, SNAP_MAX,
	 ZK_EINVAL, 93},
	{"signature null", "00000000" "00000000" ROOT END "ffffffff", DATA_MAX, SNAP_MAX, ZK_EINVAL, 93},
	{"signature text", "00000000" "00000000" ROOT END "0000000a" "42656e57617348657266", DATA_MAX, SNAP_MAX,
	 ZK_EINVAL, 103},
	{"signature past snap_max", "00000000" "00000000" ROOT END SIG, DATA_MAX, 102, ZK_ERANGE, 93},
	{"end past snap_max", "00000000" "00000000" ROOT END SIG, DATA_MAX, 88, ZK_ERANGE, 88},
};

static void feed_hex(struct zk_wbuf *w, const char *hex)
{
	size_t n = strlen(hex) / 2;
	assert_int_equal(zk_wbuf_reserve(w, n), 0);
	w->len += unhex(hex, w->p + w->len);
}

/* Each bad snapshot, fed byte by byte: the error comes with the byte that shows it, before any
 * bytes it announced, and every later call returns it again. */
static void test_bad_snapshots(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		const struct bad *b = &bads[i];
		struct zk_wbuf w;
		zk_wbuf_init(&w);
		simple(&w, ZK_QP_SNAP, 1);
		feed_hex(&w, b->hex);
		struct run r;
		run_stream(w.p, w.len, 1, 0, b->data_max, b->snap_max, &r);
		if (r.rc != b->rc || r.n != 1)
			fail_msg("%s: rc %d items %d", b->name, r.rc, r.n);
		run_free(&r);
		/* Exactly when: one byte less only waits. */
		struct zk_qframe f;
		zk_qframe_init(&f, b->data_max, b->snap_max);
		assert_int_equal(zk_qframe_feed(&f, w.p, 20 + b->seen - 1), 0);
		struct zk_qpkt q;
		const uint8_t *p;
		size_t n;
		assert_int_equal(zk_qframe_next(&f, &q, &p, &n), ZK_QF_PACKET);
		if (zk_qframe_next(&f, &q, &p, &n) != ZK_QF_NONE)
			fail_msg("%s: error before byte %zu", b->name, b->seen);
		assert_int_equal(zk_qframe_feed(&f, w.p + 20 + b->seen - 1, 1), 0);
		if (zk_qframe_next(&f, &q, &p, &n) != b->rc)
			fail_msg("%s: no error at byte %zu", b->name, b->seen);
		assert_int_equal(zk_qframe_feed(&f, (const uint8_t *)"\0\0\0\0", 4), 0);
		assert_int_equal(zk_qframe_next(&f, &q, &p, &n), b->rc); /* sticky */
		zk_qframe_fini(&f);
		zk_wbuf_fini(&w);
	}
}

/* The smallest snapshots the scan takes (it checks no structure) and the exact snap_max. */
static void test_minimal_snapshots(void **state)
{
	(void)state;
	static const char *const ok[] = {
		"00000000" "00000000" END SIG,
		"00000000" "00000000" ROOT END SIG,
		"00000001" "0000000000000001" "00007530" "00000001" "0000000000000001" "00000000" ROOT END SIG,
		/* a one-byte path other than "/" is a node */
		"00000000" "00000000" "0000000161" "00000000" "ffffffffffffffff" STAT END SIG,
		/* null ACL strings are lengths, not errors, for the scan */
		"00000000" "00000001" "0000000000000001" "00000001" "0000001f" "ffffffff" "ffffffff" END SIG,
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct zk_wbuf w;
		zk_wbuf_init(&w);
		simple(&w, ZK_QP_SNAP, 1);
		feed_hex(&w, ok[i]);
		size_t len = w.len - 20;
		simple(&w, ZK_QP_NEWLEADER, 2);
		struct run *whole = malloc(sizeof(*whole));
		all_chunkings(w.p, w.len, DATA_MAX, len, 10, whole);
		assert_int_equal(whole->rc, 0);
		assert_int_equal(whole->n, 3);
		assert_int_equal(whole->items[1].kind, ZK_QF_SNAP);
		assert_int_equal(whole->items[1].len, len);
		run_free(whole);
		run_stream(w.p, w.len, 1, 0, DATA_MAX, len - 1, whole);
		assert_int_equal(whole->rc, ZK_ERANGE);
		run_free(whole);
		free(whole);
		zk_wbuf_fini(&w);
	}
}

/* Bad packets are the decoder's verdict, passed on and kept. */
static void test_bad_packets(void **state)
{
	(void)state;
	static const struct {
		const char *hex;
		int rc;
	} cases[] = {
		{"00000005" "0000000000000001" "fffffffe", ZK_EINVAL},
		{"00000005" "0000000000000001" "00100001", ZK_ERANGE},
		{"00000001" "0000000000000001" "ffffffff" "00000011", ZK_ERANGE}, /* 17 auth ids */
		{"00000001" "0000000000000001" "ffffffff" "fffffff0", ZK_EINVAL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct zk_wbuf w;
		zk_wbuf_init(&w);
		simple(&w, ZK_QP_PING, 0);
		feed_hex(&w, cases[i].hex);
		struct run r;
		run_stream(w.p, w.len, 1, 0, DATA_MAX, SNAP_MAX, &r);
		assert_int_equal(r.rc, cases[i].rc);
		assert_int_equal(r.n, 1);
		run_free(&r);
		zk_wbuf_fini(&w);
	}
}

static void test_empty(void **state)
{
	(void)state;
	struct zk_qframe f;
	zk_qframe_init(&f, DATA_MAX, SNAP_MAX);
	struct zk_qpkt q;
	const uint8_t *p;
	size_t n;
	assert_int_equal(zk_qframe_next(&f, &q, &p, &n), ZK_QF_NONE);
	assert_int_equal(zk_qframe_feed(&f, NULL, 0), 0);
	assert_int_equal(zk_qframe_next(&f, &q, &p, &n), ZK_QF_NONE);
	zk_qframe_fini(&f);
	zk_qframe_fini(&f); /* twice is harmless */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_packets_every_chunking),
		cmocka_unit_test(test_packet_live_uptodate),
		cmocka_unit_test(test_buffer_stays_small),
		cmocka_unit_test(test_snapshot_every_chunking),
		cmocka_unit_test(test_snapshot_large_and_twice),
		cmocka_unit_test(test_snapshot_memory_released),
		cmocka_unit_test(test_snapshot_live_capture),
		cmocka_unit_test(test_every_truncation),
		cmocka_unit_test(test_bad_snapshots),
		cmocka_unit_test(test_minimal_snapshots),
		cmocka_unit_test(test_bad_packets),
		cmocka_unit_test(test_empty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
