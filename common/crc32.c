/* Table-driven CRC-32 (reflected, poly 0xEDB88320) and Adler-32. */
#include "crc32.h"

static uint32_t table[256];
static int table_ready;

static void init_table(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
		table[i] = c;
	}
	table_ready = 1;
}

uint32_t zk_crc32_update(uint32_t crc, const void *p, size_t n)
{
	if (!table_ready)
		init_table();
	const uint8_t *b = p;
	crc = ~crc;
	for (size_t i = 0; i < n; i++)
		crc = table[(crc ^ b[i]) & 0xff] ^ (crc >> 8);
	return ~crc;
}

uint32_t zk_adler32(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint32_t a = 1, s = 0;
	while (n > 0) {
		size_t chunk = n < 5552 ? n : 5552; /* largest run before s can overflow 32 bits */
		n -= chunk;
		while (chunk--) {
			a += *b++;
			s += a;
		}
		a %= 65521;
		s %= 65521;
	}
	return (s << 16) | a;
}
