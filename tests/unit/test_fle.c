/* Fast leader election (quorum/fle.c). Two halves:
 *  - one machine fed hand-made notifications: each rule of protocol.md 4.4 (rounds, vote order,
 *    finalizeWait, back-off, the answers, joining an established ensemble, checkLeader, zxid -1,
 *    observers, old notification versions);
 *  - a simulated network of N machines (3 and 5 voters, 3 voters + 2 observers): each zk_out
 *    SEND is split into frames and delivered to the recipient's zk_fle_recv after a seeded random
 *    delay (FIFO per link, as on one TCP connection, so messages reorder only across senders),
 *    with loss and late starts, on a simulated clock. Checked over many seeds: everyone decides
 *    the same leader, the best voter by (epoch, zxid, id) when delays stay under finalizeWait,
 *    observers decide OBSERVING, a late joiner learns the established leader from the decided
 *    nodes, a minority never decides. Lossy runs add a stand-in for ZAB (a decision that does
 *    not lead to an established leader within initLimit goes back to LOOKING), since FLE alone
 *    may let two nodes decide differently when messages are lost.
 * Past 1000 lines: both halves share the fixtures, the frame checks and the vote helpers; split
 * apart they would each carry a copy. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "errors.h"
#include "fle.h"
#include "notif.h"
#include "out.h"

#define MAXN 8

static struct zk_config cfg3o;  /* voters 1..3, observer 4 */
static struct zk_wbuf cfgtext;  /* its config text */
static struct zk_out out;
static struct zk_fle fle;

static void make_cfg(struct zk_config *c, int voters, int observers)
{
	zk_config_defaults(c);
	c->n_servers = voters + observers;
	for (int i = 0; i < c->n_servers; i++) {
		struct zk_cfg_server *s = &c->servers[i];
		memset(s, 0, sizeof(*s));
		s->id = i + 1;
		strcpy(s->host, "127.0.0.1");
		s->quorum_port = 2880 + i + 1;
		s->election_port = 3880 + i + 1;
		s->observer = i >= voters;
		s->client_port = -1;
	}
}

static int setup(void **state)
{
	(void)state;
	make_cfg(&cfg3o, 3, 1);
	zk_wbuf_init(&cfgtext);
	zk_quorum_config_text(&cfg3o, &cfgtext);
	zk_out_init(&out);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	zk_fle_fini(&fle);
	zk_out_fini(&out);
	zk_wbuf_fini(&cfgtext);
	return 0;
}

/* ---- one machine ---- */

struct sent {
	int64_t to;
	struct zk_notif n;
};

/* Splits out's SENDs into frames; every one must be a whole, decodable notification carrying
 * our config text. Returns the count and resets out. */
static int drain(struct sent *s, int cap)
{
	int k = 0;
	for (size_t i = 0; i < out.n; i++) {
		const struct zk_out_item *it = &out.items[i];
		assert_int_equal(it->kind, ZK_OUT_SEND);
		assert_true(ZK_LINK_IS_ELECT(it->conn_id));
		const uint8_t *p = out.data.p + it->off;
		size_t left = it->len;
		while (left) {
			assert_true(left >= 4);
			uint32_t fl = zk_get_be32(p);
			assert_true(fl <= left - 4);
			assert_true(k < cap);
			s[k].to = (int64_t)(it->conn_id & ~ZK_LINK_ELECT_BASE);
			assert_int_equal(zk_notif_decode(p + 4, fl, &s[k].n), 0);
			assert_int_equal(s[k].n.version, ZK_NOTIF_VERSION);
			assert_int_equal(s[k].n.config.len, cfgtext.len);
			assert_memory_equal(s[k].n.config.p, cfgtext.p, cfgtext.len);
			k++;
			p += 4 + fl;
			left -= 4 + fl;
		}
	}
	zk_out_reset(&out);
	return k;
}

static int drain_none(void)
{
	struct sent s[16];
	return drain(s, 16);
}

static void feed_v(int64_t now, int64_t sid, int32_t state, int64_t leader, int64_t zxid, int64_t round, int64_t pe)
{
	struct zk_wbuf w;
	zk_wbuf_init(&w);
	struct zk_vote v = { leader, zxid, round, pe };
	zk_notif_write_frame(&w, state, &v, (const char *)cfgtext.p, cfgtext.len);
	uint8_t *body = malloc(w.len - 4);
	memcpy(body, w.p + 4, w.len - 4);
	zk_fle_recv(&fle, now, sid, body, w.len - 4, &out);
	free(body);
	zk_wbuf_fini(&w);
}

static void assert_vote(const struct sent *s, int64_t to, int32_t state, int64_t leader, int64_t zxid, int64_t round,
                        int64_t pe)
{
	assert_int_equal(s->to, to);
	assert_int_equal(s->n.state, state);
	assert_int_equal(s->n.vote.leader, leader);
	assert_int_equal(s->n.vote.zxid, zxid);
	assert_int_equal(s->n.vote.election_epoch, round);
	assert_int_equal(s->n.vote.peer_epoch, pe);
}

#define Z1 0x100000005LL /* node 1's zxid: epoch 1 */
#define Z2 0x100000003LL
#define Z3 0x100000004LL

/* Node 1 of voters 1..3 + observer 4, started at t=1000 with zxid Z1, epoch 1. */
static void start1(int64_t zxid)
{
	zk_fle_fini(&fle);
	zk_fle_init(&fle, &cfg3o, 1, NULL);
	zk_out_reset(&out);
	zk_fle_start(&fle, 1000, zxid, 1, &out);
}

