"""tinyaudio.export.mcu.cost: work counts from layer shapes, the fit, and the shipped coefficients.

The shipped model's accuracy against QEMU on every trained zoo model is checked in the slow
test_codegen.py::test_every_zoo_model_on_every_core_under_qemu_equals_tflite_micro (.ci/run).
"""

from __future__ import annotations

import numpy as np
import pytest

from tinyaudio.errors import BuildError
from tinyaudio.export.mcu.cost import FEATURES, fit_cost_model, load_cost_model, op_features


def _int8(model, shape) -> bytes:
    from tinyaudio.quantize import quantize_int8
    from tinyaudio.quantize.silence import quiet_converter

    with quiet_converter(True):
        return quantize_int8(model, np.random.default_rng(0).normal(size=(8, *shape)).astype(np.float32))


def test_conv_counts_only_the_taps_inside_the_input():
    """3x3 "same" on 4x4: per axis the four output positions see 2, 3, 3, 2 taps (10), so 100 taps
    over the 16 positions; 8 output channels (two groups of four) of 1 input channel."""
    import keras

    inputs = keras.Input((4, 4, 1))
    x = keras.layers.Conv2D(8, 3, padding="same")(inputs)
    x = keras.layers.DepthwiseConv2D(3, padding="valid")(x)  # 2x2 outputs, 9 taps each, 8 channels
    x = keras.layers.Conv2D(6, 1)(x)  # 4 positions x 8 in x (4 grouped + 2 tail) channels
    model = keras.Model(inputs, keras.layers.Dense(5)(keras.layers.Flatten()(x)))
    f = op_features(_int8(model, (4, 4, 1)))
    assert f["conv_taps"] == 100 + 4
    assert f["conv_macs"] == 100 * 1 * 8 + 4 * 8 * 4
    assert f["conv_tail_macs"] == 4 * 8 * 2
    assert f["conv_outputs"] == 16 * 8 + 4 * 6
    assert (f["depthwise_taps"], f["depthwise_macs"], f["depthwise_outputs"]) == (36, 36 * 8, 32)
    assert (f["fc_macs"], f["fc_outputs"]) == (24 * 5, 5)
    assert f["calls"] == 4  # Keras 3 Flatten's shape ops and the RESHAPE are not kernel calls
    assert set(f) == set(FEATURES)


def test_fit_recovers_known_coefficients():
    rng = np.random.default_rng(1)
    truth = {"calls": 500.0, "conv_macs": 1.5, "conv_outputs": 20.0, "depthwise_macs": 3.0, "fc_macs": 2.0}
    features = [{k: float(rng.integers(1, 10**6)) if k != "calls" else float(rng.integers(3, 30)) for k in truth}
                for _ in range(12)]
    cycles = [sum(truth[k] * f[k] for k in truth) for f in features]
    model = fit_cost_model(features, cycles, "cortex-m0plus")
    for k, v in truth.items():
        assert model.coefficients[k] == pytest.approx(v, rel=1e-6)
    assert model.errors["fit_max"] < 1e-9


def test_fit_refuses_fewer_measurements_than_features():
    with pytest.raises(BuildError, match="2 measurements for 3 features; measure more architectures"):
        fit_cost_model([{"calls": 1, "conv_macs": 5, "fc_macs": 2}, {"calls": 2, "conv_macs": 1, "fc_macs": 7}],
                       [100.0, 200.0], "cortex-m0plus")


def test_shipped_cost_models_cover_the_timed_cores_and_held_out_errors_are_within_15_percent():
    for cpu in ("cortex-m0plus", "cortex-m4"):
        model = load_cost_model(cpu)
        assert model.n_fitted >= 40 and model.code_bytes > 1000
        held_out = model.errors["held_out"]
        assert len(held_out) == 8, held_out  # every zoo family at its default size
        assert max(abs(e) for e in held_out.values()) <= 0.15, held_out
    with pytest.raises(BuildError, match="no cost model for cortex-m7 .* run python benchmarks/fit_cost_model.py --cpu cortex-m7"):
        load_cost_model("cortex-m7")
