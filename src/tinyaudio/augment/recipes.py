"""Ready-made augmentation chains used by ``tinyaudio train --augment``."""

from __future__ import annotations

import os
from pathlib import Path

from tinyaudio.augment.compose import Compose
from tinyaudio.augment.waveform import AddBackgroundNoise, AddWhiteNoise, TileSegment, TimeShift
from tinyaudio.paths import background_noise_dir


def noise_recipe(sample_rate: int, noise_dir: str | os.PathLike | None = None, *,
                 min_snr_db: float = 3.0, max_snr_db: float = 20.0, tile_segment_p: float = 0.0) -> Compose:
    """Time shift (up to 100 ms, p=0.8), then background noise at ``min_snr_db``-``max_snr_db``
    SNR (default 3-20 dB, p=0.8) when a noise folder is available, else white noise at 10-40 dB
    SNR (p=0.5). With ``tile_segment_p`` > 0, first a `TileSegment` (0.3-0.7 s of the clip's
    speech repeated, as the speaker runtime fills a short recording) with that probability.

    Source: the defaults of TensorFlow's speech_commands trainer (``time_shift_ms=100``,
    ``background_frequency=0.8``), expressed as SNR rather than a fixed volume. An always-listening
    model meets keywords near 0 dB (SNR of the active speech, `tinyaudio.evaluate.stream`, is
    3-6 dB above the whole-clip SNR used here): lower ``min_snr_db`` for it.
    """
    noise_dir = noise_dir or background_noise_dir()
    transforms = [TileSegment(p=tile_segment_p)] if tile_segment_p > 0 else []
    transforms.append(TimeShift(max_shift_s=0.1, p=0.8))
    if noise_dir is not None:
        transforms.append(AddBackgroundNoise(Path(noise_dir), min_snr_db=min_snr_db, max_snr_db=max_snr_db, p=0.8))
    else:
        transforms.append(AddWhiteNoise(min_snr_db=10.0, max_snr_db=40.0, p=0.5))
    return Compose(transforms)
