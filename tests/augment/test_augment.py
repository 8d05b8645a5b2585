"""tinyaudio.augment on real Speech Commands clips: measured SNRs, shifts, masks, seeds, bad input."""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import pytest

from tinyaudio.augment import (
    AddBackgroundNoise,
    AddWhiteNoise,
    ApplyRoomImpulseResponse,
    Compose,
    MixClips,
    RandomSilence,
    SpecAugment,
    TileSegment,
    TimeShift,
    Transform,
    augment_batch,
    mix_batch,
    synthetic_rir,
)
from tinyaudio.errors import AudioError, DatasetError

SR = 16000
DATA = Path(os.environ.get("TINYAUDIO_DATA") or Path(__file__).resolve().parents[3] / "shared" / "datasets")
STOP = DATA / "speech_commands_v0.02_test_dev" / "stop"
NOISE_DIR = DATA / "speech_commands_background_noise"

pytestmark = pytest.mark.skipif(
    not (STOP.is_dir() and NOISE_DIR.is_dir()), reason=f"Speech Commands not under {DATA} (set TINYAUDIO_DATA)"
)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def snr_db(clean: np.ndarray, noisy: np.ndarray) -> float:
    return 20.0 * np.log10(rms(clean) / rms(noisy.astype(np.float64) - clean))


@pytest.fixture(scope="module")
def clips() -> np.ndarray:
    from tinyaudio.data import fix_length, load_audio

    files = sorted(STOP.glob("*.wav"))[:4]
    return np.stack([fix_length(load_audio(f, SR), SR) for f in files])


@pytest.fixture(scope="module")
def pink() -> np.ndarray:
    from tinyaudio.data import load_audio

    return load_audio(NOISE_DIR / "pink_noise.wav", SR, duration=5.0)


@pytest.fixture(scope="module")
def noise_from_dir() -> AddBackgroundNoise:
    return AddBackgroundNoise(NOISE_DIR, min_snr_db=5.0, max_snr_db=10.0, p=1.0)


# --- noise at a measured SNR -------------------------------------------------------------


def test_white_noise_snr_within_requested_range(clips):
    t = AddWhiteNoise(min_snr_db=10.0, max_snr_db=20.0, p=1.0)
    measured = [snr_db(x, t(x, SR, np.random.default_rng(s))) for s, x in enumerate(np.tile(clips, (3, 1)))]
    assert min(measured) >= 10.0 - 0.15 and max(measured) <= 20.0 + 0.15, measured
    assert np.std(measured) > 1.0  # the SNR is drawn, not fixed

    fixed = AddWhiteNoise(min_snr_db=15.0, max_snr_db=15.0, p=1.0)
    for s, x in enumerate(clips):
        assert abs(snr_db(x, fixed(x, SR, np.random.default_rng(s))) - 15.0) < 0.15


def test_background_noise_from_folder_snr(clips, noise_from_dir):
    for s, x in enumerate(clips):
        y = noise_from_dir(x, SR, np.random.default_rng(s))
        assert y.shape == x.shape and y.dtype == np.float32
        assert 5.0 - 0.02 <= snr_db(x, y) <= 10.0 + 0.02


def test_background_noise_from_arrays_snr_and_segment(clips, pink):
    t = AddBackgroundNoise([pink], min_snr_db=0.0, max_snr_db=0.0, p=1.0)
    x = clips[0]
    added = t(x, SR, np.random.default_rng(3)).astype(np.float64) - x
    assert abs(20 * np.log10(rms(x) / rms(added))) < 0.02
    # the added noise is a scaled stretch of the recording: find it by cross-correlation
    from scipy.signal import correlate

    corr = correlate(pink, added, mode="valid")
    start = int(np.argmax(np.abs(corr)))
    segment = pink[start : start + len(x)]
    assert np.corrcoef(segment, added)[0, 1] > 0.9999

    short = AddBackgroundNoise([pink[:3000]], 10.0, 10.0, p=1.0)(x, SR, np.random.default_rng(0))
    assert abs(snr_db(x, short) - 10.0) < 0.02  # a shorter noise is repeated, not zero-padded


# --- time shift and silence --------------------------------------------------------------


