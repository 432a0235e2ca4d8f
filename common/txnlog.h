/* The transaction log file format of ZooKeeper 3.8 (persistence/FileTxnLog.java), without I/O:
 * encoding, a reader over bytes in memory, file names, which files a replay needs, and the
 * preallocation arithmetic (FilePadding.java). The shell (io_disk.c) does the files.
 *
 *   file    = FileHeader entry* zero-padding
 *   FileHeader {int magic = 0x5A4B4C47 "ZKLG"; int version = 2; long dbid = 0}     16 bytes
 *   entry   = long checksum   Adler-32 of the txn bytes only (upper 32 bits zero)
 *             int  len        txn byte count, > 0
 *             byte txn[len]   TxnHeader (32 bytes, zxid at offset 12) + record [+ TxnDigest]
 *             byte 0x42       end of record ('B')
 *
 * The end of a file's valid data (FileTxnIterator.next, Util.readTxnBytes): the file ends inside
 * an entry, len == 0 (the preallocated zeros), or the byte after the txn is not 0x42 (a torn
 * write). A complete entry whose checksum does not match, or a negative or oversized len, is
 * corruption: ZooKeeper stops loading with "CRC check failed" / "Unreasonable length". */
#ifndef ZK_TXNLOG_H
#define ZK_TXNLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jute.h"

#define ZK_TXNLOG_MAGIC 0x5A4B4C47 /* "ZKLG" */
#define ZK_TXNLOG_VERSION 2
#define ZK_TXNLOG_HEADER_BYTES 16
#define ZK_TXNLOG_ENTRY_OVERHEAD 13 /* checksum 8 + len 4 + end byte 1 */
#define ZK_TXNLOG_END_BYTE 0x42
/* ZooKeeper's cap on one txn read back: jute.maxbuffer + zookeeper.jute.maxbuffer.extrasize. */
#define ZK_TXNLOG_TXN_BYTES_MAX_DEFAULT (ZK_JUTE_MAXBUFFER_DEFAULT + 1024)
#define ZK_TXNLOG_PREALLOC_BYTES_DEFAULT (65536 * 1024) /* zookeeper.preAllocSize, in KiB */
#define ZK_TXNLOG_PAD_SLACK_BYTES 4096 /* extend when the position is this close to the size */
#define ZK_TXNLOG_PREFIX "log."
#define ZK_TXNLOG_NAME_MAX 24 /* "log." + 16 hex digits + NUL, rounded up */

/* Appends the 16-byte FileHeader. */
void zk_txnlog_header_write(struct zk_wbuf *w, int64_t dbid);
/* Appends one entry around txn[0..len) (len > 0, the caller's invariant). */
void zk_txnlog_entry_write(struct zk_wbuf *w, const uint8_t *txn, size_t len);
/* The zxid in a serialized txn (TxnHeader.zxid): 0, or ZK_ESHORT when len < 32. */
int zk_txnlog_txn_zxid(const uint8_t *txn, size_t len, int64_t *zxid);

enum zk_txnlog_status {
	ZK_TXNLOG_ENTRY = 1,    /* an entry: see struct zk_txnlog_entry */
	ZK_TXNLOG_END = 0,      /* end of valid data; reason tells which kind */
	ZK_TXNLOG_CORRUPT = -1, /* corruption at r->valid_end; reason tells which */
};

enum zk_txnlog_reason {
	ZK_TXNLOG_OK = 0,
	ZK_TXNLOG_EOF,          /* END: the bytes ended exactly at an entry boundary */
	ZK_TXNLOG_EOF_IN_ENTRY, /* END: the bytes ended inside an entry (torn write) */
	ZK_TXNLOG_PADDING,      /* END: len == 0, the preallocated zeros */
	ZK_TXNLOG_NO_END_BYTE,  /* END: byte after the txn is not 0x42 (torn write) */
	ZK_TXNLOG_BAD_CHECKSUM, /* CORRUPT: complete entry, Adler-32 mismatch */
	ZK_TXNLOG_BAD_LENGTH,   /* CORRUPT: len < 0 or > txn_bytes_max */
	ZK_TXNLOG_SHORT_TXN,    /* CORRUPT: checksum fine but shorter than a TxnHeader */
};

