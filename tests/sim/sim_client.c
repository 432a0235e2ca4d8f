/* Simulated clients: each holds a session on a random member (a voter or an observer: an
 * observer serves the reads and forwards the writes), issues one request at a time (create of
 * a new path with a unique value, setData of a path it created, getData), moves to another
 * member when its connection drops or a reply takes longer than the read timeout (two thirds of
 * the session timeout, as the Java client), and starts a new session when the old one
 * expired. Every write answered with err 0 is recorded with its session, xid and zxid: the
 * final check finds each one in the common history. Replies are checked as they come: in
 * request order, zxids never older than one the client has seen, a created path readable by
 * its session with a value at least as new as the last acknowledged one.
 *
 * The last client slot is the liveness probe: idle until the faults stop and the roles settle,
 * then one create that must be acknowledged. */
#include "sim.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "jute.h"
#include "proto.h"

#define SIM_SESSION_TIMEOUT_MS 2000
#define SIM_RECONNECT_MIN_MS 10
#define SIM_RECONNECT_MAX_MS 200

void sim_clients_init(struct sim_world *w)
{
	w->n_clients = w->k.clients;
	for (int c = 0; c <= w->n_clients; c++) {
		struct sim_client *cl = &w->clients[c];
		memset(cl, 0, sizeof(*cl));
		cl->idx = c;
		cl->node = cl->link = -1;
		cl->probe = c == w->n_clients;
		cl->stopped = cl->probe;
		for (int k = 0; k < SIM_CLIENT_PATHS; k++)
			cl->acked_seq[k] = -1;
		zk_wbuf_init(&cl->in);
	}
}

void sim_clients_fini(struct sim_world *w)
{
	for (int c = 0; c <= w->n_clients; c++)
		zk_wbuf_fini(&w->clients[c].in);
}

static void wake(struct sim_world *w, struct sim_client *cl, int64_t t)
{
	cl->conn_seq++;
	sim_push(w, t, SIM_EV_CLIENT, cl->idx, 0, cl->conn_seq, 0);
}

static void send_frame(struct sim_world *w, struct sim_client *cl, struct zk_wbuf *f)
{
	sim_link_send(w, cl->link, SIM_CLIENT_END(cl->idx), f->p, f->len);
}

static void disconnect(struct sim_world *w, struct sim_client *cl, const char *why)
{
	if (cl->link >= 0) {
		sim_logf(w, "client %d leaves n%d: %s", cl->idx, cl->node + 1, why);
		sim_link_fin(w, cl->link, SIM_CLIENT_END(cl->idx));
	}
	cl->link = cl->node = -1;
	cl->st = SIM_CS_IDLE;
	cl->waiting = false;
	zk_wbuf_reset(&cl->in);
	wake(w, cl, w->now + sim_rng_range(&w->rng, SIM_RECONNECT_MIN_MS, SIM_RECONNECT_MAX_MS));
}

static void connect_to_node(struct sim_world *w, struct sim_client *cl)
{
	int i = (int)sim_rng_range(&w->rng, 0, w->n_nodes - 1); /* voters and observers alike */
	struct sim_node *n = &w->nodes[i];
	if (!n->up) {
		wake(w, cl, w->now + sim_rng_range(&w->rng, 20, 200)); /* refused */
		return;
	}
	uint64_t conn_id = ++n->next_conn_id;
	int li = sim_link_new(w, SIM_LK_CLIENT, SIM_CLIENT_END(cl->idx), 0, i, conn_id);
	if (li < 0)
		return;
	cl->link = li;
	cl->node = i;
	cl->st = SIM_CS_CONNECTING;
	cl->waiting = false;
	cl->last_recv = w->now;
	zk_wbuf_reset(&cl->in);
	bool ok = false;
	sim_node_client_open(w, i, conn_id, cl->idx, &ok);
	if (!ok || cl->link != li)
		return; /* refused: the close is on its way */
	struct zk_wbuf f;
	zk_wbuf_init(&f);
	size_t st = zk_jw_frame_begin(&f);
	zk_jw_int(&f, 0);
	zk_jw_long(&f, cl->max_zxid_seen);
	zk_jw_int(&f, SIM_SESSION_TIMEOUT_MS);
	zk_jw_long(&f, cl->session_id);
	zk_jw_buffer(&f, cl->passwd, 16);
	zk_jw_bool(&f, false);
	zk_jw_frame_end(&f, st);
	send_frame(w, cl, &f);
	zk_wbuf_fini(&f);
	wake(w, cl, w->now + SIM_SESSION_TIMEOUT_MS * 2 / 3);
}

static void open_acl(struct zk_wbuf *f)
{
	zk_jw_int(f, 1);
	zk_jw_int(f, ZK_PERM_ALL);
	zk_jw_cstr(f, "world");
	zk_jw_cstr(f, "anyone");
}

