"""Fixtures for the web page tests: a real keyword clip and a small trained run."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest

ARTIFACTS = Path(os.environ.get("TINYAUDIO_ARTIFACTS") or Path(__file__).parent / "artifacts")


def wav_bytes(samples: np.ndarray, rate: int, *, fmt: str = "WAV", subtype: str = "PCM_16") -> bytes:
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, samples, rate, format=fmt, subtype=subtype)
    return buf.getvalue()


@pytest.fixture
def make_wav():
    """``make_wav(samples, rate, fmt=, subtype=)`` -> the bytes of an audio file."""
    return wav_bytes


@pytest.fixture
def tone():
    """0.5 s of a 440 Hz sine at 16 kHz, float32 (a valid clip)."""
    t = np.arange(8000) / 16000
    return (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


@pytest.fixture(scope="session")
def fsdd_run(data_root) -> Path:
    """A small FSDD digit model (int8, test accuracy about 0.95): ``<runs>/fsdd_web``.

    Trained once and kept under $TINYAUDIO_CACHE/test_runs/ keyed by its config, so only the
    first session pays for training (about a minute on two idle cores). Set
    ``TINYAUDIO_WEB_RUN`` to any FSDD run folder to use it instead.
    """
    import hashlib
    import json

    given = os.environ.get("TINYAUDIO_WEB_RUN")
    if given:
        return Path(given)
    from tinyaudio.train import TrainConfig, train

    config = TrainConfig(dataset="fsdd", model="ds_cnn", features="fsdd_mfcc", epochs=6, patience=6,
                         max_clips_per_split=1200, representative_size=100)
    key = hashlib.sha256(json.dumps(config.to_dict(), sort_keys=True).encode()).hexdigest()[:10]
    out = Path(os.environ["TINYAUDIO_CACHE"]) / "test_runs" / f"web_{key}" / "fsdd_web"
    if not (out / "model_int8.tflite").is_file():
        train(config, out, verbose=0, log=lambda *_: None, overwrite=True)
    return out


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where the browser tests leave their screenshots (kept after the run; gitignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