def test_time_shift_moves_waveform_by_cross_correlation_lag(clips):
    from scipy.signal import correlate

    t = TimeShift(max_shift_s=0.1, p=1.0)
    lags = []
    for s in range(8):
        x = clips[s % len(clips)]
        y = t(x, SR, np.random.default_rng(s))
        lag = int(np.argmax(correlate(y, x, mode="full"))) - (len(x) - 1)
        lags.append(lag)
        assert abs(lag) <= 0.1 * SR
        if lag > 0:  # out[t] = x[t - lag], zeros shifted in (no wrap-around)
            np.testing.assert_array_equal(y[lag:], x[:-lag])
            assert not y[:lag].any()
        elif lag < 0:
            np.testing.assert_array_equal(y[:lag], x[-lag:])
            assert not y[lag:].any()
    assert min(lags) < 0 < max(lags), lags


def test_random_silence_zeroes_one_stretch_of_requested_length(clips):
    x = clips[1]
    y = RandomSilence(min_silence_s=0.25, max_silence_s=0.25, fade_s=0.0, p=1.0)(x, SR, np.random.default_rng(5))
    changed = np.flatnonzero(y != x)
    assert changed.size > 0 and not y[changed].any()
    zero = np.flatnonzero(y == 0.0)
    # a run of exactly 4000 zero samples holds every changed sample
    lo, hi = changed[0], changed[-1]
    starts = [s for s in range(max(0, hi - 3999), lo + 1) if np.all(y[s : s + 4000] == 0.0)]
    assert starts, "no 0.25 s zero run covers the changed samples"
    assert hi - lo + 1 <= 4000 and zero.size >= 4000

    faded = RandomSilence(min_silence_s=0.05, max_silence_s=0.2, p=1.0)(x, SR, np.random.default_rng(6))
    changed = np.flatnonzero(faded != x)
    assert 0 < changed[-1] - changed[0] + 1 <= 0.2 * SR + 1


def test_tile_segment_repeats_one_piece_of_the_speech_to_fill_the_clip(clips):
    x = clips[2]
    energy = np.cumsum(x.astype(np.float64) ** 2)
    lo, hi = np.searchsorted(energy, [0.05 * energy[-1], 0.95 * energy[-1]])
    for seed in range(5):
        y = TileSegment(min_s=0.3, max_s=0.5, p=1.0)(x, SR, np.random.default_rng(seed))
        # the period: the shortest shift that maps the output onto itself
        period = next(n for n in range(1, SR) if np.array_equal(y[n:], y[:-n]))
        assert min(0.3 * SR, hi - lo) - 1 <= period <= 0.5 * SR + 1
        start = next(i for i in range(SR - period + 1) if np.array_equal(x[i : i + period], y[:period]))
        assert lo <= start <= hi  # the piece starts in the word, not in the silence around it
    np.testing.assert_array_equal(TileSegment(p=1.0)(np.zeros(SR, np.float32), SR, np.random.default_rng(0)), 0.0)
    with pytest.raises(ValueError, match="need 0 < min_s <= max_s"):
        TileSegment(min_s=0.5, max_s=0.2)


# --- room impulse responses --------------------------------------------------------------


def test_synthetic_rir_decays_at_requested_rt60():
    for rt60 in (0.3, 0.8):
        h = synthetic_rir(SR, rt60, np.random.default_rng(0), drr_db=0.0)
        assert h.dtype == np.float32 and h.shape == (round(rt60 * SR),) and h[0] == 1.0
        edc = 10 * np.log10(np.cumsum(np.square(h[::-1], dtype=np.float64))[::-1] / np.sum(np.square(h, dtype=np.float64)))
        fit = (edc <= -5) & (edc >= -25)  # Schroeder backward integration, T20 fit
        slope_db_per_s = np.polyfit(np.flatnonzero(fit) / SR, edc[fit], 1)[0]
        assert abs(-60.0 / slope_db_per_s - rt60) / rt60 < 0.1


def test_room_impulse_response_arrays_match_files(clips, tmp_path):
    import soundfile as sf
    from scipy.signal import convolve

    ir = synthetic_rir(SR, 0.4, np.random.default_rng(1))
    sf.write(tmp_path / "room.wav", ir, SR, subtype="FLOAT")
    x = clips[2]
    from_array = ApplyRoomImpulseResponse([ir], p=1.0)(x, SR, np.random.default_rng(0))
    from_file = ApplyRoomImpulseResponse(tmp_path, p=1.0)(x, SR, np.random.default_rng(0))
    full = convolve(x.astype(np.float64), ir.astype(np.float64))
    expected = full[: len(x)] * 0.5 / np.abs(full).max()
    np.testing.assert_allclose(from_array, expected, atol=1e-6)
    np.testing.assert_allclose(from_file, from_array, atol=1e-6)  # audiomentations path, same IR


# --- SpecAugment -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def features(clips) -> np.ndarray:
    from tinyaudio.features import FeatureConfig, compute_features_batch

    return compute_features_batch(clips, FeatureConfig(kind="logmel"))  # (4, 49, 40)


