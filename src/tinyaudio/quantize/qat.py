"""Quantization-aware training with Keras 3 ops: fake-quant weights and activations, then int8.

No tensorflow-model-optimization: it needs legacy Keras (``tf_keras``) and would replace
``tensorflow-cpu``. Instead the trained float model is rebuilt with

- every Conv2D / DepthwiseConv2D / Dense computing with fake-quantized weights: symmetric
  int8 in [-127, 127], one scale per output channel (Conv2D, DepthwiseConv2D) or per tensor
  (Dense), ``scale = max|w| / 127``, as the TFLite int8 converter quantizes weights;
- a `FakeQuant` layer on the input and at the end of every fused group (after a layer not
  followed by BatchNorm / ReLU / activation, where TFLite keeps an int8 tensor), with the
  range tracked as an exponential moving average of the batch min / max in training.

Both use ``tf.quantization.fake_quant_with_min_max_vars(_per_channel)``, whose gradient is the
straight-through estimator. After fine-tuning, `strip` writes the fake-quantized weights (on
the int8 grid) back into a plain copy of the model, which `tinyaudio.quantize.quantize_int8`
converts with a representative set as for post-training quantization. A layer whose input is
the model input keeps exactly the trained int8 weights (tested). BatchNorm, and a Normalization
layer's scale, are not folded during QAT; the converter folds them into the next kernel and
re-quantizes it, so for such layers QAT approximates the deployed arithmetic.

Source: Jacob et al. 2018, "Quantization and Training of Neural Networks for Efficient
Integer-Arithmetic-Only Inference" (CVPR), sections 3 and 5; the EMA range tracking of
tensorflow-model-optimization's ``MovingAverageQuantizer``; TFLite int8 spec (weights
symmetric, narrow range, per-channel for convolutions).
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import layers, ops

from tinyaudio.errors import ConfigError
from tinyaudio.train.fit import fit

_FOLLOWERS = (layers.BatchNormalization, layers.ReLU, layers.Activation)


def _tf():
    import tensorflow as tf

    return tf


def fake_quant_weights(kernel, per_channel: bool):
    """Symmetric narrow-range int8 fake quantization of a kernel (straight-through gradient).

    Args:
        kernel: float tensor; channels on the last axis (Conv2D ``(kh, kw, c_in, c_out)``,
            Dense ``(n_in, n_out)``; pass depthwise kernels reshaped to ``(kh, kw, c_in * m)``).
        per_channel: one scale per last-axis channel (True) or one for the tensor.

    Returns:
        tensor of the same shape, each value rounded to ``scale * q``, q an integer in [-127, 127].
    """
    tf = _tf()
    if per_channel:
        bound = ops.max(ops.abs(ops.reshape(kernel, (-1, kernel.shape[-1]))), axis=0)
        bound = ops.maximum(bound, 1e-8)
        return tf.quantization.fake_quant_with_min_max_vars_per_channel(kernel, -bound, bound, num_bits=8, narrow_range=True)
    bound = ops.maximum(ops.max(ops.abs(kernel)), 1e-8)
    return tf.quantization.fake_quant_with_min_max_vars(kernel, -bound, bound, num_bits=8, narrow_range=True)


class FakeQuant(layers.Layer):
    """Fake-quantize activations to int8 with a range learned as a moving average of batch min / max.

    Args:
        momentum: EMA factor for the range (0.99 as tensorflow-model-optimization); the
            first training batch sets the range directly.

    Calling it: any float tensor; returns the same shape with values on the 256-level grid of
    ``[min, max]`` (``min <= 0 <= max``, zero exactly representable). In inference the stored
    range is used and not updated.
    """

    def __init__(self, momentum: float = 0.99, **kwargs) -> None:
        super().__init__(**kwargs)
        self.momentum = float(momentum)

    def build(self, input_shape) -> None:
        self.range_min = self.add_weight(shape=(), initializer="zeros", trainable=False, name="range_min")
        self.range_max = self.add_weight(shape=(), initializer="zeros", trainable=False, name="range_max")
        self.seen = self.add_weight(shape=(), initializer="zeros", trainable=False, name="seen")

    def call(self, inputs, training=False):
        tf = _tf()
        if training:
            batch_min = ops.minimum(ops.min(inputs), 0.0)
            batch_max = ops.maximum(ops.max(inputs), 0.0)
            m = ops.where(self.seen > 0, self.momentum, 0.0)
            new_min = m * self.range_min + (1.0 - m) * batch_min
            new_max = m * self.range_max + (1.0 - m) * batch_max
            self.range_min.assign(new_min)
            self.range_max.assign(new_max)
            self.seen.assign(1.0)
            lo, hi = new_min, new_max
        else:
            lo, hi = self.range_min, self.range_max
        hi = ops.maximum(hi, lo + 1e-6)
        return tf.quantization.fake_quant_with_min_max_vars(inputs, lo, hi, num_bits=8)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "momentum": self.momentum}


def _bias_act(layer, out):
    if layer.use_bias:
        out = ops.add(out, layer.bias)
    return layer.activation(out) if layer.activation is not None else out


class QuantConv2D(layers.Conv2D):
    """Conv2D computing with per-output-channel fake-quantized int8 weights (channels_last)."""

    def call(self, inputs):
        kernel = fake_quant_weights(self.kernel, per_channel=True)
        out = ops.conv(inputs, kernel, strides=self.strides, padding=self.padding,
                       dilation_rate=self.dilation_rate, data_format=self.data_format)
        return _bias_act(self, out)


class QuantDepthwiseConv2D(layers.DepthwiseConv2D):
    """DepthwiseConv2D computing with per-channel fake-quantized int8 weights (channels_last)."""

    def call(self, inputs):
        kh, kw, c_in, mult = self.kernel.shape
        flat = fake_quant_weights(ops.reshape(self.kernel, (kh, kw, c_in * mult)), per_channel=True)
        out = ops.depthwise_conv(inputs, ops.reshape(flat, (kh, kw, c_in, mult)), strides=self.strides,
                                 padding=self.padding, dilation_rate=self.dilation_rate, data_format=self.data_format)
        return _bias_act(self, out)


class QuantDense(layers.Dense):
    """Dense computing with per-tensor fake-quantized int8 weights."""

    def call(self, inputs, training=None):
        return _bias_act(self, ops.matmul(inputs, fake_quant_weights(self.kernel, per_channel=False)))


_QUANT = ((layers.DepthwiseConv2D, QuantDepthwiseConv2D), (layers.Conv2D, QuantConv2D), (layers.Dense, QuantDense))


def _quant_class(layer):
    for plain, quant in _QUANT:
        if type(layer) is plain:
            return quant
    return None


def _check_chain(model) -> list:
    body = [layer for layer in model.layers if not isinstance(layer, layers.InputLayer)]
    for layer in body:
        nodes = getattr(layer, "_inbound_nodes", [])
        if len(nodes) != 1 or len(nodes[0].input_tensors) != 1:
            raise ConfigError(f"{model.name}: layer {layer.name} is not part of a single chain; "
                             f"QAT here supports the zoo's sequential models")
    return body


def quantize_aware_model(model) -> tuple[keras.Model, dict[str, Any]]:
    """A copy of a sequential Keras model with fake quantization (see the module docstring).

    Args:
        model: trained float model, a single chain of layers (every zoo model).

    Returns:
        ``(qat_model, pairs)``: the fake-quant model, initialised with ``model``'s weights, and
        ``{original layer name: qat layer}`` for `strip`.

    Raises:
        ValueError: the model is not a single chain.
    """
    body = _check_chain(model)
    inputs = keras.Input(model.inputs[0].shape[1:], name="features")
    x = FakeQuant(name="fq_input")(inputs)
    pairs: dict[str, Any] = {}
    for i, layer in enumerate(body):
        cls = _quant_class(layer) or type(layer)
        clone = cls.from_config(layer.get_config())
        x = clone(x)
        clone.set_weights(layer.get_weights())
        pairs[layer.name] = clone
        last = i == len(body) - 1
        followed = not last and isinstance(body[i + 1], _FOLLOWERS)
        if not last and not followed and (cls is not type(layer) or isinstance(layer, (layers.Normalization, *_FOLLOWERS))):
            x = FakeQuant(name=f"fq_{layer.name}")(x)
    return keras.Model(inputs, x, name=f"{model.name}_qat"), pairs


def strip(model, pairs: dict[str, Any]) -> keras.Model:
    """A plain copy of ``model`` carrying the QAT weights, kernels rounded to the int8 grid."""
    plain = keras.models.clone_model(model)
    plain.set_weights(model.get_weights())
    for layer in plain.layers:
        q = pairs.get(layer.name)
        if q is None:
            continue
        weights = [np.asarray(w) for w in q.get_weights()]
        if isinstance(q, QuantDepthwiseConv2D):
            kh, kw, c_in, mult = weights[0].shape
            weights[0] = np.asarray(fake_quant_weights(weights[0].reshape(kh, kw, c_in * mult), True)).reshape(weights[0].shape)
        elif isinstance(q, (QuantConv2D, QuantDense)):
            weights[0] = np.asarray(fake_quant_weights(weights[0], isinstance(q, QuantConv2D)))
        layer.set_weights(weights)
    return plain


def fine_tune_qat(
    model,
    x_train: np.ndarray,
    y_train: np.ndarray,
    validation: tuple[np.ndarray, np.ndarray],
    *,
    loss: str,
    epochs: int = 10,
    learning_rate: float = 1e-4,
    batch_size: int = 64,
    patience: int = 4,
    class_weight: dict[int, float] | None = None,
    verbose: int = 2,
) -> tuple[keras.Model, dict[str, list[float]]]:
    """Fine-tune a trained float model with fake quantization; return a plain model to convert.

    Args:
        model: trained float Keras model (left unchanged).
        x_train, y_train, validation: as for ``model.fit``.
        loss: Keras loss name of the model's task.
        epochs: QAT epoch limit; early stopping on validation loss (patience), best weights kept.
        learning_rate: Adam rate; low, as for fine-tuning.

    Returns:
        ``(plain_model, history)``: ``model``'s architecture with the fine-tuned weights on the
        int8 grid (pass it to `quantize_int8`), and the Keras history of the QAT epochs.
    """
    qat_model, pairs = quantize_aware_model(model)
    # one pass in training mode over a few batches sets the activation ranges before fitting
    for start in range(0, min(len(x_train), 8 * batch_size), batch_size):
        qat_model(x_train[start : start + batch_size], training=True)
    qat_model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss, metrics=["accuracy"])
    history = fit(qat_model, x_train, y_train, validation, epochs=epochs, batch_size=batch_size, patience=patience,
                  class_weight=class_weight, verbose=verbose, description="quantization-aware")
    return strip(model, pairs), history
