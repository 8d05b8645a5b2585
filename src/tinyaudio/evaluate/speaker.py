"""Speaker verification metrics (EER, minDCF, DET) of a speaker run's embedding model.

`speaker_eval` scores a trial list (every test clip of a dataset against every enrolled speaker)
with the int8 embedding model and reports EER and minDCF; use a dataset whose speakers the model
never heard to measure verification of new people.
"""

from __future__ import annotations

import csv
import io
import os
import random
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from tinyaudio.data.audio import load_audio
from tinyaudio.data.dataset import Clip
from tinyaudio.data.loaders import load_dataset
from tinyaudio.errors import ConfigError
from tinyaudio.runtime.run_folder import SPEAKER_EVAL, RunFolder
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
def make_trials(
    enrol_pool: Sequence[Clip], test_clips: Sequence[Clip], *, n_enrol: int = 10, seed: int = 0,
) -> tuple[dict[str, list[Clip]], list[tuple[str, Clip, bool]]]:
    """Enrolment sets and a trial list.

    Args:
        enrol_pool: clips enrolments are drawn from (e.g. the validation split).
        test_clips: clips to verify (e.g. the test split); never used for enrolment.
        n_enrol: clips per enrolled speaker, drawn without replacement (seeded).

    Returns:
        ``(enrolments, trials)``: ``{speaker: clips}`` for every speaker of ``test_clips`` that
        has enrolment clips, and ``(claimed speaker, test clip, is_target)`` for every test
        clip against every enrolled speaker.
    """
    rng = random.Random(seed)
    pool: dict[str, list[Clip]] = {}
    for c in enrol_pool:
        pool.setdefault(c.speaker, []).append(c)
    test_speakers = sorted({c.speaker for c in test_clips})
    enrolments = {s: rng.sample(pool[s], min(n_enrol, len(pool[s]))) for s in test_speakers if pool.get(s)}
    trials = [(s, c, c.speaker == s) for c in test_clips for s in enrolments]
    return enrolments, trials


def speaker_eval(
    run_dir: str | os.PathLike,
    dataset: str,
    *,
    data_dir: str | os.PathLike | None = None,
    n_enrol: int = 10,
    enrol_split: str = "validation",
    test_split: str = "test",
    model: str = "int8",
    seed: int = 0,
    save_threshold: bool = True,
    progress: bool = False,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """EER / minDCF of a run's embedding model on one dataset's speakers.

    Each speaker of ``dataset`` is enrolled from ``n_enrol`` clips of ``enrol_split``; every
    clip of ``test_split`` is scored (cosine) against every enrolled speaker. Clips are embedded
    as `tinyaudio.runtime.speaker.SpeakerEmbedder` does at run time (a clip shorter than the
    model window is tiled to fill it). The run needs its embedding model
    (`tinyaudio.pipeline.export_embedding`; ``tinyaudio speaker-eval`` writes it when missing).

    Writes, in ``run_dir``: ``trials_{dataset}.tsv`` (claimed speaker, file, offset, target,
    score), ``det_{dataset}.png``, and ``speaker_eval_{dataset}.json`` (the metrics); with
    ``save_threshold``, ``speaker_eval.json`` holds this EER threshold as the default for
    ``tinyaudio verify``.

    Returns:
        metrics dict: ``eer``, ``eer_threshold``, ``min_dcf``, counts, the speakers, and
        ``train_speakers_overlap`` (speakers also in the run's training labels: if non-empty
        the trials are not on unseen speakers).
    """
    run = RunFolder.open(run_dir)
    run_dir = run.path
    embedder = SpeakerEmbedder(run_dir, model=model)
    kwargs = {"label_by": "speaker"} if dataset in ("fsdd", "librispeech") else {}
    data = load_dataset(dataset, data_dir, **kwargs)
    enrolments, trials = make_trials(data.split(enrol_split), data.split(test_split), n_enrol=n_enrol, seed=seed)
    cfg = embedder.feature_config
    cache: dict[Clip, np.ndarray] = {}

    def emb(c: Clip) -> np.ndarray:
        if c not in cache:
            duration = cfg.clip_duration if c.offset else None
            cache[c] = embedder.window_embeddings(load_audio(c.path, cfg.sample_rate, offset=c.offset, duration=duration))
        return cache[c]

    profiles = {}
    for s, clips in enrolments.items():
        m = np.concatenate([emb(c) for c in clips]).mean(axis=0)
        profiles[s] = m / max(float(np.linalg.norm(m)), 1e-12)
    tests = sorted({c for _, c, _ in trials}, key=lambda c: (str(c.path), c.offset))
    test_emb = {}
    to_embed: Sequence[Clip] = tests
    if progress:
        from rich.progress import track

        to_embed = track(tests, description=f"embedding {len(tests)} {Path(dataset).name} test clips", transient=True)
    for c in to_embed:
        m = emb(c).mean(axis=0)
        test_emb[c] = m / max(float(np.linalg.norm(m)), 1e-12)
    scores = np.array([float(np.dot(test_emb[c], profiles[s])) for s, c, _ in trials])
    targets = np.array([t for _, _, t in trials])
    metrics = verification_metrics(scores, targets)
    train_labels = set(run.labels)
    metrics.update(
        dataset=dataset, model=model, n_enrol=n_enrol, enrol_split=enrol_split, test_split=test_split,
        speakers=sorted(profiles), n_test_clips=len(tests),
        train_speakers_overlap=sorted(train_labels & set(profiles)),
    )
    tag = Path(dataset).name
    buf = io.StringIO()
    w = csv.writer(buf, delimiter="\t", lineterminator="\n")
    w.writerow(["claimed_speaker", "path", "offset_s", "target", "score"])
    for (s, c, t), sc in zip(trials, scores):
        w.writerow([s, str(c.path), c.offset, int(t), f"{sc:.5f}"])
    run.write_text(f"trials_{tag}.tsv", buf.getvalue())
    metrics["trials_file"] = str(run_dir / f"trials_{tag}.tsv")
    _, p_miss, p_fa = det_curve(scores, targets)
    try:
        plot_det({f"{tag} (EER {100 * metrics['eer']:.1f} %)": (p_miss, p_fa)}, run_dir / f"det_{tag}.png",
                 title=f"DET, {len(profiles)} speakers, {len(trials)} trials ({model})")
        run.record(f"det_{tag}.png")
        metrics["det_png"] = str(run_dir / f"det_{tag}.png")
    except ImportError:
        pass
    run.write_json(f"speaker_eval_{tag}.json", metrics)
    if save_threshold:
        run.write_json(SPEAKER_EVAL, {"threshold": metrics["eer_threshold"], "from": f"speaker_eval_{tag}.json"})
    return metrics
