"""Speaker verification metrics (EER, minDCF, DET) of a speaker run's embedding model.

`speaker_eval` scores a trial list (every test clip or file of a dataset against every enrolled
speaker) with the int8 embedding model and reports EER and minDCF; use a dataset whose speakers
the model never heard to measure verification of new people. `threshold_at_false_accept_rate`
picks a verification run's threshold on validation speakers.
"""

from __future__ import annotations

import csv
import io
import os
import random
from pathlib import Path
from typing import Any, Callable, NamedTuple, Sequence

import numpy as np

from tinyaudio.data.audio import load_audio
from tinyaudio.data.dataset import Clip
from tinyaudio.data.loaders import load_dataset
from tinyaudio.errors import ConfigError
from tinyaudio.runtime.run_folder import SPEAKER_COHORT, SPEAKER_EVAL, RunFolder
from tinyaudio.runtime.speaker import SpeakerEmbedder


# -- metrics -----------------------------------------------------------------------------------
def det_curve(scores: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Miss and false-alarm rates at every threshold.

    Args:
        scores: float, shape (n,): higher means more likely the claimed speaker.
        targets: bool / 0-1, shape (n,): True for a target (same-speaker) trial.

    Returns:
        ``(thresholds, p_miss, p_fa)``, each shape (n + 1,), thresholds increasing; a trial is
        accepted when ``score >= threshold``. The last threshold is above every score
        (everything rejected: p_miss 1, p_fa 0).

    Raises:
        ValueError: no target or no non-target trials, or shapes differ.
    """
    scores = np.asarray(scores, dtype=np.float64)
    targets = np.asarray(targets).astype(bool)
    if scores.shape != targets.shape or scores.ndim != 1:
        raise ValueError(f"scores {scores.shape} and targets {targets.shape} must be 1-D of equal length")
    n_tar, n_non = int(targets.sum()), int((~targets).sum())
    if n_tar == 0 or n_non == 0:
        raise ConfigError(f"need target and non-target trials, got {n_tar} and {n_non}")
    order = np.argsort(scores, kind="mergesort")
    s, t = scores[order], targets[order]
    # threshold = s[i]: scores below it (indices < i) are rejected.
    misses = np.concatenate([[0], np.cumsum(t)])
    false_rejects_non = np.concatenate([[0], np.cumsum(~t)])
    thresholds = np.concatenate([s, [np.nextafter(s[-1], np.inf)]])
    p_miss = misses / n_tar
    p_fa = (n_non - false_rejects_non) / n_non
    # ties: only the first index of a run of equal scores is a real threshold
    keep = np.concatenate([[True], s[1:] != s[:-1], [True]])
    return thresholds[keep], p_miss[keep], p_fa[keep]


def verification_metrics(
    scores: np.ndarray, targets: np.ndarray, *, p_targets: Sequence[float] = (0.01, 0.05),
    c_miss: float = 1.0, c_fa: float = 1.0,
) -> dict[str, Any]:
    """EER and normalised minDCF of a trial list.

    Args:
        scores, targets: as `det_curve`.
        p_targets: prior(s) of a target trial for the detection cost.

    Returns:
        ``{"eer", "eer_threshold", "min_dcf": {p: value}, "min_dcf_threshold": {p: t},
        "n_target", "n_nontarget"}``. EER is where the miss and false-alarm rates cross, linearly
        interpolated between the two neighbouring thresholds.

    Source: EER and C_det = C_miss P_miss P_tar + C_fa P_fa (1 - P_tar), normalised by
    min(C_miss P_tar, C_fa (1 - P_tar)): NIST SRE evaluation plans; same definitions as the
    VoxCeleb / VoxSRC scoring tools (``compute_min_dcf``).
    """
    thresholds, p_miss, p_fa = det_curve(scores, targets)
    i = int(np.argmax(p_miss >= p_fa))  # first threshold where misses catch up with false alarms
    if i == 0:
        eer, eer_t = float(p_fa[0]), float(thresholds[0])
    else:
        d0, d1 = p_fa[i - 1] - p_miss[i - 1], p_fa[i] - p_miss[i]
        w = d0 / (d0 - d1) if d0 != d1 else 0.5
        eer = float((1 - w) * (p_miss[i - 1] + p_fa[i - 1]) / 2 + w * (p_miss[i] + p_fa[i]) / 2)
        eer_t = float((1 - w) * thresholds[i - 1] + w * thresholds[i])
    out: dict[str, Any] = {"eer": eer, "eer_threshold": eer_t, "min_dcf": {}, "min_dcf_threshold": {}}
    for p in p_targets:
        cost = (c_miss * p_miss * p + c_fa * p_fa * (1 - p)) / min(c_miss * p, c_fa * (1 - p))
        j = int(np.argmin(cost))
        out["min_dcf"][str(p)] = float(cost[j])
        out["min_dcf_threshold"][str(p)] = float(thresholds[j])
    out["n_target"] = int(np.asarray(targets).astype(bool).sum())
    out["n_nontarget"] = int(len(targets) - out["n_target"])
    return out


def plot_det(curves: dict[str, tuple[np.ndarray, np.ndarray]], path: str | os.PathLike, *, title: str = "DET curve") -> Path:
    """Write a DET curve PNG: miss vs false-alarm probability on normal-deviate axes.

    Args:
        curves: ``{legend: (p_miss, p_fa)}`` from `det_curve`.
        path: PNG to write.

    Source: Martin et al. 1997, "The DET curve in assessment of detection task performance".
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from scipy.stats import norm

    from tinyaudio._io import atomic_path

    ticks = np.array([0.001, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 0.95])
    fig = Figure(figsize=(5.5, 5.0), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    eps = 1e-4
    for name, (p_miss, p_fa) in curves.items():
        ax.plot(norm.ppf(np.clip(p_fa, eps, 1 - eps)), norm.ppf(np.clip(p_miss, eps, 1 - eps)), label=name)
    ax.plot(norm.ppf([eps, 1 - eps]), norm.ppf([eps, 1 - eps]), "k:", lw=0.8, label="EER line")
    ax.set_xticks(norm.ppf(ticks), [f"{100 * t:g}" for t in ticks])
    ax.set_yticks(norm.ppf(ticks), [f"{100 * t:g}" for t in ticks])
    lim = norm.ppf([0.0005, 0.97])
    ax.set(xlim=lim, ylim=lim, xlabel="false-alarm rate (%)", ylabel="miss rate (%)", title=title)
    ax.grid(True, lw=0.4)
    ax.legend(fontsize="small")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return path


# -- trials ------------------------------------------------------------------------------------
#: A test item: one clip, or every window of one file scored as one recording (``per_file``).
Item = tuple[Clip, ...]


def make_trials(
    enrol_pool: Sequence[Clip], test_clips: Sequence[Clip], *, n_enrol: int = 10, seed: int = 0, per_file: bool = False,
) -> tuple[dict[str, list[Clip]], list[tuple[str, Item, bool]]]:
    """Enrolment sets and a trial list.

    Each speaker of ``test_clips`` is enrolled from whole files of ``enrol_pool`` taken in a
    seeded order until ``n_enrol`` clips (windows) are reached. When the pool and the tests share
    clips (one set of unseen speakers for both), at most half of a speaker's files (at least one) enrol. A test
    clip from a file used in enrolment is never a test item.

    Args:
        enrol_pool: clips enrolments are drawn from (e.g. the validation split, or the same
            clips as ``test_clips``).
        test_clips: clips to verify.
        n_enrol: enrolment clips per speaker (10 one-second windows = 10 s).
        per_file: one test item per file (its windows averaged: utterance-level trials) instead
            of one per clip.

    Returns:
        ``(enrolments, trials)``: ``{speaker: clips}`` for every speaker of ``test_clips`` with
        enrolment clips, and ``(claimed speaker, test item, is_target)`` for every test item
        against every enrolled speaker.
    """
    rng = random.Random(seed)
    pool: dict[str, dict[Path, list[Clip]]] = {}
    for c in enrol_pool:
        pool.setdefault(c.speaker, {}).setdefault(Path(c.path), []).append(c)
    shared = bool(set(enrol_pool) & set(test_clips))
    enrolments: dict[str, list[Clip]] = {}
    for s in sorted({c.speaker for c in test_clips}):
        files = sorted(pool.get(s, {}))
        rng.shuffle(files)
        chosen: list[Clip] = []
        for f in files[: max(1, len(files) // 2) if shared else len(files)]:
            if len(chosen) >= n_enrol:
                break
            chosen += pool[s][f][: n_enrol - len(chosen)]
        if chosen:
            enrolments[s] = chosen
    used = {Path(c.path) for clips in enrolments.values() for c in clips}
    items: dict[object, list[Clip]] = {}
    for c in test_clips:
        if Path(c.path) not in used:
            items.setdefault((c.speaker, str(c.path)) if per_file else c, []).append(c)
    trials = [(s, tuple(clips), clips[0].speaker == s) for clips in items.values() for s in enrolments]
    return enrolments, trials


class TrialScores(NamedTuple):
    """Scores of a trial list (`score_trials`)."""

    #: float64 (n_trials,): `SpeakerEmbedder.score` of each trial.
    scores: np.ndarray
    #: bool (n_trials,): the test item is one recording shorter than the model window (the run's
    #: ``short_threshold`` applies to it, `tinyaudio.runtime.speaker.default_threshold`).
    short: np.ndarray


def score_trials(
    embedder: SpeakerEmbedder,
    enrolments: dict[str, list[Clip]],
    trials: Sequence[tuple[str, Item, bool]],
    *,
    progress: str | None = None,
    recording: Callable[[Clip, np.ndarray], np.ndarray] | None = None,
) -> TrialScores:
    """Scores of a trial list, as `tinyaudio.runtime.speaker` scores at run time.

    A profile is the unit mean of its enrolment clips' window embeddings (`enroll`); a test item
    the unit mean of its clips' window embeddings; the score is `SpeakerEmbedder.score` (cosine,
    s-normalised when the run has a cohort). A clip is ``clip_duration`` seconds from its offset
    (a window of a long utterance is that window, not the whole file); one shorter than the model
    window is filled as the embedder's ``fill`` says (`tinyaudio.runtime.speaker.windows`).

    Args:
        progress: a description to show a progress bar with, or None.
        recording: ``(clip, samples) -> samples``: what is embedded instead of the clip's audio
            (e.g. a short piece of it, `short_recording_eer`); None: the clip as it is.

    Returns:
        `TrialScores`: the scores and which test items are short recordings.
    """
    from tinyaudio.runtime.speaker import unit

    cfg = embedder.feature_config
    cache: dict[Clip, np.ndarray] = {}
    short: set[Clip] = set()

    def windows_of(clips: Sequence[Clip]) -> np.ndarray:
        for c in clips:
            if c not in cache:  # a clip is clip_duration from its offset, as in training (a shorter file: all of it)
                samples = load_audio(c.path, cfg.sample_rate, offset=c.offset, duration=cfg.clip_duration)
                samples = samples if recording is None else recording(c, samples)
                cache[c] = embedder.window_embeddings(samples)
                if embedder.is_short(samples):
                    short.add(c)
        return np.concatenate([cache[c] for c in clips])

    profiles = {s: unit(windows_of(clips).mean(axis=0)) for s, clips in enrolments.items()}
    items = list(dict.fromkeys(item for _, item, _ in trials))
    if progress:
        from rich.progress import track

        items = track(items, description=progress, transient=True)
    tests = {item: unit(windows_of(item).mean(axis=0)) for item in items}
    return TrialScores(np.array([embedder.score(profiles[s], tests[item]) for s, item, _ in trials], dtype=np.float64),
                       np.array([len(item) == 1 and item[0] in short for _, item, _ in trials], dtype=bool))


#: Short recordings of `short_recording_eer`: this much of a clip's speech, seconds (FSDD's digits
#: are 0.44 s on average, a one-word "verify" clip is as short).
SHORT_RECORDING_S = (0.3, 0.7)


def short_recording_eer(
    embedder: SpeakerEmbedder, clips: Sequence[Clip], *, n_enrol: int = 10, seed: int = 0,
    false_accept_rate: float | None = None,
) -> dict[str, Any]:
    """Verification metrics when every recording is a short piece of speech (one word).

    Each clip is cut to 0.3-0.7 s of its speech (`tinyaudio.augment.speech_piece`, seeded per
    clip); every speaker is enrolled from ``n_enrol`` such pieces (at most half their files) and
    every other piece is a test item (`make_trials` with ``clips`` as pool and tests). On
    validation speakers this is the figure that chooses how the runtime fills a recording shorter
    than the window (`tinyaudio.runtime.speaker.SHORT_FILLS`), and the threshold for short test
    recordings: the 1 s validation trials contain almost no short recordings, so they cannot.

    Args:
        embedder: scores with its ``fill`` and cohort.
        clips: clips of speakers the model never trained on (validation speakers to choose).
        false_accept_rate: also choose the threshold for this rate (`threshold_at_false_accept_rate`).

    Returns:
        `verification_metrics` of the trials, plus ``fill``, ``mean_recording_s`` and, with
        ``false_accept_rate``, ``operating_point``.
    """
    from tinyaudio.augment import speech_piece

    sr = embedder.feature_config.sample_rate
    order = {c: i for i, c in enumerate(clips)}
    lengths: list[int] = []

    def piece(clip: Clip, samples: np.ndarray) -> np.ndarray:
        out = speech_piece(samples, sr, np.random.default_rng([seed, order[clip]]),
                           min_s=SHORT_RECORDING_S[0], max_s=SHORT_RECORDING_S[1])
        lengths.append(len(out))
        return out

    enrolments, trials = make_trials(clips, clips, n_enrol=n_enrol, seed=seed)
    scores = score_trials(embedder, enrolments, trials, recording=piece).scores
    targets = np.array([t for _, _, t in trials])
    metrics = verification_metrics(scores, targets)
    metrics.update(fill=embedder.fill, mean_recording_s=round(float(np.mean(lengths)) / sr, 3))
    if false_accept_rate is not None:
        metrics["operating_point"] = threshold_at_false_accept_rate(scores, targets, false_accept_rate)
    return metrics


def threshold_at_false_accept_rate(scores: np.ndarray, targets: np.ndarray, rate: float) -> dict[str, float]:
    """The lowest threshold whose false-accept rate is at most ``rate``, and its miss rate.

    Args:
        scores, targets: as `det_curve` (validation trials: never test ones).
        rate: the false-accept (false-alarm) rate allowed, 0-1.

    Returns:
        ``{"threshold", "false_accept_rate", "false_reject_rate", "target_false_accept_rate"}``.
    """
    thresholds, p_miss, p_fa = det_curve(scores, targets)
    i = int(np.argmax(p_fa <= rate))  # p_fa falls as the threshold rises: the first that meets the rate
    return {"threshold": float(thresholds[i]), "false_accept_rate": float(p_fa[i]),
            "false_reject_rate": float(p_miss[i]), "target_false_accept_rate": float(rate)}


def at_threshold(
    scores: np.ndarray, targets: np.ndarray, threshold: float, *,
    short: np.ndarray | None = None, short_threshold: float | None = None,
) -> dict[str, Any]:
    """False accepts and false rejects of a trial list at the run's thresholds (accepted: ``score >= threshold``).

    Args:
        scores, targets: as `det_curve`.
        threshold: the threshold of every trial, or of the trials not marked ``short``.
        short, short_threshold: bool (n,) trials whose test recording is shorter than the window,
            and their threshold (`tinyaudio.runtime.speaker.default_threshold`); None: no such rule.

    Returns:
        ``{"threshold", "short_threshold", "short_trials", "false_accepts", "false_rejects",
        "false_accept_rate", "false_reject_rate"}``.
    """
    targets = np.asarray(targets).astype(bool)
    per_trial = np.full(len(targets), float(threshold))
    n_short = 0
    if short is not None and short_threshold is not None:
        per_trial[np.asarray(short, dtype=bool)] = short_threshold
        n_short = int(np.sum(short))
    accepted = np.asarray(scores) >= per_trial
    fa, fr = int((accepted & ~targets).sum()), int((~accepted & targets).sum())
    return {"threshold": float(threshold), "short_threshold": None if short_threshold is None else float(short_threshold),
            "short_trials": n_short, "false_accepts": fa, "false_rejects": fr,
            "false_accept_rate": fa / max(1, int((~targets).sum())), "false_reject_rate": fr / max(1, int(targets.sum()))}


def pairwise_eer(embeddings: np.ndarray, speakers: Sequence[str]) -> float:
    """EER of every pair of rows scored by cosine (same speaker = target): a quick model-selection figure.

    Args:
        embeddings: float (n, dim) raw embeddings; they are centred on their mean and normalised.
        speakers: speaker of each row, length n.
    """
    from tinyaudio.runtime.speaker import unit

    e = unit(embeddings - embeddings.mean(axis=0))
    labels = np.asarray(speakers)
    upper = np.triu_indices(len(e), 1)
    return verification_metrics((e @ e.T)[upper], (labels[:, None] == labels[None, :])[upper])["eer"]


def speaker_eval(
    run_dir: str | os.PathLike,
    dataset: str,
    *,
    data_dir: str | os.PathLike | None = None,
    n_enrol: int = 10,
    enrol_split: str = "validation",
    test_split: str = "test",
    per_file: bool = False,
    model: str = "int8",
    seed: int = 0,
    tag: str | None = None,
    threshold: float | None = None,
    short_threshold: float | None = None,
    s_norm: bool = True,
    save_threshold: bool = True,
    progress: bool = False,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """EER / minDCF of a run's embedding model on one dataset's speakers.

    Each speaker of ``dataset`` is enrolled from ``n_enrol`` clips of ``enrol_split``; every
    test item of ``test_split`` is scored against every enrolled speaker (`make_trials`,
    `score_trials`). A split of ``"all"`` is every clip of the dataset: for speakers the run
    never heard, ``enrol_split="all", test_split="all"`` enrols from ``n_enrol`` windows of a
    speaker's files and tests all their other files. ``dataset="speakers"`` is the speaker corpus
    (`tinyaudio.data.speakers`; ``"speakers:speech_commands"`` one source of it): pass
    ``enrol_split="test", test_split="test"`` for its test speakers. The run
    needs its embedding model (`tinyaudio.pipeline.export_embedding`; ``tinyaudio speaker-eval``
    writes it when missing).

    Writes, in ``run_dir`` (``tag`` defaults to the dataset's name): ``trials_{tag}.tsv``
    (claimed speaker, file, offset, target, score; one row per clip of a test item),
    ``det_{tag}.png``, and ``speaker_eval_{tag}.json`` (the metrics); with ``save_threshold``,
    in a run without a cohort (an old speaker-ID run), ``speaker_eval.json`` holds this EER
    threshold as the default for ``tinyaudio verify``. A verification run keeps the threshold
    chosen on its validation speakers.

    Args:
        threshold: also count false accepts and false rejects at this score threshold
            (``at_threshold``): the run's stored operating point, never chosen here.
        short_threshold: the run's threshold for test recordings shorter than the window (with
            ``threshold``; `tinyaudio.runtime.speaker.default_threshold`).
        s_norm: score with the run's cohort when it has one; False gives raw cosines (to
            measure what the normalisation brings).

    Returns:
        metrics dict: ``eer``, ``eer_threshold``, ``min_dcf``, counts, the speakers,
        ``train_speakers_overlap`` (speakers also in the run's training labels: if non-empty
        the trials are not on unseen speakers) and ``at_threshold`` (None without ``threshold``).
    """
    run = RunFolder.open(run_dir)
    run_dir = run.path
    embedder = SpeakerEmbedder(run_dir, model=model)
    if not s_norm:
        embedder.cohort = None
    window_s = embedder.feature_config.clip_duration
    if dataset == "speakers" or dataset.startswith("speakers:"):
        from tinyaudio.data.speakers import SPEAKER_SOURCES, speaker_corpus

        sources = tuple(dataset.split(":", 1)[1].split(",")) if ":" in dataset else tuple(SPEAKER_SOURCES)
        data = speaker_corpus(data_dir, sources=sources, window_s=window_s)
    else:
        kwargs: dict[str, Any] = {"label_by": "speaker"} if dataset in ("fsdd", "librispeech") else {}
        if dataset == "librispeech":
            kwargs["window_s"] = window_s
        data = load_dataset(dataset, data_dir, **kwargs)
    def clips_of(split: str) -> list[Clip]:
        return list(data.clips) if split == "all" else data.split(split)

    enrolments, trials = make_trials(clips_of(enrol_split), clips_of(test_split), n_enrol=n_enrol, seed=seed, per_file=per_file)
    tag = tag or Path(dataset).name.replace(":", "_")
    scores, short = score_trials(embedder, enrolments, trials,
                                 progress=f"embedding {tag} test items" if progress else None)
    targets = np.array([t for _, _, t in trials])
    metrics = verification_metrics(scores, targets)
    metrics.update(
        dataset=dataset, model=model, n_enrol=n_enrol, enrol_split=enrol_split, test_split=test_split,
        trial_unit="file" if per_file else "clip", scoring="s-norm" if embedder.cohort is not None else "cosine",
        speakers=sorted(enrolments), n_test_items=len({item for _, item, _ in trials}),
        train_speakers_overlap=sorted(set(run.labels) & set(enrolments)),
        at_threshold=None if threshold is None else at_threshold(scores, targets, threshold, short=short,
                                                                 short_threshold=short_threshold),
    )
    buf = io.StringIO()
    w = csv.writer(buf, delimiter="\t", lineterminator="\n")
    w.writerow(["claimed_speaker", "path", "offset_s", "target", "score"])
    for (s, item, t), sc in zip(trials, scores):
        for c in item:
            w.writerow([s, str(c.path), c.offset, int(t), f"{sc:.5f}"])
    run.write_text(f"trials_{tag}.tsv", buf.getvalue())
    metrics["trials_file"] = f"trials_{tag}.tsv"  # names inside the run folder (it may still be a temporary sibling)
    _, p_miss, p_fa = det_curve(scores, targets)
    try:
        plot_det({f"{tag} (EER {100 * metrics['eer']:.1f} %)": (p_miss, p_fa)}, run_dir / f"det_{tag}.png",
                 title=f"DET, {len(enrolments)} speakers, {len(trials)} trials ({model})")
        run.record(f"det_{tag}.png")
        metrics["det_png"] = f"det_{tag}.png"
    except ImportError:
        pass
    run.write_json(f"speaker_eval_{tag}.json", metrics)
    if save_threshold and not run.file(SPEAKER_COHORT).exists():
        run.write_json(SPEAKER_EVAL, {"threshold": metrics["eer_threshold"], "from": f"speaker_eval_{tag}.json"})
    return metrics
