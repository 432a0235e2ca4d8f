/* Data tree: see dtree.h. Semantics follow ZooKeeper's DataTree (createNode, deleteNode,
 * setData, setACL, killSession) and the digest of DigestCalculator (protocol.md section 6). */
#include "dtree.h"

#include <string.h>
#include <utlist.h>

#include "crc32.h"
#include "jute.h"
#include "proto.h"
#include "zmalloc.h"

bool zk_owner_is_session(int64_t owner)
{
	return owner != 0 && owner != ZK_OWNER_CONTAINER && (owner & ZK_OWNER_TTL_MASK) != ZK_OWNER_TTL_MASK;
}

static bool is_container(int64_t owner) { return owner == ZK_OWNER_CONTAINER; }
static bool is_ttl(int64_t owner) { return owner != ZK_OWNER_CONTAINER && (owner & ZK_OWNER_TTL_MASK) == ZK_OWNER_TTL_MASK; }

size_t zk_path_parent_len(const char *path, size_t len)
{
	while (len > 0 && path[len - 1] != '/')
		len--;
	return len > 1 ? len - 1 : 1;
}

/* Only nodes outside /zookeeper/ count towards the digest (DigestCalculator). */
static bool digested(const struct zk_node *n)
{
	return !(n->path_len > 11 && !memcmp(n->path, "/zookeeper/", 11));
}

static uint32_t node_digest(const struct zk_node *n)
{
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
	return zk_crc32_update(c, st, sizeof(st));
}

/* Call before changing a node; digest_add after. The digest is a plain 64-bit sum, so a
 * change is "remove old, add new". */
static void digest_remove(struct zk_dtree *t, struct zk_node *n)
{
	if (digested(n))
		t->digest -= n->digest;
}

static void digest_add(struct zk_dtree *t, struct zk_node *n)
{
	if (!digested(n))
		return;
	n->digest = node_digest(n);
	t->digest += n->digest;
}

struct zk_node *zk_dtree_get(const struct zk_dtree *t, const char *path, size_t len)
{
	struct zk_node *n;
	HASH_FIND(hh, t->nodes, path, len, n);
	return n;
}

void zk_node_stat(const struct zk_node *n, struct zk_stat *o)
{
	const struct zk_pstat *s = &n->stat;
	uint32_t nc = zk_node_num_children(n);
	o->czxid = s->czxid;
	o->mzxid = s->mzxid;
	o->ctime = s->ctime;
	o->mtime = s->mtime;
	o->version = s->version;
	o->cversion = (int32_t)((uint32_t)s->cversion * 2u - nc);
	o->aversion = s->aversion;
	o->ephemeral_owner = zk_owner_is_session(s->ephemeral_owner) ? s->ephemeral_owner : 0;
	o->data_length = n->data_len < 0 ? 0 : n->data_len;
	o->num_children = (int32_t)nc;
	o->pzxid = s->pzxid;
}

static struct zk_node *node_new(const char *path, size_t len, const uint8_t *data, int32_t data_len)
{
	struct zk_node *n = zk_calloc(1, sizeof(*n) + len + 1);
	if (!n)
		return NULL;
	memcpy(n->path, path, len);
	n->path[len] = 0;
	n->path_len = (uint32_t)len;
	const char *slash = memrchr(path, '/', len);
	n->name_off = slash ? (uint32_t)(slash - path) + 1 : 0;
	n->data_len = -1;
	if (data_len >= 0) {
		n->data = zk_malloc((size_t)data_len);
		if (!n->data) {
			zk_free(n);
			return NULL;
		}
		if (data_len)
			memcpy(n->data, data, (size_t)data_len);
		n->data_len = data_len;
	}
	return n;
}

static void emit(struct zk_dtree *t, int type, const char *path, size_t len)
{
	if (t->on_event)
		t->on_event(t->event_ctx, type, path, len);
}

static struct zk_eph_set *eph_set(struct zk_dtree *t, int64_t sid, bool create)
{
	struct zk_eph_set *e;
	HASH_FIND(hh, t->ephemerals, &sid, sizeof(sid), e);
	if (!e && create) {
		e = zk_calloc(1, sizeof(*e));
		if (!e)
			return NULL;
		e->session_id = sid;
		HASH_ADD(hh, t->ephemerals, session_id, sizeof(e->session_id), e);
	}
	return e;
}

