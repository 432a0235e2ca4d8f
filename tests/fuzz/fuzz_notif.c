/* Fuzz target: the election-port records (quorum/notif.c) and the election machine fed with
 * what they decode (quorum/fle.c).
 *
 * Input: byte 0 chooses the mode (mod 3), the rest is its data:
 *   0  a notification body for zk_notif_decode; a decoded one must re-encode (as version 2) and
 *      decode to the same vote, and its config must lie inside the input
 *   1  a byte stream for zk_elect_hello_decode: every prefix shorter than a decoded handshake
 *      needs more, nothing is refused before 8 bytes, and a consumed V1 handshake re-encodes to
 *      the same bytes
 *   2  an election script for one machine of voters 1..3 + observer 4 (plus stranger sid 5):
 *      byte 1 picks myid (1..4); then ops, each one byte (mod 5) and its arguments:
 *        0 raw:    sid byte, 1-byte length L, L bytes of notification body
 *        1 vote:   sid, state, leader, zxid, round, peerEpoch, shape (28/40/v1/v2) bytes,
 *                  built with the writers so the machine sees plausible votes
 *        2 time:   1 byte, the clock moves on by (byte * 8) ms, then zk_fle_tick
 *        3 start:  zk_fle_start again (a new round)
 *        4 synced: zk_fle_set_decided with the decided vote and peerEpoch + 1
 *      After every call: each SEND is whole decodable frames on an election link, never to
 *      ourselves, an observer machine only sends LOOKING to voters, a decision holds and names
 *      a voter, and the machine has a future deadline while LOOKING.
 * Every piece of input is copied into an exact-size heap block so over-reads are ASan's. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "errors.h"
#include "fle.h"
#include "jute.h"
#include "notif.h"
#include "out.h"

#define CHECK(c)                                                                                         \
	do {                                                                                             \
		if (!(c)) {                                                                              \
			fprintf(stderr, "fuzz_notif: check failed: %s (%s:%d)\n", #c, __FILE__, __LINE__); \
			abort();                                                                         \
		}                                                                                        \
	} while (0)

static uint8_t *dup_exact(const uint8_t *p, size_t n)
{
	uint8_t *d = malloc(n ? n : 1);
	CHECK(d);
	if (n)
		memcpy(d, p, n);
	return d;
}

static void mode_notif(const uint8_t *data, size_t size)
{
	uint8_t *p = dup_exact(data, size);
	struct zk_notif n;
	int rc = zk_notif_decode(p, size, &n);
	CHECK(rc == 0 || rc == ZK_ESHORT || rc == ZK_EINVAL);
	if (rc == 0) {
		CHECK(size >= ZK_NOTIF_MIN_BYTES);
		CHECK(n.state >= ZK_PS_LOOKING && n.state <= ZK_PS_OBSERVING);
		CHECK(n.config.len >= -1);
		CHECK((n.config.len >= 0) == (n.version > 1));
		if (n.config.len > 0)
			CHECK(n.config.p >= p + 44 && n.config.p + n.config.len <= p + size);
		struct zk_wbuf w;
		zk_wbuf_init(&w);
		zk_notif_write_frame(&w, n.state, &n.vote, n.config.len > 0 ? (const char *)n.config.p : "",
		                     n.config.len > 0 ? (size_t)n.config.len : 0);
		CHECK(w.err == 0 && zk_get_be32(w.p) == w.len - 4);
		struct zk_notif m;
		CHECK(zk_notif_decode(w.p + 4, w.len - 4, &m) == 0);
		CHECK(m.state == n.state && !memcmp(&m.vote, &n.vote, sizeof m.vote));
		CHECK(m.version == ZK_NOTIF_VERSION && m.config.len == (n.config.len > 0 ? n.config.len : 0));
		zk_wbuf_fini(&w);
	}
	free(p);
}

static void mode_hello(const uint8_t *data, size_t size)
{
	uint8_t *p = dup_exact(data, size);
	static struct zk_elect_hello h, g;
	int rc = zk_elect_hello_decode(p, size, &h);
	CHECK(rc <= (int)size);
	if (rc > 0) {
		CHECK(rc == 8 || rc >= 21);
		CHECK(strlen(h.addr) <= ZK_ELECT_ADDR_MAX);
		/* Every shorter prefix needs more. */
		for (size_t k = 0; k < (size_t)rc; k++)
			CHECK(zk_elect_hello_decode(p, k, &g) == 0);
		if (h.protocol_version == ZK_ELECT_PROTOCOL_V1) {
			struct zk_wbuf w;
			zk_wbuf_init(&w);
			zk_elect_hello_write(&w, h.sid, h.addr);
			CHECK(w.len == (size_t)rc && !memcmp(w.p, p, w.len));
			zk_wbuf_fini(&w);
		}
	} else if (rc < 0) {
		CHECK(size >= 8); /* nothing is judged before the first long is in */
	}
	free(p);
}

/* ---- mode 2: one election machine ---- */

static struct zk_config cfg;

/* Every line is formatted (so UBSan sees the format arguments), then dropped. */
static void sink(void *ctx, enum zk_log_level level, const char *line)
{
	(void)ctx;
	(void)level;
	CHECK(line[0] != '\0');
}

static const struct zk_logger logger = { sink, NULL, ZK_LOG_DEBUG };

struct script {
	const uint8_t *p;
	size_t n, pos;
};

static int take(struct script *s)
{
	return s->pos < s->n ? s->p[s->pos++] : -1;
}

static int64_t small_sid(int b)
{
	return b == 0xff ? INT64_MIN : b % 6; /* 0 and 5: not members */
}

