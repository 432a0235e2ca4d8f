/* Txn log format (common/txnlog.c): entries of every txn type round trip and apply, a log cut
 * at any byte reads back a valid prefix, a changed byte is caught, padding ends the log, file
 * names and the choice of files to replay. Expected bytes from a live ZooKeeper 3.8.0 log.1
 * (protocol.md 7.2). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "errors.h"
#include "jute.h"
#include "proto.h"
#include "txn.h"
#include "txnlog.h"

#define SID 0x1000057f1ab0000LL
#define T0 1700000000000LL

static void header(struct zk_wbuf *w, int32_t type, int64_t zxid)
{
	struct zk_txn_header h = {SID, (int32_t)zxid, zxid, T0 + zxid, type};
	zk_wbuf_reset(w);
	zk_txn_header_write(w, &h);
}

/* vector<ACL> [{31, world:anyone}] as prep copies it from the request. */
static void open_acl(struct zk_wbuf *acl)
{
	zk_wbuf_init(acl);
	zk_jw_int(acl, 1);
	zk_jw_int(acl, 31);
	zk_jw_cstr(acl, "world");
	zk_jw_cstr(acl, "anyone");
}

static struct zk_bytes bytes(const char *s) { return (struct zk_bytes){(const uint8_t *)s, (int32_t)strlen(s)}; }

/* One txn of the kind `i` (0..N_KINDS-1) with zxid i+1, applicable in order to an empty tree. */
#define N_KINDS 14
static void make_txn(struct zk_wbuf *w, int i)
{
	struct zk_wbuf acl;
	open_acl(&acl);
	int64_t z = i + 1;
	switch (i) {
	case 0: header(w, ZK_OP_CREATESESSION, z); zk_jw_int(w, 30000); break;
	case 1: header(w, ZK_OP_CREATE, z);
		zk_txn_write_create(w, ZK_OP_CREATE, "/a", 2, bytes("hello"), acl.p, acl.len, false, 1, 0);
		break;
	case 2: header(w, ZK_OP_CREATE2, z);
		zk_txn_write_create(w, ZK_OP_CREATE2, "/a/e", 4, bytes(""), acl.p, acl.len, true, 1, 0);
		break;
	case 3: header(w, ZK_OP_CREATECONTAINER, z);
		zk_txn_write_create(w, ZK_OP_CREATECONTAINER, "/c", 2, bytes("x"), acl.p, acl.len, false, 2, 0);
		break;
	case 4: header(w, ZK_OP_CREATETTL, z);
		zk_txn_write_create(w, ZK_OP_CREATETTL, "/t", 2, bytes("y"), acl.p, acl.len, false, 3, 5000);
		break;
	case 5: header(w, ZK_OP_SETDATA, z); zk_txn_write_set_data(w, "/a", 2, bytes("world"), 1); break;
	case 6: header(w, ZK_OP_SETACL, z); zk_txn_write_set_acl(w, "/a", 2, acl.p, acl.len, 1); break;
	case 7: header(w, ZK_OP_DELETE, z); zk_txn_write_path(w, "/t", 2); break;
	case 8: header(w, ZK_OP_ERROR, z); zk_txn_write_error(w, ZNONODE); break;
	case 9: { /* multi: create /m, setData /m, check /m */
		header(w, ZK_OP_MULTI, z);
		zk_jw_int(w, 3);
		zk_jw_int(w, ZK_OP_CREATE);
		size_t at = zk_jw_frame_begin(w);
		zk_txn_write_create(w, ZK_OP_CREATE, "/m", 2, bytes("1"), acl.p, acl.len, false, 4, 0);
		zk_jw_frame_end(w, at);
		zk_jw_int(w, ZK_OP_SETDATA);
		at = zk_jw_frame_begin(w);
		zk_txn_write_set_data(w, "/m", 2, bytes("2"), 1);
		zk_jw_frame_end(w, at);
		zk_jw_int(w, ZK_OP_CHECK);
		at = zk_jw_frame_begin(w);
		zk_txn_write_check(w, "/m", 2, 1);
		zk_jw_frame_end(w, at);
		break;
	}
	case 10: { /* failed multi as ZooKeeper logs it: delete ok, then error, then error(-2) */
		header(w, ZK_OP_MULTI, z);
		zk_jw_int(w, 3);
		zk_jw_int(w, ZK_OP_DELETE);
		size_t at = zk_jw_frame_begin(w);
		zk_txn_write_path(w, "/m", 2);
		zk_jw_frame_end(w, at);
		zk_jw_int(w, ZK_OP_ERROR);
		at = zk_jw_frame_begin(w);
		zk_txn_write_error(w, ZNONODE);
		zk_jw_frame_end(w, at);
		zk_jw_int(w, ZK_OP_ERROR);
		at = zk_jw_frame_begin(w);
		zk_txn_write_error(w, ZRUNTIMEINCONSISTENCY);
		zk_jw_frame_end(w, at);
		break;
	}
	case 11: header(w, ZK_OP_DELETECONTAINER, z); zk_txn_write_path(w, "/c", 2); break;
	case 12: /* digest after the record, as 3.6+ writes it */
		header(w, ZK_OP_SETDATA, z);
		zk_txn_write_set_data(w, "/m", 2, bytes("3"), 2);
		zk_jw_int(w, 2);
		zk_jw_long(w, 0x51c6d660);
		break;
	case 13: header(w, ZK_OP_CLOSESESSION, z); zk_jw_int(w, 1); zk_jw_cstr(w, "/a/e"); break;
	}
	zk_wbuf_fini(&acl);
	assert_int_equal(w->err, 0);
}

