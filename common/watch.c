/* Watch tables: see watch.h. Trigger rules from ZooKeeper's DataTree and WatchManager
 * (protocol.md section 2.6). */
#include "watch.h"

#include <string.h>

#include "proto.h"
#include "zmalloc.h"

struct zk_watch_link {
	struct zk_watch_path *wp;
	struct zk_watcher *wr;
	int kinds;
	UT_hash_handle hh_p; /* in wp->links, key = watcher id */
	UT_hash_handle hh_w; /* in wr->links, key = path pointer (wp) */
};

void zk_watches_init(struct zk_watches *w) { memset(w, 0, sizeof(*w)); }

static int popcount4(int k) { return (k & 1) + ((k >> 1) & 1) + ((k >> 2) & 1) + ((k >> 3) & 1); }

static void link_drop(struct zk_watches *w, struct zk_watch_link *l)
{
	struct zk_watch_path *wp = l->wp;
	struct zk_watcher *wr = l->wr;
	HASH_DELETE(hh_p, wp->links, l);
	HASH_DELETE(hh_w, wr->links, l);
	w->count -= (uint64_t)popcount4(l->kinds);
	if (l->kinds & ZK_W_RECURSIVE)
		w->recursive_count--;
	zk_free(l);
	if (!wp->links) {
		HASH_DELETE(hh, w->paths, wp);
		zk_free(wp->path);
		zk_free(wp);
	}
	if (!wr->links) {
		HASH_DELETE(hh, w->watchers, wr);
		zk_free(wr);
	}
}

static void set_kinds(struct zk_watches *w, struct zk_watch_link *l, int kinds)
{
	w->count += (uint64_t)popcount4(kinds) - (uint64_t)popcount4(l->kinds);
	if ((l->kinds & ZK_W_RECURSIVE) && !(kinds & ZK_W_RECURSIVE))
		w->recursive_count--;
	if (!(l->kinds & ZK_W_RECURSIVE) && (kinds & ZK_W_RECURSIVE))
		w->recursive_count++;
	l->kinds = kinds;
	if (!kinds)
		link_drop(w, l);
}

void zk_watches_fini(struct zk_watches *w)
{
	struct zk_watch_path *wp, *tmp;
	HASH_ITER(hh, w->paths, wp, tmp) {
		struct zk_watch_link *l, *lt;
		HASH_ITER(hh_p, wp->links, l, lt) link_drop(w, l);
	}
}

int zk_watches_add(struct zk_watches *w, const char *path, size_t len, uint64_t watcher, int kind)
{
	struct zk_watch_path *wp;
	HASH_FIND(hh, w->paths, path, len, wp);
	if (!wp) {
		wp = zk_calloc(1, sizeof(*wp));
		char *p = zk_malloc(len + 1);
		if (!wp || !p) {
			zk_free(wp);
			zk_free(p);
			return -1;
		}
		memcpy(p, path, len);
		p[len] = 0;
		wp->path = p;
		wp->path_len = len;
		HASH_ADD_KEYPTR(hh, w->paths, wp->path, wp->path_len, wp);
	}
	struct zk_watcher *wr;
	HASH_FIND(hh, w->watchers, &watcher, sizeof(watcher), wr);
	if (!wr) {
		wr = zk_calloc(1, sizeof(*wr));
		if (!wr)
			goto fail_wp;
		wr->id = watcher;
		HASH_ADD(hh, w->watchers, id, sizeof(wr->id), wr);
	}
	struct zk_watch_link *l;
	HASH_FIND(hh_p, wp->links, &watcher, sizeof(watcher), l);
	if (!l) {
		l = zk_calloc(1, sizeof(*l));
		if (!l) {
			if (!wr->links) {
				HASH_DELETE(hh, w->watchers, wr);
				zk_free(wr);
			}
			goto fail_wp;
		}
		l->wp = wp;
		l->wr = wr;
		HASH_ADD(hh_p, wp->links, wr->id, sizeof(uint64_t), l);
		HASH_ADD(hh_w, wr->links, wp, sizeof(struct zk_watch_path *), l);
	}
	set_kinds(w, l, l->kinds | kind);
	return 0;
fail_wp:
	if (!wp->links) {
		HASH_DELETE(hh, w->paths, wp);
		zk_free(wp->path);
		zk_free(wp);
	}
	return -1;
}

bool zk_watches_remove(struct zk_watches *w, const char *path, size_t len, uint64_t watcher, int kinds,
                       bool dry_run)
{
	struct zk_watch_path *wp;
	HASH_FIND(hh, w->paths, path, len, wp);
	if (!wp)
		return false;
	struct zk_watch_link *l;
	HASH_FIND(hh_p, wp->links, &watcher, sizeof(watcher), l);
	if (!l || !(l->kinds & kinds))
		return false;
	if (!dry_run)
		set_kinds(w, l, l->kinds & ~kinds);
	return true;
}

