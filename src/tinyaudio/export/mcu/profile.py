"""Cycle estimates for a firmware under QEMU: executed instructions by class, times each core's timing rules.

QEMU counts instructions, not cycles. `profile_firmware` runs a `build_qemu_firmware` ELF with
``-d in_asm,exec,nochain`` (QEMU logs the instructions of each translation block it translates,
and every block it executes), disassembles the ELF with ``arm-none-eabi-objdump``, and replays the
log: each block's instructions are classed (load, store, load / store multiple with its register
count, multiply, divide, branch taken or not, other); a block's final branch counts as taken when
the next block does not start right after it. The
firmware harness calls ``ta_mark_frontend`` / ``ta_mark_model`` / ``ta_mark_idle`` between its
stages, so counts are kept per stage.

`estimate_cycles` applies a core's rules (`TIMINGS`). They are an ESTIMATE with these
assumptions: no flash wait states (the RP2040 runs from SRAM or its XIP cache; the figures are for
code in zero-wait memory), no bus contention, taken-branch refill P = 2 on ARMv7-M, and loads not
pipelined with their neighbours (a real Cortex-M4 can do some back-to-back loads in one cycle
each). Sources: Cortex-M0+ Technical Reference Manual (ARM DDI 0484C) section 3.3, "Cortex-M0+
instruction summary", with the single-cycle multiplier of the RP2040 (RP2040 datasheet 2.4); Cortex-M4
Technical Reference Manual (ARM DDI 0439B) table 3-1. Cortex-M3 and -M7 get instruction counts only.
"""

from __future__ import annotations

import bisect
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tinyaudio.errors import BuildError
from tinyaudio.export.codegen.build import run_checked
from tinyaudio.export.cpus import DEFAULT_CPU, cpu_target
from tinyaudio.export.mcu.qemu import clip_ticks, qemu_command

#: Instruction classes `profile_firmware` counts (``registers_moved``: registers of LDM / STM / PUSH / POP).
CLASSES = ("other", "load", "store", "load_multiple", "store_multiple", "registers_moved", "multiply", "long_multiply",
           "divide", "branch_taken", "branch_not_taken", "call", "return_pop")
#: The harness's stage markers (functions in ta_firmware_main.c) and the stage each one starts.
MARKERS = {"ta_mark_frontend": "frontend", "ta_mark_model": "model", "ta_mark_idle": "idle"}

_BRANCHES = re.compile(r"^(b|bx|blx|bl|cbz|cbnz|tbb|tbh)(eq|ne|cs|cc|hs|lo|mi|pl|vs|vc|hi|ls|ge|lt|gt|le|al)?(\.[nw])?$")
_MULTIPLY = re.compile(r"^(muls?|mla|mls|smul[bt][bt]|smulw[bt]|smla[bt][bt]|smlaw[bt]|smlad[x]?|smlsd[x]?|smuad[x]?|"
                       r"smusd[x]?|smmul[r]?|smmla[r]?|smmls[r]?)(eq|ne|lt|gt|le|ge)?(\.[nw])?$")
_LONG_MULTIPLY = re.compile(r"^(smull|umull|smlal|umlal|smlald[x]?|smlsld[x]?|umaal|smlal[bt][bt])(\.[nw])?$")


@dataclass(frozen=True)
class Timing:
    """Cycles per instruction class of one core (see the module docstring for sources and assumptions)."""

    other: float = 1
    load: float = 2
    store: float = 2
    multiple_base: float = 1  # LDM / STM / PUSH / POP: base + 1 per register
    multiply: float = 1
    long_multiply: float = 1
    divide: float = 12
    branch_taken: float = 2
    branch_not_taken: float = 1
    call: float = 3  # BL
    return_pop_extra: float = 2  # POP {..., pc}: pipeline refill on top of 1 + N


