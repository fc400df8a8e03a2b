/* tests/test_half.c: fp16 / bf16 conversion against an independent reference.
 * 16 -> 32 is checked for all 65536 patterns against a decoder written with ldexp; 32 -> 16
 * against a reference that finds the nearest representable value by binary search over
 * the (monotonic) positive bit patterns and breaks ties towards the even pattern: on
 * every value, every midpoint and its float neighbours, and random bit patterns. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "gridlora/half.h"
#include "testutil.h"

static uint32_t fbits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float bitsf(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* ---- independent decoders (double, from the format's definition) ---------------- */

typedef struct fmt {
    const char *name;
    int mant_bits, exp_bits, bias;
    uint16_t max_finite, inf;
    uint16_t (*to16)(float);
    float (*to32)(uint16_t);
} fmt;

/* value of a non-negative finite pattern p */
static double ref_decode(const fmt *F, uint16_t p) {
    int e = p >> F->mant_bits, m = p & ((1 << F->mant_bits) - 1);
    if (e == 0) return ldexp((double)m, 1 - F->bias - F->mant_bits);
    return ldexp((double)((1 << F->mant_bits) + m), e - F->bias - F->mant_bits);
}

/* the pattern nearest to v >= 0 (finite), ties to even; past the largest finite value
 * the next pattern up is Inf, one ulp further on */
static uint16_t ref_round(const fmt *F, double v) {
    uint16_t lo = 0, hi = F->max_finite;
    if (v >= ref_decode(F, F->max_finite)) {
        lo = F->max_finite;
    } else {
        while (hi - lo > 1) { /* invariant: decode(lo) <= v < decode(hi) */
            uint16_t mid = (uint16_t)((lo + hi) / 2);
            if (ref_decode(F, mid) <= v) lo = mid;
            else hi = mid;
        }
        if (ref_decode(F, hi) <= v) lo = hi;
    }
    double a = ref_decode(F, lo), b;
    if (lo == F->max_finite) b = a + (a - ref_decode(F, (uint16_t)(lo - 1)));
    else b = ref_decode(F, (uint16_t)(lo + 1));
    if (v == a) return lo;
    double da = v - a, db = b - v; /* exact: the operands are within a factor of 2, or a == 0 */
    uint16_t up = (uint16_t)(lo + 1);
    if (da < db) return lo;
    if (db < da) return up;
    return (lo & 1) ? up : lo;
}

static uint16_t ref_to16(const fmt *F, float f) {
    uint16_t sign = (fbits(f) >> 31) ? 0x8000 : 0;
    if (isnan(f)) return 0; /* not used */
    if (isinf(f)) return sign | F->inf;
    return sign | ref_round(F, fabs((double)f));
}

static const fmt F16 = {"f16", 10, 5, 15, 0x7bff, 0x7c00, gl_f32_to_f16, gl_f16_to_f32};
static const fmt BF16 = {"bf16", 7, 8, 127, 0x7f7f, 0x7f80, gl_f32_to_bf16, gl_bf16_to_f32};

/* ---- 16 -> 32 -> 16, exhaustively ----------------------------------------------- */

static void roundtrip_all(const fmt *F) {
    int nan_count = 0;
    for (uint32_t p = 0; p < 65536; p++) {
        uint16_t h = (uint16_t)p, mag = h & 0x7fff;
        float f = F->to32(h);
        int neg = (h & 0x8000) != 0;
        if (mag > F->inf) {
            assert_true(isnan(f));
            nan_count++;
        } else if (mag == F->inf) {
            assert_true(isinf(f));
        } else {
            double want = ref_decode(F, mag) * (neg ? -1.0 : 1.0);
            if ((double)f != want) fail_msg("%s %04x -> %.9g, want %.9g", F->name, p, f, want);
        }
        assert_int_equal(fbits(f) >> 31, neg); /* sign kept, on zeros and NaNs too */
        uint16_t back = F->to16(f);
        if (back != h) fail_msg("%s %04x -> %08x -> %04x", F->name, p, fbits(f), back);
    }
    assert_int_equal(nan_count, 2 * ((1 << F->mant_bits) - 1));
}

