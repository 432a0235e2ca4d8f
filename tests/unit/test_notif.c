/* Election-port records (quorum/notif.c): the handshake and notification bytes captured live
 * from Apache ZooKeeper 3.8.0 (protocol.md 4.2, 4.3, 9.2) come out of the writers byte for byte
 * and decode back; every older notification shape decodes as FastLeaderElection's
 * WorkerReceiver reads it; truncation at every offset and bad lengths are errors (tri-state for
 * the handshake), never over-reads: inputs are exact-size heap copies so ASan sees any overrun.
 * Also the config text (QuorumMaj.toString) and the majority helpers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "errors.h"
#include "jute.h"
#include "notif.h"

static struct zk_config cfg; /* large: not on the stack */

/* The ensemble of the live capture (protocol.md 9.1): three participants and observer 4,
 * clientPort set (so no ";client" part is printed). server.3's ports are elided in the capture;
 * any 4-digit pair gives the captured 170 bytes. */
static const char capture_cfg[] = "tickTime=2000\ndataDir=/d\nclientPort=2181\ninitLimit=10\nsyncLimit=5\n"
                                  "server.1=127.0.0.1:4881:4891\n"
                                  "server.2=127.0.0.1:2882:3882:participant\n"
                                  "server.3=127.0.0.1:2883:3883\n"
                                  "server.4=127.0.0.1:2884:3884:observer\n";
static const char capture_text[] = "server.1=127.0.0.1:4881:4891:participant\n"
                                   "server.2=127.0.0.1:2882:3882:participant\n"
                                   "server.3=127.0.0.1:2883:3883:participant\n"
                                   "server.4=127.0.0.1:2884:3884:observer\n"
                                   "version=0";

