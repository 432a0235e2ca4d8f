/* Socket helpers shared by the quorum shell's two halves (io_elect.c, io_quorum.c); private to
 * them. Static inline, so each includes only what it uses. */
#ifndef ZK_IO_QNET_H
#define ZK_IO_QNET_H

#include <arpa/inet.h>
#include <event2/bufferevent.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "io_client.h"
#include "server.h"

#define ZK_QNET_ADDR_TEXT_MAX 300 /* "host:port" of a server line (host up to 255) or a peer */

static inline struct zk_now zk_qnet_now(void)
{
	struct zk_now n;
	zk_io_now(&n.mono_ms, &n.wall_ms);
	return n;
}

static inline struct timeval zk_qnet_tv(int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	return tv;
}

/* As ZooKeeper's quorum sockets (setTcpNoDelay(true)): notifications and ACKs are small. */
static inline void zk_qnet_nodelay(evutil_socket_t fd)
{
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* "host:port", brackets around an IPv6 host (protocol.md 4.2). */
static inline void zk_qnet_host_port(char *out, size_t len, const char *host, int port)
{
	snprintf(out, len, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
}

static inline void zk_qnet_sa_text(const struct sockaddr *sa, char *out, size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	int port = 0;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
		port = ntohs(a->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
		port = ntohs(a->sin6_port);
	}
	zk_qnet_host_port(out, len, ip, port);
}

static inline void zk_qnet_set_port(struct sockaddr_storage *ss, int port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
}

/* Why a bufferevent event callback fired, for a log line. */
static inline const char *zk_qnet_event_what(short what)
{
	if (what & BEV_EVENT_TIMEOUT)
		return "timeout";
	if (what & BEV_EVENT_EOF)
		return "closed by remote";
	return evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR());
}

#endif
