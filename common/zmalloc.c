/* Allocation wrappers: see zmalloc.h. Counters are process-wide and not atomic: the core is
 * single-threaded, and I/O threads (if any) allocate with plain malloc in the shell. */
#include "zmalloc.h"

#include <stdlib.h>
#include <string.h>

static uint64_t alloc_count;
static uint64_t fail_at;

static int should_fail(void)
{
	alloc_count++;
	if (fail_at && alloc_count >= fail_at) {
		fail_at = 0;
		return 1;
	}
	return 0;
}

void zk_malloc_fail_after(uint64_t n) { fail_at = n ? alloc_count + n : 0; }
uint64_t zk_malloc_count(void) { return alloc_count; }

void *zk_malloc(size_t n) { return should_fail() ? NULL : malloc(n ? n : 1); }

void *zk_calloc(size_t n, size_t size) { return should_fail() ? NULL : calloc(n ? n : 1, size ? size : 1); }

void *zk_realloc(void *p, size_t n) { return should_fail() ? NULL : realloc(p, n ? n : 1); }

char *zk_strndup(const char *s, size_t n)
{
	char *d = zk_malloc(n + 1);
	if (!d)
		return NULL;
	if (n) /* s may be NULL when n is 0 (a null jute string): memcpy must not see it */
		memcpy(d, s, n);
	d[n] = 0;
	return d;
}

void zk_free(void *p) { free(p); }
