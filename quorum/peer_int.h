/* Private state of an ensemble member, shared by peer.c (roles, election, dispatch),
 * leader.c (ZAB leader: discovery, sync, broadcast) and learner.c (ZAB follower). */
#ifndef ZK_PEER_INT_H
#define ZK_PEER_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "fle.h"
#include "jute.h"
#include "log.h"
#include "peer.h"

struct zk_leader;
struct zk_learner;
struct zk_om;

struct zk_peer {
	struct zk_config cfg;
	struct zk_logger log;
	int64_t myid;
	bool observer;
	struct zk_server *srv;
	uint64_t rng;
	int32_t state; /* ZK_PS_* */
	int64_t accepted_epoch, current_epoch;
	struct zk_fle fle;
	struct zk_vote vote; /* the decided vote while not LOOKING */
	struct zk_leader *ld;
	struct zk_learner *ln;
	struct zk_om *om;   /* observer master (observerMasterPort), on an up-to-date follower */
	uint64_t next_dial; /* low bits of our ZK_OUT_DIAL link ids */
	struct zk_wbuf scratch;
	int64_t tick_ms;
	int64_t looking_since_ms; /* read-only mode starts a while after this */
	int reconnect_failures;   /* learner roles in a row that never reached the leader */
};

/* Server index of sid in cfg.servers, or -1. */
int zk_peer_index(const struct zk_peer *p, int64_t sid);
bool zk_peer_is_voter(const struct zk_peer *p, int64_t sid);
/* Strict majority of the voters. */
bool zk_peer_quorum(const struct zk_peer *p, int count);
void zk_peer_set_accepted_epoch(struct zk_peer *p, int64_t e, struct zk_out *out);
void zk_peer_set_current_epoch(struct zk_peer *p, int64_t e, struct zk_out *out);
/* Gives up the current role and starts an election. */
void zk_peer_become_looking(struct zk_peer *p, struct zk_now now, const char *why, struct zk_out *out);
/* Sends one QuorumPacket on a link. */
void zk_peer_send(struct zk_peer *p, uint64_t link, int32_t type, int64_t zxid, const uint8_t *data, int32_t len,
                  const struct zk_auth *auth, struct zk_out *out);
uint64_t zk_peer_new_dial_link(struct zk_peer *p);

/* leader.c */
struct zk_leader *zk_leader_new(struct zk_peer *p, struct zk_now now, struct zk_out *out);
void zk_leader_free(struct zk_leader *l, struct zk_out *out); /* closes its links */
void zk_leader_link_open(struct zk_leader *l, struct zk_now now, uint64_t link, struct zk_out *out);
void zk_leader_link_closed(struct zk_leader *l, struct zk_now now, uint64_t link, struct zk_out *out);
/* Returns false when the leader gave up (the peer is LOOKING again: l is freed). */
bool zk_leader_packet(struct zk_leader *l, struct zk_now now, uint64_t link, const struct zk_qpkt *q,
                      struct zk_out *out);
bool zk_leader_tick(struct zk_leader *l, struct zk_now now, struct zk_out *out);
int64_t zk_leader_next_wake(const struct zk_leader *l);
void zk_leader_proposed(struct zk_leader *l, int64_t zxid, const uint8_t *txn, size_t len, struct zk_out *out);
void zk_leader_durable(struct zk_leader *l, struct zk_now now, uint64_t token, int rc, struct zk_out *out);
bool zk_leader_established(const struct zk_leader *l);
void zk_leader_mntr(const struct zk_leader *l, struct zk_wbuf *w);

/* learner.c */
struct zk_learner *zk_learner_new(struct zk_peer *p, struct zk_now now, int64_t leader_sid, struct zk_out *out);
void zk_learner_free(struct zk_learner *l, struct zk_out *out);
/* The following return false when the learner gave up (peer LOOKING again, l freed). */
bool zk_learner_link_open(struct zk_learner *l, struct zk_now now, uint64_t link, struct zk_out *out);
bool zk_learner_link_closed(struct zk_learner *l, struct zk_now now, uint64_t link, struct zk_out *out);
bool zk_learner_packet(struct zk_learner *l, struct zk_now now, uint64_t link, const struct zk_qpkt *q,
                       struct zk_out *out);
bool zk_learner_snap(struct zk_learner *l, struct zk_now now, uint64_t link, const uint8_t *snap, size_t len,
                     struct zk_out *out);
bool zk_learner_truncated(struct zk_learner *l, struct zk_now now, int rc, struct zk_out *out);
bool zk_learner_tick(struct zk_learner *l, struct zk_now now, struct zk_out *out);
int64_t zk_learner_next_wake(const struct zk_learner *l);
void zk_learner_durable(struct zk_learner *l, struct zk_now now, uint64_t token, int rc, struct zk_out *out);
void zk_learner_forward(struct zk_learner *l, int64_t session_id, int32_t cxid, int32_t op, const uint8_t *body,
                        size_t len, const struct zk_auth *auth, struct zk_out *out);
bool zk_learner_serving(const struct zk_learner *l);
void zk_learner_mntr(const struct zk_learner *l, struct zk_wbuf *w);
int64_t zk_learner_leader(const struct zk_learner *l);
uint64_t zk_learner_link(const struct zk_learner *l);

/* learner.c: what an observer master relays to the leader, and where the answers go. */
void zk_learner_relay_request(struct zk_learner *l, uint64_t from, const struct zk_qpkt *q, struct zk_out *out);
void zk_learner_relay_revalidate(struct zk_learner *l, uint64_t from, const struct zk_qpkt *q, struct zk_out *out);
void zk_learner_relay_touch(struct zk_learner *l, const uint8_t *p, size_t len);

/* obsmaster.c */
struct zk_om *zk_om_new(struct zk_peer *p, struct zk_now now, int64_t epoch);
void zk_om_free(struct zk_om *m, struct zk_out *out);
bool zk_om_has_link(struct zk_om *m, uint64_t link);
void zk_om_link_open(struct zk_om *m, struct zk_now now, uint64_t link, struct zk_out *out);
void zk_om_link_closed(struct zk_om *m, uint64_t link, struct zk_out *out);
void zk_om_packet(struct zk_om *m, struct zk_now now, uint64_t link, const struct zk_qpkt *q, struct zk_out *out);
void zk_om_committed(struct zk_om *m, struct zk_out *out);
/* Sends an answer the leader gave (SYNC, REVALIDATE) to the observer on link, if still there. */
void zk_om_send_to(struct zk_om *m, uint64_t link, int32_t type, const uint8_t *data, int32_t len, struct zk_out *out);
void zk_om_tick(struct zk_om *m, struct zk_now now, struct zk_out *out);
int zk_om_count(const struct zk_om *m);

#endif
