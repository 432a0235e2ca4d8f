/* Committed log: see commitlog.h. */
#include "commitlog.h"

#include <string.h>

#include "errors.h"
#include "zmalloc.h"

int zk_commitlog_init(struct zk_commitlog *l, size_t cap)
{
	memset(l, 0, sizeof(*l));
	if (cap < 1)
		cap = 1;
	l->ring = zk_calloc(cap, sizeof(*l->ring));
	if (!l->ring)
		return ZK_ENOMEM;
	l->cap = cap;
	return 0;
}

void zk_commitlog_clear(struct zk_commitlog *l)
{
	for (size_t i = 0; i < l->n; i++)
		zk_free(l->ring[(l->head + i) % l->cap].txn);
	l->head = 0;
	l->n = 0;
}

void zk_commitlog_fini(struct zk_commitlog *l)
{
	if (!l->ring)
		return;
	zk_commitlog_clear(l);
	zk_free(l->ring);
	memset(l, 0, sizeof(*l));
}

int zk_commitlog_append(struct zk_commitlog *l, int64_t zxid, const uint8_t *txn, size_t len)
{
	if (!l->ring)
		return ZK_ENOMEM;
	if (l->n && zxid <= zk_commitlog_max(l, 0))
		zk_commitlog_clear(l);
	uint8_t *copy = zk_malloc(len ? len : 1);
	if (!copy)
		return ZK_ENOMEM;
	memcpy(copy, txn, len);
	if (l->n == l->cap) {
		zk_free(l->ring[l->head].txn);
		l->head = (l->head + 1) % l->cap;
		l->n--;
	}
	struct zk_commitlog_entry *e = &l->ring[(l->head + l->n) % l->cap];
	e->zxid = zxid;
	e->txn = copy;
	e->len = len;
	l->n++;
	return 0;
}

size_t zk_commitlog_count(const struct zk_commitlog *l) { return l->n; }

const struct zk_commitlog_entry *zk_commitlog_at(const struct zk_commitlog *l, size_t i)
{
	return i < l->n ? &l->ring[(l->head + i) % l->cap] : NULL;
}

int64_t zk_commitlog_min(const struct zk_commitlog *l, int64_t dflt) { return l->n ? l->ring[l->head].zxid : dflt; }

int64_t zk_commitlog_max(const struct zk_commitlog *l, int64_t dflt)
{
	return l->n ? l->ring[(l->head + l->n - 1) % l->cap].zxid : dflt;
}
