/* Private state of the server core, shared by server.c (connections, dispatch, commit),
 * prep.c (writes into txns), final.c (reads and replies) and fourlw.c. */
#ifndef ZK_SERVER_INT_H
#define ZK_SERVER_INT_H

#include <uthash.h>

#include "acl.h"
#include "change.h"
#include "commitlog.h"
#include "records.h"
#include "server.h"
#include "txn.h"
#include "watch.h"

enum zk_conn_state {
	ZK_CONN_NEW = 0,   /* waiting for the ConnectRequest */
	ZK_CONN_ACTIVE,    /* session bound (or being created: its connect item heads the queue) */
	ZK_CONN_CLOSING,   /* a CLOSE was emitted: ignore further input */
};

enum zk_pending_kind {
	ZK_PEND_READ = 0,  /* a queued non-write request: frame copy in buf */
	ZK_PEND_WRITE,     /* a client write: txn bytes in buf */
	ZK_PEND_CONNECT,   /* createSession for a new connection */
	ZK_PEND_INTERNAL,  /* server-made: session expiry, container/TTL reaping; on a leader
	                      also what learners forwarded (they reply, not us) */
	ZK_PEND_REMOTE,    /* learner: a txn from the leader, waiting for its COMMIT */
	ZK_PEND_FORWARDED, /* learner: a client write sent to the leader; its txn comes back as a
	                      ZK_PEND_REMOTE with the same session and cxid */
	ZK_PEND_SYNC,      /* learner: a sync sent to the leader, answered by SYNC (frame copy in buf) */
};

struct zk_pending {
	struct zk_pending *next;  /* in the connection's queue */
	struct zk_pending *cnext; /* in the commit queue (writes) */
	enum zk_pending_kind kind;
	uint64_t conn_id;
	int64_t session_id;
	int32_t xid;
	int32_t op;
	int64_t zxid;
	int64_t recv_mono_ms;
	bool in_conn_queue;
	bool conn_only; /* in no commit queue: freed with its connection's queue */
	int32_t local_err; /* learner: answered instead of the leader's error txn (ZooKeeper's request
	                      exception, EphemeralOnLocalSession), 0 = none */
	uint8_t *buf;
	size_t len;
};

struct zk_conn_stats {
	uint64_t recved, sent;
	int64_t lat_min, lat_max, lat_sum, lat_cnt, lat_last;
	int64_t last_cxid, last_zxid, last_resp_wall_ms;
	char last_op[5];
};

struct zk_conn {
	uint64_t id;
	UT_hash_handle hh;
	enum zk_conn_state state;
	char ip[64];
	int port;
	int64_t session_id;
	int32_t timeout_ms;
	bool old_client; /* no readOnly byte in its ConnectRequest: none in our answer either */
	int64_t opened_mono_ms;
	int64_t est_wall_ms;
	struct zk_auth auth;
	bool touched; /* learner: in s->touched since the last PING */
	bool foreign_local; /* leader, a forwarded request's stand-in: another member's local session */
	struct zk_pending *qhead, *qtail;
	uint32_t qlen;
	struct zk_conn_stats st;
};

struct zk_ip_count {
	char ip[64];
	int count;
	UT_hash_handle hh;
};

struct zk_server_stats {
	uint64_t packets_received, packets_sent;
	int64_t lat_min, lat_max, lat_sum, lat_cnt;
	uint64_t closes[ZK_CLOSE_REASON_COUNT];
	int64_t start_mono_ms;
	int64_t start_wall_ms;
};

