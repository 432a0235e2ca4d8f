/* Snapshots in ZooKeeper 3.8's format (persistence/FileSnap.java, SnapStream.java,
 * util/SerializeUtils.java, DataTree.serialize/deserialize, ReferenceCountedACLCache), without
 * I/O: a streaming writer, a loader over bytes in memory, file names and the purge rule. The
 * shell (io_snap.c) does the files and the background fork. Layout (protocol.md 7.3):
 *
 *   file     = header sessions acls nodes seal [digest seal]
 *   header   = int magic 0x5A4B534E "ZKSN"; int version 2; long dbid -1    (ZooKeeper checks magic)
 *   sessions = int count; {long id; int timeout_ms} * count
 *   acls     = int count; {long id; vector<ACL> acls} * count              ReferenceCountedACLCache:
 *              ids >= 0; -1 is OPEN_ACL_UNSAFE and is never listed
 *   nodes    = {ustring path; buffer data; long acl_id; StatPersisted} *  ustring "/"
 *              pre-order (parent before children); the root's path is "" (empty), the others
 *              full paths; StatPersisted = long czxid, mzxid, ctime, mtime; int version,
 *              cversion, aversion; long ephemeralOwner, pzxid (stored values, 60 bytes)
 *   seal     = long Adler-32 of every byte before it, header included; ustring "/"
 *              (the second seal's checksum also covers the first seal and the digest)
 *   digest   = long zxid; int version 2; long treeDigest (zookeeper.digest.enabled, 3.6+)
 *              zxid 0 = ZooKeeper's "no digest" placeholder; version < 2 had a hex ustring
 *
 *   SNAP on the quorum link (ZK_SNAP_WIRE, protocol.md 5.5): sessions acls nodes
 *              ustring "BenWasHere"; no header, seal or digest.
 *
 * The zxid of a snapshot is in its file name (snapshot.<hex>), not in the stream: the zxid the
 * server had processed when the snapshot started. ZooKeeper's snapshots are fuzzy (taken while
 * txns apply, replay must be idempotent); ours come from a fork and are exact, but the loader
 * accepts both. */
#ifndef ZK_SNAPSHOT_H
#define ZK_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "txn.h"

#define ZK_SNAP_MAGIC 0x5A4B534E /* "ZKSN" */
#define ZK_SNAP_VERSION 2
#define ZK_SNAP_DBID (-1)
#define ZK_SNAP_DIGEST_VERSION 2 /* DigestCalculator.DIGEST_VERSION */
#define ZK_SNAP_WIRE_SIGNATURE "BenWasHere"
#define ZK_SNAP_CHUNK_BYTES 65536 /* the writer's buffer (on its stack): one sink call per chunk */
#define ZK_SNAP_PREFIX "snapshot."
#define ZK_SNAP_NAME_MAX 32       /* "snapshot." + 16 hex digits + NUL, rounded up */
#define ZK_SNAP_RETAIN_MIN 3      /* autopurge.snapRetainCount minimum */
/* Quick validity check (Util.isValidSnapshot): at least this long, ends in seal's ustring "/". */
#define ZK_SNAP_MIN_BYTES 10

/* Flags of zk_snap_write and zk_snap_load. */
#define ZK_SNAP_WIRE 0x1u      /* the SNAP body of the quorum link instead of a file */
#define ZK_SNAP_NO_DIGEST 0x2u /* write: no digest block and no second seal
                                  (zookeeper.digest.enabled=false); load: don't compare it */

/* Writes the snapshot of db through sink, in chunks of at most ZK_SNAP_CHUNK_BYTES (larger node
 * data goes through in one call), computing the seals on the fly: the only memory used is the
 * writer's buffer on the stack, and nothing is allocated (safe in a child after fork()). The
 * digest block is {zxid, 2, db->tree.digest} when zxid > 0 and ZooKeeper's placeholder {0, 2, 0}
 * when zxid is 0 (as a fresh database's snapshot.0). Node order: pre-order, children in the
 * tree's insertion order, so a loaded snapshot written again gives the same bytes. sink returns
 * 0 or a negative ZK_E*, which stops the writer and is returned. Returns 0 or the sink's error. */
typedef int (*zk_snap_sink_fn)(void *ctx, const void *p, size_t n);
int zk_snap_write(const struct zk_db *db, int64_t zxid, unsigned flags, zk_snap_sink_fn sink, void *ctx);

enum zk_snap_digest_check {
	ZK_SNAP_DIGEST_NONE = 0, /* no digest block, a placeholder, or a digest older than the
	                            snapshot's zxid (ZooKeeper ignores it), or ZK_SNAP_NO_DIGEST */
	ZK_SNAP_DIGEST_MATCH,    /* digest zxid == snapshot zxid and the trees agree */
	ZK_SNAP_DIGEST_MISMATCH, /* ...and they don't: a warning, not a failure (ZooKeeper logs it) */
	ZK_SNAP_DIGEST_OLD_VERSION, /* digest version != 2: not compared (ZooKeeper skips it) */
	ZK_SNAP_DIGEST_DEFERRED, /* digest zxid > snapshot zxid (fuzzy snapshot): compare when the
	                            replay has applied digest_zxid (zk_snap_digest_at) */
};