/* A whole log of every kind; ends[i] = offset just past entry i. */
static void make_log(struct zk_wbuf *log, size_t *ends)
{
	struct zk_wbuf t;
	zk_wbuf_init(&t);
	zk_wbuf_init(log);
	zk_txnlog_header_write(log, 0);
	for (int i = 0; i < N_KINDS; i++) {
		make_txn(&t, i);
		zk_txnlog_entry_write(log, t.p, t.len);
		ends[i] = log->len;
	}
	zk_wbuf_fini(&t);
	assert_int_equal(log->err, 0);
}

static void test_live_entry_bytes(void **state)
{
	(void)state;
	/* The first entry of a live ZooKeeper 3.8.0 log.1 (protocol.md 7.2). */
	static const uint8_t want[] = {
		0x5a, 0x4b, 0x4c, 0x47, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0xdd, 0xd8, 0x0a, 0xf0, 0, 0, 0, 0x30,
		0x01, 0x00, 0x00, 0x57, 0xf1, 0xab, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
		0x00, 0x00, 0x01, 0xa2, 0x06, 0xd6, 0x6a, 0x2a, 0xff, 0xff, 0xff, 0xf6,
		0x00, 0x00, 0x75, 0x30, 0, 0, 0, 2, 0, 0, 0, 0, 0x51, 0xc6, 0xd6, 0x60, 0x42};
	struct zk_wbuf t, log;
	zk_wbuf_init(&t);
	zk_wbuf_init(&log);
	struct zk_txn_header h = {SID, 0, 1, 0x1a206d66a2aLL, ZK_OP_CREATESESSION};
	zk_txn_header_write(&t, &h);
	zk_jw_int(&t, 30000);
	zk_jw_int(&t, 2);
	zk_jw_long(&t, 0x51c6d660);
	zk_txnlog_header_write(&log, 0);
	zk_txnlog_entry_write(&log, t.p, t.len);
	assert_int_equal(log.len, sizeof(want));
	assert_memory_equal(log.p, want, sizeof(want));
	zk_wbuf_fini(&t);
	zk_wbuf_fini(&log);
}

