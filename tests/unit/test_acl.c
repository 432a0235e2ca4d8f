/* ACLs and the digest scheme (common/acl.c, common/sha1.c): SHA-1 and Base64 vectors, the
 * ZooKeeper digest id (`bob:abc` -> `bob:csg2zv5/WXoqHso9EuiBpjDPMUk=`, protocol.md 2.11), auth
 * packets, checkACL (world, digest, ip with prefix, super, skipACL, the READ|ADMIN mask of
 * getACL), fixupACL (dedupe, auth expansion to digest ids only, every InvalidACL case), and the
 * interning cache with its reference counts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "errors.h"
#include "proto.h"
#include "sha1.h"

#define BOB "bob:csg2zv5/WXoqHso9EuiBpjDPMUk="
#define ALICE "alice:V55/p2T0OpjQ+low3NVAH4aLvm0="
#define SUPER "super:lK75jTNcA+U9vtVEw5vB51mj/w4="

static void hex(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

static void test_sha1_vectors(void **state)
{
	(void)state;
	/* FIPS 180 examples, and lengths around the 55/56/64-byte padding boundaries (values from
	 * Python's hashlib over bytes (i*7+1) & 0xff). */
	static const struct {
		size_t n;
		const char *want;
	} v[] = {
		{0, "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
		{55, "04bb34aef4880b625e6b1564a014abd25fc02bfe"},
		{56, "83b9fcb6d3e3b20f376ab989a1b6353bcc6c0f44"},
		{63, "ab15090e8dbe512f3733350f9623ab11f9b5165b"},
		{64, "54305ee7e4c7bc5a96afc6d1994fc52d9bcb665f"},
		{65, "5985422a25357371ebd2a7f6ecd7eebed43db42c"},
		{119, "6839d6c27f22ed884ac43ae6bd3bfcee9e04b938"},
		{120, "8c40517a14ab8b78fd4b8958f4e31254a34c3fb0"},
		{1000, "f50d11c8ae2b20fe2598e99a6a2cb859e302615c"},
	};
	uint8_t buf[1000], h[20];
	char got[41];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + 1);
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		zk_sha1(buf, v[i].n, h);
		hex(h, 20, got);
		assert_string_equal(got, v[i].want);
	}
	zk_sha1("abc", 3, h);
	hex(h, 20, got);
	assert_string_equal(got, "a9993e364706816aba3e25717850c26c9cd0d89d");
	const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	zk_sha1(two, strlen(two), h);
	hex(h, 20, got);
	assert_string_equal(got, "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
}

