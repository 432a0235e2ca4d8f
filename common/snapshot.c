/* Snapshot format, writing side: see snapshot.h (layout) and protocol.md 7.3; the loader is in
 * snapshot_load.c. The writer walks the tree without recursion (paths are client-controlled, so
 * depth is too) and streams through a fixed buffer. Also file names and the purge rule. */
#include "snapshot.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "errors.h"
#include "jute.h"

#define STAT_BYTES 60 /* StatPersisted */
_Static_assert(sizeof(ZK_SNAP_WIRE_SIGNATURE) - 1 == 10, "SNAP signature is the 10 bytes BenWasHere");

uint32_t zk_snap_adler32_update(uint32_t adler, const void *p, size_t n)
{
	const uint8_t *b = p;
	uint32_t a = adler & 0xffff, s = adler >> 16;
	while (n > 0) {
		size_t chunk = n < 5552 ? n : 5552; /* largest run before s can overflow 32 bits */
		n -= chunk;
		while (chunk--) {
			a += *b++;
			s += a;
		}
		a %= 65521;
		s %= 65521;
	}
	return (s << 16) | a;
}

/* ---- writer ---- */

struct snapw {
	zk_snap_sink_fn sink;
	void *ctx;
	uint32_t adler; /* of every byte handed to the sink so far */
	int err;
	size_t len;
	uint8_t buf[ZK_SNAP_CHUNK_BYTES];
};

static void w_flush(struct snapw *w)
{
	if (!w->err && w->len) {
		w->adler = zk_snap_adler32_update(w->adler, w->buf, w->len);
		w->err = w->sink(w->ctx, w->buf, w->len);
	}
	w->len = 0;
}

