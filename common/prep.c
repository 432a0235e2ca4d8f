/* Prep stage: validates a write against the outstanding-change view and turns it into a txn,
 * as ZooKeeper's PrepRequestProcessor.pRequest2Txn does (same checks, same order, so the same
 * error wins when several apply). The txn goes to s->txn; a failed check yields an error txn. */
#include <stdio.h>
#include <string.h>

#include "errors.h"
#include "path.h"
#include "proto.h"
#include "server_int.h"
#include "zmalloc.h"

struct prep_ctx {
	struct zk_server *s;
	struct zk_conn *c; /* NULL for server-made requests: no ACL checks */
	int64_t session_id;
	int64_t zxid;
	int64_t time_ms;
};

static bool acl_ok(struct prep_ctx *x, const struct zk_rec *r, int32_t perm)
{
	if (!x->c)
		return true;
	return zk_acl_check(r->acl, perm, &x->c->auth, x->s->cfg.skip_acl);
}

/* `global`: the op needs a global session (an ephemeral's owner: checkGlobalSession). Otherwise
 * a leader lets another member's local session through (LeaderSessionTracker.checkSession). */
static zk_code check_session(struct prep_ctx *x, bool global)
{
	struct zk_session *ss = zk_sessions_get(&x->s->db.sessions, x->session_id);
	if (ss)
		return ss->closing ? ZSESSIONEXPIRED : ZOK;
	return (x->c && x->c->foreign_local && !global) ? ZOK : ZSESSIONEXPIRED;
}

static zk_code check_version(int32_t current, int32_t expected, int32_t *next)
{
	if (expected != -1 && expected != current)
		return ZBADVERSION;
	*next = (int32_t)((uint32_t)current + 1u);
	return ZOK;
}

static int add_change(struct prep_ctx *x, const char *path, size_t len, const struct zk_rec *r)
{
	return zk_changes_add(&x->s->changes, path, len, x->zxid, r);
}

