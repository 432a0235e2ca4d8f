/* Framer of the leader <-> learner byte stream (qframe.h): QuorumPackets through zk_qpkt_decode,
 * and after a SNAP packet the wire snapshot (snapshot.h, ZK_SNAP_WIRE; protocol.md 5.5), whose
 * end is found by this grammar:
 *
 *   snapshot = sessions acls nodes ustring "BenWasHere"
 *   sessions = int count; {long id; int timeout} * count                 (12 bytes each)
 *   acls     = int count; {long id; int n; {int perms; ustring scheme; ustring id} * n} * count
 *   nodes    = {ustring path; buffer data; long acl_id; StatPersisted (60 bytes)} * ; ustring "/"
 *
 * The scan is resumable: its phase, position and remaining counts live in struct zk_qframe, and
 * each element (a session, an ACL cache entry's head, one ACL, a node) is passed over only when
 * all its bytes are in, so the work is linear in the snapshot's size however it arrives; a
 * partial element costs a few length reads per call. Every count and length is checked as soon
 * as it is visible (negative, over its jute bound, or reaching past snap_max), so a hostile peer
 * is refused without waiting for the bytes it announced. Paths, ACL ids and structure are left
 * to zk_snap_load.
 *
 * The buffer holds the unconsumed bytes from off; consumed bytes are dropped (memmove) once they
 * pass half the buffer, so a long-lived link keeps a buffer of the largest item it has carried,
 * and one that drains empty after a large snapshot gives its memory back. */
#include "qframe.h"

#include <string.h>

#include "errors.h"
#include "snapshot.h"

#define STR_BYTES_MAX (1u << 20) /* a path or ACL string: jute.maxbuffer (0xfffff), rounded up */
#define SESSION_BYTES 12         /* long id; int timeout */
#define ACL_HEAD_BYTES 12        /* long id; int n */
#define ACL_MIN_BYTES 12         /* int perms; two ustring lengths */
#define NODE_TAIL_BYTES 68       /* long acl_id; StatPersisted */
#define SIG_BYTES 10
#define KEEP_BYTES_MAX (1u << 20) /* an empty buffer larger than this is freed */

_Static_assert(sizeof(ZK_SNAP_WIRE_SIGNATURE) - 1 == SIG_BYTES, "the SNAP signature is BenWasHere");

enum snap_phase {
	PH_SESSION_COUNT = 0,
	PH_SESSION,
	PH_ACL_COUNT,
	PH_ACL_HEAD,
	PH_ACL,
	PH_NODE,
	PH_SIGNATURE,
	PH_DONE,
};

void zk_qframe_init(struct zk_qframe *f, size_t data_max, uint64_t snap_max)
{
	memset(f, 0, sizeof(*f));
	zk_wbuf_init(&f->buf);
	f->data_max = data_max;
	f->snap_max = snap_max;
}

void zk_qframe_fini(struct zk_qframe *f)
{
	zk_wbuf_fini(&f->buf);
	f->off = 0;
}

/* Drops the consumed bytes once they are at least half the buffer: a move copies no more bytes
 * than were consumed since the last one, so compaction costs O(1) per byte. Only called where
 * nothing handed out is still borrowed. */
static void compact(struct zk_qframe *f)
{
	struct zk_wbuf *b = &f->buf;
	if (f->off == 0)
		return;
	if (f->off == b->len) {
		f->off = 0;
		if (b->cap > KEEP_BYTES_MAX) {
			zk_wbuf_fini(b); /* the snapshot has been handed over: give its memory back */
			zk_wbuf_init(b);
		}
		zk_wbuf_reset(b);
		return;
	}
	if (f->off < b->len / 2)
		return;
	memmove(b->p, b->p + f->off, b->len - f->off);
	b->len -= f->off;
	f->off = 0;
}

int zk_qframe_feed(struct zk_qframe *f, const uint8_t *p, size_t n)
{
	if (n == 0)
		return 0;
	compact(f);
	if (zk_wbuf_reserve(&f->buf, n))
		return ZK_ENOMEM;
	memcpy(f->buf.p + f->buf.len, p, n);
	f->buf.len += n;
	return 0;
}

