/* Watches: who watches which path in which way, as ZooKeeper's WatchManager pair (data and
 * child tables) plus persistent and persistent-recursive modes. Watchers are connection ids.
 * Two indexes: path -> watchers (to trigger) and watcher -> paths (to drop a closed connection,
 * for wchc and checkWatches). A trigger hands each (watcher, event) to a callback once. */
#ifndef ZK_WATCH_H
#define ZK_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uthash.h>

enum {
	ZK_W_DATA = 1,       /* one-shot data/exist watch */
	ZK_W_CHILD = 2,      /* one-shot child watch */
	ZK_W_PERSISTENT = 4, /* addWatch PERSISTENT: data + child, kept */
	ZK_W_RECURSIVE = 8,  /* addWatch PERSISTENT_RECURSIVE: this path and below, no child events */
};

struct zk_watch_link; /* one (path, watcher) pair, in both indexes */

struct zk_watch_path {
	char *path;
	size_t path_len;
	struct zk_watch_link *links; /* by watcher id */
	UT_hash_handle hh;
};

struct zk_watcher {
	uint64_t id;
	struct zk_watch_link *links; /* by path */
	UT_hash_handle hh;
};

struct zk_watches {
	struct zk_watch_path *paths;
	struct zk_watcher *watchers;
	uint64_t count;           /* (path, watcher, kind) triples, as wchs counts */
	uint64_t recursive_count; /* recursive links: skips the ancestor walk when zero */
};

typedef void (*zk_watch_fire_fn)(void *ctx, uint64_t watcher, int type, const char *path, size_t len);

void zk_watches_init(struct zk_watches *w);
void zk_watches_fini(struct zk_watches *w);
int zk_watches_add(struct zk_watches *w, const char *path, size_t len, uint64_t watcher, int kind);
/* Removes kinds matching `kinds` for (path, watcher); returns whether any existed. With
 * dry_run nothing is removed (checkWatches). */
bool zk_watches_remove(struct zk_watches *w, const char *path, size_t len, uint64_t watcher, int kinds,
                       bool dry_run);
void zk_watches_remove_watcher(struct zk_watches *w, uint64_t watcher);
/* Fires `type` (ZK_EV_*) on `path`: NodeCreated/DataChanged: data + persistent + recursive
 * (ancestors too); NodeDeleted: data, child, persistent, recursive; ChildrenChanged: child and
 * persistent only. One-shot kinds are removed. */
void zk_watches_trigger(struct zk_watches *w, int type, const char *path, size_t len, zk_watch_fire_fn fn,
                        void *ctx);
uint32_t zk_watches_path_count(const struct zk_watches *w);
uint32_t zk_watches_watcher_count(const struct zk_watches *w);

/* Iteration for the wchc/wchp words. */
typedef void (*zk_watch_visit_fn)(void *ctx, uint64_t watcher, const char *path, int kinds);
void zk_watches_visit_by_watcher(const struct zk_watches *w, zk_watch_visit_fn fn, void *ctx);
void zk_watches_visit_by_path(const struct zk_watches *w, zk_watch_visit_fn fn, void *ctx);

#endif