static void test_start_sends_to_voters(void **state)
{
	(void)state;
	start1(Z1);
	struct sent s[8];
	/* To every voter but itself (its own is looped back), never to the observer. */
	assert_int_equal(drain(s, 8), 2);
	assert_vote(&s[0], 2, ZK_PS_LOOKING, 1, Z1, 1, 1);
	assert_vote(&s[1], 3, ZK_PS_LOOKING, 1, Z1, 1, 1);
	assert_int_equal(zk_fle_next_wake(&fle), 1200);
	assert_false(zk_fle_result(&fle, NULL, NULL));
	/* Our own vote is counted: one more matching vote is a quorum of 3. */
	feed_v(1010, 2, ZK_PS_LOOKING, 1, Z1, 1, 1);
	assert_int_equal(drain_none(), 0);
	assert_int_equal(zk_fle_next_wake(&fle), 1210); /* finalizeWait */
}

static void test_backoff(void **state)
{
	(void)state;
	start1(Z1);
	drain_none();
	int64_t t = 1000, gap = 200;
	for (int i = 0; i < 14; i++) {
		assert_int_equal(zk_fle_next_wake(&fle), t + gap);
		zk_fle_tick(&fle, t + gap - 1, &out);
		assert_int_equal(drain_none(), 0);
		t += gap;
		zk_fle_tick(&fle, t, &out);
		struct sent s[8];
		assert_int_equal(drain(s, 8), 2);
		assert_vote(&s[0], 2, ZK_PS_LOOKING, 1, Z1, 1, 1);
		gap = gap * 2 > 60000 ? 60000 : gap * 2;
	}
	assert_int_equal(gap, 60000);
	/* A notification restarts the wait but not the back-off. */
	feed_v(t + 10, 2, ZK_PS_LOOKING, 2, Z2, 1, 1);
	assert_int_equal(zk_fle_next_wake(&fle), t + 10 + 60000);
}

static void test_better_vote_and_finalize(void **state)
{
	(void)state;
	start1(Z1);
	drain_none();
	struct sent s[8];
	/* 2 has a smaller zxid: not adopted, nothing sent. */
	feed_v(1010, 2, ZK_PS_LOOKING, 2, Z2, 1, 1);
	assert_int_equal(drain(s, 8), 0);
	/* Same epoch, bigger zxid wins... but a bigger peerEpoch wins over any zxid. */
	feed_v(1020, 3, ZK_PS_LOOKING, 3, 0x100000009LL, 1, 1);
	assert_int_equal(drain(s, 8), 2);
	assert_vote(&s[0], 2, ZK_PS_LOOKING, 3, 0x100000009LL, 1, 1);
	/* 1 and 3 agree on 3: quorum, finalizeWait. */
	assert_int_equal(zk_fle_next_wake(&fle), 1220);
	/* A vote that is not better is dropped and the wait starts over. */
	feed_v(1100, 2, ZK_PS_LOOKING, 2, Z2, 1, 1);
	assert_int_equal(zk_fle_next_wake(&fle), 1300);
	zk_fle_tick(&fle, 1220, &out);
	assert_false(zk_fle_result(&fle, NULL, NULL));
	/* A better one (peerEpoch 2 beats any epoch-1 zxid) interrupts: adopted, sent, and with
	 * its sender and us agreeing, a new wait. */
	feed_v(1200, 2, ZK_PS_LOOKING, 2, 0x200000000LL, 1, 2);
	assert_int_equal(drain(s, 8), 2);
	assert_vote(&s[1], 3, ZK_PS_LOOKING, 2, 0x200000000LL, 1, 2);
	assert_int_equal(zk_fle_next_wake(&fle), 1400);
	zk_fle_tick(&fle, 1399, &out);
	assert_false(zk_fle_result(&fle, NULL, NULL));
	zk_fle_tick(&fle, 1400, &out);
	int32_t st;
	struct zk_vote v;
	assert_true(zk_fle_result(&fle, &st, &v));
	assert_int_equal(st, ZK_PS_FOLLOWING);
	assert_int_equal(v.leader, 2);
	assert_int_equal(v.zxid, 0x200000000LL);
	assert_int_equal(v.election_epoch, 1);
	assert_int_equal(v.peer_epoch, 2);
	assert_int_equal(zk_fle_next_wake(&fle), INT64_MAX);
	assert_int_equal(drain_none(), 0);
}

static void test_leading_when_quorum_votes_for_us(void **state)
{
	(void)state;
	start1(Z1);
	drain_none();
	feed_v(1010, 3, ZK_PS_LOOKING, 1, Z1, 1, 1);
	zk_fle_tick(&fle, 1210, &out);
	int32_t st;
	struct zk_vote v;
	assert_true(zk_fle_result(&fle, &st, &v));
	assert_int_equal(st, ZK_PS_LEADING);
	assert_int_equal(v.leader, 1);
}

static void test_rounds(void **state)
{
	(void)state;
	start1(Z1);
	drain_none();
	struct sent s[8];
	/* A newer round with a worse vote: move to it, clear the votes, propose our own again. */
	feed_v(1010, 2, ZK_PS_LOOKING, 2, Z2, 5, 1);
	assert_int_equal(drain(s, 8), 2);
	assert_vote(&s[0], 2, ZK_PS_LOOKING, 1, Z1, 5, 1);
	/* A sender behind us gets our proposal back at once, and its vote is not counted. */
	feed_v(1020, 3, ZK_PS_LOOKING, 1, Z1, 2, 1);
	assert_int_equal(drain(s, 8), 1);
	assert_vote(&s[0], 3, ZK_PS_LOOKING, 1, Z1, 5, 1);
	assert_int_equal(zk_fle_next_wake(&fle), 1020 + 200); /* no finalizeWait: no quorum */
	/* A newer round with a better vote: adopted directly. */
	feed_v(1030, 3, ZK_PS_LOOKING, 3, Z3 + 0x100000000LL, 7, 2);
	assert_int_equal(drain(s, 8), 2);
	assert_vote(&s[0], 2, ZK_PS_LOOKING, 3, Z3 + 0x100000000LL, 7, 2);
	/* 3 and we agree: finalizeWait. A sender still in round 5 is answered; its vote, not
	 * better, is dropped and the wait starts over. */
	assert_int_equal(zk_fle_next_wake(&fle), 1230);
	feed_v(1040, 2, ZK_PS_LOOKING, 3, Z3 + 0x100000000LL, 5, 2);
	assert_int_equal(drain(s, 8), 1);
	assert_vote(&s[0], 2, ZK_PS_LOOKING, 3, Z3 + 0x100000000LL, 7, 2);
	zk_fle_tick(&fle, 1239, &out);
	assert_false(zk_fle_result(&fle, NULL, NULL));
	zk_fle_tick(&fle, 1240, &out);
	struct zk_vote v;
	assert_true(zk_fle_result(&fle, NULL, &v));
	assert_int_equal(v.election_epoch, 7);
}