static void test_round_trip_every_type(void **state)
{
	(void)state;
	struct zk_wbuf log, t;
	size_t ends[N_KINDS];
	make_log(&log, ends);
	/* Preallocated zeros after the entries. */
	size_t data_end = log.len;
	zk_wbuf_reserve(&log, 8192);
	memset(log.p + log.len, 0, 8192);
	log.len += 8192;

	struct zk_db db;
	assert_int_equal(zk_db_init(&db, 2000, 1, 0), 0);
	struct zk_txn_result res;
	memset(&res, 0, sizeof(res));
	zk_wbuf_init(&t);
	struct zk_txnlog_reader r;
	assert_int_equal(zk_txnlog_reader_init(&r, log.p, log.len, 0), 0);
	assert_int_equal(r.version, 2);
	assert_int_equal(r.dbid, 0);
	for (int i = 0; i < N_KINDS; i++) {
		struct zk_txnlog_entry e;
		assert_int_equal(zk_txnlog_next(&r, &e), ZK_TXNLOG_ENTRY);
		make_txn(&t, i);
		assert_int_equal(e.len, t.len);
		assert_memory_equal(e.txn, t.p, t.len);
		assert_int_equal(e.zxid, i + 1);
		assert_int_equal(e.offset, i ? ends[i - 1] : ZK_TXNLOG_HEADER_BYTES);
		assert_int_equal(e.end, ends[i]);
		/* The bytes are a txn the core understands. */
		assert_int_equal(zk_txn_apply(&db, e.txn, e.len, 0, &res), 0);
		assert_int_equal(res.hdr.zxid, i + 1);
	}
	struct zk_txnlog_entry e;
	assert_int_equal(zk_txnlog_next(&r, &e), ZK_TXNLOG_END);
	assert_int_equal(r.reason, ZK_TXNLOG_PADDING);
	assert_int_equal(r.valid_end, data_end);
	assert_int_equal(zk_txnlog_next(&r, &e), ZK_TXNLOG_END); /* stays ended */
	/* The tree is what the txns say: the failed multi left /m; /c and /t were deleted; the
	 * ephemeral /a/e went with its session. */
	assert_non_null(zk_dtree_get(&db.tree, "/a", 2));
	assert_non_null(zk_dtree_get(&db.tree, "/m", 2));
	assert_null(zk_dtree_get(&db.tree, "/t", 2));
	assert_null(zk_dtree_get(&db.tree, "/c", 2));
	assert_null(zk_dtree_get(&db.tree, "/a/e", 4));
	zk_txn_result_fini(&res);
	zk_db_fini(&db);
	zk_wbuf_fini(&t);
	zk_wbuf_fini(&log);
}

/* Reads to the end; returns the status and checks entries come in order. */
static int read_all(const uint8_t *p, size_t len, size_t *n_entries, struct zk_txnlog_reader *r)
{
	assert_int_equal(zk_txnlog_reader_init(r, p, len, 0), 0);
	struct zk_txnlog_entry e;
	int st;
	*n_entries = 0;
	while ((st = zk_txnlog_next(r, &e)) == ZK_TXNLOG_ENTRY) {
		assert_int_equal(e.zxid, (int64_t)*n_entries + 1);
		(*n_entries)++;
	}
	return st;
}

static void test_cut_at_every_offset(void **state)
{
	(void)state;
	struct zk_wbuf log;
	size_t ends[N_KINDS];
	make_log(&log, ends);
	for (size_t cut = ZK_TXNLOG_HEADER_BYTES; cut <= log.len; cut++) {
		size_t whole = 0, end = ZK_TXNLOG_HEADER_BYTES;
		while (whole < (size_t)N_KINDS && ends[whole] <= cut)
			end = ends[whole++];
		struct zk_txnlog_reader r;
		size_t n;
		assert_int_equal(read_all(log.p, cut, &n, &r), ZK_TXNLOG_END);
		assert_int_equal(n, whole);
		assert_int_equal(r.valid_end, end);
		assert_int_equal(r.reason, cut == end ? ZK_TXNLOG_EOF : ZK_TXNLOG_EOF_IN_ENTRY);
		/* The same cut followed by zeros (a torn write into preallocated space). */
		uint8_t *z = test_calloc(1, cut + 64);
		memcpy(z, log.p, cut);
		int st = read_all(z, cut + 64, &n, &r);
		assert_int_equal(n, whole);
		assert_int_equal(r.valid_end, end);
		assert_true(st == ZK_TXNLOG_END || (st == ZK_TXNLOG_CORRUPT && r.reason == ZK_TXNLOG_BAD_CHECKSUM));
		assert_false(zk_txnlog_entry_follows(&r));
		test_free(z);
	}
	/* Shorter than a header. */
	for (size_t cut = 0; cut < ZK_TXNLOG_HEADER_BYTES; cut++) {
		struct zk_txnlog_reader r;
		assert_int_equal(zk_txnlog_reader_init(&r, log.p, cut, 0), ZK_ESHORT);
		struct zk_txnlog_entry e;
		assert_int_equal(zk_txnlog_next(&r, &e), ZK_TXNLOG_END);
	}
	zk_wbuf_fini(&log);
}

