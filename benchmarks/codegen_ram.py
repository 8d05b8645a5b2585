"""RAM of every zoo model: tinyaudio.export.codegen's static arena against TFLite Micro's arena.

Builds each zoo model at its usual input shape (weights random: RAM does not depend on them),
quantizes it to int8, and prints the generated C's arena (its whole tensor RAM), the largest set
of tensors live at once (the bound any plan needs), the TFLM arena (``print_allocations``), the
constants in flash, and host-gcc inference time of the generated C.

Usage: python benchmarks/codegen_ram.py
"""

from __future__ import annotations

import tempfile
import time

import numpy as np

from tinyaudio.export.codegen import build_host_model, run_host_model
from tinyaudio.export.mcu.check import check_mcu
from tinyaudio.models import build_model, count_macs
from tinyaudio.quantize import quantize_int8

#: zoo model -> (input shape, outputs), as the trainer uses them.
ZOO = {
    "cnn_mfcc": ((100, 13, 1), 10),
    "cnn3": ((49, 10, 1), 1),
    "cnn_resize32": ((124, 129, 1), 12),
    "tiny_conv": ((49, 10, 1), 12),
    "ds_cnn": ((49, 10, 1), 12),
}


def main() -> None:
    rng = np.random.default_rng(0)
    print("| model | MACs | generated C arena (bytes) | peak live tensors | TFLM arena | C <= TFLM | constants (bytes) | host gcc ms / inference |")
    print("|---|---|---|---|---|---|---|---|")
    for name, (shape, n_out) in ZOO.items():
        kwargs = {"mean": -30.0, "variance": 100.0} if name == "cnn_resize32" else {}
        model = build_model(name, shape, n_out, **kwargs)
        int8 = quantize_int8(model, rng.normal(-30, 10, size=(64, *shape)).astype(np.float32))
        tflm = check_mcu(int8).arena_bytes
        with tempfile.TemporaryDirectory() as tmp:
            exe, g = build_host_model(int8, tmp)
            x = rng.integers(-128, 128, size=(200, *shape), dtype=np.int8)
            t0 = time.perf_counter()
            run_host_model(exe, x, int(np.prod(g.output_shape)))
            ms = 1e3 * (time.perf_counter() - t0) / len(x)
        print(f"| {name} | {count_macs(model):,} | {g.arena_size:,} | {g.plan.peak_live_bytes:,} | {tflm:,} | "
              f"{g.arena_size <= tflm} | {g.weights_bytes:,} | {ms:.3f} |")


if __name__ == "__main__":
    main()
