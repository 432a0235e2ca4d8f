/* QuorumPacket and LearnerInfo codecs (quorum/qpkt.c): every packet type round trips alone and
 * back to back, the live captures of protocol.md 5.4-5.6 decode and re-encode byte for byte
 * (REQUEST's authinfo into a zk_auth), every proper prefix of a packet is "need more", a bad
 * length is an error as soon as its 4 bytes are in, and LearnerInfo takes its three sizes only.
 * Inputs are exact-size heap copies, so a read past n is an ASan report. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "errors.h"
#include "jute.h"
#include "qpkt.h"

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

/* An exact-size heap copy: reading one byte past it is an ASan report. */
static uint8_t *dup_exact(const uint8_t *p, size_t n)
{
	uint8_t *d = malloc(n ? n : 1);
	assert_non_null(d);
	if (n)
		memcpy(d, p, n);
	return d;
}

static int decode_copy(const uint8_t *p, size_t n, size_t data_max)
{
	uint8_t *d = dup_exact(p, n);
	struct zk_qpkt q;
	int rc = zk_qpkt_decode(d, n, data_max, &q);
	free(d);
	return rc;
}

/* Every proper prefix wants more and leaves *out alone; the whole packet is consumed exactly,
 * also with bytes of a next packet behind it. */
static void check_prefixes(const uint8_t *p, size_t n, size_t data_max)
{
	for (size_t k = 0; k < n; k++) {
		uint8_t *d = dup_exact(p, k);
		struct zk_qpkt q, before;
		memset(&q, 0xa5, sizeof(q));
		before = q;
		assert_int_equal(zk_qpkt_decode(d, k, data_max, &q), 0);
		assert_memory_equal(&q, &before, sizeof(q));
		free(d);
	}
	assert_int_equal(decode_copy(p, n, data_max), (int)n);
	uint8_t *more = malloc(n + 3);
	assert_non_null(more);
	memcpy(more, p, n);
	memcpy(more + n, "\0\0\0", 3);
	assert_int_equal(decode_copy(more, n + 3, data_max), (int)n);
	free(more);
}

/* A bad packet wants more until the bad field is in, then is `want` at every longer length. */
static void check_error_prefixes(const uint8_t *p, size_t n, size_t data_max, int want, size_t visible_at)
{
	for (size_t k = 0; k <= n; k++)
		assert_int_equal(decode_copy(p, k, data_max), k < visible_at ? 0 : want);
}

/* ---- names ---- */

static void test_type_names(void **state)
{
	(void)state;
	static const char *names[] = {NULL, "REQUEST", "PROPOSAL", "ACK", "COMMIT", "PING", "REVALIDATE",
	                              "SYNC", "INFORM", "COMMITANDACTIVATE", "NEWLEADER", "FOLLOWERINFO",
	                              "UPTODATE", "DIFF", "TRUNC", "SNAP", "OBSERVERINFO", "LEADERINFO",
	                              "ACKEPOCH", "INFORMANDACTIVATE"};
	for (int32_t t = 1; t <= ZK_QP_INFORMANDACTIVATE; t++)
		assert_string_equal(zk_qpkt_type_name(t), names[t]);
	static const int32_t unknown[] = {0, 20, 21, -1, 100, INT32_MIN, INT32_MAX};
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
		assert_string_equal(zk_qpkt_type_name(unknown[i]), "UNKNOWN");
}

/* ---- round trips ---- */

static const int32_t all_types[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19,
                                    0, 20, -1, INT32_MIN, INT32_MAX};
#define N_TYPES (sizeof(all_types) / sizeof(all_types[0]))
static const int64_t zxids[] = {-1, 0, 0x100000002LL, INT64_MIN, INT64_MAX};
#define N_ZXIDS (sizeof(zxids) / sizeof(zxids[0]))

enum variant { V_NULL, V_EMPTY, V_DATA, V_AUTH, V_AUTH_EMPTY, V_COUNT };