static void test_answers_when_decided(void **state)
{
	(void)state;
	start1(Z1);
	feed_v(1010, 3, ZK_PS_LOOKING, 3, Z3 + 0x100000000LL, 1, 2);
	zk_fle_tick(&fle, 1210, &out);
	assert_true(zk_fle_result(&fle, NULL, NULL));
	drain_none();
	struct sent s[8];
	/* A LOOKING voter gets the decided vote and our state. */
	feed_v(2000, 2, ZK_PS_LOOKING, 2, Z2, 4, 1);
	assert_int_equal(drain(s, 8), 1);
	assert_vote(&s[0], 2, ZK_PS_FOLLOWING, 3, Z3 + 0x100000000LL, 1, 2);
	/* Established senders are not answered. */
	feed_v(2010, 2, ZK_PS_FOLLOWING, 3, Z3 + 0x100000000LL, 1, 2);
	feed_v(2010, 3, ZK_PS_LEADING, 3, Z3 + 0x100000000LL, 1, 2);
	assert_int_equal(drain(s, 8), 0);
	/* The observer is answered whatever it says, with our logicalclock as the round. */
	feed_v(2020, 4, ZK_PS_LOOKING, INT64_MIN, INT64_MIN, 9, INT64_MIN);
	assert_int_equal(drain(s, 8), 1);
	assert_vote(&s[0], 4, ZK_PS_FOLLOWING, 3, Z3 + 0x100000000LL, 1, 2);
	/* After syncing the peer records the new epoch: later answers carry it. */
	struct zk_vote nv = { 3, Z3 + 0x100000000LL, 1, 3 };
	zk_fle_set_decided(&fle, ZK_PS_FOLLOWING, &nv);
	feed_v(2030, 2, ZK_PS_LOOKING, 2, Z2, 4, 1);
	assert_int_equal(drain(s, 8), 1);
	assert_vote(&s[0], 2, ZK_PS_FOLLOWING, 3, Z3 + 0x100000000LL, 1, 3);
	/* Back to LOOKING: a new round with our own vote; the tables start empty. */
	zk_fle_start(&fle, 3000, Z1, 1, &out);
	assert_int_equal(drain(s, 8), 2);
	assert_vote(&s[0], 2, ZK_PS_LOOKING, 1, Z1, 2, 1);
	assert_false(zk_fle_result(&fle, NULL, NULL));
	feed_v(3010, 2, ZK_PS_FOLLOWING, 3, Z3 + 0x100000000LL, 1, 3);
	assert_false(zk_fle_result(&fle, NULL, NULL));
}

static void test_answers_observer_while_looking(void **state)
{
	(void)state;
	start1(Z1);
	feed_v(1010, 3, ZK_PS_LOOKING, 3, Z3 + 0x100000000LL, 1, 2);
	drain_none();
	int64_t wake = zk_fle_next_wake(&fle);
	struct sent s[8];
	/* Our initial vote, not the tentative proposal (see fle.c), and LOOKING. */
	feed_v(1050, 4, ZK_PS_LOOKING, INT64_MIN, INT64_MIN, 1, INT64_MIN);
	assert_int_equal(drain(s, 8), 1);
	assert_vote(&s[0], 4, ZK_PS_LOOKING, 1, Z1, 1, 1);
	/* ... and the observer's message does not touch the election's timers. */
	assert_int_equal(zk_fle_next_wake(&fle), wake);
	/* Nor does a notification from a stranger or one claiming to be us. */
	feed_v(1060, 9, ZK_PS_LEADING, 9, Z1, 1, 9);
	assert_int_equal(drain(s, 8), 1); /* non-voters are answered */
	feed_v(1060, 1, ZK_PS_LEADING, 1, Z1, 1, 1);
	assert_int_equal(drain(s, 8), 0);
	assert_int_equal(zk_fle_next_wake(&fle), wake);
}

static void test_join_established(void **state)
{
	(void)state;
	start1(Z1);
	drain_none();
	/* An ensemble elected in round 7 answers: FOLLOWING alone is not enough (checkLeader: the
	 * leader must say LEADING itself). */
	feed_v(1010, 2, ZK_PS_FOLLOWING, 3, Z3, 7, 2);
	assert_false(zk_fle_result(&fle, NULL, NULL));
	feed_v(1020, 3, ZK_PS_LEADING, 3, Z3 + 1, 7, 2); /* zxid differs: established votes ignore it */
	int32_t st;
	struct zk_vote v;
	assert_true(zk_fle_result(&fle, &st, &v));
	assert_int_equal(st, ZK_PS_FOLLOWING);
	assert_int_equal(v.leader, 3);
	assert_int_equal(v.election_epoch, 7);
	assert_int_equal(v.peer_epoch, 2);
	assert_int_equal(fle.logicalclock, 7);
	assert_int_equal(drain_none(), 0);
}

static void test_check_leader(void **state)
{
	(void)state;
	start1(Z1);
	drain_none();
	/* Two FOLLOWING votes for 3 are a quorum, but 3 never said LEADING. */
	feed_v(1010, 2, ZK_PS_FOLLOWING, 3, Z3, 4, 2);
	feed_v(1020, 3, ZK_PS_FOLLOWING, 3, Z3, 4, 2);
	assert_false(zk_fle_result(&fle, NULL, NULL));
	/* A different peerEpoch (a different ensemble) does not match. */
	feed_v(1030, 3, ZK_PS_LEADING, 3, Z3, 4, 3);
	assert_false(zk_fle_result(&fle, NULL, NULL));
	feed_v(1040, 2, ZK_PS_FOLLOWING, 3, Z3, 4, 3);
	assert_true(zk_fle_result(&fle, NULL, NULL));
}

