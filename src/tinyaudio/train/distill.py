"""Knowledge distillation: a small student learns from a trained teacher's softened probabilities.

The teacher's class probabilities on every training and validation example are computed once,
softened by a temperature and packed beside the hard label, so plain Keras ``fit`` trains the
student with `distillation_loss` (no custom training step).

Source: Hinton, Vinyals and Dean 2015, "Distilling the Knowledge in a Neural Network"
(arXiv:1503.02531), section 2; the weighting as in the Keras example "Knowledge Distillation"
(keras.io/examples/vision/knowledge_distillation).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

#: Probabilities are clipped here before a logarithm (softmax outputs can underflow to 0).
_EPSILON = 1e-7


def soft_targets(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """A softmax output re-softened at ``temperature``: ``softmax(log(p) / T)``.

    ``log(p)`` equals the logits up to a per-row constant, so this is ``softmax(z / T)`` of the
    model's logits ``z`` (Hinton et al. 2015, eq. 1) without needing them.

    Args:
        probabilities: float (n, n_classes), rows summing to 1 (a softmax model's predictions).
        temperature: T > 0; 1 returns the probabilities, larger T flattens them.

    Returns:
        float32 (n, n_classes), rows summing to 1.
    """
    logits = np.log(np.clip(np.asarray(probabilities, dtype=np.float64), _EPSILON, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)


def pack_targets(y: np.ndarray, soft: np.ndarray) -> np.ndarray:
    """``[label, soft_0 .. soft_{k-1}]`` per row: float32 (n, 1 + n_classes), what `distillation_loss`
    and `packed_accuracy` take as ``y_true``. ``y``: int labels (n,); ``soft``: `soft_targets` (n, n_classes).

    Raises:
        ValueError: ``y`` and ``soft`` have different numbers of rows.
    """
    if len(y) != len(soft):
        raise ValueError(f"{len(y)} labels but {len(soft)} teacher predictions; they must be of the same examples")
    return np.concatenate([np.asarray(y, dtype=np.float32)[:, None], soft], axis=1)


def distillation_loss(alpha: float, temperature: float) -> Callable:
    """``alpha * CE(label, p) + (1 - alpha) * T^2 * KL(teacher_T || student_T)`` per example.

    The student outputs softmax probabilities ``p`` (batch, n_classes); ``student_T`` is
    ``softmax(log(p) / T)``, the same softening `soft_targets` applied to the teacher. The
    ``T^2`` keeps the soft term's gradients at the hard term's scale as T changes (Hinton et al.
    2015, section 2). ``alpha = 1`` is plain cross-entropy.

    Args:
        alpha: weight of the hard labels, in [0, 1]. temperature: T > 0.

    Returns:
        a Keras loss ``loss(y_true, p)`` with ``y_true`` from `pack_targets`.
    """
    import keras
    from keras import ops

    def distillation(y_true, probabilities):
        labels, teacher = y_true[:, 0], y_true[:, 1:]
        hard = keras.losses.sparse_categorical_crossentropy(labels, probabilities)
        logits = ops.log(ops.clip(probabilities, _EPSILON, 1.0)) / temperature
        log_student = logits - ops.logsumexp(logits, axis=1, keepdims=True)
        kl = ops.sum(teacher * (ops.log(ops.clip(teacher, _EPSILON, 1.0)) - log_student), axis=1)
        return alpha * hard + (1.0 - alpha) * temperature * temperature * kl

    return distillation


def packed_accuracy():
    """Keras metric named ``accuracy`` over `pack_targets` rows: the student's arg-max against the
    hard label, so the logs keep ``accuracy`` / ``val_accuracy`` for early stopping and a model search."""
    import keras
    from keras import ops

    def accuracy(y_true, probabilities):
        labels = ops.cast(y_true[:, 0], "int32")
        return ops.cast(ops.equal(labels, ops.cast(ops.argmax(probabilities, axis=1), "int32")), "float32")

    return keras.metrics.MeanMetricWrapper(accuracy, name="accuracy")
