/* tests/testutil.h: what every test file shares: a seeded RNG, error measures, central
 * finite differences in double precision, a set's manifest lines, and a main() that runs
 * one named test.
 *
 * How an op is proven (see tests/test_linear.c for the pattern):
 *  1. a naive reference forward written in double, independently of src/nn;
 *  2. our float forward against it;
 *  3. loss L = sum(out * G), G random; dL/dx by central differences of the double
 *     reference (tu_numgrad), against our float backward called with dout = G;
 *  4. our float results with 1 and with 2 threads, within 1e-6 relative.
 */
#ifndef GL_TESTUTIL_H
#define GL_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

/* Tolerance for fp32 kernels against a double reference, as max|err| / max|want|.
 * fp32 rounding is 6e-8 per operation; a dot product of K terms errs by about
 * sqrt(K) * 6e-8 in the typical case and K * 6e-8 at worst, under 1e-5 for the K <= 200
 * of these tests; the double central differences (eps 1e-6) err by ~1e-10. 1e-4 leaves
 * a 10x margin, while a wrong index or a missing term errs by 1e-2 or more. */
#define TU_TOL 1e-4
/* Finite-difference step in double: truncation ~eps^2 * f''' ~ 1e-12, rounding
 * ~1e-16 / eps ~ 1e-10; both far below TU_TOL. */
#define TU_EPS 1e-6
/* Results with 1 and 2 threads (issue 3: within 1e-6 relative). */
#define TU_TOL_THREADS 1e-6

typedef struct tu_rng {
    uint64_t s;
} tu_rng;

void tu_seed(tu_rng *r, uint64_t seed);
double tu_uniform(tu_rng *r);          /* [0, 1) */
double tu_normal(tu_rng *r);           /* standard normal */
int64_t tu_int(tu_rng *r, int64_t n);  /* [0, n) */
void tu_fill(tu_rng *r, float *x, int64_t n, double scale); /* normal * scale */

/* Allocations through cmocka's checked allocator, so leaks fail the test. */
float *tu_falloc(int64_t n);
double *tu_dalloc(int64_t n);
double *tu_to_double(const float *x, int64_t n); /* new buffer */
void tu_free(void *p);

/* max_i |got_i - want_i| / max(max_i |want_i|, floor) */
double tu_rel_err(const float *got, const double *want, int64_t n, double floor);
/* Fails the current test, naming `what` and the worst element, when the error of
 * tu_rel_err(got, want, n, 1e-6) exceeds tol. */
void tu_check(const char *what, const float *got, const double *want, int64_t n, double tol);
/* Same for two float results (1 thread against 2). */
void tu_check_ff(const char *what, const float *got, const float *want, int64_t n, double tol);

/* A double-precision reference forward: reads inputs in[0..], writes out. */
typedef void (*tu_fn)(void *ctx, double *const *in, double *out);

/* grad[j] = d/d in[which][j] of sum_k out[k] * G[k], by central differences of f with
 * step eps, for j < n_which. in[which] is restored afterwards. */
void tu_numgrad(tu_fn f, void *ctx, double *const *in, int which, int64_t n_which,
                int64_t nout, const double *G, double eps, double *grad);

/* Line i (0-based) of DIR/manifest.jsonl (a data or grid set's manifest), parsed; the caller
 * frees it with cJSON_Delete. A missing file or line, or one that is not JSON, fails the
 * test. */
struct cJSON;
struct cJSON *tu_manifest_line(const char *dir, int64_t i);

/* A test's scratch directory: tu_tmp_make creates /tmp/gl_<prefix>_XXXXXX in t->path (or
 * fails the test); tu_tmp_remove deletes it with the files in it, one level deep, as the
 * data and grid sets the tests write keep them (tu_remove_dir for a path held elsewhere). */
typedef struct tu_tmpdir {
    char path[64];
} tu_tmpdir;
void tu_tmp_make(tu_tmpdir *t, const char *prefix);
void tu_tmp_remove(const tu_tmpdir *t);
void tu_remove_dir(const char *dir);

/* Runs the tests, or only the one named by argv[1] (an unknown name fails). */
int tu_main(const char *group, const struct CMUnitTest *tests, size_t n, int argc, char **argv);
#define TU_MAIN(group, tests) \
    int main(int argc, char **argv) { return tu_main(group, tests, sizeof(tests) / sizeof(tests[0]), argc, argv); }

#endif
