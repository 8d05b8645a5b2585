"""Loaders for the public datasets and for any ``label/*.wav`` folder.

Each returns a `Dataset` whose split never puts one speaker (or source recording) in two
splits, except FSDD's official split, which is by take as its authors define it.
A local copy is used first (``root`` / ``$TINYAUDIO_DATA``); otherwise the official archive is
downloaded into the cache with a size + sha256 check (`tinyaudio.data.download`).
"""

from __future__ import annotations

import csv
import os
import random
import re
from pathlib import Path

from tinyaudio.data.dataset import Clip, Dataset, resolve_root, stable_split
from tinyaudio import paths
from tinyaudio.errors import DatasetError

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")
SPEECH_COMMANDS_WORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
SILENCE, UNKNOWN = "_silence_", "_unknown_"
FSDD_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def spoken_words(dataset: Dataset) -> dict[str, str]:
    """``{label: text a speaker says}`` for the classes of a spoken-word dataset, for synthesis.

    FSDD's labels ``"0"``-``"9"`` are said as number words; Speech Commands' labels are the words
    themselves, its ``_silence_`` / ``_unknown_`` classes are not a word.

    Raises:
        DatasetError: the dataset's classes are not spoken words (sounds, speakers, a folder).
    """
    if dataset.name == "fsdd":
        return dict(zip((str(d) for d in range(10)), FSDD_WORDS))
    if dataset.name == "speech_commands":
        return {label: label for label in dataset.labels if not label.startswith("_")}
    raise DatasetError(f"{dataset.name}: its classes are not known spoken words; synthetic renderings of every "
                       "class need fsdd or speech_commands (or one word: --keyword WORD)")


def _local_or_download(folder_names: tuple[str, ...], root, name: str, download: bool) -> Path:
    found = resolve_root(folder_names, root, name)
    if found is not None:
        return found
    if not download:
        raise DatasetError(
            f"no local copy of {name}: pass --data-dir, set TINYAUDIO_DATA, or allow the download"
        )
    from tinyaudio.data.download import fetch_dataset

    return fetch_dataset(name)


def _split_salt(speakers: set[str], validation_percent: float, test_percent: float) -> str:
    """``""`` (TensorFlow's assignment) unless it leaves a split empty, else ``"tinyaudio:"``.

    The official Speech Commands test set alone (e.g. the shared 12-class subset) hashes entirely
    into TensorFlow's 10-20 % band by construction; such a set is re-split with a salted hash,
    still by speaker.
    """
    splits = {stable_split(s, validation_percent, test_percent) for s in speakers}
    return "" if len(speakers) < 3 or splits == {"train", "validation", "test"} else "tinyaudio:"


def _audio_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES)


def fsdd(
    root: str | os.PathLike | None = None,
    *,
    holdout_speaker: str | None = None,
    label_by: str = "digit",
    download: bool = True,
) -> Dataset:
    """Free Spoken Digit Dataset: digits 0-9, ``recordings/{digit}_{speaker}_{take}.wav`` at 8 kHz.

    Args:
        root: folder holding ``recordings/`` (or a parent with ``fsdd/``); default
            ``$TINYAUDIO_DATA/fsdd`` or a download of v1.0.10.
        holdout_speaker: None for the official split (takes 0-4 test, 5-9 validation,
            10-49 train). A speaker name (e.g. ``"theo"``) puts all that speaker's clips in
            test and the other speakers' takes 0-4 in validation: a speaker-independent test.
        label_by: ``"digit"`` (labels ``"0"``-``"9"``) or ``"speaker"`` (labels are the sorted
            speaker names: closed-set speaker ID; the split stays by take, so every speaker is
            in every split). ``holdout_speaker`` cannot be combined with ``"speaker"``.
        download: fetch the official archive if no local copy exists.

    Raises:
        DatasetError: no recordings found, an unknown ``holdout_speaker`` or ``label_by``.

    Source: github.com/Jakobovski/free-spoken-digit-dataset (README: "test set: recordings 0-4").
    """
    base = _local_or_download(("fsdd", "free-spoken-digit-dataset-1.0.10"), root, "fsdd", download)
    rec = base / "recordings" if (base / "recordings").is_dir() else base
    pattern = re.compile(r"^(\d)_([A-Za-z]+)_(\d+)$")
    entries = []
    for path in _audio_files(rec):
        m = pattern.match(path.stem)
        if m:
            entries.append((path, m.group(1), m.group(2), int(m.group(3))))
    if not entries:
        raise DatasetError(f"{rec}: no FSDD recordings named {{digit}}_{{speaker}}_{{take}}.wav found")
    speakers = sorted({e[2] for e in entries})
    if holdout_speaker is not None and holdout_speaker not in speakers:
        raise DatasetError(f"unknown FSDD speaker {holdout_speaker!r}; choose one of {speakers}")
    if label_by not in ("digit", "speaker") or (label_by == "speaker" and holdout_speaker is not None):
        raise DatasetError(f"FSDD label_by={label_by!r}: use 'digit', or 'speaker' without holdout_speaker")
    clips = []
    for path, digit, speaker, take in entries:
        if holdout_speaker is None:
            split = "test" if take < 5 else "validation" if take < 10 else "train"
        else:
            split = "test" if speaker == holdout_speaker else "validation" if take < 5 else "train"
        clips.append(Clip(path, speaker if label_by == "speaker" else digit, speaker, split))
    if label_by == "speaker":
        return Dataset("fsdd:speaker", tuple(speakers), tuple(clips))
    return Dataset("fsdd", tuple(str(d) for d in range(10)), tuple(clips))


