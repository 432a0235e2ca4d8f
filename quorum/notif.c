/* Election-port records: the handshake a connecting server sends first, the notification frames
 * of FastLeaderElection, the quorum config text they carry (QuorumMaj.toString), and the
 * majority helpers. Byte grammar in notif.h; protocol.md 4.2-4.3.
 *
 * Owns no state: decoders borrow the caller's bytes (struct zk_notif's config points into them),
 * writers append to the caller's zk_wbuf. The shapes accepted mirror FastLeaderElection's
 * WorkerReceiver, so that a frame Apache ZooKeeper 3.8 would act on decodes here and one it would
 * drop (or choke on) is an error here. */
#include "notif.h"

#include <stdio.h>
#include <string.h>

#include "errors.h"

/* Fixed parts of the notification shapes (offsets in protocol.md 4.3). */
#define NOTIF_V0_28_BYTES 28 /* state, leader, zxid, electionEpoch */
#define NOTIF_V0_40_BYTES 40 /* + peerEpoch, no version (36 bytes of fields, padded to 40) */
#define NOTIF_VERSION_OFF 36
#define NOTIF_CFGLEN_OFF 40
#define NOTIF_HEADER_BYTES 44 /* version >= 2: + version, configLength */

#define HELLO_FIXED_BYTES 20 /* long version, long sid, int addrLen */

_Static_assert(NOTIF_V0_28_BYTES == ZK_NOTIF_MIN_BYTES, "shortest notification");
_Static_assert(4 + 8 + 8 + 8 + 8 + 4 + 4 == NOTIF_HEADER_BYTES, "notification v2 header");

int zk_notif_decode(const uint8_t *p, size_t n, struct zk_notif *out)
{
	memset(out, 0, sizeof(*out));
	out->config.len = -1;
	if (n < NOTIF_V0_28_BYTES)
		return ZK_ESHORT;
	out->state = (int32_t)zk_get_be32(p);
	out->vote.leader = (int64_t)zk_get_be64(p + 4);
	out->vote.zxid = (int64_t)zk_get_be64(p + 12);
	out->vote.election_epoch = (int64_t)zk_get_be64(p + 20);
	if (n == NOTIF_V0_28_BYTES) {
		/* Pre-ZOOKEEPER-107 peers: the epoch is the zxid's high half (ZxidUtils.getEpochFromZxid,
		 * a signed shift; GCC and Clang shift negative values arithmetically). */
		out->vote.peer_epoch = out->vote.zxid >> 32;
	} else if (n < NOTIF_V0_40_BYTES) {
		return ZK_ESHORT; /* ends inside peerEpoch or the version: Java underflows, drops it */
	} else {
		out->vote.peer_epoch = (int64_t)zk_get_be64(p + 28);
		/* Exactly 40 bytes is the pre-3.4.6 shape without a version; longer ones carry it. */
		if (n > NOTIF_V0_40_BYTES)
			out->version = (int32_t)zk_get_be32(p + NOTIF_VERSION_OFF);
	}
	/* Version 1 (and the old shapes) end here; 2 and anything newer carry the config. */
	if (out->version > 1) {
		if (n < NOTIF_HEADER_BYTES)
			return ZK_ESHORT;
		int32_t cl = (int32_t)zk_get_be32(p + NOTIF_CFGLEN_OFF);
		if (cl < 0 || (size_t)cl > n - NOTIF_HEADER_BYTES)
			return ZK_EINVAL;
		out->config.p = p + NOTIF_HEADER_BYTES;
		out->config.len = cl;
	}
	if (out->state < ZK_PS_LOOKING || out->state > ZK_PS_OBSERVING)
		return ZK_EINVAL;
	return 0;
}

void zk_notif_write_frame(struct zk_wbuf *w, int32_t state, const struct zk_vote *v, const char *config,
                          size_t config_len)
{
	size_t start = zk_jw_frame_begin(w);
	zk_jw_int(w, state);
	zk_jw_long(w, v->leader);
	zk_jw_long(w, v->zxid);
	zk_jw_long(w, v->election_epoch);
	zk_jw_long(w, v->peer_epoch);
	zk_jw_int(w, ZK_NOTIF_VERSION);
	zk_jw_int(w, (int32_t)config_len);
	zk_jw_raw(w, config, config_len);
	zk_jw_frame_end(w, start);
}

int zk_elect_hello_decode(const uint8_t *p, size_t n, struct zk_elect_hello *h)
{
	if (n < 8)
		return 0;
	int64_t first = (int64_t)zk_get_be64(p);
	if (first >= 0) {
		/* Pre-3.5 peers send their sid alone (QuorumCnxManager.handleConnection). */
		h->protocol_version = 0;
		h->sid = first;
		h->addr[0] = '\0';
		return 8;
	}
	if (first != ZK_ELECT_PROTOCOL_V1 && first != ZK_ELECT_PROTOCOL_V2)
		return ZK_EINVAL;
	if (n < HELLO_FIXED_BYTES)
		return 0;
	int32_t len = (int32_t)zk_get_be32(p + 16);
	if (len <= 0 || len > ZK_ELECT_ADDR_MAX)
		return ZK_ERANGE;
	if (n < HELLO_FIXED_BYTES + (size_t)len)
		return 0;
	/* The address is kept as a C string for the shell's dial-back: a NUL inside it could only
	 * truncate it silently, and no host:port contains one. */
	if (memchr(p + HELLO_FIXED_BYTES, 0, (size_t)len))
		return ZK_EINVAL;
	h->protocol_version = first;
	h->sid = (int64_t)zk_get_be64(p + 8);
	memcpy(h->addr, p + HELLO_FIXED_BYTES, (size_t)len);
	h->addr[len] = '\0';
	return HELLO_FIXED_BYTES + len;
}