void zk_watches_remove_watcher(struct zk_watches *w, uint64_t watcher)
{
	struct zk_watcher *wr;
	HASH_FIND(hh, w->watchers, &watcher, sizeof(watcher), wr);
	if (!wr)
		return;
	/* The last link_drop frees wr: count first, never touch wr after. */
	for (unsigned n = HASH_CNT(hh_w, wr->links); n > 0; n--)
		link_drop(w, wr->links);
}

/* Delivered set for one trigger: a watcher gets one event per trigger (ZooKeeper's
 * "supress" set), even when it watches in several ways. Small linear array: triggers touch few
 * watchers, and a huge fan-out costs O(n^2) only in this rare case. */
struct fired {
	uint64_t *ids;
	size_t n, cap;
};

static bool fired_add(struct fired *f, uint64_t id)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->ids[i] == id)
			return false;
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 16;
		uint64_t *p = zk_realloc(f->ids, cap * sizeof(*p));
		if (!p)
			return true; /* deliver anyway: a duplicate beats a lost event */
		f->ids = p;
		f->cap = cap;
	}
	f->ids[f->n++] = id;
	return true;
}

static void fire_path(struct zk_watches *w, struct zk_watch_path *wp, int type, bool exact, const char *path,
                      size_t len, zk_watch_fire_fn fn, void *ctx, struct fired *f)
{
	struct zk_watch_link *l, *lt;
	HASH_ITER(hh_p, wp->links, l, lt) {
		int k = l->kinds;
		int want;
		if (!exact)
			want = (type != ZK_EV_CHILDREN_CHANGED) ? (k & ZK_W_RECURSIVE) : 0;
		else if (type == ZK_EV_CHILDREN_CHANGED)
			want = k & (ZK_W_CHILD | ZK_W_PERSISTENT);
		else if (type == ZK_EV_DELETED)
			want = k & (ZK_W_DATA | ZK_W_CHILD | ZK_W_PERSISTENT | ZK_W_RECURSIVE);
		else
			want = k & (ZK_W_DATA | ZK_W_PERSISTENT | ZK_W_RECURSIVE);
		if (!want)
			continue;
		uint64_t id = l->wr->id;
		int keep = k & ~(want & (ZK_W_DATA | ZK_W_CHILD));
		if (keep != k)
			set_kinds(w, l, keep); /* may free l (and wp when it was the last link) */
		if (fired_add(f, id))
			fn(ctx, id, type, path, len);
	}
}

void zk_watches_trigger(struct zk_watches *w, int type, const char *path, size_t len, zk_watch_fire_fn fn,
                        void *ctx)
{
	struct fired f = {0};
	struct zk_watch_path *wp;
	HASH_FIND(hh, w->paths, path, len, wp);
	if (wp)
		fire_path(w, wp, type, true, path, len, fn, ctx, &f);
	if (w->recursive_count && type != ZK_EV_CHILDREN_CHANGED) {
		size_t plen = len;
		while (plen > 1) {
			while (plen > 0 && path[plen - 1] != '/')
				plen--;
			plen = plen > 1 ? plen - 1 : 1;
			HASH_FIND(hh, w->paths, path, plen, wp);
			if (wp)
				fire_path(w, wp, type, false, path, len, fn, ctx, &f);
			if (plen == 1)
				break;
		}
	}
	zk_free(f.ids);
}

uint32_t zk_watches_path_count(const struct zk_watches *w) { return HASH_CNT(hh, w->paths); }
uint32_t zk_watches_watcher_count(const struct zk_watches *w) { return HASH_CNT(hh, w->watchers); }

void zk_watches_visit_by_watcher(const struct zk_watches *w, zk_watch_visit_fn fn, void *ctx)
{
	const struct zk_watcher *wr, *t;
	HASH_ITER(hh, w->watchers, wr, t) {
		const struct zk_watch_link *l, *lt;
		HASH_ITER(hh_w, wr->links, l, lt) fn(ctx, wr->id, l->wp->path, l->kinds);
	}
}

void zk_watches_visit_by_path(const struct zk_watches *w, zk_watch_visit_fn fn, void *ctx)
{
	const struct zk_watch_path *wp, *t;
	HASH_ITER(hh, w->paths, wp, t) {
		const struct zk_watch_link *l, *lt;
		HASH_ITER(hh_p, wp->links, l, lt) fn(ctx, l->wr->id, wp->path, l->kinds);
	}
}
