"""What a verification run's int8 embedding costs on a device: params, MACs, flash, arena, the
generated C's agreement with TFLite Micro, and an extrapolated Cortex-M0+ time.

The embedding model is exported through the plain-C generator (`tinyaudio.export.codegen`),
compiled for this host and run on real LibriSpeech windows; its outputs are compared with TFLite
Micro's bit for bit. Arena and flash are the generator's memory plan. The Cortex-M0+ figure is an
EXTRAPOLATION, not a measurement: MACs x the cycles per MAC that `benchmarks/mcu_cores.py`
estimated for the same kernels (ds_cnn, runs/sc12_q15: 30.2 M cycles / 2.66 M MACs on the
Cortex-M0+). The embedding's float MFCC frontend has no q15 twin yet, so there is no firmware to
run under QEMU.

Usage: python benchmarks/speaker_embedding.py [RUN_DIR] [--windows N]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from tinyaudio.data import load_dataset
from tinyaudio.export.mcu.check import compare_codegen, real_model_inputs

#: Cortex-M0+ cycles per MAC of ds_cnn's generated kernels, from benchmarks/mcu_cores.py runs/sc12_q15.
M0PLUS_CYCLES_PER_MAC = 30.2e6 / 2.66e6
M0PLUS_CLOCK_HZ = 125e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", nargs="?", type=Path, default=Path("runs/speaker_verification"))
    parser.add_argument("--windows", type=int, default=20)
    args = parser.parse_args()
    from tinyaudio.runtime.run_folder import RunFolder

    run = RunFolder.open(args.run)
    metrics = run.read_json("metrics.json")
    model = run.embedding_path("int8").read_bytes()
    clips = load_dataset("librispeech", window_s=run.feature_config.clip_duration).split("test")
    chosen = [clips[i] for i in np.linspace(0, len(clips) - 1, args.windows).round().astype(int)]
    result = compare_codegen(model, real_model_inputs(model, run.feature_config, chosen))
    if result.error:
        print(f"{args.run}: generated C not built: {result.error}")
        return
    macs = metrics["macs"]
    cycles = macs * M0PLUS_CYCLES_PER_MAC
    print(json.dumps({
        "run": str(args.run), "params": metrics["params"], "macs_per_window": macs,
        "int8_bytes": metrics["sizes_bytes"]["int8"], "weights_bytes": result.weights_bytes,
        "arena_size": result.arena_size, "windows_compared": result.n_inputs,
        "generated_c_equals_tflm": result.n_differing == 0,
        "cortex_m0plus_cycles_extrapolated": round(cycles), "cortex_m0plus_ms_at_125mhz_extrapolated": round(1e3 * cycles / M0PLUS_CLOCK_HZ),
    }, indent=1))


if __name__ == "__main__":
    main()