static void test_base64_vectors(void **state)
{
	(void)state;
	static const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *want[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
	for (size_t i = 0; i < 7; i++) {
		char out[16];
		memset(out, 'X', sizeof(out));
		size_t n = zk_base64((const uint8_t *)in[i], strlen(in[i]), out);
		assert_int_equal(n, strlen(want[i]));
		assert_string_equal(out, want[i]);
	}
	const uint8_t all[3] = {0xfb, 0xff, 0xbf};
	char out[8];
	zk_base64(all, 3, out);
	assert_string_equal(out, "+/+/");
}

static void test_digest_id(void **state)
{
	(void)state;
	char out[256];
	assert_int_equal(zk_digest_id((const uint8_t *)"bob:abc", 7, out, sizeof(out)), 0);
	assert_string_equal(out, BOB);
	assert_int_equal(zk_digest_id((const uint8_t *)"alice:pw", 8, out, sizeof(out)), 0);
	assert_string_equal(out, ALICE);
	/* The hash covers the whole "user:password"; the user part is up to the first ':'. */
	assert_int_equal(zk_digest_id((const uint8_t *)"a:b:c", 5, out, sizeof(out)), 0);
	assert_int_equal(strncmp(out, "a:", 2), 0);
	assert_int_equal(strlen(out), 2 + 28);
	/* Too small an output. */
	assert_int_equal(zk_digest_id((const uint8_t *)"bob:abc", 7, out, 10), ZK_ERANGE);
	assert_int_equal(zk_digest_id((const uint8_t *)"bob:abc", 7, out, strlen(BOB)), ZK_ERANGE);
	assert_int_equal(zk_digest_id((const uint8_t *)"bob:abc", 7, out, strlen(BOB) + 1), 0);
}

static bool has_id(const struct zk_auth *a, const char *scheme, const char *id)
{
	for (int i = 0; i < a->n; i++)
		if (!strcmp(a->ids[i].scheme, scheme) && !strcmp(a->ids[i].id, id))
			return true;
	return false;
}

static zk_code auth_digest(struct zk_auth *a, const char *cred, const char *super)
{
	return zk_auth_add(a, "digest", 6, (const uint8_t *)cred, strlen(cred), super, true);
}

static void test_auth_add(void **state)
{
	(void)state;
	struct zk_auth a;
	zk_auth_init_ip(&a, "127.0.0.1");
	assert_int_equal(a.n, 1);
	assert_false(a.is_super);
	assert_true(has_id(&a, "ip", "127.0.0.1"));
	assert_int_equal(auth_digest(&a, "bob:abc", NULL), ZOK);
	assert_int_equal(a.n, 2);
	assert_true(has_id(&a, "digest", BOB));
	/* The same credentials twice: one id. */
	assert_int_equal(auth_digest(&a, "bob:abc", ""), ZOK);
	assert_int_equal(a.n, 2);
	/* Unknown scheme, disabled digest, embedded NUL: AuthFailed, nothing added. */
	assert_int_equal(zk_auth_add(&a, "ip", 2, (const uint8_t *)"x", 1, NULL, true), ZAUTHFAILED);
	assert_int_equal(zk_auth_add(&a, "digestx", 7, (const uint8_t *)"x:y", 3, NULL, true), ZAUTHFAILED);
	assert_int_equal(zk_auth_add(&a, "digest", 6, (const uint8_t *)"x:y", 3, NULL, false), ZAUTHFAILED);
	assert_int_equal(zk_auth_add(&a, "digest", 6, (const uint8_t *)"x\0:y", 4, NULL, true), ZAUTHFAILED);
	assert_int_equal(a.n, 2);
	/* superDigest: the matching credentials also give super:. */
	assert_int_equal(auth_digest(&a, "alice:pw", SUPER), ZOK);
	assert_false(a.is_super);
	assert_int_equal(auth_digest(&a, "super:secret", SUPER), ZOK);
	assert_true(a.is_super);
	assert_true(has_id(&a, "super", ""));
	assert_true(has_id(&a, "digest", SUPER));
	/* The table is bounded. */
	int added = 0;
	for (int i = 0; i < 2 * ZK_AUTH_IDS_MAX; i++) {
		char cred[32];
		snprintf(cred, sizeof(cred), "u%d:p", i);
		if (auth_digest(&a, cred, NULL) == ZOK)
			added++;
	}
	assert_int_equal(a.n, ZK_AUTH_IDS_MAX);
	assert_int_equal(added, ZK_AUTH_IDS_MAX - 5);
}

/* Encoded vector<ACL> builder. */
struct acls {
	struct zk_wbuf w;
	int32_t n;
};

static void acls_begin(struct acls *b)
{
	zk_wbuf_init(&b->w);
	zk_jw_int(&b->w, 0);
	b->n = 0;
}

static void acls_add(struct acls *b, int32_t perms, const char *scheme, const char *id)
{
	zk_jw_int(&b->w, perms);
	zk_jw_cstr(&b->w, scheme);
	zk_jw_cstr(&b->w, id);
	b->n++;
	zk_put_be32(b->w.p, (uint32_t)b->n);
}

static struct zk_acl_vec acls_vec(struct acls *b, struct zk_rbuf *r)
{
	struct zk_acl_vec v;
	zk_rbuf_init(r, b->w.p, b->w.len, 4096);
	assert_int_equal(zk_acl_vec_read(r, &v), 0);
	return v;
}

/* Interns a one-entry list. */
static struct zk_acl_list *one(struct zk_aclcache *c, int32_t perms, const char *scheme, const char *id)
{
	struct acls b;
	acls_begin(&b);
	acls_add(&b, perms, scheme, id);
	struct zk_acl_list *l = zk_aclcache_intern(c, b.w.p, b.w.len);
	assert_non_null(l);
	zk_wbuf_fini(&b.w);
	return l;
}

static struct zk_auth auth_ip(const char *ip)
{
	struct zk_auth a;
	zk_auth_init_ip(&a, ip);
	return a;
}

static void test_check_world_and_digest(void **state)
{
	(void)state;
	struct zk_aclcache c;
	zk_aclcache_init(&c);
	struct zk_auth anon = auth_ip("127.0.0.1");
	struct zk_auth bob = auth_ip("127.0.0.1");
	assert_int_equal(auth_digest(&bob, "bob:abc", NULL), ZOK);
	struct zk_auth alice = auth_ip("127.0.0.1");
	assert_int_equal(auth_digest(&alice, "alice:pw", NULL), ZOK);

	struct zk_acl_list *w = one(&c, ZK_PERM_READ | ZK_PERM_WRITE, "world", "anyone");
	assert_int_equal(w->world_perms, ZK_PERM_READ | ZK_PERM_WRITE);
	assert_true(zk_acl_check(w, ZK_PERM_READ, &anon, false));
	assert_true(zk_acl_check(w, ZK_PERM_WRITE, &anon, false));
	assert_false(zk_acl_check(w, ZK_PERM_DELETE, &anon, false));
	assert_false(zk_acl_check(w, ZK_PERM_ADMIN, &bob, false));

	struct zk_acl_list *d = one(&c, ZK_PERM_ALL, "digest", BOB);
	assert_int_equal(d->world_perms, 0);
	assert_true(zk_acl_check(d, ZK_PERM_READ, &bob, false));
	assert_true(zk_acl_check(d, ZK_PERM_ADMIN, &bob, false));
	assert_false(zk_acl_check(d, ZK_PERM_READ, &anon, false));
	assert_false(zk_acl_check(d, ZK_PERM_READ, &alice, false));
	/* An "ip" id never matches a digest entry even with the same text. */
	struct zk_auth fake = auth_ip(BOB);
	assert_false(zk_acl_check(d, ZK_PERM_READ, &fake, false));
	/* skipACL and super bypass everything. */
	assert_true(zk_acl_check(d, ZK_PERM_READ, &anon, true));
	struct zk_auth su = auth_ip("127.0.0.1");
	assert_int_equal(auth_digest(&su, "super:secret", SUPER), ZOK);
	assert_true(zk_acl_check(d, ZK_PERM_ALL, &su, false));
	/* Empty and missing lists allow. */
	struct acls b;
	acls_begin(&b);
	struct zk_acl_list *empty = zk_aclcache_intern(&c, b.w.p, b.w.len);
	assert_non_null(empty);
	assert_int_equal(empty->n, 0);
	assert_true(zk_acl_check(empty, ZK_PERM_ADMIN, &anon, false));
	assert_true(zk_acl_check(NULL, ZK_PERM_ADMIN, &anon, false));
	zk_wbuf_fini(&b.w);

	/* getACL's READ|ADMIN: either bit is enough. */
	struct zk_acl_list *adm = one(&c, ZK_PERM_ADMIN, "digest", BOB);
	assert_true(zk_acl_check(adm, ZK_PERM_READ | ZK_PERM_ADMIN, &bob, false));
	assert_false(zk_acl_check(adm, ZK_PERM_READ, &bob, false));
	struct zk_acl_list *rd = one(&c, ZK_PERM_READ, "world", "anyone");
	assert_true(zk_acl_check(rd, ZK_PERM_READ | ZK_PERM_ADMIN, &anon, false));
	assert_false(zk_acl_check(rd, ZK_PERM_ADMIN, &anon, false));

	/* A multi-entry list: the entry with the right perm and id wins. */
	acls_begin(&b);
	acls_add(&b, ZK_PERM_READ, "world", "anyone");
	acls_add(&b, ZK_PERM_WRITE, "digest", ALICE);
	acls_add(&b, ZK_PERM_DELETE, "digest", BOB);
	struct zk_acl_list *m = zk_aclcache_intern(&c, b.w.p, b.w.len);
	assert_int_equal(m->n, 3);
	assert_string_equal(m->v[2].scheme, "digest");
	assert_string_equal(m->v[2].id, BOB);
	assert_true(zk_acl_check(m, ZK_PERM_WRITE, &alice, false));
	assert_false(zk_acl_check(m, ZK_PERM_WRITE, &bob, false));
	assert_true(zk_acl_check(m, ZK_PERM_DELETE, &bob, false));
	assert_false(zk_acl_check(m, ZK_PERM_DELETE, &alice, false));
	zk_wbuf_fini(&b.w);

	zk_aclcache_fini(&c);
}

static void test_check_ip(void **state)
{
	(void)state;
	static const struct {
		const char *acl, *client;
		bool want;
	} v[] = {
		{"127.0.0.1", "127.0.0.1", true},
		{"127.0.0.1", "127.0.0.2", false},
		{"10.0.0.0/8", "10.1.2.3", true},
		{"10.0.0.0/8", "11.0.0.1", false},
		{"192.168.1.0/24", "192.168.1.255", true},
		{"192.168.1.0/24", "192.168.2.0", false},
		{"192.168.1.128/25", "192.168.1.127", false},
		{"192.168.1.128/25", "192.168.1.200", true},
		{"0.0.0.0/0", "8.8.8.8", true},
		{"10.0.0.1/32", "10.0.0.1", true},
		{"10.0.0.1/32", "10.0.0.0", false},
		{"::1", "::1", true},
		{"fe80::/10", "fe80::1234", true},
		{"fe80::/10", "fec0::1", false},
		{"127.0.0.1", "::1", false},   /* families differ */
		{"::/0", "127.0.0.1", false},
		{"10.0.0.0/33", "10.0.0.1", false}, /* a bad entry matches nothing */
		{"nonsense", "10.0.0.1", false},
	};
	struct zk_aclcache c;
	zk_aclcache_init(&c);
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct zk_acl_list *l = one(&c, ZK_PERM_READ, "ip", v[i].acl);
		struct zk_auth a = auth_ip(v[i].client);
		if (zk_acl_check(l, ZK_PERM_READ, &a, false) != v[i].want)
			fail_msg("ip acl %s client %s: want %d", v[i].acl, v[i].client, v[i].want);
		assert_false(zk_acl_check(l, ZK_PERM_WRITE, &a, false));
		zk_aclcache_release(&c, l);
	}
	assert_int_equal(zk_aclcache_count(&c), 0);
	zk_aclcache_fini(&c);
}

