"""The speaker corpus: many voices from the shared corpora, split by speaker (real data)."""

from collections import Counter

import pytest

from tinyaudio.data.speakers import speaker_corpus
from tinyaudio.errors import DatasetError


@pytest.fixture(scope="module")
def corpus(data_root):
    return speaker_corpus()


def test_corpus_has_hundreds_of_speakers_from_three_sources_split_by_speaker(corpus):
    split_of = {}
    for c in corpus.clips:
        assert split_of.setdefault(c.speaker, c.split) == c.split, c.speaker  # one split per voice
        assert c.label == c.speaker
    train = corpus.speakers("train")
    assert len(train) == 353 and len(corpus.speakers("validation")) == 37 and len(corpus.speakers("test")) == 44
    assert Counter(s.split(":")[0] for s in train) == {"so": 211, "sc": 119, "ls": 23}
    assert min(Counter(c.speaker for c in corpus.clips).values()) >= 4  # min_clips


def test_evaluation_corpora_and_silence_are_not_in_it(corpus, data_root):
    paths = {str(c.path) for c in corpus.clips}
    assert not any("librispeech_test-other" in p or "/fsdd/" in p or "_silence_" in p for p in paths)
    assert any("speechocean762" in p for p in paths) and any("train-clean-5" in p for p in paths)


def test_long_utterances_are_cut_into_windows_half_overlapping_only_in_train(corpus):
    offsets = {split: {c.offset for c in corpus.split(split) if c.speaker.startswith("ls:")} for split in ("train", "test")}
    assert 0.5 in offsets["train"] and 1.5 in offsets["train"]
    assert offsets["test"] and all(float(o).is_integer() for o in offsets["test"])


def test_bad_sources_and_settings_are_refused(data_root):
    with pytest.raises(DatasetError, match="unknown speaker source 'voxceleb'; use some of speech_commands"):
        speaker_corpus(sources=("voxceleb",))
    with pytest.raises(DatasetError, match="window_s and train_hop_s must be positive"):
        speaker_corpus(window_s=0)
