/* Data tree (common/dtree.c): the built-in nodes of a fresh ZooKeeper 3.8 database, the
 * txn-level create/delete/setData/setACL with their stats, stored vs reported cversion
 * (protocol.md 2.7), ephemeral bookkeeping and killSession, the container and TTL lists, the
 * events reported through on_event, the stackless descendant count, and the tree digest
 * (protocol.md 6), checked against a from-scratch recomputation and the live value 0x51c6d660
 * that ZooKeeper 3.8.0 logged for a fresh tree. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc32.h"
#include "dtree.h"
#include "errors.h"
#include "proto.h"

#define S1 0x01000057f1ab0000LL
#define S2 0x01000057f1ab0001LL
#define T0 1700000000000LL

static const uint8_t open_acl[] = {0, 0, 0, 1, 0, 0, 0, 31, 0, 0, 0, 5, 'w', 'o', 'r', 'l', 'd',
				   0, 0, 0, 6, 'a', 'n', 'y', 'o', 'n', 'e'};
static const uint8_t read_acl[] = {0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 5, 'w', 'o', 'r', 'l', 'd',
				   0, 0, 0, 6, 'a', 'n', 'y', 'o', 'n', 'e'};

/* Events seen through on_event. */
struct ev {
	int type;
	char path[64];
};
struct evlog {
	struct ev v[64];
	int n;
};

static void on_event(void *ctx, int type, const char *path, size_t len)
{
	struct evlog *l = ctx;
	if (l->n < 64) { /* big trees: count only */
		l->v[l->n].type = type;
		snprintf(l->v[l->n].path, sizeof(l->v[l->n].path), "%.*s", (int)len, path);
	}
	l->n++;
}

static void assert_event(const struct evlog *l, int i, int type, const char *path)
{
	assert_true(i < l->n && i < 64);
	assert_int_equal(l->v[i].type, type);
	assert_string_equal(l->v[i].path, path);
}

struct fx {
	struct zk_dtree t;
	struct zk_acl_list *acl; /* an interned open ACL held by the fixture */
	struct evlog ev;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_int_equal(zk_dtree_init(&f->t), 0);
	f->acl = zk_aclcache_intern(&f->t.acls, open_acl, sizeof(open_acl));
	assert_non_null(f->acl);
	f->t.on_event = on_event;
	f->t.event_ctx = &f->ev;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	zk_aclcache_release(&f->t.acls, f->acl);
	zk_dtree_fini(&f->t);
	free(f);
	return 0;
}

static zk_code mk(struct fx *f, const char *path, const char *data, int64_t owner, int64_t zxid)
{
	return zk_dtree_create(&f->t, path, strlen(path), (const uint8_t *)data, data ? (int32_t)strlen(data) : -1,
			       f->acl, owner, -1, zxid, T0 + zxid);
}

static zk_code rm(struct fx *f, const char *path, int64_t zxid)
{
	return zk_dtree_delete(&f->t, path, strlen(path), zxid);
}

static struct zk_node *get(struct fx *f, const char *path) { return zk_dtree_get(&f->t, path, strlen(path)); }

static struct zk_stat stat_of(struct fx *f, const char *path)
{
	struct zk_node *n = get(f, path);
	assert_non_null(n);
	struct zk_stat s;
	zk_node_stat(n, &s);
	return s;
}

