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


def reference_ge2e(e: np.ndarray, n: int, m: int, w: float, b: float) -> np.ndarray:
    e = e / np.linalg.norm(e, axis=1, keepdims=True)
    e = e.reshape(n, m, -1)
    out = np.zeros((n, m, n))
    for j in range(n):
        for i in range(m):
            for k in range(n):
                others = [e[k, u] for u in range(m) if not (k == j and u == i)]
                c = np.mean(others, axis=0)
                out[j, i, k] = w * (e[j, i] @ c) / np.linalg.norm(c) + b
    return out.reshape(n * m, n)


def test_ge2e_head_is_the_papers_similarity_matrix_with_exclusive_centroids():
    from tinyaudio.models import GE2EHead

    rng = np.random.default_rng(0)
    e = rng.normal(size=(3 * 4, 8)).astype(np.float32)
    head = GE2EHead(3, 4)
    got = np.asarray(head(e))
    np.testing.assert_allclose(got, reference_ge2e(e.astype(np.float64), 3, 4, 10.0, -5.0), rtol=1e-4, atol=1e-4)
    with pytest.raises(Exception, match="at least 2 utterances per speaker"):
        GE2EHead(3, 1)


def test_ge2e_batch_plan_draws_distinct_speakers_grouped_in_order():
    from tinyaudio.train.batches import speaker_batch_plan

    speakers = np.repeat(np.arange(10), [1, 5, 5, 5, 5, 5, 5, 5, 5, 5])  # speaker 0 has too few clips
    plan = speaker_batch_plan(speakers, 4, 3, 50, np.random.default_rng(0))
    assert plan.shape == (50, 12)
    for batch in plan:
        groups = speakers[batch].reshape(4, 3)
        assert np.all(groups == groups[:, :1]) and len(set(groups[:, 0])) == 4 and 0 not in groups
        assert len(set(batch.tolist())) == 12
    with pytest.raises(ValueError, match="need 10 speakers with 3 clips each; only 9 have that many"):
        speaker_batch_plan(speakers, 10, 3, 1, np.random.default_rng(0))
