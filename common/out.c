/* Output batch: see out.h. */
#include "out.h"

#include <string.h>

#include "errors.h"
#include "zmalloc.h"

static const char *reason_names[ZK_CLOSE_REASON_COUNT] = {
	[ZK_CLOSE_NONE] = "none",
	[ZK_CLOSE_PEER] = "peer_closed",
	[ZK_CLOSE_BAD_LENGTH] = "bad_frame_length",
	[ZK_CLOSE_BAD_CONNECT] = "bad_connect_request",
	[ZK_CLOSE_BAD_REQUEST] = "bad_request",
	[ZK_CLOSE_UNIMPLEMENTED] = "unimplemented_op",
	[ZK_CLOSE_ZXID_AHEAD] = "client_zxid_ahead",
	[ZK_CLOSE_SESSION_INVALID] = "session_invalid",
	[ZK_CLOSE_SESSION_EXPIRED] = "session_expired",
	[ZK_CLOSE_SESSION_CLOSED] = "session_closed",
	[ZK_CLOSE_RECONNECTED] = "session_reconnected_elsewhere",
	[ZK_CLOSE_AUTH_FAILED] = "auth_failed",
	[ZK_CLOSE_TOO_MANY] = "too_many_connections",
	[ZK_CLOSE_OUTPUT_FULL] = "output_buffer_full",
	[ZK_CLOSE_IDLE] = "idle_timeout",
	[ZK_CLOSE_FOURLW_DONE] = "four_letter_word_done",
	[ZK_CLOSE_NOMEM] = "out_of_memory",
	[ZK_CLOSE_SHUTDOWN] = "shutdown",
	[ZK_CLOSE_NOT_SERVING] = "not_serving",
	[ZK_CLOSE_QUORUM_PROTOCOL] = "quorum_protocol_error",
	[ZK_CLOSE_QUORUM_TIMEOUT] = "quorum_timeout",
	[ZK_CLOSE_ROLE_CHANGE] = "role_change",
	[ZK_CLOSE_NOT_READ_ONLY_CLIENT] = "not_read_only_client",
	[ZK_CLOSE_GLOBAL_SESSION_IN_RO] = "renew_global_session_in_ro_mode",
};

const char *zk_close_reason_str(enum zk_close_reason r)
{
	return (r >= 0 && r < ZK_CLOSE_REASON_COUNT && reason_names[r]) ? reason_names[r] : "unknown";
}

void zk_out_init(struct zk_out *o)
{
	memset(o, 0, sizeof(*o));
	zk_wbuf_init(&o->data);
}

void zk_out_fini(struct zk_out *o)
{
	zk_free(o->items);
	zk_wbuf_fini(&o->data);
	memset(o, 0, sizeof(*o));
}

void zk_out_reset(struct zk_out *o)
{
	o->n = 0;
	o->wake_at_ms = 0;
	o->err = 0;
	zk_wbuf_reset(&o->data);
}

static struct zk_out_item *push(struct zk_out *o)
{
	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 64;
		struct zk_out_item *p = zk_realloc(o->items, cap * sizeof(*p));
		if (!p) {
			o->err = ZK_ENOMEM;
			return NULL;
		}
		o->items = p;
		o->cap = cap;
	}
	struct zk_out_item *it = &o->items[o->n++];
	memset(it, 0, sizeof(*it));
	return it;
}

struct zk_wbuf *zk_out_send_begin(struct zk_out *o, size_t *mark)
{
	*mark = o->data.len;
	return &o->data;
}

void zk_out_send_end(struct zk_out *o, uint64_t conn_id, size_t mark)
{
	if (o->data.err) {
		o->err = o->data.err;
		return;
	}
	if (o->data.len == mark)
		return;
	/* Consecutive sends to one connection merge into one item: one write for the shell. */
	if (o->n && o->items[o->n - 1].kind == ZK_OUT_SEND && o->items[o->n - 1].conn_id == conn_id &&
	    o->items[o->n - 1].off + o->items[o->n - 1].len == mark) {
		o->items[o->n - 1].len += o->data.len - mark;
		return;
	}
	struct zk_out_item *it = push(o);
	if (!it)
		return;
	it->kind = ZK_OUT_SEND;
	it->conn_id = conn_id;
	it->off = mark;
	it->len = o->data.len - mark;
}

void zk_out_close(struct zk_out *o, uint64_t conn_id, enum zk_close_reason reason)
{
	struct zk_out_item *it = push(o);
	if (!it)
		return;
	it->kind = ZK_OUT_CLOSE;
	it->conn_id = conn_id;
	it->reason = reason;
}

void zk_out_persist(struct zk_out *o, uint64_t token, const uint8_t *p, size_t len)
{
	size_t off = o->data.len;
	zk_jw_raw(&o->data, p, len);
	if (o->data.err) {
		o->err = o->data.err;
		return;
	}
	struct zk_out_item *it = push(o);
	if (!it)
		return;
	it->kind = ZK_OUT_PERSIST;
	it->token = token;
	it->off = off;
	it->len = len;
}

static void push_simple(struct zk_out *o, enum zk_out_kind kind, uint64_t conn_id, uint64_t token, int reason)
{
	struct zk_out_item *it = push(o);
	if (!it)
		return;
	it->kind = kind;
	it->conn_id = conn_id;
	it->token = token;
	it->reason = (enum zk_close_reason)reason;
}

void zk_out_dial(struct zk_out *o, uint64_t link_id, int64_t sid) { push_simple(o, ZK_OUT_DIAL, link_id, (uint64_t)sid, 0); }

void zk_out_dial_master(struct zk_out *o, uint64_t link_id, int64_t sid)
{
	push_simple(o, ZK_OUT_DIAL, link_id, (uint64_t)sid, ZK_DIAL_OBSERVER_MASTER);
}

void zk_out_epoch(struct zk_out *o, int which, int64_t epoch) { push_simple(o, ZK_OUT_EPOCH, 0, (uint64_t)epoch, which); }

void zk_out_truncate(struct zk_out *o, int64_t zxid) { push_simple(o, ZK_OUT_TRUNCATE, 0, (uint64_t)zxid, 0); }

void zk_out_snapshot(struct zk_out *o) { push_simple(o, ZK_OUT_SNAPSHOT, 0, 0, 0); }
