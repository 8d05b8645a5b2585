/* tinyaudio streaming pipeline; see ta_pipeline.h. */
#include <string.h>

#define TA_FEATURE_TABLES /* instantiate ta_input_thresholds here, once */
#include "ta_pipeline.h"
#include "ta_model.h"

/* dst[i] = src[i] for i < n in increasing i (so dst may overlap src from below): a word at a time
 * when both are 4-byte aligned. newlib's memmove / memcpy for ARMv6-M moved about one byte per 12
 * instructions here; GCC must not turn this loop back into a call to them. */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-tree-loop-distribute-patterns")))
#endif
static void ta_copy_samples(int16_t *dst, const int16_t *src, size_t n)
{
    size_t i = 0;
    if ((((uintptr_t)dst | (uintptr_t)src) & 3u) == 0) {
        uint32_t *d = (uint32_t *)dst;
        const uint32_t *s = (const uint32_t *)src;
        for (; i + 2 <= n; i += 2) {
            *d++ = *s++;
        }
    }
    for (; i < n; i++) {
        dst[i] = src[i];
    }
}

void ta_ring_init(ta_ring_t *ring) { memset(ring, 0, sizeof(*ring)); }

size_t ta_ring_available(const ta_ring_t *ring) { return (size_t)(ring->head - ring->tail); }

size_t ta_ring_push(ta_ring_t *ring, const int16_t *samples, size_t n)
{
    uint32_t head = ring->head;
    size_t space = TA_RING_SAMPLES - (size_t)(head - ring->tail);
    size_t k = n < space ? n : space;
    for (size_t i = 0; i < k; i++) {
        ring->data[(head + i) & (TA_RING_SAMPLES - 1u)] = samples[i];
    }
    ring->head = head + (uint32_t)k; /* publish after the data is written */
    ring->dropped += (uint32_t)(n - k);
    return k;
}

size_t ta_ring_pop(ta_ring_t *ring, int16_t *dst, size_t n)
{
    uint32_t tail = ring->tail;
    size_t avail = (size_t)(ring->head - tail);
    size_t k = n < avail ? n : avail;
    for (size_t i = 0; i < k; i++) {
        dst[i] = ring->data[(tail + i) & (TA_RING_SAMPLES - 1u)];
    }
    ring->tail = tail + (uint32_t)k;
    return k;
}

