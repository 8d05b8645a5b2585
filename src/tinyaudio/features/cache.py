"""Features of a whole dataset split, cached on disk by config and file contents."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from tinyaudio._io import write_bytes_atomic
from tinyaudio.data.dataset import Clip, load_clips
from tinyaudio.paths import cache_root
from tinyaudio.features.config import FeatureConfig
from tinyaudio.features.extract import compute_features_batch


def clips_digest(clips: Sequence[Clip]) -> str:
    """SHA-256 (hex) of the bytes of every clip's file, its offset and gain, in order: a cache key
    part that changes when a recording is edited (a missing file contributes its path)."""
    h = hashlib.sha256()
    for clip in clips:
        try:
            h.update(hashlib.sha1(Path(clip.path).read_bytes()).digest())
        except OSError:
            h.update(str(clip.path).encode())  # missing file: load_clips raises or skips it
        h.update(f"{clip.offset}:{clip.gain}".encode())
    return h.hexdigest()


def _cache_key(clips: Sequence[Clip], config: FeatureConfig, skip_bad: bool) -> str:
    h = hashlib.sha256(config.to_json().encode())
    h.update(b"skip" if skip_bad else b"strict")
    h.update(clips_digest(clips).encode())
    return h.hexdigest()[:32]


def dataset_features(
    clips: Sequence[Clip],
    config: FeatureConfig,
    *,
    skip_bad: bool = False,
    cache_dir: str | os.PathLike | None = None,
    progress: bool = True,
) -> tuple[np.ndarray, list[Clip], list[tuple[Clip, str]]]:
    """Decode ``clips`` and compute their features, reusing a disk cache when possible.

    The cache key is a hash of the `FeatureConfig` and the bytes of every file (plus clip offset
    and gain), so editing a recording or a setting recomputes; the cache file is written
    atomically under ``cache_dir or cache_root()/features``.

    Returns:
        ``(features, kept, bad)``: float32 (len(kept), n_frames, n_features), the clips used,
        and ``(clip, message)`` for clips skipped as unreadable (only when ``skip_bad``).

    Raises:
        AudioError: an unreadable clip when ``skip_bad`` is False.
    """
    folder = Path(cache_dir) if cache_dir is not None else cache_root() / "features"
    path = folder / f"{_cache_key(clips, config, skip_bad)}.npz"
    if path.exists():
        with np.load(path) as data:
            kept_idx = data["kept"]
            kept = [clips[i] for i in kept_idx]
            kept_set = set(kept_idx.tolist())
            bad = [(c, str(m)) for c, m in zip([c for i, c in enumerate(clips) if i not in kept_set], data["bad"])]
            return data["features"], kept, bad
    samples, kept, bad = load_clips(clips, config.sample_rate, config.n_samples, skip_bad=skip_bad, progress=progress,
                                    pad=config.pad)
    features = compute_features_batch(samples, config, progress=progress)
    index = {id(c): i for i, c in enumerate(clips)}
    buf = io.BytesIO()
    np.savez(buf, features=features, kept=np.array([index[id(c)] for c in kept], dtype=np.int64),
             bad=np.array([m for _, m in bad], dtype=str))
    write_bytes_atomic(path, buf.getvalue())
    return features, kept, bad