struct zk_server {
	struct zk_config cfg;
	struct zk_logger log;
	struct zk_db db;
	struct zk_watches watches;
	struct zk_changes changes;
	struct zk_conn *conns;
	struct zk_ip_count *ip_counts;
	uint32_t conn_count;
	struct zk_pending *commit_head, *commit_tail; /* writes in zxid order */
	uint32_t commit_len;
	uint32_t queued_reads;
	int64_t next_zxid;   /* last zxid handed out by prep */
	int64_t durable_zxid;
	bool read_only;       /* writes cannot be persisted */
	/* Learner (localSessionsEnabled) and read-only mode: sessions only this server knows, expired
	 * here, never in a txn, a snapshot or the PING touch table (server_local.c). */
	struct zk_sessions local;
	int64_t next_reap_mono_ms;
	int64_t next_sessionless_check_ms;
	uint64_t data_dir_bytes, log_dir_bytes;
	struct zk_server_stats st;
	struct zk_txn_result res;  /* reused per commit */
	struct zk_wbuf txn;        /* reused per prep */
	struct zk_wbuf scratch;    /* reused per reply / ACL fix-up */
	struct zk_wbuf pathbuf;    /* sequential names */
	struct zk_out *cur_out;    /* where watch events go during apply */
	struct zk_now cur_now;
	/* Quorum mode (server_repl.c). */
	enum zk_server_mode mode;
	struct zk_repl repl;
	int64_t myid;
	struct zk_commitlog commitlog;
	uint64_t *touched;          /* learner: conn ids with client activity since the last PING */
	size_t n_touched, cap_touched;
	struct zk_pend_session *pend_sessions; /* learner: createSession forwarded, conn waiting */
	uint64_t *syncs;            /* learner: conn ids of forwarded syncs, oldest first */
	size_t n_syncs, cap_syncs, syncs_head;
};

/* Learner: a forwarded createSession and the connection waiting for it. */
struct zk_pend_session {
	int64_t session_id;
	uint64_t conn_id;
	UT_hash_handle hh;
};

/* server.c */
struct zk_conn *zk_conn_get(struct zk_server *s, uint64_t id);
void zk_server_close_conn(struct zk_server *s, struct zk_conn *c, enum zk_close_reason why, struct zk_out *out);
void zk_conn_note_reply(struct zk_server *s, struct zk_conn *c, int32_t op, int32_t xid, int64_t zxid,
                        int64_t recv_mono_ms);
/* Sends a header-only reply. */
void zk_send_header(struct zk_server *s, struct zk_conn *c, int32_t xid, int64_t zxid, int32_t err,
                    struct zk_out *out);
const char *zk_op_tag(int32_t op);
bool zk_op_is_write(int32_t op);

struct zk_pending *zk_submit(struct zk_server *s, enum zk_pending_kind kind, struct zk_conn *c,
                             int64_t session_id, int32_t xid, int32_t op, int64_t zxid, struct zk_out *out);
void zk_queue_push(struct zk_conn *c, struct zk_pending *p);
void zk_queue_pop(struct zk_conn *c);
void zk_pending_free(struct zk_pending *p);
void zk_conn_drop_queue(struct zk_server *s, struct zk_conn *c);
/* Replies to an applied write at the head of its connection's queue, then serves the reads
 * queued behind it. */
void zk_finish(struct zk_server *s, struct zk_pending *p, struct zk_out *out);
void zk_drain(struct zk_server *s, struct zk_conn *c, struct zk_out *out);
/* Applies the commit-queue head (any mode): txn, committed log, change records, reply. */
void zk_apply_head(struct zk_server *s, struct zk_now now, struct zk_out *out);

/* server_repl.c: quorum-mode parts of dispatch. */
/* Learner: forwards a client write / sync. */
void zk_repl_forward(struct zk_server *s, struct zk_conn *c, int32_t xid, int32_t op, const uint8_t *frame,
                     size_t len, struct zk_out *out);
/* Learner: a request kept in the connection's queue only, until the leader answers it. */
struct zk_pending *zk_conn_only_pending(struct zk_conn *c, enum zk_pending_kind kind, int32_t xid, int32_t op,
                                        int64_t now_ms);
/* Learner: a new session, forwarded as createSession. */
void zk_repl_create_session(struct zk_server *s, struct zk_conn *c, int32_t timeout_ms, struct zk_out *out);
void zk_repl_touched(struct zk_server *s, struct zk_conn *c);
/* Learner: before / after applying a txn from the leader: find the connection it answers. */
void zk_repl_remote_before(struct zk_server *s, struct zk_pending *p);
void zk_repl_remote_applied(struct zk_server *s, struct zk_pending *p, struct zk_out *out);
void zk_server_tree_event(void *ctx, int type, const char *path, size_t len);

