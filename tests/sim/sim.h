/* The deterministic simulator of a zkedge ensemble (tests/sim, after TigerBeetle's VOPR): one
 * process, one PRNG from the seed, one event queue ordered by (time, sequence number). It drives
 * N voters and M observers (zk_server + zk_peer each, quorum/peer.h; an observer has
 * `observer = true` on its server line and peerType=observer in its own config) over a
 * simulated network (election links,
 * quorum links, client connections: in order within a connection, random delay, resets,
 * partitions that stall traffic as TCP does), simulated disks (pending writes until the
 * "fsync", lost / kept / kept by prefix on a crash) and simulated clients, and checks the
 * safety invariants after every step and liveness once the faults stop.
 *
 * Files: sim.c (the world, the event loop, phases), sim_fault.c (the fault schedule),
 * sim_net.c (links), sim_node.c (a node: start, recovery, effects, crash), sim_client.c
 * (sessions writing unique values), sim_check.c (the checkers and the common history).
 *
 * Node indexes 0..k.nodes-1 are the voters (sids 1..N), k.nodes..n_nodes-1 the observers (sids
 * N+1..N+M). Observers take client sessions, crash, restart and get partitioned like voters, and
 * are held to the same history; the checkers also make sure they never sway a quorum: every
 * commit is durably logged by a majority of the voters, every established leader has a majority
 * of the voters at its epoch, and in the "minority" phase (a minority of the voters plus all the
 * observers can talk, every other voter is cut off alone) nothing new commits and no leader is
 * established for a new epoch. */
#ifndef ZK_SIM_H
#define ZK_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "log.h"
#include "out.h"
#include "qframe.h"
#include "server.h"

struct zk_peer;

#define SIM_VOTERS_MAX 7
#define SIM_OBSERVERS_MAX 4
#define SIM_NODES_MAX (SIM_VOTERS_MAX + SIM_OBSERVERS_MAX)
#define SIM_CLIENTS_MAX 8
#define SIM_LINKS_MAX 512    /* quorum and client connections alive at once */
#define SIM_OUT_DEPTH 4      /* nested calls into one node (TRUNCATE -> zk_peer_truncated) */
#define SIM_LOG_RING 400     /* node log lines kept for the failure report */
#define SIM_LOG_LINE 240
#define SIM_EVENTS_MAX 20000000ULL /* per seed: a livelock stops here */
#define SIM_CLIENT_PATHS 48  /* paths one client creates, then only sets */
#define SIM_CLIENT_END(c) (SIM_NODES_MAX + (c)) /* link endpoint index of client c */

/* xoshiro256**, seeded through splitmix64: small, fast, and the same everywhere. */
struct sim_rng {
	uint64_t s[4];
};
void sim_rng_seed(struct sim_rng *r, uint64_t seed);
uint64_t sim_rng_next(struct sim_rng *r);
/* Uniform in [lo, hi] (lo <= hi). */
int64_t sim_rng_range(struct sim_rng *r, int64_t lo, int64_t hi);
/* True with probability ppm / 1e6. */
bool sim_rng_ppm(struct sim_rng *r, uint32_t ppm);

/* Every knob comes from the seed (sim_knobs_from_seed) and is printed; the command line may
 * override a few. */
struct sim_knobs {
	int nodes;                            /* voters */
	int observers;
	int clients;
	int64_t delay_min_ms, delay_max_ms;   /* one-way network latency */
	uint32_t reset_ppm;                   /* per message: the connection resets */
	uint32_t split_ppm;                   /* per quorum-link send: delivered in two pieces */
	int64_t partition_gap_ms;             /* mean time between partition starts (0 = none) */
	int64_t partition_min_ms, partition_max_ms;
	uint32_t partition_oneway_ppm;        /* a partition blocks one direction only */
	int64_t clog_gap_ms;                  /* mean time between clogs of one link direction (0 = none) */
	int64_t clog_max_ms;                  /* a clog stalls that direction for up to this long */
	int64_t crash_gap_ms;                 /* mean time between crashes (0 = none) */
	uint32_t crash_leader_ppm;            /* a crash picks the leader */
	uint32_t burst_ppm;                   /* a crash takes the leader and one more node */
	int64_t down_min_ms, down_max_ms;     /* how long a crashed node stays down */
	uint32_t crash_lose_ppm;              /* on crash: unsynced writes all lost ... */
	uint32_t crash_keep_ppm;              /* ... all kept; otherwise a random prefix is kept */
	int64_t fsync_min_ms, fsync_max_ms;
	int64_t think_min_ms, think_max_ms;   /* client pause between requests */
	uint32_t read_ppm;                    /* share of client requests that are reads */
	int64_t fault_ms;                     /* safety phase: faults on */
	int64_t liveness_ms;                  /* bound on the liveness phase */
	uint64_t steps;                       /* 0, or a cap on the events of the safety phase */
	uint32_t minority_ppm;                /* with observers: chance of one minority phase */
	int64_t minority_min_ms, minority_max_ms;
};

