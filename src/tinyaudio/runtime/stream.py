"""Streaming inference: ring buffer, incremental features, int8 model each hop, smoothing, detector.

Nothing here imports TensorFlow, Keras or librosa: this module is what an always-listening
Raspberry Pi runs. Data flows

    blocks of any size -> `RingBuffer` -> `StreamingFeatures` (only new frames computed)
    -> int8 model on the last clip-long window (or, for a run with a streaming step model, the
       step model on the new frames only) -> `PosteriorSmoother` -> `Detector`

and `StreamingEngine` ties the stages together and times each hop.
"""

from __future__ import annotations

import collections
import dataclasses
import threading
import time
from typing import Iterable, Iterator, Sequence

import numpy as np

from tinyaudio._io import dataclass_from_dict
from tinyaudio.errors import ConfigError, ConfigMismatchError
from tinyaudio.features.config import FeatureConfig
from tinyaudio.data.audio import check_audio
from tinyaudio.features.extract import compute_features, frames_to_features, power_spectrogram, spectrum_to_db


class RingBuffer:
    """Fixed-capacity float32 FIFO of audio samples, written in blocks of any size.

    Safe for one writer thread (an audio callback) and one reader thread. When a write does not
    fit, the oldest unread samples are dropped and counted in `dropped` (an overrun): audio is
    never lost silently.

    Args:
        capacity: samples held at most.
    """

    def __init__(self, capacity: int):
        if capacity <= 0:
            raise ValueError(f"RingBuffer capacity must be positive, got {capacity}")
        self.capacity = int(capacity)
        self._buf = np.zeros(self.capacity, dtype=np.float32)
        self._start = 0  # index of the oldest unread sample
        self._size = 0
        self._lock = threading.Lock()
        self.written = 0  # samples ever written
        self.dropped = 0  # samples lost to overruns
        self.overruns = 0  # writes that dropped samples

    def __len__(self) -> int:
        return self._size

    def write(self, block: np.ndarray) -> int:
        """Append ``block`` (shape (n,), any float dtype); returns the samples dropped (0 normally)."""
        block = np.asarray(block, dtype=np.float32).reshape(-1)
        n = len(block)
        with self._lock:
            self.written += n
            drop = max(0, self._size + n - self.capacity)
            if drop:
                self.dropped += drop
                self.overruns += 1
                if n >= self.capacity:  # keep only the newest capacity samples
                    block = block[-self.capacity :]
                    self._start, self._size, n = 0, 0, self.capacity
                else:
                    self._start = (self._start + drop) % self.capacity
                    self._size -= drop
            end = (self._start + self._size) % self.capacity
            first = min(n, self.capacity - end)
            self._buf[end : end + first] = block[:first]
            self._buf[: n - first] = block[first:]
            self._size += n
        return drop

    def read(self, n: int) -> np.ndarray:
        """Remove and return the ``n`` oldest samples (float32 copy); ``n <= len(self)``."""
        with self._lock:
            if n > self._size:
                raise ValueError(f"RingBuffer.read({n}) with only {self._size} samples buffered")
            idx = (self._start + np.arange(n)) % self.capacity if n else np.zeros(0, dtype=int)
            out = self._buf[idx]
            self._start = (self._start + n) % self.capacity
            self._size -= n
        return out