/* ---- the snapshot scan ---- */

static void snap_reset(struct zk_qframe *f)
{
	f->snap_phase = PH_SESSION_COUNT;
	f->snap_pos = 0;
	f->snap_left = 0;
	f->snap_acl_left = 0;
}

/* 1 when n more bytes of the snapshot are here, 0 when not yet, ZK_ERANGE when they would take
 * it past snap_max (then they never need to arrive). */
static int have(const struct zk_qframe *f, uint64_t n)
{
	if (n > f->snap_max - f->snap_pos)
		return ZK_ERANGE;
	return f->buf.len - f->off - f->snap_pos >= n;
}

/* The next unscanned byte; valid only after have() said yes. */
static const uint8_t *at(const struct zk_qframe *f) { return f->buf.p + f->off + f->snap_pos; }

static int32_t be32_at(const struct zk_qframe *f, size_t k) { return (int32_t)zk_get_be32(at(f) + k); }

/* A counted section's count, read at the scan position: >= 0 and room left for count elements of
 * at least min_bytes each. */
static int take_count(struct zk_qframe *f, uint64_t min_bytes, int64_t *left)
{
	int rc = have(f, 4);
	if (rc <= 0)
		return rc;
	int32_t n = be32_at(f, 0);
	if (n < 0)
		return ZK_ERANGE;
	f->snap_pos += 4;
	if ((uint64_t)n * min_bytes > f->snap_max - f->snap_pos)
		return ZK_ERANGE;
	*left = n;
	return 1;
}

/* The length of a ustring or buffer: -1 (null) reads as 0 bytes, other negatives are ZK_EINVAL,
 * more than max is ZK_ERANGE. */
static int field_len(int32_t len, uint64_t max, uint64_t *bytes)
{
	if (len < -1)
		return ZK_EINVAL;
	if (len > 0 && (uint64_t)len > max)
		return ZK_ERANGE;
	*bytes = len > 0 ? (uint64_t)len : 0;
	return 0;
}

static int scan_session(struct zk_qframe *f)
{
	if (f->snap_left == 0) {
		f->snap_phase = PH_ACL_COUNT;
		return 1;
	}
	int rc = have(f, SESSION_BYTES);
	if (rc <= 0)
		return rc;
	f->snap_pos += SESSION_BYTES;
	f->snap_left--;
	return 1;
}

static int scan_acl_head(struct zk_qframe *f)
{
	if (f->snap_left == 0) {
		f->snap_phase = PH_NODE;
		return 1;
	}
	int rc = have(f, ACL_HEAD_BYTES);
	if (rc <= 0)
		return rc;
	int32_t n = be32_at(f, 8);
	if (n < -1)
		return ZK_ERANGE;
	if (n == -1)
		return ZK_EINVAL; /* a null list: zk_snap_load refuses it too */
	f->snap_pos += ACL_HEAD_BYTES;
	if ((uint64_t)n * ACL_MIN_BYTES > f->snap_max - f->snap_pos)
		return ZK_ERANGE;
	f->snap_acl_left = n;
	f->snap_left--;
	f->snap_phase = PH_ACL;
	return 1;
}

/* One ACL: int perms; ustring scheme; ustring id. */
static int scan_acl(struct zk_qframe *f)
{
	if (f->snap_acl_left == 0) {
		f->snap_phase = PH_ACL_HEAD;
		return 1;
	}
	uint64_t scheme, id, need = 8;
	int rc = have(f, need);
	if (rc <= 0)
		return rc;
	if ((rc = field_len(be32_at(f, 4), STR_BYTES_MAX, &scheme)))
		return rc;
	need += scheme + 4;
	if ((rc = have(f, need)) <= 0)
		return rc;
	if ((rc = field_len(be32_at(f, (size_t)need - 4), STR_BYTES_MAX, &id)))
		return rc;
	need += id;
	if ((rc = have(f, need)) <= 0)
		return rc;
	f->snap_pos += need;
	f->snap_acl_left--;
	return 1;
}

