/* Log stage without files (see io_disk.h): durability arrives with the transaction log. */
#include "io_disk.h"

#include <stdlib.h>

struct zk_disk {
	uint64_t pending_token;
	uint64_t appended_bytes;
};

struct zk_disk *zk_disk_new(const struct zk_config *cfg, const struct zk_logger *log, char *err, size_t err_len)
{
	(void)cfg;
	(void)log;
	(void)err;
	(void)err_len;
	return calloc(1, sizeof(struct zk_disk));
}

void zk_disk_free(struct zk_disk *d) { free(d); }

void zk_disk_append(struct zk_disk *d, uint64_t token, const uint8_t *p, size_t len)
{
	(void)p;
	d->appended_bytes += len;
	if (token > d->pending_token)
		d->pending_token = token;
}

int zk_disk_flush(struct zk_disk *d, uint64_t *token)
{
	*token = d->pending_token;
	d->pending_token = 0;
	return 0;
}
