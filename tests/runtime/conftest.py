"""A tiny int8 run folder (random weights, Speech Commands labels) built once per session.

The streaming tests check the engine, not accuracy, so an untrained model is enough: building it
takes seconds instead of a training run. The .tflite files are cached under $TINYAUDIO_CACHE so
later sessions do not import TensorFlow at all.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from tinyaudio.features import PRESETS

LABELS = ["_silence_", "_unknown_", "yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"]


_VERSION = "v1"  # bump when _tiny_int8 changes


def _tiny_int8(n_outputs: int, config, seed: int) -> bytes:
    cache = Path(os.environ["TINYAUDIO_CACHE"]) / "test_stream_models" / f"{_VERSION}_{n_outputs}_{seed}_{config.digest()}.tflite"
    if cache.exists():
        return cache.read_bytes()
    import keras

    from tinyaudio.quantize import quantize_int8

    keras.utils.set_random_seed(seed)
    inp = keras.Input((*config.shape, 1))
    x = keras.layers.Conv2D(4, (5, 5), strides=(2, 2), activation="relu")(inp)
    x = keras.layers.Flatten()(x)
    out = keras.layers.Dense(n_outputs, activation="softmax" if n_outputs > 1 else "sigmoid")(x)
    model = keras.Model(inp, out)
    rep = np.random.default_rng(seed).normal(-20, 30, size=(32, *config.shape, 1)).astype(np.float32)
    data = quantize_int8(model, rep)
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(cache)
    return data


def _write_run(path, labels, n_outputs, keyword=None, seed=0):
    config = PRESETS["mfcc_49x10"]
    path.mkdir(parents=True)
    config.save(path / "feature_config.json")
    (path / "labels.txt").write_text("\n".join(labels) + "\n")
    (path / "config.json").write_text(json.dumps({"dataset": "speech_commands", "features": "mfcc_49x10", "keyword": keyword}))
    (path / "model_int8.tflite").write_bytes(_tiny_int8(n_outputs, config, seed))
    return path


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """Run folder of an untrained 12-class int8 model on mfcc_49x10."""
    return _write_run(tmp_path_factory.mktemp("stream") / "sc12_tiny", LABELS, len(LABELS))


@pytest.fixture(scope="session")
def tiny_detector_run(tmp_path_factory):
    """Run folder of an untrained one-output (sigmoid) 'stop' detector."""
    return _write_run(tmp_path_factory.mktemp("stream") / "stop_tiny", ["_other_", "stop"], 1, keyword="stop", seed=1)


@pytest.fixture(scope="session")
def sc_stream(data_root):
    """12 s of real Speech Commands clips back to back (16 kHz float32) and their paths."""
    from tinyaudio.data import load_audio

    base = data_root / "speech_commands_v0.02_test_dev"
    paths = [sorted((base / w).glob("*.wav"))[3] for w in ("yes", "stop", "_unknown_", "go", "no", "_silence_")]
    paths += [sorted((base / w).glob("*.wav"))[7] for w in ("left", "right", "on", "off", "up", "down")]
    return np.concatenate([load_audio(p, 16000) for p in paths]), paths
