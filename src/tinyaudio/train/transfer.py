"""Transfer learning: a trained run's backbone, a new head, two training stages.

Stage 1 trains only the new head on the frozen backbone with a learning rate that decays
exponentially; stage 2 unfreezes everything and fine-tunes at a low learning rate. Both stages
stop early on validation loss and restore their best weights, and both curves are kept.

Source: the Keras "Transfer learning & fine-tuning" guide (Chollet): freeze, train the head,
then unfreeze and fine-tune with a very low learning rate, recompiling after each change of
``trainable``; the ESC-50 -> fire-alarm flow of Arm's RP2040 ML audio classifier example.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tinyaudio.errors import ConfigMismatchError
from tinyaudio.train.fit import fit, loss_name


def replace_head(base, n_outputs: int):
    """A new model: the base model up to (not including) its output Dense layer, then a fresh head.

    Args:
        base: Keras model whose last layer is the Dense output (every zoo model).
        n_outputs: 1 for a sigmoid one-vs-rest detector, else the number of softmax classes.

    Returns:
        ``(model, backbone_layers)``: the new model (input shape of the base) and the layers it
        shares with the base (freeze these for stage 1). The base's weights are shared, not
        copied: train a freshly loaded base.
    """
    import keras

    head_input = base.layers[-2].output
    activation = "sigmoid" if n_outputs == 1 else "softmax"
    outputs = keras.layers.Dense(n_outputs, activation=activation, name="output")(head_input)
    model = keras.Model(base.inputs, outputs, name=f"{base.name}_transfer")
    return model, model.layers[:-1]


def fit_transfer(
    base,
    x_train: np.ndarray,
    y_train: np.ndarray,
    validation: tuple[np.ndarray, np.ndarray],
    *,
    n_outputs: int,
    learning_rate: float = 3e-3,
    freeze_backbone_epochs: int = 20,
    fine_tune_epochs: int = 20,
    fine_tune_lr: float = 1e-4,
    batch_size: int = 64,
    patience: int = 8,
    class_weight: dict[int, float] | None = None,
    verbose: int = 2,
):
    """Load a base run, replace its head and train in two stages.

    Args:
        base: the base run's trained Keras model (freshly loaded: its layers are trained in place);
            its input must match ``x_train``.
        x_train: float32 features, shape (n, n_frames, n_features, 1); y_train: int labels (n,).
        validation: ``(x_val, y_val)`` for early stopping.
        n_outputs: 1 (sigmoid, binary cross-entropy) or the number of classes (softmax).
        learning_rate: stage-1 starting rate; it halves every 5 epochs (exponential decay per
            step, ``0.5 ** (step / (5 * steps_per_epoch))``).
        freeze_backbone_epochs: stage-1 epoch limit (0 skips it).
        fine_tune_epochs: stage-2 epoch limit (0 skips it); fine_tune_lr: its constant rate.
        patience: early stopping on validation loss in each stage; best weights restored.

    Returns:
        ``(model, history, info)``: the trained model; the two stages' Keras histories joined
        end to end (for the run's history plot); and ``{"stage1": history, "stage2": history,
        "stage1_epochs": n, "stage2_epochs": n}``.

    Raises:
        ConfigMismatchError: the base model's input shape differs from the features'.
    """
    import keras

    expected = tuple(base.inputs[0].shape[1:])
    if tuple(x_train.shape[1:]) != expected:
        raise ConfigMismatchError(
            f"base model takes input {expected} but the features are {tuple(x_train.shape[1:])}; "
            "use the base run's feature config (its feature_config.json)"
        )
    model, backbone = replace_head(base, n_outputs)
    loss = loss_name(n_outputs)
    common = dict(batch_size=batch_size, patience=patience, class_weight=class_weight, verbose=verbose)

    for layer in backbone:
        layer.trainable = False
    steps = max(1, math.ceil(len(x_train) / batch_size))
    schedule = keras.optimizers.schedules.ExponentialDecay(learning_rate, decay_steps=5 * steps, decay_rate=0.5)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=loss, metrics=["accuracy"])
    stage1 = fit(model, x_train, y_train, validation, epochs=freeze_backbone_epochs,
                 description="transfer: head", **common)

    for layer in backbone:
        layer.trainable = True
    model.compile(optimizer=keras.optimizers.Adam(fine_tune_lr), loss=loss, metrics=["accuracy"])
    stage2 = fit(model, x_train, y_train, validation, epochs=fine_tune_epochs,
                 description="transfer: fine-tune", **common)

    keys = sorted(set(stage1) | set(stage2))
    history = {k: stage1.get(k, []) + stage2.get(k, []) for k in keys}
    info: dict[str, Any] = {
        "stage1_epochs": len(stage1.get("loss", [])),
        "stage2_epochs": len(stage2.get("loss", [])),
        "stage1": stage1,
        "stage2": stage2,
    }
    return model, history, info