static void client_auth(struct zk_auth *a, bool super)
{
	zk_auth_init_ip(a, "127.0.0.1");
	const char *sd = "bob:csg2zv5/WXoqHso9EuiBpjDPMUk="; /* digest of bob:abc */
	assert_int_equal(zk_auth_add(a, "digest", 6, (const uint8_t *)"bob:abc", 7, super ? sd : NULL, true), ZOK);
	assert_int_equal(a->n, super ? 3 : 2);
}

static void assert_auth_equal(const struct zk_auth *got, const struct zk_auth *want)
{
	assert_int_equal(got->n, want->n);
	assert_int_equal(got->is_super, want->is_super);
	for (int i = 0; i < want->n; i++) {
		assert_string_equal(got->ids[i].scheme, want->ids[i].scheme);
		assert_string_equal(got->ids[i].id, want->ids[i].id);
	}
}

static const uint8_t payload[] = {0x01, 0x00, 0x00, 0x5a, 0x73, 0x1d, 0x00, 0x00, 0xff};

/* Appends packet i of the round-trip table (type x zxid x variant). */
static void write_case(struct zk_wbuf *w, size_t i, const struct zk_auth *a)
{
	int32_t type = all_types[i % N_TYPES];
	int64_t zxid = zxids[i % N_ZXIDS];
	struct zk_auth empty = {0};
	switch ((enum variant)(i % V_COUNT)) {
	case V_NULL:
		zk_qpkt_write(w, type, zxid, NULL, -1, NULL);
		break;
	case V_EMPTY:
		zk_qpkt_write(w, type, zxid, NULL, 0, NULL);
		break;
	case V_DATA:
		zk_qpkt_write(w, type, zxid, payload, sizeof(payload), NULL);
		break;
	case V_AUTH:
		zk_qpkt_write(w, type, zxid, payload, sizeof(payload), a);
		break;
	default:
		zk_qpkt_write(w, type, zxid, payload, 3, &empty);
		break;
	}
}

static void check_case(const struct zk_qpkt *q, size_t i, const struct zk_auth *a)
{
	enum variant v = (enum variant)(i % V_COUNT);
	assert_int_equal(q->type, all_types[i % N_TYPES]);
	assert_true(q->zxid == zxids[i % N_ZXIDS]);
	static const int32_t lens[] = {-1, 0, sizeof(payload), sizeof(payload), 3};
	assert_int_equal(q->data.len, lens[v]);
	if (v == V_NULL)
		assert_null(q->data.p);
	else
		assert_memory_equal(q->data.p, payload, (size_t)q->data.len);
	assert_int_equal(q->n_auth, v == V_AUTH ? a->n : v == V_AUTH_EMPTY ? 0 : -1);
	struct zk_auth got;
	memset(&got, 0x5a, sizeof(got));
	assert_int_equal(zk_qpkt_auth(q, &got), 0);
	struct zk_auth none = {0};
	assert_auth_equal(&got, v == V_AUTH ? a : &none);
}

static void test_round_trip_every_type(void **state)
{
	(void)state;
	struct zk_auth a;
	client_auth(&a, false);
	struct zk_wbuf w;
	zk_wbuf_init(&w);
	size_t n_cases = N_TYPES * V_COUNT; /* 24 and 5 are coprime: every type meets every variant */
	for (size_t i = 0; i < n_cases; i++) {
		zk_wbuf_reset(&w);
		write_case(&w, i, &a);
		assert_int_equal(w.err, 0);
		uint8_t *p = dup_exact(w.p, w.len);
		struct zk_qpkt q;
		assert_int_equal(zk_qpkt_decode(p, w.len, CAP, &q), (int)w.len);
		check_case(&q, i, &a);
		free(p);
		check_prefixes(w.p, w.len, CAP);
	}
	zk_wbuf_fini(&w);
}

