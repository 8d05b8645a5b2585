"""Running speech as hard negatives: windows from the training corpora, test-other kept out."""

from __future__ import annotations

import numpy as np
import pytest

from tinyaudio.data.speech import TRAINING_CORPORA, speech_files, speech_windows
from tinyaudio.errors import ConfigError, DatasetError
from tinyaudio.train import TrainConfig
from tinyaudio.train.data import load_training_data


def test_speech_files_name_every_utterance_and_speaker(data_root):
    libri = speech_files("librispeech_train_clean_5", data_root)
    ocean = speech_files("speechocean762", data_root)
    assert len(libri) == 151 and len({spk for _, spk in libri}) == 28
    assert len(ocean) == 342 and len({spk for _, spk in ocean}) == 250
    assert all(p.suffix == ".flac" for p, _ in libri + ocean)
    assert len(speech_files("librispeech_test_other", data_root)) == 100


def test_windows_are_seeded_disjoint_by_speaker_and_never_test(data_root):
    clips = speech_windows(TRAINING_CORPORA, 400, label="_other_", seed=1, data_dir=data_root)
    assert len(clips) == 400 and {c.label for c in clips} == {"_other_"}
    assert {c.split for c in clips} == {"train", "validation"}
    train = {c.speaker for c in clips if c.split == "train"}
    validation = {c.speaker for c in clips if c.split == "validation"}
    assert not train & validation and 0.04 < len(validation) / len(train | validation) < 0.2
    assert len({c.offset for c in clips}) > 390  # random offsets, not utterance starts
    again = speech_windows(TRAINING_CORPORA, 400, label="_other_", seed=1, data_dir=data_root)
    assert again == clips
    audio = clips[0].load(16000, 16000)
    assert audio.shape == (16000,) and np.abs(audio).max() > 0.01


def test_test_other_and_unknown_corpora_are_refused(data_root):
    with pytest.raises(DatasetError, match="^speech corpus 'librispeech_test_other' is kept for evaluation; train on "
                                          "librispeech_train_clean_5, speechocean762$"):
        speech_windows(["librispeech_test_other"], 10, data_dir=data_root)
    with pytest.raises(ConfigError, match="speech_corpora: 'librispeech_test_other' is not one of"):
        TrainConfig(speech_corpora="librispeech_test_other")
    with pytest.raises(ConfigError, match="speech_negatives=-1 must be a whole number >= 0"):
        TrainConfig(speech_negatives=-1)
    with pytest.raises(DatasetError, match="no local copy of speechocean762: download it from openslr.org/101"):
        speech_files("speechocean762", data_root / "fsdd")


def test_a_keyword_dataset_gets_speech_in_its_negative_class(data_root):
    config = TrainConfig(dataset="speech_commands", keyword="stop", features="mfcc_49x10", speech_negatives=300)
    dataset = load_training_data(config, data_root)
    plain = load_training_data(TrainConfig(dataset="speech_commands", keyword="stop", features="mfcc_49x10"), data_root)
    assert len(dataset.clips) == len(plain.clips) + 300 and dataset.labels == ("_other_", "stop")
    assert dataset.split("test") == plain.split("test")  # the test split stays the dataset's own
    added = dataset.clips[len(plain.clips):]
    assert all(c.label == "_other_" and c.offset >= 0 and c.split != "test" for c in added)
    with pytest.raises(DatasetError, match="speech_negatives / sound_negatives need a negative class"):
        load_training_data(TrainConfig(dataset="fsdd", features="fsdd_mfcc", speech_negatives=10), data_root)


def test_sound_negatives_come_from_esc50_train_and_validation_never_its_test(data_root):
    from tinyaudio.data import load_dataset
    from tinyaudio.data.soundbites import sound_windows

    config = TrainConfig(dataset="speech_commands", keyword="stop", features="mfcc_49x10", sound_negatives=500)
    dataset = load_training_data(config, data_root)
    plain = load_training_data(TrainConfig(dataset="speech_commands", keyword="stop", features="mfcc_49x10"), data_root)
    added = dataset.clips[len(plain.clips):]
    assert len(added) == 500 and dataset.split("test") == plain.split("test")
    assert all(c.label == "_other_" and c.speaker.startswith("esc50/") and c.split != "test" for c in added)
    assert {c.split for c in added} == {"train", "validation"}
    streamed = {c.path for c in load_dataset("esc50", data_root).split("test")}  # what test streams play
    assert streamed and not streamed & {c.path for c in added}
    everything = sound_windows(10**6, data_dir=data_root)  # all there are, each once
    assert len(everything) == len(set((c.path, c.offset) for c in everything)) < 10**6
    assert sound_windows(500, seed=config.seed, data_dir=data_root) == list(added)
    with pytest.raises(ConfigError, match="sound_negatives=-2 must be a whole number >= 0"):
        TrainConfig(sound_negatives=-2)


def test_synthetic_options_need_a_keyword_and_some_positives():
    with pytest.raises(ConfigError, match="need a keyword"):
        TrainConfig(synthetic_near_misses=10)
    with pytest.raises(ConfigError, match="synthetic renders words: it needs --task words"):
        TrainConfig(synthetic=10, dataset="speakers")
    with pytest.raises(ConfigError, match="real_positives=False leaves no keyword clips to train on"):
        TrainConfig(keyword="stop", real_positives=False)
    with pytest.raises(ConfigError, match=r"min_snr_db=30.0, max_snr_db=20.0: need -30 <= min <= max <= 60 dB"):
        TrainConfig(min_snr_db=30.0)
    assert TrainConfig(keyword="stop", synthetic=10, real_positives=False, min_snr_db=-5.0).synthetic == 10
