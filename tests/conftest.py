"""Shared fixtures: the real datasets under $TINYAUDIO_DATA (default ../shared/datasets)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("TINYAUDIO_DATA") or ROOT.parent / "shared" / "datasets")
os.environ.setdefault("TINYAUDIO_DATA", str(DATA))
os.environ.setdefault("TINYAUDIO_CACHE", str(ROOT / ".cache" / "tinyaudio"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def data_root() -> Path:
    if not (DATA / "fsdd").is_dir():
        pytest.skip(f"real datasets not found at {DATA}; set TINYAUDIO_DATA")
    return DATA


@pytest.fixture(scope="session")
def stop_wav(data_root) -> Path:
    return sorted((data_root / "speech_commands_v0.02_test_dev" / "stop").glob("*.wav"))[0]