static void test_stream_back_to_back(void **state)
{
	(void)state;
	struct zk_auth a;
	client_auth(&a, true);
	struct zk_wbuf w;
	zk_wbuf_init(&w);
	size_t n_cases = N_TYPES * V_COUNT;
	for (size_t i = 0; i < n_cases; i++)
		write_case(&w, i, &a);
	assert_int_equal(w.err, 0);
	uint8_t *p = dup_exact(w.p, w.len);
	size_t pos = 0;
	for (size_t i = 0; i < n_cases; i++) {
		struct zk_qpkt q;
		int rc = zk_qpkt_decode(p + pos, w.len - pos, CAP, &q);
		assert_true(rc >= ZK_QP_HEADER_MIN_BYTES);
		check_case(&q, i, &a);
		pos += (size_t)rc;
	}
	assert_int_equal(pos, w.len);
	struct zk_qpkt q;
	assert_int_equal(zk_qpkt_decode(p + pos, 0, CAP, &q), 0);
	free(p);
	zk_wbuf_fini(&w);
}

static void test_write_null_and_empty(void **state)
{
	(void)state;
	struct zk_wbuf w;
	zk_wbuf_init(&w);
	uint8_t want[64];
	zk_qpkt_write(&w, ZK_QP_PING, 1, NULL, 0, NULL); /* empty touch table, not null */
	assert_int_equal(w.len, unhex("00000005 0000000000000001 00000000 ffffffff", want, sizeof(want)));
	assert_memory_equal(w.p, want, w.len);
	zk_wbuf_reset(&w);
	zk_qpkt_write(&w, ZK_QP_ACK, 2, NULL, 7, NULL); /* nothing to copy: null */
	assert_int_equal(w.len, unhex("00000003 0000000000000002 ffffffff ffffffff", want, sizeof(want)));
	assert_memory_equal(w.p, want, w.len);
	zk_wbuf_reset(&w);
	struct zk_auth a = {0};
	a.n = -3; /* nonsense counts are clamped, never walk past ids[] */
	zk_qpkt_write(&w, ZK_QP_REQUEST, -1, payload, 0, &a);
	assert_int_equal(w.len, unhex("00000001 ffffffffffffffff 00000000 00000000", want, sizeof(want)));
	assert_memory_equal(w.p, want, w.len);
	zk_wbuf_fini(&w);
}

/* ---- live captures (protocol.md 5.2, 5.4, 5.5) ---- */

struct capture {
	const char *name;
	const char *hex;
	int32_t type;
	int64_t zxid;
	const char *data_hex; /* NULL: null data */
};

static const struct capture captures[] = {
	{"FOLLOWERINFO",
	 "0000000b 0000000000000000 00000014 0000000000000001 00010000 0000000000000000 ffffffff",
	 ZK_QP_FOLLOWERINFO, 0, "0000000000000001 00010000 0000000000000000"},
	{"LEADERINFO", "00000011 0000000100000000 00000004 00010000 ffffffff", ZK_QP_LEADERINFO, 0x100000000LL,
	 "00010000"},
	{"ACKEPOCH", "00000012 0000000000000000 00000004 00000000 ffffffff", ZK_QP_ACKEPOCH, 0, "00000000"},
	{"DIFF", "0000000d 0000000000000000 ffffffff ffffffff", ZK_QP_DIFF, 0, NULL},
	{"ACK", "00000003 0000000100000000 ffffffff ffffffff", ZK_QP_ACK, 0x100000000LL, NULL},
	{"UPTODATE", "0000000c ffffffffffffffff ffffffff ffffffff", ZK_QP_UPTODATE, -1, NULL},
	{"PING leader", "00000005 0000000100000000 ffffffff ffffffff", ZK_QP_PING, 0x100000000LL, NULL},
	{"PING learner", "00000005 0000000100000000 00000000 ffffffff", ZK_QP_PING, 0x100000000LL, ""},
	{"SNAP", "0000000f 0000000100000000 ffffffff ffffffff", ZK_QP_SNAP, 0x100000000LL, NULL},
};
#define N_CAPTURES (sizeof(captures) / sizeof(captures[0]))