/* fixup on a builder; returns the code and leaves the canonical bytes in out. */
static zk_code fixup(struct acls *b, const struct zk_auth *a, struct zk_wbuf *out)
{
	struct zk_rbuf r;
	struct zk_acl_vec v = acls_vec(b, &r);
	zk_wbuf_reset(out);
	return zk_acl_fixup(&v, a, out);
}

static void test_fixup_valid(void **state)
{
	(void)state;
	struct zk_auth anon = auth_ip("10.0.0.1");
	struct zk_auth two = auth_ip("10.0.0.1");
	assert_int_equal(auth_digest(&two, "bob:abc", NULL), ZOK);
	assert_int_equal(auth_digest(&two, "alice:pw", NULL), ZOK);
	struct zk_wbuf out, want;
	zk_wbuf_init(&out);
	zk_wbuf_init(&want);
	struct acls b;

	/* Duplicates go; the same id with other perms stays (ACL equality includes perms). */
	acls_begin(&b);
	acls_add(&b, ZK_PERM_READ, "world", "anyone");
	acls_add(&b, ZK_PERM_READ, "world", "anyone");
	acls_add(&b, ZK_PERM_ALL, "world", "anyone");
	acls_add(&b, ZK_PERM_ALL, "digest", BOB);
	acls_add(&b, ZK_PERM_ALL, "digest", BOB);
	acls_add(&b, ZK_PERM_READ, "ip", "10.0.0.0/8");
	acls_add(&b, ZK_PERM_READ, "ip", "::1");
	assert_int_equal(fixup(&b, &anon, &out), ZOK);
	zk_jw_int(&want, 5);
	zk_jw_int(&want, 1), zk_jw_cstr(&want, "world"), zk_jw_cstr(&want, "anyone");
	zk_jw_int(&want, 31), zk_jw_cstr(&want, "world"), zk_jw_cstr(&want, "anyone");
	zk_jw_int(&want, 31), zk_jw_cstr(&want, "digest"), zk_jw_cstr(&want, BOB);
	zk_jw_int(&want, 1), zk_jw_cstr(&want, "ip"), zk_jw_cstr(&want, "10.0.0.0/8");
	zk_jw_int(&want, 1), zk_jw_cstr(&want, "ip"), zk_jw_cstr(&want, "::1");
	assert_int_equal(out.len, want.len);
	assert_memory_equal(out.p, want.p, want.len);
	zk_wbuf_fini(&b.w);

	/* auth: becomes one entry per digest id of the caller (the ip id does not count). */
	acls_begin(&b);
	acls_add(&b, ZK_PERM_ALL, "auth", "");
	assert_int_equal(fixup(&b, &two, &out), ZOK);
	zk_wbuf_reset(&want);
	zk_jw_int(&want, 2);
	zk_jw_int(&want, 31), zk_jw_cstr(&want, "digest"), zk_jw_cstr(&want, BOB);
	zk_jw_int(&want, 31), zk_jw_cstr(&want, "digest"), zk_jw_cstr(&want, ALICE);
	assert_int_equal(out.len, want.len);
	assert_memory_equal(out.p, want.p, want.len);
	/* auth with any id text, plus an explicit duplicate of an expanded entry. */
	acls_add(&b, ZK_PERM_ALL, "auth", "whatever");
	acls_add(&b, ZK_PERM_ALL, "digest", BOB);
	assert_int_equal(fixup(&b, &two, &out), ZOK);
	assert_int_equal(zk_get_be32(out.p), 2);
	zk_wbuf_fini(&b.w);

	/* The fixed-up bytes intern and check as expected. */
	struct zk_aclcache c;
	zk_aclcache_init(&c);
	struct zk_acl_list *l = zk_aclcache_intern(&c, want.p, want.len);
	assert_non_null(l);
	assert_true(zk_acl_check(l, ZK_PERM_WRITE, &two, false));
	assert_false(zk_acl_check(l, ZK_PERM_WRITE, &anon, false));
	zk_aclcache_fini(&c);
	zk_wbuf_fini(&out);
	zk_wbuf_fini(&want);
}

