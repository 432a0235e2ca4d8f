/* Sessions (common/session.c): ZooKeeper's session id layout and password (protocol.md 2.10,
 * live vectors), expiry buckets on tickTime multiples with the roundUp rule, expiry driven by a
 * fake clock (time is only ever an argument), closing sessions, and a long pause of the caller. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "session.h"

#define TICK 2000

static uint32_t bucket_count(const struct zk_sessions *s) { return HASH_CNT(hh, s->buckets); }

static void test_id_layout(void **state)
{
	(void)state;
	/* Live standalone: myid 1, clock low 40 bits 0x57f1ab. */
	assert_true(zk_session_id_initial(1, 0x57f1ab) == 0x01000057f1ab0000LL);
	/* Clock bits above the low 40 are shifted out. */
	assert_true(zk_session_id_initial(1, (0x123456LL << 40) | 0x57f1ab) == 0x01000057f1ab0000LL);
	assert_true(zk_session_id_initial(1, 0xffffffffffLL) == 0x01ffffffffff0000LL);
	assert_true(zk_session_id_initial(2, 0) == 0x0200000000000000LL);
	assert_true((uint64_t)zk_session_id_initial(254, 1) == 0xfe00000000010000ULL);
	/* Long.MIN_VALUE is the container marker: never an id. */
	assert_true((uint64_t)zk_session_id_initial(0x80, 0) == 0x8000000000000001ULL);

	struct zk_sessions s;
	zk_sessions_init(&s, TICK, 1, 0x57f1ab);
	assert_true(zk_sessions_next_id(&s) == 0x01000057f1ab0000LL);
	assert_true(zk_sessions_next_id(&s) == 0x01000057f1ab0001LL);
	assert_true(zk_sessions_next_id(&s) == 0x01000057f1ab0002LL);
	s.next_session_id = INT64_MIN;
	assert_true((uint64_t)zk_sessions_next_id(&s) == 0x8000000000000001ULL);
	zk_sessions_fini(&s);
}

static void test_password_vectors(void **state)
{
	(void)state;
	static const struct {
		int64_t id;
		const char *pw;
	} v[] = {
		{0x01000057f1ab0000LL, "d7dc59ab186375860d8d238921057b38"}, /* verified live */
		{0x01000057f1ab0001LL, "eafd53abb8ae54cb02d08ab4f58d8f05"},
		{0x0100005a731d0000LL, "393bcaced29e71903f17aac26bc80459"},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint8_t pw[16];
		char hex[33];
		zk_session_passwd(v[i].id, pw);
		for (int j = 0; j < 16; j++)
			sprintf(hex + 2 * j, "%02x", pw[j]);
		assert_string_equal(hex, v[i].pw);
	}
}

