"""Streaming engine: ring buffer, incremental features == offline features, int8 path, smoothing, detector."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tinyaudio.errors import AudioError
from tinyaudio.features import PRESETS, compute_features
from tinyaudio.features import config as feature_config_module
from tinyaudio.runtime import Classifier
from tinyaudio.runtime.stream import (
    Detector,
    PosteriorSmoother,
    RingBuffer,
    StreamingEngine,
    StreamingFeatures,
    detections_from_track,
)

# -- ring buffer --------------------------------------------------------------------------


def test_ring_buffer_returns_what_was_written_for_any_block_sizes():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(20_000).astype(np.float32)
    rb, got, pos = RingBuffer(1000), [], 0
    while pos < len(x):
        n = int(rng.integers(0, 700))
        got.append(rb.read(max(0, len(rb) + n - rb.capacity)))  # make room, as a consumer keeping up does
        assert rb.write(x[pos : pos + n]) == 0
        pos += n
        k = int(rng.integers(0, len(rb) + 1))
        got.append(rb.read(k))
    got.append(rb.read(len(rb)))
    np.testing.assert_array_equal(np.concatenate(got), x)
    assert rb.written == len(x) and rb.overruns == 0 and rb.dropped == 0


def test_ring_buffer_counts_overruns_and_keeps_the_newest_audio():
    rb = RingBuffer(100)
    x = np.arange(250, dtype=np.float32)
    assert rb.write(x[:80]) == 0
    assert rb.write(x[80:150]) == 50  # 150 > 100: the 50 oldest are dropped
    assert rb.write(x[150:]) == 100  # a block larger than the buffer keeps its tail
    assert (rb.overruns, rb.dropped) == (2, 150)
    np.testing.assert_array_equal(rb.read(100), x[150:])
    with pytest.raises(ValueError, match="only 0 samples"):
        rb.read(1)


# -- incremental features -----------------------------------------------------------------

Q15_PRESETS = getattr(feature_config_module, "Q15_PRESETS", {})  # device frontend layouts, where present
CONFIGS = dict(PRESETS) | dict(Q15_PRESETS) | {
    "mfcc_top_db": dataclasses.replace(PRESETS["mfcc_49x10"], top_db=80.0),
    "logmel_clip_norm": dataclasses.replace(PRESETS["logmel_61x40"], normalization="clip"),
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_streaming_features_equal_offline_features(name, sc_stream):
    """Fed in random blocks, every window equals compute_features of the same samples."""
    config = CONFIGS[name]
    if str(config.kind).endswith("_q15"):
        pytest.importorskip("cmsisdsp")
    audio = sc_stream[0] if config.sample_rate == 16000 else sc_stream[0][::2].copy()
    audio = audio[: 6 * 16000]
    rng = np.random.default_rng(1)
    stream, frames, pos, windows = StreamingFeatures(config), [], 0, 0
    padded = np.pad(audio, (0, config.n_samples))
    while pos < len(audio):
        n = int(rng.integers(1, 2500))
        k = stream.push(audio[pos : pos + n])
        pos += n
        if k:
            frames.append(stream.window()[-min(k, config.n_frames) :])
        if k and stream.ready and not config.center:
            start = (stream.n_frames_total - config.n_frames) * config.hop_length
            offline = compute_features(padded[start : start + config.n_samples], config)
            np.testing.assert_allclose(stream.window(), offline, rtol=1e-5, atol=1e-4)
            windows += 1
    assert stream.ready
    if not config.center:
        assert windows > 10
    if config.top_db is None and config.normalization == "none":
        # frame by frame against the whole stream at once (center pads only the stream's start)
        offline = compute_features(audio, config)
        frames = np.concatenate(frames)
        missing = len(offline) - len(frames)  # centred: the last frames need the right-hand padding
        assert missing == 0 if not config.center else 0 < missing <= (config.n_fft // 2) // config.hop_length + 1
        np.testing.assert_allclose(frames, offline[: len(frames)], rtol=1e-5, atol=1e-4)


def test_streaming_features_reject_bad_blocks():
    stream = StreamingFeatures(PRESETS["mfcc_49x10"])
    with pytest.raises(AudioError, match="NaN"):
        stream.push(np.array([0.0, np.nan], dtype=np.float32))
    with pytest.raises(AudioError, match="1-D float"):
        stream.push(np.zeros(10, dtype=np.int16))


# -- engine and int8 path -----------------------------------------------------------------


def test_engine_int8_scores_equal_offline_classifier_on_the_same_window(tiny_run, sc_stream):
    clf = Classifier(tiny_run)
    config = clf.feature_config
    audio = sc_stream[0][: 4 * 16000]
    engine = StreamingEngine(clf, hop_s=0.1)
    assert engine.hop_samples == 1600
    results = list(engine.run(audio, block_size=777))
    assert len(results) == (len(audio) - 16000) // 1600 + 1
    for r in results[::5]:
        end = int(round(r.time_s * 16000))
        n_frames = 1 + (end - config.n_fft) // config.hop_length
        start = (n_frames - config.n_frames) * config.hop_length
        feats = compute_features(audio[start : start + config.n_samples], config)
        np.testing.assert_array_equal(r.scores, clf.scores(feats[None])[0])  # bit-exact int8 path
    assert engine.timer.summary()["total_ms"]["p50"] > 0
    assert set(engine.timer.summary()["inference_ms"]) == {"p50", "p90", "p99", "mean", "max"}


def test_engine_results_do_not_depend_on_block_size(tiny_detector_run, sc_stream):
    clf = Classifier(tiny_detector_run)
    audio = sc_stream[0][: 3 * 16000]
    a = [r.smoothed for r in StreamingEngine(clf).run(audio, block_size=160)]
    b = [r.smoothed for r in StreamingEngine(clf).run(audio, block_size=4096)]
    assert len(a) == len(b) == (len(audio) - 16000) // 320 + 1
    np.testing.assert_array_equal(np.array(a), np.array(b))
    assert np.array(a).shape[1] == 2  # sigmoid detector -> [p(other), p(stop)]


def test_engine_hop_is_whole_feature_hops():
    class Fake:
        feature_config = PRESETS["stft_124x129"]  # 8 ms feature hop
        labels = ["a", "b"]

    assert StreamingEngine(Fake()).hop_samples == 3 * 128  # >= 20 ms -> 24 ms
    assert StreamingEngine(Fake(), hop_s=0.008).hop_samples == 128


# -- smoothing and detector -----------------------------------------------------------------


def test_smoother_averages_over_its_time_window():
    sm = PosteriorSmoother(window_s=0.1)
    for i in range(10):
        out = sm.update(i * 0.02, np.array([i, 0.0]))
    assert len(sm) == 5  # times 0.1 .. 0.18
    np.testing.assert_allclose(out, [np.mean([5, 6, 7, 8, 9]), 0.0])


def _track(labels_scores, n_labels=3):
    out = np.zeros((len(labels_scores), n_labels))
    for i, (lab, s) in enumerate(labels_scores):
        out[i, lab] = s
        out[i, (lab + 1) % n_labels] = 1 - s
    return out


def test_detector_threshold_min_count_suppression_and_ignored_labels():
    det = Detector(["_silence_", "yes", "no"], threshold=0.6, min_count=3, suppression_s=1.0)
    assert det.update(0.0, np.array([0.0, 0.9, 0.1]), count=2) is None  # too few hops
    hit = det.update(0.02, np.array([0.0, 0.9, 0.1]), count=3)
    assert hit is not None and hit.label == "yes" and hit.score == pytest.approx(0.9)
    assert det.update(0.5, np.array([0.0, 0.1, 0.9]), count=3) is None  # suppressed
    assert det.update(1.1, np.array([0.0, 0.1, 0.9]), count=3).label == "no"
    assert det.update(3.0, np.array([0.95, 0.05, 0.0]), count=3) is None  # _silence_ never fires
    assert det.update(4.0, np.array([0.0, 0.55, 0.45]), count=3) is None  # below threshold


def test_detector_replay_equals_online():
    rng = np.random.default_rng(3)
    times = np.arange(2000) * 0.02
    smoothed = rng.dirichlet([0.3, 0.3, 0.3], size=2000)
    counts = np.minimum(np.arange(2000) + 1, 25)
    online = Detector(["_silence_", "yes", "no"], threshold=0.8, min_count=3, suppression_s=0.5)
    got = [online.update(t, s, c) for t, s, c in zip(times, smoothed, counts)]
    got = [d for d in got if d is not None]
    replay = detections_from_track(times, smoothed, counts, Detector(["_silence_", "yes", "no"], threshold=0.8,
                                                                      min_count=3, suppression_s=0.5))
    assert got == replay and len(got) > 10


def test_wav_source_reads_from_disk_in_chunks_and_gives_what_load_audio_gives(data_root, tmp_path):
    """An hour-long file must not be read whole: chunks are decoded (and resampled) as blocks go."""
    from tinyaudio.data.audio import load_audio, stream_audio
    from tinyaudio.errors import AudioError, ConfigError
    from tinyaudio.runtime.listen import WavSource

    flac = sorted((data_root / "librispeech_test-other_10spk").rglob("*.flac"))[0]
    whole = load_audio(flac, 8000)  # 16 kHz file resampled
    chunks = list(stream_audio(flac, 8000, chunk_frames=4000))
    assert len(chunks) > 10 and max(len(c) for c in chunks) <= 4000  # ~2000 per chunk, the resampler delays some
    np.testing.assert_array_equal(np.concatenate(chunks), whole)
    source = WavSource(flac, 8000, block_size=333, realtime=False, pad_end_s=0.5)
    blocks = list(source.blocks())
    assert all(len(b) == 333 for b in blocks[:-1]) and 0 < len(blocks[-1]) <= 333
    joined = np.concatenate(blocks)
    np.testing.assert_array_equal(joined[: len(whole)], whole)
    assert len(joined) == len(whole) + 4000 and not joined[len(whole):].any()
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF0000WAVEjunk")
    with pytest.raises(AudioError, match="bad.wav: cannot decode audio"):
        WavSource(bad, 16000)
    with pytest.raises(ConfigError, match="block_size=0: give the samples per audio block, >= 1"):
        WavSource(flac, 16000, block_size=0)
