"""Fetch the CMSIS-DSP sources and compile the C frontend for the host (tests) or a Cortex-M.

CMSIS-DSP is never committed: its C sources come from the ``cmsisdsp`` source distribution on
PyPI (the same version as the Python package, so the host build and ``cmsisdsp`` run the same
code), downloaded once into the tinyaudio cache (``$TINYAUDIO_CACHE``, else
``~/.cache/tinyaudio``). Object files are cached there too, keyed by compiler and flags.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyaudio.codegen.build import BuildError, find_compiler
from tinyaudio.codegen.build import run_checked as _run
from tinyaudio.data.download import cache_root
from tinyaudio.export.mcu.frontend import write_frontend
from tinyaudio.features.config import FeatureConfig

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

#: Flags matching the Linux x86-64 ``cmsisdsp`` wheel: no CMSIS-Core, plain C intrinsics,
#: loop unrolling on (its CMake build sets LOOPUNROLL=ON).
HOST_CFLAGS = ("-O2", "-std=c11", "-D__GNUC_PYTHON__", "-DARM_MATH_LOOPUNROLL")
#: Cortex-M3 (QEMU mps2-an385) with the same C code paths: CMSIS-Core headers are not in the
#: sdist, so ``__GNUC_PYTHON__`` selects CMSIS-DSP's portable intrinsics (the M3 has no DSP
#: extension, so these are the paths a real M3 build takes too).
CORTEX_M3_CFLAGS = (
    "-mcpu=cortex-m3", "-mthumb", "-O2", "-std=c11", "-D__GNUC_PYTHON__", "-DARM_MATH_LOOPUNROLL",
    "-ffunction-sections", "-fdata-sections",
)
ARM_CC = "arm-none-eabi-gcc"
QEMU = "qemu-system-arm"
_QEMU_TEMPLATE_DIR = Path(__file__).resolve().parent / "templates" / "qemu"


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
    return out.reshape(n_clips, -1, _n_features(config)).astype(np.int16)


def _n_features(config: FeatureConfig) -> int:
    from tinyaudio.features.q15 import q15_tables

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


def _run_qemu(elf: str | os.PathLike, args: tuple[str, ...], cwd: str, timeout_s: float) -> subprocess.CompletedProcess:
    """Run ``elf`` under ``qemu-system-arm -M mps2-an385 -icount shift=0`` with semihosting argv ``args`` in ``cwd``.

    Raises:
        BuildError: QEMU missing (Debian: apt-get install qemu-system-arm), a timeout or a non-zero exit.
    """
    qemu = shutil.which(QEMU)
    if qemu is None:
        raise BuildError(f"{QEMU} not found; install it (Debian: apt-get install qemu-system-arm)")
    argv = ",".join(f"arg={a}" for a in (Path(elf).name, *args))
    cmd = [
        qemu, "-M", "mps2-an385", "-nographic", "-monitor", "none", "-serial", "none", "-icount", "shift=0",
        "-semihosting-config", f"enable=on,target=native,{argv}", "-kernel", str(Path(elf).resolve()),
    ]
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
    n_features = _n_features(config)
    n_frames = out.size // max(1, n_clips * n_features)
    if out.size != n_clips * n_frames * n_features or n_frames == 0:
        raise BuildError(f"QEMU run wrote {out.size} values, not a multiple of {n_clips} clips x {n_features} features")
    fields = [line.split() for line in result.stdout.splitlines()]
    calibration = next((int(f[1]) / int(f[2]) for f in fields if f and f[0] == "calibration_ticks"), None)
    clip_ticks = [int(f[1]) for f in fields if f and f[0] == "clip_ticks"]
    if not calibration or len(clip_ticks) != n_clips:
        raise BuildError(f"QEMU run printed no SysTick figures:\n{result.stdout[-2000:]}")
    per_frame = float(np.mean(clip_ticks)) / calibration / n_frames
    return QemuRun(features=out.reshape(n_clips, n_frames, n_features).astype(np.int16), instructions_per_frame=per_frame)


# -- the whole firmware (frontend + pipeline + generated model) under QEMU ----------------------------

#: Sources of an exported project (target "c") that the firmware compiles, besides the harness.
FIRMWARE_PROJECT_SOURCES = ("ta_frontend.c", "ta_pipeline.c")
#: The generated plain-C model (`tinyaudio.codegen.write_c`) implementing ``ta_model.h``.
FIRMWARE_MODEL_SOURCES = ("ta_model_c.c", "ta_nn.c")


def _firmware_sources(source: Path, out_dir: Path, cache_dir: str | os.PathLike | None) -> tuple[Path, Path]:
    """(project folder, folder holding ta_model_c.c / ta_nn.c / ta_nn.h) for `build_qemu_firmware`."""
    if (source / "ta_pipeline.c").exists():
        project = source
    elif (source / "feature_config.json").exists() and (source / "model_int8.tflite").exists():
        # Imported here: project.py imports this module.
        from tinyaudio.export.mcu.project import export_project

        project = export_project(source, out_dir / "project", target="c", overwrite=True, cache_dir=cache_dir).source_dir
    else:
        raise BuildError(
            f"{source}: neither a project folder from `tinyaudio export --target c` (no ta_pipeline.c) "
            "nor a run folder (no feature_config.json + model_int8.tflite)"
        )
    if all((project / name).exists() for name in (*FIRMWARE_MODEL_SOURCES, "ta_nn.h")):
        return project, project
    if not (project / "model_int8.tflite").exists():
        raise BuildError(f"{project}: has no ta_model_c.c and no model_int8.tflite to generate it from")
    from tinyaudio.codegen import write_c

    model_dir = out_dir / "model_c"
    write_c(project / "model_int8.tflite", model_dir)
    return project, model_dir


def build_qemu_firmware(
    source: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    cache_dir: str | os.PathLike | None = None,
    jobs: int = 2,
) -> Path:
    """Cross-compile an exported project's pipeline and generated C model into a QEMU firmware.

    The firmware is ``ta_frontend.c`` + ``ta_pipeline.c`` (ring buffer, streaming q15 frontend,
    int16 -> int8 input quantization) + the plain-C model (``ta_model_c.c``, ``ta_nn.c``) + the
    semihosting harness ``templates/qemu/ta_firmware_main.c``, for QEMU's mps2-an385 (Cortex-M3,
    `CORTEX_M3_CFLAGS`, newlib ``rdimon.specs``, SysTick instrumentation ``-DTA_QEMU_SYSTICK``).
    When the project has no ``ta_model_c.c`` (exports from before tinyaudio.codegen), it is
    generated from the project's ``model_int8.tflite`` into ``out_dir/model_c``.

    Args:
        source: a project folder written by ``tinyaudio export --target c``, or a run folder
            (exported into ``out_dir/project`` first).
        out_dir: build folder; receives the objects, ``ta_firmware_cm3.elf`` and its link map
            ``ta_firmware_cm3.map`` (read by `firmware_memory`).
        cache_dir: tinyaudio cache holding (or receiving) CMSIS-DSP and its compiled objects.
        jobs: parallel compiler processes.

    Returns:
        Path of ``ta_firmware_cm3.elf``; run it with `run_qemu_firmware`.

    Raises:
        BuildError: ``source`` is neither kind of folder, ``arm-none-eabi-gcc`` / newlib missing
            (Debian: gcc-arm-none-eabi libnewlib-arm-none-eabi), CMSIS-DSP unavailable, or a
            compile / link error.
        ExportError, CodegenError: the run folder cannot be exported or its model lowered to C.
    """
    source, out_dir = Path(source), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    compiler = find_compiler(ARM_CC)
    project, model_dir = _firmware_sources(source, out_dir, cache_dir)
    for name in ("mps2_an385.ld", "startup_cm3.c", "ta_systick.h", "ta_firmware_main.c"):
        shutil.copyfile(_QEMU_TEMPLATE_DIR / name, out_dir / name)
    cmsis = project / "third_party" / "CMSIS-DSP"
    if not (cmsis / "Include").is_dir():
        cmsis = cmsis_dsp_root(cache_dir)
    flags = [*CORTEX_M3_CFLAGS, "-DTA_QEMU_SYSTICK", "--specs=rdimon.specs", "-Wall", "-Wextra"]
    includes = ["-I", str(model_dir), "-I", str(project), "-I", str(cmsis / "Include"), "-I", str(cmsis / "PrivateInclude")]
    sources = [
        out_dir / "startup_cm3.c", out_dir / "ta_firmware_main.c",
        *(project / name for name in FIRMWARE_PROJECT_SOURCES), *(model_dir / name for name in FIRMWARE_MODEL_SOURCES),
    ]
    objects = [out_dir / (src.stem + ".o") for src in sources]

    def compile_one(pair: tuple[Path, Path]) -> None:
        _run([compiler, *flags, *includes, "-c", str(pair[0]), "-o", str(pair[1])], f"compiling {pair[0].name} for the Cortex-M3")

    cmsis_objects = cmsis_dsp_objects(ARM_CC, CORTEX_M3_CFLAGS, cache_dir=cache_dir, jobs=jobs)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        list(pool.map(compile_one, zip(sources, objects)))
    elf = out_dir / "ta_firmware_cm3.elf"
    _run(
        [compiler, *flags, "-T", str(out_dir / "mps2_an385.ld"), "-Wl,--gc-sections",
         f"-Wl,-Map={out_dir / 'ta_firmware_cm3.map'}", *map(str, objects), *map(str, cmsis_objects), "-lm",
         "-o", str(elf)],
        "linking the Cortex-M3 firmware (needs Debian libnewlib-arm-none-eabi)",
    )
    return elf


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


@dataclass(frozen=True)
class FirmwareRun:
    """Result of `run_qemu_firmware`.

    Instruction counts come from SysTick under ``-icount shift=0`` (one instruction per ns),
    calibrated against a block of 10 000 ``nop``s: +- about 40 instructions per measurement.
    They count instructions, not cycles (see benchmarks/mcu_firmware_cycles.py for estimates).

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


