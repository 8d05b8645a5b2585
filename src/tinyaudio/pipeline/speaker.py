"""Speaker runs: the int8 embedding model, and verification embeddings trained on many speakers.

The embedding is the input of the ``output`` layer (for a ``ds_cnn`` speaker-ID classifier the
global average pool, ``width`` values; for a verification run the ``embedding`` Dense layer);
`tinyaudio.runtime.speaker` enrols and verifies with it, without TensorFlow.

`train_speaker_embedding` is the verification recipe: an additive-angular-margin embedding
trained on the speaker corpus (`tinyaudio.data.speakers`), a cohort for score normalisation,
a threshold chosen on validation speakers, and EER / minDCF on speakers it never heard.
"""

from __future__ import annotations

import dataclasses
import io
import os
import time
from typing import Any, Callable

import numpy as np

from tinyaudio.evaluate.speaker import (
    make_trials, pairwise_eer, score_trials, short_recording_eer, speaker_eval, threshold_at_false_accept_rate,
)
from tinyaudio.features.cache import dataset_features
from tinyaudio.features.config import FeatureConfig
from tinyaudio.quantize import convert_float, quantize_int8, representative_set
from tinyaudio.quantize.silence import quiet_converter
from tinyaudio.runtime.litert import TFLiteModel
from tinyaudio.runtime.run_folder import (
    CONFIG, EMBEDDING_META, FEATURE_CONFIG, KERAS_MODEL, METRICS, SPEAKER_COHORT, SPEAKER_EVAL, RunFolder,
)
from tinyaudio.runtime.speaker import SpeakerEmbedder, unit
from tinyaudio.train.config import TrainConfig
from tinyaudio.train.data import augmented_copies, load_training_data, subsample
from tinyaudio.train.fit import fit, set_seeds


