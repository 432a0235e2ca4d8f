/* zoo.cfg parser, `conf` text and 4lw whitelist (common/config.c). Expected behaviour is Apache
 * ZooKeeper 3.8's QuorumPeerConfig; the `conf` text was captured from a live 3.8.0 standalone. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "config.h"
#include "errors.h"
#include "zmalloc.h"

static struct zk_config cfg; /* ~150 KiB: not on the stack */
static char err[512];
static char warnings[4096];
static int n_warnings;

static void collect(void *ctx, const char *msg)
{
	size_t used = strlen(warnings);
	(void)ctx;
	n_warnings++;
	snprintf(warnings + used, sizeof warnings - used, "%s\n", msg);
}

/* Defaults, then parse text; warnings collected. */
static int parse(const char *text)
{
	zk_config_defaults(&cfg);
	warnings[0] = '\0';
	n_warnings = 0;
	memset(err, 'x', sizeof err - 1);
	err[sizeof err - 1] = '\0';
	return zk_config_parse(&cfg, text, strlen(text), err, sizeof err, collect, NULL);
}

static void parse_ok(const char *text)
{
	int rc = parse(text);
	if (rc != 0)
		fail_msg("parse failed (%d): %s\n--- input:\n%s", rc, err, text);
	assert_string_equal(err, "");
}

static void test_defaults(void **state)
{
	(void)state;
	zk_config_defaults(&cfg);
	assert_int_equal(cfg.tick_time_ms, 3000);
	assert_int_equal(cfg.client_port, -1);
	assert_int_equal(cfg.max_client_cnxns, 60);
	assert_int_equal(cfg.min_session_timeout_ms, -1);
	assert_int_equal(cfg.max_session_timeout_ms, -1);
	assert_string_equal(cfg.fourlw_whitelist, "srvr");
	assert_int_equal(cfg.global_outstanding_limit, 1000);
	assert_int_equal(cfg.jute_maxbuffer, 0xfffff);
	assert_string_equal(cfg.super_digest, "");
	assert_true(cfg.digest_auth_enabled);
	assert_false(cfg.extended_types_enabled);
	assert_false(cfg.skip_acl);
	assert_true(cfg.force_sync);
	assert_true(cfg.digest_enabled);
	assert_true(cfg.close_session_txn_enabled);
	assert_false(cfg.readonly_mode_enabled);
	assert_int_equal(cfg.container_check_interval_ms, 60000);
	assert_int_equal(cfg.container_max_per_minute, 10000);
	assert_int_equal(cfg.container_max_never_used_ms, 0);
	assert_int_equal(cfg.sessionless_cnxn_timeout_ms, 10000);
	assert_int_equal(cfg.max_cnxns, 0);
	assert_int_equal(cfg.snap_count, 100000);
	assert_int_equal(cfg.pre_alloc_size_kb, 65536);
	assert_int_equal(cfg.autopurge_snap_retain_count, 3);
	assert_int_equal(cfg.autopurge_purge_interval_h, 0);
	assert_int_equal(cfg.init_limit, 0);
	assert_int_equal(cfg.sync_limit, 0);
	assert_int_equal(cfg.io_threads, 0);
	assert_int_equal(cfg.n_servers, 0);
	assert_int_equal(cfg.secure_client_port, -1);
	assert_int_equal(cfg.client_port_listen_backlog, -1);
	assert_true(cfg.standalone_enabled);
	assert_false(cfg.reconfig_enabled);
	assert_true(cfg.sync_enabled);
	assert_int_equal(cfg.observer_master_port, -1);

	/* derived after parse */
	parse_ok("dataDir=/var/zk\n");
	assert_int_equal(cfg.min_session_timeout_ms, 6000);
	assert_int_equal(cfg.max_session_timeout_ms, 60000);
	assert_string_equal(cfg.data_log_dir, "/var/zk");
	assert_int_equal(n_warnings, 0);

	parse_ok("tickTime=2000\ndataDir=/d\nminSessionTimeout=-1\nmaxSessionTimeout=-1\n");
	assert_int_equal(cfg.min_session_timeout_ms, 4000);
	assert_int_equal(cfg.max_session_timeout_ms, 40000);
}

static void test_path_kept(void **state)
{
	(void)state;
	zk_config_defaults(&cfg);
	strcpy(cfg.path, "/etc/zk/zoo.cfg");
	assert_int_equal(zk_config_parse(&cfg, "dataDir=/d", 10, err, sizeof err, NULL, NULL), 0);
	assert_string_equal(cfg.path, "/etc/zk/zoo.cfg");
}

