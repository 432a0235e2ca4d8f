/* zkbench: client-side request frames (protocol.md 2.1-2.4) and result bookkeeping.
 *   ConnectRequest: int protocolVersion=0, long lastZxidSeen=0, int timeOut, long sessionId=0,
 *                   buffer passwd (16 zero bytes), bool readOnly=0
 *   request:        RequestHeader{int xid, int type} + body
 *   getData/exists: ustring path, bool watch=0
 *   setData:        ustring path, buffer data, int version=-1
 *   create:         ustring path, buffer data, vector<ACL> [{31, world, anyone}], int flags */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zkb.h"

uint64_t zkb_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int64_t zkb_proc_ticks(int pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	/* "pid (comm) state ..." : comm may hold spaces and parentheses, so count fields after
	 * the last ')'. Field 3 is state; 14-17 are utime, stime, cutime, cstime. */
	char *p = strrchr(buf, ')');
	if (!p)
		return -1;
	p++;
	long long v[4] = {0};
	int field = 2;
	for (char *save = NULL, *t = strtok_r(p, " ", &save); t && field < 17; t = strtok_r(NULL, " ", &save)) {
		field++;
		if (field >= 14)
			v[field - 14] = strtoll(t, NULL, 10);
	}
	if (field < 17)
		return -1;
	return (int64_t)(v[0] + v[1] + v[2] + v[3]);
}

void zkb_enc_connect(struct zk_wbuf *w, int32_t timeout_ms)
{
	static const uint8_t zero_pw[16];
	size_t f = zk_jw_frame_begin(w);
	zk_jw_int(w, 0);
	zk_jw_long(w, 0);
	zk_jw_int(w, timeout_ms);
	zk_jw_long(w, 0);
	zk_jw_buffer(w, zero_pw, sizeof(zero_pw));
	zk_jw_bool(w, false);
	zk_jw_frame_end(w, f);
}

void zkb_enc_path_watch(struct zk_wbuf *w, int32_t xid, int32_t op, const char *path)
{
	size_t f = zk_jw_frame_begin(w);
	zk_jw_int(w, xid);
	zk_jw_int(w, op);
	zk_jw_cstr(w, path);
	zk_jw_bool(w, false);
	zk_jw_frame_end(w, f);
}

void zkb_enc_set(struct zk_wbuf *w, int32_t xid, const char *path, const uint8_t *v, int32_t n)
{
	size_t f = zk_jw_frame_begin(w);
	zk_jw_int(w, xid);
	zk_jw_int(w, ZK_OP_SETDATA);
	zk_jw_cstr(w, path);
	zk_jw_buffer(w, v, n);
	zk_jw_int(w, -1);
	zk_jw_frame_end(w, f);
}

void zkb_enc_create(struct zk_wbuf *w, int32_t xid, const char *path, const uint8_t *v, int32_t n,
		    int32_t flags)
{
	size_t f = zk_jw_frame_begin(w);
	zk_jw_int(w, xid);
	zk_jw_int(w, ZK_OP_CREATE);
	zk_jw_cstr(w, path);
	zk_jw_buffer(w, v, n);
	zk_jw_int(w, 1);
	zk_jw_int(w, ZK_PERM_ALL);
	zk_jw_cstr(w, "world");
	zk_jw_cstr(w, "anyone");
	zk_jw_int(w, flags);
	zk_jw_frame_end(w, f);
}

void zkb_enc_header_only(struct zk_wbuf *w, int32_t xid, int32_t op)
{
	size_t f = zk_jw_frame_begin(w);
	zk_jw_int(w, xid);
	zk_jw_int(w, op);
	zk_jw_frame_end(w, f);
}

const char *zkb_err_name(int32_t err)
{
	switch (err) {
	case ZOK: return "OK";
	case ZMARSHALLINGERROR: return "MarshallingError";
	case ZUNIMPLEMENTED: return "Unimplemented";
	case ZBADARGUMENTS: return "BadArguments";
	case ZNONODE: return "NoNode";
	case ZNOAUTH: return "NoAuth";
	case ZBADVERSION: return "BadVersion";
	case ZNODEEXISTS: return "NodeExists";
	case ZNOTEMPTY: return "NotEmpty";
	case ZSESSIONEXPIRED: return "SessionExpired";
	case ZSESSIONMOVED: return "SessionMoved";
	case ZNOTREADONLY: return "NotReadOnly";
	case ZQUOTAEXCEEDED: return "QuotaExceeded";
	case ZTHROTTLEDOP: return "Throttled";
	default: return "other";
	}
}

void zkb_result_init(struct zkb_result *r)
{
	memset(r, 0, sizeof(*r));
	zkb_hist_init(&r->rd);
	zkb_hist_init(&r->wr);
}

static void count_err_n(struct zkb_result *r, int32_t err, uint64_t n)
{
	for (int i = 0; i < ZKB_ERRCODES_MAX; i++) {
		if (r->errcodes[i].n == 0 || r->errcodes[i].code == err) {
			r->errcodes[i].code = err;
			r->errcodes[i].n += n;
			return;
		}
	}
	/* Table full: lump into the last slot's count so the total still adds up. */
	r->errcodes[ZKB_ERRCODES_MAX - 1].n += n;
}

void zkb_count_err(struct zkb_result *r, int32_t err)
{
	count_err_n(r, err, 1);
}

void zkb_result_merge(struct zkb_result *d, const struct zkb_result *s)
{
	d->reads += s->reads;
	d->writes += s->writes;
	d->errors += s->errors;
	d->exists += s->exists;
	d->tasks_done += s->tasks_done;
	d->lost += s->lost;
	d->timeouts += s->timeouts;
	for (int i = 0; i < ZKB_ERRCODES_MAX && s->errcodes[i].n; i++)
		count_err_n(d, s->errcodes[i].code, s->errcodes[i].n);
	d->attempted += s->attempted;
	d->established += s->established;
	d->alive_at_end += s->alive_at_end;
	d->fail_connect += s->fail_connect;
	d->fail_handshake += s->fail_handshake;
	d->fail_expired += s->fail_expired;
	d->dropped += s->dropped;
	d->skipped += s->skipped;
	d->retries += s->retries;
	d->pings += s->pings;
	if (s->connect_s > d->connect_s)
		d->connect_s = s->connect_s;
	if (s->window_s > d->window_s)
		d->window_s = s->window_s;
	if (s->cpu_valid && !d->cpu_valid) {
		d->cpu_valid = true;
		memcpy(d->cpu_s, s->cpu_s, sizeof(d->cpu_s));
	}
	zkb_hist_merge(&d->rd, &s->rd);
	zkb_hist_merge(&d->wr, &s->wr);
}