def test_specaugment_masks_whole_rows_and_columns(features):
    f = features[0]
    sa = SpecAugment(n_time_masks=2, max_time_mask_frames=10, n_freq_masks=2, max_freq_mask_bins=8)
    for s in range(20):
        out = sa(f, np.random.default_rng(s))
        assert out.shape == f.shape and out.dtype == f.dtype
        rows = np.all(out == 0.0, axis=1)
        cols = np.all(out == 0.0, axis=0)
        assert rows.sum() <= 2 * 10 and cols.sum() <= 2 * 8
        expected = np.where(rows[:, None] | cols[None, :], 0.0, f)
        np.testing.assert_array_equal(out, expected)  # nothing else touched


def test_specaugment_single_mask_width_is_uniform_up_to_max(features):
    f = features[1]
    time_only = SpecAugment(n_time_masks=1, max_time_mask_frames=10, n_freq_masks=0, max_freq_mask_bins=0)
    widths = []
    for s in range(300):
        masked = np.flatnonzero(np.all(time_only(f, np.random.default_rng(s)) == 0.0, axis=1))
        if masked.size:
            assert masked[-1] - masked[0] + 1 == masked.size  # one contiguous run of frames
        widths.append(masked.size)
    assert max(widths) == 10 and 4.0 < np.mean(widths) < 6.0  # U{0..10}: mean 5

    freq_only = SpecAugment(n_time_masks=0, max_time_mask_frames=0, n_freq_masks=1, max_freq_mask_bins=40, fill="mean")
    out = freq_only(f, np.random.default_rng(7))
    cols = np.flatnonzero(np.any(out != f, axis=0))
    assert cols.size > 0 and cols[-1] - cols[0] + 1 == cols.size
    np.testing.assert_allclose(out[:, cols], f.mean(), rtol=1e-6)


def test_specaugment_batch_masks_each_example_independently(features):
    out = SpecAugment(2, 10, 2, 8)(features, np.random.default_rng(0))
    assert out.shape == features.shape
    patterns = {tuple(np.all(o == 0, axis=1)) for o in out}
    assert len(patterns) > 1
    np.testing.assert_array_equal(SpecAugment(p=0.0)(features, np.random.default_rng(0)), features)


# --- mixing labelled clips ---------------------------------------------------------------


def test_mix_clips_level_and_label_weight(clips):
    mixer = MixClips(min_gain_db=-10.0, max_gain_db=-3.0, p=1.0)
    for s in range(6):
        x, other = clips[s % 4], clips[(s + 1) % 4]
        mixed, w = mixer(x, other, SR, np.random.default_rng(s))
        gain_db = 20 * np.log10(rms(mixed.astype(np.float64) - x) / rms(x))
        assert -10.0 - 0.01 <= gain_db <= -3.0 + 0.01
        share = 10 ** (gain_db / 10)
        assert w == pytest.approx(share / (1 + share), abs=1e-4)

    mixed, soft = mix_batch(clips, np.array([0, 1, 2, 2]), MixClips(p=1.0), SR, seed=0, n_classes=3)
    assert mixed.shape == clips.shape and mixed.dtype == np.float32 and soft.shape == (4, 3)
    np.testing.assert_allclose(soft.sum(axis=1), 1.0, rtol=1e-6)
    again, soft_again = mix_batch(clips, np.array([0, 1, 2, 2]), MixClips(p=1.0), SR, seed=0, n_classes=3)
    np.testing.assert_array_equal(mixed, again)
    np.testing.assert_array_equal(soft, soft_again)
    with pytest.raises(ValueError, match="n_classes"):
        mix_batch(clips, np.array([0, 1, 2, 2]), MixClips(), SR, seed=0)


# --- reproducibility, shapes, composition ------------------------------------------------


def _chain(pink: np.ndarray) -> Compose:
    return Compose(
        [
            TimeShift(max_shift_s=0.1, p=0.8),
            RandomSilence(max_silence_s=0.1, p=0.5),
            AddBackgroundNoise([pink], 5.0, 20.0, p=0.8),
            ApplyRoomImpulseResponse([synthetic_rir(SR, 0.3, np.random.default_rng(0))], p=0.5),
            AddWhiteNoise(20.0, 40.0, p=0.8),
        ]
    )