/* The digest recomputed from nothing but the nodes, as DigestCalculator does. */
static uint64_t recompute_digest(const struct zk_dtree *t)
{
	uint64_t sum = 0;
	const struct zk_node *n, *tmp;
	HASH_ITER(hh, t->nodes, n, tmp) {
		if (n->path_len > 11 && !memcmp(n->path, "/zookeeper/", 11))
			continue;
		uint8_t st[60];
		const struct zk_pstat *s = &n->stat;
		zk_put_be64(st + 0, (uint64_t)s->czxid);
		zk_put_be64(st + 8, (uint64_t)s->mzxid);
		zk_put_be64(st + 16, (uint64_t)s->pzxid);
		zk_put_be64(st + 24, (uint64_t)s->ctime);
		zk_put_be64(st + 32, (uint64_t)s->mtime);
		zk_put_be32(st + 40, (uint32_t)s->version);
		zk_put_be32(st + 44, (uint32_t)s->cversion);
		zk_put_be32(st + 48, (uint32_t)s->aversion);
		zk_put_be64(st + 52, (uint64_t)s->ephemeral_owner);
		uint32_t c = 0;
		if (strcmp(n->path, "/"))
			c = zk_crc32_update(c, n->path, n->path_len);
		if (n->data_len > 0)
			c = zk_crc32_update(c, n->data, (size_t)n->data_len);
		c = zk_crc32_update(c, st, sizeof(st));
		sum += c;
	}
	return sum;
}

static void test_crc_and_adler_vectors(void **state)
{
	(void)state;
	assert_int_equal(zk_crc32_update(0, "123456789", 9), 0xCBF43926u);
	/* Incremental equals one shot. */
	assert_int_equal(zk_crc32_update(zk_crc32_update(0, "1234", 4), "56789", 5), 0xCBF43926u);
	assert_int_equal(zk_crc32_update(0, "", 0), 0);
	assert_int_equal(zk_adler32("Wikipedia", 9), 0x11E60398u);
	assert_int_equal(zk_adler32("", 0), 1);
}

static void test_builtin_nodes(void **state)
{
	struct fx *f = *state;
	assert_int_equal(f->t.node_count, 4);
	struct zk_node *root = get(f, "/"), *zk = get(f, "/zookeeper"), *quota = get(f, "/zookeeper/quota"),
		       *config = get(f, "/zookeeper/config");
	assert_non_null(root);
	assert_ptr_equal(root, f->t.root);
	assert_null(root->parent);
	assert_ptr_equal(zk->parent, root);
	assert_ptr_equal(quota->parent, zk);
	assert_ptr_equal(config->parent, zk);
	assert_int_equal(zk_node_num_children(root), 1);
	assert_int_equal(zk_node_num_children(zk), 2);
	assert_string_equal(zk_node_name(zk), "zookeeper");
	assert_string_equal(zk_node_name(config), "config");
	/* /zookeeper/config: empty data, READ world:anyone, aversion -1 (verified live). */
	struct zk_stat s = stat_of(f, "/zookeeper/config");
	assert_int_equal(s.aversion, -1);
	assert_int_equal(s.data_length, 0);
	assert_int_equal(config->data_len, 0);
	assert_int_equal(config->acl->nbytes, sizeof(read_acl));
	assert_memory_equal(config->acl->bytes, read_acl, sizeof(read_acl));
	assert_int_equal(root->acl->nbytes, sizeof(open_acl));
	assert_memory_equal(root->acl->bytes, open_acl, sizeof(open_acl));
	/* ZooKeeper's built-in open list is id -1, outside the cache. */
	assert_true(root->acl->id == -1);
	s = stat_of(f, "/");
	assert_true(s.czxid == 0 && s.mzxid == 0 && s.pzxid == 0 && s.version == 0);
	/* Stored cversion 0 with one child: clients see -1, as `stat /` on a fresh ZooKeeper shows. */
	assert_int_equal(s.cversion, -1);
	assert_int_equal(s.num_children, 1);
	/* Fresh-tree digest as logged by ZooKeeper 3.8.0 (protocol.md 7.2's createSession entry). */
	assert_true(f->t.digest == 0x51c6d660u);
	assert_true(recompute_digest(&f->t) == f->t.digest);
	assert_null(f->t.containers);
	assert_null(f->t.ttls);
	assert_null(f->t.ephemerals);
}

