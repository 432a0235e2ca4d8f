/* Fuzz target: a client byte stream through the whole standalone core (server.h), as the shell
 * feeds it: 4-byte length + payload frames, a bad length ends the stream (the shell closes), a
 * four-letter word is detected in the first 4 bytes. One server core is kept across inputs
 * (rebuilt every ZK_FUZZ_REBUILD inputs to bound its state) with a fake clock that moves only
 * between inputs.
 *
 * Input: byte 0 is a control byte, the rest is the stream.
 *   bit 0 clear  prepend a valid new-session ConnectRequest (so most inputs pass the handshake)
 *   bit 1        release PERSIST tokens (disk_done) after every frame, not only at the end
 *   bit 2        tick between frames
 *   bit 3        the prepended ConnectRequest has no readOnly byte (an "old client")
 *   bit 4        after the 2nd frame, resume the session on a second connection (closes the
 *                first while its requests are in flight) and feed the rest there
 *   bit 5        the peer goes away after the 3rd frame, before the disk reports
 *   bit 6        authenticate as digest bob:abc first
 *   bits 7+6 set, 2..0 clear: the disk fails at the end, the PERSISTs are released with rc -5
 *                (the server then refuses writes, so it is rebuilt after this input)
 * After the stream: every PERSIST is released, the connections are closed, the clock moves on
 * and a tick runs (expiring sessions of earlier inputs). Then nothing may be left: no
 * outstanding requests, connections, change records or watchers, and the applied zxid is the
 * last one handed out. Every 64 inputs the tree digest is recomputed from scratch. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc32.h"
#include "jute.h"
#include "out.h"
#include "proto.h"
#include "server.h"
#include "server_int.h"
#include "session.h"

#define ZK_FUZZ_REBUILD 2048
#define CHECK(c)                                                                                           \
	do {                                                                                               \
		if (!(c)) {                                                                                \
			fprintf(stderr, "fuzz_request: check failed: %s (%s:%d)\n", #c, __FILE__, __LINE__); \
			abort();                                                                           \
		}                                                                                          \
	} while (0)

static struct zk_server *srv;
static struct zk_config cfg;
static struct zk_out out;
static struct zk_now now;
static uint64_t next_conn = 1;
static uint64_t last_token;
static uint64_t max_token;
static int pending_persists;
static unsigned long runs;

struct fconn {
	uint64_t id;
	bool open;   /* known to the core (conn_closed not yet called) */
	bool closed; /* the core emitted CLOSE */
	bool fourlw;
	bool greeted; /* a ConnectResponse was sent */
	int64_t sid;
};
static struct fconn conns[2];

static void rebuild(void)
{
	if (srv)
		zk_server_free(srv);
	zk_config_defaults(&cfg);
	cfg.tick_time_ms = 2000;
	cfg.min_session_timeout_ms = 4000;
	cfg.max_session_timeout_ms = 40000;
	cfg.extended_types_enabled = true;
	cfg.container_check_interval_ms = 1000;
	cfg.max_client_cnxns = 0;
	snprintf(cfg.data_dir, sizeof(cfg.data_dir), "/nonexistent");
	snprintf(cfg.data_log_dir, sizeof(cfg.data_log_dir), "/nonexistent");
	snprintf(cfg.fourlw_whitelist, sizeof(cfg.fourlw_whitelist), "*");
	snprintf(cfg.super_digest, sizeof(cfg.super_digest), "super:lK75jTNcA+U9vtVEw5vB51mj/w4=");
	now = (struct zk_now){0x57f1ab, 1700000000000LL};
	srv = zk_server_new(&cfg, now, NULL);
	CHECK(srv);
	if (!out.items)
		zk_out_init(&out);
	last_token = 0;
}

static struct fconn *find(uint64_t id)
{
	for (int i = 0; i < 2; i++)
		if (conns[i].id == id && id)
			return &conns[i];
	return NULL;
}

