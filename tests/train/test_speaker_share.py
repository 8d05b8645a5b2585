"""`train --train-speakers-percent`: a learning curve over voices keeps or drops a speaker whole."""

import pytest

from tinyaudio.data import speech_commands
from tinyaudio.data.loaders import SILENCE
from tinyaudio.errors import ConfigError
from tinyaudio.train.config import TrainConfig
from tinyaudio.train.data import speaker_share


def test_a_quarter_of_the_speakers_whole_and_every_silence_window(data_root):
    train = speech_commands().split("train")
    voices = {c.speaker for c in train if c.label != SILENCE}
    kept = speaker_share(train, 25, seed=0)
    kept_voices = {c.speaker for c in kept if c.label != SILENCE}
    assert len(kept_voices) == round(len(voices) / 4)
    assert [c for c in train if c.speaker in kept_voices or c.label == SILENCE] == kept  # whole speakers, same order
    assert sum(c.label == SILENCE for c in kept) == sum(c.label == SILENCE for c in train) > 0
    assert speaker_share(train, 25, seed=0) == kept and speaker_share(train, 25, seed=1) != kept
    assert speaker_share(train, 100, seed=0) == train


@pytest.mark.parametrize("percent", [0, -5, 100.5])
def test_a_share_outside_0_100_is_refused(percent):
    with pytest.raises(ConfigError, match=f"train_speakers_percent={percent} must be above 0 and at most 100"):
        TrainConfig(train_speakers_percent=percent)