static void test_same_round_established(void **state)
{
	(void)state;
	start1(Z1);
	drain_none();
	/* In our round: the leader's LEADING plus one FOLLOWING make the quorum of recvset. */
	feed_v(1010, 3, ZK_PS_LEADING, 3, Z3, 1, 1);
	assert_false(zk_fle_result(&fle, NULL, NULL));
	feed_v(1020, 2, ZK_PS_FOLLOWING, 3, Z3, 1, 1);
	int32_t st;
	struct zk_vote v;
	assert_true(zk_fle_result(&fle, &st, &v));
	assert_int_equal(v.leader, 3);
	assert_int_equal(v.election_epoch, 1);
	/* Voting for us: LEADING once a quorum of our round says we lead. */
	start1(Z1);
	feed_v(1010, 2, ZK_PS_FOLLOWING, 1, Z1, 1, 1);
	feed_v(1020, 3, ZK_PS_FOLLOWING, 1, Z1, 1, 1);
	assert_true(zk_fle_result(&fle, &st, &v));
	assert_int_equal(st, ZK_PS_LEADING);
	/* ... but not from another round (checkLeader: my round must match). */
	start1(Z1);
	feed_v(1010, 2, ZK_PS_FOLLOWING, 1, Z1, 6, 1);
	feed_v(1020, 3, ZK_PS_FOLLOWING, 1, Z1, 6, 1);
	assert_false(zk_fle_result(&fle, NULL, NULL));
}

static void test_zxid_minus_one(void **state)
{
	(void)state;
	/* Our zxid is -1: LOOKING votes are not counted (nothing adopted, no quorum). */
	start1(-1);
	drain_none();
	feed_v(1010, 2, ZK_PS_LOOKING, 3, Z3, 1, 1);
	feed_v(1020, 3, ZK_PS_LOOKING, 3, Z3, 1, 1);
	assert_int_equal(drain_none(), 0);
	zk_fle_tick(&fle, 1219, &out);
	assert_false(zk_fle_result(&fle, NULL, NULL));
	/* An established ensemble is still joined. */
	feed_v(1030, 2, ZK_PS_FOLLOWING, 3, Z3, 1, 1);
	feed_v(1040, 3, ZK_PS_LEADING, 3, Z3, 1, 1);
	assert_true(zk_fle_result(&fle, NULL, NULL));
	/* Their zxid is -1: ignored. */
	start1(Z1);
	drain_none();
	feed_v(1010, 2, ZK_PS_LOOKING, 3, -1, 1, 9);
	assert_int_equal(drain_none(), 0);
	feed_v(1020, 3, ZK_PS_LOOKING, 3, -1, 1, 9);
	zk_fle_tick(&fle, 1300, &out);
	assert_false(zk_fle_result(&fle, NULL, NULL));
}

static void test_votes_for_non_voters_ignored(void **state)
{
	(void)state;
	start1(Z1);
	drain_none();
	/* The observer 4 and the stranger 9 can never be proposed, however high their epoch. */
	feed_v(1010, 2, ZK_PS_LOOKING, 4, Z1, 1, 99);
	feed_v(1020, 3, ZK_PS_LOOKING, 9, Z1, 1, 99);
	feed_v(1030, 2, ZK_PS_LEADING, 4, Z1, 1, 99);
	assert_int_equal(drain_none(), 0);
	zk_fle_tick(&fle, 1400, &out); /* the back-off re-send */
	struct sent s[8];
	assert_int_equal(drain(s, 8), 2);
	assert_vote(&s[0], 2, ZK_PS_LOOKING, 1, Z1, 1, 1);
	assert_false(zk_fle_result(&fle, NULL, NULL));
}

static void test_bad_frames_ignored(void **state)
{
	(void)state;
	zk_fle_fini(&fle);
	zk_fle_init(&fle, &cfg3o, 1, NULL);
	/* Before start: nothing happens. */
	feed_v(500, 2, ZK_PS_LOOKING, 2, Z2, 1, 1);
	assert_int_equal(drain_none(), 0);
	assert_int_equal(zk_fle_next_wake(&fle), INT64_MAX);
	zk_fle_start(&fle, 1000, Z1, 1, &out);
	drain_none();
	uint8_t b[44] = { 0 };
	zk_fle_recv(&fle, 1010, 2, b, 27, &out);
	zk_put_be32(b, 7); /* bad state */
	zk_fle_recv(&fle, 1010, 2, b, 44, &out);
	zk_put_be32(b, 0);
	zk_put_be32(b + 36, 2);
	zk_put_be32(b + 40, 100); /* config past the end */
	zk_fle_recv(&fle, 1010, 2, b, 44, &out);
	assert_int_equal(drain_none(), 0);
	assert_int_equal(zk_fle_next_wake(&fle), 1200);
}

static void test_old_versions_mix(void **state)
{
	(void)state;
	start1(Z1);
	drain_none();
	/* A 28-byte FOLLOWING vote (peerEpoch from the zxid: 1) and a version-2 LEADING vote with
	 * peerEpoch 2 for the same leader: a version-0 and a newer vote compare by leader only
	 * (ZOOKEEPER-1732), so they agree. */
	uint8_t b[28];
	zk_put_be32(b, ZK_PS_FOLLOWING);
	zk_put_be64(b + 4, 3);
	zk_put_be64(b + 12, (uint64_t)Z3);
	zk_put_be64(b + 20, 5);
	zk_fle_recv(&fle, 1010, 2, b, 28, &out);
	assert_false(zk_fle_result(&fle, NULL, NULL));
	feed_v(1020, 3, ZK_PS_LEADING, 3, Z3, 5, 2);
	int32_t st;
	struct zk_vote v;
	assert_true(zk_fle_result(&fle, &st, &v));
	assert_int_equal(v.peer_epoch, 2);
	assert_int_equal(drain_none(), 0);
}

