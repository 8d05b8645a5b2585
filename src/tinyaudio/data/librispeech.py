"""LibriSpeech for speaker recognition: long read-speech utterances cut into fixed windows.

``{speaker}/{speaker}-{chapter}-{utt}.flac`` (the shared 10-speaker copy) or the official
``{speaker}/{chapter}/{speaker}-{chapter}-{utt}.flac`` tree. Labels are speakers; every window of
an utterance lands in the same split, so no utterance is heard on both sides.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from tinyaudio.data.dataset import Clip, Dataset, resolve_root
from tinyaudio.errors import DatasetError

_NAME = re.compile(r"^(\d+)-(\d+)-(\d+)$")
FOLDERS = ("librispeech_test-other_10spk", "LibriSpeech/test-other", "test-other", "librispeech")


def utterance_split(utterances: list[str], validation_percent: float, test_percent: float) -> dict[str, str]:
    """Split one speaker's utterance ids into train / validation / test.

    The ids are ordered by their SHA-1 (stable across runs and machines, unrelated to reading
    order); the first ``max(1, round(n * test_percent / 100))`` go to test, the next
    ``max(1, round(n * validation_percent / 100))`` to validation, the rest to train. A speaker
    with fewer than 3 utterances puts them all in train.

    Returns:
        ``{utterance_id: split}``.
    """
    ordered = sorted(utterances, key=lambda u: hashlib.sha1(u.encode()).hexdigest())
    n = len(ordered)
    if n < 3:
        return {u: "train" for u in ordered}
    n_test = max(1, round(n * test_percent / 100)) if test_percent > 0 else 0
    n_val = max(1, round(n * validation_percent / 100)) if validation_percent > 0 else 0
    n_test, n_val = min(n_test, n - 1), min(n_val, max(0, n - 1 - n_test))
    split = {}
    for i, u in enumerate(ordered):
        split[u] = "test" if i < n_test else "validation" if i < n_test + n_val else "train"
    return split


def window_offsets(duration_s: float, window_s: float, hop_s: float) -> list[float]:
    """Start times (s) of the windows cut from one file of ``duration_s`` seconds.

    Windows are ``window_s`` long, ``hop_s`` apart, and end inside the file; a file shorter than
    one window gives a single window at 0 (zero-padded on load). The tail shorter than a
    window is dropped.
    """
    if duration_s <= window_s:
        return [0.0]
    n = int((duration_s - window_s) // hop_s) + 1
    return [round(i * hop_s, 3) for i in range(n)]


def librispeech(
    root: str | os.PathLike | None = None,
    *,
    label_by: str = "speaker",
    window_s: float = 1.0,
    hop_s: float | None = None,
    train_hop_s: float | None = None,
    validation_percent: float = 10.0,
    test_percent: float = 20.0,
    download: bool = True,
) -> Dataset:
    """LibriSpeech utterances cut into ``window_s`` windows, labelled by speaker, split by utterance.

    Args:
        root: the folder holding the speaker folders (or a parent with one of `FOLDERS`);
            default ``$TINYAUDIO_DATA/librispeech_test-other_10spk``, else a download of
            test-other (33 speakers).
        label_by: ``"speaker"`` (the only labelling: LibriSpeech has no word classes here).
        window_s: window length in seconds (1-3 s); match the FeatureConfig ``clip_duration``,
            since a clip loads ``clip_duration`` seconds from its offset.
        hop_s: seconds between window starts in validation and test; default ``window_s``
            (no overlap).
        train_hop_s: the same for train; default ``window_s / 2`` (half-overlapping windows
            double the training examples; no window crosses into another split).
        validation_percent, test_percent: share of each speaker's utterances (`utterance_split`).
        download: fetch test-other if no local copy exists.

    Returns:
        `Dataset` named ``"librispeech"``; labels are the speaker ids sorted as strings; each
        `Clip` has ``offset`` = window start and ``speaker`` = the speaker id.

    Raises:
        DatasetError: no ``{speaker}-{chapter}-{utt}.flac`` files, or a bad ``label_by`` /
            window setting.

    Source: Panayotov et al. 2015, "LibriSpeech: an ASR corpus based on public domain audio
    books", ICASSP; openslr.org/12.
    """
    if label_by != "speaker":
        raise DatasetError(f"librispeech label_by={label_by!r}: only 'speaker' is supported")
    hop_s = window_s if hop_s is None else hop_s
    train_hop_s = window_s / 2 if train_hop_s is None else train_hop_s
    if min(window_s, hop_s, train_hop_s) <= 0:
        raise DatasetError(f"librispeech: window_s, hop_s and train_hop_s must be positive, got {window_s}, {hop_s}, {train_hop_s}")
    base = resolve_root(FOLDERS, root, "librispeech")
    if base is None:
        if not download:
            raise DatasetError("no local copy of librispeech: pass --data-dir, set TINYAUDIO_DATA, or allow the download")
        from tinyaudio.data.download import fetch_dataset

        base = fetch_dataset("librispeech_test_other")
    import soundfile as sf

    files = sorted(p for p in Path(base).rglob("*.flac") if _NAME.match(p.stem))
    if not files:
        raise DatasetError(f"{base}: no LibriSpeech files named {{speaker}}/{{speaker}}-{{chapter}}-{{utt}}.flac found")
    by_speaker: dict[str, list[Path]] = {}
    for path in files:
        by_speaker.setdefault(_NAME.match(path.stem).group(1), []).append(path)
    clips = []
    for speaker, paths in sorted(by_speaker.items()):
        splits = utterance_split([p.stem for p in paths], validation_percent, test_percent)
        for path in paths:
            split = splits[path.stem]
            hop = train_hop_s if split == "train" else hop_s
            for offset in window_offsets(sf.info(str(path)).duration, window_s, hop):
                clips.append(Clip(path, speaker, speaker, split, offset=offset))
    return Dataset("librispeech", tuple(sorted(by_speaker)), tuple(clips))