static void check_capture(const struct capture *c)
{
	uint8_t in[256], data[64];
	size_t n = unhex(c->hex, in, sizeof(in));
	uint8_t *p = dup_exact(in, n);
	struct zk_qpkt q;
	assert_int_equal(zk_qpkt_decode(p, n, CAP, &q), (int)n);
	assert_int_equal(q.type, c->type);
	assert_true(q.zxid == c->zxid);
	assert_int_equal(q.n_auth, -1);
	if (c->data_hex) {
		size_t dn = unhex(c->data_hex, data, sizeof(data));
		assert_int_equal(q.data.len, (int32_t)dn);
		assert_memory_equal(q.data.p, data, dn);
	} else {
		assert_int_equal(q.data.len, -1);
	}
	struct zk_wbuf w;
	zk_wbuf_init(&w);
	zk_qpkt_write(&w, q.type, q.zxid, q.data.p, q.data.len, NULL);
	assert_int_equal(w.len, n);
	assert_memory_equal(w.p, in, n);
	zk_wbuf_fini(&w);
	free(p);
	check_prefixes(in, n, CAP);
}

static void test_live_captures(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_CAPTURES; i++)
		check_capture(&captures[i]);
}

static void test_live_handshake_payloads(void **state)
{
	(void)state;
	uint8_t in[128];
	struct zk_qpkt q;
	size_t n = unhex(captures[0].hex, in, sizeof(in));
	assert_int_equal(zk_qpkt_decode(in, n, CAP, &q), (int)n);
	struct zk_learner_info li;
	assert_int_equal(zk_learner_info_decode(q.data, &li), 0);
	assert_true(li.sid == 1);
	assert_int_equal(li.protocol_version, ZK_QP_PROTOCOL_VERSION);
	assert_true(li.config_version == 0);
	struct zk_wbuf w;
	zk_wbuf_init(&w);
	zk_learner_info_write(&w, &li);
	assert_int_equal(w.len, (size_t)q.data.len);
	assert_memory_equal(w.p, q.data.p, w.len);
	zk_wbuf_fini(&w);
	n = unhex(captures[1].hex, in, sizeof(in)); /* LEADERINFO carries the protocol version */
	assert_int_equal(zk_qpkt_decode(in, n, CAP, &q), (int)n);
	assert_int_equal((int32_t)zk_get_be32(q.data.p), ZK_QP_PROTOCOL_VERSION);
	assert_true(q.zxid >> 32 == 1); /* newEpoch << 32 */
}

/* The capture elides NEWLEADER's 170-byte config text: check the header bytes exactly, then a
 * stand-in text of that length. */
static void test_newleader(void **state)
{
	(void)state;
	uint8_t in[16 + 170 + 4];
	size_t n = unhex("0000000a 0000000100000000 000000aa", in, sizeof(in));
	assert_int_equal(n, 16);
	assert_int_equal(decode_copy(in, n, CAP), 0);
	memset(in + 16, 'x', 170);
	memcpy(in + 16, "server.1=", 9);
	memcpy(in + 16 + 170 - 9, "version=0", 9);
	unhex("ffffffff", in + 16 + 170, 4);
	struct zk_qpkt q;
	assert_int_equal(zk_qpkt_decode(in, sizeof(in), CAP, &q), (int)sizeof(in));
	assert_int_equal(q.type, ZK_QP_NEWLEADER);
	assert_true(q.zxid == 0x100000000LL);
	assert_int_equal(q.data.len, 170);
	assert_memory_equal(q.data.p + 161, "version=0", 9);
	assert_int_equal(q.n_auth, -1);
	check_prefixes(in, sizeof(in), CAP);
	/* A leader capped below the text's length refuses it at the 16th byte. */
	check_error_prefixes(in, sizeof(in), 169, ZK_ERANGE, 16);
}

static const char request_hex[] =
	"00000001 ffffffffffffffff 0000003e"
	"0100005a731d0000 00000001 00000001 00000002 2f71 00000005 68656c6c6f 00000001 0000001f"
	" 00000005 776f726c64 00000006 616e796f6e65 00000000"
	"00000001 00000002 6970 00000009 3132372e302e302e31";

