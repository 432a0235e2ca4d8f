/* Snapshot files: see io_snap.h. The format is snapshot.c's; this file only does the files,
 * the fork and the directory listings. */
#include "io_snap.h"
#include "io_fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "errors.h"
#include "txnlog.h"
#include "zmalloc.h"

#define DIR_BYTES_MAX (ZK_CFG_PATH_MAX + 16)
#define PATH_BYTES_MAX (DIR_BYTES_MAX + 64)
#define TMP_PREFIX "tmp." ZK_SNAP_PREFIX
#define FILES_MAX 100000 /* files of one kind listed by a purge or a load; more is not a data dir */
#define STATUS_MSG_MAX 256

static int errno_rc(int e) { return (e == ENOSPC || e == EDQUOT) ? ZK_ENOSPC : ZK_EIO; }

static int version_dir(char *out, size_t out_len, const char *dir)
{
	int n = snprintf(out, out_len, "%s/version-2", dir);
	return (n < 0 || (size_t)n >= out_len) ? ZK_ERANGE : 0;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = fsync(fd) ? -errno : 0;
	close(fd);
	return rc;
}

/* ---- writing ---- */

struct fd_sink {
	int fd;
	int err_no;
};

static int fd_write(void *ctx, const void *p, size_t n)
{
	struct fd_sink *s = ctx;
	const uint8_t *b = p;
	while (n > 0) {
		ssize_t k = write(s->fd, b, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			s->err_no = k < 0 ? errno : EIO;
			return errno_rc(s->err_no);
		}
		b += k;
		n -= (size_t)k;
	}
	return 0;
}

/* The reason for err; a long path is cut (the return value is looked at so that GCC's
 * -Wformat-truncation knows the cut is meant). */
static int save_fail(int rc, int e, const char *what, const char *path, char *err, size_t err_len)
{
	if (err_len && snprintf(err, err_len, "%s %s: %s", what, path, strerror(e)) < 0)
		err[0] = 0;
	return rc;
}

/* The whole write, as the foreground save and the child run it. pid names the temp file. */
static int save_file(const struct zk_db *db, int64_t zxid, const char *data_dir, unsigned flags, pid_t pid,
                     char *err, size_t err_len)
{
	char dir[DIR_BYTES_MAX], name[ZK_SNAP_NAME_MAX], tmp_name[ZK_SNAP_NAME_MAX + 32];
	char path[PATH_BYTES_MAX], tmp[PATH_BYTES_MAX];
	if (version_dir(dir, sizeof(dir), data_dir) || zk_snap_name_format(name, sizeof(name), zxid) < 0 ||
	    zk_fs_join(path, sizeof(path), dir, name))
		return save_fail(ZK_ERANGE, ENAMETOOLONG, "snapshot path", data_dir, err, err_len);
	snprintf(tmp_name, sizeof(tmp_name), "tmp.%s.%ld", name, (long)pid);
	if (zk_fs_join(tmp, sizeof(tmp), dir, tmp_name))
		return save_fail(ZK_ERANGE, ENAMETOOLONG, "snapshot path", data_dir, err, err_len);
	int rc = zk_fs_mkdir_p(dir);
	if (rc)
		return save_fail(errno_rc(-rc), -rc, "mkdir", dir, err, err_len);
	struct fd_sink s = {open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), 0};
	if (s.fd < 0)
		return save_fail(errno_rc(errno), errno, "create", tmp, err, err_len);
	rc = zk_snap_write(db, zxid, flags & ZK_SNAP_NO_DIGEST, fd_write, &s);
	if (rc) {
		save_fail(rc, s.err_no, "write", tmp, err, err_len);
		goto out;
	}
	if (!(flags & ZK_SNAP_SAVE_NO_FSYNC) && fsync(s.fd)) {
		rc = save_fail(errno_rc(errno), errno, "fsync", tmp, err, err_len);
		goto out;
	}
	if (close(s.fd)) {
		s.fd = -1;
		rc = save_fail(errno_rc(errno), errno, "close", tmp, err, err_len);
		goto out;
	}
	s.fd = -1;
	if (rename(tmp, path)) {
		rc = save_fail(errno_rc(errno), errno, "rename", tmp, err, err_len);
		goto out;
	}
	/* The rename counts only once the directory is on disk. */
	if (!(flags & ZK_SNAP_SAVE_NO_FSYNC) && (rc = fsync_dir(dir)))
		return save_fail(errno_rc(-rc), -rc, "fsync", dir, err, err_len);
	return 0;
