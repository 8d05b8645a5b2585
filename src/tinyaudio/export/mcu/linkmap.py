"""Flash and RAM of a firmware ELF, split into model, frontend and the rest (``arm-none-eabi-size``)."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from tinyaudio.errors import BuildError
from tinyaudio.export.codegen.build import run_checked as _run
from tinyaudio.export.mcu.build import FIRMWARE_MODEL_SOURCES, FIRMWARE_PROJECT_SOURCES


@dataclass(frozen=True)
class FirmwareMemory:
    """Static memory of a firmware ELF (heap and stack not included).

    Attributes:
        flash_bytes: code + constants + initial values of ``.data`` (what a board's flash holds).
        ram_bytes: ``.data`` + ``.bss``.
        parts: ``{"model": (flash, ram), "frontend": (flash, ram), "harness+libc": (flash, ram)}``
            from the link map: the generated model and its kernels (weights, arena); the q15
            frontend, pipeline and CMSIS-DSP, and the harness's ``ta_pipe`` (the
            ``ta_pipeline_t`` any firmware holds); the rest (test harness, newlib, semihosting).
            Empty when there is no ``.map`` next to the ELF.
    """

    flash_bytes: int
    ram_bytes: int
    parts: dict[str, tuple[int, int]]


#: Object file stems of each `FirmwareMemory.parts` entry (CMSIS-DSP: every ``arm_*`` object).
_MODEL_OBJECTS = {Path(s).stem for s in FIRMWARE_MODEL_SOURCES}
_FRONTEND_OBJECTS = {Path(s).stem for s in FIRMWARE_PROJECT_SOURCES}


def firmware_memory(elf: str | os.PathLike) -> FirmwareMemory:
    """Flash and RAM of a `build_qemu_firmware` ELF, from ``arm-none-eabi-size -A`` and its link map.

    Raises:
        BuildError: ``arm-none-eabi-size`` missing (Debian: binutils-arm-none-eabi) or fails.
    """
    elf = Path(elf)
    size_tool = shutil.which("arm-none-eabi-size")
    if size_tool is None:
        raise BuildError("arm-none-eabi-size not found; install it (Debian: apt-get install binutils-arm-none-eabi)")
    sections: dict[str, int] = {}
    for line in _run([size_tool, "-A", str(elf)], f"reading section sizes of {elf}").stdout.splitlines():
        fields = line.split()
        if len(fields) == 3 and fields[0].startswith(".") and fields[1].isdigit():
            sections[fields[0]] = int(fields[1])
    data, bss = sections.get(".data", 0), sections.get(".bss", 0)
    flash = sections.get(".text", 0) + sections.get(".rodata", 0) + sections.get(".ARM.exidx", 0) + data
    parts: dict[str, list[int]] = {"model": [0, 0], "frontend": [0, 0], "harness+libc": [0, 0]}
    map_file = elf.with_suffix(".map")
    if not map_file.exists():
        return FirmwareMemory(flash_bytes=flash, ram_bytes=data + bss, parts={})
    text = map_file.read_text(errors="replace")
    text = text[text.find("Linker script and memory map") :]
    pending = ""
    for line in text.splitlines():
        # input sections: " .text.foo  0x00001234  0x40 path/obj.o", or the name alone on its line
        # and the numbers on the next one (long names); output sections start at column 0.
        fields = line.split()
        if line.startswith(" ") and not line.startswith("  ") and fields and (fields[0].startswith(".") or fields[0] == "COMMON"):
            name, fields = fields[0], fields[1:]
            if not fields:
                pending = name
                continue
        elif pending and line.startswith("  "):
            name = pending
        else:
            pending = ""
            continue
        pending = ""
        if len(fields) != 3 or not fields[0].startswith("0x") or not fields[1].startswith("0x"):
            continue
        size, obj = int(fields[1], 16), Path(fields[2].split("(")[0]).stem
        if size == 0 or name.startswith((".debug", ".comment", ".ARM.attributes")):
            continue
        frontend = obj in _FRONTEND_OBJECTS or obj.startswith("arm_") or name.endswith(".ta_pipe")
        part = "model" if obj in _MODEL_OBJECTS else "frontend" if frontend else "harness+libc"
        if name.startswith((".text", ".rodata", ".ARM.exidx")):
            parts[part][0] += size
        elif name.startswith(".data"):
            parts[part][0] += size
            parts[part][1] += size
        elif name.startswith((".bss", "COMMON")):
            parts[part][1] += size
    return FirmwareMemory(flash_bytes=flash, ram_bytes=data + bss, parts={k: (v[0], v[1]) for k, v in parts.items()})
