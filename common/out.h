/* The effects of one call into the core, drained by the shell after each call: bytes to send on
 * a connection, connections to close (after what was queued for them is flushed), txn bytes to
 * persist under a token (the reply they hold back is released by disk_done for that token),
 * and the next wake-up. Send payloads live in one arena, reused between calls. */
#ifndef ZK_OUT_H
#define ZK_OUT_H

#include <stddef.h>
#include <stdint.h>

#include "jute.h"

enum zk_out_kind {
	ZK_OUT_SEND = 1,
	ZK_OUT_CLOSE,
	ZK_OUT_PERSIST,
	/* Quorum mode (quorum/peer.h). The shell carries these out in order, the synchronous ones
	 * (EPOCH, TRUNCATE, SNAPSHOT) before it looks at the next item, so a SEND after an EPOCH
	 * leaves only once the epoch file is durable. */
	ZK_OUT_DIAL,     /* conn_id = a quorum link id to open, token = the sid whose quorum port to dial
	                    (reason = ZK_DIAL_OBSERVER_MASTER: its observerMasterPort instead) */
	ZK_OUT_EPOCH,    /* token = epoch; reason = ZK_EPOCH_ACCEPTED or ZK_EPOCH_CURRENT: write, fsync, rename */
	ZK_OUT_TRUNCATE, /* token = zxid: cut the txn log after zxid and reload the database from disk */
	ZK_OUT_SNAPSHOT, /* write a snapshot of the database now (synchronously) and roll the log */
};

#define ZK_DIAL_OBSERVER_MASTER 1

/* ZK_OUT_EPOCH's file (in the reason field). */
#define ZK_EPOCH_ACCEPTED 1
#define ZK_EPOCH_CURRENT 2

/* Connection ids: client connections count up from 1; quorum-side links live in their own
 * ranges so one zk_out carries both. */
#define ZK_LINK_ELECT_BASE (1ULL << 62)  /* | sid: the election connection to that server */
#define ZK_LINK_QUORUM_BASE (1ULL << 61) /* | n: a leader<->learner link, n chosen by whoever opens it */
/* Quorum link ids the core picks for its ZK_OUT_DIALs carry this bit; ids the shell gives to
 * accepted connections must not. */
#define ZK_LINK_QUORUM_DIAL_BIT (1ULL << 40)
#define ZK_LINK_IS_ELECT(id) (((id) & ZK_LINK_ELECT_BASE) != 0)
#define ZK_LINK_IS_QUORUM(id) (!ZK_LINK_IS_ELECT(id) && ((id) & ZK_LINK_QUORUM_BASE) != 0)
#define ZK_LINK_IS_CLIENT(id) (((id) & (ZK_LINK_ELECT_BASE | ZK_LINK_QUORUM_BASE)) == 0)

enum zk_close_reason {
	ZK_CLOSE_NONE = 0,
	ZK_CLOSE_PEER,           /* the client closed */
	ZK_CLOSE_BAD_LENGTH,     /* frame length < 0 or > jute.maxbuffer */
	ZK_CLOSE_BAD_CONNECT,    /* undecodable ConnectRequest */
	ZK_CLOSE_BAD_REQUEST,    /* undecodable request header */
	ZK_CLOSE_UNIMPLEMENTED,  /* unknown opcode (after the -6 reply) */
	ZK_CLOSE_ZXID_AHEAD,     /* client saw a newer zxid than ours */
	ZK_CLOSE_SESSION_INVALID,/* reconnect with a bad password or an expired session */
	ZK_CLOSE_SESSION_EXPIRED,
	ZK_CLOSE_SESSION_CLOSED, /* closeSession done */
	ZK_CLOSE_RECONNECTED,    /* the session moved to a newer connection */
	ZK_CLOSE_AUTH_FAILED,
	ZK_CLOSE_TOO_MANY,       /* maxClientCnxns / maxCnxns */
	ZK_CLOSE_OUTPUT_FULL,    /* the client stopped reading */
	ZK_CLOSE_IDLE,           /* no ConnectRequest in time / session timeout without traffic */
	ZK_CLOSE_FOURLW_DONE,
	ZK_CLOSE_NOMEM,
	ZK_CLOSE_SHUTDOWN,
	ZK_CLOSE_NOT_SERVING,    /* quorum member without an established leader */
	ZK_CLOSE_QUORUM_PROTOCOL,/* a peer broke the election or ZAB protocol */
	ZK_CLOSE_QUORUM_TIMEOUT, /* initLimit / syncLimit passed */
	ZK_CLOSE_ROLE_CHANGE,    /* leaving LEADING / FOLLOWING */
	ZK_CLOSE_NOT_READ_ONLY_CLIENT, /* read-only mode: the client did not accept a read-only server */
	ZK_CLOSE_GLOBAL_SESSION_IN_RO, /* read-only mode: a global session cannot be renewed */
	ZK_CLOSE_REASON_COUNT
};

const char *zk_close_reason_str(enum zk_close_reason r);

struct zk_out_item {
	enum zk_out_kind kind;
	uint64_t conn_id;
	uint64_t token; /* PERSIST */
	size_t off, len; /* SEND/PERSIST: bytes in out->data */
	enum zk_close_reason reason;
};

struct zk_out {
	struct zk_out_item *items;
	size_t n, cap;
	struct zk_wbuf data;
	int64_t wake_at_ms; /* 0 = no change */
	int err;            /* sticky ENOMEM */
};

void zk_out_init(struct zk_out *o);
void zk_out_fini(struct zk_out *o);
void zk_out_reset(struct zk_out *o);
/* Starts a SEND: returns the arena to write one or more whole frames into; finish with
 * zk_out_send_end. */
struct zk_wbuf *zk_out_send_begin(struct zk_out *o, size_t *mark);
void zk_out_send_end(struct zk_out *o, uint64_t conn_id, size_t mark);
void zk_out_close(struct zk_out *o, uint64_t conn_id, enum zk_close_reason reason);
void zk_out_persist(struct zk_out *o, uint64_t token, const uint8_t *p, size_t len);
/* Quorum-mode items (see enum zk_out_kind). */
void zk_out_dial(struct zk_out *o, uint64_t link_id, int64_t sid);
void zk_out_dial_master(struct zk_out *o, uint64_t link_id, int64_t sid);
void zk_out_epoch(struct zk_out *o, int which, int64_t epoch);
void zk_out_truncate(struct zk_out *o, int64_t zxid);
void zk_out_snapshot(struct zk_out *o);

#endif
