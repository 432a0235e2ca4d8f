/* Splits the byte stream of a leader <-> learner link into QuorumPackets (qpkt.h), and after a
 * SNAP packet into the wire snapshot that follows it (snapshot.h, ZK_SNAP_WIRE), without I/O:
 * the socket shell (io_quorum.c) and the simulator (tests/sim) both feed it.
 *
 * The snapshot has no length prefix; its end is found by a resumable scan of its grammar
 * (sessions, ACL cache, nodes up to the "/" path, the "BenWasHere" signature), linear in its
 * size however the bytes arrive. The scan checks only lengths and counts against their bounds;
 * the full checks happen when the peer loads it. */
#ifndef ZK_QFRAME_H
#define ZK_QFRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jute.h"
#include "qpkt.h"

enum zk_qframe_item {
	ZK_QF_NONE = 0, /* need more bytes */
	ZK_QF_PACKET,   /* *q holds a packet, borrowed until the next zk_qframe_next / feed */
	ZK_QF_SNAP,     /* *snap, *snap_len: the snapshot bytes (signature included), borrowed likewise */
};

struct zk_qframe {
	struct zk_wbuf buf;
	size_t off;            /* start of the unconsumed bytes in buf */
	size_t data_max;       /* bound on a packet's data */
	uint64_t snap_max;     /* bound on a snapshot's size */
	bool in_snap;          /* the last packet was SNAP: a snapshot comes next */
	/* Resumable snapshot scan state (offsets relative to the snapshot start). */
	int snap_phase;
	size_t snap_pos;
	int64_t snap_left;     /* elements left in the current counted section */
	int64_t snap_acl_left; /* ACLs left in the current ACL cache entry's list */
	int err;               /* sticky: the first error, returned by every later next */
};

void zk_qframe_init(struct zk_qframe *f, size_t data_max, uint64_t snap_max);
void zk_qframe_fini(struct zk_qframe *f);
/* Appends received bytes. Returns 0 or ZK_ENOMEM. */
int zk_qframe_feed(struct zk_qframe *f, const uint8_t *p, size_t n);
/* The next whole item: ZK_QF_PACKET, ZK_QF_SNAP, ZK_QF_NONE (need more), or a negative ZK_E*
 * (bad bytes: close the link). Call until it returns ZK_QF_NONE or an error. */
int zk_qframe_next(struct zk_qframe *f, struct zk_qpkt *q, const uint8_t **snap, size_t *snap_len);

#endif
