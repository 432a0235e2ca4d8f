/* Snapshot files (format in snapshot.h) under <dataDir>/version-2: writing one atomically, in
 * the foreground or in a forked child that writes its copy-on-write image of the database,
 * loading the newest usable one at start-up, and purging old snapshots and txn logs
 * (autopurge, PurgeTxnLog). No libevent here: a background job exposes a pipe fd the caller
 * watches (or polls from a timer) and a poll function that reaps the child.
 *
 * Files: snapshot.<hex zxid> (what ZooKeeper reads); while being written
 * tmp.snapshot.<hex zxid>.<pid>, which no ZooKeeper reader takes for a snapshot (its name does not
 * start with "snapshot."), renamed into place after fsync, then the directory is fsynced. */
#ifndef ZK_IO_SNAP_H
#define ZK_IO_SNAP_H

#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "snapshot.h"
#include "txn.h"

/* A flag for zk_snap_save/_bg beside snapshot.h's ZK_SNAP_NO_DIGEST: no fsync of the file and
 * the directory (tests; ZooKeeper itself fsyncs snapshots only when asked to). */
#define ZK_SNAP_SAVE_NO_FSYNC 0x100u
#define ZK_SNAP_LOAD_TRIES_MAX 100 /* FileSnap.deserialize tries the 100 newest valid ones */

/* Writes <data_dir>/version-2/snapshot.<zxid> (creating the directories) and returns 0 or a
 * negative ZK_E* (ZK_ENOSPC for ENOSPC/EDQUOT, ZK_EIO otherwise; the temp file is removed) with
 * the reason in err. Blocks for the whole write: at start-up, or in tests. */
int zk_snap_save(const struct zk_db *db, int64_t zxid, const char *data_dir, unsigned flags, char *err,
                 size_t err_len);

/* The same in a child process: fork() gives it a copy-on-write image of db as of now, so the
 * parent goes on applying txns at once (the snapshot is exact as of zxid, not fuzzy). The child
 * closes every inherited descriptor but its status pipe (a client socket the parent closes must
 * not stay open in the child), restores the default SIGTERM/SIGINT/SIGHUP, writes, reports
 * through the pipe and _exit()s. Memory: pages the parent changes meanwhile are copied.
 * Returns 0 with *job, or a negative ZK_E* (pipe/fork failed; nothing started). */
struct zk_snap_job;
int zk_snap_save_bg(const struct zk_db *db, int64_t zxid, const char *data_dir, unsigned flags,
                    struct zk_snap_job **job, char *err, size_t err_len);
/* Becomes readable when the child has reported or died (EOF): watch it with EV_READ, then call
 * zk_snap_job_poll; or poll from a timer. Once poll returns <= 0 the fd stays readable (EOF):
 * delete the event then, before zk_snap_job_free closes the fd. */
int zk_snap_job_fd(const struct zk_snap_job *job);
/* 1: still running. 0: the snapshot is in place. < 0: it failed (ZK_ENOSPC, ZK_EIO; the reason,
 * or the signal that killed the child, in err). Once done, returns the same result again
 * and the child has been reaped (works with SIGCHLD ignored too). Never blocks for long: it
 * waits for the child only once the child has closed its pipe, i.e. is exiting. */
int zk_snap_job_poll(struct zk_snap_job *job, char *err, size_t err_len);
int64_t zk_snap_job_zxid(const struct zk_snap_job *job);
/* Frees the job; a child still running is killed (SIGKILL), reaped, and its temp file removed
 * (shutdown). NULL is a no-op. */
void zk_snap_job_free(struct zk_snap_job *job);

/* Start-up: lists <data_dir>/version-2/snapshot.*, removes leftover tmp.snapshot.* files (no
 * writer runs yet), and loads the newest snapshot that passes the quick check and loads
 * (zk_snap_load with the zxid from the name), logging each one skipped and why. Compressed
 * snapshots (.gz, .snappy) are skipped with a warning. Returns 0 (db loaded, *zxid = its zxid,
 * *info as zk_snap_load fills it; info may be NULL), ZK_ENOENT when there is no snapshot file at
 * all (the caller decides: empty database + snapshot.0, or refuse when txn logs exist, as
 * ZooKeeper does), ZK_EINVAL when there are some but none loads (ZooKeeper stops there), or
 * ZK_EIO/ZK_ENOMEM. */
int zk_snap_load_newest(struct zk_db *db, const char *data_dir, int64_t *zxid, const struct zk_logger *log,
                        struct zk_snap_info *info);

/* Quorum TRUNC: deletes <data_dir>/version-2/snapshot.* (compressed ones too) whose zxid is above
 * zxid, since they hold txns the cut log no longer has, then fsyncs the directory. One INFO line
 * per file. Returns the number deleted, or a negative ZK_E* (a file that cannot be deleted, or
 * the directory cannot be listed or synced). */
int zk_snap_remove_after(const char *data_dir, int64_t zxid, const struct zk_logger *log);

/* PurgeTxnLog.purge: keeps the newest `retain` valid snapshots (at least 3) in
 * <data_dir>/version-2 and the txn logs of <data_log_dir>/version-2 a recovery from the oldest
 * of them needs; deletes older snapshot.* (compressed ones too) and log.* files, one INFO line
 * each. Files being written are never touched. Returns the number of files deleted, or a
 * negative ZK_E* when a directory cannot be listed. */
int zk_snap_purge(const char *data_dir, const char *data_log_dir, int retain, const struct zk_logger *log);

#endif
