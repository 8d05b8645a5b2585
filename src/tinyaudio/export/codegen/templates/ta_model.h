/*
 * The int8 model behind a small C interface. ta_model_tflm.cc implements it with TensorFlow Lite
 * Micro (an external dependency: see README.md); any other implementation of these four
 * functions (e.g. generated plain C) plugs into the same loop.
 */
#ifndef TA_MODEL_H
#define TA_MODEL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Parse the model, register its ops, allocate tensors. 0 on success; message via ta_board_print. */
int ta_model_init(void);
/* The int8 input tensor: TA_N_FRAMES * TA_N_FEATURES values, frame-major. */
int8_t *ta_model_input(void);
/* Streaming step models: forget the earlier frames (called by ta_model_init); no-op otherwise. */
void ta_model_reset(void);
/* Run one inference. 0 on success. */
int ta_model_invoke(void);
/* The int8 output tensor: TA_N_OUTPUTS values. */
const int8_t *ta_model_output(void);
/* Arena bytes actually used (after ta_model_init), for tuning TA_ARENA_BYTES. */
size_t ta_model_arena_used(void);

#ifdef __cplusplus
}
#endif

#endif /* TA_MODEL_H */