out:
	if (s.fd >= 0)
		close(s.fd);
	unlink(tmp);
	return rc;
}

int zk_snap_save(const struct zk_db *db, int64_t zxid, const char *data_dir, unsigned flags, char *err,
                 size_t err_len)
{
	if (err_len)
		err[0] = 0;
	return save_file(db, zxid, data_dir, flags, getpid(), err, err_len);
}

/* ---- background ---- */

struct zk_snap_job {
	pid_t pid;
	int fd; /* read end of the status pipe, closed by zk_snap_job_free */
	int64_t zxid;
	char tmp[PATH_BYTES_MAX];
	bool done;
	int rc;
	size_t got; /* status bytes read: int32 rc, then the message */
	uint8_t status[4 + STATUS_MSG_MAX];
};

static void close_inherited(int keep)
{
	/* close_range(2) needs Linux 5.9; fall back to a bounded loop. */
	if (keep > 3 && close_range(3, (unsigned)keep - 1, 0) == 0 && close_range((unsigned)keep + 1, ~0U, 0) == 0)
		return;
	if (keep == 3 && close_range(4, ~0U, 0) == 0)
		return;
	long max = sysconf(_SC_OPEN_MAX);
	if (max < 0 || max > 65536)
		max = 65536;
	for (int fd = 3; fd < max; fd++)
		if (fd != keep)
			close(fd);
}

static __attribute__((noreturn)) void child(const struct zk_db *db, int64_t zxid, const char *data_dir,
                                             unsigned flags, int status_fd)
{
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	close_inherited(status_fd);
	uint8_t status[4 + STATUS_MSG_MAX];
	char *msg = (char *)status + 4;
	msg[0] = 0;
	int rc = save_file(db, zxid, data_dir, flags, getpid(), msg, STATUS_MSG_MAX);
	zk_put_be32(status, (uint32_t)rc);
	size_t n = 4 + strlen(msg);
	/* A pipe takes 4 KiB at once (PIPE_BUF): one write, no partial status. */
	while (write(status_fd, status, n) < 0 && errno == EINTR)
		;
	_exit(rc ? 1 : 0);
}

int zk_snap_save_bg(const struct zk_db *db, int64_t zxid, const char *data_dir, unsigned flags,
                    struct zk_snap_job **job, char *err, size_t err_len)
{
	if (err_len)
		err[0] = 0;
	*job = NULL;
	struct zk_snap_job *j = zk_calloc(1, sizeof(*j));
	if (!j)
		return ZK_ENOMEM;
	int fds[2];
	if (pipe2(fds, O_CLOEXEC)) {
		int e = errno;
		zk_free(j);
		return save_fail(ZK_EIO, e, "pipe", "for the snapshot child", err, err_len);
	}
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(fds[0]);
		close(fds[1]);
		zk_free(j);
		return save_fail(e == ENOMEM || e == EAGAIN ? ZK_ENOMEM : ZK_EIO, e, "fork", "for the snapshot", err,
				 err_len);
	}
	if (pid == 0)
		child(db, zxid, data_dir, flags, fds[1]);
	close(fds[1]);
	fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
	j->pid = pid;
	j->fd = fds[0];
	j->zxid = zxid;
	char dir[DIR_BYTES_MAX], name[ZK_SNAP_NAME_MAX];
	if (!version_dir(dir, sizeof(dir), data_dir) && zk_snap_name_format(name, sizeof(name), zxid) > 0)
		snprintf(j->tmp, sizeof(j->tmp), "%s/tmp.%s.%ld", dir, name, (long)pid);
	*job = j;
	return 0;
}

int zk_snap_job_fd(const struct zk_snap_job *job) { return job->fd; }

int64_t zk_snap_job_zxid(const struct zk_snap_job *job) { return job->zxid; }

static void job_result(struct zk_snap_job *j, int wstatus, bool reaped, char *err, size_t err_len)
{
	if (j->got >= 4) {
		j->rc = (int32_t)zk_get_be32(j->status);
		size_t n = j->got - 4;
		if (err_len)
			snprintf(err, err_len, "%.*s", (int)n, (const char *)j->status + 4);
	} else if (reaped && WIFSIGNALED(wstatus)) {
		j->rc = ZK_EIO;
		if (err_len)
			snprintf(err, err_len, "snapshot child killed by signal %d", WTERMSIG(wstatus));
		unlink(j->tmp);
	} else {
		j->rc = ZK_EIO;
		if (err_len)
			snprintf(err, err_len, "snapshot child exited without a status");
		unlink(j->tmp);
	}
	/* A status with rc 0 and a dead child is still a snapshot in place: it was renamed first. */
}

