/* The file side of the quorum shell on a real scratch directory: myid / epoch files
 * (zk_io_quorum_read_long, zk_io_quorum_epoch_write: atomic, no newline), the txn log cut of a
 * TRUNC (zk_disk_truncate: later files deleted, the file holding the zxid cut after its entry,
 * appends continue in a new file) and the whole reload (zk_io_quorum_truncate: snapshots above
 * the cut removed, database reloaded at exactly the cut zxid). The scratch directory is made
 * with mkdtemp under $TMPDIR (else the working directory) and removed afterwards. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "dtree.h"
#include "errors.h"
#include "io_disk.h"
#include "io_quorum.h"
#include "io_snap.h"
#include "jute.h"
#include "proto.h"
#include "server.h"
#include "txn.h"

#define E1 (1LL << 32)
#define E2 (2LL << 32)

struct fixture {
	char dir[4096];
	struct zk_config cfg;
	struct zk_logger log;
};

static void quiet(void *ctx, enum zk_log_level level, const char *line)
{
	(void)ctx;
	if (level <= ZK_LOG_WARN && getenv("ZK_TEST_VERBOSE"))
		fprintf(stderr, "%s\n", line);
}

static int setup(void **state)
{
	static struct fixture f;
	memset(&f, 0, sizeof(f));
	const char *tmp = getenv("TMPDIR");
	snprintf(f.dir, sizeof(f.dir), "%s%szkq-test-XXXXXX", tmp ? tmp : "", tmp ? "/" : "");
	assert_non_null(mkdtemp(f.dir));
	zk_config_defaults(&f.cfg);
	snprintf(f.cfg.data_dir, sizeof(f.cfg.data_dir), "%s", f.dir);
	snprintf(f.cfg.data_log_dir, sizeof(f.cfg.data_log_dir), "%s", f.dir);
	f.cfg.force_sync = false; /* tmpfs or not, the tests do not need the fsyncs to be slow */
	f.cfg.pre_alloc_size_kb = 4;
	char v2[4200];
	snprintf(v2, sizeof(v2), "%s/version-2", f.dir);
	assert_int_equal(mkdir(v2, 0777), 0);
	f.log = (struct zk_logger){quiet, NULL, ZK_LOG_DEBUG};
	*state = &f;
	return 0;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static void put_file(const struct fixture *f, const char *name, const char *text)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	FILE *fp = fopen(path, "wb");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static int read_long(const struct fixture *f, const char *name, int64_t *v)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	return zk_io_quorum_read_long(path, v);
}

static bool exists(const struct fixture *f, const char *name)
{
	char path[4200];
	struct stat sb;
	snprintf(path, sizeof(path), "%s/version-2/%s", f->dir, name);
	return stat(path, &sb) == 0;
}

