/* Final stage: replies to applied writes, and every non-write request (reads, ping, sync, watch
 * management, whoAmI), as ZooKeeper's FinalRequestProcessor builds them. A reply with an error
 * is the 16-byte header alone; multi and multiRead always answer err 0 with per-op results. */
#include <string.h>

#include "errors.h"
#include "path.h"
#include "proto.h"
#include "server_int.h"

struct reply {
	struct zk_wbuf *w;
	size_t mark, frame;
};

static struct zk_wbuf *reply_begin(struct zk_out *out, struct reply *r, int32_t xid, int64_t zxid, int32_t err)
{
	r->w = zk_out_send_begin(out, &r->mark);
	r->frame = zk_jw_frame_begin(r->w);
	zk_reply_header_write(r->w, xid, zxid, err);
	return r->w;
}

static void reply_end(struct zk_server *s, struct zk_conn *c, struct zk_out *out, struct reply *r, int32_t op,
                      int32_t xid, int64_t zxid, int64_t recv_mono_ms)
{
	zk_jw_frame_end(r->w, r->frame);
	zk_out_send_end(out, c->id, r->mark);
	zk_conn_note_reply(s, c, op, xid, zxid, recv_mono_ms);
}

static void write_op_result(struct zk_wbuf *w, const struct zk_op_result *o, bool in_multi)
{
	int32_t t = o->type;
	if (t == ZK_OP_ERROR || o->err) {
		if (in_multi) {
			zk_multi_header_write(w, ZK_OP_ERROR, false, o->err);
			zk_jw_int(w, o->err);
		}
		return;
	}
	switch (t) {
	case ZK_OP_CREATE:
		if (in_multi)
			zk_multi_header_write(w, ZK_OP_CREATE, false, 0);
		zk_jw_ustring(w, o->path, (int32_t)o->path_len);
		break;
	case ZK_OP_CREATE2:
	case ZK_OP_CREATECONTAINER:
	case ZK_OP_CREATETTL:
		if (in_multi)
			zk_multi_header_write(w, ZK_OP_CREATE2, false, 0);
		zk_jw_ustring(w, o->path, (int32_t)o->path_len);
		zk_stat_write(w, &o->stat);
		break;
	case ZK_OP_DELETE:
	case ZK_OP_DELETECONTAINER:
		if (in_multi)
			zk_multi_header_write(w, ZK_OP_DELETE, false, 0);
		break;
	case ZK_OP_SETDATA:
	case ZK_OP_SETACL:
		if (in_multi)
			zk_multi_header_write(w, t, false, 0);
		zk_stat_write(w, &o->stat);
		break;
	case ZK_OP_CHECK:
		if (in_multi)
			zk_multi_header_write(w, ZK_OP_CHECK, false, 0);
		break;
	}
}

void zk_final_write_reply(struct zk_server *s, struct zk_conn *c, const struct zk_pending *p,
                          const struct zk_txn_result *res, struct zk_out *out)
{
	struct reply r;
	int64_t zxid = p->zxid;
	if (res->hdr.type == ZK_OP_MULTI) {
		struct zk_wbuf *w = reply_begin(out, &r, p->xid, zxid, 0);
		for (uint32_t i = 0; i < res->n_sub; i++)
			write_op_result(w, &res->sub[i], true);
		zk_multi_header_write(w, -1, true, -1);
	} else {
		int32_t err = res->op.err;
		struct zk_wbuf *w = reply_begin(out, &r, p->xid, zxid, err);
		if (!err)
			write_op_result(w, &res->op, false);
	}
	reply_end(s, c, out, &r, p->op, p->xid, zxid, p->recv_mono_ms);
}

static bool can(struct zk_server *s, struct zk_conn *c, const struct zk_node *n, int32_t perm)
{
	return zk_acl_check(n->acl, perm, &c->auth, s->cfg.skip_acl);
}

static void write_children(struct zk_wbuf *w, const struct zk_node *n)
{
	zk_jw_int(w, (int32_t)zk_node_num_children(n));
	const struct zk_node *ch, *tmp;
	HASH_ITER(hh_child, n->children, ch, tmp) zk_jw_cstr(w, zk_node_name(ch));
}