static zk_code prep_create(struct prep_ctx *x, const struct zk_req *q, struct zk_wbuf *w)
{
	struct zk_server *s = x->s;
	int32_t f = q->flags;
	if (f < ZK_CM_PERSISTENT || f > ZK_CM_PERSISTENT_SEQUENTIAL_WITH_TTL)
		return ZBADARGUMENTS;
	bool ephemeral = f == ZK_CM_EPHEMERAL || f == ZK_CM_EPHEMERAL_SEQUENTIAL;
	bool sequential = f == ZK_CM_PERSISTENT_SEQUENTIAL || f == ZK_CM_EPHEMERAL_SEQUENTIAL ||
			  f == ZK_CM_PERSISTENT_SEQUENTIAL_WITH_TTL;
	bool ttl_mode = f == ZK_CM_PERSISTENT_WITH_TTL || f == ZK_CM_PERSISTENT_SEQUENTIAL_WITH_TTL;
	if (ttl_mode && !s->cfg.extended_types_enabled)
		return ZUNIMPLEMENTED;
	if (ttl_mode ? !(q->ttl > 0 && q->ttl <= ZK_TTL_MAX) : q->ttl >= 0)
		return ZBADARGUMENTS;
	zk_code rc = check_session(x, ephemeral);
	if (rc)
		return rc;
	if (q->path.len < 0)
		return ZBADARGUMENTS;
	const char *path = (const char *)q->path.p;
	size_t plen = (size_t)q->path.len;
	long parent_len = zk_path_parent(path, plen);
	if (parent_len < 0 || memchr(path, 0, plen))
		return ZBADARGUMENTS;
	zk_wbuf_reset(&s->scratch);
	rc = zk_acl_fixup(&q->acl, x->c ? &x->c->auth : &(struct zk_auth){0}, &s->scratch);
	if (rc)
		return rc;
	struct zk_rec parent;
	if (!zk_changes_get(&s->changes, &s->db.tree, path, (size_t)parent_len, &parent))
		return ZNONODE;
	if (!acl_ok(x, &parent, ZK_PERM_CREATE))
		return ZNOAUTH;
	/* Sequential names append to a path of up to jute.maxbuffer bytes: build it on the heap. */
	struct zk_wbuf *pb = &s->pathbuf;
	zk_wbuf_reset(pb);
	zk_jw_raw(pb, path, plen);
	if (sequential) {
		char suffix[16];
		int n = snprintf(suffix, sizeof(suffix), "%010d", parent.stat.cversion);
		zk_jw_raw(pb, suffix, (size_t)n);
	}
	if (pb->err)
		return ZSYSTEMERROR;
	const char *full = (const char *)pb->p;
	size_t full_len = pb->len;
	if (!zk_path_valid(full, full_len))
		return ZBADARGUMENTS;
	struct zk_rec existing;
	if (zk_changes_get(&s->changes, &s->db.tree, full, full_len, &existing))
		return ZNODEEXISTS;
	if (zk_owner_is_session(parent.stat.ephemeral_owner))
		return ZNOCHILDRENFOREPHEMERALS;
	int32_t new_cversion = (int32_t)((uint32_t)parent.stat.cversion + 1u); /* wraps like Java's int */
	int64_t owner = 0;
	if (f == ZK_CM_CONTAINER)
		owner = ZK_OWNER_CONTAINER;
	else if (ttl_mode)
		owner = ZK_OWNER_TTL_MASK | q->ttl;
	else if (ephemeral)
		owner = x->session_id;
	zk_txn_write_create(w, q->op, full, full_len, q->data, s->scratch.p, s->scratch.len, ephemeral, new_cversion,
			    q->ttl);
	struct zk_acl_list *acl = zk_aclcache_intern(&s->db.tree.acls, s->scratch.p, s->scratch.len);
	if (!acl || w->err)
		return ZSYSTEMERROR;
	parent.child_count++;
	parent.stat.cversion = new_cversion;
	parent.stat.pzxid = x->zxid;
	struct zk_rec node = {true, {x->zxid, x->zxid, x->time_ms, x->time_ms, 0, 0, 0, owner, x->zxid}, 0, acl};
	int err = add_change(x, path, (size_t)parent_len, &parent);
	err = err ? err : add_change(x, full, full_len, &node);
	zk_aclcache_release(&s->db.tree.acls, acl);
	return err ? ZSYSTEMERROR : ZOK;
}

static zk_code prep_delete(struct prep_ctx *x, const struct zk_req *q, struct zk_wbuf *w, bool container)
{
	struct zk_server *s = x->s;
	if (!container) {
		zk_code rc = check_session(x, false);
		if (rc)
			return rc;
	}
	if (q->path.len < 0)
		return ZBADARGUMENTS;
	const char *path = (const char *)q->path.p;
	size_t plen = (size_t)q->path.len;
	long parent_len = zk_path_parent(path, plen);
	if (parent_len < 0 || memchr(path, 0, plen) || zk_path_special(path, plen))
		return ZBADARGUMENTS;
	struct zk_rec parent, node;
	if (container) {
		if (!zk_changes_get(&s->changes, &s->db.tree, path, plen, &node))
			return ZNONODE;
		if (node.child_count > 0)
			return ZNOTEMPTY;
		if (zk_owner_is_session(node.stat.ephemeral_owner))
			return ZBADVERSION;
		if (!zk_changes_get(&s->changes, &s->db.tree, path, (size_t)parent_len, &parent))
			return ZNONODE;
	} else {
		if (!zk_changes_get(&s->changes, &s->db.tree, path, (size_t)parent_len, &parent))
			return ZNONODE;
		if (!acl_ok(x, &parent, ZK_PERM_DELETE))
			return ZNOAUTH;
		if (!zk_changes_get(&s->changes, &s->db.tree, path, plen, &node))
			return ZNONODE;
		int32_t next;
		zk_code rc = check_version(node.stat.version, q->version, &next);
		if (rc)
			return rc;
		if (node.child_count > 0)
			return ZNOTEMPTY;
	}
	zk_txn_write_path(w, path, plen);
	parent.child_count--;
	parent.stat.pzxid = x->zxid;
	struct zk_rec gone = {0};
	int err = add_change(x, path, (size_t)parent_len, &parent);
	err = err ? err : add_change(x, path, plen, &gone);
	return err ? ZSYSTEMERROR : ZOK;
}

