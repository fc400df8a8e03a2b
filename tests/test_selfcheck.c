/* tests/test_selfcheck.c: the layers composed: a one-block transformer trains (the loss
 * falls), its chained backward matches finite differences, and a run is reproducible. */
#include <string.h>

#include "gridlora/gridlora.h"
#include "testutil.h"

static void selfcheck_trains(void **s) {
    (void)s;
    gl_selfcheck_params sp = gl_selfcheck_default_params();
    sp.steps = 300;
    gl_selfcheck_result r;
    char msg[256];
    assert_int_equal(gl_selfcheck_run(&sp, &r, msg, sizeof msg), 0);
    assert_true(r.loss_last < 0.5 * r.loss_first);
    assert_int_equal(r.grad_checked, 15);
    /* float finite differences agree to ~1e-3 (see cmd_selfcheck.c) */
    assert_true(r.grad_max_rel_err < 5e-2);
    assert_true(r.arena_bytes > 0);
}

/* Same seed, same thread count: the same losses, bit for bit. */
static void selfcheck_deterministic(void **s) {
    (void)s;
    gl_selfcheck_params sp = gl_selfcheck_default_params();
    sp.steps = 40;
    gl_selfcheck_result a, b;
    char msg[256];
    gl_set_threads(2);
    assert_int_equal(gl_selfcheck_run(&sp, &a, msg, sizeof msg), 0);
    assert_int_equal(gl_selfcheck_run(&sp, &b, msg, sizeof msg), 0);
    assert_true(a.loss_first == b.loss_first && a.loss_last == b.loss_last);
    sp.seed = 2;
    assert_int_equal(gl_selfcheck_run(&sp, &b, msg, sizeof msg), 0);
    assert_true(a.loss_last != b.loss_last);
}

static void selfcheck_rejects_bad_params(void **s) {
    (void)s;
    gl_selfcheck_params sp = gl_selfcheck_default_params();
    gl_selfcheck_result r;
    char msg[256] = "";
    sp.width = 30; /* not a multiple of 2 * heads = 4 */
    assert_int_equal(gl_selfcheck_run(&sp, &r, msg, sizeof msg), GL_EINVAL);
    assert_non_null(strstr(msg, "width"));
    sp = gl_selfcheck_default_params();
    sp.steps = 0;
    assert_int_equal(gl_selfcheck_run(&sp, &r, msg, sizeof msg), GL_EINVAL);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(selfcheck_trains),
    cmocka_unit_test(selfcheck_deterministic),
    cmocka_unit_test(selfcheck_rejects_bad_params),
};
TU_MAIN("selfcheck", tests)
