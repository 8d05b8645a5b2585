/*
 * SysTick instrumentation shared by the QEMU harnesses (ta_host_main.c, ta_firmware_main.c):
 * under `qemu-system-arm -icount shift=0` every instruction takes the same time, so SysTick ticks
 * divided by the ticks of TA_CALIBRATION_NOPS nops give instructions.
 */
#ifndef TA_SYSTICK_H
#define TA_SYSTICK_H

#include <stdint.h>

#define TA_SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define TA_SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define TA_SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define TA_CALIBRATION_NOPS 10000

/* Exactly TA_CALIBRATION_NOPS instructions (plus call and return), in a function of its own so
 * no literal pool lands out of range. */
__attribute__((noinline)) static void ta_calibration_nops(void)
{
    __asm volatile(".rept 10000\n\tnop\n\t.endr");
}

static void ta_ticks_start(void)
{
    TA_SYST_RVR = 0xFFFFFFu;
    TA_SYST_CVR = 0u;
    TA_SYST_CSR = 5u; /* enable, processor clock, no interrupt */
}

/* SysTick counts down from 0xFFFFFF; elapsed ticks modulo 2^24. */
static uint32_t ta_ticks_since(uint32_t start) { return (start - TA_SYST_CVR) & 0xFFFFFFu; }

#endif /* TA_SYSTICK_H */
