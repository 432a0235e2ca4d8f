/* Snapshot format, loading side: see snapshot.h (layout, contract) and protocol.md 7.3 and 7.4.
 * The loader builds a new tree and session table aside and moves them into the database only
 * once every byte checked out, so a failed load leaves the database as it was (and a caller can
 * try the next snapshot file). Each check says which ZooKeeper behaviour it follows, or why it is
 * stricter (hostile input must not crash us nor leave a tree our other code cannot handle). */
#include "snapshot.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "errors.h"
#include "jute.h"
#include "log.h"
#include "path.h"
#include "zmalloc.h"

/* A second id for an ACL list already cached under another one (two ids with equal lists: the
 * cache interns by content, ZooKeeper's map keeps both ids). */
struct alias {
	int64_t id;
	struct zk_acl_list *l;
	UT_hash_handle hh;
};

struct snapl {
	struct zk_rbuf r;
	struct zk_dtree t;
	struct zk_sessions ss;
	struct alias *aliases;
	struct zk_snap_info *info;
	char *err;
	size_t err_len;
};

__attribute__((format(printf, 4, 5))) static int fail(struct snapl *l, int rc, size_t at, const char *fmt, ...)
{
	if (l->err_len) {
		int k = snprintf(l->err, l->err_len, "snapshot offset %zu: ", at);
		if (k >= 0 && (size_t)k < l->err_len) {
			va_list ap;
			va_start(ap, fmt);
			vsnprintf(l->err + k, l->err_len - (size_t)k, fmt, ap);
			va_end(ap);
		}
	}
	return rc;
}

/* After a run of reads: the reader's sticky error, described. */
static int read_failed(struct snapl *l, size_t at, const char *what)
{
	if (l->r.err == ZK_ESHORT)
		return fail(l, ZK_ESHORT, at, "%s: the snapshot ends early (%zu bytes)", what, l->r.len);
	return fail(l, l->r.err, at, "%s: length out of bounds", what);
}

