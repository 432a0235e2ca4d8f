/* Jute codec and client-protocol records (common/jute.c, common/records.c): every primitive
 * round trips, every request record decodes from bytes built with the writers, the wire
 * examples of protocol.md 2.1/2.6/2.7 come out byte for byte, and malformed input (truncation at
 * every offset, negative and oversized lengths, lying vector counts) is an error, never an
 * out-of-bounds read: inputs are copied into exact-size heap blocks so ASan sees any overrun. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "jute.h"
#include "proto.h"
#include "records.h"
#include "zmalloc.h"

#define CAP ZK_JUTE_MAXBUFFER_DEFAULT

/* "00 0a ff" -> bytes; spaces ignored. Returns the count. */
static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;
	int hi = -1;
	for (const char *p = hex; *p; p++) {
		int v;
		if (*p >= '0' && *p <= '9')
			v = *p - '0';
		else if (*p >= 'a' && *p <= 'f')
			v = *p - 'a' + 10;
		else if (*p >= 'A' && *p <= 'F')
			v = *p - 'A' + 10;
		else
			continue;
		if (hi < 0) {
			hi = v;
		} else {
			assert_true(n < cap);
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	assert_int_equal(hi, -1);
	return n;
}

static void assert_hex(const uint8_t *p, size_t len, const char *hex)
{
	uint8_t want[512];
	size_t n = unhex(hex, want, sizeof(want));
	assert_int_equal(len, n);
	assert_memory_equal(p, want, n);
}

/* An exact-size heap copy: reading one byte past it is an ASan report. */
static uint8_t *dup_exact(const uint8_t *p, size_t n)
{
	uint8_t *d = malloc(n ? n : 1);
	assert_non_null(d);
	if (n)
		memcpy(d, p, n);
	return d;
}

static bool bytes_is(struct zk_bytes b, const char *s)
{
	return b.len == (int32_t)strlen(s) && (b.len == 0 || !memcmp(b.p, s, (size_t)b.len));
}

/* ---- primitives ---- */

static void test_be_helpers(void **state)
{
	(void)state;
	uint8_t b[8];
	zk_put_be32(b, 0x01020304);
	assert_hex(b, 4, "01020304");
	assert_int_equal(zk_get_be32(b), 0x01020304);
	zk_put_be64(b, 0x0102030405060708ULL);
	assert_hex(b, 8, "0102030405060708");
	assert_true(zk_get_be64(b) == 0x0102030405060708ULL);
	zk_put_be32(b, 0xffffffffu);
	assert_int_equal((int32_t)zk_get_be32(b), -1);
}

static void test_primitive_round_trip(void **state)
{
	(void)state;
	static const int32_t ints[] = {0, 1, -1, 255, 256, 0x12345678, INT32_MAX, INT32_MIN};
	static const int64_t longs[] = {0, 1, -1, 0x01000057f1ab0000LL, INT64_MAX, INT64_MIN, 0xFF0000000036EE80LL};
	struct zk_wbuf w;
	zk_wbuf_init(&w);
	zk_jw_byte(&w, 0xab);
	zk_jw_bool(&w, true);
	zk_jw_bool(&w, false);
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
		zk_jw_int(&w, ints[i]);
	for (size_t i = 0; i < sizeof(longs) / sizeof(longs[0]); i++)
		zk_jw_long(&w, longs[i]);
	zk_jw_buffer(&w, NULL, -1);                       /* null */
	zk_jw_buffer(&w, (const uint8_t *)"", 0);         /* empty, not null */
	zk_jw_buffer(&w, (const uint8_t *)"\x00\xff", 2); /* binary */
	zk_jw_cstr(&w, "/foo");
	zk_jw_cstr(&w, NULL);
	zk_jw_ustring(&w, "abcdef", 3);
	assert_int_equal(w.err, 0);
	assert_int_equal(w.len, 3 + 4 * 8 + 8 * 7 + 4 + 4 + 6 + 8 + 4 + 7);

	uint8_t *p = dup_exact(w.p, w.len);
	struct zk_rbuf r;
	zk_rbuf_init(&r, p, w.len, CAP);
	assert_int_equal(zk_jr_byte(&r), 0xab);
	assert_true(zk_jr_bool(&r));
	assert_false(zk_jr_bool(&r));
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
		assert_int_equal(zk_jr_int(&r), ints[i]);
	for (size_t i = 0; i < sizeof(longs) / sizeof(longs[0]); i++)
		assert_true(zk_jr_long(&r) == longs[i]);
	struct zk_bytes b = zk_jr_buffer(&r);
	assert_int_equal(b.len, -1);
	assert_null(b.p);
	b = zk_jr_buffer(&r);
	assert_int_equal(b.len, 0);
	assert_non_null(b.p); /* empty is not null */
	b = zk_jr_buffer(&r);
	assert_int_equal(b.len, 2);
	assert_memory_equal(b.p, "\x00\xff", 2);
	assert_true(bytes_is(zk_jr_buffer(&r), "/foo"));
	assert_int_equal(zk_jr_buffer(&r).len, -1);
	assert_true(bytes_is(zk_jr_buffer(&r), "abc"));
	assert_int_equal(r.err, 0);
	assert_int_equal(zk_rbuf_left(&r), 0);
	/* Past the end: sticky ZK_ESHORT, zero values from then on. */
	assert_int_equal(zk_jr_byte(&r), 0);
	assert_int_equal(r.err, ZK_ESHORT);
	assert_int_equal(zk_jr_int(&r), 0);
	assert_true(zk_jr_long(&r) == 0);
	assert_int_equal(zk_jr_buffer(&r).len, -1);
	assert_int_equal(r.err, ZK_ESHORT);
	free(p);
	zk_wbuf_fini(&w);
}

static void test_bool_any_nonzero_is_true(void **state)
{
	(void)state;
	const uint8_t in[] = {0x00, 0x01, 0x02, 0xff};
	struct zk_rbuf r;
	zk_rbuf_init(&r, in, sizeof(in), CAP);
	assert_false(zk_jr_bool(&r));
	assert_true(zk_jr_bool(&r));
	assert_true(zk_jr_bool(&r));
	assert_true(zk_jr_bool(&r));
}

static void test_primitive_bytes(void **state)
{
	(void)state;
	struct zk_wbuf w;
	zk_wbuf_init(&w);
	zk_jw_int(&w, -2);
	zk_jw_long(&w, 0x01000057f1ab0000LL);
	zk_jw_cstr(&w, "/foo");
	zk_jw_buffer(&w, NULL, -1);
	zk_jw_bool(&w, true);
	assert_hex(w.p, w.len, "fffffffe 01000057f1ab0000 00000004 2f666f6f ffffffff 01");
	zk_wbuf_fini(&w);
}

static void test_buffer_lengths(void **state)
{
	(void)state;
	/* Negative lengths other than -1, and lengths over the cap, are ZK_ERANGE. */
	static const struct {
		int32_t len;
		size_t cap;
		int want;
	} cases[] = {
		{-2, CAP, ZK_ERANGE},
		{INT32_MIN, CAP, ZK_ERANGE},
		{-100, CAP, ZK_ERANGE},
		{CAP + 1, CAP, ZK_ERANGE},
		{INT32_MAX, CAP, ZK_ERANGE},
		{5, 4, ZK_ERANGE},   /* over a small cap */
		{4, 4, 0},           /* exactly the cap */
		{8, CAP, ZK_ESHORT}, /* within the cap but more than the input holds */
		{-1, CAP, 0},        /* null */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t in[8];
		zk_put_be32(in, (uint32_t)cases[i].len);
		memcpy(in + 4, "abcd", 4);
		uint8_t *p = dup_exact(in, sizeof(in));
		struct zk_rbuf r;
		zk_rbuf_init(&r, p, sizeof(in), cases[i].cap);
		struct zk_bytes b = zk_jr_buffer(&r);
		assert_int_equal(r.err, cases[i].want);
		if (cases[i].want)
			assert_int_equal(b.len, -1);
		free(p);
	}
}

static void test_vec_count(void **state)
{
	(void)state;
	static const struct {
		int32_t n;
		size_t extra; /* bytes after the count */
		int want_err;
		int32_t want_n;
		bool want_null;
	} cases[] = {
		{-1, 0, 0, 0, true},
		{0, 0, 0, 0, false},
		{3, 3, 0, 3, false},
		{4, 3, ZK_ERANGE, 0, false}, /* more elements than bytes left */
		{INT32_MAX, 16, ZK_ERANGE, 0, false},
		{-2, 16, ZK_ERANGE, 0, false},
		{INT32_MIN, 16, ZK_ERANGE, 0, false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t in[4 + 16] = {0};
		zk_put_be32(in, (uint32_t)cases[i].n);
		uint8_t *p = dup_exact(in, 4 + cases[i].extra);
		struct zk_rbuf r;
		zk_rbuf_init(&r, p, 4 + cases[i].extra, CAP);
		bool is_null = !cases[i].want_null;
		int32_t n = zk_jr_vec_count(&r, &is_null);
		assert_int_equal(r.err, cases[i].want_err);
		assert_int_equal(n, cases[i].want_n);
		assert_int_equal(is_null, cases[i].want_null);
		free(p);
	}
	/* A count on a truncated input. */
	struct zk_rbuf r;
	zk_rbuf_init(&r, (const uint8_t *)"\0\0", 2, CAP);
	assert_int_equal(zk_jr_vec_count(&r, NULL), 0);
	assert_int_equal(r.err, ZK_ESHORT);
}

static void test_frames_and_wbuf(void **state)
{
	(void)state;
	struct zk_wbuf w;
	zk_wbuf_init(&w);
	size_t f = zk_jw_frame_begin(&w);
	assert_int_equal(f, 0);
	zk_jw_int(&w, 7);
	zk_jw_frame_end(&w, f);
	size_t g = zk_jw_frame_begin(&w);
	zk_jw_frame_end(&w, g); /* empty frame */
	assert_hex(w.p, w.len, "00000004 00000007 00000000");
	zk_wbuf_reset(&w);
	assert_int_equal(w.len, 0);
	/* Growth across many doublings keeps the bytes. */
	for (int i = 0; i < 10000; i++)
		zk_jw_int(&w, i);
	assert_int_equal(w.len, 40000);
	assert_int_equal(zk_get_be32(w.p + 4 * 9999), 9999);
	zk_wbuf_fini(&w);
	assert_null(w.p);
	assert_int_equal(w.cap, 0);

	/* ENOMEM is sticky: later writes are dropped, frame_end does not touch a short buffer. */
	zk_wbuf_init(&w);
	zk_malloc_fail_after(1);
	zk_jw_int(&w, 1);
	assert_int_equal(w.err, ZK_ENOMEM);
	zk_jw_int(&w, 2);
	assert_int_equal(w.len, 0);
	assert_int_equal(zk_wbuf_reserve(&w, 1), ZK_ENOMEM);
	zk_jw_frame_end(&w, 0);
	zk_malloc_fail_after(0);
	zk_wbuf_fini(&w);
}

/* ---- records ---- */

static void test_connect_request_live(void **state)
{
	(void)state;
	/* protocol.md 2.1: a Java 3.8 client's new-session request (after the length). */
	uint8_t in[64];
	size_t n = unhex("00000000 0000000000000000 00007530 0000000000000000 00000010 "
			 "00000000000000000000000000000000 00",
			 in, sizeof(in));
	assert_int_equal(n, 45);
	uint8_t *p = dup_exact(in, n);
	struct zk_connect_req c;
	assert_int_equal(zk_connect_req_decode(p, n, CAP, &c), 0);
	assert_int_equal(c.protocol_version, 0);
	assert_true(c.last_zxid_seen == 0);
	assert_int_equal(c.timeout_ms, 30000);
	assert_true(c.session_id == 0);
	assert_int_equal(c.passwd.len, 16);
	assert_true(c.has_readonly);
	assert_false(c.readonly);
	free(p);

	/* Without the trailer: an "old client". */
	p = dup_exact(in, n - 1);
	assert_int_equal(zk_connect_req_decode(p, n - 1, CAP, &c), 0);
	assert_false(c.has_readonly);
	assert_false(c.readonly);
	free(p);

	/* readOnly = 1, resuming a session, with a trailing extra byte tolerated. */
	in[16] = 0x01, in[17] = 0x00, in[18] = 0x00, in[19] = 0x57;
	in[44] = 1;
	in[45] = 0x99;
	p = dup_exact(in, n + 1);
	assert_int_equal(zk_connect_req_decode(p, n + 1, CAP, &c), 0);
	assert_true(c.session_id == 0x0100005700000000LL);
	assert_true(c.has_readonly);
	assert_true(c.readonly);
	free(p);

	/* Cut anywhere inside the record proper (44 bytes): an error. */
	for (size_t cut = 0; cut < 44; cut++) {
		p = dup_exact(in, cut);
		assert_true(zk_connect_req_decode(p, cut, CAP, &c) < 0);
		free(p);
	}
	/* Null password (len -1) is accepted by the decoder; a negative other than -1 is not. */
	zk_put_be32(in + 24, 0xffffffffu);
	p = dup_exact(in, 28);
	assert_int_equal(zk_connect_req_decode(p, 28, CAP, &c), 0);
	assert_int_equal(c.passwd.len, -1);
	assert_false(c.has_readonly);
	free(p);
	zk_put_be32(in + 24, 0xfffffffeu);
	p = dup_exact(in, 45);
	assert_int_equal(zk_connect_req_decode(p, 45, CAP, &c), ZK_ERANGE);
	free(p);
	zk_put_be32(in + 24, 0x80000000u);
	p = dup_exact(in, 45);
	assert_int_equal(zk_connect_req_decode(p, 45, CAP, &c), ZK_ERANGE);
	free(p);
	/* Password longer than the field cap. */
	zk_put_be32(in + 24, 16);
	p = dup_exact(in, 45);
	assert_int_equal(zk_connect_req_decode(p, 45, 8, &c), ZK_ERANGE);
	free(p);
}

static void write_open_acl(struct zk_wbuf *w)
{
	zk_jw_int(w, 1);
	zk_jw_int(w, ZK_PERM_ALL);
	zk_jw_cstr(w, "world");
	zk_jw_cstr(w, "anyone");
}

/* One request body per opcode, built with the writers; check() verifies the decoded fields. */
struct req_case {
	int32_t op;
	void (*build)(struct zk_wbuf *w);
	void (*check)(const struct zk_req *q);
	bool truncation_ok; /* decoding a strict prefix may succeed (no body, or raw bytes) */
};

static void b_create(struct zk_wbuf *w)
{
	zk_jw_cstr(w, "/foo");
	zk_jw_buffer(w, (const uint8_t *)"bar", 3);
	write_open_acl(w);
	zk_jw_int(w, ZK_CM_EPHEMERAL_SEQUENTIAL);
}
static void c_create(const struct zk_req *q)
{
	assert_true(bytes_is(q->path, "/foo"));
	assert_true(bytes_is(q->data, "bar"));
	assert_int_equal(q->acl.n, 1);
	assert_int_equal(q->flags, ZK_CM_EPHEMERAL_SEQUENTIAL);
	assert_true(q->ttl == -1);
	struct zk_acl_iter it;
	struct zk_acl a;
	zk_acl_iter_init(&it, &q->acl);
	assert_true(zk_acl_iter_next(&it, &a));
	assert_int_equal(a.perms, 31);
	assert_true(bytes_is(a.scheme, "world"));
	assert_true(bytes_is(a.id, "anyone"));
	assert_false(zk_acl_iter_next(&it, &a));
}
static void b_create_ttl(struct zk_wbuf *w)
{
	zk_jw_cstr(w, "/t");
	zk_jw_buffer(w, NULL, -1);
	zk_jw_int(w, -1); /* null ACL vector */
	zk_jw_int(w, ZK_CM_PERSISTENT_WITH_TTL);
	zk_jw_long(w, 3600000);
}
static void c_create_ttl(const struct zk_req *q)
{
	assert_true(bytes_is(q->path, "/t"));
	assert_int_equal(q->data.len, -1);
	assert_int_equal(q->acl.n, -1);
	assert_int_equal(q->flags, ZK_CM_PERSISTENT_WITH_TTL);
	assert_true(q->ttl == 3600000);
}
static void b_path_version(struct zk_wbuf *w)
{
	zk_jw_cstr(w, "/a/b");
	zk_jw_int(w, 7);
}
static void c_path_version(const struct zk_req *q)
{
	assert_true(bytes_is(q->path, "/a/b"));
	assert_int_equal(q->version, 7);
}
static void b_path_watch(struct zk_wbuf *w)
{
	zk_jw_cstr(w, "/w");
	zk_jw_bool(w, true);
}
static void c_path_watch(const struct zk_req *q)
{
	assert_true(bytes_is(q->path, "/w"));
	assert_true(q->watch);
}
static void b_set_data(struct zk_wbuf *w)
{
	zk_jw_cstr(w, "/s");
	zk_jw_buffer(w, (const uint8_t *)"\x01\x02", 2);
	zk_jw_int(w, -1);
}
static void c_set_data(const struct zk_req *q)
{
	assert_true(bytes_is(q->path, "/s"));
	assert_int_equal(q->data.len, 2);
	assert_memory_equal(q->data.p, "\x01\x02", 2);
	assert_int_equal(q->version, -1);
}
static void b_path(struct zk_wbuf *w) { zk_jw_cstr(w, "/p"); }
static void c_path(const struct zk_req *q) { assert_true(bytes_is(q->path, "/p")); }
static void b_set_acl(struct zk_wbuf *w)
{
	zk_jw_cstr(w, "/acl");
	zk_jw_int(w, 2);
	zk_jw_int(w, ZK_PERM_READ);
	zk_jw_cstr(w, "world");
	zk_jw_cstr(w, "anyone");
	zk_jw_int(w, ZK_PERM_ALL);
	zk_jw_cstr(w, "digest");
	zk_jw_cstr(w, "bob:csg2zv5/WXoqHso9EuiBpjDPMUk=");
	zk_jw_int(w, 3);
}
static void c_set_acl(const struct zk_req *q)
{
	assert_true(bytes_is(q->path, "/acl"));
	assert_int_equal(q->acl.n, 2);
	assert_int_equal(q->version, 3);
	struct zk_acl_iter it;
	struct zk_acl a;
	zk_acl_iter_init(&it, &q->acl);
	assert_true(zk_acl_iter_next(&it, &a));
	assert_int_equal(a.perms, 1);
	assert_true(zk_acl_iter_next(&it, &a));
	assert_int_equal(a.perms, 31);
	assert_true(bytes_is(a.scheme, "digest"));
	assert_true(bytes_is(a.id, "bob:csg2zv5/WXoqHso9EuiBpjDPMUk="));
	assert_false(zk_acl_iter_next(&it, &a));
}
static void b_path_type(struct zk_wbuf *w)
{
	zk_jw_cstr(w, "/x");
	zk_jw_int(w, ZK_WT_ANY);
}
static void c_path_type(const struct zk_req *q)
{
	assert_true(bytes_is(q->path, "/x"));
	assert_int_equal(q->type, ZK_WT_ANY);
}
static void write_strs(struct zk_wbuf *w, int n, const char *prefix)
{
	zk_jw_int(w, n);
	for (int i = 0; i < n; i++) {
		char s[32];
		snprintf(s, sizeof(s), "%s%d", prefix, i);
		zk_jw_cstr(w, s);
	}
}
static void check_strs(const struct zk_str_vec *v, int n, const char *prefix)
{
	assert_int_equal(v->n, n);
	struct zk_str_iter it;
	struct zk_bytes s;
	zk_str_iter_init(&it, v);
	for (int i = 0; i < n; i++) {
		char want[32];
		snprintf(want, sizeof(want), "%s%d", prefix, i);
		assert_true(zk_str_iter_next(&it, &s));
		assert_true(bytes_is(s, want));
	}
	assert_false(zk_str_iter_next(&it, &s));
}
static void b_set_watches(struct zk_wbuf *w)
{
	zk_jw_long(w, 0x100000005LL);
	write_strs(w, 2, "/d");
	write_strs(w, 0, "/e");
	write_strs(w, 1, "/c");
}
static void c_set_watches(const struct zk_req *q)
{
	assert_true(q->rel_zxid == 0x100000005LL);
	check_strs(&q->watches[0], 2, "/d");
	check_strs(&q->watches[1], 0, "/e");
	check_strs(&q->watches[2], 1, "/c");
}
static void b_set_watches2(struct zk_wbuf *w)
{
	b_set_watches(w);
	write_strs(w, 1, "/p");
	write_strs(w, 3, "/r");
}
static void c_set_watches2(const struct zk_req *q)
{
	c_set_watches(q);
	check_strs(&q->watches[3], 1, "/p");
	check_strs(&q->watches[4], 3, "/r");
}
static void b_auth(struct zk_wbuf *w)
{
	zk_jw_int(w, 0);
	zk_jw_cstr(w, "digest");
	zk_jw_buffer(w, (const uint8_t *)"bob:abc", 7);
}
static void c_auth(const struct zk_req *q)
{
	assert_int_equal(q->type, 0);
	assert_true(bytes_is(q->scheme, "digest"));
	assert_true(bytes_is(q->data, "bob:abc"));
}
static void b_sasl(struct zk_wbuf *w) { zk_jw_buffer(w, (const uint8_t *)"tok", 3); }
static void c_sasl(const struct zk_req *q) { assert_true(bytes_is(q->data, "tok")); }
static void b_raw_path(struct zk_wbuf *w) { zk_jw_raw(w, "/container", 10); }
static void c_raw_path(const struct zk_req *q) { assert_true(bytes_is(q->path, "/container")); }
static void b_reconfig(struct zk_wbuf *w)
{
	zk_jw_cstr(w, "server.4=h:1:2:participant");
	zk_jw_cstr(w, NULL);
	zk_jw_cstr(w, "");
	zk_jw_long(w, -1);
}
static void c_reconfig(const struct zk_req *q) { assert_int_equal(q->op, ZK_OP_RECONFIG); }
static void b_none(struct zk_wbuf *w) { (void)w; }
static void c_none(const struct zk_req *q) { assert_int_equal(q->path.len, -1); }

static const struct req_case req_cases[] = {
	{ZK_OP_CREATE, b_create, c_create, false},
	{ZK_OP_CREATE2, b_create, c_create, false},
	{ZK_OP_CREATECONTAINER, b_create, c_create, false},
	{ZK_OP_CREATETTL, b_create_ttl, c_create_ttl, false},
	{ZK_OP_DELETE, b_path_version, c_path_version, false},
	{ZK_OP_CHECK, b_path_version, c_path_version, false},
	{ZK_OP_EXISTS, b_path_watch, c_path_watch, false},
	{ZK_OP_GETDATA, b_path_watch, c_path_watch, false},
	{ZK_OP_GETCHILDREN, b_path_watch, c_path_watch, false},
	{ZK_OP_GETCHILDREN2, b_path_watch, c_path_watch, false},
	{ZK_OP_SETDATA, b_set_data, c_set_data, false},
	{ZK_OP_GETACL, b_path, c_path, false},
	{ZK_OP_SYNC, b_path, c_path, false},
	{ZK_OP_GETEPHEMERALS, b_path, c_path, false},
	{ZK_OP_GETALLCHILDRENNUMBER, b_path, c_path, false},
	{ZK_OP_SETACL, b_set_acl, c_set_acl, false},
	{ZK_OP_CHECKWATCHES, b_path_type, c_path_type, false},
	{ZK_OP_REMOVEWATCHES, b_path_type, c_path_type, false},
	{ZK_OP_ADDWATCH, b_path_type, c_path_type, false},
	{ZK_OP_SETWATCHES, b_set_watches, c_set_watches, false},
	{ZK_OP_SETWATCHES2, b_set_watches2, c_set_watches2, false},
	{ZK_OP_AUTH, b_auth, c_auth, false},
	{ZK_OP_SASL, b_sasl, c_sasl, false},
	{ZK_OP_RECONFIG, b_reconfig, c_reconfig, false},
	{ZK_OP_DELETECONTAINER, b_raw_path, c_raw_path, true},
	{ZK_OP_PING, b_none, c_none, true},
	{ZK_OP_CLOSESESSION, b_none, c_none, true},
	{ZK_OP_WHOAMI, b_none, c_none, true},
};
#define N_REQ_CASES (sizeof(req_cases) / sizeof(req_cases[0]))

static void test_every_request_decodes(void **state)
{
	(void)state;
	struct zk_wbuf w;
	zk_wbuf_init(&w);
	for (size_t i = 0; i < N_REQ_CASES; i++) {
		zk_wbuf_reset(&w);
		req_cases[i].build(&w);
		uint8_t *p = dup_exact(w.p, w.len);
		struct zk_rbuf r;
		zk_rbuf_init(&r, p, w.len, CAP);
		struct zk_req q;
		assert_int_equal(zk_req_decode(req_cases[i].op, &r, &q), 0);
		assert_int_equal(q.op, req_cases[i].op);
		assert_int_equal(r.pos, w.len); /* consumed exactly the record */
		req_cases[i].check(&q);
		free(p);
		/* Trailing bytes are tolerated, as ZooKeeper does (deleteContainer's body is all path). */
		if (req_cases[i].op == ZK_OP_DELETECONTAINER)
			continue;
		zk_jw_raw(&w, "\xde\xad", 2);
		p = dup_exact(w.p, w.len);
		zk_rbuf_init(&r, p, w.len, CAP);
		assert_int_equal(zk_req_decode(req_cases[i].op, &r, &q), 0);
		req_cases[i].check(&q);
		free(p);
	}
	zk_wbuf_fini(&w);
}

static void test_live_create_request(void **state)
{
	(void)state;
	/* protocol.md 2.4: create /foo "bar" OPEN_ACL persistent (frame after the 8-byte header). */
	uint8_t in[128];
	size_t n = unhex("00000001 00000001 00000004 2f666f6f 00000003 626172 00000001 0000001f "
			 "00000005 776f726c64 00000006 616e796f6e65 00000000",
			 in, sizeof(in));
	assert_int_equal(n, 54);
	assert_int_equal(zk_get_be32(in + 4), ZK_OP_CREATE);
	struct zk_rbuf r;
	zk_rbuf_init(&r, in + 8, n - 8, CAP);
	struct zk_req q;
	assert_int_equal(zk_req_decode(ZK_OP_CREATE, &r, &q), 0);
	assert_true(bytes_is(q.path, "/foo"));
	assert_true(bytes_is(q.data, "bar"));
	assert_int_equal(q.flags, 0);
	assert_int_equal(q.acl.n, 1);
	assert_int_equal(zk_rbuf_left(&r), 0);
	/* And the writers produce the same bytes. */
	struct zk_wbuf w;
	zk_wbuf_init(&w);
	zk_jw_int(&w, 1);
	zk_jw_int(&w, ZK_OP_CREATE);
	zk_jw_cstr(&w, "/foo");
	zk_jw_buffer(&w, (const uint8_t *)"bar", 3);
	write_open_acl(&w);
	zk_jw_int(&w, 0);
	assert_int_equal(w.len, n);
	assert_memory_equal(w.p, in, n);
	zk_wbuf_fini(&w);
}

static void test_unknown_ops_rejected(void **state)
{
	(void)state;
	static const int32_t bad[] = {ZK_OP_NOTIFICATION, 10, 23, 99, 108, ZK_OP_ERROR, ZK_OP_CREATESESSION, -12,
				      INT32_MIN, INT32_MAX};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct zk_rbuf r;
		struct zk_req q;
		zk_rbuf_init(&r, (const uint8_t *)"\0\0\0\0\0\0\0\0", 8, CAP);
		assert_int_equal(zk_req_decode(bad[i], &r, &q), ZK_EINVAL);
	}
}

/* Every request cut at every byte: an error, or (for bodiless/raw ops) a clean decode; never a
 * read past the exact-size block. */
static void test_every_request_truncated(void **state)
{
	(void)state;
	struct zk_wbuf w;
	zk_wbuf_init(&w);
	for (size_t i = 0; i < N_REQ_CASES; i++) {
		zk_wbuf_reset(&w);
		req_cases[i].build(&w);
		for (size_t cut = 0; cut < w.len; cut++) {
			uint8_t *p = dup_exact(w.p, cut);
			struct zk_rbuf r;
			zk_rbuf_init(&r, p, cut, CAP);
			struct zk_req q;
			int rc = zk_req_decode(req_cases[i].op, &r, &q);
			if (req_cases[i].truncation_ok)
				assert_int_equal(rc, 0);
			else
				assert_true(rc < 0);
			assert_true(r.pos <= cut);
			free(p);
		}
	}
	zk_wbuf_fini(&w);
}

/* Lengths of each string/buffer field of the create request replaced by bad values. */
static void test_bad_lengths_in_requests(void **state)
{
	(void)state;
	static const uint32_t bad[] = {0xfffffffeu, 0x80000000u, 0xffffff00u, CAP + 1, 0x7fffffffu};
	struct zk_wbuf w;
	zk_wbuf_init(&w);
	b_create(&w);
	/* Offsets of the length fields: path, data, then inside the ACL: scheme, id. */
	const size_t len_at[] = {0, 8, 8 + 7 + 4 + 4, 8 + 7 + 4 + 4 + 4 + 5};
	for (size_t f = 0; f < sizeof(len_at) / sizeof(len_at[0]); f++) {
		for (size_t b = 0; b < sizeof(bad) / sizeof(bad[0]); b++) {
			uint8_t *p = dup_exact(w.p, w.len);
			zk_put_be32(p + len_at[f], bad[b]);
			struct zk_rbuf r;
			zk_rbuf_init(&r, p, w.len, CAP);
			struct zk_req q;
			int rc = zk_req_decode(ZK_OP_CREATE, &r, &q);
			assert_true(rc == ZK_ERANGE || rc == ZK_ESHORT);
			free(p);
		}
	}
	/* ACL vector count larger than the remaining bytes, or negative. */
	static const uint32_t counts[] = {2, 1000, 0x7fffffffu, 0xfffffffeu, 0x80000000u};
	for (size_t b = 0; b < sizeof(counts) / sizeof(counts[0]); b++) {
		uint8_t *p = dup_exact(w.p, w.len);
		zk_put_be32(p + 8 + 7, counts[b]);
		struct zk_rbuf r;
		zk_rbuf_init(&r, p, w.len, CAP);
		struct zk_req q;
		assert_true(zk_req_decode(ZK_OP_CREATE, &r, &q) < 0);
		free(p);
	}
	/* setWatches list counts: one more than present, or huge. */
	zk_wbuf_reset(&w);
	b_set_watches(&w);
	for (size_t b = 0; b < sizeof(counts) / sizeof(counts[0]); b++) {
		uint8_t *p = dup_exact(w.p, w.len);
		zk_put_be32(p + 8, counts[b] == 2 ? 3 : counts[b]);
		struct zk_rbuf r;
		zk_rbuf_init(&r, p, w.len, CAP);
		struct zk_req q;
		assert_true(zk_req_decode(ZK_OP_SETWATCHES, &r, &q) < 0);
		free(p);
	}
	/* A field exactly at a small cap passes, one over fails. */
	zk_wbuf_reset(&w);
	b_path(&w);
	struct zk_rbuf r;
	struct zk_req q;
	zk_rbuf_init(&r, w.p, w.len, 2);
	assert_int_equal(zk_req_decode(ZK_OP_SYNC, &r, &q), 0);
	zk_rbuf_init(&r, w.p, w.len, 1);
	assert_int_equal(zk_req_decode(ZK_OP_SYNC, &r, &q), ZK_ERANGE);
	zk_wbuf_fini(&w);
}

static void test_acl_and_str_vectors(void **state)
{
	(void)state;
	struct zk_wbuf w;
	zk_wbuf_init(&w);
	zk_jw_int(&w, -1);
	write_strs(&w, 3, "/s");
	uint8_t *p = dup_exact(w.p, w.len);
	struct zk_rbuf r;
	zk_rbuf_init(&r, p, w.len, CAP);
	struct zk_acl_vec av;
	assert_int_equal(zk_acl_vec_read(&r, &av), 0);
	assert_int_equal(av.n, -1);
	assert_int_equal(av.bytes, 0);
	struct zk_acl_iter ai;
	struct zk_acl a;
	zk_acl_iter_init(&ai, &av);
	assert_false(zk_acl_iter_next(&ai, &a));
	struct zk_str_vec sv;
	assert_int_equal(zk_str_vec_read(&r, &sv), 0);
	check_strs(&sv, 3, "/s");
	assert_int_equal(zk_rbuf_left(&r), 0);
	free(p);
	/* A null string inside a string vector comes back with len -1. */
	zk_wbuf_reset(&w);
	zk_jw_int(&w, 2);
	zk_jw_cstr(&w, NULL);
	zk_jw_cstr(&w, "");
	zk_rbuf_init(&r, w.p, w.len, CAP);
	assert_int_equal(zk_str_vec_read(&r, &sv), 0);
	struct zk_str_iter si;
	struct zk_bytes s;
	zk_str_iter_init(&si, &sv);
	assert_true(zk_str_iter_next(&si, &s));
	assert_int_equal(s.len, -1);
	assert_true(zk_str_iter_next(&si, &s));
	assert_int_equal(s.len, 0);
	assert_false(zk_str_iter_next(&si, &s));
	zk_wbuf_fini(&w);
}

/* ---- multi ---- */

static void multi_op(struct zk_wbuf *w, int32_t op)
{
	zk_jw_int(w, op);
	zk_jw_bool(w, false);
	zk_jw_int(w, -1);
}

static void multi_end(struct zk_wbuf *w)
{
	zk_jw_int(w, -1);
	zk_jw_bool(w, true);
	zk_jw_int(w, -1);
}

static void build_multi(struct zk_wbuf *w)
{
	multi_op(w, ZK_OP_CREATE);
	b_create(w);
	multi_op(w, ZK_OP_DELETE);
	b_path_version(w);
	multi_op(w, ZK_OP_SETDATA);
	b_set_data(w);
	multi_op(w, ZK_OP_CHECK);
	b_path_version(w);
	multi_end(w);
}

static void test_multi_iteration(void **state)
{
	(void)state;
	struct zk_wbuf w;
	zk_wbuf_init(&w);
	build_multi(&w);
	uint8_t *p = dup_exact(w.p, w.len);
	struct zk_rbuf body;
	zk_rbuf_init(&body, p, w.len, CAP);
	struct zk_multi_iter it;
	struct zk_req q;
	zk_multi_iter_init(&it, &body);
	assert_int_equal(zk_multi_iter_next(&it, &q), 1);
	assert_int_equal(q.op, ZK_OP_CREATE);
	c_create(&q);
	assert_int_equal(zk_multi_iter_next(&it, &q), 1);
	assert_int_equal(q.op, ZK_OP_DELETE);
	c_path_version(&q);
	assert_int_equal(zk_multi_iter_next(&it, &q), 1);
	assert_int_equal(q.op, ZK_OP_SETDATA);
	c_set_data(&q);
	assert_int_equal(zk_multi_iter_next(&it, &q), 1);
	assert_int_equal(q.op, ZK_OP_CHECK);
	assert_int_equal(zk_multi_iter_next(&it, &q), 0); /* terminator */
	assert_true(it.done);
	assert_int_equal(zk_multi_iter_next(&it, &q), 0); /* stays done */
	assert_int_equal(zk_rbuf_left(&it.r), 0);
	/* The iterator works on a copy: the body cursor did not move, a second pass sees the same. */
	assert_int_equal(body.pos, 0);
	zk_multi_iter_init(&it, &body);
	int n = 0;
	while (zk_multi_iter_next(&it, &q) == 1)
		n++;
	assert_int_equal(n, 4);
	free(p);

	/* An empty multi is just the terminator. */
	zk_wbuf_reset(&w);
	multi_end(&w);
	zk_rbuf_init(&body, w.p, w.len, CAP);
	zk_multi_iter_init(&it, &body);
	assert_int_equal(zk_multi_iter_next(&it, &q), 0);

	/* An op type no request has: ZK_EINVAL. */
	zk_wbuf_reset(&w);
	multi_op(&w, 77);
	b_path(&w);
	multi_end(&w);
	zk_rbuf_init(&body, w.p, w.len, CAP);
	zk_multi_iter_init(&it, &body);
	assert_int_equal(zk_multi_iter_next(&it, &q), ZK_EINVAL);
	zk_wbuf_fini(&w);
}

static void test_multi_truncated(void **state)
{
	(void)state;
	struct zk_wbuf w;
	zk_wbuf_init(&w);
	build_multi(&w);
	for (size_t cut = 0; cut < w.len; cut++) {
		uint8_t *p = dup_exact(w.p, cut);
		struct zk_rbuf body;
		zk_rbuf_init(&body, p, cut, CAP);
		struct zk_multi_iter it;
		struct zk_req q;
		zk_multi_iter_init(&it, &body);
		int rc, guard = 0;
		while ((rc = zk_multi_iter_next(&it, &q)) == 1)
			assert_true(++guard <= 4);
		/* Without its terminator a multi never ends cleanly. */
		assert_true(rc < 0);
		free(p);
	}
	zk_wbuf_fini(&w);
}

/* ---- replies ---- */

static void test_stat_round_trip(void **state)
{
	(void)state;
	struct zk_stat s = {
		.czxid = 0x0102030405060708LL,
		.mzxid = 0x1112131415161718LL,
		.ctime = 0x2122232425262728LL,
		.mtime = 0x3132333435363738LL,
		.version = 0x41424344,
		.cversion = -3,
		.aversion = -1,
		.ephemeral_owner = 0x01000057f1ab0000LL,
		.data_length = 0x51525354,
		.num_children = 0x61626364,
		.pzxid = 0x7172737475767778LL,
	};
	struct zk_wbuf w;
	zk_wbuf_init(&w);
	zk_jw_byte(&w, 0xee); /* not at offset 0 */
	zk_stat_write(&w, &s);
	assert_int_equal(w.len, 1 + ZK_STAT_BYTES);
	assert_int_equal(ZK_STAT_BYTES, 68);
	assert_hex(w.p + 1, ZK_STAT_BYTES,
		   "0102030405060708 1112131415161718 2122232425262728 3132333435363738 "
		   "41424344 fffffffd ffffffff 01000057f1ab0000 51525354 61626364 7172737475767778");
	uint8_t *p = dup_exact(w.p + 1, ZK_STAT_BYTES);
	struct zk_rbuf r;
	zk_rbuf_init(&r, p, ZK_STAT_BYTES, CAP);
	struct zk_stat t;
	zk_stat_read(&r, &t);
	assert_int_equal(r.err, 0);
	assert_int_equal(zk_rbuf_left(&r), 0);
	assert_true(t.czxid == s.czxid && t.mzxid == s.mzxid && t.ctime == s.ctime && t.mtime == s.mtime);
	assert_int_equal(t.version, s.version);
	assert_int_equal(t.cversion, s.cversion);
	assert_int_equal(t.aversion, s.aversion);
	assert_true(t.ephemeral_owner == s.ephemeral_owner && t.pzxid == s.pzxid);
	assert_int_equal(t.data_length, s.data_length);
	assert_int_equal(t.num_children, s.num_children);
	free(p);
	/* One byte short. */
	p = dup_exact(w.p + 1, ZK_STAT_BYTES - 1);
	zk_rbuf_init(&r, p, ZK_STAT_BYTES - 1, CAP);
	zk_stat_read(&r, &t);
	assert_int_equal(r.err, ZK_ESHORT);
	free(p);
	zk_wbuf_fini(&w);
}

static void test_reply_and_multi_headers(void **state)
{
	(void)state;
	struct zk_wbuf w;
	zk_wbuf_init(&w);
	size_t f = zk_jw_frame_begin(&w);
	zk_reply_header_write(&w, 1, 2, 0);
	zk_jw_cstr(&w, "/foo");
	zk_jw_frame_end(&w, f);
	/* protocol.md 2.4: the live create reply. */
	assert_hex(w.p, w.len, "00000018 00000001 0000000000000002 00000000 00000004 2f666f6f");
	zk_wbuf_reset(&w);
	zk_multi_header_write(&w, ZK_OP_ERROR, false, ZNONODE);
	zk_jw_int(&w, ZNONODE);
	zk_multi_header_write(&w, -1, true, -1);
	/* protocol.md 2.5: op2 of the failed multi, then the terminator. */
	assert_hex(w.p, w.len, "ffffffff 00 ffffff9b ffffff9b ffffffff 01 ffffffff");
	zk_wbuf_fini(&w);
}

static void test_notification_live_bytes(void **state)
{
	(void)state;
	struct zk_wbuf w;
	zk_wbuf_init(&w);
	zk_notification_write(&w, ZK_EV_DATA_CHANGED, "/foo", 4);
	/* protocol.md 2.6, verified live. */
	assert_hex(w.p, w.len, "00000020 ffffffff ffffffffffffffff 00000000 00000003 00000003 00000004 2f666f6f");
	/* Appended after other bytes, the frame length still covers just this frame. */
	zk_wbuf_reset(&w);
	zk_jw_raw(&w, "xy", 2);
	zk_notification_write(&w, ZK_EV_CHILDREN_CHANGED, "/", 1);
	assert_hex(w.p + 2, w.len - 2, "0000001d ffffffff ffffffffffffffff 00000000 00000004 00000003 00000001 2f");
	zk_wbuf_fini(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_be_helpers),
		cmocka_unit_test(test_primitive_round_trip),
		cmocka_unit_test(test_bool_any_nonzero_is_true),
		cmocka_unit_test(test_primitive_bytes),
		cmocka_unit_test(test_buffer_lengths),
		cmocka_unit_test(test_vec_count),
		cmocka_unit_test(test_frames_and_wbuf),
		cmocka_unit_test(test_connect_request_live),
		cmocka_unit_test(test_every_request_decodes),
		cmocka_unit_test(test_live_create_request),
		cmocka_unit_test(test_unknown_ops_rejected),
		cmocka_unit_test(test_every_request_truncated),
		cmocka_unit_test(test_bad_lengths_in_requests),
		cmocka_unit_test(test_acl_and_str_vectors),
		cmocka_unit_test(test_multi_iteration),
		cmocka_unit_test(test_multi_truncated),
		cmocka_unit_test(test_stat_round_trip),
		cmocka_unit_test(test_reply_and_multi_headers),
		cmocka_unit_test(test_notification_live_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
