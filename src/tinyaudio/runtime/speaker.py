"""Speaker enrolment and verification with an int8 embedding ``.tflite`` (no TensorFlow).

A run folder with ``model_embedding_int8.tflite`` and ``embedding.json`` (written by
`tinyaudio.pipeline.export_embedding`) turns audio into a fixed-size embedding. Enrolment
averages the embeddings of a few recordings into a profile kept in ``speakers.json`` in the run
folder; verification is the cosine score of a recording against a profile, accepted at or above
a threshold. A verification run (``tinyaudio train --dataset speakers``) also holds a cohort of
training-speaker embeddings (``speaker_cohort.npy``); scores are then adaptive s-norm scores
(`Cohort`), and the threshold stored in the run was chosen on validation speakers.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from tinyaudio._io import write_text_atomic
from tinyaudio.data.audio import PAD_NOISE_DBFS, fix_length, load_audio, window_levels
from tinyaudio.errors import TinyAudioError
from tinyaudio.features.extract import compute_features
from tinyaudio.runtime.litert import TFLiteModel
from tinyaudio.runtime.run_folder import (
    EMBEDDING_KINDS, EMBEDDING_META, SPEAKER_COHORT, SPEAKER_EVAL, SPEAKER_PROFILES, RunFolder,
)

#: Used when neither ``--threshold`` nor a ``speaker_eval.json`` threshold is available.
DEFAULT_THRESHOLD = 0.5
#: Cohort scores averaged by adaptive s-norm (the closest ``COHORT_TOP_K`` cohort speakers).
COHORT_TOP_K = 100


#: How `windows` fills a recording shorter than the model window (`SHORT_FILL` by default).
SHORT_FILLS = ("noise", "tile", "zero")
SHORT_FILL = "noise"
#: Level of the noise floor a short recording is centred on (RMS, dBFS): a quiet room's, the level
#: around a word in a recording such as a Speech Commands clip (`SPEECH_FLOOR_DBFS` is 15 dB above).
FILL_NOISE_DBFS = PAD_NOISE_DBFS


def _check_fill(fill: str) -> str:
    if fill not in SHORT_FILLS:
        raise TinyAudioError(f"unknown fill {fill!r} for short recordings; use one of {', '.join(SHORT_FILLS)}")
    return fill


def windows(samples: np.ndarray, n_samples: int, *, fill: str = SHORT_FILL, noise_dbfs: float = FILL_NOISE_DBFS) -> np.ndarray:
    """Cut one recording into model-sized windows.

    Args:
        samples: float32 mono audio, shape (n,).
        n_samples: window length (the FeatureConfig's ``n_samples``).
        fill: how a recording shorter than one window fills it: ``"noise"`` (centred on white
            noise at ``noise_dbfs``, the same seeded noise every time, so a short digit looks like
            a word recorded in a quiet room, as the training clips do), ``"tile"`` (repeated) or
            ``"zero"`` (centred on digital silence). ``"noise"`` was chosen on validation speakers'
            short recordings (``benchmarks/speaker_short_fill.py``; docs/speakers.md): EER 15.3 /
            13.6 % for the two verification runs, against 19.1 / 20.6 % tiled and 23.2 / 22.4 %
            zero-filled.
        noise_dbfs: RMS of the ``"noise"`` fill, dBFS.

    Returns:
        float32, shape (k, n_samples): non-overlapping windows from the start; a trailing piece
        of at least half a window is kept as a last window aligned to the end; a shorter
        recording is one window, filled as ``fill`` says.

    Raises:
        TinyAudioError: an empty recording, or an unknown ``fill``.
    """
    samples = np.asarray(samples, dtype=np.float32)
    if len(samples) == 0:
        raise TinyAudioError("cannot embed an empty recording")
    _check_fill(fill)
    if len(samples) < n_samples:
        if fill == "tile":
            return np.tile(samples, -(-n_samples // len(samples)))[None, :n_samples]
        return fix_length(samples, n_samples, pad="centre", noise_dbfs=noise_dbfs if fill == "noise" else None)[None]
    starts = list(range(0, len(samples) - n_samples + 1, n_samples))
    if len(samples) - (starts[-1] + n_samples) >= n_samples // 2:
        starts.append(len(samples) - n_samples)
    return np.stack([samples[s : s + n_samples] for s in starts])


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two vectors, in [-1, 1] (0 if either is all zeros)."""
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    return float(np.dot(a, b) / (na * nb)) if na > 0 and nb > 0 else 0.0


def unit(x: np.ndarray) -> np.ndarray:
    """``x`` scaled to unit L2 norm along its last axis (a zero vector stays zero)."""
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


class Cohort:
    """Adaptive symmetric score normalisation (adaptive s-norm) against a cohort of speakers.

    A raw cosine depends on the voices involved: some enrolments score high against everyone.
    S-norm turns it into "how unusual is this score for this enrolment and for this test
    recording": ``0.5 * ((s - mu_e) / sd_e + (s - mu_t) / sd_t)``, where ``mu_e, sd_e`` are the
    mean and standard deviation of the enrolment's cosines with its ``top_k`` closest cohort
    speakers, and ``mu_t, sd_t`` the same for the test embedding. The result is on a common
    scale across voices and durations, so one threshold serves everyone.

    Args:
        embeddings: float32 (n_speakers, dim), one unit embedding per cohort speaker (training
            speakers, never the people verified).
        top_k: cohort scores kept per side (all when fewer speakers).

    Source: Matejka et al. 2017, "Analysis of Score Normalization in Multilingual Speaker
    Recognition", Interspeech (adaptive s-norm, top-N cohort selection); Cumani et al. 2011.
    """

    def __init__(self, embeddings: np.ndarray, top_k: int = COHORT_TOP_K):
        self.embeddings = unit(embeddings)
        if self.embeddings.ndim != 2 or len(self.embeddings) < 2:
            raise TinyAudioError(f"a score-normalisation cohort needs at least 2 embeddings, got shape {self.embeddings.shape}")
        self.top_k = min(int(top_k), len(self.embeddings))

    def stats(self, embedding: np.ndarray) -> tuple[float, float]:
        """``(mean, std)`` of one unit embedding's ``top_k`` highest cosines with the cohort."""
        top = np.sort(self.embeddings @ np.asarray(embedding, dtype=np.float32))[-self.top_k:]
        return float(top.mean()), max(float(top.std()), 1e-6)

    def normalise(self, score: float, enrolment: np.ndarray, test: np.ndarray) -> float:
        """The s-norm of ``score`` = cosine(enrolment, test); both unit embeddings, shape (dim,)."""
        (mu_e, sd_e), (mu_t, sd_t) = self.stats(enrolment), self.stats(test)
        return 0.5 * ((score - mu_e) / sd_e + (score - mu_t) / sd_t)


class SpeakerEmbedder:
    """The embedding model of a run folder.

    Args:
        run_dir: folder with ``feature_config.json``, ``embedding.json`` and
            ``model_embedding_{int8,float}.tflite``.
        model: ``"int8"`` (default) or ``"float"``, or a path to an embedding ``.tflite``.
        fill: how a recording shorter than the window is filled (`windows`).

    Attributes:
        fill, noise_dbfs: how a recording shorter than the window is filled (`windows`).
        dim: embedding size.
        mean: training-set mean embedding, subtracted before scoring (centring), shape (dim,).
        cohort: the run's `Cohort` (``speaker_cohort.npy``), or None: raw cosine scores.

    Raises:
        TinyAudioError: the run folder has no embedding model (the message says how to export one).
        ConfigMismatchError: the feature config does not fit the model input.
    """

    def __init__(self, run_dir: str | os.PathLike, *, model: str = "int8", fill: str = SHORT_FILL):
        self.fill, self.noise_dbfs = _check_fill(fill), FILL_NOISE_DBFS
        run = RunFolder.open(run_dir, need=())
        self.run_dir = run.path
        meta = run.file(EMBEDDING_META)
        path = Path(model) if model not in EMBEDDING_KINDS else run.embedding_path(model)
        if not meta.exists() or not path.exists():
            raise TinyAudioError(
                f"{self.run_dir}: no embedding model ({path.name}, {EMBEDDING_META}); "
                f"run `tinyaudio speaker-eval {self.run_dir}` (or tinyaudio.pipeline.export_embedding) first"
            )
        self.feature_config = run.feature_config
        info = run.read_json(EMBEDDING_META)
        self.mean = np.asarray(info["mean"], dtype=np.float32)
        self.dim = int(info["dim"])
        self.model = TFLiteModel(path)
        self.feature_config.check_input_shape(self.model.input_shape, source=str(path))
        cohort = run.file(SPEAKER_COHORT)
        self.cohort = Cohort(np.load(cohort)) if cohort.exists() else None

    def is_short(self, samples: np.ndarray) -> bool:
        """Whether a recording (float32 (n,) at the model's rate) is shorter than one window (filled, `windows`)."""
        return len(samples) < self.feature_config.n_samples

    def score(self, enrolment: np.ndarray, test: np.ndarray) -> float:
        """Verification score of two unit embeddings (dim,): the cosine, s-normalised when the run has a cohort."""
        raw = float(np.dot(enrolment, test))
        return self.cohort.normalise(raw, enrolment, test) if self.cohort is not None else raw

    def window_embeddings(self, samples: np.ndarray) -> np.ndarray:
        """Centred, L2-normalised embeddings of each window of one recording, float32 (k, dim)."""
        cfg = self.feature_config
        feats = np.stack([compute_features(w, cfg) for w in windows(samples, cfg.n_samples, fill=self.fill, noise_dbfs=self.noise_dbfs)])
        return unit(self.model.predict(feats).reshape(len(feats), -1) - self.mean)

    def embed(self, samples: np.ndarray) -> np.ndarray:
        """One recording (float32 at ``feature_config.sample_rate``) -> unit-norm embedding (dim,).

        The window embeddings are averaged and re-normalised.
        """
        return unit(self.window_embeddings(samples).mean(axis=0))

    def embed_file(self, path: str | os.PathLike, *, offset: float = 0.0, duration: float | None = None) -> np.ndarray:
        """Embedding of an audio file (any rate, resampled), or of ``duration`` s from ``offset``."""
        return self.embed(load_audio(path, self.feature_config.sample_rate, offset=offset, duration=duration))


@dataclasses.dataclass(frozen=True)
class Verification:
    """Result of scoring one recording against one profile."""

    path: str
    name: str
    score: float
    threshold: float
    accepted: bool


def profiles_path(run_dir: str | os.PathLike) -> Path:
    return Path(run_dir) / SPEAKER_PROFILES


def load_profiles(path: str | os.PathLike) -> dict[str, dict]:
    """``{name: {"embedding": [...], "files": [...], "n_windows": k}}`` from a profiles JSON; {} if absent."""
    path = Path(path)
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text())["speakers"]
    except (json.JSONDecodeError, KeyError) as exc:
        raise TinyAudioError(f"{path}: not a speaker profile file ({exc}); delete it and enrol again") from None


