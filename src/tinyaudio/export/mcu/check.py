"""Will this ``.tflite`` model run on the board? TFLite Micro's own interpreter answers.

`check_mcu` loads the model with the ``tflite-micro`` Python package (the TFLM C++ runtime
with its reference kernels), which fails on any op TFLM does not register, and reads the arena
it allocated from ``print_allocations`` (printed by C++ on file descriptor 2, captured here).
`compare_outputs` runs TFLM and ai-edge-litert (reference kernels, and the default XNNPACK
kernels separately) on the same int8 inputs, e.g. `real_model_inputs` of a run's test clips.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import sys
import tempfile
from pathlib import Path
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np

from tinyaudio.errors import McuCheckError

if TYPE_CHECKING:
    from tinyaudio.data import Clip
    from tinyaudio.features.config import FeatureConfig


@dataclasses.dataclass(frozen=True)
class Board:
    """A target board's memory: SRAM for the arena (and everything else), flash for the model."""

    name: str
    sram_bytes: int
    flash_bytes: int


BOARDS: dict[str, Board] = {
    "rp2040": Board("Raspberry Pi Pico (RP2040)", 264 * 1024, 2 * 1024 * 1024),
    "nano33ble": Board("Arduino Nano 33 BLE (nRF52840)", 256 * 1024, 1024 * 1024),
}



@dataclasses.dataclass(frozen=True)
class McuReport:
    """What `check_mcu` found.

    Attributes:
        ops: builtin op names in the model, in first-use order (custom ops as ``CUSTOM:name``).
        arena_bytes: tensor arena TFLM allocated ("Arena allocation total").
        flash_bytes: size of the ``.tflite`` flatbuffer (what ``model_data.cc`` holds).
        board: the board checked against.
        fits: arena <= board SRAM and model <= board flash. Code size, the audio buffer and
            the frontend (`ta_frontend_t`, about 10 * n_fft bytes) come on top.
    """

    ops: tuple[str, ...]
    arena_bytes: int
    flash_bytes: int
    board: Board
    fits: bool

    def summary(self) -> str:
        """Lines for the CLI: op list, arena, flash, fits."""
        sram, flash = self.board.sram_bytes, self.board.flash_bytes
        return "\n".join([
            f"ops: {', '.join(self.ops)}",
            f"arena: {self.arena_bytes} bytes ({100 * self.arena_bytes / sram:.1f} % of {sram // 1024} KB SRAM)",
            f"flash: {self.flash_bytes} bytes of model ({100 * self.flash_bytes / flash:.1f} % of {flash // 1024} KB)",
            f"{self.board.name}: {'fits' if self.fits else 'DOES NOT FIT'}",
        ])


@contextlib.contextmanager
def _capture_fd2() -> Iterator[list[str]]:
    """Collect what C / C++ code writes to file descriptor 2 (Python's sys.stderr is not enough)."""
    captured: list[str] = []
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield captured
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            captured.append(tmp.read().decode(errors="replace"))


def model_ops(model: bytes) -> tuple[str, ...]:
    """Op names used by a ``.tflite`` flatbuffer, in order of first use."""
    from tflite_micro import runtime

    parsed = runtime.convert_bytearray_to_object(bytearray(model))
    names = {v: k for k, v in vars(runtime.schema_fb.BuiltinOperator).items() if not k.startswith("_")}
    codes = []
    for oc in parsed.operatorCodes:
        code = runtime.get_builtin_code_from_operator_code(oc)
        name = names.get(code, f"BUILTIN_{code}")
        if name == "CUSTOM":
            custom = oc.customCode.decode() if isinstance(oc.customCode, bytes) else oc.customCode
            name = f"CUSTOM:{custom}"
        codes.append(name)
    seen: dict[str, None] = {}
    for graph in parsed.subgraphs:
        for op in graph.operators or []:
            seen.setdefault(codes[op.opcodeIndex], None)
    return tuple(seen)