int zk_snap_job_poll(struct zk_snap_job *job, char *err, size_t err_len)
{
	if (err_len)
		err[0] = 0;
	if (job->done) {
		if (err_len && job->rc && job->got > 4)
			snprintf(err, err_len, "%.*s", (int)(job->got - 4), (const char *)job->status + 4);
		return job->rc;
	}
	bool eof = false;
	for (;;) {
		uint8_t scratch[64];
		uint8_t *dst = job->got < sizeof(job->status) ? job->status + job->got : scratch;
		size_t room = job->got < sizeof(job->status) ? sizeof(job->status) - job->got : sizeof(scratch);
		ssize_t k = read(job->fd, dst, room);
		if (k > 0) {
			if (dst != scratch)
				job->got += (size_t)k;
			continue;
		}
		if (k == 0)
			eof = true;
		else if (errno == EINTR)
			continue;
		break; /* EAGAIN: nothing more yet */
	}
	if (!eof)
		return 1;
	/* EOF: the child closed its descriptors, so it is exiting; reaping it waits that long. */
	int wstatus = 0;
	pid_t r;
	while ((r = waitpid(job->pid, &wstatus, 0)) < 0 && errno == EINTR)
		;
	job_result(job, wstatus, r == job->pid, err, err_len);
	/* The fd stays open until zk_snap_job_free: the caller's event on it must go first. */
	job->done = true;
	return job->rc;
}

void zk_snap_job_free(struct zk_snap_job *job)
{
	if (!job)
		return;
	if (!job->done) {
		kill(job->pid, SIGKILL);
		while (waitpid(job->pid, NULL, 0) < 0 && errno == EINTR)
			;
		if (job->tmp[0])
			unlink(job->tmp);
	}
	close(job->fd);
	zk_free(job);
}

/* ---- listing ---- */

struct zxids {
	int64_t *v;
	size_t n, cap;
};

static int zxids_push(struct zxids *z, int64_t x)
{
	if (z->n == FILES_MAX)
		return ZK_ERANGE;
	if (z->n == z->cap) {
		size_t cap = z->cap ? z->cap * 2 : 64;
		int64_t *v = zk_realloc(z->v, cap * sizeof(*v));
		if (!v)
			return ZK_ENOMEM;
		z->v = v;
		z->cap = cap;
	}
	z->v[z->n++] = x;
	return 0;
}

