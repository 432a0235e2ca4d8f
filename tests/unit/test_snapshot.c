/* Snapshot format (common/snapshot.c): a database with every node kind round trips (tree,
 * stats, ACL ids, ephemeral/container/TTL lists, sessions, digest) and writes back byte for
 * byte; a fresh database's snapshot.0 is the one a live ZooKeeper 3.8.0 wrote; every
 * truncation and every changed byte is refused with the database untouched; hostile lengths,
 * counts, paths and ACL ids are refused; the SNAP wire form; file names and the purge rule.
 * Over 1000 lines because the hand-made hostile streams are spelled out one case at a time;
 * it stays one executable per module (architecture.md section 5). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc32.h"
#include "errors.h"
#include "jute.h"
#include "proto.h"
#include "snapshot.h"
#include "txn.h"
#include "zmalloc.h"

#define T0 1700000000000LL
#define S1 0x1000057f1ab0000LL
#define S2 0x1000057f1ab0001LL
#define S3 0x2000057f1ab0002LL
#define TTL_MS 3600000LL

/* snapshot.0 of a fresh standalone ZooKeeper 3.8.0 (Debian package), 457 bytes. */
static const char apache_snapshot0_hex[] =
	"5a4b534e00000002ffffffffffffffff00000000000000010000000000000001"
	"000000010000000100000005776f726c6400000006616e796f6e650000000000"
	"000000ffffffffffffffff000000000000000000000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"000000000000000000000a2f7a6f6f6b656570657200000000ffffffffffffff"
	"ff00000000000000000000000000000000000000000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"112f7a6f6f6b65657065722f636f6e6669670000000000000000000000010000"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"000000000000ffffffff00000000000000000000000000000000000000102f7a"
	"6f6f6b65657065722f71756f746100000000ffffffffffffffff000000000000"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"00000000000000000000000000000000000000000000000000012f00000000b8"
	"a23b49000000012f000000000000000000000002000000000000000000000000"
	"95b93d59000000012f";

