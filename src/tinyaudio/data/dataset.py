"""The record types every loader returns: `Clip` (one file) and `Dataset` (labelled, split clips)."""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections import Counter
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from tinyaudio.data.audio import fix_length, load_audio
from tinyaudio.errors import AudioError, ConfigError, DatasetError
from tinyaudio.paths import data_root

SPLITS = ("train", "validation", "test")


@dataclasses.dataclass(frozen=True)
class Clip:
    """One labelled recording (or a window of one).

    Attributes:
        path: audio file.
        label: class name.
        speaker: speaker (or source-recording) id; splits never share one.
        split: ``"train"``, ``"validation"`` or ``"test"``.
        offset: seconds into the file where the clip starts (background-noise windows).
        gain: factor applied to the samples (silence clips drawn from noise).
    """

    path: Path
    label: str
    speaker: str
    split: str
    offset: float = 0.0
    gain: float = 1.0

    def load(self, sample_rate: int, n_samples: int, *, pad: str = "end") -> np.ndarray:
        """Decode, resample and pad / crop to ``n_samples`` (`fix_length` with ``pad``); float32, shape (n_samples,)."""
        duration = n_samples / sample_rate if self.offset else None
        samples = load_audio(self.path, sample_rate, offset=self.offset, duration=duration)
        samples = fix_length(samples, n_samples, pad=pad)
        return samples * np.float32(self.gain) if self.gain != 1.0 else samples


@dataclasses.dataclass(frozen=True)
class Dataset:
    """Clips with labels and a train / validation / test assignment.

    Attributes:
        name: e.g. ``"fsdd"``.
        labels: class names in model-output order.
        clips: every clip, each with its split.
    """

    name: str
    labels: tuple[str, ...]
    clips: tuple[Clip, ...]

    def split(self, name: str) -> list[Clip]:
        """Clips of one split (``"train"``, ``"validation"``, ``"test"``)."""
        if name not in SPLITS:
            raise ConfigError(f"unknown split {name!r}; use one of {SPLITS}")
        return [c for c in self.clips if c.split == name]

    def label_index(self, label: str) -> int:
        """Position of ``label`` in `labels`; `DatasetError` names the known labels if absent."""
        try:
            return self.labels.index(label)
        except ValueError:
            raise DatasetError(f"unknown label {label!r}; this dataset has {list(self.labels)}") from None

    def counts(self) -> dict[str, dict[str, int]]:
        """``{split: {label: n_clips}}``."""
        out: dict[str, dict[str, int]] = {}
        for split in SPLITS:
            c = Counter(clip.label for clip in self.split(split))
            out[split] = {label: c.get(label, 0) for label in self.labels}
        return out

    def speakers(self, split: str) -> set[str]:
        return {c.speaker for c in self.split(split)}

    def binary(self, keyword: str) -> Dataset:
        """One-vs-rest copy: ``keyword`` stays, every other label becomes ``"_other_"``.

        Labels come out as ``("_other_", keyword)`` so class 1 is the keyword (sigmoid output).
        """
        self.label_index(keyword)
        clips = tuple(dataclasses.replace(c, label=c.label if c.label == keyword else "_other_") for c in self.clips)
        return Dataset(f"{self.name}:{keyword}", ("_other_", keyword), clips)


def stable_split(key: str, validation_percent: float, test_percent: float, *, salt: str = "") -> str:
    """Assign ``key`` (a speaker id) to a split by a hash of it, stable across runs and machines.

    ``salt`` is prepended to the key; the empty default reproduces TensorFlow's assignment.

    Source: ``which_set`` in TensorFlow's speech_commands ``input_data.py`` (SHA-1 of the id,
    modulo 2**27, as a percentage).
    """
    max_per_class = 2**27 - 1
    digest = int(hashlib.sha1((salt + key).encode()).hexdigest(), 16)
    percent = (digest % (max_per_class + 1)) * (100.0 / max_per_class)
    if percent < validation_percent:
        return "validation"
    if percent < validation_percent + test_percent:
        return "test"
    return "train"


def load_clips(
    clips: Sequence[Clip], sample_rate: int, n_samples: int, *, skip_bad: bool = False, progress: bool = False,
    pad: str = "end",
) -> tuple[np.ndarray, list[Clip], list[tuple[Clip, str]]]:
    """Decode many clips into one array.

    Args:
        clips: clips to read.
        sample_rate: Hz; n_samples: samples per clip after pad / crop.
        pad: how a shorter clip is filled (`tinyaudio.data.audio.fix_length`).
        skip_bad: if True, a clip that raises `AudioError` is left out and reported;
            if False (default) the first bad clip raises.

    Returns:
        ``(samples, kept, bad)``: float32 array (len(kept), n_samples), the clips read, and
        ``(clip, error message)`` for each skipped clip.

    Raises:
        AudioError: a bad file when ``skip_bad`` is False.
    """
    out = np.zeros((len(clips), n_samples), dtype=np.float32)
    kept: list[Clip] = []
    bad: list[tuple[Clip, str]] = []
    items: Iterable[Clip] = clips
    if progress and len(clips) > 200:
        from rich.progress import track

        items = track(clips, description="decoding audio", transient=True)
    for clip in items:
        try:
            out[len(kept)] = clip.load(sample_rate, n_samples, pad=pad)
        except AudioError as exc:
            if not skip_bad:
                raise
            bad.append((clip, str(exc)))
            continue
        kept.append(clip)
    return out[: len(kept)], kept, bad


def resolve_root(folder_names: Sequence[str], root: str | os.PathLike | None, dataset: str) -> Path | None:
    """Find a local copy: ``root`` itself (or ``root/<name>``), then ``$TINYAUDIO_DATA/<name>``.

    Returns None when no local copy exists (the caller then downloads).

    Raises:
        DatasetError: an explicit ``root`` that does not exist.
    """
    if root is not None:
        root = Path(root)
        if not root.exists():
            raise DatasetError(f"{root}: {dataset} folder does not exist; check --data-dir")
        for name in folder_names:
            if (root / name).is_dir():
                return root / name
        return root
    env = data_root()
    if env is not None:
        for name in folder_names:
            if (env / name).is_dir():
                return env / name
    return None
