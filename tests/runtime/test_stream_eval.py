"""Streaming evaluation: generated streams, scoring against the label track, the DET sweep, the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from tinyaudio.cli import app
from tinyaudio.data import Clip
from tinyaudio.runtime.stream import Detection
from tinyaudio.evaluate.stream import (
    StreamEvent,
    StreamSection,
    active_power,
    generate_stream,
    score_detections,
    stream_eval,
    stream_sections,
)


def _clips(data_root, words=("yes", "stop", "_unknown_"), n=4):
    base = data_root / "speech_commands_v0.02_test_dev"
    return [Clip(p, w, p.stem.split("_nohash_")[0], "test") for w in words for p in sorted((base / w).glob("*.wav"))[:n]]


def test_generated_stream_places_clips_at_the_stated_snr(data_root):
    clips = _clips(data_root)
    noise = sorted((data_root / "speech_commands_background_noise").glob("*.wav"))[:2]
    samples, events = generate_stream(clips, noise, duration_s=60, sample_rate=16000, snrs_db=(0.0, 20.0), seed=1)
    assert samples.shape == (60 * 16000,) and samples.dtype == np.float32
    assert 14 <= len(events) <= 24
    starts = np.array([e.start_s for e in events])
    assert np.all(np.diff(starts) >= 2.5) and starts[0] >= 1.0 and events[-1].end_s <= 60
    assert {e.snr_db for e in events} == {0.0, 20.0}
    clean, _ = generate_stream(clips, noise, duration_s=60, sample_rate=16000, snrs_db=(0.0, 20.0), seed=1, noise_rms=0.02)
    np.testing.assert_array_equal(samples, clean)  # seeded
    # the 20 dB clips are ~100x louder than the noise around them (active-frame power)
    e = next(e for e in events if e.snr_db == 20.0)
    seg = samples[int(e.start_s * 16000) : int(e.end_s * 16000)]
    assert 10 * np.log10(active_power(seg, 16000) / 0.02**2) > 15


def test_keyword_share_sets_the_mix(data_root):
    clips = _clips(data_root, n=6)
    noise = sorted((data_root / "speech_commands_background_noise").glob("*.wav"))[:1]
    _, events = generate_stream(clips, noise, duration_s=300, sample_rate=16000, keywords=["stop"], keyword_share=0.8, seed=0)
    share = np.mean([e.label == "stop" for e in events])
    assert 0.65 < share < 0.95


def test_scoring_counts_true_false_accepts_and_rejects():
    events = [StreamEvent("yes", 10.0, 11.0, 5.0, "a"), StreamEvent("no", 20.0, 21.0, 5.0, "b"),
              StreamEvent("_unknown_", 30.0, 31.0, 0.0, "c"), StreamEvent("yes", 40.0, 41.0, 0.0, "d")]
    dets = [Detection(10.8, "yes", 0.9),  # true accept
            Detection(11.5, "yes", 0.9),  # second hit on the same clip: false accept
            Detection(20.7, "yes", 0.9),  # wrong keyword: a substitution, and "no" is rejected
            Detection(30.5, "no", 0.9),  # on a non-keyword: false accept
            Detection(50.0, "yes", 0.9)]  # on noise: false accept
    s = score_detections(dets, events, ["yes", "no"], duration_s=3600.0, tolerance_s=1.0)
    assert (s["keyword_events"], s["true_accepts"], s["false_rejects"], s["false_accepts"], s["substitutions"]) == (3, 1, 2, 3, 1)
    assert s["false_accepts_by_kind"] == {"speech": 0, "sounds": 0, "other_words": 1, "noise": 1, "repeat": 1}
    assert s["frr_percent"] == pytest.approx(66.67) and s["false_accepts_per_hour"] == 3.0 and s["substitutions_per_hour"] == 1.0
    assert s["frr_percent_by_snr"] == {"0": 100.0, "5": 50.0}


def test_false_accepts_are_counted_per_negative_source_with_its_hours():
    events = [StreamEvent("stop", 10.0, 11.0, 5.0, "a"), StreamEvent("_unknown_", 20.0, 21.0, 5.0, "b"),
              StreamEvent("_speech_", 100.0, 460.0, 10.0, "c"), StreamEvent("_sound_", 500.0, 505.0, 10.0, "d")]
    dets = [Detection(10.5, "stop", 0.9), Detection(150.0, "stop", 0.9), Detection(300.0, "stop", 0.9),
            Detection(502.0, "stop", 0.9), Detection(600.0, "stop", 0.9)]
    s = score_detections(dets, events, ["stop"], duration_s=3600.0, tolerance_s=1.0)
    assert s["false_accepts_by_kind"] == {"speech": 2, "sounds": 1, "other_words": 0, "noise": 1, "repeat": 0}
    assert s["hours_by_source"] == {"speech": pytest.approx(361 / 3600, abs=1e-4), "sounds": pytest.approx(6 / 3600, abs=1e-4),
                                    "other_words": pytest.approx(2 / 3600, abs=1e-4),
                                    "noise": pytest.approx((3600 - 361 - 6 - 2 - 2) / 3600, abs=1e-4)}
    assert s["false_accepts_per_hour_by_source"]["speech"] == pytest.approx(2 * 3600 / 361, rel=1e-3)
    assert s["false_accepts_per_hour_by_source"]["other_words"] == 0.0
    assert s["false_accepts"] == 4 and s["frr_percent"] == 0.0


def test_stream_sections_play_running_speech_and_sounds_after_the_clips(data_root):
    clips = _clips(data_root)
    noise = sorted((data_root / "speech_commands_background_noise").glob("*.wav"))[:1]
    sections = stream_sections("test", speech_share=0.4, sound_share=0.2, data_dir=data_root)
    assert [sec.label for sec in sections] == ["_speech_", "_sound_"]
    assert all("librispeech_test-other" in f for f in sections[0].files) and len(sections[0].files) == 100
    samples, events = generate_stream(clips, noise, duration_s=100, sample_rate=16000, sections=sections, seed=3)
    labels = [e.label for e in events]
    first_speech = labels.index("_speech_")
    assert set(labels[:first_speech]) <= {"yes", "stop", "_unknown_"} and events[first_speech - 1].end_s <= 40.0
    speech = [e for e in events if e.label == "_speech_"]
    sounds = [e for e in events if e.label == "_sound_"]
    assert 40.0 <= speech[0].start_s < 41.3 and speech[-1].end_s <= 80.0 and sum(e.end_s - e.start_s for e in speech) > 30
    assert 80.0 <= sounds[0].start_s and sounds[-1].end_s <= 100.0 and all(e.path.endswith(".flac") for e in sounds)
    assert samples[int(45 * 16000) : int(75 * 16000)].std() > 2 * 0.02  # speech above the -34 dBFS background
    # validation streams never use test audio: other speakers, other ESC-50 source recordings
    val = stream_sections("validation", speech_share=0.4, sound_share=0.2, data_dir=data_root)
    assert not set(val[0].files) & set(sections[0].files) and not set(val[1].files) & set(sections[1].files)
    assert all("test-other" not in f for f in val[0].files)
    with pytest.raises(ValueError, match="each must be >= 0 and together < 1"):
        generate_stream(clips, noise, duration_s=10, sample_rate=16000, sections=[StreamSection("_speech_", ("x",), 1.0)])


def test_stream_eval_writes_results_and_det_to_the_run_folder(tiny_detector_run, data_root):
    r = stream_eval(tiny_detector_run, duration_s=40, snrs_db=(10.0,), data_dir=data_root, seed=2, speech_share=0.0, sound_share=0.0)
    saved = json.loads((tiny_detector_run / "stream_eval.json").read_text())
    assert saved["keywords"] == ["stop"] and saved["stream"]["duration_s"] == 40
    assert saved["stream"]["keyword_clips"] >= 3 and saved["engine"]["hops"] == (40 * 16000 - 16000) // 320 + 1
    ths = [p["threshold"] for p in saved["det"]]
    assert ths == sorted(ths) and 0.7 in ths
    assert all(0 <= p["frr_percent"] <= 100 for p in saved["det"])
    assert saved["timing_ms"]["total_ms"]["p50"] > 0 and saved["overruns"] == 0
    if r["det_png"]:
        assert (tiny_detector_run / "stream_det.png").stat().st_size > 1000


def test_cli_listen_wav_json_lines(tiny_run, stop_wav):
    res = CliRunner().invoke(app, ["listen", str(tiny_run), "--wav", str(stop_wav), "--fast", "--json", "--threshold", "0.0",
                                   "--min-count", "1"])
    assert res.exit_code == 0, res.output
    lines = [json.loads(line) for line in res.output.splitlines() if line.startswith("{")]
    summary = lines[-1]
    assert summary["type"] == "summary" and summary["hops"] == (2 * 16000 - 16000) // 320 + 1  # 1 s clip + 1 s flush
    assert summary["overruns"] == 0 and summary["peak_rss_mb"] > 0 and "p99" in summary["timing_ms"]["total_ms"]
    assert all(d["type"] == "detection" and d["label"] in ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
               for d in lines[:-1])


def test_cli_listen_without_a_microphone_says_so_in_one_line(tiny_run, monkeypatch):
    import tinyaudio.runtime.listen as listen_mod

    def no_portaudio():
        raise listen_mod.MicrophoneError("PortAudio not found: `apt install libportaudio2` or use --wav FILE")

    monkeypatch.setattr(listen_mod, "_sounddevice", no_portaudio)
    res = CliRunner().invoke(app, ["listen", str(tiny_run)])
    assert res.exit_code == 2
    assert "PortAudio" in res.output and "--wav" in res.output and "Traceback" not in res.output


def test_cli_stream_eval_prints_the_table(tiny_run, data_root):
    res = CliRunner().invoke(app, ["stream-eval", str(tiny_run), "--minutes", "1", "--snr", "5", "--data-dir", str(data_root)])
    assert res.exit_code == 0, res.output
    assert "FRR %" in res.output and "FA/h" in res.output and "speech" in res.output and "sounds" in res.output
    saved = json.loads((tiny_run / "stream_eval.json").read_text())
    assert saved["stream"]["snrs_db"] == [5.0] and saved["stream"]["split"] == "test"
    hours = saved["at_threshold_0.7"]["hours_by_source"]
    assert hours["speech"] * 3600 == pytest.approx(15, abs=2.5) and hours["sounds"] * 3600 == pytest.approx(9, abs=2.5)
    assert {"_speech_", "_sound_"} <= set(saved["stream"]["clips_per_label"])


def test_cli_listen_live_line_logs_detections_and_summary(tiny_run, stop_wav):
    res = CliRunner().invoke(app, ["listen", str(tiny_run), "--wav", str(stop_wav), "--fast", "--threshold", "0.0", "--min-count", "1"])
    assert res.exit_code == 0, res.output
    assert "51 hops of 20 ms" in res.output and "overruns 0" in res.output and "peak memory" in res.output


def test_resmooth_equals_listening_again_with_that_window(tiny_run, sc_stream):
    from tinyaudio.evaluate.stream import listen_to, resmooth
    from tinyaudio.runtime import Classifier
    from tinyaudio.runtime.stream import DecisionRule, StreamingEngine

    samples, _ = sc_stream
    clf = Classifier(tiny_run)
    heard = listen_to(StreamingEngine(clf, rule=DecisionRule(smoothing_s=0.3)), samples)
    again = listen_to(StreamingEngine(clf, rule=DecisionRule(smoothing_s=0.8)), samples)
    replayed = resmooth(heard, 0.8)
    np.testing.assert_allclose(replayed.smoothed, again.smoothed, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(replayed.counts, again.counts)
    assert again.counts.max() == 40  # 0.8 s of 20 ms hops


def test_tune_detector_stores_the_rule_that_listen_stream_eval_and_export_use(tiny_detector_run, data_root, stop_wav):
    from tinyaudio.evaluate.detector import SMOOTHING_GRID, SUPPRESSION_GRID, tune_detector
    from tinyaudio.runtime.run_folder import RunFolder

    result = tune_detector(tiny_detector_run, target_fa_per_hour=60.0, duration_s=90, data_dir=data_root,
                           speech_share=0.3, sound_share=0.2)
    rule = RunFolder(tiny_detector_run).decision_rule()
    assert rule is not None and rule.to_dict() == result["rule"]
    assert rule.smoothing_s in SMOOTHING_GRID and rule.suppression_s in SUPPRESSION_GRID and rule.min_count == 3
    assert result["stream"]["split"] == "validation" and result["stream"]["recordings"]["speech"] > 0
    assert len(result["grid"]) == len(SMOOTHING_GRID) * len(SUPPRESSION_GRID)
    if result["reached"]:  # the lowest FRR among the rules within the budget
        assert result["validation"]["false_accepts_per_hour"] <= 60.0
        assert result["validation"]["frr_percent"] == min(g["frr_percent"] for g in result["grid"] if g["reached"])
    # stream-eval scores the stored rule on the test stream without choosing anything
    r = stream_eval(tiny_detector_run, duration_s=40, snrs_db=(10.0,), data_dir=data_root, seed=2,
                    speech_share=0.2, sound_share=0.1, write=False)
    assert r["rule_source"] == "detector.json" and r["rule"] == result["rule"] and "chosen" not in r
    assert r["at_rule"]["threshold"] == round(rule.threshold, 4)
    # listen uses it; an option on the command line overrides one field only
    res = CliRunner().invoke(app, ["listen", str(tiny_detector_run), "--wav", str(stop_wav), "--fast", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output.splitlines()[-1])["rule"] == result["rule"]
    res = CliRunner().invoke(app, ["listen", str(tiny_detector_run), "--wav", str(stop_wav), "--fast", "--json",
                                   "--suppression", "0.25"])
    assert json.loads(res.output.splitlines()[-1])["rule"] == {**result["rule"], "suppression_s": 0.25}
    res = CliRunner().invoke(app, ["listen", str(tiny_detector_run), "--wav", str(stop_wav), "--threshold", "-1"])
    assert res.exit_code == 2 and "Invalid value for '--threshold'" in res.output


def test_tune_detector_meets_per_source_budgets_and_refuses_bad_ones(tiny_detector_run, data_root):
    from tinyaudio.errors import ConfigError
    from tinyaudio.evaluate.detector import tune_detector

    result = tune_detector(tiny_detector_run, target_fa_per_hour=None, max_fa_per_source={"speech": 200.0, "noise": 400.0},
                           duration_s=60, data_dir=data_root, speech_share=0.4, sound_share=0.0)
    assert result["budgets_per_hour"] == {"speech": 200.0, "noise": 400.0}
    if result["reached"]:
        fa = result["validation"]["false_accepts_per_hour_by_source"]
        assert fa["speech"] <= 200.0 and (fa["noise"] is None or fa["noise"] <= 400.0)
    with pytest.raises(ConfigError, match="false-accept budget for 'music': sources are speech, sounds, other_words, noise"):
        tune_detector(tiny_detector_run, max_fa_per_source={"music": 1.0}, duration_s=60, data_dir=data_root)
    res = CliRunner().invoke(app, ["tune-detector", str(tiny_detector_run), "--max-fa", "speech:5"])
    assert res.exit_code == 2 and "--max-fa 'speech:5': write SOURCE=N, e.g. speech=5" in res.output


def test_save_stream_writes_a_new_folder_and_replaces_only_its_own(tiny_detector_run, data_root, tmp_path):
    """--save-stream never writes into a folder of the user's: a new folder, replaced only with
    --overwrite and only while it holds nothing but what tinyaudio wrote there."""
    from tinyaudio.errors import FolderExistsError

    out = tmp_path / "stream"
    kwargs = dict(duration_s=20, snrs_db=(10.0,), data_dir=data_root, seed=2, speech_share=0.0, sound_share=0.0,
                  write=False, save_stream=out)
    stream_eval(tiny_detector_run, **kwargs)
    labels = (out / "stream_labels.txt").read_text().splitlines()
    assert labels and all(line.count(",") == 1 for line in labels)
    assert sf.info(str(out / "stream.wav")).duration == pytest.approx(20.0, abs=0.01)

    with pytest.raises(FolderExistsError, match="stream folder exists; choose another --save-stream"):
        stream_eval(tiny_detector_run, **kwargs)
    stream_eval(tiny_detector_run, **kwargs, overwrite=True)  # its own folder: replaced
    (out / "notes.txt").write_text("mine")
    with pytest.raises(FolderExistsError, match=r"holds files tinyaudio did not write \(notes.txt\)"):
        stream_eval(tiny_detector_run, **kwargs, overwrite=True)
    assert (out / "notes.txt").read_text() == "mine" and (out / "stream.wav").exists()