static void f16_roundtrip_exhaustive(void **s) {
    (void)s;
    roundtrip_all(&F16);
}

static void bf16_roundtrip_exhaustive(void **s) {
    (void)s;
    roundtrip_all(&BF16);
}

/* ---- 32 -> 16 rounding ---------------------------------------------------------- */

static void check_one(const fmt *F, float f) {
    uint16_t got = F->to16(f), want = ref_to16(F, f);
    if (got != want)
        fail_msg("%s(%.9g = %08x) = %04x, want %04x", F->name, f, fbits(f), got, want);
}

static void rounding_edges(const fmt *F) {
    /* every finite value, the midpoint to the next one up (exactly representable in
     * float: one more bit than the 16-bit format has) and the floats either side of it */
    for (uint32_t p = 0; p <= F->max_finite; p++) {
        double a = ref_decode(F, (uint16_t)p), b;
        if (p == F->max_finite) b = a + (a - ref_decode(F, (uint16_t)(p - 1)));
        else b = ref_decode(F, (uint16_t)(p + 1));
        float mid = (float)((a + b) / 2);
        assert_true((double)mid == (a + b) / 2);
        const float cases[] = {(float)a, mid, nextafterf(mid, 0.0f), nextafterf(mid, INFINITY),
                               nextafterf((float)a, INFINITY)};
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            check_one(F, cases[i]);
            check_one(F, -cases[i]);
        }
    }
    /* the float extremes and special values */
    const float specials[] = {0.0f, -0.0f, INFINITY, -INFINITY, FLT_MAX, -FLT_MAX,
                              bitsf(1), bitsf(0x007fffff), bitsf(0x00800000), 1.0f, 3.0f};
    for (size_t i = 0; i < sizeof specials / sizeof specials[0]; i++) check_one(F, specials[i]);
    /* random bit patterns across the whole range (NaNs skipped: checked below) */
    tu_rng r;
    tu_seed(&r, 1234);
    for (int i = 0; i < 300000; i++) {
        float f = bitsf((uint32_t)(tu_uniform(&r) * 4294967296.0));
        if (!isnan(f)) check_one(F, f);
    }
    /* dense randoms where the format lives, subnormals included */
    for (int i = 0; i < 300000; i++) {
        double e = (tu_uniform(&r) - 0.5) * 2.0 * (F->bias + F->mant_bits + 3);
        float f = (float)ldexp(1.0 + tu_uniform(&r), (int)e);
        check_one(F, tu_uniform(&r) < 0.5 ? f : -f);
    }
    /* NaNs stay NaNs with their sign, whatever the payload */
    const uint32_t nans[] = {0x7f800001, 0x7fc00000, 0x7fffffff, 0x7f801fff, 0x7f80ffff,
                             0xff800001, 0xffc00000, 0x7fa00000};
    for (size_t i = 0; i < sizeof nans / sizeof nans[0]; i++) {
        uint16_t h = F->to16(bitsf(nans[i]));
        assert_true((h & 0x7fff) > F->inf);
        assert_int_equal(h >> 15, nans[i] >> 31);
    }
}

