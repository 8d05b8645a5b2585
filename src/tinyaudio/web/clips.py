"""A recording folder ``root/<label>/NNNN.wav``: list labels, validate and save uploads, delete takes.

Everything here is plain file handling with no web framework, so the rules (what a label may be
called, what a clip must look like) are tested without a server.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
import threading
from pathlib import Path

import numpy as np

from tinyaudio.errors import UploadError

LABEL_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$")
CLIP_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,100}\.wav$")
NUMBERED_RE = re.compile(r"^(\d{4,})\.wav$")
DEFAULT_SAMPLE_RATE = 16000

_write_lock = threading.Lock()



def check_label(label: str) -> str:
    """Return ``label`` if it is a safe folder name, else raise `UploadError`.

    A label is 1-64 characters from ``A-Z a-z 0-9 _ -`` and does not start with ``-``; so no
    ``/``, ``\\``, ``.`` or ``..`` can reach the file system.
    """
    if not isinstance(label, str) or not LABEL_RE.fullmatch(label):
        raise UploadError(
            f"label {label!r} refused: use 1-64 letters, digits, '_' or '-' (no '/', '.', spaces)"
        )
    return label


def _inside(root: Path, *parts: str) -> Path:
    """``root/parts`` resolved, refusing anything (a symlink, say) that lands outside root."""
    root = root.resolve()
    path = root.joinpath(*parts).resolve()
    if path.parent != root and root not in path.parents:
        raise UploadError(f"{'/'.join(parts)}: refused, resolves outside {root}")
    return path


def dataset_sample_rate(root: str | os.PathLike, default: int = DEFAULT_SAMPLE_RATE) -> int:
    """The sample rate of the first ``root/<label>/*.wav`` found, else ``default`` (Hz)."""
    import soundfile as sf

    root = Path(root)
    if root.is_dir():
        for label_dir in sorted(p for p in root.iterdir() if p.is_dir()):
            for wav in sorted(label_dir.glob("*.wav")):
                try:
                    return int(sf.info(str(wav)).samplerate)
                except (sf.LibsndfileError, RuntimeError):
                    continue
    return default


def list_labels(root: str | os.PathLike) -> list[dict]:
    """Labels under ``root``: ``[{"name": label, "clips": number of .wav files}]``, sorted by name."""
    root = Path(root)
    if not root.is_dir():
        return []
    out = []
    for d in sorted(p for p in root.iterdir() if p.is_dir() and LABEL_RE.fullmatch(p.name)):
        out.append({"name": d.name, "clips": sum(1 for _ in d.glob("*.wav"))})
    return out


def read_wav(data: bytes, *, sample_rate: int, max_seconds: float) -> np.ndarray:
    """Decode and check one uploaded clip.

    Args:
        data: the bytes of a WAV file (any PCM or float subtype).
        sample_rate: the rate in Hz the clip must have (the dataset's).
        max_seconds: longest clip accepted.

    Returns:
        float32 array, shape (n_samples,), in [-1, 1].

    Raises:
        UploadError: empty, not a WAV file, not mono, wrong sample rate, longer than
            ``max_seconds``, or containing NaN / inf.
    """
    import soundfile as sf

    if not data:
        raise UploadError("empty upload: no bytes received; record a clip first")
    try:
        with sf.SoundFile(io.BytesIO(data)) as f:
            fmt, rate, channels, frames = f.format, f.samplerate, f.channels, f.frames
            if fmt not in ("WAV", "WAVEX"):
                raise UploadError(f"not a WAV file (libsndfile reads it as {fmt}); upload a .wav clip")
            if frames == 0:
                raise UploadError("empty clip: the WAV file has no samples; record again")
            if channels != 1:
                raise UploadError(f"clip has {channels} channels; upload a mono WAV")
            if rate != sample_rate:
                raise UploadError(f"clip sample rate is {rate} Hz but this dataset is {sample_rate} Hz; resample it before upload")
            if frames > max_seconds * rate:
                raise UploadError(f"clip is too long: {frames / rate:.2f} s > {max_seconds:g} s; record a shorter take")
            samples = f.read(dtype="float32")
    except (sf.LibsndfileError, RuntimeError, ValueError, TypeError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UploadError(f"not a readable WAV file ({msg}); upload a .wav clip") from None
    if not np.all(np.isfinite(samples)):
        raise UploadError("clip contains NaN or inf samples; record again")
    return np.ascontiguousarray(samples, dtype=np.float32)


def next_clip_path(label_dir: Path) -> Path:
    """``label_dir/NNNN.wav`` numbered one above the highest ``NNNN.wav`` already there."""
    numbers = [int(m.group(1)) for p in label_dir.glob("*.wav") if (m := NUMBERED_RE.fullmatch(p.name))] if label_dir.is_dir() else []
    return label_dir / f"{max(numbers, default=0) + 1:04d}.wav"


def save_clip(root: str | os.PathLike, label: str, data: bytes, *, sample_rate: int, max_seconds: float = 2.0) -> Path:
    """Validate an uploaded WAV and write it as ``root/label/NNNN.wav`` (16-bit PCM, mono).

    The file is written under a temporary name in the label folder and renamed into place, so
    a reader never sees half a clip. Nothing is written (not even the label folder) when the
    clip or the label is refused.

    Returns:
        the path written.

    Raises:
        UploadError: bad label (see `check_label`) or bad clip (see `read_wav`).
    """
    import soundfile as sf

    check_label(label)
    root = Path(root)
    label_dir = _inside(root, label)
    samples = read_wav(data, sample_rate=sample_rate, max_seconds=max_seconds)
    with _write_lock:
        created = not label_dir.exists()
        label_dir.mkdir(parents=True, exist_ok=True)
        target = next_clip_path(label_dir)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".part", dir=label_dir)
        try:
            with os.fdopen(fd, "wb") as f:
                sf.write(f, samples, sample_rate, format="WAV", subtype="PCM_16")
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            if created and not any(label_dir.iterdir()):
                label_dir.rmdir()
            raise
    return target


def delete_clip(root: str | os.PathLike, label: str, name: str) -> Path:
    """Delete ``root/label/name`` (a ``.wav`` take).

    Raises:
        UploadError: bad label or file name, or no such clip.
    """
    check_label(label)
    if not CLIP_NAME_RE.fullmatch(name):
        raise UploadError(f"clip name {name!r} refused: expected a name like 0001.wav")
    path = _inside(Path(root), label, name)
    if not path.is_file():
        raise UploadError(f"{label}/{name}: no such clip")
    path.unlink()
    return path
