"""Knowledge distillation: the loss against hand-written NumPy, and a student trained from a real teacher."""

import json

import numpy as np
import pytest

from tinyaudio.errors import ConfigError
from tinyaudio.pipeline import TrainConfig, train
from tinyaudio.train.distill import distillation_loss, pack_targets, packed_accuracy, soft_targets


def reference_loss(p: np.ndarray, y: np.ndarray, teacher: np.ndarray, alpha: float, t: float) -> np.ndarray:
    """Hinton et al. 2015 from the logits: alpha * CE + (1 - alpha) * T^2 * KL(softmax(z_t / T) || softmax(z_s / T))."""
    def softmax(z):
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    z_student, z_teacher = np.log(p), np.log(teacher)  # softmax outputs: their logs are logits up to a constant
    q_student, q_teacher = softmax(z_student / t), softmax(z_teacher / t)
    kl = np.sum(q_teacher * (np.log(q_teacher) - np.log(q_student)), axis=1)
    ce = -np.log(p[np.arange(len(y)), y])
    return alpha * ce + (1 - alpha) * t * t * kl


def test_soft_targets_keep_the_ranking_and_flatten_with_temperature():
    p = np.array([[0.7, 0.2, 0.1], [0.05, 0.05, 0.9]])
    np.testing.assert_allclose(soft_targets(p, 1.0), p, rtol=1e-6)
    hot = soft_targets(p, 4.0)
    np.testing.assert_allclose(hot.sum(axis=1), 1.0, rtol=1e-6)
    assert (hot.argsort(axis=1) == p.argsort(axis=1)).all()
    assert hot.max(axis=1)[0] < 0.7 and hot.max(axis=1)[1] < 0.9
    # T = 2 on [0.7, 0.2, 0.1]: square roots renormalised
    np.testing.assert_allclose(soft_targets(p[:1], 2.0)[0], np.sqrt(p[0]) / np.sqrt(p[0]).sum(), rtol=1e-6)


def test_distillation_loss_matches_hinton_and_alpha_one_is_cross_entropy():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(5), size=8).astype(np.float32)
    teacher = rng.dirichlet(np.ones(5) * 0.5, size=8).clip(1e-4).astype(np.float32)
    teacher /= teacher.sum(axis=1, keepdims=True)
    y = rng.integers(0, 5, size=8)
    packed = pack_targets(y, soft_targets(teacher, 3.0))
    got = np.asarray(distillation_loss(0.3, 3.0)(packed, p))
    np.testing.assert_allclose(got, reference_loss(p.astype(np.float64), y, teacher.astype(np.float64), 0.3, 3.0),
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.asarray(distillation_loss(1.0, 3.0)(packed, p)), -np.log(p[np.arange(8), y]), rtol=1e-5)
    # alpha 0 and a student equal to the teacher: nothing left to learn
    np.testing.assert_allclose(np.asarray(distillation_loss(0.0, 3.0)(pack_targets(y, soft_targets(teacher, 3.0)), teacher)),
                               0.0, atol=1e-5)
    metric = packed_accuracy()
    metric.update_state(packed, p)
    assert float(metric.result()) == pytest.approx(np.mean(p.argmax(axis=1) == y))
    with pytest.raises(ValueError, match="8 labels but 7 teacher predictions"):
        pack_targets(y, teacher[:7])


def test_a_student_learns_from_a_teacher_on_other_features(fsdd_run, tmp_path):
    """The FSDD ds_cnn (float MFCC) teaches one half its width on the device's q15 MFCC: the teacher
    must see the same clips and the same seeded augmented copies through its own features."""
    out = tmp_path / "student"
    config = TrainConfig(dataset="fsdd", model="ds_cnn", width_multiplier=0.5, features="fsdd_mfcc_q15", epochs=8,
                         patience=8, augment="noise", max_clips_per_split=1200, representative_size=100, monitor="val_accuracy",
                         teacher=str(fsdd_run), distill_alpha=0.3)
    metrics = train(config, out, verbose=0, log=lambda *_: None)
    distilled = metrics["distillation"]
    assert distilled["teachers"] == [str(fsdd_run)] and distilled["alpha"] == 0.3 and distilled["temperature"] == 4.0
    # fed the wrong features, the teacher would be near chance (0.1); it trained on clean clips, and
    # half of the training examples are noisy copies (3-20 dB SNR)
    assert distilled["teacher_validation_accuracy"] >= 0.85, distilled
    assert distilled["teacher_train_accuracy"] >= 0.6, distilled
    assert metrics["int8_accuracy"] >= 0.75, metrics["int8_accuracy"]
    assert json.loads((out / "config.json").read_text())["teacher"] == str(fsdd_run)
    assert "accuracy" in metrics["history"] and "val_accuracy" in metrics["history"]


