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


def test_conv_counts_the_taps_the_kernels_compute():
    """On the Cortex-M0+ (lane pairs: rows of an even number of taps are read in place): a 3x3 "same"
    conv of one channel has rows of 3 taps, so every window goes through an im2col patch of 9 taps
    (padded ones included): 16 windows x 9 taps x 8 channels (two blocks of four), 16 runs per block,
    144 bytes copied. The 1x1 conv reads each pixel in place: 4 x 8 taps x 8 channels (6 padded to two
    blocks). On the Cortex-M4 the same counts: 3-tap rows are below the 16 it reads in place."""
    import keras

    inputs = keras.Input((4, 4, 1))
    x = keras.layers.Conv2D(8, 3, padding="same")(inputs)
    x = keras.layers.DepthwiseConv2D(3, padding="valid")(x)  # 2x2 outputs, 9 taps each, 8 channels
    x = keras.layers.Conv2D(6, 1)(x)
    model = _int8(keras.Model(inputs, keras.layers.Dense(5)(keras.layers.Flatten()(x))), (4, 4, 1))
    for cpu in ("cortex-m0plus", "cortex-m4"):
        f = op_features(model, cpu, im2col=True, padded=False)
        assert f["conv_macs"] == 16 * 9 * 8 + 4 * 8 * 8
        assert f["conv_taps"] == 16 * 2 + 4 * 2
        assert f["conv_patch_bytes"] == 16 * 9
        assert f["conv_outputs"] == 16 * 8 + 4 * 6
        assert (f["depthwise_taps"], f["depthwise_macs"], f["depthwise_outputs"]) == (36, 36 * 8, 32)
        assert (f["fc_macs"], f["fc_outputs"]) == (24 * 8, 5)  # five outputs: two blocks of four
        assert f["calls"] == 4  # Keras 3 Flatten's shape ops and the RESHAPE are not kernel calls
        assert set(f) == set(FEATURES)


def test_conv_windows_read_in_place_skip_their_padded_rows():
    """A 3x3 "same" conv of 16 channels on 4x4: 48-tap rows, read in place (lane pairs) where the
    window's columns are inside (output columns 1 and 2): 4 x 2 such windows see 2, 3, 3, 2 rows.
    With an arena patch the 8 others are copied, all 3 rows; without one (the generator leaves it
    out when it would enlarge the arena) a 144-tap window is over the 128 stack bytes, so they are
    read row by row: their valid rows, 2 columns of 16 channels each."""
    import keras

    inputs = keras.Input((4, 4, 16))
    model = _int8(keras.Model(inputs, keras.layers.Conv2D(4, 3, padding="same")(inputs)), (4, 4, 16))
    rows = 2 + 3 + 3 + 2
    f = op_features(model, "cortex-m0plus", im2col=True, padded=False)
    assert f["conv_macs"] == (2 * rows * 48 + 8 * 3 * 48) * 4
    assert f["conv_taps"] == 2 * rows + 8
    assert (f["conv_patch_bytes"], f["conv_window_rows"]) == (8 * 3 * 48, 0)
    f = op_features(model, "cortex-m0plus", im2col=False, padded=False)
    assert f["conv_macs"] == (2 * rows * 48 + 2 * rows * 32) * 4
    assert f["conv_taps"] == 2 * rows
    assert (f["conv_patch_bytes"], f["conv_window_rows"]) == (0, 2 * rows)
    # with a padded copy (one zero column each side: 4 x 6 pixels of 16 channels) every window is
    # read in place, its valid rows of the whole 48 taps
    f = op_features(model, "cortex-m0plus", im2col=True, padded=True)
    assert f["conv_macs"] == 4 * rows * 48 * 4
    assert f["conv_taps"] == 4 * rows
    assert (f["conv_patch_bytes"], f["conv_window_rows"]) == (4 * 6 * 16, 0)


def test_a_fused_max_pool_is_priced_with_its_convolution():
    """A 2x2 MAX_POOL_2D after a conv is fused into it: one requantization per pooled output (2 x 2 x
    4), a running maximum per convolution output (4 x 4 x 4), no call of its own."""
    import keras

    inputs = keras.Input((4, 4, 16))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    model = _int8(keras.Model(inputs, keras.layers.MaxPooling2D(2)(x)), (4, 4, 16))
    f = op_features(model, "cortex-m0plus")
    assert (f["conv_outputs"], f["pool_taps"], f["pool_outputs"], f["calls"]) == (16, 64, 0, 1)


def test_subtracting_a_constant_is_priced_as_a_table_lookup():
    """The seed model's normalization (SUB of a constant scalar, 32 x 32 values) is a 256-entry table
    in the generated C (fused into the resize before it); an ADD of two activations (a residual) is
    the arithmetic."""
    import keras

    from tinyaudio.models import build_model

    model = _int8(build_model("cnn_resize32", (124, 129, 1), 2, mean=0.3, variance=2.0), (124, 129, 1))
    f = op_features(model, "cortex-m0plus")
    assert (f["lookup_values"], f["arith_outputs"]) == (32 * 32, 0)
    inputs = keras.Input((4, 4, 2))
    x = keras.layers.Conv2D(2, 1)(inputs)
    residual = _int8(keras.Model(inputs, keras.layers.Add()([inputs, x])), (4, 4, 2))
    f = op_features(residual, "cortex-m0plus")
    assert (f["lookup_values"], f["arith_outputs"]) == (0, 32)


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