void sim_knobs_from_seed(struct sim_knobs *k, uint64_t seed);
void sim_knobs_print(const struct sim_knobs *k, uint64_t seed);

/* ---- network ---- */

struct sim_msg {
	struct sim_msg *next;
	int64_t ready_t; /* deliverable from this time on (in order behind the ones before) */
	bool fin;        /* the sender closed: the receiver sees the connection end */
	size_t len;
	uint8_t p[];
};

/* One direction of a connection: a FIFO, TCP's in-order delivery. dir 0 = end[0] -> end[1]. */
struct sim_dir {
	struct sim_msg *head, *tail;
	int64_t last_t;
};

enum sim_link_kind { SIM_LK_NONE = 0, SIM_LK_ELECT, SIM_LK_QUORUM, SIM_LK_CLIENT };

/* A connection between two endpoints (nodes 0..SIM_NODES_MAX-1, clients SIM_CLIENT_END(c)).
 * Election links are one per pair of nodes, kept for the whole run and re-established after a
 * reset; quorum and client links are created per connection and freed once both ends closed. */
struct sim_link {
	enum sim_link_kind kind;
	int end[2];
	uint64_t id[2];     /* the link / connection id each end knows it by */
	uint32_t inc[2];    /* the incarnation of each end when the link came up */
	uint32_t gen;       /* bumped by every reset: pending deliveries of an older gen are void */
	bool open[2];       /* this end still has the connection (not yet told it closed) */
	bool fin_sent[2];   /* this end closed its side: it sends nothing more */
	bool up;            /* established (election links: between reset and reconnect it is not) */
	bool reconnect_pending;
	struct sim_dir dir[2];
	struct zk_qframe qf[2]; /* quorum links: the framer of what arrives at end i */
	bool qf_init;
};

/* ---- disk ---- */

struct sim_rec {
	int64_t zxid;
	uint8_t *p;
	size_t len;
	bool durable;
};

struct sim_snap {
	int64_t zxid;
	uint8_t *p;
	size_t len;
};

struct sim_disk {
	struct sim_rec *recs;
	size_t n_recs, cap_recs;
	struct sim_snap *snaps;
	size_t n_snaps, cap_snaps;
	int64_t accepted_epoch, current_epoch; /* -1: the file does not exist */
	/* The last TRUNC that cut records (for the failure reports) */
	int64_t trunc_t, trunc_lo, trunc_hi;
	bool trunc_durable;  /* it cut durable records */
};

/* ---- history ---- */

struct sim_hent {
	int64_t zxid;
	uint64_t hash;      /* of the txn bytes; 0 for a gap entry */
	int64_t client_id;  /* from the txn header, to match acknowledged writes */
	int32_t cxid, type;
	bool gap;           /* a snapshot base we never saw the txns of: state known only by digest */
	bool has_digest;
	uint64_t digest;    /* tree digest right after this zxid */
};

struct sim_aent {
	int64_t zxid;
	uint64_t hash;
	int64_t client_id; /* txn header fields, for the history */
	int32_t cxid, type;
};

/* What one node has applied since its database was last (re)loaded: a base (empty database, a
 * snapshot, or a SNAP from the leader) and the txns after it, in order. Checked against the
 * common history whenever the node is serving. */
struct sim_applied {
	int64_t base_zxid;   /* 0 = empty database */
	uint64_t base_digest;
	struct sim_aent *e;
	size_t n, cap;
	size_t verified;     /* entries already matched against the history */
	bool base_checked;
	size_t hpos;         /* history index of the last verified entry + 1 (or of base + 1) */
	bool loose;          /* after a reload: the commit log may hold stale entries (up to stale_max) */
	int64_t stale_max;
	bool snap_seen;      /* a SNAP was handed to the peer: the next jump may be its load */
	int64_t last_seen;   /* db->last_zxid at the last poll */
};

/* ---- node ---- */