def check_mcu(model: str | os.PathLike | bytes, *, board: str = "rp2040", max_arena_bytes: int = 4 * 1024 * 1024) -> McuReport:
    """Load a ``.tflite`` model in TFLite Micro and report ops, arena, flash and fit.

    Args:
        model: path of the ``.tflite`` file or its bytes (int8 models are what boards run).
        board: key of `BOARDS`.
        max_arena_bytes: arena handed to the interpreter; the report gives what it used.

    Returns:
        `McuReport`.

    Raises:
        McuCheckError: the model does not load; the message names the op TFLM lacks and the fix.
        ImportError: ``tflite-micro`` is not installed.
        McuCheckError: unknown board (the known ones listed), or an unreadable model file.
    """
    try:
        from tflite_micro import runtime
    except ImportError:
        raise ImportError("check_mcu needs the tflite-micro package: pip install tflite-micro") from None
    if board not in BOARDS:
        raise McuCheckError(f"unknown board {board!r}; use one of {', '.join(BOARDS)}")
    target = BOARDS[board]
    name = "model" if isinstance(model, (bytes, bytearray)) else str(model)
    try:
        data = Path(model).read_bytes() if not isinstance(model, (bytes, bytearray)) else bytes(model)
    except OSError as exc:
        raise McuCheckError(f"{name}: cannot read ({exc.strerror or exc})") from None
    try:
        ops = model_ops(data)
    except Exception as exc:  # a corrupt flatbuffer fails deep inside the generated parser
        raise McuCheckError(f"{name}: not a valid .tflite flatbuffer ({type(exc).__name__}); re-export the model") from None
    with _capture_fd2() as log:
        try:
            interpreter = runtime.Interpreter.from_bytes(data, arena_size=max_arena_bytes)
            interpreter.print_allocations()
            error = None
        except Exception as exc:  # TFLM raises RuntimeError with little detail; its log has the op
            error = exc
    text = "".join(log)
    if error is not None:
        missing = re.search(r"Didn't find op for builtin opcode '(\w+)'", text) or re.search(r"opcode '?(\w+)'?", text)
        op = missing.group(1) if missing else None
        hint = (
            f"TFLite Micro has no kernel for {op}; replace that layer (e.g. keras GlobalAveragePooling2D -> "
            "AveragePooling2D + Reshape) or register a custom op" if op else "see the TFLM log below"
        )
        raise McuCheckError(f"model does not load in TFLite Micro: {error}. {hint}\n{text.strip()[-1500:]}") from None
    total = re.search(r"Arena allocation total (\d+) bytes", text)
    if not total:
        raise McuCheckError(f"TFLite Micro printed no arena size; its log:\n{text.strip()[-1500:]}")
    arena = int(total.group(1))
    fits = arena <= target.sram_bytes and len(data) <= target.flash_bytes
    return McuReport(ops=ops, arena_bytes=arena, flash_bytes=len(data), board=target, fits=fits)


@dataclasses.dataclass(frozen=True)
class TensorQuantization:
    """Shape, dtype and per-tensor ``(scale, zero_point)`` of a model's input or output tensor."""

    shape: tuple[int, ...]
    dtype: str
    scale: float
    zero_point: int


def model_io(model: bytes) -> tuple[TensorQuantization, TensorQuantization]:
    """Input 0 and output 0 of a ``.tflite`` model, as TFLite Micro reads them.

    Raises:
        McuCheckError: the model does not load in TFLM (see `check_mcu` for the op message).
    """
    from tflite_micro import runtime

    with _capture_fd2() as log:
        try:
            interpreter = runtime.Interpreter.from_bytes(bytes(model), arena_size=4 * 1024 * 1024)
            details = [interpreter.get_input_details(0), interpreter.get_output_details(0)]
        except Exception as exc:
            error = exc
        else:
            error = None
    if error is not None:
        raise McuCheckError(f"model does not load in TFLite Micro: {error}\n{''.join(log).strip()[-1500:]}") from None
    out = []
    for d in details:
        q = d.get("quantization_parameters") or {}
        scales, zeros = list(q.get("scales", [])), list(q.get("zero_points", []))
        out.append(TensorQuantization(
            shape=tuple(int(s) for s in d["shape"]),
            dtype=str(d["dtype"].__name__ if isinstance(d["dtype"], type) else d["dtype"]),
            scale=float(scales[0]) if scales else 0.0,
            zero_point=int(zeros[0]) if zeros else 0,
        ))
    return out[0], out[1]