static int cmp_zxid(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* Reads a whole snapshot file's size and last 5 bytes: Util.isValidSnapshot. */
static bool quick_valid(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	struct stat st;
	uint8_t tail[5];
	bool ok = !fstat(fd, &st) && st.st_size >= ZK_SNAP_MIN_BYTES &&
		  pread(fd, tail, sizeof(tail), st.st_size - (off_t)sizeof(tail)) == (ssize_t)sizeof(tail) &&
		  zk_snap_tail_ok(tail, (uint64_t)st.st_size);
	close(fd);
	return ok;
}

/* ---- loading ---- */

/* Maps and loads one file. Returns 0 or a negative ZK_E* with the reason in err. */
static int load_file(struct zk_db *db, const char *path, int64_t zxid, struct zk_snap_info *info, char *err,
                     size_t err_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return save_fail(ZK_EIO, errno, "open", path, err, err_len);
	struct stat st;
	if (fstat(fd, &st)) {
		int e = errno;
		close(fd);
		return save_fail(ZK_EIO, e, "stat", path, err, err_len);
	}
	if (st.st_size < ZK_SNAP_MIN_BYTES) {
		close(fd);
		snprintf(err, err_len, "%lld bytes: not a snapshot", (long long)st.st_size);
		return ZK_EINVAL;
	}
	/* Mapped, not read: a snapshot as big as the tree is not held twice on the heap. */
	void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	int e = errno;
	close(fd);
	if (p == MAP_FAILED)
		return save_fail(ZK_EIO, e, "mmap", path, err, err_len);
	madvise(p, (size_t)st.st_size, MADV_SEQUENTIAL);
	int rc = zk_snap_load(db, p, (size_t)st.st_size, zxid, 0, info, err, err_len);
	munmap(p, (size_t)st.st_size);
	return rc;
}

/* Lists snapshot.* (plain ones into `plain`); removes leftover temp files if asked. */
static int list_snapshots(const char *dir, struct zxids *plain, struct zxids *compressed, bool clean_tmp,
                          const struct zk_logger *log)
{
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? ZK_ENOENT : ZK_EIO;
	int rc = 0;
	struct dirent *de;
	while (!rc && (de = readdir(d))) {
		int64_t z;
		int k = zk_snap_name_parse(de->d_name, &z);
		if (k == 0) {
			rc = zxids_push(plain, z);
		} else if (k == 1) {
			if (compressed)
				rc = zxids_push(compressed, z);
			else
				zk_logf(log, ZK_LOG_WARN, "skipping compressed snapshot file=%s/%s (not supported)", dir,
					de->d_name);
		} else if (clean_tmp && !strncmp(de->d_name, TMP_PREFIX, strlen(TMP_PREFIX))) {
			char path[PATH_BYTES_MAX];
			if (!zk_fs_join(path, sizeof(path), dir, de->d_name) && !unlink(path))
				zk_logf(log, ZK_LOG_INFO, "removed unfinished snapshot file=%s", path);
		}
	}
	closedir(d);
	return rc;
}

int zk_snap_load_newest(struct zk_db *db, const char *data_dir, int64_t *zxid, const struct zk_logger *log,
                        struct zk_snap_info *info)
{
	char dir[DIR_BYTES_MAX];
	if (version_dir(dir, sizeof(dir), data_dir))
		return ZK_ERANGE;
	struct zxids snaps = {0};
	int rc = list_snapshots(dir, &snaps, NULL, true, log);
	if (rc == 0 && snaps.n == 0)
		rc = ZK_ENOENT;
	if (rc) {
		if (rc != ZK_ENOENT)
			zk_logf(log, ZK_LOG_ERROR, "cannot list snapshots dir=%s rc=%d", dir, rc);
		zk_free(snaps.v);
		return rc;
	}
	qsort(snaps.v, snaps.n, sizeof(snaps.v[0]), cmp_zxid);
	rc = ZK_EINVAL;
	size_t tries = 0;
	for (size_t i = snaps.n; i-- > 0 && tries < ZK_SNAP_LOAD_TRIES_MAX;) {
		char name[ZK_SNAP_NAME_MAX], path[PATH_BYTES_MAX], err[512];
		zk_snap_name_format(name, sizeof(name), snaps.v[i]);
		if (zk_fs_join(path, sizeof(path), dir, name))
			continue;
		if (!quick_valid(path)) {
			zk_logf(log, ZK_LOG_WARN, "skipping snapshot file=%s: too short or no final seal", path);
			continue;
		}
		tries++;
		struct zk_snap_info local;
		struct zk_snap_info *in = info ? info : &local;
		int k = load_file(db, path, snaps.v[i], in, err, sizeof(err));
		if (k == ZK_ENOMEM) {
			zk_logf(log, ZK_LOG_ERROR, "out of memory loading snapshot file=%s", path);
			rc = k;
			break;
		}
		if (k) {
			zk_logf(log, ZK_LOG_WARN, "skipping snapshot file=%s: %s", path, err);
			continue;
		}
		zk_logf(log, ZK_LOG_INFO,
			"loaded snapshot file=%s zxid=0x%" PRIx64 " nodes=%" PRIu64 " sessions=%u digest_zxid=0x%" PRIx64
			" digest=%s",
			path, (uint64_t)snaps.v[i], in->nodes, in->sessions, (uint64_t)in->digest_zxid,
			in->digest_check == ZK_SNAP_DIGEST_MATCH      ? "match"
			: in->digest_check == ZK_SNAP_DIGEST_MISMATCH ? "MISMATCH"
			: in->digest_check == ZK_SNAP_DIGEST_DEFERRED ? "deferred"
								      : "none");
		if (in->warning[0])
			zk_logf(log, ZK_LOG_WARN, "snapshot file=%s: %s", path, in->warning);
		*zxid = snaps.v[i];
		rc = 0;
		break;
	}
	if (rc == ZK_EINVAL)
		zk_logf(log, ZK_LOG_ERROR, "no usable snapshot among %zu dir=%s", snaps.n, dir);
	zk_free(snaps.v);
	return rc;
}

/* ---- purging ---- */

static int list_logs(const char *dir, struct zxids *logs)
{
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : ZK_EIO;
	int rc = 0;
	struct dirent *de;
	while (!rc && (de = readdir(d))) {
		int64_t z;
		if (!zk_txnlog_name_parse(de->d_name, &z))
			rc = zxids_push(logs, z);
	}
	closedir(d);
	return rc;
}

/* Deletes the snapshot.* (logs: log.*) files of dir whose zxid is below cut. */
static int purge_dir(const char *dir, bool logs, int64_t cut, const struct zk_logger *log)
{
	if (cut == INT64_MIN)
		return 0;
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	int deleted = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		int64_t z;
		int k = logs ? zk_txnlog_name_parse(de->d_name, &z) : zk_snap_name_parse(de->d_name, &z);
		if (k < 0 || z >= cut)
			continue;
		char path[PATH_BYTES_MAX];
		if (zk_fs_join(path, sizeof(path), dir, de->d_name))
			continue;
		if (unlink(path)) {
			zk_logf(log, ZK_LOG_WARN, "purge: cannot delete file=%s: %s", path, strerror(errno));
			continue;
		}
		zk_logf(log, ZK_LOG_INFO, "purge: deleted file=%s", path);
		deleted++;
	}
	closedir(d);
	return deleted;
}

