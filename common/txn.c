/* Txn encoding and application: see txn.h. Application mirrors ZooKeeper's DataTree.processTxn,
 * including the multi rule: when any sub-txn is an error none is applied, earlier ones report
 * 0 and later ones RuntimeInconsistency. */
#include "txn.h"

#include <string.h>

#include "errors.h"
#include "proto.h"
#include "zmalloc.h"

void zk_txn_header_write(struct zk_wbuf *w, const struct zk_txn_header *h)
{
	zk_jw_long(w, h->client_id);
	zk_jw_int(w, h->cxid);
	zk_jw_long(w, h->zxid);
	zk_jw_long(w, h->time_ms);
	zk_jw_int(w, h->type);
}

int zk_txn_header_read(struct zk_rbuf *r, struct zk_txn_header *h)
{
	h->client_id = zk_jr_long(r);
	h->cxid = zk_jr_int(r);
	h->zxid = zk_jr_long(r);
	h->time_ms = zk_jr_long(r);
	h->type = zk_jr_int(r);
	return r->err;
}

void zk_txn_write_create(struct zk_wbuf *w, int32_t type, const char *path, size_t path_len,
                         struct zk_bytes data, const uint8_t *acl, size_t acl_len, bool ephemeral,
                         int32_t parent_cversion, int64_t ttl)
{
	zk_jw_ustring(w, path, (int32_t)path_len);
	zk_jw_buffer(w, data.p, data.len);
	zk_jw_raw(w, acl, acl_len);
	if (type == ZK_OP_CREATE || type == ZK_OP_CREATE2)
		zk_jw_bool(w, ephemeral);
	zk_jw_int(w, parent_cversion);
	if (type == ZK_OP_CREATETTL)
		zk_jw_long(w, ttl);
}

void zk_txn_write_path(struct zk_wbuf *w, const char *path, size_t len) { zk_jw_ustring(w, path, (int32_t)len); }

void zk_txn_write_set_data(struct zk_wbuf *w, const char *path, size_t len, struct zk_bytes data, int32_t version)
{
	zk_jw_ustring(w, path, (int32_t)len);
	zk_jw_buffer(w, data.p, data.len);
	zk_jw_int(w, version);
}

void zk_txn_write_set_acl(struct zk_wbuf *w, const char *path, size_t len, const uint8_t *acl, size_t acl_len,
                          int32_t version)
{
	zk_jw_ustring(w, path, (int32_t)len);
	zk_jw_raw(w, acl, acl_len);
	zk_jw_int(w, version);
}

void zk_txn_write_check(struct zk_wbuf *w, const char *path, size_t len, int32_t version)
{
	zk_jw_ustring(w, path, (int32_t)len);
	zk_jw_int(w, version);
}

void zk_txn_write_error(struct zk_wbuf *w, int32_t err) { zk_jw_int(w, err); }

int zk_db_init(struct zk_db *db, int64_t tick_ms, int64_t server_id, int64_t now_ms)
{
	memset(db, 0, sizeof(*db));
	int rc = zk_dtree_init(&db->tree);
	if (rc)
		return rc;
	zk_sessions_init(&db->sessions, tick_ms, server_id, now_ms);
	return 0;
}

void zk_db_fini(struct zk_db *db)
{
	zk_dtree_fini(&db->tree);
	zk_sessions_fini(&db->sessions);
}

void zk_txn_result_fini(struct zk_txn_result *res)
{
	zk_free(res->sub);
	res->sub = NULL;
	res->n_sub = res->cap_sub = 0;
}

/* One decoded sub-record, enough to apply any txn type. */
struct rec {
	struct zk_bytes path, data;
	struct zk_acl_vec acl;
	bool ephemeral;
	int32_t cversion, version, err;
	int64_t ttl;
	struct zk_str_vec paths;
};

