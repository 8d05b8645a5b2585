/*
 * Minimal Cortex-M3 startup for QEMU mps2-an385: vector table, then newlib's rdimon _start
 * (zeroes .bss, fetches argv over semihosting, calls main, exits through semihosting).
 * Faults report over semihosting and exit with status 3.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

extern uint32_t __stack_top;
extern void _start(void);

void ta_reset_handler(void)
{
    _start();
    for (;;) {
    }
}

static void ta_fault_handler(void)
{
    fputs("hard fault\n", stderr);
    exit(3);
}

__attribute__((section(".vectors"), used)) static const void *const ta_vectors[16] = {
    &__stack_top,     /* initial stack pointer */
    ta_reset_handler, /* reset */
    ta_fault_handler, /* NMI */
    ta_fault_handler, /* hard fault */
    ta_fault_handler, /* memory management fault */
    ta_fault_handler, /* bus fault */
    ta_fault_handler, /* usage fault */
};