int zk_snap_purge(const char *data_dir, const char *data_log_dir, int retain, const struct zk_logger *log)
{
	char sdir[DIR_BYTES_MAX], ldir[DIR_BYTES_MAX];
	if (version_dir(sdir, sizeof(sdir), data_dir) || version_dir(ldir, sizeof(ldir), data_log_dir))
		return ZK_ERANGE;
	struct zxids all = {0}, compressed = {0}, valid = {0}, logs = {0};
	int rc = list_snapshots(sdir, &all, &compressed, false, log);
	if (rc == ZK_ENOENT)
		rc = 0;
	if (!rc)
		rc = list_logs(ldir, &logs);
	/* Only uncompressed snapshots that pass the quick check count as kept ones; compressed
	 * ones (which we cannot check) are deleted by the same cut, as ZooKeeper does. */
	for (size_t i = 0; !rc && i < all.n; i++) {
		char name[ZK_SNAP_NAME_MAX], path[PATH_BYTES_MAX];
		zk_snap_name_format(name, sizeof(name), all.v[i]);
		if (!zk_fs_join(path, sizeof(path), sdir, name) && quick_valid(path))
			rc = zxids_push(&valid, all.v[i]);
	}
	int deleted = 0;
	if (!rc) {
		qsort(valid.v, valid.n, sizeof(int64_t), cmp_zxid);
		qsort(logs.v, logs.n, sizeof(int64_t), cmp_zxid);
		int64_t snap_cut, log_cut;
		zk_snap_purge_cuts(valid.v, valid.n, logs.v, logs.n, retain, &snap_cut, &log_cut);
		deleted = purge_dir(sdir, false, snap_cut, log) + purge_dir(ldir, true, log_cut, log);
	}
	zk_free(all.v);
	zk_free(compressed.v);
	zk_free(valid.v);
	zk_free(logs.v);
	return rc ? rc : deleted;
}

int zk_snap_remove_after(const char *data_dir, int64_t zxid, const struct zk_logger *log)
{
	char dir[DIR_BYTES_MAX];
	if (version_dir(dir, sizeof(dir), data_dir))
		return ZK_ERANGE;
	DIR *d = opendir(dir);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		zk_logf(log, ZK_LOG_ERROR, "cannot list snapshots dir=%s: %s", dir, strerror(errno));
		return ZK_EIO;
	}
	int deleted = 0, rc = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		int64_t z;
		char path[PATH_BYTES_MAX];
		if (zk_snap_name_parse(de->d_name, &z) < 0 || z <= zxid || zk_fs_join(path, sizeof(path), dir, de->d_name))
			continue;
		if (unlink(path)) {
			int e = errno;
			zk_logf(log, ZK_LOG_ERROR, "truncate: cannot delete snapshot file=%s: %s", path, strerror(e));
			rc = errno_rc(e);
			continue;
		}
		zk_logf(log, ZK_LOG_INFO, "truncate: deleted snapshot file=%s (after zxid=0x%" PRIx64 ")", path,
			(uint64_t)zxid);
		deleted++;
	}
	closedir(d);
	int e = deleted ? -fsync_dir(dir) : 0;
	if (e) {
		zk_logf(log, ZK_LOG_ERROR, "cannot fsync dir=%s: %s", dir, strerror(e));
		rc = errno_rc(e);
	}
	return rc ? rc : deleted;
}
