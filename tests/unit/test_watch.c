/* Watch tables (common/watch.c), with the trigger rules of protocol.md 2.6: one-shot data and
 * child watches, persistent and persistent-recursive modes (recursive fires for descendants and
 * never for NodeChildrenChanged), NodeDeleted reaching data and child watchers once, remove and
 * check, dropping a watcher from both indexes, and the counts wchs reports. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "watch.h"

struct fired {
	uint64_t watcher[256];
	int type[256];
	char path[256][32];
	int n;
};

static void on_fire(void *ctx, uint64_t watcher, int type, const char *path, size_t len)
{
	struct fired *f = ctx;
	assert_true(f->n < 256);
	f->watcher[f->n] = watcher;
	f->type[f->n] = type;
	snprintf(f->path[f->n], sizeof(f->path[f->n]), "%.*s", (int)len, path);
	f->n++;
}

/* Fires and returns how many deliveries happened; the result is in *f. */
static int fire(struct zk_watches *w, int type, const char *path, struct fired *f)
{
	memset(f, 0, sizeof(*f));
	zk_watches_trigger(w, type, path, strlen(path), on_fire, f);
	return f->n;
}

static int add(struct zk_watches *w, const char *path, uint64_t watcher, int kind)
{
	return zk_watches_add(w, path, strlen(path), watcher, kind);
}

static bool rm(struct zk_watches *w, const char *path, uint64_t watcher, int kinds, bool dry)
{
	return zk_watches_remove(w, path, strlen(path), watcher, kinds, dry);
}

static int setup(void **state)
{
	struct zk_watches *w = malloc(sizeof(*w));
	zk_watches_init(w);
	*state = w;
	return 0;
}

static int teardown(void **state)
{
	struct zk_watches *w = *state;
	zk_watches_fini(w);
	assert_int_equal(zk_watches_path_count(w), 0);
	assert_int_equal(zk_watches_watcher_count(w), 0);
	free(w);
	return 0;
}

static void assert_empty(const struct zk_watches *w)
{
	assert_true(w->count == 0);
	assert_true(w->recursive_count == 0);
	assert_int_equal(zk_watches_path_count(w), 0);
	assert_int_equal(zk_watches_watcher_count(w), 0);
}

static void test_one_shot_data(void **state)
{
	struct zk_watches *w = *state;
	struct fired f;
	assert_int_equal(add(w, "/a", 1, ZK_W_DATA), 0);
	assert_int_equal(add(w, "/a", 1, ZK_W_DATA), 0); /* twice: still one watch */
	assert_true(w->count == 1);
	/* Child events and other paths leave it alone. */
	assert_int_equal(fire(w, ZK_EV_CHILDREN_CHANGED, "/a", &f), 0);
	assert_int_equal(fire(w, ZK_EV_DATA_CHANGED, "/ab", &f), 0);
	assert_int_equal(fire(w, ZK_EV_DATA_CHANGED, "/a/b", &f), 0);
	assert_int_equal(fire(w, ZK_EV_DATA_CHANGED, "/a", &f), 1);
	assert_true(f.watcher[0] == 1);
	assert_int_equal(f.type[0], ZK_EV_DATA_CHANGED);
	assert_string_equal(f.path[0], "/a");
	assert_empty(w);
	assert_int_equal(fire(w, ZK_EV_DATA_CHANGED, "/a", &f), 0);
	/* An exists watch on a missing node fires on NodeCreated. */
	add(w, "/new", 2, ZK_W_DATA);
	assert_int_equal(fire(w, ZK_EV_CREATED, "/new", &f), 1);
	assert_int_equal(f.type[0], ZK_EV_CREATED);
	assert_empty(w);
}

static void test_one_shot_child(void **state)
{
	struct zk_watches *w = *state;
	struct fired f;
	add(w, "/c", 1, ZK_W_CHILD);
	assert_int_equal(fire(w, ZK_EV_DATA_CHANGED, "/c", &f), 0);
	assert_int_equal(fire(w, ZK_EV_CREATED, "/c", &f), 0);
	assert_int_equal(fire(w, ZK_EV_CHILDREN_CHANGED, "/c", &f), 1);
	assert_int_equal(f.type[0], ZK_EV_CHILDREN_CHANGED);
	assert_empty(w);
}

static void test_deleted_reaches_data_and_child_once(void **state)
{
	struct zk_watches *w = *state;
	struct fired f;
	add(w, "/d", 1, ZK_W_DATA);
	add(w, "/d", 1, ZK_W_CHILD);
	add(w, "/d", 2, ZK_W_CHILD);
	add(w, "/d", 3, ZK_W_DATA);
	assert_true(w->count == 4);
	assert_int_equal(zk_watches_watcher_count(w), 3);
	assert_int_equal(zk_watches_path_count(w), 1);
	assert_int_equal(fire(w, ZK_EV_DELETED, "/d", &f), 3);
	bool seen[4] = {0};
	for (int i = 0; i < 3; i++) {
		assert_int_equal(f.type[i], ZK_EV_DELETED);
		assert_true(f.watcher[i] >= 1 && f.watcher[i] <= 3);
		assert_false(seen[f.watcher[i]]);
		seen[f.watcher[i]] = true;
	}
	assert_empty(w);
}