def default_threshold(run_dir: str | os.PathLike, *, short: bool = False) -> float:
    """The threshold in the run's ``speaker_eval.json``, else `DEFAULT_THRESHOLD`.

    A verification run stores the threshold chosen on its validation speakers for a stated
    false-accept rate (1 s test recordings), and ``short_threshold``, chosen the same way on their
    short recordings (0.3-0.7 s of speech, `tinyaudio.evaluate.speaker.short_recording_eer`):
    a recording shorter than the window scores higher against everyone once filled, so it needs
    its own threshold to keep the false-accept rate. ``tinyaudio speaker-eval`` stores an EER
    threshold in older speaker runs.

    Args:
        short: the test recording is shorter than the model window (`SpeakerEmbedder.is_short`);
            the run's ``short_threshold`` when it has one.
    """
    path = Path(run_dir) / SPEAKER_EVAL
    if path.exists():
        stored = json.loads(path.read_text())
        return float(stored["short_threshold"] if short and stored.get("short_threshold") is not None else stored["threshold"])
    return DEFAULT_THRESHOLD


#: Enrolment needs this much speech (seconds of 20 ms frames above `SPEECH_FLOOR_DBFS`).
MIN_ENROL_SPEECH_S = 1.0
#: A 20 ms frame quieter than this (RMS, dBFS) is not speech: room noise of a quiet room is
#: about -60 to -50 dBFS, speech at arm's length -35 to -20.
SPEECH_FLOOR_DBFS = -45.0


