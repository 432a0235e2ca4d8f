/* End-to-end check of a ZooKeeper server through the stock C client (libzookeeper_mt).
 *
 *   c_client_test host:port
 *
 * Exercises the sync and async APIs, watches, multi, ACLs/digest auth and session handling.
 * Every check prints one line; the last line is exactly "N passed, M failed" and the exit
 * status is non-zero when M > 0. Every wait is bounded. Written against Apache ZooKeeper
 * 3.8.0 (the reference) so that the same binary can judge another server. */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <zookeeper/zookeeper.h>

#define WAIT_MS 10000
#define ANY (-99999)
#define TIMED_OUT 424242

static const char *g_hosts;
static char R[64]; /* unique root for this run */
static int n_pass, n_fail;

/* ---------- reporting ---------- */

static const char *rcname(int rc)
{
    switch (rc) {
    case ZOK: return "ZOK";
    case ZSYSTEMERROR: return "ZSYSTEMERROR";
    case ZRUNTIMEINCONSISTENCY: return "ZRUNTIMEINCONSISTENCY";
    case ZDATAINCONSISTENCY: return "ZDATAINCONSISTENCY";
    case ZCONNECTIONLOSS: return "ZCONNECTIONLOSS";
    case ZMARSHALLINGERROR: return "ZMARSHALLINGERROR";
    case ZUNIMPLEMENTED: return "ZUNIMPLEMENTED";
    case ZOPERATIONTIMEOUT: return "ZOPERATIONTIMEOUT";
    case ZBADARGUMENTS: return "ZBADARGUMENTS";
    case ZINVALIDSTATE: return "ZINVALIDSTATE";
    case ZAPIERROR: return "ZAPIERROR";
    case ZNONODE: return "ZNONODE";
    case ZNOAUTH: return "ZNOAUTH";
    case ZBADVERSION: return "ZBADVERSION";
    case ZNOCHILDRENFOREPHEMERALS: return "ZNOCHILDRENFOREPHEMERALS";
    case ZNODEEXISTS: return "ZNODEEXISTS";
    case ZNOTEMPTY: return "ZNOTEMPTY";
    case ZSESSIONEXPIRED: return "ZSESSIONEXPIRED";
    case ZINVALIDCALLBACK: return "ZINVALIDCALLBACK";
    case ZINVALIDACL: return "ZINVALIDACL";
    case ZAUTHFAILED: return "ZAUTHFAILED";
    case ZCLOSING: return "ZCLOSING";
    case ZNOTHING: return "ZNOTHING";
    case ZSESSIONMOVED: return "ZSESSIONMOVED";
    case ZNOTREADONLY: return "ZNOTREADONLY";
    case ZNEWCONFIGNOQUORUM: return "ZNEWCONFIGNOQUORUM";
    case ZRECONFIGINPROGRESS: return "ZRECONFIGINPROGRESS";
    case ZNOWATCHER: return "ZNOWATCHER";
    case TIMED_OUT: return "TIMED_OUT";
    default: return "?";
    }
}