struct zk_snap_info {
	int64_t zxid;       /* what db->last_zxid was set to */
	int32_t version;    /* FileHeader version and dbid (not checked, as in ZooKeeper) */
	int64_t dbid;
	uint64_t nodes;
	uint32_t sessions;
	uint32_t acl_lists; /* entries in the stream's ACL cache */
	bool has_digest;    /* a digest block was present, and sealed */
	int64_t digest_zxid;
	int32_t digest_version;
	int64_t digest;
	enum zk_snap_digest_check digest_check;
	size_t bytes_used;  /* files: all of them; ZK_SNAP_WIRE: up to the signature's end */
	char warning[256];  /* "" or what was odd but not fatal (digest mismatch, added nodes) */
};

/* Loads a snapshot p[0..n) (borrowed for the call) into db, which the caller has set up with
 * zk_db_init (its tickTime is kept). The snapshot's nodes replace the built-in ones (a snapshot
 * holds /, /zookeeper, /zookeeper/quota, /zookeeper/config itself; any of the last three that is
 * missing is added as a fresh database has it, with a warning); sessions replace the session
 * table, each touched at now 0 (the caller re-touches them when it starts serving, as ZooKeeper
 * gives restored sessions a fresh timeout). db->last_zxid = zxid, the zxid from the file name
 * (or the SNAP packet's); zxid < 0 means unknown: the digest block's zxid is used if there is
 * one, else 0. Checks everything (hostile input never crashes): magic, lengths, counts, paths
 * (zk_path_valid; the root first, each parent before its children, no duplicates, no child under
 * an ephemeral), ACL ids (unknown id = error; ACL lists no node uses are dropped, as
 * purgeUnused does), both seals, that nothing follows the last seal; then compares the digest
 * (info->digest_check). The event callback of db->tree is kept; no events are emitted.
 * Returns 0, or (db unchanged, reason in err) ZK_ESHORT (the bytes end early: for the wire,
 * "need more"), ZK_ERANGE (a length or count out of bounds), ZK_EINVAL (bad magic, checksum,
 * path, ACL id, structure), ZK_ENOMEM. info may be NULL. */
int zk_snap_load(struct zk_db *db, const uint8_t *p, size_t n, int64_t zxid, unsigned flags,
                 struct zk_snap_info *info, char *err, size_t err_len);

/* During replay, after applying the txn with this zxid: when a deferred digest is due, compares
 * it with the tree's and returns MATCH or MISMATCH (and stops deferring); otherwise returns
 * NONE. */
enum zk_snap_digest_check zk_snap_digest_at(struct zk_snap_info *info, int64_t zxid, uint64_t tree_digest);

/* java.util.zip.Adler32, resumable: start with 1 (the seals' checksum; crc32.h's zk_adler32
 * is the one-shot form). */
uint32_t zk_snap_adler32_update(uint32_t adler, const void *p, size_t n);

/* "snapshot.<zxid as lower-case hex, no leading zeros>" (Long.toHexString, zxid >= 0). Returns
 * the length or ZK_ENOSPC. */
int zk_snap_name_format(char *out, size_t out_len, int64_t zxid);
/* Parses what zk_snap_name_format produces: 0. A compressed snapshot ("snapshot.<hex>.gz" or
 * ".snappy", zookeeper.snapshot.compression.method) sets *zxid and returns 1: we cannot read
 * it. Anything else: ZK_EINVAL. */
int zk_snap_name_parse(const char *name, int64_t *zxid);
/* Util.isValidSnapshot's quick check of an uncompressed snapshot: file length and its last 5
 * bytes (tail holds min(5, file_bytes) of them). */
bool zk_snap_tail_ok(const uint8_t *tail, uint64_t file_bytes);

/* PurgeTxnLog's rule (protocol.md 7.6). snaps: zxids of the valid snapshots, logs: start zxids
 * of the log files, both sorted ascending. Keeps the newest `retain` snapshots (at least 3); every snapshot
 * with a zxid below *snap_cut and every log with a start zxid below *log_cut is to be deleted.
 * The log cut keeps the newest log starting at or before the oldest kept snapshot (it holds the
 * txns after it). Both cuts are INT64_MIN (delete nothing) when there is no snapshot. */
void zk_snap_purge_cuts(const int64_t *snaps, size_t n_snaps, const int64_t *logs, size_t n_logs, int retain,
                        int64_t *snap_cut, int64_t *log_cut);

#endif