static void test_every_key(void **state)
{
	(void)state;
	parse_ok("tickTime=2500\n"
	         "dataDir=/data/zk\n"
	         "dataLogDir=/log/zk\n"
	         "clientPort=2181\n"
	         "clientPortAddress=127.0.0.1\n"
	         "maxClientCnxns=0\n"
	         "minSessionTimeout=1000\n"
	         "maxSessionTimeout=90000\n"
	         "initLimit=10\n"
	         "syncLimit=5\n"
	         "peerType=observer\n"
	         "autopurge.snapRetainCount=7\n"
	         "autopurge.purgeInterval=24\n"
	         "4lw.commands.whitelist=ruok, mntr\n"
	         "globalOutstandingLimit=50\n"
	         "jute.maxbuffer=4194304\n"
	         "DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=\n"
	         "DigestAuthenticationProvider.enabled=false\n"
	         "extendedTypesEnabled=true\n"
	         "skipACL=yes\n"
	         "forceSync=no\n"
	         "digest.enabled=false\n"
	         "closeSessionTxn.enabled=false\n"
	         "readonlymode.enabled=true\n"
	         "snapCount=5000\n"
	         "preAllocSize=1024\n"
	         "nio.sessionlessCnxnTimeout=3000\n"
	         "maxCnxns=500\n"
	         "znode.container.checkIntervalMs=1000\n"
	         "znode.container.maxPerMinute=20\n"
	         "znode.container.maxNeverUsedIntervalMs=30000\n"
	         "zkedge.ioThreads=4\n"
	         "secureClientPort=2281\n"
	         "secureClientPortAddress=[::1]\n"
	         "clientPortListenBacklog=128\n"
	         "standaloneEnabled=false\n"
	         "reconfigEnabled=true\n"
	         "localSessionsEnabled=true\n"
	         "localSessionsUpgradingEnabled=true\n"
	         "syncEnabled=false\n"
	         "quorumListenOnAllIPs=true\n"
	         "observerMasterPort=2191\n"
	         "connectToLearnerMasterLimit=3\n"
	         "electionAlg=3\n"
	         "server.1=10.0.0.1:2888:3888\n");
	assert_int_equal(n_warnings, 0);
	assert_int_equal(cfg.tick_time_ms, 2500);
	assert_string_equal(cfg.data_dir, "/data/zk");
	assert_string_equal(cfg.data_log_dir, "/log/zk");
	assert_int_equal(cfg.client_port, 2181);
	assert_string_equal(cfg.client_port_address, "127.0.0.1");
	assert_int_equal(cfg.max_client_cnxns, 0);
	assert_int_equal(cfg.min_session_timeout_ms, 1000);
	assert_int_equal(cfg.max_session_timeout_ms, 90000);
	assert_int_equal(cfg.init_limit, 10);
	assert_int_equal(cfg.sync_limit, 5);
	assert_true(cfg.peer_type_observer);
	assert_int_equal(cfg.autopurge_snap_retain_count, 7);
	assert_int_equal(cfg.autopurge_purge_interval_h, 24);
	assert_string_equal(cfg.fourlw_whitelist, "ruok, mntr");
	assert_int_equal(cfg.global_outstanding_limit, 50);
	assert_int_equal(cfg.jute_maxbuffer, 4194304);
	assert_string_equal(cfg.super_digest, "super:D/InIHSb7yEEbrWz8b9l71RjZJU=");
	assert_false(cfg.digest_auth_enabled);
	assert_true(cfg.extended_types_enabled);
	assert_true(cfg.skip_acl);
	assert_false(cfg.force_sync);
	assert_false(cfg.digest_enabled);
	assert_false(cfg.close_session_txn_enabled);
	assert_true(cfg.readonly_mode_enabled);
	assert_int_equal(cfg.snap_count, 5000);
	assert_int_equal(cfg.pre_alloc_size_kb, 1024);
	assert_int_equal(cfg.sessionless_cnxn_timeout_ms, 3000);
	assert_int_equal(cfg.max_cnxns, 500);
	assert_int_equal(cfg.container_check_interval_ms, 1000);
	assert_int_equal(cfg.container_max_per_minute, 20);
	assert_int_equal(cfg.container_max_never_used_ms, 30000);
	assert_int_equal(cfg.io_threads, 4);
	assert_int_equal(cfg.secure_client_port, 2281);
	assert_string_equal(cfg.secure_client_port_address, "::1");
	assert_int_equal(cfg.client_port_listen_backlog, 128);
	assert_false(cfg.standalone_enabled);
	assert_true(cfg.reconfig_enabled);
	assert_true(cfg.local_sessions_enabled);
	assert_true(cfg.local_sessions_upgrading_enabled);
	assert_false(cfg.sync_enabled);
	assert_true(cfg.quorum_listen_on_all_ips);
	assert_int_equal(cfg.observer_master_port, 2191);
	assert_int_equal(cfg.connect_to_learner_master_limit, 3);
	assert_int_equal(cfg.n_servers, 1);
	assert_true(zk_config_is_distributed(&cfg)); /* one participant, standaloneEnabled=false */
}

static void test_booleans(void **state)
{
	static const struct {
		const char *text;
		bool want;
	} cases[] = {
		{ "dataDir=/d\nskipACL=yes", true },       { "dataDir=/d\nskipACL=no", false },
		{ "dataDir=/d\nskipACL=TRUE", true },      { "dataDir=/d\nskipACL=False", false },
		{ "dataDir=/d\nskipACL=Yes", true },       { "dataDir=/d\nskipACL=NO", false },
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		parse_ok(cases[i].text);
		assert_int_equal(cfg.skip_acl, cases[i].want);
	}
	parse_ok("dataDir=/d\nforceSync=true\nextendedTypesEnabled=yes\n");
	assert_true(cfg.force_sync);
	assert_true(cfg.extended_types_enabled);
}

/* Keys ZooKeeper reads as system properties work with and without "zookeeper.". */
static void test_prefix_variants(void **state)
{
	(void)state;
	parse_ok("dataDir=/d\n"
	         "zookeeper.4lw.commands.whitelist=*\n"
	         "zookeeper.globalOutstandingLimit=7\n"
	         "zookeeper.jute.maxbuffer=0x200000\n"
	         "zookeeper.DigestAuthenticationProvider.superDigest=s:x\n"
	         "zookeeper.DigestAuthenticationProvider.enabled=false\n"
	         "zookeeper.extendedTypesEnabled=true\n"
	         "zookeeper.skipACL=yes\n"
	         "zookeeper.forceSync=no\n"
	         "zookeeper.digest.enabled=false\n"
	         "zookeeper.closeSessionTxn.enabled=false\n"
	         "zookeeper.readonlymode.enabled=true\n"
	         "zookeeper.snapCount=10\n"
	         "zookeeper.preAllocSize=16\n"
	         "zookeeper.nio.sessionlessCnxnTimeout=20\n"
	         "zookeeper.maxCnxns=30\n"
	         "zookeeper.znode.container.checkIntervalMs=40\n"
	         "zookeeper.znode.container.maxPerMinute=50\n"
	         "zookeeper.znode.container.maxNeverUsedIntervalMs=60\n"
	         "zookeeper.admin.enableServer=false\n"
	         "zookeeper.ssl.keyStore.location=/k\n"
	         "zookeeper.serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory\n");
	assert_int_equal(n_warnings, 0);
	assert_string_equal(cfg.fourlw_whitelist, "*");
	assert_int_equal(cfg.global_outstanding_limit, 7);
	assert_int_equal(cfg.jute_maxbuffer, 0x200000);
	assert_string_equal(cfg.super_digest, "s:x");
	assert_false(cfg.digest_auth_enabled);
	assert_true(cfg.extended_types_enabled);
	assert_true(cfg.skip_acl);
	assert_false(cfg.force_sync);
	assert_false(cfg.digest_enabled);
	assert_false(cfg.close_session_txn_enabled);
	assert_true(cfg.readonly_mode_enabled);
	assert_int_equal(cfg.snap_count, 10);
	assert_int_equal(cfg.pre_alloc_size_kb, 16);
	assert_int_equal(cfg.sessionless_cnxn_timeout_ms, 20);
	assert_int_equal(cfg.max_cnxns, 30);
	assert_int_equal(cfg.container_check_interval_ms, 40);
	assert_int_equal(cfg.container_max_per_minute, 50);
	assert_int_equal(cfg.container_max_never_used_ms, 60);

	/* QuorumPeerConfig's own keys have no prefixed form (Java would set an unused property) */
	parse_ok("dataDir=/d\nzookeeper.tickTime=100\nzookeeper.server.1=a:1:2\n");
	assert_int_equal(cfg.tick_time_ms, 3000);
	assert_int_equal(cfg.n_servers, 0);
	assert_string_equal(warnings, "unknown key 'zookeeper.tickTime' at line 2 ignored\n"
	                              "unknown key 'zookeeper.server.1' at line 3 ignored\n");
}

