/* The data tree: znodes in a uthash table keyed by full path, each with a child table keyed by
 * name (the child's own handle, so a child set costs no allocation), per-session ephemeral lists,
 * and lists of containers and TTL nodes for the reaper. Mutations are the txn-level operations of
 * ZooKeeper's DataTree (no validation beyond keeping the tree consistent: prep validates); each
 * one reports watch events through a callback. No I/O, no clock. */
#ifndef ZK_DTREE_H
#define ZK_DTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uthash.h>

#include "acl.h"
#include "records.h"

/* StatPersisted: the stored stat (cversion counts child creations; ephemeralOwner keeps the
 * container/TTL encodings). */
struct zk_pstat {
	int64_t czxid, mzxid, ctime, mtime;
	int32_t version, cversion, aversion;
	int64_t ephemeral_owner;
	int64_t pzxid;
};

struct zk_node {
	UT_hash_handle hh;       /* tree->nodes, key = path */
	UT_hash_handle hh_child; /* parent->children, key = name */
	struct zk_node *parent;
	struct zk_node *children;
	struct zk_node *kind_prev, *kind_next; /* ephemeral owner's list, containers or TTL list */
	struct zk_acl_list *acl;
	uint8_t *data;
	int32_t data_len; /* -1 null */
	uint32_t path_len;
	uint32_t name_off;
	uint32_t digest; /* CRC32 of this node for the tree digest */
	struct zk_pstat stat;
	char path[]; /* NUL-terminated; root is "/" */
};

struct zk_eph_set {
	int64_t session_id;
	struct zk_node *head;
	uint32_t count;
	UT_hash_handle hh;
};

typedef void (*zk_dtree_event_fn)(void *ctx, int type, const char *path, size_t path_len);

struct zk_dtree {
	struct zk_node *nodes;
	struct zk_node *root;
	struct zk_eph_set *ephemerals;
	struct zk_node *containers;
	struct zk_node *ttls;
	struct zk_aclcache acls;
	/* OPEN_ACL_UNSAFE outside the cache (ZooKeeper's id -1: the built-in nodes and snapshot
	 * nodes with acl id -1 share it); owned by the tree, freed by fini. */
	struct zk_acl_list *open_acl;
	uint64_t node_count;
	uint64_t data_bytes; /* approximate data size: paths + data, as mntr reports */
	uint64_t digest;     /* sum of node digests (TxnDigest.treeDigest) */
	zk_dtree_event_fn on_event;
	void *event_ctx;
};

int zk_dtree_init(struct zk_dtree *t);
/* A tree without nodes (not even the root) for a snapshot load to fill with
 * zk_dtree_load_node; the open ACL list exists. 0 or ZK_ENOMEM. */
int zk_dtree_init_empty(struct zk_dtree *t);
void zk_dtree_fini(struct zk_dtree *t);
/* Snapshot load: adds a node with its stored stat under its existing parent, without touching
 * the parent's stat and without events (DataTree.deserialize). Path "/" (len 1) makes the root
 * of an empty tree. Rebuilds the ephemeral, container and TTL lists (the root goes in none, as
 * in ZooKeeper). Takes a reference on `acl` (NULL or an id < 0 list: none taken). Returns 0,
 * ZK_ENOENT (no parent), ZK_EEXIST, ZK_EINVAL (the parent is an ephemeral: ZooKeeper never
 * creates children there, and deleting such an ephemeral could not succeed) or ZK_ENOMEM. */
int zk_dtree_load_node(struct zk_dtree *t, const char *path, size_t len, const uint8_t *data, int32_t data_len,
                       struct zk_acl_list *acl, const struct zk_pstat *stat);
struct zk_node *zk_dtree_get(const struct zk_dtree *t, const char *path, size_t len);
/* The client-visible Stat (cversion = 2*stored - numChildren; ephemeralOwner 0 for
 * container/TTL). */
void zk_node_stat(const struct zk_node *n, struct zk_stat *out);
static inline uint32_t zk_node_num_children(const struct zk_node *n)
{
	return HASH_CNT(hh_child, n->children);
}
static inline const char *zk_node_name(const struct zk_node *n) { return n->path + n->name_off; }
bool zk_owner_is_session(int64_t owner);

/* Creates `path` under its existing parent. parent_cversion -1 = stored + 1. Takes a reference
 * on `acl`. ZNONODE if the parent is missing, ZNODEEXISTS if the node exists. */
zk_code zk_dtree_create(struct zk_dtree *t, const char *path, size_t len, const uint8_t *data, int32_t data_len,
                        struct zk_acl_list *acl, int64_t owner, int32_t parent_cversion, int64_t zxid,
                        int64_t time_ms);
zk_code zk_dtree_delete(struct zk_dtree *t, const char *path, size_t len, int64_t zxid);
zk_code zk_dtree_set_data(struct zk_dtree *t, const char *path, size_t len, const uint8_t *data,
                          int32_t data_len, int32_t version, int64_t zxid, int64_t time_ms);
zk_code zk_dtree_set_acl(struct zk_dtree *t, const char *path, size_t len, struct zk_acl_list *acl,
                         int32_t aversion);
/* Deletes every ephemeral of the session (closeSession without a path list). */
void zk_dtree_kill_session(struct zk_dtree *t, int64_t session_id, int64_t zxid);
const struct zk_eph_set *zk_dtree_ephemerals(const struct zk_dtree *t, int64_t session_id);
/* Number of descendants of n. */
uint64_t zk_dtree_count_descendants(const struct zk_node *n);
/* Parent path length of a path ("/a/b" -> 2, "/a" -> 1 meaning "/"). */
size_t zk_path_parent_len(const char *path, size_t len);

#endif
