"""Where tinyaudio finds datasets and keeps its cache: the one place that reads the environment.

- ``TINYAUDIO_DATA``: a local dataset root (its README gives the layout); loaders look there
  before downloading.
- ``TINYAUDIO_CACHE``: downloads, feature caches, CMSIS-DSP sources and objects
  (default ``~/.cache/tinyaudio``).
"""

from __future__ import annotations

import os
from pathlib import Path

#: Folders that hold Speech Commands' ``_background_noise_`` clips, relative to a data or cache root.
BACKGROUND_NOISE_FOLDERS = (
    "speech_commands_background_noise",
    "speech_commands_v0.02/_background_noise_",
    "datasets/speech_commands/_background_noise_",
)


def data_root(data_dir: str | os.PathLike | None = None) -> Path | None:
    """``data_dir``, else ``$TINYAUDIO_DATA``, else None (the loaders then download)."""
    root = data_dir or os.environ.get("TINYAUDIO_DATA")
    return Path(root).expanduser() if root else None


def cache_root(cache_dir: str | os.PathLike | None = None) -> Path:
    """``cache_dir``, else ``$TINYAUDIO_CACHE``, else ``~/.cache/tinyaudio``."""
    return Path(cache_dir or os.environ.get("TINYAUDIO_CACHE") or Path.home() / ".cache" / "tinyaudio").expanduser()


def background_noise_dir(data_dir: str | os.PathLike | None = None) -> Path | None:
    """Speech Commands ``_background_noise_`` under the data root or the download cache, if present.

    Args:
        data_dir: a dataset root to look in first (default ``$TINYAUDIO_DATA``).

    Returns:
        the folder of noise WAVs, or None when neither root has one.
    """
    for root in (data_root(data_dir), cache_root()):
        if root is None:
            continue
        for sub in BACKGROUND_NOISE_FOLDERS:
            if (root / sub).is_dir():
                return root / sub
    return None
