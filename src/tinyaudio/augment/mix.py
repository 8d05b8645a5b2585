"""Mixing two labelled clips into one with a soft label (between-class / mixup augmentation)."""

from __future__ import annotations

import numpy as np

from tinyaudio.augment._core import check_batch, check_clip, check_probability, check_range, check_rate, check_rng


def _rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))


class MixClips:
    """Add a second clip at a random level relative to the first; return the mix and the second label's weight.

    audiomentations has no labelled mix (its ``AddBackgroundNoise`` mixes files, labels are
    the caller's business), so this is written here.

    Args:
        min_gain_db: lowest level of ``other`` relative to ``samples``, in dB of RMS
            (``20 * log10(rms(g * other) / rms(samples))``).
        max_gain_db: highest such level in dB. The level is drawn uniformly in dB.
        p: probability of mixing; otherwise ``samples`` comes back with weight 0.

    Calling it, ``(samples, other, sample_rate, rng)``: samples and other float32, shape
    (n_samples,) and (m,) (``other`` is cropped or zero-padded to n_samples); returns
    ``(mixed, weight)``: mixed float32, shape (n_samples,), ``samples + g * other``, not
    clipped (it may exceed [-1, 1]); weight a float in [0, 1), the share of ``other`` in the
    mix's energy, ``10**(gain_db/10) / (1 + 10**(gain_db/10))`` (0.5 at 0 dB, 0.09 at -10 dB).
    Labels are mixed as ``(1 - weight) * y_samples + weight * y_other`` (`mix_batch` does it).
    If either clip is all zeros nothing is mixed and weight is 0.

    Raises:
        ValueError: min_gain_db > max_gain_db or p outside [0, 1].
        AudioError: (on call) either clip not mono 1-D, empty, integer or NaN / inf.

    Source: between-class learning, Tokozume et al. 2018, "Learning from Between-class
    Examples for Deep Sound Recognition" (ICLR), mixing by level with labels in proportion;
    mixup, Zhang et al. 2018 (ICLR). The energy-share label is this project's choice.
    """

    def __init__(self, min_gain_db: float = -10.0, max_gain_db: float = 0.0, p: float = 0.5) -> None:
        self.min_gain_db, self.max_gain_db = check_range(min_gain_db, max_gain_db, "min_gain_db", "max_gain_db")
        self.p = check_probability(p)

    def __call__(
        self, samples: np.ndarray, other: np.ndarray, sample_rate: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, float]:
        samples = check_clip(samples)
        other = check_clip(other, name="other")
        check_rate(sample_rate)
        check_rng(rng)
        if self.p < 1.0 and not rng.random() < self.p:
            return samples.copy(), 0.0
        gain_db = rng.uniform(self.min_gain_db, self.max_gain_db)
        n = len(samples)
        other = other[:n] if len(other) >= n else np.pad(other, (0, n - len(other)))
        rms_samples, rms_other = _rms(samples), _rms(other)
        if rms_samples == 0.0 or rms_other == 0.0:
            return samples.copy(), 0.0
        g = rms_samples / rms_other * 10.0 ** (gain_db / 20.0)
        share = 10.0 ** (gain_db / 10.0)
        return (samples + np.float32(g) * other).astype(np.float32), float(share / (1.0 + share))

    def __repr__(self) -> str:
        return f"MixClips(min_gain_db={self.min_gain_db!r}, max_gain_db={self.max_gain_db!r}, p={self.p!r})"


def mix_batch(
    clips: np.ndarray,
    labels: np.ndarray,
    mixer: MixClips,
    sample_rate: int,
    seed: int,
    *,
    n_classes: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Mix every clip with a partner from the same batch (a random permutation) and mix the labels.

    Args:
        clips: float32, shape (n, n_samples).
        labels: int class indices, shape (n,) (then ``n_classes`` is required), or one-hot /
            soft labels, float, shape (n, n_classes).
        mixer: the `MixClips` that sets levels and probability.
        sample_rate: Hz.
        seed: non-negative int; the same seed gives the same partners, levels and output.
        n_classes: number of classes for integer labels.

    Returns:
        ``(mixed, soft_labels)``: float32, shape (n, n_samples), and float32, shape
        (n, n_classes), row i = ``(1 - w_i) * y_i + w_i * y_partner(i)``. Each row sums to 1
        when the input labels do.

    Raises:
        AudioError: clips not 2-D, integer, or a row with NaN / inf (naming the row).
        ValueError: labels do not match clips, integer labels without n_classes or out of range.
    """
    clips = check_batch(clips)
    labels = np.asarray(labels)
    n = len(clips)
    if labels.ndim == 1 and np.issubdtype(labels.dtype, np.integer):
        if n_classes is None:
            raise ValueError("n_classes: required with integer labels (the batch may not contain every class)")
        if labels.min() < 0 or labels.max() >= n_classes:
            raise ValueError(f"labels: class indices must be in [0, {n_classes}), got [{labels.min()}, {labels.max()}]")
        labels = np.eye(n_classes, dtype=np.float32)[labels]
    elif labels.ndim != 2:
        raise ValueError(f"labels: expected int shape (n,) or float shape (n, n_classes), got {labels.dtype} {labels.shape}")
    if len(labels) != n:
        raise ValueError(f"labels: {len(labels)} labels for {n} clips")
    labels = labels.astype(np.float32)
    rng = np.random.default_rng(seed)
    partners = rng.permutation(n)
    mixed = np.empty(clips.shape, dtype=np.float32)
    soft = np.empty_like(labels)
    for i in range(n):
        mixed[i], w = mixer(clips[i], clips[partners[i]], sample_rate, rng)
        soft[i] = (1.0 - w) * labels[i] + w * labels[partners[i]]
    return mixed, soft
