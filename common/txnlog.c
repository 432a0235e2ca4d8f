/* Txn log format, pure: see txnlog.h for the byte grammar and where ZooKeeper's rules come from. */
#include "txnlog.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc32.h"
#include "errors.h"
#include "txn.h"

_Static_assert(ZK_TXNLOG_HEADER_BYTES == 4 + 4 + 8, "FileHeader is int, int, long");
_Static_assert(ZK_TXNLOG_ENTRY_OVERHEAD == 8 + 4 + 1, "entry is long, int, txn, byte");

#define ZXID_OFFSET 12 /* TxnHeader: long clientId, int cxid, long zxid, ... */

void zk_txnlog_header_write(struct zk_wbuf *w, int64_t dbid)
{
	zk_jw_int(w, ZK_TXNLOG_MAGIC);
	zk_jw_int(w, ZK_TXNLOG_VERSION);
	zk_jw_long(w, dbid);
}

void zk_txnlog_entry_write(struct zk_wbuf *w, const uint8_t *txn, size_t len)
{
	zk_jw_long(w, (int64_t)zk_adler32(txn, len));
	zk_jw_int(w, (int32_t)len);
	zk_jw_raw(w, txn, len);
	zk_jw_byte(w, ZK_TXNLOG_END_BYTE);
}

int zk_txnlog_txn_zxid(const uint8_t *txn, size_t len, int64_t *zxid)
{
	if (len < ZK_TXN_HEADER_BYTES)
		return ZK_ESHORT;
	*zxid = (int64_t)zk_get_be64(txn + ZXID_OFFSET);
	return 0;
}

const char *zk_txnlog_reason_str(enum zk_txnlog_reason r)
{
	switch (r) {
	case ZK_TXNLOG_OK: return "ok";
	case ZK_TXNLOG_EOF: return "end of file";
	case ZK_TXNLOG_EOF_IN_ENTRY: return "file ends inside an entry (torn write)";
	case ZK_TXNLOG_PADDING: return "zero padding";
	case ZK_TXNLOG_NO_END_BYTE: return "entry not followed by 0x42 (torn write)";
	case ZK_TXNLOG_BAD_CHECKSUM: return "CRC check failed";
	case ZK_TXNLOG_BAD_LENGTH: return "unreasonable entry length";
	case ZK_TXNLOG_SHORT_TXN: return "txn shorter than its header";
	}
	return "?";
}

int zk_txnlog_reader_init(struct zk_txnlog_reader *r, const uint8_t *p, size_t len, size_t txn_bytes_max)
{
	memset(r, 0, sizeof(*r));
	r->p = p;
	r->len = len;
	r->txn_bytes_max = txn_bytes_max ? txn_bytes_max : ZK_TXNLOG_TXN_BYTES_MAX_DEFAULT;
	if (len < ZK_TXNLOG_HEADER_BYTES) {
		r->done = true;
		r->reason = ZK_TXNLOG_EOF_IN_ENTRY;
		return ZK_ESHORT;
	}
	r->version = (int32_t)zk_get_be32(p + 4);
	r->dbid = (int64_t)zk_get_be64(p + 8);
	r->valid_end = ZK_TXNLOG_HEADER_BYTES;
	if (zk_get_be32(p) != ZK_TXNLOG_MAGIC) {
		r->done = true;
		r->valid_end = 0;
		return ZK_EINVAL;
	}
	return 0;
}

static int parse_end(enum zk_txnlog_reason *why, enum zk_txnlog_reason r)
{
	*why = r;
	return r >= ZK_TXNLOG_BAD_CHECKSUM ? ZK_TXNLOG_CORRUPT : ZK_TXNLOG_END;
}