static struct zk_node **kind_list(struct zk_dtree *t, int64_t owner, bool create)
{
	if (is_container(owner))
		return &t->containers;
	if (is_ttl(owner))
		return &t->ttls;
	if (zk_owner_is_session(owner)) {
		struct zk_eph_set *e = eph_set(t, owner, create);
		return e ? &e->head : NULL;
	}
	return NULL;
}

/* The root is never on a kind list (ZooKeeper's deserialize skips it too); for other nodes
 * only eph_set's allocation can fail, and then nothing has been changed. */
static int attach(struct zk_dtree *t, struct zk_node *parent, struct zk_node *n)
{
	struct zk_node **list = parent ? kind_list(t, n->stat.ephemeral_owner, true) : NULL;
	if (parent && !list && zk_owner_is_session(n->stat.ephemeral_owner))
		return ZK_ENOMEM;
	HASH_ADD_KEYPTR(hh, t->nodes, n->path, n->path_len, n);
	if (parent) {
		const char *name = zk_node_name(n);
		HASH_ADD_KEYPTR(hh_child, parent->children, name, strlen(name), n);
	}
	n->parent = parent;
	if (list) {
		DL_APPEND2(*list, n, kind_prev, kind_next);
		if (zk_owner_is_session(n->stat.ephemeral_owner))
			eph_set(t, n->stat.ephemeral_owner, false)->count++;
	}
	t->node_count++;
	t->data_bytes += n->path_len + (n->data_len > 0 ? (uint64_t)n->data_len : 0);
	digest_add(t, n);
	return 0;
}

int zk_dtree_init(struct zk_dtree *t)
{
	memset(t, 0, sizeof(*t));
	zk_aclcache_init(&t->acls);
	/* Built-in nodes as a fresh ZooKeeper 3.8 database has them (protocol.md 2.7). */
	static const uint8_t open_acl[] = {0, 0, 0, 1, 0, 0, 0, 31, 0, 0, 0, 5, 'w', 'o', 'r', 'l', 'd',
					   0, 0, 0, 6, 'a', 'n', 'y', 'o', 'n', 'e'};
	static const uint8_t read_acl[] = {0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 5, 'w', 'o', 'r', 'l', 'd',
					   0, 0, 0, 6, 'a', 'n', 'y', 'o', 'n', 'e'};
	struct zk_acl_list *open = zk_acl_list_new_unshared(-1, open_acl, sizeof(open_acl));
	struct zk_acl_list *ro = zk_aclcache_intern(&t->acls, read_acl, sizeof(read_acl));
	struct zk_node *root = node_new("/", 1, (const uint8_t *)"", 0);
	struct zk_node *zk = node_new("/zookeeper", 10, (const uint8_t *)"", 0);
	struct zk_node *quota = node_new("/zookeeper/quota", 16, (const uint8_t *)"", 0);
	struct zk_node *config = node_new("/zookeeper/config", 17, (const uint8_t *)"", 0);
	if (!open || !ro || !root || !zk || !quota || !config) {
		zk_free(root);
		zk_free(zk);
		zk_free(quota);
		zk_free(config);
		zk_acl_list_free(open);
		zk_aclcache_fini(&t->acls);
		return ZK_ENOMEM;
	}
	root->acl = open;
	zk->acl = open;
	quota->acl = open;
	config->acl = ro;
	config->stat.aversion = -1;
	/* The open list is shared by three nodes; it is never released through the cache. */
	t->open_acl = open;
	attach(t, NULL, root);
	t->root = root;
	attach(t, root, zk);
	/* config before quota: the order of ZooKeeper 3.8's snapshot.0 (its HashSet order), so a
	 * fresh database's snapshot is byte for byte Apache's. */
	attach(t, zk, config);
	attach(t, zk, quota);
	return 0;
}

static void node_free(struct zk_dtree *t, struct zk_node *n)
{
	zk_aclcache_release(&t->acls, n->acl);
	zk_free(n->data);
	zk_free(n);
}

int zk_dtree_init_empty(struct zk_dtree *t)
{
	static const uint8_t open_acl[] = {0, 0, 0, 1, 0, 0, 0, 31, 0, 0, 0, 5, 'w', 'o', 'r', 'l', 'd',
					   0, 0, 0, 6, 'a', 'n', 'y', 'o', 'n', 'e'};
	memset(t, 0, sizeof(*t));
	zk_aclcache_init(&t->acls);
	t->open_acl = zk_acl_list_new_unshared(-1, open_acl, sizeof(open_acl));
	return t->open_acl ? 0 : ZK_ENOMEM;
}