static zk_code prep_set_data(struct prep_ctx *x, const struct zk_req *q, struct zk_wbuf *w)
{
	struct zk_server *s = x->s;
	zk_code rc = check_session(x, false);
	if (rc)
		return rc;
	const char *path = (const char *)q->path.p;
	size_t plen = q->path.len < 0 ? 0 : (size_t)q->path.len;
	if (!zk_path_valid(path, plen))
		return ZBADARGUMENTS;
	struct zk_rec node;
	if (!zk_changes_get(&s->changes, &s->db.tree, path, plen, &node))
		return ZNONODE;
	if (!acl_ok(x, &node, ZK_PERM_WRITE))
		return ZNOAUTH;
	int32_t next;
	rc = check_version(node.stat.version, q->version, &next);
	if (rc)
		return rc;
	zk_txn_write_set_data(w, path, plen, q->data, next);
	node.stat.version = next;
	node.stat.mtime = x->time_ms;
	node.stat.mzxid = x->zxid;
	return add_change(x, path, plen, &node) ? ZSYSTEMERROR : ZOK;
}

static zk_code prep_set_acl(struct prep_ctx *x, const struct zk_req *q, struct zk_wbuf *w)
{
	struct zk_server *s = x->s;
	zk_code rc = check_session(x, false);
	if (rc)
		return rc;
	const char *path = (const char *)q->path.p;
	size_t plen = q->path.len < 0 ? 0 : (size_t)q->path.len;
	if (!zk_path_valid(path, plen))
		return ZBADARGUMENTS;
	zk_wbuf_reset(&s->scratch);
	rc = zk_acl_fixup(&q->acl, x->c ? &x->c->auth : &(struct zk_auth){0}, &s->scratch);
	if (rc)
		return rc;
	struct zk_rec node;
	if (!zk_changes_get(&s->changes, &s->db.tree, path, plen, &node))
		return ZNONODE;
	if (!acl_ok(x, &node, ZK_PERM_ADMIN))
		return ZNOAUTH;
	int32_t next;
	rc = check_version(node.stat.aversion, q->version, &next);
	if (rc)
		return rc;
	zk_txn_write_set_acl(w, path, plen, s->scratch.p, s->scratch.len, next);
	struct zk_acl_list *acl = zk_aclcache_intern(&s->db.tree.acls, s->scratch.p, s->scratch.len);
	if (!acl)
		return ZSYSTEMERROR;
	node.stat.aversion = next;
	node.acl = acl;
	int err = add_change(x, path, plen, &node);
	zk_aclcache_release(&s->db.tree.acls, acl);
	return err ? ZSYSTEMERROR : ZOK;
}

static zk_code prep_check(struct prep_ctx *x, const struct zk_req *q, struct zk_wbuf *w)
{
	struct zk_server *s = x->s;
	zk_code rc = check_session(x, false);
	if (rc)
		return rc;
	const char *path = (const char *)q->path.p;
	size_t plen = q->path.len < 0 ? 0 : (size_t)q->path.len;
	if (!zk_path_valid(path, plen))
		return ZBADARGUMENTS;
	struct zk_rec node;
	if (!zk_changes_get(&s->changes, &s->db.tree, path, plen, &node))
		return ZNONODE;
	if (!acl_ok(x, &node, ZK_PERM_READ))
		return ZNOAUTH;
	int32_t next;
	rc = check_version(node.stat.version, q->version, &next);
	if (rc)
		return rc;
	zk_txn_write_check(w, path, plen, next);
	return ZOK;
}

