/* Latency histogram, HDR style: log-linear buckets over microseconds. Values below 256 are
 * exact; above, each power of two is cut into 128 sub-buckets, so a reported percentile is at
 * most 1/128 (0.8%) above the true value. Fixed size (ZKB_HIST_BUCKETS counters, 32 KiB), no
 * allocation, so a histogram can be copied through a pipe between processes and merged. */
#ifndef ZKB_HIST_H
#define ZKB_HIST_H

#include <stdint.h>

#define ZKB_HIST_SUB_BITS 8                                  /* 2^8 exact values at the bottom */
#define ZKB_HIST_HALF (1u << (ZKB_HIST_SUB_BITS - 1))        /* sub-buckets per power of two */
#define ZKB_HIST_MAX_BITS 40                                 /* values clamp at 2^40 us (12 days) */
#define ZKB_HIST_BUCKETS ((1u << ZKB_HIST_SUB_BITS) + (ZKB_HIST_MAX_BITS - ZKB_HIST_SUB_BITS + 1) * ZKB_HIST_HALF)

struct zkb_hist {
	uint64_t count;
	uint64_t sum_us;
	uint64_t min_us;
	uint64_t max_us;
	uint64_t bucket[ZKB_HIST_BUCKETS];
};

void zkb_hist_init(struct zkb_hist *h);
void zkb_hist_record(struct zkb_hist *h, uint64_t us);
void zkb_hist_merge(struct zkb_hist *dst, const struct zkb_hist *src);
/* The highest value equivalent to the one at percentile p (0..100), capped at the exact max;
 * 0 for an empty histogram. */
uint64_t zkb_hist_percentile(const struct zkb_hist *h, double p);
double zkb_hist_mean(const struct zkb_hist *h);

#endif
