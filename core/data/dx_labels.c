/* dx_labels.c — the "Dx:" line of WFDB header comments to a bitmask over chosen SNOMED-CT codes
 * (see dx_labels.h). */
#include "core/data/dx_labels.h"

#include <string.h>

static int is_sep(char c) {
    return c == ',' || c == ' ' || c == '\t' || c == '\r';
}

ecg_code dx_labels_mask(const char *comments, const char *const *codes, int n_codes, int32_t *mask,
                        ecg_err *err) {
    *mask = -1;
    if (n_codes < 0 || n_codes > DX_LABELS_MAX)
        return err_set(err, ECG_EINVAL, "dx labels: %d codes (at most %d)", n_codes, DX_LABELS_MAX);
    for (const char *line = comments; line && *line;) {
        const char *end = strchr(line, '\n');
        if (!end) end = line + strlen(line);
        const char *p = line;
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (end - p >= 3 && strncmp(p, "Dx:", 3) == 0) {
            int32_t m = 0;
            for (p += 3; p < end;) {
                while (p < end && is_sep(*p))
                    p++;
                const char *t = p;
                while (p < end && !is_sep(*p))
                    p++;
                size_t n = (size_t)(p - t);
                for (int c = 0; n && c < n_codes; c++)
                    if (strlen(codes[c]) == n && memcmp(codes[c], t, n) == 0) m |= (int32_t)1 << c;
            }
            *mask = m;
            return ECG_OK;
        }
        line = *end ? end + 1 : end;
    }
    return ECG_OK;
}
