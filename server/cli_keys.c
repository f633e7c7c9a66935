/* cli_keys.c — API keys and migrations from the command line (see cli_keys.h). The data directory
 * comes from the same sources as for `serve` (--data-dir, ECGFM_DATA_DIR, --config). A new key is
 * printed once, alone on stdout, so that `KEY=$(ecgfm keys create --scope read)` works. */
#include "server/cli_keys.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "server/auth.h"
#include "server/config.h"
#include "server/datadir.h"
#include "server/db.h"

enum { OK = 0, FAIL = 1, USAGE = 2 };

void cli_keys_usage(FILE *out) {
    fprintf(out, "keys and schema (the data directory as for serve: --data-dir, ECGFM_DATA_DIR, "
                 "--config):\n"
                 "  ecgfm keys create --scope read|embed|train|admin [--name NAME]\n"
                 "      print a new API key (once: only its hash is stored)\n"
                 "  ecgfm keys list                 every key: id, scope, name, prefix, state\n"
                 "  ecgfm keys revoke ID            the key stops working at once\n"
                 "  ecgfm keys ensure-admin         create a local admin key if there is no active "
                 "one\n"
                 "  ecgfm migrate                   apply the schema migrations and exit\n"
                 "  scopes are ordered: read < embed < train < admin\n");
}

/* Split our own options (--scope, --name) from the settings config_load reads, then open the
 * database (migrating it). Returns an exit status; *d set on OK. */
static int open_db(int argc, char **argv, const char **scope, const char **name, db **d,
                   const char *cmd) {
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    if (!rest) return FAIL;
    int n = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = NULL;
        size_t len = 0;
        if (strncmp(a, "--scope", 7) == 0 && (a[7] == '\0' || a[7] == '=')) slot = scope, len = 7;
        if (strncmp(a, "--name", 6) == 0 && (a[6] == '\0' || a[6] == '=')) slot = name, len = 6;
        if (!slot) { /* not ours (or not wanted by this subcommand): config_load judges it */
            rest[n++] = argv[i];
            continue;
        }
        if (a[len] == '=') {
            *slot = a + len + 1;
        } else if (i + 1 < argc) {
            *slot = argv[++i];
        } else {
            fprintf(stderr, "ecgfm %s: %s needs a value\n", cmd, a);
            free(rest);
            return USAGE;
        }
    }
    server_config cfg;
    ecg_err err = {0};
    ecg_code rc = config_load(&cfg, n, rest, &err);
    free(rest);
    if (rc) {
        fprintf(stderr, "ecgfm %s: %s\n", cmd, err.msg);
        return USAGE;
    }
    if (datadir_prepare(cfg.data_dir, &err) != ECG_OK ||
        db_open_dir(d, cfg.data_dir, 1, NULL, &err) != ECG_OK) {
        fprintf(stderr, "ecgfm %s: %s\n", cmd, err.msg);
        return FAIL;
    }
    return OK;
}

static void print_time(char *buf, size_t size, long long t) {
    time_t tt = (time_t)t;
    struct tm tm;
    if (!t || !gmtime_r(&tt, &tm) || !strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(buf, size, "-");
}

static int keys_create(int argc, char **argv) {
    const char *scope_s = NULL, *name = NULL;
    /* The scope is checked before the database is touched: a typo must not create anything. */
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--scope") == 0 && i + 1 < argc) scope_s = argv[i + 1];
        if (strncmp(argv[i], "--scope=", 8) == 0) scope_s = argv[i] + 8;
    }
    auth_scope scope;
    if (!scope_s || auth_scope_parse(scope_s, &scope)) {
        fprintf(stderr, "ecgfm keys create: --scope must be read, embed, train or admin\n");
        return USAGE;
    }
    db *d = NULL;
    int st = open_db(argc, argv, &scope_s, &name, &d, "keys create");
    if (st) return st;
    char key[AUTH_KEY_LEN + 1];
    auth_key_info info;
    ecg_err err = {0};
    if (auth_key_create(d, scope, name, key, &info, &err) != ECG_OK) {
        fprintf(stderr, "ecgfm keys create: %s\n", err.msg);
        db_close(d);
        return err.code == ECG_EINVAL ? USAGE : FAIL;
    }
    printf("%s\n", key);
    fprintf(stderr,
            "created API key %lld (scope %s%s%s): it is shown this once; only its hash is "
            "stored\n",
            info.id, auth_scope_name(info.scope), info.name[0] ? ", name " : "", info.name);
    sodium_memzero(key, sizeof key);
    db_close(d);
    return OK;
}

