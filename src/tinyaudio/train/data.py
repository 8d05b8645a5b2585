"""Training data of a run: the dataset a `TrainConfig` names, its features per split, and augmented copies.

data -> features -> augment, as arrays ready for `tinyaudio.train.fit`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Callable

import numpy as np

from tinyaudio.augment import augment_batch
from tinyaudio.augment.recipes import default_policy, default_recipe, noise_recipe
from tinyaudio.data.dataset import Clip, Dataset, load_clips
from tinyaudio.data.loaders import SILENCE, UNKNOWN, load_dataset, speech_commands_words, spoken_words
from tinyaudio.data.speakers import speaker_corpus
from tinyaudio.data.speech import speech_windows
from tinyaudio.data.soundbites import LOADERS as SOUNDBITE_LOADERS, load_soundbites, sound_windows
from tinyaudio.errors import DatasetError
from tinyaudio.paths import cache_root
from tinyaudio.features.cache import dataset_features
from tinyaudio.features.config import FeatureConfig
from tinyaudio.features.extract import compute_features_batch
from tinyaudio.train.config import SPEAKER_CORPUS, TrainConfig

SPLITS = ("train", "validation", "test")


@dataclasses.dataclass
class Split:
    """One split as arrays: ``x`` float32 (n, n_frames, n_features, 1), ``y`` int64 (n,), and its clips."""

    x: np.ndarray
    y: np.ndarray
    clips: list[Clip]


def load_training_data(config: TrainConfig, data_dir: str | os.PathLike | None = None) -> Dataset:
    """The dataset a `TrainConfig` names, made binary when ``keyword`` is set."""
    kwargs: dict[str, Any] = {}
    if config.task != "words":
        kwargs["label_by"] = config.task
    if config.dataset == "librispeech":  # cut utterances into windows of the model's clip length
        kwargs["window_s"] = FeatureConfig.load(config.features).clip_duration
    if config.holdout_speaker is not None:
        kwargs["holdout_speaker"] = config.holdout_speaker
    if config.holdout_recording is not None:
        kwargs["test_sources"] = (config.holdout_recording,)
    for name in ("validation_percent", "test_percent"):
        if getattr(config, name) is not None:
            kwargs[name] = getattr(config, name)
    if config.dataset == SPEAKER_CORPUS:
        return speaker_corpus(data_dir, window_s=FeatureConfig.load(config.features).clip_duration,
                              **{k: v for k, v in kwargs.items() if k.endswith("_percent")})
    if config.dataset in SOUNDBITE_LOADERS:
        dataset = load_soundbites(config.dataset, data_dir, seed=config.seed, synthetic=config.synthetic,
                                  real_positives=config.real_positives, **kwargs)
        if config.dataset == "fire_alarm":  # its synthetic positives are alarms, made by the loader
            return dataset
    else:
        dataset = load_dataset(config.dataset, data_dir, **kwargs)
    dataset = dataset.binary(config.keyword) if config.keyword else dataset
    dataset = with_extra_speakers(with_hard_negatives(dataset, config, data_dir), config, data_dir)
    return with_synthetic_keyword(dataset, config) if config.keyword else with_synthetic_words(dataset, config)


def with_synthetic_words(dataset: Dataset, config: TrainConfig) -> Dataset:
    """``dataset`` plus ``config.synthetic`` renderings of each of its spoken classes
    (`tinyaudio.data.loaders.spoken_words`: FSDD's digits as number words, Speech Commands'
    words): voices the recordings lack, for a model that must hear new speakers.

    Each word is rendered once per (word, count, seed) and cached (`synthetic_cache`); every
    tenth rendering goes to validation, the rest to train; the test split stays the dataset's own.

    Raises:
        DatasetError: the classes are not spoken words; SynthesisError: no TTS engine installed.
    """
    if not config.synthetic:
        return dataset
    clips = list(dataset.clips)
    for label, word in spoken_words(dataset).items():
        clips += synthetic_clips(synthetic_cache(word, config.synthetic, 0, config.seed), word, label)
    return dataclasses.replace(dataset, clips=tuple(clips))


def with_extra_speakers(dataset: Dataset, config: TrainConfig, data_dir: str | os.PathLike | None = None) -> Dataset:
    """``dataset`` plus another corpus's recordings of its spoken classes (``config.extra_speakers``:
    Speech Commands' digits for FSDD), in train and validation only.

    Raises:
        DatasetError: the corpus is missing or holds none of the words.
    """
    if not config.extra_speakers:
        return dataset
    words = {word: label for label, word in spoken_words(dataset).items()}
    return dataclasses.replace(dataset, clips=(*dataset.clips, *speech_commands_words(words, data_dir)))


def synthetic_clips(folder: Path, word: str, label: str) -> list[Clip]:
    """The renderings of ``word`` in a `synthetic_folder` as clips of class ``label`` (near misses
    as ``_other_``); sorted by file, every tenth in validation. Source: ``synthetic:ENGINE:VOICE``."""
    from tinyaudio.data.synth import SYNTHESIS

    meta = json.loads((folder / SYNTHESIS).read_text())["files"]
    return [Clip(folder / name, label if name.startswith(f"{word}/") else "_other_", f"synthetic:{m['engine']}:{m['voice']}",
                 "validation" if i % 10 == 0 else "train")
            for i, (name, m) in enumerate(sorted(meta.items()))]


def with_synthetic_keyword(dataset: Dataset, config: TrainConfig) -> Dataset:
    """``dataset`` with synthetic renderings of ``config.keyword`` (and of near-miss words as
    negatives), and without its real keyword clips outside the test split when
    ``config.real_positives`` is False.

    The renderings (`tinyaudio.data.synth.synthetic_folder`) are made once per (word, counts,
    seed) and cached under ``$TINYAUDIO_CACHE/synth``; every tenth goes to validation.

    Raises:
        SynthesisError: no TTS engine installed (the message says how to install one).
    """
    if not (config.synthetic or config.synthetic_near_misses) and config.real_positives:
        return dataset
    clips = [c for c in dataset.clips if config.real_positives or c.label != config.keyword or c.split == "test"]
    folder = synthetic_cache(config.keyword, config.synthetic, config.synthetic_near_misses, config.seed)
    clips += synthetic_clips(folder, config.keyword, config.keyword)
    return dataclasses.replace(dataset, clips=tuple(clips))


def synthetic_cache(word: str, n: int, near_misses: int, seed: int) -> Path:
    """The cached `synthetic_folder` of ``word`` (made on first use; keyed by the installed voices too)."""
    from tinyaudio.data.synth import SYNTHESIS, synthetic_folder, voices

    key = json.dumps([word, n, near_misses, seed, [dataclasses.astuple(v) for v in voices()], 1])
    folder = cache_root() / "synth" / f"{word}-{hashlib.sha1(key.encode()).hexdigest()[:12]}"
    if not (folder / SYNTHESIS).exists():
        synthetic_folder(folder, word, n, near_misses=near_misses, seed=seed, overwrite=True)
    return folder


def with_hard_negatives(dataset: Dataset, config: TrainConfig, data_dir: str | os.PathLike | None = None) -> Dataset:
    """``dataset`` plus ``config.speech_negatives`` windows of running speech and up to
    ``config.sound_negatives`` windows of everyday sounds in its negative class.

    The negative class is ``_other_`` (a one-keyword detector) or ``_unknown_``; the windows go
    to train and validation only (`tinyaudio.data.speech.speech_windows`,
    `tinyaudio.data.soundbites.sound_windows`), so the test split stays the dataset's own.

    Raises:
        DatasetError: the dataset has no negative class, or a speech corpus or ESC-50 is missing.
    """
    if config.speech_negatives == 0 and config.sound_negatives == 0:
        return dataset
    negative = next((label for label in ("_other_", UNKNOWN) if label in dataset.labels), None)
    if negative is None:
        raise DatasetError(f"{dataset.name}: speech_negatives / sound_negatives need a negative class (_other_ with "
                           f"--keyword, or {UNKNOWN}); labels are {list(dataset.labels)}")
    features = FeatureConfig.load(config.features)
    windows = speech_windows(config.speech_corpora.split(","), config.speech_negatives, window_s=features.clip_duration,
                             label=negative, seed=config.seed, data_dir=data_dir)
    windows += sound_windows(config.sound_negatives, window_s=features.clip_duration, sample_rate=features.sample_rate,
                             label=negative, seed=config.seed, data_dir=data_dir)
    return dataclasses.replace(dataset, clips=(*dataset.clips, *windows))


def subsample(clips: list[Clip], limit: int | None, seed: int) -> list[Clip]:
    """At most ``limit`` clips, drawn without replacement (seeded), in their original order."""
    if limit is None or len(clips) <= limit:
        return clips
    idx = np.sort(np.random.default_rng(seed).choice(len(clips), size=limit, replace=False))
    return [clips[i] for i in idx]


def speaker_share(clips: list[Clip], percent: float, seed: int) -> list[Clip]:
    """The clips of ``percent`` % of the speakers (rounded, at least one; drawn seeded from the sorted
    speaker ids), in their original order; ``_silence_`` clips (noise windows, not voices) all kept.

    A learning curve over voices: a speaker is kept or dropped whole, as a smaller recorded
    dataset would be.
    """
    if percent >= 100:
        return clips
    speakers = sorted({c.speaker for c in clips if c.label != SILENCE})
    n_keep = max(1, round(len(speakers) * percent / 100))
    kept = {speakers[i] for i in np.random.default_rng(seed).choice(len(speakers), size=n_keep, replace=False)}
    return [c for c in clips if c.label == SILENCE or c.speaker in kept]


def split_arrays(
    config: TrainConfig,
    dataset: Dataset,
    feature_config: FeatureConfig,
    *,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> tuple[dict[str, Split], list[dict[str, str]]]:
    """Features of every split, then (``config.augment``) augmented copies appended to train.

    Returns:
        ``({"train": Split, "validation": Split, "test": Split}, skipped)``; ``skipped`` lists
        ``{"path", "error"}`` of unreadable files left out (``config.skip_bad``).

    Raises:
        DatasetError: a split is empty, or the training split has fewer than two labels.
    """
    labels = list(dataset.labels)
    splits: dict[str, Split] = {}
    skipped: list[dict[str, str]] = []
    for name in SPLITS:
        clips = subsample(dataset.split(name), config.max_clips_per_split, config.seed)
        if name == "train":
            clips = speaker_share(clips, config.train_speakers_percent, config.seed)
        if not clips:
            raise DatasetError(f"{dataset.name}: the {name} split is empty; check the split settings")
        x, kept, bad = dataset_features(clips, feature_config, skip_bad=config.skip_bad, progress=progress)
        skipped += [{"path": str(c.path), "error": msg} for c, msg in bad]
        splits[name] = Split(x[..., None], np.array([labels.index(c.label) for c in kept], dtype=np.int64), kept)
        log(f"{name}: {len(kept)} clips" + (f" ({len(bad)} unreadable, skipped)" if bad else ""))
    if len(set(splits["train"].y.tolist())) < 2:
        raise DatasetError(f"{dataset.name}: the training split has one label ({labels[int(splits['train'].y[0])]!r}); "
                           "a classifier needs at least two (add a folder per label)")
    if config.augment != "none":
        train = splits["train"]
        x_aug, y_aug = augmented_copies(config, dataset, train.clips, feature_config, progress=progress)
        splits["train"] = Split(np.concatenate([train.x, x_aug]), np.concatenate([train.y, y_aug]), train.clips)
        log(f"train after augmentation: {len(splits['train'].x)} examples")
    return splits, skipped


def augmented_copies(config: TrainConfig, dataset: Dataset, clips: list[Clip], feature_config: FeatureConfig,
                     *, progress: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """``augment_copies`` augmented copies of every training clip, as features: the ``noise`` recipe
    or the ``default`` policy (waveform chain, then SpecAugment on the features), seeded.

    Returns:
        ``(x, y)``: float32 (n * copies, n_frames, n_features, 1) and int64 labels.
    """
    samples, kept, _ = load_clips(clips, feature_config.sample_rate, feature_config.n_samples, skip_bad=True,
                                  pad=feature_config.pad)
    sr = feature_config.sample_rate
    spec = None
    if config.augment == "default":
        chain, spec = default_recipe(sr, default_policy(config.augment_off), min_snr_db=config.min_snr_db,
                                     max_snr_db=config.max_snr_db, seed=config.seed)
    else:
        chain = noise_recipe(sr, min_snr_db=config.min_snr_db, max_snr_db=config.max_snr_db,
                             tile_segment_p=config.tile_segment_p)
    noisy = augment_batch(samples, chain, sr, config.seed, copies=config.augment_copies)
    y = np.array([dataset.labels.index(c.label) for c in kept])
    x_aug = compute_features_batch(noisy, feature_config, progress=progress)
    if spec is not None:
        x_aug = spec(x_aug, np.random.default_rng(config.seed))
    x_aug = x_aug[..., None]
    return x_aug, np.tile(y, config.augment_copies)
