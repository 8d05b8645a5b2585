/*
 * tinyaudio q15 audio frontend (CMSIS-DSP), generated project file.
 *
 * Computes the int16 features a tinyaudio model was trained on, bit for bit equal to
 * tinyaudio.features.q15.compute_features_q15 in Python. All constants (frame sizes, window,
 * mel filters, DCT matrix, bias) come from ta_frontend_config.h, generated from the model's
 * feature_config.json by `tinyaudio.export.mcu.write_frontend`.
 *
 * Usage:
 *     static ta_frontend_t fe;
 *     ta_frontend_init(&fe);
 *     ta_frontend_frame(&fe, frame, features);  // frame: TA_N_FFT samples, features: TA_N_FEATURES
 *
 * Scale of the output: value * 2^-TA_FRACTION_BITS (see ta_frontend_config.h).
 */
#ifndef TA_FRONTEND_H
#define TA_FRONTEND_H

#include <stddef.h>
#include <stdint.h>

#include "arm_math.h"
#include "ta_frontend_config.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
#if TA_KIND_SPECTROGRAM
    arm_rfft_instance_q15 rfft;
#else
    arm_mfcc_instance_q15 mfcc;
#endif
    q15_t frame[TA_N_FFT];        /* CMSIS-DSP overwrites its input: frames are copied here */
    q31_t scratch[2 * TA_N_FFT];  /* complex spectrum and mel energies */
} ta_frontend_t;

/* Set up the CMSIS-DSP instances. Returns ARM_MATH_SUCCESS (0) or a CMSIS-DSP error status. */
arm_status ta_frontend_init(ta_frontend_t *fe);

/* Features of one frame of TA_N_FFT int16 samples into out[TA_N_FEATURES]. */
arm_status ta_frontend_frame(ta_frontend_t *fe, const int16_t *frame, int16_t *out);

/* Number of frames ta_frontend_clip writes for n_samples input samples (TA_CENTER padding included). */
size_t ta_frontend_n_frames(size_t n_samples);

/* Features of a whole clip into out[ta_frontend_n_frames(n_samples) * TA_N_FEATURES], frame-major. */
arm_status ta_frontend_clip(ta_frontend_t *fe, const int16_t *samples, size_t n_samples, int16_t *out);

#ifdef __cplusplus
}
#endif

#endif /* TA_FRONTEND_H */
