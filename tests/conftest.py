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


# The small FSDD model several test modules share (end to end, web, export): trained once per
# session, from scratch, so the end-to-end tests really exercise training.
QUICK_FSDD = dict(dataset="fsdd", model="ds_cnn", features="fsdd_mfcc", epochs=6, patience=6,
                  max_clips_per_split=1200, representative_size=100)


@pytest.fixture(scope="session")
def fsdd_run(data_root, tmp_path_factory) -> Path:
    """Run folder of a ds_cnn trained 6 epochs on 1200 FSDD training clips (int8 about 0.95).

    ``TINYAUDIO_TEST_RUN=<run folder>`` uses an existing run instead (for quick local iterations).
    """
    given = os.environ.get("TINYAUDIO_TEST_RUN")
    if given:
        return Path(given)
    from tinyaudio.pipeline import TrainConfig, train

    out = tmp_path_factory.mktemp("runs") / "fsdd"
    train(TrainConfig(**QUICK_FSDD), out, verbose=0, log=lambda *_: None)
    return out
