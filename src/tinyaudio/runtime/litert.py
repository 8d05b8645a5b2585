"""Run a ``.tflite`` model with ai-edge-litert (no TensorFlow), quantizing I/O as needed."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from tinyaudio.errors import TinyAudioError


def quantize(x: np.ndarray, dtype, quantization: tuple[float, int]) -> np.ndarray:
    """Float values -> a model input of ``dtype``: ``round(x / scale) + zero_point``, saturated
    (unchanged for a float32 input)."""
    if dtype == np.float32:
        return x.astype(np.float32)
    scale, zero_point = quantization
    info = np.iinfo(dtype)
    return np.clip(np.round(x / scale) + zero_point, info.min, info.max).astype(dtype)


def dequantize(raw: np.ndarray, dtype, quantization: tuple[float, int]) -> np.ndarray:
    """A model output of ``dtype`` -> float32 ``(raw - zero_point) * scale`` (float32 as is)."""
    if dtype == np.float32:
        return raw.astype(np.float32)
    scale, zero_point = quantization
    return ((raw.astype(np.float32) - zero_point) * scale).astype(np.float32)


def _read_model(model: str | os.PathLike | bytes) -> tuple[bytes, str]:
    """``(the .tflite bytes, a name for messages)`` of a path or bytes.

    Raises:
        TinyAudioError: the file cannot be read (named in the message).
    """
    if isinstance(model, (bytes, bytearray)):
        return bytes(model), "<bytes>"
    try:
        return Path(model).read_bytes(), str(model)
    except OSError as exc:
        raise TinyAudioError(f"{model}: cannot read model ({exc.strerror}); check the run folder") from None


class TFLiteModel:
    """A ``.tflite`` model behind a float-in / float-out `predict`.

    Args:
        model: path to a ``.tflite`` file or its bytes.
        reference_kernels: use TFLite's reference op resolver instead of the default XNNPACK /
            optimized kernels; slower, but bit-exact with TFLite Micro (the optimized kernels
            were seen 1 LSB off on some inputs).
        num_threads: interpreter threads (None: LiteRT default).

    Attributes:
        input_shape: e.g. ``(1, 49, 10, 1)``.
        input_dtype, output_dtype: ``np.float32`` or ``np.int8``.
        input_quantization, output_quantization: ``(scale, zero_point)``; (0.0, 0) for float.

    Raises:
        TinyAudioError: the file is missing or not a valid ``.tflite`` model.
    """

    def __init__(self, model: str | os.PathLike | bytes, *, reference_kernels: bool = False, num_threads: int | None = None):
        from ai_edge_litert import interpreter as litert

        content, name = _read_model(model)
        resolver = litert.OpResolverType.BUILTIN_REF if reference_kernels else litert.OpResolverType.AUTO
        try:
            self._interp = self._make(litert, content, resolver, num_threads)
        except (ValueError, RuntimeError) as exc:
            if reference_kernels or "XNNPACK" not in str(exc):
                raise TinyAudioError(f"{name}: not a valid .tflite model ({str(exc).splitlines()[0]}); re-export it") from None
            # XNNPACK refuses some valid int8 graphs (e.g. a layer whose calibrated scale is ~1e-9
            # because its ReLUs never fired); the built-in kernels run them.
            self._interp = self._make(litert, content, litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES, num_threads)
        self.name = name
        self.size_bytes = len(content)
        inp = self._interp.get_input_details()[0]
        out = self._interp.get_output_details()[0]
        self._in_index, self._out_index = inp["index"], out["index"]
        self.input_shape = tuple(int(d) for d in inp["shape"])
        self.output_shape = tuple(int(d) for d in out["shape"])
        self.input_dtype, self.output_dtype = inp["dtype"], out["dtype"]
        self.input_quantization = tuple(inp["quantization"])
        self.output_quantization = tuple(out["quantization"])

    @staticmethod
    def _make(litert, content: bytes, resolver, num_threads):
        """Interpreter with tensors allocated and one invoke on zeros, so delegates prepare now."""
        interp = litert.Interpreter(model_content=content, experimental_op_resolver_type=resolver, num_threads=num_threads)
        interp.allocate_tensors()
        inp = interp.get_input_details()[0]
        interp.set_tensor(inp["index"], np.zeros(inp["shape"], dtype=inp["dtype"]))
        interp.invoke()
        return interp

    def quantize_input(self, features: np.ndarray) -> np.ndarray:
        """Float features -> the model's input dtype: ``round(x / scale) + zero_point``, saturated."""
        return quantize(features, self.input_dtype, self.input_quantization)

    def invoke(self, x: np.ndarray) -> np.ndarray:
        """Run one example already in the input dtype, shape ``input_shape[1:]``; raw output (1, n)."""
        self._interp.set_tensor(self._in_index, x.reshape(self.input_shape))
        self._interp.invoke()
        return self._interp.get_tensor(self._out_index).copy()

    def predict(self, features: np.ndarray) -> np.ndarray:
        """Scores of a batch.

        Args:
            features: float32, shape (n, n_frames, n_features) or (n, n_frames, n_features, 1).

        Returns:
            float32, shape (n, n_outputs): softmax probabilities, or sigmoid scores for a one-output
            detector, dequantized with the output ``scale`` / ``zero_point``.
        """
        features = np.asarray(features, dtype=np.float32)
        per_example = int(np.prod(self.input_shape[1:]))
        if features[0].size != per_example:
            raise TinyAudioError(
                f"{self.name}: features of shape {features.shape[1:]} do not fit model input {self.input_shape[1:]}"
            )
        q = self.quantize_input(features)
        raw = np.concatenate([self.invoke(x) for x in q], axis=0) if len(q) else np.zeros((0, 1))
        return dequantize(raw, self.output_dtype, self.output_quantization)


