"""The C q15 frontend (ta_frontend.c + CMSIS-DSP, host gcc) equals the Python one bit for bit."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("cmsisdsp", reason="q15 frontend needs cmsisdsp==1.10.3 (pip install 'tinyaudio[mcu]')")

from tinyaudio.export.mcu import BuildError, build_host_frontend, frontend_header, run_host_frontend  # noqa: E402
from tinyaudio.features import FeatureConfig  # noqa: E402
from tinyaudio.features.q15 import compute_features_q15, q15_tables  # noqa: E402

DATA = Path(os.environ.get("TINYAUDIO_DATA") or Path(__file__).resolve().parents[3] / "shared" / "datasets")
SC = DATA / "speech_commands_v0.02_test_dev"
FSDD = DATA / "fsdd" / "recordings"
N_CLIPS = 60

CONFIGS = {
    "mfcc_49x10": FeatureConfig(kind="mfcc", n_fft=512, win_length=512, hop_length=320, power=1.0),
    "logmel_centered": FeatureConfig(
        kind="logmel", n_fft=512, win_length=400, hop_length=160, center=True, n_mels=40, fmin=20.0,
        fmax=8000.0, power=1.0,
    ),
    "spectrogram_seed": FeatureConfig.load("stft_124x129"),
    "fsdd_mfcc_8k": FeatureConfig(
        kind="mfcc", sample_rate=8000, n_fft=256, win_length=256, hop_length=160, n_mels=26, n_mfcc=13,
        fmin=20.0, fmax=4000.0, power=1.0,
    ),
}


def real_clips(config: FeatureConfig) -> np.ndarray:
    """N_CLIPS real int16 clips at config.sample_rate, plus silence and a full-scale clip."""
    if config.sample_rate == 8000:
        paths = sorted(FSDD.glob("*.wav"))[::7][:N_CLIPS]
    else:
        words = ("stop", "go", "yes", "no", "left", "right")
        paths = [p for w in words for p in sorted((SC / w).glob("*.wav"))[: N_CLIPS // len(words)]]
    if len(paths) < N_CLIPS:
        pytest.skip(f"need {N_CLIPS} clips under {DATA} (set TINYAUDIO_DATA)")
    n = config.n_samples
    out = np.zeros((len(paths) + 2, n), dtype=np.int16)
    for i, p in enumerate(paths):
        x, rate = sf.read(p, dtype="int16")
        assert rate == config.sample_rate, p
        out[i, : min(n, len(x))] = x[:n]
    rng = np.random.default_rng(0)
    out[-1] = rng.choice(np.array([-32768, 32767], dtype=np.int16), size=n)  # saturating input
    return out  # out[-2] stays all zeros: digital silence


@pytest.fixture(scope="module")
def build_root(tmp_path_factory) -> Path:
    if shutil.which("gcc") is None:
        pytest.skip("host C compiler gcc not found (Debian: apt-get install gcc)")
    return tmp_path_factory.mktemp("mcu_frontend")


@pytest.mark.parametrize("name", list(CONFIGS))
def test_c_frontend_is_bit_exact(build_root, name):
    config = CONFIGS[name]
    clips = real_clips(config)
    try:
        exe = build_host_frontend(config, build_root / name)
    except BuildError as exc:
        if "download" in str(exc):
            pytest.skip(f"CMSIS-DSP sources unavailable: {exc}")
        raise
    got = run_host_frontend(exe, clips, config)
    want = compute_features_q15(clips, config)
    assert got.shape == want.shape == (len(clips), *config.shape)
    mismatch = np.argwhere(got != want)
    assert len(mismatch) == 0, f"{len(mismatch)} values differ, first at (clip, frame, feature) {mismatch[0]}"
    assert np.ptp(want[:-2]) > 100, "features of real clips should not be constant"


def parse_c_array(text: str, name: str) -> np.ndarray:
    body = re.search(rf"{name}\[\d+\] = \{{(.*?)\}};", text, re.S)
    assert body, name
    return np.array([int(v) for v in body.group(1).replace("\n", " ").split(",") if v.strip()])


@pytest.mark.parametrize("name", ["mfcc_49x10", "spectrogram_seed"])
def test_header_holds_the_python_tables(name):
    config = CONFIGS[name]
    text = frontend_header(config)
    t = q15_tables(config)
    np.testing.assert_array_equal(parse_c_array(text, "ta_window"), t.window)
    assert re.search(rf"#define TA_N_FFT\s+{config.n_fft}\n", text)
    assert re.search(rf"#define TA_N_FEATURES\s+{t.n_features}\n", text)
    assert re.search(rf"#define TA_N_FRAMES\s+{config.n_frames}\n", text)
    assert config.digest() in text
    if t.kind == "spectrogram":
        assert "ta_filter_coefs" not in text
        return
    for c_name, table in [
        ("ta_filter_pos", t.filter_pos), ("ta_filter_len", t.filter_len), ("ta_filter_coefs", t.filter_coefs),
        ("ta_dct_coefs", t.dct), ("ta_bias", t.bias),
    ]:
        np.testing.assert_array_equal(parse_c_array(text, c_name), table.ravel())
