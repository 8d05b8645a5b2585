"""Float frontend: STFT spectrogram, log-mel and MFCC in NumPy only.

The same functions feed training, evaluation, the Raspberry Pi runtime and the reference for the
q15 device frontend, so they import nothing but NumPy (the runtime extra has no librosa).
They agree with librosa 0.11 under the same parameters (see ``tests/features``).
"""

from __future__ import annotations

import numpy as np

from tinyaudio.data.audio import check_audio
from tinyaudio.errors import AudioError
from tinyaudio.features.config import FeatureConfig
from tinyaudio.features.filters import analysis_window, dct_matrix, hz_to_mel, mel_filterbank, mel_to_hz
from tinyaudio.features.q15 import compute_features_q15, float_to_q15, q15_to_float

__all__ = [
    "analysis_window", "compute_features", "compute_features_batch", "dct_matrix", "frames_to_features",
    "hz_to_mel", "mel_filterbank", "mel_to_hz", "power_spectrogram", "spectrum_to_db",
]

#: ``normalization="cmn"``: frames within this many dB (mean over bands) of a window's loudest
#: frame are its active frames, whose mean is removed (padding and pauses sit far below).
CMN_ACTIVE_DB = 30.0
_CHUNK = 256  # clips per vectorised block: bounds memory at ~100 MB for 1 s / 16 kHz clips


def power_spectrogram(samples: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """|STFT|**power of one clip or a batch.

    Args:
        samples: float audio at ``config.sample_rate``, shape (n_samples,) or (batch, n_samples).
        config: n_fft, win_length, hop_length (samples), window, center, power.

    Returns:
        float64 array, shape (..., n_frames, n_fft // 2 + 1).

    Raises:
        AudioError: bad samples (see `tinyaudio.data.check_audio`) or fewer than n_fft samples.

    Source: framing and windowing as ``librosa.stft`` (``pad_mode="constant"``).
    """
    samples = check_audio(samples, ndim=(1, 2)).astype(np.float64, copy=False)
    if config.center:
        pad = [(0, 0)] * (samples.ndim - 1) + [(config.n_fft // 2, config.n_fft // 2)]
        samples = np.pad(samples, pad)
    if samples.shape[-1] < config.n_fft:
        raise AudioError(f"samples: {samples.shape[-1]} samples is shorter than one frame (n_fft={config.n_fft})")
    frames = np.lib.stride_tricks.sliding_window_view(samples, config.n_fft, axis=-1)[..., :: config.hop_length, :]
    spectrum = np.abs(np.fft.rfft(frames * analysis_window(config.window, config.win_length, config.n_fft), axis=-1))
    return spectrum**2 if config.power == 2.0 else spectrum**config.power


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
    if config.kind.endswith("_q15"):  # cmsisdsp is imported only here (the mcu extra)
        samples = check_audio(samples, ndim=(1, 2))
        return q15_to_float(compute_features_q15(float_to_q15(samples), config), config)
    return frames_to_features(spectrum_to_db(power_spectrogram(samples, config), config), config)


def spectrum_to_db(spec: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """Per-frame power in dB: the mel filters (unless ``kind == "spectrogram"``), then ``10 log10``.

    Args:
        spec: power spectrum, shape (..., n_frames, n_fft // 2 + 1), as `power_spectrogram` returns.

    Returns:
        float64, shape (..., n_frames, n_mels) (or n_fft // 2 + 1 bins for spectrograms):
        ``10 * log10(max(log_floor, power))``. Frames are independent: the streaming frontend
        calls this on new frames only.
    """
    if config.base_kind != "spectrogram":
        spec = spec @ mel_filterbank(config.sample_rate, config.n_fft, config.n_mels, config.fmin, config.fmax).T
    return 10.0 * np.log10(np.maximum(config.log_floor, spec))


def frames_to_features(db: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """The end of the float frontend, shared by offline and streaming features: dB frames -> features.

    Args:
        db: shape (..., n_frames, n_stage) from `spectrum_to_db`; the last two axes are one window.

    Returns:
        float32, shape (..., n_frames, config.n_features): ``top_db`` clipping against the
        window's peak, the DCT-II for ``mfcc``, then ``normalization == "clip"`` (per-window mean
        over frames removed, divided by the window's standard deviation) or ``"cmn"`` (each
        coefficient's mean over the window's active frames removed: those whose mean level is
        within `CMN_ACTIVE_DB` of the window's loudest frame, so zero padding and pauses do not
        dilute it).

    Source: ``librosa.power_to_db(top_db=...)`` and ``librosa.feature.mfcc`` (DCT-II, ortho);
    cepstral mean normalisation: Atal 1974, "Effectiveness of linear prediction characteristics of
    the speech wave for automatic speaker identification and verification", JASA 55 (a fixed
    microphone or line response is a constant added to every log-spectral frame, removed with
    the mean); the frames are chosen by an energy rule relative to the loudest frame, in the
    spirit of Kaldi's ``compute-vad`` (log-energy threshold) before speaker-recognition features.
    """
    if config.top_db is not None:
        db = np.maximum(db, db.max(axis=(-2, -1), keepdims=True) - config.top_db)
    feats = db @ dct_matrix(config.n_mfcc, config.n_mels).T if config.kind == "mfcc" else db
    if config.normalization == "clip":
        feats = feats - feats.mean(axis=-2, keepdims=True)
        feats = feats / (feats.std(axis=(-2, -1), keepdims=True) + 1e-5)
    elif config.normalization == "cmn":
        level = db.mean(axis=-1, keepdims=True)  # (..., n_frames, 1): each frame's mean dB
        active = level >= level.max(axis=-2, keepdims=True) - CMN_ACTIVE_DB
        feats = feats - (feats * active).sum(axis=-2, keepdims=True) / active.sum(axis=-2, keepdims=True)
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
