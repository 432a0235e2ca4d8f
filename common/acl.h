/* ACLs: an interning cache of ACL lists (nodes share lists, as ZooKeeper's
 * ReferenceCountedACLCache does, and snapshots refer to them by a long id), the permission
 * check, the create/setACL fix-up, and the digest/ip/super auth schemes. */
#ifndef ZK_ACL_H
#define ZK_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uthash.h>

#include "errors.h"
#include "jute.h"
#include "records.h"

struct zk_acl_entry {
	int32_t perms;
	char *scheme;
	char *id;
};

struct zk_acl_list {
	int64_t id;          /* snapshot id (ZooKeeper's ACL cache key) */
	uint32_t refs;
	int32_t n;
	uint8_t world_perms; /* union of perms granted to world:anyone: the fast path of checks */
	struct zk_acl_entry *v;
	uint8_t *bytes;      /* canonical jute vector<ACL> encoding, the intern key */
	size_t nbytes;
	UT_hash_handle hh;    /* by bytes */
	UT_hash_handle hh_id; /* by id */
};

struct zk_aclcache {
	struct zk_acl_list *by_bytes;
	struct zk_acl_list *by_id;
	int64_t next_id;
};

/* One authenticated identity of a connection: ("ip","127.0.0.1"), ("digest","bob:hash"),
 * ("super",""). */
struct zk_auth_id {
	char scheme[16];
	char id[256];
};
#define ZK_AUTH_IDS_MAX 16

struct zk_auth {
	int n;
	bool is_super;
	struct zk_auth_id ids[ZK_AUTH_IDS_MAX];
};

void zk_aclcache_init(struct zk_aclcache *c);
void zk_aclcache_fini(struct zk_aclcache *c);
/* Interns the encoded vector<ACL> (count included); takes a reference. NULL on ENOMEM/bad. */
struct zk_acl_list *zk_aclcache_intern(struct zk_aclcache *c, const uint8_t *bytes, size_t n);
/* Interns with an explicit id (snapshot load). */
struct zk_acl_list *zk_aclcache_intern_id(struct zk_aclcache *c, int64_t id, const uint8_t *bytes, size_t n);
/* The cached list with snapshot id `id`, or NULL (ids < 0 are never cached). */
struct zk_acl_list *zk_aclcache_find_id(const struct zk_aclcache *c, int64_t id);
void zk_aclcache_ref(struct zk_acl_list *l);
/* A list outside the cache (id < 0, e.g. ZooKeeper's -1 for the built-in nodes' open ACL);
 * release() ignores it; free it with zk_acl_list_free. */
struct zk_acl_list *zk_acl_list_new_unshared(int64_t id, const uint8_t *bytes, size_t n);
void zk_acl_list_free(struct zk_acl_list *l);
void zk_aclcache_release(struct zk_aclcache *c, struct zk_acl_list *l);
size_t zk_aclcache_count(const struct zk_aclcache *c);

/* checkACL: true when `auth` may do `perm` on a node with list `l`. */
bool zk_acl_check(const struct zk_acl_list *l, int32_t perm, const struct zk_auth *auth, bool skip_acl);

/* fixupACL: validates `in`, removes duplicates, expands "auth" entries to the caller's
 * authenticated ids, and writes the canonical vector<ACL> into `out`. Returns ZOK or
 * ZINVALIDACL. */
zk_code zk_acl_fixup(const struct zk_acl_vec *in, const struct zk_auth *auth, struct zk_wbuf *out);

/* The digest scheme: "user:password" -> "user:BASE64(SHA1(user:password))". */
int zk_digest_id(const uint8_t *cred, size_t len, char *out, size_t out_len);
/* Adds an identity from an auth packet. Returns ZOK or ZAUTHFAILED. */
zk_code zk_auth_add(struct zk_auth *a, const char *scheme, size_t scheme_len, const uint8_t *cred,
                    size_t cred_len, const char *super_digest, bool digest_enabled);
void zk_auth_init_ip(struct zk_auth *a, const char *ip);

#endif