static void test_create_and_stats(void **state)
{
	struct fx *f = *state;
	assert_int_equal(mk(f, "/a", "hello", 0, 5), ZOK);
	struct zk_stat s = stat_of(f, "/a");
	assert_true(s.czxid == 5 && s.mzxid == 5 && s.pzxid == 5);
	assert_true(s.ctime == T0 + 5 && s.mtime == T0 + 5);
	assert_int_equal(s.version, 0);
	assert_int_equal(s.cversion, 0);
	assert_int_equal(s.aversion, 0);
	assert_true(s.ephemeral_owner == 0);
	assert_int_equal(s.data_length, 5);
	assert_int_equal(s.num_children, 0);
	struct zk_node *a = get(f, "/a");
	assert_memory_equal(a->data, "hello", 5);
	assert_ptr_equal(a->acl, f->acl);
	assert_int_equal(f->acl->refs, 2); /* fixture + node */
	/* Parent: stored cversion +1, pzxid = zxid; mzxid untouched. */
	struct zk_node *root = get(f, "/");
	assert_int_equal(root->stat.cversion, 1);
	assert_true(root->stat.pzxid == 5);
	assert_true(root->stat.mzxid == 0);
	assert_int_equal(f->t.node_count, 5);
	assert_true(f->t.data_bytes == 1 + 10 + 16 + 17 + 2 + 5);

	/* Null data stays null; empty stays empty. */
	assert_int_equal(mk(f, "/a/null", NULL, 0, 6), ZOK);
	assert_int_equal(get(f, "/a/null")->data_len, -1);
	assert_int_equal(stat_of(f, "/a/null").data_length, 0);
	assert_int_equal(mk(f, "/a/empty", "", 0, 7), ZOK);
	assert_int_equal(get(f, "/a/empty")->data_len, 0);

	/* Errors. */
	assert_int_equal(mk(f, "/a", "x", 0, 8), ZNODEEXISTS);
	assert_int_equal(mk(f, "/nope/x", "x", 0, 8), ZNONODE);
	assert_int_equal(mk(f, "/", "x", 0, 8), ZBADARGUMENTS);
	assert_int_equal(mk(f, "a", "x", 0, 8), ZBADARGUMENTS);
	assert_int_equal(f->t.node_count, 7);
	assert_true(recompute_digest(&f->t) == f->t.digest);
}

static void test_parent_cversion_argument(void **state)
{
	struct fx *f = *state;
	struct zk_node *root = get(f, "/");
	/* An explicit parentCVersion larger than the stored one is taken as is. */
	assert_int_equal(zk_dtree_create(&f->t, "/x", 2, NULL, -1, f->acl, 0, 10, 20, T0), ZOK);
	assert_int_equal(root->stat.cversion, 10);
	assert_true(root->stat.pzxid == 20);
	/* A replayed create with an older parentCVersion moves neither cversion nor pzxid. */
	assert_int_equal(zk_dtree_create(&f->t, "/y", 2, NULL, -1, f->acl, 0, 4, 21, T0), ZOK);
	assert_int_equal(root->stat.cversion, 10);
	assert_true(root->stat.pzxid == 20);
	/* -1: stored + 1. */
	assert_int_equal(zk_dtree_create(&f->t, "/z", 2, NULL, -1, f->acl, 0, -1, 22, T0), ZOK);
	assert_int_equal(root->stat.cversion, 11);
	assert_true(root->stat.pzxid == 22);
	assert_true(recompute_digest(&f->t) == f->t.digest);
	/* At INT32_MAX, "+1" wraps as Java's int does (no overflow), and being smaller it leaves
	 * cversion and pzxid where they are. */
	assert_int_equal(zk_dtree_create(&f->t, "/max", 4, NULL, -1, f->acl, 0, INT32_MAX, 23, T0), ZOK);
	assert_int_equal(root->stat.cversion, INT32_MAX);
	assert_int_equal(zk_dtree_create(&f->t, "/wrap", 5, NULL, -1, f->acl, 0, -1, 24, T0), ZOK);
	assert_int_equal(root->stat.cversion, INT32_MAX);
	assert_true(root->stat.pzxid == 23);
	assert_true(recompute_digest(&f->t) == f->t.digest);
}

