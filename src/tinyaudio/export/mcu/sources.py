"""CMSIS-DSP's C sources for the frontend: fetched once from PyPI into the tinyaudio cache.

CMSIS-DSP is never committed: its C sources come from the ``cmsisdsp`` source distribution on
PyPI (the same version as the Python package, so the host build and ``cmsisdsp`` run the same
code), downloaded once into the tinyaudio cache (``$TINYAUDIO_CACHE``, else
``~/.cache/tinyaudio``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

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
