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
static int32_t rounding_divide_by_pot(int32_t x, int exponent)
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

static int8_t clamp_s8(int32_t x, int32_t lo, int32_t hi) { return (int8_t)TA_MIN(TA_MAX(x, lo), hi); }

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

/* ---- fast paths: folded offsets, no padded taps, four accumulators per loaded input ---------- */

static inline int8_t requantize(int32_t acc, int32_t multiplier, int shift, int32_t output_offset, int32_t lo, int32_t hi)
{
    return clamp_s8(ta_multiply_by_quantized_multiplier(acc, multiplier, shift) + output_offset, lo, hi);
}

#if TA_DSP
static inline int32_t load_s8x4(const int8_t *p)
{
    int32_t v;
    memcpy(&v, p, 4); /* one (unaligned) LDR on ARMv7E-M */
    return v;
}

static inline int32_t ror8(int32_t v) { return (int32_t)(((uint32_t)v >> 8) | ((uint32_t)v << 24)); }
#endif

/* acc[j] += sum over r < rows, k < run of w[j * w_channel + r * w_row + k] * x[r * x_row + k], j < 4:
 * the taps of four output channels over `rows` runs of `run` contiguous inputs. */
static void dot4(const int8_t *x, int x_row, const int8_t *w, int w_row, int w_channel, int rows, int run,
                 int32_t *acc)
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    for (int r = 0; r < rows; ++r, x += x_row, w += w_row) {
        const int8_t *w0 = w, *w1 = w + w_channel, *w2 = w + 2 * w_channel, *w3 = w + 3 * w_channel;
        int k = 0;
#if TA_DSP
        for (; k + 4 <= run; k += 4) {
            const int32_t xv = load_s8x4(x + k);
            const int32_t x02 = __sxtb16(xv), x13 = __sxtb16(ror8(xv));
            int32_t wv = load_s8x4(w0 + k);
            a0 = __smlad(__sxtb16(wv), x02, a0);
            a0 = __smlad(__sxtb16(ror8(wv)), x13, a0);
            wv = load_s8x4(w1 + k);
            a1 = __smlad(__sxtb16(wv), x02, a1);
            a1 = __smlad(__sxtb16(ror8(wv)), x13, a1);
            wv = load_s8x4(w2 + k);
            a2 = __smlad(__sxtb16(wv), x02, a2);
            a2 = __smlad(__sxtb16(ror8(wv)), x13, a2);
            wv = load_s8x4(w3 + k);
            a3 = __smlad(__sxtb16(wv), x02, a3);
            a3 = __smlad(__sxtb16(ror8(wv)), x13, a3);
        }
#endif
        for (; k < run; ++k) {
            const int32_t xv = x[k];
            a0 += w0[k] * xv;
            a1 += w1[k] * xv;
            a2 += w2[k] * xv;
            a3 += w3[k] * xv;
        }
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

/* As dot4 with the block's weights packed four to a word (ta_conv_params_t.packed_filter): one
 * load per input for four channels, on cores that cannot load four bytes unaligned or multiply pairs. */
static void dot4_packed(const int8_t *x, int x_row, const uint32_t *w, int w_row, int rows, int run, int32_t *acc)
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    for (int r = 0; r < rows; ++r, x += x_row, w += w_row) {
        const uint32_t *wk = w;
#if defined(__ARM_ARCH_6M__) && defined(__GNUC__)
        /* ARMv6-M: GCC 12 keeps the two pointers of this loop on the stack (26 instructions per
         * input, measured under QEMU); by hand it is 18 with the accumulators in r8-r12 ("h": ADD takes any register) and
         * the rest in r0-r7: index from -run up to 0 off the end of the run, one LDM for the
         * four weights, sign-extend each byte, MULS, ADD. */
        if (run > 0) {
            const int8_t *x_end = x + run;
            int32_t index = -run, xv, word, t;
            __asm volatile(
                ".syntax unified\n" /* GCC hands Thumb-1 inline assembly over in divided syntax */
                "1:\n\t"
                "ldrsb %[xv], [%[x_end], %[index]]\n\t"
                "ldmia %[wk]!, {%[word]}\n\t"
                "sxtb  %[t], %[word]\n\t"
                "muls  %[t], %[xv]\n\t"
                "add   %[a0], %[t]\n\t"
                "lsls  %[t], %[word], #16\n\t"
                "asrs  %[t], %[t], #24\n\t"
                "muls  %[t], %[xv]\n\t"
                "add   %[a1], %[t]\n\t"
                "lsls  %[t], %[word], #8\n\t"
                "asrs  %[t], %[t], #24\n\t"
                "muls  %[t], %[xv]\n\t"
                "add   %[a2], %[t]\n\t"
                "asrs  %[t], %[word], #24\n\t"
                "muls  %[t], %[xv]\n\t"
                "add   %[a3], %[t]\n\t"
                "adds  %[index], #1\n\t"
                "bne   1b\n\t"
                ".syntax divided\n"
                : [a0] "+h"(a0), [a1] "+h"(a1), [a2] "+h"(a2), [a3] "+h"(a3), [index] "+l"(index), [wk] "+l"(wk),
                  [xv] "=&l"(xv), [word] "=&l"(word), [t] "=&l"(t)
                : [x_end] "l"(x_end)
                : "cc", "memory");
        }
#else
        for (const int8_t *xk = x, *end = x + run; xk < end; ++xk) {
            const int32_t xv = *xk;
            const uint32_t word = *wk++;
            a0 += (int8_t)word * xv;
            a1 += (int8_t)(word >> 8) * xv;
            a2 += (int8_t)(word >> 16) * xv;
            a3 += ((int32_t)word >> 24) * xv;
        }
#endif
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

/* One output channel: acc + sum over r < rows, k < run of w[r * w_row + k] * x[r * x_row + k]. */
static int32_t dot1(const int8_t *x, int x_row, const int8_t *w, int w_row, int rows, int run, int32_t acc)
{
    for (int r = 0; r < rows; ++r, x += x_row, w += w_row) {
        int k = 0;
#if TA_DSP
        for (; k + 4 <= run; k += 4) {
            const int32_t xv = load_s8x4(x + k), wv = load_s8x4(w + k);
            acc = __smlad(__sxtb16(wv), __sxtb16(xv), acc);
            acc = __smlad(__sxtb16(ror8(wv)), __sxtb16(ror8(xv)), acc);
        }
#endif
        for (; k < run; ++k) {
            acc += w[k] * (int32_t)x[k];
        }
    }
    return acc;
}

/* CONV_2D: for each output position, the valid filter rows [fy0, fy1) and columns [fx0, fx1); the
 * inputs under one filter row are one contiguous run of (fx1 - fx0) * in_c values in NHWC, and so
 * are the matching OHWI weights. */
static void conv2d_fast(const ta_conv_params_t *p, const int8_t *input, const int8_t *filter, int8_t *output)
{
    const int in_c = p->in_c, out_c = p->out_c, filter_w = p->filter_w;
    const int w_row = filter_w * in_c, w_channel = p->filter_h * w_row, x_row = p->in_w * in_c;
    for (int oy = 0; oy < p->out_h; ++oy) {
        const int iy0 = oy * p->stride_h - p->pad_h;
        int fy0, fy1;
        valid_taps(iy0, p->filter_h, p->in_h, &fy0, &fy1);
        const int32_t *bias_row = p->bias_table + p->row_class[oy] * p->n_col_classes * out_c;
        for (int ox = 0; ox < p->out_w; ++ox) {
            const int ix0 = ox * p->stride_w - p->pad_w;
            int fx0, fx1;
            valid_taps(ix0, filter_w, p->in_w, &fx0, &fx1);
            const int run = (fx1 - fx0) * in_c, rows = fy1 - fy0;
            const int8_t *x = input + ((iy0 + fy0) * p->in_w + ix0 + fx0) * in_c;
            const int8_t *w = filter ? filter + fy0 * w_row + fx0 * in_c : NULL; /* NULL when packed */
            const int32_t *bias = bias_row + p->col_class[ox] * out_c;
            int8_t *out = output + (oy * p->out_w + ox) * out_c;
            int oc = 0;
            for (; oc + 4 <= out_c; oc += 4) {
                int32_t acc[4] = {bias[oc], bias[oc + 1], bias[oc + 2], bias[oc + 3]};
                if (p->packed_filter) {
                    dot4_packed(x, x_row, p->packed_filter + oc * w_channel / 4 + fy0 * w_row + fx0 * in_c, w_row, rows,
                                run, acc);
                } else {
                    dot4(x, x_row, w + oc * w_channel, w_row, w_channel, rows, run, acc);
                }
                for (int j = 0; j < 4; ++j) {
                    out[oc + j] = requantize(acc[j], p->multiplier[oc + j], p->shift[oc + j], p->output_offset,
                                             p->act_min, p->act_max);
                }
            }
            for (; oc < out_c; ++oc) {
                const int32_t acc = dot1(x, x_row, w + oc * w_channel, w_row, rows, run, bias[oc]);
                out[oc] = requantize(acc, p->multiplier[oc], p->shift[oc], p->output_offset, p->act_min, p->act_max);
            }
        }
    }
}

/* DEPTHWISE_CONV_2D, depth multiplier 1: channels are contiguous in both the input pixel and the
 * 1HWC filter tap, so four channels take one word of each per tap. */
static void depthwise_conv2d_fast(const ta_conv_params_t *p, const int8_t *input, const int8_t *filter,
                                  int8_t *output)
{
    const int channels = p->out_c, filter_w = p->filter_w;
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
            int c = 0;
            for (; c + 4 <= channels; c += 4) {
                int32_t a0 = bias[c], a1 = bias[c + 1], a2 = bias[c + 2], a3 = bias[c + 3];
                for (int fy = fy0; fy < fy1; ++fy) {
                    const int8_t *x = input + ((iy0 + fy) * p->in_w + ix0 + fx0) * channels + c;
                    const int8_t *w = filter + (fy * filter_w + fx0) * channels + c;
                    for (int fx = fx0; fx < fx1; ++fx, x += channels, w += channels) {
#if TA_DSP
                        const int32_t xv = load_s8x4(x), wv = load_s8x4(w);
                        const int32_t x02 = __sxtb16(xv), w02 = __sxtb16(wv);
                        const int32_t x13 = __sxtb16(ror8(xv)), w13 = __sxtb16(ror8(wv));
                        a0 = __smlabb(x02, w02, a0);
                        a2 = __smlatt(x02, w02, a2);
                        a1 = __smlabb(x13, w13, a1);
                        a3 = __smlatt(x13, w13, a3);
#else
                        a0 += (int32_t)x[0] * w[0];
                        a1 += (int32_t)x[1] * w[1];
                        a2 += (int32_t)x[2] * w[2];
                        a3 += (int32_t)x[3] * w[3];
#endif
                    }
                }
                out[c] = requantize(a0, p->multiplier[c], p->shift[c], p->output_offset, p->act_min, p->act_max);
                out[c + 1] = requantize(a1, p->multiplier[c + 1], p->shift[c + 1], p->output_offset, p->act_min, p->act_max);
                out[c + 2] = requantize(a2, p->multiplier[c + 2], p->shift[c + 2], p->output_offset, p->act_min, p->act_max);
                out[c + 3] = requantize(a3, p->multiplier[c + 3], p->shift[c + 3], p->output_offset, p->act_min, p->act_max);
            }
            for (; c < channels; ++c) {
                int32_t acc = bias[c];
                for (int fy = fy0; fy < fy1; ++fy) {
                    for (int fx = fx0; fx < fx1; ++fx) {
                        acc += (int32_t)input[((iy0 + fy) * p->in_w + ix0 + fx) * channels + c] *
                               filter[(fy * filter_w + fx) * channels + c];
                    }
                }
                out[c] = requantize(acc, p->multiplier[c], p->shift[c], p->output_offset, p->act_min, p->act_max);
            }
        }
    }
}

