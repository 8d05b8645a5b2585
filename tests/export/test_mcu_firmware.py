"""The exported `--target c` project (q15 frontend + pipeline + generated plain-C model) on a Cortex-M3
under QEMU: fed real FSDD test clips, its int8 outputs equal TensorFlow Lite Micro's bit for bit.

The module fixture trains a small DS-CNN (every layer kind of the zoo's KWS models: conv, depthwise
conv, pointwise conv, average pool, dense, softmax) for three epochs on the device's own q15 MFCCs
(``fsdd_mfcc_q15``) and writes a minimal run folder; the test exports it, cross-compiles it with
``arm-none-eabi-gcc`` and runs it with ``qemu-system-arm -M mps2-an385 -icount shift=0``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("cmsisdsp", reason="the q15 frontend needs cmsisdsp==1.10.3 (pip install 'tinyaudio[mcu]')")
pytest.importorskip("tflite_micro", reason="the reference outputs come from tflite-micro (pip install tflite-micro)")

from tinyaudio.export.mcu import BuildError, build_qemu_firmware, firmware_memory, run_qemu_firmware  # noqa: E402
from tinyaudio.export.mcu.check import model_io, tflm_outputs  # noqa: E402
from tinyaudio.export.mcu.project import model_input_q15  # noqa: E402
from tinyaudio.pipeline import export_run  # noqa: E402
from tinyaudio.export.mcu.build import ARM_CC  # noqa: E402
from tinyaudio.export.mcu.qemu import QEMU  # noqa: E402
from tinyaudio.features import FeatureConfig  # noqa: E402
from tinyaudio.export.cpus import CPUS  # noqa: E402
from tinyaudio.export.mcu.profile import TIMINGS, profile_firmware  # noqa: E402

pytestmark = pytest.mark.skipif(
    shutil.which(ARM_CC) is None or shutil.which(QEMU) is None,
    reason=f"{ARM_CC} / {QEMU} not found (Debian: apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm)",
)

CONFIG = FeatureConfig.load("fsdd_mfcc_q15")
N_CLIPS = 16


@pytest.fixture(scope="module")
def q15_run(tmp_path_factory, data_root) -> Path:
    """Run folder (config.json, feature_config.json, labels.txt, model_int8.tflite) of a small DS-CNN on q15 MFCCs."""
    keras = pytest.importorskip("keras")
    from tinyaudio.data import load_dataset
    from tinyaudio.features.cache import dataset_features
    from tinyaudio.models import build_model
    from tinyaudio.quantize import quantize_int8

    keras.utils.set_random_seed(0)
    ds = load_dataset("fsdd", data_root)
    x, kept, _ = dataset_features(ds.split("train")[::12][:200], CONFIG, progress=False)
    y = np.array([ds.labels.index(c.label) for c in kept])
    model = build_model("ds_cnn", (*CONFIG.shape, 1), len(ds.labels), width=32, n_blocks=2)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy")
    model.fit(x[..., None], y, epochs=3, batch_size=32, verbose=0)
    out = tmp_path_factory.mktemp("q15_run")
    CONFIG.save(out / "feature_config.json")
    (out / "labels.txt").write_text("\n".join(ds.labels) + "\n")
    (out / "config.json").write_text(json.dumps({"dataset": "fsdd", "model": "ds_cnn", "features": "fsdd_mfcc_q15"}))
    (out / "model_int8.tflite").write_bytes(quantize_int8(model, x[::4, ..., None]))
    return out


def fsdd_test_clips(data_root: Path, n: int) -> np.ndarray:
    """``n`` FSDD test-split clips spread over the split, int16, shape (n, CONFIG.n_samples)."""
    from tinyaudio.data import load_dataset
    from tinyaudio.data.dataset import load_clips
    from tinyaudio.features.q15 import float_to_q15

    test = load_dataset("fsdd", data_root).split("test")
    chosen = [test[i] for i in np.linspace(0, len(test) - 1, n).round().astype(int)]
    samples, kept, _ = load_clips(chosen, CONFIG.sample_rate, CONFIG.n_samples)
    assert len(kept) == n
    return float_to_q15(samples)


@pytest.mark.parametrize("cpu", list(CPUS))
def test_exported_firmware_under_qemu_equals_tflm_on_real_clips(q15_run, data_root, tmp_path, cpu):
    try:
        project = export_run(q15_run, tmp_path / "project", target="c", cpu=cpu)
        elf = build_qemu_firmware(project.source_dir, tmp_path / "build", cpu=cpu)
    except BuildError as exc:
        if "download" in str(exc):
            pytest.skip(f"CMSIS-DSP sources unavailable: {exc}")
        raise
    model = (q15_run / "model_int8.tflite").read_bytes()
    inp, outp = model_io(model)
    n_outputs = int(np.prod(outp.shape[1:]))
    clips = fsdd_test_clips(data_root, N_CLIPS)

    run = run_qemu_firmware(elf, clips, n_outputs, cpu=cpu, timeout_s=300)

    want_inputs = model_input_q15(clips, CONFIG, inp.scale, inp.zero_point)
    np.testing.assert_array_equal(run.model_inputs, want_inputs.reshape(N_CLIPS, -1))
    want = tflm_outputs(model, want_inputs[..., None])
    mismatch = np.argwhere(run.outputs != want)
    assert len(mismatch) == 0, f"{len(mismatch)} of {want.size} outputs differ, first at (clip, output) {mismatch[0]}"
    assert len({tuple(row) for row in want}) > N_CLIPS // 2  # the clips give different scores
    assert run.frames_per_clip == CONFIG.n_frames
    assert 1e5 < run.instructions_per_inference < 1e9, run.instructions_per_inference
    assert 1e4 < run.instructions_per_frame < 1e6, run.instructions_per_frame
    assert run.instructions_per_frontend_clip > CONFIG.n_frames * run.instructions_per_frame

    memory = firmware_memory(elf)
    assert memory.flash_bytes > memory.parts["model"][0] > 0
    assert memory.ram_bytes > memory.parts["model"][1] >= project.codegen.arena_size
    assert memory.parts["frontend"][1] > 0  # the ta_pipeline_t state (frame buffer, frontend scratch)


def test_firmware_loop_over_a_continuous_stream_equals_tflm(q15_run, data_root, tmp_path):
    """Initialised once, the firmware hears clips back to back (as a board's loop does); after each
    clip its output is TFLite Micro's on the stream's last window. Before the pipeline kept its own
    window, the model's reuse of its input tensor's memory corrupted every later window."""
    project = export_run(q15_run, tmp_path / "project", target="c", cpu="cortex-m0plus")
    elf = build_qemu_firmware(project.source_dir, tmp_path / "build", cpu="cortex-m0plus")
    model = (q15_run / "model_int8.tflite").read_bytes()
    inp, outp = model_io(model)
    stream = fsdd_test_clips(data_root, 4).reshape(-1)
    step = 2000  # a loop step of 0.25 s: 12 or 13 new frames, far fewer than a window
    steps = stream[: len(stream) // step * step].reshape(-1, step)
    run = run_qemu_firmware(elf, steps, int(np.prod(outp.shape[1:])), cpu="cortex-m0plus", timeout_s=300,
                            continuous=True)

    frames = model_input_q15(stream, CONFIG, inp.scale, inp.zero_point)  # the whole stream's frames
    ends = [(k * step - CONFIG.n_fft) // CONFIG.hop_length + 1 for k in range(1, len(steps) + 1)]
    full = [i for i, end in enumerate(ends) if end >= CONFIG.n_frames]  # windows without init silence
    windows = np.stack([frames[ends[i] - CONFIG.n_frames : ends[i]] for i in full])
    want = tflm_outputs(model, windows[..., None])
    assert len(full) >= 10
    np.testing.assert_array_equal(run.outputs[full], want)


def test_profile_counts_the_instructions_systick_counts_and_estimates_cycles(q15_run, data_root, tmp_path):
    """The execution-trace replay counts what QEMU's instruction counter counts (within the
    harness's SysTick reads), and each core's cycle estimate is above its instruction count."""
    project = export_run(q15_run, tmp_path / "project", target="c")
    elf = build_qemu_firmware(project.source_dir, tmp_path / "build", cpu="cortex-m0plus")
    clips = fsdd_test_clips(data_root, 2)
    _, outp = model_io((q15_run / "model_int8.tflite").read_bytes())
    run = run_qemu_firmware(elf, clips, int(np.prod(outp.shape[1:])), cpu="cortex-m0plus", timeout_s=300)
    profile = profile_firmware(elf, clips, cpu="cortex-m0plus")

    assert profile.frames_per_clip == CONFIG.n_frames
    assert abs(profile.instructions("model") - run.instructions_per_inference) < 200, (
        profile.instructions("model"), run.instructions_per_inference)
    counts = profile.stages["model"].counts
    assert counts["multiply"] > 0 and counts["load"] > 0 and counts["branch_taken"] > 0
    assert counts["long_multiply"] == 0  # ARMv6-M has none: requantization splits the product
    for core in TIMINGS:
        assert profile.cycles("model", core) > profile.instructions("model")
    assert "ta_conv2d_s8" in profile.stages["model"].functions


STREAM_FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "stream_kws"


def test_streaming_firmware_under_qemu_equals_the_whole_window_model(data_root, tmp_path):
    """The step model's firmware (one invoke per two new frames, states in static buffers) on the
    RP2040's core, hearing a 12 s stream of real words loop step by loop step: after every step its
    output is TFLite Micro's output of the whole-window model on the stream's last window."""
    from tinyaudio.data import load_dataset
    from tinyaudio.data.dataset import load_clips
    from tinyaudio.features.q15 import float_to_q15

    config = FeatureConfig.load(STREAM_FIXTURE / "feature_config.json")
    test = load_dataset("speech_commands", data_root).split("test")
    chosen = [test[i] for i in np.linspace(0, len(test) - 1, 12).round().astype(int)]
    samples, _, _ = load_clips(chosen, config.sample_rate, config.n_samples)
    stream = float_to_q15(samples).reshape(-1)
    project = export_run(STREAM_FIXTURE, tmp_path / "project", target="c", cpu="cortex-m0plus")
    assert project.codegen.state_bytes > 0
    assert "#define TA_STREAMING 1" in (project.source_dir / "model_settings.h").read_text()
    elf = build_qemu_firmware(project.source_dir, tmp_path / "build", cpu="cortex-m0plus")
    model = (STREAM_FIXTURE / "model_int8.tflite").read_bytes()
    inp, outp = model_io(model)
    step = project.step_samples  # 640 samples: two frames, one step of the model
    steps = stream.reshape(-1, step)
    run = run_qemu_firmware(elf, steps, int(np.prod(outp.shape[1:])), cpu="cortex-m0plus", timeout_s=300,
                            continuous=True)

    frames = model_input_q15(stream, config, inp.scale, inp.zero_point)
    ends = [(k * step - config.n_fft) // config.hop_length + 1 for k in range(1, len(steps) + 1)]
    full = [i for i, end in enumerate(ends) if end >= config.n_frames]
    windows = np.stack([frames[ends[i] - config.n_frames : ends[i]] for i in full])
    want = tflm_outputs(model, windows[..., None])
    assert len(full) >= 200
    np.testing.assert_array_equal(run.outputs[full], want)
    assert len({tuple(row) for row in want}) > 50  # the scores move along the stream
    # a step is a few % of the whole-window model (24 M instructions on the M0+ build)
    assert 1e5 < run.instructions_per_inference < 3e6, run.instructions_per_inference
