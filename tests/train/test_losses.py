"""The AAM softmax loss and the cosine head of speaker embeddings, against hand-written NumPy."""

import math

import numpy as np
import pytest

from tinyaudio.models import CosineHead, speaker_embedding_model
from tinyaudio.train.losses import aam_softmax_loss


def reference_aam(cos: np.ndarray, y: np.ndarray, margin: float, scale: float) -> np.ndarray:
    theta = np.arccos(np.clip(cos, -1, 1))
    logits = scale * cos.copy()
    rows = np.arange(len(y))
    target = np.where(theta[rows, y] + margin < math.pi, np.cos(theta[rows, y] + margin),
                      cos[rows, y] - margin * math.sin(margin))
    logits[rows, y] = scale * target
    logits -= logits.max(axis=1, keepdims=True)
    return -(logits[rows, y] - np.log(np.exp(logits).sum(axis=1)))


def test_aam_loss_matches_the_arcface_formula_including_past_pi_minus_margin():
    rng = np.random.default_rng(0)
    cos = rng.uniform(-0.99, 0.99, size=(6, 5)).astype(np.float32)
    cos[0, 2] = -0.995  # theta_y > pi - margin: the monotonic fallback branch
    y = np.array([2, 0, 1, 4, 3, 2])
    got = np.asarray(aam_softmax_loss(0.2, 30.0)(y, cos))
    np.testing.assert_allclose(got, reference_aam(cos.astype(np.float64), y, 0.2, 30.0), rtol=1e-4, atol=1e-4)
    # the margin makes the loss larger than plain scaled-cosine softmax for the same cosines
    assert np.all(got > reference_aam(cos.astype(np.float64), y, 1e-9, 30.0) - 1e-4)


def test_cosine_head_outputs_cosines_and_the_embedding_model_stops_before_it():
    import keras

    head = CosineHead(3)
    x = np.array([[3.0, 4.0], [0.0, 2.0]], dtype=np.float32)
    out = np.asarray(head(x))
    w = np.asarray(head.kernel)
    expected = (x / np.linalg.norm(x, axis=1, keepdims=True)) @ (w / np.linalg.norm(w, axis=0, keepdims=True))
    np.testing.assert_allclose(out, expected, atol=1e-6)
    assert np.all(np.abs(out) <= 1 + 1e-6)
    model = speaker_embedding_model("ds_cnn", (49, 10, 1), 7, embedding_dim=32, width=16)
    assert model.output.shape[-1] == 7 and model.get_layer("output").input.shape[-1] == 32
    restored = keras.models.model_from_json(model.to_json())  # registered: a saved run reloads
    assert isinstance(restored.get_layer("output"), CosineHead)
    with pytest.raises(Exception, match="unknown model 'resnet'"):
        speaker_embedding_model("resnet", (49, 10, 1), 7)
