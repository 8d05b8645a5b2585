"""Decode audio files: soundfile -> mono -> soxr resample -> pad / crop."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

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


def stream_audio(path: str | os.PathLike, sample_rate: int, *, chunk_frames: int = 1 << 16) -> Iterator[np.ndarray]:
    """Read an audio file in chunks, as mono float32 at ``sample_rate``, never the whole file at once.

    The same decoding, checks and soxr ``"HQ"`` resampling as `load_audio` (a streaming
    resampler, so chunk borders leave no trace), for hour-long recordings.

    Yields:
        float32 arrays of about ``chunk_frames * sample_rate / file_rate`` samples.

    Raises:
        AudioError: as `load_audio`, naming the file (an empty file, NaN / inf in any chunk).
    """
    import soundfile as sf

    path = Path(path)
    if not path.is_file():
        raise AudioError(f"{path}: file not found; check the path or re-download the dataset")
    try:
        f = sf.SoundFile(str(path))
    except (sf.LibsndfileError, RuntimeError, ValueError, OSError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise AudioError(f"{path}: cannot decode audio ({msg}); the file is corrupt or not audio, re-download or delete it") from None
    with f:
        if f.frames == 0:
            raise AudioError(f"{path}: no audio samples (empty file); re-record or delete it")
        resampler = None
        if f.samplerate != sample_rate:
            import soxr

            resampler = soxr.ResampleStream(f.samplerate, sample_rate, 1, dtype="float32", quality="HQ")
        while True:
            try:
                data = f.read(frames=chunk_frames, dtype="float32", always_2d=True)
            except (sf.LibsndfileError, RuntimeError, ValueError) as exc:
                raise AudioError(f"{path}: cannot decode audio ({str(exc).splitlines()[0]}); the file is corrupt") from None
            last = len(data) < chunk_frames
            if not np.all(np.isfinite(data)):
                raise AudioError(f"{path}: contains NaN or inf samples; the recording is corrupt, re-record or delete it")
            mono = np.ascontiguousarray(data.mean(axis=1) if data.shape[1] > 1 else data[:, 0], dtype=np.float32)
            out = resampler.resample_chunk(mono, last=last) if resampler is not None else mono
            if len(out):
                yield out
            if last:
                return


def window_levels(samples: np.ndarray, sample_rate: int, window_s: float, hop_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Start sample and RMS level of every whole window of a recording.

    Args:
        samples: mono float32 audio, shape (n_samples,), in [-1, 1].
        sample_rate: Hz.
        window_s, hop_s: window length and hop in seconds (rounded to whole samples).

    Returns:
        ``(starts, levels_db)``: int64 start samples and float64 levels in dBFS,
        ``10 * log10(mean(window ** 2) + 1e-12)``, one per window. A recording shorter than
        one window gives one window at 0 over the samples there are (it is zero-padded on load).

    Raises:
        AudioError: samples empty or not 1-D.
    """
    samples = np.asarray(samples, dtype=np.float64)
    if samples.ndim != 1 or samples.size == 0:
        raise AudioError(f"samples: expected non-empty mono audio of shape (n_samples,), got shape {samples.shape}")
    win = max(1, int(round(window_s * sample_rate)))
    hop = max(1, int(round(hop_s * sample_rate)))
    if len(samples) <= win:
        starts = np.zeros(1, dtype=np.int64)
    else:
        starts = np.arange(0, len(samples) - win + 1, hop, dtype=np.int64)
    power = np.concatenate([[0.0], np.cumsum(samples**2)])
    ends = np.minimum(starts + win, len(samples))
    mean_power = (power[ends] - power[starts]) / win
    return starts, 10.0 * np.log10(mean_power + 1e-12)


#: How `fix_length` fills a clip shorter than ``n_samples``.
PADS = ("end", "centre", "end_zero_mean")
#: RMS of the noise floor ``pad="centre"`` puts around a short clip, dBFS: a quiet room's level,
#: the level around a word in a Speech Commands clip.
PAD_NOISE_DBFS = -60.0