struct sim_node {
	int sid;             /* 1..N voters, N+1..N+M observers */
	bool observer;
	bool up;
	uint32_t inc;        /* incarnation: bumped by every crash and start */
	int64_t mono_off;    /* node mono clock = world time + mono_off */
	struct zk_server *srv;
	struct zk_peer *peer;
	struct zk_out outs[SIM_OUT_DEPTH];
	int depth;
	struct sim_disk disk;
	bool fsync_scheduled;
	bool timer_set;
	int64_t timer_t;
	uint32_t timer_tok;
	uint64_t next_conn_id;   /* client connection ids, from 1 */
	uint64_t next_accept_n;  /* accepted quorum link ids */
	bool truncated_due;      /* zk_peer_truncated after the current batch */
	int truncated_rc;
	/* Election connection memory of this process (QuorumCnxManager): the last frame sent to each
	 * sid, re-sent on reconnect, and the one waiting while the link is down (capacity one). */
	uint8_t *elect_last[SIM_NODES_MAX + 1];
	size_t elect_last_len[SIM_NODES_MAX + 1];
	uint8_t *elect_queued[SIM_NODES_MAX + 1];
	size_t elect_queued_len[SIM_NODES_MAX + 1];
	struct sim_applied ap;
	struct zk_logger logger;
	struct sim_world *w;
	int64_t down_until;
	uint32_t crashes;
};

/* ---- clients ---- */

enum sim_client_state { SIM_CS_IDLE = 0, SIM_CS_CONNECTING, SIM_CS_CONNECTED };

struct sim_ack {
	int64_t session_id;
	int32_t xid, op;
	int64_t zxid;
	char path[48];
	bool create;
};

struct sim_client {
	int idx;
	enum sim_client_state st;
	int node;            /* node index it is connected to, or -1 */
	int link;            /* link index, or -1 */
	uint32_t conn_seq;   /* bumped per scheduled wake: only the newest counts */
	int64_t session_id;
	uint8_t passwd[16];
	int32_t timeout_ms;
	int32_t xid;
	bool waiting;        /* one request outstanding */
	int32_t wait_xid, wait_op;
	char wait_path[48];
	int64_t wait_since;
	int64_t last_recv;   /* for the read timeout */
	int64_t max_zxid_seen;
	uint32_t created;    /* paths created so far (acknowledged or not) */
	int32_t acked_seq[SIM_CLIENT_PATHS]; /* per path: value of the last acknowledged write, -1 */
	uint32_t seq;        /* unique value counter */
	bool stopped;        /* liveness phase: no new requests */
	bool probe;          /* the liveness phase's probe client */
	struct zk_wbuf in;   /* bytes received, framed here */
	int64_t pings;
};

/* ---- world ---- */

enum sim_ev_kind {
	SIM_EV_START = 1,   /* node: first start or restart */
	SIM_EV_TIMER,       /* node: tick */
	SIM_EV_FSYNC,       /* node: pending writes become durable */
	SIM_EV_PUMP,        /* link direction: deliver the head message if due */
	SIM_EV_CLOSED,      /* link end: tell it the connection is gone */
	SIM_EV_DIAL,        /* quorum link connect attempt completes */
	SIM_EV_RECONNECT,   /* election link: try to re-establish */
	SIM_EV_CLIENT,      /* client: think time over / timeout check */
	SIM_EV_CRASH,       /* fault schedule */
	SIM_EV_PARTITION,
	SIM_EV_HEAL,
	SIM_EV_PHASE,       /* the safety phase ends: heal, restart, watch for liveness */
	SIM_EV_CLOG,        /* stall one direction between two nodes for a while */
	SIM_EV_UNCLOG,
	SIM_EV_MINORITY,    /* the minority phase starts (it ends as a partition does) */
};

struct sim_ev {
	int64_t t;
	uint64_t seq;
	enum sim_ev_kind kind;
	int a;          /* node / link / client index */
	int b;          /* direction / end / extra */
	uint32_t gen;   /* incarnation / gen / token the event was made for */
	uint64_t x;     /* extra (link ids) */
};

struct sim_failure {
	bool failed;
	char what[64];     /* which check */
	char detail[512];
};

