"""One-command recipes: several training runs and a report (``tinyaudio recipe NAME``).

``fire-alarm``: the RP2040 seed's flow. A ~15 K-parameter CNN learns the 50 ESC-50 classes
from 1 s soundbites; its head is swapped for one sigmoid unit and trained on fire / smoke alarm
soundbites against everyday sounds, noise and speech (frozen backbone, then fine-tuning), with
noise augmentation, quantization-aware training and an int8 C array. The same detector trained
from scratch on the same data is the control.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, Callable

from tinyaudio.evaluate.classify import clip_accuracy
from tinyaudio.pipeline.train import train
from tinyaudio.runtime.run_folder import RunFolder
from tinyaudio.train.config import TrainConfig


@dataclasses.dataclass(frozen=True)
class FireAlarmRecipe:
    """Settings of the ``fire-alarm`` recipe (saved as ``recipe.json``).

    Attributes:
        model, features: base model and feature preset (the detector inherits both).
        base_epochs, base_lr: ESC-50 50-class training with noise augmentation; early stopping
            on validation accuracy (patience 12): its validation loss rises from epoch 1.
        freeze_backbone_epochs, fine_tune_epochs, fine_tune_lr, head_lr: transfer stages.
        scratch_epochs: the from-scratch control (same data, same augmentation).
        augment_copies: noise-augmented copies of every detector training window.
        qat_epochs: quantization-aware fine-tuning of the transferred detector.
        target_max_fpr: the detector's threshold is the highest-recall one with at most this
            false-positive rate on validation windows.
        seed: every run's seed.
        synthetic: synthetic alarm recordings added to the detector's positives (`tinyaudio.data.alarms`).
        real_positives: False trains the detector on synthetic alarms only (test stays real).
    """

    model: str = "cnn_resize32"
    features: str = "logmel_61x40"
    base_epochs: int = 60
    base_lr: float = 3e-3
    freeze_backbone_epochs: int = 20
    fine_tune_epochs: int = 20
    head_lr: float = 3e-3
    fine_tune_lr: float = 1e-4
    scratch_epochs: int = 40
    augment_copies: int = 1
    qat_epochs: int = 8
    target_max_fpr: float = 0.02
    seed: int = 0
    synthetic: int = 0
    real_positives: bool = True

    def detector(self) -> dict[str, Any]:
        """`TrainConfig` fields the detector's runs share (transfer and from scratch)."""
        return dict(dataset="fire_alarm", keyword="fire_alarm", augment="noise", augment_copies=self.augment_copies,
                    target_max_fpr=self.target_max_fpr, seed=self.seed, patience=8, synthetic=self.synthetic,
                    real_positives=self.real_positives)

    def transfer_config(self, base: str | os.PathLike, **changes: Any) -> TrainConfig:
        """The transferred detector: a new sigmoid head on ``base``, frozen then fine-tuned, QAT.

        ``changes`` replace `TrainConfig` fields (``benchmarks/alarm_loro.py``: ``holdout_recording``,
        ``qat=False``).
        """
        return TrainConfig(**{**self.detector(), "base": str(base), "learning_rate": self.head_lr,
                              "freeze_backbone_epochs": self.freeze_backbone_epochs,
                              "fine_tune_epochs": self.fine_tune_epochs, "fine_tune_lr": self.fine_tune_lr,
                              "qat": True, "qat_epochs": self.qat_epochs, **changes})

    @classmethod
    def quick(cls) -> FireAlarmRecipe:
        """A minutes-long variant for smoke tests (numbers are not meaningful)."""
        return cls(base_epochs=3, freeze_backbone_epochs=2, fine_tune_epochs=2, scratch_epochs=3, qat_epochs=1)


def _detector_summary(metrics: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"test_windows": metrics["counts"]["test"],
                           "positive_test_windows": metrics["test"]["int8"]["confusion"]["tp"]
                           + metrics["test"]["int8"]["confusion"]["fn"]}
    for kind in ("float", "int8", "int8_qat"):
        if kind in metrics["test"]:
            out[f"{kind}_roc_auc"] = metrics["test"][kind]["roc_auc"]
    for kind in ("int8", "int8_qat"):
        op = metrics.get("operating_point", {}).get(kind)
        if op:
            out[f"{kind}_threshold"] = op["threshold"]
            out[f"{kind}_test_recall"] = op["test"]["recall"]
            out[f"{kind}_test_false_positive_rate"] = op["test"]["false_positive_rate"]
            out[f"{kind}_test_accuracy"] = op["test"]["accuracy"]
    return out


