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

#endif