/* Carries out one call's effects; checks what every batch must satisfy. */
static void carry_out(void)
{
	CHECK(out.err == 0);
	for (size_t i = 0; i < out.n; i++) {
		struct zk_out_item *it = &out.items[i];
		CHECK(it->off + it->len <= out.data.len);
		if (it->kind == ZK_OUT_PERSIST) {
			CHECK(it->token > last_token); /* zxids, strictly increasing */
			CHECK(it->len >= 32);          /* at least a TxnHeader */
			CHECK(zk_get_be64(out.data.p + it->off + 12) == it->token);
			last_token = max_token = it->token;
			pending_persists++;
			continue;
		}
		struct fconn *c = find(it->conn_id);
		CHECK(c); /* only our connections exist */
		CHECK(!c->closed);
		if (it->kind == ZK_OUT_CLOSE) {
			c->closed = true;
			continue;
		}
		CHECK(it->len > 0);
		if (c->fourlw)
			continue; /* plain text */
		/* Whole frames only. */
		size_t off = 0;
		const uint8_t *p = out.data.p + it->off;
		while (off < it->len) {
			CHECK(it->len - off >= 4);
			uint32_t n = zk_get_be32(p + off);
			CHECK(n >= 16 && n <= it->len - off - 4);
			/* The first frame a connection gets is its ConnectResponse (protocolVersion 0,
			 * 16-byte password, optional readOnly byte), nothing may overtake it. */
			if (!c->greeted) {
				CHECK(n == 36 || n == 37);
				CHECK(zk_get_be32(p + off + 4) == 0 && zk_get_be32(p + off + 20) == 16);
				c->greeted = true;
			}
			off += 4 + n;
		}
	}
	zk_out_reset(&out);
}

static void release(void)
{
	for (int round = 0; round < 4 && pending_persists; round++) {
		pending_persists = 0;
		zk_server_disk_done(srv, now, max_token, 0, &out);
		carry_out();
	}
	CHECK(pending_persists == 0);
}

static void open_conn(struct fconn *c)
{
	memset(c, 0, sizeof(*c));
	c->id = next_conn++;
	CHECK(zk_server_conn_open(srv, now, c->id, "127.0.0.1", 5000, &out) == 0);
	c->open = true;
	carry_out();
}

static void frame(struct fconn *c, const uint8_t *p, size_t n)
{
	zk_server_frame(srv, now, c->id, p, n, &out);
	carry_out();
	struct zk_conn *zc = zk_conn_get(srv, c->id);
	if (zc && zc->session_id)
		c->sid = zc->session_id;
}

static void connect_frame(struct fconn *c, int64_t sid, bool old_client)
{
	uint8_t b[45] = {0};
	zk_put_be32(b + 12, 30000);
	zk_put_be64(b + 16, (uint64_t)sid);
	zk_put_be32(b + 24, 16);
	if (sid)
		zk_session_passwd(sid, b + 28);
	frame(c, b, old_client ? 44 : 45);
}

static void auth_frame(struct fconn *c)
{
	static const uint8_t b[] = {0xff, 0xff, 0xff, 0xfc, 0, 0, 0, 100, 0, 0, 0, 0, 0, 0, 0, 6, 'd', 'i', 'g',
				    'e',  's',  't',  0,    0, 0, 7, 'b', 'o', 'b', ':', 'a', 'b', 'c'};
	frame(c, b, sizeof(b));
}

static uint64_t recompute_digest(const struct zk_dtree *t)
{
	uint64_t sum = 0;
	const struct zk_node *n, *tmp;
	HASH_ITER(hh, t->nodes, n, tmp) {
		if (n->path_len > 11 && !memcmp(n->path, "/zookeeper/", 11))
			continue;
		uint8_t st[60];
		const struct zk_pstat *s = &n->stat;
		zk_put_be64(st + 0, (uint64_t)s->czxid);
		zk_put_be64(st + 8, (uint64_t)s->mzxid);
		zk_put_be64(st + 16, (uint64_t)s->pzxid);
		zk_put_be64(st + 24, (uint64_t)s->ctime);
		zk_put_be64(st + 32, (uint64_t)s->mtime);
		zk_put_be32(st + 40, (uint32_t)s->version);
		zk_put_be32(st + 44, (uint32_t)s->cversion);
		zk_put_be32(st + 48, (uint32_t)s->aversion);
		zk_put_be64(st + 52, (uint64_t)s->ephemeral_owner);
		uint32_t c = 0;
		if (n->path_len > 1)
			c = zk_crc32_update(c, n->path, n->path_len);
		if (n->data_len > 0)
			c = zk_crc32_update(c, n->data, (size_t)n->data_len);
		sum += zk_crc32_update(c, st, sizeof(st));
	}
	return sum;
}

