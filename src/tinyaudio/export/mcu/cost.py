"""A cost model: estimated cycles of one generated-C inference on a core, from the layer shapes alone.

`profile_model` under QEMU gives a model's executed instructions by class and `estimate_cycles`
prices them with a core's timing rules; that takes a cross-compile and an emulator run. The cost
model predicts the same figure from the int8 ``.tflite`` graph in milliseconds, so a model search
(`tinyaudio.pipeline.search`) can price a candidate before training it.

Form: cycles = sum over features of coefficient x feature, a linear model in work counts that the
generated kernels' loops scale with (`op_features`): per kernel kind the multiply-accumulates the
kernel computes (`ta_nn.c` on the core's filter layout: blocks of four output channels, a window's
padded rows skipped when it is read in place, every tap of an im2col patch or padded copy), the
runs of taps (the inner loop's set-up per block of channels), the bytes copied into patches and
padded copies, the output values (bias, requantization, store; a fused max pool's pooled outputs,
its running maxima counted as pool taps) and the calls; elementwise kinds count values. Ops fused
into the op before them (`fused_ops`) cost no call of their own. Coefficients are fitted per core by non-negative
least squares on relative error (each measured model weighs the same) to QEMU measurements of
random architectures from the search space (`benchmarks/fit_cost_model.py`, which writes
``cost_models.json`` beside this module and prints the error on held-out architectures: the zoo's
own models, never fitted on). It is an estimate of an estimate: the QEMU figure it is fitted to
already assumes no flash wait states (`tinyaudio.export.mcu.profile`).
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from tinyaudio.errors import BuildError
from tinyaudio.export.codegen.generate import (fused_ops, generate_c, padded_width, rows_in_place, shape_only_ops,
                                               table_input)
from tinyaudio.export.codegen.graph import Graph, read_graph
from tinyaudio.export.codegen import params as P
from tinyaudio.export.cpus import DEFAULT_CPU, cpu_target

#: Where `benchmarks/fit_cost_model.py` writes the fitted coefficients, one entry per core.
COST_MODELS_FILE = Path(__file__).with_name("cost_models.json")
#: Bytes of stack ``ta_nn.c`` uses for an im2col patch the generator left out of the arena
#: (``TA_STACK_PATCH_BYTES``): windows up to this size are still copied.
STACK_PATCH_BYTES = 128
#: Feature names, in a fixed order (`op_features` returns all of them).
FEATURES = (
    "calls",
    "conv_macs", "conv_taps", "conv_outputs",
    "conv_patch_bytes",  # bytes copied into im2col patches (windows not read in place) or padded input copies
    "conv_window_rows",  # without patches: those windows' valid rows, each its own run
    "depthwise_macs", "depthwise_taps", "depthwise_outputs",
    "fc_macs", "fc_outputs",
    "pool_taps", "pool_outputs",
    "mean_inputs", "arith_outputs", "softmax_values", "resize_outputs", "copy_bytes",
    "lookup_values",  # ADD / SUB of a constant scalar: a 256-entry table lookup each
)


def _valid_taps(in_size: int, out_size: int, filter_size: int, stride: int, pad: int) -> int:
    """Filter taps along one axis that fall inside the input, summed over the output positions."""
    return sum(max(0, end - start) for start, end in P.valid_tap_ranges(in_size, out_size, filter_size, stride, pad))


def _conv_work(in_hw: tuple[int, int], out_hw: tuple[int, int], filter_hw: tuple[int, int], stride: tuple[int, int],
               pad: tuple[int, int], in_c: int, dsp: bool, im2col: bool, padded: bool = False
               ) -> tuple[int, int, int, int]:
    """(taps computed, runs of taps, bytes copied, rows read one run each without a patch) of one
    output channel block of a fast-path CONV_2D, summed over the output positions, as
    ``conv2d_fast`` / ``conv1x1_fast`` in ``ta_nn.c`` read them (``padded``: the generator gives
    convolutions a zero-padded input copy where it helps, `GeneratedModel.padded`)."""
    (in_h, in_w), (out_h, out_w), (f_h, f_w), (s_h, s_w), (p_h, p_w) = in_hw, out_hw, filter_hw, stride, pad
    if (f_h, f_w) == (1, 1):
        return out_h * out_w * in_c, out_h * out_w, 0, 0  # the input pixel itself
    row = f_w * in_c
    in_place_rows = rows_in_place(f_w, in_c, dsp)
    valid_rows = [end - start for start, end in P.valid_tap_ranges(in_h, out_h, f_h, s_h, p_h)]
    width = padded_width(in_w, out_w, f_w, s_w, p_w)
    if padded and in_place_rows and width > in_w:  # every window in place in the copy, padded columns too
        n = sum(valid_rows) * out_w
        return n * row, n, in_h * width * in_c, 0
    col_ranges = P.valid_tap_ranges(in_w, out_w, f_w, s_w, p_w)
    inside_cols = sum(1 for start, end in col_ranges if end - start == f_w)
    # in place: columns inside and the rows whole steps of the layout (or a single valid row)
    in_place = [inside_cols if in_place_rows or n <= 1 else 0 for n in valid_rows]
    taps = sum(k * n for k, n in zip(in_place, valid_rows)) * row
    runs = sum(k * n for k, n in zip(in_place, valid_rows))
    others = sum(out_w - k for k in in_place)
    if im2col or f_h * row <= STACK_PATCH_BYTES:
        return taps + others * f_h * row, runs + others, others * f_h * row, 0
    # the other windows row by row: their valid rows x valid columns, one run per row
    other_rows, other_taps = 0, 0
    for k, n in zip(in_place, valid_rows):
        if k == 0:  # every window of this output row
            other_rows += n * out_w
            other_taps += n * sum(end - start for start, end in col_ranges) * in_c
        else:  # the windows whose columns are not inside
            other_rows += n * (out_w - k)
            other_taps += n * sum(end - start for start, end in col_ranges if end - start != f_w) * in_c
    return taps + other_taps, runs, 0, other_rows


def op_features(model: str | os.PathLike | bytes | Graph, cpu: str = DEFAULT_CPU, *, im2col: bool | None = None,
                padded: bool | None = None) -> dict[str, float]:
    """The work counts of one inference of an int8 model's generated C for ``cpu`` (`FEATURES`).

    Args:
        model: path or bytes of the int8 ``.tflite``, or its `Graph`.
        cpu: the core the C is generated for (its filter layout: SMLAD quads or lane pairs).
        im2col: whether the generator gives the convolutions im2col patches (`GeneratedModel.im2col`);
            None: ask the generator (a path or bytes), or assume it does (a `Graph`).
        padded: whether it gives them zero-padded input copies (`GeneratedModel.padded`); None: as
            ``im2col``.

    Returns:
        feature name -> count (MACs, taps, values, bytes or calls; see the module docstring).
    """
    dsp = cpu_target(cpu).dsp
    if im2col is None or padded is None:
        generated = None if isinstance(model, Graph) else generate_c(model, cpu=cpu)
        im2col = (generated is None or generated.im2col) if im2col is None else im2col
        padded = (generated is None or generated.padded) if padded is None else padded
    graph = model if isinstance(model, Graph) else read_graph(model)
    f = dict.fromkeys(FEATURES, 0.0)
    skipped = shape_only_ops(graph)
    kept = [i for i in range(len(graph.ops)) if i not in skipped]
    fused = fused_ops(graph, kept)  # the second op's work is done by the first one's kernel
    for i in kept:
        op = graph.ops[i]
        if op.name == "RESHAPE" or i in fused.values():
            continue
        f["calls"] += 1
        y = graph.tensors[op.outputs[0]]
        x = graph.tensors[op.inputs[0]]
        if op.name in ("CONV_2D", "DEPTHWISE_CONV_2D", "MAX_POOL_2D", "AVERAGE_POOL_2D"):
            o = op.options
            _, in_h, in_w, in_c = x.shape
            _, out_h, out_w, out_c = y.shape
            if op.name.endswith("POOL_2D"):
                f_h, f_w = o["filterHeight"], o["filterWidth"]
            else:
                w = graph.tensors[op.inputs[1]]
                f_h, f_w = w.shape[1], w.shape[2]
            s_h, s_w = o.get("strideH", 1), o.get("strideW", 1)
            same = o.get("padding", 0) == 0
            pad_h = P.same_padding(s_h, 1, in_h, f_h, out_h) if same else 0
            pad_w = P.same_padding(s_w, 1, in_w, f_w, out_w) if same else 0
            taps = _valid_taps(in_h, out_h, f_h, s_h, pad_h) * _valid_taps(in_w, out_w, f_w, s_w, pad_w)
            if op.name == "CONV_2D":
                blocks = -(-out_c // 4)
                computed, runs, patch_bytes, window_rows = _conv_work(
                    (in_h, in_w), (out_h, out_w), (f_h, f_w), (s_h, s_w), (pad_h, pad_w), in_c, dsp, im2col, padded)
                f["conv_macs"] += computed * 4 * blocks
                f["conv_taps"] += runs * blocks
                f["conv_patch_bytes"] += patch_bytes
                f["conv_window_rows"] += window_rows * blocks
                if i in fused:  # a fused MAX_POOL_2D: each output's running maximum, one requantization per window
                    f["pool_taps"] += y.size
                    f["conv_outputs"] += graph.tensors[graph.ops[fused[i]].outputs[0]].size
                else:
                    f["conv_outputs"] += y.size
            elif op.name == "DEPTHWISE_CONV_2D":
                f["depthwise_macs"] += taps * out_c
                f["depthwise_taps"] += taps
                f["depthwise_outputs"] += y.size
            else:
                f["pool_taps"] += taps * out_c
                f["pool_outputs"] += y.size
        elif op.name == "FULLY_CONNECTED":
            f["fc_macs"] += -(-y.size // 4) * 4 * graph.tensors[op.inputs[1]].shape[1]  # blocks of four outputs
            f["fc_outputs"] += y.size
        elif op.name == "MEAN":
            f["mean_inputs"] += x.size
        elif op.name in ("ADD", "SUB"):
            f["arith_outputs" if table_input(graph, op) is None else "lookup_values"] += y.size
        elif op.name in ("SOFTMAX", "LOGISTIC"):
            f["softmax_values"] += y.size
        elif op.name == "RESIZE_BILINEAR":
            f["resize_outputs"] += y.size
            if i in fused:  # a fused ADD / SUB of a constant: its table looked up as each value is stored
                f["lookup_values"] += y.size
        else:  # PAD and a step model's CONCATENATION / SLICE: copies
            f["copy_bytes"] += y.nbytes
    return f


@dataclasses.dataclass(frozen=True)
class CostModel:
    """Fitted cycles-per-unit coefficients of one core (`FEATURES`) and how well they fit.

    Attributes:
        cpu: the core (`tinyaudio.export.cpus.CPUS`) whose QEMU cycle estimates were fitted.
        coefficients: feature -> estimated cycles per unit (non-negative).
        n_fitted: architectures fitted on.
        errors: relative errors (predicted / measured - 1): ``fit_max``, ``fit_mean_abs`` on the
            fitted architectures, ``held_out`` {name: error} on architectures not fitted on.
        code_bytes: flash of the kernels' code (``ta_nn.c`` built for ``cpu``), added to a
            model's constant bytes for its flash.
    """

    cpu: str
    coefficients: dict[str, float]
    n_fitted: int
    errors: dict[str, Any]
    code_bytes: int = 0

    def predict(self, model: str | os.PathLike | bytes | Graph | dict[str, float]) -> float:
        """Estimated cycles of one inference of ``model`` (int8 ``.tflite`` path / bytes, `Graph`,
        or `op_features` of one)."""
        features = model if isinstance(model, dict) else op_features(model, self.cpu)
        return float(sum(self.coefficients.get(k, 0.0) * v for k, v in features.items()))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def fit_cost_model(features: list[dict[str, float]], cycles: list[float], cpu: str) -> CostModel:
    """Non-negative least squares on relative error: coefficients c >= 0 minimising
    sum_i ((features_i . c) / cycles_i - 1)^2 (`scipy.optimize.nnls`).

    Raises:
        BuildError: fewer measurements than features that vary (the fit would be underdetermined).
    """
    from scipy.optimize import nnls

    used = [k for k in FEATURES if any(f.get(k, 0) for f in features)]
    if len(features) < len(used):
        raise BuildError(f"{len(features)} measurements for {len(used)} features; measure more architectures")
    y = np.asarray(cycles, dtype=np.float64)
    a = np.array([[f.get(k, 0.0) for k in used] for f in features], dtype=np.float64) / y[:, None]
    norms = np.maximum(np.abs(a).max(axis=0), 1e-30)  # column scaling: MACs are 1e6, calls 1e1
    solution, _ = nnls(a / norms, np.ones(len(y)), maxiter=50 * len(used))
    coefficients = {k: float(c / n) for k, c, n in zip(used, solution, norms)}
    model = CostModel(cpu=cpu, coefficients=coefficients, n_fitted=len(y), errors={})
    rel = np.array([model.predict(f) for f in features]) / y - 1
    return dataclasses.replace(model, errors={"fit_max": float(np.abs(rel).max()), "fit_mean_abs": float(np.abs(rel).mean())})


def measure_cycles(model: bytes, cpu: str, build_dir: str | os.PathLike) -> tuple[float, float]:
    """``(instructions, estimated cycles)`` of one inference of an int8 model's generated C on
    ``cpu``, measured under QEMU (`build_qemu_model`, `profile_model`, `estimate_cycles`).

    Raises:
        BuildError: no cross compiler / QEMU, or no timing rules for ``cpu``.
    """
    from tinyaudio.export.mcu.build import build_qemu_model
    from tinyaudio.export.mcu.profile import estimate_cycles, profile_model

    elf, generated = build_qemu_model(model, build_dir, cpu=cpu)
    x = np.random.default_rng(0).integers(-128, 128, (1, int(np.prod(generated.input_shape))), dtype=np.int8)
    counts = profile_model(elf, x, cpu=cpu)
    return float(counts.instructions), estimate_cycles(counts, cpu)


def load_cost_model(cpu: str, path: str | os.PathLike = COST_MODELS_FILE) -> CostModel:
    """The fitted `CostModel` of ``cpu`` from ``cost_models.json``.

    Raises:
        BuildError: no cost model fitted for ``cpu`` (the message names those there are).
    """
    path = Path(path)
    table = json.loads(path.read_text()) if path.exists() else {}
    if cpu not in table:
        raise BuildError(f"no cost model for {cpu} in {path} (fitted: {', '.join(table) or 'none'}); "
                         f"run python benchmarks/fit_cost_model.py --cpu {cpu}")
    return CostModel(**table[cpu])