static int decode_rec(int32_t type, struct zk_rbuf *r, struct rec *x)
{
	memset(x, 0, sizeof(*x));
	x->ttl = -1;
	switch (type) {
	case ZK_OP_CREATE:
	case ZK_OP_CREATE2:
	case ZK_OP_CREATECONTAINER:
	case ZK_OP_CREATETTL:
		x->path = zk_jr_buffer(r);
		x->data = zk_jr_buffer(r);
		zk_acl_vec_read(r, &x->acl);
		if (type == ZK_OP_CREATE || type == ZK_OP_CREATE2) {
			x->ephemeral = zk_jr_bool(r);
			/* CreateTxnV0 (pre-3.3 logs) ends here: parentCVersion -1 = "current + 1". */
			x->cversion = zk_rbuf_left(r) >= 4 ? zk_jr_int(r) : -1;
		} else {
			x->cversion = zk_jr_int(r);
		}
		if (type == ZK_OP_CREATETTL)
			x->ttl = zk_jr_long(r);
		break;
	case ZK_OP_DELETE:
	case ZK_OP_DELETECONTAINER:
		x->path = zk_jr_buffer(r);
		break;
	case ZK_OP_SETDATA:
		x->path = zk_jr_buffer(r);
		x->data = zk_jr_buffer(r);
		x->version = zk_jr_int(r);
		break;
	case ZK_OP_SETACL:
		x->path = zk_jr_buffer(r);
		zk_acl_vec_read(r, &x->acl);
		x->version = zk_jr_int(r);
		break;
	case ZK_OP_CHECK:
		x->path = zk_jr_buffer(r);
		x->version = zk_jr_int(r);
		break;
	case ZK_OP_ERROR:
		x->err = zk_jr_int(r);
		break;
	case ZK_OP_CREATESESSION:
		x->version = zk_jr_int(r); /* timeout */
		break;
	case ZK_OP_CLOSESESSION:
		if (zk_rbuf_left(r) >= 4)
			zk_str_vec_read(r, &x->paths);
		else
			x->paths.n = -1;
		break;
	default:
		return ZK_EINVAL;
	}
	if (!r->err && x->path.len < 0 && (type != ZK_OP_ERROR && type != ZK_OP_CREATESESSION && type != ZK_OP_CLOSESESSION))
		return ZK_EINVAL;
	return r->err;
}

static void fill_stat(struct zk_db *db, struct zk_op_result *o)
{
	struct zk_node *n = zk_dtree_get(&db->tree, o->path, o->path_len);
	if (n) {
		zk_node_stat(n, &o->stat);
		o->has_stat = true;
	}
}

static void apply_one(struct zk_db *db, const struct zk_txn_header *h, int32_t type, const struct rec *x,
                      int64_t now_ms, struct zk_op_result *o)
{
	struct zk_dtree *t = &db->tree;
	memset(o, 0, sizeof(*o));
	o->type = type;
	if (x->path.len > 0) {
		o->path = (const char *)x->path.p;
		o->path_len = (uint32_t)x->path.len;
	}
	const char *p = o->path;
	size_t pl = o->path_len;
	switch (type) {
	case ZK_OP_CREATE:
	case ZK_OP_CREATE2:
	case ZK_OP_CREATECONTAINER:
	case ZK_OP_CREATETTL: {
		int64_t owner = 0;
		if (type == ZK_OP_CREATECONTAINER)
			owner = ZK_OWNER_CONTAINER;
		else if (type == ZK_OP_CREATETTL)
			owner = ZK_OWNER_TTL_MASK | (x->ttl & ZK_TTL_MAX);
		else if (x->ephemeral)
			owner = h->client_id;
		struct zk_acl_list *acl = zk_aclcache_intern(&t->acls, x->acl.p - 4, x->acl.bytes + 4);
		if (!acl) {
			o->err = ZSYSTEMERROR;
			break;
		}
		o->err = zk_dtree_create(t, p, pl, x->data.p, x->data.len, acl, owner, x->cversion, h->zxid, h->time_ms);
		zk_aclcache_release(&t->acls, acl); /* the node holds its own reference */
		if (!o->err)
			fill_stat(db, o);
		break;
	}
	case ZK_OP_DELETE:
	case ZK_OP_DELETECONTAINER:
		o->err = zk_dtree_delete(t, p, pl, h->zxid);
		break;
	case ZK_OP_SETDATA:
		o->err = zk_dtree_set_data(t, p, pl, x->data.p, x->data.len, x->version, h->zxid, h->time_ms);
		if (!o->err)
			fill_stat(db, o);
		break;
	case ZK_OP_SETACL: {
		struct zk_acl_list *acl = zk_aclcache_intern(&t->acls, x->acl.p - 4, x->acl.bytes + 4);
		if (!acl) {
			o->err = ZSYSTEMERROR;
			break;
		}
		o->err = zk_dtree_set_acl(t, p, pl, acl, x->version);
		zk_aclcache_release(&t->acls, acl);
		if (!o->err)
			fill_stat(db, o);
		break;
	}
	case ZK_OP_CHECK:
		break;
	case ZK_OP_ERROR:
		o->err = x->err;
		break;
	case ZK_OP_CREATESESSION:
		if (!zk_sessions_add(&db->sessions, h->client_id, x->version, now_ms))
			o->err = ZSYSTEMERROR;
		break;
	case ZK_OP_CLOSESESSION:
		if (x->paths.n >= 0) {
			struct zk_str_iter it;
			struct zk_bytes s;
			zk_str_iter_init(&it, &x->paths);
			while (zk_str_iter_next(&it, &s))
				if (s.len > 0)
					zk_dtree_delete(t, (const char *)s.p, (size_t)s.len, h->zxid);
		}
		/* Also whatever the list missed (closeSessionTxn.enabled=false logs have none). */
		zk_dtree_kill_session(t, h->client_id, h->zxid);
		zk_sessions_remove(&db->sessions, h->client_id);
		break;
	}
}