static void write_acl_masked(struct zk_wbuf *w, const struct zk_acl_list *l, bool admin)
{
	zk_jw_int(w, l->n);
	for (int32_t i = 0; i < l->n; i++) {
		const struct zk_acl_entry *e = &l->v[i];
		zk_jw_int(w, e->perms);
		zk_jw_cstr(w, e->scheme);
		const char *colon = strchr(e->id, ':');
		if (!admin && !strcmp(e->scheme, "digest") && colon) {
			/* Without ADMIN a digest id shows "user:x", never the hash. */
			size_t ul = (size_t)(colon - e->id);
			zk_jw_int(w, (int32_t)ul + 2);
			zk_jw_raw(w, e->id, ul);
			zk_jw_raw(w, ":x", 2);
		} else {
			zk_jw_cstr(w, e->id);
		}
	}
}

static const struct zk_node *lookup(struct zk_server *s, struct zk_bytes path)
{
	if (path.len <= 0)
		return NULL;
	return zk_dtree_get(&s->db.tree, (const char *)path.p, (size_t)path.len);
}

/* One read op into w (multiRead reuses it); returns the error code (0 = body written). */
static int32_t read_op(struct zk_server *s, struct zk_conn *c, const struct zk_req *q, struct zk_wbuf *w,
                       bool set_watches)
{
	const struct zk_node *n = lookup(s, q->path);
	switch (q->op) {
	case ZK_OP_EXISTS:
		if (q->path.len < 0 || memchr(q->path.p, 0, (size_t)q->path.len))
			return ZBADARGUMENTS;
		if (q->watch && set_watches)
			zk_watches_add(&s->watches, (const char *)q->path.p, (size_t)q->path.len, c->id, ZK_W_DATA);
		if (!n)
			return ZNONODE;
		{
			struct zk_stat st;
			zk_node_stat(n, &st);
			zk_stat_write(w, &st);
		}
		return 0;
	case ZK_OP_GETDATA:
	case ZK_OP_GETCHILDREN:
	case ZK_OP_GETCHILDREN2:
	case ZK_OP_GETALLCHILDRENNUMBER: {
		if (!n)
			return ZNONODE;
		if (!can(s, c, n, ZK_PERM_READ))
			return ZNOAUTH;
		struct zk_stat st;
		zk_node_stat(n, &st);
		if (q->op == ZK_OP_GETDATA) {
			if (q->watch && set_watches)
				zk_watches_add(&s->watches, n->path, n->path_len, c->id, ZK_W_DATA);
			zk_jw_buffer(w, n->data, n->data_len);
			zk_stat_write(w, &st);
		} else if (q->op == ZK_OP_GETALLCHILDRENNUMBER) {
			zk_jw_int(w, (int32_t)zk_dtree_count_descendants(n));
		} else {
			if (q->watch && set_watches)
				zk_watches_add(&s->watches, n->path, n->path_len, c->id, ZK_W_CHILD);
			write_children(w, n);
			if (q->op == ZK_OP_GETCHILDREN2)
				zk_stat_write(w, &st);
		}
		return 0;
	}
	case ZK_OP_GETACL: {
		if (!n)
			return ZNONODE;
		if (!can(s, c, n, ZK_PERM_READ | ZK_PERM_ADMIN))
			return ZNOAUTH;
		struct zk_stat st;
		zk_node_stat(n, &st);
		write_acl_masked(w, n->acl, can(s, c, n, ZK_PERM_ADMIN));
		zk_stat_write(w, &st);
		return 0;
	}
	default:
		return ZUNIMPLEMENTED;
	}
}

