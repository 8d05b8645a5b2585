"""Static memory plan: every activation tensor gets a fixed offset in one arena, reused when dead.

Greedy by size (largest first), each buffer placed at the lowest aligned offset that does not
overlap a buffer live at the same time: the strategy of TFLite Micro's ``GreedyMemoryPlanner``.
The arena then holds nothing but tensors; TFLM's arena also holds its tensor structs, op data
and scratch buffers, so the generated model needs less RAM for the same graph.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class MemoryPlan:
    """Where each buffer lives.

    Attributes:
        offsets: buffer id -> byte offset in the arena.
        arena_size: bytes of the arena (max offset + size over buffers, rounded up to the alignment).
        peak_live_bytes: max over ops of the bytes live during that op: the lower bound any
            plan needs (the largest pair of input and output tensors, for a chain of ops).
    """

    offsets: dict[int, int]
    arena_size: int
    peak_live_bytes: int


def _align(n: int, alignment: int) -> int:
    return -(-n // alignment) * alignment


def plan_memory(sizes: dict[int, int], lifetimes: dict[int, tuple[int, int]], *, alignment: int = 16) -> MemoryPlan:
    """Place buffers so that no two buffers live at the same op overlap.

    Args:
        sizes: buffer id -> bytes.
        lifetimes: buffer id -> (first op, last op) during which it must hold its value, inclusive.
        alignment: of every offset, in bytes (16 suits SIMD loads and the C array).

    Returns:
        `MemoryPlan`.
    """
    def overlaps(a: int, b: int) -> bool:
        (a0, a1), (b0, b1) = lifetimes[a], lifetimes[b]
        return a0 <= b1 and b0 <= a1

    order = sorted(sizes, key=lambda b: (-sizes[b], lifetimes[b][0], b))
    offsets: dict[int, int] = {}
    for buf in order:
        taken = sorted((offsets[o], offsets[o] + sizes[o]) for o in offsets if overlaps(buf, o))
        offset = 0
        for start, end in taken:
            if offset + sizes[buf] <= start:
                break
            offset = max(offset, _align(end, alignment))
        offsets[buf] = offset
    arena = _align(max((offsets[b] + sizes[b] for b in sizes), default=0), alignment)
    steps = {t for span in lifetimes.values() for t in span}
    peak = max((sum(sizes[b] for b in sizes if lifetimes[b][0] <= t <= lifetimes[b][1]) for t in steps), default=0)
    return MemoryPlan(offsets=offsets, arena_size=arena, peak_live_bytes=peak)