int zk_dtree_load_node(struct zk_dtree *t, const char *path, size_t len, const uint8_t *data, int32_t data_len,
                       struct zk_acl_list *acl, const struct zk_pstat *stat)
{
	struct zk_node *parent = NULL;
	if (len == 1 && path[0] == '/') {
		if (t->root)
			return ZK_EEXIST;
	} else {
		if (len < 2 || path[0] != '/')
			return ZK_EINVAL;
		parent = zk_dtree_get(t, path, zk_path_parent_len(path, len));
		if (!parent)
			return ZK_ENOENT;
		if (zk_owner_is_session(parent->stat.ephemeral_owner))
			return ZK_EINVAL;
		if (zk_dtree_get(t, path, len))
			return ZK_EEXIST;
	}
	struct zk_node *n = node_new(path, len, data, data_len);
	if (!n)
		return ZK_ENOMEM;
	n->stat = *stat;
	n->acl = acl;
	if (attach(t, parent, n)) {
		zk_free(n->data);
		zk_free(n);
		return ZK_ENOMEM;
	}
	if (acl)
		zk_aclcache_ref(acl);
	if (!parent)
		t->root = n;
	return 0;
}

void zk_dtree_fini(struct zk_dtree *t)
{
	struct zk_acl_list *open = t->open_acl;
	struct zk_node *n, *tmp;
	HASH_ITER(hh, t->nodes, n, tmp) {
		HASH_CLEAR(hh_child, n->children);
		HASH_DELETE(hh, t->nodes, n);
		node_free(t, n);
	}
	struct zk_eph_set *e, *etmp;
	HASH_ITER(hh, t->ephemerals, e, etmp) {
		HASH_DELETE(hh, t->ephemerals, e);
		zk_free(e);
	}
	zk_acl_list_free(open);
	zk_aclcache_fini(&t->acls);
	memset(t, 0, sizeof(*t));
}

zk_code zk_dtree_create(struct zk_dtree *t, const char *path, size_t len, const uint8_t *data, int32_t data_len,
                        struct zk_acl_list *acl, int64_t owner, int32_t parent_cversion, int64_t zxid,
                        int64_t time_ms)
{
	if (len < 2 || path[0] != '/')
		return ZBADARGUMENTS;
	size_t plen = zk_path_parent_len(path, len);
	struct zk_node *parent = zk_dtree_get(t, path, plen);
	if (!parent)
		return ZNONODE;
	if (zk_dtree_get(t, path, len))
		return ZNODEEXISTS;
	struct zk_node *n = node_new(path, len, data, data_len);
	if (!n)
		return ZSYSTEMERROR;
	n->stat = (struct zk_pstat){zxid, zxid, time_ms, time_ms, 0, 0, 0, owner, zxid};
	n->acl = acl;
	/* Attach first: it can only fail (ENOMEM) before changing anything. */
	if (attach(t, parent, n)) {
		zk_free(n->data);
		zk_free(n);
		return ZSYSTEMERROR;
	}
	if (acl)
		zk_aclcache_ref(acl);
	digest_remove(t, parent);
	if (parent_cversion == -1) /* wraps past INT32_MAX as Java's int does */
		parent_cversion = (int32_t)((uint32_t)parent->stat.cversion + 1u);
	/* Replays may apply a create twice; cversion only moves forward. */
	if (parent_cversion > parent->stat.cversion) {
		parent->stat.cversion = parent_cversion;
		parent->stat.pzxid = zxid;
	}
	digest_add(t, parent);
	emit(t, ZK_EV_CREATED, n->path, n->path_len);
	emit(t, ZK_EV_CHILDREN_CHANGED, parent->path, parent->path_len);
	return ZOK;
}

