/* QuorumPacket (zookeeper.jute org.apache.zookeeper.server.quorum) and LearnerInfo: the records
 * of the leader <-> learner link (protocol.md 5.2-5.3). Packets are written back to back with no
 * length prefix:
 *
 *   packet   = int type; long zxid; buffer data (int len, -1 = null); vector<Id> authinfo
 *   Id       = ustring scheme; ustring id            (authinfo: int count, -1 = null)
 *   LearnerInfo (FOLLOWERINFO/OBSERVERINFO data) = long sid; int protocolVersion 0x10000;
 *              long configVersion     (8 and 12-byte forms from old learners are accepted)
 *
 * After a SNAP packet the stream carries a snapshot (snapshot.h, ZK_SNAP_WIRE) before the next
 * packet; the framer of the link handles that, not this decoder. */
#ifndef ZK_QPKT_H
#define ZK_QPKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "acl.h"
#include "jute.h"

enum zk_qpkt_type {
	ZK_QP_REQUEST = 1,
	ZK_QP_PROPOSAL = 2,
	ZK_QP_ACK = 3,
	ZK_QP_COMMIT = 4,
	ZK_QP_PING = 5,
	ZK_QP_REVALIDATE = 6,
	ZK_QP_SYNC = 7,
	ZK_QP_INFORM = 8,
	ZK_QP_COMMITANDACTIVATE = 9,
	ZK_QP_NEWLEADER = 10,
	ZK_QP_FOLLOWERINFO = 11,
	ZK_QP_UPTODATE = 12,
	ZK_QP_DIFF = 13,
	ZK_QP_TRUNC = 14,
	ZK_QP_SNAP = 15,
	ZK_QP_OBSERVERINFO = 16,
	ZK_QP_LEADERINFO = 17,
	ZK_QP_ACKEPOCH = 18,
	ZK_QP_INFORMANDACTIVATE = 19,
};

#define ZK_QP_PROTOCOL_VERSION 0x10000 /* ZAB 1.0: LEADERINFO / ACKEPOCH */
#define ZK_QP_HEADER_MIN_BYTES 20      /* type, zxid, null data, null authinfo */

struct zk_qpkt {
	int32_t type;
	int64_t zxid;
	struct zk_bytes data;  /* borrowed from the input; len -1 = null */
	int32_t n_auth;        /* -1 = null vector */
	const uint8_t *auth;   /* the n_auth encoded Ids (after the count), borrowed */
	size_t auth_len;
};

/* Decodes one packet from the front of p[0..n). Returns the bytes consumed (> 0), 0 when more
 * bytes are needed, or a negative ZK_E* (ZK_ERANGE: a data length or Id count out of bounds:
 * data longer than data_max, more than ZK_AUTH_IDS_MAX ids, an Id string over 1024 bytes;
 * ZK_EINVAL: a negative length other than -1). Never reads past n. Unknown types are returned
 * as they are (the caller decides). */
int zk_qpkt_decode(const uint8_t *p, size_t n, size_t data_max, struct zk_qpkt *out);

/* Appends one packet. data may be NULL (len -1 = null buffer); auth NULL = null vector. */
void zk_qpkt_write(struct zk_wbuf *w, int32_t type, int64_t zxid, const uint8_t *data, int32_t len,
                   const struct zk_auth *auth);

/* The authinfo Ids of a REQUEST as a zk_auth (scheme and id strings copied, truncated ones
 * rejected). Returns 0 or ZK_EINVAL. A null vector gives an empty auth. */
int zk_qpkt_auth(const struct zk_qpkt *q, struct zk_auth *auth);

struct zk_learner_info {
	int64_t sid;
	int32_t protocol_version; /* 0 when the learner sent only its sid */
	int64_t config_version;   /* 0 when absent */
};

/* Decodes FOLLOWERINFO / OBSERVERINFO data: 20, 12 or 8 bytes. Null or other sizes: ZK_EINVAL. */
int zk_learner_info_decode(struct zk_bytes data, struct zk_learner_info *li);
/* Appends the 20-byte LearnerInfo (the data of the packet, without its length). */
void zk_learner_info_write(struct zk_wbuf *w, const struct zk_learner_info *li);

/* "PROPOSAL", "ACK", ... or "UNKNOWN". */
const char *zk_qpkt_type_name(int32_t type);

#endif
