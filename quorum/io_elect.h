/* Election-port connections of the quorum shell (QuorumCnxManager.java, protocol.md 4.2-4.3) and
 * the address book of the other servers, which the quorum links use as well. Part of the
 * quorum-mode shell (io_quorum.h creates it and hands it the election-link items). */
#ifndef ZK_IO_ELECT_H
#define ZK_IO_ELECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config.h"
#include "log.h"
#include "out.h"

struct zk_io;
struct zk_io_elect;
struct zk_peer;

/* Resolves every server line's host (getaddrinfo, IPv4 preferred as Java does; a host that does
 * not resolve is looked up again later in the background) and binds the election port of
 * server.<myid>. cfg, io and peer are borrowed and must outlive the result. Returns NULL with a
 * message in err. */
struct zk_io_elect *zk_io_elect_new(const struct zk_config *cfg, int64_t myid, struct zk_io *io, struct zk_peer *peer,
                                    const struct zk_logger *log, char *err, size_t err_len);
/* Closes every election connection without telling the peer (shutdown). NULL is a no-op. */
void zk_io_elect_free(struct zk_io_elect *el);

/* A SEND on ZK_LINK_ELECT_BASE | sid: one whole notification frame (queued one deep). */
void zk_io_elect_send(struct zk_io_elect *el, uint64_t link, const uint8_t *frame, size_t len);
/* A CLOSE on ZK_LINK_ELECT_BASE | sid: drops the connection (it is dialled again later). */
void zk_io_elect_close(struct zk_io_elect *el, uint64_t link, enum zk_close_reason reason);

/* Where to listen for server.<myid>'s ports: its host's address, or the any address of that
 * family with quorumListenOnAllIPs=true; the port is left 0. */
void zk_io_elect_self_addr(const struct zk_io_elect *el, struct sockaddr_storage *ss, socklen_t *len);
/* Server sid's host address, port 0. False when sid is not another server of the configuration
 * or its host has no address yet (then a background lookup is started, at most every 5 s). */
bool zk_io_elect_addr(struct zk_io_elect *el, int64_t sid, struct sockaddr_storage *ss, socklen_t *len);

#endif