static void parse_cfg(const char *text)
{
	char err[256];
	zk_config_defaults(&cfg);
	int rc = zk_config_parse(&cfg, text, strlen(text), err, sizeof err, NULL, NULL);
	if (rc)
		fail_msg("config: %s", err);
}

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;
	int hi = -1;
	for (const char *p = hex; *p; p++) {
		int v;
		if (*p >= '0' && *p <= '9')
			v = *p - '0';
		else if (*p >= 'a' && *p <= 'f')
			v = *p - 'a' + 10;
		else
			continue;
		if (hi < 0) {
			hi = v;
		} else {
			assert_true(n < cap);
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	assert_int_equal(hi, -1);
	return n;
}

static uint8_t *dup_exact(const uint8_t *p, size_t n)
{
	uint8_t *d = malloc(n ? n : 1);
	assert_non_null(d);
	if (n)
		memcpy(d, p, n);
	return d;
}

static int decode_copy(const uint8_t *p, size_t n, struct zk_notif *out)
{
	uint8_t *d = dup_exact(p, n);
	int rc = zk_notif_decode(d, n, out);
	/* config points into the copy: compare it before freeing. */
	if (rc == 0 && out->config.len > 0) {
		assert_true(out->config.p >= d && out->config.p + out->config.len <= d + n);
		out->config.p = (const uint8_t *)"(freed)";
	}
	free(d);
	return rc;
}

static int hello_copy(const uint8_t *p, size_t n, struct zk_elect_hello *h)
{
	uint8_t *d = dup_exact(p, n);
	int rc = zk_elect_hello_decode(d, n, h);
	free(d);
	return rc;
}

/* ---- config text ---- */

static void test_config_text_live(void **state)
{
	(void)state;
	parse_cfg(capture_cfg);
	struct zk_wbuf w;
	zk_wbuf_init(&w);
	zk_quorum_config_text(&cfg, &w);
	assert_int_equal(w.len, 170); /* configLength 0xaa in the capture */
	assert_int_equal(w.len, strlen(capture_text));
	assert_memory_equal(w.p, capture_text, w.len);
	zk_wbuf_fini(&w);
}

static void expect_text(const char *servers, const char *want)
{
	char text[2048];
	snprintf(text, sizeof text, "dataDir=/d\nclientPort=2181\ninitLimit=5\nsyncLimit=2\n%s", servers);
	parse_cfg(text);
	struct zk_wbuf w;
	zk_wbuf_init(&w);
	zk_jw_raw(&w, "xx", 2); /* appends */
	zk_quorum_config_text(&cfg, &w);
	assert_int_equal(w.err, 0);
	if (w.len - 2 != strlen(want) || memcmp(w.p + 2, want, w.len - 2))
		fail_msg("config text\n got: %.*s\nwant: %s", (int)(w.len - 2), (const char *)w.p + 2, want);
	zk_wbuf_fini(&w);
}

static void test_config_text_forms(void **state)
{
	(void)state;
	/* A client part given on the server line is printed (isClientAddrFromStatic false); a port
	 * alone means 0.0.0.0; IPv6 hosts get brackets back. */
	expect_text("server.1=zk1:2888:3888;2181\nserver.2=zk2:2888:3888:participant;10.0.0.2:2182\n"
	            "server.3=[2001:db8::3]:2888:3888:observer;[::1]:2183\n",
	            "server.1=zk1:2888:3888:participant;0.0.0.0:2181\n"
	            "server.2=zk2:2888:3888:participant;10.0.0.2:2182\n"
	            "server.3=[2001:db8::3]:2888:3888:observer;[::1]:2183\n"
	            "version=0");
	/* Written in any order, printed in HashMap order: ascending for small ids. */
	expect_text("server.3=h:1:2\nserver.1=h:3:4\nserver.2=h:5:6:observer\n",
	            "server.1=h:3:4:participant\nserver.2=h:5:6:observer\nserver.3=h:1:2:participant\nversion=0");
	/* Ids past the 16-bucket table wrap around it: 17 shares bucket 1 with 1. */
	expect_text("server.2=h:1:2\nserver.17=h:3:4\nserver.1=h:5:6\n",
	            "server.1=h:5:6:participant\nserver.17=h:3:4:participant\nserver.2=h:1:2:participant\nversion=0");
}

static void test_config_text_hashmap_resize(void **state)
{
	(void)state;
	/* 13 members pass 3/4 of 16 buckets: the table has 32, so 17 comes after 16, before 33. */
	char servers[1024] = "", want[2048] = "";
	static const int ids[] = { 33, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 17, 16 };
	static const int order[] = { 1, 33, 2, 3, 4, 5, 6, 7, 8, 9, 10, 16, 17 };
	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
		snprintf(servers + strlen(servers), sizeof servers - strlen(servers), "server.%d=h:%d:%d\n", ids[i],
		         1000 + ids[i], 2000 + ids[i]);
	for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
		snprintf(want + strlen(want), sizeof want - strlen(want), "server.%d=h:%d:%d:participant\n", order[i],
		         1000 + order[i], 2000 + order[i]);
	strcat(want, "version=0");
	expect_text(servers, want);
}

static void test_quorum_helpers(void **state)
{
	(void)state;
	parse_cfg(capture_cfg);
	assert_int_equal(zk_quorum_voters(&cfg), 3);
	assert_true(zk_quorum_is_voter(&cfg, 1));
	assert_true(zk_quorum_is_voter(&cfg, 3));
	assert_false(zk_quorum_is_voter(&cfg, 4)); /* observer */
	assert_false(zk_quorum_is_voter(&cfg, 5)); /* not a member */
	assert_false(zk_quorum_is_voter(&cfg, INT64_MIN));
	assert_false(zk_quorum_has_majority(&cfg, 1));
	assert_true(zk_quorum_has_majority(&cfg, 2));
	assert_true(zk_quorum_has_majority(&cfg, 3));
	parse_cfg("dataDir=/d\nclientPort=1\ninitLimit=5\nsyncLimit=2\nserver.1=h:1:2\nserver.2=h:3:4\n"
	          "server.3=h:5:6\nserver.4=h:7:8\n");
	assert_int_equal(zk_quorum_voters(&cfg), 4);
	assert_false(zk_quorum_has_majority(&cfg, 2)); /* 4 voters: 2 is not more than half */
	assert_true(zk_quorum_has_majority(&cfg, 3));
	parse_cfg("dataDir=/d\nclientPort=1\ninitLimit=5\nsyncLimit=2\nserver.1=h:1:2\nserver.2=h:3:4\n"
	          "server.3=h:5:6\nserver.4=h:7:8\nserver.5=h:9:10\nserver.6=h:11:12:observer\n");
	assert_int_equal(zk_quorum_voters(&cfg), 5);
	assert_false(zk_quorum_has_majority(&cfg, 2));
	assert_true(zk_quorum_has_majority(&cfg, 3));
}

/* ---- notifications ---- */

/* protocol.md 4.3 / 9.2: observer sid 4, LOOKING, proposing nothing, round 1. */
static const char live_observer_hdr[] =
	"000000d6 00000000 8000000000000000 8000000000000000 0000000000000001 8000000000000000 00000002 000000aa";

static size_t live_observer_frame(uint8_t *buf, size_t cap)
{
	size_t n = unhex(live_observer_hdr, buf, cap);
	assert_true(n + strlen(capture_text) <= cap);
	memcpy(buf + n, capture_text, strlen(capture_text));
	return n + strlen(capture_text);
}

static void test_notif_live_observer(void **state)
{
	(void)state;
	uint8_t want[512];
	size_t n = live_observer_frame(want, sizeof want);
	assert_int_equal(n, 4 + 0xd6);

	parse_cfg(capture_cfg);
	struct zk_wbuf text, w;
	zk_wbuf_init(&text);
	zk_wbuf_init(&w);
	zk_quorum_config_text(&cfg, &text);
	zk_jw_raw(&w, "ab", 2); /* the frame length covers this frame only */
	struct zk_vote v = { INT64_MIN, INT64_MIN, 1, INT64_MIN };
	zk_notif_write_frame(&w, ZK_PS_LOOKING, &v, (const char *)text.p, text.len);
	assert_int_equal(w.len - 2, n);
	assert_memory_equal(w.p + 2, want, n);

	uint8_t *body = dup_exact(want + 4, n - 4);
	struct zk_notif nt;
	assert_int_equal(zk_notif_decode(body, n - 4, &nt), 0);
	assert_int_equal(nt.state, ZK_PS_LOOKING);
	assert_true(nt.vote.leader == INT64_MIN);
	assert_true(nt.vote.zxid == INT64_MIN);
	assert_int_equal(nt.vote.election_epoch, 1);
	assert_true(nt.vote.peer_epoch == INT64_MIN);
	assert_int_equal(nt.version, 2);
	assert_int_equal(nt.config.len, 170);
	assert_memory_equal(nt.config.p, capture_text, 170);
	free(body);
	zk_wbuf_fini(&text);
	zk_wbuf_fini(&w);
}

static void test_notif_live_participant_reply(void **state)
{
	(void)state;
	/* sid 2's reply: LOOKING, voting for itself, zxid 0, round 1, peerEpoch 0 (+ the config). */
	struct zk_wbuf w;
	zk_wbuf_init(&w);
	struct zk_vote v = { 2, 0, 1, 0 };
	zk_notif_write_frame(&w, ZK_PS_LOOKING, &v, capture_text, 170);
	uint8_t want[64];
	size_t n = unhex("000000d6 00000000 0000000000000002 0000000000000000 0000000000000001 0000000000000000 "
	                 "00000002 000000aa",
	                 want, sizeof want);
	assert_int_equal(w.len, n + 170);
	assert_memory_equal(w.p, want, n);
	struct zk_notif nt;
	assert_int_equal(decode_copy(w.p + 4, w.len - 4, &nt), 0);
	assert_int_equal(nt.vote.leader, 2);
	assert_int_equal(nt.vote.zxid, 0);
	assert_int_equal(nt.vote.election_epoch, 1);
	assert_int_equal(nt.vote.peer_epoch, 0);
	assert_int_equal(nt.config.len, 170);
	/* Empty config: length 0, present. */
	zk_wbuf_reset(&w);
	zk_notif_write_frame(&w, ZK_PS_LEADING, &v, "", 0);
	assert_int_equal(w.len, 48);
	assert_int_equal(zk_get_be32(w.p), 44);
	assert_int_equal(decode_copy(w.p + 4, w.len - 4, &nt), 0);
	assert_int_equal(nt.state, ZK_PS_LEADING);
	assert_int_equal(nt.config.len, 0);
	zk_wbuf_fini(&w);
}

/* A body of the given length: the fixed fields, then version / configLength as asked. */
static size_t body_of(uint8_t *b, size_t n, int32_t state, int64_t zxid, int32_t version, int32_t cfg_len)
{
	memset(b, 0xee, n);
	zk_put_be32(b, (uint32_t)state);
	zk_put_be64(b + 4, 3);
	zk_put_be64(b + 12, (uint64_t)zxid);
	zk_put_be64(b + 20, 9);
	if (n >= 36)
		zk_put_be64(b + 28, 5);
	if (n >= 40)
		zk_put_be32(b + 36, (uint32_t)version);
	if (n >= 44)
		zk_put_be32(b + 40, (uint32_t)cfg_len);
	return n;
}

static void test_notif_old_shapes(void **state)
{
	(void)state;
	uint8_t b[128];
	struct zk_notif nt;

	/* 28 bytes (before ZOOKEEPER-107): the epoch is the zxid's high half, signed. */
	body_of(b, 28, ZK_PS_FOLLOWING, 0x0000000700000003LL, 0, 0);
	assert_int_equal(decode_copy(b, 28, &nt), 0);
	assert_int_equal(nt.state, ZK_PS_FOLLOWING);
	assert_int_equal(nt.vote.leader, 3);
	assert_int_equal(nt.vote.election_epoch, 9);
	assert_int_equal(nt.vote.peer_epoch, 7);
	assert_int_equal(nt.version, 0);
	assert_int_equal(nt.config.len, -1);
	body_of(b, 28, ZK_PS_LOOKING, -1, 0, 0);
	assert_int_equal(decode_copy(b, 28, &nt), 0);
	assert_int_equal(nt.vote.peer_epoch, -1);

	/* 40 bytes: + peerEpoch, no version (even if the last 4 bytes say 1, as buildMsg's test
	 * form writes). */
	body_of(b, 40, ZK_PS_LEADING, 0x100000001LL, 1, 0);
	assert_int_equal(decode_copy(b, 40, &nt), 0);
	assert_int_equal(nt.vote.peer_epoch, 5);
	assert_int_equal(nt.version, 0);
	assert_int_equal(nt.config.len, -1);

	/* Version 1: no config fields; whatever follows is ignored. */
	for (size_t n = 41; n <= 60; n++) {
		body_of(b, n, ZK_PS_OBSERVING, 1, 1, -7);
		assert_int_equal(decode_copy(b, n, &nt), 0);
		assert_int_equal(nt.version, 1);
		assert_int_equal(nt.config.len, -1);
		assert_int_equal(nt.state, ZK_PS_OBSERVING);
	}
	/* Versions 0 and negative in a long frame: also no config. */
	body_of(b, 44, ZK_PS_LOOKING, 1, 0, -1);
	assert_int_equal(decode_copy(b, 44, &nt), 0);
	assert_int_equal(nt.config.len, -1);
	body_of(b, 44, ZK_PS_LOOKING, 1, -3, -1);
	assert_int_equal(decode_copy(b, 44, &nt), 0);
	assert_int_equal(nt.version, -3);
	/* A future version still carries the config where version 2 does. */
	body_of(b, 50, ZK_PS_LOOKING, 1, 3, 6);
	memcpy(b + 44, "abcdef", 6);
	assert_int_equal(decode_copy(b, 50, &nt), 0);
	assert_int_equal(nt.version, 3);
	assert_int_equal(nt.config.len, 6);
	/* Trailing bytes after the config are ignored, as ByteBuffer reads leave them. */
	body_of(b, 60, ZK_PS_LOOKING, 1, 2, 6);
	assert_int_equal(decode_copy(b, 60, &nt), 0);
	assert_int_equal(nt.config.len, 6);
}

static void test_notif_truncated_everywhere(void **state)
{
	(void)state;
	uint8_t frame[512];
	size_t n = live_observer_frame(frame, sizeof frame);
	const uint8_t *body = frame + 4;
	size_t blen = n - 4;
	struct zk_notif nt;
	for (size_t k = 0; k <= blen; k++) {
		int rc = decode_copy(body, k, &nt);
		if (k < 28)
			assert_int_equal(rc, ZK_ESHORT);
		else if (k == 28 || k == 40) /* the old shapes are whole frames of their own */
			assert_int_equal(rc, 0);
		else if (k < 44)
			assert_int_equal(rc, ZK_ESHORT);
		else if (k < blen)
			assert_int_equal(rc, ZK_EINVAL); /* configLength 170 runs past the end */
		else
			assert_int_equal(rc, 0);
	}
}

static void test_notif_bad_fields(void **state)
{
	(void)state;
	uint8_t b[128];
	struct zk_notif nt;
	static const int32_t bad_len[] = { -1, -2, INT32_MIN, 1, 17, INT32_MAX };
	for (size_t i = 0; i < sizeof bad_len / sizeof bad_len[0]; i++) {
		body_of(b, 44, ZK_PS_LOOKING, 1, 2, bad_len[i]);
		assert_int_equal(decode_copy(b, 44, &nt), ZK_EINVAL);
	}
	body_of(b, 60, ZK_PS_LOOKING, 1, 2, 16);
	assert_int_equal(decode_copy(b, 60, &nt), 0);
	body_of(b, 60, ZK_PS_LOOKING, 1, 2, 17);
	assert_int_equal(decode_copy(b, 60, &nt), ZK_EINVAL);
	static const int32_t bad_state[] = { -1, 4, 5, INT32_MIN, INT32_MAX };
	for (size_t i = 0; i < sizeof bad_state / sizeof bad_state[0]; i++) {
		body_of(b, 28, bad_state[i], 1, 0, 0);
		assert_int_equal(decode_copy(b, 28, &nt), ZK_EINVAL);
		body_of(b, 44, bad_state[i], 1, 2, 0);
		assert_int_equal(decode_copy(b, 44, &nt), ZK_EINVAL);
	}
	for (int32_t s = 0; s <= 3; s++) {
		body_of(b, 44, s, 1, 2, 0);
		assert_int_equal(decode_copy(b, 44, &nt), 0);
		assert_int_equal(nt.state, s);
	}
}

static void test_notif_round_trip(void **state)
{
	(void)state;
	static const int64_t vals[] = { 0, 1, -1, INT64_MIN, INT64_MAX, 0x123456789abcdefLL };
	struct zk_wbuf w;
	zk_wbuf_init(&w);
	for (size_t i = 0; i < 6; i++) {
		for (int32_t s = 0; s <= 3; s++) {
			struct zk_vote v = { vals[i], vals[(i + 1) % 6], vals[(i + 2) % 6], vals[(i + 3) % 6] };
			zk_wbuf_reset(&w);
			zk_notif_write_frame(&w, s, &v, "version=0", 9);
			assert_int_equal(zk_get_be32(w.p), w.len - 4);
			struct zk_notif nt;
			assert_int_equal(decode_copy(w.p + 4, w.len - 4, &nt), 0);
			assert_int_equal(nt.state, s);
			assert_memory_equal(&nt.vote, &v, sizeof v);
			assert_int_equal(nt.version, ZK_NOTIF_VERSION);
			assert_int_equal(nt.config.len, 9);
		}
	}
	zk_wbuf_fini(&w);
}

/* ---- handshake ---- */

static void test_hello_live(void **state)
{
	(void)state;
	/* sid 2 connecting to sid 1 (protocol.md 4.2), and the observer's (9.2). */
	uint8_t want[64];
	size_t n = unhex("ffffffffffff0000 0000000000000002 0000000e 3132372e302e302e313a33383832", want, sizeof want);
	struct zk_wbuf w;
	zk_wbuf_init(&w);
	zk_elect_hello_write(&w, 2, "127.0.0.1:3882");
	assert_int_equal(w.len, n);
	assert_memory_equal(w.p, want, n);

	struct zk_elect_hello h;
	assert_int_equal(hello_copy(want, n, &h), (int)n);
	assert_true(h.protocol_version == ZK_ELECT_PROTOCOL_V1);
	assert_int_equal(h.sid, 2);
	assert_string_equal(h.addr, "127.0.0.1:3882");

	/* Followed by the first notification frame: only the handshake is consumed. */
	uint8_t stream[600];
	n = unhex("ffffffffffff0000 0000000000000004 0000000e", stream, sizeof stream);
	memcpy(stream + n, "127.0.0.1:3884", 14);
	n += 14;
	size_t hello_len = n;
	n += live_observer_frame(stream + n, sizeof stream - n);
	assert_int_equal(hello_copy(stream, n, &h), (int)hello_len);
	assert_int_equal(h.sid, 4);
	assert_string_equal(h.addr, "127.0.0.1:3884");
	zk_wbuf_fini(&w);
}

static void test_hello_truncated_and_bad(void **state)
{
	(void)state;
	struct zk_wbuf w;
	zk_wbuf_init(&w);
	zk_elect_hello_write(&w, 7, "zk7.example:3888");
	struct zk_elect_hello h;
	for (size_t k = 0; k < w.len; k++)
		assert_int_equal(hello_copy(w.p, k, &h), 0); /* need more */
	assert_int_equal(hello_copy(w.p, w.len, &h), (int)w.len);

	/* V2 (multiAddress) is read the same way; the address list is the shell's to split. */
	zk_put_be64(w.p, (uint64_t)ZK_ELECT_PROTOCOL_V2);
	assert_int_equal(hello_copy(w.p, w.len, &h), (int)w.len);
	assert_true(h.protocol_version == ZK_ELECT_PROTOCOL_V2);

	/* Any other negative version is refused as soon as its 8 bytes are in. */
	static const int64_t bad_versions[] = { -1, -65537, -65534, INT64_MIN };
	for (size_t i = 0; i < 4; i++) {
		zk_put_be64(w.p, (uint64_t)bad_versions[i]);
		assert_true(hello_copy(w.p, 8, &h) < 0);
		assert_true(hello_copy(w.p, w.len, &h) < 0);
	}
	zk_put_be64(w.p, (uint64_t)ZK_ELECT_PROTOCOL_V1);

	/* Address length out of 1..2048. */
	static const int32_t bad_lens[] = { 0, -1, INT32_MIN, 2049, INT32_MAX };
	for (size_t i = 0; i < 5; i++) {
		zk_put_be32(w.p + 16, (uint32_t)bad_lens[i]);
		assert_true(hello_copy(w.p, 20, &h) < 0);
	}
	/* 2048 is fine; a NUL inside the address is not. */
	zk_wbuf_reset(&w);
	char big[ZK_ELECT_ADDR_MAX + 1];
	memset(big, 'a', ZK_ELECT_ADDR_MAX);
	big[ZK_ELECT_ADDR_MAX] = '\0';
	zk_elect_hello_write(&w, 1, big);
	assert_int_equal(hello_copy(w.p, w.len, &h), 20 + ZK_ELECT_ADDR_MAX);
	assert_int_equal(strlen(h.addr), ZK_ELECT_ADDR_MAX);
	assert_int_equal(hello_copy(w.p, w.len - 1, &h), 0);
	w.p[100] = 0;
	assert_true(hello_copy(w.p, w.len, &h) < 0);

	/* Pre-3.5 peers: a bare non-negative sid, nothing after it. */
	uint8_t bare[12] = { 0, 0, 0, 0, 0, 0, 0, 5, 0xff, 0xff, 0xff, 0xff };
	assert_int_equal(hello_copy(bare, 12, &h), 8);
	assert_int_equal(h.sid, 5);
	assert_int_equal(h.protocol_version, 0);
	assert_string_equal(h.addr, "");
	assert_int_equal(hello_copy(bare, 7, &h), 0);
	memset(bare, 0, 8);
	assert_int_equal(hello_copy(bare, 8, &h), 8);
	assert_int_equal(h.sid, 0);
	zk_wbuf_fini(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_text_live),
		cmocka_unit_test(test_config_text_forms),
		cmocka_unit_test(test_config_text_hashmap_resize),
		cmocka_unit_test(test_quorum_helpers),
		cmocka_unit_test(test_notif_live_observer),
		cmocka_unit_test(test_notif_live_participant_reply),
		cmocka_unit_test(test_notif_old_shapes),
		cmocka_unit_test(test_notif_truncated_everywhere),
		cmocka_unit_test(test_notif_bad_fields),
		cmocka_unit_test(test_notif_round_trip),
		cmocka_unit_test(test_hello_live),
		cmocka_unit_test(test_hello_truncated_and_bad),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
