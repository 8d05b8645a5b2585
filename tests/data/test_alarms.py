"""Synthetic smoke alarms: the tone, the pattern and the room they were drawn with, seeded."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

pytest.importorskip("pyroomacoustics", reason="synthetic alarms need pip install 'tinyaudio[synth]'")

from tinyaudio.data.alarms import AlarmSpec, draw_spec, render_alarm, synthesize_alarms  # noqa: E402
from tinyaudio.errors import SynthesisError  # noqa: E402


def test_temporal_three_alarm_has_its_tone_pattern_and_level():
    spec = AlarmSpec(f0_hz=3100.0, rolloff=2.0, warble=0.0, pattern="temporal_three", jitter=0.0, level_dbfs=-12.0,
                     room_dim_m=(5.0, 4.0, 2.8), rt60_s=0.2, duration_s=8.0)
    x = render_alarm(spec, np.random.default_rng(0))
    assert x.shape == (8 * 16000,) and x.dtype == np.float32
    assert 20 * np.log10(np.abs(x).max()) == pytest.approx(-12.0, abs=0.01)
    spectrum = np.abs(np.fft.rfft(x))
    assert abs(np.argmax(spectrum) * 16000 / len(x) - 3100.0) < 5.0  # the fundamental dominates
    frame = 1600  # 0.1 s frames: three 0.5 s pulses then 1.5 s off, every 4 s
    level = np.sqrt(np.mean(x[: len(x) // frame * frame].reshape(-1, frame) ** 2, axis=1))
    on = level > 0.1 * level.max()
    assert 0.3 < on.mean() < 0.5  # 1.5 s of every 4 s, plus the reverberant tails


def test_alarms_are_seeded_and_cover_the_patterns():
    a, specs = synthesize_alarms(12, duration_s=2.0, seed=5)
    b, _ = synthesize_alarms(12, duration_s=2.0, seed=5)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert {s["pattern"] for s in specs} >= {"temporal_three", "beeping"}
    assert all(2000 <= s["f0_hz"] <= 5000 and 0.15 <= s["rt60_s"] <= 0.9 for s in specs)
    with pytest.raises(SynthesisError, match="alarm fundamental 9000 Hz is not below Nyquist at 16000 Hz"):
        render_alarm(dataclasses.replace(draw_spec(np.random.default_rng(0)), f0_hz=9000.0), np.random.default_rng(0))


def test_fire_alarm_data_with_synthetic_alarms_only_keeps_the_real_test_recording(data_root, tmp_path, monkeypatch):
    from tinyaudio.data.soundbites import fire_alarm

    monkeypatch.setenv("TINYAUDIO_CACHE", str(tmp_path))
    real = fire_alarm(data_root)
    synthetic = fire_alarm(data_root, synthetic=10, real_positives=False)
    positives = [c for c in synthetic.clips if c.label == "fire_alarm"]
    assert {c.split for c in positives if c.speaker.startswith("alarm/")} == {"test"}
    assert {c.split for c in positives if c.speaker.startswith("synthetic/")} == {"train", "validation"}
    assert synthetic.split("test") == real.split("test")
    assert len(list((tmp_path / "synth" / "alarms-v2-10-0" / "smoke_alarm").glob("*.wav"))) == 10


def test_fundamentals_cover_detectors_at_the_edges_of_the_usual_band():
    # A real detector at 2.49 kHz must fall inside the draw, not on its edge (generator version 2).
    f0 = np.array([draw_spec(np.random.default_rng(seed)).f0_hz for seed in range(400)])
    assert 2000 <= f0.min() < 2300 and 4700 < f0.max() <= 5000
    assert 0.1 < np.mean(f0 < 2600) < 0.3
