/* test_config.c — `ecgfm serve` settings: defaults < config file < environment < flags, and every
 * way a setting can be wrong is refused with a message naming its source. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "server/config.h"

static const char *ENV_VARS[] = {"ECGFM_CONFIG",
                                 "ECGFM_HOST",
                                 "ECGFM_PORT",
                                 "ECGFM_DATA_DIR",
                                 "ECGFM_MAX_CONNECTIONS",
                                 "ECGFM_CONNECTION_TIMEOUT_S",
                                 "ECGFM_MAX_BODY_BYTES",
                                 "ECGFM_CONNECTION_MEMORY_BYTES",
                                 "ECGFM_LISTEN_BACKLOG"};

static char tmpdir[] = "/tmp/ecgfm-test-config-XXXXXX";

static int clear_env(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof ENV_VARS / sizeof ENV_VARS[0]; i++)
        unsetenv(ENV_VARS[i]);
    return 0;
}

/* Write text to tmpdir/name and return the path (static buffer, one at a time). */
static const char *write_file(const char *name, const char *text) {
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
    return path;
}

static ecg_code load(server_config *cfg, ecg_err *err, int argc, ...) {
    char *argv[16];
    va_list ap;
    va_start(ap, argc);
    for (int i = 0; i < argc; i++)
        argv[i] = va_arg(ap, char *);
    va_end(ap);
    memset(err, 0, sizeof *err);
    return config_load(cfg, argc, argv, err);
}

static void test_defaults(void **state) {
    (void)state;
    server_config cfg;
    ecg_err err;
    assert_int_equal(load(&cfg, &err, 0), ECG_OK);
    assert_string_equal(cfg.host, "127.0.0.1");
    assert_int_equal(cfg.port, 8080);
    assert_string_equal(cfg.data_dir, "./var");
    assert_string_equal(cfg.config_path, "");
    assert_true(cfg.max_connections > 0 && cfg.connection_timeout_s > 0);
    assert_true(cfg.max_body_bytes > 0 && cfg.connection_memory_bytes >= 8192);
}

static void test_precedence(void **state) {
    (void)state;
    const char *path = write_file("prec.json", "{\"host\": \"::1\", \"port\": 9000, \"data_dir\": "
                                               "\"/srv/a\", \"max_connections\": 5}");
    char *p = strdup(path);
    assert_non_null(p);
    server_config cfg;
    ecg_err err;

    /* file over defaults */
    assert_int_equal(load(&cfg, &err, 2, "--config", p), ECG_OK);
    assert_string_equal(cfg.host, "::1");
    assert_int_equal(cfg.port, 9000);
    assert_string_equal(cfg.data_dir, "/srv/a");
    assert_int_equal(cfg.max_connections, 5);
    assert_int_equal(cfg.connection_timeout_s, 30); /* untouched keys keep their defaults */
    assert_string_equal(cfg.config_path, p);

    /* environment over file */
    setenv("ECGFM_PORT", "9100", 1);
    setenv("ECGFM_DATA_DIR", "/srv/b", 1);
    assert_int_equal(load(&cfg, &err, 2, "--config", p), ECG_OK);
    assert_int_equal(cfg.port, 9100);
    assert_string_equal(cfg.data_dir, "/srv/b");
    assert_string_equal(cfg.host, "::1");

    /* flags over environment, both flag spellings */
    assert_int_equal(load(&cfg, &err, 4, "--config", p, "--port", "9200"), ECG_OK);
    assert_int_equal(cfg.port, 9200);
    assert_int_equal(load(&cfg, &err, 3, "--port=9300", "--config", p), ECG_OK);
    assert_int_equal(cfg.port, 9300);
    assert_int_equal(load(&cfg, &err, 2, "--data-dir=/srv/c", "--host=0.0.0.0"), ECG_OK);
    assert_string_equal(cfg.data_dir, "/srv/c");
    assert_string_equal(cfg.host, "0.0.0.0");
    assert_int_equal(cfg.port, 9100); /* env still applies without the file */

    /* an empty variable counts as unset */
    setenv("ECGFM_PORT", "", 1);
    assert_int_equal(load(&cfg, &err, 0), ECG_OK);
    assert_int_equal(cfg.port, 8080);

    /* ECGFM_CONFIG names the file when --config does not; --config wins over it */
    setenv("ECGFM_CONFIG", p, 1);
    assert_int_equal(load(&cfg, &err, 0), ECG_OK);
    assert_int_equal(cfg.port, 9000);
    const char *other = write_file("other.json", "{\"port\": 9400}");
    assert_int_equal(load(&cfg, &err, 2, "--config", (char *)other), ECG_OK);
    assert_int_equal(cfg.port, 9400);
    assert_string_equal(cfg.host, "127.0.0.1");
    free(p);
}

static void expect_fail(ecg_code want, const char *needle, int argc, char **argv) {
    server_config cfg;
    ecg_err err = {0};
    ecg_code rc = config_load(&cfg, argc, argv, &err);
    if (rc != want || !strstr(err.msg, needle))
        fail_msg("want code %d with \"%s\", got %d: %s", want, needle, rc, err.msg);
}

