"""Model builders: parameter budgets, MAC counting, sigmoid heads."""

import pytest

from tinyaudio.features import PRESETS
from tinyaudio.models import MODELS, build_model, count_macs


def test_ds_cnn_fits_the_25k_budget():
    m = build_model("ds_cnn", (*PRESETS["fsdd_mfcc"].shape, 1), 10)
    assert 20_000 < m.count_params() <= 25_000


def test_cnn_resize32_is_about_15k_params():
    m = build_model("cnn_resize32", (*PRESETS["stft_124x129"].shape, 1), 12)
    assert 14_000 <= m.count_params() <= 16_000


def test_tc_resnet8_matches_the_paper_and_fits_the_budget_at_half_width():
    # Choi et al. 2019, table 1: TC-ResNet8 (k=1) on 40 MFCC x 98 frames: 66 K params, 3.0 M FLOPs (1.5 M MACs)
    paper = build_model("tc_resnet", (98, 40, 1), 12, width_multiplier=1.0)
    assert 64_000 <= paper.count_params() <= 67_000 and 1.4e6 <= count_macs(paper) <= 1.6e6
    half = build_model("tc_resnet", (*PRESETS["mfcc_49x10"].shape, 1), 12)
    assert half.count_params() <= 25_000 and count_macs(half) < 200_000


def test_bc_resnet1_is_about_the_papers_size():
    # Kim et al. 2021, table 1: BC-ResNet-1 9.2 K params on 40 log-mel bands (ours: BN for SSN, no dilation)
    m = build_model("bc_resnet", (*PRESETS["logmel_61x40"].shape, 1), 12)
    assert 8_000 <= m.count_params() <= 9_500
    assert 15_000 <= build_model("bc_resnet", (61, 40, 1), 12, width_multiplier=1.5).count_params() <= 25_000


def test_macs_of_cnn_mfcc_by_hand():
    m = build_model("cnn_mfcc", (100, 13, 1), 10)
    conv = 100 * 13 * 3 * 3 * 1 * 8  # same padding
    dense1 = (50 * 6 * 8) * 16
    dense2 = 16 * 10
    assert count_macs(m) == conv + dense1 + dense2


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_builds_with_a_sigmoid_head(name):
    m = build_model(name, (*PRESETS["mfcc_49x10"].shape, 1), 1)
    assert m.output_shape == (None, 1) and m.layers[-1].activation.__name__ == "sigmoid"


def test_unknown_model():
    with pytest.raises(ValueError, match="unknown model 'resnet'"):
        build_model("resnet", (49, 10, 1), 2)


def test_width_and_depth_multipliers_scale_channels_and_blocks():
    from tinyaudio.errors import ConfigError
    from tinyaudio.models import scaled_kwargs

    assert scaled_kwargs("ds_cnn", 1.0, 1.0) == {}
    assert scaled_kwargs("ds_cnn", 0.5, 0.5) == {"width": 32, "n_blocks": 2}
    assert scaled_kwargs("tc_resnet", 1.5, 2.0) == {"width_multiplier": 0.75, "blocks_per_stage": 2}
    assert scaled_kwargs("bc_resnet", 0.5, 1.5) == {"width_multiplier": 0.5, "depth_multiplier": 1.5}
    shape = (*PRESETS["mfcc_49x10"].shape, 1)
    small = build_model("ds_cnn", shape, 12, **scaled_kwargs("ds_cnn", 0.5, 0.5))
    assert sum(type(layer).__name__ == "DepthwiseConv2D" for layer in small.layers) == 2
    assert small.layers[1].filters == 32
    # TC-ResNet14 (two blocks per stage, Choi et al. 2019) at width 1.5 on the paper's input: 305 K params
    tc14 = build_model("tc_resnet", (98, 40, 1), 12, width_multiplier=1.5, blocks_per_stage=2)
    assert 300_000 <= tc14.count_params() <= 310_000
    with pytest.raises(ConfigError, match="model 'cnn3' has no width knob"):
        scaled_kwargs("cnn3", 0.5)
    with pytest.raises(ConfigError, match="ds_cnn_stream: 25 frames leave 9 after the first convolution; 6 blocks need 13"):
        build_model("ds_cnn_stream", (25, 10, 1), 12, n_blocks=6)