static void check_quiescent(void)
{
	CHECK(zk_server_outstanding(srv) == 0);
	CHECK(srv->conn_count == 0);
	CHECK(srv->conns == NULL);
	CHECK(srv->ip_counts == NULL);
	CHECK(srv->commit_head == NULL && srv->commit_len == 0);
	CHECK(srv->queued_reads == 0);
	CHECK(srv->changes.count == 0 && srv->changes.head == NULL && srv->changes.map == NULL);
	CHECK(zk_watches_watcher_count(&srv->watches) == 0);
	CHECK(srv->watches.count == 0);
	CHECK(srv->db.last_zxid == srv->next_zxid);
	CHECK(srv->db.tree.node_count == HASH_CNT(hh, srv->db.tree.nodes));
	CHECK(zk_dtree_count_descendants(srv->db.tree.root) + 1 == srv->db.tree.node_count);
	if (runs % 64 == 0)
		CHECK(recompute_digest(&srv->db.tree) == srv->db.tree.digest);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!srv || ++runs % ZK_FUZZ_REBUILD == 0)
		rebuild();
	if (size == 0)
		return 0;
	uint8_t ctl = data[0];
	data++;
	size--;
	memset(conns, 0, sizeof(conns));
	struct fconn *c = &conns[0];
	open_conn(c);
	bool prepended = !(ctl & 1);
	if (prepended)
		connect_frame(c, 0, ctl & 8);
	if (ctl & 0x40)
		auth_frame(c);
	size_t pos = 0;
	int frames = 0;
	bool first = !prepended;
	while (!c->closed && size - pos >= 4) {
		if (first) {
			first = false;
			if (zk_server_is_fourlw(data + pos)) {
				c->fourlw = true;
				zk_server_fourlw(srv, now, c->id, data + pos, &out);
				carry_out();
				CHECK(c->closed);
				break;
			}
		}
		int32_t len = (int32_t)zk_get_be32(data + pos);
		if (len < 0 || (int64_t)len > cfg.jute_maxbuffer)
			break; /* the shell closes the connection */
		if (size - pos - 4 < (size_t)len)
			break; /* incomplete frame: the peer then hangs up */
		/* An exact-size copy, so any over-read is ASan's. */
		uint8_t *p = malloc(len ? (size_t)len : 1);
		CHECK(p);
		memcpy(p, data + pos + 4, (size_t)len);
		frame(c, p, (size_t)len);
		free(p);
		pos += 4 + (size_t)len;
		frames++;
		if (ctl & 2)
			release();
		if (ctl & 4) {
			now.mono_ms += 700;
			now.wall_ms += 700;
			zk_server_tick(srv, now, &out);
			carry_out();
		}
		if ((ctl & 0x10) && frames == 2 && c == &conns[0] && c->sid) {
			struct fconn *c2 = &conns[1];
			open_conn(c2);
			connect_frame(c2, c->sid, false);
			c = c2;
		}
		if ((ctl & 0x20) && frames == 3) {
			for (int i = 0; i < 2; i++)
				if (conns[i].open) {
					zk_server_conn_closed(srv, now, conns[i].id);
					conns[i].open = false;
				}
			break;
		}
	}
	if ((ctl & 0xc7) == 0xc0 && pending_persists) {
		pending_persists = 0;
		zk_server_disk_done(srv, now, max_token, -5, &out);
		carry_out();
		for (int i = 0; i < 2; i++)
			if (conns[i].open)
				zk_server_conn_closed(srv, now, conns[i].id);
		CHECK(zk_server_outstanding(srv) == 0);
		CHECK(srv->conn_count == 0 && srv->commit_head == NULL);
		rebuild();
		return 0;
	}
	release();
	for (int i = 0; i < 2; i++)
		if (conns[i].open) {
			zk_server_conn_closed(srv, now, conns[i].id);
			conns[i].open = false;
			conns[i].closed = true;
		}
	release();
	/* Time moves between inputs: sessions of earlier inputs expire, containers are reaped. */
	now.mono_ms += 3000;
	now.wall_ms += 3000;
	zk_server_tick(srv, now, &out);
	carry_out();
	release();
	check_quiescent();
	return 0;
}
