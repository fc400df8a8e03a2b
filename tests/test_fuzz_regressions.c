/* tests/test_fuzz_regressions.c: every input with which a fuzz target (tests/fuzz/) made
 * the library crash or report undefined behaviour, fed to the same entry point: each must
 * now fail cleanly with a message. The inputs are also in the seed corpus
 * (tests/fuzz/corpus/<target>/crash_*), so the fuzzer starts from them too. Run under
 * ASan + UBSan (build-asan/), these tests reproduce the original reports if the fix goes. */
#include <stdio.h>
#include <string.h>

#include "gridlora/core.h"
#include "gridlora/model.h"
#include "testutil.h"

/* fuzz_config, 2025-11-25: a 117-digit "depth" (3.4e116) was cast to int64_t before the
 * range check: undefined behaviour (UBSan: "outside the range of representable values of
 * type 'long'", config.c). Now: not an integer. Also the other doubles no int64 holds. */
static void config_huge_integer(void **state) {
    (void)state;
    static const char crash[] =
        "{\"channels\": 3, \"frames\": 2, \"cell_h\": 8, \"cell_w\": 8, \"patch_t\": 1, "
        "\"patch_h\": 2, \"patch_w\": 2, \"width\": 15, \"depth\": "
        "3444444444444444444444444444444444444444444444444444444444444444444444444444444444"
        "44444444444444444444444444444444444, \"heads\": 2, \"mlp_ratio\": 2, \"time_dim\": "
        "16, \"text_heads\":6, \"text_width\": 16, \"text_layers\": 1, \"text_heads\": 2, "
        "\"rope_theta\": 10000}";
    gl_dit_config cfg;
    char msg[256] = "";
    assert_int_equal(gl_dit_config_from_json(crash, &cfg, msg, sizeof msg), GL_EINVAL);
    assert_string_equal(msg, "config: 'depth' is missing or not an integer");
    static const char *const values[] = {"1e300", "-1e300", "1e999", "-1e999", "9.3e18",
                                         "-9.3e18", "9007199254740993"};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        char json[512];
        snprintf(json, sizeof json,
                 "{\"channels\":%s,\"frames\":2,\"cell_h\":8,\"cell_w\":8,\"patch_t\":1,"
                 "\"patch_h\":2,\"patch_w\":2,\"width\":16,\"depth\":2,\"heads\":2,"
                 "\"mlp_ratio\":2,\"time_dim\":16,\"text_vocab\":128,\"concept_tokens\":4,"
                 "\"text_len\":16,\"text_width\":16,\"text_layers\":1,\"text_heads\":2,"
                 "\"rope_theta\":10000}", values[i]);
        assert_int_equal(gl_dit_config_from_json(json, &cfg, msg, sizeof msg), GL_EINVAL);
        assert_string_equal(msg, "config: 'channels' is missing or not an integer");
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(config_huge_integer),
};
TU_MAIN("fuzz_regressions", tests)
