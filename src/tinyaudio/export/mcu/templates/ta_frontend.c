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
#include "arm_const_structs.h"

/* The real FFT as arm_rfft_init_<TA_N_FFT>_q15 sets it up (bit reversal on, forward), except for
 * the split step's twiddles: CMSIS-DSP reads them with a stride from two shared 8192-value tables
 * (realCoefAQ15 / realCoefBQ15, 32 KB of flash, kept by any reference to them); the generator
 * copies out the values this size reads (ta_rfft_twiddle_a / _b) and the stride becomes 1. Same
 * values in the same order: the same results. The complex FFT is CMSIS-DSP's own instance for
 * TA_CFFT_LEN points, so only that size's tables are linked. */
#define TA_PASTE(a, b) a##b
#define TA_CFFT_INSTANCE(n) TA_PASTE(arm_cfft_sR_q15_len, n)

static void ta_rfft_init(arm_rfft_instance_q15 *rfft)
{
    rfft->fftLenReal = TA_N_FFT;
    rfft->pTwiddleAReal = (q15_t *)ta_rfft_twiddle_a;
    rfft->pTwiddleBReal = (q15_t *)ta_rfft_twiddle_b;
    rfft->ifftFlagR = 0;
    rfft->bitReverseFlagR = 1;
    rfft->twidCoefRModifier = 1;
    rfft->pCfft = &TA_CFFT_INSTANCE(TA_CFFT_LEN);
}

arm_status ta_frontend_init(ta_frontend_t *fe)
{
    memset(fe, 0, sizeof(*fe));
#if TA_KIND_SPECTROGRAM
    ta_rfft_init(&fe->rfft);
#else
    /* the fields arm_mfcc_init_<TA_N_FFT>_q15 sets (CMSIS-DSP 1.10, real-FFT variant) */
    fe->mfcc.fftLen = TA_N_FFT;
    fe->mfcc.nbMelFilters = TA_N_MELS;
    fe->mfcc.nbDctOutputs = TA_N_DCT_OUT;
    fe->mfcc.dctCoefs = ta_dct_coefs;
    fe->mfcc.filterPos = ta_filter_pos;
    fe->mfcc.filterLengths = ta_filter_len;
    fe->mfcc.filterCoefs = ta_filter_coefs;
    fe->mfcc.windowCoefs = ta_window;
    ta_rfft_init(&fe->mfcc.rfft);
#endif
    return ARM_MATH_SUCCESS;
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

#if defined(__ARM_ARCH_6M__) && defined(__GNUC__) && !defined(PICO_ON_DEVICE) && !defined(PICO_BUILD) && !defined(ARDUINO)
/* __aeabi_lmul, the 64 x 64 -> 64-bit multiply the compiler calls on ARMv6-M (no SMULL): CMSIS-DSP's
 * arm_sqrt_q31 takes ten per call, one call per magnitude bin, and libgcc's generic version measured
 * 41 instructions a call under QEMU. This one is 24: the low words' product from four 16 x 16 ones,
 * plus the cross products' low words in the high word. The Pico SDK links its own optimised version
 * (pico_int64_ops), so a Pico SDK or Arduino build keeps theirs. Arguments and result as the AEABI
 * (r1:r0 x r3:r2). */
__asm__(
    "  .text\n"
    "  .syntax unified\n"
    "  .global __aeabi_lmul\n"
    "  .type __aeabi_lmul, %function\n"
    "  .thumb_func\n"
    "__aeabi_lmul:\n"
    "  push  {r4, r5, r6, r7, lr}\n"
    "  muls  r1, r2\n"          /* ah * bl */
    "  muls  r3, r0\n"          /* bh * al */
    "  adds  r7, r1, r3\n"      /* the cross terms, mod 2^32 */
    "  lsrs  r4, r0, #16\n"     /* a1 */
    "  uxth  r0, r0\n"          /* a0 */
    "  lsrs  r5, r2, #16\n"     /* b1 */
    "  uxth  r2, r2\n"          /* b0 */
    "  movs  r6, r0\n"
    "  muls  r6, r2\n"          /* a0 b0 */
    "  muls  r0, r5\n"          /* a0 b1 */
    "  muls  r2, r4\n"          /* a1 b0 */
    "  muls  r4, r5\n"          /* a1 b1 */
    "  adds  r0, r0, r2\n"      /* a0 b1 + a1 b0, carry out: 2^32 of it */
    "  bcc   1f\n"
    "  movs  r5, #1\n"
    "  lsls  r5, r5, #16\n"
    "  adds  r4, r4, r5\n"      /* that carry is 2^16 in the high word */
    "1:\n"
    "  lsrs  r5, r0, #16\n"
    "  lsls  r0, r0, #16\n"
    "  adds  r0, r0, r6\n"      /* low word */
    "  adcs  r4, r5\n"          /* high word of al bl */
    "  adds  r1, r4, r7\n"
    "  pop   {r4, r5, r6, r7, pc}\n"
    "  .size __aeabi_lmul, . - __aeabi_lmul\n");
#endif
