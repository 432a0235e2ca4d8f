/* Client-protocol record codecs; layouts in protocol.md sections 2.1, 2.4 and 2.5. */
#include "records.h"

#include "errors.h"
#include "proto.h"

int zk_connect_req_decode(const uint8_t *p, size_t len, size_t field_max, struct zk_connect_req *c)
{
	struct zk_rbuf r;
	zk_rbuf_init(&r, p, len, field_max);
	c->protocol_version = zk_jr_int(&r);
	c->last_zxid_seen = zk_jr_long(&r);
	c->timeout_ms = zk_jr_int(&r);
	c->session_id = zk_jr_long(&r);
	c->passwd = zk_jr_buffer(&r);
	if (r.err)
		return r.err;
	/* The readOnly byte is an optional trailer: its absence marks a pre-3.4 client. */
	c->has_readonly = zk_rbuf_left(&r) > 0;
	c->readonly = c->has_readonly ? zk_jr_bool(&r) : false;
	return 0;
}

int zk_acl_vec_read(struct zk_rbuf *r, struct zk_acl_vec *v)
{
	bool is_null;
	int32_t n = zk_jr_vec_count(r, &is_null);
	v->p = r->p + r->pos;
	v->n = is_null ? -1 : n;
	for (int32_t i = 0; i < n && !r->err; i++) {
		zk_jr_int(r);
		zk_jr_buffer(r);
		zk_jr_buffer(r);
	}
	v->bytes = (size_t)(r->p + r->pos - v->p);
	return r->err;
}

void zk_acl_iter_init(struct zk_acl_iter *it, const struct zk_acl_vec *v)
{
	zk_rbuf_init(&it->r, v->p, v->bytes, v->bytes);
	it->left = v->n < 0 ? 0 : v->n;
}

bool zk_acl_iter_next(struct zk_acl_iter *it, struct zk_acl *a)
{
	if (it->left <= 0)
		return false;
	it->left--;
	a->perms = zk_jr_int(&it->r);
	a->scheme = zk_jr_buffer(&it->r);
	a->id = zk_jr_buffer(&it->r);
	return it->r.err == 0;
}

int zk_str_vec_read(struct zk_rbuf *r, struct zk_str_vec *v)
{
	bool is_null;
	int32_t n = zk_jr_vec_count(r, &is_null);
	v->p = r->p + r->pos;
	v->n = n;
	for (int32_t i = 0; i < n && !r->err; i++)
		zk_jr_buffer(r);
	v->bytes = (size_t)(r->p + r->pos - v->p);
	return r->err;
}

void zk_str_iter_init(struct zk_str_iter *it, const struct zk_str_vec *v)
{
	zk_rbuf_init(&it->r, v->p, v->bytes, v->bytes);
	it->left = v->n;
}

bool zk_str_iter_next(struct zk_str_iter *it, struct zk_bytes *s)
{
	if (it->left <= 0)
		return false;
	it->left--;
	*s = zk_jr_buffer(&it->r);
	return it->r.err == 0;
}

static void req_clear(struct zk_req *q, int32_t op)
{
	*q = (struct zk_req){0};
	q->op = op;
	q->path.len = -1;
	q->data.len = -1;
	q->acl.n = -1;
	q->version = -1;
	q->ttl = -1;
	q->scheme.len = -1;
}