const char *zk_txnlog_reason_str(enum zk_txnlog_reason r);

struct zk_txnlog_entry {
	const uint8_t *txn; /* borrowed from the reader's bytes */
	size_t len;
	int64_t zxid;     /* TxnHeader.zxid */
	size_t offset;    /* where the entry starts (its checksum) */
	size_t end;       /* just past its 0x42 */
};

struct zk_txnlog_reader {
	const uint8_t *p;
	size_t len;
	size_t txn_bytes_max;
	size_t valid_end; /* end of the last whole valid entry (or of the header): truncate here */
	enum zk_txnlog_reason reason; /* why the last zk_txnlog_next returned END or CORRUPT */
	int32_t version;  /* from the FileHeader */
	int64_t dbid;
	bool done;        /* END or CORRUPT was returned: later calls repeat it */
};

/* Checks the FileHeader of p[0..len) (borrowed for the reader's life). Returns 0, ZK_ESHORT
 * when len < 16, or ZK_EINVAL for a wrong magic (ZooKeeper checks only the magic).
 * txn_bytes_max 0 means ZK_TXNLOG_TXN_BYTES_MAX_DEFAULT. */
int zk_txnlog_reader_init(struct zk_txnlog_reader *r, const uint8_t *p, size_t len, size_t txn_bytes_max);
/* The next entry: returns an enum zk_txnlog_status. */
int zk_txnlog_next(struct zk_txnlog_reader *r, struct zk_txnlog_entry *e);

/* One entry at the start of p[0..avail): the primitive under the reader, for readers over
 * chunks of a file. Returns an enum zk_txnlog_status; e->offset is 0 and e->end the entry's
 * size. On END or CORRUPT, *why says which; for ZK_TXNLOG_EOF_IN_ENTRY *need is the number of
 * bytes the entry needs (12 while its length is missing): load that many and call again, and
 * only when the file has fewer is the entry torn. avail 0 gives END with ZK_TXNLOG_EOF.
 * txn_bytes_max 0 means ZK_TXNLOG_TXN_BYTES_MAX_DEFAULT. */
int zk_txnlog_entry_parse(const uint8_t *p, size_t avail, size_t txn_bytes_max, struct zk_txnlog_entry *e,
                          enum zk_txnlog_reason *why, size_t *need);

/* After CORRUPT with a known length (BAD_CHECKSUM, SHORT_TXN): whether a whole valid entry
 * follows the bad one. Then the damage is inside the file, not a torn tail, and cutting the file
 * there would drop txns that were durable. */
bool zk_txnlog_entry_follows(const struct zk_txnlog_reader *r);

/* "log.<zxid as lower-case hex, no leading zeros>" (Java Long.toHexString; zxid >= 0).
 * Returns the length, or ZK_ENOSPC when out_len is too small. */
int zk_txnlog_name_format(char *out, size_t out_len, int64_t zxid);
/* Parses a name the format above produces (exactly: anything else, "log.01", "log.1C",
 * "log.1.bak", is not a log file and is ignored). Returns 0 or ZK_EINVAL. */
int zk_txnlog_name_parse(const char *name, int64_t *zxid);
/* Sorts start zxids ascending. */
void zk_txnlog_sort(int64_t *zxids, size_t n);
/* Given log start zxids sorted ascending, the index of the first file a replay of the txns
 * after from_zxid (the snapshot's zxid) must read: the newest file starting at or before
 * from_zxid, or 0 when none does (FileTxnLog.getLogFiles, FileTxnIterator.init). The files
 * from that index to n must all be read. */
size_t zk_txnlog_files_from(const int64_t *zxids, size_t n, int64_t from_zxid);

/* FilePadding.calculateFileSizeWithPadding: the file size to extend to before appending at
 * position pos, given the current size (prealloc_bytes <= 0 disables it). */
int64_t zk_txnlog_padded_size(int64_t pos, int64_t size, int64_t prealloc_bytes);

#endif
