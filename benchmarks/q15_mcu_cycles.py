"""Instructions per frame of the q15 C frontend on a Cortex-M3 under QEMU, and latency estimates.

Cross-compiles ``ta_frontend.c`` + CMSIS-DSP for QEMU's mps2-an385 (Cortex-M3, no DSP
extension), runs it on real Speech Commands clips with ``-icount shift=0``, checks the output
equals the Python q15 frontend bit for bit, and prints instructions per frame from SysTick.

The latency is an ESTIMATE: instructions / 125 MHz, i.e. one cycle per instruction, no flash
wait states. A Cortex-M0+ (RP2040) needs more instructions (no 32x32->64 multiply, fewer
addressing modes); a Cortex-M4 with the DSP extension fewer. The seed's budget: 512 new
samples (32 ms at 16 kHz) per loop, 24 ms of it for features + inference.

Usage: python benchmarks/q15_mcu_cycles.py [N_CLIPS]
Needs: apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from q15_vs_float import clips  # noqa: E402

from tinyaudio.export.mcu import build_qemu_frontend, run_qemu_frontend  # noqa: E402
from tinyaudio.features import FeatureConfig  # noqa: E402
from tinyaudio.features.q15 import compute_features_q15  # noqa: E402

CLOCK_HZ = 125e6
BLOCK = 512  # new samples per loop in the seed firmware

CONFIGS = {
    "spectrogram 256/128 (seed)": FeatureConfig.load("stft_124x129"),
    "mfcc 10 x 49, n_fft 512 hop 320": FeatureConfig(n_fft=512, win_length=512, hop_length=320, power=1.0),
    "logmel 40 x 61, n_fft 512 hop 256": FeatureConfig(
        kind="logmel", n_fft=512, win_length=512, hop_length=256, n_mels=40, fmin=20.0, fmax=8000.0, power=1.0
    ),
}


def main(n: int) -> None:
    data = np.stack(clips(n))
    print(f"Cortex-M3 (QEMU mps2-an385), {len(data)} clips; latency = ESTIMATE at {CLOCK_HZ / 1e6:.0f} MHz, 1 cycle / instruction")
    print(f"  {'config':36s} {'bit-exact':>9s} {'instr/frame':>12s} {'ms/frame':>9s} {'frames/512':>10s} {'ms/512 samples':>15s}")
    for name, config in CONFIGS.items():
        with tempfile.TemporaryDirectory() as tmp:
            run = run_qemu_frontend(build_qemu_frontend(config, tmp), data, config)
        exact = np.array_equal(run.features, compute_features_q15(data, config))
        ms = 1e3 * run.instructions_per_frame / CLOCK_HZ
        per_block = BLOCK / config.hop_length
        print(
            f"  {name:36s} {str(exact):>9s} {run.instructions_per_frame:12,.0f} {ms:9.2f} {per_block:10.1f} "
            f"{ms * per_block:15.2f}"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 12)
