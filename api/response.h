/* response.h — what an api handler hands back: a status code and a JSON body, plus the SPEC's error
 * shape {"error": {"code", "message", "type"}}. The server turns this into HTTP; api/ sees no
 * socket. */
#ifndef ECGFM_API_RESPONSE_H
#define ECGFM_API_RESPONSE_H

#include <stddef.h>

#include <jansson.h>

/* A body produced piece by piece (Server-Sent Events). The server calls read on its loop thread
 * when it can send: it returns the bytes written into buf (at most max), 0 when it has nothing now
 * (the server then parks the connection until wake(wake_handle) is called, on the loop thread),
 * or -1 at the end. free runs once, when the server is done with it. */
typedef struct api_stream api_stream;
struct api_stream {
    long (*read)(api_stream *s, char *buf, size_t max);
    void (*free)(api_stream *s);
    void (*wake)(void *wake_handle); /* set by the server once the stream is being sent */
    void *wake_handle;
};

#define API_MAX_HEADERS 6

typedef struct {
    char name[32];
    char value[224];
} api_header;

typedef struct {
    int status; /* HTTP status code */
    char *body; /* JSON text, malloc'd, owned; NULL only when out of memory */
    size_t body_len;
    const char *allow; /* static "Allow" header value for 405 answers, else NULL */
    const char *content_type; /* static; NULL means application/json */
    api_stream *stream; /* when set, the body (body is unused); owned by res until sent */
    /* A body read from a file (downloads): with has_file, file_len bytes of file_fd from
     * file_offset, sent without reading the file into memory; fd owned by res until sent. */
    int has_file;
    int file_fd;
    unsigned long long file_offset, file_len;
    /* Extra headers (ETag, Content-Range, ...); a Cache-Control here replaces "no-store". */
    api_header headers[API_MAX_HEADERS];
    int n_headers;
} api_response;

/* Serialise json into res with the given status; steals the reference to json (NULL allowed: an
 * allocation failed upstream). On any failure res becomes a 500 with a static body. */
void api_response_json(api_response *res, int status, json_t *json);
/* Fill res with the error shape. code is a stable machine name ("not_found"), message a sentence
 * for people; type is derived from the status (see api_error_type). */
void api_response_error(api_response *res, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The answer is len bytes of fd from offset (fd is closed when the answer is sent or freed). */
void api_response_file(api_response *res, int status, int fd, unsigned long long offset,
                       unsigned long long len, const char *content_type);
/* Add a header to the answer; -1 when there is no room or the value does not fit (not added). */
int api_response_header(api_response *res, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The error family for a status: "invalid_request_error", "not_found_error", ... */
const char *api_error_type(int status);
/* Frees body unless it is the static out-of-memory body, a stream not sent, and closes a file not
 * sent; leaves res empty. */
void api_response_free(api_response *res);
/* True when res holds the static out-of-memory body (the server must not free it). */
int api_response_is_static(const api_response *res);

#endif
