"""`tinyaudio train` of a streamable model writes its step models, and they agree with the full ones."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("keras")

from tinyaudio.errors import RunFolderError  # noqa: E402
from tinyaudio.pipeline import TrainConfig, train  # noqa: E402
from tinyaudio.pipeline.train import add_step_models  # noqa: E402
from tinyaudio.runtime.run import Classifier  # noqa: E402
from tinyaudio.runtime.stream import StreamingEngine  # noqa: E402


def test_training_ds_cnn_stream_writes_a_step_model_that_agrees(data_root, tmp_path):
    out = tmp_path / "run"
    metrics = train(TrainConfig(dataset="fsdd", model="ds_cnn_stream", features="fsdd_mfcc", epochs=3, patience=3,
                                max_clips_per_split=300, representative_size=50), out, verbose=0, log=lambda *_: None)
    for name in ("model_step_int8.tflite", "model_step_float.tflite", "stream_step.json"):
        assert (out / name).exists(), name
    assert name in json.loads((out / "checksums.json").read_text())
    streaming = metrics["streaming"]
    for kind in ("int8", "float", "keras"):
        assert streaming[f"agreement_{kind}"]["positions"] >= 200, kind
    assert streaming["agreement_int8"]["equal"] == streaming["agreement_int8"]["positions"]
    assert streaming["agreement_float"]["max_abs_diff"] <= 1e-5
    assert streaming["agreement_keras"]["max_abs_diff"] <= 1e-5
    assert streaming["macs_per_step"] <= 0.15 * streaming["macs_full"]
    # the engine runs it: one step per 40 ms hop
    engine = StreamingEngine(Classifier(out))
    assert engine.step is not None and engine.hop_s == pytest.approx(0.04)
    results = list(engine.run(np.zeros(8000 * 2, np.float32)))  # 2 s at 8 kHz: 50 hops, the first 24 warm up
    assert len(results) == 26 and np.isfinite(results[-1].scores).all()
    # `tinyaudio step-model RUN` rebuilds the same files and figures from the run's own models
    step = (out / "model_step_int8.tflite").read_bytes()
    assert add_step_models(out, log=lambda *_: None) == streaming
    assert (out / "model_step_int8.tflite").read_bytes() == step
    # ... but never over a file of those names that tinyaudio did not write
    for name in ("model_step_int8.tflite", "model_step_float.tflite", "stream_step.json"):
        (out / name).unlink()
    sums = json.loads((out / "checksums.json").read_text())
    (out / "checksums.json").write_text(json.dumps({k: v for k, v in sums.items() if not k.startswith(("model_step", "stream_step"))}))
    (out / "model_step_float.tflite").write_bytes(b"the user's own file")
    with pytest.raises(RunFolderError, match=r"model_step_float.tflite \(edited\): not written by tinyaudio, or edited since; move it away"):
        add_step_models(out, log=lambda *_: None)
    assert (out / "model_step_float.tflite").read_bytes() == b"the user's own file"
    assert not (out / "model_step_int8.tflite").exists()


def test_a_model_that_does_not_stream_gets_no_step_model(fsdd_run):
    assert not (fsdd_run / "stream_step.json").exists()  # ds_cnn: same padding and stride 2 in time
    assert "streaming" not in json.loads((fsdd_run / "metrics.json").read_text())
