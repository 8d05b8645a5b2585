"""Decoding and every bad input: corrupt, empty, NaN, stereo, wrong rate, missing."""

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tinyaudio.data import fix_length, fsdd, load_audio, load_clips
from tinyaudio.errors import AudioError


def test_real_fsdd_clip_resampled_to_16k(data_root):
    path = data_root / "fsdd" / "recordings" / "0_george_0.wav"
    x8 = load_audio(path, 8000)
    x16 = load_audio(path, 16000)
    assert x8.dtype == np.float32 and x8.ndim == 1
    assert abs(len(x16) - 2 * len(x8)) <= 1
    assert np.max(np.abs(x8)) <= 1.0


def test_stereo_is_mixed_to_mono(tmp_path):
    left = np.sin(np.linspace(0, 100, 1600)).astype(np.float32) * 0.5
    sf.write(tmp_path / "st.wav", np.stack([left, np.zeros_like(left)], axis=1), 16000, subtype="FLOAT")
    x = load_audio(tmp_path / "st.wav", 16000)
    np.testing.assert_allclose(x, left / 2, atol=1e-7)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p.write_bytes(b"RIFF\x00\x00junk" * 10), "cannot decode audio"),
        (lambda p: sf.write(p, np.zeros(0, np.float32), 16000), "no audio samples"),
        (lambda p: sf.write(p, np.full(100, np.nan, np.float32), 16000, subtype="FLOAT"), "NaN"),
    ],
    ids=["corrupt", "empty", "nan"],
)
def test_bad_files_raise_audio_error_naming_the_file(tmp_path, make, message):
    path = tmp_path / "bad.wav"
    make(path)
    with pytest.raises(AudioError, match=message) as info:
        load_audio(path, 16000)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_missing_file_and_wrong_rate(tmp_path):
    with pytest.raises(AudioError, match="file not found"):
        load_audio(tmp_path / "nope.wav", 16000)
    sf.write(tmp_path / "8k.wav", np.zeros(800, np.float32), 8000)
    with pytest.raises(AudioError, match=r"8k.wav: sample rate is 8000 Hz but 16000 Hz is required"):
        load_audio(tmp_path / "8k.wav", 16000, resample=False)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(min_size=0, max_size=400))
def test_random_bytes_never_crash_differently(tmp_path, blob):
    path = tmp_path / "fuzz.wav"
    path.write_bytes(blob)
    try:
        x = load_audio(path, 16000)
    except AudioError as exc:
        assert str(path) in str(exc)
    else:
        assert x.dtype == np.float32 and x.size > 0 and np.all(np.isfinite(x))


def test_fix_length_pads_and_crops():
    x = np.arange(5, dtype=np.float32)
    assert fix_length(x, 8).tolist() == [0, 1, 2, 3, 4, 0, 0, 0]
    assert fix_length(x, 3).tolist() == [0, 1, 2]


def test_load_clips_skips_bad_only_when_asked(data_root, tmp_path):
    clips = fsdd().split("test")[:3]
    bad_path = tmp_path / "0_bob_1.wav"
    bad_path.write_bytes(b"not audio")
    bad_clip = type(clips[0])(bad_path, "0", "bob", "test")
    with pytest.raises(AudioError, match="0_bob_1.wav"):
        load_clips([*clips, bad_clip], 8000, 8000)
    x, kept, bad = load_clips([*clips, bad_clip], 8000, 8000, skip_bad=True)
    assert x.shape == (3, 8000) and kept == clips
    assert [c.path for c, _ in bad] == [bad_path] and "cannot decode" in bad[0][1]


def test_a_short_clip_is_centred_on_a_quiet_noise_floor_with_pad_centre(data_root):
    from tinyaudio.data.audio import PAD_NOISE_DBFS
    from tinyaudio.features import PRESETS

    y = load_audio(data_root / "fsdd" / "recordings" / "7_george_0.wav", 8000)  # 0.64 s
    assert len(y) == 5131
    end, centre = fix_length(y, 8000), fix_length(y, 8000, pad="centre")
    assert np.array_equal(end[:5131], y) and not end[5131:].any()
    start = (8000 - 5131) // 2
    floor = np.concatenate([centre[:start], centre[start + 5131 :]])
    assert 20 * np.log10(np.sqrt(np.mean(floor ** 2))) == pytest.approx(PAD_NOISE_DBFS, abs=0.3)
    np.testing.assert_allclose(centre[start : start + 5131], y, atol=0.005)
    assert np.array_equal(centre, fix_length(y, 8000, pad="centre"))  # the same floor every time
    assert np.array_equal(fix_length(y, 4000, pad="centre"), y[:4000])  # longer clips are cropped as before
    with pytest.raises(ValueError, match=r"^pad='middle' is not one of \('end', 'centre', 'end_zero_mean'\)$"):
        fix_length(y, 8000, pad="middle")
    # the preset that uses it loads training clips that way
    cfg = PRESETS["fsdd_mfcc_centre"]
    clip = fsdd(data_root / "fsdd").clips[0]
    (loaded,), _, _ = load_clips([clip], cfg.sample_rate, cfg.n_samples, pad=cfg.pad)
    assert np.array_equal(loaded, fix_length(load_audio(clip.path, 8000), 8000, pad="centre"))


def test_pad_end_zero_mean_removes_a_dc_offset_so_the_clip_does_not_end_in_a_step(data_root):
    from tinyaudio.features import PRESETS

    y = load_audio(data_root / "fsdd" / "recordings" / "6_nicolas_0.wav", 8000)
    assert y.mean() < -0.005 and len(y) < 8000  # nicolas records with a DC offset
    end, zero_mean = fix_length(y, 8000), fix_length(y, 8000, pad="end_zero_mean")
    n = len(y)
    assert abs(end[n - 1] - end[n]) > 0.005  # the step where the zeros begin
    assert abs(float(zero_mean[:n].mean())) < 1e-6 and not zero_mean[n:].any()
    np.testing.assert_allclose(zero_mean[:n], y - y.mean(), atol=1e-6)
    long = np.full(9000, 0.25, dtype=np.float32)  # a longer clip is cropped, then its mean removed
    assert not fix_length(long, 8000, pad="end_zero_mean").any()
    assert PRESETS["fsdd_mfcc_zero_mean"].pad == "end_zero_mean"