def quantize_features(features: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """Float features -> int8 model input: ``round(x / scale) + zero_point``, saturated.

    The formula (and float32 arithmetic, round half to even) of
    `tinyaudio.runtime.litert.TFLiteModel.quantize_input`, which the tests check it equals.

    Returns:
        int8 array of the same shape.
    """
    x = np.asarray(features, dtype=np.float32)
    q = np.round(x / np.float32(scale)) + zero_point
    return np.clip(q, -128, 127).astype(np.int8)


@dataclasses.dataclass(frozen=True)
class OutputComparison:
    """int8 outputs of TFLite Micro against ai-edge-litert on the same int8 inputs.

    Attributes:
        n_inputs: examples compared.
        n_values: output values compared (n_inputs x outputs per example).
        max_diff_lsb: max |TFLM - LiteRT reference kernels| in int8 steps (0 = bit-exact).
        n_differing: output values that differ from the reference kernels.
        argmax_agreement: share of examples whose arg-max agrees with the reference kernels.
        xnnpack_max_diff_lsb, xnnpack_n_differing: the same against LiteRT's default
            (XNNPACK / optimized) kernels; None when not measured.
    """

    n_inputs: int
    n_values: int
    max_diff_lsb: int
    n_differing: int
    argmax_agreement: float
    xnnpack_max_diff_lsb: int | None = None
    xnnpack_n_differing: int | None = None

    @property
    def bit_exact(self) -> bool:
        return self.max_diff_lsb == 0

    def summary(self) -> str:
        lines = [
            f"TFLM vs LiteRT reference kernels on {self.n_inputs} real clips: "
            + ("bit-exact" if self.bit_exact else "NOT bit-exact")
            + f" (max |diff| {self.max_diff_lsb} LSB, {self.n_differing} of {self.n_values} outputs differ, "
            f"arg-max agrees on {100 * self.argmax_agreement:.1f} %)"
        ]
        if self.xnnpack_max_diff_lsb is not None:
            lines.append(
                f"TFLM vs LiteRT default (XNNPACK) kernels: max |diff| {self.xnnpack_max_diff_lsb} LSB, "
                f"{self.xnnpack_n_differing} of {self.n_values} outputs differ (optimized kernels round "
                "differently; the board runs TFLM, which matches the reference kernels)"
            )
        return "\n".join(lines)


def tflm_outputs(model: bytes, inputs: np.ndarray, *, arena_size: int = 4 * 1024 * 1024) -> np.ndarray:
    """Raw outputs of TFLite Micro (reference kernels) for int8 inputs.

    Args:
        inputs: shape (n, *input_shape[1:]) in the model's input dtype.

    Returns:
        shape (n, n_outputs), the model's output dtype.
    """
    from tflite_micro import runtime

    with _capture_fd2():
        interpreter = runtime.Interpreter.from_bytes(bytes(model), arena_size=arena_size)
        shape = tuple(int(s) for s in interpreter.get_input_details(0)["shape"])
        out = []
        for x in inputs:
            interpreter.set_input(np.ascontiguousarray(x).reshape(shape), 0)
            interpreter.invoke()
            out.append(np.array(interpreter.get_output(0)).reshape(-1))
    return np.stack(out) if out else np.zeros((0, 0))


def litert_outputs(model: bytes, inputs: np.ndarray, *, reference_kernels: bool = True) -> np.ndarray:
    """Raw outputs of ai-edge-litert for the same inputs as `tflm_outputs`.

    ``reference_kernels`` selects ``OpResolverType.BUILTIN_REF`` (TFLite's reference kernels, what
    TFLM implements); False uses the default resolver (XNNPACK / optimized kernels).
    """
    from ai_edge_litert import interpreter as litert

    resolver = litert.OpResolverType.BUILTIN_REF if reference_kernels else litert.OpResolverType.AUTO
    interp = litert.Interpreter(model_content=bytes(model), experimental_op_resolver_type=resolver)
    interp.allocate_tensors()
    inp, outp = interp.get_input_details()[0], interp.get_output_details()[0]
    out = []
    for x in inputs:
        interp.set_tensor(inp["index"], np.ascontiguousarray(x).reshape(inp["shape"]))
        interp.invoke()
        out.append(interp.get_tensor(outp["index"]).reshape(-1).copy())
    return np.stack(out) if out else np.zeros((0, 0))


def compare_outputs(model: str | os.PathLike | bytes, inputs: np.ndarray, *, xnnpack: bool = True) -> OutputComparison:
    """Run TFLite Micro and ai-edge-litert on the same int8 inputs and count differing outputs.

    Args:
        model: ``.tflite`` path or bytes.
        inputs: int8, shape (n, *input_shape[1:]) (e.g. from `real_model_inputs`).
        xnnpack: also compare against LiteRT's default kernels (reported separately).

    Returns:
        `OutputComparison`; ``max_diff_lsb == 0`` is the bit-exactness the device relies on.
    """
    data = Path(model).read_bytes() if not isinstance(model, (bytes, bytearray)) else bytes(model)
    micro = tflm_outputs(data, inputs).astype(np.int32)
    ref = litert_outputs(data, inputs, reference_kernels=True).astype(np.int32)
    diff = np.abs(micro - ref)
    kwargs: dict = {}
    if xnnpack:
        fast = np.abs(micro - litert_outputs(data, inputs, reference_kernels=False).astype(np.int32))
        kwargs = {"xnnpack_max_diff_lsb": int(fast.max(initial=0)), "xnnpack_n_differing": int(np.count_nonzero(fast))}
    agree = float(np.mean(micro.argmax(axis=1) == ref.argmax(axis=1))) if len(micro) else 1.0
    return OutputComparison(
        n_inputs=len(inputs), n_values=int(diff.size), max_diff_lsb=int(diff.max(initial=0)),
        n_differing=int(np.count_nonzero(diff)), argmax_agreement=agree, **kwargs,
    )


def real_model_inputs(model: bytes, config: FeatureConfig, clips: Sequence[Clip]) -> np.ndarray:
    """int8 model inputs of real clips, as the firmware's model sees them.

    Computes ``config``'s features of each clip (the float frontend, as `tinyaudio predict` does)
    and quantizes them with the model's input scale and zero point.
    `tinyaudio.pipeline.run_model_inputs` picks the clips of a run's own dataset split.

    Args:
        model: int8 ``.tflite`` bytes.
        config: the model's `FeatureConfig`.
        clips: `tinyaudio.data.Clip` records.

    Returns:
        int8, shape (n, n_frames, n_features, 1); n < len(clips) when some clips cannot be read.
    """
    from tinyaudio.features.cache import dataset_features

    features, _, _ = dataset_features(list(clips), config, progress=False)
    inp, _ = model_io(model)
    return quantize_features(features, inp.scale, inp.zero_point)[..., None]


@dataclasses.dataclass(frozen=True)
class CodegenComparison:
    """The plain-C model of `tinyaudio.export.codegen` against TFLite Micro.

    Attributes:
        arena_size: bytes of the generated model's static arena (its whole tensor RAM).
        peak_live_bytes: largest set of tensors live at once (the lower bound of any plan).
        weights_bytes: constant data in flash.
        n_inputs, n_differing, max_diff_lsb: outputs compared on the same int8 inputs
            (n_inputs 0 when no C compiler was available or no inputs were given).
        error: why the model could not be generated or compiled, else None.
    """

    arena_size: int = 0
    peak_live_bytes: int = 0
    weights_bytes: int = 0
    n_inputs: int = 0
    n_differing: int = 0
    max_diff_lsb: int = 0
    error: str | None = None

    def summary(self, tflm_arena_bytes: int) -> str:
        if self.error and not self.arena_size:
            return f"plain C (tinyaudio.export.codegen): not available: {self.error}"
        line = (f"plain C (tinyaudio.export.codegen): arena {self.arena_size} bytes (TFLM {tflm_arena_bytes}), "
                f"peak live tensors {self.peak_live_bytes} bytes, {self.weights_bytes} bytes of constants")
        if self.n_inputs:
            verdict = "bit-exact" if self.max_diff_lsb == 0 else f"NOT bit-exact ({self.n_differing} outputs differ)"
            line += f"\ngenerated C vs TFLM on {self.n_inputs} real clips: {verdict}"
        elif self.error:
            line += f"\ngenerated C not run: {self.error}"
        return line


def compare_codegen(model: str | os.PathLike | bytes, inputs: np.ndarray | None = None) -> CodegenComparison:
    """Generate the plain-C model, compile it with the host gcc and compare it with TFLite Micro.

    Never raises for a model the generator or compiler cannot handle: the result carries the reason.
    """
    from tinyaudio.export.codegen import CodegenError, build_host_model, run_host_model
    from tinyaudio.export.codegen.build import BuildError

    data = Path(model).read_bytes() if not isinstance(model, (bytes, bytearray)) else bytes(model)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            exe, generated = build_host_model(data, tmp)
        except CodegenError as exc:
            return CodegenComparison(error=str(exc))
        except BuildError as exc:
            from tinyaudio.export.codegen import generate_c

            g = generate_c(data)
            return CodegenComparison(g.arena_size, g.plan.peak_live_bytes, g.weights_bytes, error=str(exc).splitlines()[0])
        sizes = dict(arena_size=generated.arena_size, peak_live_bytes=generated.plan.peak_live_bytes,
                     weights_bytes=generated.weights_bytes)
        if inputs is None or not len(inputs):
            return CodegenComparison(**sizes)
        got = run_host_model(exe, inputs, int(np.prod(generated.output_shape))).astype(np.int32)
    diff = np.abs(got - tflm_outputs(data, inputs).astype(np.int32))
    return CodegenComparison(**sizes, n_inputs=len(inputs), n_differing=int(np.count_nonzero(diff)),
                             max_diff_lsb=int(diff.max(initial=0)))