def speech_seconds(samples: np.ndarray, sample_rate: int, *, floor_dbfs: float = SPEECH_FLOOR_DBFS) -> float:
    """Seconds of ``samples`` (float32, (n,)) in 20 ms frames whose RMS is above ``floor_dbfs``."""
    _, level = window_levels(samples, sample_rate, 0.02, 0.02)
    return float((level > floor_dbfs).sum() * max(1, round(0.02 * sample_rate)) / sample_rate)


def enroll(
    run_dir: str | os.PathLike,
    name: str,
    paths: Sequence[str | os.PathLike],
    *,
    embedder: SpeakerEmbedder | None = None,
    profiles: str | os.PathLike | None = None,
) -> dict:
    """Average the embeddings of ``paths`` into the profile ``name`` and save it.

    Every window of every recording counts once; the mean is re-normalised to unit length.
    An existing profile of the same name is replaced.

    Args:
        profiles: JSON file to update; default ``run_dir/speakers.json``.

    Returns:
        the saved profile: ``{"embedding": [...], "files": [...], "n_windows": k}``.

    Raises:
        TinyAudioError / AudioError: no files, a missing embedding model, an unreadable file, or
            less than `MIN_ENROL_SPEECH_S` of speech in all of them (silence never becomes a profile).
    """
    if not paths:
        raise TinyAudioError(f"enrol {name!r}: give at least one recording")
    embedder = embedder or SpeakerEmbedder(run_dir)
    sr = embedder.feature_config.sample_rate
    recordings = [load_audio(p, sr) for p in paths]  # any rate: resampled to the model's
    speech_s = sum(speech_seconds(x, sr) for x in recordings)
    if speech_s < MIN_ENROL_SPEECH_S:
        raise TinyAudioError(f"enrol {name!r}: {', '.join(map(str, paths))} hold {speech_s:.1f} s of speech (frames above "
                             f"{SPEECH_FLOOR_DBFS:g} dBFS); record at least {MIN_ENROL_SPEECH_S:g} s of the speaker talking")
    per_window = np.concatenate([embedder.window_embeddings(x) for x in recordings])
    mean = unit(per_window.mean(axis=0))
    profile = {"embedding": [round(float(v), 6) for v in mean], "files": [str(p) for p in paths],
               "n_windows": int(len(per_window))}
    path = Path(profiles) if profiles else profiles_path(run_dir)
    speakers = load_profiles(path)
    speakers[name] = profile
    write_text_atomic(path, json.dumps({"embedding_model": RunFolder(run_dir).embedding_path("int8").name, "speakers": speakers}, indent=1) + "\n")
    if path.parent.resolve() == Path(run_dir).resolve():
        RunFolder(run_dir).record(path.name)  # tinyaudio's own: --overwrite may replace the run
    return profile


