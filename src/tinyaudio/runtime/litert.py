"""Run a ``.tflite`` model with ai-edge-litert (no TensorFlow), quantizing I/O as needed."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from tinyaudio.errors import TinyAudioError


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

        if isinstance(model, (bytes, bytearray)):
            content, name = bytes(model), "<bytes>"
        else:
            name = str(model)
            try:
                content = Path(model).read_bytes()
            except OSError as exc:
                raise TinyAudioError(f"{name}: cannot read model ({exc.strerror}); check the run folder") from None
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
        if self.input_dtype == np.float32:
            return features.astype(np.float32)
        scale, zero_point = self.input_quantization
        info = np.iinfo(self.input_dtype)
        q = np.round(features / scale) + zero_point
        return np.clip(q, info.min, info.max).astype(self.input_dtype)

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
        if self.output_dtype == np.float32:
            return raw.astype(np.float32)
        scale, zero_point = self.output_quantization
        return ((raw.astype(np.float32) - zero_point) * scale).astype(np.float32)
