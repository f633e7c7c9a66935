/* cli_import.c — `ecgfm import`: every record of WFDB trees, EDF trees and CODE-15% HDF5 files
 * appended to one store dataset, in the order given, with labels from a PTB-XL-style CSV. */
#include "server/cli_import.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/data/edf.h"
#include "core/data/hdf5_tracings.h"
#include "core/data/store.h"
#include "server/cli_common.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };
enum { MAX_SOURCES = 32 };

void cli_import_usage(FILE *out) {
    fprintf(out,
            "import options (append real records to a store dataset, created when missing):\n"
            "  --out DIR          dataset store directory                        [required]\n"
            "  --wfdb ROOT        every WFDB record (.hea) under ROOT, recursively  [repeatable]\n"
            "  --edf ROOT         every .edf/.bdf file under ROOT, recursively      [repeatable]\n"
            "  --hdf5 FILE        every exam of a CODE-15%% HDF5 file                [repeatable]\n"
            "  --labels CSV --label-key COLUMN --label COLUMN [--label COLUMN ...]\n"
            "                     labels per record from a PTB-XL-style CSV (up to 4 columns)\n"
            "  --quiet            no progress line\n");
}

typedef struct {
    char kind; /* 'w' WFDB tree, 'e' EDF tree, 'h' HDF5 file */
    const char *path;
} import_source;

static void import_progress(void *ctx, size_t done, size_t total, size_t skipped) {
    const import_source *s = ctx;
    fprintf(stderr, "\rimport %s: %zu/%zu (%zu skipped)", s->path, done, total, skipped);
    if (done + skipped >= total) fputc('\n', stderr);
}

static void print_summary(const import_source *s, const store_import_summary *sum) {
    printf("%s: %zu found, %zu imported, %zu skipped", s->path, sum->found, sum->imported,
           sum->skipped);
    if (sum->unlabelled) printf(", %zu without a label row", sum->unlabelled);
    if (sum->nan_records) printf(", %zu with non-finite samples set to 0", sum->nan_records);
    printf("\n");
    for (size_t i = 0; i < sum->n_skips && i < 20; i++)
        printf("  skipped %s: %s\n", sum->skips[i].path, sum->skips[i].reason);
    if (sum->n_skips > 20) printf("  ... and %zu more skips\n", sum->n_skips - 20);
}

int cli_import(int argc, char **argv) {
    const char *out = NULL, *labels_csv = NULL, *label_key = NULL;
    const char *label_cols[STORE_N_LABELS];
    int n_label_cols = 0, quiet = 0, n_src = 0;
    import_source src[MAX_SOURCES];
    for (int i = 0; i < argc; i++) {
        int bad = 0;
        const char *v;
        if (strcmp(argv[i], "--quiet") == 0) {
            quiet = 1;
            continue;
        }
        if ((v = cli_opt_value(argc, argv, &i, "--out", &bad)))
            out = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--labels", &bad)))
            labels_csv = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--label-key", &bad)))
            label_key = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--label", &bad))) {
            if (n_label_cols == STORE_N_LABELS) {
                fprintf(stderr, "ecgfm import: at most %d --label columns\n", STORE_N_LABELS);
                return EXIT_USAGE;
            }
            label_cols[n_label_cols++] = v;
        } else {
            char kind = 0;
            if ((v = cli_opt_value(argc, argv, &i, "--wfdb", &bad)))
                kind = 'w';
            else if ((v = cli_opt_value(argc, argv, &i, "--edf", &bad)))
                kind = 'e';
            else if ((v = cli_opt_value(argc, argv, &i, "--hdf5", &bad)))
                kind = 'h';
            if (!kind) {
                fprintf(stderr, "ecgfm import: %s option %s\n",
                        bad ? "missing value for" : "unknown", argv[i]);
                return EXIT_USAGE;
            }
            if (n_src == MAX_SOURCES) {
                fprintf(stderr, "ecgfm import: at most %d sources\n", MAX_SOURCES);
                return EXIT_USAGE;
            }
            src[n_src++] = (import_source){kind, v};
        }
        if (bad) {
            fprintf(stderr, "ecgfm import: missing value for %s\n", argv[i]);
            return EXIT_USAGE;
        }
    }
    if (!out || n_src == 0) {
        fprintf(stderr, "ecgfm import: --out DIR and at least one --wfdb, --edf or --hdf5 are "
                        "required\n");
        return EXIT_USAGE;
    }
    if (!labels_csv != !label_key || (labels_csv && n_label_cols == 0)) {
        fprintf(stderr, "ecgfm import: --labels needs --label-key and at least one --label\n");
        return EXIT_USAGE;
    }
    ecg_err err = {0};
    store_labels *labels = NULL;
    if (labels_csv &&
        store_labels_load_csv(&labels, labels_csv, label_key, label_cols, n_label_cols, &err)) {
        fprintf(stderr, "ecgfm import: %s\n", err.msg);
        return EXIT_FAIL;
    }
    store_writer *w;
    if (store_writer_open(&w, out, NULL, &err)) {
        fprintf(stderr, "ecgfm import: %s\n", err.msg);
        store_labels_free(labels);
        return EXIT_FAIL;
    }
    size_t before = store_writer_count(w);
    ecg_code rc = ECG_OK;
    for (int s = 0; s < n_src && !rc; s++) {
        store_import_opts opt = {0};
        opt.progress = quiet ? NULL : import_progress;
        opt.progress_ctx = &src[s];
        opt.labels = labels;
        store_import_summary sum;
        memset(&sum, 0, sizeof sum);
        if (src[s].kind == 'w')
            rc = store_import_wfdb_tree(w, src[s].path, &opt, &sum, &err);
        else if (src[s].kind == 'e')
            rc = store_import_edf_tree(w, src[s].path, &opt, &sum, &err);
        else
            rc = store_import_hdf5(w, src[s].path, NULL, &opt, &sum, &err);
        print_summary(&src[s], &sum);
        store_import_summary_free(&sum);
    }
    if (rc) {
        store_writer_abort(w);
        store_labels_free(labels);
        fprintf(stderr, "ecgfm import: %s\n", err.msg);
        return EXIT_FAIL;
    }
    size_t after = store_writer_count(w);
    if (store_writer_close(w, &err)) {
        store_labels_free(labels);
        fprintf(stderr, "ecgfm import: %s\n", err.msg);
        return EXIT_FAIL;
    }
    store_labels_free(labels);
    printf("import: %zu records added to %s (%zu in total)\n", after - before, out, after);
    return EXIT_OK;
}