def speech_commands(
    root: str | os.PathLike | None = None,
    *,
    mode: str = "12class",
    validation_percent: float = 10.0,
    test_percent: float = 10.0,
    silence_percent: float = 10.0,
    unknown_percent: float = 10.0,
    background_noise_dir: str | os.PathLike | None = None,
    seed: int = 0,
    download: bool = True,
) -> Dataset:
    """Google Speech Commands v0.02, ``{word}/{speaker}_nohash_{n}.wav`` at 16 kHz.

    Split: ``validation_list.txt`` / ``testing_list.txt`` when present; otherwise a SHA-1 hash
    of the speaker id (`stable_split`), so one speaker never lands in two splits. A folder that
    holds only the official test set (every speaker hashes to "test") is re-split with a salted
    hash, still by speaker.

    Args:
        mode: ``"12class"`` (10 words + ``_silence_`` + ``_unknown_``) or ``"all"`` (every word
            folder is a class).
        silence_percent, unknown_percent: in 12-class mode, when the folder has no
            ``_silence_`` / ``_unknown_`` folder, silence clips (1 s windows of
            ``_background_noise_`` at a random gain in [0, 0.1]) and a random subsample of the
            other words are added, each as this percentage of a split (TensorFlow defaults).
        background_noise_dir: default ``root/_background_noise_``, else
            ``$TINYAUDIO_DATA/speech_commands_background_noise``.
        seed: seeds the silence windows and the unknown subsample.

    Raises:
        DatasetError: unknown mode, or no word folders.

    Source: Warden 2018, arXiv:1804.03209; TensorFlow ``speech_commands/input_data.py``.
    """
    if mode not in ("12class", "all"):
        raise DatasetError(f"unknown speech_commands mode {mode!r}; use '12class' or 'all'")
    base = _local_or_download(
        ("speech_commands_v0.02", "speech_commands_v0.02_test_dev"), root, "speech_commands", download
    )
    word_dirs = sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith("_background"))
    if not word_dirs:
        raise DatasetError(f"{base}: no word folders found; expected {{word}}/{{speaker}}_nohash_{{n}}.wav")
    lists = {}
    for split, fname in (("validation", "validation_list.txt"), ("test", "testing_list.txt")):
        if (base / fname).exists():
            lists.update({line.strip(): split for line in (base / fname).read_text().splitlines() if line.strip()})

    salt = ""
    if not lists:
        speakers = {_sc_speaker(d.name, p) for d in word_dirs for p in d.glob("*_nohash_*")}
        salt = _split_salt(speakers, validation_percent, test_percent)

    def split_of(rel: str, speaker: str) -> str:
        if lists:
            return lists.get(rel, "train")
        return stable_split(speaker, validation_percent, test_percent, salt=salt)

    clips: list[Clip] = []
    unknown_pool: list[Clip] = []
    for folder in word_dirs:
        word = folder.name
        for path in _audio_files(folder):
            speaker = _sc_speaker(word, path)
            clip = Clip(path, word, speaker, split_of(f"{word}/{path.name}", speaker))
            if mode == "all" or word in SPEECH_COMMANDS_WORDS or word in (SILENCE, UNKNOWN):
                clips.append(clip)
            else:
                unknown_pool.append(Clip(path, UNKNOWN, clip.speaker, clip.split))
    if mode == "all":
        labels = tuple(sorted({c.label for c in clips}))
        return Dataset("speech_commands", labels, tuple(clips))

    rng = random.Random(seed)
    present = {c.label for c in clips}
    split_sizes = {s: sum(c.split == s for c in clips) for s in ("train", "validation", "test")}
    if UNKNOWN not in present and unknown_pool:
        for split, size in split_sizes.items():
            pool = [c for c in unknown_pool if c.split == split]
            clips += rng.sample(pool, min(len(pool), int(size * unknown_percent / 100)))
    if SILENCE not in present:
        noise_dir = Path(background_noise_dir) if background_noise_dir else base / "_background_noise_"
        if not noise_dir.is_dir():
            noise_dir = paths.background_noise_dir() or noise_dir
        if noise_dir.is_dir():
            clips += silence_clips(noise_dir, split_sizes, silence_percent, rng)
    return Dataset("speech_commands", (SILENCE, UNKNOWN, *SPEECH_COMMANDS_WORDS), tuple(clips))


