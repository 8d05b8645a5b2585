/*
 * Firmware test harness under QEMU (semihosting): exported pipeline + model, clips in, scores out.
 *
 *     ta_firmware_cm3.elf IN.raw OUT.raw N_SAMPLES [INPUTS.raw [continuous]]
 *
 * IN.raw holds any number of clips of N_SAMPLES little-endian int16 samples back to back. For
 * each clip the firmware does what tinyaudio's host test of ta_pipeline does: ta_pipeline_init
 * on the model's input tensor, ta_pipeline_push of the whole clip (plus TA_N_FFT / 2 zeros when
 * TA_CENTER, the end padding of centred framing), then ta_model_invoke. OUT.raw receives the
 * TA_N_OUTPUTS int8 outputs per clip; INPUTS.raw, when given, the TA_N_FRAMES * TA_N_FEATURES
 * int8 model inputs per clip (to tell a pipeline difference from a model difference).
 * With "continuous" the pipeline is initialised once, before the first clip, and the clips are one
 * stream (no end padding): each result is the model on the last TA_N_FRAMES frames of the stream
 * so far, as the board's loop runs it.
 * Exit status 0 on success; a message on stderr otherwise.
 *
 * With a streaming step model (TA_STREAMING) the clip is pushed TA_HOP_LENGTH samples at a time
 * with one ta_model_invoke per completed step (as ta_app.c runs it), after ta_pipeline_init's steps of
 * silence; the last step's output is the clip's result, INVOKE_TICKS is the mean of one step and
 * INPUTS.raw receives the step's first row only.
 *
 * Built with -DTA_QEMU_SYSTICK (QEMU with -icount), it also prints "calibration_ticks T N"
 * (SysTick ticks for N nop instructions) and per clip
 * "clip_ticks INIT_TICKS PUSH_TICKS PUSH_FRAMES INVOKE_TICKS": ta_pipeline_init (one silent frame
 * and filling the input), ta_pipeline_push (PUSH_FRAMES frames, each with its int8 quantization
 * and the input shift), and ta_model_invoke alone. The counter is 24 bits: one measurement must
 * stay below 2^24 ticks (about 6.7e8 instructions at QEMU's 25 MHz SysTick and 1 ns / insn).
 *
 * ta_mark_frontend / ta_mark_model / ta_mark_idle are called where each stage starts, so that a
 * QEMU execution trace can be split by stage (tinyaudio.export.mcu.profile).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ta_model.h"
#include "ta_pipeline.h"

/* Stage markers for execution traces: empty, never inlined, each at an address of its own. */
__attribute__((noinline)) void ta_mark_frontend(void) { __asm volatile("nop"); }
__attribute__((noinline)) void ta_mark_model(void) { __asm volatile("nop\n\tnop"); }
__attribute__((noinline)) void ta_mark_idle(void) { __asm volatile("nop\n\tnop\n\tnop"); }

static ta_pipeline_t ta_pipe; /* the firmware's pipeline state (counted as frontend RAM by firmware_memory) */

#ifdef TA_QEMU_SYSTICK
#include "ta_systick.h"
#define TA_NOW() TA_SYST_CVR
#else
#define TA_NOW() 0u
static uint32_t ta_ticks_since(uint32_t start) { return start; }
#endif

#if TA_STREAMING
/* A streaming step model (TA_STREAMING): push TA_HOP_LENGTH samples at a time, as ta_app.c does,
 * and invoke the model once per completed step; frontend and model ticks are summed separately. */
static int ta_push_and_step(const int16_t *samples, size_t n, int8_t *input, uint32_t *push_ticks,
                            uint32_t *invoke_ticks, int *steps)
{
    int frames = 0;
    while (n > 0) {
        size_t k = n < TA_HOP_LENGTH ? n : TA_HOP_LENGTH;
        ta_mark_frontend();
        uint32_t start = TA_NOW();
        int f = ta_pipeline_push(&ta_pipe, samples, k, input);
        *push_ticks += ta_ticks_since(start);
        if (f < 0) {
            return f;
        }
        if (ta_pipeline_step_ready(&ta_pipe)) {
            ta_mark_model();
            start = TA_NOW();
            if (ta_model_invoke() != 0) {
                return -1;
            }
            *invoke_ticks += ta_ticks_since(start);
            *steps += 1;
        }
        frames += f;
        samples += k;
        n -= k;
    }
    ta_mark_idle();
    return frames;
}
#endif