def test_the_teacher_sees_the_same_clips_and_augmented_copies_through_its_own_features(fsdd_run):
    """On other features the teacher's probabilities are computed from the same audio, row for row:
    equal to its predictions on the arrays a run on its own features would train on."""
    import keras

    from tinyaudio.features.config import FeatureConfig
    from tinyaudio.pipeline.train import teacher_probabilities
    from tinyaudio.runtime.run_folder import RunFolder
    from tinyaudio.train.data import load_training_data, split_arrays

    teacher = RunFolder.open(fsdd_run)
    student = TrainConfig(dataset="fsdd", features="fsdd_mfcc_q15", augment="noise", max_clips_per_split=150, teacher=str(fsdd_run))
    dataset = load_training_data(student)
    quiet = dict(progress=False, log=lambda *_: None)
    splits, _ = split_arrays(student, dataset, FeatureConfig.load("fsdd_mfcc_q15"), **quiet)
    got = teacher_probabilities([teacher], student, dataset, splits, FeatureConfig.load("fsdd_mfcc_q15"))
    own, _ = split_arrays(student, dataset, teacher.feature_config, **quiet)
    model = keras.models.load_model(fsdd_run / "model.keras")
    for name in ("train", "validation"):
        assert got[name].shape == (len(splits[name].y), 10) and len(own[name].y) == len(splits[name].y)
        np.testing.assert_allclose(got[name], model.predict(own[name].x, verbose=0), atol=1e-5)
    assert (own["train"].y == splits["train"].y).all()
    # an ensemble averages its teachers' probabilities (the same teacher twice: the same figures)
    twice = teacher_probabilities([teacher, teacher], student, dataset, splits, FeatureConfig.load("fsdd_mfcc_q15"))
    np.testing.assert_allclose(twice["validation"], got["validation"], atol=1e-6)
    assert len(splits["train"].y) == 2 * len(splits["train"].clips)  # the originals, then one noisy copy each


def test_teacher_probabilities_are_cached_for_the_same_teachers_clips_and_copies(fsdd_run, monkeypatch):
    """A model search's trials share teachers, clips and copies: the second run reads the cache;
    another seed (other copies) computes again."""
    import dataclasses

    import keras

    from tinyaudio.features.config import FeatureConfig
    from tinyaudio.pipeline.train import _teacher_cache_key, teacher_probabilities
    from tinyaudio.paths import cache_root
    from tinyaudio.runtime.run_folder import RunFolder
    from tinyaudio.train.data import load_training_data, split_arrays

    teacher = RunFolder.open(fsdd_run)
    student = TrainConfig(dataset="fsdd", features="fsdd_mfcc_q15", augment="noise", max_clips_per_split=100, seed=7,
                          teacher=str(fsdd_run))
    dataset = load_training_data(student)
    splits, _ = split_arrays(student, dataset, FeatureConfig.load("fsdd_mfcc_q15"), progress=False, log=lambda *_: None)
    cached = cache_root() / "teachers" / f"{_teacher_cache_key([teacher], student, splits)}.npz"
    cached.unlink(missing_ok=True)
    first = teacher_probabilities([teacher], student, dataset, splits, FeatureConfig.load("fsdd_mfcc_q15"))
    assert cached.exists()

    def no_model(*_args, **_kwargs):
        raise AssertionError("the cached probabilities were not used")

    monkeypatch.setattr(keras.models, "load_model", no_model)
    again = teacher_probabilities([teacher], student, dataset, splits, FeatureConfig.load("fsdd_mfcc_q15"))
    for name in ("train", "validation"):
        np.testing.assert_array_equal(again[name], first[name])
    other_seed = dataclasses.replace(student, seed=8)
    assert _teacher_cache_key([teacher], other_seed, splits) != _teacher_cache_key([teacher], student, splits)
    with pytest.raises(AssertionError, match="the cached probabilities were not used"):
        teacher_probabilities([teacher], other_seed, dataset, splits, FeatureConfig.load("fsdd_mfcc_q15"))


def test_a_teacher_of_other_classes_or_other_audio_is_refused_before_training(fsdd_run, tmp_path):
    with pytest.raises(ConfigError, match=r"the teacher hears other audio: sample_rate 8000 \(this run 16000\)"):
        train(TrainConfig(dataset="fsdd", features="mfcc_49x10", teacher=str(fsdd_run)), tmp_path / "a", verbose=0)
    with pytest.raises(ConfigError, match=r"the teacher's classes \['0', .*'9'\] are not this run's \['_silence_'"):
        train(TrainConfig(dataset="speech_commands", features="fsdd_mfcc", teacher=str(fsdd_run)), tmp_path / "b", verbose=0)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    with pytest.raises(ConfigError, match="teacher distils a multi-class word model trained from scratch"):
        TrainConfig(keyword="7", teacher=str(fsdd_run))
