/* http.c — the libmicrohttpd daemon (see http.h). One request = read headers, buffer the body
 * within max_body_bytes, route, send the answer, record its metrics when the request completes. Nothing here blocks: long work
 * will suspend the connection and resume it from a worker, which external polling allows. */
#include "server/http.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <microhttpd.h>

#include "server/metrics.h"

/* How much of an oversize body (sent without Content-Length) is read and dropped so that the client
 * still gets a 413 rather than a reset connection. */
#define DRAIN_ALLOWANCE (1ull << 20)

struct http_server {
    struct MHD_Daemon *daemon;
    const routes_ctx *routes;
    unsigned long long max_body_bytes;
    unsigned long long max_upload_bytes; /* for upload routes (routes_is_upload) */
    unsigned int max_connections;
    int at_limit; /* the last run ended with max_connections open */
    int epoll_fd;
    void (*wake)(void *ctx); /* runs MHD soon (serve.c), after a deferred answer resumed */
    void *wake_ctx;
};

void http_set_wake(http_server *h, void (*wake)(void *ctx), void *ctx) {
    h->wake = wake;
    h->wake_ctx = ctx;
}

typedef struct {
    unsigned long long body_bytes;
    unsigned long long limit; /* max_body_bytes, or max_upload_bytes on an upload route */
    int answered; /* a response is queued; later body chunks are dropped */
    char *body;   /* the first body_bytes bytes (while within the limit), NUL-terminated */
    size_t body_cap;
    double started_s;
    int status;        /* of the queued answer, for metrics */
    const char *route; /* matched route pattern (static), for metrics */
    char method[16];
    /* A deferred answer (route_embed.c): the connection is suspended until a worker's result
     * arrives on the loop thread through http_finish_deferred, which resumes it. */
    struct MHD_Connection *conn;
    struct http_server *h;
    int deferred, suspended, result_ready;
    api_response result;
} request;

static void *defer_request(void *http_req) {
    request *rq = http_req;
    rq->deferred = 1;
    return rq;
}

void http_finish_deferred(void *handle, api_response *res) {
    request *rq = handle;
    rq->result = *res;
    memset(res, 0, sizeof *res); /* owned by rq now */
    rq->result_ready = 1;
    if (rq->suspended) {
        rq->suspended = 0;
        MHD_resume_connection(rq->conn); /* MHD calls on_request again, which sends it */
        /* The resumed connection is handled in the next MHD_run; do not wait for socket
         * activity to bring one about. */
        if (rq->h->wake) rq->h->wake(rq->h->wake_ctx);
    }
}

static const char *query_arg(void *conn, const char *name) {
    return MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, name);
}

static const char *header_arg(void *conn, const char *name) {
    return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
}

/* Protocol checks (robustness): MHD decodes %HH in the path and query values; an encoded NUL
 * (%00) would silently cut a name or id short, so it is left as the literal "%00", which no route
 * or name check accepts (404/422 instead of a truncated match). Returns the decoded length. */
