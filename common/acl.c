/* ACL cache, checks and fix-up; rules in protocol.md section 2.11. */
#include "acl.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "sha1.h"
#include "zmalloc.h"

void zk_aclcache_init(struct zk_aclcache *c)
{
	c->by_bytes = NULL;
	c->by_id = NULL;
	c->next_id = 1;
}

static void list_free(struct zk_acl_list *l)
{
	for (int32_t i = 0; l->v && i < l->n; i++) { /* v is NULL when list_new failed early */
		zk_free(l->v[i].scheme);
		zk_free(l->v[i].id);
	}
	zk_free(l->v);
	zk_free(l->bytes);
	zk_free(l);
}

void zk_aclcache_fini(struct zk_aclcache *c)
{
	struct zk_acl_list *l, *tmp;
	HASH_ITER(hh, c->by_bytes, l, tmp) {
		HASH_DELETE(hh, c->by_bytes, l);
		HASH_DELETE(hh_id, c->by_id, l);
		list_free(l);
	}
}

static struct zk_acl_list *list_new(const uint8_t *bytes, size_t n)
{
	struct zk_rbuf r;
	zk_rbuf_init(&r, bytes, n, n);
	struct zk_acl_vec vec;
	if (zk_acl_vec_read(&r, &vec) || r.pos != n)
		return NULL;
	struct zk_acl_list *l = zk_calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->n = vec.n < 0 ? 0 : vec.n;
	l->v = zk_calloc((size_t)(l->n ? l->n : 1), sizeof(*l->v));
	l->bytes = zk_malloc(n);
	if (!l->v || !l->bytes)
		goto fail;
	memcpy(l->bytes, bytes, n);
	l->nbytes = n;
	struct zk_acl_iter it;
	struct zk_acl a;
	zk_acl_iter_init(&it, &vec);
	for (int32_t i = 0; zk_acl_iter_next(&it, &a); i++) {
		l->v[i].perms = a.perms;
		l->v[i].scheme = zk_strndup((const char *)a.scheme.p, a.scheme.len < 0 ? 0 : (size_t)a.scheme.len);
		l->v[i].id = zk_strndup((const char *)a.id.p, a.id.len < 0 ? 0 : (size_t)a.id.len);
		if (!l->v[i].scheme || !l->v[i].id)
			goto fail;
		if (!strcmp(l->v[i].scheme, "world") && !strcmp(l->v[i].id, "anyone"))
			l->world_perms |= (uint8_t)(a.perms & 0xff);
	}
	return l;
fail:
	list_free(l);
	return NULL;
}

struct zk_acl_list *zk_aclcache_intern_id(struct zk_aclcache *c, int64_t id, const uint8_t *bytes, size_t n)
{
	struct zk_acl_list *l;
	HASH_FIND(hh, c->by_bytes, bytes, n, l);
	if (l) {
		l->refs++;
		return l;
	}
	l = list_new(bytes, n);
	if (!l)
		return NULL;
	l->id = id;
	if (id >= c->next_id)
		c->next_id = id + 1;
	l->refs = 1;
	HASH_ADD_KEYPTR(hh, c->by_bytes, l->bytes, l->nbytes, l);
	HASH_ADD(hh_id, c->by_id, id, sizeof(l->id), l);
	return l;
}

struct zk_acl_list *zk_aclcache_intern(struct zk_aclcache *c, const uint8_t *bytes, size_t n)
{
	return zk_aclcache_intern_id(c, c->next_id, bytes, n);
}

struct zk_acl_list *zk_aclcache_find_id(const struct zk_aclcache *c, int64_t id)
{
	struct zk_acl_list *l;
	HASH_FIND(hh_id, c->by_id, &id, sizeof(id), l);
	return l;
}

void zk_aclcache_ref(struct zk_acl_list *l) { l->refs++; }

struct zk_acl_list *zk_acl_list_new_unshared(int64_t id, const uint8_t *bytes, size_t n)
{
	struct zk_acl_list *l = list_new(bytes, n);
	if (l) {
		l->id = id;
		l->refs = 1;
	}
	return l;
}

void zk_acl_list_free(struct zk_acl_list *l)
{
	if (l)
		list_free(l);
}

void zk_aclcache_release(struct zk_aclcache *c, struct zk_acl_list *l)
{
	if (!l || l->id < 0 || --l->refs > 0)
		return;
	HASH_DELETE(hh, c->by_bytes, l);
	HASH_DELETE(hh_id, c->by_id, l);
	list_free(l);
}

