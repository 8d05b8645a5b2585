"""SpecAugment time and frequency masks on feature matrices (n_frames, n_features)."""

from __future__ import annotations

import numpy as np

from tinyaudio.augment._core import check_probability, check_rng
from tinyaudio.errors import AudioError

_FILLS = ("zero", "mean")


class SpecAugment:
    """Mask random runs of frames (time masks) and of feature bins (frequency masks).

    Args:
        n_time_masks: number of time masks (Park et al. m_T).
        max_time_mask_frames: widest time mask in frames (T); each width is uniform in
            [0, T], capped at the number of frames.
        n_freq_masks: number of frequency masks (m_F).
        max_freq_mask_bins: widest frequency mask in feature bins (F), capped at n_features.
        fill: ``"zero"`` (Park et al., whose features are mean-normalised) or ``"mean"``
            (the mean of that example's whole matrix, for un-normalised log-mel / MFCC).
        p: probability of masking an example at all.

    Calling it, ``(features, rng)``: features float, shape (n_frames, n_features) or
    (batch, n_frames, n_features), as `tinyaudio.features.compute_features` returns; returns
    a new array of the same shape and dtype in which each mask sets whole rows (time) or
    whole columns (frequency) to the fill value, drawn independently per example. Masks may
    overlap. Mask start ``t0`` is uniform in [0, n_frames - t] (likewise for frequency).

    Raises:
        ValueError: a negative count or width, an unknown fill, or p outside [0, 1].
        AudioError: (on call) features not 2-D / 3-D, empty, integer or NaN / inf.

    Source: Park et al. 2019, "SpecAugment: A Simple Data Augmentation Method for Automatic
    Speech Recognition", arXiv:1904.08779, section 2 (time warping omitted). Their LibriSpeech
    policy LD is m_F=2, F=27 of 80 mels, m_T=2, T=100 frames of 10 ms; the defaults here scale
    it to 1 s keyword clips (49 frames of 20 ms, 10-40 features). audiomentations has only a
    single-band ``SpecFrequencyMask`` on (freq, time) arrays, so this is written here.
    """

    def __init__(
        self,
        n_time_masks: int = 2,
        max_time_mask_frames: int = 10,
        n_freq_masks: int = 2,
        max_freq_mask_bins: int = 5,
        *,
        fill: str = "zero",
        p: float = 1.0,
    ) -> None:
        for name in ("n_time_masks", "max_time_mask_frames", "n_freq_masks", "max_freq_mask_bins"):
            value = locals()[name]
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise ValueError(f"{name}: must be a whole number >= 0, got {value!r}")
        if fill not in _FILLS:
            raise ValueError(f"fill: must be one of {_FILLS}, got {fill!r}")
        self.n_time_masks = int(n_time_masks)
        self.max_time_mask_frames = int(max_time_mask_frames)
        self.n_freq_masks = int(n_freq_masks)
        self.max_freq_mask_bins = int(max_freq_mask_bins)
        self.fill = fill
        self.p = check_probability(p)

    def __call__(self, features: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        features = np.asarray(features)
        if features.ndim not in (2, 3) or 0 in features.shape:
            raise AudioError(
                f"features: expected shape (n_frames, n_features) or (batch, n_frames, n_features), got {features.shape}"
            )
        if not np.issubdtype(features.dtype, np.floating):
            raise AudioError(f"features: expected a float array, got dtype {features.dtype}")
        if not np.all(np.isfinite(features)):
            raise AudioError("features: contains NaN or inf; check the audio and the FeatureConfig log_floor")
        check_rng(rng)
        out = features.copy()
        for example in out.reshape(-1, *features.shape[-2:]):  # views into out
            self._mask(example, rng)
        return out

    def _mask(self, example: np.ndarray, rng: np.random.Generator) -> None:
        if self.p < 1.0 and not rng.random() < self.p:
            return
        value = example.mean() if self.fill == "mean" else 0.0
        n_frames, n_features = example.shape
        for _ in range(self.n_freq_masks):
            f = int(rng.integers(0, min(self.max_freq_mask_bins, n_features) + 1))
            f0 = int(rng.integers(0, n_features - f + 1))
            example[:, f0 : f0 + f] = value
        for _ in range(self.n_time_masks):
            t = int(rng.integers(0, min(self.max_time_mask_frames, n_frames) + 1))
            t0 = int(rng.integers(0, n_frames - t + 1))
            example[t0 : t0 + t, :] = value

    def __repr__(self) -> str:
        return (
            f"SpecAugment(n_time_masks={self.n_time_masks}, max_time_mask_frames={self.max_time_mask_frames}, "
            f"n_freq_masks={self.n_freq_masks}, max_freq_mask_bins={self.max_freq_mask_bins}, "
            f"fill={self.fill!r}, p={self.p})"
        )