int8_t ta_quantize_feature(int16_t value)
{
    /* Number of thresholds <= value: the int8 level of `value`. From a table for the 1024 values
     * where the thresholds are densest; elsewhere a binary search over the thresholds of value's
     * bucket of 256 values (ta_input_bucket_start, generated with the thresholds). */
    const uint32_t dense = (uint32_t)((int32_t)value - TA_INPUT_DENSE_LOW);
    int lo;
    if (TA_INPUT_N_THRESHOLDS == 0 || value < ta_input_thresholds[0]) { /* below them all (silence) */
        lo = 0;
    } else if (dense < TA_INPUT_DENSE_LEVELS) {
        lo = ta_input_dense_levels[dense];
    } else {
        const unsigned bucket = (uint16_t)(value + 32768) >> 8;
        int hi = ta_input_bucket_start[bucket + 1];
        lo = ta_input_bucket_start[bucket];
        while (lo < hi) {
            const int mid = (lo + hi) >> 1;
            if (ta_input_thresholds[mid] <= value) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
    }
    return (int8_t)(TA_INPUT_Q_LOW + lo);
}

#if !TA_STREAMING
/* Shift the window up by the pending rows and append them: one move per loop step. */
static void ta_flush_rows(ta_pipeline_t *p)
{
    const size_t n = (size_t)p->pending;
    if (n == 0) {
        return;
    }
    memmove(p->window, p->window + n * TA_N_FEATURES, (size_t)(TA_N_FRAMES - n) * TA_N_FEATURES);
    memcpy(p->window + (size_t)(TA_N_FRAMES - n) * TA_N_FEATURES, p->rows, n * TA_N_FEATURES);
    p->pending = 0;
}
#endif

#if TA_STREAMING
/* The newest frame as the next of the step model's TA_MODEL_STEP_FRAMES input rows. */
static void ta_stream_row(ta_pipeline_t *p, int8_t *input)
{
    int8_t *row = input + p->pending * TA_N_FEATURES;
    for (int i = 0; i < TA_N_FEATURES; i++) {
        row[i] = ta_quantize_feature(p->features[i]);
    }
    if (++p->pending == TA_MODEL_STEP_FRAMES) {
        p->pending = 0;
        p->step_ready = 1;
    }
}

int ta_pipeline_step_ready(ta_pipeline_t *p)
{
    int ready = p->step_ready;
    p->step_ready = 0;
    return ready;
}
#endif

static int ta_new_frame(ta_pipeline_t *p, int8_t *input)
{
    if (ta_frontend_frame(&p->fe, p->frame, p->features) != ARM_MATH_SUCCESS) {
        return -1;
    }
#if TA_STREAMING
    ta_stream_row(p, input);
#else
    int8_t *row = p->rows[p->pending++];
    for (int i = 0; i < TA_N_FEATURES; i++) {
        row[i] = ta_quantize_feature(p->features[i]);
    }
    (void)input;
    if (p->pending == TA_STEP_FRAMES) { /* the export keeps TA_STEP_FRAMES <= TA_N_FRAMES */
        ta_flush_rows(p);
    }
#endif
    /* keep the overlap: the next frame starts TA_HOP_LENGTH samples later */
    ta_copy_samples(p->frame, p->frame + TA_HOP_LENGTH, (size_t)(TA_N_FFT - TA_HOP_LENGTH));
    p->fill = TA_N_FFT - TA_HOP_LENGTH;
    return 0;
}

int ta_pipeline_init(ta_pipeline_t *p, int8_t *input)
{
    memset(p, 0, sizeof(*p));
    if (ta_frontend_init(&p->fe) != ARM_MATH_SUCCESS) {
        return -1;
    }
    /* features of a silent frame in every row: what a silent past would have produced */
    if (ta_frontend_frame(&p->fe, p->frame, p->features) != ARM_MATH_SUCCESS) {
        return -1;
    }
#if TA_STREAMING
    /* The step model's layers remember at least TA_N_FRAMES frames of silence; as many more as
     * make the step that takes a clip's last frame (TA_N_FRAMES frames on) end on that frame. */
    ta_model_reset();
    const int warm = TA_N_FRAMES + (TA_MODEL_STEP_FRAMES - (2 * TA_N_FRAMES) % TA_MODEL_STEP_FRAMES) % TA_MODEL_STEP_FRAMES;
    for (int f = 0; f < warm; f++) {
        ta_stream_row(p, input);
        if (ta_pipeline_step_ready(p) && ta_model_invoke() != 0) {
            return -1;
        }
    }
#else
    for (int f = 0; f < TA_N_FRAMES; f++) {
        for (int i = 0; i < TA_N_FEATURES; i++) {
            p->window[f * TA_N_FEATURES + i] = ta_quantize_feature(p->features[i]);
        }
    }
    memcpy(input, p->window, sizeof(p->window));
#endif
    /* centred framing (librosa center=True) starts with TA_N_FFT / 2 zeros of padding */
    p->fill = TA_CENTER ? TA_N_FFT / 2 : 0;
    return 0;
}

int ta_pipeline_push(ta_pipeline_t *p, const int16_t *samples, size_t n, int8_t *input)
{
    int frames = 0;
    while (n > 0) {
        size_t k = TA_N_FFT - p->fill;
        if (k > n) {
            k = n;
        }
        ta_copy_samples(p->frame + p->fill, samples, k);
        p->fill += k;
        samples += k;
        n -= k;
        if (p->fill == TA_N_FFT) {
            if (ta_new_frame(p, input) != 0) {
                return -1;
            }
            frames++;
        }
    }
#if !TA_STREAMING
    /* The window lives here, not in the model's input tensor: a model may reuse its input's memory
     * for later tensors while it runs (TFLite Micro's planner and the generated C's both do). */
    ta_flush_rows(p);
    memcpy(input, p->window, sizeof(p->window));
#endif
    return frames;
}
