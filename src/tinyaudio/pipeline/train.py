"""`train`: dataset -> features -> augment -> fit -> quantize -> export -> evaluate, into one run folder."""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from tinyaudio._io import foreign_entries, write_bytes_atomic
from tinyaudio.errors import ConfigError, RunFolderError, TinyAudioError
from tinyaudio.export import to_c_array
from tinyaudio.evaluate.classify import test_metrics, validation_metrics
from tinyaudio.evaluate.threshold import operating_point
from tinyaudio.features.config import FeatureConfig
from tinyaudio.models import build_model, count_macs, scaled_kwargs
from tinyaudio.paths import cache_root
from tinyaudio.quantize import convert_float, quantize_dynamic, quantize_int8, representative_set
from tinyaudio.quantize.silence import quiet_converter
from tinyaudio.runtime.run_folder import CONFIG, FEATURE_CONFIG, KERAS_MODEL, LABELS, METRICS, STEP_SPEC, RunFolder
from tinyaudio.train.config import SPEAKER_CORPUS, TrainConfig
from tinyaudio.train.data import load_training_data, split_arrays
from tinyaudio.train.fit import class_weights, fit, loss_name, set_seeds


def train(config: TrainConfig, out_dir: str | os.PathLike, *, data_dir: str | os.PathLike | None = None,
          overwrite: bool = False, log: Callable[[str], None] = print, verbose: int = 1,
          callbacks: tuple = ()) -> dict[str, Any]:
    """Train, quantize and evaluate one model; write the run folder (see `tinyaudio.runtime.run_folder`).

    The folder is built under a temporary sibling name and renamed at the end (`RunFolder.create`):
    a failed or interrupted run never leaves half a run folder, and an existing one is replaced
    only with ``overwrite`` and only if tinyaudio wrote everything in it. That is checked before
    any work starts.

    Args:
        verbose: 0 silent, 1 progress bars (default), 2 Keras' per-epoch lines and converter output.
        callbacks: Keras callbacks for the training from scratch (a model search reports each
            epoch's validation accuracy through one, `tinyaudio.pipeline.search`).

    ``dataset="speakers"`` trains a verification embedding instead
    (`tinyaudio.pipeline.speaker.train_speaker_embedding`).

    Returns:
        the metrics dict written to ``metrics.json``; accuracies come from running the ``.tflite``
        files with ai-edge-litert on the test split.

    Raises:
        RunFolderError: ``out_dir`` exists (without ``overwrite``) or is not a tinyaudio run folder.
        ConfigError / AudioError / DatasetError: bad settings or data.
    """
    if config.dataset == SPEAKER_CORPUS:  # a verification embedding, not a classifier
        from tinyaudio.pipeline.speaker import train_speaker_embedding

        return train_speaker_embedding(config, out_dir, data_dir=data_dir, overwrite=overwrite, log=log, verbose=verbose)
    RunFolder.check_target(out_dir, overwrite=overwrite)
    started = time.time()
    base = RunFolder.open(config.base, need=(KERAS_MODEL, FEATURE_CONFIG)) if config.base else None
    feature_config = base.feature_config if base else FeatureConfig.load(config.features)
    dataset = load_training_data(config, data_dir)
    labels = list(dataset.labels)
    teachers = open_teachers(config.teacher, labels, feature_config)
    splits, skipped = split_arrays(config, dataset, feature_config, progress=verbose > 0, log=log)
    train_set, val = splits["train"], splits["validation"]
    n_outputs = 1 if config.keyword else len(labels)
    weights = class_weights(train_set.y, len(labels), config.class_weights)
    teacher_probs = teacher_probabilities(teachers, config, dataset, splits, feature_config,
                                          progress=verbose > 0) if teachers else None
    set_seeds(config.seed)
    model, history, transfer_info = _fit_model(config, base, train_set, val, n_outputs, weights, verbose, callbacks,
                                               teacher_probs)
    qat_model, qat_history = None, None
    if config.qat:
        from tinyaudio.quantize.qat import fine_tune_qat

        qat_model, qat_history = fine_tune_qat(
            model, train_set.x, train_set.y, (val.x, val.y), loss=loss_name(n_outputs), epochs=config.qat_epochs,
            learning_rate=config.qat_lr, batch_size=config.batch_size, patience=max(2, config.patience // 2),
            class_weight=weights, verbose=verbose)
    representative = representative_set(train_set.x, config.representative_size, config.seed)
    with quiet_converter(verbose < 2):
        flatbuffers = {"float": convert_float(model), "dynamic": quantize_dynamic(model),
                       "int8": quantize_int8(model, representative)}
        if qat_model is not None:
            flatbuffers["int8_qat"] = quantize_int8(qat_model, representative)
    steps, step_spec = step_models(flatbuffers, feature_config)

    with RunFolder.create(out_dir, overwrite=overwrite) as run:
        run.write_json(CONFIG, config.to_dict())
        feature_config.save(run.file(FEATURE_CONFIG))
        run.write_labels(labels)
        model.save(run.file(KERAS_MODEL))
        for kind, data in flatbuffers.items():
            run.write_bytes(run.model_path(kind).name, data)
            if kind.startswith("int8"):
                run.write_text(run.c_array_path(kind).name, to_c_array(data, f"model_{kind}_tflite"))
        if step_spec is not None:
            _write_step_models(run, steps, step_spec)
        test = splits["test"]
        metrics = test_metrics(run, test.x, test.y, test.clips, labels)
        if not run.binary:
            metrics["validation"] = validation_metrics(run, val.x, val.y, val.clips)
        if step_spec is not None:
            metrics["streaming"] = streaming_metrics(run, step_spec, test.x, keras_model=model)
        metrics.update(
            dataset=dataset.name, counts={s: int(len(splits[s].y)) for s in splits}, skipped_files=skipped,
            model=config.model, params=int(model.count_params()),
            macs=count_macs(model), sizes_bytes={k: len(v) for k, v in flatbuffers.items()},
            epochs_run=len(history.get("loss", [])),
            best_val_loss=float(min(history.get("val_loss", [float("nan")]))),
            class_weights=weights, history=history, train_seconds=round(time.time() - started, 1),
        )
        if config.augment == "default":  # the probabilities this run trained with (each part's share of the copies)
            from tinyaudio.augment.recipes import default_policy

            metrics["augment_policy"] = default_policy(config.augment_off)
        if teacher_probs is not None:
            metrics["distillation"] = {
                "teachers": [str(t.path) for t in teachers], "alpha": config.distill_alpha, "temperature": config.distill_temperature,
                **{f"teacher_{name}_accuracy": round(float(np.mean(teacher_probs[name].argmax(axis=1) == split.y)), 4)
                   for name, split in (("train", train_set), ("validation", val))}}
        if transfer_info is not None:
            metrics["transfer"] = {"base": str(base.path), "base_labels": len(base.labels), **transfer_info}
        if qat_history is not None:
            metrics["qat"] = {"epochs_run": len(qat_history.get("loss", [])), "history": qat_history}
        if config.keyword:
            metrics["operating_point"] = operating_point(run.path, (val.x, val.y), (test.x, test.y),
                                                         max_fpr=config.target_max_fpr, min_recall=config.target_min_recall,
                                                         sources=([c.speaker for c in val.clips], [c.speaker for c in test.clips]))
        run.write_json(METRICS, metrics)
        _plots(run, history, metrics, labels, transfer_info)
        if config.task == "speaker":  # the embedding network for enrol / verify (tinyaudio.runtime.speaker)
            from tinyaudio.pipeline.speaker import write_embedding

            originals = train_set.x[: len(train_set.clips)]  # not the augmented copies appended after them
            write_embedding(run, model, representative_set(originals, 1000, config.seed), log=log)
    return metrics


def step_models(flatbuffers: dict[str, bytes], feature_config: FeatureConfig, *, strict: bool = False):
    """``({kind: step model bytes} for float and int8, StepSpec)`` when the model's time axis streams
    (`tinyaudio.quantize.streaming.step_model`) and its features are computed frame by frame;
    else ``({}, None)``, or with ``strict`` a `StreamingError` saying why."""
    from tinyaudio.quantize.streaming import StreamingError, step_model

    try:
        if feature_config.normalization != "none" or feature_config.top_db is not None:
            raise StreamingError(f"the features use per-window statistics (normalization={feature_config.normalization!r}, "
                                 f"top_db={feature_config.top_db}); a stream cannot compute them frame by frame")
        (int8, spec), (flt, _) = step_model(flatbuffers["int8"]), step_model(flatbuffers["float"])
    except StreamingError:
        if strict:
            raise
        return {}, None
    return {"int8": int8, "float": flt}, spec


def add_step_models(run_dir: str | os.PathLike, *, data_dir: str | os.PathLike | None = None,
                    log: Callable[[str], None] = print) -> dict[str, Any]:
    """Write the streaming step models of a trained run into its folder (what `train` does for a
    model whose time axis streams): ``model_step_{int8,float}.tflite``, ``stream_step.json``, their
    checksums, and ``metrics.json``'s ``streaming`` entry (agreement measured on the run's test
    split when its dataset is available).

    Returns:
        the ``streaming`` metrics.

    Raises:
        RunFolderError: the run lacks its float or int8 model, or one of those files (or
            ``metrics.json``) is not one tinyaudio wrote, or was edited since: it is never replaced.
        StreamingError: the model's time axis does not stream (the message names the op), or its
            features need whole-window statistics.
    """
    run = RunFolder.open(run_dir)
    flat = {}
    for kind in ("int8", "float"):
        path = run.model_path(kind)
        if not path.exists():
            raise RunFolderError(f"{path}: missing; the step models are rewritten from the run's float and int8 models")
        flat[kind] = path.read_bytes()
    steps, spec = step_models(flat, run.feature_config, strict=True)
    names = [run.step_model_path(kind).name for kind in steps] + [STEP_SPEC, METRICS]  # metrics.json gains "streaming"
    foreign = [entry for entry in foreign_entries(run.path) if entry.split(" (")[0] in names]
    if foreign:
        raise RunFolderError(f"{run.path}: {', '.join(foreign)}: not written by tinyaudio, or edited since; move it "
                             "away, the step model would replace it")
    _write_step_models(run, steps, spec)
    run.seal(STEP_SPEC)
    x_test = None
    try:
        config = TrainConfig.from_dict(run.read_json(CONFIG))
        splits, _ = split_arrays(config, load_training_data(config, data_dir), run.feature_config, progress=False,
                                 log=lambda _msg: None)
        x_test = splits["test"].x
    except TinyAudioError as exc:
        log(f"agreement not measured: {exc}")
    keras_model = None
    if run.file(KERAS_MODEL).exists():
        import keras

        keras_model = keras.models.load_model(run.file(KERAS_MODEL))
    streaming = streaming_metrics(run, spec, x_test, keras_model=keras_model)
    if run.file(METRICS).exists():
        run.write_json(METRICS, {**run.read_json(METRICS), "streaming": streaming})
    return streaming


def _write_step_models(run: RunFolder, steps: dict[str, bytes], spec) -> None:
    """``model_step_<kind>.tflite`` for each kind and ``stream_step.json`` into ``run``."""
    for kind, data in steps.items():
        run.write_bytes(run.step_model_path(kind).name, data)
    run.write_json(STEP_SPEC, spec.to_dict())


def streaming_metrics(run: RunFolder, spec, x_test: np.ndarray | None, max_frames: int = 600,
                      keras_model=None) -> dict[str, Any]:
    """Cost of a step and its agreement with the full model over the test clips' frames played back
    to back (`tinyaudio.evaluate.step.compare_step_model`): int8 step vs int8 model, float step vs
    float model and (``keras_model``) vs the Keras model; no agreement without ``x_test``
    (n, n_frames, n_features, 1) or when it holds less than one window."""
    from tinyaudio.evaluate.step import compare_step_model

    frames = x_test.reshape(-1, x_test.shape[2])[:max_frames] if x_test is not None else ()
    out = {"macs_per_step": spec.macs_per_step, "macs_full": spec.macs_full,
           "state_bytes": int(sum(np.prod(s.shape) * np.dtype(s.dtype).itemsize for s in spec.states))}
    if len(frames) >= spec.n_frames:
        for kind in ("int8", "float"):
            out[f"agreement_{kind}"] = compare_step_model(run.model_path(kind), run.step_model_path(kind),
                                                          spec.to_dict(), frames)
        if keras_model is not None:
            out["agreement_keras"] = compare_step_model(lambda x: keras_model.predict(x, verbose=0),
                                                        run.step_model_path("float"), spec.to_dict(), frames)
    return out


def open_teachers(teacher: str | None, labels: list[str], feature_config: FeatureConfig) -> list[RunFolder]:
    """The run folders of `TrainConfig.teacher` (comma-separated; none when it is unset), each
    checked by `check_teacher` against a run of ``labels`` on ``feature_config``.

    Raises:
        RunFolderError: a folder is not a run with a Keras model; ConfigError: see `check_teacher`.
    """
    paths = [path for path in (teacher or "").split(",") if path]
    teachers = [RunFolder.open(path, need=(KERAS_MODEL, FEATURE_CONFIG, LABELS)) for path in paths]
    for run in teachers:
        check_teacher(run, labels, feature_config)
    return teachers


def check_teacher(teacher: RunFolder, labels: list[str], feature_config: FeatureConfig) -> None:
    """Refuse a teacher run that cannot label this run's examples: other classes (or their order),
    or features of other audio (sample rate, clip length, padding; the features themselves may differ).

    Raises:
        ConfigError: naming the teacher run folder and what differs.
    """
    if teacher.labels != labels:
        raise ConfigError(f"{teacher.path}: the teacher's classes {teacher.labels} are not this run's {labels}; "
                          "distil from a run trained on the same dataset and classes")
    mine, theirs = feature_config, teacher.feature_config
    fields = ("sample_rate", "clip_duration", "pad")
    if any(getattr(mine, f) != getattr(theirs, f) for f in fields):
        heard = ", ".join(f"{f} {getattr(theirs, f)!r} (this run {getattr(mine, f)!r})" for f in fields
                          if getattr(mine, f) != getattr(theirs, f))
        raise ConfigError(f"{teacher.path}: the teacher hears other audio: {heard}; distil from a run with the same "
                          "sample_rate, clip_duration and pad")


def teacher_probabilities(teachers: list[RunFolder], config: TrainConfig, dataset, splits: dict,
                          feature_config: FeatureConfig, *, progress: bool = False) -> dict[str, np.ndarray]:
    """The teachers' class probabilities on the train (originals, then augmented copies) and
    validation examples, float32 (n, n_classes) each: their Keras models' outputs, averaged over
    the teachers (an ensemble teacher).

    Each teacher sees the same audio through its own features: this run's arrays when the feature
    configs are equal, else its features computed from the same clips and the same seeded
    augmented copies (`tinyaudio.train.data.augmented_copies`). The test split is never shown to them.

    The result is cached under ``$TINYAUDIO_CACHE/teachers``, keyed by the teachers' models and
    features, the clips' bytes and everything that makes the augmented copies (`_teacher_cache_key`):
    the trials of a model search share one set of teachers, clips and copies.
    """
    import keras

    from tinyaudio.features.cache import dataset_features
    from tinyaudio.train.data import augmented_copies

    cached = cache_root() / "teachers" / f"{_teacher_cache_key(teachers, config, splits)}.npz"
    if cached.exists():
        with np.load(cached) as data:
            return {name: data[name] for name in ("train", "validation")}
    out = {name: np.zeros((len(splits[name].y), len(dataset.labels)), dtype=np.float32) for name in ("train", "validation")}
    by_features: dict[str, list[RunFolder]] = {}  # teachers on the same features share one computation of them
    for teacher in teachers:
        by_features.setdefault(teacher.feature_config.digest(), []).append(teacher)
    for group in by_features.values():
        theirs, models = group[0].feature_config, [keras.models.load_model(t.file(KERAS_MODEL)) for t in group]
        for name in out:
            split = splits[name]
            if theirs.digest() == feature_config.digest():
                x = split.x
            else:
                x = dataset_features(split.clips, theirs, skip_bad=True, progress=progress)[0][..., None]
                if name == "train" and config.augment != "none":
                    x = np.concatenate([x, augmented_copies(config, dataset, split.clips, theirs, progress=progress)[0]])
            for model in models:
                out[name] += model.predict(x, batch_size=256, verbose=0) / len(teachers)
    buffer = io.BytesIO()
    np.savez(buffer, **out)
    write_bytes_atomic(cached, buffer.getvalue())
    return out


def _teacher_cache_key(teachers: list[RunFolder], config: TrainConfig, splits: dict) -> str:
    """Hash of what `teacher_probabilities` depends on: each teacher's Keras model bytes and
    features, the train and validation clips (file bytes, offsets, gains) with their example
    counts, the augmentation settings and seed, and the background-noise files' names and sizes."""
    from tinyaudio.features.cache import clips_digest
    from tinyaudio.paths import background_noise_dir

    h = hashlib.sha256(json.dumps({name: getattr(config, name) for name in (
        "augment", "augment_copies", "augment_off", "min_snr_db", "max_snr_db", "tile_segment_p", "seed")},
        sort_keys=True).encode())
    for teacher in teachers:
        h.update(hashlib.sha256(teacher.file(KERAS_MODEL).read_bytes()).digest())
        h.update(teacher.feature_config.digest().encode())
    for name in ("train", "validation"):
        h.update(f"{name}:{len(splits[name].y)}:{clips_digest(splits[name].clips)}".encode())
    noise = background_noise_dir()
    if noise is not None:
        h.update(json.dumps(sorted((p.name, p.stat().st_size) for p in Path(noise).rglob("*.wav"))).encode())
    return h.hexdigest()[:32]


def _fit_model(config: TrainConfig, base: RunFolder | None, train_set, val, n_outputs: int, weights, verbose: int,
               callbacks: tuple = (), teacher_probs: dict[str, np.ndarray] | None = None):
    """The trained Keras model, its history and (transfer) the two stages' info; with
    ``teacher_probs`` (`teacher_probabilities`) the student learns from them too (`tinyaudio.train.distill`)."""
    import keras

    if base is not None:
        from tinyaudio.train.transfer import fit_transfer

        return fit_transfer(
            keras.models.load_model(base.file(KERAS_MODEL)), train_set.x, train_set.y, (val.x, val.y),
            n_outputs=n_outputs, learning_rate=config.learning_rate, freeze_backbone_epochs=config.freeze_backbone_epochs,
            fine_tune_epochs=config.fine_tune_epochs, fine_tune_lr=config.fine_tune_lr, batch_size=config.batch_size,
            patience=config.patience, class_weight=weights, verbose=verbose)
    x = train_set.x
    extra = {"mean": float(x.mean()), "variance": float(x.var())} if config.model == "cnn_resize32" else {}
    extra.update(scaled_kwargs(config.model, config.width_multiplier, config.depth_multiplier))
    model = build_model(config.model, x.shape[1:], n_outputs, **extra)
    optimizer = keras.optimizers.Adam(config.learning_rate)
    y, validation, sample_weight = train_set.y, (val.x, val.y), None
    if teacher_probs is None:
        model.compile(optimizer=optimizer, loss=loss_name(n_outputs), metrics=["accuracy"])
    else:
        from tinyaudio.train.distill import distillation_loss, pack_targets, packed_accuracy, soft_targets

        t = config.distill_temperature
        y = pack_targets(train_set.y, soft_targets(teacher_probs["train"], t))
        validation = (val.x, pack_targets(val.y, soft_targets(teacher_probs["validation"], t)))
        sample_weight = np.array([weights[int(c)] for c in train_set.y], dtype=np.float32) if weights else None
        weights = None  # Keras cannot read a class from packed targets: the same weights go per row
        model.compile(optimizer=optimizer, loss=distillation_loss(config.distill_alpha, t), metrics=[packed_accuracy()])
    history = fit(model, x, y, validation, epochs=config.epochs, batch_size=config.batch_size,
                  patience=config.patience, monitor=config.monitor, halve_lr=True, class_weight=weights,
                  sample_weight=sample_weight, verbose=verbose, description=f"training {config.model}", callbacks=callbacks)
    return model, history, None


def _plots(run: RunFolder, history: dict, metrics: dict, labels: list[str], transfer_info: dict | None) -> None:
    """``history.png``, ``confusion_int8.png`` and (transfer) ``history_stage{1,2}.png``; none without matplotlib."""
    try:
        from tinyaudio.features.plot import plot_confusion_matrix, plot_training_history
    except ImportError:  # matplotlib missing: the run is still complete without PNGs
        return
    plot_training_history(history, run.file("history.png"))
    int8 = metrics["test"]["int8"]
    if "confusion" in int8:
        c = int8["confusion"]
        matrix = np.array([[c["tn"], c["fp"]], [c["fn"], c["tp"]]])
    else:
        matrix = np.array(int8["confusion_matrix"])
    plot_confusion_matrix(matrix, labels, run.file("confusion_int8.png"))
    for stage in ("stage1", "stage2"):
        if transfer_info and transfer_info.get(stage):
            plot_training_history(transfer_info[stage], run.file(f"history_{stage}.png"))
