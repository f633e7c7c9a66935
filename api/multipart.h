/* multipart.h — a multipart/form-data body split into its parts, in place (nothing copied): what
 * every upload route (/v1/embed, dataset records and splits) parses before reading files. */
#ifndef ECGFM_API_MULTIPART_H
#define ECGFM_API_MULTIPART_H

#include <stddef.h>
#include <stdint.h>

#include "api/response.h"

#define MULTIPART_MAX_PARTS 16

typedef struct {
    const char *name;   /* form field name, may be NULL */
    char filename[128]; /* basename of the part's filename, "" when none */
    const char *ctype;  /* not NUL-terminated: ctype_len bytes */
    size_t ctype_len;
    const uint8_t *data;
    size_t len;
} mp_part;

/* Split body (len bytes, Content-Type ctype with its boundary) into at most MULTIPART_MAX_PARTS
 * parts pointing into body. 0, or -1 with res filled (400 invalid_multipart). */
int multipart_parse(const char *body, size_t len, const char *ctype, mp_part *parts, int *n_parts,
                    api_response *res);

/* The part an upload's file is in: the first of n_parts (>= 1) with a file name, else the first. */
const mp_part *multipart_file_part(const mp_part *parts, int n_parts);

/* A header parameter value (name="value" or name=value) from a header line of len bytes: 1 found
 * (out NUL-terminated, truncated to cap - 1), 0 not. */
int multipart_header_param(const char *line, size_t len, const char *pname, char *out, size_t cap);

#endif
