"""Lower an int8 ``.tflite`` graph to plain C99: constant arrays, a static arena, one call per op.

`generate_c` returns the source files; `write_c` writes them. The generated ``ta_model_c.c``
implements ``ta_model.h`` (the interface the exported firmware loop calls), so it replaces
TensorFlow Lite Micro without touching the rest of the project. Kernels are in ``ta_nn.c``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path

import numpy as np

from tinyaudio._io import write_text_atomic
from tinyaudio.export.cpus import DEFAULT_CPU, cpu_target
import tinyaudio.export.codegen.params as P
from tinyaudio.export.codegen.graph import CodegenError, Graph, Op, Tensor, read_graph
from tinyaudio.export.codegen.plan import MemoryPlan, plan_memory

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
#: Files copied verbatim next to the generated model.
STATIC_FILES = ("ta_nn.h", "ta_nn.c", "ta_model.h")
#: Ops that only compute a RESHAPE's target shape (Keras 3 Flatten); folded away at generation.
SHAPE_OPS = {"SHAPE", "STRIDED_SLICE", "PACK", "CONCATENATION", "GATHER", "REDUCE_PROD"}
#: Ops `generate_c` lowers (besides the shape ops above).
SUPPORTED_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "MAX_POOL_2D", "AVERAGE_POOL_2D", "MEAN",
                 "RESHAPE", "SOFTMAX", "LOGISTIC", "ADD", "SUB", "RESIZE_BILINEAR", "PAD")


@dataclasses.dataclass(frozen=True)
class GeneratedModel:
    """What `generate_c` produced.

    Attributes:
        files: file name -> C source text (``ta_model_c.c`` plus `STATIC_FILES`).
        ops: op names lowered, in graph order (shape-only ops excluded).
        plan: the arena layout; ``plan.arena_size`` is the model's whole RAM for tensors.
        weights_bytes: bytes of constant data (weights, biases, multipliers) in flash.
        state_bytes: RAM of a streaming step model's windows (static, outside the arena; 0 otherwise).
        input_shape, output_shape: tensor shapes, batch first.
        input_scale, input_zero_point, output_scale, output_zero_point: int8 quantization.
        im2col: convolution windows not read in place are copied into arena patches (False: the
            patches would have enlarged the arena; ``ta_nn.c`` then copies windows of up to
            TA_STACK_PATCH_BYTES on the stack and reads larger ones row by row).
        padded: convolutions whose windows overlap the left or right padding read a zero-padded
            copy of their input from the arena instead (where their rows are read in place and the
            copy does not enlarge the arena; `padded_width`).
        fused: the ops fused into the op before them (`fused_ops`), as "MAX_POOL_2D into CONV_2D".
    """

    files: dict[str, str]
    ops: tuple[str, ...]
    plan: MemoryPlan
    weights_bytes: int
    state_bytes: int
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    input_scale: float
    input_zero_point: int
    output_scale: float
    output_zero_point: int
    im2col: bool = True
    padded: bool = False
    fused: tuple[str, ...] = ()

    @property
    def arena_size(self) -> int:
        return self.plan.arena_size


#: Bytes per value of the C types `_Lowering.array` emits.
_C_SIZES = {"int8_t": 1, "uint8_t": 1, "int16_t": 2, "int32_t": 4, "uint32_t": 4}


def _c_array(ctype: str, name: str, values: np.ndarray, per_line: int = 24) -> str:
    flat = [str(int(v)) for v in np.asarray(values).reshape(-1)]
    lines = [", ".join(flat[i : i + per_line]) for i in range(0, len(flat), per_line)]
    body = ",\n    ".join(lines)
    return f"static const {ctype} {name}[{len(flat)}] = {{\n    {body}\n}};\n"


def _has_bias(op: Op) -> bool:
    """CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED with a bias tensor (input 2 present)."""
    return len(op.inputs) > 2 and op.inputs[2] >= 0


def _broadcast_strides(a: tuple[int, ...], b: tuple[int, ...], out: tuple[int, ...]
                       ) -> tuple[list[int], list[int], list[int]] | None:
    """Output dims and the two inputs' element strides for NumPy broadcasting, padded to 4-D.

    A stride is 0 along an axis where that input has size 1 and the output does not. None when
    the shapes do not broadcast to ``out`` or have more than 4 dimensions.
    """
    if max(len(a), len(b), len(out)) > 4:
        return None
    dims = [1] * (4 - len(out)) + list(out)
    strides = []
    for shape in (a, b):
        shape = [1] * (4 - len(shape)) + list(shape)
        if any(s not in (1, d) for s, d in zip(shape, dims)):
            return None
        step, row = 1, [0] * 4
        for axis in range(3, -1, -1):
            row[axis] = 0 if shape[axis] == 1 else step
            step *= shape[axis]
        strides.append(row)
    return dims, strides[0], strides[1]


#: Most output channels of a CONV_2D with a fused MAX_POOL_2D (``TA_POOL_CHANNELS`` in ``ta_nn.h``).
POOL_CHANNELS = 64


def conv_fast_path(graph: Graph, op: Op) -> bool:
    """Whether CONV_2D / DEPTHWISE_CONV_2D ``op`` takes ``ta_nn.c``'s fast path: dilation 1, depth
    multiplier 1 and a constant filter (else the reference loops)."""
    o, w = op.options, graph.tensors[op.inputs[1]]
    in_c, out_c = graph.tensors[op.inputs[0]].shape[3], graph.tensors[op.outputs[0]].shape[3]
    dm = out_c // in_c if op.name == "DEPTHWISE_CONV_2D" else 1
    return (o.get("dilationHFactor", 1) or 1, o.get("dilationWFactor", 1) or 1, dm) == (1, 1, 1) and w.data is not None


def rows_in_place(filter_w: int, in_c: int, quads: bool) -> bool:
    """Whether ``conv2d_fast`` reads a window's rows in place: each row (filter_w x in_c taps) a whole
    number of the filter layout's steps (pairs; quads of at least 16 taps with SMLAD)."""
    row = filter_w * in_c
    return row % 4 == 0 and row >= 16 if quads else row % 2 == 0


