/*
 * The main loop shared by every target (the seed's loop, generalised):
 *   wait for TA_STEP_SAMPLES new samples, compute TA_STEP_FRAMES new frames (the input window
 *   shifts by as many rows), invoke the model, arg-max + threshold, LED brightness = score,
 *   print the label over serial.
 * The board's audio driver calls ta_app_audio() from its interrupt / DMA callback.
 */
#ifndef TA_APP_H
#define TA_APP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

int ta_app_setup(void);
/* Blocks until TA_STEP_SAMPLES samples have arrived, then runs one step. Returns 0, or <0 on error. */
int ta_app_loop(void);
/* Audio callback: n int16 mono samples at TA_SAMPLE_RATE. Safe to call from an interrupt. */
void ta_app_audio(const int16_t *samples, size_t n);

#ifdef __cplusplus
}
#endif

#endif /* TA_APP_H */
