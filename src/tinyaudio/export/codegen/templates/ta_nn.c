/* tinyaudio int8 kernels; see ta_nn.h for what they match and where the arithmetic comes from. */
#include "ta_nn.h"

#define TA_MIN(a, b) ((a) < (b) ? (a) : (b))
#define TA_MAX(a, b) ((a) > (b) ? (a) : (b))

/* ---- gemmlowp fixed-point primitives (int32 raw values) -------------------------------------- */

/* round(a * b / 2^31), ties away from zero; -1 * -1 saturates (ARM VQRDMULH). */
static int32_t srdhm(int32_t a, int32_t b)
{
    if (a == b && a == INT32_MIN) {
        return INT32_MAX;
    }
    const int64_t ab = (int64_t)a * (int64_t)b;
    const int64_t nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31)); /* C division truncates, as C++ */
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

/* ---- convolutions ---------------------------------------------------------------------------- */

void ta_conv2d_s8(const ta_conv_params_t *p, const int8_t *input, const int8_t *filter, const int32_t *bias,
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

void ta_depthwise_conv2d_s8(const ta_conv_params_t *p, const int8_t *input, const int8_t *filter,
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

void ta_fully_connected_s8(const ta_fc_params_t *p, const int8_t *input, const int8_t *filter, const int32_t *bias,
                           int8_t *output)
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

/* ---- pooling and reductions ------------------------------------------------------------------ */

void ta_max_pool_s8(const ta_pool_params_t *p, const int8_t *input, int8_t *output)
{
    for (int out_y = 0; out_y < p->out_h; ++out_y) {
        const int in_y_origin = out_y * p->stride_h - p->pad_h;
        const int fy_start = TA_MAX(0, -in_y_origin);
        const int fy_end = TA_MIN(p->filter_h, p->in_h - in_y_origin);
        for (int out_x = 0; out_x < p->out_w; ++out_x) {
            const int in_x_origin = out_x * p->stride_w - p->pad_w;
            const int fx_start = TA_MAX(0, -in_x_origin);
            const int fx_end = TA_MIN(p->filter_w, p->in_w - in_x_origin);
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
        const int fy_start = TA_MAX(0, -in_y_origin);
        const int fy_end = TA_MIN(p->filter_h, p->in_h - in_y_origin);
        for (int out_x = 0; out_x < p->out_w; ++out_x) {
            const int in_x_origin = out_x * p->stride_w - p->pad_w;
            const int fx_start = TA_MAX(0, -in_x_origin);
            const int fx_end = TA_MIN(p->filter_w, p->in_w - in_x_origin);
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

static void add_or_sub(const ta_arith_params_t *p, const int8_t *input1, const int8_t *input2, int size,
                       int input2_size, int sign, int8_t *output)
{
    for (int i = 0; i < size; ++i) {
        const int32_t a = ((int32_t)input1[i] + p->input1_offset) * ((int32_t)1 << p->left_shift);
        const int32_t b = ((int32_t)input2[input2_size == 1 ? 0 : i] + p->input2_offset) * ((int32_t)1 << p->left_shift);
        const int32_t scaled_a = ta_multiply_by_quantized_multiplier(a, p->input1_multiplier, p->input1_shift);
        const int32_t scaled_b = ta_multiply_by_quantized_multiplier(b, p->input2_multiplier, p->input2_shift);
        const int32_t raw = sign > 0 ? scaled_a + scaled_b : scaled_a - scaled_b;
        const int32_t out = ta_multiply_by_quantized_multiplier(raw, p->output_multiplier, p->output_shift) + p->output_offset;
        output[i] = clamp_s8(out, p->act_min, p->act_max);
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
        const int64_t dy = in_y - (1 << 10) * y0;
        for (int x = 0; x < out_w; ++x) {
            int32_t in_x, x0, x1;
            interpolation_values(x, width_scale_10, half_pixel_centers, in_w, &in_x, &x0, &x1);
            const int64_t dx = in_x - (1 << 10) * x0;
            for (int c = 0; c < channels; ++c) {
                const int64_t v00 = input[(y0 * in_w + x0) * channels + c];
                const int64_t v10 = input[(y1 * in_w + x0) * channels + c];
                const int64_t v01 = input[(y0 * in_w + x1) * channels + c];
                const int64_t v11 = input[(y1 * in_w + x1) * channels + c];
                const int64_t sum_20 = v00 * ((1 << 10) - dy) * ((1 << 10) - dx) + v10 * dy * ((1 << 10) - dx) +
                                       v01 * ((1 << 10) - dy) * dx + v11 * dy * dx;
#if TA_SINGLE_ROUNDING
                const int64_t value = (sum_20 + (1 << 19)) >> 20;
#else
                const int64_t value = (sum_20 + (sum_20 > 0 ? (1 << 19) : -(1 << 19))) / (1 << 20);
#endif
                output[(y * out_w + x) * channels + c] = (int8_t)value;
            }
        }
    }
}