static void test_persistent(void **state)
{
	struct zk_watches *w = *state;
	struct fired f;
	add(w, "/p", 1, ZK_W_PERSISTENT);
	assert_true(w->recursive_count == 0);
	assert_int_equal(fire(w, ZK_EV_DATA_CHANGED, "/p", &f), 1);
	assert_int_equal(fire(w, ZK_EV_CHILDREN_CHANGED, "/p", &f), 1);
	assert_int_equal(fire(w, ZK_EV_CREATED, "/p", &f), 1);
	assert_int_equal(fire(w, ZK_EV_DELETED, "/p", &f), 1);
	/* Not for descendants, and it stays. */
	assert_int_equal(fire(w, ZK_EV_DATA_CHANGED, "/p/x", &f), 0);
	assert_true(w->count == 1);
	/* A one-shot data watch of the same watcher on the same path: one delivery, the one-shot
	 * part is consumed, the persistent part stays. */
	add(w, "/p", 1, ZK_W_DATA);
	assert_true(w->count == 2);
	assert_int_equal(fire(w, ZK_EV_DATA_CHANGED, "/p", &f), 1);
	assert_true(w->count == 1);
	assert_true(rm(w, "/p", 1, ZK_W_PERSISTENT, false));
	assert_empty(w);
}

static void test_persistent_recursive(void **state)
{
	struct zk_watches *w = *state;
	struct fired f;
	add(w, "/r", 1, ZK_W_RECURSIVE);
	assert_true(w->recursive_count == 1);
	assert_int_equal(fire(w, ZK_EV_DATA_CHANGED, "/r", &f), 1);
	assert_int_equal(fire(w, ZK_EV_CREATED, "/r/a", &f), 1);
	assert_string_equal(f.path[0], "/r/a"); /* the event names the changed node */
	assert_int_equal(fire(w, ZK_EV_DATA_CHANGED, "/r/a/b/c", &f), 1);
	assert_int_equal(fire(w, ZK_EV_DELETED, "/r/a/b/c", &f), 1);
	assert_int_equal(fire(w, ZK_EV_DELETED, "/r", &f), 1);
	/* Never NodeChildrenChanged, on the path or below. */
	assert_int_equal(fire(w, ZK_EV_CHILDREN_CHANGED, "/r", &f), 0);
	assert_int_equal(fire(w, ZK_EV_CHILDREN_CHANGED, "/r/a", &f), 0);
	/* Not for a sibling sharing the prefix, nor for the parent. */
	assert_int_equal(fire(w, ZK_EV_DATA_CHANGED, "/rx", &f), 0);
	assert_int_equal(fire(w, ZK_EV_DATA_CHANGED, "/rx/y", &f), 0);
	assert_int_equal(fire(w, ZK_EV_DATA_CHANGED, "/", &f), 0);
	assert_true(w->count == 1);
	/* Overlap: a data watch below and a recursive watch above, same watcher: one delivery. */
	add(w, "/r/a", 1, ZK_W_DATA);
	add(w, "/r/a", 2, ZK_W_DATA);
	assert_int_equal(fire(w, ZK_EV_DATA_CHANGED, "/r/a", &f), 2);
	assert_true(f.watcher[0] != f.watcher[1]);
	assert_true(w->count == 1);
	/* Nested recursive watches of one watcher: one delivery. */
	add(w, "/r/a", 1, ZK_W_RECURSIVE);
	assert_true(w->recursive_count == 2);
	assert_int_equal(fire(w, ZK_EV_CREATED, "/r/a/z", &f), 1);
	/* A recursive watch on the root sees everything but child events. */
	add(w, "/", 7, ZK_W_RECURSIVE);
	assert_int_equal(fire(w, ZK_EV_CREATED, "/elsewhere/deep", &f), 1);
	assert_true(f.watcher[0] == 7);
	assert_int_equal(fire(w, ZK_EV_DATA_CHANGED, "/", &f), 1);
	assert_int_equal(fire(w, ZK_EV_CHILDREN_CHANGED, "/", &f), 0);
	assert_int_equal(fire(w, ZK_EV_DELETED, "/r/a/z", &f), 2);
	assert_true(rm(w, "/r", 1, ZK_W_RECURSIVE, false));
	assert_true(rm(w, "/r/a", 1, ZK_W_RECURSIVE, false));
	assert_true(rm(w, "/", 7, ZK_W_RECURSIVE, false));
	assert_empty(w);
}