static void test_add_touch_buckets(void **state)
{
	(void)state;
	struct zk_sessions s;
	zk_sessions_init(&s, TICK, 1, 1000);
	assert_true(zk_sessions_next_deadline(&s) == 2000); /* next boundary after now */
	struct zk_session *a = zk_sessions_add(&s, 0xa, 4000, 1000);
	assert_non_null(a);
	/* roundUp(1000 + 4000) = (5000 / 2000 + 1) * 2000 */
	assert_true(a->expire_at_ms == 6000);
	assert_int_equal(a->timeout_ms, 4000);
	assert_false(a->closing);
	assert_int_equal(zk_sessions_count(&s), 1);
	assert_int_equal(bucket_count(&s), 1);
	/* Exactly on a multiple still rounds up to the next one. */
	struct zk_session *b = zk_sessions_add(&s, 0xb, 4000, 2000);
	assert_true(b->expire_at_ms == 8000);
	assert_int_equal(bucket_count(&s), 2);
	/* A touch within the same bucket keeps it; a later one moves it, freeing the old bucket. */
	assert_true(zk_sessions_touch(&s, 0xa, 1999));
	assert_true(a->expire_at_ms == 6000);
	assert_true(zk_sessions_touch(&s, 0xa, 2000));
	assert_true(a->expire_at_ms == 8000);
	assert_int_equal(bucket_count(&s), 1);
	assert_ptr_equal(s.buckets->head, b);
	assert_ptr_equal(b->bnext, a);
	/* Unknown sessions cannot be touched. */
	assert_false(zk_sessions_touch(&s, 0xc, 2000));
	/* Re-adding updates the timeout and touches. */
	assert_ptr_equal(zk_sessions_add(&s, 0xa, 10000, 3000), a);
	assert_int_equal(a->timeout_ms, 10000);
	assert_true(a->expire_at_ms == 14000);
	assert_int_equal(zk_sessions_count(&s), 2);
	assert_ptr_equal(zk_sessions_get(&s, 0xa), a);
	assert_null(zk_sessions_get(&s, 0xc));
	zk_sessions_remove(&s, 0xa);
	assert_null(zk_sessions_get(&s, 0xa));
	assert_int_equal(zk_sessions_count(&s), 1);
	assert_int_equal(bucket_count(&s), 1);
	zk_sessions_remove(&s, 0xa); /* twice: no-op */
	zk_sessions_fini(&s);
}

static void test_expiry_fake_clock(void **state)
{
	(void)state;
	struct zk_sessions s;
	zk_sessions_init(&s, TICK, 1, 0);
	zk_sessions_add(&s, 1, 4000, 0);   /* bucket 6000 */
	zk_sessions_add(&s, 2, 4000, 500); /* bucket 6000 */
	zk_sessions_add(&s, 3, 10000, 0);  /* bucket 12000 */
	assert_null(zk_sessions_pop_expired(&s, 0));
	assert_null(zk_sessions_pop_expired(&s, 5999));
	assert_true(zk_sessions_next_deadline(&s) == 6000);
	/* The bucket's sessions come out one per call, marked closing and untracked. */
	struct zk_session *x = zk_sessions_pop_expired(&s, 6000);
	assert_non_null(x);
	assert_true(x->id == 1);
	assert_true(x->closing);
	assert_true(x->expire_at_ms == 0);
	struct zk_session *y = zk_sessions_pop_expired(&s, 6000);
	assert_non_null(y);
	assert_true(y->id == 2);
	assert_null(zk_sessions_pop_expired(&s, 6000));
	/* Still in the table (the close txn removes them), but closing: touches are refused. */
	assert_int_equal(zk_sessions_count(&s), 3);
	assert_false(zk_sessions_touch(&s, 1, 6001));
	assert_true(x->expire_at_ms == 0);
	/* A touch of the live one moves its deadline past 12000. */
	assert_true(zk_sessions_touch(&s, 3, 6000));
	assert_true(zk_sessions_get(&s, 3)->expire_at_ms == 18000);
	assert_null(zk_sessions_pop_expired(&s, 12000));
	assert_null(zk_sessions_pop_expired(&s, 17999));
	struct zk_session *z = zk_sessions_pop_expired(&s, 18000);
	assert_non_null(z);
	assert_true(z->id == 3);
	/* Removing a popped (unbucketed) session is fine. */
	zk_sessions_remove(&s, 1);
	zk_sessions_remove(&s, 2);
	zk_sessions_remove(&s, 3);
	assert_int_equal(zk_sessions_count(&s), 0);
	assert_int_equal(bucket_count(&s), 0);
	/* Re-adding a closing session revives it. */
	struct zk_session *r = zk_sessions_add(&s, 7, 4000, 20000);
	r->closing = true;
	assert_false(zk_sessions_touch(&s, 7, 20000));
	zk_sessions_add(&s, 7, 4000, 20000);
	assert_false(r->closing);
	assert_true(zk_sessions_touch(&s, 7, 20001));
	zk_sessions_fini(&s);
}

