/* Test harness for the generated model: raw int8 inputs in, raw int8 outputs out.
 * usage: ta_model_host IN.raw OUT.raw    (IN holds n * TA_CODEGEN_INPUT_BYTES bytes) */
#include <stdio.h>
#include <string.h>

#include "ta_model.h"
#include "ta_model_c_sizes.h"

/* Stage markers for tinyaudio.export.mcu.profile.profile_model (each a distinct no-op body, so the
 * linker cannot fold them into one address): the trace counts what runs between them. */
__attribute__((noinline)) void ta_mark_model(void) { __asm volatile("nop\n\tnop"); }
__attribute__((noinline)) void ta_mark_idle(void) { __asm volatile("nop\n\tnop\n\tnop"); }

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s IN.raw OUT.raw\n", argv[0]);
        return 2;
    }
    FILE *in = fopen(argv[1], "rb");
    FILE *out = fopen(argv[2], "wb");
    if (!in || !out) {
        fprintf(stderr, "cannot open %s or %s\n", argv[1], argv[2]);
        return 2;
    }
    if (ta_model_init() != 0) {
        return 3;
    }
    static int8_t x[TA_CODEGEN_INPUT_BYTES];
    while (fread(x, 1, sizeof(x), in) == sizeof(x)) {
        memcpy(ta_model_input(), x, sizeof(x));
        ta_mark_model();
        int status = ta_model_invoke();
        ta_mark_idle();
        if (status != 0) {
            return 4;
        }
        fwrite(ta_model_output(), 1, TA_CODEGEN_OUTPUT_BYTES, out);
    }
    fclose(in);
    return fclose(out) == 0 ? 0 : 5;
}