static void issue_request(struct sim_world *w, struct sim_client *cl)
{
	struct zk_wbuf f;
	zk_wbuf_init(&f);
	size_t st = zk_jw_frame_begin(&f);
	int32_t xid = ++cl->xid;
	char data[32];
	bool have = cl->created > 0;
	uint32_t pick = have ? (uint32_t)sim_rng_range(&w->rng, 0, cl->created - 1) : 0;
	bool pick_acked = have && cl->acked_seq[pick] >= 0;
	if (!cl->probe && pick_acked && sim_rng_ppm(&w->rng, w->k.read_ppm)) {
		cl->wait_op = ZK_OP_GETDATA;
		snprintf(cl->wait_path, sizeof(cl->wait_path), "/c%d-%u", cl->idx, pick);
		zk_jw_int(&f, xid);
		zk_jw_int(&f, ZK_OP_GETDATA);
		zk_jw_cstr(&f, cl->wait_path);
		zk_jw_bool(&f, false);
	} else if (cl->probe || (cl->created < SIM_CLIENT_PATHS && (!pick_acked || sim_rng_ppm(&w->rng, 400000)))) {
		cl->wait_op = ZK_OP_CREATE;
		if (cl->probe)
			snprintf(cl->wait_path, sizeof(cl->wait_path), "/probe-%u", cl->seq);
		else
			snprintf(cl->wait_path, sizeof(cl->wait_path), "/c%d-%u", cl->idx, cl->created++);
		snprintf(data, sizeof(data), "v%u", ++cl->seq);
		zk_jw_int(&f, xid);
		zk_jw_int(&f, ZK_OP_CREATE);
		zk_jw_cstr(&f, cl->wait_path);
		zk_jw_buffer(&f, (const uint8_t *)data, (int32_t)strlen(data));
		open_acl(&f);
		zk_jw_int(&f, 0);
	} else {
		cl->wait_op = ZK_OP_SETDATA;
		snprintf(cl->wait_path, sizeof(cl->wait_path), "/c%d-%u", cl->idx, pick);
		snprintf(data, sizeof(data), "v%u", ++cl->seq);
		zk_jw_int(&f, xid);
		zk_jw_int(&f, ZK_OP_SETDATA);
		zk_jw_cstr(&f, cl->wait_path);
		zk_jw_buffer(&f, (const uint8_t *)data, (int32_t)strlen(data));
		zk_jw_int(&f, -1);
	}
	zk_jw_frame_end(&f, st);
	cl->waiting = true;
	cl->wait_xid = xid;
	cl->wait_since = w->now;
	send_frame(w, cl, &f);
	zk_wbuf_fini(&f);
	wake(w, cl, w->now + SIM_SESSION_TIMEOUT_MS * 2 / 3);
}

void sim_client_event(struct sim_world *w, int c, uint32_t tok)
{
	struct sim_client *cl = &w->clients[c];
	if (tok != cl->conn_seq)
		return;
	switch (cl->st) {
	case SIM_CS_IDLE:
		if (!cl->stopped)
			connect_to_node(w, cl);
		break;
	case SIM_CS_CONNECTING:
		if (w->now - cl->last_recv >= SIM_SESSION_TIMEOUT_MS * 2 / 3)
			disconnect(w, cl, "no ConnectResponse in time");
		break;
	case SIM_CS_CONNECTED:
		if (cl->waiting) {
			if (w->now - cl->last_recv >= SIM_SESSION_TIMEOUT_MS * 2 / 3)
				disconnect(w, cl, "read timeout");
		} else if (!cl->stopped) {
			issue_request(w, cl);
		}
		break;
	}
}

static int path_index(const struct sim_client *cl, const char *path)
{
	char pre[16];
	int pl = snprintf(pre, sizeof(pre), "/c%d-", cl->idx);
	if (strncmp(path, pre, (size_t)pl))
		return -1;
	int k = atoi(path + pl);
	return k >= 0 && k < SIM_CLIENT_PATHS ? k : -1;
}