TIMINGS: dict[str, Timing] = {
    # ARMv6-M: loads / stores 2, LDM/STM 1+N, B taken 2, BL 3, BX/BLX 2, POP {pc} 3+N, MULS 1 (RP2040).
    # No long multiply or divide instructions exist (the compiler calls __aeabi_lmul / __aeabi_idiv).
    "cortex-m0plus": Timing(),
    # ARMv7E-M: loads 2, stores 2 (no store-buffer credit), LDM 1+N, MUL/MLA/SMLAD/SMULL 1,
    # SDIV 2-12 (12 taken), branches 1+P with P = 2, BL 1+P = 3 and POP {pc} 1+N+P as on the M0+.
    "cortex-m4": Timing(branch_taken=3),
}


@dataclass
class StageCounts:
    """Executed instructions of one stage, by class (`CLASSES`); ``registers_moved`` counts the
    registers of LDM / STM / PUSH / POP."""

    counts: Counter = field(default_factory=Counter)
    #: executed instructions per function (the ELF symbol each instruction falls in)
    functions: Counter = field(default_factory=Counter)

    @property
    def instructions(self) -> int:
        return sum(v for k, v in self.counts.items() if k != "registers_moved")


@dataclass(frozen=True)
class Insn:
    size: int
    kind: str
    registers: int = 0


def _classify(mnemonic: str, operands: str) -> tuple[str, int]:
    m = mnemonic.lower()
    base = m.split(".")[0]
    if base == "push" or base.startswith("stm"):
        return "store_multiple", _register_count(operands)
    if base == "pop" or base.startswith("ldm"):
        return ("return_pop" if "pc" in operands else "load_multiple"), _register_count(operands)
    if base in ("ldrd", "strd"):  # two words: 1 + N cycles as LDM / STM (Cortex-M4 TRM table 3-1)
        return ("load_multiple" if base == "ldrd" else "store_multiple"), 2
    if base.startswith("ldr"):
        return ("return_pop" if re.match(r"^\s*pc\b", operands) else "load"), 0
    if base.startswith("str"):
        return "store", 0
    if _BRANCHES.match(m):
        return ("call" if base in ("bl", "blx") else "branch"), 0
    if _LONG_MULTIPLY.match(m):
        return "long_multiply", 0
    if _MULTIPLY.match(m):
        return "multiply", 0
    if base in ("sdiv", "udiv"):
        return "divide", 0
    if re.match(r"^(mov|add)", base) and re.match(r"^\s*pc\b", operands):
        return "branch", 0
    return "other", 0


def _register_count(operands: str) -> int:
    inside = operands[operands.find("{") + 1 : operands.find("}")]
    n = 0
    for part in inside.split(","):
        part = part.strip()
        if "-" in part:
            lo, hi = (int(re.sub(r"\D", "", x) or 0) for x in part.split("-"))
            n += hi - lo + 1
        elif part:
            n += 1
    return n


def disassemble(elf: str | os.PathLike) -> tuple[dict[int, Insn], dict[str, int]]:
    """Instructions of ``elf`` by address, and function addresses by name (``arm-none-eabi-objdump -d``).

    Raises:
        BuildError: ``arm-none-eabi-objdump`` missing (Debian: binutils-arm-none-eabi).
    """
    tool = shutil.which("arm-none-eabi-objdump")
    if tool is None:
        raise BuildError("arm-none-eabi-objdump not found; install it (Debian: apt-get install binutils-arm-none-eabi)")
    text = run_checked([tool, "-d", "--no-show-raw-insn", str(elf)], f"disassembling {elf}").stdout
    insns: dict[int, Insn] = {}
    symbols: dict[str, int] = {}
    pending: list[tuple[int, str, str]] = []
    for line in text.splitlines():
        head = re.match(r"^([0-9a-f]{8}) <([^>]+)>:$", line)
        if head:
            symbols[head.group(2)] = int(head.group(1), 16)
            continue
        row = re.match(r"^\s+([0-9a-f]+):\s+(\S+)\s*([^;@]*)", line)
        if row:
            pending.append((int(row.group(1), 16), row.group(2), row.group(3).strip()))
    for (addr, mnemonic, operands), nxt in zip(pending, pending[1:] + [(pending[-1][0] + 2, "", "")]):
        if mnemonic.startswith("."):  # literal pool words
            continue
        kind, registers = _classify(mnemonic, operands)
        insns[addr] = Insn(size=max(2, min(4, nxt[0] - addr)), kind=kind, registers=registers)
    return insns, symbols


