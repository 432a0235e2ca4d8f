/* Fuzz target: the QuorumPacket and LearnerInfo decoders (quorum/qpkt.c) on a leader <-> learner
 * byte stream.
 *
 * Input: byte 0 picks data_max (mod 4: jute.maxbuffer, 0, 20, 256), the rest is a stream of
 * packets back to back, decoded until it ends, needs more, or is refused. For each packet:
 *   - its fields stay inside the bytes it consumed; counts and lengths are within bounds;
 *   - zk_qpkt_auth either fails with ZK_EINVAL or gives strings that fit, and then re-encoding
 *     with zk_qpkt_write reproduces the packet byte for byte;
 *   - every shorter prefix of it needs more (checked for the first few small packets: quadratic);
 *   - zk_learner_info_decode takes the data exactly when it is 8, 12 or 20 bytes, and a 20-byte
 *     one re-encodes to the same bytes.
 * The stream is copied into an exact-size heap block so over-reads are ASan's. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "errors.h"
#include "jute.h"
#include "qpkt.h"

#define CHECK(c)                                                                                         \
	do {                                                                                             \
		if (!(c)) {                                                                              \
			fprintf(stderr, "fuzz_qpkt: check failed: %s (%s:%d)\n", #c, __FILE__, __LINE__); \
			abort();                                                                         \
		}                                                                                        \
	} while (0)

#define PREFIX_CHECKED_PACKETS 4
#define PREFIX_CHECKED_BYTES 4096 /* one decode per prefix: keep big packets linear */

static const size_t data_maxes[] = {ZK_JUTE_MAXBUFFER_DEFAULT, 0, 20, 256};

static void check_fields(const struct zk_qpkt *q, const uint8_t *p, size_t rc, size_t data_max)
{
	CHECK(rc >= ZK_QP_HEADER_MIN_BYTES);
	CHECK(q->data.len >= -1 && (q->data.len < 0 || (size_t)q->data.len <= data_max));
	if (q->data.len >= 0)
		CHECK(q->data.p >= p + 16 && q->data.p + q->data.len <= p + rc);
	else
		CHECK(q->data.p == NULL);
	CHECK(q->n_auth >= -1 && q->n_auth <= ZK_AUTH_IDS_MAX);
	if (q->n_auth >= 0)
		CHECK(q->auth >= p + 20 && q->auth + q->auth_len == p + rc);
	else
		CHECK(q->auth_len == 0);
	CHECK(zk_qpkt_type_name(q->type) != NULL);
}

static void check_auth(const struct zk_qpkt *q, const uint8_t *p, size_t rc)
{
	struct zk_auth a;
	int arc = zk_qpkt_auth(q, &a);
	CHECK(arc == 0 || arc == ZK_EINVAL);
	if (arc) {
		CHECK(a.n == 0 && !a.is_super);
		return;
	}
	CHECK(a.n == (q->n_auth < 0 ? 0 : q->n_auth));
	bool super = false;
	for (int i = 0; i < a.n; i++) {
		CHECK(memchr(a.ids[i].scheme, 0, sizeof(a.ids[i].scheme)) != NULL);
		CHECK(memchr(a.ids[i].id, 0, sizeof(a.ids[i].id)) != NULL);
		super |= !strcmp(a.ids[i].scheme, "super");
	}
	CHECK(a.is_super == super);
	struct zk_wbuf w;
	zk_wbuf_init(&w);
	zk_qpkt_write(&w, q->type, q->zxid, q->data.p, q->data.len, q->n_auth < 0 ? NULL : &a);
	CHECK(w.err || (w.len == rc && !memcmp(w.p, p, rc)));
	zk_wbuf_fini(&w);
}

static void check_learner_info(struct zk_bytes data)
{
	struct zk_learner_info li;
	int rc = zk_learner_info_decode(data, &li);
	bool sized = data.len == 8 || data.len == 12 || data.len == 20;
	CHECK(rc == (sized ? 0 : ZK_EINVAL));
	if (rc || data.len != 20)
		return;
	struct zk_wbuf w;
	zk_wbuf_init(&w);
	zk_learner_info_write(&w, &li);
	CHECK(w.err || (w.len == 20 && !memcmp(w.p, data.p, 20)));
	zk_wbuf_fini(&w);
}

static void check_prefixes(const uint8_t *p, size_t rc, size_t data_max)
{
	for (size_t k = 0; k < rc; k++) {
		uint8_t *d = malloc(k ? k : 1);
		CHECK(d);
		memcpy(d, p, k);
		struct zk_qpkt q;
		CHECK(zk_qpkt_decode(d, k, data_max, &q) == 0);
		free(d);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t data_max = data_maxes[data[0] % 4];
	size_t n = size - 1;
	uint8_t *buf = malloc(n ? n : 1);
	CHECK(buf);
	memcpy(buf, data + 1, n);
	size_t pos = 0;
	for (int i = 0;; i++) {
		struct zk_qpkt q;
		const uint8_t *p = buf + pos;
		int rc = zk_qpkt_decode(p, n - pos, data_max, &q);
		CHECK(rc == 0 || rc == ZK_EINVAL || rc == ZK_ERANGE || rc > 0);
		if (rc <= 0)
			break;
		CHECK((size_t)rc <= n - pos);
		check_fields(&q, p, (size_t)rc, data_max);
		check_auth(&q, p, (size_t)rc);
		check_learner_info(q.data);
		if (i < PREFIX_CHECKED_PACKETS && rc <= PREFIX_CHECKED_BYTES)
			check_prefixes(p, (size_t)rc, data_max);
		pos += (size_t)rc;
	}
	free(buf);
	return 0;
}
