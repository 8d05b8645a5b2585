"""Export a trained run folder: `RunFolder` reads it, `tinyaudio.export` writes the project.

The exporter sits below `tinyaudio.runtime` in the stage order, so it never opens a run folder
itself: these functions hand it the model bytes, `FeatureConfig`, labels and the run's own clips.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from tinyaudio.data import load_dataset
from tinyaudio.errors import RunFolderError
from tinyaudio.export.cpus import DEFAULT_CPU
from tinyaudio.export.mcu.check import real_model_inputs
from tinyaudio.export.mcu.project import ExportResult, export_project
from tinyaudio.runtime.run_folder import CONFIG, FEATURE_CONFIG, LABELS, STEP_SPEC, RunFolder
from tinyaudio.runtime.stream import DecisionRule


def export_run(
    run_dir: str | os.PathLike,
    out_dir: str | os.PathLike | None = None,
    *,
    target: str = "c",
    board: str | None = None,
    step_ms: float = 32.0,
    threshold: float | None = None,
    overwrite: bool = False,
    cache_dir: str | os.PathLike | None = None,
    cpu: str = DEFAULT_CPU,
    streaming: bool = True,
) -> ExportResult:
    """Write a microcontroller project for a run folder's int8 model (`export_project`).

    Args:
        run_dir: folder written by ``tinyaudio train`` (feature config, labels, int8 model).
        out_dir: project folder; default ``run_dir/mcu_<target>``.
        threshold: smoothed score the firmware's top class must exceed; default the threshold of
            the run's decision rule (``detector.json``, `tinyaudio tune-detector`), else 0.6. The
            rule's smoothing, min count and suppression go to the firmware too (else 0.5 s, 3, 1.5 s).
        streaming: for ``target="c"``, generate the run's streaming step model
            (``model_step_int8.tflite``: the new frames per invoke, states kept in the C) when it has one.
        target, board, step_ms, overwrite, cache_dir, cpu: as `export_project`.

    Raises:
        RunFolderError: a run file is missing or malformed (named in the message).
        ExportError, McuCheckError, BuildError, FolderExistsError: as `export_project`.
    """
    run = RunFolder.open(run_dir, need=(FEATURE_CONFIG, LABELS))
    model_path = run.model_path("int8")
    if not model_path.exists():
        raise RunFolderError(f"{model_path}: missing; is {run.path} a folder written by `tinyaudio train`?")
    out = Path(out_dir) if out_dir is not None else run.path / f"mcu_{target}"
    rule = run.decision_rule() or DecisionRule(threshold=0.6)
    step_path = run.step_model_path("int8")
    step = step_path.read_bytes() if streaming and target == "c" and step_path.exists() and run.file(STEP_SPEC).exists() else None
    return export_project(model_path.read_bytes(), run.feature_config, run.labels, out, source=str(run.path),
                          target=target, board=board, step_ms=step_ms, threshold=rule.threshold if threshold is None else threshold,
                          smoothing_s=rule.smoothing_s, min_count=rule.min_count, suppression_s=rule.suppression_s,
                          overwrite=overwrite, cache_dir=cache_dir, cpu=cpu, step_model=step)


def run_model_inputs(
    run_dir: str | os.PathLike, n_clips: int, *, data_dir: str | os.PathLike | None = None, split: str = "test"
) -> np.ndarray:
    """int8 model inputs of ``n_clips`` clips spread evenly over a run's own dataset split.

    Returns:
        int8, shape (n, n_frames, n_features, 1); n <= n_clips when the split is smaller.

    Raises:
        RunFolderError: a run file is missing, or ``config.json`` names no dataset.
        DatasetError / DownloadError: the dataset is not available.
    """
    run = RunFolder.open(run_dir, need=(CONFIG, FEATURE_CONFIG))
    model_path = run.model_path("int8")
    if not model_path.exists():
        raise RunFolderError(f"{model_path}: missing; comparing outputs needs a run folder written by `tinyaudio train`")
    dataset_name = run.train_config.get("dataset")
    if not dataset_name:
        raise RunFolderError(f"{run.file(CONFIG)}: names no dataset; pass --clips 0 to skip the comparison")
    clips = load_dataset(dataset_name, data_dir).split(split)
    if n_clips < len(clips):
        clips = [clips[i] for i in np.linspace(0, len(clips) - 1, n_clips).round().astype(int)]
    return real_model_inputs(model_path.read_bytes(), run.feature_config, clips)
