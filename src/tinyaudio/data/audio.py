"""Decode audio files: soundfile -> mono -> soxr resample -> pad / crop."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from tinyaudio.errors import AudioError


def load_audio(
    path: str | os.PathLike,
    sample_rate: int,
    *,
    offset: float = 0.0,
    duration: float | None = None,
    resample: bool = True,
) -> np.ndarray:
    """Read an audio file as mono float32 at ``sample_rate``.

    Args:
        path: any format libsndfile reads (wav, flac, ogg).
        sample_rate: target rate in Hz.
        offset: seconds to skip from the start (in the file's own rate).
        duration: seconds to read; None reads to the end.
        resample: if False, a file at another rate raises `AudioError` instead of being
            resampled with soxr (``"HQ"`` quality).

    Returns:
        float32 array, shape (n_samples,), in [-1, 1]; channels are averaged to mono.

    Raises:
        AudioError: the file is missing, unreadable or corrupt, has no samples, contains
            NaN / inf, or (with ``resample=False``) has a different sample rate. The message
            names the file and what to do.
    """
    import soundfile as sf

    path = Path(path)
    if not path.is_file():
        raise AudioError(f"{path}: file not found; check the path or re-download the dataset")
    try:
        with sf.SoundFile(str(path)) as f:
            file_rate = f.samplerate
            start = int(round(offset * file_rate))
            if start:
                f.seek(min(start, f.frames))
            frames = -1 if duration is None else int(round(duration * file_rate))
            data = f.read(frames=frames, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, ValueError, OSError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise AudioError(f"{path}: cannot decode audio ({msg}); the file is corrupt or not audio, re-download or delete it") from None
    if data.size == 0:
        raise AudioError(f"{path}: no audio samples (empty file); re-record or delete it")
    if not np.all(np.isfinite(data)):
        raise AudioError(f"{path}: contains NaN or inf samples; the recording is corrupt, re-record or delete it")
    samples = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    if file_rate != sample_rate:
        if not resample:
            raise AudioError(
                f"{path}: sample rate is {file_rate} Hz but {sample_rate} Hz is required; "
                f"resample it (e.g. `sox in.wav -r {sample_rate} out.wav`)"
            )
        import soxr

        samples = soxr.resample(samples, file_rate, sample_rate, quality="HQ")
    return np.ascontiguousarray(samples, dtype=np.float32)


def fix_length(samples: np.ndarray, n_samples: int) -> np.ndarray:
    """Pad with trailing zeros or crop the tail so the clip has exactly ``n_samples``.

    Returns:
        float32 array, shape (n_samples,).
    """
    samples = np.asarray(samples, dtype=np.float32)
    if len(samples) >= n_samples:
        return samples[:n_samples]
    return np.pad(samples, (0, n_samples - len(samples)))
