"""Will this ``.tflite`` model run on the board? TFLite Micro's own interpreter answers.

`check_mcu` loads the model with the ``tflite-micro`` Python package (the TFLM C++ runtime
with its reference kernels), which fails on any op TFLM does not register, and reads the arena
it allocated from ``print_allocations`` (printed by C++ on file descriptor 2, captured here).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Iterator

from tinyaudio.errors import TinyAudioError


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


class McuCheckError(TinyAudioError):
    """The model does not load in TFLite Micro (unsupported op, corrupt file, arena too small)."""


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
        KeyError: unknown board.
    """
    try:
        from tflite_micro import runtime
    except ImportError:
        raise ImportError("check_mcu needs the tflite-micro package: pip install tflite-micro") from None
    target = BOARDS[board]
    data = Path(model).read_bytes() if not isinstance(model, (bytes, bytearray)) else bytes(model)
    try:
        ops = model_ops(data)
    except Exception as exc:  # a corrupt flatbuffer fails deep inside the generated parser
        raise McuCheckError(f"not a valid .tflite flatbuffer ({type(exc).__name__}: {exc}); re-export the model") from None
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
