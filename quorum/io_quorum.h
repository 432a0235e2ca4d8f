/* The quorum-mode shell: sockets and files of a member of an ensemble, around the peer state
 * machine (peer.h). It owns the election port (QuorumCnxManager: one connection per pair of
 * servers, dialled by the larger sid, the V1 handshake, length-prefixed notification frames, a
 * one-deep send queue per server and the last notification re-sent on every new connection),
 * the quorum port and the leader <-> learner links (ZK_LINK_QUORUM_BASE ids, framed by
 * qframe.h), and the quorum kinds of zk_out items: DIAL, EPOCH (acceptedEpoch / currentEpoch
 * files), TRUNCATE (cut the txn log, reload the database) and SNAPSHOT. It plugs into the
 * client-port shell (io_client.h, zk_io_set_quorum), whose loop, core and txn log it shares. */
#ifndef ZK_IO_QUORUM_H
#define ZK_IO_QUORUM_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "log.h"

struct zk_io;
struct zk_io_quorum;
struct zk_peer;
struct zk_server;
struct zk_disk;

#define ZK_EPOCH_FILE_ACCEPTED "acceptedEpoch"
#define ZK_EPOCH_FILE_CURRENT "currentEpoch"

/* Binds the election and quorum ports of server.<myid> (all interfaces with
 * quorumListenOnAllIPs=true) and registers with io. cfg is copied; io and peer are borrowed and
 * must outlive the result. Returns NULL with a message in err (a port cannot be bound, myid has no
 * server line, out of memory). */
struct zk_io_quorum *zk_io_quorum_new(const struct zk_config *cfg, int64_t myid, struct zk_io *io,
                                      struct zk_peer *peer, const struct zk_logger *log, char *err, size_t err_len);
/* Closes every election and quorum connection without telling the peer (shutdown), and
 * unregisters from io. NULL is a no-op. */
void zk_io_quorum_free(struct zk_io_quorum *q);

/* The first line of a file holding one decimal long, as ZooKeeper reads myid and the epoch files
 * (BufferedReader.readLine + Long.parseLong: no surrounding blanks; "\n", "\r" or "\r\n" end the
 * line). Returns 0, ZK_ENOENT (no such file), ZK_EINVAL (not a number, or a first line over 64
 * bytes) or ZK_EIO. */
int zk_io_quorum_read_long(const char *path, int64_t *v);
/* <data_dir>/version-2/<name>: read as above. */
int zk_io_quorum_epoch_read(const char *data_dir, const char *name, int64_t *epoch);
/* Writes <data_dir>/version-2/<name> as a decimal with no newline, atomically (AtomicFileWriter):
 * <name>.tmp, fsync, rename over <name>, fsync the directory. Returns 0 or a negative ZK_E* with
 * the reason in err. */
int zk_io_quorum_epoch_write(const char *data_dir, const char *name, int64_t epoch, char *err, size_t err_len);

/* ZK_OUT_TRUNCATE without the peer: cuts the txn log after zxid (zk_disk_truncate), deletes the
 * snapshots above zxid, empties the core's database (zk_server_reset_db), loads the newest
 * snapshot left, replays the log and calls zk_server_loaded. Stop any background snapshot first
 * (zk_io_cancel_snapshot). Returns 0 or a negative ZK_E* (logged). */
int zk_io_quorum_truncate(const struct zk_config *cfg, struct zk_server *core, struct zk_disk *disk, int64_t zxid,
                          const struct zk_logger *log);

#endif