static void fully_connected_fast(const ta_fc_params_t *p, const int8_t *input, const int8_t *filter, int8_t *output)
{
    const int depth = p->accum_depth;
    int oc = 0;
    for (; oc + 4 <= p->out_c; oc += 4) {
        int32_t acc[4] = {p->folded_bias[oc], p->folded_bias[oc + 1], p->folded_bias[oc + 2], p->folded_bias[oc + 3]};
        if (p->packed_filter) {
            dot4_packed(input, 0, p->packed_filter + oc * depth / 4, 0, 1, depth, acc);
        } else {
            dot4(input, 0, filter + oc * depth, 0, depth, 1, depth, acc);
        }
        for (int j = 0; j < 4; ++j) {
            const int k = p->per_channel ? oc + j : 0;
            output[oc + j] = requantize(acc[j], p->multiplier[k], p->shift[k], p->output_offset, p->act_min, p->act_max);
        }
    }
    for (; oc < p->out_c; ++oc) {
        const int32_t acc = dot1(input, 0, filter + oc * depth, 0, 1, depth, p->folded_bias[oc]);
        const int k = p->per_channel ? oc : 0;
        output[oc] = requantize(acc, p->multiplier[k], p->shift[k], p->output_offset, p->act_min, p->act_max);
    }
}

