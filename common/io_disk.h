/* The txn-log stage of the shell: ZooKeeper 3.8's transaction log files (format in txnlog.h)
 * under <dataLogDir>/version-2. Txns are appended under their zxid as token into a user-space
 * buffer; flush writes them, fdatasyncs (unless forceSync=no) and reports the highest token.
 * The first append after start-up or a roll creates log.<zxid of that txn>. After a failed
 * write or sync nothing more is written: every later flush reports the same error. */
#ifndef ZK_IO_DISK_H
#define ZK_IO_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "log.h"

struct zk_disk;

struct zk_disk *zk_disk_new(const struct zk_config *cfg, const struct zk_logger *log, char *err, size_t err_len);
void zk_disk_free(struct zk_disk *d);
void zk_disk_append(struct zk_disk *d, uint64_t token, const uint8_t *p, size_t len);
/* Returns 0 or a negative ZK_E*; *token = highest token appended since the last flush (0 = none). */
int zk_disk_flush(struct zk_disk *d, uint64_t *token);
/* Group commit without stopping the loop: writes what was appended and hands the fdatasync to
 * the disk's own thread, which calls notify (from that thread) when done; the loop then takes
 * the result with zk_disk_take_done and calls this again for what was appended meanwhile.
 * Returns 1 while a sync is running (the appended txns join the next one), 0 when *token is
 * durable already (forceSync=no, nothing to sync), or a negative ZK_E* (*token failed). */
int zk_disk_flush_async(struct zk_disk *d, uint64_t *token);
/* The finished sync's token and result (0 or a negative ZK_E*, then the disk has failed); false
 * when none has finished. */
bool zk_disk_take_done(struct zk_disk *d, uint64_t *token, int *rc);
/* notify(ctx) is called on the sync thread after each sync (e.g. event_active on the loop). */
void zk_disk_set_notify(struct zk_disk *d, void (*notify)(void *ctx), void *ctx);
/* The next append starts a new log file (after a snapshot is triggered). What was appended
 * before is written to the old file now and synced by the next flush. Returns 0 or a negative
 * ZK_E* (then the disk has failed, as for flush). */
int zk_disk_roll(struct zk_disk *d);

/* Quorum TRUNC (FileTxnLog.truncate, for a learner whose log is ahead of the leader's): makes the
 * log end at zxid. What was appended is written and synced first and the current file is closed,
 * so the next append starts log.<its zxid> after the cut. Then in <dataLogDir>/version-2: files
 * starting after zxid are deleted; the last file starting at or before it is cut right after its
 * last entry with a zxid <= zxid (deleted when it holds none); the directory is fsynced. A torn or
 * corrupt entry before the cut point ends the file there (nothing after it is kept). Tokens
 * appended before stay pending for the next flush. Returns 0 or a negative ZK_E*; a failure
 * leaves the log in an unknown state, so the disk then fails as after a failed flush. */
int zk_disk_truncate(struct zk_disk *d, int64_t zxid);

/* Start-up replay of <data_log_dir>/version-2/log.*: reads the files a replay after from_zxid
 * needs (txnlog.h, zk_txnlog_files_from) and calls apply for every txn whose zxid is above
 * from_zxid and above every zxid applied before, in file order; txn is borrowed for the call,
 * and apply returns 0 or a negative ZK_E* that stops the replay and is returned.
 * A torn or checksum-failed tail of the LAST file is cut off (ftruncate right after the last
 * valid entry, one WARN line: file, offset, reason); a last file without a single valid entry
 * is deleted, as ZooKeeper deletes an empty tail log. A checksum failure in an earlier file, or
 * in the last one when a valid entry follows it, is an error (ZK_EINVAL; zkTxnLogToolkit -r
 * repairs it). *last_zxid = the highest zxid applied, or from_zxid when none was. A missing
 * directory means no log. Start the disk (zk_disk_new) afterwards: its first append opens a
 * new file, as ZooKeeper starts a new log after a restart. */
int zk_disk_recover(const char *data_log_dir, int64_t from_zxid,
                    int (*apply)(void *ctx, const uint8_t *txn, size_t len, int64_t zxid), void *ctx,
                    const struct zk_logger *log, int64_t *last_zxid);

#endif
