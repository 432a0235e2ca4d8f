/* zkedge-server: `zkedge-server path/to/zoo.cfg`. Standalone when zoo.cfg has fewer than two
 * participants (server.N lines) and standaloneEnabled is not false, as ZooKeeper decides
 * (QuorumPeerConfig.isDistributed); otherwise a member of an ensemble: dataDir/myid names it,
 * the epoch files are read or created, and the peer (election + ZAB) runs around the same core,
 * with the quorum shell (io_quorum.h) beside the client one. Reads the config, checks the data
 * directory, recovers the database, builds the core and runs the shells. Exit code 0 on a
 * signal, 1 on a configuration or start-up error, with a message naming the cause. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "io_client.h"
#include "io_quorum.h"
#include "io_disk.h"
#include "io_fs.h"
#include "io_snap.h"
#include "errors.h"
#include "txn.h"
#include "log.h"
#include "notif.h"
#include "peer.h"
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

/* ---- Quorum mode ---- */

static const struct zk_cfg_server *server_line(const struct zk_config *cfg, int64_t sid)
{
	for (int i = 0; i < cfg->n_servers; i++)
		if (cfg->servers[i].id == sid)
			return &cfg->servers[i];
	return NULL;
}

/* dataDir/myid (QuorumPeerConfig.setupMyId): its first line, a decimal long. */
static int read_myid(const struct zk_config *cfg, int64_t *myid)
{
	char path[ZK_CFG_PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/myid", cfg->data_dir);
	int rc = zk_io_quorum_read_long(path, myid);
	if (rc == ZK_ENOENT)
		fprintf(stderr, "zkedge-server: %s file is missing (needed in quorum mode: %s has server.N lines)\n", path,
			cfg->path);
	else if (rc == ZK_EINVAL)
		fprintf(stderr, "zkedge-server: %s: the first line is not a number (serverid)\n", path);
	else if (rc)
		fprintf(stderr, "zkedge-server: cannot read %s: %s\n", path, strerror(errno));
	else if (!server_line(cfg, *myid))
		fprintf(stderr, "zkedge-server: %s: myid %lld has no server.%lld line in %s\n", path, (long long)*myid,
			(long long)*myid, cfg->path);
	else
		return 0;
	return -1;
}

/* The client address may come from the server line's ";[host:]port" part (setupClientPort); a
 * clientPort / clientPortAddress given as well must agree with it. */
static int quorum_client_port(struct zk_config *cfg, int64_t myid)
{
	const struct zk_cfg_server *me = server_line(cfg, myid);
	if (me->client_port <= 0)
		return 0;
	bool any = !me->client_host[0] || !strcmp(me->client_host, "0.0.0.0");
	if ((cfg->client_port > 0 && cfg->client_port != me->client_port) ||
	    (cfg->client_port_address[0] && !any && strcmp(cfg->client_port_address, me->client_host))) {
		fprintf(stderr, "zkedge-server: %s: clientPort/clientPortAddress %s:%d differ from server.%lld's client "
				"address %s:%d\n",
			cfg->path, cfg->client_port_address[0] ? cfg->client_port_address : "0.0.0.0", cfg->client_port,
			(long long)myid, any ? "0.0.0.0" : me->client_host, me->client_port);
		return -1;
	}
	cfg->client_port = me->client_port;
	if (!any)
		snprintf(cfg->client_port_address, sizeof(cfg->client_port_address), "%s", me->client_host);
	return 0;
}

static int write_epoch(const struct zk_config *cfg, const char *name, int64_t epoch)
{
	char err[512];
	if (zk_io_quorum_epoch_write(cfg->data_dir, name, epoch, err, sizeof(err)) == 0)
		return 0;
	fprintf(stderr, "zkedge-server: cannot write %s: %s\n", name, err);
	return -1;
}

/* Reads one epoch file; a missing one is created with the epoch of the last zxid. */
static int epoch_or_create(const struct zk_config *cfg, const struct zk_logger *log, const char *name,
                           int64_t zxid_epoch, int64_t *epoch)
{
	int rc = zk_io_quorum_epoch_read(cfg->data_dir, name, epoch);
	if (rc == ZK_ENOENT) {
		*epoch = zxid_epoch;
		zk_logf(log, ZK_LOG_INFO, "%s not found: creating it with a reasonably safe value of %lld", name,
			(long long)zxid_epoch);
		return write_epoch(cfg, name, zxid_epoch);
	}
	if (rc)
		fprintf(stderr, "zkedge-server: %s/version-2/%s: %s\n", cfg->data_dir, name,
			rc == ZK_EINVAL ? "not a number" : strerror(errno));
	return rc ? -1 : 0;
}

/* QuorumPeer.loadDataBase's epoch checks (protocol.md 7.5), after recovery. */
static int load_epochs(const struct zk_config *cfg, const struct zk_logger *log, int64_t last_zxid,
                       int64_t *accepted, int64_t *current)
{
	int64_t zxid_epoch = (int64_t)((uint64_t)last_zxid >> 32);
	if (epoch_or_create(cfg, log, ZK_EPOCH_FILE_CURRENT, zxid_epoch, current))
		return -1;
	if (zxid_epoch > *current) {
		/* An interrupted write of currentEpoch leaves the new value in currentEpoch.tmp. */
		int64_t tmp;
		if (zk_io_quorum_epoch_read(cfg->data_dir, ZK_EPOCH_FILE_CURRENT ".tmp", &tmp)) {
			fprintf(stderr, "zkedge-server: the current epoch, %lld, is older than the last zxid, 0x%llx\n",
				(long long)*current, (unsigned long long)last_zxid);
			return -1;
		}
		zk_logf(log, ZK_LOG_INFO, "currentEpoch.tmp found: setting the current epoch to %lld", (long long)tmp);
		*current = tmp;
		if (write_epoch(cfg, ZK_EPOCH_FILE_CURRENT, tmp))
			return -1;
	}
	if (epoch_or_create(cfg, log, ZK_EPOCH_FILE_ACCEPTED, zxid_epoch, accepted))
		return -1;
	if (*accepted < *current) {
		fprintf(stderr, "zkedge-server: the accepted epoch, %lld, is less than the current epoch, %lld\n",
			(long long)*accepted, (long long)*current);
		return -1;
	}
	return 0;
}

/* After recovery: the peer, both shells, the first election, then the loop until a signal. */
static int run_quorum(const struct zk_config *cfg, int64_t myid, struct zk_server *core,
                      const struct zk_logger *log, bool snapshot_later)
{
	int64_t accepted, current;
	if (load_epochs(cfg, log, (int64_t)zk_server_last_zxid(core), &accepted, &current))
		return 1;
	uint64_t seed;
	if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
		seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	struct zk_peer *peer = zk_peer_new(cfg, myid, core, log, seed);
	if (!peer) {
		fprintf(stderr, "zkedge-server: out of memory\n");
		return 1;
	}
	zk_peer_set_epochs(peer, accepted, current);
	char err[512];
	struct zk_io *io = zk_io_new(cfg, core, log, err, sizeof(err));
	struct zk_io_quorum *qs = io ? zk_io_quorum_new(cfg, myid, io, peer, log, err, sizeof(err)) : NULL;
	if (!qs) {
		fprintf(stderr, "zkedge-server: %s\n", err);
		zk_io_free(io);
		zk_peer_free(peer);
		return 1;
	}
	const struct zk_cfg_server *me = server_line(cfg, myid);
	zk_logf(log, ZK_LOG_INFO, "quorum member myid=%lld role=%s voters=%d acceptedEpoch=%lld currentEpoch=%lld "
		"last_zxid=0x%llx", (long long)myid, me->observer ? "observer" : "participant", zk_quorum_voters(cfg),
		(long long)accepted, (long long)current, (unsigned long long)zk_server_last_zxid(core));
	if (snapshot_later)
		zk_io_snapshot_now(io);
	struct zk_now now;
	zk_io_now(&now.mono_ms, &now.wall_ms);
	zk_peer_start(peer, now, zk_io_out(io));
	zk_io_apply(io);
	int rc = zk_io_run(io);
	zk_io_quorum_free(qs);
	zk_io_free(io);
	zk_peer_free(peer);
	return rc ? 1 : 0;
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
	bool quorum = zk_config_is_distributed(&cfg);
	int64_t myid = 0;
	if (quorum && (read_myid(&cfg, &myid) || quorum_client_port(&cfg, myid)))
		return 1;
	if (!quorum && cfg.n_servers > 0)
		zk_logf(&log, ZK_LOG_INFO, "fewer than two participants and standaloneEnabled=true: running standalone, "
			"server.N lines ignored");
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
	if (quorum)
		zk_server_set_myid(core, myid); /* before recovery: session ids carry it */
	bool snapshot_later;
	if (recover(&cfg, core, &log, &snapshot_later))
		return 1;
	if (quorum) {
		rc = run_quorum(&cfg, myid, core, &log, snapshot_later);
		zk_server_free(core);
		return rc;
	}
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