static void test_changed_byte_detected(void **state)
{
	(void)state;
	struct zk_wbuf log;
	size_t ends[N_KINDS];
	make_log(&log, ends);
	for (int i = 0; i < N_KINDS; i++) {
		size_t start = i ? ends[i - 1] : ZK_TXNLOG_HEADER_BYTES;
		/* Every byte of the txn and of the checksum, each with a few different changes. */
		for (size_t at = start; at < ends[i] - 1; at++) {
			if (at >= start + 8 && at < start + 12)
				continue; /* the length: below */
			for (unsigned x = 1; x < 256; x <<= 1) {
				log.p[at] ^= (uint8_t)x;
				struct zk_txnlog_reader r;
				size_t n;
				assert_int_equal(read_all(log.p, log.len, &n, &r), ZK_TXNLOG_CORRUPT);
				assert_int_equal(r.reason, ZK_TXNLOG_BAD_CHECKSUM);
				assert_int_equal(n, (size_t)i);
				assert_int_equal(r.valid_end, start);
				assert_int_equal(zk_txnlog_entry_follows(&r), i + 1 < N_KINDS);
				log.p[at] ^= (uint8_t)x;
			}
		}
		/* The length: never read as a good entry. */
		for (size_t at = start + 8; at < start + 12; at++) {
			for (unsigned x = 1; x < 256; x <<= 1) {
				log.p[at] ^= (uint8_t)x;
				struct zk_txnlog_reader r;
				size_t n;
				assert_int_not_equal(read_all(log.p, log.len, &n, &r), ZK_TXNLOG_ENTRY);
				assert_int_equal(n, (size_t)i);
				assert_int_equal(r.valid_end, start);
				log.p[at] ^= (uint8_t)x;
			}
		}
		/* The end byte: a torn write. */
		log.p[ends[i] - 1] = 0;
		struct zk_txnlog_reader r;
		size_t n;
		assert_int_equal(read_all(log.p, log.len, &n, &r), ZK_TXNLOG_END);
		assert_int_equal(r.reason, ZK_TXNLOG_NO_END_BYTE);
		assert_int_equal(n, (size_t)i);
		log.p[ends[i] - 1] = ZK_TXNLOG_END_BYTE;
	}
	size_t n;
	struct zk_txnlog_reader r;
	assert_int_equal(read_all(log.p, log.len, &n, &r), ZK_TXNLOG_END);
	assert_int_equal(n, (size_t)N_KINDS);
	zk_wbuf_fini(&log);
}