static void on_reply(struct sim_world *w, struct sim_client *cl, int32_t xid, int64_t zxid, int32_t err,
		     struct zk_rbuf *body)
{
	if (xid == -1 || xid == -2)
		return; /* watch event, ping */
	if (!cl->waiting || xid != cl->wait_xid) {
		sim_fail(w, "client-order", "client %d got xid %d, waiting for %d", cl->idx, xid,
			 cl->waiting ? cl->wait_xid : -1);
		return;
	}
	cl->waiting = false;
	if (err == 0 && zxid < cl->max_zxid_seen) {
		sim_fail(w, "client-zxid", "client %d (session 0x%" PRIx64 ") got zxid 0x%" PRIx64
			 " from n%d after seeing 0x%" PRIx64, cl->idx, (uint64_t)cl->session_id, (uint64_t)zxid,
			 cl->node + 1, (uint64_t)cl->max_zxid_seen);
		return;
	}
	if (err == 0 && zxid > cl->max_zxid_seen)
		cl->max_zxid_seen = zxid;
	int k = path_index(cl, cl->wait_path);
	if (cl->wait_op == ZK_OP_GETDATA) {
		if (err) {
			sim_fail(w, "read-your-writes", "client %d: getData %s on n%d: err %d after its create was acked",
				 cl->idx, cl->wait_path, cl->node + 1, err);
			return;
		}
		struct zk_bytes d = zk_jr_buffer(body);
		int32_t v = d.len > 1 && d.p[0] == 'v' ? atoi((const char *)d.p + 1) : -1;
		if (k >= 0 && v < cl->acked_seq[k]) {
			sim_fail(w, "read-your-writes", "client %d: getData %s on n%d gave v%d, v%d was acked", cl->idx,
				 cl->wait_path, cl->node + 1, v, cl->acked_seq[k]);
			return;
		}
		w->n_reads_ok++;
		if (cl->node >= 0 && w->nodes[cl->node].observer)
			w->n_obs_reads++;
		return;
	}
	if (err)
		return;
	if (w->acks_n == w->acks_cap) {
		w->acks_cap = w->acks_cap ? 2 * w->acks_cap : 256;
		w->acks = realloc(w->acks, w->acks_cap * sizeof(*w->acks));
		if (!w->acks)
			abort();
	}
	struct sim_ack *a = &w->acks[w->acks_n++];
	memset(a, 0, sizeof(*a));
	a->session_id = cl->session_id;
	a->xid = xid;
	a->op = cl->wait_op;
	a->zxid = zxid;
	a->create = cl->wait_op == ZK_OP_CREATE;
	snprintf(a->path, sizeof(a->path), "%s", cl->wait_path);
	w->n_writes_acked++;
	if (cl->node >= 0 && w->nodes[cl->node].observer)
		w->n_obs_writes++;
	if (k >= 0)
		cl->acked_seq[k] = (int32_t)cl->seq;
	if (cl->probe)
		cl->stopped = true;
}

void sim_client_bytes(struct sim_world *w, int c, int li, const uint8_t *p, size_t len)
{
	struct sim_client *cl = &w->clients[c];
	if (li != cl->link)
		return;
	cl->last_recv = w->now;
	zk_jw_raw(&cl->in, p, len);
	size_t off = 0;
	for (size_t guard = 0; guard < 4096 && cl->in.len - off >= 4; guard++) {
		size_t fl = zk_get_be32(cl->in.p + off);
		if (fl > cl->in.len - off - 4)
			break;
		struct zk_rbuf r;
		zk_rbuf_init(&r, cl->in.p + off + 4, fl, 1 << 20);
		off += 4 + fl;
		if (cl->st == SIM_CS_CONNECTING) {
			(void)zk_jr_int(&r);
			int32_t to = zk_jr_int(&r);
			int64_t sid = zk_jr_long(&r);
			struct zk_bytes pw = zk_jr_buffer(&r);
			if (to <= 0 || pw.len != 16) {
				sim_logf(w, "client %d: session 0x%" PRIx64 " expired, starting a new one", c,
					 (uint64_t)cl->session_id);
				cl->session_id = 0;
				memset(cl->passwd, 0, 16);
				disconnect(w, cl, "session expired");
				return;
			}
			if (cl->session_id != sid)
				sim_logf(w, "client %d: new session 0x%" PRIx64 " on n%d", c, (uint64_t)sid, cl->node + 1);
			cl->session_id = sid;
			memcpy(cl->passwd, pw.p, 16);
			cl->timeout_ms = to;
			cl->st = SIM_CS_CONNECTED;
			wake(w, cl, w->now + sim_rng_range(&w->rng, w->k.think_min_ms, w->k.think_max_ms));
			continue;
		}
		int32_t xid = zk_jr_int(&r);
		int64_t zxid = zk_jr_long(&r);
		int32_t err = zk_jr_int(&r);
		bool was_waiting = cl->waiting;
		on_reply(w, cl, xid, zxid, err, &r);
		if (w->fail.failed)
			return;
		if (was_waiting && !cl->waiting)
			wake(w, cl, w->now + sim_rng_range(&w->rng, w->k.think_min_ms, w->k.think_max_ms));
	}
	if (off) {
		memmove(cl->in.p, cl->in.p + off, cl->in.len - off);
		cl->in.len -= off;
	}
}

void sim_client_closed(struct sim_world *w, int c, int li)
{
	struct sim_client *cl = &w->clients[c];
	if (li != cl->link)
		return;
	sim_logf(w, "client %d: connection to n%d closed", c, cl->node + 1);
	cl->link = -1;
	disconnect(w, cl, "closed");
}

bool sim_client_acked_probe(const struct sim_world *w)
{
	const struct sim_client *pc = &w->clients[w->n_clients];
	return pc->probe && pc->stopped && pc->seq > 0 && !pc->waiting;
}