static void f16_rounding_matches_reference(void **s) {
    (void)s;
    rounding_edges(&F16);
    /* hand-checked anchors, so the reference itself is pinned down */
    assert_int_equal(gl_f32_to_f16(65504.0f), 0x7bff);
    assert_int_equal(gl_f32_to_f16(65519.99f), 0x7bff);
    assert_int_equal(gl_f32_to_f16(65520.0f), 0x7c00); /* tie, 0x7bff is odd: to Inf */
    assert_int_equal(gl_f32_to_f16(-1e10f), 0xfc00);
    assert_int_equal(gl_f32_to_f16(1.0f), 0x3c00);
    assert_int_equal(gl_f32_to_f16(1.0f + 0x1p-11f), 0x3c00);     /* tie to even (down) */
    assert_int_equal(gl_f32_to_f16(1.0f + 3 * 0x1p-11f), 0x3c02); /* tie to even (up) */
    assert_int_equal(gl_f32_to_f16(0x1p-24f), 0x0001);
    assert_int_equal(gl_f32_to_f16(0x1p-25f), 0x0000);             /* tie to even: 0 */
    assert_int_equal(gl_f32_to_f16(nextafterf(0x1p-25f, 1.0f)), 0x0001);
    assert_int_equal(gl_f32_to_f16(3 * 0x1p-25f), 0x0002);         /* 1.5 ulp: tie to 2 */
    assert_int_equal(gl_f32_to_f16(0x1p-14f - 0x1p-25f), 0x0400);  /* up into the normals */
    assert_int_equal(gl_f32_to_f16(-0.0f), 0x8000);
    assert_int_equal(gl_f32_to_f16(0.1f), 0x2e66);
    assert_int_equal(gl_f32_to_f16(0x1.ffcp-15f), 0x03ff + 1); /* largest subnormal + half ulp */
    assert_int_equal(gl_f32_to_f16(bitsf(0x7f800001)), 0x7e00); /* payload lost: quiet bit */
    assert_int_equal(gl_f32_to_f16(bitsf(0x7fc02000)), 0x7e01);
}

static void bf16_rounding_matches_reference(void **s) {
    (void)s;
    rounding_edges(&BF16);
    assert_int_equal(gl_f32_to_bf16(1.0f), 0x3f80);
    assert_int_equal(gl_f32_to_bf16(1.0f + 0x1p-8f), 0x3f80);     /* tie to even (down) */
    assert_int_equal(gl_f32_to_bf16(1.0f + 3 * 0x1p-8f), 0x3f82); /* tie to even (up) */
    assert_int_equal(gl_f32_to_bf16(FLT_MAX), 0x7f80);             /* past max + half ulp */
    assert_int_equal(gl_f32_to_bf16(bitsf(0x7f7f7fff)), 0x7f7f);
    assert_int_equal(gl_f32_to_bf16(bitsf(0x00000001)), 0x0000);
    assert_int_equal(gl_f32_to_bf16(bitsf(0x00008001)), 0x0001);
    assert_int_equal(gl_f32_to_bf16(bitsf(0x7f800001)), 0x7fc0);
    assert_int_equal(gl_f32_to_bf16(bitsf(0xffc00001)), 0xffc0);
}

static void arrays_match_scalar(void **s) {
    (void)s;
    enum { N = 1000 };
    float src[N], back[N];
    uint16_t h[N];
    tu_rng r;
    tu_seed(&r, 7);
    tu_fill(&r, src, N, 100.0);
    src[0] = NAN;
    src[1] = -INFINITY;
    src[2] = 1e-7f;
    gl_f32_to_f16_array(h, src, N);
    gl_f16_to_f32_array(back, h, N);
    for (int i = 0; i < N; i++) {
        assert_int_equal(h[i], gl_f32_to_f16(src[i]));
        assert_int_equal(fbits(back[i]), fbits(gl_f16_to_f32(h[i])));
    }
    gl_f32_to_bf16_array(h, src, N);
    gl_bf16_to_f32_array(back, h, N);
    for (int i = 0; i < N; i++) {
        assert_int_equal(h[i], gl_f32_to_bf16(src[i]));
        assert_int_equal(fbits(back[i]), fbits(gl_bf16_to_f32(h[i])));
    }
    gl_f32_to_f16_array(h, src, 0); /* n = 0: nothing touched */
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(f16_roundtrip_exhaustive),
    cmocka_unit_test(bf16_roundtrip_exhaustive),
    cmocka_unit_test(f16_rounding_matches_reference),
    cmocka_unit_test(bf16_rounding_matches_reference),
    cmocka_unit_test(arrays_match_scalar),
};
TU_MAIN("half", tests)