int zk_txnlog_entry_parse(const uint8_t *p, size_t avail, size_t txn_bytes_max, struct zk_txnlog_entry *e,
                          enum zk_txnlog_reason *why, size_t *need)
{
	*need = 12;
	if (txn_bytes_max == 0)
		txn_bytes_max = ZK_TXNLOG_TXN_BYTES_MAX_DEFAULT;
	if (avail == 0)
		return parse_end(why, ZK_TXNLOG_EOF);
	if (avail < 12)
		return parse_end(why, ZK_TXNLOG_EOF_IN_ENTRY);
	uint64_t checksum = zk_get_be64(p);
	int32_t n = (int32_t)zk_get_be32(p + 8);
	/* Java's order: the length is judged before the bytes are read. */
	if (n == 0)
		return parse_end(why, ZK_TXNLOG_PADDING);
	if (n < 0 || (size_t)n > txn_bytes_max)
		return parse_end(why, ZK_TXNLOG_BAD_LENGTH);
	size_t len = (size_t)n;
	*need = ZK_TXNLOG_ENTRY_OVERHEAD + len;
	if (avail < *need)
		return parse_end(why, ZK_TXNLOG_EOF_IN_ENTRY);
	if (p[12 + len] != ZK_TXNLOG_END_BYTE)
		return parse_end(why, ZK_TXNLOG_NO_END_BYTE);
	if (checksum != (uint64_t)zk_adler32(p + 12, len))
		return parse_end(why, ZK_TXNLOG_BAD_CHECKSUM);
	if (zk_txnlog_txn_zxid(p + 12, len, &e->zxid))
		return parse_end(why, ZK_TXNLOG_SHORT_TXN);
	e->txn = p + 12;
	e->len = len;
	e->offset = 0;
	e->end = *need;
	*why = ZK_TXNLOG_OK;
	return ZK_TXNLOG_ENTRY;
}

int zk_txnlog_next(struct zk_txnlog_reader *r, struct zk_txnlog_entry *e)
{
	if (r->done)
		return r->reason >= ZK_TXNLOG_BAD_CHECKSUM ? ZK_TXNLOG_CORRUPT : ZK_TXNLOG_END;
	size_t pos = r->valid_end, need;
	int st = zk_txnlog_entry_parse(r->p + pos, r->len - pos, r->txn_bytes_max, e, &r->reason, &need);
	if (st != ZK_TXNLOG_ENTRY) {
		r->done = true;
		return st;
	}
	e->offset = pos;
	e->end += pos;
	r->valid_end = e->end;
	return st;
}

bool zk_txnlog_entry_follows(const struct zk_txnlog_reader *r)
{
	if (r->reason != ZK_TXNLOG_BAD_CHECKSUM && r->reason != ZK_TXNLOG_SHORT_TXN)
		return false;
	size_t len = zk_get_be32(r->p + r->valid_end + 8); /* the bad entry is complete */
	struct zk_txnlog_reader next = *r;
	next.done = false;
	next.reason = ZK_TXNLOG_OK;
	next.valid_end = r->valid_end + ZK_TXNLOG_ENTRY_OVERHEAD + len;
	if (next.valid_end > next.len)
		return false;
	struct zk_txnlog_entry e;
	return zk_txnlog_next(&next, &e) == ZK_TXNLOG_ENTRY;
}

int zk_txnlog_name_format(char *out, size_t out_len, int64_t zxid)
{
	if (zxid < 0)
		return ZK_EINVAL;
	int n = snprintf(out, out_len, ZK_TXNLOG_PREFIX "%" PRIx64, (uint64_t)zxid);
	if (n < 0 || (size_t)n >= out_len)
		return ZK_ENOSPC;
	return n;
}

int zk_txnlog_name_parse(const char *name, int64_t *zxid)
{
	size_t plen = strlen(ZK_TXNLOG_PREFIX);
	if (strncmp(name, ZK_TXNLOG_PREFIX, plen) != 0)
		return ZK_EINVAL;
	const char *h = name + plen;
	size_t n = strlen(h);
	if (n == 0 || n > 16 || (h[0] == '0' && n > 1))
		return ZK_EINVAL;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		char c = h[i];
		unsigned d;
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else
			return ZK_EINVAL;
		v = v << 4 | d;
	}
	if (v > (uint64_t)INT64_MAX)
		return ZK_EINVAL; /* Long.parseLong(s, 16) rejects it too */
	*zxid = (int64_t)v;
	return 0;
}

static int cmp_zxid(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

void zk_txnlog_sort(int64_t *zxids, size_t n)
{
	if (n > 1)
		qsort(zxids, n, sizeof(*zxids), cmp_zxid);
}

size_t zk_txnlog_files_from(const int64_t *zxids, size_t n, int64_t from_zxid)
{
	size_t first = 0;
	for (size_t i = 0; i < n && zxids[i] <= from_zxid; i++)
		first = i;
	return first;
}

int64_t zk_txnlog_padded_size(int64_t pos, int64_t size, int64_t prealloc_bytes)
{
	if (prealloc_bytes > 0 && pos + ZK_TXNLOG_PAD_SLACK_BYTES >= size) {
		if (pos > size) {
			size = pos + prealloc_bytes;
			size -= size % prealloc_bytes;
		} else {
			size += prealloc_bytes;
		}
	}
	return size;
}
