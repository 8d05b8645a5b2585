/*
 * tinyaudio int8 kernels: plain C99, no allocation, no dependencies.
 *
 * Each kernel computes what the TensorFlow Lite Micro reference kernel of the same op computes,
 * bit for bit: the same integer requantization (a Q31 multiplier and a power-of-two shift,
 * gemmlowp rounding), the same fixed-point exp / reciprocal in SOFTMAX and LOGISTIC, the same
 * integer mean. Layout is NHWC with batch 1; weights are OHWI (CONV_2D), 1HWC
 * (DEPTHWISE_CONV_2D) and OI (FULLY_CONNECTED), as stored in the .tflite file.
 *
 * Sources of the arithmetic: TFLite kernels/internal/common.{h,cc} (MultiplyByQuantizedMultiplier),
 * reference/integer_ops/{conv,depthwise_conv,fully_connected,pooling,logistic}.h,
 * reference/{softmax,reduce,resize_bilinear,sub,add}.h
 * (QuantizedMeanOrSum: the integer version of TFLite Micro 2024+), and gemmlowp fixedpoint/fixedpoint.h.
 * The tests compare every zoo model against the tflite-micro interpreter on real clips.
 *
 * Speed: the generator folds the input zero point into per-position bias tables (no offset add per
 * tap, no test per padded tap), pre-expands CONV_2D / FULLY_CONNECTED filters into blocks of four
 * output channels (TA_FILTER_* below: SMLAD pairs on cores with the DSP extension, two products per
 * 32-bit multiply on the others), reads windows in place or from an im2col patch, and inlines
 * requantization (with per-channel records where it proved the accumulators small). The sums are
 * the same integers in any order, so outputs stay bit-exact. docs/mcu.md gives the measurements.
 *
 * Define TA_SINGLE_ROUNDING=1 for TFLite's single-rounding build (TFLITE_SINGLE_ROUNDING); the
 * default is the double-rounding arithmetic that TFLite Micro uses unless built with that flag.
 */
#ifndef TA_NN_H
#define TA_NN_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef TA_SINGLE_ROUNDING
#define TA_SINGLE_ROUNDING 0
#endif

/* 1: requantize without 32x32 -> 64-bit multiplies (four 16-bit partial products), which ARMv6-M
 * lacks (the compiler would call __aeabi_lmul); same results. Default: on for ARMv6-M. */
#ifndef TA_NO_LONG_MULTIPLY
#if defined(__ARM_ARCH_6M__)
#define TA_NO_LONG_MULTIPLY 1
#else
#define TA_NO_LONG_MULTIPLY 0
#endif
#endif

/* x * multiplier * 2^shift, multiplier a Q31 value in [2^30, 2^31), rounded as TFLite does. */
int32_t ta_multiply_by_quantized_multiplier(int32_t x, int32_t multiplier, int shift);

/* Layouts of a fast path's pre-expanded filter, per block of four output channels j = 0..3:
 * TA_FILTER_Q15_QUADS (cores with SMLAD): per group of four taps k..k+3, for each j the int16 pairs
 *   (w_j[k], w_j[k+2]) and (w_j[k+1], w_j[k+3]), low half first: 8 words per group.
 * TA_FILTER_LANE_PAIRS (cores without): per pair of taps k, k+1 the words w_0[k] + 2^16 w_1[k],
 *   w_0[k+1] + 2^16 w_1[k+1], w_2[k] + 2^16 w_3[k], w_2[k+1] + 2^16 w_3[k+1] (no weight is -128).
 * Taps run in the filter's own order (OHWI: row, column, input channel), rounded up to the group
 * (pair) with zero taps. */
#define TA_FILTER_Q15_QUADS 1
#define TA_FILTER_LANE_PAIRS 2

/* One output channel's requantization for the fast paths, when the generator proved the accumulator
 * within +-2^30 and the shift negative (a right shift r >= 1; ta_nn.c, requantize_with). */
typedef struct {
    int32_t multiplier; /* Q31, in [2^30, 2^31) */
    int32_t rounding;   /* 2^(right_shift - 1) */
    int32_t right_shift;
} ta_requant_t;

