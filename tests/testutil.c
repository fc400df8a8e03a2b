/* tests/testutil.c: the shared test helpers declared in testutil.h. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp, opendir */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "testutil.h"

void tu_seed(tu_rng *r, uint64_t seed) { r->s = seed * 0x9E3779B97F4A7C15ull + 1; }

static uint64_t next_u64(tu_rng *r) { /* splitmix64 */
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double tu_uniform(tu_rng *r) { return (double)(next_u64(r) >> 11) * 0x1.0p-53; }

double tu_normal(tu_rng *r) {
    double u1 = tu_uniform(r), u2 = tu_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

int64_t tu_int(tu_rng *r, int64_t n) { return (int64_t)(next_u64(r) % (uint64_t)n); }

void tu_fill(tu_rng *r, float *x, int64_t n, double scale) {
    for (int64_t i = 0; i < n; i++) x[i] = (float)(tu_normal(r) * scale);
}

float *tu_falloc(int64_t n) {
    float *p = test_calloc(n ? (size_t)n : 1, sizeof(float));
    assert_non_null(p);
    return p;
}

double *tu_dalloc(int64_t n) {
    double *p = test_calloc(n ? (size_t)n : 1, sizeof(double));
    assert_non_null(p);
    return p;
}

double *tu_to_double(const float *x, int64_t n) {
    double *y = tu_dalloc(n);
    for (int64_t i = 0; i < n; i++) y[i] = x[i];
    return y;
}

void tu_free(void *p) { test_free(p); }

double tu_rel_err(const float *got, const double *want, int64_t n, double floor) {
    double maxw = floor, maxe = 0;
    for (int64_t i = 0; i < n; i++) {
        if (fabs(want[i]) > maxw) maxw = fabs(want[i]);
        double e = fabs((double)got[i] - want[i]);
        if (!(e <= maxe)) maxe = e; /* NaN propagates */
    }
    return maxe / maxw;
}

void tu_check(const char *what, const float *got, const double *want, int64_t n, double tol) {
    double err = tu_rel_err(got, want, n, 1e-6);
    if (!(err <= tol)) {
        int64_t worst = 0;
        double we = -1;
        for (int64_t i = 0; i < n; i++) {
            double e = fabs((double)got[i] - want[i]);
            if (isnan(e) || e > we) { we = isnan(e) ? INFINITY : e; worst = i; }
        }
        fail_msg("%s: relative error %.3g > %.3g (worst element %lld: got %.9g, want %.9g)",
                 what, err, tol, (long long)worst, (double)got[worst], want[worst]);
    }
}

void tu_check_ff(const char *what, const float *got, const float *want, int64_t n, double tol) {
    double *w = tu_to_double(want, n);
    tu_check(what, got, w, n, tol);
    tu_free(w);
}

void tu_numgrad(tu_fn f, void *ctx, double *const *in, int which, int64_t n_which,
                int64_t nout, const double *G, double eps, double *grad) {
    double *out = tu_dalloc(nout);
    double *x = in[which];
    for (int64_t j = 0; j < n_which; j++) {
        double saved = x[j], lp = 0, lm = 0;
        x[j] = saved + eps;
        f(ctx, in, out);
        for (int64_t k = 0; k < nout; k++) lp += out[k] * G[k];
        x[j] = saved - eps;
        f(ctx, in, out);
        for (int64_t k = 0; k < nout; k++) lm += out[k] * G[k];
        x[j] = saved;
        grad[j] = (lp - lm) / (2 * eps);
    }
    tu_free(out);
}

cJSON *tu_manifest_line(const char *dir, int64_t i) {
    char path[1024];
    char line[65536];
    snprintf(path, sizeof path, "%s/manifest.jsonl", dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    for (int64_t k = 0; k <= i; k++) assert_non_null(fgets(line, sizeof line, f));
    fclose(f);
    cJSON *j = cJSON_Parse(line);
    assert_non_null(j);
    return j;
}

void tu_tmp_make(tu_tmpdir *t, const char *prefix) {
    snprintf(t->path, sizeof t->path, "/tmp/gl_%s_XXXXXX", prefix);
    assert_non_null(mkdtemp(t->path));
}

void tu_remove_dir(const char *dir) {
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[512];
    while (d && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        remove(p);
    }
    if (d) closedir(d);
    rmdir(dir);
}

void tu_tmp_remove(const tu_tmpdir *t) { tu_remove_dir(t->path); }

int tu_main(const char *group, const struct CMUnitTest *tests, size_t n, int argc, char **argv) {
    if (argc > 1) {
        size_t i = 0;
        while (i < n && strcmp(tests[i].name, argv[1]) != 0) i++;
        if (i == n) {
            fprintf(stderr, "%s: no test named '%s'\n", group, argv[1]);
            return 1;
        }
        cmocka_set_test_filter(argv[1]);
    }
    return _cmocka_run_group_tests(group, tests, n, NULL, NULL);
}
