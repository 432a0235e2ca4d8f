/* Txn log files (see io_disk.h; format and the end-of-data rules in txnlog.h): the writer with
 * group commit and ZooKeeper's preallocation, and the start-up replay that cuts a torn tail.
 *
 * Writer invariants: d->fd is the file the next append goes to (-1: the next append creates
 * one); d->buf holds bytes of that file not yet written, which belong at offset d->written;
 * rolled files whose last bytes are written but not synced wait in d->retired for the next
 * flush. After the first failure (d->failed) no byte is written any more. */
#include "io_disk.h"
#include "io_fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "errors.h"
#include "jute.h"
#include "txn.h"
#include "txnlog.h"
#include "zmalloc.h"

#define ZK_DISK_DIR_BYTES_MAX (ZK_CFG_PATH_MAX + 16)
#define ZK_DISK_PATH_BYTES_MAX (ZK_DISK_DIR_BYTES_MAX + ZK_TXNLOG_NAME_MAX)
#define ZK_DISK_FSYNC_WARN_MS 1000 /* zookeeper.fsync.warningthresholdms */
#define ZK_DISK_RETIRED_MAX 64     /* rolls between two flushes; more is a caller bug */
/* Lengths are not capped on replay beyond int32: the checksum is the guard, and a server run
 * with a larger jute.maxbuffer must be able to read its own log. */
#define ZK_DISK_REPLAY_TXN_BYTES_MAX ((size_t)INT32_MAX)

struct zk_disk {
	struct zk_logger log;
	char dir[ZK_DISK_DIR_BYTES_MAX]; /* <dataLogDir>/version-2 */
	bool force_sync;
	int64_t prealloc_bytes;
	int fd;
	char name[ZK_TXNLOG_NAME_MAX];
	int64_t written;     /* bytes of the current file written (header included) */
	int64_t pad_pos;     /* FilePadding's position: what was written at the last flush */
	int64_t pad_size;    /* FilePadding's currentSize: the size to extend the file to */
	int64_t size;        /* the size the file has been extended to */
	bool unsynced;       /* the current file has bytes not yet synced */
	bool dir_dirty;      /* a file was created since the last directory sync */
	struct zk_wbuf buf;
	int retired[ZK_DISK_RETIRED_MAX];
	int n_retired;
	uint64_t token;
	int failed;
	/* The sync thread (zk_disk_flush_async): fdatasyncs a job's files while the loop goes on
	 * reading and appending, as ZooKeeper's SyncRequestProcessor thread does. Everything below
	 * is under mu; a job's fds are the thread's until it reports done. */
	pthread_t thread;
	bool thread_started, stop;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool busy;              /* a job was handed over and its result not taken yet */
	bool job_ready;         /* handed over, not yet picked up by the thread */
	bool done_ready;        /* the thread finished the job */
	int job_fds[ZK_DISK_RETIRED_MAX + 1];
	bool job_close[ZK_DISK_RETIRED_MAX + 1];
	int job_n;
	bool job_dir;
	uint64_t job_token;
	int done_rc, done_errno;
	uint64_t written_token; /* highest token written out (pwrite) and not yet in a job */
	void (*notify)(void *ctx);
	void *notify_ctx;
};

static int errno_rc(int e) { return (e == ENOSPC || e == EDQUOT) ? ZK_ENOSPC : ZK_EIO; }

static int64_t mono_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

struct zk_disk *zk_disk_new(const struct zk_config *cfg, const struct zk_logger *log, char *err, size_t err_len)
{
	struct zk_disk *d = zk_calloc(1, sizeof(*d));
	if (!d) {
		snprintf(err, err_len, "out of memory");
		return NULL;
	}
	d->log = *log;
	d->fd = -1;
	d->force_sync = cfg->force_sync;
	d->prealloc_bytes = cfg->pre_alloc_size_kb * 1024;
	zk_wbuf_init(&d->buf);
	pthread_mutex_init(&d->mu, NULL);
	pthread_cond_init(&d->cv, NULL);
	if (zk_fs_join(d->dir, sizeof(d->dir), cfg->data_log_dir, "version-2")) {
		snprintf(err, err_len, "dataLogDir is too long");
		goto fail;
	}
	int rc = zk_fs_mkdir_p(d->dir);
	if (rc) {
		snprintf(err, err_len, "cannot create %s: %s", d->dir, strerror(-rc));
		goto fail;
	}
	return d;
fail:
	zk_disk_free(d);
	return NULL;
}