static void test_observer_machine(void **state)
{
	(void)state;
	zk_fle_fini(&fle);
	zk_fle_init(&fle, &cfg3o, 4, NULL);
	zk_fle_start(&fle, 1000, Z1, 1, &out);
	struct sent s[8];
	/* Proposes nothing, to the three voters. */
	assert_int_equal(drain(s, 8), 3);
	for (int i = 0; i < 3; i++)
		assert_vote(&s[i], i + 1, ZK_PS_LOOKING, INT64_MIN, INT64_MIN, 1, INT64_MIN);
	/* The voters answer with their own votes while LOOKING. The observer adopts the best (and
	 * tells the voters, who ignore it) but never has a quorum: the votes all differ. */
	feed_v(1010, 1, ZK_PS_LOOKING, 1, Z1, 1, 1);
	feed_v(1020, 2, ZK_PS_LOOKING, 2, Z2, 1, 1);
	feed_v(1030, 3, ZK_PS_LOOKING, 3, Z3, 1, 1);
	assert_int_equal(drain(s, 8), 3);
	assert_vote(&s[0], 1, ZK_PS_LOOKING, 1, Z1, 1, 1);
	/* It never answers, not even a voter behind it in rounds. */
	feed_v(1040, 3, ZK_PS_LOOKING, 3, Z3, 0, 1);
	assert_int_equal(drain(s, 8), 0);
	zk_fle_tick(&fle, 1300, &out);
	assert_false(zk_fle_result(&fle, NULL, NULL));
	drain_none();
	/* Once they are elected, their answers make it OBSERVING. */
	feed_v(1500, 1, ZK_PS_FOLLOWING, 3, Z3, 1, 1);
	feed_v(1510, 3, ZK_PS_LEADING, 3, Z3, 1, 1);
	int32_t st;
	struct zk_vote v;
	assert_true(zk_fle_result(&fle, &st, &v));
	assert_int_equal(st, ZK_PS_OBSERVING);
	assert_int_equal(v.leader, 3);
	/* Decided observers do not answer LOOKING voters (they would only answer back). */
	feed_v(1600, 2, ZK_PS_LOOKING, 2, Z2, 3, 1);
	assert_int_equal(drain(s, 8), 0);
}

static char log_text[8192];
static int log_info;

static void capture(void *ctx, enum zk_log_level level, const char *line)
{
	(void)ctx;
	size_t used = strlen(log_text);
	snprintf(log_text + used, sizeof log_text - used, "%d %s\n", (int)level, line);
	log_info += level == ZK_LOG_INFO;
}

static void test_logging(void **state)
{
	(void)state;
	struct zk_logger lg = { capture, NULL, ZK_LOG_DEBUG };
	log_text[0] = '\0';
	log_info = 0;
	zk_fle_fini(&fle);
	zk_fle_init(&fle, &cfg3o, 1, &lg);
	zk_fle_start(&fle, 1000, Z1, 1, &out);
	feed_v(1010, 3, ZK_PS_LOOKING, 3, Z3 + 0x100000000LL, 1, 2);
	zk_fle_tick(&fle, 1210, &out);
	drain_none();
	/* INFO: the new round and the decision; DEBUG: each notification. */
	assert_int_equal(log_info, 2);
	assert_non_null(strstr(log_text, "2 fle: new election myid=1 round=0x1 zxid=0x100000005 peerEpoch=0x1\n"));
	assert_non_null(strstr(log_text, "3 fle: notification sid=3 state=LOOKING leader=3 zxid=0x200000004 round=0x1 "
	                                 "peerEpoch=0x2 version=2 my_state=LOOKING my_round=0x1\n"));
	assert_non_null(strstr(log_text, "2 fle: election done (no better vote in finalizeWait) myid=1 state=FOLLOWING "
	                                 "leader=3 zxid=0x200000004 round=0x1 peerEpoch=0x2\n"));
	/* Limited to INFO, the per-notification lines go. */
	lg.max_level = ZK_LOG_INFO;
	zk_fle_fini(&fle);
	zk_fle_init(&fle, &cfg3o, 1, &lg);
	log_text[0] = '\0';
	zk_fle_start(&fle, 1000, Z1, 1, &out);
	feed_v(1010, 3, ZK_PS_LOOKING, 3, Z3, 1, 1);
	drain_none();
	assert_null(strstr(log_text, "notification sid"));
	zk_fle_fini(&fle);
	zk_fle_init(&fle, &cfg3o, 1, NULL);
}

/* ---- the simulated network ---- */

struct msg {
	int64_t at;
	uint64_t seq;
	int from, to;
	uint32_t len;
	uint8_t *body;
};

struct node {
	struct zk_fle fle;
	int64_t zxid, epoch;
	bool up;
	int64_t start_at;       /* -1: never */
	bool decided;
	int32_t dstate;
	struct zk_vote dvote;
	int64_t decided_at;
	bool synced;            /* ZAB stand-in: part of an established ensemble */
	int decisions;
};

struct sim {
	struct zk_config cfg;
	int n, voters;
	struct node nodes[MAXN];
	uint64_t rng;
	int delay_min, delay_max, loss_pct;
	bool zab;
	int64_t init_limit_ms;
	struct msg *q;
	size_t nq, capq;
	uint64_t seq;
	int64_t link_last[MAXN][MAXN];
	struct msg held[MAXN][MAXN]; /* the last frame for a peer not up yet (body NULL: none) */
	int64_t now;
	struct zk_out out;
	uint64_t events, frames;
};

