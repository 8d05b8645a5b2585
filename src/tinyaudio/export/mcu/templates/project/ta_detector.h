/*
 * tinyaudio decision rule: when the loop calls a keyword. Plain C99, no allocation.
 *
 * The same logic as tinyaudio.runtime.stream (PosteriorSmoother + Detector, after TensorFlow's
 * RecognizeCommands), counted in loop steps: the dequantized scores of the last
 * TA_SMOOTHING_STEPS steps are averaged; a keyword fires when it is the top class of the average,
 * the average exceeds TA_DETECTION_THRESHOLD, at least TA_MIN_COUNT steps are in the window, and
 * TA_SUPPRESSION_STEPS steps have passed since the last detection. model_settings.h holds these
 * values, converted from the run's detector.json (`tinyaudio tune-detector`) by `tinyaudio export`.
 */
#ifndef TA_DETECTOR_H
#define TA_DETECTOR_H

#include <stdint.h>

#include "model_settings.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Scores per step: a one-output (sigmoid) detector has two, [1 - p, p]. */
#if TA_N_OUTPUTS == 1
#define TA_N_SCORES 2
#else
#define TA_N_SCORES TA_N_OUTPUTS
#endif

typedef struct {
    int index;      /* top class of the smoothed scores (one-output detector: 1 = keyword) */
    float score;    /* its smoothed score, in [0, 1] */
    int detected;   /* the rule fired at this step */
} ta_decision_t;

typedef struct {
    float history[TA_SMOOTHING_STEPS][TA_N_SCORES];
    float sum[TA_N_SCORES];
    int head, count;
    int32_t since; /* steps since the last detection (saturates) */
} ta_detector_t;

void ta_detector_init(ta_detector_t *d);
/* One loop step: the model's int8 output (TA_N_OUTPUTS values) -> the decision. */
ta_decision_t ta_detector_update(ta_detector_t *d, const int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* TA_DETECTOR_H */