static void wait_idle(struct zk_disk *d);

void zk_disk_free(struct zk_disk *d)
{
	if (!d)
		return;
	if (d->thread_started) {
		wait_idle(d);
		pthread_mutex_lock(&d->mu);
		d->stop = true;
		pthread_cond_broadcast(&d->cv);
		pthread_mutex_unlock(&d->mu);
		pthread_join(d->thread, NULL);
	}
	pthread_mutex_destroy(&d->mu);
	pthread_cond_destroy(&d->cv);
	/* Appended but not flushed: never acknowledged, so not written either. */
	for (int i = 0; i < d->n_retired; i++)
		close(d->retired[i]);
	if (d->fd >= 0)
		close(d->fd);
	zk_wbuf_fini(&d->buf);
	zk_free(d);
}

/* The first failure sticks: flush reports it from now on. */
static void fail(struct zk_disk *d, int rc, const char *what, int e)
{
	if (d->failed)
		return;
	zk_logf(&d->log, ZK_LOG_ERROR, "txn log %s failed dir=%s file=%s rc=%d errno=%d (%s): no more writes", what,
		d->dir, d->name[0] ? d->name : "-", rc, e, e ? strerror(e) : "-");
	d->failed = rc;
}

/* Opens log.<zxid of txn> and buffers its header (FileTxnLog.append). */
static int start_file(struct zk_disk *d, const uint8_t *txn, size_t len)
{
	int64_t zxid;
	char path[ZK_DISK_PATH_BYTES_MAX];
	if (zk_txnlog_txn_zxid(txn, len, &zxid) || zk_txnlog_name_format(d->name, sizeof(d->name), zxid) < 0) {
		fail(d, ZK_EINVAL, "append (txn without a header)", 0);
		return ZK_EINVAL;
	}
	if (zk_fs_join(path, sizeof(path), d->dir, d->name)) {
		fail(d, ZK_ERANGE, "create (path too long)", 0);
		return ZK_ERANGE;
	}
	/* O_EXCL: a file of this name holds txns we have not replayed (recovery deletes a tail log
	 * without entries), so the zxid we were given is behind the log. Never overwrite it. */
	d->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
	if (d->fd < 0) {
		int e = errno;
		fail(d, e == EEXIST ? ZK_EEXIST : errno_rc(e), "create", e);
		return d->failed;
	}
	zk_logf(&d->log, ZK_LOG_INFO, "creating new txn log file=%s/%s", d->dir, d->name);
	zk_wbuf_reset(&d->buf);
	zk_txnlog_header_write(&d->buf, 0);
	/* ZooKeeper flushes the header before padding: the position padding sees starts past it. */
	d->written = 0;
	d->pad_pos = ZK_TXNLOG_HEADER_BYTES;
	d->pad_size = ZK_TXNLOG_HEADER_BYTES;
	d->size = 0;
	d->dir_dirty = true;
	return 0;
}

void zk_disk_append(struct zk_disk *d, uint64_t token, const uint8_t *p, size_t len)
{
	if (token > d->token)
		d->token = token;
	if (d->failed)
		return;
	if (len < ZK_TXN_HEADER_BYTES || len > (size_t)INT32_MAX) {
		fail(d, ZK_EINVAL, "append (bad txn length)", 0);
		return;
	}
	if (d->fd < 0 && start_file(d, p, len))
		return;
	d->pad_size = zk_txnlog_padded_size(d->pad_pos, d->pad_size, d->prealloc_bytes);
	zk_txnlog_entry_write(&d->buf, p, len);
	if (d->buf.err)
		fail(d, ZK_ENOMEM, "append (buffer)", 0);
}

static int pwrite_all(int fd, const uint8_t *p, size_t n, int64_t off)
{
	while (n > 0) {
		ssize_t w = pwrite(fd, p, n, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		if (w == 0)
			return -EIO;
		p += w;
		n -= (size_t)w;
		off += w;
	}
	return 0;
}

/* Extends the current file as FilePadding decided (one zero byte at the new last position,
 * sparse), then writes the buffer. */
static int write_out(struct zk_disk *d)
{
	if (d->fd < 0)
		return 0;
	int e = 0;
	if (d->pad_size > d->size && d->pad_size > d->written + (int64_t)d->buf.len) {
		static const uint8_t zero = 0;
		e = pwrite_all(d->fd, &zero, 1, d->pad_size - 1);
		if (!e)
			d->size = d->pad_size;
	}
	if (!e && d->buf.len)
		e = pwrite_all(d->fd, d->buf.p, d->buf.len, d->written);
	if (e) {
		fail(d, errno_rc(-e), "write", -e);
		return d->failed;
	}
	d->written += (int64_t)d->buf.len;
	d->unsynced = d->unsynced || d->buf.len > 0;
	zk_wbuf_reset(&d->buf);
	return 0;
}

static int sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = fsync(fd) ? -errno : 0;
	close(fd);
	return rc;
}

