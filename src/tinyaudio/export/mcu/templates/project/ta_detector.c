/* tinyaudio decision rule; see ta_detector.h. */
#include <string.h>

#include "ta_detector.h"

static const unsigned char keyword_mask[TA_N_SCORES] = TA_KEYWORD_MASK;

void ta_detector_init(ta_detector_t *d)
{
    memset(d, 0, sizeof(*d));
    d->since = INT32_MAX;
}

ta_decision_t ta_detector_update(ta_detector_t *d, const int8_t *output)
{
    float scores[TA_N_SCORES];
#if TA_N_OUTPUTS == 1
    scores[1] = ((float)output[0] - (float)TA_OUTPUT_ZERO_POINT) * TA_OUTPUT_SCALE;
    scores[0] = 1.0f - scores[1];
#else
    for (int i = 0; i < TA_N_SCORES; i++) {
        scores[i] = ((float)output[i] - (float)TA_OUTPUT_ZERO_POINT) * TA_OUTPUT_SCALE;
    }
#endif
    if (d->count == TA_SMOOTHING_STEPS) { /* the oldest step leaves the window */
        for (int i = 0; i < TA_N_SCORES; i++) {
            d->sum[i] -= d->history[d->head][i];
        }
    } else {
        d->count++;
    }
    for (int i = 0; i < TA_N_SCORES; i++) {
        d->history[d->head][i] = scores[i];
        d->sum[i] += scores[i];
    }
    d->head = (d->head + 1) % TA_SMOOTHING_STEPS;
    int best = 0;
    for (int i = 1; i < TA_N_SCORES; i++) {
        if (d->sum[i] > d->sum[best]) {
            best = i;
        }
    }
    if (d->since < INT32_MAX) {
        d->since++;
    }
    ta_decision_t r;
    r.index = best;
    r.score = d->sum[best] / (float)d->count;
    r.detected = d->count >= TA_MIN_COUNT && keyword_mask[best] && r.score > TA_DETECTION_THRESHOLD
                 && d->since >= TA_SUPPRESSION_STEPS;
    if (r.detected) {
        d->since = 0;
    }
    return r;
}