def padded_width(in_w: int, out_w: int, filter_w: int, stride_w: int, pad_w: int) -> int:
    """Columns of a CONV_2D input copy with ``pad_w`` zero columns on the left and as many on the right
    as the last window reaches past the input; ``in_w`` when no window leaves the input."""
    right = max(0, (out_w - 1) * stride_w + filter_w - pad_w - in_w)
    return pad_w + in_w + right


def table_input(graph: Graph, op: Op) -> int | None:
    """For an ADD / SUB with one input a constant scalar and the other a whole activation tensor (a
    function of one int8 value: ``ta_lookup_s8``'s 256-entry table), the index of that other input;
    else None."""
    if op.name not in ("ADD", "SUB"):
        return None
    a, b, y = (graph.tensors[t] for t in (*op.inputs[:2], op.outputs[0]))
    for constant, other, index in ((b, a, op.inputs[0]), (a, b, op.inputs[1])):
        if constant.data is not None and constant.size == 1 and other.data is None and other.size == y.size:
            return index
    return None


def _pool_fuses(graph: Graph, conv: Op, pool: Op) -> bool:
    """Whether MAX_POOL_2D ``pool``, reading CONV_2D ``conv``'s output, fuses into it (`fused_ops`)."""
    if conv.name != "CONV_2D" or pool.name != "MAX_POOL_2D" or not conv_fast_path(graph, conv):
        return False
    o, y, z = pool.options, graph.tensors[conv.outputs[0]], graph.tensors[pool.outputs[0]]
    _, h, w, c = y.shape
    f_h, f_w = o["filterHeight"], o["filterWidth"]
    _, out_h, out_w, _ = z.shape
    tiles = (o.get("strideH", 1), o.get("strideW", 1)) == (f_h, f_w) and (out_h, out_w) == (h // f_h, w // f_w)
    unpadded = o.get("padding", 0) != 0 or (
        P.same_padding(f_h, 1, h, f_h, out_h), P.same_padding(f_w, 1, w, f_w, out_w)) == (0, 0)
    if not (tiles and unpadded and c <= POOL_CHANNELS and y.scale.size and z.scale.size):
        return False
    quant = [(float(t.scale[0]), int(t.zero_point[0]) if t.zero_point.size else 0) for t in (y, z)]
    if quant[0] != quant[1]:
        return False
    lo1, hi1 = P.activation_range(conv.options.get("fusedActivationFunction", 0), *quant[0])
    lo2, hi2 = P.activation_range(o.get("fusedActivationFunction", 0), *quant[0])
    return max(lo1, lo2) <= min(hi1, hi2)


def fused_ops(graph: Graph, kept: list[int]) -> dict[int, int]:
    """Op index -> index of the op fused into it, which then writes that op's output itself:

    - a MAX_POOL_2D into the CONV_2D before it (``ta_conv_params_t``: pool_h, pool_w), when its
      windows tile the convolution's output (stride = window, no padding), the convolution takes the
      fast path with at most `POOL_CHANNELS` output channels and the two activation ranges overlap.
      Each window's largest accumulator is requantized once: exact, since requantization and clamp
      never decrease as the accumulator grows (TFLite's MAX_POOL_2D keeps the input quantization);
    - an ADD / SUB of a constant scalar (a 256-entry table, `table_input`) into the
      RESIZE_BILINEAR before it: each resized value is looked up as it is stored.

    Only where the second op alone of the kept ops reads the first one's output, not a model output.
    """
    readers: dict[int, list[int]] = {}
    for i in kept:
        for t in graph.ops[i].inputs:
            readers.setdefault(t, []).append(i)
    fused = {}
    for i in kept:
        op = graph.ops[i]
        y = op.outputs[0] if op.outputs else -1
        if y in graph.outputs or len(readers.get(y, [])) != 1:
            continue
        j = readers[y][0]
        nxt = graph.ops[j]
        if _pool_fuses(graph, op, nxt) or (op.name == "RESIZE_BILINEAR" and table_input(graph, nxt) == y):
            fused[i] = j
    return fused


def shape_only_ops(graph: Graph) -> set[int]:
    """Indices of ops whose outputs only feed a RESHAPE's shape input (directly or through each other)."""
    consumers: dict[int, list[tuple[int, int]]] = {}
    for i, op in enumerate(graph.ops):
        for pos, t in enumerate(op.inputs):
            consumers.setdefault(t, []).append((i, pos))
    skipped: set[int] = set()
    for i in reversed(range(len(graph.ops))):
        op = graph.ops[i]
        if op.name not in SHAPE_OPS:
            continue
        ok = all(graph.tensors[t].dtype == np.int32 and t not in graph.outputs for t in op.outputs)
        for t in op.outputs:
            for j, pos in consumers.get(t, []):
                if not ((graph.ops[j].name == "RESHAPE" and pos == 1) or j in skipped):
                    ok = False
        if ok:
            skipped.add(i)
    return skipped


@dataclasses.dataclass(frozen=True)
class _Window:
    """A streaming state of a step model (`tinyaudio.quantize.streaming`) as one static buffer.

    The step model reads ``CONCATENATION(state_in, x) -> window`` and writes ``state_out =
    SLICE(window, the last rows - new_rows rows)``. In C the window is a persistent buffer of
    ``rows`` rows whose first ``rows - new_rows`` are the state: the concatenation copies only the
    ``new_rows`` new rows ``x`` below them, and after the step the rows move up by ``new_rows``
    (the slice), so the next call finds its state in place and no whole window is ever copied.
    """

    name: str
    state_in: int
    state_out: int
    window: int
    concat_op: int
    slice_op: int
    rows: int
    new_rows: int
    row_bytes: int
    zero_point: int


def _windows(graph: Graph) -> list[_Window]:
    """The step model's states paired with their buffers (inputs / outputs after the first, in order).

    Raises:
        CodegenError: extra inputs or outputs that are not such state pairs.
    """
    extra_in, extra_out = graph.inputs[1:], graph.outputs[1:]
    if len(extra_in) != len(extra_out):
        raise CodegenError(f"model has {len(graph.inputs)} inputs and {len(graph.outputs)} outputs; one of each is "
                           "supported, or a streaming step model (tinyaudio.quantize.streaming) with its states")
    producer = {t: i for i, op in enumerate(graph.ops) for t in op.outputs}
    consumers: dict[int, list[int]] = {}
    for i, op in enumerate(graph.ops):
        for t in op.inputs:
            consumers.setdefault(t, []).append(i)
    out = []
    for n, (s_in, s_out) in enumerate(zip(extra_in, extra_out)):
        concat = consumers.get(s_in, [])
        slice_op = producer.get(s_out)
        ok = (len(concat) == 1 and graph.ops[concat[0]].name == "CONCATENATION" and graph.ops[concat[0]].inputs[0] == s_in
              and graph.ops[concat[0]].options.get("axis") == 1 and slice_op is not None
              and graph.ops[slice_op].name == "SLICE" and graph.ops[slice_op].inputs[0] == graph.ops[concat[0]].outputs[0])
        if not ok:
            raise CodegenError(f"input {graph.tensors[s_in].name!r} / output {graph.tensors[s_out].name!r} are not a "
                               "streaming state (CONCATENATION along time, then SLICE); one input and one output are "
                               "supported otherwise")
        window = graph.ops[concat[0]].outputs[0]
        shape = graph.tensors[window].shape
        zp = graph.tensors[s_in].zero_point
        out.append(_Window(f"ta_window{n}", s_in, s_out, window, concat[0], slice_op, shape[1],
                           shape[1] - graph.tensors[s_in].shape[1], int(np.prod(shape[2:])), int(zp[0]) if zp.size else 0))
    return out


class _Lowering:
    """Walks the graph once, collecting C declarations and the statements of ``ta_model_invoke``."""

    def __init__(self, graph: Graph, *, dsp: bool, windows: list[_Window] = (), patches: bool = True,
                 padded: bool = False, fused: dict[int, Op] | None = None):
        self.graph = graph
        self.dsp = dsp
        self.patches = patches  # im2col patches in the arena for convolution windows not read in place
        self.padded = padded  # zero-padded input copies for convolutions with windows in the side padding
        #: an op fused into the op before it (`fused_ops`), by the index of that op's output tensor
        self.fused = dict(fused or {})
        self.windows = list(windows)
        #: tensors in static buffers of their own (a window, or its state), never in the arena
        self.static = {w.window: w.name for w in windows} | {w.state_in: w.name for w in windows} | {
            w.state_out: w.name for w in windows}
        self.finals: list[str] = []  # statements after the last op (the windows move up by their new rows)
        self.decls: list[str] = []
        self.calls: list[str] = []
        self.weights_bytes = 0
        self.alias: dict[int, int] = {}
        self.emitted: set[int] = set()
        self.counter = 0
        self.step = 0  # index of the op being lowered among the kept ops
        #: arena buffers an op needs while it runs (an im2col patch): id -> (bytes, step); ids follow the tensors'
        self.scratch: dict[int, tuple[int, int]] = {}

    # -- helpers -------------------------------------------------------------------------------
    def t(self, index: int) -> Tensor:
        return self.graph.tensors[index]

    def root(self, index: int) -> int:
        while index in self.alias:
            index = self.alias[index]
        return index

    def const(self, index: int, ctype: str) -> str:
        tensor = self.t(index)
        if tensor.data is None:
            raise CodegenError(f"tensor {tensor.name!r} must be a constant for code generation")
        name = f"c{index}"
        if index not in self.emitted:
            self.emitted.add(index)
            self.decls.append(_c_array(ctype, name, tensor.data))
            self.weights_bytes += tensor.nbytes
        return name

    def act(self, index: int) -> str:
        """C expression of an activation tensor's address in the arena."""
        tensor = self.t(index)
        if tensor.data is not None:
            return self.const(index, "int8_t")
        if tensor.dtype != np.int8:
            raise CodegenError(f"tensor {tensor.name!r} is {tensor.dtype}; the generated C handles int8 activations only "
                               "(export the fully int8 model, model_int8.tflite)")
        if index in self.static:
            return self.static[index]
        return f"TA_T{self.root(index)}"

    def quant(self, index: int) -> tuple[float, int]:
        tensor = self.t(index)
        if tensor.scale.size == 0:
            raise CodegenError(f"tensor {tensor.name!r} is not quantized")
        return float(tensor.scale[0]), int(tensor.zero_point[0]) if tensor.zero_point.size else 0

    def params(self, ctype: str, fields: str) -> str:
        name = f"p{self.counter}"
        self.counter += 1
        self.decls.append(f"static const {ctype} {name} = {{{fields}}};\n")
        return name

    def array(self, ctype: str, prefix: str, values, **kwargs) -> str:
        """Emit a constant array of derived values (not a graph tensor), counted in `weights_bytes`."""
        values = np.asarray(values)
        name = f"{prefix}{self.counter}"
        self.counter += 1
        self.decls.append(_c_array(ctype, name, values, **kwargs))
        self.weights_bytes += values.size * _C_SIZES[ctype]
        return name

    def bias(self, op: Op, out_c: int) -> np.ndarray:
        """The op's bias tensor as int64, shape (out_c,); zeros when the op has none."""
        if _has_bias(op):
            return self.t(op.inputs[2]).data.astype(np.int64)
        return np.zeros(out_c, np.int64)

    def filter_words(self, weights: np.ndarray) -> tuple[str, str]:
        """Emit ``weights`` (out_c, taps) int8 pre-expanded for the fast path (``ta_nn.h``, TA_FILTER_*):
        Q15 quads on cores with SMLAD, lane pairs on the others unless a weight is -128 (two products
        of -128 x -128 would overflow a lane). Returns the array's name and the layout's C name."""
        out_c, taps = weights.shape
        quads = self.dsp or (weights == -128).any()
        step = 4 if quads else 2
        w = np.zeros((-(-out_c // 4) * 4, -(-taps // step) * step), np.int64)
        w[:out_c, :taps] = weights
        blocks = w.reshape(-1, 4, w.shape[1] // step, step).transpose(0, 2, 1, 3)  # (block, group, channel, tap)
        if quads:  # per channel (k, k+2) and (k+1, k+3) as int16 pairs
            words = np.stack([(blocks[..., 0] & 0xFFFF) | (blocks[..., 2] << 16),
                              (blocks[..., 1] & 0xFFFF) | (blocks[..., 3] << 16)], axis=-1)
        else:  # per tap k, k+1: channels (0, 1) then (2, 3) as w_0 + 2^16 w_1
            pairs = blocks[:, :, 0::2] + (blocks[:, :, 1::2] << 16)  # (block, pair, channel pair, tap)
            words = pairs
        words = ((words.reshape(-1) + 2**31) % 2**32 - 2**31).astype(np.int32)
        return self.array("int32_t", "w", words, per_line=8), "TA_FILTER_Q15_QUADS" if quads else "TA_FILTER_LANE_PAIRS"

    def patch(self, n_bytes: int) -> str:
        """An arena buffer of ``n_bytes`` live only while the current op runs (its C expression)."""
        key = len(self.graph.tensors) + len(self.scratch)
        self.scratch[key] = (n_bytes, self.step)
        return f"TA_T{key}"

    def multipliers(self, mult: list[int], shift: list[int]) -> tuple[str, str]:
        return self.array("int32_t", "m", mult), self.array("int8_t", "s", shift)

    def requant(self, mult: list[int], shift: list[int], max_abs_acc: np.ndarray) -> str:
        """Emit ``ta_requant_t`` records (``ta_nn.h``) when every channel's accumulator provably stays
        within +-2^30 (``max_abs_acc``: |bias| + 128 x sum of |weights|, per channel) and every
        shift is negative; else "NULL" (the kernels requantize with multiplier and shift)."""
        if np.any(np.asarray(max_abs_acc, dtype=np.float64) >= 2.0**30) or max(shift) >= 0:
            return "NULL"
        records = [f"{{{m_c}, {1 << (-s_c - 1)}, {-s_c}}}" for m_c, s_c in zip(mult, shift)]
        name = f"q{self.counter}"
        self.counter += 1
        rows = [", ".join(records[i : i + 4]) for i in range(0, len(records), 4)]
        self.decls.append(f"static const ta_requant_t {name}[{len(records)}] = {{\n    " + ",\n    ".join(rows) + "\n};\n")
        self.weights_bytes += 12 * len(records)
        return name

    # -- ops -----------------------------------------------------------------------------------
    def conv(self, op: Op, depthwise: bool) -> None:
        o = op.options
        x, w, y = self.t(op.inputs[0]), self.t(op.inputs[1]), self.t(op.outputs[0])
        _, in_h, in_w, in_c = x.shape
        _, out_h, out_w, out_c = y.shape
        f_h, f_w = w.shape[1], w.shape[2]
        s_h, s_w = o.get("strideH", 1), o.get("strideW", 1)
        d_h, d_w = o.get("dilationHFactor", 1) or 1, o.get("dilationWFactor", 1) or 1
        same = o.get("padding", 0) == 0
        pad_h = P.same_padding(s_h, d_h, in_h, f_h, out_h) if same else 0
        pad_w = P.same_padding(s_w, d_w, in_w, f_w, out_w) if same else 0
        in_s, in_zp = self.quant(op.inputs[0])
        out_s, out_zp = self.quant(op.outputs[0])
        mult, shift = P.conv_multipliers(in_s, w.scale, out_s, out_c)
        m, s = self.multipliers(mult, shift)
        lo, hi = P.activation_range(o.get("fusedActivationFunction", 0), out_s, out_zp)
        dm = out_c // in_c if depthwise else 1
        fast_path = conv_fast_path(self.graph, op)
        fast, words, requant = "NULL, NULL, NULL, 0", "NULL, 0, NULL", "NULL"
        padded, pooled, output = "NULL, 0", "0, 0", op.outputs[0]
        pool = self.fused.get(op.outputs[0])
        if pool is not None:  # a fused MAX_POOL_2D: the pool's output, both activation ranges
            pool_lo, pool_hi = P.activation_range(pool.options.get("fusedActivationFunction", 0), out_s, out_zp)
            lo, hi = max(lo, pool_lo), min(hi, pool_hi)
            pooled, output = f"{pool.options['filterHeight']}, {pool.options['filterWidth']}", pool.outputs[0]
        if fast_path:
            # depthwise 1HWC -> per-channel taps (C, H, W, 1); conv OHWI already has channels first
            taps = np.transpose(w.data, (3, 1, 2, 0)) if depthwise else w.data
            fast, max_abs_bias = self.bias_table(taps.astype(np.int64), self.bias(op, out_c), -in_zp, (in_h, in_w),
                                                 (out_h, out_w), (s_h, s_w), (pad_h, pad_w))
            requant = self.requant(mult, shift, max_abs_bias + 128 * np.abs(taps.astype(np.int64)).sum(axis=(1, 2, 3)))
            if not depthwise:
                name, layout = self.filter_words(w.data.reshape(out_c, -1))
                width = padded_width(in_w, out_w, f_w, s_w, pad_w)
                if self.padded and width > in_w and rows_in_place(f_w, in_c, layout == "TA_FILTER_Q15_QUADS"):
                    padded = f"{self.patch(in_h * width * in_c)}, {width}"  # every window read in place
                patch = self.patch(f_h * f_w * in_c) if (f_h, f_w) != (1, 1) and self.patches and \
                    padded.startswith("NULL") else "NULL"
                words = f"{name}, {layout}, {patch}"
        # the fast path reads the bias from its table; the reference path from the bias tensor
        bias = self.const(op.inputs[2], "int32_t") if _has_bias(op) and not fast_path else "NULL"
        p = self.params("ta_conv_params_t",
                        f"{in_h}, {in_w}, {in_c}, {out_h}, {out_w}, {out_c}, {f_h}, {f_w}, {s_h}, {s_w}, {d_h}, {d_w}, "
                        f"{pad_h}, {pad_w}, {dm}, {-in_zp}, {out_zp}, {lo}, {hi}, {m}, {s}, {fast}, {words}, {requant}, "
                        f"{padded}, {pooled}")
        fn = "ta_depthwise_conv2d_s8" if depthwise else "ta_conv2d_s8"
        weights = self.const(op.inputs[1], "int8_t") if words.startswith("NULL") else "NULL"
        self.calls.append(f"{fn}(&{p}, {self.act(op.inputs[0])}, {weights}, {bias}, {self.act(output)});")

    def bias_table(self, taps: np.ndarray, bias: np.ndarray, input_offset: int, in_hw: tuple[int, int],
                   out_hw: tuple[int, int], stride: tuple[int, int], pad: tuple[int, int]) -> str:
        """Emit the fast path's bias table and row / column classes (see ``ta_conv_params_t``).

        ``taps``: int64, shape (out_c, filter_h, filter_w, in_c). Output rows (columns) whose valid
        filter rows (columns) are the same share a class; each class pair gets ``bias + input_offset *
        sum of the valid taps`` per output channel. Returns the struct fields' C initialisers and the
        largest |table entry| per output channel, int64 shape (out_c,).
        """
        classes = []
        for axis in range(2):
            ranges = P.valid_tap_ranges(in_hw[axis], out_hw[axis], taps.shape[1 + axis], stride[axis], pad[axis])
            unique = list(dict.fromkeys(ranges))
            classes.append(([unique.index(r) for r in ranges], unique))
        (row_class, rows), (col_class, cols) = classes
        table = np.empty((len(rows), len(cols), taps.shape[0]), dtype=np.int64)
        for i, (y0, y1) in enumerate(rows):
            for j, (x0, x1) in enumerate(cols):
                table[i, j] = bias + input_offset * taps[:, y0:y1, x0:x1, :].sum(axis=(1, 2, 3))
        if np.abs(table).max(initial=0) >= 2**31:
            raise CodegenError("a folded bias does not fit int32; this model's weights or zero points are out of range")
        fields = (f"{self.array('int32_t', 'b', table.astype(np.int32))}, {self.array('uint8_t', 'r', row_class)}, "
                  f"{self.array('uint8_t', 'k', col_class)}, {len(cols)}")
        return fields, np.abs(table).max(axis=(0, 1))

    def fully_connected(self, op: Op) -> None:
        w, y = self.t(op.inputs[1]), self.t(op.outputs[0])
        out_c, depth = w.shape
        if self.t(op.inputs[0]).size != depth or y.size != out_c:
            raise CodegenError(f"FULLY_CONNECTED {y.name!r}: batch > 1 is not supported")
        in_s, in_zp = self.quant(op.inputs[0])
        out_s, out_zp = self.quant(op.outputs[0])
        per_channel = w.scale.size > 1
        if per_channel:
            mult, shift = P.conv_multipliers(in_s, w.scale, out_s, out_c)
        else:
            mult, shift = map(lambda v: [v], P.fc_multiplier(in_s, float(w.scale[0]), out_s))
        m, s = self.multipliers(mult, shift)
        w_zp = int(w.zero_point[0]) if w.zero_point.size and not per_channel else 0
        lo, hi = P.activation_range(op.options.get("fusedActivationFunction", 0), out_s, out_zp)
        folded, words, requant = "NULL", "NULL, 0", "NULL"
        if w_zp == 0 and w.data is not None:
            folded_bias = self.bias(op, out_c) - in_zp * w.data.astype(np.int64).sum(axis=1)
            folded = self.array("int32_t", "b", folded_bias.astype(np.int32))
            words = ", ".join(self.filter_words(w.data.reshape(out_c, depth)))
            bound = np.abs(folded_bias) + 128 * np.abs(w.data.astype(np.int64)).sum(axis=1)
            requant = self.requant(mult, shift, bound if per_channel else np.array([bound.max()]))
        p = self.params("ta_fc_params_t", f"{depth}, {out_c}, {-in_zp}, {-w_zp}, {out_zp}, {lo}, {hi}, {m}, {s}, "
                                          f"{int(per_channel)}, {folded}, {words}, {requant}")
        bias = self.const(op.inputs[2], "int32_t") if _has_bias(op) and folded == "NULL" else "NULL"
        weights = self.const(op.inputs[1], "int8_t") if folded == "NULL" else "NULL"
        self.calls.append(f"ta_fully_connected_s8(&{p}, {self.act(op.inputs[0])}, {weights}, {bias}, "
                          f"{self.act(op.outputs[0])});")

    def pool(self, op: Op, kind: str) -> None:
        o = op.options
        x, y = self.t(op.inputs[0]), self.t(op.outputs[0])
        _, in_h, in_w, c = x.shape
        _, out_h, out_w, _ = y.shape
        f_h, f_w = o["filterHeight"], o["filterWidth"]
        s_h, s_w = o.get("strideH", 1), o.get("strideW", 1)
        same = o.get("padding", 0) == 0
        pad_h = P.same_padding(s_h, 1, in_h, f_h, out_h) if same else 0
        pad_w = P.same_padding(s_w, 1, in_w, f_w, out_w) if same else 0
        if self.quant(op.inputs[0]) != self.quant(op.outputs[0]):
            raise CodegenError(f"{op.name} {y.name!r}: input and output quantization differ; TFLite requires them equal")
        out_s, out_zp = self.quant(op.outputs[0])
        lo, hi = P.activation_range(o.get("fusedActivationFunction", 0), out_s, out_zp)
        p = self.params("ta_pool_params_t",
                        f"{in_h}, {in_w}, {c}, {out_h}, {out_w}, {f_h}, {f_w}, {s_h}, {s_w}, {pad_h}, {pad_w}, {lo}, {hi}")
        self.calls.append(f"ta_{kind}_pool_s8(&{p}, {self.act(op.inputs[0])}, {self.act(op.outputs[0])});")

    def mean(self, op: Op) -> None:
        x, axes = self.t(op.inputs[0]), self.t(op.inputs[1])
        if axes.data is None or len(x.shape) != 4 or sorted(int(a) % 4 for a in axes.data.reshape(-1)) != [1, 2]:
            raise CodegenError("MEAN is supported over height and width of a 4-D tensor (GlobalAveragePooling2D) only")
        if op.options.get("keepDims"):
            raise CodegenError("MEAN with keep_dims is not supported; use GlobalAveragePooling2D(keepdims=False)")
        (in_s, in_zp), (out_s, out_zp) = self.quant(op.inputs[0]), self.quant(op.outputs[0])
        if (np.float32(in_s), in_zp) == (np.float32(out_s), out_zp):
            raise CodegenError("MEAN with equal input and output quantization is not supported (TFLite takes a "
                               "different integer path there that tinyaudio does not generate)")
        _, h, w, c = x.shape
        mult, shift = P.mean_multiplier(in_s, out_s, h * w)
        self.calls.append(f"ta_mean_hw_s8({self.act(op.inputs[0])}, {h}, {w}, {c}, {in_zp}, {mult}, {shift}, {out_zp}, "
                          f"{self.act(op.outputs[0])});")

    def softmax(self, op: Op) -> None:
        x = self.t(op.inputs[0])
        in_s, _ = self.quant(op.inputs[0])
        out_s, out_zp = self.quant(op.outputs[0])
        if out_zp != -128 or np.float32(out_s) != np.float32(1 / 256):
            raise CodegenError("SOFTMAX output must be quantized with scale 1/256, zero point -128 (TFLite's int8 rule)")
        mult, shift, diff_min = P.softmax_params(op.options.get("beta", 1.0), in_s)
        depth = x.shape[-1]
        self.calls.append(f"ta_softmax_s8({self.act(op.inputs[0])}, {x.size // depth}, {depth}, {mult}, {shift}, "
                          f"{diff_min}, {self.act(op.outputs[0])});")

    def logistic(self, op: Op) -> None:
        in_s, in_zp = self.quant(op.inputs[0])
        if self.quant(op.outputs[0])[1] != -128:
            raise CodegenError("LOGISTIC output zero point must be -128 (TFLite's int8 rule)")
        mult, shift, radius = P.logistic_params(in_s)
        self.calls.append(f"ta_logistic_s8({self.act(op.inputs[0])}, {self.t(op.inputs[0]).size}, {in_zp}, {radius}, "
                          f"{mult}, {shift}, {self.act(op.outputs[0])});")

    def lookup_table(self, op: Op) -> str:
        """Emit the 256-entry table of an ADD / SUB of a constant scalar (`table_input`); its C name."""
        constant_first = table_input(self.graph, op) == op.inputs[1]
        constant = self.t(op.inputs[0] if constant_first else op.inputs[1])
        (s1, z1), (s2, z2), (so, zo) = self.quant(op.inputs[0]), self.quant(op.inputs[1]), self.quant(op.outputs[0])
        lo, hi = P.activation_range(op.options.get("fusedActivationFunction", 0), so, zo)
        table = P.add_sub_table(P.add_sub_params(s1, s2, so), (-z1, -z2, zo), (lo, hi), int(constant.data.reshape(-1)[0]),
                                constant_first, op.name == "SUB")
        return self.array("int8_t", "l", table, per_line=32)

    def add_sub(self, op: Op) -> None:
        a, b, y = self.t(op.inputs[0]), self.t(op.inputs[1]), self.t(op.outputs[0])
        index = table_input(self.graph, op)
        if index is not None:  # one input a single constant: the op is a function of one int8 value
            self.calls.append(f"ta_lookup_s8({self.lookup_table(op)}, {self.act(index)}, {y.size}, {self.act(op.outputs[0])});")
            return
        broadcast = None
        if a.size != y.size or b.size not in (1, y.size):
            broadcast = _broadcast_strides(a.shape, b.shape, y.shape)
            if broadcast is None:
                raise CodegenError(f"{op.name} {y.name!r}: shapes {tuple(a.shape)} and {tuple(b.shape)} do not broadcast "
                                   f"to {tuple(y.shape)} in at most 4 dimensions")
        (s1, z1), (s2, z2), (so, zo) = self.quant(op.inputs[0]), self.quant(op.inputs[1]), self.quant(op.outputs[0])
        q = P.add_sub_params(s1, s2, so)
        lo, hi = P.activation_range(op.options.get("fusedActivationFunction", 0), so, zo)
        p = self.params("ta_arith_params_t",
                        f"{-z1}, {-z2}, {zo}, {q['input1_multiplier']}, {q['input2_multiplier']}, {q['output_multiplier']}, "
                        f"{q['input1_shift']}, {q['input2_shift']}, {q['output_shift']}, {q['left_shift']}, {lo}, {hi}")
        kind = "add" if op.name == "ADD" else "sub"
        if broadcast is not None:
            dims, strides1, strides2 = broadcast
            bp = self.params("ta_broadcast_t", "{" + "}, {".join(", ".join(map(str, v)) for v in (dims, strides1, strides2)) + "}")
            self.calls.append(f"ta_{kind}_broadcast_s8(&{p}, &{bp}, {self.act(op.inputs[0])}, {self.act(op.inputs[1])}, "
                              f"{self.act(op.outputs[0])});")
            return
        self.calls.append(f"ta_{kind}_s8(&{p}, {self.act(op.inputs[0])}, {self.act(op.inputs[1])}, {y.size}, {b.size}, "
                          f"{self.act(op.outputs[0])});")

    def resize_bilinear(self, op: Op) -> None:
        x, y = self.t(op.inputs[0]), self.t(op.outputs[0])
        if self.quant(op.inputs[0]) != self.quant(op.outputs[0]):
            raise CodegenError("RESIZE_BILINEAR input and output quantization differ; TFLite requires them equal")
        _, in_h, in_w, c = x.shape
        _, out_h, out_w, _ = y.shape
        o = op.options
        align, half = bool(o.get("alignCorners")), bool(o.get("halfPixelCenters"))
        rows = self.array("int16_t", "y", P.resize_bilinear_taps(in_h, out_h, align, half), per_line=24)
        cols = self.array("int16_t", "x", P.resize_bilinear_taps(in_w, out_w, align, half), per_line=24)
        table, output = "NULL", op.outputs[0]
        lookup = self.fused.get(op.outputs[0])
        if lookup is not None:  # a fused ADD / SUB of a constant: its table applied as each value is stored
            table, output = self.lookup_table(lookup), lookup.outputs[0]
        self.calls.append(f"ta_resize_bilinear_s8({self.act(op.inputs[0])}, {in_w}, {c}, {out_h}, {out_w}, {rows}, {cols}, "
                          f"{table}, {self.act(output)});")

    def pad(self, op: Op) -> None:
        x, y, pads = self.t(op.inputs[0]), self.t(op.outputs[0]), self.t(op.inputs[1])
        if len(x.shape) != 4 or pads.data is None or pads.data[0].any() or pads.data[3].any():
            raise CodegenError(f"PAD {y.name!r}: only height / width padding of a 4-D tensor is supported")
        if self.quant(op.inputs[0]) != self.quant(op.outputs[0]):
            raise CodegenError(f"PAD {y.name!r}: input and output quantization differ; TFLite requires them equal")
        if len(op.inputs) > 2 and op.inputs[2] >= 0:
            raise CodegenError(f"PAD {y.name!r}: a constant pad value (PADV2) is not supported")
        _, h, w, c = x.shape
        (top, bottom), (left, right) = pads.data[1], pads.data[2]
        self.calls.append(f"ta_pad_hw_s8({self.act(op.inputs[0])}, {h}, {w}, {c}, {top}, {bottom}, {left}, {right}, "
                          f"{self.quant(op.inputs[0])[1]}, {self.act(op.outputs[0])});")

    def window(self, op: Op) -> None:
        """The CONCATENATION / SLICE of a streaming state (`_Window`); any other is refused."""
        for w in self.windows:
            if op is self.graph.ops[w.concat_op]:
                if self.quant(op.inputs[1]) != self.quant(w.window) or self.quant(w.state_in) != self.quant(w.window):
                    raise CodegenError(f"{w.name}: state and new row are quantized differently; rebuild the step model")
                state = (w.rows - w.new_rows) * w.row_bytes
                self.calls.append(f"memcpy({w.name} + {state}, {self.act(op.inputs[1])}, {w.new_rows * w.row_bytes}); "
                                  "/* the new rows below the state */")
                return
            if op is self.graph.ops[w.slice_op]:
                self.finals.append(f"memmove({w.name}, {w.name} + {w.new_rows * w.row_bytes}, "
                                   f"{(w.rows - w.new_rows) * w.row_bytes}); /* the state of the next call */")
                return
        raise CodegenError(f"op {op.name} is supported only as the state of a streaming step model "
                           "(tinyaudio.quantize.streaming)")

    def lower(self, op: Op) -> None:
        if op.name == "RESHAPE":
            self.alias[op.outputs[0]] = self.root(op.inputs[0])
        elif op.name in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            self.conv(op, depthwise=op.name == "DEPTHWISE_CONV_2D")
        elif op.name == "FULLY_CONNECTED":
            self.fully_connected(op)
        elif op.name in ("MAX_POOL_2D", "AVERAGE_POOL_2D"):
            self.pool(op, "max" if op.name == "MAX_POOL_2D" else "average")
        elif op.name == "MEAN":
            self.mean(op)
        elif op.name == "SOFTMAX":
            self.softmax(op)
        elif op.name == "LOGISTIC":
            self.logistic(op)
        elif op.name in ("ADD", "SUB"):
            self.add_sub(op)
        elif op.name == "RESIZE_BILINEAR":
            self.resize_bilinear(op)
        elif op.name == "PAD":
            self.pad(op)
        elif op.name in ("CONCATENATION", "SLICE"):
            self.window(op)
        else:
            hint = ("the model has float inputs or outputs; export the fully int8 model (model_int8.tflite)"
                    if op.name in ("QUANTIZE", "DEQUANTIZE") else f"supported: {', '.join(SUPPORTED_OPS)}")
            raise CodegenError(f"op {op.name} has no C kernel in tinyaudio.export.codegen; {hint}")


def _lifetimes(graph: Graph, lowering: _Lowering, kept: list[int]) -> tuple[dict[int, int], dict[int, tuple[int, int]]]:
    sizes: dict[int, int] = {}
    spans: dict[int, list[int]] = {}

    def touch(index: int, step: int) -> None:
        if index < 0 or graph.tensors[index].data is not None or index in lowering.static:
            return  # absent optional input, a constant, or a streaming state (a static buffer of its own)
        tensor = graph.tensors[index]
        root = lowering.root(index)
        sizes[root] = max(sizes.get(root, 0), tensor.nbytes)
        span = spans.setdefault(root, [step, step])
        span[0], span[1] = min(span[0], step), max(span[1], step)

    for step, i in enumerate(kept):
        op = graph.ops[i]
        fused = lowering.fused.get(op.outputs[0]) if op.outputs else None
        outputs = fused.outputs if fused is not None else op.outputs  # an op with one fused writes its output
        for t in (op.inputs[:1] if op.name == "RESHAPE" else op.inputs) + outputs:
            touch(t, step)
    for key, (n_bytes, step) in lowering.scratch.items():
        sizes[key], spans[key] = n_bytes, [step, step]
    for t in graph.inputs:
        touch(t, -1)
    for t in graph.outputs:
        touch(t, len(kept))
    return sizes, {b: (s[0], s[1]) for b, s in spans.items()}


def _lower(graph: Graph, kept: list[int], windows: list[_Window], dsp: bool, *, patches: bool, padded: bool,
           fused: dict[int, Op]) -> tuple[_Lowering, MemoryPlan]:
    """Lower the kept ops and plan the arena (with or without im2col patches and padded copies)."""
    lowering = _Lowering(graph, dsp=dsp, windows=windows, patches=patches, padded=padded, fused=fused)
    for step, i in enumerate(kept):
        lowering.step = step
        lowering.lower(graph.ops[i])
    sizes, lifetimes = _lifetimes(graph, lowering, kept)
    return lowering, plan_memory(sizes, lifetimes)


def generate_c(model: str | os.PathLike | bytes, *, name: str = "model_int8.tflite", cpu: str = DEFAULT_CPU
               ) -> GeneratedModel:
    """Generate dependency-free C99 for an int8 ``.tflite`` model.

    Args:
        model: path or bytes of the ``.tflite`` file (int8 inputs, outputs and activations).
        name: shown in the generated file's header comment.
        cpu: the core the code is laid out for (`tinyaudio.export.cpus.CPUS`): CONV_2D and
            FULLY_CONNECTED filters are pre-expanded to int16 pairs for SMLAD on cores with the
            DSP extension (Cortex-M4, M7), to lane pairs (two products per 32-bit multiply) on the
            others (``ta_nn.h``, TA_FILTER_*). The C compiles and gives the same outputs on any
            core (and on the host). A MAX_POOL_2D after a CONV_2D, or an ADD / SUB of a constant
            after a RESIZE_BILINEAR, is fused into that op where exact (`fused_ops`).

    Returns:
        `GeneratedModel` with the sources (``ta_model_c.c``, ``ta_nn.c``, ``ta_nn.h``, ``ta_model.h``).

    Raises:
        CodegenError: an op, activation or quantization the kernels do not cover (the message
            names it and the fix), float inputs, or more than one input / output (except the
            states of a streaming step model, `tinyaudio.quantize.streaming`).
    """
    graph = read_graph(model)  # reads a path itself, so that its errors name the file
    data = bytes(model) if isinstance(model, (bytes, bytearray)) else Path(model).read_bytes()
    windows = _windows(graph)
    x, y = graph.tensors[graph.inputs[0]], graph.tensors[graph.outputs[0]]
    for role, tensor in (("input", x), ("output", y)):
        if tensor.dtype != np.int8:
            raise CodegenError(f"model {role} is {tensor.dtype}; generate C from the int8 model (model_int8.tflite)")
    skipped = shape_only_ops(graph)
    kept = [i for i in range(len(graph.ops)) if i not in skipped]
    fused_pairs = fused_ops(graph, kept)
    kept = [i for i in kept if i not in fused_pairs.values()]
    fused = {graph.ops[i].outputs[0]: graph.ops[j] for i, j in fused_pairs.items()}
    dsp = cpu_target(cpu).dsp
    # padded copies and patches make the kernels faster, but never the arena larger: the fastest
    # of the four lowerings (first in this order) that keeps the smallest arena
    lowering, plan = _lower(graph, kept, windows, dsp, patches=True, padded=True, fused=fused)
    if lowering.scratch:
        for patches, padded in ((False, True), (True, False), (False, False)):
            other = _lower(graph, kept, windows, dsp, patches=patches, padded=padded, fused=fused)
            if other[1].arena_size < plan.arena_size:
                lowering, plan = other
    sizes, _ = _lifetimes(graph, lowering, kept)
    offsets = "".join(f"#define TA_T{b} (ta_arena + {plan.offsets[b]}) /* {sizes[b]} bytes */\n" for b in sorted(plan.offsets))
    (in_s, in_zp), (out_s, out_zp) = lowering.quant(graph.inputs[0]), lowering.quant(graph.outputs[0])
    digest = hashlib.sha256(data).hexdigest()[:16]
    body = "\n    ".join(lowering.calls + lowering.finals)
    state_bytes = sum(w.rows * w.row_bytes for w in windows)
    buffers = "".join(f"static int32_t {w.name}_words[{-(-w.rows * w.row_bytes // 4)}]; /* {w.rows} rows of {w.row_bytes} bytes: "
                      f"state + {w.new_rows} new */\n#define {w.name} ((int8_t *){w.name}_words)\n" for w in windows)
    resets = "".join(f"\n    memset({w.name}, {w.zero_point}, {w.rows * w.row_bytes});" for w in windows)
    streaming = (f"\n * Streaming step model: each call takes the newest frames; {len(windows)} windows ({state_bytes} bytes, word-\n"
                 " * aligned, outside the arena) keep the earlier frames each layer looks back at; ta_model_reset() clears them.")\
        if windows else ""
    source = f"""/* Generated by tinyaudio.export.codegen from {name} (sha256 {digest}...) for the {cpu}. Do not edit.
 *
 * Plain C99: the model's weights as constant arrays, its tensors at fixed offsets of one static
 * arena of {plan.arena_size} bytes (largest set of tensors live at once: {plan.peak_live_bytes} bytes), and one
 * kernel call per op ({', '.join(dict.fromkeys(graph.ops[i].name for i in kept))}).
 * Input  int8 {list(x.shape)}, scale {in_s:.9g}, zero point {in_zp}.
 * Output int8 {list(y.shape)}, scale {out_s:.9g}, zero point {out_zp}.{streaming}
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ta_model.h"
#include "ta_nn.h"

#define TA_CODEGEN_ARENA_BYTES {plan.arena_size}
#define TA_CODEGEN_INPUT_BYTES {x.size}
#define TA_CODEGEN_OUTPUT_BYTES {y.size}

static int32_t ta_arena_words[TA_CODEGEN_ARENA_BYTES / 4]; /* int32 for 4-byte alignment */
#define ta_arena ((int8_t *)ta_arena_words)
{offsets}{buffers}
{''.join(lowering.decls)}
void ta_model_reset(void)
{{{resets}
}}

int ta_model_init(void) {{ ta_model_reset(); return 0; }}

int8_t *ta_model_input(void) {{ return {lowering.act(graph.inputs[0])}; }}

const int8_t *ta_model_output(void) {{ return {lowering.act(graph.outputs[0])}; }}

size_t ta_model_arena_used(void) {{ return TA_CODEGEN_ARENA_BYTES; }}

int ta_model_invoke(void)
{{
    {body}
    return 0;
}}
"""
    files = {"ta_model_c.c": source}
    files.update({f: (TEMPLATE_DIR / f).read_text() for f in STATIC_FILES})
    return GeneratedModel(
        files=files, ops=tuple(graph.ops[i].name for i in kept),
        plan=plan, weights_bytes=lowering.weights_bytes, state_bytes=state_bytes, input_shape=x.shape, output_shape=y.shape,
        input_scale=in_s, input_zero_point=in_zp, output_scale=out_s, output_zero_point=out_zp,
        im2col=lowering.patches, padded=lowering.padded, fused=tuple(
            f"{graph.ops[j].name} into {graph.ops[i].name}" for i, j in fused_pairs.items()),
    )


def write_c(model: str | os.PathLike | bytes, out_dir: str | os.PathLike, **kwargs) -> GeneratedModel:
    """`generate_c` and write its files into ``out_dir`` (each atomically), a build folder of tinyaudio's
    own; `write_c_folder` is the user-facing form that never replaces what it did not write."""
    generated = generate_c(model, **kwargs)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, text in generated.files.items():
        write_text_atomic(out / name, text)
    return generated


def write_c_folder(model: str | os.PathLike | bytes, out_dir: str | os.PathLike, *, overwrite: bool = False,
                   **kwargs) -> GeneratedModel:
    """`generate_c` into a new folder ``out_dir``, built under a temporary name and renamed into place.

    Raises:
        FolderExistsError: ``out_dir`` exists and ``overwrite`` is False, or it holds files
            tinyaudio did not write (a hand-edited ``ta_nn.c`` is never replaced).
        CodegenError: as `generate_c` (checked before anything is written).
    """
    from tinyaudio._io import build_folder, check_output_folder

    check_output_folder(out_dir, overwrite=overwrite, what="generated C folder")
    generated = generate_c(model, **kwargs)
    with build_folder(out_dir, overwrite=overwrite, what="generated C folder") as tmp:
        for name, text in generated.files.items():
            write_text_atomic(tmp / name, text)
    return generated
