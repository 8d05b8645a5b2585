"""Every run's exported firmware on every Cortex-M core under QEMU: bit-exactness, instructions and
ESTIMATED cycles per inference, per feature frame and per loop step, arena and flash.

For each run folder and core: ``tinyaudio export --target c --cpu CORE``, cross-compiled for the
core (`tinyaudio.export.cpus.CPUS`: the M0+ build runs on mps2-an385), fed N real clips (each a
fresh pipeline + one inference). Bit-exactness: the firmware's int8 outputs against TFLite Micro's
on the Python model input. Instructions: SysTick under ``-icount shift=0``. Cycles: an ESTIMATE from
one clip's execution trace with the core's timing rules (`tinyaudio.export.mcu.profile`: no flash
wait states, loads not pipelined, taken-branch refill 2 on the M4); the M3 and M7 rows give
instructions only. Loop step = TA_STEP_FRAMES new frames (32 ms of audio) + one inference; for a
run with a streaming step model (`tinyaudio.quantize.streaming`, exported by default) the new
frames + one step per ``frames_per_step`` of them, and "inference" is one step.

Reference points: the RP2040 seed's own build (TFLite Micro + CMSIS-NN) took 24 ms per loop step on
the 125 MHz Cortex-M0+; MLPerf Tiny's DS-CNN runs in about 8.7 M cycles per inference on a 120 MHz
Cortex-M4 with X-CUBE-AI.

Usage: python benchmarks/mcu_cores.py [RUN_DIR ...] [--clips N] [--cpu CORE ...]
    (default: runs/fire_alarm_q15/transfer, runs/sc12_q15, runs/sc12_q15_stream, runs/fsdd_q15,
    runs/demo, those that exist)
Needs: apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from tinyaudio.data import load_dataset
from tinyaudio.data.dataset import load_clips
from tinyaudio.errors import DatasetError, TinyAudioError
from tinyaudio.export.cpus import CPUS, cpu_target
from tinyaudio.export.mcu import build_qemu_firmware, firmware_memory, run_qemu_firmware
from tinyaudio.export.mcu.check import model_io, tflm_outputs
from tinyaudio.export.mcu.profile import TIMINGS, profile_firmware
from tinyaudio.export.mcu.project import model_input_q15
from tinyaudio.features import FeatureConfig
from tinyaudio.features.q15 import float_to_q15
from tinyaudio.pipeline import export_run
from tinyaudio.runtime.run_folder import RunFolder

DEFAULT_RUNS = ("runs/fire_alarm_q15/transfer", "runs/sc12_q15", "runs/sc12_q15_stream", "runs/fsdd_q15", "runs/demo")


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


def bench(run_dir: Path, cpu: str, n_clips: int) -> str:
    run = RunFolder.open(run_dir)
    config = run.feature_config
    model = run.model_path("int8").read_bytes()
    inp, outp = model_io(model)
    clips = split_clips(run_dir, config, n_clips)
    with tempfile.TemporaryDirectory() as tmp:
        project = export_run(run_dir, Path(tmp) / "project", target="c", cpu=cpu)
        if project.codegen is None:
            return f"| {run_dir} | {cpu} | no plain-C model: {project.codegen_error} |"
        elf = build_qemu_firmware(project.source_dir, Path(tmp) / "build", cpu=cpu)
        fw = run_qemu_firmware(elf, clips, int(np.prod(outp.shape[1:])), cpu=cpu)
        profile = profile_firmware(elf, clips[:1], cpu=cpu)
        memory = firmware_memory(elf)
    want_inputs = model_input_q15(clips, config, inp.scale, inp.zero_point)
    streaming = project.codegen.state_bytes > 0  # the run's step model: one invoke per step of new frames
    exact = np.array_equal(fw.outputs, tflm_outputs(model, want_inputs[..., None])) and (
        streaming or np.array_equal(fw.model_inputs, want_inputs.reshape(len(clips), -1)))
    step_frames = project.step_samples // config.hop_length
    invokes = step_frames // project.codegen.input_shape[1] if streaming else 1
    clock = cpu_target(cpu).clock_hz
    model_flash, frontend_flash = memory.parts["model"][0], memory.parts["frontend"][0]
    name = f"{run_dir} (streaming, {invokes} step{'s' if invokes > 1 else ''} per loop step)" if streaming else str(run_dir)
    row = [name, cpu, "yes" if exact else "NO", f"{fw.instructions_per_inference / 1e6:.2f} M",
           f"{fw.instructions_per_frame / 1e3:.0f} K"]
    if cpu in TIMINGS:
        # each stage's cycles-per-instruction (from the trace) applied to SysTick's per-frame and
        # per-invoke counts (a streaming build's model stage is all of a clip's steps)
        frontend_cpi = profile.cycles("frontend") / profile.instructions("frontend")
        inference = fw.instructions_per_inference * profile.cycles("model") / profile.instructions("model")
        step = step_frames * fw.instructions_per_frame * frontend_cpi + invokes * inference
        what = f"{invokes} x step" if streaming else "inference"
        row += [f"{inference / 1e6:.2f} M = {1e3 * inference / clock:.1f} ms",
                f"{step_frames} x {fw.instructions_per_frame * frontend_cpi / 1e3:.0f} K + {what} = {1e3 * step / clock:.1f} ms"]
    else:
        step = step_frames * fw.instructions_per_frame + invokes * fw.instructions_per_inference
        row += ["(instructions only)", f"{1e3 * step / clock:.1f} ms at 1 instruction / cycle"]
    state = f" + {project.codegen.state_bytes:,} state" if streaming else ""
    row += [f"{project.codegen.arena_size:,}{state}", f"{model_flash / 1024:.0f} / {frontend_flash / 1024:.0f} / "
            f"{(memory.flash_bytes - model_flash - frontend_flash) / 1024:.0f} KB"]
    return "| " + " | ".join(row) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="*", type=Path)
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--cpu", action="append", choices=list(CPUS))
    args = parser.parse_args()
    runs = args.runs or [Path(p) for p in DEFAULT_RUNS if Path(p).is_dir()]
    print("| run | core | equals TFLM | instructions / inference | instructions / frame | estimated cycles / "
          "inference (at the core's clock) | loop step (estimate) | arena B | flash model / frontend / rest |")
    print("|---|---|---|---|---|---|---|---|---|")
    for run_dir in runs:
        for cpu in args.cpu or list(CPUS):
            try:
                print(bench(run_dir, cpu, args.clips), flush=True)
            except TinyAudioError as exc:
                print(f"| {run_dir} | {cpu} | not built: {exc} |", flush=True)


if __name__ == "__main__":
    main()