/* fdatasync (FileChannel.force(false)) of the rolled files, the current one and, after a file
 * was created, the directory, so that the new name survives a crash too. */
static int sync_all(struct zk_disk *d)
{
	int e = 0;
	int64_t t0 = mono_ms();
	for (int i = 0; i < d->n_retired; i++) {
		if (!e && d->force_sync && fdatasync(d->retired[i]))
			e = errno;
		close(d->retired[i]);
	}
	d->n_retired = 0;
	if (!e && d->force_sync && d->fd >= 0 && d->unsynced && fdatasync(d->fd))
		e = errno;
	if (!e && d->force_sync && d->dir_dirty)
		e = -sync_dir(d->dir);
	if (e) {
		fail(d, errno_rc(e), "fsync", e);
		return d->failed;
	}
	d->unsynced = false;
	d->dir_dirty = false;
	int64_t took = mono_ms() - t0;
	if (took > ZK_DISK_FSYNC_WARN_MS)
		zk_logf(&d->log, ZK_LOG_WARN, "fsync-ing the txn log took %lldms file=%s/%s size=%lld",
			(long long)took, d->dir, d->name, (long long)d->size);
	return 0;
}

int zk_disk_flush(struct zk_disk *d, uint64_t *token)
{
	wait_idle(d);
	*token = d->token > d->written_token ? d->token : d->written_token;
	d->written_token = 0;
	d->token = 0;
	if (d->failed) {
		zk_wbuf_reset(&d->buf);
		return d->failed;
	}
	if (*token == 0 && d->buf.len == 0 && d->n_retired == 0)
		return 0;
	int rc = write_out(d);
	if (!rc)
		rc = sync_all(d);
	d->pad_pos = d->written;
	return rc;
}

/* ---- The sync thread ---- */

static void wait_idle(struct zk_disk *d)
{
	pthread_mutex_lock(&d->mu);
	while (d->busy && !d->done_ready)
		pthread_cond_wait(&d->cv, &d->mu);
	pthread_mutex_unlock(&d->mu);
}

