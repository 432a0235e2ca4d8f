/* CRC-32 (IEEE, java.util.zip.CRC32) for the tree digest, and Adler-32 (java.util.zip.Adler32)
 * for txn-log entries. */
#ifndef ZK_CRC32_H
#define ZK_CRC32_H

#include <stddef.h>
#include <stdint.h>

uint32_t zk_crc32_update(uint32_t crc, const void *p, size_t n); /* start with 0 */
uint32_t zk_adler32(const void *p, size_t n);

#endif
