/* Session table and expiry buckets: see session.h; protocol.md section 2.10. */
#include "session.h"

#include <string.h>
#include <utlist.h>

#include "zmalloc.h"

int64_t zk_session_id_initial(int64_t server_id, int64_t now_ms)
{
	uint64_t t = ((uint64_t)now_ms << 24) >> 8;
	uint64_t id = ((uint64_t)server_id << 56) | t;
	/* Long.MIN_VALUE is the container owner marker: never hand it out. */
	if (id == 0x8000000000000000ULL)
		id++;
	return (int64_t)id;
}

void zk_sessions_init(struct zk_sessions *s, int64_t tick_ms, int64_t server_id, int64_t now_ms)
{
	memset(s, 0, sizeof(*s));
	s->interval_ms = tick_ms > 0 ? tick_ms : 1;
	s->next_expiry_ms = (now_ms / s->interval_ms + 1) * s->interval_ms;
	s->next_session_id = zk_session_id_initial(server_id, now_ms);
}

void zk_sessions_fini(struct zk_sessions *s)
{
	struct zk_session *x, *xt;
	HASH_ITER(hh, s->by_id, x, xt) {
		HASH_DELETE(hh, s->by_id, x);
		zk_free(x);
	}
	struct zk_bucket *b, *bt;
	HASH_ITER(hh, s->buckets, b, bt) {
		HASH_DELETE(hh, s->buckets, b);
		zk_free(b);
	}
}

int64_t zk_sessions_next_id(struct zk_sessions *s)
{
	int64_t id = s->next_session_id++;
	if ((uint64_t)id == 0x8000000000000000ULL)
		id = s->next_session_id++;
	return id;
}

struct zk_session *zk_sessions_get(const struct zk_sessions *s, int64_t id)
{
	struct zk_session *x;
	HASH_FIND(hh, s->by_id, &id, sizeof(id), x);
	return x;
}

static void unbucket(struct zk_sessions *s, struct zk_session *x)
{
	if (!x->expire_at_ms)
		return;
	struct zk_bucket *b;
	HASH_FIND(hh, s->buckets, &x->expire_at_ms, sizeof(x->expire_at_ms), b);
	if (b) {
		DL_DELETE2(b->head, x, bprev, bnext);
		if (!b->head) {
			HASH_DELETE(hh, s->buckets, b);
			zk_free(b);
		}
	}
	x->expire_at_ms = 0;
}

static bool bucket(struct zk_sessions *s, struct zk_session *x, int64_t at)
{
	struct zk_bucket *b;
	HASH_FIND(hh, s->buckets, &at, sizeof(at), b);
	if (!b) {
		b = zk_calloc(1, sizeof(*b));
		if (!b)
			return false;
		b->at_ms = at;
		HASH_ADD(hh, s->buckets, at_ms, sizeof(b->at_ms), b);
	}
	DL_APPEND2(b->head, x, bprev, bnext);
	x->expire_at_ms = at;
	return true;
}

static void touch(struct zk_sessions *s, struct zk_session *x, int64_t now_ms)
{
	int64_t at = ((now_ms + x->timeout_ms) / s->interval_ms + 1) * s->interval_ms;
	if (at == x->expire_at_ms)
		return;
	unbucket(s, x);
	bucket(s, x, at);
}

struct zk_session *zk_sessions_add(struct zk_sessions *s, int64_t id, int32_t timeout_ms, int64_t now_ms)
{
	struct zk_session *x = zk_sessions_get(s, id);
	if (!x) {
		x = zk_calloc(1, sizeof(*x));
		if (!x)
			return NULL;
		x->id = id;
		HASH_ADD(hh, s->by_id, id, sizeof(x->id), x);
	}
	x->timeout_ms = timeout_ms;
	x->closing = false;
	touch(s, x, now_ms);
	return x;
}

void zk_sessions_remove(struct zk_sessions *s, int64_t id)
{
	struct zk_session *x = zk_sessions_get(s, id);
	if (!x)
		return;
	unbucket(s, x);
	HASH_DELETE(hh, s->by_id, x);
	zk_free(x);
}

void zk_sessions_move_table(struct zk_sessions *dst, struct zk_sessions *src)
{
	struct zk_sessions old = *dst; /* fini frees only its sessions and buckets */
	dst->by_id = src->by_id;
	dst->buckets = src->buckets;
	src->by_id = NULL;
	src->buckets = NULL;
	zk_sessions_fini(&old);
}

bool zk_sessions_touch(struct zk_sessions *s, int64_t id, int64_t now_ms)
{
	struct zk_session *x = zk_sessions_get(s, id);
	if (!x || x->closing)
		return false;
	touch(s, x, now_ms);
	return true;
}

struct zk_session *zk_sessions_pop_expired(struct zk_sessions *s, int64_t now_ms)
{
	/* Buckets sit on interval multiples; walk boundaries up to now. After a long pause of the
	 * caller, jump straight to the oldest bucket instead of stepping through empty ones. */
	while (s->next_expiry_ms <= now_ms) {
		struct zk_bucket *b;
		HASH_FIND(hh, s->buckets, &s->next_expiry_ms, sizeof(s->next_expiry_ms), b);
		if (b) {
			struct zk_session *x = b->head;
			unbucket(s, x);
			x->closing = true;
			return x;
		}
		if ((now_ms - s->next_expiry_ms) / s->interval_ms > 64) {
			/* With no bucket, the next boundary after now: it must stay a multiple of the
			 * interval, or HASH_FIND never meets a bucket again. */
			int64_t oldest = (now_ms / s->interval_ms + 1) * s->interval_ms;
			struct zk_bucket *it, *tmp;
			HASH_ITER(hh, s->buckets, it, tmp) if (it->at_ms < oldest) oldest = it->at_ms;
			s->next_expiry_ms = oldest > s->next_expiry_ms ? oldest : s->next_expiry_ms + s->interval_ms;
			continue;
		}
		s->next_expiry_ms += s->interval_ms;
	}
	return NULL;
}

int64_t zk_sessions_next_deadline(const struct zk_sessions *s) { return s->next_expiry_ms; }

uint32_t zk_sessions_count(const struct zk_sessions *s) { return HASH_CNT(hh, s->by_id); }

void zk_session_passwd(int64_t id, uint8_t out[16])
{
	const uint64_t mask = (1ULL << 48) - 1;
	uint64_t seed = (((uint64_t)id ^ 0xB3415C00ULL) ^ 0x5DEECE66DULL) & mask;
	for (int i = 0; i < 4; i++) {
		seed = (seed * 0x5DEECE66DULL + 0xBULL) & mask;
		uint32_t r = (uint32_t)(seed >> 16);
		out[4 * i] = (uint8_t)r;
		out[4 * i + 1] = (uint8_t)(r >> 8);
		out[4 * i + 2] = (uint8_t)(r >> 16);
		out[4 * i + 3] = (uint8_t)(r >> 24);
	}
}