static void test_live_request(void **state)
{
	(void)state;
	uint8_t in[128];
	size_t n = unhex(request_hex, in, sizeof(in));
	uint8_t *p = dup_exact(in, n);
	struct zk_qpkt q;
	assert_int_equal(zk_qpkt_decode(p, n, CAP, &q), (int)n);
	assert_int_equal(q.type, ZK_QP_REQUEST);
	assert_true(q.zxid == -1);
	assert_int_equal(q.data.len, 62);
	/* data = sessionId, cxid, type, then the client's create record unchanged */
	assert_true((int64_t)zk_get_be64(q.data.p) == 0x0100005a731d0000LL);
	assert_int_equal(zk_get_be32(q.data.p + 8), 1);
	assert_int_equal(zk_get_be32(q.data.p + 12), 1);
	assert_memory_equal(q.data.p + 16, "\x00\x00\x00\x02/q", 6);
	assert_int_equal(q.n_auth, 1);
	assert_int_equal(q.auth_len, 4 + 2 + 4 + 9);
	struct zk_auth a;
	assert_int_equal(zk_qpkt_auth(&q, &a), 0);
	assert_int_equal(a.n, 1);
	assert_false(a.is_super);
	assert_string_equal(a.ids[0].scheme, "ip");
	assert_string_equal(a.ids[0].id, "127.0.0.1");
	/* A learner forwarding from a client with that auth writes the same bytes. */
	struct zk_auth mine;
	zk_auth_init_ip(&mine, "127.0.0.1");
	struct zk_wbuf w;
	zk_wbuf_init(&w);
	zk_qpkt_write(&w, ZK_QP_REQUEST, -1, q.data.p, q.data.len, &mine);
	assert_int_equal(w.len, n);
	assert_memory_equal(w.p, in, n);
	zk_wbuf_fini(&w);
	free(p);
	check_prefixes(in, n, CAP);
}

/* ---- bad lengths ---- */

struct bad {
	const char *head; /* hex */
	size_t pad;       /* then this many 'a' bytes */
	const char *tail; /* hex */
	size_t data_max;
	int want;
	size_t visible_at; /* bytes needed to see the bad field */
};

#define HDR "00000001 0000000000000000 "
static const struct bad bads[] = {
	{HDR "fffffffe", 0, "ffffffff", CAP, ZK_EINVAL, 16},            /* data len -2 */
	{HDR "80000000", 0, "ffffffff", CAP, ZK_EINVAL, 16},            /* data len INT32_MIN */
	{HDR "00000009", 9, "ffffffff", 8, ZK_ERANGE, 16},              /* data over data_max */
	{HDR "00000001", 1, "ffffffff", 0, ZK_ERANGE, 16},              /* any data over a 0 cap */
	{HDR "7fffffff", 0, "", CAP, ZK_ERANGE, 16},                    /* data INT32_MAX */
	{HDR "7fffffff", 0, "", SIZE_MAX, ZK_ERANGE, 16},               /* the total must fit an int */
	{HDR "ffffffff fffffffe", 0, "", CAP, ZK_EINVAL, 20},           /* authinfo count -2 */
	{HDR "ffffffff 80000000", 0, "", CAP, ZK_EINVAL, 20},           /* authinfo count INT32_MIN */
	{HDR "ffffffff 00000011", 0, "", CAP, ZK_ERANGE, 20},           /* 17 Ids */
	{HDR "ffffffff 7fffffff", 0, "", CAP, ZK_ERANGE, 20},           /* INT32_MAX Ids */
	{HDR "ffffffff 00000001 00000401", 1025, "00000000", CAP, ZK_ERANGE, 24}, /* scheme 1025 */
	{HDR "ffffffff 00000001 00000002 6970 00000401", 1025, "", CAP, ZK_ERANGE, 30}, /* id 1025 */
	{HDR "ffffffff 00000001 fffffffe", 0, "00000000", CAP, ZK_EINVAL, 24},        /* scheme -2 */
	{HDR "ffffffff 00000002 00000000 00000000 00000002 6970 fffffffb", 0, "", CAP, ZK_EINVAL, 38},
	{HDR "00000000 00000001 00000000 ffffff00", 0, "", CAP, ZK_EINVAL, 28},
};
#define N_BADS (sizeof(bads) / sizeof(bads[0]))

