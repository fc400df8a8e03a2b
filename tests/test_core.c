/* tests/test_core.c: shapes, the arena, the parameter store, AdamW and the thread setting. */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gridlora/core.h"
#include "testutil.h"

static void shape_numel_checked(void **s) {
    (void)s;
    int64_t n = -1;
    assert_int_equal(gl_shape_numel(3, (int64_t[]){2, 3, 4}, &n), GL_OK);
    assert_int_equal(n, 24);
    assert_int_equal(gl_shape_numel(0, NULL, &n), GL_OK);
    assert_int_equal(n, 1); /* a scalar */
    assert_int_equal(gl_shape_numel(2, (int64_t[]){0, 7}, &n), GL_OK);
    assert_int_equal(n, 0);
    assert_int_equal(gl_shape_numel(2, (int64_t[]){3, -1}, &n), GL_EINVAL);
    assert_int_equal(gl_shape_numel(6, (int64_t[]){1, 1, 1, 1, 1, 1}, &n), GL_EINVAL);
    assert_int_equal(gl_shape_numel(-1, NULL, &n), GL_EINVAL);
    /* 2^32 * 2^32 overflows int64_t */
    assert_int_equal(gl_shape_numel(2, (int64_t[]){1ll << 32, 1ll << 32}, &n), GL_EINVAL);
    assert_int_equal(gl_shape_numel(5, (int64_t[]){1 << 16, 1 << 16, 1 << 16, 1 << 14, 2}, &n),
                     GL_EINVAL);
    assert_int_equal(n, 0);
}

static void strerror_covers_codes(void **s) {
    (void)s;
    for (int e = GL_ESTATE; e <= GL_OK; e++) {
        assert_non_null(gl_strerror(e));
        assert_string_not_equal(gl_strerror(e), "unknown error");
    }
    assert_string_equal(gl_strerror(-1000), "unknown error");
}

static void arena_aligns_and_reuses(void **s) {
    (void)s;
    gl_arena *a = NULL;
    assert_int_equal(gl_arena_new(&a, 1 << 16), GL_OK);
    float *p1 = gl_arena_alloc(a, 3);
    float *p2 = gl_arena_alloc(a, 100);
    assert_non_null(p1);
    assert_non_null(p2);
    assert_int_equal((uintptr_t)p1 % 64, 0);
    assert_int_equal((uintptr_t)p2 % 64, 0);
    assert_true(p2 >= p1 + 3);
    for (int i = 0; i < 100; i++) p2[i] = (float)i; /* writable (ASan checks bounds) */
    size_t used = gl_arena_used(a);
    gl_arena_reset(a);
    assert_int_equal(gl_arena_used(a), 0);
    /* the next step gets the same memory back: no allocation per op */
    assert_ptr_equal(gl_arena_alloc(a, 3), p1);
    assert_ptr_equal(gl_arena_alloc(a, 100), p2);
    assert_int_equal(gl_arena_used(a), used);
    assert_int_equal(gl_arena_peak(a), used);
    gl_arena_free(&a);
    assert_null(a);
    gl_arena_free(&a); /* NULL is a no-op */
    gl_arena_free(NULL);
}

static void arena_exhaustion_reports_need(void **s) {
    (void)s;
    gl_arena *a = NULL;
    assert_int_equal(gl_arena_new(&a, 1024), GL_OK);
    assert_int_equal(gl_arena_capacity(a), 1024);
    assert_non_null(gl_arena_alloc(a, 128)); /* 512 bytes */
    assert_null(gl_arena_alloc(a, 1000));     /* 4000 bytes more: refused */
    assert_int_equal(gl_arena_needed(a), 512 + 4032);
    assert_non_null(gl_arena_alloc(a, 128)); /* what still fits, fits */
    assert_null(gl_arena_alloc(a, 1));
    assert_null(gl_arena_alloc(a, SIZE_MAX / 2)); /* no overflow in the size sum */
    assert_int_equal(gl_arena_needed(a), SIZE_MAX);
    gl_arena_free(&a);
}

