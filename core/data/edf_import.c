/* edf_import.c — a folder of EDF/BDF files into the dataset store (kept apart from edf.c so
 * that the EDF fuzz target links without the store). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/data/edf.h"
#include "core/data/store_walk.h"

/* ---- a folder of EDF files ------------------------------------------------------------------ */

/* EDF and BDF files are the records; their ids keep the extension until they are appended. */
static int keep_edf(char *rel, size_t len) {
    return len > 4 && (!strcasecmp(rel + len - 4, ".edf") || !strcasecmp(rel + len - 4, ".bdf"));
}

typedef struct {
    store_prepared p;
    ecg_code code;
    char msg[512];
} import_slot;

ecg_code store_import_edf_tree(store_writer *w, const char *root, const store_import_opts *opt,
                               store_import_summary *sum, ecg_err *err) {
    store_import_opts o = store_import_start(opt, sum);
    store_paths all = {0};
    ecg_code rc = store_walk_tree(root, keep_edf, &all, err);
    if (rc) return rc;
    sum->found = all.n;
    sum->skips = calloc(STORE_MAX_SKIPS, sizeof *sum->skips);
    import_slot *slots = calloc((size_t)o.batch, sizeof *slots);
    if (!sum->skips || !slots) {
        free(slots);
        store_paths_free(&all);
        return err_set(err, ECG_ENOMEM, "import: no memory for %d slots", o.batch);
    }
    for (size_t b0 = 0; !rc && b0 < all.n; b0 += (size_t)o.batch) {
        if (o.stop && atomic_load(o.stop)) {
            sum->stopped = 1;
            break;
        }
        int nb = (int)(all.n - b0 < (size_t)o.batch ? all.n - b0 : (size_t)o.batch);
#pragma omp parallel for schedule(dynamic, 1)
        for (int s = 0; s < nb; s++) {
            import_slot *sl = &slots[s];
            const char *rel = all.v[b0 + (size_t)s];
            char path[8192];
            ecg_err e = {0};
            ecg_record r;
            snprintf(path, sizeof path, "%s/%s", root, rel);
            sl->code = edf_read_record(&r, path, NULL, &e);
            if (!sl->code) {
                snprintf(r.record_name, sizeof r.record_name, "%s", rel);
                sl->code = store_prepare(&sl->p, &r, &e);
                record_free(&r);
            }
            if (sl->code) snprintf(sl->msg, sizeof sl->msg, "%s", e.msg);
        }
        for (int s = 0; s < nb; s++) {
            import_slot *sl = &slots[s];
            char rel[4096];
            snprintf(rel, sizeof rel, "%s", all.v[b0 + (size_t)s]);
            rel[strlen(rel) - 4] = 0; /* the walk kept only names ending in .edf / .bdf */
            if (!rc && !sl->code)
                rc = store_summary_add(w, o.labels, sum, rel, &sl->p, err);
            else if (!rc)
                store_summary_skip(sum, all.v[b0 + (size_t)s], sl->code, sl->msg);
            store_prepared_free(&sl->p);
        }
        if (!rc && o.progress) o.progress(o.progress_ctx, b0 + (size_t)nb, all.n, sum->skipped);
    }
    free(slots);
    store_paths_free(&all);
    if (!rc) rc = store_writer_flush(w, err);
    return rc;
}