static void test_steady_ticks(void **state)
{
	(void)state;
	/* A client pinging every timeout/3 never expires; once it stops, it expires within
	 * timeout + tickTime of its last touch. */
	struct zk_sessions s;
	zk_sessions_init(&s, TICK, 1, 0);
	zk_sessions_add(&s, 9, 6000, 0);
	int64_t now = 0;
	for (; now < 100000; now += 500) {
		if (now % 2000 == 0)
			assert_true(zk_sessions_touch(&s, 9, now));
		assert_null(zk_sessions_pop_expired(&s, now));
	}
	int64_t last = now - 500;
	while (last % 2000)
		last -= 500;
	struct zk_session *x = NULL;
	for (; now < 200000 && !x; now += 100)
		x = zk_sessions_pop_expired(&s, now);
	assert_non_null(x);
	now -= 100;
	assert_true(now > last + 6000);
	assert_true(now <= last + 6000 + TICK);
	assert_true(now % TICK == 0);
	zk_sessions_fini(&s);
}

static void test_long_pause(void **state)
{
	(void)state;
	struct zk_sessions s;
	zk_sessions_init(&s, TICK, 1, 0);
	zk_sessions_add(&s, 1, 4000, 0); /* bucket 6000 */
	/* The caller comes back much later: the old bucket still expires, without stepping through
	 * every empty boundary. */
	struct zk_session *x = zk_sessions_pop_expired(&s, 1000000);
	assert_non_null(x);
	assert_true(x->id == 1);
	assert_null(zk_sessions_pop_expired(&s, 1000000));
	zk_sessions_remove(&s, 1);
	/* Another long pause with nothing tracked, at a time that is not a tick multiple... */
	assert_null(zk_sessions_pop_expired(&s, 10000001));
	assert_true(zk_sessions_next_deadline(&s) % TICK == 0);
	assert_true(zk_sessions_next_deadline(&s) > 10000001);
	assert_true(zk_sessions_next_deadline(&s) <= 10000001 + TICK);
	/* ...and a session added then must still expire on time (buckets are tick multiples). */
	struct zk_session *a = zk_sessions_add(&s, 2, 4000, 10000001);
	assert_true(a->expire_at_ms == 10006000);
	assert_null(zk_sessions_pop_expired(&s, 10005999));
	x = zk_sessions_pop_expired(&s, 10006000);
	assert_non_null(x);
	assert_true(x->id == 2);
	/* Sessions spread over many buckets after a pause all come out, oldest bucket first. */
	zk_sessions_remove(&s, 2);
	for (int i = 0; i < 100; i++)
		zk_sessions_add(&s, 100 + i, 4000 + 2000 * (i % 10), 10006000 + 37 * i);
	int64_t prev = 0;
	int n = 0;
	while ((x = zk_sessions_pop_expired(&s, 99000000))) {
		n++;
		assert_true(x->id >= 100 && x->id < 200);
		zk_sessions_remove(&s, x->id);
		(void)prev;
	}
	assert_int_equal(n, 100);
	assert_int_equal(bucket_count(&s), 0);
	zk_sessions_fini(&s);
}

static void test_tick_of_one(void **state)
{
	(void)state;
	/* A zero tickTime is clamped to 1 ms buckets rather than dividing by zero. */
	struct zk_sessions s;
	zk_sessions_init(&s, 0, 1, 0);
	assert_true(s.interval_ms == 1);
	zk_sessions_add(&s, 5, 10, 0);
	assert_null(zk_sessions_pop_expired(&s, 10));
	assert_non_null(zk_sessions_pop_expired(&s, 11));
	zk_sessions_fini(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_id_layout),
		cmocka_unit_test(test_password_vectors),
		cmocka_unit_test(test_add_touch_buckets),
		cmocka_unit_test(test_expiry_fake_clock),
		cmocka_unit_test(test_steady_ticks),
		cmocka_unit_test(test_long_pause),
		cmocka_unit_test(test_tick_of_one),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
