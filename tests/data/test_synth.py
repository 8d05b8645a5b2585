"""Synthetic speech: every offline engine, seeded, level-normalised 1 s clips; clear errors."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from typer.testing import CliRunner

from tinyaudio.cli import app
from tinyaudio.data import synth
from tinyaudio.data.loaders import folder
from tinyaudio.errors import SynthesisError

needs_engines = pytest.mark.skipif(not all(synth._engine_installed(e) for e in ("flite", "espeak-ng", "festival")),
                                   reason="flite, espeak-ng and festival are Debian packages (.ci/run installs them)")


@needs_engines
def test_every_engine_speaks_in_turn_seeded_and_level_normalised():
    engines = {v.engine for v in synth.voices()}
    assert {"flite", "festival", "espeak-ng"} <= engines
    clips, meta = synth.synthesize("stop", 8, seed=3)
    again, _ = synth.synthesize("stop", 8, seed=3)
    for a, b in zip(clips, again):
        np.testing.assert_array_equal(a, b)
    assert [m["engine"] for m in meta[: len(engines)]] == [e for e in synth.ENGINES if e in engines]
    for clip in clips:
        assert clip.shape == (16000,) and clip.dtype == np.float32
        active = clip[np.abs(clip) > 1e-4]
        rms_db = 20 * np.log10(np.sqrt(np.mean(active.astype(np.float64) ** 2)))
        assert -40 < rms_db < -8 and np.abs(clip).max() <= 0.9
        assert 0.1 < len(active) / 16000 < 1.0  # trimmed word, padded into the clip


@needs_engines
def test_near_miss_words_sound_close_but_never_contain_the_keyword():
    words = synth.near_miss_words("stop")
    assert {"top", "shop", "step"} <= set(words) and len(words) == 20
    assert "stop" not in words and "stopped" not in words


def test_bad_text_and_missing_engines_are_one_line_errors(monkeypatch):
    with pytest.raises(SynthesisError, match=r"^nothing to synthesize: give a word, e.g. `tinyaudio synthesize stop`$"):
        synth.check_text("  ")
    with pytest.raises(SynthesisError, match=r"^'stöp': the voices are English; use English letters \(a-z\), spaces, hyphens or apostrophes$"):
        synth.check_text("stöp")
    with pytest.raises(SynthesisError, match="^'停': the voices are English"):
        synth.check_text("停")
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(SynthesisError, match=r"^TTS engine flite is not installed: apt install flite$"):
        synth.voices(["flite"])
    with pytest.raises(SynthesisError, match=r"^unknown TTS engine 'say'; use flite, festival, espeak-ng, piper$"):
        synth.voices(["say"])


@needs_engines
def test_cli_writes_an_ordinary_label_folder_and_refuses_bad_input(tmp_path):
    out = tmp_path / "words"
    res = CliRunner().invoke(app, ["synthesize", "stop", "--n", "6", "--near-misses", "4", "--out", str(out), "--engine", "flite"])
    assert res.exit_code == 0, res.output
    dataset = folder(out, validation_percent=20, test_percent=20)
    assert dataset.labels == ("_other_", "stop") and len(dataset.clips) == 10
    assert (out / "synthesis.json").exists()
    for args, message in [(["", "--out", str(tmp_path / "a")], "nothing to synthesize"),
                          (["stöp", "--out", str(tmp_path / "a")], "the voices are English"),
                          (["stop", "--engine", "say", "--out", str(tmp_path / "a")], "unknown TTS engine 'say'"),
                          (["stop", "--out", str(out)], "synthetic speech folder exists")]:
        res = CliRunner().invoke(app, ["synthesize", *args])
        assert res.exit_code == 2 and message in res.output and len(res.output.strip().splitlines()) == 1, res.output
        assert not (tmp_path / "a").exists()


def test_trim_and_perturb_keep_the_word_and_place_it_in_one_second():
    sr = 16000
    t = np.arange(int(0.3 * sr)) / sr
    word = np.concatenate([np.zeros(sr // 2), 0.5 * np.sin(2 * np.pi * 440 * t), np.zeros(sr // 2)]).astype(np.float32)
    trimmed = synth.trim_silence(word, sr)
    assert abs(len(trimmed) - len(t)) <= 0.02 * sr
    clip = synth.perturb(word, sr, np.random.default_rng(0), speed=(1.0, 1.0), level_dbfs=(-20.0, -20.0))
    loud = np.flatnonzero(np.abs(clip) > 1e-3)
    assert clip.shape == (sr,) and abs((loud[-1] - loud[0]) / sr - 0.3) < 0.02
    assert 20 * np.log10(np.sqrt(np.mean(clip[loud[0] : loud[-1]].astype(np.float64) ** 2))) == pytest.approx(-20, abs=0.5)


@needs_engines
def test_a_detector_for_a_word_nobody_recorded_trains_on_synthetic_positives_only(data_root, tmp_path, monkeypatch):
    from tinyaudio.train import TrainConfig
    from tinyaudio.train.data import load_training_data

    monkeypatch.setenv("TINYAUDIO_CACHE", str(tmp_path / "cache"))
    config = TrainConfig(dataset="speech_commands", keyword="stop", features="mfcc_49x10", synthetic=20,
                         synthetic_near_misses=10, real_positives=False)
    dataset = load_training_data(config, data_root)
    real = load_training_data(TrainConfig(dataset="speech_commands", keyword="stop", features="mfcc_49x10"), data_root)
    stops = [c for c in dataset.clips if c.label == "stop"]
    assert all(c.speaker.startswith("synthetic:") for c in stops if c.split != "test")
    assert len([c for c in stops if c.split != "test"]) == 20 and {c.split for c in stops} == {"train", "validation", "test"}
    assert dataset.split("test") == real.split("test")  # scored on real recordings only
    recordings = load_training_data(config.recordings_only(), data_root)  # `evaluate --recordings-only`
    assert recordings.split("validation") == real.split("validation")
    assert len([c for c in recordings.split("validation") if c.label == "stop"]) == 27  # real validation speakers
    near = [c for c in dataset.clips if c.speaker.startswith("synthetic:") and c.label == "_other_"]
    assert len(near) == 10
    cached = list((tmp_path / "cache" / "synth").iterdir())
    assert len(cached) == 1 and (cached[0] / "synthesis.json").exists()
    assert load_training_data(config, data_root).clips == dataset.clips  # made once, then reused


@needs_engines
def test_synthetic_voices_for_every_digit_join_fsdd_training_not_its_test(data_root, tmp_path, monkeypatch):
    from tinyaudio.train import TrainConfig
    from tinyaudio.train.data import load_training_data

    monkeypatch.setenv("TINYAUDIO_CACHE", str(tmp_path / "cache"))
    config = TrainConfig(dataset="fsdd", holdout_speaker="george", synthetic=10)
    dataset = load_training_data(config, data_root)
    real = load_training_data(TrainConfig(dataset="fsdd", holdout_speaker="george"), data_root)
    added = dataset.clips[len(real.clips):]
    assert dataset.labels == real.labels and dataset.clips[: len(real.clips)] == real.clips
    assert len(added) == 100 and {c.label for c in added} == set(real.labels)  # 10 renderings of each digit
    assert all(c.speaker.startswith("synthetic:") for c in added)
    assert [c.split for c in added].count("validation") == 10 and "test" not in {c.split for c in added}
    said = {c.label: c.path.parent.name for c in added}
    assert said["0"] == "zero" and said["7"] == "seven"  # FSDD's labels are said as number words