def _replay(blocks: Counter, translated: dict[int, list[int]], insns: dict[int, Insn],
            symbols: dict[str, int]) -> dict[str, StageCounts]:
    """Instruction classes from (stage, block start, next block start) -> executions, with each block's
    instructions as QEMU translated them (``-d in_asm``)."""
    stages: dict[str, StageCounts] = {}
    starts = sorted((a, name) for name, a in symbols.items())
    keys = [a for a, _ in starts]
    for (stage, start, nxt), n in blocks.items():
        stage_counts = stages.setdefault(stage, StageCounts())
        counts = stage_counts.counts
        addresses = [a for a in translated.get(start, ()) if a in insns]
        if addresses:
            i = bisect.bisect_right(keys, addresses[0]) - 1
            stage_counts.functions[starts[i][1] if i >= 0 else "?"] += n * len(addresses)
        for addr in addresses:
            insn = insns[addr]
            kind = insn.kind
            if kind == "branch":
                kind = "branch_taken" if nxt != addr + insn.size else "branch_not_taken"
            counts[kind] += n
            counts["registers_moved"] += n * insn.registers
    return stages


def estimate_cycles(counts: StageCounts, cpu: str) -> float:
    """Estimated cycles of ``counts`` on ``cpu`` (`TIMINGS`; module docstring for the assumptions).

    Raises:
        BuildError: no timing rules for ``cpu`` (Cortex-M0+ and Cortex-M4 have them).
    """
    if cpu not in TIMINGS:
        raise BuildError(f"no timing rules for {cpu}; cycle estimates exist for {', '.join(TIMINGS)}")
    t, c = TIMINGS[cpu], counts.counts
    multiples = c["load_multiple"] + c["store_multiple"] + c["return_pop"]
    return float(
        t.other * c["other"] + t.load * c["load"] + t.store * c["store"] + t.multiple_base * multiples
        + c["registers_moved"] + t.return_pop_extra * c["return_pop"] + t.multiply * c["multiply"]
        + t.long_multiply * c["long_multiply"] + t.divide * c["divide"] + t.branch_taken * c["branch_taken"]
        + t.branch_not_taken * c["branch_not_taken"] + t.call * c["call"]
    )


@dataclass(frozen=True)
class FirmwareProfile:
    """Per-clip means from `profile_firmware`.

    Attributes:
        stages: ``"frontend"`` (``ta_pipeline_init`` + ``ta_pipeline_push`` of a clip) and
            ``"model"`` (one ``ta_model_invoke``): executed instruction classes per clip.
        frames_per_clip: frames the frontend computed per clip.
        cpu: the core the ELF was built for.
    """

    stages: dict[str, StageCounts]
    frames_per_clip: int
    cpu: str

    def instructions(self, stage: str) -> float:
        return float(self.stages[stage].instructions)

    def cycles(self, stage: str, cpu: str | None = None) -> float:
        return estimate_cycles(self.stages[stage], cpu or self.cpu)


def profile_firmware(elf: str | os.PathLike, clips: np.ndarray, *, cpu: str = DEFAULT_CPU,
                     timeout_s: float = 900.0) -> FirmwareProfile:
    """Replay a `build_qemu_firmware` ELF's execution on ``clips`` and count its instructions by class.

    Args:
        elf: built for ``cpu``.
        clips: int16, shape (n_clips, n_samples); one or two clips are enough (counts are means).
        cpu: the core of the build (its QEMU board).
        timeout_s: wall-clock limit of the QEMU run.

    Returns:
        `FirmwareProfile` (means per clip).

    Raises:
        BuildError: QEMU or binutils missing, a timeout, a non-zero exit, or a firmware without the
            stage markers.
    """
    clips = np.ascontiguousarray(clips, dtype="<i2")
    n_clips, n_samples = clips.shape
    stages, stdout = _trace(elf, clips.tobytes(), (str(n_samples),), MARKERS, n_clips, cpu, timeout_s)
    ticks = clip_ticks(stdout)
    return FirmwareProfile(stages=stages, frames_per_clip=int(round(ticks[:, 2].mean())) if len(ticks) else 0, cpu=cpu)


