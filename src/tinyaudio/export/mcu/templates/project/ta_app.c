/* The shared main loop; see ta_app.h. Plain C: the model sits behind ta_model.h. */
#include <stdio.h>

#include "labels.h"
#include "ta_app.h"
#include "ta_board.h"
#include "ta_detector.h"
#include "ta_model.h"
#include "ta_pipeline.h"

static ta_ring_t ring;
static ta_pipeline_t pipeline;
static ta_detector_t detector;
static int16_t step[TA_STEP_SAMPLES];

void ta_app_audio(const int16_t *samples, size_t n) { ta_ring_push(&ring, samples, n); }

int ta_app_setup(void)
{
    char line[96];
    ta_ring_init(&ring);
    ta_detector_init(&detector);
    if (ta_model_init() != 0) {
        return -1;
    }
    if (ta_pipeline_init(&pipeline, ta_model_input()) != 0) {
        ta_board_print("frontend init failed");
        return -2;
    }
    snprintf(line, sizeof(line), "tinyaudio: %d labels, arena %lu of %lu bytes used, step %d samples",
             TA_N_LABELS, (unsigned long)ta_model_arena_used(), (unsigned long)TA_ARENA_BYTES, TA_STEP_SAMPLES);
    ta_board_print(line);
    return 0;
}

int ta_app_loop(void)
{
    char line[96];
    while (ta_ring_available(&ring) < TA_STEP_SAMPLES) {
        /* wait for audio; a board may sleep here (__WFI) */
    }
    ta_ring_pop(&ring, step, TA_STEP_SAMPLES);
    uint32_t t0 = ta_board_millis();
#if TA_STREAMING
    /* a step model takes TA_MODEL_STEP_FRAMES frames a call: push hop by hop, a step when they are in */
    for (int f = 0; f < TA_STEP_FRAMES; f++) {
        int frames = ta_pipeline_push(&pipeline, step + f * TA_HOP_LENGTH, TA_HOP_LENGTH, ta_model_input());
        if (frames < 0 || (ta_pipeline_step_ready(&pipeline) && ta_model_invoke() != 0)) {
            ta_board_print("frontend or invoke failed");
            return -1;
        }
    }
#else
    if (ta_pipeline_push(&pipeline, step, TA_STEP_SAMPLES, ta_model_input()) < 0 || ta_model_invoke() != 0) {
        ta_board_print("frontend or invoke failed");
        return -1;
    }
#endif
    ta_decision_t r = ta_detector_update(&detector, ta_model_output());
    uint32_t ms = ta_board_millis() - t0;
    float s = r.score < 0.0f ? 0.0f : (r.score > 1.0f ? 1.0f : r.score);
    ta_board_led(r.detected ? (uint8_t)(s * 255.0f + 0.5f) : 0);
    if (r.detected) {
        snprintf(line, sizeof(line), "%s %d%% (%lu ms)", ta_labels[r.index], (int)(s * 100.0f + 0.5f), (unsigned long)ms);
        ta_board_print(line);
    }
    if (ms > TA_STEP_MS) {
        snprintf(line, sizeof(line), "warning: step took %lu ms > %d ms of audio", (unsigned long)ms, TA_STEP_MS);
        ta_board_print(line);
    }
    return 0;
}