static void test_reported_cversion(void **state)
{
	struct fx *f = *state;
	/* protocol.md 2.7 (live): create /cv/a, delete /cv/a, create /cv/b -> reported 3, stored 2. */
	assert_int_equal(mk(f, "/cv", "", 0, 1), ZOK);
	assert_int_equal(mk(f, "/cv/a", "", 0, 2), ZOK);
	assert_int_equal(rm(f, "/cv/a", 3), ZOK);
	assert_int_equal(mk(f, "/cv/b", "", 0, 4), ZOK);
	struct zk_node *cv = get(f, "/cv");
	assert_int_equal(cv->stat.cversion, 2);
	struct zk_stat s = stat_of(f, "/cv");
	assert_int_equal(s.cversion, 3);
	assert_int_equal(s.num_children, 1);
	assert_true(s.pzxid == 4);
	/* Delete keeps the stored value but moves pzxid (only forward). */
	assert_int_equal(rm(f, "/cv/b", 5), ZOK);
	assert_int_equal(cv->stat.cversion, 2);
	assert_true(cv->stat.pzxid == 5);
	assert_int_equal(stat_of(f, "/cv").cversion, 4);
	assert_int_equal(mk(f, "/cv/c", "", 0, 6), ZOK);
	assert_int_equal(zk_dtree_delete(&f->t, "/cv/c", 5, 1), ZOK); /* replayed, older zxid */
	assert_true(cv->stat.pzxid == 6);
}

static void test_delete_set_data_set_acl(void **state)
{
	struct fx *f = *state;
	assert_int_equal(mk(f, "/d", "v0", 0, 1), ZOK);
	assert_int_equal(mk(f, "/d/c", "", 0, 2), ZOK);
	assert_int_equal(rm(f, "/d", 3), ZNOTEMPTY);
	assert_int_equal(rm(f, "/missing", 3), ZNONODE);
	assert_int_equal(rm(f, "/", 3), ZNONODE); /* the root has no parent to leave */

	assert_int_equal(zk_dtree_set_data(&f->t, "/d", 2, (const uint8_t *)"value1", 6, 1, 4, T0 + 4), ZOK);
	struct zk_stat s = stat_of(f, "/d");
	assert_int_equal(s.version, 1);
	assert_true(s.mzxid == 4 && s.mtime == T0 + 4);
	assert_true(s.czxid == 1 && s.ctime == T0 + 1);
	assert_int_equal(s.data_length, 6);
	assert_memory_equal(get(f, "/d")->data, "value1", 6);
	/* Null and empty. */
	assert_int_equal(zk_dtree_set_data(&f->t, "/d", 2, NULL, -1, 2, 5, T0 + 5), ZOK);
	assert_int_equal(get(f, "/d")->data_len, -1);
	assert_int_equal(zk_dtree_set_data(&f->t, "/d", 2, (const uint8_t *)"", 0, 3, 6, T0 + 6), ZOK);
	assert_int_equal(get(f, "/d")->data_len, 0);
	assert_int_equal(zk_dtree_set_data(&f->t, "/nope", 5, NULL, -1, 1, 7, T0), ZNONODE);

	/* setACL: the node takes a reference on the new list and drops the old one. */
	struct zk_acl_list *ro = zk_aclcache_intern(&f->t.acls, read_acl, sizeof(read_acl));
	assert_non_null(ro);
	uint32_t ro_refs = ro->refs, open_refs = f->acl->refs;
	struct evlog before = f->ev;
	assert_int_equal(zk_dtree_set_acl(&f->t, "/d", 2, ro, 1), ZOK);
	assert_int_equal(f->ev.n, before.n); /* setACL fires nothing */
	assert_ptr_equal(get(f, "/d")->acl, ro);
	assert_int_equal(ro->refs, ro_refs + 1);
	assert_int_equal(f->acl->refs, open_refs - 1);
	assert_int_equal(stat_of(f, "/d").aversion, 1);
	assert_int_equal(zk_dtree_set_acl(&f->t, "/nope", 5, ro, 1), ZNONODE);
	zk_aclcache_release(&f->t.acls, ro);

	uint64_t bytes = f->t.data_bytes;
	assert_int_equal(rm(f, "/d/c", 8), ZOK);
	assert_null(get(f, "/d/c"));
	assert_true(f->t.data_bytes == bytes - 4);
	assert_int_equal(rm(f, "/d", 9), ZOK);
	assert_null(get(f, "/d"));
	/* The list's last user went: it left the cache (the built-in READ list of config stays). */
	assert_int_equal(zk_aclcache_count(&f->t.acls), 2);
	assert_true(recompute_digest(&f->t) == f->t.digest);
}

