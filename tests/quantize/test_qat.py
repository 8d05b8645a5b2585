"""Keras 3 fake-quant QAT: weights on the int8 grid, the converter keeps them, training runs."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from tinyaudio.models import build_model  # noqa: E402
from tinyaudio.quantize import quantize_int8  # noqa: E402
from tinyaudio.quantize.qat import FakeQuant, fake_quant_weights, fine_tune_qat, quantize_aware_model  # noqa: E402

SHAPE = (61, 40, 1)


def _data(n: int = 96, seed: int = 0):
    """Two classes that differ in which half of the bands carries energy."""
    rng = np.random.default_rng(seed)
    x = rng.normal(-4.0, 1.0, size=(n, *SHAPE)).astype(np.float32)
    y = rng.integers(0, 2, size=n)
    x[y == 1, :, 20:, 0] += 3.0
    x[y == 0, :, :20, 0] += 3.0
    return x, y


def test_fake_quant_weights_are_on_symmetric_int8_grid():
    w = np.random.default_rng(1).normal(size=(8, 8, 1, 8)).astype(np.float32)
    q = np.asarray(fake_quant_weights(w, per_channel=True))
    scale = np.abs(w).reshape(-1, 8).max(axis=0) / 127.0
    levels = q / scale
    np.testing.assert_allclose(levels, np.round(levels), atol=2e-3)
    assert np.abs(np.round(levels)).max() == 127
    assert np.abs(q - w).max() <= scale.max() / 2 + 1e-6
    t = np.asarray(fake_quant_weights(w, per_channel=False))
    assert len(np.unique(np.round(t / (np.abs(w).max() / 127)))) <= 255


def test_fake_quant_layer_tracks_range_and_rounds():
    layer = FakeQuant(momentum=0.0)
    x = np.linspace(-1.0, 3.0, 1000, dtype=np.float32)[None]
    y = np.asarray(layer(x, training=True))
    assert float(layer.range_min.numpy()) == pytest.approx(-1.0) and float(layer.range_max.numpy()) == pytest.approx(3.0)
    assert len(np.unique(y)) <= 256 and np.abs(y - x).max() <= 4.0 / 255
    np.testing.assert_array_equal(np.asarray(layer(x, training=False)), y)


@pytest.mark.parametrize("name,kwargs", [("cnn_resize32", {"mean": -2.5, "variance": 4.0}), ("ds_cnn", {"width": 8, "n_blocks": 1})])
def test_qat_model_matches_float_model_closely(name, kwargs):
    x, _ = _data(64)
    model = build_model(name, SHAPE, 3, **kwargs)
    qat, pairs = quantize_aware_model(model)
    qat(x, training=True)  # sets the activation ranges
    ref = np.asarray(model(x, training=False))
    out = np.asarray(qat(x, training=False))
    assert out.shape == ref.shape
    assert np.abs(out - ref).max() < 0.05  # softmax outputs; int8 noise only
    assert any(l.__class__.__name__.startswith("Quant") for l in qat.layers)
    assert set(pairs) == {l.name for l in model.layers if not isinstance(l, keras.layers.InputLayer)}


def test_fine_tune_then_int8_keeps_the_qat_weights_exactly():
    # tiny_conv: its first layer sees the input directly; a Normalization or BatchNorm in front
    # would be folded into the kernel by the converter, moving it off the trained grid
    x, y = _data(64)
    model = build_model("tiny_conv", SHAPE, 1)
    plain, history = fine_tune_qat(model, x, y, (x[:32], y[:32]), loss="binary_crossentropy", epochs=1,
                                   learning_rate=1e-3, batch_size=32, verbose=0)
    assert len(history["loss"]) >= 1 and "val_loss" in history
    conv = next(l for l in plain.layers if isinstance(l, keras.layers.Conv2D))
    k = conv.get_weights()[0]
    scale = np.abs(k).reshape(-1, k.shape[-1]).max(axis=0) / 127.0
    np.testing.assert_allclose(k / scale, np.round(k / scale), atol=2e-3)  # stripped kernels sit on the grid

    flat = quantize_int8(plain, x[:32])
    from ai_edge_litert import interpreter as litert

    interp = litert.Interpreter(model_content=flat)
    interp.allocate_tensors()
    kernels = [d for d in interp.get_tensor_details() if d["dtype"] == np.int8 and tuple(d["shape"]) == (8, 10, 8, 1)]
    assert kernels, "no int8 conv kernel in the flatbuffer"
    q = interp.get_tensor(kernels[0]["index"]).astype(np.float32)  # (out, kh, kw, in)
    scales = kernels[0]["quantization_parameters"]["scales"]
    np.testing.assert_allclose(q * scales[:, None, None, None], np.transpose(k, (3, 0, 1, 2)), atol=1e-6)


def test_non_chain_model_is_refused():
    inp = keras.Input((4,))
    a = keras.layers.Dense(2)(inp)
    b = keras.layers.Dense(2)(inp)
    model = keras.Model(inp, keras.layers.Add()([a, b]))
    with pytest.raises(ValueError, match="single chain"):
        quantize_aware_model(model)