def fix_length(samples: np.ndarray, n_samples: int, *, pad: str = "end",
               noise_dbfs: float | None = PAD_NOISE_DBFS) -> np.ndarray:
    """Crop the tail, or fill, so the clip has exactly ``n_samples``.

    Args:
        samples: float32 (n,).
        n_samples: length wanted.
        pad: for a shorter clip: ``"end"``, trailing zeros (digital silence); ``"centre"``, the
            clip centred on white noise at ``noise_dbfs`` (the same seeded noise every time), so a
            tightly trimmed recording (an FSDD digit) looks like a word recorded in a quiet room,
            as a microphone delivers it; ``"end_zero_mean"``, the clip's mean (its DC offset)
            subtracted, then trailing zeros, so a recording with a DC offset does not end in a
            step (a click) where the zeros begin (Kaldi removes the DC offset likewise,
            ``--remove-dc-offset``, default true, though per frame; an always-listening frontend
            never pads and sees no step). A longer clip is cropped, then its mean removed.
        noise_dbfs: RMS of the ``"centre"`` noise floor, dBFS; None centres the clip on digital silence.

    Returns:
        float32 array, shape (n_samples,).

    Raises:
        ValueError: ``pad`` is not one of `PADS`.
    """
    samples = np.asarray(samples, dtype=np.float32)
    if pad not in PADS:
        raise ValueError(f"pad={pad!r} is not one of {PADS}")
    if pad == "end_zero_mean" and len(samples):
        samples = samples[:n_samples] - np.float32(samples[:n_samples].mean())
    if len(samples) >= n_samples:
        return samples[:n_samples]
    if pad in ("end", "end_zero_mean"):
        return np.pad(samples, (0, n_samples - len(samples)))
    out = (np.zeros(n_samples, dtype=np.float32) if noise_dbfs is None else
           np.random.default_rng(0).standard_normal(n_samples).astype(np.float32) * np.float32(10 ** (noise_dbfs / 20)))
    start = (n_samples - len(samples)) // 2
    out[start : start + len(samples)] += samples
    return out


def check_audio(samples: object, *, name: str = "samples", ndim: tuple[int, ...] = (1,)) -> np.ndarray:
    """The one check of audio arrays handed to tinyaudio (frontends, augmentation, streaming).

    Args:
        samples: float audio in [-1, 1]: shape (n_samples,) for one clip, (n_clips, n_samples)
            for a batch of equal-length clips.
        name: what to call the array in the error (a file name, ``"stream block"``).
        ndim: the accepted numbers of dimensions.

    Returns:
        ``samples`` as a NumPy float array (dtype kept: float32 or float64).

    Raises:
        AudioError: wrong number of dimensions (stereo gets a hint), no samples, integer dtype,
            or NaN / inf (naming the first bad clip of a batch).
    """
    samples = np.asarray(samples)
    if samples.ndim not in ndim:
        shapes = " or ".join({1: "(n_samples,)", 2: "(n_clips, n_samples)"}[d] for d in ndim)
        hint = "; mix channels to mono first (samples.mean(axis=0) for (channels, n_samples))" if ndim == (1,) and samples.ndim == 2 else ""
        raise AudioError(f"{name}: expected mono audio of shape {shapes}, got shape {samples.shape}{hint}")
    if samples.size == 0:
        raise AudioError(f"{name}: no samples (empty array, shape {samples.shape}); drop the clip or pad it with tinyaudio.data.fix_length")
    if not np.issubdtype(samples.dtype, np.floating):
        raise AudioError(f"{name}: expected float audio in [-1, 1], got dtype {samples.dtype}; decode with tinyaudio.data.load_audio")
    finite = np.isfinite(samples)
    if not finite.all():
        if samples.ndim == 2:
            bad = np.flatnonzero(~finite.all(axis=1))
            raise AudioError(f"{name}[{bad[0]}]: contains NaN or inf ({bad.size} bad clips); drop or re-record them")
        raise AudioError(f"{name}: contains NaN or inf; the recording is corrupt, drop or re-record it")
    return samples
