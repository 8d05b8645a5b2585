"""Soundbites: the silence rule, windows that load the right audio, splits by source recording."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tinyaudio.data import Clip
from tinyaudio.data.soundbites import SoundbiteRule, SoundbiteStats, cut_clips, fire_alarm, keep_mask, window_levels
from tinyaudio.errors import DatasetError

SR = 16000


def test_window_levels_and_silence_rule():
    t = np.arange(3 * SR) / SR
    x = np.zeros(3 * SR, dtype=np.float32)
    x[:SR] = 0.5 * np.sin(2 * np.pi * 440 * t[:SR])  # 1 s tone, -9 dBFS
    x[2 * SR :] = 0.005 * np.sin(2 * np.pi * 440 * t[:SR])  # 1 s tone 40 dB quieter
    starts, levels = window_levels(x, SR, 1.0, 0.5)
    np.testing.assert_array_equal(starts, [0, 8000, 16000, 24000, 32000])
    assert levels[0] == pytest.approx(10 * np.log10(0.125), abs=0.01)
    assert levels[2] < -100  # digital silence
    keep = keep_mask(levels, SoundbiteRule(min_level_db=-50.0, max_below_peak_db=30.0))
    # window 2: digital silence; 3: half quiet tone, -52 dBFS (absolute rule); 4: quiet tone,
    # -49 dBFS, passes the absolute floor but is 40 dB below the loudest window (relative rule)
    assert keep.tolist() == [True, True, False, False, False]
    keep_abs = keep_mask(levels, SoundbiteRule(min_level_db=-50.0, max_below_peak_db=None))
    assert keep_abs.tolist() == [True, True, False, False, True]
    # shorter than one window: one window at 0
    assert window_levels(x[:100], SR, 1.0, 0.5)[0].tolist() == [0]


def test_cut_clips_windows_load_the_recording_at_their_offset(data_root):
    from tinyaudio.data import load_audio

    path = data_root / "fire_alarm" / "fire_alarm" / "ALRMElec_Smoke detector alarm (ID 0800)_BSB.wav"
    stats = SoundbiteStats()
    clips = cut_clips([Clip(path, "fire_alarm", "alarm/0800", "test")], SoundbiteRule(hop_s=0.5), SR, stats=stats)
    whole = load_audio(path, SR)
    n_windows = (len(whole) - SR) // (SR // 2) + 1
    assert stats.kept["fire_alarm"] + stats.dropped["fire_alarm"] == n_windows
    assert stats.dropped["fire_alarm"] >= 1  # the recording starts with digital silence
    assert len(clips) == stats.kept["fire_alarm"] and all(c.speaker == "alarm/0800" for c in clips)
    c = clips[len(clips) // 2]
    window = c.load(SR, SR)
    start = int(round(c.offset * SR))
    ref = whole[start : start + SR]
    assert np.corrcoef(window[100:-100], ref[100:-100])[0, 1] > 0.999  # same audio (resampled separately)


def test_fire_alarm_splits_by_source_and_every_split_has_alarms(data_root):
    ds, stats = fire_alarm(data_root, max_speech_clips=100, with_stats=True)
    assert ds.labels == ("_other_", "fire_alarm")
    split_of: dict[str, set[str]] = {}
    for c in ds.clips:
        split_of.setdefault(c.speaker, set()).add(c.split)
    assert all(len(s) == 1 for s in split_of.values())  # no recording on two sides
    for split in ("train", "validation", "test"):
        labels = {c.label for c in ds.split(split)}
        assert labels == {"_other_", "fire_alarm"}, split
    alarm_files = {s: {c.path for c in ds.split(s) if c.label == "fire_alarm"} for s in ("train", "validation", "test")}
    assert len(alarm_files["test"]) == 1  # a whole held-out recording
    assert alarm_files["test"].isdisjoint(alarm_files["train"] | alarm_files["validation"])
    assert len(set().union(*alarm_files.values())) == 4
    for c in ds.split("validation"):  # validation alarms: the last 20 % of the training recordings
        if c.label == "fire_alarm":
            later = [t.offset for t in ds.split("train") if t.path == c.path]
            assert c.offset >= max(later) + 1.0 - 1e-6
    assert not any("clock_alarm" in str(c.path) for c in ds.clips if c.speaker.startswith("esc50/"))
    assert sum(stats.dropped.values()) > 0 and stats.kept["fire_alarm"] == sum(c.label == "fire_alarm" for c in ds.clips)
    pinned = fire_alarm(data_root, max_speech_clips=10, test_sources=["325367__moonlightshadow__fire-house-alarm"])
    assert {c.speaker for c in pinned.split("test") if c.label == "fire_alarm"} == {"alarm/325367__moonlightshadow__fire-house-alarm"}


def test_holdout_recording_tests_on_that_alarm_and_trains_on_the_other_three(data_root):
    from tinyaudio.train.config import TrainConfig
    from tinyaudio.train.data import load_training_data

    stems = sorted(p.stem for p in (data_root / "fire_alarm" / "fire_alarm").glob("*.wav"))
    assert len(stems) == 4
    for stem in stems[1:3]:  # two folds of the leave-one-recording-out table (benchmarks/alarm_loro.py)
        ds = load_training_data(TrainConfig(dataset="fire_alarm", keyword="fire_alarm", model="cnn_resize32",
                                            features="stft_q15_124x129", holdout_recording=stem))
        alarms = {s: {Path(c.path).stem for c in ds.split(s) if c.label == "fire_alarm"} for s in ("train", "validation", "test")}
        assert alarms["test"] == {stem}
        assert alarms["train"] == alarms["validation"] == set(stems) - {stem}
    with pytest.raises(DatasetError, match=r"unknown fire-alarm source\(s\) \['nope'\]; choose from \['325367"):
        load_training_data(TrainConfig(dataset="fire_alarm", keyword="fire_alarm", model="cnn_resize32",
                                       features="stft_q15_124x129", holdout_recording="nope"))
