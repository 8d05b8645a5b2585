"""Streaming evaluation: long noisy test streams with a ground-truth track, FRR, false accepts / hour, DET.

A model that is 98 % accurate on 1 s clips can still fire many times an hour, so it is measured
as it runs: held-out test clips are dropped into background noise at stated SNRs, the
`StreamingEngine` listens to the whole stream once, and its smoothed score track is replayed
through the `Detector` at every threshold of a sweep.

Runtime extra only (no TensorFlow); matplotlib, when installed, draws the DET curve PNG.

Source: the stream layout follows TensorFlow's
``tensorflow/examples/speech_commands/generate_streaming_test_wav.py`` (clips at a regular
stride with jitter over looped background noise, a label track of (label, time)) and the
scoring ``test_streaming_accuracy.py`` / ``accuracy_utils.py`` (a detection matches a word
within a time tolerance).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from tinyaudio.data.audio import load_audio
from tinyaudio.data.dataset import Clip
from tinyaudio.errors import ConfigError, DatasetError
from tinyaudio.paths import background_noise_dir, data_root
from tinyaudio.runtime.run_folder import CONFIG, DETECTOR, STREAM_DET, STREAM_EVAL, RunFolder
from tinyaudio.runtime.stream import DecisionRule, Detector, PosteriorSmoother, StreamingEngine, detections_from_track

RESULTS_FILE = STREAM_EVAL
DET_FILE = STREAM_DET


@dataclasses.dataclass(frozen=True)
class StreamEvent:
    """One clip placed in a stream: its label, where it starts / ends (s) and its SNR (dB)."""

    label: str
    start_s: float
    end_s: float
    snr_db: float
    path: str


#: Labels of the events of a `StreamSection` and the negative source each one counts as.
SECTION_SOURCES = {"_speech_": "speech", "_sound_": "sounds"}
#: Negative sources a stream reports false accepts for, besides keywords.
NEGATIVE_SOURCES = ("speech", "sounds", "other_words", "noise")


@dataclasses.dataclass(frozen=True)
class StreamSection:
    """Whole recordings played back to back in their own part of a stream, over the background.

    Attributes:
        label: ``"_speech_"`` (running speech) or ``"_sound_"`` (everyday sounds): the event
            label, a key of `SECTION_SOURCES`.
        files: the recordings, used in a shuffled order and repeated when the section is longer.
        share: fraction of the stream's duration the section takes (0 leaves it out).
        gap_s: pause between recordings, uniform in this range (seconds).
    """

    label: str
    files: tuple[str, ...]
    share: float
    gap_s: tuple[float, float] = (0.3, 1.2)


def active_power(samples: np.ndarray, sample_rate: int, *, frame_s: float = 0.02, range_db: float = 30.0) -> float:
    """Mean power of the frames within ``range_db`` of the loudest frame (the spoken part of a clip).

    Args:
        samples: float32 audio, shape (n,).

    Returns:
        mean of ``x**2`` over 20 ms frames whose power is at least ``max_power * 10**(-range_db/10)``;
        0.0 for digital silence.
    """
    n = max(1, int(frame_s * sample_rate))
    frames = samples[: len(samples) // n * n].reshape(-1, n).astype(np.float64)
    power = (frames**2).mean(axis=1)
    if not len(power) or power.max() <= 0:
        return 0.0
    return float(power[power >= power.max() * 10 ** (-range_db / 10)].mean())


def background_track(noise_files: Sequence[str | os.PathLike], n_samples: int, sample_rate: int, rng: np.random.Generator,
                     *, noise_rms: float = 0.02, segment_s: tuple[float, float] = (8.0, 30.0), fade_s: float = 0.02) -> np.ndarray:
    """Loop random segments of the noise files to ``n_samples``, each scaled to RMS ``noise_rms``.

    Segments of ``segment_s`` seconds start at random offsets, fade in / out over ``fade_s``
    (no clicks for the model to fire on) and follow each other without gaps.

    Returns:
        float32, shape (n_samples,).
    """
    noises = [load_audio(p, sample_rate) for p in noise_files]
    if not noises:
        raise DatasetError("no background-noise files given; pass the speech_commands_background_noise folder")
    out = np.zeros(n_samples, dtype=np.float32)
    fade = np.linspace(0.0, 1.0, max(1, int(fade_s * sample_rate)), dtype=np.float32)
    pos = 0
    while pos < n_samples:
        noise = noises[int(rng.integers(len(noises)))]
        length = min(int(rng.uniform(*segment_s) * sample_rate), len(noise), n_samples - pos)
        start = int(rng.integers(0, len(noise) - length + 1))
        seg = noise[start : start + length].copy()
        rms = float(np.sqrt(np.mean(seg.astype(np.float64) ** 2)))
        seg *= np.float32(noise_rms / rms) if rms > 0 else np.float32(0)
        k = min(len(fade), len(seg) // 2)
        if k:
            seg[:k] *= fade[:k]
            seg[-k:] *= fade[:k][::-1]
        out[pos : pos + length] = seg
        pos += length
    return out


def generate_stream(clips: Sequence[Clip], noise_files: Sequence[str | os.PathLike], *, duration_s: float, sample_rate: int,
                    snrs_db: Sequence[float] = (0.0, 5.0, 10.0, 20.0), stride_s: tuple[float, float] = (2.5, 3.5),
                    keywords: Sequence[str] | None = None, keyword_share: float | None = None, noise_rms: float = 0.02,
                    sections: Sequence[StreamSection] = (), seed: int = 0) -> tuple[np.ndarray, list[StreamEvent]]:
    """A long stream of clips over background noise with its ground-truth event track.

    The stream starts with isolated clips at a regular stride; each of ``sections`` (running
    speech, everyday sounds) then takes its ``share`` of the duration, in order.

    Args:
        clips: the held-out clips to place (each used as often as needed; ``_silence_`` excluded).
        noise_files: background recordings, looped in random segments (`background_track`).
        duration_s: stream length, seconds.
        sample_rate: Hz.
        snrs_db: each clip gets one of these SNRs (dB, clip active power / noise power), in turn.
        stride_s: start-to-start spacing of clips, uniform in this range (seconds); the lower end
            must exceed 2 s so one detection can match only one clip.
        keywords, keyword_share: if both set, this share of the clips has a label in ``keywords``
            (e.g. 0.5 for a one-keyword detector); otherwise clips are drawn uniformly.
        noise_rms: background RMS (0.02 = -34 dBFS).
        sections: `StreamSection` parts after the clips; each recording is mixed at the next SNR
            of ``snrs_db`` like a clip.
        seed: seeds the whole stream.

    Returns:
        (samples float32 (n,), events in time order). Samples are clipped to [-1, 1].
    """
    rng = np.random.default_rng(seed)
    pool = [c for c in clips if c.label != "_silence_"]
    if not pool:
        raise DatasetError("no test clips to build a stream from")
    n = int(round(duration_s * sample_rate))
    samples = background_track(noise_files, n, sample_rate, rng, noise_rms=noise_rms)
    kw_pool = [c for c in pool if keywords is not None and c.label in keywords]
    other_pool = [c for c in pool if keywords is None or c.label not in keywords]
    events: list[StreamEvent] = []
    start = rng.uniform(1.0, 2.0)  # the engine needs one clip of audio before its first result
    cache: dict[tuple[str, float], np.ndarray] = {}

    def mix(audio: np.ndarray, start_s: float, label: str, path: str) -> float:
        """Add ``audio`` at ``start_s`` at the next SNR; returns where it ends (s)."""
        snr = float(snrs_db[len(events) % len(snrs_db)])
        a = int(start_s * sample_rate)
        seg = samples[a : a + len(audio)]
        speech_power = active_power(audio, sample_rate)
        noise_power = float(np.mean(seg.astype(np.float64) ** 2)) or noise_rms**2
        gain = np.sqrt(noise_power * 10 ** (snr / 10) / speech_power) if speech_power > 0 else 0.0
        seg += (audio[: len(seg)] * gain).astype(np.float32)
        end_s = round(start_s + len(seg) / sample_rate, 4)
        events.append(StreamEvent(label, round(start_s, 4), end_s, snr, path))
        return end_s

    shares = [sec.share for sec in sections]
    if any(sh < 0 for sh in shares) or sum(shares) >= 1:
        raise ConfigError(f"stream section shares {shares}: each must be >= 0 and together < 1 (the rest is clips)")
    clips_end_s = duration_s * (1 - sum(shares))
    while start + 1.0 < clips_end_s:
        if keyword_share is not None and kw_pool and other_pool:
            source = kw_pool if rng.random() < keyword_share else other_pool
        else:
            source = pool
        clip = source[int(rng.integers(len(source)))]
        key = (str(clip.path), clip.offset)
        if key not in cache:
            cache[key] = clip.load(sample_rate, sample_rate)
        mix(cache[key], start, clip.label, str(clip.path))
        start += rng.uniform(*stride_s)
    section_start = clips_end_s
    for sec in sections:
        section_end = section_start + sec.share * duration_s
        order: list[str] = []
        t = section_start + rng.uniform(*sec.gap_s)
        while sec.files and t + 1.0 < section_end:
            if not order:
                order = [sec.files[j] for j in rng.permutation(len(sec.files))]
            path = order.pop()
            audio = load_audio(path, sample_rate)[: int((section_end - t) * sample_rate)]
            t = mix(audio, t, sec.label, str(path)) + rng.uniform(*sec.gap_s)
        section_start = section_end
    np.clip(samples, -1.0, 1.0, out=samples)
    return samples, events


@dataclasses.dataclass
class ScoreTrack:
    """What the engine said at every hop: times (s), smoothed scores (n_hops, n_labels), window
    counts (n_hops,), and the raw model scores (n_hops, n_labels) that `resmooth` re-averages."""

    times: np.ndarray
    smoothed: np.ndarray
    counts: np.ndarray
    scores: np.ndarray


def listen_to(engine: StreamingEngine, samples: np.ndarray, *, block_size: int = 512,
              progress: Callable[[float], None] | None = None) -> ScoreTrack:
    """Run ``engine`` over a whole stream as fast as possible; record the score track."""
    times, smoothed, counts, scores = [], [], [], []
    step = max(block_size, len(samples) // 100)
    for start in range(0, len(samples), step):
        for r in engine.run(samples[start : start + step], block_size=block_size):
            times.append(r.time_s)
            smoothed.append(r.smoothed)
            counts.append(r.count)
            scores.append(r.scores)
        if progress:
            progress(min(1.0, (start + step) / len(samples)))
    n = len(times)
    return ScoreTrack(np.asarray(times), np.asarray(smoothed, dtype=np.float64).reshape(n, -1), np.asarray(counts),
                      np.asarray(scores, dtype=np.float64).reshape(n, -1))


def resmooth(track: ScoreTrack, smoothing_s: float) -> ScoreTrack:
    """The track as an engine with another smoothing window would have heard it (`PosteriorSmoother`
    replayed over the raw scores; same results as listening again, without the model)."""
    smoother = PosteriorSmoother(smoothing_s)
    smoothed = np.empty_like(track.scores)
    counts = np.empty(len(track.times), dtype=np.int64)
    for i, (t, sc) in enumerate(zip(track.times, track.scores)):
        smoothed[i] = smoother.update(float(t), sc)
        counts[i] = len(smoother)
    return ScoreTrack(track.times, smoothed, counts, track.scores)


def score_detections(detections, events: Sequence[StreamEvent], keywords: Sequence[str], duration_s: float,
                     *, tolerance_s: float = 1.0) -> dict[str, Any]:
    """Match detections to the ground-truth track, as TensorFlow's streaming accuracy does.

    A detection at time ``t`` (the last sample the engine had heard) belongs to the event with
    ``start_s <= t <= end_s + tolerance_s``. It is a true accept if that event is a clip with the
    same label not matched yet; a substitution ("wrong" in TensorFlow) if the clip is another
    keyword; otherwise a false accept, counted by negative source: ``speech`` and ``sounds`` (a
    `StreamSection` event), ``other_words`` (a non-keyword clip), ``repeat`` (a second
    detection of a matched keyword) or ``noise`` (no event: background only). Keyword clips never
    matched are false rejects (so a substitution is also a false reject).

    Returns:
        dict: keyword_events, true_accepts, false_rejects, false_accepts, false_accepts_by_kind,
        hours_by_source and false_accepts_per_hour_by_source (for `NEGATIVE_SOURCES`: the
        stream time each source fills, tolerance included, and its false-accept rate),
        substitutions, frr_percent, false_accepts_per_hour (all false accepts over the whole
        stream), substitutions_per_hour, and frr_percent_by_snr.
    """
    keywords = set(keywords)
    starts = np.array([e.start_s for e in events])
    matched = np.zeros(len(events), dtype=bool)
    substitutions = 0
    fa_kinds = {**dict.fromkeys(NEGATIVE_SOURCES, 0), "repeat": 0}
    for d in detections:
        i = int(np.searchsorted(starts, d.time_s, side="right")) - 1
        if i >= 0 and d.time_s <= events[i].end_s + tolerance_s:
            e = events[i]
            if e.label == d.label:
                fa_kinds["repeat"] += bool(matched[i])
                matched[i] = True
            elif e.label in keywords:
                substitutions += 1
            else:
                fa_kinds[SECTION_SOURCES.get(e.label, "other_words")] += 1
        else:
            fa_kinds["noise"] += 1
    seconds = dict.fromkeys(NEGATIVE_SOURCES, 0.0)
    for e in events:
        if e.label not in keywords:
            seconds[SECTION_SOURCES.get(e.label, "other_words")] += e.end_s - e.start_s + tolerance_s
    seconds["noise"] = max(0.0, duration_s - sum(seconds.values())
                           - sum(e.end_s - e.start_s + tolerance_s for e in events if e.label in keywords))
    false_accepts = sum(fa_kinds.values())
    is_kw = np.array([e.label in keywords for e in events], dtype=bool)
    n_kw = int(is_kw.sum())
    fr = int((is_kw & ~matched).sum())
    by_snr = {}
    for snr in sorted({e.snr_db for e in events if e.label in keywords}):
        sel = is_kw & np.array([e.snr_db == snr for e in events])
        by_snr[f"{snr:g}"] = round(100.0 * float((sel & ~matched).sum()) / int(sel.sum()), 2)
    hours = duration_s / 3600.0
    return {
        "keyword_events": n_kw,
        "true_accepts": n_kw - fr,
        "false_rejects": fr,
        "false_accepts": false_accepts,
        "false_accepts_by_kind": fa_kinds,
        "hours_by_source": {k: round(v / 3600, 4) for k, v in seconds.items()},
        "false_accepts_per_hour_by_source": {k: round(fa_kinds[k] * 3600 / v, 3) if v > 0 else None for k, v in seconds.items()},
        "substitutions": substitutions,
        "frr_percent": round(100.0 * fr / n_kw, 2) if n_kw else None,
        "false_accepts_per_hour": round(false_accepts / hours, 3),
        "substitutions_per_hour": round(substitutions / hours, 3),
        "frr_percent_by_snr": by_snr,
    }


def det_curve(track: ScoreTrack, detector: Detector, events: Sequence[StreamEvent], keywords: Sequence[str],
              duration_s: float, thresholds: Sequence[float], *, tolerance_s: float = 1.0) -> list[dict[str, Any]]:
    """FRR and false accepts / hour at each threshold (the detector replayed over the track)."""
    out = []
    saved = detector.threshold
    for th in thresholds:
        detector.threshold = float(th)
        dets = detections_from_track(track.times, track.smoothed, track.counts, detector)
        s = score_detections(dets, events, keywords, duration_s, tolerance_s=tolerance_s)
        out.append({"threshold": round(float(th), 4), **s})
    detector.threshold = saved
    return out


def plot_det(curve: Sequence[dict[str, Any]], path: Path, title: str, chosen: dict[str, Any] | None = None) -> bool:
    """DET curve PNG: FRR (%) against false accepts per hour; False when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fa = np.array([p["false_accepts_per_hour"] for p in curve])
    frr = np.array([p["frr_percent"] for p in curve])
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    ax.plot(np.maximum(fa, 0.1), frr, marker=".", lw=1)
    if chosen is not None:
        ax.plot([max(chosen["false_accepts_per_hour"], 0.1)], [chosen["frr_percent"]], "ro",
                label=f"threshold {chosen['threshold']:.3f}: FRR {chosen['frr_percent']:.1f} %, "
                      f"{chosen['false_accepts_per_hour']:.1f} FA/h")
        ax.legend(fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("false accepts per hour (0 drawn at 0.1)")
    ax.set_ylabel("false reject rate (%)")
    ax.set_title(title, fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def held_out_clips(run_dir: Path, data_dir: str | os.PathLike | None = None, split: str = "test") -> list[Clip]:
    """One split of the dataset a run was trained on (its ``config.json``), with the original labels."""
    from tinyaudio.data.loaders import load_dataset

    cfg = RunFolder.open(run_dir, need=(CONFIG,)).train_config
    kwargs: dict[str, Any] = {}
    if cfg.get("task", "words") != "words":
        kwargs["label_by"] = cfg["task"]
    for name in ("holdout_speaker", "validation_percent", "test_percent"):
        if cfg.get(name) is not None:
            kwargs[name] = cfg[name]
    return load_dataset(cfg["dataset"], data_dir, **kwargs).split(split)


def stream_sections(split: str, *, speech_share: float, sound_share: float,
                    data_dir: str | os.PathLike | None = None) -> list[StreamSection]:
    """The running-speech and everyday-sound parts of a ``split`` stream, from audio no model trains on.

    - ``test``: LibriSpeech test-other (never a training corpus, `tinyaudio.data.speech`) and
      ESC-50's test split.
    - ``validation``: the validation speakers of the training speech corpora (the speakers
      `speech_windows` puts in validation) and ESC-50's validation split, so that a decision
      rule tuned on it never sees the test audio.

    Raises:
        ConfigError: ``split`` is not test or validation.
        DatasetError: a needed corpus is missing (the message says where to get it).
    """
    from tinyaudio.data.dataset import stable_split
    from tinyaudio.data.loaders import load_dataset
    from tinyaudio.data.speech import TRAINING_CORPORA, speech_files

    if split not in ("test", "validation"):
        raise ConfigError(f"stream split {split!r}: use test or validation")
    sections = []
    if speech_share > 0:
        if split == "test":
            files = [str(p) for p, _ in speech_files("librispeech_test_other", data_dir)]
        else:
            files = [str(p) for corpus in TRAINING_CORPORA for p, spk in speech_files(corpus, data_dir)
                     if stable_split(f"{corpus}:{spk}", 10.0, 0.0, salt="speech:") == "validation"]
        sections.append(StreamSection("_speech_", tuple(files), speech_share))
    if sound_share > 0:
        files = [str(c.path) for c in load_dataset("esc50", data_dir).split(split)]
        sections.append(StreamSection("_sound_", tuple(files), sound_share))
    return sections


def default_noise_dir(data_dir: str | os.PathLike | None) -> Path:
    found = background_noise_dir(data_dir)
    if found is None:
        raise DatasetError(f"no background noise under {data_root(data_dir) or '$TINYAUDIO_DATA'}; "
                           "pass --noise-dir (the speech_commands _background_noise_ folder)")
    return found


#: Thresholds of the DET sweeps: coarse below 0.9, fine towards 1 where a budget of ~1 FA/h lives.
THRESHOLDS = tuple(np.unique(np.round(np.concatenate([np.arange(0.10, 0.90, 0.025), np.arange(0.90, 0.99, 0.005),
                                                      np.arange(0.99, 0.9995, 0.001)]), 4)).tolist())


@dataclasses.dataclass
class ListenedStream:
    """A generated stream of one split, its ground truth and what the engine heard.

    Attributes:
        events: the ground-truth track (`generate_stream`).
        track: the engine's scores at every hop (`listen_to`).
        engine: the `StreamingEngine` that listened (its detector, timer, overruns).
        keywords: the labels that may fire.
        info: the ``stream`` entry of a results file (duration, clips, sources, seed, ...).
    """

    events: list[StreamEvent]
    track: ScoreTrack
    engine: StreamingEngine
    keywords: list[str]
    info: dict[str, Any]


def listen_to_stream(run_dir: str | os.PathLike, *, split: str = "test", duration_s: float = 1800.0,
                     snrs_db: Sequence[float] = (0.0, 5.0, 10.0, 20.0), keyword_share: float | None = None,
                     speech_share: float = 0.25, sound_share: float = 0.15, data_dir: str | os.PathLike | None = None,
                     noise_dir: str | os.PathLike | None = None, seed: int = 0, hop_s: float | None = None,
                     rule: DecisionRule | None = None, model: str = "int8", save_stream: str | os.PathLike | None = None,
                     overwrite: bool = False, progress: bool = False, streaming: bool = True,
                     log: Callable[[str], None] = lambda _msg: None) -> ListenedStream:
    """Generate a ``split`` stream for a run (`generate_stream`, `stream_sections`) and listen to it once.

    Args: as `stream_eval`; ``rule`` sets the engine's smoothing and detector (default `DecisionRule()`).

    Raises:
        RunFolderError: the run folder lacks a file; DatasetError: a corpus or the noise is missing.
        FolderExistsError: ``save_stream`` exists (without ``overwrite``) or holds files tinyaudio did not write.
    """
    from tinyaudio._io import check_output_folder
    from tinyaudio.runtime.run import Classifier

    if save_stream is not None:  # refused before any work; written as a new folder (`build_folder`)
        check_output_folder(save_stream, overwrite=overwrite, what="stream folder", option="--save-stream")
    run_dir = Path(run_dir)
    classifier = Classifier(run_dir, model=model, streaming=streaming)
    sr = classifier.feature_config.sample_rate
    keywords = [lab for lab in classifier.labels if not lab.startswith("_")]
    if keyword_share is None and classifier.binary:
        keyword_share = 0.5
    clips = held_out_clips(run_dir, data_dir, split)
    sections = stream_sections(split, speech_share=speech_share, sound_share=sound_share, data_dir=data_dir)
    noise_files = sorted(Path(noise_dir or default_noise_dir(data_dir)).glob("*.wav"))
    log(f"generating a {duration_s / 60:g} min {split} stream: {len(clips)} clips over {len(noise_files)} noise files"
        + "".join(f", {100 * sec.share:g} % {SECTION_SOURCES[sec.label]} ({len(sec.files)} recordings)" for sec in sections))
    samples, events = generate_stream(clips, noise_files, duration_s=duration_s, sample_rate=sr, snrs_db=snrs_db,
                                      keywords=keywords, keyword_share=keyword_share, sections=sections, seed=seed)
    if save_stream is not None:
        import soundfile as sf

        from tinyaudio._io import build_folder

        with build_folder(save_stream, overwrite=overwrite, what="stream folder", option="--save-stream") as out:
            sf.write(out / "stream.wav", samples, sr, subtype="PCM_16")
            (out / "stream_labels.txt").write_text("".join(f"{e.label}, {e.start_s * 1000:.0f}\n" for e in events))
    engine = StreamingEngine(classifier, hop_s=hop_s, rule=rule or DecisionRule())
    log(f"listening: hop {engine.hop_s * 1000:.0f} ms, smoothing {engine.rule.smoothing_s} s, {len(events)} events")
    if progress:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        minutes = duration_s / 60
        with Progress(TextColumn("listening"), BarColumn(), TextColumn("{task.completed:.1f}/{task.total:.1f} min"),
                      TimeElapsedColumn(), transient=True) as bar:
            task = bar.add_task("listening", total=minutes)
            track = listen_to(engine, samples, progress=lambda done: bar.update(task, completed=done * minutes))
    else:
        track = listen_to(engine, samples)
    label_counts: dict[str, int] = {}
    for e in events:
        label_counts[e.label] = label_counts.get(e.label, 0) + 1
    info = {"duration_s": duration_s, "split": split, "clips": len(events),
            "keyword_clips": sum(e.label in keywords for e in events), "clips_per_label": label_counts,
            "snrs_db": list(snrs_db), "clips_available": len(clips), "noise": [p.name for p in noise_files],
            "seed": seed, "keyword_share": keyword_share, "speech_share": speech_share, "sound_share": sound_share,
            "recordings": {SECTION_SOURCES[sec.label]: len(sec.files) for sec in sections}}
    return ListenedStream(events, track, engine, keywords, info)


def stream_eval(run_dir: str | os.PathLike, *, duration_s: float = 1800.0, snrs_db: Sequence[float] = (0.0, 5.0, 10.0, 20.0),
                keyword_share: float | None = None, data_dir: str | os.PathLike | None = None,
                noise_dir: str | os.PathLike | None = None, seed: int = 0, hop_s: float | None = None,
                rule: DecisionRule | None = None, tolerance_s: float = 1.0, model: str = "int8",
                save_stream: str | os.PathLike | None = None, overwrite: bool = False, speech_share: float = 0.25,
                sound_share: float = 0.15, split: str = "test", write: bool = True, progress: bool = False,
                streaming: bool = True, log: Callable[[str], None] = lambda _msg: None) -> dict[str, Any]:
    """Generate a stream for a run, listen to it with the engine, and score it at the run's decision rule.

    Nothing is chosen here: the rule is ``rule``, else the run's ``detector.json``
    (`tinyaudio.evaluate.detector` tunes it on a validation stream), else `DecisionRule()`; the DET sweep over
    thresholds (same smoothing and suppression) is reported for reading, not for picking.

    Args:
        run_dir: run folder; its ``config.json`` names the dataset whose ``split`` is used.
        duration_s: stream length, seconds.
        snrs_db: SNRs the clips, utterances and sounds are mixed at, in turn.
        keyword_share: share of clips that are keywords (default: uniform over the test clips for
            a multi-class model, 0.5 for a one-keyword detector).
        data_dir, noise_dir: dataset root and background-noise folder.
        hop_s: seconds between inferences (see `StreamingEngine`).
        rule: the decision rule to score (default: the run's own).
        tolerance_s: a detection may come this long after its clip ends.
        save_stream: new folder to write ``stream.wav`` and ``stream_labels.txt`` (label, start ms);
            an existing one is refused unless ``overwrite`` and tinyaudio wrote it.
        speech_share, sound_share: parts of the stream filled with running speech and everyday
            sounds (`stream_sections`); the rest holds the dataset's clips over background noise.
        split: ``"test"`` (what a user reads) or ``"validation"``: the dataset split, speech and
            sounds of the stream (`stream_sections`).
        write: write ``stream_eval.json`` (and ``stream_det.png``) into the run folder.
        progress: show a rich progress bar over the stream minutes while listening.
        streaming: run the run's streaming step model when it has one (`StreamingEngine`); False
            runs the whole-window model every hop.

    Returns:
        the results dict written to ``stream_eval.json``: ``at_rule`` (FRR, false accepts per hour
        per source), ``at_threshold_0.7``, the ``det`` sweep, timings.
    """
    run_dir = Path(run_dir)
    run = RunFolder.open(run_dir, need=())
    stored = run.decision_rule()
    rule_source = "given" if rule else DETECTOR if stored else "default"
    rule = rule or stored or DecisionRule()
    heard = listen_to_stream(run_dir, split=split, duration_s=duration_s, snrs_db=snrs_db, keyword_share=keyword_share,
                             speech_share=speech_share, sound_share=sound_share, data_dir=data_dir, noise_dir=noise_dir,
                             seed=seed, hop_s=hop_s, rule=rule, model=model, save_stream=save_stream, overwrite=overwrite,
                             progress=progress, streaming=streaming, log=log)
    thresholds = sorted({*THRESHOLDS, 0.7, round(rule.threshold, 4)})
    curve = det_curve(heard.track, heard.engine.detector, heard.events, heard.keywords, duration_s, thresholds,
                      tolerance_s=tolerance_s)
    results = {
        "run": str(run_dir),
        "model": model,
        "keywords": heard.keywords,
        "stream": heard.info,
        "engine": {"hop_s": heard.engine.hop_s, "tolerance_s": tolerance_s, "hops": len(heard.track.times),
                   "streaming": heard.engine.step is not None},
        "rule": rule.to_dict(),
        "rule_source": rule_source,
        "at_rule": next(p for p in curve if abs(p["threshold"] - round(rule.threshold, 4)) < 1e-9),
        "at_threshold_0.7": next(p for p in curve if abs(p["threshold"] - 0.7) < 1e-9),
        "det": curve,
        "timing_ms": heard.engine.timer.summary(),
        "overruns": heard.engine.overruns,
    }
    if write:
        title = (f"{run_dir.name}: {duration_s / 60:.0f} min {split} stream, SNR {', '.join(f'{s:g}' for s in snrs_db)} dB, "
                 f"smoothing {rule.smoothing_s} s")
        results["det_png"] = str(run_dir / DET_FILE) if plot_det(curve, run_dir / DET_FILE, title, results["at_rule"]) else None
        run.write_json(RESULTS_FILE, results)
        run.record(DET_FILE)
    return results


def summary_table(results: dict[str, Any]):
    """A rich Table of one `stream_eval` result: FRR and FA/h per negative source, at 0.7 and at the chosen threshold."""
    from rich.table import Table

    s, e = results["stream"], results["engine"]
    table = Table(title=f"{results['run']}: {s['duration_s'] / 60:.0f} min {s.get('split', 'test')} stream, "
                        f"{s['keyword_clips']} keyword clips, SNR {', '.join(f'{x:g}' for x in s['snrs_db'])} dB")
    short = {"other_words": "words"}
    columns = ("threshold", "FRR %", "FRR % at SNR dB", "FA/h", *(short.get(k, k) for k in NEGATIVE_SOURCES))
    for col in columns:
        table.add_column(col, justify="left" if col == "FRR % at SNR dB" else "right")
    rule = results["rule"]
    rows = [(f"{rule['threshold']:g} ({results['rule_source']} rule)", results["at_rule"])]
    if abs(rule["threshold"] - 0.7) > 1e-9:
        rows.append(("0.7", results["at_threshold_0.7"]))
    for name, p in rows:
        by_snr = " ".join(f"{k}:{v:.0f}" for k, v in p["frr_percent_by_snr"].items())
        by_source = p.get("false_accepts_per_hour_by_source", {})
        per_source = ["-" if by_source.get(k) is None else f"{by_source[k]:.1f}" for k in NEGATIVE_SOURCES]
        table.add_row(name, f"{p['frr_percent']:.1f}", by_snr, f"{p['false_accepts_per_hour']:.2f}", *per_source)
    t = results["timing_ms"]["total_ms"]
    hours = results["at_rule"].get("hours_by_source", {})
    table.caption = ("FA/h: false accepts per hour of the whole stream, then per hour of each source ("
                     + ", ".join(f"{short.get(k, k)} {v:.2f} h" for k, v in hours.items()) + ")"
                     + f"; smoothing {rule['smoothing_s']:g} s, min count {rule['min_count']}, suppression "
                     f"{rule['suppression_s']:g} s; hop {e['hop_s'] * 1000:.0f} ms, per hop p50 {t.get('p50', 0):.2f} ms, "
                     f"p99 {t.get('p99', 0):.2f} ms; DET: {results.get('det_png') or 'no PNG (matplotlib not installed)'}")
    return table
