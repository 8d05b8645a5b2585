"""The NumPy frontend against librosa, the seed layouts, and FeatureConfig round trips."""

import dataclasses

import librosa
import numpy as np
import pytest

from tinyaudio.data import fix_length, load_audio
from tinyaudio.errors import ConfigError, AudioError, ConfigMismatchError
from tinyaudio.features import PRESETS, FeatureConfig, compute_features, compute_features_batch
from tinyaudio.features.cache import dataset_features

# Stated tolerance: max |ours - librosa| over every coefficient, in dB-scaled units.
# float64 internally, cast to float32 at the end: the difference is float32 rounding.
TOLERANCE = 1e-3


def librosa_reference(y, c):
    if c.kind == "spectrogram":
        s = np.abs(librosa.stft(y, n_fft=c.n_fft, hop_length=c.hop_length, win_length=c.win_length,
                                window=c.window, center=c.center)) ** c.power
        return librosa.power_to_db(s, amin=c.log_floor, top_db=c.top_db).T
    mel = librosa.feature.melspectrogram(
        y=y, sr=c.sample_rate, n_fft=c.n_fft, hop_length=c.hop_length, win_length=c.win_length, window=c.window,
        center=c.center, pad_mode="constant", n_mels=c.n_mels, fmin=c.fmin, fmax=c.fmax, power=c.power)
    log_mel = librosa.power_to_db(mel, amin=c.log_floor, top_db=c.top_db)
    feats = (librosa.feature.mfcc(S=log_mel, n_mfcc=c.n_mfcc) if c.kind == "mfcc" else log_mel).T
    if c.normalization == "cmn":  # the mean over frames within 30 dB (mean over bands) of the loudest
        level = log_mel.mean(axis=0)
        feats = feats - feats[level >= level.max() - 30.0].mean(axis=0)
    return feats


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_matches_librosa_on_real_clips(data_root, preset):
    c = PRESETS[preset]
    paths = sorted((data_root / "speech_commands_v0.02_test_dev" / "yes").glob("*.wav"))[:3]
    for path in paths:
        y = fix_length(load_audio(path, c.sample_rate), c.n_samples)
        ours = compute_features(y, c)
        ref = librosa_reference(y, c)
        assert ours.shape == ref.shape == c.shape
        assert np.max(np.abs(ours - ref)) < TOLERANCE


def test_top_db_matches_librosa_default(data_root, stop_wav):
    c = dataclasses.replace(PRESETS["mfcc_13x100"], top_db=80.0)
    y = fix_length(load_audio(stop_wav, 16000), c.n_samples)
    ref = librosa.feature.mfcc(y=y, sr=16000, n_mfcc=13, n_fft=512, win_length=400, hop_length=160, n_mels=40,
                               fmin=20.0, fmax=8000.0, pad_mode="constant", center=True).T
    assert np.max(np.abs(compute_features(y, c) - ref)) < TOLERANCE


def test_cmn_removes_gain_and_a_fixed_microphone_response(data_root):
    """normalization="cmn": a gain leaves the speech frames unchanged; a fixed FIR colouring
    (a brighter or duller microphone) moves them 40x less than without it."""
    import scipy.signal

    from tinyaudio.features.extract import power_spectrogram, spectrum_to_db

    cmn, plain = PRESETS["fsdd_mfcc_cmn"], PRESETS["fsdd_mfcc"]
    y = fix_length(load_audio(data_root / "fsdd" / "recordings" / "7_george_0.wav", 8000), 8000)  # 0.64 s, padded
    level = spectrum_to_db(power_spectrogram(y, cmn), cmn).mean(axis=1)
    active = level >= level.max() - 30.0  # the speech frames; padding and the quiet edges are not
    assert active.sum() == 25
    np.testing.assert_allclose(compute_features(0.25 * y, cmn)[active], compute_features(y, cmn)[active], atol=1e-3)
    assert np.abs(compute_features(0.25 * y, plain) - compute_features(y, plain))[active].mean() > 5.0
    for taps in ([1.0, -0.7], [1.0, 0.5]):
        coloured = scipy.signal.lfilter(taps, [1.0], y).astype(np.float32)
        moved = np.abs(compute_features(coloured, cmn) - compute_features(y, cmn))[active].mean()
        moved_plain = np.abs(compute_features(coloured, plain) - compute_features(y, plain))[active].mean()
        assert moved < 0.1 and moved_plain > 3.0
    assert np.abs(compute_features(y, cmn)[active].mean(axis=0)).max() < 1e-4  # their mean is removed
    with pytest.raises(ConfigError, match=r"normalization='cmvn' is not one of \('none', 'clip', 'cmn'\)"):
        dataclasses.replace(cmn, normalization="cmvn")
    with pytest.raises(ConfigError, match=r"pad='zeros' is not one of \('end', 'centre', 'end_zero_mean'\)"):
        dataclasses.replace(cmn, pad="zeros")


