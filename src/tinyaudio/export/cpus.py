"""The Cortex-M cores tinyaudio builds for, the QEMU machine that runs each build, and their timing rules.

QEMU 7.2 emulates no Cortex-M0+ board; code built with ``-mcpu=cortex-m0plus`` (ARMv6-M) runs
unchanged on ``mps2-an385`` (Cortex-M3, ARMv7-M is a superset), so instruction counts are the
M0+ build's own. Cycle estimates apply each core's timing rules to those instructions
(`tinyaudio.export.mcu.profile`).
"""

from __future__ import annotations

from dataclasses import dataclass

from tinyaudio.errors import BuildError


@dataclass(frozen=True)
class CpuTarget:
    """One Cortex-M core.

    Attributes:
        name: GCC's ``-mcpu`` name (``"cortex-m0plus"``).
        cflags: core flags for ``arm-none-eabi-gcc`` (soft-float ABI: the kernels are integer).
        machine: the ``qemu-system-arm -M`` board that runs this build.
        clock_hz: the clock of the board the figures are quoted for (RP2040: 125 MHz).
        board: that board, in words.
        dsp: the core has the DSP extension (``__ARM_FEATURE_DSP``: SMLAD dual 16-bit MAC).
    """

    name: str
    cflags: tuple[str, ...]
    machine: str
    clock_hz: float
    board: str
    dsp: bool = False


CPUS: dict[str, CpuTarget] = {
    "cortex-m0plus": CpuTarget("cortex-m0plus", ("-mcpu=cortex-m0plus", "-mthumb"), "mps2-an385", 125e6,
                               "Raspberry Pi Pico (RP2040, 125 MHz)"),
    "cortex-m3": CpuTarget("cortex-m3", ("-mcpu=cortex-m3", "-mthumb"), "mps2-an385", 125e6, "Cortex-M3 at 125 MHz"),
    "cortex-m4": CpuTarget("cortex-m4", ("-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=soft"), "mps2-an386", 120e6,
                           "Cortex-M4 at 120 MHz (MLPerf Tiny's reference clock)", dsp=True),
    "cortex-m7": CpuTarget("cortex-m7", ("-mcpu=cortex-m7", "-mthumb", "-mfloat-abi=soft"), "mps2-an500", 216e6,
                           "Cortex-M7 at 216 MHz", dsp=True),
}
#: The default core: the RP2040 of the seed's Raspberry Pi Pico.
DEFAULT_CPU = "cortex-m0plus"
#: Compiler flags every core shares: CMSIS-DSP's portable C paths (``__GNUC_PYTHON__``, the
#: code the ``cmsisdsp`` wheel runs, so the C frontend stays bit-identical with the Python one),
#: loop unrolling as that wheel's build, one section per function for ``--gc-sections``.
COMMON_CFLAGS = ("-O2", "-std=c11", "-D__GNUC_PYTHON__", "-DARM_MATH_LOOPUNROLL", "-ffunction-sections",
                 "-fdata-sections")


def cpu_target(name: str) -> CpuTarget:
    """The `CpuTarget` called ``name``.

    Raises:
        BuildError: an unknown core, naming the ones there are.
    """
    try:
        return CPUS[name]
    except KeyError:
        raise BuildError(f"unknown cpu {name!r}; use one of {', '.join(CPUS)}") from None


def cpu_cflags(name: str) -> tuple[str, ...]:
    """``arm-none-eabi-gcc`` flags of a core build: its ``-mcpu`` flags plus `COMMON_CFLAGS`."""
    return (*cpu_target(name).cflags, *COMMON_CFLAGS)
