/* The standalone server core: connections' protocol state, the request pipeline (prep -> log
 * -> commit -> final), sessions, watches and four-letter words, as a deterministic state machine.
 * Inputs carry the time; effects come out in a struct zk_out (out.h) that the caller carries out:
 * sockets, files and clocks belong to the shell (io_*.c). Single-threaded. */
#ifndef ZK_SERVER_H
#define ZK_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "log.h"
#include "out.h"

struct zk_server;

struct zk_now {
	int64_t mono_ms; /* monotonic: expiry, latencies */
	int64_t wall_ms; /* wall clock: txn time (ctime/mtime), TTLs, 4lw timestamps */
};

struct zk_server *zk_server_new(const struct zk_config *cfg, struct zk_now now, const struct zk_logger *log);
void zk_server_free(struct zk_server *s);

/* A new client connection. Returns 0, or -1 when it must be refused (maxClientCnxns, maxCnxns):
 * a CLOSE is then in `out`. */
int zk_server_conn_open(struct zk_server *s, struct zk_now now, uint64_t conn_id, const char *ip, int port,
                        struct zk_out *out);
/* The connection is gone (peer closed, error, or the shell carried out a CLOSE). */
void zk_server_conn_closed(struct zk_server *s, struct zk_now now, uint64_t conn_id);
/* One whole frame (without its 4-byte length) from the connection. */
void zk_server_frame(struct zk_server *s, struct zk_now now, uint64_t conn_id, const uint8_t *p, size_t len,
                     struct zk_out *out);
/* Whether the first 4 bytes of a connection are a four-letter word (before any handshake). */
bool zk_server_is_fourlw(const uint8_t first4[4]);
/* Answers a four-letter word: SEND then CLOSE. */
void zk_server_fourlw(struct zk_server *s, struct zk_now now, uint64_t conn_id, const uint8_t cmd[4],
                      struct zk_out *out);
/* Deadlines: session expiry, container/TTL reaping, sessionless connections. */
void zk_server_tick(struct zk_server *s, struct zk_now now, struct zk_out *out);
/* Everything persisted under tokens <= token is durable (rc 0) or failed (rc < 0). */
void zk_server_disk_done(struct zk_server *s, struct zk_now now, uint64_t token, int rc, struct zk_out *out);
/* Requests in the pipeline (globalOutstandingLimit applies to this). */
uint32_t zk_server_outstanding(const struct zk_server *s);
int64_t zk_server_next_wake(const struct zk_server *s);
/* For the dirs/conf words: sizes of the data and log directories, measured by the shell. */
void zk_server_set_dir_sizes(struct zk_server *s, uint64_t data_dir_bytes, uint64_t log_dir_bytes);
/* Informs the core that writes can no longer be persisted (full disk, failed fsync). */
void zk_server_set_read_only(struct zk_server *s, bool ro);
uint64_t zk_server_last_zxid(const struct zk_server *s);
/* Start-up recovery: the shell loads a snapshot and replays logs into this database before any
 * client connects, then calls zk_server_loaded so that zxids continue after the last one and
 * the recovered sessions get a full timeout from now (as ZooKeeper does after a restart). */
struct zk_db;
struct zk_db *zk_server_db(struct zk_server *s);
void zk_server_loaded(struct zk_server *s, struct zk_now now);
/* Applies one txn read back from the log during recovery. Returns 0 or a negative ZK_E*. */
int zk_server_replay(struct zk_server *s, const uint8_t *txn, size_t len);


/* ---- Quorum mode (quorum/peer.c drives these) ---- */
struct zk_auth;
struct zk_commitlog;
struct zk_wbuf;

enum zk_server_mode {
	ZK_MODE_STANDALONE = 0, /* the whole pipeline here */
	ZK_MODE_DOWN,           /* quorum member without an established leader: no clients */
	ZK_MODE_LEADER,         /* prep here, commit when the peer says a quorum logged it */
	ZK_MODE_LEARNER,        /* writes forwarded to the leader, txns arrive from it */
	ZK_MODE_READONLY,       /* quorum member cut off from its leader (readonlymode.enabled): serves
	                           clients that accept a read-only server with local sessions, reads
	                           from the local tree, refuses writes with NOTREADONLY */
};

/* The replication hook the peer installs. Every callback gets the zk_out of the call it happens
 * in. */