def test_same_seed_same_output_different_seed_different(clips, pink, noise_from_dir):
    chain = _chain(pink)
    py_state, np_state = random.getstate(), np.random.get_state()
    a = augment_batch(clips, chain, SR, seed=0, copies=2)
    b = augment_batch(clips, _chain(pink), SR, seed=0, copies=2)
    c = augment_batch(clips, chain, SR, seed=1, copies=2)
    assert a.shape == (8, SR) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert not np.array_equal(a[:4], a[4:])  # the two copies differ
    # seeding audiomentations leaves the caller's global random state as it was
    assert random.getstate() == py_state
    assert all(np.array_equal(u, v) for u, v in zip(np.random.get_state(), np_state, strict=True))

    x = clips[0]
    one = noise_from_dir(x, SR, np.random.default_rng(11))
    np.testing.assert_array_equal(one, noise_from_dir(x, SR, np.random.default_rng(11)))
    assert not np.array_equal(one, noise_from_dir(x, SR, np.random.default_rng(12)))


@pytest.mark.parametrize(
    "make",
    [
        lambda pink: AddWhiteNoise(p=1.0),
        lambda pink: AddBackgroundNoise([pink], p=1.0),
        lambda pink: TimeShift(p=1.0),
        lambda pink: RandomSilence(p=1.0),
        lambda pink: TileSegment(p=1.0),
        lambda pink: ApplyRoomImpulseResponse([synthetic_rir(SR, 0.2, np.random.default_rng(0))], p=1.0),
    ],
    ids=["white", "background", "shift", "silence", "tile", "rir"],
)
def test_transform_shapes_dtypes_and_bad_input(make, clips, pink):
    t = make(pink)
    assert isinstance(t, Transform)
    out = t(clips[0].astype(np.float64), SR, np.random.default_rng(0))
    assert out.shape == (SR,) and out.dtype == np.float32
    t.p = 0.0
    skipped = t(clips[0], SR, np.random.default_rng(0))
    np.testing.assert_array_equal(skipped, clips[0])
    assert skipped is not clips[0]

    nan = clips[0].copy()
    nan[100] = np.nan
    with pytest.raises(AudioError, match="NaN"):
        t(nan, SR, np.random.default_rng(0))
    with pytest.raises(AudioError, match=r"mono.*\(2, 16000\)"):
        t(np.stack([clips[0], clips[1]]), SR, np.random.default_rng(0))
    with pytest.raises(AudioError, match="int16"):
        t((clips[0] * 32767).astype(np.int16), SR, np.random.default_rng(0))
    with pytest.raises(AudioError, match="empty"):
        t(np.zeros(0, np.float32), SR, np.random.default_rng(0))


def test_batch_and_feature_bad_input(clips, pink):
    bad = clips.copy()
    bad[2, 5] = np.inf
    with pytest.raises(AudioError, match=r"clips\[2\]"):
        augment_batch(bad, [AddWhiteNoise()], SR, seed=0)
    with pytest.raises(AudioError, match="n_clips, n_samples"):
        augment_batch(clips[0], [AddWhiteNoise()], SR, seed=0)
    with pytest.raises(AudioError, match="n_frames, n_features"):
        SpecAugment()(np.zeros(49, np.float32), np.random.default_rng(0))
    with pytest.raises(AudioError, match="NaN"):
        SpecAugment()(np.full((49, 10), np.nan, np.float32), np.random.default_rng(0))
    with pytest.raises(TypeError, match="mix_batch"):
        Compose([MixClips()])
    with pytest.raises(TypeError, match="feature"):
        augment_batch(clips, SpecAugment(), SR, seed=0)


def test_bad_parameters(tmp_path):
    with pytest.raises(ValueError, match="min_snr_db"):
        AddWhiteNoise(min_snr_db=30.0, max_snr_db=10.0)
    with pytest.raises(ValueError, match="p"):
        TimeShift(p=1.5)
    with pytest.raises(AudioError, match="not found"):
        AddBackgroundNoise(tmp_path / "missing")
    with pytest.raises(DatasetError, match="no audio files"):
        ApplyRoomImpulseResponse(tmp_path)
    with pytest.raises(TypeError, match="not a mix"):
        AddBackgroundNoise([NOISE_DIR, np.zeros(10, np.float32)])
    with pytest.raises(ValueError, match="rt60_s"):
        synthetic_rir(SR, 0.0, np.random.default_rng(0))


