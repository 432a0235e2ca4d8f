/* Jute codec: big-endian primitives over a bounded read cursor and a growable write buffer.
 * Readers are sticky: the first failure sets r->err and every later read returns zero values,
 * so record decoders read all fields and check r->err once (total decoders, no partial state). */
#ifndef ZK_JUTE_H
#define ZK_JUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ZK_JUTE_MAXBUFFER_DEFAULT 0xfffff

struct zk_rbuf {
	const uint8_t *p;
	size_t len;
	size_t pos;
	size_t field_bytes_max; /* cap on one ustring/buffer length (jute.maxbuffer) */
	int err;                /* 0 or a negative ZK_E* */
};

/* A borrowed byte range inside the frame; len == -1 means null. */
struct zk_bytes {
	const uint8_t *p;
	int32_t len;
};

void zk_rbuf_init(struct zk_rbuf *r, const uint8_t *p, size_t len, size_t field_bytes_max);
static inline size_t zk_rbuf_left(const struct zk_rbuf *r) { return r->len - r->pos; }
uint8_t zk_jr_byte(struct zk_rbuf *r);
bool zk_jr_bool(struct zk_rbuf *r);
int32_t zk_jr_int(struct zk_rbuf *r);
int64_t zk_jr_long(struct zk_rbuf *r);
struct zk_bytes zk_jr_buffer(struct zk_rbuf *r); /* also used for ustring */
/* Vector count: -1 (null) is returned as 0 with *is_null set; other negatives are an error
 * (ZooKeeper yields zero elements; we reject, since no honest peer sends them). */
int32_t zk_jr_vec_count(struct zk_rbuf *r, bool *is_null);

struct zk_wbuf {
	uint8_t *p;
	size_t len;
	size_t cap;
	int err; /* sticky ZK_ENOMEM */
};

void zk_wbuf_init(struct zk_wbuf *w);
void zk_wbuf_fini(struct zk_wbuf *w);
static inline void zk_wbuf_reset(struct zk_wbuf *w) { w->len = 0; w->err = 0; }
int zk_wbuf_reserve(struct zk_wbuf *w, size_t more);
void zk_jw_raw(struct zk_wbuf *w, const void *p, size_t n);
void zk_jw_byte(struct zk_wbuf *w, uint8_t v);
void zk_jw_bool(struct zk_wbuf *w, bool v);
void zk_jw_int(struct zk_wbuf *w, int32_t v);
void zk_jw_long(struct zk_wbuf *w, int64_t v);
void zk_jw_buffer(struct zk_wbuf *w, const uint8_t *p, int32_t len); /* len -1 = null */
void zk_jw_ustring(struct zk_wbuf *w, const char *s, int32_t len);   /* len -1 = null */
static inline void zk_jw_cstr(struct zk_wbuf *w, const char *s);
/* Frames: begin reserves the 4-byte length, end fills it in. Returns the frame start. */
size_t zk_jw_frame_begin(struct zk_wbuf *w);
void zk_jw_frame_end(struct zk_wbuf *w, size_t start);
void zk_put_be32(uint8_t *p, uint32_t v);
uint32_t zk_get_be32(const uint8_t *p);
void zk_put_be64(uint8_t *p, uint64_t v);
uint64_t zk_get_be64(const uint8_t *p);

#include <string.h>
static inline void zk_jw_cstr(struct zk_wbuf *w, const char *s)
{
	zk_jw_ustring(w, s, s ? (int32_t)strlen(s) : -1);
}

#endif