static void check_out(const struct zk_fle *e, struct zk_out *out)
{
	CHECK(out->err == 0);
	for (size_t i = 0; i < out->n; i++) {
		const struct zk_out_item *it = &out->items[i];
		CHECK(it->kind == ZK_OUT_SEND && ZK_LINK_IS_ELECT(it->conn_id));
		int64_t to = (int64_t)(it->conn_id & ~ZK_LINK_ELECT_BASE);
		CHECK(to != e->myid);
		const uint8_t *p = out->data.p + it->off;
		size_t left = it->len;
		while (left) {
			CHECK(left >= 4);
			uint32_t fl = zk_get_be32(p);
			CHECK(fl <= left - 4);
			struct zk_notif n;
			CHECK(zk_notif_decode(p + 4, fl, &n) == 0);
			if (e->observer)
				CHECK(n.state == ZK_PS_LOOKING && zk_quorum_is_voter(&cfg, to));
			else if (n.state == ZK_PS_LOOKING)
				CHECK(n.vote.leader == e->myid || zk_quorum_is_voter(&cfg, n.vote.leader));
			p += 4 + fl;
			left -= 4 + fl;
		}
	}
	zk_out_reset(out);
}

static void op_vote(struct zk_fle *e, struct script *s, int64_t now, struct zk_out *out)
{
	int b[7];
	for (int i = 0; i < 7; i++)
		if ((b[i] = take(s)) < 0)
			return;
	int64_t sid = small_sid(b[0]);
	struct zk_vote v = { small_sid(b[2]), ((int64_t)(b[3] >> 4) << 32) | (b[3] & 15), b[4] % 8, b[5] % 4 };
	if (b[3] == 0xff)
		v.zxid = -1;
	struct zk_wbuf w;
	zk_wbuf_init(&w);
	zk_notif_write_frame(&w, b[1] % 4, &v, "version=0", 9);
	/* Older shapes: the front of the v2 body, version patched for v1. */
	static const size_t lens[] = { 28, 40, 40 + 4, 0 };
	size_t len = lens[b[6] % 4] ? lens[b[6] % 4] : w.len - 4;
	if (len == 44)
		zk_put_be32(w.p + 4 + 36, 1);
	uint8_t *body = dup_exact(w.p + 4, len);
	zk_fle_recv(e, now, sid, body, len, out);
	free(body);
	zk_wbuf_fini(&w);
}

static void mode_fle(const uint8_t *data, size_t size)
{
	if (!cfg.n_servers) {
		zk_config_defaults(&cfg);
		cfg.n_servers = 4;
		for (int i = 0; i < 4; i++) {
			snprintf(cfg.servers[i].host, sizeof cfg.servers[i].host, "10.0.0.%d", i + 1);
			cfg.servers[i].id = i + 1;
			cfg.servers[i].quorum_port = 2888;
			cfg.servers[i].election_port = 3888;
			cfg.servers[i].observer = i == 3;
			cfg.servers[i].client_port = -1;
		}
	}
	struct script s = { data, size, 0 };
	int b = take(&s);
	if (b < 0)
		return;
	static struct zk_fle e;
	struct zk_out out;
	zk_out_init(&out);
	zk_fle_init(&e, &cfg, 1 + b % 4, &logger);
	int64_t now = 1000, zxid = 0x100000002LL;
	zk_fle_start(&e, now, zxid, 1, &out);
	check_out(&e, &out);
	bool decided = false;
	int32_t dst = 0;
	struct zk_vote dv;
	int op;
	while ((op = take(&s)) >= 0) {
		switch (op % 5) {
		case 0: {
			int sid = take(&s), len = take(&s);
			if (sid < 0 || len < 0 || s.n - s.pos < (size_t)len)
				goto done;
			uint8_t *body = dup_exact(s.p + s.pos, (size_t)len);
			s.pos += (size_t)len;
			zk_fle_recv(&e, now, small_sid(sid), body, (size_t)len, &out);
			free(body);
			break;
		}
		case 1:
			op_vote(&e, &s, now, &out);
			break;
		case 2: {
			int d = take(&s);
			now += d < 0 ? 0 : d * 8;
			zk_fle_tick(&e, now, &out);
			break;
		}
		case 3:
			zk_fle_start(&e, now, zxid, 1, &out);
			decided = false;
			break;
		case 4:
			if (decided) {
				dv.peer_epoch++;
				zk_fle_set_decided(&e, dst, &dv);
			}
			break;
		}
		check_out(&e, &out);
		int32_t st;
		struct zk_vote v;
		bool d = zk_fle_result(&e, &st, &v);
		if (decided) {
			CHECK(d && st == dst && v.leader == dv.leader);
		} else if (d) {
			decided = true;
			dst = st;
			dv = v;
			CHECK(zk_quorum_is_voter(&cfg, v.leader));
			CHECK((st == ZK_PS_LEADING) == (v.leader == e.myid));
			CHECK((st == ZK_PS_OBSERVING) == e.observer);
		}
		/* Decided: nothing to wake for. LOOKING, right after a tick: a deadline ahead. */
		int64_t w = zk_fle_next_wake(&e);
		if (d)
			CHECK(w == INT64_MAX);
		else if (op % 5 == 2)
			CHECK(w > now && w <= now + ZK_FLE_MAX_NOTIF_MS);
	}
done:
	zk_fle_fini(&e);
	zk_out_fini(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		mode_notif(data + 1, size - 1);
		break;
	case 1:
		mode_hello(data + 1, size - 1);
		break;
	case 2:
		mode_fle(data + 1, size - 1);
		break;
	}
	return 0;
}