static void test_padding_and_bad_lengths(void **state)
{
	(void)state;
	struct zk_wbuf log, t;
	zk_wbuf_init(&log);
	zk_wbuf_init(&t);
	zk_txnlog_header_write(&log, 0);
	make_txn(&t, 0);
	zk_txnlog_entry_write(&log, t.p, t.len);
	size_t end = log.len;
	struct zk_txnlog_reader r;
	size_t n;

	/* len == 0 ends the log whatever the checksum field holds. */
	zk_jw_long(&log, 0x1234);
	zk_jw_int(&log, 0);
	zk_jw_raw(&log, "garbage", 7);
	assert_int_equal(read_all(log.p, log.len, &n, &r), ZK_TXNLOG_END);
	assert_int_equal(r.reason, ZK_TXNLOG_PADDING);
	assert_int_equal(n, 1);
	assert_int_equal(r.valid_end, end);

	static const int32_t bad[] = {-1, -2, INT32_MIN, ZK_TXNLOG_TXN_BYTES_MAX_DEFAULT + 1, INT32_MAX};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		log.len = end;
		zk_jw_long(&log, 0);
		zk_jw_int(&log, bad[i]);
		zk_jw_raw(&log, "xx", 2);
		assert_int_equal(read_all(log.p, log.len, &n, &r), ZK_TXNLOG_CORRUPT);
		assert_int_equal(r.reason, ZK_TXNLOG_BAD_LENGTH);
		assert_int_equal(r.valid_end, end);
		assert_false(zk_txnlog_entry_follows(&r));
	}
	/* A larger cap lets a long length through, to end as a torn entry. */
	assert_int_equal(zk_txnlog_reader_init(&r, log.p, log.len, (size_t)INT32_MAX), 0);
	struct zk_txnlog_entry e;
	assert_int_equal(zk_txnlog_next(&r, &e), ZK_TXNLOG_ENTRY);
	assert_int_equal(zk_txnlog_next(&r, &e), ZK_TXNLOG_END);
	assert_int_equal(r.reason, ZK_TXNLOG_EOF_IN_ENTRY);

	/* A checksummed txn too short for a TxnHeader. */
	log.len = end;
	zk_txnlog_entry_write(&log, (const uint8_t *)"short", 5);
	assert_int_equal(read_all(log.p, log.len, &n, &r), ZK_TXNLOG_CORRUPT);
	assert_int_equal(r.reason, ZK_TXNLOG_SHORT_TXN);
	assert_int_equal(r.valid_end, end);

	/* Wrong magic. */
	log.p[0] = 'X';
	assert_int_equal(zk_txnlog_reader_init(&r, log.p, log.len, 0), ZK_EINVAL);
	assert_int_equal(zk_txnlog_next(&r, &e), ZK_TXNLOG_END);
	int64_t z;
	assert_int_equal(zk_txnlog_txn_zxid(t.p, 31, &z), ZK_ESHORT);
	assert_int_equal(zk_txnlog_txn_zxid(t.p, 32, &z), 0);
	assert_int_equal(z, 1);
	for (int i = ZK_TXNLOG_OK; i <= ZK_TXNLOG_SHORT_TXN; i++)
		assert_non_null(zk_txnlog_reason_str((enum zk_txnlog_reason)i));
	zk_wbuf_fini(&t);
	zk_wbuf_fini(&log);
}

/* The primitive for readers over chunks: how many bytes an entry needs, whatever arrived. */
static void test_entry_parse_chunks(void **state)
{
	(void)state;
	struct zk_wbuf log, t;
	zk_wbuf_init(&log);
	zk_wbuf_init(&t);
	make_txn(&t, 9);
	zk_txnlog_entry_write(&log, t.p, t.len);
	size_t size = ZK_TXNLOG_ENTRY_OVERHEAD + t.len;
	assert_int_equal(log.len, size);
	for (size_t avail = 0; avail <= size; avail++) {
		struct zk_txnlog_entry e;
		enum zk_txnlog_reason why;
		size_t need = 0;
		int st = zk_txnlog_entry_parse(log.p, avail, 0, &e, &why, &need);
		if (avail == size) {
			assert_int_equal(st, ZK_TXNLOG_ENTRY);
			assert_int_equal(e.offset, 0);
			assert_int_equal(e.end, size);
			assert_int_equal(e.zxid, 10);
			assert_ptr_equal(e.txn, log.p + 12);
			continue;
		}
		assert_int_equal(st, ZK_TXNLOG_END);
		assert_int_equal(why, avail ? ZK_TXNLOG_EOF_IN_ENTRY : ZK_TXNLOG_EOF);
		assert_int_equal(need, avail < 12 ? 12 : size);
	}
	zk_wbuf_fini(&t);
	zk_wbuf_fini(&log);
}