zk_code zk_dtree_delete(struct zk_dtree *t, const char *path, size_t len, int64_t zxid)
{
	struct zk_node *n = zk_dtree_get(t, path, len);
	if (!n || !n->parent)
		return ZNONODE;
	if (n->children)
		return ZNOTEMPTY;
	struct zk_node *parent = n->parent;
	int64_t owner = n->stat.ephemeral_owner;
	struct zk_node **list = kind_list(t, owner, false);
	if (list) {
		DL_DELETE2(*list, n, kind_prev, kind_next);
		if (zk_owner_is_session(owner)) {
			struct zk_eph_set *e = eph_set(t, owner, false);
			if (--e->count == 0) {
				HASH_DELETE(hh, t->ephemerals, e);
				zk_free(e);
			}
		}
	}
	digest_remove(t, n);
	HASH_DELETE(hh, t->nodes, n);
	HASH_DELETE(hh_child, parent->children, n);
	t->node_count--;
	t->data_bytes -= n->path_len + (n->data_len > 0 ? (uint64_t)n->data_len : 0);
	digest_remove(t, parent);
	if (zxid > parent->stat.pzxid)
		parent->stat.pzxid = zxid;
	digest_add(t, parent);
	/* Events name the path, which lives in the node: emit before freeing. */
	emit(t, ZK_EV_DELETED, n->path, n->path_len);
	emit(t, ZK_EV_CHILDREN_CHANGED, parent->path, parent->path_len);
	node_free(t, n);
	return ZOK;
}

zk_code zk_dtree_set_data(struct zk_dtree *t, const char *path, size_t len, const uint8_t *data,
                          int32_t data_len, int32_t version, int64_t zxid, int64_t time_ms)
{
	struct zk_node *n = zk_dtree_get(t, path, len);
	if (!n)
		return ZNONODE;
	uint8_t *copy = NULL;
	if (data_len > 0) {
		copy = zk_malloc((size_t)data_len);
		if (!copy)
			return ZSYSTEMERROR;
		memcpy(copy, data, (size_t)data_len);
	} else if (data_len == 0) {
		copy = zk_malloc(1);
		if (!copy)
			return ZSYSTEMERROR;
	}
	digest_remove(t, n);
	t->data_bytes -= n->data_len > 0 ? (uint64_t)n->data_len : 0;
	zk_free(n->data);
	n->data = copy;
	n->data_len = data_len < 0 ? -1 : data_len;
	t->data_bytes += n->data_len > 0 ? (uint64_t)n->data_len : 0;
	n->stat.version = version;
	n->stat.mzxid = zxid;
	n->stat.mtime = time_ms;
	digest_add(t, n);
	emit(t, ZK_EV_DATA_CHANGED, n->path, n->path_len);
	return ZOK;
}

zk_code zk_dtree_set_acl(struct zk_dtree *t, const char *path, size_t len, struct zk_acl_list *acl,
                         int32_t aversion)
{
	struct zk_node *n = zk_dtree_get(t, path, len);
	if (!n)
		return ZNONODE;
	digest_remove(t, n);
	zk_aclcache_ref(acl);
	zk_aclcache_release(&t->acls, n->acl);
	n->acl = acl;
	n->stat.aversion = aversion;
	digest_add(t, n);
	return ZOK;
}

void zk_dtree_kill_session(struct zk_dtree *t, int64_t session_id, int64_t zxid)
{
	/* Passes over the list until one deletes nothing: a node that cannot go (an ephemeral with
	 * children, which only replayed or fuzzed txns can make) must not spin this loop forever.
	 * The last successful delete frees the set: never touch it after that. */
	for (;;) {
		struct zk_eph_set *e = eph_set(t, session_id, false);
		if (!e)
			return;
		bool progress = false;
		for (struct zk_node *n = e->head, *next; n; n = next) {
			next = n->kind_next;
			uint32_t left = e->count;
			if (zk_dtree_delete(t, n->path, n->path_len, zxid) == ZOK) {
				if (left == 1)
					return;
				progress = true;
			}
		}
		if (!progress)
			return;
	}
}

const struct zk_eph_set *zk_dtree_ephemerals(const struct zk_dtree *t, int64_t session_id)
{
	struct zk_eph_set *e;
	HASH_FIND(hh, t->ephemerals, &session_id, sizeof(session_id), e);
	return e;
}

static const struct zk_node *next_sibling(const struct zk_node *n)
{
	return n->hh_child.next ? (const struct zk_node *)n->hh_child.next : NULL;
}

/* Stackless pre-order walk (child, then sibling, then up): depth is client-controlled. */
uint64_t zk_dtree_count_descendants(const struct zk_node *top)
{
	uint64_t c = 0;
	const struct zk_node *n = top->children;
	while (n) {
		c++;
		if (n->children) {
			n = n->children;
			continue;
		}
		while (n != top && !next_sibling(n))
			n = n->parent;
		if (n == top)
			break;
		n = next_sibling(n);
	}
	return c;
}