static void test_bad_flags(void **state) {
    (void)state;
    expect_fail(ECG_EINVAL, "unknown option \"--bogus\"", 1, (char *[]){"--bogus"});
    expect_fail(ECG_EINVAL, "unknown option \"--bogus\"", 1, (char *[]){"--bogus=1"});
    expect_fail(ECG_EINVAL, "needs a value", 1, (char *[]){"--port"});
    expect_fail(ECG_EINVAL, "needs a value", 1, (char *[]){"--config"});
    expect_fail(ECG_EINVAL, "unexpected argument", 1, (char *[]){"8080"});
    expect_fail(ECG_EINVAL, "outside [0, 65535]", 2, (char *[]){"--port", "65536"});
    expect_fail(ECG_EINVAL, "outside [0, 65535]", 2, (char *[]){"--port", "-1"});
    expect_fail(ECG_EINVAL, "wants an integer", 2, (char *[]){"--port", "80x"});
    expect_fail(ECG_EINVAL, "wants an integer", 2, (char *[]){"--port", ""});
    expect_fail(ECG_EINVAL, "wants an integer", 1,
                (char *[]){"--max-connections=99999999999999999999"});
    expect_fail(ECG_EINVAL, "must not be empty", 1, (char *[]){"--host="});
    expect_fail(ECG_EINVAL, "valid UTF-8", 2, (char *[]){"--data-dir", "/tmp/\xff"});
    expect_fail(ECG_EINVAL, "outside", 1, (char *[]){"--max-connections=0"});
    expect_fail(ECG_EINVAL, "outside", 1, (char *[]){"--connection-memory-bytes=100"});
}

static void test_bad_env(void **state) {
    (void)state;
    setenv("ECGFM_PORT", "eighty", 1);
    expect_fail(ECG_EINVAL, "ECGFM_PORT", 0, NULL);
    /* a valid flag does not excuse a broken variable: the operator should hear about it */
    expect_fail(ECG_EINVAL, "ECGFM_PORT", 2, (char *[]){"--port", "80"});
    setenv("ECGFM_PORT", "80", 1);
    setenv("ECGFM_CONNECTION_TIMEOUT_S", "0", 1);
    expect_fail(ECG_EINVAL, "ECGFM_CONNECTION_TIMEOUT_S", 0, NULL);
}

static void test_bad_files(void **state) {
    (void)state;
    char *p;
    p = strdup(write_file("unknown.json", "{\"prot\": 80}"));
    expect_fail(ECG_EINVAL, "unknown key \"prot\"", 2, (char *[]){"--config", p});
    free(p);
    p = strdup(write_file("type.json", "{\"port\": \"80\"}"));
    expect_fail(ECG_EINVAL, "port must be an integer", 2, (char *[]){"--config", p});
    free(p);
    p = strdup(write_file("type2.json", "{\"host\": 1}"));
    expect_fail(ECG_EINVAL, "host must be a string", 2, (char *[]){"--config", p});
    free(p);
    p = strdup(write_file("range.json", "{\"port\": 100000}"));
    expect_fail(ECG_EINVAL, "outside", 2, (char *[]){"--config", p});
    free(p);
    p = strdup(write_file("syntax.json", "{\"port\": 80,"));
    expect_fail(ECG_EFORMAT, "syntax.json:", 2, (char *[]){"--config", p});
    free(p);
    p = strdup(write_file("array.json", "[1, 2]"));
    expect_fail(ECG_EFORMAT, "JSON object", 2, (char *[]){"--config", p});
    free(p);
    p = strdup(write_file("dup.json", "{\"port\": 1, \"port\": 2}"));
    expect_fail(ECG_EFORMAT, "dup.json", 2, (char *[]){"--config", p});
    free(p);
    expect_fail(ECG_EIO, "/nonexistent/ecgfm.json", 2,
                (char *[]){"--config", "/nonexistent/ecgfm.json"});
    setenv("ECGFM_CONFIG", "/nonexistent/env.json", 1);
    expect_fail(ECG_EIO, "/nonexistent/env.json", 0, NULL);
}

static void test_shipped_config(void **state) {
    (void)state;
    /* configs/server.json must load and match the built-in defaults, so docs and code agree. */
    const char *path = getenv("ECGFM_SOURCE_DIR");
    char file[1024];
    snprintf(file, sizeof file, "%s/configs/server.json", path ? path : ".");
    if (access(file, R_OK) != 0) skip();
    server_config a, b;
    ecg_err err = {0};
    config_set_defaults(&a);
    config_set_defaults(&b);
    if (config_apply_file(&b, file, &err) != ECG_OK) fail_msg("%s", err.msg);
    assert_memory_equal(&a, &b, sizeof a);
}

int main(void) {
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_defaults, clear_env),
        cmocka_unit_test_setup(test_precedence, clear_env),
        cmocka_unit_test_setup(test_bad_flags, clear_env),
        cmocka_unit_test_setup(test_bad_env, clear_env),
        cmocka_unit_test_setup(test_bad_files, clear_env),
        cmocka_unit_test_setup(test_shipped_config, clear_env),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return failed;
}