def test_seed_layouts():
    assert PRESETS["mfcc_13x100"].shape == (100, 13)
    assert PRESETS["stft_124x129"].shape == (124, 129)
    assert PRESETS["mfcc_49x10"].shape == (49, 10)


def test_batch_equals_single(data_root, stop_wav):
    c = PRESETS["mfcc_49x10"]
    y = fix_length(load_audio(stop_wav, 16000), c.n_samples)
    batch = compute_features_batch(np.stack([y, y * 0.5, np.zeros_like(y)]), c)
    np.testing.assert_array_equal(batch[0], compute_features(y, c))
    assert batch.shape == (3, 49, 10) and batch.dtype == np.float32


def test_bad_samples_raise():
    c = PRESETS["mfcc_49x10"]
    with pytest.raises(AudioError, match="NaN"):
        compute_features(np.full(16000, np.nan, np.float32), c)
    with pytest.raises(AudioError, match="expected mono"):
        compute_features(np.zeros((2, 3, 16000), np.float32), c)
    with pytest.raises(AudioError, match="shorter than one frame"):
        compute_features(np.zeros(100, np.float32), c)
    with pytest.raises(AudioError, match="dtype int16"):
        compute_features(np.zeros(16000, np.int16), c)


def test_config_json_round_trip_and_errors(tmp_path):
    c = PRESETS["stft_124x129"]
    c.save(tmp_path / "fc.json")
    assert FeatureConfig.load(tmp_path / "fc.json") == c
    assert FeatureConfig.load("mfcc_49x10") == PRESETS["mfcc_49x10"]
    with pytest.raises(ValueError, match=r"unknown FeatureConfig field\(s\) \['n_mfc'\]"):
        FeatureConfig.from_dict({"n_mfc": 13})
    with pytest.raises(ValueError, match="n_mfcc"):
        FeatureConfig(n_mfcc=50, n_mels=40)
    with pytest.raises(ConfigError, match=r"^invalid FeatureConfig: 42 mel bands \(2, 5, 8, 11, 14, \.\.\.\) cover no FFT bin at n_fft=512 "
                                          r"\(257 bins\); lower n_mels \(300\)"):
        dataclasses.replace(PRESETS["logmel_61x40"], n_mels=300)
    with pytest.raises(ConfigMismatchError, match="field n_mfcc differs: 10 here, 13 in model"):
        PRESETS["mfcc_49x10"].check_matches(dataclasses.replace(PRESETS["mfcc_49x10"], n_mfcc=13))
    with pytest.raises(ConfigMismatchError, match="n_mfcc gives 10 features per frame but the model expects 13"):
        PRESETS["mfcc_49x10"].check_input_shape((1, 49, 13, 1))
    with pytest.raises(ConfigMismatchError, match="hop_length.*49 frames but the model expects 98"):
        PRESETS["mfcc_49x10"].check_input_shape((1, 98, 10, 1))


def test_feature_cache_hits_and_keys_on_config(data_root, tmp_path):
    from tinyaudio.data import fsdd

    clips = fsdd().split("test")[:20]
    c = PRESETS["fsdd_mfcc"]
    x1, kept, bad = dataset_features(clips, c, cache_dir=tmp_path, progress=False)
    assert x1.shape == (20, 49, 13) and not bad and kept == clips
    assert len(list(tmp_path.glob("*.npz"))) == 1
    x2, _, _ = dataset_features(clips, c, cache_dir=tmp_path, progress=False)
    np.testing.assert_array_equal(x1, x2)
    dataset_features(clips, dataclasses.replace(c, n_mfcc=10), cache_dir=tmp_path, progress=False)
    assert len(list(tmp_path.glob("*.npz"))) == 2
