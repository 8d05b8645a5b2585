"""Streaming step models: the int8 step model equals the whole-window model, in Python and in C.

``tests/fixtures/stream_kws`` is ``runs/sc12_q15_stream`` (``make stream-fixture``): ds_cnn_stream
trained on Speech Commands (12 classes) on the device's q15 MFCCs. The stream here is held-out
Speech Commands test clips read back to back, as the streaming engine hears them.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tinyaudio.data.audio import load_audio
from tinyaudio.errors import TinyAudioError
from tinyaudio.evaluate.step import compare_step_model
from tinyaudio.quantize.streaming import StepSpec, StreamingError, step_model
from tinyaudio.runtime.litert import TFLiteModel, TFLiteStepModel
from tinyaudio.runtime.run import Classifier
from tinyaudio.runtime.stream import StreamingEngine, StreamingFeatures

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "stream_kws"


@pytest.fixture(scope="module")
def stream(data_root):
    """12 s of Speech Commands test clips (one per word folder, then more), 16 kHz float32."""
    pytest.importorskip("cmsisdsp", reason="the fixture's q15 MFCCs need cmsisdsp")
    root = data_root / "speech_commands_v0.02_test_dev"
    words = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("_"))
    files = [sorted(d.glob("*.wav"))[i] for i in range(2) for d in words][:12]
    return np.concatenate([load_audio(f, 16000) for f in files]).astype(np.float32)


@pytest.fixture(scope="module")
def frames(stream):
    """The stream's feature frames as the streaming frontend computes them, (n, 10)."""
    from tinyaudio.runtime.run_folder import RunFolder

    features = StreamingFeatures(RunFolder(FIXTURE).feature_config)
    out = []
    for start in range(0, len(stream), 640):
        n_new = features.push(stream[start : start + 640])
        if n_new:
            out.append(features.window()[-n_new:])
    return np.concatenate(out)


def test_int8_step_model_equals_the_whole_window_model_on_a_real_stream(frames):
    full = (FIXTURE / "model_int8.tflite").read_bytes()
    step, spec = step_model(full)
    assert step == (FIXTURE / "model_step_int8.tflite").read_bytes()  # the rewrite is deterministic
    assert spec == StepSpec.from_dict(json.loads((FIXTURE / "stream_step.json").read_text()))
    assert spec.frames_per_step == 2 and spec.n_frames == 49

    result = compare_step_model(full, step, spec.to_dict(), frames)
    assert result["positions"] >= 200
    assert result["equal"] == result["positions"], result
    # not a degenerate check: the full model's top class changes along the stream
    model = TFLiteModel(full, reference_kernels=True)
    q = model.quantize_input(frames)
    tops = {int(model.invoke(q[end - 49 : end]).argmax()) for end in range(50, len(frames), 10)}
    assert len(tops) >= 5


def test_float_step_model_within_1e_5_of_the_float_model(frames):
    full = (FIXTURE / "model_float.tflite").read_bytes()
    step, spec = step_model(full)
    result = compare_step_model(full, step, spec.to_dict(), frames)
    assert result["positions"] >= 200
    assert result["max_abs_diff"] <= 1e-5, result


def test_a_step_costs_a_few_percent_of_a_window():
    keras = pytest.importorskip("keras")  # noqa: F841
    from tinyaudio.models import build_model, count_macs

    spec = json.loads((FIXTURE / "stream_step.json").read_text())
    twin = count_macs(build_model("ds_cnn", (49, 10, 1), 12))  # the non-streaming DS-CNN: 2.66 M
    assert spec["macs_per_step"] <= 0.15 * twin
    assert spec["macs_per_step"] <= 0.15 * spec["macs_full"]
    assert sum(np.prod(s["shape"]) for s in spec["states"]) < 8192  # bytes of int8 state


def test_generated_c_runs_the_step_model_bit_for_bit(frames, tmp_path):
    if shutil.which("gcc") is None:
        pytest.skip("gcc not found")
    from tinyaudio.export.codegen.build import build_host_model, run_host_model

    spec = json.loads((FIXTURE / "stream_step.json").read_text())
    litert = TFLiteStepModel(FIXTURE / "model_step_int8.tflite", spec)
    q = TFLiteModel(FIXTURE / "model_int8.tflite").quantize_input(frames)
    steps = q[: len(q) // 2 * 2].reshape(-1, 2, q.shape[1])  # from the stream's start: warm-up included
    want = np.concatenate([litert.step_raw(s) for s in steps])
    exe, generated = build_host_model(FIXTURE / "model_step_int8.tflite", tmp_path)
    assert generated.state_bytes > 0 and "CONCATENATION" in generated.ops
    got = run_host_model(exe, steps, want.shape[1])
    np.testing.assert_array_equal(got, want)


def test_engine_with_the_step_model_gives_the_whole_window_scores(stream):
    streaming = Classifier(FIXTURE)
    whole = Classifier(FIXTURE, streaming=False, reference_kernels=True)  # the step model runs the reference kernels
    assert streaming.step is not None and whole.step is None
    a = [r.scores for r in StreamingEngine(streaming, hop_s=0.04).run(stream)]
    b = [r.scores for r in StreamingEngine(whole, hop_s=0.04).run(stream)]
    assert len(a) == len(b) > 200
    np.testing.assert_array_equal(np.array(a), np.array(b))


def test_hop_is_rounded_to_whole_steps():
    engine = StreamingEngine(Classifier(FIXTURE), hop_s=0.02)
    assert engine.frames_per_hop == 2 and engine.hop_s == pytest.approx(0.04)


def test_a_model_that_looks_ahead_in_time_is_refused():
    keras = pytest.importorskip("keras")  # noqa: F841
    from tinyaudio.models import build_model
    from tinyaudio.quantize import convert_float
    from tinyaudio.quantize.silence import quiet_converter

    with quiet_converter(True):
        flat = convert_float(build_model("ds_cnn", (49, 10, 1), 3, width=8, n_blocks=1))
    with pytest.raises(StreamingError, match=r"^CONV_2D \(.*\) looks ahead in time \(same padding along time\)"):
        step_model(flat)


def test_a_corrupt_step_model_is_named(tmp_path):
    bad = tmp_path / "model_step_int8.tflite"
    bad.write_bytes(b"not a model")
    with pytest.raises(TinyAudioError, match=r"model_step_int8.tflite: not a valid step model"):
        TFLiteStepModel(bad, json.loads((FIXTURE / "stream_step.json").read_text()))
