/* response.c — JSON responses and the SPEC's error shape (see response.h).
 * Every allocation is checked; when one fails the answer degrades to a static 500, never a crash.
 */
#include "api/response.h"

#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char OOM_BODY[] =
    "{\"error\":{\"code\":\"out_of_memory\",\"message\":\"the server ran out of "
    "memory building this answer\",\"type\":\"server_error\"}}";

static void set_oom(api_response *res) {
    res->status = 500;
    res->body = OOM_BODY;
    res->body_len = sizeof OOM_BODY - 1;
    res->allow = NULL;
    res->content_type = NULL;
}

void api_response_json(api_response *res, int status, json_t *json) {
    char *text = json ? json_dumps(json, JSON_COMPACT) : NULL;
    json_decref(json);
    if (!text) {
        set_oom(res);
        return;
    }
    res->status = status;
    res->body = text;
    res->body_len = strlen(text);
}

const char *api_error_type(int status) {
    switch (status) {
    case 400:
    case 405:
    case 413:
    case 415:
    case 422: return "invalid_request_error";
    case 401:
    case 403: return "authentication_error";
    case 404: return "not_found_error";
    case 409: return "conflict_error";
    case 429: return "rate_limit_error";
    case 503: return "unavailable_error";
    default: return status >= 500 ? "server_error" : "invalid_request_error";
    }
}

void api_response_error(api_response *res, int status, const char *code, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* Messages quote client input (paths, methods) that need not be UTF-8, which jansson refuses;
     * mask every non-ASCII byte then rather than fail the whole answer. */
    json_t *probe = json_string(msg);
    if (probe)
        json_decref(probe);
    else
        for (char *p = msg; *p; p++)
            if ((unsigned char)*p >= 0x80) *p = '?';
    json_t *json = json_pack("{s:{s:s, s:s, s:s}}", "error", "code", code, "message", msg, "type",
                             api_error_type(status));
    api_response_json(res, status, json);
}

void api_response_file(api_response *res, int status, int fd, unsigned long long offset,
                       unsigned long long len, const char *content_type) {
    res->status = status;
    res->has_file = 1;
    res->file_fd = fd;
    res->file_offset = offset;
    res->file_len = len;
    res->content_type = content_type;
}

int api_response_header(api_response *res, const char *name, const char *fmt, ...) {
    if (res->n_headers >= API_MAX_HEADERS || strlen(name) >= sizeof res->headers[0].name) return -1;
    api_header *h = &res->headers[res->n_headers];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(h->value, sizeof h->value, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof h->value) return -1;
    snprintf(h->name, sizeof h->name, "%s", name);
    res->n_headers++;
    return 0;
}

int api_response_is_static(const api_response *res) {
    return res->body == OOM_BODY;
}

void api_response_free(api_response *res) {
    if (res->body && !api_response_is_static(res)) free(res->body);
    if (res->stream) res->stream->free(res->stream);
    res->stream = NULL;
    if (res->has_file) close(res->file_fd);
    res->has_file = 0;
    res->body = NULL;
    res->body_len = 0;
}