/* One node, or the "/" that ends the list: ustring path; buffer data; long acl_id; stat. */
static int scan_node(struct zk_qframe *f)
{
	uint64_t path, data, need = 4;
	int rc = have(f, need);
	if (rc <= 0)
		return rc;
	int32_t len = be32_at(f, 0);
	if (len == -1)
		return ZK_EINVAL; /* a null path is neither a node nor the end */
	if ((rc = field_len(len, STR_BYTES_MAX, &path)))
		return rc;
	if (len == 1) {
		if ((rc = have(f, 5)) <= 0)
			return rc;
		if (at(f)[4] == '/') {
			f->snap_pos += 5;
			f->snap_phase = PH_SIGNATURE;
			return 1;
		}
	}
	need += path + 4;
	if ((rc = have(f, need)) <= 0)
		return rc;
	if ((rc = field_len(be32_at(f, (size_t)need - 4), f->data_max, &data)))
		return rc;
	need += data + NODE_TAIL_BYTES;
	if ((rc = have(f, need)) <= 0)
		return rc;
	f->snap_pos += need;
	return 1;
}

static int scan_signature(struct zk_qframe *f)
{
	int rc = have(f, 4);
	if (rc <= 0)
		return rc;
	if (be32_at(f, 0) != SIG_BYTES)
		return ZK_EINVAL;
	if ((rc = have(f, 4 + SIG_BYTES)) <= 0)
		return rc;
	if (memcmp(at(f) + 4, ZK_SNAP_WIRE_SIGNATURE, SIG_BYTES))
		return ZK_EINVAL;
	f->snap_pos += 4 + SIG_BYTES;
	f->snap_phase = PH_DONE;
	return 1;
}

/* Advances the scan over what has arrived: 1 when the snapshot is whole (snap_pos is its
 * length), 0 when more is needed, or a negative ZK_E*. Each step passes one element or moves
 * to the next phase, so the loop ends. */
static int scan(struct zk_qframe *f)
{
	int rc = 1;
	while (rc > 0 && f->snap_phase != PH_DONE) {
		switch (f->snap_phase) {
		case PH_SESSION_COUNT:
			if ((rc = take_count(f, SESSION_BYTES, &f->snap_left)) > 0)
				f->snap_phase = PH_SESSION;
			break;
		case PH_SESSION:
			rc = scan_session(f);
			break;
		case PH_ACL_COUNT:
			if ((rc = take_count(f, ACL_HEAD_BYTES, &f->snap_left)) > 0)
				f->snap_phase = PH_ACL_HEAD;
			break;
		case PH_ACL_HEAD:
			rc = scan_acl_head(f);
			break;
		case PH_ACL:
			rc = scan_acl(f);
			break;
		case PH_NODE:
			rc = scan_node(f);
			break;
		default:
			rc = scan_signature(f);
			break;
		}
	}
	return rc;
}

/* ---- items ---- */

static int next_snap(struct zk_qframe *f, const uint8_t **snap, size_t *snap_len)
{
	int rc = scan(f);
	if (rc <= 0)
		return rc;
	*snap = f->buf.p + f->off;
	*snap_len = f->snap_pos;
	f->off += f->snap_pos;
	f->in_snap = false;
	snap_reset(f);
	return ZK_QF_SNAP;
}

static int next_packet(struct zk_qframe *f, struct zk_qpkt *q)
{
	if (f->off == f->buf.len)
		return ZK_QF_NONE; /* also keeps a NULL buffer out of the decoder's pointer math */
	int rc = zk_qpkt_decode(f->buf.p + f->off, f->buf.len - f->off, f->data_max, q);
	if (rc <= 0)
		return rc;
	f->off += (size_t)rc;
	if (q->type == ZK_QP_SNAP) {
		f->in_snap = true;
		snap_reset(f);
	}
	return ZK_QF_PACKET;
}

int zk_qframe_next(struct zk_qframe *f, struct zk_qpkt *q, const uint8_t **snap, size_t *snap_len)
{
	if (f->err)
		return f->err;
	compact(f); /* what the last call handed out is no longer borrowed */
	int rc = f->in_snap ? next_snap(f, snap, snap_len) : next_packet(f, q);
	if (rc < 0)
		f->err = rc;
	return rc;
}