static void test_names(void **state)
{
	(void)state;
	char b[ZK_TXNLOG_NAME_MAX];
	static const struct {
		int64_t zxid;
		const char *name;
	} ok[] = {{0, "log.0"}, {1, "log.1"}, {0x1c, "log.1c"}, {0x100000001LL, "log.100000001"},
		  {INT64_MAX, "log.7fffffffffffffff"}, {0xabcdef, "log.abcdef"}};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(zk_txnlog_name_format(b, sizeof(b), ok[i].zxid), (int)strlen(ok[i].name));
		assert_string_equal(b, ok[i].name);
		int64_t z = -1;
		assert_int_equal(zk_txnlog_name_parse(ok[i].name, &z), 0);
		assert_int_equal(z, ok[i].zxid);
	}
	static const char *junk[] = {"log", "log.", "log.01", "log.00", "log.1C", "log.1.bak", "log.xyz",
				     "log.-1", "log.+1", "log. 1", "log.1 ", "snapshot.1", "Log.1", ".log.1",
				     "log.8000000000000000", "log.10000000000000000", "log.0x1", "log.1c.tmp",
				     "currentEpoch", ".", ".."};
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		int64_t z = 42;
		assert_int_equal(zk_txnlog_name_parse(junk[i], &z), ZK_EINVAL);
		assert_int_equal(z, 42);
	}
	assert_int_equal(zk_txnlog_name_format(b, 6, 0x1c), ZK_ENOSPC);
	assert_int_equal(zk_txnlog_name_format(b, 7, 0x1c), 6);
	assert_int_equal(zk_txnlog_name_format(b, sizeof(b), -1), ZK_EINVAL);
}

static void test_sort_and_files_to_replay(void **state)
{
	(void)state;
	int64_t z[] = {0x100000001LL, 1, 0x1c, 0x200000005LL};
	zk_txnlog_sort(z, 4);
	assert_int_equal(z[0], 1);
	assert_int_equal(z[1], 0x1c);
	assert_int_equal(z[2], 0x100000001LL);
	assert_int_equal(z[3], 0x200000005LL);
	assert_int_equal(zk_txnlog_files_from(z, 4, 0), 0);   /* none starts before: all */
	assert_int_equal(zk_txnlog_files_from(z, 4, 1), 0);
	assert_int_equal(zk_txnlog_files_from(z, 4, 0x1b), 0);
	assert_int_equal(zk_txnlog_files_from(z, 4, 0x1c), 1);
	assert_int_equal(zk_txnlog_files_from(z, 4, 0x100000000LL), 1);
	assert_int_equal(zk_txnlog_files_from(z, 4, 0x100000001LL), 2);
	assert_int_equal(zk_txnlog_files_from(z, 4, 0x200000004LL), 2);
	assert_int_equal(zk_txnlog_files_from(z, 4, INT64_MAX), 3);
	assert_int_equal(zk_txnlog_files_from(z, 0, 5), 0);
	assert_int_equal(zk_txnlog_files_from(z, 1, -1), 0);
	zk_txnlog_sort(z, 0);
}

static void test_padded_size(void **state)
{
	(void)state;
	const int64_t m = ZK_TXNLOG_PREALLOC_BYTES_DEFAULT;
	/* Right after the header: 16 + 64 MiB, as a live ZooKeeper's first log file. */
	assert_int_equal(zk_txnlog_padded_size(16, 16, m), 16 + 67108864LL);
	assert_int_equal(zk_txnlog_padded_size(100, 16 + m, m), 16 + m);
	assert_int_equal(zk_txnlog_padded_size(16 + m - 4097, 16 + m, m), 16 + m);
	assert_int_equal(zk_txnlog_padded_size(16 + m - 4096, 16 + m, m), 16 + 2 * m);
	/* Written past the preallocation: next multiple above position. */
	assert_int_equal(zk_txnlog_padded_size(m + 100, m / 2, m), 2 * m);
	assert_int_equal(zk_txnlog_padded_size(16, 16, 0), 16);
	assert_int_equal(zk_txnlog_padded_size(16, 16, -1), 16);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_live_entry_bytes),
		cmocka_unit_test(test_round_trip_every_type),
		cmocka_unit_test(test_cut_at_every_offset),
		cmocka_unit_test(test_changed_byte_detected),
		cmocka_unit_test(test_padding_and_bad_lengths),
		cmocka_unit_test(test_entry_parse_chunks),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_sort_and_files_to_replay),
		cmocka_unit_test(test_padded_size),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
