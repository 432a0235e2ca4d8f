/* One member of a replicated ensemble (QuorumPeer.java): election, then the ZAB role (leader or
 * learner), around the client-facing server core. A deterministic state machine like the core:
 * inputs carry the time, effects go into a zk_out (sends on election links
 * ZK_LINK_ELECT_BASE|sid and quorum links ZK_LINK_QUORUM_BASE|n, txn persistence, epoch files,
 * dials, log truncation, snapshots). The shell (quorum/io_quorum.c) owns sockets and files; the
 * simulator (tests/sim) drives many peers in one process.
 *
 * Client traffic still goes to the server core (zk_server_frame & co.); the peer installs itself
 * as the core's replication hook, so that the core forwards, proposes and commits through it,
 * and zk_server_tick / zk_server_disk_done reach the peer too. */
#ifndef ZK_PEER_H
#define ZK_PEER_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "log.h"
#include "out.h"
#include "qpkt.h"
#include "server.h"

struct zk_peer;

/* cfg is copied. srv is borrowed (it must outlive the peer). seed feeds the peer's PRNG. */
struct zk_peer *zk_peer_new(const struct zk_config *cfg, int64_t myid, struct zk_server *srv,
                            const struct zk_logger *log, uint64_t seed);
void zk_peer_free(struct zk_peer *p);
/* From dataDir/version-2/{acceptedEpoch,currentEpoch}, read by the shell before start. */
void zk_peer_set_epochs(struct zk_peer *p, int64_t accepted_epoch, int64_t current_epoch);
/* After recovery: becomes LOOKING and starts the first election. */
void zk_peer_start(struct zk_peer *p, struct zk_now now, struct zk_out *out);

/* A notification frame body (length stripped) arrived on the election link with sid. */
void zk_peer_elect_recv(struct zk_peer *p, struct zk_now now, int64_t sid, const uint8_t *body, size_t len,
                        struct zk_out *out);

/* A quorum link is up: an inbound connection accepted on our quorum port (inbound = true), or a
 * ZK_OUT_DIAL of ours that connected. */
void zk_peer_qlink_open(struct zk_peer *p, struct zk_now now, uint64_t link, bool inbound, struct zk_out *out);
/* A quorum link is gone (peer closed, error, a dial that failed, or a CLOSE we asked for). */
void zk_peer_qlink_closed(struct zk_peer *p, struct zk_now now, uint64_t link, struct zk_out *out);
/* One decoded packet from the link (borrowed for the call). After a SNAP packet the shell reads
 * the snapshot that follows and hands it over with zk_peer_qsnap before the next packet. */
void zk_peer_qpkt(struct zk_peer *p, struct zk_now now, uint64_t link, const struct zk_qpkt *q, struct zk_out *out);
/* The wire snapshot after SNAP: bytes up to and including the "BenWasHere" signature. */
void zk_peer_qsnap(struct zk_peer *p, struct zk_now now, uint64_t link, const uint8_t *snap, size_t len,
                   struct zk_out *out);
/* The shell carried out ZK_OUT_TRUNCATE: the log is cut and the server's database reloaded
 * (rc 0), or that failed (rc < 0: the peer gives up the sync and goes back to LOOKING). */
void zk_peer_truncated(struct zk_peer *p, struct zk_now now, int rc, struct zk_out *out);

/* Timers (election back-off, finalizeWait, initLimit/syncLimit, pings). The shell calls
 * zk_server_tick, which calls this; the simulator may call either. */
void zk_peer_tick(struct zk_peer *p, struct zk_now now, struct zk_out *out);
int64_t zk_peer_next_wake(const struct zk_peer *p);

/* For 4lw / tests. */
int32_t zk_peer_state(const struct zk_peer *p);      /* ZK_PS_* */
bool zk_peer_om_active(const struct zk_peer *p);      /* serving observers on observerMasterPort */
bool zk_peer_serving(const struct zk_peer *p);        /* leader established / learner up to date */
int64_t zk_peer_epoch(const struct zk_peer *p);       /* currentEpoch */
int64_t zk_peer_accepted_epoch(const struct zk_peer *p);
int64_t zk_peer_leader(const struct zk_peer *p);      /* sid of the leader we follow or are, -1 */

#endif