struct zk_repl {
	void *ctx;
	/* Leader: a txn entered the pipeline (its PERSIST is already in out). */
	void (*proposed)(void *ctx, int64_t zxid, const uint8_t *txn, size_t len, struct zk_out *out);
	/* Leader and learner: what was persisted under tokens <= token is durable (rc 0) or not. */
	void (*durable)(void *ctx, struct zk_now now, uint64_t token, int rc, struct zk_out *out);
	/* Learner: a client request for the leader (write, createSession (op -10, body = int timeout),
	 * closeSession, sync), with the connection's auth ids (NULL for createSession). */
	void (*forward)(void *ctx, int64_t session_id, int32_t cxid, int32_t op, const uint8_t *body, size_t len,
	                const struct zk_auth *auth, struct zk_out *out);
	/* End of zk_server_tick, and the deadline it wants. */
	void (*tick)(void *ctx, struct zk_now now, struct zk_out *out);
	int64_t (*next_wake)(void *ctx);
	/* mntr / srvr extras: "Mode: ..." value and extra mntr lines ("zk_followers\t2\n"...). */
	const char *(*mode_name)(void *ctx);
	void (*mntr)(void *ctx, struct zk_wbuf *w);
	/* conf: the lines from serverId on, as QuorumPeer prints them. */
	void (*conf)(void *ctx, struct zk_wbuf *w);
};

void zk_server_set_myid(struct zk_server *s, int64_t myid); /* session ids carry it (high byte) */
void zk_server_set_repl(struct zk_server *s, const struct zk_repl *r);
/* Changes role. Leaving LEADER, LEARNER or READONLY closes every client connection and forgets
 * the local (and read-only) sessions; entering DOWN, LEADER or READONLY applies whatever is still
 * pending in the commit queue (it is in our log: ZooKeeper's fastForwardDataBase). LEADER starts
 * handing out zxids after next_zxid and gives every session a fresh timeout. The peer enters
 * READONLY (only with cfg.readonly_mode_enabled) after some time without a leader, as
 * QuorumPeer starts its ReadOnlyZooKeeperServer, and leaves it for LEARNER, LEADER or DOWN. */
void zk_server_set_mode(struct zk_server *s, struct zk_now now, enum zk_server_mode m, int64_t next_zxid,
                        struct zk_out *out);
enum zk_server_mode zk_server_mode(const struct zk_server *s);
/* Leader and learner: applies the queued txns with zxid <= zxid, replies to their clients. */
void zk_server_commit(struct zk_server *s, struct zk_now now, int64_t zxid, struct zk_out *out);
/* Learner: a txn from the leader (PROPOSAL, or during sync): persisted under token zxid and queued
 * for its commit. Returns 0 or ZK_ENOMEM / ZK_EINVAL (undecodable header). */
int zk_server_learner_txn(struct zk_server *s, struct zk_now now, int64_t zxid, const uint8_t *txn, size_t len,
                          struct zk_out *out);
/* Learner: the leader answered the oldest forwarded sync. */
void zk_server_sync_done(struct zk_server *s, struct zk_now now, struct zk_out *out);
/* Leader: a request forwarded by a learner, run through prep as if local (no reply here: the
 * learner replies once it applies the commit). */
void zk_server_remote_request(struct zk_server *s, struct zk_now now, int64_t session_id, int32_t cxid,
                              int32_t op, const uint8_t *body, size_t len, const struct zk_auth *auth,
                              struct zk_out *out);
/* Leader: a learner's PING touch table entry / REVALIDATE. False when the session is unknown. */
bool zk_server_touch_session(struct zk_server *s, struct zk_now now, int64_t id, int32_t timeout_ms);
/* Learner: appends {long id; int timeout} for each session with client activity since the last
 * call (the PING touch table). */
void zk_server_take_touched(struct zk_server *s, struct zk_wbuf *w);
/* Learner: the highest zxid persisted so far and durable (disk_done), and the last zxid handed to
 * the log (durable or not). */
int64_t zk_server_durable_zxid(const struct zk_server *s);
int64_t zk_server_queued_zxid(const struct zk_server *s);
/* The last committed txns (commitLogCount), for DIFF. */
const struct zk_commitlog *zk_server_commitlog(const struct zk_server *s);
/* Learner, SNAP: replaces the database by the wire snapshot. 0 or a negative ZK_E* (err says why;
 * the database is then unchanged). */
int zk_server_load_wire_snapshot(struct zk_server *s, struct zk_now now, const uint8_t *p, size_t n, int64_t zxid,
                                 char *err, size_t err_len);
/* TRUNC reload: empties the database (the shell then loads a snapshot and replays the log into
 * zk_server_db and calls zk_server_loaded). */
int zk_server_reset_db(struct zk_server *s, struct zk_now now);

#endif
