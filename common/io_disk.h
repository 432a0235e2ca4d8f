/* The txn-log stage of the shell. Txns are appended under their zxid as token; flush makes
 * everything appended durable and reports the highest token. This version keeps no files: it
 * is the log stage's place in the pipeline, and the transaction log in ZooKeeper's format
 * (issue 4) replaces its body without changing the interface. */
#ifndef ZK_IO_DISK_H
#define ZK_IO_DISK_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "log.h"

struct zk_disk;

struct zk_disk *zk_disk_new(const struct zk_config *cfg, const struct zk_logger *log, char *err, size_t err_len);
void zk_disk_free(struct zk_disk *d);
void zk_disk_append(struct zk_disk *d, uint64_t token, const uint8_t *p, size_t len);
/* Returns 0 or a negative ZK_E*; *token = highest token appended since the last flush (0 = none). */
int zk_disk_flush(struct zk_disk *d, uint64_t *token);

#endif
