"""The C q15 frontend cross-compiled for a Cortex-M3 and run under QEMU equals Python bit for bit."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

pytest.importorskip("cmsisdsp", reason="q15 frontend needs cmsisdsp==1.10.3 (pip install 'tinyaudio[mcu]')")

from tinyaudio.export.mcu import BuildError, build_qemu_frontend, run_qemu_frontend  # noqa: E402
from tinyaudio.export.mcu.build import ARM_CC  # noqa: E402
from tinyaudio.export.mcu.qemu import QEMU  # noqa: E402
from tinyaudio.features.q15 import compute_features_q15  # noqa: E402

from test_mcu_frontend import CONFIGS, real_clips  # noqa: E402  (tests/export is on sys.path)

pytestmark = pytest.mark.skipif(
    shutil.which(ARM_CC) is None or shutil.which(QEMU) is None,
    reason=f"{ARM_CC} / {QEMU} not found (Debian: apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm)",
)


@pytest.mark.parametrize("name", ["mfcc_49x10", "spectrogram_seed"])
def test_cortex_m3_under_qemu_is_bit_exact(tmp_path, name):
    config = CONFIGS[name]
    clips = real_clips(config)
    try:
        elf = build_qemu_frontend(config, tmp_path)
    except BuildError as exc:
        if "download" in str(exc):
            pytest.skip(f"CMSIS-DSP sources unavailable: {exc}")
        raise
    run = run_qemu_frontend(elf, clips, config)
    want = compute_features_q15(clips, config)
    mismatch = np.argwhere(run.features != want)
    assert len(mismatch) == 0, f"{len(mismatch)} values differ, first at (clip, frame, feature) {mismatch[0]}"
    # A 512-point MFCC frame is ~1.3e5 instructions on an M3 without the DSP extension.
    assert 1e4 < run.instructions_per_frame < 1e6, run.instructions_per_frame