void ta_conv2d_s8(const ta_conv_params_t *p, const int8_t *input, const int8_t *filter, const int32_t *bias,
                  int8_t *output)
{
    if (p->bias_table) {
        conv2d_fast(p, input, filter, output);
    } else {
        conv2d_reference(p, input, filter, bias, output);
    }
}

void ta_depthwise_conv2d_s8(const ta_conv_params_t *p, const int8_t *input, const int8_t *filter,
                            const int32_t *bias, int8_t *output)
{
    if (p->bias_table) {
        depthwise_conv2d_fast(p, input, filter, output);
    } else {
        depthwise_conv2d_reference(p, input, filter, bias, output);
    }
}

void ta_fully_connected_s8(const ta_fc_params_t *p, const int8_t *input, const int8_t *filter, const int32_t *bias,
                           int8_t *output)
{
    if (p->folded_bias) {
        fully_connected_fast(p, input, filter, output);
    } else {
        fully_connected_reference(p, input, filter, bias, output);
    }
}

/* ---- pooling and reductions ------------------------------------------------------------------ */

void ta_max_pool_s8(const ta_pool_params_t *p, const int8_t *input, int8_t *output)
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
                int32_t best = INT8_MIN;
                for (int fy = fy_start; fy < fy_end; ++fy) {
                    for (int fx = fx_start; fx < fx_end; ++fx) {
                        const int32_t v = input[((in_y_origin + fy) * p->in_w + in_x_origin + fx) * p->channels + c];
                        best = TA_MAX(best, v);
                    }
                }
                output[(out_y * p->out_w + out_x) * p->channels + c] = clamp_s8(best, p->act_min, p->act_max);
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

