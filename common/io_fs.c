/* File-system helpers: see io_fs.h. */
#include "io_fs.h"

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

#include "errors.h"

int zk_fs_join(char *out, size_t out_len, const char *dir, const char *name)
{
	int n = snprintf(out, out_len, "%s/%s", dir, name);
	return (n < 0 || (size_t)n >= out_len) ? ZK_ERANGE : 0;
}

int zk_fs_mkdir_p(char *path)
{
	for (char *s = path + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		int rc = mkdir(path, 0777);
		int e = errno;
		*s = c;
		if (rc != 0 && e != EEXIST)
			return -e;
		if (c == '\0')
			return 0;
	}
}