static void *sync_main(void *arg)
{
	struct zk_disk *d = arg;
	pthread_mutex_lock(&d->mu);
	for (;;) {
		while (!d->job_ready && !d->stop)
			pthread_cond_wait(&d->cv, &d->mu);
		if (!d->job_ready)
			break;
		d->job_ready = false;
		pthread_mutex_unlock(&d->mu);
		int e = 0;
		int64_t t0 = mono_ms();
		for (int i = 0; i < d->job_n; i++) {
			if (!e && fdatasync(d->job_fds[i]))
				e = errno;
			if (d->job_close[i])
				close(d->job_fds[i]);
		}
		if (!e && d->job_dir)
			e = -sync_dir(d->dir);
		int64_t took = mono_ms() - t0;
		if (took > ZK_DISK_FSYNC_WARN_MS)
			zk_logf(&d->log, ZK_LOG_WARN, "fsync-ing the txn log took %lldms dir=%s", (long long)took, d->dir);
		pthread_mutex_lock(&d->mu);
		d->done_rc = e ? errno_rc(e) : 0;
		d->done_errno = e;
		d->done_ready = true;
		pthread_cond_broadcast(&d->cv);
		pthread_mutex_unlock(&d->mu);
		if (d->notify)
			d->notify(d->notify_ctx);
		pthread_mutex_lock(&d->mu);
	}
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

void zk_disk_set_notify(struct zk_disk *d, void (*notify)(void *ctx), void *ctx)
{
	d->notify = notify;
	d->notify_ctx = ctx;
}

/* Hands what is written but not durable to the sync thread. 1 = a job is running; 0 = nothing
 * to wait for (*token durable now: forceSync=no, or no thread could be started and it was synced
 * here). */
static int start_job(struct zk_disk *d, uint64_t *token)
{
	if (!d->written_token && !d->n_retired && !d->unsynced && !d->dir_dirty)
		return 0;
	if (!d->force_sync || (!d->thread_started && pthread_create(&d->thread, NULL, sync_main, d) != 0)) {
		int rc = sync_all(d); /* no fsync without forceSync; a failed thread start syncs here */
		*token = d->written_token;
		d->written_token = 0;
		return rc;
	}
	d->thread_started = true;
	int n = 0;
	for (int i = 0; i < d->n_retired; i++) {
		d->job_fds[n] = d->retired[i];
		d->job_close[n++] = true;
	}
	if (d->fd >= 0 && d->unsynced) {
		d->job_fds[n] = d->fd;
		d->job_close[n++] = false;
	}
	pthread_mutex_lock(&d->mu);
	d->job_n = n;
	d->job_dir = d->dir_dirty;
	d->job_token = d->written_token;
	d->job_ready = true;
	d->busy = true;
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
	d->n_retired = 0;
	d->unsynced = false;
	d->dir_dirty = false;
	d->written_token = 0;
	return 1;
}

int zk_disk_flush_async(struct zk_disk *d, uint64_t *token)
{
	*token = 0;
	uint64_t t = d->token;
	d->token = 0;
	if (d->failed) {
		zk_wbuf_reset(&d->buf);
		*token = t > d->written_token ? t : d->written_token;
		d->written_token = 0;
		return d->failed;
	}
	if ((t || d->buf.len) && write_out(d)) {
		*token = t > d->written_token ? t : d->written_token;
		d->written_token = 0;
		return d->failed;
	}
	d->pad_pos = d->written;
	if (t > d->written_token)
		d->written_token = t;
	if (d->busy)
		return 1; /* zk_disk_take_done starts the next job */
	return start_job(d, token);
}

bool zk_disk_take_done(struct zk_disk *d, uint64_t *token, int *rc)
{
	pthread_mutex_lock(&d->mu);
	bool ready = d->done_ready;
	int r = d->done_rc, e = d->done_errno;
	*token = d->job_token;
	if (ready) {
		d->done_ready = false;
		d->busy = false;
	}
	pthread_mutex_unlock(&d->mu);
	if (!ready)
		return false;
	if (r)
		fail(d, r, "fsync", e);
	*rc = r ? d->failed : 0;
	return true;
}

int zk_disk_roll(struct zk_disk *d)
{
	if (d->fd < 0)
		return d->failed;
	if (!d->failed && d->n_retired == ZK_DISK_RETIRED_MAX) {
		wait_idle(d);
		sync_all(d); /* rolls without flushes in between: make room */
	}
	if (!d->failed)
		write_out(d);
	/* A running sync job may still be syncing this fd: then it is retired, never closed here. */
	if ((d->failed || !d->unsynced) && !d->busy)
		close(d->fd); /* durable already, or never will be */
	else
		d->retired[d->n_retired++] = d->fd;
	d->fd = -1;
	d->name[0] = '\0';
	d->unsynced = false;
	return d->failed;
}

/* ---- Start-up replay ----
 * Files are read with pread in chunks, not mapped: reading the preallocated holes of a file on a
 * full tmpfs through a mapping raises SIGBUS, and so does an I/O error. */

#define ZK_DISK_READ_CHUNK_BYTES (1u << 20)

/* A window of a file: bytes [off, off + len) are in p. */
struct window {
	int fd;
	uint64_t size;
	uint64_t off;
	uint8_t *p;
	size_t len, cap;
};

/* Makes [at, at + need) available, or [at, size) when the file is shorter; *q points at `at`
 * and *avail counts the bytes from there. Returns 0 or a negative ZK_E*. */
static int window_load(struct window *w, uint64_t at, size_t need, const uint8_t **q, size_t *avail)
{
	uint64_t want_end = at + need < w->size ? at + need : w->size;
	if (at < w->off || want_end > w->off + w->len) {
		size_t n = need > ZK_DISK_READ_CHUNK_BYTES ? need : ZK_DISK_READ_CHUNK_BYTES;
		if (n > w->size - at)
			n = (size_t)(w->size - at);
		if (n > w->cap) {
			uint8_t *g = zk_realloc(w->p, n);
			if (!g)
				return ZK_ENOMEM;
			w->p = g;
			w->cap = n;
		}
		w->off = at;
		w->len = 0;
		while (w->len < n) {
			ssize_t r = pread(w->fd, w->p + w->len, n - w->len, (off_t)(at + w->len));
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				return errno_rc(errno);
			if (r == 0)
				break; /* shrank under us: what we have is the file */
			w->len += (size_t)r;
		}
	}
	*q = w->p + (at - w->off);
	*avail = (size_t)(w->off + w->len - at);
	return 0;
}

/* The entry at file offset pos: an enum zk_txnlog_status (e->offset, e->end are file offsets)
 * or a negative ZK_E* when the file cannot be read. */
_Static_assert(ZK_ENOMEM < (int)ZK_TXNLOG_CORRUPT && ZK_EIO < (int)ZK_TXNLOG_CORRUPT && ZK_ENOSPC < (int)ZK_TXNLOG_CORRUPT,
               "read errors and statuses do not overlap");
static int read_entry(struct window *w, uint64_t pos, struct zk_txnlog_entry *e, enum zk_txnlog_reason *why)
{
	const uint8_t *q;
	size_t avail, need = 12;
	for (int pass = 0; pass < 2; pass++) {
		int rc = window_load(w, pos, need, &q, &avail);
		if (rc)
			return rc;
		int st = zk_txnlog_entry_parse(q, avail, ZK_DISK_REPLAY_TXN_BYTES_MAX, e, why, &need);
		if (st == ZK_TXNLOG_ENTRY) {
			e->offset = (size_t)pos;
			e->end += (size_t)pos;
		}
		/* Torn only when the file itself is too short, not the window. */
		if (st != ZK_TXNLOG_END || *why != ZK_TXNLOG_EOF_IN_ENTRY || pos + need > w->size || avail >= need)
			return st;
	}
	return ZK_TXNLOG_END;
}

struct replay {
	int (*apply)(void *ctx, const uint8_t *txn, size_t len, int64_t zxid);
	void *ctx;
	const struct zk_logger *log;
	int64_t from_zxid;
	int64_t last_zxid; /* highest applied, or from_zxid */
	uint64_t applied;
};

enum cut { CUT_NONE, CUT_TRUNCATE, CUT_DELETE };

static int apply_entry(struct replay *st, const struct zk_txnlog_entry *e, const char *path)
{
	if (e->zxid <= st->last_zxid) {
		/* Below from_zxid: in the snapshot already. Otherwise the log went backwards, which
		 * ZooKeeper logs and applies anyway; applying an older txn again is never right. */
		if (e->zxid > st->from_zxid)
			zk_logf(st->log, ZK_LOG_WARN, "txn log zxid=0x%llx not above 0x%llx file=%s offset=%zu: skipped",
				(unsigned long long)e->zxid, (unsigned long long)st->last_zxid, path, e->offset);
		return 0;
	}
	int rc = st->apply(st->ctx, e->txn, e->len, e->zxid);
	if (rc) {
		zk_logf(st->log, ZK_LOG_ERROR, "txn log replay failed zxid=0x%llx file=%s offset=%zu rc=%d",
			(unsigned long long)e->zxid, path, e->offset, rc);
		return rc;
	}
	st->last_zxid = e->zxid;
	st->applied++;
	return 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* The outcome of reading one file: where its valid data ends and why. */
struct scan {
	uint64_t valid_end;
	enum zk_txnlog_reason why;
	uint64_t entries;
	enum cut cut;
};

/* Whether a valid entry follows the corrupt one at pos (see zk_txnlog_entry_follows). */
static bool entry_follows(struct window *w, uint64_t pos, enum zk_txnlog_reason why)
{
	const uint8_t *q;
	size_t avail;
	if ((why != ZK_TXNLOG_BAD_CHECKSUM && why != ZK_TXNLOG_SHORT_TXN) || window_load(w, pos, 12, &q, &avail))
		return false;
	uint64_t next = pos + ZK_TXNLOG_ENTRY_OVERHEAD + zk_get_be32(q + 8);
	struct zk_txnlog_entry e;
	enum zk_txnlog_reason why2;
	return next < w->size && read_entry(w, next, &e, &why2) == ZK_TXNLOG_ENTRY;
}

static int scan_header(struct replay *st, struct window *w, const char *path, bool is_last, struct scan *sc)
{
	const uint8_t *q;
	size_t avail;
	int rc = window_load(w, 0, ZK_TXNLOG_HEADER_BYTES, &q, &avail);
	if (rc)
		return rc;
	struct zk_txnlog_reader r;
	rc = zk_txnlog_reader_init(&r, q, avail, 0);
	if (rc == ZK_ESHORT || (rc == ZK_EINVAL && all_zero(q, ZK_TXNLOG_HEADER_BYTES))) {
		/* Created, header never written (FileTxnIterator deletes such an empty tail log). */
		sc->why = ZK_TXNLOG_EOF_IN_ENTRY;
		if (is_last)
			sc->cut = CUT_DELETE;
		else
			zk_logf(st->log, ZK_LOG_WARN, "txn log file=%s has no header: skipped", path);
		return 1;
	}
	if (rc) {
		zk_logf(st->log, ZK_LOG_ERROR, "txn log file=%s has invalid magic number 0x%08x", path,
			(unsigned)zk_get_be32(q));
		return ZK_EINVAL;
	}
	sc->valid_end = ZK_TXNLOG_HEADER_BYTES;
	return 0;
}

/* Applies the entries of one file and decides what happens to its end. */
static int scan_file(struct replay *st, struct window *w, const char *path, bool is_last, struct scan *sc)
{
	int rc = scan_header(st, w, path, is_last, sc);
	if (rc)
		return rc < 0 ? rc : 0;
	struct zk_txnlog_entry e;
	int s;
	while ((s = read_entry(w, sc->valid_end, &e, &sc->why)) == ZK_TXNLOG_ENTRY) {
		sc->entries++;
		if ((rc = apply_entry(st, &e, path)))
			return rc;
		sc->valid_end = e.end;
	}
	if (s < ZK_TXNLOG_CORRUPT) {
		zk_logf(st->log, ZK_LOG_ERROR, "cannot read txn log file=%s offset=%llu rc=%d", path,
			(unsigned long long)sc->valid_end, s);
		return s;
	}
	if (sc->why == ZK_TXNLOG_EOF_IN_ENTRY || sc->why == ZK_TXNLOG_NO_END_BYTE) {
		if (is_last)
			sc->cut = CUT_TRUNCATE;
		else /* ZooKeeper goes on with the next file as well */
			zk_logf(st->log, ZK_LOG_WARN, "txn log file=%s ends at offset=%llu reason=%s: next file", path,
				(unsigned long long)sc->valid_end, zk_txnlog_reason_str(sc->why));
	} else if (s == ZK_TXNLOG_CORRUPT) {
		if (!is_last || entry_follows(w, sc->valid_end, sc->why)) {
			zk_logf(st->log, ZK_LOG_ERROR,
				"txn log file=%s corrupt at offset=%llu reason=%s: repair with zkTxnLogToolkit -r", path,
				(unsigned long long)sc->valid_end, zk_txnlog_reason_str(sc->why));
			return ZK_EINVAL;
		}
		sc->cut = CUT_TRUNCATE;
	}
	/* A tail log without one entry is deleted: the next append would want its name. */
	if (is_last && sc->entries == 0)
		sc->cut = CUT_DELETE;
	return 0;
}

static int cut_tail(const struct replay *st, int fd, const char *dir, const char *path, const struct scan *sc,
                    uint64_t size)
{
	int rc = 0;
	if (sc->cut == CUT_DELETE) {
		zk_logf(st->log, ZK_LOG_WARN, "deleting tail txn log file=%s without valid entries size=%llu reason=%s",
			path, (unsigned long long)size,
			sc->valid_end < ZK_TXNLOG_HEADER_BYTES ? "no file header" : zk_txnlog_reason_str(sc->why));
		rc = unlink(path) ? -errno : sync_dir(dir);
	} else if (sc->cut == CUT_TRUNCATE) {
		zk_logf(st->log, ZK_LOG_WARN, "truncating txn log file=%s at offset=%llu size=%llu reason=%s", path,
			(unsigned long long)sc->valid_end, (unsigned long long)size, zk_txnlog_reason_str(sc->why));
		if (ftruncate(fd, (off_t)sc->valid_end) || fsync(fd))
			rc = -errno;
	}
	if (rc)
		zk_logf(st->log, ZK_LOG_ERROR, "cannot cut txn log file=%s: %s", path, strerror(-rc));
	return rc ? errno_rc(-rc) : 0;
}

static int replay_file(struct replay *st, struct window *w, const char *dir, int64_t start_zxid, bool is_last)
{
	char name[ZK_TXNLOG_NAME_MAX], path[ZK_DISK_PATH_BYTES_MAX];
	if (zk_txnlog_name_format(name, sizeof(name), start_zxid) < 0 || zk_fs_join(path, sizeof(path), dir, name))
		return ZK_ERANGE;
	int fd = open(path, (is_last ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb)) {
		int e = errno;
		zk_logf(st->log, ZK_LOG_ERROR, "cannot open txn log file=%s: %s", path, strerror(e));
		if (fd >= 0)
			close(fd);
		return errno_rc(e);
	}
	w->fd = fd;
	w->size = (uint64_t)sb.st_size;
	w->off = 0;
	w->len = 0;
	struct scan sc = {0, ZK_TXNLOG_OK, 0, CUT_NONE};
	int rc = scan_file(st, w, path, is_last, &sc);
	if (!rc)
		rc = cut_tail(st, fd, dir, path, &sc, w->size);
	close(fd);
	return rc;
}

/* The start zxids of dir's log files, sorted; *n = 0 when the directory does not exist. */
static int list_logs(const char *dir, const struct zk_logger *log, int64_t **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	DIR *dh = opendir(dir);
	if (!dh) {
		if (errno == ENOENT)
			return 0;
		zk_logf(log, ZK_LOG_ERROR, "cannot list txn log dir=%s: %s", dir, strerror(errno));
		return ZK_EIO;
	}
	size_t cap = 0;
	int rc = 0;
	struct dirent *de;
	while ((de = readdir(dh))) {
		int64_t z;
		if (zk_txnlog_name_parse(de->d_name, &z))
			continue;
		if (*n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			int64_t *g = zk_realloc(*out, ncap * sizeof(**out));
			if (!g) {
				rc = ZK_ENOMEM;
				break;
			}
			*out = g;
			cap = ncap;
		}
		(*out)[(*n)++] = z;
	}
	closedir(dh);
	zk_txnlog_sort(*out, *n);
	return rc;
}

int zk_disk_recover(const char *data_log_dir, int64_t from_zxid,
                    int (*apply)(void *ctx, const uint8_t *txn, size_t len, int64_t zxid), void *ctx,
                    const struct zk_logger *log, int64_t *last_zxid)
{
	char dir[ZK_DISK_DIR_BYTES_MAX];
	*last_zxid = from_zxid;
	if (zk_fs_join(dir, sizeof(dir), data_log_dir, "version-2"))
		return ZK_ERANGE;
	int64_t *zxids;
	size_t n;
	int rc = list_logs(dir, log, &zxids, &n);
	struct replay st = {apply, ctx, log, from_zxid, from_zxid, 0};
	struct window w = {-1, 0, 0, NULL, 0, 0};
	size_t first = zk_txnlog_files_from(zxids, n, from_zxid);
	for (size_t i = first; rc == 0 && i < n; i++)
		rc = replay_file(&st, &w, dir, zxids[i], i + 1 == n);
	zk_free(w.p);
	zk_free(zxids);
	if (rc == 0) {
		zk_logf(log, ZK_LOG_INFO, "txn log replayed dir=%s files=%zu applied=%llu from=0x%llx last_zxid=0x%llx", dir,
			n - first, (unsigned long long)st.applied, (unsigned long long)from_zxid,
			(unsigned long long)st.last_zxid);
		*last_zxid = st.last_zxid;
	}
	return rc;
}

/* ---- Truncation (quorum TRUNC) ---- */

/* The file offset just past the last entry of the open file whose zxid is <= zxid (the header's
 * end when there is none), in *cut. Stops at the first entry past zxid and at the end of the
 * valid data (a torn tail is not kept either). Returns 0 or a negative ZK_E* (unreadable). */
static int find_cut(struct window *w, const char *path, int64_t zxid, const struct zk_logger *log, uint64_t *cut)
{
	const uint8_t *q;
	size_t avail;
	*cut = 0;
	int rc = window_load(w, 0, ZK_TXNLOG_HEADER_BYTES, &q, &avail);
	if (rc)
		return rc;
	struct zk_txnlog_reader r;
	if (zk_txnlog_reader_init(&r, q, avail, 0))
		return 0; /* no valid header: nothing in it to keep */
	*cut = ZK_TXNLOG_HEADER_BYTES;
	struct zk_txnlog_entry e;
	enum zk_txnlog_reason why;
	int s;
	while ((s = read_entry(w, *cut, &e, &why)) == ZK_TXNLOG_ENTRY && e.zxid <= zxid)
		*cut = e.end;
	if (s < ZK_TXNLOG_CORRUPT) {
		zk_logf(log, ZK_LOG_ERROR, "cannot read txn log file=%s offset=%llu rc=%d", path, (unsigned long long)*cut,
			s);
		return s;
	}
	if (s == ZK_TXNLOG_CORRUPT)
		zk_logf(log, ZK_LOG_WARN, "txn log file=%s corrupt at offset=%llu reason=%s: cut there", path,
			(unsigned long long)*cut, zk_txnlog_reason_str(why));
	return 0;
}

/* Cuts the file log.<start> after its last entry <= zxid, or deletes it when none is. */
static int cut_file(const char *dir, int64_t start, int64_t zxid, const struct zk_logger *log)
{
	char name[ZK_TXNLOG_NAME_MAX], path[ZK_DISK_PATH_BYTES_MAX];
	if (zk_txnlog_name_format(name, sizeof(name), start) < 0 || zk_fs_join(path, sizeof(path), dir, name))
		return ZK_ERANGE;
	int fd = open(path, O_RDWR | O_CLOEXEC);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb)) {
		int e = errno;
		zk_logf(log, ZK_LOG_ERROR, "truncate: cannot open txn log file=%s: %s", path, strerror(e));
		if (fd >= 0)
			close(fd);
		return errno_rc(e);
	}
	struct window w = {fd, (uint64_t)sb.st_size, 0, NULL, 0, 0};
	uint64_t cut;
	int rc = find_cut(&w, path, zxid, log, &cut);
	zk_free(w.p);
	int e = 0;
	if (!rc && cut <= ZK_TXNLOG_HEADER_BYTES) {
		zk_logf(log, ZK_LOG_INFO, "truncate: deleting txn log file=%s (no txn <= 0x%llx)", path,
			(unsigned long long)zxid);
		if (unlink(path))
			e = errno;
	} else if (!rc && cut < (uint64_t)sb.st_size) {
		zk_logf(log, ZK_LOG_INFO, "truncate: cutting txn log file=%s at offset=%llu size=%llu zxid=0x%llx", path,
			(unsigned long long)cut, (unsigned long long)sb.st_size, (unsigned long long)zxid);
		if (ftruncate(fd, (off_t)cut) || fsync(fd))
			e = errno;
	}
	if (e) {
		zk_logf(log, ZK_LOG_ERROR, "truncate: cannot cut txn log file=%s: %s", path, strerror(e));
		rc = errno_rc(e);
	}
	close(fd);
	return rc;
}

