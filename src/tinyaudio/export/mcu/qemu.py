"""Run Cortex-M builds under ``qemu-system-arm`` (the board of each core, `tinyaudio.export.cpus`) and
read their outputs and SysTick counts."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyaudio.errors import BuildError
from tinyaudio.export.mcu.build import n_q15_features
from tinyaudio.export.cpus import DEFAULT_CPU, cpu_target
from tinyaudio.features.config import FeatureConfig

QEMU = "qemu-system-arm"


def qemu_command(elf: str | os.PathLike, args: tuple[str, ...], machine: str = "mps2-an385",
                 extra: tuple[str, ...] = ("-icount", "shift=0")) -> list[str]:
    """The ``qemu-system-arm`` command line that runs ``elf`` on ``machine`` with semihosting argv ``args``.

    Raises:
        BuildError: QEMU missing (Debian: apt-get install qemu-system-arm).
    """
    qemu = shutil.which(QEMU)
    if qemu is None:
        raise BuildError(f"{QEMU} not found; install it (Debian: apt-get install qemu-system-arm)")
    argv = ",".join(f"arg={a}" for a in (Path(elf).name, *args))
    return [
        qemu, "-M", machine, "-nographic", "-monitor", "none", "-serial", "none", *extra,
        "-semihosting-config", f"enable=on,target=native,{argv}", "-kernel", str(Path(elf).resolve()),
    ]


def _run_qemu(elf: str | os.PathLike, args: tuple[str, ...], cwd: str, timeout_s: float,
              machine: str = "mps2-an385", icount: bool = True) -> subprocess.CompletedProcess:
    """Run ``elf`` under ``qemu-system-arm -M machine`` (``-icount shift=0`` when ``icount``: SysTick
    counts instructions; without it QEMU runs several times faster) with semihosting argv ``args`` in ``cwd``.

    Raises:
        BuildError: QEMU missing (Debian: apt-get install qemu-system-arm), a timeout or a non-zero exit.
    """
    cmd = qemu_command(elf, args, machine, extra=("-icount", "shift=0") if icount else ())
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise BuildError(f"QEMU run of {elf} took more than {timeout_s:.0f} s; feed fewer clips") from None
    if result.returncode != 0:
        raise BuildError(f"QEMU run of {elf} exited with {result.returncode}: {(result.stderr + result.stdout)[-2000:]}")
    return result


@dataclass(frozen=True)
class QemuRun:
    """Result of `run_qemu_frontend`.

    Attributes:
        features: int16, shape (n_clips, n_frames, n_features), computed by the emulated M3.
        instructions_per_frame: mean instructions per frame over the clips, from SysTick under
            ``-icount shift=0`` calibrated against a block of 10 000 ``nop``s (+- 40
            instructions per clip).
    """

    features: np.ndarray
    instructions_per_frame: float


def run_qemu_frontend(
    elf: str | os.PathLike, clips: np.ndarray, config: FeatureConfig, *, timeout_s: float = 300.0
) -> QemuRun:
    """Run the Cortex-M3 build on int16 clips under ``qemu-system-arm -M mps2-an385``.

    Raises:
        BuildError: QEMU missing (Debian: apt-get install qemu-system-arm), a non-zero exit,
            a timeout, or output of the wrong size.
    """
    clips = np.ascontiguousarray(clips, dtype="<i2")
    n_clips, n_samples = clips.shape
    with tempfile.TemporaryDirectory() as tmp:
        clips.tofile(Path(tmp) / "in.raw")
        result = _run_qemu(elf, ("in.raw", "out.raw", str(n_samples)), tmp, timeout_s)
        out = np.fromfile(Path(tmp) / "out.raw", dtype="<i2")
    n_features = n_q15_features(config)
    n_frames = out.size // max(1, n_clips * n_features)
    if out.size != n_clips * n_frames * n_features or n_frames == 0:
        raise BuildError(f"QEMU run wrote {out.size} values, not a multiple of {n_clips} clips x {n_features} features")
    fields = [line.split() for line in result.stdout.splitlines()]
    calibration = next((int(f[1]) / int(f[2]) for f in fields if f and f[0] == "calibration_ticks"), None)
    per_clip = [int(f[1]) for f in fields if f and f[0] == "clip_ticks"]
    if not calibration or len(per_clip) != n_clips:
        raise BuildError(f"QEMU run printed no SysTick figures:\n{result.stdout[-2000:]}")
    per_frame = float(np.mean(per_clip)) / calibration / n_frames
    return QemuRun(features=out.reshape(n_clips, n_frames, n_features).astype(np.int16), instructions_per_frame=per_frame)


@dataclass(frozen=True)
class FirmwareRun:
    """Result of `run_qemu_firmware`.

    Instruction counts come from SysTick under ``-icount shift=0`` (one instruction per ns),
    calibrated against a block of 10 000 ``nop``s: +- about 40 instructions per measurement.
    They count instructions, not cycles (`tinyaudio.export.mcu.profile` estimates cycles).

    Attributes:
        outputs: int8, shape (n_clips, n_outputs): the model's output tensor after each clip.
        model_inputs: int8, shape (n_clips, n_frames * n_features): the input tensor the pipeline
            filled for each clip, frame-major.
        instructions_per_inference: mean over clips of ``ta_model_invoke`` alone.
        instructions_per_frontend_clip: mean over clips of ``ta_pipeline_init`` + ``ta_pipeline_push``
            (every frame of the clip, its int8 quantization and the input-window shifts).
        instructions_per_frame: mean ``ta_pipeline_push`` instructions per frame it computed.
        frames_per_clip: frames ``ta_pipeline_push`` computed per clip (the model's n_frames).
    """

    outputs: np.ndarray
    model_inputs: np.ndarray
    instructions_per_inference: float
    instructions_per_frontend_clip: float
    instructions_per_frame: float
    frames_per_clip: int


def clip_ticks(stdout: str) -> np.ndarray:
    """The harness's per-clip lines ``clip_ticks INIT PUSH FRAMES INVOKE`` (ta_firmware_main.c).

    Returns:
        float64, shape (n_clips, 4): columns init ticks, push ticks, frames pushed, invoke ticks.
    """
    rows = [[int(v) for v in f[1:]] for f in (line.split() for line in stdout.splitlines())
            if len(f) == 5 and f[0] == "clip_ticks"]
    return np.array(rows, dtype=np.float64).reshape(-1, 4)


def run_qemu_firmware(
    elf: str | os.PathLike, clips: np.ndarray, n_outputs: int, *, cpu: str = DEFAULT_CPU, timeout_s: float = 600.0,
    continuous: bool = False,
) -> FirmwareRun:
    """Run a `build_qemu_firmware` ELF on int16 clips under ``qemu-system-arm -icount shift=0``.

    Args:
        elf: from `build_qemu_firmware`.
        cpu: the core it was built for; picks the QEMU board (`tinyaudio.export.cpus.CPUS`).
        clips: int16, shape (n_clips, n_samples), at the project's sample rate; each clip is
            pushed whole into a freshly initialised pipeline, then the model is invoked once.
        n_outputs: values in the model's output tensor (``TA_N_OUTPUTS``).
        timeout_s: wall-clock limit for the whole QEMU run, in seconds.
        continuous: initialise the pipeline once and push the clips as one stream (no end padding),
            as the board's loop runs: each output is the model on the stream's last window then.

    Returns:
        `FirmwareRun`.

    Raises:
        BuildError: QEMU missing (Debian: apt-get install qemu-system-arm), a non-zero exit, a
            timeout, or output / SysTick figures of the wrong size.
    """
    clips = np.ascontiguousarray(clips, dtype="<i2")
    if clips.ndim != 2 or clips.shape[0] == 0:
        raise BuildError(f"clips must have shape (n_clips, n_samples) with n_clips > 0, not {clips.shape}")
    n_clips, n_samples = clips.shape
    with tempfile.TemporaryDirectory() as tmp:
        clips.tofile(Path(tmp) / "in.raw")
        args = ("in.raw", "out.raw", str(n_samples), "inputs.raw") + (("continuous",) if continuous else ())
        result = _run_qemu(elf, args, tmp, timeout_s, cpu_target(cpu).machine)
        outputs = np.fromfile(Path(tmp) / "out.raw", dtype=np.int8)
        inputs = np.fromfile(Path(tmp) / "inputs.raw", dtype=np.int8)
    if outputs.size != n_clips * n_outputs:
        raise BuildError(f"QEMU run wrote {outputs.size} output bytes, not {n_clips} clips x {n_outputs} outputs")
    if inputs.size == 0 or inputs.size % n_clips:
        raise BuildError(f"QEMU run wrote {inputs.size} model-input bytes, not a multiple of {n_clips} clips")
    fields = [line.split() for line in result.stdout.splitlines()]
    calibration = next((int(f[1]) / int(f[2]) for f in fields if len(f) == 3 and f[0] == "calibration_ticks"), None)
    ticks = clip_ticks(result.stdout)
    if not calibration or ticks.shape != (n_clips, 4):
        raise BuildError(f"QEMU run printed no SysTick figures for {n_clips} clips:\n{result.stdout[-2000:]}")
    init, push, frames, invoke = ticks.T / np.array([[calibration], [calibration], [1.0], [calibration]])
    return FirmwareRun(
        outputs=outputs.reshape(n_clips, n_outputs),
        model_inputs=inputs.reshape(n_clips, -1),
        instructions_per_inference=float(invoke.mean()),
        instructions_per_frontend_clip=float((init + push).mean()),
        instructions_per_frame=float(push.sum() / max(1.0, frames.sum())),
        frames_per_clip=int(round(frames.mean())),
    )


def run_qemu_model(elf: str | os.PathLike, inputs: np.ndarray, output_size: int, *, cpu: str = DEFAULT_CPU,
                   timeout_s: float = 600.0) -> np.ndarray:
    """Run a `tinyaudio.export.mcu.build.build_qemu_model` ELF on int8 inputs under QEMU (no ``-icount``).

    Args:
        inputs: int8, shape (n, ...) with the model's input size per example.
        output_size: values per example.
        cpu: the core it was built for (its QEMU board).

    Returns:
        int8, shape (n, output_size).

    Raises:
        BuildError: QEMU missing, a timeout, a non-zero exit or output of the wrong size.
    """
    x = np.ascontiguousarray(inputs, dtype=np.int8)
    with tempfile.TemporaryDirectory() as tmp:
        x.tofile(Path(tmp) / "in.raw")
        _run_qemu(elf, ("in.raw", "out.raw"), tmp, timeout_s, cpu_target(cpu).machine, icount=False)
        out = np.fromfile(Path(tmp) / "out.raw", dtype=np.int8)
    if out.size != len(x) * output_size:
        raise BuildError(f"QEMU run wrote {out.size} output bytes, not {len(x)} x {output_size}")
    return out.reshape(len(x), output_size)
