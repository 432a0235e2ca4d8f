/* Log sink: the core formats one line per event (key=value fields) and hands it to a function
 * the shell provides; the core never writes to a file itself. */
#ifndef ZK_LOG_H
#define ZK_LOG_H

enum zk_log_level { ZK_LOG_ERROR = 0, ZK_LOG_WARN, ZK_LOG_INFO, ZK_LOG_DEBUG };

typedef void (*zk_log_fn)(void *ctx, enum zk_log_level level, const char *line);

struct zk_logger {
	zk_log_fn fn;
	void *ctx;
	enum zk_log_level max_level;
};

void zk_logf(const struct zk_logger *lg, enum zk_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Copies up to n bytes of untrusted input as printable ASCII (others as \xNN) into out. */
void zk_log_sanitize(const void *p, size_t n, char *out, size_t out_len);

#endif