static void arena_tensor_and_rewind(void **s) {
    (void)s;
    gl_arena *a = NULL;
    assert_int_equal(gl_arena_new(&a, 4096), GL_OK);
    gl_tensor t;
    assert_int_equal(gl_arena_tensor(a, &t, 3, (int64_t[]){2, 3, 5}), GL_OK);
    assert_int_equal(t.ndim, 3);
    assert_int_equal(t.shape[2], 5);
    assert_int_equal(gl_tensor_numel(&t), 30);
    assert_null(t.grad);
    size_t mark = gl_arena_used(a);
    gl_tensor u;
    assert_int_equal(gl_arena_tensor(a, &u, 1, (int64_t[]){10}), GL_OK);
    gl_arena_rewind(a, mark);
    assert_int_equal(gl_arena_used(a), mark);
    assert_int_equal(gl_arena_tensor(a, &u, 2, (int64_t[]){100, 100}), GL_ENOMEM);
    assert_int_equal(gl_arena_tensor(a, &u, 2, (int64_t[]){-1, 2}), GL_EINVAL);
    gl_arena_free(&a);
}

static void params_store_by_name(void **s) {
    (void)s;
    gl_params *p = NULL;
    assert_int_equal(gl_params_new(&p), GL_OK);
    assert_int_equal(gl_params_add(p, "w", 2, (int64_t[]){3, 4}, 0), 0);
    assert_int_equal(gl_params_add(p, "b", 1, (int64_t[]){3}, GL_PARAM_NO_DECAY), 1);
    assert_int_equal(gl_params_add(p, "w", 1, (int64_t[]){1}, 0), GL_EEXIST);
    assert_int_equal(gl_params_add(p, "", 1, (int64_t[]){1}, 0), GL_EINVAL);
    assert_int_equal(gl_params_add(p, "neg", 1, (int64_t[]){-2}, 0), GL_EINVAL);
    char longname[300];
    memset(longname, 'x', sizeof longname - 1);
    longname[299] = 0;
    assert_int_equal(gl_params_add(p, longname, 1, (int64_t[]){1}, 0), GL_EINVAL);
    for (int i = 0; i < 40; i++) { /* past the first growth of the table */
        char name[16];
        snprintf(name, sizeof name, "extra.%d", i);
        assert_int_equal(gl_params_add(p, name, 1, (int64_t[]){i + 1}, 0), i + 2);
    }
    assert_int_equal(gl_params_alloc(p), GL_OK);
    assert_int_equal(gl_params_alloc(p), GL_ESTATE);
    assert_int_equal(gl_params_add(p, "late", 1, (int64_t[]){1}, 0), GL_ESTATE);
    assert_int_equal(gl_params_count(p), 42);
    assert_int_equal(gl_params_find(p, "b"), 1);
    assert_int_equal(gl_params_find(p, "extra.39"), 41);
    assert_int_equal(gl_params_find(p, "nope"), GL_ENOTFOUND);
    assert_string_equal(gl_params_name(p, 1), "b");
    assert_int_equal(gl_params_flags(p, 1), GL_PARAM_NO_DECAY);
    assert_int_equal(gl_params_numel(p), 12 + 3 + 40 * 41 / 2);
    /* one block, in declaration order, zeroed */
    gl_tensor w = gl_params_tensor(p, 0), b = gl_params_tensor(p, 1);
    assert_ptr_equal(w.data, gl_params_data(p));
    assert_ptr_equal(b.data, w.data + 12);
    assert_ptr_equal(b.grad, gl_params_grads(p) + 12);
    assert_int_equal(w.ndim, 2);
    assert_int_equal(w.shape[1], 4);
    for (int64_t i = 0; i < gl_params_numel(p); i++) assert_true(gl_params_data(p)[i] == 0.0f);
    b.grad[0] = 5;
    gl_params_zero_grad(p);
    assert_true(b.grad[0] == 0.0f);
    gl_params_free(&p);
    assert_null(p);
    gl_params_free(&p);
}

/* AdamW against a double reference with PyTorch's semantics (decoupled decay applied
 * to the weight before the step), over several steps; frozen and no-decay flags, and a
 * tensor at 3x the learning rate (gl_params_set_lr_scale). */
