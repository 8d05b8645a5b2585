"""Operating threshold of a binary detector, chosen on validation, reported on test; ROC / PR plots.

A detector outputs a score in [0, 1]; the threshold trades missed events against false alarms.
It is picked on the validation split from one target (a maximum false-positive rate or a
minimum recall), never on test, and the run folder stores it in ``threshold.json``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from tinyaudio.errors import ConfigError
from tinyaudio.runtime.litert import TFLiteModel
from tinyaudio.runtime.run_folder import THRESHOLD, RunFolder


def choose_threshold(
    y_true: np.ndarray,
    scores: np.ndarray,
    *,
    max_fpr: float | None = None,
    min_recall: float | None = None,
) -> float:
    """Decision threshold meeting one target on (validation) scores.

    Args:
        y_true: 1 for the event, 0 otherwise, shape (n,); needs both classes.
        scores: event scores, shape (n,); the detector fires when ``score >= threshold``.
        max_fpr: the highest-recall threshold whose false-positive rate (fp / negatives) is
            at most this; or
        min_recall: the threshold with the fewest false positives whose recall is at least this.
            Give exactly one; with neither, 0.5.

    Returns:
        the threshold, one of the observed scores (or just above the largest negative score
        when only "never fire" meets ``max_fpr``), as a float.

    Raises:
        ValueError: both targets given, a target outside [0, 1], or a single-class ``y_true``.
    """
    if max_fpr is not None and min_recall is not None:
        raise ConfigError("give max_fpr or min_recall, not both")
    if max_fpr is None and min_recall is None:
        return 0.5
    target = max_fpr if max_fpr is not None else min_recall
    if not 0.0 <= target <= 1.0:
        raise ConfigError(f"target must be in [0, 1], got {target}")
    y = np.asarray(y_true).astype(int)
    s = np.asarray(scores, dtype=np.float64)
    if y.min() == y.max():
        raise ConfigError("threshold choice needs both positives and negatives in the split")
    # "never fire": the next float32 above the top score, so float32 scores compare the same way
    never = float(np.nextafter(np.float32(s.max()), np.float32(np.inf)))
    candidates = np.unique(np.concatenate([s, [never]]))
    fires = s[None, :] >= candidates[:, None]  # (n_candidates, n)
    fpr = (fires & (y == 0)).sum(axis=1) / max(1, (y == 0).sum())
    recall = (fires & (y == 1)).sum(axis=1) / max(1, (y == 1).sum())
    if max_fpr is not None:
        ok = np.flatnonzero(fpr <= max_fpr)
        best = ok[np.argmax(recall[ok] - 1e-9 * candidates[ok])]  # ties: the lowest threshold
    else:
        ok = np.flatnonzero(recall >= min_recall)
        best = ok[np.argmin(fpr[ok] - 1e-9 * candidates[ok])]  # ties: the highest threshold
    return float(candidates[best])


def rates(y_true: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, Any]:
    """Recall, false-positive rate, precision and counts when firing at ``score >= threshold``."""
    y = np.asarray(y_true).astype(int)
    fire = np.asarray(scores, dtype=np.float64) >= np.float64(threshold)
    tp, fp = int(np.sum(fire & (y == 1))), int(np.sum(fire & (y == 0)))
    fn, tn = int(np.sum(~fire & (y == 1))), int(np.sum(~fire & (y == 0)))
    return {
        "threshold": float(threshold),
        "recall": tp / (tp + fn) if tp + fn else 0.0,
        "false_positive_rate": fp / (fp + tn) if fp + tn else 0.0,
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "accuracy": (tp + tn) / max(1, len(y)),
        "confusion": {"tp": tp, "fp": fp, "fn": fn, "tn": tn},
    }


def source_of(speaker: str, depth: int) -> str:
    """The first ``depth`` ``/``-separated parts of a clip's source id (``alarm/<stem>/train`` ->
    ``alarm/<stem>`` at depth 2, ``esc50/108352`` -> ``esc50`` at depth 1)."""
    return "/".join(speaker.split("/")[:depth])


def rates_by_source(y_true: np.ndarray, scores: np.ndarray, threshold: float, speakers: list[str],
                    max_sources: int = 20) -> dict[str, dict[str, Any]]:
    """Per source, the share of its windows that fire at ``score >= threshold``: the recall of a
    positive source, the false-positive rate of a negative one, so the worst recording shows.

    A source is a clip's source id (``Clip.speaker``) cut to two ``/`` parts (``alarm/<stem>``,
    ``noise/white_noise``), or to one part (``esc50``, ``speech``) for a label whose sources
    would number more than ``max_sources`` that way; a label with more than ``max_sources``
    sources even then (hash-split speakers) is left out.

    Returns:
        ``{source: {"label": 0 | 1, "windows": n, "fired": k, "rate": k / n}}``, sources sorted.
    """
    y = np.asarray(y_true).astype(int)
    fire = np.asarray(scores, dtype=np.float64) >= np.float64(threshold)
    out: dict[str, dict[str, Any]] = {}
    for label in (0, 1):
        idx = np.flatnonzero(y == label)
        for depth in (2, 1):
            sources = np.array([source_of(speakers[i], depth) for i in idx])
            if len(set(sources)) <= max_sources:
                break
        else:
            continue
        for source in sorted(set(sources)):
            members = idx[sources == source]
            fired = int(fire[members].sum())
            out[source] = {"label": label, "windows": int(len(members)), "fired": fired,
                           "rate": round(fired / len(members), 4)}
    return dict(sorted(out.items()))


def plot_roc_pr(
    y_true: np.ndarray, scores: np.ndarray, threshold: float, out_dir: str | os.PathLike, *, tag: str = "int8"
) -> list[Path]:
    """Write ``roc_<tag>.png`` and ``pr_<tag>.png`` with the operating point marked.

    Args:
        y_true, scores: test labels (0 / 1) and scores, shape (n,).
        threshold: the chosen operating threshold (drawn as a dot on both curves).

    Returns:
        the two paths. Needs matplotlib (the ``train`` extra).
    """
    from sklearn.metrics import auc, precision_recall_curve, roc_curve

    from tinyaudio.features.plot import _figure, _save_all

    y = np.asarray(y_true).astype(int)
    op = rates(y, scores, threshold)
    fpr, tpr, _ = roc_curve(y, scores)
    precision, recall, _ = precision_recall_curve(y, scores)
    roc_fig, ax = _figure(4.5, 4.0)
    ax.plot(fpr, tpr, label=f"ROC (AUC {auc(fpr, tpr):.3f})")
    ax.plot([0, 1], [0, 1], ls="--", c="grey", lw=0.8)
    ax.plot([op["false_positive_rate"]], [op["recall"]], "o", c="red", label=f"threshold {threshold:.3f}")
    ax.set_xlabel("false-positive rate")
    ax.set_ylabel("recall (true-positive rate)")
    ax.set_title(f"ROC, {tag}, test split")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="lower right")
    pr_fig, ax = _figure(4.5, 4.0)
    ax.plot(recall, precision, label="precision-recall")
    ax.plot([op["recall"]], [op["precision"]], "o", c="red", label=f"threshold {threshold:.3f}")
    ax.axhline(float(np.mean(y)), ls="--", c="grey", lw=0.8, label="chance (positive share)")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_ylim(0, 1.02)
    ax.set_title(f"precision-recall, {tag}, test split")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="lower left")
    out_dir = Path(out_dir)
    paths = [out_dir / f"roc_{tag}.png", out_dir / f"pr_{tag}.png"]
    _save_all([roc_fig, pr_fig], paths)
    return paths


def operating_point(
    run_dir: str | os.PathLike,
    validation: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    *,
    max_fpr: float | None = None,
    min_recall: float | None = None,
    kinds: tuple[str, ...] = ("int8", "int8_qat"),
    sources: tuple[list[str], list[str]] | None = None,
) -> dict[str, Any]:
    """Choose each int8 model's threshold on validation, measure it on test, plot, save ``threshold.json``.

    Args:
        run_dir: run folder holding ``model_<kind>.tflite`` (kinds that are absent are skipped).
        validation, test: ``(features, y)`` with y 0 / 1.
        max_fpr, min_recall: the target (see `choose_threshold`).
        sources: the validation and test windows' source ids (``Clip.speaker``); each split's
            rates then gain ``by_source`` (`rates_by_source`).

    Returns:
        ``{"target": {...}, kind: {"threshold": t, "validation": rates, "test": rates}}``, also
        written to ``threshold.json``; ``roc_<kind>.png`` and ``pr_<kind>.png`` are written too.
    """
    run = RunFolder(run_dir)
    out: dict[str, Any] = {"target": {"max_fpr": max_fpr, "min_recall": min_recall}}
    for name, (_, y) in (("validation", validation), ("test", test)):
        if len(set(np.asarray(y).tolist())) < 2:  # e.g. a tiny subsample: nothing to choose or plot
            out["skipped"] = f"the {name} split has a single class; no threshold chosen"
            run.write_json(THRESHOLD, out)
            return out
    for kind in kinds:
        path = run.model_path(kind)
        if not path.exists():
            continue
        model = TFLiteModel(path)
        val_scores = model.predict(validation[0])[:, 0]
        test_scores = model.predict(test[0])[:, 0]
        t = choose_threshold(validation[1], val_scores, max_fpr=max_fpr, min_recall=min_recall)
        out[kind] = {"threshold": t, "validation": rates(validation[1], val_scores, t),
                     "test": rates(test[1], test_scores, t)}
        if sources is not None:
            for name, (_, y), scores, ids in (("validation", validation, val_scores, sources[0]),
                                              ("test", test, test_scores, sources[1])):
                out[kind][name]["by_source"] = rates_by_source(y, scores, t, ids)
        try:
            run.record(*(p.name for p in plot_roc_pr(test[1], test_scores, t, run.path, tag=kind)))
        except ImportError:  # matplotlib missing: numbers are still written
            pass
    run.write_json(THRESHOLD, out)
    return out