size_t zk_aclcache_count(const struct zk_aclcache *c) { return HASH_CNT(hh, c->by_bytes); }

/* Parses "a.b.c.d[/bits]" or an IPv6 form; returns the family (4/6) or 0 when invalid. */
static int parse_ip(const char *s, uint8_t addr[16], int *bits)
{
	char buf[64];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	if (n == 0 || n >= sizeof(buf))
		return 0;
	memcpy(buf, s, n);
	buf[n] = 0;
	int fam = 0;
	if (inet_pton(AF_INET, buf, addr) == 1)
		fam = 4;
	else if (inet_pton(AF_INET6, buf, addr) == 1)
		fam = 6;
	else
		return 0;
	int maxbits = fam == 4 ? 32 : 128;
	*bits = maxbits;
	if (slash) {
		char *end;
		long b = strtol(slash + 1, &end, 10);
		if (!slash[1] || *end || b < 0 || b > maxbits)
			return 0;
		*bits = (int)b;
	}
	return fam;
}

static bool ip_matches(const char *acl_id, const char *client_ip)
{
	uint8_t a[16], c[16];
	int abits, cbits;
	int fa = parse_ip(acl_id, a, &abits);
	int fc = parse_ip(client_ip, c, &cbits);
	if (!fa || fa != fc)
		return false;
	for (int i = 0; i < abits; i++) {
		int byte = i / 8, bit = 7 - i % 8;
		if (((a[byte] >> bit) & 1) != ((c[byte] >> bit) & 1))
			return false;
	}
	return true;
}

bool zk_acl_check(const struct zk_acl_list *l, int32_t perm, const struct zk_auth *auth, bool skip_acl)
{
	if (skip_acl || !l || l->n == 0)
		return true;
	if (l->world_perms & perm)
		return true;
	if (auth->is_super)
		return true;
	for (int32_t i = 0; i < l->n; i++) {
		const struct zk_acl_entry *e = &l->v[i];
		if (!(e->perms & perm))
			continue;
		for (int j = 0; j < auth->n; j++) {
			const struct zk_auth_id *id = &auth->ids[j];
			if (strcmp(id->scheme, e->scheme))
				continue;
			if (!strcmp(e->scheme, "ip") ? ip_matches(e->id, id->id) : !strcmp(e->id, id->id))
				return true;
		}
	}
	return false;
}

static bool digest_id_valid(const char *id)
{
	/* Java's id.split(":").length == 2: trailing empty parts are dropped. */
	const char *c = strchr(id, ':');
	return c && !strchr(c + 1, ':') && c[1] != 0;
}

static bool bytes_eq(struct zk_bytes b, const char *s)
{
	size_t n = strlen(s);
	return b.len == (int32_t)n && (n == 0 || !memcmp(b.p, s, n));
}

struct fix_entry {
	int32_t perms;
	const char *scheme;
	size_t scheme_len;
	const char *id;
	size_t id_len;
};
#define ZK_ACL_FIXUP_MAX 1024

static int add_unique(struct fix_entry *out, int n, struct fix_entry e)
{
	for (int i = 0; i < n; i++)
		if (out[i].perms == e.perms && out[i].scheme_len == e.scheme_len && out[i].id_len == e.id_len &&
		    !memcmp(out[i].scheme, e.scheme, e.scheme_len) && !memcmp(out[i].id, e.id, e.id_len))
			return n;
	if (n >= ZK_ACL_FIXUP_MAX)
		return -1;
	out[n] = e;
	return n + 1;
}

