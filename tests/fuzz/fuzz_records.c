/* Fuzz target: the record decoders and txn application, below the server.
 *
 * Input: byte 0 chooses the mode (mod 4), the rest is its data:
 *   0  request body: byte 1 picks an opcode (every request opcode, plus unknown ones), the rest
 *      goes through zk_req_decode; whatever decodes is walked (ACL and string vectors, path
 *      checks, ACL fix-up and interning)
 *   1  multi body: zk_multi_iter until it ends, each op walked as in mode 0
 *   2  ConnectRequest, then a Stat read from the same bytes
 *   3  txns: a sequence of (2-byte big-endian length, txn bytes) applied with zk_txn_apply to a
 *      scratch zk_db (init/fini per input); after each one the tree must be consistent: its
 *      digest equals a recomputation, node/ephemeral/container/TTL bookkeeping agrees
 * Every piece of input is copied into an exact-size heap block so over-reads are ASan's. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "crc32.h"
#include "dtree.h"
#include "errors.h"
#include "jute.h"
#include "path.h"
#include "proto.h"
#include "records.h"
#include "txn.h"

#define CHECK(c)                                                                                           \
	do {                                                                                               \
		if (!(c)) {                                                                                \
			fprintf(stderr, "fuzz_records: check failed: %s (%s:%d)\n", #c, __FILE__, __LINE__); \
			abort();                                                                           \
		}                                                                                          \
	} while (0)

static const int32_t ops[] = {
	ZK_OP_CREATE, ZK_OP_DELETE, ZK_OP_EXISTS, ZK_OP_GETDATA, ZK_OP_SETDATA, ZK_OP_GETACL, ZK_OP_SETACL,
	ZK_OP_GETCHILDREN, ZK_OP_SYNC, ZK_OP_PING, ZK_OP_GETCHILDREN2, ZK_OP_CHECK, ZK_OP_MULTI, ZK_OP_CREATE2,
	ZK_OP_RECONFIG, ZK_OP_CHECKWATCHES, ZK_OP_REMOVEWATCHES, ZK_OP_CREATECONTAINER, ZK_OP_DELETECONTAINER,
	ZK_OP_CREATETTL, ZK_OP_MULTIREAD, ZK_OP_AUTH, ZK_OP_SETWATCHES, ZK_OP_SASL, ZK_OP_GETEPHEMERALS,
	ZK_OP_GETALLCHILDRENNUMBER, ZK_OP_SETWATCHES2, ZK_OP_ADDWATCH, ZK_OP_WHOAMI, ZK_OP_CLOSESESSION,
	ZK_OP_CREATESESSION, ZK_OP_NOTIFICATION, ZK_OP_ERROR, 10, 23, 99, 108, INT32_MIN,
};
#define N_OPS (sizeof(ops) / sizeof(ops[0]))

static volatile uint32_t sink; /* keeps the byte walks */

static void touch(struct zk_bytes b)
{
	CHECK(b.len >= -1);
	if (b.len > 0) {
		CHECK(b.p != NULL);
		uint32_t s = 0;
		for (int32_t i = 0; i < b.len; i++)
			s += b.p[i];
		sink += s;
	}
}

static void walk_acl(const struct zk_acl_vec *v)
{
	static struct zk_auth auth;
	static bool init;
	if (!init) {
		zk_auth_init_ip(&auth, "10.1.2.3");
		CHECK(zk_auth_add(&auth, "digest", 6, (const uint8_t *)"bob:abc", 7, NULL, true) == ZOK);
		init = true;
	}
	struct zk_acl_iter it;
	struct zk_acl a;
	int32_t n = 0;
	zk_acl_iter_init(&it, v);
	while (zk_acl_iter_next(&it, &a)) {
		touch(a.scheme);
		touch(a.id);
		n++;
	}
	CHECK(it.r.err == 0); /* the vector was validated by the decoder */
	CHECK(n == (v->n < 0 ? 0 : v->n));
	struct zk_wbuf w;
	zk_wbuf_init(&w);
	zk_code rc = zk_acl_fixup(v, &auth, &w);
	CHECK(rc == ZOK || rc == ZINVALIDACL);
	if (rc == ZOK) {
		/* The canonical form is one non-empty vector<ACL> the cache accepts. */
		CHECK(w.len >= 4 && (int32_t)zk_get_be32(w.p) > 0);
		struct zk_aclcache c;
		zk_aclcache_init(&c);
		struct zk_acl_list *l = zk_aclcache_intern(&c, w.p, w.len);
		CHECK(l != NULL);
		CHECK(l->n == (int32_t)zk_get_be32(w.p));
		(void)zk_acl_check(l, ZK_PERM_READ | ZK_PERM_ADMIN, &auth, false);
		zk_aclcache_release(&c, l);
		CHECK(zk_aclcache_count(&c) == 0);
		zk_aclcache_fini(&c);
	}
	zk_wbuf_fini(&w);
}

