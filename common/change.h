/* Outstanding changes (ZooKeeper's ChangeRecord list): the state of each path as the writes
 * prepped but not yet applied will leave it. Prep validates against this view, so writes can
 * be pipelined behind a pending fsync or a quorum round. A FIFO in zxid order plus a map from
 * path to its latest record; a record leaves when its txn is applied. */
#ifndef ZK_CHANGE_H
#define ZK_CHANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uthash.h>

#include "dtree.h"

struct zk_rec {
	bool exists;
	struct zk_pstat stat;
	int32_t child_count;
	struct zk_acl_list *acl; /* borrowed */
};

struct zk_change {
	char *path;
	size_t len;
	int64_t zxid;
	struct zk_rec rec; /* rec.acl holds a reference */
	struct zk_change *next;
	struct zk_change *prev_for_path; /* valid only until the next commit: used by rollback */
	bool in_map;
	UT_hash_handle hh;
};

struct zk_changes {
	struct zk_change *head, *tail;
	struct zk_change *map;
	uint32_t count;
};

void zk_changes_init(struct zk_changes *c);
void zk_changes_fini(struct zk_changes *c, struct zk_aclcache *acls);
/* The path's pending state, or the tree's; false when the path does not exist. */
bool zk_changes_get(const struct zk_changes *c, const struct zk_dtree *t, const char *path, size_t len,
                    struct zk_rec *out);
int zk_changes_add(struct zk_changes *c, const char *path, size_t len, int64_t zxid, const struct zk_rec *rec);
void zk_changes_commit(struct zk_changes *c, struct zk_aclcache *acls, int64_t zxid);
/* Rollback of a failed multi: removes every record after `mark` (the tail before it began). */
void zk_changes_rollback(struct zk_changes *c, struct zk_aclcache *acls, struct zk_change *mark);

#endif
