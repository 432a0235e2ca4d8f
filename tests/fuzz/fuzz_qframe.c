/* Fuzz target: the leader <-> learner framer (quorum/qframe.c) over hostile streams.
 *
 * Input: byte 0 picks the limits (bit 7: data_max 64 bytes instead of 1 MiB; bit 6: snap_max
 * 256 bytes instead of 1 MiB) and seeds the chunking; the rest is the stream. It is fed once
 * whole and once in chunks of 1 to 64 bytes (sizes from a PRNG seeded by byte 0), each chunk in
 * its own exact-size heap block, calling zk_qframe_next until it needs more or fails after every
 * feed. Checks: both runs give the same items (kind, type, zxid, lengths, bytes) and the same
 * final result; results are only the documented ones; every snapshot handed out fits snap_max
 * and ends in "BenWasHere"; an error sticks; a snapshot the scan accepted never reads to
 * zk_snap_load as "ends early" (ZK_ESHORT), and if loaded it used exactly its bytes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "qframe.h"
#include "snapshot.h"
#include "txn.h"

#define CHECK(c)                                                                                          \
	do {                                                                                              \
		if (!(c)) {                                                                               \
			fprintf(stderr, "fuzz_qframe: check failed: %s (%s:%d)\n", #c, __FILE__, __LINE__); \
			abort();                                                                          \
		}                                                                                         \
	} while (0)

#define ITEMS_MAX 4096

/* A digest of one run: item headers and a hash of their bytes, compared across chunkings. */
struct trace {
	int n;
	int rc;
	uint64_t hash;
};

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

static uint64_t mix_u64(uint64_t h, uint64_t v) { return mix(h, &v, sizeof(v)); }

static void check_snap(const uint8_t *p, size_t n, uint64_t snap_max)
{
	CHECK(n <= snap_max);
	CHECK(n >= 4 + 4 + 5 + 14); /* two counts, "/", the signature */
	CHECK(!memcmp(p + n - 10, ZK_SNAP_WIRE_SIGNATURE, 10));
	/* The scan checks lengths only; the loader checks the rest, but must agree on the end. */
	struct zk_db db;
	if (zk_db_init(&db, 2000, 1, 0))
		return;
	struct zk_snap_info info;
	char err[256];
	uint8_t *copy = malloc(n);
	CHECK(copy);
	memcpy(copy, p, n);
	int rc = zk_snap_load(&db, copy, n, 1, ZK_SNAP_WIRE, &info, err, sizeof(err));
	CHECK(rc != ZK_ESHORT);
	if (rc == 0)
		CHECK(info.bytes_used == n);
	free(copy);
	zk_db_fini(&db);
}

static void record(struct trace *t, int kind, const struct zk_qpkt *q, const uint8_t *snap, size_t snap_len,
		   uint64_t snap_max, bool deep)
{
	CHECK(t->n < ITEMS_MAX);
	t->n++;
	t->hash = mix_u64(t->hash, (uint64_t)kind);
	if (kind == ZK_QF_SNAP) {
		t->hash = mix(mix_u64(t->hash, snap_len), snap, snap_len);
		if (deep)
			check_snap(snap, snap_len, snap_max);
		return;
	}
	CHECK(q->data.len >= -1);
	CHECK(q->n_auth >= -1);
	t->hash = mix_u64(mix_u64(t->hash, (uint64_t)q->type), (uint64_t)q->zxid);
	t->hash = mix_u64(t->hash, (uint64_t)(int64_t)q->data.len);
	if (q->data.len > 0)
		t->hash = mix(t->hash, q->data.p, (size_t)q->data.len);
	t->hash = mix_u64(mix_u64(t->hash, (uint64_t)(int64_t)q->n_auth), q->auth_len);
	if (q->auth_len)
		t->hash = mix(t->hash, q->auth, q->auth_len);
}

/* Returns false once the framer has failed (t->rc holds the error). */
static bool drain(struct zk_qframe *f, struct trace *t, uint64_t snap_max, bool deep)
{
	for (;;) {
		struct zk_qpkt q;
		const uint8_t *snap = NULL;
		size_t snap_len = 0;
		int rc = zk_qframe_next(f, &q, &snap, &snap_len);
		CHECK(rc == ZK_QF_NONE || rc == ZK_QF_PACKET || rc == ZK_QF_SNAP || rc == ZK_ERANGE ||
		      rc == ZK_EINVAL || rc == ZK_ENOMEM);
		CHECK(f->off <= f->buf.len);
		if (rc < 0) {
			CHECK(zk_qframe_next(f, &q, &snap, &snap_len) == rc);
			t->rc = rc;
			return false;
		}
		if (rc == ZK_QF_NONE)
			return true;
		record(t, rc, &q, snap, snap_len, snap_max, deep);
	}
}

static void run(const uint8_t *p, size_t n, uint64_t seed, size_t data_max, uint64_t snap_max, bool deep,
		struct trace *t)
{
	memset(t, 0, sizeof(*t));
	t->hash = 0xcbf29ce484222325ULL;
	struct zk_qframe f;
	zk_qframe_init(&f, data_max, snap_max);
	size_t pos = 0;
	bool ok = true;
	while (ok && pos < n) {
		size_t k = n - pos;
		if (seed) {
			seed ^= seed << 13;
			seed ^= seed >> 7;
			seed ^= seed << 17;
			size_t c = 1 + (size_t)(seed % 64);
			k = c < k ? c : k;
		}
		uint8_t *chunk = malloc(k);
		CHECK(chunk);
		memcpy(chunk, p + pos, k);
		int rc = zk_qframe_feed(&f, chunk, k);
		free(chunk);
		if (rc) {
			CHECK(rc == ZK_ENOMEM);
			t->rc = rc;
			break;
		}
		pos += k;
		ok = drain(&f, t, snap_max, deep);
	}
	zk_qframe_fini(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t data_max = (data[0] & 0x80) ? 64 : (1u << 20);
	uint64_t snap_max = (data[0] & 0x40) ? 256 : (1u << 20);
	uint64_t seed = 0x9E3779B97F4A7C15ULL ^ data[0];
	struct trace whole, chunked;
	run(data + 1, size - 1, 0, data_max, snap_max, true, &whole);
	run(data + 1, size - 1, seed, data_max, snap_max, false, &chunked);
	CHECK(whole.n == chunked.n);
	CHECK(whole.rc == chunked.rc);
	CHECK(whole.hash == chunked.hash);
	return 0;
}
