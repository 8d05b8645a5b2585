"""Waveform transforms: noise, background noise, time shift, silence, room impulse responses.

Where audiomentations 0.43 has the transform, these classes wrap it: they check the input,
draw "apply?" from the generator they are handed and run the library's transform (with
``p=1``) under `seeded_global_random`, so a seed reproduces a run although the library
draws from the ``random`` module and numpy's global state.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence

import numpy as np

from tinyaudio.augment._core import (
    WaveformTransform,
    check_audio_paths,
    check_clip,
    check_range,
    import_audiomentations,
    is_path,
    seeded_global_random,
)


def _rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))


def _split_sources(items, *, name: str) -> tuple[list[str] | None, list[np.ndarray] | None]:
    """Paths -> (paths, None); arrays -> (None, float32 arrays). Mixed or empty -> error."""
    if is_path(items) or (isinstance(items, np.ndarray) and items.ndim == 1):
        items = [items]
    items = list(items)
    if not items:
        raise ValueError(f"{name}: give at least one file, folder or array")
    if all(is_path(item) for item in items):
        return check_audio_paths(items, name=name), None
    if any(is_path(item) for item in items):
        raise TypeError(f"{name}: give either paths or arrays, not a mix of both")
    return None, [check_clip(item, name=f"{name}[{i}]") for i, item in enumerate(items)]


class AddWhiteNoise(WaveformTransform):
    """Add Gaussian white noise at a signal-to-noise ratio drawn uniformly in dB.

    Args:
        min_snr_db: lowest SNR in dB (more noise).
        max_snr_db: highest SNR in dB (less noise).
        p: probability of applying it to a clip.

    Calling it, ``(samples, sample_rate, rng)``: samples float32, shape (n_samples,); returns
    float32, shape (n_samples,). The SNR is ``20 * log10(rms(samples) / rms(noise))`` over the
    whole clip, so an all-zero clip gets no noise.

    Raises:
        ValueError: min_snr_db > max_snr_db or p outside [0, 1].
        AudioError: (on call) samples not mono 1-D, empty, integer or NaN / inf.

    Source: wraps ``audiomentations.AddGaussianSNR`` (0.43).
    """

    _fields = ("min_snr_db", "max_snr_db")

    def __init__(self, min_snr_db: float = 5.0, max_snr_db: float = 40.0, p: float = 0.5) -> None:
        super().__init__(p)
        self.min_snr_db, self.max_snr_db = check_range(min_snr_db, max_snr_db, "min_snr_db", "max_snr_db")
        self._library = import_audiomentations().AddGaussianSNR(
            min_snr_db=self.min_snr_db, max_snr_db=self.max_snr_db, p=1.0
        )

    def _apply(self, samples, sample_rate, rng):
        with seeded_global_random(rng):
            return self._library(samples, sample_rate)


class AddBackgroundNoise(WaveformTransform):
    """Mix in a random stretch of a background recording at an SNR drawn uniformly in dB.

    Args:
        noises: audio files and / or folders of them (e.g. Speech Commands
            ``_background_noise_``), or 1-D float arrays already at the sample rate of the
            clips they will be mixed into. Not a mix of paths and arrays.
        min_snr_db: lowest SNR in dB (louder noise).
        max_snr_db: highest SNR in dB (quieter noise).
        p: probability of applying it to a clip.

    Calling it, ``(samples, sample_rate, rng)``: samples float32, shape (n_samples,); returns
    float32, shape (n_samples,): ``samples + g * noise[offset : offset + n_samples]`` with one
    noise picked uniformly, the offset uniform over the recording (a shorter recording is
    repeated) and ``g`` such that ``20 * log10(rms(samples) / rms(g * noise)) = snr_db``.
    An all-zero clip therefore gets no noise; a silent noise stretch is skipped with a warning.

    Raises:
        ValueError: no noises, min_snr_db > max_snr_db, or p outside [0, 1].
        TypeError: noises mixes paths and arrays.
        AudioError: a path does not exist, a noise array is not 1-D float / finite; (on call)
            bad samples.
        DatasetError: the paths hold no audio file.

    Source: paths are handed to ``audiomentations.AddBackgroundNoise`` (0.43, relative RMS
    mode), which finds the files, reads only the needed stretch and resamples it to the
    clip's rate (soxr). audiomentations takes no arrays, so arrays go through the same
    formula here (its ``calculate_desired_noise_rms``).
    """

    _fields = ("noises", "min_snr_db", "max_snr_db")

    def __init__(
        self,
        noises: Sequence[str | os.PathLike | np.ndarray] | str | os.PathLike,
        min_snr_db: float = 3.0,
        max_snr_db: float = 30.0,
        p: float = 0.5,
    ) -> None:
        super().__init__(p)
        self.min_snr_db, self.max_snr_db = check_range(min_snr_db, max_snr_db, "min_snr_db", "max_snr_db")
        am = import_audiomentations()
        self._paths, self._arrays = _split_sources(noises, name="noises")
        if self._paths is not None:
            self.noises = self._paths
            self._library = am.AddBackgroundNoise(
                sounds_path=self._paths, min_snr_db=self.min_snr_db, max_snr_db=self.max_snr_db, p=1.0
            )
        else:
            self.noises = [f"<array of {len(a)} samples>" for a in self._arrays]

    def _apply(self, samples, sample_rate, rng):
        if self._paths is not None:
            with seeded_global_random(rng):
                return self._library(samples, sample_rate)
        from audiomentations.core.utils import calculate_desired_noise_rms

        n = len(samples)
        noise = self._arrays[int(rng.integers(len(self._arrays)))]
        snr_db = rng.uniform(self.min_snr_db, self.max_snr_db)
        if len(noise) > n:
            start = int(rng.integers(0, len(noise) - n + 1))
            noise = noise[start : start + n]
        else:
            noise = np.tile(noise, -(-n // len(noise)))[:n]
        noise_rms = _rms(noise)
        if noise_rms < 1e-9:
            warnings.warn("AddBackgroundNoise: the chosen noise stretch is silent; clip left unchanged", stacklevel=3)
            return samples.copy()
        gain = calculate_desired_noise_rms(_rms(samples), snr_db) / noise_rms
        return samples + np.float32(gain) * noise


class TimeShift(WaveformTransform):
    """Shift the clip earlier or later by up to ``max_shift_s``, filling the gap with zeros.

    Args:
        max_shift_s: largest shift in seconds; the shift is drawn uniformly in
            [-max_shift_s, max_shift_s] and rounded to whole samples (positive = later).
        fade_s: fade-in / fade-out at the cut in seconds (0 = hard cut, as TF speech_commands;
            otherwise at least 0.00025 s).
        p: probability of applying it to a clip.

    Calling it, ``(samples, sample_rate, rng)``: samples float32, shape (n_samples,); returns
    float32, shape (n_samples,): ``out[t] = samples[t - shift]`` where defined, else 0 (no
    wrap-around).

    Raises:
        ValueError: max_shift_s < 0, bad fade_s, or p outside [0, 1].
        AudioError: (on call) bad samples.

    Source: wraps ``audiomentations.Shift(shift_unit="seconds", rollover=False)`` (0.43);
    zero fill as the ``time_shift_ms`` augmentation of TensorFlow's speech_commands example
    (Warden 2018, arXiv:1804.03209).
    """

    _fields = ("max_shift_s", "fade_s")

    def __init__(self, max_shift_s: float = 0.1, fade_s: float = 0.0, p: float = 0.5) -> None:
        super().__init__(p)
        if not max_shift_s >= 0:
            raise ValueError(f"max_shift_s: must be >= 0 seconds, got {max_shift_s}")
        self.max_shift_s = float(max_shift_s)
        self.fade_s = float(fade_s)
        self._library = import_audiomentations().Shift(
            min_shift=-self.max_shift_s,
            max_shift=self.max_shift_s,
            shift_unit="seconds",
            rollover=False,
            fade_duration=self.fade_s,
            p=1.0,
        )

    def _apply(self, samples, sample_rate, rng):
        with seeded_global_random(rng):
            return self._library(samples, sample_rate)


class Gain(WaveformTransform):
    """Multiply the clip by a random gain drawn uniformly in [min_gain_db, max_gain_db] dB.

    Args:
        min_gain_db, max_gain_db: gain range in dB (e.g. -12 to 6 for a quieter or louder talker).
        p: probability of applying it to a clip.

    Calling it, ``(samples, sample_rate, rng)``: float32 (n_samples,) in, float32 (n_samples,)
    out, ``samples * 10 ** (gain_db / 20)``; no clipping (features are computed in float).

    Raises:
        ValueError: min_gain_db > max_gain_db, or p outside [0, 1].

    Source: wraps ``audiomentations.Gain`` (0.43).
    """

    _fields = ("min_gain_db", "max_gain_db")

    def __init__(self, min_gain_db: float = -12.0, max_gain_db: float = 6.0, p: float = 0.5) -> None:
        super().__init__(p)
        if not min_gain_db <= max_gain_db:
            raise ValueError(f"min_gain_db ({min_gain_db}) must be <= max_gain_db ({max_gain_db})")
        self.min_gain_db, self.max_gain_db = float(min_gain_db), float(max_gain_db)
        self._library = import_audiomentations().Gain(min_gain_db=self.min_gain_db, max_gain_db=self.max_gain_db, p=1.0)

    def _apply(self, samples, sample_rate, rng):
        with seeded_global_random(rng):
            return self._library(samples, sample_rate)


def speech_piece(samples: np.ndarray, sample_rate: int, rng: np.random.Generator, *,
                 min_s: float = 0.3, max_s: float = 0.7) -> np.ndarray:
    """A short piece of a clip's speech, as a short recording of one word would hold.

    Args:
        samples: float32 (n,).
        sample_rate: Hz.
        rng: draws the length (uniform in ``[min_s, max_s]`` seconds) and the start.
        min_s, max_s: length of the piece, seconds.

    Returns:
        float32 (m,), m <= n: a piece starting uniformly inside the clip's active part (from 5 %
        to 95 % of its cumulative energy) and no longer than that part (unless it is under
        ``min_s``), so it is speech rather than the silence around a word; a silent clip whole.
    """
    energy = np.cumsum(samples.astype(np.float64) ** 2)
    if len(samples) == 0 or energy[-1] <= 0:
        return samples.copy()
    lo, hi = (int(i) for i in np.searchsorted(energy, [0.05 * energy[-1], 0.95 * energy[-1]]))
    active = max(hi - lo, round(min_s * sample_rate))  # no longer than the speech, unless that is under min_s
    length = max(1, min(round(rng.uniform(min_s, max_s) * sample_rate), active, len(samples)))
    start = int(rng.integers(lo, max(lo, min(hi, len(samples) - length)) + 1))
    return samples[start : start + length]


class TileSegment(WaveformTransform):
    """Keep a short piece of the clip's speech (`speech_piece`) and repeat it to fill the clip.

    A speaker embedding trained on such windows learns what a short recording repeated to fill
    the window looks like (`tinyaudio.runtime.speaker.windows` with ``fill="tile"``).

    Args:
        min_s, max_s: length of the piece kept, seconds, drawn uniformly.
        p: probability of applying it to a clip.

    Calling it, ``(samples, sample_rate, rng)``: float32 (n_samples,) in and out; a silent clip
    is returned unchanged.

    Raises:
        ValueError: 0 < min_s <= max_s does not hold, or p outside [0, 1].
    """

    _fields = ("min_s", "max_s")

    def __init__(self, min_s: float = 0.3, max_s: float = 0.7, p: float = 0.5) -> None:
        super().__init__(p)
        if not 0 < min_s <= max_s:
            raise ValueError(f"min_s, max_s: need 0 < min_s <= max_s seconds, got {min_s}, {max_s}")
        self.min_s, self.max_s = float(min_s), float(max_s)

    def _apply(self, samples, sample_rate, rng):
        piece = speech_piece(samples, sample_rate, rng, min_s=self.min_s, max_s=self.max_s)
        return np.tile(piece, -(-len(samples) // len(piece)))[: len(samples)]


class SpeedPerturb(WaveformTransform):
    """Play the clip faster or slower (tempo and pitch together), keeping its length.

    Args:
        min_rate, max_rate: speed factor range, drawn uniformly (1.1 = 10 % faster, pitch up).
        p: probability of applying it to a clip.

    Calling it, ``(samples, sample_rate, rng)``: float32 (n_samples,) in and out. The clip is
    resampled by 1 / rate with soxr (so a tone at f Hz comes out at rate * f Hz), then centre-cropped
    or zero-padded back to n_samples.

    Raises:
        ValueError: 0 < min_rate <= max_rate does not hold, or p outside [0, 1].

    Source: Ko et al. 2015, "Audio Augmentation for Speech Recognition", Interspeech (speed
    perturbation 0.9 / 1.0 / 1.1, as Kaldi's recipes); resampling with soxr (libsoxr VHQ).
    """

    _fields = ("min_rate", "max_rate")

    def __init__(self, min_rate: float = 0.9, max_rate: float = 1.1, p: float = 0.5) -> None:
        super().__init__(p)
        if not 0 < min_rate <= max_rate:
            raise ValueError(f"min_rate, max_rate: need 0 < min_rate <= max_rate, got {min_rate}, {max_rate}")
        self.min_rate, self.max_rate = float(min_rate), float(max_rate)

    def _apply(self, samples, sample_rate, rng):
        import soxr

        rate = float(rng.uniform(self.min_rate, self.max_rate))
        out = soxr.resample(samples, sample_rate * rate, sample_rate)
        n = len(samples)
        if len(out) >= n:
            start = (len(out) - n) // 2
            return out[start : start + n]
        pad = n - len(out)
        return np.pad(out, (pad // 2, pad - pad // 2))


class ChannelColouring(WaveformTransform):
    """Make the clip sound like another microphone or line: one of three colourings, chosen uniformly.

    - a random 7-band parametric EQ (-6 to +6 dB per band: a cheap microphone's response);
    - a band-pass filter centred 500-2000 Hz (a small speaker or telephone-like band);
    - a narrowband round trip: resampled to 8 kHz and back (everything above 4 kHz is lost, as
      in an 8 kHz recording such as FSDD).

    Clips at 8 kHz and below are returned unchanged. Tried and dropped (README, FSDD): the EQ and
    band-pass run at 16 kHz and back, and a 2-3.5 kHz low-pass in place of the round trip; on
    FSDD's leave-one-speaker-out folds both validation sources went down (Speech Commands'
    validation speakers 88.9 against 91.0 %, held-out renderings 99.1 against 99.7 %).

    Args:
        p: probability of applying it to a clip.

    Calling it, ``(samples, sample_rate, rng)``: float32 (n_samples,) in and out.

    Source: wraps ``audiomentations.SevenBandParametricEQ`` and ``audiomentations.BandPassFilter``
    (0.43); the round trip with soxr. The device-robustness recipes of keyword spotting and
    speaker verification (e.g. microphone EQ simulation in Edge Impulse's and NVIDIA NeMo's
    augmentations) use the same three effects.
    """

    _fields = ()

    def __init__(self, p: float = 0.5) -> None:
        super().__init__(p)
        am = import_audiomentations()
        self._eq = am.SevenBandParametricEQ(min_gain_db=-6.0, max_gain_db=6.0, p=1.0)
        self._band = am.BandPassFilter(min_center_freq=500.0, max_center_freq=2000.0, p=1.0)

    def _apply(self, samples, sample_rate, rng):
        kind = int(rng.integers(3))  # drawn first at every rate, so the rng advances the same way
        if sample_rate <= 8000:  # already narrowband: nothing to colour
            return samples.copy()
        if kind == 2:
            import soxr

            narrow = soxr.resample(samples, sample_rate, 8000)
            return np.resize(soxr.resample(narrow, 8000, sample_rate), len(samples))
        with seeded_global_random(rng):
            return (self._eq if kind == 0 else self._band)(samples, sample_rate)


def simulated_rirs(n: int, sample_rate: int, *, seed: int = 0, min_rt60_s: float = 0.2, max_rt60_s: float = 0.8
                   ) -> list[np.ndarray]:
    """``n`` room impulse responses simulated with pyroomacoustics (image source method), cached.

    Each is a random shoebox room (3-10 m x 3-8 m x 2.5-4 m), RT60 uniform in
    [min_rt60_s, max_rt60_s] (wall absorption and reflection order from Sabine's formula,
    `pyroomacoustics.inverse_sabine`), source and microphone at random positions at least 0.5 m
    from the walls. The list is computed once per (n, sample_rate, seed, RT60 range) and kept in
    ``$TINYAUDIO_CACHE/rir/``.

    Returns:
        float32 arrays (1-D, up to 1 s), each scaled to a peak of 1.

    Raises:
        ImportError: pyroomacoustics is missing (the message says how to install it).

    Source: Scheibler et al. 2018, "Pyroomacoustics: A Python package for audio room simulations
    and array processing algorithms", ICASSP; Allen & Berkley 1979 (image source method).
    """
    from tinyaudio._io import write_bytes_atomic
    from tinyaudio.paths import cache_root

    path = cache_root() / "rir" / f"pra-{n}-{sample_rate}-{seed}-{min_rt60_s:g}-{max_rt60_s:g}.npz"
    if path.exists():
        with np.load(path) as data:
            return [data[f"rir{i}"] for i in range(n)]
    try:
        import pyroomacoustics as pra
    except ImportError as exc:
        raise ImportError("simulated room impulse responses need pyroomacoustics: pip install 'tinyaudio[synth]'") from exc
    rng = np.random.default_rng(seed)
    rirs = []
    for _ in range(n):
        dims = rng.uniform([3.0, 3.0, 2.5], [10.0, 8.0, 4.0])
        absorption, max_order = pra.inverse_sabine(float(rng.uniform(min_rt60_s, max_rt60_s)), dims)
        room = pra.ShoeBox(dims, fs=sample_rate, materials=pra.Material(absorption), max_order=min(max_order, 20))
        room.add_source(rng.uniform(0.5, dims - 0.5))
        room.add_microphone(rng.uniform(0.5, dims - 0.5))
        room.compute_rir()
        rir = np.asarray(room.rir[0][0], dtype=np.float64)[:sample_rate]
        rirs.append((rir / np.max(np.abs(rir))).astype(np.float32))
    import io

    buf = io.BytesIO()
    np.savez(buf, **{f"rir{i}": r for i, r in enumerate(rirs)})
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(path, buf.getvalue())
    return rirs


class RandomSilence(WaveformTransform):
    """Silence one random stretch of the clip (a dropout), of length drawn uniformly in seconds.

    Args:
        min_silence_s: shortest silent stretch in seconds.
        max_silence_s: longest silent stretch in seconds (capped at the clip length).
        fade_s: fade-out / fade-in at the edges of the stretch in seconds, to avoid clicks
            (0 = hard edges; otherwise at least 0.00025 s). The fades lie inside the stretch.
        p: probability of applying it to a clip.

    Calling it, ``(samples, sample_rate, rng)``: samples float32, shape (n_samples,); returns
    float32, shape (n_samples,), equal to ``samples`` except on one stretch
    ``[t0, t0 + t)`` that is zero (faded at its edges), with ``t`` whole samples.

    Raises:
        ValueError: negative or reversed lengths, bad fade_s, or p outside [0, 1].
        AudioError: (on call) bad samples.

    Source: wraps ``audiomentations.TimeMask`` (0.43), the waveform analogue of the SpecAugment
    time mask (Park et al. 2019); lengths in seconds are converted to its fractions of the
    clip on each call.
    """

    _fields = ("min_silence_s", "max_silence_s", "fade_s")

    def __init__(self, min_silence_s: float = 0.0, max_silence_s: float = 0.2, fade_s: float = 0.005, p: float = 0.5) -> None:
        super().__init__(p)
        self.min_silence_s, self.max_silence_s = check_range(min_silence_s, max_silence_s, "min_silence_s", "max_silence_s")
        if self.min_silence_s < 0:
            raise ValueError(f"min_silence_s: must be >= 0 seconds, got {min_silence_s}")
        self.fade_s = float(fade_s)
        self._time_mask = import_audiomentations().TimeMask
        self._time_mask(fade_duration=self.fade_s)  # let the library validate fade_s now

    def _apply(self, samples, sample_rate, rng):
        n = len(samples)
        # whole samples, nudged up so int(n * fraction) inside the library is not one short
        lo = min(n, round(self.min_silence_s * sample_rate))
        hi = min(n, round(self.max_silence_s * sample_rate))
        mask = self._time_mask(
            min_band_part=min(1.0, (lo + 0.5) / n),
            max_band_part=min(1.0, (hi + 0.5) / n),
            fade_duration=self.fade_s,
            p=1.0,
        )
        with seeded_global_random(rng):
            return mask(samples, sample_rate)


def synthetic_rir(
    sample_rate: int,
    rt60_s: float,
    rng: np.random.Generator,
    *,
    drr_db: float = 0.0,
    duration_s: float | None = None,
) -> np.ndarray:
    """A synthetic room impulse response: a direct-path impulse plus exponentially decaying noise.

    Args:
        sample_rate: Hz.
        rt60_s: reverberation time in seconds: the tail's energy falls 60 dB in ``rt60_s``.
        rng: source of the noise tail.
        drr_db: direct-to-reverberant ratio in dB, energy of the direct impulse over that of
            the tail (0 dB = equal; lower = more reverberant).
        duration_s: length in seconds; default ``rt60_s`` (the tail is then 60 dB down).

    Returns:
        float32 array, shape (round(duration_s * sample_rate),), ``h[0] = 1`` (direct path).

    Raises:
        ValueError: rt60_s or duration_s not positive, or sample_rate not positive.

    Source: the statistical reverberation model (Schroeder 1962; Polack 1988): Gaussian noise
    times ``exp(-3 ln(10) t / rt60)``. No early reflections or frequency-dependent decay, so
    it stands in for measured RIRs (none ship offline) but is no room simulation
    (audiomentations.RoomSimulator needs pyroomacoustics).
    """
    if sample_rate <= 0:
        raise ValueError(f"sample_rate: expected a positive number of Hz, got {sample_rate}")
    if not rt60_s > 0:
        raise ValueError(f"rt60_s: must be > 0 seconds, got {rt60_s}")
    duration_s = rt60_s if duration_s is None else duration_s
    if not duration_s > 0:
        raise ValueError(f"duration_s: must be > 0 seconds, got {duration_s}")
    n = max(2, int(round(duration_s * sample_rate)))
    t = np.arange(n) / sample_rate
    tail = rng.standard_normal(n) * np.exp(-3.0 * np.log(10.0) * t / rt60_s)
    tail[0] = 0.0
    tail *= np.sqrt(10.0 ** (-drr_db / 10.0) / np.sum(tail**2))
    tail[0] = 1.0
    return tail.astype(np.float32)


class ApplyRoomImpulseResponse(WaveformTransform):
    """Convolve the clip with a room impulse response picked uniformly from ``irs``.

    Args:
        irs: impulse-response audio files and / or folders of them, or 1-D float arrays at
            the sample rate of the clips (e.g. from `synthetic_rir`). Not a mix of both.
        p: probability of applying it to a clip.

    Calling it, ``(samples, sample_rate, rng)``: samples float32, shape (n_samples,); returns
    float32, shape (n_samples,): ``convolve(samples, ir)[:n_samples]`` (reverb tail past the
    clip end cut), rescaled so its peak is 0.5 as audiomentations does.

    Raises:
        ValueError: no irs, or p outside [0, 1].
        TypeError: irs mixes paths and arrays.
        AudioError: a path does not exist, an IR array is not 1-D float / finite; (on call)
            bad samples.
        DatasetError: the paths hold no audio file.

    Source: paths are handed to ``audiomentations.ApplyImpulseResponse`` (0.43,
    ``leave_length_unchanged=True``), which loads, resamples and caches them. It takes no
    arrays, so arrays go through the same steps here (``scipy.signal.convolve``, peak 0.5).
    """

    _fields = ("irs",)

    def __init__(self, irs: Sequence[str | os.PathLike | np.ndarray] | str | os.PathLike, p: float = 0.5) -> None:
        super().__init__(p)
        am = import_audiomentations()
        self._paths, self._arrays = _split_sources(irs, name="irs")
        if self._paths is not None:
            self.irs = self._paths
            self._library = am.ApplyImpulseResponse(ir_path=self._paths, p=1.0, leave_length_unchanged=True)
        else:
            self.irs = [f"<array of {len(a)} samples>" for a in self._arrays]

    def _apply(self, samples, sample_rate, rng):
        if self._paths is not None:
            with seeded_global_random(rng):
                return self._library(samples, sample_rate)
        from scipy.signal import convolve

        ir = self._arrays[int(rng.integers(len(self._arrays)))]
        wet = convolve(samples, ir)
        peak = float(np.max(np.abs(wet)))  # over the whole tail, as audiomentations
        wet = wet[: len(samples)]
        return wet * (0.5 / peak) if peak > 0 else wet
