/* response.h — what an api handler hands back: a status code and a JSON body, plus the SPEC's error
 * shape {"error": {"code", "message", "type"}}. The server turns this into HTTP; api/ sees no
 * socket. */
#ifndef ECGFM_API_RESPONSE_H
#define ECGFM_API_RESPONSE_H

#include <stddef.h>

#include <jansson.h>

typedef struct {
    int status; /* HTTP status code */
    char *body; /* JSON text, malloc'd, owned; NULL only when out of memory */
    size_t body_len;
    const char *allow; /* static "Allow" header value for 405 answers, else NULL */
    const char *content_type; /* static; NULL means application/json */
} api_response;

/* Serialise json into res with the given status; steals the reference to json (NULL allowed: an
 * allocation failed upstream). On any failure res becomes a 500 with a static body. */
void api_response_json(api_response *res, int status, json_t *json);
/* Fill res with the error shape. code is a stable machine name ("not_found"), message a sentence
 * for people; type is derived from the status (see api_error_type). */
void api_response_error(api_response *res, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The error family for a status: "invalid_request_error", "not_found_error", ... */
const char *api_error_type(int status);
/* Frees body unless it is the static out-of-memory body; leaves res empty. */
void api_response_free(api_response *res);
/* True when res holds the static out-of-memory body (the server must not free it). */
int api_response_is_static(const api_response *res);

#endif
