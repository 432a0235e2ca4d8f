/* The effects of one call into the core, drained by the shell after each call: bytes to send on
 * a connection, connections to close (after what was queued for them is flushed), txn bytes to
 * persist under a token (the reply they hold back is released by disk_done for that token),
 * and the next wake-up. Send payloads live in one arena, reused between calls. */
#ifndef ZK_OUT_H
#define ZK_OUT_H

#include <stddef.h>
#include <stdint.h>

#include "jute.h"

enum zk_out_kind { ZK_OUT_SEND = 1, ZK_OUT_CLOSE, ZK_OUT_PERSIST };

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

#endif