static int hex_val(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static size_t unescape_keep_nul(void *cls, struct MHD_Connection *conn, char *s) {
    (void)cls;
    (void)conn;
    char *w = s;
    for (const char *r = s; *r;) {
        int hi = r[0] == '%' ? hex_val(r[1]) : -1, lo = hi >= 0 ? hex_val(r[2]) : -1;
        if (lo >= 0 && (hi | lo)) {
            *w++ = (char)(hi * 16 + lo);
            r += 3;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
    return (size_t)(w - s);
}

/* A Transfer-Encoding other than plain "chunked" leaves the body length unknown (RFC 9112 6.3):
 * MHD would wait for the client to close; answer 400 at once instead. 1 when refused. */
static int bad_transfer_encoding(struct MHD_Connection *conn) {
    const char *te =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    if (!te) return 0;
    while (*te == ' ' || *te == '\t')
        te++;
    size_t n = strlen(te);
    while (n && (te[n - 1] == ' ' || te[n - 1] == '\t'))
        n--;
    return !(n == 7 && strncasecmp(te, "chunked", 7) == 0);
}

/* HTTP/1.1 requires Host (RFC 9112 3.2). MHD's own check (strict mode) answers with an HTML page
 * whose status line and headers 0.9.75 sends twice; MHD runs relaxed and this answers instead. */
static int missing_host(struct MHD_Connection *conn, const char *version) {
    return strncmp(version, "HTTP/1.", 7) == 0 && strcmp(version, "HTTP/1.0") != 0 &&
           !MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
}

static void log_mhd(void *cls, const char *fmt, va_list ap) {
    (void)cls;
    fputs("ecgfm: http: ", stderr);
    vfprintf(stderr, fmt, ap); /* MHD's messages end with a newline */
}

/* One access-log line; the method and URL come from the client, so control bytes are masked. */
static void log_request(const char *method, const char *url, int status) {
    char line[256];
    snprintf(line, sizeof line, "%.15s %.200s", method, url);
    for (char *p = line; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f) *p = '?';
    fprintf(stderr, "ecgfm: %s %d\n", line, status);
}

/* A streamed body (api_stream): MHD pulls from it; when it has nothing yet the connection is
 * suspended (so MHD does not spin on it) until the producer wakes it on the loop thread. */
typedef struct {
    api_stream *s;
    struct MHD_Connection *conn;
    http_server *h;
    int suspended;
} stream_ctx;

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max) {
    (void)pos;
    stream_ctx *c = cls;
    long n = c->s->read(c->s, buf, max);
    if (n < 0) return MHD_CONTENT_READER_END_OF_STREAM;
    if (n == 0 && !c->suspended) {
        c->suspended = 1;
        MHD_suspend_connection(c->conn);
    }
    return (ssize_t)n;
}

static void stream_free(void *cls) {
    stream_ctx *c = cls;
    c->s->free(c->s);
    free(c);
}

static void stream_wake(void *handle) {
    stream_ctx *c = handle;
    if (!c->suspended) return;
    c->suspended = 0;
    MHD_resume_connection(c->conn);
    if (c->h->wake) c->h->wake(c->h->wake_ctx);
}

static struct MHD_Response *stream_response(struct MHD_Connection *conn, http_server *h,
                                            api_response *res) {
    stream_ctx *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->s = res->stream;
    c->conn = conn;
    c->h = h;
    struct MHD_Response *r =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_read, c, stream_free);
    if (!r) {
        free(c);
        return NULL;
    }
    res->stream = NULL; /* owned by r now */
    c->s->wake_handle = c;
    c->s->wake = stream_wake;
    return r;
}

/* Hand res to MHD (which frees the body) and log the request line with its status. */
static enum MHD_Result send_response(struct MHD_Connection *conn, const char *method,
                                     const char *url, api_response *res, request *rq) {
    int is_static = api_response_is_static(res);
    int streamed = res->stream && rq && rq->h;
    int from_file = res->has_file && !streamed; /* a download: MHD reads (sendfile) the range */
    struct MHD_Response *r =
        streamed    ? stream_response(conn, rq->h, res)
        : from_file ? MHD_create_response_from_fd_at_offset64(res->file_len, res->file_fd,
                                                              res->file_offset)
                    : MHD_create_response_from_buffer(res->body_len, res->body,
                                                      is_static ? MHD_RESPMEM_PERSISTENT
                                                                : MHD_RESPMEM_MUST_FREE);
    if (!r) {
        api_response_free(res);
        return MHD_NO; /* out of memory: MHD closes the connection */
    }
    if (from_file)
        res->has_file = 0; /* the descriptor is r's now */
    else if (!streamed)
        res->body = NULL; /* owned by r now */
    api_response_free(res);           /* a body beside a stream, or a stream never sent */
    enum MHD_Result ok = MHD_add_response_header(
        r, MHD_HTTP_HEADER_CONTENT_TYPE, res->content_type ? res->content_type : "application/json");
    int own_cache_control = 0;
    for (int i = 0; ok == MHD_YES && i < res->n_headers; i++) {
        ok = MHD_add_response_header(r, res->headers[i].name, res->headers[i].value);
        own_cache_control |= strcasecmp(res->headers[i].name, "Cache-Control") == 0;
    }
    if (ok == MHD_YES && !own_cache_control)
        ok = MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (ok == MHD_YES && res->allow)
        ok = MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, res->allow);
    if (ok == MHD_YES && res->status == 401)
        ok = MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"ecgfm\"");
    if (ok == MHD_YES) ok = MHD_queue_response(conn, (unsigned int)res->status, r);
    MHD_destroy_response(r);
    if (rq) rq->status = res->status;
    log_request(method, url, res->status);
    return ok;
}

