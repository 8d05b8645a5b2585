"""EER, minDCF, DET curve and trial lists (pure NumPy, no training)."""

from pathlib import Path

import numpy as np
import pytest

from tinyaudio.data.dataset import Clip
from tinyaudio.evaluate.speaker import (
    at_threshold, det_curve, make_trials, pairwise_eer, plot_det, threshold_at_false_accept_rate, verification_metrics,
)
from tinyaudio.runtime.speaker import Cohort


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
    clip = lambda spk, i, split: Clip(Path(f"{spk}_{split}_{i}.wav"), spk, spk, split)  # noqa: E731
    pool = [clip(s, i, "validation") for s in "abc" for i in range(5)]
    tests = [clip(s, i, "test") for s in "ab" for i in range(3)]
    enrol, trials = make_trials(pool, tests, n_enrol=2, seed=0)
    assert sorted(enrol) == ["a", "b"] and all(len(v) == 2 for v in enrol.values())
    assert len(trials) == 6 * 2 and sum(t for _, _, t in trials) == 6
    assert all(len(item) == 1 for _, item, _ in trials)
    assert not {c for v in enrol.values() for c in v} & {c for _, item, _ in trials for c in item}


def test_make_trials_on_one_set_of_unseen_speakers_enrols_from_whole_files_and_tests_the_others():
    # 3 speakers x 4 files x 6 one-second windows; enrolment and tests drawn from the same clips
    clips = [Clip(Path(f"{s}/{f}.flac"), s, s, "test", offset=float(w)) for s in "abc" for f in range(4) for w in range(6)]
    enrol, trials = make_trials(clips, clips, n_enrol=10, seed=1)
    for s, chosen in enrol.items():
        assert len(chosen) == 10 and len({c.path for c in chosen}) == 2  # 6 + 4 windows of two files
    enrol_files = {c.path for v in enrol.values() for c in v}
    tested = {c.path for _, item, _ in trials for c in item}
    assert not enrol_files & tested and len(tested) == 3 * 2
    _, per_file = make_trials(clips, clips, n_enrol=10, seed=1, per_file=True)
    assert len(per_file) == 3 * 2 * 3 and all(len(item) == 6 for _, item, _ in per_file)  # an utterance = its windows
    assert sum(t for _, _, t in per_file) == 6


def test_threshold_for_a_false_accept_rate_and_counts_at_a_threshold():
    targets = np.array([1] * 10 + [0] * 100)
    scores = np.concatenate([np.linspace(1.0, 3.0, 10), np.linspace(-2.0, 1.5, 100)])
    op = threshold_at_false_accept_rate(scores, targets, 0.05)
    assert op["false_accept_rate"] <= 0.05 and op["threshold"] == pytest.approx(scores[10:][-5])
    assert op["false_reject_rate"] == pytest.approx(0.2)  # targets 1.0 and 1.22 fall below 1.32
    at = at_threshold(scores, targets, op["threshold"])
    assert (at["false_accepts"], at["false_rejects"]) == (5, 2)


def test_pairwise_eer_separates_clustered_speakers():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(5, 16))
    speakers = np.repeat(np.arange(5), 20)
    assert pairwise_eer(centres[speakers] + 0.1 * rng.normal(size=(100, 16)), speakers.tolist()) == 0.0
    assert pairwise_eer(rng.normal(size=(100, 16)), speakers.tolist()) > 0.35


def test_s_norm_puts_a_popular_enrolment_on_the_common_scale():
    rng = np.random.default_rng(0)
    cohort = Cohort(rng.normal(size=(300, 32)), top_k=50)
    e, t = rng.normal(size=32), rng.normal(size=32)
    e, t = e / np.linalg.norm(e), t / np.linalg.norm(t)
    (mu_e, sd_e), (mu_t, sd_t) = cohort.stats(e), cohort.stats(t)
    top = np.sort(cohort.embeddings @ e)[-50:]
    assert mu_e == pytest.approx(top.mean(), abs=1e-6) and sd_e == pytest.approx(top.std(), abs=1e-6)
    raw = float(e @ t)
    assert cohort.normalise(raw, e, t) == pytest.approx(0.5 * ((raw - mu_e) / sd_e + (raw - mu_t) / sd_t), abs=1e-5)
    assert cohort.normalise(mu_e, e, e) < cohort.normalise(mu_e + 3 * sd_e, e, e)
    with pytest.raises(Exception, match="at least 2 embeddings"):
        Cohort(np.ones((1, 4)))
