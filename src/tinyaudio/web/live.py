"""Live scores for the WebSocket view: audio blocks in, the stream engine's scores and detections out.

A thin adapter over `tinyaudio.runtime.stream.StreamingEngine`: decode the page's blocks, resample
them to the model's rate, push them through the engine and turn its last hop into JSON.
"""

from __future__ import annotations

import numpy as np

from tinyaudio.errors import AudioError
from tinyaudio.runtime import Classifier
from tinyaudio.runtime.stream import DecisionRule, HopResult, StreamingEngine

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
    """The stream engine fed by a browser microphone.

    Args:
        classifier: a loaded run folder.
        input_rate: sample rate (Hz) of the blocks pushed; resampled with soxr's streaming
            resampler to the model's rate when different.
        hop_s: seconds of audio between inferences (10 a second is plenty for a display).
        smoothing_s, threshold: `StreamingEngine` posterior smoothing and detection settings.
        rule: the run's `DecisionRule` (``detector.json``); when given it replaces ``smoothing_s``
            and ``threshold``, and the engine hops every 20 ms as the rule was tuned.
    """

    def __init__(self, classifier: Classifier, input_rate: int, *, hop_s: float = 0.1, smoothing_s: float = 0.3,
                 threshold: float = 0.7, rule: DecisionRule | None = None):
        import soxr

        self.engine = StreamingEngine(classifier, hop_s=None if rule else hop_s, smoothing_s=smoothing_s, threshold=threshold,
                                      rule=rule, buffer_s=2 * MAX_BLOCK_SECONDS)
        self.labels = self.engine.labels
        self.rate = self.engine.config.sample_rate
        self.input_rate = int(input_rate)
        self._resampler = None
        if self.input_rate != self.rate:
            self._resampler = soxr.ResampleStream(self.input_rate, self.rate, 1, dtype="float32", quality="HQ")
        self._last = np.zeros(self.rate // 10, dtype=np.float32)  # for the level meter
        self.seen = 0  # samples received, at the model rate

    def push(self, block: np.ndarray) -> dict:
        """Append a block of float32 samples at ``input_rate``; the JSON reply for the page.

        Returns:
            ``{"type": "waiting", "t"}`` until a whole clip has arrived or when the block completes
            no hop, else ``{"type": "scores", "top", "score", "scores" (smoothed, label order),
            "raw" (last hop), "detections": [{"label", "score", "time_s"}], "level_db", "t"}``;
            ``t`` is the stream time in seconds.

        Raises:
            AudioError: a block longer than ``MAX_BLOCK_SECONDS``.
        """
        if len(block) > MAX_BLOCK_SECONDS * self.input_rate:
            raise AudioError(f"block of {len(block)} samples is longer than {MAX_BLOCK_SECONDS:g} s; send shorter blocks")
        if self._resampler is not None:
            block = self._resampler.resample_chunk(block)
        self.seen += len(block)
        if len(block):
            self._last = np.concatenate([self._last, block])[-len(self._last):]
        hops = self.engine.push(block)
        if not hops:
            return {"type": "waiting", "t": round(self.seen / self.rate, 3)}
        return self.message(hops)

    def message(self, hops: list[HopResult]) -> dict:
        """The JSON message for the hops one block completed (the last hop's scores, every detection)."""
        last = hops[-1]
        best = int(np.argmax(last.smoothed))
        rms = float(np.sqrt(np.mean(self._last ** 2)))
        return {
            "type": "scores",
            "top": self.labels[best],
            "score": round(float(last.smoothed[best]), 4),
            "scores": [round(float(s), 4) for s in last.smoothed],
            "raw": [round(float(s), 4) for s in last.scores],
            "detections": [{"label": h.detection.label, "score": round(h.detection.score, 4), "time_s": round(h.detection.time_s, 3)}
                           for h in hops if h.detection is not None],
            "level_db": round(20 * np.log10(max(rms, 1e-6)), 1),
            "t": round(last.time_s, 3),
        }