static void params_adamw_matches_reference(void **s) {
    (void)s;
    enum { N = 50, STEPS = 5 };
    gl_params *p = NULL;
    assert_int_equal(gl_params_new(&p), GL_OK);
    int iw = gl_params_add(p, "w", 1, (int64_t[]){N}, 0);
    int ib = gl_params_add(p, "b", 1, (int64_t[]){N}, GL_PARAM_NO_DECAY);
    int iz = gl_params_add(p, "frozen", 1, (int64_t[]){N}, GL_PARAM_FROZEN);
    assert_int_equal(gl_params_alloc(p), GL_OK);
    assert_true(gl_params_lr_scale(p, iw) == 1.0f);
    assert_int_equal(gl_params_set_lr_scale(p, ib, 3.0f), GL_OK);
    assert_true(gl_params_lr_scale(p, ib) == 3.0f);
    const float bad[] = {0.0f, -1.0f, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(gl_params_set_lr_scale(p, iw, bad[i]), GL_EINVAL);
        assert_true(gl_params_lr_scale(p, iw) == 1.0f);
    }
    gl_adamw opt = gl_adamw_default();
    opt.lr = 0.01f;
    opt.weight_decay = 0.1f;
    tu_rng r;
    tu_seed(&r, 11);
    double w[2][N], m[2][N] = {{0}}, v[2][N] = {{0}};
    int idx[2] = {iw, ib};
    for (int k = 0; k < 3; k++) tu_fill(&r, gl_params_tensor(p, k).data, N, 1.0);
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < N; i++) w[k][i] = gl_params_tensor(p, idx[k]).data[i];
    float frozen0[N];
    memcpy(frozen0, gl_params_tensor(p, iz).data, sizeof frozen0);
    for (int step = 1; step <= STEPS; step++) {
        tu_fill(&r, gl_params_grads(p), gl_params_numel(p), 1.0);
        for (int k = 0; k < 2; k++) {
            const float *g = gl_params_tensor(p, idx[k]).grad;
            double wd = k == 0 ? opt.weight_decay : 0.0, lr = opt.lr * (k == 1 ? 3.0 : 1.0);
            for (int i = 0; i < N; i++) {
                w[k][i] *= 1.0 - lr * wd;
                m[k][i] = 0.9 * m[k][i] + 0.1 * g[i];
                v[k][i] = 0.999 * v[k][i] + 0.001 * g[i] * g[i];
                double mh = m[k][i] / (1 - pow(0.9, step)), vh = v[k][i] / (1 - pow(0.999, step));
                w[k][i] -= lr * mh / (sqrt(vh) + opt.eps);
            }
        }
        assert_int_equal(gl_params_adamw_step(p, &opt, step), GL_OK);
    }
    for (int k = 0; k < 2; k++)
        tu_check("adamw weights", gl_params_tensor(p, idx[k]).data, w[k], N, 1e-5);
    assert_memory_equal(gl_params_tensor(p, iz).data, frozen0, sizeof frozen0);
    assert_non_null(gl_params_adam_m(p));
    assert_int_equal(gl_params_adamw_step(p, &opt, 0), GL_ESTATE);
    gl_params_free(&p);
}

static void threads_setting(void **s) {
    (void)s;
    assert_int_equal(gl_set_threads(1), 1);
    assert_int_equal(gl_threads(), 1);
    assert_int_equal(gl_set_threads(2), 2);
    setenv("GRIDLORA_THREADS", "3", 1);
    assert_int_equal(gl_set_threads(0), 3);
    setenv("GRIDLORA_THREADS", "junk", 1);
    assert_true(gl_set_threads(0) >= 1); /* ignored: all cores */
    unsetenv("GRIDLORA_THREADS");
    assert_true(gl_set_threads(0) >= 1);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(shape_numel_checked),
    cmocka_unit_test(strerror_covers_codes),
    cmocka_unit_test(arena_aligns_and_reuses),
    cmocka_unit_test(arena_exhaustion_reports_need),
    cmocka_unit_test(arena_tensor_and_rewind),
    cmocka_unit_test(params_store_by_name),
    cmocka_unit_test(params_adamw_matches_reference),
    cmocka_unit_test(threads_setting),
};
TU_MAIN("core", tests)