def profile_model(elf: str | os.PathLike, inputs: np.ndarray, *, cpu: str = DEFAULT_CPU,
                  timeout_s: float = 900.0) -> StageCounts:
    """Executed instruction classes of one ``ta_model_invoke`` of a `build_qemu_model` ELF (the
    generated model alone, no frontend), the mean over ``inputs``.

    Args:
        inputs: int8, shape (n, ...) with the model's input size per example; one is enough
            (the kernels' work does not depend on the values, only requantization clamps do).
        cpu: the core of the build (its QEMU board).

    Raises:
        BuildError: QEMU or binutils missing, a timeout, a non-zero exit, or an ELF without the
            ``ta_mark_model`` / ``ta_mark_idle`` markers.
    """
    x = np.ascontiguousarray(inputs, dtype=np.int8)
    markers = {name: stage for name, stage in MARKERS.items() if stage != "frontend"}
    stages, _ = _trace(elf, x.tobytes(), (), markers, len(x), cpu, timeout_s)
    return stages.get("model", StageCounts())


def _trace(elf: str | os.PathLike, data: bytes, args: tuple[str, ...], markers: dict[str, str], n_examples: int,
           cpu: str, timeout_s: float) -> tuple[dict[str, StageCounts], str]:
    """Run ``elf IN.raw OUT.raw *args`` (IN.raw holds ``data``) under QEMU with the execution trace,
    and replay it: per-stage instruction classes (means over ``n_examples``) and the run's stdout."""
    insns, symbols = disassemble(elf)
    starts = {symbols[name]: stage for name, stage in markers.items() if name in symbols}
    if len(starts) != len(markers):
        raise BuildError(f"{elf} has no stage markers ({', '.join(markers)}); rebuild it with "
                         "build_qemu_firmware / build_qemu_model")
    blocks: Counter = Counter()
    translated: dict[int, list[int]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "in.raw").write_bytes(data)
        cmd = qemu_command(elf, ("in.raw", "out.raw", *args), cpu_target(cpu).machine,
                           extra=("-d", "in_asm,exec,nochain", "-D", "/dev/stderr"))
        with open(Path(tmp) / "stdout.txt", "w+") as stdout:
            proc = subprocess.Popen(cmd, cwd=tmp, stdout=stdout, stderr=subprocess.PIPE, text=True)
            timer = threading.Timer(timeout_s, proc.kill)  # the trace is read as it comes: kill, do not wait
            timer.start()
            stage, previous, block = "idle", None, None
            try:
                for line in proc.stderr:
                    if line.startswith("0x"):  # an instruction of the block being translated (in_asm)
                        address = int(line[: line.index(":")], 16)
                        if block is None:
                            block = translated[address] = []
                        block.append(address)
                        continue
                    block = None
                    if not line.startswith("Trace"):
                        continue
                    pc = int(line[line.index("[") + 1 :].split("/")[1], 16)
                    if previous is not None:
                        blocks[(stage, previous, pc)] += 1
                    stage = starts.get(pc, stage)
                    previous = pc
                proc.wait()
            finally:
                timed_out = not timer.is_alive() and proc.returncode != 0
                timer.cancel()
                if proc.poll() is None:
                    proc.kill()
            stdout.seek(0)
            output = stdout.read()
    if timed_out:
        raise BuildError(f"QEMU profile run of {elf} took more than {timeout_s:.0f} s; profile fewer clips")
    if proc.returncode != 0:
        raise BuildError(f"QEMU profile run of {elf} exited with {proc.returncode}")
    stages = _replay(blocks, translated, insns, symbols)
    for counts in stages.values():
        for table in (counts.counts, counts.functions):
            for k in list(table):
                table[k] = table[k] / max(n_examples, 1)
    return stages, output