static enum MHD_Result reject_too_large(http_server *h, struct MHD_Connection *conn,
                                        const char *method, const char *url, request *rq) {
    api_response res = {0};
    (void)h;
    api_response_error(&res, 413, "payload_too_large", "request body exceeds %llu bytes%s",
                       rq->limit, rq->limit == h->max_upload_bytes && rq->limit != h->max_body_bytes
                                      ? " (max_upload_bytes)"
                                      : " (max_body_bytes)");
    rq->answered = 1;
    return send_response(conn, method, url, &res, rq);
}

/* Keep a body chunk while the body is within the limit (beyond it the bytes are only counted). */
static int keep_body(http_server *h, request *rq, const char *data, size_t n) {
    (void)h;
    if (rq->body_bytes + n > rq->limit) return 0;
    size_t need = (size_t)rq->body_bytes + n + 1;
    if (need > rq->body_cap) {
        size_t cap = rq->body_cap ? rq->body_cap : 4096;
        while (cap < need) cap *= 2;
        char *m = realloc(rq->body, cap);
        if (!m) return -1;
        rq->body = m;
        rq->body_cap = cap;
    }
    memcpy(rq->body + rq->body_bytes, data, n);
    rq->body[rq->body_bytes + n] = '\0';
    return 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls) {
    (void)version;
    http_server *h = cls;
    request *rq = *req_cls;
    if (!rq) {
        /* First call: headers only. Refuse an announced oversize body before it is sent. */
        rq = calloc(1, sizeof *rq);
        if (!rq) return MHD_NO;
        *req_cls = rq;
        rq->started_s = routes_now_s();
        snprintf(rq->method, sizeof rq->method, "%s", method);
        rq->limit = routes_is_upload(method, url) ? h->max_upload_bytes : h->max_body_bytes;
        const char *cl =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > rq->limit)
            return reject_too_large(h, conn, method, url, rq);
        if (bad_transfer_encoding(conn)) {
            api_response res = {0};
            api_response_error(&res, 400, "unsupported_transfer_encoding",
                               "Transfer-Encoding must be \"chunked\" (or absent, with "
                               "Content-Length)");
            rq->answered = 1;
            return send_response(conn, method, url, &res, rq);
        }
        if (missing_host(conn, version)) {
            api_response res = {0};
            api_response_error(&res, 400, "missing_host", "an HTTP/1.1 request needs a Host header");
            rq->answered = 1;
            return send_response(conn, method, url, &res, rq);
        }
        return MHD_YES;
    }
    if (*upload_data_size) {
        /* MHD lets a response be queued only before the body starts or after it ends, so a body
         * that turns out too large (chunked, no Content-Length) is drained and answered 413 at its
         * end; past a drain allowance the connection is simply closed. */
        if (keep_body(h, rq, upload_data, *upload_data_size)) return MHD_NO; /* out of memory */
        rq->body_bytes += *upload_data_size;
        *upload_data_size = 0;
        if (rq->body_bytes > rq->limit + DRAIN_ALLOWANCE) return MHD_NO;
        return MHD_YES;
    }
    if (rq->deferred) {
        if (!rq->result_ready) return MHD_YES; /* still waiting (not expected: suspended) */
        api_response res = rq->result;
        memset(&rq->result, 0, sizeof rq->result);
        rq->deferred = 0;
        rq->answered = 1;
        return send_response(conn, method, url, &res, rq);
    }
    if (rq->answered) return MHD_YES;
    if (rq->body_bytes > rq->limit) return reject_too_large(h, conn, method, url, rq);
    api_response res = {0};
    routes_request rr = {0};
    rr.method = method;
    rr.path = url;
    rr.body = rq->body ? rq->body : "";
    rr.body_len = (size_t)rq->body_bytes;
    rr.content_type =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    rr.authorization =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    rr.last_event_id = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Last-Event-ID");
    rr.query_fn = query_arg;
    rr.header_fn = header_arg;
    rr.conn = conn;
    rr.defer_fn = defer_request;
    rr.http_req = rq;
    rq->conn = conn;
    rq->h = h;
    routes_dispatch(h->routes, &rr, &res);
    rq->route = rr.route;
    if (rq->deferred) {
        if (!rq->result_ready) {
            MHD_suspend_connection(conn);
            rq->suspended = 1;
            return MHD_YES;
        }
        res = rq->result; /* finished before the handler returned */
        memset(&rq->result, 0, sizeof rq->result);
        rq->deferred = 0;
    }
    rq->answered = 1;
    return send_response(conn, method, url, &res, rq);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe) {
    (void)cls;
    (void)conn;
    (void)toe;
    request *rq = *req_cls;
    if (rq && rq->status)
        metrics_observe_request(rq->route, rq->method, rq->status, routes_now_s() - rq->started_s);
    if (rq) {
        if (rq->result_ready) api_response_free(&rq->result); /* never sent */
        free(rq->body);
    }
    free(rq);
    *req_cls = NULL;
}