static void test_fixup_invalid(void **state)
{
	(void)state;
	struct zk_auth anon = auth_ip("10.0.0.1");
	struct zk_auth bob = auth_ip("10.0.0.1");
	assert_int_equal(auth_digest(&bob, "bob:abc", NULL), ZOK);
	static const struct {
		const char *scheme, *id;
	} bad[] = {
		{"foo", "bar"},           /* unknown scheme */
		{"super", ""},            /* not a scheme ACLs may name */
		{"world", "someone"},     /* world is only "anyone" */
		{"digest", "bob"},        /* no ':' */
		{"digest", "bob:x:y"},    /* two ':' */
		{"digest", "bob:"},       /* empty after ':' (Java's split drops it) */
		{"ip", "300.1.1.1"},
		{"ip", "10.0.0.0/33"},
		{"ip", "10.0.0.0/"},
		{"ip", "10.0.0.0/x"},
		{"ip", "10.0.0.0/-1"},
		{"ip", ""},
		{"ip", "host.example"},
		{"ip", "::1/129"},
		{"auth", ""},             /* the caller has no digest id (only ip) */
	};
	struct zk_wbuf out;
	zk_wbuf_init(&out);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct acls b;
		acls_begin(&b);
		acls_add(&b, ZK_PERM_READ, "world", "anyone"); /* a good entry first */
		acls_add(&b, ZK_PERM_ALL, bad[i].scheme, bad[i].id);
		if (fixup(&b, &anon, &out) != ZINVALIDACL)
			fail_msg("%s:%s accepted", bad[i].scheme, bad[i].id);
		zk_wbuf_fini(&b.w);
	}
	/* ...but auth is fine for a caller with a digest id. */
	struct acls b;
	acls_begin(&b);
	acls_add(&b, ZK_PERM_ALL, "auth", "");
	assert_int_equal(fixup(&b, &bob, &out), ZOK);
	zk_wbuf_fini(&b.w);

	/* Empty and null lists. */
	acls_begin(&b);
	assert_int_equal(fixup(&b, &bob, &out), ZINVALIDACL);
	zk_wbuf_reset(&b.w);
	zk_jw_int(&b.w, -1);
	assert_int_equal(fixup(&b, &bob, &out), ZINVALIDACL);
	zk_wbuf_fini(&b.w);

	/* Null scheme or id, and an id with a NUL byte. */
	acls_begin(&b);
	zk_put_be32(b.w.p, 1);
	zk_jw_int(&b.w, 31);
	zk_jw_cstr(&b.w, NULL);
	zk_jw_cstr(&b.w, "anyone");
	assert_int_equal(fixup(&b, &bob, &out), ZINVALIDACL);
	zk_wbuf_reset(&b.w);
	zk_jw_int(&b.w, 1);
	zk_jw_int(&b.w, 31);
	zk_jw_cstr(&b.w, "digest");
	zk_jw_cstr(&b.w, NULL);
	assert_int_equal(fixup(&b, &bob, &out), ZINVALIDACL);
	zk_wbuf_reset(&b.w);
	zk_jw_int(&b.w, 1);
	zk_jw_int(&b.w, 31);
	zk_jw_cstr(&b.w, "digest");
	zk_jw_ustring(&b.w, "bob:\0x", 6);
	assert_int_equal(fixup(&b, &bob, &out), ZINVALIDACL);
	/* An over-long id. */
	char longid[600];
	memset(longid, 'a', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = 0;
	longid[3] = ':';
	zk_wbuf_reset(&b.w);
	zk_jw_int(&b.w, 1);
	zk_jw_int(&b.w, 31);
	zk_jw_cstr(&b.w, "digest");
	zk_jw_cstr(&b.w, longid);
	assert_int_equal(fixup(&b, &bob, &out), ZINVALIDACL);
	zk_wbuf_fini(&b.w);
	zk_wbuf_fini(&out);
}

