/* The DIFF / TRUNC / SNAP choice of a leader for one learner (LearnerHandler.syncFollower,
 * protocol.md 5.5), over committed logs built in memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "commitlog.h"
#include "leader_int.h"

#define Z(e, c) (((int64_t)(e) << 32) | (c))

static void fill(struct zk_commitlog *l, const int64_t *zxids, size_t n)
{
	assert_int_equal(zk_commitlog_init(l, 500), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(zk_commitlog_append(l, zxids[i], (const uint8_t *)"x", 1), 0);
}

static void check(const int64_t *zxids, size_t n, int64_t last, int64_t peer, enum zk_sync_kind kind, int64_t zxid,
                  size_t from)
{
	struct zk_commitlog l;
	fill(&l, zxids, n);
	struct zk_sync_plan p;
	zk_sync_choose(&l, last, peer, &p);
	assert_int_equal(p.kind, kind);
	if (kind != ZK_SYNC_SNAP) {
		assert_int_equal(p.zxid, zxid);
		assert_int_equal(p.from, from);
	}
	zk_commitlog_fini(&l);
}

static const int64_t log1[] = {Z(1, 1), Z(1, 2), Z(1, 3), Z(2, 1), Z(2, 2)};

static void same_zxid_is_empty_diff(void **st)
{
	(void)st;
	check(log1, 5, Z(2, 2), Z(2, 2), ZK_SYNC_DIFF, Z(2, 2), 5);
	check(NULL, 0, 0, 0, ZK_SYNC_DIFF, 0, 0); /* fresh ensemble: the live capture's DIFF 0 */
}

static void inside_the_log_is_diff_of_the_rest(void **st)
{
	(void)st;
	check(log1, 5, Z(2, 2), Z(1, 2), ZK_SYNC_DIFF, Z(2, 2), 2);
	check(log1, 5, Z(2, 2), Z(1, 1), ZK_SYNC_DIFF, Z(2, 2), 1);
	check(log1, 5, Z(2, 2), Z(2, 1), ZK_SYNC_DIFF, Z(2, 2), 4);
}

static void epoch_start_is_diff_from_the_next(void **st)
{
	(void)st;
	check(log1, 5, Z(2, 2), Z(2, 0), ZK_SYNC_DIFF, Z(2, 2), 3);
}

static void txns_we_never_saw_are_truncated(void **st)
{
	(void)st;
	/* The learner has 1/4 that the log skips (it went 1/3 -> 2/1): truncate to 1/3, then 2/1... */
	static const int64_t lg[] = {Z(1, 1), Z(1, 3), Z(1, 5), Z(2, 1)};
	check(lg, 4, Z(2, 1), Z(1, 4), ZK_SYNC_TRUNC, Z(1, 3), 2);
	/* ...but not across an epoch: 1/9 vs first above 2/1. */
	static const int64_t lg2[] = {Z(1, 1), Z(1, 3), Z(2, 1), Z(2, 2)};
	check(lg2, 4, Z(2, 2), Z(1, 9), ZK_SYNC_SNAP, 0, 0);
}

static void ahead_of_the_log_is_trunc_to_its_end(void **st)
{
	(void)st;
	check(log1, 5, Z(2, 2), Z(2, 7), ZK_SYNC_TRUNC, Z(2, 2), 5);
	check(NULL, 0, Z(1, 4), Z(1, 9), ZK_SYNC_TRUNC, Z(1, 4), 0);
}

static void behind_the_log_is_snap(void **st)
{
	(void)st;
	static const int64_t lg[] = {Z(1, 5), Z(1, 6)};
	check(lg, 2, Z(1, 6), Z(1, 2), ZK_SYNC_SNAP, 0, 0);
	check(NULL, 0, Z(1, 6), Z(1, 2), ZK_SYNC_SNAP, 0, 0);
	check(NULL, 0, Z(1, 6), 0, ZK_SYNC_SNAP, 0, 0);
	/* An epoch start beyond our log cannot be truncated to: SNAP. */
	check(log1, 5, Z(2, 2), Z(3, 0), ZK_SYNC_SNAP, 0, 0);
}

static void commitlog_keeps_the_newest(void **st)
{
	(void)st;
	struct zk_commitlog l;
	assert_int_equal(zk_commitlog_init(&l, 3), 0);
	for (int i = 1; i <= 5; i++)
		assert_int_equal(zk_commitlog_append(&l, Z(1, i), (const uint8_t *)"ab", 2), 0);
	assert_int_equal(zk_commitlog_count(&l), 3);
	assert_int_equal(zk_commitlog_min(&l, -1), Z(1, 3));
	assert_int_equal(zk_commitlog_max(&l, -1), Z(1, 5));
	/* Going back (a reload after TRUNC) starts over. */
	assert_int_equal(zk_commitlog_append(&l, Z(1, 2), (const uint8_t *)"c", 1), 0);
	assert_int_equal(zk_commitlog_count(&l), 1);
	assert_int_equal(zk_commitlog_at(&l, 0)->len, 1);
	zk_commitlog_fini(&l);
	assert_int_equal(zk_commitlog_min(&l, 7), 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(same_zxid_is_empty_diff),
		cmocka_unit_test(inside_the_log_is_diff_of_the_rest),
		cmocka_unit_test(epoch_start_is_diff_from_the_next),
		cmocka_unit_test(txns_we_never_saw_are_truncated),
		cmocka_unit_test(ahead_of_the_log_is_trunc_to_its_end),
		cmocka_unit_test(behind_the_log_is_snap),
		cmocka_unit_test(commitlog_keeps_the_newest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
