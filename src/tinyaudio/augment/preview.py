"""``tinyaudio augment-preview``: a PNG grid of spectrograms before and after each transform.

One row per transform, applied alone with ``p=1`` to the same clip: the clean clip's features
on the left, the augmented clip's on the right, both from the project's own frontend and on
one colour scale, so what a transform does to what the model sees is visible at a glance.
Needs the ``train`` extra (matplotlib, audiomentations).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from tinyaudio.augment.mix import MixClips
from tinyaudio.augment.specaugment import SpecAugment
from tinyaudio.augment.waveform import (
    AddBackgroundNoise,
    AddWhiteNoise,
    ApplyRoomImpulseResponse,
    RandomSilence,
    TimeShift,
    synthetic_rir,
)


def preview_transforms(sample_rate: int, *, noise_dir: str | os.PathLike | None = None,
                       irs: str | os.PathLike | None = None, seed: int = 0) -> list[tuple[str, object]]:
    """``(title, transform)`` pairs shown by `augment_preview`, each with ``p=1``.

    Background noise is included when ``noise_dir`` is given; room impulse responses come from
    ``irs`` files, else a synthetic RIR (RT60 0.6 s, `synthetic_rir`). `MixClips` and
    `SpecAugment` appear as themselves; `augment_preview` calls them their own way.
    """
    rir = synthetic_rir(sample_rate, 0.6, np.random.default_rng(seed), drr_db=-3.0)
    out: list[tuple[str, object]] = [
        ("white noise, 5-10 dB SNR", AddWhiteNoise(5.0, 10.0, p=1.0)),
    ]
    if noise_dir is not None:
        out.append(("background noise, 0-5 dB SNR", AddBackgroundNoise(Path(noise_dir), 0.0, 5.0, p=1.0)))
    out += [
        ("time shift, up to 0.3 s", TimeShift(max_shift_s=0.3, p=1.0)),
        ("random silence, 0.2-0.4 s", RandomSilence(0.2, 0.4, p=1.0)),
        ("mix with a second clip, -6-0 dB", MixClips(-6.0, 0.0, p=1.0)),
        ("room impulse response" + (" (files)" if irs else " (synthetic, RT60 0.6 s)"),
         ApplyRoomImpulseResponse(Path(irs) if irs else [rir], p=1.0)),
        ("SpecAugment, 2 time + 2 freq masks", SpecAugment(2, 10, 2, 6, fill="mean")),
    ]
    return out


def augment_preview(
    audio: str | os.PathLike,
    out: str | os.PathLike,
    *,
    features: str = "logmel_61x40",
    other: str | os.PathLike | None = None,
    noise_dir: str | os.PathLike | None = None,
    irs: str | os.PathLike | None = None,
    seed: int = 0,
) -> Path:
    """Write a PNG grid (rows: transforms; columns: before, after) for one audio file.

    Args:
        audio: clip to augment (its first ``clip_duration`` seconds at the feature rate).
        out: PNG path; its folder is created.
        features: feature preset name or FeatureConfig JSON path for the spectrograms.
        other: second clip for the mixing row (default: ``audio`` shifted by half its length).
        noise_dir: background-noise folder (row skipped when None).
        irs: impulse-response file or folder (default: a synthetic RIR).
        seed: the row-k transform draws from ``np.random.default_rng([seed, k])``.

    Returns:
        ``Path(out)``.

    Raises:
        AudioError: an unreadable audio file.
    """
    from tinyaudio.data.audio import fix_length, load_audio
    from tinyaudio.features.config import FeatureConfig
    from tinyaudio.features.extract import compute_features
    from tinyaudio.features.plot import _figure, _save_all

    config = FeatureConfig.load(features)
    sr = config.sample_rate
    x = fix_length(load_audio(audio, sr), config.n_samples)
    second = fix_length(load_audio(other, sr), config.n_samples) if other else np.roll(x, len(x) // 2)
    rows = preview_transforms(sr, noise_dir=noise_dir, irs=irs, seed=seed)
    clean = compute_features(x, config)
    pairs = []
    for k, (title, t) in enumerate(rows):
        rng = np.random.default_rng([seed, k])
        if isinstance(t, SpecAugment):
            after = t(clean, rng)
        elif isinstance(t, MixClips):
            mixed, w = t(x, second, sr, rng)
            after = compute_features(mixed, config)
            title = f"{title} (label weight {w:.2f})"
        else:
            after = compute_features(t(x, sr, rng), config)
        pairs.append((title, after))
    lo, hi = float(np.percentile(clean, 1)), float(clean.max())
    fig, axes = _figure(8.0, 1.9 * len(pairs), nrows=len(pairs), ncols=2)
    axes = np.atleast_2d(axes)
    duration = config.n_samples / sr
    for (title, after), (ax_before, ax_after) in zip(pairs, axes):
        for ax, feats, name in ((ax_before, clean, "before"), (ax_after, after, "after")):
            ax.imshow(feats.T, origin="lower", aspect="auto", vmin=lo, vmax=hi, cmap="magma",
                      extent=(0.0, duration, 0, feats.shape[1]))
            ax.set_title(f"{title}: {name}" if name == "after" else "clean", fontsize="small")
            ax.set_ylabel(f"{config.kind} bin", fontsize="x-small")
            ax.tick_params(labelsize="x-small")
    for ax in axes[-1]:
        ax.set_xlabel("time (s)", fontsize="small")
    out = Path(out)
    _save_all([fig], [out])
    return out
