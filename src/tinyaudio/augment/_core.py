"""Shared pieces of the augmentation stage: input checks, seeded calls into audiomentations, the base class."""

from __future__ import annotations

import contextlib
import os
import random
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from tinyaudio.data.audio import check_audio
from tinyaudio.errors import AudioError, DatasetError


@runtime_checkable
class Transform(Protocol):
    """What `Compose` and `augment_batch` accept: a callable ``(samples, sample_rate, rng) -> samples``.

    ``samples`` is mono float32 audio, shape (n_samples,); the result has the same shape and
    dtype. All randomness (including whether it applies at all, probability ``p``) comes
    from ``rng``, a ``numpy.random.Generator``, so a seed reproduces a run.
    """

    p: float

    def __call__(self, samples: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray: ...


def check_clip(samples: Any, *, name: str = "samples") -> np.ndarray:
    """`tinyaudio.data.check_audio` for one clip, returned as contiguous float32 (n_samples,)."""
    return np.ascontiguousarray(check_audio(samples, name=name), dtype=np.float32)


def check_batch(clips: Any, *, name: str = "clips") -> np.ndarray:
    """`tinyaudio.data.check_audio` for equal-length clips, returned as float32 (n_clips, n_samples)."""
    return np.ascontiguousarray(check_audio(clips, name=name, ndim=(2,)), dtype=np.float32)


def check_rate(sample_rate: Any) -> int:
    """Return ``sample_rate`` as int; raise `AudioError` unless it is a positive whole number of Hz."""
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) or sample_rate <= 0:
        raise AudioError(f"sample_rate: expected a positive integer in Hz, got {sample_rate!r}")
    return int(sample_rate)


def check_rng(rng: Any) -> np.random.Generator:
    """Raise `TypeError` unless ``rng`` is a ``numpy.random.Generator``."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng: expected a numpy.random.Generator (np.random.default_rng(seed)), got {type(rng).__name__}")
    return rng


def check_probability(p: float) -> float:
    """Raise `ValueError` unless ``0 <= p <= 1``."""
    if not 0.0 <= float(p) <= 1.0:
        raise ValueError(f"p: probability of applying must be in [0, 1], got {p}")
    return float(p)


def check_range(low: float, high: float, low_name: str, high_name: str) -> tuple[float, float]:
    """Raise `ValueError` unless ``low <= high`` and both are finite."""
    if not (np.isfinite(low) and np.isfinite(high)):
        raise ValueError(f"{low_name}, {high_name}: must be finite numbers, got {low}, {high}")
    if low > high:
        raise ValueError(f"{low_name} ({low}) must not be greater than {high_name} ({high})")
    return float(low), float(high)


def is_path(item: Any) -> bool:
    return isinstance(item, (str, os.PathLike))


def check_audio_paths(paths: Sequence[str | os.PathLike], *, name: str) -> list[str]:
    """Check every path exists and that together they hold at least one audio file.

    Returns:
        the paths as strings (files and folders, as audiomentations takes them).

    Raises:
        AudioError: a path does not exist.
        DatasetError: no audio file (wav, flac, mp3, ogg, ...) in or under the paths.
    """
    from audiomentations.core.utils import find_audio_files_in_paths

    for path in paths:
        if not Path(path).exists():
            raise AudioError(f"{path}: {name} file or folder not found; check the path")
    if not find_audio_files_in_paths([str(p) for p in paths]):
        raise DatasetError(f"{[str(p) for p in paths]}: no audio files found for {name}; point at .wav / .flac files or folders")
    return [str(p) for p in paths]


def import_audiomentations() -> Any:
    """Import audiomentations (part of the ``train`` extra) with an install hint if missing."""
    try:
        import audiomentations
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError("tinyaudio.augment needs audiomentations: pip install 'tinyaudio[train]'") from exc
    return audiomentations


# audiomentations draws from the `random` module and numpy's global state. One lock keeps two
# threads from interleaving their seeds; RLock so a library transform may call another.
_GLOBAL_RANDOM_LOCK = threading.RLock()


@contextlib.contextmanager
def seeded_global_random(rng: np.random.Generator) -> Iterator[None]:
    """Seed ``random`` and ``numpy.random`` from ``rng`` for one audiomentations call, then restore them.

    The seed is one draw from ``rng``, so the library's draws are a function of the caller's
    generator; the caller's global random state is put back afterwards, untouched.
    """
    seed = int(rng.integers(0, 2**32))
    with _GLOBAL_RANDOM_LOCK:
        py_state = random.getstate()
        np_state = np.random.get_state()
        random.seed(seed)
        np.random.seed(seed)
        try:
            yield
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)


class WaveformTransform:
    """Base of the waveform transforms: checks input, draws "apply?" with probability ``p``, calls ``_apply``.

    Subclasses set ``_fields`` (the ``__init__`` arguments shown by ``repr``) and implement
    ``_apply(samples, sample_rate, rng) -> samples`` on a checked float32 1-D array.
    """

    _fields: tuple[str, ...] = ()

    def __init__(self, p: float) -> None:
        self.p = check_probability(p)

    def __call__(self, samples: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
        """Apply the transform with probability ``p``.

        Args:
            samples: mono audio, shape (n_samples,), float in [-1, 1].
            sample_rate: Hz.
            rng: the only source of randomness; the same generator state gives the same output.

        Returns:
            float32 array, shape (n_samples,): a new array (a copy when the transform is skipped).

        Raises:
            AudioError: samples not 1-D, empty, integer or containing NaN / inf; bad sample rate.
        """
        samples = check_clip(samples)
        sample_rate = check_rate(sample_rate)
        check_rng(rng)
        if self.p < 1.0 and not rng.random() < self.p:
            return samples.copy()
        out = self._apply(samples, sample_rate, rng)
        return np.ascontiguousarray(out, dtype=np.float32)

    def _apply(self, samples: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={getattr(self, k)!r}" for k in (*self._fields, "p"))
        return f"{type(self).__name__}({args})"
