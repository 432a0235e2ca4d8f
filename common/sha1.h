/* SHA-1 and Base64, just what ZooKeeper's digest scheme needs (user:BASE64(SHA1(user:pw))).
 * Our own small code rather than OpenSSL, because the core may not include <openssl/...>. */
#ifndef ZK_SHA1_H
#define ZK_SHA1_H

#include <stddef.h>
#include <stdint.h>

void zk_sha1(const void *data, size_t len, uint8_t out[20]);
/* Standard Base64 with '=' padding; out must hold 4*((len+2)/3)+1 bytes. Returns chars written. */
size_t zk_base64(const uint8_t *in, size_t len, char *out);

#endif