static int push_sub(struct zk_txn_result *res, struct zk_op_result **o)
{
	if (res->n_sub == res->cap_sub) {
		uint32_t cap = res->cap_sub ? res->cap_sub * 2 : 16;
		struct zk_op_result *p = zk_realloc(res->sub, cap * sizeof(*p));
		if (!p)
			return ZK_ENOMEM;
		res->sub = p;
		res->cap_sub = cap;
	}
	*o = &res->sub[res->n_sub++];
	return 0;
}

static int apply_multi(struct zk_db *db, const struct zk_txn_header *h, struct zk_rbuf *r, int64_t now_ms,
                       struct zk_txn_result *res)
{
	int32_t n = zk_jr_vec_count(r, NULL);
	if (r->err)
		return r->err;
	/* Pass 1: validate every sub-record and find whether any is an error. */
	struct zk_rbuf scan = *r;
	bool failed = false;
	for (int32_t i = 0; i < n; i++) {
		int32_t type = zk_jr_int(&scan);
		struct zk_bytes b = zk_jr_buffer(&scan);
		if (scan.err || b.len < 0)
			return scan.err ? scan.err : ZK_EINVAL;
		if (type == ZK_OP_ERROR)
			failed = true;
		if (type != ZK_OP_CREATE && type != ZK_OP_CREATE2 && type != ZK_OP_CREATECONTAINER &&
		    type != ZK_OP_CREATETTL && type != ZK_OP_DELETE && type != ZK_OP_DELETECONTAINER &&
		    type != ZK_OP_SETDATA && type != ZK_OP_CHECK && type != ZK_OP_ERROR)
			return ZK_EINVAL;
		struct zk_rbuf sr;
		struct rec x;
		zk_rbuf_init(&sr, b.p, (size_t)b.len, r->field_bytes_max);
		int rc = decode_rec(type, &sr, &x);
		if (rc)
			return rc;
	}
	bool post_failed = false;
	for (int32_t i = 0; i < n; i++) {
		int32_t type = zk_jr_int(r);
		struct zk_bytes b = zk_jr_buffer(r);
		struct zk_rbuf sr;
		struct rec x;
		zk_rbuf_init(&sr, b.p, (size_t)b.len, r->field_bytes_max);
		decode_rec(type, &sr, &x);
		struct zk_op_result *o;
		if (push_sub(res, &o))
			return ZK_ENOMEM;
		if (type == ZK_OP_ERROR)
			post_failed = true;
		if (failed && type != ZK_OP_ERROR) {
			memset(&x, 0, sizeof(x));
			x.err = post_failed ? ZRUNTIMEINCONSISTENCY : ZOK;
			type = ZK_OP_ERROR;
		}
		apply_one(db, h, type, &x, now_ms, o);
		if (o->err && !res->op.err)
			res->op.err = o->err;
	}
	return 0;
}

int zk_txn_apply(struct zk_db *db, const uint8_t *txn, size_t len, int64_t now_ms, struct zk_txn_result *res)
{
	struct zk_rbuf r;
	zk_rbuf_init(&r, txn, len, SIZE_MAX / 4);
	res->n_sub = 0;
	memset(&res->op, 0, sizeof(res->op));
	int rc = zk_txn_header_read(&r, &res->hdr);
	if (rc)
		return rc;
	res->op.type = res->hdr.type;
	if (res->hdr.type == ZK_OP_MULTI) {
		rc = apply_multi(db, &res->hdr, &r, now_ms, res);
	} else {
		struct rec x;
		rc = decode_rec(res->hdr.type, &r, &x);
		if (!rc)
			apply_one(db, &res->hdr, res->hdr.type, &x, now_ms, &res->op);
	}
	/* A trailing TxnDigest (version, treeDigest) may follow; it is checked by learners only. */
	if (!rc && res->hdr.zxid > db->last_zxid)
		db->last_zxid = res->hdr.zxid;
	return rc;
}
