"""Same command, same numbers: two identical trainings (with the default augmentation policy: speed,
rooms, channel, noise, SpecAugment) give identical histories and int8 models."""

import json

import numpy as np

from tinyaudio.runtime import TFLiteModel
from tinyaudio.pipeline import TrainConfig, train

TINY = TrainConfig(dataset="fsdd", model="cnn_mfcc", features="fsdd_mfcc", epochs=2, max_clips_per_split=150,
                   representative_size=50, seed=3, augment="default")


def test_two_runs_are_identical(data_root, tmp_path):
    a = train(TINY, tmp_path / "a", verbose=0, log=lambda *_: None)
    b = train(TINY, tmp_path / "b", verbose=0, log=lambda *_: None)
    assert a["history"] == b["history"]
    assert a["int8_accuracy"] == b["int8_accuracy"]
    # the flatbuffers differ in converter metadata, not in weights: compare what the models compute
    x = np.random.default_rng(0).normal(0, 20, size=(16, 49, 13)).astype(np.float32)
    out_a = TFLiteModel(tmp_path / "a" / "model_int8.tflite").predict(x)
    out_b = TFLiteModel(tmp_path / "b" / "model_int8.tflite").predict(x)
    np.testing.assert_array_equal(out_a, out_b)
    saved = json.loads((tmp_path / "a" / "config.json").read_text())
    assert TrainConfig.from_dict(saved) == TINY
    assert a["counts"]["train"] == 2 * 150 and a["augment_policy"]["room"] == 0.3  # one augmented copy each; the policy in metrics
