/* zkedge-server: `zkedge-server path/to/zoo.cfg`. Standalone when zoo.cfg has no server.N
 * lines (the quorum roles come with later issues). Reads the config, checks the data
 * directory, builds the core and runs the client-port shell. Exit code 0 on a signal, 1 on a
 * configuration or start-up error, with a message naming the cause. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "io_client.h"
#include "io_disk.h"
#include "io_fs.h"
#include "io_snap.h"
#include "errors.h"
#include "txn.h"
#include "log.h"
#include "server.h"

static void log_stderr(void *ctx, enum zk_log_level level, const char *line)
{
	(void)ctx;
	static const char *names[] = {"ERROR", "WARN", "INFO", "DEBUG"};
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char when[32];
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ldZ %-5s %s\n", when, ts.tv_nsec / 1000000, names[level], line);
}

static int replay_cb(void *ctx, const uint8_t *txn, size_t len, int64_t zxid)
{
	(void)zxid;
	return zk_server_replay(ctx, txn, len);
}

static bool has_txn_logs(const char *data_log_dir)
{
	char dir[ZK_CFG_PATH_MAX + 16];
	snprintf(dir, sizeof(dir), "%s/version-2", data_log_dir);
	DIR *d = opendir(dir);
	bool found = false;
	struct dirent *e;
	while (d && !found && (e = readdir(d)))
		found = !strncmp(e->d_name, "log.", 4);
	if (d)
		closedir(d);
	return found;
}

/* ZooKeeper's loadData: the newest valid snapshot, the txn logs after it, dead sessions' ephemerals
 * dropped, then a snapshot of the result so that recovery starts from here next time. */
static int recover(const struct zk_config *cfg, struct zk_server *core, const struct zk_logger *log,
                   bool *snapshot_later)
{
	*snapshot_later = false;
	struct zk_db *db = zk_server_db(core);
	int64_t snap_zxid = 0;
	struct zk_snap_info info;
	int rc = zk_snap_load_newest(db, cfg->data_dir, &snap_zxid, log, &info);
	bool fresh = rc == ZK_ENOENT;
	if (rc == ZK_ENOENT) {
		if (has_txn_logs(cfg->data_log_dir) && !cfg->snapshot_trust_empty) {
			fprintf(stderr, "zkedge-server: %s/version-2 has txn logs but no snapshot: refusing to start "
					"(set snapshot.trust.empty=true to start from the logs alone)\n",
				cfg->data_log_dir);
			return -1;
		}
		snap_zxid = 0;
	} else if (rc) {
		fprintf(stderr, "zkedge-server: no usable snapshot in %s/version-2 (rc=%d); see the log above\n",
			cfg->data_dir, rc);
		return -1;
	} else if (info.warning[0]) {
		zk_logf(log, ZK_LOG_WARN, "snapshot zxid=0x%llx: %s", (unsigned long long)snap_zxid, info.warning);
	}
	int64_t last_zxid = snap_zxid;
	rc = zk_disk_recover(cfg->data_log_dir, snap_zxid, replay_cb, core, log, &last_zxid);
	if (rc) {
		fprintf(stderr, "zkedge-server: cannot recover the transaction log in %s/version-2 (rc=%d); see "
				"the log above\n",
			cfg->data_log_dir, rc);
		return -1;
	}
	struct zk_now now;
	zk_io_now(&now.mono_ms, &now.wall_ms);
	zk_server_loaded(core, now);
	if (db->last_zxid == snap_zxid && !fresh)
		return 0; /* the newest snapshot is exactly this state */
	if (!fresh) {
		/* Txns were replayed: snapshot them, in the background once serving (the log has them). */
		*snapshot_later = true;
		return 0;
	}
	/* A new data dir gets snapshot.0 before anything else, so that its logs never stand alone. */
	char err[512];
	rc = zk_snap_save(db, db->last_zxid, cfg->data_dir, 0, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "zkedge-server: cannot write the start-up snapshot: %s\n", err);
		return -1;
	}
	return 0;
}