static int keys_list(int argc, char **argv) {
    db *d = NULL;
    int st = open_db(argc, argv, NULL, NULL, &d, "keys list");
    if (st) return st;
    auth_key_info *ks = NULL;
    size_t n = 0;
    ecg_err err = {0};
    if (auth_key_list(d, &ks, &n, &err) != ECG_OK) {
        fprintf(stderr, "ecgfm keys list: %s\n", err.msg);
        db_close(d);
        return FAIL;
    }
    printf("%-6s %-6s %-14s %-21s %-21s %s\n", "id", "scope", "prefix", "created", "revoked",
           "name");
    for (size_t i = 0; i < n; i++) {
        char c[32], r[32];
        print_time(c, sizeof c, ks[i].created_at);
        print_time(r, sizeof r, ks[i].revoked_at);
        printf("%-6lld %-6s %-14s %-21s %-21s %s\n", ks[i].id, auth_scope_name(ks[i].scope),
               ks[i].prefix, c, r, ks[i].name);
    }
    free(ks);
    db_close(d);
    return OK;
}

static int keys_revoke(int argc, char **argv) {
    if (argc < 1 || argv[0][0] < '1' || argv[0][0] > '9') {
        fprintf(stderr, "ecgfm keys revoke: give the key's id (see `ecgfm keys list`)\n");
        return USAGE;
    }
    char *end = NULL;
    errno = 0;
    long long id = strtoll(argv[0], &end, 10);
    if (errno || *end) {
        fprintf(stderr, "ecgfm keys revoke: \"%s\" is not a key id\n", argv[0]);
        return USAGE;
    }
    db *d = NULL;
    int st = open_db(argc - 1, argv + 1, NULL, NULL, &d, "keys revoke");
    if (st) return st;
    ecg_err err = {0};
    ecg_code rc = auth_key_revoke(d, id, NULL, &err);
    db_close(d);
    if (rc) {
        fprintf(stderr, "ecgfm keys revoke: %s\n", err.msg);
        return FAIL;
    }
    printf("revoked API key %lld\n", id);
    return OK;
}

static int keys_ensure_admin(int argc, char **argv) {
    db *d = NULL;
    int st = open_db(argc, argv, NULL, NULL, &d, "keys ensure-admin");
    if (st) return st;
    char key[AUTH_KEY_LEN + 1];
    int created = 0;
    ecg_err err = {0};
    ecg_code rc = auth_ensure_admin(d, key, &created, &err);
    db_close(d);
    if (rc) {
        fprintf(stderr, "ecgfm keys ensure-admin: %s\n", err.msg);
        return FAIL;
    }
    if (created) {
        printf("local admin API key: %s\n", key);
        printf("  (shown this once, only its hash is stored; use it as: curl -H \"Authorization: "
               "Bearer %s\" ...)\n",
               key);
        sodium_memzero(key, sizeof key);
    } else {
        printf("local admin API key: not shown (an admin key already exists and keys are shown "
               "only when created; `ecgfm keys create --scope admin` makes another)\n");
    }
    return OK;
}

int cli_keys(int argc, char **argv) {
    if (argc < 1) {
        cli_keys_usage(stderr);
        return USAGE;
    }
    const char *sub = argv[0];
    if (strcmp(sub, "create") == 0) return keys_create(argc - 1, argv + 1);
    if (strcmp(sub, "list") == 0) return keys_list(argc - 1, argv + 1);
    if (strcmp(sub, "revoke") == 0) return keys_revoke(argc - 1, argv + 1);
    if (strcmp(sub, "ensure-admin") == 0) return keys_ensure_admin(argc - 1, argv + 1);
    if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0 || strcmp(sub, "help") == 0) {
        cli_keys_usage(stdout);
        return OK;
    }
    fprintf(stderr, "ecgfm keys: unknown subcommand \"%s\"\n", sub);
    cli_keys_usage(stderr);
    return USAGE;
}

int cli_migrate(int argc, char **argv) {
    server_config cfg;
    ecg_err err = {0};
    if (config_load(&cfg, argc, argv, &err) != ECG_OK) {
        fprintf(stderr, "ecgfm migrate: %s\n", err.msg);
        return USAGE;
    }
    db *d = NULL;
    int applied = 0;
    if (datadir_prepare(cfg.data_dir, &err) != ECG_OK ||
        db_open_dir(&d, cfg.data_dir, 1, &applied, &err) != ECG_OK) {
        fprintf(stderr, "ecgfm migrate: %s\n", err.msg);
        return FAIL;
    }
    printf("database %s/%s: schema %d, %d migration%s applied now\n", cfg.data_dir, DB_FILE_NAME,
           db_schema_version(d), applied, applied == 1 ? "" : "s");
    db_close(d);
    return OK;
}
