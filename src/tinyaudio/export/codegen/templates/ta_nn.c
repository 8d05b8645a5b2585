/* tinyaudio int8 kernels; see ta_nn.h for what they match and where the arithmetic comes from. */
#include "ta_nn.h"

#include <string.h>

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#include <arm_acle.h>
#define TA_DSP 1
#else
#define TA_DSP 0
#endif

#define TA_MIN(a, b) ((a) < (b) ? (a) : (b))
/* Stack bytes CONV_2D may use for an im2col patch when the generator gave it none in the arena
 * (tinyaudio.export.mcu.cost.STACK_PATCH_BYTES prices the same rule). */
#ifndef TA_STACK_PATCH_BYTES
#define TA_STACK_PATCH_BYTES 128
#endif
#if defined(__GNUC__)
#define TA_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define TA_ALWAYS_INLINE inline
#endif
#define TA_MAX(a, b) ((a) > (b) ? (a) : (b))

/* ---- gemmlowp fixed-point primitives (int32 raw values) -------------------------------------- */

/* round(a * b / 2^31), ties away from zero; -1 * -1 saturates (ARM VQRDMULH). */
static int32_t srdhm(int32_t a, int32_t b)
{
    if (a == b && a == INT32_MIN) {
        return INT32_MAX;
    }
#if TA_NO_LONG_MULTIPLY
    /* The 64-bit product hi:lo from 16-bit halves: a = ah 2^16 + al, b = bh 2^16 + bl (al, bl
     * unsigned); each partial product fits 32 bits. Carries are added by hand (`lo < add`): a
     * helper for the 64-bit add measured 2 % slower here on the Cortex-M0+. */
    const int32_t ah = a >> 16, bh = b >> 16;
    const uint32_t al = (uint32_t)a & 0xFFFFu, bl = (uint32_t)b & 0xFFFFu;
    const int32_t cross1 = ah * (int32_t)bl, cross2 = (int32_t)al * bh; /* |.| < 2^31 */
    int32_t hi = ah * bh + (cross1 >> 16) + (cross2 >> 16);
    uint32_t lo = al * bl;
    uint32_t add = (uint32_t)cross1 << 16;
    lo += add;
    hi += lo < add;
    add = (uint32_t)cross2 << 16;
    lo += add;
    hi += lo < add;
    /* + nudge: 2^30 for ab >= 0, 1 - 2^30 otherwise */
    add = hi >= 0 ? (1u << 30) : (uint32_t)(1 - (1 << 30));
    const int32_t add_hi = hi >= 0 ? 0 : -1;
    lo += add;
    hi += add_hi + (lo < add);
    /* / 2^31 truncating toward zero: a negative sum rounds up (adds 2^31 - 1 first) */
    if (hi < 0) {
        add = 0x7FFFFFFFu;
        lo += add;
        hi += lo < add;
    }
    return (int32_t)(((uint32_t)hi << 1) | (lo >> 31));
#else
    const int64_t ab = (int64_t)a * (int64_t)b;
    const int64_t nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31)); /* C division truncates, as C++ */
#endif
}

