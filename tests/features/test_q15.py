"""q15 CMSIS-DSP frontend: deterministic, documented scale, close to the float frontend on real clips."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("cmsisdsp", reason="q15 frontend needs cmsisdsp==1.10.3 (pip install 'tinyaudio[mcu]')")

from tinyaudio.errors import AudioError  # noqa: E402
from tinyaudio.features import FeatureConfig, compute_features, mel_filterbank  # noqa: E402
from tinyaudio.features.extract import analysis_window  # noqa: E402
from tinyaudio.features.q15 import (  # noqa: E402
    check_q15_config,
    compute_features_q15,
    float_to_q15,
    fraction_bits,
    q15_tables,
    q15_to_float,
)

DATA = Path(os.environ.get("TINYAUDIO_DATA") or Path(__file__).resolve().parents[3] / "shared" / "datasets")
SC = DATA / "speech_commands_v0.02_test_dev"
WORDS = ("stop", "go", "yes", "no", "left", "right")

MFCC = FeatureConfig(kind="mfcc", n_fft=512, win_length=512, hop_length=320, n_mels=40, n_mfcc=10, power=1.0)
LOGMEL = FeatureConfig(
    kind="logmel", n_fft=512, win_length=400, hop_length=160, center=True, n_mels=40, fmin=20.0, fmax=8000.0, power=1.0
)
SPECTROGRAM = FeatureConfig.load("stft_124x129")

needs_data = pytest.mark.skipif(not SC.is_dir(), reason=f"Speech Commands not under {DATA} (set TINYAUDIO_DATA)")


def sc_clips(n: int) -> np.ndarray:
    """``n`` real 1 s Speech Commands clips as int16, zero-padded, shape (n, 16000)."""
    paths = [p for w in WORDS for p in sorted((SC / w).glob("*.wav"))[: n // len(WORDS) + 1]][:n]
    out = np.zeros((len(paths), 16000), dtype=np.int16)
    for i, p in enumerate(paths):
        x, rate = sf.read(p, dtype="int16")
        assert rate == 16000, p
        out[i, : min(len(x), 16000)] = x[:16000]
    return out


@pytest.fixture(scope="module")
def clips() -> np.ndarray:
    if not SC.is_dir():
        pytest.skip(f"Speech Commands not under {DATA} (set TINYAUDIO_DATA)")
    return sc_clips(60)


def active_errors(clips: np.ndarray, config: FeatureConfig, *, band_range_db: float | None) -> np.ndarray:
    """|q15 - float| in dB over frames with a window peak >= -40 dBFS (and bands near the frame peak)."""
    errors = []
    left = (config.n_fft - config.win_length) // 2
    for x in clips:
        ref = compute_features(x.astype(np.float32) / 32768.0, config)
        err = np.abs(q15_to_float(compute_features_q15(x, config), config) - ref)
        padded = np.pad(x, config.n_fft // 2) if config.center else x
        frames = np.lib.stride_tricks.sliding_window_view(padded, config.n_fft)[:: config.hop_length][: len(ref)]
        mask = np.abs(frames[:, left : left + config.win_length].astype(np.int32)).max(axis=1) >= 328
        mask = np.repeat(mask[:, None], ref.shape[1], axis=1)
        if band_range_db is not None:
            mask &= ref >= ref.max(axis=1, keepdims=True) - band_range_db
        errors.append(err[mask])
    return np.concatenate(errors)


# -- determinism and shapes -----------------------------------------------------------------
@needs_data
@pytest.mark.parametrize("config", [MFCC, LOGMEL, SPECTROGRAM], ids=["mfcc", "logmel", "spectrogram"])
def test_deterministic_and_batch_equals_single(clips, config):
    batch = compute_features_q15(clips[:6], config)
    assert batch.dtype == np.int16
    assert batch.shape == (6, *config.shape)
    again = compute_features_q15(clips[:6], config)
    np.testing.assert_array_equal(batch, again)
    for i in range(6):
        np.testing.assert_array_equal(batch[i], compute_features_q15(clips[i], config))


def test_shapes_follow_config():
    x = np.zeros(16000, dtype=np.int16)
    assert compute_features_q15(x, MFCC).shape == (49, 10) == MFCC.shape
    assert compute_features_q15(x, LOGMEL).shape == (101, 40) == LOGMEL.shape
    assert compute_features_q15(x, SPECTROGRAM).shape == (124, 129) == SPECTROGRAM.shape


# -- closeness to the float frontend (measured on 60 Speech Commands clips) -----------------
@needs_data
def test_logmel_close_to_float(clips):
    # Measured: p50 0.09 dB, p99 1.2 dB on bands within 20 dB (of magnitude) of the frame peak.
    err = active_errors(clips, LOGMEL, band_range_db=20.0)
    assert len(err) > 50_000
    p50, p99 = np.percentile(err, [50, 99])
    assert p50 < 0.2 and p99 < 2.5, (p50, p99)


@needs_data
def test_mfcc_close_to_float(clips):
    # Measured: p50 0.23 dB, p90 2.1 dB; the tail comes from quiet bands the q15 FFT floors.
    err = active_errors(clips, MFCC, band_range_db=None)
    assert len(err) > 10_000
    p50, p90 = np.percentile(err, [50, 90])
    assert p50 < 0.5 and p90 < 4.0, (p50, p90)
    # c0 / sqrt(n_mels) is the mean band level in dB. Measured on the louder half of the
    # frames: p50 0.16 dB, p90 0.45 dB, p99 1.8 dB.
    ref = compute_features(clips.astype(np.float32) / 32768.0, MFCC)[..., 0]
    got = q15_to_float(compute_features_q15(clips, MFCC), MFCC)[..., 0]
    loud = ref > np.percentile(ref, 50)
    level_err = np.abs(got - ref)[loud] / np.sqrt(MFCC.n_mels)
    assert np.percentile(level_err, 90) < 0.75 and np.percentile(level_err, 99) < 3.0


@needs_data
def test_spectrogram_close_where_resolved(clips):
    q = compute_features_q15(clips[:20], SPECTROGRAM)
    ref = compute_features(clips[:20].astype(np.float32) / 32768.0, SPECTROGRAM)
    resolved = q >= 64  # at least 6 significant bits
    assert resolved.sum() > 10_000
    err = np.abs(q15_to_float(q, SPECTROGRAM) - ref)[resolved]
    assert np.percentile(err, 99) < 0.5, np.percentile(err, [50, 99])


# -- documented scales ----------------------------------------------------------------------
def test_spectrogram_scale_on_a_tone():
    n = np.arange(16000)
    amplitude, k = 0.25, 32  # bin 32 of 256 = 2 kHz
    x = float_to_q15(amplitude * np.cos(2 * np.pi * k * n / SPECTROGRAM.n_fft))
    q = compute_features_q15(x, SPECTROGRAM)
    magnitude = q[:, k] * 2.0 ** -fraction_bits(SPECTROGRAM)
    expected = amplitude * analysis_window("hann", 256, 256).sum() / 2  # |DFT| of a windowed cosine
    np.testing.assert_allclose(magnitude, expected, rtol=0.01)


def test_logmel_scale_on_a_tone():
    n = np.arange(16000)
    x = 0.1 * np.sin(2 * np.pi * 1000.0 * n / 16000)
    q = compute_features_q15(float_to_q15(x), LOGMEL)[5:-5]
    ref = compute_features(x.astype(np.float32), LOGMEL)[5:-5]
    peak = ref.argmax(axis=1)
    rows = np.arange(len(ref))
    np.testing.assert_allclose(q15_to_float(q, LOGMEL)[rows, peak], ref[rows, peak], atol=0.1)
    assert fraction_bits(LOGMEL) == 6 and fraction_bits(MFCC) == 7 and fraction_bits(SPECTROGRAM) == 6


def test_silence_gives_a_finite_floor():
    q = compute_features_q15(np.zeros(16000, dtype=np.int16), LOGMEL)
    assert np.all(q == q[0])  # every frame the same
    floor = q15_to_float(q, LOGMEL)
    assert np.all(floor < -40) and np.all(floor > -80)


# -- tables ----------------------------------------------------------------------------------
def test_tables_match_float_definitions():
    t = q15_tables(LOGMEL)
    window = analysis_window("hann", 400, 512)
    assert np.abs(t.window / 32768.0 - window).max() < 2 / 32768
    bank = mel_filterbank(16000, 512, 40, 20.0, 8000.0)
    start = 0
    for m, (pos, length) in enumerate(zip(t.filter_pos, t.filter_len)):
        row = np.zeros(257)
        row[pos : pos + length] = t.filter_coefs[start : start + length] / 32768.0
        start += length
        np.testing.assert_allclose(row * np.exp(t.bias[m] / 64.0), bank[m], atol=bank[m].max() * 0.01)
    assert start == len(t.filter_coefs)
    assert not t.window.flags.writeable and not t.bias.flags.writeable


def test_q15_kind_suffix_is_accepted():
    # A FeatureConfig kind "mfcc_q15" (issue #3) maps to the same tables as "mfcc".
    stub = dataclasses.replace(MFCC)
    object.__setattr__(stub, "kind", "mfcc_q15")
    np.testing.assert_array_equal(q15_tables(stub).dct, q15_tables(MFCC).dct)


# -- refusals --------------------------------------------------------------------------------
def test_refuses_float_audio():
    with pytest.raises(AudioError, match="float_to_q15"):
        compute_features_q15(np.zeros(16000, dtype=np.float32), MFCC)


def test_refuses_short_audio():
    with pytest.raises(AudioError, match="shorter than one frame"):
        compute_features_q15(np.zeros(100, dtype=np.int16), MFCC)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"n_fft": 640}, "n_fft=1024"),
        ({"power": 2.0}, "power=1.0"),
        ({"top_db": 80.0}, "top_db=None"),
        ({"normalization": "clip"}, "normalization='none'"),
        ({"n_fft": 64, "win_length": 64, "n_mels": 40}, "cover no FFT bin"),
    ],
)
def test_unsupported_configs_name_the_fix(changes, message):
    with pytest.raises(ValueError, match=message):
        check_q15_config(dataclasses.replace(MFCC, **changes))


def test_float_to_q15_rounds_and_saturates():
    out = float_to_q15(np.array([-1.5, -1.0, -0.5, 0.0, 1.0 / 32768, 0.5, 1.0, 2.0]))
    np.testing.assert_array_equal(out, [-32768, -32768, -16384, 0, 1, 16384, 32767, 32767])
    assert out.dtype == np.int16