static void test_jute_maxbuffer_forms(void **state)
{
	static const struct {
		const char *v;
		int64_t want;
	} cases[] = {
		{ "1048575", 1048575 }, { "0xfffff", 0xfffff }, { "0X10", 16 },
		{ "#20", 32 },          { "010", 8 },            { "+5", 5 },
		{ "0", -1 },            { "0x", -1 },            { "0x1g", -1 },
		{ "09", -1 },           { "-1", -1 },            { "0x80000000", -1 },
		{ "1e6", -1 },          { "0x0x5", -1 },         { "99999999999999999999", -1 },
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char text[128];
		snprintf(text, sizeof text, "dataDir=/d\njute.maxbuffer=%s\n", cases[i].v);
		if (cases[i].want < 0) {
			assert_int_equal(parse(text), ZK_EINVAL);
			assert_non_null(strstr(err, "zoo.cfg line 2: jute.maxbuffer: "));
		} else {
			parse_ok(text);
			assert_int_equal(cfg.jute_maxbuffer, cases[i].want);
		}
	}
}

/* java.util.Properties syntax */
static void test_syntax_details(void **state)
{
	(void)state;
	/* "key = value", "key: value", "key value", tabs, trailing spaces, comments, blank lines */
	parse_ok("# comment\n"
	         "! bang comment\n"
	         "   \t# indented comment\n"
	         "\n"
	         "   \n"
	         "  tickTime   =   2000   \n"
	         "clientPort: 2181\n"
	         "maxClientCnxns 10\n"
	         "initLimit\t=\t4\r\n"
	         "syncLimit=3\r"
	         "dataDir=/a/b\n");
	assert_int_equal(cfg.tick_time_ms, 2000);
	assert_int_equal(cfg.client_port, 2181);
	assert_int_equal(cfg.max_client_cnxns, 10);
	assert_int_equal(cfg.init_limit, 4);
	assert_int_equal(cfg.sync_limit, 3);
	assert_string_equal(cfg.data_dir, "/a/b");

	/* line continuation, escapes, the last duplicate wins, no newline at the end */
	parse_ok("dataDir=/first\n"
	         "dataDir = /data/\\\n"
	         "          zk\n"
	         "dataLogDir=/l\\u00e9g\\ dir\\\\\n"
	         "4lw.commands.whitelist=ruok,\\\r\n"
	         "   stat");
	assert_string_equal(cfg.data_dir, "/data/zk");
	assert_string_equal(cfg.data_log_dir, "/l\xc3\xa9g dir\\");
	assert_string_equal(cfg.fourlw_whitelist, "ruok,stat");

	/* escaped separators belong to the key; a second '=' belongs to the value */
	parse_ok("dataDir=/d\nweird\\=key=1\nsuperDigestLike==x\n");
	assert_string_equal(warnings, "unknown key 'weird=key' at line 2 ignored\n"
	                              "unknown key 'superDigestLike' at line 3 ignored\n");

	/* a continued line is not a comment even if it starts with '#'; line numbers count
	 * natural lines */
	parse_ok("dataDir=/d\\\n#x\nfoo=1\n");
	assert_string_equal(cfg.data_dir, "/d#x");
	assert_string_equal(warnings, "unknown key 'foo' at line 3 ignored\n");

	/* \uXXXX of every UTF-8 length, hex in either case */
	parse_ok("dataDir=/\\u0041\\u00C9\\u20ac\n");
	assert_string_equal(cfg.data_dir, "/A\xc3\x89\xe2\x82\xac");

	/* UTF-8 bytes pass through untouched */
	parse_ok("dataDir=/donn\xc3\xa9" "es\n");
	assert_string_equal(cfg.data_dir, "/donn\xc3\xa9" "es");

	/* a backslash at the very end is dropped */
	parse_ok("dataDir=/d\\");
	assert_string_equal(cfg.data_dir, "/d");
}

static void test_syntax_errors(void **state)
{
	static const char nul_text[] = "dataDir=/d\nclientPort=21\0" "81\n";
	(void)state;
	assert_int_equal(parse("dataDir=/d\nskipACL=\\u00zz\n"), ZK_EINVAL);
	assert_string_equal(err, "zoo.cfg line 2: malformed \\uxxxx escape");
	assert_int_equal(parse("dataDir=/d\n\nskipACL=\\u12"), ZK_EINVAL);
	assert_string_equal(err, "zoo.cfg line 3: malformed \\uxxxx escape");

	zk_config_defaults(&cfg);
	assert_int_equal(zk_config_parse(&cfg, nul_text, sizeof nul_text - 1, err, sizeof err,
	                                 NULL, NULL),
	                 ZK_EINVAL);
	assert_string_equal(err, "zoo.cfg line 2: NUL byte in key or value");
	assert_int_equal(parse("dataDir=/d\nskipACL=\\u0000\n"), ZK_EINVAL);
	assert_string_equal(err, "zoo.cfg line 2: NUL byte in key or value");
}

