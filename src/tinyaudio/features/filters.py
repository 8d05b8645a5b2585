"""Filter banks and windows of the frontends: mel scale, mel filters, DCT-II, analysis windows.

NumPy only; shared by the float frontend (`tinyaudio.features.extract`), the q15 device
frontend (`tinyaudio.features.q15`) and its configuration checks.
"""

from __future__ import annotations

import functools

import numpy as np


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