static void test_events(void **state)
{
	struct fx *f = *state;
	assert_int_equal(mk(f, "/e", "", 0, 1), ZOK);
	assert_int_equal(mk(f, "/e/f", "", 0, 2), ZOK);
	assert_int_equal(zk_dtree_set_data(&f->t, "/e/f", 4, (const uint8_t *)"x", 1, 1, 3, T0), ZOK);
	assert_int_equal(rm(f, "/e/f", 4), ZOK);
	assert_int_equal(f->ev.n, 7);
	assert_event(&f->ev, 0, ZK_EV_CREATED, "/e");
	assert_event(&f->ev, 1, ZK_EV_CHILDREN_CHANGED, "/");
	assert_event(&f->ev, 2, ZK_EV_CREATED, "/e/f");
	assert_event(&f->ev, 3, ZK_EV_CHILDREN_CHANGED, "/e");
	assert_event(&f->ev, 4, ZK_EV_DATA_CHANGED, "/e/f");
	assert_event(&f->ev, 5, ZK_EV_DELETED, "/e/f");
	assert_event(&f->ev, 6, ZK_EV_CHILDREN_CHANGED, "/e");
	/* Failures emit nothing. */
	assert_int_equal(mk(f, "/e", "", 0, 5), ZNODEEXISTS);
	assert_int_equal(rm(f, "/e/f", 5), ZNONODE);
	assert_int_equal(f->ev.n, 7);
}

static void test_ephemerals_and_kill_session(void **state)
{
	struct fx *f = *state;
	assert_true(zk_owner_is_session(S1));
	assert_false(zk_owner_is_session(0));
	assert_false(zk_owner_is_session(ZK_OWNER_CONTAINER));
	assert_false(zk_owner_is_session((int64_t)0xFF0000000036EE80ULL));
	assert_int_equal(mk(f, "/p", "", 0, 1), ZOK);
	assert_int_equal(mk(f, "/p/e1", "", S1, 2), ZOK);
	assert_int_equal(mk(f, "/p/e2", "", S1, 3), ZOK);
	assert_int_equal(mk(f, "/e3", "", S1, 4), ZOK);
	assert_int_equal(mk(f, "/p/other", "", S2, 5), ZOK);
	const struct zk_eph_set *e = zk_dtree_ephemerals(&f->t, S1);
	assert_non_null(e);
	assert_int_equal(e->count, 3);
	assert_true(e->session_id == S1);
	assert_true(stat_of(f, "/p/e1").ephemeral_owner == S1);
	assert_int_equal(zk_dtree_ephemerals(&f->t, S2)->count, 1);
	assert_null(zk_dtree_ephemerals(&f->t, 12345));
	/* Deleting one by hand updates the set. */
	assert_int_equal(rm(f, "/p/e2", 6), ZOK);
	assert_int_equal(zk_dtree_ephemerals(&f->t, S1)->count, 2);
	f->ev.n = 0;
	zk_dtree_kill_session(&f->t, S1, 7);
	assert_null(zk_dtree_ephemerals(&f->t, S1));
	assert_null(get(f, "/p/e1"));
	assert_null(get(f, "/e3"));
	assert_non_null(get(f, "/p/other"));
	assert_int_equal(zk_dtree_ephemerals(&f->t, S2)->count, 1);
	assert_int_equal(f->ev.n, 4); /* DELETED + CHILDREN_CHANGED per node */
	assert_true(get(f, "/p")->stat.pzxid == 7);
	/* Killing a session without ephemerals is a no-op. */
	zk_dtree_kill_session(&f->t, S1, 8);
	zk_dtree_kill_session(&f->t, 999, 8);
	assert_int_equal(f->ev.n, 4);
	zk_dtree_kill_session(&f->t, S2, 9);
	assert_null(f->t.ephemerals);
	assert_true(recompute_digest(&f->t) == f->t.digest);
}

