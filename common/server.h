/* The standalone server core: connections' protocol state, the request pipeline (prep -> log
 * -> commit -> final), sessions, watches and four-letter words, as a deterministic state machine.
 * Inputs carry the time; effects come out in a struct zk_out (out.h) that the caller carries out:
 * sockets, files and clocks belong to the shell (io_*.c). Single-threaded. */
#ifndef ZK_SERVER_H
#define ZK_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "log.h"
#include "out.h"

struct zk_server;

struct zk_now {
	int64_t mono_ms; /* monotonic: expiry, latencies */
	int64_t wall_ms; /* wall clock: txn time (ctime/mtime), TTLs, 4lw timestamps */
};

struct zk_server *zk_server_new(const struct zk_config *cfg, struct zk_now now, const struct zk_logger *log);
void zk_server_free(struct zk_server *s);

/* A new client connection. Returns 0, or -1 when it must be refused (maxClientCnxns, maxCnxns):
 * a CLOSE is then in `out`. */
int zk_server_conn_open(struct zk_server *s, struct zk_now now, uint64_t conn_id, const char *ip, int port,
                        struct zk_out *out);
/* The connection is gone (peer closed, error, or the shell carried out a CLOSE). */
void zk_server_conn_closed(struct zk_server *s, struct zk_now now, uint64_t conn_id);
/* One whole frame (without its 4-byte length) from the connection. */
void zk_server_frame(struct zk_server *s, struct zk_now now, uint64_t conn_id, const uint8_t *p, size_t len,
                     struct zk_out *out);
/* Whether the first 4 bytes of a connection are a four-letter word (before any handshake). */
bool zk_server_is_fourlw(const uint8_t first4[4]);
/* Answers a four-letter word: SEND then CLOSE. */
void zk_server_fourlw(struct zk_server *s, struct zk_now now, uint64_t conn_id, const uint8_t cmd[4],
                      struct zk_out *out);
/* Deadlines: session expiry, container/TTL reaping, sessionless connections. */
void zk_server_tick(struct zk_server *s, struct zk_now now, struct zk_out *out);
/* Everything persisted under tokens <= token is durable (rc 0) or failed (rc < 0). */
void zk_server_disk_done(struct zk_server *s, struct zk_now now, uint64_t token, int rc, struct zk_out *out);
/* Requests in the pipeline (globalOutstandingLimit applies to this). */
uint32_t zk_server_outstanding(const struct zk_server *s);
int64_t zk_server_next_wake(const struct zk_server *s);
/* For the dirs/conf words: sizes of the data and log directories, measured by the shell. */
void zk_server_set_dir_sizes(struct zk_server *s, uint64_t data_dir_bytes, uint64_t log_dir_bytes);
/* Informs the core that writes can no longer be persisted (full disk, failed fsync). */
void zk_server_set_read_only(struct zk_server *s, bool ro);
uint64_t zk_server_last_zxid(const struct zk_server *s);
/* Start-up recovery: the shell loads a snapshot and replays logs into this database before any
 * client connects, then calls zk_server_loaded so that zxids continue after the last one and
 * the recovered sessions get a full timeout from now (as ZooKeeper does after a restart). */
struct zk_db;
struct zk_db *zk_server_db(struct zk_server *s);
void zk_server_loaded(struct zk_server *s, struct zk_now now);
/* Applies one txn read back from the log during recovery. Returns 0 or a negative ZK_E*. */
int zk_server_replay(struct zk_server *s, const uint8_t *txn, size_t len);

#endif
