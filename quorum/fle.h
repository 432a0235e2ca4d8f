/* Fast leader election (FastLeaderElection.java, protocol.md 4.4) as a deterministic state
 * machine: notifications in, notifications out (zk_out SENDs of whole frames on the election
 * link ZK_LINK_ELECT_BASE | sid), time as an argument. The election connections themselves
 * (who dials whom, the handshake, re-sending the last notification after a reconnect) are the
 * shell's. Notifications to ourselves are looped back inside, never sent.
 *
 * Lifecycle: zk_fle_start() when the peer becomes LOOKING; feed zk_fle_recv() and zk_fle_tick();
 * once zk_fle_result() returns true the peer leaves LOOKING (LEADING, FOLLOWING or OBSERVING)
 * and calls zk_fle_set_decided() so that LOOKING peers asking later get the decided vote. */
#ifndef ZK_FLE_H
#define ZK_FLE_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "log.h"
#include "notif.h"
#include "out.h"

#define ZK_FLE_FINALIZE_WAIT_MS 200
#define ZK_FLE_MIN_NOTIF_MS 200    /* zookeeper.fastleader.minNotificationInterval */
#define ZK_FLE_MAX_NOTIF_MS 60000  /* zookeeper.fastleader.maxNotificationInterval */
#define ZK_FLE_VOTERS_MAX 256

struct zk_fle_peer_vote {
	bool present;
	int32_t state;
	struct zk_vote vote;
	int32_t version; /* notification format version: Vote.equals of two established votes
	                  * compares peerEpoch only when both or neither are version 0 */
};

struct zk_fle {
	const struct zk_config *cfg; /* borrowed for the machine's life: voters, observer flags */
	struct zk_logger log;
	int64_t myid;
	bool observer;         /* we never propose ourselves and never count */
	int32_t state;         /* our ZK_PS_*: LOOKING while electing */
	int64_t logicalclock;  /* election round */
	struct zk_vote proposal;   /* current proposal (election_epoch = logicalclock) */
	struct zk_vote initial;    /* (myid, last zxid, currentEpoch) or MIN for observers */
	struct zk_vote decided;    /* valid once decided */
	bool decided_valid;
	/* Votes of this round from LOOKING peers, and what FOLLOWING/LEADING peers said (outofelection),
	 * indexed by position in cfg->servers. */
	struct zk_fle_peer_vote recv[ZK_FLE_VOTERS_MAX];
	struct zk_fle_peer_vote ooe[ZK_FLE_VOTERS_MAX];
	/* finalizeWait: a quorum agreed at finalize_at_ms; decide then unless a better vote came. */
	int64_t finalize_at_ms;    /* 0 = not waiting */
	int64_t notif_timeout_ms;  /* doubles on every silent timeout, up to ZK_FLE_MAX_NOTIF_MS */
	int64_t next_resend_ms;
	struct zk_wbuf cfgtext;    /* our config text, sent in every notification */
	bool started;              /* zk_fle_start was called: before it, input is ignored */
	bool self_pending;         /* a notification to ourselves awaits its loop-back */
};

void zk_fle_init(struct zk_fle *e, const struct zk_config *cfg, int64_t myid, const struct zk_logger *log);
void zk_fle_fini(struct zk_fle *e);
/* Becomes LOOKING: logicalclock++, proposes the initial vote (myid, last_zxid, current_epoch),
 * sends it to every voter. */
void zk_fle_start(struct zk_fle *e, int64_t now_ms, int64_t last_zxid, int64_t current_epoch, struct zk_out *out);
/* A notification frame body from sid (decoded here: bad ones are ignored with a debug line).
 * While decided (not LOOKING) this only answers LOOKING senders with the decided vote. */
void zk_fle_recv(struct zk_fle *e, int64_t now_ms, int64_t sid, const uint8_t *body, size_t len, struct zk_out *out);
/* finalizeWait expiry and re-sends with back-off. */
void zk_fle_tick(struct zk_fle *e, int64_t now_ms, struct zk_out *out);
/* Earliest time zk_fle_tick has something to do (INT64_MAX when nothing). */
int64_t zk_fle_next_wake(const struct zk_fle *e);
/* True once decided: *state = ZK_PS_LEADING / FOLLOWING / OBSERVING and *vote the final vote. */
bool zk_fle_result(const struct zk_fle *e, int32_t *state, struct zk_vote *vote);
/* The peer now runs in `state` with this vote (answers to LOOKING peers carry it). After a
 * learner syncs, the peer calls it again with the new epoch as peer_epoch. */
void zk_fle_set_decided(struct zk_fle *e, int32_t state, const struct zk_vote *vote);

#endif