static size_t unhex(const char *h, uint8_t *out)
{
	size_t n = strlen(h) / 2;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		sscanf(h + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
	return n;
}

/* ---- sinks ---- */

static int wbuf_sink(void *ctx, const void *p, size_t n)
{
	struct zk_wbuf *w = ctx;
	zk_jw_raw(w, p, n);
	return w->err;
}

struct limited {
	size_t left;
	unsigned calls_after_error;
	bool failed;
};

static int limited_sink(void *ctx, const void *p, size_t n)
{
	(void)p;
	struct limited *l = ctx;
	if (l->failed)
		l->calls_after_error++;
	if (n > l->left) {
		l->failed = true;
		return ZK_ENOSPC;
	}
	l->left -= n;
	return 0;
}

static void snap(const struct zk_db *db, int64_t zxid, unsigned flags, struct zk_wbuf *out)
{
	zk_wbuf_init(out);
	assert_int_equal(zk_snap_write(db, zxid, flags, wbuf_sink, out), 0);
	assert_int_equal(out->err, 0);
}

/* ---- building a database ---- */

/* "31 world anyone; 1 digest bob:x" -> an interned list (the caller's reference). */
static struct zk_acl_list *acl(struct zk_db *db, const char *spec)
{
	struct zk_wbuf w;
	zk_wbuf_init(&w);
	char buf[512];
	snprintf(buf, sizeof(buf), "%s", spec);
	int32_t n = 0;
	zk_jw_int(&w, 0);
	for (char *save = NULL, *e = strtok_r(buf, ";", &save); e; e = strtok_r(NULL, ";", &save)) {
		int perms;
		char scheme[64], id[256];
		assert_int_equal(sscanf(e, "%d %63s %255s", &perms, scheme, id), 3);
		zk_jw_int(&w, perms);
		zk_jw_cstr(&w, scheme);
		zk_jw_cstr(&w, id);
		n++;
	}
	zk_put_be32(w.p, (uint32_t)n);
	struct zk_acl_list *l = zk_aclcache_intern(&db->tree.acls, w.p, w.len);
	assert_non_null(l);
	zk_wbuf_fini(&w);
	return l;
}

static void mkd(struct zk_db *db, const char *path, const uint8_t *data, int32_t len, struct zk_acl_list *a,
                int64_t owner)
{
	int64_t z = ++db->last_zxid;
	assert_int_equal(zk_dtree_create(&db->tree, path, strlen(path), data, len, a, owner, -1, z, T0 + z), ZOK);
}

static void mk(struct zk_db *db, const char *path, const char *data, struct zk_acl_list *a, int64_t owner)
{
	mkd(db, path, (const uint8_t *)data, data ? (int32_t)strlen(data) : -1, a, owner);
}

#define DEEP 300
#define MANY 1000

/* Every node kind, several ACL lists (digest ones too), null and empty data, a deep path, a
 * parent with 1000 children, a node bigger than the writer's chunk, sessions. */
static void build(struct zk_db *db)
{
	assert_int_equal(zk_db_init(db, 2000, 1, 0), 0);
	assert_non_null(zk_sessions_add(&db->sessions, S1, 30000, 0));
	assert_non_null(zk_sessions_add(&db->sessions, S2, 4000, 0));
	assert_non_null(zk_sessions_add(&db->sessions, S3, 40000, 0));
	struct zk_acl_list *open = acl(db, "31 world anyone");
	struct zk_acl_list *ro = acl(db, "1 world anyone");
	struct zk_acl_list *dig = acl(db, "31 digest bob:ikIaKsbtGweaHnb/jKn7OHqbunM=;1 world anyone");
	struct zk_acl_list *dig2 = acl(db, "3 digest alice:AbCdEfGhIjKlMnOpQrStUvWxYz0=;16 digest bob:ikIaKsbtGweaHnb/jKn7OHqbunM=");
	struct zk_acl_list *ip = acl(db, "31 ip 127.0.0.1;1 ip 10.0.0.0/8");
	mk(db, "/app", "v1", open, 0);
	mk(db, "/app/empty", "", open, 0);
	mk(db, "/app/null", NULL, open, 0);
	mk(db, "/app/eph", "e2", open, S2);
	mk(db, "/eph", "e1", open, S1);
	mk(db, "/eph2", NULL, ro, S1);
	mk(db, "/cont", "c", open, ZK_OWNER_CONTAINER);
	mk(db, "/cont/kid", "k", open, 0);
	mk(db, "/ttl", "t", open, ZK_OWNER_TTL_MASK | TTL_MS);
	mk(db, "/ttl/kid", "tk", dig, 0);
	mk(db, "/sec", "secret", dig, 0);
	mk(db, "/sec2", "secret2", dig2, 0);
	mk(db, "/ip", "ip", ip, 0);
	mk(db, "/builtin-open", "x", db->tree.open_acl, 0); /* acl id -1, as ZooKeeper's built-ins */
	char path[DEEP * 8];
	size_t len = 0;
	for (int i = 0; i < DEEP; i++) {
		len += (size_t)snprintf(path + len, sizeof(path) - len, "/d%d", i);
		mk(db, path, i % 2 ? "odd" : NULL, open, 0);
	}
	mk(db, "/many", NULL, open, 0);
	for (int i = 0; i < MANY; i++) {
		char p[32], d[64];
		snprintf(p, sizeof(p), "/many/c%04d", i);
		snprintf(d, sizeof(d), "data-%d", i * 7919);
		mk(db, p, i % 10 ? d : "", i % 3 ? open : dig, i == 500 ? S3 : 0);
	}
	size_t big_len = 3 * ZK_SNAP_CHUNK_BYTES + 17;
	uint8_t *big = malloc(big_len);
	for (size_t i = 0; i < big_len; i++)
		big[i] = (uint8_t)(i * 31 + 7);
	mkd(db, "/big", big, (int32_t)big_len, open, 0);
	free(big);
	int64_t z = ++db->last_zxid;
	assert_int_equal(zk_dtree_set_data(&db->tree, "/app", 4, (const uint8_t *)"v2", 2, 1, z, T0 + z), ZOK);
	z = ++db->last_zxid;
	assert_int_equal(zk_dtree_set_data(&db->tree, "/app", 4, (const uint8_t *)"v3", 2, 2, z, T0 + z), ZOK);
	assert_int_equal(zk_dtree_set_acl(&db->tree, "/app/empty", 10, ro, 1), ZOK);
	assert_int_equal(zk_dtree_set_acl(&db->tree, "/", 1, dig, 1), ZOK); /* the root off the open list */
	z = ++db->last_zxid;
	assert_int_equal(zk_dtree_delete(&db->tree, "/many/c0007", 11, z), ZOK);
	/* Only nodes hold references from here on, as in a server. */
	zk_aclcache_release(&db->tree.acls, open);
	zk_aclcache_release(&db->tree.acls, ro);
	zk_aclcache_release(&db->tree.acls, dig);
	zk_aclcache_release(&db->tree.acls, dig2);
	zk_aclcache_release(&db->tree.acls, ip);
}

static bool pstat_equal(const struct zk_pstat *a, const struct zk_pstat *b)
{
	return a->czxid == b->czxid && a->mzxid == b->mzxid && a->ctime == b->ctime && a->mtime == b->mtime &&
	       a->version == b->version && a->cversion == b->cversion && a->aversion == b->aversion &&
	       a->ephemeral_owner == b->ephemeral_owner && a->pzxid == b->pzxid;
}

static uint32_t list_len(const struct zk_node *head)
{
	uint32_t n = 0;
	for (const struct zk_node *x = head; x; x = x->kind_next)
		n++;
	return n;
}

static void assert_same_db(const struct zk_db *a, const struct zk_db *b)
{
	assert_int_equal(a->tree.node_count, b->tree.node_count);
	assert_int_equal(a->tree.data_bytes, b->tree.data_bytes);
	assert_true(a->tree.digest == b->tree.digest);
	assert_int_equal(a->last_zxid, b->last_zxid);
	for (const struct zk_node *n = a->tree.nodes; n; n = n->hh.next) {
		const struct zk_node *m = zk_dtree_get(&b->tree, n->path, n->path_len);
		assert_non_null(m);
		assert_int_equal(n->data_len, m->data_len);
		if (n->data_len > 0)
			assert_memory_equal(n->data, m->data, (size_t)n->data_len);
		assert_true(pstat_equal(&n->stat, &m->stat));
		assert_int_equal(n->digest, m->digest);
		assert_int_equal(zk_node_num_children(n), zk_node_num_children(m));
		assert_true((n->parent == NULL) == (m->parent == NULL));
		if (n->parent)
			assert_string_equal(n->parent->path, m->parent->path);
		assert_int_equal(n->acl->id, m->acl->id);
		assert_int_equal(n->acl->nbytes, m->acl->nbytes);
		assert_memory_equal(n->acl->bytes, m->acl->bytes, n->acl->nbytes);
		assert_int_equal(n->acl->world_perms, m->acl->world_perms);
	}
	assert_int_equal(zk_aclcache_count(&a->tree.acls), zk_aclcache_count(&b->tree.acls));
	for (const struct zk_acl_list *l = a->tree.acls.by_id; l; l = l->hh_id.next) {
		const struct zk_acl_list *k = zk_aclcache_find_id(&b->tree.acls, l->id);
		assert_non_null(k);
		assert_int_equal(l->refs, k->refs); /* one per node using it */
	}
	assert_int_equal(a->tree.acls.next_id, b->tree.acls.next_id);
	assert_int_equal(list_len(a->tree.containers), list_len(b->tree.containers));
	assert_int_equal(list_len(a->tree.ttls), list_len(b->tree.ttls));
	assert_int_equal(HASH_CNT(hh, a->tree.ephemerals), HASH_CNT(hh, b->tree.ephemerals));
	for (const struct zk_eph_set *e = a->tree.ephemerals; e; e = e->hh.next) {
		const struct zk_eph_set *f = zk_dtree_ephemerals(&b->tree, e->session_id);
		assert_non_null(f);
		assert_int_equal(e->count, f->count);
		assert_int_equal(list_len(e->head), list_len(f->head));
	}
	assert_int_equal(zk_sessions_count(&a->sessions), zk_sessions_count(&b->sessions));
	for (const struct zk_session *x = a->sessions.by_id; x; x = x->hh.next) {
		const struct zk_session *y = zk_sessions_get(&b->sessions, x->id);
		assert_non_null(y);
		assert_int_equal(x->timeout_ms, y->timeout_ms);
	}
}

/* A db as zk_db_init leaves it: what a failed load must not have changed. */
static void assert_fresh(const struct zk_db *db)
{
	assert_int_equal(db->tree.node_count, 4);
	assert_non_null(zk_dtree_get(&db->tree, "/zookeeper/config", 17));
	assert_int_equal(zk_sessions_count(&db->sessions), 0);
	assert_int_equal(db->last_zxid, 0);
}

/* ---- round trips ---- */

static void test_round_trip(void **state)
{
	(void)state;
	struct zk_db a, b;
	build(&a);
	struct zk_wbuf s1, s2;
	snap(&a, a.last_zxid, 0, &s1);
	assert_int_equal(zk_db_init(&b, 2000, 1, 0), 0);
	struct zk_snap_info info;
	char err[256];
	int rc = zk_snap_load(&b, s1.p, s1.len, a.last_zxid, 0, &info, err, sizeof(err));
	assert_int_equal(rc, 0);
	assert_string_equal(err, "");
	assert_string_equal(info.warning, "");
	assert_int_equal(info.zxid, a.last_zxid);
	assert_int_equal(info.nodes, a.tree.node_count);
	assert_int_equal(info.sessions, 3);
	assert_int_equal(info.acl_lists, zk_aclcache_count(&a.tree.acls));
	assert_true(info.has_digest);
	assert_int_equal(info.digest_zxid, a.last_zxid);
	assert_int_equal(info.digest_version, 2);
	assert_true((uint64_t)info.digest == a.tree.digest);
	assert_int_equal(info.digest_check, ZK_SNAP_DIGEST_MATCH);
	assert_int_equal(info.bytes_used, s1.len);
	assert_same_db(&a, &b);
	/* Write, load, write: the same bytes. */
	snap(&b, b.last_zxid, 0, &s2);
	assert_int_equal(s1.len, s2.len);
	assert_memory_equal(s1.p, s2.p, s1.len);
	/* The loaded tree works: the ephemerals of S1 go with it, the TTL node is found. */
	zk_dtree_kill_session(&b.tree, S1, b.last_zxid + 1);
	assert_null(zk_dtree_ephemerals(&b.tree, S1));
	assert_null(zk_dtree_get(&b.tree, "/eph", 4));
	assert_non_null(b.tree.ttls);
	assert_string_equal(b.tree.ttls->path, "/ttl");
	assert_string_equal(b.tree.containers->path, "/cont");
	zk_wbuf_fini(&s1);
	zk_wbuf_fini(&s2);
	zk_db_fini(&a);
	zk_db_fini(&b);
}

/* A fresh database's snapshot.0 is Apache's, byte for byte, and Apache's loads. */
static void test_apache_snapshot0(void **state)
{
	(void)state;
	uint8_t ref[512];
	size_t n = unhex(apache_snapshot0_hex, ref);
	assert_int_equal(n, 457);
	struct zk_db db;
	assert_int_equal(zk_db_init(&db, 2000, 1, 0), 0);
	struct zk_wbuf w;
	snap(&db, 0, 0, &w);
	assert_int_equal(w.len, n);
	assert_memory_equal(w.p, ref, n);
	zk_wbuf_fini(&w);
	uint64_t fresh_digest = db.tree.digest;

	struct zk_snap_info info;
	char err[256];
	assert_int_equal(zk_snap_load(&db, ref, n, 0, 0, &info, err, sizeof(err)), 0);
	assert_int_equal(info.nodes, 4);
	assert_true(info.has_digest);
	assert_int_equal(info.digest_zxid, 0);
	assert_int_equal(info.digest_check, ZK_SNAP_DIGEST_NONE); /* zxid 0: a placeholder */
	assert_true(db.tree.digest == fresh_digest);
	const struct zk_node *cfg = zk_dtree_get(&db.tree, "/zookeeper/config", 17);
	assert_non_null(cfg);
	assert_int_equal(cfg->stat.aversion, -1);
	assert_int_equal(cfg->acl->id, 1);
	assert_int_equal(cfg->acl->world_perms, 1);
	assert_int_equal(zk_dtree_get(&db.tree, "/", 1)->acl->id, -1);
	assert_ptr_equal(zk_dtree_get(&db.tree, "/", 1)->acl, db.tree.open_acl);
	snap(&db, 0, 0, &w);
	assert_memory_equal(w.p, ref, n);
	zk_wbuf_fini(&w);
	zk_db_fini(&db);
}

static void test_wire(void **state)
{
	(void)state;
	struct zk_db a, b;
	build(&a);
	struct zk_wbuf w;
	snap(&a, a.last_zxid, ZK_SNAP_WIRE, &w);
	size_t body = w.len;
	assert_memory_equal(w.p + body - 14, "\0\0\0\x0a" "BenWasHere", 14);
	zk_jw_raw(&w, "NEXTPACKET", 10); /* what follows on the link is not ours */
	assert_int_equal(zk_db_init(&b, 2000, 1, 0), 0);
	struct zk_snap_info info;
	char err[256];
	assert_int_equal(zk_snap_load(&b, w.p, w.len, a.last_zxid, ZK_SNAP_WIRE, &info, err, sizeof(err)), 0);
	assert_int_equal(info.bytes_used, body);
	assert_false(info.has_digest);
	assert_same_db(&a, &b);
	zk_db_fini(&b);
	/* Every prefix is "need more" (ZK_ESHORT). */
	assert_int_equal(zk_db_init(&b, 2000, 1, 0), 0);
	for (size_t k = 0; k < body; k += (k < 4096 || body - k < 64) ? 1 : 9973)
		assert_int_equal(zk_snap_load(&b, w.p, k, 1, ZK_SNAP_WIRE, NULL, err, sizeof(err)), ZK_ESHORT);
	assert_fresh(&b);
	w.p[body - 1] = 'X';
	assert_int_equal(zk_snap_load(&b, w.p, w.len, 1, ZK_SNAP_WIRE, NULL, err, sizeof(err)), ZK_EINVAL);
	assert_non_null(strstr(err, "BenWasHere"));
	zk_wbuf_fini(&w);
	zk_db_fini(&a);
	zk_db_fini(&b);
}

/* zookeeper.digest.enabled=false: no digest block; the loader reads both forms. */
static void test_no_digest(void **state)
{
	(void)state;
	struct zk_db a, b;
	build(&a);
	struct zk_wbuf w, full;
	snap(&a, a.last_zxid, ZK_SNAP_NO_DIGEST, &w);
	snap(&a, a.last_zxid, 0, &full);
	assert_int_equal(full.len, w.len + 8 + 4 + 8 + 8 + 5);
	assert_memory_equal(full.p, w.p, w.len);
	assert_int_equal(zk_db_init(&b, 2000, 1, 0), 0);
	struct zk_snap_info info;
	assert_int_equal(zk_snap_load(&b, w.p, w.len, a.last_zxid, 0, &info, NULL, 0), 0);
	assert_false(info.has_digest);
	assert_int_equal(info.digest_check, ZK_SNAP_DIGEST_NONE);
	assert_same_db(&a, &b);
	zk_wbuf_fini(&w);
	zk_wbuf_fini(&full);
	zk_db_fini(&a);
	zk_db_fini(&b);
}

/* A small snapshot for the exhaustive byte tests. */
static void build_small(struct zk_db *db)
{
	assert_int_equal(zk_db_init(db, 2000, 1, 0), 0);
	assert_non_null(zk_sessions_add(&db->sessions, S1, 30000, 0));
	struct zk_acl_list *open = acl(db, "31 world anyone");
	struct zk_acl_list *dig = acl(db, "31 digest bob:ikIaKsbtGweaHnb/jKn7OHqbunM=");
	mk(db, "/a", "hello", open, 0);
	mk(db, "/a/e", NULL, dig, S1);
	mk(db, "/c", "", open, ZK_OWNER_CONTAINER);
	zk_aclcache_release(&db->tree.acls, open);
	zk_aclcache_release(&db->tree.acls, dig);
}

static void test_truncation(void **state)
{
	(void)state;
	struct zk_db a, b;
	build_small(&a);
	struct zk_wbuf w, nd;
	snap(&a, a.last_zxid, 0, &w);
	snap(&a, a.last_zxid, ZK_SNAP_NO_DIGEST, &nd);
	size_t seal1_end = nd.len;
	assert_int_equal(zk_db_init(&b, 2000, 1, 0), 0);
	char err[256];
	for (size_t k = 0; k < w.len; k++) {
		struct zk_snap_info info;
		int rc = zk_snap_load(&b, w.p, k, a.last_zxid, 0, &info, err, sizeof(err));
		if (k == seal1_end) { /* a whole snapshot without digest, as ZooKeeper reads it */
			assert_int_equal(rc, 0);
			assert_false(info.has_digest);
			zk_db_fini(&b);
			assert_int_equal(zk_db_init(&b, 2000, 1, 0), 0);
			continue;
		}
		if (rc != ZK_ESHORT)
			fail_msg("prefix %zu of %zu: rc %d (%s)", k, w.len, rc, err);
		assert_non_null(strstr(err, "ends early"));
		assert_fresh(&b);
	}
	zk_wbuf_fini(&w);
	zk_wbuf_fini(&nd);
	zk_db_fini(&a);
	zk_db_fini(&b);
}

/* Adler-32 sees every single-byte change; the header and seals are checked directly. */
static void test_flipped_bytes(void **state)
{
	(void)state;
	struct zk_db a, b;
	build_small(&a);
	assert_int_equal(zk_db_init(&b, 2000, 1, 0), 0);
	for (unsigned flags = 0; flags <= ZK_SNAP_NO_DIGEST; flags += ZK_SNAP_NO_DIGEST) {
		struct zk_wbuf w;
		snap(&a, a.last_zxid, flags, &w);
		static const uint8_t masks[] = {0x01, 0x80, 0xff};
		for (size_t i = 0; i < w.len; i++) {
			for (size_t m = 0; m < sizeof(masks); m++) {
				w.p[i] ^= masks[m];
				char err[256];
				int rc = zk_snap_load(&b, w.p, w.len, a.last_zxid, 0, NULL, err, sizeof(err));
				if (rc == 0)
					fail_msg("byte %zu ^ 0x%02x accepted", i, masks[m]);
				assert_fresh(&b);
				w.p[i] ^= masks[m];
			}
		}
		assert_int_equal(zk_snap_load(&b, w.p, w.len, a.last_zxid, 0, NULL, NULL, 0), 0);
		zk_db_fini(&b);
		assert_int_equal(zk_db_init(&b, 2000, 1, 0), 0);
		zk_wbuf_fini(&w);
	}
	zk_db_fini(&a);
	zk_db_fini(&b);
}

/* ---- hand-made streams ---- */

static void h_begin(struct zk_wbuf *w)
{
	zk_wbuf_init(w);
	zk_jw_int(w, ZK_SNAP_MAGIC);
	zk_jw_int(w, 2);
	zk_jw_long(w, -1);
}

static void h_node(struct zk_wbuf *w, const char *path, int32_t data_len, int64_t acl_id, int64_t owner)
{
	static const uint8_t data[64] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde";
	if (path)
		zk_jw_cstr(w, path);
	else
		zk_jw_int(w, -1);
	if (data_len > (int32_t)sizeof(data) || data_len < -1)
		zk_jw_int(w, data_len); /* a lying length */
	else
		zk_jw_buffer(w, data, data_len);
	zk_jw_long(w, acl_id);
	uint8_t st[60] = {0};
	zk_put_be64(st + 0, 5);
	zk_put_be64(st + 44, (uint64_t)owner);
	zk_jw_raw(w, st, sizeof(st));
}

static void h_builtins(struct zk_wbuf *w)
{
	h_node(w, "", 0, -1, 0);
	h_node(w, "/zookeeper", 0, -1, 0);
	h_node(w, "/zookeeper/config", 0, -1, 0);
	h_node(w, "/zookeeper/quota", 0, -1, 0);
}

static void h_seal(struct zk_wbuf *w)
{
	zk_jw_long(w, (int64_t)zk_adler32(w->p, w->len));
	zk_jw_cstr(w, "/");
}

/* Terminator, seal, digest {zxid, version, digest}, seal. */
static void h_end_digest(struct zk_wbuf *w, int64_t zxid, int64_t digest)
{
	zk_jw_cstr(w, "/");
	h_seal(w);
	zk_jw_long(w, zxid);
	zk_jw_int(w, 2);
	zk_jw_long(w, digest);
	h_seal(w);
}

static void h_end(struct zk_wbuf *w) { h_end_digest(w, 0, 0); }

static void h_acl(struct zk_wbuf *w, int64_t id, int32_t perms, const char *scheme, const char *ident)
{
	zk_jw_long(w, id);
	zk_jw_int(w, 1);
	zk_jw_int(w, perms);
	zk_jw_cstr(w, scheme);
	zk_jw_cstr(w, ident);
}

static int h_load(struct zk_wbuf *w, struct zk_db *db, struct zk_snap_info *info, char *err, size_t err_len)
{
	int rc = zk_snap_load(db, w->p, w->len, 9, 0, info, err, err_len);
	zk_wbuf_fini(w);
	return rc;
}

struct hostile {
	const char *name;
	int want;
	const char *err_has;
};

static void build_hostile(int i, struct zk_wbuf *w)
{
	h_begin(w);
	switch (i) {
	case 0: /* negative session count */
		zk_jw_int(w, -1);
		break;
	case 1: /* a session count far beyond the bytes */
		zk_jw_int(w, 0x7fffffff);
		zk_jw_long(w, S1);
		zk_jw_int(w, 30000);
		break;
	case 2: /* negative ACL cache size */
		zk_jw_int(w, 0);
		zk_jw_int(w, -7);
		break;
	case 3: /* ACL cache size beyond the bytes */
		zk_jw_int(w, 0);
		zk_jw_int(w, 0x40000000);
		h_acl(w, 1, 31, "world", "anyone");
		break;
	case 32: /* a negative ACL vector count */
		zk_jw_int(w, 0);
		zk_jw_int(w, 1);
		zk_jw_long(w, 1);
		zk_jw_int(w, -2);
		break;
	case 4: /* an ACL vector count beyond the bytes */
		zk_jw_int(w, 0);
		zk_jw_int(w, 1);
		zk_jw_long(w, 1);
		zk_jw_int(w, 0x7fffffff);
		break;
	case 5: /* a null ACL vector */
		zk_jw_int(w, 0);
		zk_jw_int(w, 1);
		zk_jw_long(w, 1);
		zk_jw_int(w, -1);
		break;
	case 6: /* a negative ACL id */
		zk_jw_int(w, 0);
		zk_jw_int(w, 1);
		h_acl(w, -1, 31, "world", "anyone");
		break;
	case 7: /* one ACL id twice */
		zk_jw_int(w, 0);
		zk_jw_int(w, 2);
		h_acl(w, 3, 31, "world", "anyone");
		h_acl(w, 3, 1, "world", "anyone");
		break;
	case 8: /* an ACL scheme length beyond the bytes */
		zk_jw_int(w, 0);
		zk_jw_int(w, 1);
		zk_jw_long(w, 1);
		zk_jw_int(w, 1);
		zk_jw_int(w, 31);
		zk_jw_int(w, 0x7ffffff0);
		break;
	default:
		zk_jw_int(w, 0);
		zk_jw_int(w, 0);
		break;
	}
	switch (i) {
	case 9: /* the first node is not the root */
		h_node(w, "/zookeeper", 0, -1, 0);
		break;
	case 10: /* a null path */
		h_node(w, "", 0, -1, 0);
		h_node(w, NULL, 0, -1, 0);
		break;
	case 11: /* a path length beyond the bytes */
		h_node(w, "", 0, -1, 0);
		zk_jw_int(w, 0x7fffffff);
		zk_jw_raw(w, "/x", 2);
		break;
	case 12: /* a negative path length */
		h_node(w, "", 0, -1, 0);
		zk_jw_int(w, -5);
		break;
	case 13: /* a negative data length */
		h_builtins(w);
		h_node(w, "/x", -2, -1, 0);
		break;
	case 14: /* a data length beyond the bytes */
		h_builtins(w);
		h_node(w, "/x", 0x7ffffff0, -1, 0);
		break;
	case 15: /* an unknown ACL id */
		h_builtins(w);
		h_node(w, "/x", 1, 42, 0);
		break;
	case 16: /* a child before its parent */
		h_builtins(w);
		h_node(w, "/x/y", 1, -1, 0);
		h_node(w, "/x", 1, -1, 0);
		break;
	case 17: /* a node twice */
		h_builtins(w);
		h_node(w, "/x", 1, -1, 0);
		h_node(w, "/x", 2, -1, 0);
		break;
	case 18: /* a child under an ephemeral */
		h_builtins(w);
		h_node(w, "/e", 1, -1, S1);
		h_node(w, "/e/kid", 1, -1, 0);
		break;
	case 19: /* invalid paths */
		h_builtins(w);
		h_node(w, "/a//b", 1, -1, 0);
		break;
	case 20:
		h_builtins(w);
		h_node(w, "/a/", 1, -1, 0);
		break;
	case 21:
		h_builtins(w);
		h_node(w, "relative", 1, -1, 0);
		break;
	case 22:
		h_builtins(w);
		zk_jw_ustring(w, "/a\0b", 4);
		zk_jw_int(w, -1);
		zk_jw_long(w, -1);
		zk_jw_raw(w, (uint8_t[60]){0}, 60);
		break;
	case 23: /* a second root */
		h_builtins(w);
		h_node(w, "", 1, -1, 0);
		break;
	case 24: /* the node list never ends */
		h_builtins(w);
		break;
	case 25: /* no node at all */
		break;
	case 26: /* "/." is not a path */
		h_builtins(w);
		h_node(w, "/.", 1, -1, 0);
		break;
	default:
		if (i < 9 || i == 32)
			break;
		h_builtins(w);
		break;
	}
	switch (i) {
	case 24:
		return;
	case 27: /* bytes after the last seal */
		h_end(w);
		zk_jw_byte(w, 0);
		return;
	case 28: /* a seal not followed by "/" */
		zk_jw_cstr(w, "/");
		zk_jw_long(w, (int64_t)zk_adler32(w->p, w->len));
		zk_jw_cstr(w, "x");
		return;
	case 29: /* bad magic */
		w->p[0] = 'X';
		h_end(w);
		return;
	case 30: /* the digest block cut short */
		zk_jw_cstr(w, "/");
		h_seal(w);
		zk_jw_long(w, 9);
		zk_jw_int(w, 2);
		return;
	case 31: /* a seal whose checksum is wrong */
		zk_jw_cstr(w, "/");
		zk_jw_long(w, (int64_t)zk_adler32(w->p, w->len) + 1);
		zk_jw_cstr(w, "/");
		return;
	default:
		h_end(w);
	}
}

static const struct hostile hostiles[] = {
	{"negative session count", ZK_ERANGE, "session count"},
	{"session count", ZK_ESHORT, "ends early"},
	{"negative ACL count", ZK_ERANGE, "ACL cache size"},
	{"ACL count", ZK_ESHORT, "ends early"},
	{"ACL vector count", ZK_ESHORT, "ACL list"},
	{"null ACL vector", ZK_EINVAL, "null"},
	{"negative ACL id", ZK_EINVAL, "out of range"},
	{"ACL id twice", ZK_EINVAL, "twice"},
	{"ACL scheme length", ZK_ESHORT, "ACL list"},
	{"first not root", ZK_EINVAL, "root"},
	{"null path", ZK_EINVAL, "null node path"},
	{"path length", ZK_ESHORT, "node path"},
	{"negative path length", ZK_ERANGE, "node path"},
	{"negative data length", ZK_ERANGE, "node"},
	{"data length", ZK_ESHORT, "node"},
	{"unknown ACL id", ZK_EINVAL, "unknown ACL id 42"},
	{"child before parent", ZK_EINVAL, "parent"},
	{"node twice", ZK_EINVAL, "twice"},
	{"child of ephemeral", ZK_EINVAL, "ephemeral"},
	{"//", ZK_EINVAL, "invalid path"},
	{"trailing /", ZK_EINVAL, "invalid path"},
	{"relative", ZK_EINVAL, "invalid path"},
	{"NUL in path", ZK_EINVAL, "invalid path"},
	{"second root", ZK_EINVAL, "invalid path"},
	{"no terminator", ZK_ESHORT, "ends early"},
	{"no nodes", ZK_EINVAL, "no root"},
	{"/.", ZK_EINVAL, "invalid path"},
	{"trailing bytes", ZK_EINVAL, "after the last seal"},
	{"seal string", ZK_EINVAL, "not followed"},
	{"magic", ZK_EINVAL, "magic"},
	{"short digest", ZK_ESHORT, "digest"},
	{"bad checksum", ZK_EINVAL, "checksum"},
	{"negative ACL vector count", ZK_ERANGE, "count -2"},
};

static void test_hostile(void **state)
{
	(void)state;
	struct zk_db db;
	assert_int_equal(zk_db_init(&db, 2000, 1, 0), 0);
	for (int i = 0; i < (int)(sizeof(hostiles) / sizeof(hostiles[0])); i++) {
		struct zk_wbuf w;
		build_hostile(i, &w);
		char err[256];
		int rc = h_load(&w, &db, NULL, err, sizeof(err));
		if (rc != hostiles[i].want || !strstr(err, hostiles[i].err_has))
			fail_msg("case %d (%s): rc %d want %d, err \"%s\"", i, hostiles[i].name, rc, hostiles[i].want,
				 err);
		assert_fresh(&db);
	}
	zk_db_fini(&db);
}

/* Odd but loadable: two ids for one list, unused lists, missing built-ins, digests. */
static void test_lenient(void **state)
{
	(void)state;
	struct zk_db db;
	struct zk_snap_info info;
	char err[256];
	struct zk_wbuf w;

	/* Ids 4 and 6 hold equal lists (ZooKeeper keeps both); id 5 is used by no node. */
	assert_int_equal(zk_db_init(&db, 2000, 1, 0), 0);
	h_begin(&w);
	zk_jw_int(&w, 1);
	zk_jw_long(&w, S1);
	zk_jw_int(&w, 5000);
	zk_jw_int(&w, 3);
	h_acl(&w, 4, 31, "digest", "u:p");
	h_acl(&w, 5, 1, "world", "anyone");
	h_acl(&w, 6, 31, "digest", "u:p");
	h_builtins(&w);
	h_node(&w, "/x", 1, 4, 0);
	h_node(&w, "/y", 1, 6, S1);
	h_end(&w);
	assert_int_equal(h_load(&w, &db, &info, err, sizeof(err)), 0);
	const struct zk_node *x = zk_dtree_get(&db.tree, "/x", 2), *y = zk_dtree_get(&db.tree, "/y", 2);
	assert_ptr_equal(x->acl, y->acl);
	assert_int_equal(x->acl->refs, 2);
	assert_int_equal(zk_aclcache_count(&db.tree.acls), 1); /* 5 purged, 6 is 4 */
	assert_null(zk_aclcache_find_id(&db.tree.acls, 5));
	assert_int_equal(db.tree.acls.next_id, 7);
	assert_int_equal(zk_dtree_ephemerals(&db.tree, S1)->count, 1);
	assert_int_equal(zk_sessions_get(&db.sessions, S1)->timeout_ms, 5000);
	assert_int_equal(db.last_zxid, 9);
	assert_string_equal(info.warning, "");
	zk_db_fini(&db);

	/* Without /zookeeper/quota and /zookeeper/config: added as a fresh database has them. */
	assert_int_equal(zk_db_init(&db, 2000, 1, 0), 0);
	h_begin(&w);
	zk_jw_int(&w, 0);
	zk_jw_int(&w, 0);
	h_node(&w, "", 0, -1, 0);
	h_node(&w, "/zookeeper", 0, -1, 0);
	h_end(&w);
	assert_int_equal(h_load(&w, &db, &info, err, sizeof(err)), 0);
	assert_non_null(strstr(info.warning, "added missing /zookeeper/quota"));
	assert_non_null(strstr(info.warning, "added missing /zookeeper/config"));
	const struct zk_node *cfg = zk_dtree_get(&db.tree, "/zookeeper/config", 17);
	assert_non_null(cfg);
	assert_int_equal(cfg->stat.aversion, -1);
	assert_int_equal(cfg->acl->world_perms, 1);
	assert_int_equal(cfg->acl->refs, 1);
	zk_db_fini(&db);

	/* Digest: mismatch is a warning; a later digest zxid is deferred to the replay. */
	assert_int_equal(zk_db_init(&db, 2000, 1, 0), 0);
	h_begin(&w);
	zk_jw_int(&w, 0);
	zk_jw_int(&w, 0);
	h_builtins(&w);
	h_end(&w);
	assert_int_equal(h_load(&w, &db, &info, err, sizeof(err)), 0);
	int64_t good = (int64_t)db.tree.digest;
	zk_db_fini(&db);
	for (int k = 0; k < 4; k++) {
		assert_int_equal(zk_db_init(&db, 2000, 1, 0), 0);
		h_begin(&w);
		zk_jw_int(&w, 0);
		zk_jw_int(&w, 0);
		h_builtins(&w);
		h_end_digest(&w, k == 2 ? 12 : k == 3 ? 3 : 9, k == 1 ? good + 1 : good);
		assert_int_equal(h_load(&w, &db, &info, err, sizeof(err)), 0);
		switch (k) {
		case 0:
			assert_int_equal(info.digest_check, ZK_SNAP_DIGEST_MATCH);
			break;
		case 1:
			assert_int_equal(info.digest_check, ZK_SNAP_DIGEST_MISMATCH);
			assert_non_null(strstr(info.warning, "digest mismatch"));
			break;
		case 2:
			assert_int_equal(info.digest_check, ZK_SNAP_DIGEST_DEFERRED);
			assert_int_equal(zk_snap_digest_at(&info, 10, db.tree.digest), ZK_SNAP_DIGEST_NONE);
			assert_int_equal(zk_snap_digest_at(&info, 12, db.tree.digest + 1), ZK_SNAP_DIGEST_MISMATCH);
			assert_int_equal(zk_snap_digest_at(&info, 12, db.tree.digest), ZK_SNAP_DIGEST_NONE);
			break;
		case 3: /* older than the snapshot: ignored, as ZooKeeper does */
			assert_int_equal(info.digest_check, ZK_SNAP_DIGEST_NONE);
			break;
		}
		zk_db_fini(&db);
	}

	/* A version-1 digest (a hex string), and an unknown zxid taken from the digest block. */
	assert_int_equal(zk_db_init(&db, 2000, 1, 0), 0);
	h_begin(&w);
	zk_jw_int(&w, 0);
	zk_jw_int(&w, 0);
	h_builtins(&w);
	zk_jw_cstr(&w, "/");
	h_seal(&w);
	zk_jw_long(&w, 0x33);
	zk_jw_int(&w, 1);
	char hex[32];
	snprintf(hex, sizeof(hex), "%llx", (unsigned long long)good);
	zk_jw_cstr(&w, hex);
	h_seal(&w);
	assert_int_equal(zk_snap_load(&db, w.p, w.len, -1, 0, &info, err, sizeof(err)), 0);
	zk_wbuf_fini(&w);
	assert_int_equal(db.last_zxid, 0x33);
	assert_int_equal(info.digest, good);
	assert_int_equal(info.digest_check, ZK_SNAP_DIGEST_OLD_VERSION);
	zk_db_fini(&db);
}

/* Every allocation of a load may fail: the load says ZK_ENOMEM and leaves the db as it was
 * (or, where the failure is absorbed, as a session bucket is, loads it all). */
static void test_alloc_failures(void **state)
{
	(void)state;
	struct zk_db a, b;
	build_small(&a);
	struct zk_wbuf w;
	snap(&a, a.last_zxid, 0, &w);
	assert_int_equal(zk_db_init(&b, 2000, 1, 0), 0);
	uint64_t before = zk_malloc_count();
	assert_int_equal(zk_snap_load(&b, w.p, w.len, a.last_zxid, 0, NULL, NULL, 0), 0);
	uint64_t allocs = zk_malloc_count() - before;
	assert_true(allocs > 10);
	unsigned enomem = 0;
	for (uint64_t k = 1; k <= allocs; k++) {
		zk_db_fini(&b);
		assert_int_equal(zk_db_init(&b, 2000, 1, 0), 0);
		zk_malloc_fail_after(k);
		int rc = zk_snap_load(&b, w.p, w.len, a.last_zxid, 0, NULL, NULL, 0);
		zk_malloc_fail_after(0);
		if (rc == ZK_ENOMEM) {
			enomem++;
			assert_fresh(&b);
		} else {
			assert_int_equal(rc, 0);
			assert_same_db(&a, &b);
		}
	}
	assert_true(enomem > 10);
	zk_wbuf_fini(&w);
	zk_db_fini(&a);
	zk_db_fini(&b);
}

/* The sink's error stops the writer at once and is returned. */
static void test_sink_error(void **state)
{
	(void)state;
	struct zk_db a;
	build(&a);
	for (size_t cap = 0; cap < 300000; cap = cap * 3 + 1000) {
		struct limited l = {cap, 0, false};
		assert_int_equal(zk_snap_write(&a, a.last_zxid, 0, limited_sink, &l), ZK_ENOSPC);
		assert_true(l.failed);
		assert_int_equal(l.calls_after_error, 0);
	}
	/* Chunks are at most ZK_SNAP_CHUNK_BYTES except big node data passed whole. */
	struct limited l = {SIZE_MAX, 0, false};
	assert_int_equal(zk_snap_write(&a, a.last_zxid, 0, limited_sink, &l), 0);
	zk_db_fini(&a);
}

static void test_names(void **state)
{
	(void)state;
	char name[ZK_SNAP_NAME_MAX];
	assert_int_equal(zk_snap_name_format(name, sizeof(name), 0), 10);
	assert_string_equal(name, "snapshot.0");
	zk_snap_name_format(name, sizeof(name), 0x1c);
	assert_string_equal(name, "snapshot.1c");
	zk_snap_name_format(name, sizeof(name), INT64_MAX);
	assert_string_equal(name, "snapshot.7fffffffffffffff");
	assert_int_equal(zk_snap_name_format(name, 12, 0x100000001LL), ZK_ENOSPC);
	assert_int_equal(zk_snap_name_format(name, sizeof(name), -1), ZK_EINVAL);
	int64_t z = -1;
	assert_int_equal(zk_snap_name_parse("snapshot.1c", &z), 0);
	assert_int_equal(z, 0x1c);
	assert_int_equal(zk_snap_name_parse("snapshot.100000001", &z), 0);
	assert_int_equal(z, 0x100000001LL);
	assert_int_equal(zk_snap_name_parse("snapshot.0", &z), 0);
	assert_int_equal(z, 0);
	assert_int_equal(zk_snap_name_parse("snapshot.7fffffffffffffff", &z), 0);
	assert_int_equal(zk_snap_name_parse("snapshot.2a.gz", &z), 1);
	assert_int_equal(z, 0x2a);
	assert_int_equal(zk_snap_name_parse("snapshot.2b.snappy", &z), 1);
	assert_int_equal(z, 0x2b);
	static const char *const bad[] = {"snapshot.", "snapshot.01", "snapshot.1C", "snapshot.1.bak", "snapshot.x",
					  "snapshot.8000000000000000", "snapshot.10000000000000000", "log.1",
					  "tmp.snapshot.1", "snapshot.1.tmp", "Snapshot.1", "snapshot.-1", ""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (zk_snap_name_parse(bad[i], &z) != ZK_EINVAL)
			fail_msg("%s parsed", bad[i]);
	/* The resumable Adler-32 agrees with the one-shot one across chunk boundaries. */
	static uint8_t buf[20000];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + 0xf0);
	uint32_t a = 1;
	for (size_t off = 0, step = 1; off < sizeof(buf); off += step, step = step * 3 + 1)
		a = zk_snap_adler32_update(a, buf + off, off + step > sizeof(buf) ? sizeof(buf) - off : step);
	assert_int_equal(a, zk_adler32(buf, sizeof(buf)));
	assert_true(zk_snap_tail_ok((const uint8_t *)"\0\0\0\1/", 457));
	assert_false(zk_snap_tail_ok((const uint8_t *)"\0\0\0\1/", 9));
	assert_false(zk_snap_tail_ok((const uint8_t *)"\0\0\0\2/", 457));
}

static void test_purge_cuts(void **state)
{
	(void)state;
	int64_t sc, lc;
	/* No snapshot: nothing goes. */
	zk_snap_purge_cuts(NULL, 0, (int64_t[]){1, 5}, 2, 3, &sc, &lc);
	assert_true(sc == INT64_MIN && lc == INT64_MIN);
	/* Fewer snapshots than kept: only logs older than the log holding the oldest snapshot's
	 * successors go. */
	zk_snap_purge_cuts((int64_t[]){0x10, 0x20}, 2, (int64_t[]){1, 0x8, 0x11, 0x25}, 4, 3, &sc, &lc);
	assert_int_equal(sc, 0x10);
	assert_int_equal(lc, 0x8);
	/* Keep 3 of 5: snapshots below 0x30 go; log 0x28 (started before 0x30) stays. */
	const int64_t snaps[] = {0x10, 0x20, 0x30, 0x40, 0x50};
	const int64_t logs[] = {0x1, 0x11, 0x21, 0x28, 0x31, 0x41, 0x51};
	zk_snap_purge_cuts(snaps, 5, logs, 7, 3, &sc, &lc);
	assert_int_equal(sc, 0x30);
	assert_int_equal(lc, 0x28);
	/* A log starting exactly at the snapshot's zxid is the one kept. */
	zk_snap_purge_cuts(snaps, 5, (int64_t[]){0x28, 0x30, 0x31}, 3, 3, &sc, &lc);
	assert_int_equal(lc, 0x30);
	/* No log at or before the oldest kept snapshot: all logs stay. */
	zk_snap_purge_cuts(snaps, 5, (int64_t[]){0x31, 0x41}, 2, 3, &sc, &lc);
	assert_true(lc == INT64_MIN);
	/* snapRetainCount below 3 counts as 3; a larger one keeps more. */
	zk_snap_purge_cuts(snaps, 5, logs, 7, 1, &sc, &lc);
	assert_int_equal(sc, 0x30);
	zk_snap_purge_cuts(snaps, 5, logs, 7, 4, &sc, &lc);
	assert_int_equal(sc, 0x20);
	assert_int_equal(lc, 0x11);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_apache_snapshot0),
		cmocka_unit_test(test_wire),
		cmocka_unit_test(test_no_digest),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_flipped_bytes),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_lenient),
		cmocka_unit_test(test_alloc_failures),
		cmocka_unit_test(test_sink_error),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_purge_cuts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
