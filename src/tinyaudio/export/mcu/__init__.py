"""Microcontroller export: the q15 CMSIS-DSP frontend in C, and building / running it.

`write_frontend` writes ``ta_frontend_config.h`` (every constant, generated from a
`FeatureConfig`), ``ta_frontend.h`` and ``ta_frontend.c``; `build_host_frontend` compiles them
with the host gcc against CMSIS-DSP sources fetched from PyPI, for tests that compare the C
output with `tinyaudio.features.q15.compute_features_q15` bit for bit.
"""

from tinyaudio.export.mcu.frontend import frontend_header, write_frontend
from tinyaudio.export.mcu.toolchain import (
    BuildError,
    build_host_frontend,
    cmsis_dsp_objects,
    cmsis_dsp_root,
    run_host_frontend,
)

__all__ = [
    "BuildError",
    "build_host_frontend",
    "cmsis_dsp_objects",
    "cmsis_dsp_root",
    "frontend_header",
    "run_host_frontend",
    "write_frontend",
]
