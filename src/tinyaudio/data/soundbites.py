"""Soundbites: long recordings cut into fixed windows, silent windows dropped, source kept.

A *soundbite* is a window of ``window_s`` seconds starting every ``hop_s`` seconds in a
recording. It is a `Clip` with an ``offset`` into the file and ``speaker`` set to the source
recording's id, so a split by ``speaker`` never puts two windows of one recording on both sides.

Silence rule (`SoundbiteRule`): the level of a window is its RMS in dB relative to full scale,
``L = 10 * log10(mean(x ** 2) + 1e-12)`` (a full-scale sine is -3 dBFS). A window is dropped as
silent when ``L < min_level_db`` (absolute floor: digital silence, ESC-50's zero padding) or
``L < L_max - max_below_peak_db``, where ``L_max`` is the loudest window of the same recording
(relative floor: the quiet gaps between dog barks or alarm beeps). Both are counted.

Loaders:
    `esc50_soundbites`: ESC-50 clips (5 s) cut into 1 s windows, split by ``src_file``.
    `sound_windows`: some of those windows (train and validation only), as a detector's negatives.
    `fire_alarm`: one-vs-rest fire / smoke alarm windows against ESC-50 non-alarm sounds,
    Speech Commands background noise and Speech Commands speech.

Source: the 1 s soundbite cut of the RP2040 "ML audio classifier" example (Arm, fire alarm
detector), which drops windows below an energy threshold before training.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import random
from collections import Counter
from pathlib import Path
from typing import Sequence

import numpy as np

from tinyaudio.data.audio import window_levels
from tinyaudio.data.dataset import Clip, Dataset, resolve_root
from tinyaudio.errors import ConfigError, DatasetError
from tinyaudio.paths import data_root

FIRE_ALARM = "fire_alarm"
OTHER = "_other_"


@dataclasses.dataclass(frozen=True)
class SoundbiteRule:
    """How recordings are cut and which windows count as silent.

    Attributes:
        window_s: window length in seconds.
        hop_s: seconds between window starts (``hop_s < window_s`` overlaps windows).
        min_level_db: absolute floor in dBFS; a window whose RMS level is below it is silent.
        max_below_peak_db: relative floor in dB: a window more than this far below the
            loudest window of its recording is silent. ``None`` turns the relative rule off.
    """

    window_s: float = 1.0
    hop_s: float = 0.5
    min_level_db: float = -50.0
    max_below_peak_db: float | None = 30.0

    def __post_init__(self) -> None:
        if not self.window_s > 0 or not self.hop_s > 0:
            raise ConfigError(f"window_s and hop_s must be > 0 seconds, got {self.window_s}, {self.hop_s}")


@dataclasses.dataclass
class SoundbiteStats:
    """Counts of a cut: windows kept and dropped as silent, per label."""

    kept: Counter = dataclasses.field(default_factory=Counter)
    dropped: Counter = dataclasses.field(default_factory=Counter)

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {"kept": dict(sorted(self.kept.items())), "dropped_silent": dict(sorted(self.dropped.items()))}


def keep_mask(levels_db: np.ndarray, rule: SoundbiteRule) -> np.ndarray:
    """bool mask of the windows that are not silent under ``rule`` (see the module docstring)."""
    levels_db = np.asarray(levels_db, dtype=np.float64)
    keep = levels_db >= rule.min_level_db
    if rule.max_below_peak_db is not None and levels_db.size:
        keep &= levels_db >= levels_db.max() - rule.max_below_peak_db
    return keep


@functools.lru_cache(maxsize=4096)
def _file_levels(path: str, mtime: float, offset: float, duration: float | None, sample_rate: int,
                 window_s: float, hop_s: float) -> tuple[tuple[int, ...], tuple[float, ...]]:
    from tinyaudio.data.audio import load_audio

    samples = load_audio(path, sample_rate, offset=offset, duration=duration)
    starts, levels = window_levels(samples, sample_rate, window_s, hop_s)
    return tuple(int(s) for s in starts), tuple(float(v) for v in levels)


def cut_clips(
    clips: Sequence[Clip],
    rule: SoundbiteRule,
    sample_rate: int,
    *,
    spans: Sequence[tuple[float, float | None]] | None = None,
    stats: SoundbiteStats | None = None,
) -> list[Clip]:
    """Cut each clip's recording into soundbites, dropping silent windows.

    Args:
        clips: source recordings (offset 0); label, speaker (source id) and split are copied
            to every window.
        rule: window, hop and silence rule.
        sample_rate: Hz the levels are measured at (the feature rate).
        spans: optional ``(start_s, duration_s or None)`` per clip: cut only that stretch of
            the file (used to give disjoint parts of one noise file to different splits).
        stats: if given, kept / dropped counts per label are added to it.

    Returns:
        window clips with ``offset`` in seconds into the file, in file order.

    Raises:
        AudioError: an unreadable file.
    """
    out: list[Clip] = []
    for i, clip in enumerate(clips):
        start_s, duration = spans[i] if spans is not None else (0.0, None)
        path = str(clip.path)
        starts, levels = _file_levels(path, os.path.getmtime(path), float(start_s), duration, int(sample_rate),
                                      float(rule.window_s), float(rule.hop_s))
        keep = keep_mask(np.array(levels), rule)
        for s, k in zip(starts, keep):
            if k:
                # 1e-6 s keeps the first window's offset non-zero, so Clip.load reads one window
                offset = round(start_s + s / sample_rate, 6) or 1e-6
                out.append(dataclasses.replace(clip, offset=offset))
        if stats is not None:
            stats.kept[clip.label] += int(keep.sum())
            stats.dropped[clip.label] += int((~keep).sum())
    return out


def esc50_soundbites(
    root: str | os.PathLike | None = None,
    *,
    rule: SoundbiteRule = SoundbiteRule(),
    sample_rate: int = 16000,
    with_stats: bool = False,
    **esc50_kwargs,
) -> Dataset | tuple[Dataset, SoundbiteStats]:
    """ESC-50 with every 5 s clip cut into soundbites; splits as `tinyaudio.data.esc50` (by ``src_file``).

    Args:
        root: ESC-50 folder (default ``$TINYAUDIO_DATA/esc50_fold4_16k`` or the download).
        rule: window / hop / silence rule.
        sample_rate: Hz at which window levels are measured.
        with_stats: also return the kept / dropped counts.
        esc50_kwargs: passed to `tinyaudio.data.esc50` (``test_percent`` ...).

    Returns:
        a `Dataset` named ``esc50_soundbites`` with the 50 ESC-50 labels (and the stats).
    """
    from tinyaudio.data.loaders import esc50

    base = esc50(root, **esc50_kwargs)
    stats = SoundbiteStats()
    clips = cut_clips(base.clips, rule, sample_rate, stats=stats)
    ds = Dataset("esc50_soundbites", base.labels, tuple(clips))
    return (ds, stats) if with_stats else ds


def sound_windows(
    n: int,
    *,
    window_s: float = 1.0,
    sample_rate: int = 16000,
    label: str = OTHER,
    seed: int = 0,
    data_dir: str | os.PathLike | None = None,
) -> list[Clip]:
    """Up to ``n`` windows of everyday sounds (ESC-50) as negative training clips.

    ESC-50's train and validation clips are cut into soundbites (`esc50_soundbites`: windows of
    ``window_s`` every half window, silent ones dropped); ``n`` of them are drawn without
    replacement (seeded), or all when fewer exist. Each keeps its split, by ``src_file`` as in
    `tinyaudio.data.esc50`, so the test clips that `tinyaudio.evaluate.stream` plays are never
    among them.

    Args:
        n: number of windows (0 gives ``[]``).
        window_s: window length, seconds (the model's ``clip_duration``).
        sample_rate: Hz at which window levels are measured.
        label: label of every window (the negative class).
        seed: seeds the draw.
        data_dir: dataset root holding ``esc50_fold4_16k/`` (default ``$TINYAUDIO_DATA``, else
            the download).

    Returns:
        `Clip` records with ``offset`` set, split ``"train"`` or ``"validation"``, speaker
        ``esc50/<src_file>``.

    Raises:
        DatasetError: ``n < 0``, or ESC-50 is missing.
    """
    if n < 0:
        raise DatasetError(f"sound windows: n must be >= 0, got {n}")
    if n == 0:
        return []
    rule = SoundbiteRule(window_s=window_s, hop_s=window_s / 2)
    windows = [c for c in esc50_soundbites(data_dir, rule=rule, sample_rate=sample_rate).clips if c.split != "test"]
    picks = sorted(random.Random(seed).sample(range(len(windows)), min(n, len(windows))))
    return [dataclasses.replace(windows[i], label=label, speaker=f"esc50/{windows[i].speaker}") for i in picks]


def _by_hash(sources: Sequence[str]) -> dict[str, str]:
    """Few-source split: sources ordered by SHA-1 of their name; first -> test, second -> validation, rest -> train."""
    ordered = sorted(sources, key=lambda s: hashlib.sha1(s.encode()).hexdigest())
    return {s: "test" if i == 0 else "validation" if i == 1 else "train" for i, s in enumerate(ordered)}


def fire_alarm(
    root: str | os.PathLike | None = None,
    *,
    rule: SoundbiteRule = SoundbiteRule(hop_s=0.5),
    positive_hop_s: float = 0.25,
    noise_hop_s: float = 1.0,
    max_speech_clips: int = 600,
    exclude_esc50: Sequence[str] = ("clock_alarm",),
    test_sources: Sequence[str] | None = None,
    validation_sources: Sequence[str] | None = None,
    validation_fraction: float = 0.2,
    sample_rate: int = 16000,
    seed: int = 0,
    synthetic: int = 0,
    real_positives: bool = True,
    with_stats: bool = False,
) -> Dataset | tuple[Dataset, SoundbiteStats]:
    """Fire / smoke alarm detector data: ``fire_alarm`` soundbites against ``_other_``.

    Positives: ``root/fire_alarm/fire_alarm/*.wav`` (the RP2040 example's recordings), cut
    every ``positive_hop_s`` (they are few). Test holds whole recordings: ``test_sources``
    (file stems), else the one whose name has the smallest SHA-1. Validation: the recordings
    named in ``validation_sources`` if given; otherwise the last ``validation_fraction`` of each
    remaining recording (a disjoint stretch, source id ``alarm/<stem>/validation``), because
    with four recordings a whole held-out validation alarm of another kind leaves training with
    too few kinds and validation recall at 0 (seen: smoke detector 3 vs the other three).

    Negatives (``_other_``):
        - ESC-50 clips of every class but ``exclude_esc50`` (alarms that would be ambiguous),
          cut with ``rule``, split by ``src_file`` as `tinyaudio.data.esc50`;
        - Speech Commands ``_background_noise_`` files cut every ``noise_hop_s``; each file's
          first 80 % is train, the next 10 % validation, the last 10 % test (disjoint
          stretches; source id ``noise/<file>/<split>``);
        - up to ``max_speech_clips`` Speech Commands word clips (not ``_silence_``), a seeded
          sample, split by speaker as `tinyaudio.data.speech_commands`.

    Args:
        root: folder holding ``fire_alarm/``, ``esc50_fold4_16k/``,
            ``speech_commands_background_noise/`` and ``speech_commands_v0.02_test_dev/``
            (default ``$TINYAUDIO_DATA``).
        synthetic: add this many synthetic alarm recordings (`tinyaudio.data.alarms`, 6 s each,
            made once and cached) as positives: every tenth in validation, the rest in train.
        real_positives: False keeps the real alarm recordings out of train and validation (an
            alarm detector from synthetic alarms only; test stays the real recording).
        with_stats: also return kept / dropped counts per label.

    Returns:
        `Dataset` ``fire_alarm`` with labels ``("_other_", "fire_alarm")`` (class 1 = alarm).

    Raises:
        DatasetError: the fire-alarm recordings or a negative source are missing, or fewer
            than three alarm recordings (test, validation and train each need one).
    """
    base = Path(root) if root is not None else (data_root() or Path("."))
    alarm_dir = resolve_root(("fire_alarm/fire_alarm", "fire_alarm"), base, "fire_alarm")
    if alarm_dir is not None and (alarm_dir / "fire_alarm").is_dir():
        alarm_dir = alarm_dir / "fire_alarm"
    files = sorted(alarm_dir.glob("*.wav")) if alarm_dir is not None else []
    if len(files) < 3:
        raise DatasetError(f"{alarm_dir}: need at least 3 fire-alarm .wav recordings (found {len(files)}); "
                           f"set TINYAUDIO_DATA to a folder with fire_alarm/fire_alarm/*.wav")
    stems = [f.stem for f in files]
    split_of = _by_hash(stems)
    if validation_sources is None:
        split_of = {s: ("train" if v == "validation" else v) for s, v in split_of.items()}
    for names, split in ((test_sources, "test"), (validation_sources, "validation")):
        if names is not None:
            unknown = sorted(set(names) - set(stems))
            if unknown:
                raise DatasetError(f"unknown fire-alarm source(s) {unknown}; choose from {stems}")
            split_of = {s: ("train" if v == split else v) for s, v in split_of.items()}
            split_of.update({n: split for n in names})
    import soundfile as sf

    stats = SoundbiteStats()
    pos_rule = dataclasses.replace(rule, hop_s=positive_hop_s)
    alarm_clips, alarm_spans = [], []
    for f in files:
        split = split_of[f.stem]
        if split != "train" or validation_sources is not None:
            alarm_clips.append(Clip(f, FIRE_ALARM, f"alarm/{f.stem}", split))
            alarm_spans.append((0.0, None))
            continue
        seconds = sf.info(str(f)).duration
        cut = round((1.0 - validation_fraction) * seconds, 3)
        alarm_clips += [Clip(f, FIRE_ALARM, f"alarm/{f.stem}/train", "train"),
                        Clip(f, FIRE_ALARM, f"alarm/{f.stem}/validation", "validation")]
        alarm_spans += [(0.0, cut), (cut, round(seconds - cut, 3))]
    if not real_positives:
        keep = [i for i, c in enumerate(alarm_clips) if c.split == "test"]
        alarm_clips, alarm_spans = [alarm_clips[i] for i in keep], [alarm_spans[i] for i in keep]
    if synthetic:
        from tinyaudio.data.alarms import cached_alarms

        for i, f in enumerate(cached_alarms(synthetic, seed=seed)):
            alarm_clips.append(Clip(f, FIRE_ALARM, f"synthetic/{f.stem}", "validation" if i % 10 == 0 else "train"))
            alarm_spans.append((0.0, None))
    clips = cut_clips(alarm_clips, pos_rule, sample_rate, spans=alarm_spans, stats=stats)

    from tinyaudio.data.loaders import esc50, speech_commands

    esc = esc50(base, download=False)
    esc_clips = [dataclasses.replace(c, label=OTHER, speaker=f"esc50/{c.speaker}")
                 for c in esc.clips if c.label not in set(exclude_esc50)]
    clips += cut_clips(esc_clips, rule, sample_rate, stats=stats)

    noise_dir = resolve_root(("speech_commands_background_noise",), base, "speech_commands_background_noise")
    if noise_dir is None or noise_dir == base:
        raise DatasetError(f"{base}: no speech_commands_background_noise/ folder")

    noise_rule = dataclasses.replace(rule, hop_s=noise_hop_s)
    bounds = {"train": (0.0, 0.8), "validation": (0.8, 0.9), "test": (0.9, 1.0)}
    noise_clips, spans = [], []
    for f in sorted(noise_dir.glob("*.wav")):
        seconds = sf.info(str(f)).duration
        for split, (lo, hi) in bounds.items():
            noise_clips.append(Clip(f, OTHER, f"noise/{f.stem}/{split}", split))
            spans.append((round(lo * seconds, 3), round((hi - lo) * seconds, 3)))
    clips += cut_clips(noise_clips, noise_rule, sample_rate, spans=spans, stats=stats)

    speech = speech_commands(base, mode="all", download=False)
    words = [c for c in speech.clips if c.label != "_silence_"]
    rng = random.Random(seed)
    words = rng.sample(words, min(max_speech_clips, len(words)))
    speech_clips = [dataclasses.replace(c, label=OTHER, speaker=f"speech/{c.speaker}") for c in words]
    clips += cut_clips(sorted(speech_clips, key=lambda c: str(c.path)), rule, sample_rate, stats=stats)

    ds = Dataset("fire_alarm", (OTHER, FIRE_ALARM), tuple(clips))
    return (ds, stats) if with_stats else ds


LOADERS = {"esc50_soundbites": esc50_soundbites, "fire_alarm": fire_alarm}


def load_soundbites(name: str, data_dir: str | os.PathLike | None = None, **kwargs) -> Dataset:
    """Load ``esc50_soundbites`` or ``fire_alarm`` by name (the trainer's hook for these datasets).

    Loader keywords the soundbite loaders do not take (the trainer's hash-split percentages)
    are ignored for ``fire_alarm``, whose splits are fixed by source.
    """
    if name not in LOADERS:
        raise DatasetError(f"unknown soundbite dataset {name!r}; use one of {sorted(LOADERS)}")
    if name == "fire_alarm":
        kwargs = {k: v for k, v in kwargs.items() if k in ("seed", "synthetic", "real_positives", "test_sources")}
    else:
        kwargs = {k: v for k, v in kwargs.items() if k in ("validation_percent", "test_percent")}
    return LOADERS[name](data_dir, **kwargs)
