/* QuorumPacket and LearnerInfo codecs (qpkt.h; protocol.md 5.2-5.3). The link has no frame
 * length, so the decoder is also the framer: it learns the packet's extent by walking its fields
 * and answers "need more" (0) until all of them are in. Lengths are checked as soon as they are
 * visible, so a bad peer is rejected without waiting for the bytes it announced.
 *
 *   packet      = int type; long zxid; buffer data; vector<Id> authinfo
 *   buffer      = int len (-1 = null); byte[len]
 *   vector<Id>  = int count (-1 = null); Id[count]
 *   Id          = ustring scheme; ustring id          (ustring = buffer of UTF-8)
 *   LearnerInfo = long sid; int protocolVersion; long configVersion    (20, 12 or 8 bytes) */
#include "qpkt.h"

#include <limits.h>
#include <string.h>

#include "errors.h"

#define ID_BYTES_MAX 1024 /* one Id string; ZooKeeper's are a scheme name and an id (ip, digest) */
#define LEARNER_INFO_BYTES 20

/* Caps data so that a whole packet's length fits the int that zk_qpkt_decode returns. */
#define DATA_BYTES_LIMIT ((size_t)INT_MAX - ZK_QP_HEADER_MIN_BYTES - ZK_AUTH_IDS_MAX * (8 + 2 * ID_BYTES_MAX))

_Static_assert(ZK_QP_HEADER_MIN_BYTES == 4 + 8 + 4 + 4, "type, zxid, data len, authinfo count");
_Static_assert(LEARNER_INFO_BYTES == 8 + 4 + 8, "sid, protocolVersion, configVersion");

static const char *type_names[] = {
	[ZK_QP_REQUEST] = "REQUEST",
	[ZK_QP_PROPOSAL] = "PROPOSAL",
	[ZK_QP_ACK] = "ACK",
	[ZK_QP_COMMIT] = "COMMIT",
	[ZK_QP_PING] = "PING",
	[ZK_QP_REVALIDATE] = "REVALIDATE",
	[ZK_QP_SYNC] = "SYNC",
	[ZK_QP_INFORM] = "INFORM",
	[ZK_QP_COMMITANDACTIVATE] = "COMMITANDACTIVATE",
	[ZK_QP_NEWLEADER] = "NEWLEADER",
	[ZK_QP_FOLLOWERINFO] = "FOLLOWERINFO",
	[ZK_QP_UPTODATE] = "UPTODATE",
	[ZK_QP_DIFF] = "DIFF",
	[ZK_QP_TRUNC] = "TRUNC",
	[ZK_QP_SNAP] = "SNAP",
	[ZK_QP_OBSERVERINFO] = "OBSERVERINFO",
	[ZK_QP_LEADERINFO] = "LEADERINFO",
	[ZK_QP_ACKEPOCH] = "ACKEPOCH",
	[ZK_QP_INFORMANDACTIVATE] = "INFORMANDACTIVATE",
};

const char *zk_qpkt_type_name(int32_t type)
{
	if (type <= 0 || (size_t)type >= sizeof(type_names) / sizeof(type_names[0]))
		return "UNKNOWN";
	return type_names[type];
}

/* A buffer of at most max bytes. zk_jr_buffer folds every bad length into ZK_ERANGE; the
 * contract here keeps negative ones apart (ZK_EINVAL), so the sign is checked first. */
static struct zk_bytes read_bytes(struct zk_rbuf *r, size_t max)
{
	size_t at = r->pos;
	int32_t n = zk_jr_int(r);
	if (!r->err && n < -1)
		r->err = ZK_EINVAL;
	if (r->err)
		return (struct zk_bytes){NULL, -1};
	r->pos = at;
	r->field_bytes_max = max;
	return zk_jr_buffer(r);
}

/* A vector count: -1 (null) to max. Not zk_jr_vec_count: it compares the count with the bytes
 * already here, which on a stream means "need more", not "lie". */
static int32_t read_count(struct zk_rbuf *r, int32_t max)
{
	int32_t n = zk_jr_int(r);
	if (r->err)
		return -1;
	if (n < -1)
		r->err = ZK_EINVAL;
	else if (n > max)
		r->err = ZK_ERANGE;
	return r->err ? -1 : n;
}

static void read_authinfo(struct zk_rbuf *r, struct zk_qpkt *q)
{
	q->n_auth = read_count(r, ZK_AUTH_IDS_MAX);
	q->auth = NULL;
	q->auth_len = 0;
	if (r->err || q->n_auth < 0)
		return;
	size_t start = r->pos;
	for (int32_t i = 0; i < q->n_auth && !r->err; i++) {
		read_bytes(r, ID_BYTES_MAX);
		read_bytes(r, ID_BYTES_MAX);
	}
	q->auth = r->p + start;
	q->auth_len = r->pos - start;
}

