/* The client-port shell: libevent listener and connections around the server core. It frames
 * bytes, feeds whole frames to the core, carries out the core's outputs (sends, closes, txn
 * persistence with group commit at the end of each loop pass) and ticks the core. */
#ifndef ZK_IO_CLIENT_H
#define ZK_IO_CLIENT_H

#include "config.h"
#include "log.h"

struct zk_io;
struct zk_server;

/* Binds the client port. Returns NULL with a message in err on failure. */
struct zk_io *zk_io_new(const struct zk_config *cfg, struct zk_server *core, const struct zk_logger *log,
                        char *err, size_t err_len);
/* Starts a background snapshot of the database as it is now (after recovery replayed txns). */
void zk_io_snapshot_now(struct zk_io *io);
/* Runs until SIGINT/SIGTERM. */
int zk_io_run(struct zk_io *io);
void zk_io_free(struct zk_io *io);
/* The clock the shell gives the core. */
void zk_io_now(int64_t *mono_ms, int64_t *wall_ms);

/* ---- Quorum mode: the quorum shell (quorum/io_quorum.c) plugs in here ---- */
struct event_base;
struct zk_disk;
struct zk_out;
struct zk_out_item;

/* The core's tick period while a quorum shell is registered: fine enough for the election's
 * finalizeWait and notification timers (200 ms). */
#define ZK_IO_QUORUM_TICK_MS 50

/* Carries out the items io_client does not own: SEND and CLOSE on election and quorum links
 * (ZK_LINK_IS_ELECT / ZK_LINK_IS_QUORUM) and DIAL, EPOCH, TRUNCATE, SNAPSHOT, one at a time in
 * batch order. data points at a SEND's bytes and is valid until the callback calls into the
 * core. The callback may call into the core with zk_io_out(io): what that appends is carried
 * out in the same pass, after the items already there. */
struct zk_io_quorum_ops {
	void *ctx;
	void (*apply)(void *ctx, const struct zk_out_item *it, const uint8_t *data);
	/* After every pass that carried out a batch (every call into the core is followed by one):
	 * where the quorum shell follows the peer's role changes. May be NULL. */
	void (*applied)(void *ctx);
};
/* Registers the quorum shell (ops copied; NULL unregisters) and ticks the core every
 * ZK_IO_QUORUM_TICK_MS from then on. */
void zk_io_set_quorum(struct zk_io *io, const struct zk_io_quorum_ops *ops);
struct event_base *zk_io_base(struct zk_io *io);
struct zk_server *zk_io_core(struct zk_io *io);
struct zk_disk *zk_io_disk(struct zk_io *io);
/* The batch every call into the core fills; carry it out with zk_io_apply after the call. */
struct zk_out *zk_io_out(struct zk_io *io);
/* Carries out the batch now. Called while a batch is being carried out (from a quorum ops
 * callback) it returns at once: the running pass picks up what was appended. */
void zk_io_apply(struct zk_io *io);
/* Stops a background snapshot being written, if any (the child is killed, its temp file
 * removed): a TRUNCATE must not see a snapshot newer than its cut appear afterwards. */
void zk_io_cancel_snapshot(struct zk_io *io);

#endif
