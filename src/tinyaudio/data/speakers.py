"""A speaker corpus from what exists: many voices for a speaker embedding, split by speaker.

A verification model generalises to new people only when it has heard hundreds of voices. This
loader joins every corpus here whose speakers are known, all disjoint sets of people (see the
shared data README):

- ``speech_commands``: one-second words, ``{speaker}_nohash_{n}.wav`` (every word folder,
  ``_silence_`` and ``_background_noise_`` excluded);
- ``speechocean762``: non-native English read speech, children and adults (``SPEAKER{id}/``);
- ``librispeech_train_clean_5``: Mini LibriSpeech read speech (``{speaker}/...``).

Long utterances are cut into ``window_s`` windows (`tinyaudio.data.librispeech.window_offsets`).
Speakers, not clips, are split: a validation or test speaker is never a training speaker.
LibriSpeech test-other and FSDD are not sources here: they stay unseen, to evaluate on.
"""

from __future__ import annotations

import os
from collections import Counter

from tinyaudio.data.dataset import Clip, Dataset, stable_split
from tinyaudio.data.librispeech import window_offsets
from tinyaudio.data.loaders import SILENCE, speech_commands
from tinyaudio.data.speech import speech_files
from tinyaudio.errors import DatasetError

#: Corpora of `speaker_corpus`, with the prefix of their speaker ids.
SPEAKER_SOURCES = {"speech_commands": "sc", "speechocean762": "so", "librispeech_train_clean_5": "ls"}


def speaker_corpus(
    data_dir: str | os.PathLike | None = None,
    *,
    sources: tuple[str, ...] = tuple(SPEAKER_SOURCES),
    window_s: float = 1.0,
    train_hop_s: float | None = None,
    min_clips: int = 4,
    validation_percent: float = 10.0,
    test_percent: float = 10.0,
    label_by: str = "speaker",
) -> Dataset:
    """Clips of many speakers, labelled by speaker, split by speaker.

    Args:
        data_dir: dataset root (default ``$TINYAUDIO_DATA``).
        sources: keys of `SPEAKER_SOURCES`.
        window_s: clip length in seconds (the FeatureConfig's ``clip_duration``); long
            utterances are cut into windows of this length.
        train_hop_s: seconds between window starts for training speakers (default
            ``window_s / 2``, half-overlapping); validation and test speakers get
            non-overlapping windows.
        min_clips: speakers with fewer clips (windows) are left out: one clip cannot enrol
            and test a voice, nor teach one.
        validation_percent, test_percent: share of speakers (`stable_split` of the speaker id,
            salted ``"speakers:"``) in validation and test.
        label_by: ``"speaker"`` (the only labelling).

    Returns:
        `Dataset` named ``"speakers"``: labels are every speaker id sorted, ids prefixed with
        their source (``sc:0a7c2a8d``, ``so:SPEAKER0001``, ``ls:1088``); ``Clip.speaker`` equals
        the label and ``Clip.offset`` is the window start.

    Raises:
        DatasetError: an unknown source, a missing corpus (the message says where to get it), or
            bad window settings.
    """
    if label_by != "speaker":
        raise DatasetError(f"speakers label_by={label_by!r}: only 'speaker' is supported")
    unknown = [s for s in sources if s not in SPEAKER_SOURCES]
    if unknown:
        raise DatasetError(f"unknown speaker source {unknown[0]!r}; use some of {', '.join(SPEAKER_SOURCES)}")
    train_hop_s = window_s / 2 if train_hop_s is None else train_hop_s
    if min(window_s, train_hop_s) <= 0:
        raise DatasetError(f"speakers: window_s and train_hop_s must be positive, got {window_s}, {train_hop_s}")

    def split_of(speaker: str) -> str:
        return stable_split(speaker, validation_percent, test_percent, salt="speakers:")

    clips: list[Clip] = []
    for source in sources:
        prefix = SPEAKER_SOURCES[source]
        if source == "speech_commands":
            for c in speech_commands(data_dir, mode="all", download=False).clips:
                if c.label != SILENCE:
                    speaker = f"{prefix}:{c.speaker}"
                    clips.append(Clip(c.path, speaker, speaker, split_of(speaker)))
            continue
        import soundfile as sf

        for path, spk in speech_files(source, data_dir):
            speaker = f"{prefix}:{spk}"
            split = split_of(speaker)
            hop = train_hop_s if split == "train" else window_s
            for offset in window_offsets(sf.info(str(path)).duration, window_s, hop):
                clips.append(Clip(path, speaker, speaker, split, offset=offset))
    counts = Counter(c.speaker for c in clips)
    clips = [c for c in clips if counts[c.speaker] >= min_clips]
    if not clips:
        raise DatasetError(f"speakers: no speaker has {min_clips} clips in {', '.join(sources)}")
    return Dataset("speakers", tuple(sorted({c.speaker for c in clips})), tuple(clips))
