/* Path validation: see path.h. */
#include "path.h"

#include <stdint.h>
#include <string.h>

/* Decodes one UTF-8 sequence; returns its length and the code point, or 0 if malformed. */
static size_t utf8_next(const unsigned char *p, size_t left, uint32_t *cp)
{
	unsigned char c = p[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	size_t n;
	uint32_t v, min;
	if ((c & 0xE0) == 0xC0) {
		n = 2;
		v = c & 0x1F;
		min = 0x80;
	} else if ((c & 0xF0) == 0xE0) {
		n = 3;
		v = c & 0x0F;
		min = 0x800;
	} else if ((c & 0xF8) == 0xF0) {
		n = 4;
		v = c & 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (left < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		v = (v << 6) | (p[i] & 0x3F);
	}
	if (v < min || v > 0x10FFFF)
		return 0;
	*cp = v;
	return n;
}

static bool cp_invalid(uint32_t c)
{
	return (c > 0 && c <= 0x1F) || (c >= 0x7F && c <= 0x9F) || (c >= 0xD800 && c <= 0xF8FF) ||
	       (c >= 0xFFF0 && c <= 0xFFFF) || c > 0xFFFF; /* > 0xFFFF: Java sees surrogates */
}

bool zk_path_valid(const char *path, size_t len)
{
	const unsigned char *p = (const unsigned char *)path;
	if (len == 0 || p[0] != '/')
		return false;
	if (len == 1)
		return true;
	if (p[len - 1] == '/')
		return false;
	for (size_t i = 1; i < len;) {
		uint32_t c;
		size_t n = utf8_next(p + i, len - i, &c);
		if (n == 0 || c == 0 || cp_invalid(c))
			return false;
		if (c == '/' && p[i - 1] == '/')
			return false;
		if (c == '.') {
			bool at_end = i + 1 == len || p[i + 1] == '/';
			if (p[i - 1] == '/' && at_end)
				return false; /* "/." */
			if (p[i - 1] == '.' && i >= 2 && p[i - 2] == '/' && at_end)
				return false; /* "/.." */
		}
		i += n;
	}
	return true;
}

long zk_path_parent(const char *p, size_t len)
{
	const char *slash = NULL;
	for (size_t i = len; i > 0; i--)
		if (p[i - 1] == '/') {
			slash = p + i - 1;
			break;
		}
	if (!slash)
		return -1;
	long n = (long)(slash - p);
	return n == 0 ? 1 : n; /* ZooKeeper's "" parent is the root, "/" here */
}

static bool eq(const char *p, size_t len, const char *s)
{
	return strlen(s) == len && !memcmp(p, s, len);
}

bool zk_path_special(const char *p, size_t len)
{
	return eq(p, len, "/") || eq(p, len, "/zookeeper") || eq(p, len, "/zookeeper/quota") ||
	       eq(p, len, "/zookeeper/config");
}
