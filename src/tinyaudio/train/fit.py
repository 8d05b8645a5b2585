"""The one training loop: Keras ``fit`` with early stopping, optional learning-rate halving and a
rich progress bar. Plain training, both transfer stages and QAT call `fit`.
"""

from __future__ import annotations

import numpy as np

History = dict[str, list[float]]


def set_seeds(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow and turn on TensorFlow op determinism (same command, same numbers)."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def class_weights(y: np.ndarray, n_classes: int, mode: str) -> dict[int, float] | None:
    """Per-class loss weights: ``None`` for ``"none"`` or (``"auto"``) classes within 1.5x of each other.

    Args:
        y: int labels, shape (n,). mode: ``"auto"``, ``"balanced"`` or ``"none"``.

    Returns:
        ``{class: n / (n_classes * count)}`` or None.

    Source: scikit-learn ``compute_class_weight("balanced")``.
    """
    counts = np.bincount(y, minlength=n_classes).astype(float)
    if mode == "none" or counts.min() == 0:
        return None
    if mode == "auto" and counts.max() <= 1.5 * counts.min():
        return None
    weights = len(y) / (n_classes * counts)
    return {i: float(w) for i, w in enumerate(weights)}


def loss_name(n_outputs: int) -> str:
    """``binary_crossentropy`` for one sigmoid output, else ``sparse_categorical_crossentropy``."""
    return "binary_crossentropy" if n_outputs == 1 else "sparse_categorical_crossentropy"


def _progress_callback(epochs: int, description: str):
    import keras
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    class RichProgress(keras.callbacks.Callback):
        """One rich bar over the epochs, showing loss, accuracy and validation accuracy."""

        def on_train_begin(self, logs=None):
            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TextColumn("{task.fields[figures]}"), TimeElapsedColumn(), transient=True)
            self.bar.start()
            self.task = self.bar.add_task(description, total=epochs, figures="")

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            figures = "  ".join(f"{k} {logs[k]:.3f}" for k in ("loss", "accuracy", "val_accuracy", "val_eer") if k in logs)
            self.bar.update(self.task, advance=1, figures=figures)

        def on_train_end(self, logs=None):
            self.bar.stop()

    return RichProgress()


def fit(
    model,
    x: np.ndarray,
    y: np.ndarray | None,
    validation: tuple[np.ndarray, np.ndarray] | None,
    *,
    epochs: int,
    batch_size: int = 64,
    patience: int = 8,
    monitor: str = "val_loss",
    halve_lr: bool = False,
    class_weight: dict[int, float] | None = None,
    sample_weight: np.ndarray | None = None,
    verbose: int = 1,
    description: str = "training",
    callbacks: tuple = (),
) -> History:
    """Train a compiled Keras model with early stopping (best weights restored).

    Args:
        model: compiled ``keras.Model``.
        x: float32 features, shape (n, n_frames, n_features, 1); y: int labels, shape (n,). Or
            ``x`` a Keras ``PyDataset`` of ``(x, y)`` batches and ``y`` None.
        validation: ``(x_val, y_val)`` watched by early stopping, or None when a callback
            computes the monitored figure (e.g. ``val_eer`` of a speaker embedding).
        epochs: limit (0 trains nothing and returns ``{}``).
        patience: epochs without improvement of ``monitor`` before stopping.
        halve_lr: also halve the learning rate after ``patience // 2`` epochs without
            improvement (floor 1e-5), as Keras ``ReduceLROnPlateau``.
        class_weight: ``{class: weight}`` for int labels ``y`` (shape (n,)); sample_weight: float
            (n,) per row instead, for targets Keras cannot read a class from (`tinyaudio.train.distill.pack_targets`).
        verbose: 0 silent; 1 a rich progress bar over the epochs; 2 Keras' own line per epoch.
        callbacks: Keras callbacks run before early stopping at each epoch end (one may add
            ``monitor`` to the logs).

    Returns:
        the Keras history: ``{"loss": [...], "val_loss": [...], "accuracy": [...], ...}``, floats.
    """
    import keras

    if epochs <= 0:
        return {}
    mode = "max" if "accuracy" in monitor else "min"  # Keras 3 cannot guess it for a name it does not know (val_eer)
    callbacks = [*callbacks, keras.callbacks.EarlyStopping(monitor=monitor, mode=mode, patience=patience, restore_best_weights=True)]
    if halve_lr:
        callbacks.append(keras.callbacks.ReduceLROnPlateau(monitor=monitor, mode=mode, factor=0.5,
                                                           patience=max(1, patience // 2), min_lr=1e-5))
    if verbose == 1:
        callbacks.append(_progress_callback(epochs, description))
    if y is None:  # x is a Keras PyDataset that makes its own batches (e.g. GE2E speaker batches)
        result = model.fit(x, validation_data=validation, epochs=epochs, callbacks=callbacks,
                           verbose=2 if verbose >= 2 else 0)
    else:
        result = model.fit(x, y, validation_data=validation, epochs=epochs, batch_size=batch_size,
                           class_weight=class_weight, sample_weight=sample_weight, callbacks=callbacks, shuffle=True,
                           verbose=2 if verbose >= 2 else 0)
    return {k: [float(v) for v in vals] for k, vals in result.history.items()}
