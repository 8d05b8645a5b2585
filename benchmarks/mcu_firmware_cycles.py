"""The exported firmware on a Cortex-M3 under QEMU: bit-exactness with TFLite Micro, instructions, and
ESTIMATED latency against the seed's budget.

For each run folder: ``tinyaudio export --target c`` (q15 frontend + streaming pipeline + the model
as plain C from tinyaudio.export.codegen), cross-compiled for QEMU's mps2-an385 (Cortex-M3, no DSP
extension, ``-O2``), fed N real clips of the run's own test split (each clip pushed whole into a
fresh pipeline, then one inference). Prints whether the firmware's int8 outputs equal TFLite
Micro's on the Python model input (`model_input_q15`), instructions per inference and per
feature frame (SysTick under ``-icount shift=0``), and the firmware's flash and RAM.

The latency is an ESTIMATE: instructions / 125 MHz, i.e. one cycle per instruction and no flash
wait states. On a real Cortex-M3 loads, taken branches and 64-bit multiplies take 2 or more
cycles, so cycles exceed instructions. A Cortex-M0+ (the RP2040's 125 MHz core) needs more
instructions (no 32x32->64 multiply for requantization, no SSAT, fewer addressing modes); a
Cortex-M4 with the DSP extension fewer. The seed's budget: 512 new samples per loop (32 ms at
16 kHz), 24 ms of it for features + inference. Per loop step the streaming frontend computes only
the step's new frames (``TA_STEP_FRAMES`` of the export, 32 ms of audio rounded to whole hops), so

    step = TA_STEP_FRAMES x instructions per frame + one inference.

Usage: python benchmarks/mcu_firmware_cycles.py [RUN_DIR ...] [--clips N]
    (default runs/fsdd_q15, and runs/sc12_q15 when it exists; N = 32; data from $TINYAUDIO_DATA)
Needs: apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from tinyaudio.data import load_dataset
from tinyaudio.data.dataset import load_clips
from tinyaudio.errors import DatasetError, TinyAudioError
from tinyaudio.export.mcu import build_qemu_firmware, firmware_memory, run_qemu_firmware
from tinyaudio.export.mcu.check import model_io, tflm_outputs
from tinyaudio.export.mcu.project import model_input_q15
from tinyaudio.pipeline import export_run
from tinyaudio.runtime.run_folder import RunFolder
from tinyaudio.features import FeatureConfig
from tinyaudio.features.q15 import float_to_q15

CLOCK_HZ = 125e6
SEED_STEP_MS = 32.0  # 512 new samples at 16 kHz per loop
SEED_COMPUTE_MS = 24.0  # of which features + inference


def split_clips(run_dir: Path, config: FeatureConfig, n: int) -> np.ndarray:
    """``n`` clips spread over the run's test split, int16, shape (n, config.n_samples); for a run
    whose dataset has no loader (the fire-alarm recipe's windows), Speech Commands test clips."""
    dataset = json.loads((run_dir / "config.json").read_text()).get("dataset", "speech_commands")
    try:
        test = load_dataset(dataset, os.environ.get("TINYAUDIO_DATA")).split("test")
    except DatasetError:
        test = load_dataset("speech_commands", os.environ.get("TINYAUDIO_DATA")).split("test")
    chosen = [test[i] for i in np.linspace(0, len(test) - 1, min(n, len(test))).round().astype(int)]
    samples, _, _ = load_clips(chosen, config.sample_rate, config.n_samples, skip_bad=True)
    return float_to_q15(samples)


def ms(instructions: float) -> float:
    return 1e3 * instructions / CLOCK_HZ


def bench(run_dir: Path, n_clips: int) -> None:
    print(f"\n{run_dir}")
    run = RunFolder.open(run_dir)
    config = run.feature_config
    model = run.model_path("int8").read_bytes()
    inp, outp = model_io(model)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            project = export_run(run_dir, Path(tmp) / "project", target="c")
        except TinyAudioError as exc:
            print(f"  not exported: {exc}")
            return
        if project.codegen is None:
            print(f"  no plain-C model: {project.codegen_error}")
            return
        elf = build_qemu_firmware(project.source_dir, Path(tmp) / "build")
        memory = firmware_memory(elf)
        clips = split_clips(run_dir, config, n_clips)
        start = time.perf_counter()
        run = run_qemu_firmware(elf, clips, int(np.prod(outp.shape[1:])))
        wall = time.perf_counter() - start
    want_inputs = model_input_q15(clips, config, inp.scale, inp.zero_point)
    inputs_equal = np.array_equal(run.model_inputs, want_inputs.reshape(len(clips), -1))
    want = tflm_outputs(model, want_inputs[..., None])
    n_diff = int(np.count_nonzero(run.outputs != want))
    step_frames = project.step_samples // config.hop_length
    step_audio_ms = 1e3 * project.step_samples / config.sample_rate
    step = step_frames * run.instructions_per_frame + run.instructions_per_inference

    print(f"  {config.kind} {config.n_frames}x{config.n_features}, {config.sample_rate} Hz, n_fft {config.n_fft}, "
          f"hop {config.hop_length}; ops {', '.join(project.codegen.ops)}")
    print(f"  {len(clips)} real test clips under QEMU ({wall:.1f} s wall)")
    print(f"  model input equals Python (model_input_q15): {'yes' if inputs_equal else 'NO'}")
    print(f"  outputs equal TFLite Micro bit for bit:      "
          f"{'yes' if n_diff == 0 else f'NO ({n_diff} of {want.size} values differ)'}")
    print(f"  instructions per inference            {run.instructions_per_inference:14,.0f}")
    print(f"  instructions per feature frame        {run.instructions_per_frame:14,.0f}")
    print(f"  instructions per clip, frontend       {run.instructions_per_frontend_clip:14,.0f}"
          f"  ({run.frames_per_clip} frames + init)")
    print(f"  ESTIMATE at {CLOCK_HZ / 1e6:.0f} MHz, 1 cycle / instruction (a lower bound for a Cortex-M3):")
    print(f"    inference                           {ms(run.instructions_per_inference):8.2f} ms")
    print(f"    feature frame                       {ms(run.instructions_per_frame):8.3f} ms")
    print(f"    loop step = {step_frames} frames + 1 inference    {ms(step):8.2f} ms"
          f"  vs the seed's {SEED_COMPUTE_MS:.0f} ms compute budget"
          f" ({'within' if ms(step) <= SEED_COMPUTE_MS else 'OVER'});"
          f" the step is {step_audio_ms:.0f} ms of audio (seed: {SEED_STEP_MS:.0f} ms)")
    print(f"    whole clip (all frames + inference) {ms(run.instructions_per_frontend_clip + run.instructions_per_inference):8.2f} ms")
    print(f"  firmware ELF: flash {memory.flash_bytes:,} B, RAM {memory.ram_bytes:,} B (.data + .bss; heap and stack not counted)")
    for part, (flash, ram) in memory.parts.items():
        print(f"    {part:14s} flash {flash:9,} B   RAM {ram:8,} B")
    print(f"    (model arena planned by tinyaudio.export.codegen: {project.codegen.arena_size:,} B; "
          f"weights {project.codegen.weights_bytes:,} B)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="*", type=Path)
    parser.add_argument("--clips", type=int, default=32)
    args = parser.parse_args()
    runs = args.runs or [p for p in (Path("runs/fsdd_q15"), Path("runs/sc12_q15")) if p.is_dir()]
    print(f"Exported firmware on a Cortex-M3 (QEMU mps2-an385, -icount shift=0); latency = ESTIMATE at "
          f"{CLOCK_HZ / 1e6:.0f} MHz, 1 cycle / instruction")
    for run_dir in runs:
        bench(run_dir, args.clips)


if __name__ == "__main__":
    main()