static zk_code prep_op(struct prep_ctx *x, const struct zk_req *q, struct zk_wbuf *w)
{
	switch (q->op) {
	case ZK_OP_CREATE:
	case ZK_OP_CREATE2:
	case ZK_OP_CREATECONTAINER:
	case ZK_OP_CREATETTL:
		return prep_create(x, q, w);
	case ZK_OP_DELETE:
		return prep_delete(x, q, w, false);
	case ZK_OP_DELETECONTAINER:
		return prep_delete(x, q, w, true);
	case ZK_OP_SETDATA:
		return prep_set_data(x, q, w);
	case ZK_OP_SETACL:
		return prep_set_acl(x, q, w);
	case ZK_OP_CHECK:
		return prep_check(x, q, w);
	case ZK_OP_RECONFIG:
		return ZRECONFIGDISABLED;
	default:
		return ZUNIMPLEMENTED;
	}
}

static bool multi_op_allowed(int32_t op)
{
	return op == ZK_OP_CREATE || op == ZK_OP_CREATE2 || op == ZK_OP_CREATECONTAINER || op == ZK_OP_CREATETTL ||
	       op == ZK_OP_DELETE || op == ZK_OP_SETDATA || op == ZK_OP_CHECK;
}

static zk_code prep_multi(struct prep_ctx *x, struct zk_rbuf *body, struct zk_wbuf *w)
{
	struct zk_server *s = x->s;
	/* Deserialise everything first: one bad op fails the request as a whole. */
	struct zk_multi_iter it;
	struct zk_req q;
	int rc;
	int32_t n = 0;
	zk_multi_iter_init(&it, body);
	while ((rc = zk_multi_iter_next(&it, &q)) == 1) {
		if (!multi_op_allowed(q.op))
			return ZMARSHALLINGERROR;
		n++;
	}
	if (rc < 0)
		return ZMARSHALLINGERROR;
	struct zk_change *mark = s->changes.tail;
	zk_jw_int(w, n);
	zk_code failed = ZOK;
	zk_multi_iter_init(&it, body);
	while (zk_multi_iter_next(&it, &q) == 1) {
		size_t type_at = w->len;
		zk_jw_int(w, q.op);
		size_t len_at = zk_jw_frame_begin(w);
		size_t rec_at = w->len;
		zk_code e = failed ? ZRUNTIMEINCONSISTENCY : prep_op(x, &q, w);
		if (e && !failed) {
			failed = e;
			zk_changes_rollback(&s->changes, &s->db.tree.acls, mark);
		}
		if (e && !w->err) {
			/* Logged as ZooKeeper logs it: the failing op and all after it as error txns. */
			w->len = rec_at;
			zk_put_be32(w->p + type_at, (uint32_t)ZK_OP_ERROR);
			zk_txn_write_error(w, e);
		}
		zk_jw_frame_end(w, len_at);
	}
	return w->err ? ZSYSTEMERROR : ZOK;
}

void zk_prep(struct zk_server *s, struct zk_conn *c, int64_t session_id, int32_t xid, int32_t op,
             const uint8_t *body, size_t len, int64_t zxid)
{
	struct zk_wbuf *w = &s->txn;
	struct prep_ctx x = {s, c, session_id, zxid, s->cur_now.wall_ms};
	struct zk_txn_header h = {session_id, xid, zxid, x.time_ms, op};
	zk_wbuf_reset(w);
	zk_txn_header_write(w, &h);
	size_t rec_at = w->len;
	struct zk_rbuf r;
	zk_rbuf_init(&r, body, len, (size_t)s->cfg.jute_maxbuffer);
	zk_code e;
	if (op == ZK_OP_MULTI) {
		e = prep_multi(&x, &r, w);
	} else {
		struct zk_req q;
		e = zk_req_decode(op, &r, &q) ? ZMARSHALLINGERROR : prep_op(&x, &q, w);
	}
	if (e) {
		w->len = rec_at;
		zk_put_be32(w->p + 28, (uint32_t)ZK_OP_ERROR); /* TxnHeader.type */
		zk_txn_write_error(w, e);
		zk_logf(&s->log, ZK_LOG_DEBUG, "prep failed sid=0x%llx xid=%d op=%d err=%d zxid=0x%llx",
			(unsigned long long)session_id, xid, op, e, (unsigned long long)zxid);
	}
}

