"""Ready-made augmentation chains used by ``tinyaudio train --augment``."""

from __future__ import annotations

import os
from pathlib import Path

from tinyaudio.augment.compose import Compose
from tinyaudio.augment.specaugment import SpecAugment
from tinyaudio.augment.waveform import (
    AddBackgroundNoise, AddWhiteNoise, ApplyRoomImpulseResponse, ChannelColouring, Gain, SpeedPerturb, TileSegment,
    TimeShift, simulated_rirs,
)
from tinyaudio.paths import background_noise_dir

#: The default augmentation policy (``tinyaudio train --augment default``): each part and the
#: probability that it touches a copy. Waveform parts apply in this order, SpecAugment to the features.
DEFAULT_POLICY: dict[str, float] = {
    "speed": 0.3, "shift": 0.8, "room": 0.3, "channel": 0.3, "noise": 0.8, "gain": 0.5, "specaugment": 0.5,
}
#: Simulated rooms of the ``room`` part (`simulated_rirs`, cached after the first run).
DEFAULT_N_RIRS = 64


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
    transforms.append(_noise(noise_dir, min_snr_db, max_snr_db, p=0.8, white_p=0.5))
    return Compose(transforms)


def _noise(noise_dir: str | os.PathLike | None, min_snr_db: float, max_snr_db: float, *, p: float, white_p: float):
    """Background noise from ``noise_dir`` at ``min_snr_db``-``max_snr_db`` SNR (probability ``p``),
    or, without a noise folder, white noise at 10-40 dB SNR (probability ``white_p``)."""
    if noise_dir is not None:
        return AddBackgroundNoise(Path(noise_dir), min_snr_db=min_snr_db, max_snr_db=max_snr_db, p=p)
    return AddWhiteNoise(min_snr_db=10.0, max_snr_db=40.0, p=white_p)


def default_policy(off: str | tuple[str, ...] = ()) -> dict[str, float]:
    """`DEFAULT_POLICY` with the parts named in ``off`` (a tuple or comma-separated) set to 0.

    Raises:
        ValueError: a name that is not a part (the message lists them).
    """
    names = [n for n in (off.split(",") if isinstance(off, str) else off) if n]
    unknown = [n for n in names if n not in DEFAULT_POLICY]
    if unknown:
        raise ValueError(f"augment part {unknown[0]!r} is not one of {', '.join(DEFAULT_POLICY)}")
    return {k: (0.0 if k in names else p) for k, p in DEFAULT_POLICY.items()}


def default_recipe(sample_rate: int, policy: dict[str, float], noise_dir: str | os.PathLike | None = None, *,
                   min_snr_db: float = 3.0, max_snr_db: float = 20.0, seed: int = 0) -> tuple[Compose, SpecAugment | None]:
    """The default augmentation policy as a waveform chain and a feature-domain SpecAugment.

    Parts (each with its probability from ``policy``, see `DEFAULT_POLICY`; 0 leaves it out):
    ``speed`` 0.9-1.1 (`SpeedPerturb`), ``shift`` up to 100 ms, ``room``: one of `DEFAULT_N_RIRS`
    pyroomacoustics rooms, RT60 0.2-0.8 s (`simulated_rirs`), ``channel`` (`ChannelColouring`:
    EQ, band-pass or an 8 kHz round trip), ``noise``: background noise at
    ``min_snr_db``-``max_snr_db`` SNR (white noise when no noise folder exists), ``gain``
    -12 to +6 dB, and ``specaugment``: 2 time masks of up to 10 frames and 2 frequency masks of up
    to 5 bins on the features.

    Returns:
        ``(waveform chain, SpecAugment or None)``.

    Source: the augmentations of Ko et al. 2015 (speed), Warden 2018 (shift, background noise),
    Park et al. 2019 (SpecAugment), with simulated rooms (Scheibler et al. 2018) and microphone
    colouring for new devices.
    """
    noise_dir = noise_dir or background_noise_dir()
    transforms = []
    if policy.get("speed", 0) > 0:
        transforms.append(SpeedPerturb(0.9, 1.1, p=policy["speed"]))
    if policy.get("shift", 0) > 0:
        transforms.append(TimeShift(max_shift_s=0.1, p=policy["shift"]))
    if policy.get("room", 0) > 0:
        transforms.append(ApplyRoomImpulseResponse(simulated_rirs(DEFAULT_N_RIRS, sample_rate, seed=seed), p=policy["room"]))
    if policy.get("channel", 0) > 0:
        transforms.append(ChannelColouring(p=policy["channel"]))
    if policy.get("noise", 0) > 0:
        transforms.append(_noise(noise_dir, min_snr_db, max_snr_db, p=policy["noise"], white_p=policy["noise"]))
    if policy.get("gain", 0) > 0:
        transforms.append(Gain(-12.0, 6.0, p=policy["gain"]))
    spec = SpecAugment(2, 10, 2, 5, p=policy["specaugment"]) if policy.get("specaugment", 0) > 0 else None
    return Compose(transforms), spec
