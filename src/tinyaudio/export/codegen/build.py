"""Compile the generated model with the host C compiler and run it on int8 inputs (tests, checks)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from tinyaudio.export.codegen.generate import TEMPLATE_DIR, GeneratedModel, write_c
from tinyaudio.export.cpus import DEFAULT_CPU
from tinyaudio.errors import BuildError

#: The kernels are integer-only: any C99 compiler and optimisation level gives the same outputs.
HOST_CFLAGS = ("-O2", "-std=c99", "-Wall", "-Wextra")



def find_compiler(cc: str = "gcc") -> str:
    """Absolute path of ``cc``.

    Raises:
        BuildError: not on PATH, naming the Debian package that provides it.
    """
    path = shutil.which(cc)
    if path is None:
        package = "gcc-arm-none-eabi libnewlib-arm-none-eabi" if "arm-none-eabi" in cc else "gcc"
        raise BuildError(f"C compiler {cc!r} not found; install it (Debian: apt-get install {package})")
    return path


def run_checked(cmd: list[str], what: str, **kwargs) -> subprocess.CompletedProcess:
    """Run ``cmd``; raise `BuildError` with the tail of its stderr when it fails."""
    result = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise BuildError(f"{what} failed ({' '.join(cmd[:3])} ...):\n{(result.stderr or result.stdout)[-3000:]}")
    return result


def sizes_header(generated: GeneratedModel) -> str:
    """``ta_model_c_sizes.h``: input / output bytes for harnesses."""
    n_in = int(np.prod(generated.input_shape))
    n_out = int(np.prod(generated.output_shape))
    return (f"#ifndef TA_MODEL_C_SIZES_H\n#define TA_MODEL_C_SIZES_H\n#define TA_CODEGEN_INPUT_BYTES {n_in}\n"
            f"#define TA_CODEGEN_OUTPUT_BYTES {n_out}\n#endif\n")


def build_host_model(model: str | os.PathLike | bytes, out_dir: str | os.PathLike, *, cc: str = "gcc",
                     cpu: str = DEFAULT_CPU, defines: tuple[str, ...] = ()) -> tuple[Path, GeneratedModel]:
    """Generate C for ``model`` into ``out_dir`` and link it with a file-in / file-out harness.

    Args:
        cpu: the core whose layout the C is generated for (`generate_c`); the host runs that
            layout's portable C (the intrinsics and assembly of the core itself need QEMU).
        defines: extra ``-D`` flags, e.g. ``("-DTA_NO_LONG_MULTIPLY=1",)`` for the Cortex-M0+'s
            requantization arithmetic.

    Returns:
        ``(executable, generated)``; run it with `run_host_model`.

    Raises:
        CodegenError: the model cannot be lowered. BuildError: no compiler or a compile error.
    """
    out = Path(out_dir)
    generated = write_c(model, out, cpu=cpu)
    (out / "ta_model_c_sizes.h").write_text(sizes_header(generated))
    shutil.copyfile(TEMPLATE_DIR / "ta_model_host_main.c", out / "ta_model_host_main.c")
    exe = out / "ta_model_host"
    run_checked([find_compiler(cc), *HOST_CFLAGS, *defines, "-I", str(out), str(out / "ta_model_c.c"), str(out / "ta_nn.c"),
                 str(out / "ta_model_host_main.c"), "-lm", "-o", str(exe)], "compiling the generated model")
    return exe, generated


def run_host_model(exe: str | os.PathLike, inputs: np.ndarray, output_size: int) -> np.ndarray:
    """Run a `build_host_model` executable.

    Args:
        inputs: int8, shape (n, ...) with the model's input size per example.
        output_size: values per example.

    Returns:
        int8, shape (n, output_size).
    """
    x = np.ascontiguousarray(inputs, dtype=np.int8)
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.raw", Path(tmp) / "out.raw"
        x.tofile(src)
        run_checked([str(exe), str(src), str(dst)], f"running {exe}")
        out = np.fromfile(dst, dtype=np.int8)
    return out.reshape(len(x), output_size)