def _zeros(detail: dict) -> np.ndarray:
    """A tensor of an interpreter's input details filled with the value that means 0.0."""
    zero_point = int(detail["quantization"][1]) if detail["dtype"] != np.float32 else 0
    return np.full(detail["shape"], zero_point, dtype=detail["dtype"])


class TFLiteStepModel:
    """A streaming step model (`tinyaudio.quantize.streaming.step_model`) with its states kept here.

    Each `step` takes the newest ``frames_per_step`` feature frames, runs the model once with the
    states of the call before, and keeps the new states. After `reset` the states hold the zero
    point (0.0); once ``n_frames`` frames have been fed, a step's output equals the full model's
    on the last ``n_frames`` frames.

    Args:
        model: path to the step ``.tflite`` or its bytes.
        spec: its `tinyaudio.quantize.streaming.StepSpec` as a dict (``stream_step.json``; the
            names and order of the states, shared by the float and int8 step models).
        reference_kernels: TFLite's reference op resolver (bit-exact with TFLite Micro).

    Raises:
        TinyAudioError: the file is unreadable or its inputs / outputs do not match ``spec``.
    """

    def __init__(self, model: str | os.PathLike | bytes, spec: dict, *, reference_kernels: bool = True):
        from ai_edge_litert import interpreter as litert

        content, self.name = _read_model(model)
        resolver = litert.OpResolverType.BUILTIN_REF if reference_kernels else litert.OpResolverType.AUTO
        try:
            self._interp = litert.Interpreter(model_content=content, experimental_op_resolver_type=resolver)
            self._interp.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise TinyAudioError(f"{self.name}: not a valid step model ({str(exc).splitlines()[0]}); re-export the run") from None
        inputs = {d["name"]: d for d in self._interp.get_input_details()}
        outputs = {d["name"]: d for d in self._interp.get_output_details()}
        self.spec = spec
        try:
            frame, scores = inputs[spec["input_name"]], outputs[spec["output_name"]]
            self._states = [(inputs[s["input_name"]]["index"], outputs[s["output_name"]]["index"],
                             _zeros(inputs[s["input_name"]])) for s in spec["states"]]
        except KeyError as exc:
            raise TinyAudioError(f"{self.name}: tensor {exc.args[0]!r} of stream_step.json is not in the model; re-export the run") from None
        self._frame_index, self._out_index = frame["index"], scores["index"]
        self.frame_shape = tuple(int(d) for d in frame["shape"])
        self.input_dtype, self.output_dtype = frame["dtype"], scores["dtype"]
        self.input_quantization, self.output_quantization = tuple(frame["quantization"]), tuple(scores["quantization"])
        self.n_frames = int(spec["n_frames"])
        self.frames_per_step = int(spec.get("frames_per_step", 1))
        self.reset()

    def reset(self) -> None:
        """Forget the stream: every state back to its zero point."""
        self._values = [initial.copy() for _, _, initial in self._states]
        self.frames_seen = 0

    def step_raw(self, frame: np.ndarray) -> np.ndarray:
        """One call on frames already in the input dtype, shape (frames_per_step, n_features); raw output (1, n)."""
        self._interp.set_tensor(self._frame_index, frame.reshape(self.frame_shape))
        for (index, _, _), value in zip(self._states, self._values):
            self._interp.set_tensor(index, value)
        self._interp.invoke()
        self._values = [self._interp.get_tensor(out).copy() for _, out, _ in self._states]
        self.frames_seen += self.frames_per_step
        return self._interp.get_tensor(self._out_index).copy()

    def step(self, frame: np.ndarray) -> np.ndarray:
        """Scores after the new float feature frames (frames_per_step, n_features): float32 (n_outputs,), dequantized."""
        raw = self.step_raw(quantize(np.asarray(frame, dtype=np.float32), self.input_dtype, self.input_quantization))
        return dequantize(raw.reshape(-1), self.output_dtype, self.output_quantization)
