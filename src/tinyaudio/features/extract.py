"""Float frontend: STFT spectrogram, log-mel and MFCC in NumPy only.

The same functions feed training, evaluation, the Raspberry Pi runtime and the reference for the
q15 device frontend, so they import nothing but NumPy (the runtime extra has no librosa).
They agree with librosa 0.11 under the same parameters (see ``tests/features``).
"""

from __future__ import annotations

import functools

import numpy as np

from tinyaudio.errors import AudioError
from tinyaudio.features.config import FeatureConfig

_CHUNK = 256  # clips per vectorised block: bounds memory at ~100 MB for 1 s / 16 kHz clips


def hz_to_mel(freq: np.ndarray | float) -> np.ndarray:
    """Slaney mel scale: linear below 1 kHz, logarithmic above.

    Source: Slaney 1998, Auditory Toolbox; ``librosa.hz_to_mel(htk=False)``.
    """
    freq = np.asarray(freq, dtype=np.float64)
    f_sp = 200.0 / 3
    min_log_hz, logstep = 1000.0, np.log(6.4) / 27.0
    mels = freq / f_sp
    log_part = min_log_hz / f_sp + np.log(np.maximum(freq, 1e-10) / min_log_hz) / logstep
    return np.where(freq >= min_log_hz, log_part, mels)


def mel_to_hz(mels: np.ndarray | float) -> np.ndarray:
    """Inverse of `hz_to_mel` (Slaney scale)."""
    mels = np.asarray(mels, dtype=np.float64)
    f_sp = 200.0 / 3
    min_log_hz, logstep = 1000.0, np.log(6.4) / 27.0
    min_log_mel = min_log_hz / f_sp
    return np.where(mels >= min_log_mel, min_log_hz * np.exp(logstep * (mels - min_log_mel)), f_sp * mels)


@functools.lru_cache(maxsize=32)
def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, fmin: float, fmax: float | None) -> np.ndarray:
    """Triangular mel filters with Slaney area normalisation.

    Returns:
        float64 array, shape (n_mels, n_fft // 2 + 1); row m weights FFT bins of band m.

    Source: ``librosa.filters.mel(htk=False, norm="slaney")``.
    """
    fmax = sample_rate / 2 if fmax is None else fmax
    fft_freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2 : n_mels + 2] - mel_f[:n_mels]))[:, None]
    weights.setflags(write=False)
    return weights


@functools.lru_cache(maxsize=32)
def dct_matrix(n_mfcc: int, n_mels: int) -> np.ndarray:
    """Orthonormal DCT-II basis, shape (n_mfcc, n_mels): ``mfcc = dct_matrix @ log_mel``.

    Source: ``scipy.fft.dct(type=2, norm="ortho")``, as used by ``librosa.feature.mfcc``.
    """
    n = np.arange(n_mels)
    k = np.arange(n_mfcc)[:, None]
    basis = np.cos(np.pi * k * (2 * n + 1) / (2 * n_mels)) * np.sqrt(2.0 / n_mels)
    basis[0] *= np.sqrt(0.5)
    basis.setflags(write=False)
    return basis


@functools.lru_cache(maxsize=32)
def analysis_window(window: str, win_length: int, n_fft: int) -> np.ndarray:
    """Periodic window of ``win_length`` zero-padded to ``n_fft`` and centred (librosa ``pad_center``)."""
    n = np.arange(win_length)
    if window == "hann":
        w = 0.5 - 0.5 * np.cos(2 * np.pi * n / win_length)
    elif window == "hamming":
        w = 0.54 - 0.46 * np.cos(2 * np.pi * n / win_length)
    else:
        w = np.ones(win_length)
    left = (n_fft - win_length) // 2
    out = np.zeros(n_fft)
    out[left : left + win_length] = w
    out.setflags(write=False)
    return out


def check_samples(samples: np.ndarray, *, name: str = "samples") -> np.ndarray:
    """Return ``samples`` as float array after checking it is 1-D or 2-D, non-empty and finite.

    Raises:
        AudioError: empty, more than 2-D, or containing NaN / inf (naming ``name``).
    """
    samples = np.asarray(samples)
    if samples.ndim not in (1, 2) or samples.shape[-1] == 0:
        raise AudioError(f"{name}: expected mono audio of shape (n_samples,) or (batch, n_samples), got {samples.shape}")
    if not np.issubdtype(samples.dtype, np.floating):
        raise AudioError(f"{name}: expected float audio in [-1, 1], got dtype {samples.dtype}; decode with tinyaudio.data.load_audio")
    if not np.all(np.isfinite(samples)):
        raise AudioError(f"{name}: contains NaN or inf; the recording is corrupt, drop or re-record it")
    return samples


