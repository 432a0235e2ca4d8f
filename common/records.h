/* Client-protocol records (zookeeper.jute, module org.apache.zookeeper.proto): decoders for
 * requests, encoders for replies. Decoded strings and buffers point into the frame (borrowed
 * for the call). Every decoder is total: it yields a record or a negative ZK_E*. */
#ifndef ZK_RECORDS_H
#define ZK_RECORDS_H

#include <stdbool.h>
#include <stdint.h>

#include "jute.h"

struct zk_stat {
	int64_t czxid, mzxid, ctime, mtime;
	int32_t version, cversion, aversion;
	int64_t ephemeral_owner;
	int32_t data_length, num_children;
	int64_t pzxid;
};
#define ZK_STAT_BYTES 68

/* An ACL vector kept as its encoded bytes; walk it with zk_acl_iter. */
struct zk_acl_vec {
	const uint8_t *p; /* first ACL record */
	size_t bytes;
	int32_t n;        /* -1 null */
};

struct zk_acl {
	int32_t perms;
	struct zk_bytes scheme;
	struct zk_bytes id;
};

struct zk_connect_req {
	int32_t protocol_version;
	int64_t last_zxid_seen;
	int32_t timeout_ms;
	int64_t session_id;
	struct zk_bytes passwd;
	bool has_readonly;
	bool readonly;
};

/* A string vector kept as its encoded bytes (setWatches lists). */
struct zk_str_vec {
	const uint8_t *p;
	size_t bytes;
	int32_t n;
};

/* Any single (non-multi) request body; which fields are set depends on the opcode. */
struct zk_req {
	int32_t op;
	struct zk_bytes path;
	struct zk_bytes data;
	struct zk_acl_vec acl;
	int32_t flags;
	int32_t version;
	bool watch;
	int64_t ttl;      /* createTTL only; -1 otherwise */
	int32_t type;     /* checkWatches/removeWatches watcher type, addWatch mode, auth type */
	struct zk_bytes scheme; /* auth */
	int64_t rel_zxid; /* setWatches */
	struct zk_str_vec watches[5]; /* data, exist, child, persistent, persistentRecursive */
};

int zk_connect_req_decode(const uint8_t *p, size_t len, size_t field_max, struct zk_connect_req *c);
/* Decodes the body of `op` (the part after the RequestHeader). Trailing bytes are tolerated as
 * ZooKeeper does. Returns 0 or ZK_ESHORT/ZK_ERANGE/ZK_EINVAL (unknown op). */
int zk_req_decode(int32_t op, struct zk_rbuf *r, struct zk_req *q);

int zk_acl_vec_read(struct zk_rbuf *r, struct zk_acl_vec *v);
/* Iterates ACLs of a vector already validated by zk_acl_vec_read. */
struct zk_acl_iter {
	struct zk_rbuf r;
	int32_t left;
};
void zk_acl_iter_init(struct zk_acl_iter *it, const struct zk_acl_vec *v);
bool zk_acl_iter_next(struct zk_acl_iter *it, struct zk_acl *a);

int zk_str_vec_read(struct zk_rbuf *r, struct zk_str_vec *v);
struct zk_str_iter {
	struct zk_rbuf r;
	int32_t left;
};
void zk_str_iter_init(struct zk_str_iter *it, const struct zk_str_vec *v);
bool zk_str_iter_next(struct zk_str_iter *it, struct zk_bytes *s);

/* multi / multiRead: iterate (MultiHeader, op) pairs. */
struct zk_multi_iter {
	struct zk_rbuf r;
	bool done;
};
void zk_multi_iter_init(struct zk_multi_iter *it, const struct zk_rbuf *body);
/* Returns 1 with the next op in *q, 0 at the terminator, or a negative ZK_E*. */
int zk_multi_iter_next(struct zk_multi_iter *it, struct zk_req *q);

void zk_stat_write(struct zk_wbuf *w, const struct zk_stat *s);
void zk_stat_read(struct zk_rbuf *r, struct zk_stat *s);
void zk_reply_header_write(struct zk_wbuf *w, int32_t xid, int64_t zxid, int32_t err);
void zk_multi_header_write(struct zk_wbuf *w, int32_t type, bool done, int32_t err);
/* A whole notification frame: ReplyHeader{-1,-1,0} + WatcherEvent{type, 3, path}. */
void zk_notification_write(struct zk_wbuf *w, int32_t type, const char *path, size_t path_len);

#endif
