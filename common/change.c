/* Outstanding change records: see change.h. */
#include "change.h"

#include <string.h>

#include "zmalloc.h"

void zk_changes_init(struct zk_changes *c) { memset(c, 0, sizeof(*c)); }

static void change_free(struct zk_aclcache *acls, struct zk_change *x)
{
	if (x->rec.acl)
		zk_aclcache_release(acls, x->rec.acl);
	zk_free(x->path);
	zk_free(x);
}

void zk_changes_fini(struct zk_changes *c, struct zk_aclcache *acls)
{
	HASH_CLEAR(hh, c->map);
	struct zk_change *x = c->head;
	while (x) {
		struct zk_change *n = x->next;
		change_free(acls, x);
		x = n;
	}
	memset(c, 0, sizeof(*c));
}

bool zk_changes_get(const struct zk_changes *c, const struct zk_dtree *t, const char *path, size_t len,
                    struct zk_rec *out)
{
	struct zk_change *x = NULL;
	if (c->map)
		HASH_FIND(hh, c->map, path, len, x);
	if (x) {
		*out = x->rec;
		return x->rec.exists;
	}
	const struct zk_node *n = zk_dtree_get(t, path, len);
	if (!n) {
		memset(out, 0, sizeof(*out));
		return false;
	}
	out->exists = true;
	out->stat = n->stat;
	out->child_count = (int32_t)zk_node_num_children(n);
	out->acl = n->acl;
	return true;
}

int zk_changes_add(struct zk_changes *c, const char *path, size_t len, int64_t zxid, const struct zk_rec *rec)
{
	struct zk_change *x = zk_calloc(1, sizeof(*x));
	char *p = zk_strndup(path, len);
	if (!x || !p) {
		zk_free(x);
		zk_free(p);
		return -1;
	}
	x->path = p;
	x->len = len;
	x->zxid = zxid;
	x->rec = *rec;
	if (x->rec.acl)
		zk_aclcache_ref(x->rec.acl);
	struct zk_change *old = NULL;
	HASH_FIND(hh, c->map, p, len, old);
	if (old) {
		HASH_DELETE(hh, c->map, old);
		old->in_map = false;
	}
	x->prev_for_path = old;
	HASH_ADD_KEYPTR(hh, c->map, x->path, x->len, x);
	x->in_map = true;
	if (c->tail)
		c->tail->next = x;
	else
		c->head = x;
	c->tail = x;
	c->count++;
	return 0;
}

void zk_changes_commit(struct zk_changes *c, struct zk_aclcache *acls, int64_t zxid)
{
	while (c->head && c->head->zxid <= zxid) {
		struct zk_change *x = c->head;
		c->head = x->next;
		if (!c->head)
			c->tail = NULL;
		if (x->in_map)
			HASH_DELETE(hh, c->map, x);
		c->count--;
		change_free(acls, x);
	}
}

void zk_changes_rollback(struct zk_changes *c, struct zk_aclcache *acls, struct zk_change *mark)
{
	struct zk_change *x = mark ? mark->next : c->head;
	if (mark) {
		mark->next = NULL;
		c->tail = mark;
	} else {
		c->head = c->tail = NULL;
	}
	/* Undo in order: each record restores the one it shadowed. Records of this multi that
	 * shadow each other restore correctly since a later one's prev is the earlier one, which
	 * is itself undone after. */
	struct zk_change *list = NULL;
	while (x) { /* reverse so the newest is undone first */
		struct zk_change *n = x->next;
		x->next = list;
		list = x;
		x = n;
	}
	while (list) {
		struct zk_change *n = list->next;
		if (list->in_map) {
			HASH_DELETE(hh, c->map, list);
			struct zk_change *prev = list->prev_for_path;
			if (prev) {
				HASH_ADD_KEYPTR(hh, c->map, prev->path, prev->len, prev);
				prev->in_map = true;
			}
		}
		c->count--;
		change_free(acls, list);
		list = n;
	}
}
