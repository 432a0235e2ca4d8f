/* Jute primitives: see jute.h. All integers are big-endian two's complement. */
#include "jute.h"

#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "zmalloc.h"

void zk_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

uint32_t zk_get_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

void zk_put_be64(uint8_t *p, uint64_t v)
{
	zk_put_be32(p, (uint32_t)(v >> 32));
	zk_put_be32(p + 4, (uint32_t)v);
}

uint64_t zk_get_be64(const uint8_t *p)
{
	return ((uint64_t)zk_get_be32(p) << 32) | zk_get_be32(p + 4);
}

void zk_rbuf_init(struct zk_rbuf *r, const uint8_t *p, size_t len, size_t field_bytes_max)
{
	r->p = p;
	r->len = len;
	r->pos = 0;
	r->field_bytes_max = field_bytes_max;
	r->err = 0;
}

static const uint8_t *take(struct zk_rbuf *r, size_t n)
{
	if (r->err)
		return NULL;
	if (r->len - r->pos < n) {
		r->err = ZK_ESHORT;
		return NULL;
	}
	const uint8_t *p = r->p + r->pos;
	r->pos += n;
	return p;
}

uint8_t zk_jr_byte(struct zk_rbuf *r)
{
	const uint8_t *p = take(r, 1);
	return p ? p[0] : 0;
}

bool zk_jr_bool(struct zk_rbuf *r) { return zk_jr_byte(r) != 0; }

int32_t zk_jr_int(struct zk_rbuf *r)
{
	const uint8_t *p = take(r, 4);
	return p ? (int32_t)zk_get_be32(p) : 0;
}

int64_t zk_jr_long(struct zk_rbuf *r)
{
	const uint8_t *p = take(r, 8);
	return p ? (int64_t)zk_get_be64(p) : 0;
}

struct zk_bytes zk_jr_buffer(struct zk_rbuf *r)
{
	struct zk_bytes b = {NULL, -1};
	int32_t n = zk_jr_int(r);
	if (r->err)
		return b;
	if (n == -1)
		return b;
	if (n < 0 || (size_t)n > r->field_bytes_max) {
		r->err = ZK_ERANGE;
		return b;
	}
	const uint8_t *p = take(r, (size_t)n);
	if (!p)
		return b;
	b.p = p;
	b.len = n;
	return b;
}

int32_t zk_jr_vec_count(struct zk_rbuf *r, bool *is_null)
{
	int32_t n = zk_jr_int(r);
	if (is_null)
		*is_null = false;
	if (r->err)
		return 0;
	if (n == -1) {
		if (is_null)
			*is_null = true;
		return 0;
	}
	/* Each element takes at least one byte, so a count beyond what is left is a lie. */
	if (n < 0 || (size_t)n > zk_rbuf_left(r)) {
		r->err = ZK_ERANGE;
		return 0;
	}
	return n;
}

void zk_wbuf_init(struct zk_wbuf *w)
{
	w->p = NULL;
	w->len = 0;
	w->cap = 0;
	w->err = 0;
}

void zk_wbuf_fini(struct zk_wbuf *w)
{
	zk_free(w->p);
	zk_wbuf_init(w);
}

int zk_wbuf_reserve(struct zk_wbuf *w, size_t more)
{
	if (w->err)
		return w->err;
	if (w->cap - w->len >= more)
		return 0;
	size_t cap = w->cap ? w->cap : 256;
	while (cap - w->len < more)
		cap *= 2;
	uint8_t *p = zk_realloc(w->p, cap);
	if (!p) {
		w->err = ZK_ENOMEM;
		return w->err;
	}
	w->p = p;
	w->cap = cap;
	return 0;
}

void zk_jw_raw(struct zk_wbuf *w, const void *p, size_t n)
{
	if (n == 0 || zk_wbuf_reserve(w, n))
		return;
	memcpy(w->p + w->len, p, n);
	w->len += n;
}

void zk_jw_byte(struct zk_wbuf *w, uint8_t v) { zk_jw_raw(w, &v, 1); }

void zk_jw_bool(struct zk_wbuf *w, bool v) { zk_jw_byte(w, v ? 1 : 0); }

void zk_jw_int(struct zk_wbuf *w, int32_t v)
{
	uint8_t b[4];
	zk_put_be32(b, (uint32_t)v);
	zk_jw_raw(w, b, 4);
}

void zk_jw_long(struct zk_wbuf *w, int64_t v)
{
	uint8_t b[8];
	zk_put_be64(b, (uint64_t)v);
	zk_jw_raw(w, b, 8);
}

void zk_jw_buffer(struct zk_wbuf *w, const uint8_t *p, int32_t len)
{
	if (len < 0) {
		zk_jw_int(w, -1);
		return;
	}
	zk_jw_int(w, len);
	zk_jw_raw(w, p, (size_t)len);
}

void zk_jw_ustring(struct zk_wbuf *w, const char *s, int32_t len)
{
	zk_jw_buffer(w, (const uint8_t *)s, len);
}

size_t zk_jw_frame_begin(struct zk_wbuf *w)
{
	size_t start = w->len;
	zk_jw_int(w, 0);
	return start;
}

void zk_jw_frame_end(struct zk_wbuf *w, size_t start)
{
	if (w->err || w->len < start + 4)
		return;
	zk_put_be32(w->p + start, (uint32_t)(w->len - start - 4));
}