/* An ephemeral with a child can only come from txns (prep refuses it): killing its session must
 * still end, deleting what it can, rather than loop forever on the node it cannot delete. */
static void test_kill_session_with_undeletable_ephemeral(void **state)
{
	struct fx *f = *state;
	assert_int_equal(mk(f, "/e", "", S1, 1), ZOK);
	assert_int_equal(mk(f, "/e/child", "", 0, 2), ZOK);
	assert_int_equal(mk(f, "/e2", "", S1, 3), ZOK);
	zk_dtree_kill_session(&f->t, S1, 4);
	assert_non_null(get(f, "/e"));
	assert_null(get(f, "/e2"));
	/* Once the child is gone, the session's remaining ephemeral goes too. */
	assert_int_equal(rm(f, "/e/child", 5), ZOK);
	zk_dtree_kill_session(&f->t, S1, 6);
	assert_null(get(f, "/e"));
	assert_null(zk_dtree_ephemerals(&f->t, S1));
}

static int list_len(const struct zk_node *head)
{
	int n = 0;
	for (; head; head = head->kind_next)
		n++;
	return n;
}

static void test_containers_and_ttl(void **state)
{
	struct fx *f = *state;
	int64_t ttl_owner = (int64_t)(0xFF00000000000000ULL | 3600000);
	assert_int_equal(mk(f, "/c1", "", ZK_OWNER_CONTAINER, 1), ZOK);
	assert_int_equal(mk(f, "/c2", "", ZK_OWNER_CONTAINER, 2), ZOK);
	assert_int_equal(mk(f, "/t1", "", ttl_owner, 3), ZOK);
	assert_int_equal(list_len(f->t.containers), 2);
	assert_int_equal(list_len(f->t.ttls), 1);
	assert_null(f->t.ephemerals);
	/* Stored with the special owner; clients see 0 (protocol.md 2.8). */
	assert_true(get(f, "/c1")->stat.ephemeral_owner == ZK_OWNER_CONTAINER);
	assert_true(stat_of(f, "/c1").ephemeral_owner == 0);
	assert_true(get(f, "/t1")->stat.ephemeral_owner == ttl_owner);
	assert_true(stat_of(f, "/t1").ephemeral_owner == 0);
	assert_true(recompute_digest(&f->t) == f->t.digest); /* digests use the stored owner */
	/* Children of containers are plain nodes. */
	assert_int_equal(mk(f, "/c1/x", "", 0, 4), ZOK);
	assert_int_equal(list_len(f->t.containers), 2);
	assert_int_equal(rm(f, "/c1/x", 5), ZOK);
	assert_int_equal(rm(f, "/c1", 6), ZOK);
	assert_int_equal(list_len(f->t.containers), 1);
	assert_string_equal(f->t.containers->path, "/c2");
	assert_int_equal(rm(f, "/t1", 7), ZOK);
	assert_null(f->t.ttls);
	assert_int_equal(rm(f, "/c2", 8), ZOK);
	assert_null(f->t.containers);
}

