/* Log formatting: see log.h. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "log.h"

void zk_logf(const struct zk_logger *lg, enum zk_log_level level, const char *fmt, ...)
{
	if (!lg || !lg->fn || level > lg->max_level)
		return;
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	lg->fn(lg->ctx, level, line);
}

void zk_log_sanitize(const void *p, size_t n, char *out, size_t out_len)
{
	const unsigned char *b = p;
	size_t o = 0;
	if (!out_len)
		return;
	for (size_t i = 0; i < n && o + 5 < out_len; i++) {
		if (b[i] >= 0x20 && b[i] < 0x7f && b[i] != '\\')
			out[o++] = (char)b[i];
		else
			o += (size_t)snprintf(out + o, out_len - o, "\\x%02x", b[i]);
	}
	out[o] = 0;
}
