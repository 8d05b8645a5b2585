"""Load a run folder (feature_config.json, labels.txt, model_*.tflite) and classify audio."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from tinyaudio.data.audio import fix_length, load_audio, window_levels
from tinyaudio.errors import ConfigError, RunFolderError
from tinyaudio.features.config import FeatureConfig
from tinyaudio.features.extract import compute_features
from tinyaudio.runtime.litert import TFLiteModel, TFLiteStepModel
from tinyaudio.runtime.run_folder import LABELS, STEP_SPEC, RunFolder

#: Model kinds `Classifier` loads by name (`RunFolder.model_path`).
MODEL_FILES = ("int8", "float", "dynamic")


@dataclasses.dataclass(frozen=True)
class Prediction:
    """One file's result: ``label``, its ``confidence`` in [0, 1], and every class score.

    For a file longer than one clip, the result is that of its best window (`Classifier.predict_files`):
    ``start_s`` is where that window starts and ``windows`` how many were scored.
    """

    path: str
    label: str
    confidence: float
    scores: dict[str, float]
    start_s: float = 0.0
    windows: int = 1


#: `Classifier.predict_files` on a long file considers the windows whose loudest 20 ms frame is
#: within this many dB of the file's loudest frame.
ACTIVE_RANGE_DB = 20.0


def _window_peaks_db(samples: np.ndarray, starts: list[int], config: FeatureConfig) -> np.ndarray:
    """Level (dBFS) of the loudest 20 ms frame of each clip-long window starting at ``starts``."""
    _, level = window_levels(samples, config.sample_rate, 0.02, 0.02)
    n = max(1, round(0.02 * config.sample_rate))  # samples per frame, as window_levels cuts them
    per_window = config.n_samples // n
    return np.array([level[a // n : a // n + per_window].max(initial=-120.0) for a in starts])


class Classifier:
    """A trained run folder ready for inference, with no TensorFlow import.

    Args:
        run_dir: folder written by ``tinyaudio train``.
        model: ``"int8"`` (default), ``"float"`` or ``"dynamic"``, or a path to a ``.tflite``.
        feature_config: override the folder's ``feature_config.json`` (checked against the model).
        streaming: load the run's streaming step model of the same kind (``model_step_<kind>.tflite``,
            `step`) when it has one; the streaming engine then computes one frame per layer per
            feature hop instead of the whole window.

    Attributes:
        step: a `TFLiteStepModel`, or None (no step model, ``streaming=False`` or a model path).

    Raises:
        RunFolderError: missing files in the run folder, or labels.txt does not match the model's outputs.
        ConfigMismatchError: the feature config does not produce the model's input shape;
            the message names the differing field.
    """

    def __init__(self, run_dir: str | os.PathLike, *, model: str = "int8", feature_config: FeatureConfig | None = None,
                 reference_kernels: bool = False, streaming: bool = True):
        run = RunFolder.open(run_dir)
        self.run_dir = run.path
        self.feature_config = feature_config or run.feature_config
        self.labels = run.labels
        model_path = run.model_path(model) if model in MODEL_FILES else Path(model)
        self.model = TFLiteModel(model_path, reference_kernels=reference_kernels)
        self.feature_config.check_input_shape(self.model.input_shape, source=str(model_path))
        n_outputs = int(np.prod(self.model.output_shape[1:]))
        if n_outputs != len(self.labels) and not (n_outputs == 1 and len(self.labels) == 2):
            raise RunFolderError(f"{run.file(LABELS)}: {len(self.labels)} labels but {model_path.name} has {n_outputs} "
                                 "outputs; labels.txt must list one label per model output, in order")
        step_path = run.step_model_path(model) if model in MODEL_FILES else None
        self.step = None
        if streaming and feature_config is None and step_path is not None and step_path.exists():
            self.step = TFLiteStepModel(step_path, run.read_json(STEP_SPEC))

    def step_scores(self, frames: np.ndarray) -> np.ndarray:
        """Class probabilities, float32 (n_labels,), after the new feature frames (frames_per_step,
        n_features) of a stream (`step`; until ``n_frames`` frames were fed after ``step.reset()``, warm-up)."""
        out = self.step.step(frames)
        return np.concatenate([1.0 - out, out]) if out.shape[-1] == 1 else out

    @property
    def binary(self) -> bool:
        """True for a one-keyword detector (one sigmoid output; labels ``[_other_, keyword]``)."""
        return len(self.labels) == 2 and self.labels[0] == "_other_"

    def scores(self, features: np.ndarray) -> np.ndarray:
        """Class probabilities, float32 (n, n_labels), from features (n, n_frames, n_features)."""
        out = self.model.predict(features)
        if out.shape[-1] == 1:  # sigmoid detector -> [p(other), p(keyword)]
            out = np.concatenate([1.0 - out, out], axis=-1)
        return out

    def features_of(self, samples: np.ndarray) -> np.ndarray:
        """Features of one decoded clip: pad (as the run's ``feature_config.pad``) / crop to the clip length, then the frontend."""
        cfg = self.feature_config
        return compute_features(fix_length(samples, cfg.n_samples, pad=cfg.pad), cfg)

    def predict_files(self, paths: Sequence[str | os.PathLike], *, hop_s: float = 0.25) -> list[Prediction]:
        """Classify audio files (any rate; resampled to ``feature_config.sample_rate``).

        A file of at most one clip (``clip_duration``, 10 % slack) is padded or cropped to it. A
        longer file is cut into clip-long windows every ``hop_s`` seconds (the last one ends at the
        file's end) and the best window is reported: among the windows that hold sound (loudest
        20 ms frame within `ACTIVE_RANGE_DB` of the file's loudest) and whose top label is not a
        background label (``_`` prefix), the highest-scoring one; else the highest-scoring window.
        Never only the first second.

        Raises:
            AudioError: a file is unreadable, empty or contains NaN (naming the file).
            ConfigError: ``hop_s`` is not positive.
        """
        if not hop_s > 0:
            raise ConfigError(f"hop_s={hop_s}: the step between windows of a long file must be > 0 seconds")
        cfg = self.feature_config
        out = []
        for path in paths:
            samples = load_audio(path, cfg.sample_rate)
            if len(samples) <= 1.1 * cfg.n_samples:
                starts = [0]
                windows = self.features_of(samples)[None]
            else:
                step = max(1, int(round(hop_s * cfg.sample_rate)))
                starts = list(range(0, len(samples) - cfg.n_samples + 1, step))
                if starts[-1] != len(samples) - cfg.n_samples:
                    starts.append(len(samples) - cfg.n_samples)
                windows = np.stack([compute_features(samples[a : a + cfg.n_samples], cfg) for a in starts])
            probs = self.scores(windows)
            top = probs.argmax(axis=1)
            best_score = probs[np.arange(len(top)), top]
            foreground = np.array([not self.labels[t].startswith("_") for t in top])
            if len(starts) > 1:  # only windows that hold sound: a model without a background class is sure of noise too
                peaks = _window_peaks_db(samples, starts, cfg)
                foreground &= peaks >= peaks.max() - ACTIVE_RANGE_DB
            pick = int(np.argmax(np.where(foreground, best_score, -1.0))) if foreground.any() else int(np.argmax(best_score))
            p = probs[pick]
            out.append(Prediction(str(path), self.labels[int(top[pick])], float(best_score[pick]),
                                  dict(zip(self.labels, map(float, p))), round(starts[pick] / cfg.sample_rate, 3), len(starts)))
        return out
