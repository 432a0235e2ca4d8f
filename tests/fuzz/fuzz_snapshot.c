/* Fuzz target: the snapshot loader over hostile bytes, as a file (first byte even) or as the
 * body of a SNAP packet (odd). A load either fails cleanly or yields a database that can be
 * written out again. */
#include <stddef.h>
#include <stdint.h>

#include "snapshot.h"
#include "txn.h"

static int discard(void *ctx, const void *p, size_t n)
{
	(void)ctx;
	(void)p;
	(void)n;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned flags = (data[0] & 1) ? ZK_SNAP_WIRE : 0;
	struct zk_db db;
	if (zk_db_init(&db, 2000, 1, 0))
		return 0;
	struct zk_snap_info info;
	char err[256];
	if (zk_snap_load(&db, data + 1, size - 1, 5, flags, &info, err, sizeof(err)) == 0)
		zk_snap_write(&db, db.last_zxid, flags, discard, NULL);
	zk_db_fini(&db);
	return 0;
}