static void set_watches(struct zk_server *s, struct zk_conn *c, const struct zk_req *q, struct zk_out *out)
{
	int lists = q->op == ZK_OP_SETWATCHES ? 3 : 5;
	s->cur_out = out;
	for (int i = 0; i < lists; i++) {
		struct zk_str_iter it;
		struct zk_bytes p;
		zk_str_iter_init(&it, &q->watches[i]);
		while (zk_str_iter_next(&it, &p)) {
			if (p.len <= 0)
				continue;
			const char *path = (const char *)p.p;
			size_t len = (size_t)p.len;
			const struct zk_node *n = zk_dtree_get(&s->db.tree, path, len);
			int ev = 0, kind = 0;
			switch (i) {
			case 0: /* data */
				ev = !n ? ZK_EV_DELETED : n->stat.mzxid > q->rel_zxid ? ZK_EV_DATA_CHANGED : 0;
				kind = ZK_W_DATA;
				break;
			case 1: /* exist */
				ev = n ? ZK_EV_CREATED : 0;
				kind = ZK_W_DATA;
				break;
			case 2: /* child */
				ev = !n ? ZK_EV_DELETED : n->stat.pzxid > q->rel_zxid ? ZK_EV_CHILDREN_CHANGED : 0;
				kind = ZK_W_CHILD;
				break;
			case 3:
				kind = ZK_W_PERSISTENT;
				break;
			case 4:
				kind = ZK_W_RECURSIVE;
				break;
			}
			if (ev) {
				size_t mark;
				struct zk_wbuf *w = zk_out_send_begin(out, &mark);
				zk_notification_write(w, ev, path, len);
				zk_out_send_end(out, c->id, mark);
				c->st.sent++;
				s->st.packets_sent++;
			} else {
				zk_watches_add(&s->watches, path, len, c->id, kind);
			}
		}
	}
}

static int watch_kinds(int32_t type)
{
	switch (type) {
	case ZK_WT_CHILDREN: return ZK_W_CHILD;
	case ZK_WT_DATA: return ZK_W_DATA;
	case ZK_WT_ANY: return ZK_W_CHILD | ZK_W_DATA | ZK_W_PERSISTENT | ZK_W_RECURSIVE;
	case 4: return ZK_W_PERSISTENT;
	case 5: return ZK_W_RECURSIVE;
	default: return 0;
	}
}

static void whoami(struct zk_conn *c, struct zk_wbuf *w)
{
	zk_jw_int(w, c->auth.n);
	for (int i = 0; i < c->auth.n; i++) {
		const struct zk_auth_id *id = &c->auth.ids[i];
		zk_jw_cstr(w, id->scheme);
		const char *colon = strchr(id->id, ':');
		if (!strcmp(id->scheme, "digest") && colon)
			zk_jw_ustring(w, id->id, (int32_t)(colon - id->id)); /* the user part only */
		else
			zk_jw_cstr(w, id->id);
	}
}

static void get_ephemerals(struct zk_server *s, struct zk_conn *c, const struct zk_req *q, struct zk_wbuf *w)
{
	const struct zk_eph_set *e = zk_dtree_ephemerals(&s->db.tree, c->session_id);
	size_t plen = q->path.len > 0 ? (size_t)q->path.len : 0;
	const char *pre = (const char *)q->path.p;
	/* "" or "/" (after trimming spaces, as Java's trim()) means all. */
	size_t a = 0, b = plen;
	while (a < b && (unsigned char)pre[a] <= ' ')
		a++;
	while (b > a && (unsigned char)pre[b - 1] <= ' ')
		b--;
	bool all = b == a || (b - a == 1 && pre[a] == '/');
	size_t count_at = w->len;
	zk_jw_int(w, 0);
	int32_t n = 0;
	for (const struct zk_node *x = e ? e->head : NULL; x; x = x->kind_next) {
		if (!all && (x->path_len < plen || memcmp(x->path, pre, plen)))
			continue;
		zk_jw_ustring(w, x->path, (int32_t)x->path_len);
		n++;
	}
	if (!w->err)
		zk_put_be32(w->p + count_at, (uint32_t)n);
}

static int32_t multi_read(struct zk_server *s, struct zk_conn *c, struct zk_rbuf *body, struct zk_wbuf *w)
{
	struct zk_multi_iter it;
	struct zk_req q;
	int rc;
	zk_multi_iter_init(&it, body);
	while ((rc = zk_multi_iter_next(&it, &q)) == 1)
		if (q.op != ZK_OP_GETCHILDREN && q.op != ZK_OP_GETDATA)
			break;
	if (rc != 0)
		return ZMARSHALLINGERROR; /* undecodable, or a write mixed in */
	zk_multi_iter_init(&it, body);
	while (zk_multi_iter_next(&it, &q) == 1) {
		size_t at = w->len;
		zk_multi_header_write(w, q.op, false, 0);
		int32_t err = read_op(s, c, &q, w, false);
		if (err) {
			w->len = at;
			zk_multi_header_write(w, ZK_OP_ERROR, false, err);
			zk_jw_int(w, err);
		}
	}
	zk_multi_header_write(w, -1, true, -1);
	return 0;
}

