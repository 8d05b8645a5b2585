"""Classification metrics for the run folder's ``metrics.json`` (NumPy + scikit-learn)."""

from __future__ import annotations

from typing import Sequence

import numpy as np


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """int64 (n_classes, n_classes); row = true class, column = predicted class."""
    matrix = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return matrix


def classification_metrics(y_true: np.ndarray, probs: np.ndarray, labels: Sequence[str]) -> dict:
    """Accuracy, per-class recall and the confusion matrix of a multi-class model.

    Args:
        y_true: int class indices, shape (n,).
        probs: float scores, shape (n, n_classes).
    """
    y_true = np.asarray(y_true)
    y_pred = probs.argmax(axis=1)
    matrix = confusion_matrix(y_true, y_pred, len(labels))
    support = matrix.sum(axis=1)
    recall = np.divide(np.diag(matrix), support, out=np.zeros(len(labels)), where=support > 0)
    return {
        "n": int(len(y_true)),
        "accuracy": float(np.mean(y_pred == y_true)) if len(y_true) else 0.0,
        "per_class_recall": {label: round(float(r), 4) for label, r in zip(labels, recall)},
        "confusion_matrix": matrix.tolist(),
    }


def binary_metrics(y_true: np.ndarray, scores: np.ndarray, *, threshold: float = 0.5) -> dict:
    """Detector metrics for a one-vs-rest keyword model.

    Args:
        y_true: 1 for the keyword, 0 otherwise, shape (n,).
        scores: keyword probability in [0, 1], shape (n,).
        threshold: decision threshold on ``scores``.

    Returns:
        accuracy, precision, recall, F1, ROC AUC, the all-negative baseline accuracy (what a
        model that never fires scores: the keyword is rare), the confusion counts, and the
        keyword's share of the split.
    """
    from sklearn.metrics import roc_auc_score

    y_true = np.asarray(y_true).astype(int)
    y_pred = (np.asarray(scores) >= threshold).astype(int)
    tp = int(np.sum((y_pred == 1) & (y_true == 1)))
    fp = int(np.sum((y_pred == 1) & (y_true == 0)))
    fn = int(np.sum((y_pred == 0) & (y_true == 1)))
    tn = int(np.sum((y_pred == 0) & (y_true == 0)))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    auc = float(roc_auc_score(y_true, scores)) if 0 < y_true.sum() < len(y_true) else float("nan")
    return {
        "n": int(len(y_true)),
        "threshold": threshold,
        "accuracy": float(np.mean(y_pred == y_true)),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "roc_auc": auc,
        "baseline_all_negative_accuracy": float(np.mean(y_true == 0)),
        "positive_fraction": float(np.mean(y_true == 1)),
        "confusion": {"tp": tp, "fp": fp, "fn": fn, "tn": tn},
    }
