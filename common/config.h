/* zoo.cfg: ZooKeeper's key=value syntax, the keys zkedge honours with ZooKeeper 3.8's defaults.
 * Keys ZooKeeper takes as Java system properties are accepted with or without "zookeeper.". */
#ifndef ZK_CONFIG_H
#define ZK_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ZK_CFG_PATH_MAX 4096
#define ZK_CFG_SERVERS_MAX 256

struct zk_cfg_server {
	int64_t id;
	char host[256];
	int quorum_port;
	int election_port;
	bool observer;
	char client_host[256]; /* "" when absent */
	int client_port;       /* -1 when absent */
};

struct zk_config {
	char path[ZK_CFG_PATH_MAX]; /* the zoo.cfg file itself */
	int tick_time_ms;             /* tickTime, default 3000 */
	char data_dir[ZK_CFG_PATH_MAX];     /* dataDir, required */
	char data_log_dir[ZK_CFG_PATH_MAX]; /* dataLogDir, default = dataDir */
	int client_port;                    /* clientPort, -1 = none */
	char client_port_address[256];      /* clientPortAddress, "" = all interfaces */
	int max_client_cnxns;               /* maxClientCnxns, default 60, 0 = unlimited */
	int min_session_timeout_ms;         /* default 2 * tickTime (resolved after parse) */
	int max_session_timeout_ms;         /* default 20 * tickTime */
	char fourlw_whitelist[1024];        /* 4lw.commands.whitelist, default "srvr" */
	int global_outstanding_limit;       /* globalOutstandingLimit, default 1000 */
	int64_t jute_maxbuffer;             /* jute.maxbuffer, default 0xfffff */
	char super_digest[512];             /* DigestAuthenticationProvider.superDigest, "" = none */
	bool digest_auth_enabled;           /* DigestAuthenticationProvider.enabled, default true */
	bool extended_types_enabled;        /* extendedTypesEnabled, default false */
	bool skip_acl;                      /* skipACL=yes, default no */
	bool force_sync;                    /* forceSync, default yes */
	bool digest_enabled;                /* digest.enabled, default true */
	bool close_session_txn_enabled;     /* closeSessionTxn.enabled, default true */
	bool readonly_mode_enabled;         /* readonlymode.enabled, default false */
	int64_t container_check_interval_ms;   /* znode.container.checkIntervalMs, default 60000 */
	int container_max_per_minute;          /* znode.container.maxPerMinute, default 10000 */
	int64_t container_max_never_used_ms;   /* znode.container.maxNeverUsedIntervalMs, default 0 */
	int64_t sessionless_cnxn_timeout_ms;   /* nio.sessionlessCnxnTimeout, default 10000 */
	int max_cnxns;                      /* maxCnxns, default 0 = unlimited */
	int64_t snap_count;                 /* snapCount, default 100000 */
	bool snapshot_trust_empty;          /* snapshot.trust.empty, default false */
	int64_t pre_alloc_size_kb;          /* preAllocSize, default 65536 */
	int autopurge_snap_retain_count;    /* autopurge.snapRetainCount, default 3 (min 3) */
	int autopurge_purge_interval_h;     /* autopurge.purgeInterval, default 0 */
	int init_limit;                     /* initLimit, default 0 (required in quorum mode) */
	int sync_limit;                     /* syncLimit */
	int io_threads;                     /* zkedge.ioThreads: connection loops, default = cores */
	int n_servers;
	struct zk_cfg_server servers[ZK_CFG_SERVERS_MAX];
	/* Appended: `conf` prints the first two; mode selection and the quorum/observer shell need
	 * the rest (QuorumPeerConfig's own keys). */
	int secure_client_port;               /* secureClientPort, -1 = none (0 in zoo.cfg = none) */
	char secure_client_port_address[256]; /* secureClientPortAddress, "" = all interfaces */
	int client_port_listen_backlog;       /* clientPortListenBacklog, default -1 = OS default */
	bool peer_type_observer;              /* peerType=observer (the server.N line wins) */
	bool standalone_enabled;              /* standaloneEnabled, default true */
	bool reconfig_enabled;                /* reconfigEnabled, default false */
	bool local_sessions_enabled;          /* localSessionsEnabled, default false */
	bool local_sessions_upgrading_enabled; /* localSessionsUpgradingEnabled, default false */
	bool sync_enabled;                    /* syncEnabled, default true */
	bool quorum_listen_on_all_ips;        /* quorumListenOnAllIPs, default false */
	int observer_master_port;             /* observerMasterPort, -1 = none */
	int connect_to_learner_master_limit;  /* connectToLearnerMasterLimit, default 0 = initLimit */
};

/* Fills defaults. */
void zk_config_defaults(struct zk_config *c);
/* Parses the text of a zoo.cfg (lines "key=value", '#' comments, blank lines; whitespace
 * around key and value trimmed). Unknown keys are reported through `warn` and ignored.
 * Call zk_config_defaults first: parse only overwrites the keys present (and `path` is the
 * caller's). `warn` may be NULL. Returns 0, ZK_EINVAL, or ZK_ENOMEM (one scratch buffer).
 * On a bad value returns a negative ZK_E* and writes "zoo.cfg line N: key: why" to err.
 * Resolves derived defaults (session timeouts, dataLogDir) at the end, and checks
 * minSessionTimeout <= maxSessionTimeout and that dataDir is set. */
int zk_config_parse(struct zk_config *c, const char *text, size_t len, char *err, size_t err_len,
                    void (*warn)(void *ctx, const char *msg), void *warn_ctx);
/* Writes the `conf` four-letter-word text for a standalone server (as format_conf_sizes with
 * both sizes 0). */
int zk_config_format_conf(const struct zk_config *c, char *out, size_t out_len);
/* The same with dataDirSize/dataLogSize (bytes of the version-2 directories, which the caller
 * measures). Paths are printed as Java's File does (duplicate and trailing '/' removed, then
 * "/version-2"); ZooKeeper prints them absolute, so the caller should make dataDir and dataLogDir
 * absolute after parsing. Returns the length written (NUL-terminated) or ZK_ENOSPC. */
int zk_config_format_conf_sizes(const struct zk_config *c, uint64_t data_dir_size,
                                uint64_t data_log_size, char *out, size_t out_len);
/* Quorum mode (QuorumPeerConfig.isDistributed): two or more participants, or one with
 * standaloneEnabled=false. Otherwise the server lines are ignored and the server runs standalone. */
bool zk_config_is_distributed(const struct zk_config *c);
/* Whether a 4lw command ("ruok", ...) is enabled by the whitelist ("*" = all; "srvr" always). */
bool zk_config_4lw_enabled(const struct zk_config *c, const char *cmd);

#endif