def test_gain_scales_by_the_drawn_decibels(clips):
    from tinyaudio.augment import Gain

    x = clips[0]
    gains = []
    for seed in range(20):
        y = Gain(min_gain_db=-12.0, max_gain_db=6.0, p=1.0)(x, 16000, np.random.default_rng(seed))
        ratio = float(np.dot(y, x) / np.dot(x, x))
        np.testing.assert_allclose(y, x * ratio, rtol=1e-5, atol=1e-7)  # a pure scaling
        gains.append(20 * np.log10(ratio))
    assert -12.0 <= min(gains) and max(gains) <= 6.0 and max(gains) - min(gains) > 6.0
    same = Gain(p=1.0)(x, 16000, np.random.default_rng(1))
    np.testing.assert_array_equal(same, Gain(p=1.0)(x, 16000, np.random.default_rng(1)))


def test_speed_perturb_scales_a_tone_and_keeps_the_length():
    from tinyaudio.augment import SpeedPerturb

    t = np.arange(SR) / SR
    tone = (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    for seed in range(3):
        rng = np.random.default_rng(seed)
        rate = np.random.default_rng(seed).uniform(0.9, 1.1)
        out = SpeedPerturb(0.9, 1.1, p=1.0)(tone, SR, rng)
        assert out.shape == (SR,)
        peak_hz = np.argmax(np.abs(np.fft.rfft(out[2000:14000] * np.hanning(12000)))) * SR / 12000
        assert abs(peak_hz - 1000 * rate) < 3, (peak_hz, rate)
    with pytest.raises(ValueError, match="need 0 < min_rate <= max_rate"):
        SpeedPerturb(1.2, 1.0)


def test_channel_colouring_changes_the_spectrum_and_the_narrowband_trip_drops_4_khz_up(clips):
    from tinyaudio.augment import ChannelColouring

    x = clips[0]
    outputs = [ChannelColouring(p=1.0)(x, SR, np.random.default_rng(seed)) for seed in range(12)]
    assert all(y.shape == (SR,) and not np.array_equal(y, x) for y in outputs)

    def high_share(y):
        spectrum = np.abs(np.fft.rfft(y)) ** 2
        return spectrum[len(spectrum) // 2 + 200 :].sum() / spectrum.sum()  # above ~4.2 kHz

    assert min(high_share(y) for y in outputs) < 1e-4 < high_share(x)  # some copy went through 8 kHz


def test_channel_colouring_leaves_8_khz_clips_alone(clips):
    """Colouring 8 kHz clips was tried and dropped (it lowered FSDD's validation accuracy)."""
    import soxr
    from tinyaudio.augment import ChannelColouring

    x = soxr.resample(clips[0], SR, 8000).astype(np.float32)
    assert all(np.array_equal(ChannelColouring(p=1.0)(x, 8000, np.random.default_rng(seed)), x) for seed in range(6))


def test_simulated_rooms_are_cached_and_decay(tmp_path, monkeypatch):
    pytest.importorskip("pyroomacoustics")
    from tinyaudio.augment import simulated_rirs

    monkeypatch.setenv("TINYAUDIO_CACHE", str(tmp_path))
    rirs = simulated_rirs(3, SR, seed=0)
    assert len(list((tmp_path / "rir").glob("*.npz"))) == 1
    for h in rirs:
        assert h.dtype == np.float32 and np.max(np.abs(h)) == pytest.approx(1.0)
        energy = np.cumsum(h[::-1] ** 2)[::-1]  # Schroeder backward integral
        assert energy[len(h) // 2] < 0.05 * energy[0]  # most energy early: a decaying room
    again = simulated_rirs(3, SR, seed=0)
    assert all(np.array_equal(a, b) for a, b in zip(rirs, again))


def test_default_policy_is_deterministic_and_each_part_switches_off(clips, monkeypatch, tmp_path):
    pytest.importorskip("pyroomacoustics")
    from tinyaudio.augment.recipes import DEFAULT_POLICY, default_policy, default_recipe

    monkeypatch.setenv("TINYAUDIO_CACHE", str(tmp_path))
    chain, spec = default_recipe(SR, default_policy(), seed=0)
    a = augment_batch(clips, chain, SR, seed=3, copies=2)
    b = augment_batch(clips, default_recipe(SR, default_policy(), seed=0)[0], SR, seed=3, copies=2)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, augment_batch(clips, chain, SR, seed=4, copies=2))
    assert spec is not None and spec.p == DEFAULT_POLICY["specaugment"]
    assert default_policy("room,channel") == {**DEFAULT_POLICY, "room": 0.0, "channel": 0.0}
    chain_off, spec_off = default_recipe(SR, default_policy(",".join(DEFAULT_POLICY)), seed=0)
    assert spec_off is None and not chain_off.transforms
    with pytest.raises(ValueError, match="augment part 'reverb' is not one of speed, shift, room"):
        default_policy("reverb")