static void walk_strs(const struct zk_str_vec *v)
{
	struct zk_str_iter it;
	struct zk_bytes s;
	int32_t n = 0;
	zk_str_iter_init(&it, v);
	while (zk_str_iter_next(&it, &s)) {
		touch(s);
		n++;
	}
	CHECK(it.r.err == 0);
	CHECK(n == (v->n < 0 ? 0 : v->n));
}

static void walk(const struct zk_req *q)
{
	touch(q->path);
	touch(q->data);
	touch(q->scheme);
	if (q->path.len >= 0) {
		const char *p = (const char *)q->path.p;
		size_t n = (size_t)q->path.len;
		bool valid = zk_path_valid(p, n);
		long parent = zk_path_parent(p, n);
		CHECK(parent <= (long)n);
		if (valid) {
			CHECK(n >= 1 && p[0] == '/');
			CHECK(n == 1 || parent >= 1);
		}
		(void)zk_path_special(p, n);
	}
	switch (q->op) {
	case ZK_OP_CREATE:
	case ZK_OP_CREATE2:
	case ZK_OP_CREATECONTAINER:
	case ZK_OP_CREATETTL:
	case ZK_OP_SETACL:
		walk_acl(&q->acl);
		break;
	case ZK_OP_SETWATCHES:
	case ZK_OP_SETWATCHES2:
		for (int i = 0; i < (q->op == ZK_OP_SETWATCHES ? 3 : 5); i++)
			walk_strs(&q->watches[i]);
		break;
	default:
		break;
	}
}

static uint8_t *dup_exact(const uint8_t *p, size_t n)
{
	uint8_t *d = malloc(n ? n : 1);
	CHECK(d);
	if (n)
		memcpy(d, p, n);
	return d;
}

static void mode_request(const uint8_t *data, size_t size)
{
	if (size < 1)
		return;
	int32_t op = ops[data[0] % N_OPS];
	uint8_t *p = dup_exact(data + 1, size - 1);
	struct zk_rbuf r;
	zk_rbuf_init(&r, p, size - 1, ZK_JUTE_MAXBUFFER_DEFAULT);
	struct zk_req q;
	int rc = zk_req_decode(op, &r, &q);
	CHECK(rc == 0 || rc == ZK_ESHORT || rc == ZK_ERANGE || rc == ZK_EINVAL);
	CHECK(r.pos <= r.len);
	if (rc == 0) {
		CHECK(q.op == op);
		walk(&q);
	}
	free(p);
}

static void mode_multi(const uint8_t *data, size_t size)
{
	uint8_t *p = dup_exact(data, size);
	struct zk_rbuf body;
	zk_rbuf_init(&body, p, size, ZK_JUTE_MAXBUFFER_DEFAULT);
	struct zk_multi_iter it;
	struct zk_req q;
	zk_multi_iter_init(&it, &body);
	int rc, n = 0;
	while ((rc = zk_multi_iter_next(&it, &q)) == 1) {
		walk(&q);
		CHECK(++n <= (int)size); /* each op consumes at least its 9-byte header */
	}
	CHECK(rc == 0 || rc == ZK_ESHORT || rc == ZK_ERANGE || rc == ZK_EINVAL);
	CHECK(it.r.pos <= it.r.len);
	if (rc == 0)
		CHECK(zk_multi_iter_next(&it, &q) == 0);
	free(p);
}

static void mode_connect(const uint8_t *data, size_t size)
{
	uint8_t *p = dup_exact(data, size);
	struct zk_connect_req c;
	int rc = zk_connect_req_decode(p, size, ZK_JUTE_MAXBUFFER_DEFAULT, &c);
	CHECK(rc == 0 || rc == ZK_ESHORT || rc == ZK_ERANGE);
	if (rc == 0) {
		touch(c.passwd);
		CHECK(size >= 28);
		CHECK(c.has_readonly == (size > 28 + (size_t)(c.passwd.len < 0 ? 0 : c.passwd.len)));
	}
	struct zk_rbuf r;
	struct zk_stat st;
	zk_rbuf_init(&r, p, size, 16);
	zk_stat_read(&r, &st);
	CHECK(r.err == (size >= ZK_STAT_BYTES ? 0 : ZK_ESHORT));
	free(p);
}

