/* openapi.h — the OpenAPI 3 document of the service, built from the server's route table (passed
 * in as plain rows), so that the document and the routes cannot drift apart. */
#ifndef ECGFM_API_OPENAPI_H
#define ECGFM_API_OPENAPI_H

#include <stddef.h>

#include "api/response.h"

typedef struct {
    const char *method; /* "GET", "POST", ... */
    const char *path;   /* with {name} parameters */
    const char *summary;
    const char *scope;           /* key scope needed, NULL for none */
    const char *request_schema;  /* component schema of the JSON body, NULL for none */
    const char *response_schema; /* component schema of the success body, NULL for text */
    int status;                  /* success status */
} openapi_route;

/* The document as JSON (new reference), or NULL when a route names a schema this module does not
 * define (why says which) or memory ran out. */
json_t *openapi_document(const openapi_route *routes, size_t n, const char *version, char *why,
                         size_t why_size);
/* 200 with the document, or 500 naming the undocumented schema. */
void openapi_get_document(const openapi_route *routes, size_t n, const char *version,
                          api_response *res);
/* True when name is a component schema here. */
int openapi_has_schema(const char *name);

#endif
