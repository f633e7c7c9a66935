/* multipart.c — multipart/form-data bodies split in place (see multipart.h); every mistake is a
 * 400 invalid_multipart naming what was wrong. */
#include "api/multipart.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static int fail(api_response *res, int status, const char *code, const char *msg) {
    api_response_error(res, status, code, "%s", msg);
    return -1;
}

static const char *memmem_s(const char *h, size_t hl, const char *n, size_t nl) {
    return memmem(h, hl, n, nl);
}

/* A header parameter value (name="value" or name=value) from a header line of len bytes. */
int multipart_header_param(const char *line, size_t len, const char *pname, char *out, size_t cap) {
    size_t pl = strlen(pname);
    for (size_t i = 0; i + pl + 1 <= len; i++) {
        if (strncasecmp(line + i, pname, pl) != 0 || line[i + pl] != '=') continue;
        if (i > 0 && !(line[i - 1] == ';' || line[i - 1] == ' ' || line[i - 1] == '\t')) continue;
        const char *v = line + i + pl + 1, *end = line + len;
        size_t k = 0;
        if (v < end && *v == '"') {
            v++;
            while (v < end && *v != '"' && k + 1 < cap)
                out[k++] = *v++;
        } else {
            while (v < end && *v != ';' && *v != ' ' && *v != '\r' && k + 1 < cap)
                out[k++] = *v++;
        }
        out[k] = 0;
        return 1;
    }
    return 0;
}

int multipart_parse(const char *body, size_t len, const char *ctype, mp_part *parts, int *n_parts,
                    api_response *res) {
    char boundary[128];
    if (!multipart_header_param(ctype, strlen(ctype), "boundary", boundary, sizeof boundary) ||
        !boundary[0])
        return fail(res, 400, "invalid_multipart", "multipart body without a boundary parameter");
    char delim[140];
    int dl = snprintf(delim, sizeof delim, "--%s", boundary);
    const char *p = memmem_s(body, len, delim, (size_t)dl), *end = body + len;
    if (!p) return fail(res, 400, "invalid_multipart", "multipart body without its boundary");
    *n_parts = 0;
    for (;;) {
        p += dl;
        if (end - p >= 2 && p[0] == '-' && p[1] == '-') break; /* closing delimiter */
        if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
            return fail(res, 400, "invalid_multipart", "malformed multipart delimiter line");
        p += 2;
        const char *hdr_end = memmem_s(p, (size_t)(end - p), "\r\n\r\n", 4);
        if (!hdr_end) return fail(res, 400, "invalid_multipart", "a part's headers do not end");
        if (*n_parts >= MULTIPART_MAX_PARTS)
            return fail(res, 400, "invalid_multipart", "more than 16 parts");
        mp_part *pt = &parts[(*n_parts)++];
        memset(pt, 0, sizeof *pt);
        for (const char *l = p; l < hdr_end;) {
            const char *le = memmem_s(l, (size_t)(hdr_end - l), "\r\n", 2);
            if (!le) le = hdr_end;
            size_t ll = (size_t)(le - l);
            if (ll > 20 && strncasecmp(l, "Content-Disposition:", 20) == 0) {
                char fn[256] = "";
                if (multipart_header_param(l + 20, ll - 20, "filename", fn, sizeof fn)) {
                    const char *base = fn;
                    for (const char *q = fn; *q; q++)
                        if (*q == '/' || *q == '\\') base = q + 1;
                    snprintf(pt->filename, sizeof pt->filename, "%.127s", base);
                }
            } else if (ll > 13 && strncasecmp(l, "Content-Type:", 13) == 0) {
                pt->ctype = l + 13;
                pt->ctype_len = ll - 13;
            }
            l = le + 2;
        }
        const char *data = hdr_end + 4;
        char ddelim[144];
        int ddl = snprintf(ddelim, sizeof ddelim, "\r\n%s", delim);
        const char *next = memmem_s(data, (size_t)(end - data), ddelim, (size_t)ddl);
        if (!next) return fail(res, 400, "invalid_multipart", "a part does not end (truncated?)");
        pt->data = (const uint8_t *)data;
        pt->len = (size_t)(next - data);
        p = next + 2;
    }
    if (*n_parts == 0) return fail(res, 400, "invalid_multipart", "multipart body has no parts");
    return 0;
}

const mp_part *multipart_file_part(const mp_part *parts, int n_parts) {
    for (int i = 0; i < n_parts; i++)
        if (parts[i].filename[0]) return &parts[i];
    return &parts[0];
}