def run_qemu_firmware(
    elf: str | os.PathLike, clips: np.ndarray, n_outputs: int, *, timeout_s: float = 600.0
) -> FirmwareRun:
    """Run a `build_qemu_firmware` ELF on int16 clips under ``qemu-system-arm -M mps2-an385 -icount shift=0``.

    Args:
        elf: from `build_qemu_firmware`.
        clips: int16, shape (n_clips, n_samples), at the project's sample rate; each clip is
            pushed whole into a freshly initialised pipeline, then the model is invoked once.
        n_outputs: values in the model's output tensor (``TA_N_OUTPUTS``).
        timeout_s: wall-clock limit for the whole QEMU run, in seconds.

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
        result = _run_qemu(elf, ("in.raw", "out.raw", str(n_samples), "inputs.raw"), tmp, timeout_s)
        outputs = np.fromfile(Path(tmp) / "out.raw", dtype=np.int8)
        inputs = np.fromfile(Path(tmp) / "inputs.raw", dtype=np.int8)
    if outputs.size != n_clips * n_outputs:
        raise BuildError(f"QEMU run wrote {outputs.size} output bytes, not {n_clips} clips x {n_outputs} outputs")
    if inputs.size == 0 or inputs.size % n_clips:
        raise BuildError(f"QEMU run wrote {inputs.size} model-input bytes, not a multiple of {n_clips} clips")
    fields = [line.split() for line in result.stdout.splitlines()]
    calibration = next((int(f[1]) / int(f[2]) for f in fields if len(f) == 3 and f[0] == "calibration_ticks"), None)
    ticks = np.array([[int(v) for v in f[1:]] for f in fields if len(f) == 5 and f[0] == "clip_ticks"], dtype=np.float64)
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
