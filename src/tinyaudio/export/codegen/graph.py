"""Read a ``.tflite`` flatbuffer into plain Python objects: tensors, ops and their options.

Uses the flatbuffer schema that ships with ``ai-edge-litert`` (``schema_py_generated``), so it
needs neither TensorFlow nor TFLite Micro. Only the first subgraph is read (our models have one).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np

from tinyaudio.errors import CodegenError



#: TFLite TensorType codes -> NumPy dtypes (the ones int8 models use).
_DTYPES = {0: np.float32, 2: np.int32, 3: np.uint8, 4: np.int64, 7: np.int16, 9: np.int8}


@dataclasses.dataclass
class Tensor:
    """One tensor of the graph.

    Attributes:
        index: position in the subgraph's tensor list.
        name: as stored in the file.
        shape: dimensions (batch first).
        dtype: NumPy dtype.
        scale, zero_point: per-tensor or per-channel quantization (float32 / int64 arrays,
            empty when not quantized).
        data: the constant's values in ``shape`` (weights, biases, axes), else None.
    """

    index: int
    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    scale: np.ndarray
    zero_point: np.ndarray
    data: np.ndarray | None

    @property
    def size(self) -> int:
        return int(np.prod(self.shape)) if self.shape else 1

    @property
    def nbytes(self) -> int:
        return self.size * np.dtype(self.dtype).itemsize


@dataclasses.dataclass
class Op:
    """One operator: its builtin name, input / output tensor indices (-1 = absent) and options."""

    name: str
    inputs: list[int]
    outputs: list[int]
    options: dict


@dataclasses.dataclass
class Graph:
    """A model's single subgraph."""

    tensors: list[Tensor]
    ops: list[Op]
    inputs: list[int]
    outputs: list[int]


def _builtin_names() -> dict[int, str]:
    from ai_edge_litert import schema_py_generated as schema

    return {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}


def read_graph(model: str | os.PathLike | bytes) -> Graph:
    """Parse a ``.tflite`` file (path or bytes).

    Raises:
        CodegenError: an unreadable file, not a flatbuffer of the TFLite schema, or more than one
            subgraph (the message names the file).
    """
    from ai_edge_litert import schema_py_generated as schema

    name = "model" if isinstance(model, (bytes, bytearray)) else str(model)
    try:
        data = bytes(model) if isinstance(model, (bytes, bytearray)) else Path(model).read_bytes()
    except OSError as exc:
        raise CodegenError(f"{name}: cannot read ({exc.strerror or exc})") from None
    try:
        parsed = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    except Exception as exc:  # the generated parser fails with arbitrary errors on garbage
        raise CodegenError(f"{name}: not a valid .tflite flatbuffer ({type(exc).__name__}); re-export the model") from None
    if not parsed.subgraphs or len(parsed.subgraphs) != 1:
        raise CodegenError(f"{name}: the model has {len(parsed.subgraphs or [])} subgraphs; code generation needs exactly one "
                           "(is it a .tflite written by tinyaudio train?)")
    names = _builtin_names()
    graph = parsed.subgraphs[0]
    tensors = []
    for i, t in enumerate(graph.tensors):
        if t.type not in _DTYPES:
            raise CodegenError(f"tensor {t.name!r} has TFLite type {t.type}; only int8/int32/float32 graphs are supported")
        dtype = np.dtype(_DTYPES[t.type])
        shape = tuple(int(s) for s in (t.shape if t.shape is not None else []))
        q = t.quantization
        scale = np.asarray(q.scale if q is not None and q.scale is not None else [], dtype=np.float32)
        zero = np.asarray(q.zeroPoint if q is not None and q.zeroPoint is not None else [], dtype=np.int64)
        buffer = parsed.buffers[t.buffer].data if t.buffer < len(parsed.buffers) else None
        values = None
        if buffer is not None and len(buffer):
            values = np.frombuffer(bytes(bytearray(buffer)), dtype=dtype.newbyteorder("<")).astype(dtype)
            values = values.reshape(shape) if shape else values.reshape(())
        tensors.append(Tensor(i, t.name.decode() if isinstance(t.name, bytes) else str(t.name), shape, dtype,
                              scale, zero, values))
    ops = []
    for op in graph.operators or []:
        code = parsed.operatorCodes[op.opcodeIndex]
        name = names.get(max(code.builtinCode, code.deprecatedBuiltinCode), f"BUILTIN_{code.builtinCode}")
        if name == "CUSTOM":
            custom = code.customCode.decode() if isinstance(code.customCode, bytes) else code.customCode
            name = f"CUSTOM:{custom}"
        options = dict(vars(op.builtinOptions)) if op.builtinOptions is not None else {}
        ops.append(Op(name, [int(i) for i in op.inputs], [int(i) for i in op.outputs], options))
    return Graph(tensors, ops, [int(i) for i in graph.inputs], [int(i) for i in graph.outputs])
