/* Election-port records (protocol.md 4.2-4.3): the connection handshake and the notification
 * frames of FastLeaderElection, and the quorum config text (QuorumMaj.toString) they and
 * NEWLEADER carry.
 *
 *   hello  = long protocolVersion (-65536 V1; -65535 V2); long sid; int addrLen (1..2048);
 *            addrLen bytes "host:port" of the sender's election address
 *            (a first long >= 0 is a pre-3.5 bare sid with nothing after it)
 *   frame  = int length (1..524288); notification
 *   notification = int state; long leader; long zxid; long electionEpoch; long peerEpoch;
 *            int version (2); int configLength; configLength bytes of config text
 *            (older shapes: 28 bytes = state..electionEpoch, peerEpoch = zxid >> 32;
 *             40 bytes = + peerEpoch, version 0; version 1 = no config fields)
 *   config = "server.<id>=<host>:<qport>:<eport>:<participant|observer>\n" per member in id
 *            order, then "version=<hex>" with no trailing newline */
#ifndef ZK_NOTIF_H
#define ZK_NOTIF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "jute.h"

#define ZK_ELECT_PROTOCOL_V1 (-65536LL)
#define ZK_ELECT_PROTOCOL_V2 (-65535LL)
#define ZK_ELECT_ADDR_MAX 2048
#define ZK_ELECT_FRAME_MAX 524288
#define ZK_NOTIF_MIN_BYTES 28
#define ZK_NOTIF_VERSION 2

/* QuorumPeer.ServerState ordinals, as on the wire. */
enum zk_peer_state { ZK_PS_LOOKING = 0, ZK_PS_FOLLOWING = 1, ZK_PS_LEADING = 2, ZK_PS_OBSERVING = 3 };

struct zk_vote {
	int64_t leader;         /* proposed or current leader's sid */
	int64_t zxid;           /* its last zxid */
	int64_t election_epoch; /* the sender's round (logicalclock) */
	int64_t peer_epoch;     /* the proposed leader's currentEpoch */
};

struct zk_notif {
	int32_t state;
	struct zk_vote vote;
	int32_t version;
	struct zk_bytes config; /* borrowed; len 0 or -1 when absent */
};

/* Decodes a notification frame body (without the 4-byte length). Returns 0, or ZK_ESHORT (under
 * 28 bytes: ignore) / ZK_EINVAL (bad config length, state out of 0..3: ignore). */
int zk_notif_decode(const uint8_t *p, size_t n, struct zk_notif *out);
/* Appends a whole frame (length prefix included) of a version-2 notification. */
void zk_notif_write_frame(struct zk_wbuf *w, int32_t state, const struct zk_vote *v, const char *config,
                          size_t config_len);

struct zk_elect_hello {
	int64_t protocol_version; /* V1, V2, or 0 for a bare pre-3.5 sid */
	int64_t sid;
	char addr[ZK_ELECT_ADDR_MAX + 1]; /* "" for a bare sid */
};

/* Decodes the handshake at the front of p[0..n): bytes consumed (> 0), 0 need more, or a
 * negative ZK_E* (unknown negative version, address length out of 1..2048). */
int zk_elect_hello_decode(const uint8_t *p, size_t n, struct zk_elect_hello *h);
/* Appends a V1 handshake. */
void zk_elect_hello_write(struct zk_wbuf *w, int64_t sid, const char *addr);

/* Appends the config text of the server.N lines of c (version 0). */
void zk_quorum_config_text(const struct zk_config *c, struct zk_wbuf *w);

/* The members of the configuration that vote (not observers). */
int zk_quorum_voters(const struct zk_config *c);
bool zk_quorum_is_voter(const struct zk_config *c, int64_t sid);
/* QuorumMaj: acks from `count` distinct voters form a quorum (count > voters / 2). */
bool zk_quorum_has_majority(const struct zk_config *c, int count);

#endif