def speech_commands_words(
    words: dict[str, str],
    root: str | os.PathLike | None = None,
    *,
    validation_percent: float = 20.0,
    download: bool = True,
) -> list[Clip]:
    """Speech Commands recordings of some words, as more speakers for another dataset's classes.

    Reads ``{word}/*.wav`` (the full v0.02 layout) and ``_unknown_/{word}_{speaker}_nohash_{n}.wav``
    (a 12-class folder such as the shared test subset, whose digits sit in ``_unknown_``). Speakers
    go to train or validation by a salted SHA-1 of their id (`stable_split`); none to test, which
    stays the other dataset's own.

    Args:
        words: ``{word: label}``, e.g. ``{"seven": "7"}`` for FSDD.
        validation_percent: share of the speakers held for validation.

    Returns:
        one `Clip` per recording, labelled ``words[word]``, its speaker ``speech_commands:{id}``
        (the source before the colon, as synthetic clips' ``synthetic:ENGINE:VOICE``).

    Raises:
        DatasetError: no recording of any of ``words`` (the message names the folder).
    """
    base = _local_or_download(
        ("speech_commands_v0.02", "speech_commands_v0.02_test_dev"), root, "speech_commands", download
    )
    found: list[tuple[Path, str]] = []
    for word in words:
        if (base / word).is_dir():
            found += [(p, word) for p in _audio_files(base / word)]
        if (base / UNKNOWN).is_dir():
            found += [(p, word) for p in _audio_files(base / UNKNOWN) if p.stem.startswith(f"{word}_")]
    if not found:
        raise DatasetError(f"{base}: no Speech Commands recordings of {sorted(words)} (in {{word}}/ or {UNKNOWN}/)")
    clips = []
    for path, word in found:
        speaker = _sc_speaker(UNKNOWN if path.parent.name == UNKNOWN else word, path)
        split = stable_split(speaker, validation_percent, 0.0, salt="tinyaudio:more:")
        clips.append(Clip(path, words[word], f"speech_commands:{speaker}", split))
    return clips


def _sc_speaker(word: str, path: Path) -> str:
    """Speaker id of a Speech Commands file: the hash before ``_nohash_``.

    ``_unknown_/backward_0c540988_nohash_0.wav`` -> ``0c540988``; files without ``_nohash_``
    (silence windows) are their own speaker.
    """
    if "_nohash_" not in path.stem:
        return f"{word}/{path.stem}"
    speaker = path.stem.split("_nohash_")[0]
    return speaker.rsplit("_", 1)[-1] if word == UNKNOWN else speaker


def silence_clips(noise_dir: Path, split_sizes: dict[str, int], percent: float, rng: random.Random) -> list[Clip]:
    """1 s windows of background-noise files labelled ``_silence_``, at a random gain in [0, 0.1].

    Each noise file is a "speaker" and is cut into three equal parts for train / validation /
    test (80 / 10 / 10 % of its length), so no window of test noise was heard in training.
    """
    import soundfile as sf

    files = _audio_files(noise_dir)
    out: list[Clip] = []
    bounds = {"train": (0.0, 0.8), "validation": (0.8, 0.9), "test": (0.9, 1.0)}
    for split, size in split_sizes.items():
        for i in range(int(size * percent / 100)):
            path = files[i % len(files)]
            seconds = sf.info(str(path)).duration
            lo, hi = bounds[split]
            start = rng.uniform(lo * seconds, max(lo * seconds, hi * seconds - 1.0))
            out.append(Clip(path, SILENCE, f"noise/{path.stem}", split, offset=round(start, 3), gain=round(rng.uniform(0, 0.1), 4)))
    return out


