"""Losses beyond Keras' own: the additive angular margin softmax of speaker embeddings."""

from __future__ import annotations

import math
from typing import Callable


def aam_softmax_loss(margin: float = 0.2, scale: float = 30.0) -> Callable:
    """Additive angular margin (AAM, ArcFace) softmax cross-entropy over cosine logits.

    The model outputs cosines ``cos(theta_j)`` between the normalised embedding and each class
    centre (`tinyaudio.models.CosineHead`), float (batch, n_classes). The loss adds ``margin``
    (radians) to the angle of the true class and multiplies every logit by ``scale``:
    ``CE(softmax(scale * [cos(theta_y + margin), cos(theta_j != y)]))``. Past
    ``theta_y > pi - margin``, where ``cos(theta + margin)`` would stop decreasing, the
    true-class logit is ``cos(theta_y) - margin * sin(margin)`` (the ``easy_margin=False``
    branch of the reference code), so it stays monotonic.

    Args:
        margin: additive angle in radians (0.2 is common for speakers: Xiang et al. 2019).
        scale: logit scale s (30, as in the VoxCeleb AAM recipes).

    Returns:
        a Keras loss ``loss(y_true, cosines)``; ``y_true`` int class ids, shape (batch,) or (batch, 1).

    Source: Deng et al. 2019, "ArcFace: Additive Angular Margin Loss for Deep Face Recognition",
    CVPR, eq. 3; for speakers, Xiang et al. 2019, "Margin Matters", Interspeech.
    """
    import keras
    from keras import ops

    cos_m, sin_m = math.cos(margin), math.sin(margin)
    threshold, fallback = math.cos(math.pi - margin), math.sin(math.pi - margin) * margin

    def aam_softmax(y_true, cosines):
        one_hot = ops.one_hot(ops.cast(ops.reshape(y_true, (-1,)), "int32"), ops.shape(cosines)[-1])
        cos = ops.clip(cosines, -1.0 + 1e-7, 1.0 - 1e-7)
        cos_plus_m = cos * cos_m - ops.sqrt(1.0 - cos * cos) * sin_m
        target = ops.where(cos > threshold, cos_plus_m, cos - fallback)
        logits = scale * (one_hot * target + (1.0 - one_hot) * cos)
        return keras.losses.categorical_crossentropy(one_hot, logits, from_logits=True)

    return aam_softmax
