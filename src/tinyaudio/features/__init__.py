"""Features: one `FeatureConfig`, one float frontend (`compute_features`), a disk cache."""

from tinyaudio.features.config import PRESETS, FeatureConfig
from tinyaudio.features.extract import (
    compute_features,
    compute_features_batch,
    dct_matrix,
    mel_filterbank,
    power_spectrogram,
)

__all__ = [
    "PRESETS",
    "FeatureConfig",
    "compute_features",
    "compute_features_batch",
    "dct_matrix",
    "mel_filterbank",
    "power_spectrogram",
]