struct sim_world {
	uint64_t seed;
	struct sim_knobs k;
	struct sim_rng rng;
	bool verbose;
	int64_t now;
	uint64_t seq;
	uint64_t events;
	struct sim_ev *heap;
	size_t heap_n, heap_cap;
	struct zk_config cfg;      /* the voters' zoo.cfg */
	struct zk_config cfg_obs;  /* the observers': the same plus peerType=observer */
	int n_nodes;               /* voters + observers */
	struct sim_node nodes[SIM_NODES_MAX];
	struct sim_link links[SIM_LINKS_MAX];
	/* election link of nodes i < j: elinks[i][j] is a link index, -1 between two observers
	 * (they never talk: an observer sends only to voters and answers no one) */
	int elinks[SIM_NODES_MAX][SIM_NODES_MAX];
	bool blocked[SIM_NODES_MAX][SIM_NODES_MAX]; /* [from][to] */
	int64_t clog_until[SIM_NODES_MAX][SIM_NODES_MAX]; /* [from][to]: stalled before this time */
	bool partitioned;
	int64_t partition_end;
	/* The minority phase (a partition): only minority_side (a minority of the voters and every
	 * observer) can talk to each other; every other voter is alone. */
	bool minority;
	bool minority_side[SIM_NODES_MAX];
	int64_t minority_start, minority_quiet_at; /* from quiet_at: no leader, no commit at all */
	bool minority_quiet;
	size_t minority_hist_n;    /* history length when the quiet part began */
	int64_t minority_max_zxid; /* the newest zxid in a cut-off voter's log at the start */
	int64_t minority_max_epoch; /* the newest acceptedEpoch of a cut-off voter at the start */
	struct sim_client clients[SIM_CLIENTS_MAX + 1]; /* the last one is the liveness probe */
	int n_clients;
	bool faults_on;
	/* history and checks */
	struct sim_hent *hist;
	size_t hist_n, hist_cap;
	struct sim_ack *acks;
	size_t acks_n, acks_cap;
	struct { int64_t epoch; int sid; } leaders[256];
	int n_leaders;
	struct sim_failure fail;
	uint64_t trace;          /* FNV-1a over every step */
	/* log ring for the failure report */
	char (*ring)[SIM_LOG_LINE];
	size_t ring_pos, ring_n;
	/* counters for the summary */
	uint64_t n_crashes, n_partitions, n_clogs, n_resets, n_writes_acked, n_reads_ok, n_truncs, n_snaps_recv;
	uint64_t n_snapshots, n_elections_won;
	uint64_t n_commit_checks, n_minority, n_obs_reads, n_obs_writes;
	int64_t converged_at;    /* liveness: when every node was level */
	bool liveness;           /* the liveness phase has begun */
	int64_t liveness_start;
	bool probe_started, done;
	bool quiet;
};