static size_t build_bad(const struct bad *b, uint8_t *out, size_t cap)
{
	size_t n = unhex(b->head, out, cap);
	assert_true(n + b->pad <= cap);
	memset(out + n, 'a', b->pad);
	n += b->pad;
	return n + unhex(b->tail, out + n, cap - n);
}

static void test_bad_lengths(void **state)
{
	(void)state;
	static uint8_t in[2048];
	for (size_t i = 0; i < N_BADS; i++) {
		size_t n = build_bad(&bads[i], in, sizeof(in));
		check_error_prefixes(in, n, bads[i].data_max, bads[i].want, bads[i].visible_at);
	}
}

/* Exactly at each bound decodes. */
static void test_bounds_inclusive(void **state)
{
	(void)state;
	static uint8_t in[4096];
	struct bad ok[] = {
		{HDR "00000008", 8, "ffffffff", 8, 0, 0},                   /* data == data_max */
		{HDR "00000000", 0, "ffffffff", 0, 0, 0},                   /* empty under a 0 cap */
		{HDR "ffffffff 00000001 00000400", 1024, "00000400", 0, 0, 0}, /* 1024-byte strings */
		{HDR "ffffffff 00000001 ffffffff", 0, "ffffffff", 0, 0, 0}, /* null strings decode */
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		size_t n = build_bad(&ok[i], in, sizeof(in));
		if (i == 2) {
			memset(in + n, 'b', 1024);
			n += 1024;
		}
		check_prefixes(in, n, ok[i].data_max);
	}
	/* 16 Ids, the most a zk_auth holds. */
	size_t n = unhex(HDR "ffffffff 00000010", in, sizeof(in));
	for (int i = 0; i < ZK_AUTH_IDS_MAX; i++)
		n += unhex("00000002 6970 00000001 41", in + n, sizeof(in) - n);
	check_prefixes(in, n, CAP);
	struct zk_qpkt q;
	assert_int_equal(zk_qpkt_decode(in, n, CAP, &q), (int)n);
	struct zk_auth a;
	assert_int_equal(zk_qpkt_auth(&q, &a), 0);
	assert_int_equal(a.n, ZK_AUTH_IDS_MAX);
	assert_string_equal(a.ids[15].scheme, "ip");
}

/* ---- zk_qpkt_auth ---- */

/* A REQUEST whose authinfo is the given Ids; a NULL string is a null ustring. */
static size_t build_ids(uint8_t *out, size_t cap, int32_t count, const char *const *strs, const int32_t *lens)
{
	struct zk_wbuf w;
	zk_wbuf_init(&w);
	zk_jw_int(&w, ZK_QP_REQUEST);
	zk_jw_long(&w, -1);
	zk_jw_buffer(&w, NULL, -1);
	zk_jw_int(&w, count);
	for (int32_t i = 0; i < 2 * (count < 0 ? 0 : count); i++)
		zk_jw_ustring(&w, strs[i], strs[i] ? lens[i] : -1);
	assert_int_equal(w.err, 0);
	assert_true(w.len <= cap);
	size_t n = w.len;
	memcpy(out, w.p, n);
	zk_wbuf_fini(&w);
	return n;
}

static int auth_of(const char *s0, int32_t l0, const char *s1, int32_t l1, struct zk_auth *a)
{
	const char *strs[] = {"digest", "bob:x", s0, s1};
	const int32_t lens[] = {6, 5, l0, l1};
	uint8_t in[1200];
	size_t n = build_ids(in, sizeof(in), 2, strs, lens);
	uint8_t *p = dup_exact(in, n);
	struct zk_qpkt q;
	assert_int_equal(zk_qpkt_decode(p, n, CAP, &q), (int)n);
	int rc = zk_qpkt_auth(&q, a);
	free(p);
	return rc;
}