/* server_local.c: sessions only this server knows. */
/* Whether a new session here is local: read-only mode, or a learner with localSessionsEnabled. */
bool zk_local_new_sessions(const struct zk_server *s);
/* A local session in ZooKeeper's isLocalSession sense (not one being upgraded), or NULL. */
struct zk_session *zk_local_session(const struct zk_server *s, int64_t id);
/* The table a session lives in: the local one if it is there, else the replicated one. */
struct zk_sessions *zk_session_table(struct zk_server *s, int64_t id);
/* A new local session for the connection, answered at once (no txn). */
void zk_local_create(struct zk_server *s, struct zk_conn *c, int32_t timeout_ms, struct zk_out *out);
/* Read-only mode: refuses writes and syncs with NOTREADONLY. True when it answered. */
bool zk_local_readonly_refuse(struct zk_server *s, struct zk_conn *c, int32_t xid, int32_t op, struct zk_out *out);
/* closeSession of a local session: answered here, in turn. True when it took the request. */
bool zk_local_close_request(struct zk_server *s, struct zk_conn *c, int32_t xid, int32_t op, const uint8_t *frame,
                            size_t len, struct zk_out *out);
void zk_local_close(struct zk_server *s, struct zk_conn *c, int32_t xid, int64_t recv_mono_ms, struct zk_out *out);
/* Learner, before forwarding a write of a local session: an ephemeral create first upgrades the
 * session (forwards a createSession) or, without upgrading, gets in *err the error to answer in
 * place of the leader's error txn (0 = none). Returns 0, or ZK_ENOMEM when the connection had to
 * be closed. */
int zk_local_before_forward(struct zk_server *s, struct zk_conn *c, int32_t op, const uint8_t *body, size_t len,
                            zk_code *err, struct zk_out *out);
/* Learner: the createSession of an upgrade was applied; c waits for it at the head. */
void zk_local_upgraded(struct zk_server *s, struct zk_conn *c, int64_t session_id, struct zk_out *out);
void zk_local_expire(struct zk_server *s, struct zk_out *out);
/* Forgets every local session (leaving the mode that made them). */
void zk_local_forget(struct zk_server *s);

/* server.c */
/* Queues a non-write request behind the connection's pending ones (a frame copy). */
void zk_queue_read(struct zk_server *s, struct zk_conn *c, int32_t xid, int32_t op, const uint8_t *frame, size_t len,
                   struct zk_out *out);

/* handshake.c */
void zk_send_connect_response(struct zk_server *s, struct zk_conn *c, bool valid, struct zk_out *out);
void zk_handshake_connect(struct zk_server *s, struct zk_conn *c, const uint8_t *p, size_t len,
                          struct zk_out *out);
void zk_handshake_auth(struct zk_server *s, struct zk_conn *c, const uint8_t *body, size_t len,
                       struct zk_out *out);

/* prep.c: turns a write into a txn in s->txn (header + record). Always yields a txn: a failed
 * validation gives an error txn, as ZooKeeper commits failed writes. */
void zk_prep(struct zk_server *s, struct zk_conn *c, int64_t session_id, int32_t xid, int32_t op,
             const uint8_t *body, size_t len, int64_t zxid);
/* Session expiry / closeSession: the txn deleting the session's ephemerals. */
void zk_prep_close_session(struct zk_server *s, int64_t session_id, int32_t xid, int64_t zxid);
void zk_prep_create_session(struct zk_server *s, int64_t session_id, int32_t timeout_ms, int64_t zxid);
/* Drops the change records of txns up to zxid once applied. */
void zk_prep_committed(struct zk_server *s, int64_t zxid);

/* final.c */
/* Reply to an applied write. */
void zk_final_write_reply(struct zk_server *s, struct zk_conn *c, const struct zk_pending *p,
                          const struct zk_txn_result *res, struct zk_out *out);
/* Serves a non-write request (reads, ping, sync, watches ops, unknown ops). */
void zk_final_read(struct zk_server *s, struct zk_conn *c, int32_t xid, int32_t op, const uint8_t *body,
                   size_t len, int64_t recv_mono_ms, struct zk_out *out);

/* fourlw.c */
void zk_fourlw_answer(struct zk_server *s, const char *cmd, struct zk_wbuf *w);

#endif
