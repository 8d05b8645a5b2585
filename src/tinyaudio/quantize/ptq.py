"""Post-training quantization with the TFLite converter: float, dynamic-range and full int8."""

from __future__ import annotations

import numpy as np


def _converter(model):
    import tensorflow as tf

    return tf.lite.TFLiteConverter.from_keras_model(model)


def convert_float(model) -> bytes:
    """Float32 ``.tflite`` flatbuffer of a Keras model."""
    return _converter(model).convert()


def quantize_dynamic(model) -> bytes:
    """Dynamic-range quantization: int8 weights, float activations and I/O.

    Source: TensorFlow Lite "Post-training dynamic range quantization".
    """
    import tensorflow as tf

    converter = _converter(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    return converter.convert()


def representative_set(features: np.ndarray, n: int = 300, seed: int = 0) -> np.ndarray:
    """Up to ``n`` training examples drawn without replacement (seeded), shape (n, *features.shape[1:])."""
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(features), size=min(n, len(features)), replace=False)
    return features[np.sort(idx)]


def quantize_int8(model, representative: np.ndarray) -> bytes:
    """Full-integer int8 quantization: int8 weights, activations, input and output.

    Args:
        model: Keras model with float input (batch, n_frames, n_features[, 1]).
        representative: float32 examples from the training split, shape (n, *input_shape);
            they set the activation ranges (scale / zero_point).

    Returns:
        ``.tflite`` flatbuffer bytes; the input and output tensors are int8 with their
        ``scale`` / ``zero_point`` in the tensor quantization parameters.

    Source: TensorFlow Lite "Post-training integer quantization" (``TFLITE_BUILTINS_INT8``).
    """
    import tensorflow as tf

    shape = tuple(model.inputs[0].shape[1:])
    rep = np.asarray(representative, dtype=np.float32).reshape((-1, *shape))

    def gen():
        for x in rep:
            yield [x[None]]

    converter = _converter(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = gen
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    return converter.convert()
