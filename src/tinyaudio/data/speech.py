"""Running speech: read-speech corpora as hard negatives for keyword training and as the speech
part of a streaming evaluation.

An always-listening detector hears mostly people talking, not isolated words in noise. These
loaders return whole utterances (`speech_files`) or 1 s windows cut at random offsets from them
(`speech_windows`: partial words and word boundaries, the negatives a clip dataset lacks).

Corpora, all disjoint sets of speakers (see the shared data README):

- ``librispeech_train_clean_5`` (Mini LibriSpeech, 28 speakers) and ``speechocean762``
  (250 non-native speakers, children and adults) may train;
- ``librispeech_test_other`` (10 speakers) is kept for evaluation: `TRAINING_CORPORA` never
  names it, and `speech_windows` refuses it.

``synthetic_sentences`` is English text spoken by every installed TTS engine
(`tinyaudio.data.synth`): hard negatives for a user with no speech corpus at all.

Local copies only for the two training corpora (``$TINYAUDIO_DATA`` or ``data_dir``); test-other
is downloaded like the ``librispeech`` loader when missing.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Sequence

import numpy as np

from tinyaudio.data.dataset import Clip, stable_split
from tinyaudio.errors import DatasetError
from tinyaudio.paths import data_root

#: corpus name -> folders (relative to the data root) that may hold it.
CORPUS_FOLDERS = {
    "librispeech_train_clean_5": ("librispeech_train-clean-5_28spk", "LibriSpeech/train-clean-5", "train-clean-5"),
    "speechocean762": ("speechocean762_250spk", "speechocean762"),
    "librispeech_test_other": ("librispeech_test-other_10spk", "LibriSpeech/test-other", "test-other"),
}
#: Corpora a model may train on; the rest are for evaluation only.
TRAINING_CORPORA = ("librispeech_train_clean_5", "speechocean762")
#: Synthetic running speech (`tinyaudio.data.synth`): may train, for users without a speech corpus.
SYNTHETIC_CORPUS = "synthetic_sentences"
#: Sentences spoken for `SYNTHETIC_CORPUS` (cached under the tinyaudio cache, made once).
SYNTHETIC_SENTENCES = 240
#: Where to get a corpus that has no local copy.
SOURCES = {
    "librispeech_train_clean_5": "openslr.org/31 (train-clean-5.tar.gz)",
    "speechocean762": "openslr.org/101 (speechocean762.tar.gz)",
    "librispeech_test_other": "openslr.org/12 (test-other.tar.gz)",
}
_SUFFIXES = (".flac", ".wav")
_LIBRISPEECH_NAME = re.compile(r"^(\d+)-\d+-\d+$")


def speech_files(corpus: str, data_dir: str | os.PathLike | None = None) -> list[tuple[Path, str]]:
    """Every utterance of a speech corpus with its speaker id, sorted by path.

    Args:
        corpus: a key of `CORPUS_FOLDERS`.
        data_dir: dataset root holding the corpus folder (default ``$TINYAUDIO_DATA``).

    Returns:
        ``[(path, speaker), ...]``; the speaker is the LibriSpeech speaker id or the
        speechocean762 ``SPEAKER{id}`` folder name.

    Raises:
        DatasetError: an unknown corpus, no local copy (the message says where to get it), or no
            audio in it.
    """
    if corpus == SYNTHETIC_CORPUS:
        return _synthetic_sentence_files()
    if corpus not in CORPUS_FOLDERS:
        raise DatasetError(f"unknown speech corpus {corpus!r}; use one of {', '.join([*CORPUS_FOLDERS, SYNTHETIC_CORPUS])}")
    base = data_root(data_dir)
    root = next((base / name for name in CORPUS_FOLDERS[corpus] if base is not None and (base / name).is_dir()), None)
    if root is None and corpus == "librispeech_test_other":
        from tinyaudio.data.download import fetch_dataset

        root = fetch_dataset("librispeech_test_other")
    if root is None:
        raise DatasetError(f"no local copy of {corpus}: download it from {SOURCES[corpus]} into "
                           f"$TINYAUDIO_DATA/{CORPUS_FOLDERS[corpus][0]}, or pass --data-dir")
    files = []
    for path in sorted(p for p in root.rglob("*") if p.suffix.lower() in _SUFFIXES):
        match = _LIBRISPEECH_NAME.match(path.stem)
        files.append((path, match.group(1) if match else path.parent.name))
    if not files:
        raise DatasetError(f"{root}: no .flac / .wav utterances of {corpus}")
    return files


def speech_windows(
    corpora: Sequence[str],
    n: int,
    *,
    window_s: float = 1.0,
    label: str = "_other_",
    validation_percent: float = 10.0,
    seed: int = 0,
    data_dir: str | os.PathLike | None = None,
) -> list[Clip]:
    """``n`` windows cut at random offsets from running speech, as negative training clips.

    Each window picks an utterance uniformly (seeded), then a start uniform over the utterance
    (a window may cut a word in half: that is the point). Speakers are assigned to train or
    validation by `stable_split` on ``corpus:speaker``, so no voice is on both sides; there is
    no test share (these corpora never test a model).

    Args:
        corpora: names from `TRAINING_CORPORA`.
        n: number of windows (0 gives ``[]``).
        window_s: window length, seconds (the model's ``clip_duration``).
        label: label of every window (the negative class: ``_other_`` of a one-keyword detector,
            ``_unknown_`` of a multi-class model).
        validation_percent: share of speakers whose windows go to validation.
        seed: seeds the draw.
        data_dir: dataset root.

    Returns:
        `Clip` records with ``offset`` set, split ``"train"`` or ``"validation"``.

    Raises:
        DatasetError: a corpus reserved for evaluation, an unknown or missing corpus, or ``n < 0``.
    """
    import soundfile as sf

    if n < 0:
        raise DatasetError(f"speech windows: n must be >= 0, got {n}")
    held_out = [c for c in corpora if c not in (*TRAINING_CORPORA, SYNTHETIC_CORPUS)]
    if held_out:
        raise DatasetError(f"speech corpus {held_out[0]!r} is kept for evaluation; train on {', '.join(TRAINING_CORPORA)}")
    if n == 0:
        return []
    pool = [(path, f"{corpus}:{speaker}") for corpus in corpora for path, speaker in speech_files(corpus, data_dir)]
    durations = np.array([sf.info(str(path)).duration for path, _ in pool])
    rng = np.random.default_rng(seed)
    picks = rng.integers(len(pool), size=n)
    starts = rng.random(n) * np.maximum(durations[picks] - window_s, 0.0)
    clips = []
    for i, start in zip(picks, starts):
        path, speaker = pool[i]
        split = "validation" if stable_split(speaker, validation_percent, 0.0, salt="speech:") == "validation" else "train"
        clips.append(Clip(path, label, speaker, split, offset=round(float(start), 3)))
    return clips


def _synthetic_sentence_files() -> list[tuple[Path, str]]:
    """`SYNTHETIC_SENTENCES` sentences spoken by every installed TTS engine (made once, cached);
    the "speaker" is the voice."""
    import json

    from tinyaudio.data.synth import SYNTHESIS, synthetic_folder
    from tinyaudio.paths import cache_root

    folder = cache_root() / "synth" / f"sentences-{SYNTHETIC_SENTENCES}"
    if not (folder / SYNTHESIS).exists():
        synthetic_folder(folder, None, 0, n_sentences=SYNTHETIC_SENTENCES, overwrite=True)
    meta = json.loads((folder / SYNTHESIS).read_text())["files"]
    return [(folder / name, f"{m['engine']}:{m['voice']}") for name, m in sorted(meta.items())]
