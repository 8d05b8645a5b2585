/*
 * Host / semihosting test harness for ta_frontend: reads int16 clips, writes int16 features.
 *
 *     ta_frontend_host IN.raw OUT.raw N_SAMPLES
 *
 * IN.raw holds any number of clips of N_SAMPLES little-endian int16 samples back to back;
 * OUT.raw receives ta_frontend_n_frames(N_SAMPLES) * TA_N_FEATURES int16 values per clip.
 * Exit status 0 on success; a message on stderr otherwise.
 *
 * Built with -DTA_QEMU_SYSTICK (Cortex-M under QEMU with -icount), it also prints
 * "calibration_ticks T N" (SysTick ticks for N nop instructions) and "clip_ticks T" per clip,
 * from which the caller derives instructions per frame.
 */
#include <stdio.h>
#include <stdlib.h>

#include "ta_frontend.h"

static ta_frontend_t fe;

#ifdef TA_QEMU_SYSTICK
#include "ta_systick.h" /* templates/qemu/, copied next to this file by build_qemu_frontend */
#endif

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s IN.raw OUT.raw N_SAMPLES\n", argv[0]);
        return 2;
    }
    size_t n_samples = (size_t)strtoul(argv[3], NULL, 10);
    size_t n_out = ta_frontend_n_frames(n_samples) * TA_N_FEATURES;
    int16_t *clip = malloc(n_samples * sizeof(int16_t));
    int16_t *features = malloc(n_out * sizeof(int16_t));
    FILE *in = fopen(argv[1], "rb");
    FILE *out = fopen(argv[2], "wb");
    if (!clip || !features || !in || !out) {
        fprintf(stderr, "cannot open %s / %s or allocate %lu samples\n", argv[1], argv[2], (unsigned long)n_samples);
        return 1;
    }
    if (ta_frontend_init(&fe) != ARM_MATH_SUCCESS) {
        fprintf(stderr, "ta_frontend_init failed\n");
        return 1;
    }
#ifdef TA_QEMU_SYSTICK
    ta_ticks_start();
    uint32_t t0 = TA_SYST_CVR;
    ta_calibration_nops();
    printf("calibration_ticks %lu %d\n", (unsigned long)ta_ticks_since(t0), TA_CALIBRATION_NOPS);
#endif
    unsigned long n_clips = 0;
    while (fread(clip, sizeof(int16_t), n_samples, in) == n_samples) {
#ifdef TA_QEMU_SYSTICK
        uint32_t start = TA_SYST_CVR;
#endif
        if (ta_frontend_clip(&fe, clip, n_samples, features) != ARM_MATH_SUCCESS) {
            fprintf(stderr, "ta_frontend_clip failed on clip %lu\n", n_clips);
            return 1;
        }
#ifdef TA_QEMU_SYSTICK
        printf("clip_ticks %lu\n", (unsigned long)ta_ticks_since(start));
#endif
        if (fwrite(features, sizeof(int16_t), n_out, out) != n_out) {
            fprintf(stderr, "short write to %s\n", argv[2]);
            return 1;
        }
        n_clips++;
    }
    fclose(in);
    fclose(out);
    printf("clips %lu\n", n_clips);
    return 0;
}