static void warn(struct snapl *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(struct snapl *l, const char *fmt, ...)
{
	char *w = l->info->warning;
	size_t used = strlen(w);
	if (used + 3 >= sizeof(l->info->warning))
		return;
	if (used) {
		memcpy(w + used, "; ", 3);
		used += 2;
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(w + used, sizeof(l->info->warning) - used, fmt, ap);
	va_end(ap);
}

static int load_header(struct snapl *l)
{
	int32_t magic = zk_jr_int(&l->r);
	l->info->version = zk_jr_int(&l->r);
	l->info->dbid = zk_jr_long(&l->r);
	if (l->r.err)
		return read_failed(l, 0, "file header");
	if ((uint32_t)magic != ZK_SNAP_MAGIC)
		return fail(l, ZK_EINVAL, 0, "bad magic 0x%08" PRIx32 " (want 0x%08x \"ZKSN\")", (uint32_t)magic,
			    ZK_SNAP_MAGIC);
	return 0;
}

static int load_sessions(struct snapl *l)
{
	size_t at = l->r.pos;
	int32_t count = zk_jr_int(&l->r);
	if (l->r.err)
		return read_failed(l, at, "session count");
	if (count < 0)
		return fail(l, ZK_ERANGE, at, "session count %" PRId32, count);
	for (int32_t i = 0; i < count; i++) {
		at = l->r.pos;
		int64_t id = zk_jr_long(&l->r);
		int32_t timeout_ms = zk_jr_int(&l->r);
		if (l->r.err)
			return read_failed(l, at, "session");
		if (!zk_sessions_add(&l->ss, id, timeout_ms, 0))
			return fail(l, ZK_ENOMEM, at, "out of memory");
	}
	l->info->sessions = zk_sessions_count(&l->ss);
	return 0;
}

static int load_acls(struct snapl *l)
{
	size_t at = l->r.pos;
	int32_t count = zk_jr_int(&l->r);
	if (l->r.err)
		return read_failed(l, at, "ACL cache size");
	if (count < 0)
		return fail(l, ZK_ERANGE, at, "ACL cache size %" PRId32, count);
	for (int32_t i = 0; i < count; i++) {
		at = l->r.pos;
		int64_t id = zk_jr_long(&l->r);
		size_t start = l->r.pos;
		/* Not zk_acl_vec_read: a count beyond the bytes must read as "ends early" (a SNAP
		 * still arriving), and the elements bound the loop anyway (12 bytes at least). */
		int32_t n = zk_jr_int(&l->r);
		if (!l->r.err && n < -1)
			return fail(l, ZK_ERANGE, at, "ACL list %" PRId64 ": count %" PRId32, id, n);
		for (int32_t k = 0; k < n && !l->r.err; k++) {
			zk_jr_int(&l->r);
			zk_jr_buffer(&l->r);
			zk_jr_buffer(&l->r);
		}
		if (l->r.err)
			return read_failed(l, at, "ACL list");
		if (n < 0)
			return fail(l, ZK_EINVAL, at, "ACL list %" PRId64 " is null", id);
		/* -1 is OPEN_ACL_UNSAFE, never cached; INT64_MAX would overflow the next id. */
		if (id < 0 || id == INT64_MAX)
			return fail(l, ZK_EINVAL, at, "ACL id %" PRId64 " out of range", id);
		struct alias *a;
		HASH_FIND(hh, l->aliases, &id, sizeof(id), a);
		if (a || zk_aclcache_find_id(&l->t.acls, id))
			return fail(l, ZK_EINVAL, at, "ACL id %" PRId64 " listed twice", id);
		struct zk_acl_list *acl = zk_aclcache_intern_id(&l->t.acls, id, l->r.p + start, l->r.pos - start);
		if (!acl)
			return fail(l, ZK_ENOMEM, at, "out of memory");
		if (acl->id != id) {
			a = zk_calloc(1, sizeof(*a));
			if (!a) {
				zk_aclcache_release(&l->t.acls, acl);
				return fail(l, ZK_ENOMEM, at, "out of memory");
			}
			a->id = id;
			a->l = acl; /* holds the reference intern_id took */
			HASH_ADD(hh, l->aliases, id, sizeof(a->id), a);
			/* ZooKeeper's next id is above every id read, aliases included. */
			if (id >= l->t.acls.next_id)
				l->t.acls.next_id = id + 1;
		}
	}
	l->info->acl_lists = (uint32_t)count;
	return 0;
}

static struct zk_acl_list *acl_by_id(struct snapl *l, int64_t id)
{
	if (id == -1)
		return l->t.open_acl;
	struct zk_acl_list *acl = zk_aclcache_find_id(&l->t.acls, id);
	if (acl)
		return acl;
	struct alias *a;
	HASH_FIND(hh, l->aliases, &id, sizeof(id), a);
	return a ? a->l : NULL;
}

static void read_pstat(struct zk_rbuf *r, struct zk_pstat *s)
{
	s->czxid = zk_jr_long(r);
	s->mzxid = zk_jr_long(r);
	s->ctime = zk_jr_long(r);
	s->mtime = zk_jr_long(r);
	s->version = zk_jr_int(r);
	s->cversion = zk_jr_int(r);
	s->aversion = zk_jr_int(r);
	s->ephemeral_owner = zk_jr_long(r);
	s->pzxid = zk_jr_long(r);
}

static int load_node(struct snapl *l, size_t at, struct zk_bytes path)
{
	struct zk_bytes data = zk_jr_buffer(&l->r);
	int64_t acl_id = zk_jr_long(&l->r);
	struct zk_pstat st;
	read_pstat(&l->r, &st);
	if (l->r.err)
		return read_failed(l, at, "node");
	const char *p = "/";
	size_t len = 1;
	bool root = !l->t.root;
	if (root) {
		if (path.len != 0)
			return fail(l, ZK_EINVAL, at, "the first node is not the root (\"\")");
	} else {
		p = (const char *)path.p;
		len = (size_t)path.len;
		if (!zk_path_valid(p, len)) {
			char shown[160];
			zk_log_sanitize(p, len, shown, sizeof(shown));
			return fail(l, ZK_EINVAL, at, "invalid path \"%s\"", shown);
		}
	}
	struct zk_acl_list *acl = acl_by_id(l, acl_id);
	if (!acl)
		return fail(l, ZK_EINVAL, at, "%.*s: unknown ACL id %" PRId64, (int)(len > 200 ? 200 : len), p, acl_id);
	switch (zk_dtree_load_node(&l->t, p, len, data.p, data.len, acl, &st)) {
	case 0:
		return 0;
	case ZK_ENOENT:
		return fail(l, ZK_EINVAL, at, "%.*s: parent not seen before it", (int)(len > 200 ? 200 : len), p);
	case ZK_EEXIST:
		return fail(l, ZK_EINVAL, at, "%.*s: listed twice", (int)(len > 200 ? 200 : len), p);
	case ZK_EINVAL:
		return fail(l, ZK_EINVAL, at, "%.*s: child of an ephemeral node", (int)(len > 200 ? 200 : len), p);
	default:
		return fail(l, ZK_ENOMEM, at, "out of memory");
	}
}

static int load_nodes(struct snapl *l)
{
	for (;;) {
		size_t at = l->r.pos;
		struct zk_bytes path = zk_jr_buffer(&l->r);
		if (l->r.err)
			return read_failed(l, at, "node path");
		if (path.len < 0)
			return fail(l, ZK_EINVAL, at, "null node path");
		if (path.len == 1 && path.p[0] == '/')
			break; /* the end of the node list */
		int rc = load_node(l, at, path);
		if (rc)
			return rc;
	}
	if (!l->t.root)
		return fail(l, ZK_EINVAL, l->r.pos, "no root node");
	l->info->nodes = l->t.node_count;
	return 0;
}

/* SnapStream.checkSealIntegrity: the checksum of p[0..at) must follow, then "/". */
static int load_seal(struct snapl *l, uint32_t adler, const char *which)
{
	size_t at = l->r.pos;
	int64_t val = zk_jr_long(&l->r);
	struct zk_bytes slash = zk_jr_buffer(&l->r);
	if (l->r.err)
		return read_failed(l, at, which);
	if ((uint64_t)val != adler)
		return fail(l, ZK_EINVAL, at, "%s: checksum 0x%" PRIx64 " but the bytes give 0x%08" PRIx32, which,
			    (uint64_t)val, adler);
	if (slash.len != 1 || slash.p[0] != '/')
		return fail(l, ZK_EINVAL, at, "%s: not followed by \"/\"", which);
	return 0;
}

/* Long.parseLong(s, 16) of a version-1 digest. */
static int parse_hex_long(struct zk_bytes s, int64_t *out)
{
	if (s.len < 0) {
		*out = 0;
		return 0;
	}
	int32_t i = 0;
	bool neg = false;
	if (s.len > 0 && (s.p[0] == '-' || s.p[0] == '+'))
		neg = s.p[i++] == '-';
	if (i == s.len)
		return ZK_EINVAL;
	uint64_t v = 0;
	for (; i < s.len; i++) {
		uint8_t c = s.p[i];
		unsigned d = 16;
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a') + 10;
		else if (c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A') + 10;
		if (d > 15 || v > (UINT64_MAX >> 4))
			return ZK_EINVAL;
		v = (v << 4) | d;
	}
	if (v > (neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX))
		return ZK_EINVAL;
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

static int load_digest(struct snapl *l)
{
	size_t at = l->r.pos;
	struct zk_snap_info *in = l->info;
	in->digest_zxid = zk_jr_long(&l->r);
	in->digest_version = zk_jr_int(&l->r);
	if (in->digest_version >= 2) {
		in->digest = zk_jr_long(&l->r);
	} else {
		struct zk_bytes hex = zk_jr_buffer(&l->r);
		if (!l->r.err && parse_hex_long(hex, &in->digest))
			return fail(l, ZK_EINVAL, at, "digest: not a hex number");
	}
	if (l->r.err)
		return read_failed(l, at, "digest");
	return 0;
}

static int load_trailer(struct snapl *l, unsigned flags)
{
	const uint8_t *p = l->r.p;
	if (flags & ZK_SNAP_WIRE) {
		size_t at = l->r.pos;
		struct zk_bytes sig = zk_jr_buffer(&l->r);
		if (l->r.err)
			return read_failed(l, at, "signature");
		size_t n = strlen(ZK_SNAP_WIRE_SIGNATURE);
		if (sig.len != (int32_t)n || memcmp(sig.p, ZK_SNAP_WIRE_SIGNATURE, n))
			return fail(l, ZK_EINVAL, at, "missing signature " ZK_SNAP_WIRE_SIGNATURE);
		l->info->bytes_used = l->r.pos;
		return 0;
	}
	size_t seal1 = l->r.pos;
	uint32_t adler = zk_snap_adler32_update(1, p, seal1);
	int rc = load_seal(l, adler, "seal");
	if (rc)
		return rc;
	/* ZooKeeper reads the digest if anything follows (an older snapshot ends here). */
	if (zk_rbuf_left(&l->r)) {
		if ((rc = load_digest(l)))
			return rc;
		adler = zk_snap_adler32_update(adler, p + seal1, l->r.pos - seal1);
		if ((rc = load_seal(l, adler, "digest seal")))
			return rc;
		l->info->has_digest = true;
	}
	if (zk_rbuf_left(&l->r))
		return fail(l, ZK_EINVAL, l->r.pos, "%zu bytes after the last seal", zk_rbuf_left(&l->r));
	l->info->bytes_used = l->r.pos;
	return 0;
}

/* DataTree.purgeUnused: the stream's ACL cache holds one reference per list (and per alias);
 * what no node took is freed now. */
static void drop_load_refs(struct snapl *l)
{
	struct alias *a, *atmp;
	HASH_ITER(hh, l->aliases, a, atmp) {
		HASH_DEL(l->aliases, a);
		zk_aclcache_release(&l->t.acls, a->l);
		zk_free(a);
	}
	struct zk_acl_list *acl, *tmp;
	HASH_ITER(hh_id, l->t.acls.by_id, acl, tmp) zk_aclcache_release(&l->t.acls, acl);
}

/* A snapshot from an old or odd server may lack a built-in node: add it as DataTree's
 * constructor makes it (zero stat; /zookeeper/config READ world:anyone, aversion -1). */
static int add_builtins(struct snapl *l)
{
	static const uint8_t read_acl[] = {0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 5, 'w', 'o', 'r', 'l', 'd',
					   0, 0, 0, 6, 'a', 'n', 'y', 'o', 'n', 'e'};
	static const char *const paths[] = {"/zookeeper", "/zookeeper/quota", "/zookeeper/config"};
	for (size_t i = 0; i < 3; i++) {
		size_t len = strlen(paths[i]);
		if (zk_dtree_get(&l->t, paths[i], len))
			continue;
		struct zk_pstat st = {0};
		struct zk_acl_list *acl = l->t.open_acl;
		if (i == 2) {
			st.aversion = -1;
			acl = zk_aclcache_intern(&l->t.acls, read_acl, sizeof(read_acl));
			if (!acl)
				return fail(l, ZK_ENOMEM, l->r.pos, "out of memory");
		}
		int rc = zk_dtree_load_node(&l->t, paths[i], len, (const uint8_t *)"", 0, acl, &st);
		if (i == 2)
			zk_aclcache_release(&l->t.acls, acl);
		if (rc == ZK_ENOMEM)
			return fail(l, ZK_ENOMEM, l->r.pos, "out of memory");
		if (rc)
			return fail(l, ZK_EINVAL, l->r.pos, "cannot add missing %s", paths[i]);
		warn(l, "added missing %s", paths[i]);
	}
	return 0;
}

static void compare_digest(struct snapl *l, unsigned flags)
{
	struct zk_snap_info *in = l->info;
	in->digest_check = ZK_SNAP_DIGEST_NONE;
	/* deserializeZxidDigest: zxid 0 is "none"; one older than the snapshot is ignored. */
	if (!in->has_digest || (flags & ZK_SNAP_NO_DIGEST) || in->digest_zxid <= 0 || in->digest_zxid < in->zxid)
		return;
	if (in->digest_zxid > in->zxid) {
		in->digest_check = ZK_SNAP_DIGEST_DEFERRED;
		return;
	}
	zk_snap_digest_at(in, in->zxid, l->t.digest);
	if (in->digest_check == ZK_SNAP_DIGEST_MISMATCH)
		warn(l, "digest mismatch at zxid 0x%" PRIx64 ": snapshot %" PRId64 ", tree %" PRId64,
		     (uint64_t)in->zxid, in->digest, (int64_t)l->t.digest);
}

enum zk_snap_digest_check zk_snap_digest_at(struct zk_snap_info *info, int64_t zxid, uint64_t tree_digest)
{
	bool due = info->has_digest && info->digest_zxid == zxid &&
		   (info->digest_check == ZK_SNAP_DIGEST_DEFERRED || zxid == info->zxid);
	if (!due)
		return ZK_SNAP_DIGEST_NONE;
	if (info->digest_version != ZK_SNAP_DIGEST_VERSION)
		info->digest_check = ZK_SNAP_DIGEST_OLD_VERSION;
	else if ((uint64_t)info->digest == tree_digest)
		info->digest_check = ZK_SNAP_DIGEST_MATCH;
	else
		info->digest_check = ZK_SNAP_DIGEST_MISMATCH;
	return info->digest_check;
}

static int load_all(struct snapl *l, unsigned flags)
{
	int rc;
	if (!(flags & ZK_SNAP_WIRE) && (rc = load_header(l)))
		return rc;
	if ((rc = load_sessions(l)) || (rc = load_acls(l)) || (rc = load_nodes(l)) || (rc = load_trailer(l, flags)))
		return rc;
	drop_load_refs(l);
	return add_builtins(l);
}

int zk_snap_load(struct zk_db *db, const uint8_t *p, size_t n, int64_t zxid, unsigned flags,
                 struct zk_snap_info *info, char *err, size_t err_len)
{
	struct zk_snap_info local;
	struct snapl l;
	memset(&l, 0, sizeof(l));
	l.info = info ? info : &local;
	memset(l.info, 0, sizeof(*l.info));
	l.err = err;
	l.err_len = err_len;
	if (err_len)
		err[0] = 0;
	if (zk_dtree_init_empty(&l.t))
		return fail(&l, ZK_ENOMEM, 0, "out of memory");
	zk_sessions_init(&l.ss, db->sessions.interval_ms, 0, 0);
	zk_rbuf_init(&l.r, p, n, INT32_MAX);
	int rc = load_all(&l, flags);
	if (rc) {
		struct alias *a, *atmp;
		HASH_ITER(hh, l.aliases, a, atmp) {
			HASH_DEL(l.aliases, a);
			zk_free(a);
		}
		zk_dtree_fini(&l.t);
		zk_sessions_fini(&l.ss);
		return rc;
	}
	/* The zxid is the file name's; without one, the digest block's (protocol.md 7.3). */
	if (zxid < 0)
		zxid = l.info->has_digest && l.info->digest_zxid > 0 ? l.info->digest_zxid : 0;
	l.info->zxid = zxid;
	compare_digest(&l, flags);
	zk_dtree_event_fn on_event = db->tree.on_event;
	void *event_ctx = db->tree.event_ctx;
	zk_dtree_fini(&db->tree);
	db->tree = l.t; /* uthash heads and utlist heads move with a plain copy */
	db->tree.on_event = on_event;
	db->tree.event_ctx = event_ctx;
	zk_sessions_move_table(&db->sessions, &l.ss);
	zk_sessions_fini(&l.ss);
	db->last_zxid = zxid;
	return 0;
}