def write_embedding(run: RunFolder, model, x_train: np.ndarray, *, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Write ``model_embedding_{float,int8}.tflite`` and ``embedding.json`` of a speaker classifier.

    Args:
        run: the run folder to write into.
        model: the trained Keras classifier (its last layer is named ``output``).
        x_train: training features, shape (n, n_frames, n_features, 1): the first 300 (seeded
            draw) calibrate the int8 model; the int8 model's mean embedding over all of them is
            saved as ``mean`` and subtracted before cosine scoring.

    Returns:
        the ``embedding.json`` dict (``dim``, ``layer``, ``mean``, ``sizes_bytes``).
    """
    import keras

    head = model.get_layer("output")
    embedding = keras.Model(model.inputs, head.input, name=f"{model.name}_embedding")
    log(f"embedding: {embedding.output.shape[-1]} values from the input of layer 'output'; "
        f"int8 calibrated on {min(len(x_train), 300)} of {len(x_train)} training clips")
    float_bytes = convert_float(embedding)
    int8_bytes = quantize_int8(embedding, representative_set(x_train, 300, 0))
    run.write_bytes(run.embedding_path("float").name, float_bytes)
    run.write_bytes(run.embedding_path("int8").name, int8_bytes)
    emb = TFLiteModel(int8_bytes).predict(x_train)
    info = {"dim": int(emb.shape[-1]), "layer": "input of 'output'", "n_mean_clips": int(len(x_train)),
            "mean": [round(float(v), 6) for v in emb.mean(axis=0)],
            "sizes_bytes": {"float": len(float_bytes), "int8": len(int8_bytes)}}
    run.write_json(EMBEDDING_META, info)
    return info


def export_embedding(
    run_dir: str | os.PathLike, *, data_dir: str | os.PathLike | None = None, log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """`write_embedding` for a finished speaker run: its ``model.keras`` and up to 1000 training clips.

    Raises:
        RunFolderError: the run folder has no ``model.keras`` / ``config.json``.
    """
    import keras

    run = RunFolder.open(run_dir, need=(KERAS_MODEL, CONFIG, FEATURE_CONFIG))
    config = TrainConfig.from_dict(run.train_config)
    clips = subsample(load_training_data(config, data_dir).split("train"), 1000, config.seed)
    x, _, _ = dataset_features(clips, run.feature_config, skip_bad=True, progress=False)
    model = keras.models.load_model(run.file(KERAS_MODEL), compile=False)
    return write_embedding(run, model, x[..., None], log=log)


#: Unseen-speaker evaluations of a verification run: tag -> (dataset, enrol split, test split, per file).
#: LibriSpeech test-other and FSDD are never in the speaker corpus; "speakers_test" is its test speakers,
#: "speech_commands_test" those of them from Speech Commands (1 s words).
EVALUATIONS = {
    "speakers_test": ("speakers", "test", "test", False),
    "speech_commands_test": ("speakers:speech_commands", "test", "test", False),
    "librispeech_1s": ("librispeech", "all", "all", False),
    "librispeech_utterances": ("librispeech", "all", "all", True),
    "fsdd": ("fsdd", "validation", "test", False),
}


def speaker_cohort(embedding_int8: bytes, x: np.ndarray, speakers: list[str], mean: np.ndarray) -> np.ndarray:
    """One unit embedding per training speaker: the normalisation cohort (`tinyaudio.runtime.speaker.Cohort`).

    Args:
        embedding_int8: the int8 embedding ``.tflite``.
        x: training features, shape (n, n_frames, n_features, 1) (no augmented copies).
        speakers: speaker of each row of ``x``.
        mean: the run's mean embedding (``embedding.json``), subtracted as at run time.

    Returns:
        float32 (n_speakers, dim), rows in sorted speaker order.
    """
    e = unit(TFLiteModel(embedding_int8).predict(x).reshape(len(x), -1) - mean)
    labels = np.asarray(speakers)
    return np.stack([unit(e[labels == s].mean(axis=0)) for s in sorted(set(speakers))]).astype(np.float32)


def train_speaker_embedding(
    config: TrainConfig, out_dir: str | os.PathLike, *, data_dir: str | os.PathLike | None = None,
    overwrite: bool = False, log: Callable[[str], None] = print, verbose: int = 1,
    evaluations: tuple[str, ...] = tuple(EVALUATIONS),
) -> dict[str, Any]:
    """Train a speaker-verification embedding on the speaker corpus and write its run folder.

    Steps: features of the training speakers' clips (plus ``config.augment`` copies); a zoo
    backbone with an ``embedding`` layer and a cosine head (`tinyaudio.models.speaker_embedding_model`)
    trained with the additive angular margin loss (or, ``loss="ge2e"``, a GE2E head on batches of
    ``ge2e_speakers`` x ``ge2e_utterances`` clips, `tinyaudio.train.batches`); the epoch kept is
    the one with the lowest pairwise EER on the validation speakers (early stopping on ``val_eer``); int8 embedding
    model (`write_embedding`); cohort of training speakers (``speaker_cohort.npy``); the
    threshold for ``config.target_false_accept_rate`` on validation-speaker trials (enrolment
    from up to 10 s, 1 s tests), saved in ``speaker_eval.json``; then `speaker_eval` on every
    entry of `EVALUATIONS` with the int8 and the float model (trial lists, DET PNGs), their
    false accepts / rejects at the stored threshold in ``metrics.json``.

    Args:
        evaluations: keys of `EVALUATIONS` to run (all by default).

    Returns:
        the ``metrics.json`` dict.

    Raises:
        RunFolderError: ``out_dir`` exists (without ``overwrite``) or is not a tinyaudio run folder.
        ConfigError / DatasetError: bad settings, or a missing corpus.
    """
    import keras

    from tinyaudio.models import count_macs, speaker_embedding_model
    from tinyaudio.train.losses import aam_softmax_loss

    RunFolder.check_target(out_dir, overwrite=overwrite)
    started = time.time()
    feature_config = FeatureConfig.load(config.features)
    corpus = load_training_data(config, data_dir)
    progress = verbose > 0
    x, kept, _ = dataset_features(subsample(corpus.split("train"), config.max_clips_per_split, config.seed),
                                  feature_config, progress=progress)
    x_val, val_kept, _ = dataset_features(subsample(corpus.split("validation"), config.max_clips_per_split, config.seed),
                                          feature_config, progress=progress)
    speakers = sorted({c.speaker for c in kept})
    y = np.array([speakers.index(c.speaker) for c in kept], dtype=np.int64)
    originals = x[..., None]
    x_train, y_train = originals, y
    if config.augment != "none":
        x_aug, y_aug = augmented_copies(config, dataclasses.replace(corpus, labels=tuple(speakers)), kept,
                                        feature_config, progress=progress)
        x_train, y_train = np.concatenate([originals, x_aug]), np.concatenate([y, y_aug])
    val_speakers = [c.speaker for c in val_kept]
    log(f"train: {len(kept)} clips of {len(speakers)} speakers ({len(x_train)} with augmentation); "
        f"validation: {len(val_kept)} clips of {len(set(val_speakers))} other speakers")

    set_seeds(config.seed)
    ge2e = config.loss == "ge2e"
    model = speaker_embedding_model(config.model, x_train.shape[1:], config.ge2e_speakers if ge2e else len(speakers),
                                    embedding_dim=config.embedding_dim, ge2e_utterances=config.ge2e_utterances if ge2e else None,
                                    **({"width": config.width} if config.width else {}))
    embedding = keras.Model(model.inputs, model.get_layer("output").input, name=f"{model.name}_embedding")

    class ValidationEER(keras.callbacks.Callback):
        """Adds ``val_eer``: the pairwise EER of the validation speakers' clips, before early stopping reads it."""

        def on_epoch_end(self, epoch, logs=None):
            emb = embedding.predict(x_val[..., None], batch_size=256, verbose=0)
            logs["val_eer"] = pairwise_eer(emb, val_speakers)

    if ge2e:
        from tinyaudio.train.batches import speaker_batches

        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        data, labels = speaker_batches(x_train, y_train, n_speakers=config.ge2e_speakers,
                                       n_utterances=config.ge2e_utterances, seed=config.seed), None
    else:
        loss, data, labels = aam_softmax_loss(config.aam_margin, config.aam_scale), x_train, y_train
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss=loss)
    history = fit(model, data, labels, None, epochs=config.epochs, batch_size=config.batch_size,
                  patience=config.patience, monitor="val_eer", halve_lr=True, verbose=verbose,
                  description=f"training {model.name} ({config.loss.upper()})", callbacks=(ValidationEER(),))

    # Everything, evaluations included, is written under the temporary sibling: an interrupted run
    # leaves no half run folder (RunFolder.create renames it into place at the end).
    with RunFolder.create(out_dir, overwrite=overwrite) as run:
        run.write_json(CONFIG, config.to_dict())
        feature_config.save(run.file(FEATURE_CONFIG))
        run.write_labels(speakers)
        model.save(run.file(KERAS_MODEL))
        with quiet_converter(verbose < 2):
            info = write_embedding(run, model, representative_set(originals, 1000, config.seed), log=log)
        buf = io.BytesIO()
        np.save(buf, speaker_cohort(run.embedding_path("int8").read_bytes(), originals, [c.speaker for c in kept],
                                    np.asarray(info["mean"], dtype=np.float32)))
        run.write_bytes(SPEAKER_COHORT, buf.getvalue())
        _plot_history(run, history)
        operating_point, short, results = _threshold_and_evaluations(run, val_kept, config, evaluations,
                                                                     data_dir=data_dir, progress=progress, log=log)
        metrics = {
            "dataset": corpus.name, "model": config.model, "task": "speaker verification", "loss": config.loss,
            "params": int(embedding.count_params()), "macs": count_macs(embedding), "embedding_dim": info["dim"],
            "sizes_bytes": info["sizes_bytes"], "train_speakers": len(speakers), "train_clips": len(kept),
            "validation_speakers": len(set(val_speakers)), "epochs_run": len(history.get("loss", [])),
            "best_val_eer": float(min(history.get("val_eer", [float("nan")]))), "history": history,
            "operating_point": operating_point, "validation_short_recordings": short, "evaluations": results,
            "train_seconds": round(time.time() - started, 1),
        }
        run.write_json(METRICS, metrics)
    return metrics