def fire_alarm_recipe(
    out_dir: str | os.PathLike,
    *,
    recipe: FireAlarmRecipe = FireAlarmRecipe(),
    base: str | os.PathLike | None = None,
    data_dir: str | os.PathLike | None = None,
    overwrite: bool = False,
    log: Callable[[str], None] = print,
    verbose: int = 0,
) -> dict[str, Any]:
    """ESC-50 base -> transfer to a fire-alarm detector (QAT, int8, C array) -> from-scratch control -> report.

    Writes ``out_dir/base/`` (unless ``base`` names an existing run), ``out_dir/transfer/``
    (the detector: ``model_int8.tflite``, ``model_int8.h``, ``model_int8_qat.*``,
    ``threshold.json``, ROC / PR PNGs), ``out_dir/scratch/``, ``recipe.json``, ``report.json``
    and ``report.md``.

    Returns:
        the report dict.

    Raises:
        FolderExistsError: ``out_dir`` (or one of its runs) exists and ``overwrite`` is False, or holds
            files tinyaudio did not write. Each run folder is built atomically; an interrupted recipe
            keeps the runs it finished.
    """
    RunFolder.check_target(out_dir, overwrite=overwrite)  # before any work: nothing of the user's is replaced
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    folder = RunFolder(out_dir)
    folder.write_json("recipe.json", dataclasses.asdict(recipe))
    r = recipe
    if base is None:
        base = out_dir / "base"
        log(f"[1/3] base: {r.model} on ESC-50 soundbites (50 classes) -> {base}")
        train(TrainConfig(dataset="esc50_soundbites", model=r.model, features=r.features, epochs=r.base_epochs,
                          patience=12, learning_rate=r.base_lr, seed=r.seed, augment="noise", monitor="val_accuracy"),
              base, data_dir=data_dir, overwrite=overwrite, log=log, verbose=verbose)
        folder.record("base")
    base = Path(base)
    base_metrics = RunFolder.open(base).metrics
    base_clips = clip_accuracy(base, data_dir=data_dir)
    log(f"base: 50-class test accuracy int8 {base_metrics['int8_accuracy']:.1%} per 1 s window, "
        f"{base_clips['clip_accuracy']:.1%} per 5 s clip ({base_clips['clips']} clips; chance 2%)")

    log(f"[2/3] transfer: new sigmoid head, {r.freeze_backbone_epochs} frozen + {r.fine_tune_epochs} fine-tune epochs, QAT")
    transfer = train(r.transfer_config(base), out_dir / "transfer", data_dir=data_dir, overwrite=overwrite, log=log,
                     verbose=verbose)
    folder.record("transfer")
    log(f"[3/3] scratch: the same detector from random weights, {r.scratch_epochs} epochs")
    scratch = train(TrainConfig(**r.detector(), model=r.model, features=r.features, epochs=r.scratch_epochs,
                                learning_rate=r.base_lr),
                    out_dir / "scratch", data_dir=data_dir, overwrite=overwrite, log=log, verbose=verbose)
    folder.record("scratch")

    report = {
        "base": {"run": str(base), "classes": len(base_metrics["test"]["int8"]["per_class_recall"]),
                 "float_window_accuracy": base_metrics["float_accuracy"],
                 "int8_window_accuracy": base_metrics["int8_accuracy"], **base_clips,
                 "params": base_metrics["params"]},
        "transfer": {"run": str(out_dir / "transfer"), **_detector_summary(transfer),
                     "stage1_epochs": transfer["transfer"]["stage1_epochs"],
                     "stage2_epochs": transfer["transfer"]["stage2_epochs"],
                     "c_array": str(out_dir / "transfer" / "model_int8.h"),
                     "int8_bytes": transfer["sizes_bytes"]["int8"]},
        "scratch": {"run": str(out_dir / "scratch"), **_detector_summary(scratch)},
        "target_max_fpr": r.target_max_fpr,
    }
    folder.write_json("report.json", report)
    folder.write_text("report.md", report_markdown(report))
    return report


def report_markdown(report: dict[str, Any]) -> str:
    """The recipe report as a Markdown page (what ``report.md`` holds)."""
    b, t, s = report["base"], report["transfer"], report["scratch"]

    def pct(v):
        return "n/a" if v is None else f"{100 * v:.1f} %"

    rows = []
    for name, d in (("transfer (ESC-50 base)", t), ("from scratch", s)):
        for kind in ("int8", "int8_qat"):
            if f"{kind}_threshold" in d:
                rows.append(f"| {name} | {kind} | {d[f'{kind}_threshold']:.3f} | {pct(d[f'{kind}_test_recall'])} | "
                            f"{pct(d[f'{kind}_test_false_positive_rate'])} | {d[f'{kind}_roc_auc']:.3f} |")
    return "\n".join([
        "# Fire-alarm detector report",
        "",
        f"Base: {b['params']} parameters, ESC-50 {b['classes']} classes, test split by `src_file`: "
        f"int8 {pct(b['int8_window_accuracy'])} per 1 s window ({b['windows']} windows), "
        f"{pct(b['clip_accuracy'])} per clip ({b['clips']} clips, mean of window scores); chance 2 %.",
        "",
        f"Detector test split: a held-out alarm recording and held-out negatives, {t['test_windows']} windows "
        f"({t['positive_test_windows']} alarm). Threshold: highest validation recall at false-positive rate "
        f"<= {report['target_max_fpr']}.",
        "",
        "| detector | model | threshold | recall | false-positive rate | ROC AUC |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
        f"C array: `{t['c_array']}` ({t['int8_bytes']} bytes of int8 .tflite).",
        "",
    ])
