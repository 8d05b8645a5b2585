"""Score a run folder's .tflite models on a dataset split (no TensorFlow needed)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from tinyaudio.data.dataset import Clip
from tinyaudio.errors import ConfigError, DatasetError
from tinyaudio.evaluate.metrics import binary_metrics, classification_metrics
from tinyaudio.features.cache import dataset_features
from tinyaudio.runtime.litert import TFLiteModel
from tinyaudio.runtime.run import Classifier
from tinyaudio.runtime.run_folder import CONFIG, RunFolder
from tinyaudio.train.config import TrainConfig
from tinyaudio.train.data import SPLITS, load_training_data


def test_metrics(run: RunFolder, x: np.ndarray, y: np.ndarray, clips: list[Clip], labels: list[str]) -> dict[str, Any]:
    """Metrics of every ``.tflite`` of a run folder on the test features, run with ai-edge-litert.

    Args:
        x: float32 features, shape (n, n_frames, n_features, 1); y: int labels (n,); clips: their sources.

    Returns:
        ``{"test": {kind: metrics}, "float_accuracy": a, "int8_accuracy": b}``; multi-class
        metrics add ``per_speaker_accuracy`` when the test split has at most 20 speakers.
    """
    binary = run.binary
    out: dict[str, Any] = {"test": {}}
    for kind in run.model_kinds():
        scores = TFLiteModel(run.model_path(kind)).predict(x)
        if binary:
            m = binary_metrics(y, scores[:, 0])
        else:
            m = classification_metrics(y, scores, labels)
            m["per_speaker_accuracy"] = per_speaker_accuracy(clips, y, scores.argmax(axis=1))
        out["test"][kind] = m
    out["float_accuracy"] = out["test"]["float"]["accuracy"]
    out["int8_accuracy"] = out["test"]["int8"]["accuracy"]
    return out


def _accuracy_by(keys: list[str], y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, tuple[float, int]]:
    """``{key: (accuracy rounded to 4 places, clips)}`` of the clips sharing each key, keys sorted."""
    keys_array = np.array(keys)
    return {k: (round(float(np.mean(y_pred[keys_array == k] == y_true[keys_array == k])), 4), int((keys_array == k).sum()))
            for k in sorted(set(keys))}


def per_speaker_accuracy(clips: list[Clip], y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """Accuracy per speaker, ``{}`` when there are more than 20 speakers (hash splits)."""
    speakers = [c.speaker for c in clips]
    if len(set(speakers)) > 20:
        return {}
    return {s: accuracy for s, (accuracy, _) in _accuracy_by(speakers, y_true, y_pred).items()}


def accuracy_by_source(clips: list[Clip], y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, dict[str, float]]:
    """Accuracy per kind of source: the part of a clip's speaker before ``:`` (``synthetic``,
    ``speech_commands`` for `tinyaudio.data.loaders.speech_commands_words`), else ``dataset``.

    Returns:
        ``{source: {"accuracy": a, "clips": n}}``, sources sorted.
    """
    sources = [c.speaker.split(":")[0] if ":" in c.speaker else "dataset" for c in clips]
    return {s: {"accuracy": accuracy, "clips": n} for s, (accuracy, n) in _accuracy_by(sources, y_true, y_pred).items()}


def validation_metrics(run: RunFolder, x: np.ndarray, y: np.ndarray, clips: list[Clip]) -> dict[str, Any]:
    """The int8 model's accuracy on the validation split, overall and per kind of source
    (`accuracy_by_source`): how a run does on voices it did not train on (extra speakers,
    synthetic voices) beside its training speakers' other clips, without touching the test split.

    Args:
        x: float32 features, shape (n, n_frames, n_features, 1); y: int labels (n,); clips: their sources.
    """
    pred = TFLiteModel(run.model_path("int8")).predict(x).argmax(axis=1)
    return {"int8_accuracy": round(float(np.mean(pred == y)), 4), "by_source": accuracy_by_source(clips, y, pred)}


def evaluate_run(
    run_dir: str | os.PathLike,
    *,
    dataset: str | None = None,
    data_dir: str | os.PathLike | None = None,
    split: str = "test",
    model: str = "int8",
    recordings_only: bool = False,
) -> dict[str, Any]:
    """Metrics of one model of a run folder on one split.

    Args:
        run_dir: folder written by `train`.
        dataset: dataset name or folder; default the one in the run's ``config.json``.
        split: ``"train"``, ``"validation"`` or ``"test"``.
        model: ``"int8"``, ``"float"`` or ``"dynamic"``.
        recordings_only: score the dataset's own recordings of the split only
            (`TrainConfig.recordings_only`), so a detector trained without real keyword clips
            is measured on real validation speakers.

    Returns:
        the same metrics `train` writes for that model (accuracy, confusion matrix; precision /
        recall / F1 / ROC AUC for a keyword detector). Multi-class metrics cover only the labels
        present in the split (``absent_labels`` lists the others).

    Raises:
        ConfigError: an unknown split.
        ConfigMismatchError: the run's feature config does not fit its model.
        DatasetError: the dataset lacks one of the run's labels.
    """
    if split not in SPLITS:
        raise ConfigError(f"split {split!r}: use one of {', '.join(SPLITS)}")
    run = RunFolder.open(run_dir, need=(CONFIG,))
    config = TrainConfig.from_dict(run.train_config)
    if dataset is not None:
        config = TrainConfig.from_dict({**config.to_dict(), "dataset": dataset})
    if recordings_only:
        config = config.recordings_only()
    classifier = Classifier(run.path, model=model)
    data = load_training_data(config, data_dir)
    for label in data.labels:
        if label not in classifier.labels:
            raise DatasetError(f"label {label!r} of {data.name} is unknown to {run.path} (labels.txt: {classifier.labels})")
    x, kept, _ = dataset_features(data.split(split), classifier.feature_config, skip_bad=config.skip_bad)
    y = np.array([classifier.labels.index(c.label) for c in kept])
    scores = classifier.scores(x)
    if classifier.binary:
        return binary_metrics(y, scores[:, 1])
    present = sorted(set(y.tolist()))
    metrics = classification_metrics(y, scores, classifier.labels)
    absent = [label for i, label in enumerate(classifier.labels) if i not in present]
    if absent:
        metrics["per_class_recall"] = {k: v for k, v in metrics["per_class_recall"].items() if k not in absent}
        metrics["absent_labels"] = absent
    return metrics


def clip_accuracy(run_dir: str | os.PathLike, *, data_dir: str | os.PathLike | None = None, model: str = "int8") -> dict[str, Any]:
    """Window and whole-clip test accuracy of a soundbite classifier run.

    A clip's prediction is the arg-max of its windows' mean scores (silent windows were
    dropped, so only the clip's sounding seconds vote).

    Returns:
        ``{"windows": n, "window_accuracy": a, "clips": m, "clip_accuracy": b}`` on the test split.
    """
    run = RunFolder.open(run_dir, need=(CONFIG,))
    config = TrainConfig.from_dict(run.train_config)
    data = load_training_data(config, data_dir)
    x, kept, _ = dataset_features(data.split("test"), run.feature_config, progress=False)
    scores = TFLiteModel(run.model_path(model)).predict(x[..., None])
    y = np.array([data.labels.index(c.label) for c in kept])
    per_clip: dict[str, list[int]] = {}
    for i, c in enumerate(kept):
        per_clip.setdefault(str(c.path), []).append(i)
    clip_right = [int(scores[idx].mean(axis=0).argmax() == y[idx[0]]) for idx in per_clip.values()]
    return {
        "windows": int(len(y)),
        "window_accuracy": float(np.mean(scores.argmax(axis=1) == y)),
        "clips": len(per_clip),
        "clip_accuracy": float(np.mean(clip_right)),
    }