class StreamingFeatures:
    """Incremental frontend: each `push` computes only the frames the new samples complete.

    Frames are those of `compute_features` on the whole stream so far: frame ``k`` covers samples
    ``[k * hop_length, k * hop_length + n_fft)``; with ``config.center`` the stream is preceded by
    ``n_fft // 2`` zeros, as librosa pads the start of a clip. `window` is the last
    ``config.n_frames`` frames, shifted in place, which equals
    ``compute_features(samples_of_that_window, config)`` for ``center=False`` configs (per-window
    ``top_db`` and ``"clip"`` normalization are applied to the window as a whole). The device's
    ``*_q15`` kinds (frames independent, no per-clip steps) are computed frame by frame with
    `compute_features` itself.

    Args:
        config: the run's `FeatureConfig`.
    """

    def __init__(self, config: FeatureConfig):
        self.config = config
        kind = str(config.kind)
        self._q15 = kind.endswith("_q15")
        self._finish_per_window = config.top_db is not None or config.normalization != "none"
        n_stage = (config.n_fft // 2 + 1) if kind == "spectrogram" else config.n_mels
        width = n_stage if self._finish_per_window else config.n_features
        self._frames = np.zeros((config.n_frames, width), dtype=np.float64 if self._finish_per_window else np.float32)
        self._frame_config = dataclasses.replace(config, center=False)
        self.reset()

    def reset(self) -> None:
        """Forget all audio; the next sample is sample 0 of a new stream."""
        c = self.config
        self._pending = np.zeros(c.n_fft // 2 if c.center else 0, dtype=np.float64)
        self._frames[:] = 0
        self.n_frames_total = 0  # frames computed since reset

    @property
    def ready(self) -> bool:
        """True once a whole window (``config.n_frames`` frames) has been computed."""
        return self.n_frames_total >= self.config.n_frames

    def _db(self, samples: np.ndarray) -> np.ndarray:
        """dB mel (or linear) power of every whole frame in ``samples``, float64 (n, n_stage)."""
        return spectrum_to_db(power_spectrogram(samples, self._frame_config), self.config)

    def _finish(self, db: np.ndarray) -> np.ndarray:
        """Per-frame dB -> features: `tinyaudio.features.extract.frames_to_features` (float32 out)."""
        return frames_to_features(db, self.config)

    def push(self, samples: np.ndarray) -> int:
        """Add samples; compute the frames they complete and shift them into the window.

        Args:
            samples: float audio at ``config.sample_rate``, shape (n,), any n >= 0.

        Returns:
            the number of new frames.

        Raises:
            AudioError: samples contain NaN / inf or are not 1-D floats.
        """
        samples = np.asarray(samples)
        if samples.size == 0 and samples.ndim == 1 and np.issubdtype(samples.dtype, np.floating):
            return 0  # nothing arrived
        samples = check_audio(samples, name="stream block (1-D float audio)")
        c = self.config
        pending = np.concatenate([self._pending, samples.astype(np.float64)])
        n_new = 0 if len(pending) < c.n_fft else 1 + (len(pending) - c.n_fft) // c.hop_length
        if n_new:
            segment = pending[: c.n_fft + (n_new - 1) * c.hop_length]
            if self._q15:  # float32 as the offline path receives it (exact: the samples came in as floats)
                new = compute_features(segment.astype(np.float32), self._frame_config)
            else:
                stage = self._db(segment)
                new = stage if self._finish_per_window else self._finish(stage)
            k = min(n_new, len(self._frames))
            if k < len(self._frames):
                self._frames[:-k] = self._frames[k:].copy()
            self._frames[-k:] = new[-k:]
            pending = pending[n_new * c.hop_length :]
        self._pending = pending
        self.n_frames_total += n_new
        return n_new

    def window(self) -> np.ndarray:
        """The last ``config.n_frames`` frames, float32 ``config.shape`` (zeros before `ready`)."""
        return self._finish(self._frames) if self._finish_per_window else self._frames.copy()


class PosteriorSmoother:
    """Mean of the class scores over the last ``window_s`` seconds of hops.

    Args:
        window_s: averaging window in seconds (TensorFlow's ``average_window_duration_ms`` / 1000).

    Source: ``RecognizeCommands`` in tensorflow/examples/speech_commands/recognize_commands.py.
    """

    def __init__(self, window_s: float = 0.5):
        self.window_s = float(window_s)
        self._items: collections.deque[tuple[float, np.ndarray]] = collections.deque()
        self._sum: np.ndarray | None = None

    def reset(self) -> None:
        self._items.clear()
        self._sum = None

    def __len__(self) -> int:
        return len(self._items)

    def update(self, time_s: float, scores: np.ndarray) -> np.ndarray:
        """Add one hop's scores at stream time ``time_s``; return the mean over the window (float64)."""
        scores = np.asarray(scores, dtype=np.float64)
        self._items.append((time_s, scores))
        self._sum = scores.copy() if self._sum is None else self._sum + scores
        while time_s - self._items[0][0] >= self.window_s - 1e-9 and len(self._items) > 1:
            self._sum -= self._items.popleft()[1]
        return self._sum / len(self._items)


@dataclasses.dataclass(frozen=True)
class DecisionRule:
    """When an always-listening model calls a keyword: the `PosteriorSmoother` window and the
    `Detector` settings, chosen together (`tinyaudio.evaluate.detector.tune_detector`) and stored
    in the run folder's ``detector.json``.

    Attributes:
        threshold: smoothed score a keyword must exceed, in [0, 1).
        smoothing_s: posterior averaging window, seconds (> 0).
        min_count: hops needed in the window before anything fires (>= 1).
        suppression_s: refractory time after a detection, seconds (>= 0).

    The defaults are TensorFlow's ``RecognizeCommands`` example values (0.7 is ours; it uses 0.7
    too in ``test_streaming_accuracy``).

    Raises:
        ConfigError: a value outside its range.
    """

    threshold: float = 0.7
    smoothing_s: float = 0.5
    min_count: int = 3
    suppression_s: float = 1.5

    def __post_init__(self) -> None:
        problems = []
        if not 0.0 <= self.threshold < 1.0:
            problems.append(f"threshold={self.threshold} must be in [0, 1)")
        if not self.smoothing_s > 0:
            problems.append(f"smoothing_s={self.smoothing_s} must be > 0 seconds")
        if not isinstance(self.min_count, int) or self.min_count < 1:
            problems.append(f"min_count={self.min_count!r} must be a whole number >= 1")
        if not self.suppression_s >= 0:
            problems.append(f"suppression_s={self.suppression_s} must be >= 0 seconds")
        if problems:
            raise ConfigError("invalid decision rule: " + "; ".join(problems))

    def to_dict(self) -> dict[str, float]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> DecisionRule:
        """Build from ``detector.json``'s ``rule`` (unknown keys refused)."""
        return dataclass_from_dict(cls, data)


@dataclasses.dataclass(frozen=True)
class Detection:
    """A keyword found at stream time ``time_s`` (end of the window that fired) with ``score``."""

    time_s: float
    label: str
    score: float


class Detector:
    """Turn smoothed scores into discrete detections, as TensorFlow's ``RecognizeCommands``.

    A hop fires when its top smoothed label is a keyword, its score exceeds ``threshold``, at
    least ``min_count`` hops are in the smoothing window, and ``suppression_s`` seconds have
    passed since the last detection.

    Args:
        labels: model output labels.
        threshold: smoothed score a keyword must exceed.
        min_count: hops needed in the smoothing window before anything fires.
        suppression_s: refractory time after a detection, seconds.
        ignore: labels that never fire (default: those starting with ``_``, e.g. ``_silence_``,
            ``_unknown_``, ``_other_``).

    Source: tensorflow/examples/speech_commands/recognize_commands.py (detection_threshold,
    minimum_count, suppression_ms).
    """

    def __init__(self, labels: Sequence[str], *, threshold: float = 0.7, min_count: int = 3,
                 suppression_s: float = 1.5, ignore: Iterable[str] | None = None):
        self.labels = list(labels)
        ignore = {lab for lab in self.labels if lab.startswith("_")} if ignore is None else set(ignore)
        self.keyword_mask = np.array([lab not in ignore for lab in self.labels])
        self.threshold, self.min_count, self.suppression_s = float(threshold), int(min_count), float(suppression_s)
        self.reset()

    def reset(self) -> None:
        self._last_time = -np.inf

    def update(self, time_s: float, smoothed: np.ndarray, count: int) -> Detection | None:
        """One hop: smoothed scores (n_labels,) from ``count`` hops; a `Detection` or None."""
        top = int(np.argmax(smoothed))
        return self.update_top(time_s, top, float(smoothed[top]), count)

    def update_top(self, time_s: float, top: int, score: float, count: int) -> Detection | None:
        """As `update`, given the top label index and its score (for fast threshold sweeps)."""
        if count < self.min_count or not self.keyword_mask[top] or score <= self.threshold:
            return None
        if time_s - self._last_time < self.suppression_s:
            return None
        self._last_time = time_s
        return Detection(float(time_s), self.labels[top], score)


def detections_from_track(times: np.ndarray, smoothed: np.ndarray, counts: np.ndarray, detector: Detector) -> list[Detection]:
    """Replay `Detector` over a recorded smoothed-score track (n_hops, n_labels): same result as online."""
    top = np.argmax(smoothed, axis=1)
    score = smoothed[np.arange(len(top)), top]
    candidates = np.flatnonzero(detector.keyword_mask[top] & (score > detector.threshold) & (counts >= detector.min_count))
    detector.reset()
    out = []
    for i in candidates:
        d = detector.update_top(float(times[i]), int(top[i]), float(score[i]), int(counts[i]))
        if d is not None:
            out.append(d)
    return out


@dataclasses.dataclass(frozen=True)
class HopResult:
    """One engine hop: stream time at the end of the window, raw and smoothed scores, timings in ms."""

    time_s: float
    scores: np.ndarray
    smoothed: np.ndarray
    count: int
    detection: Detection | None
    feature_ms: float
    inference_ms: float
    total_ms: float


class HopTimer:
    """Per-hop timings (feature, inference, total; ms) with percentiles."""

    def __init__(self):
        self.feature_ms: list[float] = []
        self.inference_ms: list[float] = []
        self.total_ms: list[float] = []

    def add(self, feature_ms: float, inference_ms: float, total_ms: float) -> None:
        self.feature_ms.append(feature_ms)
        self.inference_ms.append(inference_ms)
        self.total_ms.append(total_ms)

    def summary(self, percentiles: Sequence[float] = (50, 90, 99)) -> dict[str, dict[str, float]]:
        """``{"feature_ms": {"p50": .., "p90": .., "p99": .., "max": .., "mean": ..}, ...}``."""
        out = {}
        for name in ("feature_ms", "inference_ms", "total_ms"):
            v = np.asarray(getattr(self, name))
            if not len(v):
                out[name] = {}
                continue
            stats = {f"p{p:g}": float(np.percentile(v, p)) for p in percentiles}
            stats.update(mean=float(v.mean()), max=float(v.max()))
            out[name] = {k: round(x, 4) for k, x in stats.items()}
        return out


class StreamingEngine:
    """Always-listening classifier: push audio blocks of any size, get one result per hop.

    Every ``hop_s`` seconds of audio, the new feature frames are computed, the int8 model runs on
    the last clip-long window (a streaming step model on the new frames: ``streaming``), scores
    are smoothed over ``smoothing_s`` and the `Detector` decides.
    Results start once a whole clip of audio has arrived; a result's ``time_s`` is the stream time
    of the last sample it has seen.

    Args:
        classifier: a `Classifier` (run folder) or anything with ``feature_config``, ``labels``
            and ``scores(features (n, frames, feats)) -> (n, n_labels)``.
        hop_s: seconds between inferences; rounded up to a whole number of feature hops
            (default: the smallest multiple of the feature hop >= 20 ms).
        smoothing_s: posterior averaging window, seconds.
        threshold, min_count, suppression_s: `Detector` settings.
        rule: a `DecisionRule` (e.g. the run's ``detector.json``); when given it replaces
            ``smoothing_s``, ``threshold``, ``min_count`` and ``suppression_s``.
        buffer_s: ring-buffer capacity, seconds of audio; more unread audio is an overrun.
        streaming: when the classifier has a step model (``classifier.step``, a run folder with
            ``model_step_int8.tflite``), feed it the new feature frames instead of running the
            full model on the whole window every hop (same int8 outputs, a few % of the work);
            the hop is then rounded up to whole steps (``frames_per_step`` frames).

    Attributes:
        hop_samples: samples per hop, a multiple of ``feature_config.hop_length``.
        timer: `HopTimer` of every hop.
    """

    def __init__(self, classifier, *, hop_s: float | None = None, smoothing_s: float = 0.5, threshold: float = 0.7,
                 min_count: int = 3, suppression_s: float = 1.5, rule: DecisionRule | None = None,
                 buffer_s: float = 2.0, streaming: bool = True):
        rule = rule or DecisionRule(threshold=threshold, smoothing_s=smoothing_s, min_count=min_count,
                                    suppression_s=suppression_s)
        threshold, smoothing_s, min_count, suppression_s = rule.threshold, rule.smoothing_s, rule.min_count, rule.suppression_s
        self.rule = rule
        self.classifier = classifier
        self.config: FeatureConfig = classifier.feature_config
        self.labels: list[str] = list(classifier.labels)
        frame_hop = self.config.hop_length
        want = 0.02 if hop_s is None else float(hop_s)
        if want <= 0:
            raise ConfigMismatchError(f"hop_s must be positive, got {hop_s}")
        self.frames_per_hop = max(1, int(np.ceil(want * self.config.sample_rate / frame_hop - 1e-9)))
        self.step = getattr(classifier, "step", None) if streaming else None
        if self.step is not None:  # a hop is whole steps of the step model
            r = self.step.frames_per_step
            self.frames_per_hop = -(-self.frames_per_hop // r) * r
        if self.frames_per_hop > self.config.n_frames:
            raise ConfigMismatchError(f"hop_s={hop_s} is longer than one clip ({self.config.clip_duration} s)")
        self.hop_samples = self.frames_per_hop * frame_hop
        self.hop_s = self.hop_samples / self.config.sample_rate
        self.features = StreamingFeatures(self.config)
        self._step_frames: list[np.ndarray] | None = None  # frames waiting for the next step
        if self.step is not None:
            self.step.reset()
        self.buffer = RingBuffer(max(int(buffer_s * self.config.sample_rate), 2 * self.hop_samples))
        self.smoother = PosteriorSmoother(smoothing_s)
        self.detector = Detector(self.labels, threshold=threshold, min_count=min_count, suppression_s=suppression_s)
        self.timer = HopTimer()
        self._samples_in = 0  # samples fed to the frontend since reset

    def reset(self) -> None:
        """Start a new stream (buffer, features, smoothing, detector and timings cleared)."""
        self.features.reset()
        if self.step is not None:
            self.step.reset()
        self._step_frames = None
        self.buffer = RingBuffer(self.buffer.capacity)
        self.smoother.reset()
        self.detector.reset()
        self.timer = HopTimer()
        self._samples_in = 0

    @property
    def overruns(self) -> int:
        """Writes into the ring buffer that dropped audio (the consumer fell behind)."""
        return self.buffer.overruns

    def write(self, block: np.ndarray) -> int:
        """Queue audio without processing it (e.g. from an audio callback); returns samples dropped."""
        return self.buffer.write(block)

    def process_pending(self) -> Iterator[HopResult]:
        """Run the whole hops queued in the ring buffer when called (audio that arrives meanwhile
        waits for the next call, so a consumer slower than real time still returns to its loop,
        and the overflow shows as `overruns`)."""
        for _ in range(len(self.buffer) // self.hop_samples):
            result = self._hop(self.buffer.read(self.hop_samples))
            if result is not None:
                yield result

    def push(self, block: np.ndarray) -> list[HopResult]:
        """Queue ``block`` (float32, shape (n,), any n) and run the hops it completes."""
        block = np.asarray(block, dtype=np.float32).reshape(-1)
        out: list[HopResult] = []
        for start in range(0, max(len(block), 1), self.buffer.capacity // 2):  # never overrun ourselves
            self.buffer.write(block[start : start + self.buffer.capacity // 2])
            out.extend(self.process_pending())
        return out

    def run(self, samples: np.ndarray, block_size: int = 1024) -> Iterator[HopResult]:
        """Feed a whole recording in blocks of ``block_size`` samples, as fast as possible."""
        for start in range(0, len(samples), block_size):
            yield from self.push(samples[start : start + block_size])

    def _steps(self, frames: np.ndarray) -> np.ndarray | None:
        """Feed new frames to the step model (warm-up included); the scores of the last step.

        The first frames are preceded by zero frames so that every hop ends on a whole step (a
        hop is whole steps, and the frames before the first window never reach its outputs).
        """
        r = self.step.frames_per_step
        if self._step_frames is None:
            self._step_frames = [np.zeros_like(frames[0])] * ((-len(frames)) % r)
        scores = None
        for frame in frames:
            self._step_frames.append(frame)
            if len(self._step_frames) == r:
                scores = self.classifier.step_scores(np.stack(self._step_frames))
                self._step_frames = []
        return scores

    def _hop(self, samples: np.ndarray) -> HopResult | None:
        t0 = time.perf_counter()
        n_new = self.features.push(samples)
        self._samples_in += len(samples)
        t1 = time.perf_counter()
        time_s = self._samples_in / self.config.sample_rate
        if self.step is not None and n_new:
            scores = self._steps(self.features.window()[self.config.n_frames - n_new:])
        if not self.features.ready:  # warm-up: less than one clip of audio so far
            return None
        if self.step is None:
            scores = self.classifier.scores(self.features.window()[None])[0]
        t2 = time.perf_counter()
        smoothed = self.smoother.update(time_s, scores)
        detection = self.detector.update(time_s, smoothed, len(self.smoother))
        t3 = time.perf_counter()
        self.timer.add((t1 - t0) * 1e3, (t2 - t1) * 1e3, (t3 - t0) * 1e3)
        return HopResult(time_s, scores, smoothed, len(self.smoother), detection,
                         (t1 - t0) * 1e3, (t2 - t1) * 1e3, (t3 - t0) * 1e3)