static void test_count_descendants_deep(void **state)
{
	struct fx *f = *state;
	enum { DEPTH = 10000 };
	char *path = malloc(2 * DEPTH + 1);
	size_t len = 0;
	for (int i = 0; i < DEPTH; i++) {
		path[len++] = '/';
		path[len++] = 'd';
		assert_int_equal(zk_dtree_create(&f->t, path, len, NULL, -1, f->acl, 0, -1, i + 1, T0), ZOK);
	}
	assert_int_equal(zk_dtree_count_descendants(f->t.root), DEPTH + 3);
	struct zk_node *top = get(f, "/d");
	assert_int_equal(zk_dtree_count_descendants(top), DEPTH - 1);
	struct zk_node *mid = zk_dtree_get(&f->t, path, 2 * (DEPTH / 2));
	assert_non_null(mid);
	assert_int_equal(zk_dtree_count_descendants(mid), DEPTH - DEPTH / 2);
	struct zk_node *leaf = zk_dtree_get(&f->t, path, len);
	assert_int_equal(zk_dtree_count_descendants(leaf), 0);
	assert_true(recompute_digest(&f->t) == f->t.digest);
	/* Tear down from the leaf up (what fini would otherwise do anyway). */
	for (int i = DEPTH; i > 0; i--)
		assert_int_equal(zk_dtree_delete(&f->t, path, 2 * (size_t)i, DEPTH + 1), ZOK);
	assert_int_equal(f->t.node_count, 4);
	free(path);
}

static void test_count_descendants_wide(void **state)
{
	struct fx *f = *state;
	/* /w with 3 subtrees of different shapes: a (200 leaves), b (chain of 5, each level also
	 * with a leaf), c (empty); and a sibling /x whose children must never be counted under /w. */
	assert_int_equal(mk(f, "/w", "", 0, 1), ZOK);
	assert_int_equal(mk(f, "/w/a", "", 0, 2), ZOK);
	assert_int_equal(mk(f, "/w/b", "", 0, 3), ZOK);
	assert_int_equal(mk(f, "/w/c", "", 0, 4), ZOK);
	assert_int_equal(mk(f, "/x", "", 0, 5), ZOK);
	assert_int_equal(mk(f, "/x/y", "", 0, 6), ZOK);
	char p[128];
	for (int i = 0; i < 200; i++) {
		snprintf(p, sizeof(p), "/w/a/n%d", i);
		assert_int_equal(mk(f, p, "", 0, 10 + i), ZOK);
	}
	strcpy(p, "/w/b");
	for (int i = 0; i < 5; i++) {
		char leaf[160];
		snprintf(leaf, sizeof(leaf), "%s/leaf", p);
		assert_int_equal(mk(f, leaf, "", 0, 300 + 2 * i), ZOK);
		strcat(p, "/n");
		assert_int_equal(mk(f, p, "", 0, 301 + 2 * i), ZOK);
	}
	assert_int_equal(zk_dtree_count_descendants(get(f, "/w/a")), 200);
	assert_int_equal(zk_dtree_count_descendants(get(f, "/w/b")), 10);
	assert_int_equal(zk_dtree_count_descendants(get(f, "/w/c")), 0);
	assert_int_equal(zk_dtree_count_descendants(get(f, "/w")), 3 + 200 + 10);
	assert_int_equal(zk_dtree_count_descendants(get(f, "/w/b/n")), 8);
	assert_int_equal(zk_dtree_count_descendants(f->t.root), 3 + 214 + 2);
	assert_int_equal(f->t.node_count, 4 + 214 + 2);
}

