"""Speaker runs: cut the trained classifier at its last hidden layer and write the int8 embedding model.

The embedding is the input of the ``output`` Dense layer (for ``ds_cnn`` the global average
pool, ``width`` values); `tinyaudio.runtime.speaker` enrols and verifies with it, without
TensorFlow.
"""

from __future__ import annotations

import os
from typing import Any, Callable

import numpy as np

from tinyaudio.features.cache import dataset_features
from tinyaudio.quantize import convert_float, quantize_int8, representative_set
from tinyaudio.runtime.litert import TFLiteModel
from tinyaudio.runtime.run_folder import CONFIG, EMBEDDING_META, FEATURE_CONFIG, KERAS_MODEL, RunFolder
from tinyaudio.train.config import TrainConfig
from tinyaudio.train.data import load_training_data, subsample


def write_embedding(run: RunFolder, model, x_train: np.ndarray, *, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Write ``model_embedding_{float,int8}.tflite`` and ``embedding.json`` of a speaker classifier.

    Args:
        run: the run folder to write into.
        model: the trained Keras classifier (its last layer is named ``output``).
        x_train: training features, shape (n, n_frames, n_features, 1): the first 300 (seeded
            draw) calibrate the int8 model; the int8 model's mean embedding over all of them is
            saved as ``mean`` and subtracted before cosine scoring.

    Returns:
        the ``embedding.json`` dict (``dim``, ``layer``, ``mean``, ``sizes_bytes``).
    """
    import keras

    head = model.get_layer("output")
    embedding = keras.Model(model.inputs, head.input, name=f"{model.name}_embedding")
    log(f"embedding: {embedding.output.shape[-1]} values from the input of layer 'output'; "
        f"int8 calibrated on {min(len(x_train), 300)} of {len(x_train)} training clips")
    float_bytes = convert_float(embedding)
    int8_bytes = quantize_int8(embedding, representative_set(x_train, 300, 0))
    run.write_bytes(run.embedding_path("float").name, float_bytes)
    run.write_bytes(run.embedding_path("int8").name, int8_bytes)
    emb = TFLiteModel(int8_bytes).predict(x_train)
    info = {"dim": int(emb.shape[-1]), "layer": "input of 'output'", "n_mean_clips": int(len(x_train)),
            "mean": [round(float(v), 6) for v in emb.mean(axis=0)],
            "sizes_bytes": {"float": len(float_bytes), "int8": len(int8_bytes)}}
    run.write_json(EMBEDDING_META, info)
    return info


def export_embedding(
    run_dir: str | os.PathLike, *, data_dir: str | os.PathLike | None = None, log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """`write_embedding` for a finished speaker run: its ``model.keras`` and up to 1000 training clips.

    Raises:
        RunFolderError: the run folder has no ``model.keras`` / ``config.json``.
    """
    import keras

    run = RunFolder.open(run_dir, need=(KERAS_MODEL, CONFIG, FEATURE_CONFIG))
    config = TrainConfig.from_dict(run.train_config)
    clips = subsample(load_training_data(config, data_dir).split("train"), 1000, config.seed)
    x, _, _ = dataset_features(clips, run.feature_config, skip_bad=True, progress=False)
    model = keras.models.load_model(run.file(KERAS_MODEL), compile=False)
    return write_embedding(run, model, x[..., None], log=log)
