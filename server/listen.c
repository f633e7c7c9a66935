/* listen.c — the listening socket (see listen.h). SO_REUSEADDR so a restart does not wait out
 * TIME_WAIT; close-on-exec so job processes started later do not inherit it. */
#include "server/listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int addr_is_loopback(const struct sockaddr_storage *ss) {
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
    }
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        return IN6_IS_ADDR_LOOPBACK(&a->sin6_addr);
    }
    return 0;
}

static int addr_is_any(const struct sockaddr_storage *ss) {
    if (ss->ss_family == AF_INET)
        return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
    if (ss->ss_family == AF_INET6)
        return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
    return 0;
}

ecg_code listen_open(listen_socket *ls, const char *host, int port, int backlog, ecg_err *err) {
    memset(ls, 0, sizeof *ls);
    ls->fd = -1;
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", port);
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int gai = getaddrinfo(host, portstr, &hints, &res);
    if (gai != 0)
        return err_set(err, ECG_EINVAL, "cannot resolve host \"%s\": %s", host, gai_strerror(gai));

    int last_errno = 0;
    const char *last_step = "bind";
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd =
            socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            last_errno = errno;
            last_step = "socket";
            continue;
        }
        int one = 1;
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
            bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            last_errno = errno;
            last_step = "bind";
            close(fd);
            continue;
        }
        if (listen(fd, backlog) != 0) {
            last_errno = errno;
            last_step = "listen";
            close(fd);
            continue;
        }
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        char addr[INET6_ADDRSTRLEN] = "?";
        if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0 ||
            getnameinfo((struct sockaddr *)&ss, sl, addr, sizeof addr, portstr, sizeof portstr,
                        NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
            last_errno = errno;
            last_step = "getsockname";
            close(fd);
            continue;
        }
        ls->fd = fd;
        ls->port = atoi(portstr);
        ls->loopback = addr_is_loopback(&ss);
        const char *fmt = ss.ss_family == AF_INET6 ? "http://[%s]:%s" : "http://%s:%s";
        snprintf(ls->url, sizeof ls->url, fmt, addr, portstr);
        const char *local = addr;
        if (addr_is_any(&ss)) local = ss.ss_family == AF_INET6 ? "::1" : "127.0.0.1";
        snprintf(ls->local_url, sizeof ls->local_url, fmt, local, portstr);
        freeaddrinfo(res);
        return ECG_OK;
    }
    freeaddrinfo(res);
    return err_set(err, ECG_EIO, "cannot listen on %s port %d: %s: %s", host, port, last_step,
                   strerror(last_errno));
}
