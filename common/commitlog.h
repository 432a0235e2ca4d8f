/* The committed log (ZKDatabase.committedLog): the last commitLogCount applied txns in zxid
 * order, so that a leader can bring a learner that is a little behind up to date by DIFF instead
 * of a snapshot. A ring of copies; filled by every apply (live, replay, learner). */
#ifndef ZK_COMMITLOG_H
#define ZK_COMMITLOG_H

#include <stddef.h>
#include <stdint.h>

#define ZK_COMMITLOG_COUNT_DEFAULT 500 /* zookeeper.commitLogCount, also its minimum */

struct zk_commitlog_entry {
	int64_t zxid;
	uint8_t *txn;
	size_t len;
};

struct zk_commitlog {
	struct zk_commitlog_entry *ring;
	size_t cap, head, n; /* entries ring[(head + i) % cap], i < n, oldest first */
};

int zk_commitlog_init(struct zk_commitlog *l, size_t cap);
void zk_commitlog_fini(struct zk_commitlog *l);
void zk_commitlog_clear(struct zk_commitlog *l);
/* Appends a copy (the oldest goes when full). Entries must come in increasing zxid order; an older
 * or equal zxid clears the log first (a reload). Returns 0 or ZK_ENOMEM. */
int zk_commitlog_append(struct zk_commitlog *l, int64_t zxid, const uint8_t *txn, size_t len);
size_t zk_commitlog_count(const struct zk_commitlog *l);
/* i-th entry, oldest first (i < count). */
const struct zk_commitlog_entry *zk_commitlog_at(const struct zk_commitlog *l, size_t i);
/* First/last zxid, or `dflt` when empty. */
int64_t zk_commitlog_min(const struct zk_commitlog *l, int64_t dflt);
int64_t zk_commitlog_max(const struct zk_commitlog *l, int64_t dflt);

#endif