static void test_intern_and_refs(void **state)
{
	(void)state;
	struct zk_aclcache c;
	zk_aclcache_init(&c);
	struct acls b;
	acls_begin(&b);
	acls_add(&b, ZK_PERM_ALL, "world", "anyone");
	struct zk_acl_list *l1 = zk_aclcache_intern(&c, b.w.p, b.w.len);
	struct zk_acl_list *l2 = zk_aclcache_intern(&c, b.w.p, b.w.len);
	assert_non_null(l1);
	assert_ptr_equal(l1, l2);
	assert_int_equal(l1->refs, 2);
	assert_true(l1->id == 1);
	assert_int_equal(l1->nbytes, b.w.len);
	assert_memory_equal(l1->bytes, b.w.p, b.w.len);
	assert_int_equal(zk_aclcache_count(&c), 1);
	zk_aclcache_ref(l1);
	assert_int_equal(l1->refs, 3);
	/* A different list gets the next id. */
	struct zk_acl_list *d = one(&c, ZK_PERM_READ, "digest", BOB);
	assert_true(d->id == 2);
	assert_int_equal(zk_aclcache_count(&c), 2);
	/* Explicit ids (snapshot load) move next_id past them; lookup by id works. */
	struct zk_acl_list *x = one(&c, ZK_PERM_WRITE, "world", "anyone");
	zk_aclcache_release(&c, x); /* drop it again */
	struct acls e;
	acls_begin(&e);
	acls_add(&e, ZK_PERM_CREATE, "ip", "10.0.0.0/8");
	struct zk_acl_list *s = zk_aclcache_intern_id(&c, 42, e.w.p, e.w.len);
	assert_true(s->id == 42);
	struct zk_acl_list *found;
	int64_t key = 42;
	HASH_FIND(hh_id, c.by_id, &key, sizeof(key), found);
	assert_ptr_equal(found, s);
	struct zk_acl_list *after = one(&c, ZK_PERM_DELETE, "world", "anyone");
	assert_true(after->id == 43);
	/* Releases: the list leaves the cache on its last reference. */
	zk_aclcache_release(&c, l1);
	zk_aclcache_release(&c, l1);
	assert_int_equal(zk_aclcache_count(&c), 4);
	zk_aclcache_release(&c, l1);
	assert_int_equal(zk_aclcache_count(&c), 3);
	key = 1;
	HASH_FIND(hh_id, c.by_id, &key, sizeof(key), found);
	assert_null(found);
	zk_aclcache_release(&c, NULL); /* no-op */
	/* Bytes that are not exactly one vector<ACL> are refused. */
	assert_null(zk_aclcache_intern(&c, b.w.p, b.w.len - 1));
	uint8_t *longer = malloc(b.w.len + 1);
	memcpy(longer, b.w.p, b.w.len);
	longer[b.w.len] = 0;
	assert_null(zk_aclcache_intern(&c, longer, b.w.len + 1));
	free(longer);
	assert_int_equal(zk_aclcache_count(&c), 3);
	/* Unshared lists (ZooKeeper's -1 for the built-in open ACL) are ignored by release. */
	struct zk_acl_list *u = zk_acl_list_new_unshared(-1, b.w.p, b.w.len);
	assert_non_null(u);
	assert_true(u->id == -1);
	assert_int_equal(u->world_perms, ZK_PERM_ALL);
	zk_aclcache_release(&c, u);
	zk_aclcache_release(&c, u);
	assert_int_equal(u->n, 1);
	zk_acl_list_free(u);
	zk_acl_list_free(NULL);
	/* A null vector interns as an empty list. */
	uint8_t null_vec[4] = {0xff, 0xff, 0xff, 0xff};
	struct zk_acl_list *nl = zk_aclcache_intern(&c, null_vec, 4);
	assert_non_null(nl);
	assert_int_equal(nl->n, 0);
	zk_wbuf_fini(&b.w);
	zk_wbuf_fini(&e.w);
	zk_aclcache_fini(&c); /* frees what is left */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha1_vectors),
		cmocka_unit_test(test_base64_vectors),
		cmocka_unit_test(test_digest_id),
		cmocka_unit_test(test_auth_add),
		cmocka_unit_test(test_check_world_and_digest),
		cmocka_unit_test(test_check_ip),
		cmocka_unit_test(test_fixup_valid),
		cmocka_unit_test(test_fixup_invalid),
		cmocka_unit_test(test_intern_and_refs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