typedef struct {
    int16_t in_h, in_w, in_c;
    int16_t out_h, out_w, out_c;
    int16_t filter_h, filter_w;
    int16_t stride_h, stride_w;
    int16_t dilation_h, dilation_w;
    int16_t pad_h, pad_w;       /* top / left padding (SAME: total / 2, as TFLite) */
    int16_t depth_multiplier;   /* DEPTHWISE_CONV_2D only */
    int32_t input_offset;       /* -input zero point */
    int32_t output_offset;      /* output zero point */
    int32_t act_min, act_max;   /* fused activation, in output units */
    const int32_t *multiplier;  /* per output channel */
    const int8_t *shift;        /* per output channel */
    /* Fast path, generated at export (NULL: the reference loops). The input offset is folded into
     * the bias: bias_table[(row_class[oy] * n_col_classes + col_class[ox]) * out_c + oc] = bias[oc]
     * + input_offset * (sum of oc's filter taps that fall inside the input at output (oy, ox)), so
     * the kernel multiplies raw int8 inputs and never visits a padded tap. Dilation 1, and depth
     * multiplier 1 for DEPTHWISE_CONV_2D. */
    const int32_t *bias_table;
    const uint8_t *row_class;   /* out_h values */
    const uint8_t *col_class;   /* out_w values */
    int16_t n_col_classes;
    /* CONV_2D's filter for the fast path, pre-expanded at export (NULL for DEPTHWISE_CONV_2D, which
     * reads its 1HWC filter): blocks of four output channels (the last padded with zero channels),
     * each tap of each channel two bytes, in `filter_layout` (TA_FILTER_*). */
    const int32_t *filter_words;
    int8_t filter_layout;
    /* filter_h * filter_w * in_c bytes of the arena for the window of one output in OHWI order
     * (im2col), or NULL: a 1x1 filter (its window is the input pixel), or a model whose arena a
     * patch would enlarge (windows not read in place are then copied into TA_STACK_PATCH_BYTES of
     * stack, or read row by row when larger). */
    int8_t *patch;
    const ta_requant_t *requant; /* fast path, per output channel (NULL: multiplier and shift) */
    /* in_h x padded_w x in_c bytes of the arena for a copy of the input with pad_w zero columns on
     * the left and padded_w - pad_w - in_w on the right, so that every window is read in place (its
     * padded rows skipped; CONV_2D fast path), or NULL (windows that overlap the left or right
     * padding go through `patch`). */
    int8_t *padded;
    int16_t padded_w;
    /* A MAX_POOL_2D fused into CONV_2D's fast path: pool_h x pool_w windows of the convolution's
     * out_h x out_w outputs, stride = window, no padding; the output is (out_h / pool_h) x (out_w /
     * pool_w) x out_c, act_min / act_max the two ops' ranges intersected; 0: no pool. Exact:
     * requantization and clamp do not decrease with the accumulator, so the largest output of a
     * window is the requantized largest accumulator (TA_POOL_CHANNELS output channels at most). */
    int16_t pool_h, pool_w;
} ta_conv_params_t;

/* The most output channels of a CONV_2D with a fused MAX_POOL_2D (a window's running maxima live on
 * the stack), and the chunk of output channels whose sums CONV_2D and FULLY_CONNECTED gather at a
 * time on the fast paths. */
#define TA_POOL_CHANNELS 64

void ta_conv2d_s8(const ta_conv_params_t *p, const int8_t *input, const int8_t *filter, const int32_t *bias,
                  int8_t *output);
void ta_depthwise_conv2d_s8(const ta_conv_params_t *p, const int8_t *input, const int8_t *filter,
                            const int32_t *bias, int8_t *output);

typedef struct {
    int16_t accum_depth, out_c;
    int32_t input_offset, filter_offset, output_offset;
    int32_t act_min, act_max;
    const int32_t *multiplier;  /* out_c values (per channel) or 1 (per tensor) */
    const int8_t *shift;
    int16_t per_channel;
    /* Fast path (NULL: the reference loop): bias[oc] + input_offset * sum of oc's weights, generated
     * at export when the filter zero point is 0 (int8 weights are symmetric), and the weights as
     * ta_conv_params_t.filter_words over accum_depth taps. */
    const int32_t *folded_bias;
    const int32_t *filter_words;
    int8_t filter_layout;
    const ta_requant_t *requant; /* fast path, per output channel or one (NULL: multiplier and shift) */
} ta_fc_params_t;