static void test_auth_copy(void **state)
{
	(void)state;
	static char s255[256], s256[257], s1024[1025];
	memset(s255, 'i', 255);
	memset(s256, 'i', 256);
	memset(s1024, 'i', 1024);
	struct zk_auth a;
	assert_int_equal(auth_of("abcdefghijklmno", 15, s255, 255, &a), 0); /* both at capacity */
	assert_int_equal(a.n, 2);
	assert_string_equal(a.ids[0].scheme, "digest");
	assert_string_equal(a.ids[0].id, "bob:x");
	assert_string_equal(a.ids[1].scheme, "abcdefghijklmno");
	assert_int_equal(strlen(a.ids[1].id), 255);
	assert_false(a.is_super);
	assert_int_equal(auth_of("super", 5, "", 0, &a), 0); /* Java's super Id: checkACL lets it by */
	assert_true(a.is_super);
	assert_string_equal(a.ids[1].id, "");
	static const struct {
		const char *s0;
		int32_t l0;
		const char *s1;
		int32_t l1;
	} rejects[] = {
		{"abcdefghijklmnop", 16, "x", 1}, /* scheme over 15 */
		{"ip", 2, s256, 256},             /* id over 255 */
		{"ip", 2, s1024, 1024},           /* legal on the wire, not in a zk_auth */
		{"ip\0x", 4, "1", 1},             /* NUL would shorten it */
		{"ip", 2, "127.0.0.1\0evil", 14},
		{NULL, -1, "x", 1},               /* null strings */
		{"ip", 2, NULL, -1},
	};
	for (size_t i = 0; i < sizeof(rejects) / sizeof(rejects[0]); i++) {
		memset(&a, 0x5a, sizeof(a));
		assert_int_equal(auth_of(rejects[i].s0, rejects[i].l0, rejects[i].s1, rejects[i].l1, &a), ZK_EINVAL);
		assert_int_equal(a.n, 0); /* nothing half-copied */
		assert_false(a.is_super);
	}
	/* A super Id before a bad one does not leave the flag behind. */
	const char *strs[] = {"super", "", "ip", NULL};
	const int32_t lens[] = {5, 0, 2, -1};
	uint8_t in[128];
	size_t n = build_ids(in, sizeof(in), 2, strs, lens);
	struct zk_qpkt q;
	assert_int_equal(zk_qpkt_decode(in, n, CAP, &q), (int)n);
	assert_int_equal(zk_qpkt_auth(&q, &a), ZK_EINVAL);
	assert_false(a.is_super);
}

static void test_auth_null_and_empty(void **state)
{
	(void)state;
	uint8_t in[64];
	struct zk_qpkt q;
	struct zk_auth a;
	for (int32_t count = -1; count <= 0; count++) {
		size_t n = build_ids(in, sizeof(in), count, NULL, NULL);
		assert_int_equal(zk_qpkt_decode(in, n, CAP, &q), (int)n);
		assert_int_equal(q.n_auth, count);
		memset(&a, 0x5a, sizeof(a));
		assert_int_equal(zk_qpkt_auth(&q, &a), 0);
		assert_int_equal(a.n, 0);
		assert_false(a.is_super);
	}
	/* A hand-made packet that lies is rejected, not walked. */
	q.n_auth = 17;
	assert_int_equal(zk_qpkt_auth(&q, &a), ZK_EINVAL);
	q.n_auth = 2;
	q.auth = NULL;
	q.auth_len = 0;
	assert_int_equal(zk_qpkt_auth(&q, &a), ZK_EINVAL);
}

static void test_auth_round_trip_super(void **state)
{
	(void)state;
	struct zk_auth a, got;
	client_auth(&a, true);
	struct zk_wbuf w;
	zk_wbuf_init(&w);
	zk_qpkt_write(&w, ZK_QP_REQUEST, -1, payload, sizeof(payload), &a);
	struct zk_qpkt q;
	assert_int_equal(zk_qpkt_decode(w.p, w.len, CAP, &q), (int)w.len);
	assert_int_equal(zk_qpkt_auth(&q, &got), 0);
	assert_auth_equal(&got, &a);
	assert_true(got.is_super);
	zk_wbuf_fini(&w);
}

/* ---- LearnerInfo ---- */

