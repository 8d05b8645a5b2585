/*
 * tinyaudio streaming pipeline: audio ring buffer -> q15 frontend -> int8 model input -> result.
 * Plain C99, no allocation, no TFLite Micro: the part of the loop that is the same on every board.
 *
 *   audio ISR / DMA callback        main loop
 *   ta_ring_push(&ring, s, n)  -->  ta_ring_pop(&ring, buf, TA_STEP_SAMPLES)
 *                                   ta_pipeline_push(&pipe, buf, TA_STEP_SAMPLES, input)  (TA_STEP_FRAMES new frames)
 *                                   invoke the model on input
 *                                   ta_detector_update(&det, output) -> label, score, detected (ta_detector.h)
 *
 * The model input is the last TA_N_FRAMES frames, frame-major (shape (1, TA_N_FRAMES, TA_N_FEATURES, 1)).
 * The pipeline keeps that window itself (each new frame shifts it by one row and writes the newest
 * row last) and copies it into the model input at the end of every push, so after a whole clip
 * has been pushed (from ta_pipeline_init) the input equals, bit for bit, what tinyaudio computes in
 * Python for that clip (tinyaudio.export.mcu.project.model_input_q15; tested on the host), and a
 * model that reuses its input tensor's memory while it runs cannot corrupt the next window.
 *
 * With a streaming step model (TA_STREAMING 1 in model_settings.h; tinyaudio.quantize.streaming)
 * the input is the TA_MODEL_STEP_FRAMES newest rows: frames fill it in turn, and when it is full
 * ta_pipeline_step_ready() says so once and the model must be invoked before the next frame (push
 * TA_HOP_LENGTH samples at a time: ta_app.c). ta_pipeline_init feeds the model TA_N_FRAMES (or one
 * step more) frames of silence, so that its states hold what a silent window would and the step
 * that takes a pushed clip's last frame ends on it: after a whole clip the output equals the
 * whole-window model's on that clip, bit for bit.
 */
#ifndef TA_PIPELINE_H
#define TA_PIPELINE_H

/* CMSIS-DSP's portable C code path: the one verified bit for bit against Python (host gcc and a
 * Cortex-M3 under QEMU). Define TA_CMSIS_CORE to build CMSIS-DSP with CMSIS-Core instead (DSP
 * extension intrinsics on Cortex-M4/M33: faster, NOT verified by tinyaudio). */
#ifndef TA_CMSIS_CORE
#ifndef __GNUC_PYTHON__
#define __GNUC_PYTHON__
#endif
#ifndef ARM_MATH_LOOPUNROLL
#define ARM_MATH_LOOPUNROLL
#endif
#endif

#include <stddef.h>
#include <stdint.h>

#include "feature_config.h"
#include "model_settings.h"
#include "ta_frontend.h"

#ifndef TA_STREAMING
#define TA_STREAMING 0 /* model_settings.h: 1 for a streaming step model */
#endif
#ifndef TA_MODEL_STEP_FRAMES
#define TA_MODEL_STEP_FRAMES 1 /* model_settings.h: frames each step of a streaming model takes */
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Single-producer (interrupt) / single-consumer (main loop) ring of int16 samples. */
#define TA_RING_SAMPLES 4096u /* power of two, > 2 * TA_STEP_SAMPLES */
typedef struct {
    int16_t data[TA_RING_SAMPLES];
    volatile uint32_t head; /* written by the producer only */
    volatile uint32_t tail; /* written by the consumer only */
    volatile uint32_t dropped; /* samples lost because the ring was full (main loop too slow) */
} ta_ring_t;

void ta_ring_init(ta_ring_t *ring);
/* Producer side (e.g. PDM / ADC interrupt). Returns samples stored; the rest are dropped. */
size_t ta_ring_push(ta_ring_t *ring, const int16_t *samples, size_t n);
size_t ta_ring_available(const ta_ring_t *ring);
/* Consumer side: copies min(n, available) samples into dst and returns how many. */
size_t ta_ring_pop(ta_ring_t *ring, int16_t *dst, size_t n);

typedef struct {
#if !TA_STREAMING
    /* The last TA_N_FRAMES int8 rows; copied into the model input at the end of each push (the
     * model may overwrite its input tensor while it runs, so the window cannot live there).
     * First in the struct, so word-aligned: memmove / memcpy then copy words, not bytes. */
    int8_t window[TA_N_FRAMES * TA_N_FEATURES];
#endif
    ta_frontend_t fe;
    int16_t frame[TA_N_FFT]; /* the frame being filled */
    size_t fill;             /* samples in frame[] */
    int16_t features[TA_N_FEATURES];
    /* New int8 rows not yet in the window: the window is shifted once per TA_STEP_FRAMES frames
     * (and at the end of each push), not once per frame. */
    int8_t rows[TA_STEP_FRAMES][TA_N_FEATURES];
    int pending;
    int step_ready; /* TA_STREAMING: the step model's input rows are complete */
} ta_pipeline_t;

/* Initialise the frontend, and fill `input` with the features of silence (all frames; streaming:
 * reset the step model and feed it TA_N_FRAMES silent frames). */
int ta_pipeline_init(ta_pipeline_t *p, int8_t *input);
/* Push n new samples; every completed frame becomes the newest row of the window (older rows shift
 * up), which is in `input` when the call returns. Returns frames computed, <0 on error. */
int ta_pipeline_push(ta_pipeline_t *p, const int16_t *samples, size_t n, int8_t *input);
/* TA_STREAMING: 1 (once) when the last push completed the step model's input rows: invoke it now. */
int ta_pipeline_step_ready(ta_pipeline_t *p);
/* int16 frontend value -> int8 model input (bit-exact with Python, see feature_config.h). */
int8_t ta_quantize_feature(int16_t value);

#ifdef __cplusplus
}
#endif

#endif /* TA_PIPELINE_H */
