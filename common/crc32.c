/* CRC-32 (reflected, poly 0xEDB88320) with slicing-by-8 tables, since the tree digest hashes
 * every node on every change and at snapshot load (1M nodes must load in well under a second);
 * and Adler-32. */
#include "crc32.h"

static uint32_t table[8][256];
static int table_ready;

static void init_table(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
		table[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xff];
	table_ready = 1;
}

uint32_t zk_crc32_update(uint32_t crc, const void *p, size_t n)
{
	if (!table_ready)
		init_table();
	const uint8_t *b = p;
	crc = ~crc;
	while (n >= 8) {
		uint32_t lo = crc ^ ((uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24);
		uint32_t hi = (uint32_t)b[4] | (uint32_t)b[5] << 8 | (uint32_t)b[6] << 16 | (uint32_t)b[7] << 24;
		crc = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^ table[5][(lo >> 16) & 0xff] ^ table[4][lo >> 24] ^
		      table[3][hi & 0xff] ^ table[2][(hi >> 8) & 0xff] ^ table[1][(hi >> 16) & 0xff] ^ table[0][hi >> 24];
		b += 8;
		n -= 8;
	}
	while (n--)
		crc = table[0][(crc ^ *b++) & 0xff] ^ (crc >> 8);
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