static void warn_cb(void *ctx, const char *msg)
{
	zk_logf(ctx, ZK_LOG_WARN, "%s", msg);
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	size_t r;
	while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
		n += r;
		if (n == cap) {
			if (cap > (16u << 20)) {
				free(buf);
				buf = NULL;
				break;
			}
			char *nb = realloc(buf, cap *= 2);
			if (!nb) {
				free(buf);
				buf = NULL;
			}
			buf = nb;
		}
	}
	fclose(f);
	*len = n;
	return buf;
}

/* The data directories must exist (created if missing) and be writable. */
static int check_dir(const char *key, const char *dir)
{
	char sub[ZK_CFG_PATH_MAX + 16], probe[ZK_CFG_PATH_MAX + 64];
	snprintf(sub, sizeof(sub), "%s/version-2", dir);
	int rc = zk_fs_mkdir_p(sub);
	if (rc) {
		fprintf(stderr, "zkedge-server: %s %s: cannot create %s: %s\n", key, dir, sub, strerror(-rc));
		return -1;
	}
	snprintf(probe, sizeof(probe), "%s/.zkedge-write-test", sub);
	int fd = open(probe, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		fprintf(stderr, "zkedge-server: %s %s is not writable: %s\n", key, dir, strerror(errno));
		return -1;
	}
	close(fd);
	unlink(probe);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fprintf(stderr, "usage: zkedge-server path/to/zoo.cfg\n");
		return 2;
	}
	struct zk_logger log = {log_stderr, NULL, ZK_LOG_INFO};
	const char *lvl = getenv("ZKEDGE_LOG_LEVEL");
	if (lvl && !strcmp(lvl, "debug"))
		log.max_level = ZK_LOG_DEBUG;
	size_t len;
	char *text = read_file(argv[1], &len);
	if (!text) {
		fprintf(stderr, "zkedge-server: cannot read %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	static struct zk_config cfg;
	zk_config_defaults(&cfg);
	snprintf(cfg.path, sizeof(cfg.path), "%s", argv[1]);
	char err[512];
	int rc = zk_config_parse(&cfg, text, len, err, sizeof(err), warn_cb, &log);
	free(text);
	if (rc) {
		fprintf(stderr, "zkedge-server: %s: %s\n", argv[1], err);
		return 1;
	}
	if (cfg.n_servers > 0) {
		fprintf(stderr, "zkedge-server: %s: server.N lines found, but quorum mode is not implemented yet; "
				"remove them to run standalone\n",
			argv[1]);
		return 1;
	}
	if (cfg.client_port <= 0) {
		fprintf(stderr, "zkedge-server: %s: clientPort is not set\n", argv[1]);
		return 1;
	}
	if (check_dir("dataDir", cfg.data_dir) || check_dir("dataLogDir", cfg.data_log_dir))
		return 1;
	/* ZooKeeper reports (conf, dirs) absolute paths: resolve once the directories exist. */
	char abs[PATH_MAX];
	if (realpath(cfg.data_dir, abs))
		snprintf(cfg.data_dir, sizeof(cfg.data_dir), "%s", abs);
	if (realpath(cfg.data_log_dir, abs))
		snprintf(cfg.data_log_dir, sizeof(cfg.data_log_dir), "%s", abs);
	struct zk_now now;
	zk_io_now(&now.mono_ms, &now.wall_ms);
	struct zk_server *core = zk_server_new(&cfg, now, &log);
	if (!core) {
		fprintf(stderr, "zkedge-server: out of memory\n");
		return 1;
	}
	bool snapshot_later;
	if (recover(&cfg, core, &log, &snapshot_later))
		return 1;
	struct zk_io *io = zk_io_new(&cfg, core, &log, err, sizeof(err));
	if (!io) {
		fprintf(stderr, "zkedge-server: %s\n", err);
		zk_server_free(core);
		return 1;
	}
	if (snapshot_later)
		zk_io_snapshot_now(io);
	rc = zk_io_run(io);
	zk_io_free(io);
	zk_server_free(core);
	return rc ? 1 : 0;
}
