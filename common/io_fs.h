/* Small file-system helpers shared by the shell's log, snapshot and start-up code. */
#ifndef ZK_IO_FS_H
#define ZK_IO_FS_H

#include <stddef.h>

/* out = dir "/" name; ZK_ERANGE when it does not fit. */
int zk_fs_join(char *out, size_t out_len, const char *dir, const char *name);
/* mkdir -p (ZooKeeper creates dataDir/version-2 at start-up: zookeeper.datadir.autocreate).
 * path is modified during the call and restored. Returns 0 or -errno. */
int zk_fs_mkdir_p(char *path);

#endif
