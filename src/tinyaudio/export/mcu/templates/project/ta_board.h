/*
 * What the loop needs from a board. pico_main.cc and the Arduino sketch implement these; on any
 * other board, implement them and call ta_app_setup() once and ta_app_loop() forever.
 */
#ifndef TA_BOARD_H
#define TA_BOARD_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One line of text over serial (no trailing newline needed). */
void ta_board_print(const char *line);
/* LED brightness 0 (off) .. 255 (full). */
void ta_board_led(uint8_t brightness);
/* Milliseconds since boot (for the inference timing printout). */
uint32_t ta_board_millis(void);

#ifdef __cplusplus
}
#endif

#endif /* TA_BOARD_H */