static void interpolation_values(int32_t value, int32_t scale_10, int half_pixel_centers, int32_t input_size,
                                 int32_t *scaled, int32_t *lower, int32_t *upper)
{
    *scaled = half_pixel_centers ? value * scale_10 + scale_10 / 2 - (1 << 9) : value * scale_10;
    *lower = TA_MAX(*scaled / (1 << 10), 0);
    *upper = TA_MIN((*scaled + (1 << 10) - 1) / (1 << 10), input_size - 1);
}

void ta_resize_bilinear_s8(const int8_t *input, int in_h, int in_w, int channels, int out_h, int out_w,
                           int align_corners, int half_pixel_centers, int8_t *output)
{
    int32_t height_scale_10 = ((1 << 10) * in_h + out_h / 2) / out_h;
    int32_t width_scale_10 = ((1 << 10) * in_w + out_w / 2) / out_w;
    if (align_corners && out_h > 1) {
        height_scale_10 = ((1 << 10) * (in_h - 1) + (out_h - 1) / 2) / (out_h - 1);
    }
    if (align_corners && out_w > 1) {
        width_scale_10 = ((1 << 10) * (in_w - 1) + (out_w - 1) / 2) / (out_w - 1);
    }
    for (int y = 0; y < out_h; ++y) {
        int32_t in_y, y0, y1;
        interpolation_values(y, height_scale_10, half_pixel_centers, in_h, &in_y, &y0, &y1);
        const int32_t dy = in_y - (1 << 10) * y0;
        const int8_t *row0 = input + y0 * in_w * channels, *row1 = input + y1 * in_w * channels;
        for (int x = 0; x < out_w; ++x) {
            int32_t in_x, x0, x1;
            interpolation_values(x, width_scale_10, half_pixel_centers, in_w, &in_x, &x0, &x1);
            const int32_t dx = in_x - (1 << 10) * x0;
            /* Weights sum to 2^20 and |value| <= 128: every sum fits int32 (TFLite takes int64). */
            const int32_t w00 = ((1 << 10) - dy) * ((1 << 10) - dx), w10 = dy * ((1 << 10) - dx);
            const int32_t w01 = ((1 << 10) - dy) * dx, w11 = dy * dx;
            for (int c = 0; c < channels; ++c) {
                const int32_t sum_20 = row0[x0 * channels + c] * w00 + row1[x0 * channels + c] * w10 +
                                       row0[x1 * channels + c] * w01 + row1[x1 * channels + c] * w11;
#if TA_SINGLE_ROUNDING
                const int32_t value = (sum_20 + (1 << 19)) >> 20;
#else
                const int32_t value = (sum_20 + (sum_20 > 0 ? (1 << 19) : -(1 << 19))) / (1 << 20);
#endif
                output[(y * out_w + x) * channels + c] = (int8_t)value;
            }
        }
    }
}