static void check(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void check(int cond, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%s %d - ", cond ? "ok" : "not ok", n_pass + n_fail + 1);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
    if (cond)
        n_pass++;
    else
        n_fail++;
}

static void check_rc(int rc, int want, const char *what)
{
    if (rc == want)
        check(1, "%s -> %s", what, rcname(want));
    else
        check(0, "%s -> %s (%d), want %s (%d)", what, rcname(rc), rc, rcname(want), want);
}

static void check_int(long long got, long long want, const char *what)
{
    if (got == want)
        check(1, "%s == %lld", what, want);
    else
        check(0, "%s == %lld, got %lld", what, want, got);
}

static void check_str(const char *got, const char *want, const char *what)
{
    if (got && want && strcmp(got, want) == 0)
        check(1, "%s == \"%s\"", what, want);
    else
        check(0, "%s == \"%s\", got \"%s\"", what, want ? want : "(null)", got ? got : "(null)");
}

static void section(const char *name)
{
    printf("# %s\n", name);
    fflush(stdout);
}

static char *P(const char *suffix)
{
    /* Small rotating pool so several paths can be live in one statement. */
    static char pool[16][256];
    static int next;
    char *p = pool[next++ % 16];
    snprintf(p, 256, "%s%s", R, suffix);
    return p;
}

/* ---------- shared state for the completion thread ---------- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv;

static void deadline_in(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

/* Watch events, recorded by every watcher (global and per-watch). */
struct ev {
    char tag[48];
    int type;
    int state;
    char path[256];
};
#define MAXEV 1024
static struct ev evs[MAXEV];
static int nev;

static void watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
    (void)zh;
    pthread_mutex_lock(&mu);
    if (nev < MAXEV) {
        struct ev *e = &evs[nev++];
        snprintf(e->tag, sizeof e->tag, "%s", ctx ? (const char *)ctx : "(null)");
        e->type = type;
        e->state = state;
        snprintf(e->path, sizeof e->path, "%s", path ? path : "");
    }
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

static int count_ev_locked(const char *tag, int type, int state, const char *path)
{
    int n = 0;
    for (int i = 0; i < nev; i++) {
        if (strcmp(evs[i].tag, tag) != 0)
            continue;
        if (type != ANY && evs[i].type != type)
            continue;
        if (state != ANY && evs[i].state != state)
            continue;
        if (path && strcmp(evs[i].path, path) != 0)
            continue;
        n++;
    }
    return n;
}

static int count_ev(const char *tag, int type, int state, const char *path)
{
    pthread_mutex_lock(&mu);
    int n = count_ev_locked(tag, type, state, path);
    pthread_mutex_unlock(&mu);
    return n;
}

/* Wait until at least `want` matching events were seen; returns the count seen. */
static int wait_ev(const char *tag, int type, int state, const char *path, int want, int ms)
{
    struct timespec dl;
    deadline_in(&dl, ms);
    pthread_mutex_lock(&mu);
    int n;
    while ((n = count_ev_locked(tag, type, state, path)) < want) {
        if (pthread_cond_timedwait(&cv, &mu, &dl) == ETIMEDOUT) {
            n = count_ev_locked(tag, type, state, path);
            break;
        }
    }
    pthread_mutex_unlock(&mu);
    return n;
}

/* Async call records. */
static int completion_seq;

struct acall {
    int done;
    int rc;
    int order; /* position among all completions */
    char str[256];
    char data[256];
    int datalen;
    struct Stat stat;
    int have_stat;
    int nstrings;
    char strings[16][64];
};

static void finish(struct acall *a, int rc)
{
    /* Caller holds mu. */
    a->rc = rc;
    a->order = completion_seq++;
    a->done = 1;
    pthread_cond_broadcast(&cv);
}

static void string_cb(int rc, const char *value, const void *data)
{
    struct acall *a = (struct acall *)data;
    pthread_mutex_lock(&mu);
    snprintf(a->str, sizeof a->str, "%s", value ? value : "");
    finish(a, rc);
    pthread_mutex_unlock(&mu);
}

static void data_cb(int rc, const char *value, int value_len, const struct Stat *stat, const void *data)
{
    struct acall *a = (struct acall *)data;
    pthread_mutex_lock(&mu);
    a->datalen = value_len;
    if (value && value_len > 0) {
        int n = value_len < (int)sizeof a->data - 1 ? value_len : (int)sizeof a->data - 1;
        memcpy(a->data, value, n);
        a->data[n] = 0;
    }
    if (stat) {
        a->stat = *stat;
        a->have_stat = 1;
    }
    finish(a, rc);
    pthread_mutex_unlock(&mu);
}

static void stat_cb(int rc, const struct Stat *stat, const void *data)
{
    struct acall *a = (struct acall *)data;
    pthread_mutex_lock(&mu);
    if (stat) {
        a->stat = *stat;
        a->have_stat = 1;
    }
    finish(a, rc);
    pthread_mutex_unlock(&mu);
}

static void void_cb(int rc, const void *data)
{
    struct acall *a = (struct acall *)data;
    pthread_mutex_lock(&mu);
    finish(a, rc);
    pthread_mutex_unlock(&mu);
}

static void copy_strings(struct acall *a, const struct String_vector *sv)
{
    a->nstrings = 0;
    if (!sv)
        return;
    for (int i = 0; i < sv->count && i < 16; i++) {
        snprintf(a->strings[i], sizeof a->strings[i], "%s", sv->data[i]);
        a->nstrings++;
    }
}

static void strings_cb(int rc, const struct String_vector *strings, const void *data)
{
    struct acall *a = (struct acall *)data;
    pthread_mutex_lock(&mu);
    copy_strings(a, strings);
    finish(a, rc);
    pthread_mutex_unlock(&mu);
}

static void strings_stat_cb(int rc, const struct String_vector *strings, const struct Stat *stat,
                            const void *data)
{
    struct acall *a = (struct acall *)data;
    pthread_mutex_lock(&mu);
    copy_strings(a, strings);
    if (stat) {
        a->stat = *stat;
        a->have_stat = 1;
    }
    finish(a, rc);
    pthread_mutex_unlock(&mu);
}

static void acl_cb(int rc, struct ACL_vector *acl, struct Stat *stat, const void *data)
{
    struct acall *a = (struct acall *)data;
    pthread_mutex_lock(&mu);
    a->nstrings = 0;
    for (int i = 0; acl && i < acl->count && i < 16; i++) {
        snprintf(a->strings[i], sizeof a->strings[i], "%s:%s:%d", acl->data[i].id.scheme, acl->data[i].id.id,
                 acl->data[i].perms);
        a->nstrings++;
    }
    if (stat) {
        a->stat = *stat;
        a->have_stat = 1;
    }
    finish(a, rc);
    pthread_mutex_unlock(&mu);
}

static int wait_done(struct acall *a, int ms)
{
    struct timespec dl;
    deadline_in(&dl, ms);
    pthread_mutex_lock(&mu);
    while (!a->done) {
        if (pthread_cond_timedwait(&cv, &mu, &dl) == ETIMEDOUT)
            break;
    }
    int d = a->done;
    pthread_mutex_unlock(&mu);
    return d;
}

/* Call records live in a static pool so a completion arriving after a timed-out wait never
 * writes into a dead stack frame. */
static struct acall call_pool[128];
static int call_pool_used;

static struct acall *new_call(void)
{
    if (call_pool_used >= (int)(sizeof call_pool / sizeof call_pool[0])) {
        fprintf(stderr, "call pool exhausted\n");
        abort();
    }
    return &call_pool[call_pool_used++];
}

/* Wait for the completion; its rc, or TIMED_OUT. */
static int await_rc(struct acall *a)
{
    if (!wait_done(a, WAIT_MS))
        return TIMED_OUT;
    pthread_mutex_lock(&mu);
    int rc = a->rc;
    pthread_mutex_unlock(&mu);
    return rc;
}

/* ---------- helpers ---------- */

static zhandle_t *connect_client(const char *tag, const clientid_t *cid)
{
    zhandle_t *zh = zookeeper_init(g_hosts, watcher, 10000, cid, (void *)tag, 0);
    if (!zh) {
        check(0, "%s: zookeeper_init failed: %s", tag, strerror(errno));
        return NULL;
    }
    if (cid)
        return zh; /* caller decides what to wait for */
    int n = wait_ev(tag, ZOO_SESSION_EVENT, ZOO_CONNECTED_STATE, NULL, 1, WAIT_MS);
    check(n >= 1, "%s: session event with ZOO_CONNECTED_STATE", tag);
    if (n < 1) {
        zookeeper_close(zh);
        return NULL;
    }
    return zh;
}

static int sorted_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Children of path as a sorted, comma-joined string (servers may return any order). */
static int children_str(zhandle_t *zh, const char *path, char *out, size_t outlen)
{
    struct String_vector sv = { 0, NULL };
    int rc = zoo_get_children(zh, path, 0, &sv);
    out[0] = 0;
    if (rc != ZOK)
        return rc;
    qsort(sv.data, sv.count, sizeof(char *), sorted_cmp);
    for (int i = 0; i < sv.count; i++) {
        if (i)
            strncat(out, ",", outlen - strlen(out) - 1);
        strncat(out, sv.data[i], outlen - strlen(out) - 1);
    }
    deallocate_String_vector(&sv);
    return rc;
}

static void delete_tree(zhandle_t *zh, const char *path)
{
    struct String_vector sv = { 0, NULL };
    if (zoo_get_children(zh, path, 0, &sv) == ZOK) {
        for (int i = 0; i < sv.count; i++) {
            char child[512];
            snprintf(child, sizeof child, "%s/%s", path, sv.data[i]);
            delete_tree(zh, child);
        }
        deallocate_String_vector(&sv);
    }
    zoo_delete(zh, path, -1);
}

static int64_t now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* ---------- sections ---------- */

static void test_session(zhandle_t *zh, zhandle_t *zh2)
{
    section("session");
    check_int(zoo_state(zh), ZOO_CONNECTED_STATE, "zoo_state(A)");
    const clientid_t *id = zoo_client_id(zh);
    const clientid_t *id2 = zoo_client_id(zh2);
    check(id && id->client_id != 0, "zoo_client_id(A) is non-zero (0x%llx)",
          id ? (unsigned long long)id->client_id : 0ULL);
    check(id && id2 && id->client_id != id2->client_id, "two sessions have distinct ids");
    int to = zoo_recv_timeout(zh);
    check(to > 0 && to <= 10000, "negotiated session timeout %d ms in (0, 10000]", to);
}

static void test_sync_basic(zhandle_t *zh)
{
    section("sync create/get/set/exists/delete");
    char buf[512];
    int buflen;
    struct Stat st, st2;
    int rc;

    rc = zoo_create(zh, R, "root", 4, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, buf, sizeof buf);
    check_rc(rc, ZOK, "create root");
    check_str(buf, R, "create returns path");
    rc = zoo_create(zh, R, "again", 5, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, buf, sizeof buf);
    check_rc(rc, ZNODEEXISTS, "create existing node");
    rc = zoo_create(zh, P("/missing/child"), "x", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, NULL, 0);
    check_rc(rc, ZNONODE, "create with missing parent");

    int64_t before = now_ms();
    rc = zoo_create(zh, P("/n"), "hello", 5, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, NULL, 0);
    check_rc(rc, ZOK, "create /n");
    buflen = sizeof buf;
    memset(&st, 0, sizeof st);
    rc = zoo_get(zh, P("/n"), 0, buf, &buflen, &st);
    check_rc(rc, ZOK, "get /n");
    check(buflen == 5 && memcmp(buf, "hello", 5) == 0, "get /n data is \"hello\"");
    check_int(st.version, 0, "stat.version after create");
    check_int(st.cversion, 0, "stat.cversion after create");
    check_int(st.aversion, 0, "stat.aversion after create");
    check_int(st.dataLength, 5, "stat.dataLength");
    check_int(st.numChildren, 0, "stat.numChildren");
    check_int(st.ephemeralOwner, 0, "stat.ephemeralOwner of persistent node");
    check(st.czxid > 0 && st.czxid == st.mzxid && st.pzxid == st.czxid,
          "fresh node: czxid == mzxid == pzxid > 0");
    check(st.ctime == st.mtime, "fresh node: ctime == mtime");
    check(st.ctime >= before - 60000 && st.ctime <= now_ms() + 60000,
          "ctime is wall-clock milliseconds (%lld vs now %lld)", (long long)st.ctime,
          (long long)now_ms());

    struct Stat rootst;
    zoo_exists(zh, R, 0, &rootst);
    check(rootst.pzxid == st.czxid, "parent pzxid == child's czxid after create");
    check_int(rootst.cversion, 1, "parent cversion after one child create");
    check_int(rootst.numChildren, 1, "parent numChildren");

    buflen = sizeof buf;
    rc = zoo_get(zh, P("/nope"), 0, buf, &buflen, &st2);
    check_rc(rc, ZNONODE, "get missing node");

    rc = zoo_set2(zh, P("/n"), "world!", 6, 0, &st2);
    check_rc(rc, ZOK, "set /n with version 0");
    check_int(st2.version, 1, "set returns stat.version");
    check(st2.mzxid > st.mzxid && st2.czxid == st.czxid, "set bumps mzxid, keeps czxid");
    check_int(st2.dataLength, 6, "set returns stat.dataLength");
    rc = zoo_set(zh, P("/n"), "stale", 5, 0);
    check_rc(rc, ZBADVERSION, "set with stale version");
    rc = zoo_set(zh, P("/n"), "any", 3, -1);
    check_rc(rc, ZOK, "set with version -1");
    rc = zoo_set(zh, P("/nope"), "x", 1, -1);
    check_rc(rc, ZNONODE, "set missing node");
    buflen = sizeof buf;
    rc = zoo_get(zh, P("/n"), 0, buf, &buflen, &st);
    check(rc == ZOK && buflen == 3 && memcmp(buf, "any", 3) == 0 && st.version == 2,
          "get after two sets: \"any\", version 2");

    rc = zoo_exists(zh, P("/n"), 0, &st);
    check_rc(rc, ZOK, "exists on existing node");
    check_int(st.version, 2, "exists stat.version");
    rc = zoo_exists(zh, P("/nope"), 0, &st);
    check_rc(rc, ZNONODE, "exists on missing node");

    /* null vs empty data */
    rc = zoo_create(zh, P("/nulldata"), NULL, -1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, NULL, 0);
    check_rc(rc, ZOK, "create with NULL data");
    buflen = sizeof buf;
    rc = zoo_get(zh, P("/nulldata"), 0, buf, &buflen, &st);
    check(rc == ZOK && buflen == -1 && st.dataLength == 0,
          "get NULL data: len -1, dataLength 0 (len %d, dataLength %d)", buflen, st.dataLength);
    rc = zoo_create(zh, P("/empty"), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, NULL, 0);
    check_rc(rc, ZOK, "create with empty data");
    buflen = sizeof buf;
    rc = zoo_get(zh, P("/empty"), 0, buf, &buflen, &st);
    check(rc == ZOK && buflen == 0 && st.dataLength == 0, "get empty data: len 0 (len %d)", buflen);

    /* larger payload round trip */
    enum { BIG = 200000 };
    char *big = malloc(BIG), *back = malloc(BIG + 16);
    for (int i = 0; i < BIG; i++)
        big[i] = (char)('a' + (i * 7) % 26);
    rc = zoo_create(zh, P("/big"), big, BIG, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, NULL, 0);
    check_rc(rc, ZOK, "create 200000-byte node");
    buflen = BIG + 16;
    rc = zoo_get(zh, P("/big"), 0, back, &buflen, &st);
    check(rc == ZOK && buflen == BIG && memcmp(big, back, BIG) == 0 && st.dataLength == BIG,
          "200000-byte payload round-trips");
    free(big);
    free(back);

    /* get with a buffer smaller than the data: the client truncates */
    buflen = 2;
    rc = zoo_get(zh, P("/n"), 0, buf, &buflen, &st);
    check(rc == ZOK && buflen == 2 && st.dataLength == 3, "get with short buffer truncates");

    /* delete */
    rc = zoo_create(zh, P("/parent"), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, NULL, 0);
    rc |= zoo_create(zh, P("/parent/kid"), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, NULL, 0);
    check_rc(rc, ZOK, "create /parent/kid");
    rc = zoo_delete(zh, P("/parent"), -1);
    check_rc(rc, ZNOTEMPTY, "delete non-empty node");
    rc = zoo_delete(zh, P("/parent/kid"), 5);
    check_rc(rc, ZBADVERSION, "delete with wrong version");
    rc = zoo_delete(zh, P("/parent/kid"), 0);
    check_rc(rc, ZOK, "delete with right version");
    rc = zoo_delete(zh, P("/parent/kid"), -1);
    check_rc(rc, ZNONODE, "delete already deleted");
    zoo_exists(zh, P("/parent"), 0, &st);
    check_int(st.cversion, 2, "parent cversion after child create+delete");
    check_int(st.numChildren, 0, "parent numChildren after delete");
    rc = zoo_delete(zh, P("/parent"), -1);
    check_rc(rc, ZOK, "delete now-empty parent");

    /* client-side argument validation */
    rc = zoo_create(zh, "no-slash", "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, NULL, 0);
    check_rc(rc, ZBADARGUMENTS, "create relative path (client-side)");
    rc = zoo_create(zh, P("/bad//double"), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, NULL, 0);
    check_rc(rc, ZBADARGUMENTS, "create path with empty component (client-side)");
    rc = zoo_delete(zh, "/", -1);
    check(rc != ZOK, "delete \"/\" is refused (%s)", rcname(rc));
    rc = zoo_exists(zh, "/zookeeper", 0, &st);
    check_rc(rc, ZOK, "/zookeeper exists");
}

static void test_children_seq_ephemeral(zhandle_t *zh, zhandle_t *zh2)
{
    section("children, sequential and ephemeral nodes");
    char buf[512], list[1024], want[256];
    struct Stat st;
    int rc;

    rc = zoo_create(zh, P("/seq"), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, NULL, 0);
    check_rc(rc, ZOK, "create /seq");
    rc = zoo_create(zh, P("/seq/s-"), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT_SEQUENTIAL, buf, sizeof buf);
    check_rc(rc, ZOK, "create sequential #1");
    check_str(buf, P("/seq/s-0000000000"), "first sequential name");
    rc = zoo_create(zh, P("/seq/s-"), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT_SEQUENTIAL, buf, sizeof buf);
    check_str(buf, P("/seq/s-0000000001"), "second sequential name");
    /* The suffix counts creates under the parent, not deletes. Apache stores the parent's
     * cversion as a create count and reports 2*creates - numChildren (= creates + deletes), so a
     * plain create + delete advances the suffix by one and the reported cversion by two. */
    zoo_create(zh, P("/seq/plain"), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, NULL, 0);
    zoo_delete(zh, P("/seq/plain"), -1);
    rc = zoo_exists(zh, P("/seq"), 0, &st);
    check(rc == ZOK && st.cversion == 4 && st.numChildren == 2,
          "cversion after 3 creates + 1 delete is 4 (got %d)", st.cversion);
    rc = zoo_create(zh, P("/seq/s-"), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT_SEQUENTIAL, buf, sizeof buf);
    check_str(buf, P("/seq/s-0000000003"), "sequence suffix counts creates (3), not deletes");
    rc = zoo_create(zh, P("/seq/"), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT_SEQUENTIAL, buf, sizeof buf);
    check_rc(rc, ZOK, "sequential create with trailing slash");
    check_str(buf, P("/seq/0000000004"), "sequential name for \"parent/\"");

    rc = children_str(zh, P("/seq"), list, sizeof list);
    check_rc(rc, ZOK, "get_children /seq");
    check_str(list, "0000000004,s-0000000000,s-0000000001,s-0000000003", "children of /seq");

    struct String_vector sv = { 0, NULL };
    rc = zoo_get_children2(zh, P("/seq"), 0, &sv, &st);
    check_rc(rc, ZOK, "get_children2 /seq");
    check_int(sv.count, 4, "get_children2 count");
    check_int(st.numChildren, 4, "get_children2 stat.numChildren");
    check_int(st.cversion, 6, "get_children2 stat.cversion (5 creates + 1 delete)");
    deallocate_String_vector(&sv);
    rc = zoo_get_children(zh, P("/nope"), 0, &sv);
    check_rc(rc, ZNONODE, "get_children of missing node");
    rc = zoo_get_children(zh, P("/n"), 0, &sv);
    check(rc == ZOK && sv.count == 0, "get_children of leaf is empty");
    deallocate_String_vector(&sv);

    /* ephemerals */
    const clientid_t *id = zoo_client_id(zh);
    rc = zoo_create(zh, P("/eph"), "e", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL, NULL, 0);
    check_rc(rc, ZOK, "create ephemeral");
    rc = zoo_exists(zh, P("/eph"), 0, &st);
    check(rc == ZOK && st.ephemeralOwner == id->client_id, "ephemeralOwner is the session id");
    rc = zoo_create(zh, P("/eph/child"), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, NULL, 0);
    check_rc(rc, ZNOCHILDRENFOREPHEMERALS, "child of ephemeral");
    rc = zoo_create(zh, P("/eph-"), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL_SEQUENTIAL, buf, sizeof buf);
    check_rc(rc, ZOK, "create ephemeral sequential");
    snprintf(want, sizeof want, "%s/eph-", R);
    check(strncmp(buf, want, strlen(want)) == 0 && strlen(buf) == strlen(want) + 10,
          "ephemeral sequential name has 10-digit suffix (%s)", buf);
    rc = zoo_exists(zh, buf, 0, &st);
    check(rc == ZOK && st.ephemeralOwner == id->client_id, "ephemeral sequential owner");

    /* An ephemeral of another session disappears when that session closes. */
    zhandle_t *zt = connect_client("temp", NULL);
    if (zt) {
        const clientid_t *tid = zoo_client_id(zt);
        int64_t tsid = tid->client_id;
        rc = zoo_create(zt, P("/eph-temp"), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL, NULL, 0);
        check_rc(rc, ZOK, "other session creates ephemeral");
        rc = zoo_wexists(zh2, P("/eph-temp"), watcher, "w-eph-temp", &st);
        check(rc == ZOK && st.ephemeralOwner == tsid, "B sees it owned by the other session");
        rc = zookeeper_close(zt);
        check_rc(rc, ZOK, "zookeeper_close");
        int n = wait_ev("w-eph-temp", ZOO_DELETED_EVENT, ANY, P("/eph-temp"), 1, WAIT_MS);
        check(n == 1, "closing the session deletes its ephemeral (DELETED event)");
        rc = zoo_exists(zh, P("/eph-temp"), 0, &st);
        check_rc(rc, ZNONODE, "ephemeral gone after close");
    }
}

static void test_acl(zhandle_t *zh, zhandle_t *zh2)
{
    section("ACLs and digest auth");
    struct ACL_vector acl;
    struct Stat st;
    char buf[64];
    int buflen, rc;

    rc = zoo_get_acl(zh, R, &acl, &st);
    check_rc(rc, ZOK, "get_acl root");
    check(acl.count == 1 && acl.data[0].perms == ZOO_PERM_ALL &&
              strcmp(acl.data[0].id.scheme, "world") == 0 && strcmp(acl.data[0].id.id, "anyone") == 0,
          "open ACL is world:anyone perms 31");
    check_int(st.aversion, 0, "aversion of fresh node");
    deallocate_ACL_vector(&acl);
    rc = zoo_get_acl(zh, P("/nope"), &acl, &st);
    check_rc(rc, ZNONODE, "get_acl missing node");

    zoo_create(zh, P("/ro"), "r", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, NULL, 0);
    rc = zoo_set_acl(zh, P("/ro"), 3, &ZOO_READ_ACL_UNSAFE);
    check_rc(rc, ZBADVERSION, "set_acl with wrong aversion");
    rc = zoo_set_acl(zh, P("/ro"), 0, &ZOO_READ_ACL_UNSAFE);
    check_rc(rc, ZOK, "set_acl read-only");
    rc = zoo_get_acl(zh, P("/ro"), &acl, &st);
    check(rc == ZOK && acl.count == 1 && acl.data[0].perms == ZOO_PERM_READ && st.aversion == 1 &&
              st.version == 0,
          "get_acl shows READ, aversion 1, version 0");
    deallocate_ACL_vector(&acl);
    rc = zoo_set(zh, P("/ro"), "w", 1, -1);
    check_rc(rc, ZNOAUTH, "set on read-only node");
    rc = zoo_create(zh, P("/ro/kid"), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, NULL, 0);
    check_rc(rc, ZNOAUTH, "create under read-only node");
    rc = zoo_set_acl(zh, P("/ro"), -1, &ZOO_OPEN_ACL_UNSAFE);
    check_rc(rc, ZNOAUTH, "set_acl without ADMIN perm");
    buflen = sizeof buf;
    rc = zoo_get(zh, P("/ro"), 0, buf, &buflen, &st);
    check_rc(rc, ZOK, "get on read-only node");
    struct ACL_vector empty = { 0, NULL };
    rc = zoo_create(zh, P("/noacl"), "", 0, &empty, ZOO_PERSISTENT, NULL, 0);
    check(rc == ZINVALIDACL || rc == ZBADARGUMENTS, "create with empty ACL refused (%s)", rcname(rc));

    /* digest */
    struct acall *a = new_call();
    rc = zoo_add_auth(zh, "digest", "alice:secret", 12, void_cb, a);
    check_rc(rc, ZOK, "zoo_add_auth queued");
    check_rc(await_rc(a), ZOK, "add_auth digest completion");
    rc = zoo_create(zh, P("/secret"), "s3cr3t", 6, &ZOO_CREATOR_ALL_ACL, ZOO_PERSISTENT, NULL, 0);
    check_rc(rc, ZOK, "create with CREATOR_ALL_ACL after auth");
    rc = zoo_get_acl(zh, P("/secret"), &acl, &st);
    check(rc == ZOK && acl.count == 1 && acl.data[0].perms == ZOO_PERM_ALL &&
              strcmp(acl.data[0].id.scheme, "digest") == 0 &&
              strcmp(acl.data[0].id.id, "alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=") == 0,
          "auth ACL expands to digest:alice:<base64 sha1>");
    if (rc == ZOK && acl.count > 0)
        printf("#   acl = %s:%s perms %d\n", acl.data[0].id.scheme, acl.data[0].id.id, acl.data[0].perms);
    deallocate_ACL_vector(&acl);
    buflen = sizeof buf;
    rc = zoo_get(zh, P("/secret"), 0, buf, &buflen, &st);
    check(rc == ZOK && buflen == 6, "owner reads digest-protected node");

    buflen = sizeof buf;
    rc = zoo_get(zh2, P("/secret"), 0, buf, &buflen, &st);
    check_rc(rc, ZNOAUTH, "other client get digest-protected node");
    rc = zoo_set(zh2, P("/secret"), "x", 1, -1);
    check_rc(rc, ZNOAUTH, "other client set digest-protected node");
    struct String_vector sv = { 0, NULL };
    rc = zoo_get_children(zh2, P("/secret"), 0, &sv);
    check_rc(rc, ZNOAUTH, "other client get_children digest-protected node");
    rc = zoo_get_acl(zh2, P("/secret"), &acl, &st);
    check_rc(rc, ZNOAUTH, "other client get_acl (needs READ or ADMIN since 3.6)");
    if (rc == ZOK)
        deallocate_ACL_vector(&acl);
    rc = zoo_exists(zh2, P("/secret"), 0, &st);
    check_rc(rc, ZOK, "other client exists (no permission needed)");
    rc = zoo_create(zh2, P("/mine"), "", 0, &ZOO_CREATOR_ALL_ACL, ZOO_PERSISTENT, NULL, 0);
    check_rc(rc, ZINVALIDACL, "CREATOR_ALL_ACL without any auth");

    zhandle_t *z3 = connect_client("C", NULL);
    if (z3) {
        struct acall *b = new_call();
        zoo_add_auth(z3, "digest", "alice:wrong", 11, void_cb, b);
        check_rc(await_rc(b), ZOK, "add_auth with wrong password is accepted");
        buflen = sizeof buf;
        rc = zoo_get(z3, P("/secret"), 0, buf, &buflen, &st);
        check_rc(rc, ZNOAUTH, "wrong password still ZNOAUTH");
        struct acall *c = new_call();
        zoo_add_auth(z3, "digest", "alice:secret", 12, void_cb, c);
        check_rc(await_rc(c), ZOK, "second add_auth on the same session");
        buflen = sizeof buf;
        rc = zoo_get(z3, P("/secret"), 0, buf, &buflen, &st);
        check(rc == ZOK && buflen == 6 && memcmp(buf, "s3cr3t", 6) == 0,
              "third client with right digest reads it (%s)", rcname(rc));
        zookeeper_close(z3);
    }

    /* explicit digest ACL entry, read-only for anyone else */
    struct ACL two[2];
    two[0].perms = ZOO_PERM_ALL;
    two[0].id.scheme = "digest";
    two[0].id.id = "alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=";
    two[1].perms = ZOO_PERM_READ;
    two[1].id.scheme = "world";
    two[1].id.id = "anyone";
    struct ACL_vector twov = { 2, two };
    rc = zoo_create(zh2, P("/shared"), "v", 1, &twov, ZOO_PERSISTENT, NULL, 0);
    check_rc(rc, ZOK, "unauthenticated client creates node with explicit digest ACL");
    rc = zoo_set(zh2, P("/shared"), "w", 1, -1);
    check_rc(rc, ZNOAUTH, "creator without digest cannot write it");
    rc = zoo_set(zh, P("/shared"), "w", 1, -1);
    check_rc(rc, ZOK, "digest holder writes it");
    buflen = sizeof buf;
    rc = zoo_get(zh2, P("/shared"), 0, buf, &buflen, &st);
    check(rc == ZOK && buflen == 1 && buf[0] == 'w', "world READ entry lets others read");

    /* unknown auth scheme: the server fails the auth and closes the session's connection */
    zhandle_t *z4 = connect_client("D", NULL);
    if (z4) {
        struct acall *d = new_call();
        zoo_add_auth(z4, "nosuchscheme", "x", 1, void_cb, d);
        check_rc(await_rc(d), ZAUTHFAILED, "add_auth with unknown scheme");
        int n = wait_ev("D", ZOO_SESSION_EVENT, ZOO_AUTH_FAILED_STATE, NULL, 1, WAIT_MS);
        check(n >= 1, "session event ZOO_AUTH_FAILED_STATE");
        zookeeper_close(z4);
    }
}

static void test_async(zhandle_t *zh)
{
    section("async API");
    enum { N = 5 };
    struct acall *c[N], *sets[N], *a;
    int rc, ok;

    for (int i = 0; i < N; i++) {
        c[i] = new_call();
        sets[i] = new_call();
    }
    rc = zoo_acreate(zh, P("/async"), "a0", 2, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, string_cb, c[0]);
    check_rc(rc, ZOK, "zoo_acreate queued");
    for (int i = 1; i < N; i++) {
        char kid[32];
        snprintf(kid, sizeof kid, "/async/k%d", i);
        zoo_acreate(zh, P(kid), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, string_cb, c[i]);
    }
    ok = 1;
    for (int i = 0; i < N; i++)
        ok &= await_rc(c[i]) == ZOK;
    check(ok, "pipelined acreate x%d all complete ZOK", N);
    check_str(c[0]->str, P("/async"), "acreate completion path");
    ok = 1;
    for (int i = 1; i < N; i++)
        ok &= c[i]->order == c[i - 1]->order + 1;
    check(ok, "completions arrive in request order");

    /* pipelined sets then a get: FIFO per session */
    for (int i = 0; i < N; i++) {
        char val[8];
        snprintf(val, sizeof val, "v%d", i);
        zoo_aset(zh, P("/async"), val, 2, i, stat_cb, sets[i]);
    }
    struct acall *g = new_call();
    zoo_aget(zh, P("/async"), 0, data_cb, g);
    ok = 1;
    for (int i = 0; i < N; i++)
        ok &= await_rc(sets[i]) == ZOK && sets[i]->stat.version == i + 1;
    check(ok, "pipelined aset with versions 0..%d all ZOK, stat.version increments", N - 1);
    rc = await_rc(g);
    check(rc == ZOK && g->datalen == 2 && strcmp(g->data, "v4") == 0 && g->stat.version == N,
          "aget after pipelined sets sees last value (%s, \"%s\", version %d)", rcname(rc), g->data,
          g->stat.version);
    check(g->order == sets[N - 1]->order + 1, "aget completes right after the sets");

    a = new_call();
    zoo_aset(zh, P("/async"), "zz", 2, 0, stat_cb, a);
    check_rc(await_rc(a), ZBADVERSION, "aset with stale version");

    a = new_call();
    zoo_aexists(zh, P("/async"), 0, stat_cb, a);
    rc = await_rc(a);
    check(rc == ZOK && a->stat.numChildren == N - 1 && a->stat.version == N,
          "aexists: %s, numChildren %d, version %d", rcname(rc), a->stat.numChildren, a->stat.version);
    a = new_call();
    zoo_aexists(zh, P("/async-nope"), 0, stat_cb, a);
    check_rc(await_rc(a), ZNONODE, "aexists missing node");

    a = new_call();
    zoo_aget_children(zh, P("/async"), 0, strings_cb, a);
    rc = await_rc(a);
    check(rc == ZOK && a->nstrings == N - 1, "aget_children: %s, %d names", rcname(rc), a->nstrings);
    a = new_call();
    zoo_aget_children2(zh, P("/async"), 0, strings_stat_cb, a);
    rc = await_rc(a);
    check(rc == ZOK && a->nstrings == N - 1 && a->have_stat && a->stat.numChildren == N - 1 &&
              a->stat.cversion == N - 1,
          "aget_children2: %s, %d names, numChildren %d, cversion %d", rcname(rc), a->nstrings,
          a->stat.numChildren, a->stat.cversion);

    a = new_call();
    zoo_adelete(zh, P("/async"), -1, void_cb, a);
    check_rc(await_rc(a), ZNOTEMPTY, "adelete non-empty node");
    a = new_call();
    zoo_adelete(zh, P("/async/k1"), 0, void_cb, a);
    check_rc(await_rc(a), ZOK, "adelete with version 0");
    a = new_call();
    zoo_adelete(zh, P("/async/k2"), 7, void_cb, a);
    check_rc(await_rc(a), ZBADVERSION, "adelete with wrong version");
    a = new_call();
    zoo_acreate(zh, P("/async/k2"), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, string_cb, a);
    check_rc(await_rc(a), ZNODEEXISTS, "acreate existing node");
    a = new_call();
    zoo_aget(zh, P("/async/gone"), 0, data_cb, a);
    check_rc(await_rc(a), ZNONODE, "aget missing node");
    a = new_call();
    zoo_async(zh, P("/async"), string_cb, a);
    rc = await_rc(a);
    check(rc == ZOK && strcmp(a->str, P("/async")) == 0, "zoo_async (sync): %s, path \"%s\"", rcname(rc),
          a->str);
    a = new_call();
    zoo_aget_acl(zh, P("/async"), acl_cb, a);
    rc = await_rc(a);
    check(rc == ZOK && a->nstrings == 1 && strcmp(a->strings[0], "world:anyone:31") == 0,
          "aget_acl: %s, %s", rcname(rc), a->nstrings ? a->strings[0] : "-");
}

static void test_watches(zhandle_t *zh, zhandle_t *zh2)
{
    section("watches");
    char buf[64];
    int buflen, rc, n;
    struct Stat st;

    /* data watch fires once */
    zoo_create(zh, P("/w"), "0", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, NULL, 0);
    buflen = sizeof buf;
    rc = zoo_wget(zh, P("/w"), watcher, "w-data", buf, &buflen, &st);
    check_rc(rc, ZOK, "wget sets data watch");
    rc = zoo_set(zh2, P("/w"), "1", 1, -1);
    n = wait_ev("w-data", ZOO_CHANGED_EVENT, ZOO_CONNECTED_STATE, P("/w"), 1, WAIT_MS);
    check(n == 1, "another client's set fires ZOO_CHANGED_EVENT on /w");
    zoo_set(zh2, P("/w"), "2", 1, -1);
    zoo_exists(zh, P("/w"), 0, &st); /* round trip on the watching session */
    sleep_ms(300);
    check_int(count_ev("w-data", ANY, ANY, NULL), 1, "data watch is one-shot (events on w-data)");

    /* exists watch on a missing node fires CREATED */
    rc = zoo_wexists(zh, P("/w-new"), watcher, "w-created", &st);
    check_rc(rc, ZNONODE, "wexists on missing node (watch still set)");
    zoo_create(zh2, P("/w-new"), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, NULL, 0);
    n = wait_ev("w-created", ZOO_CREATED_EVENT, ANY, P("/w-new"), 1, WAIT_MS);
    check(n == 1, "create fires ZOO_CREATED_EVENT");

    /* child watch fires CHILD on create and on delete (re-armed) */
    struct String_vector sv = { 0, NULL };
    rc = zoo_wget_children(zh, P("/w-new"), watcher, "w-child", &sv);
    check(rc == ZOK && sv.count == 0, "wget_children sets child watch (%s, %d children)", rcname(rc), sv.count);
    deallocate_String_vector(&sv);
    zoo_create(zh2, P("/w-new/c"), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, NULL, 0);
    n = wait_ev("w-child", ZOO_CHILD_EVENT, ANY, P("/w-new"), 1, WAIT_MS);
    check(n == 1, "child create fires ZOO_CHILD_EVENT on parent");
    rc = zoo_wget_children2(zh, P("/w-new"), watcher, "w-child2", &sv, &st);
    check(rc == ZOK && sv.count == 1 && st.numChildren == 1, "wget_children2 re-arms");
    deallocate_String_vector(&sv);
    zoo_set(zh2, P("/w-new/c"), "x", 1, -1); /* child data change: no child event */
    zoo_delete(zh2, P("/w-new/c"), -1);
    n = wait_ev("w-child2", ZOO_CHILD_EVENT, ANY, P("/w-new"), 1, WAIT_MS);
    check(n == 1, "child delete fires ZOO_CHILD_EVENT on parent");
    check_int(count_ev("w-child2", ANY, ANY, NULL), 1, "child data change did not fire child watch");

    /* exists watch + data watch on an existing node fire DELETED */
    rc = zoo_wexists(zh, P("/w-new"), watcher, "w-del-exists", &st);
    check_rc(rc, ZOK, "wexists on existing node");
    buflen = sizeof buf;
    rc = zoo_wget(zh, P("/w-new"), watcher, "w-del-data", buf, &buflen, &st);
    rc |= zoo_wget_children(zh, P("/w-new"), watcher, "w-del-child", &sv);
    deallocate_String_vector(&sv);
    zoo_delete(zh2, P("/w-new"), -1);
    n = wait_ev("w-del-exists", ZOO_DELETED_EVENT, ANY, P("/w-new"), 1, WAIT_MS);
    check(n == 1, "delete fires ZOO_DELETED_EVENT (exists watch)");
    n = wait_ev("w-del-data", ZOO_DELETED_EVENT, ANY, P("/w-new"), 1, WAIT_MS);
    check(n == 1, "delete fires ZOO_DELETED_EVENT (data watch)");
    n = wait_ev("w-del-child", ZOO_DELETED_EVENT, ANY, P("/w-new"), 1, WAIT_MS);
    check(n == 1, "delete fires ZOO_DELETED_EVENT (child watch)");

    /* watch=1 routes to the global watcher (context "A") */
    buflen = sizeof buf;
    zoo_get(zh, P("/w"), 1, buf, &buflen, &st);
    zoo_set(zh2, P("/w"), "3", 1, -1);
    n = wait_ev("A", ZOO_CHANGED_EVENT, ANY, P("/w"), 1, WAIT_MS);
    check(n == 1, "watch=1 delivers ZOO_CHANGED_EVENT to the global watcher");

    /* own change fires own watch */
    buflen = sizeof buf;
    zoo_wget(zh, P("/w"), watcher, "w-self", buf, &buflen, &st);
    zoo_set(zh, P("/w"), "4", 1, -1);
    n = wait_ev("w-self", ZOO_CHANGED_EVENT, ANY, P("/w"), 1, WAIT_MS);
    check(n == 1, "own set fires own data watch");

    /* exists watch on existing node fires CHANGED on set */
    zoo_wexists(zh, P("/w"), watcher, "w-exists-chg", &st);
    zoo_set(zh2, P("/w"), "5", 1, -1);
    n = wait_ev("w-exists-chg", ZOO_CHANGED_EVENT, ANY, P("/w"), 1, WAIT_MS);
    check(n == 1, "exists watch fires ZOO_CHANGED_EVENT on set");
}

static void test_multi(zhandle_t *zh, zhandle_t *zh2)
{
    section("multi");
    zoo_op_t ops[8];
    zoo_op_result_t res[8];
    char p1[256], p2[256], buf[64];
    struct Stat setst, st;
    int rc, buflen;

    memset(res, 0, sizeof res);
    zoo_create_op_init(&ops[0], P("/m1"), "a", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, p1, sizeof p1);
    zoo_create_op_init(&ops[1], P("/m2"), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, p2, sizeof p2);
    zoo_set_op_init(&ops[2], P("/m1"), "b", 1, 0, &setst);
    zoo_check_op_init(&ops[3], P("/m1"), 1);
    zoo_delete_op_init(&ops[4], P("/m2"), 0);
    rc = zoo_multi(zh, 5, ops, res);
    check_rc(rc, ZOK, "multi create/create/set/check/delete");
    int allok = 1;
    for (int i = 0; i < 5; i++)
        allok &= res[i].err == ZOK;
    check(allok, "multi: every result ZOK");
    check_str(p1, P("/m1"), "multi create result path");
    check_int(setst.version, 1, "multi setData result stat.version");
    buflen = sizeof buf;
    rc = zoo_get(zh, P("/m1"), 0, buf, &buflen, &st);
    check(rc == ZOK && buflen == 1 && buf[0] == 'b' && st.version == 1, "multi applied: /m1 == \"b\"");
    rc = zoo_exists(zh, P("/m2"), 0, &st);
    check_rc(rc, ZNONODE, "multi applied: /m2 created then deleted");

    /* watch on /m1 fires for a multi's setData */
    buflen = sizeof buf;
    zoo_wget(zh2, P("/m1"), watcher, "w-multi", buf, &buflen, &st);

    /* failure in the middle: earlier op ZOK, failing op its error, later ops ZRUNTIMEINCONSISTENCY */
    memset(res, 0, sizeof res);
    zoo_create_op_init(&ops[0], P("/m3"), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, p1, sizeof p1);
    zoo_set_op_init(&ops[1], P("/m1"), "c", 1, -1, &setst);
    zoo_set_op_init(&ops[2], P("/m1"), "d", 1, 99, &setst);
    zoo_create_op_init(&ops[3], P("/m4"), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, p2, sizeof p2);
    zoo_delete_op_init(&ops[4], P("/m1"), -1);
    rc = zoo_multi(zh, 5, ops, res);
    check_rc(rc, ZBADVERSION, "failing multi returns the failing op's error");
    check_int(res[0].err, ZOK, "results[0].err (before failure)");
    check_int(res[1].err, ZOK, "results[1].err (before failure)");
    check_int(res[2].err, ZBADVERSION, "results[2].err (failing op)");
    check_int(res[3].err, ZRUNTIMEINCONSISTENCY, "results[3].err (after failure)");
    check_int(res[4].err, ZRUNTIMEINCONSISTENCY, "results[4].err (after failure)");
    rc = zoo_exists(zh, P("/m3"), 0, &st);
    check_rc(rc, ZNONODE, "failed multi: /m3 not created");
    rc = zoo_exists(zh, P("/m4"), 0, &st);
    check_rc(rc, ZNONODE, "failed multi: /m4 not created");
    buflen = sizeof buf;
    rc = zoo_get(zh, P("/m1"), 0, buf, &buflen, &st);
    check(rc == ZOK && buflen == 1 && buf[0] == 'b' && st.version == 1, "failed multi: /m1 unchanged");

    /* failing first op */
    memset(res, 0, sizeof res);
    zoo_create_op_init(&ops[0], P("/m1"), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, p1, sizeof p1);
    zoo_create_op_init(&ops[1], P("/m5"), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, p2, sizeof p2);
    rc = zoo_multi(zh, 2, ops, res);
    check(rc == ZNODEEXISTS && res[0].err == ZNODEEXISTS && res[1].err == ZRUNTIMEINCONSISTENCY,
          "multi failing at op 0: ZNODEEXISTS then ZRUNTIMEINCONSISTENCY (%s; %d, %d)", rcname(rc),
          res[0].err, res[1].err);
    rc = zoo_exists(zh, P("/m5"), 0, &st);
    check_rc(rc, ZNONODE, "multi failing at op 0: /m5 not created");

    /* failing check op */
    memset(res, 0, sizeof res);
    zoo_check_op_init(&ops[0], P("/m1"), 0);
    zoo_set_op_init(&ops[1], P("/m1"), "e", 1, -1, &setst);
    rc = zoo_multi(zh, 2, ops, res);
    check(rc == ZBADVERSION && res[0].err == ZBADVERSION && res[1].err == ZRUNTIMEINCONSISTENCY,
          "failing check op: ZBADVERSION then ZRUNTIMEINCONSISTENCY (%s; %d, %d)", rcname(rc), res[0].err,
          res[1].err);
    memset(res, 0, sizeof res);
    zoo_check_op_init(&ops[0], P("/m-nope"), -1);
    rc = zoo_multi(zh, 1, ops, res);
    check(rc == ZNONODE && res[0].err == ZNONODE, "check op on missing node -> ZNONODE (%s)", rcname(rc));
    check_int(count_ev("w-multi", ANY, ANY, NULL), 0, "failed multis fired no watch");

    /* later ops see earlier ones: build and tear down a subtree in one multi */
    memset(res, 0, sizeof res);
    zoo_create_op_init(&ops[0], P("/t"), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, NULL, 0);
    zoo_create_op_init(&ops[1], P("/t/c"), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, NULL, 0);
    zoo_create_op_init(&ops[2], P("/t/s-"), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT_SEQUENTIAL, p1, sizeof p1);
    zoo_delete_op_init(&ops[3], P("/t/c"), 0);
    zoo_check_op_init(&ops[4], P("/t"), 0);
    zoo_set_op_init(&ops[5], P("/m1"), "f", 1, 1, &setst);
    rc = zoo_multi(zh, 6, ops, res);
    check_rc(rc, ZOK, "multi: ops see earlier ops' effects");
    check_str(p1, P("/t/s-0000000001"), "sequential create inside multi");
    char list[256];
    children_str(zh, P("/t"), list, sizeof list);
    check_str(list, "s-0000000001", "multi result tree");
    int n = wait_ev("w-multi", ZOO_CHANGED_EVENT, ANY, P("/m1"), 1, WAIT_MS);
    check(n == 1, "multi setData fires data watch");

    /* async multi */
    struct acall *am = new_call();
    static zoo_op_result_t ares[2]; /* static: filled by the completion thread */
    zoo_create_op_init(&ops[0], P("/am"), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, p1, sizeof p1);
    zoo_delete_op_init(&ops[1], P("/am"), 3);
    rc = zoo_amulti(zh, 2, ops, ares, void_cb, am);
    check_rc(rc, ZOK, "zoo_amulti queued");
    rc = await_rc(am);
    check(rc == ZBADVERSION && ares[0].err == ZOK && ares[1].err == ZBADVERSION,
          "amulti failure reported in completion (%s; %d, %d)", rcname(rc), ares[0].err, ares[1].err);
    rc = zoo_exists(zh, P("/am"), 0, &st);
    check_rc(rc, ZNONODE, "amulti failure applied nothing");

    /* empty multi */
    rc = zoo_multi(zh, 0, ops, res);
    check_rc(rc, ZOK, "empty multi");
}

static void test_bad_sessions(zhandle_t *zh)
{
    section("session ids");
    /* A made-up session id is refused with an expired session. */
    clientid_t bogus;
    memset(&bogus, 0, sizeof bogus);
    bogus.client_id = 0x7eadbeef12345678LL;
    memcpy(bogus.passwd, "0123456789abcdef", 16);
    zhandle_t *zb = connect_client("bogus", &bogus);
    if (zb) {
        int n = wait_ev("bogus", ZOO_SESSION_EVENT, ZOO_EXPIRED_SESSION_STATE, NULL, 1, WAIT_MS);
        check(n >= 1, "unknown session id -> ZOO_EXPIRED_SESSION_STATE");
        check_int(count_ev("bogus", ZOO_SESSION_EVENT, ZOO_CONNECTED_STATE, NULL), 0,
                  "unknown session id never connected");
        zookeeper_close(zb);
    }
    /* The live session's id with a wrong password is refused too, and the owner is unaffected. */
    clientid_t wrong = *zoo_client_id(zh);
    wrong.passwd[0] ^= 0x55;
    zhandle_t *zw = connect_client("wrongpw", &wrong);
    if (zw) {
        int n = wait_ev("wrongpw", ZOO_SESSION_EVENT, ZOO_EXPIRED_SESSION_STATE, NULL, 1, WAIT_MS);
        check(n >= 1, "live session id with wrong password -> ZOO_EXPIRED_SESSION_STATE");
        zookeeper_close(zw);
    }
    /* Apache 3.8 closes the owner's current connection before checking the password, so the owner
     * may see a disconnect and reconnect, but its session must survive. */
    int64_t before = zoo_client_id(zh)->client_id;
    wait_ev("A", ZOO_SESSION_EVENT, ZOO_CONNECTED_STATE, NULL, 1, WAIT_MS);
    struct Stat st;
    int rc = zoo_exists(zh, R, 0, &st);
    if (rc == ZCONNECTIONLOSS) { /* request raced the reconnect; retry once connected again */
        wait_ev("A", ZOO_SESSION_EVENT, ZOO_CONNECTED_STATE, NULL, 2, WAIT_MS);
        rc = zoo_exists(zh, R, 0, &st);
    }
    check_rc(rc, ZOK, "owner session still works");
    check(zoo_client_id(zh)->client_id == before, "owner keeps its session id");
    check_int(count_ev("A", ZOO_SESSION_EVENT, ZOO_EXPIRED_SESSION_STATE, NULL), 0, "owner never expired");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s host:port\n", argv[0]);
        return 2;
    }
    g_hosts = argv[1];
    setvbuf(stdout, NULL, _IOLBF, 0);
    alarm(240); /* last-resort bound on the whole run */
    zoo_set_debug_level(getenv("ZK_C_DEBUG") ? ZOO_LOG_LEVEL_DEBUG : ZOO_LOG_LEVEL_ERROR);

    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&cv, &ca);

    snprintf(R, sizeof R, "/ctest-%d-%ld", (int)getpid(), (long)time(NULL));
    printf("# server %s, root %s\n", g_hosts, R);

    zhandle_t *zh = connect_client("A", NULL);
    zhandle_t *zh2 = zh ? connect_client("B", NULL) : NULL;
    if (!zh || !zh2) {
        printf("%d passed, %d failed\n", n_pass, n_fail);
        return 1;
    }

    test_session(zh, zh2);
    test_sync_basic(zh);
    test_children_seq_ephemeral(zh, zh2);
    test_acl(zh, zh2);
    test_async(zh);
    test_watches(zh, zh2);
    test_multi(zh, zh2);
    test_bad_sessions(zh);

    section("close");
    char eph[256];
    snprintf(eph, sizeof eph, "%s/eph", R);
    struct Stat st;
    int rc = zoo_wexists(zh2, eph, watcher, "w-close", &st);
    check_rc(rc, ZOK, "A's ephemeral exists before close");
    rc = zookeeper_close(zh);
    check_rc(rc, ZOK, "zookeeper_close(A)");
    int n = wait_ev("w-close", ZOO_DELETED_EVENT, ANY, eph, 1, WAIT_MS);
    check(n == 1, "A's ephemeral deleted on close");

    delete_tree(zh2, R);
    rc = zoo_exists(zh2, R, 0, &st);
    check_rc(rc, ZNONODE, "cleanup removed the test root");
    rc = zookeeper_close(zh2);
    check_rc(rc, ZOK, "zookeeper_close(B)");

    printf("%d passed, %d failed\n", n_pass, n_fail);
    return n_fail ? 1 : 0;
}
