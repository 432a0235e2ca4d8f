/* Sessions: the table of live sessions with their negotiated timeouts (what snapshots keep), and
 * expiry in tickTime buckets as ZooKeeper's ExpiryQueue does: a touch moves a session to the
 * bucket roundUp(now + timeout); a tick expires whole buckets whose time has come. Time is an
 * argument; nothing here reads a clock. */
#ifndef ZK_SESSION_H
#define ZK_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <uthash.h>

struct zk_session {
	int64_t id;
	int32_t timeout_ms;
	int64_t expire_at_ms; /* bucket time; 0 = not tracked */
	bool closing;
	bool upgrading;   /* a local session whose createSession is on its way to the leader */
	uint64_t conn_id; /* connection bound to the session, 0 = none */
	UT_hash_handle hh;
	struct zk_session *bprev, *bnext;
};

struct zk_bucket {
	int64_t at_ms;
	struct zk_session *head;
	UT_hash_handle hh;
};

struct zk_sessions {
	struct zk_session *by_id;
	struct zk_bucket *buckets;
	int64_t interval_ms;      /* tickTime */
	int64_t next_expiry_ms;   /* next bucket boundary to check */
	int64_t next_session_id;
};

void zk_sessions_init(struct zk_sessions *s, int64_t tick_ms, int64_t server_id, int64_t now_ms);
void zk_sessions_fini(struct zk_sessions *s);
/* ZooKeeper's id layout: (serverId << 56) | ((now << 24) >>> 8). */
int64_t zk_session_id_initial(int64_t server_id, int64_t now_ms);
int64_t zk_sessions_next_id(struct zk_sessions *s);
struct zk_session *zk_sessions_get(const struct zk_sessions *s, int64_t id);
/* Adds (or updates the timeout of) a session and touches it. NULL on ENOMEM. */
struct zk_session *zk_sessions_add(struct zk_sessions *s, int64_t id, int32_t timeout_ms, int64_t now_ms);
void zk_sessions_remove(struct zk_sessions *s, int64_t id);
/* Replaces dst's sessions (and their buckets) by src's, leaving src without any; dst keeps its
 * tickTime, next expiry boundary and session id counter (snapshot load: the table is built aside
 * and only moved in once the whole snapshot checked out). Both must use the same tickTime. */
void zk_sessions_move_table(struct zk_sessions *dst, struct zk_sessions *src);
/* Touch: false when the session is unknown or closing (the request is then dropped). */
bool zk_sessions_touch(struct zk_sessions *s, int64_t id, int64_t now_ms);
/* Pops one session whose bucket is due, marking it closing; NULL when none is due. */
struct zk_session *zk_sessions_pop_expired(struct zk_sessions *s, int64_t now_ms);
/* Next time a tick could expire something (for the shell's timer). */
int64_t zk_sessions_next_deadline(const struct zk_sessions *s);
uint32_t zk_sessions_count(const struct zk_sessions *s);
/* Session password: java.util.Random(id ^ 0xB3415C00).nextBytes(16). */
void zk_session_passwd(int64_t id, uint8_t out[16]);

#endif
