"""Augment: waveform transforms before features, SpecAugment masks after.

Waveform transforms take ``(samples, sample_rate, rng)``: mono float32 (n_samples,), Hz, and a
``numpy.random.Generator``, and return float32 (n_samples,); each applies with probability
``p`` drawn from ``rng``, so a seed reproduces a run. Where audiomentations (0.43, ``train``
extra) has the transform they wrap it, seeding its global random state from ``rng``.

Example::

    chain = Compose([TimeShift(max_shift_s=0.1), AddBackgroundNoise(noise_dir, 5.0, 20.0, p=0.8)])
    x_aug = augment_batch(x, chain, sample_rate=16000, seed=0, copies=2)   # (2 * n, n_samples)
    y_aug = np.tile(y, 2)
    feats = SpecAugment(2, 10, 2, 5)(compute_features_batch(x_aug, config), np.random.default_rng(0))
"""

from tinyaudio.augment._core import Transform
from tinyaudio.augment.compose import Compose, augment_batch
from tinyaudio.augment.mix import MixClips, mix_batch
from tinyaudio.augment.specaugment import SpecAugment
from tinyaudio.augment.waveform import (
    AddBackgroundNoise,
    AddWhiteNoise,
    ApplyRoomImpulseResponse,
    ChannelColouring,
    Gain,
    RandomSilence,
    SpeedPerturb,
    TileSegment,
    TimeShift,
    simulated_rirs,
    speech_piece,
    synthetic_rir,
)

__all__ = [
    "AddBackgroundNoise",
    "AddWhiteNoise",
    "ApplyRoomImpulseResponse",
    "ChannelColouring",
    "Compose",
    "Gain",
    "MixClips",
    "RandomSilence",
    "SpeedPerturb",
    "SpecAugment",
    "TileSegment",
    "TimeShift",
    "Transform",
    "augment_batch",
    "mix_batch",
    "simulated_rirs",
    "speech_piece",
    "synthetic_rir",
]