void ta_fully_connected_s8(const ta_fc_params_t *p, const int8_t *input, const int8_t *filter, const int32_t *bias,
                           int8_t *output);

typedef struct {
    int16_t in_h, in_w, channels;
    int16_t out_h, out_w;
    int16_t filter_h, filter_w;
    int16_t stride_h, stride_w;
    int16_t pad_h, pad_w;
    int32_t act_min, act_max;
} ta_pool_params_t;

void ta_max_pool_s8(const ta_pool_params_t *p, const int8_t *input, int8_t *output);
void ta_average_pool_s8(const ta_pool_params_t *p, const int8_t *input, int8_t *output);

/* MEAN over height and width (GlobalAveragePooling2D): the sum minus n * zero point, times the
 * input / output scale ratio with 1/n folded into the multiplier (TFLite's QuantizedMeanOrSum). */
void ta_mean_hw_s8(const int8_t *input, int in_h, int in_w, int channels, int32_t input_zero_point,
                   int32_t multiplier, int shift, int32_t output_zero_point, int8_t *output);

void ta_softmax_s8(const int8_t *input, int outer, int depth, int32_t input_multiplier, int input_left_shift,
                   int32_t diff_min, int8_t *output);
void ta_logistic_s8(const int8_t *input, int size, int32_t input_zero_point, int32_t input_range_radius,
                    int32_t input_multiplier, int input_left_shift, int8_t *output);

typedef struct {
    int32_t input1_offset, input2_offset, output_offset;
    int32_t input1_multiplier, input2_multiplier, output_multiplier;
    int8_t input1_shift, input2_shift, output_shift, left_shift;
    int32_t act_min, act_max;
} ta_arith_params_t;

/* ADD / SUB with input2 either the same size as input1 or a single value (broadcast). */
void ta_add_s8(const ta_arith_params_t *p, const int8_t *input1, const int8_t *input2, int size, int input2_size,
               int8_t *output);
void ta_sub_s8(const ta_arith_params_t *p, const int8_t *input1, const int8_t *input2, int size, int input2_size,
               int8_t *output);

/* output[i] = table[input[i] + 128]: an elementwise op of one int8 input whose every output the
 * generator computed at export (ADD / SUB of a constant scalar, with TFLite's default double rounding). */
void ta_lookup_s8(const int8_t *table, const int8_t *input, int size, int8_t *output);

/* ADD / SUB with NumPy broadcasting over 4-D shapes: the output is dims[0..3]; element (i, j, k, l) of
 * input n is at i * strides_n[0] + j * strides_n[1] + k * strides_n[2] + l * strides_n[3], a stride 0
 * along every axis where that input has size 1 (TFLite's BroadcastAdd6DSlow, 4-D). */
typedef struct {
    int32_t dims[4];
    int32_t strides1[4], strides2[4];
} ta_broadcast_t;
void ta_add_broadcast_s8(const ta_arith_params_t *p, const ta_broadcast_t *b, const int8_t *input1,
                         const int8_t *input2, int8_t *output);
void ta_sub_broadcast_s8(const ta_arith_params_t *p, const ta_broadcast_t *b, const int8_t *input1,
                         const int8_t *input2, int8_t *output);

/* PAD of height and width (ZeroPadding2D): the border takes the zero point, i.e. 0.0 (TFLite's PAD
 * on an int8 tensor whose pad value is the output zero point). */
void ta_pad_hw_s8(const int8_t *input, int in_h, int in_w, int channels, int pad_top, int pad_bottom, int pad_left,
                  int pad_right, int32_t zero_point, int8_t *output);

/* RESIZE_BILINEAR with the source taps computed at export: rows[3 * y] and rows[3 * y + 1] the lower
 * and upper input rows of output row y, rows[3 * y + 2] the upper one's weight in 1/1024; cols alike.
 * `table` (NULL: none) is a fused ADD / SUB of a constant: each value v is stored as table[v + 128]. */
void ta_resize_bilinear_s8(const int8_t *input, int in_w, int channels, int out_h, int out_w, const int16_t *rows,
                           const int16_t *cols, const int8_t *table, int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* TA_NN_H */
