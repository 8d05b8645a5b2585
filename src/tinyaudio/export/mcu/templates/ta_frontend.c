/*
 * tinyaudio q15 audio frontend (CMSIS-DSP). See ta_frontend.h.
 *
 * mfcc / logmel: arm_mfcc_q15 (per-frame scaling, window, arm_rfft_q15, arm_cmplx_mag_q15,
 * sparse mel filters, arm_vlog_q31, q15 DCT matrix), then arm_add_q15 of a constant bias.
 * spectrogram: arm_mult_q15 by the window, arm_rfft_q15, arm_cmplx_mag_q15.
 */
#include <string.h>

#define TA_FRONTEND_TABLES /* instantiate the tables of ta_frontend_config.h here, once */
#include "ta_frontend.h"

/* The size-specific CMSIS-DSP initialisers (arm_rfft_init_512_q15, ...): the generic ones reference
 * the FFT tables of every size up to 8192, which --gc-sections then cannot drop (about 50 KB of
 * flash); these reference only TA_N_FFT's. Same tables, same results. */
#define TA_PASTE3(a, b, c) a##b##c
#define TA_SIZED(prefix, n, suffix) TA_PASTE3(prefix, n, suffix)

arm_status ta_frontend_init(ta_frontend_t *fe)
{
    memset(fe, 0, sizeof(*fe));
#if TA_KIND_SPECTROGRAM
    return TA_SIZED(arm_rfft_init_, TA_N_FFT, _q15)(&fe->rfft, 0, 1);
#else
    return TA_SIZED(arm_mfcc_init_, TA_N_FFT, _q15)(&fe->mfcc, TA_N_MELS, TA_N_DCT_OUT, ta_dct_coefs,
                                                     ta_filter_pos, ta_filter_len, ta_filter_coefs, ta_window);
#endif
}

arm_status ta_frontend_frame(ta_frontend_t *fe, const int16_t *frame, int16_t *out)
{
    memcpy(fe->frame, frame, sizeof(fe->frame));
#if TA_KIND_SPECTROGRAM
    q15_t *spectrum = (q15_t *)fe->scratch;
    arm_mult_q15(fe->frame, ta_window, fe->frame, TA_N_FFT);
    arm_rfft_q15(&fe->rfft, fe->frame, spectrum);
    arm_cmplx_mag_q15(spectrum, out, TA_N_FEATURES);
    return ARM_MATH_SUCCESS;
#else
    q15_t mfcc[TA_N_FEATURES];
    arm_status status = arm_mfcc_q15(&fe->mfcc, fe->frame, mfcc, fe->scratch);
    arm_add_q15(mfcc, ta_bias, out, TA_N_FEATURES);
    return status;
#endif
}

size_t ta_frontend_n_frames(size_t n_samples)
{
    size_t padded = n_samples + (TA_CENTER ? 2 * (TA_N_FFT / 2) : 0);
    return padded < TA_N_FFT ? 0 : 1 + (padded - TA_N_FFT) / TA_HOP_LENGTH;
}

arm_status ta_frontend_clip(ta_frontend_t *fe, const int16_t *samples, size_t n_samples, int16_t *out)
{
    const long pad = TA_CENTER ? TA_N_FFT / 2 : 0;
    size_t n_frames = ta_frontend_n_frames(n_samples);
    int16_t frame[TA_N_FFT];
    for (size_t i = 0; i < n_frames; i++) {
        long start = (long)(i * TA_HOP_LENGTH) - pad;
        for (long j = 0; j < TA_N_FFT; j++) {
            long k = start + j;
            frame[j] = (k >= 0 && k < (long)n_samples) ? samples[k] : 0;
        }
        arm_status status = ta_frontend_frame(fe, frame, out + i * TA_N_FEATURES);
        if (status != ARM_MATH_SUCCESS) {
            return status;
        }
    }
    return ARM_MATH_SUCCESS;
}
