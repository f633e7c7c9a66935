/* test_checkpoint.c — encoder checkpoints (round trip, rejections, loading into PyTorch), training
 * state (round trip, corruption, exact resume) and seeded initialisation. */
#include "tests/unit/testutil.h"

#include <sys/stat.h>
#include <unistd.h>

#include "core/base/threads.h"
#include "core/model/adamw.h"
#include "core/model/checkpoint.h"
#include "core/model/encoder.h"
#include "core/model/train_state.h"

static char tmpdir[256];

static int setup(void **state) {
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/ecgfm_ckpt_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void path_of(char *out, size_t n, const char *name) {
    snprintf(out, n, "%s/%s", tmpdir, name);
}

static encoder *make(enc_backbone bb, int B, uint64_t seed) {
    struct encoder_config cfg;
    encoder_config_small(&cfg, bb);
    encoder *e;
    ecg_err err = {0};
    if (encoder_create(&e, &cfg, B, seed, 0, &err) != ECG_OK) fail_msg("%s", err.msg);
    return e;
}

/* A few train-mode forwards so BatchNorm statistics and num_batches_tracked move. */
static void warm(encoder *e, const float *x, int B, int n) {
    ecg_err err = {0};
    for (int i = 0; i < n; i++)
        assert_int_equal(encoder_forward(e, x, B, ENC_TRAIN, &err), ECG_OK);
}

static void test_roundtrip(void **state) {
    (void)state;
    const int B = 2;
    float *x = tu_randn((size_t)B * 12 * 600, 1, 1.0f);
    encoder *a = make(ENC_BACKBONE_S4, B, 7);
    ecg_err err = {0};
    assert_true(encoder_add_head_param(a, "head.weight", 2, (int[]){4, 64}, &err) >= 0);
    param_set *pa = encoder_params(a);
    for (int i = 0; i < 4 * 64; i++)
        params_data(pa, pa->n_views - 1)[i] = 0.01f * (float)i;
    warm(a, x, B, 3);
    char p1[300], p2[300];
    path_of(p1, sizeof p1, "a.safetensors");
    path_of(p2, sizeof p2, "b.safetensors");
    const char *extra[] = {"ecgfm.objective", "cpc"};
    assert_int_equal(checkpoint_save(p1, a, extra, 1, &err), ECG_OK);

    encoder *b = make(ENC_BACKBONE_S4, B, 8);
    assert_true(encoder_add_head_param(b, "head.weight", 2, (int[]){4, 64}, &err) >= 0);
    assert_int_equal(checkpoint_load(p1, b, &err), ECG_OK);
    param_set *pb = encoder_params(b);
    assert_memory_equal(pa->data, pb->data, pa->n_floats * sizeof(float));
    assert_memory_equal(pa->buf, pb->buf, pa->n_buf * sizeof(float));
    assert_int_equal(encoder_bn_batches(b), 3);
    assert_int_equal(checkpoint_save(p2, b, extra, 1, &err), ECG_OK);
    size_t n1, n2;
    uint8_t *f1 = tu_slurp(p1, &n1), *f2 = tu_slurp(p2, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(f1, f2, n1);
    free(f1), free(f2);

    assert_int_equal(encoder_forward(a, x, B, ENC_EVAL, &err), ECG_OK);
    assert_int_equal(encoder_forward(b, x, B, ENC_EVAL, &err), ECG_OK);
    assert_memory_equal(encoder_embedding(a), encoder_embedding(b), (size_t)B * 64 * sizeof(float));

    /* a checkpoint alone makes an encoder; the training head is ignored */
    encoder *c;
    assert_int_equal(checkpoint_load_encoder(p1, B, ENC_INFERENCE_ONLY, &c, &err), ECG_OK);
    assert_int_equal(encoder_forward(c, x, B, ENC_EVAL, &err), ECG_OK);
    assert_memory_equal(encoder_embedding(a), encoder_embedding(c), (size_t)B * 64 * sizeof(float));
    struct encoder_config rc;
    assert_int_equal(checkpoint_read_config(p1, &rc, &err), ECG_OK);
    assert_int_equal(encoder_config_diff(&rc, encoder_get_config(a), NULL, 0), 0);
    st_file f;
    assert_int_equal(st_read_file(&f, p1, &err), ECG_OK);
    assert_string_equal(st_meta_get(&f, "format"), "pt");
    assert_string_equal(st_meta_get(&f, "ecgfm.objective"), "cpc");
    assert_string_equal(st_meta_get(&f, "ecgfm.encoder.backbone"), "s4");
    const st_tensor *t = st_find(&f, "stem.0.bn.num_batches_tracked");
    assert_non_null(t);
    assert_int_equal(t->dtype, ST_I64);
    assert_int_equal(t->ndim, 0);
    st_free(&f);
    encoder_free(a), encoder_free(b), encoder_free(c);
    free(x);
}

static void test_rejects(void **state) {
    (void)state;
    ecg_err err = {0};
    char p[300];
    encoder *a = make(ENC_BACKBONE_S4, 1, 1);
    path_of(p, sizeof p, "small.safetensors");
    assert_int_equal(checkpoint_save(p, a, NULL, 0, &err), ECG_OK);

    /* another config */
    struct encoder_config cfg;
    encoder_config_small(&cfg, ENC_BACKBONE_S4);
    cfg.d_model = 32;
    encoder *b;
    assert_int_equal(encoder_create(&b, &cfg, 1, 1, 0, &err), ECG_OK);
    assert_int_equal(checkpoint_load(p, b, &err), ECG_EINVAL);
    printf("wrong config: %s\n", err.msg);
    assert_non_null(strstr(err.msg, "d_model: 64 vs 32"));
    encoder_free(b);
    encoder_config_small(&cfg, ENC_BACKBONE_S4);
    cfg.causal = 1;
    assert_int_equal(encoder_create(&b, &cfg, 1, 1, 0, &err), ECG_OK);
    assert_int_equal(checkpoint_load(p, b, &err), ECG_EINVAL);
    assert_non_null(strstr(err.msg, "causal"));
    encoder_free(b);

    /* right config, one tensor of the wrong shape (and one missing) */
    param_set *ps = encoder_params(a);
    st_entry *ent = calloc((size_t)ps->n_views, sizeof *ent);
    assert_non_null(ent);
    float *big = tu_zeros(ps->n_floats);
    for (int i = 0; i < ps->n_views; i++) {
        ent[i] = (st_entry){.name = ps->views[i].name,
                            .dtype = ST_F32,
                            .ndim = ps->views[i].ndim,
                            .data = params_data(ps, i)};
        for (int d = 0; d < ps->views[i].ndim; d++)
            ent[i].shape[d] = ps->views[i].shape[d];
    }
    int k = params_find(ps, "backbone.layers.1.out.weight");
    ent[k].shape[0] = 64; /* (128, 64) -> (64, 64) */
    ent[k].data = big;
    enc_kv kv[ENC_KV_MAX];
    int nkv = encoder_config_to_kv(encoder_get_config(a), kv);
    const char *meta[2 * ENC_KV_MAX];
    for (int i = 0; i < nkv; i++)
        meta[2 * i] = kv[i].key, meta[2 * i + 1] = kv[i].value;
    char q[300];
    path_of(q, sizeof q, "bad_shape.safetensors");
    assert_int_equal(st_write_file(q, ent, ps->n_views, meta, nkv, &err), ECG_OK);
    encoder *c = make(ENC_BACKBONE_S4, 1, 1);
    assert_int_equal(checkpoint_load(q, c, &err), ECG_EINVAL);
    printf("wrong shape: %s\n", err.msg);
    assert_non_null(strstr(
        err.msg, "backbone.layers.1.out.weight has shape [64, 64], the model expects [128, 64]"));
    /* missing buffers: only parameters were written */
    ent[k].shape[0] = 128;
    ent[k].data = params_data(ps, k);
    assert_int_equal(st_write_file(q, ent, ps->n_views, meta, nkv, &err), ECG_OK);
    assert_int_equal(checkpoint_load(q, c, &err), ECG_ENOTFOUND);
    printf("missing tensor: %s\n", err.msg);
    assert_non_null(strstr(err.msg, "running_mean is missing"));
    /* no config at all */
    assert_int_equal(st_write_file(q, ent, ps->n_views, NULL, 0, &err), ECG_OK);
    assert_int_equal(checkpoint_load(q, c, &err), ECG_EFORMAT);
    printf("no config: %s\n", err.msg);
    assert_non_null(strstr(err.msg, "missing from the encoder config"));
    /* a version from the future */
    const char *vmeta[2 * ENC_KV_MAX + 2];
    memcpy(vmeta, meta, sizeof(char *) * 2 * (size_t)nkv);
    vmeta[2 * nkv] = CKPT_VERSION_KEY, vmeta[2 * nkv + 1] = "2";
    assert_int_equal(st_write_file(q, ent, ps->n_views, vmeta, nkv + 1, &err), ECG_OK);
    assert_int_equal(checkpoint_load(q, c, &err), ECG_EVERSION);
    /* not a safetensors file */
    FILE *fp = fopen(q, "wb");
    assert_non_null(fp);
    fputs("definitely not a checkpoint", fp);
    fclose(fp);
    assert_int_not_equal(checkpoint_load(q, c, &err), ECG_OK);
    path_of(q, sizeof q, "does_not_exist.safetensors");
    assert_int_not_equal(checkpoint_load(q, c, &err), ECG_OK);
    free(ent), free(big);
    encoder_free(a), encoder_free(c);
}

/* A C checkpoint of each backbone loads into tests/parity/ref_encoder.py and gives the same
 * embedding (nmse < 1e-8, in check_c_checkpoint.py). */
static void test_pytorch_loads_c_checkpoint(void **state) {
    (void)state;
    if (access("/usr/bin/python3", X_OK) != 0 ||
        access("tests/parity/check_c_checkpoint.py", R_OK) != 0)
        fail_msg("needs /usr/bin/python3 and tests/parity/check_c_checkpoint.py (run from the repo "
                 "root)");
    const int B = 2;
    float *x = tu_randn((size_t)B * 12 * 600, 3, 1.0f);
    char cmd[4096];
    int off = snprintf(cmd, sizeof cmd, "/usr/bin/python3 tests/parity/check_c_checkpoint.py");
    const enc_backbone bbs[3] = {ENC_BACKBONE_S4, ENC_BACKBONE_TRANSFORMER, ENC_BACKBONE_CNN};
    for (int i = 0; i < 3; i++) {
        encoder *e = make(bbs[i], B, 100 + (uint64_t)i);
        warm(e, x, B, 2); /* non-trivial running statistics */
        ecg_err err = {0};
        assert_int_equal(encoder_forward(e, x, B, ENC_EVAL, &err), ECG_OK);
        char ck[300], em[300];
        snprintf(ck, sizeof ck, "%s/c_%s.safetensors", tmpdir, encoder_backbone_name(bbs[i]));
        snprintf(em, sizeof em, "%s/c_%s_emb.safetensors", tmpdir, encoder_backbone_name(bbs[i]));
        assert_int_equal(checkpoint_save(ck, e, NULL, 0, &err), ECG_OK);
        st_entry ent[2] = {
            {.name = "x", .dtype = ST_F32, .ndim = 3, .shape = {B, 12, 600}, .data = x},
            {.name = "embedding",
             .dtype = ST_F32,
             .ndim = 2,
             .shape = {B, 64},
             .data = encoder_embedding(e)},
        };
        assert_int_equal(st_write_file(em, ent, 2, NULL, 0, &err), ECG_OK);
        off += snprintf(cmd + off, sizeof cmd - (size_t)off, " '%s' '%s'", ck, em);
        encoder_free(e);
    }
    fflush(stdout);
    int rc = system(cmd);
    assert_int_equal(rc, 0);
    free(x);
}

static void test_seeds(void **state) {
    (void)state;
    encoder *a = make(ENC_BACKBONE_S4, 1, 42), *b = make(ENC_BACKBONE_S4, 1, 42);
    encoder *c = make(ENC_BACKBONE_S4, 1, 43);
    param_set *pa = encoder_params(a), *pb = encoder_params(b), *pc = encoder_params(c);
    assert_memory_equal(pa->data, pb->data, pa->n_floats * sizeof(float));
    assert_memory_equal(encoder_rng(a), encoder_rng(b), sizeof(rng_state));
    assert_true(memcmp(pa->data, pc->data, pa->n_floats * sizeof(float)) != 0);
    /* every weight tensor differs with the seed (norm affines start at 1 and 0 either way) */
    for (int i = 0; i < pa->n_views; i++) {
        const char *n = pa->views[i].name;
        if (strstr(n, "weight") && !strstr(n, "bn.") && !strstr(n, "norm"))
            assert_true(memcmp(params_data(pa, i), params_data(pc, i),
                               pa->views[i].count * sizeof(float)) != 0);
    }
    /* re-initialising reproduces the bits */
    ecg_err err = {0};
    assert_int_equal(encoder_init_weights(c, 42, &err), ECG_OK);
    assert_memory_equal(pa->data, pc->data, pa->n_floats * sizeof(float));
    encoder_free(a), encoder_free(b), encoder_free(c);
    /* same for the other backbones */
    for (int bb = ENC_BACKBONE_TRANSFORMER; bb <= ENC_BACKBONE_CNN; bb++) {
        a = make((enc_backbone)bb, 1, 5), b = make((enc_backbone)bb, 1, 5),
        c = make((enc_backbone)bb, 1, 6);
        pa = encoder_params(a), pb = encoder_params(b), pc = encoder_params(c);
        assert_memory_equal(pa->data, pb->data, pa->n_floats * sizeof(float));
        assert_true(memcmp(pa->data, pc->data, pa->n_floats * sizeof(float)) != 0);
        encoder_free(a), encoder_free(b), encoder_free(c);
    }
}

/* One training step of the encoder + a linear head on the embedding, loss = sum(logits * y). */
static void train_step(encoder *e, adamw *opt, const float *x, int B, int hw) {
    ecg_err err = {0};
    param_set *ps = encoder_params(e);
    encoder_zero_grad(e);
    assert_int_equal(encoder_forward(e, x, B, ENC_TRAIN, &err), ECG_OK);
    /* d(sum(W emb))/d emb = column sums of W; dW = sum over the batch of emb */
    const int d = 64;
    float demb[4 * 64];
    const float *emb = encoder_embedding(e), *w = params_data(ps, hw);
    float *gw = params_grad(ps, hw);
    for (int b = 0; b < B; b++)
        for (int j = 0; j < d; j++) {
            demb[b * d + j] = w[j] + w[d + j];
            gw[j] += emb[b * d + j], gw[d + j] += emb[b * d + j];
        }
    assert_int_equal(encoder_backward(e, NULL, demb, NULL, &err), ECG_OK);
    assert_int_equal(adamw_step(opt, ps, 1e-3f, &err), ECG_OK);
}

static void test_train_state_and_resume(void **state) {
    (void)state;
    const int B = 2;
    float *x = tu_randn((size_t)B * 12 * 600, 9, 1.0f);
    ecg_err err = {0};
    adamw_config ac;
    adamw_config_default(&ac);
    ac.weight_decay[PG_HEAD] = 0.05f;
    encoder *a = make(ENC_BACKBONE_S4, B, 3); /* dropout 0.2 is on */
    int hw = encoder_add_head_param(a, "head.weight", 2, (int[]){2, 64}, &err);
    adamw oa;
    assert_int_equal(adamw_init(&oa, &ac, encoder_params(a), &err), ECG_OK);
    for (int s = 0; s < 3; s++)
        train_step(a, &oa, x, B, hw);
    char ck[300], ts_path[300];
    path_of(ck, sizeof ck, "resume.safetensors");
    path_of(ts_path, sizeof ts_path, "resume.state");
    train_state ts = {.step = 3,
                      .epoch = 1,
                      .data_pos = 17,
                      .bn_batches = encoder_bn_batches(a),
                      .rng_model = *encoder_rng(a)};
    rng_seed(&ts.rng_data, 1234);
    assert_int_equal(checkpoint_save(ck, a, NULL, 0, &err), ECG_OK);
    assert_int_equal(train_state_save(ts_path, &ts, &oa, encoder_params(a), &err), ECG_OK);
    for (int s = 0; s < 2; s++)
        train_step(a, &oa, x, B, hw);

    /* a fresh process: encoder from the checkpoint, optimizer and streams from the state */
    encoder *b;
    assert_int_equal(checkpoint_load_encoder(ck, B, 0, &b, &err), ECG_OK);
    int hb = encoder_add_head_param(b, "head.weight", 2, (int[]){2, 64}, &err);
    assert_int_equal(hb, hw);
    assert_int_equal(checkpoint_load(ck, b, &err), ECG_OK); /* now with the head */
    adamw ob = {0};
    train_state tb;
    assert_int_equal(train_state_load(ts_path, &tb, &ob, encoder_params(b), &err), ECG_OK);
    assert_int_equal(tb.step, 3);
    assert_int_equal(tb.epoch, 1);
    assert_int_equal(tb.data_pos, 17);
    assert_memory_equal(&tb.rng_data, &ts.rng_data, sizeof ts.rng_data);
    assert_int_equal(ob.step, 3);
    assert_true(ob.cfg.weight_decay[PG_HEAD] == 0.05f && ob.cfg.beta2 == 0.999);
    *encoder_rng(b) = tb.rng_model;
    encoder_set_bn_batches(b, tb.bn_batches);
    for (int s = 0; s < 2; s++)
        train_step(b, &ob, x, B, hb);
    param_set *pa = encoder_params(a), *pb = encoder_params(b);
    assert_memory_equal(pa->data, pb->data, pa->n_floats * sizeof(float));
    assert_memory_equal(pa->buf, pb->buf, pa->n_buf * sizeof(float));
    assert_memory_equal(oa.m, ob.m, pa->n_floats * sizeof(float));
    assert_memory_equal(oa.v, ob.v, pa->n_floats * sizeof(float));
    printf("resume: 3 steps + save + 2 steps == load + 2 steps, bit for bit (%zu parameters)\n",
           pa->n_floats);

    /* a model without the head has another layout */
    encoder *c = make(ENC_BACKBONE_S4, B, 3);
    adamw oc = {0};
    assert_int_equal(train_state_load(ts_path, &tb, &oc, encoder_params(c), &err), ECG_EINVAL);
    printf("layout mismatch: %s\n", err.msg);
    encoder_free(c);
    /* corruption: one flipped byte, truncation, a foreign file, a future version */
    size_t n;
    uint8_t *bytes = tu_slurp(ts_path, &n);
    char bad[300];
    path_of(bad, sizeof bad, "bad.state");
    struct {
        size_t at;
        size_t len;
        uint8_t x;
        ecg_code want;
        const char *msg;
    } cases[] = {
        {n / 2, n, 0x40, ECG_EFORMAT, "checksum"},
        {0, n - 100, 0, ECG_EFORMAT, "checksum"},
        {0, n, 0x01, ECG_EFORMAT, "magic"},
        {8, n, 0x01, ECG_EVERSION, "version"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t *cp = malloc(n);
        assert_non_null(cp);
        memcpy(cp, bytes, n);
        cp[cases[i].at] ^= cases[i].x;
        FILE *fp = fopen(bad, "wb");
        assert_non_null(fp);
        assert_int_equal(fwrite(cp, 1, cases[i].len, fp), cases[i].len);
        fclose(fp);
        adamw od = {0};
        assert_int_equal(train_state_load(bad, &tb, &od, encoder_params(b), &err), cases[i].want);
        assert_non_null(strstr(err.msg, cases[i].msg));
        free(cp);
    }
    free(bytes);
    adamw_free(&oa), adamw_free(&ob);
    encoder_free(a), encoder_free(b);
    free(x);
}

int main(void) {
    threads_set(getenv("ECGFM_TEST_THREADS") ? atoi(getenv("ECGFM_TEST_THREADS")) : 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_rejects),
        cmocka_unit_test(test_pytorch_loads_c_checkpoint),
        cmocka_unit_test(test_seeds),
        cmocka_unit_test(test_train_state_and_resume),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
