"""Transfer learning mechanics, threshold choice, and a small fire-alarm run with --base and --qat."""

from __future__ import annotations

import json

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from tinyaudio.errors import ConfigMismatchError  # noqa: E402
from tinyaudio.features import FeatureConfig  # noqa: E402
from tinyaudio.models import build_model  # noqa: E402
from tinyaudio.evaluate.threshold import choose_threshold, rates, rates_by_source  # noqa: E402
from tinyaudio.train.transfer import fit_transfer  # noqa: E402

SHAPE = (61, 40, 1)


@pytest.fixture(scope="module")
def base_run(tmp_path_factory):
    """A run folder holding an (untrained) 5-class cnn_resize32 on logmel_61x40 features."""
    run = tmp_path_factory.mktemp("base")
    keras.utils.set_random_seed(0)
    build_model("cnn_resize32", SHAPE, 5, mean=-4.0, variance=4.0).save(run / "model.keras")
    (run / "labels.txt").write_text("a\nb\nc\nd\ne\n")
    FeatureConfig.load("logmel_61x40").save(run / "feature_config.json")
    return run


def _data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(-4.0, 1.0, size=(n, *SHAPE)).astype(np.float32)
    y = rng.integers(0, 2, size=n)
    x[y == 1, 20:40, 25:30, 0] += 4.0
    return x, y


def test_two_stages_freeze_then_fine_tune(base_run):
    x, y = _data()
    base = keras.models.load_model(base_run / "model.keras")
    conv_before = next(l for l in base.layers if isinstance(l, keras.layers.Conv2D)).get_weights()[0]
    model, history, info = fit_transfer(keras.models.load_model(base_run / "model.keras"), x, y, (x[:16], y[:16]), n_outputs=1,
                                        freeze_backbone_epochs=2, fine_tune_epochs=2, fine_tune_lr=1e-3, batch_size=32, verbose=0)
    assert model.output_shape == (None, 1) and model.layers[-1].activation.__name__ == "sigmoid"
    assert info["stage1_epochs"] == 2 and info["stage2_epochs"] == 2
    assert len(history["loss"]) == 4 and {"val_loss", "val_accuracy"} <= set(info["stage1"])
    conv_after = next(l for l in model.layers if isinstance(l, keras.layers.Conv2D)).get_weights()[0]
    assert not np.allclose(conv_before, conv_after)  # stage 2 trained the backbone

    frozen, _, info = fit_transfer(keras.models.load_model(base_run / "model.keras"), x, y, (x[:16], y[:16]), n_outputs=1,
                                   freeze_backbone_epochs=2, fine_tune_epochs=0, batch_size=32, verbose=0)
    conv_frozen = next(l for l in frozen.layers if isinstance(l, keras.layers.Conv2D)).get_weights()[0]
    np.testing.assert_array_equal(conv_before, conv_frozen)  # stage 1 alone leaves it untouched
    assert info["stage2_epochs"] == 0


def test_base_with_other_input_shape_is_refused(base_run):
    x = np.zeros((8, 49, 10, 1), np.float32)
    with pytest.raises(ConfigMismatchError, match="feature config"):
        fit_transfer(keras.models.load_model(base_run / "model.keras"), x, np.zeros(8, int), (x, np.zeros(8, int)), n_outputs=1, verbose=0)


def test_threshold_meets_its_target():
    rng = np.random.default_rng(0)
    y = np.r_[np.zeros(500, int), np.ones(100, int)]
    s = np.r_[rng.beta(2, 5, 500), rng.beta(5, 2, 100)]
    t = choose_threshold(y, s, max_fpr=0.02)
    r = rates(y, s, t)
    assert r["false_positive_rate"] <= 0.02
    # the next lower observed score would break the target
    lower = s[s < t].max()
    assert rates(y, s, lower)["false_positive_rate"] > 0.02 or rates(y, s, lower)["recall"] == r["recall"]
    t2 = choose_threshold(y, s, min_recall=0.9)
    assert rates(y, s, t2)["recall"] >= 0.9
    assert choose_threshold(y, s) == 0.5
    # int8 detectors give tied float32 scores: "never fire" must stay above them in float32 too
    tied = np.full(len(y), 0.5, np.float32)
    t3 = choose_threshold(y, tied, max_fpr=0.05)
    assert rates(y, tied, t3)["false_positive_rate"] == 0.0 and not (tied >= np.float32(t3)).any()
    with pytest.raises(ValueError):
        choose_threshold(y, s, max_fpr=0.1, min_recall=0.5)


def test_fire_alarm_transfer_run_writes_stages_qat_and_threshold(data_root, base_run, tmp_path):
    from tinyaudio.pipeline import TrainConfig, train

    config = TrainConfig(dataset="fire_alarm", keyword="fire_alarm", base=str(base_run), freeze_backbone_epochs=1,
                         fine_tune_epochs=1, qat=True, qat_epochs=1, target_max_fpr=0.05, max_clips_per_split=120,
                         representative_size=50)
    m = train(config, tmp_path / "run", data_dir=data_root, verbose=0, log=lambda *_: None)
    names = {p.name for p in (tmp_path / "run").iterdir()}
    assert {"model_int8_qat.tflite", "model_int8_qat.h", "threshold.json", "roc_int8.png", "pr_int8.png",
            "roc_int8_qat.png", "history_stage1.png", "history_stage2.png"} <= names
    assert m["transfer"]["stage1_epochs"] == 1 and m["qat"]["epochs_run"] == 1
    assert "int8_qat" in m["test"]
    op = json.loads((tmp_path / "run" / "threshold.json").read_text())
    assert op["int8"]["validation"]["false_positive_rate"] <= 0.05
    assert 0.0 <= op["int8"]["test"]["recall"] <= 1.0
    test = op["int8"]["test"]  # per recording / negative source at the operating point (issue #15)
    assert test["by_source"] == m["operating_point"]["int8"]["test"]["by_source"]
    confusion = test["confusion"]
    assert sum(v["windows"] for v in test["by_source"].values()) == sum(confusion.values())
    assert sum(v["fired"] for v in test["by_source"].values() if v["label"] == 1) == confusion["tp"]
    assert sum(v["fired"] for v in test["by_source"].values() if v["label"] == 0) == confusion["fp"]
    assert {k for k, v in test["by_source"].items() if v["label"] == 1} == {"alarm/ALRMElec_Smoke detector alarm (ID 0800)_BSB"}


def test_rates_by_source_names_each_recording_and_falls_back_to_the_kind_of_source():
    speakers = ["alarm/a/train", "alarm/a/validation", "alarm/b/train"] + [f"esc50/{i}" for i in range(25)] + ["noise/pink/test"]
    y = np.array([1, 1, 1] + [0] * 26)
    scores = np.array([0.9, 0.2, 0.8] + [0.0] * 24 + [0.7, 0.6])
    by = rates_by_source(y, scores, 0.5, speakers)
    assert by == {"alarm/a": {"label": 1, "windows": 2, "fired": 1, "rate": 0.5},
                  "alarm/b": {"label": 1, "windows": 1, "fired": 1, "rate": 1.0},
                  "esc50": {"label": 0, "windows": 25, "fired": 1, "rate": 0.04},
                  "noise": {"label": 0, "windows": 1, "fired": 1, "rate": 1.0}}
    assert rates_by_source(np.zeros(30), np.zeros(30), 0.5, [f"spk{i}" for i in range(30)]) == {}  # 30 speakers: left out
