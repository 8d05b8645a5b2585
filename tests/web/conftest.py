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
def artifacts_dir() -> Path:
    """Where the browser tests leave their screenshots (kept after the run; gitignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