/* Deletes the files after the one holding zxid, then cuts that one. */
static int truncate_dir(const char *dir, int64_t zxid, const struct zk_logger *log)
{
	int64_t *zxids;
	size_t n;
	int rc = list_logs(dir, log, &zxids, &n);
	size_t keep = 0; /* files [0, keep) start at or before zxid */
	while (rc == 0 && keep < n && zxids[keep] <= zxid)
		keep++;
	/* Newest first: a crash half-way leaves a log that still ends in a prefix of its history. */
	for (size_t i = n; rc == 0 && i-- > keep;) {
		char name[ZK_TXNLOG_NAME_MAX], path[ZK_DISK_PATH_BYTES_MAX];
		if (zk_txnlog_name_format(name, sizeof(name), zxids[i]) < 0 || zk_fs_join(path, sizeof(path), dir, name)) {
			rc = ZK_ERANGE;
			break;
		}
		zk_logf(log, ZK_LOG_INFO, "truncate: deleting txn log file=%s (starts after 0x%llx)", path,
			(unsigned long long)zxid);
		if (unlink(path)) {
			int e = errno;
			zk_logf(log, ZK_LOG_ERROR, "truncate: cannot delete txn log file=%s: %s", path, strerror(e));
			rc = errno_rc(e);
		}
	}
	if (rc == 0 && keep > 0)
		rc = cut_file(dir, zxids[keep - 1], zxid, log);
	zk_free(zxids);
	if (rc == 0 && (rc = sync_dir(dir)) != 0) {
		zk_logf(log, ZK_LOG_ERROR, "truncate: cannot fsync dir=%s: %s", dir, strerror(-rc));
		rc = errno_rc(-rc);
	}
	return rc;
}

int zk_disk_truncate(struct zk_disk *d, int64_t zxid)
{
	wait_idle(d);
	if (d->failed)
		return d->failed;
	/* Bytes still buffered belong before the cut point or after it; either way they must be in
	 * the file before it is cut, or a later write would land beyond the cut. */
	if (d->fd >= 0)
		write_out(d);
	if (!d->failed && (d->unsynced || d->n_retired))
		sync_all(d);
	if (d->failed)
		return d->failed;
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
	d->name[0] = '\0';
	d->unsynced = false;
	int rc = truncate_dir(d->dir, zxid, &d->log);
	if (rc)
		fail(d, rc, "truncate", 0);
	return rc;
}