int zk_req_decode(int32_t op, struct zk_rbuf *r, struct zk_req *q)
{
	req_clear(q, op);
	switch (op) {
	case ZK_OP_CREATE:
	case ZK_OP_CREATE2:
	case ZK_OP_CREATECONTAINER:
	case ZK_OP_CREATETTL:
		q->path = zk_jr_buffer(r);
		q->data = zk_jr_buffer(r);
		zk_acl_vec_read(r, &q->acl);
		q->flags = zk_jr_int(r);
		if (op == ZK_OP_CREATETTL)
			q->ttl = zk_jr_long(r);
		break;
	case ZK_OP_DELETE:
	case ZK_OP_CHECK:
		q->path = zk_jr_buffer(r);
		q->version = zk_jr_int(r);
		break;
	case ZK_OP_EXISTS:
	case ZK_OP_GETDATA:
	case ZK_OP_GETCHILDREN:
	case ZK_OP_GETCHILDREN2:
		q->path = zk_jr_buffer(r);
		q->watch = zk_jr_bool(r);
		break;
	case ZK_OP_SETDATA:
		q->path = zk_jr_buffer(r);
		q->data = zk_jr_buffer(r);
		q->version = zk_jr_int(r);
		break;
	case ZK_OP_GETACL:
	case ZK_OP_SYNC:
	case ZK_OP_GETEPHEMERALS:
	case ZK_OP_GETALLCHILDRENNUMBER:
		q->path = zk_jr_buffer(r);
		break;
	case ZK_OP_SETACL:
		q->path = zk_jr_buffer(r);
		zk_acl_vec_read(r, &q->acl);
		q->version = zk_jr_int(r);
		break;
	case ZK_OP_CHECKWATCHES:
	case ZK_OP_REMOVEWATCHES:
	case ZK_OP_ADDWATCH:
		q->path = zk_jr_buffer(r);
		q->type = zk_jr_int(r);
		break;
	case ZK_OP_SETWATCHES:
	case ZK_OP_SETWATCHES2:
		q->rel_zxid = zk_jr_long(r);
		for (int i = 0; i < (op == ZK_OP_SETWATCHES ? 3 : 5); i++)
			zk_str_vec_read(r, &q->watches[i]);
		break;
	case ZK_OP_AUTH:
		q->type = zk_jr_int(r);
		q->scheme = zk_jr_buffer(r);
		q->data = zk_jr_buffer(r);
		break;
	case ZK_OP_SASL:
		q->data = zk_jr_buffer(r);
		break;
	case ZK_OP_RECONFIG:
		/* ReconfigRequest{joiningServers, leavingServers, newMembers, curConfigId}: checked so
		 * that prep can answer ReconfigDisabled, as ZooKeeper does once the body has parsed. */
		zk_jr_buffer(r);
		zk_jr_buffer(r);
		zk_jr_buffer(r);
		zk_jr_long(r);
		break;
	case ZK_OP_DELETECONTAINER:
		/* The bare path bytes, no length prefix. */
		q->path.p = r->p + r->pos;
		q->path.len = (int32_t)zk_rbuf_left(r);
		r->pos = r->len;
		break;
	case ZK_OP_PING:
	case ZK_OP_CLOSESESSION:
	case ZK_OP_WHOAMI:
	case ZK_OP_MULTI:
	case ZK_OP_MULTIREAD:
		break;
	default:
		return ZK_EINVAL;
	}
	return r->err;
}

void zk_multi_iter_init(struct zk_multi_iter *it, const struct zk_rbuf *body)
{
	it->r = *body;
	it->done = false;
}

int zk_multi_iter_next(struct zk_multi_iter *it, struct zk_req *q)
{
	if (it->done)
		return 0;
	int32_t type = zk_jr_int(&it->r);
	bool done = zk_jr_bool(&it->r);
	zk_jr_int(&it->r); /* err, unused in requests */
	if (it->r.err)
		return it->r.err;
	if (done) {
		it->done = true;
		return 0;
	}
	int rc = zk_req_decode(type, &it->r, q);
	return rc ? rc : 1;
}

void zk_stat_write(struct zk_wbuf *w, const struct zk_stat *s)
{
	if (zk_wbuf_reserve(w, ZK_STAT_BYTES))
		return;
	uint8_t *p = w->p + w->len;
	zk_put_be64(p + 0, (uint64_t)s->czxid);
	zk_put_be64(p + 8, (uint64_t)s->mzxid);
	zk_put_be64(p + 16, (uint64_t)s->ctime);
	zk_put_be64(p + 24, (uint64_t)s->mtime);
	zk_put_be32(p + 32, (uint32_t)s->version);
	zk_put_be32(p + 36, (uint32_t)s->cversion);
	zk_put_be32(p + 40, (uint32_t)s->aversion);
	zk_put_be64(p + 44, (uint64_t)s->ephemeral_owner);
	zk_put_be32(p + 52, (uint32_t)s->data_length);
	zk_put_be32(p + 56, (uint32_t)s->num_children);
	zk_put_be64(p + 60, (uint64_t)s->pzxid);
	w->len += ZK_STAT_BYTES;
}

void zk_stat_read(struct zk_rbuf *r, struct zk_stat *s)
{
	s->czxid = zk_jr_long(r);
	s->mzxid = zk_jr_long(r);
	s->ctime = zk_jr_long(r);
	s->mtime = zk_jr_long(r);
	s->version = zk_jr_int(r);
	s->cversion = zk_jr_int(r);
	s->aversion = zk_jr_int(r);
	s->ephemeral_owner = zk_jr_long(r);
	s->data_length = zk_jr_int(r);
	s->num_children = zk_jr_int(r);
	s->pzxid = zk_jr_long(r);
}

void zk_reply_header_write(struct zk_wbuf *w, int32_t xid, int64_t zxid, int32_t err)
{
	zk_jw_int(w, xid);
	zk_jw_long(w, zxid);
	zk_jw_int(w, err);
}

void zk_multi_header_write(struct zk_wbuf *w, int32_t type, bool done, int32_t err)
{
	zk_jw_int(w, type);
	zk_jw_bool(w, done);
	zk_jw_int(w, err);
}

void zk_notification_write(struct zk_wbuf *w, int32_t type, const char *path, size_t path_len)
{
	size_t f = zk_jw_frame_begin(w);
	zk_reply_header_write(w, ZK_XID_NOTIFICATION, -1, 0);
	zk_jw_int(w, type);
	zk_jw_int(w, ZK_STATE_SYNC_CONNECTED);
	zk_jw_ustring(w, path, (int32_t)path_len);
	zk_jw_frame_end(w, f);
}
