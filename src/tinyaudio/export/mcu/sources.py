"""CMSIS-DSP's C sources for the frontend: fetched once from PyPI into the tinyaudio cache.

CMSIS-DSP is never committed: its C sources come from the ``cmsisdsp`` source distribution on
PyPI (the same version as the Python package, so the host build and ``cmsisdsp`` run the same
code), downloaded once into the tinyaudio cache (``$TINYAUDIO_CACHE``, else
``~/.cache/tinyaudio``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np

from tinyaudio.errors import BuildError
from tinyaudio.paths import cache_root

CMSISDSP_VERSION = "1.10.3"

#: CMSIS-DSP files the frontend links (paths under ``Source/``).
CMSIS_DSP_SOURCES = (
    "BasicMathFunctions/arm_abs_q15.c",
    "BasicMathFunctions/arm_add_q15.c",
    "BasicMathFunctions/arm_dot_prod_q15.c",
    "BasicMathFunctions/arm_mult_q15.c",
    "BasicMathFunctions/arm_offset_q31.c",
    "BasicMathFunctions/arm_scale_q15.c",
    "BasicMathFunctions/arm_scale_q31.c",
    "BasicMathFunctions/arm_shift_q15.c",
    "BasicMathFunctions/arm_shift_q31.c",
    "CommonTables/arm_common_tables.c",
    "CommonTables/arm_const_structs.c",
    "ComplexMathFunctions/arm_cmplx_mag_q15.c",
    "FastMathFunctions/arm_divide_q15.c",
    "FastMathFunctions/arm_sqrt_q31.c",
    "FastMathFunctions/arm_vlog_q31.c",
    "MatrixFunctions/arm_mat_vec_mult_q15.c",
    "StatisticsFunctions/arm_absmax_q15.c",
    "TransformFunctions/arm_bitreversal.c",
    "TransformFunctions/arm_bitreversal2.c",
    "TransformFunctions/arm_cfft_init_q15.c",
    "TransformFunctions/arm_cfft_q15.c",
    "TransformFunctions/arm_cfft_radix2_q15.c",
    "TransformFunctions/arm_cfft_radix4_q15.c",
    "TransformFunctions/arm_mfcc_init_q15.c",
    "TransformFunctions/arm_mfcc_q15.c",
    "TransformFunctions/arm_rfft_init_q15.c",
    "TransformFunctions/arm_rfft_q15.c",
)


def cmsis_dsp_root(cache_dir: str | os.PathLike | None = None) -> Path:
    """Folder holding CMSIS-DSP's ``Include``, ``PrivateInclude`` and ``Source`` (fetched once).

    Downloads ``cmsisdsp==1.10.3`` as a source distribution with pip (no build) and unpacks
    the three folders into ``<cache>/cmsisdsp-1.10.3``.

    Raises:
        BuildError: pip could not download the sdist (offline, no index) or it lacks a folder.
    """
    root = cache_root(cache_dir) / f"cmsisdsp-{CMSISDSP_VERSION}"
    if (root / ".complete").exists():
        return root
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps",
            "--no-build-isolation", "--disable-pip-version-check", "-q", "-d", tmp, f"cmsisdsp=={CMSISDSP_VERSION}",
        ]
        result = subprocess.run(cmd, capture_output=True, text=True)
        archives = list(Path(tmp).glob("cmsisdsp-*.tar.gz"))
        if result.returncode != 0 or not archives:
            raise BuildError(
                f"could not download the cmsisdsp {CMSISDSP_VERSION} source distribution with pip "
                f"({result.stderr.strip().splitlines()[-1] if result.stderr.strip() else 'no archive'}); "
                "check network access to PyPI or set TINYAUDIO_CACHE to a folder that has it"
            )
        staging = Path(tempfile.mkdtemp(dir=root.parent if root.parent.exists() else None))
        with tarfile.open(archives[0]) as tar:
            prefix = f"cmsisdsp-{CMSISDSP_VERSION}/"
            wanted = tuple(prefix + folder + "/" for folder in ("Include", "PrivateInclude", "Source"))
            members = [m for m in tar.getmembers() if m.name.startswith(wanted)]
            for m in members:
                m.name = m.name[len(prefix) :]
            tar.extractall(staging, members=members, filter="data")
    for folder in ("Include", "PrivateInclude", "Source"):
        if not (staging / folder).is_dir():
            shutil.rmtree(staging, ignore_errors=True)
            raise BuildError(f"cmsisdsp {CMSISDSP_VERSION} sdist has no {folder}/ folder; the package layout changed")
    root.parent.mkdir(parents=True, exist_ok=True)
    if root.exists():
        shutil.rmtree(root)
    os.replace(staging, root)
    (root / ".complete").write_text(CMSISDSP_VERSION + "\n")
    return root


def split_rfft_twiddles_q15(n_fft: int, cache_dir: str | os.PathLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The twiddles an ``n_fft``-point ``arm_rfft_q15`` reads from CMSIS-DSP's shared tables.

    ``arm_split_rfft_q15`` reads ``realCoefAQ15`` / ``realCoefBQ15`` (8192 values each, made for
    an 8192-point FFT) with a stride, ``twidCoefRModifier = 8192 / n_fft``: pairs ``2 * m * i`` and
    ``2 * m * i + 1`` for ``i < n_fft / 2``. These are exactly those values, in order, so a
    firmware that sets the stride to 1 computes the same FFT without linking the 32 KB tables.

    Returns:
        ``(A, B)``: int16 arrays of ``n_fft`` values each, parsed from ``arm_common_tables.c``.

    Raises:
        BuildError: CMSIS-DSP sources unavailable, or the tables not found in them.
    """
    text = (cmsis_dsp_root(cache_dir) / "Source" / "CommonTables" / "arm_common_tables.c").read_text()
    stride = 8192 // n_fft
    index = (2 * stride * np.arange(n_fft // 2)[:, None] + np.arange(2)[None, :]).reshape(-1)
    out = []
    for name in ("realCoefAQ15", "realCoefBQ15"):
        match = re.search(name + r"\[8192\][^{]*\{([^}]*)\}", text)
        if match is None:
            raise BuildError(f"{name} not found in CMSIS-DSP {CMSISDSP_VERSION}'s arm_common_tables.c")
        values = np.array([int(v, 16) for v in re.findall(r"0x([0-9a-fA-F]+)", match.group(1))], dtype=np.int64)
        if len(values) != 8192:
            raise BuildError(f"{name}: {len(values)} values in arm_common_tables.c, expected 8192")
        out.append(((values + 0x8000) % 0x10000 - 0x8000).astype(np.int16)[index])
    return out[0], out[1]