def power_spectrogram(samples: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """|STFT|**power of one clip or a batch.

    Args:
        samples: float audio at ``config.sample_rate``, shape (n_samples,) or (batch, n_samples).
        config: n_fft, win_length, hop_length (samples), window, center, power.

    Returns:
        float64 array, shape (..., n_frames, n_fft // 2 + 1).

    Raises:
        AudioError: bad samples (see `check_samples`) or fewer than n_fft samples.

    Source: framing and windowing as ``librosa.stft`` (``pad_mode="constant"``).
    """
    samples = check_samples(samples).astype(np.float64, copy=False)
    if config.center:
        pad = [(0, 0)] * (samples.ndim - 1) + [(config.n_fft // 2, config.n_fft // 2)]
        samples = np.pad(samples, pad)
    if samples.shape[-1] < config.n_fft:
        raise AudioError(f"samples: {samples.shape[-1]} samples is shorter than one frame (n_fft={config.n_fft})")
    frames = np.lib.stride_tricks.sliding_window_view(samples, config.n_fft, axis=-1)[..., :: config.hop_length, :]
    spectrum = np.abs(np.fft.rfft(frames * analysis_window(config.window, config.win_length, config.n_fft), axis=-1))
    return spectrum**2 if config.power == 2.0 else spectrum**config.power


def power_to_db(spec: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """``10 * log10(max(log_floor, spec))``, then clipped to ``max - top_db`` per clip if set.

    Source: ``librosa.power_to_db(ref=1.0, amin=log_floor, top_db=top_db)``.
    """
    db = 10.0 * np.log10(np.maximum(config.log_floor, spec))
    if config.top_db is not None:
        peak = db.max(axis=(-2, -1), keepdims=True)
        db = np.maximum(db, peak - config.top_db)
    return db


def compute_features(samples: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """Features of one clip or a batch of equal-length clips: the one frontend everything uses.

    Args:
        samples: float audio in [-1, 1] at ``config.sample_rate``, shape (n_samples,) or
            (batch, n_samples). Clips of ``config.n_samples`` give ``config.shape`` per clip;
            longer input gives more frames (streaming).
        config: the `FeatureConfig` saved with the model.

    Returns:
        float32 array, shape (..., n_frames, n_features): dB-scaled power spectrogram
        (``"spectrogram"``), mel power in dB (``"logmel"``) or its DCT-II (``"mfcc"``).
        The ``_q15`` kinds return the device's q15 CMSIS-DSP features in the same units:
        ``q15_to_float(compute_features_q15(float_to_q15(samples), config), config)`` of
        `tinyaudio.features.q15`, exactly what the board computes from 16-bit audio.

    Raises:
        AudioError: empty, NaN / inf, integer dtype, or shorter than one frame.
        ImportError: a ``_q15`` kind without the ``cmsisdsp`` package (``tinyaudio[mcu]``).

    Source: ``librosa.feature.mfcc(S=librosa.power_to_db(librosa.feature.melspectrogram(...)))``;
    ``_q15`` kinds: ``arm_mfcc_q15`` of CMSIS-DSP 1.10 (see `tinyaudio.features.q15`).
    """
    if config.kind.endswith("_q15"):
        # Lazy: the q15 frontend needs cmsisdsp (the mcu extra); this module imports only NumPy.
        from tinyaudio.features.q15 import compute_features_q15, float_to_q15, q15_to_float

        samples = check_samples(samples)
        return q15_to_float(compute_features_q15(float_to_q15(samples), config), config)
    spec = power_spectrogram(samples, config)
    if config.kind != "spectrogram":
        bank = mel_filterbank(config.sample_rate, config.n_fft, config.n_mels, config.fmin, config.fmax)
        spec = spec @ bank.T
    feats = power_to_db(spec, config)
    if config.kind == "mfcc":
        feats = feats @ dct_matrix(config.n_mfcc, config.n_mels).T
    if config.normalization == "clip":
        feats = feats - feats.mean(axis=-2, keepdims=True)
        feats = feats / (feats.std(axis=(-2, -1), keepdims=True) + 1e-5)
    return feats.astype(np.float32)


def compute_features_batch(clips: np.ndarray, config: FeatureConfig, *, progress: bool = False) -> np.ndarray:
    """Features of many clips, vectorised in blocks of 256 clips, with an optional rich progress bar.

    Args:
        clips: float32, shape (n_clips, config.n_samples).

    Returns:
        float32, shape (n_clips, n_frames, n_features).
    """
    clips = np.asarray(clips)
    if clips.ndim != 2:
        raise AudioError(f"clips: expected shape (n_clips, n_samples), got {clips.shape}")
    out = np.empty((len(clips), *compute_features(clips[:1], config).shape[1:]), dtype=np.float32)
    starts = range(0, len(clips), _CHUNK)
    if progress and len(clips) > _CHUNK:
        from rich.progress import track

        starts = track(starts, description=f"{config.kind} features", transient=True)
    for start in starts:
        out[start : start + _CHUNK] = compute_features(clips[start : start + _CHUNK], config)
    return out