void zk_final_read(struct zk_server *s, struct zk_conn *c, int32_t xid, int32_t op, const uint8_t *body,
                   size_t len, int64_t recv_mono_ms, struct zk_out *out)
{
	struct zk_rbuf r;
	struct zk_req q;
	struct reply rp;
	int64_t zxid = s->db.last_zxid;
	zk_rbuf_init(&r, body, len, (size_t)s->cfg.jute_maxbuffer);
	if (op == ZK_OP_CHECK || op == ZK_OP_CREATESESSION || zk_req_decode(op, &r, &q) == ZK_EINVAL) {
		/* Unknown (or not-standalone) opcode: Unimplemented, then the connection goes. */
		zk_logf(&s->log, ZK_LOG_WARN, "unimplemented op=%d xid=%d remote=%s:%d", op, xid, c->ip, c->port);
		reply_begin(out, &rp, xid, -1, ZUNIMPLEMENTED);
		reply_end(s, c, out, &rp, op, xid, -1, recv_mono_ms);
		zk_server_close_conn(s, c, ZK_CLOSE_UNIMPLEMENTED, out);
		return;
	}
	if (r.err) {
		reply_begin(out, &rp, xid, zxid, ZMARSHALLINGERROR);
		reply_end(s, c, out, &rp, op, xid, zxid, recv_mono_ms);
		return;
	}
	/* Events of setWatches go before its reply: they are sent first, into the same batch. */
	if (op == ZK_OP_SETWATCHES || op == ZK_OP_SETWATCHES2)
		set_watches(s, c, &q, out);
	struct zk_wbuf *w = reply_begin(out, &rp, xid, zxid, 0);
	size_t header_at = w->len - 16;
	int32_t err = 0;
	switch (op) {
	case ZK_OP_PING:
	case ZK_OP_SETWATCHES:
	case ZK_OP_SETWATCHES2:
		break;
	case ZK_OP_SYNC:
		zk_jw_buffer(w, q.path.p, q.path.len);
		break;
	case ZK_OP_SASL:
		zk_jw_buffer(w, NULL, -1);
		break;
	case ZK_OP_ADDWATCH:
		if (q.path.len <= 0 || (q.type != ZK_AW_PERSISTENT && q.type != ZK_AW_PERSISTENT_RECURSIVE)) {
			err = ZBADARGUMENTS;
			break;
		}
		zk_watches_add(&s->watches, (const char *)q.path.p, (size_t)q.path.len, c->id,
			       q.type == ZK_AW_PERSISTENT ? ZK_W_PERSISTENT : ZK_W_RECURSIVE);
		zk_jw_int(w, 0);
		break;
	case ZK_OP_CHECKWATCHES:
	case ZK_OP_REMOVEWATCHES: {
		int kinds = watch_kinds(q.type);
		if (q.path.len <= 0 || !kinds) {
			err = ZBADARGUMENTS;
			break;
		}
		if (!zk_watches_remove(&s->watches, (const char *)q.path.p, (size_t)q.path.len, c->id, kinds,
				       op == ZK_OP_CHECKWATCHES))
			err = ZNOWATCHER;
		break;
	}
	case ZK_OP_WHOAMI:
		whoami(c, w);
		break;
	case ZK_OP_GETEPHEMERALS:
		get_ephemerals(s, c, &q, w);
		break;
	case ZK_OP_MULTIREAD:
		err = multi_read(s, c, &r, w);
		break;
	default:
		err = read_op(s, c, &q, w, true);
		break;
	}
	if (err) {
		w->len = header_at + 16;
		zk_put_be32(w->p + header_at + 12, (uint32_t)err);
	}
	reply_end(s, c, out, &rp, op, xid, zxid, recv_mono_ms);
}