static void test_unknown_and_unused_keys(void **state)
{
	(void)state;
	parse_ok("dataDir=/d\nnoSuchKey=1\n\n  another.unknown = x y z\n");
	assert_int_equal(n_warnings, 2);
	assert_string_equal(warnings, "unknown key 'noSuchKey' at line 2 ignored\n"
	                              "unknown key 'another.unknown' at line 4 ignored\n");

	/* key shown safely */
	parse_ok("dataDir=/d\nbad\x01key=1\n");
	assert_string_equal(warnings, "unknown key 'bad?key' at line 2 ignored\n");

	/* known, unused: silent */
	parse_ok("dataDir=/d\n"
	         "secureClientPort=2281\n"
	         "standaloneEnabled=true\n"
	         "reconfigEnabled=false\n"
	         "electionAlg=3\n"
	         "metricsProvider.className=org.apache.zookeeper.metrics.prometheus."
	         "PrometheusMetricsProvider\n"
	         "metricsProvider.httpPort=7000\n"
	         "syncEnabled=true\n"
	         "localSessionsEnabled=false\n"
	         "localSessionsUpgradingEnabled=false\n"
	         "quorumListenOnAllIPs=false\n"
	         "observerMasterPort=0\n"
	         "serverCnxnFactory=org.apache.zookeeper.server.NIOServerCnxnFactory\n"
	         "ssl.keyStore.location=/k.jks\n"
	         "ssl.quorum.trustStore.type=PEM\n"
	         "dynamicConfigFile=/etc/zk/zoo.cfg.dynamic\n"
	         "txnLogSizeLimitInKb=-1\n"
	         "snapSizeLimitInKb=4194304\n"
	         "commitLogCount=500\n"
	         "snapshotSizeFactor=0.33\n"
	         "fsync.warningthresholdms=1000\n"
	         "clientPortListenBacklog=-1\n"
	         "admin.enableServer=false\n"
	         "admin.serverPort=8080\n"
	         "sslQuorum=false\n"
	         "portUnification=false\n"
	         "quorum.auth.enableSasl=false\n"
	         "quorum.cnxn.threads.size=20\n"
	         "jvm.pause.monitor=false\n"
	         "multiAddress.enabled=false\n"
	         "authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider\n"
	         "snapshot.trust.empty=true\n"
	         "jute.maxbuffer.extrasize=1024\n"
	         "nio.numSelectorThreads=2\n"
	         "connectToLearnerMasterLimit=0\n"
	         "version=100000000\n");
	assert_int_equal(n_warnings, 0);
	assert_int_equal(cfg.observer_master_port, -1);

	/* hierarchical quorums are not supported: said once per key */
	parse_ok("dataDir=/d\ngroup.1=1:2:3\nweight.1=1\n");
	assert_string_equal(warnings,
	                    "hierarchical quorum key 'group.1' at line 2 ignored (not supported)\n"
	                    "hierarchical quorum key 'weight.1' at line 3 ignored (not supported)\n");
}

static void test_resets(void **state)
{
	(void)state;
	parse_ok("dataDir=/d\nautopurge.snapRetainCount=1\nautopurge.purgeInterval=-5\n"
	         "snapCount=1\n");
	assert_int_equal(cfg.autopurge_snap_retain_count, 3);
	assert_int_equal(cfg.autopurge_purge_interval_h, 0);
	assert_int_equal(cfg.snap_count, 2);
	assert_string_equal(warnings,
	                    "autopurge.snapRetainCount 1 at line 2 is below 3, using 3\n"
	                    "snapCount 1 at line 4 is below 2, using 2\n");
	parse_ok("dataDir=/d\nautopurge.snapRetainCount=-3\n");
	assert_int_equal(cfg.autopurge_snap_retain_count, 3);
	parse_ok("dataDir=/d\nclientPort=0\nsecureClientPort=0\nobserverMasterPort=-1\n");
	assert_int_equal(cfg.client_port, -1);
	assert_int_equal(cfg.secure_client_port, -1);
	assert_int_equal(cfg.observer_master_port, -1);
	parse_ok("dataDir=/d\npeerType=observer\npeerType=Participant\n");
	assert_false(cfg.peer_type_observer);
	parse_ok("dataDir=/d\nclientPort=1\n");
	assert_int_equal(cfg.client_port, 1);
	parse_ok("dataDir=/d\nclientPort=65535\nclientPortAddress=[2001:db8::1]\n");
	assert_int_equal(cfg.client_port, 65535);
	assert_string_equal(cfg.client_port_address, "2001:db8::1");
}