/* x / 2^exponent rounded to nearest, ties away from zero (arithmetic shift on this compiler). */
static inline int32_t rounding_divide_by_pot(int32_t x, int exponent)
{
    const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* x * 2^exponent, saturating, exponent > 0. */
static int32_t saturating_shift_left(int32_t x, int exponent)
{
    const int32_t threshold = (int32_t)((1u << (31 - exponent)) - 1u);
    if (x > threshold) {
        return INT32_MAX;
    }
    if (x < -threshold) {
        return INT32_MIN;
    }
    return (int32_t)((uint32_t)x << exponent);
}

static int32_t rounding_half_sum(int32_t a, int32_t b)
{
    const int64_t sum = (int64_t)a + (int64_t)b;
    return (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
}

static int count_leading_zeros(uint32_t x)
{
    int n = 0;
    if (x == 0) {
        return 32;
    }
    while (!(x & 0x80000000u)) {
        x <<= 1;
        ++n;
    }
    return n;
}

/* exp(a) for a in [-1/4, 0), Q0.31 in and out: Taylor expansion around -1/8. */
static int32_t exp_on_interval_between_negative_one_quarter_and_0_excl(int32_t a)
{
    const int32_t constant_term = 1895147668; /* exp(-1/8) */
    const int32_t constant_1_over_3 = 715827883;
    const int32_t x = a + (1 << 28);
    const int32_t x2 = srdhm(x, x);
    const int32_t x3 = srdhm(x2, x);
    const int32_t x4 = srdhm(x2, x2);
    const int32_t x4_over_4 = rounding_divide_by_pot(x4, 2);
    const int32_t poly = rounding_divide_by_pot(srdhm(x4_over_4 + x3, constant_1_over_3) + x2, 1);
    return constant_term + srdhm(constant_term, x + poly);
}

/* exp(a) for a <= 0 given with `integer_bits` integer bits; result Q0.31. */
static int32_t exp_on_negative_values(int32_t a, int integer_bits)
{
    static const int32_t multipliers[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
    const int fractional_bits = 31 - integer_bits;
    const int32_t one_quarter = (int32_t)1 << (fractional_bits - 2);
    const int32_t a_mod_quarter_minus_one_quarter = (a & (one_quarter - 1)) - one_quarter;
    int32_t result = exp_on_interval_between_negative_one_quarter_and_0_excl(
        saturating_shift_left(a_mod_quarter_minus_one_quarter, integer_bits));
    const int32_t remainder = a_mod_quarter_minus_one_quarter - a;
    for (int exponent = -2; exponent <= 4; ++exponent) {
        if (integer_bits > exponent && (remainder & ((int32_t)1 << (fractional_bits + exponent)))) {
            result = srdhm(result, multipliers[exponent + 2]);
        }
    }
    if (integer_bits > 5 && a < -((int32_t)1 << (36 - integer_bits))) {
        result = 0; /* below -32 */
    }
    return a == 0 ? INT32_MAX : result;
}

/* 1 / (1 + a) for a in [0, 1), Q0.31: three Newton-Raphson steps from 48/17 - 32/17 d. */
static int32_t one_over_one_plus_x_for_x_in_0_1(int32_t a)
{
    const int32_t half_denominator = rounding_half_sum(a, INT32_MAX);
    const int32_t constant_48_over_17 = 1515870810;     /* Q2.29 */
    const int32_t constant_neg_32_over_17 = -1010580540; /* Q2.29 */
    int32_t x = constant_48_over_17 + srdhm(half_denominator, constant_neg_32_over_17);
    for (int i = 0; i < 3; ++i) {
        const int32_t half_denominator_times_x = srdhm(half_denominator, x);
        const int32_t one_minus_half_denominator_times_x = ((int32_t)1 << 29) - half_denominator_times_x;
        x = x + saturating_shift_left(srdhm(x, one_minus_half_denominator_times_x), 2);
    }
    return saturating_shift_left(x, 1);
}

/* ---- requantization ---------------------------------------------------------------------------- */

int32_t ta_multiply_by_quantized_multiplier(int32_t x, int32_t multiplier, int shift)
{
#if TA_SINGLE_ROUNDING
    const int total_shift = 31 - shift;
    const int64_t round = (int64_t)1 << (total_shift - 1);
    return (int32_t)(((int64_t)x * (int64_t)multiplier + round) >> total_shift);
#else
    const int left_shift = shift > 0 ? shift : 0;
    const int right_shift = shift > 0 ? 0 : -shift;
    return rounding_divide_by_pot(srdhm((int32_t)((uint32_t)x << left_shift), multiplier), right_shift);
#endif
}

static int32_t multiply_by_quantized_multiplier_greater_than_one(int32_t x, int32_t multiplier, int left_shift)
{
#if TA_SINGLE_ROUNDING
    return ta_multiply_by_quantized_multiplier(x, multiplier, left_shift);
#else
    return srdhm((int32_t)((uint32_t)x << left_shift), multiplier);
#endif
}

/* x clamped to [lo, hi], written so that GCC selects (IT / conditional moves) rather than branches */
static inline int8_t clamp_s8(int32_t x, int32_t lo, int32_t hi)
{
    x = x < lo ? lo : x;
    x = x > hi ? hi : x;
    return (int8_t)x;
}

/* Taps [*start, *end) of a window of `filter_size` starting at input index `origin` (negative in the
 * padding) that fall inside an input of `input_size`: the only taps a kernel visits (dilation 1). */
static inline void valid_taps(int origin, int filter_size, int input_size, int *start, int *end)
{
    *start = TA_MAX(0, -origin);
    *end = TA_MIN(filter_size, input_size - origin);
}

/* ---- convolutions ---------------------------------------------------------------------------- */

static void conv2d_reference(const ta_conv_params_t *p, const int8_t *input, const int8_t *filter, const int32_t *bias,
                             int8_t *output)
{
    for (int out_y = 0; out_y < p->out_h; ++out_y) {
        const int in_y_origin = out_y * p->stride_h - p->pad_h;
        for (int out_x = 0; out_x < p->out_w; ++out_x) {
            const int in_x_origin = out_x * p->stride_w - p->pad_w;
            for (int oc = 0; oc < p->out_c; ++oc) {
                int32_t acc = 0;
                for (int fy = 0; fy < p->filter_h; ++fy) {
                    const int in_y = in_y_origin + p->dilation_h * fy;
                    if (in_y < 0 || in_y >= p->in_h) {
                        continue;
                    }
                    for (int fx = 0; fx < p->filter_w; ++fx) {
                        const int in_x = in_x_origin + p->dilation_w * fx;
                        if (in_x < 0 || in_x >= p->in_w) {
                            continue;
                        }
                        const int8_t *in = input + (in_y * p->in_w + in_x) * p->in_c;
                        const int8_t *f = filter + ((oc * p->filter_h + fy) * p->filter_w + fx) * p->in_c;
                        for (int ic = 0; ic < p->in_c; ++ic) {
                            acc += (int32_t)f[ic] * ((int32_t)in[ic] + p->input_offset);
                        }
                    }
                }
                if (bias) {
                    acc += bias[oc];
                }
                acc = ta_multiply_by_quantized_multiplier(acc, p->multiplier[oc], p->shift[oc]);
                output[(out_y * p->out_w + out_x) * p->out_c + oc] =
                    clamp_s8(acc + p->output_offset, p->act_min, p->act_max);
            }
        }
    }
}

static void depthwise_conv2d_reference(const ta_conv_params_t *p, const int8_t *input, const int8_t *filter,
                                       const int32_t *bias, int8_t *output)
{
    for (int out_y = 0; out_y < p->out_h; ++out_y) {
        const int in_y_origin = out_y * p->stride_h - p->pad_h;
        for (int out_x = 0; out_x < p->out_w; ++out_x) {
            const int in_x_origin = out_x * p->stride_w - p->pad_w;
            for (int ic = 0; ic < p->in_c; ++ic) {
                for (int m = 0; m < p->depth_multiplier; ++m) {
                    const int oc = m + ic * p->depth_multiplier;
                    int32_t acc = 0;
                    for (int fy = 0; fy < p->filter_h; ++fy) {
                        const int in_y = in_y_origin + p->dilation_h * fy;
                        if (in_y < 0 || in_y >= p->in_h) {
                            continue;
                        }
                        for (int fx = 0; fx < p->filter_w; ++fx) {
                            const int in_x = in_x_origin + p->dilation_w * fx;
                            if (in_x < 0 || in_x >= p->in_w) {
                                continue;
                            }
                            const int32_t in = input[(in_y * p->in_w + in_x) * p->in_c + ic];
                            const int32_t f = filter[(fy * p->filter_w + fx) * p->out_c + oc];
                            acc += f * (in + p->input_offset);
                        }
                    }
                    if (bias) {
                        acc += bias[oc];
                    }
                    acc = ta_multiply_by_quantized_multiplier(acc, p->multiplier[oc], p->shift[oc]);
                    output[(out_y * p->out_w + out_x) * p->out_c + oc] =
                        clamp_s8(acc + p->output_offset, p->act_min, p->act_max);
                }
            }
        }
    }
}

static void fully_connected_reference(const ta_fc_params_t *p, const int8_t *input, const int8_t *filter,
                                      const int32_t *bias, int8_t *output)
{
    for (int oc = 0; oc < p->out_c; ++oc) {
        const int8_t *f = filter + oc * p->accum_depth;
        int32_t acc = 0;
        for (int d = 0; d < p->accum_depth; ++d) {
            acc += ((int32_t)f[d] + p->filter_offset) * ((int32_t)input[d] + p->input_offset);
        }
        if (bias) {
            acc += bias[oc];
        }
        const int k = p->per_channel ? oc : 0;
        acc = ta_multiply_by_quantized_multiplier(acc, p->multiplier[k], p->shift[k]);
        output[oc] = clamp_s8(acc + p->output_offset, p->act_min, p->act_max);
    }
}

/* ---- fast paths: folded offsets, filters pre-expanded at export, four channels per pass -------- */

/* The sums of four output channels (a struct passed by value stays in registers). */
typedef struct {
    int32_t a0, a1, a2, a3;
} acc4_t;

/* srdhm(a, b) for b >= 0, as every requantization multiplier is (a Q31 value in [2^30, 2^31)): no
 * saturating case, and TFLite's nudge-then-truncate equals floor((a b + 2^30) / 2^31) for either sign
 * of a b (a negative sum truncated toward zero is the floor of the sum plus 2^31 - 1). */
static inline int32_t srdhm_nonnegative(int32_t a, int32_t b)
{
#if TA_NO_LONG_MULTIPLY
    /* a = ah 2^16 + al, b = bh 2^16 + bl (al, bl unsigned 16 bits, bh < 2^15): the floor taken in two
     * steps, (al bl + 2^30) / 2^16 then / 2^15, keeps every partial sum within 32 bits. */
    const int32_t ah = a >> 16, bh = b >> 16;
    const uint32_t al = (uint32_t)a & 0xFFFFu, bl = (uint32_t)b & 0xFFFFu;
    const int32_t u = ah * (int32_t)bl;                               /* |u| < 2^31 */
    const uint32_t v = al * (uint32_t)bh + ((al * bl) >> 16) + (1u << 14); /* < 2^31 + 2^17 */
    const uint32_t carry = (((uint32_t)u & 0x7FFFu) + (v & 0x7FFFu)) >> 15;
    return (int32_t)((uint32_t)(2 * ah * bh) + (uint32_t)(u >> 15) + (v >> 15) + carry);
#else
    return (int32_t)(((int64_t)a * b + (1 << 30)) >> 31);
#endif
}

/* TFLite's MultiplyByQuantizedMultiplier for a non-negative multiplier, inlined: one path for either
 * sign of the shift (a right shift of 0 leaves the value as it is). */
static inline int32_t multiply_by_nonnegative_multiplier(int32_t acc, int32_t multiplier, int shift)
{
#if TA_SINGLE_ROUNDING
    return ta_multiply_by_quantized_multiplier(acc, multiplier, shift);
#else
    const int left = shift > 0 ? shift : 0;
    return rounding_divide_by_pot(srdhm_nonnegative((int32_t)((uint32_t)acc << left), multiplier), left - shift);
#endif
}

/* The output value of an accumulator: requantized, plus the output zero point, clamped to the fused
 * activation's range. */
static inline int8_t requantize(int32_t acc, int32_t multiplier, int shift, int32_t output_offset, int32_t lo, int32_t hi)
{
    return clamp_s8(multiply_by_nonnegative_multiplier(acc, multiplier, shift) + output_offset, lo, hi);
}

/* requantize() with a ta_requant_t: |acc| < 2^30, so 2 acc fits int32 and SMMULR (x m + 2^31) / 2^32
 * rounded down is SaturatingRoundingDoublingHighMul(acc, m); its result v has |v| < 2^30, so
 * RoundingDivideByPOT by r >= 1 is (v + 2^(r - 1) - [v < 0]) >> r without overflow (halves away
 * from zero, as TFLite's remainder-and-threshold form). */
static inline int8_t requantize_with(int32_t acc, const ta_requant_t *q, int32_t output_offset, int32_t lo, int32_t hi)
{
#if TA_SINGLE_ROUNDING
    return requantize(acc, q->multiplier, -q->right_shift, output_offset, lo, hi);
#else
    int32_t v;
#if TA_NO_LONG_MULTIPLY
    v = srdhm_nonnegative(acc, q->multiplier);
#elif TA_DSP && defined(__GNUC__)
    __asm__("smmulr %0, %1, %2" : "=r"(v) : "r"(acc * 2), "r"(q->multiplier));
#else
    v = (int32_t)(((int64_t)acc * 2 * q->multiplier + ((int64_t)1 << 31)) >> 32);
#endif
    return clamp_s8(((v + q->rounding + (v >> 31)) >> q->right_shift) + output_offset, lo, hi);
#endif
}

/* Output channel c's value: with its ta_requant_t when the generator gave them, else requantize(). */
static inline int8_t requantize_channel(int32_t acc, const ta_requant_t *requant, const int32_t *multiplier,
                                        const int8_t *shift, int c, int32_t output_offset, int32_t lo, int32_t hi)
{
    return requant ? requantize_with(acc, requant + c, output_offset, lo, hi)
                   : requantize(acc, multiplier[c], shift[c], output_offset, lo, hi);
}

/* Weight of tap k of channel j (< 4) of a block of `filter_words` (the block's first word): for the
 * few taps after the last full step of the layout. */
static int32_t block_tap(const int32_t *w, int layout, int j, int k)
{
    if (layout == TA_FILTER_Q15_QUADS) {
        const int32_t word = w[(k >> 2) * 8 + j * 2 + (k & 1)];
        return (k & 2) ? word >> 16 : (int16_t)word;
    }
    const int32_t word = w[(k >> 1) * 4 + (j >> 1) * 2 + (k & 1)]; /* TA_FILTER_LANE_PAIRS: w_0 + 2^16 w_1 */
    const int32_t low = (int16_t)word;
    return (j & 1) ? (word - low) >> 16 : low;
}

/* acc[j] += channel j's weight k (block_tap) times x, j < 4: one tap off the layout's steps. */
static inline acc4_t add_tap(acc4_t acc, const int32_t *w, int layout, int k, int32_t x)
{
    acc.a0 += block_tap(w, layout, 0, k) * x;
    acc.a1 += block_tap(w, layout, 1, k) * x;
    acc.a2 += block_tap(w, layout, 2, k) * x;
    acc.a3 += block_tap(w, layout, 3, k) * x;
    return acc;
}

#if TA_DSP
static inline int32_t load_s8x4(const int8_t *p)
{
    int32_t v;
    memcpy(&v, p, 4); /* one (unaligned) LDR on ARMv7E-M */
    return v;
}

/* Bytes 1 and 3 of v sign-extended to two int16 (SXTB16 of v rotated by 8: one instruction, which
 * GCC 12 does not form from the intrinsics). */
static inline int32_t sxtb16_ror8(int32_t v)
{
#if defined(__GNUC__)
    int32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
#else
    return __sxtb16((int32_t)(((uint32_t)v >> 8) | ((uint32_t)v << 24)));
#endif
}
#endif

/* acc[j] += sum over k < 4 * groups of w_j[k] x[k], j < 4, from TA_FILTER_Q15_QUADS words: per group
 * of four taps and channel j, (w_j[0], w_j[2]) and (w_j[1], w_j[3]) as int16 pairs, so that the
 * input's two sign-extended byte pairs (SXTB16) meet them in two SMLAD dual multiply-accumulates. */
static inline acc4_t dot_quads(const int8_t *x, const int32_t *w, int groups, acc4_t acc)
{
    int32_t a0 = acc.a0, a1 = acc.a1, a2 = acc.a2, a3 = acc.a3;
#if TA_DSP && defined(__GNUC__) && defined(__OPTIMIZE__) /* at -O0 r7 is the frame pointer */
    /* By hand: one LDM for each four weight words (GCC 12 gives eight LDRs and a separate ROR), 26
     * cycles per four taps of four channels against 33. */
    if (groups > 0) {
        const int8_t *end = x + 4 * groups;
        register int32_t w0 __asm__("r4"), w1 __asm__("r5"), w2 __asm__("r6"), w3 __asm__("r7");
        int32_t xv, x02, x13;
        __asm volatile(
            "1:\n\t"
            "ldr     %[xv], [%[x]], #4\n\t"
            "sxtb16  %[x02], %[xv]\n\t"
            "sxtb16  %[x13], %[xv], ror #8\n\t"
            "ldmia   %[w]!, {r4, r5, r6, r7}\n\t"
            "smlad   %[a0], r4, %[x02], %[a0]\n\t"
            "smlad   %[a0], r5, %[x13], %[a0]\n\t"
            "smlad   %[a1], r6, %[x02], %[a1]\n\t"
            "smlad   %[a1], r7, %[x13], %[a1]\n\t"
            "ldmia   %[w]!, {r4, r5, r6, r7}\n\t"
            "smlad   %[a2], r4, %[x02], %[a2]\n\t"
            "smlad   %[a2], r5, %[x13], %[a2]\n\t"
            "smlad   %[a3], r6, %[x02], %[a3]\n\t"
            "smlad   %[a3], r7, %[x13], %[a3]\n\t"
            "cmp     %[x], %[end]\n\t"
            "bne     1b\n\t"
            : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "+r"(x), [w] "+r"(w), [xv] "=&r"(xv),
              [x02] "=&r"(x02), [x13] "=&r"(x13), "=&r"(w0), "=&r"(w1), "=&r"(w2), "=&r"(w3)
            : [end] "r"(end)
            : "cc", "memory");
    }
#else
    for (const int8_t *end = x + 4 * groups; x < end; x += 4, w += 8) {
#if TA_DSP
        const int32_t xv = load_s8x4(x);
        const int32_t x02 = __sxtb16(xv), x13 = sxtb16_ror8(xv);
        a0 = __smlad(w[0], x02, a0);
        a0 = __smlad(w[1], x13, a0);
        a1 = __smlad(w[2], x02, a1);
        a1 = __smlad(w[3], x13, a1);
        a2 = __smlad(w[4], x02, a2);
        a2 = __smlad(w[5], x13, a2);
        a3 = __smlad(w[6], x02, a3);
        a3 = __smlad(w[7], x13, a3);
#else
        const int32_t x0 = x[0], x1 = x[1], x2 = x[2], x3 = x[3];
        a0 += (int16_t)w[0] * x0 + (w[0] >> 16) * x2 + (int16_t)w[1] * x1 + (w[1] >> 16) * x3;
        a1 += (int16_t)w[2] * x0 + (w[2] >> 16) * x2 + (int16_t)w[3] * x1 + (w[3] >> 16) * x3;
        a2 += (int16_t)w[4] * x0 + (w[4] >> 16) * x2 + (int16_t)w[5] * x1 + (w[5] >> 16) * x3;
        a3 += (int16_t)w[6] * x0 + (w[6] >> 16) * x2 + (int16_t)w[7] * x1 + (w[7] >> 16) * x3;
#endif
    }
#endif
    return (acc4_t){a0, a1, a2, a3};
}

/* One word pair of a lane-pair step: two channels' words for taps x0 (r3) and x1 (r4), their sum t
 * split as t + 2^15 into the low-lane sum `low` and its high lane into `high`. */
#define TA_LANE_CHANNEL_PAIR(high, low)                                                                \
    "ldmia r2!, {r5, r6}\n\t"                                                                           \
    "muls  r5, r3\n\t"                                                                                  \
    "muls  r6, r4\n\t"                                                                                  \
    "adds  r5, r6\n\t"                                                                                  \
    "add   r5, r12\n\t"                                                                                 \
    "asrs  r6, r5, #16\n\t"                                                                             \
    "add   " high ", r6\n\t"                                                                            \
    "add   " low ", r5\n\t"
/* Two taps of four channels (dot_lane_pairs): x[r1], x[r1 + 1] times LDM'd word pairs, channels
 * (0, 1) into r8 / r9, (2, 3) into r10 / r11. */
#define TA_LANE_PAIR_STEP                                                                              \
    "ldrsb r3, [r0, r1]\n\t"                                                                            \
    "adds  r1, #1\n\t"                                                                                  \
    "ldrsb r4, [r0, r1]\n\t" TA_LANE_CHANNEL_PAIR("r9", "r8") TA_LANE_CHANNEL_PAIR("r11", "r10")        \
    "adds  r1, #1\n\t"
/* The next row (lr: the last row's end), back to `label` while rows are left. */
#define TA_LANE_NEXT_ROW(label)                                                                        \
    "ldr   r3, [r7, #0]\n\t"                                                                            \
    "add   r0, r3\n\t"                                                                                  \
    "ldr   r1, [r7, #4]\n\t"                                                                            \
    "cmp   r0, lr\n\t"                                                                                  \
    "bne   " label "\n\t"

/* Channel c's accumulator into the running maxima of a fused MAX_POOL_2D window. */
static TA_ALWAYS_INLINE void keep_max(int32_t *best, int c, int32_t acc)
{
    best[c] = acc > best[c] ? acc : best[c];
}

#if defined(__ARM_ARCH_6M__) && defined(__GNUC__) && defined(__OPTIMIZE__) /* at -O0 r7 is the frame pointer */
/* dot_lane_pairs for `blocks` blocks of `stride` bytes of words from w, into sums[4 b + j] (the low
 * lanes recovered), or with `bias` (NULL: none) the sums plus bias[4 b + j] kept in sums where larger
 * (a fused pool's running maxima): one assembly loop over the blocks, so a block's set-up and its
 * four sums' store cost about 40 cycles. */
static TA_ALWAYS_INLINE void lane_pairs_blocks(const int8_t *x, int x_row, int rows, const int32_t *w, int pairs, int stride,
                                               int blocks, const int32_t *bias, int32_t *sums)
{
    /* r7 points at {x_row, -2 pairs, pairs odd, last row's end, first row's end, block's words, stride,
     * sums, blocks left, -(2^15 rows pairs), bias}: the low-lane sums start at minus the 2^15 every pair
     * adds; lr holds the last row's end */
    const int8_t *x_end = x + 2 * pairs;
    int32_t control[11] = {x_row, -2 * pairs, pairs & 1, (int32_t)(intptr_t)(x_end + rows * x_row), (int32_t)(intptr_t)x_end,
                           (int32_t)(intptr_t)w,
                           stride, (int32_t)(intptr_t)sums, blocks, (int32_t)(0u - ((uint32_t)(rows * pairs) << 15)),
                           (int32_t)(intptr_t)bias};
    register int32_t r0 __asm__("r0"), r1 __asm__("r1"), r2 __asm__("r2"), r3 __asm__("r3"), r4 __asm__("r4");
    register int32_t r5 __asm__("r5"), r6 __asm__("r6"), r8 __asm__("r8"), r9 __asm__("r9"), r10 __asm__("r10");
    register int32_t r11 __asm__("r11");
    register int32_t *ctl __asm__("r7") = control;
    register uint32_t half __asm__("r12") = 0x8000u;
    __asm volatile(
        ".syntax unified\n"
        "0:\n\t" /* a block: sums reset, its words, the first row */
        "ldr   r3, [r7, #36]\n\t"
        "mov   r8, r3\n\t"
        "mov   r10, r3\n\t"
        "movs  r3, #0\n\t"
        "mov   r9, r3\n\t"
        "mov   r11, r3\n\t"
        "ldr   r3, [r7, #12]\n\t"
        "mov   lr, r3\n\t"
        "ldr   r0, [r7, #16]\n\t"
        "ldr   r1, [r7, #4]\n\t"
        "ldr   r2, [r7, #20]\n\t"
        "ldr   r3, [r7, #8]\n\t" /* an even number of pairs: two per loop, one branch */
        "cmp   r3, #0\n\t"
        "bne   2f\n"
        "1:\n\t" TA_LANE_PAIR_STEP TA_LANE_PAIR_STEP
        "bne   1b\n\t" TA_LANE_NEXT_ROW("1b")
        "b     8f\n"
        "2:\n\t" TA_LANE_PAIR_STEP
        "bne   2b\n\t" TA_LANE_NEXT_ROW("2b")
        "8:\n\t"
        "mov   r4, r9\n\t" /* the block's sums: low lane = s0 - 2^16 s1 */
        "lsls  r1, r4, #16\n\t"
        "mov   r3, r8\n\t"
        "subs  r3, r1\n\t"
        "mov   r6, r11\n\t"
        "lsls  r1, r6, #16\n\t"
        "mov   r5, r10\n\t"
        "subs  r5, r1\n\t"
        "ldr   r0, [r7, #40]\n\t"
        "cmp   r0, #0\n\t"
        "beq   3f\n\t"
        "ldmia r0!, {r1, r2}\n\t" /* a fused pool: plus the bias, the larger of that and the maximum so far */
        "adds  r3, r1\n\t"
        "adds  r4, r2\n\t"
        "ldmia r0!, {r1, r2}\n\t"
        "adds  r5, r1\n\t"
        "adds  r6, r2\n\t"
        "str   r0, [r7, #40]\n\t"
        "ldr   r0, [r7, #28]\n\t"
        "ldmia r0!, {r1, r2}\n\t"
        "cmp   r3, r1\n\t"
        "bge   4f\n\t"
        "mov   r3, r1\n"
        "4:\n\t"
        "cmp   r4, r2\n\t"
        "bge   5f\n\t"
        "mov   r4, r2\n"
        "5:\n\t"
        "ldmia r0!, {r1, r2}\n\t"
        "cmp   r5, r1\n\t"
        "bge   6f\n\t"
        "mov   r5, r1\n"
        "6:\n\t"
        "cmp   r6, r2\n\t"
        "bge   3f\n\t"
        "mov   r6, r2\n"
        "3:\n\t"
        "ldr   r0, [r7, #28]\n\t"
        "stmia r0!, {r3, r4, r5, r6}\n\t"
        "str   r0, [r7, #28]\n\t"
        "ldr   r2, [r7, #20]\n\t" /* the next block */
        "ldr   r3, [r7, #24]\n\t"
        "adds  r2, r3\n\t"
        "str   r2, [r7, #20]\n\t"
        "ldr   r3, [r7, #32]\n\t"
        "subs  r3, #1\n\t"
        "str   r3, [r7, #32]\n\t"
        "beq   9f\n\t"
        "b     0b\n" /* (a conditional branch reaches 256 bytes back) */
        "9:\n\t"
        ".syntax divided\n"
        : "=&r"(r0), "=&r"(r1), "=&r"(r2), "=&r"(r3), "=&r"(r4), "=&r"(r5), "=&r"(r6), "=&r"(r8), "=&r"(r9),
          "=&r"(r10), "=&r"(r11)
        : "r"(ctl), "r"(half)
        : "cc", "memory", "lr");
}
#endif

/* acc[j] += sum over r < rows, k < 2 * pairs of w_j[r][k] x[r * x_row + k], j < 4, from
 * TA_FILTER_LANE_PAIRS words: per tap, channels (0, 1) as the one int32 w_0 + 2^16 w_1, and (2, 3)
 * alike, so one 32-bit multiply by an input gives two products (a SIMD-within-a-register MAC for
 * cores without SMLAD). Two taps' sum t has a low lane within +-2^15 (the generator refuses the lane
 * layout for a weight of -128), so t + 2^15 has that lane in [0, 2^16): its arithmetic shift by 16
 * is the high lane exactly, and the low lanes come out at the end from the sum of every t + 2^15. */
static TA_ALWAYS_INLINE acc4_t dot_lane_pairs(const int8_t *x, int x_row, int rows, const int32_t *w, int pairs,
                                              acc4_t acc)
{
    if (rows <= 0 || pairs <= 0) {
        return acc;
    }
#if defined(__ARM_ARCH_6M__) && defined(__GNUC__) && defined(__OPTIMIZE__) /* at -O0 r7 is the frame pointer */
    int32_t sums[4]; /* ARMv6-M by hand: lane_pairs_blocks */
    lane_pairs_blocks(x, x_row, rows, w, pairs, 0, 1, NULL, sums);
    acc.a0 += sums[0];
    acc.a1 += sums[1];
    acc.a2 += sums[2];
    acc.a3 += sums[3];
#else
    uint32_t s0 = 0, s2 = 0; /* sums of t + 2^15: the low lane, 2^16 x the high lane, and 2^15 */
    int32_t s1 = 0, s3 = 0;  /* sums of the high lanes */
    for (int r = 0; r < rows; ++r, x += x_row) {
        for (int k = 0; k < 2 * pairs; k += 2, w += 4) {
            const int32_t x0 = x[k], x1 = x[k + 1];
            int32_t t = w[0] * x0 + w[1] * x1 + 0x8000;
            s0 += (uint32_t)t;
            s1 += t >> 16;
            t = w[2] * x0 + w[3] * x1 + 0x8000;
            s2 += (uint32_t)t;
            s3 += t >> 16;
        }
    }
    const uint32_t halves = (uint32_t)(rows * pairs) << 15;
    acc.a0 += (int32_t)(s0 - ((uint32_t)s1 << 16) - halves);
    acc.a1 += s1;
    acc.a2 += (int32_t)(s2 - ((uint32_t)s3 << 16) - halves);
    acc.a3 += s3;
#endif
    return acc;
}

/* acc[j] += sum over k < taps of channel j's weight k times x[k], j < 4, for one block of
 * `filter_words` in `layout` (taps rounded up to the layout's step inside the words); the taps are
 * `rows` runs of `run` inputs, `x_row` bytes apart (run a whole number of steps when rows > 1). */
static TA_ALWAYS_INLINE acc4_t dot_block(const int8_t *x, int x_row, int rows, int run, const int32_t *w, int layout,
                                         acc4_t acc)
{
    int full;
    if (layout == TA_FILTER_Q15_QUADS) {
        full = run & ~3;
        if (rows == 1) {
            acc = dot_quads(x, w, full >> 2, acc);
            x += x_row;
            w += 2 * full;
        } else {
            for (int r = 0; r < rows; ++r, x += x_row, w += 2 * full) {
                acc = dot_quads(x, w, full >> 2, acc);
            }
        }
    } else {
        full = run & ~1;
        acc = dot_lane_pairs(x, x_row, rows, w, full >> 1, acc);
        x += rows * x_row;
        w += rows * 2 * full;
    }
    if (full < run) { /* the last few taps of a single run */
        x -= x_row;
        w -= 2 * full;
        for (int k = full; k < run; ++k) {
            acc = add_tap(acc, w, layout, k, x[k]);
        }
    }
    return acc;
}


/* sums[4 b + j] = sum over the window's taps (as dot_block reads them) of channel j of block b's
 * weights times the inputs, for b < blocks, block b's words at w + b * words; with `bias` (not NULL),
 * that sum plus bias[4 b + j] where it is larger than sums[4 b + j] (a fused pool's maxima). */
static TA_ALWAYS_INLINE void block_sums(const int8_t *x, int x_row, int rows, int run, const int32_t *w, int words,
                                        int blocks, int layout, const int32_t *bias, int32_t *sums)
{
#if defined(__ARM_ARCH_6M__) && defined(__GNUC__) && defined(__OPTIMIZE__)
    const int full = run & ~1;
    if (layout == TA_FILTER_LANE_PAIRS && rows > 0 && full > 0 && !(bias && full < run)) {
        lane_pairs_blocks(x, x_row, rows, w, full >> 1, 4 * words, blocks, bias, sums);
        if (full < run) { /* the last tap of a single run (rows is 1: runs of several rows are whole pairs) */
            for (int b = 0; b < blocks; ++b, sums += 4) {
                const acc4_t acc = add_tap((acc4_t){sums[0], sums[1], sums[2], sums[3]}, w + b * words, layout, full,
                                           x[full]);
                sums[0] = acc.a0;
                sums[1] = acc.a1;
                sums[2] = acc.a2;
                sums[3] = acc.a3;
            }
        }
        return;
    }
#endif
    for (int b = 0; b < blocks; ++b, w += words, sums += 4) {
        const acc4_t acc = dot_block(x, x_row, rows, run, w, layout, (acc4_t){0, 0, 0, 0});
        if (bias) {
            keep_max(sums, 0, acc.a0 + bias[4 * b]);
            keep_max(sums, 1, acc.a1 + bias[4 * b + 1]);
            keep_max(sums, 2, acc.a2 + bias[4 * b + 2]);
            keep_max(sums, 3, acc.a3 + bias[4 * b + 3]);
        } else {
            sums[0] = acc.a0;
            sums[1] = acc.a1;
            sums[2] = acc.a2;
            sums[3] = acc.a3;
        }
    }
}

/* acc[j] += sum over i < n of channel j's weight k0 + i times x[i]: a run of taps that may start and
 * end off the layout's steps (the few taps there one by one, the rest by dot_quads / lane pairs). */
static acc4_t dot_taps_range(const int8_t *x, int k0, int n, const int32_t *w, int layout, acc4_t acc)
{
    const int quads = layout == TA_FILTER_Q15_QUADS, step = quads ? 4 : 2;
    for (; n > 0 && (k0 & (step - 1)); ++x, ++k0, --n) {
        acc = add_tap(acc, w, layout, k0, *x);
    }
    const int full = n & -step;
    acc = quads ? dot_quads(x, w + (k0 >> 2) * 8, full >> 2, acc) : dot_lane_pairs(x, 0, 1, w + (k0 >> 1) * 4, full >> 1, acc);
    for (int i = full; i < n; ++i) {
        acc = add_tap(acc, w, layout, k0 + i, x[i]);
    }
    return acc;
}

/* The valid taps of output window (iy0, ix0) read in place, row by row (each row's valid columns
 * are one run of the input): for windows the kernel would otherwise copy, when the generator gave
 * no patch (one would have made the arena larger). */
static acc4_t dot_window_taps(const ta_conv_params_t *p, const int8_t *input, int iy0, int ix0, const int32_t *w,
                              acc4_t acc)
{
    const int in_c = p->in_c, row = p->filter_w * in_c;
    int fy0, fy1, fx0, fx1;
    valid_taps(iy0, p->filter_h, p->in_h, &fy0, &fy1);
    valid_taps(ix0, p->filter_w, p->in_w, &fx0, &fx1);
    for (int fy = fy0; fy < fy1; ++fy) {
        acc = dot_taps_range(input + ((iy0 + fy) * p->in_w + ix0 + fx0) * in_c, fy * row + fx0 * in_c, (fx1 - fx0) * in_c,
                             w, p->filter_layout, acc);
    }
    return acc;
}

/* Words of one block of four channels: two bytes per tap and channel, taps rounded up to the step. */
static inline int block_words(int layout, int taps)
{
    return layout == TA_FILTER_Q15_QUADS ? 2 * ((taps + 3) & ~3) : 2 * ((taps + 1) & ~1);
}

/* Copy the filter_h x filter_w x in_c window of output (oy, ox) into `patch` in OHWI tap order, taps
 * in the padding as 0 (raw zeros add nothing: the input offset of valid taps is in the bias table). */
static void im2col(const ta_conv_params_t *p, const int8_t *input, int iy0, int ix0, int8_t *patch)
{
    const int in_c = p->in_c, row = p->filter_w * in_c;
    int fx0, fx1;
    valid_taps(ix0, p->filter_w, p->in_w, &fx0, &fx1);
    for (int fy = 0; fy < p->filter_h; ++fy, patch += row) {
        const int iy = iy0 + fy;
        const int8_t *x = input + (iy * p->in_w + ix0) * in_c;
        const int inside = iy >= 0 && iy < p->in_h && fx1 > fx0;
        const int start = inside ? fx0 * in_c : row, end = inside ? fx1 * in_c : row;
        int k = 0;
        for (; k < start; ++k) {
            patch[k] = 0;
        }
        for (; k < end; ++k) {
            patch[k] = x[k];
        }
        for (; k < row; ++k) {
            patch[k] = 0;
        }
    }
}

/* CONV_2D: each output pixel's taps dotted with each block of four channels' pre-expanded words;
 * the taps read in place (the input pixel for a 1x1 filter, else the window's rows when it lies
 * inside the input and its rows are whole steps of the layout), else from the im2col patch. */
/* CONV_2D with a 1x1 filter, stride 1: a matrix product of the pixels (rows of in_c inputs) and the
 * filter, with few enough live values that GCC keeps them in registers. */
static TA_ALWAYS_INLINE void conv1x1_fast(const ta_conv_params_t *p, const int8_t *input, int8_t *output, int records)
{
    const int in_c = p->in_c, out_c = p->out_c, layout = p->filter_layout, words = block_words(layout, in_c);
    const int32_t *multiplier = p->multiplier, output_offset = p->output_offset, lo = p->act_min, hi = p->act_max;
    const int8_t *shift = p->shift;
    const ta_requant_t *requant = records ? p->requant : NULL;
    const int32_t *bias = p->bias_table; /* no padding: one class */
    const int8_t *x = input;
    for (const int8_t *end = input + p->out_h * p->out_w * in_c; x < end; x += in_c, output += out_c) {
        const int32_t *w = p->filter_words;
        int oc = 0;
        for (; oc + 4 <= out_c; oc += 4, w += words) {
            const acc4_t acc = dot_block(x, 0, 1, in_c, w, layout, (acc4_t){bias[oc], bias[oc + 1], bias[oc + 2], bias[oc + 3]});
            output[oc] = requantize_channel(acc.a0, requant, multiplier, shift, oc, output_offset, lo, hi);
            output[oc + 1] = requantize_channel(acc.a1, requant, multiplier, shift, oc + 1, output_offset, lo, hi);
            output[oc + 2] = requantize_channel(acc.a2, requant, multiplier, shift, oc + 2, output_offset, lo, hi);
            output[oc + 3] = requantize_channel(acc.a3, requant, multiplier, shift, oc + 3, output_offset, lo, hi);
        }
        if (oc < out_c) { /* the last block's channels past out_c have zero weights */
            const acc4_t sums = dot_block(x, 0, 1, in_c, w, layout, (acc4_t){0, 0, 0, 0});
            const int32_t acc[4] = {sums.a0, sums.a1, sums.a2, sums.a3};
            for (int j = 0; oc + j < out_c; ++j) {
                output[oc + j] = requantize_channel(acc[j] + bias[oc + j], requant, multiplier, shift, oc + j,
                                                    output_offset, lo, hi);
            }
        }
    }
}

/* The input with p->pad_w zero columns on the left and p->padded_w - p->pad_w - in_w on the right,
 * into p->padded (ta_conv_params_t): a copy made once per call instead of a patch per window. */
static void pad_columns(const ta_conv_params_t *p, const int8_t *input)
{
    const int in_c = p->in_c, left = p->pad_w * in_c, middle = p->in_w * in_c;
    const int right = (p->padded_w - p->pad_w - p->in_w) * in_c;
    int8_t *y = p->padded;
    for (int r = 0; r < p->in_h; ++r) {
        memset(y, 0, (size_t)left);
        y += left;
        int k = 0;
        for (; k + 4 <= middle; k += 4, y += 4, input += 4) { /* short rows: cheaper than calling memcpy */
            const int8_t a = input[0], b = input[1], c = input[2], d = input[3];
            y[0] = a;
            y[1] = b;
            y[2] = c;
            y[3] = d;
        }
        for (; k < middle; ++k) {
            *y++ = *input++;
        }
        memset(y, 0, (size_t)right);
        y += right;
    }
}

static TA_ALWAYS_INLINE void conv2d_fast(const ta_conv_params_t *p, const int8_t *input, int8_t *output, int records,
                                         int pooled)
{
    /* the parameters in locals: every int8 store may alias them, so reading *p in the loops reloads them */
    const int out_c = p->out_c, in_c = p->in_c, row = p->filter_w * in_c, taps = p->filter_h * row;
    const int layout = p->filter_layout, words = block_words(layout, taps);
    const int32_t *multiplier = p->multiplier, output_offset = p->output_offset, lo = p->act_min, hi = p->act_max;
    const int8_t *shift = p->shift;
    const ta_requant_t *requant = records ? p->requant : NULL; /* a constant after inlining: two loops */
    /* the arena's patch, or when the generator gave none (it would have enlarged the arena) a small
     * one on the stack: copying beats reading short odd rows tap by tap */
    int8_t stack_patch[TA_STACK_PATCH_BYTES];
    int8_t *patch = p->patch ? p->patch : taps <= TA_STACK_PATCH_BYTES ? stack_patch : NULL;
    /* rows read in place when whole steps of the layout and cheaper than a copy: the lane-pair loop
     * moves to the next row in 5 instructions, the quads' row loop costs more than copying short rows */
    const int in_place_rows = layout == TA_FILTER_Q15_QUADS ? row % 4 == 0 && row >= 16 : row % 2 == 0;
    /* the padded copy, when the generator gave one: windows in the left / right padding read in place */
    int in_w = p->in_w, left = 0;
    if (p->padded && in_place_rows) {
        pad_columns(p, input);
        input = p->padded;
        in_w = p->padded_w;
        left = p->pad_w;
    }
    const int pool_h = pooled ? p->pool_h : 1, pool_w = pooled ? p->pool_w : 1;
    const int rows_out = p->out_h / pool_h, cols_out = p->out_w / pool_w;
    /* every window inside the (padded) input's columns: no window needs the checks below */
    const int x_step = p->stride_w * in_c, x_row = in_w * in_c;
    const int all_in_place = in_place_rows && left >= p->pad_w &&
                             (p->out_w - 1) * p->stride_w - p->pad_w + left + p->filter_w <= in_w;
    int32_t best[TA_POOL_CHANNELS]; /* a fused pool window's largest accumulators */
    int32_t sums[TA_POOL_CHANNELS]; /* a window's accumulators, a chunk of channels at a time */
    for (int py = 0; py < rows_out; ++py) {
        for (int px = 0; px < cols_out; ++px) {
            int8_t *out = output + (py * cols_out + px) * out_c;
            if (pooled) {
                for (int c = 0; c < out_c; ++c) {
                    best[c] = INT32_MIN;
                }
            }
            for (int oy = py * pool_h; oy < (py + 1) * pool_h; ++oy) {
                const int iy0 = oy * p->stride_h - p->pad_h;
                int fy0, fy1;
                valid_taps(iy0, p->filter_h, p->in_h, &fy0, &fy1);
                const int32_t *bias_row = p->bias_table + p->row_class[oy] * p->n_col_classes * out_c;
                const int oy_offset = (iy0 + fy0) * x_row + (left - p->pad_w) * in_c; /* of window ox = 0 */
                for (int ox = px * pool_w; ox < (px + 1) * pool_w; ++ox) {
                    const int ix0 = ox * p->stride_w - p->pad_w;
                    /* in place: the window's valid rows (padded rows skipped, their offset is in the bias table) */
                    const int in_place = all_in_place || (ix0 + left >= 0 && ix0 + left + p->filter_w <= in_w &&
                                                          (in_place_rows || fy1 - fy0 <= 1));
                    const int8_t *x = in_place ? input + oy_offset + ox * x_step : patch;
                    int rows = fy1 - fy0, run = row, first_word = 2 * fy0 * row, stride = x_row;
                    if (!in_place && patch) {
                        im2col(p, input, iy0, ix0, patch);
                        stride = taps;
                        rows = 1;
                        run = taps;
                        first_word = 0;
                    }
                    const int32_t *bias = bias_row + p->col_class[ox] * out_c;
                    for (int c0 = 0; c0 < out_c; c0 += TA_POOL_CHANNELS) { /* chunks of output channels */
                        const int n = TA_MIN(TA_POOL_CHANNELS, out_c - c0), blocks = (n + 3) >> 2;
                        const int32_t *w = p->filter_words + (c0 >> 2) * words;
                        if (pooled && (in_place || patch)) { /* the maxima kept by the dot products */
                            block_sums(x, stride, rows, run, w + first_word, words, blocks, layout, bias + c0, best + c0);
                            continue;
                        }
                        if (in_place || patch) {
                            block_sums(x, stride, rows, run, w + first_word, words, blocks, layout, NULL, sums);
                        } else { /* no patch: the window's valid rows one by one */
                            for (int b = 0; b < blocks; ++b) {
                                const acc4_t acc = dot_window_taps(p, input, iy0, ix0, w + b * words, (acc4_t){0, 0, 0, 0});
                                sums[4 * b] = acc.a0;
                                sums[4 * b + 1] = acc.a1;
                                sums[4 * b + 2] = acc.a2;
                                sums[4 * b + 3] = acc.a3;
                            }
                        }
                        for (int j = 0; j < n; ++j) { /* the last block's channels past out_c had zero weights */
                            const int32_t acc = sums[j] + bias[c0 + j];
                            if (pooled) {
                                keep_max(best, c0 + j, acc);
                            } else {
                                out[c0 + j] = requantize_channel(acc, requant, multiplier, shift, c0 + j, output_offset, lo, hi);
                            }
                        }
                    }
                }
            }
            if (pooled) {
                for (int c = 0; c < out_c; ++c) {
                    out[c] = requantize_channel(best[c], requant, multiplier, shift, c, output_offset, lo, hi);
                }
            }
        }
    }
}

/* acc[j] += x[j] * w[j], j < 4: one tap of four channels of a depthwise filter. */
static TA_ALWAYS_INLINE acc4_t depthwise_tap4(const int8_t *x, const int8_t *w, acc4_t acc)
{
#if TA_DSP
    const int32_t xv = load_s8x4(x), wv = load_s8x4(w);
    const int32_t x02 = __sxtb16(xv), w02 = __sxtb16(wv);
    const int32_t x13 = sxtb16_ror8(xv), w13 = sxtb16_ror8(wv);
    acc.a0 = __smlabb(x02, w02, acc.a0);
    acc.a2 = __smlatt(x02, w02, acc.a2);
    acc.a1 = __smlabb(x13, w13, acc.a1);
    acc.a3 = __smlatt(x13, w13, acc.a3);
#else
    acc.a0 += (int32_t)x[0] * w[0];
    acc.a1 += (int32_t)x[1] * w[1];
    acc.a2 += (int32_t)x[2] * w[2];
    acc.a3 += (int32_t)x[3] * w[3];
#endif
    return acc;
}

/* DEPTHWISE_CONV_2D, depth multiplier 1: channels are contiguous in both the input pixel and the
 * 1HWC filter tap, so four channels take one word of each per tap. */
static TA_ALWAYS_INLINE void depthwise_conv2d_fast(const ta_conv_params_t *p, const int8_t *input,
                                                   const int8_t *filter, int8_t *output, int records)
{
    /* the parameters in locals: every int8 store may alias them, so reading *p in the loops reloads them */
    const int channels = p->out_c, filter_w = p->filter_w, x_row = p->in_w * channels, w_row = filter_w * channels;
    const int32_t *multiplier = p->multiplier, output_offset = p->output_offset, lo = p->act_min, hi = p->act_max;
    const int8_t *shift = p->shift;
    const ta_requant_t *requant = records ? p->requant : NULL; /* a constant after inlining: two loops */
    for (int oy = 0; oy < p->out_h; ++oy) {
        const int iy0 = oy * p->stride_h - p->pad_h;
        int fy0, fy1;
        valid_taps(iy0, p->filter_h, p->in_h, &fy0, &fy1);
        const int32_t *bias_row = p->bias_table + p->row_class[oy] * p->n_col_classes * channels;
        for (int ox = 0; ox < p->out_w; ++ox) {
            const int ix0 = ox * p->stride_w - p->pad_w;
            int fx0, fx1;
            valid_taps(ix0, filter_w, p->in_w, &fx0, &fx1);
            const int32_t *bias = bias_row + p->col_class[ox] * channels;
            int8_t *out = output + (oy * p->out_w + ox) * channels;
            const int8_t *x_first = input + ((iy0 + fy0) * p->in_w + ix0 + fx0) * channels;
            const int8_t *w_first = filter + (fy0 * filter_w + fx0) * channels;
            const int rows = fy1 - fy0, cols = fx1 - fx0;
            int c = 0;
            for (; c + 4 <= channels; c += 4) {
                acc4_t acc = {bias[c], bias[c + 1], bias[c + 2], bias[c + 3]};
                const int8_t *x = x_first + c, *w = w_first + c;
                for (int r = 0; r < rows; ++r, x += x_row, w += w_row) {
                    switch (cols) { /* a row of up to three taps unrolled (the zoo's 3x3 filters) */
                    case 3:
                        acc = depthwise_tap4(x + 2 * channels, w + 2 * channels, acc);
                        /* fall through */
                    case 2:
                        acc = depthwise_tap4(x + channels, w + channels, acc);
                        /* fall through */
                    case 1:
                        acc = depthwise_tap4(x, w, acc);
                        break;
                    default:
                        for (int k = 0; k < cols; ++k) {
                            acc = depthwise_tap4(x + k * channels, w + k * channels, acc);
                        }
                    }
                }
                out[c] = requantize_channel(acc.a0, requant, multiplier, shift, c, output_offset, lo, hi);
                out[c + 1] = requantize_channel(acc.a1, requant, multiplier, shift, c + 1, output_offset, lo, hi);
                out[c + 2] = requantize_channel(acc.a2, requant, multiplier, shift, c + 2, output_offset, lo, hi);
                out[c + 3] = requantize_channel(acc.a3, requant, multiplier, shift, c + 3, output_offset, lo, hi);
            }
            for (; c < channels; ++c) {
                int32_t acc = bias[c];
                for (int r = 0; r < rows; ++r) {
                    for (int k = 0; k < cols; ++k) {
                        acc += (int32_t)x_first[r * x_row + k * channels + c] * w_first[r * w_row + k * channels + c];
                    }
                }
                out[c] = requantize_channel(acc, requant, multiplier, shift, c, output_offset, lo, hi);
            }
        }
    }
}

static void fully_connected_fast(const ta_fc_params_t *p, const int8_t *input, int8_t *output)
{
    const int depth = p->accum_depth, words = block_words(p->filter_layout, depth);
    int32_t sums[TA_POOL_CHANNELS];
    for (int c0 = 0; c0 < p->out_c; c0 += TA_POOL_CHANNELS) {
        const int n = TA_MIN(TA_POOL_CHANNELS, p->out_c - c0);
        block_sums(input, 0, 1, depth, p->filter_words + (c0 >> 2) * words, words, (n + 3) >> 2, p->filter_layout, NULL,
                   sums);
        for (int j = 0; j < n; ++j) {
            const int k = p->per_channel ? c0 + j : 0;
            output[c0 + j] = requantize_channel(sums[j] + p->folded_bias[c0 + j], p->requant, p->multiplier, p->shift, k,
                                                p->output_offset, p->act_min, p->act_max);
        }
    }
}

void ta_conv2d_s8(const ta_conv_params_t *p, const int8_t *input, const int8_t *filter, const int32_t *bias,
                  int8_t *output)
{
    /* (the lane-pair layout measured faster through conv2d_fast on the Cortex-M0+) */
    const int pointwise = p->filter_h == 1 && p->filter_w == 1 && p->stride_h == 1 && p->stride_w == 1 &&
                          p->filter_layout == TA_FILTER_Q15_QUADS;
    if (p->bias_table && pointwise && !p->pool_h) {
        if (p->requant) {
            conv1x1_fast(p, input, output, 1);
        } else {
            conv1x1_fast(p, input, output, 0);
        }
    } else if (p->bias_table && p->pool_h) { /* a fused MAX_POOL_2D */
        if (p->requant) {
            conv2d_fast(p, input, output, 1, 1);
        } else {
            conv2d_fast(p, input, output, 0, 1);
        }
    } else if (p->bias_table && p->requant) {
        conv2d_fast(p, input, output, 1, 0);
    } else if (p->bias_table) {
        conv2d_fast(p, input, output, 0, 0);
    } else {
        conv2d_reference(p, input, filter, bias, output);
    }
}

void ta_depthwise_conv2d_s8(const ta_conv_params_t *p, const int8_t *input, const int8_t *filter,
                            const int32_t *bias, int8_t *output)
{
    if (p->bias_table && p->requant) {
        depthwise_conv2d_fast(p, input, filter, output, 1);
    } else if (p->bias_table) {
        depthwise_conv2d_fast(p, input, filter, output, 0);
    } else {
        depthwise_conv2d_reference(p, input, filter, bias, output);
    }
}

void ta_fully_connected_s8(const ta_fc_params_t *p, const int8_t *input, const int8_t *filter, const int32_t *bias,
                           int8_t *output)
{
    if (p->folded_bias) {
        fully_connected_fast(p, input, output);
    } else {
        fully_connected_reference(p, input, filter, bias, output);
    }
}

/* ---- pooling and reductions ------------------------------------------------------------------ */

void ta_max_pool_s8(const ta_pool_params_t *p, const int8_t *input, int8_t *output)
{
    const int channels = p->channels, x_row = p->in_w * channels, lo = p->act_min, hi = p->act_max;
    for (int out_y = 0; out_y < p->out_h; ++out_y) {
        const int in_y_origin = out_y * p->stride_h - p->pad_h;
        int fy_start, fy_end;
        valid_taps(in_y_origin, p->filter_h, p->in_h, &fy_start, &fy_end);
        for (int out_x = 0; out_x < p->out_w; ++out_x, output += channels) {
            const int in_x_origin = out_x * p->stride_w - p->pad_w;
            int fx_start, fx_end;
            valid_taps(in_x_origin, p->filter_w, p->in_w, &fx_start, &fx_end);
            const int8_t *window = input + ((in_y_origin + fy_start) * p->in_w + in_x_origin + fx_start) * channels;
            const int rows = fy_end - fy_start, cols = fx_end - fx_start;
            if (rows == 2 && cols == 2) { /* the common 2x2 window, unrolled */
                for (int c = 0; c < channels; ++c) {
                    const int8_t *x = window + c;
                    const int32_t top = TA_MAX(x[0], x[channels]), bottom = TA_MAX(x[x_row], x[x_row + channels]);
                    output[c] = clamp_s8(TA_MAX(top, bottom), lo, hi);
                }
                continue;
            }
            for (int c = 0; c < channels; ++c) {
                int32_t best = INT8_MIN;
                const int8_t *x = window + c;
                for (int r = 0; r < rows; ++r, x += x_row) {
                    for (int k = 0; k < cols; ++k) {
                        const int32_t v = x[k * channels];
                        best = v > best ? v : best;
                    }
                }
                output[c] = clamp_s8(best, lo, hi);
            }
        }
    }
}

void ta_average_pool_s8(const ta_pool_params_t *p, const int8_t *input, int8_t *output)
{
    for (int out_y = 0; out_y < p->out_h; ++out_y) {
        const int in_y_origin = out_y * p->stride_h - p->pad_h;
        int fy_start, fy_end;
        valid_taps(in_y_origin, p->filter_h, p->in_h, &fy_start, &fy_end);
        for (int out_x = 0; out_x < p->out_w; ++out_x) {
            const int in_x_origin = out_x * p->stride_w - p->pad_w;
            int fx_start, fx_end;
            valid_taps(in_x_origin, p->filter_w, p->in_w, &fx_start, &fx_end);
            for (int c = 0; c < p->channels; ++c) {
                int32_t acc = 0;
                int32_t count = 0;
                for (int fy = fy_start; fy < fy_end; ++fy) {
                    for (int fx = fx_start; fx < fx_end; ++fx) {
                        acc += input[((in_y_origin + fy) * p->in_w + in_x_origin + fx) * p->channels + c];
                        ++count;
                    }
                }
                if (count > 0) { /* round half away from zero */
                    acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
                }
                output[(out_y * p->out_w + out_x) * p->channels + c] = clamp_s8(acc, p->act_min, p->act_max);
            }
        }
    }
}

void ta_mean_hw_s8(const int8_t *input, int in_h, int in_w, int channels, int32_t input_zero_point,
                   int32_t multiplier, int shift, int32_t output_zero_point, int8_t *output)
{
    const int32_t n = in_h * in_w;
    for (int c = 0; c < channels; ++c) {
        int32_t sum = 0;
        for (int i = 0; i < n; ++i) {
            sum += input[i * channels + c];
        }
        const int32_t value = ta_multiply_by_quantized_multiplier(sum - input_zero_point * n, multiplier, shift);
        output[c] = clamp_s8(value + output_zero_point, INT8_MIN, INT8_MAX);
    }
}

void ta_pad_hw_s8(const int8_t *input, int in_h, int in_w, int channels, int pad_top, int pad_bottom, int pad_left,
                  int pad_right, int32_t zero_point, int8_t *output)
{
    const int out_w = in_w + pad_left + pad_right;
    const int row = in_w * channels;
    const int out_row = out_w * channels;
    memset(output, (int8_t)zero_point, (size_t)(pad_top * out_row));
    output += pad_top * out_row;
    for (int y = 0; y < in_h; ++y) {
        memset(output, (int8_t)zero_point, (size_t)(pad_left * channels));
        memcpy(output + pad_left * channels, input + y * row, (size_t)row);
        memset(output + (pad_left + in_w) * channels, (int8_t)zero_point, (size_t)(pad_right * channels));
        output += out_row;
    }
    memset(output, (int8_t)zero_point, (size_t)(pad_bottom * out_row));
}

/* ---- activations ----------------------------------------------------------------------------- */

void ta_softmax_s8(const int8_t *input, int outer, int depth, int32_t input_multiplier, int input_left_shift,
                   int32_t diff_min, int8_t *output)
{
    enum { kScaledDiffIntegerBits = 5, kAccumulationIntegerBits = 12 };
    for (int i = 0; i < outer; ++i) {
        const int8_t *in = input + i * depth;
        int8_t *out = output + i * depth;
        int32_t max_in_row = INT8_MIN;
        for (int c = 0; c < depth; ++c) {
            max_in_row = TA_MAX(max_in_row, in[c]);
        }
        int32_t sum_of_exps = 0; /* Q12.19 */
        for (int c = 0; c < depth; ++c) {
            const int32_t diff = (int32_t)in[c] - max_in_row;
            if (diff >= diff_min) {
                const int32_t scaled = multiply_by_quantized_multiplier_greater_than_one(diff, input_multiplier,
                                                                                         input_left_shift);
                sum_of_exps += rounding_divide_by_pot(exp_on_negative_values(scaled, kScaledDiffIntegerBits),
                                                      kAccumulationIntegerBits);
            }
        }
        const int headroom_plus_one = count_leading_zeros((uint32_t)sum_of_exps);
        const int num_bits_over_unit = kAccumulationIntegerBits - headroom_plus_one;
        const int32_t shifted_sum_minus_one =
            (int32_t)(((uint32_t)sum_of_exps << headroom_plus_one) - ((uint32_t)1 << 31));
        const int32_t shifted_scale = one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one);
        const int exponent = num_bits_over_unit + 31 - 8;
        for (int c = 0; c < depth; ++c) {
            const int32_t diff = (int32_t)in[c] - max_in_row;
            if (diff >= diff_min) {
                const int32_t scaled = multiply_by_quantized_multiplier_greater_than_one(diff, input_multiplier,
                                                                                         input_left_shift);
                const int32_t exp_in_0 = exp_on_negative_values(scaled, kScaledDiffIntegerBits);
                const int32_t unsat = rounding_divide_by_pot(srdhm(shifted_scale, exp_in_0), exponent);
                out[c] = clamp_s8(unsat - 128, INT8_MIN, INT8_MAX);
            } else {
                out[c] = INT8_MIN;
            }
        }
    }
}

void ta_logistic_s8(const int8_t *input, int size, int32_t input_zero_point, int32_t input_range_radius,
                    int32_t input_multiplier, int input_left_shift, int8_t *output)
{
    enum { kInputIntegerBits = 4, kOutputIntegerBits = 8 };
    for (int i = 0; i < size; ++i) {
        const int32_t x = (int32_t)input[i] - input_zero_point;
        if (x <= -input_range_radius) {
            output[i] = INT8_MIN;
        } else if (x >= input_range_radius) {
            output[i] = INT8_MAX;
        } else {
            const int32_t a = ta_multiply_by_quantized_multiplier(x, input_multiplier, input_left_shift); /* Q4.27 */
            int32_t y; /* Q0.31 */
            if (a == 0) {
                y = (int32_t)1 << 30;
            } else {
                const int32_t abs_a = a > 0 ? a : -a;
                const int32_t positive = one_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(-abs_a, kInputIntegerBits));
                y = a > 0 ? positive : INT32_MAX - positive;
            }
            output[i] = clamp_s8(rounding_divide_by_pot(y, 31 - kOutputIntegerBits) - 128, INT8_MIN, INT8_MAX);
        }
    }
}

/* ---- elementwise ----------------------------------------------------------------------------- */

void ta_lookup_s8(const int8_t *table, const int8_t *input, int size, int8_t *output)
{
    for (int i = 0; i < size; ++i) {
        output[i] = table[input[i] + 128];
    }
}

static inline int8_t arith_one(const ta_arith_params_t *p, int8_t x1, int8_t x2, int sign)
{
    const int32_t a = ((int32_t)x1 + p->input1_offset) * ((int32_t)1 << p->left_shift);
    const int32_t b = ((int32_t)x2 + p->input2_offset) * ((int32_t)1 << p->left_shift);
    const int32_t scaled_a = ta_multiply_by_quantized_multiplier(a, p->input1_multiplier, p->input1_shift);
    const int32_t scaled_b = ta_multiply_by_quantized_multiplier(b, p->input2_multiplier, p->input2_shift);
    const int32_t raw = sign > 0 ? scaled_a + scaled_b : scaled_a - scaled_b;
    const int32_t out = ta_multiply_by_quantized_multiplier(raw, p->output_multiplier, p->output_shift) + p->output_offset;
    return clamp_s8(out, p->act_min, p->act_max);
}

static void add_or_sub(const ta_arith_params_t *p, const int8_t *input1, const int8_t *input2, int size,
                       int input2_size, int sign, int8_t *output)
{
    for (int i = 0; i < size; ++i) {
        output[i] = arith_one(p, input1[i], input2[input2_size == 1 ? 0 : i], sign);
    }
}

void ta_add_s8(const ta_arith_params_t *p, const int8_t *input1, const int8_t *input2, int size, int input2_size,
               int8_t *output)
{
    add_or_sub(p, input1, input2, size, input2_size, 1, output);
}

void ta_sub_s8(const ta_arith_params_t *p, const int8_t *input1, const int8_t *input2, int size, int input2_size,
               int8_t *output)
{
    add_or_sub(p, input1, input2, size, input2_size, -1, output);
}

static void add_or_sub_broadcast(const ta_arith_params_t *p, const ta_broadcast_t *b, const int8_t *input1,
                                 const int8_t *input2, int sign, int8_t *output)
{
    const int32_t *d = b->dims, *s1 = b->strides1, *s2 = b->strides2;
    for (int32_t i = 0; i < d[0]; ++i) {
        for (int32_t j = 0; j < d[1]; ++j) {
            for (int32_t k = 0; k < d[2]; ++k) {
                const int8_t *a = input1 + i * s1[0] + j * s1[1] + k * s1[2];
                const int8_t *c = input2 + i * s2[0] + j * s2[1] + k * s2[2];
                for (int32_t l = 0; l < d[3]; ++l) {
                    *output++ = arith_one(p, a[l * s1[3]], c[l * s2[3]], sign);
                }
            }
        }
    }
}

void ta_add_broadcast_s8(const ta_arith_params_t *p, const ta_broadcast_t *b, const int8_t *input1,
                         const int8_t *input2, int8_t *output)
{
    add_or_sub_broadcast(p, b, input1, input2, 1, output);
}

void ta_sub_broadcast_s8(const ta_arith_params_t *p, const ta_broadcast_t *b, const int8_t *input1,
                         const int8_t *input2, int8_t *output)
{
    add_or_sub_broadcast(p, b, input1, input2, -1, output);
}

/* ---- resize ---------------------------------------------------------------------------------- */

/* One resized value from its four source values (see ta_resize_bilinear_s8). */
static inline int8_t bilinear(int32_t a0, int32_t a1, int32_t b0, int32_t b1, int32_t dx, int32_t dy)
{
    /* TFLite's four weights (1024 - dy)(1024 - dx), ..., dy dx, factored into three multiplies: the
     * same integer sum; it fits int32 (|value| <= 128, the weights sum to 2^20) */
    const int32_t top = a0 * (1 << 10) + (a1 - a0) * dx, bottom = b0 * (1 << 10) + (b1 - b0) * dx;
    const int32_t sum_20 = top * (1 << 10) + (bottom - top) * dy;
#if TA_SINGLE_ROUNDING
    return (int8_t)((sum_20 + (1 << 19)) >> 20);
#else
    return (int8_t)((sum_20 + (sum_20 > 0 ? (1 << 19) : -(1 << 19))) / (1 << 20));
#endif
}

/* The resize's loops, with the table applied to each value (a constant after inlining: two loops). */
static TA_ALWAYS_INLINE void resize_bilinear(const int8_t *input, int in_w, int channels, int out_h, int out_w,
                                             const int16_t *rows, const int16_t *cols, const int8_t *table,
                                             int8_t *output)
{
    for (int y = 0; y < out_h; ++y, rows += 3) {
        const int32_t dy = rows[2];
        const int8_t *row0 = input + rows[0] * in_w * channels, *row1 = input + rows[1] * in_w * channels;
        const int16_t *col = cols;
        if (channels == 1) { /* a spectrogram: no channel loop */
            for (int x = 0; x < out_w; ++x, col += 3) {
                const int8_t v = bilinear(row0[col[0]], row0[col[1]], row1[col[0]], row1[col[1]], col[2], dy);
                *output++ = table ? table[v + 128] : v;
            }
            continue;
        }
        for (int x = 0; x < out_w; ++x, col += 3) {
            const int8_t *a0 = row0 + col[0] * channels, *a1 = row0 + col[1] * channels;
            const int8_t *b0 = row1 + col[0] * channels, *b1 = row1 + col[1] * channels;
            for (int c = 0; c < channels; ++c) {
                const int8_t v = bilinear(a0[c], a1[c], b0[c], b1[c], col[2], dy);
                *output++ = table ? table[v + 128] : v;
            }
        }
    }
}

void ta_resize_bilinear_s8(const int8_t *input, int in_w, int channels, int out_h, int out_w, const int16_t *rows,
                           const int16_t *cols, const int8_t *table, int8_t *output)
{
    if (table) {
        resize_bilinear(input, in_w, channels, out_h, out_w, rows, cols, table, output);
    } else {
        resize_bilinear(input, in_w, channels, out_h, out_w, rows, cols, NULL, output);
    }
}