/* sim.c */
void sim_push(struct sim_world *w, int64_t t, enum sim_ev_kind kind, int a, int b, uint32_t gen, uint64_t x);
void sim_trace(struct sim_world *w, const void *p, size_t n);
void sim_trace_u64(struct sim_world *w, uint64_t v);
void sim_logf(struct sim_world *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sim_fail(struct sim_world *w, const char *what, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
uint64_t sim_fnv(const void *p, size_t n);
int64_t sim_delay(struct sim_world *w);

/* sim_fault.c */
int64_t sim_gap(struct sim_world *w, int64_t mean);
void sim_fault_crash(struct sim_world *w);
void sim_fault_partition(struct sim_world *w);
void sim_fault_clog(struct sim_world *w);
void sim_heal(struct sim_world *w);
void sim_fault_minority(struct sim_world *w);

/* sim_net.c */
void sim_net_init(struct sim_world *w);
void sim_net_fini(struct sim_world *w);
int sim_link_new(struct sim_world *w, enum sim_link_kind kind, int end0, uint64_t id0, int end1, uint64_t id1);
int sim_link_find(struct sim_world *w, int end, uint64_t id);
/* Queues bytes from end `from` of link li (delivered in order after a random delay). */
void sim_link_send(struct sim_world *w, int li, int from, const uint8_t *p, size_t len);
/* End `from` closes: what it sent still arrives, then the other end sees the close. */
void sim_link_fin(struct sim_world *w, int li, int from);
/* Connection reset: in-flight bytes lost, both ends told after a short delay. */
void sim_link_reset(struct sim_world *w, int li);
/* An end is gone (crash): reset without telling that end. */
void sim_link_drop_end(struct sim_world *w, int li, int end);
void sim_net_pump(struct sim_world *w, int li, int dir, uint32_t gen);
void sim_net_closed(struct sim_world *w, int li, int end, uint32_t gen);
bool sim_reachable(const struct sim_world *w, int from, int to);
/* After a heal: stalled directions resume. */
void sim_net_resume(struct sim_world *w);
/* Election links. */
void sim_elect_send(struct sim_world *w, int from, int64_t to_sid, const uint8_t *p, size_t len);
void sim_elect_reconnect(struct sim_world *w, int li, uint32_t gen);
/* Node i started: (re)connect its election links. */
void sim_elect_node_up(struct sim_world *w, int i);
/* Quorum dials. */
void sim_dial(struct sim_world *w, int from, uint64_t link_id, int64_t sid);
void sim_dial_done(struct sim_world *w, int from, uint32_t inc, uint64_t link_id, int64_t sid);

/* sim_node.c */
void sim_node_init(struct sim_world *w, int i);
void sim_node_fini(struct sim_world *w, int i);
void sim_node_start(struct sim_world *w, int i);
void sim_node_crash(struct sim_world *w, int i);
void sim_node_timer(struct sim_world *w, int i, uint32_t tok);
void sim_node_fsync(struct sim_world *w, int i, uint32_t inc);
struct zk_now sim_node_now(const struct sim_world *w, const struct sim_node *n);
/* Call framing: sim_call_begin gives the zk_out for one call into node i; sim_call_end carries out
 * its effects, polls the node's applied txns, re-arms its timer and runs the checks. */
struct zk_out *sim_call_begin(struct sim_world *w, int i);
void sim_call_end(struct sim_world *w, int i);
/* Deliveries into a node. */
void sim_node_elect_recv(struct sim_world *w, int i, int64_t from_sid, const uint8_t *p, size_t len);
void sim_node_qbytes(struct sim_world *w, int i, int li, int end, const uint8_t *p, size_t len);
void sim_node_qopen(struct sim_world *w, int i, uint64_t id, bool inbound);
void sim_node_qclosed(struct sim_world *w, int i, uint64_t id);
void sim_node_client_open(struct sim_world *w, int i, uint64_t conn_id, int client, bool *ok);
void sim_node_client_bytes(struct sim_world *w, int i, uint64_t conn_id, const uint8_t *p, size_t len);
void sim_node_client_closed(struct sim_world *w, int i, uint64_t conn_id);
int64_t sim_node_digest(struct sim_node *n);
/* The node's own zoo.cfg (observers: peerType=observer). */
const struct zk_config *sim_node_cfg(const struct sim_world *w, int i);

/* sim_client.c */
void sim_clients_init(struct sim_world *w);
void sim_clients_fini(struct sim_world *w);
void sim_client_event(struct sim_world *w, int c, uint32_t conn_seq);
void sim_client_bytes(struct sim_world *w, int c, int li, const uint8_t *p, size_t len);
void sim_client_closed(struct sim_world *w, int c, int li);
bool sim_client_acked_probe(const struct sim_world *w);

/* sim_check.c */
void sim_check_step(struct sim_world *w);
/* A node's applied state after a call (sim_call_end): new txns from the commit log. */
void sim_check_poll(struct sim_world *w, int i, bool after_snap);
/* The node's database was reloaded by the simulator (start-up or TRUNCATE): base and replayed
 * records. */
void sim_applied_reset(struct sim_applied *a, int64_t base_zxid, uint64_t base_digest);
void sim_applied_push(struct sim_applied *a, int64_t zxid, const uint8_t *txn, size_t len);
/* Liveness end: every node level, every acknowledged write everywhere. */
void sim_check_final(struct sim_world *w);
bool sim_all_level(struct sim_world *w);

/* Command-line overrides of the seed's knobs (0 = the seed's choice). */
struct sim_opts {
	int nodes;
	int observers;      /* with set_observers: exactly this many (0 = none) */
	bool set_observers;
	int minority;       /* 1 = always a minority phase (when there are observers), -1 = never */
	uint64_t steps;
	int64_t fault_ms;
	bool verbose;  /* every event and node log line to stdout */
	bool quiet;    /* not even the knobs and the summary */
};

/* The run: 0 = passed. */
struct sim_result {
	bool failed;
	char what[64];
	char detail[512];
	uint64_t trace;
	uint64_t events;
	int64_t end_ms;
	int observers;
	uint64_t minority_phases, commit_checks, obs_reads, obs_writes;
};
int sim_run(uint64_t seed, const struct sim_opts *o, struct sim_result *res);

#endif