/* Each bad value: ZK_EINVAL and "zoo.cfg line N: key: why". The bad line is line 2. */
static void test_bad_values(void **state)
{
	static const struct {
		const char *line, *err;
	} cases[] = {
		{ "tickTime=0", "tickTime: 0 is out of range [1, 107374182]" },
		{ "tickTime=-5", "tickTime: -5 is out of range [1, 107374182]" },
		{ "tickTime=abc", "tickTime: 'abc' is not a number" },
		{ "tickTime=", "tickTime: '' is not a number" },
		{ "tickTime=20 00", "tickTime: '20 00' is not a number" },
		{ "tickTime=2000ms", "tickTime: '2000ms' is not a number" },
		{ "tickTime=0x10", "tickTime: '0x10' is not a number" },
		{ "tickTime=107374183", "tickTime: 107374183 is out of range [1, 107374182]" },
		{ "clientPort=65536", "clientPort: 65536 is out of range [0, 65535]" },
		{ "clientPort=-1", "clientPort: -1 is out of range [0, 65535]" },
		{ "clientPort=99999999999999999999",
		  "clientPort: 99999999999999999999 is out of range [0, 65535]" },
		{ "secureClientPort=x", "secureClientPort: 'x' is not a number" },
		{ "observerMasterPort=70000", "observerMasterPort: 70000 is out of range "
		                              "[-2147483648, 65535]" },
		{ "maxClientCnxns=-1", "maxClientCnxns: -1 is out of range [0, 2147483647]" },
		{ "maxClientCnxns=2147483648",
		  "maxClientCnxns: 2147483648 is out of range [0, 2147483647]" },
		{ "minSessionTimeout=-2", "minSessionTimeout: -2 is out of range [-1, 2147483647]" },
		{ "maxSessionTimeout=1.5", "maxSessionTimeout: '1.5' is not a number" },
		{ "initLimit=-1", "initLimit: -1 is out of range [0, 2147483647]" },
		{ "syncLimit=ten", "syncLimit: 'ten' is not a number" },
		{ "connectToLearnerMasterLimit=-1",
		  "connectToLearnerMasterLimit: -1 is out of range [0, 2147483647]" },
		{ "clientPortListenBacklog=x", "clientPortListenBacklog: 'x' is not a number" },
		{ "electionAlg=1", "electionAlg: only 3 (fast leader election) is supported" },
		{ "peerType=leader", "peerType: unrecognised peer type 'leader'" },
		{ "autopurge.snapRetainCount=x", "autopurge.snapRetainCount: 'x' is not a number" },
		{ "autopurge.purgeInterval=1h", "autopurge.purgeInterval: '1h' is not a number" },
		{ "standaloneEnabled=maybe", "standaloneEnabled: 'maybe' is not true, false, yes or no" },
		{ "sslQuorum=1", "sslQuorum: '1' is not true, false, yes or no" },
		{ "quorum.cnxn.threads.size=many", "quorum.cnxn.threads.size: 'many' is not a number" },
		{ "globalOutstandingLimit=-1",
		  "globalOutstandingLimit: -1 is out of range [0, 2147483647]" },
		{ "zookeeper.globalOutstandingLimit=x",
		  "zookeeper.globalOutstandingLimit: 'x' is not a number" },
		{ "jute.maxbuffer=0", "jute.maxbuffer: 0 is out of range [1, 2147483647]" },
		{ "zookeeper.jute.maxbuffer=big", "zookeeper.jute.maxbuffer: 'big' is not a number" },
		{ "DigestAuthenticationProvider.enabled=on",
		  "DigestAuthenticationProvider.enabled: 'on' is not true, false, yes or no" },
		{ "extendedTypesEnabled=1", "extendedTypesEnabled: '1' is not true, false, yes or no" },
		{ "skipACL=y", "skipACL: 'y' is not true, false, yes or no" },
		{ "zookeeper.skipACL=", "zookeeper.skipACL: '' is not true, false, yes or no" },
		{ "forceSync=nope", "forceSync: 'nope' is not true, false, yes or no" },
		{ "digest.enabled=2", "digest.enabled: '2' is not true, false, yes or no" },
		{ "closeSessionTxn.enabled=x", "closeSessionTxn.enabled: 'x' is not true, false, yes or no" },
		{ "readonlymode.enabled=x", "readonlymode.enabled: 'x' is not true, false, yes or no" },
		{ "snapCount=-1", "snapCount: -1 is out of range [0, 2147483647]" },
		{ "preAllocSize=-1", "preAllocSize: -1 is out of range [0, 9007199254740991]" },
		{ "nio.sessionlessCnxnTimeout=0",
		  "nio.sessionlessCnxnTimeout: 0 is out of range [1, 2147483647]" },
		{ "maxCnxns=-3", "maxCnxns: -3 is out of range [0, 2147483647]" },
		{ "znode.container.checkIntervalMs=0",
		  "znode.container.checkIntervalMs: 0 is out of range [1, 9223372036854775807]" },
		{ "znode.container.maxPerMinute=-1",
		  "znode.container.maxPerMinute: -1 is out of range [0, 2147483647]" },
		{ "znode.container.maxNeverUsedIntervalMs=-1",
		  "znode.container.maxNeverUsedIntervalMs: -1 is out of range [0, 9223372036854775807]" },
		{ "zkedge.ioThreads=-1", "zkedge.ioThreads: -1 is out of range [0, 1024]" },
		{ "zkedge.ioThreads=1025", "zkedge.ioThreads: 1025 is out of range [0, 1024]" },
		{ "tickTime=\x01" "1\x7f\x02", "tickTime: '1?' is not a number" }, /* trimmed, shown */
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char text[256], want[512];
		snprintf(text, sizeof text, "dataDir=/d\n%s\nclientPort=2181\n", cases[i].line);
		snprintf(want, sizeof want, "zoo.cfg line 2: %s", cases[i].err);
		assert_int_equal(parse(text), ZK_EINVAL);
		if (strcmp(err, want) != 0)
			fail_msg("line '%s': got '%s', want '%s'", cases[i].line, err, want);
	}
}

static void test_too_long(void **state)
{
	static char text[3 * ZK_CFG_PATH_MAX];
	(void)state;
	memset(text, 0, sizeof text);
	strcpy(text, "dataDir=/");
	memset(text + strlen(text), 'a', ZK_CFG_PATH_MAX - 2); /* 4095 bytes: fits */
	assert_int_equal(parse(text), 0);
	assert_int_equal(strlen(cfg.data_dir), ZK_CFG_PATH_MAX - 1);
	strcat(text, "b");
	assert_int_equal(parse(text), ZK_EINVAL);
	assert_string_equal(err, "zoo.cfg line 1: dataDir: value too long (4096 bytes, max 4095)");

	memset(text, 0, sizeof text);
	strcpy(text, "dataDir=/d\n4lw.commands.whitelist=");
	memset(text + strlen(text), 'r', 1024);
	assert_int_equal(parse(text), ZK_EINVAL);
	assert_string_equal(err, "zoo.cfg line 2: 4lw.commands.whitelist: value too long "
	                         "(1024 bytes, max 1023)");

	/* server values and bracketed addresses have their own bounds */
	memset(text, 0, sizeof text);
	strcpy(text, "dataDir=/d\nserver.1=");
	memset(text + strlen(text), 'h', 1100);
	assert_int_equal(parse(text), ZK_EINVAL);
	assert_string_equal(err, "zoo.cfg line 2: server.1: value too long (1100 bytes, max 1023)");
	memset(text, 0, sizeof text);
	strcpy(text, "dataDir=/d\nclientPort=1\nclientPortAddress=[");
	memset(text + strlen(text), 'a', 300);
	strcat(text, "]   \n   ");
	assert_int_equal(parse(text), ZK_EINVAL);
	assert_string_equal(err, "zoo.cfg line 3: clientPortAddress: value too long "
	                         "(300 bytes, max 255)");

	/* a long key is cut in messages */
	memset(text, 0, sizeof text);
	strcpy(text, "dataDir=/d\n");
	memset(text + strlen(text), 'k', 300);
	strcat(text, "=1\n");
	assert_int_equal(parse(text), 0);
	assert_non_null(strstr(warnings, "kkk...' at line 2 ignored"));
	assert_true(strlen(warnings) < 200);
}