static void test_read_long(void **state)
{
	struct fixture *f = *state;
	int64_t v = 0;
	static const struct {
		const char *text;
		int rc;
		int64_t v;
	} cases[] = {
		{"1", 0, 1},          {"42\n", 0, 42},     {"7\r\n", 0, 7},        {"3\nextra\n", 0, 3},
		{"-5", 0, -5},        {"+9", 0, 9},        {"9223372036854775807", 0, INT64_MAX},
		{" 1", ZK_EINVAL, 0}, {"1 ", ZK_EINVAL, 0}, {"", ZK_EINVAL, 0}, {"abc", ZK_EINVAL, 0},
		{"-", ZK_EINVAL, 0},  {"9223372036854775808", ZK_EINVAL, 0},
		{"11111111111111111111111111111111111111111111111111111111111111111111111", ZK_EINVAL, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		put_file(f, "myid", cases[i].text);
		v = 12345;
		assert_int_equal(read_long(f, "myid", &v), cases[i].rc);
		if (cases[i].rc == 0)
			assert_int_equal(v, cases[i].v);
	}
	assert_int_equal(read_long(f, "no-such-file", &v), ZK_ENOENT);
}

static void test_epoch_files(void **state)
{
	struct fixture *f = *state;
	char err[256];
	int64_t v = -1;
	assert_int_equal(zk_io_quorum_epoch_read(f->dir, ZK_EPOCH_FILE_ACCEPTED, &v), ZK_ENOENT);
	assert_int_equal(zk_io_quorum_epoch_write(f->dir, ZK_EPOCH_FILE_ACCEPTED, 7, err, sizeof(err)), 0);
	assert_int_equal(zk_io_quorum_epoch_read(f->dir, ZK_EPOCH_FILE_ACCEPTED, &v), 0);
	assert_int_equal(v, 7);
	/* Exactly the decimal, no newline (QuorumPeer.writeLongToFile), and no temp file left. */
	char path[4200], buf[32] = "";
	snprintf(path, sizeof(path), "%s/version-2/acceptedEpoch", f->dir);
	FILE *fp = fopen(path, "rb");
	assert_non_null(fp);
	size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	assert_int_equal(n, 1);
	assert_string_equal(buf, "7");
	assert_false(exists(f, "acceptedEpoch.tmp"));
	assert_int_equal(zk_io_quorum_epoch_write(f->dir, ZK_EPOCH_FILE_ACCEPTED, 1234567890123LL, err, sizeof(err)), 0);
	assert_int_equal(zk_io_quorum_epoch_read(f->dir, ZK_EPOCH_FILE_ACCEPTED, &v), 0);
	assert_int_equal(v, 1234567890123LL);
	assert_int_equal(zk_io_quorum_epoch_write(f->dir, ZK_EPOCH_FILE_CURRENT, 3, err, sizeof(err)), 0);
	assert_int_equal(zk_io_quorum_epoch_read(f->dir, ZK_EPOCH_FILE_CURRENT, &v), 0);
	assert_int_equal(v, 3);
	/* A directory that is not there: an error with a reason, nothing written. */
	char missing[4200];
	snprintf(missing, sizeof(missing), "%s/nope", f->dir);
	err[0] = '\0';
	assert_true(zk_io_quorum_epoch_write(missing, ZK_EPOCH_FILE_CURRENT, 3, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "currentEpoch.tmp"));
}

/* A SetDataTxn on "/" whose data names its zxid: the database after a replay shows which txn
 * was applied last. */
static void set_root_txn(struct zk_wbuf *w, int64_t zxid)
{
	char data[32];
	snprintf(data, sizeof(data), "v%llx", (unsigned long long)zxid);
	struct zk_txn_header h = {0, 1, zxid, 1700000000000LL, ZK_OP_SETDATA};
	zk_wbuf_reset(w);
	zk_txn_header_write(w, &h);
	zk_txn_write_set_data(w, "/", 1, (struct zk_bytes){(const uint8_t *)data, (int32_t)strlen(data)}, 1);
}

static void append(struct zk_disk *d, int64_t zxid)
{
	struct zk_wbuf w;
	zk_wbuf_init(&w);
	set_root_txn(&w, zxid);
	zk_disk_append(d, (uint64_t)zxid, w.p, w.len);
	zk_wbuf_fini(&w);
}

static void flush(struct zk_disk *d, int64_t want_token)
{
	uint64_t token = 0;
	assert_int_equal(zk_disk_flush(d, &token), 0);
	assert_int_equal((int64_t)token, want_token);
}

/* log.100000001: E1|1..5; log.100000006: E1|6..8, E2|1..2; log.200000003: E2|3. */
static struct zk_disk *three_files(struct fixture *f)
{
	char err[256];
	struct zk_disk *d = zk_disk_new(&f->cfg, &f->log, err, sizeof(err));
	assert_non_null(d);
	for (int64_t i = 1; i <= 5; i++)
		append(d, E1 | i);
	flush(d, E1 | 5);
	assert_int_equal(zk_disk_roll(d), 0);
	for (int64_t i = 6; i <= 8; i++)
		append(d, E1 | i);
	append(d, E2 | 1);
	append(d, E2 | 2);
	flush(d, E2 | 2);
	assert_int_equal(zk_disk_roll(d), 0);
	append(d, E2 | 3);
	flush(d, E2 | 3);
	assert_true(exists(f, "log.100000001") && exists(f, "log.100000006") && exists(f, "log.200000003"));
	return d;
}

struct seen {
	int64_t zxids[64];
	int n;
};

static int collect(void *ctx, const uint8_t *txn, size_t len, int64_t zxid)
{
	(void)txn;
	(void)len;
	struct seen *s = ctx;
	if (s->n < 64)
		s->zxids[s->n++] = zxid;
	return 0;
}

static void expect_log(struct fixture *f, const int64_t *want, int n)
{
	struct seen s = {{0}, 0};
	int64_t last = -1;
	assert_int_equal(zk_disk_recover(f->dir, 0, collect, &s, &f->log, &last), 0);
	assert_int_equal(s.n, n);
	for (int i = 0; i < n; i++)
		assert_int_equal(s.zxids[i], want[i]);
	assert_int_equal(last, n ? want[n - 1] : 0);
}

static void test_truncate_in_first_file(void **state)
{
	struct fixture *f = *state;
	struct zk_disk *d = three_files(f);
	assert_int_equal(zk_disk_truncate(d, E1 | 3), 0);
	assert_true(exists(f, "log.100000001"));
	assert_false(exists(f, "log.100000006"));
	assert_false(exists(f, "log.200000003"));
	static const int64_t kept[] = {E1 | 1, E1 | 2, E1 | 3};
	expect_log(f, kept, 3);
	/* The writer goes on in a new file after the cut. */
	append(d, E2 | 1);
	flush(d, E2 | 1);
	assert_true(exists(f, "log.200000001"));
	static const int64_t then[] = {E1 | 1, E1 | 2, E1 | 3, E2 | 1};
	expect_log(f, then, 4);
	zk_disk_free(d);
}

static void test_truncate_in_middle_file(void **state)
{
	struct fixture *f = *state;
	struct zk_disk *d = three_files(f);
	assert_int_equal(zk_disk_truncate(d, E1 | 7), 0);
	assert_true(exists(f, "log.100000001") && exists(f, "log.100000006"));
	assert_false(exists(f, "log.200000003"));
	static const int64_t kept[] = {E1 | 1, E1 | 2, E1 | 3, E1 | 4, E1 | 5, E1 | 6, E1 | 7};
	expect_log(f, kept, 7);
	zk_disk_free(d);
}

static void test_truncate_edges(void **state)
{
	struct fixture *f = *state;
	struct zk_disk *d = three_files(f);
	/* At the very end: nothing changes. */
	assert_int_equal(zk_disk_truncate(d, E2 | 3), 0);
	static const int64_t all[] = {E1 | 1, E1 | 2, E1 | 3, E1 | 4, E1 | 5, E1 | 6, E1 | 7, E1 | 8, E2 | 1, E2 | 2, E2 | 3};
	expect_log(f, all, 11);
	/* Appended but not flushed: written, then cut like the rest; its token is still reported. */
	append(d, E2 | 4);
	assert_int_equal(zk_disk_truncate(d, E1 | 8), 0);
	flush(d, E2 | 4);
	expect_log(f, all, 8);
	/* Exactly at the first txn of a file: that file keeps one entry. */
	assert_int_equal(zk_disk_truncate(d, E1 | 6), 0);
	expect_log(f, all, 6);
	/* Before everything: no file is left. */
	assert_int_equal(zk_disk_truncate(d, 0), 0);
	assert_false(exists(f, "log.100000001"));
	expect_log(f, all, 0);
	zk_disk_free(d);
}

static int replay_into(void *ctx, const uint8_t *txn, size_t len, int64_t zxid)
{
	(void)zxid;
	return zk_server_replay(ctx, txn, len);
}

static void expect_root(struct zk_server *core, int64_t zxid)
{
	char want[32];
	snprintf(want, sizeof(want), "v%llx", (unsigned long long)zxid);
	struct zk_node *n = zk_dtree_get(&zk_server_db(core)->tree, "/", 1);
	assert_non_null(n);
	assert_int_equal(n->data_len, (int32_t)strlen(want));
	assert_memory_equal(n->data, want, strlen(want));
	assert_int_equal((int64_t)zk_server_last_zxid(core), zxid);
}

/* The whole TRUNCATE: snapshot.0 and snapshot.100000007 on disk, three log files; cutting to
 * E1|4 removes the newer snapshot and reloads E1|1..4 on top of snapshot.0. */
static void test_truncate_reload(void **state)
{
	struct fixture *f = *state;
	struct zk_now now = {1000, 1700000000000LL};
	struct zk_server *core = zk_server_new(&f->cfg, now, &f->log);
	assert_non_null(core);
	char err[512];
	assert_int_equal(zk_snap_save(zk_server_db(core), 0, f->dir, ZK_SNAP_SAVE_NO_FSYNC, err, sizeof(err)), 0);
	struct zk_disk *d = three_files(f);
	int64_t last = 0;
	/* A learner that had applied everything and snapshotted at E1|7. */
	assert_int_equal(zk_disk_recover(f->dir, 0, replay_into, core, &f->log, &last), 0);
	zk_server_loaded(core, now);
	expect_root(core, E2 | 3);
	assert_int_equal(zk_snap_save(zk_server_db(core), E1 | 7, f->dir, ZK_SNAP_SAVE_NO_FSYNC, err, sizeof(err)), 0);
	assert_true(exists(f, "snapshot.100000007"));

	assert_int_equal(zk_io_quorum_truncate(&f->cfg, core, d, E1 | 4, &f->log), 0);
	assert_false(exists(f, "snapshot.100000007"));
	assert_true(exists(f, "snapshot.0"));
	expect_root(core, E1 | 4);

	/* Cutting into a snapshot that stays: it is the base, the log after it replays on top. */
	assert_int_equal(zk_snap_save(zk_server_db(core), E1 | 4, f->dir, ZK_SNAP_SAVE_NO_FSYNC, err, sizeof(err)), 0);
	append(d, E2 | 1);
	append(d, E2 | 2);
	flush(d, E2 | 2);
	assert_int_equal(zk_io_quorum_truncate(&f->cfg, core, d, E2 | 1, &f->log), 0);
	assert_true(exists(f, "snapshot.100000004"));
	expect_root(core, E2 | 1);
	zk_disk_free(d);
	zk_server_free(core);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_read_long, setup, teardown),
		cmocka_unit_test_setup_teardown(test_epoch_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncate_in_first_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncate_in_middle_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncate_edges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncate_reload, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
