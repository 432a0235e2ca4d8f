/* Fuzz target: the txn-log reader over hostile file bytes, and applying what it yields to a
 * scratch database (so a log that passes its checksums but carries nonsense txns is covered). */
#include <stddef.h>
#include <stdint.h>

#include "txn.h"
#include "txnlog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zk_txnlog_reader r;
	if (zk_txnlog_reader_init(&r, data, size, 1 << 20))
		return 0;
	struct zk_db db;
	if (zk_db_init(&db, 2000, 1, 0))
		return 0;
	struct zk_txn_result res = {0};
	struct zk_txnlog_entry e;
	int st;
	for (int i = 0; i < 10000 && (st = zk_txnlog_next(&r, &e)) == ZK_TXNLOG_ENTRY; i++)
		zk_txn_apply(&db, e.txn, e.len, 0, &res);
	if (!r.done)
		return 0;
	(void)zk_txnlog_entry_follows(&r);
	zk_txn_result_fini(&res);
	zk_db_fini(&db);
	return 0;
}