static void test_remove_and_check(void **state)
{
	struct zk_watches *w = *state;
	add(w, "/x", 1, ZK_W_DATA);
	add(w, "/x", 1, ZK_W_CHILD);
	assert_true(w->count == 2);
	/* check (dry run): present kinds answer true, nothing changes. */
	assert_true(rm(w, "/x", 1, ZK_W_DATA, true));
	assert_true(rm(w, "/x", 1, ZK_W_CHILD | ZK_W_DATA, true));
	assert_false(rm(w, "/x", 1, ZK_W_PERSISTENT, true));
	assert_false(rm(w, "/x", 2, ZK_W_DATA, true));
	assert_false(rm(w, "/y", 1, ZK_W_DATA, true));
	assert_true(w->count == 2);
	/* remove one kind, then the other. */
	assert_true(rm(w, "/x", 1, ZK_W_DATA, false));
	assert_true(w->count == 1);
	assert_false(rm(w, "/x", 1, ZK_W_DATA, false));
	struct fired f;
	assert_int_equal(fire(w, ZK_EV_DATA_CHANGED, "/x", &f), 0);
	assert_true(rm(w, "/x", 1, ZK_W_CHILD | ZK_W_DATA | ZK_W_PERSISTENT | ZK_W_RECURSIVE, false));
	assert_empty(w);
}

struct visits {
	int n;
	uint64_t watcher[16];
	char path[16][16];
	int kinds[16];
};

static void visit(void *ctx, uint64_t watcher, const char *path, int kinds)
{
	struct visits *v = ctx;
	assert_true(v->n < 16);
	v->watcher[v->n] = watcher;
	snprintf(v->path[v->n], sizeof(v->path[v->n]), "%s", path);
	v->kinds[v->n] = kinds;
	v->n++;
}

static void test_remove_watcher_both_indexes(void **state)
{
	struct zk_watches *w = *state;
	add(w, "/a", 1, ZK_W_DATA);
	add(w, "/b", 1, ZK_W_CHILD);
	add(w, "/c", 1, ZK_W_RECURSIVE);
	add(w, "/a", 2, ZK_W_DATA);
	add(w, "/a", 2, ZK_W_PERSISTENT);
	assert_true(w->count == 5);
	assert_int_equal(zk_watches_path_count(w), 3);
	assert_int_equal(zk_watches_watcher_count(w), 2);
	assert_true(w->recursive_count == 1);
	zk_watches_remove_watcher(w, 1);
	assert_true(w->count == 2);
	assert_true(w->recursive_count == 0);
	assert_int_equal(zk_watches_path_count(w), 1);
	assert_int_equal(zk_watches_watcher_count(w), 1);
	struct visits v = {0};
	zk_watches_visit_by_path(w, visit, &v);
	assert_int_equal(v.n, 1);
	assert_true(v.watcher[0] == 2);
	assert_string_equal(v.path[0], "/a");
	assert_int_equal(v.kinds[0], ZK_W_DATA | ZK_W_PERSISTENT);
	memset(&v, 0, sizeof(v));
	zk_watches_visit_by_watcher(w, visit, &v);
	assert_int_equal(v.n, 1);
	assert_true(v.watcher[0] == 2);
	struct fired f;
	assert_int_equal(fire(w, ZK_EV_CHILDREN_CHANGED, "/b", &f), 0);
	assert_int_equal(fire(w, ZK_EV_CREATED, "/c/x", &f), 0);
	assert_int_equal(fire(w, ZK_EV_DATA_CHANGED, "/a", &f), 1);
	assert_true(f.watcher[0] == 2);
	zk_watches_remove_watcher(w, 1); /* unknown now: no-op */
	zk_watches_remove_watcher(w, 2);
	assert_empty(w);
}

static void test_fan_out_and_counts(void **state)
{
	struct zk_watches *w = *state;
	for (uint64_t i = 1; i <= 200; i++) {
		add(w, "/hot", i, ZK_W_DATA);
		add(w, "/hot", i, ZK_W_CHILD);
	}
	add(w, "/cold", 5, ZK_W_DATA);
	assert_true(w->count == 401);
	assert_int_equal(zk_watches_path_count(w), 2);
	assert_int_equal(zk_watches_watcher_count(w), 200);
	struct fired f;
	assert_int_equal(fire(w, ZK_EV_DELETED, "/hot", &f), 200);
	/* Each watcher exactly once. */
	static bool seen[201];
	memset(seen, 0, sizeof(seen));
	for (int i = 0; i < 200; i++) {
		assert_false(seen[f.watcher[i]]);
		seen[f.watcher[i]] = true;
	}
	assert_true(w->count == 1);
	assert_int_equal(zk_watches_path_count(w), 1);
	assert_int_equal(zk_watches_watcher_count(w), 1);
	/* fini with watches left is clean (teardown checks the tables). */
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_one_shot_data),
		T(test_one_shot_child),
		T(test_deleted_reaches_data_and_child_once),
		T(test_persistent),
		T(test_persistent_recursive),
		T(test_remove_and_check),
		T(test_remove_watcher_both_indexes),
		T(test_fan_out_and_counts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