static void w_raw(struct snapw *w, const void *p, size_t n)
{
	if (w->err || n == 0)
		return;
	if (n >= sizeof(w->buf)) { /* big node data: straight through, no copy */
		w_flush(w);
		if (w->err)
			return;
		w->adler = zk_snap_adler32_update(w->adler, p, n);
		w->err = w->sink(w->ctx, p, n);
		return;
	}
	if (sizeof(w->buf) - w->len < n)
		w_flush(w);
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

static void w_int(struct snapw *w, int32_t v)
{
	uint8_t b[4];
	zk_put_be32(b, (uint32_t)v);
	w_raw(w, b, 4);
}

static void w_long(struct snapw *w, int64_t v)
{
	uint8_t b[8];
	zk_put_be64(b, (uint64_t)v);
	w_raw(w, b, 8);
}

static void w_buffer(struct snapw *w, const void *p, int32_t len)
{
	w_int(w, len < 0 ? -1 : len);
	if (len > 0)
		w_raw(w, p, (size_t)len);
}

/* SnapStream.sealStream: the checksum of everything so far, then the string "/". */
static void w_seal(struct snapw *w)
{
	w_flush(w);
	w_long(w, (int64_t)w->adler);
	w_buffer(w, "/", 1);
}

static void w_node(struct snapw *w, const struct zk_node *n)
{
	if (n->parent)
		w_buffer(w, n->path, (int32_t)n->path_len);
	else
		w_buffer(w, "", 0); /* the root is "" in a snapshot */
	w_buffer(w, n->data, n->data_len);
	w_long(w, n->acl && n->acl->id >= 0 ? n->acl->id : -1);
	const struct zk_pstat *s = &n->stat;
	uint8_t b[STAT_BYTES];
	zk_put_be64(b + 0, (uint64_t)s->czxid);
	zk_put_be64(b + 8, (uint64_t)s->mzxid);
	zk_put_be64(b + 16, (uint64_t)s->ctime);
	zk_put_be64(b + 24, (uint64_t)s->mtime);
	zk_put_be32(b + 32, (uint32_t)s->version);
	zk_put_be32(b + 36, (uint32_t)s->cversion);
	zk_put_be32(b + 40, (uint32_t)s->aversion);
	zk_put_be64(b + 44, (uint64_t)s->ephemeral_owner);
	zk_put_be64(b + 52, (uint64_t)s->pzxid);
	w_raw(w, b, sizeof(b));
}

static const struct zk_node *next_sibling(const struct zk_node *n) { return n->hh_child.next; }

/* DataTree.serializeNode without recursion: a node, then its children, each child's subtree
 * before the next sibling. */
static void w_nodes(struct snapw *w, const struct zk_node *root)
{
	w_node(w, root);
	const struct zk_node *n = root->children;
	while (n && !w->err) {
		w_node(w, n);
		if (n->children) {
			n = n->children;
			continue;
		}
		while (n != root && !next_sibling(n))
			n = n->parent;
		n = n == root ? NULL : next_sibling(n);
	}
}

static void w_body(struct snapw *w, const struct zk_db *db)
{
	const struct zk_sessions *ss = &db->sessions;
	w_int(w, (int32_t)zk_sessions_count(ss));
	for (const struct zk_session *x = ss->by_id; x; x = x->hh.next) {
		w_long(w, x->id);
		w_int(w, x->timeout_ms);
	}
	const struct zk_aclcache *c = &db->tree.acls;
	w_int(w, (int32_t)HASH_CNT(hh_id, c->by_id));
	for (const struct zk_acl_list *l = c->by_id; l; l = l->hh_id.next) {
		w_long(w, l->id);
		w_raw(w, l->bytes, l->nbytes); /* the canonical vector<ACL>, count included */
	}
	if (db->tree.root)
		w_nodes(w, db->tree.root);
	w_buffer(w, "/", 1);
}

int zk_snap_write(const struct zk_db *db, int64_t zxid, unsigned flags, zk_snap_sink_fn sink, void *ctx)
{
	struct snapw w; /* not zero-filled: only the first len bytes of buf are ever read */
	w.sink = sink;
	w.ctx = ctx;
	w.adler = 1;
	w.err = 0;
	w.len = 0;
	if (flags & ZK_SNAP_WIRE) {
		w_body(&w, db);
		w_buffer(&w, ZK_SNAP_WIRE_SIGNATURE, (int32_t)strlen(ZK_SNAP_WIRE_SIGNATURE));
		w_flush(&w);
		return w.err;
	}
	w_int(&w, ZK_SNAP_MAGIC);
	w_int(&w, ZK_SNAP_VERSION);
	w_long(&w, ZK_SNAP_DBID);
	w_body(&w, db);
	w_seal(&w);
	if (!(flags & ZK_SNAP_NO_DIGEST)) {
		/* DataTree.serializeZxidDigest: a fresh database has no digest yet ({0, 2, 0}). */
		w_long(&w, zxid > 0 ? zxid : 0);
		w_int(&w, ZK_SNAP_DIGEST_VERSION);
		w_long(&w, zxid > 0 ? (int64_t)db->tree.digest : 0);
		w_seal(&w);
	}
	w_flush(&w);
	return w.err;
}

/* ---- names and purging ---- */

int zk_snap_name_format(char *out, size_t out_len, int64_t zxid)
{
	if (zxid < 0)
		return ZK_EINVAL;
	int k = snprintf(out, out_len, ZK_SNAP_PREFIX "%" PRIx64, (uint64_t)zxid);
	return k < 0 || (size_t)k >= out_len ? ZK_ENOSPC : k;
}

int zk_snap_name_parse(const char *name, int64_t *zxid)
{
	size_t plen = strlen(ZK_SNAP_PREFIX);
	if (strncmp(name, ZK_SNAP_PREFIX, plen))
		return ZK_EINVAL;
	const char *h = name + plen;
	size_t nd = 0;
	uint64_t v = 0;
	while ((h[nd] >= '0' && h[nd] <= '9') || (h[nd] >= 'a' && h[nd] <= 'f')) {
		if (nd == 16)
			return ZK_EINVAL;
		v = (v << 4) | (uint64_t)(h[nd] <= '9' ? h[nd] - '0' : h[nd] - 'a' + 10);
		nd++;
	}
	if (nd == 0 || (nd > 1 && h[0] == '0') || v > INT64_MAX)
		return ZK_EINVAL;
	const char *rest = h + nd;
	int rc;
	if (!*rest)
		rc = 0;
	else if (!strcmp(rest, ".gz") || !strcmp(rest, ".snappy"))
		rc = 1;
	else
		return ZK_EINVAL;
	*zxid = (int64_t)v;
	return rc;
}

bool zk_snap_tail_ok(const uint8_t *tail, uint64_t file_bytes)
{
	static const uint8_t seal_end[5] = {0, 0, 0, 1, '/'};
	return file_bytes >= ZK_SNAP_MIN_BYTES && !memcmp(tail, seal_end, sizeof(seal_end));
}

void zk_snap_purge_cuts(const int64_t *snaps, size_t n_snaps, const int64_t *logs, size_t n_logs, int retain,
                        int64_t *snap_cut, int64_t *log_cut)
{
	*snap_cut = INT64_MIN;
	*log_cut = INT64_MIN;
	if (retain < ZK_SNAP_RETAIN_MIN)
		retain = ZK_SNAP_RETAIN_MIN;
	if (n_snaps == 0)
		return;
	size_t keep = n_snaps < (size_t)retain ? n_snaps : (size_t)retain;
	int64_t least = snaps[n_snaps - keep];
	*snap_cut = least;
	/* FileTxnLog.getLogFiles(least): the newest log starting at or before it, and all later. */
	for (size_t i = 0; i < n_logs && logs[i] <= least; i++)
		*log_cut = logs[i];
}
