"""Microcontroller export: the q15 CMSIS-DSP frontend in C, and building / running it.

`write_frontend` writes ``ta_frontend_config.h`` (every constant, generated from a
`FeatureConfig`), ``ta_frontend.h`` and ``ta_frontend.c``; `build_host_frontend` compiles them
with the host gcc against CMSIS-DSP sources fetched from PyPI, for tests that compare the C
output with `tinyaudio.features.q15.compute_features_q15` bit for bit; `build_qemu_frontend`
cross-compiles the same files for a Cortex-M3 that `run_qemu_frontend` runs under QEMU;
`build_qemu_firmware` / `run_qemu_firmware` do the same for a whole exported project (frontend,
pipeline and generated plain-C model) and `firmware_memory` reads its flash and RAM.
"""

from tinyaudio.export.mcu.frontend import frontend_header, write_frontend
from tinyaudio.errors import BuildError
from tinyaudio.export.mcu.build import (
    build_host_frontend,
    build_qemu_firmware,
    build_qemu_frontend,
    cmsis_dsp_objects,
    run_host_frontend,
)
from tinyaudio.export.mcu.linkmap import FirmwareMemory, firmware_memory
from tinyaudio.export.mcu.qemu import FirmwareRun, QemuRun, run_qemu_firmware, run_qemu_frontend
from tinyaudio.export.mcu.sources import cmsis_dsp_root

__all__ = [
    "BuildError",
    "FirmwareMemory",
    "FirmwareRun",
    "QemuRun",
    "build_host_frontend",
    "build_qemu_firmware",
    "build_qemu_frontend",
    "cmsis_dsp_objects",
    "cmsis_dsp_root",
    "firmware_memory",
    "frontend_header",
    "run_host_frontend",
    "run_qemu_firmware",
    "run_qemu_frontend",
    "write_frontend",
]
