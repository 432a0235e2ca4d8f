/* Private state of the ZAB leader, shared by leader.c (discovery, broadcast, liveness) and
 * leader_sync.c (bringing one learner up to date). */
#ifndef ZK_LEADER_INT_H
#define ZK_LEADER_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <uthash.h>

#include "config.h"
#include "peer_int.h"

#define ZK_LEADER_MASK_WORDS ((ZK_CFG_SERVERS_MAX + 63) / 64)

enum zk_lh_state {
	LH_WAIT_INFO = 0,      /* connected, no FOLLOWERINFO yet */
	LH_WAIT_ACKEPOCH,      /* LEADERINFO sent */
	LH_WAIT_EPOCH_QUORUM,  /* acked the epoch; synced once a quorum has */
	LH_WAIT_NEWLEADER_ACK, /* sync and NEWLEADER sent */
	LH_WAIT_UPTODATE,      /* acked NEWLEADER; UPTODATE once we are established */
	LH_ACTIVE,             /* broadcast */
};

/* One learner's link (LearnerHandler). */
struct zk_lh {
	uint64_t link;
	int64_t sid;
	int idx;              /* index in cfg.servers */
	bool observer;
	enum zk_lh_state state;
	int64_t last_zxid;    /* from ACKEPOCH */
	int64_t deadline_ms;  /* closed when silent past it */
	bool forwarding;      /* gets PROPOSAL/COMMIT (INFORM for observers) as they happen */
	UT_hash_handle hh;
};

struct zk_proposal {
	int64_t zxid;
	uint8_t *txn;
	size_t len;
	uint64_t acks[ZK_LEADER_MASK_WORDS]; /* server indexes that logged it */
	struct zk_proposal *next;
};

/* A forwarded sync, answered once `zxid` (the last proposal when it arrived) commits. */
struct zk_lsync {
	uint64_t link;
	int64_t zxid;
	struct zk_lsync *next;
};

struct zk_leader {
	struct zk_peer *p;
	struct zk_lh *handlers;
	int64_t phase_deadline_ms;  /* initLimit for discovery and sync */
	int64_t max_accepted_epoch;
	bool epoch_fixed, epoch_quorum, established, failed;
	int64_t epoch;
	uint64_t connected[ZK_LEADER_MASK_WORDS];
	uint64_t epoch_acked[ZK_LEADER_MASK_WORDS];
	uint64_t newleader_acked[ZK_LEADER_MASK_WORDS];
	struct zk_proposal *props, *props_tail; /* outstanding, in zxid order */
	uint32_t n_props;
	int64_t last_proposed, last_committed;
	struct zk_lsync *syncs, *syncs_tail;
	uint32_t n_syncs;
	int64_t next_ping_ms;
	struct zk_wbuf cfgtext;     /* NEWLEADER's data */
};

void zk_leader_check_discovery(struct zk_leader *l, struct zk_now now, struct zk_out *out);
void zk_leader_check_epoch_quorum(struct zk_leader *l, struct zk_now now, struct zk_out *out);
void zk_leader_check_established(struct zk_leader *l, struct zk_now now, struct zk_out *out);

/* leader_sync.c: DIFF / TRUNC / SNAP for one learner, then our outstanding proposals and
 * NEWLEADER; the learner joins the broadcast set. */
void zk_leader_sync_learner(struct zk_leader *l, struct zk_lh *h, struct zk_out *out);

/* DIFF / TRUNC / SNAP (and the txns after it) from what this server has applied, for a learner
 * whose last zxid is peer_last. Shared by the leader and observer masters. */
void zk_sync_send_history(struct zk_peer *p, uint64_t link, int64_t sid, int64_t peer_last, struct zk_out *out);

/* The choice of LearnerHandler.syncFollower over the committed log (protocol.md 5.5). */
enum zk_sync_kind { ZK_SYNC_DIFF = 0, ZK_SYNC_TRUNC, ZK_SYNC_SNAP };
struct zk_sync_plan {
	enum zk_sync_kind kind;
	int64_t zxid;    /* DIFF / TRUNC packet zxid */
	size_t from;     /* first committed-log entry to send as PROPOSAL + COMMIT */
};
struct zk_commitlog;
void zk_sync_choose(const struct zk_commitlog *log, int64_t last_processed, int64_t peer_last,
                    struct zk_sync_plan *plan);

#endif
