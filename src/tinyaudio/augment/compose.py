"""Chaining waveform transforms and running them over a batch of clips, reproducibly."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tinyaudio.augment._core import Transform, check_batch, check_clip, check_probability, check_rate, check_rng
from tinyaudio.augment.mix import MixClips
from tinyaudio.augment.specaugment import SpecAugment
from tinyaudio.errors import AudioError


class Compose:
    """Apply waveform transforms one after another.

    Args:
        transforms: objects following the `Transform` protocol, ``(samples, sample_rate, rng)
            -> samples``, applied in order, each deciding with its own ``p``.
        p: probability of running the chain at all.

    Calling it, ``(samples, sample_rate, rng)``: samples float32, shape (n_samples,); returns
    float32, shape (n_samples,).

    Raises:
        TypeError: a member is not callable, or is a `SpecAugment` (features, not waveforms)
            or a `MixClips` (needs a second clip: use `mix_batch`).
        ValueError: p outside [0, 1].
        AudioError: (on call) bad samples, or a member changed the clip's length.
    """

    def __init__(self, transforms: Sequence[Transform], p: float = 1.0) -> None:
        self.transforms = list(transforms)
        for i, t in enumerate(self.transforms):
            if isinstance(t, SpecAugment):
                raise TypeError(f"transforms[{i}]: SpecAugment works on feature matrices; apply it after compute_features")
            if isinstance(t, MixClips):
                raise TypeError(f"transforms[{i}]: MixClips needs a second clip and labels; use tinyaudio.augment.mix_batch")
            if not callable(t):
                raise TypeError(f"transforms[{i}]: {t!r} is not a transform (samples, sample_rate, rng) -> samples")
        self.p = check_probability(p)

    def __call__(self, samples: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
        samples = check_clip(samples)
        sample_rate = check_rate(sample_rate)
        check_rng(rng)
        if self.p < 1.0 and not rng.random() < self.p:
            return samples.copy()
        n = len(samples)
        for t in self.transforms:
            samples = np.asarray(t(samples, sample_rate, rng), dtype=np.float32)
            if samples.shape != (n,):
                raise AudioError(f"{t!r}: returned shape {samples.shape}, expected ({n},); transforms must keep the length")
        return samples

    def __repr__(self) -> str:
        inner = ", ".join(repr(t) for t in self.transforms)
        return f"Compose([{inner}], p={self.p})"


def augment_batch(
    clips: np.ndarray,
    transforms: Transform | Sequence[Transform],
    sample_rate: int,
    seed: int,
    copies: int = 1,
) -> np.ndarray:
    """Augmented copies of a batch of clips, the same for the same seed.

    Args:
        clips: float32, shape (n, n_samples), mono at ``sample_rate`` Hz.
        transforms: one transform, or a list applied in order (as `Compose`).
        sample_rate: Hz.
        seed: non-negative int. Row ``k * n + i`` is augmented with its own generator,
            ``np.random.default_rng([seed, k, i])``, so it depends only on the seed, the copy
            index and the clip, not on the batch's other clips or their order of processing.
        copies: augmented copies of each clip.

    Returns:
        float32, shape (n * copies, n_samples): copy k of clip i at row ``k * n + i``, so the
        labels are ``np.tile(labels, copies)``.

    Raises:
        AudioError: clips not 2-D, integer, a row with NaN / inf, or a transform changed a
            clip's length.
        ValueError: copies < 1 or a negative seed.
    """
    clips = check_batch(clips)
    sample_rate = check_rate(sample_rate)
    if isinstance(copies, bool) or not isinstance(copies, (int, np.integer)) or copies < 1:
        raise ValueError(f"copies: must be a whole number >= 1, got {copies!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed: must be a whole number >= 0, got {seed!r}")
    chain = transforms if callable(transforms) and not isinstance(transforms, (list, tuple)) else Compose(transforms)
    if isinstance(chain, (SpecAugment, MixClips)):
        chain = Compose([chain])  # raises the explanatory TypeError
    n, n_samples = clips.shape
    out = np.empty((n * copies, n_samples), dtype=np.float32)
    for k in range(copies):
        for i in range(n):
            rng = np.random.default_rng([int(seed), k, i])
            row = np.asarray(chain(clips[i], sample_rate, rng), dtype=np.float32)
            if row.shape != (n_samples,):
                raise AudioError(f"{chain!r}: returned shape {row.shape} for clips[{i}], expected ({n_samples},)")
            out[k * n + i] = row
    return out
