"""`train`: dataset -> features -> Keras model -> float / int8 .tflite -> run folder with metrics."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from tinyaudio._io import atomic_path, dataclass_from_dict, write_bytes_atomic, write_text_atomic
from tinyaudio.data.dataset import Clip, Dataset
from tinyaudio.data.loaders import load_dataset
from tinyaudio.features.cache import dataset_features
from tinyaudio.features.config import FeatureConfig
from tinyaudio.train.metrics import binary_metrics, classification_metrics


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run; saved as ``config.json`` in the run folder.

    Attributes:
        dataset: ``fsdd``, ``speech_commands``, ``esc50`` or a ``label/*.wav`` folder.
        model: zoo name (``ds_cnn``, ``cnn_mfcc``, ``cnn3``, ``cnn_resize32``, ``tiny_conv``).
        features: preset name (``fsdd_mfcc``, ``mfcc_49x10``, ...) or a FeatureConfig JSON path.
        task: ``"words"`` (labels are what is said) or ``"speaker"`` (labels are who speaks;
            the loader's ``label_by="speaker"``).
        keyword: if set, a one-vs-rest detector for this label with a sigmoid output.
        holdout_speaker: FSDD only: test on this speaker, train on the others.
        validation_percent, test_percent: hash-split percentages for speech_commands / folders
            (None: the loader's defaults).
        epochs, batch_size, learning_rate, patience: Adam with the learning rate halved after
            ``patience // 2`` epochs without validation-loss improvement; early stopping after
            ``patience`` epochs, best weights restored.
        seed: seeds Python, NumPy and TensorFlow; TensorFlow op determinism is enabled.
        class_weights: ``"auto"`` (balanced weights when the largest class is > 1.5x the
            smallest), ``"balanced"`` or ``"none"``.
        augment: ``"none"`` or ``"noise"`` (adds ``augment_copies`` noisy copies of each training
            clip: background noise / white noise and a time shift, seeded).
        max_clips_per_split: subsample each split (seeded) to at most this many clips; for tests.
        skip_bad: leave out unreadable files (reported in metrics.json) instead of failing.
        representative_size: training examples used to calibrate int8 quantization.
        base: run folder to transfer from (`tinyaudio.train.transfer`): its model minus the
            head, its feature config (``features`` is then ignored); stage 1 trains the new
            head for up to ``freeze_backbone_epochs`` at ``learning_rate`` (decaying), stage 2
            everything for up to ``fine_tune_epochs`` at ``fine_tune_lr``.
        qat: after training, fine-tune with fake quantization for up to ``qat_epochs`` at
            ``qat_lr`` (`tinyaudio.quantize.qat`) and also write ``model_int8_qat.tflite``.
        target_max_fpr, target_min_recall: binary detectors: the threshold target, met on
            validation (`tinyaudio.train.threshold`); neither means 0.5.
        monitor: what early stopping and the learning-rate halving watch when training from
            scratch: ``"val_loss"`` or ``"val_accuracy"`` (for many classes and few clips,
            where validation loss rises from the first epoch while accuracy still improves).
    """

    dataset: str = "fsdd"
    model: str = "ds_cnn"
    features: str = "fsdd_mfcc"
    task: str = "words"
    keyword: str | None = None
    holdout_speaker: str | None = None
    validation_percent: float | None = None
    test_percent: float | None = None
    epochs: int = 40
    batch_size: int = 64
    learning_rate: float = 3e-3
    patience: int = 8
    seed: int = 0
    class_weights: str = "auto"
    augment: str = "none"
    augment_copies: int = 1
    max_clips_per_split: int | None = None
    skip_bad: bool = False
    representative_size: int = 300
    base: str | None = None
    freeze_backbone_epochs: int = 20
    fine_tune_epochs: int = 20
    fine_tune_lr: float = 1e-4
    qat: bool = False
    qat_epochs: int = 10
    qat_lr: float = 1e-4
    target_max_fpr: float | None = None
    target_min_recall: float | None = None
    monitor: str = "val_loss"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Build from a dict, refusing unknown keys (a typo must not silently become a default)."""
        return dataclass_from_dict(cls, data)


def load_training_data(config: TrainConfig, data_dir: str | os.PathLike | None) -> Dataset:
    """The dataset a `TrainConfig` names, made binary when ``keyword`` is set."""
    kwargs: dict[str, Any] = {}
    if config.task != "words":
        kwargs["label_by"] = config.task
    if config.dataset == "librispeech":  # cut utterances into windows of the model's clip length
        kwargs["window_s"] = FeatureConfig.load(config.features).clip_duration
    if config.holdout_speaker is not None:
        kwargs["holdout_speaker"] = config.holdout_speaker
    for name in ("validation_percent", "test_percent"):
        if getattr(config, name) is not None:
            kwargs[name] = getattr(config, name)
    from tinyaudio.data.soundbites import LOADERS as SOUNDBITE_LOADERS, load_soundbites

    if config.dataset in SOUNDBITE_LOADERS:
        dataset = load_soundbites(config.dataset, data_dir, seed=config.seed, **kwargs)
    else:
        dataset = load_dataset(config.dataset, data_dir, **kwargs)
    return dataset.binary(config.keyword) if config.keyword else dataset


def _subsample(clips: list[Clip], limit: int | None, seed: int) -> list[Clip]:
    if limit is None or len(clips) <= limit:
        return clips
    idx = np.sort(np.random.default_rng(seed).choice(len(clips), size=limit, replace=False))
    return [clips[i] for i in idx]


def _class_weights(y: np.ndarray, n_classes: int, mode: str) -> dict[int, float] | None:
    counts = np.bincount(y, minlength=n_classes).astype(float)
    if mode == "none" or counts.min() == 0:
        return None
    if mode == "auto" and counts.max() <= 1.5 * counts.min():
        return None
    weights = len(y) / (n_classes * counts)  # scikit-learn "balanced"
    return {i: float(w) for i, w in enumerate(weights)}


def _set_seeds(seed: int) -> None:
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def train(
    config: TrainConfig,
    out_dir: str | os.PathLike,
    *,
    data_dir: str | os.PathLike | None = None,
    overwrite: bool = False,
    log: Callable[[str], None] = print,
    verbose: int = 2,
) -> dict[str, Any]:
    """Train, quantize and evaluate one model; write the run folder.

    The folder is built under a temporary name beside ``out_dir`` and renamed at the end, so a
    failed run never leaves half a run folder, and an existing one is replaced only if
    ``overwrite``.

    Writes ``config.json``, ``feature_config.json``, ``labels.txt``, ``model.keras``,
    ``model_float.tflite``, ``model_int8.tflite``, ``model_dynamic.tflite``, ``model_int8.h``,
    ``metrics.json``, ``history.png``, ``confusion_int8.png``.

    Returns:
        the metrics dict written to ``metrics.json``. Accuracies are measured by running the
        ``.tflite`` files with ai-edge-litert on the test split.

    Raises:
        FileExistsError: ``out_dir`` exists and ``overwrite`` is False.
        AudioError / DatasetError: bad data (see the loaders).
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()) and not overwrite:
        raise FileExistsError(f"{out_dir}: run folder exists; choose another --out or pass --overwrite")
    started = time.time()
    feature_config = FeatureConfig.load(Path(config.base) / "feature_config.json" if config.base else config.features)
    dataset = load_training_data(config, data_dir)
    labels = list(dataset.labels)
    binary = config.keyword is not None

    arrays: dict[str, tuple[np.ndarray, np.ndarray, list[Clip]]] = {}
    skipped: list[dict[str, str]] = []
    for split in ("train", "validation", "test"):
        clips = _subsample(dataset.split(split), config.max_clips_per_split, config.seed)
        if not clips:
            raise ValueError(f"{dataset.name}: the {split} split is empty; check the split settings")
        x, kept, bad = dataset_features(clips, feature_config, skip_bad=config.skip_bad, progress=verbose > 0)
        skipped += [{"path": str(c.path), "error": msg} for c, msg in bad]
        y = np.array([labels.index(c.label) for c in kept], dtype=np.int64)
        arrays[split] = (x[..., None], y, kept)
        log(f"{split}: {len(kept)} clips" + (f" ({len(bad)} unreadable, skipped)" if bad else ""))

    x_train, y_train, _ = arrays["train"]
    if config.augment != "none":
        x_train, y_train = _augmented_training_set(config, dataset, arrays["train"][2], feature_config, x_train, y_train)
        log(f"train after augmentation: {len(x_train)} examples")

    _set_seeds(config.seed)
    import keras

    from tinyaudio.models import build_model, count_macs

    n_outputs = 1 if binary else len(labels)
    x_val, y_val, _ = arrays["validation"]
    weights = _class_weights(y_train, len(labels), config.class_weights)
    transfer_info = None
    if config.base:
        from tinyaudio.train.transfer import fit_transfer

        model, history, transfer_info = fit_transfer(
            config.base, x_train, y_train, (x_val, y_val), n_outputs=n_outputs, learning_rate=config.learning_rate,
            freeze_backbone_epochs=config.freeze_backbone_epochs, fine_tune_epochs=config.fine_tune_epochs,
            fine_tune_lr=config.fine_tune_lr, batch_size=config.batch_size, patience=config.patience,
            class_weight=weights, verbose=verbose,
        )
    else:
        extra = {"mean": float(x_train.mean()), "variance": float(x_train.var())} if config.model == "cnn_resize32" else {}
        model = build_model(config.model, x_train.shape[1:], n_outputs, **extra)
        model.compile(
            optimizer=keras.optimizers.Adam(config.learning_rate),
            loss="binary_crossentropy" if binary else "sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        callbacks = [
            keras.callbacks.EarlyStopping(monitor=config.monitor, patience=config.patience, restore_best_weights=True),
            keras.callbacks.ReduceLROnPlateau(monitor=config.monitor, factor=0.5, patience=max(1, config.patience // 2), min_lr=1e-5),
        ]
        fit = model.fit(
            x_train, y_train, validation_data=(x_val, y_val), epochs=config.epochs, batch_size=config.batch_size,
            class_weight=weights, callbacks=callbacks, shuffle=True, verbose=verbose,
        )
        history = {k: [float(v) for v in vals] for k, vals in fit.history.items()}
    qat_model, qat_history = None, None
    if config.qat:
        from tinyaudio.quantize.qat import fine_tune_qat

        qat_model, qat_history = fine_tune_qat(
            model, x_train, y_train, (x_val, y_val), loss="binary_crossentropy" if binary else "sparse_categorical_crossentropy",
            epochs=config.qat_epochs, learning_rate=config.qat_lr, batch_size=config.batch_size,
            patience=max(2, config.patience // 2), class_weight=weights, verbose=verbose,
        )

    from tinyaudio.export import to_c_array
    from tinyaudio.quantize import convert_float, quantize_dynamic, quantize_int8, representative_set

    representative = representative_set(x_train, config.representative_size, config.seed)
    flatbuffers = {
        "float": convert_float(model),
        "dynamic": quantize_dynamic(model),
        "int8": quantize_int8(model, representative),
    }
    if qat_model is not None:
        flatbuffers["int8_qat"] = quantize_int8(qat_model, representative)

    tmp = out_dir.with_name(f".{out_dir.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        write_text_atomic(tmp / "config.json", json.dumps(config.to_dict(), indent=2) + "\n")
        feature_config.save(tmp / "feature_config.json")
        write_text_atomic(tmp / "labels.txt", "\n".join(labels) + "\n")
        with atomic_path(tmp / "model.keras") as p:
            model.save(p)
        for kind, data in flatbuffers.items():
            write_bytes_atomic(tmp / f"model_{kind}.tflite", data)
        write_text_atomic(tmp / "model_int8.h", to_c_array(flatbuffers["int8"], "model_int8_tflite"))
        if "int8_qat" in flatbuffers:
            write_text_atomic(tmp / "model_int8_qat.h", to_c_array(flatbuffers["int8_qat"], "model_int8_qat_tflite"))

        metrics = _evaluate_run(tmp, arrays, labels, binary)
        metrics.update(
            dataset=dataset.name,
            counts={s: int(len(arrays[s][1])) for s in arrays},
            skipped_files=skipped,
            model=config.model,
            params=int(model.count_params()),
            macs=count_macs(model),
            sizes_bytes={k: len(v) for k, v in flatbuffers.items()},
            epochs_run=len(history.get("loss", [])),
            best_val_loss=float(min(history.get("val_loss", [float("nan")]))),
            class_weights=weights,
            history=history,
            train_seconds=round(time.time() - started, 1),
        )
        _transfer_qat_threshold(tmp, config, arrays, metrics, transfer_info, qat_history, binary)
        write_text_atomic(tmp / "metrics.json", json.dumps(metrics, indent=2) + "\n")
        _plots(tmp, history, metrics, labels, binary)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if config.task == "speaker":  # the embedding network for enrol / verify (tinyaudio.runtime.speaker)
        from tinyaudio.train.speaker import export_embedding

        export_embedding(out_dir, data_dir=data_dir, log=log)
    return metrics


def _evaluate_run(run_dir: Path, arrays, labels: list[str], binary: bool) -> dict[str, Any]:
    """Test-split metrics of every .tflite in the run folder, run with ai-edge-litert."""
    from tinyaudio.runtime.litert import TFLiteModel

    x_test, y_test, test_clips = arrays["test"]
    metrics: dict[str, Any] = {"test": {}}
    for kind in [k for k in ("float", "dynamic", "int8", "int8_qat") if (run_dir / f"model_{k}.tflite").exists()]:
        model = TFLiteModel(run_dir / f"model_{kind}.tflite")
        scores = model.predict(x_test)
        if binary:
            m = binary_metrics(y_test, scores[:, 0])
        else:
            m = classification_metrics(y_test, scores, labels)
            m["per_speaker_accuracy"] = _per_speaker(test_clips, y_test, scores.argmax(axis=1))
        metrics["test"][kind] = m
    metrics["float_accuracy"] = metrics["test"]["float"]["accuracy"]
    metrics["int8_accuracy"] = metrics["test"]["int8"]["accuracy"]
    return metrics


def _per_speaker(clips: list[Clip], y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    speakers = np.array([c.speaker for c in clips])
    unique = sorted(set(speakers.tolist()))
    if len(unique) > 20:  # speaker-hash splits have hundreds of speakers: not worth listing
        return {}
    return {s: round(float(np.mean(y_pred[speakers == s] == y_true[speakers == s])), 4) for s in unique}


def _plots(run_dir: Path, history: dict, metrics: dict, labels: list[str], binary: bool) -> None:
    try:
        from tinyaudio.features.plot import plot_confusion_matrix, plot_training_history
    except ImportError:  # matplotlib missing: the run is still complete without PNGs
        return
    plot_training_history(history, run_dir / "history.png")
    if binary:
        c = metrics["test"]["int8"]["confusion"]
        matrix = np.array([[c["tn"], c["fp"]], [c["fn"], c["tp"]]])
    else:
        matrix = np.array(metrics["test"]["int8"]["confusion_matrix"])
    plot_confusion_matrix(matrix, labels, run_dir / "confusion_int8.png")


def _augmented_training_set(config, dataset, clips, feature_config, x_train, y_train):
    """Append ``augment_copies`` augmented copies of every training clip (waveform domain)."""
    from tinyaudio.augment import augment_batch
    from tinyaudio.augment.recipes import noise_recipe
    from tinyaudio.data.dataset import load_clips
    from tinyaudio.features.extract import compute_features_batch

    samples, kept, _ = load_clips(clips, feature_config.sample_rate, feature_config.n_samples, skip_bad=True)
    noisy = augment_batch(samples, noise_recipe(feature_config.sample_rate), feature_config.sample_rate,
                          config.seed, copies=config.augment_copies)
    y = np.array([dataset.labels.index(c.label) for c in kept])
    x_aug = compute_features_batch(noisy, feature_config, progress=True)[..., None]
    return np.concatenate([x_train, x_aug]), np.concatenate([y_train, np.tile(y, config.augment_copies)])


def _transfer_qat_threshold(run_dir, config, arrays, metrics, transfer_info, qat_history, binary) -> None:
    """Add the transfer stages, QAT history and (binary) operating threshold to a run's metrics."""
    if transfer_info is not None:
        from tinyaudio.train.transfer import plot_stages

        metrics["transfer"] = transfer_info
        plot_stages(transfer_info, run_dir)
    if qat_history is not None:
        metrics["qat"] = {"epochs_run": len(qat_history.get("loss", [])), "history": qat_history}
    if binary:
        from tinyaudio.train.threshold import operating_point

        metrics["operating_point"] = operating_point(
            run_dir, arrays["validation"][:2], arrays["test"][:2],
            max_fpr=config.target_max_fpr, min_recall=config.target_min_recall,
        )