static void test_final_checks(void **state)
{
	(void)state;
	assert_int_equal(parse(""), ZK_EINVAL);
	assert_string_equal(err, "dataDir is not set");
	assert_int_equal(parse("tickTime=2000\n# dataDir=/d\n"), ZK_EINVAL);
	assert_string_equal(err, "dataDir is not set");
	assert_int_equal(parse("dataDir=\n"), ZK_EINVAL);
	assert_string_equal(err, "dataDir is not set");

	assert_int_equal(parse("dataDir=/d\ntickTime=2000\nminSessionTimeout=50000\n"), ZK_EINVAL);
	assert_string_equal(err, "minSessionTimeout (50000) must not be larger than "
	                         "maxSessionTimeout (40000)");
	assert_int_equal(parse("dataDir=/d\nminSessionTimeout=10\nmaxSessionTimeout=9\n"), ZK_EINVAL);
	assert_string_equal(err, "minSessionTimeout (10) must not be larger than "
	                         "maxSessionTimeout (9)");
	parse_ok("dataDir=/d\nminSessionTimeout=10\nmaxSessionTimeout=10\n");

	assert_int_equal(parse("dataDir=/d\nclientPortAddress=127.0.0.1\n"), ZK_EINVAL);
	assert_string_equal(err, "clientPortAddress is set but clientPort is not set");
	assert_int_equal(parse("dataDir=/d\nsecureClientPortAddress=::1\n"), ZK_EINVAL);
	assert_string_equal(err, "secureClientPortAddress is set but secureClientPort is not set");

	/* quorum mode needs initLimit and syncLimit */
	assert_int_equal(parse("dataDir=/d\nserver.1=a:1:2\nserver.2=b:1:2\nsyncLimit=2\n"),
	                 ZK_EINVAL);
	assert_string_equal(err, "initLimit is not set");
	assert_int_equal(parse("dataDir=/d\nserver.1=a:1:2\nserver.2=b:1:2\ninitLimit=2\n"),
	                 ZK_EINVAL);
	assert_string_equal(err, "syncLimit is not set");
	assert_int_equal(parse("dataDir=/d\nstandaloneEnabled=false\n"), ZK_EINVAL);
	assert_string_equal(err, "standaloneEnabled = false then number of participants should be >0");
	assert_int_equal(parse("dataDir=/d\nserver.4=a:1:2:observer\n"), ZK_EINVAL);
	assert_string_equal(err, "Observers w/o participants is an invalid configuration");
	assert_int_equal(parse("dataDir=/d\nserver.1=a:1:2\nserver.4=b:1:2:observer\n"), ZK_EINVAL);
	assert_string_equal(err, "Observers w/o quorum is an invalid configuration");

	/* one participant: standalone, as ZooKeeper (it logs an error and ignores the line) */
	parse_ok("dataDir=/d\nserver.1=a:1:2\n");
	assert_false(zk_config_is_distributed(&cfg));
	assert_string_equal(warnings, "only one server specified (ignoring the server lines)\n");
	parse_ok("dataDir=/d\nserver.1=a:1:2\nserver.2=b:1:2\nserver.3=c:1:2:observer\n"
	         "initLimit=10\nsyncLimit=5\n");
	assert_true(zk_config_is_distributed(&cfg));

	/* err and warn may be NULL */
	zk_config_defaults(&cfg);
	assert_int_equal(zk_config_parse(&cfg, "x=1\n", 4, NULL, 0, NULL, NULL), ZK_EINVAL);
	zk_config_defaults(&cfg);
	assert_int_equal(zk_config_parse(&cfg, NULL, 0, err, sizeof err, NULL, NULL), ZK_EINVAL);
	assert_string_equal(err, "dataDir is not set");
}

static void test_servers(void **state)
{
	const struct zk_cfg_server *s;
	(void)state;
	parse_ok("dataDir=/d\ninitLimit=5\nsyncLimit=2\n"
	         "server.1=zk1:2888:3888\n"
	         "server.2 = zk2.example.com : 2889 : 3889 : participant\n"
	         "server.3=10.0.0.3:2888:3888:OBSERVER\n"
	         "server.4=zk4:2888:3888:participant;2181\n"
	         "server.5=zk5:2888:3888;0.0.0.0:2182\n"
	         "server.6=[2001:db8::6]:2888:3888:observer;[2001:db8::6]:2183\n"
	         "server.7=[fe80::7]:2888:3888\n"
	         "server.8=zk8:2888:3888:observer;zk8:2184\n"
	         "server.9=zk9:2888:3888;\n"
	         "server.010=zk10:1:2\n");
	assert_int_equal(cfg.n_servers, 10);
	s = &cfg.servers[0];
	assert_int_equal(s->id, 1);
	assert_string_equal(s->host, "zk1");
	assert_int_equal(s->quorum_port, 2888);
	assert_int_equal(s->election_port, 3888);
	assert_false(s->observer);
	assert_string_equal(s->client_host, "");
	assert_int_equal(s->client_port, -1);
	s = &cfg.servers[1];
	assert_string_equal(s->host, "zk2.example.com");
	assert_int_equal(s->quorum_port, 2889);
	assert_int_equal(s->election_port, 3889);
	assert_false(s->observer);
	assert_true(cfg.servers[2].observer);
	s = &cfg.servers[3];
	assert_string_equal(s->client_host, "0.0.0.0");
	assert_int_equal(s->client_port, 2181);
	s = &cfg.servers[4];
	assert_string_equal(s->client_host, "0.0.0.0");
	assert_int_equal(s->client_port, 2182);
	s = &cfg.servers[5];
	assert_string_equal(s->host, "2001:db8::6");
	assert_true(s->observer);
	assert_string_equal(s->client_host, "2001:db8::6");
	assert_int_equal(s->client_port, 2183);
	s = &cfg.servers[6];
	assert_string_equal(s->host, "fe80::7");
	assert_int_equal(s->quorum_port, 2888);
	assert_int_equal(s->election_port, 3888);
	s = &cfg.servers[7];
	assert_true(s->observer);
	assert_string_equal(s->client_host, "zk8");
	assert_int_equal(s->client_port, 2184);
	assert_int_equal(cfg.servers[8].client_port, -1);
	assert_int_equal(cfg.servers[9].id, 10);
	assert_true(zk_config_is_distributed(&cfg));

	/* the same id twice: the last line wins (server.1 and server.01 are one server) */
	parse_ok("dataDir=/d\nserver.1=a:1:2\nserver.01=b:3:4\n");
	assert_int_equal(cfg.n_servers, 1);
	assert_string_equal(cfg.servers[0].host, "b");
	assert_int_equal(cfg.servers[0].quorum_port, 3);
}

