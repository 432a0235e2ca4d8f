/* Connection loops of the client-port shell (private to io_client.c and io_conn.c). Loop 0 is
 * the core's own thread: its connections call the core directly. Loops 1..n-1 run on their own
 * threads and only read, frame, and write their connections; they hand whole frames to the core
 * thread through a message queue and receive the core's sends the same way (as valkey's I/O
 * threads do), so the core stays single-threaded. */
#ifndef ZK_IO_LOOP_H
#define ZK_IO_LOOP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <uthash.h>

#include "io_client.h"
#include "jute.h"

struct event_base;
struct event;
struct bufferevent;

/* Records in a queue: u8 kind, u64 conn id, u32 length, that many bytes. */
enum io_rec_kind {
	IO_REC_FRAME = 1, /* loop -> core: one client frame (without its length) */
	IO_REC_FOURLW,    /* loop -> core: the 4 bytes of a four-letter word */
	IO_REC_CLOSED,    /* loop -> core: the connection is gone */
	IO_REC_SEND,      /* core -> loop: bytes to write */
	IO_REC_CLOSE,     /* core -> loop: close after flushing */
	IO_REC_ACCEPT,    /* core -> loop: adopt a socket: i32 fd, i32 port, ip string */
	IO_REC_PAUSE,     /* core -> loop: 1 byte, globalOutstandingLimit reached (1) or not (0) */
};

struct io_mq {
	pthread_mutex_t mu;
	struct zk_wbuf buf;
};

struct io_conn {
	uint64_t id;
	struct bufferevent *bev;
	struct io_loop *loop;
	bool seen_bytes;    /* the first 4 bytes decide 4lw vs protocol */
	bool closing;       /* close once output is flushed */
	bool paused_output; /* reading paused for output backpressure */
	char ip[64];
	int port;
	UT_hash_handle hh;
};

struct io_loop {
	int idx;
	struct zk_io *io;
	struct event_base *base;
	pthread_t thread;
	bool thread_started;
	struct io_conn *conns;
	bool paused_global;
	struct io_mq outq;        /* core -> this loop (loops >= 1) */
	struct event *outq_ev;
	struct zk_wbuf inbatch;   /* frames read in one callback, queued to the core at its end */
	struct zk_wbuf swap;
};

void io_mq_init(struct io_mq *q);
void io_mq_fini(struct io_mq *q);
/* Appends a whole batch under the lock; returns whether the queue was empty before. */
bool io_mq_push(struct io_mq *q, const struct zk_wbuf *batch);
/* Takes everything queued (swaps buffers with *out, which must be empty). */
void io_mq_take(struct io_mq *q, struct zk_wbuf *out);
void io_rec_put(struct zk_wbuf *w, enum io_rec_kind kind, uint64_t id, const void *p, size_t len);
/* Walks records: returns false at the end. */
bool io_rec_next(const struct zk_wbuf *w, size_t *off, uint8_t *kind, uint64_t *id, const uint8_t **p,
                 uint32_t *len);

/* io_conn.c: run on the loop's own thread. */
void io_conn_adopt(struct io_loop *l, int fd, uint64_t id, const char *ip, int port);
void io_conn_send(struct io_loop *l, uint64_t id, const uint8_t *p, size_t len);
void io_conn_close(struct io_loop *l, uint64_t id);
void io_loop_set_paused(struct io_loop *l, bool paused);
void io_loop_free_conns(struct io_loop *l);
void io_loop_outq_cb(int fd, short what, void *arg);

/* io_client.c: the core side, for loop 0's direct calls and the loops' queues. */
/* frame/fourlw/closed feed the core; loop 0 then calls io_core_apply to carry out the effects. */
void io_core_frame(struct zk_io *io, uint64_t id, const uint8_t *p, size_t len);
void io_core_apply(struct zk_io *io);
void io_core_fourlw(struct zk_io *io, uint64_t id, const uint8_t cmd[4]);
void io_core_closed(struct zk_io *io, uint64_t id);
void io_core_post(struct zk_io *io, struct io_loop *from); /* queue from->inbatch to the core */
const struct zk_config *io_cfg(const struct zk_io *io);
const struct zk_logger *io_log(const struct zk_io *io);

#endif
