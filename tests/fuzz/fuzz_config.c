/* Fuzz target: zoo.cfg text -> zk_config_parse -> zk_config_format_conf and the 4lw whitelist.
 * Checks what must hold for any input: a failed parse leaves an error message, a good one
 * leaves a dataDir, resolved session timeouts and a conf text that fits and names dataDir. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "errors.h"

static void ignore(void *ctx, const char *msg)
{
	(void)ctx;
	if (strlen(msg) >= 512) /* warnings are bounded */
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct zk_config c; /* ~150 KiB */
	static char out[3 * ZK_CFG_PATH_MAX];
	char err[256];
	int rc, n;

	zk_config_defaults(&c);
	rc = zk_config_parse(&c, (const char *)data, size, err, sizeof err, ignore, NULL);
	if (rc != 0) {
		if (rc != ZK_EINVAL && rc != ZK_ENOMEM)
			abort();
		if (err[0] == '\0' || strlen(err) >= sizeof err)
			abort();
		return 0;
	}
	if (c.data_dir[0] == '\0' || c.data_log_dir[0] == '\0')
		abort();
	if (c.min_session_timeout_ms < 0 || c.min_session_timeout_ms > c.max_session_timeout_ms)
		abort();
	if (c.tick_time_ms <= 0 || c.n_servers < 0 || c.n_servers > ZK_CFG_SERVERS_MAX)
		abort();
	n = zk_config_format_conf_sizes(&c, size, size, out, sizeof out);
	if (n <= 0 || (size_t)n != strlen(out) || !strstr(out, "/version-2\n"))
		abort();
	if (!zk_config_4lw_enabled(&c, "srvr"))
		abort();
	(void)zk_config_4lw_enabled(&c, "ruok");
	(void)zk_config_4lw_enabled(&c, "isro");
	(void)zk_config_is_distributed(&c);
	return 0;
}