def verify(
    run_dir: str | os.PathLike,
    name: str,
    paths: Sequence[str | os.PathLike],
    *,
    threshold: float | None = None,
    embedder: SpeakerEmbedder | None = None,
    profiles: str | os.PathLike | None = None,
) -> list[Verification]:
    """Score each recording against the profile ``name``; accepted when score >= threshold.

    Args:
        threshold: score threshold (`SpeakerEmbedder.score`: cosine, or s-norm with a cohort);
            default `default_threshold` of the run (its short-recording threshold for a recording
            shorter than the window).

    Raises:
        TinyAudioError: ``name`` is not enrolled (the message lists who is).
    """
    speakers = load_profiles(Path(profiles) if profiles else profiles_path(run_dir))
    if name not in speakers:
        raise TinyAudioError(f"{name!r} is not enrolled; enrolled: {sorted(speakers) or 'nobody'} (use `tinyaudio enroll`)")
    embedder = embedder or SpeakerEmbedder(run_dir)
    ref = np.asarray(speakers[name]["embedding"], dtype=np.float32)
    # {is the recording short: its threshold}, read from the run once
    thresholds = ({s: default_threshold(run_dir, short=s) for s in (False, True)} if threshold is None
                  else dict.fromkeys((False, True), float(threshold)))
    out = []
    for p in paths:
        samples = load_audio(p, embedder.feature_config.sample_rate)
        score = embedder.score(ref, embedder.embed(samples))
        t = thresholds[embedder.is_short(samples)]
        out.append(Verification(str(p), name, score, t, score >= t))
    return out


def identify(
    run_dir: str | os.PathLike,
    path: str | os.PathLike,
    *,
    threshold: float | None = None,
    embedder: SpeakerEmbedder | None = None,
    profiles: str | os.PathLike | None = None,
) -> Verification:
    """Best-scoring enrolled speaker for one recording; ``accepted`` False means an unknown voice."""
    speakers = load_profiles(Path(profiles) if profiles else profiles_path(run_dir))
    if not speakers:
        raise TinyAudioError(f"{run_dir}: nobody is enrolled; use `tinyaudio enroll` first")
    embedder = embedder or SpeakerEmbedder(run_dir)
    samples = load_audio(path, embedder.feature_config.sample_rate)
    threshold = default_threshold(run_dir, short=embedder.is_short(samples)) if threshold is None else float(threshold)
    emb = embedder.embed(samples)
    scores = {n: embedder.score(np.asarray(p["embedding"], dtype=np.float32), emb) for n, p in speakers.items()}
    best = max(scores, key=scores.get)
    return Verification(str(path), best, scores[best], threshold, scores[best] >= threshold)