static void test_learner_info_forms(void **state)
{
	(void)state;
	uint8_t in[32];
	size_t n = unhex("0000000000000007 00010000 0000000100000003", in, sizeof(in));
	assert_int_equal(n, 20);
	static const struct {
		int32_t len;
		int32_t version;
		int64_t config;
	} forms[] = {{20, 0x10000, 0x100000003LL}, {12, 0x10000, 0}, {8, 0, 0}};
	for (size_t i = 0; i < 3; i++) {
		uint8_t *p = dup_exact(in, (size_t)forms[i].len);
		struct zk_learner_info li;
		memset(&li, 0x5a, sizeof(li));
		assert_int_equal(zk_learner_info_decode((struct zk_bytes){p, forms[i].len}, &li), 0);
		assert_true(li.sid == 7);
		assert_int_equal(li.protocol_version, forms[i].version);
		assert_true(li.config_version == forms[i].config);
		free(p);
	}
}

static void test_learner_info_bad_sizes(void **state)
{
	(void)state;
	uint8_t in[32] = {0};
	for (int32_t len = 0; len <= 32; len++) {
		if (len == 8 || len == 12 || len == 20)
			continue;
		uint8_t *p = dup_exact(in, (size_t)len);
		struct zk_learner_info li = {1, 2, 3};
		assert_int_equal(zk_learner_info_decode((struct zk_bytes){p, len}, &li), ZK_EINVAL);
		assert_true(li.sid == 1 && li.protocol_version == 2 && li.config_version == 3);
		free(p);
	}
	struct zk_learner_info li;
	assert_int_equal(zk_learner_info_decode((struct zk_bytes){NULL, -1}, &li), ZK_EINVAL);
	assert_int_equal(zk_learner_info_decode((struct zk_bytes){in, -2}, &li), ZK_EINVAL);
}

static void test_learner_info_round_trip(void **state)
{
	(void)state;
	static const struct zk_learner_info cases[] = {
		{1, ZK_QP_PROTOCOL_VERSION, 0},
		{-1, -1, -1},
		{INT64_MAX, INT32_MIN, INT64_MIN},
		{0x123456789LL, 0x10000, 0x200000001LL},
	};
	struct zk_wbuf w;
	zk_wbuf_init(&w);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		zk_wbuf_reset(&w);
		zk_learner_info_write(&w, &cases[i]);
		assert_int_equal(w.len, 20);
		/* Carried in an OBSERVERINFO, as an observer sends it. */
		struct zk_wbuf pk;
		zk_wbuf_init(&pk);
		zk_qpkt_write(&pk, ZK_QP_OBSERVERINFO, 5LL << 32, w.p, (int32_t)w.len, NULL);
		struct zk_qpkt q;
		assert_int_equal(zk_qpkt_decode(pk.p, pk.len, CAP, &q), (int)pk.len);
		struct zk_learner_info li;
		assert_int_equal(zk_learner_info_decode(q.data, &li), 0);
		assert_true(li.sid == cases[i].sid);
		assert_int_equal(li.protocol_version, cases[i].protocol_version);
		assert_true(li.config_version == cases[i].config_version);
		zk_wbuf_fini(&pk);
	}
	zk_wbuf_fini(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_type_names),
		cmocka_unit_test(test_round_trip_every_type),
		cmocka_unit_test(test_stream_back_to_back),
		cmocka_unit_test(test_write_null_and_empty),
		cmocka_unit_test(test_live_captures),
		cmocka_unit_test(test_live_handshake_payloads),
		cmocka_unit_test(test_newleader),
		cmocka_unit_test(test_live_request),
		cmocka_unit_test(test_bad_lengths),
		cmocka_unit_test(test_bounds_inclusive),
		cmocka_unit_test(test_auth_copy),
		cmocka_unit_test(test_auth_null_and_empty),
		cmocka_unit_test(test_auth_round_trip_super),
		cmocka_unit_test(test_learner_info_forms),
		cmocka_unit_test(test_learner_info_bad_sizes),
		cmocka_unit_test(test_learner_info_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