static void test_server_errors(void **state)
{
	static const struct {
		const char *line, *err;
	} cases[] = {
		{ "server.1=zk1:2888", "server.1: 'zk1:2888' is not "
		                       "host:port:port[:participant|:observer][;[host:]port]" },
		{ "server.1=zk1", "server.1: 'zk1' is not "
		                  "host:port:port[:participant|:observer][;[host:]port]" },
		{ "server.1=a:1:2:observer:x", "server.1: 'a:1:2:observer:x' is not "
		                               "host:port:port[:participant|:observer][;[host:]port]" },
		{ "server.1=a:1:2;3;4", "server.1: 'a:1:2;3;4' is not "
		                        "host:port:port[:participant|:observer][;[host:]port]" },
		{ "server.1=[::1:1:2", "server.1: '[::1:1:2' is not "
		                       "host:port:port[:participant|:observer][;[host:]port]" },
		{ "server.1=[::1]x:1:2", "server.1: '[::1]x:1:2' is not "
		                         "host:port:port[:participant|:observer][;[host:]port]" },
		{ "server.1=:1:2", "server.1: empty host" },
		{ "server.1=a:x:2", "server.1: quorum port 'x' is not a port (1..65535)" },
		{ "server.1=a:1:0", "server.1: election port '0' is not a port (1..65535)" },
		{ "server.1=a:1:65536", "server.1: election port '65536' is not a port (1..65535)" },
		{ "server.1=a:2888:2888", "server.1: quorum and election ports must differ" },
		{ "server.1=a:1:2:leader", "server.1: unrecognised peer type 'leader'" },
		{ "server.1=a:1:2;b:c", "server.1: client port 'c' is not a port (1..65535)" },
		{ "server.1=a:1:2;b:1:2", "server.1: client address is not [host:]port" },
		{ "server.1=a:1:2;:5", "server.1: empty host" },
		{ "server.1=a:1:2;[::1]", "server.1: client port '::1' is not a port (1..65535)" },
		{ "server.1=a:1:2|b:1:2", "server.1: several addresses (multiAddress) are not "
		                          "supported" },
		{ "server.x=a:1:2", "server.x: server id is not a number >= 0" },
		{ "server.=a:1:2", "server.: server id is not a number >= 0" },
		{ "server.-1=a:1:2", "server.-1: server id is not a number >= 0" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char text[256], want[512];
		snprintf(text, sizeof text, "dataDir=/d\n%s\n", cases[i].line);
		snprintf(want, sizeof want, "zoo.cfg line 2: %s", cases[i].err);
		assert_int_equal(parse(text), ZK_EINVAL);
		if (strcmp(err, want) != 0)
			fail_msg("line '%s': got '%s', want '%s'", cases[i].line, err, want);
	}
}

static void test_too_many_servers(void **state)
{
	static char text[ZK_CFG_SERVERS_MAX * 40 + 64];
	size_t n;
	(void)state;
	n = (size_t)snprintf(text, sizeof text, "dataDir=/d\ninitLimit=1\nsyncLimit=1\n");
	for (int i = 1; i <= ZK_CFG_SERVERS_MAX; i++)
		n += (size_t)snprintf(text + n, sizeof text - n, "server.%d=h%d:1:2\n", i, i);
	parse_ok(text);
	assert_int_equal(cfg.n_servers, ZK_CFG_SERVERS_MAX);
	snprintf(text + n, sizeof text - n, "server.999=x:1:2\n");
	assert_int_equal(parse(text), ZK_EINVAL);
	assert_string_equal(err, "zoo.cfg line 260: server.999: too many servers (max 256)");
}

static void test_whitelist(void **state)
{
	(void)state;
	parse_ok("dataDir=/d\n");
	assert_true(zk_config_4lw_enabled(&cfg, "srvr"));
	assert_false(zk_config_4lw_enabled(&cfg, "ruok"));
	assert_false(zk_config_4lw_enabled(&cfg, "isro"));
	assert_false(zk_config_4lw_enabled(&cfg, "stat"));
	assert_false(zk_config_4lw_enabled(&cfg, NULL));

	parse_ok("dataDir=/d\nreadonlymode.enabled=true\n");
	assert_true(zk_config_4lw_enabled(&cfg, "isro"));
	assert_true(zk_config_4lw_enabled(&cfg, "srvr"));
	assert_false(zk_config_4lw_enabled(&cfg, "ruok"));

	parse_ok("dataDir=/d\n4lw.commands.whitelist= ruok ,stat,, mntr\t,conf\n");
	assert_true(zk_config_4lw_enabled(&cfg, "ruok"));
	assert_true(zk_config_4lw_enabled(&cfg, "stat"));
	assert_true(zk_config_4lw_enabled(&cfg, "mntr"));
	assert_true(zk_config_4lw_enabled(&cfg, "conf"));
	assert_true(zk_config_4lw_enabled(&cfg, "srvr"));
	assert_false(zk_config_4lw_enabled(&cfg, "isro"));
	assert_false(zk_config_4lw_enabled(&cfg, "dump"));
	assert_false(zk_config_4lw_enabled(&cfg, "RUOK")); /* names are case-sensitive */
	assert_false(zk_config_4lw_enabled(&cfg, "ruo"));
	assert_false(zk_config_4lw_enabled(&cfg, ""));

	parse_ok("dataDir=/d\n4lw.commands.whitelist=*\n");
	{
		static const char *const all[] = { "conf", "cons", "crst", "dirs", "dump", "envi",
			                           "gtmk", "ruok", "stmk", "srst", "srvr", "stat",
			                           "wchc", "wchp", "wchs", "mntr", "isro", "hash" };
		for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
			assert_true(zk_config_4lw_enabled(&cfg, all[i]));
	}
	assert_false(zk_config_4lw_enabled(&cfg, "abcd"));
	assert_false(zk_config_4lw_enabled(&cfg, "rwps"));
	assert_false(zk_config_4lw_enabled(&cfg, "ruok "));
	assert_false(zk_config_4lw_enabled(&cfg, "t ru"));

	parse_ok("dataDir=/d\n4lw.commands.whitelist=ruok, * \n");
	assert_true(zk_config_4lw_enabled(&cfg, "dump"));

	parse_ok("dataDir=/d\n4lw.commands.whitelist=\n");
	assert_true(zk_config_4lw_enabled(&cfg, "srvr"));
	assert_false(zk_config_4lw_enabled(&cfg, "ruok"));

	parse_ok("dataDir=/d\n4lw.commands.whitelist=**,ruok*\n");
	assert_false(zk_config_4lw_enabled(&cfg, "dump"));
	assert_false(zk_config_4lw_enabled(&cfg, "ruok"));
}

/* The text of `echo conf | nc` against Apache ZooKeeper 3.8.0 standalone. */
static void test_conf_format(void **state)
{
	char out[8192];
	int n;
	(void)state;
	parse_ok("tickTime=2000\ndataDir=/srv/zk/data\nclientPort=46935\n"
	         "clientPortAddress=127.0.0.1\n");
	n = zk_config_format_conf_sizes(&cfg, 457, 457, out, sizeof out);
	assert_string_equal(out, "clientPort=46935\n"
	                         "secureClientPort=-1\n"
	                         "dataDir=/srv/zk/data/version-2\n"
	                         "dataDirSize=457\n"
	                         "dataLogDir=/srv/zk/data/version-2\n"
	                         "dataLogSize=457\n"
	                         "tickTime=2000\n"
	                         "maxClientCnxns=60\n"
	                         "minSessionTimeout=4000\n"
	                         "maxSessionTimeout=40000\n"
	                         "clientPortListenBacklog=-1\n"
	                         "serverId=0\n");
	assert_int_equal(n, (int)strlen(out));

	/* second capture: '//' and a trailing '/' normalised, separate log dir, defaults */
	parse_ok("dataDir=/srv/zk//data2/\n"
	         "dataLogDir=/srv/zk/run2/reldir\n"
	         "clientPort=49195\nmaxClientCnxns=0\nminSessionTimeout=-1\n"
	         "maxSessionTimeout = 100000\nclientPortListenBacklog=50\n");
	n = zk_config_format_conf_sizes(&cfg, 0, 457, out, sizeof out);
	assert_string_equal(out, "clientPort=49195\n"
	                         "secureClientPort=-1\n"
	                         "dataDir=/srv/zk/data2/version-2\n"
	                         "dataDirSize=0\n"
	                         "dataLogDir=/srv/zk/run2/reldir/version-2\n"
	                         "dataLogSize=457\n"
	                         "tickTime=3000\n"
	                         "maxClientCnxns=0\n"
	                         "minSessionTimeout=6000\n"
	                         "maxSessionTimeout=100000\n"
	                         "clientPortListenBacklog=50\n"
	                         "serverId=0\n");
	assert_int_equal(n, (int)strlen(out));

	/* zk_config_format_conf = sizes 0; root dir; big sizes; a secure port */
	parse_ok("dataDir=///\nsecureClientPort=2281\n");
	n = zk_config_format_conf(&cfg, out, sizeof out);
	assert_true(n > 0);
	assert_non_null(strstr(out, "clientPort=-1\nsecureClientPort=2281\n"
	                            "dataDir=/version-2\ndataDirSize=0\n"
	                            "dataLogDir=/version-2\ndataLogSize=0\n"));
	n = zk_config_format_conf_sizes(&cfg, UINT64_MAX, 1, out, sizeof out);
	assert_non_null(strstr(out, "dataDirSize=18446744073709551615\n"));

	/* too small a buffer */
	n = zk_config_format_conf(&cfg, out, 10);
	assert_int_equal(n, ZK_ENOSPC);
	assert_int_equal(strlen(out), 9);
	assert_int_equal(zk_config_format_conf(&cfg, NULL, 0), ZK_ENOSPC);
	n = zk_config_format_conf(&cfg, out, sizeof out);
	assert_int_equal(zk_config_format_conf(&cfg, out, (size_t)n), ZK_ENOSPC);
	assert_int_equal(zk_config_format_conf(&cfg, out, (size_t)n + 1), n);
}

static void test_enomem(void **state)
{
	(void)state;
	zk_config_defaults(&cfg);
	zk_malloc_fail_after(1);
	assert_int_equal(zk_config_parse(&cfg, "dataDir=/d", 10, err, sizeof err, NULL, NULL),
	                 ZK_ENOMEM);
	zk_malloc_fail_after(0);
	assert_string_equal(err, "out of memory");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_path_kept),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_booleans),
		cmocka_unit_test(test_prefix_variants),
		cmocka_unit_test(test_jute_maxbuffer_forms),
		cmocka_unit_test(test_syntax_details),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_unknown_and_unused_keys),
		cmocka_unit_test(test_resets),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_final_checks),
		cmocka_unit_test(test_servers),
		cmocka_unit_test(test_server_errors),
		cmocka_unit_test(test_too_many_servers),
		cmocka_unit_test(test_whitelist),
		cmocka_unit_test(test_conf_format),
		cmocka_unit_test(test_enomem),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