void zk_prep_create_session(struct zk_server *s, int64_t session_id, int32_t timeout_ms, int64_t zxid)
{
	struct zk_wbuf *w = &s->txn;
	struct zk_txn_header h = {session_id, 0, zxid, s->cur_now.wall_ms, ZK_OP_CREATESESSION};
	zk_wbuf_reset(w);
	zk_txn_header_write(w, &h);
	zk_jw_int(w, timeout_ms);
}

/* A small set of paths for the close-session prep. */
struct pathset {
	char *path;
	size_t len;
	UT_hash_handle hh;
};

static void pathset_put(struct pathset **set, const char *p, size_t len)
{
	struct pathset *e;
	HASH_FIND(hh, *set, p, len, e);
	if (e)
		return;
	e = zk_calloc(1, sizeof(*e));
	if (!e)
		return;
	e->path = zk_strndup(p, len);
	if (!e->path) {
		zk_free(e);
		return;
	}
	e->len = len;
	HASH_ADD_KEYPTR(hh, *set, e->path, e->len, e);
}

static void pathset_del(struct pathset **set, const char *p, size_t len)
{
	struct pathset *e;
	HASH_FIND(hh, *set, p, len, e);
	if (e) {
		HASH_DELETE(hh, *set, e);
		zk_free(e->path);
		zk_free(e);
	}
}

void zk_prep_close_session(struct zk_server *s, int64_t session_id, int32_t xid, int64_t zxid)
{
	struct zk_wbuf *w = &s->txn;
	struct zk_txn_header h = {session_id, xid, zxid, s->cur_now.wall_ms, ZK_OP_CLOSESESSION};
	zk_wbuf_reset(w);
	zk_txn_header_write(w, &h);
	/* The session's ephemerals as the pending writes will leave them. */
	struct pathset *set = NULL, *e, *tmp;
	const struct zk_eph_set *eph = zk_dtree_ephemerals(&s->db.tree, session_id);
	for (const struct zk_node *n = eph ? eph->head : NULL; n; n = n->kind_next)
		pathset_put(&set, n->path, n->path_len);
	for (const struct zk_change *c = s->changes.head; c; c = c->next) {
		if (!c->rec.exists)
			pathset_del(&set, c->path, c->len);
		else if (c->rec.stat.ephemeral_owner == session_id)
			pathset_put(&set, c->path, c->len);
	}
	if (s->cfg.close_session_txn_enabled)
		zk_jw_int(w, (int32_t)HASH_COUNT(set));
	struct prep_ctx x = {s, NULL, session_id, zxid, h.time_ms};
	HASH_ITER(hh, set, e, tmp) {
		if (s->cfg.close_session_txn_enabled)
			zk_jw_ustring(w, e->path, (int32_t)e->len);
		struct zk_rec parent, gone = {0};
		long pl = zk_path_parent(e->path, e->len);
		if (pl > 0 && zk_changes_get(&s->changes, &s->db.tree, e->path, (size_t)pl, &parent)) {
			parent.child_count--;
			parent.stat.pzxid = zxid;
			add_change(&x, e->path, (size_t)pl, &parent);
		}
		add_change(&x, e->path, e->len, &gone);
		HASH_DELETE(hh, set, e);
		zk_free(e->path);
		zk_free(e);
	}
	struct zk_session *ss = zk_sessions_get(&s->db.sessions, session_id);
	if (ss)
		ss->closing = true;
}

void zk_prep_committed(struct zk_server *s, int64_t zxid)
{
	zk_changes_commit(&s->changes, &s->db.tree.acls, zxid);
}
