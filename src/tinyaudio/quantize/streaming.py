"""Streaming step models: the same ``.tflite`` graph rewritten to take only the new feature frames.

A model whose time axis is causal (every convolution and pool along time "valid", the time axis
removed only by a final pool or mean over all of it; `tinyaudio.models.ds_cnn_stream`) computes
each output frame of a layer from the last ``k`` frames of its input. `step_model` rewrites the
converted graph so that every tensor holds only the frames a step adds, and every op that looks
``k`` frames back (time stride ``s``) reads a concatenation of a **state** input (its last
``k - s`` input frames) and the new frames; the state output (the concatenation minus its oldest
frames) is fed back at the next call:

    new frames (1, frames_per_step, n_features, 1), state_in_1 .. state_in_n
        -> ... CONCATENATION(state_in_i, x) -> CONV_2D (k rows -> new rows) ...
        -> scores (1, n_outputs), state_out_1 .. state_out_n  (SLICE of each concatenation)

The rewrite works on the flatbuffer itself: weights, biases, scales and zero points are those of
the full model, and a state tensor takes the quantization of the activation it stores, so each
CONCATENATION and SLICE only copies int8 values. Once ``n_frames`` frames have been fed, the
step model's int8 output after a step that ends at frame ``t`` equals, bit for bit, the full
int8 model's output on the window of frames ``t - n_frames + 1 .. t`` (the same integer ops on
the same integers).

Needs only the flatbuffer schema of ``ai-edge-litert``: no TensorFlow.

Source: the external-state streaming mode of Rybakov et al. 2020, "Streaming keyword spotting on
mobile devices" (google-research kws_streaming, ``Modes.STREAM_EXTERNAL_STATE_INFERENCE``), here
done on the converted int8 graph rather than on the Keras model.
"""

from __future__ import annotations

import copy
import dataclasses

import numpy as np

from tinyaudio.errors import StreamingError

__all__ = ["StepSpec", "StepState", "StreamingError", "step_model"]


#: Ops that act on each frame alone (any input shape; time passes through untouched).
_PER_FRAME = {"ADD", "SUB", "MUL", "RELU", "RELU6", "LOGISTIC", "TANH", "HARD_SWISH", "QUANTIZE", "DEQUANTIZE",
              "LEAKY_RELU", "PRELU", "SOFTMAX", "MAXIMUM", "MINIMUM"}