static uint64_t rnd(struct sim *s)
{
	/* splitmix64 */
	uint64_t z = (s->rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int rnd_in(struct sim *s, int lo, int hi)
{
	return lo + (int)(rnd(s) % (uint64_t)(hi - lo + 1));
}

static void sim_init(struct sim *s, int voters, int observers, uint64_t seed)
{
	memset(s, 0, sizeof(*s));
	make_cfg(&s->cfg, voters, observers);
	s->n = voters + observers;
	s->voters = voters;
	s->rng = seed * 0x2545f4914f6cdd1dULL + 1;
	s->delay_min = 1;
	s->delay_max = 80;
	s->init_limit_ms = 2000;
	zk_out_init(&s->out);
	for (int i = 0; i < s->n; i++) {
		struct node *nd = &s->nodes[i];
		zk_fle_init(&nd->fle, &s->cfg, i + 1, NULL);
		/* Few distinct values, so ties on epoch and zxid are common. */
		nd->epoch = rnd_in(s, 1, 2);
		nd->zxid = (nd->epoch << 32) | rnd_in(s, 0, 2);
		nd->start_at = rnd_in(s, 0, 100);
	}
}

static void sim_fini(struct sim *s)
{
	for (int i = 0; i < s->n; i++)
		zk_fle_fini(&s->nodes[i].fle);
	for (size_t i = 0; i < s->nq; i++)
		free(s->q[i].body);
	free(s->q);
	for (int i = 0; i < MAXN; i++)
		for (int j = 0; j < MAXN; j++)
			free(s->held[i][j].body);
	zk_out_fini(&s->out);
}

static void enqueue(struct sim *s, int from, int to, const uint8_t *body, uint32_t len)
{
	if (!s->nodes[to].up) {
		/* No connection yet: the shell keeps the newest frame per peer and sends it once the
		 * link comes up (QuorumCnxManager's send queue of one, re-sent on connect). */
		struct msg *h = &s->held[from][to];
		free(h->body);
		h->body = malloc(len ? len : 1);
		memcpy(h->body, body, len);
		h->len = len;
		return;
	}
	if (rnd_in(s, 1, 100) <= s->loss_pct)
		return;
	int64_t at = s->now + rnd_in(s, s->delay_min, s->delay_max);
	if (at < s->link_last[from][to])
		at = s->link_last[from][to]; /* one TCP connection per pair: FIFO */
	s->link_last[from][to] = at;
	if (s->nq == s->capq) {
		s->capq = s->capq ? s->capq * 2 : 64;
		s->q = realloc(s->q, s->capq * sizeof(*s->q));
		assert_non_null(s->q);
	}
	struct msg *m = &s->q[s->nq++];
	m->at = at;
	m->seq = s->seq++;
	m->from = from;
	m->to = to;
	m->len = len;
	m->body = malloc(len ? len : 1);
	memcpy(m->body, body, len);
}

/* Routes what node `from` just produced: whole frames only, never to itself. */
static void route(struct sim *s, int from)
{
	for (size_t i = 0; i < s->out.n; i++) {
		const struct zk_out_item *it = &s->out.items[i];
		assert_int_equal(it->kind, ZK_OUT_SEND);
		assert_true(ZK_LINK_IS_ELECT(it->conn_id));
		int to = (int)(it->conn_id & ~ZK_LINK_ELECT_BASE) - 1;
		assert_true(to >= 0 && to < s->n && to != from);
		const uint8_t *p = s->out.data.p + it->off;
		size_t left = it->len;
		while (left) {
			assert_true(left >= 4);
			uint32_t fl = zk_get_be32(p);
			assert_true(fl <= left - 4);
			struct zk_notif n;
			assert_int_equal(zk_notif_decode(p + 4, fl, &n), 0);
			/* Observers never answer anyone (fle.c); voters never vote for a non-voter. */
			assert_false(s->cfg.servers[from].observer && n.state != ZK_PS_LOOKING);
			if (n.state == ZK_PS_LOOKING && !s->cfg.servers[from].observer && s->cfg.servers[to].observer)
				assert_int_equal(n.vote.leader, from + 1); /* our initial vote, to an observer */
			enqueue(s, from, to, p + 4, fl);
			s->frames++;
			p += 4 + fl;
			left -= 4 + fl;
		}
	}
	zk_out_reset(&s->out);
}

static void observe(struct sim *s, int i)
{
	struct node *nd = &s->nodes[i];
	int32_t st;
	struct zk_vote v;
	bool d = zk_fle_result(&nd->fle, &st, &v);
	if (d && !nd->decided) {
		nd->decided = true;
		nd->dstate = st;
		nd->dvote = v;
		nd->decided_at = s->now;
		nd->decisions++;
		assert_true(zk_quorum_is_voter(&s->cfg, v.leader));
		assert_int_equal(st == ZK_PS_LEADING, v.leader == i + 1);
		assert_int_equal(st == ZK_PS_OBSERVING, s->cfg.servers[i].observer);
	} else if (d) {
		/* A decision holds until the peer goes LOOKING again. */
		assert_int_equal(st, nd->dstate);
		assert_int_equal(v.leader, nd->dvote.leader);
	} else {
		assert_false(nd->decided);
	}
}

/* Stand-in for ZAB after the election: a leader with a quorum of followers (itself included)
 * is established and its members sync (their vote's peerEpoch becomes the new epoch, as
 * QuorumPeer.updateElectionVote does); whoever is not part of an established ensemble
 * initLimit after deciding goes back to LOOKING. */
static void zab(struct sim *s)
{
	for (int l = 0; l < s->n; l++) {
		struct node *ld = &s->nodes[l];
		if (!ld->decided || ld->dstate != ZK_PS_LEADING)
			continue;
		int votes = 0;
		int64_t epoch = 0;
		for (int i = 0; i < s->n; i++) {
			const struct node *nd = &s->nodes[i];
			if (nd->decided && nd->dvote.leader == l + 1 && !s->cfg.servers[i].observer) {
				votes++;
				epoch = nd->epoch > epoch ? nd->epoch : epoch;
			}
		}
		if (!ld->synced && !zk_quorum_has_majority(&s->cfg, votes))
			continue;
		int64_t new_epoch = ld->synced ? ld->dvote.peer_epoch : epoch + 1;
		for (int i = 0; i < s->n; i++) {
			struct node *nd = &s->nodes[i];
			if (!nd->decided || nd->synced || nd->dvote.leader != l + 1)
				continue;
			nd->synced = true;
			nd->epoch = new_epoch;
			nd->dvote.peer_epoch = new_epoch;
			zk_fle_set_decided(&nd->fle, nd->dstate, &nd->dvote);
		}
	}
	for (int i = 0; i < s->n; i++) {
		struct node *nd = &s->nodes[i];
		if (nd->decided && !nd->synced && s->now - nd->decided_at >= s->init_limit_ms) {
			nd->decided = false;
			zk_fle_start(&nd->fle, s->now, nd->zxid, nd->epoch, &s->out);
			route(s, i);
		}
	}
}

/* Runs one event (start, delivery or timer) at the earliest time; false when none is left
 * before `until`. Ties go starts, then deliveries in send order, then timers by node. */
static bool sim_step(struct sim *s, int64_t until)
{
	int64_t t = INT64_MAX;
	int kind = 0, who = -1;
	for (int i = 0; i < s->n; i++) {
		const struct node *nd = &s->nodes[i];
		if (!nd->up && nd->start_at >= 0 && nd->start_at < t)
			t = nd->start_at, kind = 1, who = i;
	}
	for (size_t i = 0; i < s->nq; i++)
		if (s->q[i].at < t || (kind == 2 && s->q[i].at == t && s->q[i].seq < s->q[who].seq))
			t = s->q[i].at, kind = 2, who = (int)i;
	for (int i = 0; i < s->n; i++) {
		const struct node *nd = &s->nodes[i];
		if (!nd->up)
			continue;
		int64_t w = zk_fle_next_wake(&nd->fle);
		if (w < t)
			t = w, kind = 3, who = i;
		/* The ZAB stand-in's initLimit deadline. */
		if (s->zab && nd->decided && !nd->synced && nd->decided_at + s->init_limit_ms < t)
			t = nd->decided_at + s->init_limit_ms, kind = 4, who = i;
	}
	if (t == INT64_MAX || t > until)
		return false;
	assert_true(t >= s->now);
	s->now = t;
	s->events++;
	int node;
	if (kind == 1) {
		node = who;
		s->nodes[node].up = true;
		for (int f = 0; f < s->n; f++) {
			struct msg *h = &s->held[f][node];
			if (h->body) {
				enqueue(s, f, node, h->body, h->len);
				free(h->body);
				h->body = NULL;
			}
		}
		zk_fle_start(&s->nodes[node].fle, t, s->nodes[node].zxid, s->nodes[node].epoch, &s->out);
	} else if (kind == 2) {
		struct msg m = s->q[who];
		s->q[who] = s->q[--s->nq];
		node = m.to;
		zk_fle_recv(&s->nodes[node].fle, t, m.from + 1, m.body, m.len, &s->out);
		free(m.body);
	} else {
		node = who;
		if (kind == 3)
			zk_fle_tick(&s->nodes[node].fle, t, &s->out);
	}
	route(s, node);
	observe(s, node);
	if (s->zab)
		zab(s);
	return true;
}

static bool all_settled(const struct sim *s)
{
	for (int i = 0; i < s->n; i++) {
		const struct node *nd = &s->nodes[i];
		if (nd->start_at >= 0 && (!nd->up || !nd->decided || (s->zab && !nd->synced)))
			return false;
	}
	return true;
}

static void run_until_settled(struct sim *s, int64_t limit)
{
	while (!all_settled(s) && sim_step(s, limit))
		;
	if (!all_settled(s))
		fail_msg("not settled by t=%lld (events %llu)", (long long)s->now, (unsigned long long)s->events);
}

/* Everyone up agrees on one voter; observers observe it; returns its sid. */
static int64_t check_agreement(const struct sim *s)
{
	int64_t leader = -1;
	for (int i = 0; i < s->n; i++) {
		const struct node *nd = &s->nodes[i];
		if (!nd->up)
			continue;
		assert_true(nd->decided);
		if (leader < 0)
			leader = nd->dvote.leader;
		assert_int_equal(nd->dvote.leader, leader);
		int32_t want = s->cfg.servers[i].observer ? ZK_PS_OBSERVING
		               : leader == i + 1          ? ZK_PS_LEADING
		                                          : ZK_PS_FOLLOWING;
		assert_int_equal(nd->dstate, want);
	}
	assert_true(zk_quorum_is_voter(&s->cfg, leader));
	return leader;
}

/* The voter FLE must pick: highest (epoch, zxid, id) among the voters taking part. */
static int64_t best_voter(const struct sim *s)
{
	int best = -1;
	for (int i = 0; i < s->voters; i++) {
		const struct node *a = &s->nodes[i];
		if (a->start_at < 0)
			continue;
		if (best < 0)
			best = i;
		const struct node *b = &s->nodes[best];
		if (a->epoch > b->epoch || (a->epoch == b->epoch && a->zxid >= b->zxid))
			best = i; /* ids ascend: on a tie the later one wins */
	}
	return best + 1;
}

#ifndef SEEDS
#define SEEDS 200 /* -DSEEDS=20000 for a soak run */
#endif

/* On a failure: the seed and each node's inputs and decision. */
static void dump(const struct sim *s, uint64_t seed)
{
	print_message("seed %llu at t=%lld:\n", (unsigned long long)seed, (long long)s->now);
	for (int i = 0; i < s->n; i++) {
		const struct node *nd = &s->nodes[i];
		print_message("  sid %d%s start %lld epoch %lld zxid 0x%llx: decided %d at %lld leader %lld round %lld\n",
		              i + 1, s->cfg.servers[i].observer ? " (observer)" : "", (long long)nd->start_at,
		              (long long)nd->epoch, (unsigned long long)nd->zxid, nd->decided, (long long)nd->decided_at,
		              (long long)nd->dvote.leader, (long long)nd->dvote.election_epoch);
	}
}

static void clean_runs(int voters, int observers)
{
	static struct sim s;
	uint64_t frames = 0;
	for (uint64_t seed = 1; seed <= SEEDS; seed++) {
		sim_init(&s, voters, observers, seed);
		int64_t best = best_voter(&s);
		run_until_settled(&s, 600000);
		if (check_agreement(&s) != best)
			dump(&s, seed);
		assert_int_equal(check_agreement(&s), best);
		for (int i = 0; i < s.n; i++)
			assert_int_equal(s.nodes[i].decisions, 1);
		/* Voters decide within a few finalizeWaits; observers at their next re-send. */
		for (int i = 0; i < voters; i++)
			assert_true(s.nodes[i].decided_at < 2000);
		frames += s.frames;
		sim_fini(&s);
	}
	print_message("%d voters + %d observers: %d seeds, %llu frames\n", voters, observers, SEEDS,
	              (unsigned long long)frames);
}

static void test_sim_3(void **state)
{
	(void)state;
	clean_runs(3, 0);
}

static void test_sim_5(void **state)
{
	(void)state;
	clean_runs(5, 0);
}

static void test_sim_3_voters_2_observers(void **state)
{
	(void)state;
	clean_runs(3, 2);
}

/* Loss, delays past finalizeWait, starts spread over seconds: the ZAB stand-in settles it; the
 * leader is then some voter everyone agrees on. */
static void test_sim_lossy(void **state)
{
	(void)state;
	static struct sim s;
	static const int shapes[][2] = { { 3, 0 }, { 5, 0 }, { 3, 2 } };
	int restarts = 0;
	for (int k = 0; k < 3; k++) {
		for (uint64_t seed = 1; seed <= SEEDS; seed++) {
			sim_init(&s, shapes[k][0], shapes[k][1], seed + 1000);
			s.loss_pct = 20;
			s.delay_max = 500;
			s.zab = true;
			for (int i = 0; i < s.n; i++)
				s.nodes[i].start_at = rnd_in(&s, 0, 3000);
			run_until_settled(&s, 3600 * 1000);
			check_agreement(&s);
			for (int i = 0; i < s.n; i++)
				restarts += s.nodes[i].decisions - 1;
			sim_fini(&s);
		}
	}
	print_message("lossy: %d seeds x 3 shapes, %d decisions undone by the ZAB stand-in\n", SEEDS, restarts);
}

/* The best voter (or an observer) starts after the others have elected and synced: it learns
 * the established leader from their answers rather than taking over. */
static void test_sim_late_joiner(void **state)
{
	(void)state;
	static struct sim s;
	static const int shapes[][3] = { { 3, 0, 2 }, { 5, 0, 4 }, { 5, 0, 3 }, { 3, 2, 4 }, { 3, 2, 2 } };
	for (int k = 0; k < 5; k++) {
		for (uint64_t seed = 1; seed <= SEEDS / 4; seed++) {
			sim_init(&s, shapes[k][0], shapes[k][1], seed + 5000);
			int late = shapes[k][2];
			s.zab = true;
			s.nodes[late].start_at = -1;
			if (late < s.voters) {
				/* The late one would win any election it took part in. */
				s.nodes[late].epoch = 9;
				s.nodes[late].zxid = (int64_t)9 << 32;
			}
			int64_t best = best_voter(&s);
			run_until_settled(&s, 600000);
			assert_int_equal(check_agreement(&s), best);
			s.nodes[late].start_at = s.now + rnd_in(&s, 1, 5000);
			run_until_settled(&s, s.now + 600000);
			assert_int_equal(check_agreement(&s), best);
			assert_int_equal(s.nodes[late].decisions, 1);
			/* Joined the ensemble rather than being elected. */
			assert_true(s.nodes[late].dvote.leader != late + 1);
			sim_fini(&s);
		}
	}
}

/* A minority of the voters (and any observers) alone never decides, and backs off. */
static void test_sim_minority(void **state)
{
	(void)state;
	static struct sim s;
	static const int shapes[][3] = { { 3, 0, 1 }, { 5, 0, 2 }, { 3, 2, 1 } };
	for (int k = 0; k < 3; k++) {
		for (uint64_t seed = 1; seed <= 20; seed++) {
			sim_init(&s, shapes[k][0], shapes[k][1], seed + 9000);
			for (int i = shapes[k][2]; i < s.voters; i++)
				s.nodes[i].start_at = -1;
			while (sim_step(&s, 600000))
				;
			for (int i = 0; i < s.n; i++)
				assert_false(s.nodes[i].decided);
			/* 10 minutes of back-off (200 ms doubling to 60 s): ~15 rounds of re-sends. */
			assert_true(s.frames < (uint64_t)(40 * s.n * s.n));
			sim_fini(&s);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_start_sends_to_voters),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_better_vote_and_finalize),
		cmocka_unit_test(test_leading_when_quorum_votes_for_us),
		cmocka_unit_test(test_rounds),
		cmocka_unit_test(test_answers_when_decided),
		cmocka_unit_test(test_answers_observer_while_looking),
		cmocka_unit_test(test_join_established),
		cmocka_unit_test(test_check_leader),
		cmocka_unit_test(test_same_round_established),
		cmocka_unit_test(test_zxid_minus_one),
		cmocka_unit_test(test_votes_for_non_voters_ignored),
		cmocka_unit_test(test_bad_frames_ignored),
		cmocka_unit_test(test_old_versions_mix),
		cmocka_unit_test(test_observer_machine),
		cmocka_unit_test(test_logging),
		cmocka_unit_test(test_sim_3),
		cmocka_unit_test(test_sim_5),
		cmocka_unit_test(test_sim_3_voters_2_observers),
		cmocka_unit_test(test_sim_lossy),
		cmocka_unit_test(test_sim_late_joiner),
		cmocka_unit_test(test_sim_minority),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