def esc50(
    root: str | os.PathLike | None = None,
    *,
    test_fold: int = 5,
    validation_fold: int = 4,
    validation_percent: float = 15.0,
    test_percent: float = 25.0,
    download: bool = True,
) -> Dataset:
    """ESC-50 environmental sounds: 50 classes, 5 s clips, ``meta/esc50.csv`` folds.

    With all five folds, ``test_fold`` is test, ``validation_fold`` validation, the rest train.
    When only one fold is present (the shared fold-4 copy), clips are split by a hash of
    ``src_file`` so pieces of one source recording stay together.

    Source: Piczak 2015, "ESC: Dataset for Environmental Sound Classification", ACM MM.
    """
    base = _local_or_download(("ESC-50-master", "esc50_fold4_16k", "esc50"), root, "esc50", download)
    candidates = [base / "meta" / "esc50.csv", *sorted(base.glob("*.csv"))]
    meta = next((p for p in candidates if p.exists()), None)
    if meta is None:
        raise DatasetError(f"{base}: no ESC-50 meta csv (meta/esc50.csv) found")
    with open(meta, newline="") as f:
        rows = list(csv.DictReader(f))
    folds = {int(r["fold"]) for r in rows}
    by_target = {int(r["target"]): r["category"] for r in rows}
    labels = tuple(by_target[t] for t in sorted(by_target))
    audio = base / "audio"
    clips = []
    for r in rows:
        path = audio / r["filename"]
        if not path.exists():
            alt = [path.with_suffix(s) for s in AUDIO_SUFFIXES if path.with_suffix(s).exists()]
            if not alt:
                raise DatasetError(f"{path}: listed in {meta.name} but missing; re-download ESC-50")
            path = alt[0]
        if len(folds) > 1:
            fold = int(r["fold"])
            split = "test" if fold == test_fold else "validation" if fold == validation_fold else "train"
        else:
            split = stable_split(r["src_file"], validation_percent, test_percent)
        clips.append(Clip(path, r["category"], r["src_file"], split))
    return Dataset("esc50", labels, tuple(clips))


def folder(
    root: str | os.PathLike,
    *,
    validation_percent: float = 10.0,
    test_percent: float = 10.0,
    label_by: str = "words",
) -> Dataset:
    """Any ``root/<label>/*.{wav,flac,ogg}`` tree; labels are the sub-folder names, sorted.

    The speaker of a file is the part of its name before ``_nohash_`` (Speech Commands style)
    or before the first ``_`` (``alice_001.wav``); files are split by a hash of the speaker
    (TensorFlow's rule, salted if that rule would leave a split empty).

    With ``label_by="speaker"`` the sub-folders are people (``alice/*.wav``, ``bob/*.wav``) and
    the task is to tell them apart, so every person must be in every split: files are split by a
    hash of their own path instead.

    Raises:
        DatasetError: root missing, no labelled audio found, or an unknown ``label_by``.
    """
    if label_by not in ("words", "speaker"):
        raise DatasetError(f"{root}: label_by={label_by!r}; use words (sub-folders are classes) or speaker (sub-folders are people)")
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: not a folder; expected {root}/<label>/*.wav")
    files = []
    for label_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for path in _audio_files(label_dir):
            stem = path.stem
            files.append((path, label_dir.name, stem.split("_nohash_")[0] if "_nohash_" in stem else stem.split("_")[0]))
    if not files:
        raise DatasetError(f"{root}: no audio files found in {root}/<label>/")
    if label_by == "speaker":
        clips = [Clip(p, label, label, stable_split(f"{label}/{p.name}", validation_percent, test_percent, salt="file:"))
                 for p, label, _ in files]
    else:
        salt = _split_salt({f[2] for f in files}, validation_percent, test_percent)
        clips = [Clip(p, label, spk, stable_split(spk, validation_percent, test_percent, salt=salt)) for p, label, spk in files]
    labels = tuple(sorted({c.label for c in clips}))
    return Dataset(root.name, labels, tuple(clips))


from tinyaudio.data.librispeech import librispeech  # noqa: E402  (needs nothing from this module)

LOADERS = {"fsdd": fsdd, "speech_commands": speech_commands, "esc50": esc50, "librispeech": librispeech}


def load_dataset(name: str, data_dir: str | os.PathLike | None = None, **kwargs) -> Dataset:
    """Load a dataset by name (``fsdd``, ``speech_commands``, ``esc50``) or a folder path.

    Raises:
        DatasetError: unknown name that is also not a folder.
    """
    if name in LOADERS:
        return LOADERS[name](data_dir, **kwargs)
    if Path(name).is_dir():
        return folder(name, **kwargs)
    raise DatasetError(f"unknown dataset {name!r}; use one of {sorted(LOADERS)} or a path to label/*.wav folders")