#: Ops with a kernel along time: CONV_2D, DEPTHWISE_CONV_2D (filter dim 1), and the 2-D pools.
_WINDOWED = {"CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "MAX_POOL_2D"}


@dataclasses.dataclass(frozen=True)
class StepState:
    """One state of a step model: input ``input_name`` at call ``t`` is output ``output_name`` of call ``t - 1``.

    Attributes:
        shape: (1, k - 1, ...) frames kept for an op that looks ``k`` frames back.
        dtype: ``"int8"`` or ``"float32"``.
        zero_point: the value that means 0.0 (a reset fills the state with it).
    """

    input_name: str
    output_name: str
    shape: tuple[int, ...]
    dtype: str
    zero_point: int


@dataclasses.dataclass(frozen=True)
class StepSpec:
    """How to drive a step model (saved beside it as JSON).

    Attributes:
        n_frames: frames of the full model's window; outputs equal the full model's once this
            many frames have been fed.
        frames_per_step: new frames each call takes: the product of the time strides (2 for
            ds_cnn_stream); outputs equal the full model's on the windows that end at a step.
        input_name, output_name: the frame input and the scores output.
        states: every state, in the step model's input order after the frame.
        macs_per_step: multiply-accumulates of one call (convolutions and dense layers).
        macs_full: the same for one call of the full model.
    """

    n_frames: int
    frames_per_step: int
    input_name: str
    output_name: str
    states: tuple[StepState, ...]
    macs_per_step: int
    macs_full: int

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "StepSpec":
        states = tuple(StepState(**{**s, "shape": tuple(s["shape"])}) for s in d["states"])
        return cls(**{**d, "states": states})


def _schema():
    from ai_edge_litert import schema_py_generated as schema

    return schema


class _Rewriter:
    """One pass over the single subgraph of a ``ModelT`` (the flatbuffer object API)."""

    def __init__(self, model, schema):
        self.m, self.s = model, schema
        if len(model.subgraphs) != 1:
            raise StreamingError(f"a step model needs a single subgraph, the model has {len(model.subgraphs)}")
        self.sg = model.subgraphs[0]
        self.names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
        self.codes = {v: k for k, v in self.names.items()}

    # -- flatbuffer helpers ------------------------------------------------------------------
    def op_name(self, op) -> str:
        code = self.m.operatorCodes[op.opcodeIndex]
        return self.names[max(code.builtinCode, code.deprecatedBuiltinCode)]

    def tensor(self, index: int):
        return self.sg.tensors[index]

    def name(self, index: int) -> str:
        n = self.tensor(index).name
        return n.decode() if isinstance(n, bytes) else str(n)

    def shape(self, index: int) -> list[int]:
        return [int(d) for d in self.tensor(index).shape]

    def const(self, index: int) -> np.ndarray | None:
        buf = self.m.buffers[self.tensor(index).buffer]
        if buf.data is None or len(buf.data) == 0:
            return None
        dtype = {2: np.int32, 4: np.int64, 9: np.int8, 0: np.float32}[self.tensor(index).type]
        return np.frombuffer(bytes(bytearray(buf.data)), dtype=dtype).reshape(self.shape(index))

    def set_shape(self, index: int, shape: list[int]) -> None:
        t = self.tensor(index)
        t.shape = np.array(shape, dtype=np.int32)
        if t.shapeSignature is not None:
            t.shapeSignature = np.array(shape, dtype=np.int32)

    def opcode(self, name: str, version: int) -> int:
        code = self.codes[name]
        for i, oc in enumerate(self.m.operatorCodes):
            if max(oc.builtinCode, oc.deprecatedBuiltinCode) == code:
                oc.version = max(oc.version, version)
                return i
        oc = self.s.OperatorCodeT()
        oc.builtinCode, oc.deprecatedBuiltinCode, oc.version = code, min(code, 127), version
        self.m.operatorCodes.append(oc)
        return len(self.m.operatorCodes) - 1

    def new_tensor(self, like: int, name: str, shape: list[int], data: np.ndarray | None = None) -> int:
        t = self.s.TensorT()
        t.name = name
        t.shape = np.array(shape, dtype=np.int32)
        if data is None:
            src = self.tensor(like)
            t.type, t.quantization, t.buffer = src.type, copy.deepcopy(src.quantization), 0
        else:
            buf = self.s.BufferT()
            buf.data = np.frombuffer(np.ascontiguousarray(data, dtype=np.int32).tobytes(), dtype=np.uint8)
            self.m.buffers.append(buf)
            t.type, t.buffer = self.s.TensorType.INT32, len(self.m.buffers) - 1
        self.sg.tensors.append(t)
        return len(self.sg.tensors) - 1

    def new_op(self, name: str, inputs: list[int], outputs: list[int], options=None, options_type: int = 0):
        op = self.s.OperatorT()
        version = 1 if self.tensor(inputs[0]).type == self.s.TensorType.FLOAT32 else 2
        op.opcodeIndex = self.opcode(name, version)
        op.inputs, op.outputs = np.array(inputs, dtype=np.int32), np.array(outputs, dtype=np.int32)
        op.builtinOptionsType, op.builtinOptions = options_type, options
        return op


def _time_kernel(rw: _Rewriter, op, name: str) -> tuple[int, int, int]:
    """``(frames looked back incl. the new one, time stride, padding)`` of a windowed op."""
    o = op.builtinOptions
    if name in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        kt = rw.shape(op.inputs[1])[1]
        span = (kt - 1) * max(int(o.dilationHFactor), 1) + 1
    else:
        span = int(o.filterHeight)
    return span, int(o.strideH), int(o.padding)


def step_model(model: bytes) -> tuple[bytes, StepSpec]:
    """Rewrite a converted model (float or int8 ``.tflite``) into its step model.

    An op that looks ``k`` frames back with time stride ``s`` keeps ``k - s`` frames of its input
    as state; a step brings ``frames_per_step`` (the product of the strides) new input frames, and
    each layer ``frames_per_step / (its strides so far)`` new frames.

    Args:
        model: the full model's ``.tflite`` bytes; input (1, n_frames, n_features[, 1]).

    Returns:
        ``(step model bytes, StepSpec)``. The step model's inputs are the new frames
        (1, frames_per_step, n_features[, 1]) then each state; its outputs the scores then each state.

    Raises:
        StreamingError: an op looks ahead in time ("same" padding along time), strides so that its
            last output does not end at the newest frame, mixes
            frames in a way that does not stream (a FULLY_CONNECTED or RESHAPE over several
            frames), or is not one this rewrite knows; the message names the op and the layer.
    """
    schema = _schema()
    m = schema.ModelT.InitFromPackedBuf(bytearray(model), 0)
    rw = _Rewriter(m, schema)
    sg = rw.sg
    if len(sg.inputs) != 1:
        raise StreamingError(f"a step model needs one input, the model has {len(sg.inputs)}")
    x0 = int(sg.inputs[0])
    in_shape = rw.shape(x0)
    if len(in_shape) < 3:
        raise StreamingError(f"input shape {tuple(in_shape)} has no time axis (batch, frames, features[, 1])")
    n_frames = in_shape[1]
    r0 = _frames_per_step(rw, x0)
    rows = {x0: n_frames}  # streaming tensors -> frames in the full model (their time axis is axis 1)
    new_rows = {x0: r0}  # streaming tensors -> frames each step adds
    ops, states = [], []
    macs_full = macs_step = 0
    for op in sg.operators:
        name = rw.op_name(op)
        inputs = [int(i) for i in op.inputs]
        outputs = [int(i) for i in op.outputs]
        streamed = [i for i in inputs if i in rows]
        where = f"{name} ({rw.name(outputs[0])})"
        full_macs = _macs(rw, name, inputs, outputs)
        macs_full += full_macs
        if not streamed:  # after the time axis was reduced: unchanged
            macs_step += full_macs
            ops.append(op)
            continue
        x = streamed[0]
        t_in, r_in = rows[x], new_rows[x]
        out_shape = rw.shape(outputs[0])
        if name in _WINDOWED or name == "MEAN":
            if name == "MEAN":
                axes = [int(a) % len(rw.shape(x)) for a in rw.const(inputs[1]).reshape(-1)]
                span, stride, padding = (t_in, 1, 1) if 1 in axes else (1, 1, 1)
            else:
                span, stride, padding = _time_kernel(rw, op, name)
            reduces = name == "MEAN" and 1 in axes or (span == t_in and len(out_shape) > 1 and out_shape[1] == 1)
            if span > 1 and padding != schema.Padding.VALID and not reduces:
                raise StreamingError(f"{where} looks ahead in time (same padding along time); build the model with "
                                     "valid time padding (e.g. ds_cnn_stream)")
            if reduces:
                stride = r_in
            elif r_in % stride:
                raise StreamingError(f"{where}: time stride {stride} does not divide the {r_in} frames a step brings")
            elif (t_in - span) % stride:
                raise StreamingError(f"{where}: with time stride {stride}, {t_in} frames minus a kernel of {span} must be a "
                                     f"multiple of {stride} so that the last output ends at the newest frame")
            if span > stride:
                shape = rw.shape(x)
                shape[1] = span - stride
                state_in = rw.new_tensor(x, f"stream/state_in_{len(states)}", shape)
                state_out = rw.new_tensor(x, f"stream/state_out_{len(states)}", shape)
                window = rw.new_tensor(x, f"stream/window_{len(states)}", [shape[0], span - stride + r_in, *shape[2:]])
                concat = schema.ConcatenationOptionsT()
                concat.axis = 1
                ops.append(rw.new_op("CONCATENATION", [state_in, x], [window], concat,
                                     schema.BuiltinOptions.ConcatenationOptions))
                begin = rw.new_tensor(x, f"stream/begin_{len(states)}", [len(shape)], np.array([0, r_in] + [0] * (len(shape) - 2)))
                size = rw.new_tensor(x, f"stream/size_{len(states)}", [len(shape)], np.array(shape))
                ops.append(rw.new_op("SLICE", [window, begin, size], [state_out], schema.SliceOptionsT(),
                                     schema.BuiltinOptions.SliceOptions))
                zp = rw.tensor(x).quantization
                zero_point = int(zp.zeroPoint[0]) if zp is not None and zp.zeroPoint is not None and len(zp.zeroPoint) else 0
                states.append(StepState(rw.name(state_in), rw.name(state_out), tuple(shape),
                                        "float32" if rw.tensor(x).type == schema.TensorType.FLOAT32 else "int8", zero_point))
                op.inputs = np.array([window if i == x else i for i in inputs], dtype=np.int32)
            if reduces:
                macs_step += full_macs
            else:
                macs_step += full_macs * (r_in // stride) // max(out_shape[1], 1)
                _per_frame(rw, outputs, rows, new_rows, out_shape, r_in // stride)
        elif name == "PAD" or name == "PADV2":
            pads = rw.const(inputs[1])
            if pads[1].any():
                raise StreamingError(f"{where} pads along time; pad frequency only (valid time padding)")
            _per_frame(rw, outputs, rows, new_rows, out_shape, r_in)
        elif name == "RESHAPE":
            if len(out_shape) < 2 or out_shape[1] != t_in:
                raise StreamingError(f"{where} mixes {t_in} frames into shape {tuple(out_shape)}; "
                                     "pool over time before flattening")
            _per_frame(rw, outputs, rows, new_rows, out_shape, r_in)
            if len(inputs) > 1 and inputs[1] >= 0:
                new = rw.new_tensor(inputs[1], f"stream/shape_{len(ops)}", [len(out_shape)],
                                    np.array([out_shape[0], r_in, *out_shape[2:]]))
                op.inputs = np.array([inputs[0], new], dtype=np.int32)
            if op.builtinOptions is not None and getattr(op.builtinOptions, "newShape", None) is not None:
                op.builtinOptions.newShape = [out_shape[0], r_in, *out_shape[2:]]
        elif name in _PER_FRAME:
            if any(rows[i] != t_in or new_rows[i] != r_in for i in streamed):
                raise StreamingError(f"{where} joins branches of {sorted({rows[i] for i in streamed})} frames")
            if len(out_shape) < 2 or out_shape[1] != t_in:
                raise StreamingError(f"{where} changes the time axis")
            _per_frame(rw, outputs, rows, new_rows, out_shape, r_in)
        else:
            raise StreamingError(f"{where} on {t_in} frames does not stream; pool over time first "
                                 f"(ops that stream: {', '.join(sorted(_WINDOWED | _PER_FRAME | {'MEAN', 'PAD', 'RESHAPE'}))})")
        if name not in _WINDOWED and name != "MEAN":
            macs_step += full_macs * r_in // max(t_in, 1)
        ops.append(op)
    if any(int(o) in rows for o in sg.outputs):
        raise StreamingError("the model's output keeps a time axis; end with a pool or mean over time")
    rw.set_shape(x0, [in_shape[0], r0, *in_shape[2:]])
    sg.operators = ops
    index = {rw.name(i): i for i in range(len(sg.tensors))}
    sg.inputs = np.array([x0] + [index[s.input_name] for s in states], dtype=np.int32)
    sg.outputs = np.array([int(sg.outputs[0])] + [index[s.output_name] for s in states], dtype=np.int32)
    m.signatureDefs = []
    import flatbuffers

    builder = flatbuffers.Builder(1024)
    builder.Finish(m.Pack(builder), file_identifier=b"TFL3")
    spec = StepSpec(n_frames=n_frames, frames_per_step=r0, input_name=rw.name(x0), output_name=rw.name(int(sg.outputs[0])),
                    states=tuple(states), macs_per_step=int(macs_step), macs_full=int(macs_full))
    return bytes(builder.Output()), spec


def _per_frame(rw: _Rewriter, outputs: list[int], rows: dict, new_rows: dict, out_shape: list[int], r: int) -> None:
    """Outputs that stream: ``out_shape[1]`` frames in the full model, ``r`` new ones per step."""
    for o in outputs:
        rows[o], new_rows[o] = out_shape[1], r
        rw.set_shape(o, [out_shape[0], r, *out_shape[2:]])


def _frames_per_step(rw: _Rewriter, x0: int) -> int:
    """Product of the time strides on the way from the input (1 when nothing strides in time)."""
    streaming, frames = {x0}, 1
    for op in rw.sg.operators:
        if not any(int(i) in streaming for i in op.inputs):
            continue
        name = rw.op_name(op)
        out_shape = rw.shape(int(op.outputs[0]))
        if name in _WINDOWED:
            t_in = rw.shape(int(op.inputs[0]))[1]
            span, stride, _ = _time_kernel(rw, op, name)
            if span == t_in and len(out_shape) > 1 and out_shape[1] == 1:
                continue  # reduces the time axis: nothing after it streams
            frames *= stride
        elif name == "MEAN":
            continue
        streaming.update(int(o) for o in op.outputs)
    return frames


def _macs(rw: _Rewriter, name: str, inputs: list[int], outputs: list[int]) -> int:
    """Multiply-accumulates of one op of the full model (convolutions and FULLY_CONNECTED)."""
    out = rw.shape(outputs[0])
    if name == "CONV_2D":
        _, kh, kw, c_in = rw.shape(inputs[1])
        return int(np.prod(out) * kh * kw * c_in)
    if name == "DEPTHWISE_CONV_2D":
        _, kh, kw, _ = rw.shape(inputs[1])
        return int(np.prod(out) * kh * kw)
    if name == "FULLY_CONNECTED":
        n_out, n_in = rw.shape(inputs[1])
        return int(np.prod(out[:-1]) * n_out * n_in)
    return 0
