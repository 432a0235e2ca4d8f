/* zkbench --op probe: is the server up and does it have the data? Blocking, one host (the
 * first), retried every 20 ms until --wait seconds pass:
 *   1. "ruok" on a fresh connection answers "imok";
 *   2. if --path is given: a session's getData(path) answers err 0 (NoNode -> exit 3, the
 *      server is serving but lost the node, e.g. a restart without persistence).
 * Each socket read and write is bounded by a 1 s timeout. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "zkb.h"

#define IO_TIMEOUT_S 1
#define RETRY_US 20000

static int dial(const struct zkb_host *h)
{
	int fd = socket(h->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct timeval tv = {.tv_sec = IO_TIMEOUT_S};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (const struct sockaddr *)&h->addr, h->len) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t r = write(fd, p, n);
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int read_all(int fd, uint8_t *p, size_t n)
{
	while (n) {
		ssize_t r = read(fd, p, n);
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* One frame into buf (length prefix stripped); returns its length or -1. */
static int read_frame(int fd, uint8_t *buf, size_t cap)
{
	uint8_t hdr[4];
	if (read_all(fd, hdr, 4))
		return -1;
	uint32_t len = zk_get_be32(hdr);
	if (len > cap || read_all(fd, buf, len))
		return -1;
	return (int)len;
}

static bool ruok(const struct zkb_host *h)
{
	int fd = dial(h);
	if (fd < 0)
		return false;
	char buf[8] = {0};
	bool ok = write_all(fd, (const uint8_t *)"ruok", 4) == 0 && read_all(fd, (uint8_t *)buf, 4) == 0 &&
		  memcmp(buf, "imok", 4) == 0;
	close(fd);
	return ok;
}

/* 0 ok, ZNONODE missing, -1 not serving yet. */
static int get_path(const struct zkb_host *h, const char *path)
{
	int fd = dial(h);
	if (fd < 0)
		return -1;
	struct zk_wbuf w;
	zk_wbuf_init(&w);
	zkb_enc_connect(&w, 30000);
	zkb_enc_path_watch(&w, 1, ZK_OP_GETDATA, path);
	static uint8_t buf[ZK_JUTE_MAXBUFFER_DEFAULT + 64];
	int rc = -1;
	if (w.err == 0 && write_all(fd, w.p, w.len) == 0) {
		int n = read_frame(fd, buf, sizeof(buf));
		if (n >= 8 && (int32_t)zk_get_be32(buf + 4) > 0 && (n = read_frame(fd, buf, sizeof(buf))) >= 16)
			rc = (int32_t)zk_get_be32(buf + 12);
	}
	if (rc == 0 || rc == ZNONODE) {
		/* close the session politely so it does not linger until expiry */
		zk_wbuf_reset(&w);
		zkb_enc_header_only(&w, 2, ZK_OP_CLOSESESSION);
		if (write_all(fd, w.p, w.len) == 0)
			(void)read_frame(fd, buf, sizeof(buf));
	} else if (rc != -1) {
		rc = -1; /* some other error: treat as not ready */
	}
	zk_wbuf_fini(&w);
	close(fd);
	return rc;
}

int zkb_probe(const struct zkb_opts *o)
{
	uint64_t t0 = zkb_now_ns();
	uint64_t deadline = t0 + (uint64_t)(o->wait_s * 1e9);
	bool up = false;
	int last = -1;
	for (;;) {
		if (!up)
			up = ruok(&o->hosts[0]);
		if (up && !o->path[0])
			break;
		if (up && (last = get_path(&o->hosts[0], o->path)) != -1)
			break;
		if (zkb_now_ns() > deadline)
			break;
		usleep(RETRY_US);
	}
	double ms = (double)(zkb_now_ns() - t0) / 1e6;
	if (up && (!o->path[0] || last == 0)) {
		printf("probe ok ms=%.1f\n", ms);
		return 0;
	}
	if (up && last == ZNONODE) {
		printf("probe nonode path=%s ms=%.1f\n", o->path, ms);
		return 3;
	}
	printf("probe timeout ruok=%s ms=%.1f\n", up ? "imok" : "no", ms);
	return 1;
}