zk_code zk_acl_fixup(const struct zk_acl_vec *in, const struct zk_auth *auth, struct zk_wbuf *out)
{
	static __thread struct fix_entry v[ZK_ACL_FIXUP_MAX];
	int n = 0;
	if (in->n <= 0)
		return ZINVALIDACL;
	struct zk_acl_iter it;
	struct zk_acl a;
	zk_acl_iter_init(&it, in);
	while (zk_acl_iter_next(&it, &a)) {
		if (a.scheme.len < 0)
			return ZINVALIDACL;
		if (a.id.len < 0) { /* kazoo writes "" as a null string: ZooKeeper's auth entry ignores it */
			a.id.p = (const uint8_t *)"";
			a.id.len = 0;
		}
		struct fix_entry e = {a.perms, (const char *)a.scheme.p, (size_t)a.scheme.len, (const char *)a.id.p,
				      (size_t)a.id.len};
		if (bytes_eq(a.scheme, "world") && bytes_eq(a.id, "anyone")) {
			n = add_unique(v, n, e);
		} else if (bytes_eq(a.scheme, "auth")) {
			bool any = false;
			for (int j = 0; j < auth->n && n >= 0; j++) {
				const struct zk_auth_id *id = &auth->ids[j];
				/* Only schemes whose provider "isAuthenticated" (not ip) stand in for auth. */
				if (strcmp(id->scheme, "digest"))
					continue;
				struct fix_entry x = {a.perms, id->scheme, strlen(id->scheme), id->id, strlen(id->id)};
				n = add_unique(v, n, x);
				any = true;
			}
			if (!any)
				return ZINVALIDACL;
		} else if (bytes_eq(a.scheme, "digest") || bytes_eq(a.scheme, "ip")) {
			char idbuf[512];
			if ((size_t)a.id.len >= sizeof(idbuf))
				return ZINVALIDACL;
			memcpy(idbuf, a.id.p, (size_t)a.id.len);
			idbuf[a.id.len] = 0;
			if (memchr(a.id.p, 0, (size_t)a.id.len))
				return ZINVALIDACL;
			uint8_t addr[16];
			int bits;
			bool ok = bytes_eq(a.scheme, "digest") ? digest_id_valid(idbuf) : parse_ip(idbuf, addr, &bits) != 0;
			if (!ok)
				return ZINVALIDACL;
			n = add_unique(v, n, e);
		} else {
			return ZINVALIDACL;
		}
		if (n < 0)
			return ZINVALIDACL;
	}
	if (it.r.err)
		return ZINVALIDACL;
	zk_jw_int(out, n);
	for (int i = 0; i < n; i++) {
		zk_jw_int(out, v[i].perms);
		zk_jw_ustring(out, v[i].scheme, (int32_t)v[i].scheme_len);
		zk_jw_ustring(out, v[i].id, (int32_t)v[i].id_len);
	}
	return out->err ? ZMARSHALLINGERROR : ZOK;
}

int zk_digest_id(const uint8_t *cred, size_t len, char *out, size_t out_len)
{
	const uint8_t *colon = memchr(cred, ':', len);
	size_t user_len = colon ? (size_t)(colon - cred) : len;
	uint8_t h[20];
	char b64[32];
	zk_sha1(cred, len, h);
	zk_base64(h, sizeof(h), b64);
	int w = snprintf(out, out_len, "%.*s:%s", (int)user_len, (const char *)cred, b64);
	return (w < 0 || (size_t)w >= out_len) ? ZK_ERANGE : 0;
}

static int auth_push(struct zk_auth *a, const char *scheme, const char *id)
{
	for (int i = 0; i < a->n; i++)
		if (!strcmp(a->ids[i].scheme, scheme) && !strcmp(a->ids[i].id, id))
			return 0;
	if (a->n >= ZK_AUTH_IDS_MAX)
		return ZK_ERANGE;
	snprintf(a->ids[a->n].scheme, sizeof(a->ids[a->n].scheme), "%s", scheme);
	snprintf(a->ids[a->n].id, sizeof(a->ids[a->n].id), "%s", id);
	a->n++;
	return 0;
}

void zk_auth_init_ip(struct zk_auth *a, const char *ip)
{
	memset(a, 0, sizeof(*a));
	auth_push(a, "ip", ip);
}

zk_code zk_auth_add(struct zk_auth *a, const char *scheme, size_t scheme_len, const uint8_t *cred,
                    size_t cred_len, const char *super_digest, bool digest_enabled)
{
	if (scheme_len != 6 || memcmp(scheme, "digest", 6) || !digest_enabled)
		return ZAUTHFAILED;
	char id[256];
	if (zk_digest_id(cred, cred_len, id, sizeof(id)) || memchr(cred, 0, cred_len))
		return ZAUTHFAILED;
	if (auth_push(a, "digest", id))
		return ZAUTHFAILED;
	if (super_digest && super_digest[0] && !strcmp(id, super_digest)) {
		a->is_super = true;
		auth_push(a, "super", "");
	}
	return ZOK;
}
