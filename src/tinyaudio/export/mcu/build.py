"""Compile the C frontend and whole exported projects: for the host (tests) or a Cortex-M core under QEMU.

Object files of CMSIS-DSP are cached in the tinyaudio cache, keyed by compiler and flags.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from tinyaudio.errors import BuildError
from tinyaudio.export.codegen.build import find_compiler, sizes_header
from tinyaudio.export.codegen.generate import TEMPLATE_DIR as CODEGEN_TEMPLATE_DIR, GeneratedModel, write_c
from tinyaudio.export.codegen.build import run_checked as _run
from tinyaudio.export.cpus import DEFAULT_CPU, cpu_cflags
from tinyaudio.export.mcu.frontend import write_frontend
from tinyaudio.export.mcu.sources import CMSIS_DSP_SOURCES, CMSISDSP_VERSION, cmsis_dsp_root
from tinyaudio.features.config import FeatureConfig
from tinyaudio.features.q15 import q15_tables
from tinyaudio.paths import cache_root

#: Flags matching the Linux x86-64 ``cmsisdsp`` wheel: no CMSIS-Core, plain C intrinsics,
#: loop unrolling on (its CMake build sets LOOPUNROLL=ON).
HOST_CFLAGS = ("-O2", "-std=c11", "-D__GNUC_PYTHON__", "-DARM_MATH_LOOPUNROLL")
#: Cortex-M3 (QEMU mps2-an385) with the same C code paths: CMSIS-Core headers are not in the
#: sdist, so ``__GNUC_PYTHON__`` selects CMSIS-DSP's portable intrinsics (the M3 has no DSP
#: extension, so these are the paths a real M3 build takes too). Other cores: `cpu_cflags`.
CORTEX_M3_CFLAGS = cpu_cflags("cortex-m3")
ARM_CC = "arm-none-eabi-gcc"
_QEMU_TEMPLATE_DIR = Path(__file__).resolve().parent / "templates" / "qemu"
QEMU = "qemu-system-arm"


def cmsis_dsp_objects(
    cc: str = "gcc",
    cflags: tuple[str, ...] = HOST_CFLAGS,
    *,
    cache_dir: str | os.PathLike | None = None,
    jobs: int = 2,
) -> list[Path]:
    """Compile `CMSIS_DSP_SOURCES` once per (compiler, flags); later calls reuse the objects.

    Returns:
        The object files, in the order of `CMSIS_DSP_SOURCES`.

    Raises:
        BuildError: no compiler, no sources, or a compile error.
    """
    compiler = find_compiler(cc)
    root = cmsis_dsp_root(cache_dir)
    key = hashlib.sha256(repr((compiler, cflags, CMSIS_DSP_SOURCES, CMSISDSP_VERSION)).encode()).hexdigest()[:12]
    out = cache_root(cache_dir) / "cmsisdsp-build" / f"{Path(cc).name}-{key}"
    objects = [out / (Path(src).stem + ".o") for src in CMSIS_DSP_SOURCES]
    if (out / ".complete").exists():
        return objects
    out.mkdir(parents=True, exist_ok=True)
    includes = ["-I", str(root / "Include"), "-I", str(root / "PrivateInclude")]

    def compile_one(pair: tuple[str, Path]) -> None:
        src, obj = pair
        tmp = obj.with_suffix(f".tmp{os.getpid()}.o")
        _run([compiler, *cflags, *includes, "-c", str(root / "Source" / src), "-o", str(tmp)], f"compiling {src}")
        os.replace(tmp, obj)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        list(pool.map(compile_one, zip(CMSIS_DSP_SOURCES, objects)))
    (out / ".complete").write_text(" ".join(cflags) + "\n")
    return objects


def build_host_frontend(
    config: FeatureConfig,
    out_dir: str | os.PathLike,
    *,
    cc: str = "gcc",
    cache_dir: str | os.PathLike | None = None,
) -> Path:
    """Generate the C frontend for ``config`` and compile it with the host test harness.

    Returns:
        Path of the executable ``ta_frontend_host`` (usage in ``ta_host_main.c``; see
        `run_host_frontend`).

    Raises:
        BuildError: no compiler, CMSIS-DSP sources unavailable, or a compile error.
    """
    out_dir = Path(out_dir)
    write_frontend(config, out_dir, harness=True)
    objects = cmsis_dsp_objects(cc, HOST_CFLAGS, cache_dir=cache_dir)
    root = cmsis_dsp_root(cache_dir)
    exe = out_dir / "ta_frontend_host"
    cmd = [
        find_compiler(cc), *HOST_CFLAGS, "-Wall", "-Wextra", "-I", str(out_dir), "-I", str(root / "Include"),
        "-I", str(root / "PrivateInclude"), str(out_dir / "ta_frontend.c"), str(out_dir / "ta_host_main.c"),
        *map(str, objects), "-lm", "-o", str(exe),
    ]
    _run(cmd, "linking the host frontend")
    return exe


def run_host_frontend(exe: str | os.PathLike, clips: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """Run the compiled C frontend on int16 clips.

    Args:
        exe: from `build_host_frontend` for the same ``config``.
        clips: int16, shape (n_clips, n_samples).

    Returns:
        int16, shape (n_clips, n_frames, n_features): the C frontend's output.
    """
    clips = np.ascontiguousarray(clips, dtype="<i2")
    n_clips, n_samples = clips.shape
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.raw", Path(tmp) / "out.raw"
        clips.tofile(src)
        _run([str(exe), str(src), str(dst), str(n_samples)], f"running {exe}")
        out = np.fromfile(dst, dtype="<i2")
    return out.reshape(n_clips, -1, n_q15_features(config)).astype(np.int16)


def n_q15_features(config: FeatureConfig) -> int:
    """Features per frame of the q15 frontend (``q15_tables(config).n_features``)."""
    return q15_tables(config).n_features


def build_qemu_frontend(
    config: FeatureConfig,
    out_dir: str | os.PathLike,
    *,
    cache_dir: str | os.PathLike | None = None,
) -> Path:
    """Cross-compile the C frontend and the file-in / file-out harness for QEMU's mps2-an385.

    Cortex-M3, newlib with semihosting (``rdimon.specs``) for file I/O and argv, SysTick
    instrumentation on (``-DTA_QEMU_SYSTICK``).

    Returns:
        Path of ``ta_frontend_cm3.elf``; run it with `run_qemu_frontend`.

    Raises:
        BuildError: ``arm-none-eabi-gcc`` / newlib missing, sources unavailable, compile error.
    """
    out_dir = Path(out_dir)
    write_frontend(config, out_dir, harness=True)
    for name in ("mps2_an385.ld", "startup_cm3.c", "ta_systick.h"):
        shutil.copyfile(_QEMU_TEMPLATE_DIR / name, out_dir / name)
    objects = cmsis_dsp_objects(ARM_CC, CORTEX_M3_CFLAGS, cache_dir=cache_dir)
    root = cmsis_dsp_root(cache_dir)
    elf = out_dir / "ta_frontend_cm3.elf"
    cmd = [
        find_compiler(ARM_CC), *CORTEX_M3_CFLAGS, "-DTA_QEMU_SYSTICK", "--specs=rdimon.specs",
        "-T", str(out_dir / "mps2_an385.ld"), "-Wl,--gc-sections", "-I", str(out_dir),
        "-I", str(root / "Include"), "-I", str(root / "PrivateInclude"), str(out_dir / "startup_cm3.c"),
        str(out_dir / "ta_frontend.c"), str(out_dir / "ta_host_main.c"), *map(str, objects), "-lm", "-o", str(elf),
    ]
    _run(cmd, "linking the Cortex-M3 frontend (needs Debian libnewlib-arm-none-eabi)")
    return elf



# -- the whole firmware (frontend + pipeline + generated model) under QEMU ----------------------------

#: Sources of an exported project (target "c") that the firmware compiles, besides the harness.
FIRMWARE_PROJECT_SOURCES = ("ta_frontend.c", "ta_pipeline.c")
#: The generated plain-C model (`tinyaudio.export.codegen.write_c`) implementing ``ta_model.h``.
FIRMWARE_MODEL_SOURCES = ("ta_model_c.c", "ta_nn.c")


def _firmware_sources(project: Path, out_dir: Path, cpu: str) -> tuple[Path, Path]:
    """(project folder, folder holding ta_model_c.c / ta_nn.c / ta_nn.h) for `build_qemu_firmware`."""
    if not (project / "ta_pipeline.c").exists():
        raise BuildError(f"{project}: not a project folder from `tinyaudio export --target c` (no ta_pipeline.c); export the run first")
    if all((project / name).exists() for name in (*FIRMWARE_MODEL_SOURCES, "ta_nn.h")):
        return project, project
    if not (project / "model_int8.tflite").exists():
        raise BuildError(f"{project}: has no ta_model_c.c and no model_int8.tflite to generate it from")

    model_dir = out_dir / cpu / "model_c"
    write_c(project / "model_int8.tflite", model_dir, cpu=cpu)
    return project, model_dir


def build_qemu_firmware(
    source: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    cpu: str = DEFAULT_CPU,
    cache_dir: str | os.PathLike | None = None,
    jobs: int = 2,
) -> Path:
    """Cross-compile an exported project's pipeline and generated C model into a QEMU firmware.

    The firmware is ``ta_frontend.c`` + ``ta_pipeline.c`` (ring buffer, streaming q15 frontend,
    int16 -> int8 input quantization) + the plain-C model (``ta_model_c.c``, ``ta_nn.c``) + the
    semihosting harness ``templates/qemu/ta_firmware_main.c``, built for ``cpu``
    (`tinyaudio.export.cpus.CPUS`: flags, and the QEMU board that runs it), newlib
    ``rdimon.specs``, SysTick instrumentation ``-DTA_QEMU_SYSTICK``. When the project has no
    ``ta_model_c.c`` (exports from before tinyaudio.export.codegen), it is generated from the
    project's ``model_int8.tflite`` into ``out_dir/<cpu>/model_c``.

    Args:
        source: a project folder written by ``tinyaudio export --target c``
            (`tinyaudio.pipeline.export_run`).
        out_dir: build folder; receives the objects (in ``<cpu>/``), ``ta_firmware_<cpu>.elf`` and its link map
            ``ta_firmware_<cpu>.map`` (read by `firmware_memory`).
        cpu: ``"cortex-m0plus"`` (default, the RP2040), ``"cortex-m3"``, ``"cortex-m4"``, ``"cortex-m7"``.
        cache_dir: tinyaudio cache holding (or receiving) CMSIS-DSP and its compiled objects.
        jobs: parallel compiler processes.

    Returns:
        Path of the ELF; run it with `run_qemu_firmware` (same ``cpu``).

    Raises:
        BuildError: an unknown ``cpu``, ``source`` is not an exported project,
            ``arm-none-eabi-gcc`` / newlib missing (Debian: gcc-arm-none-eabi
            libnewlib-arm-none-eabi), CMSIS-DSP unavailable, or a compile / link error.
        CodegenError: the project's model cannot be lowered to C.
    """
    cflags = cpu_cflags(cpu)
    source, out_dir = Path(source), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    compiler = find_compiler(ARM_CC)
    project, model_dir = _firmware_sources(source, out_dir, cpu)
    for name in ("mps2_an385.ld", "startup_cm3.c", "ta_systick.h", "ta_firmware_main.c"):
        shutil.copyfile(_QEMU_TEMPLATE_DIR / name, out_dir / name)
    cmsis = project / "third_party" / "CMSIS-DSP"
    if not (cmsis / "Include").is_dir():
        cmsis = cmsis_dsp_root(cache_dir)
    flags = [*cflags, "-DTA_QEMU_SYSTICK", "--specs=rdimon.specs", "-Wall", "-Wextra"]
    includes = ["-I", str(model_dir), "-I", str(project), "-I", str(cmsis / "Include"), "-I", str(cmsis / "PrivateInclude")]
    sources = [
        out_dir / "startup_cm3.c", out_dir / "ta_firmware_main.c",
        *(project / name for name in FIRMWARE_PROJECT_SOURCES), *(model_dir / name for name in FIRMWARE_MODEL_SOURCES),
    ]
    (out_dir / cpu).mkdir(exist_ok=True)  # one object folder per core: builds for several cores can share out_dir
    objects = [out_dir / cpu / f"{src.stem}.o" for src in sources]

    def compile_one(pair: tuple[Path, Path]) -> None:
        _run([compiler, *flags, *includes, "-c", str(pair[0]), "-o", str(pair[1])], f"compiling {pair[0].name} for the {cpu}")

    cmsis_objects = cmsis_dsp_objects(ARM_CC, cflags, cache_dir=cache_dir, jobs=jobs)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        list(pool.map(compile_one, zip(sources, objects)))
    elf = out_dir / f"ta_firmware_{cpu}.elf"
    _run(
        [compiler, *flags, "-T", str(out_dir / "mps2_an385.ld"), "-Wl,--gc-sections",
         f"-Wl,-Map={elf.with_suffix('.map')}", *map(str, objects), *map(str, cmsis_objects), "-lm",
         "-o", str(elf)],
        f"linking the {cpu} firmware (needs Debian libnewlib-arm-none-eabi)",
    )
    return elf


def build_qemu_model(model: str | os.PathLike | bytes, out_dir: str | os.PathLike, *, cpu: str = DEFAULT_CPU
                     ) -> tuple[Path, GeneratedModel]:
    """Cross-compile one int8 model's generated C, laid out for ``cpu``, with the file-in / file-out
    harness of `tinyaudio.export.codegen.build_host_model` (no frontend) into a QEMU ELF.

    Each core's build runs the code paths it would on the board: packed weights on the
    Cortex-M0+ / M3, SMLAD dual MACs on the M4 / M7.

    Args:
        model: path or bytes of the int8 ``.tflite``.
        out_dir: build folder; the sources and ``ta_model.elf`` go to ``out_dir/<cpu>/``.

    Returns:
        ``(ELF, GeneratedModel)``; run it with `tinyaudio.export.mcu.qemu.run_qemu_model`.

    Raises:
        BuildError: an unknown ``cpu``, no ``arm-none-eabi-gcc`` / newlib, or a compile error.
        CodegenError: the model cannot be lowered to C.
    """
    out = Path(out_dir) / cpu
    generated = write_c(model, out, cpu=cpu)
    (out / "ta_model_c_sizes.h").write_text(sizes_header(generated))
    shutil.copyfile(CODEGEN_TEMPLATE_DIR / "ta_model_host_main.c", out / "ta_model_host_main.c")
    for name in ("mps2_an385.ld", "startup_cm3.c"):
        shutil.copyfile(_QEMU_TEMPLATE_DIR / name, out / name)
    elf = out / "ta_model.elf"
    _run([find_compiler(ARM_CC), *cpu_cflags(cpu), "--specs=rdimon.specs", "-Wall", "-Wextra", "-I", str(out),
          *(str(out / name) for name in ("startup_cm3.c", "ta_model_c.c", "ta_nn.c", "ta_model_host_main.c")),
          "-T", str(out / "mps2_an385.ld"), "-Wl,--gc-sections", "-lm", "-o", str(elf)],
         f"compiling the generated model for the {cpu}")
    return elf, generated