def _threshold_and_evaluations(
    run: RunFolder, val_clips: list, config: TrainConfig, evaluations: tuple[str, ...], *,
    data_dir: str | os.PathLike | None, progress: bool, log: Callable[[str], None],
) -> tuple[dict[str, Any], dict[str, Any], dict[str, dict[str, Any]]]:
    """Choose the threshold on validation speakers, then run `EVALUATIONS` at it.

    The threshold is the lowest s-norm score with at most ``config.target_false_accept_rate``
    false accepts over the validation speakers' trials (enrolment from up to 10 s, 1 s tests);
    it is written to ``speaker_eval.json`` with ``short_threshold``, chosen the same way on the
    same speakers' short recordings (`short_recording_eer`, with the runtime's fill), which
    `tinyaudio.runtime.speaker.default_threshold` gives a test recording shorter than the window.

    Returns:
        ``(operating_point, short-recording validation metrics, {evaluation name: its figures})``,
        int8 and ``_float`` evaluation names.
    """
    embedder = SpeakerEmbedder(run.path)
    enrolments, trials = make_trials(val_clips, val_clips, n_enrol=10, seed=config.seed)
    scores = score_trials(embedder, enrolments, trials).scores
    operating_point = threshold_at_false_accept_rate(scores, np.array([t for _, _, t in trials]),
                                                     config.target_false_accept_rate)
    short = short_recording_eer(embedder, val_clips, seed=config.seed, false_accept_rate=config.target_false_accept_rate)
    short = {k: short[k] for k in ("eer", "min_dcf", "n_target", "n_nontarget", "fill", "mean_recording_s", "operating_point")}
    operating_point.update(chosen_on=f"validation speakers ({len(enrolments)}; enrolment up to 10 s, 1 s tests)",
                           n_trials=len(trials), scoring="s-norm", short_threshold=short["operating_point"]["threshold"],
                           short_chosen_on=f"the same speakers' short recordings ({short['mean_recording_s']:.2f} s on average, "
                                           f"fill {short['fill']!r}), for tests shorter than the window")
    run.write_json(SPEAKER_EVAL, {**operating_point, "from": "validation speakers"})
    log(f"threshold {operating_point['threshold']:.3f} (s-norm; {operating_point['short_threshold']:.3f} for a recording "
        f"shorter than the window) for a {config.target_false_accept_rate:.1%} false-accept rate on validation speakers; "
        f"their false-reject rate there {operating_point['false_reject_rate']:.1%} "
        f"({short['operating_point']['false_reject_rate']:.1%} short)")
    log(f"validation speakers, short recordings ({short['mean_recording_s']:.2f} s, fill {short['fill']!r}): "
        f"EER {short['eer']:.2%}")
    results: dict[str, dict[str, Any]] = {}
    for tag in evaluations:
        dataset, enrol_split, test_split, per_file = EVALUATIONS[tag]
        for kind in ("int8", "float"):
            name = tag if kind == "int8" else f"{tag}_float"
            m = speaker_eval(run.path, dataset, data_dir=data_dir, enrol_split=enrol_split, test_split=test_split,
                             per_file=per_file, model=kind, seed=config.seed, tag=name,
                             threshold=operating_point["threshold"], short_threshold=operating_point["short_threshold"],
                             progress=progress, log=log)
            results[name] = {k: m[k] for k in ("eer", "min_dcf", "n_target", "n_nontarget", "n_test_items",
                                               "trial_unit", "train_speakers_overlap", "at_threshold")}
            log(f"{name}: EER {m['eer']:.2%} over {m['n_target']} target / {m['n_nontarget']} non-target trials")
    return operating_point, short, results


