/* Counted allocation: every heap byte of the core goes through here, so memory is reported
 * (mntr zk_approximate_data_size is separate) and a test can fail the N-th allocation. */
#ifndef ZK_ZMALLOC_H
#define ZK_ZMALLOC_H

#include <stddef.h>
#include <stdint.h>

void *zk_malloc(size_t n);
void *zk_calloc(size_t n, size_t size);
void *zk_realloc(void *p, size_t n);
char *zk_strndup(const char *s, size_t n);
void zk_free(void *p);
/* Test hook: fail the n-th allocation from now (0 disables). */
void zk_malloc_fail_after(uint64_t n);
uint64_t zk_malloc_count(void);

#endif
