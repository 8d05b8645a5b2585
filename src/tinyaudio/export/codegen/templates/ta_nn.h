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

/* x * multiplier * 2^shift, multiplier a Q31 value in [2^30, 2^31), rounded as TFLite does. */
int32_t ta_multiply_by_quantized_multiplier(int32_t x, int32_t multiplier, int shift);

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
} ta_conv_params_t;

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

void ta_resize_bilinear_s8(const int8_t *input, int in_h, int in_w, int channels, int out_h, int out_w,
                           int align_corners, int half_pixel_centers, int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* TA_NN_H */