/* ---- txns ---- */

static void on_event(void *ctx, int type, const char *path, size_t len)
{
	(void)path;
	(void)len;
	CHECK(type >= ZK_EV_CREATED && type <= ZK_EV_CHILDREN_CHANGED);
	(*(uint64_t *)ctx)++;
}

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
		if (n->path_len > 1)
			c = zk_crc32_update(c, n->path, n->path_len);
		if (n->data_len > 0)
			c = zk_crc32_update(c, n->data, (size_t)n->data_len);
		sum += zk_crc32_update(c, st, sizeof(st));
	}
	return sum;
}

static void check_tree(const struct zk_dtree *t)
{
	CHECK(t->root && !t->root->parent);
	CHECK(t->node_count == HASH_CNT(hh, t->nodes));
	CHECK(recompute_digest(t) == t->digest);
	uint64_t sessions = 0, containers = 0, ttls = 0, bytes = 0;
	const struct zk_node *n, *tmp;
	HASH_ITER(hh, t->nodes, n, tmp) {
		bytes += n->path_len + (n->data_len > 0 ? (uint64_t)n->data_len : 0);
		CHECK(n->acl != NULL);
		CHECK(strlen(n->path) <= n->path_len);
		if (n != t->root) {
			CHECK(n->parent != NULL);
			CHECK(zk_dtree_get(t, n->parent->path, n->parent->path_len) == n->parent);
		}
		int64_t o = n->stat.ephemeral_owner;
		if (o == ZK_OWNER_CONTAINER)
			containers++;
		else if ((o & ZK_OWNER_TTL_MASK) == ZK_OWNER_TTL_MASK)
			ttls++;
		else if (o)
			sessions++;
	}
	CHECK(bytes == t->data_bytes);
	uint64_t c = 0;
	for (n = t->containers; n; n = n->kind_next)
		c++;
	CHECK(c == containers);
	c = 0;
	for (n = t->ttls; n; n = n->kind_next)
		c++;
	CHECK(c == ttls);
	c = 0;
	const struct zk_eph_set *e, *etmp;
	HASH_ITER(hh, t->ephemerals, e, etmp) {
		uint32_t k = 0;
		for (n = e->head; n; n = n->kind_next) {
			CHECK(n->stat.ephemeral_owner == e->session_id);
			k++;
		}
		CHECK(k == e->count && k > 0);
		c += k;
	}
	CHECK(c == sessions);
	CHECK(zk_dtree_count_descendants(t->root) + 1 == t->node_count);
}

static void mode_txns(const uint8_t *data, size_t size)
{
	struct zk_db db;
	CHECK(zk_db_init(&db, 2000, 1, 0) == 0);
	uint64_t events = 0;
	db.tree.on_event = on_event;
	db.tree.event_ctx = &events;
	struct zk_txn_result res;
	memset(&res, 0, sizeof(res));
	size_t pos = 0;
	int64_t now = 0;
	while (size - pos >= 2) {
		size_t n = ((size_t)data[pos] << 8) | data[pos + 1];
		pos += 2;
		if (n > size - pos)
			n = size - pos;
		uint8_t *p = dup_exact(data + pos, n);
		pos += n;
		int64_t before = db.last_zxid;
		int rc = zk_txn_apply(&db, p, n, now, &res);
		CHECK(rc == 0 || rc == ZK_ESHORT || rc == ZK_ERANGE || rc == ZK_EINVAL || rc == ZK_ENOMEM);
		if (rc)
			CHECK(db.last_zxid == before);
		else
			CHECK(db.last_zxid >= before);
		for (uint32_t i = 0; i < res.n_sub; i++)
			CHECK(res.sub[i].path_len == 0 || res.sub[i].path != NULL);
		free(p);
		check_tree(&db.tree);
		now += 1000;
		/* Sessions' expiry bookkeeping must hold up to whatever createSession asked for. */
		struct zk_session *ss;
		while ((ss = zk_sessions_pop_expired(&db.sessions, now)))
			zk_sessions_remove(&db.sessions, ss->id);
	}
	zk_txn_result_fini(&res);
	zk_db_fini(&db);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 4) {
	case 0:
		mode_request(data + 1, size - 1);
		break;
	case 1:
		mode_multi(data + 1, size - 1);
		break;
	case 2:
		mode_connect(data + 1, size - 1);
		break;
	case 3:
		mode_txns(data + 1, size - 1);
		break;
	}
	return 0;
}
