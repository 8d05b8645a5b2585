/*
 * Raspberry Pi Pico (RP2040) main: analog microphone on GPIO 26 (ADC0) sampled at TA_SAMPLE_RATE
 * by the ADC's free-running mode, FIFO interrupt -> ta_app_audio(); the on-board LED (PWM)
 * shows the score; results go to USB / UART stdio.
 *
 * Microphone: any analog electret breakout biased at mid-supply (e.g. MAX9814) on GPIO 26. For a
 * PDM microphone use the "microphone-library-for-pico" PDM driver and call ta_app_audio() from its
 * samples-ready callback instead of the ADC code below.
 */
#include <stdio.h>

#include "hardware/adc.h"
#include "hardware/irq.h"
#include "hardware/pwm.h"
#include "pico/stdlib.h"

#include "feature_config.h"
#include "ta_app.h"
#include "ta_board.h"

#define TA_MIC_GPIO 26
#define TA_MIC_ADC_INPUT 0

extern "C" void ta_board_print(const char *line) { printf("%s\n", line); }

extern "C" void ta_board_led(uint8_t brightness)
{
#ifdef PICO_DEFAULT_LED_PIN
    pwm_set_gpio_level(PICO_DEFAULT_LED_PIN, (uint16_t)brightness * brightness); /* gamma 2 */
#else
    (void)brightness; /* Pico W: the LED is on the wireless chip; wire an LED to a GPIO instead */
#endif
}

extern "C" uint32_t ta_board_millis(void) { return to_ms_since_boot(get_absolute_time()); }

static void adc_fifo_irq(void)
{
    int16_t samples[8];
    size_t n = 0;
    while (!adc_fifo_is_empty() && n < 8) {
        /* 12-bit unsigned around mid-scale -> int16 */
        samples[n++] = (int16_t)(((int32_t)(adc_fifo_get() & 0xFFFu) - 2048) * 16);
    }
    ta_app_audio(samples, n);
}

int main()
{
    stdio_init_all();
#ifdef PICO_DEFAULT_LED_PIN
    gpio_set_function(PICO_DEFAULT_LED_PIN, GPIO_FUNC_PWM);
    uint slice = pwm_gpio_to_slice_num(PICO_DEFAULT_LED_PIN);
    pwm_set_wrap(slice, 255 * 255);
    pwm_set_enabled(slice, true);
#endif
    if (ta_app_setup() != 0) {
        while (true) {
            printf("tinyaudio: setup failed, see the messages above\n");
            sleep_ms(2000);
        }
    }
    adc_init();
    adc_gpio_init(TA_MIC_GPIO);
    adc_select_input(TA_MIC_ADC_INPUT);
    adc_fifo_setup(true, false, 4, false, false); /* FIFO on, no DMA, IRQ at 4 samples */
    adc_set_clkdiv(48000000.0f / TA_SAMPLE_RATE - 1.0f); /* 48 MHz ADC clock: one sample every div + 1 cycles */
    irq_set_exclusive_handler(ADC_IRQ_FIFO, adc_fifo_irq);
    adc_irq_set_enabled(true);
    irq_set_enabled(ADC_IRQ_FIFO, true);
    adc_run(true);
    while (true) {
        ta_app_loop();
    }
}
