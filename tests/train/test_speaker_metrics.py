"""EER, minDCF, DET curve and trial lists (pure NumPy, no training)."""

from pathlib import Path

import numpy as np
import pytest

from tinyaudio.data.dataset import Clip
from tinyaudio.evaluate.speaker import det_curve, make_trials, plot_det, verification_metrics


def test_perfect_separation_has_zero_eer_and_dcf():
    m = verification_metrics(np.array([0.1, 0.2, 0.8, 0.9]), np.array([0, 0, 1, 1]))
    assert m["eer"] == 0.0 and m["min_dcf"]["0.01"] == 0.0
    assert 0.2 < m["eer_threshold"] <= 0.8
    assert (m["n_target"], m["n_nontarget"]) == (2, 2)


def test_eer_of_a_hand_computed_case():
    # targets 0.3, 0.6, 0.9; non-targets 0.2, 0.5, 0.7 -> at threshold 0.6: miss 1/3, fa 1/3
    scores = np.array([0.3, 0.6, 0.9, 0.2, 0.5, 0.7])
    targets = np.array([1, 1, 1, 0, 0, 0])
    m = verification_metrics(scores, targets)
    assert m["eer"] == pytest.approx(1 / 3)
    # minDCF at p=0.5 (c_miss = c_fa = 1) is the min of p_miss + p_fa: 1/3 + 1/3 or 0 + 2/3
    assert verification_metrics(scores, targets, p_targets=(0.5,))["min_dcf"]["0.5"] == pytest.approx(2 / 3)


def test_random_scores_have_eer_near_half():
    rng = np.random.default_rng(0)
    m = verification_metrics(rng.normal(size=4000), rng.integers(0, 2, size=4000))
    assert 0.45 < m["eer"] < 0.55
    assert m["min_dcf"]["0.01"] == pytest.approx(1.0, abs=0.02)  # never better than "reject all"


def test_det_curve_handles_ties_and_is_monotone():
    t, p_miss, p_fa = det_curve(np.array([0.5, 0.5, 0.5, 0.1]), np.array([1, 0, 1, 0]))
    assert list(p_miss) == [0.0, 0.0, 1.0] and list(p_fa) == [1.0, 0.5, 0.0]
    assert np.all(np.diff(t) > 0)
    with pytest.raises(ValueError, match="target and non-target"):
        det_curve(np.array([0.1, 0.2]), np.array([1, 1]))


def test_plot_det_writes_a_png(tmp_path):
    rng = np.random.default_rng(1)
    targets = rng.integers(0, 2, size=300)
    _, p_miss, p_fa = det_curve(rng.normal(size=300) + targets, targets)
    path = plot_det({"demo": (p_miss, p_fa)}, tmp_path / "det.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_make_trials_pairs_every_test_clip_with_every_enrolled_speaker():
    clip = lambda spk, i, split: Clip(Path(f"{spk}_{i}.wav"), spk, spk, split)  # noqa: E731
    pool = [clip(s, i, "validation") for s in "abc" for i in range(5)]
    tests = [clip(s, i, "test") for s in "ab" for i in range(3)]
    enrol, trials = make_trials(pool, tests, n_enrol=2, seed=0)
    assert sorted(enrol) == ["a", "b"] and all(len(v) == 2 for v in enrol.values())
    assert len(trials) == 6 * 2 and sum(t for _, _, t in trials) == 6
    assert not {c for v in enrol.values() for c in v} & set(tests)
