/* Transactions (zookeeper.jute module org.apache.zookeeper.txn): TxnHeader + record, as they
 * travel in the log and in PROPOSAL/INFORM packets, and their application to the database.
 * The same zk_txn_apply serves the live pipeline, log replay and learners, so a txn means one
 * thing everywhere. Byte layouts in protocol.md section 6. */
#ifndef ZK_TXN_H
#define ZK_TXN_H

#include <stdbool.h>
#include <stdint.h>

#include "dtree.h"
#include "jute.h"
#include "records.h"
#include "session.h"

#define ZK_TXN_HEADER_BYTES 32

struct zk_txn_header {
	int64_t client_id;
	int32_t cxid;
	int64_t zxid;
	int64_t time_ms;
	int32_t type;
};

/* What a server has that txns change: the tree and the session table. */
struct zk_db {
	struct zk_dtree tree;
	struct zk_sessions sessions;
	int64_t last_zxid; /* last applied */
};

struct zk_op_result {
	int32_t type; /* opcode, or ZK_OP_ERROR */
	int32_t err;
	const char *path; /* borrowed from the txn bytes */
	uint32_t path_len;
	bool has_stat;
	struct zk_stat stat;
};

struct zk_txn_result {
	struct zk_txn_header hdr;
	struct zk_op_result op; /* top-level result (type = hdr.type) */
	struct zk_op_result *sub;
	uint32_t n_sub, cap_sub;
};

void zk_txn_header_write(struct zk_wbuf *w, const struct zk_txn_header *h);
int zk_txn_header_read(struct zk_rbuf *r, struct zk_txn_header *h);

/* Record writers used by prep. */
void zk_txn_write_create(struct zk_wbuf *w, int32_t type, const char *path, size_t path_len,
                         struct zk_bytes data, const uint8_t *acl, size_t acl_len, bool ephemeral,
                         int32_t parent_cversion, int64_t ttl);
void zk_txn_write_path(struct zk_wbuf *w, const char *path, size_t len); /* DeleteTxn */
void zk_txn_write_set_data(struct zk_wbuf *w, const char *path, size_t len, struct zk_bytes data, int32_t version);
void zk_txn_write_set_acl(struct zk_wbuf *w, const char *path, size_t len, const uint8_t *acl, size_t acl_len,
                          int32_t version);
void zk_txn_write_check(struct zk_wbuf *w, const char *path, size_t len, int32_t version);
void zk_txn_write_error(struct zk_wbuf *w, int32_t err);

int zk_db_init(struct zk_db *db, int64_t tick_ms, int64_t server_id, int64_t now_ms);
void zk_db_fini(struct zk_db *db);
void zk_txn_result_fini(struct zk_txn_result *res);

/* Decodes and applies one serialized txn (header + record [+ digest]). Watch events go through
 * db->tree.on_event. Returns 0, or a negative ZK_E* for undecodable bytes (nothing applied). */
int zk_txn_apply(struct zk_db *db, const uint8_t *txn, size_t len, int64_t now_ms, struct zk_txn_result *res);

#endif
