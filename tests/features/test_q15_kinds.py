"""FeatureConfig kinds ``*_q15``: `compute_features` returns the device's q15 features exactly.

Training, evaluation and the runtime all call `compute_features`; with a ``_q15`` kind it must be
`q15_to_float` of the CMSIS-DSP frontend's int16 output, so a model trains on the numbers the board
computes from its 16-bit microphone samples.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tinyaudio.features import PRESETS, FeatureConfig, compute_features, compute_features_batch
from tinyaudio.features.config import Q15_PRESETS
from tinyaudio.errors import ConfigMismatchError
from tinyaudio.export.mcu.check import quantize_features
from tinyaudio.export.mcu.project import model_input_q15
from tinyaudio.features.q15 import compute_features_q15, float_to_q15, q15_to_float

needs_cmsisdsp = pytest.mark.skipif(
    importlib.util.find_spec("cmsisdsp") is None,
    reason="computing q15 kinds needs cmsisdsp==1.10.3 (pip install 'tinyaudio[mcu]')",
)

MFCC_Q15 = Q15_PRESETS["mfcc_q15_49x10"]
FSDD_Q15 = Q15_PRESETS["fsdd_mfcc_q15"]
LOGMEL_Q15 = FeatureConfig(
    kind="logmel_q15", sample_rate=8000, n_fft=256, win_length=256, hop_length=128, n_mels=26,
    fmin=20.0, fmax=4000.0, power=1.0,
)
SPECTROGRAM_Q15 = dataclasses.replace(PRESETS["stft_124x129"], kind="spectrogram_q15", sample_rate=8000)
CONFIGS_8K = {"mfcc_q15": FSDD_Q15, "logmel_q15": LOGMEL_Q15, "spectrogram_q15": SPECTROGRAM_Q15}


@pytest.fixture(scope="module")
def fsdd_int16(data_root) -> np.ndarray:
    """20 real FSDD recordings (8 kHz int16 WAV), zero-padded / cropped to 1 s, as int16."""
    paths = sorted((data_root / "fsdd" / "recordings").glob("*.wav"))[::97][:20]
    out = np.zeros((len(paths), 8000), dtype=np.int16)
    for i, p in enumerate(paths):
        x, rate = sf.read(p, dtype="int16")
        assert rate == 8000, p
        out[i, : min(8000, len(x))] = x[:8000]
    return out


# -- configuration: no cmsisdsp needed ------------------------------------------------------
def test_q15_kinds_have_the_shapes_of_their_float_kinds():
    assert MFCC_Q15.shape == (49, 10)
    assert FeatureConfig.load("mfcc_q15_49x10") is MFCC_Q15 and FeatureConfig.load("fsdd_mfcc_q15") is FSDD_Q15
    assert FSDD_Q15.shape == (49, 13) == PRESETS["fsdd_mfcc"].shape
    assert LOGMEL_Q15.n_features == 26
    assert SPECTROGRAM_Q15.n_features == 129
    for config in (MFCC_Q15, LOGMEL_Q15, SPECTROGRAM_Q15):
        assert config.base_kind == config.kind.removesuffix("_q15")
        assert FeatureConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ConfigMismatchError, match="n_mfcc gives 13 features"):
        FSDD_Q15.check_input_shape((None, 49, 10, 1))


@pytest.mark.parametrize(
    "changes, fix",
    [
        ({"n_fft": 320, "win_length": 320}, "set n_fft=512"),
        ({"power": 2.0}, "set power=1.0"),
        ({"top_db": 80.0}, "set top_db=None"),
        ({"normalization": "clip"}, "set normalization='none'"),
        ({"n_mels": 200}, "cover no FFT bin"),
    ],
)
def test_settings_the_q15_frontend_cannot_compute_are_refused_at_construction(changes, fix):
    with pytest.raises(ValueError, match=fix):
        dataclasses.replace(FSDD_Q15, **changes)


def test_config_and_float_frontend_import_no_cmsisdsp():
    code = (
        "import sys\n"
        "from tinyaudio.features import compute_features\n"
        "from tinyaudio.features.config import Q15_PRESETS\n"
        "import tinyaudio.features.extract\n"
        "assert Q15_PRESETS['fsdd_mfcc_q15'].kind == 'mfcc_q15'\n"
        "assert 'cmsisdsp' not in sys.modules, 'cmsisdsp imported at module import'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parent)


# -- features: the q15 frontend, bit for bit --------------------------------------------------
@needs_cmsisdsp
@pytest.mark.parametrize("name", list(CONFIGS_8K))
def test_q15_kind_is_the_q15_frontend_exactly(fsdd_int16, name):
    config = CONFIGS_8K[name]
    device = q15_to_float(compute_features_q15(fsdd_int16, config), config)  # what the board computes
    audio = fsdd_int16.astype(np.float32) / 32768.0  # what tinyaudio.data decodes from the WAV
    feats = compute_features(audio, config)
    assert feats.dtype == np.float32 and feats.shape == (len(audio), *config.shape)
    np.testing.assert_array_equal(feats, device)
    np.testing.assert_array_equal(compute_features(audio[3], config), device[3])
    np.testing.assert_array_equal(compute_features_batch(audio, config), device)


@needs_cmsisdsp
def test_float_audio_goes_through_float_to_q15(fsdd_int16):
    # Audio that is not on the int16 grid (resampled, augmented) is rounded as a 16-bit ADC would.
    rng = np.random.default_rng(0)
    audio = (fsdd_int16[:4].astype(np.float32) / 32768.0 + rng.normal(0, 1e-3, (4, 8000))).astype(np.float32)
    expected = q15_to_float(compute_features_q15(float_to_q15(audio), FSDD_Q15), FSDD_Q15)
    np.testing.assert_array_equal(compute_features(audio, FSDD_Q15), expected)


@needs_cmsisdsp
def test_training_path_decodes_to_the_device_features(data_root, tmp_path):
    # The trainer's path (dataset_features: decode the WAV, compute_features) against the int16
    # samples the board's frontend would see: identical features.
    from tinyaudio.data import load_dataset
    from tinyaudio.features.cache import dataset_features

    clips = load_dataset("fsdd", data_root).split("test")[:8]
    feats, kept, _ = dataset_features(clips, FSDD_Q15, progress=False, cache_dir=tmp_path)
    int16 = np.zeros((len(kept), 8000), dtype=np.int16)
    for i, clip in enumerate(kept):
        x, _ = sf.read(clip.path, dtype="int16")
        int16[i, : min(8000, len(x))] = x[:8000]
    np.testing.assert_array_equal(feats, q15_to_float(compute_features_q15(int16, FSDD_Q15), FSDD_Q15))


@needs_cmsisdsp
def test_exported_model_input_equals_the_training_input(fsdd_int16):
    # tinyaudio.export.mcu computes the board's int8 input from int16 audio; a model trained on
    # the q15 kind was fed quantize(compute_features(audio)): the same int8 tensor.
    scale, zero_point = 0.37, -12
    board = model_input_q15(fsdd_int16, FSDD_Q15, scale, zero_point)
    trained = quantize_features(compute_features(fsdd_int16.astype(np.float32) / 32768.0, FSDD_Q15), scale, zero_point)
    np.testing.assert_array_equal(board, trained)
