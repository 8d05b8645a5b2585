"""Re-score a run folder on a dataset split with its .tflite models (no TensorFlow needed)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from tinyaudio.features.cache import dataset_features
from tinyaudio.runtime.run import Classifier
from tinyaudio.train.metrics import binary_metrics, classification_metrics
from tinyaudio.train.trainer import TrainConfig, load_training_data


def evaluate_run(
    run_dir: str | os.PathLike,
    *,
    dataset: str | None = None,
    data_dir: str | os.PathLike | None = None,
    split: str = "test",
    model: str = "int8",
) -> dict[str, Any]:
    """Metrics of one model of a run folder on one split.

    Args:
        run_dir: folder written by `train`.
        dataset: dataset name or folder; default the one in the run's ``config.json``.
        split: ``"train"``, ``"validation"`` or ``"test"``.
        model: ``"int8"``, ``"float"`` or ``"dynamic"``.

    Returns:
        the same metrics `train` writes for that model (accuracy, confusion matrix; precision /
        recall / F1 / ROC AUC for a keyword detector).

    Raises:
        ConfigMismatchError: the run's feature config does not fit its model.
        DatasetError: the dataset lacks one of the run's labels.
    """
    run_dir = Path(run_dir)
    config = TrainConfig.from_dict(json.loads((run_dir / "config.json").read_text()))
    if dataset is not None:
        config = TrainConfig.from_dict({**config.to_dict(), "dataset": dataset})
    classifier = Classifier(run_dir, model=model)
    data = load_training_data(config, data_dir)
    for label in data.labels:
        if label not in classifier.labels:
            from tinyaudio.errors import DatasetError

            raise DatasetError(f"label {label!r} of {data.name} is unknown to {run_dir} (labels.txt: {classifier.labels})")
    x, kept, _ = dataset_features(data.split(split), classifier.feature_config, skip_bad=config.skip_bad)
    y = np.array([classifier.labels.index(c.label) for c in kept])
    scores = classifier.scores(x)
    if classifier.binary:
        return binary_metrics(y, scores[:, 1])
    return classification_metrics(y, scores, classifier.labels)