def evaluate_verification_run(
    run_dir: str | os.PathLike, *, data_dir: str | os.PathLike | None = None, evaluations: tuple[str, ...] = tuple(EVALUATIONS),
    progress: bool = False, log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Choose a verification run's threshold on its validation speakers again and redo its evaluations.

    For a run trained before a change to scoring or trials: ``speaker_eval.json``, the trial lists,
    DET plots and the ``operating_point`` / ``evaluations`` of ``metrics.json`` are rewritten; the
    model, cohort and training figures stay.

    Raises:
        RunFolderError: not a verification run (no ``speaker_cohort.npy`` or ``metrics.json``).
    """
    run = RunFolder.open(run_dir, need=(CONFIG, FEATURE_CONFIG, METRICS, SPEAKER_COHORT))
    config = TrainConfig.from_dict(run.train_config)
    corpus = load_training_data(config, data_dir)
    val_clips = subsample(corpus.split("validation"), config.max_clips_per_split, config.seed)
    operating_point, short, results = _threshold_and_evaluations(run, val_clips, config, evaluations, data_dir=data_dir,
                                                                 progress=progress, log=log)
    metrics = {**run.read_json(METRICS), "operating_point": operating_point, "validation_short_recordings": short,
               "evaluations": results}
    run.write_json(METRICS, metrics)
    return metrics


def _plot_history(run: RunFolder, history: dict) -> None:
    """``history.png`` (loss and validation EER per epoch); none without matplotlib."""
    try:
        from tinyaudio.features.plot import plot_training_history
    except ImportError:
        return
    plot_training_history(history, run.file("history.png"))
