"""Ready-made augmentation chains used by ``tinyaudio train --augment``."""

from __future__ import annotations

import os
from pathlib import Path

from tinyaudio.augment.compose import Compose
from tinyaudio.augment.waveform import AddBackgroundNoise, AddWhiteNoise, TimeShift


def background_noise_dir() -> Path | None:
    """Speech Commands ``_background_noise_`` under ``$TINYAUDIO_DATA`` or the download cache, if present."""
    roots = [os.environ.get("TINYAUDIO_DATA"), os.environ.get("TINYAUDIO_CACHE")]
    for root in filter(None, roots):
        for sub in ("speech_commands_background_noise", "speech_commands_v0.02/_background_noise_",
                    "datasets/speech_commands/_background_noise_"):
            if (Path(root) / sub).is_dir():
                return Path(root) / sub
    return None


def noise_recipe(sample_rate: int, noise_dir: str | os.PathLike | None = None) -> Compose:
    """Time shift (up to 100 ms, p=0.8), then background noise at 3-20 dB SNR (p=0.8) when a
    noise folder is available, else white noise at 10-40 dB SNR (p=0.5).

    Source: the defaults of TensorFlow's speech_commands trainer (``time_shift_ms=100``,
    ``background_frequency=0.8``), expressed as SNR rather than a fixed volume.
    """
    noise_dir = noise_dir or background_noise_dir()
    transforms = [TimeShift(max_shift_s=0.1, p=0.8)]
    if noise_dir is not None:
        transforms.append(AddBackgroundNoise(Path(noise_dir), min_snr_db=3.0, max_snr_db=20.0, p=0.8))
    else:
        transforms.append(AddWhiteNoise(min_snr_db=10.0, max_snr_db=40.0, p=0.5))
    return Compose(transforms)