static void test_path_parent_len(void **state)
{
	(void)state;
	assert_int_equal(zk_path_parent_len("/a", 2), 1);
	assert_int_equal(zk_path_parent_len("/a/b", 4), 2);
	assert_int_equal(zk_path_parent_len("/abc/def/g", 10), 8);
	assert_int_equal(zk_path_parent_len("/", 1), 1);
}

static void test_digest_consistency(void **state)
{
	struct fx *f = *state;
	uint64_t d0 = f->t.digest;
	/* Nodes below /zookeeper/ are not digested, but /zookeeper itself is (its stat moves). */
	assert_int_equal(mk(f, "/zookeeper/x", "data", 0, 1), ZOK);
	assert_true(recompute_digest(&f->t) == f->t.digest);
	assert_true(f->t.digest != d0);
	assert_int_equal(rm(f, "/zookeeper/x", 2), ZOK);
	assert_true(recompute_digest(&f->t) == f->t.digest);

	/* A sequence of ops, checked after each. */
	const char *paths[] = {"/a", "/a/b", "/a/b/c", "/q", "/a/e"};
	for (int i = 0; i < 5; i++) {
		assert_int_equal(mk(f, paths[i], i % 2 ? "odd" : NULL, i == 4 ? S1 : 0, 10 + i), ZOK);
		assert_true(recompute_digest(&f->t) == f->t.digest);
	}
	assert_int_equal(zk_dtree_set_data(&f->t, "/a/b", 4, (const uint8_t *)"new", 3, 1, 20, T0), ZOK);
	assert_true(recompute_digest(&f->t) == f->t.digest);
	struct zk_acl_list *ro = zk_aclcache_intern(&f->t.acls, read_acl, sizeof(read_acl));
	assert_int_equal(zk_dtree_set_acl(&f->t, "/q", 2, ro, 1), ZOK);
	zk_aclcache_release(&f->t.acls, ro);
	assert_true(recompute_digest(&f->t) == f->t.digest);
	zk_dtree_kill_session(&f->t, S1, 21);
	assert_true(recompute_digest(&f->t) == f->t.digest);
	assert_int_equal(rm(f, "/a/b/c", 22), ZOK);
	assert_true(recompute_digest(&f->t) == f->t.digest);

	/* Create + delete of a leaf that leaves the parent's stat alone (a replayed create with the
	 * current parentCVersion, a delete with an older zxid) returns the digest exactly. */
	uint64_t before = f->t.digest;
	struct zk_node *q = get(f, "/q");
	assert_int_equal(zk_dtree_create(&f->t, "/q/tmp", 6, (const uint8_t *)"zz", 2, f->acl, 0, q->stat.cversion,
					 30, T0 + 30),
			 ZOK);
	assert_true(f->t.digest != before);
	assert_int_equal(zk_dtree_delete(&f->t, "/q/tmp", 6, 0), ZOK);
	assert_true(f->t.digest == before);
	/* setData to the same bytes, version, zxid and time: the same digest. */
	struct zk_node *ab = get(f, "/a/b");
	struct zk_pstat st = ab->stat;
	assert_int_equal(zk_dtree_set_data(&f->t, "/a/b", 4, (const uint8_t *)"tmp", 3, 9, 31, T0), ZOK);
	assert_true(f->t.digest != before);
	assert_int_equal(zk_dtree_set_data(&f->t, "/a/b", 4, (const uint8_t *)"new", 3, st.version, st.mzxid, st.mtime),
			 ZOK);
	assert_true(f->t.digest == before);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc_and_adler_vectors),
		cmocka_unit_test(test_path_parent_len),
		T(test_builtin_nodes),
		T(test_create_and_stats),
		T(test_parent_cversion_argument),
		T(test_reported_cversion),
		T(test_delete_set_data_set_acl),
		T(test_events),
		T(test_ephemerals_and_kill_session),
		T(test_kill_session_with_undeletable_ephemeral),
		T(test_containers_and_ttl),
		T(test_count_descendants_deep),
		T(test_count_descendants_wide),
		T(test_digest_consistency),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
