/* Log-linear latency histogram: see hist.h. Index of v (microseconds):
 *   v < 256                  -> v
 *   msb(v) = m >= 8          -> 256 + (s - 1) * 128 + ((v >> s) - 128), with s = m - 7
 * so every power of two above 255 has 128 buckets of width 2^s. */
#include "hist.h"

#include <string.h>

#define EXACT (1u << ZKB_HIST_SUB_BITS)
#define VALUE_MAX ((UINT64_C(1) << ZKB_HIST_MAX_BITS) - 1)

static unsigned index_of(uint64_t v)
{
	if (v < EXACT)
		return (unsigned)v;
	unsigned msb = 63u - (unsigned)__builtin_clzll(v);
	unsigned shift = msb - (ZKB_HIST_SUB_BITS - 1);
	return EXACT + (shift - 1) * ZKB_HIST_HALF + (unsigned)((v >> shift) - ZKB_HIST_HALF);
}

/* Largest value that lands in bucket i. */
static uint64_t highest_of(unsigned i)
{
	if (i < EXACT)
		return i;
	unsigned k = i - EXACT;
	unsigned shift = k / ZKB_HIST_HALF + 1;
	uint64_t sub = k % ZKB_HIST_HALF + ZKB_HIST_HALF;
	return ((sub + 1) << shift) - 1;
}

void zkb_hist_init(struct zkb_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min_us = UINT64_MAX;
}

void zkb_hist_record(struct zkb_hist *h, uint64_t us)
{
	if (us > VALUE_MAX)
		us = VALUE_MAX;
	h->bucket[index_of(us)]++;
	h->count++;
	h->sum_us += us;
	if (us < h->min_us)
		h->min_us = us;
	if (us > h->max_us)
		h->max_us = us;
}

void zkb_hist_merge(struct zkb_hist *dst, const struct zkb_hist *src)
{
	for (unsigned i = 0; i < ZKB_HIST_BUCKETS; i++)
		dst->bucket[i] += src->bucket[i];
	dst->count += src->count;
	dst->sum_us += src->sum_us;
	if (src->min_us < dst->min_us)
		dst->min_us = src->min_us;
	if (src->max_us > dst->max_us)
		dst->max_us = src->max_us;
}

uint64_t zkb_hist_percentile(const struct zkb_hist *h, double p)
{
	if (h->count == 0)
		return 0;
	if (p >= 100.0)
		return h->max_us;
	/* The rank of the wanted value, 1-based, at least 1. */
	uint64_t rank = (uint64_t)(p / 100.0 * (double)h->count + 0.5);
	if (rank < 1)
		rank = 1;
	uint64_t seen = 0;
	for (unsigned i = 0; i < ZKB_HIST_BUCKETS; i++) {
		seen += h->bucket[i];
		if (seen >= rank) {
			uint64_t v = highest_of(i);
			return v < h->max_us ? v : h->max_us;
		}
	}
	return h->max_us;
}

double zkb_hist_mean(const struct zkb_hist *h)
{
	return h->count ? (double)h->sum_us / (double)h->count : 0.0;
}
