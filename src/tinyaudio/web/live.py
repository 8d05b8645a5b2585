"""Live scores for the WebSocket view: audio blocks in, the latest window's class scores out.

Kept small on purpose: the ring buffer and "classify the last clip each block" glue here is what
`tinyaudio.runtime.stream` will replace once it lands (swap `LiveScorer` for the stream engine).
"""

from __future__ import annotations

import numpy as np

from tinyaudio.errors import AudioError
from tinyaudio.runtime import Classifier

DTYPES = {"float32": np.dtype("<f4"), "int16": np.dtype("<i2")}
MAX_BLOCK_SECONDS = 5.0


def decode_block(data: bytes, dtype: str) -> np.ndarray:
    """Little-endian ``float32`` or ``int16`` mono samples -> float32 array in [-1, 1].

    Raises:
        AudioError: unknown dtype, a byte count that is not a whole number of samples, or NaN / inf.
    """
    if dtype not in DTYPES:
        raise AudioError(f"dtype {dtype!r} not supported; send float32 or int16 blocks")
    dt = DTYPES[dtype]
    if len(data) % dt.itemsize:
        raise AudioError(f"block of {len(data)} bytes is not a whole number of {dtype} samples")
    samples = np.frombuffer(data, dtype=dt)
    if dtype == "int16":
        return samples.astype(np.float32) / 32768.0
    if not np.all(np.isfinite(samples)):
        raise AudioError("block contains NaN or inf samples")
    return samples.astype(np.float32)


class LiveScorer:
    """Scores of the most recent ``clip_duration`` seconds of a live stream.

    Args:
        classifier: a loaded run folder.
        input_rate: sample rate (Hz) of the blocks pushed; resampled with soxr's streaming
            resampler to the model's rate when different.
    """

    def __init__(self, classifier: Classifier, input_rate: int):
        import soxr

        self.classifier = classifier
        self.rate = classifier.feature_config.sample_rate
        self.input_rate = int(input_rate)
        self.window = np.zeros(classifier.feature_config.n_samples, dtype=np.float32)
        self.seen = 0  # samples received, at the model rate
        self._resampler = None
        if self.input_rate != self.rate:
            self._resampler = soxr.ResampleStream(self.input_rate, self.rate, 1, dtype="float32", quality="HQ")

    def push(self, block: np.ndarray) -> np.ndarray:
        """Append a block of float32 samples at ``input_rate`` and return the window's scores.

        Returns:
            float32 array, shape (n_labels,): class probabilities of the latest window (the
            window is zero-padded at the start until a full clip has arrived).
        """
        if len(block) > MAX_BLOCK_SECONDS * self.input_rate:
            raise AudioError(f"block of {len(block)} samples is longer than {MAX_BLOCK_SECONDS:g} s; send shorter blocks")
        if self._resampler is not None:
            block = self._resampler.resample_chunk(block)
        n = min(len(block), len(self.window))
        if n:
            self.window = np.concatenate([self.window[n:], block[-n:]])
            self.seen += len(block)
        features = self.classifier.features_of(self.window)
        return self.classifier.scores(features[None])[0]

    def message(self, scores: np.ndarray) -> dict:
        """The JSON message sent to the page for one set of scores."""
        labels = self.classifier.labels
        best = int(np.argmax(scores))
        rms = float(np.sqrt(np.mean(self.window[-self.rate // 10:] ** 2)))
        return {
            "type": "scores",
            "top": labels[best],
            "score": round(float(scores[best]), 4),
            "scores": [round(float(s), 4) for s in scores],
            "level_db": round(20 * np.log10(max(rms, 1e-6)), 1),
            "t": round(self.seen / self.rate, 3),
        }