int main(int argc, char **argv)
{
    if (argc < 4 || argc > 6) {
        fprintf(stderr, "usage: %s IN.raw OUT.raw N_SAMPLES [INPUTS.raw [continuous]]\n", argv[0]);
        return 2;
    }
    const int continuous = argc == 6 && strcmp(argv[5], "continuous") == 0;
    size_t n_samples = (size_t)strtoul(argv[3], NULL, 10);
    int16_t *clip = malloc(n_samples * sizeof(int16_t));
    static const int16_t zeros[TA_N_FFT / 2 + 1] = {0};
    FILE *in = fopen(argv[1], "rb");
    FILE *out = fopen(argv[2], "wb");
    FILE *inputs = argc >= 5 ? fopen(argv[4], "wb") : NULL;
    if (!clip || !in || !out || (argc >= 5 && !inputs)) {
        fprintf(stderr, "cannot open %s / %s or allocate %lu samples\n", argv[1], argv[2], (unsigned long)n_samples);
        return 1;
    }
    if (ta_model_init() != 0) {
        fprintf(stderr, "ta_model_init failed\n");
        return 1;
    }
    int8_t *input = ta_model_input();
#ifdef TA_QEMU_SYSTICK
    ta_ticks_start();
    uint32_t t0 = TA_SYST_CVR;
    ta_calibration_nops();
    printf("calibration_ticks %lu %d\n", (unsigned long)ta_ticks_since(t0), TA_CALIBRATION_NOPS);
#endif
    unsigned long n_clips = 0;
    while (fread(clip, sizeof(int16_t), n_samples, in) == n_samples) {
        ta_mark_frontend();
        uint32_t start = TA_NOW();
        if ((!continuous || n_clips == 0) && ta_pipeline_init(&ta_pipe, input) != 0) {
            fprintf(stderr, "ta_pipeline_init failed on clip %lu\n", n_clips);
            return 1;
        }
        uint32_t init_ticks = ta_ticks_since(start);
#if TA_STREAMING
        uint32_t push_ticks = 0, invoke_ticks = 0;
        int steps = 0;
        int frames = ta_push_and_step(clip, n_samples, input, &push_ticks, &invoke_ticks, &steps);
        if (frames >= 0 && TA_CENTER && !continuous) {
            int tail = ta_push_and_step(zeros, TA_N_FFT / 2, input, &push_ticks, &invoke_ticks, &steps);
            frames = tail < 0 ? tail : frames + tail;
        }
        if (frames < 0) {
            fprintf(stderr, "ta_pipeline_push or a step failed on clip %lu\n", n_clips);
            return 1;
        }
        invoke_ticks = steps > 0 ? invoke_ticks / (uint32_t)steps : 0; /* one step's mean */
        if (inputs && fwrite(input, 1, TA_N_FEATURES, inputs) != TA_N_FEATURES) { /* the first row */
            fprintf(stderr, "short write to %s\n", argv[4]);
            return 1;
        }
#else
        start = TA_NOW();
        int frames = ta_pipeline_push(&ta_pipe, clip, n_samples, input);
        if (frames >= 0 && TA_CENTER && !continuous) {
            int tail = ta_pipeline_push(&ta_pipe, zeros, TA_N_FFT / 2, input);
            frames = tail < 0 ? tail : frames + tail;
        }
        uint32_t push_ticks = ta_ticks_since(start);
        if (frames < 0) {
            fprintf(stderr, "ta_pipeline_push failed on clip %lu\n", n_clips);
            return 1;
        }
        ta_mark_idle();
        if (inputs && fwrite(input, 1, (size_t)TA_N_FRAMES * TA_N_FEATURES, inputs) != (size_t)TA_N_FRAMES * TA_N_FEATURES) {
            fprintf(stderr, "short write to %s\n", argv[4]);
            return 1;
        }
        ta_mark_model();
        start = TA_NOW();
        if (ta_model_invoke() != 0) {
            fprintf(stderr, "ta_model_invoke failed on clip %lu\n", n_clips);
            return 1;
        }
        uint32_t invoke_ticks = ta_ticks_since(start);
        ta_mark_idle();
#endif
#ifdef TA_QEMU_SYSTICK
        printf("clip_ticks %lu %lu %d %lu\n", (unsigned long)init_ticks, (unsigned long)push_ticks, frames,
               (unsigned long)invoke_ticks);
#else
        (void)init_ticks;
        (void)push_ticks;
        (void)invoke_ticks;
#endif
        if (fwrite(ta_model_output(), 1, TA_N_OUTPUTS, out) != TA_N_OUTPUTS) {
            fprintf(stderr, "short write to %s\n", argv[2]);
            return 1;
        }
        n_clips++;
    }
    fclose(in);
    if (inputs) {
        fclose(inputs);
    }
    if (fclose(out) != 0) {
        fprintf(stderr, "cannot close %s\n", argv[2]);
        return 1;
    }
    printf("clips %lu\n", n_clips);
    return 0;
}