int zk_qpkt_decode(const uint8_t *p, size_t n, size_t data_max, struct zk_qpkt *out)
{
	if (data_max > DATA_BYTES_LIMIT)
		data_max = DATA_BYTES_LIMIT;
	struct zk_rbuf r;
	zk_rbuf_init(&r, p, n, data_max);
	struct zk_qpkt q;
	q.type = zk_jr_int(&r);
	q.zxid = zk_jr_long(&r);
	q.data = read_bytes(&r, data_max);
	read_authinfo(&r, &q);
	if (r.err == ZK_ESHORT)
		return 0;
	if (r.err)
		return r.err;
	*out = q;
	return (int)r.pos;
}

void zk_qpkt_write(struct zk_wbuf *w, int32_t type, int64_t zxid, const uint8_t *data, int32_t len,
                   const struct zk_auth *auth)
{
	zk_jw_int(w, type);
	zk_jw_long(w, zxid);
	/* NULL with len 0 is an empty buffer (a PING's empty touch table); NULL with a positive
	 * len has nothing to copy, so it can only mean null. */
	zk_jw_buffer(w, data, data || len <= 0 ? len : -1);
	if (!auth) {
		zk_jw_int(w, -1);
		return;
	}
	int n = auth->n < 0 ? 0 : auth->n > ZK_AUTH_IDS_MAX ? ZK_AUTH_IDS_MAX : auth->n;
	zk_jw_int(w, n);
	for (int i = 0; i < n; i++) {
		const struct zk_auth_id *id = &auth->ids[i];
		zk_jw_ustring(w, id->scheme, (int32_t)strnlen(id->scheme, sizeof(id->scheme)));
		zk_jw_ustring(w, id->id, (int32_t)strnlen(id->id, sizeof(id->id)));
	}
}

/* A NUL inside would silently shorten the C string: "digest:bob\0x" must not become bob. */
static int copy_str(char *dst, size_t cap, struct zk_bytes b)
{
	if (b.len < 0 || (size_t)b.len >= cap)
		return ZK_EINVAL;
	if (b.len > 0 && memchr(b.p, 0, (size_t)b.len))
		return ZK_EINVAL;
	if (b.len > 0)
		memcpy(dst, b.p, (size_t)b.len);
	dst[b.len] = 0;
	return 0;
}

static int copy_ids(const struct zk_qpkt *q, struct zk_auth *auth)
{
	struct zk_rbuf r;
	zk_rbuf_init(&r, q->auth, q->auth_len, ID_BYTES_MAX);
	for (int32_t i = 0; i < q->n_auth; i++) {
		struct zk_auth_id *id = &auth->ids[i];
		struct zk_bytes scheme = read_bytes(&r, ID_BYTES_MAX);
		struct zk_bytes ident = read_bytes(&r, ID_BYTES_MAX);
		if (r.err || copy_str(id->scheme, sizeof(id->scheme), scheme) ||
		    copy_str(id->id, sizeof(id->id), ident))
			return ZK_EINVAL;
		/* ZooKeeper's checkACL lets any "super" Id through; zk_acl_check reads the flag. */
		if (!strcmp(id->scheme, "super"))
			auth->is_super = true;
	}
	if (zk_rbuf_left(&r))
		return ZK_EINVAL;
	auth->n = q->n_auth;
	return 0;
}

int zk_qpkt_auth(const struct zk_qpkt *q, struct zk_auth *auth)
{
	memset(auth, 0, sizeof(*auth));
	if (q->n_auth <= 0)
		return 0;
	if (q->n_auth > ZK_AUTH_IDS_MAX)
		return ZK_EINVAL;
	int rc = copy_ids(q, auth);
	if (rc)
		memset(auth, 0, sizeof(*auth)); /* no half-filled identity */
	return rc;
}

int zk_learner_info_decode(struct zk_bytes data, struct zk_learner_info *li)
{
	/* ZooKeeper reads whatever prefix is there (>= 8, >= 12, >= 20) and ignores the rest; the
	 * contract here is stricter: only the three sizes real learners have ever sent. */
	if (data.len != 8 && data.len != 12 && data.len != LEARNER_INFO_BYTES)
		return ZK_EINVAL;
	struct zk_rbuf r;
	zk_rbuf_init(&r, data.p, (size_t)data.len, 0);
	struct zk_learner_info v = {0, 0, 0};
	v.sid = zk_jr_long(&r);
	if (data.len >= 12)
		v.protocol_version = zk_jr_int(&r);
	if (data.len >= LEARNER_INFO_BYTES)
		v.config_version = zk_jr_long(&r);
	if (r.err)
		return ZK_EINVAL;
	*li = v;
	return 0;
}

void zk_learner_info_write(struct zk_wbuf *w, const struct zk_learner_info *li)
{
	zk_jw_long(w, li->sid);
	zk_jw_int(w, li->protocol_version);
	zk_jw_long(w, li->config_version);
}