void zk_elect_hello_write(struct zk_wbuf *w, int64_t sid, const char *addr)
{
	size_t len = strlen(addr);
	if (len > ZK_ELECT_ADDR_MAX)
		len = ZK_ELECT_ADDR_MAX; /* the receiver would refuse more; config hosts are shorter */
	zk_jw_long(w, ZK_ELECT_PROTOCOL_V1);
	zk_jw_long(w, sid);
	zk_jw_int(w, (int32_t)len);
	zk_jw_raw(w, addr, len);
}

/* ---- config text ---- */

/* Java's HashMap<Long, QuorumServer> bucket for id in a table of cap buckets: Long.hashCode,
 * then HashMap.hash's spreading of the high half. */
static uint32_t hashmap_bucket(int64_t id, uint32_t cap)
{
	uint64_t u = (uint64_t)id;
	uint32_t h = (uint32_t)(u ^ (u >> 32));
	h ^= h >> 16;
	return h & (cap - 1);
}

/* The order QuorumMaj.toString walks allMembers in: a java.util.HashMap iterated bucket by bucket.
 * Its table starts at 16 buckets and doubles whenever the size passes 3/4 of it. For ids below
 * the table size (every usual ensemble: ids 1..12) this is ascending id order. Ids sharing a
 * bucket come out in insertion order, which follows java.util.Properties' own hashing of the
 * "server.N" keys; we take ascending ids there, a guess that only matters for colliding ids. */
static void member_order(const struct zk_config *c, int *idx)
{
	uint32_t cap = 16;
	while ((uint64_t)c->n_servers * 4 > (uint64_t)cap * 3)
		cap *= 2;
	for (int i = 0; i < c->n_servers; i++)
		idx[i] = i;
	/* Insertion sort: n_servers is small and this runs once per election machine. */
	for (int i = 1; i < c->n_servers; i++) {
		int cur = idx[i], j = i - 1;
		uint32_t bc = hashmap_bucket(c->servers[cur].id, cap);
		while (j >= 0) {
			const struct zk_cfg_server *o = &c->servers[idx[j]];
			uint32_t bo = hashmap_bucket(o->id, cap);
			if (bo < bc || (bo == bc && o->id <= c->servers[cur].id))
				break;
			idx[j + 1] = idx[j];
			j--;
		}
		idx[j + 1] = cur;
	}
}

/* QuorumServer.delimitedHostString: IPv6 literals (config.c stores them bare) get brackets. */
static void put_host(struct zk_wbuf *w, const char *host)
{
	bool v6 = strchr(host, ':') != NULL;
	if (v6)
		zk_jw_raw(w, "[", 1);
	zk_jw_raw(w, host, strlen(host));
	if (v6)
		zk_jw_raw(w, "]", 1);
}

/* QuorumServer.toString for a single-address member. The ";host:port" client part is printed
 * only when the server.N line carried it: a client address filled in from clientPort is marked
 * isClientAddrFromStatic and left out (the live capture in protocol.md 4.3 has none). */
static void put_member(struct zk_wbuf *w, const struct zk_cfg_server *s)
{
	char num[64];
	int k = snprintf(num, sizeof num, "server.%lld=", (long long)s->id);
	zk_jw_raw(w, num, (size_t)k);
	put_host(w, s->host);
	k = snprintf(num, sizeof num, ":%d:%d:%s", s->quorum_port, s->election_port,
	             s->observer ? "observer" : "participant");
	zk_jw_raw(w, num, (size_t)k);
	if (s->client_port >= 0) {
		zk_jw_raw(w, ";", 1);
		put_host(w, s->client_host[0] ? s->client_host : "0.0.0.0");
		k = snprintf(num, sizeof num, ":%d", s->client_port);
		zk_jw_raw(w, num, (size_t)k);
	}
	zk_jw_raw(w, "\n", 1);
}

void zk_quorum_config_text(const struct zk_config *c, struct zk_wbuf *w)
{
	int idx[ZK_CFG_SERVERS_MAX];
	member_order(c, idx);
	for (int i = 0; i < c->n_servers; i++)
		put_member(w, &c->servers[idx[i]]);
	/* A static zoo.cfg has config version 0, printed with Long.toHexString. */
	zk_jw_raw(w, "version=0", 9);
}

/* ---- QuorumMaj ---- */

int zk_quorum_voters(const struct zk_config *c)
{
	int n = 0;
	for (int i = 0; i < c->n_servers; i++)
		n += !c->servers[i].observer;
	return n;
}

bool zk_quorum_is_voter(const struct zk_config *c, int64_t sid)
{
	for (int i = 0; i < c->n_servers; i++)
		if (c->servers[i].id == sid)
			return !c->servers[i].observer;
	return false;
}

bool zk_quorum_has_majority(const struct zk_config *c, int count)
{
	return count > zk_quorum_voters(c) / 2;
}