ecg_code http_start(http_server **out, const server_config *cfg, int listen_fd,
                    const routes_ctx *routes, ecg_err *err) {
    *out = NULL;
    http_server *h = calloc(1, sizeof *h);
    if (!h) {
        close(listen_fd);
        return err_set(err, ECG_ENOMEM, "out of memory starting the HTTP server");
    }
    h->routes = routes;
    h->max_body_bytes = (unsigned long long)cfg->max_body_bytes;
    h->max_upload_bytes = (unsigned long long)cfg->max_upload_bytes;
    if (h->max_upload_bytes < h->max_body_bytes) h->max_upload_bytes = h->max_body_bytes;
    h->max_connections = (unsigned int)cfg->max_connections;
    /* clang-format off */
    h->daemon = MHD_start_daemon(
        MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME, 0, NULL, NULL, on_request, h,
        MHD_OPTION_EXTERNAL_LOGGER, log_mhd, (void *)NULL, /* first, so it sees every message */
        MHD_OPTION_LISTEN_SOCKET, (MHD_socket)listen_fd,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)cfg->max_connections,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)cfg->connection_timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)cfg->connection_memory_bytes,
        MHD_OPTION_STRICT_FOR_CLIENT, (int)0, /* Host is checked in on_request (missing_host) */
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, (void *)NULL,
        MHD_OPTION_UNESCAPE_CALLBACK, unescape_keep_nul, (void *)NULL,
        MHD_OPTION_END);
    /* clang-format on */
    if (!h->daemon) {
        /* Ownership of listen_fd is ours again only if MHD did not get far enough to close it. */
        if (fcntl(listen_fd, F_GETFD) != -1) close(listen_fd);
        free(h);
        return err_set(err, ECG_EIO, "libmicrohttpd refused to start (see its message above)");
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_EPOLL_FD);
    if (!info) {
        MHD_stop_daemon(h->daemon);
        free(h);
        return err_set(err, ECG_EIO,
                       "libmicrohttpd has no epoll descriptor (built without epoll?)");
    }
    h->epoll_fd = info->epoll_fd;
    *out = h;
    return ECG_OK;
}

int http_poll_fd(const http_server *h) {
    return h->epoll_fd;
}

long long http_run(http_server *h) {
    MHD_run(h->daemon);
    /* At the connection limit MHD takes the listening socket out of its epoll set, and puts it back
     * only at the start of a later MHD_run. If connections closed during this run, nothing would
     * wake us for that later run, and clients queued in the backlog would wait forever: run again
     * at once instead. */
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
    int was_full = h->at_limit;
    h->at_limit = info && info->num_connections >= h->max_connections;
    if (was_full && !h->at_limit) return 0;
    MHD_UNSIGNED_LONG_LONG ms;
    if (MHD_get_timeout(h->daemon, &ms) != MHD_YES) return -1;
    return ms > (1ull << 40) ? (long long)(1ull << 40) : (long long)ms;
}

void http_stop(http_server *h) {
    if (!h) return;
    MHD_stop_daemon(h->daemon);
    free(h);
}
