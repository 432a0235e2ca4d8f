/* ZooKeeper path rules (PathUtils.validatePath), on UTF-8 bytes: the Java server checks UTF-16
 * code units, so code points are decoded here and malformed UTF-8 (which Java reads as U+FFFD)
 * is invalid too. */
#ifndef ZK_PATH_H
#define ZK_PATH_H

#include <stdbool.h>
#include <stddef.h>

bool zk_path_valid(const char *p, size_t len);
/* The parent's length per ZooKeeper's lastIndexOf('/'): "/a" -> "/" (1), "/a/b" -> 2.
 * Returns -1 when there is no '/' at all. */
long zk_path_parent(const char *p, size_t len);
/* "/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config": never deleted by clients. */
bool zk_path_special(const char *p, size_t len);

#endif
